"""Which noise levels an objective's value comes from, in numbers and sentences a page can state.

Every objective is E_t[w_t ||eps - eps_hat||^2] with t uniform (`explainer.core.objectives`). The share of
the objective that step t carries is w_t (or w_t times the model's loss at t) over the sum of all steps.
A sum like that can be dominated by one extreme step: the cosine schedule (Nichol & Dhariwal 2021,
Eq. 17) would reach alpha_bar = 0 at t = T and so beta = 1 at its last step; it clips beta at
max_beta = 0.999 instead, so at t = T-1 alpha_bar (and the SNR) still falls about 1000-fold in one
step, and the ELBO's weight there, (SNR_{T-2} / SNR_{T-1} - 1) / 2 (Kingma et al. 2021), is about
500 against at most a few anywhere else. So every share here is given with and without t = T-1.

Index convention as in `explainer`: t = 0 ... T-1. Numpy only; the sentences are plain text with
unicode, for app_pages/learning.py to show.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objectives import OBJECTIVES, eps_weights, error_factor, kingma_gao_weighting
from .schedules import BETA_CAP, NoiseSchedule

#: Pixel values of the digits, and of x0_hat once clipped.
PIXEL_MIN, PIXEL_MAX = -1.0, 1.0
#: The lecturer's "least noisy steps": t < T // LOW_FRACTION.
LOW_FRACTION = 10


def beta_cap(schedule: NoiseSchedule) -> float | None:
    """The cap the schedule's betas were clipped at, if any: cosine's max_beta, or make_schedule_for_T's."""
    if "max_beta" in schedule.params:
        return float(schedule.params["max_beta"])
    if "beta_scale" in schedule.params:
        return BETA_CAP
    return None


def clipped_steps(schedule: NoiseSchedule) -> np.ndarray:
    """The timesteps whose beta sits at the schedule's cap (cosine: t = T-1 at every T)."""
    cap = beta_cap(schedule)
    if cap is None:
        return np.zeros(0, dtype=int)
    return np.nonzero(schedule.betas >= cap * (1 - 1e-12))[0]


def loss_at_every_t(ts, loss, num_steps: int) -> np.ndarray:
    """A loss measured at some t, at every t = 0 ... T-1: linear in log(loss) between the measured t.

    The model card measures the loss at about 100 values of t; interpolated, every step counts once
    in a sum over t, as it does in training (t uniform), instead of one measured point standing for
    one step and the steps between them counting not at all.
    """
    ts = np.asarray(ts, dtype=np.float64)
    loss = np.asarray(loss, dtype=np.float64)
    if np.any(np.diff(ts) <= 0):
        raise ValueError("ts must increase")
    return np.exp(np.interp(np.arange(num_steps), ts, np.log(loss)))


@dataclass(frozen=True)
class Shares:
    """One objective's shares of its total: on the least noisy steps and on the last step."""

    low: float               # on t < T // LOW_FRACTION, out of every step
    last: float              # on t = T-1 alone
    low_without_last: float  # on t < T // LOW_FRACTION, out of every step but t = T-1


def shares(w: np.ndarray) -> Shares:
    """The shares of per-step values w (length T, NaN where the objective has no such term)."""
    w = np.asarray(w, dtype=np.float64)
    low = len(w) // LOW_FRACTION
    total, without = np.nansum(w), np.nansum(w[:-1])
    low_sum = np.nansum(w[:low])
    return Shares(low=float(low_sum / total), last=float(w[-1] / total),
                  low_without_last=float(low_sum / without) if without > 0 else float("nan"))


def objective_shares(schedule: NoiseSchedule, loss: np.ndarray | None = None) -> dict[str, Shares]:
    """`shares` of each objective's weights w_t, or (loss: the eps-loss at every t) of w_t times the loss."""
    out = {}
    for key in OBJECTIVES:
        w = eps_weights(schedule, key)
        out[key] = shares(w if loss is None else w * loss)
    return out


# ------------------------------------------------------------------ sentences for app_pages/learning.py

def _sub(n: int) -> str:
    """n in subscript digits: SNR₉₉₈."""
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _pct(x: float) -> str:
    """A share as a percentage a class can read: two significant figures below 1 %, whole numbers above."""
    if x < 0.01:
        return f"{100 * x:.2g} %"
    return f"{100 * x:.0f} %"


def last_step_sentence(schedule: NoiseSchedule) -> str:
    """What happens at t = T-1 and what it does to the ELBO's weights (why it dominates, or that it does not)."""
    T = schedule.num_steps
    if T < 3:
        return ""
    snr, betas = schedule.snr, schedule.betas
    w = eps_weights(schedule, "elbo")
    s = shares(w)
    drop = snr[-2] / snr[-1]
    clip = ""
    if T - 1 in clipped_steps(schedule):
        clip = (f"The {schedule.name} schedule clips β at {betas[-1]:g}: unclipped, its last step would take ᾱ to 0 "
                f"(β = 1). So at t = {T - 1} the signal-to-noise ratio still falls {drop:,.0f}-fold in one step, "
                f"from {snr[-2]:.2g} to {snr[-1]:.2g}. ")
    else:
        clip = (f"At its last step, t = {T - 1}, β = {betas[-1]:.3g} and the signal-to-noise ratio falls "
                f"{drop:.3g}-fold, from {snr[-2]:.2g} to {snr[-1]:.2g}. ")
    rest = np.nanmax(w[:-1]) if T > 2 else float("nan")
    return (clip + f"The ELBO's weight there is (SNR{_sub(T - 2)}/SNR{_sub(T - 1)} − 1)/2 = {w[-1]:.3g}, "
            "against at most "
            f"{rest:.3g} at any other step, so t = {T - 1} alone carries {_pct(s.last)} of the ELBO's weight.")


