// Browser scenarios for the console's core pages (login, buckets, settings, object browser,
// object detail). Driven by tests/e2e/test_console_core.py, which verifies with boto3/urllib.
import path from 'node:path';
import {main, launch, newPage, login, goto, waitPage, navWait, shot, sessionCookie, sha256File, dialogs}
  from './console_lib.mjs';

const enc = encodeURIComponent;

/** Submits the login form once and returns {status, text} of what the page shows. */
async function tryLogin(page, ak, sk) {
  await page.evaluate(() => {
    const e = document.getElementById('login-error');
    e.hidden = true;
    e.textContent = '';
    delete e.dataset.status;
  });
  await page.fill('#login-access-key', ak);
  await page.fill('#login-secret-key', sk);
  await page.click('#login-submit');
  await page.waitForFunction(() => {
    const e = document.getElementById('login-error');
    const app = document.getElementById('app');
    return (e && !e.hidden && e.textContent) || (app && !app.hidden);
  });
  return page.evaluate(() => {
    const e = document.getElementById('login-error');
    return {status: e.dataset.status || null, text: e.hidden ? null : e.textContent,
      app: !document.getElementById('app').hidden};
  });
}

/** fetch() from inside the page; returns {status, text}. */
function pageFetch(page, url, init) {
  return page.evaluate(async ([u, i]) => {
    const r = await fetch(u, i);
    return {status: r.status, text: (await r.text()).slice(0, 2000)};
  }, [url, init]);
}

async function openDialog(page) {
  return page.waitForSelector('dialog[open]');
}

async function clickDialogButton(page, text) {
  await page.click(`dialog[open] .modal-actions button:has-text("${text}")`);
}

async function rowsIn(page, testid) {
  return page.$$eval(`[data-testid=${testid}] tbody tr:not(.empty):not([hidden])`, (trs) => trs.length);
}

