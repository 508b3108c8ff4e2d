// Object browser: prefix navigation (delimiter "/"), partition chips for k=v/ prefixes,
// paginated listing (500 keys a page, "Load more"), filter, uploads of files and folders with
// progress (multipart for large files), downloads, delete, and a versions view.
import {h, mount, button, confirm, modal, field, toast, errorText, alertBox, fmtBytes, fmtTime, hashHref, badge,
  tableRow, check} from '../dom.js';
import {s3, caps, objectUrl} from '../api.js';
import {listObjects, listVersions, deleteObjects, uploadFile, partitionOf, MULTIPART_THRESHOLD} from '../s3.js';

const PAGE_SIZE = 500;
const FILES_IN_FLIGHT = 2;

const bucketHref = (b, query) => hashHref(`/buckets/${encodeURIComponent(b)}`, query);
export const objectHref = (b, key, versionId) =>
  hashHref(`/buckets/${encodeURIComponent(b)}/object`, {key, versionId});

/** Breadcrumbs for bucket + prefix; partition segments (k=v) shown as chips. */
export function crumbs(bucket, prefix, lastIsObject = false) {
  const parts = prefix.split('/').filter((s, i, a) => s !== '' || (i < a.length - 1));
  const out = [h('a', {href: '#/buckets'}, 'Buckets'), h('span', {class: 'sep'}, '/'),
    h('a', {href: bucketHref(bucket), 'data-crumb': ''}, bucket)];
  let acc = '';
  parts.forEach((seg, i) => {
    const last = i === parts.length - 1;
    acc += seg + (last && lastIsObject ? '' : '/');
    out.push(h('span', {class: 'sep'}, '/'));
    const label = segLabel(seg);
    if (last) out.push(h('span', {class: 'current', 'data-crumb': acc}, label));
    else out.push(h('a', {href: bucketHref(bucket, {prefix: acc}), 'data-crumb': acc}, label));
  });
  return h('nav', {class: 'crumbs', 'aria-label': 'Path'}, out);
}

function segLabel(seg) {
  const p = partitionOf(seg);
  if (!p) return seg;
  return h('span', {class: 'chip', title: `partition ${p.k} = ${p.v}`},
    h('span', {class: 'chip-k'}, p.k, '='), h('span', {class: 'chip-v'}, p.v));
}

