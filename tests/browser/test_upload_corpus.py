"""Odd and hostile files through the real upload widget of the forward page.

One browser session uploads every file of `tests/corpus.py` in turn (each
upload replaces the previous file) and checks after each one that

* the page shows no exception and still answers (every few files the t slider
  is moved and the metrics must change),
* a refused file gives one ``st.error`` that names the file and says why
  (cut off, damaged, megapixels, PDF, HEIC, TIFF, empty, ...), and the sample
  picture is used instead,
* an accepted file gives the right picture: the clean image x₀ the page shows
  has the expected size (EXIF orientations 5-8 swap width and height) and,
  where the corpus knows them, the right colours in its four corners, and the
  "Image: ..." caption says what was done to it,
* a file that Streamlit's own uploader refuses (wrong extension, over
  ``server.maxUploadSize``) never reaches the app and the page carries on.

The session's other settings (schedule, noise seed, number of steps) are set
before the run and must be unchanged at the end.
"""
from __future__ import annotations

import time

import pytest
from PIL import Image
from playwright.sync_api import Page

from explainer.app.noising import PREVIEW_SIDE

from tests.corpus import CorpusFile, hostile_corpus, write_corpus

from .helpers import (ARTIFACTS, alert_texts, assert_no_exception, find_widget, open_page, select_option,
                      scrubber_metric, set_scrubber, upload_file, wait_idle)

UPLOADER = 0  # the forward page has one uploader ("... or your own (PNG, JPG, ...)")
T_SLIDER = "Timestep t (0 = almost clean, T−1 = the noisiest step)"
SAMPLE_SIZE = (512, 512)  # the default sample, astronaut.jpg, as the page uses it
SCREENSHOTS = ARTIFACTS / "screenshots"
# Where the corner colours are read, as fractions of the picture (TL, TR, BL, BR); the same
# points as corpus.corner_colours (1/8 in from each edge).
CORNER_POINTS_JS = """(img) => {
  const w = img.naturalWidth, h = img.naturalHeight;
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const dy = Math.max(1, Math.floor(h / 8)), dx = Math.max(1, Math.floor(w / 8));
  const pts = [[dx, dy], [w - 1 - dx, dy], [dx, h - 1 - dy], [w - 1 - dx, h - 1 - dy]];
  const px = (w > 2 && h > 2) ? pts.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3))) : [];
  return {w, h, px};
}"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    files = hostile_corpus()
    paths = write_corpus(tmp_path_factory.mktemp("upload-corpus"), files)
    return files, paths


# ------------------------------------------------------------------ page reading

def clean_image(page: Page) -> dict:
    """Size and corner colours of the clean image x₀ as the browser received it."""
    # The forward page's main view is a browser-side scrubber (explainer/app/scrubber.py): its x₀ panel.
    img = page.locator(".dx-panel").filter(has=page.locator("figcaption").get_by_text("clean image x₀", exact=True)
                                           ).locator("img")
    assert img.count() == 1, f"{img.count()} clean images x₀ on the page"
    img.evaluate("el => el.complete && el.naturalWidth > 0 ? null : "
                 "new Promise((ok, bad) => { el.onload = ok; el.onerror = bad; })")
    return img.evaluate(CORNER_POINTS_JS)


def shown_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size the scrubber shows a picture of this size at: at most noising.PREVIEW_SIDE a side, aspect kept."""
    if max(size) <= PREVIEW_SIDE:
        return size
    im = Image.new("L", size)
    im.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return im.size


def image_caption(page: Page) -> str:
    captions = [t for t in page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
                if t.strip().startswith("Image: ")]
    return captions[0] if captions else ""


def metric(page: Page) -> str:
    return scrubber_metric(page, "signal weight √ᾱₜ")


def settings(page: Page) -> dict:
    return {
        "schedule": find_widget(page, "stSelectbox", "Noise schedule").get_by_role("combobox").input_value(),
        "noise seed": find_widget(page, "stNumberInput", "Noise seed").locator("input").input_value(),
        "T": find_widget(page, "stSlider", "Number of steps T").locator('input[type="range"]').input_value(),
        "sidebar seed": find_widget(page, "stNumberInput", "Random seed").locator("input").input_value(),
        "sample": find_widget(page, "stSelectbox", "Image: a sample").get_by_role("combobox").input_value(),
    }


def set_number(page: Page, label: str, value: int) -> None:
    box = find_widget(page, "stNumberInput", label).locator("input")
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def page_state(page: Page) -> tuple:
    """What the app currently shows of the picked image: its error boxes, caption and picture."""
    got = clean_image(page)
    return tuple(alert_texts(page, "error")), image_caption(page), (got["w"], got["h"]), tuple(map(tuple, got["px"]))


def colours_close(got, want, tol=60) -> bool:
    return all(abs(int(g) - int(w)) <= tol for g, w in zip(got, want))


# ------------------------------------------------------------------ one file

