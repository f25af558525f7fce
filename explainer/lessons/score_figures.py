"""Figures of the score on 2-D toy data: the field with its arrows, Tweedie's step, particles on their way, the
learned score's error, and the guided field."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .forward_figures import play_controls
from .style import (CLASS_COLOURS, ERROR_ARROWS, EXACT_ARROWS, LEARNED_ARROWS, PALETTE, SEQUENTIAL,
                    base_layout)


SCORE_VIEWS = ("exact", "learned", "both", "error")


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
    fields = {"exact": [("exact score", exact, EXACT_ARROWS)],
              "learned": [("learned score", learned, LEARNED_ARROWS)],
              "both": [("exact score", exact, EXACT_ARROWS), ("learned score", learned, LEARNED_ARROWS)],
              "error": [("learned − exact", None, ERROR_ARROWS)]}[view]
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
    base_layout(fig, title, height, hovermode="closest")
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
    base_layout(fig, "Tweedie: the best guess of the clean point", height, hovermode="closest")
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
    base_layout(fig, title, height, hovermode=False)
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=110), plot_bgcolor="white")
    return fig


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
    return base_layout(fig, "How far each learned score is from the exact one", height, hovermode="closest")


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
