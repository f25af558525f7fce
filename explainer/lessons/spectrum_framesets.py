"""The spectral view of the forward process as a frame set: the image's and the noise's power per frequency
at each t, where the noise wins, and the numbers in words (Dieleman 2024, 'Diffusion is spectral autoregression')."""
from __future__ import annotations

import math

import numpy as np

from ..core.schedules import NoiseSchedule
from ..core.spectral import crossover_frequency, drowned, noised_spectra
from .style import PALETTE
from .framesets import FrameSet


def spectrum_frameset(schedule: NoiseSchedule, x0: np.ndarray, eps: np.ndarray, ts: list[int], label: str):
    """The forward page's spectral view at each t in ts, as a browser-side frame set (lessons.framesets).

    x0 and eps are the pictures the main view shows (same size, same noise), so these are the
    spectra of exactly those images. Per t: the image part ab P_x0, the noise floor (1-ab) P_eps and
    the spectrum of x_t itself, a marker at the crossover frequency, and the numbers in words.
    """
    ab = schedule.alpha_bars[np.asarray(ts)]
    sp = noised_spectra(x0, eps, ab)
    f = sp["freqs"]
    cross = [crossover_frequency(f, sp["signal"][i], sp["noise"][i]) for i in range(len(ts))]
    share = [float(drowned(sp["signal"][i], sp["noise"][i]).mean()) for i in range(len(ts))]
    coarse_db = 10 * np.log10(sp["signal"][:, 0] / sp["noise"][:, 0])
    fs = FrameSet(label=label, values=list(ts))
    lo = 0.5 * min(float(sp["x0"].min()), float(sp["noise"].mean(axis=1).min()))
    hi = 2.0 * max(float(sp["x0"].max()), float(sp["eps"].max()), float(sp["x_t"].max()))
    fs.add_curves("Power at each frequency (log-log)", f,
                  [{"name": "image part ᾱₜ·P[x₀]", "color": PALETTE[0], "ys": sp["signal"]},
                   {"name": "noise floor (1−ᾱₜ)·P[ε]", "color": PALETTE[1], "ys": sp["noise"]},
                   {"name": "noisy image P[xₜ]", "color": PALETTE[7], "ys": sp["x_t"]}],
                  xlabel="frequency (cycles per pixel)", ylabel="power",
                  static=[{"name": "clean image P[x₀]", "color": PALETTE[2], "y": sp["x0"]}],
                  marks=cross, log_x=True, log_y=True, y_range=(lo, hi))
    fs.add_metric("noise wins above", [("nowhere" if math.isnan(c) else f"{c:.3f} cycles/px") for c in cross],
                  help="The lowest frequency at which the noise floor is above the image's power.")
    fs.add_metric("frequencies drowned", [f"{s:.0%}" for s in share],
                  help="Share of the frequency rings where the noise is stronger than the image.")
    fs.add_metric("SNR of the coarsest waves", [f"{v:+.1f} dB" for v in coarse_db],
                  help=f"Image power over noise power at f = {f[0]:.4f} cycles/pixel (waves as wide as the picture).")
    fs.add_line([_spectrum_sentence(f, sp["signal"][i], sp["noise"][i]) for i in range(len(ts))])
    return fs


def _spectrum_sentence(freqs: np.ndarray, signal: np.ndarray, noise: np.ndarray) -> str:
    """What the spectra at one t say, in words, every number computed from them."""
    d = drowned(signal, noise)
    if not d.any():
        return "No frequency is drowned yet: the noise floor lies below the image's power everywhere."
    if d.all():
        return "The noise is stronger than the image at every frequency: only noise is left to see."
    first = int(np.argmax(d))
    share = f"The noise is stronger than the image at {d.mean():.0%} of the frequencies"
    if d[first:].all():
        return f"{share}: every detail finer than about {1 / freqs[first]:.0f} pixels is covered."
    above = int((~d[first:]).sum())
    return (f"{share}, from {freqs[first]:.3f} cycles/pixel up, with {above} finer "
            f"{'ring' if above == 1 else 'rings'} still above the floor.")
