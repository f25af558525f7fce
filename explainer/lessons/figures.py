"""Every plot in the app: functions that return plotly.graph_objects.Figure.

No Streamlit here, so each figure is unit-tested without a browser. Colours
come from a colour-blind-safe palette (Okabe & Ito 2008) that also survives a
washed-out projector; heatmaps use 'Viridis' (perceptually uniform).
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ..core.schedules import NoiseSchedule


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
    _layout(fig, title, height, hovermode=False)
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=80))
    return fig


# ------------------------------------------------------------------ noise schedules
# (functions for pages/schedules.py go below this line)
from ..core.schedules import SCHEDULE_NAMES  # noqa: E402  (kept in this section)

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
# (functions for pages/score.py go below this line)

SCORE_VIEWS = ("exact", "learned", "both", "error")
_EXACT_ARROWS = "#FFFFFF"      # white on the Viridis density
_LEARNED_ARROWS = PALETTE[1]   # orange
_ERROR_ARROWS = "#FFFFFF"


def arrow_segments(points: np.ndarray, vectors: np.ndarray, max_len: float, ref: float,
                   head: float = 0.35, head_angle_deg: float = 28.0) -> tuple[np.ndarray, np.ndarray]:
    """x and y arrays drawing one arrow per point in a single line trace, arrows separated by gaps.

    Each arrow is tail -> tip -> left barb, then tip -> right barb, then NaN (6 entries; Plotly breaks
    a line at NaN as at None, and NumPy arrays are validated and sent much faster than lists of None:
    about 40 ms less per 24x24 field on a busy 2-core machine). Arrows keep the direction of the
    vector; their length is max_len * min(|v| / ref, 1), i.e. proportional to |v| up to `ref` and
    clipped there. Barbs are `head` times the arrow's length.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    v = np.asarray(vectors, dtype=np.float64).reshape(-1, 2)
    mag = np.linalg.norm(v, axis=1)
    length = max_len * np.minimum(mag / max(float(ref), 1e-300), 1.0)
    unit = v / np.maximum(mag, 1e-300)[:, None]
    tip = p + length[:, None] * unit
    a = math.radians(head_angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    back = -unit * (head * length)[:, None]
    left = tip + np.stack([ca * back[:, 0] - sa * back[:, 1], sa * back[:, 0] + ca * back[:, 1]], axis=1)
    right = tip + np.stack([ca * back[:, 0] + sa * back[:, 1], -sa * back[:, 0] + ca * back[:, 1]], axis=1)
    gap = np.full_like(p, np.nan)
    pts = np.stack([p, tip, left, tip, right, gap], axis=1)  # (G, 6, 2)
    return pts[:, :, 0].ravel().astype(np.float32), pts[:, :, 1].ravel().astype(np.float32)


def _square_axes(fig: go.Figure, extent: float):
    fig.update_xaxes(range=[-extent, extent], constrain="domain", zeroline=False, showgrid=False, title="x₁")
    fig.update_yaxes(range=[-extent, extent], scaleanchor="x", scaleratio=1, constrain="domain",
                     zeroline=False, showgrid=False, title="x₂")


def _density_heatmap(density, name: str = "density pₜ(x)", colorbar_title: str = "pₜ(x)", **kw) -> go.Heatmap:
    xs, ys, z = density
    z = np.asarray(z, dtype=np.float64)
    # The empirical density at small t is a few sharp spikes; clipping the top 1% of the colour
    # range keeps the rest visible (the hover still shows the true value).
    zmax = float(np.quantile(z, 0.99)) if np.quantile(z, 0.99) > 0 else float(z.max() or 1.0)
    return go.Heatmap(x=np.round(xs, 4), y=np.round(ys, 4), z=z.astype(np.float32), colorscale=SEQUENTIAL,
                      zmin=0.0, zmax=zmax, name=name, colorbar=dict(title=colorbar_title, thickness=12, len=0.8),
                      hovertemplate="x = (%{x:.2f}, %{y:.2f})<br>" + colorbar_title + " = %{z:.3g}<extra></extra>",
                      **kw)


def score_field_figure(points: np.ndarray, exact: np.ndarray | None = None, learned: np.ndarray | None = None,
                       view: str = "exact", density=None, samples: np.ndarray | None = None,
                       extent: float = 3.0, ref: float | None = None, title: str = "",
                       height: int = 560) -> go.Figure:
    """The score field as arrows on a square grid, over the density heatmap and the noised samples.

    points (G, 2) are the arrow tails on an n x n grid (toy2d.grid order, G = n^2); exact and learned
    (G, 2) the scores there; view one of SCORE_VIEWS ("error" draws learned - exact as arrows over a
    heatmap of its size |learned - exact| instead of the density); density (xs, ys, p (ny, nx)).
    Arrow length is proportional to |score| up to `ref` (default: the 90th percentile of |exact|),
    then clipped, so arrows show the direction everywhere; the longest is 0.9 grid cells.

    Traces, in order: heatmap (if any), samples (if any), one line trace per arrow field, and an
    invisible marker trace carrying the score values for the hover.
    """
    if view not in SCORE_VIEWS:
        raise ValueError(f"unknown view {view!r}; choose one of {', '.join(SCORE_VIEWS)}")
    if view in ("exact", "both", "error") and exact is None:
        raise ValueError(f"the {view!r} view needs the exact score")
    if view in ("learned", "both", "error") and learned is None:
        raise ValueError(f"the {view!r} view needs the learned score")
    points = np.asarray(points, dtype=np.float64)
    n = int(round(math.sqrt(len(points))))
    cell = 2.0 * extent / max(n - 1, 1)
    base = exact if exact is not None else learned
    if ref is None:
        ref = float(np.quantile(np.linalg.norm(base, axis=1), 0.9)) or 1.0
    fig = go.Figure()
    if view == "error":
        diff = np.asarray(learned) - np.asarray(exact)
        xs = np.unique(points[:, 0])
        ys = np.unique(points[:, 1])
        size = np.linalg.norm(diff, axis=1).reshape(n, n)
        fig.add_trace(_density_heatmap((xs, ys, size), name="error |learned − exact|",
                                       colorbar_title="|error|", zsmooth="best"))
    elif density is not None:
        fig.add_trace(_density_heatmap(density))
    if samples is not None:
        fig.add_scatter(x=np.round(samples[:, 0], 4), y=np.round(samples[:, 1], 4), mode="markers",
                        name="noised samples xₜ", hoverinfo="skip",
                        marker=dict(size=3, color="rgba(255,255,255,0.45)", line=dict(width=0)))
    fields = {"exact": [("exact score", exact, _EXACT_ARROWS)],
              "learned": [("learned score", learned, _LEARNED_ARROWS)],
              "both": [("exact score", exact, _EXACT_ARROWS), ("learned score", learned, _LEARNED_ARROWS)],
              "error": [("learned − exact", None, _ERROR_ARROWS)]}[view]
    for name, vec, colour in fields:
        if vec is None:
            vec = np.asarray(learned) - np.asarray(exact)
        ax, ay = arrow_segments(points, vec, 0.9 * cell, ref)
        fig.add_scatter(x=ax, y=ay, mode="lines", name=name, hoverinfo="skip",
                        line=dict(color=colour, width=1.6 if view != "both" else 1.4))
    hover_vals = np.concatenate([v for v in (exact, learned) if v is not None], axis=1)
    labels = [n_ for n_, v in (("exact", exact), ("learned", learned)) if v is not None]
    tmpl = "x = (%{x:.2f}, %{y:.2f})"
    for k, lab in enumerate(labels):
        tmpl += f"<br>{lab} score = (%{{customdata[{2 * k}]:.2f}}, %{{customdata[{2 * k + 1}]:.2f}})"
    fig.add_scatter(x=np.round(points[:, 0], 4), y=np.round(points[:, 1], 4), mode="markers",
                    customdata=np.round(hover_vals, 3), hovertemplate=tmpl + "<extra></extra>",
                    marker=dict(size=8, opacity=0), showlegend=False, name="score values")
    _square_axes(fig, extent)
    _layout(fig, title, height, hovermode="closest")
    # Below the plot (a square plot leaves no room beside the title); dark, for the white symbols.
    fig.update_layout(legend=dict(bgcolor="#440154", font=dict(color="white"), y=-0.1, yanchor="top", x=0.0,
                                  xanchor="left"), plot_bgcolor="#440154", margin=dict(l=10, r=10, t=50, b=40))
    return fig


def tweedie_figure(density, data: np.ndarray, point, score, x0_hat, alpha_bar: float,
                   extent: float = 3.0, height: int = 520) -> go.Figure:
    """Tweedie's formula as a picture: from x along (1 − ᾱ)·score to √ᾱ·x̂₀, then ÷√ᾱ to x̂₀ = E[x₀ | xₜ = x].

    Traces: density heatmap, clean data, √ᾱ·x̂₀, x̂₀, the point x; the two steps are annotations (arrows).
    """
    point = np.asarray(point, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    x0_hat = np.asarray(x0_hat, dtype=np.float64)
    mid = point + (1.0 - alpha_bar) * score  # = sqrt(ab) * x0_hat
    fig = go.Figure()
    fig.add_trace(_density_heatmap(density, showscale=False, opacity=0.85))
    fig.add_scatter(x=np.round(data[:, 0], 4), y=np.round(data[:, 1], 4), mode="markers",
                    name="clean data x₀", hoverinfo="skip",
                    marker=dict(size=3, color="rgba(255,255,255,0.55)", line=dict(width=0)))
    fig.add_scatter(x=[mid[0]], y=[mid[1]], mode="markers", name="xₜ + (1−ᾱ)·score = √ᾱ·x̂₀",
                    marker=dict(size=9, color=PALETTE[1], line=dict(color="black", width=1)),
                    hovertemplate="(%{x:.2f}, %{y:.2f})<extra>√ᾱ·x̂₀</extra>")
    fig.add_scatter(x=[x0_hat[0]], y=[x0_hat[1]], mode="markers", name="x̂₀ = E[x₀ | xₜ]",
                    marker=dict(size=18, color=PALETTE[3], symbol="star", line=dict(color="black", width=1.5)),
                    hovertemplate="x̂₀ = (%{x:.2f}, %{y:.2f})<extra></extra>")
    # Drawn last and hollow, so that x̂₀ stays visible when it lies under x (small t).
    fig.add_scatter(x=[point[0]], y=[point[1]], mode="markers", name="your point xₜ",
                    marker=dict(size=16, color=PALETTE[5], symbol="circle-open", line=dict(width=3.5)),
                    hovertemplate="xₜ = (%{x:.2f}, %{y:.2f})<extra></extra>")
    for (x0, y0), (x1, y1), colour, dash in (((point[0], point[1]), (mid[0], mid[1]), PALETTE[1], None),
                                             ((mid[0], mid[1]), (x0_hat[0], x0_hat[1]), PALETTE[3], "dot")):
        if math.hypot(x1 - x0, y1 - y0) > 1e-3 * extent:
            fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                               showarrow=True, arrowhead=2, arrowsize=1.3, arrowwidth=2.5, arrowcolor=colour,
                               text="")
    _square_axes(fig, extent)
    _layout(fig, "Tweedie: the best guess of the clean point", height, hovermode="closest")
    fig.update_layout(plot_bgcolor="#440154", legend=dict(orientation="v", yanchor="top", y=-0.12, x=0.0,
                                                           xanchor="left"),
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


def particles_animation(traj: np.ndarray, data: np.ndarray, labels: list[str], title: str,
                        n_paths: int = 20, extent: float = 3.5, height: int = 600) -> go.Figure:
    """Particles moving to the data: one frame per entry of traj (F, M, 2), named by `labels` (F).

    Traces: 0 the clean data (grey), 1 the paths of the first n_paths particles so far (one line
    trace, None-separated), 2 the particles. Frames update traces 1 and 2; play/pause and a slider.
    """
    traj = np.asarray(traj, dtype=np.float64)
    if traj.ndim != 3 or traj.shape[2] != 2:
        raise ValueError(f"traj must have shape (frames, particles, 2), got {traj.shape}")
    if len(labels) != len(traj):
        raise ValueError(f"{len(labels)} labels for {len(traj)} frames")
    n_paths = min(int(n_paths), traj.shape[1])
    r = np.round(traj, 3)

    def paths(f: int):
        seg = r[: f + 1, :n_paths]  # (f+1, P, 2)
        xs, ys = [], []
        for p in range(n_paths):
            xs.extend(seg[:, p, 0].tolist() + [None])
            ys.extend(seg[:, p, 1].tolist() + [None])
        return go.Scatter(x=xs, y=ys, mode="lines", name=f"paths of {n_paths} particles", hoverinfo="skip",
                          line=dict(color="rgba(0,114,178,0.35)", width=1.2))

    def dots(f: int):
        return go.Scatter(x=r[f, :, 0], y=r[f, :, 1], mode="markers", name="particles", hoverinfo="skip",
                          marker=dict(size=5, color=PALETTE[3], opacity=0.8, line=dict(width=0)))

    fig = go.Figure(data=[go.Scatter(x=np.round(data[:, 0], 3), y=np.round(data[:, 1], 3), mode="markers",
                                     name="training data", hoverinfo="skip",
                                     marker=dict(size=3, color="rgba(120,120,120,0.35)")),
                          paths(0), dots(0)],
                    frames=[go.Frame(data=[paths(f), dots(f)], traces=[1, 2], name=lab)
                            for f, lab in enumerate(labels)])
    _square_axes(fig, extent)
    controls = play_controls(list(labels), "", duration_ms=150)
    controls["updatemenus"][0]["y"] = controls["sliders"][0]["y"] = -0.11  # below the x-axis title
    controls["sliders"][0].update(x=0.3, len=0.64)  # room for the buttons, and the last label
    fig.update_layout(**controls)
    _layout(fig, title, height, hovermode=False)
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=110), plot_bgcolor="white")
    return fig


