"""Results kept across sessions, keyed by small values: a rerun with nothing new is a look-up.

`shared` keeps what a page builds (figures, encoded pictures); `cached_run` and `page_run` keep
network results, computed through the fair queue (see compute.py).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

import plotly.graph_objects as go
import streamlit as st

from ..lessons import style
from .compute import compute_slot


class _LRU:
    """A small thread-safe LRU of finished results, shared by all sessions of this process."""

    def __init__(self, max_entries: int):
        self.max_entries, self.items, self.lock = max_entries, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.max_entries:
                self.items.popitem(last=False)


@st.cache_resource(show_spinner=False)
def result_cache() -> _LRU:
    # Sampling is deterministic for (settings, seed, device): thirty students pressing Generate
    # with the defaults share one computation. Results are read-only NumPy arrays.
    return _LRU(max_entries=24)


@st.cache_resource(show_spinner=False)
def _shared_cache() -> _LRU:
    return _LRU(max_entries=256)


def shared(key: tuple, build: Callable[[], Any]):
    """build() once per key in this process, for every session: figures, encoded pictures.

    The key names the inputs with small values (digests, seeds, names). What build
    returns is shared, so it must never be changed afterwards (shell.plot copies
    before it restyles). A rerun then costs a dictionary look-up instead of a rebuild.
    """
    cache = _shared_cache()
    hit = cache.get(key)
    if hit is None:
        hit = build()
        if isinstance(hit, go.Figure):
            hit = style.SharedFigure(hit)  # its dict, which st.plotly_chart sends, is made once
        cache.put(key, hit)
    return hit


@st.cache_resource(show_spinner=False)
def page_run_cache() -> _LRU:
    # Network runs a page shows as it opens, one per digit, seed and device (the learning page, the home
    # digit): many small entries, kept apart so that they never push a class's Generate results out.
    return _LRU(max_entries=192)


def cached_run(key: tuple, run: Callable[[], Any], what: str = "the model", cost: float = 1000.0):
    """run() once per key per process (through the fair queue), later calls return the stored result."""
    cache = result_cache()
    hit = cache.get(key)
    if hit is not None:
        return hit
    with compute_slot(what, cost):
        hit = cache.get(key)  # someone may have finished it while we waited
        if hit is None:
            hit = run()
            cache.put(key, hit)
    return hit


def page_run(key: tuple, network: Callable[[], Any], encode: Callable[[Any], Any], spinner: str, cost: float):
    """encode(network()) once per key, for every session: the network part through the fair queue.

    Thirty sessions calling torch at once would each start its threads on the same two cores; through
    the queue each call runs alone at full speed, shortest first. The encoding (pictures, JSON) is
    plain Python and runs outside the queue, beside the next session's network call.
    """
    cache = page_run_cache()
    hit = cache.get(key)
    if hit is None:
        with st.spinner(spinner):
            with compute_slot("the model", cost):
                # A session ahead in the queue may have made it meanwhile, or at least its network part.
                hit, raw = cache.get(key), cache.get(("network",) + key)
                if hit is None and raw is None:
                    raw = network()
                    cache.put(("network",) + key, raw)
            if hit is None:
                hit = encode(raw)
                cache.put(key, hit)
    return hit
