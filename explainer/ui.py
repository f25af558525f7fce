"""The one Streamlit module of the library: shared widgets, URL state, caching and the sidebar.

Pages call these helpers so that every page shares the same conventions:
controls mirrored in the URL (a teacher can share a link to an exact state),
presenter mode, errors shown as messages and never as stack traces, and heavy
objects loaded once per process.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import logging
import math
import os
import string
import threading
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image
import torch

from .core import elbo, forward
from .core.schedules import NoiseSchedule, make_schedule_for_T
from .jobqueue import Busy, FairQueue
from .lessons import denoising_framesets, framesets, images, noising_framesets, sampling_framesets, style
from .lessons.framesets import nearest_index
from .models import denoiser, pretrained
from .models.bundled_digits import load_bundle
from .models.denoiser import LEARN_FRAMES  # values of t a learning-page scrubber visits
from .models.generate import generate, parse_labels

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLE_IMAGES = {
    "Astronaut (photo)": "astronaut.jpg",
    "Cat (photo)": "cat.jpg",
    "Coffee cup (photo)": "coffee.jpg",
    "Rocket launch (photo)": "rocket.jpg",
    "Handwritten digit (28x28)": "digit.png",
}
# Sampling jobs that run at once per server process, and torch threads per job: together they
# use every core once. More jobs would only make everyone slower (and use more memory); a
# waiting user sees that they are queued.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
MAX_CONCURRENT_JOBS = max(1, CORES // 2)
torch.set_num_threads(max(1, CORES // MAX_CONCURRENT_JOBS))


# ------------------------------------------------------------------ URL state

def _finite_number(raw: str, what: str) -> float:
    """float(raw), refused in our own words: int() and float() would quote the link's text back."""
    try:
        v = float(raw)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v):
        raise ValueError(f"not {what}")
    return v


