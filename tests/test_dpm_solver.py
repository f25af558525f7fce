"""DPM-Solver++(2M): the update against Lu et al. 2022 (Algorithm 2) and step for step against diffusers."""
import math

import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler

from explainer.lessons.sampler_equations import dpmpp_2m_latex
from explainer.core.samplers import (dpm_lambda, dpmpp_2m_coefficients, dpmpp_2m_step, make_timesteps,
                                predict_x0, sample, sample_loop, step_coefficients, ddim_step)
from explainer.core.schedules import make_schedule

# diffusers' set_timesteps calls np.array on a tensor, which numpy 2 warns about; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

D = torch.float64
SCHEDULES = {"linear": make_schedule("linear", 1000), "cosine": make_schedule("cosine", 1000)}
DIFFUSERS_NAMES = {"linear": "linear", "cosine": "squaredcos_cap_v2"}


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def alpha_sigma_lambda(S, t):
    ab = S.alpha_bars[t]
    return math.sqrt(ab), math.sqrt(1 - ab), math.log(math.sqrt(ab) / math.sqrt(1 - ab))


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("t_last,t,t_prev", [(999, 949, 899), (700, 600, 500), (60, 40, 20), (2, 1, 0)])
def test_second_order_step_is_algorithm_2(name, t_last, t, t_prev):
    S = SCHEDULES[name]
    x_t, x0, x0_last = (torch.randn(7, generator=g(i), dtype=D) for i in range(3))
    a_p, s_p, l_p = alpha_sigma_lambda(S, t_prev)
    _, s_t, l_t = alpha_sigma_lambda(S, t)
    _, _, l_last = alpha_sigma_lambda(S, t_last)
    h, h_last = l_p - l_t, l_t - l_last
    r = h_last / h
    d = (1 + 1 / (2 * r)) * x0 - 1 / (2 * r) * x0_last
    expected = s_p / s_t * x_t - a_p * (math.exp(-h) - 1) * d
    out = dpmpp_2m_step(S, x_t, t, t_prev, x0, prev=(t_last, x0_last))
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)
    c = step_coefficients(S, t, t_prev, "dpm++2m", t_last=t_last)
    torch.testing.assert_close(out, c["c_xt"] * x_t + c["c_x0"] * x0 + c["c_x0_last"] * x0_last, rtol=1e-12,
                               atol=1e-12)
    assert c["h"] == pytest.approx(h) and c["r"] == pytest.approx(r) and c["sigma"] == 0.0
    assert dpm_lambda(S, t) == pytest.approx(l_t, rel=1e-12)


@pytest.mark.parametrize("t,t_prev", [(999, 899), (500, 400), (30, 10)])
def test_first_order_step_is_ddim(t, t_prev):
    S = SCHEDULES["cosine"]
    x_t, eps = torch.randn(9, generator=g(), dtype=D), torch.randn(9, generator=g(1), dtype=D)
    x0 = predict_x0(S, x_t, t, eps)
    torch.testing.assert_close(dpmpp_2m_step(S, x_t, t, t_prev, x0), ddim_step(S, x_t, t, t_prev, eps),
                               rtol=1e-9, atol=1e-9)


def test_step_to_the_clean_end_returns_x0_hat_whatever_came_before():
    S = SCHEDULES["linear"]
    x_t, x0, x0_last = (torch.randn(5, generator=g(i), dtype=D) for i in range(3))
    torch.testing.assert_close(dpmpp_2m_step(S, x_t, 49, -1, x0, prev=(99, x0_last)), x0)
    torch.testing.assert_close(dpmpp_2m_step(S, x_t, 49, -1, x0), x0)
    assert dpm_lambda(S, -1) == math.inf


def test_equal_estimates_make_the_second_order_term_vanish():
    S = SCHEDULES["cosine"]
    x_t, x0 = torch.randn(5, generator=g(), dtype=D), torch.randn(5, generator=g(1), dtype=D)
    torch.testing.assert_close(dpmpp_2m_step(S, x_t, 600, 500, x0, prev=(700, x0)), dpmpp_2m_step(S, x_t, 600, 500, x0))


def test_cosine_last_lambda_jump_is_damped_not_amplified():
    """Out of t = 999 the cosine schedule's lambda drops by 3.5 in one index; the step after sees r >> 1."""
    S = SCHEDULES["cosine"]
    assert dpm_lambda(S, 998) - dpm_lambda(S, 999) > 3.0
    assert dpm_lambda(S, 997) - dpm_lambda(S, 998) < 1.0
    ts = make_timesteps(1000, 20, "trailing")
    first = dpmpp_2m_coefficients(S, ts[0], ts[1])
    assert first["h"] > 7 and 0 < first["c_xt"] <= 1 and 0 < first["c_x0"] <= math.sqrt(S.alpha_bars[ts[1]])
    second = dpmpp_2m_coefficients(S, ts[1], ts[2], t_last=ts[0])
    assert second["r"] > 10  # the jump lies in h_last, so the extrapolation weight 1/(2r) is small
    assert abs(second["c_x0_last"]) < 0.05 * second["c_x0"]


