"""What a teacher's session does on the forward, reverse and score pages, in a real browser.

Each test drives one page through the real app (``streamlit run app.py``) and
checks, after every interaction, that no ``st.exception`` box appeared and that
the elements the interaction should produce are there: captions, metrics,
charts, downloads. The bundled MNIST model may be a placeholder, so nothing
here judges how the digits look, only that they are drawn.

``test_page_render_times`` measures how long each page takes from navigation to
idle and writes the numbers to ``test-artifacts/page_times.json``; it asserts
only a generous ceiling.
"""
from __future__ import annotations

import base64
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageSequence
from playwright.sync_api import Page, expect

from explainer.app.noising import PREVIEW_SIDE
from explainer.models.pretrained import pick_device
from tests.corpus import handwritten_seven

from .helpers import (ARTIFACTS, open_ready, assert_no_exception, alert_texts, click_button, download, expect_rerun,
                      find_widget, scrubber_metric, select_option, set_scrubber, set_slider, upload_file,
                      wait_idle)

UPLOAD = "... or your own (PNG, JPG, JPEG, WEBP, GIF, BMP)"
FW_T = "Timestep t (0 = almost clean, T−1 = the noisiest step)"
RV_STEP = "Step (0 = the start, pure noise)"
SF_T = "Timestep t (1 = almost clean, 999 = pure noise)"
SLOW = 180  # seconds allowed for a model run on a busy 2-core machine
#: url path -> the start of the page's title.
HEADINGS = {"": "Diffusion", "forward": "1. The forward process", "schedules": "2. Noise schedules",
            "learning": "3. Learning to denoise", "score": "4. The score field", "reverse": "5. Reverse sampling", "reading": "Further reading"}
PAGES = list(HEADINGS)


# ------------------------------------------------------------------ opening a page

# ------------------------------------------------------------------ small readers

def captions(page: Page) -> list[str]:
    """Texts of all image captions in the page now."""
    return [t.strip() for t in page.get_by_test_id("stImageCaption").all_inner_texts()]


def metric_value(page: Page, label: str) -> str:
    """The value shown by the ``st.metric`` with this label."""
    m = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    expect(m).to_have_count(1)
    return m.get_by_test_id("stMetricValue").inner_text().strip()


def plotly_frames(page: Page, title_part: str | None = None) -> list[int]:
    """For each Plotly chart in the page (optionally only those whose text contains ``title_part``),
    the number of animation frames it holds."""
    charts = page.get_by_test_id("stPlotlyChart")
    if title_part:
        charts = charts.filter(has_text=title_part)
    js = "el => (el._transitionData && el._transitionData._frames || []).length"
    return [c.locator(".js-plotly-plot").evaluate(js) for c in charts.all()]


def play_buttons(page: Page):
    """The "▶ Play" buttons of Plotly animations in the page."""
    return page.get_by_test_id("stPlotlyChart").locator(".updatemenu-button").filter(has_text="Play")


def click_segment(page: Page, option: str, timeout: float | None = None) -> None:
    """Choose ``option`` in an ``st.segmented_control`` (there is one per page here) and wait for the rerun."""
    # The options are toggle buttons (role "radio" for a single choice); click the one with this text.
    button = page.get_by_test_id("stButtonGroup").get_by_text(option, exact=True)
    with expect_rerun(page, timeout=timeout):
        button.click()


def gif_frames(path: Path) -> int:
    with Image.open(path) as im:
        assert im.format == "GIF"
        return sum(1 for _ in ImageSequence.Iterator(im))


# ------------------------------------------------------------------ test files

