"""The settle plot's title and the reverse page's sentence say the order this digit settled in (issue 16, item 12).

The trajectories are built here so that the order is known by construction: one wave is wrong in every
guess but the last few, everything else is right from the first guess.
"""
import numpy as np
import pytest

from explainer.core import spectral
from explainer.lessons import sampling_figures, spectrum_facts
from explainer.models.bundled_digits import load_bundle

K = 8          # guesses of x0
LATE = 6       # the wrong wave is fixed from this guess on


def _trajectory(cycles_per_pixel: float) -> tuple[np.ndarray, np.ndarray]:
    """Guesses of a digit that are exact except for a strong wave of the given frequency until guess LATE."""
    final = load_bundle().evaluation[0].astype(np.float64)
    xx = np.arange(28)[None, :]
    wave = 2.0 * np.cos(2 * np.pi * cycles_per_pixel * xx) * np.ones((28, 1))
    guesses = np.stack([final + (wave if k < LATE else 0.0) for k in range(K)])
    return guesses, final


@pytest.mark.parametrize("late, coarsest_first", [(1 / 28, False), (0.5, True)])
def test_the_title_says_which_settled_first(late, coarsest_first):
    freqs, settle = spectral.settle_steps(*_trajectory(late))
    # by construction: the ring holding the wave settles at LATE, the other end of the spectrum at once
    late_ring = int(np.argmin(np.abs(freqs - late)))
    assert settle[late_ring] == LATE
    assert (settle[0] < settle[-1]) == coarsest_first and settle[0] != settle[-1]
    title = sampling_figures.settle_figure(freqs, settle, K - 1).layout.title.text
    if coarsest_first:
        assert title.endswith(": the coarsest waves settle before the finest")
    else:
        assert title.endswith(": the finest waves settle before the coarsest")
    assert "coarse first" not in title


def test_the_order_in_words_at_the_three_cases():
    assert [spectral.settle_direction(np.array(s)) for s in ([2, 5, 7], [7, 5, 2], [4, 1, 4])] == [1, -1, 0]
    assert spectrum_facts.settle_order(np.array([2, 5, 7])) == "the coarsest waves settle before the finest"
    assert spectrum_facts.settle_order(np.array([7, 5, 2])) == "the finest waves settle before the coarsest"
    assert (spectrum_facts.settle_order(np.array([4, 1, 4]))
            == "the coarsest and the finest waves settle at the same step")
    title = sampling_figures.settle_figure(np.array([0.1, 0.2]), np.array([3, 3]), 9).layout.title.text
    assert title.endswith("the coarsest and the finest waves settle at the same step")
