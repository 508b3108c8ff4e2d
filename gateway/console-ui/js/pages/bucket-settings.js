// Bucket settings: versioning, object lock + default retention, default encryption, tags,
// bucket policy (validating JSON editor, make public / private, public status), CORS and
// lifecycle (XML editors). Every refusal shows the server's own message.
import {h, mount, button, field, card, errorText, alertBox, badge, kv, tabs, select,
  confirm, hashHref, check as checkbox} from '../dom.js';
import {s3, caps, xmlText, xmlAll, xmlChildText} from '../api.js';
import {versioningXml, objectLockXml, encryptionXml, taggingXml, parseTags, getBucketSub, S3_NS} from '../s3.js';
import {crumbs} from './browser.js';

const XML_HEADERS = {'Content-Type': 'application/xml'};

/** The read-only public policy: anyone may GET objects and list the bucket. */
export function publicReadPolicy(bucket) {
  return {
    Version: '2012-10-17',
    Statement: [
      {Sid: 'PublicReadObjects', Effect: 'Allow', Principal: {AWS: ['*']}, Action: ['s3:GetObject'],
        Resource: [`arn:aws:s3:::${bucket}/*`]},
      {Sid: 'PublicListBucket', Effect: 'Allow', Principal: {AWS: ['*']}, Action: ['s3:ListBucket'],
        Resource: [`arn:aws:s3:::${bucket}`]},
    ],
  };
}

/** Client-side check of a policy document: null when plausible, else what is wrong. */
export function policyProblem(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `not valid JSON: ${e.message}`;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'the policy must be a JSON object';
  if (!('Statement' in doc)) return 'the policy needs a "Statement"';
  const sts = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  for (const [i, st] of sts.entries()) {
    if (!st || typeof st !== 'object') return `statement ${i + 1} is not an object`;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') return `statement ${i + 1}: "Effect" must be "Allow" or "Deny"`;
    if (!st.Action && !st.NotAction) return `statement ${i + 1}: needs "Action"`;
    if (!st.Resource && !st.NotResource) return `statement ${i + 1}: needs "Resource"`;
    if (!st.Principal && !st.NotPrincipal) return `statement ${i + 1}: a bucket policy statement needs "Principal"`;
  }
  return null;
}

function xmlProblem(text) {
  if (!text.trim()) return 'empty';
  const d = new DOMParser().parseFromString(text, 'application/xml');
  const err = d.getElementsByTagName('parsererror')[0];
  return err ? `not well-formed XML: ${(err.textContent || '').split('\n')[0]}` : null;
}

function status(el, text, kind = 'ok') {
  mount(el, text ? h('div', {class: ['alert', `alert-${kind}`], role: kind === 'error' ? 'alert' : 'status'}, text) : null);
}

/** Runs fn, shows "saved" or the server's error in `out`, returns whether it worked. */
async function attempt(out, fn, okText) {
  status(out, null);
  try {
    await fn();
    status(out, okText, 'ok');
    return true;
  } catch (e) {
    status(out, errorText(e), 'error');
    return false;
  }
}

// ------------------------------------------------------------------ general

async function versioningCard(bucket, allowed) {
  const r = await s3('GET', bucket, {query: {versioning: ''}});
  const cur = xmlText(r.xml, 'Status') || 'Unversioned';
  const out = h('div');
  const can = allowed.has('s3:PutBucketVersioning');
  const set = async (s) => {
    if (await attempt(out, () => s3('PUT', bucket, {query: {versioning: ''}, headers: XML_HEADERS, body: versioningXml(s)}), `Versioning ${s.toLowerCase()}.`)) {
      mount(stateEl, badge(s, s === 'Enabled' ? 'ok' : 'warn'));
    }
  };
  const stateEl = h('span', {'data-testid': 'versioning-status'}, badge(cur, cur === 'Enabled' ? 'ok' : cur === 'Suspended' ? 'warn' : 'plain'));
  return card('Versioning',
    h('p', null, 'Status: ', stateEl),
    h('p', {class: 'muted small'}, 'Suspending keeps existing versions; new writes replace the "null" version.'),
    h('div', {class: 'row'},
      button('Enable', () => set('Enabled'), {kind: 'primary', disabled: !can, testid: 'versioning-enable'}),
      button('Suspend', () => set('Suspended'), {disabled: !can, testid: 'versioning-suspend'})),
    out);
}

