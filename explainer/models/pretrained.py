"""Pretrained models bundled in assets/models/: loading, saving and device choice.

Each model is two files: `NAME.safetensors` (weights only, no pickle) and
`NAME.json`, its model card (architecture, schedule, training, measured
quality and speed). `load_pretrained` rebuilds the net from the card.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .nets import TinyUNet, ToyMLP
from ..core.schedules import NoiseSchedule, make_schedule

MODELS_DIR = Path(__file__).resolve().parents[2] / "assets" / "models"
TOY_MODELS = ("swiss_roll", "moons", "gaussian_mixture", "checkerboard")
REBUILD = {
    "mnist": "python -m explainer.train mnist",
    **{f"toy2d_{d}": f"python -m explainer.train toy2d --dataset {d}" for d in TOY_MODELS},
}


SNAPSHOT_DIR = "mnist_snapshots"  # the MNIST model at earlier training steps, next to its card


class ModelError(RuntimeError):
    """A bundled model is missing or unreadable; the message names the file and the fix."""


@dataclass
class Pretrained:
    name: str
    model: torch.nn.Module
    schedule: NoiseSchedule
    card: dict
    device: torch.device


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """An explicit device is honoured; None picks CUDA, then Apple MPS, then CPU."""
    if device is not None and str(device) != "auto":
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ModelError("CUDA was asked for but no CUDA GPU is available here; use 'cpu'.")
        if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ModelError("Apple MPS was asked for but is not available here; use 'cpu'.")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[str]:
    devs = ["cpu"]
    if torch.cuda.is_available():
        devs.insert(0, "cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        devs.insert(0, "mps")
    return devs


def build_net(card: dict) -> torch.nn.Module:
    arch = card["architecture"]
    if arch["class"] == "TinyUNet":
        return TinyUNet(**arch["config"])
    if arch["class"] == "ToyMLP":
        return ToyMLP(**arch["config"])
    raise ModelError(f"unknown architecture {arch['class']!r} in model card")


def schedule_from_card(card: dict) -> NoiseSchedule:
    s = card["schedule"]
    return make_schedule(s["name"], s["num_steps"], **s.get("params", {}))


def save_pretrained(model: torch.nn.Module, card: dict, name: str, directory: Path | None = None) -> Path:
    directory = Path(directory or MODELS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / f"{name}.safetensors"))
    (directory / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return directory / f"{name}.safetensors"


def load_card(name: str, directory: Path | None = None) -> dict:
    path = Path(directory or MODELS_DIR) / f"{name}.json"
    fix = REBUILD.get(name, "the project's training command")
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"The model card {path} is missing. Rebuild it with: {fix}") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"The model card {path} is unreadable ({e}). Rebuild it with: {fix}") from None


def load_pretrained(name: str, device: str | torch.device | None = None,
                    directory: Path | None = None) -> Pretrained:
    """The bundled model `name` ('mnist' or 'toy2d_<dataset>') in eval mode on `device`."""
    directory = Path(directory or MODELS_DIR)
    card = load_card(name, directory)
    path = directory / f"{name}.safetensors"
    fix = REBUILD.get(name, "the project's training command")
    dev = pick_device(device)
    try:
        state = load_file(str(path))
    except FileNotFoundError:
        raise ModelError(f"The weights file {path} is missing. Rebuild it with: {fix}") from None
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise ModelError(f"The weights file {path} is corrupt ({e}). Rebuild it with: {fix}") from None
    model = _ready_model(card, state, dev, f"The weights in {path} do not match its model card", fix)
    return Pretrained(name=name, model=model, schedule=schedule_from_card(card), card=card, device=dev)


def _ready_model(card: dict, state: dict, dev: torch.device, mismatch: str, fix: str) -> torch.nn.Module:
    """The card's network with these weights, in eval mode on dev, without gradients."""
    try:
        model = build_net(card)
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as e:
        raise ModelError(f"{mismatch} ({e}). Rebuild with: {fix}") from None
    model = model.to(dev).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


# ------------------------------------------------------------------ training snapshots

def snapshot_file(folder: Path, step: int) -> Path:
    """Where the snapshot of `step` lies in a snapshot folder: step_000250.safetensors."""
    return Path(folder) / f"step_{int(step):06d}.safetensors"


def snapshot_steps(directory: Path | None = None) -> list[int]:
    """The training steps of the MNIST model's bundled snapshots that are listed in its card and present."""
    directory = Path(directory or MODELS_DIR)
    try:
        card = load_card("mnist", directory)
    except ModelError:
        return []
    listed = card.get("training", {}).get("snapshots", {}).get("steps", [])
    return [int(s) for s in listed if snapshot_file(directory / SNAPSHOT_DIR, s).exists()]


def load_snapshot(step: int, device: str | torch.device | None = None, directory: Path | None = None) -> Pretrained:
    """The MNIST model as it was after `step` training steps (float16 EMA weights, run in float32)."""
    directory = Path(directory or MODELS_DIR)
    card = load_card("mnist", directory)
    path = snapshot_file(directory / SNAPSHOT_DIR, step)
    fix = "python -m explainer.train mnist --snapshots ..."
    try:
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    except FileNotFoundError:
        raise ModelError(f"No snapshot of step {step} at {path}. Write them with: {fix}") from None
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise ModelError(f"The snapshot {path} is corrupt ({e}). Write it again with: {fix}") from None
    dev = pick_device(device)
    model = _ready_model(card, state, dev, f"The snapshot {path} does not match the model card", fix)
    return Pretrained(name=f"mnist@{step}", model=model, schedule=schedule_from_card(card), card=card, device=dev)
