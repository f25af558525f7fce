"""Is the model copying? Nearest training digits, against real digits it never saw.

A generative model that memorised its training set would produce near-copies of
training digits: their distance to the nearest training digit would be far
smaller than that of a *new* real digit. The yardstick is therefore the
distribution of nearest-training distances of the 500 held-out real digits
(`explainer.models.mnist.load_digits("heldout")`, which the model never trained on):
a generated digit that lies as far from the training set as real new digits do
is as "new" as they are (Carlini et al. 2023, "Extracting training data from
diffusion models", use the same nearest-neighbour test with a stricter distance).

Distances are Euclidean (L2) over the 784 pixels in [-1, 1], white ink on black,
the units of the model's input. Two identical digits are at 0; an all-black and an
all-white image at 2 * sqrt(784) = 56.

The digits ship with the app (`explainer.models.bundled_digits`), so the page needs no
training dependency.
"""
from __future__ import annotations

import numpy as np
import torch

from .bundled_digits import Digits


def nearest(queries: np.ndarray, reference: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(indices (N, k), distances (N, k)) of the k nearest reference images to each query, closest first.

    L2 distance over the flattened pixels. Computed as one matrix product (torch.cdist with the
    matmul expansion ||q||^2 + ||r||^2 - 2 q.r), in float32: distances come out within about 1e-3
    of the exact ones, far below the gaps that matter here (a few units).
    """
    q = torch.as_tensor(np.asarray(queries, dtype=np.float32).reshape(len(queries), -1))
    r = torch.as_tensor(np.asarray(reference, dtype=np.float32).reshape(len(reference), -1))
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} pixels, the reference images {r.shape[1]}")
    k = int(min(max(k, 1), len(r)))
    d = torch.cdist(q, r)
    dist, idx = torch.topk(d, k, dim=1, largest=False, sorted=True)
    return idx.numpy(), dist.numpy()


def nearest_distances(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """L2 distance of each query image to its nearest reference image, (N,)."""
    return nearest(queries, reference, 1)[1][:, 0]


def heldout_reference(digits: Digits) -> np.ndarray:
    """Nearest-training distances of the held-out real digits, sorted ascending: the yardstick."""
    return np.sort(nearest_distances(digits.heldout, digits.train))


def share_closer(distances, reference: np.ndarray) -> np.ndarray:
    """For each distance, the share of held-out real digits that lie closer to the training set.

    0 means closer than every real new digit (a suspect copy); 0.5 is a typical new digit.
    `reference` must be sorted (as `heldout_reference` returns it).
    """
    return np.searchsorted(reference, np.asarray(distances, dtype=np.float64), side="left") / len(reference)


def summary(distances, reference: np.ndarray, low_quantile: float = 0.01) -> dict:
    """Numbers a page states about generated digits' nearest-training distances against the held-out ones."""
    distances = np.asarray(distances, dtype=np.float64)
    low = float(np.quantile(reference, low_quantile))
    return {"n": int(len(distances)), "median": float(np.median(distances)),
            "min": float(distances.min()), "reference_median": float(np.median(reference)),
            "reference_min": float(reference[0]), "low_quantile": low_quantile, "reference_low": low,
            "n_below_low": int((distances < low).sum()),
            "n_below_reference_min": int((distances < reference[0]).sum()),
            "median_share_closer": float(np.median(share_closer(distances, reference)))}



def copy_verdict(s: dict) -> str:
    """What a page says about copying, from `summary`, and the test it rests on.

    The test is pixel L2 to the nearest training digit against the same for real digits the model never
    saw. It finds pixel-for-pixel copies only: a training digit moved by one pixel passes it (tests check both).
    """
    k, low = s["n_below_low"], f"the closest {100 * s['low_quantile']:g} % of real new digits"
    if k == 0:
        return (f"None of them is closer to a training digit than {low}: by this test (L2 over the pixels to the "
                "nearest training digit), no sign of copying. It finds pixel-for-pixel copies only; a training "
                "digit moved by one pixel would pass it.")
    return (f"{k} of them {'is' if k == 1 else 'are'} closer than {low}: look at those groups above, they may be "
            "near-copies.")
