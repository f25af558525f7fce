"""Training objectives: what the network predicts, and which noise levels the loss cares about.

One prediction, four readings. With x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps
(Ho et al. 2020, Eq. 4), a network that predicts any one of

    eps     the noise that was added                       (Ho et al. 2020, Eq. 14)
    x0      the clean image, x0 = (x_t - sqrt(1-ab) eps) / sqrt(ab)        (Eq. 15)
    score   grad_x log q(x_t | x0) = -eps / sqrt(1 - ab)   (Vincent 2011; Song et al. 2021's target)
    v       v = sqrt(ab) eps - sqrt(1 - ab) x0             (Salimans & Ho 2022, progressive distillation)

predicts all four: given x_t and alpha_bar, each is an affine function of any other
(`to_eps`, `from_eps`, `convert`). Only the loss changes: the squared error of
each reading is the eps error times a factor that depends on the noise level alone
(`error_factor`), so choosing a target is choosing a weighting over noise levels.

Weightings (Kingma & Gao 2023, "Understanding diffusion objectives as the ELBO with
simple data augmentation"): every objective is an expectation over t of
w_t * ||eps - eps_hat||^2. With t uniform on 0 ... T-1, as in training:

    L_simple (eps-MSE)   w_t = 1                                      (Ho et al. 2020, Eq. 14)
    x0-MSE               w_t = 1 / SNR_t
    v-MSE                w_t = 1 + 1 / SNR_t
    ELBO                 w_t = beta_t^2 / (2 sigma_t^2 alpha_t (1 - alpha_bar_t))   (Ho et al. 2020, Eq. 12)
                             = (SNR_{t-1} / SNR_t - 1) / 2  for sigma_t^2 = beta_tilde_t (Kingma et al. 2021)

Kingma & Gao write the same losses as (1/2) E[w(lambda) (-d lambda/dt) ||eps - eps_hat||^2]
over log-SNR lambda; `kingma_gao_weighting` turns w_t into their w(lambda). For the
cosine schedule it gives their figures: w = sech(lambda/2) for eps-MSE, e^(-lambda/2)
for v-MSE, and 1 for the ELBO (each up to a constant factor).

Index convention as everywhere in `explainer`: t = 0 ... T-1, alpha_bars[t]; t = -1 is
the clean end (alpha_bar = 1). Arrays may be NumPy or torch: the arithmetic is the same.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .forward import q_sample
from .schedules import NoiseSchedule

PARAMETERISATIONS = ("eps", "x0", "score", "v")
OBJECTIVES = {
    "elbo": "ELBO (σ² = β̃)",
    "eps": "L_simple (ε-MSE)",
    "x0": "x₀-MSE",
    "v": "v-MSE",
}
EpsFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t, t, labels) -> eps_hat


# ------------------------------------------------------------------ one prediction, four readings

def to_eps(kind: str, pred, x_t, alpha_bar):
    """The noise eps that a prediction of `kind` stands for, at x_t with this alpha_bar.

    eps from x0:    eps = (x_t - sqrt(ab) x0) / sqrt(1 - ab)        (Ho et al. 2020, Eq. 4 solved for eps)
    eps from score: eps = -sqrt(1 - ab) score
    eps from v:     eps = sqrt(1 - ab) x_t + sqrt(ab) v             (Salimans & Ho 2022)
    """
    ab = alpha_bar
    if kind == "eps":
        return pred
    if kind == "x0":
        return (x_t - ab ** 0.5 * pred) / (1 - ab) ** 0.5
    if kind == "score":
        return -((1 - ab) ** 0.5) * pred
    if kind == "v":
        return (1 - ab) ** 0.5 * x_t + ab ** 0.5 * pred
    raise ValueError(f"kind must be one of {PARAMETERISATIONS}, not {kind!r}")


def from_eps(kind: str, eps, x_t, alpha_bar):
    """The reading `kind` of a noise estimate eps at x_t.

    x0    = (x_t - sqrt(1 - ab) eps) / sqrt(ab)        (Ho et al. 2020, Eq. 15)
    score = -eps / sqrt(1 - ab)                         (the score of q(x_t | x0); Song et al. 2021)
    v     = sqrt(ab) eps - sqrt(1 - ab) x0
          = (eps - sqrt(1 - ab) x_t) / sqrt(ab)         (Salimans & Ho 2022)
    """
    ab = alpha_bar
    if kind == "eps":
        return eps
    if kind == "x0":
        return (x_t - (1 - ab) ** 0.5 * eps) / ab ** 0.5
    if kind == "score":
        return -eps / (1 - ab) ** 0.5
    if kind == "v":
        x0 = (x_t - (1 - ab) ** 0.5 * eps) / ab ** 0.5
        return ab ** 0.5 * eps - (1 - ab) ** 0.5 * x0
    raise ValueError(f"kind must be one of {PARAMETERISATIONS}, not {kind!r}")


def convert(pred, src: str, dst: str, x_t, alpha_bar):
    """A prediction of kind `src` written as kind `dst` (both in PARAMETERISATIONS), through eps."""
    return from_eps(dst, to_eps(src, pred, x_t, alpha_bar), x_t, alpha_bar)


def four_readings(eps_hat, x_t, alpha_bar) -> dict:
    """eps_hat, x0_hat, score_hat and v_hat from one network output (one call, four names)."""
    return {k: from_eps(k, eps_hat, x_t, alpha_bar) for k in PARAMETERISATIONS}


def error_factor(kind: str, alpha_bar):
    """||r - r_hat||^2 / ||eps - eps_hat||^2 for the reading r = `kind`: a function of the noise level alone.

    x0: (1 - ab) / ab = 1 / SNR;  score: 1 / (1 - ab);  v: 1 / ab = 1 + 1 / SNR;  eps: 1.
    """
    ab = np.asarray(alpha_bar, dtype=np.float64)
    factors = {"eps": np.ones_like(ab), "x0": (1 - ab) / ab, "score": 1 / (1 - ab), "v": 1 / ab}
    if kind not in factors:
        raise ValueError(f"kind must be one of {PARAMETERISATIONS}, not {kind!r}")
    return factors[kind]


# ------------------------------------------------------------------ losses

def per_sample_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared difference over every dimension but the first (one number per image)."""
    return (a - b).pow(2).flatten(1).mean(1)


