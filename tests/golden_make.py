"""Golden records of what the app and the command-line tools produce, for a refactoring that must change nothing.

    python tests/golden_make.py            # rewrite tests/golden/pages.json and tests/golden/cli.json
    python tests/golden_make.py forward_default reverse_ddim   # only these cases (merged into the files)

tests/test_golden.py compares a fresh record of every case with the stored one. A page record lists every
element the page shows, in order: texts verbatim (markdown, captions, LaTeX, metrics, alerts, widget values),
and a sha256 for what is heavy: each scrubber's frame set (the bytes `app.scrubber` sends to the browser
component), each Plotly figure (its JSON parsed, floats rounded to 6 significant digits, dumped with sorted
keys), each picture (its URL or data URI) and each table (as CSV). A CLI record holds the sha256 of the arrays
or bytes a command writes with a fixed seed.

Only values that depend on the wall clock are masked: timing metrics, and "1.40 s" or "12 ms" in any text.
Regenerate the files only when a change of behaviour is intended, and say so in the commit.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden"
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from conftest import button, open_page  # noqa: E402  (tests/ on the path first)

# name -> (page file (None = home), URL query, buttons pressed in order after opening)
PAGE_CASES: dict[str, tuple[str | None, dict, tuple[str, ...]]] = {
    "home_default": (None, {}, ()),
    "home_seed3": (None, {"seed": "3"}, ()),
    "forward_default": ("app_pages/forward.py", {}, ()),
    "forward_cosine_T50_all": ("app_pages/forward.py", {
        "fw_schedule": "cosine", "fw_T": "50", "fw_seed": "7", "fw_t": "30", "fw_sample": "Cat (photo)",
        "fw_show_cmp": "true", "fw_cmp_a": "sigmoid", "fw_cmp_b": "scaled_linear", "fw_show_res": "true",
        "fw_show_spec": "true", "fw_chain_x0": "-0.3", "fw_chain_t": "49", "fw_play": "true"}, ()),
    "schedules_default": ("app_pages/schedules.py", {}, ()),
    "schedules_T10_custom": ("app_pages/schedules.py", {
        "sc_T": "10", "sc_x": "t/T", "sc_show": "linear,cosine,sigmoid", "sc_show_t": "true",
        "sc_custom": "linear_log_snr", "sc_cosine_s": "0.02"}, ()),
    "learning_default": ("app_pages/learning.py", {}, ()),
    "learning_digit7_all": ("app_pages/learning.py", {
        "ln_digit": "7", "ln_class": "none", "ln_space": "x0", "ln_axis": "log_snr", "ln_weigh": "times_loss",
        "ln_show_wrong": "true", "ln_true_t": "700", "ln_mix": "three Gaussians", "ln_T": "50", "ln_var": "beta",
        "ln_bt": "7", "ln_xt": "-0.4", "ln_x0": "0.9"}, ()),
    "score_default": ("app_pages/score.py", {}, ()),
    "score_moons_all": ("app_pages/score.py", {
        "sf_dataset": "moons", "sf_n": "500", "sf_seed": "4", "sf_view": "both", "sf_px": "0.5", "sf_py": "0.2",
        "sf_sampler": "sde", "sf_psource": "exact", "sf_levels": "20", "sf_show_guid": "true", "sf_gscale": "5.0",
        "sf_gt": "100"}, ("Run the particles",)),
    "reverse_open": ("app_pages/reverse.py", {}, ()),
    "reverse_ddim": ("app_pages/reverse.py", {"rv_n": "4", "rv_steps": "10", "rv_sampler": "ddim", "rv_class": "3",
                                              "rv_eta": "0.5", "rv_guidance": "2.0", "seed": "5", "rv_digit": "2",
                                              "rv_step": "4", "rv_show_spec": "true"}, ("Generate",)),
    "reverse_ddpm_sdedit": ("app_pages/reverse.py", {"rv_n": "4", "rv_steps": "10", "rv_sampler": "ddpm",
                                                     "rv_sd_t0": "400", "rv_sd_class": "2"}, ("Generate", "Denoise it")),
    "reverse_dpm": ("app_pages/reverse.py", {"rv_n": "8", "rv_steps": "10", "rv_sampler": "dpm++2m",
                                             "rv_class": "none", "rv_step": "9"}, ("Generate",)),
    "reading_default": ("app_pages/reading.py", {}, ()),
    "reading_papers": ("app_pages/reading.py", {"reading_kind": "paper"}, ()),
}

# Metrics whose values are wall-clock times.
TIMED_METRICS = {"Total time", "Per step"}
TIMES = re.compile(r"\d+(\.\d+)?\s*(ms|s)\b")


def sha(data) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()[:20]


def _round(x):
    if isinstance(x, float):
        return float(f"{x:.6g}")
    if isinstance(x, list):
        return [_round(v) for v in x]
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    return x


def figure_digest(spec: str) -> str:
    """A Plotly figure's JSON, floats rounded to 6 significant digits, keys sorted: stable across runs."""
    return sha(json.dumps(_round(json.loads(spec)), sort_keys=True, ensure_ascii=False))


def _walk(node, out: list):
    for child in getattr(node, "children", {}).values():
        out.append(child)
        _walk(child, out)


TEXTS = {"markdown", "caption", "latex", "title", "header", "subheader", "code", "text", "exception"}
ALERTS = {"info", "warning", "error", "success", "toast"}


