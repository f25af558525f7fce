"""What one simulated user does: a list of steps, each made of one or more timed actions.

A step finds its widget by its visible label (exact, else the first label that
starts with the text), so a renamed control makes the load test report
"widget not found" as an error. A page that shows an expected message instead
of its controls (the reverse page without the bundled MNIST model) makes its
widget steps count as *skipped*, not as errors.
"""
from __future__ import annotations

from dataclasses import dataclass

FW_T = "Timestep t (0 = almost clean, T−1 = the noisiest step)"
SC_T = "Timestep t (0 = almost clean, T−1 = the end)"
SF_T = "Timestep t (1 = almost clean, 999 = pure noise)"  # the score page's field (a scrubber)
RV_STEP = "Step (0 = the start, pure noise)"
LN_T = "Timestep t (0 = almost clean, T−1 = pure noise)"  # the learning page's training step (a scrubber)


@dataclass(frozen=True)
class Open:
    """Open a page: the first step of a visit loads it by URL, later ones click it in the sidebar."""

    page: str  # url path: "" (home), "forward", "schedules", "learning", "score", "reverse", "reading"
    query: str = ""  # a query string sent with it, as in a shared link: "rv_n=1&rv_steps=10"

    @property
    def action(self) -> str:
        return f"open {self.page or 'home'}"

    times = 1


@dataclass(frozen=True)
class MoveSlider:
    """Move an st.slider (or select_slider) to a random other value, ``times`` times."""

    page: str
    label: str
    times: int = 1
    short: str = "t slider"

    @property
    def action(self) -> str:
        return f"{self.page}: {self.short}"


@dataclass(frozen=True)
class Click:
    """Click an st.button and wait until the run it starts (e.g. sampling) has finished."""

    page: str
    label: str

    @property
    def action(self) -> str:
        return f"{self.page}: {self.label}"

    times = 1


Step = Open | MoveSlider | Click

#: The scenario of the brief: the whole lesson, ~20 actions, ~25 s of think time.
DEFAULT_SCENARIO: tuple[Step, ...] = (
    Open(""),
    Open("forward"),
    MoveSlider("forward", FW_T, 5),
    Open("schedules", query="sc_show_t=true"),  # its image view is on demand: opened as a shared link would
    MoveSlider("schedules", SC_T, 2),
    Open("learning"),
    MoveSlider("learning", LN_T, 2),
    Open("score"),
    MoveSlider("score", SF_T, 3),
    Open("reverse"),
    Click("reverse", "Generate"),
    MoveSlider("reverse", RV_STEP, 3, short="step slider"),
)

#: Every action type once, and a light Generate (for the quick test).
QUICK_SCENARIO: tuple[Step, ...] = (
    Open(""),
    Open("forward"),
    MoveSlider("forward", FW_T, 1),
    Open("schedules", query="sc_show_t=true"),
    MoveSlider("schedules", SC_T, 1),
    Open("score"),
    MoveSlider("score", SF_T, 1),
    Open("reverse", query="rv_n=1&rv_steps=10"),  # a light Generate: 1 digit, 10 steps
    Click("reverse", "Generate"),
    MoveSlider("reverse", RV_STEP, 1, short="step slider"),
)

SCENARIOS = {"default": DEFAULT_SCENARIO, "quick": QUICK_SCENARIO}


def action_names(scenario) -> list[str]:
    """The scenario's action names, in order, without repeats."""
    return list(dict.fromkeys(s.action for s in scenario))
