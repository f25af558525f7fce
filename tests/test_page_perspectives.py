"""AppTest: the forward page's spectral view and the reverse page's spectra, copies and guidance sections."""
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import assert_no_crash, chart_titles, clear_caches, count_calls
from conftest import open_page as _open_page
from explainer.app.noising import SCRUB_FRAMES, preview_array
from explainer.app.pickers import sample_image
from explainer.app.resources import gaussian_noise, get_model
from explainer.core import spectral
from explainer.core.schedules import make_schedule
from explainer.models import bundled_digits, memorisation, pretrained

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str, query: dict | None = None) -> AppTest:
    return _open_page(page, query, timeout=300)  # the one AppTest opener (tests/conftest.py)


def scrubber_payload(at: AppTest, key: str) -> dict:
    """The JSON a scrubber component received: {"index": ..., "set": frame set}."""
    el = next(e for e in at.get("bidi_component") if e.proto.id.endswith(f"-{key}_scrubber"))
    return json.loads(el.proto.bytes)


def markdown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_forward_spectral_view_follows_t_and_states_when_rings_drown():
    at = open_page("app_pages/forward.py", {"fw_spec_t": "600", "fw_show_spec": "true"})
    msg = scrubber_payload(at, "fw_spec_t")
    frames = msg["set"]
    assert frames["values"][msg["index"]] == at.session_state["fw_spec_t"]
    assert abs(at.session_state["fw_spec_t"] - 600) <= 17  # the nearest of 32 precomputed values of t
    chart = frames["charts"][0]
    assert chart["kind"] == "curves" and chart["log_x"] and chart["log_y"]
    assert len(chart["series"][2]["ys"]) == len(frames["values"]) == SCRUB_FRAMES
    # the sentence's numbers are those of the library for the default picture, schedule and seed
    x0 = preview_array(sample_image("astronaut.jpg", 512, "RGB"))
    eps = gaussian_noise(x0.shape, 0)
    sp = spectral.noised_spectra(x0, eps, [])
    drown = spectral.drowning_timesteps(make_schedule("linear", 1000), sp["x0"], sp["eps"])
    text = markdown(at)
    assert f"(f = 0.50 cycles/pixel, 2-pixel detail) from t = {drown[-1]}" in text
    assert f"a wave across the whole picture) from t = {drown[0]}" in text
    assert drown[-1] < drown[0] and "The finest waves go first" in text
    # another schedule: a new frame set, other numbers
    at.selectbox(key="fw_schedule").set_value("cosine").run()
    assert_no_crash(at)
    assert scrubber_payload(at, "fw_spec_t")["set"]["id"] != frames["id"]


@pytest.fixture(scope="module")
def generated():
    with pytest.MonkeyPatch.context() as mp:
        spectra = count_calls(mp, spectral, "radial_power_spectra")
        clear_caches()  # the page caches the spectra: ones left by an earlier test would not be counted
        at = open_page("app_pages/reverse.py", {"rv_n": "4", "rv_steps": "10"})
        assert "How the picture forms" not in [h.value for h in at.header]
        next(b for b in at.button if b.label == "Generate").click().run()
        assert_no_crash(at)
        # The spectra wait for their toggle: the header and the toggle are there; nothing is computed or drawn.
        assert "How the picture forms: coarse to fine" in [h.value for h in at.header]
        assert spectra == [] and not any("Spectrum of x̂₀" in t for t in chart_titles(at))
        at.toggle(key="rv_show_spec").set_value(True).run()
        assert_no_crash(at)
        assert spectra  # computed once asked (settle_steps computes spectra too)
    return at


def test_reverse_spectra_of_x0_hat(generated):
    at = generated
    assert "How the picture forms: coarse to fine" in [h.value for h in at.header]
    titles = chart_titles(at)
    assert "Spectrum of x̂₀ for digit #0, step by step" in titles
    assert any(t.startswith("When each frequency of x̂₀ settles") for t in titles)
    res = at.session_state["rv_result"]
    _, settle = spectral.settle_steps(res.x0_hat[:, 0], res.images[0])
    assert (f"settle at step {settle[0]} of {len(res.kept_steps) - 1}, the finest (f = 0.50, 2-pixel detail) at "
            f"step {settle[-1]}") in markdown(at)


def test_reverse_nearest_training_digits(generated):
    at = generated
    assert "Is it copying? The nearest training digits" in [h.value for h in at.header]
    captions = [i.proto.imgs[0].caption for i in at.image if i.proto.imgs]
    assert any(c.startswith("Each group: a generated digit") for c in captions)
    res = at.session_state["rv_result"]
    digits = bundled_digits.load_bundle()
    _, dist = memorisation.nearest(res.images, digits.train, 3)
    table = at.dataframe[0].value
    assert len(table) == 4
    np.testing.assert_allclose(table["nearest training digit (L2)"], np.round(dist[:, 0], 2))
    s = memorisation.summary(dist[:, 0], memorisation.heldout_reference(digits))
    text = markdown(at)
    assert f"a median **{s['median']:.1f}** from their nearest training digit" in text
    assert f"lie a median **{s['reference_median']:.1f}** from it" in text


def test_reverse_guidance_section_without_measurements(monkeypatch):
    real = pretrained.load_card
    monkeypatch.setattr(pretrained, "load_card", lambda name, directory=None: {
        k: v for k, v in real(name, directory).items() if k != "guidance_sweep"})
    get_model.clear()
    try:
        at = open_page("app_pages/reverse.py")
        assert any("no guidance measurements yet" in i.value for i in at.info)
    finally:
        get_model.clear()


SWEEP = {"scales": [0.0, 1.0, 3.0], "diversity": [22.4, 19.4, 17.6], "confidence": [0.074, 0.743, 0.999],
         "accuracy": [0.1, 0.8, 1.0], "diversity_real_heldout": 17.99, "per_class": 2, "seed": 0,
         "settings": {"sampler": "ddim", "steps": 50}, "device": "cpu",
         "command": "python -m explainer.evaluate --only guidance --n 2"}


def test_reverse_guidance_section_plots_the_card(monkeypatch):
    real = pretrained.load_card
    monkeypatch.setattr(pretrained, "load_card", lambda name, directory=None: {**real(name, directory),
                                                                           "guidance_sweep": SWEEP})
    get_model.clear()
    try:
        at = open_page("app_pages/reverse.py", {"rv_guidance": "2.5"})
        assert not any("no guidance measurements" in i.value for i in at.info)
        assert any(t.startswith("Guidance: confidence up, variety down") for t in chart_titles(at))
        text = markdown(at)
        assert "From s = 1 to s = 3 the classifier's mean confidence in the asked digit goes from 74.3% to 99.9%" in text
        assert ("Your scale s = 2.5 lies between the measured s = 1 (confidence 74.3%, diversity 19.4) and s = 3 "
                "(confidence 99.9%, diversity 17.6).") in text
    finally:
        get_model.clear()
