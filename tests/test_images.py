"""Tests for lessons.image_loading, image_arrays and image_encoding: a corpus of odd, broken and hostile files."""
from __future__ import annotations

import dataclasses
import io
import struct
import time

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from explainer.lessons import image_loading
from explainer.lessons.image_arrays import center_square, image_grid, to_model_input, to_pil, to_uint8
from explainer.lessons.image_encoding import encode_png, write_gif
from explainer.lessons.image_loading import ImageError, LoadedImage, load_image
from tests.corpus import UPRIGHT, corner_colours, hostile_corpus
from tests.corpus import bilevel_png as _bilevel_png
from tests.corpus import noise_rgb as _noise_rgb
from tests.corpus import save as _save

# ---------------------------------------------------------------------------
# Helpers (the file builders are shared with the browser corpus test: tests/corpus.py)
# ---------------------------------------------------------------------------

def _u8(loaded_array: np.ndarray) -> np.ndarray:
    """[-1, 1] float back to 0..255 for readable colour assertions."""
    return np.rint((loaded_array + 1.0) * 127.5).astype(int)


def _refused(data, *keywords, **kwargs) -> str:
    """Assert that loading is refused and the message names every keyword."""
    with pytest.raises(ImageError) as info:
        load_image(data, **kwargs)
    message = str(info.value)
    for keyword in keywords:
        assert keyword.lower() in message.lower(), f"{keyword!r} not in {message!r}"
    return message


# ---------------------------------------------------------------------------
# EXIF orientation
# ---------------------------------------------------------------------------

# Four distinct quadrant colours, stored 48 wide x 32 high.
QUADRANTS = np.zeros((32, 48, 3), dtype=np.uint8)
QUADRANTS[:16, :24] = (255, 0, 0)  # top-left red
QUADRANTS[:16, 24:] = (0, 255, 0)  # top-right green
QUADRANTS[16:, :24] = (0, 0, 255)  # bottom-left blue
QUADRANTS[16:, 24:] = (255, 255, 255)  # bottom-right white


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    exif = Image.Exif()
    exif[274] = orientation
    data = _save(Image.fromarray(QUADRANTS), "JPEG", quality=95, exif=exif.tobytes())

    loaded = load_image(data)
    expected = UPRIGHT[orientation](QUADRANTS)

    assert loaded.array.shape == expected.shape
    assert loaded.original_size == (expected.shape[1], expected.shape[0])
    got = _u8(loaded.array)
    h, w = expected.shape[:2]
    for y, x in [(3, 3), (3, w - 4), (h - 4, 3), (h - 4, w - 4)]:  # inside each corner
        assert np.abs(got[y, x] - expected[y, x].astype(int)).max() < 40, (orientation, y, x)
    has_note = any("EXIF" in note for note in loaded.notes)
    assert has_note == (orientation != 1)


# ---------------------------------------------------------------------------
# Colour modes
# ---------------------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb():
    cmyk_red = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    loaded = load_image(_save(cmyk_red, "JPEG", quality=95))
    r, g, b = _u8(loaded.array)[8, 8]
    assert r > 220 and g < 40 and b < 40
    assert any("CMYK" in note for note in loaded.notes)


def test_16_bit_png_is_scaled_not_saturated():
    gradient = np.linspace(0, 65535, 256).round().astype(np.uint16)
    sixteen = Image.fromarray(np.tile(gradient, (4, 1)))
    assert sixteen.mode == "I;16"
    loaded = load_image(_save(sixteen, "PNG"))

    values = loaded.array[..., 0]
    assert values.max() == pytest.approx(1.0)
    assert values.min() == pytest.approx(-1.0)
    assert len(np.unique(values)) > 200  # a smooth ramp, not clipped to white
    assert values[0, 128] == pytest.approx(0.0, abs=0.02)
    assert any("16-bit" in note for note in loaded.notes)


def test_big_endian_16_bit_via_internal_helper():
    values = np.array([[0, 257 * 100, 65535]], dtype=">u2")
    rgb, notes = image_loading.to_rgb(Image.fromarray(values))
    assert np.asarray(rgb)[0, :, 0].tolist() == [0, 100, 255]
    assert "16-bit" in notes[0]


