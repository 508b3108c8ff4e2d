// Object detail: metadata (HeadObject), tags, versions of this exact key (restore, delete a
// version, remove a delete marker), retention and legal hold, preview (decoded on the server)
// and share links (presigned GET URLs).
import {h, mount, button, card, toast, errorText, alertBox, badge, kv, tabs, select, field, check,
  confirm, dialog, fmtBytes, fmtNum, fmtTime, hashHref, copyText} from '../dom.js';
import {s3, json, caps, objectUrl, encPath, enc, xmlText} from '../api.js';
import {taggingXml, parseTags, retentionXml, legalHoldXml, versionsOfKey} from '../s3.js';
import {crumbs, objectHref} from './browser.js';
import {tagEditor} from './bucket-settings.js';

const XML_HEADERS = {'Content-Type': 'application/xml'};

const vq = (versionId, extra = {}) => (versionId ? {...extra, versionId} : extra);

function parentPrefix(key) {
  const i = key.lastIndexOf('/', key.length - 2);
  return i >= 0 ? key.slice(0, i + 1) : '';
}

function resultBox(el, text, kind) {
  mount(el, text ? h('div', {class: ['alert', `alert-${kind}`], role: kind === 'error' ? 'alert' : 'status'}, text) : null);
}

/** Shows the share dialog: expiry choice, then the presigned URL with a copy button. */
export async function shareDialog(bucket, key, versionId) {
  const expires = select([['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days']], '3600', {name: 'expires'});
  const urlBox = h('div', {class: 'stack', 'data-testid': 'share-result'});
  let made = false;
  const d = dialog({
    title: `Share ${key.split('/').pop()}`,
    body: h('div', {class: 'stack'},
      h('p', {class: 'muted small'}, 'A presigned GET link on the S3 port, signed with your key: anyone holding it can download this object ',
        versionId ? '(this version) ' : '', 'until it expires.'),
      field('Link expires after', expires),
      urlBox),
    actions: [{text: 'Close', value: null}, {text: 'Create link', kind: 'primary', value: 'make'}],
    onAction: async () => {
      const body = {bucket, key, expires_s: Number(expires.value)};
      if (versionId) body.version_id = versionId;
      const r = await json('POST', '/api/share', body);
      const input = h('input', {type: 'text', readonly: true, value: r.url, class: 'share-url', 'aria-label': 'Share URL',
        'data-testid': 'share-url'});
      const copied = h('span', {class: 'muted small', 'aria-live': 'polite'});
      mount(urlBox,
        input,
        h('div', {class: 'row'},
          button('Copy', async () => {
            copied.textContent = (await copyText(r.url, input)) ? 'Copied.' : 'Select the link and copy it.';
          }, {kind: 'primary', testid: 'share-copy'}),
          h('span', {class: 'small'}, `Expires ${fmtTime(r.expires_ms)}`), copied));
      input.focus();
      input.select();
      made = true;
      d.buttons[1].textContent = 'New link';
      return false;
    },
  });
  await d.promise;
  return made;
}

/** Metadata edit: CopyObject onto itself with x-amz-metadata-directive: REPLACE. */
async function editMetadata(bucket, key, hd, meta, onChange) {
  const ctype = h('input', {type: 'text', value: hd.get('content-type') || '', name: 'content-type', class: 'mono'});
  // The console's answers carry the object's own Cache-Control as X-Object-Cache-Control.
  const cc = hd.get('x-object-cache-control');
  const cache = h('input', {type: 'text', value: cc || '', name: 'cache-control', class: 'mono'});
  const rows = h('div', {class: 'stack'});
  const addRow = (k = '', v = '') => {
    const ki = h('input', {type: 'text', value: k, placeholder: 'name', 'aria-label': 'Metadata name', class: 'mono'});
    const vi = h('input', {type: 'text', value: v, placeholder: 'value', 'aria-label': 'Metadata value', class: 'mono'});
    const row = h('div', {class: 'row tag-row'}, ki, vi, button('Remove', () => row.remove(), {class: 'btn-small'}));
    row.get = () => [ki.value.trim().toLowerCase(), vi.value];
    rows.appendChild(row);
  };
  for (const [k, v] of meta) addRow(k, v);
  const body = h('div', {class: 'stack'},
    h('p', {class: 'muted small'}, 'Saving copies the object onto itself with the new metadata (a new version in a versioned bucket); tags are kept.'),
    field('Content type', ctype), field('Cache-Control', cache, 'Empty: none.'),
    h('h3', null, 'User metadata (x-amz-meta-…)'), rows,
    h('div', null, button('Add', () => addRow(), {class: 'btn-small'})));
  const saved = await dialog({
    title: 'Edit metadata', body,
    actions: [{text: 'Cancel', value: null}, {text: 'Save', kind: 'primary', value: 'save'}],
    onAction: async () => {
      const headers = {
        'x-amz-copy-source': encPath(`${bucket}/${key}`),
        'x-amz-metadata-directive': 'REPLACE',
        'x-amz-tagging-directive': 'COPY',
      };
      if (ctype.value.trim()) headers['Content-Type'] = ctype.value.trim();
      if (cache.value.trim()) headers['Cache-Control'] = cache.value.trim();
      const enc0 = hd.get('x-amz-server-side-encryption');
      if (enc0) headers['x-amz-server-side-encryption'] = enc0;
      for (const r of rows.children) {
        const [k, v] = r.get();
        if (!k) continue;
        if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) throw new Error(`"${k}" is not a valid metadata name`);
        headers[`x-amz-meta-${k}`] = v;
      }
      await s3('PUT', `${bucket}/${key}`, {headers});
      return true;
    },
  }).promise;
  if (saved) {
    toast('Metadata saved', 'ok');
    onChange();
  }
}

