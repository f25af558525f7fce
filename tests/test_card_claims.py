"""The model card's and the README's sentences about the MNIST model, against the card's numbers (issue 16, item 11).

Each sentence is parsed for its numbers and its direction, and those are checked against the card's measurements
with the rule the sentence states, applied here. What a sentence says it rests on (the nearest-neighbour test, the
match rule) is checked to be true of that test: the one-pixel shift is measured with a brute-force search written
here, not with explainer.memorisation's.
"""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from explainer import evaluate as ev
from explainer.models import bundled_digits, memorisation
from explainer.models.mnist import classify, load_digits, train_classifier
from explainer.models.pretrained import MODELS_DIR

ROOT = Path(__file__).resolve().parent.parent
CARD = json.loads((MODELS_DIR / "mnist.json").read_text())
README = (ROOT / "README.md").read_text()
NUMBER = r"(\d+(?:\.\d+)?)"


def _rows(result):
    return {(r["sampler"], r["steps"]): r for r in result["rows"]}


def check_why(why: str, result: dict, sampler: str, steps: int):
    """The recommended["why"] sentence against quality_vs_steps: its numbers, its rule, and its verdict."""
    m = re.search(r"accuracy at most " + NUMBER + r" points and diversity / real at most " + NUMBER
                  + r" below DDIM-50's", why)
    assert m, why
    max_acc_drop, max_div_drop = float(m[1]) / 100, float(m[2])

    def matches(r, ref):   # the rule as the sentence states it: no more than that far below DDIM-50
        return (r["accuracy"] >= ref["accuracy"] - max_acc_drop - 1e-12
                and r["diversity_vs_real"] >= ref["diversity_vs_real"] - max_div_drop - 1e-12)

    rows = _rows(result)
    row, ref = rows[(sampler, steps)], rows[("ddim", 50)]
    assert why.startswith(f"{ev.SAMPLER_LABELS[sampler]} at {steps} steps: "), why
    m = re.search(r"Accuracy " + NUMBER + r"% against DDIM-50's " + NUMBER + r"%; diversity " + NUMBER
                  + r" times real digits' against DDIM-50's " + NUMBER + r"; (\d+) network passes per digit "
                  r"instead of (\d+)\.$", why)
    assert m, why
    assert float(m[1]) == pytest.approx(100 * row["accuracy"], abs=0.05)
    assert float(m[2]) == pytest.approx(100 * ref["accuracy"], abs=0.05)
    assert float(m[3]) == pytest.approx(row["diversity_vs_real"], abs=5e-4)
    assert float(m[4]) == pytest.approx(ref["diversity_vs_real"], abs=5e-4)
    assert (int(m[5]), int(m[6])) == (row["network_passes_per_digit"], ref["network_passes_per_digit"])
    # the verdict, decided here by the stated rule over every measured step count of this sampler
    fewer = sorted(k for (s, k), r in rows.items() if s == sampler and k < steps and matches(r, ref))
    if matches(row, ref) and not fewer:
        assert "the fewest steps of" in why and "whose quality matches DDIM-50's" in why, why
    elif matches(row, ref):
        assert "matches DDIM-50's quality" in why and f"as {fewer[0]} steps already do" in why, why
    else:
        assert "does not match DDIM-50's quality" in why, why
    # the rule the sentence states is the one that chose the card's fewest steps, for every sampler
    for s in {s for s, _ in rows}:
        ok = [k for (s2, k), r in sorted(rows.items()) if s2 == s and matches(r, ref)]
        assert result["fewest_steps_matching_ddim50"].get(s) == (min(ok) if ok else None), s


def test_the_cards_recommended_why_states_its_numbers():
    rec = CARD["recommended"]
    check_why(rec["why"], CARD["quality_vs_steps"], rec["sampler"], int(rec["steps"]))
    # and it is the sentence a re-run of `--only steps` writes from these numbers
    assert rec["why"] == ev.recommendation_reason(CARD["quality_vs_steps"], rec["sampler"], int(rec["steps"]))


