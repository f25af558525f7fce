"""Helpers that drive a Streamlit 1.67 app in Playwright (sync API).

Import them in a browser test with ``from .helpers import open_page, set_slider, ...``.
Every helper that changes a widget waits until the rerun it causes has finished,
so a test can assert on the page right after the call.

How "Streamlit is idle" is detected
-----------------------------------
Streamlit 1.67 exposes the script state on the app root:
``<div data-testid="stApp" data-test-script-state="..." data-test-connection-state="...">``
where the script state is ``initial`` (before the first run), ``running``,
``rerunRequested``, ``stopRequested``, ``compilationError`` or ``notRunning``
and the connection state is ``CONNECTED`` once the websocket is up.
(The "Running..." status widget, ``[data-testid="stStatusWidgetRunningIcon"]``
inside ``[data-testid="stStatusWidget"]``, is driven by the same state but only
appears once a run has lasted 500 ms.)

That attribute alone is not enough: a rerun starts a websocket round trip
after the interaction that causes it, and a fast run (10 ms) can start and end
between two React renders, so the attribute never leaves ``notRunning``.
:data:`IDLE_TRACKER_JS`, installed in every page by the ``page`` fixture,
therefore also records, in ``window.__stIdle``, when the page last sent a
websocket message (``lastSend``: every rerun request is one), last received one
(``lastRecv``) and last saw a keydown/mousedown/click/input/change event
(``lastInput``), all in ``performance.now()`` milliseconds.

The page is idle when

* ``stApp`` has ``data-test-script-state="notRunning"`` and
  ``data-test-connection-state="CONNECTED"``,
* no loading placeholder is shown: ``[data-testid="stSkeleton"]`` (an element
  whose JS chunk is still being fetched, e.g. the first selectbox in a fresh
  browser context) or ``[data-testid="stAppSkeleton"]``,
* and the server has sent nothing for ``QUIET`` s (a run streams its output,
  then a "script finished" message, so silence after the reply means it is over).

After an interaction, the helpers first wait (at most ``start_timeout`` s, and
carry on if nothing comes) for the server to answer what the interaction sent
(:func:`expect_rerun`: a message sent inside the block; :func:`wait_idle`: one
sent after the latest input event), then for the idle state, then for two
animation frames so that the DOM is painted.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # Playwright is only needed when the browser tests actually run.
    from playwright.sync_api import Locator, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
SERVER_LOG = ARTIFACTS / "streamlit-server.log"
DOWNLOADS = ARTIFACTS / "downloads"
#: Base URL -> log file of each running server (filled by conftest.start_streamlit).
SERVER_LOGS: dict[str, Path] = {}

APP = '[data-testid="stApp"]'
IDLE_APP = f'{APP}[data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
#: Placeholders shown while an element's code (a lazily loaded JS chunk) or the app is loading.
LOADING = '[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]'
MAIN_CONTENT = '[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]'
EXCEPTION = '[data-testid="stException"]'

#: Seconds to wait for the server to answer an interaction before assuming it sent nothing.
START_TIMEOUT = 2.0
#: Seconds of silence from the server after which a run is taken as finished.
QUIET = 0.15
#: The same after an upload: replacing a file sends two rerun requests, which a busy
#: server may run one after the other.
UPLOAD_QUIET = 0.4

#: Records websocket traffic, input events and script runs in ``window.__stIdle``
#: (see the module docstring). Must run before the app opens its websocket: the
#: ``page`` fixture installs it with ``context.add_init_script``.
IDLE_TRACKER_JS = """
(() => {
  if (window.__stIdle) return;
  const s = window.__stIdle = {sends: 0, lastSend: -1, lastRecv: -1, lastInput: -1,
                               runs: 0, state: null};
  const NativeWebSocket = window.WebSocket;
  const nativeSend = NativeWebSocket.prototype.send;
  NativeWebSocket.prototype.send = function (data) {
    s.sends += 1;
    s.lastSend = performance.now();
    return nativeSend.call(this, data);
  };
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => { s.lastRecv = performance.now(); });
    }
  };
  for (const type of ['keydown', 'mousedown', 'click', 'input', 'change']) {
    document.addEventListener(type, () => { s.lastInput = performance.now(); }, true);
  }
  // Runs long enough to be rendered as running (informative only: fast runs are missed).
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const v = m.target.getAttribute('data-test-script-state');
      if (v !== 'notRunning' && (s.state === null || s.state === 'notRunning')) s.runs += 1;
      s.state = v;
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
})();
"""


def _idle_js(quiet: float) -> str:
    return (f"() => !!document.querySelector('{IDLE_APP}') && !document.querySelector('{LOADING}')"
            f" && performance.now() - window.__stIdle.lastRecv >= {quiet * 1000:.0f}")


# ------------------------------------------------------------------ waiting

def _ensure_tracker(page: Page) -> None:
    if not page.evaluate("() => !!window.__stIdle"):
        raise RuntimeError("this page has no run tracker: use the `page` fixture, or call "
                           "context.add_init_script(helpers.IDLE_TRACKER_JS) before loading the app")


def _app_state(page: Page) -> str:
    """A short description of the app's state, for error messages."""
    try:
        st = page.evaluate(
            """() => { const a = document.querySelector('[data-testid="stApp"]');
                       return a ? [a.getAttribute('data-test-script-state'),
                                   a.getAttribute('data-test-connection-state')] : null; }""")
    except Exception as e:  # noqa: BLE001 - only used to decorate another error
        return f"(state unavailable: {e})"
    if st is None:
        return "no [data-testid=stApp] element in the page"
    return f"script state={st[0]!r}, connection state={st[1]!r}"


