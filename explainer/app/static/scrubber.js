// A scrubber: swaps precomputed frames (pictures, numbers, text, chart markers) in the browser.
// The frame set arrives once as UTF-8 JSON (see explainer/lessons/framesets.py); dragging never talks to the
// server. When a drag or a key press ends, the new position is sent once (setStateValue), so the
// server can keep it in the page address. No network access, no libraries.

const SVG = "http://www.w3.org/2000/svg";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;  // always text, never HTML
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function fmtTick(v) {
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e4 || a < 1e-2) return v.toExponential(0).replace("e+", "e");
  return String(Math.round(v * 1000) / 1000);
}

function niceTicks(lo, hi, n) {
  const span = hi - lo || 1;
  const step0 = span / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= n) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(v);
  return out;
}

// Ticks of a log axis: 1, 2, 5 x 10^k inside [lo, hi] when that gives at most 8, else powers of 10.
function logTicks(lo, hi) {
  const out = [], pow = [];
  // A degenerate axis (no positive range) gets no ticks rather than an endless loop.
  if (!(lo > 0) || !(hi >= lo) || !isFinite(lo) || !isFinite(hi) || Math.log10(hi / lo) > 60) return out;
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of [1, 2, 5]) { const v = m * Math.pow(10, k); if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v); }
    const v = Math.pow(10, k); if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) pow.push(v);
  }
  return out.length <= 8 || pow.length < 2 ? out : pow;
}