async function lockCard(bucket, allowed) {
  const r = await getBucketSub(bucket, 'object-lock').catch((e) => {
    if (e.code === 'ObjectLockConfigurationNotFoundError' || e.status === 404) return null;
    throw e;
  });
  const enabled = !!(r && xmlText(r.xml, 'ObjectLockEnabled') === 'Enabled');
  const curMode = r ? xmlText(r.xml, 'Mode') : null;
  const curDays = r ? xmlText(r.xml, 'Days') : null;
  const curYears = r ? xmlText(r.xml, 'Years') : null;
  const can = allowed.has('s3:PutBucketObjectLockConfiguration');
  const mode = select([['', 'No default retention'], ['GOVERNANCE', 'GOVERNANCE'], ['COMPLIANCE', 'COMPLIANCE']], curMode || '', {name: 'lock-mode'});
  const days = h('input', {type: 'number', min: '1', value: curDays || (curYears ? String(Number(curYears) * 365) : '1'), name: 'lock-days'});
  const out = h('div');
  const save = () => attempt(out, () => s3('PUT', bucket, {query: {'object-lock': ''}, headers: XML_HEADERS,
    body: objectLockXml(mode.value ? {mode: mode.value, days: Number(days.value)} : null)}), 'Object lock configuration saved.');
  return card('Object lock',
    kv([
      ['Object lock', h('span', {'data-testid': 'lock-status'}, badge(enabled ? 'Enabled' : 'Disabled', enabled ? 'ok' : 'plain'))],
      ['Default retention', curMode ? `${curMode}, ${curDays ? `${curDays} day(s)` : `${curYears} year(s)`}` : 'none'],
    ]),
    enabled ? null : h('p', {class: 'muted small'}, 'Object lock is normally enabled when the bucket is created; saving here asks the server to enable it (versioning must be on).'),
    h('div', {class: 'inline-fields'}, field('Default mode', mode), field('Days', days),
      button('Save', save, {kind: 'primary', disabled: !can, testid: 'lock-save'})),
    out);
}

async function encryptionCard(bucket, allowed) {
  const r = await getBucketSub(bucket, 'encryption').catch((e) => {
    if (e.code === 'ServerSideEncryptionConfigurationNotFoundError') return null;
    throw e;
  });
  const alg = r ? xmlText(r.xml, 'SSEAlgorithm') : null;
  const kms = r ? xmlText(r.xml, 'KMSMasterKeyID') : null;
  const can = allowed.has('s3:PutEncryptionConfiguration');
  const opts = [['', 'None'], ['AES256', 'SSE-S3 (AES256)']];
  if (alg === 'aws:kms') opts.push(['aws:kms', `SSE-KMS (${kms || 'default key'})`]);
  const sel = select(opts, alg || '', {name: 'encryption'});
  const out = h('div');
  const save = () => attempt(out, () => (sel.value
    ? s3('PUT', bucket, {query: {encryption: ''}, headers: XML_HEADERS, body: encryptionXml(sel.value, kms)})
    : s3('DELETE', bucket, {query: {encryption: ''}})), 'Default encryption saved.');
  return card('Default encryption',
    h('p', null, 'Current: ', h('span', {'data-testid': 'encryption-status'}, alg ? `${alg}${kms ? ` (${kms})` : ''}` : 'none')),
    h('div', {class: 'inline-fields'}, field('New objects are encrypted with', sel),
      button('Save', save, {kind: 'primary', disabled: !can, testid: 'encryption-save'})),
    out);
}

