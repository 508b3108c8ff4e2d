// Browser scenarios for the console's keyboard use and speed. Driven by
// tests/e2e/test_console_perf.py (which seeds the data and verifies with boto3).
//
//   keyboard: log in, reach Buckets, open/close/submit the create dialog using page.keyboard only
//   perf:     visit every page (in-app navigation and full page load) and report, per page, the
//             /api/ calls (Performance API resource entries: duration and Server-Timing app;dur)
//             and the time from navigation to #page[data-state=ready|error]
import {main, launch, newPage, login, shot} from './console_lib.mjs';

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------- keyboard

/** What has the focus: a short description plus its computed focus ring. */
function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return {tag: 'BODY', text: '', id: ''};
    const cs = getComputedStyle(e);
    const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) ||
      (cs.boxShadow && cs.boxShadow !== 'none');
    return {
      tag: e.tagName, id: e.id || '', text: (e.textContent || '').trim().slice(0, 60),
      nav: e.dataset.nav || null, testid: e.dataset.testid || null, name: e.getAttribute('name'),
      type: e.getAttribute('type'), inDialog: !!e.closest('dialog[open]'),
      outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`, boxShadow: cs.boxShadow,
      ring, focusVisible: e.matches(':focus-visible'),
    };
  });
}

/** Presses Tab (or Shift+Tab) until pred(focused) holds; returns [focused, presses]. */
async function tabTo(page, pred, what, {back = false, max = 40} = {}) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    if (pred(f)) return [f, i];
  }
  throw new Error(`${max} x ${back ? 'Shift+' : ''}Tab never reached ${what}; last: ${JSON.stringify(await focused(page))}`);
}

function pageState(page) {
  return page.evaluate(() => {
    const p = document.getElementById('page');
    return p ? {page: p.dataset.page || null, state: p.dataset.state || null} : null;
  });
}

async function waitReady(page, name) {
  await page.waitForFunction((n) => {
    const p = document.getElementById('page');
    return p && p.dataset.page === n && p.dataset.state === 'ready';
  }, name);
}

// ---------------------------------------------------------------------------- perf

/** Records, in every document, when each #page element leaves the loading state. */
function readyRecorder() {
  window.__lgReady = [];
  const seen = new WeakSet();
  const check = () => {
    const p = document.getElementById('page');
    if (!p || seen.has(p) || !p.dataset.state || p.dataset.state === 'loading') return;
    seen.add(p);
    window.__lgReady.push({page: p.dataset.page, state: p.dataset.state, t: performance.now(),
      text: p.dataset.state === 'error' ? (p.querySelector('.alert') || p).textContent.slice(0, 300) : null});
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true,
    attributeFilter: ['data-state']});
}

/** /api/ resource entries that started at or after t0 (ms, performance.now() scale). */
function apiEntries(page, t0) {
  return page.evaluate((since) => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/') && e.startTime >= since)
    .map((e) => {
      const st = (e.serverTiming || []).find((s) => s.name === 'app');
      const u = new URL(e.name);
      return {
        call: decodeURIComponent(u.pathname + u.search).slice(0, 160),
        status: e.responseStatus || null,
        start_ms: +(e.startTime - since).toFixed(1),
        ms: +e.duration.toFixed(1),
        server_ms: st ? +st.duration.toFixed(1) : null,
      };
    }), t0);
}

/** Waits until no new /api/ resource entry appeared for quietMs (the page's late calls). */
async function settle(page, quietMs = 300, maxMs = 3000) {
  const start = Date.now();
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() - start < maxMs) {
    const n = await page.evaluate(() => performance.getEntriesByType('resource').length);
    if (n !== last) { last = n; stableSince = Date.now(); }
    if (Date.now() - stableSince >= quietMs) return;
    await page.waitForTimeout(50);
  }
}

async function readyEntry(page, name, timeout) {
  const h = await page.waitForFunction((n) => (window.__lgReady || []).find((r) => r.page === n) || null,
    name, {timeout});
  return h.jsonValue();
}

function summarise(entries) {
  const server = entries.map((e) => e.server_ms).filter((x) => x !== null);
  return {
    api_calls: entries.length,
    max_server_ms: server.length ? Math.max(...server) : null,
    max_api_ms: entries.length ? Math.max(...entries.map((e) => e.ms)) : null,
    missing_server_timing: entries.filter((e) => e.server_ms === null).map((e) => e.call),
  };
}

/** In-app (hash) navigation to `hash`; returns the numbers of that page. */
async function measureNav(page, label, hash, name, timeout) {
  await page.evaluate(() => {
    performance.clearResourceTimings();
    window.__lgReady = [];
  });
  const t0 = await page.evaluate((target) => {
    const t = performance.now();
    location.hash = target;
    return t;
  }, hash);
  const r = await readyEntry(page, name, timeout);
  const readyMs = +(r.t - t0).toFixed(1);
  await settle(page);
  const entries = await apiEntries(page, t0);
  return {label, hash, page: name, state: r.state, error: r.text, ready_ms: readyMs,
    ...summarise(entries), calls: entries};
}

/** Full page load of `hash` (new document); ready time counted from navigation start. */
async function measureLoad(page, url, hash, name, timeout) {
  await page.goto('about:blank');
  await page.goto(`${url}/${hash}`);
  const r = await readyEntry(page, name, timeout);
  await settle(page);
  const entries = await apiEntries(page, 0);
  return {state: r.state, ready_ms: +r.t.toFixed(1), ...summarise(entries), calls: entries};
}

main({
  async keyboard({url, user, password, bucket}) {
    const browser = await launch();
    const page = await newPage(browser);
    const steps = [];
    await page.goto(url + '/');
    await page.waitForSelector('#login-view:not([hidden]) #login-form');
    // The login view puts the focus in the access key field; Tab from the top of the page
    // reaches it too (skip link first).
    await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'login-access-key');
    await page.keyboard.type(user);
    let [f, n] = await tabTo(page, (x) => x.id === 'login-secret-key', 'the secret key field', {max: 3});
    steps.push({secret_key_after_tabs: n});
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await waitReady(page, 'dashboard');
    steps.push({logged_in: await pageState(page)});

    // Sidebar: Tab to "Identity", Shift+Tab back to "Buckets", Enter.
    [f, n] = await tabTo(page, (x) => x.nav === 'identity', 'the Identity link', {max: 15});
    const linkRing = f;
    [f] = await tabTo(page, (x) => x.nav === 'buckets', 'the Buckets link', {back: true, max: 3});
    await page.keyboard.press('Enter');
    await waitReady(page, 'buckets');
    steps.push({buckets: await pageState(page), hash: await page.evaluate(() => location.hash)});

    // Tab to "Create bucket"; Space opens the dialog, the focus is in it, Esc closes it and
    // the focus comes back to the button.
    [f, n] = await tabTo(page, (x) => x.testid === 'create-bucket', 'the Create bucket button', {max: 20});
    const buttonRing = f;
    steps.push({create_button_after_tabs: n});
    await page.keyboard.press('Space');
    await page.waitForSelector('dialog[open]');
    const inDialog = await focused(page);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('dialog'));
    const afterEsc = await focused(page);

    // Enter opens it again; type the name, Tab through the dialog (the focus stays inside),
    // Shift+Tab back to the name field, Enter submits.
    if (afterEsc.testid !== 'create-bucket') {
      await tabTo(page, (x) => x.testid === 'create-bucket', 'the Create bucket button again', {max: 20});
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open]');
    const first = await focused(page);
    await page.keyboard.type(bucket);
    await shot(page, 'keyboard-create-dialog');
    const trail = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      trail.push(await focused(page));
    }
    // Modal: the focus never reaches the page behind (BODY = the browser's own UI, between laps).
    const allInside = trail.every((x) => x.inDialog || x.tag === 'BODY');
    const dialogRing = trail.find((x) => x.tag === 'BUTTON') || null;
    await tabTo(page, (x) => x.inDialog && x.name === 'bucket', 'the bucket name field', {back: true, max: 15});
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.querySelector('dialog[open]'), null, {timeout: 20000});
    await page.waitForFunction((b) => document.querySelector(`[data-testid=buckets-table] tr[data-bucket="${b}"]`), bucket);
    await waitReady(page, 'buckets');
    const listed = await page.$$eval(`[data-testid=buckets-table] tr[data-bucket="${bucket}"]`, (r) => r.length);
    // "/" jumps to the page's filter box.
    await page.keyboard.press('/');
    const slash = await page.evaluate(() => document.activeElement && document.activeElement.hasAttribute('data-filter'));
    await page.keyboard.type(bucket);
    const filtered = await page.$$eval('[data-testid=buckets-table] tbody tr:not(.empty)', (r) => r.map((x) => x.dataset.bucket));
    await shot(page, 'keyboard-bucket-created');
    return {
      steps, listed, slash, filtered,
      rings: {sidebar_link: linkRing, create_button: buttonRing, dialog_button: dialogRing},
      dialog: {focus_on_open: inDialog, after_esc: afterEsc, focus_on_reopen: first, all_inside: allInside,
        trail: trail.map((x) => x.name || x.testid || x.text || x.tag)},
    };
  },

  async perf({url, user, password, big, part_prefix, raw_prefix, object_key, settings_bucket,
    bound_ms = 5000}) {
    const browser = await launch();
    const page = await newPage(browser, {timeout: 30000});
    await page.context().addInitScript(readyRecorder);
    await login(page, url, user, password);
    await page.evaluate(() => performance.setResourceTimingBufferSize(5000));
    const b = enc(big);
    const pages = [
      ['dashboard', '#/', 'dashboard'],
      ['buckets', '#/buckets', 'buckets'],
      ['browser root', `#/buckets/${b}`, 'browser'],
      [`browser ${part_prefix}`, `#/buckets/${b}?prefix=${enc(part_prefix)}`, 'browser'],
      [`browser ${raw_prefix}`, `#/buckets/${b}?prefix=${enc(raw_prefix)}`, 'browser'],
      [`browser ${raw_prefix} versions`, `#/buckets/${b}?prefix=${enc(raw_prefix)}&versions=1`, 'browser'],
      ['bucket settings', `#/buckets/${enc(settings_bucket || big)}/settings`, 'bucket-settings'],
      ['object', `#/buckets/${b}/object?key=${enc(object_key)}`, 'object'],
      ['object versions tab', `#/buckets/${b}/object?key=${enc(object_key)}&tab=versions`, 'object'],
      ['object preview tab', `#/buckets/${b}/object?key=${enc(object_key)}&tab=preview`, 'object'],
      ['identity', '#/identity', 'identity'],
      ['policies', '#/policies', 'policies'],
      ['backups', '#/backups', 'backups'],
      ['audit', '#/audit', 'audit'],
    ];
    const results = [];
    let loadMore = null;
    // In-app navigation, in order (the way a user clicks through).
    for (const [label, hash, name] of pages) {
      // Leave the page first if the hash would not change.
      if (await page.evaluate((h) => location.hash === h, hash)) {
        await page.evaluate(() => { location.hash = '#/buckets'; });
        await readyEntry(page, 'buckets', 30000);
      }
      const r = await measureNav(page, label, hash, name, 30000);
      results.push(r);
      if (label === `browser ${raw_prefix}`) {
        // "Load more" once: from the click to the new rows (and the button enabled again).
        const rowsBefore = await page.$$eval('[data-testid=objects-table] tbody tr', (t) => t.length);
        await page.evaluate(() => performance.clearResourceTimings());
        const t0 = await page.evaluate(() => performance.now());
        const done = await page.evaluate(async (n0) => {
          const btn = document.querySelector('[data-testid=load-more]');
          if (!btn || btn.hidden) return {error: 'no Load more button'};
          const t = performance.now();
          const ok = () => document.querySelectorAll('[data-testid=objects-table] tbody tr').length > n0 && !btn.disabled;
          btn.click();
          await new Promise((res) => {
            if (ok()) { res(); return; }
            const mo = new MutationObserver(() => { if (ok()) { mo.disconnect(); res(); } });
            mo.observe(document.getElementById('page'), {subtree: true, childList: true, attributes: true});
          });
          return {ms: performance.now() - t};
        }, rowsBefore);
        if (done.error) throw new Error(done.error);
        await settle(page);
        const entries = await apiEntries(page, t0);
        const rowsAfter = await page.$$eval('[data-testid=objects-table] tbody tr', (t) => t.length);
        loadMore = {label: `load more (${raw_prefix})`, page: 'browser', state: 'ready', ready_ms: +done.ms.toFixed(1),
          rows_before: rowsBefore, rows_after: rowsAfter, ...summarise(entries), calls: entries};
        results.push(loadMore);
        await shot(page, 'perf-browser-load-more');
      }
    }
    await shot(page, 'perf-audit');
    // Full page loads (a reload, or a bookmark): navigation start to ready.
    for (const [label, hash, name] of pages) {
      const r = results.find((x) => x.label === label);
      r.load = await measureLoad(page, url, hash, name, 30000);
    }
    const over = [];
    for (const r of results) {
      for (const t of [r.ready_ms, r.load ? r.load.ready_ms : 0]) {
        if (t > bound_ms) over.push(`${r.label}: ${t} ms`);
      }
    }
    return {pages: results, over_bound: over};
  },
});