// One small chart: axes, static content, and an update(i) that moves what follows the position.
function makeChart(spec, values, wide) {
  const W = wide ? 900 : 460, H = 250, L = 52, R = 12, T = 30, B = 40;
  const root = el("figure", "dx-chart");
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.title });
  root.appendChild(s);
  const title = svg("text", { x: 4, y: 16, class: "dx-title" });
  title.textContent = spec.title;
  s.appendChild(title);
  let x0, x1, y0, y1;
  if (spec.kind === "line" || spec.kind === "curves") {
    x0 = Math.min(...spec.x); x1 = Math.max(...spec.x);
    [y0, y1] = spec.y_range;
  } else {
    x0 = spec.edges[0]; x1 = spec.edges[spec.edges.length - 1]; y0 = 0; y1 = spec.y_max;
  }
  const ly = (v) => (spec.log_y ? Math.log10(Math.max(v, 1e-12)) : v);
  const Y0 = ly(y0), Y1 = ly(y1) === Y0 ? Y0 + 1 : ly(y1);
  const lx = (v) => (spec.log_x ? Math.log10(Math.max(v, 1e-12)) : v);
  const X0 = lx(x0), X1 = lx(x1);
  const px = (v) => L + ((lx(v) - X0) / ((X1 - X0) || 1)) * (W - L - R);
  const py = (v) => H - B - ((ly(v) - Y0) / (Y1 - Y0)) * (H - T - B);
  // axes and ticks
  s.appendChild(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "dx-axis" }));
  s.appendChild(svg("line", { x1: L, y1: T, x2: L, y2: H - B, class: "dx-axis" }));
  const curves = spec.kind === "curves";
  for (const v of (curves && spec.log_x ? logTicks(x0, x1) : niceTicks(x0, x1, 5))) {
    const t = svg("text", { x: px(v), y: H - B + 14, class: "dx-tick", "text-anchor": "middle" });
    t.textContent = fmtTick(v); s.appendChild(t);
  }
  const yt = curves && spec.log_y ? logTicks(y0, y1) : spec.log_y ? niceTicks(Y0, Y1, 4).filter((v) => Number.isInteger(v)).map((v) => Math.pow(10, v))
                        : niceTicks(y0, y1, 4);
  for (const v of yt) {
    const t = svg("text", { x: L - 4, y: py(v) + 4, class: "dx-tick", "text-anchor": "end" });
    t.textContent = fmtTick(v); s.appendChild(t);
    s.appendChild(svg("line", { x1: L, y1: py(v), x2: W - R, y2: py(v), class: "dx-grid" }));
  }
  const xl = svg("text", { x: (L + W - R) / 2, y: H - 6, class: "dx-label", "text-anchor": "middle" });
  xl.textContent = spec.xlabel; s.appendChild(xl);
  const yl = svg("text", { x: 12, y: (T + H - B) / 2, class: "dx-label", "text-anchor": "middle",
                           transform: `rotate(-90 12 ${(T + H - B) / 2})` });
  yl.textContent = spec.ylabel; s.appendChild(yl);
  const legend = el("figcaption", "dx-legend");
  const key = (name, color) => {
    const k = el("span", "dx-key");
    const sw = el("i"); sw.style.background = color; k.appendChild(sw); k.appendChild(document.createTextNode(name));
    legend.appendChild(k);
  };
  const clip = (v) => Math.min(Math.max(v, y0), y1);
  const path = (xs, ys) => xs.map((x, j) => `${j ? "L" : "M"}${px(x).toFixed(1)},${py(clip(ys[j])).toFixed(1)}`).join("");
  let update;
  if (spec.kind === "line") {
    const marker = svg("line", { y1: T, y2: H - B, class: "dx-marker" });
    s.appendChild(marker);
    const dots = spec.series.map((ser) => {
      s.appendChild(svg("path", { d: path(spec.x, ser.y), stroke: ser.color, class: "dx-line" }));
      key(ser.name, ser.color);
      const d = svg("circle", { r: 5, fill: ser.color, class: "dx-dot" });
      const tip = svg("title"); d.appendChild(tip);
      s.appendChild(d);
      return [d, tip, ser];
    });
    update = (i) => {
      const v = spec.marker_x ? spec.marker_x[i] : values[i];
      let j = 0, best = Infinity;  // nearest x (the curve's own grid)
      spec.x.forEach((x, k) => { const d = Math.abs(x - v); if (d < best) { best = d; j = k; } });
      marker.setAttribute("x1", px(v)); marker.setAttribute("x2", px(v));
      for (const [d, tip, ser] of dots) {
        d.setAttribute("cx", px(v)); d.setAttribute("cy", py(clip(ser.y[j])));
        tip.textContent = `${ser.name}: ${fmtTick(ser.y[j])} at ${spec.xlabel} = ${v}`;
      }
    };
  } else if (curves) {
    // Static reference curves (dashed), curves that follow the position, and an optional marker.
    for (const st of spec.static) {
      s.appendChild(svg("path", { d: path(spec.x, st.y), stroke: st.color, class: "dx-line dx-static" }));
      key(st.name, st.color);
    }
    const marker = spec.marks ? svg("line", { y1: T, y2: H - B, class: "dx-marker" }) : null;
    if (marker) s.appendChild(marker);
    const paths = spec.series.map((ser) => {
      const p = svg("path", { stroke: ser.color, class: "dx-line" });
      s.appendChild(p);
      key(ser.name, ser.color);
      return [p, ser];
    });
    update = (i) => {
      for (const [p, ser] of paths) p.setAttribute("d", path(spec.x, ser.ys[i]));
      if (marker) {
        const m = spec.marks[i];
        marker.setAttribute("visibility", m === null ? "hidden" : "visible");
        if (m !== null) { marker.setAttribute("x1", px(m)); marker.setAttribute("x2", px(m)); }
      }
    };
  } else {
    const e = spec.edges;
    const drawBars = (counts, color, cls) => {
      const g = svg("g", { class: cls });
      counts.forEach((c, j) => {
        g.appendChild(svg("rect", { x: px(e[j]), width: Math.max(px(e[j + 1]) - px(e[j]) - 0.3, 0.5),
                                    y: py(Math.min(c, y1)), height: H - B - py(Math.min(c, y1)), fill: color }));
      });
      return g;
    };
    if (spec.static) { s.appendChild(drawBars(spec.static.counts, spec.static.color, "dx-bars-static")); key(spec.static.name, spec.static.color); }
    let g = drawBars(spec.counts[0], spec.color, "dx-bars");
    s.appendChild(g);
    key(spec.name, spec.color);
    if (spec.reference) {
      s.appendChild(svg("path", { d: path(spec.reference.x, spec.reference.y), stroke: spec.reference.color, class: "dx-line" }));
      key(spec.reference.name, spec.reference.color);
    }
    update = (i) => {
      const rects = g.children, c = spec.counts[i];
      for (let j = 0; j < rects.length; j++) {
        const yy = py(Math.min(c[j], y1));
        rects[j].setAttribute("y", yy); rects[j].setAttribute("height", H - B - yy);
      }
    };
  }
  root.appendChild(legend);
  return { root, update };
}

