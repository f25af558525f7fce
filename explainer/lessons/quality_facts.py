"""Sentences and titles that the model card's quality measurements support (quality_vs_steps, guidance_sweep).

What a page says about fewer steps or about guidance is read from the card's numbers, so it stays true
when the card is remeasured. Plain text; no Streamlit.
"""
from __future__ import annotations

import numpy as np

from ..core.samplers import SAMPLER_LABELS

# "Matches DDIM-50" (explainer/evaluate.py's fewest_matching_steps): no more than this far below its figures.
# With 500-1,000 digits the binomial standard error of an accuracy near 99.5 % is 0.2-0.3 points: half a point
# is about two of them. Diversity is a ratio to real digits.
MATCH_ACCURACY = 0.005
MATCH_DIVERSITY = 0.02
MATCH_RULE = (f"accuracy at most {MATCH_ACCURACY * 100:g} points and diversity / real at most {MATCH_DIVERSITY:g} "
              "below DDIM-50's")

#: Relative change of diversity that the title calls level: the sweep has no error bars, and 30 digits per
#: class move the mean pairwise L2 by about this much between seeds.
LEVEL_TOLERANCE = 0.01


def few_steps_sentence(quality: dict | None, sampler: str = "dpm++2m", baseline: str = "ddim") -> str:
    """What a second-order sampler buys: the general claim (Lu et al. 2022) and what the card measured here.

    `quality` is the card's "quality_vs_steps" (or None); its "fewest_steps_matching_ddim50" gives, per sampler,
    the fewest steps whose accuracy and diversity match DDIM-50's by MATCH_RULE, which the sentence states.
    """
    name, base = SAMPLER_LABELS.get(sampler, sampler), SAMPLER_LABELS.get(baseline, baseline)
    general = (f"on large image models it reaches the same result as {base} in fewer steps (Lu et al. 2022)")
    fewest = (quality or {}).get("fewest_steps_matching_ddim50", {})
    mine, theirs = fewest.get(sampler), fewest.get(baseline)
    if mine is None or theirs is None:
        return general + "."
    if mine == theirs:
        here = f"with this small model both first match DDIM-50's quality at {mine} steps"
    elif mine < theirs:
        here = f"with this small model it matches DDIM-50's quality from {mine} steps, {base} from {theirs}"
    else:
        here = f"with this small model {base} matches DDIM-50's quality from {theirs} steps, {name} only from {mine}"
    return f"{general}; {here} (the model card's measurement, by its rule: {MATCH_RULE})."


def guidance_title(scales, diversity, confidence, tol: float = LEVEL_TOLERANCE) -> str:
    """The guidance figure's title: which way confidence and within-class variety go as s grows from 1.

    s = 0 ignores the class (unconditional samples), so it is left out. Variety is "level" from the
    first scale after which every later value stays within `tol` (relative) of it.
    """
    s = np.asarray(scales, dtype=np.float64)
    keep = s >= 1.0
    s, d, c = s[keep], np.asarray(diversity, dtype=np.float64)[keep], np.asarray(confidence, dtype=np.float64)[keep]
    if len(s) < 2:
        return "Guidance: confidence and variety"
    conf = "confidence up" if c[-1] > c[0] else "confidence down" if c[-1] < c[0] else "confidence level"
    level_from = next(k for k in range(len(d)) if np.all(np.abs(d[k:] - d[k]) <= tol * abs(d[k])))
    if level_from == 0:
        return f"Guidance: {conf}, variety level (within {tol:.0%}) from s = {s[0]:g} to {s[-1]:g}"
    way = "down" if d[level_from] < d[0] else "up"
    if level_from == len(d) - 1:
        return f"Guidance: {conf}, variety {way}"
    return (f"Guidance: {conf}, variety {way} until s = {s[level_from]:g}, then level "
            f"(within {tol:.0%})")


def guidance_setting_sentence(current: float, scales, confidence, diversity, measured_with: str = "",
                              class_asked: bool = True) -> str:
    """Where the page's guidance scale s sits among the card's measured scales, and what was measured there.

    Only s = 0 ignores the class: ε̂ = ε̂(∅) + s·(ε̂(y) − ε̂(∅)) uses it at every s > 0, so a setting between
    the measured 0 and 1 is said to lie between them, not to be the unconditional s = 0. The sweep was
    measured with one sampler (`measured_with`, e.g. "DDIM, 50 steps"), so only the scale is compared, never
    the user's whole setting. With no class asked (`class_asked=False`) ε̂(y) = ε̂(∅): every s gives the same
    unconditional samples, and the page says so instead. Plain text for st.markdown: no underscores or asterisks.
    """
    if not class_asked:
        return ("With no class asked, ε̂(y) = ε̂(∅), so every scale s gives the same unconditional samples; the "
                "measurements above are for an asked class.")
    s = np.asarray(scales, dtype=np.float64)
    order = np.argsort(s)
    s = s[order]
    conf, div = np.asarray(confidence)[order], np.asarray(diversity)[order]

    def reading(i: int) -> str:
        ignored = "; class ignored: unconditional samples, any digit" if s[i] == 0 else ""
        return f"s = {s[i]:g} (confidence {conf[i]:.1%}, diversity {div[i]:.1f}{ignored})"

    how = f" Measured with {measured_with}, not necessarily your sampler." if measured_with else ""
    exact = np.nonzero(np.isclose(s, current, rtol=0, atol=1e-9))[0]
    if len(exact):
        return f"Your scale is one of the measured ones: {reading(int(exact[0]))}.{how}"
    if current > s[-1]:
        return f"Your scale s = {current:g} lies beyond the largest measured {reading(len(s) - 1)}.{how}"
    if current < s[0]:
        return f"Your scale s = {current:g} lies below the smallest measured {reading(0)}.{how}"
    hi = int(np.searchsorted(s, current))
    uses = (f" Unlike s = 0 it still uses the class: ε̂ = ε̂(∅) + {current:g}·(ε̂(y) − ε̂(∅))." if s[hi - 1] == 0
            else "")
    return f"Your scale s = {current:g} lies between the measured {reading(hi - 1)} and {reading(hi)}." + uses + how
