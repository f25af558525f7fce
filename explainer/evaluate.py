"""Measure the bundled MNIST model and write the figures into its model card.

    python -m explainer.evaluate [--per-class 100] [--seed 0] [--device cuda] [--only quality steps]

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

Quality against network calls (`--only steps`): DDIM, DDPM and DPM-Solver++(2M) at 5-50 steps,
guided, with the same three measures, into the card's "quality_vs_steps", and the fewest steps
of each sampler whose quality matches DDIM-50's.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import images
from .generate import generate, parse_labels
from .mnist import classify, load_digits, train_classifier
from .models import MODELS_DIR, load_pretrained
from .samplers import SAMPLER_LABELS


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


@lru_cache(maxsize=2)
def judge(seed: int = 0):
    """The real digits and the independent classifier, trained once per run and shared by the sections.

    Returns (classifier, its accuracy on held-out real digits, train_x, train_y, held_x, held_y).
    """
    train_x, train_y = load_digits("train")
    held_x, held_y = load_digits("heldout")
    t0 = time.time()
    clf = train_classifier(train_x, train_y, seed=seed)
    clf_acc = float((classify(clf, held_x) == held_y).mean())
    print(f"classifier: {clf_acc:.3f} on held-out real digits ({time.time() - t0:.0f} s)", file=sys.stderr)
    return clf, clf_acc, train_x, train_y, held_x, held_y


def evaluate(per_class: int = 100, seed: int = 0, directory: Path | None = None, device: str = "cpu") -> dict:
    directory = Path(directory or MODELS_DIR)
    pre = load_pretrained("mnist", device=device, directory=directory)
    rec = pre.card["recommended"]
    settings = dict(sampler=rec["sampler"], steps=rec["steps"], eta=rec["eta"], guidance=rec["guidance"],
                    spacing=rec["spacing"], clip_x0=rec["clip_x0"])
    clf, clf_acc, train_x, train_y, held_x, held_y = judge(seed)

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
        "command": f"python -m explainer.evaluate --per-class {per_class} --seed {seed}",
    }
    card_path = directory / "mnist.json"
    card = json.loads(card_path.read_text())
    card["quality"] = quality
    if directory == MODELS_DIR:
        from .bench import bench_mnist

        card["speed"] = {**bench_mnist(repeat=3), "torch_threads": torch.get_num_threads(),
                         "command": "python -m explainer.bench --only mnist"}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return quality


STEP_SAMPLERS = ("ddim", "ddpm", "dpm++2m")
STEP_COUNTS = (5, 10, 15, 20, 25, 50)
# "Matches DDIM-50": no more than this far below its figures. With 1,000 digits the binomial
# standard error of an accuracy near 99 % is 0.3 points; diversity is a ratio to real digits.
MATCH_ACCURACY = 0.01
MATCH_DIVERSITY = 0.02


def mean_class_diversity(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present of the mean pairwise L2 distance within a class."""
    return float(np.mean([mean_pairwise(x[labels == c]) for c in np.unique(labels)]))


def fewest_matching_steps(rows: list[dict], reference: dict) -> dict[str, int]:
    """Per sampler, the fewest steps whose accuracy and diversity are within MATCH_* of `reference`."""
    out = {}
    for r in sorted(rows, key=lambda r: r["steps"]):
        if (r["sampler"] not in out and r["accuracy"] >= reference["accuracy"] - MATCH_ACCURACY
                and r["diversity_vs_real"] >= reference["diversity_vs_real"] - MATCH_DIVERSITY):
            out[r["sampler"]] = r["steps"]
    return out


