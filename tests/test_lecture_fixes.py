"""The lecturer's findings on pages 3 and 5, each checked against an independent computation.

Every number a fixed sentence states is recomputed here from the paper's formula in numpy (the cosine
schedule of Nichol & Dhariwal 2021, Eq. 17, clipped at 0.999) or from the model card's raw rows, never
with the function that wrote the sentence.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import NUM, chart_array, charts, open_page, read_number, scrubber
from explainer.core.schedules import make_schedule_for_T
from explainer.lessons import quality_facts, sampling_figures, schedule_facts, weighting_facts
from explainer.lessons.denoising_framesets import readings_frameset
from explainer.lessons.notation import number
from explainer.lessons.sampling_framesets import trajectory_frameset
from explainer.models.denoiser import StepFrames
from explainer.models.generate import SampleResult

CARD = json.loads((Path(__file__).resolve().parent.parent / "assets" / "models" / "mnist.json").read_text())
#: The bound section's choices of T (app_pages/learning.py T_CHOICES): smallest, largest and all between.
BOUND_TS = [2, 3, 4, 5, 10, 20, 50, 100, 200, 500, 1000]


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol & Dhariwal 2021, Eq. 17: alpha_bar(t) = f(t)/f(0), f = cos²((t/T + s)/(1 + s)·π/2), β clipped."""
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    ab = f / f[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = 1 - ab[1:] / ab[:-1]
    return np.minimum(np.nan_to_num(beta, nan=1.0), max_beta), np.minimum(1 - ab[1:] / ab[:-1], 1.0)


def cosine_alpha_bar(T: int = 1000) -> np.ndarray:
    """ᾱ_t for t = 0 ... T−1 (the app's index), as the product of (1 − β) of the clipped betas."""
    return np.cumprod(1 - cosine_betas(T)[0])


# ------------------------------------------------------------------ 1. how many steps are small

def parse_step_sizes(text: str) -> tuple[int, int, int, int, bool]:
    m = re.search(r"At T = (\d+), (none|\d+) of the (\d+) steps ha(?:s|ve) β < 0\.01 and (\d+) ha(?:s|ve) β > 0\.1; "
                  r"the last, t = (\d+), (is clipped at β = 0\.999|has β = )", text)
    assert m, text
    T, small, total, big, last, clip = m.groups()
    assert int(T) == int(total)
    return int(T), 0 if small == "none" else int(small), int(big), int(last), clip.startswith("is clipped")


@pytest.mark.parametrize("T", BOUND_TS)
def test_step_sizes_sentence_counts_every_T(T):
    text = schedule_facts.step_sizes_sentence(make_schedule_for_T("cosine", T))
    clipped, unclipped = cosine_betas(T)
    T_said, small, big, last, clip = parse_step_sizes(text)
    assert (T_said, small, big) == (T, int(np.sum(clipped < 0.01)), int(np.sum(clipped > 0.1)))
    # The section names steps t = 1 ... T (its slider runs 2 ... T, Ho et al.'s L_{t-1}), so the last is t = T;
    # unclipped, cosine's last beta is 1 - alpha_bar(T)/alpha_bar(T-1) = 1, so it is clipped at every T.
    assert last == T and clip == (unclipped[-1] > 0.999)
    assert ("most" not in text) and (("none of" in text) == (small == 0))


def test_step_sizes_direction_over_T():
    """More steps make more of them small; the last stays clipped at every T."""
    counts = [int(np.sum(cosine_betas(T)[0] < 0.01)) for T in BOUND_TS]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    assert all(cosine_betas(T)[1][-1] > 0.999 for T in BOUND_TS)
    # The lecturer's counts (small, big) at T = 2, 10, 20, 50, 100, 200, 500, 1000
    lecturer = {2: (0, 2), 10: (0, 8), 20: (1, 13), 50: (5, 17), 100: (19, 18), 200: (72, 19), 500: (322, 19),
                1000: (807, 19)}
    for T, want in lecturer.items():
        assert parse_step_sizes(schedule_facts.step_sizes_sentence(make_schedule_for_T("cosine", T)))[1:3] == want


def parse_end_of_cosine(text: str) -> tuple[list[float], list[float], int, float]:
    m = re.search(r"the k-th step before the last tends to β = 1 − \(k/\(k\+1\)\)² = ([0-9., ]+) … as T grows "
                  r"\(here ([0-9., ]+)\)\. So the number of steps with β > 0\.1 does not fall as T grows: it rises "
                  r"to (\d+) and stays there \(here (\d+)\), and the last stays clipped at ([0-9.]+)\.", text)
    assert m, text
    law, here = ([float(v) for v in g.split(", ")] for g in m.group(1, 2))
    return law, here, int(m.group(3)), int(m.group(4)), float(m.group(5))


@pytest.mark.parametrize("T", BOUND_TS)
def test_step_sizes_end_of_cosine_stays_large(T):
    """The lecturer's finding: more steps do not make the end of the cosine schedule small. Near the end ᾱ falls
    like (1 − t/T)², so the k-th step before the last keeps β ≈ 1 − (k/(k+1))² (0.75, 0.56, 0.44, …) at any T,
    and the count of steps with β > 0.1 rises to 19 and stays there. All from Eq. 17 written out above."""
    text = schedule_facts.step_sizes_sentence(make_schedule_for_T("cosine", T))
    assert "never the last" not in text and "but not the end of the cosine schedule" in text
    law, here, settles, n_big_here, cap = parse_end_of_cosine(text)
    betas = cosine_betas(T)[0]
    assert n_big_here == int(np.sum(betas > 0.1))
    k_max = min(3, T - 1)
    # This schedule's own k-th-from-last betas, k = 1 ... 3 (as many as T has).
    assert len(here) == k_max
    np.testing.assert_allclose(here, betas[::-1][1:k_max + 1], atol=0.005)
    # The stated limits: the k-th-from-last beta of a very long cosine schedule.
    long_tail = cosine_betas(100_000)[0][::-1]
    np.testing.assert_allclose(law, long_tail[1:k_max + 1], atol=0.005)
    assert law[0] == pytest.approx(0.75, abs=0.005)
    # The count of large steps settles: measured at several large T, equal to the stated number, never above it.
    large = {T2: int(np.sum(cosine_betas(T2)[0] > 0.1)) for T2 in (200, 500, 1000, 2000, 10_000, 100_000)}
    assert set(large.values()) == {settles} and settles == 19
    assert all(int(np.sum(cosine_betas(T2)[0] > 0.1)) <= settles for T2 in BOUND_TS)
    # "does not fall as T grows": the count never drops from one T to the next (every T from 2 to 3000).
    counts = [int(np.sum(cosine_betas(T2)[0] > 0.1)) for T2 in range(2, 3001)]
    assert all(b >= a for a, b in zip(counts, counts[1:]))
    assert cap == 0.999 and betas[-1] == pytest.approx(0.999)


def test_end_of_cosine_betas_at_several_T():
    """The lecturer's numbers, k-th from last: β ≈ 1 − (k/(k+1))² = 0.75, 0.56, 0.44 at T = 100 ... 100000."""
    for T in (100, 1000, 10_000, 100_000):
        tail = cosine_betas(T)[0][::-1]
        for k, want in ((1, 0.75), (2, 0.5556), (3, 0.4375), (18, 0.1025), (19, 0.0975)):
            assert tail[k] == pytest.approx(want, abs=0.003 if T == 100 else 0.001), (T, k)


def test_step_sizes_unclipped_schedule_says_no_clip():
    """A schedule whose last beta is below its cap (linear at T = 50: β_end = 0.02·1000/50 = 0.4) is not called
    clipped, and the sentence makes no claim about other T for it."""
    lin = make_schedule_for_T("linear", 50)
    assert lin.betas[-1] == pytest.approx(0.4)
    text = schedule_facts.step_sizes_sentence(lin)
    assert "clipped" not in text and "never" not in text and "end of the cosine schedule" not in text
    assert parse_step_sizes(text)[1:3] == (int(np.sum(lin.betas < 0.01)), int(np.sum(lin.betas > 0.1)))


# ------------------------------------------------------------------ 2. DPM-Solver++(2M) in fewer steps?

def fewest_matching(rows, sampler: str, accuracy_points: float = 0.5, diversity: float = 0.02) -> int | None:
    """Re-derived from the card's raw rows with its stated rule: accuracy at most 0.5 points and
    diversity_vs_real at most 0.02 below DDIM-50's."""
    ref = next(r for r in rows if r["sampler"] == "ddim" and r["steps"] == 50)
    ok = [r["steps"] for r in rows if r["sampler"] == sampler
          and r["accuracy"] >= ref["accuracy"] - accuracy_points / 100 - 1e-12
          and r["diversity_vs_real"] >= ref["diversity_vs_real"] - diversity - 1e-12]
    return min(ok) if ok else None


def test_few_steps_sentence_matches_the_card_rows():
    q = CARD["quality_vs_steps"]
    ddim, dpm = fewest_matching(q["rows"], "ddim"), fewest_matching(q["rows"], "dpm++2m")
    assert q["fewest_steps_matching_ddim50"] == {"ddim": ddim, "dpm++2m": dpm}
    text = quality_facts.few_steps_sentence(q)
    assert "Lu et al. 2022" in text and "large image models" in text
    # The sentence states the rule it relies on; that rule, applied here to the raw rows, gives the card's counts.
    m = re.search(r"by its rule: accuracy at most ([0-9.]+) points and diversity / real at most ([0-9.]+) below "
                  r"DDIM-50's\)\.$", text)
    assert m, text
    acc, div = float(m.group(1)), float(m.group(2))
    assert (acc, div) == (0.5, 0.02)  # the card's match_rule: 0.5 % and 0.02
    assert q["match_rule"] == "accuracy at most 0.5% and diversity_vs_real at most 0.02 below DDIM-50's"
    assert {s: fewest_matching(q["rows"], s, acc, div) for s in ("ddim", "dpm++2m")} == \
        q["fewest_steps_matching_ddim50"]
    if dpm == ddim:
        assert re.search(rf"both first match DDIM-50's quality at {ddim} steps", text), text
    else:
        assert re.search(rf"\b{dpm}\b", text) and re.search(rf"\b{ddim}\b", text)


@pytest.mark.parametrize("dpm,ddim", [(5, 10), (10, 5), (25, 25)])
def test_few_steps_sentence_follows_a_remeasured_card(dpm, ddim):
    text = quality_facts.few_steps_sentence({"fewest_steps_matching_ddim50": {"ddim": ddim, "dpm++2m": dpm}})
    if dpm < ddim:
        assert f"matches DDIM-50's quality from {dpm} steps, DDIM from {ddim}" in text
    elif dpm > ddim:
        assert f"DDIM matches DDIM-50's quality from {ddim} steps, DPM-Solver++(2M) only from {dpm}" in text
    else:
        assert f"at {dpm} steps" in text
    assert "fewer steps (Lu et al. 2022)." in quality_facts.few_steps_sentence(None)


# ------------------------------------------------------------------ 3. the guidance figure

def level_from(scales, div, tol=0.01):
    """The smallest s >= 1 after which diversity stays within tol of its value there (brute force)."""
    pairs = [(s, d) for s, d in zip(scales, div) if s >= 1]
    for i, (s, d) in enumerate(pairs):
        if max(abs(e - d) for _, e in pairs[i:]) <= tol * d:
            return s, pairs[0][1] - d


def test_guidance_title_reads_the_card():
    g = CARD["guidance_sweep"]
    title = quality_facts.guidance_title(g["scales"], g["diversity"], g["confidence"])
    conf = [c for s, c in zip(g["scales"], g["confidence"]) if s >= 1]
    assert ("confidence up" in title) == (conf[-1] > conf[0])
    s_level, fall = level_from(g["scales"], g["diversity"])
    assert fall > 0 and s_level < max(g["scales"])
    assert f"variety down until s = {s_level:g}, then level" in title, title
    assert s_level == 3.0  # the lecturer's reading: 18.54, 18.50, 18.66 at s = 3, 5, 7.5


@pytest.mark.parametrize("div,want", [([5, 4, 3, 2], "variety down"), ([2, 3, 4, 5], "variety up"),
                                      ([3, 3, 3, 3], "variety level")])
def test_guidance_title_extremes(div, want):
    title = quality_facts.guidance_title([0, 1, 2, 3], [9] + div[1:], [0.1, 0.5, 0.6, 0.7])
    assert want in title and "confidence up" in title
    assert "confidence down" in quality_facts.guidance_title([1, 2], [1, 1], [0.9, 0.5])


def test_guidance_figure_marks_s0_as_class_ignored():
    g = CARD["guidance_sweep"]
    fig = sampling_figures.guidance_sweep_figure(g["scales"], g["diversity"], g["confidence"],
                                                 diversity_name="diversity (mean pairwise L2 in a class)",
                                                 class_ignored_at_zero=True)
    line = next(t for t in fig.data if t.name == "diversity (mean pairwise L2 in a class)")
    assert 0.0 not in list(line.x) and len(line.x) == len(g["scales"]) - 1
    ignored = next(t for t in fig.data if "class ignored" in t.name)
    assert list(ignored.x) == [0.0] and ignored.y[0] == pytest.approx(g["diversity"][0])
    # Without the flag (the 2-D score page), s = 0 stays on the line.
    plain = sampling_figures.guidance_sweep_figure(g["scales"], g["diversity"], g["confidence"])
    assert 0.0 in list(plain.data[0].x)


#: The reverse page's guidance slider (app_pages/reverse.py): 0 ... 10 in steps of 0.5.
GUIDANCE_MAX = 10.0


def measured(g, s):
    """The card's raw confidence and diversity at a measured scale, as the sentence prints them."""
    i = g["scales"].index(s)
    return f"confidence {g['confidence'][i]:.1%}, diversity {g['diversity'][i]:.1f}"


@pytest.mark.parametrize("current", [0.0, 0.5, 1.0, 2.5, GUIDANCE_MAX])
def test_guidance_setting_sentence(current):
    """Only s = 0 ignores the class: at s = 0.5 the guided ε̂ = ε̂(∅) + 0.5·(ε̂(y) − ε̂(∅)) still uses it, and 0.5
    is as near to the measured 1 as to 0, so the page must not call it the unconditional s = 0."""
    g = CARD["guidance_sweep"]
    text = quality_facts.guidance_setting_sentence(current, g["scales"], g["confidence"], g["diversity"],
                                                   measured_with="DDIM, 50 steps")
    assert ("class ignored" in text) == (current < 1)
    assert "Your setting" not in text  # the sweep measured one sampler: only the scale is compared
    assert text.endswith(" Measured with DDIM, 50 steps, not necessarily your sampler.")  # 0 itself, or between 0 and 1 with s = 0 named as such
    assert "is closest to" not in text
    if current in g["scales"]:
        assert text == (f"Your scale is one of the measured ones: s = {current:g} ({measured(g, current)}"
                        + ("; class ignored: unconditional samples, any digit)." if current == 0 else ").")
                        + " Measured with DDIM, 50 steps, not necessarily your sampler.")
    elif current > max(g["scales"]):
        top = max(g["scales"])
        assert f"lies beyond the largest measured s = {top:g} ({measured(g, top)})" in text
        assert "class ignored" not in text
    else:
        lo = max(v for v in g["scales"] if v < current)
        hi = min(v for v in g["scales"] if v > current)
        assert f"lies between the measured s = {lo:g} ({measured(g, lo)}" in text
        assert f"and s = {hi:g} ({measured(g, hi)})" in text
        assert ("still uses the class" in text) == (lo == 0)
        if lo == 0:
            assert f"ε̂ = ε̂(∅) + {current:g}·(ε̂(y) − ε̂(∅))" in text


@pytest.mark.parametrize("current", [0.0, 0.5, 3.0, GUIDANCE_MAX])
def test_guidance_setting_sentence_without_a_class(current):
    """With no class asked every label is the null label, so ε̂(y) = ε̂(∅) and the guided ε̂(∅) + s·(ε̂(y) − ε̂(∅))
    is ε̂(∅) at every s: no scale "uses the class", and the card's readings (for an asked class) are not the
    user's. Checked on the guidance rule itself with stand-in predictions."""
    g = CARD["guidance_sweep"]
    eps_null = np.array([0.3, -1.2])
    eps_y = eps_null.copy()  # the null label asked: the same prediction
    assert np.array_equal(eps_null + current * (eps_y - eps_null), eps_null)
    text = quality_facts.guidance_setting_sentence(current, g["scales"], g["confidence"], g["diversity"],
                                                   class_asked=False)
    assert "still uses the class" not in text and "confidence" not in text
    assert text.startswith("With no class asked, ε̂(y) = ε̂(∅), so every scale s gives the same unconditional")


def test_guidance_setting_sentence_markdown_safe():
    g = CARD["guidance_sweep"]
    for current in (0.0, 0.5, 1.0, 3.5, GUIDANCE_MAX):
        text = quality_facts.guidance_setting_sentence(current, g["scales"], g["confidence"], g["diversity"])
        assert "_" not in text and "*" not in text and "$" not in text


# ------------------------------------------------------------------ 5. the bound on a clipped x0_hat's error

def test_clipped_x0_error_bound():
    grid = np.linspace(-1, 1, 201)
    diff = np.abs(grid[:, None] - grid[None, :])
    text = weighting_facts.x0_error_sentence(make_schedule_for_T("cosine", 1000), 999, 0.5, 100.0, 0.3)
    m = re.search(r"off by at most ([0-9.]+) per pixel, a squared error of at most ([0-9.]+)", text)
    assert m, text
    assert float(m.group(1)) == diff.max() and float(m.group(2)) == (diff ** 2).max()


# ------------------------------------------------------------------ 6. no value printed as zero that is not

@pytest.mark.parametrize("v", [4.9e-5, 2.4e-9, -3e-7, 0.5, 0.00123, 1234.5, 5e-5, 123456.0])
def test_number_never_hides_a_value(v):
    out = number(v)
    assert read_number(out) == pytest.approx(v, rel=5e-4, abs=5e-5 if abs(v) >= 1e-3 else 0)
    assert read_number(out) != 0


def fake_steps(ts):
    rng = np.random.default_rng(0)
    k = len(ts)
    x = rng.standard_normal((k, 28, 28)).astype(np.float32)
    return StepFrames(ts=list(ts), x0=x[0], eps=x[0], x_t=x, eps_hat=x, loss=np.ones(k), label=0)


def test_readings_equations_at_t999():
    sched = make_schedule_for_T("cosine", 1000)
    ab = cosine_alpha_bar(1000)
    fs = readings_frameset(fake_steps([0, 500, 999]), sched, "t")
    x0_line, score_line, v_line = (line[2] for line in fs.lines)
    m = re.fullmatch(rf"x̂₀ = \(x₉₉₉ − {NUM}·ε̂\) / {NUM}", x0_line)
    assert m, x0_line
    assert read_number(m.group(2)) == pytest.approx(math.sqrt(ab[999]), rel=1e-3)  # 4.9e-5, not 0.0000
    m = re.fullmatch(rf"v̂ = {NUM}·ε̂ − {NUM}·x̂₀", v_line)
    assert m, v_line
    assert read_number(m.group(1)) == pytest.approx(math.sqrt(ab[999]), rel=1e-3)
    assert read_number(m.group(1)) > 0


def test_step_table_alpha_bar_at_t999():
    sched = make_schedule_for_T("cosine", 1000)
    ab = cosine_alpha_bar(1000)
    x = np.zeros((2, 1, 28, 28), dtype=np.float32)
    res = SampleResult(images=x[-1], labels=np.zeros(1, int), timesteps=[999, 0], x_T=x[0], x_t=x, eps_hat=x,
                       x0_hat=x, x_prev=x, kept_steps=[0, 1], settings={"sampler": "ddim", "eta": 0.0})
    fs = trajectory_frameset(sched, res, 0, "step")
    shown = next(m for m in fs.metrics if m["label"] == "ᾱₜ")["values"]
    assert read_number(shown[0]) == pytest.approx(ab[999], rel=1e-3) and ab[999] < 1e-8
    assert read_number(shown[1]) == pytest.approx(ab[0], rel=1e-3)


# ------------------------------------------------------------------ 8. accuracy ticks

def test_accuracy_ticks_distinct_for_the_card():
    q = CARD["quality_vs_steps"]
    fig = sampling_figures.quality_vs_network_calls(q)
    ax = fig.layout.yaxis  # the accuracy panel is the first
    labels = [format(v, ax.tickformat) for v in ax.tickvals]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    acc = [r["accuracy"] for r in q["rows"]] + [q["classifier_accuracy_on_heldout_real"]]
    assert min(ax.tickvals) <= min(acc) and max(ax.tickvals) >= max(acc)
    assert max(ax.tickvals) - min(ax.tickvals) <= 0.1  # the ticks fit the data, not 0-100 %


@pytest.mark.parametrize("accs", [[0.1, 1.0], [0.995, 0.996], [1.0, 1.0], [0.5, 0.52, 0.9]])
def test_accuracy_ticks_distinct_at_extremes(accs):
    rows = [{"sampler": "ddim", "steps": 5 * (i + 1), "network_passes_per_digit": 10 * (i + 1), "accuracy": a,
             "diversity_vs_real": 1.0, "nearest_training_l2_median": 10.0} for i, a in enumerate(accs)]
    fig = sampling_figures.quality_vs_network_calls({"rows": rows, "real_heldout": {"nearest_training_l2_median": 9},
                                                     "classifier_accuracy_on_heldout_real": None})
    ax = fig.layout.yaxis
    labels = [format(v, ax.tickformat) for v in ax.tickvals]
    assert len(set(labels)) == len(labels), labels
    assert min(ax.tickvals) <= min(accs) and max(ax.tickvals) >= max(accs)


# ------------------------------------------------------------------ the pages themselves

def test_learning_page_at_T1000_on_the_log_snr_axis():
    at = open_page("app_pages/learning.py", {"ln_axis": "log_snr", "ln_T": "1000", "ln_bt": "2", "ln_rt": "999"})
    md = " ".join(m.value for m in at.markdown)
    caps = " ".join(c.value for c in at.caption)
    # 4: the pointer says which control shows the reason, and the reason is shown on that axis.
    assert "choose the log-SNR axis below to see why" in md and "see below the plots" not in md
    assert "weight per unit of log-SNR" in caps
    # 1: the step sizes at T = 1000, recomputed.
    betas = cosine_betas(1000)[0]
    step = re.search(r"At T = 1000.*?stays clipped at 0\.999\.", md)
    assert step and parse_step_sizes(step.group(0))[1:3] == (int(np.sum(betas < 0.01)), int(np.sum(betas > 0.1)))
    # 6: with σ² = β (the default), p's variance at t = 2 (paper's index) is β₂ = betas[1] ≈ 5e-5, not 0.0000.
    m = re.search(rf"has mean -?[0-9.]+ and variance {NUM}, and", md)
    assert m and read_number(m.group(1)) == pytest.approx(betas[1], rel=1e-3) and betas[1] < 1e-4


def test_learning_page_default_and_readings():
    at = open_page("app_pages/learning.py")
    md = " ".join(m.value for m in at.markdown)
    betas = cosine_betas(10)[0]
    step = re.search(r"At T = 10,.*?stays clipped at 0\.999\.", md)
    assert step and parse_step_sizes(step.group(0))[1:3] == (int(np.sum(betas < 0.01)), int(np.sum(betas > 0.1)))
    rs = scrubber(at, "ln_rt")
    i = rs.values.index(max(rs.values))
    t = rs.values[i]
    x0_line = rs.frames["lines"][0][i]
    m = re.search(rf"/ {NUM}$", x0_line)
    assert m and read_number(m.group(1)) == pytest.approx(math.sqrt(cosine_alpha_bar(1000)[t]), rel=1e-3)


def test_reverse_page_sentences_and_figures():
    at = open_page("app_pages/reverse.py", {"rv_n": "1", "rv_steps": "5", "rv_guidance": "0.0"})
    md = " ".join(m.value for m in at.markdown)
    q = CARD["quality_vs_steps"]
    ddim, dpm = fewest_matching(q["rows"], "ddim"), fewest_matching(q["rows"], "dpm++2m")
    assert "for the same digits in fewer" not in md
    if ddim == dpm:
        assert f"both first match DDIM-50's quality at {ddim} steps" in md
    # 7: the implicit classifier, apart from the CNN that judges the samples.
    assert r"p(y\mid x) \propto p(x\mid y)/p(x)" in md and "separate CNN classifier" in md
    figs = charts(at)
    sweep = next(f for f in figs if any("class ignored" in (d.get("name") or "") for d in f["data"]))
    line = next(d for d in sweep["data"] if d.get("name", "").startswith("diversity"))
    assert 0.0 not in chart_array(line["x"]).tolist()
    g = CARD["guidance_sweep"]
    title = sweep["layout"]["title"]["text"]
    assert f"until s = {level_from(g['scales'], g['diversity'])[0]:g}" in title
    # s = 0 chosen: the page says its diversity is not within a class.
    assert "class ignored: unconditional samples" in md
    quality = next(f for f in figs if "Quality against network calls" in f["layout"]["title"]["text"])
    ax = quality["layout"]["yaxis"]
    labels = [format(v, ax["tickformat"]) for v in ax["tickvals"]]
    assert len(set(labels)) == len(labels) >= 3


def test_reverse_page_guidance_half():
    """At s = 0.5 the page says the class is still used, and does not call it the unconditional s = 0."""
    at = open_page("app_pages/reverse.py", {"rv_n": "1", "rv_steps": "5", "rv_guidance": "0.5"})
    md = " ".join(m.value for m in at.markdown)
    g = CARD["guidance_sweep"]
    assert "Your scale s = 0.5 lies between the measured s = 0" in md
    assert "Measured with DDIM, 50 steps, not necessarily your sampler." in md
    assert f"and s = 1 ({measured(g, 1.0)})" in md and "still uses the class" in md
    assert "is closest to the measured s = 0" not in md


def test_reverse_page_guidance_without_a_class():
    """Class "no class": the page says every scale gives the same unconditional samples, not that s uses the class."""
    at = open_page("app_pages/reverse.py", {"rv_n": "1", "rv_steps": "5", "rv_guidance": "0.5", "rv_class": "none"})
    md = " ".join(m.value for m in at.markdown)
    assert "With no class asked, ε̂(y) = ε̂(∅), so every scale s gives the same unconditional samples" in md
    assert "still uses the class" not in md


def kl_step_written_out(mix, T: int, t: int, x_t: float, x0: float) -> float:
    """KL(q(x_{t-1} | x_t, x_0) ‖ p) with σ² = β_t (Ho et al. 2020, Eq. 6-7 and 5), the paper's t = 1 ... T, for a
    1-D Gaussian mixture: p's mean is Eq. 7's mean with E[x_0 | x_t] (Bayes per component) in place of x_0."""
    ab_all = cosine_alpha_bar(T)
    ab, ab_prev = ab_all[t - 1], (ab_all[t - 2] if t >= 2 else 1.0)
    beta = 1 - ab / ab_prev
    beta_tilde = (1 - ab_prev) / (1 - ab) * beta
    c0 = math.sqrt(ab_prev) * beta / (1 - ab)  # Eq. 7: the weight of x_0 in the mean (the x_t weight cancels in the gap)
    var = ab * mix.s2 + 1 - ab
    r = mix.w * np.exp(-(x_t - math.sqrt(ab) * mix.m) ** 2 / (2 * var)) / np.sqrt(var)
    r = r / r.sum()
    e_x0 = float(np.sum(r * mix.s2 * (1 - ab) / var * (mix.m / mix.s2 + math.sqrt(ab) * x_t / (1 - ab))))
    gap = c0 * (x0 - e_x0)
    return 0.5 * (math.log(beta / beta_tilde) + (beta_tilde + gap ** 2) / beta - 1)


def test_bound_section_prints_tiny_terms_at_T1000_t1000():
    """At T = 1000, t = 1000 the KL and L₉₉₉ are about 10⁻⁷ nats: printed with their power of ten, not 0.0000."""
    import test_bound_accuracy

    from explainer.core import elbo
    from explainer.core.schedules import make_schedule

    at = open_page("app_pages/learning.py", {"ln_T": "1000", "ln_bt": "1000", "ln_xt": "0.3", "ln_x0": "0.6"})
    md = " ".join(m.value for m in at.markdown)
    m = re.search(rf"‖ p\) = {NUM} nats for this x₀\. Lₜ₋₁ is that KL averaged over every x₀ and x_t: {NUM}\.", md)
    assert m, md
    kl, L = read_number(m.group(1)), read_number(m.group(2))
    mix = elbo.MIXTURES["two Gaussians"]
    want_kl = kl_step_written_out(mix, 1000, 1000, 0.3, 0.6)
    want_L = test_bound_accuracy._reference(mix, make_schedule("cosine", 1000))["beta"]["L_t"][-1]
    assert want_L == pytest.approx(4.7e-7, rel=0.01) and 0 < want_kl < 1e-4
    assert kl == pytest.approx(want_kl, rel=1e-3) and L == pytest.approx(want_L, rel=1e-3)
    assert "= 0.0000 nats" not in md and not re.search(r"\d[eE][+-]?\d", md)


# ------------------------------------------------------------------ 7. guidance follows p(x|y) p(y|x)^(s-1)

@pytest.mark.parametrize("scale", [0.0, 1.0, 3.0, 7.5])
def test_guidance_is_the_implicit_classifier_to_the_power_s_minus_1(scale):
    """The page's claim, by finite differences of log p(x|y) + (s−1) log p(y|x), with p(y|x) = p(x|y)p(y)/p(x)
    by Bayes (densities written here), against the ε̂_∅ + s(ε̂_y − ε̂_∅) arithmetic the sampler uses."""
    from explainer.core import guidance

    mix = guidance.three_classes()
    ab = 0.6

    def log_gauss_mix(x, w, m, sd):
        var = ab * sd ** 2 + 1 - ab
        d2 = np.sum((x[None, :] - math.sqrt(ab) * m) ** 2, axis=1)
        return np.log(np.sum(w * np.exp(-d2 / (2 * var)) / (2 * np.pi * var)))

    y = 1
    k = mix.labels == y
    p_y = mix.weights[k].sum()

    def target(x):
        log_px_y = log_gauss_mix(x, mix.weights[k] / p_y, mix.means[k], mix.stds[k])
        log_py_x = log_px_y + math.log(p_y) - log_gauss_mix(x, mix.weights, mix.means, mix.stds)
        return log_px_y + (scale - 1) * log_py_x

    h = 1e-5
    for x in np.array([[0.3, -0.2], [0.0, 0.9], [-1.1, 0.4]]):
        fd = np.array([(target(x + h * e) - target(x - h * e)) / (2 * h) for e in np.eye(2)])
        np.testing.assert_allclose(guidance.guided_score(mix, x[None], y, scale, ab)[0], fd, rtol=1e-5, atol=1e-6)
