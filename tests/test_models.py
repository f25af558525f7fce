import json

import numpy as np
import pytest
import torch

from explainer.models import pretrained
from explainer.models.generate import generate, parse_labels, sdedit
from explainer.models.pretrained import ModelError, load_pretrained, pick_device, save_pretrained
from explainer.models.nets import TinyUNet, ToyMLP, count_params
from explainer.core.samplers import guided_eps_model
from explainer.core.schedules import make_schedule
from explainer.models.training import diffusion_loss, train_mnist, train_toy2d


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A small random TinyUNet saved like a bundled model (the tests need no trained weights)."""
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    net = TinyUNet(channels=16, blocks=2)
    # The zero-initialised layers get random weights, so the output depends on t and the label.
    with torch.no_grad():
        for name, p in net.named_parameters():
            if not p.any():
                p.normal_(0.0, 0.05)
    card = {"architecture": {"class": "TinyUNet", "config": net.config},
            "schedule": {"name": "cosine", "num_steps": 100, "params": {}},
            "recommended": {"sampler": "ddim", "steps": 10, "eta": 0.0, "guidance": 3.0,
                            "spacing": "trailing", "clip_x0": True}}
    save_pretrained(net, card, "mnist", d)
    return d


def test_unet_shapes_and_null_class():
    net = TinyUNet(channels=16)
    x = torch.randn(3, 1, 28, 28)
    t = torch.tensor([0, 50, 999])
    assert net(x, t, torch.tensor([0, 5, 10])).shape == x.shape
    assert net(x, t).shape == x.shape  # no labels = the null class
    assert net.null_label == 10 and count_params(net) > 0
    assert ToyMLP()(torch.randn(5, 2), torch.arange(5)).shape == (5, 2)


def test_load_roundtrip_and_device(tiny_dir):
    pre = load_pretrained("mnist", device="cpu", directory=tiny_dir)
    assert pre.device.type == "cpu" and pre.schedule.num_steps == 100
    assert not pre.model.training
    assert all(not p.requires_grad for p in pre.model.parameters())
    assert load_pretrained("mnist", directory=tiny_dir).device == pick_device(None)


@pytest.mark.parametrize("cuda,mps,auto,listed", [
    (True, True, "cuda", ["mps", "cuda", "cpu"]),
    (True, False, "cuda", ["cuda", "cpu"]),
    (False, True, "mps", ["mps", "cpu"]),
    (False, False, "cpu", ["cpu"]),
])
def test_device_pick_order(monkeypatch, cuda, mps, auto, listed):
    """None and 'auto' pick CUDA, then Apple MPS, then the CPU; an explicit device is honoured or refused."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert pick_device(None).type == auto and pick_device("auto").type == auto
    assert pretrained.available_devices() == listed
    assert pick_device("cpu").type == "cpu" and pick_device(torch.device("cpu")).type == "cpu"
    for name, present, message in (("cuda", cuda, "CUDA"), ("mps", mps, "MPS")):
        if present:
            assert pick_device(name).type == name
        else:
            with pytest.raises(ModelError, match=message):
                pick_device(name)


