"""The spectral view of diffusion: radially averaged power spectra of images and noise.

Natural images put most of their power in low spatial frequencies (coarse shapes),
roughly P(f) ~ 1/f^2; white Gaussian noise has the same power at every frequency.
Noising x_t = sqrt(ab) x0 + sqrt(1 - ab) eps scales the image's spectrum by ab and lays
a flat floor of height (1 - ab) under it, so as t grows the floor rises and covers
the weak high frequencies first: diffusion is approximately autoregression over
frequencies, coarse to fine (Dieleman 2024, "Diffusion is spectral autoregression";
Rissanen et al. 2023).

Normalisation
-------------
For an H x W image x (values in the units of the model, [-1, 1] for pictures),
X = FFT2(x) with norm="ortho" (X = DFT / sqrt(H W)), and the power of a
frequency is |X(f)|^2. By Parseval the mean of |X|^2 over all H W frequencies is the
mean of x^2 over the pixels; white noise of variance sigma^2 has E|X(f)|^2 = sigma^2
at every f. The radial spectrum averages |X(f)|^2 over rings of radial frequency
|f| = sqrt(fx^2 + fy^2) in cycles per pixel (numpy.fft.fftfreq): ring j = 1 ... n covers
|f| in [(j - 1/2) d, (j + 1/2) d) with d = 1 / min(H, W) and n = floor(min(H, W) / 2), and is
reported at f = j d. Ring 0 (the mean brightness) and the corners beyond the
Nyquist frequency 0.5 (incomplete rings) are left out. Colour channels are
averaged (power, not amplitude). So white noise of variance sigma^2 has a flat
radial spectrum at sigma^2, and a feature of size L pixels lives near f = 1 / L.
"""
from __future__ import annotations

import math

import numpy as np

from .schedules import NoiseSchedule


def radial_bins(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ring index (H, W) with -1 for left-out frequencies, coefficients per ring (n,), ring frequencies (n,)).

    Ring j (1-based in the docstring) is index j - 1 here; see the module docstring for the rings.
    """
    if height < 2 or width < 2:
        raise ValueError(f"an image needs at least 2 x 2 pixels for a spectrum, got {height} x {width}")
    side = min(height, width)
    d = 1.0 / side
    n = side // 2
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    ring = np.floor(np.sqrt(fx**2 + fy**2) / d + 0.5).astype(np.int64)  # nearest j
    index = np.where((ring >= 1) & (ring <= n), ring - 1, -1)
    counts = np.bincount(index[index >= 0], minlength=n)
    return index, counts, d * np.arange(1, n + 1)


def _ring_mean(power: np.ndarray, index: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Ring means of power (..., H, W) -> (..., n)."""
    lead = power.shape[:-2]
    flat = power.reshape(-1, power.shape[-2] * power.shape[-1])
    keep = index.ravel() >= 0
    idx = index.ravel()[keep]
    out = np.stack([np.bincount(idx, weights=row[keep], minlength=len(counts)) for row in flat])
    return (out / counts).reshape(*lead, len(counts))


def _planes(x: np.ndarray, channels_last: bool) -> np.ndarray:
    """The image as (..., C, H, W) planes (C = 1 for grey)."""
    x = np.asarray(x, dtype=np.float64)
    if channels_last:
        if x.ndim != 3:
            raise ValueError(f"expected a colour image (H, W, C), got shape {x.shape}")
        return np.moveaxis(x, -1, 0)
    if x.ndim < 2:
        raise ValueError(f"expected an image (H, W) or a stack (..., H, W), got shape {x.shape}")
    return x[..., None, :, :]


def _fft(planes: np.ndarray) -> np.ndarray:
    return np.fft.fft2(planes, norm="ortho")


