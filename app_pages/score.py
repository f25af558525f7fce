"""Page 4: the score field of 2D toy data: exact, learned, Tweedie, and particles that follow it."""
import math
import uuid

import numpy as np
import streamlit as st

from explainer.app.caches import cached_run, shared
from explainer.app.compute import compute_slot
from explainer.app.resources import get_model, get_schedule
from explainer.app.scrubber import scrubber
from explainer.app.shell import controls, error_box, fragment, page_setup, plot
from explainer.app.url_state import choice_param, float_param, int_param, on_demand, url_state, write_url
from explainer.core import guidance, toy2d
from explainer.core import particles as sp
from explainer.lessons import framesets, objective_figures, sampling_figures, score_figures, score_framesets
from explainer.models import pretrained
from explainer.models.toy_models import learned_score_fn, score_relative_error

page_setup()

N_CHOICES = [500, 1000, 2000, 3000, 4000]
VIEW_LABELS = {"exact": "exact", "learned": "learned", "both": "both", "error": "error"}
SOURCE_LABELS = {"bundled": "bundled model", "trained": "trained here"}
LEVEL_CHOICES = [20, 50, 100]
STEP_CHOICES = [300, 1000, 1500, 3000]
SAMPLER_SHORT = {"langevin": "Langevin", "sde": "reverse SDE", "ode": "probability-flow ODE"}
T = sp.NUM_STEPS

st.title("4. The score field: which way to the data?")
st.markdown(
    "To turn noise back into data, a diffusion model needs to know, at every point and every noise level, "
    "**which direction makes the point more likely**. That direction is the *score*, the gradient of the "
    "log-density of the noised data. For a small 2D data set we can compute it **exactly**, draw it as "
    "arrows, and compare it with what a small neural network learns."
)
st.latex(r"\text{score}(x) = \nabla_x \log p_t(x), \qquad "
         r"p_t(x) = \frac1N \sum_{i=1}^{N} \mathcal N\!\left(x;\ \sqrt{\bar\alpha_t}\,x_i,\ (1-\bar\alpha_t)\,I\right)")
st.caption("p_t is the data set blurred by the forward process: a Gaussian bump of variance 1 − ᾱₜ around each "
           "shrunk data point √ᾱₜ·xᵢ. The page uses the cosine schedule with T = 1000, like the bundled models.")

url_state("sf_dataset", "swiss_roll", choice_param(toy2d.DATASETS))
url_state("sf_n", 2000, choice_param(N_CHOICES))
url_state("sf_seed", 0, int_param(0, 10_000))
with controls():
    c = st.columns([2, 2, 1])
    c[0].selectbox("Data set", toy2d.DATASETS, key="sf_dataset", format_func=lambda d: d.replace("_", " "),
                   help="Six toy data sets in 2D, each centred and scaled by one factor for both axes (so shapes "
                        "are not distorted) to an overall RMS of 1 per coordinate; the spread along each axis "
                        "differs.")
    c[1].select_slider("Number of points N", N_CHOICES, key="sf_n",
                       help="How many data points. The exact score is a sum over all of them.")
    c[2].number_input("Data seed", 0, 10_000, step=1, key="sf_seed",
                      help="Which random points are drawn; the same seed gives the same data set.")
write_url("sf_dataset", "sf_n", "sf_seed")

dataset = st.session_state["sf_dataset"]
n_points = int(st.session_state["sf_n"])
data_seed = int(st.session_state["sf_seed"])
schedule = get_schedule(sp.SCHEDULE, T)
data_key = (dataset, n_points, data_seed)


# ------------------------------------------------------------------ cached results (small keys)

@st.cache_resource(show_spinner=False, max_entries=16)
def data_for(dataset: str, n: int, seed: int) -> np.ndarray:
    return sp.make_data(dataset, n, seed)


@st.cache_resource(show_spinner=False, max_entries=128)
def density_at(dataset: str, n: int, seed: int, t: int):
    return sp.density_grid(data_for(dataset, n, seed), float(schedule.alpha_bars[t]))