/** Reads dropped files and folders (DataTransfer items) -> [{file, path}]. */
async function droppedFiles(dt) {
  const out = [];
  const entries = [];
  for (const it of Array.from(dt.items || [])) {
    const e = it.webkitGetAsEntry ? it.webkitGetAsEntry() : null;
    if (e) entries.push(e);
  }
  if (!entries.length) {
    for (const f of Array.from(dt.files || [])) out.push({file: f, path: f.name});
    return out;
  }
  const walk = async (entry, base) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({file, path: base + entry.name});
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const c of batch) await walk(c, `${base}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

export default async function render(root, ctx) {
  const bucket = ctx.params.bucket;
  const prefix = ctx.query.prefix || '';
  const showVersions = ctx.query.versions === '1';
  const allowed = await caps(bucket);
  const canPut = allowed.has('s3:PutObject');
  const canDelete = allowed.has('s3:DeleteObject');

  const st = {
    listPrefix: prefix, items: [], token: null, keyMarker: null, versionIdMarker: null,
    truncated: false, loading: false, selected: new Map(), seq: 0,
  };

  // ---------------------------------------------------------------- toolbar
  const filter = h('input', {type: 'search', class: 'grow', placeholder: 'Filter loaded keys; Enter searches the bucket  ( / )',
    'aria-label': 'Filter keys', 'data-filter': '', 'data-testid': 'filter'});
  const versionsToggle = check('Show versions', {'data-testid': 'show-versions', checked: showVersions});
  const delBtn = button('Delete selected', () => deleteSelected(), {kind: 'danger', disabled: true, testid: 'delete-selected'});
  const selInfo = h('span', {class: 'muted small', 'data-testid': 'selection'});
  const refreshBtn = button('Refresh', () => reload(), {title: 'List again'});
  versionsToggle.input.addEventListener('change', () => {
    ctx.navigate(bucketHref(bucket, {prefix, versions: versionsToggle.input.checked ? '1' : null}));
  });

  // ---------------------------------------------------------------- table
  const selectAll = h('input', {type: 'checkbox', 'aria-label': 'Select all loaded', 'data-testid': 'select-all'});
  const columns = [];
  if (canDelete) columns.push({title: selectAll, class: 'sel', cell: (it) => selBox(it)});
  columns.push({title: 'Name', class: 'key', cell: (it) => nameCell(it)});
  if (showVersions) columns.push({title: 'Version', class: 'mono hide-narrow', cell: (it) => versionCell(it)});
  columns.push({title: 'Size', class: 'num', cell: (it) => (it.type === 'prefix' || it.deleteMarker ? '—' : fmtBytes(it.size))});
  columns.push({title: 'Last modified', class: 'nowrap hide-narrow', cell: (it) => (it.type === 'prefix' ? '' : fmtTime(it.lastModified))});
  columns.push({title: '', class: 'actions', cell: (it) => actionsCell(it)});

  const tbody = h('tbody');
  const tableEl = h('table', {class: 'data', 'data-testid': 'objects-table'},
    h('thead', null, h('tr', null, columns.map((c) => h('th', {class: c.class, scope: 'col'}, c.title)))),
    tbody);
  const countInfo = h('span', {'data-testid': 'count'});
  const timing = h('span', {'data-testid': 'list-ms'});
  const moreBtn = button('Load more', () => loadPage(), {testid: 'load-more'});
  moreBtn.hidden = true;
  const searchHint = h('span', {class: 'muted'});
  const listError = h('div');

  function rel(key) {
    return key.startsWith(prefix) ? key.slice(prefix.length) : key;
  }

  function nameCell(it) {
    if (it.type === 'prefix') {
      const name = rel(it.prefix);
      const seg = name.replace(/\/$/, '');
      const p = partitionOf(name);
      return h('a', {class: 'folder-link', href: bucketHref(bucket, {prefix: it.prefix, versions: showVersions ? '1' : null}),
        'data-prefix': it.prefix},
      h('span', {class: 'icon', 'aria-hidden': 'true'}, '▸'),
      p ? segLabel(seg) : seg, '/');
    }
    const label = rel(it.key);
    return h('span', {class: 'row'},
      h('a', {href: objectHref(bucket, it.key, showVersions ? it.versionId : null), 'data-key': it.key}, label),
      it.deleteMarker ? badge('delete marker', 'warn') : null,
      showVersions && it.isLatest ? badge('latest', 'ok') : null);
  }

  function versionCell(it) {
    if (it.type === 'prefix') return '';
    return h('span', {class: 'vid', title: it.versionId || ''}, it.versionId || '');
  }

  function actionsCell(it) {
    if (it.type === 'prefix') return '';
    if (it.deleteMarker) {
      return canDelete ? button('Remove marker', () => removeMarker(it), {class: 'btn-small', testid: 'remove-marker'}) : '';
    }
    return h('span', {class: 'row'},
      h('a', {class: 'btn btn-small btn-plain', href: objectUrl(bucket, it.key, showVersions ? it.versionId : null),
        download: rel(it.key).split('/').pop() || 'download', 'data-testid': 'download', 'aria-label': `Download ${it.key}`}, 'Download'),
      h('a', {class: 'btn btn-small btn-plain', href: objectHref(bucket, it.key, showVersions ? it.versionId : null),
        'aria-label': `Details of ${it.key}`}, 'Details'));
  }

  const itemId = (it) => (it.type === 'prefix' ? `p:${it.prefix}` : `o:${it.key}\u0000${it.versionId || ''}`);

  function selBox(it) {
    if (it.type === 'prefix' && showVersions) return '';
    const id = itemId(it);
    const cb = h('input', {type: 'checkbox', 'aria-label': `Select ${it.type === 'prefix' ? it.prefix : it.key}`,
      checked: st.selected.has(id), 'data-select': ''});
    cb.addEventListener('change', () => {
      if (cb.checked) st.selected.set(id, it);
      else st.selected.delete(id);
      updateSelection();
    });
    cb.item = it;
    return cb;
  }

  function updateSelection() {
    const n = st.selected.size;
    delBtn.disabled = n === 0;
    selInfo.textContent = n ? `${n} selected` : '';
  }

  selectAll.addEventListener('change', () => {
    for (const cb of tbody.querySelectorAll('input[data-select]')) {
      if (cb.closest('tr').hidden) continue;
      cb.checked = selectAll.checked;
      const id = itemId(cb.item);
      if (cb.checked) st.selected.set(id, cb.item);
      else st.selected.delete(id);
    }
    updateSelection();
  });

  function matches(it, q) {
    if (!q) return true;
    const name = it.type === 'prefix' ? rel(it.prefix) : rel(it.key);
    return name.toLowerCase().includes(q);
  }

  function applyFilter() {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of tbody.children) {
      if (!tr.item) continue;
      tr.hidden = !matches(tr.item, q);
      if (!tr.hidden) shown++;
    }
    const total = st.items.length;
    countInfo.textContent = q ? `${shown} of ${total} loaded match` : `${total} loaded${st.truncated ? ' (more available)' : ''}`;
    searchHint.textContent = q && st.truncated ? `Enter lists keys under “${prefix}${filter.value.trim()}” on the server.` : '';
    if (st.listPrefix !== prefix) {
      searchHint.textContent = `Listing keys starting with “${st.listPrefix}”. Clear the filter to see the whole folder.`;
    }
  }
  filter.addEventListener('input', () => {
    if (!filter.value && st.listPrefix !== prefix) {
      st.listPrefix = prefix;
      reload();
      return;
    }
    applyFilter();
  });
  filter.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      const q = filter.value.trim();
      st.listPrefix = prefix + q;
      reload();
    } else if (e.key === 'Escape' && filter.value) {
      e.preventDefault();
      filter.value = '';
      filter.dispatchEvent(new Event('input'));
    }
  });

  function appendItems(items) {
    const empty = tbody.querySelector('tr.empty');
    if (empty) empty.remove();
    const frag = document.createDocumentFragment();
    const q = filter.value.trim().toLowerCase();
    for (const it of items) {
      const tr = tableRow(columns, it);
      tr.item = it;
      if (it.type === 'prefix') tr.classList.add('is-prefix');
      if (it.deleteMarker) tr.classList.add('is-marker');
      if (showVersions && it.isLatest) tr.classList.add('is-latest');
      if (q && !matches(it, q)) tr.hidden = true;
      frag.appendChild(tr);
    }
    tbody.appendChild(frag);
    if (!st.items.length) {
      tbody.appendChild(h('tr', {class: 'empty'}, h('td', {colspan: columns.length},
        st.listPrefix !== prefix ? 'No keys match' : prefix ? 'This folder is empty' : 'This bucket is empty')));
    }
  }

  async function loadPage() {
    if (st.loading) return;
    st.loading = true;
    moreBtn.disabled = true;
    const mine = st.seq;
    const t0 = performance.now();
    try {
      let items;
      if (showVersions) {
        const page = await listVersions(bucket, {prefix: st.listPrefix, delimiter: '/', keyMarker: st.keyMarker,
          versionIdMarker: st.versionIdMarker, maxKeys: PAGE_SIZE});
        if (mine !== st.seq) return;
        items = [
          ...page.prefixes.filter((p) => !st.items.some((x) => x.prefix === p)).map((p) => ({type: 'prefix', prefix: p})),
          ...page.versions.map((v) => ({type: 'object', ...v})),
        ];
        st.truncated = page.truncated;
        st.keyMarker = page.nextKeyMarker;
        st.versionIdMarker = page.nextVersionIdMarker;
      } else {
        const page = await listObjects(bucket, {prefix: st.listPrefix, delimiter: '/', token: st.token, maxKeys: PAGE_SIZE});
        if (mine !== st.seq) return;
        items = [
          ...page.prefixes.map((p) => ({type: 'prefix', prefix: p})),
          // A folder's own marker object (`prefix/`, zero bytes) is the folder, not a row.
          ...page.objects.filter((o) => !(o.key === prefix && o.key.endsWith('/'))).map((o) => ({type: 'object', ...o})),
        ];
        st.truncated = page.truncated && !!page.nextToken;
        st.token = page.nextToken;
      }
      const ms = Math.round(performance.now() - t0);
      st.items.push(...items);
      appendItems(items);
      timing.textContent = `page listed in ${ms} ms`;
      timing.dataset.ms = String(ms);
      moreBtn.hidden = !st.truncated;
      mount(listError);
      applyFilter();
    } catch (e) {
      if (mine !== st.seq) return;
      mount(listError, alertBox(e));
      throw e;
    } finally {
      if (mine === st.seq) {
        st.loading = false;
        moreBtn.disabled = false;
      }
    }
  }

  async function reload() {
    st.seq++;
    st.loading = false;
    st.items = [];
    st.token = st.keyMarker = st.versionIdMarker = null;
    st.truncated = false;
    st.selected.clear();
    selectAll.checked = false;
    updateSelection();
    tbody.replaceChildren();
    try {
      await loadPage();
    } catch { /* shown in listError */ }
  }

  // ---------------------------------------------------------------- delete
  const delProgress = h('span', {class: 'muted small', 'data-testid': 'delete-progress', 'aria-live': 'polite'});

  /** Deletes everything the selection names: the selected keys or versions, then each selected
   * folder page by page (one listing of at most 1000 keys, then one DeleteObjects call for it),
   * so no folder is ever held in memory whole. Stops at the first error. */
  async function deleteSelected() {
    const items = Array.from(st.selected.values());
    const objs = items.filter((i) => i.type === 'object');
    const prefixes = items.filter((i) => i.type === 'prefix');
    const what = [];
    if (objs.length) what.push(`${objs.length} ${showVersions ? 'version(s)' : 'object(s)'}`);
    if (prefixes.length) what.push(`everything under ${prefixes.length} folder(s)`);
    const msg = showVersions
      ? `Permanently delete ${what.join(' and ')}? Deleting a version cannot be undone.`
      : `Delete ${what.join(' and ')}? In a versioned bucket this adds delete markers; older versions stay.`;
    if (!await confirm('Delete', msg, 'Delete', 'danger')) return;
    delBtn.disabled = true;
    let deleted = 0;
    delProgress.dataset.state = 'running';
    delProgress.textContent = 'Deleting…';
    const deletePage = async (targets) => {
      if (!targets.length) return;
      const res = await deleteObjects(bucket, targets);
      deleted += res.deleted.length;
      delProgress.textContent = `Deleting… ${deleted} deleted`;
      if (res.errors.length) {
        const first = res.errors[0];
        throw new Error(`${res.errors.length} key(s) not deleted; ${first.key}: ${first.message || first.code}`);
      }
    };
    try {
      const picked = objs.map((o) => ({key: o.key, versionId: showVersions ? o.versionId : undefined}));
      for (let i = 0; i < picked.length; i += 1000) await deletePage(picked.slice(i, i + 1000));
      for (const p of prefixes) {
        let token = null;
        for (;;) {
          const page = await listObjects(bucket, {prefix: p.prefix, delimiter: '', token, maxKeys: 1000});
          await deletePage(page.objects.map((o) => ({key: o.key})));
          if (!page.truncated || !page.nextToken) break;
          token = page.nextToken;
        }
      }
      delProgress.textContent = `Deleted ${deleted}.`;
      delProgress.dataset.state = 'done';
      toast(`Deleted ${deleted}`, 'ok');
    } catch (e) {
      delProgress.textContent = `Deleted ${deleted}, then stopped: ${errorText(e)}`;
      delProgress.dataset.state = 'error';
      toast(`Deleted ${deleted}, then stopped: ${errorText(e)}`, 'error');
    }
    reload();
  }

  async function removeMarker(it) {
    try {
      await s3('DELETE', `${bucket}/${it.key}`, {query: {versionId: it.versionId}});
      toast(`Removed the delete marker of ${it.key}`, 'ok');
      reload();
    } catch (e) {
      toast(`Could not remove the marker: ${errorText(e)}`, 'error');
    }
  }

  // ---------------------------------------------------------------- uploads
  const uploads = h('div', {class: 'uploads', 'data-testid': 'uploads'});
  const queue = [];
  let active = 0;
  let finishedBatch = {ok: 0, failed: 0};

  function enqueue(files) {
    for (const {file, path} of files) {
      const key = prefix + path.replace(/^\/+/, '');
      const bar = h('progress', {max: '100', value: '0'});
      const bytes = h('span', {class: 'num hide-narrow'}, `0 / ${fmtBytes(file.size)}`);
      const state = h('span', {class: 'state', 'data-testid': 'upload-state'}, 'queued');
      const job = {file, key, bar, bytes, state, handle: null, cancelled: false};
      const cancel = button('Cancel', () => {
        job.cancelled = true;
        if (job.handle) job.handle.cancel();
        else {
          state.textContent = 'cancelled';
          const i = queue.indexOf(job);
          if (i >= 0) queue.splice(i, 1);
        }
      }, {class: 'btn-small', label: `Cancel upload of ${key}`});
      job.cancelBtn = cancel;
      job.row = h('div', {class: 'upload-row', 'data-key': key},
        h('span', {class: 'name', title: key}, key, file.size >= MULTIPART_THRESHOLD ? h('span', {class: 'muted'}, ' (multipart)') : null),
        bar, bytes, h('span', {class: 'row'}, state, cancel));
      uploads.appendChild(job.row);
      queue.push(job);
    }
    pump();
  }

  function pump() {
    while (active < FILES_IN_FLIGHT && queue.length) {
      const job = queue.shift();
      active++;
      runJob(job).finally(() => {
        active--;
        if (!queue.length && active === 0) {
          const {ok, failed} = finishedBatch;
          finishedBatch = {ok: 0, failed: 0};
          toast(failed ? `Uploaded ${ok}, ${failed} failed` : `Uploaded ${ok} file(s)`, failed ? 'error' : 'ok');
          reload();
        }
        pump();
      });
    }
  }

  async function runJob(job) {
    job.state.textContent = 'uploading';
    job.handle = uploadFile(bucket, job.key, job.file, {
      onProgress: (sent, total, phase) => {
        job.bar.value = total ? Math.floor((sent / total) * 100) : 100;
        job.bytes.textContent = `${fmtBytes(sent)} / ${fmtBytes(total)}`;
        if (phase === 'completing') job.state.textContent = 'completing';
      },
    });
    try {
      const r = await job.handle.promise;
      job.bar.value = 100;
      job.state.textContent = r.multipart ? `done (${r.parts} parts)` : 'done';
      job.state.className = 'state state-done';
      job.row.dataset.state = 'done';
      job.cancelBtn.remove();
      finishedBatch.ok++;
    } catch (e) {
      job.state.textContent = job.cancelled ? 'cancelled' : `failed: ${errorText(e)}`;
      job.state.className = 'state state-error';
      job.row.dataset.state = job.cancelled ? 'cancelled' : 'error';
      job.cancelBtn.remove();
      finishedBatch.failed++;
    }
  }

  const fileInput = h('input', {type: 'file', multiple: true, hidden: true, 'data-testid': 'upload-files'});
  const dirInput = h('input', {type: 'file', multiple: true, webkitdirectory: true, hidden: true, 'data-testid': 'upload-folder'});
  fileInput.addEventListener('change', () => {
    enqueue(Array.from(fileInput.files).map((f) => ({file: f, path: f.name})));
    fileInput.value = '';
  });
  dirInput.addEventListener('change', () => {
    enqueue(Array.from(dirInput.files).map((f) => ({file: f, path: f.webkitRelativePath || f.name})));
    dirInput.value = '';
  });
  const drop = h('div', {class: 'dropzone', 'data-testid': 'dropzone'},
    `Drop files or folders here to upload them to ${prefix || 'the bucket root'}`,
    h('span', {class: 'muted'}, ` · files of ${fmtBytes(MULTIPART_THRESHOLD)} or more go multipart`));
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    try {
      enqueue(await droppedFiles(e.dataTransfer));
    } catch (err) {
      toast(`Could not read the dropped files: ${errorText(err)}`, 'error');
    }
  });

  async function newFolder() {
    const input = h('input', {type: 'text', class: 'mono', autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. year=2026'});
    const v = await modal({
      title: 'New folder',
      body: h('div', {class: 'stack'}, field('Folder name', input,
        `Creates ${prefix || ''}<name>/ as an empty marker object, as other S3 consoles do.`)),
      actions: [{text: 'Cancel', value: null}, {text: 'Create folder', kind: 'primary', value: 'ok'}],
      onAction: async () => {
        const name = input.value.trim().replace(/^\/+|\/+$/g, '');
        if (!name) throw new Error('Type a folder name.');
        await s3('PUT', `${bucket}/${prefix}${name}/`, {body: '', headers: {'Content-Type': 'application/x-directory'}});
        return true;
      },
    });
    if (v) ctx.navigate(bucketHref(bucket, {prefix: `${prefix}${input.value.trim().replace(/^\/+|\/+$/g, '')}/`}));
  }

  // ---------------------------------------------------------------- layout
  mount(root,
    h('div', {class: 'page-head'},
      h('h1', null, bucket),
      h('div', {class: 'actions'},
        canPut ? button('Upload files', () => fileInput.click(), {kind: 'primary', testid: 'upload-files-btn'}) : null,
        canPut ? button('Upload folder', () => dirInput.click(), {testid: 'upload-folder-btn'}) : null,
        canPut ? button('New folder', newFolder, {testid: 'new-folder'}) : null,
        h('a', {class: 'btn btn-plain', href: hashHref(`/buckets/${encodeURIComponent(bucket)}/settings`)}, 'Settings'))),
    crumbs(bucket, prefix),
    h('div', {class: 'toolbar'}, filter, versionsToggle.label, refreshBtn,
      canDelete ? delBtn : null, selInfo, canDelete ? delProgress : null),
    canPut ? [fileInput, dirInput, drop] : null,
    uploads,
    listError,
    h('div', {class: 'table-wrap tall'}, tableEl),
    h('div', {class: 'table-foot'}, countInfo, moreBtn, searchHint, h('span', {class: 'spacer'}), timing));
  try {
    await loadPage();
  } catch (e) {
    // Shown above the table (e.g. AccessDenied for a key that may read objects but not list).
    if (e && e.status === 401) throw e;
  }
}
