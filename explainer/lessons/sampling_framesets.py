"""A sampling run as frame sets for the browser scrubber: one digit's trajectory step by step with its filled-in
update, and what SDEdit starts from at each t0."""
from __future__ import annotations

import numpy as np
import torch

from ..core.forward import q_sample
from ..models.generate import SampleResult, starting_noise
from .style import PALETTE
from .framesets import FrameSet
from .image_encoding import png_data_uri
from .notation import number, sub
from .sampler_equations import step_equation


def trajectory_frameset(schedule, res: SampleResult, digit: int, label: str) -> FrameSet:
    """Every kept step of one digit's trajectory: x_t, ε̂, x̂₀ and x_t′, the filled-in update, and where it is."""
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
    fs.add_metric("ᾱₜ", [number(ab[t]) for t in ts])
    fs.add_metric("noise level √(1−ᾱₜ)", [f"{np.sqrt(1 - ab[t]):.4f}" for t in ts])
    t_lasts = [res.timesteps[i - 1] if i > 0 else None for i in res.kept_steps]
    fs.add_line([step_equation(schedule, t, tp, s["sampler"], s["eta"], tl) for t, tp, tl in zip(ts, t_prevs, t_lasts)])
    grid = np.arange(schedule.num_steps)
    fs.add_line_chart("Where the sampler is: from pure noise (t = T−1) to clean (t = 0)", grid,
                      [{"name": "noise level √(1−ᾱₜ)", "y": np.sqrt(1 - ab), "color": PALETTE[5]}],
                      xlabel="timestep t", ylabel="noise level", y_range=(0.0, 1.05), marker_x=ts)
    return fs


def sdedit_frameset(schedule, image: np.ndarray, seed: int, t0s: list[int], label: str) -> FrameSet:
    """What SDEdit starts from at each t0: the image noised by q(x_t0 | x_0) with the first of its noises."""
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
