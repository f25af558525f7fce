"""Image widgets: a bundled sample or the user's upload, decoded safely, and a digit from a picture."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from ..lessons import image_arrays, image_loading
from .safe_text import code_text, escape_markdown
from .url_state import choice_param, url_state, write_url

IMAGES_DIR = Path(__file__).resolve().parents[2] / "assets" / "images"
SAMPLE_IMAGES = {
    "Astronaut (photo)": "astronaut.jpg",
    "Cat (photo)": "cat.jpg",
    "Coffee cup (photo)": "coffee.jpg",
    "Rocket launch (photo)": "rocket.jpg",
    "Handwritten digit (28x28)": "digit.png",
}


@st.cache_resource(show_spinner=False, max_entries=16)
def sample_image(filename: str, max_side: int = 512, mode: str = "RGB") -> image_loading.LoadedImage:
    return image_loading.load_image(IMAGES_DIR / filename, max_side=max_side, mode=mode)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _decoded_upload(digest: str, max_side: int, mode: str, _data: bytes) -> image_loading.LoadedImage:
    # Keyed on the digest, not the bytes: hashing is done once, in image_picker.
    return image_loading.load_image(_data, max_side=max_side, mode=mode)


def image_picker(key: str, max_side: int = 512, mode: str = "RGB", default: str = "Astronaut (photo)",
                 label: str = "Image") -> tuple[image_loading.LoadedImage, str]:
    """A bundled sample or the user's upload, decoded safely, and a short id for caches.

    A refused upload shows its message and falls back to the selected sample.
    """
    url_state(f"{key}_sample", default, choice_param(SAMPLE_IMAGES))
    col_a, col_b = st.columns(2)
    with col_a:
        st.selectbox(f"{label}: a sample", list(SAMPLE_IMAGES), key=f"{key}_sample")
    with col_b:
        up = st.file_uploader(f"... or your own ({', '.join(t.upper() for t in UPLOAD_TYPES)})",
                              type=UPLOAD_TYPES, key=f"{key}_upload",
                              help="Your image stays in this session on the server and is never saved to disk.")
    write_url(f"{key}_sample")
    if up is not None:
        img, digest = decode_upload(up, max_side, mode, "the sample image")
        if img is not None:
            return img, f"upload:{digest}:{max_side}:{mode}"
    name = SAMPLE_IMAGES[st.session_state[f"{key}_sample"]]
    return sample_image(name, max_side, mode), f"sample:{name}:{max_side}:{mode}"


UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp"]


def decode_upload(up, max_side: int, mode: str, fallback: str) -> tuple[image_loading.LoadedImage | None, str]:
    """An uploaded file decoded safely (cached by its digest), or None after a message naming `fallback`."""
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    try:
        return _decoded_upload(digest, max_side, mode, data), digest
    except image_loading.ImageError as e:
        st.error(f"{code_text(up.name, 80)} could not be used. {escape_markdown(e)}", icon=":material/broken_image:")
        st.caption(f"Showing {fallback} instead.")
        return None, digest


def notes(img: image_loading.LoadedImage):
    if img.notes:
        st.caption("Image: " + "; ".join(img.notes) + ".")


def digit_upload(key: str) -> tuple[np.ndarray, str] | None:
    """A user's picture as a 28x28 model input (like the SDEdit input) and an id for caches, or None."""
    up = st.file_uploader(f"... or your own picture of a digit ({', '.join(t.upper() for t in UPLOAD_TYPES)})",
                          type=UPLOAD_TYPES, key=key,
                          help="Centre-cropped, shrunk to 28×28 and, on a light background, inverted to "
                               "MNIST's white ink on black. It stays in this session and is never saved.")
    if up is None:
        return None
    img, digest = decode_upload(up, 256, "L", "the held-out digit")
    if img is None:
        return None
    x = image_arrays.to_model_input(img.pil, 28, invert=image_arrays.needs_invert(img.pil, "auto"))
    return x, f"upload:{digest}"
