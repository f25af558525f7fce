"""The sampler registry (explainer.core.samplers.SAMPLERS) is the one place that knows a sampler by its name."""
import re

import pytest

from conftest import ROOT
from explainer.core.samplers import SAMPLERS, make_timesteps
from explainer.core.schedules import make_schedule
from explainer.lessons.sampler_equations import EQUATIONS, step_equation

# A comparison of a sampler setting with one of the registry's names (the toy particle samplers of
# core/particles are another family, named langevin/sde/ode).
NAME_TEST = re.compile(r"""sampler["'\]]*\s*[!=]=\s*["'](ddim|ddpm|dpm\+\+2m)["']""")


def test_every_sampler_has_its_equations():
    assert list(EQUATIONS) == list(SAMPLERS)


def test_no_module_or_page_branches_on_a_sampler_name():
    files = sorted([*(ROOT / "explainer").rglob("*.py"), *(ROOT / "pages").glob("*.py")])
    found = [f"{p.relative_to(ROOT)}:{i}" for p in files
             for i, line in enumerate(p.read_text().splitlines(), 1) if NAME_TEST.search(line)]
    assert not found, found


def test_the_name_test_catches_a_branch():
    assert NAME_TEST.search('if s["sampler"] == "ddim":') and NAME_TEST.search("if sampler != 'ddpm':")


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_filled_in_equation_shows_the_registry_coefficients(name):
    s = make_schedule("cosine", 1000)
    t_last, t, t_prev = (int(v) for v in make_timesteps(1000, 10, "trailing")[:3])
    co = SAMPLERS[name].coefficients(s, t, t_prev, eta=0.5, t_last=t_last)
    text = step_equation(s, t, t_prev, name, 0.5, t_last)
    for key in ("c_x0", "c_xt", "c_eps"):
        if key in co:
            assert f"{abs(co[key]):.4f}" in text