def int_param(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        return min(max(int(_finite_number(raw, "a whole number")), lo), hi)
    return parse


def float_param(lo: float, hi: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        return min(max(_finite_number(raw, "a finite number"), lo), hi)
    return parse


def choice_param(options) -> Callable[[str], Any]:
    options = list(options)

    def parse(raw: str):
        for o in options:
            if str(o) == raw:
                return o
        raise ValueError(f"not one of {', '.join(map(str, options))}")
    return parse


def bool_param(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("not true or false")


# Characters dropped from text we echo: controls, format characters (the bidi overrides U+202A-202E
# and U+2066-2069, zero-width joiners), line and paragraph separators, private-use and unassigned.
_UNSHOWN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_text(text, max_chars: int = 40) -> str:
    """Text from outside (a link, a file name) as one short line of visible characters.

    Whitespace becomes a space, invisible and bidi-control characters are dropped (they can make
    'gpj.exe' read as 'exe.jpg'), and anything past `max_chars` is cut and marked with '…'.
    """
    out = []
    for ch in str(text):
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) not in _UNSHOWN:
            out.append(ch)
    line = "".join(out)
    return line if len(line) <= max_chars else line[:max_chars] + "…"


def code_text(text, max_chars: int = 40) -> str:
    """User text (a link's value, a file name) as a Markdown code span: shown literally, never as markup.

    Inside a code span Markdown makes no links (not even bare URLs, which GFM links anywhere else,
    backslash escapes or not), images, HTML, LaTeX or Streamlit directives. The fence is one backtick
    longer than any run of backticks in the text, so the text cannot close it (CommonMark 6.1).
    """
    line = clean_text(text, max_chars)
    fence = "`"
    while fence in line:
        fence += "`"
    pad = " " if line.startswith(("`", " ")) or line.endswith(("`", " ")) else ""
    return f"{fence}{pad}{line}{pad}{fence}" if line else "(empty)"


def escape_markdown(text, max_chars: int = 300) -> str:
    """A message the app or a library wrote (an error text), shown as plain words inside Markdown.

    Every ASCII punctuation character is backslash-escaped (CommonMark 2.4), so no emphasis, link,
    HTML, LaTeX or directive syntax takes effect. Bare URLs would still be linked by GFM: text that
    came from a user goes through `code_text` instead.
    """
    return "".join("\\" + ch if ch in string.punctuation else ch for ch in clean_text(text, max_chars))


def url_state(key: str, default, parse: Callable[[str], Any]):
    """Seed st.session_state[key] once per session from the URL (?key=value), else `default`.

    A value that does not parse is replaced by the default with a message; an
    out-of-range one is clamped by `parse`. Call before the widget with key=key.
    """
    if key in st.session_state:
        return st.session_state[key]
    raw = st.query_params.get(key)
    value = default
    if raw is not None:
        try:
            value = parse(raw)
        except (ValueError, TypeError, OverflowError) as e:
            # Shown where the page reads the value, so it appears on the page that owns it. The link's
            # text is shown literally (a code span), never as Markdown: a shared link must not be able
            # to put a link, a picture or formatting into the app's own message.
            shown = code_text(f"{key}={clean_text(raw)}", max_chars=200)  # the key is ours; the value cut at 40
            st.warning(f"The link's value {shown} was not understood ({escape_markdown(e)}); using "
                       f"{escape_markdown(default)}.", icon=":material/link_off:")
    st.session_state[key] = value
    return value


def write_url(*keys: str):
    """Mirror the current values of these session keys in the URL."""
    for k in keys:
        if k in st.session_state:
            v = str(st.session_state[k])
            if st.query_params.get(k) != v:  # each write sends the browser a message: only the changes
                st.query_params[k] = v


# ------------------------------------------------------------------ sidebar and layout

PAGE_CONFIG = dict(page_title="Diffusion models, explained", page_icon=str(ASSETS / "icon.png"), layout="wide",
                   menu_items={"About": "An interactive explainer of diffusion models: live, exact, on a CPU."})
_shell = threading.local()


def shell() -> dict:
    """Page config and the sidebar settings: what every page shows around itself."""
    st.set_page_config(**PAGE_CONFIG)
    st.session_state["_shell_seen"] = True
    return sidebar_settings()


@contextmanager
def shell_scope():
    """Marks a script run in which app.py already drew the shell (see page_setup)."""
    _shell.active = True
    try:
        yield
    finally:
        _shell.active = False


def page_setup():
    """Called first by every page; normally app.py has drawn the shell already.

    Streamlit 1.x keeps a fallback for apps with a `pages/` folder: until the first
    st.navigation call in the process it runs the file that the URL names on its own,
    without app.py (the first visit after a server start, and every AppTest run). Then we
    leave that mode for good and rerun through app.py, so the visitor gets the real
    navigation; if that is impossible the page still draws the shell itself.
    """
    if getattr(_shell, "active", False):
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager

        if PagesManager.uses_pages_directory:
            PagesManager.uses_pages_directory = False
            # Only on a session's first run: a rerun later would swallow a button click.
            if "_shell_seen" not in st.session_state:
                st.rerun()
    except (ImportError, AttributeError):
        pass
    shell()


def sidebar_settings() -> dict:
    """The global settings: compute device, random seed, presenter mode. Mirrored in the URL."""
    devices = ["auto"] + pretrained.available_devices()
    url_state("device", "auto", choice_param(devices))
    url_state("seed", 0, int_param(0, 2**31 - 1))
    url_state("presenter", False, bool_param)
    with st.sidebar:
        st.markdown("### Settings")
        st.selectbox("Compute device", devices, key="device",
                     help="Where the neural network runs. 'auto' uses a GPU when one is present, else the CPU.",
                     format_func=lambda d: {"auto": f"auto ({pretrained.pick_device(None).type})",
                                            "cpu": "CPU", "cuda": "GPU (CUDA)", "mps": "Apple GPU (MPS)"}.get(d, d))
        st.number_input("Random seed", min_value=0, max_value=2**31 - 1, step=1, key="seed",
                        help="The same seed gives the same noise, so a class sees the same pictures.")
        st.toggle("Presenter mode", key="presenter",
                  help="Large fonts and figures for a projector; page controls fold into a panel.")
    write_url("device", "seed", "presenter")
    if st.session_state["presenter"]:
        st.markdown(_PRESENTER_CSS, unsafe_allow_html=True)  # constant CSS, no user text
    return {"device": st.session_state["device"], "seed": int(st.session_state["seed"]),
            "presenter": bool(st.session_state["presenter"])}


_PRESENTER_CSS = """
<style>
  .stMainBlockContainer p, .stMainBlockContainer li, .stMainBlockContainer label { font-size: 1.3rem !important; }
  .stMainBlockContainer h1 { font-size: 3rem !important; }
  .stMainBlockContainer h2 { font-size: 2.2rem !important; }
  .stMainBlockContainer h3 { font-size: 1.8rem !important; }
  .katex { font-size: 1.5em !important; }
</style>
"""


def presenter() -> bool:
    return bool(st.session_state.get("presenter", False))


def controls(label: str = "Controls"):
    """Where a page puts its controls: inline normally, folded away in presenter mode."""
    return st.expander(label, expanded=False, icon=":material/tune:") if presenter() else st.container()


def fig_height(normal: int) -> int:
    return int(normal * 1.4) if presenter() else normal


def plot(fig, key: str | None = None):
    """A Plotly figure with its toolbar (hover, zoom, download as PNG). Never changes `fig` (it may be shared)."""
    if presenter():
        fig = go.Figure(copy.deepcopy(fig.to_dict()))  # never restyle the shared one
        fig.update_layout(font=dict(size=18), height=fig_height(fig.layout.height or 450))
    st.plotly_chart(fig, width="stretch", key=key,
                    config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}})