def test_float_and_int32_images_are_stretched_by_their_range():
    floats = Image.fromarray(np.array([[-3.0, 0.0, 5.0]], dtype=np.float32))
    assert floats.mode == "F"
    rgb, notes = image_loading.to_rgb(floats)
    assert np.asarray(rgb)[0, :, 0].tolist() == [0, 96, 255]
    assert "floating-point" in notes[0]

    wide_ints = Image.fromarray(np.array([[-1000, 0, 1000]], dtype=np.int32))
    assert wide_ints.mode == "I"
    rgb, _ = image_loading.to_rgb(wide_ints)
    assert np.asarray(rgb)[0, :, 0].tolist() == [0, 128, 255]

    # "I" holding 16-bit data (as some decoders produce) is scaled like I;16.
    sixteen_in_i = Image.fromarray(np.array([[0, 65535]], dtype=np.int32))
    rgb, notes = image_loading.to_rgb(sixteen_in_i)
    assert np.asarray(rgb)[0, :, 0].tolist() == [0, 255]
    assert "16-bit" in notes[0]


def test_flat_float_image_is_mid_grey_not_an_error():
    flat = Image.fromarray(np.full((2, 2), 7.5, dtype=np.float32))
    rgb, _ = image_loading.to_rgb(flat)
    assert np.asarray(rgb).min() == np.asarray(rgb).max() == 128


def test_palette_png_transparent_index_becomes_background():
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([10, 20, 30] + [200, 0, 0] + [0, 0, 0] * 254)
    pal.putpixel((0, 0), 0)
    data = _save(pal, "PNG", transparency=0)

    loaded = load_image(data, background=(0, 255, 0))
    got = _u8(loaded.array)
    assert got[0, 0].tolist() == [0, 255, 0]  # the transparent pixel shows the background
    assert got[2, 2].tolist() == [200, 0, 0]
    assert any("transparent" in note for note in loaded.notes)


def test_la_png_composited_on_white():
    luminance = np.zeros((4, 4), np.uint8)
    alpha = np.full((4, 4), 255, np.uint8)
    alpha[:, :2] = 0  # left half fully transparent
    la = Image.merge("LA", [Image.fromarray(luminance), Image.fromarray(alpha)])
    loaded = load_image(_save(la, "PNG"))
    got = _u8(loaded.array)
    assert got[0, 0].tolist() == [255, 255, 255]
    assert got[0, 3].tolist() == [0, 0, 0]
    assert any("white" in note for note in loaded.notes)


def test_rgba_png_half_transparent_is_blended():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 128))
    loaded = load_image(_save(rgba, "PNG"))
    r, g, b = _u8(loaded.array)[1, 1]
    assert r == 255 and 120 <= g <= 135 and g == b


def test_opaque_rgba_gets_no_transparency_note():
    loaded = load_image(_save(Image.new("RGBA", (4, 4), (1, 2, 3, 255)), "PNG"))
    assert not any("transparent" in note for note in loaded.notes)


def test_one_bit_png():
    bits = Image.new("1", (8, 8), 0)
    bits.putpixel((7, 7), 1)
    got = _u8(load_image(_save(bits, "PNG")).array)
    assert got[0, 0].tolist() == [0, 0, 0] and got[7, 7].tolist() == [255, 255, 255]


def test_grayscale_mode_output():
    loaded = load_image(_save(Image.new("RGB", (10, 6), (255, 255, 255)), "PNG"), mode="L")
    assert loaded.array.shape == (6, 10)
    assert loaded.array.dtype == np.float32
    assert loaded.pil.mode == "L"
    assert loaded.array.min() == loaded.array.max() == 1.0


# ---------------------------------------------------------------------------
# Animations, odd shapes, sizes
# ---------------------------------------------------------------------------


def test_animated_gif_uses_first_frame():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (8, 8), c) for c in colours]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    loaded = load_image(data)
    r, g, b = _u8(loaded.array)[4, 4]
    assert r > 240 and g < 15 and b < 15
    assert any("3" in note and "frame" in note for note in loaded.notes)


