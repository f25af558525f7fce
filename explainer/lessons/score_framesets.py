"""The score field of a 2-D toy data set as a frame set for the browser scrubber: arrows of the exact and the
learned score over the noised density, at each t (the score page's main view)."""
from __future__ import annotations

import math

import numpy as np

from ..core import particles, toy2d
from ..core.schedules import NoiseSchedule, evenly_spaced
from ..core.toy2d import ScoreFn
from ..models.toy_models import score_relative_error
from .style import EXACT_ARROWS, LEARNED_ARROWS  # the colours of score_figures.score_field_figure
from .framesets import FrameSet, heatmap_png_uri

SCRUB_FRAMES = 32     # values of t the field scrubber precomputes
BG_N = 72             # the scrubber's background pictures: BG_N x BG_N pixels
FIELD_LABEL = "Timestep t (1 = almost clean, 999 = pure noise)"


def field_ts(num_steps: int = particles.NUM_STEPS, n: int = SCRUB_FRAMES) -> list[int]:
    """n evenly spaced timesteps in [1, num_steps - 1]: t = 0 is no noise at all, so the field starts at 1."""
    return evenly_spaced(1, num_steps - 1, n)


def field_frameset(data: np.ndarray, schedule: NoiseSchedule, view: str, learned_fn: ScoreFn | None,
                   ts, seed: int = 0, label: str = FIELD_LABEL, error_n: int = 1000):
    """The score field of `data` at every t in ts, for a scrubber (lessons.framesets.FrameSet).

    view as in score_figures.SCORE_VIEWS: "exact" (white arrows over the density p_t), "learned" (orange),
    "both" (white and orange), "error" (learned − exact as white arrows over its size |learned − exact|).
    Arrows grow with |score| up to the 90th percentile of the exact field at that t (figures'
    score_field_figure). The dots are the noised samples of `noised_samples(data, ᾱ, seed)`. Metrics:
    ᾱ_t, the noise std √(1−ᾱ_t) and, with a learned field, its relative error (toy_models'
    score_relative_error over error_n points from p_t, computed per t as the page did).
    """
    if view not in ("exact", "learned", "both", "error"):
        raise ValueError(f"unknown view {view!r}")
    if view != "exact" and learned_fn is None:
        raise ValueError(f"the {view!r} view needs a learned score")
    ts = [int(t) for t in ts]
    pts = particles.field_points()
    abs_ = [float(schedule.alpha_bars[t]) for t in ts]
    exact = [toy2d.empirical_score(data, pts, ab) for ab in abs_]
    learned = None if view == "exact" else [np.asarray(learned_fn(pts, ab), dtype=np.float64) for ab in abs_]
    caps = [float(np.quantile(np.linalg.norm(e, axis=1), 0.9)) or 1.0 for e in exact]
    if view == "error":
        diffs = [lv - e for lv, e in zip(learned, exact)]
        fields = [{"name": "learned − exact", "color": EXACT_ARROWS, "vectors": diffs}]
        side = particles.FIELD_N
        background = {"name": "error size |learned − exact| (bright = large)",
                      "frames": [heatmap_png_uri(np.linalg.norm(d, axis=1).reshape(side, side)) for d in diffs]}
    else:
        fields = []
        if view in ("exact", "both"):
            fields.append({"name": "exact score", "color": EXACT_ARROWS, "vectors": exact})
        if view in ("learned", "both"):
            fields.append({"name": "learned score", "color": LEARNED_ARROWS, "vectors": learned})
        background = {"name": "density pₜ(x) (bright = likely)",
                      "frames": [heatmap_png_uri(particles.density_grid(data, ab, n=BG_N)[2]) for ab in abs_]}
    x0 = np.asarray(data[:particles.MAX_SHOWN], dtype=np.float64)
    eps = np.random.default_rng([seed, 1]).standard_normal(x0.shape)  # as particles.noised_samples draws it
    title = {"exact": "exact", "learned": "learned", "both": "both", "error": "error"}[view]
    fs = FrameSet(label=label, values=ts)
    fs.add_metric("ᾱₜ (signal left)", [f"{ab:.4f}" for ab in abs_])
    fs.add_metric("noise std √(1−ᾱₜ)", [f"{math.sqrt(1 - ab):.3f}" for ab in abs_])
    if learned_fn is not None and view != "exact":
        errs = [score_relative_error(learned_fn, data, schedule, (t,), n=error_n)[t] for t in ts]
        fs.add_metric("relative error of the learned score", [f"{e:.1%}" for e in errs],
                      help="E‖s_learned − s_exact‖ / E‖s_exact‖ over 1,000 points drawn from pₜ: the error where "
                           "the data is, not in empty corners.")
    fs.add_vector_field(f"Score field at t = {{v}} ({title})", particles.EXTENT, pts, fields, caps,
                        background=background,
                        dots={"name": "noised samples xₜ", "color": "rgba(255,255,255,0.45)", "x0": x0, "eps": eps,
                              "a": [math.sqrt(ab) for ab in abs_], "b": [math.sqrt(1 - ab) for ab in abs_]})
    return fs