def device_choice() -> torch.device:
    """The device the sidebar asks for, falling back to the CPU with a message if it is gone."""
    want = st.session_state.get("device", "auto")
    try:
        return pretrained.pick_device(None if want == "auto" else want)
    except pretrained.ModelError as e:
        st.info(f"{e} Using the CPU instead.", icon=":material/memory:")
        return torch.device("cpu")


# ------------------------------------------------------------------ scrubbing in the browser

_STATIC = Path(__file__).resolve().parent / "static"
# Not style-isolated: presenter mode's larger fonts reach it; its classes are all prefixed dx-.
_scrubber_component = st.components.v2.component(
    "explainer_scrubber", js=(_STATIC / "scrubber.js").read_text(), css=(_STATIC / "scrubber.css").read_text(),
    isolate_styles=False)


def scrubber(key: str, frames: bytes, values: list, default) -> Any:
    """A slider over precomputed frames (see explainer/lessons/framesets.py) that moves in the browser.

    `frames` is a cached `FrameSet.to_bytes()`, `values` its positions. Dragging swaps
    frames without a server round trip; the release sends the position once, which is
    kept in st.session_state[key] and in the page address (?key=value). Returns the value.
    """
    url_state(key, default, float_param(min(values), max(values)))
    index = nearest_index(values, st.session_state[key])
    st.session_state[key] = values[index]
    comp_key = f"{key}_scrubber"

    def released():
        got = st.session_state.get(comp_key) or {}
        i = got.get("index") if hasattr(got, "get") else None
        if isinstance(i, int) and 0 <= i < len(values):
            st.session_state[key] = values[i]

    # The set is shared by every session; only the starting position is this session's own. It stays the
    # position the set was first shown at: the browser keeps its own position after that, and the element
    # is then byte-identical on every rerun, so Streamlit's message cache sends a reference, not the frames.
    set_id = frames[7:23]
    mount_key = f"{key}_mounted"
    mounted = st.session_state.get(mount_key)
    if mounted is None or mounted[0] != set_id:
        mounted = st.session_state[mount_key] = (set_id, index)
    payload = b'{"index":%d,"set":' % mounted[1] + frames + b"}"
    _scrubber_component(key=comp_key, data=payload, default={"index": index}, on_index_change=released)
    write_url(key)
    return st.session_state[key]


ON_DEMAND_HELP = "Its pictures for every t are prepared and sent when you ask, so the page opens fast for a whole class."


def on_demand(key: str, label: str, help: str = ON_DEMAND_HELP) -> bool:
    """A toggle (kept in the page address) for a heavy section: a page opens with what is needed to see it."""
    url_state(key, False, bool_param)
    st.toggle(label, key=key, help=help)
    write_url(key)
    return bool(st.session_state[key])


# ------------------------------------------------------------------ cached heavy objects

