import math

import numpy as np
import pytest

from explainer.core import toy2d
from explainer.core.schedules import make_schedule


# ------------------------------------------------------------------ data sets


@pytest.mark.parametrize("name", toy2d.DATASETS)
def test_dataset_shape_determinism_and_scale(name):
    a = toy2d.make_dataset(name, n=3000, seed=1)
    assert a.shape == (3000, 2) and a.dtype == np.float64
    np.testing.assert_array_equal(a, toy2d.make_dataset(name, n=3000, seed=1))
    assert not np.allclose(a, toy2d.make_dataset(name, n=3000, seed=2))
    assert np.all(np.abs(a.mean(axis=0)) < 0.1)
    overall_std = np.sqrt(np.mean((a - a.mean(axis=0)) ** 2))
    assert abs(overall_std - 1.0) < 0.1
    assert np.all((a.std(axis=0) > 0.6) & (a.std(axis=0) < 1.4))


def test_dataset_errors():
    with pytest.raises(ValueError):
        toy2d.make_dataset("nope")
    with pytest.raises(ValueError):
        toy2d.make_dataset("moons", n=0)
    assert toy2d.make_dataset("moons", n=1).shape == (1, 2)


def test_gaussian_mixture_params_match_dataset():
    weights, means, stds = toy2d.gaussian_mixture_params()
    assert weights.shape == (8,) and means.shape == (8, 2) and stds.shape == (8,)
    assert math.isclose(weights.sum(), 1.0)
    data = toy2d.make_dataset("gaussian_mixture", n=4000, seed=0)
    # Every point lies within a few stds of its nearest mean.
    dist = np.sqrt(((data[:, None, :] - means[None]) ** 2).sum(-1)).min(axis=1)
    assert np.all(dist < 5 * stds[0])
    # Population per-coordinate variance R^2/2 + s^2 is 1.
    assert math.isclose(np.mean(means[:, 0] ** 2) + stds[0] ** 2, 1.0)


def test_grid_layout():
    xs, ys, points = toy2d.grid(extent=2.0, n=5)
    assert xs.shape == ys.shape == (5,) and points.shape == (25, 2)
    assert xs[0] == -2.0 and xs[-1] == 2.0
    np.testing.assert_array_equal(points.reshape(5, 5, 2)[3, 1], [xs[1], ys[3]])


# ------------------------------------------------------------ empirical score


def _central_diff(f, x, h):
    grad = np.empty_like(x)
    for j in range(x.shape[1]):
        dx = np.zeros(x.shape[1])
        dx[j] = h
        grad[:, j] = (f(x + dx) - f(x - dx)) / (2 * h)
    return grad


@pytest.mark.parametrize("alpha_bar", [0.01, 0.3, 0.9, 0.999])
def test_empirical_score_matches_finite_differences(alpha_bar):
    data = toy2d.make_dataset("swiss_roll", n=200, seed=0)
    rng = np.random.default_rng(0)
    # Query points near noised data, where the density is not negligible.
    x = math.sqrt(alpha_bar) * data[:20] + math.sqrt(1 - alpha_bar) * rng.standard_normal((20, 2))
    score = toy2d.empirical_score(data, x, alpha_bar)
    h = 1e-4 * math.sqrt(1 - alpha_bar)
    fd = _central_diff(lambda y: toy2d.empirical_log_density(data, y, alpha_bar), x, h)
    scale = 1.0 / math.sqrt(1 - alpha_bar)
    np.testing.assert_allclose(score, fd, rtol=1e-5, atol=1e-5 * scale)


def test_empirical_density_integrates_to_one():
    data = toy2d.make_dataset("moons", n=300, seed=0)
    xs, ys, points = toy2d.grid(extent=6.0, n=201)
    density = np.exp(toy2d.empirical_log_density(data, points, 0.5))
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert abs(density.sum() * cell - 1.0) < 1e-3


def test_empirical_single_point_is_gaussian():
    x0 = np.array([[0.7, -1.2]])
    alpha_bar = 0.6
    var = 1 - alpha_bar
    x = np.random.default_rng(0).standard_normal((10, 2))
    mean = math.sqrt(alpha_bar) * x0
    np.testing.assert_allclose(toy2d.empirical_score(x0, x, alpha_bar), -(x - mean) / var, rtol=1e-12)
    log_density = -np.sum((x - mean) ** 2, axis=1) / (2 * var) - math.log(2 * math.pi * var)
    np.testing.assert_allclose(toy2d.empirical_log_density(x0, x, alpha_bar), log_density, rtol=1e-12)
    np.testing.assert_allclose(toy2d.tweedie_denoise(x0, x, alpha_bar), np.repeat(x0, 10, axis=0))


