"""Scrubbers: dragging moves precomputed frames in the browser, with no server rerun per frame.

The page's websocket sends are counted by the idle tracker of helpers.py
(``window.__stIdle.sends``): every rerun request is one message.
"""
from urllib.parse import parse_qs, urlsplit

from .helpers import assert_no_exception, click_button, open_page, wait_idle


def _sends(page) -> int:
    return page.evaluate("window.__stIdle.sends")


def _drag(page, scrub, start: float, end: float, steps: int = 25):
    box = scrub.locator(".dx-range").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    for k in range(1, steps + 1):
        page.mouse.move(box["x"] + box["width"] * (start + (end - start) * k / steps), y)


def _canvas_pixels(canvas) -> list[int]:
    """The RGB bytes a panel's canvas shows, once it has been drawn."""
    canvas.page.wait_for_function("c => c.dataset.index !== undefined", arg=canvas.element_handle())
    return canvas.evaluate("""c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                                     return [c.width, c.height, ...Array.from(d).filter((_, j) => j % 4 !== 3)]; }""")


def test_forward_picture_is_the_closed_form_exactly(app_server, page):
    """The x_t the browser draws is u8(√ᾱₜ·x0 + √(1−ᾱₜ)·ε) of the page's own x0 and (quantised) noise."""
    import base64
    import io
    import math

    import numpy as np
    from PIL import Image

    from explainer.app.resources import gaussian_noise
    from explainer.core.schedules import make_schedule_for_T
    from explainer.lessons.framesets import NOISE_STEP, blend_pixels, quantise_noise

    open_page(page, app_server, "forward?fw_schedule=cosine&fw_seed=5&fw_t=600")
    scrub = page.locator(".dx-scrub").first
    t = int(scrub.get_attribute("data-value"))
    src = scrub.locator(".dx-panel img").first.get_attribute("src")  # x0, sent as a lossless PNG
    x0_u8 = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))
    k = (quantise_noise(gaussian_noise(x0_u8.shape, 5)) / NOISE_STEP + 128).astype(np.uint8)
    ab = float(make_schedule_for_T("cosine", 1000).alpha_bars[t])
    got = _canvas_pixels(scrub.locator(".dx-panel canvas").nth(1))
    assert got[:2] == [x0_u8.shape[1], x0_u8.shape[0]]
    got = np.array(got[2:], dtype=int).reshape(x0_u8.shape)
    want = blend_pixels(x0_u8, k, math.sqrt(ab), math.sqrt(1 - ab)).astype(int)
    assert np.abs(got - want).max() <= 1 and np.mean(got != want) < 0.001  # the weights travel with 9 digits
    assert_no_exception(page)


def test_forward_scrubber_moves_frames_in_the_browser(app_server, page):
    open_page(page, app_server, "forward")
    scrub = page.locator(".dx-scrub").first
    scrub.scroll_into_view_if_needed()
    canvas = scrub.locator(".dx-panel canvas").nth(1)  # x_t, computed in the browser from x0 and ε
    canvas.wait_for()
    before = (_canvas_pixels(canvas), scrub.locator(".dx-metric-value").first.inner_text(),
              scrub.locator(".dx-line-text").inner_text(), scrub.get_attribute("data-value"))
    sends = _sends(page)
    _drag(page, scrub, 0.26, 0.75)
    # Mid-drag: the picture, the numbers and the filled-in equation have followed, and nothing was sent.
    during = (_canvas_pixels(canvas), scrub.locator(".dx-metric-value").first.inner_text(),
              scrub.locator(".dx-line-text").inner_text(), scrub.get_attribute("data-value"))
    assert all(a != b for a, b in zip(before, during)), (before[1:], during[1:])
    assert _sends(page) == sends, "a drag must not send a rerun per frame"
    assert during[2].startswith("x") and "·x₀" in during[2]
    page.mouse.up()
    wait_idle(page)
    # The release is sent once, and the page address keeps the position.
    assert _sends(page) == sends + 1
    t = int(scrub.get_attribute("data-value"))
    assert parse_qs(urlsplit(page.url).query)["fw_t"] == [str(t)]
    assert scrub.locator(".dx-value").inner_text().endswith(f"= {t}")
    assert_no_exception(page)


