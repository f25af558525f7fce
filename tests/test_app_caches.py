"""explainer/app/caches.py in a small AppTest script: the result cache is shared across sessions."""
import uuid

from streamlit.testing.v1 import AppTest

from conftest import APPTEST_TIMEOUT


def _cached_run_script(nonce: str, setting: int):
    import uuid as _uuid

    import streamlit as st

    from explainer.app.caches import cached_run

    # A new random value each time `run` really runs: equal values mean one computation.
    st.session_state["got"] = cached_run((nonce, setting), lambda: _uuid.uuid4().hex)
    st.write(st.session_state["got"])


def _session(nonce: str, setting: int) -> str:
    at = AppTest.from_function(_cached_run_script, args=(nonce, setting), default_timeout=APPTEST_TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["got"]


def test_cached_run_is_shared_across_sessions_and_kept_apart_by_key():
    nonce = uuid.uuid4().hex  # keys no other test uses
    first = _session(nonce, 1)
    assert _session(nonce, 1) == first  # another session, the same settings: the stored result
    other = _session(nonce, 2)
    assert other != first  # other settings: their own run
    assert _session(nonce, 2) == other and _session(nonce, 1) == first  # both kept
