"""Page 1: the forward process: how an image turns into noise, exactly."""
import math

import numpy as np
import streamlit as st

from explainer.app.caches import shared
from explainer.app.noising import (PREVIEW_SIDE, SCRUB_FRAMES, chain_samples, forward_frames, noising_frames,
                                   preview_array, resolution_frames, schedules_scrubber)
from explainer.app.pickers import image_picker, notes
from explainer.app.resources import gaussian_noise, get_schedule
from explainer.app.scrubber import scrubber
from explainer.app.shell import controls, fragment, page_setup, plot
from explainer.app.url_state import (ON_DEMAND_HELP, choice_param, float_param, int_param, on_demand, url_state,
                                     write_url)
from explainer.core import forward, spectral
from explainer.core.schedules import DESCRIPTIONS, SCHEDULE_NAMES, snr_crossing
from explainer.lessons import (forward_figures, framesets, image_arrays, image_encoding, image_loading, schedule_facts,
                               spectrum_framesets)

page_setup()

T_CHOICES = [10, 50, 100, 250, 500, 1000, 2000]

st.title("1. The forward process: from image to noise")
st.markdown(
    "A diffusion model learns to **undo** a simple, fixed process that slowly buries an image in "
    "Gaussian noise. That forward process needs no learning at all: at every step $t$ the image is "
    "shrunk a little and fresh noise is added, until (with most schedules) nothing but noise is left. Pick an "
    "image and drag the timestep to watch it happen."
)

url_state("fw_schedule", "linear", choice_param(SCHEDULE_NAMES))
url_state("fw_T", 1000, choice_param(T_CHOICES))
url_state("fw_seed", 0, int_param(0, 2**31 - 1))
with controls():
    img, img_id = image_picker("fw", max_side=512)
    c1, c2, c3 = st.columns(3)
    c1.selectbox("Noise schedule", SCHEDULE_NAMES, key="fw_schedule", help="How fast noise is added; "
                 "compare them on the 'Noise schedules' page.")
    c2.select_slider("Number of steps T", T_CHOICES, key="fw_T",
                     help="DDPM uses T = 1000. Fewer steps means bigger jumps between steps: the β range of "
                          "linear, quadratic, scaled_linear and sigmoid is scaled by 1000/T.")
    c3.number_input("Noise seed", 0, 2**31 - 1, step=1, key="fw_seed",
                    help="Which random noise is drawn. The same seed always gives the same noise.")
write_url("fw_schedule", "fw_T", "fw_seed")
st.caption(DESCRIPTIONS[st.session_state["fw_schedule"]])
notes(img)

schedule = get_schedule(st.session_state["fw_schedule"], int(st.session_state["fw_T"]))
x0 = img.array
var_x0 = shared(("fw_var", img_id), lambda: float(preview_array(img).var()))  # of x0 as the frames show it
noise = gaussian_noise(x0.shape, int(st.session_state["fw_seed"]))
T = schedule.num_steps
st.caption(" ".join(s for s in (schedule_facts.scaling_sentence([schedule]), schedule_facts.end_sentence(schedule))
                    if s))


