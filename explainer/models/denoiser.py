"""What the trained denoiser does with one real digit: a training step, four readings, the wrong time.

The model-facing half of the learning lesson (the math is in `explainer.core.objectives`):
each function makes one batched network call over many timesteps and returns plain
arrays; `explainer.lessons.denoising_framesets` arranges them as frame sets, so a slider
over t (or t') moves in the browser without asking the server again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core import objectives
from ..core.forward import q_sample
from ..core.schedules import NoiseSchedule
from .pretrained import Pretrained

#: Values of t (or t′) a learning-page scrubber visits, as the other scrubbers: one batched network call.
#: Each student with their own seed needs their own set, so it is kept small.
LEARN_FRAMES = 32

PIXELS = 28 * 28


def eps_fn(pre: Pretrained) -> objectives.EpsFn:
    """The bundled model as eps_fn(x_t, t, labels) on CPU tensors: runs on its device, answers on the CPU."""
    dev = pre.device

    def run(x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return pre.model(x_t.to(dev), t.to(dev), labels.to(dev)).float().cpu()
    return run


def class_label(choice: str, true_label: int | None, null_label: int) -> int:
    """The label the model is told: 'true' (the digit's own class; none if unknown), 'none', or a digit '0'-'9'."""
    if choice == "true":
        return null_label if true_label is None else int(true_label)
    if choice == "none":
        return null_label
    value = int(choice)
    if not 0 <= value <= 9:
        raise ValueError(f"class must be 'true', 'none' or 0-9, not {choice!r}")
    return value


def digit_noise(seed: int, shape: tuple = (28, 28)) -> np.ndarray:
    """The noise eps ~ N(0, I) for one digit, fixed by the seed (the same at every t, so only the scale moves)."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(int(seed))).numpy()


def _image_tensor(x: np.ndarray) -> torch.Tensor:
    """A 28x28 image as a (1, 1, 28, 28) float32 tensor (a copy: cached arrays are read-only)."""
    return torch.from_numpy(np.array(x, dtype=np.float32, copy=True)).reshape(1, 1, 28, 28)


@dataclass
class StepFrames:
    """One digit through Algorithm 1 at every t in ts: x_t, eps_hat and the loss (arrays (K, 28, 28), (K,))."""

    ts: list[int]
    x0: np.ndarray
    eps: np.ndarray
    x_t: np.ndarray
    eps_hat: np.ndarray
    loss: np.ndarray
    label: int


def training_steps(pre: Pretrained, x0: np.ndarray, eps: np.ndarray, ts, label: int) -> StepFrames:
    """The same x0 and eps at every t in ts, one batched call (Ho et al. 2020, Algorithm 1 without the update)."""
    return training_steps_by_label(pre, x0, eps, ts, [label])[int(label)]


def training_steps_by_label(pre: Pretrained, x0: np.ndarray, eps: np.ndarray, ts, labels) -> dict[int, StepFrames]:
    """`training_steps` for several labels (the class, none, a wrong one) in one batched network call.

    One batch of 96 runs about a quarter faster per image than three of 32 on a CPU.
    """
    ts = [int(t) for t in ts]
    labels = list(dict.fromkeys(int(lab) for lab in labels))
    k, n = len(ts), len(ts) * len(labels)
    x0_b = _image_tensor(x0).expand(n, 1, 28, 28)
    eps_b = _image_tensor(eps).expand(n, 1, 28, 28)
    out = objectives.training_step(eps_fn(pre), pre.schedule, x0_b, torch.tensor(ts * len(labels)), eps_b,
                                   torch.tensor([lab for lab in labels for _ in ts], dtype=torch.long))
    x0_np, eps_np = np.asarray(x0, dtype=np.float32), np.asarray(eps, dtype=np.float32)
    return {lab: StepFrames(ts=ts, x0=x0_np, eps=eps_np, x_t=out["x_t"][i * k:(i + 1) * k, 0].numpy(),
                            eps_hat=out["eps_hat"][i * k:(i + 1) * k, 0].numpy(),
                            loss=out["loss"][i * k:(i + 1) * k].double().numpy(), label=lab)
            for i, lab in enumerate(labels)}


def readings(sf: StepFrames, schedule: NoiseSchedule) -> dict[str, np.ndarray]:
    """The four readings (eps, x0, score, v; objectives.four_readings) of every eps_hat, in float64."""
    ab = schedule.alpha_bars[np.asarray(sf.ts)][:, None, None]
    return objectives.four_readings(sf.eps_hat.astype(np.float64), sf.x_t.astype(np.float64), ab)


def round_trip_error(r: dict[str, np.ndarray], x_t: np.ndarray, alpha_bar: np.ndarray) -> np.ndarray:
    """max |eps_hat - eps recovered from each other reading|, per frame: zero up to rounding."""
    ab = np.asarray(alpha_bar, dtype=np.float64)[:, None, None]
    x = x_t.astype(np.float64)
    errs = [np.abs(objectives.to_eps(k, r[k], x, ab) - r["eps"]).reshape(len(ab), -1).max(1) for k in ("x0", "score", "v")]
    return np.max(errs, axis=0)


@dataclass
class WrongTime:
    """The same x_t told every t' in t_primes: eps_hat, x0_hat (K, 28, 28) and their errors (K,)."""

    t: int
    t_primes: list[int]
    x0: np.ndarray
    eps: np.ndarray
    x_t: np.ndarray
    eps_hat: np.ndarray
    x0_hat: np.ndarray
    eps_mse: np.ndarray
    x0_mse: np.ndarray
    label: int

    @property
    def best_t_prime(self) -> int:
        """The t' with the smallest eps-loss."""
        return int(self.t_primes[int(np.argmin(self.eps_mse))])


def wrong_time(pre: Pretrained, x0: np.ndarray, eps: np.ndarray, t: int, t_primes, label: int) -> WrongTime:
    """x_t made at the true t, then given to the model with each t' (objectives.loss_vs_wrong_time)."""
    x0_t, eps_t = _image_tensor(x0), _image_tensor(eps)
    x_t = q_sample(pre.schedule, x0_t, int(t), eps_t)
    tp = [int(v) for v in t_primes]
    out = objectives.loss_vs_wrong_time(eps_fn(pre), pre.schedule, x_t, eps_t, x0_t, tp, label)
    return WrongTime(t=int(t), t_primes=tp, x0=np.asarray(x0, dtype=np.float32), eps=np.asarray(eps, np.float32),
                     x_t=x_t[0, 0].numpy(), label=int(label), **out)
