"""Drawing digits with the bundled MNIST model: plain sampling, guidance, trajectories and SDEdit.

This is the glue between a `Pretrained` model and `explainer.samplers`: it
builds the guided eps-model, the timesteps and the starting noise, runs the
loop, and keeps what the app shows (every x_t, eps_hat and x0_hat) on the CPU.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..core.forward import q_sample
from .pretrained import Pretrained
from ..core.samplers import guided_eps_model, make_timesteps, sample_loop


# Steps when none is asked for, for a sampler other than the card's recommended one. The
# DPM-Solver++(2M) figure is provisional, from its authors ("near-converged in 15-20 steps",
# Lu et al. 2022) until `python -m explainer.evaluate --only steps` has measured this model.
FALLBACK_STEPS = {"ddim": 50, "dpm++2m": 15}


def default_steps(pre: Pretrained, sampler: str) -> int:
    """DDPM: all T steps; the card's recommended sampler: its steps; otherwise the fewest steps whose
    quality matched DDIM-50 in the card's measurement (evaluate --only steps), else FALLBACK_STEPS."""
    rec = pre.card["recommended"]
    if sampler == "ddpm":
        return pre.schedule.num_steps
    if sampler == rec["sampler"]:
        return int(rec["steps"])
    measured = pre.card.get("quality_vs_steps", {}).get("fewest_steps_matching_ddim50", {}).get(sampler)
    return int(measured or FALLBACK_STEPS[sampler])


@dataclass
class SampleResult:
    """Final images (N, 28, 28) in [-1, 1] and, if kept, the trajectory (steps, N, 28, 28) of each quantity."""

    images: np.ndarray
    labels: np.ndarray
    timesteps: list[int]
    x_T: np.ndarray
    x_t: np.ndarray | None = None
    eps_hat: np.ndarray | None = None
    x0_hat: np.ndarray | None = None
    x_prev: np.ndarray | None = None
    kept_steps: list[int] = field(default_factory=list)  # which steps (indices into timesteps) were kept
    seconds: float = 0.0
    device: str = "cpu"
    settings: dict = field(default_factory=dict)

    @property
    def ms_per_step(self) -> float:
        return 1000.0 * self.seconds / max(len(self.timesteps), 1)


def parse_labels(label: str | int | None, n: int, null_label: int = 10) -> np.ndarray:
    """'all' cycles 0..9, 'none'/None gives unconditional (null) labels, a digit repeats."""
    if label is None or str(label).lower() == "none":
        return np.full(n, null_label, dtype=np.int64)
    if str(label).lower() == "all":
        return np.arange(n, dtype=np.int64) % 10
    value = int(label)
    if not 0 <= value <= 9:
        raise ValueError(f"label must be 0-9, 'all' or 'none', not {label!r}")
    return np.full(n, value, dtype=np.int64)


def starting_noise(n: int, seed: int, size: int = 28) -> torch.Tensor:
    """x_T ~ N(0, I), drawn on the CPU so a seed gives the same picture on every device."""
    return torch.randn((n, 1, size, size), generator=torch.Generator().manual_seed(int(seed)))


