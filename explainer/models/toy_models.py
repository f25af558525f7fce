"""Learned 2D score models: from a noise-prediction net to a score field, and how good it is.

A net that predicts eps from x_t also gives the score, since for the VP process
grad_x log q_t(x) = -E[eps | x_t = x] / sqrt(1 - alpha_bar_t) (Vincent 2011;
Song et al. 2021, Eq. 7 with the Gaussian kernel of q(x_t | x_0)).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..core.schedules import NoiseSchedule
from ..core.toy2d import empirical_score

ScoreFn = Callable[[np.ndarray, float], np.ndarray]


def eps_to_score(eps: np.ndarray, alpha_bar: float) -> np.ndarray:
    """score = -eps / sqrt(1 - alpha_bar)."""
    return -eps / np.sqrt(1.0 - alpha_bar)


def nearest_timestep(schedule: NoiseSchedule, alpha_bar: float) -> int:
    """The t whose alpha_bar is closest (exact for alpha_bars taken from the schedule)."""
    return int(np.argmin(np.abs(schedule.alpha_bars - alpha_bar)))


def learned_score_fn(model: torch.nn.Module, schedule: NoiseSchedule) -> ScoreFn:
    """score_fn(x (M, 2), alpha_bar) from an eps-model conditioned on the integer t."""
    device = next(model.parameters()).device

    def score_fn(x: np.ndarray, alpha_bar: float) -> np.ndarray:
        t = nearest_timestep(schedule, alpha_bar)
        with torch.inference_mode():
            xt = torch.as_tensor(x, dtype=torch.float32, device=device)
            eps = model(xt, torch.full((len(x),), t, device=device)).double().cpu().numpy()
        return eps_to_score(eps, float(schedule.alpha_bars[t]))

    return score_fn


def score_relative_error(score_fn: ScoreFn, data: np.ndarray, schedule: NoiseSchedule, ts,
                         n: int = 2000, seed: int = 0) -> dict[int, float]:
    """Density-weighted relative error of a score field against the exact empirical score.

    Points are drawn from q_t itself (x_t = sqrt(ab) x0 + sqrt(1 - ab) eps), so
    the error counts where the data is: E||s - s*|| / E||s*||.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for t in ts:
        ab = float(schedule.alpha_bars[int(t)])
        x0 = data[rng.integers(0, len(data), n)]
        xt = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * rng.standard_normal(x0.shape)
        exact = empirical_score(data, xt, ab)
        err = np.linalg.norm(score_fn(xt, ab) - exact, axis=1).mean() / np.linalg.norm(exact, axis=1).mean()
        out[int(t)] = float(err)
    return out
