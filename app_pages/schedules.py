"""Page 2: noise schedules: how fast each one turns an image into noise, compared side by side."""
import math

import streamlit as st

from explainer.app.caches import shared
from explainer.app.noising import schedule_digest, schedules_scrubber
from explainer.app.pickers import image_picker, notes
from explainer.app.resources import get_schedule
from explainer.app.shell import controls, fragment, page_setup, plot
from explainer.app.url_state import ON_DEMAND_HELP, choice_param, float_param, on_demand, url_state, write_url
from explainer.core.schedules import DEFAULT_PARAMS, DESCRIPTIONS, SCHEDULE_NAMES, make_schedule
from explainer.lessons import schedule_figures
from explainer.lessons.schedule_facts import (CUSTOM_PRESETS, PARAM_SPECS, PURE_NOISE_MEANING, check_params,
                                              custom_schedule, landmark_rows, not_pure_noise_sentence, pure_noise_from,
                                              scaling_sentence)

page_setup()

T_CHOICES = [10, 50, 100, 250, 500, 1000, 2000]
# Facts about the published schedules at their T = 1000, stated on the page.
_SD_END = float(make_schedule("scaled_linear", 1000).alpha_bars[-1])
_LINEAR_1000_PURE = pure_noise_from(make_schedule("linear", 1000))
X_AXES = {"t": "timestep t", "t/T": "fraction t/T"}
CUSTOM_CHOICES = ["none", *CUSTOM_PRESETS]
LABELS = {"beta_start": "β_start", "beta_end": "β_end", "s": "offset s", "max_beta": "max β"}


def _parse_names(raw: str) -> list[str]:
    """'linear,cosine' (or a Python list as str() writes it) -> the schedule names, in SCHEDULE_NAMES order."""
    parts = [p.strip(" '\"") for p in raw.strip("[] ").split(",")]
    parts = [p for p in parts if p]
    bad = [p for p in parts if p not in SCHEDULE_NAMES]
    if bad:
        raise ValueError("it names a schedule that does not exist")  # the link's text is not echoed
    return [n for n in SCHEDULE_NAMES if n in parts]


def _param_key(name: str, param: str) -> str:
    return f"sc_{name}_{param}"


def _write_url_if_changed(defaults: dict[str, float]):
    """Mirror parameters in the URL only when they differ from the default, so shared links stay short."""
    for key, default in defaults.items():
        value = st.session_state.get(key)
        if value is not None and value != default:
            st.query_params[key] = str(value)
        elif key in st.query_params:
            del st.query_params[key]


@st.cache_resource(show_spinner=False, max_entries=32)
def _custom(preset: str, num_steps: int, params: tuple = ()):
    return custom_schedule(preset, num_steps, **dict(params))


st.title("2. Noise schedules: how fast the noise comes")
st.markdown(
    "The forward process adds a little Gaussian noise at every step $t$. The **noise schedule** says how "
    "much: $\\beta_t$ is the variance of the noise added at step $t$. Multiplying the *kept* fractions "
    "$1-\\beta_s$ of all the steps so far gives $\\bar\\alpha_t$: $x_t$ holds the image with weight "
    "$\\sqrt{\\bar\\alpha_t}$ and noise of variance $1-\\bar\\alpha_t$:"
)
st.latex(r"\bar\alpha_t = \prod_{s=0}^{t} (1-\beta_s), \qquad "
         r"x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon, \qquad "
         r"\mathrm{SNR}(t) = \frac{\bar\alpha_t}{1-\bar\alpha_t}")
st.markdown(
    "The **signal-to-noise ratio** (SNR) compares the image's variance with the noise's (for data of variance 1, "
    "as SNR(t) assumes). It falls from "
    "huge to almost zero, so we plot its logarithm: log-SNR $= 0$ is the moment signal and noise are "
    "equally strong. Different schedules spend their steps differently: a good schedule does not waste "
    "many steps where the image is still crisp, nor where it is already gone."
)

