"""The variational bound of a diffusion model, exactly, for 1-D data from a mixture of Gaussians.

Diffusion as a hierarchical VAE (Sohl-Dickstein et al. 2015; Ho et al. 2020, Sec. 2): the
forward chain q(x_{1:T} | x_0) is a fixed encoder, the reverse chain p(x_{0:T}) the decoder,
and the negative log-likelihood is bounded by (Ho et al. 2020, Eq. 3 and Eq. 5)

    E[-log p(x_0)] <= L = L_T + sum_{t=2}^{T} L_{t-1} + L_0
    L_T     = KL(q(x_T | x_0) || N(0, 1))
    L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))
    L_0     = -log p(x_0 | x_1).

Here the data are 1-D and Gaussian-mixture distributed, so everything is exact:
q(x_t) is again a Gaussian mixture, the posterior q(x_0 | x_t) too. The reverse step is
p(x_{t-1} | x_t) = N(mu*(x_t), sigma_t^2) with sigma_t^2 fixed (beta_t or beta_tilde_t,
Ho et al. 2020, Sec. 3.2) and the best mean for that variance,
mu*(x_t) = E[mu_tilde(x_t, x_0) | x_t] (Ho et al. 2020, Eq. 7 averaged over q(x_0 | x_t)),
the mean a perfectly trained network would output. It is the best Gaussian at that fixed
variance, not the best Gaussian: the variance is chosen, not fitted. beta_tilde_t is the variance
of the forward posterior q(x_{t-1} | x_t, x_0), not of the true reverse step q(x_{t-1} | x_t);
Ho et al. note that sigma^2 = beta_t is optimal for x_0 ~ N(0, I) and beta_tilde_t for x_0 a
single point, and which gives the lower bound depends on the data and on T. Then

    L_{t-1} = (1/2) (beta_tilde/sigma^2 - 1 - log(beta_tilde/sigma^2))
              + c0^2 / (2 sigma^2) E_{x_t ~ q}[Var(x_0 | x_t)]

with c0 = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t), the weight of x_0 in mu_tilde.
The one integral over x_t is done on a uniform grid fine enough for its narrowest feature
(`expected_posterior_variance`).
All numbers are in nats (the data are 1-D).

Indexing: the library's 0-based timestep (see `explainer.core.schedules`). Step t = 0 ... T-1 has
alpha_bar_t = `schedule.alpha_bars[t]` and reverses the forward step t; it is the paper's t + 1. The
formulas above are written in the paper's subscripts; in the library's, the KL term of step t = 1 ... T-1
is the paper's L_t (`Bound.L_t[t - 1]`) and the decoder L_0 is step 0. Pages that show the paper's t
convert once, where they write it. The decoder uses sigma^2 = beta of step 0 with both choices:
beta_tilde = 0 there would make it a point mass (which is why Ho et al. use a discrete decoder for images).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .forward import posterior_coefficients
from .schedules import NoiseSchedule

VARIANCES = {"beta_tilde": "σ² = β̃ₜ (the variance of q(xₜ₋₁ | xₜ, x₀))", "beta": "σ² = βₜ"}
_GRID_SPAN = 10.0  # the x_t grid reaches 10 standard deviations beyond every component of q(x_t): exp(-50) is left out


@dataclass(frozen=True)
class Mixture1D:
    """A 1-D mixture of Gaussians: sum_k weights[k] N(means[k], stds[k]^2)."""

    weights: tuple
    means: tuple
    stds: tuple

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=np.float64)
        if not (len(w) == len(self.means) == len(self.stds)) or len(w) < 1:
            raise ValueError("weights, means and stds must have the same, non-zero length")
        if np.any(w <= 0) or abs(w.sum() - 1) > 1e-9 or np.any(np.asarray(self.stds) <= 0):
            raise ValueError("weights must be positive and sum to 1, stds positive")

    @property
    def w(self) -> np.ndarray:
        return np.asarray(self.weights, dtype=np.float64)

    @property
    def m(self) -> np.ndarray:
        return np.asarray(self.means, dtype=np.float64)

    @property
    def s2(self) -> np.ndarray:
        return np.asarray(self.stds, dtype=np.float64) ** 2

    def second_moment(self) -> float:
        """E[x_0^2]."""
        return float(np.sum(self.w * (self.m ** 2 + self.s2)))

    def noised(self, alpha_bar: float) -> "Mixture1D":
        """q(x_t) = sum_k w_k N(sqrt(ab) m_k, ab s_k^2 + 1 - ab) (Ho et al. 2020, Eq. 4 applied per component)."""
        return Mixture1D(self.weights, tuple(math.sqrt(alpha_bar) * self.m),
                         tuple(np.sqrt(alpha_bar * self.s2 + 1 - alpha_bar)))

    def pdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)[..., None]
        return np.sum(self.w * np.exp(-(x - self.m) ** 2 / (2 * self.s2)) / np.sqrt(2 * np.pi * self.s2), axis=-1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.choice(len(self.w), size=n, p=self.w)
        return self.m[k] + np.sqrt(self.s2[k]) * rng.standard_normal(n)

    def entropy(self) -> float:
        """-E[log q(x_0)] in nats (trapezoid rule on a fine grid): the smallest value any bound can reach."""
        sd = np.sqrt(self.s2)
        x = np.linspace(np.min(self.m - 12 * sd), np.max(self.m + 12 * sd), 40001)
        p = self.pdf(x)
        integrand = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        return float(np.trapezoid(integrand, x))


MIXTURES = {
    "two Gaussians": Mixture1D((0.5, 0.5), (-0.6, 0.6), (0.12, 0.2)),
    "three Gaussians": Mixture1D((0.3, 0.4, 0.3), (-0.8, 0.0, 0.8), (0.08, 0.12, 0.08)),
}


def _joint_x0(mix: Mixture1D, x_t, alpha_bar) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log(w_k q_k(x_t)) (..., K), and each component's posterior mean m'_k (..., K) and variance v'_k."""
    x = np.asarray(x_t, dtype=np.float64)[..., None]
    ab = np.asarray(alpha_bar, dtype=np.float64)[..., None]
    if ab.ndim < x.ndim:
        ab = ab.reshape(ab.shape[:-1] + (1,) * (x.ndim - ab.ndim) + (1,))
    var_t = ab * mix.s2 + 1 - ab
    log_joint = np.log(mix.w) - 0.5 * np.log(2 * np.pi * var_t) - (x - np.sqrt(ab) * mix.m) ** 2 / (2 * var_t)
    v_post = mix.s2 * (1 - ab) / var_t
    m_post = v_post * (mix.m / mix.s2 + np.sqrt(ab) * x / (1 - ab))
    return log_joint, m_post, v_post