def _wait_for_reply(page: Page, condition: str, start_timeout: float, arg=None) -> None:
    """Wait up to ``start_timeout`` s for ``condition``; carry on if it does not come true."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function(condition, arg=arg, timeout=start_timeout * 1000)
    except PlaywrightTimeoutError:
        pass  # the interaction sent nothing, or the server did not answer it: nothing to wait for


def _wait_until_idle(page: Page, timeout: float | None, quiet: float = QUIET) -> None:
    """Wait (``timeout`` s, default: the page's default timeout) for the idle state."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    kwargs = {} if timeout is None else {"timeout": timeout * 1000}
    try:
        page.wait_for_function(_idle_js(quiet), **kwargs)
    except PlaywrightTimeoutError as e:
        loading = page.locator(LOADING).count()
        raise AssertionError(f"Streamlit did not become idle: {_app_state(page)}, "
                             f"{loading} element(s) still loading. Server log: {SERVER_LOG}") from e
    # Two animation frames: whatever the last messages rendered is laid out and painted.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def wait_idle(page: Page, *, start_timeout: float = START_TIMEOUT, timeout: float | None = None,
              quiet: float = QUIET) -> None:
    """Wait until the rerun caused by the latest user input (if any) has finished.

    Call after an interaction of your own (``page.click(...)``, ``fill`` + Enter, ...).
    Waits up to ``start_timeout`` s for the server to answer a websocket message
    sent after the latest keydown/mousedown/click/input/change event (carries on
    if nothing was sent), then up to ``timeout`` s (default: the page's default
    timeout) until Streamlit is idle and the server has been silent ``quiet`` s.
    """
    _ensure_tracker(page)
    _wait_for_reply(page, "() => { const s = window.__stIdle; "
                          "return s.lastSend >= s.lastInput && s.lastRecv > s.lastSend; }", start_timeout)
    _wait_until_idle(page, timeout, quiet)


@contextmanager
def expect_rerun(page: Page, *, start_timeout: float = START_TIMEOUT, timeout: float | None = None,
                 quiet: float = QUIET) -> Iterator[None]:
    """Context manager: do the interaction in the body; on exit, wait for its rerun to finish.

    ``with expect_rerun(page): page.get_by_role("checkbox", name="Show").click()``
    On exit, waits up to ``start_timeout`` s for the server to answer a
    websocket message sent inside the block (carries on if none was sent), then
    up to ``timeout`` s until Streamlit is idle and the server has been silent
    ``quiet`` s. Exact even for runs that are over before the block ends.
    """
    _ensure_tracker(page)
    before = page.evaluate("() => window.__stIdle.sends")
    yield
    _wait_for_reply(page, f"() => window.__stIdle.sends > {before} "
                          f"&& window.__stIdle.lastRecv > window.__stIdle.lastSend", start_timeout)
    _wait_until_idle(page, timeout, quiet)


