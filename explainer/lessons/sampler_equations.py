"""How each sampler is written down: its update rule in LaTeX, one step with its numbers filled in, and the
notes a reader needs. One entry per sampler of `explainer.core.samplers.SAMPLERS` (same keys, tested)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..core.samplers import SAMPLERS, dpm_lambda, dpmpp_2m_coefficients
from ..core.schedules import NoiseSchedule
from .notation import number, sub


def tex_number(v: float) -> str:
    """A coefficient for LaTeX (`notation.number`): powers of ten written out, never 0.0000."""
    return number(v, tex=True)


def dpmpp_2m_latex(schedule: NoiseSchedule, t: int, t_prev: int, t_last: int | None = None) -> list[str]:
    """LaTeX lines of one DPM-Solver++(2M) update, general and with this step's numbers filled in.

    `t_last` is the timestep visited before t (None on the first step). The first step and the
    step to the clean end (t_prev = -1) are first order, as `dpmpp_2m_step` does them.
    """
    t, t_prev = int(t), int(t_prev)
    first_order = t_last is None or t_prev < 0
    c = dpmpp_2m_coefficients(schedule, t, t_prev, None if first_order else t_last)
    update = (r"x_{t'} = \frac{\sigma_{t'}}{\sigma_t}\,x_t + \alpha_{t'}\,(1 - e^{-h})\,D"
              r"\quad\text{(DPM-Solver++(2M), Lu et al. 2022, Alg. 2)}")
    terms = (r"D = \Bigl(1 + \frac{1}{2r}\Bigr)\hat x_0 - \frac{1}{2r}\,\hat x_0^{\mathrm{last}},\quad "
             r"h = \lambda_{t'} - \lambda_t,\quad r = \frac{\lambda_t - \lambda_{\mathrm{last}}}{h},\quad "
             r"\alpha = \sqrt{\bar\alpha},\ \sigma = \sqrt{1-\bar\alpha}")
    general = [update, terms]
    lam = rf"\lambda = \log\frac{{\alpha}}{{\sigma}}:\quad \lambda_{{{t}}} = {c['lambda_t']:.3f}"
    if t_prev < 0:
        return [*general, lam + r",\ \lambda_{-1} = \infty\ (\sigma = 0)",
                rf"x_{{-1}} = \hat x_0^{{({t})}}\quad\text{{(last step: first order, returns }}\hat x_0)"]
    lam += rf",\ \lambda_{{{t_prev}}} = {c['lambda_prev']:.3f},\ h = {c['h']:.3f}"
    filled = rf"x_{{{t_prev}}} = {tex_number(c['c_xt'])}\,x_{{{t}}} + {tex_number(c['c_x0'])}\,\hat x_0^{{({t})}}"
    if first_order:
        return [*general, lam, filled + r"\quad\text{(first step: first order, } D = \hat x_0 \text{, as DDIM)}"]
    lam += rf",\ \lambda_{{{int(t_last)}}} = {dpm_lambda(schedule, int(t_last)):.3f},\ r = {c['r']:.3f}"
    sign = "-" if c["c_x0_last"] < 0 else "+"
    filled += rf" {sign} {tex_number(abs(c['c_x0_last']))}\,\hat x_0^{{({int(t_last)})}}"
    return [*general, lam, filled]


def _ddim_filled(schedule: NoiseSchedule, t: int, t_prev: int, eta: float = 0.0, t_last: int | None = None) -> str:
    co = SAMPLERS["ddim"].coefficients(schedule, t, t_prev, eta=eta)
    return f"{_out(t_prev)} = {co['c_x0']:.4f}·x̂₀ + {co['c_eps']:.4f}·ε̂ + {co['sigma']:.4f}·z"


def _ddpm_filled(schedule: NoiseSchedule, t: int, t_prev: int, eta: float = 0.0, t_last: int | None = None) -> str:
    co = SAMPLERS["ddpm"].coefficients(schedule, t, t_prev)
    return f"{_out(t_prev)} = {co['c_x0']:.4f}·x̂₀ + {co['c_xt']:.4f}·x{sub(t)} + {co['sigma']:.4f}·z"


def _dpmpp_2m_filled(schedule: NoiseSchedule, t: int, t_prev: int, eta: float = 0.0,
                     t_last: int | None = None) -> str:
    if t_prev < 0:
        return f"x₀ = x̂₀{sub(t)}   (last step: first order, returns x̂₀)"
    co = dpmpp_2m_coefficients(schedule, t, t_prev, t_last)
    text = f"{_out(t_prev)} = {co['c_xt']:.4f}·x{sub(t)} + {co['c_x0']:.4f}·x̂₀{sub(t)}"
    if t_last is None:
        return text + "   (first step: first order, as DDIM)"
    sign = "−" if co["c_x0_last"] < 0 else "+"
    return text + f" {sign} {abs(co['c_x0_last']):.4f}·x̂₀{sub(t_last)}   (h = {co['h']:.3f}, r = {co['r']:.3f})"


def _out(t_prev: int) -> str:
    return f"x{sub(t_prev)}" if t_prev >= 0 else "x₀"


_X0_HAT = r"\hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon}{\sqrt{\bar\alpha_t}},\qquad "


@dataclass(frozen=True)
class Equations:
    """How one sampler of `explainer.core.samplers.SAMPLERS` is written: its update in LaTeX (general), the
    update of one step with its numbers filled in (plain text), and what a reader must know about it."""

    general: Callable[[NoiseSchedule, list[int]], list[str]]  # (schedule, the run's timesteps) -> LaTeX lines
    filled: Callable[..., str]                                # (schedule, t, t_prev, eta, t_last) -> text
    jump_note: str = ""  # what the symbols mean when steps are skipped
    clip_note: str = "."  # how the step uses a clipped x0_hat


EQUATIONS: dict[str, Equations] = {
    "ddim": Equations(
        lambda schedule, ts: [_X0_HAT + r"x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + "
                              r"\sqrt{1-\bar\alpha_{t'}-\sigma^2}\,\hat\varepsilon"
                              r" + \sigma z \quad\text{(DDIM, Eq. 12)}"],
        _ddim_filled,
        clip_note=", and the step then uses the noise re-derived from the clipped x̂₀, "
                  "ε = (x_t − √ᾱ_t·x̂₀) / √(1 − ᾱ_t), not the raw ε̂ pictured."),
    "ddpm": Equations(
        lambda schedule, ts: [_X0_HAT + r"x_{t'} = \frac{\sqrt{\bar\alpha_{t'}}\,\beta}{1-\bar\alpha_t}\hat x_0 + "
                              r"\frac{\sqrt{\alpha}\,(1-\bar\alpha_{t'})}{1-\bar\alpha_t}x_t + \sigma z "
                              r"\quad\text{(DDPM, Eq. 7/11)}"],
        _ddpm_filled,
        jump_note="Here α = ᾱ_t/ᾱ_{t′} and β = 1 − α: the α and β of the whole jump from t to t′ "
                  "(the usual αₜ and βₜ when no step is skipped). "),
    "dpm++2m": Equations(
        lambda schedule, ts: dpmpp_2m_latex(schedule, ts[1], ts[2], ts[0])[:2],
        _dpmpp_2m_filled),
}


def step_equation(schedule: NoiseSchedule, t: int, t_prev: int, sampler: str, eta: float = 0.0,
                  t_last: int | None = None) -> str:
    """The update of one step with its numbers filled in, as plain text (DDIM Eq. 12; DDPM Eq. 7/11;
    DPM-Solver++(2M), Lu et al. 2022 Alg. 2, where t_last is the step visited before t)."""
    return EQUATIONS[sampler].filled(schedule, t, t_prev, eta, t_last)
