"""Two replicas of the app behind a real nginx that uses deploy/nginx.conf: sticky sessions, fail-over.

The nginx configuration is deploy/nginx.conf itself, with only the replica addresses, the listen
address and the log directory substituted (see ``_site_conf``), wrapped in a minimal main
``nginx.conf`` with temp paths in ``tmp_path``. Stickiness there is by a routing cookie
(``stroute``), not by client address: every client of this test is 127.0.0.1.

The test drives four browser sessions through nginx, two pinned to each replica (the first one
gets its cookie from nginx like any new visitor; the others get cookies that nginx issued to
earlier plain-HTTP visitors, chosen so that the sessions are spread two and two). Each session
uses the forward page (a slider and an upload: the upload is a separate HTTP request that only
works on the replica holding the session's WebSocket) and, when the bundled MNIST model exists,
generates digits on the reverse page. Then one replica is killed (SIGKILL): its sessions reload
and work on the other replica; the other sessions keep their state through an interaction.
nginx's access log (``key=<cookie> upstream=<replica>`` per request) proves where everything went.

Skipped when /usr/sbin/nginx is missing (``apt-get install -y nginx-light``).
"""
from __future__ import annotations

import os
import pwd
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from loadtest.server import PortTaken, free_port, stop_process, streamlit_command, wait_healthy

from .conftest import console_problems, full_page_screenshot, new_page
from .helpers import ARTIFACTS, REPO_ROOT, assert_no_exception, click_button, find_widget, open_page, open_ready, set_slider, \
    upload_file, wait_idle

NGINX = "/usr/sbin/nginx"
DEPLOY_CONF = REPO_ROOT / "deploy" / "nginx.conf"
MNIST = REPO_ROOT / "assets" / "models" / "mnist.safetensors"
COOKIE = "stroute"
# The forward page's "many small steps = one big jump" slider: a plain st.slider (the main view's t is a
# browser-side scrubber), whose move reruns the page on the session's replica.
T_SLIDER = "Timestep t"


def _open_forward(page, base: str) -> None:
    """Open the forward page and wait until its last section (with T_SLIDER) is drawn."""
    open_ready(page, base, "forward", "1. The forward process", timeout=60)
    expect(page.get_by_test_id("stSlider").filter(has_text=T_SLIDER)).to_have_count(1, timeout=60_000)
    wait_idle(page, timeout=60)


def _moved_to(page, t: int) -> None:
    """The page shows the Markov-chain table for t (t + 1 steps) after the slider moved there."""
    expect(page.get_by_text(f"{t + 1} Markov steps", exact=True).first).to_be_visible()
UPLOAD_NAME = "classroom-upload.png"

pytestmark = [pytest.mark.slow,  # two app servers, nginx and four browser sessions: minutes
              pytest.mark.skipif(not os.access(NGINX, os.X_OK),
                                 reason=f"{NGINX} is missing: apt-get install -y nginx-light")]


# ------------------------------------------------------------------ the replicas

class Replica:
    """``streamlit run app.py`` on a free port, killable with SIGKILL (a crash, not a shutdown)."""

    def __init__(self, name: str):
        self.name = name
        self.log_path = ARTIFACTS / f"streamlit-replica-{name}.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        cmd = streamlit_command("app.py", self.port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def wait_ready(self, timeout: float = 90.0) -> None:
        for _attempt in range(3):
            try:
                wait_healthy(self.proc, self.url, self.log_path, timeout)
                return
            except PortTaken:
                self.start()
        pytest.fail(f"replica {self.name} could not get a free port in 3 tries")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


# ------------------------------------------------------------------ nginx

def _site_conf(upstreams: list[str], port: int, log_dir: Path) -> str:
    """deploy/nginx.conf for this test: local replicas, a local port, logs in ``log_dir``."""
    conf = DEPLOY_CONF.read_text()
    m = re.search(r"^[ \t]*# upstream-servers:begin\n(.*?)^[ \t]*# upstream-servers:end\n", conf, re.M | re.S)
    assert m, f"{DEPLOY_CONF}: no '# upstream-servers:begin/end' markers"
    lines = re.findall(r"^([ \t]*server[ \t]+)(\S+)(.*;)$", m.group(1), re.M)
    assert len(lines) >= len(upstreams), f"{DEPLOY_CONF}: fewer upstream servers than replicas"
    # Keep each line's parameters (max_fails, fail_timeout, ...), swap in the local address.
    servers = "".join(f"{indent}{addr}{params}\n" for (indent, _host, params), addr in zip(lines, upstreams))
    conf = conf[:m.start(1)] + servers + conf[m.end(1):]
    conf, n = re.subn(r"listen\s+80;", f"listen 127.0.0.1:{port};", conf)
    assert n == 1, f"{DEPLOY_CONF}: expected one 'listen 80;'"
    return conf.replace("/var/log/nginx/", f"{log_dir}/")


