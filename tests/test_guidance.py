"""explainer.guidance against the formulas: Bayes, finite differences, the eps-form, and sharpening."""
import math

import numpy as np
import pytest

from explainer.core import guidance as g
from explainer.core import particles as sp
from explainer.core.samplers import cfg_eps
from explainer.core.schedules import make_schedule

MIX = g.three_classes()
RNG = np.random.default_rng(0)
X = RNG.standard_normal((200, 2)) * 1.5


def gauss(x, m, var):
    return np.exp(-0.5 * np.sum((x - m) ** 2, axis=1) / var) / (2 * math.pi * var)


@pytest.mark.parametrize("ab", [None, 0.9, 0.3, 0.01])
def test_class_posterior_is_bayes_and_sums_to_one(ab):
    post = g.class_posterior(MIX, X, ab)
    assert post.shape == (len(X), 3)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-12)
    a = 1.0 if ab is None else ab
    joint = np.stack([w * gauss(X, math.sqrt(a) * m, a * s**2 + 1 - a)
                      for w, m, s in zip(MIX.weights, MIX.means, MIX.stds)], axis=1)
    np.testing.assert_allclose(post, joint / joint.sum(axis=1, keepdims=True), rtol=1e-10)


def _fd_grad(f, x, h=1e-5):
    out = np.zeros_like(x)
    for d in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[d] = h
        out[:, d] = (f(x + e) - f(x - e)) / (2 * h)
    return out


@pytest.mark.parametrize("ab", [None, 0.5])
def test_posterior_grad_is_the_gradient_of_log_posterior(ab):
    for y in range(3):
        fd = _fd_grad(lambda z: np.log(g.class_posterior(MIX, z, ab)[:, y]), X)
        np.testing.assert_allclose(g.posterior_grad(MIX, X, y, ab), fd, rtol=1e-5, atol=1e-6)


def test_guided_score_at_one_is_conditional_and_at_zero_unconditional():
    for ab in (None, 0.7, 0.05):
        np.testing.assert_allclose(g.guided_score(MIX, X, 1, 1.0, ab), g.conditional_score(MIX, X, 1, ab),
                                   rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(g.guided_score(MIX, X, 1, 0.0, ab), g.unconditional_score(MIX, X, ab))


@pytest.mark.parametrize("scale", [0.0, 1.0, 3.0, 7.5])
def test_guided_score_is_the_gradient_of_the_sharpened_density(scale):
    for ab in (None, 0.4):
        fd = _fd_grad(lambda z: g.sharpened_log_density(MIX, z, 2, scale, ab), X)
        np.testing.assert_allclose(g.guided_score(MIX, X, 2, scale, ab), fd, rtol=1e-5, atol=1e-5)
        # and the sum form: uncond + s * grad log p(y|x)
        np.testing.assert_allclose(g.guided_score(MIX, X, 2, scale, ab),
                                   g.unconditional_score(MIX, X, ab) + scale * g.posterior_grad(MIX, X, 2, ab),
                                   rtol=1e-10, atol=1e-12)


def test_eps_form_is_the_score_form_times_minus_sqrt_one_minus_alpha_bar():
    ab, s = 0.36, 4.0
    eps_u = g.eps_from_score(g.unconditional_score(MIX, X, ab), ab)
    eps_c = g.eps_from_score(g.conditional_score(MIX, X, 0, ab), ab)
    np.testing.assert_allclose(cfg_eps(eps_u, eps_c, s), -0.8 * g.guided_score(MIX, X, 0, s, ab), rtol=1e-12)


def test_sharpened_density_normalised_and_equal_to_class_density_at_one():
    xs, ys, p = g.sharpened_density_grid(MIX, 0, 1.0, extent=5.0, n=201)
    cell = (xs[1] - xs[0]) ** 2
    assert p.sum() * cell == pytest.approx(1.0, rel=1e-12)
    # s = 1: exactly N(m_0, s_0^2 I), the class's own density
    pts = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    np.testing.assert_allclose(p.ravel(), gauss(pts, MIX.means[0], MIX.stds[0] ** 2), rtol=1e-6, atol=1e-9)


def test_spread_measures():
    pts = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) + 5.0
    assert g.spread(pts) == pytest.approx(1.0)
    d = g.sharpened_density_grid(MIX, 0, 1.0, extent=5.0, n=201)
    assert g.grid_spread(d) == pytest.approx(math.sqrt(2) * MIX.stds[0], rel=1e-4)


def test_sample_and_bad_class():
    x, lab = g.sample(MIX, 3000, seed=1)
    assert x.shape == (3000, 2) and set(lab) == {0, 1, 2}
    np.testing.assert_allclose(x[lab == 1].mean(axis=0), MIX.means[1], atol=0.05)
    with pytest.raises(ValueError, match="class"):
        g.guided_score_fn(MIX, 3, 2.0)


def test_guidance_sharpens_particles():
    sweep = sp.guidance_sweep(MIX, 0, make_schedule("cosine", 1000), scales=(0.0, 1.0, 3.0, 8.0))
    spread, conf = sweep["spread"], sweep["confidence"]
    # s = 0 ignores the class: the particles fill all three, about one third belongs to class 0
    assert spread[0] > 1.5 * spread[1] and conf[0] == pytest.approx(1 / 3, abs=0.06)
    assert spread[1] > spread[2] > spread[3]       # sharper with s ...
    assert conf[1] < conf[2] < conf[3] <= 1.0       # ... and more confident
    # at s = 1 the particles sample the class itself: spread close to the exact sqrt(2) * std
    assert spread[1] == pytest.approx(sweep["target_spread"][1], rel=0.08)
    assert sweep["target_spread"][1] == pytest.approx(math.sqrt(2) * MIX.stds[0], rel=1e-3)
    assert sweep["centre_distance"][3] > sweep["centre_distance"][1]  # pushed away from the other classes


def test_sweep_batch_equals_one_run_per_scale():
    sched = make_schedule("cosine", 1000)
    sweep = sp.guidance_sweep(MIX, 1, sched, scales=(0.5, 4.0), seed=3, num_levels=20, n_particles=50)
    for k, s in enumerate((0.5, 4.0)):
        one = sp.guided_particles(MIX, 1, s, sched, num_levels=20, n_particles=50, seed=3)
        np.testing.assert_allclose(sweep["ends"][k], one, rtol=1e-12, atol=1e-12)


def test_gmm_responsibilities_give_the_score():
    from explainer.core import toy2d

    w, m, s = MIX.weights, MIX.means, MIX.stds
    ab = 0.6
    r = toy2d.gmm_responsibilities(X, w, m, s, ab)
    np.testing.assert_allclose(r.sum(axis=1), 1.0, atol=1e-12)
    var = ab * s**2 + 1 - ab
    score = sum(r[:, [k]] * (math.sqrt(ab) * m[k] - X) / var[k] for k in range(3))
    np.testing.assert_allclose(toy2d.gmm_score(X, w, m, s, ab), score, rtol=1e-10, atol=1e-12)
