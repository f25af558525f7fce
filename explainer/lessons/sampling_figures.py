"""Figures of reverse sampling: guidance against diversity, the spectra of x0_hat step by step and when each
frequency settles, distances to the training digits, and quality against network calls."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..core.samplers import SAMPLER_LABELS
from .forward_figures import _density_bars
from .spectrum_facts import settle_order
from .style import PALETTE, SAMPLER_COLOURS, SEQUENTIAL, base_layout, legend_below, log_ticks, percent_ticks


def guidance_sweep_figure(scales, diversity, confidence, current: float | None = None,
                          diversity_ref: float | None = None, diversity_name: str = "diversity",
                          confidence_name: str = "confidence", ref_name: str = "reference",
                          extra: dict | None = None, title: str = "What guidance trades: diversity for confidence",
                          height: int = 340, class_ignored_at_zero: bool = False) -> go.Figure:
    """Diversity (left axis) and confidence (right axis, 0-100 %) against the guidance scale s.

    `diversity_ref` draws a horizontal reference (real data's diversity, or the s = 1 value);
    `extra` = {"name", "y"} adds a second diversity curve (dotted); `current` marks the chosen s.
    `class_ignored_at_zero`: s = 0 draws unconditional samples, so its diversity is not a within-class
    diversity: it is left off the diversity line, drawn as a lone hollow marker and labelled "class ignored".
    """
    scales = np.asarray(scales, dtype=np.float64)
    diversity = np.asarray(diversity, dtype=np.float64)
    on_line = ~(scales == 0) if class_ignored_at_zero else np.ones(len(scales), dtype=bool)
    fig = go.Figure()
    fig.add_scatter(x=scales[on_line], y=diversity[on_line], mode="lines+markers", name=diversity_name,
                    line=dict(color=PALETTE[0], width=3), marker=dict(size=7),
                    hovertemplate="s = %{x}: %{y:.3g}<extra>" + diversity_name + "</extra>")
    if not on_line.all():
        ignored = "s = 0: class ignored (unconditional samples, any digit)"
        fig.add_scatter(x=scales[~on_line], y=diversity[~on_line], mode="markers", name=ignored,
                        marker=dict(size=9, color="white", line=dict(color=PALETTE[0], width=2)),
                        hovertemplate="s = 0, class ignored: %{y:.3g}<extra>diversity of unconditional "
                                      "samples</extra>")
        fig.add_annotation(x=0, y=float(diversity[~on_line][0]), text="class ignored", showarrow=True,
                           arrowhead=0, ax=40, ay=-25)
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
    return legend_below(base_layout(fig, title, height, hovermode="x unified"), bottom=130)


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
                     tickvals=log_ticks(float(np.min(freqs)), float(np.max(freqs))))
    fig.update_yaxes(title="power", type="log", dtick=1)
    return legend_below(base_layout(fig, title, height, hovermode="closest"))


def settle_figure(freqs: np.ndarray, settle: np.ndarray, num_steps: int, height: int = 300) -> go.Figure:
    """The step at which each frequency ring of x̂₀ settles (explainer.spectral.settle_steps)."""
    fig = go.Figure()
    fig.add_scatter(x=freqs, y=settle, mode="lines+markers", name="settles at step",
                    line=dict(color=PALETTE[2], width=3), marker=dict(size=8),
                    hovertemplate="f = %{x:.3f} cycles/px: settled from step %{y}<extra></extra>")
    fig.update_xaxes(title="frequency (cycles per pixel)", type="log",
                     tickvals=log_ticks(float(np.min(freqs)), float(np.max(freqs))))
    fig.update_yaxes(title="step", range=[-0.5, max(num_steps, int(np.max(settle))) + 0.5])
    return base_layout(fig, f"When each frequency of x̂₀ settles: {settle_order(settle)}", height,
                       hovermode="closest")


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
    return legend_below(base_layout(fig, "Distance to the nearest training digit", height,
                                 hovermode="closest"), bottom=100)


QUALITY_PANELS = (("accuracy", "accuracy as the asked class", ".1%"),  # a percentage: percent_ticks picks its ticks
                  ("diversity_vs_real", "diversity / real digits", ".2f"),
                  ("nearest_training_l2_median", "nearest training digit (median L2)", ".1f"))


def quality_vs_network_calls(result: dict, height: int = 340) -> go.Figure:
    """Quality against network passes per digit, one line per sampler, one panel per measure.

    `result` is the model card's "quality_vs_steps" (explainer.evaluate.quality_vs_steps). Dotted
    lines mark real held-out digits where the measure has a real-digit value.
    """
    from plotly.subplots import make_subplots


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
        if fmt.endswith("%"):  # a narrow range of percentages: ticks whose labels differ (".0%" printed 99 % twice)
            values = [r[key] for r in rows] + ([real_values[key]] if real_values[key] is not None else [])
            tickvals, tickformat = percent_ticks(min(values), max(values))
            fig.update_yaxes(tickvals=tickvals, tickformat=tickformat, row=1, col=col)
        else:
            fig.update_yaxes(tickformat=fmt, row=1, col=col)
        fig.update_xaxes(title="network passes per digit", type="log", row=1, col=col)
    return base_layout(fig, "Quality against network calls (guided: 2 passes per step)", height, hovermode="closest")