/** A key/value tag editor; returns {el, get()}. */
export function tagEditor(tags, {disabled = false} = {}) {
  const rows = h('div', {class: 'stack tag-rows'});
  const addRow = (k = '', v = '') => {
    const key = h('input', {type: 'text', value: k, placeholder: 'key', 'aria-label': 'Tag key', class: 'mono', disabled});
    const val = h('input', {type: 'text', value: v, placeholder: 'value', 'aria-label': 'Tag value', class: 'mono', disabled});
    const row = h('div', {class: 'row tag-row'}, key, val,
      button('Remove', () => row.remove(), {class: 'btn-small', disabled, label: 'Remove tag'}));
    row.get = () => ({key: key.value.trim(), value: val.value});
    rows.appendChild(row);
  };
  for (const t of tags) addRow(t.key, t.value);
  const actions = h('div', {class: 'row tag-actions'},
    button('Add tag', () => addRow(), {disabled, testid: 'add-tag'}));
  const el = h('div', {class: 'stack tag-editor'}, rows, actions);
  return {el, actions, get: () => Array.from(rows.children).map((r) => r.get()).filter((t) => t.key !== '')};
}

async function tagsCard(bucket, allowed) {
  const r = await getBucketSub(bucket, 'tagging').catch((e) => {
    if (e.code === 'NoSuchTagSet' || e.code === 'NoSuchTagSetError') return null;
    throw e;
  });
  const tags = parseTags(r && r.xml);
  const can = allowed.has('s3:PutBucketTagging');
  const ed = tagEditor(tags, {disabled: !can});
  const out = h('div');
  const save = () => {
    const t = ed.get();
    return attempt(out, () => (t.length
      ? s3('PUT', bucket, {query: {tagging: ''}, headers: XML_HEADERS, body: taggingXml(t)})
      : s3('DELETE', bucket, {query: {tagging: ''}})), `Tags saved (${t.length}).`);
  };
  ed.actions.prepend(button('Save tags', save, {kind: 'primary', disabled: !can, testid: 'tags-save'}));
  return card('Bucket tags', tags.length ? null : h('p', {class: 'muted'}, 'No tags.'), ed.el, out);
}

// ------------------------------------------------------------------ access

async function policyStatusText(bucket) {
  try {
    const r = await s3('GET', bucket, {query: {policyStatus: ''}});
    return xmlText(r.xml, 'IsPublic') === 'true' ? 'public' : 'not public';
  } catch (e) {
    if (e.status === 404) return 'not public';
    return `unknown (${errorText(e)})`;
  }
}

