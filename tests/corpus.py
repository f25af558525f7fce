"""A corpus of odd, broken and hostile image files, generated on the fly.

Used by the browser test ``tests/browser/test_upload_corpus.py``, which pushes
every file through the real upload widget. Each `CorpusFile` says what the app
must do with it: accept it (and show a picture of ``size``, with ``notes`` in
the "Image: ..." caption), refuse it with an ``st.error`` naming the file and
containing ``keywords`` (``outcome="refused"``), or never let it reach the
server because Streamlit's own uploader refuses it (``outcome="frontend"``,
``keywords`` then match the uploader's message).

Nothing here imports Streamlit or Playwright; the builders only need Pillow,
NumPy and the standard library, and no file is larger than a few hundred KB
except the one meant to exceed the upload limit.
"""
from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def save(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_from_parts(ihdr: bytes, idat: bytes, *, idat_chunk: int | None = None, extra: bytes = b"") -> bytes:
    """A PNG from a raw IHDR payload and a zlib stream, IDAT split into chunks of `idat_chunk` bytes."""
    step = idat_chunk or max(1, len(idat))
    idats = b"".join(png_chunk(b"IDAT", idat[i:i + step]) for i in range(0, len(idat), step))
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + extra + idats + png_chunk(b"IEND", b"")


def zero_rows_zlib(row_bytes: int, height: int) -> bytes:
    """zlib stream of `height` rows (filter byte 0 + `row_bytes` zeros), built without the raw data."""
    row = bytes(1 + row_bytes)
    compressor = zlib.compressobj(9)
    block = 1000
    body = [compressor.compress(row * block) for _ in range(height // block)]
    body.append(compressor.compress(row * (height % block)))
    body.append(compressor.flush())
    return b"".join(body)


def bilevel_png(width: int, height: int) -> bytes:
    """A real, valid all-black 1-bit PNG, built without allocating the pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, grayscale
    return png_from_parts(ihdr, zero_rows_zlib(math.ceil(width / 8), height))


def gray_png_in_many_chunks(width: int, height: int, chunk: int = 8192) -> bytes:
    """A valid 8-bit gray PNG of zeros whose compressed data is split over many small IDAT chunks.

    12000 x 12000 inflates to 144 MB from ~140 KB: a bomb by IDAT chunks.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return png_from_parts(ihdr, zero_rows_zlib(width, height), idat_chunk=chunk)


def header_only_bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (RGB); its pixel data is a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return png_from_parts(ihdr, zlib.compress(bytes(64)))


def ztxt_bomb_png(inflated_mb: int = 64) -> bytes:
    """A valid 32x32 PNG with a zTXt text chunk that inflates to `inflated_mb` MB (a chunk bomb)."""
    base = save(Image.new("RGB", (32, 32), (0, 128, 255)), "PNG")
    compressor = zlib.compressobj(9)
    mb = bytes(1 << 20)
    text = b"".join(compressor.compress(mb) for _ in range(inflated_mb)) + compressor.flush()
    ztxt = png_chunk(b"zTXt", b"Comment\x00\x00" + text)
    cut = len(PNG_SIGNATURE) + 25  # right after IHDR
    return base[:cut] + ztxt + base[cut:]


def noise_rgb(height: int = 48, width: int = 64, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def flip_middle(data: bytes, count: int = 64) -> bytes:
    """Invert `count` bytes in the middle of the file (the ending stays intact)."""
    out = bytearray(data)
    mid = len(out) // 2
    for i in range(mid, mid + count):
        out[i] ^= 0xFF
    return bytes(out)


def wipe_png_idat(data: bytes, count: int = 200) -> bytes:
    """Zero the start of the compressed pixel data (the PNG's ending stays intact)."""
    out = bytearray(data)
    start = out.index(b"IDAT") + 8
    out[start:start + count] = bytes(count)
    return bytes(out)


# Four distinct quadrant colours, stored W wide x H high (W = 2 H, so orientations 5-8 swap the shape).
QUADRANT_COLOURS = {"top-left": (255, 0, 0), "top-right": (0, 200, 0),
                    "bottom-left": (0, 0, 255), "bottom-right": (255, 255, 255)}


def quadrants(width: int = 48, height: int = 32) -> np.ndarray:
    a = np.zeros((height, width, 3), dtype=np.uint8)
    h, w = height // 2, width // 2
    a[:h, :w] = QUADRANT_COLOURS["top-left"]
    a[:h, w:] = QUADRANT_COLOURS["top-right"]
    a[h:, :w] = QUADRANT_COLOURS["bottom-left"]
    a[h:, w:] = QUADRANT_COLOURS["bottom-right"]
    return a


# What a viewer shows for each EXIF orientation (EXIF 2.3, tag 274), written with NumPy.
UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),  # 90 degrees clockwise
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),  # 90 degrees counter-clockwise
}


def exif_jpeg(orientation: int, stored: np.ndarray) -> bytes:
    exif = Image.Exif()
    exif[274] = orientation
    return save(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())


def corner_colours(a: np.ndarray) -> list[tuple[int, int, int]]:
    """Colours well inside the four corners (TL, TR, BL, BR) of an (H, W, 3) array."""
    h, w = a.shape[:2]
    dy, dx = max(1, h // 8), max(1, w // 8)
    return [tuple(int(v) for v in a[y, x]) for y, x in
            [(dy, dx), (dy, w - 1 - dx), (h - 1 - dy, dx), (h - 1 - dy, w - 1 - dx)]]


def handwritten_seven() -> bytes:
    """A handwritten-looking dark "7" on light paper, 200x200 PNG: the digit the tests upload for SDEdit
    (the app inverts it, since MNIST digits are white on black)."""
    img = Image.new("L", (200, 200), 245)
    d = ImageDraw.Draw(img)
    d.line([(45, 40), (155, 40), (95, 170)], fill=10, width=22, joint="curve")
    d.line([(75, 105), (135, 105)], fill=10, width=14)
    return save(img, "PNG")


HEIC_BYTES = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(2000)
PDF_BYTES = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
             + b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------


@dataclass
class CorpusFile:
    """One file of the corpus and what the app must do with it."""

    name: str
    data: bytes
    outcome: str  # "accepted", "refused" (our ImageError) or "frontend" (Streamlit's uploader refuses it)
    keywords: tuple[str, ...] = ()  # in the error message (refused / frontend)
    size: tuple[int, int] | None = None  # (width, height) of the picture the app works on (accepted)
    notes: tuple[str, ...] = ()  # in the "Image: ..." caption (accepted)
    corners: list[tuple[int, int, int]] | None = field(default=None, repr=False)  # TL, TR, BL, BR colours


def hostile_corpus(upload_limit_bytes: int = 25 * 1024 * 1024) -> list[CorpusFile]:
    """The files, in upload order. Sizes assume the app's max_side of 512."""
    files: list[CorpusFile] = []
    add = files.append
    cut = ("cut off", "truncated")

    # Truncated files of each accepted format.
    noise = noise_rgb(96, 128)
    for fmt, ext, opts in [("PNG", "png", {}), ("JPEG", "jpg", {"quality": 90}), ("GIF", "gif", {}),
                           ("BMP", "bmp", {}), ("WEBP", "webp", {"quality": 80})]:
        data = save(noise, fmt, **opts)
        add(CorpusFile(f"truncated.{ext}", data[: len(data) // 2], "refused", cut))
    add(CorpusFile("header-only.png", save(noise, "PNG")[:20], "refused", cut))

    # Damaged in the middle (the ending is intact, so it is not "cut off").
    add(CorpusFile("corrupt.png", wipe_png_idat(save(noise, "PNG")), "refused", ("damaged", "PNG")))
    add(CorpusFile("flipped.png", flip_middle(save(noise, "PNG")), "refused", ("damaged", "PNG")))
    jpeg = save(noise, "JPEG", quality=90)
    bad_sof = bytearray(jpeg)
    sof = bad_sof.index(b"\xff\xc0")
    bad_sof[sof + 5:sof + 9] = bytes(4)  # height and width of 0
    add(CorpusFile("corrupt-header.jpg", bytes(bad_sof), "refused", ("damaged", "JPEG")))
    # A few flipped bytes in a JPEG's entropy-coded data decode to a smeared picture, as in
    # a browser: shown, not refused.
    add(CorpusFile("flipped.jpg", flip_middle(jpeg, 16), "accepted", size=(128, 96)))

    # Decompression bombs: by dimensions (a tiny file claiming 900 MP), by IDAT chunks
    # (144 MP of real zero pixels in ~140 KB, over many chunks), by a text chunk.
    add(CorpusFile("bomb-30000x30000.png", header_only_bomb_png(30000, 30000), "refused",
                   ("900 megapixels", "limit is 50 megapixels", "resize")))
    add(CorpusFile("bomb-idat-12000x12000.png", gray_png_in_many_chunks(12000, 12000), "refused",
                   ("12000 x 12000", "144 megapixels", "limit is 50 megapixels")))
    add(CorpusFile("bomb-ztxt.png", ztxt_bomb_png(64), "refused", ("damaged",)))

    # EXIF orientations 1-8 of a 600 x 300 photo: shown 512 x 256 (1-4) or 256 x 512 (5-8).
    stored = quadrants(600, 300)
    for o in range(1, 9):
        upright = UPRIGHT[o](stored)
        h, w = upright.shape[:2]
        scale = 512 / max(w, h)
        size = (round(w * scale), round(h * scale))
        notes = (f"downscaled from {w}x{h} to {size[0]}x{size[1]}",)
        if o != 1:
            notes = (f"EXIF orientation tag ({o})",) + notes
        add(CorpusFile(f"exif-orientation-{o}.jpg", exif_jpeg(o, stored), "accepted",
                       size=size, notes=notes, corners=corner_colours(upright)))

    # Colour modes.
    add(CorpusFile("cmyk.jpg", save(Image.new("CMYK", (40, 24), (0, 255, 255, 0)), "JPEG", quality=95),
                   "accepted", size=(40, 24), notes=("converted from CMYK",), corners=[(255, 0, 0)] * 4))
    ramp = np.tile(np.linspace(0, 65535, 64).round().astype(np.uint16), (16, 1))
    add(CorpusFile("gray-16bit.png", save(Image.fromarray(ramp), "PNG"), "accepted", size=(64, 16),
                   notes=("16-bit image scaled to 8 bits",)))
    pal = Image.new("P", (40, 40), 1)
    pal.putpalette([10, 20, 30] + [200, 0, 0] + [0, 0, 0] * 254)
    for y in range(20):
        for x in range(20):
            pal.putpixel((x, y), 0)  # top-left quarter transparent
    add(CorpusFile("palette-transparent.png", save(pal, "PNG", transparency=0), "accepted", size=(40, 40),
                   notes=("transparent areas composited on white",),
                   corners=[(255, 255, 255), (200, 0, 0), (200, 0, 0), (200, 0, 0)]))
    lum = np.zeros((32, 32), np.uint8)
    alpha = np.full((32, 32), 255, np.uint8)
    alpha[:, :16] = 0
    la = Image.merge("LA", [Image.fromarray(lum), Image.fromarray(alpha)])
    add(CorpusFile("gray-alpha.png", save(la, "PNG"), "accepted", size=(32, 32),
                   notes=("transparent areas composited on white",),
                   corners=[(255, 255, 255), (0, 0, 0), (255, 255, 255), (0, 0, 0)]))

    # An animation of 300 frames: the first (red) frame is used.
    frames = [Image.new("P", (24, 16), i % 4) for i in range(300)]
    for f in frames:
        f.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0] + [0, 0, 0] * 252)
    gif = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=20, loop=0)
    add(CorpusFile("animated-300-frames.gif", gif, "accepted", size=(24, 16),
                   notes=("used the first of 300 animation frames",), corners=[(255, 0, 0)] * 4))

    # Not images at all, or not ours, under an accepted extension.
    add(CorpusFile("empty.png", b"", "refused", ("empty", "0 bytes")))
    add(CorpusFile("homework.png", b"Dear class,\nplease read chapter 3 before Monday.\n" * 20, "refused",
                   ("text file", "not an image")))
    add(CorpusFile("slides.png", PDF_BYTES, "refused", ("PDF document", "not an image")))
    add(CorpusFile("iphone-photo.jpg", HEIC_BYTES, "refused", ("HEIC",)))
    add(CorpusFile("scan.png", save(Image.new("RGB", (8, 8)), "TIFF"), "refused", ("TIFF", "does not accept")))
    junk = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    add(CorpusFile("junk.gif", b"\x00\x01" + junk, "refused", ("not an image",)))

    # Very thin pictures.
    add(CorpusFile("thin-1x4000.png", save(Image.new("L", (1, 4000), 200), "PNG"), "accepted",
                   size=(1, 512), notes=("downscaled from 1x4000 to 1x512",)))
    add(CorpusFile("thin-4000x1.png", save(Image.new("L", (4000, 1), 200), "PNG"), "accepted",
                   size=(512, 1), notes=("downscaled from 4000x1 to 512x1",)))

    # Refused by Streamlit's uploader itself (wrong extension, over server.maxUploadSize).
    add(CorpusFile("document.pdf", PDF_BYTES, "frontend", ("not allowed",)))
    add(CorpusFile("iphone-photo.heic", HEIC_BYTES, "frontend", ("not allowed",)))
    big = np.random.default_rng(2).integers(0, 256, upload_limit_bytes + (1 << 20), dtype=np.uint8).tobytes()
    add(CorpusFile("huge-26MB.png", big, "frontend", ("or smaller",)))

    # And an ordinary picture at the end: uploading still works after all of the above.
    add(CorpusFile("ordinary.png", save(noise, "PNG"), "accepted", size=(128, 96)))
    return files


def write_corpus(directory: Path, files: list[CorpusFile]) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for f in files:
        path = directory / f.name
        path.write_bytes(f.data)
        paths[f.name] = path
    return paths
