"""The compute slot: heavy work (a network run, training) waits its turn in the process's fair queue.

A waiting user sees their place in the queue and an estimated wait.
"""
from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager

import streamlit as st
import torch

from .fair_queue import Busy, FairQueue


# Sampling jobs that run at once per server process, and torch threads per job: together they
# use every core once. More jobs would only make everyone slower (and use more memory); a
# waiting user sees that they are queued.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
MAX_CONCURRENT_JOBS = max(1, CORES // 2)
torch.set_num_threads(max(1, CORES // MAX_CONCURRENT_JOBS))


@st.cache_resource(show_spinner=False)
def job_queue() -> FairQueue:
    return FairQueue(MAX_CONCURRENT_JOBS)


def session_id() -> str:
    """A random id for this browser session, kept in its session state: the same across its reruns and
    fragments, so the queue can hold one job per session (Streamlit's own session id is not public API)."""
    return st.session_state.setdefault("_queue_owner", uuid.uuid4().hex)


@contextmanager
def compute_slot(what: str = "the model", cost: float = 1000.0):
    """Run heavy work when the fair queue says so (shortest jobs first, one job per session).

    `cost` is the work in units of one network pass over one image. A waiting user sees
    their place in the queue and an estimated wait, updated twice a second.
    """
    queue, owner = job_queue(), session_id()
    deadline = time.monotonic() + 30
    while True:  # a click during a run of this same session: the old run stops at its next update
        try:
            ticket = queue.enqueue(owner, cost)
            break
        except Busy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    note = None
    try:
        while not queue.wait_turn(ticket, timeout=0.5):
            if note is None:
                note = st.empty()
            note.info(f"Other people are using {what} right now. You are number {queue.place(ticket)} in the "
                      f"queue; estimated wait about {max(1, round(queue.estimated_wait(ticket)))} s. Shorter jobs "
                      "go first, and each person runs one job at a time.", icon=":material/hourglass_top:")
    except BaseException:
        queue.cancel(ticket)  # the user left or clicked again: give up the place
        raise
    if note is not None:
        note.empty()
    try:
        yield
    finally:
        queue.done(ticket)
