"""explainer.spectral: the normalisation, exactness against direct FFTs of x_t, and the derived numbers."""
import json
import math

import numpy as np
import pytest

from explainer.core import forward, spectral
from explainer.core.schedules import make_schedule
from explainer.lessons import image_loading, spectrum_framesets
from explainer.lessons.framesets import FrameSet, frame_indices

from conftest import ROOT

ASSETS = ROOT / "assets"


def test_white_noise_is_flat_at_its_variance():
    rng = np.random.default_rng(0)
    sigma = 0.5
    spectra = np.stack([spectral.radial_power_spectrum(sigma * rng.standard_normal((128, 128)))[1]
                        for _ in range(20)])
    freqs, _ = spectral.radial_power_spectrum(np.zeros((128, 128)))
    assert len(freqs) == 64 and freqs[0] == pytest.approx(1 / 128) and freqs[-1] == pytest.approx(0.5)
    mean = spectra.mean(axis=0)
    assert mean.mean() == pytest.approx(sigma**2, rel=0.02)
    # every ring with enough coefficients is within 10 % of sigma^2: flat, no slope
    np.testing.assert_allclose(mean[8:], sigma**2, rtol=0.1)
    slope = np.polyfit(np.log(freqs[4:]), np.log(mean[4:]), 1)[0]
    assert abs(slope) < 0.05


def test_a_single_wave_puts_all_its_power_in_one_ring():
    n, k = 64, 8
    i = np.arange(n)
    wave = np.cos(2 * np.pi * k * i / n)[None, :].repeat(n, axis=0)  # (H, W): varies along x
    freqs, power = spectral.radial_power_spectrum(wave)
    _, counts, _ = spectral.radial_bins(n, n)
    assert freqs[np.argmax(power)] == pytest.approx(k / n)
    # Parseval: the ring's total power is the image's sum of squares (N^2 / 2), nothing elsewhere
    assert power[k - 1] * counts[k - 1] == pytest.approx(n * n / 2)
    assert np.delete(power, k - 1).max() < 1e-20


def test_colour_channels_are_averaged_and_stacks_match_single_images():
    rng = np.random.default_rng(1)
    grey = rng.standard_normal((40, 50))
    f1, p1 = spectral.radial_power_spectrum(grey)
    _, p3 = spectral.radial_power_spectrum(np.stack([grey, grey, grey], axis=-1))
    np.testing.assert_allclose(p3, p1, rtol=1e-12)
    assert len(f1) == 20  # floor(min(40, 50) / 2) rings
    stack = rng.standard_normal((3, 28, 28))
    _, ps = spectral.radial_power_spectra(stack)
    for j in range(3):
        np.testing.assert_allclose(ps[j], spectral.radial_power_spectrum(stack[j])[1], rtol=1e-12)
    with pytest.raises(ValueError, match="2 x 2"):
        spectral.radial_power_spectrum(np.zeros((1, 5)))


@pytest.fixture(scope="module")
def photo():
    x0 = image_loading.load_image(ASSETS / "images" / "cat.jpg", max_side=96).array.astype(np.float64)
    eps = np.random.default_rng(2).standard_normal(x0.shape)
    return x0, eps


def test_noised_spectra_equal_direct_spectra_of_x_t(photo):
    x0, eps = photo
    s = make_schedule("linear", 1000)
    ts = [0, 100, 400, 999]
    sp = spectral.noised_spectra(x0, eps, s.alpha_bars[ts])
    for j, t in enumerate(ts):
        x_t = np.sqrt(s.alpha_bars[t]) * x0 + np.sqrt(1 - s.alpha_bars[t]) * eps
        np.testing.assert_allclose(sp["x_t"][j], spectral.radial_power_spectrum(x_t)[1], rtol=1e-10)
        # and the page's own noising (float32) agrees to float32 precision
        np.testing.assert_allclose(sp["x_t"][j], spectral.radial_power_spectrum(
            forward.noised(s, x0.astype(np.float32), t, eps.astype(np.float32)))[1], rtol=1e-4)
    np.testing.assert_allclose(sp["signal"][1], s.alpha_bars[100] * sp["x0"])
    np.testing.assert_allclose(sp["noise"][1], (1 - s.alpha_bars[100]) * sp["eps"])


