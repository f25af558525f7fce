"""explainer/objectives.py: the four parameterisations, the weightings over noise levels, the loss curve."""
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from explainer.core import objectives as o
from explainer.core.schedules import make_schedule

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cosine():
    return make_schedule("cosine", 1000)


def _sample(ab: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, (4, 28, 28))
    eps = rng.standard_normal((4, 28, 28))
    return x0, eps, math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps


@pytest.mark.parametrize("ab", [0.9999, 0.7, 0.5, 0.02, 1e-4])
def test_readings_of_the_true_noise_are_the_true_targets(ab):
    x0, eps, x_t = _sample(ab)
    r = o.four_readings(eps, x_t, ab)
    np.testing.assert_allclose(r["x0"], x0, atol=1e-9 / math.sqrt(ab))
    np.testing.assert_allclose(r["v"], math.sqrt(ab) * eps - math.sqrt(1 - ab) * x0, atol=1e-8 / math.sqrt(ab))
    # The score of q(x_t | x_0) = N(sqrt(ab) x0, (1 - ab) I), by its formula.
    np.testing.assert_allclose(r["score"], -(x_t - math.sqrt(ab) * x0) / (1 - ab), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("ab", [0.999, 0.5, 0.01])
@pytest.mark.parametrize("src", o.PARAMETERISATIONS)
@pytest.mark.parametrize("dst", o.PARAMETERISATIONS)
def test_every_parameterisation_converts_into_every_other_exactly(src, dst, ab):
    x0, eps, x_t = _sample(ab, seed=1)
    pred = o.from_eps(src, eps, x_t, ab)
    np.testing.assert_allclose(o.convert(pred, src, dst, x_t, ab), o.from_eps(dst, eps, x_t, ab), rtol=1e-10,
                               atol=1e-10)
    back = o.convert(o.convert(pred, src, dst, x_t, ab), dst, src, x_t, ab)
    np.testing.assert_allclose(back, pred, rtol=1e-10, atol=1e-10)


def test_conversions_work_on_torch_tensors_too():
    x0, eps, x_t = (torch.from_numpy(a) for a in _sample(0.3))
    r = o.four_readings(eps, x_t, 0.3)
    assert all(isinstance(v, torch.Tensor) for v in r.values())
    torch.testing.assert_close(o.to_eps("v", r["v"], x_t, 0.3), eps)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        o.from_eps("noise", np.zeros(2), np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="objective"):
        o.eps_weights(make_schedule("cosine", 10), "l1")


@pytest.mark.parametrize("kind", o.PARAMETERISATIONS)
def test_error_factor_is_the_ratio_of_squared_errors(kind):
    ab = 0.37
    x0, eps, x_t = _sample(ab, seed=2)
    eps_hat = eps + 0.1 * np.random.default_rng(3).standard_normal(eps.shape)
    ratio = np.sum((o.from_eps(kind, eps, x_t, ab) - o.from_eps(kind, eps_hat, x_t, ab)) ** 2) / np.sum(
        (eps - eps_hat) ** 2)
    assert ratio == pytest.approx(float(o.error_factor(kind, ab)), rel=1e-10)


def test_weights_as_functions_of_snr(cosine):
    snr = cosine.snr
    np.testing.assert_allclose(o.eps_weights(cosine, "eps"), 1.0)
    np.testing.assert_allclose(o.eps_weights(cosine, "x0"), 1 / snr)
    np.testing.assert_allclose(o.eps_weights(cosine, "v"), 1 + 1 / snr)
    # The ELBO: Ho et al. Eq. 12 with sigma^2 = beta_tilde equals (SNR_{t-1}/SNR_t - 1)/2.
    w = o.eps_weights(cosine, "elbo")
    assert np.isnan(w[0])
    np.testing.assert_allclose(w[1:], 0.5 * (snr[:-1] / snr[1:] - 1), rtol=1e-8)
    # sigma^2 = beta is a smaller weight (beta >= beta_tilde): beta_tilde / beta times the other.
    ab = cosine.alpha_bars
    ratio = (1 - ab[:-1]) / (1 - ab[1:])
    np.testing.assert_allclose(o.elbo_eps_weights(cosine, "beta")[1:], w[1:] * ratio, rtol=1e-8)


def test_kingma_gao_weightings_for_the_cosine_schedule(cosine):
    """Their w(lambda): sech(lambda/2) for eps-MSE, exp(-lambda/2) for v-MSE, 1 for the ELBO (up to constants)."""
    lam = cosine.log_snr
    mid = slice(100, 900)
    for objective, expected in (("eps", 1 / np.cosh(lam / 2)), ("v", np.exp(-lam / 2)), ("elbo", np.ones_like(lam))):
        ratio = (o.kingma_gao_weighting(cosine, o.eps_weights(cosine, objective)) / expected)[mid]
        assert ratio.std() / ratio.mean() < 0.01, objective
    elbo = o.kingma_gao_weighting(cosine, o.eps_weights(cosine, "elbo"))[mid]
    np.testing.assert_allclose(elbo, 1.0, atol=0.02)


def test_normalised_shares_sum_to_one(cosine):
    for k in o.OBJECTIVES:
        assert np.nansum(o.normalised(o.eps_weights(cosine, k))) == pytest.approx(1.0)


def _toy_eps_fn(x_t, t, labels):
    # A fixed, t-dependent "network": enough to test the bookkeeping without the bundled model.
    return 0.5 * x_t + 1e-3 * t.view(-1, 1, 1, 1).float() + 0.01 * labels.view(-1, 1, 1, 1).float()


def test_training_step_is_algorithm_1(cosine):
    x0 = torch.rand(3, 1, 28, 28) * 2 - 1
    eps = torch.randn(3, 1, 28, 28)
    t = torch.tensor([0, 500, 999])
    out = o.training_step(_toy_eps_fn, cosine, x0, t, eps, torch.tensor([1, 2, 10]))
    ab = torch.as_tensor(cosine.alpha_bars[[0, 500, 999]], dtype=torch.float32).view(-1, 1, 1, 1)
    torch.testing.assert_close(out["x_t"], ab.sqrt() * x0 + (1 - ab).sqrt() * eps)
    expected = ((eps - _toy_eps_fn(out["x_t"], t, torch.tensor([1, 2, 10]))) ** 2).mean(dim=(1, 2, 3))
    torch.testing.assert_close(out["loss"], expected)


def test_loss_per_t_points_do_not_depend_on_each_other(cosine):
    x0 = np.random.default_rng(0).uniform(-1, 1, (7, 28, 28)).astype(np.float32)
    labels = np.arange(7) % 10
    full = o.loss_per_t(_toy_eps_fn, cosine, x0, labels, [0, 250, 500, 999], seed=3, batch=3)
    part = o.loss_per_t(_toy_eps_fn, cosine, x0, labels, [500], seed=3)
    assert part["eps_mse"][0] == pytest.approx(full["eps_mse"][2], rel=1e-6)
    other_seed = o.loss_per_t(_toy_eps_fn, cosine, x0, labels, [500], seed=4)
    assert other_seed["eps_mse"][0] != pytest.approx(full["eps_mse"][2], rel=1e-6)
    assert np.all(full["eps_mse_sem"] > 0)


def test_wrong_time_judges_against_the_true_targets(cosine):
    x0 = torch.rand(1, 1, 28, 28) * 2 - 1
    eps = torch.randn(1, 1, 28, 28)
    x_t = torch.as_tensor(math.sqrt(cosine.alpha_bars[300])) * x0 + math.sqrt(1 - cosine.alpha_bars[300]) * eps
    out = o.loss_vs_wrong_time(_toy_eps_fn, cosine, x_t, eps, x0, [100, 300, 700], label=3)
    assert out["eps_hat"].shape == (3, 28, 28) and out["eps_mse"].shape == (3,)
    ab = cosine.alpha_bars[700]
    eps_hat = _toy_eps_fn(x_t, torch.tensor([700]), torch.tensor([3]))
    x0_hat = (x_t - math.sqrt(1 - ab) * eps_hat) / math.sqrt(ab)
    assert out["x0_mse"][2] == pytest.approx(float(((x0_hat - x0) ** 2).mean()), rel=1e-5)


# ------------------------------------------------------------------ the loss curve in the model card

def test_the_cards_loss_curve_is_reproduced_by_its_code():
    """Three points of the card's curve, recomputed with the bundled model and digits, match the card."""
    from explainer.models.denoiser import eps_fn
    from explainer.models.bundled_digits import load_bundle
    from explainer.models.pretrained import load_pretrained

    pre = load_pretrained("mnist", device="cpu")
    curve = pre.card.get("loss_curve")
    assert curve, "assets/models/mnist.json has no loss_curve: run python -m explainer.evaluate --only loss"
    d = load_bundle()
    x, y = d.evaluation, d.evaluation_labels
    assert curve["digits"] == len(x)
    picks = [0, len(curve["t"]) // 2, len(curve["t"]) - 1]
    ts = [curve["t"][i] for i in picks]
    got = o.loss_per_t(eps_fn(pre), pre.schedule, x, y, ts, seed=curve["seed"])
    np.testing.assert_allclose(got["eps_mse"], [curve["eps_mse"]["class"][i] for i in picks], rtol=2e-4)
    none = o.loss_per_t(eps_fn(pre), pre.schedule, x, np.full_like(y, pre.model.null_label), ts[1:2],
                        seed=curve["seed"])
    assert none["eps_mse"][0] == pytest.approx(curve["eps_mse"]["none"][picks[1]], rel=2e-4)


def test_the_cards_command_is_reproducible_at_small_size(tmp_path):
    """The card's command, with fewer points and digits, run twice on a copy: the same numbers both times."""
    from explainer import evaluate

    models = ROOT / "assets" / "models"
    for f in ("mnist.json", "mnist.safetensors"):
        shutil.copy(models / f, tmp_path / f)
    command = json.loads((models / "mnist.json").read_text())["loss_curve"]["command"].split()
    assert command[:3] == ["python", "-m", "explainer.evaluate"] and "loss" in command
    args = command[3:] + ["--dir", str(tmp_path), "--loss-points", "3", "--loss-per-class", "2"]
    runs = []
    for _ in range(2):
        evaluate.main(args)
        runs.append(json.loads((tmp_path / "mnist.json").read_text())["loss_curve"])
    assert runs[0]["eps_mse"] == runs[1]["eps_mse"] and runs[0]["t"] == [0, 500, 999]
    assert runs[0]["digits"] == 20 and "--loss-per-class 2" in runs[0]["command"]
    assert runs[0]["eps_mse"]["class"][0] > runs[0]["eps_mse"]["class"][2]
