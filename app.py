"""Diffusion models, explained: the entry point. Run with `streamlit run app.py`."""
import logging

# Imported once here, before any session runs: Plotly imports pandas lazily, and two sessions doing
# that at the same moment can see a half-initialised module (found by the load test).
import pandas  # noqa: F401
import streamlit as st

from explainer.app.shell import shell, shell_scope

# No page icons: a :material/...: icon becomes a favicon fetched from a font server (the app must work
# offline), and emoji show as empty boxes where no emoji font is installed. The titles are numbered instead.
PAGES = {
    "Start": [st.Page("app_pages/home.py", title="Home", default=True)],
    "The lesson": [
        st.Page("app_pages/forward.py", title="1. Forward process", url_path="forward"),
        st.Page("app_pages/schedules.py", title="2. Noise schedules", url_path="schedules"),
        st.Page("app_pages/learning.py", title="3. Learning to denoise", url_path="learning"),
        st.Page("app_pages/score.py", title="4. Score field (2D)", url_path="score"),
        st.Page("app_pages/reverse.py", title="5. Reverse sampling", url_path="reverse"),
    ],
    "More": [st.Page("app_pages/reading.py", title="Further reading", url_path="reading")],
}

nav = st.navigation(PAGES)
shell()
with shell_scope():
    try:
        nav.run()
    except Exception as e:  # the last safety net: a message, never a stack trace
        logging.getLogger("explainer").exception("page %s failed", nav.title)
        st.error(f"Sorry, this page hit a problem ({type(e).__name__}). Your settings are kept: change a control "
                 "or reload the page to try again.")
