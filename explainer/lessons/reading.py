"""Further reading: ten classic introductions to diffusion models, as plain data.

No Streamlit here: `app_pages/reading.py` renders this list and the tests check it.
Each entry says which page of the app illustrates it (`app_page`, the page's
url_path in app.py) and how its notation maps onto the app's conventions:

* discrete timesteps t = 0 .. T-1, counted from 0 (papers count from 1, so a
  paper's t is the app's t + 1);
* alpha_bars[t] = prod_{s <= t} (1 - betas[s]), written ᾱ;
* a variance-preserving (VP) process x_t = sqrt(ᾱ) x_0 + sqrt(1 - ᾱ) ε;
* the network predicts the noise ε, and the score is -ε / sqrt(1 - ᾱ);
* classifier-free guidance ε_u + s (ε_c - ε_u), Ho & Salimans' (1 + w) form
  with s = 1 + w.
"""
from __future__ import annotations

from dataclasses import dataclass

KINDS = ("video", "blog post", "paper")
# url_path of each lesson page in app.py -> the page file that st.page_link takes.
APP_PAGES = {
    "forward": "app_pages/forward.py",
    "schedules": "app_pages/schedules.py",
    "learning": "app_pages/learning.py",
    "score": "app_pages/score.py",
    "reverse": "app_pages/reverse.py",
}


@dataclass(frozen=True)
class Reading:
    title: str
    author: str
    kind: str        # one of KINDS
    url: str
    summary: str     # one line
    app_page: str    # a key of APP_PAGES
    notation: str    # where the app departs from its notation

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.app_page not in APP_PAGES:
            raise ValueError(f"app_page must be one of {tuple(APP_PAGES)}, not {self.app_page!r}")

    @property
    def page_file(self) -> str:
        return APP_PAGES[self.app_page]