async function accessTab(el, bucket, allowed) {
  const [pol, pub] = await Promise.all([
    getBucketSub(bucket, 'policy').catch((e) => {
      if (e.code === 'NoSuchBucketPolicy') return null;
      throw e;
    }),
    policyStatusText(bucket),
  ]);
  let text = pol ? pol.text : '';
  try { if (text) text = JSON.stringify(JSON.parse(text), null, 2); } catch { /* keep as is */ }
  const canPut = allowed.has('s3:PutBucketPolicy');
  const canDel = allowed.has('s3:DeleteBucketPolicy');
  const pubEl = h('span', {'data-testid': 'public-status'}, badge(pub, pub === 'public' ? 'warn' : 'ok'));
  const editor = h('textarea', {spellcheck: 'false', 'aria-label': 'Bucket policy (JSON)', rows: '18',
    'data-testid': 'policy-editor', placeholder: '{ "Version": "2012-10-17", "Statement": [ … ] }', disabled: !canPut});
  editor.value = text;
  const check = h('div', {class: 'small', 'data-testid': 'policy-check', 'aria-live': 'polite'});
  const out = h('div', {'data-testid': 'policy-result'});
  const validate = () => {
    const t = editor.value;
    if (!t.trim()) {
      editor.setAttribute('aria-invalid', 'false');
      mount(check, h('span', {class: 'muted'}, 'Empty: saving deletes the policy.'));
      return true;
    }
    const p = policyProblem(t);
    editor.setAttribute('aria-invalid', p ? 'true' : 'false');
    mount(check, p ? h('span', {class: 'st-error'}, `✗ ${p}`) : h('span', {class: 'st-ok'}, '✓ valid JSON policy'));
    return !p;
  };
  editor.addEventListener('input', validate);
  validate();
  const refreshStatus = async () => {
    const s = await policyStatusText(bucket);
    mount(pubEl, badge(s, s === 'public' ? 'warn' : 'ok'));
  };
  const putPolicy = async (body, okText) => {
    if (await attempt(out, () => s3('PUT', bucket, {query: {policy: ''}, headers: {'Content-Type': 'application/json'}, body}), okText)) {
      await refreshStatus();
    }
  };
  const save = async () => {
    if (!validate()) {
      status(out, 'Fix the policy first (see above).', 'error');
      return;
    }
    if (!editor.value.trim()) {
      await makePrivate();
      return;
    }
    await putPolicy(editor.value, 'Policy saved.');
  };
  const makePublic = async () => {
    if (!await confirm('Make public',
      `Anyone who can reach the S3 port will be able to list ${bucket} and read every object in it. Continue?`,
      'Make public', 'danger')) return;
    const doc = JSON.stringify(publicReadPolicy(bucket), null, 2);
    editor.value = doc;
    validate();
    await putPolicy(doc, 'The bucket is public (read-only).');
  };
  const makePrivate = async () => {
    if (await attempt(out, () => s3('DELETE', bucket, {query: {policy: ''}}), 'The bucket policy is deleted: the bucket is private.')) {
      editor.value = '';
      validate();
      await refreshStatus();
    }
  };
  const format = () => {
    try {
      editor.value = JSON.stringify(JSON.parse(editor.value), null, 2);
      validate();
    } catch { validate(); }
  };
  const pab = await publicAccessBlockCard(bucket, canPut).catch((e) => card('Block public access', alertBox(e)));
  mount(el,
    card('Public access',
      h('p', null, 'Anonymous access by bucket policy: ', pubEl),
      h('div', {class: 'row'},
        button('Make public (read-only)', makePublic, {disabled: !canPut, testid: 'make-public'}),
        button('Make private', makePrivate, {disabled: !canDel, testid: 'make-private'}))),
    card('Bucket policy',
      editor, check,
      h('div', {class: 'row'},
        button('Save policy', save, {kind: 'primary', disabled: !canPut, testid: 'policy-save'}),
        button('Format', format, {disabled: !canPut}),
        button('Delete policy', makePrivate, {kind: 'danger', disabled: !canDel, testid: 'policy-delete'})),
      out),
    pab);
}

const PAB_FLAGS = [
  ['BlockPublicAcls', 'Block public ACLs (refuse requests that grant public ACLs)'],
  ['IgnorePublicAcls', 'Ignore public ACLs'],
  ['BlockPublicPolicy', 'Block public bucket policies (refuse policies that make the bucket public)'],
  ['RestrictPublicBuckets', 'Restrict public buckets (only this account may use a public policy)'],
];

async function publicAccessBlockCard(bucket, can) {
  const r = await getBucketSub(bucket, 'publicAccessBlock').catch((e) => {
    if (e.code === 'NoSuchPublicAccessBlockConfiguration') return null;
    throw e;
  });
  const boxes = PAB_FLAGS.map(([name, label]) => {
    const c = checkbox(label, {name, disabled: !can, checked: !!(r && xmlText(r.xml, name) === 'true')});
    return {name, ...c};
  });
  const out = h('div', {'data-testid': 'pab-result'});
  const save = () => {
    const inner = boxes.map((b) => `<${b.name}>${b.input.checked ? 'true' : 'false'}</${b.name}>`).join('');
    const any = boxes.some((b) => b.input.checked);
    return attempt(out, () => (any
      ? s3('PUT', bucket, {query: {publicAccessBlock: ''}, headers: XML_HEADERS,
        body: `<PublicAccessBlockConfiguration xmlns="${S3_NS}">${inner}</PublicAccessBlockConfiguration>`})
      : s3('DELETE', bucket, {query: {publicAccessBlock: ''}})), any ? 'Public access block saved.' : 'Public access block removed.');
  };
  return card('Block public access',
    h('div', {class: 'stack'}, boxes.map((b) => b.label)),
    h('div', {class: 'row'}, button('Save', save, {kind: 'primary', disabled: !can, testid: 'pab-save'})),
    out);
}

// ------------------------------------------------------------------ CORS / lifecycle

const CORS_EXAMPLE = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

