"""Diffusion models, explained: the entry point. Run with `streamlit run app.py`."""
import logging

# Imported once here, before any session runs: Plotly imports pandas lazily, and two sessions doing
# that at the same moment can see a half-initialised module (found by the load test).
import pandas  # noqa: F401
import streamlit as st

from explainer import ui

# Emoji icons: Streamlit draws them as the favicon inline, where a :material/...: page icon would be
# fetched from a font server (the app must work offline).
PAGES = {
    "Start": [st.Page("pages/home.py", title="Home", icon="🏠", default=True)],
    "The lesson": [
        st.Page("pages/forward.py", title="1. Forward process", icon="🌫️", url_path="forward"),
        st.Page("pages/schedules.py", title="2. Noise schedules", icon="📈", url_path="schedules"),
        st.Page("pages/score.py", title="3. Score field (2D)", icon="🧭",
                url_path="score"),
        st.Page("pages/reverse.py", title="4. Reverse sampling", icon="✨",
                url_path="reverse"),
    ],
    "More": [st.Page("pages/reading.py", title="Further reading", icon="📚", url_path="reading")],
}

nav = st.navigation(PAGES)
ui.shell()
with ui.shell_scope():
    try:
        nav.run()
    except Exception as e:  # the last safety net: a message, never a stack trace
        logging.getLogger("explainer").exception("page %s failed", nav.title)
        st.error(f"Sorry, this page hit a problem ({type(e).__name__}). Your settings are kept: change a control "
                 "or reload the page to try again.", icon=":material/error:")
