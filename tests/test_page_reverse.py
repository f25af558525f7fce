"""AppTest: the reverse-sampling page with the bundled MNIST model, every main control changed."""
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
FAST = {"rv_n": "4", "rv_steps": "10"}


def open_reverse(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in {**FAST, **(query or {})}.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/reverse.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at, label):
    return next(b for b in at.button if b.label == label)


def generate(at) -> dict:
    button(at, "Generate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return {m.label: m.value for m in at.metric}


def test_defaults_and_generate():
    at = open_reverse()
    assert at.selectbox(key="rv_class").value == "all"
    assert at.radio(key="rv_sampler").value == "ddim"
    assert any("Press **Generate**" in i.value for i in at.info)
    m = generate(at)
    assert m["Device"] == "CPU" and m["Sampler"] == "DDIM × 10"
    assert float(m["Total time"].split()[0]) > 0
    captions = [i.proto.imgs[0].caption for i in at.image if i.proto.imgs]
    assert any(c.startswith("The generated digits") for c in captions)
    # The trajectory viewer and the update equation.
    assert at.slider(key="rv_step").max == 9
    assert any("DDIM, Eq. 12" in latex.value for latex in at.latex)


def test_step_slider_moves_through_the_trajectory():
    at = open_reverse()
    generate(at)
    captions = [i.proto.imgs[0].caption for i in at.image if i.proto.imgs]
    assert "output x₀ (final)" not in captions
    at.slider(key="rv_step").set_value(9).run()
    assert not at.exception
    assert "output x₀ (final)" in [i.proto.imgs[0].caption for i in at.image if i.proto.imgs]
    latex = " ".join(x.value for x in at.latex)
    assert "x_{-1}" in latex  # the last step goes to the clean end


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


def test_same_seed_same_digits_and_new_seed_changes_them():
    at = open_reverse()
    generate(at)
    a = at.session_state["rv_result"].images.copy()
    generate(at)
    assert np.array_equal(a, at.session_state["rv_result"].images)
    at.sidebar.number_input[0].set_value(5).run()
    generate(at)
    assert not np.array_equal(a, at.session_state["rv_result"].images)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_device_fallback_to_cpu():
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in {**FAST, "device": "cuda"}.items():
        at.query_params[k] = v
    at.run()
    assert any("device=cuda" in w.value for w in at.warning)  # refused with a message ...
    assert at.sidebar.selectbox[0].value == "auto"  # ... and the automatic choice is used
    at.switch_page("pages/reverse.py").run()
    assert not at.exception
    assert generate(at)["Device"] == "CPU"


def test_bad_url_values():
    at = open_reverse({"rv_guidance": "1e9", "rv_steps": "3", "rv_class": "eleven", "rv_eta": "-4"})
    assert at.slider(key="rv_guidance").value == 10.0  # clamped
    assert at.select_slider(key="rv_steps").value == 50  # refused: not a choice
    assert at.selectbox(key="rv_class").value == "all"
    assert at.slider(key="rv_eta").value == 0.0
    assert len(at.warning) >= 2


def digit_png(invert: bool) -> bytes:
    img = Image.new("L", (200, 200), 255 if invert else 0)
    ImageDraw.Draw(img).line([(50, 40), (150, 40), (90, 170)], fill=0 if invert else 255, width=18)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_sdedit_with_an_uploaded_drawing():
    at = open_reverse()
    at.file_uploader(key="rv_sd_upload").set_value(("seven.png", digit_png(invert=True), "image/png")).run()
    assert not at.exception and not at.error
    at.slider(key="rv_sd_t0").set_value(300).run()
    at.selectbox(key="rv_sd_class").set_value("7").run()
    button(at, "Denoise it").click().run()
    assert not at.exception
    captions = [i.proto.imgs[0].caption for i in at.image if i.proto.imgs]
    assert "noised to t₀ = 300" in captions
    assert sum(c.startswith("denoised, noise #") for c in captions) == 4
    x_t0, res = at.session_state["rv_sd_result"]
    assert res.timesteps[0] == 300


def test_sdedit_refuses_a_bad_file_and_keeps_working():
    at = open_reverse()
    at.file_uploader(key="rv_sd_upload").set_value(("empty.png", b"", "image/png")).run()
    assert not at.exception
    assert at.error and "empty.png" in at.error[0].value
    button(at, "Denoise it").click().run()  # falls back to the bundled digit
    assert not at.exception


@pytest.mark.slow  # DDPM 1000 steps among the runs
def test_compare_samplers():
    at = open_reverse({"rv_class": "3"})
    button(at, "Compare the samplers").click().run()
    assert not at.exception
    captions = [i.proto.imgs[0].caption for i in at.image if i.proto.imgs]
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
    assert "Lu et al. 2022, Alg. 2" in latex and "first step: first order" in latex
    at.slider(key="rv_step").set_value(1).run()  # the second step extrapolates from the first step's guess
    assert not at.exception
    latex = " ".join(x.value for x in at.latex)
    assert rf"\hat x_0^{{({res.timesteps[0]})}}" in latex and "r = " in latex
    at.slider(key="rv_step").set_value(9).run()
    assert r"x_{-1} = \hat x_0" in " ".join(x.value for x in at.latex)
