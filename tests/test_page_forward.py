"""AppTest: the home page and the forward-process page, with every main control changed."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str | None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def png_bytes(w=64, h=48, mode="RGB") -> bytes:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def test_home_page_shows_cards_and_settings():
    at = open_page(None)
    assert at.title[0].value == "Diffusion models, explained"
    assert [s.label for s in at.sidebar.selectbox] == ["Compute device"]
    assert at.sidebar.number_input[0].value == 0
    text = " ".join(m.value for m in at.markdown)
    assert "Forward process" in text and "Reverse process" in text


@pytest.fixture(scope="module")
def forward():
    return open_page("pages/forward.py")


def test_forward_defaults(forward):
    at = forward
    assert "forward process" in at.title[0].value.lower()
    assert at.slider(key="fw_t").value == 250
    labels = [m.label for m in at.metric]
    assert "signal weight √ᾱₜ" in labels and "SNR in decibels" in labels
    assert any("x_{250}" in latex.value for latex in at.latex)
    assert len(at.get("plotly_chart")) >= 3
    assert {b.proto.label for b in at.get("download_button")} >= {"Download the filmstrip (PNG)",
                                                                  "Download the noising animation (GIF)"}


def test_forward_t_slider_updates_numbers_and_url(forward):
    at = forward
    at.slider(key="fw_t").set_value(999).run()
    assert not at.exception
    m = {x.label: x.value for x in at.metric}
    assert float(m["signal weight √ᾱₜ"]) < 0.01  # linear schedule, T = 1000: almost no signal left
    assert at.query_params["fw_t"] == ["999"] or at.query_params["fw_t"] == "999"


@pytest.mark.parametrize("schedule", ["cosine", "sigmoid", "scaled_linear"])
def test_forward_schedule_changes_weights(schedule):
    at = open_page("pages/forward.py")
    before = {x.label: x.value for x in at.metric}["signal weight √ᾱₜ"]
    at.selectbox(key="fw_schedule").set_value(schedule).run()
    assert not at.exception
    after = {x.label: x.value for x in at.metric}["signal weight √ᾱₜ"]
    assert before != after


def test_forward_T_and_seed_and_sample():
    at = open_page("pages/forward.py")
    at.select_slider(key="fw_T").set_value(50).run()
    assert not at.exception
    assert at.slider(key="fw_t").max == 49 and at.slider(key="fw_t").value <= 49
    at.number_input(key="fw_seed").set_value(7).run()
    at.selectbox(key="fw_sample").set_value("Handwritten digit (28x28)").run()
    assert not at.exception
    assert any("28" in c.value for c in at.caption) or at.image


def test_forward_upload_good_and_bad_files():
    at = open_page("pages/forward.py")
    at.file_uploader(key="fw_upload").set_value(("photo.png", png_bytes(), "image/png")).run()
    assert not at.exception and not at.error
    at.file_uploader(key="fw_upload").set_value(("notes.png", b"this is not an image", "image/png")).run()
    assert not at.exception
    assert at.error and "notes.png" in at.error[0].value
    # The page still works with the sample image, and the other controls keep their values.
    at.slider(key="fw_t").set_value(10).run()
    assert not at.exception and at.slider(key="fw_t").value == 10


def test_forward_other_sections():
    at = open_page("pages/forward.py")
    at.selectbox(key="fw_cmp_b").set_value("sigmoid").run()
    at.slider(key="fw_cmp_t").set_value(700).run()
    at.slider(key="fw_res_t").set_value(100).run()
    at.slider(key="fw_chain_x0").set_value(-0.5).run()
    at.slider(key="fw_chain_t").set_value(50).run()
    assert not at.exception
    table = [m.value for m in at.markdown if "Markov steps" in m.value]
    assert table and "theory" in table[0]


def test_forward_bad_url_values_are_clamped_or_refused():
    at = open_page("pages/forward.py", {"fw_t": "abc", "fw_T": "7", "fw_schedule": "nope", "seed": "-5",
                                        "fw_chain_x0": "nan", "presenter": "maybe"})
    warnings = " ".join(w.value for w in at.warning)
    assert "fw_t=abc" in warnings or "fw_T=7" in warnings
    assert at.select_slider(key="fw_T").value == 1000
    assert at.selectbox(key="fw_schedule").value == "linear"
    at2 = open_page("pages/forward.py", {"fw_t": "5000"})
    assert at2.slider(key="fw_t").value == 999  # clamped to T - 1


def test_presenter_mode_folds_controls():
    at = open_page("pages/forward.py")
    at.sidebar.toggle[0].set_value(True).run()
    assert not at.exception
    assert any(e.label == "Controls" for e in at.expander)
