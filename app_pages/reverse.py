"""Page 5: reverse sampling with the bundled MNIST model."""
import time

import numpy as np
import streamlit as st

from explainer.app.caches import cached_run, shared
from explainer.app.pickers import image_picker
from explainer.app.resources import mnist_or_stop
from explainer.app.sampling_runs import trajectory_frames
from explainer.app.scrubber import scrubber
from explainer.app.shell import controls, fragment, page_setup, plot
from explainer.app.url_state import choice_param, float_param, int_param, on_demand, url_state, write_url
from explainer.core import spectral
from explainer.core.samplers import SAMPLERS, SAMPLER_LABELS
from explainer.core.schedules import evenly_spaced
from explainer.lessons import image_arrays, image_encoding, quality_facts, sampling_figures, spectrum_facts
from explainer.lessons.sampler_equations import EQUATIONS
from explainer.lessons.sampling_framesets import sdedit_frameset
from explainer.models import bundled_digits, memorisation
from explainer.models.generate import generate, parse_labels, sdedit

page_setup()

st.title("5. Reverse sampling: drawing digits out of noise")
device, pre = mnist_or_stop()
st.markdown(
    "Now the learned part. A small neural network (bundled with this app, trained on 4,500 real MNIST "
    "digits) looks at a noisy image $x_t$ and predicts the noise $\\hat\\varepsilon$ in it. Starting from "
    "pure noise, each step removes a little of that predicted noise. **DDPM** takes many small random "
    "steps; **DDIM** can take a few large ones, deterministic at η = 0 (its default) and random for η > 0; "
    "**DPM-Solver++(2M)** reuses the previous step's guess to take second-order steps: "
    + quality_facts.few_steps_sentence(pre.card.get("quality_vs_steps"))
    + " **Guidance** pushes the picture towards the class you ask for."
)

T = pre.schedule.num_steps
rec = pre.card["recommended"]
CLASS_OPTIONS = ["all", "none"] + [str(d) for d in range(10)]
CLASS_LABELS = {"all": "all ten digits (0-9)", "none": "no class (unconditional)"}
STEP_CHOICES = [5, 10, 20, 25, 50, 100, 250, 500, 1000]
N_CHOICES = [1, 4, 8, 16, 32]

url_state("rv_class", "all", choice_param(CLASS_OPTIONS))
url_state("rv_guidance", float(rec["guidance"]), float_param(0.0, 10.0))
url_state("rv_sampler", rec["sampler"], choice_param(list(SAMPLERS)))
url_state("rv_steps", int(rec["steps"]), choice_param(STEP_CHOICES))
url_state("rv_eta", float(rec["eta"]), float_param(0.0, 1.0))
url_state("rv_n", 16, choice_param(N_CHOICES))
with controls():
    c = st.columns([2, 2, 1.3, 2])
    c[0].selectbox("Class", CLASS_OPTIONS, key="rv_class", format_func=lambda o: CLASS_LABELS.get(o, f"digit {o}"),
                   help="Which digit to draw. 'No class' lets the model choose.")
    c[1].slider("Guidance scale s", 0.0, 10.0, step=0.5, key="rv_guidance",
                help="ε̂ = ε̂_uncond + s·(ε̂_class − ε̂_uncond). s = 1: plain conditional model; s = 0: ignores "
                     "the class; larger s: clearer digits, less variety.")
    c[2].radio("Sampler", list(SAMPLERS), key="rv_sampler", format_func=SAMPLER_LABELS.get,
               horizontal=True)
    c[3].select_slider("Number of steps", STEP_CHOICES, key="rv_steps",
                       help=f"How many denoising steps, spread over t = T−1 … 0. The model was trained with "
                            f"T = {T} noise levels.")
    c = st.columns([2, 2, 3])
    c[0].slider("DDIM η (0 = deterministic)", 0.0, 1.0, step=0.1, key="rv_eta",
                disabled=not SAMPLERS[st.session_state["rv_sampler"]].uses_eta,
                help="How much fresh noise DDIM adds per step. η = 1 behaves like DDPM.")
    c[1].select_slider("Number of digits", N_CHOICES, key="rv_n")
    c[2].caption(f"Seed **{st.session_state['seed']}** and device **{device.type.upper()}** come from the sidebar. "
                 f"Same seed, same digits.")