def posterior_x0(mix: Mixture1D, x_t, alpha_bar) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """q(x_0 | x_t) = sum_k r_k N(m'_k, v'_k): responsibilities r (..., K), means m' (..., K), variances v'.

    Per component, x_t = sqrt(ab) x_0 + sqrt(1 - ab) eps is linear-Gaussian in x_0 (Bayes' rule for
    Gaussians): v' = s^2 (1 - ab) / (ab s^2 + 1 - ab), m' = v' (m / s^2 + sqrt(ab) x_t / (1 - ab)).
    `alpha_bar` is a number or an array that broadcasts against x_t (one noise level per row).
    """
    log_r, m_post, v_post = _joint_x0(mix, x_t, alpha_bar)
    r = np.exp(log_r - log_r.max(axis=-1, keepdims=True))
    r /= r.sum(axis=-1, keepdims=True)
    return r, m_post, v_post


def posterior_moments(mix: Mixture1D, x_t, alpha_bar) -> tuple[np.ndarray, np.ndarray]:
    """E[x_0 | x_t] and Var[x_0 | x_t] (the denoiser a perfect network learns, and what it cannot know)."""
    r, m_post, v_post = posterior_x0(mix, x_t, alpha_bar)
    mean = np.sum(r * m_post, axis=-1)
    second = np.sum(r * (v_post + m_post ** 2), axis=-1)
    return mean, np.maximum(second - mean ** 2, 0.0)


@dataclass(frozen=True)
class StepCoefficients:
    """The numbers of one reverse step t -> t-1 (the library's 0-based t, see `explainer.core.schedules`)."""

    alpha_bar: float       # alpha_bar_t
    alpha_bar_prev: float  # alpha_bar_{t-1} (1 at t = 0)
    beta: float            # beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}
    beta_tilde: float      # (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t  (Ho et al. 2020, Eq. 7)
    c0: float              # weight of x_0 in mu_tilde (Eq. 7)
    ct: float              # weight of x_t in mu_tilde (Eq. 7)

    def sigma2(self, variance: str) -> float:
        if variance == "beta_tilde":
            return self.beta_tilde
        if variance == "beta":
            return self.beta
        raise ValueError(f"variance must be one of {tuple(VARIANCES)}, not {variance!r}")


