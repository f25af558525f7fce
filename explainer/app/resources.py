"""Heavy objects loaded once per process and shared by every session: schedules, models, noise, digits."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from ..core.schedules import NoiseSchedule, make_schedule_for_T
from ..models import pretrained
from ..models.bundled_digits import load_bundle


@st.cache_resource(show_spinner=False)
def get_schedule(name: str, num_steps: int, params: tuple = ()) -> NoiseSchedule:
    """The schedule the pages show: β ranges given for T = 1000 and scaled to T (make_schedule_for_T)."""
    return make_schedule_for_T(name, num_steps, **dict(params))


@st.cache_resource(show_spinner="Loading the model ...", max_entries=16)
def get_model(name: str, device: str) -> pretrained.Pretrained:
    model = pretrained.load_pretrained(name, device=device)
    return model


def device_choice() -> torch.device:
    """The device the sidebar asks for, falling back to the CPU with a message if it is gone."""
    want = st.session_state.get("device", "auto")
    try:
        return pretrained.pick_device(None if want == "auto" else want)
    except pretrained.ModelError as e:
        st.info(f"{e} Using the CPU instead.", icon=":material/memory:")
        return torch.device("cpu")


def mnist_or_stop() -> tuple[torch.device, pretrained.Pretrained]:
    """The sidebar's device and the bundled digit model on it; without the model, a message and the page stops."""
    try:
        device = device_choice()
        return device, get_model("mnist", device.type)
    except pretrained.ModelError as e:
        st.error(str(e), icon=":material/error:")
        st.stop()


@st.cache_resource(show_spinner=False, max_entries=16)
def gaussian_noise(shape: tuple, seed: int) -> np.ndarray:
    """Standard normal noise of this shape, the same for the same seed."""
    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    noise.setflags(write=False)  # shared by every session (cache_resource: no copy per rerun)
    return noise


@st.cache_resource(show_spinner=False)
def bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled evaluation digits (read-only arrays, shared by every session)."""
    d = load_bundle()
    x, y = d.evaluation, d.evaluation_labels
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y
