"""Pictures as files: PNG, JPEG and animated GIF bytes, and `data:` URIs for the browser.

Each function takes a PIL image or anything `image_arrays.to_uint8` accepts
(floats in [-1, 1], uint8 in 0..255).
"""
from __future__ import annotations

import base64
import io
from typing import Iterable

from PIL import Image

from .image_arrays import to_pil
from .image_arrays import upscale as nearest_upscale

__all__ = [
    "encode_jpeg",
    "encode_png",
    "jpeg_data_uri",
    "png_data_uri",
    "write_gif",
]


def encode_png(image) -> bytes:
    """A PIL image, or anything `to_uint8` accepts, as PNG file bytes."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()


def encode_jpeg(image, quality: int = 85) -> bytes:
    """JPEG bytes: noisy photos are 5-10x smaller than as PNG."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_data_uri(image) -> str:
    """A PNG `data:` URI: exact pixels, and tiny for 28x28 digits (the browser scales them up)."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


def jpeg_data_uri(image, quality: int = 85) -> str:
    """A JPEG `data:` URI: noisy photos are 5-10x smaller as JPEG than as PNG."""
    return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(image, quality)).decode("ascii")


def write_gif(frames: Iterable, duration_ms: int = 80, loop: int | None = 0, upscale: int = 1) -> bytes:
    """Frames (each in [-1, 1] or uint8) -> animated GIF file bytes.

    `loop=0` repeats forever, `loop=None` plays once. `upscale` enlarges each
    frame by a whole factor with nearest-neighbour pixels, so 28x28 digits stay
    crisp instead of blurry. GIF stores times in 1/100 s, and Pillow merges
    consecutive identical frames (adding their durations), so the file may
    hold fewer frames than given.
    """
    if not isinstance(upscale, int) or upscale < 1:
        raise ValueError(f"upscale must be a positive integer, got {upscale!r}")
    pictures = [Image.fromarray(nearest_upscale(f, upscale)) for f in frames]
    if not pictures:
        raise ValueError("write_gif needs at least one frame")
    options = {"save_all": True, "append_images": pictures[1:], "duration": int(duration_ms)}
    if loop is not None:
        options["loop"] = int(loop)
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", **options)
    return buffer.getvalue()
