// Policies: bindings per bucket (plugin, serving hash, state, counters, last error), their
// TOML, uploads of bindings and plugins, lifecycle dry runs (today / on a date, with a diff),
// scans on demand, and the snapshot suites.

import {h, mount, table, button, field, dialog, confirm, toast, errorText, alertBox, fmtTime,
  fmtAgo, fmtNum, card, badge, kv, select} from '../dom.js';
import {admin, caps, enc} from '../api.js';

const BAD = new Set(['failed', 'quarantined']);

function stateBadge(s) {
  const kind = {active: 'ok', failed: 'bad', quarantined: 'bad', overridden: 'plain'}[s.state] || 'warn';
  return badge(s.state || 'unknown', kind);
}

function isBad(s) {
  return BAD.has(s.state) || (s.rejected > 0 && s.state === 'quarantined');
}

/** The binding's name for the bindings/{name}.toml routes. */
function fileName(s) {
  return String(s.file || '').replace(/^default:/, '');
}

// ------------------------------------------------------------------ TOML (for the editor)

function tomlKey(k) {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

function tomlValue(v) {
  if (v === null || v === undefined) return '""';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  return `{ ${Object.entries(v).filter(([, x]) => x !== null && x !== undefined)
    .map(([k, x]) => `${tomlKey(k)} = ${tomlValue(x)}`).join(', ')} }`;
}

const isTable = (v) => v && typeof v === 'object' && !Array.isArray(v);
const isTableArray = (v) => Array.isArray(v) && v.length > 0 && v.every(isTable);

function tomlTable(path, obj, out) {
  const scalars = Object.entries(obj).filter(([, v]) => v !== null && v !== undefined && !isTable(v) && !isTableArray(v));
  const tables = Object.entries(obj).filter(([, v]) => isTable(v));
  const arrays = Object.entries(obj).filter(([, v]) => isTableArray(v));
  if (path && (scalars.length || (!tables.length && !arrays.length))) out.push('', `[${path}]`);
  for (const [k, v] of scalars) out.push(`${tomlKey(k)} = ${tomlValue(v)}`);
  for (const [k, v] of tables) tomlTable(path ? `${path}.${tomlKey(k)}` : tomlKey(k), v, out);
  for (const [k, arr] of arrays) {
    for (const item of arr) {
      out.push('', `[[${path ? `${path}.${tomlKey(k)}` : tomlKey(k)}]]`);
      // A rule's id first (the server's JSON has its keys sorted).
      const entries = Object.entries(item).sort(([a], [b]) => Number(b === 'id') - Number(a === 'id'));
      for (const [ik, iv] of entries) {
        if (iv !== null && iv !== undefined) out.push(`${tomlKey(ik)} = ${tomlValue(iv)}`);
      }
    }
  }
}

/** A binding file from its status (and, for backups, the host's settings). */
export function bindingToml(s, backupSettings) {
  const out = [`# ${s.file} (regenerated from the serving configuration; comments are not kept)`,
    `bucket = ${tomlValue(s.bucket || '')}`, `kind = ${tomlValue(s.kind || '')}`, `plugin = ${tomlValue(s.plugin || '')}`];
  if (backupSettings && isTable(backupSettings)) tomlTable('backup', backupSettings, out);
  if (s.config && isTable(s.config) && Object.keys(s.config).length) tomlTable('config', s.config, out);
  return out.join('\n') + '\n';
}

const NEW_BINDING = {
  lifecycle: (b) => `bucket = "${b}"\nkind = "lifecycle"\nplugin = "builtin:lifecycle"\n\n[[config.rules]]\nid = "expire-after-90-days"\nexpiration = { days = 90 }\n\n[[config.rules]]\nid = "noncurrent-grace"\nnoncurrent_version_expiration = { noncurrent_days = 7 }\n`,
  retention: (b) => `bucket = "${b}"\nkind = "retention"\nplugin = "builtin:retention"\n\n[config]\ndefault = { mode = "GOVERNANCE", days = 90 }\n`,
  backup: (b) => `bucket = "${b}"\nkind = "backup"\nplugin = "builtin:backup"\n\n[backup]\nschedule = "0 0 2 * * *"\ngenerations = 7\nevents = false\n\n[config]\nprefix = ""\npropagate_deletes = true\npath_prefix = ""\n`,
};

// ------------------------------------------------------------------ bindings

function bindingResult(st) {
  if (!st) return '';
  const err = st.error || st.last_call_error;
  return `${st.file}: ${st.state}${err ? ` — ${err}` : ''}`;
}

async function editBinding(s, can, reload) {
  const name = s ? fileName(s) : '';
  let text = '';
  if (s) {
    let settings = null;
    if (s.kind === 'backup' && s.bucket) {
      try {
        const b = await admin('GET', `backup/${enc(s.bucket)}`);
        settings = b.binding && b.binding.settings;
      } catch { /* no settings shown */ }
    }
    try {
      const fresh = await admin('GET', `bindings/${enc(name)}`);
      // The file as written when the server has it; else rebuilt from the serving configuration.
      text = typeof fresh.source === 'string' ? fresh.source : bindingToml(fresh, settings);
    } catch {
      text = bindingToml(s, settings);
    }
  }
  const nameInput = h('input', {type: 'text', class: 'mono', value: name, 'data-testid': 'binding-name',
    placeholder: 'bronze-lifecycle.toml', spellcheck: 'false', autocomplete: 'off'});
  const area = h('textarea', {class: 'code-editor mono', rows: 22, spellcheck: 'false', 'data-testid': 'binding-toml',
    'aria-label': 'Binding file (TOML)'});
  area.value = text;
  const kindSel = select([['', 'Start from…'], ['lifecycle', 'lifecycle'], ['retention', 'retention'], ['backup', 'backup']], '',
    {'aria-label': 'Binding template'});
  const bucketInput = h('input', {type: 'text', class: 'mono', placeholder: 'bucket', 'aria-label': 'Bucket for the template'});
  const fillTemplate = () => {
    const b = bucketInput.value.trim() || 'bronze';
    if (NEW_BINDING[kindSel.value]) {
      area.value = NEW_BINDING[kindSel.value](b);
      if (!nameInput.value.trim()) nameInput.value = `${b}-${kindSel.value}.toml`;
    }
  };
  kindSel.addEventListener('change', fillTemplate);
  const body = h('div', {class: 'form'},
    s && String(s.file).startsWith('default:')
      ? alertBox(`${s.file} is built into the binary. Saving writes ${name} into the policies directory, which overrides the default until that file is removed.`, 'info') : null,
    field('File name', nameInput, '[A-Za-z0-9._-]+ ending in .toml'),
    s ? null : h('div', {class: 'form-row'}, field('Template', kindSel), field('Bucket', bucketInput)),
    field('Binding (TOML)', area));
  const readOnly = !can.has('lakegate:PutPolicyBinding');
  const v = await dialog({title: s ? `Binding ${s.file}` : 'New binding', wide: true, body, actions: readOnly
    ? [{text: 'Close', value: null}]
    : [{text: 'Cancel', value: null}, {text: 'Save and load', kind: 'primary', value: 'save'}],
  onAction: async () => {
    const n = nameInput.value.trim();
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*\.toml$/.test(n)) throw new Error('The file name must be [A-Za-z0-9._-]+ ending in .toml.');
    try {
      const st = await admin('PUT', `bindings/${enc(n)}`, area.value);
      toast(`Loaded: ${bindingResult(st)}`, 'ok');
    } catch (e) {
      if (e.status === 422 && e.body) throw new Error(`Written but not loaded: ${bindingResult(e.body)}`);
      throw e;
    }
  }}).promise;
  if (v === 'save') reload();
}

