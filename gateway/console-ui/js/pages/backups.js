// Backups: per bucket the target, binding, last and next run, generations timeline and
// failures; "Run now" and restores (bucket or prefix, at a generation, into a bucket) as jobs
// whose progress is polled from jobs/{id}.

import {h, mount, table, button, field, dialog, toast, errorText, alertBox, fmtTime, fmtAgo,
  fmtNum, fmtBytes, card, badge, kv, select} from '../dom.js';
import {admin, caps, enc} from '../api.js';
import {meter} from '../chart.js';

let generation = 0;

function outcomeBadge(o) {
  if (!o) return badge('—', 'plain');
  const kind = o === 'ok' || o === 'succeeded' ? 'ok' : o === 'partial' || o === 'running' || o === 'queued' ? 'warn' : 'bad';
  return badge(o, kind);
}

function when(ms) {
  if (ms === null || ms === undefined) return '—';
  return h('span', {title: fmtTime(ms)}, `${fmtTime(ms)} (${fmtAgo(ms)})`);
}

function progressView(job) {
  const p = job.progress || {};
  const total = Number(p.objects_total) || 0;
  const done = Number(p.objects_done) || 0;
  const btotal = Number(p.bytes_total) || 0;
  const bdone = Number(p.bytes_done) || 0;
  const finished = job.state === 'succeeded' || job.state === 'failed';
  const m = meter(finished && job.state === 'succeeded' ? 1 : (btotal ? bdone : done),
    finished && job.state === 'succeeded' ? 1 : (btotal || total || 1), {label: `${job.kind} progress`, progress: true});
  return h('div', {class: 'job', 'data-testid': `job-${job.id}`, 'data-state': job.state},
    h('p', null, `${job.kind === 'restore' ? 'Restore' : 'Backup'} job #${job.id} (${job.trigger || 'manual'}): `,
      h('span', {'data-testid': `job-state-${job.bucket}`, class: 'job-state'}, outcomeBadge(job.state)),
      p.phase ? h('span', {class: 'muted'}, ` ${p.phase}`) : null),
    m,
    h('p', {class: 'muted small'}, `${fmtNum(done)} / ${fmtNum(total)} objects, ${fmtBytes(bdone)} / ${fmtBytes(btotal)}`),
    job.report && typeof job.report === 'object' ? reportView(job.report) : null);
}

function reportView(r) {
  if (!r) return null;
  const msgs = r.error_messages || (r.error ? [r.error] : []);
  const isRestore = r.to !== undefined;
  return h('div', {class: 'report'},
    kv([
      ['Outcome', outcomeBadge(r.outcome)],
      ['Generation', r.generation !== undefined ? `#${r.generation}${r.new_generation === false ? ' (nothing changed)' : ''}` : '—'],
      isRestore ? ['Into', h('span', {class: 'mono'}, r.to)] : null,
      isRestore ? ['Restored', `${fmtNum(r.restored)} restored, ${fmtNum(r.unchanged)} unchanged, ${fmtNum(r.deleted)} deleted (${fmtBytes(r.bytes)})`]
        : ['Copied', `${fmtNum(r.copied)} copied (${fmtBytes(r.bytes_copied)}), ${fmtNum(r.skipped_unchanged)} unchanged, ${fmtNum(r.deleted)} deleted`],
      r.started ? ['When', `${fmtTime(r.started)} → ${fmtTime(r.finished)}`] : null,
      ['Errors', r.errors ? h('span', {class: 'text-bad'}, fmtNum(r.errors)) : '0'],
    ]),
    msgs.length ? h('ul', {class: 'errors'}, msgs.map((m) => h('li', {class: 'error-text'}, m))) : null);
}

/** Polls jobs/{id} until it ends, drawing its progress into `box`. Returns the final job. */
export async function watchJob(job, box) {
  let j = job;
  mount(box, progressView(j));
  while (j.state !== 'succeeded' && j.state !== 'failed') {
    await new Promise((r) => setTimeout(r, 400));
    try {
      j = await admin('GET', `jobs/${enc(j.id)}`);
    } catch (e) {
      mount(box, alertBox(`Lost track of job #${j.id}: ${errorText(e)}`));
      throw e;
    }
    if (!box.isConnected) return j;
    mount(box, progressView(j));
  }
  return j;
}

