"""Frame sets for browser-side scrubbing: shapes, per-frame numbers from the library, serialisation."""
import json
import math

import numpy as np
import pytest

from explainer import forward
from explainer.schedules import make_schedule
from explainer.scrub import FrameSet, frame_indices, nearest_index


def test_frame_indices_cover_both_ends_without_repeats():
    ts = frame_indices(1000, 48)
    assert ts[0] == 0 and ts[-1] == 999 and len(ts) == 48 and len(set(ts)) == 48
    assert frame_indices(10, 48) == list(range(10))  # never more frames than steps


def test_nearest_index():
    assert nearest_index([0, 10, 20], 14) == 1 and nearest_index([0, 10, 20], 16) == 2


def test_frameset_checks_lengths_and_serialises_once():
    fs = FrameSet(label="t", values=[0, 1, 2]).add_panel("x", ["a", "b", "c"]).add_metric("m", ["1", "2", "3"])
    msg = json.loads(fs.to_bytes())
    assert msg["values"] == [0, 1, 2] and len(msg["id"]) == 16
    assert fs.to_bytes() == fs.to_bytes()  # same set, same bytes (and id): shared by every session
    with pytest.raises(ValueError):
        FrameSet(label="t", values=[0, 1]).add_metric("m", ["1"]).to_bytes()
    with pytest.raises(ValueError):
        FrameSet(label="t", values=[0, 1]).add_line_chart("c", [0, 1], [{"name": "y", "y": [0, math.nan],
                                                                         "color": "#000"}], "x", "y")


def test_noising_frameset_numbers_follow_t():
    sched = make_schedule("linear", 1000)
    x0 = np.linspace(-1, 1, 8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3)
    noise = np.random.default_rng(0).standard_normal(x0.shape).astype(np.float32)
    ts = [0, 250, 999]
    msg = json.loads(forward.noising_frameset(sched, x0, noise, ts, "t").to_bytes())
    metrics = {m["label"]: m["values"] for m in msg["metrics"]}
    ab = sched.alpha_bars
    assert metrics["signal weight √ᾱₜ"] == [f"{math.sqrt(ab[t]):.4f}" for t in ts]
    assert metrics["noise weight √(1−ᾱₜ)"] == [f"{math.sqrt(1 - ab[t]):.4f}" for t in ts]
    assert metrics["SNR in decibels"][1] == f"{10 * math.log10(ab[250] / (1 - ab[250])):+.1f} dB"
    # The equation line has t's numbers filled in; the x_t picture changes with t, x0 does not.
    assert msg["lines"][0][1].startswith(f"x₂₅₀ = {math.sqrt(ab[250]):.4f}·x₀")
    panels = msg["panels"]
    assert isinstance(panels[0]["frames"], str) and len(set(panels[2]["frames"])) == 3
    # The histograms are densities of each frame: they integrate to (almost) 1 over [-4, 4].
    bars = next(c for c in msg["charts"] if c["kind"] == "bars")
    widths = np.diff(bars["edges"])
    for counts in bars["counts"]:
        assert float(np.dot(counts, widths)) == pytest.approx(1.0, abs=0.02)


def test_noised_is_the_closed_form():
    sched = make_schedule("cosine", 1000)
    x0 = np.full((4, 4), 0.5, np.float32)
    eps = np.ones((4, 4), np.float32)
    ab = sched.alpha_bars[600]
    np.testing.assert_allclose(forward.noised(sched, x0, 600, eps), math.sqrt(ab) * 0.5 + math.sqrt(1 - ab),
                               rtol=1e-6)