# ------------------------------------------------------------------ controls
url_state("sc_T", 1000, choice_param(T_CHOICES))
url_state("sc_show", list(SCHEDULE_NAMES), _parse_names)
url_state("sc_x", "t", choice_param(X_AXES))
url_state("sc_custom", "none", choice_param(CUSTOM_CHOICES))
param_defaults = {}
for _name in SCHEDULE_NAMES:
    for _param, _default in DEFAULT_PARAMS[_name].items():
        lo, hi, *_ = PARAM_SPECS[_param]
        param_defaults[_param_key(_name, _param)] = _default
        url_state(_param_key(_name, _param), _default, float_param(lo, hi))
for _preset, _spec in CUSTOM_PRESETS.items():
    for _param, (_default, lo, hi, _step, _label) in _spec.params.items():
        param_defaults[f"sc_custom_{_param}"] = _default
        url_state(f"sc_custom_{_param}", _default, float_param(lo, hi))

with controls():
    st.multiselect("Schedules to show", SCHEDULE_NAMES, key="sc_show",
                   help="All five are overlaid on the plots below; each keeps its colour on every plot.")
    c1, c2 = st.columns([3, 1])
    c1.select_slider("Number of steps T", T_CHOICES, key="sc_T",
                     help="DDPM uses T = 1000. With fewer steps each step adds more noise: the β range of linear, "
                          "quadratic, scaled_linear and sigmoid is scaled by 1000/T.")
    c2.radio("x axis", list(X_AXES), key="sc_x", format_func=X_AXES.get, horizontal=True,
             help="t/T puts every T on the same 0 to 1 scale (the papers count t = 1 ... T, so the last step "
                  "is at 1).")
    st.caption("Each schedule's parameters (the defaults are the published ones):")
    pcols = [c for _ in range(2) for c in st.columns(3)]  # two rows of three, so the names fit
    for col, name in zip(pcols, SCHEDULE_NAMES):
        with col.popover(name, icon=":material/tune:", width="stretch", help=DESCRIPTIONS[name]):
            st.caption(DESCRIPTIONS[name])
            for param in DEFAULT_PARAMS[name]:
                lo, hi, step, fmt, hlp = PARAM_SPECS[param]
                st.number_input(f"{name}: {LABELS[param]}", lo, hi, step=step, format=fmt,
                                key=_param_key(name, param), help=hlp)
            problem = check_params(name, {p: st.session_state[_param_key(name, p)] for p in DEFAULT_PARAMS[name]})
            if problem:  # said here too, where the user is typing
                st.warning(problem, icon=":material/warning:")
    with pcols[-1].popover("custom", icon=":material/function:", width="stretch",
                           help="A sixth schedule built from a formula for ᾱ that you pick."):
        st.selectbox("Formula for ᾱ(u), u = t/T", CUSTOM_CHOICES, key="sc_custom",
                     format_func=lambda k: "none" if k == "none" else CUSTOM_PRESETS[k].label)
        if st.session_state["sc_custom"] != "none":
            preset = CUSTOM_PRESETS[st.session_state["sc_custom"]]
            st.latex(preset.latex)
            st.caption(preset.description)
            for param, (_default, lo, hi, step, label) in preset.params.items():
                st.number_input(label, lo, hi, step=step, key=f"sc_custom_{param}")
write_url("sc_T", "sc_x", "sc_custom")
st.query_params["sc_show"] = ",".join(st.session_state["sc_show"])
_write_url_if_changed(param_defaults)

T = int(st.session_state["sc_T"])
x_axis = st.session_state["sc_x"]
_default_linear = get_schedule("linear", T)
_linear_pure_from = pure_noise_from(_default_linear)


def _build(name: str):
    """The schedule with the user's parameters, or with the last good ones and a warning."""
    params = {p: float(st.session_state[_param_key(name, p)]) for p in DEFAULT_PARAMS[name]}
    last_ok_key = f"_sc_{name}_last_ok"
    problem = check_params(name, params)
    if problem is None:
        try:
            sched = get_schedule(name, T, tuple(sorted(params.items())))
        except ValueError as e:
            problem = str(e)
        else:
            st.session_state[last_ok_key] = params
            return sched
    fallback = st.session_state.get(last_ok_key, DEFAULT_PARAMS[name])
    st.warning(f"**{name}**: {problem} That change is ignored; still using "
               + ", ".join(f"{LABELS[k]} = {v:g}" for k, v in fallback.items()) + ".",
               icon=":material/warning:")
    return get_schedule(name, T, tuple(sorted(fallback.items())))


