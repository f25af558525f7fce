"""The sampler's runs, cached for every session: a digit's trajectory as a frame set, and the
digit that emerges from noise (a GIF).
"""
from __future__ import annotations

import streamlit as st

from ..core.schedules import NoiseSchedule
from ..lessons import image_encoding, sampling_framesets
from ..models import pretrained
from ..models.generate import generate, parse_labels
from .caches import page_run
from .resources import get_model


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def trajectory_frames(result_key: str, digit: int, label: str, _res, _schedule: NoiseSchedule) -> bytes:
    """One digit's sampling trajectory as a frame set; result_key names the (deterministic) sampling run."""
    return sampling_framesets.trajectory_frameset(_schedule, _res, digit, label).to_bytes()


# The home page's digit: the Generate default (the fewest steps that match DDIM-50, see the model card).
# Every student with their own seed gets their own, so it must be cheap: 0.17 s against 0.43 s for DDIM-25.
DIGIT_GIF_SAMPLER, DIGIT_GIF_STEPS = "dpm++2m", 10


def digit_gif(seed: int) -> bytes | None:
    """A GIF of one digit denoised from pure noise by the bundled model, or None without the model.

    The home page shows it; every seed has its own digit (its class is the seed mod 10).
    """
    try:
        pre = get_model("mnist", "cpu")
    except pretrained.ModelError:
        return None

    def encode(res):
        frames = [x[0] for x in res.x_t] + [res.images[0]] * 6  # hold the final digit for a moment
        return image_encoding.write_gif(frames, duration_ms=180, upscale=6)

    # cost: guided, so 2 network passes a step
    return page_run(("digit_gif", seed), lambda: generate(
        pre, parse_labels(seed % 10, 1), sampler=DIGIT_GIF_SAMPLER, steps=DIGIT_GIF_STEPS, guidance=3.0,
        seed=seed, keep_trajectory=True), encode, "Drawing a digit ...", cost=2 * DIGIT_GIF_STEPS)
