"""The noise-schedule figures (explainer/lessons/schedule_figures.py) and explainer/lessons/schedule_facts.py."""
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from explainer.lessons import schedule_figures, style
from explainer.lessons.schedule_facts import (CUSTOM_PRESETS, check_params, custom_alpha_bar, custom_schedule,
                                       landmark_rows, snr_db, worst_terminal)
from explainer.core.schedules import DEFAULT_PARAMS, SCHEDULE_NAMES, make_schedule, snr_crossing, terminal_kl

T = 100


@pytest.fixture(scope="module")
def scheds():
    return {name: make_schedule(name, T) for name in SCHEDULE_NAMES}


# ------------------------------------------------------------------ figures

@pytest.mark.parametrize("quantity", list(schedule_figures.SCHEDULE_QUANTITIES))
def test_one_trace_per_schedule_with_the_schedule_values(scheds, quantity):
    fig = schedule_figures.schedule_curves(scheds, quantity)
    assert isinstance(fig, go.Figure)
    assert [tr.name for tr in fig.data] == list(SCHEDULE_NAMES)
    expected = {
        "alpha_bar": lambda s: s.alpha_bars, "beta": lambda s: s.betas,
        "sqrt_alpha_bar": lambda s: np.sqrt(s.alpha_bars),
        "sqrt_one_minus_alpha_bar": lambda s: np.sqrt(1 - s.alpha_bars), "log_snr": lambda s: s.log_snr,
    }[quantity]
    for tr in fig.data:
        np.testing.assert_allclose(np.asarray(tr.y, dtype=float), expected(scheds[tr.name]))
        np.testing.assert_array_equal(np.asarray(tr.x), np.arange(T))
    assert fig.layout.xaxis.title.text == "timestep t"
    assert fig.layout.yaxis.title.text


def test_x_as_a_fraction_of_T(scheds):
    fig = schedule_figures.schedule_curves(scheds, "alpha_bar", x_axis="t/T")
    for tr in fig.data:
        np.testing.assert_allclose(np.asarray(tr.x, dtype=float), (np.arange(T) + 1) / T)
    assert fig.data[0].x[-1] == pytest.approx(1.0)
    assert "t/T" in fig.layout.xaxis.title.text


def test_schedules_with_different_T_share_the_fraction_axis():
    fig = schedule_figures.schedule_curves({"a": make_schedule("linear", 10), "b": make_schedule("linear", 1000)},
                                  "log_snr", x_axis="t/T")
    assert len(fig.data[0].x) == 10 and len(fig.data[1].x) == 1000
    assert fig.data[0].x[-1] == pytest.approx(fig.data[1].x[-1]) == pytest.approx(1.0)


def test_bad_quantity_or_axis_raises(scheds):
    with pytest.raises(ValueError, match="quantity"):
        schedule_figures.schedule_curves(scheds, "alpha")
    with pytest.raises(ValueError, match="x axis"):
        schedule_figures.schedule_curves(scheds, "beta", x_axis="time")
    with pytest.raises(ValueError):
        schedule_figures.schedule_values(scheds["linear"], "snr")


def test_a_schedule_keeps_its_colour_on_every_plot(scheds):
    full = schedule_figures.schedule_curves(scheds, "alpha_bar")
    colour = {tr.name: tr.line.color for tr in full.data}
    assert len(set(colour.values())) == 5
    assert colour["linear"] == style.PALETTE[0]
    sub = schedule_figures.schedule_curves({"cosine": scheds["cosine"], "sigmoid": scheds["sigmoid"]}, "beta")
    assert {tr.name: tr.line.color for tr in sub.data} == {"cosine": colour["cosine"], "sigmoid": colour["sigmoid"]}


def test_a_custom_schedule_gets_its_own_dashed_colour(scheds):
    custom = custom_schedule("linear_alpha_bar", T)
    fig = schedule_figures.schedule_curves({**scheds, custom.name: custom}, "log_snr")
    assert len(fig.data) == 6 and fig.data[-1].name == custom.name
    assert fig.data[-1].line.color not in {tr.line.color for tr in fig.data[:5]}
    assert fig.data[-1].line.dash == "dash" and fig.data[0].line.dash is None


def test_axes_reference_lines_and_marker(scheds):
    assert schedule_figures.schedule_curves(scheds, "beta").layout.yaxis.type == "log"
    log_snr = schedule_figures.schedule_curves(scheds, "log_snr")
    assert any(s.y0 == 0 and s.y1 == 0 for s in log_snr.layout.shapes)  # the SNR = 1 line
    marked = schedule_figures.schedule_curves(scheds, "alpha_bar", x_axis="t/T", mark_t=49)
    assert any(s.x0 == pytest.approx(0.5) for s in marked.layout.shapes)
    assert not schedule_figures.schedule_curves(scheds, "alpha_bar").layout.shapes


def test_no_schedules_is_an_empty_figure():
    assert len(schedule_figures.schedule_curves({}, "alpha_bar", mark_t=3).data) == 0


# ------------------------------------------------------------------ parameter checks

