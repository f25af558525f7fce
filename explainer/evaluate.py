"""Measure the bundled MNIST model and write the figures into its model card.

    python -m explainer.evaluate [--per-class 100] [--seed 0]
    python -m explainer.evaluate --quick --dir DIR     # a smoke run of the whole pipeline (seconds)

Quality, with the card's recommended sampler settings:
- accuracy: the share of generated digits that an independent classifier
  (explainer.mnist.DigitClassifier, trained on the 4,500 training digits,
  its own accuracy measured on the 500 held-out real digits) assigns to the
  class that was asked for;
- diversity: mean pairwise L2 distance within each class, generated against
  real held-out digits of that class (close means no mode collapse);
- memorisation: the L2 distance from each generated digit to its nearest
  training digit, against the same for held-out real digits (a model that
  copies its training set would sit far below the held-out digits);
- unconditional samples: how the classifier spreads them over the ten classes.
Sample grids per class are written next to the card, in assets/models/mnist_samples/.
`--quick` runs every part small (a one-epoch classifier on 1,000 digits, 10 sampling
steps, 4 digits per class): its figures say nothing about the model, so it only
writes into a copy of the model (`--dir`), never into the bundled card.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import images
from .generate import generate, parse_labels
from .mnist import classify, load_digits, train_classifier
from .models import MODELS_DIR, load_pretrained


def nearest_distances(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """L2 distance of each query image to its nearest reference image (flattened pixels in [-1, 1])."""
    q = torch.as_tensor(queries.reshape(len(queries), -1), dtype=torch.float32)
    r = torch.as_tensor(reference.reshape(len(reference), -1), dtype=torch.float32)
    return torch.cdist(q, r).min(dim=1).values.numpy()


def mean_pairwise(x: np.ndarray) -> float:
    f = torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float32)
    d = torch.cdist(f, f)
    n = len(f)
    return float(d.sum() / (n * (n - 1)))


def sample_many(pre, labels: np.ndarray, seed: int, batch: int = 100, **settings) -> np.ndarray:
    out = []
    for i in range(0, len(labels), batch):
        out.append(generate(pre, labels[i:i + batch], seed=seed + i, **settings).images)
    return np.concatenate(out)


def evaluate(per_class: int = 100, seed: int = 0, directory: Path | None = None, quick: bool = False) -> dict:
    directory = Path(directory or MODELS_DIR)
    pre = load_pretrained("mnist", device="cpu", directory=directory)
    rec = pre.card["recommended"]
    settings = dict(sampler=rec["sampler"], steps=min(rec["steps"], 10) if quick else rec["steps"], eta=rec["eta"],
                    guidance=rec["guidance"], spacing=rec["spacing"], clip_x0=rec["clip_x0"])
    train_x, train_y = load_digits("train")
    held_x, held_y = load_digits("heldout")

    t0 = time.time()
    n_clf = 1000 if quick else len(train_x)
    clf = train_classifier(train_x[:n_clf], train_y[:n_clf], seed=seed, epochs=1 if quick else 12)
    clf_acc = float((classify(clf, held_x) == held_y).mean())
    print(f"classifier: {clf_acc:.3f} on held-out real digits ({time.time() - t0:.0f} s)", file=sys.stderr)

    labels = np.repeat(np.arange(10), per_class)
    t0 = time.time()
    gen = sample_many(pre, labels, seed, **settings)
    print(f"sampled {len(gen)} digits in {time.time() - t0:.0f} s", file=sys.stderr)
    pred = classify(clf, gen)
    per_class_acc = {str(c): float((pred[labels == c] == c).mean()) for c in range(10)}

    div_gen = {str(c): mean_pairwise(gen[labels == c]) for c in range(10)}
    div_real = {str(c): mean_pairwise(held_x[held_y == c]) for c in range(10)}
    nn_gen = nearest_distances(gen, train_x)
    nn_held = nearest_distances(held_x, train_x)

    unc = sample_many(pre, parse_labels("none", 10 * per_class // 2), seed + 10_000, **settings)
    unc_pred = classify(clf, unc)

    out_dir = directory / "mnist_samples"
    out_dir.mkdir(exist_ok=True)
    for c in range(10):
        grid = images.digit_grid(gen[labels == c][:64])
        (out_dir / f"class_{c}.png").write_bytes(images.encode_png(images.upscale(grid, 2)))
    overview = images.image_grid([gen[labels == c][j] for j in range(min(10, per_class)) for c in range(10)], ncol=10, pad=2,
                                 pad_value=128)
    (out_dir / "all_classes.png").write_bytes(images.encode_png(images.upscale(overview, 3)))
    grid = images.digit_grid(unc[:100], ncol=10)
    (out_dir / "unconditional.png").write_bytes(images.encode_png(images.upscale(grid, 3)))

    quality = {
        "settings": settings,
        "classifier": {"model": "explainer.mnist.DigitClassifier (2 conv layers), trained on the 4,500 "
                                "training digits with +-2 px shifts, 12 epochs, seed %d" % seed,
                       "accuracy_on_heldout_real": round(clf_acc, 4)},
        "generated_per_class": per_class,
        "accuracy_as_asked_class": round(float((pred == labels).mean()), 4),
        "accuracy_per_class": {k: round(v, 3) for k, v in per_class_acc.items()},
        "diversity_mean_pairwise_l2": {"generated": round(float(np.mean(list(div_gen.values()))), 3),
                                       "real_heldout": round(float(np.mean(list(div_real.values()))), 3),
                                       "per_class_generated": {k: round(v, 2) for k, v in div_gen.items()},
                                       "per_class_real": {k: round(v, 2) for k, v in div_real.items()}},
        "nearest_training_l2": {"generated_median": round(float(np.median(nn_gen)), 3),
                                "heldout_real_median": round(float(np.median(nn_held)), 3),
                                "generated_min": round(float(nn_gen.min()), 3),
                                "heldout_real_min": round(float(nn_held.min()), 3),
                                "share_generated_closer_than_heldout_1st_percentile":
                                    round(float((nn_gen < np.percentile(nn_held, 1)).mean()), 4)},
        "unconditional_class_histogram": np.bincount(unc_pred, minlength=10).tolist(),
        "sample_grids": "assets/models/mnist_samples/",
        "command": f"python -m explainer.evaluate --per-class {per_class} --seed {seed}" + (" --quick" if quick else ""),
    }
    if quick:
        quality["quick"] = "a smoke run (small classifier, 10 steps, few digits): not the model's quality"
    card_path = directory / "mnist.json"
    card = json.loads(card_path.read_text())
    card["quality"] = quality
    if directory == MODELS_DIR and not quick:
        from .bench import bench_mnist

        card["speed"] = {**bench_mnist(repeat=3), "torch_threads": torch.get_num_threads(),
                         "command": "python -m explainer.bench --only mnist"}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return quality


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m explainer.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, default=None, help="digits per class (default 100; 4 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dir", type=Path, default=None, help="model folder (default assets/models)")
    p.add_argument("--quick", action="store_true", help="a small smoke run of every part; needs --dir")
    a = p.parse_args(argv)
    if a.quick and (a.dir is None or a.dir.resolve() == MODELS_DIR.resolve()):
        p.error("--quick would put smoke-run figures into the bundled model card; pass --dir with a copy")
    per_class = a.per_class or (4 if a.quick else 100)
    if per_class < 2:
        p.error("--per-class must be at least 2 (diversity compares digits within a class)")
    q = evaluate(per_class, a.seed, a.dir, quick=a.quick)
    print(json.dumps({k: q[k] for k in ("accuracy_as_asked_class", "diversity_mean_pairwise_l2",
                                        "nearest_training_l2", "unconditional_class_histogram")}, indent=2))


if __name__ == "__main__":
    main()
