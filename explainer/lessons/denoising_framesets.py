"""The learning lesson's frame sets for the browser scrubber: one training step, four readings of one
prediction, the wrong time, and the samples of each training snapshot (from `explainer.models.denoiser`)."""
from __future__ import annotations

import math

import numpy as np

from ..core.schedules import NoiseSchedule
from ..models.denoiser import PIXELS, StepFrames, WrongTime, readings, round_trip_error
from .framesets import FrameSet
from .image_encoding import png_data_uri
from .notation import number, sub


def _label_text(label: int, null_label: int) -> str:
    return "no class (∅)" if label == null_label else f"class {label}"


def training_frameset(sf: StepFrames, schedule: NoiseSchedule, null_label: int, label: str,
                      compare: dict[str, np.ndarray] | None = None) -> FrameSet:
    """Section 'one training step': x0, eps, x_t, eps_hat, the error map and L_simple filled in, per t.

    `compare`: this digit's loss over the same ts when told other labels (name -> losses), drawn
    beside the told label's curve.
    """
    ab = schedule.alpha_bars[np.asarray(sf.ts)]
    told = _label_text(sf.label, null_label)
    fs = FrameSet(label=label, values=sf.ts, pixelated=True)
    fs.add_panel("clean digit x₀", png_data_uri(sf.x0))
    fs.add_panel("noise ε ~ N(0, I) (÷3)", png_data_uri(sf.eps / 3))
    fs.add_panel([f"noisy input x{sub(t)}" for t in sf.ts], [png_data_uri(x) for x in sf.x_t], alt="noisy input x_t")
    fs.add_panel([f"model's guess ε̂ ({told}, ÷3)" for _ in sf.ts], [png_data_uri(e / 3) for e in sf.eps_hat],
                 alt="predicted noise")
    fs.add_panel("error ε̂ − ε (÷3; grey = 0)", [png_data_uri((e - sf.eps) / 3) for e in sf.eps_hat],
                 alt="error map")
    fs.add_metric("loss ‖ε − ε̂‖² (mean over pixels)", [f"{v:.4f}" for v in sf.loss],
                  help="What one training example contributes to L_simple at this t.")
    fs.add_metric("signal weight √ᾱₜ", [number(v) for v in np.sqrt(ab)])
    fs.add_metric("noise weight √(1−ᾱₜ)", [f"{v:.4f}" for v in np.sqrt(1 - ab)])
    fs.add_line([f"L_simple = ‖ε − ε_θ({number(math.sqrt(a))}·x₀ + {number(math.sqrt(1 - a))}·ε, t = {t}, {told})‖² "
                 f"/ {PIXELS} = {v:.4f}" for t, a, v in zip(sf.ts, ab, sf.loss)])
    curves = compare or {told: sf.loss}
    colours = ["#0072B2", "#E69F00", "#D55E00", "#CC79A7"]
    fs.add_line_chart("This digit's loss at every t, by the class it is told", sf.ts,
                      [{"name": n, "y": np.maximum(y, 1e-6), "color": c} for (n, y), c in zip(curves.items(), colours)],
                      xlabel="timestep t", ylabel="‖ε − ε̂‖²", log_y=True)
    fs.add_line_chart("How much digit and how much noise in x_t", sf.ts,
                      [{"name": "√ᾱₜ (digit)", "y": np.sqrt(ab), "color": "#009E73"},
                       {"name": "√(1−ᾱₜ) (noise)", "y": np.sqrt(1 - ab), "color": "#56B4E9"}],
                      xlabel="timestep t", ylabel="weight", y_range=(0.0, 1.05))
    return fs


