"""explainer/toy_models.py: from a noise prediction to a score, and how far a score field is from the exact one."""
import math

import numpy as np
import pytest
import torch

from explainer.core.schedules import make_schedule
from explainer.core.toy2d import empirical_score, gaussian_mixture_params, gmm_score, make_dataset
from explainer.models.toy_models import eps_to_score, learned_score_fn, nearest_timestep, score_relative_error

S = make_schedule("cosine", 1000)


@pytest.mark.parametrize("ab", [0.999, 0.5, 0.01])
def test_eps_to_score_is_the_score_of_the_gaussian_kernel(ab):
    """One data point x0: q_t = N(sqrt(ab) x0, (1 - ab) I), whose score at x_t = sqrt(ab) x0 + sqrt(1 - ab) eps
    is -(x_t - sqrt(ab) x0) / (1 - ab) = -eps / sqrt(1 - ab)."""
    rng = np.random.default_rng(0)
    x0 = np.array([[0.8, -1.3]])
    eps = rng.standard_normal((50, 2))
    x_t = math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps
    np.testing.assert_allclose(eps_to_score(eps, ab), empirical_score(x0, x_t, ab), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(eps_to_score(eps, ab), -eps / math.sqrt(1 - ab), rtol=1e-12)


def test_eps_to_score_of_the_posterior_mean_noise_is_the_mixture_score():
    """For a mixture, E[eps | x_t] = -sqrt(1 - ab) * score (Tweedie): eps_to_score inverts it exactly."""
    w, mu, sd = gaussian_mixture_params()
    x = np.random.default_rng(1).standard_normal((40, 2)) * 2
    ab = 0.3
    mean_eps = -math.sqrt(1 - ab) * gmm_score(x, w, mu, sd, ab)
    np.testing.assert_allclose(eps_to_score(mean_eps, ab), gmm_score(x, w, mu, sd, ab), rtol=1e-12)


class ExactEps(torch.nn.Module):
    """An eps-model that is exact for data made of one point x0: (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t)."""

    def __init__(self, x0):
        super().__init__()
        self.x0 = torch.nn.Parameter(torch.as_tensor(x0, dtype=torch.float32), requires_grad=False)
        self.seen_t = []

    def forward(self, x, t):
        self.seen_t.append(t.clone())
        ab = torch.as_tensor(S.alpha_bars, dtype=torch.float32)[t].unsqueeze(1)
        return (x - ab.sqrt() * self.x0) / (1 - ab).sqrt()


def test_learned_score_fn_of_an_exact_model_is_the_exact_score():
    x0 = np.array([[0.5, 1.0]])
    model = ExactEps(x0[0])
    score_fn = learned_score_fn(model, S)
    x = np.random.default_rng(2).standard_normal((30, 2))
    for t in (10, 300, 900):
        ab = float(S.alpha_bars[t])
        np.testing.assert_allclose(score_fn(x, ab), empirical_score(x0, x, ab), rtol=1e-4, atol=1e-4)
        assert (model.seen_t[-1] == t).all() and nearest_timestep(S, ab) == t


def test_score_relative_error_is_zero_for_the_exact_field_and_exact_for_known_wrong_ones():
    data = make_dataset("moons", 300, seed=0)
    ts = (50, 400, 800)

    def scaled(c):
        return lambda x, ab: c * empirical_score(data, x, ab)

    def rotated(x, ab):  # the exact field turned by 90 degrees: ||R s - s|| = sqrt(2) ||s||
        s = empirical_score(data, x, ab)
        return np.stack([-s[:, 1], s[:, 0]], axis=1)

    exact = score_relative_error(scaled(1.0), data, S, ts, n=500)
    assert list(exact) == list(ts) and all(v == pytest.approx(0.0, abs=1e-12) for v in exact.values())
    for fn, want in ((scaled(2.0), 1.0), (scaled(0.0), 1.0), (scaled(1.5), 0.5), (rotated, math.sqrt(2))):
        got = score_relative_error(fn, data, S, ts, n=500)
        assert all(v == pytest.approx(want, rel=1e-9) for v in got.values()), (want, got)


def test_score_relative_error_weights_points_by_the_noised_data():
    """The points it compares at are drawn from q_t: sqrt(ab) x0 + sqrt(1 - ab) eps for x0 from the data."""
    data = np.tile([[4.0, -2.0]], (100, 1)) + np.random.default_rng(3).standard_normal((100, 2)) * 0.01
    seen = {}

    def recorder(x, ab):
        seen[round(ab, 9)] = x.copy()
        return empirical_score(data, x, ab)

    score_relative_error(recorder, data, S, (200, 700), n=4000, seed=5)
    for t in (200, 700):
        ab = float(S.alpha_bars[t])
        x = seen[round(ab, 9)]
        np.testing.assert_allclose(x.mean(axis=0), math.sqrt(ab) * np.array([4.0, -2.0]), atol=0.05)
        np.testing.assert_allclose(x.std(axis=0), math.sqrt(1 - ab), rtol=0.05)
    # Seeded: the same points and the same figure again.
    assert score_relative_error(lambda x, ab: 0 * x, data, S, (200,), seed=5) == \
        score_relative_error(lambda x, ab: 0 * x, data, S, (200,), seed=5)