@st.cache_resource(show_spinner="Preparing the score field for every t ...", max_entries=32, ttl=3600)
def field_frames(dataset: str, n: int, seed: int, view: str, source_id: str | None, _score_fn) -> bytes:
    """The field view's frame set (every t, see score_framesets.field_frameset), shared by every session."""
    return score_framesets.field_frameset(data_for(dataset, n, seed), schedule, view, _score_fn,
                                          score_framesets.field_ts(T), seed=seed).to_bytes()


@st.cache_resource(show_spinner=False, max_entries=256)
def relative_error_at(source_id: str, dataset: str, n: int, seed: int, ts: tuple, _score_fn) -> dict:
    return score_relative_error(_score_fn, data_for(dataset, n, seed), schedule, ts, n=1000)


@st.cache_data(show_spinner=False, max_entries=32)
def cloud_summary_at(key: tuple, sampler: str, _traj, _ts) -> dict:
    return sp.cloud_summary(sampler, _traj, _ts, data_for(*key[1:4]))  # key starts with the data key


def bundled_model():
    """The bundled toy model of this data set, or None (with the reason) if there is none."""
    if dataset not in pretrained.TOY_MODELS:
        return None, f"There is no bundled model for **{dataset.replace('_', ' ')}**."
    try:
        return get_model(f"toy2d_{dataset}", "cpu"), None
    except pretrained.ModelError as e:
        return None, f"The bundled model for {dataset.replace('_', ' ')} could not be loaded: {e}"


def learned_sources() -> dict:
    """source -> (id for caches, score_fn) for the learned fields available now."""
    out = {}
    pre, _ = bundled_model()
    if pre is not None:
        out["bundled"] = (f"bundled:{dataset}", learned_score_fn(pre.model, pre.schedule))
    trained = st.session_state.get("sf_trained", {}).get(data_key)
    if trained is not None:
        out["trained"] = (f"trained:{trained['token']}", learned_score_fn(trained["model"], trained["schedule"]))
    return out


data = data_for(*data_key)
_spread = sp.data_spread(data)
st.caption(f"These {n_points} points: mean ({_spread['mean'][0]:+.2f}, {_spread['mean'][1]:+.2f}), overall RMS "
           f"{_spread['rms']:.2f} per coordinate, standard deviation {_spread['std'][0]:.2f} along x₁ and "
           f"{_spread['std'][1]:.2f} along x₂ (one scale factor for both axes keeps the shape).")
_, no_model_reason = bundled_model()
if no_model_reason:
    st.info(no_model_reason + " The exact score works without one; train a small model live at the bottom "
            "of the page to compare.", icon=":material/info:")


# ------------------------------------------------------------------ the field at one t

st.header("The score at one noise level")
st.markdown(
    "Drag $t$. The background is the density $p_t$ (bright = likely), the white dots are noised samples "
    "$x_t$ and the arrows are the score. **The score points towards where data is more likely**: at small $t$ "
    "it pulls every point onto the nearest piece of the data; at large $t$ the blurred data look like one "
    "round Gaussian, and the score simply points at the origin, $\\nabla \\log \\mathcal N(x; 0, I) = -x$."
)