function timeline(gens, onPick) {
  if (!gens || gens.length === 0) return h('p', {class: 'muted'}, 'No generations in the target yet.');
  const sorted = gens.slice().sort((a, b) => a.generation - b.generation);
  const maxBytes = Math.max(1, ...sorted.map((g) => Number(g.bytes) || 0));
  return h('ol', {class: 'timeline', 'aria-label': 'Generations'}, sorted.map((g) => {
    const bar = h('span', {class: 'tl-bar'});
    bar.style.height = `${Math.max(8, ((Number(g.bytes) || 0) / maxBytes) * 40).toFixed(0)}px`;
    const b = h('button', {type: 'button', class: ['tl-gen', g.error ? 'tl-bad' : null], 'data-generation': g.generation,
      title: g.error ? g.error : `generation ${g.generation}: ${g.kind || ''} ${fmtTime(g.finished)} — ${fmtNum(g.entries)} objects, ${fmtBytes(g.bytes)}`},
    bar, h('span', {class: 'tl-num'}, `#${g.generation}`),
    h('span', {class: 'tl-time'}, g.error ? 'unreadable' : fmtTime(g.finished || g.started)),
    h('span', {class: 'tl-meta'}, g.error ? g.error : `${fmtNum(g.entries)} obj · ${fmtBytes(g.bytes)}`));
    b.addEventListener('click', () => onPick(g));
    return h('li', null, b);
  }));
}

async function restoreDialog(st, pickedGen, can, onJob) {
  const gens = (st.generations || []).filter((g) => !g.error).sort((a, b) => b.generation - a.generation);
  if (!gens.length) {
    toast(`${st.bucket} has no generation to restore from.`, 'error');
    return;
  }
  const genSel = select(gens.map((g) => [String(g.generation), `#${g.generation} — ${fmtTime(g.finished || g.started)} (${fmtNum(g.entries)} objects, ${fmtBytes(g.bytes)})`]),
    String(pickedGen || gens[0].generation), {'data-testid': 'restore-generation', 'aria-label': 'Generation'});
  const to = h('input', {type: 'text', class: 'mono', value: st.bucket, 'data-testid': 'restore-to', spellcheck: 'false', autocomplete: 'off'});
  const prefix = h('input', {type: 'text', class: 'mono', placeholder: 'e.g. tables/orders/ (empty: the whole bucket)',
    'data-testid': 'restore-prefix', spellcheck: 'false', autocomplete: 'off'});
  const warn = h('p', {class: 'alert alert-warn'});
  const upd = () => {
    const p = prefix.value.trim();
    warn.textContent = `The current objects ${p ? `under ${p} ` : ''}in ${to.value.trim() || '?'} become those of the generation: ` +
      'changed ones are overwritten and keys not in the backup are deleted (a delete marker in a versioned bucket). ' +
      'The destination bucket is created if needed.';
  };
  to.addEventListener('input', upd);
  prefix.addEventListener('input', upd);
  upd();
  const body = h('div', {class: 'form'}, field('Generation', genSel), field('Restore into bucket', to),
    field('Only keys under prefix (optional)', prefix), warn);
  let job = null;
  const v = await dialog({title: `Restore ${st.bucket}`, body, actions: [
    {text: 'Cancel', value: null}, {text: 'Restore', kind: 'danger', value: 'restore'}],
  onAction: async () => {
    const q = [`at=${enc(genSel.value)}`, `to=${enc(to.value.trim() || st.bucket)}`];
    if (prefix.value.trim()) q.push(`prefix=${enc(prefix.value.trim())}`);
    const r = await admin('POST', `backup/${enc(st.bucket)}/restore?${q.join('&')}`);
    job = r.job;
  }}).promise;
  if (v === 'restore' && job) onJob(job);
}