write_url("rv_class", "rv_guidance", "rv_sampler", "rv_steps", "rv_eta", "rv_n")

settings = dict(sampler=st.session_state["rv_sampler"], steps=int(st.session_state["rv_steps"]),
                eta=float(st.session_state["rv_eta"]) if SAMPLERS[st.session_state["rv_sampler"]].uses_eta else 0.0,
                guidance=float(st.session_state["rv_guidance"]), seed=int(st.session_state["seed"]),
                spacing=rec["spacing"], clip_x0=rec["clip_x0"])
n = int(st.session_state["rv_n"])
labels = parse_labels(st.session_state["rv_class"], n, pre.model.null_label)


def run_with_progress(label: str, fn):
    """fn(progress, preview) with a progress bar and the model's guess x̂₀ shown live as it forms."""
    bar = st.progress(0.0, text=label)
    live = st.empty()
    last = [0.0]

    def preview(i, k, x0_hat):
        now = time.monotonic()
        if now - last[0] > 0.25 or i == k:  # a few pictures a second is plenty, and cheap
            last[0] = now
            live.image(image_arrays.upscale(image_arrays.digit_grid(x0_hat[:, 0].clamp(-1, 1).float().cpu().numpy()), 3),
                       caption=f"Live: the model's guess x̂₀ after step {i} of {k}")

    try:
        return fn(lambda i, k: bar.progress(i / k, text=f"{label} step {i} of {k}"), preview)
    finally:
        bar.empty()
        live.empty()


key = ("generate", str(device), st.session_state["rv_class"], n, tuple(sorted(settings.items())))
# Work in network passes over one 28x28 image: guidance runs the model twice (with and without the class).
cost = settings["steps"] * n * (2 if settings["guidance"] not in (0.0, 1.0) else 1)
if st.button("Generate", type="primary", icon=":material/auto_fix_high:"):
    st.session_state["rv_result"] = cached_run(
        key, lambda: run_with_progress("Denoising ...", lambda cb, pv: generate(
            pre, labels, keep_trajectory=True, progress=cb, preview=pv, **settings)), cost=cost)
    st.session_state["rv_result_key"] = key

result = st.session_state.get("rv_result")
if result is None:
    st.info("Press **Generate** to draw digits with these settings.", icon=":material/touch_app:")
else:
    if st.session_state.get("rv_result_key") != key:
        st.caption("These digits were made with earlier settings; press Generate to redraw.")
    s = result.settings
    m = st.columns(4)
    m[0].metric("Total time", f"{result.seconds:.2f} s")
    m[1].metric("Per step", f"{result.ms_per_step:.1f} ms")
    m[2].metric("Device", result.device.upper())
    m[3].metric("Sampler", f"{s['sampler'].upper()} × {s['steps']}", help="sampler × number of steps")
    st.image(shared(("rv_grid", repr(st.session_state.get("rv_result_key"))),
                    lambda: image_encoding.png_data_uri(image_arrays.upscale(image_arrays.digit_grid(result.images), 4))),
             caption="The generated digits (white ink on black, as in MNIST).")


