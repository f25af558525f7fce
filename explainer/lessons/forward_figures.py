"""Figures of the forward process: the two weights, pixel histograms against the normal, many small steps against
one jump, and a noising animation."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ..core.schedules import NoiseSchedule
from .style import PALETTE, base_layout


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
    return base_layout(fig, f"How much image and how much noise at t = {t}", height)


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
    return base_layout(fig, "Pixel values: from the image's own histogram to a bell curve", height, hovermode="closest")


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
    return base_layout(fig, "Same distribution: many small steps or one closed-form jump", height, hovermode="closest")


def play_controls(frame_names: list[str], prefix: str, duration_ms: int = 250) -> dict:
    """Play/pause buttons and a frame slider for a Plotly animation (layout keyword arguments)."""
    anim = dict(frame=dict(duration=duration_ms, redraw=True), transition=dict(duration=0), fromcurrent=True)
    buttons = [dict(label="▶ Play", method="animate", args=[None, anim]),
               dict(label="Pause", method="animate",
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
    base_layout(fig, title, height, hovermode=False)
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=80))
    return fig
