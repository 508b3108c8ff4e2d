// DOM helpers for the console. Every piece of server data becomes a text node or an
// attribute value: nothing here ever parses a string as HTML.

// The SVG namespace URI (built from parts: UI sources hold no literal URLs).
const SVG_NS = ['http:', '', 'www.w3.org', '2000', 'svg'].join('/');

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v || {})) if (fn) el.addEventListener(ev, fn);
      continue;
    }
    if (k === 'style') continue; // CSP: no inline styles; use classes or el.style.x = ...
    if (/^on/i.test(k)) continue; // never inline handlers
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class' && Array.isArray(v)) {
      const c = v.filter(Boolean).join(' ');
      if (c) el.setAttribute('class', c);
      continue;
    }
    el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === true) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** h(tag, attrs, ...children) -> Element (attributes via setAttribute, children as text nodes). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  // Form controls whose current value is a property, not an attribute.
  if (attrs && attrs.value !== undefined && attrs.value !== null &&
      (tag === 'textarea' || tag === 'select')) {
    el.value = String(attrs.value);
  }
  return el;
}

/** svg(tag, attrs, ...children) -> SVG element. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Replaces parent's children. */
export function mount(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
  return parent;
}

/** Appends children (same rules as h). */
export function add(parent, ...children) {
  append(parent, children);
  return parent;
}

/** table(columns, rows, {empty, testid, rowAttrs}) -> <div class="table-wrap"><table>. */
export function table(columns, rows, opts = {}) {
  const thead = h('thead', null, h('tr', null, columns.map((c) =>
    h('th', {class: c.class, scope: 'col'}, c.title))));
  const tbody = h('tbody');
  if (!rows || rows.length === 0) {
    tbody.appendChild(h('tr', {class: 'empty'},
      h('td', {colspan: columns.length}, opts.empty || 'Nothing here')));
  } else {
    for (const r of rows) tbody.appendChild(tableRow(columns, r, opts));
  }
  const t = h('table', {class: ['data', opts.class], 'data-testid': opts.testid}, thead, tbody);
  return t;
}

/** One <tr> for table() columns (for pages that append rows, e.g. "Load more"). */
export function tableRow(columns, r, opts = {}) {
  const attrs = opts.rowAttrs ? opts.rowAttrs(r) : null;
  return h('tr', attrs, columns.map((c) => {
    let v = c.cell(r);
    if (v === undefined || v === null) v = '';
    return h('td', {class: c.class}, v);
  }));
}

/** A scroll container for wide tables. */
export function scroller(...children) {
  return h('div', {class: 'table-wrap'}, ...children);
}

/** button(text, onclick, {kind, disabled, title, testid}) */
export function button(text, onclick, opts = {}) {
  return h('button', {
    type: opts.type || 'button',
    class: ['btn', `btn-${opts.kind || 'plain'}`, opts.class],
    disabled: !!opts.disabled,
    title: opts.title,
    'data-testid': opts.testid,
    'aria-label': opts.label,
    on: onclick ? {click: onclick} : null,
  }, text);
}

/** field(labelText, inputEl, hint?) -> <label> wrapping the text and the input. */
export function field(labelText, inputEl, hint) {
  return h('label', {class: 'field'},
    h('span', {class: 'field-label'}, labelText),
    inputEl,
    hint ? h('small', {class: 'hint'}, hint) : null);
}

/** A checkbox with its label on the right. */
export function check(labelText, inputAttrs = {}) {
  const input = h('input', {type: 'checkbox', ...inputAttrs});
  const label = h('label', {class: 'check'}, input, h('span', null, labelText));
  return {label, input};
}

// ------------------------------------------------------------------ dialogs

