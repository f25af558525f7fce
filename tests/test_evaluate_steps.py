"""`python -m explainer.evaluate --only steps`: quality against network calls, at a tiny size."""
import json
import shutil

import numpy as np
import plotly.graph_objects as go
import pytest

from explainer import evaluate as ev
from explainer.lessons import sampling_figures
from explainer.models.mnist import classify, load_digits, train_classifier
from explainer.models.pretrained import MODELS_DIR, load_pretrained


@pytest.fixture(scope="module")
def quick_judge():
    """A classifier trained for one epoch: enough to tell digits apart, fast enough for a test."""
    train_x, train_y = load_digits("train")
    held_x, held_y = load_digits("heldout")
    clf = train_classifier(train_x, train_y, epochs=1)
    return clf, float((classify(clf, held_x) == held_y).mean()), train_x, train_y, held_x, held_y


@pytest.fixture
def model_dir(tmp_path, monkeypatch, quick_judge):
    for name in ("mnist.json", "mnist.safetensors"):
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    monkeypatch.setattr(ev, "judge", lambda seed=0: quick_judge)
    return tmp_path


def test_fewest_matching_steps():
    ref = {"accuracy": 0.99, "diversity_vs_real": 1.0}
    rows = [{"sampler": "a", "steps": 5, "accuracy": 0.97, "diversity_vs_real": 1.0},
            {"sampler": "a", "steps": 10, "accuracy": 0.985, "diversity_vs_real": 0.99},
            {"sampler": "a", "steps": 20, "accuracy": 1.0, "diversity_vs_real": 1.0},
            {"sampler": "b", "steps": 10, "accuracy": 1.0, "diversity_vs_real": 0.9},
            {"sampler": "b", "steps": 50, "accuracy": 1.0, "diversity_vs_real": 0.985}]
    assert ev.fewest_matching_steps(rows, ref) == {"a": 10, "b": 50}


def test_mean_class_diversity():
    x = np.zeros((4, 2, 2))
    x[1] = 1.0  # class 0: two images 2 apart (L2 over 4 pixels); class 1: identical
    assert ev.mean_class_diversity(x, np.array([0, 0, 1, 1])) == pytest.approx(1.0)


def _within_class_diversity(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean pairwise L2 distance within each class, averaged over the classes (written out here)."""
    per_class = []
    for c in np.unique(labels):
        v = x[labels == c].reshape(int(np.sum(labels == c)), -1).astype(np.float64)
        d = np.sqrt(((v[:, None] - v[None]) ** 2).sum(-1))
        per_class.append(d[np.triu_indices(len(v), 1)].mean())
    return float(np.mean(per_class))


def test_steps_section_through_the_command(model_dir, monkeypatch, capsys, quick_judge):
    monkeypatch.setattr(ev, "STEP_COUNTS", (3, 50))
    before = json.loads((model_dir / "mnist.json").read_text())
    ev.main(["--only", "steps", "--n-per-class", "2", "--dir", str(model_dir), "--device", "cpu"])
    table = capsys.readouterr().out
    card = json.loads((model_dir / "mnist.json").read_text())
    result = card["quality_vs_steps"]
    others = lambda c: {k: dict(v, why=None) if k == "recommended" else v  # noqa: E731
                        for k, v in c.items() if k != "quality_vs_steps"}
    assert others(card) == others(before)  # nothing else touched but the recommendation's "why" (test_card_claims)
    rows = result["rows"]
    assert [(r["sampler"], r["steps"]) for r in rows] == [(s, k) for s in ("ddim", "ddpm", "dpm++2m") for k in (3, 50)]
    for r in rows:
        assert r["network_passes_per_digit"] == 2 * r["steps"]  # guided: conditional + unconditional
        assert 0 <= r["accuracy"] <= 1 and r["diversity_vs_real"] > 0 and r["nearest_training_l2_median"] > 0
    assert result["settings"]["guidance"] == 3.0 and result["settings"]["generated_per_class"] == 2
    # Each row's numbers are those of digits drawn with its own sampler: draw the 3-step ones again here.
    pre = load_pretrained("mnist", "cpu", directory=model_dir)
    labels = np.repeat(np.arange(10), 2)
    held_x, held_y = quick_judge[4], quick_judge[5]
    for r in (r for r in rows if r["steps"] == 3):
        gen = ev.sample_many(pre, labels, 0, sampler=r["sampler"], steps=3, eta=0.0, guidance=3.0,
                             spacing=pre.card["recommended"]["spacing"], clip_x0=pre.card["recommended"]["clip_x0"])
        want = _within_class_diversity(gen, labels) / _within_class_diversity(held_x, held_y)
        assert r["diversity_vs_real"] == pytest.approx(want, abs=2e-4), r["sampler"]
    assert len({r["diversity_vs_real"] for r in rows if r["steps"] == 3}) == 3  # three samplers, three results
    ddim50 = next(r for r in rows if r["sampler"] == "ddim" and r["steps"] == 50)
    assert result["fewest_steps_matching_ddim50"] == ev.fewest_matching_steps(rows, ddim50)
    assert result["fewest_steps_matching_ddim50"]["ddim"] <= 50
    assert result["command"] == "python -m explainer.evaluate --only steps --n-per-class 2 --seed 0"
    # The printed table: a header, a separator, one line per row and the real digits.
    lines = table.strip().splitlines()
    assert len(lines) == 2 + len(rows) + 1 and lines[2].startswith("| DDIM | 3 | 6 |")
    assert "| DPM-Solver++(2M) | 50 | 100 |" in table

    fig = sampling_figures.quality_vs_network_calls(result)
    assert isinstance(fig, go.Figure)
    lines_dpm = [tr for tr in fig.data if tr.legendgroup == "dpm++2m"]
    assert len(lines_dpm) == 3 and list(lines_dpm[0].x) == [6, 100]
    assert list(lines_dpm[1].y) == [r["diversity_vs_real"] for r in rows if r["sampler"] == "dpm++2m"]
    assert sum(tr.showlegend is not False for tr in fig.data) == 3  # one legend entry per sampler
    assert fig.layout.xaxis.type == "log"
    fig.to_json()
