"""What every page shows around itself: page config, the sidebar's settings, presenter mode,
Plotly figures with their toolbar, and errors shown as messages, never as stack traces.
"""
from __future__ import annotations

import copy
import functools
import logging
import threading
from contextlib import contextmanager
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from ..models import pretrained
from .safe_text import escape_markdown
from .url_state import bool_param, choice_param, int_param, url_state, write_url

ICON = Path(__file__).resolve().parents[2] / "assets" / "icon.png"
PAGE_CONFIG = dict(page_title="Diffusion models, explained", page_icon=str(ICON), layout="wide",
                   menu_items={"About": "An interactive explainer of diffusion models: live, exact, on a CPU."})
_shell = threading.local()


def shell() -> dict:
    """Page config and the sidebar settings: what every page shows around itself."""
    st.set_page_config(**PAGE_CONFIG)
    return sidebar_settings()


@contextmanager
def shell_scope():
    """Marks a script run in which app.py already drew the shell (see page_setup)."""
    _shell.active = True
    try:
        yield
    finally:
        _shell.active = False


def page_setup():
    """Called first by every page: the shell, unless app.py has drawn it around this page already.

    Every visit runs app.py, which draws the shell and then the page inside `shell_scope`. A page
    run on its own (`streamlit run app_pages/forward.py` while writing it) draws the shell itself.
    The pages live in app_pages/, not pages/: beside app.py a pages/ folder would switch on
    Streamlit's legacy pages-directory mode, which runs a linked page without app.py until the
    first st.navigation call of the process (the first visit after a server start).
    """
    if not getattr(_shell, "active", False):
        shell()


def sidebar_settings() -> dict:
    """The global settings: compute device, random seed, presenter mode. Mirrored in the URL."""
    devices = ["auto"] + pretrained.available_devices()
    url_state("device", "auto", choice_param(devices))
    url_state("seed", 0, int_param(0, 2**31 - 1))
    url_state("presenter", False, bool_param)
    with st.sidebar:
        st.markdown("### Settings")
        st.selectbox("Compute device", devices, key="device",
                     help="Where the neural network runs. 'auto' uses a GPU when one is present, else the CPU.",
                     format_func=lambda d: {"auto": f"auto ({pretrained.pick_device(None).type})",
                                            "cpu": "CPU", "cuda": "GPU (CUDA)", "mps": "Apple GPU (MPS)"}.get(d, d))
        st.number_input("Random seed", min_value=0, max_value=2**31 - 1, step=1, key="seed",
                        help="The same seed gives the same noise, so a class sees the same pictures.")
        st.toggle("Presenter mode", key="presenter",
                  help="Large fonts and figures for a projector; page controls fold into a panel.")
    write_url("device", "seed", "presenter")
    if st.session_state["presenter"]:
        st.markdown(_PRESENTER_CSS, unsafe_allow_html=True)  # constant CSS, no user text
    return {"device": st.session_state["device"], "seed": int(st.session_state["seed"]),
            "presenter": bool(st.session_state["presenter"])}


_PRESENTER_CSS = """
<style>
  .stMainBlockContainer p, .stMainBlockContainer li, .stMainBlockContainer label { font-size: 1.3rem !important; }
  .stMainBlockContainer h1 { font-size: 3rem !important; }
  .stMainBlockContainer h2 { font-size: 2.2rem !important; }
  .stMainBlockContainer h3 { font-size: 1.8rem !important; }
  .katex { font-size: 1.5em !important; }
</style>
"""


def presenter() -> bool:
    return bool(st.session_state.get("presenter", False))


def controls(label: str = "Controls"):
    """Where a page puts its controls: inline normally, folded away in presenter mode."""
    return st.expander(label, expanded=False, icon=":material/tune:") if presenter() else st.container()


def fig_height(normal: int) -> int:
    return int(normal * 1.4) if presenter() else normal


def plot(fig, key: str | None = None):
    """A Plotly figure with its toolbar (hover, zoom, download as PNG). Never changes `fig` (it may be shared)."""
    if presenter():
        fig = go.Figure(copy.deepcopy(fig.to_dict()))  # never restyle the shared one
        fig.update_layout(font=dict(size=18), height=fig_height(fig.layout.height or 450))
    st.plotly_chart(fig, width="stretch", key=key,
                    config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}})


def fragment(func):
    """st.fragment that turns an unexpected error into a message inside that part of the page.

    A fragment reruns on its own, outside app.py's safety net, so it needs its own.
    """
    @functools.wraps(func)
    def guarded(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as e:  # Streamlit's rerun/stop signals are BaseException and pass through
            logging.getLogger("explainer").exception("error in %s", func.__name__)
            st.error(f"This part of the page hit a problem ({type(e).__name__}). The rest of the page still "
                     "works; try another setting, or reload the page.", icon=":material/error:")

    return st.fragment(guarded)


def error_box(e: Exception, what: str):
    """A failure shown as a sentence; the page and the session carry on."""
    st.error(f"{what} failed: {escape_markdown(e)}", icon=":material/error:")
