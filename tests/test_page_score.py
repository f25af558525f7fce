"""app_pages/score.py in Streamlit's AppTest: every main control, the particles, live training, bad links.

Kept small for a busy CPU: the live training runs 300 steps on 500 points.
"""
import pytest

from conftest import assert_ok, button, open_page, scrubber, set_scrubber
from explainer.models import pretrained


def _open(**query):
    return open_page("app_pages/score.py", query)


def _charts(at) -> list:
    """The page's charts above the guidance section (which always shows two of its own)."""
    return [c for c in at.get("plotly_chart")
            if "the guided score at t" not in c.proto.spec and "What guidance trades" not in c.proto.spec]


def _latex(at) -> str:
    return " ".join(e.value for e in at.latex)


def test_field_controls_and_tweedie():
    at = _open()
    assert_ok(at)
    assert at.title[0].value.startswith("4. The score field")
    sc = scrubber(at, "sf_t")
    assert sc.values[0] == 1 and sc.values[-1] == 999 and len(sc.values) == 32
    assert at.session_state["sf_t"] == sc.values[sc.index] == min(sc.values, key=lambda v: abs(v - 200))
    field = sc.frames["charts"][0]
    assert field["kind"] == "field" and [f["name"] for f in field["fields"]] == ["exact score"]
    assert [m["label"] for m in sc.frames["metrics"]] == ["ᾱₜ (signal left)", "noise std √(1−ᾱₜ)"]
    assert len(_charts(at)) == 1  # the Tweedie picture; the field is drawn by the scrubber

    # The release of the scrubber: one rerun, the address and the Tweedie section follow the released t.
    t = sc.values[25]
    set_scrubber(at, "sf_t", t)
    assert_ok(at)
    assert at.query_params["sf_t"] == str(t)
    assert any(f"Here at t = {t}," in m.value for m in at.markdown)

    names = {"both": ["exact score", "learned score"], "error": ["learned − exact"], "learned": ["learned score"],
             "exact": ["exact score"]}
    for view in ("both", "error", "learned", "exact"):
        at.segmented_control(key="sf_view").set_value(view).run()
        assert_ok(at)
        if any(r.key == "sf_source" for r in at.radio):  # a bundled model: the learned views show it
            assert [f["name"] for f in scrubber(at, "sf_t").frames["charts"][0]["fields"]] == names[view]
    assert len(_charts(at)) == 1
    assert at.session_state["sf_t"] == t  # a new frame set keeps the released t

    at.slider(key="sf_px").set_value(-2.0).run()
    at.slider(key="sf_py").set_value(0.5).run()
    assert_ok(at)
    assert r"-2.00\\ 0.50" in _latex(at)

    at.selectbox(key="sf_dataset").set_value("spiral").run()
    assert_ok(at)
    assert any("no bundled model" in i.value for i in at.info)
    at.segmented_control(key="sf_view").set_value("error").run()
    assert_ok(at)
    assert any("No learned model" in i.value for i in at.info)  # falls back to the exact field

    at.select_slider(key="sf_n").set_value(500).run()
    at.number_input(key="sf_seed").set_value(3).run()
    assert_ok(at)


def test_bundled_model_views_when_present():
    if "swiss_roll" not in pretrained.TOY_MODELS:
        pytest.skip("no bundled swiss-roll model")
    try:
        pretrained.load_card("toy2d_swiss_roll")
    except pretrained.ModelError:
        pytest.skip("the bundled swiss-roll model is not there yet")
    at = _open(sf_view="error", sf_t="300")
    assert_ok(at)
    assert at.radio(key="sf_source").value == "bundled"
    sc = scrubber(at, "sf_t")
    assert sc.values[sc.index] == min(sc.values, key=lambda v: abs(v - 300))  # the nearest precomputed t
    errors = next(m for m in sc.frames["metrics"] if m["label"] == "relative error of the learned score")
    assert all(v.endswith("%") for v in errors["values"])


def test_particles_and_live_training():
    at = _open(sf_dataset="circles", sf_n="500")
    assert_ok(at)
    at.radio(key="sf_sampler").set_value("sde")
    at.select_slider(key="sf_levels").set_value(20)
    button(at, "Run the particles").click().run()
    assert_ok(at)
    assert len(_charts(at)) == 2  # Tweedie and the particles (the field is a scrubber)

    at.select_slider(key="sf_steps").set_value(300).run()
    button(at, "Train").click().run()
    assert_ok(at)
    assert "sf_trained" in at.session_state
    assert at.radio(key="sf_source").value == "trained"
    assert at.segmented_control(key="sf_view").value == "both"
    assert "trained here" in at.radio(key="sf_psource").options  # formatted labels
    assert len(_charts(at)) >= 3  # Tweedie, loss curve, error by t (particles: new key; the field: a scrubber)
    assert [f["name"] for f in scrubber(at, "sf_t").frames["charts"][0]["fields"]] == ["exact score", "learned score"]

    at.radio(key="sf_psource").set_value("trained")
    at.radio(key="sf_sampler").set_value("langevin")
    button(at, "Run the particles").click().run()
    assert_ok(at)
    assert len(_charts(at)) == 4


def test_a_bad_link_gives_a_warning_not_an_exception():
    at = _open(sf_t="abc", sf_view="sideways", sf_dataset="nope")
    assert_ok(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "sf_t=abc" in warnings and "sf_view=sideways" in warnings and "sf_dataset=nope" in warnings
    sc = scrubber(at, "sf_t")
    assert sc.values[sc.index] == min(sc.values, key=lambda v: abs(v - 200))
