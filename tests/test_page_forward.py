"""AppTest: the home page and the forward-process page, with every main control changed."""
import base64
import io
import math

import pytest
from PIL import Image

from conftest import (assert_no_crash, assert_ok, clear_caches, count_calls, open_page, scrubber, set_scrubber,
                      set_sidebar, warnings_text)
from explainer.app import noising
from explainer.app.noising import PREVIEW_SIDE
from explainer.app.sampling_runs import DIGIT_GIF_SAMPLER, DIGIT_GIF_STEPS, digit_gif
from explainer.core.schedules import make_schedule, make_schedule_for_T
from explainer.lessons import spectrum_framesets
from explainer.lessons.notation import sub
from tests.corpus import noise_rgb, save

FORWARD = "app_pages/forward.py"


def png_bytes() -> bytes:
    return save(noise_rgb(48, 64), "PNG")


def data_uri_size(uri: str) -> tuple[int, int]:
    """(width, height) of the picture in a data: URI."""
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size


def panel(sc, alt: str) -> dict:
    return next(p for p in sc.frames["panels"] if p["alt"] == alt)


def picture(sc, alt: str) -> str | tuple[str, str]:
    """A panel's picture: its data URI, or for a panel the browser blends, the URIs of x0 and ε."""
    p, src = panel(sc, alt), sc.frames["sources"]
    if p.get("blend"):
        return src[p["blend"]["x0"]], src[p["blend"]["eps"]]
    return src[p["source"]] if "source" in p else p["frames"]


def signal_weight(schedule: str, t: int, T: int = 1000) -> str:
    """The page's "signal weight √ᾱₜ" as the library computes it, formatted as the page does."""
    return f"{math.sqrt(make_schedule_for_T(schedule, T).alpha_bars[t]):.4f}"


def test_home_page_shows_cards_and_settings():
    at = open_page(None)
    assert at.title[0].value == "Diffusion models, explained"
    assert [s.label for s in at.sidebar.selectbox] == ["Compute device"]
    assert at.sidebar.number_input[0].value == 0
    text = " ".join(m.value for m in at.markdown)
    assert "Forward process" in text and "Reverse process" in text
    # The live digit: what the caption says is what ran (the GIF has one frame per step, plus the hold).
    from PIL import Image as PILImage

    from explainer.core.samplers import SAMPLER_LABELS

    caption = " ".join(c for i in at.get("image") for c in i.captions)
    assert f"{DIGIT_GIF_STEPS} steps of {SAMPLER_LABELS[DIGIT_GIF_SAMPLER]}" in caption
    gif = digit_gif(0)
    with PILImage.open(io.BytesIO(gif)) as im:
        assert im.n_frames >= DIGIT_GIF_STEPS


@pytest.fixture(scope="module")
def forward():
    return open_page(FORWARD)


def test_forward_defaults(forward):
    at = forward
    assert "forward process" in at.title[0].value.lower()
    sc = scrubber(at, "fw_t")
    assert sc.values[0] == 0 and sc.values[-1] == 999
    assert sc.value == min(sc.values, key=lambda v: abs(v - 250))  # the frame nearest T/4
    assert sc.metric("signal weight √ᾱₜ") == signal_weight("linear", sc.value)
    assert sc.lines()[0].startswith(f"x{sub(sc.value)} = {signal_weight('linear', sc.value)}·x₀ + ")
    assert "x_t" in at.latex[0].value
    assert {b.proto.label for b in at.get("download_button")} >= {"Download the filmstrip (PNG)",
                                                                  "Download the noising animation (GIF)"}


def test_forward_t_slider_updates_numbers_and_url(forward):
    at = set_scrubber(forward, "fw_t", 999)
    assert_no_crash(at)
    sc = scrubber(at, "fw_t")
    assert sc.value == 999
    # √ᾱ = 0.0064 at t = 999 of the linear schedule; ᾱ itself (4e-5) would read 0.0000.
    want = signal_weight("linear", 999)
    assert sc.metric("signal weight √ᾱₜ") == want == "0.0064"
    assert sc.metric("noise weight √(1−ᾱₜ)") == f"{math.sqrt(1 - make_schedule('linear', 1000).alpha_bars[999]):.4f}"
    assert at.query_params["fw_t"] in (["999"], "999")


@pytest.mark.parametrize("schedule", ["cosine", "sigmoid", "scaled_linear"])
def test_forward_schedule_changes_weights(schedule):
    at = open_page(FORWARD)
    t = scrubber(at, "fw_t").value
    assert scrubber(at, "fw_t").metric("signal weight √ᾱₜ") == signal_weight("linear", t)
    at.selectbox(key="fw_schedule").set_value(schedule).run()
    assert_no_crash(at)
    assert scrubber(at, "fw_t").value == t
    got = scrubber(at, "fw_t").metric("signal weight √ᾱₜ")
    assert got == signal_weight(schedule, t) != signal_weight("linear", t)


