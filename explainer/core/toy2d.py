"""2-D toy data, exact scores of noised distributions, and particle samplers.

Everything here is NumPy float64 and works without a trained network: the
score of the noised data distribution is known in closed form, either for the
empirical distribution of a finite data set or for a Gaussian mixture, so the
samplers below can be shown running on the *true* score.

Noising follows `explainer.schedules` (VP / DDPM): x_t = sqrt(ab) x0 + sqrt(1 - ab) eps,
with ab = alpha_bar in (0, 1). The noised empirical distribution of data
x_1 ... x_N is

    q_ab(x) = (1/N) sum_i N(x; sqrt(ab) x_i, (1 - ab) I),

and by Tweedie's formula (Efron 2011) E[x0 | x_t = x] = (x + (1 - ab) score(x)) / sqrt(ab).

Samplers
--------
Each sampler takes any `score_fn(x (M, d), alpha_bar: float) -> (M, d)`, the
initial particles `x_T` (M, d) and `alpha_bars`, a 1-D array of the levels to
visit ordered from noisiest to cleanest (non-decreasing, each in (0, 1)),
e.g. `schedule.alpha_bars[::-1]` or `schedule.alpha_bars[timesteps]` for
descending `timesteps`. With L = len(alpha_bars), every sampler returns the
whole trajectory as an array of shape (L + 1, M, d):

    traj[0] = x_T, and traj[k] (k = 1 ... L) is the state after the sampler has
    used the score at level alpha_bars[k - 1].

What traj[k] is distributed as differs by design:

* `reverse_sde`, `probability_flow_ode`: step k goes from level alpha_bars[k-1]
  to level alpha_bars[k], and the last step goes to alpha_bar = 1 (clean data).
  So traj[k] ~ q at alpha_bars[k] for k < L and traj[L] is the clean sample. That
  last step has no noise and equals the Tweedie estimate x0_hat at the cleanest level.
* `annealed_langevin`: at each level it runs `n_inner` Langevin steps targeting
  q at that level, so traj[k] ~ q at alpha_bars[k-1] and traj[L] is a sample
  at the cleanest level (Song & Ermon 2019, Alg. 1, has no final denoising);
  `denoise_last=True` replaces traj[L] by its Tweedie estimate, so that it is
  clean like the other two.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

DATASETS = ("swiss_roll", "moons", "gaussian_mixture", "circles", "checkerboard", "spiral")

ScoreFn = Callable[[np.ndarray, float], np.ndarray]

# Ring of 8 Gaussians, already in standardised units: a ring of radius R has
# per-coordinate variance R^2 / 2 (mean of cos^2 over 8 equally spaced angles),
# so R^2 / 2 + std^2 = 1 makes the per-coordinate std exactly 1.
_GMM_COMPONENTS = 8
_GMM_STD = 0.125
_GMM_RADIUS = math.sqrt(2.0 * (1.0 - _GMM_STD**2))

# (centre, scale) subtracted and divided after sampling each raw data set. The
# scale is isotropic (it keeps shapes undistorted): the RMS of both coordinates
# about the centre. Centres are exact where analytic (swiss roll: E[t cos t],
# E[t sin t] for t ~ U[1.5 pi, 4.5 pi]); scales of the swiss roll, moons and
# spiral were measured on 4e6 samples.
_NORMALISATION = {
    "swiss_roll": ((2.0, 2.0 / (3.0 * math.pi)), 6.808),
    "moons": ((0.5, 0.25), 0.7067),
    "circles": ((0.0, 0.0), math.sqrt(0.625 / 2.0 + 0.05**2)),
    "checkerboard": ((0.0, 0.0), math.sqrt(4.0 / 3.0)),
    "spiral": ((0.0, 0.0), 4.722),
}

# Data sets up to this many points times query points go through one matmul;
# beyond that, queries are processed in chunks (float64: 32 MiB per block).
_MAX_BLOCK = 1 << 22


# --------------------------------------------------------------------------- data


def _swiss_roll(rng, n):
    # Same curve as scikit-learn's make_swiss_roll, projected on its (x, z) plane.
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) + 0.5 * rng.standard_normal((n, 2))


def _moons(rng, n):
    upper = rng.random(n) < 0.5
    theta = np.pi * rng.random(n)
    x = np.where(upper, np.cos(theta), 1.0 - np.cos(theta))
    y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta))
    return np.stack([x, y], axis=1) + 0.05 * rng.standard_normal((n, 2))


def _circles(rng, n):
    radius = np.where(rng.random(n) < 0.5, 1.0, 0.5)
    theta = 2.0 * np.pi * rng.random(n)
    points = radius[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return points + 0.05 * rng.standard_normal((n, 2))


def _checkerboard(rng, n):
    # FFJORD's checkerboard (Grathwohl et al. 2019): 8 of the 16 unit squares of [-2, 2]^2.
    x1 = 4.0 * rng.random(n) - 2.0
    x2 = rng.random(n) - 2.0 * rng.integers(0, 2, n) + np.floor(x1) % 2
    return np.stack([x1, x2], axis=1)


def _spiral(rng, n):
    # Two interleaved arms; sqrt makes the density along the arc roughly uniform.
    theta = 3.0 * np.pi * np.sqrt(rng.random(n))
    arm = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    points = arm[:, None] * np.stack([-theta * np.cos(theta), theta * np.sin(theta)], axis=1)
    return points + 0.3 * rng.standard_normal((n, 2))


_RAW = {
    "swiss_roll": _swiss_roll,
    "moons": _moons,
    "circles": _circles,
    "checkerboard": _checkerboard,
    "spiral": _spiral,
}


def gaussian_mixture_params() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights (8,), means (8, 2), stds (8,)) of the 'gaussian_mixture' data set.

    Equal weights, means on a ring, isotropic stds; the units are those of
    `make_dataset`, so `gmm_score(x, *gaussian_mixture_params(), alpha_bar)` is the
    exact score of that data set's noised distribution.
    """
    k = np.arange(_GMM_COMPONENTS, dtype=np.float64)
    angle = 2.0 * np.pi * k / _GMM_COMPONENTS
    means = _GMM_RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    weights = np.full(_GMM_COMPONENTS, 1.0 / _GMM_COMPONENTS)
    stds = np.full(_GMM_COMPONENTS, _GMM_STD)
    return weights, means, stds


