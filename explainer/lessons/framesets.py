"""Frame sets for scrubbing in the browser: everything a slider can show, computed once.

A slider that only picks among values the server can compute ahead of time
(x_t for 64 values of t, the steps of a finished sampling run) should not send
a request per position. A `FrameSet` holds, for every position, the pictures,
the numbers and the filled-in equation; `app.scrubber` ships it to the browser
once, and the browser swaps frames while the user drags. Only the release of
the slider reaches the server (to keep the position in the page address).

The set is serialised once (`FrameSet.to_bytes`) and cached across sessions,
so thirty students on the same image, schedule and seed share one frame set.
No Streamlit here: a frame set is plain data, tested without a browser.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from PIL import Image

from ..core.schedules import evenly_spaced
from .image_encoding import png_data_uri


def frame_indices(num_steps: int, n: int) -> list[int]:
    """At most n distinct, evenly spaced integers in [0, num_steps - 1], both ends included."""
    n = max(2, min(n, num_steps))
    return evenly_spaced(0, num_steps - 1, n)


#: The noise of a blended panel travels as one byte per value: eps = (k - 128) * NOISE_STEP, k = 0..255.
NOISE_STEP = 1 / 32


def quantise_noise(eps: np.ndarray) -> np.ndarray:
    """The noise as a blended panel sends it: steps of 1/32 in [-4, 127/32].

    Pure Gaussian noise does not compress, so 32 noisy JPEG frames of a photo cost about 1 MB.
    Sending x0 and ε once and letting the browser compute x_t = a·x0 + b·ε costs about a quarter
    of that, is exact at every t, and rounds ε by at most 1/64 (a 4σ value is clipped: 6 in 100,000).
    The server computes its numbers from this same ε, so pictures and numbers agree.
    """
    return (np.clip(np.rint(np.asarray(eps, dtype=np.float64) / NOISE_STEP), -128, 127) * NOISE_STEP
            ).astype(np.float32)


def noise_png_uri(eps_q: np.ndarray) -> str:
    """A quantised noise array as a PNG of bytes k = 128 + eps / NOISE_STEP (lossless)."""
    k = np.clip(np.rint(np.asarray(eps_q, dtype=np.float64) / NOISE_STEP) + 128, 0, 255).astype(np.uint8)
    return png_data_uri(k)


def blend_pixels(x0_u8: np.ndarray, k_u8: np.ndarray, a: float, b: float) -> np.ndarray:
    """What scrubber.js draws for a blended panel: u8(a·x0 + b·ε), with x0 = u/127.5 − 1, ε = (k − 128)/32.

    The reference the browser is tested against (float64 here, float64 in JavaScript).
    """
    x0 = x0_u8.astype(np.float64) / 127.5 - 1.0
    eps = (k_u8.astype(np.float64) - 128.0) * NOISE_STEP
    x = np.clip(a * x0 + b * eps, -1.0, 1.0)
    return np.floor((x + 1.0) * 127.5 + 0.5).astype(np.uint8)


def nearest_index(values: Sequence[float], value: float) -> int:
    """The position in `values` closest to `value` (a URL may ask for a t between two frames)."""
    return int(np.argmin(np.abs(np.asarray(values, dtype=float) - float(value))))


@dataclass
class FrameSet:
    """What one scrubber shows at each of its positions.

    `values` are the positions the slider visits (say t = 0, 16, ... 999), shown as
    `label` = value. Everything else is either static or a list with one entry per position:

    - panels: pictures side by side. `frames` is a list of data URIs (one per
      position) or a single URI (the same at every position), or the panel is
      blended in the browser from two pictures (`add_blend_panel`); `caption` is one
      string per position, or one string in which `{v}` stands for the value.
    - metrics: a label and one formatted string per position.
    - lines: text lines (a filled-in equation, a sentence), one string per position.
    - charts: small SVG plots drawn in the browser: static curves with a marker that
      follows the position (`kind="line"`), or one histogram per position
      (`kind="bars"`) over a static reference curve, or a 2D vector field that changes with
      the position (`kind="field"`, `add_vector_field`): arrows, a background picture and dots.
    """

    label: str
    values: list
    panels: list[dict] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)
    lines: list[list[str]] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # pictures blended panels are computed from
    pixelated: bool = False  # small pictures (28x28 digits) are scaled up without blurring
    fps: int = 12

    def __post_init__(self):
        self.values = [v.item() if hasattr(v, "item") else v for v in self.values]

    def _check(self):
        n = len(self.values)
        if n < 1:
            raise ValueError("a frame set needs at least one position")
        for p in self.panels:
            blend = p.get("blend")
            if blend is not None and not (len(blend["a"]) == len(blend["b"]) == n):
                raise ValueError(f"panel {p['alt']!r} has {len(blend['a'])} and {len(blend['b'])} weights "
                                 f"for {n} positions")
            refs = [blend["x0"], blend["eps"]] if blend is not None else [p["source"]] if "source" in p else []
            if not all(0 <= k < len(self.sources) for k in refs):
                raise ValueError(f"panel {p['alt']!r} names a source the set does not have")
            for what in ("frames", "caption"):
                if isinstance(p[what], list) and len(p[what]) != n:
                    raise ValueError(f"panel {p['alt']!r} has {len(p[what])} {what} for {n} positions")
        for m in self.metrics:
            if len(m["values"]) != n:
                raise ValueError(f"metric {m['label']!r} has {len(m['values'])} values for {n} positions")
        for line in self.lines:
            if len(line) != n:
                raise ValueError(f"a text line has {len(line)} entries for {n} positions")
        for c in self.charts:
            if c.get("marker_x") is not None and len(c["marker_x"]) != n:
                raise ValueError(f"chart {c['title']!r} has {len(c['marker_x'])} marker positions for {n} positions")
            if c["kind"] == "bars" and len(c["counts"]) != n:
                raise ValueError(f"chart {c['title']!r} has {len(c['counts'])} histograms for {n} positions")
            if c["kind"] == "field":
                _check_field(c, n)

    def add_panel(self, caption, frames, alt: str = ""):
        self.panels.append({"caption": caption, "frames": frames,
                            "alt": alt or (caption if isinstance(caption, str) else caption[0])})
        return self

    def add_source(self, uri: str) -> int:
        """A picture sent once and used by several panels (see `add_blend_panel`); returns its number."""
        if uri not in self.sources:
            self.sources.append(uri)
        return self.sources.index(uri)

    def add_source_panel(self, caption, source: int, alt: str = ""):
        """A picture that stays the same at every position, sent once as an `add_source` picture."""
        self.panels.append({"caption": caption, "frames": None, "source": int(source),
                            "alt": alt or (caption if isinstance(caption, str) else caption[0])})
        return self

    def add_blend_panel(self, caption, x0: int, eps: int, a: Sequence[float], b: Sequence[float],
                        alt: str = ""):
        """A picture the browser computes per position: u8(a[i]·x0 + b[i]·ε) (see `blend_pixels`).

        x0, eps: `add_source` numbers of a lossless PNG of the clean picture and of `noise_png_uri`.
        Used for x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε: two pictures travel instead of one per position.
        """
        self.panels.append({"caption": caption, "frames": None,
                            "alt": alt or (caption if isinstance(caption, str) else caption[0]),
                            "blend": {"x0": int(x0), "eps": int(eps), "step": NOISE_STEP,
                                      "a": [float(f"{v:.9g}") for v in a], "b": [float(f"{v:.9g}") for v in b]}})
        return self

    def add_metric(self, label: str, values: Sequence[str], help: str = ""):
        self.metrics.append({"label": label, "values": list(values), "help": help})
        return self

    def add_line(self, values: Sequence[str]):
        self.lines.append(list(values))
        return self

    def add_line_chart(self, title: str, x: Sequence[float], series: list[dict], xlabel: str, ylabel: str,
                       y_range: tuple[float, float] | None = None, log_y: bool = False,
                       marker_x: Sequence[float] | None = None):
        """series: [{"name", "y", "color"}]; the marker sits at x = the position's value, or at marker_x[i]."""
        ys = np.concatenate([np.asarray(s["y"], dtype=float) for s in series])
        if log_y:
            ys = ys[ys > 0]
        lo, hi = (float(ys.min()), float(ys.max())) if y_range is None else y_range
        self.charts.append({"kind": "line", "title": title, "xlabel": xlabel, "ylabel": ylabel, "log_y": log_y,
                            "x": _rounded(x), "y_range": [lo, hi],
                            "marker_x": None if marker_x is None else _rounded(marker_x),
                            "series": [{"name": s["name"], "color": s["color"], "y": _rounded(s["y"])}
                                       for s in series]})
        return self

    def add_histograms(self, title: str, edges: Sequence[float], counts: Sequence[Sequence[float]], xlabel: str,
                       ylabel: str, name: str, color: str, reference: dict | None = None,
                       static: dict | None = None):
        """One histogram (densities over `edges`) per position, optionally over a static one and a curve."""
        ref = None if reference is None else {"name": reference["name"], "color": reference["color"],
                                              "x": _rounded(reference["x"]), "y": _rounded(reference["y"])}
        tops = [max(map(float, c)) for c in counts]
        if static is not None:
            tops.append(max(map(float, static["counts"])))
        if ref is not None:
            tops.append(max(ref["y"]))
        self.charts.append({"kind": "bars", "title": title, "xlabel": xlabel, "ylabel": ylabel, "name": name,
                            "color": color, "edges": _rounded(edges), "counts": [_rounded(c) for c in counts],
                            "reference": ref, "y_max": max(tops) * 1.05,
                            "static": None if static is None else {"name": static["name"], "color": static["color"],
                                                                   "counts": _rounded(static["counts"])}})
        return self

    def add_curves(self, title: str, x: Sequence[float], series: list[dict], xlabel: str, ylabel: str,
                   static: list[dict] | None = None, marks: Sequence[float | None] | None = None,
                   log_x: bool = False, log_y: bool = False, y_range: tuple[float, float] | None = None):
        """Curves that change with the position (a spectrum following t), over optional static curves.

        series: [{"name", "color", "ys": one y array per position}]; static: [{"name", "color", "y"}];
        marks: one x per position (None: none) where a dashed vertical line is drawn. All y share `x`.
        """
        n = len(self.values)
        for s in series:
            if len(s["ys"]) != n:
                raise ValueError(f"curve {s['name']!r} has {len(s['ys'])} positions for {n}")
        if marks is not None and len(marks) != n:
            raise ValueError(f"{len(marks)} marks for {n} positions")
        static = static or []
        ys = np.concatenate([np.ravel(np.asarray(s["ys"], dtype=float)) for s in series]
                            + [np.asarray(s["y"], dtype=float) for s in static])
        if log_y:
            ys = ys[ys > 0]
        lo, hi = (float(ys.min()), float(ys.max())) if y_range is None else y_range
        self.charts.append({"kind": "curves", "title": title, "xlabel": xlabel, "ylabel": ylabel, "log_x": log_x,
                            "log_y": log_y, "x": _rounded(x), "y_range": [lo, hi],
                            "static": [{"name": s["name"], "color": s["color"], "y": _rounded(s["y"])}
                                       for s in static],
                            "series": [{"name": s["name"], "color": s["color"],
                                        "ys": [_rounded(y) for y in s["ys"]]} for s in series],
                            "marks": None if marks is None else [None if m is None or not math.isfinite(m)
                                                                 else float(f"{m:.5g}") for m in marks]})
        return self

    def add_vector_field(self, title: str, extent: float, points, fields: list[dict], cap: Sequence[float],
                         max_len: float | None = None, background: dict | None = None, dots: dict | None = None,
                         xlabel: str = "x₁", ylabel: str = "x₂"):
        """A 2D vector field over [-extent, extent]² that changes with the position (the score at each t).

        points (G, 2): the arrow tails, the same at every position (a grid, at most MAX_ARROWS).
        fields: [{"name", "color", "vectors": one (G, 2) array per position}], the vectors as they are
          (the browser shows them on hover); an arrow is drawn max_len·min(|v| / cap[i], 1) long, so
          `cap` (one per position) is the size from which arrows stop growing. max_len defaults to 0.9
          of the grid spacing.
        background: {"name", "frames": one picture (data URI) per position} stretched over the square,
          row 0 at the top (see `heatmap_png_uri`).
        dots: {"name", "color", "x0": (M, 2), "eps": (M, 2), "a", "b": one number per position}; the
          dots of position i are at a[i]·x0 + b[i]·eps (x_t = √ᾱ·x0 + √(1−ᾱ)·ε): sent once, moved in
          the browser. `title` may contain {v}, the position's value.

        Vectors travel as integers: v ≈ k · unit, with one unit (a power of ten) per field and position,
        1/100 of the median length's leading digit, so a typical arrow keeps three significant digits.
        """
        n = len(self.values)
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if len(pts) > MAX_ARROWS:
            raise ValueError(f"{len(pts)} arrows per field; at most {MAX_ARROWS} keep the page responsive")
        if max_len is None:
            side = max(int(round(math.sqrt(len(pts)))), 2)
            max_len = 0.9 * 2.0 * extent / (side - 1)
        spec_fields = []
        for f in fields:
            if len(f["vectors"]) != n:
                raise ValueError(f"field {f['name']!r} has {len(f['vectors'])} positions for {n}")
            units, ks = [], []
            for v in f["vectors"]:
                v = np.asarray(v, dtype=float).reshape(-1, 2)
                if v.shape != pts.shape:
                    raise ValueError(f"field {f['name']!r} has {len(v)} vectors for {len(pts)} arrows")
                if not np.all(np.isfinite(v)):
                    raise ValueError("chart values must be finite")
                mid = float(np.median(np.linalg.norm(v, axis=1)))
                unit = 10.0 ** (math.floor(math.log10(mid)) - 2) if mid > 0 else 1e-6
                units.append(float(f"{unit:.0e}"))
                ks.append([int(k) for k in np.rint(v.ravel() / unit)])
            spec_fields.append({"name": f["name"], "color": f["color"], "unit": units, "v": ks})
        if len(cap) != n:
            raise ValueError(f"{len(cap)} arrow caps for {n} positions")
        bg = None
        if background is not None:
            bg = {"name": background["name"], "frames": list(background["frames"])}
        dot_spec = None
        if dots is not None:
            dot_spec = {"name": dots["name"], "color": dots["color"],
                        "x0": [round(float(v), 3) for v in np.ravel(dots["x0"])],
                        "eps": [round(float(v), 3) for v in np.ravel(dots["eps"])],
                        "a": _rounded(dots["a"], 6), "b": _rounded(dots["b"], 6)}
        self.charts.append({"kind": "field", "title": title, "xlabel": xlabel, "ylabel": ylabel,
                            "extent": float(extent), "points": _rounded(pts), "max_len": float(f"{max_len:.5g}"),
                            "cap": _rounded([max(float(c), 1e-12) for c in cap]), "fields": spec_fields,
                            "background": bg, "dots": dot_spec})
        return self

    def to_bytes(self) -> bytes:
        """The frame set as UTF-8 JSON, with a digest so the browser knows when it changed."""
        self._check()
        body = {"label": self.label, "values": self.values, "panels": self.panels, "metrics": self.metrics,
                "lines": self.lines, "charts": self.charts, "sources": self.sources, "pixelated": self.pixelated,
                "fps": self.fps}
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]
        return ('{"id":"' + digest + '",' + raw[1:]).encode("utf-8")  # app.scrubber reads the id at [7:23]


