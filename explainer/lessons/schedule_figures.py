"""Figures of noise schedules: alpha-bar, beta, SNR and log-SNR of several schedules over t."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..core.schedules import NoiseSchedule
from ..core.schedules import SCHEDULE_NAMES
from .style import base_layout, schedule_colours


# quantity -> (plot title, y-axis title, the hover label)
SCHEDULE_QUANTITIES: dict[str, tuple[str, str, str]] = {
    "alpha_bar": ("ᾱₜ: how much of the image's variance is left", "ᾱₜ = ∏ₛ (1 − βₛ)", "ᾱ"),
    "beta": ("βₜ: the noise variance added at each step (log scale)", "βₜ (log scale)", "β"),
    "sqrt_alpha_bar": ("√ᾱₜ: the weight of the image in xₜ", "signal weight √ᾱₜ", "√ᾱ"),
    "sqrt_one_minus_alpha_bar": ("√(1 − ᾱₜ): the weight of the noise in xₜ", "noise weight √(1 − ᾱₜ)", "√(1−ᾱ)"),
    "log_snr": ("log-SNR: signal against noise, on a log scale", "log SNR = log(ᾱₜ / (1 − ᾱₜ))", "log SNR"),
}


SCHEDULE_X_AXES = ("t", "t/T")


def schedule_values(schedule: NoiseSchedule, quantity: str) -> np.ndarray:
    """The array of one of SCHEDULE_QUANTITIES over t = 0 ... T-1."""
    ab = schedule.alpha_bars
    if quantity == "alpha_bar":
        return ab
    if quantity == "beta":
        return schedule.betas
    if quantity == "sqrt_alpha_bar":
        return np.sqrt(ab)
    if quantity == "sqrt_one_minus_alpha_bar":
        return np.sqrt(1.0 - ab)
    if quantity == "log_snr":
        return schedule.log_snr
    raise ValueError(f"unknown quantity {quantity!r}; choose one of {', '.join(SCHEDULE_QUANTITIES)}")


def schedule_x(num_steps: int, x_axis: str = "t") -> np.ndarray:
    """The x values of a schedule plot: t = 0 ... T-1, or (t + 1) / T.

    The papers count t = 1 ... T, so their t/T is our (t + 1)/T: the last step
    sits at 1, and schedules with different T line up.
    """
    if x_axis == "t":
        return np.arange(num_steps)
    if x_axis == "t/T":
        return (np.arange(num_steps) + 1.0) / num_steps
    raise ValueError(f"unknown x axis {x_axis!r}; choose one of {', '.join(SCHEDULE_X_AXES)}")


def schedule_curves(schedules: dict[str, NoiseSchedule], quantity: str, x_axis: str = "t",
                    height: int = 380, mark_t: int | None = None) -> go.Figure:
    """One quantity of several schedules overlaid, one line (trace) per schedule, named by its key.

    quantity: one of SCHEDULE_QUANTITIES; x_axis: "t" (0 ... T-1) or "t/T" ((t+1)/T);
    mark_t: a timestep to mark with a dashed vertical line. beta is drawn on a log axis.
    """
    if quantity not in SCHEDULE_QUANTITIES:
        raise ValueError(f"unknown quantity {quantity!r}; choose one of {', '.join(SCHEDULE_QUANTITIES)}")
    if x_axis not in SCHEDULE_X_AXES:
        raise ValueError(f"unknown x axis {x_axis!r}; choose one of {', '.join(SCHEDULE_X_AXES)}")
    title, y_title, short = SCHEDULE_QUANTITIES[quantity]
    colours = schedule_colours(schedules)
    fig = go.Figure()
    for name, sched in schedules.items():
        ts = np.arange(sched.num_steps)
        fig.add_scatter(x=schedule_x(sched.num_steps, x_axis), y=schedule_values(sched, quantity), name=name,
                        mode="lines", customdata=ts,
                        line=dict(color=colours[name], width=3, dash=None if name in SCHEDULE_NAMES else "dash"),
                        hovertemplate=f"{short} = %{{y:.4g}} (t = %{{customdata}})<extra>{name}</extra>")
    if quantity == "log_snr":
        fig.add_hline(y=0, line=dict(color="grey", dash="dot"), annotation_text="SNR = 1: signal = noise",
                      annotation_position="bottom left")
    if mark_t is not None and schedules:
        T = next(iter(schedules.values())).num_steps
        x = int(mark_t) if x_axis == "t" else (int(mark_t) + 1) / T
        fig.add_vline(x=x, line=dict(color="grey", dash="dash"))
    if quantity == "beta":
        fig.update_yaxes(type="log", exponentformat="power")
    elif quantity != "log_snr":
        fig.update_yaxes(range=[-0.02, 1.05])
    fig.update_xaxes(title="timestep t" if x_axis == "t" else "t/T: the fraction of the T steps taken")
    fig.update_yaxes(title=y_title)
    return base_layout(fig, title, height)
