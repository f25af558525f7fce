"""Page 3: learning to denoise: the training step, four readings of one prediction, the loss over t,
the wrong time, the variational bound on 1-D data, and the model at points of its own training."""
import math

import numpy as np
import streamlit as st

from explainer.app.caches import shared
from explainer.app.compute import compute_slot
from explainer.app.pickers import digit_upload
from explainer.app.resources import bundled_digits, get_schedule, mnist_or_stop
from explainer.app.scrubber import scrubber
from explainer.app.shell import controls, fragment, page_setup, plot
from explainer.app.training_runs import (learning_frames, snapshot_frames, snapshot_samples, training_step_at,
                                         variational_bounds, wrong_time_frames)
from explainer.app.url_state import choice_param, float_param, int_param, on_demand, url_state, write_url
from explainer.core import elbo, loss_weighting, objectives
from explainer.lessons import image_arrays, objective_figures, schedule_facts, weighting_facts
from explainer.lessons.notation import number
from explainer.models import pretrained
from explainer.models.denoiser import class_label

page_setup()

st.title("3. Learning to denoise: how the network is trained")
st.markdown(
    "Between the forward process (fixed, no learning) and sampling (run the network backwards) sits the one "
    "part that is learned: a network that looks at a noisy image $x_t$ and the time $t$ and names the noise "
    "$\\varepsilon$ in it. Everything below is computed live with the app's own digit model, on real "
    "MNIST digits it never saw in training."
)

device, pre = mnist_or_stop()

T = pre.schedule.num_steps
NULL = pre.model.null_label
digits, digit_labels = bundled_digits()
N_DIGITS = len(digits)
CLASS_OPTIONS = ["true", "none"] + [str(d) for d in range(10)]
seed = int(st.session_state["seed"])


def _pick_random_digit():
    st.session_state["ln_digit"] = int(np.random.default_rng().integers(N_DIGITS))


url_state("ln_digit", 0, int_param(0, N_DIGITS - 1))
url_state("ln_class", "true", choice_param(CLASS_OPTIONS))
with controls("The digit and what the model is told"):
    c = st.columns([2, 1.4, 2.2, 3], vertical_alignment="bottom")
    c[0].number_input(f"Held-out digit (0-{N_DIGITS - 1})", 0, N_DIGITS - 1, step=1, key="ln_digit",
                      help="One of the held-out MNIST digits that ship with the app; the model never trained on them.")
    c[1].button("Random digit", on_click=_pick_random_digit, icon=":material/casino:")
    upload = None
    with c[3]:
        upload = digit_upload("ln_upload")
    true_label = None if upload is not None else int(digit_labels[st.session_state["ln_digit"]])

    def _class_text(o: str) -> str:
        if o == "true":
            return "its own class" + ("" if true_label is None else f" ({true_label})")
        if o == "none":
            return "no class (∅)"
        return f"class {o}" + (" (wrong)" if true_label is not None and int(o) != true_label else "")

    dropout = float(pre.card["training"].get("label_dropout", 0.0))
    c[2].selectbox("The class the model is told", CLASS_OPTIONS, key="ln_class", format_func=_class_text,
                   help=f"The model was trained with the right class {1 - dropout:.0%} of the time and with no "
                        f"class {dropout:.0%} of the time. Tell it a wrong one and see what happens.")
write_url("ln_digit", "ln_class")

if upload is not None:
    x0, ident = upload
    st.caption("Your picture, as the model sees it (28×28, white on black). It has no known class: 'its own "
               "class' means no class here.")
else:
    x0, ident = digits[st.session_state["ln_digit"]], f"heldout:{st.session_state['ln_digit']}"
label = class_label(st.session_state["ln_class"], true_label, NULL)
dev = device.type


# ------------------------------------------------------------------ 1. one training step

