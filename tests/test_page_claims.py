"""Every number or direction a page states is true (issue 12, section 1).

The library tests compute each claim the way the page does and would fail if the sentence were
false; the AppTest tests check that the page shows the computed number, not a typed one.
"""
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from conftest import assert_no_crash, open_page, scrubber
from explainer.app.noising import preview_array
from explainer.core import forward, toy2d
from explainer.core import particles as sp
from explainer.core.schedules import (BETA_CAP, BETA_DEFINED, SCHEDULE_NAMES, NoiseSchedule, cosine_alpha_bar,
                                 make_schedule, make_schedule_for_T, snr_crossing, terminal_kl)
from explainer.lessons import image_loading, objective_figures
from explainer.lessons.schedule_facts import (CUSTOM_PRESETS, PURE_NOISE_ALPHA_BAR, custom_alpha_bar, custom_schedule,
                                       end_advice, end_sentence, is_pure_noise, not_pure_noise_sentence,
                                       pure_noise_from, scaling_sentence)

APP = str(Path(__file__).resolve().parent.parent / "app.py")
T_CHOICES = [10, 50, 100, 250, 500, 1000, 2000]  # the T sliders of the forward and schedules pages


# ------------------------------------------------------------------ 1. the probability-flow ODE is not the SDE without noise

def test_ode_step_gives_the_score_half_the_weight_of_the_sde_step():
    """Score page: 'its drift gives the score half the weight it has in the SDE's drift'."""
    ab, beta = 0.5, 1e-4
    ab_prev = ab / (1.0 - beta)
    x, s = np.zeros((1, 2)), np.ones((1, 2))
    sde = toy2d.reverse_sde_step(x, s, ab, ab_prev, z=None)  # the SDE step with the noise left out
    ode = toy2d.ddim_step(x, s, ab, ab_prev)                 # DDIM eta = 0, the ODE's discretisation
    assert sde[0, 0] == pytest.approx(beta, rel=1e-3)
    assert ode[0, 0] / sde[0, 0] == pytest.approx(0.5, rel=1e-3)
    # The x (shrinking) part of the drift is the same in both: with score 0 they agree.
    x1 = np.ones((1, 2))
    assert toy2d.ddim_step(x1, 0 * s, ab, ab_prev) == pytest.approx(toy2d.reverse_sde_step(x1, 0 * s, ab, ab_prev),
                                                                     rel=1e-6)


# ------------------------------------------------------------------ 2, 10. the cloud keeps its size; RMS 1, per-axis not 1

@pytest.mark.parametrize("sampler", ["ode", "sde", "langevin"])
def test_particle_cloud_keeps_its_size_and_takes_the_shape_late(sampler):
    data = sp.make_data("swiss_roll", 500, 0)
    traj, ts = sp.run_particles(sampler, sp.exact_score_fn(data), make_schedule("cosine", 1000), 50, seed=0)
    cloud = sp.cloud_summary(sampler, traj, ts, data)
    assert 0.9 < cloud["rms"].min() and cloud["rms"].max() < 1.1  # it does not 'just shrink'
    assert cloud["t_half"] < 500  # the data's shape comes in the second half of the way (t counts down)
    assert cloud["near"][-1] < 0.25 * cloud["near"][0]


@pytest.mark.parametrize("name", toy2d.DATASETS)
def test_toy_data_are_centred_with_rms_one(name):
    spread = sp.data_spread(toy2d.make_dataset(name, n=20_000, seed=1))
    assert np.abs(spread["mean"]).max() < 0.05
    assert spread["rms"] == pytest.approx(1.0, abs=0.03)


def test_moons_spread_differs_per_axis():
    """The help said 'standard deviation 1'; the scaling is isotropic, so per axis it is not."""
    std = sp.data_spread(toy2d.make_dataset("moons", n=20_000, seed=1))["std"]
    assert std[0] == pytest.approx(1.21, abs=0.03) and std[1] == pytest.approx(0.70, abs=0.03)


# ------------------------------------------------------------------ 3. a larger p removes the image sooner

def test_cosine_power_larger_p_removes_the_image_sooner():
    u = np.linspace(0.05, 0.95, 19)
    for p_small, p_large in [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]:
        small = np.array([custom_alpha_bar("cosine_power", p=p_small)(v) for v in u])
        large = np.array([custom_alpha_bar("cosine_power", p=p_large)(v) for v in u])
        assert np.all(large < small)
    assert "a larger p removes the image sooner" in CUSTOM_PRESETS["cosine_power"].description
    # p = 2 is the cosine schedule (normalised so that alpha_bar(0) = 1).
    ab = custom_alpha_bar("cosine_power", p=2.0)
    assert ab(0.3) == pytest.approx(cosine_alpha_bar(0.3) / cosine_alpha_bar(0.0))


