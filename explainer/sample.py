"""Sample digits from the bundled model on the command line.

    python -m explainer.sample --model mnist --n 16 --label all --out digits.png

FILE may end in .npz (arrays `images` uint8 (N, 28, 28), white ink on black
as in MNIST, and `labels` int64 with -1 for unconditional), .png (a grid) or
.gif (the denoising animation of the whole batch). Unset options take the
model card's recommended settings; the same seed gives the same output on the
same device. Exit status: 0 on success, 2 for a bad option (with the usage line),
1 when the run fails (missing weights, an unavailable device, an unwritable
output file), always with a one-line message on stderr and no traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .lessons import image_arrays, image_encoding
from .models.generate import default_steps, generate, parse_labels
from .models.pretrained import ModelError, load_pretrained
from .core.samplers import SAMPLERS


def digits_uint8(batch: np.ndarray) -> np.ndarray:
    """Digits (N, H, W) in [-1, 1] -> uint8 (N, H, W), white ink (255) on black (0) as in MNIST."""
    return np.stack([image_arrays.to_uint8(x) for x in batch]).astype(np.uint8, copy=False)


def write_output(path: Path, res, labels: np.ndarray, null_label: int) -> None:
    """The result as .npz arrays, a .png grid or a .gif of the denoising (the suffix decides)."""
    ext = path.suffix.lower()
    if ext == ".npz":
        with open(path, "wb") as f:  # a file object: np.savez would otherwise append .npz to odd names
            np.savez_compressed(f, images=digits_uint8(res.images),
                                labels=np.where(labels == null_label, -1, labels).astype(np.int64))
    elif ext == ".png":
        path.write_bytes(image_encoding.encode_png(image_arrays.digit_grid(res.images)))
    else:
        frames = [image_arrays.digit_grid(x0) for x0 in res.x_t]
        frames.append(image_arrays.digit_grid(res.images))
        path.write_bytes(image_encoding.write_gif(frames, duration_ms=60, upscale=3))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m explainer.sample", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="mnist", choices=["mnist"])
    p.add_argument("--n", type=int, default=16, help="number of digits (1-1024)")
    p.add_argument("--label", default="all", help="0-9, 'all' (cycles 0..9) or 'none' (unconditional)")
    p.add_argument("--sampler", choices=SAMPLERS, default=None,
                   help="ddim, ddpm or dpm++2m (DPM-Solver++(2M), Lu et al. 2022)")
    p.add_argument("--steps", type=int, default=None,
                   help="number of reverse steps (1-T; default: T for ddpm, else the model card's)")
    p.add_argument("--eta", type=float, default=None, help="DDIM noise: 0 deterministic, 1 like DDPM")
    p.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale s (1 = none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda", "mps"],
                   help="default: the best available (CUDA, then MPS, then CPU)")
    p.add_argument("--out", type=Path, required=True, help="output .npz, .png or .gif")
    a = p.parse_args(argv)
    ext = a.out.suffix.lower()
    if ext not in (".npz", ".png", ".gif"):
        p.error("--out must end in .npz, .png or .gif")
    if not 1 <= a.n <= 1024:
        p.error("--n must be between 1 and 1024")
    if a.steps is not None and a.steps < 1:
        p.error("--steps must be at least 1")
    if a.eta is not None and not 0.0 <= a.eta <= 1.0:
        p.error("--eta must be between 0 and 1")
    if a.guidance is not None and not np.isfinite(a.guidance):
        p.error("--guidance must be a finite number")
    if not 0 <= a.seed < 2**63:
        p.error("--seed must be between 0 and 2**63 - 1")
    # Every failure below is a sentence on stderr and exit status 1, never a traceback.
    try:
        pre = load_pretrained(a.model, device=a.device)
        rec = pre.card["recommended"]
        sampler = a.sampler or rec["sampler"]
        steps = a.steps or default_steps(pre, sampler)
        labels = parse_labels(a.label, a.n, pre.model.null_label)
        res = generate(pre, labels, sampler=sampler, steps=steps, eta=rec["eta"] if a.eta is None else a.eta,
                       guidance=rec["guidance"] if a.guidance is None else a.guidance, seed=a.seed,
                       spacing=rec["spacing"], clip_x0=rec["clip_x0"], keep_trajectory=ext == ".gif")
        a.out.parent.mkdir(parents=True, exist_ok=True)
        write_output(a.out, res, labels, pre.model.null_label)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ModelError, ValueError, OSError, RuntimeError) as e:
        # ModelError (missing weights, no such device) is a RuntimeError; OSError: the output path.
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {a.out}: {a.n} digits, {sampler} {res.settings['steps']} steps, guidance "
          f"{res.settings['guidance']}, {res.seconds:.2f} s on {res.device}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
