"""Hardened image loading: any uploaded file becomes a clean picture or a message a person can act on.

Pictures come from teachers and students, so anything can arrive: phone
photos lying on their side, print-shop CMYK JPEGs, 16-bit scans, animated
GIFs, PDFs renamed to .png, half-downloaded files and "decompression bombs"
(tiny files that claim billions of pixels). `load_image` turns every one of
these into either a clean RGB (or grayscale) float32 array in [-1, 1], or an
`ImageError` whose message a non-programmer can act on.

Turning arrays into pictures and back is `image_arrays`; writing PNG, JPEG and
GIF files is `image_encoding`.
"""
from __future__ import annotations

import io
import os
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image, ImageOps

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_BYTES",
    "MAX_PIXELS",
    "ImageError",
    "LoadedImage",
    "load_image",
    "to_rgb",
]

# Pillow format ids we accept. Other formats Pillow can read (TIFF, PSD, ICO,
# EPS, ...) are refused: every extra decoder is extra attack surface, and these
# five cover what browsers, phones and screenshot tools produce.
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")

# 50 megapixels decodes to 150 MB of RGB; enough for any phone photo, small
# enough that a few users at once cannot exhaust the server's memory.
MAX_PIXELS = 50_000_000

# Larger files are almost certainly not a picture meant for this app.
MAX_BYTES = 25 * 1024 * 1024

_ACCEPTED_TEXT = "PNG, JPEG, WebP, GIF or BMP"
_UPLOAD_HINT = f"Upload a {_ACCEPTED_TEXT} file."

# Everything Pillow's decoders are known to raise on broken input. Pillow
# itself treats SyntaxError/IndexError/TypeError/struct.error as "bad file"
# inside Image.open, so we do the same around decoding.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    struct.error,
    zlib.error,
)

# Pillow's own bomb guard. The warning only becomes an exception when warnings
# are configured as errors; otherwise our MAX_PIXELS check (which is lower than
# Pillow's default limit) refuses the image right after.
_BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)


