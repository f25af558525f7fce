"""The load test (loadtest/) against real servers: quick, a few users, every action once.

The full runs (10 and 30 users) are made by hand: ``python -m loadtest.run --help``.
"""
from __future__ import annotations

import random
import textwrap

import pytest

from loadtest.client import StreamlitSession
from loadtest.run import CONNECT, MEDIA, percentile, report_sidebar_seed, run_async, run_load
from loadtest.scenario import QUICK_SCENARIO, action_names
from loadtest.server import REPO_ROOT, start_server, tree_rss_bytes

MNIST_MISSING = not all((REPO_ROOT / "assets" / "models" / f).exists()
                        for f in ("mnist.safetensors", "mnist.json"))
#: Without the bundled MNIST model the reverse page shows "The weights file ... is missing" instead of
#: its controls: the load test counts these actions as skipped, not run.
NEEDS_MODEL = {"reverse: Generate", "reverse: step slider"}


def test_percentile():
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(101)), 95) == 95
    assert percentile([7], 95) == 7
    assert percentile([], 50) != percentile([], 50)  # NaN


@pytest.mark.slow  # a real server and two users through every page
def test_two_users_every_action_without_errors():
    """2 users run the quick scenario once (each action type at least once): no errors, RSS sampled."""
    with start_server() as srv:
        report = run_load(srv.url, users=2, duration=45, iterations=1, scenario="quick", think=(0.05, 0.2),
                          ramp=1.0, timeout=40, seed_mode="shared", server_pid=srv.pid)
    print(report.table())
    assert report.errors == 0, "\n".join(report.error_messages)
    names = action_names(QUICK_SCENARIO)
    assert list(report.actions) == [CONNECT, *names, MEDIA]
    for name in [CONNECT, *names]:
        a = report.actions[name]
        if name in NEEDS_MODEL and MNIST_MISSING:
            assert a.skipped == 2 and not a.seconds, f"{name}: expected skipped without the MNIST model"
        else:
            assert len(a.seconds) == 2, f"{name}: {len(a.seconds)} samples, expected one per user"
    assert report.actions[MEDIA].seconds, "the pages' images were not fetched"
    assert report.rss_mb["samples"] >= 2 and report.rss_mb["peak"] >= report.rss_mb["start"] > 0


TINY_APP = textwrap.dedent('''
    import streamlit as st

    st.title("tiny")
    n = st.slider("Outside", 0, 10, 3, key="outside")
    st.write(f"outside={n}")

    @st.fragment
    def part():
        v = st.slider("Inside", 0, 100, 50, key="inside")
        st.write(f"inside={v}")

    part()
    boom, sorry, missing = st.button("Boom"), st.button("Say sorry"), st.button("Missing model")
    if sorry:
        st.error("Sorry, this page hit a problem (KeyError).")
    if missing:
        st.error("The weights file /x/mnist.safetensors is missing. Rebuild it with: ...")
    if boom:
        raise ValueError("boom")
''')


@pytest.mark.slow  # a real server
def test_client_protocol_on_a_tiny_app(tmp_path):
    """Fragment reruns, widget values kept across reruns, and each kind of failure is seen."""
    script = tmp_path / "tiny_app.py"
    script.write_text(TINY_APP)

    async def scenario(url: str) -> dict:
        s = StreamlitSession(url, timeout=30)
        await s.connect()
        out = {"open": await s.open_page("", first=True)}
        rng = random.Random(0)
        out["outside"] = await s.move_slider(s.find("Outside"), rng, value=7)
        out["inside"] = await s.move_slider(s.find("Inside"), rng, value=99)
        out["boom"] = await s.click(s.find("Boom", ("button",)))
        out["sorry"] = await s.click(s.find("Say sorry", ("button",)))
        out["missing"] = await s.click(s.find("Missing model", ("button",)))
        await s.close()
        return out

    with start_server(str(script), log_path=tmp_path / "server.log") as srv:
        assert tree_rss_bytes(srv.pid) > 10 * 2**20
        out = run_async(scenario(srv.url))
    assert out["open"].status == "FINISHED_SUCCESSFULLY" and not out["open"].errors
    assert out["outside"].status == "FINISHED_SUCCESSFULLY" and not out["outside"].errors
    assert out["inside"].status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY" and not out["inside"].errors
    # The message is redacted (client.showErrorDetails = "none"), the exception element is still there.
    assert any(e.startswith("st.exception") for e in out["boom"].errors), out["boom"].errors
    assert any(e.startswith("st.error: Sorry") for e in out["sorry"].errors), out["sorry"].errors
    assert not out["missing"].errors and out["missing"].expected
    # The values the user set are kept across later reruns (the client sends them, as the browser does).
    assert "outside=7" in out["missing"].texts and "inside=99" in out["missing"].texts, out["missing"].texts


@pytest.mark.slow  # a real server
def test_a_students_own_seed_survives_page_changes():
    """--seed-mode user: the seed of the first address is still the session's on the next pages."""
    async def visit(url: str) -> list[str]:
        s = StreamlitSession(url, timeout=120)
        await s.connect()
        await s.open_page("", query_string="seed=17", first=True)
        report_sidebar_seed(s, 17)
        seen = [s.query_string]
        for page in ("reading", "forward"):
            res = await s.open_page(page)
            assert res.status == "FINISHED_SUCCESSFULLY", res.errors
            seen.append(s.query_string)
        await s.close()
        return seen

    with start_server() as srv:
        seen = run_async(visit(srv.url))
    assert all("seed=17" in q.split("&") for q in seen), seen