@pytest.mark.parametrize("alpha_bar", [1 - 1e-6, 1e-6])
def test_empirical_stable_at_extremes(alpha_bar):
    data = toy2d.make_dataset("circles", n=500, seed=0)
    x = np.array([[0.0, 0.0], [1.0, 0.0], [100.0, -100.0], [-100.0, 3.0]])
    for out in (toy2d.empirical_log_density(data, x, alpha_bar),
                toy2d.empirical_score(data, x, alpha_bar),
                toy2d.tweedie_denoise(data, x, alpha_bar),
                toy2d.posterior_weights(data, x, alpha_bar)):
        assert np.all(np.isfinite(out))
    # Far away every component is nearly equally far; the score points back toward the data.
    score = toy2d.empirical_score(data, x, alpha_bar)
    assert score[2, 0] < 0 and score[2, 1] > 0


def test_empirical_rejects_alpha_bar_outside_open_interval():
    data = toy2d.make_dataset("moons", n=10)
    for alpha_bar in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError):
            toy2d.empirical_score(data, data, alpha_bar)


def test_tweedie_near_clean_returns_x_and_weights_sum_to_one():
    data = toy2d.make_dataset("spiral", n=300, seed=0)
    x = data[:50] + 1e-4 * np.random.default_rng(0).standard_normal((50, 2))
    np.testing.assert_allclose(toy2d.tweedie_denoise(data, x, 1 - 1e-8), x, atol=1e-3)
    w = toy2d.posterior_weights(data, x, 0.5)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w @ data, toy2d.tweedie_denoise(data, x, 0.5), rtol=1e-10, atol=1e-12)