def simple_loss(eps: torch.Tensor, eps_hat: torch.Tensor) -> torch.Tensor:
    """L_simple = ||eps - eps_theta(x_t, t)||^2 per image, averaged over pixels (Ho et al. 2020, Eq. 14).

    The mean over pixels (not the sum) is what `explainer.train` minimises, as F.mse_loss does.
    """
    return per_sample_mse(eps, eps_hat)


@torch.inference_mode()
def training_step(eps_fn: EpsFn, schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor,
                  labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """One pass of Ho et al. 2020, Algorithm 1, without the gradient step: x_t, eps_hat and the loss.

    x0 (N, 1, H, W) real images, t (N,) timesteps, eps (N, 1, H, W) ~ N(0, I), labels (N,).
    """
    x_t = q_sample(schedule, x0, t, eps)
    eps_hat = eps_fn(x_t, t, labels)
    return {"x_t": x_t, "eps_hat": eps_hat, "loss": simple_loss(eps, eps_hat)}


def noise_for(seed: int, t: int, shape: tuple) -> np.ndarray:
    """The noise used at timestep t for the loss curve: fixed by (seed, t), independent of the other t."""
    return np.random.default_rng([int(seed), int(t)]).standard_normal(shape).astype(np.float32)


@torch.inference_mode()
def loss_per_t(eps_fn: EpsFn, schedule: NoiseSchedule, x0: np.ndarray, labels: np.ndarray, ts, seed: int = 0,
               batch: int = 500, device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """The eps-loss of a model at each t in ts over a set of images: mean and standard error over images.

    Each t uses its own noise, `noise_for(seed, t)`, so the value at one t does not depend on
    which other t are computed: a subset of the curve can be recomputed and compared exactly.
    Returns {"t", "eps_mse", "eps_mse_sem"}; the x0-, v- and score-MSE follow from `error_factor`.
    """
    x0 = np.asarray(x0, dtype=np.float32)
    shape = (len(x0), 1) + x0.shape[1:]
    x0_t = torch.from_numpy(x0).reshape(shape).to(device)
    lab = torch.as_tensor(np.asarray(labels), dtype=torch.long).to(device)
    means, sems = [], []
    for t in ts:
        eps = torch.from_numpy(noise_for(seed, t, shape)).to(device)
        t_batch = torch.full((len(x0),), int(t), dtype=torch.long, device=device)
        losses = []
        for i in range(0, len(x0), batch):
            out = training_step(eps_fn, schedule, x0_t[i:i + batch], t_batch[i:i + batch], eps[i:i + batch],
                                lab[i:i + batch])
            losses.append(out["loss"].double().cpu())
        per_image = torch.cat(losses).numpy()
        means.append(per_image.mean())
        sems.append(per_image.std(ddof=1) / np.sqrt(len(per_image)) if len(per_image) > 1 else 0.0)
    return {"t": np.asarray(list(ts), dtype=np.int64), "eps_mse": np.asarray(means), "eps_mse_sem": np.asarray(sems)}


@torch.inference_mode()
def loss_vs_wrong_time(eps_fn: EpsFn, schedule: NoiseSchedule, x_t: torch.Tensor, eps: torch.Tensor,
                       x0: torch.Tensor, t_primes, label: int) -> dict[str, np.ndarray]:
    """Tell the model t' instead of the true t for the same x_t (one image, shape (1, 1, H, W)).

    The model reads the noise level from t', so its eps_hat and the x0_hat it implies,
    (x_t - sqrt(1 - ab_t') eps_hat) / sqrt(ab_t') (Ho et al. 2020, Eq. 15 with the wrong alpha_bar),
    are judged against the true eps and x0. Returns eps_hat, x0_hat (K, H, W) and the
    eps-MSE and x0-MSE (K,) for the K values of t'.
    """
    tp = torch.as_tensor(np.asarray(list(t_primes)), dtype=torch.long, device=x_t.device)
    k = len(tp)
    xs = x_t.expand(k, *x_t.shape[1:])
    eps_hat = eps_fn(xs, tp, torch.full((k,), int(label), dtype=torch.long, device=x_t.device))
    ab = torch.as_tensor(schedule.alpha_bars[tp.cpu().numpy()], dtype=x_t.dtype, device=x_t.device).view(-1, 1, 1, 1)
    x0_hat = from_eps("x0", eps_hat, xs, ab)
    return {"eps_hat": eps_hat[:, 0].cpu().numpy(), "x0_hat": x0_hat[:, 0].cpu().numpy(),
            "eps_mse": per_sample_mse(eps_hat, eps.expand_as(eps_hat)).cpu().numpy().astype(np.float64),
            "x0_mse": per_sample_mse(x0_hat, x0.expand_as(x0_hat)).cpu().numpy().astype(np.float64)}


# ------------------------------------------------------------------ weightings over noise levels

def elbo_eps_weights(schedule: NoiseSchedule, variance: str = "beta_tilde") -> np.ndarray:
    """The ELBO's weight on ||eps - eps_hat||^2 (per dimension) at each t (Ho et al. 2020, Eq. 12).

    L_{t-1} - C = beta_t^2 / (2 sigma_t^2 alpha_t (1 - alpha_bar_t)) ||eps - eps_theta||^2, with
    sigma_t^2 = beta_tilde_t (Eq. 7) or beta_t. At t = 0 the ELBO's term is the decoder L_0, not
    an eps-MSE (beta_tilde_0 = 0), so the weight is NaN there.
    """
    ab = schedule.alpha_bars
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    beta, alpha = schedule.betas, schedule.alphas
    if variance == "beta_tilde":
        sigma2 = (1 - ab_prev) / (1 - ab) * beta
    elif variance == "beta":
        sigma2 = beta.copy()
    else:
        raise ValueError(f"variance must be 'beta_tilde' or 'beta', not {variance!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = beta ** 2 / (2 * sigma2 * alpha * (1 - ab))
    w[0] = np.nan
    return w


def eps_weights(schedule: NoiseSchedule, objective: str) -> np.ndarray:
    """w_t: the weight an objective puts on ||eps - eps_hat||^2 at each t, with t drawn uniformly.

    'eps' (L_simple, Ho et al. 2020 Eq. 14): 1.  'x0': 1 / SNR_t.  'v': 1 + 1 / SNR_t.
    'elbo': `elbo_eps_weights` with sigma^2 = beta_tilde (NaN at t = 0, the decoder term).
    """
    snr = schedule.snr
    if objective == "eps":
        return np.ones_like(snr)
    if objective == "x0":
        return 1 / snr
    if objective == "v":
        return 1 + 1 / snr
    if objective == "elbo":
        return elbo_eps_weights(schedule, "beta_tilde")
    raise ValueError(f"objective must be one of {tuple(OBJECTIVES)}, not {objective!r}")


def kingma_gao_weighting(schedule: NoiseSchedule, w_t: np.ndarray) -> np.ndarray:
    """Kingma & Gao's w(lambda) at each lambda_t for per-step weights w_t (uniform t, one step = dt).

    Their loss (1/2) E_t[w(lambda_t) (-d lambda/dt) ||eps - eps_hat||^2] equals E_t[w_t ||.||^2] when
    w(lambda_t) = 2 w_t / (lambda_{t-1} - lambda_t), the log-SNR step taken as -d lambda/dt. NaN at
    t = 0, where lambda_{-1} is infinite.
    """
    lam = schedule.log_snr
    dlam = np.concatenate([[np.nan], lam[:-1] - lam[1:]])
    return 2 * np.asarray(w_t, dtype=np.float64) / dlam


def normalised(w: np.ndarray) -> np.ndarray:
    """w divided by its sum over the finite entries: each noise level's share of the objective."""
    w = np.asarray(w, dtype=np.float64)
    return w / np.nansum(w)