def generate(pre: Pretrained, labels: np.ndarray, sampler: str = "ddim", steps: int = 50, eta: float = 0.0,
             guidance: float = 3.0, seed: int = 0, spacing: str = "trailing", clip_x0: bool = True,
             keep_trajectory: bool = False, x_T: torch.Tensor | None = None, t_start: int | None = None,
             progress: Callable[[int, int], None] | None = None, max_frames: int = 60,
             preview: Callable[[int, int, torch.Tensor], None] | None = None) -> SampleResult:
    """Sample len(labels) digits. `t_start` starts the reverse process at that t (for SDEdit).

    `progress(i, k)` is called after each step, `preview(i, k, x0_hat)` too, with the model's
    current guess of the clean digits (so a page can show them forming while the job runs).
    With keep_trajectory, at most `max_frames` evenly spaced steps (always the first and the last)
    are kept, in float16: a 1000-step DDPM run of 32 digits would otherwise hold 300 MB per user.
    """
    model, schedule, dev = pre.model, pre.schedule, pre.device
    n = len(labels)
    T = schedule.num_steps
    if t_start is None:
        timesteps = make_timesteps(T, steps, spacing)
    else:
        # The same spacing over the shorter range [0, t_start].
        k = max(1, min(steps, t_start + 1))
        timesteps = make_timesteps(t_start + 1, k, spacing)
    if x_T is None:
        x_T = starting_noise(n, seed)
    gen = torch.Generator().manual_seed(int(seed) + 1)  # the per-step noise, independent of x_T
    eps_model = guided_eps_model(model, torch.as_tensor(labels), model.null_label, float(guidance))
    keep = {"x_t": [], "eps_hat": [], "x0_hat": [], "x_prev": []}
    kept = sorted({int(round(v)) for v in np.linspace(0, len(timesteps) - 1, min(max_frames, len(timesteps)))})
    kept_set = set(kept)
    x = x_T.to(dev)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for rec in sample_loop(eps_model, schedule, x, timesteps, sampler=sampler, eta=eta, clip_x0=clip_x0,
                           generator=gen):
        if keep_trajectory and rec.index in kept_set:
            for name in keep:
                keep[name].append(getattr(rec, name)[:, 0].to(torch.float16).cpu().numpy())
        x = rec.x_prev
        if progress:
            progress(rec.index + 1, len(timesteps))
        if preview:  # the model's current guess x0_hat, (N, 1, H, W), for a live picture
            preview(rec.index + 1, len(timesteps), rec.x0_hat)
    images = x[:, 0].clamp(-1, 1).float().cpu().numpy()  # .cpu() waits for the GPU to finish
    seconds = time.perf_counter() - t0
    traj = {**{k: np.stack(v) for k, v in keep.items()}, "kept_steps": kept} if keep_trajectory else {}
    return SampleResult(images=images, labels=np.asarray(labels), timesteps=[int(t) for t in timesteps],
                        x_T=x_T[:, 0].numpy(), seconds=seconds, device=str(dev),
                        settings=dict(sampler=sampler, steps=len(timesteps), eta=eta, guidance=guidance,
                                      seed=seed, spacing=spacing, clip_x0=clip_x0, t_start=t_start), **traj)


def sdedit(pre: Pretrained, image: np.ndarray, t0: int, label=None, n: int = 1, seed: int = 0,
           **kwargs) -> tuple[np.ndarray, SampleResult]:
    """SDEdit (Meng et al. 2022): noise an image to x_{t0} by q(x_t0 | x_0), then denoise it with the model.

    Small t0 keeps the image; large t0 keeps only its rough layout and lets the
    model redraw it as the digit it "wants" to see. Returns (x_t0, result).
    """
    x0 = torch.as_tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28).expand(n, 1, 28, 28)
    noise = starting_noise(n, seed)
    x_t0 = q_sample(pre.schedule, x0, int(t0), noise)
    labels = parse_labels(label, n, pre.model.null_label)
    return x_t0[:, 0].numpy(), generate(pre, labels, x_T=x_t0, t_start=int(t0), seed=seed, **kwargs)


# ------------------------------------------------------------------ the trajectory, for scrubbing in the browser

def step_equation(schedule, t: int, t_prev: int, sampler: str, eta: float = 0.0, t_last: int | None = None) -> str:
    """The update of one step with its numbers filled in, as plain text (DDIM Eq. 12; DDPM Eq. 7/11;
    DPM-Solver++(2M), Lu et al. 2022 Alg. 2, where t_last is the step visited before t)."""
    from ..core.forward import sub
    from ..core.samplers import dpmpp_2m_coefficients, step_coefficients

    out = f"x{sub(t_prev)}" if t_prev >= 0 else "x₀"
    if sampler == "dpm++2m":
        if t_prev < 0:
            return f"x₀ = x̂₀{sub(t)}   (last step: first order, returns x̂₀)"
        co = dpmpp_2m_coefficients(schedule, t, t_prev, t_last)
        text = f"{out} = {co['c_xt']:.4f}·x{sub(t)} + {co['c_x0']:.4f}·x̂₀{sub(t)}"
        if t_last is None:
            return text + "   (first step: first order, as DDIM)"
        sign = "−" if co["c_x0_last"] < 0 else "+"
        return text + f" {sign} {abs(co['c_x0_last']):.4f}·x̂₀{sub(t_last)}   (h = {co['h']:.3f}, r = {co['r']:.3f})"
    co = step_coefficients(schedule, t, t_prev, sampler, eta)
    if sampler == "ddim":
        return f"{out} = {co['c_x0']:.4f}·x̂₀ + {co['c_eps']:.4f}·ε̂ + {co['sigma']:.4f}·z"
    return f"{out} = {co['c_x0']:.4f}·x̂₀ + {co['c_xt']:.4f}·x{sub(t)} + {co['sigma']:.4f}·z"


