"""The forward process, cached for every session: x_t frame sets for one image (under one schedule,
several schedules, several sizes), x_t for GIFs, and the chain against the one-jump samples.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
from PIL import Image

from ..core import forward
from ..core.schedules import NoiseSchedule
from ..lessons import framesets, image_arrays, image_loading, noising_framesets
from .resources import gaussian_noise, get_schedule
from .scrubber import scrubber


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def noising_frames(ident: str, schedule_name: str, num_steps: int, seed: int, ts: tuple,
                   _img: image_loading.LoadedImage, side: int = 256) -> list[np.ndarray]:
    """x_t at each t in ts for a copy of the image no larger than `side` (for GIFs and animations)."""
    small = image_arrays.square_array(_img.pil, side) if max(_img.array.shape[:2]) > side else _img.array
    noise = gaussian_noise(small.shape, seed)
    sched = get_schedule(schedule_name, num_steps)
    return [forward.noised(sched, small, int(t), noise) for t in ts]


# Pictures that scrub in the browser travel to every student once, so they are kept small: at 192 pixels
# the forward page's x0 and noise (blended in the browser at 32 values of t) are about 0.3 MB.
PREVIEW_SIDE = 192
SCRUB_FRAMES = 32


def preview_array(img: image_loading.LoadedImage, side: int = PREVIEW_SIDE) -> np.ndarray:
    """The image no larger than side x side (aspect kept), float32 in [-1, 1]."""
    if max(img.array.shape[:2]) <= side:
        return img.array
    pil = img.pil.copy()
    pil.thumbnail((side, side), Image.Resampling.LANCZOS)
    return (np.asarray(pil, dtype=np.float32) / 127.5 - 1.0).astype(np.float32)


@st.cache_resource(show_spinner="Preparing the frames ...", max_entries=32, ttl=3600)
def forward_frames(ident: str, schedule_name: str, num_steps: int, seed: int,
                   _img: image_loading.LoadedImage) -> tuple[list[int], bytes]:
    """The forward page's main view at SCRUB_FRAMES values of t, shared by every session with these inputs."""
    x0 = preview_array(_img)
    ts = framesets.frame_indices(num_steps, SCRUB_FRAMES)
    fs = noising_framesets.noising_frameset(get_schedule(schedule_name, num_steps), x0, gaussian_noise(x0.shape, seed),
                                            ts, label="Timestep t (0 = almost clean, T−1 = the noisiest step)")
    return ts, fs.to_bytes()


def schedule_digest(schedule: NoiseSchedule) -> str:
    """A short name for a schedule's exact β values: the cache key of anything built from it."""
    return hashlib.sha256(schedule.betas.tobytes()).hexdigest()[:16]


@st.cache_resource(show_spinner="Preparing the frames ...", max_entries=32, ttl=3600)
def schedule_frames(ident: str, keys: tuple[tuple[str, str], ...], seed: int, _img: image_loading.LoadedImage,
                    _schedules: dict[str, NoiseSchedule], side: int, n_frames: int, log_snr_chart: bool,
                    label: str = "Timestep t") -> tuple[list[int], bytes]:
    """The same image and noise under each schedule at n_frames values of t; keys = (name, schedule_digest)."""
    x0 = preview_array(_img, side)
    ts = framesets.frame_indices(next(iter(_schedules.values())).num_steps, n_frames)
    fs = noising_framesets.schedules_frameset(_schedules, x0, gaussian_noise(x0.shape, seed), ts, label=label,
                                              log_snr_chart=log_snr_chart)
    return ts, fs.to_bytes()


def schedules_scrubber(key: str, schedules: dict[str, NoiseSchedule], img_id: str, img: image_loading.LoadedImage,
                       seed: int, default: int, side: int, n_frames: int, log_snr_chart: bool = False,
                       label: str = "Timestep t"):
    """A scrubber over t for one image under several schedules (forward and schedules pages)."""
    keys = tuple((n, schedule_digest(s)) for n, s in schedules.items())
    ts, frames = schedule_frames(img_id, keys, seed, img, schedules, side, n_frames, log_snr_chart, label)
    return scrubber(key, frames, ts, default=default)


RESOLUTION_SIDES = (32, 96, 288)


@st.cache_resource(show_spinner="Preparing the frames ...", max_entries=32, ttl=3600)
def resolution_frames(ident: str, schedule_name: str, num_steps: int, seed: int,
                      _img: image_loading.LoadedImage) -> tuple[list[int], bytes]:
    """The image at RESOLUTION_SIDES, noised to 24 values of t, with the log-SNR curves."""
    pictures = {}
    for side in RESOLUTION_SIDES:
        x0 = image_arrays.square_array(_img.pil, side)
        pictures[side] = (x0, gaussian_noise(x0.shape, seed))
    ts = framesets.frame_indices(num_steps, 24)
    fs = noising_framesets.resolution_frameset(get_schedule(schedule_name, num_steps), pictures, ts,
                                               base=RESOLUTION_SIDES[0], label="Timestep t")
    return ts, fs.to_bytes()


@st.cache_resource(show_spinner=False, max_entries=32)
def chain_samples(schedule_name: str, num_steps: int, x0_value: float, t: int, seed: int):
    return forward.chain_and_jump_samples(get_schedule(schedule_name, num_steps), x0_value, t, seed=seed)
