"""The scrubber: a slider over precomputed frames that moves in the browser (see explainer/lessons/framesets.py).

Its JavaScript and CSS are in static/.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from ..lessons.framesets import nearest_index
from .url_state import float_param, url_state, write_url


_STATIC = Path(__file__).resolve().parent / "static"
# Not style-isolated: presenter mode's larger fonts reach it; its classes are all prefixed dx-.
_scrubber_component = st.components.v2.component(
    "explainer_scrubber", js=(_STATIC / "scrubber.js").read_text(), css=(_STATIC / "scrubber.css").read_text(),
    isolate_styles=False)


def scrubber(key: str, frames: bytes, values: list, default) -> Any:
    """A slider over precomputed frames (see explainer/lessons/framesets.py) that moves in the browser.

    `frames` is a cached `FrameSet.to_bytes()`, `values` its positions. Dragging swaps
    frames without a server round trip; the release sends the position once, which is
    kept in st.session_state[key] and in the page address (?key=value). Returns the value.
    """
    url_state(key, default, float_param(min(values), max(values)))
    index = nearest_index(values, st.session_state[key])
    st.session_state[key] = values[index]
    comp_key = f"{key}_scrubber"

    def released():
        got = st.session_state.get(comp_key) or {}
        i = got.get("index") if hasattr(got, "get") else None
        if isinstance(i, int) and 0 <= i < len(values):
            st.session_state[key] = values[i]

    # The set is shared by every session; only the starting position is this session's own. It stays the
    # position the set was first shown at: the browser keeps its own position after that, and the element
    # is then byte-identical on every rerun, so Streamlit's message cache sends a reference, not the frames.
    set_id = frames[7:23]
    mount_key = f"{key}_mounted"
    mounted = st.session_state.get(mount_key)
    if mounted is None or mounted[0] != set_id:
        mounted = st.session_state[mount_key] = (set_id, index)
    payload = b'{"index":%d,"set":' % mounted[1] + frames + b"}"
    _scrubber_component(key=comp_key, data=payload, default={"index": index}, on_index_change=released)
    write_url(key)
    return st.session_state[key]
