"""Sentences with computed facts about spectra: the order in which the rings of x0_hat settle."""
from __future__ import annotations

import numpy as np

from ..core.spectral import settle_direction

_SETTLE_ORDER = {
    1: "the coarsest waves settle before the finest",
    -1: "the finest waves settle before the coarsest",
    0: "the coarsest and the finest waves settle at the same step",
}


def settle_order(settle: np.ndarray) -> str:
    """Which settles first, the coarsest ring or the finest (`spectral.settle_direction`), in words.

    A picture that forms coarse to fine settles its coarsest ring first; this says what this one did.
    """
    return _SETTLE_ORDER[settle_direction(settle)]