def make_photo(path: Path, size=(1024, 768)) -> Path:
    """A photo-like picture: colour gradients, a sun, a house, some noise; saved as JPEG or PNG by suffix."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([255 * x / w, 255 * y / h, 255 * (1 - x / w) * 0.8 + 40], axis=-1)
    rgb += np.random.default_rng(0).normal(0, 6, rgb.shape)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((w * 0.65, h * 0.1, w * 0.85, h * 0.1 + w * 0.2), fill=(250, 220, 60))
    d.rectangle((w * 0.15, h * 0.5, w * 0.45, h * 0.9), fill=(150, 60, 40), outline=(20, 20, 20), width=6)
    d.polygon([(w * 0.12, h * 0.5), (w * 0.30, h * 0.28), (w * 0.48, h * 0.5)], fill=(90, 30, 30))
    d.rectangle((w * 0.27, h * 0.7, w * 0.33, h * 0.9), fill=(60, 40, 20))
    if path.suffix.lower() == ".png":
        img = img.convert("RGBA")
        img.putalpha(Image.fromarray(np.where(x < w * 0.05, 0, 255).astype(np.uint8)))  # a transparent margin
        img.save(path, "PNG")
    else:
        img.save(path, "JPEG", quality=90)
    return path


def make_digit(path: Path) -> Path:
    """The tests' handwritten 7 (tests/corpus.py), saved as a PNG file for the uploader."""
    path.write_bytes(handwritten_seven())
    return path


# ------------------------------------------------------------------ page times (first: the pages are cold)

def test_page_render_times(app_server, page):
    """Every page reaches idle within a generous ceiling after navigation; the times go to page_times.json.

    Two numbers per page, both from navigation start: ``last_message_ms``, when the browser received
    the server's last message of the first run (in-browser ``performance.now()``), and ``idle_s``,
    the wall time until the helpers saw the page idle (includes their quiet period and two paints).
    The first visit after the server started also pays the first imports and model loads.
    """
    times = {}
    for path in PAGES:
        start = time.monotonic()
        open_ready(page, app_server, path, HEADINGS[path])
        idle_s = time.monotonic() - start
        last_ms = page.evaluate("() => window.__stIdle.lastRecv")
        times[path or "home"] = {"last_message_ms": round(last_ms), "idle_s": round(idle_s, 2)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "page_times.json").write_text(json.dumps(times, indent=2) + "\n")
    print("page render times:", json.dumps(times))
    slow = {p: t for p, t in times.items() if t["idle_s"] > 30}
    assert not slow, f"pages slower than 30 s to render: {slow}"


# ------------------------------------------------------------------ forward page

def test_forward_uploads(app_server, page, tmp_path):
    """A photo (JPEG, PNG) is used with its notes; a broken file is a message and the page keeps working."""
    open_ready(page, app_server, "forward", "The forward process")

    upload_file(page, UPLOAD, make_photo(tmp_path / "holiday.jpg"))
    assert_no_exception(page)
    assert alert_texts(page) == []
    note = page.get_by_test_id("stCaptionContainer").filter(has_text="downscaled from 1024x768")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("to 512x384")

    upload_file(page, UPLOAD, make_photo(tmp_path / "drawing.png", size=(800, 600)))
    assert_no_exception(page)
    assert alert_texts(page) == []
    note = page.get_by_test_id("stCaptionContainer").filter(has_text="downscaled from 800x600")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("transparent areas composited")

    bad = tmp_path / "bad.png"
    bad.write_text("this is a text file, not a picture\n" * 20)
    upload_file(page, UPLOAD, bad)
    assert_no_exception(page)
    errors = alert_texts(page)
    assert len(errors) == 1 and "bad.png" in errors[0] and "could not be used" in errors[0], errors
    expect(page.get_by_text("Showing the sample image instead.")).to_be_visible()

    # The rest of the page still works: the timestep moves the numbers and the formula.
    snr_before = scrubber_metric(page, "SNR in decibels")
    t = set_scrubber(page, FW_T, 600)
    assert_no_exception(page)
    assert scrubber_metric(page, "SNR in decibels") != snr_before
    assert re.fullmatch(r"[+−-]\d+\.\d dB", scrubber_metric(page, "SNR in decibels"))
    sub = str(t).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
    expect(page.locator(".dx-panel figcaption").filter(has_text=f"noisy image x{sub}")).to_have_count(1)
    expect(page.locator(".dx-line-text").filter(has_text=f"x{sub} = ")).to_have_count(1)
    assert len(alert_texts(page)) == 1  # the upload's message stays, nothing new