@fragment
def step_through():
    res = st.session_state.get("rv_result")
    if res is None or res.x_t is None:
        return
    st.header("Step through the trajectory")
    k = len(res.kept_steps)
    url_state("rv_digit", 0, int_param(0, 31))
    st.session_state["rv_digit"] = min(st.session_state["rv_digit"], len(res.images) - 1)
    c = st.columns([1, 4])
    d = c[0].number_input("Which digit", 0, len(res.images) - 1, key="rv_digit")
    write_url("rv_digit")
    s = res.settings
    eq = EQUATIONS[s["sampler"]]
    for line in eq.general(pre.schedule, res.timesteps):
        st.latex(line)
    label = "Step (0 = the start, pure noise)"
    if k < len(res.timesteps):
        c[1].caption(f"{k} of the {len(res.timesteps)} steps are kept for viewing, evenly spaced.")
    frames = trajectory_frames(repr(st.session_state.get("rv_result_key")), int(d), label, _res=res,
                               _schedule=pre.schedule)
    scrubber("rv_step", frames, list(range(k)), default=0)
    st.caption("t′ is the next visited timestep (−1 means the clean end, ᾱ = 1). "
               + eq.jump_note
               + ("x̂₀ is clipped to [−1, 1], as pixel values must be" + eq.clip_note if s["clip_x0"] else ""))


step_through()

if result is not None and result.x_t is not None:
    st.header("The trajectory as a filmstrip")
    idx = evenly_spaced(0, len(result.kept_steps) - 1, 8)
    d = int(st.session_state.get("rv_digit", 0)) % len(result.images)
    rows = [result.x_t[j, d] for j in idx] + [result.images[d]]
    rows0 = [result.x0_hat[j, d] for j in idx] + [result.images[d]]
    strip = shared(("rv_strip", repr(st.session_state.get("rv_result_key")), d), lambda: image_encoding.png_data_uri(
        image_arrays.upscale(image_arrays.image_grid(rows + rows0, ncol=len(rows), pad=2, pad_value=128), 4)))
    st.image(strip, caption="Top: x_t at t = "
             + ", ".join(str(result.timesteps[result.kept_steps[j]]) for j in idx)
             + ", then the result. Bottom: the model's guess x̂₀ at the same steps.", width="stretch")

    def trajectory_gif() -> bytes:
        frames = [image_arrays.digit_grid(x)
                  for x in result.x_t]
        final = image_arrays.digit_grid(result.images)
        return image_encoding.write_gif(frames + [final] * 10, duration_ms=70, upscale=3)

    c = st.columns(2)
    c[0].download_button("Download the denoising animation (GIF)", trajectory_gif, "denoising.gif", "image/gif",
                         icon=":material/download:", on_click="ignore", width="stretch")
    c[1].download_button("Download the digits (PNG)",
                         lambda: image_encoding.encode_png(image_arrays.upscale(image_arrays.digit_grid(result.images), 4)),
                         "digits.png", "image/png", icon=":material/download:", on_click="ignore", width="stretch")


@st.cache_resource(show_spinner=False, max_entries=64)
def x0_hat_spectra(result_key: str, digit: int, _res) -> dict:
    """Spectra of x̂₀ at every kept step of one digit's trajectory, and when each frequency settles."""
    freqs, spectra = spectral.radial_power_spectra(_res.x0_hat[:, digit].astype(np.float64))
    _, final = spectral.radial_power_spectrum(_res.images[digit])
    _, settle = spectral.settle_steps(_res.x0_hat[:, digit], _res.images[digit])
    return {"freqs": freqs, "spectra": spectra, "final": final, "settle": settle,
            "labels": [f"step {j} (t = {_res.timesteps[i]})" for j, i in enumerate(_res.kept_steps)]}