class ImageError(ValueError):
    """An uploaded file was refused; the message is written for the end user."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing NumPy arrays is ambiguous
class LoadedImage:
    """The result of `load_image`.

    array:         float32 in [-1, 1]; shape (H, W, 3) for mode "RGB", (H, W) for "L".
    pil:           the processed image (mode "RGB" or "L", same pixels as `array`).
    original_size: (width, height) of the full-size picture, the right way up.
    format:        the file format, e.g. "PNG" or "JPEG".
    notes:         short human-readable remarks on what was done to the picture.
    """

    array: np.ndarray
    pil: Image.Image
    original_size: tuple[int, int]
    format: str
    notes: tuple[str, ...]


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def load_image(
    data: bytes | str | os.PathLike,
    max_side: int = 512,
    background: tuple[int, int, int] = (255, 255, 255),
    mode: str = "RGB",
) -> LoadedImage:
    """Load an uploaded image safely and return it ready for the models.

    `data` is the file's bytes, a path, or a binary file object (such as
    Streamlit's UploadedFile). Transparent areas are composited over
    `background`. The result is shrunk (never enlarged) so that its longest
    side is at most `max_side`. `mode` is "RGB" or "L" (grayscale).

    Raises ImageError, with a message meant for the user, for anything refused.
    """
    _check_options(max_side, background, mode)
    raw = _read_source(data)
    notes: list[str] = []

    with _open_checked(raw) as img:
        fmt = "JPEG" if img.format == "MPO" else img.format
        header_size = img.size
        notes += _first_frame_notes(img)
        _decode(img, raw, max_side)
        upright, orientation, exif_notes = _upright(img)
        notes += exif_notes
        picture, colour_notes = to_rgb(upright, background)
        notes += colour_notes

    if mode == "L":
        if not _is_grayscale_mode(upright.mode):
            notes.append("converted to grayscale")
        picture = picture.convert("L")

    # EXIF orientations 5-8 swap width and height.
    original_size = header_size[::-1] if orientation in (5, 6, 7, 8) else header_size
    picture = _downscale(picture, max_side)
    if picture.size != original_size:
        notes.append(f"downscaled from {_dims(original_size)} to {_dims(picture.size)}")

    return LoadedImage(
        array=_to_float_array(picture),
        pil=picture,
        original_size=tuple(original_size),
        format=fmt,
        notes=tuple(notes),
    )


def _check_options(max_side: int, background, mode: str) -> None:
    """Refuse programming mistakes early (these are not the user's fault)."""
    if not isinstance(max_side, int) or max_side < 1:
        raise ValueError(f"max_side must be a positive integer, got {max_side!r}")
    if mode not in ("RGB", "L"):
        raise ValueError(f'mode must be "RGB" or "L", got {mode!r}')
    if len(background) != 3 or not all(0 <= int(c) <= 255 for c in background):
        raise ValueError(f"background must be an (r, g, b) tuple of 0..255, got {background!r}")


def _read_source(source) -> bytes:
    """The file's bytes, refusing empty and over-large files before parsing."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_path(os.fspath(source))
    elif hasattr(source, "getvalue"):  # BytesIO, Streamlit's UploadedFile
        data = source.getvalue()
    elif hasattr(source, "read"):
        # One byte over the limit is enough to know it is too big.
        data = source.read(MAX_BYTES + 1)
    else:
        raise TypeError(f"expected bytes, a path or a binary file, got {type(source).__name__}")
    _check_byte_count(len(data))
    return data


def _read_path(path: str) -> bytes:
    name = os.path.basename(path) or path
    try:
        # Check the size first so that a huge file is never read into memory.
        _check_byte_count(os.path.getsize(path))
        with open(path, "rb") as f:
            return f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ImageError(f"We could not find the file '{name}'. Check the name and try again.") from None
    except IsADirectoryError:
        raise ImageError(f"'{name}' is a folder, not an image file. Choose a single image file.") from None
    except PermissionError:
        raise ImageError(f"We are not allowed to read the file '{name}'. Copy it somewhere else and try again.") from None
    except OSError:
        raise ImageError(f"We could not read the file '{name}'. Try copying it again.") from None


def _check_byte_count(n: int) -> None:
    if n == 0:
        raise ImageError("The file is empty (0 bytes). Please choose the image file again.")
    if n > MAX_BYTES:
        raise ImageError(
            f"This file is {_human_bytes(n)}; the limit is {_human_bytes(MAX_BYTES)}. "
            "Please upload a smaller file (for example, resize it or save it as JPEG)."
        )


def _open_checked(data: bytes) -> Image.Image:
    """Open the file lazily (header only) and apply the format and pixel checks.

    Nothing is decoded here: refusing by header is what stops decompression
    bombs before they allocate gigabytes.
    """
    try:
        img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.UnidentifiedImageError:
        raise _unrecognised_error(data) from None
    except _BOMB_ERRORS as exc:
        raise _bomb_error(exc) from None
    except _DECODE_ERRORS as exc:
        raise _decode_error(data, _sniff_allowed(data), exc) from None

    # An MPO is a camera JPEG with extra pictures (depth map, stereo pair);
    # Pillow's JPEG opener reports it as "MPO".
    if img.format not in ALLOWED_FORMATS and img.format != "MPO":
        img.close()
        raise _not_allowed_error(img.format)

    width, height = img.size
    if width * height > MAX_PIXELS:
        img.close()
        raise ImageError(
            f"This image is {width} x {height} pixels ({_megapixels(width * height)} megapixels); "
            f"the limit is {_megapixels(MAX_PIXELS)} megapixels. Please resize it "
            "(for example to 2000 x 2000 pixels) and upload it again."
        )
    return img


def _first_frame_notes(img: Image.Image) -> list[str]:
    """Say so when only the first of several frames will be used."""
    try:
        frames = getattr(img, "n_frames", 1)
        img.seek(0)
    except _DECODE_ERRORS:
        # Counting frames reads the whole file; a damaged later frame should
        # not stop us showing the first one (decoding it is checked next).
        return ["used the first frame of an animation"]
    if frames <= 1:
        return []
    if img.format == "MPO":
        return [f"used the main picture of a multi-picture JPEG ({frames} pictures)"]
    return [f"used the first of {frames} animation frames"]


def _decode(img: Image.Image, data: bytes, max_side: int) -> None:
    """Decode the pixels, turning any decoder failure into an ImageError."""
    if img.format in ("JPEG", "MPO"):
        # JPEG can decode at 1/2, 1/4 or 1/8 scale for free; Pillow only picks
        # a scale that keeps both sides >= max_side, so quality is unaffected.
        img.draft(None, (max_side, max_side))
    try:
        img.load()
    except _BOMB_ERRORS as exc:
        raise _bomb_error(exc) from None
    except _DECODE_ERRORS as exc:
        raise _decode_error(data, img.format, exc) from None


def _upright(img: Image.Image) -> tuple[Image.Image, int, list[str]]:
    """Apply the EXIF orientation tag, as phones store photos sideways."""
    try:
        orientation = int(img.getexif().get(0x0112, 1))  # 0x0112 = 274, Orientation
        upright = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - broken EXIF must not lose the picture
        return img.copy(), 1, ["could not read the photo's orientation tag; shown as stored"]
    if orientation in range(2, 9):
        return upright, orientation, [f"rotated/flipped upright using the EXIF orientation tag ({orientation})"]
    return upright, 1, []


def _downscale(img: Image.Image, max_side: int) -> Image.Image:
    """Shrink so the longest side is max_side, keeping the aspect ratio; never enlarge."""
    width, height = img.size
    longest = max(width, height)
    if longest <= max_side:
        return img
    scale = max_side / longest
    # max(1, ...): a 1 x 5000 strip must stay at least one pixel wide.
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap first shrinks by whole factors (fast), then LANCZOS finishes.
    return img.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)


# --------------------------------------------------------------------------
# Colour-mode conversion
# --------------------------------------------------------------------------

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def to_rgb(img: Image.Image, background=(255, 255, 255)) -> tuple[Image.Image, list[str]]:
    """Convert any Pillow mode to an 8-bit RGB image; also return notes.

    Transparency is composited over `background`; high-bit-depth images are
    scaled (not clipped) to 0..255.
    """
    notes: list[str] = []
    if img.mode in ("I", "F") or img.mode.startswith("I;"):
        img, note = _high_bit_to_l(img)
        notes.append(note)

    if _has_transparency(img):
        rgb, any_transparent = _composite(img, tuple(int(c) for c in background))
        if any_transparent:
            notes.append(f"transparent areas composited on {_colour_name(background)}")
        return rgb, notes

    if img.mode == "CMYK":
        # Pillow undoes Adobe's inverted CMYK itself; a plain convert is right.
        notes.append("converted from CMYK (print) colours to RGB")
    try:
        return img.convert("RGB"), notes
    except (ValueError, OSError):
        raise ImageError(
            f"This image uses a colour format ({img.mode}) that we cannot convert. "
            "Please save it as an ordinary RGB PNG or JPEG and upload it again."
        ) from None


def _is_grayscale_mode(mode: str) -> bool:
    return mode in ("1", "L", "LA", "La", "I", "F") or mode.startswith("I;")


def _has_transparency(img: Image.Image) -> bool:
    # Palette, grayscale and RGB images can mark one colour as transparent
    # (PNG tRNS chunk / GIF transparency index) instead of having an alpha band.
    return img.mode in _ALPHA_MODES or (img.mode in ("P", "L", "RGB") and "transparency" in img.info)


def _composite(img: Image.Image, background: tuple[int, int, int]) -> tuple[Image.Image, bool]:
    """Blend over a solid background; also say whether anything was see-through."""
    rgba = img.convert("RGBA")
    alpha = rgba.getchannel("A")
    canvas = Image.new("RGB", rgba.size, background)
    canvas.paste(rgba.convert("RGB"), mask=alpha)
    lowest_alpha, _ = alpha.getextrema()
    return canvas, lowest_alpha < 255


def _high_bit_to_l(img: Image.Image) -> tuple[Image.Image, str]:
    """Scale a 16-bit, 32-bit integer or float image to 8-bit grayscale ("L")."""
    values = np.asarray(img)
    if values.dtype.kind == "u" and values.dtype.itemsize == 2:
        # 0..65535 -> 0..255 exactly (65535 / 257 = 255); clipping instead
        # would turn almost every pixel white.
        return _l_image(values / 257.0), "16-bit image scaled to 8 bits"
    if values.dtype.kind in "iu":
        lo, hi = int(values.min()), int(values.max())
        if lo >= 0 and hi <= 255:
            return _l_image(values), "32-bit integer image converted to 8 bits"
        if lo >= 0 and hi <= 65535:
            # Pillow stores some 16-bit files in 32-bit "I" mode.
            return _l_image(values / 257.0), "16-bit image scaled to 8 bits"
        return _l_image(_stretch(values)), "32-bit integer image scaled by its darkest and brightest values"
    return _l_image(_stretch(values)), "floating-point image scaled by its darkest and brightest values"


def _stretch(values: np.ndarray) -> np.ndarray:
    """Map the finite min..max of `values` onto 0..255 (NaN/inf become black)."""
    values = values.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape)
    lo, hi = values[finite].min(), values[finite].max()
    if hi == lo:  # a flat image has no range to stretch: show it mid-grey
        return np.full(values.shape, 128.0)
    return np.where(finite, (values - lo) / (hi - lo) * 255.0, 0.0)


def _l_image(values: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


def _to_float_array(img: Image.Image) -> np.ndarray:
    """uint8 0..255 -> float32 -1..1 (0 -> -1 and 255 -> +1 exactly)."""
    return (np.asarray(img, dtype=np.float32) / 127.5 - 1.0).astype(np.float32)


# --------------------------------------------------------------------------
# User-facing error messages
# --------------------------------------------------------------------------

# Magic numbers of our allowed formats, to tell "damaged PNG" from "not an image".
_ALLOWED_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
)

_FRIENDLY_FORMAT_NAMES = {
    "TIFF": "a TIFF image",
    "JPEG2000": "a JPEG 2000 image",
    "PSD": "a Photoshop (PSD) file",
    "ICO": "a Windows icon (ICO)",
    "EPS": "a PostScript (EPS) file",
    "AVIF": "an AVIF image",
}


def _sniff_allowed(data: bytes) -> str | None:
    """The allowed format a file claims to be by its first bytes, if any."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, fmt in _ALLOWED_MAGIC:
        if data.startswith(magic):
            return fmt
    return None


def _unrecognised_error(data: bytes) -> ImageError:
    """Explain a file none of the allowed decoders would open."""
    claimed = _sniff_allowed(data)
    if claimed:
        # It starts like one of ours, so it is broken rather than foreign.
        return _decode_error(data, claimed, None)
    kind = _sniff_non_image(data)
    if kind:
        return ImageError(f"This file is {kind}, not an image. {_UPLOAD_HINT}")
    other_format = _pillow_format_name(data)
    if other_format:
        return _not_allowed_error(other_format)
    return ImageError(f"This file is not an image we can read. {_UPLOAD_HINT}")


def _sniff_non_image(data: bytes) -> str | None:
    """Name common non-image (or non-Pillow) files, so the message is specific."""
    head = data[:512]
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "a HEIC photo (the iPhone's default format; export or share it as JPEG instead)"
        if brand not in (b"avif", b"avis"):
            return "a video or audio file"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive or Office document (Word, PowerPoint, ...)"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in head.lower()):
        return "an SVG drawing (vector graphics)"
    if text.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML), perhaps saved instead of the picture"
    if _looks_like_text(head):
        return "a text file"
    return None


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        # The 512-byte cut may split a multi-byte character; allow that.
        try:
            decoded = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in decoded)
    return printable >= 0.95 * max(1, len(decoded))