@pytest.mark.parametrize("sampler, steps", [("dpm++2m", 20), ("ddpm", 10), ("ddim", 10)])
def test_the_why_for_other_settings_states_the_other_verdicts(sampler, steps):
    result = CARD["quality_vs_steps"]
    check_why(ev.recommendation_reason(result, sampler, steps), result, sampler, steps)


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    for name in ("mnist.json", "mnist.safetensors"):
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    train_x, train_y = load_digits("train")
    held_x, held_y = load_digits("heldout")
    clf = train_classifier(train_x[:600], train_y[:600], epochs=1)
    judge = (clf, float((classify(clf, held_x) == held_y).mean()), train_x, train_y, held_x, held_y)
    monkeypatch.setattr(ev, "judge", lambda seed=0: judge)
    return tmp_path


def test_the_steps_command_rewrites_the_why_from_what_it_measured(model_dir, monkeypatch):
    monkeypatch.setattr(ev, "STEP_COUNTS", (5, 10, 50))
    monkeypatch.setattr(ev, "STEP_SAMPLERS", ("ddim", "dpm++2m"))
    ev.main(["--only", "steps", "--n-per-class", "2", "--dir", str(model_dir), "--device", "cpu"])
    card = json.loads((model_dir / "mnist.json").read_text())
    rec = card["recommended"]
    assert rec["why"] != CARD["recommended"]["why"]   # 20 digits per run: other numbers than the bundled card's
    check_why(rec["why"], card["quality_vs_steps"], rec["sampler"], int(rec["steps"]))


# ------------------------------------------------------------------ copies: the nearest-neighbour test

def _nearest_l2(queries, reference):
    """Brute-force L2 from each query to its nearest reference image (written here, float64)."""
    q = queries.reshape(len(queries), -1).astype(np.float64)
    r = reference.reshape(len(reference), -1).astype(np.float64)
    d2 = (q ** 2).sum(1)[:, None] + (r ** 2).sum(1)[None] - 2 * q @ r.T
    return np.sqrt(np.maximum(d2.min(axis=1), 0.0))


@pytest.fixture(scope="module")
def digits():
    d = bundled_digits.load_bundle()
    return d, _nearest_l2(d.heldout, d.train)


def test_a_training_digit_moved_by_one_pixel_passes_the_copy_test(digits):
    """What the README and the reverse page say the test cannot see: a copy shifted by one pixel."""
    d, held = digits
    low = np.quantile(held, 0.01)
    for axis in (-1, -2):
        shifted = np.roll(d.train[:200], 1, axis=axis)
        assert _nearest_l2(shifted, d.train).min() > low


def test_the_copy_verdict_counts_the_digits_below_the_line(digits):
    d, held = digits
    low = np.quantile(held, 0.01)
    reference = np.sort(held)
    # three training digits themselves (copies, at distance 0), the second-closest real new digit (below the
    # 1 % line, above the closest one) and five typical real new digits
    typical = d.heldout[np.argsort(np.abs(held - np.median(held)))[:5]]
    queries = np.concatenate([d.train[[3, 30, 300]], d.heldout[np.argsort(held)[1:2]], typical])
    dist = _nearest_l2(queries, d.train)
    assert int((dist < low).sum()) == 4 and int((dist < held.min()).sum()) == 3
    text = memorisation.copy_verdict(memorisation.summary(dist, reference))
    assert text.startswith("4 of them are closer than the closest 1 % of real new digits")
    assert "no sign of copying" not in text
    dist = _nearest_l2(typical, d.train)
    assert int((dist < low).sum()) == 0
    text = memorisation.copy_verdict(memorisation.summary(dist, reference))
    assert text.startswith("None of them is closer") and "no sign of copying" in text
    assert "by this test (L2 over the pixels to the nearest training digit)" in text
    assert "a training digit moved by one pixel would pass it" in text


