"""The sampler registries (explainer.core.samplers.SAMPLERS for digits, explainer.core.particles.PARTICLE_SAMPLERS for
the toy particles) are the one place that knows a sampler by its name."""
import re

import pytest

from conftest import ROOT
from explainer.core.particles import PARTICLE_SAMPLERS
from explainer.core.samplers import SAMPLERS, make_timesteps
from explainer.core.schedules import make_schedule
from explainer.lessons.sampler_equations import EQUATIONS, step_equation

# A comparison of a sampler setting with one of the registries' names: the digit samplers (ddim, ddpm, dpm++2m)
# and the toy particle samplers (langevin, sde, ode).
NAMES = "|".join(re.escape(name) for name in [*SAMPLERS, *PARTICLE_SAMPLERS])
NAME_TEST = re.compile(rf"""sampler["'\]]*\s*[!=]=\s*["']({NAMES})["']""")


def test_every_sampler_has_its_equations():
    assert list(EQUATIONS) == list(SAMPLERS)


def test_no_module_or_page_branches_on_a_sampler_name():
    pages = sorted((ROOT / "app_pages").glob("*.py"))
    assert any(p.name == "reverse.py" for p in pages), "the pages folder moved: point this test at it"
    files = sorted([*(ROOT / "explainer").rglob("*.py"), *pages])
    found = [f"{p.relative_to(ROOT)}:{i}" for p in files
             for i, line in enumerate(p.read_text().splitlines(), 1) if NAME_TEST.search(line)]
    assert not found, found


def test_the_name_test_catches_a_branch():
    assert NAME_TEST.search('if s["sampler"] == "ddim":') and NAME_TEST.search("if sampler != 'ddpm':")
    assert NAME_TEST.search('if sampler == "langevin":') and NAME_TEST.search("elif sampler == 'ode':")
    assert NAME_TEST.search('if sampler == "dpm++2m":') and not NAME_TEST.search('if sampler == "dpm":')


def test_every_particle_sampler_names_its_paper_and_equation():
    for name, entry in PARTICLE_SAMPLERS.items():
        assert entry.name == name and entry.label
        doc = entry.run.__doc__ or ""
        assert re.search(r"(Eq\.|Equation|Algorithm) \d+", doc) and re.search(r"(19|20)\d\d", doc), name


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_filled_in_equation_shows_the_registry_coefficients(name):
    s = make_schedule("cosine", 1000)
    t_last, t, t_prev = (int(v) for v in make_timesteps(1000, 10, "trailing")[:3])
    co = SAMPLERS[name].coefficients(s, t, t_prev, eta=0.5, t_last=t_last)
    text = step_equation(s, t, t_prev, name, 0.5, t_last)
    for key in ("c_x0", "c_xt", "c_eps"):
        if key in co:
            assert f"{abs(co[key]):.4f}" in text
