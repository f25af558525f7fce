"""explainer/app/shell.py in a small AppTest script: a failing fragment shows a message, the page carries on."""
import logging

from streamlit.testing.v1 import AppTest

from conftest import APP, APPTEST_TIMEOUT


def _failing_fragment_script():
    import streamlit as st

    from explainer.app.shell import fragment

    st.title("A page with a broken part")

    @fragment
    def broken():
        st.write("the fragment starts")
        if st.checkbox("Break it", key="break"):
            raise ZeroDivisionError("a bug in the page")
        st.write("the fragment ends")

    broken()
    st.write("the rest of the page")


def test_a_fragment_that_raises_shows_an_error_and_the_rest_of_the_page_renders(caplog):
    at = AppTest.from_function(_failing_fragment_script, default_timeout=APPTEST_TIMEOUT).run()
    assert not at.exception and not at.error
    caplog.set_level(logging.ERROR, logger="explainer")
    at.checkbox(key="break").check().run()
    assert not at.exception, [e.value for e in at.exception]  # no traceback on the page
    assert len(at.error) == 1
    message = at.error[0].value
    assert "This part of the page hit a problem (ZeroDivisionError)" in message
    assert "a bug in the page" not in message  # the message names the kind of error, not internals
    text = [m.value for m in at.markdown]
    assert "the fragment starts" in text and "the fragment ends" not in text
    assert "the rest of the page" in text and at.title[0].value == "A page with a broken part"
    # The full traceback goes to the server log instead.
    logged = [r for r in caplog.records if r.name == "explainer" and r.exc_info]
    assert logged and logged[0].exc_info[0] is ZeroDivisionError
    # Fixing the setting brings the part back.
    at.checkbox(key="break").uncheck().run()
    assert not at.error and "the fragment ends" in [m.value for m in at.markdown]


def test_a_linked_page_runs_inside_app_py_from_its_first_run(monkeypatch):
    """A link straight to a page runs app.py around it from the first run, so app.py's safety net holds.

    The pages live in app_pages/: a pages/ folder beside app.py would switch on Streamlit's legacy
    pages-directory mode, in which the first visit after a server start (and every AppTest) runs the
    linked page alone, without app.py's shell and safety net, until some session calls st.navigation.
    """
    from explainer.lessons import reading

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the page")

    monkeypatch.setattr(reading, "by_kind", broken)  # the page imports it when it runs
    at = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT)
    at.switch_page("app_pages/reading.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]  # caught, not a stack trace
    assert [e.value for e in at.error] == [
        "Sorry, this page hit a problem (RuntimeError). Your settings are kept: change a control or reload the "
        "page to try again."]
    assert at.sidebar.selectbox(key="device").value == "auto"  # app.py drew the sidebar