def test_missing_and_corrupt_weights_name_file_and_fix(tiny_dir, tmp_path):
    with pytest.raises(ModelError, match=r"mnist\.json.*python -m explainer\.train mnist"):
        load_pretrained("mnist", directory=tmp_path)
    (tmp_path / "mnist.json").write_text((tiny_dir / "mnist.json").read_text())
    with pytest.raises(ModelError, match=r"mnist\.safetensors is missing.*explainer\.train mnist"):
        load_pretrained("mnist", directory=tmp_path)
    (tmp_path / "mnist.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelError, match="corrupt"):
        load_pretrained("mnist", directory=tmp_path)
    (tmp_path / "mnist.json").write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        load_pretrained("mnist", directory=tmp_path)
    # Weights that do not fit the card's architecture.
    card = json.loads((tiny_dir / "mnist.json").read_text())
    card["architecture"]["config"]["channels"] = 24
    (tmp_path / "mnist.json").write_text(json.dumps(card))
    (tmp_path / "mnist.safetensors").write_bytes((tiny_dir / "mnist.safetensors").read_bytes())
    with pytest.raises(ModelError, match="do not match"):
        load_pretrained("mnist", directory=tmp_path)


def test_sampling_shapes_and_determinism(tiny_dir):
    pre = load_pretrained("mnist", device="cpu", directory=tiny_dir)
    labels = parse_labels("all", 12)
    assert labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    a = generate(pre, labels, steps=5, seed=3, keep_trajectory=True)
    assert a.images.shape == (12, 28, 28) and a.x_t.shape == a.eps_hat.shape == a.x0_hat.shape == (5, 12, 28, 28)
    assert a.images.min() >= -1 and a.images.max() <= 1
    b = generate(pre, labels, steps=5, seed=3)
    c = generate(pre, labels, steps=5, seed=4)
    assert np.array_equal(a.images, b.images) and not np.array_equal(a.images, c.images)
    d1 = generate(pre, labels[:2], sampler="ddpm", steps=7, seed=1)
    d2 = generate(pre, labels[:2], sampler="ddpm", steps=7, seed=1)
    assert np.array_equal(d1.images, d2.images) and len(d1.timesteps) == 7


def test_guidance_one_equals_conditional(tiny_dir):
    pre = load_pretrained("mnist", device="cpu", directory=tiny_dir)
    labels = parse_labels(7, 3)
    guided = generate(pre, labels, steps=6, guidance=1.0, seed=0)

    # Plain conditional sampling: the eps-model called with the labels alone, no guidance wrapper.
    from explainer.core.samplers import make_timesteps, sample
    from explainer.models.generate import starting_noise

    cond = sample(lambda x, t: pre.model(x, t, torch.as_tensor(labels)), pre.schedule, starting_noise(3, 0),
                  make_timesteps(100, 6, "trailing"), sampler="ddim", clip_x0=True,
                  generator=torch.Generator().manual_seed(1))
    np.testing.assert_allclose(guided.images, cond[:, 0].clamp(-1, 1).numpy(), atol=1e-6)
    # And guidance > 1 does change the result.
    assert not np.allclose(generate(pre, labels, steps=6, guidance=4.0, seed=0).images, guided.images)
    # Guidance is the documented combination of the two passes.
    x, t = torch.randn(3, 1, 28, 28), torch.full((3,), 40)
    lab = torch.as_tensor(labels)
    e_c, e_u = pre.model(x, t, lab), pre.model(x, t, torch.full_like(lab, 10))
    torch.testing.assert_close(guided_eps_model(pre.model, lab, 10, 2.5)(x, t), e_u + 2.5 * (e_c - e_u),
                               rtol=1e-5, atol=1e-5)


def test_parse_labels_errors():
    assert (parse_labels("none", 4) == 10).all()
    assert (parse_labels(None, 2) == 10).all()
    with pytest.raises(ValueError):
        parse_labels("12", 2)
    with pytest.raises(ValueError):
        parse_labels("seven", 2)


def test_sdedit_starts_at_t0(tiny_dir):
    pre = load_pretrained("mnist", device="cpu", directory=tiny_dir)
    x_t0, res = sdedit(pre, np.zeros((28, 28), np.float32), t0=30, label=3, n=2, steps=50)
    assert x_t0.shape == (2, 28, 28) and res.images.shape == (2, 28, 28)
    assert res.timesteps[0] == 30 and len(res.timesteps) == 31  # steps capped at t0 + 1


def _weights(directory):
    from safetensors.torch import load_file

    return load_file(str(directory / "mnist.safetensors"))


def test_resume_continues_where_the_checkpoint_stopped(tmp_path, small_digits, monkeypatch):
    """A run stopped at step 6 and resumed to 10 does 4 more steps and ends exactly where a 10-step run
    ends: weights, EMA, optimiser and random state all come back from the checkpoint."""
    from explainer.models import training as train

    kw = dict(device="cpu", channels=8, batch_size=8, checkpoint_every=1000)
    train_mnist(steps=10, run_dir=tmp_path / "full", export_dir=tmp_path / "full_out", **kw)

    out1 = train_mnist(steps=6, run_dir=tmp_path / "run", export_dir=tmp_path / "out", **kw)
    assert out1 == {"step": 6, "finished": True, "path": str(tmp_path / "out" / "mnist.safetensors")}
    hist6 = json.loads((tmp_path / "out" / "mnist.json").read_text())["training"]["loss_history"]
    assert [h[0] for h in hist6] == [6]

    steps_done = []
    real_loss = train.diffusion_loss
    monkeypatch.setattr(train, "diffusion_loss", lambda *a, **k: steps_done.append(1) or real_loss(*a, **k))
    out2 = train_mnist(steps=10, resume=True, run_dir=tmp_path / "run", export_dir=tmp_path / "out", **kw)
    assert out2["step"] == 10 and out2["finished"]
    assert len(steps_done) == 4  # continued from step 6, not started again
    card = json.loads((tmp_path / "out" / "mnist.json").read_text())
    assert card["training"]["steps"] == 10
    assert card["training"]["loss_history"][:1] == hist6 and card["training"]["loss_history"][-1][0] == 10
    full, resumed = _weights(tmp_path / "full_out"), _weights(tmp_path / "out")
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[k], resumed[k]) for k in full), "the resumed run differs from the uninterrupted one"

    # A checkpoint of other settings is refused with a sentence, not silently mixed in.
    with pytest.raises(SystemExit, match="was trained with"):
        train_mnist(steps=12, resume=True, run_dir=tmp_path / "run", export_dir=tmp_path / "out",
                    **{**kw, "channels": 16})