# In lesson order: the forward process first, then schedules, learning, the score, and sampling.
READINGS: tuple[Reading, ...] = (
    Reading(
        title="What are Diffusion Models?",
        author="Ari Seff",
        kind="video",
        url="https://www.youtube.com/watch?v=fbLgFrlTnGU",
        summary="A visual walk through DDPM: the noising chain, the variational bound, noise "
                "prediction, the link to score matching, and guided sampling.",
        app_page="forward",
        notation="Uses Ho et al.'s symbols with t = 1..T, so the video's t is the app's t+1. "
                 "Where guidance is written (1+w)·ε_c − w·ε_u, the app's guidance scale is s = 1 + w.",
    ),
    Reading(
        title="Introduction to Diffusion Models for Machine Learning",
        author="Ryan O'Connor (AssemblyAI)",
        kind="blog post",
        url="https://www.assemblyai.com/blog/diffusion-models-for-machine-learning-introduction/",
        summary="A gentle tour of the DDPM forward and reverse processes and the training "
                "objective, with a short PyTorch example.",
        app_page="forward",
        notation="Ho et al.'s β_t, α_t = 1 − β_t and ᾱ_t with t = 1..T: the post's ᾱ_t is the "
                 "app's alpha_bars[t-1]. Same ε-prediction and variance-preserving process.",
    ),
    Reading(
        title="An introduction to Diffusion Probabilistic Models",
        author="Ayan Das",
        kind="blog post",
        url="https://ayandas.me/blogs/2021-12-04-diffusion-prob-models.html",
        summary="Diffusion as a Markov chain that turns data into a Gaussian, the bound that "
                "trains its reverse, the closed-form jump to any x_t, and the link to SDEs.",
        app_page="forward",
        notation="Uses β like Ho, but writes α_t for the product ∏_{s≤t}(1 − β_s): the post's "
                 "α_t is the app's ᾱ (alpha_bars[t-1]), not 1 − β_t. Steps count from 1.",
    ),
    Reading(
        title="What are Diffusion Models?",
        author="Lilian Weng",
        kind="blog post",
        url="https://lilianweng.github.io/posts/2021-07-11-diffusion-models/",
        summary="The reference derivation of DDPM, with noise schedules (linear and cosine), "
                "score-based models, guidance, faster samplers and latent diffusion.",
        app_page="schedules",
        notation="Same α_t = 1 − β_t and ᾱ_t = ∏ α_i as Ho et al., with t = 1..T (the app's t+1). "
                 "Her classifier-free guidance (w+1)·ε_c − w·ε_u is the app's s = w + 1.",
    ),
    Reading(
        title="Diffusion models are autoencoders",
        author="Sander Dieleman",
        kind="blog post",
        url="https://sander.ai/2022/01/31/diffusion.html",
        summary="Diffusion models as denoising autoencoders trained at every noise level, and "
                "why the weighting of noise levels decides what the model learns.",
        app_page="learning",
        notation="Thinks in noise levels σ and continuous time rather than a table of T steps. "
                 "The app's step t has σ² = (1 − ᾱ)/ᾱ once x_t is rescaled by 1/√ᾱ.",
    ),
    Reading(
        title="Diffusion Models as a kind of VAE",
        author="Angus Turner",
        kind="blog post",
        url="https://angusturner.github.io/generative_models/2021/06/29/diffusion-probabilistic-models-I.html",
        summary="Builds diffusion models up from a VAE and its hierarchical extension, deriving "
                "the evidence lower bound (ELBO) of Sohl-Dickstein et al. and Ho et al.",
        app_page="learning",
        notation="A VAE/ELBO view: the forward chain is a fixed encoder q and the reverse chain "
                 "the decoder p_θ. Steps count from 1 (the app's t+1). The app trains only the "
                 "simplified ε-prediction loss; its learning page computes the full bound exactly "
                 "for 1-D data.",
    ),
    Reading(
        title="Diffusion-based Deep Generative Models",
        author="Jakub Tomczak",
        kind="blog post",
        url="https://jmtomczak.github.io/blog/10/10_ddgms_lvm_p2.html",
        summary="Diffusion models as hierarchical VAEs whose bottom-up path is a fixed Gaussian "
                "diffusion, with a compact PyTorch implementation.",
        app_page="learning",
        notation="Discrete steps, but the noisy states are latents z_1 … z_T of a hierarchical "
                 "VAE and the reverse Gaussians are trained through the ELBO. In the app, z_t "
                 "is x at step t-1.",
    ),
    Reading(
        title="Generative Modeling by Estimating Gradients of the Data Distribution",
        author="Yang Song",
        kind="blog post",
        url="https://yang-song.net/blog/2021/score/",
        summary="Score functions, score matching and Langevin dynamics, then many noise scales "
                "and SDEs that unify score-based models with diffusion models.",
        app_page="score",
        notation="Continuous time and σ noise levels (variance exploding, x + σ·z), score "
                 "s_θ ≈ ∇ log p. The app is variance preserving and discrete: its score is "
                 "−ε/√(1 − ᾱ), the discrete form of his VP SDE.",
    ),
    Reading(
        title="The new contender to GANs: score matching with Langevin Sampling",
        author="Alexia Jolicoeur-Martineau",
        kind="blog post",
        url="https://ajolicoeur.wordpress.com/the-new-contender-to-gans-score-matching-with-langevin-sampling/",
        summary="Denoising score matching with annealed Langevin sampling (DSM-ALS) explained "
                "simply: why it rivals GANs, and why it is slow to sample.",
        app_page="score",
        notation="NCSN-style: a geometric ladder of noise levels σ added as x + σ·z (variance "
                 "exploding), so the score is −z/σ. The app adds noise as √ᾱ·x + √(1 − ᾱ)·ε, "
                 "so its score is −ε/√(1 − ᾱ).",
    ),
    Reading(
        title="Denoising Diffusion Probabilistic Models",
        author="Jonathan Ho, Ajay Jain and Pieter Abbeel",
        kind="paper",
        url="https://arxiv.org/abs/2006.11239",
        summary="The DDPM paper (NeurIPS 2020): a T = 1000 step chain, trained by predicting "
                "the noise, that matched GANs on CIFAR-10 (FID 3.17).",
        app_page="reverse",
        notation="The app's conventions come from here, except that the paper counts t = 1..T "
                 "(its ᾱ_t is the app's alpha_bars[t-1]) and its linear β_1 = 10⁻⁴ … "
                 "β_T = 0.02 is the app's betas[0] … betas[T-1].",
    ),
)


def by_kind(kinds) -> tuple[Reading, ...]:
    """The readings of these kinds, in lesson order; all of them when `kinds` is empty."""
    kinds = set(kinds or ())
    return tuple(r for r in READINGS if not kinds or r.kind in kinds)
