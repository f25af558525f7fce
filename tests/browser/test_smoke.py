"""Smoke test: the server is healthy and every page of the app renders without an exception."""
import urllib.request

import pytest
from playwright.sync_api import expect

from .conftest import start_streamlit
from .helpers import ARTIFACTS, assert_no_exception, open_ready

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


def test_a_link_to_a_page_as_the_first_visit_after_a_server_start(page):
    """The first visit after a server start may be a shared link to a page: it runs inside app.py at once.

    A pages/ folder beside app.py would switch on Streamlit's legacy pages-directory mode, which runs
    such a visit's page alone, with a navigation made of file names, until st.navigation first runs.
    """
    with start_streamlit("app.py", ARTIFACTS / "streamlit-first-visit.log") as url:
        open_ready(page, url, "forward", heading="1. The forward process")
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav.get_by_text("1. Forward process", exact=True)).to_be_visible()
        expect(nav.get_by_text("Further reading", exact=True)).to_be_visible()
        assert_no_exception(page)
        page.goto("about:blank")  # leave before the server stops, or the page logs its reconnection attempts
