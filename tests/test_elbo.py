"""explainer/elbo.py: the variational bound of 1-D Gaussian-mixture data, exact, against Monte Carlo."""
import math

import numpy as np
import pytest

from explainer.core import elbo
from explainer.core.schedules import make_schedule

MIX = elbo.MIXTURES["two Gaussians"]


def _grid_expectation(mix, f, n=40001, lo=-8.0, hi=8.0):
    x = np.linspace(lo, hi, n)
    return np.trapezoid(mix.pdf(x) * f(x), x)


def test_mixture_density_and_noising():
    x = np.linspace(-6, 6, 20001)
    for mix in elbo.MIXTURES.values():
        assert np.trapezoid(mix.pdf(x), x) == pytest.approx(1.0, abs=1e-6)
        assert _grid_expectation(mix, lambda v: v ** 2) == pytest.approx(mix.second_moment(), rel=1e-6)
        q = mix.noised(0.3)
        samples = math.sqrt(0.3) * mix.sample(400_000, np.random.default_rng(0)) + \
            math.sqrt(0.7) * np.random.default_rng(1).standard_normal(400_000)
        assert samples.var() == pytest.approx(_grid_expectation(q, lambda v: v ** 2), rel=0.01)
    with pytest.raises(ValueError):
        elbo.Mixture1D((0.5, 0.6), (0, 1), (1, 1))


