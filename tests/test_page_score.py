"""pages/score.py in Streamlit's AppTest: every main control, the particles, live training, bad links.

Kept small for a busy CPU: the live training runs 300 steps on 500 points.
"""
import pytest

from conftest import assert_ok, button, open_page
from explainer import models


def _open(**query):
    return open_page("pages/score.py", query)


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
    assert at.slider(key="sf_t").value == 200
    charts = len(_charts(at))
    assert charts == 2  # the field and the Tweedie picture (particles wait for the button)

    at.slider(key="sf_t").set_value(800).run()
    assert_ok(at)
    assert at.query_params["sf_t"] == "800"

    for view in ("both", "error", "learned", "exact"):
        at.segmented_control(key="sf_view").set_value(view).run()
        assert_ok(at)
    assert len(_charts(at)) == 2

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
    if "swiss_roll" not in models.TOY_MODELS:
        pytest.skip("no bundled swiss-roll model")
    try:
        models.load_card("toy2d_swiss_roll")
    except models.ModelError:
        pytest.skip("the bundled swiss-roll model is not there yet")
    at = _open(sf_view="error", sf_t="300")
    assert_ok(at)
    assert at.radio(key="sf_source").value == "bundled"
    assert any("relative error" in m.label for m in at.metric)


def test_particles_and_live_training():
    at = _open(sf_dataset="circles", sf_n="500")
    assert_ok(at)
    at.radio(key="sf_sampler").set_value("sde")
    at.select_slider(key="sf_levels").set_value(20)
    button(at, "Run the particles").click().run()
    assert_ok(at)
    assert len(_charts(at)) == 3

    at.select_slider(key="sf_steps").set_value(300).run()
    button(at, "Train").click().run()
    assert_ok(at)
    assert "sf_trained" in at.session_state
    assert at.radio(key="sf_source").value == "trained"
    assert at.segmented_control(key="sf_view").value == "both"
    assert "trained here" in at.radio(key="sf_psource").options  # formatted labels
    assert len(_charts(at)) >= 4  # field, Tweedie, loss curve, error by t (particles: new key)

    at.radio(key="sf_psource").set_value("trained")
    at.radio(key="sf_sampler").set_value("langevin")
    button(at, "Run the particles").click().run()
    assert_ok(at)
    assert len(_charts(at)) == 5


def test_a_bad_link_gives_a_warning_not_an_exception():
    at = _open(sf_t="abc", sf_view="sideways", sf_dataset="nope")
    assert_ok(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "sf_t=abc" in warnings and "sf_view=sideways" in warnings and "sf_dataset=nope" in warnings
    assert at.slider(key="sf_t").value == 200
