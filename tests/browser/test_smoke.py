"""Smoke test: the server is healthy and every page of the app renders without an exception."""
import urllib.request

import pytest
from playwright.sync_api import expect

from .helpers import assert_no_exception, open_ready

PAGES = ["", "forward", "schedules", "learning", "score", "reverse", "reading"]


def test_health_endpoint(app_server):
    """Streamlit's health check answers ``ok``."""
    with urllib.request.urlopen(f"{app_server}/_stcore/health", timeout=10) as r:
        assert r.status == 200
        assert r.read().strip() == b"ok"


@pytest.mark.parametrize("path", PAGES, ids=[p or "home" for p in PAGES])
def test_page_renders(app_server, page, path):
    """Each page loads, finishes its first run, shows a title and no exception."""
    open_ready(page, app_server, path, heading="")
    assert_no_exception(page)
    expect(page.locator('[data-testid="stMainBlockContainer"] h1').first).to_be_visible()