def open_page(page: Page, base_url: str, path: str = "", *, timeout: float | None = None,
              require_content: bool = True) -> None:
    """Load ``base_url/path`` (e.g. ``"forward"`` or ``"score?steps=50"``) and wait for the first run.

    Waits for ``[data-testid="stApp"]``, then until the script state is
    ``notRunning`` with the websocket ``CONNECTED`` (it is ``initial`` until the
    first run starts), no loading placeholder is left and the server has been
    silent a moment (see the module docstring), and, unless
    ``require_content=False``, until the main block
    ``[data-testid="stMainBlockContainer"]`` holds at least one element.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    kwargs = {} if timeout is None else {"timeout": timeout * 1000}
    page.goto(url, wait_until="domcontentloaded", **kwargs)
    page.wait_for_selector(APP, state="attached", **kwargs)
    _ensure_tracker(page)
    _wait_until_idle(page, timeout)
    if require_content:
        try:
            page.wait_for_selector(MAIN_CONTENT, state="attached", **kwargs)
        except PlaywrightTimeoutError as e:
            raise AssertionError(f"{url}: the main block stayed empty ({_app_state(page)})") from e


def open_ready(page: Page, base_url: str, path: str, heading: str, *, timeout: float = 60) -> None:
    """``open_page``, then also wait for the sidebar's settings and the page's title, then for idle."""
    open_page(page, base_url, path, timeout=timeout)
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stSidebar").get_by_text("Compute device", exact=True)).to_be_visible(
        timeout=timeout * 1000)
    expect(page.get_by_role("heading", level=1).filter(has_text=heading)).to_be_visible(timeout=timeout * 1000)
    wait_idle(page, timeout=timeout)
    assert_no_exception(page)


# ------------------------------------------------------------------ checks

def _last_traceback(log: Path, max_lines: int = 40) -> str:
    """The last Python traceback in a server log ('' if none), ending at its exception line."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return ""
    tb = [lines[starts[-1]]]
    for line in lines[starts[-1] + 1:]:
        tb.append(line)
        if line and not line[0].isspace():  # "SomeError: message" closes the traceback
            break
    if len(tb) > max_lines:
        tb = tb[:1] + ["  ..."] + tb[-(max_lines - 2):]
    return "\n".join(tb)


def _server_log(page: Page) -> Path:
    """The log of the server that serves this page (``SERVER_LOG`` if unknown)."""
    m = re.match(r"https?://[^/]+", page.url)
    return SERVER_LOGS.get(m.group(0) if m else "", SERVER_LOG)


def assert_no_exception(page: Page) -> None:
    """Fail if the page crashed: it shows an ``st.exception`` box (``[data-testid="stException"]``), or
    the box of app.py's or ``shell.fragment``'s safety net ("Sorry, this page hit a problem (...)", see
    tests/safety_net.py), which catch a page's exception and show that instead.

    The message holds the text of each box and the last traceback in the
    server's log (the app's ``client.showErrorDetails = "none"`` redacts the
    error in the page itself).
    """
    from safety_net import crash_boxes  # tests/, on sys.path as the folder of tests/conftest.py

    texts = [t.strip() for t in page.locator(EXCEPTION).all_inner_texts()] + crash_boxes(alert_texts(page, "error"))
    if texts:
        log = _server_log(page)
        tb = _last_traceback(log)
        raise AssertionError(f"{len(texts)} exception(s) or crash message(s) shown on {page.url}:\n"
                             + "\n---\n".join(texts)
                             + (f"\n\nLast traceback in {log}:\n{tb}" if tb else f"\n\nServer log: {log}"))


def alert_texts(page: Page, kind: str = "error") -> list[str]:
    """Texts of the visible ``st.error``/``st.warning``/``st.info``/``st.success`` boxes of one kind."""
    sel = f'[data-testid="stAlertContent{kind.capitalize()}"]'
    return [t.strip() for t in page.locator(sel).all_inner_texts()]


# ------------------------------------------------------------------ widgets

def find_widget(page: Page, testid: str, label: str | int) -> Locator:
    """The widget container ``[data-testid=testid]`` whose label is exactly ``label`` (or the n-th one).

    ``label`` is matched against the widget's visible label text
    (``[data-testid="stWidgetLabel"]``), then against an ``aria-label`` inside
    it; an ``int`` picks the widget by position in the page (0 = first).
    Raises AssertionError listing the labels present when nothing matches.
    """
    widgets = page.locator(f'[data-testid="{testid}"]')
    if isinstance(label, int):
        if label >= widgets.count():
            raise AssertionError(f"there are only {widgets.count()} {testid} widgets, not {label + 1}")
        return widgets.nth(label)
    by_text = widgets.filter(has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))
    if by_text.count() == 1:
        return by_text
    by_aria = widgets.filter(has=page.locator(f'[aria-label="{_css_escape(label)}"]'))
    if by_aria.count() == 1:
        return by_aria
    found = by_text.count() or by_aria.count()
    labels = [t.strip() for t in widgets.locator('[data-testid="stWidgetLabel"]').all_inner_texts()]
    raise AssertionError(f"{found} {testid} widgets labelled {label!r} (need exactly 1); "
                         f"labels present: {labels}")


def _css_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


