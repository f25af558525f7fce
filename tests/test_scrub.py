"""Frame sets for browser-side scrubbing: shapes, per-frame numbers from the library, serialisation."""
import json
import math

import numpy as np
import pytest

from explainer.core import forward
from explainer.core.schedules import make_schedule
from explainer.lessons import image_arrays, image_encoding, noising_framesets, score_framesets
from explainer.lessons.framesets import (NOISE_STEP, FrameSet, blend_pixels, frame_indices, nearest_index,
                             noise_png_uri, quantise_noise)


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
    # The same set built again (as another session would) gives the same bytes and id: browsers keep what they have.
    twin = FrameSet(label="t", values=[0, 1, 2]).add_panel("x", ["a", "b", "c"]).add_metric("m", ["1", "2", "3"])
    assert twin.to_bytes() == fs.to_bytes()
    other = FrameSet(label="t", values=[0, 1, 2]).add_panel("x", ["a", "b", "c"]).add_metric("m", ["1", "2", "4"])
    assert json.loads(other.to_bytes())["id"] != msg["id"]  # one changed value: a new id
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
    msg = json.loads(noising_framesets.noising_frameset(sched, x0, noise, ts, "t").to_bytes())
    metrics = {m["label"]: m["values"] for m in msg["metrics"]}
    ab = sched.alpha_bars
    assert metrics["signal weight √ᾱₜ"] == [f"{math.sqrt(ab[t]):.4f}" for t in ts]
    assert metrics["noise weight √(1−ᾱₜ)"] == [f"{math.sqrt(1 - ab[t]):.4f}" for t in ts]
    assert metrics["SNR in decibels"][1] == f"{10 * math.log10(ab[250] / (1 - ab[250])):+.1f} dB"
    # The equation line has t's numbers filled in; the x_t picture changes with t, x0 does not.
    assert msg["lines"][0][1].startswith(f"x₂₅₀ = {math.sqrt(ab[250]):.4f}·x₀")
    # x0 is one picture; x_t is computed in the browser from x0 and ε with these weights at each t.
    panels = msg["panels"]
    assert panels[0]["source"] == 0 and panels[2]["blend"]["x0"] == 0 and panels[2]["blend"]["eps"] == 1
    assert panels[2]["blend"]["a"] == pytest.approx([math.sqrt(ab[t]) for t in ts], rel=1e-8)
    assert panels[2]["blend"]["b"] == pytest.approx([math.sqrt(1 - ab[t]) for t in ts], rel=1e-8)
    assert panels[1]["blend"]["a"] == [0, 0, 0] and panels[1]["blend"]["b"] == pytest.approx([1 / 3] * 3)
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


def _decode(uri: str) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def test_quantised_noise_travels_losslessly_in_steps_of_a_32nd():
    eps = np.random.default_rng(1).standard_normal((40, 30, 3)).astype(np.float32)
    eps[0, 0, 0], eps[0, 0, 1] = 9.0, -9.0  # beyond the range: clipped
    q = quantise_noise(eps)
    inside = np.abs(eps) < 3.9
    assert np.abs(q - eps)[inside].max() <= NOISE_STEP / 2 + 1e-7
    assert q[0, 0, 0] == 127 / 32 and q[0, 0, 1] == -4.0
    k = _decode(noise_png_uri(q))
    assert k.dtype == np.uint8 and k.shape == eps.shape
    np.testing.assert_array_equal((k.astype(np.float64) - 128) * NOISE_STEP, q)