def check_file(page: Page, f: CorpusFile, path) -> tuple[list[str], str]:
    """Upload one file; return what is wrong (empty list: all as expected) and the message shown."""
    problems = []
    if f.outcome == "frontend":
        # Streamlit's uploader refuses it in the browser (upload_file raises with the chip's text);
        # nothing reaches the app, so the page must stay exactly as it was (the previous upload,
        # if any, stays in use).
        before = page_state(page)
        with pytest.raises(AssertionError, match="rejected"):
            upload_file(page, UPLOADER, path)
        wait_idle(page, start_timeout=1.0)  # nothing should be sent; do not wait long for it
        assert_no_exception(page)
        chip = find_widget(page, "stFileUploader", UPLOADER).locator(
            '[data-testid="stFileChip"][aria-invalid="true"]').filter(has_text=f.name)
        if chip.count() != 1:
            return [f"{chip.count()} refused-file chips for {f.name}"], ""
        message = " ".join(chip.inner_text().split())
        problems += [f"uploader message lacks {k!r}: {message!r}" for k in f.keywords if k not in message]
        after = page_state(page)
        if after != before:
            problems.append(f"the page changed: {before} -> {after}")
        # Remove the refused chip so that the next upload starts from a clean uploader.
        chip.get_by_role("button", name=f"Remove {f.name}").click()
        wait_idle(page, start_timeout=1.0)
        assert_no_exception(page)
        if chip.count() or page_state(page) != before:
            problems.append("removing the refused file's chip changed the page or left the chip")
        return problems, message

    upload_file(page, UPLOADER, path)
    assert_no_exception(page)
    errors = alert_texts(page, "error")
    got = clean_image(page)
    caption = image_caption(page)
    if f.outcome == "refused":
        if len(errors) != 1:
            problems.append(f"expected one st.error, got {errors}")
        text = errors[0] if errors else ""
        if f"{f.name} could not be used." not in text:
            problems.append(f"error does not name the file: {text!r}")
        problems += [f"error lacks {k!r}: {text!r}" for k in f.keywords if k.lower() not in text.lower()]
        if (got["w"], got["h"]) != shown_size(SAMPLE_SIZE):
            problems.append(f"expected the sample ({shown_size(SAMPLE_SIZE)} as shown) instead, got "
                            f"{got['w']}x{got['h']}")
        if page.get_by_text("Showing the sample image instead.").count() != 1:
            problems.append("no 'Showing the sample image instead.' caption")
    else:
        if errors:
            problems.append(f"unexpected st.error: {errors}")
        want = shown_size(f.size)
        if (got["w"], got["h"]) != want:
            problems.append(f"picture is {got['w']}x{got['h']}, expected {want[0]}x{want[1]} "
                            f"(the app works on {f.size[0]}x{f.size[1]})")
        problems += [f"caption lacks {n!r}: {caption!r}" for n in f.notes if n not in caption]
        if f.corners and not all(colours_close(g, w) for g, w in zip(got["px"], f.corners)):
            problems.append(f"corner colours {got['px']}, expected {f.corners}")
    shown = errors[0] if errors else caption
    return problems, " ".join(shown.split()).removeprefix("broken_image ")


# ------------------------------------------------------------------ the test

def test_upload_corpus(app_server, page, corpus):
    files, paths = corpus
    assert len(files) >= 25
    start = time.perf_counter()
    open_page(page, app_server, "forward")
    # Wait for the controls: the page may still be drawing when the app looks idle.
    page.get_by_test_id("stWidgetLabel").get_by_text("Noise schedule", exact=True).wait_for()
    wait_idle(page)
    assert_no_exception(page)

    # Settings that the uploads must not disturb.
    select_option(page, "Noise schedule", "cosine")
    set_number(page, "Noise seed", 4242)
    set_scrubber(page, T_SLIDER, 100)
    before = settings(page)
    assert before["schedule"] == "cosine" and before["noise seed"] == "4242", before
    t_values = iter([400, 50, 700, 200, 900, 10, 600, 300, 800, 120, 500, 30])

    problems: dict[str, list[str]] = {}
    lines = []
    for i, f in enumerate(files):
        t0 = time.perf_counter()
        try:
            found, shown = check_file(page, f, paths[f.name])
        except AssertionError as e:  # a helper timed out, the page showed an exception, ...
            raise AssertionError(f"{f.name}: {e}") from e
        if found:
            problems[f.name] = found
        outcome = f.outcome if not found else f"{f.outcome}?"
        lines.append(f"{time.perf_counter() - t0:5.1f}s  {f.name:28s} {outcome:9s} {shown[:110]}")
        if f.name in ("bomb-idat-12000x12000.png", "exif-orientation-6.jpg", "huge-26MB.png"):
            page.screenshot(path=str(SCREENSHOTS / f"upload-corpus-{f.name.rsplit('.', 1)[0]}.png"))
        if i % 4 == 3:  # the page still answers: move t and watch the metric change
            # Checked here too, so that a reset is pinned to the files just uploaded, not found at the end.
            now = settings(page)
            assert now == before, f"settings changed after {files[i - 3].name} .. {f.name}: {before} -> {now}"
            old = metric(page)
            set_scrubber(page, T_SLIDER, next(t_values))
            assert_no_exception(page)
            assert metric(page) != old, f"after {f.name}: moving t did not change the metrics ({old})"

    after = settings(page)
    total = time.perf_counter() - start
    report = "\n".join(lines + [f"{len(files)} files in {total:.1f} s"])
    print("\n" + report)
    (ARTIFACTS / "upload-corpus.txt").write_text(report + "\n")
    assert after == before, f"settings changed during the uploads: {before} -> {after}"
    assert not problems, "\n".join(f"{name}: {'; '.join(p)}" for name, p in problems.items())