def shares_sentence(schedule: NoiseSchedule, what: str, loss: np.ndarray | None = None) -> str:
    """The share each objective puts on t < T/10, over every step and without t = T-1; `what` names the values."""
    T = schedule.num_steps
    low = T // LOW_FRACTION
    if low < 1:
        return ""
    sh = objective_shares(schedule, loss)
    parts = [f"{OBJECTIVES[k].split(' (')[0]} {_pct(v.low)} with t = {T - 1}, {_pct(v.low_without_last)} without"
             for k, v in sh.items()]
    elbo, simple = sh["elbo"], sh["eps"]
    if elbo.low_without_last > simple.low_without_last:
        direction = (f"Leave out t = {T - 1} and the ELBO puts more on small t than L_simple does, as Ho et al. "
                     "(2020, §3.4) and Kingma & Gao (2023) say: L_simple down-weights the small-t terms.")
    else:
        direction = f"Even without t = {T - 1}, the ELBO puts no more on small t than L_simple does."
    return (f"Share of {what} on the {low} least noisy steps (t < {low}): " + "; ".join(parts) + ". "
            + f"t = {T - 1} alone: ELBO {_pct(elbo.last)}, L_simple {_pct(simple.last)}. " + direction)


def x0_error_sentence(schedule: NoiseSchedule, t: int, eps_loss: float, x0_loss: float,
                      mean_digit_mse: float) -> str:
    """Why the x0-error derived from eps_hat is huge at high noise, and what samplers and v-prediction do about it."""
    ab = float(schedule.alpha_bars[t])
    factor = float(error_factor("x0", ab))
    return ("That number does not mean the network draws nothing like a digit: x̂₀ = (x_t − √(1−ᾱ)ε̂)/√ᾱ is derived "
            f"from ε̂, so its error ({x0_loss:.4g}) is the ε-error ({eps_loss:.2g}) times 1/SNR = (1−ᾱ)/ᾱ = {factor:.3g} "
            f"at t = {t}. "
            f"Pixels lie in [−1, 1]: guessing the mean held-out digit scores {mean_digit_mse:.2f}, and an x̂₀ "
            f"clipped to [−1, 1] is off by at most {PIXEL_MAX - PIXEL_MIN:g} per pixel, a squared error of at most "
            f"{(PIXEL_MAX - PIXEL_MIN) ** 2:g}. That is why samplers clip x̂₀ "
            "(DDPM's sampler does), and why v-prediction exists (Salimans & Ho 2022): a network that outputs "
            "v̂ gets x̂₀ = √ᾱ x_t − √(1−ᾱ) v̂, whose error is (1−ᾱ) times its v-error, never more.")


def readings_sentence(schedule: NoiseSchedule) -> str:
    """What the choice of target changes, with the eps-to-x0 error factor at both ends of the schedule."""
    ab = schedule.alpha_bars
    T = schedule.num_steps
    f0, f1 = (float(error_factor("x0", ab[i])) for i in (0, T - 1))
    return ("They are one prediction written four ways: any one converts exactly into the others. Which one a "
            "network is trained to output still matters. It changes the function the network has to learn: near "
            "t = 0 the clean image is almost x_t itself and the noise only a faint trace in it; near t = T−1 "
            "it is the other way round. It changes which mistakes the loss punishes most (section 3). And it "
            "changes how an error grows when converted: an ε-error becomes an x̂₀-error 1/SNR times as large, "
            f"{f0:.2g} at t = 0 but {f1:.3g} at t = {T - 1}.")


def lambda_axis_sentence(schedule: NoiseSchedule) -> str:
    """On the log-SNR axis: the plots show per-step shares, and Kingma & Gao's w(lambda) says something else."""
    T = schedule.num_steps
    if T < 4:
        return ""
    lam = schedule.log_snr
    inner = slice(1, T - 1)  # t = 0 has no ELBO term and no finite lambda step; t = T-1 is the last step
    w_elbo = kingma_gao_weighting(schedule, eps_weights(schedule, "elbo"))
    w_simple = kingma_gao_weighting(schedule, eps_weights(schedule, "eps"))
    peak = 1 + int(np.argmax(w_simple[inner]))
    text = ("On the log-SNR axis each point is still one timestep's share, not Kingma & Gao's weight per unit of "
            "log-SNR, w(λ) = 2 w_t / (λ_{t−1} − λ_t). Per unit of λ the ELBO's weight is (r − 1)/ln r with "
            "r = SNR_{t−1}/SNR_t, which tends to 1 as the steps get small (their flat w(λ) = 1): here it runs from "
            f"{np.min(w_elbo[inner]):.3g} to {np.max(w_elbo[inner]):.3g} over t = 1 … {T - 2}, and is "
            f"{w_elbo[-1]:.3g} at t = {T - 1}. L_simple's w(λ) = 2/(λ_{{t−1}} − λ_t) is not flat: it peaks at "
            f"t = {peak} (λ = {lam[peak]:.2f}) and is {np.max(w_simple[inner]) / np.min(w_simple[inner]):.3g} "
            "times smaller at its lowest")
    if schedule.name == "cosine":
        text += "; for the cosine schedule Kingma & Gao (2023) give w(λ) = sech(λ/2), which peaks at λ = 0"
    return text + "."