def test_blend_pixels_is_the_picture_of_the_closed_form():
    """What the browser draws (blend_pixels, the same arithmetic as scrubber.js) is u8(x_t) of the server's x_t."""
    sched = make_schedule("cosine", 1000)
    u = np.random.default_rng(2).integers(0, 256, (16, 12, 3), dtype=np.uint8)
    x0 = u.astype(np.float32) / 127.5 - 1  # a picture as load_image reads it
    eps = quantise_noise(np.random.default_rng(3).standard_normal(x0.shape))
    fs = FrameSet(label="t", values=[0, 400, 999])
    x0_src, eps_src = fs.add_source(image_encoding.png_data_uri(x0)), fs.add_source(noise_png_uri(eps))
    ab = sched.alpha_bars
    fs.add_blend_panel("x_t", x0_src, eps_src, [math.sqrt(ab[t]) for t in fs.values],
                       [math.sqrt(1 - ab[t]) for t in fs.values])
    msg = json.loads(fs.to_bytes())
    x0_u8, k = _decode(msg["sources"][0]), _decode(msg["sources"][1])
    np.testing.assert_array_equal(x0_u8, u)
    blend = msg["panels"][0]["blend"]
    for i, t in enumerate(fs.values):
        got = blend_pixels(x0_u8, k, blend["a"][i], blend["b"][i]).astype(int)
        want = image_arrays.to_uint8(forward.noised(sched, x0, t, eps)).astype(int)
        assert np.abs(got - want).max() <= 1  # float32 on the server, float64 in the browser
        assert np.mean(got != want) < 0.01


def test_blend_panels_check_their_sources_and_weights():
    fs = FrameSet(label="t", values=[0, 1])
    with pytest.raises(ValueError, match="source"):
        fs.add_blend_panel("x", 0, 1, [1, 1], [0, 0]).to_bytes()
    fs = FrameSet(label="t", values=[0, 1])
    a, b = fs.add_source("data:a"), fs.add_source("data:b")
    assert (a, b, fs.add_source("data:a")) == (0, 1, 0)  # a picture is sent once
    with pytest.raises(ValueError, match="weights"):
        fs.add_blend_panel("x", a, b, [1], [0, 0]).to_bytes()


def _field_set(n_pos=3, g=4):
    pts = np.stack(np.meshgrid(np.linspace(-3, 3, g), np.linspace(-3, 3, g)), -1).reshape(-1, 2)
    rng = np.random.default_rng(0)
    vecs = [rng.standard_normal(pts.shape) * 10 ** k for k in range(n_pos)]
    fs = FrameSet(label="t", values=list(range(n_pos)))
    fs.add_vector_field("field at t = {v}", 3.0, pts, [{"name": "exact", "color": "#fff", "vectors": vecs}],
                        cap=[1.0] * n_pos, background={"name": "bg", "frames": [f"data:{i}" for i in range(n_pos)]},
                        dots={"name": "xt", "color": "#fff", "x0": np.zeros((5, 2)), "eps": np.ones((5, 2)),
                              "a": [1.0] * n_pos, "b": [0.5] * n_pos})
    return fs, pts, vecs


def test_vector_field_round_trip_keeps_three_digits():
    fs, pts, vecs = _field_set()
    msg = json.loads(fs.to_bytes())
    c = msg["charts"][0]
    assert c["kind"] == "field" and len(c["points"]) == pts.size and c["max_len"] == pytest.approx(0.9 * 2)
    f = c["fields"][0]
    assert len(f["v"]) == len(f["unit"]) == 3 and all(len(v) == pts.size for v in f["v"])
    assert all(isinstance(k, int) for k in f["v"][2])
    for i, v in enumerate(vecs):  # k · unit is the vector, to 3 significant digits of the median length
        back = np.asarray(f["v"][i], dtype=float).reshape(-1, 2) * f["unit"][i]
        assert np.abs(back - v).max() <= 0.5 * f["unit"][i] * 1.0001
        assert f["unit"][i] <= np.median(np.linalg.norm(v, axis=1)) / 100
    assert len(c["dots"]["x0"]) == 10 and c["background"]["frames"][1] == "data:1"