@fragment
def field_view():
    url_state("sf_view", "exact", choice_param(score_figures.SCORE_VIEWS))
    url_state("sf_source", "bundled", choice_param(SOURCE_LABELS))
    sources = learned_sources()
    if st.session_state.pop("sf_source_next", None) in sources:
        st.session_state["sf_source"] = "trained"
        if st.session_state["sf_view"] == "exact":
            st.session_state["sf_view"] = "both"  # show the new model's field against the exact one
    c = st.columns([3, 2])
    view = c[0].segmented_control("Show the score", score_figures.SCORE_VIEWS, key="sf_view", required=True,
                                  format_func=VIEW_LABELS.get,
                                  help="exact: computed from the data. learned: the neural network's. "
                                       "both: on top of each other. error: learned − exact.")
    if sources:
        if st.session_state["sf_source"] not in sources:
            st.session_state["sf_source"] = next(iter(sources))
        c[1].radio("Learned model", list(sources), key="sf_source", format_func=SOURCE_LABELS.get,
                   horizontal=True)
    write_url("sf_view", "sf_source")
    source_id, score_fn = None, None
    if view != "exact":
        if sources:
            source_id, score_fn = sources[st.session_state["sf_source"]]
        else:
            st.info("No learned model for this data set yet: showing the exact score. Train one at the bottom "
                    "of the page.", icon=":material/model_training:")
            view = "exact"
    left, right = st.columns([3, 2])
    with left:
        # The browser swaps the precomputed fields while t is dragged; only the release reaches the server.
        ts = score_framesets.field_ts(T)
        frames = field_frames(*data_key, view, source_id, score_fn)
        t = int(scrubber("sf_t", frames, ts, default=ts[framesets.nearest_index(ts, 200)]))
    with right:
        st.markdown(
            f"Drag the slider, use the arrow keys, or press ▶: the field at {len(ts)} precomputed values of t. "
            "The numbers above the plot follow t.")
        st.markdown(
            "**Reading the arrows.** Each arrow starts at a grid point and points along the score. Its "
            "length grows with the score's size up to a cap (the 90th percentile of the exact field at this "
            "$t$), so long arrows mean a strong pull and tiny ones mean a flat spot of the density: usually a "
            "peak, but it can also be a saddle or a dip between peaks. White: exact score; orange: the learned "
            "one.")
        if view == "error":
            st.markdown("**Error view.** Arrows show learned − exact, the background its size. Far from the "
                        "data (the corners) the network never saw a training point, so there it only guesses: "
                        "that is why the relative error above weights the error by the density. Near the data, "
                        "networks learn a *smooth* field while the exact score of a finite point set is spiky "
                        "at small $t$; the error shrinks towards zero as $t$ grows.")
        st.caption("Hover over the plot to read the score at a grid point (below the plot). The plot shows "
                   "[−3, 3]².")
    ab = float(schedule.alpha_bars[t])
    density = density_at(*data_key, t)

    st.subheader("Tweedie's formula: from the score to a clean guess")
    st.markdown(
        "Pick a noisy point $x_t$. Knowing the score there is enough to compute the **average clean point** "
        "it could have come from: step along the score by $(1-\\bar\\alpha_t)$, then undo the shrinking "
        "by dividing by $\\sqrt{\\bar\\alpha_t}$. This is how a denoiser and a score model are the same thing. "
        f"Here at t = {t}, the t of the field above (it follows when you let go of that slider).")
    url_state("sf_px", 1.5, float_param(-sp.EXTENT, sp.EXTENT))
    url_state("sf_py", -1.0, float_param(-sp.EXTENT, sp.EXTENT))
    fig_col, txt_col = st.columns([1, 1])
    with txt_col:
        px = st.slider("Point x₁", -sp.EXTENT, sp.EXTENT, step=0.05, key="sf_px")
        py = st.slider("Point x₂", -sp.EXTENT, sp.EXTENT, step=0.05, key="sf_py")
        write_url("sf_px", "sf_py")
        score, x0_hat = sp.tweedie(data, (px, py), ab)
        st.latex(r"\hat x_0 = \mathbb E[x_0 \mid x_t = x] = \frac{x + (1-\bar\alpha_t)\,\nabla_x \log p_t(x)}"
                 r"{\sqrt{\bar\alpha_t}}")
        st.latex(rf"\hat x_0 = \frac{{\begin{{pmatrix}}{px:.2f}\\ {py:.2f}\end{{pmatrix}} + {1 - ab:.4f}"
                 rf"\begin{{pmatrix}}{score[0]:.2f}\\ {score[1]:.2f}\end{{pmatrix}}}}{{{math.sqrt(ab):.4f}}}"
                 rf" = \begin{{pmatrix}}{x0_hat[0]:.2f}\\ {x0_hat[1]:.2f}\end{{pmatrix}}")
        st.caption("At small t the guess lands on the data near your point; at large t almost nothing of the "
                   "signal is left, and the best guess is the mean of the whole data set, near (0, 0).")
    with fig_col:
        plot(shared(("sf_tweedie", data_key, t, px, py), lambda: score_figures.tweedie_figure(
            density, data[:sp.MAX_SHOWN], (px, py), score, x0_hat, ab, extent=sp.EXTENT, height=560)))


field_view()


# ------------------------------------------------------------------ particles

st.header("Follow the arrows: particles become data")
st.markdown(
    f"Start {sp.N_PARTICLES} points as pure noise and let them follow the score from $t = 999$ down to "
    "$t = 0$, with the field changing as $t$ shrinks. Three ways to do it:")