@fragment
def spectral_steps():
    res = st.session_state.get("rv_result")
    if res is None or res.x0_hat is None:
        return
    st.header("How the picture forms: coarse to fine")
    st.markdown(
        "The power spectrum of the model's guess $\\hat x_0$ at each step (as on the forward page). Each curve is "
        "one step, dark = early, bright = late; the dashed line is the finished digit. On the right, the step from "
        "which each frequency of $\\hat x_0$ stays close to the finished digit's: when it has *settled*.")
    if not on_demand("rv_show_spec", "Show the spectra of x̂₀, step by step",
                     help="Computed and drawn when you ask, so every rerun of the page stays light for a class."):
        return
    d = int(st.session_state.get("rv_digit", 0)) % len(res.images)
    result_key = repr(st.session_state.get("rv_result_key"))
    sp = x0_hat_spectra(result_key, d, _res=res)
    k = len(sp["spectra"])
    left, right = st.columns([3, 2])
    with left:
        plot(shared(("rv_spectra", result_key, d), lambda: sampling_figures.spectra_over_steps_figure(
            sp["freqs"], sp["spectra"], sp["labels"], sp["final"],
            title=f"Spectrum of x̂₀ for digit #{d}, step by step", height=380)))
    with right:
        plot(shared(("rv_settle", result_key, d),
                    lambda: sampling_figures.settle_figure(sp["freqs"], sp["settle"], k - 1, height=380)))
    f, settle = sp["freqs"], sp["settle"]
    coarse, fine = int(settle[0]), int(settle[-1])
    st.markdown(
        f"**Settled** means: what is still missing at that frequency is under 10 % of the final digit's power "
        f"there, from that step on. For digit #{d}: the coarsest waves (f = {f[0]:.3f} cycles/pixel, the size of "
        f"the digit) settle at step {coarse} of {k - 1}, the finest (f = {f[-1]:.2f}, 2-pixel detail) at step "
        f"{fine}: {spectrum_facts.settle_order(settle)}.")


spectral_steps()


@st.cache_resource(show_spinner=False)
def training_digits() -> bundled_digits.Digits | None:
    try:
        return bundled_digits.load_bundle()
    except ValueError:
        return None


@st.cache_resource(show_spinner=False)
def heldout_reference() -> np.ndarray:
    return memorisation.heldout_reference(training_digits())


@st.cache_resource(show_spinner=False, max_entries=32)
def nearest_for(result_key: str, _res, k: int = 3):
    digits = training_digits()
    idx, dist = memorisation.nearest(_res.images, digits.train, k)
    return idx, dist, digits.train[idx[:, :k]]


@fragment
def memorisation_view():
    res = st.session_state.get("rv_result")
    if res is None:
        return
    st.header("Is it copying? The nearest training digits")
    digits = training_digits()
    if digits is None:
        st.info("The bundled training digits (assets/mnist_digits.npz) are missing, so this check cannot run.",
                icon=":material/info:")
        return
    st.markdown(
        f"The model learned from {len(digits.train):,} real digits. If it had memorised them, its digits would be "
        "near-copies: very close to one training digit. The yardstick is **real digits the model never saw**: "
        f"how close do {len(digits.heldout)} of those lie to the training set? A new digit is as new as they are "
        "if it lies as far.")
    reference = heldout_reference()
    result_key = repr(st.session_state.get("rv_result_key"))
    idx, dist, neighbours = nearest_for(result_key, _res=res)
    n = len(res.images)
    shown = min(n, 16)

    def neighbour_grid() -> str:
        def rgb(a):
            return np.repeat(image_arrays.to_uint8(a)[..., None], 3, axis=-1)

        groups = []
        for i in range(shown):  # the generated digit framed in the histogram's orange, then its neighbours
            generated = image_arrays.image_grid([rgb(res.images[i])], pad=2, pad_value=(213, 94, 0))
            near = image_arrays.image_grid([rgb(a) for a in neighbours[i]], ncol=3, pad=2, pad_value=(128, 128, 128))
            groups.append(np.concatenate([generated, np.full((generated.shape[0], 4, 3), 255, np.uint8), near], 1))
        grid = image_arrays.image_grid(groups, ncol=min(shown, 4), pad=8, pad_value=(255, 255, 255))
        # A data URI: st.image would decode and resize PNG bytes on every rerun (13 ms); a URI goes as it is.
        return image_encoding.png_data_uri(image_arrays.upscale(grid, 3))

    left, right = st.columns([3, 2])
    with left:
        st.image(shared(("rv_neighbours", result_key), neighbour_grid), width="stretch",
                 caption="Each group: a generated digit (orange frame), then its three nearest training digits.")
    with right:
        plot(shared(("rv_nn_hist", result_key), lambda: sampling_figures.nearest_distance_figure(
            reference, dist[:, 0], [f"digit #{i}" for i in range(n)], height=340)))
    def table():  # an Arrow table: a rerun then sends it without converting a dict again
        import pyarrow as pa

        share = memorisation.share_closer(dist[:, 0], reference)
        return pa.table({"digit": [f"#{i}" for i in range(n)],
                         "nearest training digit (L2)": np.round(dist[:, 0], 2),
                         "2nd": np.round(dist[:, 1], 2), "3rd": np.round(dist[:, 2], 2),
                         "real new digits closer": [f"{v:.0%}" for v in share]})

    st.dataframe(shared(("rv_nn_table", result_key), table), hide_index=True, height=200)
    s = memorisation.summary(dist[:, 0], reference)
    verdict = memorisation.copy_verdict(s)
    st.markdown(
        f"**What the numbers mean.** Distances are L2 over the 784 pixels in [−1, 1]: a copy is at 0, and an "
        f"all-black and an all-white image are {2 * 28:.0f} apart. These {n} generated digits lie "
        f"a median **{s['median']:.1f}** from their nearest training digit (closest: {s['min']:.1f}); real digits "
        f"the model never saw lie a median **{s['reference_median']:.1f}** from it (closest: "
        f"{s['reference_min']:.1f}; 1 % are under {s['reference_low']:.1f}). {verdict} A typical generated digit "
        f"has {s['median_share_closer']:.0%} of the real new digits closer to the training set than itself.")