def test_forward_T_and_seed_and_sample():
    at = open_page(FORWARD)
    noise_before = picture(scrubber(at, "fw_t"), "noise ε ~ N(0, I) (shown ÷3)")
    at.select_slider(key="fw_T").set_value(50).run()
    assert_no_crash(at)
    sc = scrubber(at, "fw_t")
    assert sc.values[-1] == 49 and sc.value <= 49
    assert sc.metric("signal weight √ᾱₜ") == signal_weight("linear", sc.value, T=50)
    at.number_input(key="fw_seed").set_value(7).run()
    assert picture(scrubber(at, "fw_t"), "noise ε ~ N(0, I) (shown ÷3)") != noise_before
    assert data_uri_size(picture(scrubber(at, "fw_t"), "clean image x₀")) != (28, 28)
    at.selectbox(key="fw_sample").set_value("Handwritten digit (28x28)").run()
    assert_no_crash(at)
    assert data_uri_size(picture(scrubber(at, "fw_t"), "clean image x₀")) == (28, 28)


def test_forward_upload_good_and_bad_files():
    at = open_page(FORWARD)
    at.file_uploader(key="fw_upload").set_value(("photo.png", png_bytes(), "image/png")).run()
    assert_ok(at)
    assert data_uri_size(picture(scrubber(at, "fw_t"), "clean image x₀")) == (64, 48)
    at.file_uploader(key="fw_upload").set_value(("notes.png", b"this is not an image", "image/png")).run()
    assert_no_crash(at)
    assert at.error and "notes.png" in at.error[0].value
    # The page carries on with the sample image, and the other controls keep their values.
    assert data_uri_size(picture(scrubber(at, "fw_t"), "clean image x₀")) == (PREVIEW_SIDE,) * 2
    at = set_scrubber(at, "fw_t", 0)
    assert_no_crash(at)
    assert scrubber(at, "fw_t").value == 0


def test_forward_other_sections(monkeypatch):
    # The sections below the main view build their frames only when their toggles are on.
    heavy = {"two schedules": count_calls(monkeypatch, noising, "schedules_scrubber"),
             "three sizes": count_calls(monkeypatch, noising, "resolution_frames"),
             "spectra": count_calls(monkeypatch, spectrum_framesets, "spectrum_frameset")}
    clear_caches()  # the spectra's frame set is cached by the page: one left by an earlier test would hide a call
    at = open_page(FORWARD)
    assert {k: len(v) for k, v in heavy.items()} == {"two schedules": 0, "three sizes": 0, "spectra": 0}
    at = open_page(FORWARD, {"fw_show_cmp": "true", "fw_show_res": "true"})
    assert len(heavy["two schedules"]) == len(heavy["three sizes"]) == 1 and heavy["spectra"] == []
    at.selectbox(key="fw_cmp_b").set_value("sigmoid").run()
    at = set_scrubber(at, "fw_cmp_t", 700)
    at = set_scrubber(at, "fw_res_t", 100)
    at.slider(key="fw_chain_x0").set_value(-0.5).run()
    at.slider(key="fw_chain_t").set_value(50).run()
    assert_no_crash(at)
    cmp = scrubber(at, "fw_cmp_t")
    assert [c.split(":")[0] for c in cmp.captions()] == ["linear", "sigmoid"]
    ab = make_schedule("sigmoid", 1000).alpha_bars[cmp.value]
    assert f"ᾱ = {ab:.4f}" in cmp.captions()[1] or f"ᾱ = {ab:.2e}" in cmp.captions()[1]
    assert scrubber(at, "fw_res_t").captions()[0] == f"32×32 pixels at t = {scrubber(at, 'fw_res_t').value}"
    table = [m.value for m in at.markdown if "Markov steps" in m.value]
    theory = f"| theory: √ᾱ·x₀ and 1−ᾱ | {math.sqrt(make_schedule('linear', 1000).alpha_bars[50]) * -0.5:+.4f} |"
    assert table and theory in table[0]


@pytest.mark.parametrize("key,raw,widget,kept", [
    ("fw_t", "abc", "scrubber", 258),  # the default T/4 = 250, at the nearest of the 32 frames
    ("fw_T", "7", "select_slider", 1000),
    ("fw_schedule", "nope", "selectbox", "linear"),
    ("fw_chain_x0", "nan", "slider", 0.5),
    ("fw_seed", "1.5e", "number_input", 0),
])
def test_forward_bad_url_values_are_refused_one_by_one(key, raw, widget, kept):
    at = open_page(FORWARD, {key: raw})
    assert f"{key}={raw}" in warnings_text(at)  # each bad value is named in its own warning ...
    got = scrubber(at, key).value if widget == "scrubber" else getattr(at, widget)(key=key).value
    assert got == kept  # ... and the default is used


def test_bad_sidebar_settings_in_the_url_are_refused():
    at = open_page(None, {"presenter": "maybe", "device": "tpu"})
    assert "presenter=maybe" in warnings_text(at) and "device=tpu" in warnings_text(at)
    assert at.sidebar.toggle[0].value is False and at.sidebar.selectbox[0].value == "auto"


def test_forward_out_of_range_url_values_are_clamped():
    at = open_page(FORWARD, {"fw_t": "5000", "seed": str(2**40), "fw_chain_t": "-3"})
    assert scrubber(at, "fw_t").value == 999  # clamped to T - 1
    assert at.session_state["seed"] == 2**31 - 1
    assert at.slider(key="fw_chain_t").value == 0
    assert not at.warning  # a clamped value is used as near as it can be, without a warning


def test_presenter_mode_folds_controls():
    at = open_page(FORWARD)
    assert not any(e.label == "Controls" for e in at.expander)
    at = set_sidebar(at, "presenter", True)
    assert any(e.label == "Controls" for e in at.expander)
    assert any(e.label == "Controls" for e in open_page(FORWARD, {"presenter": "1"}).expander)  # from a link