def test_multi_picture_jpeg_is_accepted_as_jpeg():
    pictures = [Image.new("RGB", (8, 8), (255, 255, 0)), Image.new("RGB", (8, 8), (0, 0, 0))]
    data = _save(pictures[0], "MPO", save_all=True, append_images=pictures[1:])
    loaded = load_image(data)
    assert loaded.format == "JPEG"
    assert _u8(loaded.array)[4, 4, 0] > 240
    assert any("multi-picture" in note for note in loaded.notes)


def test_one_pixel_image():
    loaded = load_image(_save(Image.new("RGB", (1, 1), (0, 0, 0)), "PNG"))
    assert loaded.array.shape == (1, 1, 3)
    assert loaded.array.min() == -1.0
    assert loaded.notes == ()


@pytest.mark.parametrize("size, expected_shape", [((1, 5000), (512, 1, 3)), ((5000, 1), (1, 512, 3))])
def test_very_thin_images_keep_at_least_one_pixel(size, expected_shape):
    loaded = load_image(_save(Image.new("L", size, 200), "PNG"))
    assert loaded.array.shape == expected_shape
    assert loaded.original_size == size
    assert any("downscaled" in note for note in loaded.notes)


def test_downscale_keeps_aspect_ratio_and_never_upscales():
    loaded = load_image(_save(_noise_rgb(300, 1000), "PNG"), max_side=100)
    assert loaded.array.shape == (30, 100, 3)
    assert loaded.pil.size == (100, 30)
    assert "downscaled from 1000x300 to 100x30" in loaded.notes

    small = load_image(_save(_noise_rgb(30, 40), "PNG"), max_side=100)
    assert small.array.shape == (30, 40, 3)
    assert not any("downscaled" in note for note in small.notes)


def test_large_jpeg_downscaled_with_draft_reports_full_original_size():
    loaded = load_image(_save(_noise_rgb(1200, 1600), "JPEG"), max_side=100)
    assert loaded.original_size == (1600, 1200)
    assert loaded.array.shape == (75, 100, 3)
    assert "downscaled from 1600x1200 to 100x75" in loaded.notes


def test_lossless_roundtrip_values():
    picture = _noise_rgb(20, 30)
    loaded = load_image(_save(picture, "PNG"))
    assert loaded.array.dtype == np.float32
    assert np.array_equal(_u8(loaded.array), np.asarray(picture).astype(int))
    assert loaded.format == "PNG"


@pytest.mark.parametrize("fmt, options", [("WEBP", {"lossless": True}), ("BMP", {}), ("GIF", {}), ("JPEG", {})])
def test_allowed_formats_are_accepted(fmt, options):
    loaded = load_image(_save(Image.new("RGB", (12, 10), (255, 255, 255)), fmt, **options))
    assert loaded.format == fmt
    assert loaded.array.shape == (10, 12, 3)
    assert loaded.array.min() > 0.9


def test_path_and_file_object_inputs(tmp_path):
    data = _save(Image.new("RGB", (5, 4), (0, 0, 0)), "PNG")
    path = tmp_path / "picture.png"
    path.write_bytes(data)
    for source in (path, str(path), io.BytesIO(data), bytearray(data)):
        assert load_image(source).array.shape == (4, 5, 3)


def test_loaded_image_is_frozen():
    loaded = load_image(_save(Image.new("RGB", (2, 2)), "PNG"))
    assert isinstance(loaded, LoadedImage)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.format = "GIF"


# ---------------------------------------------------------------------------
# Hostile and broken files
# ---------------------------------------------------------------------------


@pytest.fixture
def forbid_decoding(monkeypatch):
    """Make any attempt to decode pixels fail the test loudly."""

    def no_load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)


def test_huge_dimensions_refused_from_header(forbid_decoding):
    data = _bilevel_png(8000, 8000)  # 64 MP: over our cap, under Pillow's own
    assert len(data) < 100_000
    start = time.perf_counter()
    message = _refused(data, "8000 x 8000", "64 megapixels", "limit is 50 megapixels", "resize")
    assert time.perf_counter() - start < 1.0
    assert "64" in message