def loss_curve(history, height: int = 320) -> go.Figure:
    """The training loss, the mean squared error of ε̂ per coordinate (averaged over 25 steps), against the step."""
    h = np.asarray(history, dtype=np.float64).reshape(-1, 2)
    fig = go.Figure()
    fig.add_scatter(x=h[:, 0], y=h[:, 1], mode="lines", name="loss", line=dict(color=PALETTE[0], width=2.5),
                    hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>")
    fig.update_xaxes(title="training step")
    fig.update_yaxes(title="loss: mean squared error of ε̂ per coordinate")
    return _layout(fig, "Training loss", height, hovermode="closest")


def score_error_by_t(errors: dict[str, dict[int, float]], height: int = 320) -> go.Figure:
    """Relative error of learned score fields against the exact one, one line per model, over t."""
    fig = go.Figure()
    for i, (name, errs) in enumerate(errors.items()):
        ts = sorted(errs)
        fig.add_scatter(x=ts, y=[errs[t] for t in ts], mode="lines+markers", name=name,
                        line=dict(color=PALETTE[(i * 3) % len(PALETTE)], width=2.5), marker=dict(size=8),
                        hovertemplate="t = %{x}: %{y:.1%}<extra>" + name + "</extra>")
    fig.update_xaxes(title="timestep t")
    fig.update_yaxes(title="relative error", tickformat=".0%", rangemode="tozero")
    return _layout(fig, "How far each learned score is from the exact one", height, hovermode="closest")


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


# ------------------------------------------------------------------ learning to denoise
# (functions for pages/learning.py)

LOSS_SPACES = {"eps": "noise ε", "x0": "clean image x₀", "v": "velocity v"}
OBJECTIVE_COLOURS = {"elbo": PALETTE[3], "eps": PALETTE[0], "x0": PALETTE[2], "v": PALETTE[4]}


def _legend_below(fig: go.Figure) -> go.Figure:
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="center", x=0.5),
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


