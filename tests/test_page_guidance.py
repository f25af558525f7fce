"""AppTest: the score page's guidance section (exact guided score on labelled toy data)."""

import numpy as np
from streamlit.testing.v1 import AppTest

from conftest import assert_no_crash, assert_ok, chart_titles, clear_caches, count_calls, open_page

from explainer.core import guidance
from explainer.core.schedules import make_schedule


def _open(**query) -> AppTest:
    at = open_page("app_pages/score.py", {"sf_show_guid": "true", **query})  # the one AppTest opener (conftest.py)
    assert_ok(at)
    return at


def _metric(at, label):
    return next(m for m in at.metric if m.label == label)


def test_guidance_section_numbers_follow_the_scale():
    at = _open()
    assert at.radio(key="sf_gclass").value == "A"
    assert at.select_slider(key="sf_gscale").value == 3.0
    sweep = guidance.guidance_sweep(guidance.three_classes(), 0, make_schedule("cosine", 1000))
    k, k1 = sweep["scales"].index(3.0), sweep["scales"].index(1.0)
    assert _metric(at, "spread of the particles").value == f"{sweep['spread'][k]:.3f}"
    lost = 1 - sweep["spread"][k] / sweep["spread"][k1]
    text = " ".join(m.value for m in at.markdown)
    assert f"Diversity lost: {lost:.0%}" in text and lost > 0.2
    assert any("p_t(y\\mid x)^{s-1}" in x.value for x in at.latex)
    assert "Class A, s = 3: the guided score at t = 250" in chart_titles(at)

    at.select_slider(key="sf_gscale").set_value(1.0).run()
    assert_no_crash(at)
    assert _metric(at, "spread of the particles").value == f"{sweep['spread'][k1]:.3f}"
    assert "Diversity lost" not in " ".join(m.value for m in at.markdown)
    assert at.query_params["sf_gscale"] == "1.0"


def test_guidance_class_and_t_change_the_figure():
    at = _open(sf_gclass="C", sf_gt="750")
    assert at.radio(key="sf_gclass").value == "C"
    assert "Class C, s = 3: the guided score at t = 750" in chart_titles(at)
    at.radio(key="sf_gclass").set_value("B").run()
    assert_no_crash(at)
    assert "Class B, s = 3: the guided score at t = 750" in chart_titles(at)


def test_guidance_bad_link_values_fall_back():
    at = _open(sf_gclass="Z", sf_gscale="2.7", sf_gt="3")
    assert at.radio(key="sf_gclass").value == "A"
    assert at.select_slider(key="sf_gscale").value == 3.0
    assert at.select_slider(key="sf_gt").value == 250
    assert sum("sf_g" in w.value for w in at.warning) == 3
    assert np.isfinite(float(_metric(at, "spread of the particles").value))


def test_guidance_section_waits_for_its_toggle(monkeypatch):
    """The particles of every scale are run only when asked: opening the page runs no guidance sweep."""
    sweeps = count_calls(monkeypatch, guidance, "guidance_sweep")
    fields = count_calls(monkeypatch, guidance, "guided_score")
    clear_caches()  # the page caches its sweeps: one left by an earlier test would not be counted
    at = open_page("app_pages/score.py", {})
    assert at.toggle(key="sf_show_guid").value is False
    assert (len(sweeps), len(fields)) == (0, 0)
    at.toggle(key="sf_show_guid").set_value(True).run()
    assert_no_crash(at)
    assert at.select_slider(key="sf_gscale").value == 3.0
    assert [args[1] for args in sweeps] == [0]  # one sweep, for the class shown (A)
    assert at.query_params["sf_show_guid"] in ("True", ["True"])
