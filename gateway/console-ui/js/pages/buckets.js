// Buckets: list (with usage from /api/dashboard when readable), create (versioning, object lock
// with default retention, default encryption), delete after typing the name.
import {h, mount, table, button, field, dialog, confirmTyped, toast, errorText,
  fmtBytes, fmtNum, fmtTime, hashHref, check, select, badge} from '../dom.js';
import {s3, json, caps, xmlAll, xmlChildText} from '../api.js';
import {versioningXml, objectLockXml, encryptionXml} from '../s3.js';

/** S3's bucket naming rules; null when valid, else why not. */
export function bucketNameProblem(name) {
  if (name.length < 3 || name.length > 63) return 'between 3 and 63 characters';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return 'lowercase letters, digits, dots and hyphens; starting and ending with a letter or digit';
  if (/\.\.|\.-|-\./.test(name)) return 'no two adjacent dots, and no dot next to a hyphen';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'not formatted as an IP address';
  return null;
}

export async function listBuckets() {
  const r = await s3('GET', '');
  return xmlAll(r.xml, 'Bucket').map((b) => ({
    name: xmlChildText(b, 'Name'),
    created: xmlChildText(b, 'CreationDate'),
  }));
}

/** Runs the create steps in order; returns [{name, state: ok|error|skipped, error?}]. */
async function createBucket(opts, onStep) {
  const steps = [];
  const headers = {};
  if (opts.lock) headers['x-amz-bucket-object-lock-enabled'] = 'true';
  const plan = [
    ['CreateBucket', true, () => s3('PUT', opts.name, {headers})],
    ['PutBucketVersioning (Enabled)', opts.versioning || opts.lock,
      () => s3('PUT', opts.name, {query: {versioning: ''}, headers: {'Content-Type': 'application/xml'}, body: versioningXml('Enabled')})],
    [`PutObjectLockConfiguration (${opts.mode} ${opts.days} d)`, opts.lock && !!opts.mode,
      () => s3('PUT', opts.name, {query: {'object-lock': ''}, headers: {'Content-Type': 'application/xml'},
        body: objectLockXml({mode: opts.mode, days: opts.days})})],
    ['PutBucketEncryption (SSE-S3, AES256)', opts.encryption === 'AES256',
      () => s3('PUT', opts.name, {query: {encryption: ''}, headers: {'Content-Type': 'application/xml'}, body: encryptionXml('AES256')})],
  ];
  let failedCreate = false;
  for (const [name, wanted, run] of plan) {
    if (!wanted) continue;
    const step = {name, state: 'pending'};
    steps.push(step);
    onStep(steps);
    if (failedCreate) {
      step.state = 'skipped';
      onStep(steps);
      continue;
    }
    try {
      await run();
      step.state = 'ok';
    } catch (e) {
      step.state = 'error';
      step.error = errorText(e);
      if (name === 'CreateBucket') failedCreate = true;
    }
    onStep(steps);
  }
  return steps;
}

function stepsList(steps) {
  return h('ul', {class: 'steps', 'data-testid': 'create-steps'}, steps.map((s) =>
    h('li', {'data-state': s.state},
      h('span', {class: ['st', `st-${s.state}`]}, s.state === 'ok' ? 'done' : s.state),
      h('span', null, s.name, s.error ? h('span', {class: 'step-error'}, ': ', s.error) : null))));
}

async function openCreateDialog() {
  const name = h('input', {type: 'text', name: 'bucket', autocomplete: 'off', spellcheck: 'false', class: 'mono', required: true, placeholder: 'e.g. bronze'});
  const nameHint = h('small', {class: 'hint', 'data-testid': 'name-problem'}, 'Lowercase letters, digits, dots, hyphens; 3–63 characters.');
  const ver = check('Versioning (keep every version of every object)', {name: 'versioning'});
  const lock = check('Object lock (WORM; needs versioning, cannot be turned off later)', {name: 'object-lock'});
  const mode = select([['', 'No default retention'], ['GOVERNANCE', 'GOVERNANCE'], ['COMPLIANCE', 'COMPLIANCE']], '', {name: 'retention-mode'});
  const days = h('input', {type: 'number', min: '1', max: '36500', value: '1', name: 'retention-days'});
  const enc = select([['', 'None'], ['AES256', 'SSE-S3 (AES256)']], '', {name: 'encryption'});
  const lockBox = h('fieldset', {class: 'lock-options', disabled: true},
    h('legend', null, 'Default retention'),
    h('div', {class: 'inline-fields'}, field('Mode', mode), field('Days', days)));
  const progress = h('div', {class: 'create-progress'});
  lock.input.addEventListener('change', () => {
    lockBox.disabled = !lock.input.checked;
    if (lock.input.checked) {
      ver.input.checked = true;
      ver.input.disabled = true;
    } else {
      ver.input.disabled = false;
    }
  });
  name.addEventListener('input', () => {
    const p = name.value ? bucketNameProblem(name.value) : null;
    name.setAttribute('aria-invalid', p ? 'true' : 'false');
    nameHint.textContent = p ? `Bucket names: ${p}.` : 'Lowercase letters, digits, dots, hyphens; 3–63 characters.';
  });
  const body = h('div', {class: 'stack'},
    h('label', {class: 'field'}, h('span', {class: 'field-label'}, 'Bucket name'), name, nameHint),
    h('fieldset', null, h('legend', null, 'Data protection'), ver.label, lock.label, lockBox),
    field('Default encryption', enc),
    progress);
  let created = false;
  const d = dialog({
    title: 'Create bucket',
    body,
    actions: [{text: 'Cancel', value: null}, {text: 'Create bucket', kind: 'primary', value: 'create'}],
    onAction: async () => {
      if (created) return true;
      const n = name.value.trim();
      const problem = bucketNameProblem(n);
      if (problem) throw new Error(`Bucket names: ${problem}.`);
      const m = mode.value;
      const dd = Number(days.value);
      if (lock.input.checked && m && !(dd >= 1)) throw new Error('Retention days must be at least 1.');
      const steps = await createBucket({
        name: n, versioning: ver.input.checked, lock: lock.input.checked, mode: m, days: dd, encryption: enc.value,
      }, (s) => mount(progress, stepsList(s)));
      const createFailed = steps[0].state !== 'ok';
      if (createFailed) throw new Error(`CreateBucket failed: ${steps[0].error}`);
      created = true;
      const failed = steps.filter((s) => s.state === 'error');
      if (failed.length) {
        // Partial failure: keep the dialog open showing which step failed.
        d.setError(`The bucket ${n} was created, but ${failed.length} of its settings failed (see above). ` +
          'Fix them in the bucket settings.');
        d.buttons[1].textContent = 'Close';
        d.buttons[0].hidden = true;
        return false;
      }
      toast(`Bucket ${n} created`, 'ok');
      return true;
    },
  });
  d.dialog.dataset.testid = 'create-bucket-dialog';
  return d.promise.then(() => created);
}