// The pixels of a picture the set sends once (spec.sources[k]), decoded once per set.
function sourcePixels(spec, k) {
  spec.__pixels = spec.__pixels || new Map();
  if (!spec.__pixels.has(k)) {
    spec.__pixels.set(k, new Promise((ok, bad) => {
      const im = new Image();
      im.onload = () => {
        const c = document.createElement("canvas");
        c.width = im.naturalWidth; c.height = im.naturalHeight;
        const ctx = c.getContext("2d", { willReadFrequently: true });
        ctx.drawImage(im, 0, 0);
        ok({ w: c.width, h: c.height, px: ctx.getImageData(0, 0, c.width, c.height).data });
      };
      im.onerror = bad;
      im.src = spec.sources[k];
    }));
  }
  return spec.__pixels.get(k);
}

// draw(i) paints u8(a[i]·x0 + b[i]·ε) into the canvas, with x0 = u/127.5 − 1 and ε = (k − 128)·step:
// the same arithmetic as explainer/lessons/framesets.py blend_pixels, so the picture is the server's, exactly.
function blender(spec, blend, canvas) {
  let want = -1, x0 = null, eps = null, ctx = null, out = null;
  const draw = (i) => {
    want = i;
    if (!out) return;  // drawn when the pictures are decoded
    const a = blend.a[i], b = blend.b[i], step = blend.step, X = x0.px, E = eps.px, O = out.data;
    for (let j = 0; j < X.length; j += 4) {
      for (let c = 0; c < 3; c++) {
        let v = a * (X[j + c] / 127.5 - 1) + b * ((E[j + c] - 128) * step);
        v = v < -1 ? -1 : v > 1 ? 1 : v;
        O[j + c] = Math.floor((v + 1) * 127.5 + 0.5);
      }
      O[j + 3] = 255;
    }
    ctx.putImageData(out, 0, 0);
    canvas.dataset.index = String(i);
  };
  Promise.all([sourcePixels(spec, blend.x0), sourcePixels(spec, blend.eps)]).then(([x, e]) => {
    x0 = x; eps = e;
    canvas.width = x.w; canvas.height = x.h;
    ctx = canvas.getContext("2d");
    out = ctx.createImageData(x.w, x.h);
    if (want >= 0) draw(want);
  });
  return draw;
}

