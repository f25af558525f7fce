"""Figures of learning to denoise: the loss over t, what each objective weighs, the variational bound term by term,
one reverse step's densities, and a training loss."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..core.loss_weighting import clipped_steps, loss_at_every_t, shares
from ..core.objectives import OBJECTIVES, eps_weights, error_factor, normalised
from ..core.schedules import NoiseSchedule
from .style import OBJECTIVE_COLOURS, PALETTE, base_layout, legend_below


LOSS_SPACES = {"eps": "noise ε", "x0": "clean image x₀", "v": "velocity v"}


def _snr_axis(fig: go.Figure, axis: str):
    """The x-axis of the learning plots: t, or log-SNR reversed so that both axes run from clean (left) to noisy.

    The direction and the label are set together here, so that they cannot disagree.
    """
    if axis == "log_snr":
        fig.update_xaxes(title="log-SNR λ = log(ᾱ/(1−ᾱ))  (clean ← → noisy)", autorange="reversed")
    else:
        fig.update_xaxes(title="timestep t  (clean ← → noisy)")


def _flag_last_step(fig: go.Figure, schedule: NoiseSchedule, axis: str, note: str):
    """A dotted line and a note at t = T-1, the step that dominates sums over t when beta is clipped there."""
    T = schedule.num_steps
    x = T - 1 if axis == "t" else float(schedule.log_snr[-1])
    fig.add_vline(x=x, line=dict(color="grey", dash="dot", width=1.5))
    fig.add_annotation(x=x, y=1, xref="x", yref="paper", yanchor="bottom", xanchor="right", showarrow=False,
                       text=note, font=dict(size=11))


def loss_over_t(curve: dict, schedule: NoiseSchedule, space: str = "eps", axis: str = "t",
                height: int = 360) -> go.Figure:
    """The bundled model's loss at each t (from its card's "training_loss_figure"), told the class and told none.

    space: the loss in eps-, x0- or v-space: the eps loss times objectives.error_factor (exact).
    axis: 't' or 'log_snr'.
    """
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
    base_layout(fig, f"The model's loss on {curve['digits']} held-out digits (±2 s.e.)", height, hovermode="closest")
    return legend_below(fig)


def objective_weights(schedule: NoiseSchedule, axis: str = "t", curve: dict | None = None,
                      height: int = 360) -> go.Figure:
    """The share of each objective that each timestep carries (objectives.eps_weights, normalised).

    Without `curve`: the weights w_t alone. With the model's loss curve: w_t times its eps loss at
    every t (loss_weighting.loss_at_every_t: the card's ~100 measured t, interpolated), so that each
    step counts once, as in training. One point per timestep on either axis (a share, not Kingma &
    Gao's w(lambda)). t = T-1 is flagged with its ELBO share: when beta is clipped there it dominates.
    """
    T = schedule.num_steps
    ts = np.arange(T)
    loss = None if curve is None else loss_at_every_t(curve["t"], curve["eps_mse"]["class"], T)
    x = ts if axis == "t" else schedule.log_snr
    fig = go.Figure()
    for key, name in OBJECTIVES.items():
        w = eps_weights(schedule, key)
        if loss is not None:
            w = w * loss
        share = normalised(w)
        fig.add_scatter(x=x, y=share, mode="lines", name=name, line=dict(color=OBJECTIVE_COLOURS[key], width=2.5),
                        customdata=ts, hovertemplate="t = %{customdata}: %{y:.3g}<extra>" + name + "</extra>")
    elbo_w = eps_weights(schedule, "elbo") * (1 if loss is None else loss)
    clipped = " (β clipped)" if T - 1 in clipped_steps(schedule) else ""
    _flag_last_step(fig, schedule, axis, f"t = {T - 1}{clipped}: {shares(elbo_w).last:.0%} of the ELBO")
    fig.update_yaxes(title="share of the objective (per timestep)", type="log", exponentformat="power")
    _snr_axis(fig, axis)
    title = "Each objective's share: weight × this model's loss" if curve is not None else \
        "Each objective's weight on the ε-error (normalised)"
    base_layout(fig, title, height, hovermode="closest")
    return legend_below(fig)


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
    return base_layout(fig, f"The bound: {bound.total:.4f} nats, {bound.gap:.4f} above the data's entropy", height,
                   hovermode="closest")


def bound_per_t(bound, t: int | None = None, height: int = 340) -> go.Figure:
    """L_{t-1} for t = 2 ... T (log scale), the chosen t marked. `t` is the paper's (1-based) t, as pages show it:
    the library's step t - 1 (explainer.core.schedules), whose KL term is bound.L_t[t - 2]."""
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
    return base_layout(fig, "Each step's KL term Lₜ₋₁", height, hovermode="closest")


def reverse_step_densities(x: np.ndarray, curves: dict[str, np.ndarray], x_t: float, x0: float, t: int,
                           height: int = 360) -> go.Figure:
    """q(x_{t-1} | x_t, x_0), the true reverse q(x_{t-1} | x_t), the model p (best mean at its fixed variance)
    and the data, on one axis. `t` is the paper's (1-based) t, written in the labels."""
    styles = {"data": dict(color="grey", dash="dot", width=2),
              "posterior": dict(color=PALETTE[2], width=3),
              "true": dict(color=PALETTE[1], width=3),
              "model": dict(color=PALETTE[0], width=3, dash="dash")}
    names = {"data": "the data q(x₀)", "posterior": f"q(x_{t - 1} | x_{t}, x₀): knows x₀",
             "true": f"q(x_{t - 1} | x_{t}): the true reverse step",
             "model": f"p(x_{t - 1} | x_{t}): the best mean, σ² fixed"}
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
    return base_layout(fig, f"One reverse step, t = {t} → {t - 1}", height, hovermode="closest")


def training_loss_figure(history, height: int = 320) -> go.Figure:
    """The training loss, the mean squared error of ε̂ per coordinate (averaged over 25 steps), against the step."""
    h = np.asarray(history, dtype=np.float64).reshape(-1, 2)
    fig = go.Figure()
    fig.add_scatter(x=h[:, 0], y=h[:, 1], mode="lines", name="loss", line=dict(color=PALETTE[0], width=2.5),
                    hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>")
    fig.update_xaxes(title="training step")
    fig.update_yaxes(title="loss: mean squared error of ε̂ per coordinate")
    return base_layout(fig, "Training loss", height, hovermode="closest")