async function uploadDialog(kind, reload) {
  const file = h('input', {type: 'file', accept: kind === 'plugin' ? '.wasm,application/wasm' : '.toml,text/plain',
    'data-testid': `upload-${kind}-file`});
  const nameInput = h('input', {type: 'text', class: 'mono', 'data-testid': `upload-${kind}-name`, spellcheck: 'false', autocomplete: 'off',
    placeholder: kind === 'plugin' ? 'my-policy.wasm' : 'bronze-lifecycle.toml'});
  file.addEventListener('change', () => {
    const f = file.files && file.files[0];
    if (f && !nameInput.value) nameInput.value = f.name;
  });
  const result = h('div', {'aria-live': 'polite'});
  const body = h('div', {class: 'form'},
    kind === 'plugin'
      ? h('p', {class: 'muted'}, 'A WebAssembly component implementing a lakegate:policy world (at most 64 MiB). Bindings that use it are reloaded.')
      : h('p', {class: 'muted'}, 'A binding file: bucket, kind, plugin and [config]. It is checked, written atomically and loaded.'),
    field('File', file), field('Name', nameInput), result);
  const v = await dialog({title: kind === 'plugin' ? 'Upload a plugin' : 'Upload a binding', body, actions: [
    {text: 'Cancel', value: null}, {text: 'Upload', kind: 'primary', value: 'up'}],
  onAction: async () => {
    const f = file.files && file.files[0];
    if (!f) throw new Error('Choose a file.');
    const n = nameInput.value.trim();
    const ext = kind === 'plugin' ? '.wasm' : '.toml';
    if (!n.endsWith(ext)) throw new Error(`The name must end in ${ext}.`);
    if (kind === 'plugin') {
      const r = await admin('PUT', `plugins/${enc(n)}`, await f.arrayBuffer());
      toast(`Plugin ${r.plugin} (${String(r.hash || '').slice(0, 12)}) loaded; worlds: ${(r.worlds || []).join(', ') || '—'}; ` +
        `${(r.bindings || []).length} binding(s) reloaded`, 'ok');
    } else {
      try {
        const st = await admin('PUT', `bindings/${enc(n)}`, await f.text());
        toast(`Loaded: ${bindingResult(st)}`, 'ok');
      } catch (e) {
        if (e.status === 422 && e.body) throw new Error(`Written but not loaded: ${bindingResult(e.body)}`);
        throw e;
      }
    }
  }}).promise;
  if (v === 'up') reload();
}

