import math

import numpy as np
import pytest
import torch

from explainer.core.forward import markov_chain, posterior_variance, q_posterior, q_sample
from explainer.core.samplers import (cfg_eps, ddim_sigma, ddim_step, ddpm_step, guided_eps_model, make_timesteps,
                                predict_x0, sample, sample_loop, step_coefficients)
from explainer.core.schedules import make_schedule

S = make_schedule("linear", 1000)
D = torch.float64


def g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("t", [0, 10, 500, 999])
def test_q_sample_statistics(t):
    """Mean sqrt(ab) x0 and variance 1 - ab (Eq. 4). The noise comes in +/- pairs, so its sample mean is
    exactly 0 and the mean of x_t is checked to rounding error, even at t = 999 where sqrt(ab) x0 is
    only 0.0045 (and ab x0, the value of a wrong formula, 0.00003)."""
    half = torch.randn(100_000, generator=g(t), dtype=D)
    eps = torch.cat([half, -half])
    x0 = torch.full(eps.shape, 0.7, dtype=D)
    x_t = q_sample(S, x0, t, eps)
    ab = S.alpha_bars[t]
    want, tol = math.sqrt(ab) * 0.7, 1e-12
    assert abs(want - ab * 0.7) > 100 * tol and abs(want) > 100 * tol  # the check tells the formulas apart
    assert x_t.mean().item() == pytest.approx(want, abs=tol)
    assert x_t.var().item() == pytest.approx(1 - ab, rel=0.02)


def test_q_sample_per_example_t_and_dtype():
    x0 = torch.randn(4, 1, 3, 3, generator=g())
    noise = torch.randn(4, 1, 3, 3, generator=g(1))
    t = torch.tensor([0, 5, 500, 999])
    out = q_sample(S, x0, t, noise)
    assert out.shape == x0.shape and out.dtype == torch.float32
    for i in range(4):
        one = q_sample(S, x0[i], int(t[i]), noise[i])
        torch.testing.assert_close(out[i], one)


@pytest.mark.parametrize("t", [0, 1, 300, 999])
def test_predict_x0_inverts_q_sample(t):
    x0 = torch.randn(8, 5, generator=g(), dtype=D)
    eps = torch.randn(8, 5, generator=g(1), dtype=D)
    x_t = q_sample(S, x0, t, eps)
    torch.testing.assert_close(predict_x0(S, x_t, t, eps), x0, rtol=1e-7, atol=1e-7)


def test_markov_chain_matches_closed_form_distribution():
    sched = make_schedule("linear", 50, beta_start=1e-3, beta_end=0.05)
    x0 = torch.full((100_000,), -0.5, dtype=D)
    x_t = markov_chain(sched, x0, 39, generator=g(3))
    ab = sched.alpha_bars[39]
    assert x_t.mean().item() == pytest.approx(math.sqrt(ab) * -0.5, abs=0.01)
    assert x_t.var().item() == pytest.approx(1 - ab, rel=0.02)


@pytest.mark.parametrize("t", [0, 1, 400, 999])
def test_q_posterior_formula(t):
    x0 = torch.randn(6, generator=g(), dtype=D)
    x_t = torch.randn(6, generator=g(1), dtype=D)
    mean, var = q_posterior(S, x0, x_t, t)
    ab, b = S.alpha_bars, S.betas
    ab_prev = ab[t - 1] if t > 0 else 1.0
    expected_mean = (math.sqrt(ab_prev) * b[t] / (1 - ab[t])) * x0 + (
        math.sqrt(1 - b[t]) * (1 - ab_prev) / (1 - ab[t])) * x_t
    torch.testing.assert_close(mean, expected_mean)
    assert var.item() == pytest.approx((1 - ab_prev) / (1 - ab[t]) * b[t])


def test_q_posterior_is_bayes_rule():
    # q(x_{t-1} | x_t, x0) is proportional to q(x_t | x_{t-1}) q(x_{t-1} | x0): check on a 1-D grid.
    t, x0v, xtv = 300, 0.3, -0.4
    ab_prev, beta = S.alpha_bars[t - 1], S.betas[t]
    grid = np.linspace(-4, 4, 200_001)
    logp = (-(xtv - math.sqrt(1 - beta) * grid) ** 2 / (2 * beta)
            - (grid - math.sqrt(ab_prev) * x0v) ** 2 / (2 * (1 - ab_prev)))
    w = np.exp(logp - logp.max())
    w /= w.sum()
    m = (w * grid).sum()
    v = (w * (grid - m) ** 2).sum()
    mean, var = q_posterior(S, torch.tensor(x0v, dtype=D), torch.tensor(xtv, dtype=D), t)
    assert mean.item() == pytest.approx(m, abs=1e-6)
    assert var.item() == pytest.approx(v, rel=1e-4)


