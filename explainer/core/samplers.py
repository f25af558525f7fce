"""Reverse-process update rules (DDPM, DDIM, DPM-Solver++(2M)), timestep spacings and a sampling loop.

One function per update rule, named after its paper and equation:

    predict_x0     x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)   (DDPM Eq. 15)
    ddpm_step      ancestral step with sigma_t^2 = beta_tilde_t or beta_t           (DDPM Eq. 11, 6-7)
    ddim_step      generalised step with eta in [0, 1]                              (DDIM Eq. 12, 16)
    dpmpp_2m_step  second-order multistep ODE solver in lambda = log(alpha/sigma)   (Lu et al. 2022, Alg. 2)

Index convention: t = 0 ... T-1 as in `explainer.schedules`; `t_prev = -1`
stands for the clean end, where alpha_bar = 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from .schedules import NoiseSchedule

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

SAMPLERS = ("ddim", "ddpm", "dpm++2m")
SAMPLER_LABELS = {"ddim": "DDIM", "ddpm": "DDPM", "dpm++2m": "DPM-Solver++(2M)"}


def _scalar(value: float, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


def predict_x0(schedule: NoiseSchedule, x_t: torch.Tensor, t: int, eps: torch.Tensor) -> torch.Tensor:
    """Invert the forward process with a noise estimate (Ho et al. 2020, Eq. 15 / Eq. 4 solved for x_0)."""
    ab = schedule.alpha_bar_at(int(t))
    return (x_t - _scalar(np.sqrt(1.0 - ab), x_t) * eps) / _scalar(np.sqrt(ab), x_t)


def ddpm_step(schedule: NoiseSchedule, x_t: torch.Tensor, t: int, eps: torch.Tensor,
              noise: torch.Tensor | None, variance: str = "fixed_small", t_prev: int | None = None,
              clip_x0: bool = False) -> torch.Tensor:
    """One ancestral step x_t -> x_{t_prev} of DDPM (Ho et al. 2020, Algorithm 2, Eq. 11).

    mean    = 1/sqrt(alpha_t) * (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps)      (Eq. 11)
    sigma^2 = beta_tilde_t = (1 - alpha_bar_prev)/(1 - alpha_bar_t) * beta_t  ("fixed_small", Eq. 7)
            or beta_t                                                       ("fixed_large")

    With skipped steps (t_prev < t - 1) beta_t becomes 1 - alpha_bar_t / alpha_bar_prev,
    the beta of the two-step chain, as in diffusers' DDPMScheduler. With `clip_x0`
    the mean is the posterior mean (Eq. 7) around x0_hat clipped to [-1, 1],
    which equals Eq. 11 when nothing is clipped. No noise is added when t_prev = -1.
    """
    t = int(t)
    t_prev = t - 1 if t_prev is None else int(t_prev)
    ab_t, ab_prev = schedule.alpha_bar_at(t), schedule.alpha_bar_at(t_prev)
    alpha_t = ab_t / ab_prev
    beta_t = 1.0 - alpha_t
    if clip_x0:
        x0_hat = predict_x0(schedule, x_t, t, eps).clamp(-1.0, 1.0)
        c0 = np.sqrt(ab_prev) * beta_t / (1.0 - ab_t)
        ct = np.sqrt(alpha_t) * (1.0 - ab_prev) / (1.0 - ab_t)
        mean = _scalar(c0, x_t) * x0_hat + _scalar(ct, x_t) * x_t
    else:
        mean = (x_t - _scalar(beta_t / np.sqrt(1.0 - ab_t), x_t) * eps) / _scalar(np.sqrt(alpha_t), x_t)
    if t_prev < 0 or noise is None:
        return mean
    if variance == "fixed_small":
        var = (1.0 - ab_prev) / (1.0 - ab_t) * beta_t
    elif variance == "fixed_large":
        var = beta_t
    else:
        raise ValueError(f"variance must be 'fixed_small' or 'fixed_large', not {variance!r}")
    return mean + _scalar(np.sqrt(var), x_t) * noise


def ddim_sigma(schedule: NoiseSchedule, t: int, t_prev: int, eta: float) -> float:
    """sigma_t(eta) = eta * sqrt((1 - ab_prev)/(1 - ab_t)) * sqrt(1 - ab_t/ab_prev) (Song et al. 2021, Eq. 16).

    eta = 1 gives the DDPM posterior standard deviation sqrt(beta_tilde); eta = 0 the deterministic DDIM.
    """
    ab_t, ab_prev = schedule.alpha_bar_at(int(t)), schedule.alpha_bar_at(int(t_prev))
    return float(eta * np.sqrt((1.0 - ab_prev) / (1.0 - ab_t) * (1.0 - ab_t / ab_prev)))


def ddim_step(schedule: NoiseSchedule, x_t: torch.Tensor, t: int, t_prev: int, eps: torch.Tensor,
              eta: float = 0.0, noise: torch.Tensor | None = None, clip_x0: bool = False) -> torch.Tensor:
    """One generalised step x_t -> x_{t_prev} of DDIM (Song, Meng & Ermon 2021, Eq. 12).

    x_prev = sqrt(ab_prev) * x0_hat                      "predicted x_0"
           + sqrt(1 - ab_prev - sigma_t^2) * eps          "direction pointing to x_t"
           + sigma_t * noise                              "random noise"
    with sigma_t from Eq. 16. `noise` is required when eta > 0. With `clip_x0`, x0_hat is clipped to
    [-1, 1] and eps re-derived from it, so both terms describe the same x_t.
    """
    ab_t, ab_prev = schedule.alpha_bar_at(int(t)), schedule.alpha_bar_at(int(t_prev))
    x0_hat = predict_x0(schedule, x_t, t, eps)
    if clip_x0:
        # Clip, then re-derive the noise that x_t and the clipped x0_hat imply (as in Nichol &
        # Dhariwal's ddim_sample). Keeping the raw eps would mix two inconsistent estimates; with
        # guidance at the noisiest steps, where 1/sqrt(alpha_bar_t) is in the hundreds, that drives
        # the deterministic path off the data.
        x0_hat = x0_hat.clamp(-1.0, 1.0)
        eps = (x_t - _scalar(np.sqrt(ab_t), x_t) * x0_hat) / _scalar(np.sqrt(1.0 - ab_t), x_t)
    sigma = ddim_sigma(schedule, t, t_prev, eta)
    dir_xt = _scalar(np.sqrt(max(1.0 - ab_prev - sigma**2, 0.0)), x_t) * eps
    x_prev = _scalar(np.sqrt(ab_prev), x_t) * x0_hat + dir_xt
    if sigma > 0:
        if noise is None:
            raise ValueError("ddim_step with eta > 0 needs noise")
        x_prev = x_prev + _scalar(sigma, x_t) * noise
    return x_prev


def dpm_lambda(schedule: NoiseSchedule, t: int) -> float:
    """lambda_t = log(alpha_t / sigma_t), half the log-SNR (Lu et al. 2022, Sec. 2).

    In DPM-Solver's notation alpha_t = sqrt(alpha_bar_t) and sigma_t = sqrt(1 - alpha_bar_t);
    lambda rises from about -10 (pure noise) to +inf at the clean end t = -1.
    """
    if int(t) < 0:
        return float("inf")
    ab = schedule.alpha_bar_at(int(t))
    return float(0.5 * (np.log(ab) - np.log1p(-ab)))


def dpmpp_2m_coefficients(schedule: NoiseSchedule, t: int, t_prev: int,
                          t_last: int | None = None) -> dict[str, float]:
    """The numbers of one DPM-Solver++(2M) step: x_prev = c_xt x_t + c_x0 x0_hat + c_x0_last x0_hat_last.

    With h = lambda_prev - lambda_t, h_last = lambda_t - lambda_last and r = h_last / h
    (Lu et al. 2022, Algorithm 2):

        D      = (1 + 1/(2r)) x0_hat - 1/(2r) x0_hat_last        (first order: D = x0_hat)
        x_prev = sigma_prev/sigma_t x_t - alpha_prev (e^{-h} - 1) D

    so c_xt = sigma_prev/sigma_t, c_x0 = alpha_prev (1 - e^{-h}) (1 + 1/(2r)) and
    c_x0_last = -alpha_prev (1 - e^{-h}) / (2r). `t_last = None` is the first-order step, which
    is DDIM's (Lu et al. 2022, Sec. 4). At t_prev = -1 (sigma = 0, lambda = inf) the step is
    first order whatever t_last is and x_prev = x0_hat.
    """
    t, t_prev = int(t), int(t_prev)
    ab_t = schedule.alpha_bar_at(t)
    out = {"alpha_bar_t": ab_t, "alpha_bar_prev": schedule.alpha_bar_at(t_prev),
           "lambda_t": dpm_lambda(schedule, t), "lambda_prev": dpm_lambda(schedule, t_prev),
           "h": float("inf"), "r": float("nan"), "c_xt": 0.0, "c_x0": 1.0, "c_x0_last": 0.0}
    if t_prev < 0:
        return out
    ab_prev = out["alpha_bar_prev"]
    alpha_prev, sigma_prev, sigma_t = np.sqrt(ab_prev), np.sqrt(1.0 - ab_prev), np.sqrt(1.0 - ab_t)
    h = out["lambda_prev"] - out["lambda_t"]
    c_d = alpha_prev * -np.expm1(-h)  # alpha_prev (1 - e^{-h}), without cancellation at small h
    out.update(h=h, c_xt=sigma_prev / sigma_t, c_x0=c_d)
    if t_last is not None:
        r = (out["lambda_t"] - dpm_lambda(schedule, int(t_last))) / h
        out.update(r=r, c_x0=c_d * (1.0 + 0.5 / r), c_x0_last=-c_d * 0.5 / r)
    return {k: float(v) for k, v in out.items()}


def dpmpp_2m_step(schedule: NoiseSchedule, x_t: torch.Tensor, t: int, t_prev: int, x0_hat: torch.Tensor,
                  prev: tuple[int, torch.Tensor] | None = None) -> torch.Tensor:
    """One step x_t -> x_{t_prev} of DPM-Solver++(2M) (Lu et al. 2022, arXiv 2211.01095, Algorithm 2).

    It solves the probability-flow ODE in the data-prediction form, in lambda = log(alpha/sigma)
    (alpha = sqrt(alpha_bar), sigma = sqrt(1 - alpha_bar)). With h = lambda_{t_prev} - lambda_t:

        first order (prev = None):  x_prev = sigma_prev/sigma_t x_t - alpha_prev (e^{-h} - 1) x0_hat
        second order, prev = (t_last, x0_hat_last), r = (lambda_t - lambda_{t_last}) / h:
            D      = (1 + 1/(2r)) x0_hat - 1/(2r) x0_hat_last
            x_prev = sigma_prev/sigma_t x_t - alpha_prev (e^{-h} - 1) D

    The first-order step is exactly DDIM (eta = 0). The second order extrapolates x0_hat
    linearly in lambda from the previous step's estimate: one network call per step, no hidden
    state (the caller passes `prev`). At t_prev = -1 the step is first order and returns x0_hat,
    as diffusers' `lower_order_final` with `final_sigmas_type="zero"`.

    The last lambda jump of the cosine schedule: beta is clipped at 0.999 at t = T-1, so lambda
    falls from -6.5 at t = 998 to -9.9 at t = 999 (alpha = 5e-5), more than the lambda step of a
    whole 20-step run. The solver itself takes it in its stride: its coefficients are bounded for
    any h (sigma_prev/sigma_t <= 1, alpha_prev (1 - e^{-h}) <= alpha_prev), the step out of T-1 is
    first order, and on the next step the jump makes r = h_last/h large (about 10 at 20 steps),
    which shrinks the extrapolation 1/(2r) (x0_hat - x0_hat_last). What the jump breaks is x0_hat
    at T-1: (x_t - sigma eps_hat)/alpha multiplies the network's error by 1/alpha = 2e4. diffusers'
    `lambda_min_clipped` (e.g. -5.1) avoids it by starting lower. We keep t = T-1 as the start, so
    that every sampler shares x_T and the trailing timesteps, and rely on `clip_x0` (the model
    card's setting), which bounds x0_hat: with it, starting at T-1 or at lambda >= -5.1 measured
    the same (300 guided digits, 10-25 steps: 99.3-99.7 % accuracy either way); without it,
    starting at T-1 ruins DDIM and this solver alike. Timesteps clipped as diffusers does can be passed to
    sample_loop unchanged (tested against diffusers).
    """
    c = dpmpp_2m_coefficients(schedule, t, t_prev, None if prev is None else prev[0])
    x_prev = _scalar(c["c_xt"], x_t) * x_t + _scalar(c["c_x0"], x_t) * x0_hat
    if prev is not None and c["c_x0_last"] != 0.0:
        x_prev = x_prev + _scalar(c["c_x0_last"], x_t) * prev[1]
    return x_prev


def make_timesteps(num_train_steps: int, num_steps: int, spacing: str = "leading") -> np.ndarray:
    """Descending int64 timesteps to visit, as diffusers' `timestep_spacing` (steps_offset = 0).

    leading:  arange(0, n) * (T // n), reversed            (DDIM paper, Stable Diffusion)
    trailing: round(arange(T, 0, -T/n)) - 1                (Lin et al. 2024, Table 2: starts at T-1)
    linspace: round(linspace(0, T-1, n)), reversed         (includes both ends)
    """
    T, n = int(num_train_steps), int(num_steps)
    if not 1 <= n <= T:
        raise ValueError(f"num_steps must be between 1 and {T}, got {n}")
    if spacing == "leading":
        ts = (np.arange(0, n) * (T // n)).round()[::-1]
    elif spacing == "trailing":
        ts = np.round(np.arange(T, 0, -T / n)) - 1
    elif spacing == "linspace":
        ts = np.linspace(0, T - 1, n).round()[::-1]
    else:
        raise ValueError(f"spacing must be 'leading', 'trailing' or 'linspace', not {spacing!r}")
    return ts.astype(np.int64).copy()


def cfg_eps(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans 2022): eps_u + s * (eps_c - eps_u).

    The paper writes (1 + w) * eps_c - w * eps_u (Eq. 6); that is this form with
    s = 1 + w. s = 1 is plain conditional sampling, s = 0 unconditional.
    """
    return eps_uncond + scale * (eps_cond - eps_uncond)


def guided_eps_model(eps_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
                     labels: torch.Tensor, null_label: int, scale: float) -> EpsModel:
    """Wrap a class-conditional eps_fn(x, t, labels) as eps_model(x, t) with guidance `scale`.

    Conditional and unconditional passes share one batch, which costs one
    forward call of twice the batch. Scale 1 (or no label) skips the second pass.
    """
    labels = labels.long()
    null = torch.full_like(labels, null_label)
    unconditional = bool((labels == null_label).all())

    def eps_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        lab = labels.to(x_t.device)
        if unconditional or scale == 1.0:
            return eps_fn(x_t, t, lab)
        eps_c, eps_u = eps_fn(torch.cat([x_t, x_t]), torch.cat([t, t]),
                              torch.cat([lab, null.to(x_t.device)])).chunk(2)
        # Rows without a label (null) have eps_c == eps_u already.
        return cfg_eps(eps_u, eps_c, scale)

    return eps_model


@dataclass
class StepRecord:
    """What one reverse step saw and did: x_t in, the model's eps_hat, x0_hat, x_prev out."""

    index: int
    t: int
    t_prev: int
    x_t: torch.Tensor
    eps_hat: torch.Tensor
    x0_hat: torch.Tensor
    x_prev: torch.Tensor


def sample_loop(eps_model: EpsModel, schedule: NoiseSchedule, x_T: torch.Tensor,
                timesteps: np.ndarray, sampler: str = "ddim", eta: float = 0.0,
                variance: str = "fixed_small", clip_x0: bool = False,
                generator: torch.Generator | None = None) -> Iterator[StepRecord]:
    """Run the reverse process from x_T, yielding a StepRecord per step.

    `eps_model(x_t, t)` is any noise predictor (t a 1-D long tensor, one per row).
    `timesteps` is descending (see make_timesteps); each step goes to the next one,
    the last to t_prev = -1 (clean). Fresh noise comes from `generator` on the CPU
    and is then moved to x_T's device, so a seed gives the same noise on any device.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, not {sampler!r}")
    ts = [int(t) for t in timesteps]
    x = x_T
    prev = None  # DPM-Solver++(2M): (t, x0_hat) of the step before
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        with torch.inference_mode():
            t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
            eps = eps_model(x, t_batch)
            x0_hat = predict_x0(schedule, x, t, eps)
            needs_noise = t_prev >= 0 and (sampler == "ddpm" or (sampler == "ddim" and eta > 0))
            noise = (torch.randn(x.shape, generator=generator, dtype=torch.float32).to(x.device, x.dtype)
                     if needs_noise else None)
            if sampler == "ddpm":
                x_prev = ddpm_step(schedule, x, t, eps, noise, variance=variance, t_prev=t_prev,
                                   clip_x0=clip_x0)
            elif sampler == "dpm++2m":
                if clip_x0:
                    # Static thresholding: diffusers' `thresholding=True, sample_max_value=1.0`.
                    x0_hat = x0_hat.clamp(-1.0, 1.0)
                x_prev = dpmpp_2m_step(schedule, x, t, t_prev, x0_hat, prev)
                prev = (t, x0_hat)
            else:
                x_prev = ddim_step(schedule, x, t, t_prev, eps, eta=eta, noise=noise, clip_x0=clip_x0)
        yield StepRecord(index=i, t=t, t_prev=t_prev, x_t=x, eps_hat=eps,
                         x0_hat=x0_hat.clamp(-1, 1) if clip_x0 else x0_hat, x_prev=x_prev)
        x = x_prev


def sample(eps_model: EpsModel, schedule: NoiseSchedule, x_T: torch.Tensor, timesteps: np.ndarray,
           **kwargs) -> torch.Tensor:
    """The final x_0 of sample_loop, keeping no trajectory."""
    x = x_T
    for rec in sample_loop(eps_model, schedule, x_T, timesteps, **kwargs):
        x = rec.x_prev
    return x


def step_coefficients(schedule: NoiseSchedule, t: int, t_prev: int, sampler: str, eta: float = 0.0,
                      variance: str = "fixed_small", t_last: int | None = None) -> dict[str, float]:
    """The numbers in one update, for display: x_prev = c_x0 * x0_hat + c_other * (eps or x_t) + sigma * z.

    DDIM (Eq. 12): c_x0 = sqrt(ab_prev), c_eps = sqrt(1 - ab_prev - sigma^2).
    DDPM (Eq. 7, the posterior mean around x0_hat, equal to Eq. 11):
    c_x0 = sqrt(ab_prev) beta / (1 - ab_t), c_xt = sqrt(alpha) (1 - ab_prev) / (1 - ab_t).
    DPM-Solver++(2M): c_xt, c_x0 and c_x0_last (on the previous step's x0_hat, visited at
    `t_last`; None on the first step) of `dpmpp_2m_coefficients`; sigma = 0.
    """
    if sampler == "dpm++2m":
        return {**dpmpp_2m_coefficients(schedule, t, t_prev, t_last), "sigma": 0.0}
    ab_t, ab_prev = schedule.alpha_bar_at(int(t)), schedule.alpha_bar_at(int(t_prev))
    out = {"alpha_bar_t": ab_t, "alpha_bar_prev": ab_prev}
    if sampler == "ddim":
        sigma = ddim_sigma(schedule, t, t_prev, eta)
        out.update(c_x0=np.sqrt(ab_prev), c_eps=np.sqrt(max(1.0 - ab_prev - sigma**2, 0.0)), sigma=sigma)
    else:
        alpha = ab_t / ab_prev
        beta = 1.0 - alpha
        var = (1.0 - ab_prev) / (1.0 - ab_t) * beta if variance == "fixed_small" else beta
        out.update(c_x0=np.sqrt(ab_prev) * beta / (1.0 - ab_t), c_xt=np.sqrt(alpha) * (1.0 - ab_prev) / (1.0 - ab_t),
                   sigma=float(np.sqrt(var)) if t_prev >= 0 else 0.0, beta=beta)
    return {k: float(v) for k, v in out.items()}


def _tex_number(v: float) -> str:
    """A coefficient for LaTeX: four significant digits, powers of ten written out."""
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}" if abs(v) >= 1 else f"{v:.4f}"
    mantissa, exponent = f"{v:.3e}".split("e")
    return rf"{mantissa}\times 10^{{{int(exponent)}}}"


def dpmpp_2m_latex(schedule: NoiseSchedule, t: int, t_prev: int, t_last: int | None = None) -> list[str]:
    """LaTeX lines of one DPM-Solver++(2M) update, general and with this step's numbers filled in.

    `t_last` is the timestep visited before t (None on the first step). The first step and the
    step to the clean end (t_prev = -1) are first order, as `dpmpp_2m_step` does them.
    """
    t, t_prev = int(t), int(t_prev)
    first_order = t_last is None or t_prev < 0
    c = dpmpp_2m_coefficients(schedule, t, t_prev, None if first_order else t_last)
    update = (r"x_{t'} = \frac{\sigma_{t'}}{\sigma_t}\,x_t + \alpha_{t'}\,(1 - e^{-h})\,D"
              r"\quad\text{(DPM-Solver++(2M), Lu et al. 2022, Alg. 2)}")
    terms = (r"D = \Bigl(1 + \frac{1}{2r}\Bigr)\hat x_0 - \frac{1}{2r}\,\hat x_0^{\mathrm{last}},\quad "
             r"h = \lambda_{t'} - \lambda_t,\quad r = \frac{\lambda_t - \lambda_{\mathrm{last}}}{h},\quad "
             r"\alpha = \sqrt{\bar\alpha},\ \sigma = \sqrt{1-\bar\alpha}")
    general = [update, terms]
    lam = rf"\lambda = \log\frac{{\alpha}}{{\sigma}}:\quad \lambda_{{{t}}} = {c['lambda_t']:.3f}"
    if t_prev < 0:
        return [*general, lam + r",\ \lambda_{-1} = \infty\ (\sigma = 0)",
                rf"x_{{-1}} = \hat x_0^{{({t})}}\quad\text{{(last step: first order, returns }}\hat x_0)"]
    lam += rf",\ \lambda_{{{t_prev}}} = {c['lambda_prev']:.3f},\ h = {c['h']:.3f}"
    filled = rf"x_{{{t_prev}}} = {_tex_number(c['c_xt'])}\,x_{{{t}}} + {_tex_number(c['c_x0'])}\,\hat x_0^{{({t})}}"
    if first_order:
        return [*general, lam, filled + r"\quad\text{(first step: first order, } D = \hat x_0 \text{, as DDIM)}"]
    lam += rf",\ \lambda_{{{int(t_last)}}} = {dpm_lambda(schedule, int(t_last)):.3f},\ r = {c['r']:.3f}"
    sign = "-" if c["c_x0_last"] < 0 else "+"
    filled += rf" {sign} {_tex_number(abs(c['c_x0_last']))}\,\hat x_0^{{({int(t_last)})}}"
    return [*general, lam, filled]
