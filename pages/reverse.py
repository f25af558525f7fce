"""Page 4: reverse sampling with the bundled MNIST model."""
import numpy as np
import streamlit as st

from explainer import figures, images, models, ui
from explainer.generate import generate, parse_labels, sdedit
from explainer.samplers import SAMPLER_LABELS, SAMPLERS, dpmpp_2m_latex, step_coefficients

ui.page_setup()

st.title("4. Reverse sampling: drawing digits out of noise")
st.markdown(
    "Now the learned part. A small neural network (bundled with this app, trained on 4,500 real MNIST "
    "digits) looks at a noisy image $x_t$ and predicts the noise $\\hat\\varepsilon$ in it. Starting from "
    "pure noise, each step removes a little of that predicted noise. **DDPM** takes many small random "
    "steps; **DDIM** takes a few large, deterministic ones; **DPM-Solver++(2M)** reuses the previous step's "
    "guess to take second-order steps, for the same digits in fewer. **Guidance** pushes the picture towards the "
    "class you ask for."
)

try:
    device = ui.device_choice()
    pre = ui.get_model("mnist", device.type)
except models.ModelError as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

T = pre.schedule.num_steps
rec = pre.card["recommended"]
CLASS_OPTIONS = ["all", "none"] + [str(d) for d in range(10)]
CLASS_LABELS = {"all": "all ten digits (0-9)", "none": "no class (unconditional)"}
STEP_CHOICES = [5, 10, 20, 25, 50, 100, 250, 500, 1000]
N_CHOICES = [1, 4, 8, 16, 32]

ui.url_state("rv_class", "all", ui.choice_param(CLASS_OPTIONS))
ui.url_state("rv_guidance", float(rec["guidance"]), ui.float_param(0.0, 10.0))
ui.url_state("rv_sampler", rec["sampler"], ui.choice_param(list(SAMPLERS)))
ui.url_state("rv_steps", int(rec["steps"]), ui.choice_param(STEP_CHOICES))
ui.url_state("rv_eta", float(rec["eta"]), ui.float_param(0.0, 1.0))
ui.url_state("rv_n", 16, ui.choice_param(N_CHOICES))
with ui.controls():
    c = st.columns([2, 2, 1.3, 2])
    c[0].selectbox("Class", CLASS_OPTIONS, key="rv_class", format_func=lambda o: CLASS_LABELS.get(o, f"digit {o}"),
                   help="Which digit to draw. 'No class' lets the model choose.")
    c[1].slider("Guidance scale s", 0.0, 10.0, step=0.5, key="rv_guidance",
                help="ε̂ = ε̂_uncond + s·(ε̂_class − ε̂_uncond). s = 1: plain conditional model; s = 0: ignores "
                     "the class; larger s: clearer digits, less variety.")
    c[2].radio("Sampler", list(SAMPLERS), key="rv_sampler", format_func=SAMPLER_LABELS.get,
               horizontal=True)
    c[3].select_slider("Number of steps", STEP_CHOICES, key="rv_steps",
                       help="How many denoising steps, spread over t = T−1 … 0. DDPM was trained for 1000.")
    c = st.columns([2, 2, 3])
    c[0].slider("DDIM η (0 = deterministic)", 0.0, 1.0, step=0.1, key="rv_eta",
                disabled=st.session_state["rv_sampler"] != "ddim",
                help="How much fresh noise DDIM adds per step. η = 1 behaves like DDPM.")
    c[1].select_slider("Number of digits", N_CHOICES, key="rv_n")
    c[2].caption(f"Seed **{st.session_state['seed']}** and device **{device.type.upper()}** come from the sidebar. "
                 f"Same seed, same digits.")
ui.write_url("rv_class", "rv_guidance", "rv_sampler", "rv_steps", "rv_eta", "rv_n")

settings = dict(sampler=st.session_state["rv_sampler"], steps=int(st.session_state["rv_steps"]),
                eta=float(st.session_state["rv_eta"]) if st.session_state["rv_sampler"] == "ddim" else 0.0,
                guidance=float(st.session_state["rv_guidance"]), seed=int(st.session_state["seed"]),
                spacing=rec["spacing"], clip_x0=rec["clip_x0"])
n = int(st.session_state["rv_n"])
labels = parse_labels(st.session_state["rv_class"], n, pre.model.null_label)


def run_with_progress(label: str, fn):
    bar = st.progress(0.0, text=label)
    try:
        return fn(lambda i, k: bar.progress(i / k, text=f"{label} step {i} of {k}"))
    finally:
        bar.empty()


key = ("generate", str(device), st.session_state["rv_class"], n, tuple(sorted(settings.items())))
if st.button("Generate", type="primary", icon=":material/auto_fix_high:"):
    st.session_state["rv_result"] = ui.cached_run(
        key, lambda: run_with_progress("Denoising ...", lambda cb: generate(
            pre, labels, keep_trajectory=True, progress=cb, **settings)))
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
    grid = images.digit_grid(result.images)
    st.image(images.upscale(grid, 4), caption="The generated digits (white ink on black, as in MNIST).")


