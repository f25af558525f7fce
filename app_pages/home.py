"""Home: what a diffusion model does, a live digit, and the lesson plan."""
import streamlit as st

from explainer.app.sampling_runs import DIGIT_GIF_SAMPLER, DIGIT_GIF_STEPS, digit_gif
from explainer.app.shell import page_setup
from explainer.core.samplers import SAMPLER_LABELS

page_setup()

st.title("Diffusion models, explained")

left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(
        "A **diffusion model** makes pictures by removing noise.\n\n"
        "1. **Forward process.** Take a real image and add a little Gaussian noise, again and again, until "
        "only noise is left. This needs no learning: it is a fixed recipe.\n"
        "2. **Learning.** Train a neural network to look at a noisy image and guess the noise that was "
        "added. Knowing the noise is the same as knowing which way the clean images lie (the *score*).\n"
        "3. **Reverse process.** Start from pure noise and let the network remove a little of its "
        "guessed noise at every step. After enough steps a new image appears, usually one that is not in the "
        "training data.\n\n"
        "Every picture in this app is computed live from the exact formulas, and the model on the right "
        "runs live on the server, on an ordinary CPU."
    )
with right:
    gif = digit_gif(int(st.session_state.get("seed", 0)))
    if gif is None:
        st.info("The bundled digit model is missing, so the live picture is off. Rebuild it with "
                "`python -m explainer.train mnist`.", icon=":material/info:")
    else:
        st.image(gif, caption=f"A digit emerging from noise: the bundled model, {DIGIT_GIF_STEPS} steps of "
                 f"{SAMPLER_LABELS[DIGIT_GIF_SAMPLER]}. Change the seed in the sidebar for another one.", width=280)

st.header("The lesson, page by page")
CARDS = [
    ("app_pages/forward.py", "1. Forward process", ":material/blur_on:",
     "Bury your own photo in noise, step by step, and see why one closed-form jump equals many small steps."),
    ("app_pages/schedules.py", "2. Noise schedules", ":material/show_chart:",
     "Linear, cosine, sigmoid ...: how fast the signal fades, and why the end point matters."),
    ("app_pages/learning.py", "3. Learning to denoise", ":material/school:",
     "One training step by hand, four readings of one prediction, which noise levels are hard, and the "
     "variational bound, exactly."),
    ("app_pages/score.py", "4. Score field (2D)", ":material/scatter_plot:",
     "On 2D toy data, see the arrows that point towards the data, and particles that follow them."),
    ("app_pages/reverse.py", "5. Reverse sampling", ":material/auto_fix_high:",
     "Draw digits from noise with a real model: DDPM, DDIM, guidance, and your own sketch (SDEdit)."),
    ("app_pages/reading.py", "Further reading", ":material/menu_book:",
     "The ten classic introductions, and how their notation maps onto this app's."),
]
cols = st.columns(3)
for i, (path, title, icon, blurb) in enumerate(CARDS):
    with cols[i % 3].container(border=True, height="stretch"):
        st.page_link(path, label=f"**{title}**", icon=icon)
        st.caption(blurb)

st.caption("Tip for teachers: every control is saved in the page address, so you can share a link to the exact "
           "picture you are showing. Presenter mode (sidebar) makes everything bigger for a projector.")
