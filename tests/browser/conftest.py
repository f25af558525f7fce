"""Browser tests: the real app under ``streamlit run``, driven by headless Chromium.

Run them with ``python -m pytest -q tests/browser`` (or leave them out with
``-m "not browser"``). Every test in this folder is marked ``browser``. When
/usr/bin/chromium is missing they are skipped with that reason; when the
Playwright package is missing they are not collected, and the run's summary
says so (test modules may import Playwright at the top).

Fixtures
--------
``app_server`` (session) -> str
    Base URL, e.g. ``"http://127.0.0.1:40123"``, of one ``streamlit run app.py``
    shared by all tests, started on a free port and up once
    ``/_stcore/health`` answers ``ok``. Its stdout and stderr go to
    ``test-artifacts/streamlit-server.log``.
``browser`` (session) -> playwright.sync_api.Browser
    Headless /usr/bin/chromium.
``page`` (function) -> playwright.sync_api.Page
    A fresh context (1366x900, downloads accepted) and page, default timeout
    30 s, with the run tracker of ``helpers.py`` installed. At teardown, pass or
    fail, a full-page screenshot goes to ``test-artifacts/screenshots/<test>.png``
    and browser console errors and failed requests (if any) to
    ``test-artifacts/console/<test>.log``; then the test fails if any of them is
    not excused by ``CONSOLE_ALLOWED`` (each entry says why it is harmless).

Helpers (``from .helpers import ...``; see ``helpers.py``)
-----------------------------------------------------------
``open_page(page, base_url, path="")``       load a page, wait for the first run to finish
``wait_idle(page)``                          after your own interaction: wait for its rerun
``with expect_rerun(page): ...``             same, for what the block's interaction sent (exact)
``assert_no_exception(page)``                fail on any ``st.exception`` box, with its text
``alert_texts(page, kind="error")``          texts of st.error / warning / info / success boxes
``find_widget(page, testid, label_or_index)`` a widget container by its label
``set_slider(page, label, value)``           move an ``st.slider``
``select_option(page, label, option_text)``  choose in an ``st.selectbox``
``upload_file(page, label_or_index, path)``  fill an ``st.file_uploader``
``click_button(page, text)``                 click an ``st.button``
``download(page, button_text) -> Path``      click an ``st.download_button``, save the file

A ``label`` is the widget's exact visible label (``int``: its position in the
page, 0 = first). All widget helpers wait until the rerun they cause has
finished, so assert right after them; each takes ``timeout=`` (seconds, default
30) for slow reruns, e.g. ``click_button(page, "Sample", timeout=120)``.
Helpers raise ``AssertionError`` with a readable message when a widget is not
found or the app never becomes idle. A typical test::

    from playwright.sync_api import expect
    from .helpers import assert_no_exception, open_page, set_slider

    def test_steps_slider(app_server, page):
        open_page(page, app_server, "forward")
        set_slider(page, "Number of steps T", 500)
        assert_no_exception(page)
        expect(page.get_by_text("T = 500")).to_be_visible()

For another script than ``app.py``, ``start_streamlit(script, log_path)`` is a
context manager yielding the base URL of a server running it.
"""
from __future__ import annotations

import os
import re
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from loadtest.server import start_server

from .helpers import ARTIFACTS, IDLE_TRACKER_JS, SERVER_LOG, SERVER_LOGS

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 900}
PAGE_TIMEOUT_MS = 30_000
SERVER_START_TIMEOUT = 60.0

try:
    import playwright.sync_api  # noqa: F401
    _MISSING = None
except ImportError:
    _MISSING = "the playwright Python package is not installed"
if _MISSING is None and not os.access(CHROMIUM, os.X_OK):
    _MISSING = f"{CHROMIUM} is not installed"


if _MISSING and _MISSING.startswith("the playwright"):
    # Test modules import Playwright at the top: do not even collect them.
    collect_ignore_glob = ["test_*.py"]


def pytest_terminal_summary(terminalreporter):
    """Say once, at the end of the run, why the browser tests did not run."""
    if _MISSING:
        terminalreporter.write_line(f"browser tests (tests/browser) skipped: {_MISSING}", yellow=True)


