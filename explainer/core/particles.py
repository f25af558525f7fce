"""2-D toy data seen through its exact score: density and score on grids, Tweedie, and particles run by
`toy2d`'s samplers (which levels they visit, which steps to animate, how the cloud shrinks).

Nothing here that is not in `explainer.core.toy2d` already, only arranged for drawing: grids, the noised
samples shown at a level, the particle runs and which of their steps to animate.

The page works with the cosine schedule of T = 1000 steps, the schedule of the
bundled toy models, so the exact and the learned score are asked the same thing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import toy2d
from .samplers import make_timesteps
from .schedules import NoiseSchedule
from .toy2d import ScoreFn

SCHEDULE = "cosine"
NUM_STEPS = 1000
EXTENT = 3.0          # the plots show [-EXTENT, EXTENT]^2; the data sets have RMS 1 per coordinate
DENSITY_N = 80        # heatmap resolution
FIELD_N = 24          # arrows per side
MAX_SHOWN = 1000      # noised samples drawn on the plot
ERROR_TS = (25, 50, 100, 250, 500, 750)
N_PARTICLES = 300
LANGEVIN_INNER = 3    # Langevin steps per noise level
LANGEVIN_STEP = 0.2   # step size delta = LANGEVIN_STEP * (1 - alpha_bar) (Song & Ermon 2019's setting)
AB_FLOOR = 1e-3       # the smallest alpha_bar the particle samplers use (see `levels`)


def make_data(dataset: str, n: int, seed: int) -> np.ndarray:
    return toy2d.make_dataset(dataset, n=n, seed=seed)


def data_spread(data: np.ndarray) -> dict:
    """mean (2,), std (2,) along each axis, and the overall RMS sqrt(E||x||^2 / 2) of a 2D data set.

    toy2d centres each data set and scales it by one factor for both axes (shapes stay undistorted),
    so the overall RMS is 1 but the per-axis spreads differ (moons: about 1.2 and 0.7).
    """
    x = np.asarray(data, dtype=np.float64)
    return {"mean": x.mean(axis=0), "std": x.std(axis=0), "rms": float(np.sqrt(np.mean(np.sum(x**2, axis=1)) / 2.0))}


def noised_samples(data: np.ndarray, alpha_bar: float, seed: int, max_points: int = MAX_SHOWN) -> np.ndarray:
    """x_t = sqrt(ab) x0 + sqrt(1 - ab) eps for (at most max_points of) the data, with noise fixed by seed.

    The same noise is used at every level, so moving t moves each point smoothly.
    """
    x0 = data[:max_points]
    eps = np.random.default_rng([seed, 1]).standard_normal(x0.shape)
    return math.sqrt(alpha_bar) * x0 + math.sqrt(1.0 - alpha_bar) * eps


def density_grid(data: np.ndarray, alpha_bar: float, extent: float = EXTENT,
                 n: int = DENSITY_N) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (n,), ys (n,), p (n, n)): the exact noised density q_ab on a grid, y along rows.

    The same numbers as exp(toy2d.empirical_log_density) on toy2d.grid(extent, n), computed
    faster: an isotropic Gaussian factorises, N(x; m, s^2 I) = N(x1; m1, s^2) N(x2; m2, s^2),
    so the N x n^2 sum is one (n x N) @ (N x n) product.
    """
    xs, ys, _ = toy2d.grid(extent, n)
    var = 1.0 - float(alpha_bar)
    mean = math.sqrt(alpha_bar) * np.asarray(data, dtype=np.float64)
    kx = np.exp(-0.5 * (xs[None, :] - mean[:, :1]) ** 2 / var)  # (N, n)
    ky = np.exp(-0.5 * (ys[None, :] - mean[:, 1:]) ** 2 / var)
    p = (ky.T @ kx) / (len(mean) * 2.0 * math.pi * var)
    return xs, ys, p


def exact_score_fn(data: np.ndarray) -> ScoreFn:
    return lambda x, alpha_bar: toy2d.empirical_score(data, x, alpha_bar)