def test_forward_slider_downloads_animation(app_server, page):
    """The t slider is mirrored in the URL; the filmstrip and GIF download; the animation has a Play button."""
    open_ready(page, app_server, "forward", "The forward process")
    t = set_scrubber(page, FW_T, 400)
    assert_no_exception(page)
    expect(page).to_have_url(re.compile(rf"[?&]fw_t={t}(&|$)"))
    sub = str(t).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
    expect(page.locator(".dx-panel figcaption").filter(has_text=f"noisy image x{sub}")).to_have_count(1)

    gif = download(page, "Download the noising animation (GIF)")
    assert_no_exception(page)
    assert gif.name == "noising.gif"
    assert gif.read_bytes()[:4] == b"GIF8"
    assert gif_frames(gif) >= 10

    png = download(page, "Download the filmstrip (PNG)")
    assert_no_exception(page)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as im:
        assert im.width > 4 * im.height  # eight frames side by side
        assert im.height == 512 + 2 * 4  # every pixel of the 512-pixel sample (and the padding), not the preview
    shown = page.get_by_test_id("stImage").filter(has_text="x_t at t = ").locator("img")
    with Image.open(io.BytesIO(base64.b64decode(shown.get_attribute("src").split(",", 1)[1]))) as im:
        assert im.height == PREVIEW_SIDE + 2 * 4  # the page shows the strip at the main view's size

    charts_before = page.get_by_test_id("stPlotlyChart").count()
    assert play_buttons(page).count() == 0
    with expect_rerun(page):
        page.get_by_text("Play it as an animation", exact=True).click()
    assert_no_exception(page)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(charts_before + 1)
    expect(play_buttons(page)).to_have_count(1)
    assert max(plotly_frames(page, "The forward process, step by step")) >= 10


# ------------------------------------------------------------------ reverse page

def test_reverse_generate_and_step(app_server, page):
    """Generate 4 digits in 10 steps: metrics, image, the trajectory viewer and the GIF."""
    open_ready(page, app_server, "reverse?rv_n=4&rv_steps=10", "Reverse sampling")
    expect(page.get_by_text("Press Generate to draw digits")).to_be_visible()

    click_button(page, "Generate", timeout=SLOW)
    assert_no_exception(page)
    assert re.fullmatch(r"\d+\.\d\d s", metric_value(page, "Total time"))
    assert re.fullmatch(r"\d+\.\d ms", metric_value(page, "Per step"))
    assert metric_value(page, "Device") == str(pick_device(None)).upper()  # the server's automatic pick
    assert metric_value(page, "Sampler").endswith(" × 10")
    expect(page.get_by_test_id("stImageCaption").filter(has_text="The generated digits")).to_have_count(1)
    expect(page.get_by_role("heading", name="Step through the trajectory")).to_be_visible()

    def step_inputs():
        return [c for c in page.locator(".dx-panel figcaption").all_inner_texts() if c.startswith("input x")]

    first = step_inputs()
    assert len(first) == 1, first
    set_scrubber(page, RV_STEP, 5)
    assert_no_exception(page)
    after = step_inputs()
    assert len(after) == 1 and after != first, (first, after)
    assert "predicted clean image x̂₀" in page.locator(".dx-panel figcaption").all_inner_texts()
    expect(page).to_have_url(re.compile(r"[?&]rv_step=5(&|$)"))

    gif = download(page, "Download the denoising animation (GIF)")
    assert_no_exception(page)
    assert gif.read_bytes()[:4] == b"GIF8"
    assert gif_frames(gif) >= 2
    png = download(page, "Download the digits (PNG)")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reverse_sdedit(app_server, page, tmp_path):
    """SDEdit on an uploaded digit (a black 7 on white, inverted by 'auto') gives four denoised results."""
    open_ready(page, app_server, "reverse?rv_n=4&rv_steps=10", "Reverse sampling")

    upload_file(page, UPLOAD, make_digit(tmp_path / "seven.png"))
    assert_no_exception(page)
    assert alert_texts(page) == []
    expect(page.get_by_text("Press Denoise it to see")).to_be_visible()
    click_button(page, "Denoise it", timeout=SLOW)
    assert_no_exception(page)
    caps = captions(page)
    denoised = [c for c in caps if c.startswith("denoised, noise #")]
    assert denoised == [f"denoised, noise #{j}" for j in (1, 2, 3, 4)], caps
    expect(page.locator(".dx-panel figcaption").filter(has_text="noised to x₆₀₀ (noise #1)")).to_have_count(1)
    expect(page.get_by_text(re.compile(r"50 DDIM steps from t₀ = 600, .* s on CPU\."))).to_be_visible()


