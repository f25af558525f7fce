"""Pictures as arrays: the pixel convention, conversions, grids, crops and the model's input.

Pixel convention throughout: float arrays are in [-1, 1] (the range the
diffusion models work in); uint8 arrays are in 0..255.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from .image_loading import to_rgb

__all__ = [
    "center_square",
    "digit_grid",
    "image_grid",
    "needs_invert",
    "square_array",
    "to_model_input",
    "to_pil",
    "to_uint8",
    "upscale",
]


def to_uint8(x) -> np.ndarray:
    """Image data in [-1, 1] (or already uint8) -> uint8 array, (H, W) or (H, W, 3).

    Accepts NumPy arrays shaped (H, W), (H, W, 1) or (H, W, 3), and torch
    tensors shaped (H, W), (1, H, W) or (3, H, W) (channels first, as the
    models produce them). Floats are clipped to [-1, 1]; NaN becomes mid-grey.
    Other integer arrays are taken as 0..255 and clipped.
    """
    if hasattr(x, "detach"):  # a torch tensor; duck-typed so torch stays optional here
        x = x.detach().cpu()
        x = x.float().numpy() if x.is_floating_point() else x.numpy()
        if x.ndim == 3:
            x = np.moveaxis(x, 0, -1)  # (C, H, W) -> (H, W, C)
    x = np.asarray(x)
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] != 3):
        raise ValueError(f"expected an image shaped (H, W), (H, W, 1) or (H, W, 3); got {x.shape}")

    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_ or x.dtype.kind in "iu":
        return np.clip(x, 0, 255).astype(np.uint8)
    x = np.nan_to_num(x.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.rint((np.clip(x, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def to_pil(x) -> Image.Image:
    """Anything `to_uint8` accepts (or a PIL image, returned as is) -> PIL image."""
    if isinstance(x, Image.Image):
        return x
    return Image.fromarray(to_uint8(x))


def image_grid(images, ncol: int | None = None, pad: int = 2, pad_value: int | tuple = 255) -> np.ndarray:
    """Tile equally sized images into one uint8 array.

    `images` is a list of images or an array/tensor with the image index first:
    (N, H, W), (N, H, W, C) or, for torch, (N, C, H, W). Each image may be in
    [-1, 1] or uint8. By default the grid is nearly square. `pad` pixels of
    `pad_value` (0..255, or an (r, g, b) tuple for colour) separate the tiles
    and frame the grid. Grayscale tiles are promoted to RGB if any tile is colour.
    """
    tiles = [to_uint8(image) for image in images]
    if not tiles:
        raise ValueError("image_grid needs at least one image")
    if any(t.ndim == 3 for t in tiles):
        tiles = [t if t.ndim == 3 else np.repeat(t[..., None], 3, axis=-1) for t in tiles]
    if len({t.shape for t in tiles}) != 1:
        raise ValueError(f"all images must have the same shape; got {sorted({t.shape for t in tiles})}")

    n = len(tiles)
    h, w = tiles[0].shape[:2]
    ncol = min(n, ncol or math.ceil(math.sqrt(n)))
    nrow = math.ceil(n / ncol)
    shape = (nrow * h + (nrow + 1) * pad, ncol * w + (ncol + 1) * pad) + tiles[0].shape[2:]
    grid = np.full(shape, pad_value, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        top = pad + (i // ncol) * (h + pad)
        left = pad + (i % ncol) * (w + pad)
        grid[top : top + h, left : left + w] = tile
    return grid


def center_square(image: Image.Image) -> Image.Image:
    """The largest centred square crop of a PIL image."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def to_model_input(image: Image.Image, size: int = 28, invert: bool = False) -> np.ndarray:
    """A PIL image -> float32 (size, size) grayscale in [-1, 1] for a small model.

    The image is centre-cropped to a square and resized. MNIST digits are white
    on black, so pass invert=True for dark drawings on a light background.
    """
    if image.mode != "L":
        image = to_rgb(image)[0].convert("L")
    square = center_square(image).resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = np.asarray(square, dtype=np.float32)
    if invert:
        pixels = 255.0 - pixels
    return (pixels / 127.5 - 1.0).astype(np.float32)


def square_array(image: Image.Image, side: int) -> np.ndarray:
    """The centred square of a PIL image resized to side x side, float32 in [-1, 1] (RGB or L)."""
    sq = center_square(image).resize((side, side), Image.Resampling.LANCZOS)
    return (np.asarray(sq, dtype=np.float32) / 127.5 - 1.0).astype(np.float32)


def upscale(image, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement (crisp pixels for 28x28 digits), as uint8."""
    pixels = to_uint8(image)
    if factor == 1:
        return pixels
    return np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)


def needs_invert(image: Image.Image, choice: str = "auto") -> bool:
    """Whether to invert a picture to MNIST's white-on-black: 'yes', 'no', or 'auto' (light background)."""
    if choice in ("yes", "no"):
        return choice == "yes"
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    # The border is mostly background: judge by it rather than by the ink.
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(border.mean()) > 127.5


def digit_grid(batch, ncol: int = 8) -> np.ndarray:
    """Small grayscale digits (N, H, W) in [-1, 1] tiled on a mid-grey background, at most ncol wide."""
    return image_grid(list(batch), ncol=min(ncol, len(batch)), pad=2, pad_value=128)