_SET_RANGE_VALUE_JS = """(el, v) => {
  // The native setter bypasses React's value tracking, so React sees the change.
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, String(v));
  el.dispatchEvent(new Event('input', {bubbles: true}));
}"""


def set_slider(page: Page, label: str | int, value: float, *, timeout: float | None = None) -> None:
    """Move an ``st.slider`` (single value, numeric) to ``value`` and wait for the rerun.

    Uses the thumb's ``<input type="range">`` (role ``slider``; its ``min``,
    ``max``, ``step`` and ``value`` attributes hold the numbers). Streamlit
    commits a slider value on every key press, so to cause a single rerun the
    thumb is first placed one step short of the target without committing
    (a React ``input`` event), then ArrowRight/ArrowLeft (or Home/End at the
    ends) commits the final value; any remainder is fixed with arrow keys.
    ``value`` must lie on the slider's step grid (it is rounded to it).
    """
    thumb = find_widget(page, "stSlider", label).locator('input[type="range"]').first
    lo, hi, step = (float(thumb.get_attribute(a) or d) for a, d in (("min", 0), ("max", 100), ("step", 1)))
    if not lo - 1e-9 <= value <= hi + 1e-9:
        raise ValueError(f"slider {label!r}: {value} is outside [{lo}, {hi}]")
    target = round((value - lo) / step)  # in steps from the minimum
    last = round((hi - lo) / step)

    def position() -> int:
        return round((float(thumb.input_value()) - lo) / step)

    if position() == target:
        return
    with expect_rerun(page, timeout=timeout):
        thumb.focus()
        if target == 0:
            thumb.press("Home")
        elif target == last:
            thumb.press("End")
        else:
            thumb.evaluate(_SET_RANGE_VALUE_JS, lo + (target - 1) * step)
            thumb.press("ArrowRight")
    for _ in range(3):  # normally no-op; corrects a remainder with single-step presses
        diff = target - position()
        if diff == 0:
            return
        for _ in range(abs(diff)):
            with expect_rerun(page, timeout=timeout):
                thumb.press("ArrowRight" if diff > 0 else "ArrowLeft")
    raise AssertionError(f"slider {label!r} is at {thumb.input_value()}, not {value}")


def select_option(page: Page, label: str | int, option_text: str, *, timeout: float | None = None) -> None:
    """Choose ``option_text`` (exact text) in an ``st.selectbox`` and wait for the rerun.

    Clicks the combobox, types the text to filter long lists, then clicks the
    matching ``[role="option"]`` of the dropdown list.
    """
    box = find_widget(page, "stSelectbox", label).get_by_role("combobox")
    if box.input_value() == option_text:
        return
    box.click()
    box.fill(option_text)
    option = page.get_by_role("listbox").get_by_role("option", name=option_text, exact=True)
    with expect_rerun(page, timeout=timeout):
        option.click()