# ------------------------------------------------------------------ score page

def test_score_session(app_server, page):
    """Moons, another t, the error view, the particles animation and a live-trained model."""
    open_ready(page, app_server, "score", "The score field")

    select_option(page, "Data set", "moons")
    assert_no_exception(page)
    expect(page).to_have_url(re.compile(r"[?&]sf_dataset=moons(&|$)"))
    alpha_before = scrubber_metric(page, "ᾱₜ (signal left)")
    t = set_scrubber(page, SF_T, 500)
    assert_no_exception(page)
    assert scrubber_metric(page, "ᾱₜ (signal left)") != alpha_before
    field = page.locator(".dx-field svg")
    expect(field).to_have_attribute("aria-label", f"Score field at t = {t} (exact)")

    click_segment(page, "error")
    assert_no_exception(page)
    expect(field).to_have_attribute("aria-label", f"Score field at t = {t} (error)")
    assert scrubber_metric(page, "relative error of the learned score").endswith("%")
    expect(page.get_by_text("Error view.")).to_be_visible()

    assert play_buttons(page).count() == 0
    click_button(page, "Run the particles", timeout=SLOW)
    assert_no_exception(page)
    expect(play_buttons(page)).to_have_count(1)
    assert max(plotly_frames(page)) >= 10

    set_slider(page, "Training steps", 0)  # a select_slider: its thumb moves over option indices (300 steps)
    assert_no_exception(page)
    expect(page).to_have_url(re.compile(r"[?&]sf_steps=300(&|$)"))
    expect(page.get_by_text("Nothing trained on this data set yet in this session.")).to_be_visible()
    click_button(page, "Train a model on these points", timeout=SLOW)
    # The fragment ends with st.rerun() of the whole page, which a busy server may start only after
    # the helper saw the fragment's run end: wait for the chart that rerun draws, then for idle.
    loss_chart = page.get_by_test_id("stPlotlyChart").filter(has_text="Training loss")
    expect(loss_chart).to_have_count(1, timeout=SLOW * 1000)
    wait_idle(page, timeout=SLOW)
    assert_no_exception(page)
    assert alert_texts(page) == []
    error_chart = page.get_by_test_id("stPlotlyChart").filter(
        has_text="How far each learned score is from the exact one")
    expect(error_chart).to_have_count(1)
    # The new model becomes a source of the field view above.
    expect(find_widget(page, "stRadio", "Learned model")).to_contain_text("trained here")


# ------------------------------------------------------------------ the slowest, last

@pytest.mark.slow  # six samplers, one of them DDPM with 1000 steps
def test_reverse_compare_samplers(app_server, page):
    """Comparing the samplers shows seven images, each timed in ms (about 1,200 model calls at batch 1)."""
    open_ready(page, app_server, "reverse", "Reverse sampling")
    click_button(page, "Compare the samplers", timeout=SLOW)
    assert_no_exception(page)
    timed = [c for c in captions(page) if re.fullmatch(r"(DDIM|DDPM|DPM\+\+2M) \d+ steps: \d+ ms", c)]
    assert len(timed) == 7, captions(page)
    assert "DPM++2M 10 steps" in " ".join(timed)
    assert timed[0].startswith("DDIM 5 steps") and timed[-1].startswith("DDPM 1000 steps")


def test_schedule_tabs_send_only_the_open_figure(app_server, page):
    """The curves' tabs: the open tab's figure is drawn; picking another tab reruns that part and draws its own."""
    open_ready(page, app_server, "schedules", "2. Noise schedules")
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(1)
    with expect_rerun(page):
        page.get_by_role("tab", name="βₜ").click()
    expect(charts).to_have_count(1)
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="set βₜ directly")).to_have_count(1)
    expect(page.get_by_text("βₜ: the noise variance added at each step", exact=False)).to_be_visible()
    assert_no_exception(page)
