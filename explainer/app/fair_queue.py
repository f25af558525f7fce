"""A fair queue for heavy jobs (sampling, training) shared by every session of one server process.

Thirty students press Generate at once on a 2-core machine. A plain semaphore
serves them in arrival order, so one 1000-step job makes everyone behind it
wait. This queue instead

- runs at most `slots` jobs at once (together they use every core once),
- lets each session hold at most one job, queued or running (`Busy` otherwise),
- starts the job with the least estimated work first, minus the time it has
  already waited (so a long job is not starved: after waiting as long as it
  will run, it goes first),
- learns how many seconds one unit of work takes from the jobs it finished,
  so a waiting user can be told their place and an estimated wait.

No Streamlit here: the page shows `Ticket.place` / `estimated_wait` while it waits.
"""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field


class Busy(RuntimeError):
    """This session already has a job queued or running."""


@dataclass
class Ticket:
    owner: str
    cost: float  # units of work (e.g. network passes over one image)
    seq: int
    enqueued: float = field(default_factory=time.monotonic)
    started: float | None = None


class FairQueue:
    def __init__(self, slots: int, seconds_per_unit: float = 0.003):
        self.slots = max(1, int(slots))
        self.seconds_per_unit = float(seconds_per_unit)  # updated from finished jobs
        self._cv = threading.Condition()
        self._waiting: list[Ticket] = []
        self._running: list[Ticket] = []
        self._seq = itertools.count()

    # -------------------------------------------------------------- bookkeeping
    def _priority(self, tk: Ticket, now: float) -> float:
        """Estimated seconds of work, less the seconds already waited: shortest first, with ageing."""
        return tk.cost * self.seconds_per_unit - (now - tk.enqueued)

    def _order(self) -> list[Ticket]:
        now = time.monotonic()
        return sorted(self._waiting, key=lambda tk: (self._priority(tk, now), tk.seq))

    def place(self, tk: Ticket) -> int:
        """1 = next to start; 0 = running."""
        with self._cv:
            if tk in self._running:
                return 0
            return self._order().index(tk) + 1 if tk in self._waiting else 0

    def estimated_wait(self, tk: Ticket) -> float:
        """Seconds until tk starts, if the jobs ahead of it take their estimated time."""
        with self._cv:
            if tk not in self._waiting:
                return 0.0
            now = time.monotonic()
            left = sorted(max(0.0, r.cost * self.seconds_per_unit - (now - (r.started or now))) for r in self._running)
            free = [0.0] * (self.slots - len(left)) + left  # when each slot frees up
            for ahead in self._order():
                if ahead is tk:
                    return min(free)
                i = free.index(min(free))
                free[i] += ahead.cost * self.seconds_per_unit
            return min(free)

    def busy(self, owner: str) -> bool:
        with self._cv:
            return any(t.owner == owner for t in self._waiting + self._running)

    # -------------------------------------------------------------- the protocol
    def enqueue(self, owner: str, cost: float) -> Ticket:
        with self._cv:
            if any(t.owner == owner for t in self._waiting + self._running):
                raise Busy("this session already has a job queued or running")
            tk = Ticket(owner, float(cost), next(self._seq))
            self._waiting.append(tk)
            self._cv.notify_all()
            return tk

    def wait_turn(self, tk: Ticket, timeout: float | None = None) -> bool:
        """Block until tk may start (then it counts as running) or timeout; True when started."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while True:
                if len(self._running) < self.slots and self._order()[0] is tk:
                    self._waiting.remove(tk)
                    tk.started = time.monotonic()
                    self._running.append(tk)
                    self._cv.notify_all()
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                # Priorities change as time passes (ageing), so look again now and then.
                self._cv.wait(0.25 if left is None else min(left, 0.25))

    def cancel(self, tk: Ticket):
        with self._cv:
            if tk in self._waiting:
                self._waiting.remove(tk)
            self._cv.notify_all()

    def done(self, tk: Ticket):
        """Free the slot and learn the speed: seconds per unit of work, smoothed."""
        with self._cv:
            if tk in self._running:
                self._running.remove(tk)
                if tk.started is not None and tk.cost > 0:
                    measured = (time.monotonic() - tk.started) / tk.cost
                    self.seconds_per_unit = 0.7 * self.seconds_per_unit + 0.3 * measured
            self._cv.notify_all()
