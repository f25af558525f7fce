"""Plotly's look shared by every chapter: the palette (Okabe-Ito), colours of schedules, objectives, samplers and
arrows, the common layout, and figures shared by many sessions."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from ..core.schedules import SCHEDULE_NAMES


class SharedFigure(go.Figure):
    """A finished figure that many sessions show: its dict is built once, not on every rerun.

    st.plotly_chart starts with fig.to_dict(), a deep copy of every trace (a few ms per figure).
    A figure cached for everyone never changes, so that copy can be made once. Do not update a
    SharedFigure after it is made (its dict would be stale): copy it with `go.Figure(...)` first.
    """

    def __init__(self, fig: go.Figure):
        super().__init__(fig)
        self._frozen = super().to_dict()

    def to_dict(self):
        return self._frozen


# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


SEQUENTIAL = "Viridis"


def base_layout(fig: go.Figure, title: str, height: int = 360, hovermode="x unified", **kw) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=height,
                      margin=dict(l=10, r=10, t=50, b=10), hovermode=hovermode,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0), **kw)
    return fig


def legend_below(fig: go.Figure, bottom: int = 90) -> go.Figure:
    """Legend under the plot: in a narrow column a legend beside the title would cover it."""
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0.0),
                      margin=dict(l=10, r=10, t=50, b=bottom))
    return fig


def log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5 x 10^k inside [lo, hi]: readable labels on a log axis that spans a decade or two."""
    ks = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    return [m * 10.0**k for k in ks for m in (1, 2, 5) if lo * (1 - 1e-9) <= m * 10.0**k <= hi * (1 + 1e-9)]


def percent_ticks(lo: float, hi: float, most: int = 6) -> tuple[list[float], str]:
    """Ticks for fractions in [lo, hi] shown as percentages, and the d3 format whose labels all differ.

    The step is the smallest of 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 25 % that gives at most `most` ticks;
    ticks are its multiples, so one decimal (".1%") tells them apart below 1 % steps and none above.
    """
    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    steps = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25)
    step = next((d for d in steps if math.floor(hi / d + 1e-9) - math.ceil(lo / d - 1e-9) + 1 <= most), 0.25)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    ticks = [round(k * step, 6) for k in range(first, last + 1)]
    return ticks, (".1%" if step < 0.01 else ".0%")


# Colours of schedules outside SCHEDULE_NAMES (e.g. a custom one): black first, then sky blue and yellow.
EXTRA_COLOURS = (PALETTE[7], PALETTE[5], PALETTE[6])


def schedule_colours(names) -> dict[str, str]:
    """One colour per schedule, the same on every plot: a built-in schedule keeps its SCHEDULE_NAMES slot."""
    colours, extra = {}, 0
    for name in names:
        if name in SCHEDULE_NAMES:
            colours[name] = PALETTE[SCHEDULE_NAMES.index(name) % len(PALETTE)]
        else:
            colours[name] = EXTRA_COLOURS[extra % len(EXTRA_COLOURS)]
            extra += 1
    return colours


EXACT_ARROWS = "#FFFFFF"      # white on the Viridis density


LEARNED_ARROWS = PALETTE[1]   # orange


ERROR_ARROWS = "#FFFFFF"


OBJECTIVE_COLOURS = {"elbo": PALETTE[3], "eps": PALETTE[0], "x0": PALETTE[2], "v": PALETTE[4]}


# Light colours that read on the dark part of the Viridis heatmap, none close to the particles' vermillion.
CLASS_COLOURS = [PALETTE[5], PALETTE[6], PALETTE[4], "#FFFFFF"]


SAMPLER_COLOURS = {"ddim": PALETTE[0], "ddpm": PALETTE[1], "dpm++2m": PALETTE[2]}
