// Boot, login view, top bar, sidebar and the hash router.
import {h, mount, alertBox, errorText} from './dom.js';
import {session, clearCaps, ApiError} from './api.js';

const TITLES = {
  dashboard: 'Dashboard', buckets: 'Buckets', browser: 'Objects', 'bucket-settings': 'Bucket settings',
  object: 'Object', identity: 'Identity', policies: 'Policies', backups: 'Backups', audit: 'Audit',
  notfound: 'Not found',
};

// Which sidebar entry a page belongs to.
const NAV_OF = {browser: 'buckets', 'bucket-settings': 'buckets', object: 'buckets'};

const $ = (id) => document.getElementById(id);
let booted = false;
let routeSeq = 0;

// ------------------------------------------------------------------ routing

function decodeSeg(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

/** {name, params, query} for the current location.hash. */
export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  const path = qi >= 0 ? raw.slice(0, qi) : raw;
  const query = Object.fromEntries(new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : ''));
  const segs = path.split('/').filter((s) => s !== '').map(decodeSeg);
  const params = {};
  let name = 'notfound';
  if (segs.length === 0) name = 'dashboard';
  else if (segs[0] === 'buckets') {
    if (segs.length === 1) name = 'buckets';
    else {
      params.bucket = segs[1];
      if (segs.length === 2) name = 'browser';
      else if (segs.length === 3 && segs[2] === 'settings') name = 'bucket-settings';
      else if (segs.length === 3 && segs[2] === 'object') name = 'object';
    }
  } else if (segs.length === 1 && ['identity', 'policies', 'backups', 'audit', 'dashboard'].includes(segs[0])) {
    name = segs[0];
  }
  return {name, params, query, path};
}

function navigate(hash) {
  const target = hash.startsWith('#') ? hash : '#' + hash;
  if (location.hash === target) route();
  else location.hash = target;
}

