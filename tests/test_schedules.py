import math

import numpy as np
import pytest

from explainer.core.schedules import (SCHEDULE_NAMES, make_schedule, schedule_from_alpha_bar, snr_crossing,
                                 terminal_kl)


@pytest.mark.parametrize("T", [10, 257, 1000])
def test_linear_matches_formula(T):
    s = make_schedule("linear", T)
    expected = [1e-4 + (0.02 - 1e-4) * i / (T - 1) for i in range(T)]
    np.testing.assert_allclose(s.betas, expected, rtol=1e-12)
    ab = 1.0
    for i in range(T):
        ab *= 1 - expected[i]
        assert s.alpha_bars[i] == pytest.approx(ab, rel=1e-10)


@pytest.mark.parametrize("T", [10, 1000])
def test_quadratic_and_scaled_linear(T):
    q = make_schedule("quadratic", T)
    sl = make_schedule("scaled_linear", T)
    for s, (b0, b1) in [(q, (1e-4, 0.02)), (sl, (0.00085, 0.012))]:
        expected = [(math.sqrt(b0) + (math.sqrt(b1) - math.sqrt(b0)) * i / (T - 1)) ** 2 for i in range(T)]
        np.testing.assert_allclose(s.betas, expected, rtol=1e-12)
        assert s.betas[0] == pytest.approx(b0) and s.betas[-1] == pytest.approx(b1)


@pytest.mark.parametrize("T", [10, 1000])
def test_cosine_matches_nichol_dhariwal(T):
    s = make_schedule("cosine", T)
    f = lambda t: math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2
    for i in range(T):
        beta = min(1 - f(i + 1) / f(i), 0.999)
        assert s.betas[i] == pytest.approx(beta, rel=1e-12)
    # Away from the clipped end alpha_bar is f(t+1)/f(0) (Eq. 17).
    for i in range(T // 2):
        assert s.alpha_bars[i] == pytest.approx(f(i + 1) / f(0), rel=1e-9)


def test_cosine_clipping():
    s = make_schedule("cosine", 1000)
    assert s.betas.max() == pytest.approx(0.999)
    assert s.betas[-1] == pytest.approx(0.999)
    s2 = make_schedule("cosine", 1000, max_beta=0.5)
    assert s2.betas.max() == pytest.approx(0.5)


def test_sigmoid_matches_formula():
    T = 100
    s = make_schedule("sigmoid", T, beta_start=1e-3, beta_end=0.05)
    x = np.linspace(-6, 6, T)
    np.testing.assert_allclose(s.betas, 1 / (1 + np.exp(-x)) * (0.05 - 1e-3) + 1e-3, rtol=1e-12)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_monotone_and_in_range(name):
    s = make_schedule(name, 1000)
    assert s.betas.dtype == np.float64 and len(s.betas) == s.num_steps == 1000
    assert np.all(np.diff(s.alpha_bars) < 0)
    assert np.all((s.alpha_bars > 0) & (s.alpha_bars < 1))
    np.testing.assert_allclose(s.alphas, 1 - s.betas)
    np.testing.assert_allclose(s.snr, s.alpha_bars / (1 - s.alpha_bars), rtol=1e-12)
    np.testing.assert_allclose(s.log_snr, np.log(s.snr), rtol=1e-9, atol=1e-9)
    assert np.all(np.diff(s.log_snr) < 0)


def test_custom_alpha_bar_schedule_reproduces_linear_alpha_bar():
    lin = make_schedule("linear", 200)
    ab = np.concatenate([[1.0], lin.alpha_bars])
    custom = schedule_from_alpha_bar(lambda u: float(np.interp(u * 200, np.arange(201), ab)), 200)
    np.testing.assert_allclose(custom.alpha_bars, lin.alpha_bars, rtol=1e-9)
    assert custom.name == "custom"


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown schedule"):
        make_schedule("nope")
    with pytest.raises(ValueError):
        make_schedule("linear", 0)
    with pytest.raises(ValueError, match="takes no parameter"):
        make_schedule("cosine", 10, beta_start=0.1)
    with pytest.raises(ValueError):
        make_schedule("linear", 10, beta_start=0.0)


def test_landmarks():
    s = make_schedule("linear", 1000)
    t1 = snr_crossing(s)
    assert s.snr[t1] <= 1 < s.snr[t1 - 1]
    ab = s.alpha_bars[-1]
    assert terminal_kl(s) == pytest.approx(-0.5 * math.log(1 - ab))
    # The linear schedule at T=1000 ends very close to N(0, I); at T=10 it does not.
    assert terminal_kl(s) < 1e-4 < terminal_kl(make_schedule("linear", 10))