def test_tiny_mnist_export_loads(tmp_path, small_digits):
    train_mnist(steps=3, device="cpu", run_dir=tmp_path / "run", export_dir=tmp_path / "out", channels=8,
                batch_size=8)
    pre = load_pretrained("mnist", directory=tmp_path / "out")
    assert pre.card["architecture"]["config"]["channels"] == 8
    assert pre.card["training"]["steps"] == 3 and pre.card["prediction"] == "eps"


def test_diffusion_loss_is_ddpm_eq_14():
    """L_simple = E_{t, x0, eps} ||eps - eps_theta(sqrt(ab_t) x0 + sqrt(1 - ab_t) eps, t)||^2 (Ho et al. 2020,
    Eq. 14), averaged over every coordinate, with t uniform on 0..T-1: checked with models whose loss is
    known exactly."""
    sched = make_schedule("cosine", 1000)
    x0 = torch.rand(256, 1, 4, 4, generator=torch.Generator().manual_seed(1)) * 2 - 1
    ab = torch.as_tensor(sched.alpha_bars)

    # The draws diffusion_loss makes from its generator: t, then eps.
    rep = torch.Generator().manual_seed(7)
    t_want = torch.randint(0, 1000, (256,), generator=rep)
    eps = torch.randn(x0.shape, generator=rep)
    seen = {}

    def perfect(x_t, t, labels=None):
        """Knows x0, so it can solve Eq. 4 for the noise: the ideal eps-prediction."""
        seen.update(t=t, labels=labels)
        a = ab[t].view(-1, 1, 1, 1)
        return ((x_t.double() - a.sqrt() * x0.double()) / (1 - a).sqrt()).float()

    labels = torch.arange(256) % 10
    loss = diffusion_loss(perfect, sched, x0, torch.Generator().manual_seed(7), labels=labels)
    assert loss.item() == pytest.approx(0.0, abs=1e-10)
    assert torch.equal(seen["t"], t_want) and torch.equal(seen["labels"], labels)
    assert seen["t"].min() < 50 and seen["t"].max() > 950  # uniform over all T levels

    zero = diffusion_loss(lambda x_t, t: torch.zeros_like(x_t), sched, x0, torch.Generator().manual_seed(7))
    assert zero.item() == pytest.approx((eps ** 2).mean().item(), rel=1e-6)
    # Predicting the clean image instead of the noise (a wrong target) costs exactly ||eps - x0||^2.
    x0_model = diffusion_loss(lambda x_t, t: x0, sched, x0, torch.Generator().manual_seed(7))
    assert x0_model.item() == pytest.approx(((eps - x0) ** 2).mean().item(), rel=1e-6)
    # Returning x_t itself: the loss is E||eps - x_t||^2 with x_t from Eq. 4 at the drawn t.
    a = ab[t_want].view(-1, 1, 1, 1)
    x_t = (a.sqrt() * x0.double() + (1 - a).sqrt() * eps.double())
    ident = diffusion_loss(lambda x_t, t: x_t, sched, x0, torch.Generator().manual_seed(7))
    assert ident.item() == pytest.approx(((eps.double() - x_t) ** 2).mean().item(), rel=1e-5)


def test_toy_training_lowers_loss():
    losses = []
    model, schedule, hist = train_toy2d("moons", steps=300, callback=lambda s, l: losses.append(l))
    assert len(losses) == len(hist) == 12
    assert np.mean([h[1] for h in hist[-3:]]) < hist[0][1]


def test_bundled_models_load():
    for name in ["mnist"] + [f"toy2d_{d}" for d in pretrained.TOY_MODELS]:
        pre = load_pretrained(name, device="cpu")
        assert (pretrained.MODELS_DIR / f"{name}.safetensors").stat().st_size < 20 * 2**20
        assert pre.card["architecture"]["parameters"] == count_params(pre.model)
