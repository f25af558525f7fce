"""What the trained denoiser does with one real digit: a training step, four readings, the wrong time.

The model-facing half of the learning lesson (the math is in `explainer.objectives`):
each function makes one batched network call over many timesteps and returns plain
arrays, and the `*_frameset` functions arrange them as `explainer.scrub.FrameSet`s, so
a slider over t (or t') moves in the browser without asking the server again.
No Streamlit here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..core import objectives
from ..core.forward import q_sample, sub
from ..lessons.images import png_data_uri
from .pretrained import Pretrained
from ..core.schedules import NoiseSchedule
from ..lessons.framesets import FrameSet

#: Values of t (or t′) a learning-page scrubber visits, as the other scrubbers: one batched network call.
#: Each student with their own seed needs their own set, so it is kept small.
LEARN_FRAMES = 32

PIXELS = 28 * 28


def eps_fn(pre: Pretrained) -> objectives.EpsFn:
    """The bundled model as eps_fn(x_t, t, labels) on CPU tensors: runs on its device, answers on the CPU."""
    dev = pre.device

    def run(x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return pre.model(x_t.to(dev), t.to(dev), labels.to(dev)).float().cpu()
    return run


def class_label(choice: str, true_label: int | None, null_label: int) -> int:
    """The label the model is told: 'true' (the digit's own class; none if unknown), 'none', or a digit '0'-'9'."""
    if choice == "true":
        return null_label if true_label is None else int(true_label)
    if choice == "none":
        return null_label
    value = int(choice)
    if not 0 <= value <= 9:
        raise ValueError(f"class must be 'true', 'none' or 0-9, not {choice!r}")
    return value


def digit_noise(seed: int, shape: tuple = (28, 28)) -> np.ndarray:
    """The noise eps ~ N(0, I) for one digit, fixed by the seed (the same at every t, so only the scale moves)."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(int(seed))).numpy()


def _image_tensor(x: np.ndarray) -> torch.Tensor:
    """A 28x28 image as a (1, 1, 28, 28) float32 tensor (a copy: cached arrays are read-only)."""
    return torch.from_numpy(np.array(x, dtype=np.float32, copy=True)).reshape(1, 1, 28, 28)


@dataclass
class StepFrames:
    """One digit through Algorithm 1 at every t in ts: x_t, eps_hat and the loss (arrays (K, 28, 28), (K,))."""

    ts: list[int]
    x0: np.ndarray
    eps: np.ndarray
    x_t: np.ndarray
    eps_hat: np.ndarray
    loss: np.ndarray
    label: int


def training_steps(pre: Pretrained, x0: np.ndarray, eps: np.ndarray, ts, label: int) -> StepFrames:
    """The same x0 and eps at every t in ts, one batched call (Ho et al. 2020, Algorithm 1 without the update)."""
    return training_steps_by_label(pre, x0, eps, ts, [label])[int(label)]


def training_steps_by_label(pre: Pretrained, x0: np.ndarray, eps: np.ndarray, ts, labels) -> dict[int, StepFrames]:
    """`training_steps` for several labels (the class, none, a wrong one) in one batched network call.

    One batch of 96 runs about a quarter faster per image than three of 32 on a CPU.
    """
    ts = [int(t) for t in ts]
    labels = list(dict.fromkeys(int(lab) for lab in labels))
    k, n = len(ts), len(ts) * len(labels)
    x0_b = _image_tensor(x0).expand(n, 1, 28, 28)
    eps_b = _image_tensor(eps).expand(n, 1, 28, 28)
    out = objectives.training_step(eps_fn(pre), pre.schedule, x0_b, torch.tensor(ts * len(labels)), eps_b,
                                   torch.tensor([lab for lab in labels for _ in ts], dtype=torch.long))
    x0_np, eps_np = np.asarray(x0, dtype=np.float32), np.asarray(eps, dtype=np.float32)
    return {lab: StepFrames(ts=ts, x0=x0_np, eps=eps_np, x_t=out["x_t"][i * k:(i + 1) * k, 0].numpy(),
                            eps_hat=out["eps_hat"][i * k:(i + 1) * k, 0].numpy(),
                            loss=out["loss"][i * k:(i + 1) * k].double().numpy(), label=lab)
            for i, lab in enumerate(labels)}


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
    fs.add_metric("signal weight √ᾱₜ", [f"{v:.4f}" for v in np.sqrt(ab)])
    fs.add_metric("noise weight √(1−ᾱₜ)", [f"{v:.4f}" for v in np.sqrt(1 - ab)])
    fs.add_line([f"L_simple = ‖ε − ε_θ({math.sqrt(a):.4f}·x₀ + {math.sqrt(1 - a):.4f}·ε, t = {t}, {told})‖² "
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


def readings(sf: StepFrames, schedule: NoiseSchedule) -> dict[str, np.ndarray]:
    """The four readings (eps, x0, score, v; objectives.four_readings) of every eps_hat, in float64."""
    ab = schedule.alpha_bars[np.asarray(sf.ts)][:, None, None]
    return objectives.four_readings(sf.eps_hat.astype(np.float64), sf.x_t.astype(np.float64), ab)


def round_trip_error(r: dict[str, np.ndarray], x_t: np.ndarray, alpha_bar: np.ndarray) -> np.ndarray:
    """max |eps_hat - eps recovered from each other reading|, per frame: zero up to rounding."""
    ab = np.asarray(alpha_bar, dtype=np.float64)[:, None, None]
    x = x_t.astype(np.float64)
    errs = [np.abs(objectives.to_eps(k, r[k], x, ab) - r["eps"]).reshape(len(ab), -1).max(1) for k in ("x0", "score", "v")]
    return np.max(errs, axis=0)


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
    fs.add_line([f"x̂₀ = (x{sub(t)} − {b:.4f}·ε̂) / {a:.4f}" for t, a, b in zip(sf.ts, sq, sn)])
    fs.add_line([f"ŝ = −ε̂ / {b:.4f}" for b in sn])
    fs.add_line([f"v̂ = {a:.4f}·ε̂ − {b:.4f}·x̂₀" for a, b in zip(sq, sn)])
    return fs


@dataclass
class WrongTime:
    """The same x_t told every t' in t_primes: eps_hat, x0_hat (K, 28, 28) and their errors (K,)."""

    t: int
    t_primes: list[int]
    x0: np.ndarray
    eps: np.ndarray
    x_t: np.ndarray
    eps_hat: np.ndarray
    x0_hat: np.ndarray
    eps_mse: np.ndarray
    x0_mse: np.ndarray
    label: int

    @property
    def best_t_prime(self) -> int:
        """The t' with the smallest eps-loss."""
        return int(self.t_primes[int(np.argmin(self.eps_mse))])


def wrong_time(pre: Pretrained, x0: np.ndarray, eps: np.ndarray, t: int, t_primes, label: int) -> WrongTime:
    """x_t made at the true t, then given to the model with each t' (objectives.loss_vs_wrong_time)."""
    x0_t, eps_t = _image_tensor(x0), _image_tensor(eps)
    x_t = q_sample(pre.schedule, x0_t, int(t), eps_t)
    tp = [int(v) for v in t_primes]
    out = objectives.loss_vs_wrong_time(eps_fn(pre), pre.schedule, x_t, eps_t, x0_t, tp, label)
    return WrongTime(t=int(t), t_primes=tp, x0=np.asarray(x0, dtype=np.float32), eps=np.asarray(eps, np.float32),
                     x_t=x_t[0, 0].numpy(), label=int(label), **out)


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
