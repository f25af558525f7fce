"""`python -m explainer.train mnist --snapshots ...`: float16 EMA snapshots, reproducible and resumable."""
import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from explainer.models import pretrained
from explainer.models.training import main, parse_snapshots, train_mnist

TINY = dict(channels=16, blocks=2, batch_size=8, threads=1, checkpoint_every=2)
SNAPS = (0, 2, 5)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("step_*.safetensors"))}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("snap")
    out = train_mnist(steps=6, run_dir=d / "run", export_dir=d / "export", snapshots=SNAPS, **TINY)
    assert out["finished"]
    return d


def test_snapshots_are_written_listed_and_loadable(tiny_run):
    export = tiny_run / "export"
    card = json.loads((export / "mnist.json").read_text())
    snap = card["training"]["snapshots"]
    assert snap["steps"] == list(SNAPS) and snap["dtype"] == "float16" and snap["weights"] == "EMA"
    assert "--snapshots 0,2,5" in card["training"]["command"]
    files = sorted((export / pretrained.SNAPSHOT_DIR).glob("*.safetensors"))
    assert [f.name for f in files] == [f"step_{s:06d}.safetensors" for s in SNAPS]
    assert snap["bytes"] == sum(f.stat().st_size for f in files)
    assert all(v.dtype == torch.float16 for v in load_file(str(files[0])).values())
    assert pretrained.snapshot_steps(export) == list(SNAPS)
    pre = pretrained.load_snapshot(2, "cpu", export)
    assert pre.name == "mnist@2" and next(pre.model.parameters()).dtype == torch.float32
    x = torch.randn(2, 1, 28, 28)
    with torch.inference_mode():
        assert pre.model(x, torch.tensor([10, 900]), torch.tensor([3, 10])).shape == x.shape


def test_snapshots_differ_from_step_to_step_and_the_last_is_near_the_final_weights(tiny_run):
    export = tiny_run / "export"
    s0 = load_file(str(pretrained.snapshot_file(export / pretrained.SNAPSHOT_DIR, 0)))
    s5 = load_file(str(pretrained.snapshot_file(export / pretrained.SNAPSHOT_DIR, 5)))
    final = load_file(str(export / "mnist.safetensors"))
    assert any(not torch.equal(s0[k], s5[k]) for k in s0)
    # Step 5 is one update before the final step 6; float16 keeps the weights to about 3 digits.
    k = next(k for k in final if final[k].ndim == 4)
    assert torch.allclose(s5[k].float(), final[k], atol=0.05)


def test_a_resumed_run_writes_the_same_snapshots(tiny_run, tmp_path):
    """Stopped after every step (--max-minutes) and resumed: byte-identical snapshots."""
    run, export = tmp_path / "run", tmp_path / "export"
    out = train_mnist(steps=6, run_dir=run, export_dir=export, snapshots=SNAPS, max_minutes=1e-9, **TINY)
    assert not out["finished"]
    for _ in range(10):
        out = train_mnist(steps=6, run_dir=run, export_dir=export, snapshots=SNAPS, max_minutes=1e-9,
                          resume=True, **TINY)
        if out["finished"]:
            break
    assert out["finished"]
    assert _digests(export / pretrained.SNAPSHOT_DIR) == _digests(tiny_run / "export" / pretrained.SNAPSHOT_DIR)


def test_a_fresh_run_replaces_old_snapshots(tiny_run, tmp_path):
    export = tmp_path / "export"
    stale = pretrained.snapshot_file(export / pretrained.SNAPSHOT_DIR, 999)
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    train_mnist(steps=3, run_dir=tmp_path / "run", export_dir=export, snapshots=(1,), **TINY)
    assert [p.name for p in (export / pretrained.SNAPSHOT_DIR).iterdir()] == ["step_000001.safetensors"]


def test_parse_snapshots_and_the_command_line(tmp_path, capsys):
    assert parse_snapshots("3000, 0,250,1000,250", 8000) == (0, 250, 1000, 3000)
    assert parse_snapshots(None, 10) == ()
    with pytest.raises(ValueError, match="between 0 and"):
        parse_snapshots("0,9000", 8000)
    with pytest.raises(ValueError, match="commas"):
        parse_snapshots("0;250", 8000)
    with pytest.raises(SystemExit):
        main(["mnist", "--steps", "10", "--snapshots", "20", "--run-dir", str(tmp_path), "--export-dir", str(tmp_path)])
    assert "between 0 and" in capsys.readouterr().err


def test_no_snapshots_is_reported_not_raised(tmp_path):
    assert pretrained.snapshot_steps(tmp_path) == []
    with pytest.raises(pretrained.ModelError, match="model card"):
        pretrained.load_snapshot(0, "cpu", tmp_path)
