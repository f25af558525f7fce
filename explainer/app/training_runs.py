"""The bundled model learning to denoise, cached for every session: a training step (Algorithm 1) at
every t, the model told the wrong time, samples from snapshots taken during training, and the exact
variational bound of 1-D data.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ..core import elbo
from ..lessons import denoising_framesets, framesets, image_arrays
from ..models import denoiser, pretrained
from ..models.denoiser import LEARN_FRAMES  # values of t a learning-page scrubber visits
from ..models.generate import generate, parse_labels
from .caches import page_run
from .resources import get_model, get_schedule


def comparison_labels(label: int, true_label: int | None, null_label: int) -> dict[str, int]:
    """The labels whose loss curves section 1 draws: the digit's own class, none, and a wrong class."""
    out = {}
    if true_label is not None:
        out[f"own class ({true_label})"] = int(true_label)
    out["no class (∅)"] = null_label
    if label not in (null_label, true_label):
        wrong = label
    elif true_label is not None:
        wrong = (true_label + 1) % 10
    else:
        return out
    out[f"class {wrong}" + (" (wrong)" if true_label is not None else "")] = int(wrong)
    return out


def learning_frames(ident: str, label: int, true_label: int | None, seed: int, device: str,
                    _x0: np.ndarray) -> tuple[list[int], bytes, bytes, dict[str, np.ndarray]]:
    """Sections 'one training step' and 'four readings' for one digit: (ts, frames, frames, losses by class)."""
    pre = get_model("mnist", device)
    ts = framesets.frame_indices(pre.schedule.num_steps, LEARN_FRAMES)
    labels = comparison_labels(label, true_label, pre.model.null_label)

    def network():  # the digit told its class, and the comparison labels (no class, a wrong one): one call
        steps = denoiser.training_steps_by_label(pre, _x0, denoiser.digit_noise(seed), ts, [label, *labels.values()])
        compare = {name: steps[lab].loss for name, lab in labels.items()}
        for v in compare.values():
            v.setflags(write=False)  # shared by every session that opens this digit with this seed
        return steps[label], compare

    def encode(raw):
        sf, compare = raw
        label_t = "Timestep t (0 = almost clean, T−1 = pure noise)"
        training = denoising_framesets.training_frameset(sf, pre.schedule, pre.model.null_label, label_t, compare)
        readings = denoising_framesets.readings_frameset(sf, pre.schedule, label_t)
        return ts, training.to_bytes(), readings.to_bytes(), compare

    return page_run(("learning_frames", ident, label, true_label, seed, device), network, encode,
                    f"Running the model at {LEARN_FRAMES} noise levels ...", cost=len(labels) * LEARN_FRAMES)


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def training_step_at(ident: str, label: int, seed: int, device: str, t: int, _x0: np.ndarray):
    """One training step (Algorithm 1) of this digit at exactly t: x_t, eps_hat, the loss (denoiser.StepFrames)."""
    return denoiser.training_steps(get_model("mnist", device), _x0, denoiser.digit_noise(seed), [t], label)


def wrong_time_frames(ident: str, t: int, label: int, seed: int, device: str,
                      _x0: np.ndarray) -> tuple[list[int], bytes, dict]:
    """Section 'tell it the wrong time': (t' values, frames, summary numbers) for one digit at the true t."""
    pre = get_model("mnist", device)
    tps = framesets.frame_indices(pre.schedule.num_steps, LEARN_FRAMES)

    def encode(wt):
        at_t = int(np.argmin(np.abs(np.asarray(tps) - t)))
        summary = {"best_t_prime": wt.best_t_prime, "best_loss": float(wt.eps_mse.min()),
                   "nearest_t_prime": tps[at_t], "loss_at_nearest": float(wt.eps_mse[at_t]),
                   "worst_loss": float(wt.eps_mse.max())}
        frames = denoising_framesets.wrong_time_frameset(wt, pre.schedule, "The t′ the model is told").to_bytes()
        return tps, frames, summary

    return page_run(("wrong_time_frames", ident, t, label, seed, device),
                    lambda: denoiser.wrong_time(pre, _x0, denoiser.digit_noise(seed), t, tps, label), encode,
                    f"Telling the model {LEARN_FRAMES} wrong times ...", cost=LEARN_FRAMES)


@st.cache_data(show_spinner=False, max_entries=64)
def variational_bounds(mixture: str, T: int) -> dict:
    """The exact bound of the 1-D mixture, cosine schedule with T steps, for each reverse variance (explainer.elbo)."""
    return elbo.variational_bounds(elbo.MIXTURES[mixture], get_schedule("cosine", T))


@st.cache_data(show_spinner=False, max_entries=128)
def snapshot_samples(step: int | None, seed: int, device: str) -> np.ndarray:
    """Ten digits (classes 0-9) from the model after `step` training steps (None: the bundled final model).

    DDIM, 25 steps, guidance 3, the same starting noise for every snapshot.
    """
    pre = get_model("mnist", device) if step is None else pretrained.load_snapshot(step, device)
    return generate(pre, parse_labels("all", 10, pre.model.null_label), steps=25, guidance=3.0, seed=seed).images


@st.cache_data(show_spinner=False, max_entries=32)
def snapshot_frames(steps: tuple[int, ...], final_step: int, seed: int, device: str) -> bytes:
    """Section 'watch it learn': the samples of each snapshot and of the final model, with the loss curve."""
    grids = [image_arrays.digit_grid(snapshot_samples(s, seed, device), ncol=5) for s in steps]
    grids.append(image_arrays.digit_grid(snapshot_samples(None, seed, device), ncol=5))
    history = get_model("mnist", device).card["training"].get("loss_history", [])
    return denoising_framesets.snapshot_frameset(list(steps) + [final_step], grids, history,
                                                 "Training step").to_bytes()