memorisation_view()


st.header("Start from your own image (SDEdit)")
st.markdown(
    "Instead of pure noise, start from *your* picture, noised to a time $t_0$ with the forward process, and "
    "let the model denoise it (Meng et al., 2022). At small $t_0$ your image survives; at large $t_0$ only "
    "its rough shape does, and the model redraws it as the digit it \"wants\" to see."
)


def _model_input(img):
    return image_arrays.to_model_input(img.pil, 28, invert=image_arrays.needs_invert(img.pil, st.session_state["rv_sd_invert"]))


@fragment
def sdedit_section():
    img, img_id = image_picker("rv_sd", max_side=256, mode="L", default="Handwritten digit (28x28)",
                               label="Starting image")
    url_state("rv_sd_class", "none", choice_param(CLASS_OPTIONS[1:]))
    url_state("rv_sd_invert", "auto", choice_param(["auto", "yes", "no"]))
    c = st.columns(2)
    c[0].selectbox("Class", CLASS_OPTIONS[1:], key="rv_sd_class",
                   format_func=lambda o: CLASS_LABELS.get(o, f"digit {o}"))
    c[1].radio("Invert colours", ["auto", "yes", "no"], key="rv_sd_invert", horizontal=True,
               help="MNIST digits are white on black. 'auto' inverts pictures with a light background.")
    write_url("rv_sd_class", "rv_sd_invert")
    x = shared(("rv_sd_input", img_id, st.session_state["rv_sd_invert"]), lambda: _model_input(img))
    # Where to start: the noised image at every t0 on a grid of 25 steps scrubs in the browser.
    seed = int(st.session_state["seed"])
    t0s = sorted({*range(0, T, 25), T - 1})
    frames = shared(("rv_sd_frames", img_id, st.session_state["rv_sd_invert"], seed), lambda: sdedit_frameset(
        pre.schedule, x, seed, t0s, label="Noise it to t₀ (0 = keep your image, T−1 = pure noise)").to_bytes())
    t0 = int(scrubber("rv_sd_t0", frames, t0s, default=600))
    sd_key = ("sdedit", img_id, str(device), t0, st.session_state["rv_sd_class"], st.session_state["rv_sd_invert"],
              int(st.session_state["seed"]), settings["guidance"])
    if st.button("Denoise it", icon=":material/auto_fix_high:"):
        st.session_state["rv_sd_result"] = cached_run(sd_key, lambda: sdedit(
            pre, x, t0, label=st.session_state["rv_sd_class"], n=4, seed=int(st.session_state["seed"]),
            steps=50, guidance=settings["guidance"], clip_x0=True), cost=2 * 4 * 50 * (t0 + 1) / T)
        st.session_state["rv_sd_key"] = sd_key
    out = st.session_state.get("rv_sd_result")
    if out is not None and st.session_state.get("rv_sd_key") == sd_key:
        x_t0, res = out
        cols = st.columns(6)
        for j in range(4):
            cols[j].image(image_arrays.upscale(res.images[j], 5), caption=f"denoised, noise #{j + 1}", width="stretch")
        st.caption(f"{res.settings['steps']} DDIM steps from t₀ = {t0}, guidance {settings['guidance']}, "
                   f"{res.seconds:.2f} s on {res.device.upper()}.")
    else:
        st.caption(f"Press **Denoise it** to see what the model makes of it, from t₀ = {t0}.")