def radial_power_spectrum(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in cycles per pixel (n,), power (n,)) of one image (H, W) or (H, W, C).

    The ring means of |FFT2(x)|^2 with norm="ortho", channels averaged (module docstring):
    white noise of variance sigma^2 gives a flat spectrum at sigma^2.
    """
    image = np.asarray(image)
    planes = _planes(image, channels_last=image.ndim == 3)
    index, counts, freqs = radial_bins(*planes.shape[-2:])
    power = np.abs(_fft(planes)) ** 2
    return freqs, _ring_mean(power, index, counts).mean(axis=0)


def radial_power_spectra(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies (n,), power (..., n)) for a stack of grey images (..., H, W), each on its own."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 2:
        raise ValueError(f"expected images (..., H, W), got shape {images.shape}")
    index, counts, freqs = radial_bins(*images.shape[-2:])
    return freqs, _ring_mean(np.abs(_fft(images)) ** 2, index, counts)


def noised_spectra(x0: np.ndarray, eps: np.ndarray, alpha_bars) -> dict:
    """Spectra of x0, of eps and of x_t = sqrt(ab) x0 + sqrt(1-ab) eps for each ab in alpha_bars.

    The FFT is linear, so |X_t|^2 = ab |X0|^2 + (1-ab) |E|^2 + 2 sqrt(ab (1-ab)) Re(X0 conj(E)):
    three ring means computed once give every level exactly (no FFT per t). Returns
    {"freqs" (n,), "x0" (n,), "eps" (n,), "cross" (n,), "signal" (L, n) = ab P_x0,
    "noise" (L, n) = (1-ab) P_eps, "x_t" (L, n)}; x0 and eps are (H, W) or (H, W, C) alike.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    eps = np.asarray(eps, dtype=np.float64)
    if x0.shape != eps.shape:
        raise ValueError(f"x0 {x0.shape} and eps {eps.shape} must have the same shape")
    colour = x0.ndim == 3
    p0, pe = _planes(x0, colour), _planes(eps, colour)
    index, counts, freqs = radial_bins(*p0.shape[-2:])
    f0, fe = _fft(p0), _fft(pe)
    s_x0 = _ring_mean(np.abs(f0) ** 2, index, counts).mean(axis=0)
    s_eps = _ring_mean(np.abs(fe) ** 2, index, counts).mean(axis=0)
    cross = _ring_mean((f0 * np.conj(fe)).real, index, counts).mean(axis=0)
    ab = np.asarray(alpha_bars, dtype=np.float64).reshape(-1, 1)
    signal = ab * s_x0
    noise = (1.0 - ab) * s_eps
    x_t = signal + noise + 2.0 * np.sqrt(ab * (1.0 - ab)) * cross
    return {"freqs": freqs, "x0": s_x0, "eps": s_eps, "cross": cross, "signal": signal, "noise": noise,
            "x_t": x_t}


def drowned(signal: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Which rings the noise covers: signal power below noise power (same shapes, booleans)."""
    return np.asarray(signal) < np.asarray(noise)


def crossover_frequency(freqs: np.ndarray, signal: np.ndarray, noise: np.ndarray) -> float:
    """The lowest frequency at which the noise is stronger than the signal (nan if at none).

    For natural images the signal falls with f and the floor is flat, so every frequency above
    this one is drowned too (`drowned` says exactly which are).
    """
    d = drowned(signal, noise)
    return float(freqs[np.argmax(d)]) if d.any() else math.nan


def drowning_timesteps(schedule: NoiseSchedule, power_x0: np.ndarray, power_eps: np.ndarray) -> np.ndarray:
    """For each ring, the first t at which ab_t P_x0 < (1 - ab_t) P_eps (-1 if never), (n,).

    The signal-to-noise ratio ab/(1-ab) falls with t, so a ring stays drowned from that t on;
    rings with much image power hold out longest. This is where the forward page's
    "high frequencies first" comes from, computed, not drawn.
    """
    snr = schedule.alpha_bars / (1.0 - schedule.alpha_bars)  # (T,), decreasing
    with np.errstate(divide="ignore"):  # a ring without image power is drowned at once (ratio inf)
        ratio = np.asarray(power_eps, dtype=np.float64) / np.asarray(power_x0, dtype=np.float64)  # (n,)
    below = snr[None, :] < ratio[:, None]  # (n, T)
    return np.where(below.any(axis=1), np.argmax(below, axis=1), -1)


def settle_steps(x0_hats: np.ndarray, final: np.ndarray, tol: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies (n,), settle step (n,)) for a trajectory of guesses x0_hats (K, H, W) of `final` (H, W).

    The relative error of guess k in ring f is e_k(f) = P[x0_hat_k - final](f) / P[final](f), the
    power of what is still wrong at that frequency over the power the final image has there. The
    settle step of a ring is the first k after which e_k stays below `tol` for good (K if never).
    A picture that forms coarse to fine settles its low frequencies first.
    """
    x0_hats = np.asarray(x0_hats, dtype=np.float64)
    final = np.asarray(final, dtype=np.float64)
    if x0_hats.ndim != 3 or x0_hats.shape[1:] != final.shape:
        raise ValueError(f"x0_hats must be (K, H, W) with (H, W) = final's {final.shape}, got {x0_hats.shape}")
    freqs, err = radial_power_spectra(x0_hats - final)
    _, ref = radial_power_spectra(final)
    rel = err / np.maximum(ref, 1e-12)  # (K, n)
    bad = rel >= tol
    k = len(x0_hats)
    # last step that is still bad, + 1; a ring never bad settles at step 0
    last_bad = np.where(bad.any(axis=0), k - 1 - np.argmax(bad[::-1], axis=0), -1)
    return freqs, last_bad + 1


def settle_direction(settle: np.ndarray) -> int:
    """Which settles first, the coarsest ring (settle[0]) or the finest (settle[-1]): +1 if the coarsest settles at
    an earlier step (the picture forms coarse to fine), -1 if the finest does, 0 if both settle at the same step.
    The sentence is `explainer.lessons.spectrum_facts.settle_order`."""
    return int(np.sign(int(settle[-1]) - int(settle[0])))
