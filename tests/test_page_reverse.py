"""AppTest: the reverse-sampling page with the bundled MNIST model, every main control changed."""
import numpy as np
import pytest
import torch

from conftest import (assert_no_crash, assert_ok, button, chart_array, chart_titles, charts, image_captions, open_page,
                      scrubber, set_scrubber, set_sidebar, warnings_text)
from explainer.app.caches import result_cache
from explainer.core.samplers import SAMPLER_LABELS, make_timesteps
from explainer.lessons import sampling_figures
from explainer.lessons.sampler_equations import step_equation
from explainer.models import pretrained
from tests.corpus import handwritten_seven

FAST = {"rv_n": "4", "rv_steps": "10"}


def open_reverse(query: dict | None = None):
    return open_page("app_pages/reverse.py", {**FAST, **(query or {})})


def generate(at) -> dict:
    button(at, "Generate").click().run()
    assert_no_crash(at)
    return {m.label: m.value for m in at.metric}


def picked_device() -> str:
    """What the page's Device metric must say on this machine: the automatic pick, upper case."""
    return str(pretrained.pick_device(None)).upper()


def test_defaults_and_generate():
    rec = pretrained.load_pretrained("mnist", device="cpu").card["recommended"]
    bare = open_page("app_pages/reverse.py")  # no link values: the card's recommended settings
    assert bare.radio(key="rv_sampler").value == rec["sampler"]
    assert bare.select_slider(key="rv_steps").value == rec["steps"]
    at = open_reverse({"rv_sampler": "ddim"})
    assert at.selectbox(key="rv_class").value == "all"
    assert at.radio(key="rv_sampler").value == "ddim"
    assert any("Press **Generate**" in i.value for i in at.info)
    m = generate(at)
    assert m["Device"] == picked_device() and m["Sampler"] == "DDIM × 10"
    assert float(m["Total time"].split()[0]) > 0
    assert any(c.startswith("The generated digits") for c in image_captions(at))
    # The trajectory viewer: one frame per step, each with its update filled in from the library.
    assert any("DDIM, Eq. 12" in latex.value for latex in at.latex)
    sc = scrubber(at, "rv_step")
    assert sc.values == list(range(10)) and sc.value == 0
    pre = pretrained.load_pretrained("mnist", device="cpu")
    ts = make_timesteps(pre.schedule.num_steps, 10, pre.card["recommended"]["spacing"])
    assert sc.lines() == [step_equation(pre.schedule, int(ts[0]), int(ts[1]), "ddim", 0.0)]


def test_step_slider_moves_through_the_trajectory():
    at = open_reverse()
    generate(at)
    assert "output x₀ (final)" not in scrubber(at, "rv_step").captions()
    at = set_scrubber(at, "rv_step", 9)
    assert_no_crash(at)
    sc = scrubber(at, "rv_step")
    assert sc.value == 9 and "output x₀ (final)" in sc.captions()
    assert sc.lines()[0].startswith("x₀ = ")  # the last step goes to the clean end
    assert at.query_params["rv_step"] in (["9"], "9")


@pytest.mark.parametrize("sampler,steps", [("ddpm", 10), ("ddim", 5)])
def test_samplers_steps_eta_guidance_class(sampler, steps):
    at = open_reverse()
    at.radio(key="rv_sampler").set_value(sampler).run()
    at.select_slider(key="rv_steps").set_value(steps).run()
    at.slider(key="rv_guidance").set_value(1.0).run()
    at.selectbox(key="rv_class").set_value("none").run()
    at.select_slider(key="rv_n").set_value(1).run()
    if sampler == "ddim":
        at.slider(key="rv_eta").set_value(0.5).run()
    else:
        assert at.slider(key="rv_eta").disabled
    m = generate(at)
    assert m["Sampler"] == f"{sampler.upper()} × {steps}"
    assert any(("DDPM, Eq. 7/11" if sampler == "ddpm" else "DDIM, Eq. 12") in x.value for x in at.latex)
    res = at.session_state["rv_result"]
    assert res.settings["guidance"] == 1.0 and res.images.shape == (1, 28, 28)
    assert (res.labels == 10).all()  # 'none' is the null class
    assert res.settings["eta"] == (0.5 if sampler == "ddim" else 0.0)


def test_same_seed_same_digits_and_new_seed_changes_them():
    at = open_reverse()
    generate(at)
    first = at.session_state["rv_result"]
    # Forget every stored result, so the second press really samples again.
    result_cache.clear()
    generate(at)
    second = at.session_state["rv_result"]
    assert second is not first, "the second run came from the cache"
    assert np.array_equal(first.images, second.images)
    set_sidebar(at, "seed", 5)
    generate(at)
    assert not np.array_equal(first.images, at.session_state["rv_result"].images)


def test_results_are_shared_across_sessions_and_kept_apart_by_settings():
    result_cache.clear()
    alice, bob = open_reverse(), open_reverse()
    generate(alice)
    generate(bob)  # the same settings: Bob gets the very result Alice's press computed
    assert bob.session_state["rv_result"] is alice.session_state["rv_result"]
    carol = open_reverse()
    set_sidebar(carol, "seed", 5)
    generate(carol)
    dave = open_reverse({"rv_guidance": "1.0"})
    generate(dave)
    results = [s.session_state["rv_result"] for s in (alice, carol, dave)]
    assert len({id(r) for r in results}) == 3
    assert not np.array_equal(results[0].images, results[1].images)
    assert not np.array_equal(results[0].images, results[2].images)
    assert carol.session_state["rv_result"].settings["seed"] == 5


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_device_fallback():
    at = open_reverse({"device": "cuda"})
    assert "device=cuda" in warnings_text(at)  # refused with a message ...
    assert at.sidebar.selectbox(key="device").value == "auto"  # ... and the automatic choice is used
    assert generate(at)["Device"] == picked_device()