def mnist_or_stop() -> tuple[torch.device, pretrained.Pretrained]:
    """The sidebar's device and the bundled digit model on it; without the model, a message and the page stops."""
    try:
        device = device_choice()
        return device, get_model("mnist", device.type)
    except pretrained.ModelError as e:
        st.error(str(e), icon=":material/error:")
        st.stop()


@st.cache_resource(show_spinner=False)
def get_schedule(name: str, num_steps: int, params: tuple = ()) -> NoiseSchedule:
    """The schedule the pages show: β ranges given for T = 1000 and scaled to T (make_schedule_for_T)."""
    return make_schedule_for_T(name, num_steps, **dict(params))


@st.cache_resource(show_spinner="Loading the model ...", max_entries=16)
def get_model(name: str, device: str) -> pretrained.Pretrained:
    model = pretrained.load_pretrained(name, device=device)
    return model


@st.cache_resource(show_spinner=False)
def job_queue() -> FairQueue:
    return FairQueue(MAX_CONCURRENT_JOBS)


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


@contextmanager
def compute_slot(what: str = "the model", cost: float = 1000.0):
    """Run heavy work when the fair queue says so (shortest jobs first, one job per session).

    `cost` is the work in units of one network pass over one image. A waiting user sees
    their place in the queue and an estimated wait, updated twice a second.
    """
    queue, owner = job_queue(), session_id()
    deadline = time.monotonic() + 30
    while True:  # a click during a run of this same session: the old run stops at its next update
        try:
            ticket = queue.enqueue(owner, cost)
            break
        except Busy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    note = None
    try:
        while not queue.wait_turn(ticket, timeout=0.5):
            if note is None:
                note = st.empty()
            note.info(f"Other people are using {what} right now. You are number {queue.place(ticket)} in the "
                      f"queue; estimated wait about {max(1, round(queue.estimated_wait(ticket)))} s. Shorter jobs "
                      "go first, and each person runs one job at a time.", icon=":material/hourglass_top:")
    except BaseException:
        queue.cancel(ticket)  # the user left or clicked again: give up the place
        raise
    if note is not None:
        note.empty()
    try:
        yield
    finally:
        queue.done(ticket)


# ------------------------------------------------------------------ images

@st.cache_resource(show_spinner=False, max_entries=16)
def sample_image(filename: str, max_side: int = 512, mode: str = "RGB") -> images.LoadedImage:
    return images.load_image(ASSETS / "images" / filename, max_side=max_side, mode=mode)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _decoded_upload(digest: str, max_side: int, mode: str, _data: bytes) -> images.LoadedImage:
    # Keyed on the digest, not the bytes: hashing is done once, in image_picker.
    return images.load_image(_data, max_side=max_side, mode=mode)


def image_picker(key: str, max_side: int = 512, mode: str = "RGB", default: str = "Astronaut (photo)",
                 label: str = "Image") -> tuple[images.LoadedImage, str]:
    """A bundled sample or the user's upload, decoded safely, and a short id for caches.

    A refused upload shows its message and falls back to the selected sample.
    """
    url_state(f"{key}_sample", default, choice_param(SAMPLE_IMAGES))
    col_a, col_b = st.columns(2)
    with col_a:
        st.selectbox(f"{label}: a sample", list(SAMPLE_IMAGES), key=f"{key}_sample")
    with col_b:
        up = st.file_uploader(f"... or your own ({', '.join(t.upper() for t in UPLOAD_TYPES)})",
                              type=UPLOAD_TYPES, key=f"{key}_upload",
                              help="Your image stays in this session on the server and is never saved to disk.")
    write_url(f"{key}_sample")
    if up is not None:
        img, digest = decode_upload(up, max_side, mode, "the sample image")
        if img is not None:
            return img, f"upload:{digest}:{max_side}:{mode}"
    name = SAMPLE_IMAGES[st.session_state[f"{key}_sample"]]
    return sample_image(name, max_side, mode), f"sample:{name}:{max_side}:{mode}"


UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp"]


def decode_upload(up, max_side: int, mode: str, fallback: str) -> tuple[images.LoadedImage | None, str]:
    """An uploaded file decoded safely (cached by its digest), or None after a message naming `fallback`."""
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    try:
        return _decoded_upload(digest, max_side, mode, data), digest
    except images.ImageError as e:
        st.error(f"{code_text(up.name, 80)} could not be used. {escape_markdown(e)}", icon=":material/broken_image:")
        st.caption(f"Showing {fallback} instead.")
        return None, digest