def _rounded(values, digits: int = 5) -> list[float]:
    """Numbers for the browser, rounded: 5 significant digits are plenty for a plot and halve the payload."""
    out = []
    for v in np.asarray(values, dtype=float).ravel():
        if not math.isfinite(v):
            raise ValueError("chart values must be finite")
        out.append(float(f"{v:.{digits}g}"))
    return out


#: The most arrows one field may draw: each field is one SVG path, redrawn per frame.
MAX_ARROWS = 900


def _check_field(c: dict, n: int):
    g = len(c["points"])
    if len(c["cap"]) != n:
        raise ValueError(f"chart {c['title']!r} has {len(c['cap'])} arrow caps for {n} positions")
    for f in c["fields"]:
        if len(f["v"]) != n or len(f["unit"]) != n:
            raise ValueError(f"field {f['name']!r} of chart {c['title']!r} has {len(f['v'])} frames for {n} positions")
        if any(len(v) != g for v in f["v"]):
            raise ValueError(f"field {f['name']!r} of chart {c['title']!r} has a frame that is not {g // 2} arrows")
    if c["background"] is not None and len(c["background"]["frames"]) != n:
        raise ValueError(f"chart {c['title']!r} has {len(c['background']['frames'])} backgrounds for {n} positions")
    d = c["dots"]
    if d is not None:
        if len(d["a"]) != n or len(d["b"]) != n:
            raise ValueError(f"the dots of chart {c['title']!r} have {len(d['a'])} and {len(d['b'])} weights "
                             f"for {n} positions")
        if len(d["x0"]) != len(d["eps"]) or len(d["x0"]) % 2:
            raise ValueError(f"the dots of chart {c['title']!r} need as many (x, y) in x0 as in eps")


