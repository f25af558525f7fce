"""Pure helpers for the 'Noise schedules' page: parameter checks, custom presets, landmark rows.

No Streamlit here, so everything is unit-tested directly. A custom schedule
comes from a fixed list of alpha-bar formulas with numeric parameters only:
the user never types a formula, so nothing is ever evaluated from text.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .schedules import NoiseSchedule, schedule_from_alpha_bar, snr_crossing, terminal_kl

# The widget range of every schedule parameter: (min, max, step, printf format, help).
PARAM_SPECS: dict[str, tuple[float, float, float, str, str]] = {
    "beta_start": (0.00001, 0.01, 0.00005, "%.5f", "β at the first step t = 0: the smallest amount of noise added."),
    "beta_end": (0.001, 0.1, 0.001, "%.4f", "β at the last step t = T−1: the largest amount of noise added."),
    "s": (0.0, 0.1, 0.001, "%.3f", "A small offset that keeps β₀ from being vanishingly small (0.008 in the paper)."),
    "max_beta": (0.5, 0.9999, 0.0001, "%.4f", "βₜ is clipped here, so the last steps do not add infinite noise."),
}


def check_params(name: str, params: dict[str, float]) -> str | None:
    """A sentence saying what is wrong with these parameters, or None when they are fine."""
    for key, value in params.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{key} must be a number."
    if "beta_start" in params and "beta_end" in params and not params["beta_start"] < params["beta_end"]:
        return (f"β_start ({params['beta_start']:g}) must be smaller than β_end ({params['beta_end']:g}): "
                "noise is added slowly at first and faster later.")
    if "max_beta" in params and not 0.0 < params["max_beta"] < 1.0:
        return "max_beta must lie strictly between 0 and 1."
    if "s" in params and params["s"] < 0:
        return "s must not be negative."
    return None


# ------------------------------------------------------------------ custom schedules from a formula

@dataclass(frozen=True)
class CustomPreset:
    label: str
    latex: str
    description: str
    params: dict  # name -> (default, min, max, step, widget label)


CUSTOM_PRESETS: dict[str, CustomPreset] = {
    "cosine_power": CustomPreset(
        label="cosine with exponent p",
        latex=r"\bar\alpha(u) = \frac{\cos^p\!\big(\frac{u+s}{1+s}\cdot\frac{\pi}{2}\big)}"
              r"{\cos^p\!\big(\frac{s}{1+s}\cdot\frac{\pi}{2}\big)},\quad s = 0.008",
        description="p = 2 is exactly the cosine schedule; a smaller p removes the image sooner, a larger p later.",
        params={"p": (1.0, 0.5, 4.0, 0.1, "exponent p")},
    ),
    "linear_alpha_bar": CustomPreset(
        label="linear in ᾱ",
        latex=r"\bar\alpha(u) = 1 - u",
        description="The signal's share of the variance falls at a constant rate, reaching 0 at the end.",
        params={},
    ),
    "linear_log_snr": CustomPreset(
        label="linear in log-SNR",
        latex=r"\log \mathrm{SNR}(u) = \lambda_{\max} + (\lambda_{\min} - \lambda_{\max})\,u,\quad "
              r"\bar\alpha(u) = \frac{1}{1 + e^{-\log\mathrm{SNR}(u)}}",
        description="log-SNR falls on a straight line: every step removes the same fraction of the SNR.",
        params={"lambda_max": (10.0, 2.0, 20.0, 0.5, "log-SNR at the start λ_max"),
                "lambda_min": (-10.0, -20.0, -2.0, 0.5, "log-SNR at the end λ_min")},
    ),
}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def custom_alpha_bar(preset: str, **params):
    """alpha_bar(u) for u in [0, 1], with alpha_bar(0) = 1, for one of CUSTOM_PRESETS."""
    if preset not in CUSTOM_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(CUSTOM_PRESETS)}")
    spec = CUSTOM_PRESETS[preset].params
    unknown = set(params) - set(spec)
    if unknown:
        raise ValueError(f"preset {preset!r} takes no parameter(s) {sorted(unknown)}")
    p = {k: float(params.get(k, v[0])) for k, v in spec.items()}
    if preset == "cosine_power":
        s, power = 0.008, p["p"]
        if not power > 0:
            raise ValueError("the exponent p must be positive")
        norm = math.cos(s / (1 + s) * math.pi / 2) ** power
        return lambda u: max(math.cos((u + s) / (1 + s) * math.pi / 2), 0.0) ** power / norm
    if preset == "linear_alpha_bar":
        return lambda u: min(max(1.0 - u, 0.0), 1.0)
    lmax, lmin = p["lambda_max"], p["lambda_min"]
    if not lmin < lmax:
        raise ValueError("λ_min must be smaller than λ_max")
    # alpha_bar(0) = 1 exactly (the clean image); from the first step on, log-SNR is exactly linear.
    # (Dividing by sigmoid(lmax) instead would bend the first steps' log-SNR far above the line.)
    return lambda u: 1.0 if u <= 0.0 else _sigmoid(lmax + (lmin - lmax) * u)


def custom_schedule(preset: str, num_steps: int, max_beta: float = 0.999, **params) -> NoiseSchedule:
    """A NoiseSchedule from a preset formula, discretised with `schedule_from_alpha_bar`."""
    sched = schedule_from_alpha_bar(custom_alpha_bar(preset, **params), num_steps, max_beta=max_beta,
                                    name=f"custom: {CUSTOM_PRESETS[preset].label}")
    return sched


# ------------------------------------------------------------------ landmarks

LANDMARK_COLUMNS = ("schedule", "ᾱ at t = T−1", "image left √ᾱ at T−1", "SNR at T−1 (dB)", "SNR = 1 at t",
                    "SNR = 1 at t/T", "KL to N(0, I) (nats/dim)")
# Below this KL the last x_t is, for practical purposes, pure noise (about 1% of the image left).
PURE_NOISE_KL = 1e-4


def landmark_rows(schedules: dict[str, NoiseSchedule]) -> list[dict]:
    """One row per schedule: where it ends, where signal and noise are equal, how far x_T is from N(0, I).

    'SNR = 1 at t' is None when the SNR is still above 1 at the last step.
    """
    rows = []
    for name, sched in schedules.items():
        T = sched.num_steps
        ab_end = float(sched.alpha_bars[-1])
        reaches = bool(sched.snr[-1] <= 1.0)
        t_cross = snr_crossing(sched) if reaches else None
        rows.append({
            "schedule": name,
            "ᾱ at t = T−1": ab_end,
            "image left √ᾱ at T−1": math.sqrt(ab_end),
            "SNR at T−1 (dB)": float(10.0 / math.log(10.0) * sched.log_snr[-1]),
            "SNR = 1 at t": t_cross,
            "SNR = 1 at t/T": None if t_cross is None else (t_cross + 1) / T,
            "KL to N(0, I) (nats/dim)": terminal_kl(sched),
        })
    return rows


def snr_db(sched: NoiseSchedule, t: int) -> float:
    """The SNR at step t in decibels, 10 log10(alpha_bar / (1 - alpha_bar)), computed without overflow."""
    return float(10.0 / math.log(10.0) * sched.log_snr[int(t)])


def worst_terminal(schedules: dict[str, NoiseSchedule]) -> tuple[str, float] | None:
    """The schedule whose x_{T-1} is furthest from N(0, I), and that KL; None for no schedules."""
    if not schedules:
        return None
    kls = {name: terminal_kl(s) for name, s in schedules.items()}
    name = max(kls, key=kls.get)
    return name, kls[name]
