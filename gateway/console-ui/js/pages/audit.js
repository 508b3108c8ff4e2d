// Audit trail: the server's audit log (GET /api/admin/v1/audit), newest first, filtered by
// principal, bucket, operation and status, paged with "Older"; plus the built-in traffic charts.

import {h, mount, table, tableRow, button, field, errorText, alertBox, fmtTime, fmtNum, fmtBytes,
  card, badge} from '../dom.js';
import {admin, json, caps, enc} from '../api.js';
import {seriesCharts} from './dashboard.js';

const PAGE = 100;
const FILTERS = [
  {name: 'principal', label: 'Principal', placeholder: 'access key'},
  {name: 'bucket', label: 'Bucket', placeholder: 'bronze'},
  {name: 'operation', label: 'Operation', placeholder: 'PutObject'},
  {name: 'status', label: 'Status', placeholder: '403'},
];
const OPERATIONS = ['PutObject', 'GetObject', 'DeleteObject', 'DeleteObjects', 'CopyObject', 'CreateBucket', 'DeleteBucket',
  'CompleteMultipartUpload', 'PutBucketPolicy', 'PutBucketVersioning', 'PutObjectRetention', 'PutObjectLegalHold',
  'Login', 'LoginFailed', 'Logout'];

function qget(ctx, name) {
  const q = ctx && ctx.query;
  if (!q) return '';
  if (typeof q.get === 'function') return q.get(name) || '';
  return q[name] || '';
}

function statusBadge(s) {
  const n = Number(s);
  return badge(String(s ?? '—'), n >= 500 ? 'bad' : n >= 400 ? 'warn' : n >= 200 ? 'ok' : 'plain');
}

const COLUMNS = [
  {title: 'Time', cell: (e) => h('span', {class: 'nowrap', title: String(e.time)}, fmtTime(e.time))},
  {title: 'Principal', cell: (e) => h('span', {class: 'mono'}, e.principal || '—')},
  {title: 'Operation', cell: (e) => h('span', {class: 'mono'}, e.operation || '—')},
  {title: 'Bucket', cell: (e) => e.bucket ? h('span', {class: 'mono'}, e.bucket) : '—'},
  {title: 'Key', cell: (e) => e.key ? h('span', {class: 'mono audit-key', title: e.version_id ? `version ${e.version_id}` : ''}, e.key) : '—'},
  {title: 'Status', cell: (e) => statusBadge(e.status)},
  {title: 'Error', cell: (e) => e.error ? h('span', {class: 'error-text'}, typeof e.error === 'string' ? e.error : JSON.stringify(e.error)) : '—'},
  {title: 'API', cell: (e) => e.api || '—'},
  {title: 'Source', cell: (e) => h('span', {class: 'mono small'}, e.source || '—')},
  {title: 'In', class: 'num', cell: (e) => fmtBytes(e.bytes_received)},
  {title: 'Out', class: 'num', cell: (e) => fmtBytes(e.bytes_sent)},
  {title: 'ms', class: 'num', cell: (e) => e.duration_ms === undefined || e.duration_ms === null ? '—' : fmtNum(e.duration_ms)},
  {title: 'Request', cell: (e) => h('span', {class: 'mono small'}, e.request_id || '—')},
];