const noDir = 'The server has no policies directory (start it with --policies DIR): bindings and plugins cannot be uploaded.';

function bindingsCard(data, can, reload, onDryRun) {
  const overridden = (data.bindings || []).filter((s) => s.state === 'overridden');
  const showAll = h('input', {type: 'checkbox', 'data-testid': 'bindings-show-overridden'});
  const rows = (data.bindings || []).slice().sort((a, b) =>
    Number(isBad(b)) - Number(isBad(a)) || String(a.bucket).localeCompare(String(b.bucket)) ||
    String(a.kind).localeCompare(String(b.kind)) || String(a.file).localeCompare(String(b.file)));
  const bad = rows.filter(isBad);
  const lastError = (s) => {
    const e = s.error || s.last_call_error;
    return e ? h('span', {class: 'error-text'}, e) : '—';
  };
  const c = card('Bindings',
    h('p', {class: 'muted'}, data.dir ? ['Policies directory: ', h('code', null, data.dir)]
      : 'No policies directory: the built-in default bindings serve; uploads are refused.'),
    bad.length ? h('div', {class: 'alert alert-error', role: 'alert', 'data-testid': 'bindings-alert'},
      `${bad.length} binding${bad.length > 1 ? 's' : ''} failing or quarantined: ${bad.map((s) => s.file).join(', ')}`) : null,
    h('div', {class: 'toolbar'},
      can.has('lakegate:PutPolicyBinding') ? button('New binding…', () => editBinding(null, can, reload),
        {testid: 'binding-new', disabled: !data.dir, title: data.dir ? null : noDir}) : null,
      can.has('lakegate:PutPolicyBinding') ? button('Upload binding…', () => uploadDialog('binding', reload),
        {testid: 'binding-upload', disabled: !data.dir, title: data.dir ? null : noDir}) : null,
      can.has('lakegate:PutPlugin') ? button('Upload plugin (.wasm)…', () => uploadDialog('plugin', reload),
        {testid: 'plugin-upload', disabled: !data.dir, title: data.dir ? null : noDir}) : null),
    h('div', {class: 'table-wrap'}, table([
      {title: 'Binding (bucket · kind)', cell: (s) => h('span', null,
        h('span', {class: 'mono-wrap'}, s.file), h('br'),
        h('small', null, h('span', {class: 'mono'}, s.bucket || '—'), h('span', {class: 'muted'}, ` · ${s.kind || '—'}`)),
        s.overridden_by ? h('small', {class: 'muted'}, ` (overridden by ${s.overridden_by})`) : null)},
      {title: 'Plugin', cell: (s) => h('span', null, h('span', {class: 'mono', title: s.plugin_path || ''}, s.plugin || '—'), h('br'),
        s.plugin_hash ? h('small', {class: 'mono muted', title: `serving SHA-256 ${s.plugin_hash}`}, String(s.plugin_hash).slice(0, 12))
          : h('small', {class: 'muted'}, s.serving ? '—' : 'not serving'))},
      {title: 'State', cell: (s) => h('span', null, stateBadge(s),
        s.loaded_at ? [h('br'), h('small', {class: 'muted nowrap', title: `loaded ${fmtTime(s.loaded_at)}`}, `loaded ${fmtAgo(s.loaded_at)}`)] : null)},
      {title: 'Calls/fail/rej', class: 'num', cell: (s) => h('span', null, `${fmtNum(s.calls)} / `,
        h('span', {class: s.failures ? 'text-bad' : null}, fmtNum(s.failures)), ` / ${fmtNum(s.rejected)}`,
        s.mean_call_micros === null || s.mean_call_micros === undefined ? null : h('br'),
        s.mean_call_micros === null || s.mean_call_micros === undefined ? null : h('small', {class: 'muted'}, `mean ${Number(s.mean_call_micros).toFixed(0)} µs`))},
      {title: 'Last error', cell: lastError},
      {title: 'Actions', cell: (s) => h('div', {class: 'row-actions nowrap'},
        button(can.has('lakegate:PutPolicyBinding') ? 'Edit…' : 'View…', () => editBinding(s, can, reload), {testid: `binding-edit-${s.file}`}),
        s.kind === 'lifecycle' && s.bucket && s.state !== 'overridden' ? button('Dry run', () => onDryRun(s.bucket), {testid: `binding-dryrun-${s.bucket}`}) : null,
        can.has('lakegate:PutPolicyBinding') && !String(s.file).startsWith('default:') ? button('Delete', async () => {
          if (!await confirm('Delete binding', `Delete ${s.file}? ${s.bucket || 'The bucket'} is unbound (a default binding serves again, if there is one).`, 'Delete', 'danger')) return;
          try {
            await admin('DELETE', `bindings/${enc(fileName(s))}`);
            toast(`${s.file} deleted`, 'ok');
            reload();
          } catch (e) { toast(errorText(e), 'error'); }
        }, {kind: 'danger'}) : null)},
    ], rows, {empty: 'No bindings', testid: 'bindings-table', class: 'names-nowrap', rowAttrs: (s) => ({
      class: isBad(s) ? 'row-bad' : s.state === 'overridden' ? 'row-overridden' : null, 'data-binding': s.file})})),
    overridden.length ? h('label', {class: 'check'}, showAll,
      h('span', null, `Show the ${overridden.length} built-in default binding${overridden.length > 1 ? 's' : ''} that files in the policies directory override`)) : null);
  const t = c.querySelector('table');
  const sync = () => t.classList.toggle('hide-overridden', !showAll.checked);
  showAll.addEventListener('change', sync);
  sync();
  return c;
}