const LIFECYCLE_EXAMPLE = `<LifecycleConfiguration>
  <Rule>
    <ID>expire-tmp</ID>
    <Filter><Prefix>tmp/</Prefix></Filter>
    <Status>Enabled</Status>
    <Expiration><Days>7</Days></Expiration>
    <NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>
  </Rule>
</LifecycleConfiguration>`;

/** An XML document editor for ?sub (cors, lifecycle). */
async function xmlTab(el, bucket, {sub, title, missing, can, example, describe, testid}) {
  const r = await getBucketSub(bucket, sub).catch((e) => {
    if (missing.includes(e.code)) return null;
    throw e;
  });
  const editor = h('textarea', {spellcheck: 'false', rows: '18', 'aria-label': `${title} (XML)`, disabled: !can,
    'data-testid': `${testid}-editor`});
  editor.value = r ? prettyXml(r.text) : '';
  const check = h('div', {class: 'small', 'aria-live': 'polite'});
  const out = h('div', {'data-testid': `${testid}-result`});
  const validate = () => {
    const p = editor.value.trim() ? xmlProblem(editor.value) : null;
    editor.setAttribute('aria-invalid', p ? 'true' : 'false');
    mount(check, !editor.value.trim() ? h('span', {class: 'muted'}, 'Empty: saving deletes the configuration.')
      : p ? h('span', {class: 'st-error'}, `✗ ${p}`) : h('span', {class: 'st-ok'}, '✓ well-formed XML'));
    return !p;
  };
  editor.addEventListener('input', validate);
  validate();
  const summary = h('div');
  const none = h('p', {class: 'muted', hidden: !!r, 'data-testid': `${testid}-none`}, 'Not set on this bucket.');
  const drawSummary = () => mount(summary, describe(editor.value));
  drawSummary();
  editor.addEventListener('input', drawSummary);
  const save = async () => {
    if (!validate()) return status(out, 'Fix the XML first.', 'error');
    const body = editor.value.trim();
    const ok = await attempt(out, () => (body
      ? s3('PUT', bucket, {query: {[sub]: ''}, headers: XML_HEADERS, body})
      : s3('DELETE', bucket, {query: {[sub]: ''}})), body ? `${title} saved.` : `${title} deleted.`);
    if (ok) {
      drawSummary();
      none.hidden = !!body;
    }
    return ok;
  };
  const del = async () => {
    if (await attempt(out, () => s3('DELETE', bucket, {query: {[sub]: ''}}), `${title} deleted.`)) {
      editor.value = '';
      validate();
      drawSummary();
      none.hidden = false;
    }
  };
  mount(el, card(title,
    none,
    summary,
    editor, check,
    h('div', {class: 'row'},
      button('Save', save, {kind: 'primary', disabled: !can, testid: `${testid}-save`}),
      button('Insert example', () => { editor.value = example; validate(); drawSummary(); }, {disabled: !can}),
      button('Delete', del, {kind: 'danger', disabled: !can, testid: `${testid}-delete`})),
    out));
}

function prettyXml(text) {
  // Indent S3's one-line XML for editing (text nodes kept verbatim).
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return text;
  const out = [];
  const walk = (node, depth) => {
    const pad = '  '.repeat(depth);
    const kids = Array.from(node.childNodes).filter((n) => n.nodeType === 1);
    const name = node.localName;
    if (!kids.length) {
      out.push(`${pad}<${name}>${esc(node.textContent)}</${name}>`);
      return;
    }
    out.push(`${pad}<${name}>`);
    for (const k of kids) walk(k, depth + 1);
    out.push(`${pad}</${name}>`);
  };
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  walk(doc.documentElement, 0);
  return out.join('\n');
}

