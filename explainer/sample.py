"""Sample digits from the bundled model on the command line.

    python -m explainer.sample --model mnist --n 16 --label all --out digits.png

FILE may end in .npz (arrays `images` uint8 (N, 28, 28), white ink on black
as in MNIST, and `labels` int64 with -1 for unconditional), .png (a grid) or
.gif (the denoising animation of the whole batch). Unset options take the
model card's recommended settings; the same seed gives the same output on the
same device.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import images
from .generate import default_steps, generate, parse_labels
from .models import ModelError, load_pretrained
from .samplers import SAMPLERS


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
    p.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    p.add_argument("--out", type=Path, required=True, help="output .npz, .png or .gif")
    a = p.parse_args(argv)
    if a.out.suffix.lower() not in (".npz", ".png", ".gif"):
        p.error("--out must end in .npz, .png or .gif")
    if not 1 <= a.n <= 1024:
        p.error("--n must be between 1 and 1024")
    try:
        pre = load_pretrained(a.model, device=a.device)
        rec = pre.card["recommended"]
        sampler = a.sampler or rec["sampler"]
        steps = a.steps or default_steps(pre, sampler)
        labels = parse_labels(a.label, a.n, pre.model.null_label)
        res = generate(pre, labels, sampler=sampler, steps=steps, eta=rec["eta"] if a.eta is None else a.eta,
                       guidance=rec["guidance"] if a.guidance is None else a.guidance, seed=a.seed,
                       spacing=rec["spacing"], clip_x0=rec["clip_x0"], keep_trajectory=a.out.suffix == ".gif")
    except (ModelError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    a.out.parent.mkdir(parents=True, exist_ok=True)
    ext = a.out.suffix.lower()
    if ext == ".npz":
        np.savez_compressed(a.out, images=images.to_uint8(res.images),
                            labels=np.where(labels == pre.model.null_label, -1, labels).astype(np.int64))
    elif ext == ".png":
        a.out.write_bytes(images.encode_png(images.digit_grid(res.images)))
    else:
        frames = [images.digit_grid(x0) for x0 in res.x_t]
        frames.append(images.digit_grid(res.images))
        a.out.write_bytes(images.write_gif(frames, duration_ms=60, upscale=3))
    print(f"wrote {a.out}: {a.n} digits, {sampler} {res.settings['steps']} steps, guidance "
          f"{res.settings['guidance']}, {res.seconds:.2f} s on {res.device}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