def test_the_readme_copy_claim_matches_the_card():
    q = CARD["quality"]["nearest_training_l2"]
    m = re.search(r"\| nearest training digit, median L2: generated / real held-out digits \| " + NUMBER + " / "
                  + NUMBER + r" \((.+?)\) \|", README)
    assert m
    assert (m[1], m[2]) == (f"{q['generated_median']:.1f}", f"{q['heldout_real_median']:.1f}")
    claim = m[3]
    assert claim.startswith("no generated digit is closer to a training digit than the closest 1 % of real "
                            "held-out digits are")
    assert q["share_generated_closer_than_heldout_1st_percentile"] == 0.0
    assert "by this pixel-L2 nearest-neighbour test, no copies" in claim
    assert "a training digit moved by one pixel passes it too" in claim


# ------------------------------------------------------------------ guidance and timing in the README

def test_the_readme_guidance_table_and_sentence_match_the_card():
    g = CARD["guidance_sweep"]
    scales = [float(s) for s in g["scales"]]
    header = re.search(r"\| guidance scale s \|(.+)\|\n", README)[1]
    assert [float(v) for v in header.split("|")] == scales
    conf = re.search(r"\| classifier's mean confidence in the asked digit \|(.+)\|\n", README)[1]
    assert [float(v) for v in conf.split("|")] == pytest.approx(g["confidence"], abs=5e-4)
    acc = re.search(r"\| accuracy \(asked class\) \|(.+)\|\n", README)[1]
    assert [float(v.strip().rstrip("%")) for v in acc.split("|")] == pytest.approx(
        [100 * a for a in g["accuracy"]], abs=0.05)
    div = re.search(r"\| diversity, mean pairwise L2 among the digits asked for as one class \(real held-out, "
                    r"within a class: " + NUMBER + r"\) \|(.+)\|\n", README)
    assert float(div[1]) == pytest.approx(g["diversity_real_heldout"], abs=0.05)
    assert [float(v) for v in div[2].split("|")] == pytest.approx(g["diversity"], abs=0.05)

    text = " ".join(README.split())
    m = re.search(r"At s = 0 the class is ignored: " + NUMBER + r" % of the digits are the class asked for, about "
                  r"chance, so the " + NUMBER + " there is the spread of digits of every class mixed", text)
    assert m
    i0 = scales.index(0.0)
    assert float(m[1]) == pytest.approx(100 * g["accuracy"][i0], abs=0.05)
    assert abs(g["accuracy"][i0] - 0.1) < 0.03    # "about chance": one digit in ten
    assert float(m[2]) == pytest.approx(g["diversity"][i0], abs=0.05)
    m = re.search(r"From s = " + NUMBER + r" \(" + NUMBER + r" % the asked class\) to s = " + NUMBER + r" \("
                  + NUMBER + r" %\) the confidence goes from " + NUMBER + " % to " + NUMBER + r" % and the "
                  r"diversity within a class falls from " + NUMBER + " to " + NUMBER + ", close to real digits' "
                  + NUMBER, text)
    assert m
    lo, hi = scales.index(float(m[1])), scales.index(float(m[3]))
    assert float(m[2]) == pytest.approx(100 * g["accuracy"][lo], abs=0.05)
    assert float(m[4]) == pytest.approx(100 * g["accuracy"][hi], abs=0.05)
    # "within a class" needs groups that mostly are one class: most digits recognised as the class asked for
    assert g["accuracy"][lo] >= 0.85
    assert int(m[5]) == round(100 * g["confidence"][lo]) and int(m[6]) == round(100 * g["confidence"][hi])
    assert float(m[7]) == pytest.approx(g["diversity"][lo], abs=0.05)
    assert float(m[8]) == pytest.approx(g["diversity"][hi], abs=0.05)
    assert g["diversity"][hi] < g["diversity"][lo]                                   # "falls"
    assert float(m[9]) == pytest.approx(g["diversity_real_heldout"], abs=0.05)


def test_the_readme_loss_curve_time_is_the_cards():
    text = " ".join(README.split())
    m = re.search(r"at 100 values of t, told the class and told none; " + NUMBER + r" s on the development "
                  r"machine's CPU \(the card's \"seconds\", wall-clock\)", text)
    assert m
    assert float(m[1]) == CARD["loss_curve"]["seconds"]
    assert len(CARD["loss_curve"]["t"]) == 100 and CARD["loss_curve"]["digits"] == 300