// ------------------------------------------------------------------ tabs

function overviewTab(bucket, key, versionId, head, headError, allowed, onChange) {
  return async (el) => {
    const parts = [];
    if (headError) {
      const marker = headError.headers && headError.headers.get && headError.headers.get('x-amz-delete-marker') === 'true';
      parts.push(alertBox(marker ? 'The current version of this key is a delete marker: the object looks deleted. ' +
        'Restore an older version in the Versions tab, or remove the marker.' : headError, marker ? 'warn' : 'error'));
    }
    if (head) {
      const hd = head.headers;
      const g = (n) => hd.get(n);
      const enc0 = g('x-amz-server-side-encryption');
      const meta = [];
      hd.forEach((v, k) => { if (k.startsWith('x-amz-meta-')) meta.push([k.slice(11), v]); });
      meta.sort((a, b) => a[0].localeCompare(b[0]));
      parts.push(h('div', {class: 'grid-2'},
        card('Metadata', kv([
          ['Key', h('span', {class: 'mono', 'data-testid': 'meta-key'}, key)],
          ['Version', h('span', {class: 'mono'}, g('x-amz-version-id') || '—')],
          ['Size', h('span', {'data-testid': 'meta-size'}, `${fmtBytes(Number(g('content-length')))} (${fmtNum(Number(g('content-length')))} bytes)`)],
          ['ETag', h('span', {class: 'mono', 'data-testid': 'meta-etag'}, g('etag'))],
          ['Content type', h('span', {'data-testid': 'meta-content-type'}, g('content-type'))],
          ['Last modified', fmtTime(g('last-modified'))],
          ['Storage class', g('x-amz-storage-class') || 'STANDARD'],
          ['Encryption', h('span', {'data-testid': 'meta-encryption'}, enc0 ? `${enc0}${g('x-amz-server-side-encryption-aws-kms-key-id') ? ` (${g('x-amz-server-side-encryption-aws-kms-key-id')})` : ''}` : 'none')],
          // The console's answers carry the object's own Cache-Control as X-Object-Cache-Control.
          g('x-object-cache-control') ? ['Cache-Control', g('x-object-cache-control')] : null,
          g('content-encoding') ? ['Content-Encoding', g('content-encoding')] : null,
          g('content-disposition') && !/^attachment/.test(g('content-disposition')) ? ['Content-Disposition', g('content-disposition')] : null,
          g('x-amz-object-lock-mode') ? ['Retention', `${g('x-amz-object-lock-mode')} until ${fmtTime(g('x-amz-object-lock-retain-until-date'))}`] : null,
          g('x-amz-object-lock-legal-hold') ? ['Legal hold', g('x-amz-object-lock-legal-hold')] : null,
          g('x-amz-tagging-count') ? ['Tags', g('x-amz-tagging-count')] : null,
        ])),
        card('User metadata', allowed.has('s3:PutObject') && !versionId
          ? h('div', {class: 'row'}, button('Edit metadata', () => editMetadata(bucket, key, hd, meta, onChange), {class: 'btn-small', testid: 'edit-metadata'}))
          : null,
        meta.length
          ? h('div', {class: 'table-wrap'}, h('table', {class: 'data', 'data-testid': 'user-metadata'},
            h('thead', null, h('tr', null, h('th', null, 'Name (x-amz-meta-…)'), h('th', null, 'Value'))),
            h('tbody', null, meta.map(([k, v]) => h('tr', null, h('td', {class: 'mono'}, k), h('td', {class: 'mono'}, v))))))
          : h('p', {class: 'muted'}, 'No user metadata.'))));
      parts.push(await tagsCard(bucket, key, versionId, allowed));
    }
    mount(el, parts);
  };
}