def _snr_axis(fig: go.Figure, axis: str):
    if axis == "log_snr":
        fig.update_xaxes(title="log-SNR λ = log(ᾱ/(1−ᾱ))  (noisy ← → clean)")
    else:
        fig.update_xaxes(title="timestep t  (clean ← → noisy)")


def loss_over_t(curve: dict, schedule: NoiseSchedule, space: str = "eps", axis: str = "t",
                height: int = 360) -> go.Figure:
    """The bundled model's loss at each t (from its card's "loss_curve"), told the class and told none.

    space: the loss in eps-, x0- or v-space: the eps loss times objectives.error_factor (exact).
    axis: 't' or 'log_snr'.
    """
    from ..core.objectives import error_factor

    ts = np.asarray(curve["t"], dtype=int)
    x = ts if axis == "t" else schedule.log_snr[ts]
    factor = error_factor(space, schedule.alpha_bars[ts])
    fig = go.Figure()
    for key, name, colour in (("class", "told the digit's class", PALETTE[0]),
                              ("none", "told no class (∅)", PALETTE[1])):
        y = np.asarray(curve["eps_mse"][key]) * factor
        sem = np.asarray(curve["eps_mse_sem"][key]) * factor
        fig.add_scatter(x=x, y=y, mode="lines+markers", name=name, marker=dict(size=4),
                        line=dict(color=colour, width=2.5), customdata=np.stack([ts, sem], axis=1),
                        error_y=dict(type="data", array=2 * sem, visible=True, thickness=1, width=0),
                        hovertemplate="t = %{customdata[0]}: %{y:.4g} ± %{customdata[1]:.2g}<extra>" + name
                                      + "</extra>")
    fig.update_yaxes(title=f"loss in {LOSS_SPACES[space]}-space (mean per pixel)", type="log")
    _snr_axis(fig, axis)
    if axis == "log_snr":
        fig.update_xaxes(autorange="reversed")
    _layout(fig, f"The model's loss on {curve['digits']} held-out digits (±2 s.e.)", height, hovermode="closest")
    return _legend_below(fig)


