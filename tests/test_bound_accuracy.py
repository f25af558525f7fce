"""The exact 1-D bound (explainer/elbo.py) is right in every digit the learning page shows.

The page (section 5) prints the total, Σ Lₜ₋₁, L₀, the gap and the entropy to 4 decimals, L_T and the chosen
step's Lₜ₋₁ with notation.number (4 decimals, or 4 significant digits with the power of ten below 10⁻³); its bar chart's hover shows the terms to 5 decimals and the per-t
plot each Lₜ₋₁ to 4 significant digits. Each number is checked here against an integration written in this file:
the paper's formulas (Ho et al. 2020, Eq. 4-7 and Eq. 5's Gaussian KL), Bayes' rule per component, and scipy's
adaptive Gauss-Kronrod quadrature (quad_vec, quad) instead of the module's grid. Every schedule at the smallest and
largest T, the page's cosine schedule at every T its slider offers, both reverse variances, t = 0 (L₀) and
t = T-1 (the last KL term and L_T).
"""
import math

import numpy as np
import pytest
from scipy.integrate import quad, quad_vec

from explainer.core import elbo
from explainer.core.schedules import SCHEDULE_NAMES, make_schedule
from explainer.lessons.notation import number

PAGE_T_CHOICES = [2, 3, 4, 5, 10, 20, 50, 100, 200, 500, 1000]   # app_pages/learning.py, the "Number of steps T" slider
REL, ABS = 1e-7, 1e-9   # far inside the last shown digit (5e-5 of a 4-significant-digit term, 5e-6 nats)


def _expected_posterior_variance(mix, alpha_bars):
    """E_{x_t ~ q(x_t)}[Var(x_0 | x_t)] for each alpha_bar, by adaptive quadrature over x_t.

    q(x_t) = sum_k w_k N(sqrt(ab) m_k, ab s_k^2 + 1 - ab) (Eq. 4 per component); given x_t and the component,
    x_0 is Gaussian with variance s^2 (1 - ab) / (ab s^2 + 1 - ab) and mean v' (m / s^2 + sqrt(ab) x_t / (1 - ab)).
    """
    w, m, s2 = mix.w, mix.m, mix.s2
    ab = np.asarray(alpha_bars, dtype=np.float64)[:, None]
    mu, var = np.sqrt(ab) * m, ab * s2 + 1 - ab
    v_post = s2 * (1 - ab) / var
    scale = 1 - ab[:, 0]   # each row's integral is about this size: the 'max' norm then asks each for its digits

    def integrand(x):
        log_p = np.log(w) - 0.5 * np.log(2 * np.pi * var) - (x - mu) ** 2 / (2 * var)
        top = log_p.max(axis=1, keepdims=True)
        p = np.exp(log_p - top)
        r = p / p.sum(axis=1, keepdims=True)
        q = np.exp(top[:, 0]) * p.sum(axis=1)
        m_post = v_post * (m / s2 + np.sqrt(ab) * x / (1 - ab))
        mean = np.sum(r * m_post, axis=1, keepdims=True)
        return q * np.sum(r * (v_post + (m_post - mean) ** 2), axis=1) / scale

    value, err = quad_vec(integrand, -12.0, 12.0, epsabs=1e-300, epsrel=1e-12, norm="max", limit=20_000,
                          points=sorted(set(m.tolist()) | {0.0}))
    assert err < 1e-10
    return value * scale