async function tagsCard(bucket, key, versionId, allowed) {
  let tags = [];
  let err = null;
  try {
    const r = await s3('GET', `${bucket}/${key}`, {query: vq(versionId, {tagging: ''})});
    tags = parseTags(r.xml);
  } catch (e) {
    err = e;
  }
  const can = allowed.has('s3:PutObjectTagging');
  const ed = tagEditor(tags, {disabled: !can});
  const out = h('div', {'data-testid': 'tags-result'});
  const list = h('div', {class: 'row', 'data-testid': 'object-tags'},
    tags.length ? tags.map((t) => h('span', {class: 'chip'}, h('span', {class: 'chip-k'}, t.key, '='), h('span', {class: 'chip-v'}, t.value)))
      : h('span', {class: 'muted'}, 'No tags.'));
  const save = async () => {
    const t = ed.get();
    try {
      if (t.length) await s3('PUT', `${bucket}/${key}`, {query: vq(versionId, {tagging: ''}), headers: XML_HEADERS, body: taggingXml(t)});
      else await s3('DELETE', `${bucket}/${key}`, {query: vq(versionId, {tagging: ''})});
      resultBox(out, `Tags saved (${t.length}).`, 'ok');
      mount(list, t.length ? t.map((x) => h('span', {class: 'chip'}, h('span', {class: 'chip-k'}, x.key, '='), h('span', {class: 'chip-v'}, x.value)))
        : h('span', {class: 'muted'}, 'No tags.'));
    } catch (e) {
      resultBox(out, errorText(e), 'error');
    }
  };
  ed.actions.prepend(button('Save tags', save, {kind: 'primary', disabled: !can, testid: 'object-tags-save'}));
  return card('Object tags', err ? alertBox(err) : null, list, ed.el, out);
}

