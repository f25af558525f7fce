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

from .schedules import NoiseSchedule, evenly_spaced


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


def posterior_coefficients(alpha_bar, alpha_bar_prev, beta=None):
    """The numbers of q(x_{t-1} | x_t, x_0) = N(c0 x_0 + ct x_t, beta_tilde) (Ho et al. 2020, Eq. 6-7):

        c0         = sqrt(alpha_bar_prev) beta / (1 - alpha_bar)
        ct         = sqrt(1 - beta) (1 - alpha_bar_prev) / (1 - alpha_bar)
        beta_tilde = (1 - alpha_bar_prev) / (1 - alpha_bar) beta

    for alpha_bar = alpha_bar_t and alpha_bar_prev = alpha_bar_{t-1} (numbers or arrays). beta defaults to
    1 - alpha_bar / alpha_bar_prev, the beta of the step between the two levels, which is also the
    right one when a sampler skips steps (as diffusers' DDPMScheduler); a schedule's own betas may be
    passed for adjacent steps. Returns (c0, ct, beta_tilde).
    """
    if beta is None:
        beta = 1.0 - alpha_bar / alpha_bar_prev
    c0 = np.sqrt(alpha_bar_prev) * beta / (1.0 - alpha_bar)
    ct = np.sqrt(1.0 - beta) * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar)
    return c0, ct, (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * beta


def posterior_variance(schedule: NoiseSchedule) -> np.ndarray:
    """beta_tilde_t of `posterior_coefficients` at every t; with alpha_bar_{-1} = 1, beta_tilde_0 = 0: at the
    last step x_0 is fixed."""
    return posterior_coefficients(schedule.alpha_bars, schedule.alpha_bars_prev, schedule.betas)[2]


def posterior_mean_coefs(schedule: NoiseSchedule) -> tuple[np.ndarray, np.ndarray]:
    """The two weights of mu_tilde(x_t, x_0) = c0 * x_0 + ct * x_t at every t (`posterior_coefficients`)."""
    c0, ct, _ = posterior_coefficients(schedule.alpha_bars, schedule.alpha_bars_prev, schedule.betas)
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
    return evenly_spaced(0, num_steps - 1, n)


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