st.markdown(
    f"- **Annealed Langevin dynamics** (Song & Ermon 2019): at each noise level, {sp.LANGEVIN_INNER} small steps "
    "along the score, each with a little fresh noise. That number is this app's choice, to keep it quick; Song & Ermon "
    "take 100 steps at each of their 10 levels.\n"
    "- **Reverse SDE** (Song et al. 2021): the forward process run backwards in time, one random step per "
    "level. DDPM's ancestral sampler (Ho et al. 2020) is a discretisation of it.\n"
    "- **Probability-flow ODE** (Song et al. 2021): a deterministic path whose particles have the same "
    "distribution $p_t$ at every level; DDIM with η = 0 (Song, Meng & Ermon 2021) is a discretisation of it. It "
    "is *not* the SDE step with the noise left out: its drift gives the score half the weight it has in the "
    "SDE's drift.")

UPDATE_RULES = {
    "langevin": r"x \leftarrow x + \frac{\delta}{2}\,\nabla_x \log p_t(x) + \sqrt{\delta}\,z,\quad "
                r"z\sim\mathcal N(0, I),\quad \delta = 0.2\,(1-\bar\alpha_t)",
    "sde": r"x_{t'} = \frac{x_t + \beta\,\nabla_x \log p_t(x_t)}{\sqrt{1-\beta}} + \sqrt{\beta}\,z,\quad "
           r"\beta = 1 - \bar\alpha_t/\bar\alpha_{t'}",
    "ode": r"x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}}\,\hat\varepsilon,\quad "
           r"\hat\varepsilon = -\sqrt{1-\bar\alpha_t}\,\nabla_x \log p_t(x_t)",
}


@fragment
def particles_view():
    sources = learned_sources()
    options = ["exact"] + list(sources)
    url_state("sf_sampler", "ode", choice_param(sp.PARTICLE_SAMPLERS))
    url_state("sf_psource", "exact", choice_param(["exact", *SOURCE_LABELS]))
    url_state("sf_levels", 50, choice_param(LEVEL_CHOICES))
    if st.session_state["sf_psource"] not in options:
        st.session_state["sf_psource"] = "exact"
    c = st.columns([3, 2, 2])
    sampler = c[0].radio("Sampler", list(sp.PARTICLE_SAMPLERS), key="sf_sampler", format_func=SAMPLER_SHORT.get,
                         horizontal=True)
    source = c[1].radio("Score used", options, key="sf_psource", horizontal=True,
                        format_func=lambda s: "exact" if s == "exact" else SOURCE_LABELS[s],
                        help="The exact score of the data points, or a learned one.")
    L = c[2].select_slider("Noise levels L", LEVEL_CHOICES, key="sf_levels",
                           help="How many levels the particles visit on the way from t = 999 to 0.")
    write_url("sf_sampler", "sf_psource", "sf_levels")
    st.latex(UPDATE_RULES[sampler])
    if source == "exact":
        source_id, score_fn = f"exact:{dataset}:{n_points}:{data_seed}", sp.exact_score_fn(data)
    else:
        source_id, score_fn = sources[source]
    key = ("score_particles", *data_key, sampler, source_id, int(L), int(st.session_state.get("seed", 0)))
    pressed = st.button("Run the particles", icon=":material/play_arrow:", type="primary")
    if pressed:
        st.session_state["sf_particles_key"] = key
    if st.session_state.get("sf_particles_key") != key:
        st.caption(f"Press the button to move {sp.N_PARTICLES} particles (a few seconds with the exact score, "
                   f"longer for Langevin, which takes {sp.LANGEVIN_INNER} steps per level).")
        return
    bar = st.progress(0.0, text=f"Moving {sp.N_PARTICLES} particles with {sp.PARTICLE_SAMPLERS[sampler].label} ...")
    traj, ts = cached_run(key, lambda: sp.run_particles(
        sampler, score_fn, schedule, int(L), seed=int(st.session_state.get("seed", 0)),
        progress=lambda f: bar.progress(f, text=f"Moving {sp.N_PARTICLES} particles: {f:.0%}")),
        what="the particle sampler")
    bar.empty()
    idx, labels = sp.frame_plan(sampler, ts)
    score_name = "exact score" if source == "exact" else SOURCE_LABELS[source]
    title = sp.PARTICLE_SAMPLERS[sampler].label
    left, right = st.columns([3, 2])
    with left:
        plot(score_figures.particles_animation(traj[idx], data[:sp.MAX_SHOWN], labels,
                                            f"{title[0].upper()}{title[1:]}, {score_name}, L = {L}",
                                            extent=sp.EXTENT, height=620))
    with right:
        cloud = cloud_summary_at(key, sampler, traj, ts)
        st.markdown(
            "**What to look for.** Press ▶ Play or drag the slider. The cloud keeps about the same size all "
            f"the way (its RMS per coordinate stays between {cloud['rms'].min():.2f} and "
            f"{cloud['rms'].max():.2f}): the process is variance-preserving and the data have RMS 1. What "
            "changes is its shape, and late: the particles' mean distance to the nearest data point halves only "
            f"by t = {cloud['t_half']}, and in the last levels every particle is pulled onto the data. Blue "
            "lines are the paths of 20 particles.")
        st.markdown(
            "The **ODE** paths are smooth: the same start always gives the same end. The **SDE** and "
            "**Langevin** paths jitter, because they add fresh noise at every step.")
        st.caption("With the exact score the particles end *on* training points: the exact score of a finite "
                   "set remembers every point. A learned score is smoother, so it can also produce new points "
                   "between them. The starting noise comes from the sidebar's seed.")