function openDialog({title, body, actions, onAction, wide}) {
  const errorBox = h('p', {class: 'dialog-error', role: 'alert', hidden: true});
  const buttons = [];
  let settled = false;
  let busy = false; // an onAction is running: Esc must not close the dialog under it
  let resolveFn;
  const promise = new Promise((r) => { resolveFn = r; });
  const dialog = h('dialog', {class: ['modal', wide ? 'modal-wide' : null], 'aria-label': title});
  const finish = (value) => {
    if (settled) return;
    settled = true;
    resolveFn(value);
    if (dialog.open) dialog.close();
    dialog.remove();
  };
  const act = async (a, btn) => {
    if (!onAction || a.value === null || a.value === undefined) {
      finish(a.value === undefined ? null : a.value);
      return;
    }
    errorBox.hidden = true;
    for (const b of buttons) b.disabled = true;
    busy = true;
    dialog.setAttribute('aria-busy', 'true');
    try {
      const keep = await onAction(a.value, {dialog, setError});
      if (keep === false) {
        for (const b of buttons) b.disabled = false;
        return;
      }
      finish(a.value);
    } catch (e) {
      setError(errorText(e));
      for (const b of buttons) b.disabled = false;
      if (btn) btn.focus();
    } finally {
      busy = false;
      dialog.removeAttribute('aria-busy');
    }
  };
  function setError(text) {
    errorBox.textContent = text || '';
    errorBox.hidden = !text;
  }
  const acts = actions && actions.length ? actions : [{text: 'Close', value: null}];
  let primary = null;
  for (const a of acts) {
    const b = h('button', {
      type: 'button',
      class: ['btn', `btn-${a.kind || 'plain'}`],
      'data-value': a.value === null || a.value === undefined ? '' : String(a.value),
      disabled: !!a.disabled,
    }, a.text);
    b.addEventListener('click', () => act(a, b));
    buttons.push(b);
    if (!primary && a.kind && a.kind !== 'plain' && a.value !== null) primary = {a, b};
  }
  const form = h('form', {class: 'modal-form', method: 'dialog'},
    h('h2', {class: 'modal-title'}, title),
    h('div', {class: 'modal-body'}, body),
    errorBox,
    h('div', {class: 'modal-actions'}, buttons));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (primary && !primary.b.disabled) act(primary.a, primary.b);
  });
  // Enter in a one-line field submits (the browser's implicit submission does not when a
  // form has two or more such fields and no submit button, e.g. name + retention days).
  form.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.key !== 'Enter' || e.defaultPrevented || e.isComposing || e.shiftKey || e.ctrlKey || e.altKey ||
      e.metaKey || !t || t.tagName !== 'INPUT' ||
      /^(checkbox|radio|button|submit|reset|file|image|color|range)$/i.test(t.type)) return;
    e.preventDefault();
    form.requestSubmit();
  });
  dialog.appendChild(form);
  // Esc: closes and resolves null, except while an action runs (its request completes
  // anyway; the dialog then shows the outcome).
  dialog.addEventListener('keydown', (e) => {
    if (busy && e.key === 'Escape') e.preventDefault();
  });
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    if (!busy) finish(null);
  });
  dialog.addEventListener('close', () => {
    // A close the browser forced through anyway (a repeated Esc is not always cancelable).
    if (busy && !settled) dialog.showModal();
    else finish(null);
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  const first = dialog.querySelector('input:not([type=hidden]):not([disabled]), textarea, select');
  if (first) first.focus();
  return {dialog, buttons, promise, setError, close: finish};
}

/**
 * modal({title, body, actions: [{text, kind, value}], onAction?}) -> Promise<value|null>.
 * Esc (or an action whose value is null) resolves null. With onAction(value, {setError}),
 * the dialog stays open while it runs; it returns false to stay open, throws to show an error.
 */
export function modal(opts) {
  return openDialog(opts).promise;
}

/** The user must type `expected` exactly before the confirm button is enabled. */
export function confirmTyped(title, message, expected, confirmText = 'Delete') {
  const input = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false',
    'aria-label': 'Type the name to confirm', class: 'mono', 'data-testid': 'confirm-input'});
  const body = h('div', null,
    h('p', null, message),
    h('p', null, 'Type ', h('code', null, expected), ' to confirm.'),
    input);
  const d = openDialog({title, body, actions: [
    {text: 'Cancel', value: null},
    {text: confirmText, kind: 'danger', value: 'ok', disabled: true},
  ]});
  const ok = d.buttons[1];
  input.addEventListener('input', () => { ok.disabled = input.value !== expected; });
  return d.promise.then((v) => v === 'ok');
}

/** Simple yes/no confirmation. */
export function confirm(title, message, confirmText = 'OK', kind = 'primary') {
  return modal({title, body: h('p', null, message), actions: [
    {text: 'Cancel', value: null},
    {text: confirmText, kind, value: 'ok'},
  ]}).then((v) => v === 'ok');
}

/** Internal access for pages needing the dialog element (e.g. live progress). */
export function dialog(opts) {
  return openDialog(opts);
}

// ------------------------------------------------------------------ toasts

function toastRegion() {
  let r = document.getElementById('toasts');
  if (!r) {
    r = h('div', {id: 'toasts', class: 'toasts', 'aria-live': 'polite', role: 'status'});
    document.body.appendChild(r);
  }
  return r;
}

/** toast(text, kind='info'|'ok'|'error') */
export function toast(text, kind = 'info') {
  const t = h('div', {class: ['toast', `toast-${kind}`], 'data-kind': kind},
    h('span', null, text),
    h('button', {type: 'button', class: 'toast-close', 'aria-label': 'Dismiss'}, '×'));
  t.querySelector('button').addEventListener('click', () => t.remove());
  toastRegion().appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 12000 : 5000);
  return t;
}

/** A string for an error (ApiError: the server's message and code). */
export function errorText(err) {
  if (!err) return 'unknown error';
  if (typeof err === 'string') return err;
  const msg = err.message || String(err);
  if (err.code && err.code !== msg && !msg.includes(err.code)) return `${msg} (${err.code})`;
  return msg;
}

/** An inline alert box (role=alert) with an error's text. */
export function alertBox(err, kind = 'error') {
  return h('div', {class: ['alert', `alert-${kind}`], role: kind === 'error' ? 'alert' : 'status'},
    typeof err === 'string' ? err : errorText(err));
}