def test_check_params():
    for name in SCHEDULE_NAMES:
        assert check_params(name, DEFAULT_PARAMS[name]) is None
    msg = check_params("linear", {"beta_start": 0.02, "beta_end": 0.01})
    assert msg and "β_start" in msg
    assert check_params("sigmoid", {"beta_start": 0.01, "beta_end": 0.01})  # equal is refused too
    assert check_params("linear", {"beta_start": float("nan"), "beta_end": 0.01})
    assert check_params("cosine", {"s": 0.008, "max_beta": 1.0})
    assert check_params("cosine", {"s": -0.1, "max_beta": 0.9})


# ------------------------------------------------------------------ custom presets

@pytest.mark.parametrize("preset", list(CUSTOM_PRESETS))
def test_custom_presets_start_clean_and_fall(preset):
    f = custom_alpha_bar(preset)
    assert f(0.0) == pytest.approx(1.0)
    u = np.linspace(0, 1, 51)
    values = np.array([f(float(v)) for v in u])
    assert np.all(np.diff(values) <= 1e-12) and values[-1] < 1e-3
    s = custom_schedule(preset, T)
    assert s.num_steps == T and s.name.startswith("custom")
    assert np.all(np.diff(s.alpha_bars) < 0)


def test_cosine_power_2_is_the_cosine_schedule():
    np.testing.assert_allclose(custom_schedule("cosine_power", T, p=2.0).alpha_bars,
                               make_schedule("cosine", T).alpha_bars, rtol=1e-9, atol=1e-15)


def test_linear_log_snr_is_linear():
    s = custom_schedule("linear_log_snr", T, lambda_max=8.0, lambda_min=-8.0)
    np.testing.assert_allclose(s.log_snr, 8.0 - 16.0 * (np.arange(T) + 1) / T, atol=1e-6)


def test_bad_custom_requests_raise():
    with pytest.raises(ValueError):
        custom_alpha_bar("exec('rm -rf /')")
    with pytest.raises(ValueError):
        custom_alpha_bar("linear_alpha_bar", p=2.0)
    with pytest.raises(ValueError):
        custom_alpha_bar("linear_log_snr", lambda_max=-5.0, lambda_min=5.0)
    with pytest.raises(ValueError):
        custom_alpha_bar("cosine_power", p=0.0)


# ------------------------------------------------------------------ landmarks

def test_landmark_rows_match_the_schedule_functions():
    scheds = {name: make_schedule(name, 1000) for name in SCHEDULE_NAMES}  # at T = 1000 all reach SNR = 1
    rows = landmark_rows(scheds)
    assert [r["schedule"] for r in rows] == list(SCHEDULE_NAMES)
    for r in rows:
        s = scheds[r["schedule"]]
        assert r["ᾱ at t = T−1"] == pytest.approx(s.alpha_bars[-1])
        assert r["image left √ᾱ at T−1"] == pytest.approx(math.sqrt(s.alpha_bars[-1]))
        assert r["SNR = 1 at t"] == snr_crossing(s)
        assert r["SNR = 1 at t/T"] == pytest.approx((snr_crossing(s) + 1) / 1000)
        assert r["KL to N(0, I) (nats/dim)"] == pytest.approx(terminal_kl(s))
        assert r["SNR at T−1 (dB)"] == pytest.approx(snr_db(s, 999))


def test_landmarks_when_the_snr_never_reaches_1():
    rows = landmark_rows({"linear": make_schedule("linear", 10)})
    assert rows[0]["SNR = 1 at t"] is None and rows[0]["SNR = 1 at t/T"] is None
    assert rows[0]["KL to N(0, I) (nats/dim)"] > 1.0


def test_snr_db_and_worst_terminal(scheds):
    s = scheds["linear"]
    assert snr_db(s, 0) == pytest.approx(10 * math.log10(s.alpha_bars[0] / (1 - s.alpha_bars[0])))
    assert worst_terminal({}) is None
    big = {n: make_schedule(n, 1000) for n in SCHEDULE_NAMES}
    assert worst_terminal(big)[0] == "scaled_linear"


def test_shared_figure_sends_the_same_dict_made_once():
    """app.caches.shared keeps figures as SharedFigure: what st.plotly_chart sends is the figure's own dict."""
    import copy
    import json

    import plotly.graph_objects as go
    import plotly.io as pio
    import plotly.tools

    fig = schedule_figures.schedule_curves({"linear": make_schedule("linear", 1000)}, "alpha_bar")
    shared = style.SharedFigure(fig)
    sent = plotly.tools.return_figure_from_figure_or_data(shared, validate_figure=True)  # as st.plotly_chart
    assert sent is shared.to_dict() and sent == fig.to_dict()
    assert json.loads(pio.to_json(sent, validate=False)) == json.loads(pio.to_json(fig, validate=False))
    restyled = go.Figure(copy.deepcopy(shared.to_dict())).update_layout(height=987)  # as presenter mode
    assert restyled.layout.height == 987 and shared.to_dict()["layout"].get("height") != 987