function versionsTab(bucket, key, versionId, allowed, ctx) {
  const canDelete = allowed.has('s3:DeleteObject');
  const canPut = allowed.has('s3:PutObject');
  return async function draw(el) {
    const versions = await versionsOfKey(bucket, key);
    const out = h('div', {'data-testid': 'versions-result'});
    const restore = async (v) => {
      if (!await confirm('Restore version', `Copy version ${v.versionId} of ${key} over the current version? ` +
        'Nothing is deleted: the copy becomes a new current version.', 'Restore')) return;
      try {
        const src = `${encPath(`${bucket}/${key}`)}?versionId=${enc(v.versionId)}`;
        const r = await s3('PUT', `${bucket}/${key}`, {headers: {'x-amz-copy-source': src}});
        const nv = r.headers.get('x-amz-version-id');
        toast(`Restored ${v.versionId}${nv ? ` as the new version ${nv}` : ''}`, 'ok');
        await draw(el);
        resultBox(el.querySelector('[data-testid=versions-result]'), `Version ${v.versionId} restored${nv ? ` as ${nv}` : ''}.`, 'ok');
      } catch (e) {
        resultBox(out, `Restore failed: ${errorText(e)}`, 'error');
      }
    };
    const remove = async (v) => {
      const what = v.deleteMarker ? 'Remove the delete marker' : `Permanently delete version ${v.versionId}`;
      if (!v.deleteMarker && !await confirm('Delete version', `${what} of ${key}? This cannot be undone.`, 'Delete version', 'danger')) return;
      try {
        await s3('DELETE', `${bucket}/${key}`, {query: {versionId: v.versionId}, headers: v.bypass ? {'x-amz-bypass-governance-retention': 'true'} : {}});
        toast(v.deleteMarker ? 'Delete marker removed' : `Version ${v.versionId} deleted`, 'ok');
        await draw(el);
      } catch (e) {
        resultBox(out, `${what} failed: ${errorText(e)}`, 'error');
      }
    };
    const rows = versions.map((v) => h('tr', {class: [v.deleteMarker ? 'is-marker' : null, v.isLatest ? 'is-latest' : null],
      'data-version': v.versionId},
    h('td', {class: 'mono'}, v.deleteMarker ? h('span', {title: v.versionId}, v.versionId)
      : h('a', {href: objectHref(bucket, key, v.versionId), title: 'View this version'}, v.versionId)),
    h('td', null, h('span', {class: 'row'},
      v.isLatest ? badge('current', 'ok') : null,
      v.deleteMarker ? badge('delete marker', 'warn') : null,
      versionId && v.versionId === versionId ? badge('viewing', 'info') : null)),
    h('td', {class: 'num'}, v.deleteMarker ? '—' : fmtBytes(v.size)),
    h('td', {class: 'nowrap'}, fmtTime(v.lastModified)),
    h('td', {class: 'mono hide-narrow'}, v.etag || ''),
    h('td', {class: 'actions'}, h('span', {class: 'row'},
      v.deleteMarker ? null : h('a', {class: 'btn btn-small btn-plain', href: objectUrl(bucket, key, v.versionId), download: key.split('/').pop() || 'download',
        'data-testid': 'version-download'}, 'Download'),
      !v.deleteMarker && !v.isLatest && canPut ? button('Restore', () => restore(v), {class: 'btn-small', kind: 'primary', testid: 'restore', label: `Restore version ${v.versionId}`}) : null,
      v.deleteMarker && canDelete ? button('Remove marker', () => remove(v), {class: 'btn-small', testid: 'remove-marker'}) : null,
      !v.deleteMarker && canDelete ? button('Delete', () => remove(v), {class: 'btn-small', kind: 'danger', testid: 'delete-version', label: `Delete version ${v.versionId}`}) : null))));
    mount(el,
      out,
      h('div', {class: 'table-wrap'}, h('table', {class: 'data', 'data-testid': 'versions-table'},
        h('thead', null, h('tr', null, ['Version', '', 'Size', 'Last modified', 'ETag', ''].map((t, i) =>
          h('th', {class: i === 2 ? 'num' : i === 4 ? 'hide-narrow' : null}, t)))),
        h('tbody', null, rows.length ? rows : h('tr', {class: 'empty'}, h('td', {colspan: '6'}, 'No versions'))))),
      h('p', {class: 'muted small'}, `${versions.length} version(s) of this key, newest first. `,
        'Restore copies an old version over the current one (a new version); Delete removes one version for good.'));
    void ctx;
  };
}