sdedit_section()


st.header("One seed, several samplers")
st.markdown("The same starting noise $x_T$ through DDPM, DDIM and DPM-Solver++(2M) at several step counts. "
            "DDIM with η = 0 is deterministic: the same $x_T$ and number of steps always give the same digit, and "
            "in practice different step counts give roughly the same picture (an empirical finding of Song, Meng & "
            "Ermon 2021, not a guarantee). DPM-Solver++(2M) solves the same probability-flow ODE with second-order "
            "steps. DDPM adds fresh noise every step.")
RUNS = [("ddim", 5), ("ddim", 10), ("ddim", 25), ("ddim", 100), ("dpm++2m", 10), ("ddpm", 50), ("ddpm", 1000)]


@fragment
def compare_samplers():
    digit = st.session_state["rv_class"] if st.session_state["rv_class"] not in ("all",) else "3"
    cmp_key = ("compare", str(device), digit, settings["guidance"], int(st.session_state["seed"]))
    if st.button("Compare the samplers", icon=":material/compare:"):
        lab = parse_labels(digit, 1, pre.model.null_label)

        def run_all():
            bar = st.progress(0.0, text="Sampling ...")
            out = []
            for j, (smp, k) in enumerate(RUNS):
                out.append(generate(pre, lab, sampler=smp, steps=k, guidance=settings["guidance"],
                                    seed=int(st.session_state["seed"]), spacing=rec["spacing"], clip_x0=True))
                bar.progress((j + 1) / len(RUNS), text=f"Sampling ... {smp.upper()} {k} steps done")
            bar.empty()
            return out

        st.session_state["rv_cmp"] = (cmp_key, cached_run(cmp_key, run_all, cost=2 * sum(k for _, k in RUNS)))
    got = st.session_state.get("rv_cmp")
    if got is None or got[0] != cmp_key:
        which = "a 3, since all ten digits are chosen" if st.session_state["rv_class"] == "all" else \
            CLASS_LABELS.get(digit, "digit " + digit)
        st.caption(f"Draws one digit ({which}) with the guidance scale above and the sidebar seed.")
        return
    cols = st.columns(len(RUNS))
    for col, (smp, k), r in zip(cols, RUNS, got[1]):
        col.image(image_arrays.upscale(r.images[0], 5), width="stretch",
                  caption=f"{smp.upper()} {k} steps: {r.seconds * 1000:.0f} ms")


compare_samplers()



st.header("Fewer steps: quality against network calls")
quality_steps = pre.card.get("quality_vs_steps")
if quality_steps is None:
    st.info("The model card has no measurement of quality against steps yet: `python -m explainer.evaluate "
            "--only steps` makes it.", icon=":material/info:")
