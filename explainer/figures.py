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


def histogram_vs_normal(x_t: np.ndarray, t: int, x0: np.ndarray | None = None, height: int = 320) -> go.Figure:
    """The pixel values of x_t against the N(0, 1) density they approach as t grows."""
    fig = go.Figure()
    bins = dict(start=-4, end=4, size=0.1)
    if x0 is not None:
        fig.add_histogram(x=np.ravel(x0), histnorm="probability density", name="clean image x₀",
                          marker_color=PALETTE[2], opacity=0.45, xbins=bins)
    fig.add_histogram(x=np.ravel(x_t), histnorm="probability density", name=f"noisy image x_{t}",
                      marker_color=PALETTE[0], opacity=0.7, xbins=bins)
    grid = np.linspace(-4, 4, 400)
    fig.add_scatter(x=grid, y=np.exp(-grid**2 / 2) / math.sqrt(2 * math.pi), name="N(0, 1)",
                    line=dict(color=PALETTE[3], width=3))
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title="pixel value", range=[-4, 4])
    fig.update_yaxes(title="density")
    return _layout(fig, "Pixel values: from the image's own histogram to a bell curve", height, hovermode="closest")


def chain_vs_closed_form(chain: np.ndarray, closed: np.ndarray, x0_value: float, t: int,
                         height: int = 320) -> go.Figure:
    """Two samples of x_t for one pixel: stepped through the Markov chain, and drawn in one go."""
    fig = go.Figure()
    lo, hi = float(min(chain.min(), closed.min())), float(max(chain.max(), closed.max()))
    bins = dict(start=lo, end=hi, size=(hi - lo) / 60 or 0.1)
    fig.add_histogram(x=chain, histnorm="probability density", name=f"{t + 1} small steps q(xₛ | xₛ₋₁)",
                      marker_color=PALETTE[0], opacity=0.6, xbins=bins)
    fig.add_histogram(x=closed, histnorm="probability density", name="one jump q(xₜ | x₀)",
                      marker_color=PALETTE[1], opacity=0.6, xbins=bins)
    fig.update_layout(barmode="overlay")
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


# ------------------------------------------------------------------ score field (2D)
# (functions for pages/score_field.py go below this line)


# ------------------------------------------------------------------ reverse sampling
# (functions for pages/reverse.py go below this line)