schedules = {name: _build(name) for name in st.session_state["sc_show"]}
custom_key = st.session_state["sc_custom"]
if custom_key != "none":
    cparams = {p: float(st.session_state[f"sc_custom_{p}"]) for p in CUSTOM_PRESETS[custom_key].params}
    try:
        csched = _custom(custom_key, T, tuple(sorted(cparams.items())))
    except ValueError as e:
        st.warning(f"**custom**: {e}. The custom schedule is left out.", icon=":material/warning:")
    else:
        schedules[csched.name] = csched

if not schedules:
    st.info("Pick at least one schedule above to see the plots.", icon=":material/show_chart:")
    st.stop()

# ------------------------------------------------------------------ the curves
st.header("The schedules side by side")
_scaled = scaling_sentence(schedules.values())
if _scaled:
    st.caption(_scaled)
TAB_TEXT = {
    "alpha_bar": "ᾱₜ starts near 1 (all image) and falls to near 0 (all noise). The linear schedule drops "
                 "fast " + (f"and then spends its last {T - _linear_pure_from} of {T} steps (from t = "
                            f"{_linear_pure_from}, default β) on practically pure noise ({PURE_NOISE_MEANING})"
                            if _linear_pure_from is not None else "") +
                 "; the cosine schedule falls almost in a straight line through the middle.",
    "beta": "linear, quadratic, scaled_linear and sigmoid set βₜ directly; cosine and custom set ᾱ and derive "
            "βₜ = 1 − ᾱₜ/ᾱₜ₋₁ from it. Tiny differences here (note the log scale) add up over many steps. "
            "The cosine schedule's β shoots up at the very end (its ᾱ reaches 0) and is clipped at max β.",
    "sqrt_alpha_bar": "√ᾱₜ multiplies the image in xₜ: how much of its contrast is left (pixels in [−1, 1] are "
                      "pulled towards mid-grey, 0).",
    "sqrt_one_minus_alpha_bar": "√(1 − ᾱₜ) multiplies the noise ε. Its square plus (√ᾱₜ)² is always 1, so "
                                "Var(xₜ) = ᾱₜ·Var(x₀) + 1 − ᾱₜ: it stays 1 at every step for data of variance 1 "
                                "(Song et al. 2021 call this process *variance-preserving*).",
    "log_snr": "log-SNR falls through 0 (the dotted line, signal = noise). A schedule that reaches the far "
               "bottom early leaves many steps with nothing left to learn; one that never gets low ends before "
               "the image is really gone.",
}
sched_keys = tuple((n, schedule_digest(s)) for n, s in schedules.items())
TAB_NAMES = ["ᾱₜ", "βₜ", "√ᾱₜ", "√(1 − ᾱₜ)", "log-SNR"]


@fragment
def curves_view():
    # Only the open tab's figure is sent: every rerun would otherwise hash and send all five. Picking
    # a tab reruns this part of the page alone.
    tabs = st.tabs(TAB_NAMES, key="sc_tab", on_change="rerun")
    for tab, quantity in zip(tabs, schedule_figures.SCHEDULE_QUANTITIES):
        if tab.open:
            with tab:
                st.caption(TAB_TEXT[quantity])
                plot(shared(("sc_curves", sched_keys, quantity, x_axis),
                            lambda: schedule_figures.schedule_curves(schedules, quantity, x_axis=x_axis,
                                                                     height=400)),
                     key=f"sc_fig_{quantity}")


curves_view()