def objective_weights(schedule: NoiseSchedule, axis: str = "t", curve: dict | None = None,
                      height: int = 360) -> go.Figure:
    """The share of each objective that each noise level carries (objectives.eps_weights, normalised).

    Without `curve`: the weights w_t alone. With the model's loss curve: w_t times its eps loss at t,
    i.e. where each objective's value actually comes from for this model.
    """
    from ..core.objectives import OBJECTIVES, eps_weights, normalised

    if curve is None:
        ts = np.arange(schedule.num_steps)
    else:
        ts = np.asarray(curve["t"], dtype=int)
    x = ts if axis == "t" else schedule.log_snr[ts]
    fig = go.Figure()
    for key, name in OBJECTIVES.items():
        w = eps_weights(schedule, key)[ts]
        if curve is not None:
            w = w * np.asarray(curve["eps_mse"]["class"])
        share = normalised(w)
        fig.add_scatter(x=x, y=share, mode="lines", name=name, line=dict(color=OBJECTIVE_COLOURS[key], width=2.5),
                        customdata=ts, hovertemplate="t = %{customdata}: %{y:.3g}<extra>" + name + "</extra>")
    fig.update_yaxes(title="share of the objective", type="log", exponentformat="power")
    _snr_axis(fig, axis)
    if axis == "log_snr":
        fig.update_xaxes(autorange="reversed")
    title = "Each objective's share: weight × this model's loss" if curve is not None else \
        "Each objective's weight on the ε-error (normalised)"
    _layout(fig, title, height, hovermode="closest")
    return _legend_below(fig)