export default async function render(root, ctx) {
  const [buckets, allowed, dash] = await Promise.all([
    listBuckets(),
    caps(),
    json('GET', '/api/dashboard').catch(() => null),
  ]);
  const usage = new Map();
  const asOf = dash && dash.usage ? dash.usage.as_of_ms : null;
  if (dash && dash.usage && Array.isArray(dash.usage.buckets)) {
    for (const u of dash.usage.buckets) usage.set(u.bucket, u);
  }
  const canCreate = allowed.has('s3:CreateBucket');
  const canDelete = allowed.has('s3:DeleteBucket');

  const filter = h('input', {type: 'search', placeholder: 'Filter buckets  ( / )', 'aria-label': 'Filter buckets', 'data-filter': ''});
  const listBox = h('div');
  const reload = () => ctx.navigate('#/buckets');

  const del = async (b) => {
    const ok = await confirmTyped('Delete bucket',
      `Delete the bucket ${b}? It must be empty; this cannot be undone.`, b, 'Delete bucket');
    if (!ok) return;
    try {
      await s3('DELETE', b);
      toast(`Bucket ${b} deleted`, 'ok');
      reload();
    } catch (e) {
      toast(`Could not delete ${b}: ${errorText(e)}`, 'error');
    }
  };

  const columns = [
    {title: 'Name', class: 'mono', cell: (b) => h('a', {href: hashHref(`/buckets/${encodeURIComponent(b.name)}`), 'data-bucket': b.name}, b.name)},
    {title: 'Created', class: 'nowrap', cell: (b) => fmtTime(b.created)},
    {title: 'Objects', class: 'num', cell: (b) => (usage.has(b.name) ? fmtNum(usage.get(b.name).objects) : '—')},
    {title: 'Versions', class: 'num hide-narrow', cell: (b) => (usage.has(b.name) ? fmtNum(usage.get(b.name).versions) : '—')},
    {title: 'Size', class: 'num', cell: (b) => (usage.has(b.name) ? fmtBytes(usage.get(b.name).bytes) : '—')},
    {title: '', class: 'actions', cell: (b) => h('span', {class: 'row'},
      h('a', {class: 'btn btn-small btn-plain', href: hashHref(`/buckets/${encodeURIComponent(b.name)}/settings`)}, 'Settings'),
      canDelete ? button('Delete', () => del(b.name), {kind: 'danger', class: 'btn-small', testid: 'delete-bucket', label: `Delete bucket ${b.name}`}) : null)},
  ];
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = q ? buckets.filter((b) => b.name.includes(q)) : buckets;
    mount(listBox, h('div', {class: 'table-wrap'},
      table(columns, rows, {empty: q ? 'No bucket matches the filter' : 'No buckets yet', testid: 'buckets-table',
        rowAttrs: (b) => ({'data-bucket': b.name})})),
    h('div', {class: 'table-foot'},
      `${rows.length} of ${buckets.length} buckets`,
      dash && dash.usage ? (asOf ? ` · usage as of ${fmtTime(asOf)}` : ' · usage not scanned yet') : null));
  };
  filter.addEventListener('input', draw);
  draw();

  mount(root,
    h('div', {class: 'page-head'},
      h('h1', null, 'Buckets'),
      badge(String(buckets.length), 'info'),
      h('div', {class: 'actions'},
        canCreate ? button('Create bucket', () => openCreateDialog().then((made) => { if (made) reload(); }),
          {kind: 'primary', testid: 'create-bucket'}) : null)),
    h('div', {class: 'toolbar'}, filter),
    listBox);
}

