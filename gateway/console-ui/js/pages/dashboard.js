// Dashboard: health, capacity, per-bucket usage and growth, traffic charts, plugin health,
// lifecycle scans and backups per bucket. Sections the caller may not read (null) are omitted.

import {h, mount, table, button, card, badge, kv, alertBox, errorText, fmtBytes, fmtNum,
  fmtTime, fmtAgo, hashHref} from '../dom.js';
import {json, caps} from '../api.js';
import {lineChart, meter, sparkline, shortBytes} from '../chart.js';

let generation = 0;

const BAD_STATES = new Set(['failed', 'quarantined']);

export function pluginBad(p) {
  return !!(p && (p.quarantined || BAD_STATES.has(p.state)));
}

function stateBadge(state, quarantined) {
  if (quarantined) return badge('quarantined', 'bad');
  const kind = {active: 'ok', failed: 'bad', quarantined: 'bad', overridden: 'plain'}[state] || 'warn';
  return badge(state || 'unknown', kind);
}

function outcomeBadge(text) {
  if (!text) return '—';
  const t = String(text).toLowerCase();
  const kind = /^(ok|succeeded|success|done)/.test(t) ? 'ok' : /(fail|error)/.test(t) ? 'bad'
    : /(partial|running|queued)/.test(t) ? 'warn' : 'plain';
  return badge(String(text), kind);
}

function when(ms) {
  if (ms === null || ms === undefined) return '—';
  return h('span', {title: fmtTime(ms)}, fmtAgo(ms));
}

function healthCard(d) {
  const hh = d.health;
  const ok = hh.ready && hh.writable;
  return card('Health',
    h('p', {class: 'big-status', 'data-testid': 'health'},
      badge(ok ? 'healthy' : hh.ready ? 'read-only' : 'not ready', ok ? 'ok' : 'bad')),
    kv([
      ['Ready', hh.ready ? 'yes' : 'no'],
      ['Writable', hh.writable ? 'yes' : 'no'],
      hh.reason ? ['Reason', hh.reason] : null,
    ]));
}

function capacityCard(d) {
  const c = d.capacity;
  const total = Number(c.total_bytes) || 0;
  const used = c.used_bytes !== null && c.used_bytes !== undefined ? Number(c.used_bytes)
    : total - (Number(c.free_bytes) || 0);
  const pct = total > 0 ? ((used / total) * 100).toFixed(1) : '—';
  return card('Capacity',
    meter(used, total, {label: 'disk used', testid: 'capacity-meter'}),
    h('p', {class: 'meter-caption'}, `${fmtBytes(used)} used of ${fmtBytes(total)} (${pct} %)`),
    kv([['Free', fmtBytes(c.free_bytes)], ['Total', fmtBytes(c.total_bytes)]]));
}

function trafficCard(d) {
  const t = d.traffic;
  const errs = (Number(t.errors_4xx) || 0) + (Number(t.errors_5xx) || 0);
  const rate = t.requests ? ((errs / t.requests) * 100).toFixed(1) + ' %' : '—';
  const mins = Math.round((t.window_s || 3600) / 60);
  return card(`Traffic (last ${mins} min)`,
    kv([
      ['Requests', fmtNum(t.requests)],
      ['Errors 4xx', fmtNum(t.errors_4xx)],
      ['Errors 5xx', h('span', {class: t.errors_5xx ? 'text-bad' : null}, fmtNum(t.errors_5xx))],
      ['Error rate', rate],
      ['Bytes in', fmtBytes(t.bytes_in)],
      ['Bytes out', fmtBytes(t.bytes_out)],
    ]));
}

export function seriesCharts(series) {
  if (!series) return null;
  if (series instanceof Error) {
    if (series.status === 403) return null;
    return card('Request rates', alertBox(series));
  }
  const pts = series.points || [];
  const step = series.step_s || 10;
  return h('div', {class: 'chart-grid-2'},
    card(`Requests per ${step} s`, lineChart(pts, {
      testid: 'chart-requests',
      series: [{key: 'requests', label: 'requests'}, {key: 'errors_4xx', label: '4xx'},
        {key: 'errors_5xx', label: '5xx'}],
      empty: 'No samples yet (the console samples every 10 s)',
    })),
    card(`Bytes per ${step} s`, lineChart(pts, {
      testid: 'chart-bytes',
      series: [{key: 'bytes_in', label: 'in'}, {key: 'bytes_out', label: 'out'}],
      format: shortBytes,
      empty: 'No samples yet (the console samples every 10 s)',
    })));
}