def bound_bars(bound, height: int = 340) -> go.Figure:
    """The terms of the variational bound (explainer.elbo.Bound) as bars, with the data's entropy."""
    names = ["L_T (prior)", "Σ Lₜ₋₁ (KL terms)", "L₀ (decoder)", "total"]
    values = [bound.L_T, bound.kl_sum, bound.L_0, bound.total]
    colours = [PALETTE[5], PALETTE[0], PALETTE[1], PALETTE[7]]
    fig = go.Figure()
    fig.add_bar(x=names, y=values, marker=dict(color=colours), text=[f"{v:.4f}" for v in values],
                textposition="outside", hovertemplate="%{x}: %{y:.5f} nats<extra></extra>", showlegend=False)
    fig.add_hline(y=bound.entropy, line=dict(color=PALETTE[3], dash="dash", width=2),
                  annotation_text=f"entropy of the data −E log q(x₀) = {bound.entropy:.4f}",
                  annotation_position="top left")
    fig.update_yaxes(title="nats", zeroline=True, zerolinecolor="grey")
    return _layout(fig, f"The bound: {bound.total:.4f} nats, {bound.gap:.4f} above the data's entropy", height,
                   hovermode="closest")


def bound_per_t(bound, t: int | None = None, height: int = 340) -> go.Figure:
    """L_{t-1} for t = 2 ... T (log scale), the chosen t marked."""
    ts = np.arange(2, len(bound.L_t) + 2)
    fig = go.Figure()
    fig.add_scatter(x=ts, y=np.maximum(bound.L_t, 1e-12), mode="lines+markers" if len(ts) <= 60 else "lines",
                    name="Lₜ₋₁", line=dict(color=PALETTE[0], width=2.5),
                    hovertemplate="t = %{x}: %{y:.4g} nats<extra></extra>")
    if t is not None and 2 <= t <= len(bound.L_t) + 1:
        fig.add_scatter(x=[t], y=[max(bound.L_t[t - 2], 1e-12)], mode="markers", name=f"t = {t}",
                        marker=dict(color=PALETTE[3], size=13, symbol="diamond"))
    fig.update_xaxes(title="step t (1 = next to the data, T = pure noise)")
    fig.update_yaxes(title="nats", type="log", exponentformat="power")
    return _layout(fig, "Each step's KL term Lₜ₋₁", height, hovermode="closest")


def reverse_step_densities(x: np.ndarray, curves: dict[str, np.ndarray], x_t: float, x0: float, t: int,
                           height: int = 360) -> go.Figure:
    """q(x_{t-1} | x_t, x_0), the true reverse q(x_{t-1} | x_t), the best Gaussian p and the data, on one axis."""
    styles = {"data": dict(color="grey", dash="dot", width=2),
              "posterior": dict(color=PALETTE[2], width=3),
              "true": dict(color=PALETTE[1], width=3),
              "model": dict(color=PALETTE[0], width=3, dash="dash")}
    names = {"data": "the data q(x₀)", "posterior": f"q(x_{t - 1} | x_{t}, x₀): knows x₀",
             "true": f"q(x_{t - 1} | x_{t}): the true reverse step",
             "model": f"p(x_{t - 1} | x_{t}): the best Gaussian"}
    fig = go.Figure()
    for key, y in curves.items():
        fig.add_scatter(x=x, y=y, mode="lines", name=names[key], line=styles[key],
                        hovertemplate="x = %{x:.3f}: %{y:.3f}<extra>" + names[key] + "</extra>")
    fig.add_vline(x=x_t, line=dict(color=PALETTE[7], width=1.5), annotation_text=f"x_{t} = {x_t:.2f}",
                  annotation_position="top right")
    fig.add_vline(x=x0, line=dict(color=PALETTE[2], width=1.5, dash="dot"), annotation_text=f"x₀ = {x0:.2f}",
                  annotation_position="bottom left")
    fig.update_xaxes(title="x")
    fig.update_yaxes(title="density", rangemode="tozero")
    return _layout(fig, f"One reverse step, t = {t} → {t - 1}", height, hovermode="closest")


