"""Speed and memory figures, printed as JSON: `python -m explainer.bench [--quick] [--only NAME ...]`.

Each figure is the median of several runs on this machine (the number of
torch threads is printed with them). Targets from the issues are listed beside
the measured values; nothing here asserts them: tests check behaviour, this
file measures speed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from typing import Callable

import numpy as np
import torch

from .core import elbo, guidance, particles as sp, spectral
from .core.forward import noised
from .core.schedules import make_schedule, make_schedule_for_T
from .core.toy2d import empirical_score, grid, make_dataset
from .lessons import (denoising_framesets, forward_figures, framesets, image_arrays, image_loading, objective_figures,
                      sampling_figures, score_figures, score_framesets, spectrum_framesets)
from .lessons.framesets import frame_indices
from .models import bundled_digits, denoiser, memorisation
from .models.generate import default_steps, generate, parse_labels
from .models.pretrained import load_pretrained


def timeit(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of fn() in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_forward_1024(repeat: int) -> dict:
    s = make_schedule("linear", 1000)
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, (1024, 1024, 3)).astype(np.float32)
    eps = rng.standard_normal(x0.shape).astype(np.float32)
    return {"forward_noising_1024x1024_rgb_ms": round(1000 * timeit(lambda: noised(s, x0, 500, eps), repeat), 2)}


def bench_forward_slider(repeat: int) -> dict:
    """The work of one t-slider move on the forward page, for a 1024-pixel upload (worked at 512)."""
    import io

    from PIL import Image


    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8))
    buf = io.BytesIO()
    photo.save(buf, format="JPEG")
    t0 = time.perf_counter()
    img = image_loading.load_image(buf.getvalue(), max_side=512)
    decode_ms = 1000 * (time.perf_counter() - t0)
    s = make_schedule("linear", 1000)
    x0 = img.array
    eps = rng.standard_normal(x0.shape).astype(np.float32)
    t_values = iter(range(10, 10_000, 37))

    def move():
        t = next(t_values) % 1000
        x_t = noised(s, x0, t, eps)
        for a in (x0, np.clip(eps / 3, -1, 1), x_t):
            # What st.image(..., output_format="JPEG") does; Streamlit's default quality is 75.
            Image.fromarray(image_arrays.to_uint8(a)).save(io.BytesIO(), format="JPEG", quality=75)
        forward_figures.weights_plot(s, t).to_json()
        forward_figures.histogram_vs_normal(x_t, t, x0=x0).to_json()

    return {"forward_page_t_move_server_ms": round(1000 * timeit(move, repeat), 1),
            "forward_page_t_move_target_ms": 150, "upload_1024_decode_ms": round(decode_ms, 1)}


def bench_empirical_score(repeat: int) -> dict:
    data = make_dataset("swiss_roll", 2000, 0)
    _, _, pts = grid(3.0, 50)
    return {"empirical_score_50x50_vs_2000_ms": round(1000 * timeit(lambda: empirical_score(data, pts, 0.5),
                                                                    repeat), 2),
            "empirical_score_target_ms": 100}


def matmul_peak_gflops() -> float:
    a = torch.randn(2048, 2048)
    b = torch.randn(2048, 2048)
    sec = timeit(lambda: a @ b, repeat=5)
    return 2 * 2048**3 / sec / 1e9


def unet_flops(model, batch: int) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(batch, 1, 28, 28)
    t = torch.full((batch,), 500)
    y = torch.zeros(batch, dtype=torch.long)
    with FlopCounterMode(display=False) as fc, torch.inference_mode():
        model(x, t, y)
    return fc.get_total_flops()


def bench_mnist(repeat: int) -> dict:
    out = {}
    load_s = timeit(lambda: load_pretrained("mnist", device="cpu"), repeat=repeat)
    pre = load_pretrained("mnist", device="cpu")
    out["model_load_s"] = round(load_s, 3)
    out["model_load_target_s"] = 0.5
    labels16 = parse_labels("all", 16)
    ddim = timeit(lambda: generate(pre, labels16, sampler="ddim", steps=50, guidance=3.0), repeat=repeat)
    out["ddim50_16_digits_guided_s"] = round(ddim, 3)
    out["ddim50_16_digits_guided_target_s"] = 2.0
    ddim_traj = timeit(lambda: generate(pre, labels16, sampler="ddim", steps=50, guidance=3.0,
                                        keep_trajectory=True), repeat=repeat)
    out["ddim50_16_digits_guided_with_trajectory_s"] = round(ddim_traj, 3)
    ddpm = timeit(lambda: generate(pre, parse_labels(3, 1), sampler="ddpm", steps=1000, guidance=3.0),
                  repeat=max(1, repeat // 2), warmup=0)
    out["ddpm1000_1_digit_guided_s"] = round(ddpm, 3)
    out["ddpm1000_1_digit_target_s"] = 10.0
    flops_32 = unet_flops(pre.model, 32)
    peak = matmul_peak_gflops()
    achieved = 50 * flops_32 / ddim / 1e9
    out["unet_mflops_per_image"] = round(flops_32 / 32 / 1e6, 1)
    out["ddim50_achieved_gflops"] = round(achieved, 1)
    out["matmul_2048_peak_gflops"] = round(peak, 1)
    out["share_of_matmul_peak"] = round(achieved / peak, 3)
    out["parameters"] = pre.card["architecture"]["parameters"]
    return out


def bench_dpm(repeat: int) -> dict:
    """Guided 16 digits: DPM-Solver++(2M) at its default step count against DDIM-50, in the same run.

    The two jobs alternate, so load from other processes hits both alike; the ratio is the median
    of the per-round ratios. Where the card holds `evaluate --only steps` figures, the quality at
    these step counts is printed beside the speed (targets: accuracy >= 99 %, diversity >= 0.95 of real).
    """
    pre = load_pretrained("mnist")
    labels16 = parse_labels("all", 16)
    steps = default_steps(pre, "dpm++2m")
    jobs = {"ddim": lambda: generate(pre, labels16, sampler="ddim", steps=50, guidance=3.0),
            "dpm": lambda: generate(pre, labels16, sampler="dpm++2m", steps=steps, guidance=3.0)}
    for job in jobs.values():
        job()  # warm-up
    times = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, job in jobs.items():
            times[name].append(job().seconds)
    ratios = [a / b for a, b in zip(times["ddim"], times["dpm"])]
    out = {"device": str(pre.device), "dpmpp2m_steps": steps,
           "dpmpp2m_16_digits_guided_s": round(statistics.median(times["dpm"]), 3),
           "ddim50_16_digits_guided_s": round(statistics.median(times["ddim"]), 3),
           "speedup_over_ddim50": round(statistics.median(ratios), 2), "speedup_target": 2.5}
    rows = pre.card.get("quality_vs_steps", {}).get("rows", [])
    for name, (sampler, k) in {"dpmpp2m": ("dpm++2m", steps), "ddim50": ("ddim", 50)}.items():
        row = next((r for r in rows if r["sampler"] == sampler and r["steps"] == k), None)
        if row:
            out[f"{name}_accuracy"] = row["accuracy"]
            out[f"{name}_diversity_vs_real"] = row["diversity_vs_real"]
    if "dpmpp2m_accuracy" in out:
        out.update(accuracy_target=0.99, diversity_vs_real_target=0.95)
    return out


def bench_diffusers(repeat: int) -> dict:
    """The Hugging Face diffusion course's MNIST UNet2DModel (class-conditioned), same 16-digit job."""
    try:
        from diffusers import UNet2DModel
    except ImportError:
        return {"diffusers_unet2d": "not installed (pip install diffusers to compare)"}
    net = UNet2DModel(sample_size=28, in_channels=1 + 4, out_channels=1, layers_per_block=2,
                      block_out_channels=(32, 64, 64),
                      down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
                      up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D")).eval()
    x = torch.randn(32, 5, 28, 28)  # 16 digits x (conditional, unconditional)
    t = torch.full((32,), 500)

    def job():
        with torch.inference_mode():
            for _ in range(50):
                net(x, t)

    return {"diffusers_unet2d_parameters": sum(p.numel() for p in net.parameters()),
            "diffusers_unet2d_ddim50_16_digits_guided_s": round(timeit(job, repeat=max(1, repeat // 2)), 3)}


def bench_score_page(repeat: int) -> dict:
    """The score page's field: its frame set for every t (built once per data set, view and model; the
    browser then scrubs t), and its size."""
    data = sp.make_data("swiss_roll", 2000, 0)
    sched = make_schedule_for_T(sp.SCHEDULE, sp.NUM_STEPS)
    ts = score_framesets.field_ts(sp.NUM_STEPS)
    size = len(score_framesets.field_frameset(data, sched, "exact", None, ts).to_bytes())
    build = lambda: score_framesets.field_frameset(data, sched, "exact", None, ts).to_bytes()  # noqa: E731
    return {"score_field_frameset_exact_ms": round(1000 * timeit(build, max(1, repeat // 3)), 1),
            "score_field_frameset_exact_kb": round(size / 1024), "score_field_frames": len(ts)}


def bench_learning_page(repeat: int) -> dict:
    """The learning page: each control's server work on a cache miss, and the page's warm open (AppTest)."""
    pre = load_pretrained("mnist", device="cpu")
    bundle = bundled_digits.load_bundle()
    x, y = bundle.evaluation, bundle.evaluation_labels
    ts = framesets.frame_indices(pre.schedule.num_steps, denoiser.LEARN_FRAMES)  # as the page
    digits = iter(range(10_000))

    def new_digit():  # sections 1-2: one network call for every t, and both frame sets serialised
        i = next(digits) % len(x)
        sf = denoiser.training_steps(pre, x[i], denoiser.digit_noise(0), ts, int(y[i]))
        denoising_framesets.training_frameset(sf, pre.schedule, pre.model.null_label, "t").to_bytes()
        denoising_framesets.readings_frameset(sf, pre.schedule, "t").to_bytes()

    true_ts = iter([25, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900] * 100)

    def new_true_t():  # section 4: the true-t slider, every t' in one call
        wt = denoiser.wrong_time(pre, x[0], denoiser.digit_noise(0), next(true_ts), ts, int(y[0]))
        denoising_framesets.wrong_time_frameset(wt, pre.schedule, "t'").to_bytes()

    curve = pre.card.get("loss_curve")

    def loss_radios():  # section 3: both figures to JSON
        objective_figures.loss_over_t(curve, pre.schedule, "x0", "log_snr").to_json()
        objective_figures.objective_weights(pre.schedule, "log_snr", curve).to_json()

    mix = elbo.MIXTURES["two Gaussians"]
    sched = make_schedule("cosine", 1000)

    def bound_T_1000():  # section 5: T slider to 1000, with both variances (the page states both totals)
        b = elbo.variational_bounds(mix, sched)["beta"]
        objective_figures.bound_bars(b).to_json()
        objective_figures.bound_per_t(b, 500).to_json()

    b = elbo.variational_bound(mix, sched, "beta")
    xts = iter(np.linspace(-2, 2, 1000))

    def bound_x_t():  # section 5: the x_t slider (the bound is cached)
        x_t = float(next(xts))
        xs = np.linspace(-2.5, 2.5, 501)
        # library step 299 is the page's (the paper's) t = 300, which the figures write
        m_q, v_q = elbo.forward_posterior(sched, 299, x_t, 0.6)
        m_p, v_p = elbo.best_reverse(mix, sched, 299, x_t, "beta")
        curves = {"data": mix.pdf(xs), "posterior": elbo.gaussian_pdf(xs, m_q, v_q),
                  "true": elbo.true_reverse(mix, sched, 299, x_t).pdf(xs), "model": elbo.gaussian_pdf(xs, m_p, v_p)}
        objective_figures.reverse_step_densities(xs, curves, x_t, 0.6, 300).to_json()
        objective_figures.bound_per_t(b, 300).to_json()
        objective_figures.bound_bars(b).to_json()

    out = {"learning_new_digit_frames_ms": round(1000 * timeit(new_digit, repeat), 1),
           "learning_true_t_move_ms": round(1000 * timeit(new_true_t, repeat), 1),
           "learning_loss_radio_ms": round(1000 * timeit(loss_radios, repeat), 1) if curve else None,
           "learning_bound_T1000_ms": round(1000 * timeit(bound_T_1000, repeat), 1),
           "learning_bound_x_t_move_ms": round(1000 * timeit(bound_x_t, repeat), 1),
           "learning_slider_target_ms": 150}
    return out


def bench_guidance_toy(repeat: int) -> dict:
    """The score page's guidance section: one move of s, class or t (nothing cached), and a class's first sweep."""
    mix = guidance.three_classes()
    sched = make_schedule(sp.SCHEDULE, sp.NUM_STEPS)
    data, labels = guidance.sample(mix, 900, seed=0)
    pts = sp.field_points(4.0)
    moves = iter([(y, s, t) for t in (25, 100, 250, 500, 750) for y in range(3) for s in guidance.GUIDANCE_SCALES] * 50)

    sweeps = {y: guidance.guidance_sweep(mix, y, sched) for y in range(3)}  # cached by the page per class and seed

    def move():  # a move of s or t: the particles come from the class's sweep
        y, s, t = next(moves)
        ab = float(sched.alpha_bars[t])
        field = guidance.guided_score(mix, pts, y, s, ab)
        density = guidance.sharpened_density_grid(mix, y, s, ab, extent=4.0)
        end = sweeps[y]["ends"][sweeps[y]["scales"].index(s)]
        score_figures.guidance_field_figure(pts, field, density, end, data, labels, mix.names, y, extent=4.0).to_json()
        sampling_figures.guidance_sweep_figure(sweeps[y]["scales"], sweeps[y]["spread"], sweeps[y]["confidence"],
                                      current=s, extra={"name": "target", "y": sweeps[y]["target_spread"]}).to_json()

    return {"guidance_toy_move_server_ms": round(1000 * timeit(move, repeat), 1),
            "guidance_toy_move_target_ms": 150,
            "guidance_toy_new_class_sweep_ms": round(1000 * timeit(lambda: guidance.guidance_sweep(mix, 0, sched),
                                                                   max(1, repeat // 2)), 1)}


def bench_spectral(repeat: int) -> dict:
    """The forward page's spectral view: building its 48-frame set once per picture, schedule and seed
    (moving t is then browser-side), and the reverse page's x̂₀ spectra for one digit of 60 kept steps."""
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, (224, 224, 3))
    eps = rng.standard_normal(x0.shape)
    sched = make_schedule("linear", 1000)
    ts = frame_indices(1000, 48)
    payload = len(spectrum_framesets.spectrum_frameset(sched, x0, eps, ts, "t").to_bytes())
    build = timeit(lambda: spectrum_framesets.spectrum_frameset(sched, x0, eps, ts, "t").to_bytes(), repeat)
    traj = rng.uniform(-1, 1, (60, 28, 28))

    def reverse_view():
        freqs, spectra = spectral.radial_power_spectra(traj)
        _, final = spectral.radial_power_spectrum(traj[-1])
        _, settle = spectral.settle_steps(traj, traj[-1])
        sampling_figures.spectra_over_steps_figure(freqs, spectra, [f"step {k}" for k in range(60)], final).to_json()
        sampling_figures.settle_figure(freqs, settle, 59).to_json()

    return {"spectral_frameset_224_48_frames_ms": round(1000 * build, 1),
            "spectral_frameset_kb": round(payload / 1024, 1),
            "reverse_x0_hat_spectra_60_steps_ms": round(1000 * timeit(reverse_view, repeat), 1),
            "reverse_x0_hat_spectra_target_ms": 150}


def bench_memorisation(repeat: int) -> dict:
    """The reverse page's copy check: loading the bundled digits, the held-out reference (once per
    process), and the nearest training digits of 32 generated digits with the figure."""
    t0 = time.perf_counter()
    digits = bundled_digits.load_bundle()
    load = time.perf_counter() - t0
    ref = timeit(lambda: memorisation.heldout_reference(digits), repeat)
    reference = memorisation.heldout_reference(digits)
    gen = np.random.default_rng(0).uniform(-1, 1, (32, 28, 28)).astype(np.float32)

    def view():
        _, dist = memorisation.nearest(gen, digits.train, 3)
        sampling_figures.nearest_distance_figure(reference, dist[:, 0]).to_json()

    return {"digits_bundle_load_ms": round(1000 * load, 1),
            "heldout_reference_500_vs_4500_ms": round(1000 * ref, 1),
            "nearest_3_for_32_digits_with_figure_ms": round(1000 * timeit(view, repeat), 1),
            "nearest_target_ms": 150}


BENCHES = {
    "forward": bench_forward_1024,
    "forward_slider": bench_forward_slider,
    "empirical_score": bench_empirical_score,
    "score_page": bench_score_page,
    "guidance_toy": bench_guidance_toy,
    "spectral": bench_spectral,
    "memorisation": bench_memorisation,
    "mnist": bench_mnist,
    "dpm": bench_dpm,
    "diffusers": bench_diffusers,
    "learning_page": bench_learning_page,
}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m explainer.bench", description=__doc__)
    p.add_argument("--only", nargs="*", choices=sorted(BENCHES), help="run only these")
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    repeat = 3 if a.quick else 7
    out = {"machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                       "torch": torch.__version__, "python": platform.python_version(),
                       "cuda": torch.cuda.is_available()}}
    for name in a.only or BENCHES:
        try:
            out[name] = BENCHES[name](repeat)
        except Exception as e:  # one missing piece (e.g. weights) should not hide the other figures
            out[name] = {"error": f"{type(e).__name__}: {e}"}
        print(f"done {name}", file=sys.stderr)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
