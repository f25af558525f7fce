"""Every plot in the app: functions that return plotly.graph_objects.Figure.

No Streamlit here, so each figure is unit-tested without a browser. Colours
come from a colour-blind-safe palette (Okabe & Ito 2008) that also survives a
washed-out projector; heatmaps use 'Viridis' (perceptually uniform).
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .schedules import NoiseSchedule

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SEQUENTIAL = "Viridis"


def _layout(fig: go.Figure, title: str, height: int = 360, hovermode="x unified", **kw) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left"), height=height,
                      margin=dict(l=10, r=10, t=50, b=10), hovermode=hovermode,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0), **kw)
    return fig


# ------------------------------------------------------------------ forward process

def weights_plot(schedule: NoiseSchedule, t: int, height: int = 320) -> go.Figure:
    """sqrt(alpha_bar_t) (signal weight) and sqrt(1 - alpha_bar_t) (noise weight) over t, t marked."""
    ts = np.arange(schedule.num_steps)
    ab = schedule.alpha_bars
    fig = go.Figure()
    fig.add_scatter(x=ts, y=np.sqrt(ab), name="signal weight √ᾱₜ", line=dict(color=PALETTE[0], width=3))
    fig.add_scatter(x=ts, y=np.sqrt(1 - ab), name="noise weight √(1−ᾱₜ)", line=dict(color=PALETTE[1], width=3))
    fig.add_vline(x=t, line=dict(color="grey", dash="dash"))
    fig.update_xaxes(title="timestep t")
    fig.update_yaxes(title="weight", range=[0, 1.05])
    return _layout(fig, f"How much image and how much noise at t = {t}", height)


def _density_bars(fig: go.Figure, values: np.ndarray, edges: np.ndarray, name: str, color: str, opacity: float):
    # Binned here, not in the browser: a 512x512 image has 786,432 values, far too many to send.
    dens, _ = np.histogram(np.ravel(values), bins=edges, density=True)
    fig.add_bar(x=0.5 * (edges[1:] + edges[:-1]), y=dens, width=np.diff(edges), name=name,
                marker=dict(color=color, line=dict(width=0)), opacity=opacity)


def histogram_vs_normal(x_t: np.ndarray, t: int, x0: np.ndarray | None = None, height: int = 320) -> go.Figure:
    """The pixel values of x_t against the N(0, 1) density they approach as t grows."""
    fig = go.Figure()
    edges = np.linspace(-4, 4, 81)
    if x0 is not None:
        _density_bars(fig, x0, edges, "clean image x₀", PALETTE[2], 0.45)
    _density_bars(fig, x_t, edges, f"noisy image x_{t}", PALETTE[0], 0.7)
    grid = np.linspace(-4, 4, 200)
    fig.add_scatter(x=grid, y=np.exp(-grid**2 / 2) / math.sqrt(2 * math.pi), name="N(0, 1)",
                    line=dict(color=PALETTE[3], width=3))
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_xaxes(title="pixel value", range=[-4, 4])
    fig.update_yaxes(title="density")
    return _layout(fig, "Pixel values: from the image's own histogram to a bell curve", height, hovermode="closest")


def chain_vs_closed_form(chain: np.ndarray, closed: np.ndarray, x0_value: float, t: int,
                         height: int = 320) -> go.Figure:
    """Two samples of x_t for one pixel: stepped through the Markov chain, and drawn in one go."""
    fig = go.Figure()
    lo, hi = float(min(chain.min(), closed.min())), float(max(chain.max(), closed.max()))
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-3, 61)
    _density_bars(fig, chain, edges, f"{t + 1} small steps q(xₛ | xₛ₋₁)", PALETTE[0], 0.6)
    _density_bars(fig, closed, edges, "one jump q(xₜ | x₀)", PALETTE[1], 0.6)
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_xaxes(title=f"value of x_{t} for a pixel with x₀ = {x0_value:+.2f}")
    fig.update_yaxes(title="density")
    return _layout(fig, "Same distribution: many small steps or one closed-form jump", height, hovermode="closest")


def resolution_snr_plot(schedule: NoiseSchedule, sides: list[int], base: int, t: int,
                        height: int = 320) -> go.Figure:
    """log-SNR seen at the scale of the whole object, for images of different sizes.

    Averaging a k x k block of pixels keeps the (smooth) signal but divides the
    noise variance by k^2, so an image with k times more pixels per side keeps
    an SNR k^2 higher at the coarse scale where its shapes live (Hoogeboom et
    al. 2023, 'simple diffusion', Sec. 3; Chen 2023).
    """
    ts = np.arange(schedule.num_steps)
    fig = go.Figure()
    for i, side in enumerate(sides):
        shift = 2 * math.log(side / base)
        fig.add_scatter(x=ts, y=schedule.log_snr + shift, name=f"{side}×{side} image",
                        line=dict(color=PALETTE[i % len(PALETTE)], width=3))
    fig.add_hline(y=0, line=dict(color="grey", dash="dot"), annotation_text="signal = noise")
    fig.add_vline(x=t, line=dict(color="grey", dash="dash"))
    fig.update_xaxes(title="timestep t")
    fig.update_yaxes(title=f"log-SNR at the {base}×{base} scale")
    return _layout(fig, "Bigger images keep their shapes longer under the same schedule", height)


def play_controls(frame_names: list[str], prefix: str, duration_ms: int = 250) -> dict:
    """Play/pause buttons and a frame slider for a Plotly animation (layout keyword arguments)."""
    anim = dict(frame=dict(duration=duration_ms, redraw=True), transition=dict(duration=0), fromcurrent=True)
    buttons = [dict(label="▶ Play", method="animate", args=[None, anim]),
               dict(label="⏸ Pause", method="animate",
                    args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])]
    steps = [dict(label=name, method="animate",
                  args=[[name], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
             for name in frame_names]
    return dict(updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.02, xanchor="left",
                                  yanchor="top", buttons=buttons, pad=dict(t=0, r=10))],
                sliders=[dict(steps=steps, x=0.2, len=0.8, y=-0.02, yanchor="top",
                              currentvalue=dict(prefix=prefix), pad=dict(t=0))])


def image_animation(frame_uris: list[str], labels: list[str], title: str, prefix: str = "t = ",
                    height: int = 460) -> go.Figure:
    """An animation of images (PNG data URIs) with play/pause and a slider."""
    fig = go.Figure(data=[go.Image(source=frame_uris[0])],
                    frames=[go.Frame(data=[go.Image(source=u)], name=n) for u, n in zip(frame_uris, labels)])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(**play_controls(labels, prefix))
    _layout(fig, title, height, hovermode=False)
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=80))
    return fig


# ------------------------------------------------------------------ noise schedules
# (functions for pages/schedules.py go below this line)
from .schedules import SCHEDULE_NAMES  # noqa: E402  (kept in this section)

# quantity -> (plot title, y-axis title, the hover label)
SCHEDULE_QUANTITIES: dict[str, tuple[str, str, str]] = {
    "alpha_bar": ("ᾱₜ: how much of the image's variance is left", "ᾱₜ = ∏ₛ (1 − βₛ)", "ᾱ"),
    "beta": ("βₜ: the noise variance added at each step (log scale)", "βₜ (log scale)", "β"),
    "sqrt_alpha_bar": ("√ᾱₜ: the weight of the image in xₜ", "signal weight √ᾱₜ", "√ᾱ"),
    "sqrt_one_minus_alpha_bar": ("√(1 − ᾱₜ): the weight of the noise in xₜ", "noise weight √(1 − ᾱₜ)", "√(1−ᾱ)"),
    "log_snr": ("log-SNR: signal against noise, on a log scale", "log SNR = log(ᾱₜ / (1 − ᾱₜ))", "log SNR"),
}
SCHEDULE_X_AXES = ("t", "t/T")
# Colours of schedules outside SCHEDULE_NAMES (e.g. a custom one): black first, then sky blue and yellow.
_EXTRA_COLOURS = (PALETTE[7], PALETTE[5], PALETTE[6])


def schedule_colours(names) -> dict[str, str]:
    """One colour per schedule, the same on every plot: a built-in schedule keeps its SCHEDULE_NAMES slot."""
    colours, extra = {}, 0
    for name in names:
        if name in SCHEDULE_NAMES:
            colours[name] = PALETTE[SCHEDULE_NAMES.index(name) % len(PALETTE)]
        else:
            colours[name] = _EXTRA_COLOURS[extra % len(_EXTRA_COLOURS)]
            extra += 1
    return colours


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
    return _layout(fig, title, height)


# ------------------------------------------------------------------ score field (2D)
# (functions for pages/score_field.py go below this line)


# ------------------------------------------------------------------ reverse sampling
# (functions for pages/reverse.py go below this line)

def visited_timesteps(schedule: NoiseSchedule, timesteps: list[int], current: int, height: int = 260) -> go.Figure:
    """The noise level sqrt(1 - alpha_bar_t) over t, with the sampler's visited steps and the current one."""
    ts = np.arange(schedule.num_steps)
    noise = np.sqrt(1 - schedule.alpha_bars)
    fig = go.Figure()
    fig.add_scatter(x=ts, y=noise, name="noise level √(1−ᾱₜ)", line=dict(color=PALETTE[5], width=2))
    v = np.asarray(timesteps)
    fig.add_scatter(x=v, y=noise[v], mode="markers", name=f"the {len(v)} visited steps",
                    marker=dict(color=PALETTE[0], size=7))
    fig.add_scatter(x=[v[current]], y=[noise[v[current]]], mode="markers", name="this step",
                    marker=dict(color=PALETTE[3], size=15, symbol="diamond"))
    fig.update_xaxes(title="timestep t", autorange="reversed")
    fig.update_yaxes(title="noise level", range=[0, 1.05])
    return _layout(fig, "Where the sampler steps: from pure noise (left) to clean (right)", height,
                   hovermode="closest")
