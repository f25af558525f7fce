"""app_pages/learning.py in Streamlit's AppTest: every control, the scrubbers' frame sets, bad links, snapshots."""
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from safetensors.torch import load_file, save_file
from streamlit.testing.v1 import AppTest

from conftest import assert_no_crash, assert_ok, count_calls, open_page

from explainer.app import training_runs
from explainer.app.training_runs import LEARN_FRAMES
from explainer.core import elbo
from explainer.core.schedules import make_schedule
from explainer.lessons import framesets
from explainer.models import pretrained

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def _open(**query) -> AppTest:
    at = open_page("app_pages/learning.py", query)  # the one AppTest opener (tests/conftest.py)
    _ok(at)
    return at


def _ok(at: AppTest):
    assert_ok(at)


def scrubber(at: AppTest, key: str) -> dict:
    """The frame set (and starting index) that the scrubber with this key was sent."""
    for e in at.main:
        if type(e).__name__ == "UnknownElement" and e.type == "bidi_component" and \
                e.proto.id.endswith(f"-{key}_scrubber"):
            return json.loads(e.proto.bytes)
    raise AssertionError(f"no scrubber {key}")


def has_scrubber(at: AppTest, key: str) -> bool:
    try:
        scrubber(at, key)
        return True
    except AssertionError:
        return False


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_opens_with_six_sections_and_its_scrubbers(monkeypatch):
    wrong_time = count_calls(monkeypatch, training_runs, "wrong_time_frames")
    at = _open()
    assert at.title[0].value.startswith("3. Learning to denoise")
    assert [h.value.split(".")[0] for h in at.header] == ["1", "2", "3", "4", "5", "6"]
    one = scrubber(at, "ln_t")
    assert len(one["set"]["values"]) == LEARN_FRAMES and one["set"]["values"][one["index"]] == at.session_state["ln_t"]
    assert [p["alt"] for p in one["set"]["panels"]][:3] == ["clean digit x₀", "noise ε ~ N(0, I) (÷3)",
                                                            "noisy input x_t"]
    assert one["set"]["lines"][0][one["index"]].startswith("L_simple = ‖ε − ε_θ(")
    names = [s["name"] for s in one["set"]["charts"][0]["series"]]
    assert names[0].startswith("own class") and names[1] == "no class (∅)" and names[2].endswith("(wrong)")
    assert len(scrubber(at, "ln_rt")["set"]["panels"]) == 5
    # Section 4 runs the model for this student's digit and seed only when asked: the page opens without it.
    assert at.toggle(key="ln_show_wrong").value is False and wrong_time == []
    # loss, weights, bound bars, per-t, densities (and the training loss when no snapshots are bundled)
    assert [c.key for c in at.get("plotly_chart")][:5] == ["ln_loss", "ln_weights", "ln_bars", "ln_per_t", "ln_dens"]
    at.toggle(key="ln_show_wrong").set_value(True).run()
    _ok(at)
    assert [args[1] for args in wrong_time] == [300]  # once, at the default true t
    assert scrubber(at, "ln_tp")["set"]["label"] == "The t′ the model is told"
    assert f"Over the {LEARN_FRAMES} values of t′" in _markdown(at)
    assert at.query_params["ln_show_wrong"] in ("True", ["True"])
    card = pretrained.load_card("mnist")
    assert f"the bundled model took {card['training']['steps']:,} of them" in _markdown(at)
    ab = pretrained.load_pretrained("mnist", "cpu").schedule.alpha_bars
    assert any(f"{1 / np.sqrt(1 - ab[0]):.0f} at t = 0" in c.value for c in at.caption)


