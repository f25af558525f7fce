"""Which noise levels an objective's value comes from, in numbers (the sentences: `explainer.lessons.weighting_facts`).

Every objective is E_t[w_t ||eps - eps_hat||^2] with t uniform (`explainer.core.objectives`). The share of
the objective that step t carries is w_t (or w_t times the model's loss at t) over the sum of all steps.
A sum like that can be dominated by one extreme step: the cosine schedule (Nichol & Dhariwal 2021,
Eq. 17) would reach alpha_bar = 0 at t = T and so beta = 1 at its last step; it clips beta at
max_beta = 0.999 instead, so at t = T-1 alpha_bar (and the SNR) still falls about 1000-fold in one
step, and the ELBO's weight there, (SNR_{T-2} / SNR_{T-1} - 1) / 2 (Kingma et al. 2021), is about
500 against at most a few anywhere else. So every share here is given with and without t = T-1.

Index convention as in `explainer`: t = 0 ... T-1. Numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objectives import OBJECTIVES, eps_weights
from .schedules import BETA_CAP, NoiseSchedule

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