def posterior_step(schedule: NoiseSchedule, t: int) -> StepCoefficients:
    """Coefficients of q(x_{t-1} | x_t, x_0) at step t = 0 ... T-1 (Ho et al. 2020, Eq. 6-7; the paper's t + 1)."""
    if not 0 <= t < schedule.num_steps:
        raise ValueError(f"t must be between 0 and T - 1 = {schedule.num_steps - 1}, not {t}")
    ab = float(schedule.alpha_bars[t])
    ab_prev = float(schedule.alpha_bars_prev[t])
    beta = float(schedule.betas[t])
    c0, ct, beta_tilde = posterior_coefficients(ab, ab_prev, beta)
    return StepCoefficients(alpha_bar=ab, alpha_bar_prev=ab_prev, beta=beta, beta_tilde=float(beta_tilde),
                            c0=float(c0), ct=float(ct))


def gaussian_kl(m1, v1, m2, v2):
    """KL(N(m1, v1) || N(m2, v2)) in nats."""
    return 0.5 * (np.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)


def expected_posterior_variance(mix: Mixture1D, alpha_bar) -> np.ndarray:
    """E_{x_t ~ q(x_t)}[Var(x_0 | x_t)] for each alpha_bar.

    By the law of total variance over the component k that made x_0,
        Var(x_0 | x_t) = sum_k r_k v'_k + sum_k r_k (m'_k - E[x_0 | x_t])^2.
    The first part's expectation is exact: v'_k does not depend on x_t and E[r_k(x_t)] = w_k.
    The second, the spread between the components' posterior means, lives where two components
    of q(x_t) cross. At small noise that crossing is narrow (its width is about v / Δμ, the
    component variance over the distance of the means: 0.004 for the three Gaussians), and
    Gauss-Hermite nodes placed per component miss it (64 nodes left the bound 2e-4 nats off).
    It is integrated by the trapezoid rule on a uniform grid whose step resolves both that width
    and the components' own widths; for a smooth integrand that vanishes at both ends this rule
    converges geometrically in the step (Trefethen & Weideman 2014), so half a width is plenty.
    The grid is sized per noise level: about 1600 points at the smallest noise, tens at the largest.
    """
    ab_all = np.atleast_1d(np.asarray(alpha_bar, dtype=np.float64))
    var_t = ab_all[:, None] * mix.s2 + 1 - ab_all[:, None]                          # (A, K) of q(x_t)
    within = np.sum(mix.w * mix.s2 * (1 - ab_all[:, None]) / var_t, axis=1)          # sum_k w_k v'_k
    mu = np.sqrt(ab_all)[:, None] * mix.m                                            # (A, K)
    sd = np.sqrt(var_t)
    lo, hi = np.min(mu - _GRID_SPAN * sd, axis=1), np.max(mu + _GRID_SPAN * sd, axis=1)
    spread = np.ptp(mu, axis=1)
    step = 0.5 * np.minimum(sd.min(axis=1), var_t.min(axis=1) / np.maximum(spread, 1e-300))
    n = np.ceil((hi - lo) / step).astype(int) + 1
    quarter_octaves = np.ceil(4 * np.log2(np.maximum(n - 1, 32) / 32)) / 4              # sizes rounded up (< 19 %)
    n = np.ceil(32 * 2 ** quarter_octaves).astype(int) + 1                             # few shapes, each vectorised
    between = np.zeros(len(ab_all))
    for size in np.unique(n):
        rows = np.flatnonzero(n == size)
        x = np.linspace(lo[rows], hi[rows], size, axis=1)                            # (R, size)
        log_joint, m_post, _ = _joint_x0(mix, x, ab_all[rows, None])
        top = log_joint.max(axis=-1, keepdims=True)
        p = np.exp(log_joint - top)                                                  # q(x_t) r_k / exp(top)
        mean = np.sum(p * m_post, axis=-1, keepdims=True) / np.sum(p, axis=-1, keepdims=True)
        density = np.exp(top[..., 0]) * np.sum(p * (m_post - mean) ** 2, axis=-1)    # q(x_t) sum_k r_k (m'_k - mean)^2
        between[rows] = np.trapezoid(density, x, axis=1)
    out = within + between
    return out if np.ndim(alpha_bar) else float(out[0])