def _pillow_format_name(data: bytes) -> str | None:
    """Ask Pillow (all its plugins, header only) what format this is, if any."""
    try:
        with Image.open(io.BytesIO(data)) as other:
            return other.format
    except Exception:  # noqa: BLE001 - only used to improve an error message
        return None


def _not_allowed_error(fmt: str) -> ImageError:
    what = _FRIENDLY_FORMAT_NAMES.get(fmt, f"a {fmt} image")
    return ImageError(
        f"This file is {what}, which this app does not accept. "
        f"Please save or export it as PNG or JPEG and upload it again. Accepted formats: {_ACCEPTED_TEXT}."
    )


def _bomb_error(exc: Exception) -> ImageError:
    """Pillow's own decompression-bomb guard fired; restate it for people."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    if match:
        size = f"about {_megapixels(int(match.group(1)))} megapixels"
    else:
        size = "far too many pixels"
    return ImageError(
        f"This image has {size}; the limit is {_megapixels(MAX_PIXELS)} megapixels. "
        "Please resize it (for example to 2000 x 2000 pixels) and upload it again."
    )


def _decode_error(data: bytes, fmt: str | None, exc: BaseException | None) -> ImageError:
    """A damaged file: say whether it looks cut off or otherwise broken."""
    what = f"{fmt} " if fmt else ""
    truncated = isinstance(exc, EOFError) or "truncated" in str(exc).lower() or _looks_truncated(data, fmt)
    if truncated:
        return ImageError(
            f"The file looks cut off (truncated): only part of the {what}image is there. "
            "This usually means a download or copy was interrupted. "
            "Please download or save the image again and upload the new copy."
        )
    return ImageError(
        f"The file is damaged and could not be read as a {what}image. "
        "Please open it in another program, save it again as PNG or JPEG, and upload the new copy."
    )


def _looks_truncated(data: bytes, fmt: str | None) -> bool:
    """Does the file lack the ending its format requires?"""
    tail = data.rstrip(b"\x00")
    if fmt in ("JPEG", "MPO"):
        return not tail.endswith(b"\xff\xd9")  # EOI marker
    if fmt == "PNG":
        return b"IEND" not in data[-16:]
    if fmt == "GIF":
        return not tail.endswith(b";")  # GIF trailer
    if fmt == "BMP" and len(data) >= 6:
        return struct.unpack("<I", data[2:6])[0] > len(data)  # declared file size
    if fmt == "WEBP" and len(data) >= 8:
        return struct.unpack("<I", data[4:8])[0] + 8 > len(data)  # RIFF chunk size
    return False


def _megapixels(pixels: int) -> str:
    """'400' or '50.3': whole numbers without a trailing '.0'."""
    return f"{pixels / 1e6:.1f}".removesuffix(".0")


def _human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _dims(size: Sequence[int]) -> str:
    return f"{size[0]}x{size[1]}"


def _colour_name(background) -> str:
    names = {(255, 255, 255): "white", (0, 0, 0): "black"}
    rgb = tuple(int(c) for c in background)
    return names.get(rgb, f"the background colour {rgb}")
