"""The numbers behind pages/score.py: data, density and score on grids, Tweedie, particles.

No Streamlit here (the page caches these with small keys), and nothing that is
not in `explainer.toy2d` already, only arranged for drawing: grids, the noised
samples shown at a level, the particle runs and which of their steps to animate.

The page works with the cosine schedule of T = 1000 steps, the schedule of the
bundled toy models, so the exact and the learned score are asked the same thing.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import toy2d
from .samplers import make_timesteps
from .schedules import NoiseSchedule

ScoreFn = Callable[[np.ndarray, float], np.ndarray]

SCHEDULE = "cosine"
NUM_STEPS = 1000
EXTENT = 3.0          # the plots show [-EXTENT, EXTENT]^2; the data sets have RMS 1 per coordinate
DENSITY_N = 80        # heatmap resolution
FIELD_N = 24          # arrows per side
MAX_SHOWN = 1000      # noised samples drawn on the plot
SAMPLERS = {
    "langevin": "annealed Langevin dynamics",
    "sde": "reverse SDE (DDPM)",
    "ode": "probability-flow ODE (DDIM)",
}
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


SCRUB_FRAMES = 32     # values of t the field scrubber precomputes
BG_N = 72             # the scrubber's background pictures: BG_N x BG_N pixels
FIELD_LABEL = "Timestep t (1 = almost clean, 999 = pure noise)"


def field_ts(num_steps: int = NUM_STEPS, n: int = SCRUB_FRAMES) -> list[int]:
    """n evenly spaced timesteps in [1, num_steps - 1]: t = 0 is no noise at all, so the field starts at 1."""
    return sorted({int(round(v)) for v in np.linspace(1, num_steps - 1, n)})


def field_frameset(data: np.ndarray, schedule: NoiseSchedule, view: str, learned_fn: ScoreFn | None,
                   ts, seed: int = 0, label: str = FIELD_LABEL, error_n: int = 1000):
    """The score field of `data` at every t in ts, for a scrubber (explainer.scrub.FrameSet).

    view as in figures.SCORE_VIEWS: "exact" (white arrows over the density p_t), "learned" (orange),
    "both" (white and orange), "error" (learned − exact as white arrows over its size |learned − exact|).
    Arrows grow with |score| up to the 90th percentile of the exact field at that t (figures'
    score_field_figure). The dots are the noised samples of `noised_samples(data, ᾱ, seed)`. Metrics:
    ᾱ_t, the noise std √(1−ᾱ_t) and, with a learned field, its relative error (toy_models'
    score_relative_error over error_n points from p_t, computed per t as the page did).
    """
    from ..lessons.figures import _EXACT_ARROWS, _LEARNED_ARROWS  # the colours of figures.score_field_figure
    from ..lessons.framesets import FrameSet, heatmap_png_uri
    from ..models.toy_models import score_relative_error

    if view not in ("exact", "learned", "both", "error"):
        raise ValueError(f"unknown view {view!r}")
    if view != "exact" and learned_fn is None:
        raise ValueError(f"the {view!r} view needs a learned score")
    ts = [int(t) for t in ts]
    pts = field_points()
    abs_ = [float(schedule.alpha_bars[t]) for t in ts]
    exact = [toy2d.empirical_score(data, pts, ab) for ab in abs_]
    learned = None if view == "exact" else [np.asarray(learned_fn(pts, ab), dtype=np.float64) for ab in abs_]
    caps = [float(np.quantile(np.linalg.norm(e, axis=1), 0.9)) or 1.0 for e in exact]
    if view == "error":
        diffs = [lv - e for lv, e in zip(learned, exact)]
        fields = [{"name": "learned − exact", "color": _EXACT_ARROWS, "vectors": diffs}]
        background = {"name": "error size |learned − exact| (bright = large)",
                      "frames": [heatmap_png_uri(np.linalg.norm(d, axis=1).reshape(FIELD_N, FIELD_N))
                                 for d in diffs]}
    else:
        fields = []
        if view in ("exact", "both"):
            fields.append({"name": "exact score", "color": _EXACT_ARROWS, "vectors": exact})
        if view in ("learned", "both"):
            fields.append({"name": "learned score", "color": _LEARNED_ARROWS, "vectors": learned})
        background = {"name": "density pₜ(x) (bright = likely)",
                      "frames": [heatmap_png_uri(density_grid(data, ab, n=BG_N)[2]) for ab in abs_]}
    x0 = np.asarray(data[:MAX_SHOWN], dtype=np.float64)
    eps = np.random.default_rng([seed, 1]).standard_normal(x0.shape)  # as noised_samples draws it
    title = {"exact": "exact", "learned": "learned", "both": "both", "error": "error"}[view]
    fs = FrameSet(label=label, values=ts)
    fs.add_metric("ᾱₜ (signal left)", [f"{ab:.4f}" for ab in abs_])
    fs.add_metric("noise std √(1−ᾱₜ)", [f"{math.sqrt(1 - ab):.3f}" for ab in abs_])
    if learned_fn is not None and view != "exact":
        errs = [score_relative_error(learned_fn, data, schedule, (t,), n=error_n)[t] for t in ts]
        fs.add_metric("relative error of the learned score", [f"{e:.1%}" for e in errs],
                      help="E‖s_learned − s_exact‖ / E‖s_exact‖ over 1,000 points drawn from pₜ: the error where "
                           "the data is, not in empty corners.")
    fs.add_vector_field(f"Score field at t = {{v}} ({title})", EXTENT, pts, fields, caps,
                        background=background,
                        dots={"name": "noised samples xₜ", "color": "rgba(255,255,255,0.45)", "x0": x0, "eps": eps,
                              "a": [math.sqrt(ab) for ab in abs_], "b": [math.sqrt(1 - ab) for ab in abs_]})
    return fs


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


def run_particles(sampler: str, score_fn: ScoreFn, schedule: NoiseSchedule, num_levels: int,
                  n_particles: int = N_PARTICLES, seed: int = 0,
                  progress: Callable[[float], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(trajectory (L + 1, M, 2), timesteps (L,)) of M particles from N(0, I) under one sampler.

    Langevin takes LANGEVIN_INNER steps per level and ends with a Tweedie step (denoise_last), so
    that all three end on clean samples. `progress(fraction)` is called after each score evaluation.
    """
    ts, abs_ = levels(schedule, num_levels)
    x_T = np.random.default_rng([seed, 2]).standard_normal((n_particles, 2))
    rng = np.random.default_rng([seed, 3])
    if sampler == "langevin":
        fn = _counting(score_fn, len(ts) * LANGEVIN_INNER + 1, progress)
        traj = toy2d.annealed_langevin(fn, x_T, abs_, n_inner=LANGEVIN_INNER, step_scale=LANGEVIN_STEP,
                                       rng=rng, denoise_last=True)
    elif sampler == "sde":
        traj = toy2d.reverse_sde(_counting(score_fn, len(ts), progress), x_T, abs_, rng=rng)
    elif sampler == "ode":
        traj = toy2d.probability_flow_ode(_counting(score_fn, len(ts), progress), x_T, abs_)
    else:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    return traj, ts