// ------------------------------------------------------------------ lifecycle

const actionKey = (a) => `${a.key}\u0000${a.id}\u0000${a.action}`;

/** Actions in `next` and not in `base` (added) and the reverse (removed). */
export function diffActions(base, next) {
  const b = new Map(base.map((a) => [actionKey(a), a]));
  const n = new Map(next.map((a) => [actionKey(a), a]));
  const added = next.filter((a) => !b.has(actionKey(a)));
  const removed = base.filter((a) => !n.has(actionKey(a)));
  return {added, removed, same: next.length - added.length};
}

function reportSummary(r) {
  return kv([
    ['Policy', r.policy ? h('span', {class: 'mono'}, r.policy) : '—'],
    ['Decided at', `${fmtTime(r.now_ms)}${r.dry_run ? ' (dry run)' : ''}`],
    ['Scanned', `${fmtNum(r.versions_scanned)} versions, ${fmtNum(r.uploads_scanned)} uploads`],
    ['Would do / did', `expire ${fmtNum(r.expired)}, delete noncurrent ${fmtNum(r.noncurrent_deleted)}, remove delete markers ${fmtNum(r.delete_markers_removed)}, abort uploads ${fmtNum(r.uploads_aborted)}`],
    ['Kept', fmtNum(r.kept)],
    ['Locked / stale / refused', `${fmtNum(r.locked)} / ${fmtNum(r.stale)} / ${fmtNum(r.refused)}`],
    ['Plugin', `${fmtNum(r.plugin_calls)} calls, ${fmtNum(r.plugin_failures)} failures`],
    ['Took', r.elapsed_ms !== undefined ? `${fmtNum(r.elapsed_ms)} ms` : '—'],
    r.errors && r.errors.length ? ['Errors', h('ul', {class: 'errors'}, r.errors.map((e) => h('li', {class: 'error-text'}, e)))] : null,
  ]);
}