function bucketCard(name, st, err, can, refresh) {
  const jobBox = h('div', {class: 'job-box', 'data-testid': `jobbox-${name}`, 'aria-live': 'polite'});
  if (err) {
    return card(name, alertBox(err));
  }
  let picked = null;
  const pickedLine = h('p', {class: 'muted small'});
  const startJob = async (job) => {
    try {
      const final = await watchJob(job, jobBox);
      toast(`${final.kind} of ${name} ${final.state}`, final.state === 'succeeded' ? 'ok' : 'error');
      await refresh(name, jobBox);
    } catch { /* shown in the box */ }
  };
  const runBtn = button('Run now', async () => {
    runBtn.disabled = true;
    try {
      const r = await admin('POST', `backup/${enc(name)}/run`);
      await startJob(r.job);
    } catch (e) {
      mount(jobBox, alertBox(e));
    } finally {
      runBtn.disabled = false;
    }
  }, {kind: 'primary', testid: `backup-run-${name}`, disabled: !can.has('lakegate:RunBackup')});
  const restoreBtn = button('Restore…', () => restoreDialog(st, picked, can, startJob),
    {testid: `backup-restore-${name}`, disabled: !can.has('lakegate:RestoreBackup') || !(st.generations || []).length});
  const b = st.binding;
  const settings = (b && b.settings) || {};
  const last = st.last_run;
  const failedJobs = (st.jobs || []).filter((j) => j.state === 'failed');
  const running = (st.jobs || []).find((j) => j.state === 'running' || j.state === 'queued');
  const failures = [];
  if (last && last.outcome && last.outcome !== 'ok') failures.push(`Last run ${last.outcome}: ${(last.error_messages || []).join('; ') || `${last.errors} errors`}`);
  for (const j of failedJobs) failures.push(`Job #${j.id} (${j.kind}) failed${j.report && j.report.error ? `: ${j.report.error}` : ''}`);
  if (st.last_restore && st.last_restore.outcome && st.last_restore.outcome !== 'ok') {
    failures.push(`Last restore ${st.last_restore.outcome}: ${(st.last_restore.error_messages || []).join('; ')}`);
  }
  const c = h('section', {class: ['card', failures.length ? 'card-bad' : null], 'data-testid': `backup-${name}`, 'data-bucket': name},
    h('div', {class: 'card-head'}, h('h2', {class: 'card-title mono'}, name),
      h('div', {class: 'page-actions'}, runBtn, restoreBtn)),
    failures.length ? h('div', {class: 'alert alert-error', role: 'alert'}, h('ul', null, failures.map((f) => h('li', null, f)))) : null,
    h('div', {class: 'cols-2'},
      kv([
        ['Target', h('span', {class: 'mono'}, st.target || '—')],
        ['Binding', b ? h('span', {class: 'mono'}, `${b.file} (${b.plugin})`) : h('span', {class: 'muted'}, 'none (restore only)')],
        ['Schedule', settings.schedule ? h('span', {class: 'mono'}, `${settings.schedule} UTC`) : 'on demand' + (settings.events ? ' and on changes' : '')],
        ['Keeps', settings.generations !== undefined ? `${settings.generations} generations` : '—'],
        ['Events', settings.events === undefined ? '—' : settings.events ? `on (debounce ${fmtNum(settings.debounce_ms)} ms)` : 'off'],
      ]),
      kv([
        ['Last run', last ? [when(last.finished), ' ', outcomeBadge(last.outcome)] : 'never'],
        ['Last run did', last ? `${fmtNum(last.copied)} copied (${fmtBytes(last.bytes_copied)}), ${fmtNum(last.deleted)} deleted, ${fmtNum(last.skipped_unchanged)} unchanged` : '—'],
        ['Next run', st.next_scheduled ? when(st.next_scheduled) : 'not scheduled'],
        ['Last restore', st.last_restore ? [when(st.last_restore.finished), ' ', outcomeBadge(st.last_restore.outcome),
          ` #${st.last_restore.generation} → ${st.last_restore.to}`] : 'never'],
      ])),
    h('h3', null, `Generations (${(st.generations || []).length})`),
    timeline(st.generations, (g) => {
      picked = g.generation;
      pickedLine.textContent = `Selected generation #${g.generation}: Restore… starts from it.`;
      for (const el of c.querySelectorAll('.tl-gen')) el.classList.toggle('tl-picked', el.dataset.generation === String(g.generation));
    }),
    pickedLine,
    (st.jobs || []).length ? h('details', {class: 'jobs'}, h('summary', null, `Recent jobs (${st.jobs.length})`),
      h('div', {class: 'table-wrap'}, table([
        {title: 'Job', cell: (j) => `#${j.id}`},
        {title: 'Kind', cell: (j) => j.kind},
        {title: 'Trigger', cell: (j) => j.trigger},
        {title: 'State', cell: (j) => outcomeBadge(j.state)},
        {title: 'Started', cell: (j) => fmtTime(j.started || j.created)},
        {title: 'Finished', cell: (j) => fmtTime(j.finished)},
      ], st.jobs))) : null,
    jobBox);
  if (running) startJob(running);
  return c;
}