def _nginx_main_conf(tmp: Path, site: Path) -> str:
    """A minimal main configuration that includes the site file, with every path inside ``tmp``."""
    info = subprocess.run([NGINX, "-V"], capture_output=True, text=True).stderr
    temps = "".join(f"    {kind}_temp_path {tmp}/{kind}_temp;\n"
                    for kind, flag in (("client_body", "client-body"), ("proxy", "proxy"), ("fastcgi", "fastcgi"),
                                       ("uwsgi", "uwsgi"), ("scgi", "scgi"))
                    if f"--http-{flag}-temp-path" in info)
    # As root, workers would otherwise run as `nobody` and could not write to the private tmp dir.
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" if os.geteuid() == 0 else ""
    return (f"{user}worker_processes 1;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            f"{temps}"
            f"    include {site};\n"
            "}\n")


class Nginx:
    def __init__(self, tmp: Path, upstreams: list[str]):
        self.tmp = tmp
        self.upstreams = upstreams
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.tmp / "access.log"

    def start(self) -> None:
        for _attempt in range(3):
            self.port = free_port()
            site = self.tmp / "streamlit.conf"
            site.write_text(_site_conf(self.upstreams, self.port, self.tmp))
            main = self.tmp / "nginx.conf"
            main.write_text(_nginx_main_conf(self.tmp, site))
            args = [NGINX, "-p", f"{self.tmp}/", "-c", str(main), "-e", str(self.tmp / "error.log"),
                    "-g", f"daemon off; pid {self.tmp}/nginx.pid;"]
            check = subprocess.run(args + ["-t"], capture_output=True, text=True)
            assert check.returncode == 0, f"nginx -t rejected the configuration:\n{check.stderr}"
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=open(self.tmp / "nginx.stderr", "w"), start_new_session=True)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=5) as r:
                        if r.read().strip() == b"ok":
                            return
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.1)
            err = (self.tmp / "error.log").read_text(errors="replace") if (self.tmp / "error.log").exists() else ""
            self.stop()
            if "Address already in use" not in err:
                pytest.fail(f"nginx did not come up on {self.url}:\n{err[-3000:]}")
        pytest.fail("nginx could not get a free port in 3 tries")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_lines(self) -> list[str]:
        return self.access_log.read_text(errors="replace").splitlines() if self.access_log.exists() else []


_LOG_RE = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d+) .* key=(?P<key>\S+) upstream=(?P<upstream>.+) rt=')


def _entries(lines: list[str], key: str) -> list[tuple[str, str, list[str]]]:
    """(request, status, upstream addresses tried) of every access-log line with routing key ``key``."""
    out = []
    for line in lines:
        m = _LOG_RE.search(line)
        if m and m["key"] == key:
            out.append((m["request"], m["status"], [a.strip() for a in m["upstream"].split(",")]))
    return out


def _get(url: str, cookie: str | None = None) -> tuple[int, str | None]:
    """GET ``url`` (optionally with the routing cookie); the status and the routing Set-Cookie, if any."""
    req = urllib.request.Request(url, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()
        ours = [c for c in r.headers.get_all("Set-Cookie") or [] if c.startswith(f"{COOKIE}=")]
        return r.status, ours[0] if ours else None


def _route_of(nginx: Nginx, key: str, timeout: float = 5.0) -> str:
    """The replica that served the requests with routing key ``key`` (the access log has one)."""
    deadline = time.monotonic() + timeout
    while True:
        ups = {e[2][-1] for e in _entries(nginx.log_lines(), key)}
        if len(ups) == 1:
            return ups.pop()
        assert len(ups) < 2, f"requests with {COOKIE}={key} went to several replicas: {ups}"
        assert time.monotonic() < deadline, f"no access-log line with key={key}"
        time.sleep(0.05)


def _issue_keys(nginx: Nginx, replicas: list[str], per_replica: int, max_tries: int = 60) -> dict[str, list[str]]:
    """Cookies nginx hands to new visitors, grouped by the replica each one is pinned to."""
    keys: dict[str, list[str]] = {r: [] for r in replicas}
    for _ in range(max_tries):
        status, set_cookie = _get(f"{nginx.url}/_stcore/health")
        assert status == 200
        m = re.match(rf"{COOKIE}=([0-9a-f]+);", set_cookie or "")
        assert m, f"a request without the cookie got no '{COOKIE}' cookie: Set-Cookie={set_cookie!r}"
        assert "HttpOnly" in set_cookie and "Path=/" in set_cookie
        key = m.group(1)
        keys[_route_of(nginx, key)].append(key)
        if all(len(v) >= per_replica for v in keys.values()):
            return keys
    pytest.fail(f"{max_tries} new visitors were not spread over both replicas: {keys}")


# ------------------------------------------------------------------ the test

def _png(path: Path) -> Path:
    from PIL import Image

    img = Image.new("RGB", (96, 64))
    img.putdata([(3 * x % 256, 4 * y % 256, (x * y) % 256) for y in range(64) for x in range(96)])
    img.save(path)
    return path


def _new_page(browser, name: str, sessions: dict):
    page = new_page(browser)
    sessions[name] = page
    return page


def _served_by(lines: list[str], key: str) -> str:
    """The replica that nginx routed this session's upload to (its upstream in the access log).

    An upload is a plain HTTP request that only the replica holding the session's WebSocket can
    accept, so where nginx sent it is where the session lives.
    """
    ups = {e[2][-1] for e in _entries(lines, key)
           if e[0].startswith("PUT /_stcore/upload_file/") and e[1].startswith("2")}
    assert len(ups) == 1, f"{COOKIE}={key}: successful uploads went to {ups or 'no replica'}"
    return ups.pop()


def _cookie(page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == COOKIE), None)