def make_dataset(name: str, n: int = 2000, seed: int = 0) -> np.ndarray:
    """n points (n, 2) float64 of a toy data set, mean about 0 and std about 1.

    The same (name, n, seed) always gives the same points; points come in random
    order, so any prefix is a sample of the same distribution.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    n = int(n)
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    if name == "gaussian_mixture":
        weights, means, stds = gaussian_mixture_params()
        component = rng.choice(len(weights), size=n, p=weights)
        return means[component] + stds[component, None] * rng.standard_normal((n, 2))
    centre, scale = _NORMALISATION[name]
    return (_RAW[name](rng, n) - np.asarray(centre)) / scale


def grid(extent: float = 3.0, n: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (n,), ys (n,), points (n*n, 2)) covering [-extent, extent]^2.

    points[j * n + i] = (xs[i], ys[j]), so `values.reshape(n, n)` has y along rows,
    as Plotly's heatmap/contour and Matplotlib's contour expect.
    """
    xs = np.linspace(-extent, extent, int(n))
    ys = np.linspace(-extent, extent, int(n))
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


# ------------------------------------------------------- exact scores: empirical


def _check_alpha_bar(alpha_bar) -> float:
    alpha_bar = float(alpha_bar)
    if not 0.0 < alpha_bar < 1.0:
        raise ValueError(
            f"alpha_bar must lie strictly between 0 and 1, got {alpha_bar}: at 1 the noised "
            "empirical distribution is a sum of deltas (no density), at 0 it carries no data")
    return alpha_bar


