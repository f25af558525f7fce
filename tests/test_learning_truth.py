"""Issue 16, items 1-9: every number and direction the learning chapter states, checked against the papers'
formulas written out here in plain numpy (not with the functions the page calls), at the defaults and at the
extremes (every schedule, T = 2, 10 and 1000, t = 0 and t = T-1)."""
import json
import math
import re

import numpy as np
import pytest

from conftest import NUM, read_number
from explainer.core import elbo, loss_weighting, objectives
from explainer.core.schedules import SCHEDULE_NAMES, make_schedule, make_schedule_for_T
from explainer.lessons import objective_figures, weighting_facts
from explainer.models.bundled_digits import load_bundle
from explainer.models.pretrained import load_card

TS = (2, 10, 1000)
SCHEDULES = [(name, T) for name in SCHEDULE_NAMES for T in TS]


def _schedule(name, T):
    return make_schedule_for_T(name, T)  # what the app builds for a schedule and a T


# ------------------------------------------------------------------ the papers' formulas, written out

def snr(ab):
    return ab / (1 - ab)


def elbo_weight(ab):
    """Kingma et al. 2021 (VDM) / Ho et al. 2020 Eq. 12 with sigma^2 = beta-tilde: (SNR_{t-1}/SNR_t - 1)/2, t >= 1."""
    w = np.full(len(ab), np.nan)
    for t in range(1, len(ab)):
        w[t] = (snr(ab[t - 1]) / snr(ab[t]) - 1) / 2
    return w


def paper_weights(ab):
    """w_t of each objective (Kingma & Gao 2023): L_simple 1 per step, x0-MSE 1/SNR, v-MSE 1 + 1/SNR, ELBO above."""
    s = snr(ab)
    return {"elbo": elbo_weight(ab), "eps": np.ones(len(ab)), "x0": 1 / s, "v": 1 + 1 / s}


def share_on(w, steps):
    """sum of w over `steps` / sum of w over every step that has a term (plain loops, no normalised())."""
    total = sum(x for x in w if not math.isnan(x))
    return sum(w[t] for t in steps if not math.isnan(w[t])) / total


def cosine_betas(T, s=0.008, cap=0.999):
    """Nichol & Dhariwal 2021, Eq. 17 and the clip below it."""
    f = [math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2 for t in range(T + 1)]
    return np.array([min(1 - f[t + 1] / f[t], cap) for t in range(T)]), \
        np.array([1 - f[t + 1] / f[t] for t in range(T)])


def pct_after(text, anchor):
    """The percentage that follows `anchor` in text, as a fraction."""
    m = re.search(re.escape(anchor) + r"\s*" + NUM + " %", text)
    assert m, (anchor, text)
    return read_number(m.group(1)) / 100


def number_after(text, anchor):
    m = re.search(re.escape(anchor) + r"\s*" + NUM, text)
    assert m, (anchor, text)
    return read_number(m.group(1))


def close_pct(stated, value):
    """A share as _pct prints it: two significant figures below 1 %, whole percentages above."""
    if value < 0.01:
        return stated == pytest.approx(value, rel=0.06, abs=1e-12)
    return abs(stated - value) <= 0.005 + 1e-9


# ------------------------------------------------------------------ item 1: the clip and the shares

@pytest.mark.parametrize("T", TS)
def test_cosine_clips_its_last_beta_at_every_T(T):
    clipped, unclipped = cosine_betas(T)
    assert unclipped[-1] > 0.9999999 and clipped[-1] == 0.999  # unclipped it would be beta = 1
    s = make_schedule("cosine", T)
    np.testing.assert_allclose(s.betas, clipped, rtol=1e-9)
    assert list(loss_weighting.clipped_steps(s)) == [i for i in range(T) if unclipped[i] >= 0.999]
    assert T - 1 in loss_weighting.clipped_steps(s)
    assert len(loss_weighting.clipped_steps(make_schedule("linear", 1000))) == 0