function actionsTable(actions, testid, marks) {
  const cols = [];
  if (marks) cols.push({title: 'Change', cell: (a) => badge(marks.get(a) || '', marks.get(a) === 'added' ? 'ok' : 'bad')});
  cols.push(
    {title: 'Key', cell: (a) => h('span', {class: 'mono'}, a.key)},
    {title: 'Version / upload', cell: (a) => h('span', {class: 'mono small'}, a.id || '—')},
    {title: 'Action', cell: (a) => badge(a.action, a.action === 'expire-noncurrent' || a.action === 'expire' ? 'warn' : 'plain')},
    {title: 'Outcome', cell: (a) => a.outcome || '—'});
  return h('div', {class: 'table-wrap'}, table(cols, actions, {empty: 'No actions: everything is kept.', testid,
    rowAttrs: marks ? (a) => ({class: marks.get(a) === 'added' ? 'row-added' : 'row-removed', 'data-change': marks.get(a)}) : null}));
}

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

function lifecycleCard(data, can) {
  const lcBuckets = [...new Set((data.bindings || []).filter((s) => s.kind === 'lifecycle' && s.bucket && s.state !== 'overridden')
    .map((s) => s.bucket))].sort();
  const bucketInput = h('input', {type: 'text', class: 'mono', list: 'lc-buckets', value: lcBuckets[0] || '', spellcheck: 'false',
    autocomplete: 'off', 'data-testid': 'lc-bucket', 'aria-label': 'Bucket'});
  const datalist = h('datalist', {id: 'lc-buckets'}, lcBuckets.map((b) => h('option', {value: b})));
  const later = new Date(Date.now() + 30 * 86400000);
  const dateInput = h('input', {type: 'date', value: isoDay(later), 'data-testid': 'lc-date', 'aria-label': 'Date'});
  const status = h('div', {'data-testid': 'lc-status'});
  const out = h('div', {'data-testid': 'lc-result', 'aria-live': 'polite'});
  const busy = (on) => { for (const b of btns) b.disabled = on || b.dataset.never === '1'; };

  const showStatus = async () => {
    const b = bucketInput.value.trim();
    if (!b) { mount(status); return; }
    if (!can.has('lakegate:GetLifecycleStatus')) { mount(status); return; }
    try {
      const st = await admin('GET', `lifecycle/${enc(b)}`);
      mount(status, h('div', {class: 'lc-status'},
        st.running ? h('p', null, badge('scan running', 'warn'), ` since ${fmtTime(st.running.started_ms)}`) : null,
        st.last ? [h('h3', null, `Last scan: ${fmtTime(st.last.finished_ms || st.last.started_ms)} (${fmtAgo(st.last.finished_ms || st.last.started_ms)})`),
          reportSummary(st.last)]
          : h('p', {class: 'muted'}, `No scan of ${b} has finished since the server started.`)));
    } catch (e) {
      mount(status, alertBox(e));
    }
  };

  const dry = (at) => admin('POST', `lifecycle/${enc(bucketInput.value.trim())}/run?dry_run=true${at ? `&at=${enc(at)}` : ''}`);
  const guard = (fn) => async () => {
    if (!bucketInput.value.trim()) { mount(out, alertBox('Pick a bucket.')); return; }
    busy(true);
    mount(out, h('p', {class: 'muted'}, 'Working…'));
    try { await fn(); } catch (e) { mount(out, alertBox(e)); } finally { busy(false); }
  };
  const today = guard(async () => {
    const r = await dry(null);
    mount(out, h('div', {'data-testid': 'lc-today'},
      h('h3', null, `What lifecycle would do in ${r.bucket} today`), reportSummary(r),
      r.actions_truncated ? alertBox('Only the first 10,000 actions are listed.', 'warn') : null,
      actionsTable(r.actions || [], 'lc-actions')));
  });
  const onDate = guard(async () => {
    if (!dateInput.value) throw new Error('Pick a date.');
    const at = `${dateInput.value}T00:00:00Z`;
    const [now, then] = await Promise.all([dry(null), dry(at)]);
    const d = diffActions(now.actions || [], then.actions || []);
    const marks = new Map([...d.added.map((a) => [a, 'added']), ...d.removed.map((a) => [a, 'removed'])]);
    mount(out, h('div', {'data-testid': 'lc-date-result'},
      h('h3', null, `What lifecycle would do in ${then.bucket} on ${dateInput.value}`), reportSummary(then),
      then.actions_truncated ? alertBox('Only the first 10,000 actions are listed.', 'warn') : null,
      actionsTable(then.actions || [], 'lc-actions'),
      h('h3', null, `Difference against today: ${d.added.length} added, ${d.removed.length} removed, ${d.same} unchanged`),
      d.added.length || d.removed.length ? actionsTable([...d.added, ...d.removed], 'lc-diff', marks)
        : h('p', {class: 'muted', 'data-testid': 'lc-diff-empty'}, 'The same actions as today.')));
  });
  const runNow = guard(async () => {
    const b = bucketInput.value.trim();
    if (!await confirm('Run a lifecycle scan', `Scan ${b} now and apply its lifecycle policy? Expired data is deleted.`, 'Run scan', 'danger')) {
      mount(out);
      return;
    }
    const r = await admin('POST', `lifecycle/${enc(b)}/run`);
    toast(`Scan of ${b} finished: ${r.expired} expired, ${r.noncurrent_deleted} noncurrent deleted`, 'ok');
    mount(out, h('div', {'data-testid': 'lc-run'}, h('h3', null, `Scan of ${b} finished`), reportSummary(r),
      actionsTable(r.actions || [], 'lc-actions')));
    showStatus();
  });
  const mayRun = can.has('lakegate:RunLifecycle');
  const btns = [
    button('What would lifecycle do today', today, {kind: 'primary', testid: 'lc-dry-today', disabled: !mayRun}),
    button('…on this date', onDate, {testid: 'lc-dry-date', disabled: !mayRun}),
    button('Run scan now', runNow, {kind: 'danger', testid: 'lc-run-now', disabled: !mayRun}),
  ];
  if (!mayRun) for (const b of btns) b.dataset.never = '1';
  bucketInput.addEventListener('change', showStatus);
  showStatus();
  const c = card('Lifecycle',
    h('p', {class: 'muted'}, 'A dry run asks the bucket\'s lifecycle policy what it would do (nothing changes). "On this date" also shows the difference against today.'),
    h('div', {class: 'form-row'}, field('Bucket', bucketInput), datalist, field('Date', dateInput)),
    h('div', {class: 'toolbar'}, btns),
    !mayRun ? alertBox('Your key may not run lifecycle scans.', 'warn') : null,
    status, out);
  c.id = 'lifecycle';
  c.selectBucket = (b) => {
    bucketInput.value = b;
    showStatus();
    c.scrollIntoView({block: 'start'});
    bucketInput.focus();
  };
  return c;
}

