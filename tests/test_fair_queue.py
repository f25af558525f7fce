"""The fair queue of heavy jobs: slots, one job per session, shortest first with ageing, the wait estimate."""
import threading
import time

import pytest

from explainer.app.fair_queue import Busy, FairQueue


def test_one_job_per_session():
    q = FairQueue(slots=1)
    q.enqueue("alice", 10)
    with pytest.raises(Busy):
        q.enqueue("alice", 5)
    q.enqueue("bob", 5)


def test_shortest_job_first_and_places():
    q = FairQueue(slots=1, seconds_per_unit=1.0)
    running = q.enqueue("r", 100)
    assert q.wait_turn(running, timeout=0.1)
    long = q.enqueue("long", 50)
    short = q.enqueue("short", 2)
    assert q.place(short) == 1 and q.place(long) == 2 and q.place(running) == 0
    # Only one slot, taken: nobody starts.
    assert not q.wait_turn(short, timeout=0.05)
    # The short job waits for what is left of the running one; the long one for that plus the short one.
    assert q.estimated_wait(short) == pytest.approx(100, abs=1)
    assert q.estimated_wait(long) == pytest.approx(102, abs=1)
    q.done(running)
    assert q.wait_turn(short, timeout=0.5)
    assert not q.wait_turn(long, timeout=0.05)


def test_ageing_lets_a_long_job_go_first_eventually():
    q = FairQueue(slots=1, seconds_per_unit=0.001)
    blocker = q.enqueue("b", 1)
    assert q.wait_turn(blocker, timeout=0.1)
    long = q.enqueue("long", 100)  # 0.1 s of estimated work
    time.sleep(0.15)  # it has now waited longer than it will run
    short = q.enqueue("short", 1)
    assert q.place(long) == 1 and q.place(short) == 2


def test_slots_bound_concurrency_and_cancel_frees_the_place():
    q = FairQueue(slots=2, seconds_per_unit=0.001)
    active, peak, lock = [0], [0], threading.Lock()

    def job(name):
        tk = q.enqueue(name, 10)
        q.wait_turn(tk)
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        q.done(tk)

    threads = [threading.Thread(target=job, args=(f"s{i}",)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(5)
    assert peak[0] == 2
    tk = q.enqueue("gone", 1)
    q.cancel(tk)
    assert not q.busy("gone")


def test_speed_is_learned_from_finished_jobs():
    q = FairQueue(slots=1, seconds_per_unit=1.0)
    tk = q.enqueue("a", 1000)
    q.wait_turn(tk)
    q.done(tk)  # finished at once: far faster than 1 s per unit
    assert q.seconds_per_unit < 0.75