def _screenshot(page, name: str) -> None:
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        full_page_screenshot(page, shots / f"test_nginx_replicas-{name}.png")
    except Exception as e:  # noqa: BLE001 - a screenshot must not decide the outcome
        print(f"screenshot {name} failed: {e}")


def _use_forward_page(page, base: str, t: int, png: Path) -> None:
    """Forward page: move a timestep slider, upload a picture; all through nginx."""
    _open_forward(page, base)
    assert_no_exception(page)
    set_slider(page, T_SLIDER, t, timeout=60)
    _moved_to(page, t)
    upload_file(page, 0, png, timeout=60)
    assert_no_exception(page)
    expect(page.get_by_role("button", name=f"Remove {UPLOAD_NAME}")).to_be_visible()
    assert not page.locator('[data-testid="stAlertContentError"]').count(), "the upload was refused"


def _generate(page, base: str) -> None:
    """Reverse page with one digit and 5 steps: Generate, wait for the result."""
    open_page(page, base, "reverse?rv_n=1&rv_steps=5", timeout=60)
    assert_no_exception(page)
    click_button(page, "Generate", timeout=90)
    assert_no_exception(page)
    expect(page.get_by_test_id("stMetricLabel").filter(has_text="Total time")).to_be_visible()


def test_sticky_sessions_and_failover(browser, tmp_path):
    t0 = time.monotonic()
    use_model = MNIST.exists()
    png = _png(tmp_path / UPLOAD_NAME)
    replicas = [Replica("a"), Replica("b")]
    nginx: Nginx | None = None
    sessions: dict = {}
    try:
        for r in replicas:  # both import torch at once
            r.start()
        for r in replicas:
            r.wait_ready()
        (tmp_path / "nginx").mkdir()
        nginx = Nginx(tmp_path / "nginx", [r.addr for r in replicas])
        nginx.start()
        by_addr = {r.addr: r for r in replicas}

        # Plain HTTP: new visitors get a cookie and are spread; a cookie pins all later requests.
        keys = _issue_keys(nginx, list(by_addr), per_replica=2)
        for addr, ks in keys.items():
            for _ in range(3):
                status, set_cookie = _get(f"{nginx.url}/_stcore/health", cookie=ks[0])
                assert status == 200 and set_cookie is None, "a request with the cookie got a new one"
            assert _route_of(nginx, ks[0]) == addr

        # Browser session 1 is a new visitor; sessions 2-4 reuse issued cookies so that each
        # replica holds two sessions.
        first = _new_page(browser, "s1", sessions)
        open_page(first, nginx.url, "forward", timeout=60)
        k1 = _cookie(first)
        assert k1, f"the browser got no '{COOKIE}' cookie from nginx"
        home = {"s1": _route_of(nginx, k1)}
        other = next(a for a in by_addr if a != home["s1"])
        for name, addr in (("s2", other), ("s3", home["s1"]), ("s4", other)):
            key = next(k for k in keys[addr] if k not in {_cookie(p) for p in sessions.values()})
            page = _new_page(browser, name, sessions)
            page.context.add_cookies([{"name": COOKIE, "value": key, "url": nginx.url}])
            home[name] = addr

        for i, (name, page) in enumerate(sessions.items()):
            _use_forward_page(page, nginx.url, 100 + 10 * i, png)
            if use_model:
                _generate(page, nginx.url)

        # Every request of a session so far (pages, static files, health, uploads) hit one replica.
        lines = nginx.log_lines()
        for name, page in sessions.items():
            entries = _entries(lines, _cookie(page))
            astray = [e for e in entries if e[2] != [home[name]]]
            assert not astray, (f"{name} was not sticky to {home[name]}: {astray}\nnginx error log:\n"
                                f"{(nginx.tmp / 'error.log').read_text(errors='replace')[-2000:]}")
            assert any(e[0].startswith("PUT /_stcore/upload_file/") and e[1].startswith("2") for e in entries), \
                f"{name}: no successful upload in nginx's log"
        # Sessions per replica, counted from nginx's routing (not from this test's plan).
        served_by = {name: _served_by(lines, _cookie(page)) for name, page in sessions.items()}
        counts = {a: sum(1 for s in served_by.values() if s == a) for a in by_addr}
        assert counts == {a: 2 for a in by_addr}, f"sessions per replica, from nginx's access log: {counts}"
        assert served_by == home, f"nginx routed sessions {served_by}, their cookies pin them to {home}"
        for name, page in sessions.items():
            assert not console_problems(page.console_log), (name, page.console_log)
        print(f"\nbefore the kill ({time.monotonic() - t0:.0f} s): sessions per replica {counts}, "
              f"model steps {'on' if use_model else 'skipped (no ' + MNIST.name + ')'}")

        # A replica dies. Its sessions are gone with it; a reload lands on the other replica.
        victim = by_addr[home["s1"]]
        survivor = next(r for r in replicas if r is not victim)
        victim.kill()
        killed_at = len(nginx.log_lines())
        for name, page in sessions.items():
            if home[name] == victim.addr:
                _open_forward(page, nginx.url)  # reload: a fresh session
                assert_no_exception(page)
                set_slider(page, T_SLIDER, 300, timeout=60)
                _moved_to(page, 300)
                # The upload was state of the dead replica's session: not there any more.
                expect(page.get_by_role("button", name=f"Remove {UPLOAD_NAME}")).to_have_count(0)
                _screenshot(page, f"{name}-moved")
            else:
                # The survivor's sessions keep their state through an interaction.
                if use_model:
                    expect(page.get_by_test_id("stMetricLabel").filter(has_text="Total time")).to_be_visible()
                    thumb = find_widget(page, "stSlider", "Guidance scale s").locator('input[type="range"]')
                    set_slider(page, "Guidance scale s", 0.0 if float(thumb.input_value()) else 1.0, timeout=60)
                    expect(page.get_by_text("These digits were made with earlier settings; press Generate "
                                            "to redraw.")).to_be_visible()
                    expect(page.get_by_test_id("stMetricLabel").filter(has_text="Total time")).to_be_visible()
                else:
                    set_slider(page, T_SLIDER, 250, timeout=60)
                    _moved_to(page, 250)
                    expect(page.get_by_role("button", name=f"Remove {UPLOAD_NAME}")).to_be_visible()
                assert_no_exception(page)
                _screenshot(page, f"{name}-kept")

        # After the kill everything went to the survivor (a first try at the dead one may show up
        # as "dead, survivor" in $upstream_addr), except the dead one's own WebSockets, which are
        # logged when they close.
        session_keys = {name: _cookie(page) for name, page in sessions.items()}
        for page in sessions.values():
            page.context.close()
        sessions.clear()
        time.sleep(0.5)
        lines = nginx.log_lines()
        for line in lines[killed_at:]:
            m = _LOG_RE.search(line)
            if not m:
                continue
            ups = [a.strip() for a in m["upstream"].split(",")]
            if m["request"].startswith("GET /_stcore/stream") and ups == [victim.addr]:
                continue
            assert ups[-1] == survivor.addr, f"after the kill, a request did not reach {survivor.addr}: {line}"
        for name, key in session_keys.items():
            streams = [e for e in _entries(lines, key) if e[0].startswith("GET /_stcore/stream")]
            assert streams, f"{name}: no WebSocket of this session in nginx's log"
            if home[name] == survivor.addr:  # its WebSocket stayed on the replica that held it
                assert {e[2][-1] for e in streams} == {survivor.addr}, (name, streams)
        print(f"total {time.monotonic() - t0:.0f} s")
    finally:
        for page in sessions.values():
            try:
                page.context.close()
            except Exception:  # noqa: BLE001 - already closed
                pass
        if nginx is not None:
            nginx.stop()
        for r in replicas:
            r.stop()