particles_view()


# ------------------------------------------------------------------ live training

st.header("Train a score model yourself")
st.markdown(
    "The bundled models were trained beforehand. Here you can train the same small network (an MLP with "
    "three hidden layers of 128 units) on **these** points, live. It learns to predict the noise "
    "$\\varepsilon$ in $x_t$, which is the score up to a factor: "
    "$\\nabla_x \\log p_t(x) \\approx -\\hat\\varepsilon(x_t, t)/\\sqrt{1-\\bar\\alpha_t}$.")


@fragment
def training_view():
    url_state("sf_steps", 1500, choice_param(STEP_CHOICES))
    c = st.columns([3, 2])
    steps = c[0].select_slider("Training steps", STEP_CHOICES, key="sf_steps",
                               help="More steps, a better score, a longer wait (1,500 take a few seconds).")
    write_url("sf_steps")
    if c[1].button("Train a model on these points", icon=":material/model_training:"):
        bar = st.progress(0.0, text="Training ...")

        def callback(step, loss):
            bar.progress(step / steps, text=f"step {step} / {steps}: loss {loss:.3f}")

        try:
            with compute_slot("the trainer"):
                from explainer.models.training import train_toy2d

                model, sched, history = train_toy2d(dataset, steps=int(steps), seed=data_seed, data=data,
                                                    callback=callback)
        except Exception as e:  # a failed run is a message; the page carries on
            error_box(e, "Training")
            return
        token = uuid.uuid4().hex[:12]
        st.session_state.setdefault("sf_trained", {})[data_key] = dict(
            model=model, schedule=sched, history=history, token=token, steps=int(steps))
        st.session_state["sf_source_next"] = "trained"  # applied before the radio is drawn
        st.rerun()  # the whole page: the new model becomes a source above

    trained = st.session_state.get("sf_trained", {}).get(data_key)
    if trained is None:
        st.caption("Nothing trained on this data set yet in this session.")
        return
    sources = learned_sources()
    errors = {}
    for name, (source_id, score_fn) in sources.items():
        label = f"trained here ({trained['steps']} steps)" if name == "trained" else "bundled model"
        errors[label] = relative_error_at(source_id, *data_key, sp.ERROR_TS, score_fn)
    p1, p2 = st.columns(2)
    with p1:
        plot(objective_figures.training_loss_figure(trained["history"], height=320))
    with p2:
        plot(score_figures.score_error_by_t(errors, height=320))
    st.caption("The loss stays well above 0: even a perfect model cannot guess the noise exactly, only its "
               "average given x_t. Small t is the hardest part: there the exact score is sharp and large near "
               "the data. The relative error is E‖s_learned − s_exact‖ / E‖s_exact‖ over points drawn "
               "from p_t. The plot above now shows its field ('trained here').")