@dataclass(frozen=True)
class Bound:
    """The terms of Ho et al. 2020, Eq. 5 for one data set, schedule and reverse variance, in nats."""

    L_T: float
    L_t: np.ndarray   # the KL terms L_1 ... L_{T-1}: step t = 1 ... T-1's term L_t is L_t[t - 1]
    L_0: float
    entropy: float    # -E[log q(x_0)]: no bound can go below it
    variance: str

    @property
    def kl_sum(self) -> float:
        return float(np.sum(self.L_t))

    @property
    def total(self) -> float:
        return self.L_T + self.kl_sum + self.L_0

    @property
    def gap(self) -> float:
        """total - entropy >= 0: how loose the bound is (the model's KL from the data plus the encoder's slack)."""
        return self.total - self.entropy


def prior_term(mix: Mixture1D, schedule: NoiseSchedule) -> float:
    """L_T = E_{x_0}[KL(N(sqrt(ab_T) x_0, 1 - ab_T) || N(0, 1))] = (ab_T (E[x_0^2] - 1) - log(1 - ab_T)) / 2."""
    ab = float(schedule.alpha_bars[-1])
    return 0.5 * (ab * (mix.second_moment() - 1) - math.log1p(-ab))


def kl_terms(mix: Mixture1D, schedule: NoiseSchedule, variance: str = "beta_tilde",
             e_var: np.ndarray | None = None) -> np.ndarray:
    """L_{t-1} = E_q[KL(q(x_{t-1} | x_t, x_0) || N(mu*(x_t), sigma_t^2))] for the paper's t = 2 ... T (Ho et al. 2020,
    Eq. 5), i.e. the terms of steps 1 ... T-1.

    The two means differ by c0 (x_0 - E[x_0 | x_t]), so the expected squared gap of the means
    is c0^2 E[Var(x_0 | x_t)]; the rest is the KL between the two variances. `e_var`: those
    expectations for steps 1 ... T-1 if already computed (they do not depend on the variance choice).
    """
    ab = schedule.alpha_bars
    if len(ab) < 2:
        return np.zeros(0)
    ab_t, ab_prev, beta = ab[1:], ab[:-1], schedule.betas[1:]      # steps 1 ... T-1
    c0, _, beta_tilde = posterior_coefficients(ab_t, ab_prev, beta)  # Ho et al. 2020, Eq. 7
    if variance == "beta_tilde":
        s2 = beta_tilde
    elif variance == "beta":
        s2 = beta
    else:
        raise ValueError(f"variance must be one of {tuple(VARIANCES)}, not {variance!r}")
    ratio = beta_tilde / s2
    if e_var is None:
        e_var = expected_posterior_variance(mix, ab_t)
    return 0.5 * (ratio - 1 - np.log(ratio)) + c0 ** 2 / (2 * s2) * e_var


def decoder_term(mix: Mixture1D, schedule: NoiseSchedule) -> float:
    """L_0 = E[-log N(x_0; E[x_0 | x_1], beta_1)] = log(2 pi beta_1) / 2 + E[Var(x_0 | x_1)] / (2 beta_1) (paper's
    subscripts): the numbers of step 0."""
    c = posterior_step(schedule, 0)
    return 0.5 * math.log(2 * math.pi * c.beta) + expected_posterior_variance(mix, c.alpha_bar) / (2 * c.beta)


def variational_bound(mix: Mixture1D, schedule: NoiseSchedule, variance: str = "beta_tilde") -> Bound:
    """Every term of the bound (Ho et al. 2020, Eq. 5) with the best Gaussian reverse steps, exactly."""
    return variational_bounds(mix, schedule, (variance,))[variance]


def variational_bounds(mix: Mixture1D, schedule: NoiseSchedule,
                       variances=tuple(VARIANCES)) -> dict[str, Bound]:
    """`variational_bound` for several reverse variances, sharing the one integral they all need."""
    e_var = expected_posterior_variance(mix, schedule.alpha_bars[1:]) if schedule.num_steps > 1 else None
    L_T, L_0, entropy = prior_term(mix, schedule), decoder_term(mix, schedule), mix.entropy()
    return {v: Bound(L_T=L_T, L_t=kl_terms(mix, schedule, v, e_var), L_0=L_0, entropy=entropy, variance=v)
            for v in variances}


# ------------------------------------------------------------------ one step, drawn