def test_bad_url_values():
    at = open_reverse({"rv_guidance": "1e9", "rv_steps": "3", "rv_class": "eleven", "rv_eta": "-4"})
    assert at.slider(key="rv_guidance").value == 10.0  # clamped
    assert at.select_slider(key="rv_steps").value == pretrained.load_pretrained("mnist", device="cpu").card[
        "recommended"]["steps"]  # refused: not a choice, so the default
    assert at.selectbox(key="rv_class").value == "all"
    assert at.slider(key="rv_eta").value == 0.0  # clamped
    assert "rv_steps=3" in warnings_text(at) and "rv_class=eleven" in warnings_text(at)


def test_sdedit_with_an_uploaded_drawing():
    at = open_reverse()
    at.file_uploader(key="rv_sd_upload").set_value(("seven.png", handwritten_seven(), "image/png")).run()
    assert_ok(at)
    at = set_scrubber(at, "rv_sd_t0", 300)
    sd = scrubber(at, "rv_sd_t0")
    assert sd.value == 300 and sd.captions() == ["your image x₀ (28×28)", "noised to x₃₀₀ (noise #1)"]
    at.selectbox(key="rv_sd_class").set_value("7").run()
    button(at, "Denoise it").click().run()
    assert_no_crash(at)
    captions = image_captions(at)
    assert sum(c.startswith("denoised, noise #") for c in captions) == 4
    x_t0, res = at.session_state["rv_sd_result"]
    assert res.timesteps[0] == 300


def test_sdedit_refuses_a_bad_file_and_keeps_working():
    at = open_reverse()
    at.file_uploader(key="rv_sd_upload").set_value(("empty.png", b"", "image/png")).run()
    assert_no_crash(at)
    assert at.error and "empty.png" in at.error[0].value
    button(at, "Denoise it").click().run()  # falls back to the bundled digit
    assert_no_crash(at)
    assert sum(c.startswith("denoised, noise #") for c in image_captions(at)) == 4


@pytest.mark.slow  # one of the six runs is DDPM with 1000 steps
def test_compare_samplers():
    at = open_reverse({"rv_class": "3"})
    button(at, "Compare the samplers").click().run()
    assert_no_crash(at)
    captions = image_captions(at)
    assert sum(" ms" in c for c in captions) == 7
    assert any(c.startswith("DDPM 1000 steps") for c in captions)
    assert any(c.startswith("DPM++2M 10 steps") for c in captions)


def test_dpm_solver_generates_and_fills_in_its_update():
    at = open_reverse({"rv_sampler": "dpm++2m"})
    radio = at.radio(key="rv_sampler")
    assert radio.value == "dpm++2m" and "DPM-Solver++(2M)" in radio.options
    assert at.slider(key="rv_eta").disabled
    m = generate(at)
    assert m["Sampler"] == "DPM++2M × 10"
    res = at.session_state["rv_result"]
    assert res.settings["sampler"] == "dpm++2m" and np.abs(res.images).max() <= 1
    latex = " ".join(x.value for x in at.latex)
    assert "Lu et al. 2022, Alg. 2" in latex
    assert "first step: first order" in scrubber(at, "rv_step").lines()[0]
    at = set_scrubber(at, "rv_step", 1)  # the second step extrapolates from the first step's guess
    assert_no_crash(at)
    line = scrubber(at, "rv_step").lines()[0]
    sub = str(res.timesteps[0]).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
    assert f"x̂₀{sub}" in line and "r = " in line
    at = set_scrubber(at, "rv_step", 9)
    assert scrubber(at, "rv_step").lines()[0].startswith("x₀ = x̂₀")


def test_quality_against_steps_from_the_card():
    at = open_reverse()
    card = pretrained.load_card("mnist")
    rows = {(r["sampler"], r["steps"]): r for r in card["quality_vs_steps"]["rows"]}
    rec = card["recommended"]
    default, ref = rows[(rec["sampler"], rec["steps"])], rows[("ddim", 50)]
    captions = " ".join(c.value for c in at.caption)
    assert (f"makes {default['network_passes_per_digit']} network passes per digit against DDIM-50's "
            f"{ref['network_passes_per_digit']}: accuracy {default['accuracy']:.1%}") in captions
    # The chart plots the card's rows: each point (passes, value) of each sampler's line in each panel.
    k = chart_titles(at).index(next(t for t in chart_titles(at) if t.startswith("Quality against network")))
    points = set()
    for tr in charts(at)[k]["data"]:
        if "customdata" not in tr:
            continue  # the dotted real-digit lines
        sampler = next(s for s, label in SAMPLER_LABELS.items() if label == tr["name"])
        panel = sampling_figures.QUALITY_PANELS[int(tr.get("xaxis", "x")[1:] or 1) - 1][0]
        for x, y, steps in zip(chart_array(tr["x"]), chart_array(tr["y"]), chart_array(tr["customdata"])):
            points.add((sampler, int(steps), panel, float(x), round(float(y), 6)))
    assert points == {(r["sampler"], r["steps"], p[0], float(r["network_passes_per_digit"]), round(float(r[p[0]]), 6))
                      for r in rows.values() for p in sampling_figures.QUALITY_PANELS}
