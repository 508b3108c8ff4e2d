// Small inline-SVG charts for the console (no library, no inline styles: colours come from
// classes in app.css, `.chart-s0` ... `.chart-s5`). Every label is a text node.

// The SVG namespace, spelt without a literal URL (the UI sources may not contain one).
const NS = ['http', '//www.w3.org/2000/svg'].join(':');

function el(tag, attrs, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function html(tag, cls, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** A "nice" upper bound for an axis (1, 2, 5 × 10^n). */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function shortNum(n) {
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function shortBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = Number(n) || 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return (i === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : 1)) + ' ' + units[i];
}

function hhmm(ms) {
  const d = new Date(ms);
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}

/**
 * A line chart of time series.
 * points: [{t_ms, <key>: number, ...}] oldest first.
 * opts: {series: [{key, label}], height=180, width=640, title, format: n => string,
 *        x: 't_ms', empty: 'No data yet'}
 * Returns a <figure class="chart"> with the SVG and a legend.
 */
export function lineChart(points, opts = {}) {
  const series = opts.series || [];
  const W = opts.width || 640;
  const H = opts.height || 180;
  const xKey = opts.x || 't_ms';
  const fmt = opts.format || shortNum;
  const padL = 52; const padR = 12; const padT = 10; const padB = 24;
  const fig = html('figure', 'chart');
  if (opts.testid) fig.setAttribute('data-testid', opts.testid);
  if (opts.title) fig.append(html('figcaption', 'chart-title', opts.title));
  const pts = (points || []).filter((p) => p && Number.isFinite(Number(p[xKey])));
  const root = el('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg',
    'aria-label': (opts.title || 'chart') + ': ' + series.map((s) => s.label).join(', '),
  });
  fig.append(root);
  if (pts.length === 0) {
    root.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-empty' },
      opts.empty || 'No data yet'));
    return fig;
  }
  let max = 0;
  for (const p of pts) for (const s of series) max = Math.max(max, Number(p[s.key]) || 0);
  max = niceMax(max);
  const t0 = Number(pts[0][xKey]);
  const t1 = Math.max(Number(pts[pts.length - 1][xKey]), t0 + 1);
  const x = (t) => padL + ((t - t0) / (t1 - t0)) * (W - padL - padR);
  const y = (v) => padT + (1 - v / max) * (H - padT - padB);
  // grid and y labels
  for (let i = 0; i <= 4; i += 1) {
    const v = (max * i) / 4;
    const yy = y(v);
    root.append(el('line', { x1: padL, x2: W - padR, y1: yy, y2: yy, class: 'chart-grid' }));
    root.append(el('text', { x: padL - 6, y: yy + 4, 'text-anchor': 'end', class: 'chart-label' }, fmt(v)));
  }
  // x labels: start, middle, end
  const xs = pts.length > 2 ? [t0, (t0 + t1) / 2, t1] : [t0, t1];
  xs.forEach((t, i) => {
    const anchor = i === 0 ? 'start' : i === xs.length - 1 ? 'end' : 'middle';
    root.append(el('text', { x: x(t), y: H - 6, 'text-anchor': anchor, class: 'chart-label' }, hhmm(t)));
  });
  // the lines
  series.forEach((s, i) => {
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${x(Number(p[xKey])).toFixed(1)},${y(Number(p[s.key]) || 0).toFixed(1)}`).join(' ');
    const path = el('path', { d, class: `chart-line chart-s${i % 6}`, fill: 'none' });
    path.append(el('title', null, s.label));
    root.append(path);
    if (pts.length === 1) {
      root.append(el('circle', { cx: x(Number(pts[0][xKey])), cy: y(Number(pts[0][s.key]) || 0), r: 3, class: `chart-dot chart-s${i % 6}` }));
    }
  });
  // hover columns: a transparent rect per point with a <title> of its values
  const colW = (W - padL - padR) / Math.max(pts.length, 1);
  for (const p of pts) {
    const cx = x(Number(p[xKey]));
    const r = el('rect', { x: Math.max(padL, cx - colW / 2), y: padT, width: Math.max(colW, 1), height: H - padT - padB, class: 'chart-hover' });
    r.append(el('title', null, `${new Date(Number(p[xKey])).toLocaleTimeString()}\n` +
      series.map((s) => `${s.label}: ${fmt(Number(p[s.key]) || 0)}`).join('\n')));
    root.append(r);
  }
  const legend = html('div', 'chart-legend');
  series.forEach((s, i) => {
    const total = pts.reduce((a, p) => a + (Number(p[s.key]) || 0), 0);
    const sw = html('span', `chart-swatch chart-bg${i % 6}`);
    legend.append(html('span', 'chart-legend-item', sw, `${s.label}`,
      opts.totals === false ? null : html('span', 'chart-legend-total', ` ${fmt(total)}`)));
  });
  fig.append(legend);
  return fig;
}

/**
 * Horizontal bars. items: [{label, value, class?}], opts: {format, max, testid}.
 * Returns a <div class="bars"> (HTML bars sized through the CSSOM, CSP-safe).
 */
export function barChart(items, opts = {}) {
  const fmt = opts.format || shortNum;
  const max = opts.max || Math.max(1, ...items.map((i) => Number(i.value) || 0));
  const box = html('div', 'bars');
  if (opts.testid) box.setAttribute('data-testid', opts.testid);
  for (const it of items) {
    const fill = html('span', 'bar-fill' + (it.class ? ' ' + it.class : ''));
    fill.style.width = `${Math.min(100, ((Number(it.value) || 0) / max) * 100).toFixed(2)}%`;
    box.append(html('div', 'bar-row', html('span', 'bar-label', it.label), html('span', 'bar-track', fill),
      html('span', 'bar-value', fmt(Number(it.value) || 0))));
  }
  return box;
}

/** A meter (used / total): a labelled progress bar. */
export function meter(used, total, opts = {}) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  // A progress bar (opts.progress) is never "too full"; a capacity meter warns at 75 % and 90 %.
  const level = opts.progress ? (pct >= 100 ? ' meter-done' : '') : pct > 90 ? ' meter-bad' : pct > 75 ? ' meter-warn' : '';
  const fill = html('span', 'meter-fill' + level);
  fill.style.width = pct.toFixed(2) + '%';
  const m = html('div', 'meter', fill);
  m.setAttribute('role', 'meter');
  m.setAttribute('aria-valuemin', '0');
  m.setAttribute('aria-valuemax', '100');
  m.setAttribute('aria-valuenow', pct.toFixed(0));
  if (opts.label) m.setAttribute('aria-label', opts.label);
  if (opts.testid) m.setAttribute('data-testid', opts.testid);
  return m;
}

/** A tiny sparkline of numbers (oldest first). */
export function sparkline(values, opts = {}) {
  const W = opts.width || 120;
  const H = opts.height || 24;
  const vals = (values || []).map((v) => Number(v) || 0);
  const root = el('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'sparkline', role: 'img',
    'aria-label': opts.label || 'trend' });
  if (vals.length < 2) {
    root.append(el('line', { x1: 0, x2: W, y1: H - 2, y2: H - 2, class: 'spark-flat' }));
    return root;
  }
  const min = Math.min(...vals);
  const max = Math.max(...vals);
  const span = max - min || 1;
  const d = vals.map((v, i) => `${i ? 'L' : 'M'}${((i / (vals.length - 1)) * (W - 2) + 1).toFixed(1)},${(H - 2 - ((v - min) / span) * (H - 4)).toFixed(1)}`).join(' ');
  root.append(el('path', { d, class: 'spark-line', fill: 'none' }));
  if (opts.title) root.append(el('title', null, opts.title));
  return root;
}