# ------------------------------------------------------------------ 4. small T: β scaled with T, and the end said

@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_make_schedule_for_T_is_make_schedule_at_1000_and_stays_below_one(name):
    assert np.array_equal(make_schedule_for_T(name, 1000).betas, make_schedule(name, 1000).betas)
    for T in T_CHOICES:
        s = make_schedule_for_T(name, T)
        assert s.num_steps == T and np.all(s.betas <= BETA_CAP) and np.all(s.betas > 0)
        if name in BETA_DEFINED:
            want = np.minimum(make_schedule(name, T).betas * 1000 / T, BETA_CAP)
            np.testing.assert_allclose(s.betas, want, rtol=1e-12)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_fewer_steps_mean_bigger_jumps(name):
    """Forward page: 'Fewer steps means bigger jumps'; schedules page: 'each step adds more noise'."""
    mid = [make_schedule_for_T(name, T).betas[T // 2] for T in T_CHOICES]
    assert all(a > b for a, b in zip(mid, mid[1:])), mid


@pytest.mark.parametrize("T", T_CHOICES)
def test_linear_destroys_the_image_earlier_than_cosine(T):
    assert snr_crossing(make_schedule_for_T("linear", T)) < snr_crossing(make_schedule_for_T("cosine", T))


NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def number_after(text: str, phrase: str) -> float:
    """The whole number written right after ``phrase`` in ``text`` (never a substring of a longer number:
    "T = 100" is not in "T = 1000")."""
    m = re.search(re.escape(phrase) + r"\s*(" + NUMBER + r")(?![\d.])", text)
    assert m, f"no number after {phrase!r} in {text!r}"
    return float(m.group(1))


def test_number_after_reads_whole_numbers():
    assert number_after("With linear and T = 1000, ...", "T =") == 1000
    assert number_after("multiplied by 1000/T = 0.5, as", "1000/T =") == 0.5
    assert number_after("x 2.4e-09)", "x") == 2.4e-09


@pytest.mark.parametrize("T", T_CHOICES)
@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_end_sentence_says_when_the_last_step_is_not_noise(name, T):
    s = make_schedule_for_T(name, T)
    ab = float(s.alpha_bars[-1])
    text = end_sentence(s)
    assert ("**not** pure noise" in text) == (ab >= PURE_NOISE_ALPHA_BAR) == (not is_pure_noise(s))
    assert number_after(text, f"With {name} and T =") == T
    if is_pure_noise(s):
        t0 = pure_noise_from(s)
        assert number_after(text, "pure noise from t =") == t0
        assert s.alpha_bars[t0] < PURE_NOISE_ALPHA_BAR and (t0 == 0 or s.alpha_bars[t0 - 1] >= PURE_NOISE_ALPHA_BAR)
    else:
        assert number_after(text, "with weight √ᾱ =") == round(100 * math.sqrt(ab), 1)
    scaled = scaling_sentence([s])
    if name in BETA_DEFINED and T != 1000:
        assert number_after(scaled, "multiplied by 1000/T =") == pytest.approx(1000 / T, rel=1e-3)
        capped = int(np.sum(s.betas >= BETA_CAP))
        m = re.search(r"the cap is reached at (\d+) of the (\d+) steps", scaled)
        assert (int(m.group(1)), int(m.group(2))) == (capped, T) if capped else m is None
    else:
        assert scaled is None


def test_the_published_schedules_end_where_the_pages_say():
    sd = make_schedule("scaled_linear", 1000).alpha_bars[-1]
    assert sd == pytest.approx(0.0047, abs=5e-5)       # 'ends at ᾱ ≈ 0.0047'
    assert math.sqrt(sd) == pytest.approx(0.068, abs=1e-3)  # the image's weight, not ᾱ itself
    assert not is_pure_noise(make_schedule("scaled_linear", 1000))
    assert pure_noise_from(make_schedule("linear", 1000)) == 917


@pytest.mark.parametrize("sched, param, value", [
    (make_schedule_for_T("scaled_linear", 1000), "beta_end", 0.02),
    (make_schedule_for_T("quadratic", 50), "beta_end", 0.03),
    (make_schedule_for_T("cosine", 10, max_beta=0.5), "max_beta", 0.9),
    (custom_schedule("cosine_power", 10, p=0.5), "p", 1.0),
    (custom_schedule("linear_log_snr", 100, lambda_min=-2.0), "lambda_min", -6.0),
])
def test_end_advice_moves_the_end_towards_noise(sched, param, value):
    advice, advised, direction = end_advice(sched)
    assert advised == param and (value - sched.params[param]) * direction > 0
    assert not is_pure_noise(sched)
    if "preset" in sched.params:
        preset = sched.params["preset"]
        others = {k: v for k, v in sched.params.items() if k in CUSTOM_PRESETS[preset].params and k != param}
        moved = custom_schedule(preset, sched.num_steps, **others, **{param: value})
    else:
        others = {k: v for k, v in sched.params.items() if k != param and k != "beta_scale"}
        moved = make_schedule_for_T(sched.name, sched.num_steps, **others, **{param: value})
    assert moved.alpha_bars[-1] < sched.alpha_bars[-1]
    assert advice in not_pure_noise_sentence({sched.name: sched})


@pytest.mark.parametrize("T", T_CHOICES)
def test_linear_in_alpha_bar_always_ends_in_noise_and_needs_no_advice(T):
    s = custom_schedule("linear_alpha_bar", T)
    assert is_pure_noise(s) and end_advice(s) is None


# ------------------------------------------------------------------ 5. L_T is an upper bound on the KL of q(x_T)

@pytest.mark.parametrize("ab", [0.5, 0.05, 0.0047, 1e-4])
def test_terminal_kl_is_l_t_and_bounds_the_kl_of_the_marginal(ab):
    sched = NoiseSchedule("one step", np.array([1.0 - ab]))
    bound = terminal_kl(sched)
    assert bound == pytest.approx(-0.5 * math.log1p(-ab))
    # Data x0 = ±1 (variance 1): q(x_T) is a mixture of two Gaussians; its KL to N(0, 1) by quadrature.
    x = np.linspace(-12, 12, 200_001)
    var = 1.0 - ab

    def normal(m, v):
        return np.exp(-0.5 * (x - m) ** 2 / v) / np.sqrt(2 * np.pi * v)
    q = 0.5 * normal(math.sqrt(ab), var) + 0.5 * normal(-math.sqrt(ab), var)
    kl = float(np.sum(q * (np.log(q) - np.log(normal(0.0, 1.0)))) * (x[1] - x[0]))
    assert -1e-12 <= kl < bound  # (quadrature rounding at the 1e-16 level)


# ------------------------------------------------------------------ 6. Var(x_t) = ᾱ Var(x0) + 1 − ᾱ, not 1

def test_noised_variance_is_one_only_for_unit_variance_data():
    sched = make_schedule("linear", 1000)
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, 200_000).astype(np.float32)  # pixels in [-1, 1]: Var = 1/3
    eps = rng.standard_normal(x0.shape).astype(np.float32)
    for t in (50, 150, 250):
        ab = float(sched.alpha_bars[t])
        got = float(forward.noised(sched, x0, t, eps).var())
        assert got == pytest.approx(forward.marginal_variance(ab, x0.var()), abs=0.01)
        assert got < 0.9  # not 1
    assert forward.marginal_variance(0.3, 1.0) == pytest.approx(1.0)


# ------------------------------------------------------------------ 7. β must stay below 1

def test_beta_one_is_refused_and_the_cap_keeps_it_below():
    with pytest.raises(ValueError):
        NoiseSchedule("bad", np.array([0.5, 1.0]))
    assert make_schedule_for_T("linear", 10).betas.max() == BETA_CAP < 1


# ------------------------------------------------------------------ 11. the loss is a mean over coordinates

def test_training_loss_is_the_mean_squared_error_per_coordinate():
    from explainer.models.training import diffusion_loss

    class Zero(torch.nn.Module):
        def forward(self, x, t):
            return torch.zeros_like(x)

    sched = make_schedule("cosine", 1000)
    x0 = torch.zeros(64, 2)
    loss = diffusion_loss(Zero(), sched, x0, torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    torch.randint(0, 1000, (64,), generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    assert float(loss) == pytest.approx(float(noise.pow(2).mean()))       # per coordinate
    assert float(loss) != pytest.approx(float(noise.pow(2).sum(1).mean()))  # not ‖ε − ε̂‖² per point
    fig = objective_figures.training_loss_figure([(25, 1.0), (50, 0.9)])
    assert "per coordinate" in fig.layout.yaxis.title.text


# ------------------------------------------------------------------ the pages show the computed numbers

def _open(page: str, **query) -> AppTest:
    return open_page(page, query, timeout=120)  # the one AppTest opener (tests/conftest.py)


def _text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


@pytest.mark.parametrize("name, T", [("linear", 10), ("scaled_linear", 1000)])
def test_forward_page_states_computed_facts(name, T):
    at = _open("app_pages/forward.py", fw_schedule=name, fw_T=str(T))
    text = _text(at)
    s = make_schedule_for_T(name, T)
    assert end_sentence(s) in text
    assert (scaling_sentence([s]) or "") in text
    fw = scrubber(at, "fw_t")
    assert "pure noise" not in fw.frames["label"]
    img = image_loading.load_image(Path(APP).parent / "assets" / "images" / "astronaut.jpg", max_side=512)
    var_x0 = float(preview_array(img).var())  # the picture as the scrubber shows it
    t = fw.value
    assert f"Var(x₀) = {var_x0:.3f}" in text
    assert fw.metric("Var(xₜ) = ᾱₜ·Var(x₀) + 1 − ᾱₜ") == f"{forward.marginal_variance(float(s.alpha_bars[t]), var_x0):.3f}"
    lin, cos = make_schedule_for_T("linear", T), make_schedule_for_T("cosine", T)
    assert f"at t = {snr_crossing(lin)} under linear, at t = {snr_crossing(cos)} under cosine" in text


@pytest.mark.parametrize("T", [10, 1000])
def test_schedules_page_states_computed_facts(T):
    at = _open("app_pages/schedules.py", sc_T=str(T))
    text = _text(at)
    schedules = {n: make_schedule_for_T(n, T) for n in SCHEDULE_NAMES}
    assert not_pure_noise_sentence(schedules) in text
    assert (scaling_sentence(schedules.values()) or "") in text
    sd = make_schedule("scaled_linear", 1000).alpha_bars[-1]
    assert f"ends at ᾱ = {sd:.2g}" in text and f"weight √ᾱ = {math.sqrt(sd):.1%}" in text
    assert "about 7%" not in text and "very large images" not in text
    lin = make_schedule_for_T("linear", T)
    assert f"its last {T - pure_noise_from(lin)} of {T} steps" in text


def test_score_page_states_computed_facts():
    at = _open("app_pages/score.py", sf_dataset="moons", sf_n="500")
    text = _text(at)
    spread = sp.data_spread(sp.make_data("moons", 500, 0))
    assert f"standard deviation {spread['std'][0]:.2f} along x₁ and {spread['std'][1]:.2f} along x₂" in text
    assert f"{sp.LANGEVIN_INNER} small steps" in text and "100 steps at each of their 10 levels" in text
    assert "half the weight" in text and "the same steps without noise" not in text
    next(b for b in at.button if b.label == "Run the particles").click().run()
    assert_no_crash(at)
    text = _text(at)
    assert "just shrinks" not in text
    data = sp.make_data("moons", 500, 0)
    traj, ts = sp.run_particles("ode", sp.exact_score_fn(data), make_schedule("cosine", 1000), 50, seed=0)
    cloud = sp.cloud_summary("ode", traj, ts, data)
    assert f"between {cloud['rms'].min():.2f} and {cloud['rms'].max():.2f}" in text
    assert f"by t = {cloud['t_half']}" in text


def test_reverse_page_defines_its_symbols_and_says_what_clipping_does():
    at = _open("app_pages/reverse.py", rv_n="1", rv_steps="5", rv_sampler="ddim")
    T = 1000
    steps_help = at.select_slider(key="rv_steps").help
    assert f"trained with T = {T} noise levels" in steps_help and "DDPM was trained for" not in steps_help
    text = _text(at)
    assert "deterministic at η = 0" in text and "roughly the same picture" in text
    next(b for b in at.button if b.label == "Generate").click().run()
    assert_no_crash(at)
    captions = " ".join(c.value for c in at.caption)
    assert "re-derived from the clipped x̂₀" in captions  # DDIM with the card's clipping
    at.radio(key="rv_sampler").set_value("ddpm").run()
    next(b for b in at.button if b.label == "Generate").click().run()
    assert_no_crash(at)
    captions = " ".join(c.value for c in at.caption)
    assert "α = ᾱ_t/ᾱ_{t′} and β = 1 − α" in captions and "re-derived" not in captions


def test_home_page_claims_are_hedged():
    at = open_page(None, timeout=120)  # the home page
    text = _text(at)
    assert "usually one that is not in the training data" in text
    assert "this computer's CPU" not in text and "about a second" not in text