// A 2D vector field that changes with the position (explainer/lessons/framesets.py, add_vector_field): a square
// plot over [-extent, extent]² with a background picture, dots and one path of arrows per field.
// Each field is a single <path>, so a frame is a few attribute changes however many arrows there are.
// Hovering shows the vectors at the nearest arrow tail (the numbers the arrows stand for).
let fieldCount = 0;
function makeField(spec, values) {
  const W = 600, L = 48, R = 12, T = 30, S = W - L - R, B = 44, H = T + S + B, E = spec.extent;
  const root = el("figure", "dx-chart dx-field");
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.title });
  root.appendChild(s);
  const title = svg("text", { x: L, y: 18, class: "dx-title" });
  s.appendChild(title);
  const px = (x) => L + ((x + E) / (2 * E)) * S;
  const py = (y) => T + ((E - y) / (2 * E)) * S;
  const clipId = `dx-field-clip-${++fieldCount}-${Math.random().toString(36).slice(2, 7)}`;
  const defs = svg("defs");
  const cp = svg("clipPath", { id: clipId });
  cp.appendChild(svg("rect", { x: L, y: T, width: S, height: S }));
  defs.appendChild(cp); s.appendChild(defs);
  s.appendChild(svg("rect", { x: L, y: T, width: S, height: S, fill: "#440154" }));
  const plot = svg("g", { "clip-path": `url(#${clipId})` });
  s.appendChild(plot);
  const legend = el("figcaption", "dx-legend");
  const key = (name, color, cls) => {
    const k = el("span", "dx-key");
    const sw = el("i", cls); sw.style.background = color; k.appendChild(sw); k.appendChild(document.createTextNode(name));
    legend.appendChild(k);
  };
  let image = null;
  if (spec.background) {
    image = svg("image", { x: L, y: T, width: S, height: S, preserveAspectRatio: "none" });
    plot.appendChild(image);
    key(spec.background.name, "linear-gradient(90deg, #440154, #31688e, #35b779, #fde725)");
  }
  let dots = null;
  if (spec.dots) {
    // Zero-length round-capped segments: a dot each, all in one path.
    dots = svg("path", { stroke: spec.dots.color, class: "dx-field-dots" });
    plot.appendChild(dots);
    key(spec.dots.name, spec.dots.color);
  }
  const arrows = spec.fields.map((f) => {
    const p = svg("path", { stroke: f.color, class: "dx-arrows" + (spec.fields.length > 1 ? " dx-arrows-thin" : "") });
    plot.appendChild(p);
    key(f.name, f.color);
    return [p, f];
  });
  // axes and ticks
  s.appendChild(svg("rect", { x: L, y: T, width: S, height: S, class: "dx-frame" }));
  for (const v of niceTicks(-E, E, 6)) {
    const tx = svg("text", { x: px(v), y: T + S + 15, class: "dx-tick", "text-anchor": "middle" });
    tx.textContent = fmtTick(v); s.appendChild(tx);
    const ty = svg("text", { x: L - 5, y: py(v) + 4, class: "dx-tick", "text-anchor": "end" });
    ty.textContent = fmtTick(v); s.appendChild(ty);
  }
  const xl = svg("text", { x: L + S / 2, y: T + S + 34, class: "dx-label", "text-anchor": "middle" });
  xl.textContent = spec.xlabel; s.appendChild(xl);
  const yl = svg("text", { x: 14, y: T + S / 2, class: "dx-label", "text-anchor": "middle",
                           transform: `rotate(-90 14 ${T + S / 2})` });
  yl.textContent = spec.ylabel; s.appendChild(yl);
  // hover: a ring on the nearest arrow tail and its vectors in a line below the plot
  const pts = spec.points, G = pts.length / 2;
  const ring = svg("circle", { r: 6, class: "dx-field-ring", visibility: "hidden" });
  s.appendChild(ring);
  const readout = el("div", "dx-field-readout", "Hover over the plot to read the vectors at a grid point.");
  const num = (v) => { const r = Number(v.toPrecision(3)); return Math.abs(r) >= 1e5 ? r.toExponential(2) : String(r); };
  let index = 0, hover = -1;
  const showHover = () => {
    if (hover < 0) { ring.setAttribute("visibility", "hidden"); return; }
    const x = pts[2 * hover], y = pts[2 * hover + 1];
    ring.setAttribute("cx", px(x)); ring.setAttribute("cy", py(y)); ring.setAttribute("visibility", "visible");
    const parts = spec.fields.map((f) => {
      const u = f.unit[index], k = f.v[index];
      return `${f.name} (${num(k[2 * hover] * u)}, ${num(k[2 * hover + 1] * u)})`;
    });
    readout.textContent = `at x = (${x.toFixed(2)}, ${y.toFixed(2)}), t = ${values[index]}: ${parts.join(";  ")}`;
  };
  const hit = svg("rect", { x: L, y: T, width: S, height: S, fill: "transparent", class: "dx-field-hit" });
  s.appendChild(hit);
  hit.addEventListener("pointermove", (ev) => {
    const m = s.getScreenCTM();
    if (!m) return;
    const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(m.inverse());
    const x = -E + ((p.x - L) / S) * 2 * E, y = E - ((p.y - T) / S) * 2 * E;
    let best = Infinity, j = -1;
    for (let g = 0; g < G; g++) {
      const d = (pts[2 * g] - x) ** 2 + (pts[2 * g + 1] - y) ** 2;
      if (d < best) { best = d; j = g; }
    }
    if (j !== hover) { hover = j; showHover(); }
  });
  hit.addEventListener("pointerleave", () => { hover = -1; showHover(); });
  const head = 0.35, ca = Math.cos(28 * Math.PI / 180), sa = Math.sin(28 * Math.PI / 180);
  const arrowPath = (f, i) => {
    const k = f.v[i], u = f.unit[i], cap = spec.cap[i], out = [];
    for (let g = 0; g < G; g++) {
      const vx = k[2 * g] * u, vy = k[2 * g + 1] * u, mag = Math.hypot(vx, vy);
      if (!(mag > 0)) continue;
      const len = spec.max_len * Math.min(mag / cap, 1), ux = vx / mag, uy = vy / mag;
      const x0 = pts[2 * g], y0 = pts[2 * g + 1], x1 = x0 + len * ux, y1 = y0 + len * uy;
      const bx = -ux * head * len, by = -uy * head * len;
      const lx = x1 + ca * bx - sa * by, ly = y1 + sa * bx + ca * by;
      const rx = x1 + ca * bx + sa * by, ry = y1 - sa * bx + ca * by;
      const X1 = px(x1).toFixed(1), Y1 = py(y1).toFixed(1);
      out.push(`M${px(x0).toFixed(1)} ${py(y0).toFixed(1)}L${X1} ${Y1}M${px(lx).toFixed(1)} ${py(ly).toFixed(1)}` +
               `L${X1} ${Y1}L${px(rx).toFixed(1)} ${py(ry).toFixed(1)}`);
    }
    return out.join("");
  };
  const update = (i) => {
    index = i;
    const t = spec.title.replaceAll("{v}", String(values[i]));
    title.textContent = t; s.setAttribute("aria-label", t);
    if (image) image.setAttribute("href", spec.background.frames[i]);
    if (dots) {
      const d = spec.dots, a = d.a[i], b = d.b[i], out = [];
      for (let j = 0; j < d.x0.length; j += 2) {
        out.push(`M${px(a * d.x0[j] + b * d.eps[j]).toFixed(1)} ${py(a * d.x0[j + 1] + b * d.eps[j + 1]).toFixed(1)}h0`);
      }
      dots.setAttribute("d", out.join(""));
    }
    for (const [p, f] of arrows) p.setAttribute("d", arrowPath(f, i));
    showHover();
  };
  root.appendChild(legend);
  root.appendChild(readout);
  return { root, update };
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  if (!data) return;
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer || data);
  const msg = JSON.parse(new TextDecoder().decode(bytes));
  const spec = msg.set, values = spec.values, n = values.length;
  const host = parentElement;
  // The server resends the set after each release; keep the DOM (and the position) if it is the same set.
  const prev = host.__dxScrub;
  if (prev && prev.id === spec.id) return;  // the same set again (after a release): keep the position
  if (prev) prev.stop();
  host.querySelectorAll(".dx-scrub").forEach((e) => e.remove());

  const root = el("div", "dx-scrub" + (spec.pixelated ? " dx-pixelated" : ""));
  host.appendChild(root);
  const bar = el("div", "dx-bar");
  const play = el("button", "dx-play", "▶");
  play.type = "button";
  play.setAttribute("aria-label", "Play through all positions");
  const label = el("label", "dx-name");
  const id = "dx-" + spec.id + "-" + Math.random().toString(36).slice(2, 7);
  label.htmlFor = id;
  label.textContent = spec.label;
  const range = el("input", "dx-range");
  Object.assign(range, { type: "range", min: 0, max: n - 1, step: 1, id });
  const readout = el("output", "dx-value");
  readout.setAttribute("aria-live", "polite");
  readout.htmlFor = id;
  const head = el("div", "dx-head");
  head.append(label, readout);
  bar.append(play, range);
  root.append(head, bar);

  const panels = el("div", "dx-panels");
  const imgs = spec.panels.map((p) => {
    const f = el("figure", "dx-panel");
    let im;
    if (p.blend) {  // computed here from two pictures: x_t = a·x0 + b·ε
      im = el("canvas");
      im.setAttribute("role", "img");
      im.setAttribute("aria-label", p.alt);
      im.draw = blender(spec, p.blend, im);
    } else {
      im = el("img");
      im.alt = p.alt;
      if (p.source !== undefined) im.src = spec.sources[p.source];
    }
    const cap = el("figcaption", "", "");
    f.append(im, cap);
    panels.appendChild(f);
    return [p, im, cap];
  });
  // Small pixelated pictures (28x28 digits) need not fill the page: at most 260 px each.
  const col = spec.pixelated ? "minmax(0, 260px)" : "minmax(0, 1fr)";
  if (imgs.length) { panels.style.gridTemplateColumns = `repeat(${imgs.length}, ${col})`; root.appendChild(panels); }
  const metrics = el("div", "dx-metrics");
  const mets = spec.metrics.map((m) => {
    const d = el("div", "dx-metric");
    const l = el("div", "dx-metric-label", m.label);
    if (m.help) d.title = m.help;
    const v = el("div", "dx-metric-value");
    d.append(l, v); metrics.appendChild(d);
    return [m, v];
  });
  if (mets.length) root.appendChild(metrics);
  const lines = spec.lines.map((vals) => { const p = el("p", "dx-line-text"); root.appendChild(p); return [vals, p]; });
  const charts = el("div", "dx-charts");
  const chs = spec.charts.map((c) => { const ch = c.kind === "field" ? makeField(c, values) : makeChart(c, values, spec.charts.length === 1); charts.appendChild(ch.root); return ch; });
  if (chs.length) root.appendChild(charts);

  const state = { id: spec.id, index: -1, dragging: false, timer: null, sent: msg.index };
  host.__dxScrub = state;
  const fill = (tpl, i) => tpl.replaceAll("{v}", String(values[i]));
  state.show = (i) => {
    i = Math.max(0, Math.min(n - 1, i | 0));
    if (i === state.index) return;
    state.index = i;
    range.value = String(i);
    const text = `${spec.label.split(" (")[0]} = ${values[i]}`;
    readout.textContent = text;
    range.setAttribute("aria-valuetext", text);
    for (const [p, im, cap] of imgs) {
      if (im.draw) im.draw(i);
      else if (p.frames) {
        const src = Array.isArray(p.frames) ? p.frames[i] : p.frames;
        if (im.getAttribute("src") !== src) im.src = src;
      }
      cap.textContent = Array.isArray(p.caption) ? p.caption[i] : fill(p.caption, i);
    }
    for (const [m, v] of mets) v.textContent = m.values[i];
    for (const [vals, p] of lines) p.textContent = vals[i];
    for (const ch of chs) ch.update(i);
    root.dataset.index = String(i);
    root.dataset.value = String(values[i]);
  };
  // Tell the server the final position once, when the user lets go (never per frame).
  // Arrow keys fire one change per press: wait until the keys rest before telling the server.
  let pending = null;
  const commit = () => {
    clearTimeout(pending);
    pending = setTimeout(() => {
      if (state.index !== state.sent) { state.sent = state.index; setStateValue("index", state.index); }
    }, 300);
  };
  range.addEventListener("input", () => { state.show(+range.value); });
  range.addEventListener("pointerdown", () => { state.dragging = true; });
  range.addEventListener("change", () => { state.dragging = false; commit(); });  // fires on release / key
  const stopPlay = () => { if (state.timer) { clearInterval(state.timer); state.timer = null; play.textContent = "▶"; commit(); } };
  play.addEventListener("click", () => {
    if (state.timer) { stopPlay(); return; }
    if (state.index >= n - 1) state.show(0);
    play.textContent = "❚❚";
    play.setAttribute("aria-label", "Pause");
    state.timer = setInterval(() => {
      if (state.index >= n - 1) { stopPlay(); return; }
      state.show(state.index + 1);
    }, 1000 / (spec.fps || 12));
  });
  state.stop = () => { if (state.timer) clearInterval(state.timer); state.timer = null; };
  state.show(msg.index);
  return () => { state.stop(); };
}