@fragment
def noising_view():
    # The browser swaps the precomputed frames while t is dragged; only the release reaches the server.
    ts, frames = forward_frames(img_id, st.session_state["fw_schedule"], T, int(st.session_state["fw_seed"]),
                                _img=img)
    st.latex(r"x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon,\qquad "
             r"\bar\alpha_t = \prod_{s\le t}(1-\beta_s)")
    scrubber("fw_t", frames, ts, default=min(T // 4, T - 1))
    st.caption(f"Drag the slider, use the arrow keys, or press ▶: {len(ts)} precomputed values of t, shown at "
               f"{PREVIEW_SIDE} pixels. The two weights' squares add up to 1, so Var(xₜ) = ᾱₜ·Var(x₀) + (1 − ᾱₜ): "
               f"the variance stays 1 only for data of variance 1. This image (as shown) has Var(x₀) = {var_x0:.3f}; "
               "Var(xₜ) follows t above (see the histogram). Song et al. (2021) call this process, DDPM's (Ho et "
               "al. 2020), *variance-preserving*. Steps count from t = 0 here; papers count from 1.")


noising_view()

st.header("The whole journey at a glance")
strip_ts = forward.evenly_spaced_timesteps(T, 8)
fw_key = (img_id, st.session_state["fw_schedule"], T, int(st.session_state["fw_seed"]))


def _filmstrip(x0_, noise_):
    return image_arrays.image_grid([forward.noised(schedule, x0_, t, noise_) for t in strip_ts], ncol=len(strip_ts), pad=4)


def _shown_filmstrip() -> str:
    # Shown at the main view's size (8 x 192 pixels is wider than the page) and with its noise: noise does
    # not compress, and the full-size strip was 2 MB per visitor. The download has every pixel.
    x0_small = preview_array(img)
    return image_encoding.jpeg_data_uri(_filmstrip(x0_small, gaussian_noise(x0_small.shape,
                                                                        int(st.session_state["fw_seed"]))), quality=75)


# A data URI, not a media file: it travels inside the (cached) message, so a rerun racing the browser's
# download cannot leave a broken picture behind.
strip_uri = shared(("fw_strip",) + fw_key, _shown_filmstrip)
st.image(strip_uri, caption="x_t at t = " + ", ".join(map(str, strip_ts)), width="stretch")
anim_ts = forward.evenly_spaced_timesteps(T, 24)
anim_frames = noising_frames(img_id, st.session_state["fw_schedule"], T, int(st.session_state["fw_seed"]),
                            tuple(anim_ts), _img=img)
d1, d2 = st.columns(2)
# Files are made only when the button is clicked (a callable), and clicking does not rerun the page.
d1.download_button("Download the filmstrip (PNG)", lambda: image_encoding.encode_png(_filmstrip(x0, noise)),
                   "filmstrip.png", "image/png", icon=":material/download:", width="stretch", on_click="ignore")
d2.download_button("Download the noising animation (GIF)", lambda: image_encoding.write_gif(anim_frames, duration_ms=120),
                   "noising.gif", "image/gif", icon=":material/download:", width="stretch", on_click="ignore")
# Built only on request: the frames travel to the browser inside the figure.
if st.toggle("Play it as an animation", key="fw_play", help="An animation of x_t with play and pause buttons."):
    uris = [image_encoding.jpeg_data_uri(f) for f in noising_frames(img_id, st.session_state["fw_schedule"], T,
                                                                int(st.session_state["fw_seed"]), tuple(anim_ts),
                                                                _img=img, side=192)]
    plot(forward_figures.image_animation(uris, [str(t) for t in anim_ts], "The forward process, step by step",
                                    height=480))


st.header("Two schedules, the same noise")
_lin, _cos = get_schedule("linear", T), get_schedule("cosine", T)
st.markdown(f"Same image, same noise ε, same $t$: only the schedule differs. The linear schedule of DDPM "
            f"destroys the image much earlier than the cosine schedule: with T = {T}, signal and noise are equally "
            f"strong (SNR = 1) at t = {snr_crossing(_lin)} under linear, at t = {snr_crossing(_cos)} under cosine.")


@fragment
def two_schedules():
    url_state("fw_cmp_a", "linear", choice_param(SCHEDULE_NAMES))
    url_state("fw_cmp_b", "cosine", choice_param(SCHEDULE_NAMES))
    c = st.columns(2)
    a = c[0].selectbox("Left schedule", SCHEDULE_NAMES, key="fw_cmp_a")
    b = c[1].selectbox("Right schedule", SCHEDULE_NAMES, key="fw_cmp_b")
    write_url("fw_cmp_a", "fw_cmp_b")
    schedules_scrubber("fw_cmp_t", {n: get_schedule(n, T) for n in (a, b)}, img_id, img,
                       int(st.session_state["fw_seed"]), default=T // 2, side=192, n_frames=32)


if on_demand("fw_show_cmp", "Show the two schedules side by side", help=ON_DEMAND_HELP):
    two_schedules()


st.header("Why small images are destroyed sooner")
st.markdown(
    "Neighbouring pixels of a photo are alike, but the noise added to them is independent. Averaging a "
    "block of $k\\times k$ pixels keeps the picture and divides the noise variance by $k^2$. So a large "
    "image keeps its **shapes** (the coarse content) visible long after the same schedule has wiped out "
    "a small image: the effective SNR of an image with $k$ times more pixels per side is $k^2$ times "
    "higher. This is why high-resolution models shift their schedules towards more noise."
)


@fragment
def resolution_demo():
    ts, frames = resolution_frames(img_id, st.session_state["fw_schedule"], T, int(st.session_state["fw_seed"]),
                                   _img=img)
    scrubber("fw_res_t", frames, ts, default=int(T * 0.45))


if on_demand("fw_show_res", "Show the three image sizes", help=ON_DEMAND_HELP):
    resolution_demo()


st.header("Many small steps = one big jump")
st.markdown(
    "The process is defined step by step, $q(x_t\\mid x_{t-1}) = \\mathcal N(\\sqrt{1-\\beta_t}\\,x_{t-1},\\ "
    "\\beta_t I)$, but because sums of Gaussians are Gaussian, we can jump straight to any $t$ with the "
    f"closed form above. Here {forward.CHAIN_SAMPLES:,} copies of one pixel are noised both ways: the histograms "
    "agree."
)


@fragment
def chain_demo():
    c = st.columns(2)
    url_state("fw_chain_x0", 0.5, float_param(-1.0, 1.0))
    url_state("fw_chain_t", min(T - 1, T // 5), int_param(0, T - 1))
    st.session_state["fw_chain_t"] = min(st.session_state["fw_chain_t"], T - 1)
    x0_value = c[0].slider("Pixel value x₀", -1.0, 1.0, step=0.05, key="fw_chain_x0")
    t = c[1].slider("Timestep t  ", 0, T - 1, key="fw_chain_t")
    write_url("fw_chain_x0", "fw_chain_t")
    chain, jump = chain_samples(st.session_state["fw_schedule"], T, x0_value, t,
                                int(st.session_state["fw_seed"]))
    ab = float(schedule.alpha_bars[t])
    plot(shared(("fw_chain", st.session_state["fw_schedule"], T, x0_value, t, int(st.session_state["fw_seed"])),
                lambda: forward_figures.chain_vs_closed_form(chain, jump, x0_value, t, height=320)))
    st.markdown(
        f"| | mean | variance |\n|---|---|---|\n"
        f"| {t + 1} Markov steps | {chain.mean():+.4f} | {chain.var():.4f} |\n"
        f"| one closed-form jump | {jump.mean():+.4f} | {jump.var():.4f} |\n"
        f"| theory: √ᾱ·x₀ and 1−ᾱ | {math.sqrt(ab) * x0_value:+.4f} | {1 - ab:.4f} |")


chain_demo()


st.header("The spectral view")
st.markdown(
    "Split the picture into waves: coarse ones (the big shapes) and fine ones (edges, texture). The **power "
    "spectrum** says how much of the image lives at each frequency. Photos put most of their power in the coarse "
    "waves; white noise has the **same power at every frequency**, a flat line. Noising scales the image's "
    "spectrum by $\\bar\\alpha_t$ and lays a flat floor of height $1-\\bar\\alpha_t$ under it: as $t$ grows "
    "the floor rises and covers the weak, fine waves first. Denoising, run backwards, therefore builds a picture "
    "**coarse to fine** (Dieleman 2024, *Diffusion is spectral autoregression*).")
st.latex(r"P_{x_t}(f) \approx \bar\alpha_t\,P_{x_0}(f) + (1-\bar\alpha_t)\,P_{\varepsilon}(f),\qquad "
         r"P_{\varepsilon}(f) \approx 1")


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def spectrum_frames(ident: str, schedule_name: str, num_steps: int, seed: int,
                    _img: image_loading.LoadedImage) -> tuple[list[int], bytes, dict]:
    """The spectral view at the main view's values of t, for the same picture and noise, plus when each ring drowns."""
    x0 = preview_array(_img)
    eps = gaussian_noise(x0.shape, seed)
    sched = get_schedule(schedule_name, num_steps)
    ts = framesets.frame_indices(num_steps, SCRUB_FRAMES)
    fs = spectrum_framesets.spectrum_frameset(sched, x0, eps, ts, label="Timestep t (spectral view)")
    sp = spectral.noised_spectra(x0, eps, [])
    drown = spectral.drowning_timesteps(sched, sp["x0"], sp["eps"])
    return ts, fs.to_bytes(), {"freqs": sp["freqs"], "drown": drown, "side": min(x0.shape[:2])}


@fragment
def spectral_view():
    h, w = shared(("fw_preview_shape", img_id), lambda: preview_array(img).shape[:2])
    if min(h, w) < 8:
        st.info(f"The spectral view needs a picture at least 8 pixels on each side; this one is {w}×{h} as shown "
                "above. Pick another image to see it.", icon=":material/info:")
        return
    ts, frames, info = spectrum_frames(img_id, st.session_state["fw_schedule"], T, int(st.session_state["fw_seed"]),
                                       _img=img)
    scrubber("fw_spec_t", frames, ts, default=min(T // 4, T - 1))
    f, drown = info["freqs"], info["drown"]

    def when(j: int) -> str:
        return f"t = {drown[j]}" if drown[j] >= 0 else "never, even at t = T−1"

    mid = int(np.argmin(np.abs(np.log(f) - np.log(0.05))))
    order = ("The finest waves go first" if 0 <= drown[-1] < drown[0] or (drown[-1] >= 0 > drown[0])
             else "Here the order is not coarse-to-fine")
    st.markdown(
        f"**When each frequency is drowned**, for this picture ({info['side']} pixels on its short side, as shown "
        f"above) and this schedule: the finest waves (f = {f[-1]:.2f} cycles/pixel, 2-pixel detail) from "
        f"{when(len(f) - 1)}; waves of about {1 / f[mid]:.0f} pixels (f = {f[mid]:.3f}) from {when(mid)}; the "
        f"coarsest (f = {f[0]:.4f}, a wave across the whole picture) from {when(0)}. {order}.")
    st.caption("Power: |FFT|² with orthonormal scaling, averaged over rings of equal frequency and over colour "
               "channels, so white noise of variance 1 sits at 1 at every frequency. The dashed vertical line marks the "
               "lowest frequency where the noise floor is above the image. Computed from the very pictures and "
               "noise shown in the main view, not drawn.")


if on_demand("fw_show_spec", "Show the spectra", help=ON_DEMAND_HELP):
    spectral_view()
