"""Checks that the helpers in helpers.py drive real Streamlit widgets and wait correctly.

Runs `widget_app.py` (a small app with one widget of each kind) in its own
server. The assertions read the page once, without Playwright's auto-waiting,
so they pass only if the helper returned after the rerun had finished.
"""
import pytest

from .conftest import start_streamlit
from .helpers import (ARTIFACTS, assert_no_exception, click_button, download, open_page,
                      select_option, set_slider, upload_file, wait_idle)


@pytest.fixture(scope="module")
def widget_app():
    """Base URL of `streamlit run tests/browser/widget_app.py`."""
    with start_streamlit("tests/browser/widget_app.py", ARTIFACTS / "streamlit-widget-app.log") as url:
        yield url


def shows(page, text: str) -> bool:
    """Whether an element with exactly this text is in the page now (no waiting)."""
    return page.get_by_text(text, exact=True).count() == 1


@pytest.fixture
def app(widget_app, page):
    open_page(page, widget_app)
    return page


def sent(page) -> int:
    """How many websocket messages the page has sent (each rerun request is one)."""
    return page.evaluate("window.__stIdle.sends")


def test_set_slider_int_one_rerun_each(app):
    for value in (730, 0, 1000, 10):
        before = sent(app)
        set_slider(app, "Steps", value)
        assert shows(app, f"steps={value}")
        assert sent(app) == before + 1  # one rerun request, not one per step


def test_set_slider_float(app):
    set_slider(app, "Beta", 0.85)
    assert shows(app, "beta=0.85")


def test_select_option(app):
    select_option(app, "Fruit", "cherry")
    assert shows(app, "fruit=cherry")


def test_upload_file(app, tmp_path):
    f = tmp_path / "hello.txt"
    f.write_text("hello")
    upload_file(app, "Upload a file", f)
    assert shows(app, "uploaded=hello")
    g = tmp_path / "again.txt"
    g.write_text("again")
    upload_file(app, 0, g)
    assert shows(app, "uploaded=again")


def test_click_button_waits_for_a_slow_run(app):
    click_button(app, "Slow button")
    assert shows(app, "slow=done")


def test_wait_idle_after_own_click(app):
    app.get_by_role("button", name="Slow button").click()
    wait_idle(app)
    assert shows(app, "slow=done")


def test_download(app):
    path = download(app, "Download data")
    assert path.name == "data.csv"
    assert path.read_text() == "hello,world\n"


def test_assert_no_exception_fails_on_an_exception(app):
    assert_no_exception(app)
    click_button(app, "Boom")
    with pytest.raises(AssertionError, match="boom from the widget app"):
        assert_no_exception(app)


def test_console_errors_are_caught_and_only_known_ones_allowed(app):
    """The page fixture fails a test on console errors: they are recorded, and only CONSOLE_ALLOWED excuses one."""
    from .conftest import console_problems

    app.evaluate("() => { console.error('a broken widget'); setTimeout(() => { throw new Error('uncaught'); }); }")
    app.wait_for_timeout(200)
    problems = console_problems(app.console_log)
    assert any("console.error: a broken widget" in p for p in problems), app.console_log
    assert any(p.startswith("pageerror: ") and "uncaught" in p for p in problems), app.console_log
    allowed = ("console.error: Failed to load resource: the server responded with a status of 404 (Not Found) "
               "(http://127.0.0.1:8501/forward/_stcore/health)")
    assert console_problems([allowed]) == []
    assert console_problems([allowed.replace("/forward/_stcore/health", "/_stcore/health")]) != []
    app.console_log.clear()  # these were made on purpose: do not fail this test at teardown


def test_assert_no_exception_sees_the_safety_net(tmp_path, browser):
    """app.py itself, with a crash planted at the end of one page: the safety net shows its box instead of
    an exception, and assert_no_exception must still fail."""
    import shutil

    from .conftest import new_page
    from .helpers import REPO_ROOT

    shutil.copy(REPO_ROOT / "app.py", tmp_path / "app.py")
    shutil.copytree(REPO_ROOT / "app_pages", tmp_path / "app_pages")
    with open(tmp_path / "app_pages" / "schedules.py", "a", encoding="utf-8") as f:
        f.write('\nraise RuntimeError("planted by test_assert_no_exception_sees_the_safety_net")\n')
    for folder in ("explainer", "assets"):  # the library and its files, as they are
        (tmp_path / folder).symlink_to(REPO_ROOT / folder, target_is_directory=True)
    with start_streamlit(tmp_path / "app.py", ARTIFACTS / "streamlit-planted-crash.log") as url:
        page = new_page(browser)
        try:
            open_page(page, url, "schedules", timeout=60)
            with pytest.raises(AssertionError, match=r"Sorry, this page hit a problem \(RuntimeError\)"):
                assert_no_exception(page)
            open_page(page, url, "forward", timeout=60)  # another page of the same app: no crash
            assert_no_exception(page)
        finally:
            page.context.close()