def element_record(el) -> list | None:
    t = el.type
    if t in TEXTS or t in ALERTS:
        return [t, TIMES.sub("<time>", el.value)]
    if t == "metric":
        label = el.label
        value = "<time>" if label in TIMED_METRICS else el.value
        return [t, label, value, el.delta]
    if t == "plotly_chart":
        return [t, figure_digest(el.proto.spec)]
    if t == "bidi_component":
        return [t, el.proto.id.rsplit("-", 1)[-1], sha(el.proto.bytes)]
    if t == "image":  # a media URL names its file by a digest of the bytes; a data URI is the bytes
        return [t, [[sha(im.url), TIMES.sub("<time>", im.caption)] for im in el.proto.imgs]]
    if t == "page_link":
        return [t, el.proto.label, el.proto.page]
    if t in ("arrow_data_frame", "table", "dataframe"):
        return [t, sha(el.value.to_csv())]
    if t in ("button", "download_button"):
        return [t, el.label]
    if hasattr(el, "value") and hasattr(el, "label"):  # widgets: what the URL set them to
        try:
            return [t, el.label, repr(el.value)]
        except Exception:  # noqa: BLE001 - a widget without a readable value
            return [t, el.label]
    return None


def page_record(name: str) -> list:
    page, query, presses = PAGE_CASES[name]
    at = open_page(page, query)
    for label in presses:
        button(at, label).click().run()
        assert not at.exception, [e.value for e in at.exception]
    els: list = []
    _walk(at._tree, els)
    rec = [r for r in (element_record(e) for e in els) if r is not None]
    assert not any(r[0] == "error" and "Sorry, this page hit a problem" in r[1] for r in rec), rec
    return rec


# ------------------------------------------------------------------ command-line tools

def _arrays_digest(arrays: dict) -> dict:
    import numpy as np

    return {k: sha(np.ascontiguousarray(v).tobytes() + str(v.dtype).encode() + str(v.shape).encode())
            for k, v in sorted(arrays.items())}


def cli_sample_subprocess() -> dict:
    """`python -m explainer.sample` as a user runs it: the arrays of its .npz."""
    import subprocess

    import numpy as np

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "digits.npz"
        r = subprocess.run([sys.executable, "-m", "explainer.sample", "--n", "6", "--label", "all", "--steps", "5",
                            "--seed", "11", "--device", "cpu", "--out", str(out)], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        with np.load(out) as z:
            return _arrays_digest(dict(z))


def cli_sample_inprocess() -> dict:
    """explainer.sample.main with each sampler and each output kind."""
    from explainer import sample

    out = {}
    runs = {"ddpm_png": (["--sampler", "ddpm", "--steps", "6", "--label", "none", "--n", "3"], ".png"),
            "ddim_eta_gif": (["--sampler", "ddim", "--steps", "4", "--eta", "0.7", "--guidance", "1.5", "--n", "2"],
                             ".gif"),
            "dpm_png": (["--sampler", "dpm++2m", "--steps", "7", "--label", "8", "--n", "3"], ".png")}
    with tempfile.TemporaryDirectory() as d:
        for name, (args, ext) in runs.items():
            path = Path(d) / f"{name}{ext}"
            assert sample.main([*args, "--seed", "2", "--device", "cpu", "--out", str(path)]) == 0
            out[name] = sha(path.read_bytes())
    return out


def cli_train() -> dict:
    """explainer.train: a toy model (50 steps) and a tiny MNIST net on made-up digits: the weights."""
    import contextlib

    import numpy as np
    import torch
    from safetensors.torch import load_file

    from explainer import train
    from explainer.models import mnist

    out = {}
    with tempfile.TemporaryDirectory() as d, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        train.main(["toy2d", "--dataset", "moons", "--steps", "50", "--export-dir", d])
        w = load_file(str(Path(d) / "toy2d_moons.safetensors"))
        out["toy2d_moons_weights"] = _arrays_digest({k: v.numpy() for k, v in w.items()})
        card = json.loads((Path(d) / "toy2d_moons.json").read_text())
        out["toy2d_moons_errors"] = _round(card["quality"]["score_relative_error"])

        rng = np.random.default_rng(0)
        images = (rng.random((64, 28, 28)) * 2 - 1).astype(np.float32)
        labels = np.arange(64, dtype=np.int64) % 10
        saved = mnist.load_digits
        mnist.load_digits = lambda split="train", seed=0: (images, labels)
        try:
            train.main(["mnist", "--steps", "3", "--channels", "8", "--batch-size", "8", "--device", "cpu",
                        "--run-dir", str(Path(d) / "run"), "--export-dir", str(Path(d) / "m")])
        finally:
            mnist.load_digits = saved
        w = load_file(str(Path(d) / "m" / "mnist.safetensors"))
        out["mnist_tiny_weights"] = _arrays_digest({k: v.numpy() for k, v in w.items()})
        torch.set_num_threads(torch.get_num_threads())
    return out


CLI_CASES = {"sample_subprocess": cli_sample_subprocess, "sample_inprocess": cli_sample_inprocess,
             "train": cli_train}


def _update(path: Path, records: dict):
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update(records)
    path.write_text(json.dumps(old, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    GOLDEN.mkdir(exist_ok=True)
    wanted = set(argv) or set(PAGE_CASES) | set(CLI_CASES)
    unknown = wanted - set(PAGE_CASES) - set(CLI_CASES)
    if unknown:
        print(f"unknown cases: {sorted(unknown)}", file=sys.stderr)
        return 2
    pages = {n: page_record(n) for n in PAGE_CASES if n in wanted}
    cli = {n: fn() for n, fn in CLI_CASES.items() if n in wanted}
    if pages:
        _update(GOLDEN / "pages.json", pages)
    if cli:
        _update(GOLDEN / "cli.json", cli)
    print(f"wrote {len(pages)} page and {len(cli)} CLI records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
