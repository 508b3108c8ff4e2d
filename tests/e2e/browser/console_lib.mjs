// Shared helpers for the console's browser tests (headless Debian Chromium via playwright-core).
//
// A scenario script does:
//   import {main, launch, newPage, login, goto, waitPage, shot} from './console_lib.mjs';
//   main({async scenarioName(args) { ...; return {some: 'result'}; }});
// and is run as `node console_<area>.mjs <scenario> '<json args>'`; it prints ONE JSON line,
// {"ok": true, ...result} or {"ok": false, "error": "..."}, and exits 0 or 1. Any uncaught
// error in a page fails the scenario; console errors are reported (not failed: Chromium logs
// every 4xx answer of a fetch as a console error, and pages read 404s on purpose).

import {chromium} from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const pageErrors = [];
export const consoleErrors = [];
export const dialogs = [];
const browsers = [];

export const DEFAULT_TIMEOUT = Number(process.env.LAKEGATE_CONSOLE_TIMEOUT_MS || 20000);

/** Starts headless Chromium. */
export async function launch() {
  const b = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  browsers.push(b);
  return b;
}

/** A page in a fresh context (own cookies) that records page errors, console errors, dialogs. */
export async function newPage(browser, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || {width: 1280, height: 800},
    acceptDownloads: true,
    deviceScaleFactor: opts.deviceScaleFactor || 1,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(opts.timeout || DEFAULT_TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('dialog', async (d) => {
    dialogs.push({type: d.type(), message: d.message()});
    try { await d.dismiss(); } catch { /* already handled */ }
  });
  return page;
}

/** Fills the login form at consoleUrl and waits until the first page after login is ready. */
export async function login(page, consoleUrl, accessKey, secretKey) {
  if (!page.url().startsWith(consoleUrl)) await page.goto(consoleUrl + '/');
  await page.waitForSelector('#login-view:not([hidden]) #login-form');
  await page.fill('#login-access-key', accessKey);
  await page.fill('#login-secret-key', secretKey);
  await page.click('#login-submit');
  await page.waitForFunction(() => {
    const err = document.getElementById('login-error');
    if (err && !err.hidden && err.classList.contains('alert-error')) return true;
    const app = document.getElementById('app');
    const p = document.getElementById('page');
    return app && !app.hidden && p && p.dataset.state && p.dataset.state !== 'loading';
  });
  const err = await page.$eval('#login-error', (e) => (e.hidden ? null : e.textContent));
  const appHidden = await page.$eval('#app', (e) => e.hidden);
  if (appHidden) throw new Error(`login failed: ${err}`);
  return page;
}

/** Waits for #page[data-page=name][data-state=ready]; throws with the page's error text. */
export async function waitPage(page, name, timeout) {
  const h = await page.waitForFunction((n) => {
    const p = document.getElementById('page');
    if (!p || p.dataset.stale || p.dataset.page !== n) return false;
    if (p.dataset.state === 'ready') return 'ready';
    if (p.dataset.state === 'error') return 'error:' + (p.querySelector('.alert') || p).textContent;
    return false;
  }, name, {timeout: timeout || DEFAULT_TIMEOUT});
  const v = await h.jsonValue();
  if (v !== 'ready') throw new Error(`page ${name} failed: ${v}`);
  return page;
}

/** Marks the current page stale, runs fn (which navigates), waits for page `name`. */
export async function navWait(page, name, fn) {
  await page.evaluate(() => {
    const p = document.getElementById('page');
    if (p) p.dataset.stale = '1';
  });
  await fn();
  return waitPage(page, name);
}

/** Goes to consoleUrl + '/' + hash (e.g. '#/buckets') and waits for page `name` (if given). */
export async function goto(page, consoleUrl, hash, name) {
  const h = hash.startsWith('#') ? hash : '#' + hash;
  if (page.url().startsWith(consoleUrl)) {
    await page.evaluate((target) => {
      const p = document.getElementById('page');
      if (p) p.dataset.stale = '1';
      if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
      else location.hash = target;
    }, h);
  } else {
    await page.goto(consoleUrl + '/' + h);
  }
  if (name) await waitPage(page, name);
  return page;
}

function artifactsDir() {
  const base = process.env.LAKEGATE_E2E_ARTIFACTS
    ? path.resolve(process.env.LAKEGATE_E2E_ARTIFACTS)
    : path.resolve(HERE, '..', 'artifacts');
  return path.join(base, 'console');
}

/** Screenshot as <artifacts>/console/<name>.png (and a copy in $LAKEGATE_E2E_SCREENSHOTS). */
export async function shot(page, name, opts = {}) {
  const dir = artifactsDir();
  fs.mkdirSync(dir, {recursive: true});
  const file = path.join(dir, `${name}.png`);
  // Let fonts, layout and toasts settle; hide the caret in inputs.
  await page.waitForTimeout(opts.settle ?? 150);
  await page.screenshot({path: file, fullPage: !!opts.fullPage, caret: 'hide', animations: 'disabled'});
  const extra = process.env.LAKEGATE_E2E_SCREENSHOTS;
  if (extra) {
    fs.mkdirSync(extra, {recursive: true});
    fs.copyFileSync(file, path.join(extra, `${name}.png`));
  }
  return file;
}

/** The session cookie of a page's context (name lakegate_session or __Host-lakegate_session). */
export async function sessionCookie(page) {
  const cookies = await page.context().cookies();
  return cookies.find((c) => /lakegate_session$/.test(c.name)) || null;
}

/** Runs a scenario from argv: main({name: async (args) => result}) or main(async (name, args) => result). */
export async function main(fn) {
  const scenario = process.argv[2];
  let args = {};
  let out;
  try {
    args = process.argv[3] ? JSON.parse(process.argv[3]) : {};
    let result;
    if (typeof fn === 'function') result = await fn(scenario, args);
    else {
      if (!fn[scenario]) throw new Error(`unknown scenario ${scenario}; known: ${Object.keys(fn).join(', ')}`);
      result = await fn[scenario](args);
    }
    if (pageErrors.length) throw new Error(`uncaught page error(s): ${pageErrors.join(' | ')}`);
    out = {ok: true, ...(result || {}), console_errors: consoleErrors, dialogs};
  } catch (e) {
    out = {ok: false, error: String(e && e.stack ? e.stack : e), page_errors: pageErrors,
      console_errors: consoleErrors, dialogs};
    if (process.env.LAKEGATE_CONSOLE_FAIL_SHOT !== '0') {
      try {
        for (const b of browsers) {
          for (const c of b.contexts()) {
            for (const p of c.pages()) await shot(p, `FAILED-${scenario}-${Date.now()}`, {settle: 0});
          }
        }
      } catch { /* best effort */ }
    }
  }
  for (const b of browsers) {
    try { await b.close(); } catch { /* gone */ }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(out.ok ? 0 : 1);
}

/** SHA-256 (hex) of a file. */
export async function sha256File(file) {
  const crypto = await import('node:crypto');
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}