training_view()


# ------------------------------------------------------------------ guidance as sharpening

st.header("Guidance: sharpening one class")
st.markdown(
    "Now give the data **labels**. Here three overlapping Gaussian classes A, B and C, each one component of "
    "a mixture, so everything is exact: the noised density $p_t(x)$, each class's $p_t(x\\mid y)$, and the "
    "probability $p_t(y\\mid x)$ that a noisy point belongs to class $y$. *Classifier-free guidance* "
    "(Ho & Salimans 2022) follows the score of the class **plus** $s-1$ extra helpings of the classifier's pull:")
st.latex(r"\nabla_x \log p_t(x) + s\,\nabla_x \log p_t(y\mid x) \;=\; (1-s)\,\nabla_x \log p_t(x) + "
         r"s\,\nabla_x \log p_t(x\mid y) \;=\; \nabla_x \log\!\big[p_t(x\mid y)\,p_t(y\mid x)^{s-1}\big]")
st.markdown(
    "The reverse page writes the same thing with the network's noise prediction, which is the score times "
    "$-\\sqrt{1-\\bar\\alpha_t}$:")
st.latex(r"\hat\varepsilon = \hat\varepsilon_{\text{uncond}} + s\,(\hat\varepsilon_{\text{cond}} - "
         r"\hat\varepsilon_{\text{uncond}}) = -\sqrt{1-\bar\alpha_t}\,\big[\nabla_x \log p_t(x) + "
         r"s\,\nabla_x \log p_t(y\mid x)\big]")
st.caption("s = 0 ignores the label, s = 1 is the plain class-conditional model, s > 1 multiplies the class's "
           "density by its own posterior raised to s − 1: it keeps the places where the class is unambiguous "
           "and empties its edges, where other classes overlap (Dieleman 2022, \"Guidance: a cheat code\").")

GUIDE_EXTENT = 4.0
GUIDE_TS = [25, 100, 250, 500, 750]
GUIDE_CLASSES = guidance.three_classes().names


@st.cache_resource(show_spinner=False, max_entries=4)
def labelled_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    return guidance.sample(guidance.three_classes(), 900, seed=seed)


@st.cache_resource(show_spinner=False, max_entries=128)
def guidance_field_at(y: int, scale: float, t: int):
    """(guided field at t, sharpened density at t) for class y at scale s."""
    mix = guidance.three_classes()
    ab = float(schedule.alpha_bars[t])
    field = guidance.guided_score(mix, sp.field_points(GUIDE_EXTENT), y, scale, ab)
    return field, guidance.sharpened_density_grid(mix, y, scale, ab, extent=GUIDE_EXTENT)


@st.cache_resource(show_spinner=False, max_entries=32)
def guidance_sweep_for(y: int, seed: int) -> dict:
    return guidance.guidance_sweep(guidance.three_classes(), y, schedule, seed=seed)