@ui.fragment
def step_through():
    res = st.session_state.get("rv_result")
    if res is None or res.x_t is None:
        return
    st.header("Step through the trajectory")
    k = len(res.kept_steps)
    ui.url_state("rv_step", 0, ui.int_param(0, 10_000))
    ui.url_state("rv_digit", 0, ui.int_param(0, 31))
    st.session_state["rv_step"] = min(st.session_state["rv_step"], k - 1)
    st.session_state["rv_digit"] = min(st.session_state["rv_digit"], len(res.images) - 1)
    c = st.columns([4, 1])
    j = c[0].slider("Step (0 = the start, pure noise)", 0, k - 1, key="rv_step",
                    help=None if k == len(res.timesteps) else
                    f"{k} of the {len(res.timesteps)} steps are kept for viewing, evenly spaced.")
    d = c[1].number_input("Which digit", 0, len(res.images) - 1, key="rv_digit")
    ui.write_url("rv_step", "rv_digit")
    i = res.kept_steps[j]
    t = res.timesteps[i]
    t_prev = res.timesteps[i + 1] if i + 1 < len(res.timesteps) else -1
    s = res.settings
    co = step_coefficients(pre.schedule, t, t_prev, s["sampler"], s["eta"])
    cols = st.columns(4)
    cols[0].image(images.upscale(res.x_t[j, d], 6), caption=f"input x_{t}", width="stretch")
    cols[1].image(images.upscale(res.eps_hat[j, d] / 3, 6), caption="predicted noise ε̂ (÷3)",
                  width="stretch")
    cols[2].image(images.upscale(res.x0_hat[j, d], 6), caption="predicted clean image x̂₀",
                  width="stretch")
    cols[3].image(images.upscale(res.x_prev[j, d], 6),
                  caption=f"output x_{t_prev}" if t_prev >= 0 else "output x₀ (final)", width="stretch")
    st.latex(r"\hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon}{\sqrt{\bar\alpha_t}}"
             rf"\qquad \bar\alpha_{{{t}}} = {co['alpha_bar_t']:.5f}")
    tp = "{" + str(t_prev) + "}"
    if s["sampler"] == "ddim":
        st.latex(r"x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}-\sigma^2}\,\hat\varepsilon"
                 r" + \sigma z \quad\text{(DDIM, Eq. 12)}")
        st.latex(rf"x_{tp} = {co['c_x0']:.4f}\,\hat x_0 + {co['c_eps']:.4f}\,\hat\varepsilon + {co['sigma']:.4f}\,z")
    elif s["sampler"] == "dpm++2m":
        for line in dpmpp_2m_latex(pre.schedule, t, t_prev, res.timesteps[i - 1] if i > 0 else None):
            st.latex(line)
    else:
        st.latex(r"x_{t'} = \frac{\sqrt{\bar\alpha_{t'}}\,\beta}{1-\bar\alpha_t}\hat x_0 + "
                 r"\frac{\sqrt{\alpha}\,(1-\bar\alpha_{t'})}{1-\bar\alpha_t}x_t + \sigma z \quad\text{(DDPM, Eq. 7/11)}")
        st.latex(rf"x_{tp} = {co['c_x0']:.4f}\,\hat x_0 + {co['c_xt']:.4f}\,x_{{{t}}} + {co['sigma']:.4f}\,z")
    st.caption("t′ is the next visited timestep (−1 means the clean end, ᾱ = 1). x̂₀ is clipped to [−1, 1], "
               "as pixel values must be.")
    ui.plot(figures.visited_timesteps(pre.schedule, res.timesteps, i, height=ui.fig_height(260)))


step_through()

if result is not None and result.x_t is not None:
    st.header("The trajectory as a filmstrip")
    idx = sorted({int(round(v)) for v in np.linspace(0, len(result.kept_steps) - 1, 8)})
    d = int(st.session_state.get("rv_digit", 0)) % len(result.images)
    rows = [result.x_t[j, d] for j in idx] + [result.images[d]]
    rows0 = [result.x0_hat[j, d] for j in idx] + [result.images[d]]
    strip = images.image_grid(rows + rows0, ncol=len(rows), pad=2, pad_value=128)
    st.image(images.upscale(strip, 4), caption="Top: x_t at t = "
             + ", ".join(str(result.timesteps[result.kept_steps[j]]) for j in idx)
             + ", then the result. Bottom: the model's guess x̂₀ at the same steps.", width="stretch")

    def trajectory_gif() -> bytes:
        frames = [images.digit_grid(x)
                  for x in result.x_t]
        final = images.digit_grid(result.images)
        return images.write_gif(frames + [final] * 10, duration_ms=70, upscale=3)

    c = st.columns(2)
    c[0].download_button("Download the denoising animation (GIF)", trajectory_gif, "denoising.gif", "image/gif",
                         icon=":material/download:", on_click="ignore", width="stretch")
    c[1].download_button("Download the digits (PNG)", lambda: images.encode_png(images.upscale(grid, 4)),
                         "digits.png", "image/png", icon=":material/download:", on_click="ignore", width="stretch")