def forward_posterior(schedule: NoiseSchedule, t: int, x_t: float, x0: float) -> tuple[float, float]:
    """Mean and variance of q(x_{t-1} | x_t, x_0) (Ho et al. 2020, Eq. 6-7) at step t = 0 ... T-1."""
    c = posterior_step(schedule, t)
    return c.c0 * x0 + c.ct * x_t, c.beta_tilde


def best_reverse(mix: Mixture1D, schedule: NoiseSchedule, t: int, x_t: float,
                 variance: str = "beta_tilde") -> tuple[float, float]:
    """Mean and variance of the best Gaussian p(x_{t-1} | x_t): N(c0 E[x_0 | x_t] + ct x_t, sigma_t^2)."""
    c = posterior_step(schedule, t)
    mean_x0 = float(posterior_moments(mix, x_t, c.alpha_bar)[0])
    return c.c0 * mean_x0 + c.ct * x_t, c.sigma2(variance)


def true_reverse(mix: Mixture1D, schedule: NoiseSchedule, t: int, x_t: float) -> Mixture1D:
    """q(x_{t-1} | x_t) = integral of q(x_{t-1} | x_t, x_0) q(x_0 | x_t) dx_0: a Gaussian mixture again.

    Component k: weight r_k(x_t), mean c0 m'_k + ct x_t, variance c0^2 v'_k + beta_tilde. When it has
    several modes (few, large steps) no single Gaussian p can match it: the KL term stays large.
    """
    c = posterior_step(schedule, t)
    r, m_post, v_post = posterior_x0(mix, x_t, c.alpha_bar)
    return Mixture1D(tuple(r / r.sum()), tuple(c.c0 * m_post + c.ct * x_t),
                     tuple(np.sqrt(c.c0 ** 2 * v_post + c.beta_tilde)))


def gaussian_pdf(x, mean: float, var: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-(x - mean) ** 2 / (2 * var)) / math.sqrt(2 * math.pi * var)


# ------------------------------------------------------------------ Monte Carlo (for the tests and the curious)

def monte_carlo_kl_term(mix: Mixture1D, schedule: NoiseSchedule, t: int, variance: str, n: int,
                        rng: np.random.Generator) -> tuple[float, float]:
    """The KL term of step t = 1 ... T-1 (the paper's L_t) estimated by sampling x_0 ~ q and x_t ~ q(x_t | x_0):
    (mean, standard error)."""
    c = posterior_step(schedule, t)
    x0 = mix.sample(n, rng)
    x_t = math.sqrt(c.alpha_bar) * x0 + math.sqrt(1 - c.alpha_bar) * rng.standard_normal(n)
    mean_x0 = posterior_moments(mix, x_t, c.alpha_bar)[0]
    kl = gaussian_kl(c.c0 * x0 + c.ct * x_t, c.beta_tilde, c.c0 * mean_x0 + c.ct * x_t, c.sigma2(variance))
    return float(kl.mean()), float(kl.std(ddof=1) / math.sqrt(n))


def monte_carlo_bound(mix: Mixture1D, schedule: NoiseSchedule, variance: str, n: int,
                      rng: np.random.Generator) -> tuple[float, float]:
    """The bound as Ho et al. 2020, Eq. 3: E_q[-log p(x_T) - sum_t log p(x_{t-1}|x_t) / q(x_t|x_{t-1})].

    Runs the forward chain step by step (Eq. 2) from x_0 ~ q: an estimate that never uses the
    decomposition into KL terms, so it checks it. Returns (mean, standard error).
    """
    T = schedule.num_steps
    x_prev = mix.sample(n, rng)
    x0 = x_prev
    total = np.zeros(n)
    for t in range(T):
        c = posterior_step(schedule, t)
        x_t = math.sqrt(1 - c.beta) * x_prev + math.sqrt(c.beta) * rng.standard_normal(n)
        log_q = np.log(gaussian_pdf(x_t, math.sqrt(1 - c.beta) * x_prev, c.beta))
        mean_x0 = posterior_moments(mix, x_t, c.alpha_bar)[0]
        if t == 0:
            log_p = np.log(gaussian_pdf(x0, mean_x0, c.beta))
        else:
            log_p = np.log(gaussian_pdf(x_prev, c.c0 * mean_x0 + c.ct * x_t, c.sigma2(variance)))
        total += log_q - log_p
        x_prev = x_t
    total -= np.log(gaussian_pdf(x_prev, 0.0, 1.0))
    return float(total.mean()), float(total.std(ddof=1) / math.sqrt(n))