def trajectory_frameset(schedule, res: SampleResult, digit: int, label: str) -> "FrameSet":
    """Every kept step of one digit's trajectory: x_t, ε̂, x̂₀ and x_t′, the filled-in update, and where it is."""
    from ..lessons.figures import PALETTE
    from ..core.forward import sub
    from ..lessons.images import png_data_uri
    from ..lessons.framesets import FrameSet

    s = res.settings
    steps = list(range(len(res.kept_steps)))
    ts = [res.timesteps[i] for i in res.kept_steps]
    t_prevs = [res.timesteps[i + 1] if i + 1 < len(res.timesteps) else -1 for i in res.kept_steps]
    d = int(digit)
    fs = FrameSet(label=label, values=steps, pixelated=True, fps=8)
    fs.add_panel([f"input x{sub(t)}" for t in ts], [png_data_uri(x[d]) for x in res.x_t])
    fs.add_panel("predicted noise ε̂ (÷3)", [png_data_uri(np.asarray(e[d], dtype=np.float32) / 3) for e in res.eps_hat])
    fs.add_panel("predicted clean image x̂₀", [png_data_uri(x[d]) for x in res.x0_hat])
    fs.add_panel([f"output x{sub(tp)}" if tp >= 0 else "output x₀ (final)" for tp in t_prevs],
                 [png_data_uri(x[d]) for x in res.x_prev])
    ab = schedule.alpha_bars
    fs.add_metric("timestep t", [str(t) for t in ts])
    fs.add_metric("ᾱₜ", [f"{ab[t]:.5f}" for t in ts])
    fs.add_metric("noise level √(1−ᾱₜ)", [f"{np.sqrt(1 - ab[t]):.4f}" for t in ts])
    t_lasts = [res.timesteps[i - 1] if i > 0 else None for i in res.kept_steps]
    fs.add_line([step_equation(schedule, t, tp, s["sampler"], s["eta"], tl) for t, tp, tl in zip(ts, t_prevs, t_lasts)])
    grid = np.arange(schedule.num_steps)
    fs.add_line_chart("Where the sampler is: from pure noise (t = T−1) to clean (t = 0)", grid,
                      [{"name": "noise level √(1−ᾱₜ)", "y": np.sqrt(1 - ab), "color": PALETTE[5]}],
                      xlabel="timestep t", ylabel="noise level", y_range=(0.0, 1.05), marker_x=ts)
    return fs


def sdedit_frameset(schedule, image: np.ndarray, seed: int, t0s: list[int], label: str) -> "FrameSet":
    """What SDEdit starts from at each t0: the image noised by q(x_t0 | x_0) with the first of its noises."""
    from ..core.forward import sub
    from ..lessons.images import png_data_uri
    from ..lessons.framesets import FrameSet

    x0 = torch.as_tensor(image, dtype=torch.float32).reshape(1, 1, 28, 28)
    noise = starting_noise(1, seed)  # the noise sdedit() gives its first digit
    ab = schedule.alpha_bars
    fs = FrameSet(label=label, values=list(t0s), pixelated=True)
    fs.add_panel("your image x₀ (28×28)", png_data_uri(image))
    fs.add_panel([f"noised to x{sub(t)} (noise #1)" for t in t0s],
                 [png_data_uri(q_sample(schedule, x0, int(t), noise)[0, 0].numpy()) for t in t0s])
    fs.add_metric("image left √ᾱ", [f"{np.sqrt(ab[t]):.3f}" for t in t0s])
    fs.add_metric("noise √(1−ᾱ)", [f"{np.sqrt(1 - ab[t]):.3f}" for t in t0s])
    return fs
