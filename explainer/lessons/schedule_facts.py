"""Pure helpers for the 'Noise schedules' page: parameter checks, custom presets, landmark rows.

No Streamlit here, so everything is unit-tested directly. A custom schedule
comes from a fixed list of alpha-bar formulas with numeric parameters only:
the user never types a formula, so nothing is ever evaluated from text.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.loss_weighting import clipped_steps
from ..core.schedules import (BETA_CAP, BETA_DEFINED, REFERENCE_STEPS, NoiseSchedule, capped_steps,
                              schedule_from_alpha_bar, snr_crossing, terminal_kl)
from .notation import number

# The widget range of every schedule parameter: (min, max, step, printf format, help).
PARAM_SPECS: dict[str, tuple[float, float, float, str, str]] = {
    "beta_start": (0.00001, 0.01, 0.00005, "%.5f", "β at the first step t = 0, the smallest amount of noise added: "
                   "given for T = 1000 and scaled by 1000/T for other T."),
    "beta_end": (0.001, 0.1, 0.001, "%.4f", "β at the last step t = T−1, the largest amount of noise added: given "
                 "for T = 1000 and scaled by 1000/T for other T."),
    "s": (0.0, 0.1, 0.001, "%.3f", "A small offset that keeps β₀ from being vanishingly small (0.008 in the paper)."),
    "max_beta": (0.5, 0.9999, 0.0001, "%.4f", "βₜ is clipped here. β is the fraction of the variance "
                 "replaced by noise, so it must stay below 1: at β = 1 the reverse step would divide by √(1 − β) = 0."),
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
        description="p = 2 is exactly the cosine schedule. The cosine ratio is at most 1, so raising it to a larger "
                    "p makes ᾱ smaller: a larger p removes the image sooner, a smaller p later.",
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
    return NoiseSchedule(name=sched.name, betas=sched.betas, params={**sched.params, **params, "preset": preset})


# ------------------------------------------------------------------ landmarks

# Below this KL the last x_t is, for practical purposes, pure noise: alpha_bar below
# PURE_NOISE_ALPHA_BAR = 2.0e-4, an image weight sqrt(alpha_bar) below 1.4%.
PURE_NOISE_KL = 1e-4
PURE_NOISE_ALPHA_BAR = -math.expm1(-2.0 * PURE_NOISE_KL)


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


# ------------------------------------------------------------------ sentences about where a schedule ends

def _sci(x: float) -> str:
    """A small number as the pages print it: 0.0047, 7.3e-04."""
    return f"{x:.2g}" if x >= 1e-3 else f"{x:.1e}"


def is_pure_noise(sched: NoiseSchedule) -> bool:
    """Whether x_{T-1} is, for practical purposes, pure noise (alpha_bar_{T-1} below PURE_NOISE_ALPHA_BAR)."""
    return bool(sched.alpha_bars[-1] < PURE_NOISE_ALPHA_BAR)


def pure_noise_from(sched: NoiseSchedule) -> int | None:
    """The first t from which x_t is practically pure noise (alpha_bar falls monotonically), None if never."""
    below = np.nonzero(sched.alpha_bars < PURE_NOISE_ALPHA_BAR)[0]
    return int(below[0]) if len(below) else None


PURE_NOISE_MEANING = (f"practically pure noise means ᾱ below {_sci(PURE_NOISE_ALPHA_BAR)}, an image weight √ᾱ below "
                      f"{math.sqrt(PURE_NOISE_ALPHA_BAR):.1%}")


def end_sentence(sched: NoiseSchedule, label: str | None = None) -> str:
    """Whether x_{T-1} is pure noise under this schedule, with the numbers (for the pages)."""
    T, ab = sched.num_steps, float(sched.alpha_bars[-1])
    label = label or sched.name
    if is_pure_noise(sched):
        return (f"With {label} and T = {T}, x_t is practically pure noise from t = {pure_noise_from(sched)} on "
                f"(ᾱ_{{T−1}} = {_sci(ab)}).")
    return (f"With {label} and T = {T}, x_{{T−1}} is **not** pure noise: ᾱ_{{T−1}} = {_sci(ab)}, so the image is "
            f"still in it with weight √ᾱ = {math.sqrt(ab):.1%} ({PURE_NOISE_MEANING}).")


def scaling_sentence(schedules) -> str | None:
    """What make_schedule_for_T did to the beta-defined schedules among these (one T), or None if nothing.

    None at T = 1000, and for cosine and custom schedules, which are defined by alpha_bar(t / T).
    """
    scaled = [s for s in schedules if s.name in BETA_DEFINED and s.params.get("beta_scale") is not None]
    if not scaled:
        return None
    T, scale = scaled[0].num_steps, scaled[0].params["beta_scale"]
    names = ", ".join(s.name for s in scaled)
    text = (f"The β range of {names} is given for T = {REFERENCE_STEPS}; with T = {T} every β is multiplied by "
            f"{REFERENCE_STEPS}/T = {scale:g}, as Improved DDPM's code does, so {'each' if len(scaled) > 1 else 'the'} "
            f"schedule covers about the same ground in {'fewer, bigger' if scale > 1 else 'more, smaller'} steps.")
    capped = [(s.name, capped_steps(s)) for s in scaled if capped_steps(s)]
    if capped:
        text += (f" β is capped at {BETA_CAP} (it is a variance fraction, and at β = 1 the reverse step would "
                 "divide by zero): the cap is reached at "
                 + ", ".join(f"{k} of the {T} steps of {name}" for name, k in capped) + ".")
    return text


def not_pure_noise_sentence(schedules: dict[str, NoiseSchedule]) -> str:
    """Which schedules do not end at pure noise, with their numbers and what would fix the worst (for the pages)."""
    if not schedules:
        return ""
    T = next(iter(schedules.values())).num_steps
    left = {name: float(s.alpha_bars[-1]) for name, s in schedules.items() if not is_pure_noise(s)}
    if not left:
        return (f"With T = {T}, every schedule shown ends at practically pure noise (ᾱ_{{T−1}} below "
                f"{_sci(PURE_NOISE_ALPHA_BAR)}).")
    text = (f"With T = {T}, x_{{T−1}} is **not** pure noise under "
            + "; ".join(f"**{name}** (ᾱ_{{T−1}} = {_sci(ab)}: the image's weight √ᾱ is {math.sqrt(ab):.1%})"
                        for name, ab in left.items())
            + f". Here {PURE_NOISE_MEANING}.")
    worst = worst_terminal({name: schedules[name] for name in left})[0]
    advice = end_advice(schedules[worst])
    if advice is not None:
        text += f" To end {worst} closer to pure noise, {advice[0]}."
    return text


# Which parameter (one the page lets you change) lowers alpha_bar_{T-1}, and which way to move it.
_END_ADVICE = {
    "beta_end": ("raise its β_end", +1),
    "max_beta": ("raise its max β", +1),
    "p": ("raise its exponent p", +1),
    "lambda_min": ("lower its λ_min", -1),
}


def end_advice(sched: NoiseSchedule) -> tuple[str, str, int] | None:
    """(advice, parameter, direction) that brings this schedule's end closer to pure noise, or None.

    A custom schedule's advice names its preset's parameter (its max β is fixed on the page);
    'linear in ᾱ' ends at ᾱ(1) = 0 and has nothing to change.
    """
    preset = sched.params.get("preset")
    candidates = CUSTOM_PRESETS[preset].params if preset else sched.params
    for param in candidates:
        if param in _END_ADVICE:
            advice, direction = _END_ADVICE[param]
            return advice, param, direction
    return None


# ------------------------------------------------------------------ step sizes, as the bound's section states them

#: What "small" and "large" mean for one step's beta in `step_sizes_sentence`.
SMALL_BETA, LARGE_BETA = 0.01, 0.1


def cosine_end_beta(k: int) -> float:
    """The beta of the k-th step before the last of the cosine schedule as T grows (k = 0: the last).

    Near u = t/T = 1, Nichol & Dhariwal's alpha_bar(u) = cos²((u + s)/(1 + s)·π/2)/f(0) falls like (1 − u)²,
    so alpha_bar at the k-th step from the end over the one before is (k/(k+1))², whatever T is.
    """
    return 1.0 - (k / (k + 1)) ** 2


def cosine_large_steps_limit(large: float = LARGE_BETA) -> int:
    """How many steps of the cosine schedule keep β > `large` however large T is: the last, and every k with
    cosine_end_beta(k) > large (19 for 0.1)."""
    k = 1
    while cosine_end_beta(k) > large:
        k += 1
    return k


def step_sizes_sentence(schedule: NoiseSchedule) -> str:
    """How many of the schedule's T steps are small (β < 0.01) and large (β > 0.1), and what the last one is.

    Steps are named with the paper's t = 1 ... T (Ho et al. 2020), as in the variational bound, so the
    last step is t = T (betas[T - 1]). The last step is said to be clipped only when its beta sits at
    the schedule's cap (cosine: at every T, since unclipped it would be 1). For the cosine schedule it adds
    what more steps do: the early and middle steps get small, the last few do not (`cosine_end_beta`).
    """
    b = schedule.betas
    T = len(b)
    n_small, n_big = int(np.sum(b < SMALL_BETA)), int(np.sum(b > LARGE_BETA))
    small = (f"none of the {T} steps has β < {SMALL_BETA:g}" if n_small == 0
             else f"{n_small} of the {T} steps {'has' if n_small == 1 else 'have'} β < {SMALL_BETA:g}")
    big = f"{n_big} {'has' if n_big == 1 else 'have'} β > {LARGE_BETA:g}"
    clipped = T - 1 in clipped_steps(schedule)
    last = (f"the last, t = {T}, is clipped at β = {b[-1]:g}" if clipped
            else f"the last, t = {T}, has β = {number(b[-1])}")
    more = ""
    if clipped and schedule.name == "cosine":
        ks = range(1, min(3, T - 1) + 1)
        law = ", ".join(f"{cosine_end_beta(k):.2f}" for k in ks)
        here = ", ".join(f"{b[-1 - k]:.2f}" for k in ks)
        more = (" More steps make the early and middle steps small, but not the end of the cosine schedule: there "
                "ᾱ falls like (1 − t/T)², so the k-th step before the last tends to β = 1 − (k/(k+1))² = "
                f"{law} … as T grows (here {here}). So the number of steps with β > {LARGE_BETA:g} does not fall as T "
                f"grows: it rises to {cosine_large_steps_limit()} and stays there (here {n_big}), and the last stays "
                f"clipped at {b[-1]:g}.")
    return f"At T = {T}, {small} and {big}; {last}.{more}"