@fragment
def guidance_view():
    url_state("sf_gclass", GUIDE_CLASSES[0], choice_param(GUIDE_CLASSES))
    url_state("sf_gscale", 3.0, choice_param(guidance.GUIDANCE_SCALES))
    url_state("sf_gt", 250, choice_param(GUIDE_TS))
    c = st.columns([1.2, 3, 2])
    name = c[0].radio("Class y", GUIDE_CLASSES, key="sf_gclass", horizontal=True,
                      help="Which class the particles are asked to become.")
    scale = c[1].select_slider("Guidance scale s", guidance.GUIDANCE_SCALES, key="sf_gscale",
                               help="0: ignore the class. 1: the class as it is. More: sharper, less varied.")
    t = c[2].select_slider("Arrows at t", GUIDE_TS, key="sf_gt",
                           help="The noise level at which the guided score and its density are drawn.")
    write_url("sf_gclass", "sf_gscale", "sf_gt")
    y = GUIDE_CLASSES.index(name)
    seed = int(st.session_state.get("seed", 0))
    field, density = guidance_field_at(y, float(scale), int(t))
    sweep = guidance_sweep_for(y, seed)  # the particles of every scale, run once per class and seed
    k = sweep["scales"].index(float(scale))
    particles = sweep["ends"][k]
    k1 = sweep["scales"].index(1.0)
    data_pts, data_labels = labelled_data(0)
    left, right = st.columns([3, 2])
    with left:
        plot(shared(("sf_guidance", y, float(scale), int(t), seed), lambda: score_figures.guidance_field_figure(
            sp.field_points(GUIDE_EXTENT), field, density, particles, data_pts, data_labels, GUIDE_CLASSES, y,
            extent=GUIDE_EXTENT, title=f"Class {name}, s = {scale:g}: the guided score at t = {t}", height=600)))
    with right:
        spread, spread1 = sweep["spread"][k], sweep["spread"][k1]
        conf, conf1 = sweep["confidence"][k], sweep["confidence"][k1]
        change = 1.0 - spread / spread1
        m = st.columns(2)
        m[0].metric("spread of the particles", f"{spread:.3f}", f"{-change:+.0%} against s = 1",
                    delta_color="off", help="Root-mean-square distance of the particles from their centre: "
                                            "how varied the samples are.")
        m[1].metric("mean p(y | x)", f"{conf:.1%}", f"{conf - conf1:+.1%} against s = 1",
                    delta_color="off", help="How sure the exact classifier is that a finished particle belongs "
                                            "to the class asked for.")
        if scale > 1:
            verdict = (f"**Diversity lost: {change:.0%}.** At s = {scale:g} the particles spread "
                       f"{spread:.3f} around their centre, against {spread1:.3f} at s = 1, and the classifier's "
                       f"confidence rises from {conf1:.1%} to {conf:.1%}.")
        elif scale < 1:
            verdict = (f"Below s = 1 guidance works the other way: the spread grows to {spread:.3f} "
                       f"(from {spread1:.3f} at s = 1) and the confidence falls to {conf:.1%}; at s = 0 the "
                       "particles ignore the class and fill all three.")
        else:
            verdict = (f"At s = 1 the particles sample the class as it is: spread {spread:.3f}, mean "
                       f"p(y | x) = {conf:.1%}. Move s up to sharpen.")
        st.markdown(verdict)
        target, target1 = sweep["target_spread"][k], sweep["target_spread"][k1]
        st.markdown(
            f"The density behind the arrows is $p_t(x\\mid y)\\,p_t(y\\mid x)^{{s-1}}$. At the clean end "
            f"its spread is {target:.3f} (against {target1:.3f} at s = 1). "
            + (f"The particles end {'tighter' if spread < target else 'wider'} than that ({spread:.3f}): "
               "guidance applied at every noise level is not exactly sampling the sharpened clean density "
               f"(Bradley & Nakkiran 2024){', it overshoots' if spread < target else ''}." if scale > 1 else ""))
        plot(shared(("sf_guidance_sweep", y, float(scale), seed), lambda: sampling_figures.guidance_sweep_figure(
            sweep["scales"], sweep["spread"], sweep["confidence"], current=float(scale),
            diversity_ref=spread1, diversity_name="spread of the particles",
            confidence_name="mean p(y | x)", ref_name="s = 1",
            extra={"name": "spread of p(x|y)·p(y|x)^(s−1)", "y": sweep["target_spread"]}, height=320)))
    centre, centre1, own = sweep["centre_distance"][k], sweep["centre_distance"][k1], sweep["class_centre_distance"]
    where = (f"The particles' centre lies {centre:.2f} from the middle of the data (class {name}'s own centre: "
             f"{own:.2f}; at s = 1: {centre1:.2f}). ")
    if scale > 1 and centre > centre1:
        where += "Guidance moves them away from the other classes, out of the overlaps"
        where += (": past the class's own centre. Guidance extrapolates." if centre > own
                  else ".")
    st.caption(where + f" {guidance.GUIDANCE_PARTICLES} particles start as pure noise (sidebar seed) and follow the "
               f"guided score along the probability-flow ODE in {guidance.GUIDANCE_LEVELS} DDIM steps (deterministic, "
               "like the reverse page's DDIM and DPM-Solver++ samplers, which solve the same ODE).")


# Its particles run for every guidance scale with the sidebar's seed: a second or two per new seed.
if on_demand("sf_show_guid", "Show the guided score and its particles",
             help="The particles are run for every guidance scale when you ask, so the page opens fast "
                  "for a whole class."):
    guidance_view()
