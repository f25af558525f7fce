"""Guidance as sharpening, exactly: a labelled 2-D mixture whose class posterior is known.

Classifier-free guidance (Ho & Salimans 2022) samples with the score

    grad log p_t(x) + s * grad log p_t(y | x)
      = (1 - s) grad log p_t(x) + s grad log p_t(x | y)                  (Bayes: p(y|x) = p(x|y) p(y) / p(x))

which at s = 1 is the conditional score and at s = 0 the unconditional one. It is the
score of p_t(x | y) p_t(y | x)^(s - 1) (up to a constant): for s > 1 the class
posterior, raised to a power, reweights the class's own distribution towards the
places where the class is *unambiguous* and away from its edges, where other classes
overlap (Dieleman 2022, "Guidance: a cheat code for diffusion models"). That is the
sharpening: higher confidence, less diversity.

The eps-form the reverse page uses is the same thing. A noise predictor is a scaled
score, eps_hat = -sqrt(1 - ab) * score, so

    eps_hat_u + s (eps_hat_c - eps_hat_u)
      = -sqrt(1 - ab) [grad log p_t(x) + s (grad log p_t(x|y) - grad log p_t(x))]
      = -sqrt(1 - ab) [grad log p_t(x) + s grad log p_t(y|x)],

i.e. `samplers.cfg_eps(eps_u, eps_c, s)` is `guided_score` times -sqrt(1 - ab).

Here the data are a Gaussian mixture in which each component is one class, so
p_t(y | x), its gradient and the guided score are exact at every noise level
(noising a Gaussian N(m, s^2 I) gives N(sqrt(ab) m, (ab s^2 + 1 - ab) I)); no network
is involved, and particles can follow the guided field with `toy2d`'s samplers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import toy2d


@dataclass(frozen=True)
class LabelledMixture:
    """sum_k weights[k] N(means[k], stds[k]^2 I), component k of class labels[k]; names[c] names class c."""

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def components_of(self, y: int) -> np.ndarray:
        if not 0 <= int(y) < self.num_classes:
            raise ValueError(f"class must be 0 ... {self.num_classes - 1}, got {y}")
        return np.nonzero(self.labels == int(y))[0]


def three_classes(radius: float = 1.0, std: float = 0.5) -> LabelledMixture:
    """Three equally likely, overlapping Gaussian classes at the corners of a triangle.

    They overlap on purpose: where two classes meet, p(y | x) is near 1/2, and guidance
    has something to remove. With the defaults the data have a per-coordinate std of
    sqrt(radius^2 / 2 + std^2) = 0.87, close to the other toy data sets' 1.
    """
    angle = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
    means = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return LabelledMixture(weights=np.full(3, 1 / 3), means=means, stds=np.full(3, float(std)),
                           labels=np.arange(3), names=("A", "B", "C"))


def sample(mix: LabelledMixture, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(points (n, 2), class labels (n,)) drawn from the mixture."""
    rng = np.random.default_rng(seed)
    k = rng.choice(len(mix.weights), size=int(n), p=mix.weights)
    x = mix.means[k] + mix.stds[k, None] * rng.standard_normal((int(n), mix.means.shape[1]))
    return x, mix.labels[k]


def _class_mixture(mix: LabelledMixture, y: int):
    k = mix.components_of(y)
    w = mix.weights[k]
    return w / w.sum(), mix.means[k], mix.stds[k]


def class_posterior(mix: LabelledMixture, x, alpha_bar=None) -> np.ndarray:
    """p_t(y | x) for every class, (M, C); rows sum to 1. alpha_bar=None: the clean data (t = 0).

    The sum of the responsibilities of the class's components in the noised mixture.
    """
    r = toy2d.gmm_responsibilities(x, mix.weights, mix.means, mix.stds, alpha_bar)
    out = np.zeros((len(r), mix.num_classes))
    np.add.at(out.T, mix.labels, r.T)
    return out