def notes(img: images.LoadedImage):
    if img.notes:
        st.caption("Image: " + "; ".join(img.notes) + ".")


def fragment(func):
    """st.fragment that turns an unexpected error into a message inside that part of the page.

    A fragment reruns on its own, outside app.py's safety net, so it needs its own.
    """
    @functools.wraps(func)
    def guarded(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as e:  # Streamlit's rerun/stop signals are BaseException and pass through
            logging.getLogger("explainer").exception("error in %s", func.__name__)
            st.error(f"This part of the page hit a problem ({type(e).__name__}). The rest of the page still "
                     "works; try another setting, or reload the page.", icon=":material/error:")

    return st.fragment(guarded)


def error_box(e: Exception, what: str):
    """A failure shown as a sentence; the page and the session carry on."""
    st.error(f"{what} failed: {escape_markdown(e)}", icon=":material/error:")


# ------------------------------------------------------------------ per-input results (small keys)

@st.cache_resource(show_spinner=False, max_entries=16)
def gaussian_noise(shape: tuple, seed: int) -> np.ndarray:
    """Standard normal noise of this shape, the same for the same seed."""
    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    noise.setflags(write=False)  # shared by every session (cache_resource: no copy per rerun)
    return noise


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def noising_frames(ident: str, schedule_name: str, num_steps: int, seed: int, ts: tuple,
                   _img: images.LoadedImage, side: int = 256) -> list[np.ndarray]:
    """x_t at each t in ts for a copy of the image no larger than `side` (for GIFs and animations)."""
    small = images.square_array(_img.pil, side) if max(_img.array.shape[:2]) > side else _img.array
    noise = gaussian_noise(small.shape, seed)
    sched = get_schedule(schedule_name, num_steps)
    return [forward.noised(sched, small, int(t), noise) for t in ts]


# Pictures that scrub in the browser travel to every student once, so they are kept small: at 192 pixels
# the forward page's x0 and noise (blended in the browser at 32 values of t) are about 0.3 MB.
PREVIEW_SIDE = 192
SCRUB_FRAMES = 32


def preview_array(img: images.LoadedImage, side: int = PREVIEW_SIDE) -> np.ndarray:
    """The image no larger than side x side (aspect kept), float32 in [-1, 1]."""
    if max(img.array.shape[:2]) <= side:
        return img.array
    pil = img.pil.copy()
    pil.thumbnail((side, side), Image.Resampling.LANCZOS)
    return (np.asarray(pil, dtype=np.float32) / 127.5 - 1.0).astype(np.float32)


@st.cache_resource(show_spinner="Preparing the frames ...", max_entries=32, ttl=3600)
def forward_frames(ident: str, schedule_name: str, num_steps: int, seed: int,
                   _img: images.LoadedImage) -> tuple[list[int], bytes]:
    """The forward page's main view at SCRUB_FRAMES values of t, shared by every session with these inputs."""
    x0 = preview_array(_img)
    ts = framesets.frame_indices(num_steps, SCRUB_FRAMES)
    fs = noising_framesets.noising_frameset(get_schedule(schedule_name, num_steps), x0, gaussian_noise(x0.shape, seed),
                                            ts, label="Timestep t (0 = almost clean, T−1 = the noisiest step)")
    return ts, fs.to_bytes()


def schedule_digest(schedule: NoiseSchedule) -> str:
    """A short name for a schedule's exact β values: the cache key of anything built from it."""
    return hashlib.sha256(schedule.betas.tobytes()).hexdigest()[:16]


@st.cache_resource(show_spinner="Preparing the frames ...", max_entries=32, ttl=3600)
def schedule_frames(ident: str, keys: tuple[tuple[str, str], ...], seed: int, _img: images.LoadedImage,
                    _schedules: dict[str, NoiseSchedule], side: int, n_frames: int, log_snr_chart: bool,
                    label: str = "Timestep t") -> tuple[list[int], bytes]:
    """The same image and noise under each schedule at n_frames values of t; keys = (name, schedule_digest)."""
    x0 = preview_array(_img, side)
    ts = framesets.frame_indices(next(iter(_schedules.values())).num_steps, n_frames)
    fs = noising_framesets.schedules_frameset(_schedules, x0, gaussian_noise(x0.shape, seed), ts, label=label,
                                    log_snr_chart=log_snr_chart)
    return ts, fs.to_bytes()


def schedules_scrubber(key: str, schedules: dict[str, NoiseSchedule], img_id: str, img: images.LoadedImage,
                       seed: int, default: int, side: int, n_frames: int, log_snr_chart: bool = False,
                       label: str = "Timestep t"):
    """A scrubber over t for one image under several schedules (forward and schedules pages)."""
    keys = tuple((n, schedule_digest(s)) for n, s in schedules.items())
    ts, frames = schedule_frames(img_id, keys, seed, img, schedules, side, n_frames, log_snr_chart, label)
    return scrubber(key, frames, ts, default=default)


RESOLUTION_SIDES = (32, 96, 288)


@st.cache_resource(show_spinner="Preparing the frames ...", max_entries=32, ttl=3600)
def resolution_frames(ident: str, schedule_name: str, num_steps: int, seed: int,
                      _img: images.LoadedImage) -> tuple[list[int], bytes]:
    """The image at RESOLUTION_SIDES, noised to 24 values of t, with the log-SNR curves."""
    pictures = {}
    for side in RESOLUTION_SIDES:
        x0 = images.square_array(_img.pil, side)
        pictures[side] = (x0, gaussian_noise(x0.shape, seed))
    ts = framesets.frame_indices(num_steps, 24)
    fs = noising_framesets.resolution_frameset(get_schedule(schedule_name, num_steps), pictures, ts,
                                     base=RESOLUTION_SIDES[0], label="Timestep t")
    return ts, fs.to_bytes()


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def trajectory_frames(result_key: str, digit: int, label: str, _res, _schedule: NoiseSchedule) -> bytes:
    """One digit's sampling trajectory as a frame set; result_key names the (deterministic) sampling run."""
    return sampling_framesets.trajectory_frameset(_schedule, _res, digit, label).to_bytes()


@st.cache_resource(show_spinner=False, max_entries=32)
def chain_samples(schedule_name: str, num_steps: int, x0_value: float, t: int, seed: int):
    return forward.chain_and_jump_samples(get_schedule(schedule_name, num_steps), x0_value, t, seed=seed)


# The home page's digit: the Generate default (the fewest steps that match DDIM-50, see the model card).
# Every student with their own seed gets their own, so it must be cheap: 0.17 s against 0.43 s for DDIM-25.
HOME_SAMPLER, HOME_STEPS = "dpm++2m", 10


def home_animation(seed: int) -> bytes | None:
    """A GIF of one digit denoised from pure noise (HOME_STEPS steps of HOME_SAMPLER), or None without the model."""
    try:
        pre = get_model("mnist", "cpu")
    except pretrained.ModelError:
        return None

    def encode(res):
        frames = [x[0] for x in res.x_t] + [res.images[0]] * 6  # hold the final digit for a moment
        return images.write_gif(frames, duration_ms=180, upscale=6)

    return _page_run(("home_digit", seed), lambda: generate(
        pre, parse_labels(seed % 10, 1), sampler=HOME_SAMPLER, steps=HOME_STEPS, guidance=3.0, seed=seed,
        keep_trajectory=True), encode, "Drawing a digit ...", cost=2 * HOME_STEPS)  # guided: 2 passes a step


class _LRU:
    """A small thread-safe LRU of finished results, shared by all sessions of this process."""

    def __init__(self, max_entries: int):
        from collections import OrderedDict

        self.max_entries, self.items, self.lock = max_entries, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.max_entries:
                self.items.popitem(last=False)


@st.cache_resource(show_spinner=False)
def result_cache() -> _LRU:
    # Sampling is deterministic for (settings, seed, device): thirty students pressing Generate
    # with the defaults share one computation. Results are read-only NumPy arrays.
    return _LRU(max_entries=24)


@st.cache_resource(show_spinner=False)
def _shared_cache() -> _LRU:
    return _LRU(max_entries=256)


def shared(key: tuple, build: Callable[[], Any]):
    """build() once per key in this process, for every session: figures, encoded pictures.

    The key names the inputs with small values (digests, seeds, names). What build
    returns is shared, so it must never be changed afterwards (ui.plot copies before
    it restyles). A rerun then costs a dictionary look-up instead of a rebuild.
    """
    cache = _shared_cache()
    hit = cache.get(key)
    if hit is None:
        hit = build()
        if isinstance(hit, go.Figure):
            hit = style.SharedFigure(hit)  # its dict, which st.plotly_chart sends, is made once
        cache.put(key, hit)
    return hit


@st.cache_resource(show_spinner=False)
def page_run_cache() -> _LRU:
    # Network runs a page shows as it opens, one per digit, seed and device (the learning page, the home
    # digit): many small entries, kept apart so that they never push a class's Generate results out.
    return _LRU(max_entries=192)


def cached_run(key: tuple, run: Callable[[], Any], what: str = "the model", cost: float = 1000.0):
    """run() once per key per process (through the fair queue), later calls return the stored result."""
    cache = result_cache()
    hit = cache.get(key)
    if hit is not None:
        return hit
    with compute_slot(what, cost):
        hit = cache.get(key)  # someone may have finished it while we waited
        if hit is None:
            hit = run()
            cache.put(key, hit)
    return hit


# ------------------------------------------------------------------ learning to denoise (pages/learning.py)

@st.cache_resource(show_spinner=False)
def bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled evaluation digits (read-only arrays, shared by every session)."""
    d = load_bundle()
    x, y = d.evaluation, d.evaluation_labels
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def digit_upload(key: str) -> tuple[np.ndarray, str] | None:
    """A user's picture as a 28x28 model input (like the SDEdit input) and an id for caches, or None."""
    up = st.file_uploader(f"... or your own picture of a digit ({', '.join(t.upper() for t in UPLOAD_TYPES)})",
                          type=UPLOAD_TYPES, key=key,
                          help="Centre-cropped, shrunk to 28×28 and, on a light background, inverted to "
                               "MNIST's white ink on black. It stays in this session and is never saved.")
    if up is None:
        return None
    img, digest = decode_upload(up, 256, "L", "the held-out digit")
    if img is None:
        return None
    x = images.to_model_input(img.pil, 28, invert=images.needs_invert(img.pil, "auto"))
    return x, f"upload:{digest}"


def comparison_labels(label: int, true_label: int | None, null_label: int) -> dict[str, int]:
    """The labels whose loss curves section 1 draws: the digit's own class, none, and a wrong class."""
    out = {}
    if true_label is not None:
        out[f"own class ({true_label})"] = int(true_label)
    out["no class (∅)"] = null_label
    if label not in (null_label, true_label):
        wrong = label
    elif true_label is not None:
        wrong = (true_label + 1) % 10
    else:
        return out
    out[f"class {wrong}" + (" (wrong)" if true_label is not None else "")] = int(wrong)
    return out


def _page_run(key: tuple, network: Callable[[], Any], encode: Callable[[Any], Any], spinner: str, cost: float):
    """encode(network()) once per key, for every session: the network part through the fair queue.

    Thirty sessions calling torch at once would each start its threads on the same two cores; through
    the queue each call runs alone at full speed, shortest first. The encoding (pictures, JSON) is
    plain Python and runs outside the queue, beside the next session's network call.
    """
    cache = page_run_cache()
    hit = cache.get(key)
    if hit is None:
        with st.spinner(spinner):
            with compute_slot("the model", cost):
                # A session ahead in the queue may have made it meanwhile, or at least its network part.
                hit, raw = cache.get(key), cache.get(("network",) + key)
                if hit is None and raw is None:
                    raw = network()
                    cache.put(("network",) + key, raw)
            if hit is None:
                hit = encode(raw)
                cache.put(key, hit)
    return hit


def learning_frames(ident: str, label: int, true_label: int | None, seed: int, device: str,
                    _x0: np.ndarray) -> tuple[list[int], bytes, bytes, dict[str, np.ndarray]]:
    """Sections 'one training step' and 'four readings' for one digit: (ts, frames, frames, losses by class)."""
    pre = get_model("mnist", device)
    ts = framesets.frame_indices(pre.schedule.num_steps, LEARN_FRAMES)
    labels = comparison_labels(label, true_label, pre.model.null_label)

    def network():  # the digit told its class, and the comparison labels (no class, a wrong one): one call
        steps = denoiser.training_steps_by_label(pre, _x0, denoiser.digit_noise(seed), ts, [label, *labels.values()])
        compare = {name: steps[lab].loss for name, lab in labels.items()}
        for v in compare.values():
            v.setflags(write=False)  # shared by every session that opens this digit with this seed
        return steps[label], compare

    def encode(raw):
        sf, compare = raw
        label_t = "Timestep t (0 = almost clean, T−1 = pure noise)"
        training = denoising_framesets.training_frameset(sf, pre.schedule, pre.model.null_label, label_t, compare)
        return ts, training.to_bytes(), denoising_framesets.readings_frameset(sf, pre.schedule, label_t).to_bytes(), compare

    return _page_run(("learning_frames", ident, label, true_label, seed, device), network, encode,
                     f"Running the model at {LEARN_FRAMES} noise levels ...", cost=len(labels) * LEARN_FRAMES)


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def training_step_at(ident: str, label: int, seed: int, device: str, t: int, _x0: np.ndarray):
    """One training step (Algorithm 1) of this digit at exactly t: x_t, eps_hat, the loss (denoiser.StepFrames)."""
    return denoiser.training_steps(get_model("mnist", device), _x0, denoiser.digit_noise(seed), [t], label)


def wrong_time_frames(ident: str, t: int, label: int, seed: int, device: str,
                      _x0: np.ndarray) -> tuple[list[int], bytes, dict]:
    """Section 'tell it the wrong time': (t' values, frames, summary numbers) for one digit at the true t."""
    pre = get_model("mnist", device)
    tps = framesets.frame_indices(pre.schedule.num_steps, LEARN_FRAMES)

    def encode(wt):
        at_t = int(np.argmin(np.abs(np.asarray(tps) - t)))
        summary = {"best_t_prime": wt.best_t_prime, "best_loss": float(wt.eps_mse.min()),
                   "nearest_t_prime": tps[at_t], "loss_at_nearest": float(wt.eps_mse[at_t]),
                   "worst_loss": float(wt.eps_mse.max())}
        frames = denoising_framesets.wrong_time_frameset(wt, pre.schedule, "The t′ the model is told").to_bytes()
        return tps, frames, summary

    return _page_run(("wrong_time_frames", ident, t, label, seed, device),
                     lambda: denoiser.wrong_time(pre, _x0, denoiser.digit_noise(seed), t, tps, label), encode,
                     f"Telling the model {LEARN_FRAMES} wrong times ...", cost=LEARN_FRAMES)


@st.cache_data(show_spinner=False, max_entries=64)
def variational_bounds(mixture: str, T: int) -> dict:
    """The exact bound of the 1-D mixture, cosine schedule with T steps, for each reverse variance (explainer.elbo)."""
    return elbo.variational_bounds(elbo.MIXTURES[mixture], get_schedule("cosine", T))


@st.cache_data(show_spinner=False, max_entries=128)
def snapshot_samples(step: int | None, seed: int, device: str) -> np.ndarray:
    """Ten digits (classes 0-9) from the model after `step` training steps (None: the bundled final model).

    DDIM, 25 steps, guidance 3, the same starting noise for every snapshot.
    """
    pre = get_model("mnist", device) if step is None else pretrained.load_snapshot(step, device)
    return generate(pre, parse_labels("all", 10, pre.model.null_label), steps=25, guidance=3.0, seed=seed).images


@st.cache_data(show_spinner=False, max_entries=32)
def snapshot_frames(steps: tuple[int, ...], final_step: int, seed: int, device: str) -> bytes:
    """Section 'watch it learn': the samples of each snapshot and of the final model, with the loss curve."""
    grids = [images.digit_grid(snapshot_samples(s, seed, device), ncol=5) for s in steps]
    grids.append(images.digit_grid(snapshot_samples(None, seed, device), ncol=5))
    history = get_model("mnist", device).card["training"].get("loss_history", [])
    return denoising_framesets.snapshot_frameset(list(steps) + [final_step], grids, history,
                                      "Training step").to_bytes()
