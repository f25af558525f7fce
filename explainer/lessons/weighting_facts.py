"""Sentences about which noise levels an objective's value comes from, for the learning chapter.

The numbers come from `explainer.core.loss_weighting` (shares, the clipped last step) and
`explainer.core.objectives` (weights, error factors); numbers a class reads are written with
`notation.number`, so a tiny share or a huge factor never prints as 0.0000 or in e-notation.
Index convention as in `explainer`: t = 0 ... T-1. Plain text with unicode; no Streamlit.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.loss_weighting import LOW_FRACTION, clipped_steps, objective_shares, shares
from ..core.objectives import OBJECTIVES, eps_weights, error_factor, kingma_gao_weighting
from ..core.schedules import NoiseSchedule
from .notation import number, sub

#: Pixel values of the digits, and of x0_hat once clipped.
PIXEL_MIN, PIXEL_MAX = -1.0, 1.0


def _pct(x: float) -> str:
    """A share as a percentage a class can read: whole numbers from 1 %, two significant figures below,
    and below 0.001 % with its power of ten (2.500×10⁻⁷ %), never in e-notation."""
    p = 100 * x
    if p >= 1:
        return f"{p:.0f} %"
    return f"{p:.2g} %" if p == 0 or p >= 1e-3 else f"{number(p)} %"


def last_step_sentence(schedule: NoiseSchedule) -> str:
    """What happens at t = T-1 and what it does to the ELBO's weights (why it dominates, or that it does not)."""
    T = schedule.num_steps
    if T < 3:
        return ""
    snr, betas = schedule.snr, schedule.betas
    w = eps_weights(schedule, "elbo")
    s = shares(w)
    drop = snr[-2] / snr[-1]
    if T - 1 in clipped_steps(schedule):
        clip = (f"The {schedule.name} schedule clips β at {betas[-1]:g}: unclipped, its last step would take ᾱ to 0 "
                f"(β = 1). So at t = {T - 1} the signal-to-noise ratio still falls {drop:,.0f}-fold in one step, "
                f"from {number(snr[-2])} to {number(snr[-1])}. ")
    else:
        clip = (f"At its last step, t = {T - 1}, β = {betas[-1]:.3g} and the signal-to-noise ratio falls "
                f"{number(drop)}-fold, from {number(snr[-2])} to {number(snr[-1])}. ")
    rest = np.nanmax(w[:-1])
    return (clip + f"The ELBO's weight there is (SNR{sub(T - 2)}/SNR{sub(T - 1)} − 1)/2 = {number(w[-1])}, "
            "against at most "
            f"{number(rest)} at any other step, so t = {T - 1} alone carries {_pct(s.last)} of the ELBO's weight.")


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
    """Why the x0-MSE derived from eps_hat is huge at high noise, and what samplers and v-prediction do about it.

    1/SNR is the factor of the squared error (the MSE); the error itself grows by 1/sqrt(SNR)."""
    ab = float(schedule.alpha_bars[t])
    factor = float(error_factor("x0", ab))
    return ("That number does not mean the network draws nothing like a digit: x̂₀ = (x_t − √(1−ᾱ)ε̂)/√ᾱ is derived "
            f"from ε̂, so its squared error (MSE {number(x0_loss)}) is the ε-MSE ({number(eps_loss)}) times "
            f"1/SNR = (1−ᾱ)/ᾱ = {number(factor)} at t = {t}; the error itself is 1/√SNR = {number(math.sqrt(factor))} "
            f"times the ε-error. Pixels lie in [−1, 1]: guessing the mean held-out digit scores an MSE of "
            f"{mean_digit_mse:.2f}, and an x̂₀ clipped to [−1, 1] is off by at most {PIXEL_MAX - PIXEL_MIN:g} per "
            f"pixel, a squared error of at most {(PIXEL_MAX - PIXEL_MIN) ** 2:g}. That is why samplers clip x̂₀ "
            "(DDPM's sampler does), and why v-prediction exists (Salimans & Ho 2022): a network that outputs "
            "v̂ gets x̂₀ = √ᾱ x_t − √(1−ᾱ) v̂, whose squared error is (1−ᾱ) times its squared v-error, never more.")


def readings_sentence(schedule: NoiseSchedule) -> str:
    """What the choice of target changes, with the eps-to-x0 factor of the squared error at both ends."""
    ab = schedule.alpha_bars
    T = schedule.num_steps
    f0, f1 = (float(error_factor("x0", ab[i])) for i in (0, T - 1))
    return ("They are one prediction written four ways: any one converts exactly into the others. Which one a "
            "network is trained to output still matters. It changes the function the network has to learn: near "
            "t = 0 the clean image is almost x_t itself and the noise only a faint trace in it; near t = T−1 "
            "it is the other way round. It changes which mistakes the loss punishes most (section 3). And it "
            "changes how an error grows when converted: a squared ε-error becomes a squared x̂₀-error 1/SNR times "
            f"as large, {number(f0)} at t = 0 but {number(f1)} at t = {T - 1} (the error itself, 1/√SNR times).")


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