st.header("1. One training step, by hand")
left, right = st.columns([4, 3], gap="large")
TRAINING = pre.card["training"]
left.markdown(
    f"Training repeats one small step over and over (Ho et al. 2020, Algorithm 1; the bundled model took "
    f"{TRAINING['steps']:,} of them, {TRAINING['batch_size']} digits at a time): take a real image "
    "$x_0$, draw a random time $t$ and fresh noise $\\varepsilon$, jump to $x_t$ in one go, and ask the "
    "network to name the noise. The loss says how wrong it was; a gradient step makes it a little less "
    "wrong. Here is that step for one digit, at every $t$: drag the slider or press **Random t**."
)
right.code("repeat\n"
           "  x₀ ~ q(x₀)     a real digit\n"
           "  t  ~ Uniform{0 … T−1}\n"
           "  ε  ~ N(0, I)\n"
           "  gradient step on\n"
           "  ∇θ‖ε − εθ(√ᾱₜx₀ + √(1−ᾱₜ)ε, t)‖²\n"
           "until converged", language=None)


@fragment
def training_step_section():
    ts, frames, _, curves = learning_frames(ident, label, true_label, seed, dev, _x0=x0)
    scrubber("ln_t", frames, ts, default=T // 2)
    if st.button("Random t, as training does", icon=":material/casino:",
                 help=f"Draws t uniformly from all {T} timesteps and runs the step there."):
        st.session_state["ln_rand_t"] = int(np.random.default_rng().integers(T))
    rt = st.session_state.get("ln_rand_t")
    if rt is not None:
        one = training_step_at(ident, label, seed, dev, rt, _x0=x0)
        ab = float(pre.schedule.alpha_bars[rt])
        cols = st.columns([1, 1, 1, 3], vertical_alignment="center")
        cols[0].image(image_arrays.upscale(one.x_t[0], 5), caption=f"x_{rt}", width="stretch")
        cols[1].image(image_arrays.upscale(one.eps_hat[0] / 3, 5), caption="ε̂ (÷3)", width="stretch")
        cols[2].image(image_arrays.upscale((one.eps_hat[0] - one.eps) / 3, 5), caption="ε̂ − ε (÷3)", width="stretch")
        with cols[3]:
            st.metric(f"Drawn: t = {rt}. Loss ‖ε − ε̂‖²", f"{one.loss[0]:.4f}")
            st.latex(rf"\|\varepsilon - \varepsilon_\theta({number(math.sqrt(ab), tex=True)}\,x_0 + "
                     rf"{number(math.sqrt(1 - ab), tex=True)}\,"
                     rf"\varepsilon,\ {rt})\|^2 / {28 * 28} = {one.loss[0]:.4f}")
    st.latex(r"L_\text{simple} = \mathbb E_{t, x_0, \varepsilon}\Big[\big\|\varepsilon - \varepsilon_\theta"
             r"\big(\sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon,\ t\big)\big\|^2\Big]"
             r"\qquad\text{(Ho et al. 2020, Eq. 14)}")
    names = list(curves)
    if true_label is not None and len(names) == 3:
        own, wrong = curves[names[0]], curves[names[2]]
        j = int(np.argmax(wrong - own))
        st.markdown(
            f"**Right class, no class, wrong class.** Told {names[2].replace(' (wrong)', '')}, a wrong class, "
            f"the loss is furthest above the right class's at t = {ts[j]} ({wrong[j]:.4f} against "
            f"{own[j]:.4f}); at t = {ts[0]} the two are {wrong[0]:.4f} and {own[0]:.4f}. Where the noise hides "
            "the digit, the class is what the model has to go on.")
    st.caption(f"Training dropped the class {dropout:.0%} of the time (label dropout), so the same network "
               "learned ε̂(x_t, t, class) and ε̂(x_t, t, ∅). Classifier-free guidance (page 5) steps along their "
               "difference, ε̂ = ε̂_∅ + s·(ε̂_class − ε̂_∅), which is why it makes digits look more like the "
               "class asked for.")


training_step_section()


# ------------------------------------------------------------------ 2. four readings

st.header("2. One network, four readings")
st.markdown(
    "The network outputs $\\hat\\varepsilon$, but since $x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + "
    "\\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon$ is known, the same output is also a guess of the clean digit "
    "$\\hat x_0$, of the score $\\hat s = \\nabla_x \\log q(x_t)$, and of the velocity $\\hat v$ "
    "(Salimans & Ho 2022). " + shared(("ln_readings_text", T, pre.schedule.name),
                                       lambda: weighting_facts.readings_sentence(pre.schedule))
)
st.latex(r"\hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon}{\sqrt{\bar\alpha_t}},\qquad "
         r"\hat s = -\frac{\hat\varepsilon}{\sqrt{1-\bar\alpha_t}},\qquad "
         r"\hat v = \sqrt{\bar\alpha_t}\,\hat\varepsilon - \sqrt{1-\bar\alpha_t}\,\hat x_0")


@fragment
def readings_section():
    ts, _, frames, _ = learning_frames(ident, label, true_label, seed, dev, _x0=x0)
    scrubber("ln_rt", frames, ts, default=T // 4)
    ab = pre.schedule.alpha_bars
    st.caption("All four pictures come from the same network call. The score is the same picture as ε̂ with "
               f"the sign flipped and scaled by 1/√(1−ᾱₜ), which grows as t → 0: {1 / math.sqrt(1 - ab[-1]):.3f} "
               f"at t = {T - 1}, {1 / math.sqrt(1 - ab[0]):.0f} at t = 0. Near the data it points home hard.")
    st.page_link("app_pages/score.py", label="4. Score field (2D): the score as arrows, exact and learned",
                 icon=":material/scatter_plot:")


readings_section()


# ------------------------------------------------------------------ 3. which noise levels are hard

st.header("3. Which noise levels are hard")
st.markdown(
    "Training draws t uniformly, so L_simple puts the same weight on every timestep (per unit of log-SNR it "
    "does not: choose the log-SNR axis below to see why). Here is the bundled model's "
    "loss at each t on the held-out digits, and how other objectives would weigh the same errors "
    "(Kingma & Gao 2023): each is L_simple with a weight w_t on the ε-error at each noise level."
)
LOSS_SPACES = {"eps": "noise ε (what it is trained on)", "x0": "clean image x₀", "v": "velocity v"}
AXES = {"t": "timestep t", "log_snr": "log-SNR λ"}
WEIGH = {"weights": "the weights alone", "times_loss": "weight × this model's loss"}


@fragment
def noise_levels_section():
    curve = pre.card.get("loss_curve")
    if not curve:
        st.info("The model card has no loss curve yet. Compute it (a minute or two on a CPU) with "
                "`python -m explainer.evaluate --only loss`.", icon=":material/info:")
        return
    url_state("ln_space", "eps", choice_param(LOSS_SPACES))
    url_state("ln_axis", "t", choice_param(AXES))
    url_state("ln_weigh", "weights", choice_param(WEIGH))
    c = st.columns(3)
    c[0].radio("Left: the error of", list(LOSS_SPACES), key="ln_space", format_func=LOSS_SPACES.get)
    c[1].radio("Against", list(AXES), key="ln_axis", format_func=AXES.get)
    c[2].radio("Right: each objective's", list(WEIGH), key="ln_weigh", format_func=WEIGH.get)
    write_url("ln_space", "ln_axis", "ln_weigh")
    space, axis = st.session_state["ln_space"], st.session_state["ln_axis"]
    p1, p2 = st.columns(2)
    with p1:
        plot(shared(("ln_loss", space, axis),
                    lambda: objective_figures.loss_over_t(curve, pre.schedule, space, axis, height=400)),
             key="ln_loss")
    with p2:
        with_loss = curve if st.session_state["ln_weigh"] == "times_loss" else None
        plot(shared(("ln_weights", axis, with_loss is not None),
                    lambda: objective_figures.objective_weights(pre.schedule, axis, with_loss, height=400)),
             key="ln_weights")
    ts = np.asarray(curve["t"])
    cls = np.asarray(curve["eps_mse"]["class"])
    none = np.asarray(curve["eps_mse"]["none"])
    x0_err = cls * objectives.error_factor("x0", pre.schedule.alpha_bars[ts])
    hard_eps, hard_x0 = int(ts[np.argmax(cls)]), int(ts[np.argmax(x0_err)])
    k = int(np.argmax(none - cls))
    why = (" Naming the noise is hard where there is little of it; guessing the clean digit is hard where "
           "little of it is left." if hard_eps < T // 4 and hard_x0 > 3 * T // 4 else "")
    st.markdown(
        f"Told its class, the model finds the noise hardest to name at t = {hard_eps} (ε-loss {cls.max():.4f}) "
        f"and easiest at t = {ts[np.argmin(cls)]} ({cls.min():.4g}); its clean-digit guess x̂₀ is worst at "
        f"t = {hard_x0} (x₀-loss {number(x0_err.max())}) and best at t = {ts[np.argmin(x0_err)]} "
        f"({number(x0_err.min())}).{why} Knowing the class helps most at t = {ts[k]}: ε-loss {none[k]:.4f} without "
        f"it, {cls[k]:.4f} with it.")
    worst = int(np.argmax(x0_err))
    mean_mse = shared(("mean_digit_mse", N_DIGITS), lambda: float(np.mean((digits - digits.mean(0)) ** 2)))
    st.markdown(weighting_facts.x0_error_sentence(pre.schedule, hard_x0, float(cls[worst]), float(x0_err[worst]),
                                                 mean_mse))
    times_loss = st.session_state["ln_weigh"] == "times_loss"
    # Computed once per schedule and curve for every session: sums over all T steps.
    text = shared(("ln_weighting_text", pre.schedule.name, T, curve["command"], curve["seed"], times_loss, axis),
                  lambda: _weighting_text(pre.schedule, curve, times_loss, axis))
    st.caption(text)


def _weighting_text(schedule, curve: dict, times_loss: bool, axis: str) -> str:
    parts = [weighting_facts.last_step_sentence(schedule), weighting_facts.shares_sentence(schedule, "the weights")]
    if times_loss:
        loss = loss_weighting.loss_at_every_t(curve["t"], curve["eps_mse"]["class"], schedule.num_steps)
        parts.append("The right-hand plot multiplies each weight by this model's loss: where each objective's value "
                     f"comes from. The loss is measured at {len(curve['t'])} values of t and interpolated (linear in "
                     "log-loss) to every t, so that each step counts once, as in training. "
                     + weighting_facts.shares_sentence(schedule, "weight × loss", loss))
    if axis == "log_snr":
        parts.append(weighting_facts.lambda_axis_sentence(schedule))
    parts.append(f"The ELBO has no ε-term at t = 0 (its term there is the decoder L₀). The loss curve: "
                 f"{curve['digits']} held-out digits, {len(curve['t'])} values of t, seed {curve['seed']}; "
                 f"recompute it with `{curve['command']}`.")
    return "\n\n".join(p for p in parts if p)  # one paragraph each: the clip, the shares, the axis, the data


noise_levels_section()


# ------------------------------------------------------------------ 4. the wrong time

st.header("4. Tell it the wrong time")
st.markdown(
    "The network gets t as an input. Does it need it? Make $x_t$ at the true t, then tell the model a "
    "different t′: it then expects the wrong amount of noise, and its clean-image guess "
    "$\\hat x_0 = (x_t - \\sqrt{1-\\bar\\alpha_{t'}}\\,\\hat\\varepsilon)/\\sqrt{\\bar\\alpha_{t'}}$ falls apart."
)
TRUE_T_CHOICES = [25, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900]


@fragment
def wrong_time_section():
    url_state("ln_true_t", 300, choice_param(TRUE_T_CHOICES))
    st.select_slider("The true t of x_t", TRUE_T_CHOICES, key="ln_true_t")
    write_url("ln_true_t")
    t = int(st.session_state["ln_true_t"])
    tps, frames, s = wrong_time_frames(ident, t, label, seed, dev, _x0=x0)
    scrubber("ln_tp", frames, tps, default=t)
    st.markdown(
        f"Over the {len(tps)} values of t′, the noise loss is lowest at t′ = {s['best_t_prime']} "
        f"({s['best_loss']:.4f}); the true t is {t} (the nearest t′ on the slider, {s['nearest_t_prime']}, "
        f"gives {s['loss_at_nearest']:.4f}). The worst t′ gives {s['worst_loss']:.4f}. The network reads the "
        "noise level from t: without it, it would have to guess it from the picture.")


# Its own network run for each student's digit and seed: made when asked, so the page opens fast for a class.
if on_demand("ln_show_wrong", "Tell the model a wrong t",
             help="Runs the model once at every t′ on your digit; made when you ask, so the page opens fast for "
                  "a whole class."):
    wrong_time_section()


# ------------------------------------------------------------------ 5. the bound, exactly

st.header("5. The bound, exactly: diffusion as a hierarchical VAE")
st.markdown(
    "Seen as a VAE, the forward chain is a fixed encoder and the reverse chain a decoder with T layers of "
    "latents. The negative log-likelihood, averaged over the data, is bounded by the expectation of a sum of "
    "terms over the forward chain $q(x_{0:T}) = q(x_0)\\,q(x_{1:T}|x_0)$ (Ho et al. 2020, Eq. 5; each term "
    "depends on $x_0$ and $x_t$):"
)
st.latex(r"\mathbb E_{q(x_0)}\big[-\log p(x_0)\big] \le \mathbb E_{q(x_{0:T})}\Big["
         r"\underbrace{D_\mathrm{KL}(q(x_T|x_0)\,\|\,p(x_T))}_{L_T}"
         r" + \sum_{t=2}^{T}\underbrace{D_\mathrm{KL}(q(x_{t-1}|x_t,x_0)\,\|\,p(x_{t-1}|x_t))}_{L_{t-1}}"
         r" \underbrace{-\log p(x_0|x_1)}_{L_0}\Big]")
st.markdown(
    "For images these terms need a trained network. For 1-D data drawn from a mixture of Gaussians every "
    "term is exact: the forward posterior q(xₜ₋₁ | x_t, x₀) is Gaussian (Eq. 7), and the reverse step "
    "p(xₜ₋₁ | x_t) = N(μ*(x_t), σₜ²) with its variance fixed (β̃ₜ or βₜ) has a best mean μ*(x_t), the one a "
    "perfect network would learn, that we can compute. It is the best mean at that variance, not the best "
    "Gaussian: σₜ² is chosen, not learned. No training, just formulas (cosine schedule)."
)
T_CHOICES = [2, 3, 4, 5, 10, 20, 50, 100, 200, 500, 1000]


@fragment
def bound_section():
    url_state("ln_mix", "two Gaussians", choice_param(elbo.MIXTURES))
    url_state("ln_T", 10, choice_param(T_CHOICES))
    url_state("ln_var", "beta", choice_param(elbo.VARIANCES))
    c = st.columns([2, 3, 3])
    c[0].selectbox("Data", list(elbo.MIXTURES), key="ln_mix")
    c[1].select_slider("Number of steps T", T_CHOICES, key="ln_T")
    c[2].radio("Reverse variance", list(elbo.VARIANCES), key="ln_var", format_func=elbo.VARIANCES.get,
               horizontal=True)
    write_url("ln_mix", "ln_T", "ln_var")
    mix_name, T_b, var = st.session_state["ln_mix"], int(st.session_state["ln_T"]), st.session_state["ln_var"]
    bounds = variational_bounds(mix_name, T_b)
    other_var = "beta_tilde" if var == "beta" else "beta"
    bound, other = bounds[var], bounds[other_var]
    p1, p2 = st.columns(2)
    with p1:
        plot(shared(("ln_bars", mix_name, T_b, var), lambda: objective_figures.bound_bars(bound, height=360)),
             key="ln_bars")
    st.markdown(
        f"With T = {T_b} and {elbo.VARIANCES[var]}: L_T = {number(bound.L_T)}, the {len(bound.L_t)} KL terms add up "
        f"to {bound.kl_sum:.4f}, L₀ = {bound.L_0:.4f}; the bound is {bound.total:.4f} nats, {bound.gap:.4f} above "
        f"the data's entropy ({bound.entropy:.4f}). With {elbo.VARIANCES[other_var]} it would be "
        f"{other.total:.4f}: {_better_variance(bound, other)} All in nats; L₀ is a negative log-density of a "
        "continuous variable, so it can be negative.")

    mix = elbo.MIXTURES[mix_name]
    schedule = get_schedule("cosine", T_b)
    url_state("ln_bt", 2, int_param(2, 1000))
    url_state("ln_xt", 0.3, float_param(-2.0, 2.0))
    url_state("ln_x0", 0.6, float_param(-1.2, 1.2))
    st.session_state["ln_bt"] = min(max(int(st.session_state["ln_bt"]), 2), T_b)
    c = st.columns(3)
    if T_b > 2:
        t = c[0].slider("Step t (for the per-t plot and the densities)", 2, T_b, key="ln_bt")
    else:
        t = 2
        c[0].caption("With T = 2 there is one KL term, t = 2.")
    x_t = c[1].slider("x_t", -2.0, 2.0, step=0.05, key="ln_xt")
    x0_value = c[2].slider("x₀ (known to q, not to p)", -1.2, 1.2, step=0.05, key="ln_x0")
    write_url("ln_bt", "ln_xt", "ln_x0")
    with p2:
        plot(shared(("ln_per_t", mix_name, T_b, var, t),
                    lambda: objective_figures.bound_per_t(bound, t, height=360)), key="ln_per_t")
    xs = np.linspace(-2.5, 2.5, 501)
    step = t - 1  # the slider shows the paper's t; the library counts from 0 (explainer.core.schedules)
    m_q, v_q = elbo.forward_posterior(schedule, step, x_t, x0_value)
    m_p, v_p = elbo.best_reverse(mix, schedule, step, x_t, var)
    true = elbo.true_reverse(mix, schedule, step, x_t)
    curves = {"data": mix.pdf(xs), "posterior": elbo.gaussian_pdf(xs, m_q, v_q), "true": true.pdf(xs),
              "model": elbo.gaussian_pdf(xs, m_p, v_p)}
    plot(shared(("ln_dens", mix_name, T_b, var, t, x_t, x0_value),
                lambda: objective_figures.reverse_step_densities(xs, curves, x_t, x0_value, t, height=380)),
         key="ln_dens")
    dens = curves["true"]
    modes = int(np.sum((dens[1:-1] > dens[:-2]) & (dens[1:-1] > dens[2:]) & (dens[1:-1] > 1e-3 * dens.max())))
    kl_here = elbo.gaussian_kl(m_q, v_q, m_p, v_p)
    st.markdown(
        f"At t = {t} and x_t = {x_t:.2f}: the true reverse step has {modes} mode{'s' if modes != 1 else ''} on "
        f"this plot, p (the best mean at its fixed variance) has mean {m_p:.3f} and variance {number(v_p)}, and "
        f"KL(q(xₜ₋₁ | x_t, x₀) ‖ p) = {number(kl_here)} nats for this x₀. Lₜ₋₁ is that KL averaged over every x₀ and "
        f"x_t: {number(bound.L_t[step - 1])}. When one step is large next to the gaps between the data's modes, the true "
        "reverse step can have several modes and no Gaussian fits it (T = 10, t = 2 shows it). "
        + schedule_facts.step_sizes_sentence(schedule))


def _better_variance(bound, other) -> str:
    """Which reverse variance gives the lower bound here, by how much, and what Ho et al. say about the two."""
    best, worse = (bound, other) if bound.total <= other.total else (other, bound)
    return (f"on these data and this T, {elbo.VARIANCES[best.variance]} gives the lower (better) bound, by "
            f"{worse.total - best.total:.4f} nats. Ho et al. (2020, §3.2) note that σ² = βₜ is optimal for "
            "x₀ ~ N(0, 1) and σ² = β̃ₜ for x₀ fixed at one point; β̃ₜ is the variance of q(xₜ₋₁ | x_t, x₀), which "
            "knows x₀, not of the true reverse step q(xₜ₋₁ | x_t).")


bound_section()


# ------------------------------------------------------------------ 6. watch it learn

st.header("6. Watch it learn")


@fragment
def snapshots_section():
    # The card and the snapshot files are read once per models folder, not on every rerun.
    steps = shared(("snapshot_steps", str(pretrained.MODELS_DIR)), pretrained.snapshot_steps)
    training = pre.card["training"]
    final = int(training.get("steps", 0))
    snap_mb = 4 * 2 * pre.card["architecture"]["parameters"] / 1e6  # four float16 copies of the weights
    if not steps:
        st.info("This copy of the app has no training snapshots of the digit model, so only its final state and "
                "its loss curve are shown. Snapshots are written by `python -m explainer.train mnist --steps "
                f"{final or 8000} --snapshots 0,250,1000,3000` (float16: {snap_mb:.1f} MB for those four).",
                icon=":material/info:")
        history = training.get("loss_history", [])
        if history:
            plot(objective_figures.training_loss_figure(history, height=300), key="ln_history")
        return
    snaps = training.get("snapshots", {})
    if snaps.get("source") == "re-run":
        st.markdown(
            f"The digit model at {len(steps) + 1} points of training, the same starting noise for every row (DDIM, "
            f"25 steps, guidance 3, classes 0-9), beside the training loss. Steps {', '.join(f'{s:,}' for s in steps)} "
            f"come from a re-run of the bundled model's training command (same recipe and seed, on the same kind of "
            f"CPU): its own run kept no intermediate weights. Floating-point differences make the two runs' weights "
            f"differ, but their training losses agree within {snaps['loss_max_relative_difference']:.1%} at every "
            f"logged step up to {max(steps):,}. The last row is the bundled model itself, after {final:,} steps.")
    else:
        st.markdown(f"The bundled model at {len(steps) + 1} points of its own training, the same starting noise "
                    "for every row (DDIM, 25 steps, guidance 3, classes 0-9), beside its training loss.")
    key = (tuple(steps), final, seed, dev)
    if st.session_state.get("ln_snap_key") != key:
        if not st.button("Draw samples from every snapshot", type="primary", icon=":material/auto_fix_high:"):
            st.caption(f"Snapshots at steps {', '.join(f'{s:,}' for s in steps)} and the final model "
                       f"({final:,} steps): {len(steps) + 1} runs of 25 guided steps on 10 digits.")
            return
        bar = st.progress(0.0, text="Sampling ...")
        with compute_slot("the model"):
            for i, s in enumerate(steps + [None]):
                snapshot_samples(s, seed, dev)
                bar.progress((i + 1) / (len(steps) + 1), text=f"Sampling ... {i + 1} of {len(steps) + 1} models")
        bar.empty()
        st.session_state["ln_snap_key"] = key
    frames = snapshot_frames(tuple(steps), final, seed, dev)
    scrubber("ln_snap", frames, steps + [final], default=final)


snapshots_section()