def unconditional_score(mix: LabelledMixture, x, alpha_bar=None) -> np.ndarray:
    """grad_x log p_t(x), (M, 2)."""
    return toy2d.gmm_score(x, mix.weights, mix.means, mix.stds, alpha_bar)


def conditional_score(mix: LabelledMixture, x, y: int, alpha_bar=None) -> np.ndarray:
    """grad_x log p_t(x | y): the score of the class's own (renormalised) components, (M, 2)."""
    return toy2d.gmm_score(x, *_class_mixture(mix, y), alpha_bar)


def posterior_grad(mix: LabelledMixture, x, y: int, alpha_bar=None) -> np.ndarray:
    """grad_x log p_t(y | x) = grad log p_t(x | y) - grad log p_t(x) (Bayes; p(y) has no gradient), (M, 2)."""
    return conditional_score(mix, x, y, alpha_bar) - unconditional_score(mix, x, alpha_bar)


def guided_score(mix: LabelledMixture, x, y: int, scale: float, alpha_bar=None) -> np.ndarray:
    """grad log p_t(x) + s grad log p_t(y | x) (Ho & Salimans 2022 in score form), (M, 2).

    Written as uncond + s (cond - uncond), the same arithmetic as `samplers.cfg_eps`, so s = 1
    gives the conditional score and s = 0 the unconditional one.
    """
    uncond = unconditional_score(mix, x, alpha_bar)
    return uncond + float(scale) * (conditional_score(mix, x, y, alpha_bar) - uncond)


def eps_from_score(score: np.ndarray, alpha_bar: float) -> np.ndarray:
    """eps_hat = -sqrt(1 - ab) * score: the noise a perfect eps-predictor would output (DDPM's parametrisation)."""
    return -math.sqrt(1.0 - float(alpha_bar)) * np.asarray(score)


def guided_score_fn(mix: LabelledMixture, y: int, scale: float):
    """score_fn(x, alpha_bar) for `toy2d`'s samplers: particles follow the guided field."""
    mix.components_of(y)  # check the class now, not at the first step
    return lambda x, alpha_bar: guided_score(mix, x, y, scale, alpha_bar)


def sharpened_log_density(mix: LabelledMixture, x, y: int, scale: float, alpha_bar=None) -> np.ndarray:
    """log p_t(x | y) + (s - 1) log p_t(y | x), unnormalised; its gradient is `guided_score`, (M,)."""
    log_cond = toy2d.gmm_log_density(x, *_class_mixture(mix, y), alpha_bar)
    with np.errstate(divide="ignore"):
        log_post = np.log(class_posterior(mix, x, alpha_bar)[:, int(y)])
    return log_cond + (float(scale) - 1.0) * log_post


def sharpened_density_grid(mix: LabelledMixture, y: int, scale: float, alpha_bar=None, extent: float = 3.0,
                           n: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, p (n, n)): p_t(x | y) p_t(y | x)^(s-1), normalised to integrate to 1 on the grid; y along rows."""
    xs, ys, pts = toy2d.grid(extent, n)
    logp = sharpened_log_density(mix, pts, y, scale, alpha_bar)
    p = np.exp(logp - logp.max())
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    return xs, ys, (p / (p.sum() * cell)).reshape(n, n)


def spread(points: np.ndarray) -> float:
    """sqrt(E||x - mean||^2): the root-mean-square distance to the centre, a diversity measure."""
    points = np.asarray(points, dtype=np.float64)
    return float(np.sqrt(np.mean(np.sum((points - points.mean(axis=0)) ** 2, axis=1))))


def grid_spread(density: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """`spread` of a density given on a grid (xs, ys, p (ny, nx)), by quadrature."""
    xs, ys, p = density
    gx, gy = np.meshgrid(xs, ys)
    w = p / p.sum()
    mx, my = (w * gx).sum(), (w * gy).sum()
    return float(np.sqrt((w * ((gx - mx) ** 2 + (gy - my) ** 2)).sum()))