else:
    plot(shared(("rv_quality_steps", quality_steps["command"], len(quality_steps["rows"])),
                lambda: sampling_figures.quality_vs_network_calls(quality_steps)))
    rows = {(r["sampler"], r["steps"]): r for r in quality_steps["rows"]}
    ref, default = rows.get(("ddim", 50)), rows.get((rec["sampler"], int(rec["steps"])))
    if ref and default:
        st.caption(
            f"Measured on {quality_steps['settings']['generated_per_class'] * 10} digits per run "
            f"({quality_steps['command']}). The default, {SAMPLER_LABELS[rec['sampler']]} with {rec['steps']} steps, "
            f"makes {default['network_passes_per_digit']} network passes per digit against DDIM-50's "
            f"{ref['network_passes_per_digit']}: accuracy {default['accuracy']:.1%} against {ref['accuracy']:.1%}, "
            f"diversity {default['diversity_vs_real']:.2f} against {ref['diversity_vs_real']:.2f} of real digits'.")


st.header("What guidance costs: confidence against variety")
st.markdown(
    "Guidance (the scale $s$ above) follows the score of $p(x\\mid y)\\,p(y\\mid x)^{s-1}$: the class's "
    "distribution times the model's own implicit classifier $p(y\\mid x) \\propto p(x\\mid y)/p(x)$ (Ho & "
    "Salimans 2022), raised to $s-1$. That classifier is never trained or run on its own: the gradient of its log "
    "is the difference of the network's two noise predictions, $-(\\hat\\varepsilon_y - \\hat\\varepsilon_"
    "\\varnothing)/\\sqrt{1-\\bar\\alpha_t}$. The confidence plotted below is something else: that of a "
    "separate CNN classifier that judges the finished samples. The score-field page shows "
    "guidance's exact effect on 2D data. For the digit model, as measured by "
    "`python -m explainer.evaluate --only guidance`:")


@fragment
def guidance_tradeoff():
    sweep = pre.card.get("guidance_sweep")
    if not sweep:
        st.info("The model card has no guidance measurements yet, so there is nothing to plot. They are computed "
                "by `python -m explainer.evaluate --only guidance` (about 10,000 digits; minutes on a GPU) and "
                "read from the card, never computed when the page opens.", icon=":material/info:")
        return
    scales = [float(v) for v in sweep["scales"]]
    current = float(settings["guidance"])
    left, right = st.columns([3, 2])
    with left:
        sweep_figure = sampling_figures.guidance_sweep_figure
        plot(shared(("rv_guidance_sweep", sweep["command"], current), lambda: sweep_figure(
            scales, sweep["diversity"], sweep["confidence"], current=current,
            diversity_ref=sweep["diversity_real_heldout"],
            diversity_name="diversity (mean pairwise L2 in a class)",
            confidence_name="CNN classifier's confidence in the asked class", ref_name="real digits",
            title=quality_facts.guidance_title(scales, sweep["diversity"], sweep["confidence"]), height=360,
            class_ignored_at_zero=True)))
    with right:
        lo, hi = scales.index(1.0) if 1.0 in scales else 0, int(np.argmax(scales))
        st.markdown(
            f"From s = {scales[lo]:g} to s = {scales[hi]:g} the classifier's mean confidence in the asked digit "
            f"goes from {sweep['confidence'][lo]:.1%} to {sweep['confidence'][hi]:.1%} (recognised as asked: "
            f"{sweep['accuracy'][lo]:.1%} to {sweep['accuracy'][hi]:.1%}), while the diversity within a class "
            f"goes from {sweep['diversity'][lo]:.1f} to {sweep['diversity'][hi]:.1f}; real held-out digits have "
            f"{sweep['diversity_real_heldout']:.1f}.")
        measured_with = f"{SAMPLER_LABELS[sweep['settings']['sampler']]}, {sweep['settings']['steps']} steps"
        st.markdown(quality_facts.guidance_setting_sentence(
            current, scales, sweep["confidence"], sweep["diversity"], measured_with=measured_with,
            class_asked=st.session_state["rv_class"] != "none"))
        st.caption(f"{sweep['per_class']} digits per class and scale, {sweep['settings']['sampler'].upper()} "
                   f"{sweep['settings']['steps']} steps, the same seeds at every scale; measured on "
                   f"{str(sweep.get('device', '?')).upper()} by `{sweep['command']}`.")


guidance_tradeoff()
