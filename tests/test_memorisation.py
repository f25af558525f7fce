"""explainer.models.memorisation: nearest neighbours are right (the bundled digits: tests/test_bundled_digits.py)."""
import numpy as np
import pytest

from explainer.models import memorisation as mem
from explainer.models.bundled_digits import load_bundle


def test_nearest_on_a_tiny_set_against_brute_force():
    rng = np.random.default_rng(0)
    ref = rng.uniform(-1, 1, (30, 4, 4))
    q = np.concatenate([ref[[7]], rng.uniform(-1, 1, (5, 4, 4))])  # the first query is a copy of ref[7]
    idx, dist = mem.nearest(q, ref, k=3)
    brute = np.sqrt(((q.reshape(6, 1, -1) - ref.reshape(1, 30, -1)) ** 2).sum(-1))
    order = np.argsort(brute, axis=1)[:, :3]
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_allclose(dist, np.take_along_axis(brute, order, 1), atol=1e-3)
    assert idx[0, 0] == 7 and dist[0, 0] == pytest.approx(0.0, abs=1e-3)
    np.testing.assert_allclose(mem.nearest_distances(q, ref), dist[:, 0])
    assert mem.nearest(q, ref[:2], k=5)[0].shape == (6, 2)  # k is capped by the reference size
    with pytest.raises(ValueError, match="pixels"):
        mem.nearest(q, rng.uniform(size=(3, 5, 5)))


def test_share_closer_and_summary():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(mem.share_closer([0.5, 2.5, 9.0], ref), [0.0, 0.5, 1.0])
    s = mem.summary(np.array([0.5, 3.5]), ref, low_quantile=0.25)
    assert s["n"] == 2 and s["median"] == 2.0 and s["reference_median"] == 2.5
    assert s["reference_low"] == pytest.approx(1.75) and s["n_below_low"] == 1 and s["n_below_reference_min"] == 1


def test_no_heldout_digit_is_a_training_digit():
    assert mem.heldout_reference(load_bundle())[0] > 1.0