def test_chunked_equals_unchunked(monkeypatch):
    data = toy2d.make_dataset("checkerboard", n=100, seed=0)
    _, _, x = toy2d.grid(3.0, 12)
    full = toy2d.empirical_score(data, x, 0.7)
    monkeypatch.setattr(toy2d, "_MAX_BLOCK", 250)  # chunks of 2 queries
    np.testing.assert_allclose(toy2d.empirical_score(data, x, 0.7), full, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- GMM score


def test_gmm_single_gaussian_closed_form():
    mu, s = np.array([1.0, -2.0]), 0.5
    x = np.random.default_rng(0).standard_normal((7, 2))
    score = toy2d.gmm_score(x, [1.0], mu[None], [s])
    np.testing.assert_allclose(score, -(x - mu) / s**2, rtol=1e-12)
    alpha_bar = 0.3
    var = alpha_bar * s**2 + 1 - alpha_bar
    score_t = toy2d.gmm_score(x, [1.0], mu[None], [s], alpha_bar=alpha_bar)
    np.testing.assert_allclose(score_t, -(x - math.sqrt(alpha_bar) * mu) / var, rtol=1e-12)


def test_gmm_two_components_explicit():
    w = np.array([0.3, 0.7])
    means = np.array([[-1.0, 0.0], [2.0, 1.0]])
    stds = np.array([0.5, 1.5])
    x = np.random.default_rng(1).standard_normal((9, 2)) * 2
    var = stds**2
    pdf = np.stack([w[k] / (2 * np.pi * var[k]) * np.exp(-np.sum((x - means[k]) ** 2, 1) / (2 * var[k]))
                    for k in range(2)], axis=1)
    grad = sum(pdf[:, k, None] * (means[k] - x) / var[k] for k in range(2))
    np.testing.assert_allclose(toy2d.gmm_log_density(x, w, means, stds), np.log(pdf.sum(1)), rtol=1e-12)
    np.testing.assert_allclose(toy2d.gmm_score(x, w, means, stds), grad / pdf.sum(1, keepdims=True),
                               rtol=1e-10)


@pytest.mark.parametrize("alpha_bar", [0.05, 0.5, 0.999])
def test_gmm_score_at_alpha_bar_matches_finite_differences(alpha_bar):
    weights, means, stds = toy2d.gaussian_mixture_params()
    x = np.random.default_rng(2).standard_normal((15, 2)) * 1.5
    score = toy2d.gmm_score(x, weights, means, stds, alpha_bar)
    fd = _central_diff(lambda y: toy2d.gmm_log_density(y, weights, means, stds, alpha_bar), x, 1e-5)
    np.testing.assert_allclose(score, fd, rtol=1e-5, atol=1e-5)


def test_gmm_stable_far_away():
    weights, means, stds = toy2d.gaussian_mixture_params()
    x = np.array([[1e3, -1e3], [0.0, 0.0]])
    assert np.all(np.isfinite(toy2d.gmm_score(x, weights, means, stds)))
    assert np.all(np.isfinite(toy2d.gmm_log_density(x, weights, means, stds, 1 - 1e-9)))


# ----------------------------------------------------------------- samplers


def _levels(num_levels=200):
    # Evenly strided timesteps of DDPM's 1000-step linear schedule, noisiest first.
    timesteps = np.linspace(999, 0, num_levels).round().astype(int)
    return make_schedule("linear", 1000).alpha_bars[timesteps]


def _gaussian_score(mu, s):
    return lambda x, alpha_bar: toy2d.gmm_score(x, [1.0], np.asarray(mu)[None], [s], alpha_bar)


SAMPLERS = {
    "langevin": lambda f, x, ab, seed: toy2d.annealed_langevin(f, x, ab, rng=seed),
    "sde": lambda f, x, ab, seed: toy2d.reverse_sde(f, x, ab, rng=seed),
    "sde_tilde": lambda f, x, ab, seed: toy2d.reverse_sde(f, x, ab, rng=seed, variance="beta_tilde"),
    "ode": lambda f, x, ab, seed: toy2d.probability_flow_ode(f, x, ab),
}


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_sampler_shapes_and_reproducibility(sampler):
    x_T = np.random.default_rng(0).standard_normal((30, 2))
    levels = _levels(20)
    score_fn = _gaussian_score([0.5, 0.5], 0.3)
    traj = SAMPLERS[sampler](score_fn, x_T, levels, 7)
    assert traj.shape == (21, 30, 2)
    np.testing.assert_array_equal(traj[0], x_T)
    np.testing.assert_array_equal(traj, SAMPLERS[sampler](score_fn, x_T, levels, 7))
    if sampler == "ode":
        np.testing.assert_array_equal(traj, SAMPLERS[sampler](score_fn, x_T, levels, 8))
    else:
        assert not np.allclose(traj[-1], SAMPLERS[sampler](score_fn, x_T, levels, 8)[-1])


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_recover_gaussian(sampler):
    mu, s = np.array([1.0, -0.5]), 0.5
    x_T = np.random.default_rng(0).standard_normal((2000, 2))
    final = SAMPLERS[sampler](_gaussian_score(mu, s), x_T, _levels(200), 3)[-1]
    np.testing.assert_allclose(final.mean(axis=0), mu, atol=0.1)
    np.testing.assert_allclose(final.std(axis=0), s, atol=0.1 * s + 0.03)


def test_ode_on_swiss_roll_lands_on_data():
    data = toy2d.make_dataset("swiss_roll", n=500, seed=0)
    x_T = np.random.default_rng(1).standard_normal((200, 2))
    score_fn = lambda x, ab: toy2d.empirical_score(data, x, ab)  # noqa: E731
    final = toy2d.probability_flow_ode(score_fn, x_T, _levels(100))[-1]
    nn = np.sqrt(((final[:, None] - data[None]) ** 2).sum(-1)).min(axis=1)
    # Initial particles sit about 0.3 from their nearest data point.
    assert nn.mean() < 0.05


def test_last_step_is_tweedie():
    levels = _levels(10)
    score_fn = _gaussian_score([0.2, 0.1], 0.4)
    x_T = np.random.default_rng(0).standard_normal((5, 2))
    traj = toy2d.probability_flow_ode(score_fn, x_T, levels)
    ab = levels[-1]
    np.testing.assert_allclose(traj[-1], toy2d.x0_from_score(traj[-2], score_fn(traj[-2], ab), ab))
    traj = toy2d.reverse_sde(score_fn, x_T, levels, rng=0)
    np.testing.assert_allclose(traj[-1], toy2d.x0_from_score(traj[-2], score_fn(traj[-2], ab), ab))


def test_sampler_rejects_bad_levels():
    x_T = np.zeros((3, 2))
    score_fn = _gaussian_score([0.0, 0.0], 1.0)
    for levels in ([], [0.9, 0.5], [0.5, 1.0], [[0.5]]):
        with pytest.raises(ValueError):
            toy2d.probability_flow_ode(score_fn, x_T, levels)


def test_langevin_denoise_last_applies_tweedie_to_final_state():
    levels = _levels(10)
    score_fn = _gaussian_score([0.2, 0.1], 0.4)
    x_T = np.random.default_rng(0).standard_normal((5, 2))
    plain = toy2d.annealed_langevin(score_fn, x_T, levels, rng=4)
    denoised = toy2d.annealed_langevin(score_fn, x_T, levels, rng=4, denoise_last=True)
    np.testing.assert_array_equal(plain[:-1], denoised[:-1])
    ab = levels[-1]
    np.testing.assert_allclose(denoised[-1], toy2d.x0_from_score(plain[-1], score_fn(plain[-1], ab), ab))