def test_vector_field_checks_lengths():
    fs, pts, vecs = _field_set()
    with pytest.raises(ValueError):  # one frame of vectors missing
        FrameSet(label="t", values=[0, 1, 2]).add_vector_field("f", 3.0, pts, [{"name": "e", "color": "#fff",
                                                                                "vectors": vecs[:2]}], [1.0] * 3)
    with pytest.raises(ValueError):  # vectors that do not match the arrow tails
        FrameSet(label="t", values=[0]).add_vector_field("f", 3.0, pts, [{"name": "e", "color": "#fff",
                                                                          "vectors": [vecs[0][:3]]}], [1.0])
    with pytest.raises(ValueError):  # too many arrows for the page
        FrameSet(label="t", values=[0]).add_vector_field("f", 3.0, np.zeros((1000, 2)), [], [1.0])
    fs.charts[0]["background"]["frames"].pop()
    with pytest.raises(ValueError):
        fs.to_bytes()
    fs, _, _ = _field_set()
    fs.charts[0]["dots"]["a"].pop()
    with pytest.raises(ValueError):
        fs.to_bytes()


def test_heatmap_png_is_a_small_viridis_picture():
    import base64
    import io

    from PIL import Image

    from explainer.lessons.framesets import heatmap_png_uri

    z = np.outer(np.ones(8), np.arange(8.0))[::-1].T  # grows with y (rows, upwards) ...
    uri = heatmap_png_uri(z)
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")
    px = np.asarray(img)
    assert px.shape == (8, 8, 3)
    assert tuple(px[-1, 0]) == (0x44, 0x01, 0x54) and tuple(px[0, 0]) == (0xfd, 0xe7, 0x25)  # ... so top is bright


def test_score_field_frameset_follows_t():
    from explainer.core import particles as sp, toy2d

    sched = make_schedule("cosine", 1000)
    data = sp.make_data("moons", 300, 0)
    ts = score_framesets.field_ts(n=4)
    assert ts[0] == 1 and ts[-1] == 999 and len(ts) == 4
    learned = lambda x, ab: -x  # noqa: E731 (the score of N(0, I))
    msg = json.loads(score_framesets.field_frameset(data, sched, "both", learned, ts).to_bytes())
    metrics = {m["label"]: m["values"] for m in msg["metrics"]}
    assert metrics["ᾱₜ (signal left)"] == [f"{sched.alpha_bars[t]:.4f}" for t in ts]
    assert len(metrics["relative error of the learned score"]) == 4
    c = msg["charts"][0]
    assert [f["name"] for f in c["fields"]] == ["exact score", "learned score"]
    pts = sp.field_points()
    exact = toy2d.empirical_score(data, pts, float(sched.alpha_bars[ts[1]]))

    def back(chart, j):  # field j at position 1, decoded from the integers it travels as
        f = chart["fields"][j]
        return np.asarray(f["v"][1], dtype=float).reshape(-1, 2) * f["unit"][1], f["unit"][1]

    got, unit = back(c, 0)
    assert np.abs(got - exact).max() <= unit
    got, unit = back(c, 1)
    assert np.abs(got - (-pts)).max() <= unit  # the learned field is the learned function's, not the exact one
    assert c["cap"][1] == pytest.approx(np.quantile(np.linalg.norm(exact, axis=1), 0.9), rel=1e-4)
    assert len(set(c["background"]["frames"])) == 4
    err = json.loads(score_framesets.field_frameset(data, sched, "error", learned, ts).to_bytes())["charts"][0]
    assert [f["name"] for f in err["fields"]] == ["learned − exact"] and err["background"]["name"].startswith("error")
    got, unit = back(err, 0)
    assert np.abs(got - (-pts - exact)).max() <= unit  # learned − exact, not exact − learned
    exact_only = json.loads(score_framesets.field_frameset(data, sched, "exact", None, ts).to_bytes())
    assert len(exact_only["metrics"]) == 2
    with pytest.raises(ValueError):
        score_framesets.field_frameset(data, sched, "learned", None, ts)