def frame_t(sampler: str, timesteps, k: int) -> int:
    """The timestep trajectory entry k is distributed at (0 for the clean end; see the toy2d docstring)."""
    ts = [int(t) for t in timesteps]
    if k >= len(ts):
        return 0
    if sampler == "langevin":
        return ts[max(k - 1, 0)]
    return ts[k]


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
    traj[k] is at timesteps[k] for the SDE and the ODE, at timesteps[k - 1] for Langevin;
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



# ------------------------------------------------------------------ guidance on labelled toy data

GUIDANCE_SCALES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
GUIDANCE_PARTICLES = 500
GUIDANCE_LEVELS = 50


def guided_particles(mix, y: int, scale: float, schedule: NoiseSchedule, num_levels: int = GUIDANCE_LEVELS,
                     n_particles: int = GUIDANCE_PARTICLES, seed: int = 0) -> np.ndarray:
    """End points (M, 2) of particles from N(0, I) along the probability-flow ODE (DDIM steps) with the
    exact guided score of class y at guidance scale s (`explainer.guidance.guided_score`)."""
    from .guidance import guided_score_fn

    traj, _ = run_particles("ode", guided_score_fn(mix, y, scale), schedule, num_levels,
                            n_particles=n_particles, seed=seed)
    return traj[-1]


def guidance_sweep(mix, y: int, schedule: NoiseSchedule, scales=GUIDANCE_SCALES, seed: int = 0,
                   num_levels: int = GUIDANCE_LEVELS, n_particles: int = GUIDANCE_PARTICLES) -> dict:
    """For each scale: the particles' spread, their mean p(y | x) at the clean end, the distance of their
    centre from the middle of the data (the mean of the class means), the spread of the exact
    sharpened density p(x | y) p(y | x)^(s-1) (on a grid), and the particles' end points ("ends",
    (M, 2) each); lists in the order of `scales`.

    All scales run as one batch from the same starting noise, each block of particles with its own s:
    the same numbers as `guided_particles` per scale, with one score evaluation per level instead of one
    per level and scale.
    """
    from .guidance import (class_posterior, conditional_score, grid_spread, sharpened_density_grid, spread,
                           unconditional_score)

    mix.components_of(y)
    _, abs_ = levels(schedule, num_levels)
    x_T = np.random.default_rng([seed, 2]).standard_normal((n_particles, 2))  # as run_particles draws it
    s_col = np.repeat(np.asarray(scales, dtype=np.float64), n_particles)[:, None]

    def score_fn(x, alpha_bar):  # guidance.guided_score, with a scale per particle
        uncond = unconditional_score(mix, x, alpha_bar)
        return uncond + s_col * (conditional_score(mix, x, y, alpha_bar) - uncond)

    ends = toy2d.probability_flow_ode(score_fn, np.tile(x_T, (len(scales), 1)), abs_)[-1]
    ends = ends.reshape(len(scales), n_particles, 2)
    centre = mix.means.mean(axis=0)  # the middle of the data
    out = {"scales": [float(s) for s in scales], "ends": list(ends),
           "spread": [spread(e) for e in ends],
           "confidence": [float(class_posterior(mix, e)[:, y].mean()) for e in ends],
           "centre_distance": [float(np.linalg.norm(e.mean(axis=0) - centre)) for e in ends],
           "class_centre_distance": float(np.linalg.norm(mix.means[mix.components_of(y)].mean(axis=0) - centre)),
           "target_spread": [grid_spread(sharpened_density_grid(mix, y, s, extent=5.0, n=81)) for s in scales]}
    return out