def _reference(mix, schedule):
    """Every term of Ho et al. 2020, Eq. 5, for both reverse variances, from the formulas written here."""
    ab = schedule.alpha_bars                       # the paper's alpha_bar_t is ab[t - 1]
    ab_prev = np.r_[1.0, ab[:-1]]
    beta = 1 - ab / ab_prev
    e_var = _expected_posterior_variance(mix, ab)

    def density(x):
        return sum(w * math.exp(-(x - m) ** 2 / (2 * s2)) / math.sqrt(2 * math.pi * s2)
                   for w, m, s2 in zip(mix.w, mix.m, mix.s2))

    entropy = quad(lambda x: -density(x) * math.log(density(x)) if density(x) > 0 else 0.0, -3.0, 3.0,
                   points=list(mix.m), limit=500, epsabs=1e-13, epsrel=1e-13)[0]
    a_T = ab[-1]                                   # L_T = E_x0 KL(N(sqrt(a_T) x0, 1 - a_T) || N(0, 1))
    L_T = quad(lambda x: density(x) * 0.5 * (a_T * x * x - a_T - math.log1p(-a_T)), -3.0, 3.0,
               points=list(mix.m), limit=500, epsabs=1e-16, epsrel=1e-12)[0]
    # L_0 = E[-log N(x_0; E[x_0 | x_1], beta_1)]
    L_0 = 0.5 * math.log(2 * math.pi * beta[0]) + e_var[0] / (2 * beta[0])
    out = {}
    for variance in ("beta_tilde", "beta"):
        terms = []
        for t in range(2, schedule.num_steps + 1):   # L_{t-1}, Eq. 5: KL(N(mu_tilde, beta_tilde) || N(mu*, sigma^2))
            i = t - 1
            beta_tilde = (1 - ab_prev[i]) / (1 - ab[i]) * beta[i]                       # Eq. 7
            c0 = math.sqrt(ab_prev[i]) * beta[i] / (1 - ab[i])                          # x_0's weight in mu_tilde
            sigma2 = beta_tilde if variance == "beta_tilde" else beta[i]
            mean_gap2 = c0 ** 2 * e_var[i]                                               # E (mu_tilde - mu*)^2
            terms.append(0.5 * (math.log(sigma2 / beta_tilde) + (beta_tilde + mean_gap2) / sigma2 - 1))
        terms = np.array(terms)
        total = L_T + terms.sum() + L_0
        out[variance] = dict(L_T=L_T, L_t=terms, L_0=L_0, kl_sum=terms.sum(), total=total, entropy=entropy,
                             gap=total - entropy)
    return out


def _check(mix_name, schedule):
    mix = elbo.MIXTURES[mix_name]
    ref = _reference(mix, schedule)
    bounds = elbo.variational_bounds(mix, schedule)
    T = schedule.num_steps
    for variance, r in ref.items():
        b = bounds[variance]
        where = f"{mix_name}, {schedule.name}, T = {T}, {variance}"
        assert b.L_T == pytest.approx(r["L_T"], rel=1e-9, abs=1e-15), where
        assert number(b.L_T) == number(r["L_T"]), where
        assert b.L_0 == pytest.approx(r["L_0"], abs=ABS), f"L_0 (t = 0), {where}"
        # the first and the last KL term (t = 1 and t = T-1 in the app's counting) by name, then all of them
        assert b.L_t[0] == pytest.approx(r["L_t"][0], rel=REL, abs=1e-15), f"first KL term, {where}"
        assert b.L_t[-1] == pytest.approx(r["L_t"][-1], rel=REL, abs=1e-15), f"last KL term, {where}"
        worst = int(np.argmax(np.abs(b.L_t - r["L_t"]) / np.maximum(r["L_t"], 1e-15)))
        assert b.L_t[worst] == pytest.approx(r["L_t"][worst], rel=REL, abs=1e-15), f"L_{worst + 1}, {where}"
        assert [f"{v:.4g}" for v in b.L_t] == [f"{v:.4g}" for v in r["L_t"]], where
        assert [number(v) for v in b.L_t] == [number(v) for v in r["L_t"]], where
        for key in ("kl_sum", "total", "entropy", "gap"):
            assert getattr(b, key) == pytest.approx(r[key], abs=ABS), f"{key}, {where}"
        for key in ("kl_sum", "L_0", "total", "entropy", "gap"):
            for fmt in (".4f", ".5f"):
                assert format(getattr(b, key), fmt) == format(r[key], fmt), f"{key} shown as {fmt}, {where}"


@pytest.mark.parametrize("mix_name", list(elbo.MIXTURES))
@pytest.mark.parametrize("T", PAGE_T_CHOICES)
def test_every_number_the_page_shows_for_the_cosine_schedule(mix_name, T):
    _check(mix_name, make_schedule("cosine", T))


@pytest.mark.parametrize("mix_name", list(elbo.MIXTURES))
@pytest.mark.parametrize("schedule_name", [s for s in SCHEDULE_NAMES if s != "cosine"])
@pytest.mark.parametrize("T", [2, 1000])
def test_every_schedule_at_the_smallest_and_largest_T(mix_name, schedule_name, T):
    _check(mix_name, make_schedule(schedule_name, T))


def test_the_reference_sees_the_error_that_per_component_gauss_hermite_nodes_made():
    """The case the issue found (three Gaussians, T = 50, beta_tilde: 0.6400 shown, 0.6402 right), by its digits."""
    b = elbo.variational_bound(elbo.MIXTURES["three Gaussians"], make_schedule("cosine", 50), "beta_tilde")
    ref = _reference(elbo.MIXTURES["three Gaussians"], make_schedule("cosine", 50))["beta_tilde"]
    assert f"{ref['total']:.4f}" == "0.6402"
    assert f"{b.total:.4f}" == "0.6402"