def _as_points(a, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (count, dim), got shape {a.shape}")
    return a


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    m = logits.max(axis=1)
    return m + np.log(np.exp(logits - m[:, None]).sum(axis=1))


def _empirical_logits(data, x, alpha_bar):
    """log N(x; sqrt(ab) x_i, (1-ab) I) per (query, data point), minus the terms
    that do not depend on i; adding those back gives the log density.

    Dropping -||x||^2 / 2(1-ab) keeps the logits small when x is far away or
    the variance tiny; the softmax over i ignores it anyway.
    """
    var = 1.0 - alpha_bar
    mean = math.sqrt(alpha_bar) * data
    logits = (x @ mean.T - 0.5 * np.sum(mean * mean, axis=1)) / var
    offset = -0.5 * np.sum(x * x, axis=1) / var - math.log(2.0 * math.pi * var) * x.shape[1] / 2
    return logits, offset


def _empirical_stats(data, x, alpha_bar):
    """(log q_ab(x) (M,), E[x0 | x_t = x] (M, d)) in chunks of queries."""
    data = _as_points(data, "data")
    x = _as_points(x, "x")
    alpha_bar = _check_alpha_bar(alpha_bar)
    if data.shape[1] != x.shape[1]:
        raise ValueError(f"data has dim {data.shape[1]} but x has dim {x.shape[1]}")
    log_density = np.empty(len(x))
    x0_hat = np.empty_like(x)
    chunk = max(1, _MAX_BLOCK // max(1, len(data)))
    for start in range(0, len(x), chunk):
        xc = x[start:start + chunk]
        logits, offset = _empirical_logits(data, xc, alpha_bar)
        m = logits.max(axis=1, keepdims=True)
        w = np.exp(logits - m)
        total = w.sum(axis=1, keepdims=True)
        log_density[start:start + chunk] = m[:, 0] + np.log(total[:, 0]) + offset - math.log(len(data))
        x0_hat[start:start + chunk] = (w @ data) / total
    return log_density, x0_hat


def posterior_weights(data, x, alpha_bar) -> np.ndarray:
    """p(x0 = x_i | x_t = x) for the empirical data distribution, (M, N).

    Softmax over i of -||x - sqrt(ab) x_i||^2 / 2(1-ab): the responsibilities
    of the mixture components. Rows sum to 1.
    """
    data = _as_points(data, "data")
    x = _as_points(x, "x")
    logits, _ = _empirical_logits(data, x, _check_alpha_bar(alpha_bar))
    return np.exp(logits - _logsumexp(logits)[:, None])


def empirical_log_density(data, x, alpha_bar) -> np.ndarray:
    """log q_ab(x), q_ab = (1/N) sum_i N(x; sqrt(ab) x_i, (1-ab) I); (M,)."""
    return _empirical_stats(data, x, alpha_bar)[0]


def tweedie_denoise(data, x, alpha_bar) -> np.ndarray:
    """E[x0 | x_t = x] = (x + (1-ab) score(x)) / sqrt(ab) (Tweedie's formula, Efron 2011).

    For the empirical distribution this is the posterior-weighted mean of the
    data points, computed directly in that form (no division by sqrt(ab)).
    """
    return _empirical_stats(data, x, alpha_bar)[1]


def empirical_score(data, x, alpha_bar) -> np.ndarray:
    """grad_x log q_ab(x) = (sqrt(ab) E[x0 | x_t = x] - x) / (1 - ab); (M, d).

    Each component contributes (sqrt(ab) x_i - x) / (1-ab) weighted by its
    posterior weight; the weighted sum is Tweedie's formula solved for the score.
    """
    alpha_bar = _check_alpha_bar(alpha_bar)
    x = _as_points(x, "x")
    x0_hat = _empirical_stats(data, x, alpha_bar)[1]
    return (math.sqrt(alpha_bar) * x0_hat - x) / (1.0 - alpha_bar)


# ------------------------------------------------ exact scores: Gaussian mixture


def _noised_gmm(weights, means, stds, alpha_bar):
    """Parameters of the mixture after noising to alpha_bar (None = clean)."""
    weights = np.asarray(weights, dtype=np.float64)
    means = _as_points(means, "means")
    stds = np.asarray(stds, dtype=np.float64)
    if not (weights.shape == stds.shape == (len(means),)):
        raise ValueError("weights (K,), means (K, d) and stds (K,) must agree on K")
    if np.any(weights < 0) or not math.isclose(weights.sum(), 1.0, rel_tol=1e-9, abs_tol=1e-9):
        raise ValueError("weights must be non-negative and sum to 1")
    if np.any(stds < 0):
        raise ValueError("stds must be non-negative")
    var = stds**2
    if alpha_bar is not None:
        alpha_bar = float(alpha_bar)
        if not 0.0 < alpha_bar <= 1.0:
            raise ValueError(f"alpha_bar must lie in (0, 1], got {alpha_bar}")
        # x_t = sqrt(ab) x0 + sqrt(1-ab) eps with x0 ~ N(m, s^2 I) is N(sqrt(ab) m, (ab s^2 + 1-ab) I).
        means = math.sqrt(alpha_bar) * means
        var = alpha_bar * var + (1.0 - alpha_bar)
    if np.any(var <= 0):
        raise ValueError("a component with zero variance has no density (use alpha_bar < 1)")
    return weights, means, var


def _gmm_log_joint(x, weights, means, var):
    """log w_k + log N(x; m_k, var_k I) for every (query, component), (M, K)."""
    d = x.shape[1]
    sq = np.sum((x[:, None, :] - means[None, :, :]) ** 2, axis=2)
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    return log_w - 0.5 * sq / var - 0.5 * d * np.log(2.0 * np.pi * var)


def gmm_log_density(x, weights, means, stds, alpha_bar=None) -> np.ndarray:
    """log p(x) of sum_k w_k N(m_k, s_k^2 I), noised to alpha_bar if given; (M,)."""
    x = _as_points(x, "x")
    weights, means, var = _noised_gmm(weights, means, stds, alpha_bar)
    return _logsumexp(_gmm_log_joint(x, weights, means, var))


def gmm_responsibilities(x, weights, means, stds, alpha_bar=None) -> np.ndarray:
    """p(component k | x) of sum_k w_k N(m_k, s_k^2 I), noised to alpha_bar if given; (M, K), rows sum to 1."""
    x = _as_points(x, "x")
    weights, means, var = _noised_gmm(weights, means, stds, alpha_bar)
    log_joint = _gmm_log_joint(x, weights, means, var)
    return np.exp(log_joint - _logsumexp(log_joint)[:, None])


def gmm_score(x, weights, means, stds, alpha_bar=None) -> np.ndarray:
    """grad_x log p(x) = sum_k r_k(x) (m_k - x) / var_k, r = responsibilities; (M, d).

    With alpha_bar the mixture is the noised one, means sqrt(ab) m_k and
    variances ab s_k^2 + 1 - ab, i.e. the exact score a diffusion model learns.
    """
    x = _as_points(x, "x")
    weights, means, var = _noised_gmm(weights, means, stds, alpha_bar)
    log_joint = _gmm_log_joint(x, weights, means, var)
    r = np.exp(log_joint - _logsumexp(log_joint)[:, None])
    return (r / var) @ means - (r @ (1.0 / var))[:, None] * x


# ------------------------------------------------------------------ update rules


def x0_from_score(x, score, alpha_bar):
    """x0_hat = (x + (1 - ab) score) / sqrt(ab) (Tweedie's formula, Efron 2011)."""
    return (x + (1.0 - alpha_bar) * score) / math.sqrt(alpha_bar)


def langevin_step(x, score, step_size, z):
    """x + (step_size / 2) score + sqrt(step_size) z (Song & Ermon 2019, Alg. 1, line 6)."""
    return x + 0.5 * step_size * score + math.sqrt(step_size) * z


def reverse_sde_step(x, score, alpha_bar, alpha_bar_prev, z=None, variance="beta"):
    """One ancestral step from level alpha_bar to the cleaner alpha_bar_prev.

    With beta = 1 - alpha_bar / alpha_bar_prev (the effective beta between the two
    levels) and eps = -sqrt(1 - alpha_bar) score, Ho et al. 2020 Eq. 11 is

        x_prev = (x + beta score) / sqrt(1 - beta) + sigma z,

    the reverse-diffusion discretisation of the VP SDE (Song et al. 2021, Eq. 47).
    sigma^2 = beta, or beta_tilde = (1 - alpha_bar_prev) / (1 - alpha_bar) beta
    (Ho et al. 2020, Sec. 3.2); z = None adds no noise.
    """
    beta = 1.0 - alpha_bar / alpha_bar_prev
    mean = (x + beta * score) / math.sqrt(1.0 - beta)
    if z is None:
        return mean
    if variance == "beta":
        sigma2 = beta
    elif variance == "beta_tilde":
        sigma2 = (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * beta
    else:
        raise ValueError(f"variance must be 'beta' or 'beta_tilde', got {variance!r}")
    return mean + math.sqrt(sigma2) * z


def ddim_step(x, score, alpha_bar, alpha_bar_prev):
    """Deterministic DDIM step (eta = 0; Song, Meng & Ermon 2021, Eq. 12) in score form.

    x0_hat = (x + (1-ab) score) / sqrt(ab), eps_hat = -sqrt(1-ab) score,
    x_prev = sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev) eps_hat. It is an Euler
    step of the probability-flow ODE (Song et al. 2021, Eq. 13) in the variables
    x / sqrt(ab) and sqrt((1-ab)/ab) (Song, Meng & Ermon 2021, Sec. 4.3).
    """
    x0_hat = x0_from_score(x, score, alpha_bar)
    eps_hat = -math.sqrt(1.0 - alpha_bar) * score
    return math.sqrt(alpha_bar_prev) * x0_hat + math.sqrt(1.0 - alpha_bar_prev) * eps_hat


# ---------------------------------------------------------------------- samplers


def _check_levels(alpha_bars) -> np.ndarray:
    alpha_bars = np.asarray(alpha_bars, dtype=np.float64)
    if alpha_bars.ndim != 1 or len(alpha_bars) < 1:
        raise ValueError("alpha_bars must be a non-empty 1-D array")
    if not np.all((alpha_bars > 0) & (alpha_bars < 1)):
        raise ValueError("every alpha_bar must lie strictly between 0 and 1")
    if np.any(np.diff(alpha_bars) < 0):
        raise ValueError("alpha_bars must go from noisiest to cleanest (non-decreasing)")
    return alpha_bars


def _start(x_T, num_levels):
    x = _as_points(x_T, "x_T").copy()
    traj = np.empty((num_levels + 1, *x.shape))
    traj[0] = x
    return x, traj


def annealed_langevin(score_fn: ScoreFn, x_T, alpha_bars, n_inner: int = 5,
                      step_scale: float = 0.2, rng=None, denoise_last: bool = False) -> np.ndarray:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1); (L + 1, M, d).

    The paper's step size alpha_i = eps sigma_i^2 / sigma_L^2 is alpha_i =
    step_scale * sigma_i^2 with step_scale = eps / sigma_L^2 (their CIFAR-10
    setting is 2e-5 / 0.01^2 = 0.2, the default), and here sigma_i^2 = 1 - alpha_bars[i]. The
    target at level i is the VP-noised q at alpha_bars[i], whose score is
    score_fn itself: there is no rescaling by sqrt(alpha_bar) to undo.
    `rng` is a np.random.Generator or a seed. traj[k] is recorded after the
    inner loop at level k - 1; see the module docstring.
    """
    alpha_bars = _check_levels(alpha_bars)
    if int(n_inner) < 1 or not step_scale > 0:
        raise ValueError("n_inner must be >= 1 and step_scale > 0")
    rng = np.random.default_rng(rng)
    x, traj = _start(x_T, len(alpha_bars))
    for i, alpha_bar in enumerate(alpha_bars):
        step_size = step_scale * (1.0 - alpha_bar)
        for _ in range(int(n_inner)):
            x = langevin_step(x, score_fn(x, float(alpha_bar)), step_size, rng.standard_normal(x.shape))
        traj[i + 1] = x
    if denoise_last:
        # Song & Ermon 2020 / Jolicoeur-Martineau et al. 2021: a final Tweedie step removes
        # the noise of the cleanest level, which Algorithm 1 leaves in.
        alpha_bar = float(alpha_bars[-1])
        traj[-1] = x0_from_score(x, score_fn(x, alpha_bar), alpha_bar)
    return traj


def reverse_sde(score_fn: ScoreFn, x_T, alpha_bars, rng=None, variance: str = "beta") -> np.ndarray:
    """Ancestral sampling of the VP SDE (Ho et al. 2020, Alg. 2); (L + 1, M, d).

    Steps alpha_bars[0] -> alpha_bars[1] -> ... -> alpha_bars[-1] -> 1 with
    `reverse_sde_step`; the final step to alpha_bar = 1 adds no noise, so it is
    Tweedie's x0_hat at the cleanest level. `rng` is a Generator or a seed.
    """
    alpha_bars = _check_levels(alpha_bars)
    rng = np.random.default_rng(rng)
    x, traj = _start(x_T, len(alpha_bars))
    targets = np.append(alpha_bars[1:], 1.0)
    for i, (alpha_bar, alpha_bar_prev) in enumerate(zip(alpha_bars, targets)):
        last = i == len(alpha_bars) - 1
        z = None if last else rng.standard_normal(x.shape)
        x = reverse_sde_step(x, score_fn(x, float(alpha_bar)), alpha_bar, alpha_bar_prev, z, variance)
        traj[i + 1] = x
    return traj


def probability_flow_ode(score_fn: ScoreFn, x_T, alpha_bars) -> np.ndarray:
    """Deterministic sampling along the probability-flow ODE with DDIM steps; (L + 1, M, d).

    Steps alpha_bars[0] -> ... -> alpha_bars[-1] -> 1 with `ddim_step`; the last
    step lands on x0_hat at the cleanest level.
    """
    alpha_bars = _check_levels(alpha_bars)
    x, traj = _start(x_T, len(alpha_bars))
    targets = np.append(alpha_bars[1:], 1.0)
    for i, (alpha_bar, alpha_bar_prev) in enumerate(zip(alpha_bars, targets)):
        x = ddim_step(x, score_fn(x, float(alpha_bar)), alpha_bar, alpha_bar_prev)
        traj[i + 1] = x
    return traj