function lockTab(bucket, key, versionId, allowed) {
  return async (el) => {
    const q = (sub) => vq(versionId, {[sub]: ''});
    const [ret, hold] = await Promise.all([
      s3('GET', `${bucket}/${key}`, {query: q('retention')}).then((r) => ({r}), (e) => ({e})),
      s3('GET', `${bucket}/${key}`, {query: q('legal-hold')}).then((r) => ({r}), (e) => ({e})),
    ]);
    const noLock = (x) => x.e && (x.e.code === 'NoSuchObjectLockConfiguration' || x.e.code === 'ObjectLockConfigurationNotFoundError' ||
      (x.e.code === 'InvalidRequest' && /lock/i.test(x.e.message)));
    const mode = ret.r ? xmlText(ret.r.xml, 'Mode') : null;
    const until = ret.r ? xmlText(ret.r.xml, 'RetainUntilDate') : null;
    const holdOn = hold.r ? xmlText(hold.r.xml, 'Status') === 'ON' : false;
    const canRet = allowed.has('s3:PutObjectRetention');
    const canHold = allowed.has('s3:PutObjectLegalHold');
    const canBypass = allowed.has('s3:BypassGovernanceRetention');

    // Retention form
    const modeSel = select([['GOVERNANCE', 'GOVERNANCE'], ['COMPLIANCE', 'COMPLIANCE']], mode || 'GOVERNANCE', {name: 'retention-mode'});
    const def = until ? new Date(until) : new Date(Date.now() + 86400000);
    const pad = (n) => String(n).padStart(2, '0');
    const local = `${def.getFullYear()}-${pad(def.getMonth() + 1)}-${pad(def.getDate())}T${pad(def.getHours())}:${pad(def.getMinutes())}`;
    const untilIn = h('input', {type: 'datetime-local', value: local, name: 'retain-until'});
    const bypass = check('Bypass governance retention (shorten or remove GOVERNANCE)', {disabled: !canBypass, 'data-testid': 'bypass'});
    const retOut = h('div', {'data-testid': 'retention-result'});
    const retState = h('span', {'data-testid': 'retention-status'});
    const drawRet = (m, u) => mount(retState, m ? `${m} until ${fmtTime(u)}` : 'none');
    drawRet(mode, until);
    const saveRet = async () => {
      const d = new Date(untilIn.value);
      if (Number.isNaN(d.getTime())) return resultBox(retOut, 'Pick a retain-until date.', 'error');
      const iso = d.toISOString();
      const headers = {...XML_HEADERS};
      if (bypass.input.checked) headers['x-amz-bypass-governance-retention'] = 'true';
      try {
        await s3('PUT', `${bucket}/${key}`, {query: q('retention'), headers, body: retentionXml(modeSel.value, iso)});
        resultBox(retOut, 'Retention saved.', 'ok');
        drawRet(modeSel.value, iso);
      } catch (e) {
        resultBox(retOut, errorText(e), 'error');
      }
    };
    // Legal hold
    const holdOut = h('div', {'data-testid': 'legal-hold-result'});
    const holdState = h('span', {'data-testid': 'legal-hold-status'}, badge(holdOn ? 'ON' : 'OFF', holdOn ? 'warn' : 'plain'));
    const setHold = async (on) => {
      try {
        await s3('PUT', `${bucket}/${key}`, {query: q('legal-hold'), headers: XML_HEADERS, body: legalHoldXml(on)});
        mount(holdState, badge(on ? 'ON' : 'OFF', on ? 'warn' : 'plain'));
        resultBox(holdOut, `Legal hold ${on ? 'on' : 'off'}.`, 'ok');
      } catch (e) {
        resultBox(holdOut, errorText(e), 'error');
      }
    };
    const lockless = noLock(ret) && noLock(hold);
    mount(el,
      lockless ? alertBox(`Object lock is not enabled on ${bucket}: retention and legal hold do not apply (${errorText(ret.e)}).`, 'info') : null,
      h('div', {class: 'grid-2'},
        card('Retention',
          ret.e && !noLock(ret) ? alertBox(ret.e) : null,
          h('p', null, 'Current: ', retState),
          h('div', {class: 'inline-fields'}, field('Mode', modeSel), field('Retain until (local time)', untilIn)),
          bypass.label,
          h('div', {class: 'row'}, button('Save retention', saveRet, {kind: 'primary', disabled: !canRet || lockless, testid: 'retention-save'})),
          retOut),
        card('Legal hold',
          hold.e && !noLock(hold) ? alertBox(hold.e) : null,
          h('p', null, 'Status: ', holdState),
          h('p', {class: 'muted small'}, 'While on, the version cannot be deleted or overwritten, whatever its retention.'),
          h('div', {class: 'row'},
            button('Turn on', () => setHold(true), {disabled: !canHold || lockless, testid: 'legal-hold-on'}),
            button('Turn off', () => setHold(false), {disabled: !canHold || lockless, testid: 'legal-hold-off'})),
          holdOut)));
  };
}

function dataTable(columns, rows, testid) {
  return h('div', {class: 'table-wrap preview-table'}, h('table', {class: 'data', 'data-testid': testid},
    h('thead', null, h('tr', null, h('th', {class: 'num rownum'}, '#'), columns.map((c) => h('th', {class: 'mono'}, c)))),
    h('tbody', null, rows.length ? rows.map((r, i) => h('tr', null, h('td', {class: 'num muted rownum'}, String(i + 1)),
      r.map((c) => h('td', {class: 'mono'}, c === null || c === undefined ? h('span', {class: 'muted'}, 'null') : String(c))))) : h('tr', {class: 'empty'}, h('td', {colspan: String(columns.length + 1)}, 'No rows')))));
}