def quality_vs_steps(per_class: int = 100, seed: int = 0, directory: Path | None = None, device: str = "cpu",
                     samplers=None, step_counts=None, guidance: float = 3.0, write_card: bool = True) -> dict:
    """Quality against network calls: each sampler at each step count, guided, the same digits asked for.

    Every run starts from the same noise (seed) and asks for `per_class` digits of each class.
    A guided step is one network call on a doubled batch: 2 passes per digit (1 without guidance).
    Columns: accuracy as the asked class, diversity (mean within-class pairwise L2) over that of
    real held-out digits, median L2 to the nearest training digit (held-out real digits: see
    "real_heldout"). Written into the card as "quality_vs_steps" unless write_card is False.
    """
    directory = Path(directory or MODELS_DIR)
    pre = load_pretrained("mnist", device=device, directory=directory)
    rec = pre.card["recommended"]
    clf, clf_acc, train_x, _, held_x, held_y = judge(seed)
    samplers, step_counts = samplers or STEP_SAMPLERS, step_counts or STEP_COUNTS
    labels = np.repeat(np.arange(10), per_class)
    div_real = mean_class_diversity(held_x, held_y)
    passes = 2 if guidance != 1.0 else 1
    rows = []
    for sampler in samplers:
        for k in step_counts:
            t0 = time.time()
            gen = sample_many(pre, labels, seed, sampler=sampler, steps=k, eta=0.0, guidance=guidance,
                              spacing=rec["spacing"], clip_x0=rec["clip_x0"])
            seconds = time.time() - t0
            rows.append({"sampler": sampler, "steps": k, "network_passes_per_digit": passes * k,
                         "accuracy": round(float((classify(clf, gen) == labels).mean()), 4),
                         "diversity_vs_real": round(mean_class_diversity(gen, labels) / div_real, 4),
                         "nearest_training_l2_median": round(float(np.median(nearest_distances(gen, train_x))), 3),
                         "seconds": round(seconds, 2)})
            print(f"{sampler} {k} steps: {rows[-1]}", file=sys.stderr)
    reference = next((r for r in rows if r["sampler"] == "ddim" and r["steps"] == 50), None)
    result = {
        "settings": {"guidance": guidance, "spacing": rec["spacing"], "clip_x0": rec["clip_x0"], "eta": 0.0,
                     "generated_per_class": per_class, "device": str(pre.device)},
        "classifier_accuracy_on_heldout_real": round(clf_acc, 4),
        "real_heldout": {"diversity_mean_pairwise_l2": round(div_real, 3),
                         "nearest_training_l2_median": round(float(np.median(nearest_distances(held_x, train_x))),
                                                             3)},
        "rows": rows,
        "match_rule": f"accuracy at most {MATCH_ACCURACY:.0%} and diversity_vs_real at most {MATCH_DIVERSITY} "
                      "below DDIM-50's",
        "fewest_steps_matching_ddim50": fewest_matching_steps(rows, reference) if reference else {},
        "command": f"python -m explainer.evaluate --only steps --n-per-class {per_class} --seed {seed}"
                   + (f" --device {device}" if device != "cpu" else ""),
    }
    if write_card:
        card_path = directory / "mnist.json"
        card = json.loads(card_path.read_text())
        card["quality_vs_steps"] = result
        card_path.write_text(json.dumps(card, indent=2) + "\n")
    return result


def steps_table(result: dict) -> str:
    """The quality_vs_steps rows as a Markdown table."""
    lines = ["| sampler | steps | network passes per digit | accuracy | diversity / real | nearest training L2 "
             "(median) |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {SAMPLER_LABELS[r['sampler']]} | {r['steps']} | {r['network_passes_per_digit']} | "
                     f"{r['accuracy']:.1%} | {r['diversity_vs_real']:.3f} | {r['nearest_training_l2_median']:.2f} |")
    real = result["real_heldout"]
    lines.append(f"| real held-out digits | | | {result['classifier_accuracy_on_heldout_real']:.1%} | 1 | "
                 f"{real['nearest_training_l2_median']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m explainer.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", "--n-per-class", dest="per_class", type=int, default=100,
                   help="generated digits per class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dir", type=Path, default=None, help="model folder (default assets/models)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or mps (the classifier always runs on the CPU)")
    p.add_argument("--only", nargs="+", choices=sorted(SECTIONS), default=None,
                   help="run only these sections (default: all)")
    a = p.parse_args(argv)
    for name in a.only or SECTIONS:
        SECTIONS[name](a)


def _quality_section(a):
    q = evaluate(a.per_class, a.seed, a.dir, a.device)
    print(json.dumps({k: q[k] for k in ("accuracy_as_asked_class", "diversity_mean_pairwise_l2",
                                        "nearest_training_l2", "unconditional_class_histogram")}, indent=2))


def _steps_section(a):
    print(steps_table(quality_vs_steps(a.per_class, a.seed, a.dir, a.device)))


# The sections of `--only`, in the order they run by default.
SECTIONS = {"quality": _quality_section, "steps": _steps_section}


if __name__ == "__main__":
    main()