@pytest.mark.parametrize("t", [1, 10, 500, 999])
def test_ddpm_step_equals_posterior_with_predicted_x0(t):
    x_t = torch.randn(16, generator=g(), dtype=D)
    eps = torch.randn(16, generator=g(1), dtype=D)
    z = torch.randn(16, generator=g(2), dtype=D)
    mean, var = q_posterior(S, predict_x0(S, x_t, t, eps), x_t, t)
    # Eq. 11 (the eps form) equals Eq. 7 evaluated at x0_hat.
    torch.testing.assert_close(ddpm_step(S, x_t, t, eps, None), mean, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(ddpm_step(S, x_t, t, eps, z), mean + var.sqrt() * z, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(ddpm_step(S, x_t, t, eps, z, variance="fixed_large"),
                               mean + math.sqrt(S.betas[t]) * z, rtol=1e-9, atol=1e-9)
    # Eq. 11 written out by hand.
    a, ab = 1 - S.betas[t], S.alpha_bars[t]
    hand = (x_t - (1 - a) / math.sqrt(1 - ab) * eps) / math.sqrt(a)
    torch.testing.assert_close(ddpm_step(S, x_t, t, eps, None), hand, rtol=1e-9, atol=1e-9)


def test_ddpm_step_last_step_adds_no_noise_and_clip():
    x_t = torch.randn(16, generator=g(), dtype=D)
    eps = torch.randn(16, generator=g(1), dtype=D)
    z = torch.randn(16, generator=g(2), dtype=D)
    torch.testing.assert_close(ddpm_step(S, x_t, 0, eps, z), ddpm_step(S, x_t, 0, eps, None))
    with pytest.raises(ValueError):
        ddpm_step(S, x_t, 5, eps, z, variance="bogus")
    # Clipping changes nothing when x0_hat is already inside [-1, 1] ...
    x0 = torch.rand(16, generator=g(3), dtype=D) * 1.8 - 0.9
    xt = q_sample(S, x0, 200, eps)
    torch.testing.assert_close(ddpm_step(S, xt, 200, eps, z, clip_x0=True), ddpm_step(S, xt, 200, eps, z))
    # ... and pulls the mean towards the clipped x0_hat when it is not.
    far = q_sample(S, torch.full((16,), 5.0, dtype=D), 200, eps)
    assert not torch.allclose(ddpm_step(S, far, 200, eps, None, clip_x0=True), ddpm_step(S, far, 200, eps, None))


def test_ddim_eta0_deterministic_and_formula():
    x_t = torch.randn(10, generator=g(), dtype=D)
    eps = torch.randn(10, generator=g(1), dtype=D)
    t, tp = 600, 400
    out = ddim_step(S, x_t, t, tp, eps)
    torch.testing.assert_close(out, ddim_step(S, x_t, t, tp, eps, noise=torch.randn(10, dtype=D)))
    ab, abp = S.alpha_bars[t], S.alpha_bars[tp]
    x0 = (x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
    torch.testing.assert_close(out, math.sqrt(abp) * x0 + math.sqrt(1 - abp) * eps)
    # To the clean end (t_prev = -1) DDIM returns x0_hat.
    torch.testing.assert_close(ddim_step(S, x_t, t, -1, eps), x0)
    with pytest.raises(ValueError, match="noise"):
        ddim_step(S, x_t, t, tp, eps, eta=0.5)


@pytest.mark.parametrize("t", [1, 50, 999])
def test_ddim_eta1_equals_ddpm(t):
    assert ddim_sigma(S, t, t - 1, 1.0) ** 2 == pytest.approx(posterior_variance(S)[t], rel=1e-9)
    x_t = torch.randn(10, generator=g(), dtype=D)
    eps = torch.randn(10, generator=g(1), dtype=D)
    z = torch.randn(10, generator=g(2), dtype=D)
    torch.testing.assert_close(ddim_step(S, x_t, t, t - 1, eps, eta=1.0, noise=z),
                               ddpm_step(S, x_t, t, eps, z), rtol=1e-9, atol=1e-9)


def test_ddpm_skipping_steps_equals_ddim_eta1():
    x_t = torch.randn(10, generator=g(), dtype=D)
    eps = torch.randn(10, generator=g(1), dtype=D)
    z = torch.randn(10, generator=g(2), dtype=D)
    torch.testing.assert_close(ddpm_step(S, x_t, 700, eps, z, t_prev=500),
                               ddim_step(S, x_t, 700, 500, eps, eta=1.0, noise=z), rtol=1e-9, atol=1e-9)


def test_timestep_spacings_match_diffusers():
    assert make_timesteps(1000, 10, "leading").tolist() == [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
    assert make_timesteps(1000, 10, "trailing").tolist() == [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
    assert make_timesteps(1000, 10, "linspace").tolist() == [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]
    assert make_timesteps(1000, 3, "leading").tolist() == [666, 333, 0]
    assert make_timesteps(1000, 3, "trailing").tolist() == [999, 666, 332]
    assert make_timesteps(1000, 3, "linspace").tolist() == [999, 500, 0]
    for sp in ("leading", "trailing", "linspace"):
        ts = make_timesteps(1000, 1000, sp)
        assert ts.tolist() == list(range(999, -1, -1)) and ts.dtype == np.int64
    with pytest.raises(ValueError):
        make_timesteps(1000, 0)
    with pytest.raises(ValueError):
        make_timesteps(1000, 10, "bogus")


def test_guidance():
    eu, ec = torch.randn(3, generator=g()), torch.randn(3, generator=g(1))
    torch.testing.assert_close(cfg_eps(eu, ec, 1.0), ec)
    torch.testing.assert_close(cfg_eps(eu, ec, 0.0), eu)
    w = 2.0  # Ho & Salimans' (1 + w) eps_c - w eps_u is scale s = 1 + w.
    torch.testing.assert_close(cfg_eps(eu, ec, 1 + w), (1 + w) * ec - w * eu)

    def eps_fn(x, t, labels):
        return x * (labels[:, None].float() + 1) + t[:, None].float() / 1000

    x = torch.randn(4, 2, generator=g())
    t = torch.full((4,), 10)
    labels = torch.tensor([0, 1, 2, 3])
    cond = eps_fn(x, t, labels)
    torch.testing.assert_close(guided_eps_model(eps_fn, labels, 10, 1.0)(x, t), cond)
    unc = eps_fn(x, t, torch.full((4,), 10))
    torch.testing.assert_close(guided_eps_model(eps_fn, labels, 10, 3.0)(x, t), unc + 3 * (cond - unc))


def _oracle(sched, c):
    """The exact eps-predictor when the data is the single point c."""
    def eps_model(x_t, t):
        ab = torch.as_tensor(sched.alpha_bars[t.numpy()], dtype=x_t.dtype)[:, None]
        return (x_t - ab.sqrt() * c) / (1 - ab).sqrt()
    return eps_model


@pytest.mark.parametrize("sampler,steps", [("ddim", 20), ("ddpm", 1000), ("ddpm", 25)])
def test_sample_loop_with_exact_model_recovers_data(sampler, steps):
    c = torch.tensor([0.25, -0.5], dtype=D)
    x_T = torch.randn(5, 2, generator=g(), dtype=D)
    ts = make_timesteps(1000, steps, "trailing")
    records = list(sample_loop(_oracle(S, c), S, x_T, ts, sampler=sampler, generator=g(1)))
    assert len(records) == steps and records[-1].t_prev == -1
    assert [r.t for r in records] == ts.tolist()
    torch.testing.assert_close(records[-1].x_prev, c.expand(5, 2), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(records[3].x0_hat, c.expand(5, 2), rtol=1e-6, atol=1e-6)
    for a, b in zip(records[:-1], records[1:]):
        assert torch.equal(a.x_prev, b.x_t)


def test_sample_loop_seeded_reproducible():
    def eps_model(x, t):
        return 0.5 * x

    x_T = torch.randn(3, 4, generator=g())
    ts = make_timesteps(1000, 30)
    a = sample(eps_model, S, x_T, ts, sampler="ddpm", generator=g(7))
    b = sample(eps_model, S, x_T, ts, sampler="ddpm", generator=g(7))
    c = sample(eps_model, S, x_T, ts, sampler="ddpm", generator=g(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    d1 = sample(eps_model, S, x_T, ts, sampler="ddim", eta=0.0)
    d2 = sample(eps_model, S, x_T, ts, sampler="ddim", eta=0.0)
    assert torch.equal(d1, d2)
    with pytest.raises(ValueError):
        next(sample_loop(eps_model, S, x_T, ts, sampler="euler"))


def test_ddim_clip_rederives_eps_from_clipped_x0():
    x_t = torch.randn(10, generator=g(), dtype=D) * 3
    eps = torch.randn(10, generator=g(1), dtype=D)
    t, tp = 900, 700
    ab, abp = S.alpha_bars[t], S.alpha_bars[tp]
    x0c = ((x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(-1, 1)
    eps_c = (x_t - math.sqrt(ab) * x0c) / math.sqrt(1 - ab)
    torch.testing.assert_close(ddim_step(S, x_t, t, tp, eps, clip_x0=True),
                               math.sqrt(abp) * x0c + math.sqrt(1 - abp) * eps_c)
    # Nothing to clip: the same as the plain update.
    x_in = q_sample(S, torch.rand(10, generator=g(2), dtype=D) * 1.8 - 0.9, t, eps)
    torch.testing.assert_close(ddim_step(S, x_in, t, tp, eps, clip_x0=True), ddim_step(S, x_in, t, tp, eps))


@pytest.mark.parametrize("t,t_prev,eta", [(999, 899, 0.0), (600, 400, 0.0), (600, 400, 0.7), (500, 499, 1.0),
                                          (40, -1, 0.0), (40, -1, 1.0)])
def test_step_coefficients_rebuild_the_ddim_step(t, t_prev, eta):
    """The numbers the reverse page fills into DDIM's Eq. 12 are the ones ddim_step uses."""
    x_t = torch.randn(12, generator=g(), dtype=D)
    eps = torch.randn(12, generator=g(1), dtype=D)
    z = torch.randn(12, generator=g(2), dtype=D)
    co = step_coefficients(S, t, t_prev, "ddim", eta)
    ab_prev = S.alpha_bars[t_prev] if t_prev >= 0 else 1.0
    assert co["alpha_bar_t"] == S.alpha_bars[t] and co["alpha_bar_prev"] == ab_prev
    assert co["sigma"] == pytest.approx(ddim_sigma(S, t, t_prev, eta), rel=1e-12)
    assert co["c_x0"] == pytest.approx(math.sqrt(ab_prev), rel=1e-12)
    assert co["c_eps"] ** 2 + co["sigma"] ** 2 == pytest.approx(1 - ab_prev, abs=1e-12)
    x0_hat = predict_x0(S, x_t, t, eps)
    rebuilt = co["c_x0"] * x0_hat + co["c_eps"] * eps + co["sigma"] * z
    torch.testing.assert_close(rebuilt, ddim_step(S, x_t, t, t_prev, eps, eta=eta, noise=z), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("t,t_prev", [(999, 998), (500, 499), (700, 500), (30, -1)])
@pytest.mark.parametrize("variance", ["fixed_small", "fixed_large"])
def test_step_coefficients_rebuild_the_ddpm_step(t, t_prev, variance):
    """DDPM's Eq. 7 around x0_hat, with the page's numbers, is ddpm_step (skipped steps included)."""
    x_t = torch.randn(12, generator=g(), dtype=D)
    eps = torch.randn(12, generator=g(1), dtype=D)
    z = torch.randn(12, generator=g(2), dtype=D)
    co = step_coefficients(S, t, t_prev, "ddpm", variance=variance)
    ab_t, ab_prev = S.alpha_bars[t], (S.alpha_bars[t_prev] if t_prev >= 0 else 1.0)
    assert co["beta"] == pytest.approx(1 - ab_t / ab_prev, rel=1e-12)  # the two-step beta when skipping
    if t_prev == t - 1:
        assert co["beta"] == pytest.approx(S.betas[t], rel=1e-9)
    assert co["c_x0"] == pytest.approx(math.sqrt(ab_prev) * co["beta"] / (1 - ab_t), rel=1e-12)
    assert co["c_xt"] == pytest.approx(math.sqrt(1 - co["beta"]) * (1 - ab_prev) / (1 - ab_t), rel=1e-12)
    want_sigma = 0.0 if t_prev < 0 else math.sqrt(co["beta"] * ((1 - ab_prev) / (1 - ab_t) if variance == "fixed_small"
                                                                else 1.0))
    assert co["sigma"] == pytest.approx(want_sigma, rel=1e-12, abs=1e-15)
    rebuilt = co["c_x0"] * predict_x0(S, x_t, t, eps) + co["c_xt"] * x_t + co["sigma"] * z
    torch.testing.assert_close(rebuilt, ddpm_step(S, x_t, t, eps, z, variance=variance, t_prev=t_prev),
                               rtol=1e-9, atol=1e-9)