_WATCH_UPLOAD_JS = """(el, names) => {
  // Records in el.__stUpload when the uploads of `names` have all finished (or one failed).
  // A chip's delete button says "Cancel upload of NAME" while uploading, "Remove NAME" after.
  const w = el.__stUpload = {seenUploading: false, readyAt: null, error: null};
  const check = () => {
    const labels = [...el.querySelectorAll('[data-testid="stFileChipDeleteBtn"] button')]
      .map(b => b.getAttribute('aria-label') || '');
    const bad = el.querySelector('[data-testid="stFileChip"][aria-invalid="true"]');
    if (bad) w.error = bad.closest('[data-testid="stFileChips"]').innerText;
    if (labels.some(l => l.startsWith('Cancel upload of '))) { w.seenUploading = true; return; }
    if (w.error || (w.seenUploading && names.every(n => labels.includes('Remove ' + n)))) {
      w.readyAt = performance.now();
      obs.disconnect();
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(el, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def upload_file(page: Page, label_or_index: str | int, path: str | Path | list[str | Path], *,
                start_timeout: float = START_TIMEOUT, timeout: float | None = None) -> None:
    """Put a file (or a list of files) into an ``st.file_uploader`` and wait for the rerun.

    Sets the files on the uploader's ``input[type=file]``; ``label_or_index`` is
    the uploader's label or its position in the page (0 = first). Waits until
    every file's chip shows it uploaded (its delete button reads "Remove NAME",
    not "Cancel upload of NAME"), then for the rerun that Streamlit starts after
    the last upload. Replacing the file of a single-file uploader sends two
    rerun requests (one without a file, one with the new file) and a busy
    server may run them one after the other, so the server must then be silent
    for ``UPLOAD_QUIET`` s. Raises AssertionError if the uploader
    rejects a file.
    """
    paths = [Path(p) for p in path] if isinstance(path, list) else [Path(path)]
    widget = find_widget(page, "stFileUploader", label_or_index)
    _ensure_tracker(page)
    handle = widget.element_handle()
    handle.evaluate(_WATCH_UPLOAD_JS, [p.name for p in paths])
    widget.locator('input[type="file"]').set_input_files([str(p) for p in paths])
    kwargs = {} if timeout is None else {"timeout": timeout * 1000}
    page.wait_for_function("el => el.__stUpload.readyAt !== null", arg=handle, **kwargs)
    error = handle.evaluate("el => el.__stUpload.error")
    if error:
        raise AssertionError(f"the file uploader rejected {[p.name for p in paths]}: {error}")
    _wait_for_reply(page, "el => window.__stIdle.lastRecv > el.__stUpload.readyAt", start_timeout, handle)
    _wait_until_idle(page, timeout, quiet=UPLOAD_QUIET)


def click_button(page: Page, text: str, *, timeout: float | None = None) -> None:
    """Click the ``st.button`` (or form submit button) whose text is exactly ``text``; wait for the rerun."""
    buttons = page.locator('[data-testid="stButton"], [data-testid="stFormSubmitButton"]')
    button = buttons.get_by_role("button", name=text, exact=True)
    if button.count() == 0:  # e.g. a button in a popover or dialog footer
        button = page.get_by_role("button", name=text, exact=True)
    with expect_rerun(page, timeout=timeout):
        button.click()


def download(page: Page, button_text: str, *, timeout: float | None = None) -> Path:
    """Click the ``st.download_button`` labelled ``button_text``; return the saved file.

    The file is saved as ``test-artifacts/downloads/<suggested file name>``
    (the page's context must have ``accept_downloads=True``, as the ``page``
    fixture does). Waits for the rerun the click may cause.
    """
    button = page.locator('[data-testid="stDownloadButton"]').get_by_role("button", name=button_text, exact=True)
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    kwargs = {} if timeout is None else {"timeout": timeout * 1000}
    with expect_rerun(page, timeout=timeout):
        with page.expect_download(**kwargs) as info:
            button.click()
    dl = info.value
    target = DOWNLOADS / re.sub(r"[^\w.-]", "_", dl.suggested_filename)
    dl.save_as(target)
    return target


# ------------------------------------------------------------------ scrubbers (explainer/app/scrubber.py)

def find_scrubber(page: Page, label: str) -> "Locator":
    """The browser-side scrubber whose label is ``label`` (its ``.dx-scrub`` root)."""
    scrub = page.locator(".dx-scrub").filter(has=page.locator(".dx-name").get_by_text(label, exact=True))
    try:
        scrub.first.wait_for(state="attached", timeout=30_000)
    except Exception as e:  # noqa: BLE001 (Playwright's TimeoutError)
        labels = page.locator(".dx-name").all_inner_texts()
        raise AssertionError(f"no scrubber labelled {label!r}; scrubbers: {labels}") from e
    return scrub.first


def scrubber_value(page: Page, label: str) -> str:
    """The value the scrubber shows now (its position's t, step, ...)."""
    return find_scrubber(page, label).get_attribute("data-value")


def scrubber_metric(page: Page, label: str) -> str:
    """The value of the scrubber metric with this label, as shown at the scrubber's position now."""
    m = page.locator(".dx-metric").filter(has=page.locator(".dx-metric-label").get_by_text(label, exact=True))
    return m.first.locator(".dx-metric-value").inner_text().strip()


def set_scrubber(page: Page, label: str, value: float, *, timeout: float | None = None) -> int:
    """Move a scrubber to the precomputed position nearest ``value`` with the keyboard, as a user can.

    The browser swaps frames without the server; the release (here: the keys coming to rest)
    sends one rerun, which is waited for. Returns the value reached.
    """
    scrub = find_scrubber(page, label)
    rng = scrub.locator(".dx-range")
    rng.focus()
    rng.press("Home")
    best, best_i, n = None, 0, int(rng.get_attribute("max")) + 1
    for i in range(n):  # find the position nearest the value (the values are the frames' own)
        v = float(scrub.get_attribute("data-value"))
        if best is None or abs(v - value) < best:
            best, best_i = abs(v - value), i
        if v >= value or i == n - 1:
            break
        rng.press("ArrowRight")
    with expect_rerun(page, timeout=timeout):
        rng.press("Home")
        for _ in range(best_i):
            rng.press("ArrowRight")
    return int(float(scrub.get_attribute("data-value")))