def pytest_collection_modifyitems(config, items):
    """Mark every test of this folder ``browser``; skip them all if the browser stack is missing."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if _MISSING:
                item.add_marker(pytest.mark.skip(reason=f"browser test skipped: {_MISSING}"))


# ------------------------------------------------------------------ the server

@contextmanager
def start_streamlit(script: str | Path = "app.py", log_path: Path = SERVER_LOG,
                    timeout: float = SERVER_START_TIMEOUT) -> Iterator[str]:
    """Run ``streamlit run script`` (cwd = repo root) on a free port; yield its base URL.

    The load test's ``start_server`` does the work (polls ``/_stcore/health``, no fixed sleep;
    stops the whole process group at the end); a server that does not come up fails the test
    with the tail of its log.
    """
    with ExitStack() as stack:
        try:
            srv = stack.enter_context(start_server(str(script), log_path=log_path, timeout=timeout))
        except RuntimeError as e:
            pytest.fail(str(e), pytrace=False)
        SERVER_LOGS[srv.url] = log_path
        try:
            yield srv.url
        finally:
            SERVER_LOGS.pop(srv.url, None)


@pytest.fixture(scope="session")
def app_server() -> Iterator[str]:
    """Base URL of ``streamlit run app.py`` (one server for the whole test session)."""
    with start_streamlit("app.py", SERVER_LOG) as url:
        yield url


# ------------------------------------------------------------------ the browser

@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (/usr/bin/chromium), shared by the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _artifact_name(request) -> str:
    """The test's name, safe as a file name: ``test_opens[forward]`` -> ``test_opens-forward``."""
    return re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")


def full_page_screenshot(page, path: Path, max_height: int = 6000) -> None:
    """Screenshot the whole app, not just the viewport.

    Streamlit scrolls inside ``[data-testid="stMain"]``, not the document, so
    ``full_page=True`` alone gives one screen: the viewport is first made as
    tall as the main area's content (at most ``max_height`` px).
    """
    height = page.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
                                      return m ? m.scrollHeight : 0; }""")
    size = page.viewport_size or VIEWPORT
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(height, max_height)})
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(path), full_page=True, timeout=10_000)


#: Console messages that do not fail a test, each with the reason (a regular expression on the line
#: as logged: "console.error: ...", "pageerror: ...", "request failed: URL (why)").
CONSOLE_ALLOWED: list[tuple[str, str]] = [
    # Opened straight at a page (/forward), Streamlit's frontend first looks for the server under that
    # path (/forward/_stcore/health), gets 404, and then finds it one level up. Harmless, and known:
    # streamlit/streamlit#7074 ("404 health check when navigating directly to a subpage", open).
    (r"^console\.error: Failed to load resource: the server responded with a status of 404 \(Not Found\) "
     r"\(https?://[^/]+/[^/?#]+/_stcore/(health|host-config)\)$", "streamlit/streamlit#7074"),
]


def console_problems(lines: list[str]) -> list[str]:
    """The logged console lines that the allow-list does not excuse."""
    return [line for line in lines if not any(re.search(rx, line) for rx, _why in CONSOLE_ALLOWED)]


def new_page(browser):
    """A new context (1366x900, downloads accepted, 30 s timeouts, the run tracker) and its page, with
    console errors, uncaught page errors and failed requests collected in ``page.console_log``."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    context.add_init_script(IDLE_TRACKER_JS)
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"console.{m.type}: {m.text} ({m.location.get('url')})")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    pg.on("requestfailed", lambda r: console.append(f"request failed: {r.url} ({r.failure})"))
    pg.console_log = console
    return pg


@pytest.fixture
def page(browser, request):
    """A new context and page (see ``new_page``); at teardown a screenshot, and the test fails if the
    browser logged a console error, an uncaught page error or a failed request not in CONSOLE_ALLOWED."""
    pg = new_page(browser)
    try:
        yield pg
    finally:
        name = _artifact_name(request)
        shots = ARTIFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        try:
            full_page_screenshot(pg, shots / f"{name}.png")
        except Exception as e:  # noqa: BLE001 - a failed screenshot must not hide the test's outcome
            print(f"screenshot of {name} failed: {e}")
        if pg.console_log:
            (ARTIFACTS / "console").mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "console" / f"{name}.log").write_text("\n".join(pg.console_log) + "\n")
        pg.context.close()
    problems = console_problems(pg.console_log)
    if problems:
        pytest.fail(f"the browser logged {len(problems)} error(s) (allowed ones: CONSOLE_ALLOWED in "
                    f"tests/browser/conftest.py):\n" + "\n".join(problems), pytrace=False)
