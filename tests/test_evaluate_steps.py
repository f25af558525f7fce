"""`python -m explainer.evaluate --only steps`: quality against network calls, at a tiny size."""
import json
import shutil

import numpy as np
import plotly.graph_objects as go
import pytest

from explainer import evaluate as ev
from explainer.lessons import figures
from explainer.models.mnist import classify, load_digits, train_classifier
from explainer.models.pretrained import MODELS_DIR


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


def test_steps_section_through_the_command(model_dir, monkeypatch, capsys):
    monkeypatch.setattr(ev, "STEP_COUNTS", (3, 50))
    before = json.loads((model_dir / "mnist.json").read_text())
    ev.main(["--only", "steps", "--n-per-class", "2", "--dir", str(model_dir), "--device", "cpu"])
    table = capsys.readouterr().out
    card = json.loads((model_dir / "mnist.json").read_text())
    result = card["quality_vs_steps"]
    others = lambda c: {k: v for k, v in c.items() if k != "quality_vs_steps"}  # noqa: E731
    assert others(card) == others(before)  # nothing else touched
    rows = result["rows"]
    assert [(r["sampler"], r["steps"]) for r in rows] == [(s, k) for s in ("ddim", "ddpm", "dpm++2m") for k in (3, 50)]
    for r in rows:
        assert r["network_passes_per_digit"] == 2 * r["steps"]  # guided: conditional + unconditional
        assert 0 <= r["accuracy"] <= 1 and r["diversity_vs_real"] > 0 and r["nearest_training_l2_median"] > 0
    assert result["settings"]["guidance"] == 3.0 and result["settings"]["generated_per_class"] == 2
    ddim50 = next(r for r in rows if r["sampler"] == "ddim" and r["steps"] == 50)
    assert result["fewest_steps_matching_ddim50"] == ev.fewest_matching_steps(rows, ddim50)
    assert result["fewest_steps_matching_ddim50"]["ddim"] <= 50
    assert result["command"] == "python -m explainer.evaluate --only steps --n-per-class 2 --seed 0"
    # The printed table: a header, a separator, one line per row and the real digits.
    lines = table.strip().splitlines()
    assert len(lines) == 2 + len(rows) + 1 and lines[2].startswith("| DDIM | 3 | 6 |")
    assert "| DPM-Solver++(2M) | 50 | 100 |" in table

    fig = figures.quality_vs_network_calls(result)
    assert isinstance(fig, go.Figure)
    lines_dpm = [tr for tr in fig.data if tr.legendgroup == "dpm++2m"]
    assert len(lines_dpm) == 3 and list(lines_dpm[0].x) == [6, 100]
    assert list(lines_dpm[1].y) == [r["diversity_vs_real"] for r in rows if r["sampler"] == "dpm++2m"]
    assert sum(tr.showlegend is not False for tr in fig.data) == 3  # one legend entry per sampler
    assert fig.layout.xaxis.type == "log"
    fig.to_json()
