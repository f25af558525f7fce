"""The 'Noise schedules' page (app_pages/schedules.py), run headless with Streamlit's AppTest."""
import json

import numpy as np
import pytest

from conftest import assert_no_crash, chart_array, open_page, scrubber, set_scrubber, set_sidebar, warnings_text
from explainer.core.schedules import SCHEDULE_NAMES, make_schedule, make_schedule_for_T
from explainer.lessons.schedule_facts import snr_db


def _open(**query):
    return open_page("app_pages/schedules.py", {"sc_show_t": "true", **query})


@pytest.fixture
def page():
    return _open()


def _table(at) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


def _charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_default_page(page):
    assert_no_crash(page)
    assert page.title[0].value.startswith("2. Noise schedules")
    assert [r["schedule"] for r in _table(page)] == list(SCHEDULE_NAMES)
    caps = scrubber(page, "sc_t").captions()
    assert len(caps) == 5 and all("ᾱ =" in c and "dB" in c for c in caps)
    assert [c["title"] for c in scrubber(page, "sc_t").frames["charts"]] == ["log-SNR of each schedule at t"]
    charts = _charts(page)
    assert len(charts) == 1  # the open tab's figure only
    assert [tr["name"] for tr in charts[0]["data"]] == list(SCHEDULE_NAMES)
    assert "1000" in str(page.query_params["sc_T"])
    assert not page.warning


def test_changing_T(page):
    page.select_slider(key="sc_T").set_value(10).run()
    assert_no_crash(page)
    assert scrubber(page, "sc_t").values[-1] == 9  # the image timestep follows the new T
    rows = {r["schedule"]: r for r in _table(page)}
    # The page scales β with T (make_schedule_for_T), so linear still ends at pure noise with 10 steps.
    assert rows["linear"]["ᾱ at t = T−1"] == pytest.approx(make_schedule_for_T("linear", 10).alpha_bars[-1])
    assert rows["linear"]["KL to N(0, I) (nats/dim)"] < 1e-4
    assert "10" in str(page.query_params["sc_T"])


def test_choosing_schedules(page):
    page.multiselect(key="sc_show").set_value(["linear", "cosine"]).run()
    assert_no_crash(page)
    assert [r["schedule"] for r in _table(page)] == ["linear", "cosine"]
    assert [c.split(":")[0] for c in scrubber(page, "sc_t").captions()] == ["linear", "cosine"]
    assert "linear,cosine" in str(page.query_params["sc_show"])
    page.multiselect(key="sc_show").set_value([]).run()
    assert_no_crash(page)
    assert any("at least one" in i.value for i in page.info)


def test_x_axis_toggle(page):
    page.radio(key="sc_x").set_value("t/T").run()
    assert_no_crash(page)
    assert "t/T" in _charts(page)[0]["layout"]["xaxis"]["title"]["text"]


def test_a_parameter_changes_the_schedule(page):
    page.number_input(key="sc_linear_beta_end").set_value(0.05).run()
    assert_no_crash(page)
    rows = {r["schedule"]: r for r in _table(page)}
    want = make_schedule("linear", 1000, beta_end=0.05).alpha_bars[-1]
    assert rows["linear"]["ᾱ at t = T−1"] == pytest.approx(want)
    assert "0.05" in str(page.query_params["sc_linear_beta_end"])


def test_beta_start_above_beta_end_warns_and_keeps_the_last_good_values(page):
    page.number_input(key="sc_linear_beta_end").set_value(0.005).run()
    page.number_input(key="sc_linear_beta_start").set_value(0.009).run()
    assert_no_crash(page)
    assert "β_start" in warnings_text(page) and "ignored" in warnings_text(page)
    rows = {r["schedule"]: r for r in _table(page)}
    last_good = make_schedule("linear", 1000, beta_end=0.005).alpha_bars[-1]
    assert rows["linear"]["ᾱ at t = T−1"] == pytest.approx(last_good)
    page.number_input(key="sc_linear_beta_start").set_value(0.001).run()  # fixed: the warning goes
    assert_no_crash(page)
    assert not page.warning