st.header("Start from your own image (SDEdit)")
st.markdown(
    "Instead of pure noise, start from *your* picture, noised to a time $t_0$ with the forward process, and "
    "let the model denoise it (Meng et al., 2022). At small $t_0$ your image survives; at large $t_0$ only "
    "its rough shape does, and the model redraws it as the digit it \"wants\" to see."
)


@ui.fragment
def sdedit_section():
    img, img_id = ui.image_picker("rv_sd", max_side=256, mode="L", default="Handwritten digit (28x28)",
                                  label="Starting image")
    ui.url_state("rv_sd_t0", 600, ui.int_param(0, T - 1))
    ui.url_state("rv_sd_class", "none", ui.choice_param(CLASS_OPTIONS[1:]))
    ui.url_state("rv_sd_invert", "auto", ui.choice_param(["auto", "yes", "no"]))
    c = st.columns([3, 2, 2])
    t0 = c[0].slider("Noise it to t₀", 0, T - 1, key="rv_sd_t0")
    c[1].selectbox("Class", CLASS_OPTIONS[1:], key="rv_sd_class",
                   format_func=lambda o: CLASS_LABELS.get(o, f"digit {o}"))
    c[2].radio("Invert colours", ["auto", "yes", "no"], key="rv_sd_invert", horizontal=True,
               help="MNIST digits are white on black. 'auto' inverts pictures with a light background.")
    ui.write_url("rv_sd_t0", "rv_sd_class", "rv_sd_invert")
    x = images.to_model_input(img.pil, 28, invert=images.needs_invert(img.pil, st.session_state["rv_sd_invert"]))
    sd_key = ("sdedit", img_id, str(device), t0, st.session_state["rv_sd_class"], st.session_state["rv_sd_invert"],
              int(st.session_state["seed"]), settings["guidance"])
    if st.button("Denoise it", icon=":material/auto_fix_high:"):
        st.session_state["rv_sd_result"] = ui.cached_run(sd_key, lambda: sdedit(
            pre, x, t0, label=st.session_state["rv_sd_class"], n=4, seed=int(st.session_state["seed"]),
            steps=50, guidance=settings["guidance"], clip_x0=True))
        st.session_state["rv_sd_key"] = sd_key
    cols = st.columns(6)
    cols[0].image(images.upscale(x, 5), caption="your image (28×28)", width="stretch")
    out = st.session_state.get("rv_sd_result")
    if out is not None and st.session_state.get("rv_sd_key") == sd_key:
        x_t0, res = out
        cols[1].image(images.upscale(x_t0[0], 5), caption=f"noised to t₀ = {t0}", width="stretch")
        for j in range(4):
            cols[2 + j].image(images.upscale(res.images[j], 5), caption=f"denoised, noise #{j + 1}", width="stretch")
        st.caption(f"{res.settings['steps']} DDIM steps from t₀ = {t0}, guidance {settings['guidance']}, "
                   f"{res.seconds:.2f} s on {res.device.upper()}.")
    else:
        cols[1].caption("Press **Denoise it** to see what the model makes of it.")


sdedit_section()


st.header("One seed, several samplers")
st.markdown("The same starting noise $x_T$ through DDPM, DDIM and DPM-Solver++(2M) at several step counts. "
            "DDIM with η = 0 is deterministic, so it keeps the same digit as the steps change; DDPM adds fresh "
            "noise every step. DPM-Solver++(2M) follows the same deterministic path as DDIM, more accurately "
            "per step.")
RUNS = [("ddim", 5), ("ddim", 10), ("ddim", 25), ("ddim", 100), ("dpm++2m", 10), ("ddpm", 50), ("ddpm", 1000)]


@ui.fragment
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

        st.session_state["rv_cmp"] = (cmp_key, ui.cached_run(cmp_key, run_all))
    got = st.session_state.get("rv_cmp")
    if got is None or got[0] != cmp_key:
        which = "a 3, since all ten digits are chosen" if st.session_state["rv_class"] == "all" else \
            CLASS_LABELS.get(digit, "digit " + digit)
        st.caption(f"Draws one digit ({which}) with the guidance scale above and the sidebar seed.")
        return
    cols = st.columns(len(RUNS))
    for col, (smp, k), r in zip(cols, RUNS, got[1]):
        col.image(images.upscale(r.images[0], 5), width="stretch",
                  caption=f"{smp.upper()} {k} steps: {r.seconds * 1000:.0f} ms")


compare_samplers()