def test_digit_class_and_random_buttons():
    at = _open()
    first = scrubber(at, "ln_t")["set"]["panels"][0]["frames"]
    at.number_input(key="ln_digit").set_value(123).run()
    _ok(at)
    assert scrubber(at, "ln_t")["set"]["panels"][0]["frames"] != first
    assert at.query_params["ln_digit"] in ("123", ["123"])
    at.selectbox(key="ln_class").set_value("none").run()
    _ok(at)
    told = scrubber(at, "ln_t")["set"]["panels"][3]["caption"][0]
    assert "no class" in told
    at.selectbox(key="ln_class").set_value("3").run()
    assert "class 3" in scrubber(at, "ln_t")["set"]["panels"][3]["caption"][0]
    seen = set()
    for _ in range(4):
        _button(at, "Random t, as training does").click().run()
        _ok(at)
        t = at.session_state["ln_rand_t"]
        assert 0 <= t < 1000
        metric = next(m for m in at.metric if m.label.startswith("Drawn: t = "))
        assert metric.label == f"Drawn: t = {t}. Loss ‖ε − ε̂‖²"
        # The loss shown is the library's, for this digit, noise, class and exact t.
        from explainer.models import denoiser
        from explainer.models.bundled_digits import load_bundle
        x = load_bundle().evaluation
        pre = pretrained.load_pretrained("mnist", "cpu")
        sf = denoiser.training_steps(pre, x[123], denoiser.digit_noise(0), [t], 3)
        assert metric.value == f"{sf.loss[0]:.4f}"
        seen.add(t)
    assert len(seen) > 1
    _button(at, "Random digit").click().run()
    _ok(at)
    assert 0 <= at.number_input(key="ln_digit").value < 300


def test_scrubber_position_goes_to_the_url():
    at = _open(ln_t="250", ln_rt="999")
    one = scrubber(at, "ln_t")
    want = min(framesets.frame_indices(1000, LEARN_FRAMES), key=lambda v: abs(v - 250))  # the nearest frame
    assert one["set"]["values"][one["index"]] == want != 250
    assert at.query_params["ln_t"] in (str(want), [str(want)])
    four = scrubber(at, "ln_rt")
    assert four["set"]["values"][four["index"]] == 999


def test_which_noise_levels_are_hard_controls():
    at = _open()
    at.radio(key="ln_space").set_value("x0").run()
    at.radio(key="ln_axis").set_value("log_snr").run()
    at.radio(key="ln_weigh").set_value("times_loss").run()
    _ok(at)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert "clean image" in charts[0]["layout"]["yaxis"]["title"]["text"]
    assert charts[0]["layout"]["xaxis"]["title"]["text"].startswith("log-SNR")
    assert "this model's loss" in charts[1]["layout"]["title"]["text"]
    assert at.query_params["ln_weigh"] in ("times_loss", ["times_loss"])
    curve = pretrained.load_card("mnist")["loss_curve"]
    cls = np.asarray(curve["eps_mse"]["class"])
    assert f"at t = {curve['t'][int(np.argmax(cls))]} (ε-loss {cls.max():.4f})" in _markdown(at)


def test_wrong_time():
    at = _open(ln_show_wrong="true")
    at.select_slider(key="ln_true_t").set_value(700).run()
    _ok(at)
    tp = scrubber(at, "ln_tp")
    assert tp["set"]["panels"][1]["caption"].endswith("(made at the true t = 700)")
    assert "the true t is 700" in _markdown(at)


def test_the_bound_section_numbers_come_from_the_library():
    at = _open()
    at.selectbox(key="ln_mix").set_value("three Gaussians").run()
    at.select_slider(key="ln_T").set_value(50).run()
    at.radio(key="ln_var").set_value("beta_tilde").run()
    at.slider(key="ln_bt").set_value(7).run()
    at.slider(key="ln_xt").set_value(-0.5).run()
    _ok(at)
    b = elbo.variational_bound(elbo.MIXTURES["three Gaussians"], make_schedule("cosine", 50), "beta_tilde")
    text = _markdown(at)
    assert f"the bound is {b.total:.4f} nats" in text and f"{b.L_t[5]:.4f}" in text
    assert "At t = 7 and x_t = -0.50" in text
    at.select_slider(key="ln_T").set_value(2).run()
    _ok(at)
    assert any("With T = 2" in c.value for c in at.caption)
    at.select_slider(key="ln_T").set_value(1000).run()
    _ok(at)
    assert at.slider(key="ln_bt").max == 1000


