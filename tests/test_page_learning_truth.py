"""Issue 16, items 1-9 on the page itself (app_pages/learning.py in AppTest): what the chapter says, checked against
the papers' formulas written out in tests/test_learning_truth.py, at the defaults and the extremes of its controls.
Every run must show neither an exception nor app.py's safety-net box ("Sorry, this page hit a problem")."""
import base64
import json
import math
import re

import numpy as np
import pytest

from conftest import NUM, open_page, read_number
from test_learning_truth import (_geometric_between, close_pct, cosine_betas, elbo_weight, number_after, pct_after,
                                 share_on, snr)

from explainer.core import elbo
from explainer.core.schedules import make_schedule
from explainer.models.bundled_digits import load_bundle
from explainer.models.pretrained import load_card

SAFETY_NET = "Sorry, this page hit a problem"


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not any(SAFETY_NET in e.value for e in at.error), [e.value for e in at.error]
    assert not at.error, [e.value for e in at.error]


def _open(**query):
    at = open_page("app_pages/learning.py", query)
    _ok(at)
    return at


def _array(v) -> np.ndarray:
    """A Plotly JSON array: a list, or {"dtype", "bdata"} (base64) as Plotly 6 writes NumPy arrays."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, dtype=float)


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def _caption_with(at, words: str) -> str:
    found = [c.value for c in at.caption if words in c.value]
    assert len(found) == 1, [c.value[:80] for c in at.caption]
    return found[0]


@pytest.fixture(scope="module")
def default_page():
    return _open()


def test_section_3_states_the_clip_and_the_shares_with_and_without_t_999(default_page):
    at = default_page
    betas, _ = cosine_betas(1000)
    ab = np.cumprod(1 - betas)
    w = elbo_weight(ab)
    text = _caption_with(at, "least noisy steps")
    assert "clips β at 0.999" in text
    assert number_after(text, "still falls") == pytest.approx(snr(ab[998]) / snr(ab[999]), rel=0.001)
    assert number_after(text, "− 1)/2 =") == pytest.approx(w[999], rel=0.002)
    assert close_pct(pct_after(text, "t = 999 alone carries"), share_on(w, [999]))
    m = re.search(r"ELBO ([0-9.e+-]+) % with t = 999, ([0-9.e+-]+) % without", text)
    assert close_pct(float(m.group(1)) / 100, share_on(w, range(100)))
    assert close_pct(float(m.group(2)) / 100, share_on(w[:-1], range(100)))
    m = re.search(r"L_simple ([0-9.e+-]+) % with t = 999, ([0-9.e+-]+) % without", text)
    assert close_pct(float(m.group(1)) / 100, 100 / 1000) and close_pct(float(m.group(2)) / 100, 100 / 999)
    assert "the ELBO puts more on small t than L_simple does" in text  # 28 % against 10 %
    # Item 5: per timestep, not per noise level.
    assert "L_simple puts the same weight on every timestep" in _markdown(at)
    assert "weighs every noise level the same" not in _markdown(at)


def test_section_3_x0_error_is_explained(default_page):
    at = default_page
    curve = load_card("mnist")["loss_curve"]
    ab = make_schedule("cosine", 1000).alpha_bars
    text = _markdown(at)
    eps = np.asarray(curve["eps_mse"]["class"])
    x0 = eps * (1 - ab[curve["t"]]) / ab[curve["t"]]
    worst = int(np.argmax(x0))
    assert curve["t"][worst] == 999
    assert number_after(text, "x̂₀ is worst at t = 999 (x₀-loss") == pytest.approx(x0[worst], rel=1e-3)
    assert number_after(text, "1/SNR = (1−ᾱ)/ᾱ =") == pytest.approx((1 - ab[999]) / ab[999], rel=0.005)
    assert number_after(text, "so its squared error (MSE") == pytest.approx(x0[worst], rel=1e-3)
    assert number_after(text, "1/√SNR =") == pytest.approx(math.sqrt((1 - ab[999]) / ab[999]), rel=0.005)
    x = load_bundle().evaluation
    assert number_after(text, "mean held-out digit scores an MSE of") == pytest.approx(
        float(np.var(x.astype(np.float64), axis=0).mean()), abs=0.005)
    assert "samplers clip x̂₀" in text and "v-prediction exists" in text


def test_section_2_says_what_the_target_changes(default_page):
    text = _markdown(default_page)
    ab = make_schedule("cosine", 1000).alpha_bars
    assert "only changes which mistakes" not in text
    m = re.search(rf"a squared x̂₀-error 1/SNR times as large, {NUM} at t = 0 but {NUM} at t = 999", text)
    assert read_number(m.group(1)) == pytest.approx((1 - ab[0]) / ab[0], rel=0.003)
    assert read_number(m.group(2)) == pytest.approx((1 - ab[999]) / ab[999], rel=0.003)


def test_section_5_writes_the_bound_with_the_expectation(default_page):
    at = default_page
    bound = next(l.value for l in at.latex if "L_T" in l.value).strip().strip("$").strip()
    left, right = bound.split(r"\le")
    assert r"\mathbb E_{q(x_0)}" in left and right.strip().startswith(r"\mathbb E_{q(x_{0:T})}\Big[")
    assert right.rstrip().endswith(r"\Big]")
    options = at.radio(key="ln_var").options
    assert "σ² = β̃ₜ (the variance of q(xₜ₋₁ | xₜ, x₀))" in options and not any("true posterior" in o for o in options)
    text = _markdown(at)
    assert "negative log-density" in text
    assert "not the best Gaussian" in text and "the best Gaussian p" not in text


def _true_reverse_modes(mix, T, t, x_t):
    """Modes of q(x_{t-1} | x_t) by Bayes on a grid: q(x_{t-1}) times N(x_t; sqrt(alpha_t) x_{t-1}, beta_t)."""
    betas, _ = cosine_betas(T)
    ab = np.cumprod(1 - betas)
    alpha = 1 - betas[t - 1]
    xs = np.linspace(-2.5, 2.5, 501)
    p = mix.noised(ab[t - 2]).pdf(xs) * np.exp(-(x_t - math.sqrt(alpha) * xs) ** 2 / (2 * betas[t - 1]))
    inner = (p[1:-1] > p[:-2]) & (p[1:-1] > p[2:]) & (p[1:-1] > 1e-3 * p.max())
    return int(inner.sum())


@pytest.mark.parametrize("mix", list(elbo.MIXTURES))
def test_the_t2_example_has_several_modes(mix):
    at = _open(ln_mix=mix)
    assert at.select_slider(key="ln_T").value == 10 and at.slider(key="ln_bt").value == 2
    modes = _true_reverse_modes(elbo.MIXTURES[mix], 10, 2, at.slider(key="ln_xt").value)
    assert modes >= 2
    assert int(number_after(_markdown(at), "the true reverse step has")) == modes
    assert "(T = 10, t = 2 shows it)" in _markdown(at)


@pytest.mark.parametrize("mix", list(elbo.MIXTURES))
@pytest.mark.parametrize("T", [2, 1000])
def test_section_5_at_the_extremes(mix, T):
    at = _open(ln_mix=mix, ln_T=T)
    betas, _ = cosine_betas(T)
    for var in ("beta", "beta_tilde"):
        at.radio(key="ln_var").set_value(var).run()
        _ok(at)
        text = _markdown(at)
        shown = number_after(text, "the bound is")
        other = number_after(text, "it would be")
        better = re.search(r"this T, (.+?) gives the lower \(better\) bound, by ([0-9.]+) nats", text)
        names = {elbo.VARIANCES[var]: shown, elbo.VARIANCES["beta" if var == "beta_tilde" else "beta_tilde"]: other}
        assert names[better.group(1)] == min(shown, other)
        assert float(better.group(2)) == pytest.approx(abs(shown - other), abs=1.5e-4)
        assert "every step is small" not in text
        small = re.search(rf"At T = {T}, (none|\d+) of the {T} steps ha(?:s|ve) β < 0\.01 and (\d+) ha(?:s|ve) β > 0\.1",
                          text)
        assert small and int(0 if small.group(1) == "none" else small.group(1)) == int(np.sum(betas < 0.01))
        assert int(small.group(2)) == int(np.sum(betas > 0.1))
        assert f"the last, t = {T}, is clipped at β = 0.999" in text
    if T == 1000 and mix == "two Gaussians":  # the numbers: beta is better here
        assert "σ² = βₜ gives the lower" in text


def test_weight_times_loss_on_the_log_snr_axis():
    at = _open(ln_axis="log_snr", ln_weigh="times_loss")
    curve = load_card("mnist")["loss_curve"]
    betas, _ = cosine_betas(1000)
    ab = np.cumprod(1 - betas)
    ts, loss = list(curve["t"]), list(curve["eps_mse"]["class"])
    wl = elbo_weight(ab) * np.array([_geometric_between(ts, loss, t) for t in range(1000)])
    text = _caption_with(at, "weight × loss")
    tail = text[text.index("Share of weight × loss"):]
    m = re.search(r"ELBO ([0-9.e+-]+) % with t = 999, ([0-9.e+-]+) % without", tail)
    assert close_pct(float(m.group(1)) / 100, share_on(wl, range(100)))
    assert close_pct(float(m.group(2)) / 100, share_on(wl[:-1], range(100)))
    assert close_pct(pct_after(tail, "t = 999 alone: ELBO"), share_on(wl, [999]))
    assert "each point is still one timestep's share" in text
    for chart in at.get("plotly_chart")[:2]:
        spec = json.loads(chart.proto.spec)
        xaxis = spec["layout"]["xaxis"]
        assert xaxis["autorange"] == "reversed" and "(clean ← → noisy)" in xaxis["title"]["text"]
    weights = json.loads(at.get("plotly_chart")[1].proto.spec)
    x = _array(weights["data"][0]["x"])
    np.testing.assert_allclose(x, np.log(ab / (1 - ab)), rtol=1e-6)  # one point per timestep, the loss interpolated
    assert any(a["text"].startswith("t = 999 (β clipped)") for a in weights["layout"]["annotations"])