// ------------------------------------------------------------------ formatting

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  n = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  const s = i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
  return `${n < 0 ? '-' : ''}${s} ${units[i]}`;
}

export function fmtNum(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return Number(n).toLocaleString('en-US');
}

const pad = (x) => String(x).padStart(2, '0');

/** Local time as YYYY-MM-DD HH:MM:SS ('—' when unknown). */
export function fmtTime(msOrIso) {
  if (msOrIso === null || msOrIso === undefined || msOrIso === '') return '—';
  const d = typeof msOrIso === 'number' ? new Date(msOrIso) : new Date(String(msOrIso));
  if (Number.isNaN(d.getTime())) return String(msOrIso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "5 min ago" / "in 2 h" relative to now. */
export function fmtAgo(ms) {
  if (ms === null || ms === undefined) return '—';
  const t = typeof ms === 'number' ? ms : new Date(ms).getTime();
  if (Number.isNaN(t)) return '—';
  const d = Date.now() - t;
  const a = Math.abs(d) / 1000;
  let s;
  if (a < 60) s = `${Math.round(a)} s`;
  else if (a < 3600) s = `${Math.round(a / 60)} min`;
  else if (a < 86400) s = `${Math.round(a / 3600)} h`;
  else s = `${Math.round(a / 86400)} d`;
  return d >= 0 ? `${s} ago` : `in ${s}`;
}

// ------------------------------------------------------------------ tabs

/** tabs([{id, title, render: async (el) => …}], activeId, onChange) -> Element */
export function tabs(defs, activeId, onChange) {
  const list = h('div', {class: 'tablist', role: 'tablist'});
  const panel = h('div', {class: 'tabpanel', role: 'tabpanel'});
  const btns = new Map();
  let current = null;
  let seq = 0;
  const select = async (id, notify) => {
    const def = defs.find((d) => d.id === id) || defs[0];
    if (!def) return;
    current = def.id;
    for (const [bid, b] of btns) {
      b.setAttribute('aria-selected', bid === def.id ? 'true' : 'false');
      b.tabIndex = bid === def.id ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', `tab-${def.id}`);
    panel.dataset.tab = def.id;
    panel.dataset.state = 'loading';
    const mine = ++seq;
    const el = h('div', {class: 'tab-content'});
    mount(panel, el);
    if (notify && onChange) onChange(def.id);
    try {
      await def.render(el);
      if (mine === seq) panel.dataset.state = 'ready';
    } catch (e) {
      if (mine === seq) {
        mount(el, alertBox(e));
        panel.dataset.state = 'error';
      }
    }
  };
  for (const d of defs) {
    const b = h('button', {type: 'button', role: 'tab', id: `tab-${d.id}`, class: 'tab',
      'aria-controls': 'tabpanel', 'data-tab': d.id}, d.title);
    b.addEventListener('click', () => select(d.id, true));
    b.addEventListener('keydown', (e) => {
      const ids = defs.map((x) => x.id);
      const i = ids.indexOf(d.id);
      let j = null;
      if (e.key === 'ArrowRight') j = (i + 1) % ids.length;
      if (e.key === 'ArrowLeft') j = (i - 1 + ids.length) % ids.length;
      if (j !== null) {
        e.preventDefault();
        btns.get(ids[j]).focus();
        select(ids[j], true);
      }
    });
    btns.set(d.id, b);
    list.appendChild(b);
  }
  const wrap = h('div', {class: 'tabs'}, list, panel);
  wrap.select = (id) => select(id, false);
  wrap.current = () => current;
  wrap.ready = select(activeId || (defs[0] && defs[0].id), false);
  return wrap;
}

// ------------------------------------------------------------------ small widgets

/** A hash link: hashHref('/buckets/b', {prefix: 'x/'}) -> '#/buckets/b?prefix=x%2F'. */
export function hashHref(path, query) {
  let s = '#' + path;
  if (query) {
    const q = Object.entries(query)
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&');
    if (q) s += '?' + q;
  }
  return s;
}

/** A card with a heading. */
export function card(title, ...children) {
  return h('section', {class: 'card'}, title ? h('h2', {class: 'card-title'}, title) : null, ...children);
}

/** Small status badge. */
export function badge(text, kind = 'plain') {
  return h('span', {class: ['badge', `badge-${kind}`]}, text);
}

/** A key/value definition list: kv([[k, v], ...]). */
export function kv(pairs) {
  return h('dl', {class: 'kv'}, pairs.filter(Boolean).map(([k, v]) =>
    [h('dt', null, k), h('dd', null, v === null || v === undefined || v === '' ? '—' : v)]));
}

/** A <select> from [[value, label]] or [value]. */
export function select(options, value, attrs = {}) {
  const s = h('select', attrs, options.map((o) => {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    return h('option', {value: v}, l);
  }));
  if (value !== undefined && value !== null) s.value = String(value);
  return s;
}

/** Copies text to the clipboard; falls back to selecting an input. */
export async function copyText(text, inputEl) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (inputEl) {
      inputEl.focus();
      inputEl.select();
      try { return document.execCommand('copy'); } catch { return false; }
    }
    return false;
  }
}