def _gaussian_oracle(S, mu, s):
    """The exact eps-predictor for data ~ N(mu, diag(s^2)): E[x0 | x_t] is linear in x_t."""
    def eps_model(x_t, t):
        ab = torch.as_tensor(S.alpha_bars[t.cpu().numpy()], dtype=x_t.dtype).reshape(-1, *[1] * (x_t.ndim - 1))
        x0 = mu + ab.sqrt() * s**2 / (ab * s**2 + 1 - ab) * (x_t - ab.sqrt() * mu)
        return (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()
    return eps_model


def _ode_solution(S, mu, s, x_T, t_start):
    """The probability-flow ODE keeps z = (x_t - sqrt(ab) mu) / sqrt(ab s^2 + 1 - ab) constant; x_0 = mu + s z."""
    ab = S.alpha_bars[t_start]
    return mu + s * (x_T - math.sqrt(ab) * mu) / torch.sqrt(ab * s**2 + 1 - ab)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_second_order_beats_ddim_on_the_exact_ode(name):
    S = SCHEDULES[name]
    mu, s = torch.tensor([0.5, -0.3], dtype=D), torch.tensor([0.2, 0.6], dtype=D)
    x_T = torch.randn(500, 2, generator=g(), dtype=D)
    exact = _ode_solution(S, mu, s, x_T, 999)

    def err(sampler, n):
        out = sample(_gaussian_oracle(S, mu, s), S, x_T, make_timesteps(1000, n, "trailing"), sampler=sampler)
        return (out - exact).norm(dim=1).mean().item()

    for n in (10, 20):
        assert err("dpm++2m", n) < 0.8 * err("ddim", n)
    if name == "cosine":  # order 2 against order 1: doubling the steps cuts the error ~4x against ~2x
        assert err("dpm++2m", 20) / err("dpm++2m", 40) > 3.5
        assert err("ddim", 20) / err("ddim", 40) < 2.2


def test_sample_loop_with_a_point_mass_recovers_it():
    S = SCHEDULES["cosine"]
    c = torch.tensor([0.25, -0.5], dtype=D)

    def eps_model(x_t, t):
        ab = torch.as_tensor(S.alpha_bars[t.numpy()], dtype=D)[:, None]
        return (x_t - ab.sqrt() * c) / (1 - ab).sqrt()

    recs = list(sample_loop(eps_model, S, torch.randn(4, 2, generator=g(), dtype=D),
                            make_timesteps(1000, 8, "trailing"), sampler="dpm++2m"))
    assert len(recs) == 8 and recs[-1].t_prev == -1
    torch.testing.assert_close(recs[-1].x_prev, c.expand(4, 2), rtol=1e-9, atol=1e-9)
    for a, b in zip(recs[:-1], recs[1:]):
        assert torch.equal(a.x_prev, b.x_t)


def _diffusers(name, steps, **kw):
    S = SCHEDULES[name]
    sch = DPMSolverMultistepScheduler(num_train_timesteps=1000, beta_schedule=DIFFUSERS_NAMES[name],
                                      algorithm_type="dpmsolver++", solver_order=2, lower_order_final=True,
                                      final_sigmas_type="zero", timestep_spacing="trailing", **kw)
    # diffusers' schedule is ours, up to its float32 cumprod ...
    np.testing.assert_allclose(sch.alphas_cumprod.double().numpy(), S.alpha_bars, rtol=3e-5)
    # ... which is replaced by ours in float64, so the comparison measures the solver alone.
    sch.alphas_cumprod = torch.from_numpy(S.alpha_bars.copy())
    sch.set_timesteps(steps)
    return sch


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [5, 20])  # diffusers treats fewer than 15 steps differently
def test_agrees_with_diffusers_step_for_step(name, steps):
    S = SCHEDULES[name]
    sch = _diffusers(name, steps, prediction_type="sample")
    ts = sch.timesteps.numpy()
    assert ts.tolist() == make_timesteps(1000, steps, "trailing").tolist()
    x0_seq = torch.randn(steps, 3, 1, 5, 5, generator=g(1), dtype=D)  # a fixed random "model"
    x_ours = x_theirs = torch.randn(3, 1, 5, 5, generator=g(), dtype=D)
    prev = None
    for i, t in enumerate(ts.tolist()):
        t_prev = int(ts[i + 1]) if i + 1 < len(ts) else -1
        x_ours = dpmpp_2m_step(S, x_ours, t, t_prev, x0_seq[i], prev)
        prev = (t, x0_seq[i])
        x_theirs = sch.step(x0_seq[i], t, x_theirs).prev_sample
        torch.testing.assert_close(x_ours, x_theirs, rtol=1e-5, atol=1e-5, msg=f"step {i} (t = {t})")
    torch.testing.assert_close(x_ours, x0_seq[-1])


@pytest.mark.parametrize("name,lambda_min", [("linear", float("-inf")), ("cosine", float("-inf")),
                                             ("cosine", -5.1)])