# ------------------------------------------------------------------ landmarks
st.header("Landmarks: where each schedule ends")
st.markdown(
    "Sampling starts from pure noise $x_T \\sim \\mathcal N(0, I)$. That is only right if the schedule "
    "really ends there: if $\\bar\\alpha_{T-1}$ is not close to 0, the noisy images the model saw in "
    "training still held a faint copy of the picture, so at generation time it starts from something it "
    "never saw. This is the **zero terminal SNR** problem of Lin et al. (2024); Stable Diffusion's "
    f"scaled_linear schedule is the famous example: at T = 1000 it ends at ᾱ = {_SD_END:.2g}, so the last "
    f"$x_t$ still holds the image with weight √ᾱ = {math.sqrt(_SD_END):.1%}."
)
rows = landmark_rows(schedules)
st.dataframe(rows, hide_index=True, width="stretch", key="sc_landmarks", column_config={
    "schedule": st.column_config.TextColumn("schedule", pinned=True),
    "ᾱ at t = T−1": st.column_config.NumberColumn(format="%.2e", help="ᾱ at the last step (0 would be ideal)."),
    "image left √ᾱ at T−1": st.column_config.NumberColumn(format="percent",
                                                          help="The weight of the image in the last xₜ."),
    "SNR at T−1 (dB)": st.column_config.NumberColumn(format="%+.1f", help="10·log10(SNR) at the last step."),
    "SNR = 1 at t": st.column_config.NumberColumn(format="%d", help="The first step where noise is as strong "
                                                  "as the image (empty: never, within T steps)."),
    "SNR = 1 at t/T": st.column_config.NumberColumn(format="%.2f", help="The same, as a fraction of the steps."),
    "KL to N(0, I) (nats/dim)": st.column_config.NumberColumn(
        "L_T: bound on KL to N(0, I) (nats/dim)", format="%.2e",
        help="DDPM's L_T: the KL of q(x_{T−1} | x₀) from N(0, I), averaged over unit-variance pixels, "
             "−½·log(1 − ᾱ_{T−1}) per pixel. It is an upper bound on the KL of q(x_{T−1}) itself from N(0, I) "
             "(0 = a perfect match)."),
})
if any(r["SNR = 1 at t"] is None for r in rows):
    st.caption("**None** under 'SNR = 1': that schedule's SNR is still above 1 at the last step, so its x_{T−1} "
               "is more image than noise.")
st.caption(not_pure_noise_sentence(schedules))

# ------------------------------------------------------------------ the same image under every schedule
st.header("The same image at the same t under every schedule")
st.markdown("The same picture, the same noise ε and the same step $t$: only the schedule differs. Move $t$ "
            "and see which schedule wipes the picture out first.")
img, img_id = image_picker("sc", max_side=256)
notes(img)


@fragment
def same_t_view():
    # 24 frames per schedule at 160 pixels: the browser swaps them while t is dragged.
    schedules_scrubber("sc_t", schedules, img_id, img, int(st.session_state.get("seed", 0)),
                       default=min(T // 2, T - 1), side=160, n_frames=24, log_snr_chart=True,
                       label="Timestep t (0 = almost clean, T−1 = the end)")
    st.caption("The dashed line marks t. 0 dB means signal and noise are equally strong; every −10 dB is ten "
               "times less signal than noise.")


if on_demand("sc_show_t", "Show the image under every schedule", help=ON_DEMAND_HELP):
    same_t_view()

st.header("Which one should I use?")
st.markdown(
    f"- **linear** (DDPM) is simple, but at T = 1000 it reaches practically pure noise at t = {_LINEAR_1000_PURE}, "
    f"so its last {1000 - _LINEAR_1000_PURE} steps are spent on nearly nothing.\n"
    "- **cosine** (improved DDPM) spreads the change of log-SNR more evenly; Nichol & Dhariwal found it better "
    "for 64×64 and 32×32 images.\n"
    f"- **scaled_linear** (Stable Diffusion, which diffuses in a latent space) stops short of pure noise: at "
    f"T = 1000 it ends at ᾱ ≈ {_SD_END:.2g}. Lin et al. (2024) show the consequence: such a model cannot "
    "generate very dark or very bright pictures until the schedule is rescaled to zero terminal SNR.\n"
    "- Bigger images need *more* noise for the same effect (see the forward page): high-resolution models "
    "shift their log-SNR down."
)
st.caption("Steps count from t = 0 here; the papers count from 1. Lin et al. 2024: *Common Diffusion Noise "
           "Schedules and Sample Steps are Flawed*; Nichol & Dhariwal 2021: *Improved DDPM*.")
