"""Noise schedules for the discrete-time forward process q(x_t | x_0).

Index convention used everywhere in `explainer`: timesteps are integers
t = 0 ... T-1 and

    alpha_bars[t] = prod_{s <= t} (1 - betas[s])

so index 0 is the least noisy step and T-1 the noisiest. The papers count
from 1: their t is this t + 1. Every function of the library takes this 0-based
t; the one conversion to the paper's subscripts is made where a page or a lesson
writes the paper's t as text.

Every schedule is a `NoiseSchedule` of float64 NumPy arrays of length T. A
schedule is defined either by its betas (linear, quadratic, scaled_linear,
sigmoid) or by a continuous alpha-bar function (cosine, or any custom
function via `schedule_from_alpha_bar`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

SCHEDULE_NAMES = ("linear", "quadratic", "scaled_linear", "cosine", "sigmoid")

# Defaults per schedule, all overridable through make_schedule(**params).
DEFAULT_PARAMS: dict[str, dict[str, float]] = {
    "linear": {"beta_start": 1e-4, "beta_end": 0.02},
    "quadratic": {"beta_start": 1e-4, "beta_end": 0.02},
    "scaled_linear": {"beta_start": 0.00085, "beta_end": 0.012},
    "cosine": {"s": 0.008, "max_beta": 0.999},
    "sigmoid": {"beta_start": 1e-4, "beta_end": 0.02},
}

DESCRIPTIONS = {
    "linear": "Ho et al. 2020 (DDPM): beta grows linearly from 1e-4 to 0.02 (at T = 1000).",
    "quadratic": "linspace(sqrt(beta_start), sqrt(beta_end))^2: gentler at the start.",
    "scaled_linear": "Stable Diffusion's schedule: quadratic from 0.00085 to 0.012 (at T = 1000).",
    "cosine": "Nichol & Dhariwal 2021: alpha_bar follows a squared cosine of t/T.",
    "sigmoid": "beta follows a sigmoid over linspace(-6, 6): slow, fast, slow.",
}


@dataclass(frozen=True)
class NoiseSchedule:
    """betas, alphas = 1 - betas and alpha_bars = cumprod(alphas), length T."""

    name: str
    betas: np.ndarray
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        betas = np.asarray(self.betas, dtype=np.float64)
        if betas.ndim != 1 or len(betas) < 1:
            raise ValueError("betas must be a non-empty 1-D array")
        if not np.all((betas > 0) & (betas < 1)):
            raise ValueError("every beta must lie strictly between 0 and 1")
        betas.setflags(write=False)
        object.__setattr__(self, "betas", betas)

    @property
    def num_steps(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> np.ndarray:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> np.ndarray:
        return np.cumprod(self.alphas)

    @property
    def alpha_bars_prev(self) -> np.ndarray:
        """alpha_bar of the step before each t: [1, alpha_bars[0], ..., alpha_bars[T-2]] (alpha_bar_{-1} = 1)."""
        return np.concatenate([[1.0], self.alpha_bars[:-1]])

    @property
    def snr(self) -> np.ndarray:
        """Signal-to-noise ratio alpha_bar / (1 - alpha_bar) (Kingma et al. 2021)."""
        ab = self.alpha_bars
        return ab / (1.0 - ab)

    @property
    def log_snr(self) -> np.ndarray:
        ab = self.alpha_bars
        return np.log(ab) - np.log1p(-ab)

    def alpha_bar_at(self, t: int) -> float:
        """alpha_bar for t in -1 ... T-1, where t = -1 is the clean end (1.0)."""
        return 1.0 if t < 0 else float(self.alpha_bars[t])


def linear_betas(num_steps, beta_start=1e-4, beta_end=0.02):
    """Ho et al. 2020, Sec. 4: betas linear in t."""
    return np.linspace(beta_start, beta_end, num_steps, dtype=np.float64)


def quadratic_betas(num_steps, beta_start=1e-4, beta_end=0.02):
    """Linear in sqrt(beta); with Stable Diffusion's endpoints this is 'scaled_linear'."""
    return np.linspace(beta_start**0.5, beta_end**0.5, num_steps, dtype=np.float64) ** 2


def sigmoid_betas(num_steps, beta_start=1e-4, beta_end=0.02):
    x = np.linspace(-6.0, 6.0, num_steps, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-x)) * (beta_end - beta_start) + beta_start