export default async function render(root, ctx) {
  const can = await caps();
  const limit = Math.min(1000, Math.max(1, Number(qget(ctx, 'limit')) || PAGE));
  const values = {};
  for (const f of FILTERS) values[f.name] = qget(ctx, f.name);
  const inputs = FILTERS.map((f) => {
    const inp = h('input', {type: 'search', name: f.name, value: values[f.name], placeholder: f.placeholder,
      class: 'mono', 'data-testid': `audit-${f.name}`, autocomplete: 'off', spellcheck: 'false',
      list: f.name === 'operation' ? 'audit-ops' : null, 'data-filter': f.name === 'principal' ? '' : null});
    return {f, inp};
  });
  const form = h('form', {class: 'filters', 'data-testid': 'audit-filters'},
    inputs.map(({f, inp}) => field(f.label, inp)),
    h('datalist', {id: 'audit-ops'}, OPERATIONS.map((o) => h('option', {value: o}))),
    h('div', {class: 'filter-buttons'},
      button('Apply', null, {kind: 'primary', type: 'submit', testid: 'audit-apply'}),
      button('Clear', () => { for (const {inp} of inputs) inp.value = ''; submit(); })));
  const out = h('div', {'data-testid': 'audit-result'});
  const more = h('div', {class: 'toolbar'});
  const info = h('p', {class: 'muted small', 'aria-live': 'polite'});
  let tbody = null;
  let count = 0;
  // Every first-page load starts a new table (seq + 1); a page's answer is shown only while its
  // table is the current one, so an answer that arrives after Apply or Clear is dropped.
  let seq = 0;

  /** The filter inputs as query parts, read once when a first page is asked for. */
  const currentFilters = () => inputs.filter(({inp}) => inp.value.trim())
    .map(({f, inp}) => `${f.name}=${enc(inp.value.trim())}`);

  const query = (cursor, filters) => {
    const q = [`limit=${limit}`];
    if (cursor !== null && cursor !== undefined) q.push(`cursor=${enc(cursor)}`);
    return `audit?${[...q, ...filters].join('&')}`;
  };

  /** "Older" goes on with the filters and the table (`gen`) of the page it follows. */
  const showMore = (next, filters, gen) => {
    mount(more, next !== null && next !== undefined
      ? button('Older', async (ev) => {
        ev.target.disabled = true;
        try {
          await load(next, filters, gen);
        } catch (e) {
          if (gen === seq) mount(more, alertBox(e));
        }
      }, {testid: 'audit-older'})
      : h('span', {class: 'muted small', 'data-testid': 'audit-end'}, count ? 'End of the audit trail.' : ''));
  };

  /** Loads a first page (cursor null: a new table) or the next one of table `gen`; false if stale. */
  const load = async (cursor, filters, gen) => {
    const first = cursor === null || cursor === undefined;
    const mine = first ? ++seq : gen;
    if (mine !== seq) return false;
    let r;
    try {
      r = await admin('GET', query(cursor, filters));
    } catch (e) {
      if (mine !== seq) return false;
      throw e;
    }
    if (mine !== seq) return false;
    const entries = r.entries || [];
    if (first) {
      count = 0;
      const t = table(COLUMNS, entries, {empty: 'No audit entries match.', testid: 'audit-table'});
      tbody = t.querySelector('tbody');
      mount(out, h('div', {class: 'table-wrap'}, t));
    } else {
      for (const e of entries) tbody.appendChild(tableRow(COLUMNS, e));
    }
    count += entries.length;
    info.textContent = `${fmtNum(count)} entries shown, newest first.`;
    showMore(r.next, filters, mine);
    return true;
  };

  const submit = async () => {
    const params = [...inputs.filter(({inp}) => inp.value.trim())
      .map(({f, inp}) => `${f.name}=${encodeURIComponent(inp.value.trim())}`),
    ...(limit !== PAGE ? [`limit=${limit}`] : [])].join('&');
    history.replaceState(null, '', `#/audit${params ? `?${params}` : ''}`);
    mount(out, h('p', {class: 'muted'}, 'Loading…'));
    mount(more);
    try {
      if (await load(null, currentFilters())) out.dataset.loaded = String(Date.now());
    } catch (e) {
      mount(out, explain(e));
      mount(more);
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });

  let series = null;
  if (can.has('admin:Prometheus')) series = await json('GET', '/api/series?window_s=3600').catch((e) => e);

  mount(root,
    h('div', {class: 'page-head'}, h('h1', null, 'Audit trail')),
    form, info, out, more,
    series ? h('section', {class: 'audit-traffic'}, h('h2', null, 'Traffic (built-in, last hour)'), seriesCharts(series)) : null);

  try {
    await load(null, currentFilters());
  } catch (e) {
    mount(out, explain(e));
    mount(more);
  }
}

function explain(e) {
  if (e.status === 404) {
    return card('No audit trail',
      h('p', {'data-testid': 'audit-unavailable'}, 'This server keeps no audit log. Start it with ',
        h('code', null, '--audit-log <file>'),
        ' to record one JSON line per change (S3 writes, admin changes, console logins), then this page lists them.'));
  }
  if (e.status === 403) return alertBox(`You may not read the audit trail: ${errorText(e)}`);
  return alertBox(e);
}
