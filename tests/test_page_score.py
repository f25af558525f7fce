"""app_pages/score.py in Streamlit's AppTest: every main control, the particles, live training, bad links.

Kept small for a busy CPU: the live training runs 300 steps on 500 points.
"""
import numpy as np
import pytest
import torch

from conftest import assert_ok, button, chart_titles, open_page, scrubber, set_scrubber
from explainer.core import particles as sp
from explainer.core.schedules import make_schedule_for_T
from explainer.models import pretrained


def _open(**query):
    return open_page("app_pages/score.py", query)


def _charts(at) -> list:
    """The page's charts above the guidance section (which always shows two of its own)."""
    return [title for title in chart_titles(at)
            if "the guided score at t" not in title and "What guidance trades" not in title]


def _field(sc, name: str) -> np.ndarray:
    """The vectors of the scrubber's field ``name`` at every t, (positions, arrows, 2), decoded from the
    integers they travel as (k · unit, one unit per position)."""
    f = next(f for f in sc.frames["charts"][0]["fields"] if f["name"] == name)
    return np.array([np.asarray(k, dtype=float).reshape(-1, 2) * u for k, u in zip(f["v"], f["unit"])])


def _exact_score(data: np.ndarray, x: np.ndarray, alpha_bar: float) -> np.ndarray:
    """∇ log p_t(x) of p_t = (1/N) Σ N(√ᾱ xᵢ, (1 − ᾱ) I), written out here: Σ wᵢ (√ᾱ xᵢ − x) / (1 − ᾱ),
    with wᵢ the posterior weights of the bumps (a softmax of −|x − √ᾱ xᵢ|² / 2(1 − ᾱ))."""
    mu, var = np.sqrt(alpha_bar) * data, 1.0 - alpha_bar
    logw = -((x[:, None, :] - mu[None]) ** 2).sum(-1) / (2 * var)
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return (w[:, :, None] * (mu[None] - x[:, None, :])).sum(1) / var


def _learned_score(pre, x: np.ndarray, t: int) -> np.ndarray:
    """The bundled ε-model's score, −ε̂(x, t)/√(1 − ᾱₜ) (the model run here, not through the page's helper)."""
    with torch.inference_mode():
        eps = pre.model(torch.as_tensor(x, dtype=torch.float32), torch.full((len(x),), t)).double().numpy()
    return -eps / np.sqrt(1.0 - float(pre.schedule.alpha_bars[t]))


def _check_field(sc, view: str, dataset: str = "swiss_roll", n: int = 2000, seed: int = 0):
    """Each field the scrubber sends for ``view`` holds the right vectors (at three t; not the first, t = 1,
    where a grid point halfway between two data points flips with the last digit of a distance)."""
    data = sp.make_data(dataset, n, seed)
    pre = pretrained.load_pretrained(f"toy2d_{dataset}", "cpu") if view != "exact" else None
    schedule = make_schedule_for_T(sp.SCHEDULE, sp.NUM_STEPS)  # the page's
    pts = np.asarray(sc.frames["charts"][0]["points"], dtype=float).reshape(-1, 2)
    for i in (len(sc.values) // 4, len(sc.values) // 2, len(sc.values) - 1):
        t = sc.values[i]
        ab = float(schedule.alpha_bars[t])
        exact = _exact_score(data, pts, ab)
        want = {"exact score": exact}
        if pre is not None:
            learned = _learned_score(pre, pts, t)
            want.update({"learned score": learned, "learned − exact": learned - exact})
        for f in sc.frames["charts"][0]["fields"]:
            got = _field(sc, f["name"])[i]
            unit = f["unit"][i]  # vectors travel rounded to one unit
            np.testing.assert_allclose(got, want[f["name"]], rtol=1e-3, atol=unit,
                                       err_msg=f"view {view}, field {f['name']}, t = {t}")


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
            _check_field(scrubber(at, "sf_t"), view)
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