def test_drowning_goes_from_fine_to_coarse(photo):
    x0, eps = photo
    s = make_schedule("linear", 1000)
    sp = spectral.noised_spectra(x0, eps, [])
    drown = spectral.drowning_timesteps(s, sp["x0"], sp["eps"])
    for j in (0, len(drown) // 2, len(drown) - 1):
        t = drown[j]
        ab = s.alpha_bars
        assert ab[t] * sp["x0"][j] < (1 - ab[t]) * sp["eps"][j]          # drowned at t ...
        assert t == 0 or ab[t - 1] * sp["x0"][j] >= (1 - ab[t - 1]) * sp["eps"][j]  # ... not before
    assert drown[-1] < drown[len(drown) // 2] < drown[0]  # a photo: fine detail goes first
    # an image with no power at some ring is drowned there from t = 0
    assert spectral.drowning_timesteps(s, np.array([1.0, 0.0]), np.array([1.0, 1.0]))[1] == 0
    assert spectral.drowning_timesteps(s, np.array([1e9]), np.array([1.0]))[0] == -1


def test_crossover_and_drowned():
    f = np.array([0.1, 0.2, 0.3])
    assert math.isnan(spectral.crossover_frequency(f, np.array([3.0, 2.0, 1.5]), np.ones(3)))
    assert spectral.crossover_frequency(f, np.array([3.0, 0.5, 0.2]), np.ones(3)) == 0.2
    assert spectral.drowned(np.array([3.0, 0.5]), np.ones(2)).tolist() == [False, True]


def lowpass(image, cutoff):
    """Keep only frequencies with |f| <= cutoff (cycles per pixel)."""
    fy = np.fft.fftfreq(image.shape[0])[:, None]
    fx = np.fft.fftfreq(image.shape[1])[None, :]
    return np.fft.ifft2(np.fft.fft2(image) * (np.hypot(fx, fy) <= cutoff)).real


def test_settle_steps_coarse_to_fine():
    final = np.random.default_rng(3).standard_normal((28, 28))
    cutoffs = np.linspace(0.0, 0.75, 12)
    traj = np.stack([lowpass(final, c) for c in cutoffs])
    freqs, settle = spectral.settle_steps(traj, final, tol=0.1)
    assert np.all(np.diff(settle) >= 0) and settle[0] < settle[-1]
    # each ring settles between the first step whose cutoff reaches into it and the first that covers it
    for j, f in enumerate(freqs):
        assert np.argmax(cutoffs >= f - 0.5 / 28) <= settle[j] <= np.argmax(cutoffs >= f + 0.5 / 28)
    freqs, settle = spectral.settle_steps(np.stack([final] * 3), final)
    assert np.all(settle == 0)
    with pytest.raises(ValueError):
        spectral.settle_steps(final, final)


def test_spectrum_frameset_payload(photo):
    x0, eps = photo
    s = make_schedule("cosine", 1000)
    ts = frame_indices(1000, 12)
    fs = spectrum_framesets.spectrum_frameset(s, x0, eps, ts, label="Timestep t")
    body = json.loads(fs.to_bytes())
    chart = body["charts"][0]
    assert chart["kind"] == "curves" and chart["log_x"] and chart["log_y"]
    assert [len(c["ys"]) for c in chart["series"]] == [12, 12, 12] and len(chart["marks"]) == 12
    assert chart["marks"][0] is None  # at t = 0 nothing is drowned
    assert body["lines"][0][-1].startswith("The noise is stronger than the image at every frequency")
    drowned_share = [m for m in body["metrics"] if m["label"] == "frequencies drowned"][0]["values"]
    shares = [float(v.rstrip("%")) for v in drowned_share]
    assert shares[0] == 0 and shares[-1] == 100 and np.all(np.diff(shares) >= 0)


def test_add_curves_checks_lengths():
    fs = FrameSet(label="t", values=[0, 1])
    with pytest.raises(ValueError, match="positions"):
        fs.add_curves("c", [1, 2], [{"name": "a", "color": "#000", "ys": [[1, 2]]}], "x", "y")
    with pytest.raises(ValueError, match="marks"):
        fs.add_curves("c", [1, 2], [{"name": "a", "color": "#000", "ys": [[1, 2], [2, 3]]}], "x", "y", marks=[1])
