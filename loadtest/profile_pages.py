"""Server time of a rerun that has nothing new to compute, page by page, and where it goes.

    python -m loadtest.profile_pages            # every page, 5 warm reruns each, top costs
    python -m loadtest.profile_pages --pages forward reverse --top 15

Each page is opened with streamlit.testing's AppTest (the real script, with the
real caches), run until warm, then rerun N times unchanged: the median time spent
in the script thread (app.py and the page, as a server runs them) is what each
student's rerun costs the server when nothing changed. The
budget of the classroom design is 20 ms. cProfile then names the top costs.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from pathlib import Path

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = {"home": None, "forward": "app_pages/forward.py", "schedules": "app_pages/schedules.py",
         "learning": "app_pages/learning.py", "score": "app_pages/score.py", "reverse": "app_pages/reverse.py",
         "reading": "app_pages/reading.py"}


def open_warm(page: str | None, query: dict | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    at.run()  # warm: every cache filled
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    return at


_PROFILER: list = []  # the profiler to run inside the script thread, if any
_SCRIPT_SECONDS: list = []  # how long each script run took inside the script thread (the server's share)


def _profile_script_thread():
    """Time (and, when asked, cProfile) the thread that executes the page script.

    at.run()'s wall time also holds AppTest's own work on the results; the time
    inside the script thread is what a server spends on a rerun.
    """
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    original = ScriptRunner._run_script
    if getattr(original, "_profiled", False):
        return
    # A server compiles each page once (its ScriptCache); AppTest makes a new cache per run. Share one,
    # so that compiling the page is not counted as the cost of a rerun.
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test

    shared = ScriptCache()
    app_test.ScriptCache = lambda: shared

    def run(self, rerun_data):
        t0 = time.perf_counter()
        if _PROFILER:
            _PROFILER[0].enable()
        try:
            return original(self, rerun_data)
        finally:
            if _PROFILER:
                _PROFILER[0].disable()
            _SCRIPT_SECONDS.append(time.perf_counter() - t0)

    run._profiled = True
    ScriptRunner._run_script = run


def profile_page(name: str, reruns: int = 5, top: int = 8, generate: bool = False) -> dict:
    path = PAGES[name]
    if path is not None and not (Path(APP).parent / path).exists():
        return {}
    _profile_script_thread()
    at = open_warm(path)
    if generate and name == "reverse":
        at.button[0].click().run()
        at.run()
    times = []
    for _ in range(reruns):
        _SCRIPT_SECONDS.clear()
        at.run()
        times.append(sum(_SCRIPT_SECONDS))
    prof = cProfile.Profile()
    _PROFILER[:] = [prof]
    try:
        at.run()
    finally:
        _PROFILER.clear()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
    rows = []
    for (file, line, func), (_cc, _nc, tt, ct, _callers) in stats.stats.items():
        if any(s in file for s in ("/explainer/", "/app_pages/")) and not func.startswith("<"):
            rows.append((ct, f"{Path(file).parent.name}/{Path(file).name}:{line} {func}"))
    rows.sort(reverse=True)
    return {"page": name, "median_ms": 1000 * statistics.median(times), "min_ms": 1000 * min(times),
            "top": [(round(1000 * ct, 1), where) for ct, where in rows[:top]]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", nargs="*", default=list(PAGES), choices=list(PAGES))
    ap.add_argument("--reruns", type=int, default=5)
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--generate", action="store_true", help="on the reverse page, press Generate first")
    args = ap.parse_args(argv)
    for name in args.pages:
        r = profile_page(name, args.reruns, args.top, args.generate)
        if not r:
            continue
        print(f"{name:10s} warm rerun: median {r['median_ms']:.1f} ms (min {r['min_ms']:.1f} ms)")
        for ms, where in r["top"]:
            print(f"    {ms:8.1f} ms  {where}")


if __name__ == "__main__":
    main()