def field_points(extent: float = EXTENT, n: int = FIELD_N) -> np.ndarray:
    """The arrow tails, (n*n, 2), in toy2d.grid order."""
    return toy2d.grid(extent, n)[2]


def tweedie(data: np.ndarray, point, alpha_bar: float) -> tuple[np.ndarray, np.ndarray]:
    """(score (2,), x0_hat (2,)) at one point: the exact score and E[x0 | x_t = point]."""
    x = np.asarray(point, dtype=np.float64).reshape(1, 2)
    score = toy2d.empirical_score(data, x, alpha_bar)[0]
    return score, toy2d.x0_from_score(x[0], score, alpha_bar)


def levels(schedule: NoiseSchedule, num_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """(descending timesteps, their alpha_bars) for the particle samplers: trailing spacing from T-1.

    The alpha_bars are raised to at least AB_FLOOR. The cosine schedule's alpha_bar at t = 999 is
    2.4e-9, and the first step of the SDE and the ODE divides by sqrt(alpha_bar) (Tweedie's x0_hat):
    a learned score's error of 0.05 there would throw particles ~700 units away. At alpha_bar = 1e-3
    the signal weight is 0.03, still pure noise to the eye, and the step is harmless.
    """
    ts = make_timesteps(schedule.num_steps, num_levels, "trailing")
    abs_ = np.maximum.accumulate(np.maximum(schedule.alpha_bars[ts], AB_FLOOR))
    return ts, abs_


def _counting(score_fn: ScoreFn, total: int, progress: Callable[[float], None] | None) -> ScoreFn:
    if progress is None:
        return score_fn
    calls = [0]

    def counted(x, alpha_bar):
        calls[0] += 1
        progress(min(calls[0] / total, 1.0))
        return score_fn(x, alpha_bar)

    return counted


def _langevin(score_fn: ScoreFn, x_T: np.ndarray, alpha_bars: np.ndarray, rng: np.random.Generator,
              progress: Callable[[float], None] | None) -> np.ndarray:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): LANGEVIN_INNER steps
    x <- x + (delta / 2) score + sqrt(delta) z per level, then one Tweedie step (denoise_last) so that it ends
    on clean samples like the other two (`toy2d.annealed_langevin`)."""
    fn = _counting(score_fn, len(alpha_bars) * LANGEVIN_INNER + 1, progress)
    return toy2d.annealed_langevin(fn, x_T, alpha_bars, n_inner=LANGEVIN_INNER, step_scale=LANGEVIN_STEP,
                                   rng=rng, denoise_last=True)


def _reverse_sde(score_fn: ScoreFn, x_T: np.ndarray, alpha_bars: np.ndarray, rng: np.random.Generator,
                 progress: Callable[[float], None] | None) -> np.ndarray:
    """Ancestral sampling of the VP SDE (Ho et al. 2020, Algorithm 2 and Eq. 11; Song et al. 2021, Eq. 47):
    x_prev = (x + beta score) / sqrt(1 - beta) + sigma z (`toy2d.reverse_sde`)."""
    return toy2d.reverse_sde(_counting(score_fn, len(alpha_bars), progress), x_T, alpha_bars, rng=rng)


def _probability_flow_ode(score_fn: ScoreFn, x_T: np.ndarray, alpha_bars: np.ndarray, rng: np.random.Generator,
                          progress: Callable[[float], None] | None) -> np.ndarray:
    """The probability-flow ODE (Song et al. 2021, Eq. 13) with DDIM steps (Song, Meng & Ermon 2021, Eq. 12,
    eta = 0): deterministic, `rng` unused (`toy2d.probability_flow_ode`)."""
    return toy2d.probability_flow_ode(_counting(score_fn, len(alpha_bars), progress), x_T, alpha_bars)


@dataclass(frozen=True)
class ParticleSampler:
    """One toy particle sampler: everything the library knows about it, so no caller branches on its name.

    run(score_fn, x_T, alpha_bars, rng, progress) -> trajectory (L + 1, M, 2) over the levels `alpha_bars`
    (the paper and equation are in its docstring). lag: trajectory entry k is distributed at level
    k - lag (see the toy2d module docstring): 1 for Langevin, which records after each level's inner loop.
    """

    name: str
    label: str
    run: Callable[..., np.ndarray]
    lag: int = 0


PARTICLE_SAMPLERS: dict[str, ParticleSampler] = {
    "langevin": ParticleSampler("langevin", "annealed Langevin dynamics", _langevin, lag=1),
    "sde": ParticleSampler("sde", "reverse SDE (DDPM)", _reverse_sde),
    "ode": ParticleSampler("ode", "probability-flow ODE (DDIM)", _probability_flow_ode),
}


def particle_sampler(name: str) -> ParticleSampler:
    """The registry entry of a particle sampler; an unknown name raises ValueError with the choices."""
    try:
        return PARTICLE_SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(PARTICLE_SAMPLERS)}") from None


def run_particles(sampler: str, score_fn: ScoreFn, schedule: NoiseSchedule, num_levels: int,
                  n_particles: int = N_PARTICLES, seed: int = 0,
                  progress: Callable[[float], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(trajectory (L + 1, M, 2), timesteps (L,)) of M particles from N(0, I) under one sampler of
    `PARTICLE_SAMPLERS`. All three end on clean samples. `progress(fraction)` is called after each score
    evaluation.
    """
    run = particle_sampler(sampler).run
    ts, abs_ = levels(schedule, num_levels)
    x_T = np.random.default_rng([seed, 2]).standard_normal((n_particles, 2))
    rng = np.random.default_rng([seed, 3])
    return run(score_fn, x_T, abs_, rng, progress), ts


