"""A crafted link (or file name) is harmless in a real browser (issue 12, section 2).

A shared link is trusted by whoever opens it, so a value in it must never become a link, a picture
or formatting inside the app's own message. Each test opens a page with a crafted value and checks
the DOM: the message's Markdown holds only paragraphs and code spans, the crafted text sits inside
a code element, and nothing anywhere on the page links to or loads from the crafted host.
"""
from urllib.parse import quote

import pytest

from explainer.app.safe_text import clean_text

from .helpers import alert_texts, assert_no_exception, open_ready, upload_file

HOST = "evil.example"
CRAFTED = {
    "link in backticks": "` [Log in again](https://evil.example) `",
    "image": "![logo](https://evil.example/x.png)",
    "HTML": "<a href=https://evil.example>Log in</a><img src=https://evil.example/x.png>",
    "LaTeX href": r"$\href{https://evil.example}{Log in again}$",
    "bare links": "https://evil.example www.evil.example a@evil.example",
    "directives": ":red[Log in again] :material/lock: **now**",
    "right-to-left": "\u202eelpmaxe.live//:sptth",
}

# Tag names inside an alert's Markdown: what the element's own text may produce (paragraphs and
# code spans) and nothing else.
TAGS_JS = """el => Array.from(el.querySelectorAll('[data-testid="stMarkdownContainer"] *'))
                      .map(e => e.tagName.toLowerCase())"""


def _assert_nothing_from(page, host: str = HOST):
    assert page.locator(f'a[href*="{host}"], img[src*="{host}"], [src*="{host}"], [href*="{host}"]').count() == 0


def _only_text_and_code(alert) -> list[str]:
    tags = alert.evaluate(TAGS_JS)
    assert set(tags) <= {"p", "code"}, tags
    return [c.strip() for c in alert.locator("code").all_inner_texts()]


def _as_shown(text: str) -> str:
    """What a browser shows of clean text in a code span: Streamlit's front end rewrites the icon
    shortcode ':material/x:' to ':material_x:' in the Markdown source, code spans included (still text)."""
    return text.replace(":material/", ":material_")


@pytest.mark.parametrize("name", CRAFTED)
def test_crafted_page_value_shows_as_plain_text(app_server, page, name):
    raw = CRAFTED[name]
    open_ready(page, app_server, "forward?fw_seed=" + quote(raw, safe=""), "The forward process")
    assert_no_exception(page)
    _assert_nothing_from(page)
    warnings = page.locator('[data-testid="stAlertContentWarning"]')
    assert warnings.count() == 1, alert_texts(page, "warning")
    codes = _only_text_and_code(warnings.first)
    assert codes == [_as_shown(f"fw_seed={clean_text(raw)}".strip())]
    assert "was not understood" in alert_texts(page, "warning")[0]
    # The page carries on with the default seed.
    assert page.locator('input[aria-label="Noise seed"]').input_value() == "0"


def test_crafted_sidebar_value_on_the_home_page(app_server, page):
    raw = CRAFTED["link in backticks"] + " " + CRAFTED["image"]
    open_ready(page, app_server, "?seed=" + quote(raw, safe="") + "&presenter=" + quote("<b>x</b>", safe=""),
               "Diffusion models, explained")
    _assert_nothing_from(page)
    warnings = page.locator('[data-testid="stAlertContentWarning"]')
    assert warnings.count() == 2, alert_texts(page, "warning")
    assert _only_text_and_code(warnings.nth(0)) == [f"seed={clean_text(raw)}".strip()]
    assert _only_text_and_code(warnings.nth(1)) == ["presenter=<b>x</b>"]


def test_crafted_upload_name_shows_as_plain_text(app_server, page, tmp_path):
    name = "[Log in](https:evil.example) <img src=x> $x^2$ **b** ![i](https:evil.example).png"
    path = tmp_path / name
    path.write_bytes(b"this is not an image at all")
    open_ready(page, app_server, "forward", "The forward process")
    upload_file(page, 0, path)
    assert_no_exception(page)
    _assert_nothing_from(page)
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 1, alert_texts(page)
    assert _only_text_and_code(errors.first) == [clean_text(name, 80)]
    assert "could not be used" in alert_texts(page)[0]
