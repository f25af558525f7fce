"""The forward page's spectral view in a real browser: log-log curves that follow t without a rerun."""
from urllib.parse import parse_qs, urlsplit

from .helpers import assert_no_exception, open_page, wait_idle

LABEL = "Timestep t (spectral view)"


def _sends(page) -> int:
    return page.evaluate("window.__stIdle.sends")


def _state(scrub) -> dict:
    metrics = scrub.locator(".dx-metric-value").all_inner_texts()
    return {"t": scrub.get_attribute("data-value"), "drowned": metrics[1],
            "curve": scrub.locator(".dx-chart path.dx-line:not(.dx-static)").nth(2).get_attribute("d"),
            "line": scrub.locator(".dx-line-text").inner_text()}


def test_spectral_view_follows_a_drag_in_the_browser(app_server, page):
    open_page(page, app_server, "forward?fw_spec_t=100&fw_show_spec=true")
    scrub = page.locator(".dx-scrub").filter(has=page.locator(".dx-name", has_text=LABEL))
    scrub.scroll_into_view_if_needed()
    chart = scrub.locator(".dx-chart")
    assert chart.locator("path.dx-static").count() == 1  # the clean image's spectrum
    assert chart.locator("path.dx-line:not(.dx-static)").count() == 3  # image part, noise floor, x_t
    assert "power" in chart.inner_text() and "cycles per pixel" in chart.inner_text()
    before = _state(scrub)
    assert abs(int(before["t"]) - 100) <= 17  # the nearest of 32 frames
    sends = _sends(page)
    box = scrub.locator(".dx-range").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(box["x"] + box["width"] * (0.1 + 0.6 * k / 20), y)
    during = _state(scrub)
    assert all(during[k] != before[k] for k in before), (before, during)
    assert float(during["drowned"].rstrip("%")) > float(before["drowned"].rstrip("%"))  # the floor has risen
    assert _sends(page) == sends, "a drag must not send a rerun per frame"
    page.mouse.up()
    wait_idle(page)
    assert _sends(page) == sends + 1
    assert parse_qs(urlsplit(page.url).query)["fw_spec_t"] == [scrub.get_attribute("data-value")]
    assert_no_exception(page)