def frame_t(sampler: str, timesteps, k: int) -> int:
    """The timestep trajectory entry k is distributed at (0 for the clean end; see the toy2d docstring)."""
    ts = [int(t) for t in timesteps]
    if k >= len(ts):
        return 0
    return ts[max(k - particle_sampler(sampler).lag, 0)]


def cloud_summary(sampler: str, traj: np.ndarray, timesteps, data: np.ndarray, max_data: int = 1000) -> dict:
    """How a particle cloud changes on its way: its size and how close it is to the data.

    rms: the cloud's RMS per coordinate, sqrt(mean ||x||^2 / 2), for every trajectory entry;
    near: the particles' mean distance to the nearest data point (of the first max_data);
    t_half: the timestep at which `near` has first fallen to half its starting value.
    """
    traj = np.asarray(traj, dtype=np.float64)
    rms = np.sqrt(np.mean(np.sum(traj**2, axis=-1), axis=-1) / 2.0)
    ref = np.asarray(data, dtype=np.float64)[:max_data]
    sq_ref = np.sum(ref**2, axis=1)
    near = np.empty(len(traj))
    for k, x in enumerate(traj):
        d2 = np.sum(x**2, axis=1)[:, None] - 2.0 * x @ ref.T + sq_ref[None, :]
        near[k] = float(np.mean(np.sqrt(np.maximum(d2.min(axis=1), 0.0))))
    k_half = int(np.argmax(near <= near[0] / 2.0))
    return {"rms": rms, "near": near, "t_half": frame_t(sampler, timesteps, k_half)}


def frame_plan(sampler: str, timesteps, max_frames: int = 40) -> tuple[list[int], list[str]]:
    """Which trajectory entries to animate (every k-th, always the first and the last) and their labels.

    Labels name the level each entry is distributed at (see the toy2d module docstring):
    traj[k] is at timesteps[k - lag] (`ParticleSampler.lag`: 0 for the SDE and the ODE, 1 for Langevin);
    traj[0] is the pure noise the particles start from and traj[L] the clean end.
    """
    ts = [int(t) for t in timesteps]
    L = len(ts)
    k = max(1, math.ceil((L + 1) / max_frames))
    idx = list(range(0, L + 1, k))
    if idx[-1] != L:
        idx.append(L)
    labels = []
    for i in idx:
        if i == 0:
            labels.append("start: noise")
        elif i == L:
            labels.append("end: clean")
        else:
            labels.append(f"t = {frame_t(sampler, ts, i)}")
    return idx, labels
