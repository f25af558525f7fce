"""The load test against two app processes behind nginx with deploy/nginx.conf, on this machine.

    python -m loadtest.behind_nginx --seed-mode shared     # or: user

Starts two `streamlit run app.py` replicas and nginx with the deployment's own configuration (only
addresses, port and log paths changed), exactly as tests/browser/test_nginx_replicas.py does, runs
30 users through nginx (sticky by nginx's routing cookie, which the client sends back as a browser
does) and prints the report. Needs /usr/sbin/nginx (apt-get install -y nginx-light).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .run import run_load


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--seed-mode", choices=["user", "shared"], default="user")
    a = ap.parse_args(argv)
    # The replica and nginx launchers of the scale-out test: one way to start them.
    from tests.browser.test_nginx_replicas import Nginx, Replica

    replicas = [Replica("a"), Replica("b")]
    for r in replicas:
        r.start()
    nginx = None
    try:
        for r in replicas:
            r.wait_ready()
        nginx = Nginx(Path(tempfile.mkdtemp()), [r.addr for r in replicas])
        nginx.start()
        report = run_load(nginx.url, users=a.users, duration=900, iterations=1, seed_mode=a.seed_mode)
        print(report.table())
    finally:
        if nginx is not None:
            nginx.stop()
        for r in replicas:
            r.stop()


if __name__ == "__main__":
    main()