function bucketsCard(d) {
  const u = d.usage;
  const rows = (u.buckets || []).slice().sort((a, b) => (Number(b.bytes) || 0) - (Number(a.bytes) || 0));
  const growth = (b) => {
    const hist = b.history || [];
    if (hist.length < 2) return h('span', {class: 'muted'}, '—');
    const first = Number(hist[0].bytes) || 0;
    const last = Number(hist[hist.length - 1].bytes) || 0;
    const diff = last - first;
    return h('span', {class: 'growth'},
      sparkline(hist.map((p) => p.bytes), {label: `${b.bucket} size trend`,
        title: `${fmtBytes(first)} → ${fmtBytes(last)} since ${fmtTime(hist[0].t_ms)}`}),
      h('span', {class: diff > 0 ? 'growth-up' : diff < 0 ? 'growth-down' : 'muted'},
        `${diff >= 0 ? '+' : '−'}${fmtBytes(Math.abs(diff))}`));
  };
  const total = rows.reduce((a, b) => a + (Number(b.bytes) || 0), 0);
  return card('Buckets',
    h('p', {class: 'muted'}, u.as_of_ms ? `Usage as of ${fmtTime(u.as_of_ms)} (${fmtAgo(u.as_of_ms)}), ${fmtBytes(total)} in ${rows.length} buckets`
      : 'The first usage scan has not finished yet.'),
    h('div', {class: 'table-wrap'}, table([
      {title: 'Bucket', cell: (b) => h('a', {href: hashHref(`/buckets/${encodeURIComponent(b.bucket)}`), class: 'mono'}, b.bucket)},
      {title: 'Size', class: 'num', cell: (b) => fmtBytes(b.bytes)},
      {title: 'Objects', class: 'num', cell: (b) => fmtNum(b.objects)},
      {title: 'Versions', class: 'num', cell: (b) => fmtNum(b.versions)},
      {title: 'Delete markers', class: 'num', cell: (b) => fmtNum(b.delete_markers)},
      {title: 'Growth', cell: growth},
    ], rows, {empty: 'No buckets', testid: 'dash-buckets', class: 'names-nowrap'})));
}

function pluginsCard(d) {
  // Overridden defaults serve nothing: counted, not listed.
  const overridden = d.plugins.filter((p) => p.state === 'overridden' && !pluginBad(p)).length;
  const rows = d.plugins.filter((p) => p.state !== 'overridden' || pluginBad(p))
    .sort((a, b) => Number(pluginBad(b)) - Number(pluginBad(a)) ||
      String(a.bucket).localeCompare(String(b.bucket)) || String(a.binding).localeCompare(String(b.binding)));
  const bad = rows.filter(pluginBad);
  return card('Plugins',
    bad.length ? h('div', {class: 'alert alert-error', role: 'alert', 'data-testid': 'plugins-alert'},
      `${bad.length} binding${bad.length > 1 ? 's' : ''} failing or quarantined: `,
      bad.map((p) => p.binding).join(', '))
      : h('p', {class: 'muted'}, `${rows.length} bindings, all healthy.`),
    overridden ? h('p', {class: 'muted small'}, `${overridden} built-in default binding${overridden > 1 ? 's' : ''} overridden by the policies directory (not listed).`) : null,
    h('div', {class: 'table-wrap'}, table([
      {title: 'Binding', cell: (p) => h('span', {class: 'mono'}, p.binding)},
      {title: 'Bucket', cell: (p) => p.bucket || '—'},
      {title: 'Plugin', cell: (p) => h('span', {class: 'mono'}, p.plugin || '—')},
      {title: 'Hash', cell: (p) => p.hash ? h('span', {class: 'mono', title: p.hash}, String(p.hash).slice(0, 12)) : '—'},
      {title: 'State', cell: (p) => stateBadge(p.state, p.quarantined)},
      {title: 'Calls', class: 'num', cell: (p) => fmtNum(p.calls)},
      {title: 'Failures', class: 'num', cell: (p) => h('span', {class: p.failures ? 'text-bad' : null}, fmtNum(p.failures))},
      {title: 'Last error', cell: (p) => p.last_error ? h('span', {class: 'error-text'}, p.last_error) : '—'},
    ], rows, {empty: 'No policy bindings', testid: 'dash-plugins', class: 'names-nowrap',
      rowAttrs: (p) => ({class: pluginBad(p) ? 'row-bad' : null})})),
    h('p', null, h('a', {href: '#/policies'}, 'Manage bindings →')));
}