@pytest.mark.parametrize("ab", [0.999, 0.5, 0.01])
def test_posterior_moments_match_numerical_integration(ab):
    xs = np.linspace(-4, 4, 20001)
    for x_t in (-0.7, 0.1, 1.3):
        # q(x_0 | x_t) proportional to q(x_0) N(x_t; sqrt(ab) x_0, 1 - ab), integrated on a grid.
        w = MIX.pdf(xs) * elbo.gaussian_pdf(x_t, math.sqrt(ab) * xs, 1 - ab)
        w /= np.trapezoid(w, xs)
        mean = np.trapezoid(w * xs, xs)
        var = np.trapezoid(w * (xs - mean) ** 2, xs)
        m, v = elbo.posterior_moments(MIX, x_t, ab)
        assert float(m) == pytest.approx(mean, abs=1e-6)
        assert float(v) == pytest.approx(var, rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("ab", [0.9995, 0.8, 0.2, 0.001])
def test_quadrature_of_the_expected_posterior_variance(ab):
    dense = _grid_expectation(MIX.noised(ab), lambda x: elbo.posterior_moments(MIX, x, ab)[1], n=200001)
    assert elbo.expected_posterior_variance(MIX, ab) == pytest.approx(dense, rel=1e-5)


def test_prior_term_closed_form_against_monte_carlo():
    s = make_schedule("cosine", 3)
    ab = s.alpha_bars[-1]
    rng = np.random.default_rng(0)
    x0 = MIX.sample(400_000, rng)
    kl = elbo.gaussian_kl(math.sqrt(ab) * x0, 1 - ab, 0.0, 1.0)
    assert elbo.prior_term(MIX, s) == pytest.approx(kl.mean(), rel=1e-3)


@pytest.mark.parametrize("variance", list(elbo.VARIANCES))
@pytest.mark.parametrize("T", [3, 10, 50])
def test_kl_terms_match_monte_carlo(T, variance):
    s = make_schedule("cosine", T)
    exact = elbo.kl_terms(MIX, s, variance)
    rng = np.random.default_rng(T)
    for t in sorted({1, T // 2, T - 1}):   # the library's steps: the first KL term, one in the middle, the last
        mc, se = elbo.monte_carlo_kl_term(MIX, s, t, variance, 200_000, rng)
        assert abs(exact[t - 1] - mc) < 5 * se + 1e-6, (t, exact[t - 1], mc, se)


@pytest.mark.parametrize("mixture", list(elbo.MIXTURES))
@pytest.mark.parametrize("variance", list(elbo.VARIANCES))
@pytest.mark.parametrize("T", [2, 5, 20])
def test_whole_bound_matches_the_forward_chain_estimate(mixture, variance, T):
    """Ho et al. Eq. 5 (the sum of exact terms) against Eq. 3 estimated along sampled chains."""
    mix = elbo.MIXTURES[mixture]
    s = make_schedule("cosine", T)
    b = elbo.variational_bound(mix, s, variance)
    mc, se = elbo.monte_carlo_bound(mix, s, variance, 200_000, np.random.default_rng(7))
    assert abs(b.total - mc) < 5 * se, (b.total, mc, se)
    assert len(b.L_t) == T - 1
    assert b.total == pytest.approx(b.L_T + b.L_t.sum() + b.L_0)


@pytest.mark.parametrize("T", [2, 3, 10, 100, 1000])
def test_bound_is_never_below_the_data_entropy(T):
    s = make_schedule("cosine", T)
    for mix in elbo.MIXTURES.values():
        for variance in elbo.VARIANCES:
            b = elbo.variational_bound(mix, s, variance)
            assert b.gap > 0 and np.all(b.L_t >= 0) and b.L_T >= 0


def test_entropy_against_numerical_integration():
    for mix in elbo.MIXTURES.values():
        x = np.linspace(-3, 3, 60001)  # where the density is not 0 in float64
        p = mix.pdf(x)
        assert mix.entropy() == pytest.approx(np.trapezoid(-p * np.log(p), x), rel=1e-6)


def test_more_steps_tighten_the_bound_with_sigma_beta():
    totals = [elbo.variational_bound(MIX, make_schedule("cosine", T), "beta").total for T in (5, 50, 1000)]
    assert totals[0] > totals[1] > totals[2]


def test_one_step_densities():
    s = make_schedule("cosine", 3)
    x = np.linspace(-4, 4, 8001)
    true = elbo.true_reverse(MIX, s, 1, 0.2)
    assert np.trapezoid(true.pdf(x), x) == pytest.approx(1.0, abs=1e-6)
    m_p, v_p = elbo.best_reverse(MIX, s, 1, 0.2, "beta_tilde")
    # The best Gaussian's mean is the true reverse step's mean (the average of the posterior means).
    assert m_p == pytest.approx(np.trapezoid(x * true.pdf(x), x), abs=1e-6)
    m_q, v_q = elbo.forward_posterior(s, 1, 0.2, 0.6)
    c = elbo.posterior_step(s, 1)
    assert (m_q, v_q) == pytest.approx((c.c0 * 0.6 + c.ct * 0.2, c.beta_tilde))
    assert v_p == pytest.approx(c.beta_tilde)
    with pytest.raises(ValueError):
        elbo.posterior_step(s, -1)
    with pytest.raises(ValueError):
        elbo.posterior_step(s, 3)


def _modes(mix, x):
    d = mix.pdf(x)
    return int(np.sum((d[1:-1] > d[:-2]) & (d[1:-1] > d[2:]) & (d[1:-1] > 1e-3 * d.max())))


def test_large_steps_have_multimodal_reverse_steps_and_small_ones_do_not():
    x = np.linspace(-3, 3, 3001)
    few = make_schedule("cosine", 10)  # the page's default: at its t = 2 (step 1) the step is large next to the gap
    for mix in elbo.MIXTURES.values():
        assert max(_modes(elbo.true_reverse(mix, few, 1, x_t), x) for x_t in np.linspace(-1, 1, 21)) >= 2
    many = make_schedule("cosine", 1000)
    for mix in elbo.MIXTURES.values():
        for t in (1, 2, 9, 99, 499, 899):
            assert all(_modes(elbo.true_reverse(mix, many, t, x_t), x) == 1 for x_t in np.linspace(-1.5, 1.5, 31)), t


def test_bounds_for_both_variances_share_their_integral():
    s = make_schedule("cosine", 30)
    both = elbo.variational_bounds(MIX, s)
    for v in elbo.VARIANCES:
        one = elbo.variational_bound(MIX, s, v)
        np.testing.assert_allclose(both[v].L_t, one.L_t, rtol=1e-12)
        assert both[v].total == pytest.approx(one.total, rel=1e-12)
    # beta_tilde is the true posterior's variance, so its KL terms lack the variance mismatch beta adds ...
    # ... but the best mean is the same: at every t the two differ only by that closed-form mismatch.
    c = [elbo.posterior_step(s, t) for t in range(1, 30)]
    r = np.array([x.beta_tilde / x.beta for x in c])
    e = np.array([elbo.expected_posterior_variance(MIX, x.alpha_bar) for x in c])
    c0 = np.array([x.c0 for x in c])
    beta = np.array([x.beta for x in c])
    np.testing.assert_allclose(both["beta"].L_t, 0.5 * (r - 1 - np.log(r)) + c0 ** 2 / (2 * beta) * e, rtol=1e-10)


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("T", [2, 1000])
def test_posterior_step_counts_from_zero_like_the_schedule(name, T):
    """Step t is alpha_bars[t] (explainer.core.schedules): at t = 0 the previous level is the data (alpha_bar 1,
    beta_tilde 0); at t = T-1 it is the last level. Eq. 7 written here."""
    s = make_schedule(name, T)
    for t in (0, T - 1):
        ab, ab_prev = s.alpha_bars[t], (1.0 if t == 0 else s.alpha_bars[t - 1])
        beta = 1 - ab / ab_prev
        c = elbo.posterior_step(s, t)
        assert (c.alpha_bar, c.alpha_bar_prev) == (ab, ab_prev)
        assert c.beta == pytest.approx(beta, rel=1e-12)
        assert c.beta_tilde == pytest.approx((1 - ab_prev) / (1 - ab) * beta, rel=1e-12, abs=1e-300)
        assert c.c0 == pytest.approx(math.sqrt(ab_prev) * beta / (1 - ab), rel=1e-12)
    assert elbo.posterior_step(s, 0).beta_tilde == 0.0
