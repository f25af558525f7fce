"""Frame sets of the forward process for the browser scrubber: x_t at each t, its weights, SNR and histogram,
one image under several schedules, one image at several sizes (Ho et al. 2020, Eq. 4)."""
from __future__ import annotations

import math

import numpy as np

from ..core.forward import marginal_variance, noised
from ..core.schedules import NoiseSchedule
from .style import PALETTE, schedule_colours
from .framesets import FrameSet, density_histograms, noise_png_uri, quantise_noise
from .image_encoding import png_data_uri
from .notation import sub
from .schedule_facts import snr_db


def weight_metrics(schedule: NoiseSchedule, ts) -> dict[str, list[str]]:
    """The numbers that follow t on the forward page, formatted: weights, SNR and SNR in dB."""
    ab = schedule.alpha_bars[np.asarray(ts)]
    snr = ab / (1 - ab)
    return {"signal weight √ᾱₜ": [f"{v:.4f}" for v in np.sqrt(ab)],
            "noise weight √(1−ᾱₜ)": [f"{v:.4f}" for v in np.sqrt(1 - ab)],
            "SNR = ᾱₜ / (1−ᾱₜ)": [f"{v:.4g}" for v in snr],
            "SNR in decibels": [f"{snr_db(schedule, t):+.1f} dB" for t in ts]}


def noising_frameset(schedule: NoiseSchedule, x0: np.ndarray, noise: np.ndarray, ts: list[int],
                     label: str) -> FrameSet:
    """Everything the forward page's main view shows at each t in ts (Ho et al. 2020, Eq. 4).

    x0 and noise are the pictures as shown (already small): x_t is computed exactly
    at that size, so what the student sees is the closed form, pixel for pixel.
    """
    # The browser computes x_t from x0 and ε (two pictures instead of one per t); ε as it travels.
    eps = quantise_noise(noise)
    frames = [noised(schedule, x0, t, eps) for t in ts]
    ab = schedule.alpha_bars
    fs = FrameSet(label=label, values=list(ts))
    x0_src, eps_src = fs.add_source(png_data_uri(x0)), fs.add_source(noise_png_uri(eps))
    fs.add_source_panel("clean image x₀", x0_src)
    fs.add_blend_panel("noise ε ~ N(0, I) (shown ÷3)", x0_src, eps_src, [0.0] * len(ts), [1 / 3] * len(ts))
    fs.add_blend_panel([f"noisy image x{sub(t)}" for t in ts], x0_src, eps_src,
                       [math.sqrt(ab[t]) for t in ts], [math.sqrt(1 - ab[t]) for t in ts], alt="noisy image x_t")
    for name, vals in weight_metrics(schedule, ts).items():
        fs.add_metric(name, vals)
    var_x0 = float(x0.var())
    fs.add_metric("Var(xₜ) = ᾱₜ·Var(x₀) + 1 − ᾱₜ", [f"{marginal_variance(ab[t], var_x0):.3f}" for t in ts],
                  help=f"This image has Var(x₀) = {var_x0:.3f}: the variance reaches 1 only as ᾱₜ → 0.")
    fs.add_line([f"x{sub(t)} = {math.sqrt(ab[t]):.4f}·x₀ + {math.sqrt(1 - ab[t]):.4f}·ε      "
                 f"(ᾱ{sub(t)} = {ab[t]:.5f},  β{sub(t)} = {schedule.betas[t]:.5f})" for t in ts])
    grid = np.arange(schedule.num_steps)
    fs.add_line_chart("How much image and how much noise at t", grid,
                      [{"name": "signal weight √ᾱₜ", "y": np.sqrt(ab), "color": PALETTE[0]},
                       {"name": "noise weight √(1−ᾱₜ)", "y": np.sqrt(1 - ab), "color": PALETTE[1]}],
                      xlabel="timestep t", ylabel="weight", y_range=(0.0, 1.05))
    edges = np.linspace(-4, 4, 81)
    normal = np.linspace(-4, 4, 161)
    fs.add_histograms("Pixel values: from the image's own histogram to a bell curve", edges,
                      density_histograms(frames, edges), xlabel="pixel value", ylabel="density",
                      name="noisy image xₜ", color=PALETTE[0],
                      static={"name": "clean image x₀", "color": PALETTE[2],
                              "counts": density_histograms([x0], edges)[0]},
                      reference={"name": "N(0, 1)", "color": PALETTE[3], "x": normal,
                                 "y": np.exp(-normal ** 2 / 2) / math.sqrt(2 * math.pi)})
    return fs


def schedules_frameset(schedules: dict[str, NoiseSchedule], x0: np.ndarray, noise: np.ndarray, ts: list[int],
                       label: str, log_snr_chart: bool = False) -> FrameSet:
    """The same image and noise under several schedules at each t: only ᾱ_t differs."""
    fs = FrameSet(label=label, values=list(ts))
    x0_src, eps_src = fs.add_source(png_data_uri(x0)), fs.add_source(noise_png_uri(quantise_noise(noise)))
    for name, s in schedules.items():
        ab = s.alpha_bars
        fs.add_blend_panel([f"{name}: ᾱ = {ab[t]:.4f}, SNR = {snr_db(s, t):+.1f} dB" if ab[t] >= 0.01 else
                            f"{name}: ᾱ = {ab[t]:.2e}, SNR = {snr_db(s, t):+.1f} dB" for t in ts], x0_src, eps_src,
                           [math.sqrt(ab[t]) for t in ts], [math.sqrt(1 - ab[t]) for t in ts],
                           alt=f"x_t under {name}")
    if log_snr_chart:
        colours = schedule_colours(schedules)
        fs.add_line_chart("log-SNR of each schedule at t", np.arange(len(next(iter(schedules.values())).betas)),
                          [{"name": n, "y": s.log_snr, "color": colours[n]} for n, s in schedules.items()],
                          xlabel="timestep t", ylabel="log SNR", y_range=(-15.0, 12.0))
    return fs


def resolution_frameset(schedule: NoiseSchedule, pictures: dict[int, tuple[np.ndarray, np.ndarray]],
                        ts: list[int], base: int, label: str) -> FrameSet:
    """One picture at several sizes (side -> (x0, noise)) noised to the same t, and the log-SNR each keeps
    at the scale of the whole object: averaging a k x k block divides the noise variance by k²
    (Hoogeboom et al. 2023, 'simple diffusion', Sec. 3)."""
    fs = FrameSet(label=label, values=list(ts), pixelated=True)  # show the small ones' real pixels
    a, b = [math.sqrt(schedule.alpha_bars[t]) for t in ts], [math.sqrt(1 - schedule.alpha_bars[t]) for t in ts]
    for side, (x0, noise) in pictures.items():
        fs.add_blend_panel(f"{side}×{side} pixels at t = {{v}}", fs.add_source(png_data_uri(x0)),
                           fs.add_source(noise_png_uri(quantise_noise(noise))), a, b, alt=f"{side} pixels")
    grid = np.arange(schedule.num_steps)
    fs.add_line_chart("Bigger images keep their shapes longer under the same schedule", grid,
                      [{"name": f"{side}×{side} image", "y": schedule.log_snr + 2 * math.log(side / base),
                        "color": PALETTE[i % len(PALETTE)]} for i, side in enumerate(pictures)],
                      xlabel="timestep t", ylabel=f"log-SNR at the {base}×{base} scale",
                      y_range=(-12.0, 14.0))
    return fs