function describeLifecycle(text) {
  if (!text.trim()) return null;
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return null;
  const rules = xmlAll(doc, 'Rule');
  if (!rules.length) return null;
  const rows = rules.map((r) => {
    const exp = xmlChildren1(r, 'Expiration');
    const nc = xmlChildren1(r, 'NoncurrentVersionExpiration');
    const ab = xmlChildren1(r, 'AbortIncompleteMultipartUpload');
    const acts = [];
    if (exp) acts.push(xmlText(exp, 'Days') ? `expire after ${xmlText(exp, 'Days')} d` : xmlText(exp, 'Date') ? `expire on ${xmlText(exp, 'Date')}` : 'expire delete markers');
    if (nc) acts.push(`noncurrent after ${xmlText(nc, 'NoncurrentDays')} d`);
    if (ab) acts.push(`abort uploads after ${xmlText(ab, 'DaysAfterInitiation')} d`);
    return h('tr', null,
      h('td', {class: 'mono'}, xmlChildText(r, 'ID') || '—'),
      h('td', null, xmlChildText(r, 'Status') || '—'),
      h('td', {class: 'mono'}, xmlText(r, 'Prefix') ?? ''),
      h('td', null, acts.join('; ') || '—'));
  });
  return h('div', {class: 'table-wrap'}, h('table', {class: 'data'},
    h('thead', null, h('tr', null, ['Rule', 'Status', 'Prefix', 'Actions'].map((t) => h('th', null, t)))),
    h('tbody', null, rows)));
}

function xmlChildren1(node, tag) {
  return Array.from(node.children).find((c) => c.localName === tag) || null;
}

function describeCors(text) {
  if (!text.trim()) return null;
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return null;
  const rules = xmlAll(doc, 'CORSRule');
  if (!rules.length) return null;
  return h('ul', {class: 'small'}, rules.map((r) => h('li', null,
    `${xmlAll(r, 'AllowedMethod').map((m) => m.textContent).join(', ')} from ${xmlAll(r, 'AllowedOrigin').map((m) => m.textContent).join(', ')}`)));
}

// ------------------------------------------------------------------ page

export default async function render(root, ctx) {
  const bucket = ctx.params.bucket;
  const allowed = await caps(bucket);
  // The bucket must exist: one cheap call before the tabs (a 403 still shows the tabs, each
  // with what the server says).
  try {
    await s3('HEAD', bucket);
  } catch (e) {
    if (e.status === 404) throw new Error(`No bucket named ${bucket}.`);
    if (e.status === 401) throw e;
  }
  const safe = async (el, fn) => {
    try {
      el.replaceWith(await fn());
    } catch (e) {
      mount(el, alertBox(e));
    }
  };
  const general = async (el) => {
    const boxes = [h('div'), h('div'), h('div'), h('div')];
    mount(el, h('div', {class: 'grid-2'}, boxes));
    await Promise.all([
      safe(boxes[0], () => versioningCard(bucket, allowed)),
      safe(boxes[1], () => lockCard(bucket, allowed)),
      safe(boxes[2], () => encryptionCard(bucket, allowed)),
      safe(boxes[3], () => tagsCard(bucket, allowed)),
    ]);
  };
  const defs = [
    {id: 'general', title: 'General', render: general},
    {id: 'access', title: 'Access policy', render: (el) => accessTab(el, bucket, allowed)},
    {id: 'cors', title: 'CORS', render: (el) => xmlTab(el, bucket, {sub: 'cors', title: 'CORS configuration',
      missing: ['NoSuchCORSConfiguration'], can: allowed.has('s3:PutBucketCORS'), example: CORS_EXAMPLE, describe: describeCors, testid: 'cors'})},
    {id: 'lifecycle', title: 'Lifecycle', render: (el) => xmlTab(el, bucket, {sub: 'lifecycle', title: 'Lifecycle rules',
      missing: ['NoSuchLifecycleConfiguration'], can: allowed.has('s3:PutLifecycleConfiguration'), example: LIFECYCLE_EXAMPLE,
      describe: describeLifecycle, testid: 'lifecycle'})},
  ];
  const active = defs.some((d) => d.id === ctx.query.tab) ? ctx.query.tab : 'general';
  const t = tabs(defs, active, (id) => {
    history.replaceState(null, '', hashHref(`/buckets/${encodeURIComponent(bucket)}/settings`, {tab: id === 'general' ? null : id}));
  });
  mount(root,
    h('div', {class: 'page-head'},
      h('h1', null, `${bucket}: settings`),
      h('div', {class: 'actions'},
        h('a', {class: 'btn btn-plain', href: hashHref(`/buckets/${encodeURIComponent(bucket)}`)}, 'Browse objects'))),
    crumbs(bucket, ''),
    t);
  await t.ready;
}