def betas_from_alpha_bar(alpha_bar_fn: Callable[[float], float], num_steps, max_beta=0.999):
    """Discretise a continuous alpha_bar(u), u in [0, 1], with alpha_bar(0) = 1.

    beta_t = 1 - alpha_bar((t+1)/T) / alpha_bar(t/T), clipped at max_beta
    (Nichol & Dhariwal 2021, Eq. 17 and the clipping below it; diffusers'
    `betas_for_alpha_bar`).
    """
    u = np.arange(num_steps + 1, dtype=np.float64) / num_steps
    ab = np.array([alpha_bar_fn(float(v)) for v in u], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        betas = 1.0 - ab[1:] / ab[:-1]
    betas = np.where(np.isfinite(betas), betas, max_beta)
    return np.clip(betas, 1e-12, max_beta)


def cosine_alpha_bar(u: float, s: float = 0.008) -> float:
    """Nichol & Dhariwal 2021, Eq. 17 (up to the constant f(0), which cancels in betas)."""
    return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2


def make_schedule(name: str, num_steps: int = 1000, **params) -> NoiseSchedule:
    """Build one of SCHEDULE_NAMES with T = num_steps; every parameter overridable."""
    if name not in DEFAULT_PARAMS:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULE_NAMES)}")
    num_steps = int(num_steps)
    if num_steps < 1:
        raise ValueError("num_steps must be at least 1")
    unknown = set(params) - set(DEFAULT_PARAMS[name])
    if unknown:
        raise ValueError(f"schedule {name!r} takes no parameter(s) {sorted(unknown)}")
    p = {**DEFAULT_PARAMS[name], **params}
    if name == "linear":
        betas = linear_betas(num_steps, p["beta_start"], p["beta_end"])
    elif name in ("quadratic", "scaled_linear"):
        betas = quadratic_betas(num_steps, p["beta_start"], p["beta_end"])
    elif name == "sigmoid":
        betas = sigmoid_betas(num_steps, p["beta_start"], p["beta_end"])
    else:  # cosine
        s = p["s"]
        betas = betas_from_alpha_bar(lambda u: cosine_alpha_bar(u, s), num_steps, p["max_beta"])
    return NoiseSchedule(name=name, betas=betas, params=p)


# make_schedule_for_T: the beta-defined schedules' published beta ranges are for this many steps.
REFERENCE_STEPS = 1000
BETA_CAP = 0.999
BETA_DEFINED = ("linear", "quadratic", "scaled_linear", "sigmoid")


def beta_scale(name: str, num_steps: int) -> float:
    """The factor make_schedule_for_T puts on the betas: 1000 / T for a beta-defined schedule, else 1."""
    return REFERENCE_STEPS / int(num_steps) if name in BETA_DEFINED else 1.0


def make_schedule_for_T(name: str, num_steps: int = 1000, **params) -> NoiseSchedule:
    """make_schedule with the beta range given for T = 1000 and scaled to this T.

    linear, quadratic, scaled_linear and sigmoid fix the range of beta, not of alpha_bar, so with the
    same range a smaller T would end far from noise (linear at T = 10 ends at alpha_bar = 0.90).
    Improved DDPM's code (Nichol & Dhariwal 2021, `get_named_beta_schedule`) multiplies the linear
    schedule's range by 1000 / T; we do the same for all four, whose betas are all linear in their
    endpoints, so every beta is multiplied by 1000 / T.
    The betas are then capped at BETA_CAP = 0.999: beta is a variance fraction and must stay below 1,
    since at beta = 1 the reverse step divides by sqrt(1 - beta) = 0. cosine is defined by
    alpha_bar(t / T) and needs no scaling. At T = 1000 this is make_schedule exactly.
    """
    base = make_schedule(name, num_steps, **params)
    scale = beta_scale(name, num_steps)
    if scale == 1.0:
        return base
    return NoiseSchedule(name=name, betas=np.minimum(base.betas * scale, BETA_CAP),
                         params={**base.params, "beta_scale": scale})


def capped_steps(schedule: NoiseSchedule) -> int:
    """How many betas make_schedule_for_T capped at BETA_CAP."""
    return int(np.sum(schedule.betas >= BETA_CAP)) if "beta_scale" in schedule.params else 0


def schedule_from_alpha_bar(alpha_bar_fn: Callable[[float], float], num_steps: int = 1000,
                            max_beta: float = 0.999, name: str = "custom") -> NoiseSchedule:
    """A schedule from any decreasing alpha_bar(u) on [0, 1] with alpha_bar(0) = 1."""
    return NoiseSchedule(name=name, betas=betas_from_alpha_bar(alpha_bar_fn, int(num_steps), max_beta),
                         params={"max_beta": max_beta})


def evenly_spaced(first: int, last: int, n: int) -> list[int]:
    """At most n integers from first to last inclusive, evenly spaced (rounded, duplicates dropped): the
    timesteps of a filmstrip or a scrubber, or which steps of a run to keep."""
    return sorted({int(round(v)) for v in np.linspace(first, last, n)})


def snr_crossing(schedule: NoiseSchedule) -> int:
    """First t where SNR <= 1 (signal and noise equally strong), or T-1 if never."""
    below = np.nonzero(schedule.snr <= 1.0)[0]
    return int(below[0]) if len(below) else schedule.num_steps - 1


def terminal_kl(schedule: NoiseSchedule) -> float:
    """E_x0 KL(q(x_T | x_0) || N(0, I)) per dimension for unit-variance data (DDPM's L_T term).

    q(x_T | x_0) = N(sqrt(ab) x0, 1 - ab), and KL(N(m, v) || N(0, 1)) =
    0.5 * (v + m^2 - 1 - log v) = 0.5 * (ab * (x0^2 - 1) - log(1 - ab)).
    Averaged over data with E[x0^2] = 1 this is -0.5 * log(1 - ab). By the convexity of KL it is
    an upper bound on KL(q(x_T) || N(0, I)), the mismatch sampling from pure noise actually makes;
    zero means there is none.
    """
    ab = float(schedule.alpha_bars[-1])
    return float(-0.5 * math.log1p(-ab))