export default async function render(root, ctx) {
  const mine = ++generation;
  const can = await caps();
  let list;
  try {
    list = await admin('GET', 'backup');
  } catch (e) {
    mount(root, h('h1', null, 'Backups'), alertBox(e.status === 403 ? `You may not list backups: ${errorText(e)}` : e));
    return;
  }
  const names = list.buckets || [];
  const results = await Promise.all(names.map((b) => admin('GET', `backup/${enc(b)}`).then((s) => [b, s, null], (e) => [b, null, e])));
  const box = h('div', {class: 'backups'});
  const cards = new Map();
  const refresh = async (b, keepBox) => {
    let st = null;
    let err = null;
    try { st = await admin('GET', `backup/${enc(b)}`); } catch (e) { err = e; }
    if (mine !== generation) return;
    const fresh = bucketCard(b, st, err, can, refresh);
    if (keepBox) {
      const slot = fresh.querySelector('.job-box');
      if (slot) slot.replaceWith(keepBox);
    }
    const old = cards.get(b);
    if (old && old.isConnected) old.replaceWith(fresh);
    cards.set(b, fresh);
  };
  for (const [b, st, err] of results) {
    const c = bucketCard(b, st, err, can, refresh);
    cards.set(b, c);
    box.append(c);
  }
  // The overview table first.
  const overview = table([
    {title: 'Bucket', cell: ([b]) => h('a', {href: `#/backups`, 'data-jump': b, class: 'mono'}, b)},
    {title: 'Binding', cell: ([, s]) => s && s.binding ? h('span', {class: 'mono'}, s.binding.file) : '—'},
    {title: 'Last run', cell: ([, s]) => s && s.last_run ? [fmtAgo(s.last_run.finished), ' ', outcomeBadge(s.last_run.outcome)] : 'never'},
    {title: 'Next run', cell: ([, s]) => s && s.next_scheduled ? h('span', {title: fmtTime(s.next_scheduled)}, fmtAgo(s.next_scheduled)) : '—'},
    {title: 'Generations', class: 'num', cell: ([, s]) => s ? fmtNum((s.generations || []).length) : '—'},
  ], results, {empty: 'No bucket has a backup binding or a backup in the target.', testid: 'backups-table', class: 'names-nowrap'});
  overview.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-jump]');
    if (!a) return;
    e.preventDefault();
    const c = cards.get(a.dataset.jump);
    if (c) c.scrollIntoView({block: 'start'});
  });
  mount(root,
    h('div', {class: 'page-head'}, h('h1', null, 'Backups'),
      h('div', {class: 'page-actions'}, button('Reload', () => render(root, ctx)))),
    h('p', {class: 'muted'}, 'Target: ', h('code', null, list.target || '—')),
    card('Overview', h('div', {class: 'table-wrap'}, overview)),
    box);
}