def readings_frameset(sf: StepFrames, schedule: NoiseSchedule, label: str) -> FrameSet:
    """Section 'four readings': eps_hat, x0_hat, score_hat and v_hat from the same call, formulas filled in."""
    ab = schedule.alpha_bars[np.asarray(sf.ts)]
    r = readings(sf, schedule)
    sq, sn = np.sqrt(ab), np.sqrt(1 - ab)
    fs = FrameSet(label=label, values=sf.ts, pixelated=True)
    fs.add_panel([f"input x{sub(t)}" for t in sf.ts], [png_data_uri(x) for x in sf.x_t], alt="noisy input")
    fs.add_panel("ε̂: the noise (÷3)", [png_data_uri(e / 3) for e in r["eps"]], alt="eps hat")
    fs.add_panel("x̂₀: the clean digit (clipped to [−1, 1])", [png_data_uri(x) for x in r["x0"]], alt="x0 hat")
    fs.add_panel("ŝ: the score, × √(1−ᾱₜ)/3", [png_data_uri(s * n / 3) for s, n in zip(r["score"], sn)],
                 alt="score")
    fs.add_panel("v̂: the velocity (÷2)", [png_data_uri(v / 2) for v in r["v"]], alt="v hat")
    fs.add_metric("largest |ŝ| (score)", [f"{np.abs(s).max():.4g}" for s in r["score"]],
                  help="The score is −ε̂/√(1−ᾱₜ): the same picture as ε̂, scaled up as the noise shrinks.")
    fs.add_metric("ε̂ back from x̂₀, ŝ, v̂: max error", [f"{e:.1e}" for e in round_trip_error(r, sf.x_t, ab)],
                  help="Each reading converts back to ε̂ exactly; what is left is float64 rounding.")
    fs.add_line([f"x̂₀ = (x{sub(t)} − {number(b)}·ε̂) / {number(a)}" for t, a, b in zip(sf.ts, sq, sn)])
    fs.add_line([f"ŝ = −ε̂ / {number(b)}" for b in sn])
    fs.add_line([f"v̂ = {number(a)}·ε̂ − {number(b)}·x̂₀" for a, b in zip(sq, sn)])
    return fs


def wrong_time_frameset(wt: WrongTime, schedule: NoiseSchedule, label: str) -> FrameSet:
    """Section 'tell it the wrong time': x0_hat and the error as t' moves, the loss curve with its marker."""
    ab = schedule.alpha_bars[np.asarray(wt.t_primes)]
    fs = FrameSet(label=label, values=wt.t_primes, pixelated=True)
    fs.add_panel("clean digit x₀", png_data_uri(wt.x0))
    fs.add_panel(f"input x{sub(wt.t)} (made at the true t = {wt.t})", png_data_uri(wt.x_t))
    fs.add_panel([f"x̂₀ when told t′ = {v}" for v in wt.t_primes], [png_data_uri(x) for x in wt.x0_hat],
                 alt="x0 hat at the wrong time")
    fs.add_panel("error ε̂ − ε (÷3; grey = 0)", [png_data_uri((e - wt.eps) / 3) for e in wt.eps_hat],
                 alt="error map")
    fs.add_metric("noise loss ‖ε − ε̂‖²", [f"{v:.4f}" for v in wt.eps_mse])
    fs.add_metric("clean-image error ‖x₀ − x̂₀‖²", [f"{v:.4g}" for v in wt.x0_mse])
    fs.add_line([f"x̂₀ = (x{sub(wt.t)} − {math.sqrt(1 - a):.4f}·ε̂) / {math.sqrt(a):.4f}   (ᾱ of t′ = {v}; "
                 f"the true t = {wt.t} would use {math.sqrt(1 - schedule.alpha_bars[wt.t]):.4f} and "
                 f"{math.sqrt(schedule.alpha_bars[wt.t]):.4f})" for v, a in zip(wt.t_primes, ab)])
    fs.add_line_chart(f"Noise loss for the same x{sub(wt.t)}, told t′", wt.t_primes,
                      [{"name": "‖ε − ε̂‖²", "y": np.maximum(wt.eps_mse, 1e-6), "color": "#D55E00"}],
                      xlabel="the t′ the model is told", ylabel="loss", log_y=True)
    fs.add_line_chart("Clean-image error of x̂₀, told t′", wt.t_primes,
                      [{"name": "‖x₀ − x̂₀‖²", "y": np.maximum(wt.x0_mse, 1e-6), "color": "#009E73"}],
                      xlabel="the t′ the model is told", ylabel="error", log_y=True)
    return fs


def snapshot_frameset(steps: list[int], grids: list[np.ndarray], history, label: str) -> FrameSet:
    """Section 'watch it learn': the samples of each training snapshot, the loss curve with the step marked."""
    h = np.asarray(history, dtype=np.float64).reshape(-1, 2)
    fs = FrameSet(label=label, values=list(steps), pixelated=True, fps=2)
    fs.add_panel([f"samples after {s:,} training steps" for s in steps], [png_data_uri(g) for g in grids],
                 alt="samples")
    if len(h):
        near = [h[int(np.argmin(np.abs(h[:, 0] - s))), 1] if s > 0 else float("nan") for s in steps]
        fs.add_metric("training loss near this step", ["—" if not np.isfinite(v) else f"{v:.4f}" for v in near])
        fs.add_line_chart("Training loss (mean ‖ε − ε̂‖² per 50 steps)", h[:, 0],
                          [{"name": "loss", "y": h[:, 1], "color": "#0072B2"}],
                          xlabel="training step", ylabel="loss", log_y=True)
    return fs