def test_sample_loop_agrees_with_diffusers_guided_style(name, lambda_min):
    """The whole loop with an x-dependent model, eps prediction and x0 clipping (diffusers' thresholding)."""
    S = SCHEDULES[name]
    sch = _diffusers(name, 10, prediction_type="epsilon", thresholding=True, sample_max_value=1.0,
                     lambda_min_clipped=lambda_min)
    ts = sch.timesteps.numpy()
    if lambda_min > -10:  # the clipped start skips the noisiest indices, whose lambda is below -5.1
        assert ts[0] < 999 and dpm_lambda(S, int(ts[0])) >= -5.1 > dpm_lambda(S, int(ts[0]) + 1)
    mu, s = torch.tensor([0.9, -0.95, 0.0], dtype=D), torch.tensor([0.3, 0.3, 0.8], dtype=D)
    model = _gaussian_oracle(S, mu, s)
    x_T = torch.randn(64, 1, 3, generator=g(), dtype=D)  # diffusers' thresholding wants (batch, channels, ...)
    ours = sample(model, S, x_T, ts, sampler="dpm++2m", clip_x0=True)
    x = x_T
    for t in ts.tolist():
        x = sch.step(model(x, torch.full((len(x),), t)), t, x).prev_sample
    assert (ours.abs() <= 1).all()
    torch.testing.assert_close(ours, x, rtol=1e-4, atol=1e-4)


def test_latex_of_the_update():
    S = SCHEDULES["cosine"]
    c = dpmpp_2m_coefficients(S, 99, 49, t_last=149)
    tex = dpmpp_2m_latex(S, 99, 49, t_last=149)
    assert "Alg. 2" in tex[0]
    assert tex[-1] == rf"x_{{49}} = {c['c_xt']:.4f}\,x_{{99}} + {c['c_x0']:.4f}\,\hat x_0^{{(99)}} - " \
                      rf"{-c['c_x0_last']:.4f}\,\hat x_0^{{(149)}}"
    assert f"r = {c['r']:.3f}" in tex[-2]
    first = dpmpp_2m_latex(S, 999, 949)
    assert "first order" in first[-1] and r"\hat x_0^{(999)}" in first[-1] and "x_{949}" in first[-1]
    last = dpmpp_2m_latex(S, 49, -1, t_last=99)
    assert last[-1].startswith(r"x_{-1} = \hat x_0^{(49)}")
    c = dpmpp_2m_coefficients(SCHEDULES["linear"], 999, 998)
    assert c["c_x0"] < 1e-3  # written with a power of ten, not as 0.0000
    mantissa, exponent = f"{c['c_x0']:.3e}".split("e")
    assert rf"{mantissa}\times 10^{{{int(exponent)}}}" in dpmpp_2m_latex(SCHEDULES["linear"], 999, 998)[-1]


def test_sample_command_with_dpm_solver(tmp_path):
    import io
    import subprocess
    import sys

    from PIL import Image

    from explainer.lessons import image_arrays, image_encoding
    from explainer.models.generate import default_steps, generate, parse_labels
    from explainer.models.pretrained import load_pretrained

    out = tmp_path / "digits.png"
    run = subprocess.run([sys.executable, "-m", "explainer.sample", "--sampler", "dpm++2m", "--n", "4",
                          "--label", "7", "--seed", "3", "--out", str(out)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    pre = load_pretrained("mnist", device="cpu")
    steps = default_steps(pre, "dpm++2m")  # the card's measured fewest steps that match DDIM-50
    assert f"dpm++2m {steps} steps" in run.stderr
    res = generate(pre, parse_labels("7", 4), sampler="dpm++2m", steps=steps, seed=3)
    expected = np.asarray(Image.open(io.BytesIO(image_encoding.encode_png(image_arrays.digit_grid(res.images)))))
    got = np.asarray(Image.open(out))
    assert got.shape == expected.shape
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 2  # thread counts may differ in the last bit
    bad = subprocess.run([sys.executable, "-m", "explainer.sample", "--sampler", "dpm++3m", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "dpm++2m" in bad.stderr


def test_clipped_first_order_step_is_clipped_ddim():
    """With x0 clipping too, the first-order step equals DDIM's (which re-derives eps from the clipped x0)."""
    S = SCHEDULES["cosine"]

    def eps_model(x, t):
        return 0.3 * x + 0.1

    x_T = torch.randn(6, 1, 4, generator=g(), dtype=D) * 2
    ts = make_timesteps(1000, 2, "trailing")
    ddim = [r.x_prev for r in sample_loop(eps_model, S, x_T, ts, sampler="ddim", clip_x0=True)]
    dpm = [r.x_prev for r in sample_loop(eps_model, S, x_T, ts, sampler="dpm++2m", clip_x0=True)]
    for a, b in zip(ddim, dpm):  # 2 steps: first order, then to the clean end
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
    assert dpm[-1].abs().max() <= 1 and not torch.equal(
        dpm[0], next(sample_loop(eps_model, S, x_T, ts, sampler="dpm++2m")).x_prev)  # the clipping did act