def test_scrubber_keyboard_and_reload_keep_the_position(app_server, page):
    open_page(page, app_server, "forward?fw_t=500")
    scrub = page.locator(".dx-scrub").first
    t0 = int(scrub.get_attribute("data-value"))
    assert abs(t0 - 500) <= 17  # the nearest of the 32 precomputed frames
    scrub.locator(".dx-range").focus()
    sends = _sends(page)
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert int(scrub.get_attribute("data-value")) > t0
    wait_idle(page)
    assert _sends(page) <= sends + 1  # key presses that follow each other are sent once
    t = scrub.get_attribute("data-value")
    assert t != str(t0) and parse_qs(urlsplit(page.url).query)["fw_t"] == [t]
    assert scrub.locator(".dx-range").get_attribute("aria-valuetext").endswith(f"= {t}")
    # A reload opens the address the release wrote: the scrubber comes back where it was left.
    page.reload(wait_until="domcontentloaded")
    wait_idle(page)
    scrub = page.locator(".dx-scrub").first
    scrub.wait_for(state="attached")
    assert scrub.get_attribute("data-value") == t
    assert scrub.locator(".dx-range").get_attribute("aria-valuetext").endswith(f"= {t}")
    assert_no_exception(page)


def test_reverse_step_scrubber(app_server, page):
    open_page(page, app_server, "reverse?rv_n=1&rv_steps=10")
    click_button(page, "Generate", timeout=120)
    scrub = page.locator(".dx-scrub").first
    scrub.scroll_into_view_if_needed()
    line = scrub.locator(".dx-line-text").inner_text()
    sends = _sends(page)
    scrub.locator(".dx-range").focus()
    page.keyboard.press("End")
    assert scrub.locator(".dx-line-text").inner_text() != line
    assert "x₀" in scrub.locator(".dx-panel figcaption").nth(3).inner_text()  # the last step gives x0
    wait_idle(page)
    assert _sends(page) <= sends + 1
    assert_no_exception(page)


def test_score_field_scrubber_moves_arrows_in_the_browser(app_server, page):
    open_page(page, app_server, "score?sf_t=300")
    scrub = page.locator(".dx-scrub").filter(has=page.locator(".dx-field")).first
    scrub.scroll_into_view_if_needed()
    t0 = int(scrub.get_attribute("data-value"))
    assert abs(t0 - 300) <= 17  # the nearest of the 32 precomputed values of t
    arrows = scrub.locator(".dx-arrows").first
    svg = scrub.locator(".dx-field svg")
    before = (arrows.get_attribute("d"), scrub.locator(".dx-field image").get_attribute("href"),
              scrub.locator(".dx-metric-value").first.inner_text(), svg.get_attribute("aria-label"))
    assert before[0].count("M") > 500  # one path draws every arrow
    sends = _sends(page)
    _drag(page, scrub, 0.3, 0.9)
    during = (arrows.get_attribute("d"), scrub.locator(".dx-field image").get_attribute("href"),
              scrub.locator(".dx-metric-value").first.inner_text(), svg.get_attribute("aria-label"))
    assert all(a != b for a, b in zip(before, during)), (before[2:], during[2:])
    assert _sends(page) == sends, "a drag must not send a rerun per frame"
    page.mouse.up()
    wait_idle(page)
    assert _sends(page) == sends + 1
    t = int(scrub.get_attribute("data-value"))
    assert svg.get_attribute("aria-label") == f"Score field at t = {t} (exact)"
    assert parse_qs(urlsplit(page.url).query)["sf_t"] == [str(t)]
    # Keys move it too, sent once when they come to rest; hovering reads the score at a grid point.
    scrub.locator(".dx-range").focus()
    sends = _sends(page)
    d = arrows.get_attribute("d")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    assert arrows.get_attribute("d") != d and scrub.get_attribute("data-value") == "33"
    wait_idle(page)
    assert _sends(page) <= sends + 1
    box = scrub.locator(".dx-field-hit").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
    assert "exact score (" in scrub.locator(".dx-field-readout").inner_text()
    assert_no_exception(page)
