'use strict';
// Two small SVG charts of our own, drawn at the element's real pixel size (so
// text stays readable at 375 px): horizontal bars (time per mode) and lines
// over categories (speed-up against workers or sizes). Every mode is one
// <g class="mark" data-mode=...>. See docs/web-page.md for why not a library.

const Charts = (() => {
  const NS = 'http://www.w3.org/2000/svg';

  function node(parent, name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e);
    return e;
  }

  /** Clears the chart and returns its size in CSS pixels. */
  function start(svg) {
    svg.replaceChildren();
    const box = svg.getBoundingClientRect();
    const w = Math.max(160, Math.round(box.width));
    const h = Math.round(box.height);
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    return { w, h };
  }

  /** About `count` round tick values from 0 to at least `max`. */
  function ticks(max, count) {
    const raw = max / count;
    const step = [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw);
    const out = [];
    for (let v = 0; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(6));
    if (out[out.length - 1] < max) out.push(+(out[out.length - 1] + step).toPrecision(6));
    return out;
  }

  /**
   * rows: [{key, label, colour, value, back}] (back, the lighter bar behind: wall time; may be undefined);
   * format(seconds) for the text; empty: the text shown while no row has a value.
   */
  function bars(svg, { rows, format, empty }) {
    const { w } = start(svg);
    const pad = 8;
    const rowH = 34;
    const max = Math.max(0, ...rows.map((r) => Math.max(r.value ?? 0, r.back ?? 0)));
    const scale = (v) => (max > 0 ? (v / max) * (w - 2 * pad) : 0);
    rows.forEach((r, i) => {
      const y = pad + i * rowH;
      const g = node(svg, 'g', { class: 'mark', 'data-mode': r.key });
      const text = r.value === undefined ? `${r.label}: –` : `${r.label}: ${format(r.value)}${r.back !== undefined ? ` · wall ${format(r.back)}` : ''}`;
      node(g, 'text', { x: pad, y: y + 12 }, text);
      if (r.back !== undefined) node(g, 'rect', { class: 'back', x: pad, y: y + 17, width: scale(r.back), height: 11, rx: 2, fill: r.colour });
      if (r.value !== undefined) node(g, 'rect', { x: pad, y: y + 17, width: Math.max(1, scale(r.value)), height: 11, rx: 2, fill: r.colour });
    });
    if (max === 0 && empty) node(svg, 'text', { class: 'empty', x: w - pad, y: pad + 12, 'text-anchor': 'end' }, empty);
  }

  /**
   * x: category labels; series: [{key, colour, label, points: [number | null]}];
   * guide: 'diagonal' (y = x value: ideal speed-up) or a number (a level line);
   * xTitle, format(y) for ticks and tooltips; empty: the text while no series has a point.
   */
  function lines(svg, { x, series, guide, xTitle, format, empty }) {
    const { w, h } = start(svg);
    const m = { l: 42, r: 12, t: 10, b: 38 };
    const pw = w - m.l - m.r;
    const ph = h - m.t - m.b;
    const values = series.flatMap((s) => s.points.filter((p) => p !== null && p !== undefined));
    const guideMax = guide === 'diagonal' ? Math.max(...x.map(Number)) : (guide ?? 0);
    const yt = ticks(Math.max(1, guideMax, ...values) * 1.05, 4);
    const top = yt[yt.length - 1];
    const px = (i) => m.l + (x.length > 1 ? (i / (x.length - 1)) * pw : pw / 2);
    const py = (v) => m.t + ph - (v / top) * ph;
    for (const t of yt) {
      node(svg, 'line', { class: 'axis', x1: m.l, x2: w - m.r, y1: py(t), y2: py(t) });
      node(svg, 'text', { x: m.l - 6, y: py(t) + 4, 'text-anchor': 'end' }, format(t));
    }
    x.forEach((label, i) => node(svg, 'text', { x: px(i), y: h - m.b + 16, 'text-anchor': 'middle' }, label));
    node(svg, 'text', { x: m.l + pw / 2, y: h - 4, 'text-anchor': 'middle', class: 'empty' }, xTitle);
    if (guide === 'diagonal') node(svg, 'polyline', { class: 'guide', points: x.map((v, i) => `${px(i)},${py(Number(v))}`).join(' ') });
    else if (typeof guide === 'number') node(svg, 'line', { class: 'guide', x1: m.l, x2: w - m.r, y1: py(guide), y2: py(guide) });
    for (const s of series) {
      const g = node(svg, 'g', { class: 'mark', 'data-mode': s.key });
      const pts = s.points.map((v, i) => (v === null || v === undefined ? null : [px(i), py(v), v, i])).filter(Boolean);
      if (pts.length > 1) node(g, 'polyline', { points: pts.map((p) => `${p[0]},${p[1]}`).join(' '), fill: 'none', stroke: s.colour, 'stroke-width': 2 });
      for (const [cx, cy, v, i] of pts) node(node(g, 'circle', { cx, cy, r: 4, fill: s.colour }), 'title', {}, `${s.label}, ${x[i]}: ${format(v)}`);
    }
    if (values.length === 0 && empty) node(svg, 'text', { class: 'empty', x: m.l + pw / 2, y: m.t + ph / 2, 'text-anchor': 'middle' }, empty);
  }

  return { bars, lines };
})();