main({
  // Good, bad and logout; the cookie's flags; CSRF refused from the page.
  async login({url, user, password}) {
    const browser = await launch();
    // Bad password: the message, no cookie.
    const bad = await newPage(browser);
    await bad.goto(url + '/');
    await bad.waitForSelector('#login-view:not([hidden])');
    const before = await bad.evaluate(() => ({
      app_hidden: document.getElementById('app').hidden,
      nav_links: Array.from(document.querySelectorAll('#sidebar a')).filter((a) => a.offsetParent !== null).length,
    }));
    await shot(bad, 'login');
    const badRes = await tryLogin(bad, user, password + '-wrong');
    await shot(bad, 'login-error');
    const badCookie = await sessionCookie(bad);

    // Good login lands on the dashboard.
    const page = await newPage(browser);
    await login(page, url, user, password);
    const landed = await page.$eval('#page', (p) => ({page: p.dataset.page, state: p.dataset.state, hash: location.hash}));
    const cookie = await sessionCookie(page);
    const who = await page.$eval('#whoami', (e) => e.textContent);
    const session = await pageFetch(page, '/api/session', {});
    const csrf = JSON.parse(session.text).csrf;
    // State-changing requests without the CSRF token are refused, with it they pass.
    const noCsrfPost = await pageFetch(page, '/api/s3/newbucket', {method: 'POST'});
    const noCsrfPut = await pageFetch(page, `/api/s3/nocsrf-${Date.now()}`, {method: 'PUT'});
    const wrongCsrf = await pageFetch(page, '/api/s3/newbucket', {method: 'PUT', headers: {'X-CSRF-Token': 'x' + csrf}});
    const listOk = await pageFetch(page, '/api/s3/', {});

    // Logout ends the session on the server.
    const other = await newPage(browser);
    await login(other, url, user, password);
    await other.click('#logout');
    await other.waitForSelector('#login-view:not([hidden])');
    const afterLogout = await pageFetch(other, '/api/session', {});
    const loginShown = await other.$eval('#app', (a) => a.hidden);
    return {
      before, bad: badRes, bad_cookie: badCookie, landed, who,
      cookie: cookie && {name: cookie.name, value: cookie.value, httpOnly: cookie.httpOnly, sameSite: cookie.sameSite,
        path: cookie.path, secure: cookie.secure, expires: cookie.expires},
      csrf, no_csrf_post: noCsrfPost, no_csrf_put: noCsrfPut, wrong_csrf: wrongCsrf, list_status: listOk.status,
      after_logout: afterLogout.status, login_shown_after_logout: loginShown,
    };
  },

  // 10 failures from one address, then even the right password gets 429.
  async ratelimit({url, user, password, failures = 10}) {
    const browser = await launch();
    const page = await newPage(browser);
    await page.goto(url + '/');
    await page.waitForSelector('#login-view:not([hidden])');
    const seen = [];
    for (let i = 0; i < failures; i++) seen.push(await tryLogin(page, user, `wrong-${i}`));
    const right = await tryLogin(page, user, password);
    await shot(page, 'login-rate-limited');
    return {seen, right, cookie: await sessionCookie(page)};
  },

  // Create a bucket with versioning, object lock (GOVERNANCE 1 day) and SSE-S3 in the dialog.
  async create_bucket({url, user, password, bucket}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    await goto(page, url, '#/buckets', 'buckets');
    await page.click('[data-testid=create-bucket]');
    await openDialog(page);
    await page.getByLabel('Bucket name').fill(bucket);
    await page.check('input[name=object-lock]');
    const versioningForced = await page.$eval('input[name=versioning]', (e) => e.checked && e.disabled);
    await page.selectOption('select[name=retention-mode]', 'GOVERNANCE');
    await page.fill('input[name=retention-days]', '1');
    await page.selectOption('select[name=encryption]', 'AES256');
    await shot(page, 'bucket-create-dialog');
    await navWait(page, 'buckets', () => clickDialogButton(page, 'Create bucket'));
    const listed = await page.$$eval(`[data-testid=buckets-table] tr[data-bucket="${bucket}"]`, (r) => r.length);
    await shot(page, 'buckets');
    // The settings page shows what was set.
    await goto(page, url, `#/buckets/${enc(bucket)}/settings`, 'bucket-settings');
    await page.waitForSelector('.tabpanel[data-state=ready]');
    const settings = {
      versioning: await page.textContent('[data-testid=versioning-status]'),
      lock: await page.textContent('[data-testid=lock-status]'),
      encryption: await page.textContent('[data-testid=encryption-status]'),
    };
    await shot(page, 'bucket-settings');
    return {versioning_forced: versioningForced, listed, settings};
  },

  // Delete with typed confirmation: the wrong name cannot confirm; the right one deletes.
  async delete_bucket({url, user, password, bucket}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    await goto(page, url, '#/buckets', 'buckets');
    const row = `[data-testid=buckets-table] tr[data-bucket="${bucket}"]`;
    await page.click(`${row} [data-testid=delete-bucket]`);
    await openDialog(page);
    await page.fill('[data-testid=confirm-input]', bucket + 'x');
    const disabledWrong = await page.$eval('dialog[open] .modal-actions .btn-danger', (b) => b.disabled);
    await shot(page, 'bucket-delete-confirm');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', {state: 'detached'});
    const stillListed = await page.$$eval(row, (r) => r.length);
    await page.click(`${row} [data-testid=delete-bucket]`);
    await openDialog(page);
    await page.fill('[data-testid=confirm-input]', bucket);
    const enabledRight = await page.$eval('dialog[open] .modal-actions .btn-danger', (b) => !b.disabled);
    await navWait(page, 'buckets', () => page.click('dialog[open] .modal-actions .btn-danger'));
    const gone = (await page.$$eval(row, (r) => r.length)) === 0;
    return {disabled_with_wrong_name: disabledWrong, still_listed_after_cancel: stillListed, enabled_with_right_name: enabledRight, gone};
  },

  // Upload a small and a multipart-sized file, then download both through the UI.
  async upload_download({url, user, password, bucket, files, download_dir, folder_path, folder_count = 0, delete_key}) {
    const browser = await launch();
    const page = await newPage(browser);
    const requests = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/s3/')) requests.push(`${r.method()} ${r.url().split('/api/s3/')[1]}`);
    });
    // The first try of part 2 meets a 503 SlowDown: the uploader sends the part again.
    let slowDowns = 0;
    await page.route((u) => u.pathname.startsWith('/api/s3/') && u.searchParams.get('partNumber') === '2', (route) => {
      if (route.request().method() === 'PUT' && slowDowns++ === 0) {
        return route.fulfill({status: 503, contentType: 'application/xml',
          body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'});
      }
      return route.continue();
    });
    await login(page, url, user, password);
    await goto(page, url, `#/buckets/${enc(bucket)}`, 'browser');
    await page.setInputFiles('[data-testid=upload-files]', files);
    const names = files.map((f) => path.basename(f));
    await page.waitForFunction((n) => {
      const rows = Array.from(document.querySelectorAll('[data-testid=uploads] .upload-row'));
      return rows.length === n && rows.every((r) => r.dataset.state === 'done' || r.dataset.state === 'error');
    }, names.length, {timeout: 120000});
    const states = await page.$$eval('[data-testid=uploads] .upload-row', (rows) =>
      rows.map((r) => ({key: r.dataset.key, state: r.dataset.state, text: r.querySelector('[data-testid=upload-state]').textContent})));
    // The listing reloads when the queue is empty.
    await page.waitForFunction((ns) => ns.every((n) => document.querySelector(`[data-testid=objects-table] a[data-key="${CSS.escape(n)}"]`)), names);
    await shot(page, 'browser-upload');
    const downloads = [];
    for (const n of names.filter((x) => x !== delete_key)) {
      const link = page.locator(`[data-testid=objects-table] tr:has(a[data-key="${n}"]) [data-testid=download]`);
      const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
      const target = path.join(download_dir, `dl-${n}`);
      await dl.saveAs(target);
      downloads.push({key: n, suggested: dl.suggestedFilename(), sha256: await sha256File(target), path: target});
    }
    // A folder (webkitdirectory): keys keep the folder's relative paths.
    let folder = null;
    if (folder_path) {
      await page.setInputFiles('[data-testid=upload-folder]', folder_path);
      await page.waitForFunction((n) => {
        const rows = Array.from(document.querySelectorAll('[data-testid=uploads] .upload-row'));
        return rows.length === n && rows.every((r) => r.dataset.state === 'done' || r.dataset.state === 'error');
      }, names.length + folder_count, {timeout: 60000});
      folder = await page.$$eval('[data-testid=uploads] .upload-row', (rows) => rows.map((r) => ({key: r.dataset.key, state: r.dataset.state})));
      await page.waitForSelector(`[data-testid=objects-table] a[data-prefix="${path.basename(folder_path)}/"]`);
    }
    // Delete one file through the selection.
    await page.check(`[data-testid=objects-table] tr:has(a[data-key="${delete_key}"]) input[data-select]`);
    await page.click('[data-testid=delete-selected]');
    await openDialog(page);
    await clickDialogButton(page, 'Delete');
    await page.waitForFunction((n) => !document.querySelector(`[data-testid=objects-table] a[data-key="${n}"]`), delete_key);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=objects-table] a[data-key]').length > 0);
    const remaining = await page.$$eval('[data-testid=objects-table] a[data-key]', (a) => a.map((x) => x.dataset.key));
    return {states, downloads, requests, folder, remaining};
  },

  // Cancel a multipart upload half-way (throttled upload): the upload is aborted on the server.
  async upload_cancel({url, user, password, bucket, file}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    await goto(page, url, `#/buckets/${enc(bucket)}`, 'browser');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {offline: false, latency: 0, downloadThroughput: -1,
      uploadThroughput: 4 * 1024 * 1024});
    const requests = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/s3/')) requests.push(`${r.method()} ${r.url().split('/api/s3/')[1]}`);
    });
    await page.setInputFiles('[data-testid=upload-files]', file);
    await page.waitForFunction(() => {
      const p = document.querySelector('[data-testid=uploads] .upload-row progress');
      return p && p.value >= 5;
    }, null, {timeout: 60000});
    await page.click('[data-testid=uploads] .upload-row button:has-text("Cancel")');
    await page.waitForFunction(() => {
      const r = document.querySelector('[data-testid=uploads] .upload-row');
      return r && (r.dataset.state === 'cancelled' || r.dataset.state === 'error' || r.dataset.state === 'done');
    }, null, {timeout: 60000});
    const state = await page.$eval('[data-testid=uploads] .upload-row', (r) => ({state: r.dataset.state,
      text: r.querySelector('[data-testid=upload-state]').textContent}));
    // The abort is sent after the in-flight parts are cancelled.
    await page.waitForFunction(() => true);
    for (let i = 0; i < 50 && !requests.some((x) => x.startsWith('DELETE ')); i++) await page.waitForTimeout(100);
    return {state, requests};
  },

  // Show versions in the browser: a delete marker listed and removed.
  async marker({url, user, password, bucket, key}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    const folder = key.slice(0, key.lastIndexOf('/') + 1);
    await goto(page, url, `#/buckets/${enc(bucket)}?prefix=${enc(folder)}`, 'browser');
    const hiddenBefore = await page.$$eval(`[data-testid=objects-table] a[data-key="${key}"]`, (a) => a.length);
    await navWait(page, 'browser', () => page.check('[data-testid=show-versions]'));
    const rows = await page.$$eval('[data-testid=objects-table] tbody tr', (trs) => trs.map((t) => ({
      marker: t.classList.contains('is-marker'), latest: t.classList.contains('is-latest'), text: t.textContent})));
    await shot(page, 'browser-versions');
    await page.click('[data-testid=objects-table] tr.is-marker [data-testid=remove-marker]');
    await page.waitForFunction(() => !document.querySelector('[data-testid=objects-table] tr.is-marker') &&
      document.querySelector('[data-testid=objects-table] tr.is-latest'));
    const markersAfter = await page.$$eval('[data-testid=objects-table] tr.is-marker', (t) => t.length);
    return {hidden_before: hiddenBefore, rows, markers_after: markersAfter};
  },

  // Restore an old version from the object page.
  async restore({url, user, password, bucket, key, version}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    await goto(page, url, `#/buckets/${enc(bucket)}/object?key=${enc(key)}&tab=versions`, 'object');
    await page.waitForSelector('[data-testid=versions-table]');
    const before = await rowsIn(page, 'versions-table');
    await shot(page, 'object-versions');
    await page.click(`[data-testid=versions-table] tr[data-version="${version}"] [data-testid=restore]`);
    await openDialog(page);
    await clickDialogButton(page, 'Restore');
    await page.waitForSelector('[data-testid=versions-result] .alert-ok', {timeout: 20000});
    const after = await rowsIn(page, 'versions-table');
    const message = await page.textContent('[data-testid=versions-result]');
    return {before, after, message};
  },

  // "Make public (read-only)" and "Make private" on the settings page.
  async set_public({url, user, password, bucket, public: makePublic}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    await goto(page, url, `#/buckets/${enc(bucket)}/settings?tab=access`, 'bucket-settings');
    await page.waitForSelector('[data-testid=public-status]');
    const before = await page.textContent('[data-testid=public-status]');
    if (makePublic) {
      await page.click('[data-testid=make-public]');
      await openDialog(page);
      await clickDialogButton(page, 'Make public');
    } else {
      await page.click('[data-testid=make-private]');
    }
    await page.waitForSelector('[data-testid=policy-result] .alert-ok, [data-testid=policy-result] .alert-error');
    const result = await page.textContent('[data-testid=policy-result]');
    await page.waitForFunction((want) => document.querySelector('[data-testid=public-status]').textContent === want,
      makePublic ? 'public' : 'not public');
    const after = await page.textContent('[data-testid=public-status]');
    const policy = await page.$eval('[data-testid=policy-editor]', (t) => t.value);
    // A broken document is refused client-side; a server refusal is shown as the server says.
    let invalid = null;
    let server = null;
    if (makePublic) {
      await page.fill('[data-testid=policy-editor]', '{"Statement": [');
      invalid = await page.textContent('[data-testid=policy-check]');
      await page.fill('[data-testid=policy-editor]', JSON.stringify({Version: '2012-10-17', Statement: [
        {Effect: 'Allow', Principal: '*', Action: ['s3:NoSuchAction'], Resource: [`arn:aws:s3:::${bucket}/*`]}]}));
      await page.click('[data-testid=policy-save]');
      await page.waitForSelector('[data-testid=policy-result] .alert-error, [data-testid=policy-result] .alert-ok');
      server = await page.textContent('[data-testid=policy-result]');
      await page.fill('[data-testid=policy-editor]', policy);
      await page.$eval('[data-testid=policy-editor]', (e) => { e.blur(); e.scrollTop = 0; window.scrollTo(0, 0); });
      await shot(page, 'bucket-settings-access');
    }
    // Block public access: with BlockPublicPolicy on, making the bucket public is refused.
    let pab = null;
    if (!makePublic) {
      await page.check('input[name=BlockPublicPolicy]');
      await page.click('[data-testid=pab-save]');
      await page.waitForSelector('[data-testid=pab-result] .alert');
      const saved = await page.textContent('[data-testid=pab-result]');
      await page.evaluate(() => document.querySelector('[data-testid=policy-result]').replaceChildren());
      await page.click('[data-testid=make-public]');
      await openDialog(page);
      await clickDialogButton(page, 'Make public');
      await page.waitForSelector('[data-testid=policy-result] .alert');
      const blocked = await page.$eval('[data-testid=policy-result] .alert', (a) => ({ok: a.classList.contains('alert-ok'), text: a.textContent}));
      pab = {saved, blocked};
    }
    return {before, result, after, policy, invalid, server, pab};
  },

  // CORS and lifecycle XML editors: saved, or the server's refusal shown.
  async xml_settings({url, user, password, bucket, bound_bucket}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    const save = async (b, tab) => {
      await goto(page, url, `#/buckets/${enc(b)}/settings?tab=${tab}`, 'bucket-settings');
      await page.waitForSelector('.tabpanel[data-state=ready]');
      await page.click(`.tabpanel button:has-text("Insert example")`);
      await page.click(`[data-testid=${tab}-save]`);
      await page.waitForSelector(`[data-testid=${tab}-result] .alert`);
      return page.$eval(`[data-testid=${tab}-result] .alert`, (a) => ({ok: a.classList.contains('alert-ok'), text: a.textContent}));
    };
    const cors = await save(bucket, 'cors');
    const lifecycle = await save(bucket, 'lifecycle');
    await page.$eval('[data-testid=lifecycle-editor]', (e) => { e.blur(); e.scrollTop = 0; });
    await shot(page, 'bucket-settings-lifecycle');
    const bound = bound_bucket ? await save(bound_bucket, 'lifecycle') : null;
    return {cors, lifecycle, bound};
  },

  // Key names and tags with markup render as text.
  async xss({url, user, password, bucket, key, tag_value}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    const folder = key.slice(0, key.indexOf('/') + 1);
    await goto(page, url, `#/buckets/${enc(bucket)}`, 'browser');
    const folderText = await page.textContent(`[data-testid=objects-table] a[data-prefix="${folder.replace(/"/g, '\\"')}"]`);
    await goto(page, url, `#/buckets/${enc(bucket)}?prefix=${enc(folder)}`, 'browser');
    const rowText = await page.textContent('[data-testid=objects-table] tbody');
    const crumbText = await page.textContent('nav.crumbs');
    await goto(page, url, `#/buckets/${enc(bucket)}/object?key=${enc(key)}`, 'object');
    const metaKey = await page.textContent('[data-testid=meta-key]');
    const tags = await page.textContent('[data-testid=object-tags]');
    const title = await page.textContent('#page h1');
    const injected = await page.evaluate(() => ({
      scripts: Array.from(document.querySelectorAll('script')).map((s) => s.src || 'inline'),
      imgs: document.querySelectorAll('img').length,
    }));
    await shot(page, 'object-xss');
    return {folder_text: folderText, row_text: rowText, crumb_text: crumbText, meta_key: metaKey, tags, title, injected,
      dialog_count: dialogs.length};
  },

  // A read-only user sees no write actions and the server refuses a forced write.
  async readonly({url, user, password, bucket, key}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    const count = (sel) => page.$$eval(sel, (e) => e.filter((x) => x.offsetParent !== null).length);
    await goto(page, url, '#/buckets', 'buckets');
    const buckets = {create: await count('[data-testid=create-bucket]'), del: await count('[data-testid=delete-bucket]'),
      listed: await page.$$eval(`tr[data-bucket="${bucket}"]`, (r) => r.length)};
    await goto(page, url, `#/buckets/${enc(bucket)}`, 'browser');
    const browserView = {upload: await count('[data-testid=upload-files-btn]'), del: await count('[data-testid=delete-selected]'),
      drop: await count('[data-testid=dropzone]'), rows: await rowsIn(page, 'objects-table')};
    await shot(page, 'browser-readonly');
    await goto(page, url, `#/buckets/${enc(bucket)}/object?key=${enc(key)}`, 'object');
    const objectView = {del: await count('[data-testid=object-delete]'), download: await count('[data-testid=object-download]'),
      tagsSaveDisabled: await page.$eval('[data-testid=object-tags-save]', (b) => b.disabled)};
    await goto(page, url, `#/buckets/${enc(bucket)}/settings`, 'bucket-settings');
    await page.waitForSelector('.tabpanel[data-state=ready]');
    const settings = {versioningDisabled: await page.$eval('[data-testid=versioning-enable]', (b) => b.disabled)};
    const s = JSON.parse((await pageFetch(page, '/api/session', {})).text);
    const forced = await pageFetch(page, `/api/s3/${enc(bucket)}/forced.txt`, {method: 'PUT', body: 'x',
      headers: {'X-CSRF-Token': s.csrf}});
    const forcedDelete = await pageFetch(page, `/api/s3/${enc(bucket)}/${key.split('/').map(enc).join('/')}`,
      {method: 'DELETE', headers: {'X-CSRF-Token': s.csrf}});
    // And through the UI's own helper, with the error shown as the server says.
    return {kind: s.kind, buckets, browser: browserView, object: objectView, settings, forced, forced_delete: forcedDelete};
  },

  // 1,200 keys: the first page has 500 rows, "Load more" adds the next pages; k=v prefixes navigate.
  async pagination({url, user, password, bucket, prefix, partition_bucket}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    const t0 = Date.now();
    await goto(page, url, `#/buckets/${enc(bucket)}?prefix=${enc(prefix)}`, 'browser');
    const firstMs = Date.now() - t0;
    const pages = [await rowsIn(page, 'objects-table')];
    const listMs = Number(await page.$eval('[data-testid=list-ms]', (e) => e.dataset.ms));
    while (await page.isVisible('[data-testid=load-more]')) {
      const n = pages[pages.length - 1];
      await page.click('[data-testid=load-more]');
      await page.waitForFunction((k) => document.querySelectorAll('[data-testid=objects-table] tbody tr:not(.empty)').length > k, n);
      await page.waitForFunction(() => !document.querySelector('[data-testid=load-more]').disabled);
      pages.push(await rowsIn(page, 'objects-table'));
      if (pages.length > 10) break;
    }
    // The filter narrows loaded rows; Enter searches the server.
    await page.fill('[data-testid=filter]', 'key-00011');
    const filtered = await rowsIn(page, 'objects-table');
    // Enter lists the keys starting with the text on the server (beyond the loaded pages).
    await page.fill('[data-testid=filter]', 'key-0119');
    await page.press('[data-testid=filter]', 'Enter');
    await page.waitForFunction(() => {
      const keys = Array.from(document.querySelectorAll('[data-testid=objects-table] a[data-key]'));
      return keys.length && keys.every((a) => a.dataset.key.startsWith('many/key-0119'));
    });
    const searched = await page.$$eval('[data-testid=objects-table] a[data-key]', (a) => a.map((x) => x.dataset.key));
    await page.fill('[data-testid=filter]', '');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=objects-table] a[data-key]').length === 500);
    // Partitions: chips and navigation.
    await goto(page, url, `#/buckets/${enc(partition_bucket)}`, 'browser');
    const chips0 = await page.$$eval('[data-testid=objects-table] .chip', (c) => c.map((x) => x.textContent));
    await shot(page, 'browser');
    await navWait(page, 'browser', () => page.click('[data-testid=objects-table] a[data-prefix="year=2026/"]'));
    const chips1 = await page.$$eval('[data-testid=objects-table] .chip', (c) => c.map((x) => x.textContent));
    await navWait(page, 'browser', () => page.click('[data-testid=objects-table] a[data-prefix="year=2026/month=01/"]'));
    const keys = await page.$$eval('[data-testid=objects-table] a[data-key]', (a) => a.map((x) => x.dataset.key));
    const crumbs = await page.$$eval('nav.crumbs .chip', (c) => c.map((x) => x.textContent));
    const hash = await page.evaluate(() => location.hash);
    await shot(page, 'browser-partition');
    // New folder: an empty marker object; the browser opens it.
    await goto(page, url, `#/buckets/${enc(partition_bucket)}`, 'browser');
    await page.click('[data-testid=new-folder]');
    await openDialog(page);
    await page.getByLabel('Folder name').fill('year=2027');
    await navWait(page, 'browser', () => clickDialogButton(page, 'Create folder'));
    const newFolder = {hash: await page.evaluate(() => location.hash),
      empty: await page.textContent('[data-testid=objects-table] tbody')};
    // Narrow screen.
    const narrow = await newPage(browser, {viewport: {width: 390, height: 844}});
    await login(narrow, url, user, password);
    await goto(narrow, url, `#/buckets/${enc(partition_bucket)}?prefix=${enc('year=2026/month=01/')}`, 'browser');
    await shot(narrow, 'narrow-browser');
    await narrow.click('#nav-toggle');
    await shot(narrow, 'narrow-nav');
    // Delete the whole folder of 1200 keys: listed and deleted a page (<= 1000 keys) at a time,
    // with the count deleted so far shown while it runs.
    const deleteCalls = [];
    page.on('request', (r) => {
      const u = r.url();
      if (u.includes('/api/s3/') && r.method() === 'POST' && /[?&]delete(&|$)/.test(u)) deleteCalls.push(u);
    });
    await goto(page, url, `#/buckets/${enc(bucket)}`, 'browser');
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid=delete-progress]');
      window.__delProgress = [];
      new MutationObserver(() => window.__delProgress.push(el.textContent))
        .observe(el, {childList: true, characterData: true, subtree: true});
    });
    await page.check(`[data-testid=objects-table] tr:has(a[data-prefix="${prefix}"]) input[data-select]`);
    await page.click('[data-testid=delete-selected]');
    await openDialog(page);
    await clickDialogButton(page, 'Delete');
    await page.waitForFunction(() => {
      const s = document.querySelector('[data-testid=delete-progress]').dataset.state;
      return s === 'done' || s === 'error';
    }, null, {timeout: 60000});
    const folderDelete = {
      state: await page.$eval('[data-testid=delete-progress]', (e) => e.dataset.state),
      text: await page.textContent('[data-testid=delete-progress]'),
      progress: await page.evaluate(() => window.__delProgress),
      calls: deleteCalls.length,
    };
    return {pages, first_ms: firstMs, list_ms: listMs, filtered, searched, chips0, chips1, keys, crumbs, hash, new_folder: newFolder,
      folder_delete: folderDelete};
  },

  // Object detail, preview of CSV and Parquet, share link.
  async detail({url, user, password, bucket, csv_key, parquet_key}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    await goto(page, url, `#/buckets/${enc(bucket)}/object?key=${enc(csv_key)}`, 'object');
    const meta = {
      size: await page.textContent('[data-testid=meta-size]'),
      type: await page.textContent('[data-testid=meta-content-type]'),
      enc: await page.textContent('[data-testid=meta-encryption]'),
      user_meta: await page.$$eval('[data-testid=user-metadata] tbody tr', (r) => r.map((x) => x.textContent)),
      tags: await page.textContent('[data-testid=object-tags]'),
    };
    await shot(page, 'object-detail');
    // Tags editor: add one and save.
    await page.click('[data-testid=add-tag]');
    const keys = page.getByLabel('Tag key');
    const vals = page.getByLabel('Tag value');
    await keys.last().fill('tier');
    await vals.last().fill('silver');
    await page.click('[data-testid=object-tags-save]');
    await page.waitForSelector('[data-testid=tags-result] .alert');
    const tagsResult = await page.textContent('[data-testid=tags-result]');
    // Share link.
    await page.click('[data-testid=share]');
    await openDialog(page);
    await page.selectOption('dialog[open] select[name=expires]', '86400');
    await clickDialogButton(page, 'Create link');
    await page.waitForSelector('[data-testid=share-url]');
    const shareUrl = await page.$eval('[data-testid=share-url]', (i) => i.value);
    await shot(page, 'object-share');
    await page.keyboard.press('Escape');
    // Preview: CSV.
    await goto(page, url, `#/buckets/${enc(bucket)}/object?key=${enc(csv_key)}&tab=preview`, 'object');
    await page.waitForSelector('.tabpanel[data-state=ready], .tabpanel[data-state=error]');
    const csvState = await page.$eval('.tabpanel', (p) => p.dataset.state);
    const csv = csvState === 'ready' ? {
      kind: await page.$eval('[data-testid=preview-kind]', (e) => e.dataset.kind),
      head: await page.$$eval('[data-testid=preview-rows] thead th', (t) => t.map((x) => x.textContent)),
      rows: await rowsIn(page, 'preview-rows'),
    } : {error: await page.textContent('.tabpanel')};
    await shot(page, 'preview-csv');
    // Preview: Parquet.
    await goto(page, url, `#/buckets/${enc(bucket)}/object?key=${enc(parquet_key)}&tab=preview`, 'object');
    await page.waitForSelector('.tabpanel[data-state=ready], .tabpanel[data-state=error]');
    const pqState = await page.$eval('.tabpanel', (p) => p.dataset.state);
    const parquet = pqState === 'ready' ? {
      kind: await page.$eval('[data-testid=preview-kind]', (e) => e.dataset.kind),
      schema: await page.$$eval('[data-testid=parquet-schema] tbody tr td:first-child', (t) => t.map((x) => x.textContent)),
      rows: await rowsIn(page, 'preview-rows'),
    } : {error: await page.textContent('.tabpanel')};
    await shot(page, 'preview-parquet');
    return {meta, tags_result: tagsResult, share_url: shareUrl, csv, parquet};
  },

  // Retention and legal hold of an object in a locked bucket.
  async lock({url, user, password, bucket, key}) {
    const browser = await launch();
    const page = await newPage(browser);
    await login(page, url, user, password);
    await goto(page, url, `#/buckets/${enc(bucket)}/object?key=${enc(key)}&tab=lock`, 'object');
    await page.waitForSelector('.tabpanel[data-state=ready]');
    const before = {retention: await page.textContent('[data-testid=retention-status]'),
      hold: await page.textContent('[data-testid=legal-hold-status]')};
    await page.click('[data-testid=legal-hold-on]');
    await page.waitForSelector('[data-testid=legal-hold-result] .alert');
    const hold = {result: await page.textContent('[data-testid=legal-hold-result]'),
      status: await page.textContent('[data-testid=legal-hold-status]')};
    const localIn = (ms) => page.evaluate((d) => {
      const t = new Date(Date.now() + d);
      const p = (n) => String(n).padStart(2, '0');
      return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}T${p(t.getHours())}:${p(t.getMinutes())}`;
    }, ms);
    const saveRetention = async (value) => {
      await page.evaluate(() => { document.querySelector('[data-testid=retention-result]').replaceChildren(); });
      await page.fill('input[name=retain-until]', value);
      await page.click('[data-testid=retention-save]');
      await page.waitForSelector('[data-testid=retention-result] .alert');
      return page.$eval('[data-testid=retention-result] .alert', (a) => ({ok: a.classList.contains('alert-ok'), text: a.textContent}));
    };
    const extended = await saveRetention(await localIn(3 * 86400000));
    const shortened = await saveRetention(await localIn(3600000));
    await shot(page, 'object-lock');
    return {before, hold, extended, shortened};
  },
});