@pytest.mark.parametrize("name,T", SCHEDULES)
def test_shares_are_the_papers_weights(name, T):
    s = _schedule(name, T)
    ab = s.alpha_bars
    low = range(T // 10)
    for key, w in paper_weights(ab).items():
        got = loss_weighting.objective_shares(s)[key]
        assert got.low == pytest.approx(share_on(w, low), rel=1e-9, abs=1e-15), key
        assert got.last == pytest.approx(share_on(w, [T - 1]), rel=1e-9), key
        w_cut = w[:-1]
        if np.nansum(w_cut) > 0:
            assert got.low_without_last == pytest.approx(share_on(w_cut, low), rel=1e-9, abs=1e-15), key
    # L_simple is uniform per step: exactly (T // 10) / T of its weight on t < T/10.
    assert loss_weighting.objective_shares(s)["eps"].low == pytest.approx((T // 10) / T)


def test_the_bundled_cosine_elbo_puts_97_percent_on_t_999():
    """The issue's numbers, from the formulas: w_999 ~ 500, ~97 % on t = 999, ~28 % on t < 100 without it."""
    betas, _ = cosine_betas(1000)
    ab = np.cumprod(1 - betas)
    w = elbo_weight(ab)
    assert w[999] == pytest.approx(500, rel=0.01)
    assert share_on(w, [999]) == pytest.approx(0.974, abs=0.005)
    without = share_on(w[:-1], range(100))
    assert 0.27 < without < 0.29 and without > 100 / 999  # the ELBO up-weights small t (Ho et al. §3.4)
    sh = loss_weighting.objective_shares(make_schedule("cosine", 1000))["elbo"]
    assert sh.last == pytest.approx(share_on(w, [999]), rel=1e-9)
    assert sh.low_without_last == pytest.approx(without, rel=1e-9)


@pytest.mark.parametrize("name,T", [("cosine", 1000), ("linear", 1000), ("cosine", 10), ("linear", 10),
                                    ("cosine", 3), ("sigmoid", 1000)])
def test_last_step_sentence(name, T):
    s = _schedule(name, T)
    ab = s.alpha_bars
    text = weighting_facts.last_step_sentence(s)
    w = elbo_weight(ab)
    drop = snr(ab[-2]) / snr(ab[-1])
    assert number_after(text, "signal-to-noise ratio still falls" if "clips" in text else "ratio falls") == \
        pytest.approx(drop, rel=0.01, abs=0.5)
    assert number_after(text, "− 1)/2 =") == pytest.approx(w[-1], rel=0.01)
    assert number_after(text, "against at most") == pytest.approx(np.nanmax(w[:-1]), rel=0.01)
    assert close_pct(pct_after(text, "alone carries"), share_on(w, [T - 1]))
    clipped = s.betas[-1] >= 0.999
    assert ("clips β at 0.999" in text) == clipped
    if name == "cosine":
        assert clipped  # the cosine clip is there at every T


@pytest.mark.parametrize("name,T", [("cosine", 1000), ("linear", 1000), ("cosine", 10), ("linear", 10),
                                    ("quadratic", 1000), ("scaled_linear", 10)])
def test_shares_sentence_numbers_and_direction(name, T):
    s = _schedule(name, T)
    ab = s.alpha_bars
    text = weighting_facts.shares_sentence(s, "the weights")
    low = range(T // 10)
    w = paper_weights(ab)
    for key, label in (("elbo", "ELBO"), ("eps", "L_simple"), ("x0", "x₀-MSE"), ("v", "v-MSE")):
        m = re.search(re.escape(label) + rf" {NUM} % with t = (\d+), {NUM} % without", text)
        assert m, (label, text)
        assert int(m.group(2)) == T - 1
        assert close_pct(read_number(m.group(1)) / 100, share_on(w[key], low)), label
        assert close_pct(read_number(m.group(3)) / 100, share_on(w[key][:-1], low)), label
    up = share_on(w["elbo"][:-1], low) > share_on(w["eps"][:-1], low)
    assert ("the ELBO puts more on small t than L_simple does" in text) == up
    assert ("the ELBO puts no more on small t" in text) == (not up)


# ------------------------------------------------------------------ item 2: weight × loss, every step once

def _geometric_between(ts, loss, t):
    """The loss at t, geometric between the two measured points around it (written out, no np.interp)."""
    for a, b, la, lb in zip(ts[:-1], ts[1:], loss[:-1], loss[1:]):
        if a <= t <= b:
            f = (t - a) / (b - a)
            return la ** (1 - f) * lb ** f
    raise AssertionError(t)


@pytest.fixture(scope="module")
def curve():
    return load_card("mnist")["loss_curve"]


def test_loss_at_every_t_is_the_measured_loss_between_its_points(curve):
    ts, loss = list(curve["t"]), list(curve["eps_mse"]["class"])
    every = loss_weighting.loss_at_every_t(ts, loss, 1000)
    assert every.shape == (1000,)
    for t in (0, 5, 10, 15, 123, 500, 998, 999):
        assert every[t] == pytest.approx(_geometric_between(ts, loss, t), rel=1e-9)
    np.testing.assert_allclose(every[ts], loss, rtol=1e-12)


def test_weight_times_loss_counts_every_step(curve):
    """Each step's share is w_t times the loss at t, over all T steps, not 100 sampled points standing for one each."""
    s = make_schedule("cosine", 1000)
    ts, loss = list(curve["t"]), list(curve["eps_mse"]["class"])
    every = np.array([_geometric_between(ts, loss, t) for t in range(1000)])
    w = paper_weights(s.alpha_bars)
    for axis in ("t", "log_snr"):
        fig = objective_figures.objective_weights(s, axis, curve)
        for trace, key in zip(fig.data, objectives.OBJECTIVES):
            y = np.asarray(trace.y, dtype=float)
            want = w[key] * every / np.nansum(w[key] * every)
            np.testing.assert_allclose(y[1:], want[1:], rtol=1e-7)
    text = weighting_facts.shares_sentence(s, "weight × loss", loss_weighting.loss_at_every_t(ts, loss, 1000))
    wl = w["elbo"] * every
    assert close_pct(pct_after(text, "ELBO"), share_on(wl, range(100)))
    assert close_pct(pct_after(text, "t = 999 alone: ELBO"), share_on(wl, [999]))
    # The old way (the 100 measured points, each counting as one step) gives a different answer.
    sampled = w["elbo"][ts] * np.asarray(loss)
    assert abs(share_on(sampled, [i for i, t in enumerate(ts) if t < 100]) - share_on(wl, range(100))) > 0.05


@pytest.mark.parametrize("with_loss", [False, True])
@pytest.mark.parametrize("axis", ["t", "log_snr"])
def test_last_step_is_flagged_on_the_weights_plot(curve, axis, with_loss):
    s = make_schedule("cosine", 1000)
    fig = objective_figures.objective_weights(s, axis, curve if with_loss else None)
    ab = s.alpha_bars
    x_last = 999 if axis == "t" else math.log(ab[999] / (1 - ab[999]))
    lines = [sh for sh in fig.layout.shapes if sh.x0 == sh.x1]
    assert any(sh.x0 == pytest.approx(x_last, rel=1e-9) for sh in lines)
    note = next(a.text for a in fig.layout.annotations if a.text.startswith("t = 999"))
    assert "β clipped" in note
    w = elbo_weight(ab)
    if with_loss:
        w = w * np.array([_geometric_between(list(curve["t"]), list(curve["eps_mse"]["class"]), t)
                          for t in range(1000)])
    stated = float(re.search(r"(\d+)% of the ELBO", note).group(1)) / 100
    assert abs(stated - share_on(w, [999])) <= 0.005


# ------------------------------------------------------------------ item 3: the x0 error at t = T-1

def test_x0_error_sentence_numbers(curve):
    s = make_schedule("cosine", 1000)
    ab = np.cumprod(1 - cosine_betas(1000)[0])  # Nichol & Dhariwal Eq. 17, written out above
    x = load_bundle().evaluation
    mean_digit_mse = float(np.var(x.astype(np.float64), axis=0).mean())  # per-pixel variance = MSE of the mean digit
    assert 0.25 < mean_digit_mse < 0.29
    eps_loss = curve["eps_mse"]["class"][-1]
    x0_loss = eps_loss * (1 - ab[999]) / ab[999]
    text = weighting_facts.x0_error_sentence(s, 999, eps_loss, x0_loss, mean_digit_mse)
    # 1/SNR multiplies the squared error (the MSE); the error itself grows by 1/sqrt(SNR).
    assert number_after(text, "1/SNR = (1−ᾱ)/ᾱ =") == pytest.approx((1 - ab[999]) / ab[999], rel=0.005)
    assert (1 - ab[999]) / ab[999] == pytest.approx(4.12e8, rel=0.002)
    assert number_after(text, "the error itself is 1/√SNR =") == pytest.approx(math.sqrt((1 - ab[999]) / ab[999]),
                                                                               rel=0.005)
    assert math.sqrt((1 - ab[999]) / ab[999]) == pytest.approx(2.0e4, rel=0.02)
    assert number_after(text, "so its squared error (MSE") == pytest.approx(x0_loss, rel=1e-3)
    assert number_after(text, "the ε-MSE (") == pytest.approx(eps_loss, abs=5e-5)
    assert number_after(text, "mean held-out digit scores an MSE of") == pytest.approx(mean_digit_mse, abs=0.005)
    assert "samplers clip x̂₀" in text and "v-prediction" in text
    assert "whose squared error is (1−ᾱ) times its squared v-error" in text


def test_the_conversions_the_x0_sentence_states():
    """eps-error -> x0-error grows by 1/SNR; v-error -> x0-error shrinks by 1 - alpha_bar <= 1 (Salimans & Ho 2022)."""
    rng = np.random.default_rng(0)
    x0, eps, err = rng.standard_normal((3, 5000))
    for ab in (1 - 1e-4, 0.5, 2.4e-9):
        x_t = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
        v = math.sqrt(ab) * eps - math.sqrt(1 - ab) * x0
        # eps-network: x0_hat from eps_hat = eps + err
        x0_from_eps = (x_t - math.sqrt(1 - ab) * (eps + err)) / math.sqrt(ab)
        assert np.mean((x0_from_eps - x0) ** 2) / np.mean(err ** 2) == pytest.approx((1 - ab) / ab, rel=1e-5)
        # v-network: x0_hat = sqrt(ab) x_t - sqrt(1 - ab) v_hat
        x0_from_v = math.sqrt(ab) * x_t - math.sqrt(1 - ab) * (v + err)
        ratio = np.mean((x0_from_v - x0) ** 2) / np.mean(err ** 2)
        assert ratio == pytest.approx(1 - ab, rel=1e-5, abs=1e-9) and ratio <= 1 + 1e-9
        np.testing.assert_allclose(objectives.convert(v + err, "v", "x0", x_t, ab), x0_from_v, atol=1e-6)


# ------------------------------------------------------------------ item 4: what the target changes

@pytest.mark.parametrize("name,T", SCHEDULES)
def test_readings_sentence_factors(name, T):
    s = _schedule(name, T)
    ab = np.cumprod(1 - cosine_betas(T)[0]) if name == "cosine" else s.alpha_bars
    text = weighting_facts.readings_sentence(s)
    assert "only changes" not in text
    # The factor is that of the squared error: a squared eps-error becomes a squared x0-error 1/SNR times as large.
    m = re.search(rf"a squared ε-error becomes a squared x̂₀-error 1/SNR times as large, {NUM} at t = 0 but {NUM} "
                  r"at t = (\d+) \(the error itself, 1/√SNR times\)", text)
    assert m and int(m.group(3)) == T - 1
    assert read_number(m.group(1)) == pytest.approx((1 - ab[0]) / ab[0], rel=0.003, abs=5e-5)  # number: 4 decimals
    assert read_number(m.group(2)) == pytest.approx((1 - ab[-1]) / ab[-1], rel=0.003)


def test_readings_factors_the_lecturer_measured():
    """Cosine, T = 1000 (the bundled model): 1/SNR = 4.1×10⁻⁵ at t = 0 and 4.12×10⁸ at t = 999 for the squared
    error; 6.4×10⁻³ and 2.0×10⁴ for the error itself. From Eq. 17 written out here."""
    ab = np.cumprod(1 - cosine_betas(1000)[0])
    inv_snr = (1 - ab) / ab
    assert inv_snr[0] == pytest.approx(4.1e-5, rel=0.01) and inv_snr[999] == pytest.approx(4.12e8, rel=0.002)
    assert math.sqrt(inv_snr[0]) == pytest.approx(6.4e-3, rel=0.01)
    assert math.sqrt(inv_snr[999]) == pytest.approx(2.0e4, rel=0.02)
    m = re.search(rf"as large, {NUM} at t = 0 but {NUM} at t = 999",
                  weighting_facts.readings_sentence(make_schedule_for_T("cosine", 1000)))
    assert m and read_number(m.group(1)) == pytest.approx(inv_snr[0], rel=0.003)
    assert read_number(m.group(2)) == pytest.approx(inv_snr[999], rel=0.003)


# ------------------------------------------------------------------ item 5: per step, not per unit of log-SNR

@pytest.mark.parametrize("name,T", [("cosine", 1000), ("linear", 1000), ("cosine", 10), ("sigmoid", 10)])
def test_lambda_axis_sentence(name, T):
    s = _schedule(name, T)
    ab = s.alpha_bars
    lam = np.log(ab / (1 - ab))
    text = weighting_facts.lambda_axis_sentence(s)
    assert "each point is still one timestep's share" in text
    # Kingma & Gao's w(lambda) for the ELBO: (r - 1)/ln r, r = SNR_{t-1}/SNR_t (their 1 in the small-step limit).
    r = np.array([snr(ab[t - 1]) / snr(ab[t]) for t in range(1, T)])
    w_elbo = (r - 1) / np.log(r)
    inner = w_elbo[:-1]  # t = 1 ... T-2
    m = re.search(r"runs from ([0-9.e+-]+) to ([0-9.e+-]+) over t = 1 … (\d+), and is ([0-9.e+-]+) at t = (\d+)", text)
    assert m and int(m.group(3)) == T - 2 and int(m.group(5)) == T - 1
    assert float(m.group(1)) == pytest.approx(inner.min(), rel=0.005)
    assert float(m.group(2)) == pytest.approx(inner.max(), rel=0.005)
    assert float(m.group(4)) == pytest.approx(w_elbo[-1], rel=0.005)
    w_simple = 2 / (lam[:-1] - lam[1:])  # t = 1 ... T-1
    peak = 1 + int(np.argmax(w_simple[:-1]))
    assert int(number_after(text, "peaks at t =")) == peak
    assert number_after(text, "(λ =") == pytest.approx(lam[peak], abs=0.006)
    assert ("sech(λ/2)" in text) == (name == "cosine")


def test_simple_loss_per_unit_log_snr_is_sech_for_cosine_and_elbo_is_flat():
    """What the sentence cites from Kingma & Gao 2023, checked away from the clipped ends: cosine, T = 1000."""
    s = make_schedule("cosine", 1000)
    lam = s.log_snr
    mid = np.arange(50, 950)
    w_simple = 2 / (lam[mid - 1] - lam[mid])
    ratio = w_simple / (1 / np.cosh(lam[mid] / 2))
    assert ratio.std() / ratio.mean() < 0.02
    assert abs(lam[1 + int(np.argmax(2 / (lam[:-2] - lam[1:-1])))]) < 0.05  # the peak is at lambda = 0
    r = np.exp(lam[mid - 1] - lam[mid])
    np.testing.assert_allclose((r - 1) / np.log(r), 1.0, atol=0.025)


# ------------------------------------------------------------------ item 6: the axis says where clean is

@pytest.mark.parametrize("axis", ["t", "log_snr"])
def test_axis_label_says_clean_on_the_left(curve, axis):
    s = make_schedule("cosine", 1000)
    for fig in (objective_figures.loss_over_t(curve, s, "eps", axis), objective_figures.objective_weights(s, axis),
                objective_figures.objective_weights(s, axis, curve)):
        title = fig.layout.xaxis.title.text
        left, right = re.search(r"\((\w+) ← → (\w+)\)", title).groups()
        x = np.asarray(fig.data[0].x, dtype=float)
        reversed_axis = fig.layout.xaxis.autorange == "reversed"
        x_left = x.max() if reversed_axis else x.min()
        # the cleaner end is the one with the higher SNR: small t, or large lambda
        clean_x = x.min() if axis == "t" else x.max()
        assert (left == "clean") == (x_left == clean_x) and {left, right} == {"clean", "noisy"}


# ------------------------------------------------------------------ item 8: beta-tilde and "best Gaussian"

def test_beta_tilde_is_the_variance_of_the_forward_posterior_not_of_the_true_reverse():
    s = make_schedule("cosine", 10)
    mix = elbo.MIXTURES["two Gaussians"]
    for t in (1, 4, 9):   # the library's 0-based steps (the page's t = 2, 5, 10)
        ab_t, ab_prev = s.alpha_bars[t], s.alpha_bars[t - 1]
        alpha = ab_t / ab_prev
        # Gaussian conditioning of x_{t-1} on (x_t, x_0): Var = Var(x_{t-1}|x0) - Cov^2 / Var(x_t|x0)
        var_cond = (1 - ab_prev) - alpha * (1 - ab_prev) ** 2 / (1 - ab_t)
        assert elbo.forward_posterior(s, t, 0.3, 0.6)[1] == pytest.approx(var_cond, rel=1e-9)
        assert elbo.best_reverse(mix, s, t, 0.3, "beta_tilde")[1] == pytest.approx(var_cond, rel=1e-9)
        # the true reverse step q(x_{t-1} | x_t), by Bayes on a grid, is wider
        xs = np.linspace(-6, 6, 24001)
        prior = mix.noised(ab_prev).pdf(xs)
        like = np.exp(-(0.3 - math.sqrt(alpha) * xs) ** 2 / (2 * (1 - alpha)))
        p = prior * like / np.trapezoid(prior * like, xs)
        mean = np.trapezoid(xs * p, xs)
        assert np.trapezoid((xs - mean) ** 2 * p, xs) > 1.005 * var_cond
    assert "true posterior" not in elbo.VARIANCES["beta_tilde"]
    assert "q(xₜ₋₁ | xₜ, x₀)" in elbo.VARIANCES["beta_tilde"]


def test_density_legend_says_best_mean_at_a_fixed_variance():
    xs = np.linspace(-2, 2, 5)
    fig = objective_figures.reverse_step_densities(xs, {"model": xs * 0}, 0.3, 0.6, 4)
    assert "best mean, σ² fixed" in fig.data[0].name and "best Gaussian" not in fig.data[0].name


def test_the_figure_json_parses():
    fig = objective_figures.objective_weights(make_schedule("cosine", 1000), "log_snr")
    spec = json.loads(fig.to_json())
    assert "clean ←" in spec["layout"]["xaxis"]["title"]["text"]


# ------------------------------------------------------------------ numbers a class reads: no e-notation, no 0.0000

@pytest.mark.parametrize("name,T", SCHEDULES + [("cosine", 3), ("linear", 3), ("sigmoid", 3), ("cosine", 100)])
def test_sentences_never_print_e_notation_or_a_false_zero(name, T, curve):
    s = _schedule(name, T)
    texts = [weighting_facts.last_step_sentence(s), weighting_facts.shares_sentence(s, "the weights"),
             weighting_facts.readings_sentence(s), weighting_facts.lambda_axis_sentence(s),
             weighting_facts.x0_error_sentence(s, T - 1, 0.5, 1e8, 0.27)]
    if T == 1000:
        texts.append(weighting_facts.shares_sentence(
            s, "weight × loss", loss_weighting.loss_at_every_t(curve["t"], curve["eps_mse"]["class"], T)))
    for text in texts:
        assert not re.search(r"\d[eE][+-]?\d", text), text
        assert not re.search(r"(?<![0-9.])0\.0+(?![0-9])", text), text


def test_tiny_share_is_written_with_its_power_of_ten():
    """The x0-MSE's share on t < 100 at cosine T = 1000 is about 2.5×10⁻⁷ %, not 2.5e-07 %."""
    ab = np.cumprod(1 - cosine_betas(1000)[0])
    want = share_on(paper_weights(ab)["x0"], range(100))
    assert want * 100 == pytest.approx(2.5e-7, rel=0.02)
    text = weighting_facts.shares_sentence(make_schedule_for_T("cosine", 1000), "the weights")
    m = re.search(rf"x₀-MSE {NUM} % with t = 999", text)
    assert m and "×10⁻⁷" in m.group(1), text
    assert read_number(m.group(1)) / 100 == pytest.approx(want, rel=0.002)
