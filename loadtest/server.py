"""Start ``streamlit run app.py`` for a load test, and sample its memory from /proc (no psutil)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOG = REPO_ROOT / "test-artifacts" / "loadtest-server.log"


# ------------------------------------------------------------------ the server

@dataclass
class Server:
    url: str
    pid: int
    log_path: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (it was started in its own session), SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def log_tail(path: Path, n: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class PortTaken(Exception):
    """Another process took the port between free_port() and the server's bind: try another."""


def streamlit_command(script: str, port: int, extra_args: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
            "--server.headless", "true", "--server.address", "127.0.0.1",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *extra_args]


def wait_healthy(proc: subprocess.Popen, url: str, log_path: Path, timeout: float) -> None:
    """Poll ``url/_stcore/health`` until it answers ``ok`` (no fixed sleep).

    Raises PortTaken if the server lost its port, RuntimeError (with the log's tail) if it
    exits or does not answer within ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_tail(log_path)
            if re.search(r"Port \d+ is (already )?in use", tail):
                raise PortTaken()
            raise RuntimeError(f"streamlit exited with code {proc.returncode} before answering "
                               f"{url}/_stcore/health. Log ({log_path}):\n{tail}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {timeout:.0f} s. "
                       f"Log ({log_path}):\n{log_tail(log_path)}")


@contextmanager
def start_server(script: str = "app.py", log_path: Path = DEFAULT_LOG, timeout: float = 90.0,
                 extra_args: tuple[str, ...] = ()) -> Iterator[Server]:
    """``streamlit run script`` (cwd = repo root, headless, no file watcher) on a free port.

    Used by the load test and by the browser tests' fixtures; the app's .streamlit/config.toml
    applies (XSRF protection on). Ready once ``/_stcore/health`` answers; stopped (its whole
    process group) on exit.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        port = free_port()
        cmd = streamlit_command(script, port, extra_args)
        with open(log_path, "a" if attempt else "w", buffering=1) as log:
            log.write(f"$ {' '.join(cmd)}\n")
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})
            url = f"http://127.0.0.1:{port}"
            try:
                wait_healthy(proc, url, log_path, timeout)
            except PortTaken:
                stop_process(proc)
                continue
            except BaseException:
                stop_process(proc)
                raise
            try:
                yield Server(url, proc.pid, log_path)
            finally:
                stop_process(proc)
            return
    raise RuntimeError("streamlit could not get a free port in 3 tries")


# ------------------------------------------------------------------ memory from /proc

def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (now)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            ppid = _ppid(int(name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def rss_bytes(pid: int) -> int | None:
    """VmRSS of one process, in bytes; None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return 0  # a zombie or kernel thread has no VmRSS line


def tree_rss_bytes(pid: int) -> int | None:
    """The summed RSS of ``pid`` and its descendants (None if ``pid`` is gone).

    Shared pages (e.g. of a forked child) count once per process, as in ``ps``.
    """
    if rss_bytes(pid) is None:
        return None
    return sum(r for r in (rss_bytes(p) for p in process_tree(pid)) if r)


def pid_listening_on(url: str) -> int | None:
    """The pid of the process (of this user) listening on the URL's local TCP port, from /proc/net/tcp*."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "0.0.0.0", "::1"):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                        inodes.add(cols[9])
        except OSError:
            continue
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{name}/fd"):
                if os.readlink(f"/proc/{name}/fd/{fd}") in targets:
                    return int(name)
        except OSError:
            continue
    return None


class RssSampler:
    """Samples the RSS of a process tree every ``interval`` s in a thread."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []  # (seconds since start, bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._t0 = time.monotonic()

    def sample(self) -> int | None:
        v = tree_rss_bytes(self.pid)
        if v is not None:
            self.samples.append((time.monotonic() - self._t0, v))
        return v

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def start(self) -> "RssSampler":
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def summary_mb(self) -> dict:
        if not self.samples:
            return {"start": None, "peak": None, "end": None, "samples": 0}
        mb = [v / 2**20 for _, v in self.samples]
        return {"start": round(mb[0], 1), "peak": round(max(mb), 1), "end": round(mb[-1], 1),
                "samples": len(mb), "pid": self.pid}