function schedulesCard(d) {
  const by = new Map();
  for (const l of d.lifecycle || []) by.set(l.bucket, {bucket: l.bucket, lc: l});
  for (const b of d.backups || []) {
    const r = by.get(b.bucket) || {bucket: b.bucket};
    r.bk = b;
    by.set(b.bucket, r);
  }
  const rows = [...by.values()].sort((a, b) => a.bucket.localeCompare(b.bucket));
  const cols = [{title: 'Bucket', cell: (r) => h('span', {class: 'mono'}, r.bucket)}];
  if (d.lifecycle) {
    cols.push(
      {title: 'Last scan', cell: (r) => r.lc ? (r.lc.running ? badge('running', 'warn') : when(r.lc.last_scan_ms)) : '—'},
      {title: 'Scan outcome', cell: (r) => r.lc ? outcomeBadge(r.lc.last_outcome) : '—'},
      {title: 'Next scan', cell: (r) => r.lc ? when(r.lc.next_scan_ms) : '—'});
  }
  if (d.backups) {
    cols.push(
      {title: 'Last backup', cell: (r) => r.bk ? when(r.bk.last_run_ms) : '—'},
      {title: 'Backup state', cell: (r) => r.bk ? outcomeBadge(r.bk.last_state) : '—'},
      {title: 'Next backup', cell: (r) => r.bk ? when(r.bk.next_run_ms) : '—'},
      {title: 'Generations', class: 'num', cell: (r) => r.bk ? fmtNum(r.bk.generations) : '—'});
  }
  return card('Lifecycle scans and backups',
    h('div', {class: 'table-wrap'}, table(cols, rows, {empty: 'No bucket has a lifecycle policy or a backup', testid: 'dash-schedules', class: 'names-nowrap'})),
    h('p', null, d.backups ? h('a', {href: '#/backups'}, 'Backups →') : null, ' ',
      d.lifecycle ? h('a', {href: '#/policies'}, 'Lifecycle dry runs →') : null));
}

async function load() {
  const can = await caps();
  // The charts need admin:Prometheus; without it there are none (and no refused request).
  const [dash, series] = await Promise.all([
    json('GET', '/api/dashboard'),
    can.has('admin:Prometheus') ? json('GET', '/api/series?window_s=3600').catch((e) => e) : null,
  ]);
  return {dash, series};
}

function draw(body, {dash, series}) {
  const d = dash || {};
  const top = [];
  if (d.health) top.push(healthCard(d));
  if (d.capacity) top.push(capacityCard(d));
  if (d.traffic) top.push(trafficCard(d));
  mount(body,
    top.length ? h('div', {class: 'cards'}, top) : null,
    seriesCharts(series),
    d.usage ? bucketsCard(d) : null,
    d.plugins ? pluginsCard(d) : null,
    d.lifecycle || d.backups ? schedulesCard(d) : null,
    h('p', {class: 'muted small'}, `Updated ${fmtTime(d.now_ms || Date.now())}. `,
      h('a', {href: '#/audit'}, 'Audit trail →')));
}

export default async function render(root) {
  const mine = ++generation;
  const body = h('div', {class: 'dashboard', 'data-testid': 'dashboard'});
  const status = h('span', {class: 'muted small', 'aria-live': 'polite'});
  const refresh = async () => {
    try {
      draw(body, await load());
      status.textContent = '';
    } catch (e) {
      status.textContent = `Refresh failed: ${errorText(e)}`;
    }
  };
  mount(root,
    h('div', {class: 'page-head'}, h('h1', null, 'Dashboard'),
      h('div', {class: 'page-actions'}, status, button('Refresh', refresh, {testid: 'dash-refresh'}))),
    body);
  draw(body, await load());
  // Live: refresh every 15 s while this page is shown and the tab is visible, but not while
  // keyboard focus is inside the dashboard's body (redrawing it would drop the focus).
  const timer = setInterval(() => {
    if (mine !== generation || root.dataset.page !== 'dashboard' || !root.isConnected) {
      clearInterval(timer);
      return;
    }
    if (document.visibilityState === 'visible' && !body.contains(document.activeElement)) refresh();
  }, 15000);
}
