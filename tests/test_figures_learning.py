"""Figures and frame sets of the learning page (explainer/lessons/objective_figures.py, denoising_framesets.py)."""
import json

import numpy as np
import pytest

from explainer.core import elbo, objectives
from explainer.core.schedules import make_schedule
from explainer.lessons import denoising_framesets, objective_figures
from explainer.lessons.framesets import frame_indices
from explainer.models import denoiser
from explainer.models.bundled_digits import load_bundle
from explainer.models.pretrained import load_pretrained


@pytest.fixture(scope="module")
def pre():
    return load_pretrained("mnist", device="cpu")


@pytest.fixture(scope="module")
def digit():
    d = load_bundle()
    x, y = d.evaluation, d.evaluation_labels
    return x[7], int(y[7])


def _frames(fs) -> dict:
    return json.loads(fs.to_bytes())


def test_training_frames_and_the_filled_in_loss(pre, digit):
    x0, label = digit
    ts = frame_indices(1000, 8)
    eps = denoiser.digit_noise(0)
    sf = denoiser.training_steps(pre, x0, eps, ts, label)
    assert sf.x_t.shape == (8, 28, 28) and sf.loss.shape == (8,)
    # The loss is the mean squared noise error, and x_t the closed-form jump.
    assert sf.loss[3] == pytest.approx(float(np.mean((sf.eps_hat[3] - eps) ** 2)), rel=1e-5)
    ab = pre.schedule.alpha_bars[ts[3]]
    np.testing.assert_allclose(sf.x_t[3], np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps, atol=1e-5)
    data = _frames(denoising_framesets.training_frameset(sf, pre.schedule, pre.model.null_label, "t",
                                              {"own": sf.loss, "none": sf.loss * 2}))
    assert data["values"] == ts and len(data["panels"]) == 5 and len(data["charts"]) == 2
    assert f"= {sf.loss[3]:.4f}" in data["lines"][0][3] and f"t = {ts[3]}" in data["lines"][0][3]
    assert data["metrics"][0]["values"][3] == f"{sf.loss[3]:.4f}"


def test_four_readings_convert_back_exactly(pre, digit):
    x0, label = digit
    ts = frame_indices(1000, 6)
    sf = denoiser.training_steps(pre, x0, denoiser.digit_noise(1), ts, label)
    r = denoiser.readings(sf, pre.schedule)
    assert denoiser.round_trip_error(r, sf.x_t, pre.schedule.alpha_bars[ts]).max() < 1e-9
    data = _frames(denoising_framesets.readings_frameset(sf, pre.schedule, "t"))
    assert len(data["panels"]) == 5 and len(data["lines"]) == 3
    assert data["lines"][1][2] == f"ŝ = −ε̂ / {np.sqrt(1 - pre.schedule.alpha_bars[ts[2]]):.4f}"


def test_the_model_needs_the_right_time(pre, digit):
    """Told t' far from the true t, the noise loss is worse than told a t' next to it."""
    x0, label = digit
    tps = frame_indices(1000, 64)
    for t in (100, 500, 800):
        wt = denoiser.wrong_time(pre, x0, denoiser.digit_noise(0), t, tps, label)
        near = wt.eps_mse[int(np.argmin(np.abs(np.asarray(tps) - t)))]
        assert near < wt.eps_mse[0] and near < wt.eps_mse[-1]
        assert abs(wt.best_t_prime - t) <= 100
    data = _frames(denoising_framesets.wrong_time_frameset(wt, pre.schedule, "t'"))
    assert len(data["charts"]) == 2 and data["values"] == tps


def test_class_label_choice():
    assert denoiser.class_label("true", 7, 10) == 7
    assert denoiser.class_label("true", None, 10) == 10
    assert denoiser.class_label("none", 7, 10) == 10
    assert denoiser.class_label("3", 7, 10) == 3
    with pytest.raises(ValueError):
        denoiser.class_label("12", 7, 10)


def test_loss_figures_from_the_card(pre):
    curve = pre.card["loss_curve"]
    for space in objective_figures.LOSS_SPACES:
        for axis in ("t", "log_snr"):
            fig = objective_figures.loss_over_t(curve, pre.schedule, space, axis)
            assert len(fig.data) == 2 and fig.layout.yaxis.type == "log"
    fig = objective_figures.loss_over_t(curve, pre.schedule, "x0", "t")
    ts = np.asarray(curve["t"])
    np.testing.assert_allclose(fig.data[0].y, np.asarray(curve["eps_mse"]["class"]) / pre.schedule.snr[ts])
    fig = objective_figures.objective_weights(pre.schedule, "log_snr")
    assert [tr.name for tr in fig.data] == list(objectives.OBJECTIVES.values())
    assert np.nansum(fig.data[1].y) == pytest.approx(1.0)
    fig = objective_figures.objective_weights(pre.schedule, "t", curve)
    assert list(fig.data[0].x) == list(range(pre.schedule.num_steps))  # every step (values: test_learning_truth)


def test_bound_figures():
    s = make_schedule("cosine", 10)
    b = elbo.variational_bound(elbo.MIXTURES["two Gaussians"], s, "beta")
    bars = objective_figures.bound_bars(b)
    assert list(bars.data[0].y) == pytest.approx([b.L_T, b.kl_sum, b.L_0, b.total])
    per_t = objective_figures.bound_per_t(b, t=4)
    assert list(per_t.data[0].x) == list(range(2, 11)) and per_t.data[1].x[0] == 4
    xs = np.linspace(-2, 2, 11)
    fig = objective_figures.reverse_step_densities(xs, {"data": xs * 0, "model": xs * 0 + 1}, 0.3, 0.6, 4)
    assert len(fig.data) == 2 and "t = 4 → 3" in fig.layout.title.text


def test_training_steps_by_label_is_each_label_run_alone():
    """One batched call for several labels gives what separate calls give (the learning page's three curves)."""
    pre = load_pretrained("mnist", "cpu")
    x0 = np.zeros((28, 28), np.float32)
    eps = denoiser.digit_noise(3)
    ts = [0, 300, 999]
    both = denoiser.training_steps_by_label(pre, x0, eps, ts, [4, pre.model.null_label, 4])
    assert list(both) == [4, pre.model.null_label]  # each label once
    for lab, sf in both.items():
        alone = denoiser.training_steps(pre, x0, eps, ts, lab)
        assert sf.label == lab and sf.ts == ts
        np.testing.assert_allclose(sf.eps_hat, alone.eps_hat, atol=1e-5)
        np.testing.assert_allclose(sf.loss, alone.loss, rtol=1e-4)
    assert not np.allclose(both[4].loss, both[pre.model.null_label].loss)  # the label matters