def test_bad_links_fall_back_with_a_message():
    bad = {"ln_digit": "999", "ln_class": "eleven", "ln_T": "7", "ln_var": "huge", "ln_true_t": "x"}
    # ln_true_t is read by the wrong-t section, which the page draws only when its toggle is on.
    at = open_page("app_pages/learning.py", {**bad, "ln_show_wrong": "true"}, timeout=300)
    assert at.number_input(key="ln_digit").value == 299
    assert at.selectbox(key="ln_class").value == "true"
    assert at.select_slider(key="ln_T").value == 10
    assert at.radio(key="ln_var").value == "beta"
    assert at.select_slider(key="ln_true_t").value == 300
    warned = " ".join(w.value for w in at.warning)
    # a message for each value that is not one of the choices (a digit past the end is clamped, silently)
    assert [k for k in bad if f"{k}=" not in warned] == ["ln_digit"]


def _digit_png() -> bytes:
    img = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(img).line([(30, 20), (90, 20), (50, 100)], fill=0, width=12)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_upload_a_digit_and_a_bad_file():
    at = _open()
    at.file_uploader(key="ln_upload").set_value(("seven.png", _digit_png(), "image/png")).run()
    _ok(at)
    assert any("Your picture" in c.value for c in at.caption)
    one = scrubber(at, "ln_t")
    assert [s["name"] for s in one["set"]["charts"][0]["series"]] == ["no class (∅)"]
    at.file_uploader(key="ln_upload").set_value(("bad.png", b"not an image", "image/png")).run()
    assert_no_crash(at)
    assert at.error and "bad.png" in at.error[0].value


def _model_copy(folder: Path, monkeypatch) -> dict:
    """The bundled MNIST model copied into `folder`, which becomes the models folder; its card, without snapshots."""
    for f in ("mnist.json", "mnist.safetensors"):
        shutil.copy(pretrained.MODELS_DIR / f, folder / f)
    card = json.loads((folder / "mnist.json").read_text())
    card["training"].pop("snapshots", None)
    (folder / "mnist.json").write_text(json.dumps(card))
    monkeypatch.setattr(pretrained, "MODELS_DIR", folder)
    return card


def test_watch_it_learn_without_snapshots(tmp_path, monkeypatch):
    _model_copy(tmp_path, monkeypatch)
    at = _open()
    assert any("no training snapshots" in i.value for i in at.info)
    assert not has_scrubber(at, "ln_snap")
    assert at.get("plotly_chart")[-1].key == "ln_history"


@pytest.fixture
def with_snapshots(tmp_path, monkeypatch):
    """A model folder whose card lists two snapshots (float16 copies of the bundled weights)."""
    card = _model_copy(tmp_path, monkeypatch)
    state = {k: v.half() for k, v in load_file(str(tmp_path / "mnist.safetensors")).items()}
    for step in (0, 100):
        path = pretrained.snapshot_file(tmp_path / pretrained.SNAPSHOT_DIR, step)
        path.parent.mkdir(exist_ok=True)
        save_file(state, str(path))
    card["training"]["snapshots"] = {"steps": [0, 100, 250], "dir": pretrained.SNAPSHOT_DIR}  # 250 is missing
    (tmp_path / "mnist.json").write_text(json.dumps(card))
    return card["training"]["steps"]


def test_watch_it_learn_with_snapshots(with_snapshots):
    at = _open()
    assert not has_scrubber(at, "ln_snap")
    _button(at, "Draw samples from every snapshot").click().run()
    _ok(at)
    snap = scrubber(at, "ln_snap")
    assert snap["set"]["values"] == [0, 100, with_snapshots]  # the missing one is left out
    assert snap["set"]["panels"][0]["caption"][1] == "samples after 100 training steps"
    assert snap["set"]["charts"][0]["title"].startswith("Training loss")
    at.run()  # stays drawn on later runs
    assert has_scrubber(at, "ln_snap")