def class_losses(ts, losses: dict[str, np.ndarray], height: int = 320) -> go.Figure:
    """One digit's loss over t for each label the model is told (right class, none, a wrong class)."""
    fig = go.Figure()
    colours = [PALETTE[0], PALETTE[1], PALETTE[3], PALETTE[4]]
    for (name, y), colour in zip(losses.items(), colours):
        fig.add_scatter(x=list(ts), y=np.maximum(np.asarray(y, dtype=np.float64), 1e-6), mode="lines", name=name,
                        line=dict(color=colour, width=2.5), hovertemplate="t = %{x}: %{y:.4f}<extra>" + name
                                                                          + "</extra>")
    fig.update_xaxes(title="timestep t")
    fig.update_yaxes(title="loss ‖ε − ε̂‖²", type="log")
    return _layout(fig, "The same digit and noise, told different classes", height, hovermode="x unified")

# ------------------------------------------------------------------ perspectives: guidance, spectra, copies

# Light colours that read on the dark part of the Viridis heatmap, none close to the particles' vermillion.
CLASS_COLOURS = [PALETTE[5], PALETTE[6], PALETTE[4], "#FFFFFF"]


def _legend_below(fig: go.Figure, bottom: int = 90) -> go.Figure:
    """Legend under the plot: in a narrow column a legend beside the title would cover it."""
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0.0),
                      margin=dict(l=10, r=10, t=50, b=bottom))
    return fig


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5 x 10^k inside [lo, hi]: readable labels on a log axis that spans a decade or two."""
    ks = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    return [m * 10.0**k for k in ks for m in (1, 2, 5) if lo * (1 - 1e-9) <= m * 10.0**k <= hi * (1 + 1e-9)]


def guidance_field_figure(points: np.ndarray, field: np.ndarray, density, particles: np.ndarray,
                          data: np.ndarray, data_labels: np.ndarray, names, y: int, extent: float = 4.0,
                          title: str = "", height: int = 560) -> go.Figure:
    """The guided score as arrows over the sharpened density, the data by class, and where particles ended.

    points/field (G, 2) as in `score_field_figure`; density (xs, ys, p) the density whose score the
    arrows are; particles (M, 2) the end points of the guided sampler; data (N, 2) with class
    labels (N,) named by `names`. Traces: heatmap, arrows, hover, one per class, particles.
    """
    fig = score_field_figure(points, field, view="exact", density=density, extent=extent, title=title,
                             height=height)
    for trace in fig.data:
        if trace.name == "exact score":
            trace.name = "guided score"
    if density is not None:  # the heatmap is the density whose score the arrows are, not p_t(x)
        fig.data[0].update(name="sharpened density", colorbar=dict(title="p·p^(s−1)"),
                           hovertemplate="x = (%{x:.2f}, %{y:.2f})<br>density = %{z:.3g}<extra></extra>")
    data_labels = np.asarray(data_labels)
    for c, name in enumerate(names):
        pts = np.asarray(data)[data_labels == c]
        fig.add_scatter(x=np.round(pts[:, 0], 3), y=np.round(pts[:, 1], 3), mode="markers",
                        name=f"data of class {name}" + (" (asked for)" if c == y else ""), hoverinfo="skip",
                        marker=dict(size=4 if c == y else 3, color=CLASS_COLOURS[c % len(CLASS_COLOURS)],
                                    opacity=0.8 if c == y else 0.45, line=dict(width=0)))
    p = np.asarray(particles)
    fig.add_scatter(x=np.round(p[:, 0], 3), y=np.round(p[:, 1], 3), mode="markers",
                    name=f"{len(p)} guided particles (end)", hoverinfo="skip",
                    marker=dict(size=6, color=PALETTE[3], line=dict(color="white", width=0.8)))
    return fig


def guidance_sweep_figure(scales, diversity, confidence, current: float | None = None,
                          diversity_ref: float | None = None, diversity_name: str = "diversity",
                          confidence_name: str = "confidence", ref_name: str = "reference",
                          extra: dict | None = None, title: str = "What guidance trades: diversity for confidence",
                          height: int = 340) -> go.Figure:
    """Diversity (left axis) and confidence (right axis, 0-100 %) against the guidance scale s.

    `diversity_ref` draws a horizontal reference (real data's diversity, or the s = 1 value);
    `extra` = {"name", "y"} adds a second diversity curve (dotted); `current` marks the chosen s.
    """
    scales = np.asarray(scales, dtype=np.float64)
    fig = go.Figure()
    fig.add_scatter(x=scales, y=diversity, mode="lines+markers", name=diversity_name,
                    line=dict(color=PALETTE[0], width=3), marker=dict(size=7),
                    hovertemplate="s = %{x}: %{y:.3g}<extra>" + diversity_name + "</extra>")
    if extra is not None:
        fig.add_scatter(x=scales, y=extra["y"], mode="lines", name=extra["name"],
                        line=dict(color=PALETTE[0], width=2, dash="dot"),
                        hovertemplate="s = %{x}: %{y:.3g}<extra>" + extra["name"] + "</extra>")
    fig.add_scatter(x=scales, y=100 * np.asarray(confidence, dtype=np.float64), mode="lines+markers",
                    name=confidence_name, yaxis="y2", line=dict(color=PALETTE[3], width=3),
                    marker=dict(size=7, symbol="diamond"),
                    hovertemplate="s = %{x}: %{y:.1f} %<extra>" + confidence_name + "</extra>")
    if diversity_ref is not None:
        fig.add_hline(y=diversity_ref, line=dict(color="grey", dash="dot"), annotation_text=ref_name,
                      annotation_position="bottom left")
    if current is not None:
        fig.add_vline(x=current, line=dict(color="grey", dash="dash"))
    fig.update_xaxes(title="guidance scale s")
    fig.update_yaxes(title=diversity_name, rangemode="tozero")
    fig.update_layout(yaxis2=dict(title=confidence_name + " (%)", overlaying="y", side="right", range=[0, 105],
                                  tickvals=[0, 25, 50, 75, 100], showgrid=False))
    return _legend_below(_layout(fig, title, height, hovermode="x unified"), bottom=130)


def spectra_over_steps_figure(freqs: np.ndarray, spectra: np.ndarray, step_labels: list[str],
                              final: np.ndarray | None = None, title: str = "", height: int = 360) -> go.Figure:
    """Radially averaged power spectra on log-log axes, one line per step, dark (early) to bright (late).

    spectra (K, n) over freqs (n,) in cycles per pixel; `final` (n,) is drawn dashed on top.
    """
    spectra = np.asarray(spectra, dtype=np.float64)
    if spectra.ndim != 2 or spectra.shape[1] != len(freqs) or len(step_labels) != len(spectra):
        raise ValueError(f"spectra must be (K, {len(freqs)}) with K labels; got {spectra.shape}, "
                         f"{len(step_labels)} labels")
    import plotly.colors as pc

    colours = pc.sample_colorscale(SEQUENTIAL, np.linspace(0.0, 0.92, len(spectra)))
    fig = go.Figure()
    for k, (s, lab) in enumerate(zip(spectra, step_labels)):
        fig.add_scatter(x=freqs, y=np.maximum(s, 1e-12), mode="lines", name=lab, line=dict(color=colours[k], width=2),
                        showlegend=k in (0, len(spectra) - 1),
                        hovertemplate="f = %{x:.3f}: %{y:.3g}<extra>" + lab + "</extra>")
    if final is not None:
        fig.add_scatter(x=freqs, y=final, mode="lines", name="final image", line=dict(color="black", width=2.5,
                                                                                       dash="dash"),
                        hovertemplate="f = %{x:.3f}: %{y:.3g}<extra>final image</extra>")
    fig.update_xaxes(title="frequency (cycles per pixel)", type="log",
                     tickvals=_log_ticks(float(np.min(freqs)), float(np.max(freqs))))
    fig.update_yaxes(title="power", type="log", dtick=1)
    return _legend_below(_layout(fig, title, height, hovermode="closest"))


def settle_figure(freqs: np.ndarray, settle: np.ndarray, num_steps: int, height: int = 300) -> go.Figure:
    """The step at which each frequency ring of x̂₀ settles (explainer.spectral.settle_steps)."""
    fig = go.Figure()
    fig.add_scatter(x=freqs, y=settle, mode="lines+markers", name="settles at step",
                    line=dict(color=PALETTE[2], width=3), marker=dict(size=8),
                    hovertemplate="f = %{x:.3f} cycles/px: settled from step %{y}<extra></extra>")
    fig.update_xaxes(title="frequency (cycles per pixel)", type="log",
                     tickvals=_log_ticks(float(np.min(freqs)), float(np.max(freqs))))
    fig.update_yaxes(title="step", range=[-0.5, max(num_steps, int(np.max(settle))) + 0.5])
    return _layout(fig, "When each frequency of x̂₀ settles: coarse first", height, hovermode="closest")


def nearest_distance_figure(reference: np.ndarray, distances: np.ndarray, labels: list[str] | None = None,
                            height: int = 320) -> go.Figure:
    """Histogram of held-out real digits' nearest-training distances, generated digits as markers on it."""
    reference = np.asarray(reference, dtype=np.float64)
    distances = np.asarray(distances, dtype=np.float64)
    lo = min(reference.min(), distances.min()) * 0.9
    hi = max(reference.max(), distances.max()) * 1.05
    edges = np.linspace(lo, hi, 41)
    fig = go.Figure()
    _density_bars(fig, reference, edges, f"{len(reference)} real digits the model never saw", PALETTE[0], 0.6)
    labels = labels or [f"digit {i}" for i in range(len(distances))]
    fig.add_scatter(x=distances, y=np.zeros_like(distances), mode="markers", name="generated digits",
                    marker=dict(size=12, color=PALETTE[3], symbol="triangle-up", line=dict(color="black", width=1)),
                    text=labels, hovertemplate="%{text}: %{x:.2f}<extra></extra>")
    fig.add_vline(x=float(np.median(reference)), line=dict(color=PALETTE[0], dash="dash"),
                  annotation_text="median of real digits")
    fig.update_xaxes(title="distance to the nearest training digit (L2)")
    fig.update_yaxes(title="density")
    return _legend_below(_layout(fig, "Distance to the nearest training digit", height,
                                 hovermode="closest"), bottom=100)


SAMPLER_COLOURS = {"ddim": PALETTE[0], "ddpm": PALETTE[1], "dpm++2m": PALETTE[2]}
QUALITY_PANELS = (("accuracy", "accuracy as the asked class", ".0%"),
                  ("diversity_vs_real", "diversity / real digits", ".2f"),
                  ("nearest_training_l2_median", "nearest training digit (median L2)", ".1f"))


def quality_vs_network_calls(result: dict, height: int = 340) -> go.Figure:
    """Quality against network passes per digit, one line per sampler, one panel per measure.

    `result` is the model card's "quality_vs_steps" (explainer.evaluate.quality_vs_steps). Dotted
    lines mark real held-out digits where the measure has a real-digit value.
    """
    from plotly.subplots import make_subplots

    from ..core.samplers import SAMPLER_LABELS

    fig = make_subplots(rows=1, cols=3, subplot_titles=[p[1] for p in QUALITY_PANELS], horizontal_spacing=0.08)
    rows = result["rows"]
    real = result["real_heldout"]
    real_values = {"accuracy": result.get("classifier_accuracy_on_heldout_real"), "diversity_vs_real": 1.0,
                   "nearest_training_l2_median": real["nearest_training_l2_median"]}
    for sampler in dict.fromkeys(r["sampler"] for r in rows):
        mine = sorted((r for r in rows if r["sampler"] == sampler), key=lambda r: r["steps"])
        label = SAMPLER_LABELS.get(sampler, sampler)
        for col, (key, title, fmt) in enumerate(QUALITY_PANELS, start=1):
            fig.add_scatter(x=[r["network_passes_per_digit"] for r in mine], y=[r[key] for r in mine],
                            customdata=[r["steps"] for r in mine], mode="lines+markers", name=label,
                            legendgroup=sampler, showlegend=col == 1,
                            line=dict(color=SAMPLER_COLOURS.get(sampler, PALETTE[7]), width=2.5),
                            marker=dict(size=8), row=1, col=col,
                            hovertemplate=f"{label}, %{{customdata}} steps (%{{x}} passes): "
                                          f"%{{y:{fmt}}}<extra></extra>")
    for col, (key, _, fmt) in enumerate(QUALITY_PANELS, start=1):
        if real_values[key] is not None:
            fig.add_hline(y=real_values[key], line=dict(color=PALETTE[7], dash="dot", width=1.5), row=1, col=col,
                          annotation_text="real digits", annotation_position="bottom right")
        fig.update_yaxes(tickformat=fmt, row=1, col=col)
        fig.update_xaxes(title="network passes per digit", type="log", row=1, col=col)
    return _layout(fig, "Quality against network calls (guided: 2 passes per step)", height, hovermode="closest")