def test_t_slider_changes_the_captions(page):
    at = set_scrubber(page, "sc_t", 0)
    assert_no_crash(at)
    caps = scrubber(at, "sc_t").captions()
    assert caps[0].startswith("linear: ᾱ = 0.9999") and "+40.0 dB" in caps[0]
    at = set_scrubber(at, "sc_t", 999)
    s = make_schedule("scaled_linear", 1000)
    ab = s.alpha_bars[999]
    assert f"scaled_linear: ᾱ = {ab:.2e}, SNR = {snr_db(s, 999):+.1f} dB" in scrubber(at, "sc_t").captions()
    assert f"{ab:.2e}" == "4.66e-03"  # the number a lecturer will see: scaled_linear ends short of noise


def test_custom_schedule(page):
    page.selectbox(key="sc_custom").set_value("cosine_power").run()
    page.number_input(key="sc_custom_p").set_value(2.0).run()
    assert_no_crash(page)
    rows = {r["schedule"]: r for r in _table(page)}
    assert len(rows) == 6
    custom = rows["custom: cosine with exponent p"]
    assert custom["ᾱ at t = T−1"] == pytest.approx(rows["cosine"]["ᾱ at t = T−1"], rel=1e-6)
    assert len(scrubber(page, "sc_t").captions()) == 6
    page.selectbox(key="sc_custom").set_value("linear_log_snr").run()
    assert_no_crash(page)
    assert "custom: linear in log-SNR" in [r["schedule"] for r in _table(page)]


def test_bad_url_values_warn_instead_of_failing():
    at = _open(sc_T="abc", sc_show="linear,bogus", sc_linear_beta_start="nan", sc_x="time")
    assert_no_crash(at)
    text = warnings_text(at)
    for key in ("sc_T=abc", "sc_show=", "sc_linear_beta_start=nan", "sc_x=time"):
        assert key in text
    assert len(_table(at)) == 5 and at.select_slider(key="sc_T").value == 1000


def test_url_with_beta_start_above_beta_end():
    at = _open(sc_show="linear", sc_linear_beta_start="0.009", sc_linear_beta_end="0.002", sc_t="5000")
    assert_no_crash(at)
    assert "β_start" in warnings_text(at)
    assert _table(at)[0]["ᾱ at t = T−1"] == pytest.approx(make_schedule("linear", 1000).alpha_bars[-1])
    assert scrubber(at, "sc_t").value == 999  # clamped to T − 1


def _pictures(at) -> list:
    """The pictures the same-t view sends: x0 and ε, which the browser blends per schedule and t."""
    sc = scrubber(at, "sc_t")
    assert all(p.get("blend") for p in sc.frames["panels"])
    return sc.frames["sources"]


def test_sidebar_seed_changes_the_noise(page):
    before = _pictures(page)
    set_sidebar(page, "seed", 7)
    assert _pictures(page) != before


def test_presenter_mode(page):
    set_sidebar(page, "presenter", True)
    assert len(page.expander) == 1  # the controls fold into a panel
    assert [r["schedule"] for r in _table(page)] == list(SCHEDULE_NAMES)


#: Each tab's quantity, from the schedule's ᾱ and β (Ho et al. 2020, Eq. 4; log-SNR as in Kingma et al. 2021).
TAB_QUANTITIES = {
    "ᾱₜ": lambda s: s.alpha_bars,
    "βₜ": lambda s: s.betas,
    "√ᾱₜ": lambda s: np.sqrt(s.alpha_bars),
    "√(1 − ᾱₜ)": lambda s: np.sqrt(1.0 - s.alpha_bars),
    "log-SNR": lambda s: np.log(s.alpha_bars) - np.log1p(-s.alpha_bars),
}


def test_each_tab_shows_its_own_quantity(page):
    """Picking a tab sends that tab's figure, the quantity of every schedule at every t (the others are not
    built or sent until picked)."""
    for name, quantity in TAB_QUANTITIES.items():
        page.session_state["sc_tab"] = name
        page.run()
        assert_no_crash(page)
        charts = _charts(page)
        assert len(charts) == 1
        traces = {tr["name"]: tr for tr in charts[0]["data"] if tr.get("name") in SCHEDULE_NAMES}
        assert list(traces) == list(SCHEDULE_NAMES), name
        for sched, tr in traces.items():
            want = quantity(make_schedule_for_T(sched, 1000))
            t = chart_array(tr["x"]).astype(int)
            assert len(t) > 100, (name, sched)
            np.testing.assert_allclose(chart_array(tr["y"]), want[t], rtol=1e-6, atol=1e-12,
                                       err_msg=f"tab {name}, {sched}")