async function route() {
  if (!booted) return;
  const {name, params, query} = parseHash();
  const mine = ++routeSeq;
  const old = $('page');
  const root = h('main', {id: 'page', class: 'page', tabindex: '-1'});
  root.dataset.page = name;
  root.dataset.state = 'loading';
  old.replaceWith(root);
  document.title = `${TITLES[name] || name}${params.bucket ? ' · ' + params.bucket : ''} · lakegate`;
  const navName = NAV_OF[name] || name;
  for (const a of document.querySelectorAll('#sidebar a')) {
    if (a.dataset.nav === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  $('app').classList.remove('nav-open');
  $('nav-toggle').setAttribute('aria-expanded', 'false');
  const ctx = {params, query, navigate, refresh: () => route()};
  try {
    if (name === 'notfound') throw new ApiError(404, 'NotFound', `no page at ${location.hash}`);
    const mod = await import(`./pages/${name}.js`);
    await mod.default(root, ctx);
    if (mine === routeSeq) root.dataset.state = 'ready';
  } catch (e) {
    if (mine !== routeSeq) return;
    if (e && e.status === 401) return; // the login view takes over
    let h1 = root.querySelector('h1');
    if (!h1) {
      h1 = h('h1', null, TITLES[name] || name);
      root.prepend(h1);
    }
    h1.after(alertBox(e));
    root.dataset.state = 'error';
  }
}

// ------------------------------------------------------------------ session

async function fetchSession() {
  const r = await fetch('/api/session', {credentials: 'same-origin', headers: {Accept: 'application/json'}});
  if (r.status === 401) return null;
  if (!r.ok) throw new Error(`session: HTTP ${r.status}`);
  return r.json();
}

function showLogin(message) {
  booted = false;
  clearCaps();
  for (const k of Object.keys(session)) session[k] = null;
  document.body.classList.remove('booting');
  const app = $('app');
  app.hidden = true;
  mount($('page'));
  for (const d of document.querySelectorAll('dialog')) d.remove();
  $('login-view').hidden = false;
  const err = $('login-error');
  err.textContent = message || '';
  err.hidden = !message;
  err.className = message ? 'alert alert-info' : 'alert alert-error';
  $('login-submit').disabled = false;
  const ak = $('login-access-key');
  if (ak.value) $('login-secret-key').focus();
  else ak.focus();
}

function showApp(data) {
  Object.assign(session, {
    access_key: data.access_key, user: data.user, kind: data.kind, csrf: data.csrf,
    expires_in_s: data.expires_in_s,
  });
  document.body.classList.remove('booting');
  $('login-view').hidden = true;
  $('login-secret-key').value = '';
  $('app').hidden = false;
  const who = $('whoami');
  mount(who,
    h('span', {class: 'whoami-name', title: `access key ${data.access_key}`}, data.user || data.access_key),
    h('span', {class: ['badge', data.kind === 'root' ? 'badge-warn' : 'badge-plain']}, data.kind || 'user'));
  booted = true;
  route();
}

async function onLoginSubmit(e) {
  e.preventDefault();
  const err = $('login-error');
  const btn = $('login-submit');
  err.hidden = true;
  btn.disabled = true;
  const body = {access_key: $('login-access-key').value, secret_key: $('login-secret-key').value};
  try {
    const r = await fetch('/login', {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify(body),
    });
    let data = null;
    try { data = await r.json(); } catch { data = null; }
    if (r.ok) {
      const s = await fetchSession();
      if (!s) throw new Error('logged in, but the session was not accepted (are cookies blocked?)');
      if (!location.hash) history.replaceState(null, '', '#/');
      showApp(s);
      return;
    }
    let msg = (data && data.error) || `login failed (HTTP ${r.status})`;
    if (r.status === 429) {
      const after = r.headers.get('Retry-After');
      if (after) msg += ` (retry in ${after} s)`;
    }
    err.className = 'alert alert-error';
    err.dataset.status = String(r.status);
    err.textContent = msg;
    err.hidden = false;
    $('login-secret-key').select();
  } catch (ex) {
    err.className = 'alert alert-error';
    err.textContent = errorText(ex);
    err.hidden = false;
  } finally {
    btn.disabled = false;
  }
}

async function logout() {
  try {
    await fetch('/logout', {method: 'POST', credentials: 'same-origin',
      headers: {'X-CSRF-Token': session.csrf || ''}});
  } catch { /* the session is dropped locally anyway */ }
  history.replaceState(null, '', '#/');
  showLogin('You are logged out.');
}

// ------------------------------------------------------------------ boot

function keyboard(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  const typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  if (e.key === '/' && !typing && !document.querySelector('dialog[open]')) {
    const f = document.querySelector('#page [data-filter], #page input[type=search]');
    if (f) {
      e.preventDefault();
      f.focus();
      f.select();
    }
  }
}

async function boot() {
  document.body.classList.add('booting');
  $('login-form').addEventListener('submit', onLoginSubmit);
  $('logout').addEventListener('click', logout);
  $('nav-toggle').addEventListener('click', () => {
    const open = $('app').classList.toggle('nav-open');
    $('nav-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
  });
  // A click outside the open (narrow-screen) sidebar closes it.
  $('app').addEventListener('click', (e) => {
    if ($('app').classList.contains('nav-open') && !e.target.closest('#sidebar, #nav-toggle')) {
      $('app').classList.remove('nav-open');
      $('nav-toggle').setAttribute('aria-expanded', 'false');
    }
  });
  $('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    $('page').focus();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('keydown', keyboard);
  window.addEventListener('lakegate:login-required', () => {
    if (booted) showLogin('Your session ended. Log in again.');
  });
  let s = null;
  try {
    s = await fetchSession();
  } catch (e) {
    showLogin(`The console could not be reached: ${errorText(e)}`);
    return;
  }
  if (s) showApp(s);
  else showLogin();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