function previewTab(bucket, key, versionId) {
  return async (el) => {
    const p = await json('GET', `/api/preview/${encPath(`${bucket}/${key}`)}${versionId ? `?versionId=${enc(versionId)}` : ''}`);
    const parts = [h('div', {class: 'preview-meta', 'data-testid': 'preview-kind', 'data-kind': p.kind},
      badge(p.kind, 'info'), h('span', null, fmtBytes(p.size)), h('span', null, p.content_type || ''),
      p.truncated ? badge('truncated', 'warn') : null)];
    if (p.note) parts.push(alertBox(p.note, 'info'));
    if (p.kind === 'parquet' && p.parquet) {
      const pq = p.parquet;
      parts.push(h('div', {class: 'grid-2'},
        card('Parquet file', kv([
          ['Rows', fmtNum(pq.num_rows)], ['Row groups', fmtNum(pq.row_groups)],
          ['Codecs', (pq.codecs || []).join(', ') || '—'], ['Created by', pq.created_by || '—'],
        ])),
        card('Schema', h('div', {class: 'table-wrap'}, h('table', {class: 'data', 'data-testid': 'parquet-schema'},
          h('thead', null, h('tr', null, ['Column', 'Type', 'Logical', 'Repetition'].map((t) => h('th', null, t)))),
          h('tbody', null, (pq.schema || []).map((c) => h('tr', null, h('td', {class: 'mono'}, c.name), h('td', {class: 'mono'}, c.type || ''),
            h('td', {class: 'mono'}, c.logical || ''), h('td', null, c.repetition || '')))))))));
    }
    if ((p.kind === 'csv' || p.kind === 'parquet') && p.columns) {
      parts.push(card(`First ${(p.rows || []).length} rows`, dataTable(p.columns, p.rows || [], 'preview-rows')));
    } else if (p.kind === 'text' || p.kind === 'json') {
      parts.push(h('pre', {class: 'preview-text', 'data-testid': 'preview-text'}, p.text || ''));
    } else if (p.kind === 'binary') {
      parts.push(h('p', {class: 'muted'}, 'Binary content: no preview. Download the object to open it.'));
    }
    mount(el, parts);
  };
}

// ------------------------------------------------------------------ page

export default async function render(root, ctx) {
  const bucket = ctx.params.bucket;
  const key = ctx.query.key;
  const versionId = ctx.query.versionId || null;
  if (!key) throw new Error('no object key in the address (…/object?key=…)');
  const [allowed, headRes] = await Promise.all([
    caps(bucket),
    s3('HEAD', `${bucket}/${key}`, {query: vq(versionId)}).then((r) => ({r}), (e) => ({e})),
  ]);
  if (headRes.e && headRes.e.status === 401) throw headRes.e;
  const head = headRes.r || null;
  const name = key.split('/').filter(Boolean).pop() || key;
  const canDelete = allowed.has('s3:DeleteObject');

  const delObject = async () => {
    const msg = versionId
      ? `Permanently delete version ${versionId} of ${key}? This cannot be undone.`
      : `Delete ${key}? In a versioned bucket this adds a delete marker and older versions stay.`;
    if (!await confirm('Delete object', msg, 'Delete', 'danger')) return;
    try {
      await s3('DELETE', `${bucket}/${key}`, {query: vq(versionId)});
      toast(`Deleted ${key}`, 'ok');
      ctx.navigate(hashHref(`/buckets/${encodeURIComponent(bucket)}`, {prefix: parentPrefix(key)}));
    } catch (e) {
      toast(`Delete failed: ${errorText(e)}`, 'error');
    }
  };

  const defs = [
    {id: 'overview', title: 'Overview', render: overviewTab(bucket, key, versionId, head, headRes.e, allowed, () => ctx.refresh())},
    {id: 'versions', title: 'Versions', render: versionsTab(bucket, key, versionId, allowed, ctx)},
    {id: 'lock', title: 'Retention & legal hold', render: lockTab(bucket, key, versionId, allowed)},
    {id: 'preview', title: 'Preview', render: previewTab(bucket, key, versionId)},
  ];
  const active = defs.some((d) => d.id === ctx.query.tab) ? ctx.query.tab : 'overview';
  const t = tabs(defs, active, (id) => {
    history.replaceState(null, '', hashHref(`/buckets/${encodeURIComponent(bucket)}/object`,
      {key, versionId, tab: id === 'overview' ? null : id}));
  });
  mount(root,
    h('div', {class: 'page-head'},
      h('h1', {class: 'mono-title'}, name),
      versionId ? badge(`version ${versionId}`, 'info') : null,
      h('div', {class: 'actions'},
        head ? h('a', {class: 'btn btn-primary', href: objectUrl(bucket, key, versionId), download: name, 'data-testid': 'object-download'}, 'Download') : null,
        head ? button('Share link', () => shareDialog(bucket, key, versionId), {testid: 'share'}) : null,
        button('Copy S3 URI', async () => {
          const uri = `s3://${bucket}/${key}`;
          toast((await copyText(uri)) ? `Copied ${uri}` : uri, 'info');
        }, {testid: 'copy-uri', title: `s3://${bucket}/${key}`}),
        canDelete && head ? button(versionId ? 'Delete version' : 'Delete', delObject, {kind: 'danger', testid: 'object-delete'}) : null)),
    crumbs(bucket, key, true),
    t);
  await t.ready;
}