// ------------------------------------------------------------------ suites

/** A unified diff (or any text) with added/removed lines marked. */
function diffView(text) {
  return h('pre', {class: 'code small diff'}, String(text).split('\n').map((line) => {
    const cls = /^(\+\+\+|---)/.test(line) ? 'diff-file' : line.startsWith('+') ? 'diff-add'
      : line.startsWith('-') ? 'diff-del' : line.startsWith('@@') ? 'diff-hunk' : null;
    return h('span', {class: cls}, line + '\n');
  }));
}

function suitesCard(can, data) {
  if (!data.dir) {
    return card('Snapshot suites', h('p', {class: 'muted', 'data-testid': 'suites-unavailable'},
      'Not available: the server has no policies directory (start it with --policies DIR, where the *.suite.toml files live).'));
  }
  const out = h('div', {'data-testid': 'suites-result', 'aria-live': 'polite'});
  const run = async () => {
    btn.disabled = true;
    mount(out, h('p', {class: 'muted'}, 'Running the snapshot suites…'));
    try {
      const r = await admin('GET', 'policies/suites');
      const suites = r.suites || [];
      const failed = suites.filter((s) => s.outcome !== 'pass');
      mount(out,
        h('p', null, failed.length ? badge(`${failed.length} of ${suites.length} failing`, 'bad') : badge(`all ${suites.length} pass`, 'ok')),
        h('div', {class: 'table-wrap'}, table([
          {title: 'Suite', cell: (s) => h('span', {class: 'mono nowrap'}, s.suite)},
          {title: 'Outcome', cell: (s) => badge(s.outcome, s.outcome === 'pass' ? 'ok' : 'bad')},
          {title: 'Detail', cell: (s) => s.detail ? diffView(s.detail) : '—'},
        ], suites, {empty: 'No suites in the policies directory', testid: 'suites-table',
          rowAttrs: (s) => ({class: s.outcome !== 'pass' ? 'row-bad' : null})})));
    } catch (e) {
      if (e.status === 404) mount(out, h('p', {class: 'muted', 'data-testid': 'suites-unavailable'}, 'Snapshot suites are not available on this server.'));
      else if (/No such file or directory/.test(e.message || '')) {
        mount(out, h('p', {class: 'muted', 'data-testid': 'suites-unavailable'},
          `Snapshot suites are not available: the policies directory ${data.dir} does not exist (${errorText(e)}).`));
      }
      else mount(out, alertBox(e));
    } finally {
      btn.disabled = false;
    }
  };
  const btn = button('Run snapshot suites', run, {testid: 'suites-run'});
  return card('Snapshot suites',
    h('p', {class: 'muted'}, 'Each suite replays recorded inputs through its binding and compares the decisions with the blessed snapshot (lakegate policy test).'),
    can.has('lakegate:RunPolicySuites') ? btn : alertBox('Your key may not run the suites.', 'warn'), out);
}

// ------------------------------------------------------------------ page

export default async function render(root, ctx) {
  const can = await caps();
  let data;
  try {
    data = await admin('GET', 'policies');
  } catch (e) {
    if (e.status === 404) {
      mount(root, h('h1', null, 'Policies'), alertBox('Policies are disabled on this server (--no-default-bindings and no policies directory).', 'info'));
      return;
    }
    if (e.status === 403) {
      mount(root, h('h1', null, 'Policies'), alertBox(`You may not list the policy bindings: ${errorText(e)}`));
      return;
    }
    throw e;
  }
  const reload = () => render(root, ctx);
  const lc = lifecycleCard(data, can);
  mount(root,
    h('div', {class: 'page-head'}, h('h1', null, 'Policies'),
      h('div', {class: 'page-actions'}, button('Reload', reload))),
    bindingsCard(data, can, reload, (b) => lc.selectBucket(b)),
    lc,
    suitesCard(can, data));
}