#: Plotly's Viridis, the colour scale of the app's heatmaps (style.SEQUENTIAL).
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b",
           "#fde725")


def heatmap_png_uri(z, zmax: float | None = None, levels: int = 64) -> str:
    """A grid z (ny, nx), y along rows upwards (toy2d.grid order), as a Viridis PNG with row 0 at the top.

    Colours run from 0 to zmax (default: the 99th percentile, as figures' heatmaps clip the sharp spikes
    of a density at small t), in `levels` steps: a palette PNG of one byte per pixel, a third of the size
    of an RGB one. The browser smooths it when it scales the picture up.
    """
    z = np.asarray(z, dtype=np.float64)
    if zmax is None:
        zmax = float(np.quantile(z, 0.99))
    if not zmax > 0:
        zmax = float(z.max()) or 1.0
    idx = np.rint(np.clip(z / zmax, 0.0, 1.0)[::-1] * (levels - 1)).astype(np.uint8)
    stops = np.linspace(0.0, 1.0, len(VIRIDIS))
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in VIRIDIS], dtype=np.float64)
    at = np.linspace(0.0, 1.0, levels)
    palette = np.stack([np.interp(at, stops, rgb[:, k]) for k in range(3)], axis=-1).round().astype(np.uint8)
    img = Image.fromarray(idx, mode="P")
    img.putpalette(palette.ravel().tolist())
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def density_histograms(frames: Sequence[np.ndarray], edges: np.ndarray) -> list[np.ndarray]:
    """Density-normalised histograms of the values of each frame (binned on the server, as figures.py does)."""
    return [np.histogram(np.ravel(f), bins=edges, density=True)[0] for f in frames]
