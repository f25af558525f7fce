"""The learning page in a real browser: the training-step scrubber, the class control, the bound's sliders."""
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from .helpers import assert_no_exception, open_ready, select_option, set_slider, wait_idle

SLOW = 180  # a cold page runs the model at every frame's noise level, twice; on a busy 2-core machine that takes a while


def _sends(page) -> int:
    return page.evaluate("window.__stIdle.sends")


def _scrub(page, label: str):
    return page.locator(".dx-scrub").filter(has=page.locator(".dx-name", has_text=label)).first


def test_training_step_scrubs_in_the_browser(app_server, page):
    open_ready(page, app_server, "learning", "3. Learning to denoise", timeout=SLOW)
    assert page.locator(".dx-scrub").count() >= 2  # training step, four readings (the wrong time: on demand)
    scrub = _scrub(page, "Timestep t")
    scrub.scroll_into_view_if_needed()
    img = scrub.locator(".dx-panel img").nth(2)
    line = scrub.locator(".dx-line-text")
    before = (img.get_attribute("src"), line.inner_text(), scrub.get_attribute("data-value"))
    assert before[1].startswith("L_simple = ‖ε − ε_θ(")
    sends = _sends(page)
    scrub.locator(".dx-range").focus()
    page.keyboard.press("End")
    # The noisy digit, the filled-in loss and the position follow at once, with nothing sent yet.
    after = (img.get_attribute("src"), line.inner_text(), scrub.get_attribute("data-value"))
    assert all(a != b for a, b in zip(before, after))
    assert after[2] == "999" and "t = 999" in after[1]
    wait_idle(page)
    assert _sends(page) <= sends + 1
    assert parse_qs(urlsplit(page.url).query)["ln_t"] == ["999"]
    assert_no_exception(page)


def test_class_control_and_bound_slider(app_server, page):
    open_ready(page, app_server, "learning?ln_digit=5", "3. Learning to denoise", timeout=SLOW)
    select_option(page, "The class the model is told", "no class (∅)", timeout=SLOW)
    assert_no_exception(page)
    caption = _scrub(page, "Timestep t").locator(".dx-panel figcaption").nth(3)
    expect(caption).to_contain_text("no class")
    set_slider(page, "x_t", 1.0, timeout=SLOW)
    assert_no_exception(page)
    expect(page.get_by_text("x_t = 1.00:", exact=False)).to_be_visible()
    expect(page.get_by_test_id("stPlotlyChart").filter(has_text="One reverse step")).to_be_visible()
