"""Drive N simulated users against a running app and report latency, errors and server memory.

    python -m loadtest.run --url http://127.0.0.1:8501 --users 10 --duration 60
    python -m loadtest.run --start-server --users 30 --duration 120 --json out.json

See loadtest/README.md. The library entry point is :func:`run_load`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from streamlit.proto.WidgetStates_pb2 import WidgetState

from .client import SessionError, StreamlitSession
from .scenario import SCENARIOS, MoveSlider, Open, action_names
from .server import RssSampler, pid_listening_on, start_server

CONNECT = "connect"
MEDIA = "media GET"


# ------------------------------------------------------------------ numbers

def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between ranks (as numpy's default)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class ActionStats:
    seconds: list[float] = field(default_factory=list)  # latency of each successful or failed sample
    errors: int = 0
    skipped: int = 0  # not run: the page showed an expected message instead of the control
    queued: int = 0  # runs that waited for their turn in the job queue
    scrubbed: int = 0  # moves of a browser-side scrubber: the drag is not sent, only its release (timed)
    bytes_in: int = 0  # websocket bytes received (media GET: bytes downloaded)

    def summary(self) -> dict:
        ms = [s * 1000 for s in self.seconds]
        return {"count": len(ms), "p50_ms": _r(percentile(ms, 50)), "p95_ms": _r(percentile(ms, 95)),
                "max_ms": _r(max(ms)) if ms else None, "mean_ms": _r(sum(ms) / len(ms)) if ms else None,
                "errors": self.errors, "skipped": self.skipped, "queued": self.queued, "scrubbed": self.scrubbed,
                "kb_per_sample": round(self.bytes_in / len(ms) / 1024, 1) if ms else None}


def _r(x: float) -> float | None:
    return None if x != x else round(x, 1)  # NaN -> None (JSON null)


@dataclass
class LoadReport:
    config: dict
    actions: dict[str, ActionStats]
    error_messages: list[str]
    rss_mb: dict
    wall_s: float
    visits: int
    client_cpu_s: float = 0.0

    @property
    def errors(self) -> int:
        return sum(a.errors for a in self.actions.values())

    def to_dict(self) -> dict:
        return {"config": self.config, "wall_s": round(self.wall_s, 1), "visits": self.visits,
                "client_cpu_s": round(self.client_cpu_s, 1),
                "errors": self.errors, "actions": {k: v.summary() for k, v in self.actions.items()},
                "server_rss_mb": self.rss_mb, "error_messages": self.error_messages}

    def table(self) -> str:
        c = self.config
        lines = [f"{c['users']} users, {c['duration_s']:.0f} s"
                 + (f", at most {c['iterations']} visit(s) each" if c.get("iterations") else "")
                 + f" (scenario {c['scenario']}, think {c['think_s'][0]}-{c['think_s'][1]} s, "
                 f"seeds {c['seed_mode']}): {self.visits} visits in {self.wall_s:.0f} s against {c['url']}",
                 ""]
        head = f"{'action':<24} {'count':>6} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'errors':>7} {'skipped':>8}" \
               f" {'queued':>7} {'KB/req':>8}"
        lines += [head, "-" * len(head)]
        for name, a in self.actions.items():
            s = a.summary()
            f = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
            lines.append(f"{name:<24} {s['count']:>6} {f(s['p50_ms']):>9} {f(s['p95_ms']):>9} {f(s['max_ms']):>9} "
                         f"{s['errors']:>7} {s['skipped']:>8} {s['queued']:>7} {f(s['kb_per_sample']):>8}")
        scrubbed = [n for n, a in self.actions.items() if a.scrubbed]
        if scrubbed:
            lines.append("")
            lines.append("Scrubbers (" + ", ".join(scrubbed) + "): this client cannot drag them; a drag swaps "
                         "precomputed frames in the browser and sends nothing. Timed: the one rerun a release sends.")
        lines.append("")
        r = self.rss_mb
        if r.get("peak") is not None:
            lines.append(f"server RSS (pid {r.get('pid')} and children): start {r['start']:.0f} MB, "
                         f"peak {r['peak']:.0f} MB, end {r['end']:.0f} MB ({r['samples']} samples)")
        else:
            lines.append(f"server RSS: not measured ({r.get('why', 'no server pid')})")
        lines.append(f"load-test client CPU: {self.client_cpu_s:.1f} s in {self.wall_s:.0f} s "
                     f"(this machine's cores are shared with the server)")
        lines.append(f"total errors: {self.errors}")
        for m in self.error_messages[:20]:
            lines.append(f"  {m}")
        if len(self.error_messages) > 20:
            lines.append(f"  ... and {len(self.error_messages) - 20} more")
        return "\n".join(lines)


# ------------------------------------------------------------------ media (what the browser fetches)

async def http_get(url: str, timeout: float, cookie: str = "") -> tuple[int, int]:
    """A minimal async HTTP/1.1 GET: (status, bytes received). No redirects, no TLS; the browser's cookies."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only http:// media URLs are supported: {url}")
    path = parts.path + (f"?{parts.query}" if parts.query else "")

    async def go():
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        try:
            cookies = f"Cookie: {cookie}\r\n" if cookie else ""
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{cookies}Connection: close\r\n\r\n".encode())
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
        status = int(data.split(b"\r\n", 1)[0].split()[1])
        return status, len(data)

    return await asyncio.wait_for(go(), timeout)