def test_decompression_bomb_refused_fast(forbid_decoding):
    data = _bilevel_png(30000, 30000)  # 900 MP in ~100 KB: Pillow's bomb error fires
    assert len(data) < 200_000
    start = time.perf_counter()
    _refused(data, "900 megapixels", "limit is 50 megapixels", "resize")
    assert time.perf_counter() - start < 1.0


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_pillow_bomb_warning_as_error_becomes_image_error(forbid_decoding):
    # 100 MP lies between Pillow's warning and error thresholds.
    _refused(_bilevel_png(10000, 10000), "100 megapixels", "resize")


def test_pixel_cap_is_configurable(monkeypatch):
    monkeypatch.setattr(image_loading, "MAX_PIXELS", 1000)
    _refused(_save(Image.new("RGB", (50, 40)), "PNG"), "50 x 40", "2000")


def test_file_size_limit(monkeypatch, tmp_path):
    data = _save(_noise_rgb(64, 64), "PNG")
    monkeypatch.setattr(image_loading, "MAX_BYTES", 1024)
    _refused(data, "limit", "smaller")
    path = tmp_path / "big.png"
    path.write_bytes(data)
    _refused(path, "limit")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF"])
def test_truncated_files(fmt):
    data = _save(_noise_rgb(), fmt)
    _refused(data[: len(data) // 2], "cut off", "truncated", "again")


def test_truncated_header_is_still_called_cut_off():
    data = _save(_noise_rgb(), "PNG")
    _refused(data[:20], "cut off")


def test_corrupt_png_is_called_damaged():
    data = bytearray(_save(_noise_rgb(), "PNG"))
    start = data.index(b"IDAT") + 8
    data[start : start + 200] = bytes(200)  # wipe compressed data, keep the ending
    message = _refused(bytes(data), "damaged")
    assert "cut off" not in message


def test_text_file_renamed_png(tmp_path):
    path = tmp_path / "homework.png"
    path.write_text("Dear class,\nplease read chapter 3.\n")
    _refused(path, "text file", "PNG, JPEG")


def test_pdf_is_named():
    _refused(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF", "not an image")


def test_heic_is_named():
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(100)
    _refused(heic, "HEIC", "JPEG")


def test_empty_file(tmp_path):
    _refused(b"", "empty")
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    _refused(path, "empty")


def test_missing_file(tmp_path):
    _refused(tmp_path / "nowhere.png", "could not find", "nowhere.png")


def test_tiff_is_refused_by_name():
    _refused(_save(Image.new("RGB", (4, 4)), "TIFF"), "TIFF", "does not accept", "PNG, JPEG, WebP, GIF or BMP")


def test_random_binary_is_not_an_image():
    junk = np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    _refused(b"\x00\x01" + junk, "not an image")


def test_bad_options_are_programming_errors():
    data = _save(Image.new("RGB", (2, 2)), "PNG")
    with pytest.raises(ValueError):
        load_image(data, mode="CMYK")
    with pytest.raises(ValueError):
        load_image(data, max_side=0)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def test_to_uint8_range_and_clipping():
    x = np.array([[-3.0, -1.0, 0.0, 1.0, 2.0, np.nan]], dtype=np.float32)
    out = to_uint8(x)
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 128, 255, 255, 128]]


def test_to_uint8_shapes_and_tensors():
    assert to_uint8(np.zeros((4, 5, 1))).shape == (4, 5)
    assert to_uint8(np.zeros((4, 5, 3))).shape == (4, 5, 3)
    chw = torch.zeros(3, 4, 5)
    chw[0] = 1.0  # red channel full
    out = to_uint8(chw)
    assert out.shape == (4, 5, 3)
    assert out[0, 0].tolist() == [255, 128, 128]
    assert to_uint8(torch.ones(1, 4, 5)).shape == (4, 5)
    assert to_uint8(torch.ones(4, 5)).min() == 255
    passthrough = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert to_uint8(passthrough) is passthrough
    with pytest.raises(ValueError):
        to_uint8(np.zeros((4, 5, 2)))


def test_to_pil_modes():
    assert to_pil(np.zeros((3, 4))).mode == "L"
    assert to_pil(np.zeros((3, 4, 3))).size == (4, 3)
    img = Image.new("RGB", (2, 2))
    assert to_pil(img) is img


def test_image_grid_shape_padding_and_placement():
    tiles = [np.full((8, 6), i / 5 * 2 - 1, dtype=np.float32) for i in range(5)]
    grid = image_grid(tiles, pad=2, pad_value=7)
    # 5 tiles -> 3 columns x 2 rows, padded between and around.
    assert grid.shape == (2 * 8 + 3 * 2, 3 * 6 + 4 * 2)
    assert grid.dtype == np.uint8
    assert grid[0, 0] == 7
    assert grid[2, 2] == to_uint8(tiles[0])[0, 0]
    assert grid[2 + 8 + 2, 2 + 6 + 2] == to_uint8(tiles[4])[0, 0]  # row 1, column 1
    assert grid[-3, -3] == 7  # the unused sixth cell stays padding


def test_image_grid_batches_and_colour_promotion():
    batch = torch.zeros(4, 1, 5, 5)
    assert image_grid(batch, ncol=4, pad=0).shape == (5, 20)
    mixed = [np.zeros((5, 5)), np.zeros((5, 5, 3), np.uint8)]
    assert image_grid(mixed, pad=1).shape == (7, 13, 3)
    with pytest.raises(ValueError):
        image_grid([np.zeros((5, 5)), np.zeros((6, 5))])


def test_encode_png_roundtrip():
    array = np.random.default_rng(2).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    decoded = Image.open(io.BytesIO(encode_png(array)))
    assert decoded.format == "PNG"
    assert np.array_equal(np.asarray(decoded), array)


def test_write_gif_frames_and_upscale():
    frames = [np.full((28, 28), v, dtype=np.float32) for v in (-1.0, -0.5, 0.5, 1.0)]
    data = write_gif(frames, duration_ms=100, upscale=3)
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF"
    assert gif.n_frames == 4
    assert gif.size == (84, 84)
    assert gif.info["duration"] == 100
    assert gif.info["loop"] == 0


def test_write_gif_refuses_nothing_to_write():
    with pytest.raises(ValueError):
        write_gif([])


def test_center_square_and_model_input():
    page = Image.new("RGB", (60, 40), (255, 255, 255))
    page.paste((0, 0, 0), (20, 10, 40, 30))  # a black square in the middle
    square = center_square(page)
    assert square.size == (40, 40)

    x = to_model_input(page, size=28, invert=True)
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x[14, 14] == pytest.approx(1.0, abs=0.02)  # the dark mark becomes bright
    assert x[0, 0] == pytest.approx(-1.0, abs=0.02)  # the white page becomes dark
    assert to_model_input(page)[14, 14] == pytest.approx(-1.0, abs=0.02)


# ---------------------------------------------------------------------------
# The browser's upload corpus, without a browser
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus():
    return hostile_corpus()


# Pillow warns when it opens the 144-megapixel header, just before load_image refuses the file.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_hostile_upload_corpus_through_load_image(corpus, subtests):
    """Every file of tests/corpus.py (the browser test's uploads) through load_image with the forward page's
    settings (max_side 512, RGB): a refused file raises ImageError saying why; an accepted one is decoded
    within the limits, at the expected size, with the expected notes and colours. The files Streamlit's own
    uploader stops (wrong extension, over 25 MB) are refused here too, should they arrive another way."""
    assert {f.outcome for f in corpus} == {"accepted", "refused", "frontend"}
    for f in corpus:
        with subtests.test(msg=f.name):
            if f.outcome == "accepted":
                img = load_image(f.data, max_side=512)
                w, h = img.pil.size
                assert (w, h) == f.size
                assert max(w, h) <= 512 and w * h <= image_loading.MAX_PIXELS
                assert img.array.shape == (h, w, 3) and img.array.dtype == np.float32
                assert np.isfinite(img.array).all() and -1.0 <= img.array.min() <= img.array.max() <= 1.0
                joined = "; ".join(img.notes)
                assert all(n in joined for n in f.notes), (f.notes, img.notes)
                if f.corners:
                    got = corner_colours(to_uint8(img.array))
                    assert all(abs(int(a) - int(b)) <= 60 for g, c in zip(got, f.corners) for a, b in zip(g, c)), \
                        (got, f.corners)
            else:
                with pytest.raises(ImageError) as refused:
                    load_image(f.data, max_side=512)
                if f.outcome == "refused":
                    assert all(k in str(refused.value) for k in f.keywords), (f.keywords, str(refused.value))
