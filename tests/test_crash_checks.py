"""The checks that make a crashed page fail its tests, tried on app.py itself with a crash planted.

app.py and explainer.app.shell.fragment turn a page's exception into an error box (tests/safety_net.py), so a test that
looks only for exceptions passes on a crashed page. These tests plant a crash with monkeypatch and
check that the page opener fails; and that a CI run fails when its browser tests did not run.
"""
import os
import subprocess
import sys

import pytest

import safety_net
from conftest import REQUIRE_BROWSER_ENV, ROOT, open_page
from explainer.app import noising, resources


def _planted(*args, **kwargs):
    raise RuntimeError("planted by tests/test_crash_checks.py")


def test_the_messages_are_read_from_the_safety_nets():
    app_net, fragment_net = safety_net.message_starts()
    assert app_net == "Sorry, this page hit a problem ("
    assert fragment_net.endswith("hit a problem (") and fragment_net != app_net
    boxes = ["Sorry, this page hit a problem (KeyError). Your settings are kept.", "bad.png could not be used."]
    assert safety_net.crash_boxes(boxes) == boxes[:1]  # an error message of the page itself is no crash


def test_a_crash_caught_by_app_py_fails_the_opener(monkeypatch):
    # The schedules page imports get_schedule from explainer.app.resources on each run (so the planted one)
    # and calls it at its top level.
    monkeypatch.setattr(resources, "get_schedule", _planted)
    with pytest.raises(AssertionError, match=r"Sorry, this page hit a problem \(RuntimeError\)"):
        open_page("app_pages/schedules.py")


def test_a_crash_caught_by_a_fragment_fails_the_opener(monkeypatch):
    # The page imports it from explainer.app.noising on each run and calls it inside the same-t fragment.
    monkeypatch.setattr(noising, "schedules_scrubber", _planted)
    with pytest.raises(AssertionError, match=r"This part of the page hit a problem \(RuntimeError\)"):
        open_page("app_pages/schedules.py", {"sc_show_t": "true"})


def _pytest_without_tests(require: bool) -> subprocess.CompletedProcess:
    """A run of tests/browser that selects none of its tests, as CI (REQUIRE_BROWSER_TESTS=1) or not."""
    env = {k: v for k, v in os.environ.items() if k not in (REQUIRE_BROWSER_ENV, "CI")}
    if require:
        env[REQUIRE_BROWSER_ENV] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "tests/browser", "-q", "-p", "no:cacheprovider",
                           "-k", "no_test_has_this_name"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_ci_fails_when_no_browser_test_ran():
    ci = _pytest_without_tests(require=True)
    assert ci.returncode == pytest.ExitCode.TESTS_FAILED, ci.stdout[-2000:]
    assert "no browser test ran" in ci.stdout
    laptop = _pytest_without_tests(require=False)
    assert laptop.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, laptop.stdout[-2000:]