# ------------------------------------------------------------------ one user

class _Shared:
    def __init__(self, scenario, deadline: float | None):
        names = [CONNECT] + action_names(scenario) + [MEDIA]
        self.actions = {n: ActionStats() for n in names}
        self.messages: list[str] = []
        self.deadline = deadline
        self.visits = 0
        self.t0 = time.monotonic()

    def over(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def error(self, user: int, action: str, msg: str) -> None:
        self.actions[action].errors += 1
        if len(self.messages) < 200:
            self.messages.append(f"[user {user} {time.monotonic() - self.t0:6.1f}s] {action}: {msg}")


async def _fetch_media(sh: _Shared, user: int, base: str, urls: list[str], timeout: float, cookie: str = "") -> None:
    async def one(u: str):
        t0 = time.perf_counter()
        try:
            status, n = await http_get(urljoin(base + "/", u.lstrip("/")), timeout, cookie)
        except Exception as e:  # noqa: BLE001 - any failure is an error of this sample
            status, n = None, 0
            err = f"{u}: {type(e).__name__}: {e}"
        else:
            err = None if status == 200 else f"{u}: HTTP {status}"
        a = sh.actions[MEDIA]
        a.seconds.append(time.perf_counter() - t0)
        a.bytes_in += n
        if err:
            sh.error(user, MEDIA, err)

    await asyncio.gather(*(one(u) for u in dict.fromkeys(urls)))


async def _user(uid: int, cfg: dict, scenario, sh: _Shared, rng: random.Random) -> None:
    visit = 0
    while not sh.over() and (cfg["iterations"] is None or visit < cfg["iterations"]):
        seed = 0 if cfg["seed_mode"] == "shared" else 1 + uid + cfg["users"] * visit
        visit += 1
        sh.visits += 1
        sess = StreamlitSession(cfg["url"], timeout=cfg["timeout_s"], msg_cache=cfg["msg_cache"])
        t0 = time.perf_counter()
        try:
            await sess.connect()
        except SessionError as e:
            sh.actions[CONNECT].seconds.append(time.perf_counter() - t0)
            sh.error(uid, CONNECT, str(e))
            await asyncio.sleep(rng.uniform(*cfg["think_s"]))
            continue
        sh.actions[CONNECT].seconds.append(time.perf_counter() - t0)
        try:
            await _visit(uid, cfg, scenario, sh, rng, sess, seed)
        finally:
            await sess.close()


def report_sidebar_seed(sess: StreamlitSession, seed: int) -> None:
    """Send the sidebar's seed with every later request, as a browser does.

    A browser reports every widget's value with each request, the sidebar's seed (set from ?seed=N)
    too, and that is how the seed survives a page change. This client sends only the values it set,
    so it sets the seed as the browser would report it.
    """
    w = sess.find("Random seed", ("number_input",))
    if w is not None:
        sess.values[w.id] = WidgetState(id=w.id, int_value=seed)


async def _visit(uid, cfg, scenario, sh: _Shared, rng, sess: StreamlitSession, seed: int) -> None:
    first = True
    for step in scenario:
        for _ in range(step.times):
            if sh.over():
                return
            if not first:
                await asyncio.sleep(rng.uniform(*cfg["think_s"]))
            action = step.action
            stats = sh.actions[action]
            if isinstance(step, Open):
                qs = "&".join(q for q in (step.query, "" if not first or cfg["seed_mode"] == "shared"
                                          else f"seed={seed}") if q)
                res = await sess.open_page(step.page, query_string=qs, first=first)
                if first and cfg["seed_mode"] != "shared":
                    report_sidebar_seed(sess, seed)
            else:
                kinds = ("slider", "scrubber") if isinstance(step, MoveSlider) else ("button",)
                w = sess.find(step.label, kinds)
                if w is None:
                    if sess.page_expected:  # e.g. "The weights file ... is missing": the page has no controls
                        stats.skipped += 1
                    else:
                        sh.error(uid, action, f"no {kinds[0]} labelled {step.label!r} on the page "
                                              f"(widgets: {sorted({x.label for x in sess.widgets.values()})})")
                    continue
                if w.kind == "scrubber":
                    # Dragging it costs the server nothing (the browser swaps frames); only the release
                    # is sent, and that is what is timed here.
                    stats.scrubbed += 1
                    res = await sess.release_scrubber(w, rng)
                else:
                    res = await (sess.move_slider(w, rng) if isinstance(step, MoveSlider) else sess.click(w))
            first = False
            stats.seconds.append(res.seconds)
            stats.bytes_in += res.bytes_in
            stats.queued += res.queued
            if res.errors:
                sh.error(uid, action, "; ".join(res.errors))
            if res.fatal:
                return  # the user reloads: a new visit
            if cfg["fetch_media"] and res.media_urls:
                await _fetch_media(sh, uid, cfg["url"], res.media_urls, cfg["timeout_s"], sess.cookie_header)


# ------------------------------------------------------------------ the driver

async def _run_users(cfg: dict, scenario) -> _Shared:
    deadline = time.monotonic() + cfg["duration_s"] if cfg["duration_s"] else None
    sh = _Shared(scenario, deadline)
    tasks = []
    n = cfg["users"]
    for uid in range(n):
        rng = random.Random(cfg["seed"] * 100_003 + uid)

        async def start(uid=uid, rng=rng):
            await asyncio.sleep(cfg["ramp_s"] * uid / max(n, 1))  # staggered arrivals
            await _user(uid, cfg, scenario, sh, rng)

        tasks.append(asyncio.create_task(start()))
    progress = asyncio.create_task(_progress(sh, cfg)) if cfg.get("progress") else None
    try:
        await asyncio.gather(*tasks)
    finally:
        if progress:
            progress.cancel()
    return sh


async def _progress(sh: _Shared, cfg: dict) -> None:
    sampler = cfg.get("_sampler")
    while True:
        await asyncio.sleep(10)
        done = sum(len(a.seconds) for a in sh.actions.values())
        errs = sum(a.errors for a in sh.actions.values())
        rss = f", server RSS {sampler.samples[-1][1] / 2**20:.0f} MB" if sampler and sampler.samples else ""
        print(f"  {time.monotonic() - sh.t0:5.0f} s: {done} actions, {errs} errors, {sh.visits} visits{rss}",
              file=sys.stderr, flush=True)


def run_async(coro):
    """asyncio.run(coro), in a worker thread when this thread already runs an event loop (as it does
    beside Playwright's sync API in the same pytest session)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def run_load(url: str, users: int = 10, duration: float | None = 60.0, *, scenario="default",
             iterations: int | None = None, think: tuple[float, float] = (0.5, 2.0), ramp: float = 5.0,
             timeout: float = 180.0, fetch_media: bool = True, msg_cache: bool = True, seed_mode: str = "user",
             server_pid: int | None = None, seed: int = 0, progress: bool = False) -> LoadReport:
    """Run ``users`` simulated users against ``url``; each repeats the scenario (a *visit*, one new session
    each) until ``duration`` s have passed (no new action starts after that) or ``iterations`` visits are done.

    ``seed_mode="user"`` gives each visit its own sidebar seed (``?seed=N`` in its first URL), so every
    Generate computes afresh (the worst case); ``"shared"`` uses seed 0 for all, so the app's result cache
    serves all but the first. ``server_pid``: the process whose RSS (with its children) is sampled; by
    default the one listening on the URL's port (on this machine), if it can be found.
    """
    steps = SCENARIOS[scenario] if isinstance(scenario, str) else tuple(scenario)
    cfg = {"url": url.rstrip("/"), "users": users, "duration_s": duration, "iterations": iterations,
           "scenario": scenario if isinstance(scenario, str) else "custom", "think_s": list(think),
           "ramp_s": ramp, "timeout_s": timeout, "fetch_media": fetch_media, "msg_cache": msg_cache,
           "seed_mode": seed_mode, "seed": seed}
    pid = server_pid or pid_listening_on(url)
    sampler = RssSampler(pid).start() if pid else None
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        sh = run_async(_run_users({**cfg, "progress": progress, "_sampler": sampler}, steps))
    finally:
        if sampler:
            sampler.stop()
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    rss = sampler.summary_mb() if sampler else {"why": f"no process found listening on {url}; pass --server-pid"}
    return LoadReport(config=cfg, actions=sh.actions, error_messages=sh.messages, rss_mb=rss, wall_s=wall,
                      visits=sh.visits, client_cpu_s=cpu)


# ------------------------------------------------------------------ CLI

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.run", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8501", help="the running app (ignored with --start-server)")
    p.add_argument("--start-server", action="store_true",
                   help="start `streamlit run app.py` on a free port for the run, stop it at the end")
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--duration", type=float, default=60.0, help="seconds; no new action starts after that")
    p.add_argument("--iterations", type=int, default=None, help="at most this many visits per user")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="default")
    p.add_argument("--think", type=float, nargs=2, default=(0.5, 2.0), metavar=("MIN", "MAX"),
                   help="think time between actions, uniform in [MIN, MAX] s")
    p.add_argument("--ramp", type=float, default=5.0, help="users start evenly over this many seconds")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds one action may take before it is an error")
    p.add_argument("--seed-mode", choices=["user", "shared"], default="user",
                   help="user: every visit has its own sidebar seed, so each Generate computes; "
                        "shared: seed 0 for all, Generate results come from the app's cache")
    p.add_argument("--no-media", action="store_true", help="do not fetch the /media/ images the pages show")
    p.add_argument("--no-msg-cache", action="store_true",
                   help="do not advertise cached messages (the server then resends every element in full)")
    p.add_argument("--server-pid", type=int, default=None,
                   help="pid whose RSS (with children) to sample; default: the process listening on --url's port")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated users' random choices")
    p.add_argument("--json", type=Path, default=None, help="also write the numbers to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    a = p.parse_args(argv)

    def go(url: str, pid: int | None) -> LoadReport:
        return run_load(url, a.users, a.duration, scenario=a.scenario, iterations=a.iterations, think=tuple(a.think),
                        ramp=a.ramp, timeout=a.timeout, fetch_media=not a.no_media, msg_cache=not a.no_msg_cache,
                        seed_mode=a.seed_mode, server_pid=pid, seed=a.seed, progress=not a.quiet)

    if a.start_server:
        with start_server() as srv:
            print(f"started {srv.url} (pid {srv.pid}, log {srv.log_path})", file=sys.stderr, flush=True)
            report = go(srv.url, srv.pid)
    else:
        report = go(a.url, a.server_pid)
    print(report.table())
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    ran = sum(len(x.seconds) for k, x in report.actions.items() if k != CONNECT)
    if report.errors:
        return 1
    return 0 if ran else 2


if __name__ == "__main__":
    sys.exit(main())
