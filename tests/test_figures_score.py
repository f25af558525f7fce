"""The score-field figures (explainer.figures, score section) and their helpers (explainer.score_page)."""
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from explainer.lessons import figures
from explainer.core import toy2d
from explainer.core import particles as sp
from explainer.core.schedules import make_schedule


@pytest.fixture(scope="module")
def data():
    return toy2d.make_dataset("moons", n=300, seed=0)


@pytest.fixture(scope="module")
def schedule():
    return make_schedule("cosine", 1000)


def _arrows(xs, ys):
    """Split a gap-separated arrow trace into (G, 5, 2) vertices."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    assert len(xs) % 6 == 0
    pts = np.stack([xs, ys], axis=1).reshape(-1, 6, 2)
    assert np.all(np.isnan(pts[:, 5]))  # one gap per arrow
    assert not np.any(np.isnan(pts[:, :5]))
    return pts[:, :5]


# ------------------------------------------------------------------ arrow geometry

def test_arrow_segments_for_a_known_field():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]])
    vectors = np.array([[2.0, 0.0], [0.0, -0.5], [-3.0, 4.0]])  # |v| = 2, 0.5, 5
    a = _arrows(*figures.arrow_segments(points, vectors, max_len=0.2, ref=1.0, head=0.25, head_angle_deg=30))
    assert np.allclose(a[:, 0], points, atol=1e-6)                   # tails at the points
    assert np.allclose(a[:, 1], a[:, 3])                             # both barbs start at the tip
    # length proportional to |v| up to ref, clipped to max_len; direction kept
    assert np.allclose(a[0, 1], [0.2, 0.0], atol=1e-6)              # |v| = 2 > ref: clipped
    assert np.allclose(a[1, 1], [1.0, 1.0 - 0.1], atol=1e-6)        # |v| = 0.5: half length, pointing down
    assert np.allclose(a[2, 1], [-1.0 - 0.12, 2.0 + 0.16], atol=1e-6)
    for k in range(3):
        shaft = a[k, 1] - a[k, 0]
        for barb in (a[k, 2] - a[k, 1], a[k, 4] - a[k, 1]):
            assert np.linalg.norm(barb) == pytest.approx(0.25 * np.linalg.norm(shaft), rel=1e-4)
            cos = np.dot(-barb, shaft) / (np.linalg.norm(barb) * np.linalg.norm(shaft))
            assert cos == pytest.approx(math.cos(math.radians(30)), abs=1e-4)


def test_zero_vector_gives_a_zero_length_arrow():
    a = _arrows(*figures.arrow_segments(np.array([[0.5, -0.5]]), np.zeros((1, 2)), 0.2, 1.0))
    assert np.allclose(a[0], [0.5, -0.5])


# ------------------------------------------------------------------ score field figure

@pytest.fixture(scope="module")
def field(data):
    pts = sp.field_points(n=10)
    exact = toy2d.empirical_score(data, pts, 0.7)
    return pts, exact, exact + 0.1, sp.density_grid(data, 0.7, n=20), sp.noised_samples(data, 0.7, 0)


@pytest.mark.parametrize("view, n_arrow_traces", [("exact", 1), ("learned", 1), ("both", 2), ("error", 1)])
def test_score_field_views(field, view, n_arrow_traces):
    pts, exact, learned, density, samples = field
    fig = figures.score_field_figure(pts, exact, learned, view=view, density=density, samples=samples,
                                     title="t", height=400)
    assert isinstance(fig, go.Figure)
    types = [tr.type for tr in fig.data]
    assert types[0] == "heatmap" and types.count("heatmap") == 1
    lines = [tr for tr in fig.data if tr.type == "scatter" and tr.mode == "lines"]
    assert len(lines) == n_arrow_traces
    assert all(len(tr.x) == 6 * len(pts) for tr in lines)
    assert len(fig.data) == 3 + n_arrow_traces  # heatmap, samples, arrows, hover markers
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.height == 400
    z = np.asarray(fig.data[0].z)
    if view == "error":
        assert z.shape == (10, 10)
        assert np.allclose(z, np.linalg.norm(learned - exact, axis=1).reshape(10, 10), atol=1e-5)
    else:
        assert z.shape == (20, 20)


def test_score_field_needs_what_the_view_shows(field):
    pts, exact, _, density, _ = field
    with pytest.raises(ValueError, match="learned"):
        figures.score_field_figure(pts, exact, None, view="both")
    with pytest.raises(ValueError, match="unknown view"):
        figures.score_field_figure(pts, exact, view="sideways")


def test_arrows_point_at_the_origin_at_large_t(data):
    """At large t the noised data are nearly N(0, I): the score is about -x."""
    pts = sp.field_points(n=6)
    exact = toy2d.empirical_score(data, pts, 1e-4)
    fig = figures.score_field_figure(pts, exact, view="exact")
    a = _arrows(fig.data[-2].x, fig.data[-2].y)
    direction = a[:, 1] - a[:, 0]
    cos = np.sum(direction * -pts, axis=1) / (np.linalg.norm(direction, axis=1) * np.linalg.norm(pts, axis=1))
    assert np.all(cos > 0.99)


def test_tweedie_figure(data):
    dens = sp.density_grid(data, 0.5, n=20)
    score, x0_hat = sp.tweedie(data, (1.0, -1.0), 0.5)
    fig = figures.tweedie_figure(dens, data, (1.0, -1.0), score, x0_hat, 0.5, height=380)
    assert [tr.type for tr in fig.data] == ["heatmap"] + ["scatter"] * 4
    assert (fig.data[-1].x[0], fig.data[-1].y[0]) == (1.0, -1.0)
    assert np.allclose([fig.data[3].x[0], fig.data[3].y[0]], x0_hat)
    assert len(fig.layout.annotations) == 2  # the two steps drawn as arrows
    mid = np.array([fig.data[2].x[0], fig.data[2].y[0]])
    assert np.allclose(mid, math.sqrt(0.5) * x0_hat)  # x + (1 - ab) score = sqrt(ab) x0_hat


# ------------------------------------------------------------------ animation, loss, errors

def test_particles_animation_frames():
    traj = np.random.default_rng(0).standard_normal((7, 50, 2))
    labels = [f"f{i}" for i in range(7)]
    fig = figures.particles_animation(traj, traj[0], labels, "title", n_paths=5, height=500)
    assert len(fig.frames) == 7 and [f.name for f in fig.frames] == labels
    assert len(fig.data) == 3
    assert all(tuple(f.traces) == (1, 2) for f in fig.frames)
    paths, dots = fig.frames[-1].data               # frame data: (trace 1, trace 2)
    assert len(paths.x) == 5 * (7 + 1)              # 5 paths of 7 points, each ended by None
    assert np.allclose(paths.x[:7], np.round(traj[:, 0, 0], 3)) and paths.x[7] is None
    assert len(dots.x) == 50
    assert np.allclose(fig.frames[3].data[1].x, np.round(traj[3, :, 0], 3))  # particles at frame 3
    assert len(fig.frames[3].data[0].x) == 5 * (4 + 1)
    assert len(fig.layout.sliders[0].steps) == 7 and fig.layout.updatemenus[0].buttons[0].method == "animate"
    with pytest.raises(ValueError):
        figures.particles_animation(traj, traj[0], labels[:3], "t")


def test_loss_curve_and_error_chart():
    fig = figures.loss_curve([(25, 0.9), (50, 0.6), (75, 0.5)], height=300)
    assert list(fig.data[0].x) == [25, 50, 75] and fig.layout.height == 300
    fig = figures.score_error_by_t({"a": {500: 0.1, 100: 0.3}, "b": {100: 0.2}})
    assert len(fig.data) == 2 and list(fig.data[0].x) == [100, 500]


# ------------------------------------------------------------------ helpers

def test_density_grid_equals_the_empirical_density(data):
    for ab in (0.2, 0.9, 0.995):
        xs, ys, p = sp.density_grid(data, ab, extent=3.0, n=25)
        exact = np.exp(toy2d.empirical_log_density(data, toy2d.grid(3.0, 25)[2], ab)).reshape(25, 25)
        assert p.shape == (25, 25)
        assert np.allclose(p, exact, rtol=1e-9, atol=1e-12 * exact.max())


def test_tweedie_matches_toy2d(data):
    score, x0_hat = sp.tweedie(data, (0.3, 0.4), 0.6)
    assert np.allclose(x0_hat, toy2d.tweedie_denoise(data, np.array([[0.3, 0.4]]), 0.6)[0])
    assert np.allclose(score, toy2d.empirical_score(data, np.array([[0.3, 0.4]]), 0.6)[0])


def test_levels_and_frame_plan(schedule):
    ts, abs_ = sp.levels(schedule, 50)
    assert ts[0] == 999 and len(ts) == 50 and np.all(np.diff(ts) < 0)
    assert np.all(np.diff(abs_) >= 0) and abs_.min() >= sp.AB_FLOOR and abs_.max() < 1
    for sampler in sp.SAMPLERS:
        idx, labels = sp.frame_plan(sampler, ts, max_frames=40)
        assert idx[0] == 0 and idx[-1] == 50 and len(idx) <= 40
        assert labels[0] == "start: noise" and labels[-1] == "end: clean" and len(set(labels)) == len(labels)
    idx, labels = sp.frame_plan("sde", ts)
    assert labels[1] == f"t = {ts[idx[1]]}"
    idx, labels = sp.frame_plan("langevin", ts)
    assert labels[1] == f"t = {ts[idx[1] - 1]}"


@pytest.mark.parametrize("sampler", list(sp.SAMPLERS))
def test_particles_reach_the_data(data, schedule, sampler):
    calls = []
    traj, ts = sp.run_particles(sampler, sp.exact_score_fn(data), schedule, 20, n_particles=60, seed=1,
                                progress=calls.append)
    assert traj.shape == (21, 60, 2) and len(ts) == 20
    dist = np.sqrt(((traj[-1][:, None] - data[None]) ** 2).sum(-1)).min(1)
    assert np.median(dist) < 0.1
    assert calls[-1] == pytest.approx(1.0) and all(0 < c <= 1 for c in calls)
    with pytest.raises(ValueError):
        sp.run_particles("teleport", sp.exact_score_fn(data), schedule, 5)

