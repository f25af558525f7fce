"""The forward (noising) process of DDPM, Ho et al. 2020.

    q(x_t | x_0)      = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)      (Eq. 4)
    q(x_t | x_{t-1})  = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)             (Eq. 2)
    q(x_{t-1} | x_t, x_0) = N(mu_tilde, beta_tilde I)                      (Eq. 6-7)

Schedules are NumPy float64; step functions take and return torch tensors of
any float dtype, shape and device, computing the coefficients in float64 and
casting once, so a float32 image is not rounded through float32 cumprods.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .schedules import NoiseSchedule
from ..lessons.schedule_facts import snr_db
from ..lessons.framesets import FrameSet, density_histograms, noise_png_uri, quantise_noise


def _coef(values: np.ndarray, t, like: torch.Tensor) -> torch.Tensor:
    """values[t] as a tensor that broadcasts against `like` (batch-first when t is 1-D)."""
    if isinstance(t, torch.Tensor) and t.ndim == 1:
        idx = t.detach().cpu().long().numpy()
        c = torch.as_tensor(values[idx], dtype=like.dtype, device=like.device)
        return c.view(-1, *([1] * (like.ndim - 1)))
    return torch.as_tensor(float(values[int(t)]), dtype=like.dtype, device=like.device)


def q_sample(schedule: NoiseSchedule, x0: torch.Tensor, t, noise: torch.Tensor) -> torch.Tensor:
    """Closed-form sample of x_t ~ q(x_t | x_0) (Ho et al. 2020, Eq. 4).

    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.
    `t` is an int or a 1-D integer tensor with one entry per batch element.
    """
    ab = schedule.alpha_bars
    return _coef(np.sqrt(ab), t, x0) * x0 + _coef(np.sqrt(1.0 - ab), t, x0) * noise


def q_step(schedule: NoiseSchedule, x_prev: torch.Tensor, t: int, noise: torch.Tensor) -> torch.Tensor:
    """One Markov step x_{t-1} -> x_t of q(x_t | x_{t-1}) (Ho et al. 2020, Eq. 2).

    x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps. Applied t+1 times from x_0
    it has the same distribution as q_sample at t (Eq. 4): see `markov_chain`.
    """
    b = schedule.betas
    return _coef(np.sqrt(1.0 - b), t, x_prev) * x_prev + _coef(np.sqrt(b), t, x_prev) * noise


def markov_chain(schedule: NoiseSchedule, x0: torch.Tensor, t: int, generator=None) -> torch.Tensor:
    """x_t reached by stepping q(x_s | x_{s-1}) for s = 0 ... t, fresh noise each step."""
    x = x0
    for s in range(int(t) + 1):
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x = q_step(schedule, x, s, noise)
    return x


def posterior_variance(schedule: NoiseSchedule) -> np.ndarray:
    """beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t (Ho et al. 2020, Eq. 7).

    With alpha_bar_{-1} = 1, beta_tilde_0 = 0: at the last step x_0 is fixed.
    """
    ab = schedule.alpha_bars
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    return (1.0 - ab_prev) / (1.0 - ab) * schedule.betas


def posterior_mean_coefs(schedule: NoiseSchedule) -> tuple[np.ndarray, np.ndarray]:
    """The two weights of mu_tilde(x_t, x_0) = c0 * x_0 + ct * x_t (Ho et al. 2020, Eq. 7)."""
    ab = schedule.alpha_bars
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    c0 = np.sqrt(ab_prev) * schedule.betas / (1.0 - ab)
    ct = np.sqrt(schedule.alphas) * (1.0 - ab_prev) / (1.0 - ab)
    return c0, ct


def q_posterior(schedule: NoiseSchedule, x0: torch.Tensor, x_t: torch.Tensor, t):
    """Mean and variance of q(x_{t-1} | x_t, x_0) (Ho et al. 2020, Eq. 6-7).

    Returns (mu_tilde, beta_tilde): the variance as a tensor broadcastable to x_t.
    """
    c0, ct = posterior_mean_coefs(schedule)
    mean = _coef(c0, t, x_t) * x0 + _coef(ct, t, x_t) * x_t
    var = _coef(posterior_variance(schedule), t, x_t)
    return mean, var


def evenly_spaced_timesteps(num_steps: int, n: int) -> list[int]:
    """n timesteps from 0 to T-1 inclusive, for filmstrips."""
    return sorted({int(round(v)) for v in np.linspace(0, num_steps - 1, n)})


def noised(schedule: NoiseSchedule, x0: np.ndarray, t: int, noise: np.ndarray) -> np.ndarray:
    """q_sample (Eq. 4) on NumPy arrays, which may be read-only (shared by every session through a cache)."""
    ab = schedule.alpha_bar_at(int(t))
    return (np.float32(math.sqrt(ab)) * x0 + np.float32(math.sqrt(1.0 - ab)) * noise).astype(np.float32, copy=False)


def marginal_variance(alpha_bar: float, var_x0: float) -> float:
    """Var(x_t) = alpha_bar Var(x_0) + (1 - alpha_bar), from Eq. 4 with noise independent of x_0.

    It is 1 at every t only when Var(x_0) = 1; any other variance moves towards 1 as alpha_bar
    falls. Song et al. 2021 call this process variance-preserving (VP) for that reason.
    """
    return float(alpha_bar) * float(var_x0) + 1.0 - float(alpha_bar)


CHAIN_SAMPLES = 20_000


def chain_and_jump_samples(schedule: NoiseSchedule, x0_value: float, t: int, n: int = CHAIN_SAMPLES,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n draws of x_t for one pixel: by t+1 Markov steps (Eq. 2) and by one closed-form jump (Eq. 4)."""
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.full((n,), float(x0_value), dtype=torch.float64)
    chain = markov_chain(schedule, x0, t, generator=gen)
    jump = q_sample(schedule, x0, t, torch.randn(n, generator=gen, dtype=torch.float64))
    return chain.numpy(), jump.numpy()


# ------------------------------------------------------------------ frames for scrubbing in the browser

_SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def sub(n) -> str:
    """An integer as Unicode subscript digits (x₂₅₀), for equations written as plain text."""
    return str(n).translate(_SUB)


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
    from ..lessons.figures import PALETTE
    from ..lessons.images import png_data_uri

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
    from ..lessons.figures import schedule_colours
    from ..lessons.images import png_data_uri

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
    from ..lessons.figures import PALETTE
    from ..lessons.images import png_data_uri

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
