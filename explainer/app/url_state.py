"""Controls mirrored in the page address: a teacher shares a link to an exact state.

`url_state` seeds a widget's value from ?key=value (parsed, clamped, or refused with a message),
`write_url` writes the current values back; the parsers turn a link's text into a value.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import streamlit as st

from .safe_text import clean_text, code_text, escape_markdown


def _finite_number(raw: str, what: str) -> float:
    """float(raw), refused in our own words: int() and float() would quote the link's text back."""
    try:
        v = float(raw)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v):
        raise ValueError(f"not {what}")
    return v


def int_param(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        return min(max(int(_finite_number(raw, "a whole number")), lo), hi)
    return parse


def float_param(lo: float, hi: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        return min(max(_finite_number(raw, "a finite number"), lo), hi)
    return parse


def choice_param(options) -> Callable[[str], Any]:
    options = list(options)

    def parse(raw: str):
        for o in options:
            if str(o) == raw:
                return o
        raise ValueError(f"not one of {', '.join(map(str, options))}")
    return parse


def bool_param(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("not true or false")


def url_state(key: str, default, parse: Callable[[str], Any]):
    """Seed st.session_state[key] once per session from the URL (?key=value), else `default`.

    A value that does not parse is replaced by the default with a message; an
    out-of-range one is clamped by `parse`. Call before the widget with key=key.
    """
    if key in st.session_state:
        return st.session_state[key]
    raw = st.query_params.get(key)
    value = default
    if raw is not None:
        try:
            value = parse(raw)
        except (ValueError, TypeError, OverflowError) as e:
            # Shown where the page reads the value, so it appears on the page that owns it. The link's
            # text is shown literally (a code span), never as Markdown: a shared link must not be able
            # to put a link, a picture or formatting into the app's own message.
            shown = code_text(f"{key}={clean_text(raw)}", max_chars=200)  # the key is ours; the value cut at 40
            st.warning(f"The link's value {shown} was not understood ({escape_markdown(e)}); using "
                       f"{escape_markdown(default)}.", icon=":material/link_off:")
    st.session_state[key] = value
    return value


def write_url(*keys: str):
    """Mirror the current values of these session keys in the URL."""
    for k in keys:
        if k in st.session_state:
            v = str(st.session_state[k])
            if st.query_params.get(k) != v:  # each write sends the browser a message: only the changes
                st.query_params[k] = v


ON_DEMAND_HELP = ("Its pictures for every t are prepared and sent when you ask, so the page opens fast for a "
                  "whole class.")


def on_demand(key: str, label: str, help: str = ON_DEMAND_HELP) -> bool:
    """A toggle (kept in the page address) for a heavy section: a page opens with what is needed to see it."""
    url_state(key, False, bool_param)
    st.toggle(label, key=key, help=help)
    write_url(key)
    return bool(st.session_state[key])
