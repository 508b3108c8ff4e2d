// Browser scenarios for the console's operator pages (dashboard, identity, policies, backups,
// audit). Run by tests/e2e/test_console_ops.py:
//   node console_ops.mjs <scenario> '<json args>'
// prints one JSON line ({"ok": true, ...} or {"ok": false, "error"}), see console_lib.mjs.
import {launch, newPage, login, waitPage, goto, shot, main} from './console_lib.mjs';

const T = 30000;

async function withPage(args, fn) {
  // main() closes the browser (after a failure screenshot, if any).
  const browser = await launch();
  const page = await newPage(browser);
  await login(page, args.console, args.user, args.password);
  return fn(page);
}

async function tabReady(page, id) {
  await page.locator(`.tabpanel[data-tab="${id}"][data-state="ready"]`).waitFor({timeout: T});
}

async function rows(page, testid) {
  return page.$$eval(`[data-testid="${testid}"] tbody tr:not(.empty)`,
    (trs) => trs.map((tr) => Array.from(tr.cells, (td) => td.textContent.trim())));
}

async function openTab(page, title, id) {
  await page.getByRole('tab', {name: title, exact: true}).click();
  await tabReady(page, id);
}

// ------------------------------------------------------------------ every page, with data

async function pages(args) {
  return withPage(args, async (page) => {
    const out = {};
    await waitPage(page, 'dashboard');
    await page.getByTestId('dash-buckets').waitFor({timeout: T});
    out.dashboard_buckets = (await rows(page, 'dash-buckets')).map((r) => r[0]);
    out.dashboard_charts = await page.locator('[data-testid^="chart-"]').count();
    out.dashboard_plugins = (await rows(page, 'dash-plugins')).length;

    await goto(page, args.console, '#/identity?tab=users', 'identity');
    await tabReady(page, 'users');
    out.users = (await rows(page, 'users-table')).map((r) => r[0]);
    await shot(page, 'identity-users');
    await openTab(page, 'Groups', 'groups');
    out.groups = (await rows(page, 'groups-table')).map((r) => [r[0], r[2]]);
    await shot(page, 'identity-groups');
    await openTab(page, 'Policies', 'policies');
    out.policies = (await rows(page, 'policies-table')).map((r) => r[0]);
    await page.getByTestId(`policy-edit-${args.policy}`).click();
    out.policy_text = await page.getByTestId('policy-json').inputValue();
    await shot(page, 'identity-policies');
    await openTab(page, 'Access keys', 'keys');
    out.key_descriptions = await page.$$eval('[data-testid="keys-table"] [data-testid="key-desc"]', (els) => els.map((e) => e.textContent));
    // A description holding markup is text: no element was made from it, nothing ran.
    out.xss_elements = await page.$$eval('[data-testid="keys-table"] [data-testid="key-desc"] *', (els) => els.length);
    out.xss_ran = await page.evaluate(() => window.__xss === undefined ? null : window.__xss);
    await shot(page, 'identity-keys');

    await goto(page, args.console, '#/policies', 'policies');
    out.bindings = await page.$$eval('[data-testid="bindings-table"] tbody tr[data-binding]',
      (trs) => trs.map((tr) => [tr.dataset.binding, tr.cells[2].textContent.trim()]));
    await page.getByTestId('suites-run').click();
    await page.waitForFunction(() => {
      const r = document.querySelector('[data-testid="suites-result"]');
      return r && r.textContent && !/Running/.test(r.textContent);
    }, null, {timeout: 60000});
    out.suites = (await page.getByTestId('suites-result').textContent()).slice(0, 300);

    await goto(page, args.console, '#/backups', 'backups');
    out.backups = (await rows(page, 'backups-table')).map((r) => r[0]);
    await shot(page, 'backups-overview');

    await goto(page, args.console, '#/audit', 'audit');
    out.audit_unavailable = await page.getByTestId('audit-unavailable').count();
    await shot(page, 'audit-unavailable');
    return out;
  });
}

// ------------------------------------------------------------------ a scoped key from a template

async function scopedKey(args) {
  return withPage(args, async (page) => {
    await goto(page, args.console, '#/identity?tab=keys', 'identity');
    await tabReady(page, 'keys');
    await page.getByTestId('key-create').click();
    await page.getByTestId('key-template').selectOption('read-only-bucket');
    await page.getByTestId('tpl-bucket').fill(args.bucket);
    await page.getByTestId('key-name').fill('ui-readonly');
    await page.getByTestId('key-description').fill(args.description);
    await page.getByTestId('key-expiry').selectOption({label: '7 days'});
    const policy = JSON.parse(await page.getByTestId('key-policy').inputValue());
    await shot(page, 'identity-key-create');
    await page.locator('dialog[open]').getByRole('button', {name: 'Create key'}).click();
    const sk = page.getByTestId('secret-secret-key');
    await sk.waitFor({timeout: T});
    const secret = (await sk.textContent()).trim();
    const accessKey = (await page.getByTestId('secret-access-key').textContent()).trim();
    const shownBefore = (await page.content()).includes(secret);
    await shot(page, 'identity-key-secret');
    await page.locator('dialog[open]').getByRole('button', {name: /I saved the secret/}).click();
    await page.getByTestId('secret-dialog').waitFor({state: 'detached', timeout: T});
    await page.locator(`[data-testid="keys-table"] tr[data-key="${accessKey}"]`).waitFor({timeout: T});
    const html = await page.content();
    const text = await page.evaluate(() => document.body.innerText);
    return {
      access_key: accessKey, secret_key: secret, policy,
      shown_before: shownBefore,
      secret_in_dom_after: html.includes(secret) || text.includes(secret),
      dialogs_left: await page.locator('dialog').count(),
      description_cell: await page.locator(`[data-testid="keys-table"] tr[data-key="${accessKey}"] [data-testid="key-desc"]`).textContent(),
    };
  });
}

/** Every access-key template, saved as a named policy through the editor (the server validates). */
async function templates(args) {
  return withPage(args, async (page) => {
    await goto(page, args.console, '#/identity?tab=policies', 'identity');
    await tabReady(page, 'policies');
    const ids = await page.getByTestId('key-template').evaluate((sel) => Array.from(sel.options, (o) => o.value).filter(Boolean));
    const saved = [];
    for (const id of ids) {
      const name = `${args.prefix}-${id}`;
      await page.getByTestId('policy-name').fill(name);
      await page.getByTestId('key-template').selectOption(id);
      await page.getByTestId('policy-save').click();
      await page.getByTestId(`policy-edit-${name}`).waitFor({timeout: T});
      await tabReady(page, 'policies');
      saved.push(name);
    }
    return {ids, saved};
  });
}

async function keyDisable(args) {
  return withPage(args, async (page) => {
    await goto(page, args.console, '#/identity?tab=keys', 'identity');
    await tabReady(page, 'keys');
    const row = page.locator(`[data-testid="keys-table"] tr[data-key="${args.access_key}"]`);
    await page.getByTestId(`key-toggle-${args.access_key}`).click();
    await row.getByText('disabled', {exact: true}).waitFor({timeout: T});
    return {row: await row.evaluate((tr) => Array.from(tr.cells, (td) => td.textContent.trim()))};
  });
}

// ------------------------------------------------------------------ policy editor errors

async function badPolicy(args) {
  return withPage(args, async (page) => {
    await goto(page, args.console, '#/identity?tab=policies', 'identity');
    await tabReady(page, 'policies');
    await page.getByTestId('policy-name').fill(args.name);
    await page.getByTestId('policy-json').fill('{"Version": "2012-10-17", "Statement": [');
    const clientCheck = await page.getByTestId('policy-check').textContent();
    const saveDisabledOnBadJson = await page.getByTestId('policy-save').isDisabled();
    await page.getByTestId('policy-json').fill(args.document);
    await page.getByTestId('policy-save').click();
    const err = page.getByTestId('policy-error');
    await err.waitFor({state: 'visible', timeout: T});
    const serverError = await err.textContent();
    await shot(page, 'identity-policy-error');
    // Fixed, it saves and is listed.
    await page.getByTestId('policy-json').fill(args.good_document);
    await page.getByTestId('policy-save').click();
    await page.getByTestId(`policy-edit-${args.name}`).waitFor({timeout: T});
    return {client_check: clientCheck, save_disabled_on_bad_json: saveDisabledOnBadJson, server_error: serverError};
  });
}

// ------------------------------------------------------------------ lifecycle dry runs

async function lifecycle(args) {
  return withPage(args, async (page) => {
    await goto(page, args.console, '#/policies', 'policies');
    await page.getByTestId('lc-bucket').fill(args.bucket);
    await page.getByTestId('lc-dry-today').click();
    await page.getByTestId('lc-today').waitFor({timeout: 60000});
    const today = await rows(page, 'lc-actions');
    await page.getByTestId('lc-date').fill(args.date);
    await page.getByTestId('lc-dry-date').click();
    await page.getByTestId('lc-date-result').waitFor({timeout: 60000});
    const onDate = await rows(page, 'lc-actions');
    const diff = await page.$$eval('[data-testid="lc-diff"] tbody tr[data-change]',
      (trs) => trs.map((tr) => [tr.dataset.change, ...Array.from(tr.cells, (td) => td.textContent.trim()).slice(1)]));
    await page.getByTestId('lc-date-result').scrollIntoViewIfNeeded();
    await page.evaluate(() => document.querySelector('[data-testid="lc-date-result"]').scrollIntoView({block: 'start'}));
    await shot(page, 'policies-lifecycle-dry-run');
    // A real scan now (nothing is due today): its report, then the "last scan" status.
    await page.getByTestId('lc-run-now').click();
    await page.locator('dialog[open]').getByRole('button', {name: 'Run scan'}).click();
    await page.getByTestId('lc-run').waitFor({timeout: 60000});
    const ran = await rows(page, 'lc-actions');
    await page.locator('[data-testid="lc-status"] h3', {hasText: 'Last scan'}).waitFor({timeout: T});
    const status = await page.getByTestId('lc-status').textContent();
    return {today, on_date: onDate, diff, ran, status: status.slice(0, 500)};
  });
}

// ------------------------------------------------------------------ backups

async function waitJob(page, bucket) {
  await page.waitForFunction((b) => {
    const e = document.querySelector(`[data-testid="job-state-${b}"]`);
    return e && /succeeded|failed/.test(e.textContent);
  }, bucket, {timeout: 120000});
  return (await page.getByTestId(`job-state-${bucket}`).textContent()).trim();
}

async function backupRun(args) {
  return withPage(args, async (page) => {
    await goto(page, args.console, '#/backups', 'backups');
    await page.getByTestId(`backup-run-${args.bucket}`).click();
    const state = await waitJob(page, args.bucket);
    const card = page.getByTestId(`backup-${args.bucket}`);
    await card.locator('.tl-gen').first().waitFor({timeout: T});
    const generations = await card.locator('.tl-gen').evaluateAll((els) => els.map((e) => Number(e.dataset.generation)));
    await card.scrollIntoViewIfNeeded();
    await shot(page, 'backups');
    return {state, generations};
  });
}

async function restore(args) {
  return withPage(args, async (page) => {
    await goto(page, args.console, '#/backups', 'backups');
    const card = page.getByTestId(`backup-${args.bucket}`);
    await card.locator(`.tl-gen[data-generation="${args.generation}"]`).click();
    await page.getByTestId(`backup-restore-${args.bucket}`).click();
    await page.getByTestId('restore-generation').selectOption(String(args.generation));
    await page.getByTestId('restore-to').fill(args.to);
    await page.getByTestId('restore-prefix').fill(args.prefix);
    await shot(page, 'backups-restore-dialog');
    await page.locator('dialog[open]').getByRole('button', {name: 'Restore', exact: true}).click();
    const state = await waitJob(page, args.bucket);
    const report = await page.getByTestId(`jobbox-${args.bucket}`).textContent();
    await page.getByTestId(`jobbox-${args.bucket}`).scrollIntoViewIfNeeded();
    await shot(page, 'backups-restored');
    const dash = await dashboardShots(page, args);
    return {state, report: report.slice(0, 1000), ...dash};
  });
}

/** The dashboard once the console's sampler has a few 10 s steps (screenshots, wide and narrow). */
async function dashboardShots(page, args) {
  const deadline = Date.now() + 30000;
  let points = 0;
  while (Date.now() < deadline) {
    points = await page.evaluate(async () => {
      const r = await fetch('/api/series?window_s=3600', {credentials: 'same-origin'});
      const d = await r.json();
      const pts = d.points || [];
      return pts.some((p) => p.requests > 0) ? pts.length : 0;
    });
    if (points >= 2) break;
    await page.waitForTimeout(2000);
  }
  await goto(page, args.console, '#/', 'dashboard');
  const out = {
    series_points: points,
    dashboard_buckets: (await rows(page, 'dash-buckets')).map((r) => [r[0], r[1], r[2]]),
    dashboard_schedules: (await rows(page, 'dash-schedules')).map((r) => r[0]),
  };
  await shot(page, 'dashboard');
  await page.setViewportSize({width: 390, height: 844});
  await goto(page, args.console, '#/', 'dashboard');
  await shot(page, 'dashboard-narrow');
  await page.setViewportSize({width: 1280, height: 800});
  return out;
}

// ------------------------------------------------------------------ bindings, plugins, suites

async function suiteOutcomes(page) {
  await page.getByTestId('suites-run').click();
  await page.getByTestId('suites-table').waitFor({timeout: 60000});
  return page.$$eval('[data-testid="suites-table"] tbody tr:not(.empty)',
    (trs) => trs.map((tr) => [tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim()]));
}

async function closedDialog(page, timeout = T) {
  await page.waitForFunction(() => !document.querySelector('dialog[open]'), null, {timeout});
}

async function policiesDir(args) {
  return withPage(args, async (page) => {
    const out = {};
    await goto(page, args.console, '#/policies', 'policies');
    out.suites_before = await suiteOutcomes(page);
    // Edit a binding's TOML in the UI: bronze's disposal after 120 days instead of 90.
    await page.getByTestId('binding-edit-bronze-lifecycle.toml').click();
    const area = page.getByTestId('binding-toml');
    out.toml_before = await area.inputValue();
    await area.fill(out.toml_before.replace('expiration = { days = 90 }', 'expiration = { days = 120 }'));
    await shot(page, 'policies-binding-edit');
    await page.locator('dialog[open]').getByRole('button', {name: 'Save and load'}).click();
    await closedDialog(page);
    await waitPage(page, 'policies');
    if (args.wasm) {
      await page.getByTestId('plugin-upload').click();
      await page.getByTestId('upload-plugin-file').setInputFiles(args.wasm);
      await page.getByTestId('upload-plugin-name').fill(args.plugin_name);
      await page.locator('dialog[open]').getByRole('button', {name: 'Upload'}).click();
      await closedDialog(page, 60000);
      await waitPage(page, 'policies');
    }
    await page.getByTestId('binding-upload').click();
    await page.getByTestId('upload-binding-file').setInputFiles(args.binding_file);
    await page.locator('dialog[open]').getByRole('button', {name: 'Upload'}).click();
    await closedDialog(page);
    await waitPage(page, 'policies');
    const name = args.binding_file.split('/').pop();
    const row = page.locator(`[data-testid="bindings-table"] tr[data-binding="${name}"]`);
    await row.waitFor({timeout: T});
    out.uploaded_row = await row.evaluate((tr) => Array.from(tr.cells, (td) => td.textContent.trim()));
    // A new binding written in the editor whose plugin is missing: written, not loaded.
    await page.getByTestId('binding-new').click();
    await page.getByTestId('binding-name').fill(args.broken_name);
    await page.getByTestId('binding-toml').fill(args.broken_toml);
    await page.locator('dialog[open]').getByRole('button', {name: 'Save and load'}).click();
    const derr = page.locator('dialog[open] .dialog-error');
    await derr.waitFor({state: 'visible', timeout: T});
    out.broken_dialog_error = await derr.textContent();
    await page.locator('dialog[open]').getByRole('button', {name: 'Cancel'}).click();
    await closedDialog(page);
    await page.getByRole('button', {name: 'Reload'}).click();
    await page.locator(`[data-testid="bindings-table"] tr.row-bad[data-binding="${args.broken_name}"]`).waitFor({timeout: T});
    out.bindings_alert = await page.getByTestId('bindings-alert').textContent();
    out.suites_after = await suiteOutcomes(page);
    await page.evaluate(() => {
      for (const t of document.querySelectorAll('.toast')) t.remove();
      window.scrollTo(0, 0);
    });
    await shot(page, 'policies');
    await page.getByTestId('suites-result').scrollIntoViewIfNeeded();
    await shot(page, 'policies-suites');
    await goto(page, args.console, '#/', 'dashboard');
    out.plugins_alert = await page.getByTestId('plugins-alert').textContent();
    const bad = page.locator('[data-testid="dash-plugins"] tr.row-bad').first();
    out.dashboard_bad_row = await bad.evaluate((tr) => Array.from(tr.cells, (td) => td.textContent.trim()));
    await page.evaluate(() => document.querySelector('[data-testid="plugins-alert"]').closest('.card').scrollIntoView({block: 'start'}));
    await page.evaluate(() => window.scrollBy(0, -60));
    await shot(page, 'dashboard-failing-binding');
    return out;
  });
}


// ------------------------------------------------------------------ identity changes in the UI

async function identityCrud(args) {
  return withPage(args, async (page) => {
    const out = {};
    await goto(page, args.console, '#/identity?tab=users', 'identity');
    await tabReady(page, 'users');
    await page.getByTestId('user-create').click();
    await page.getByTestId('new-user-name').fill(args.user_name);
    await page.getByTestId('new-user-secret').fill(args.user_secret);
    await page.locator('dialog[open] label.check', {hasText: 'readonly'}).locator('input').check();
    await page.locator('dialog[open]').getByRole('button', {name: 'Create', exact: true}).click();
    await closedDialog(page);
    const row = page.locator('[data-testid="users-table"] tr', {hasText: args.user_name});
    await row.waitFor({timeout: T});
    out.user_row = await row.evaluate((tr) => Array.from(tr.cells, (td) => td.textContent.trim()));

    // Attach one more policy through the user's Policies… dialog.
    await page.getByTestId(`user-policies-${args.user_name}`).click();
    await page.locator('dialog[open]').getByTestId('attach-diagnostics').check();
    await page.locator('dialog[open]').getByRole('button', {name: 'Save', exact: true}).click();
    await closedDialog(page);
    await page.locator('[data-testid="users-table"] tr', {hasText: args.user_name}).getByText('diagnostics').waitFor({timeout: T});

    await openTab(page, 'Groups', 'groups');
    await page.getByTestId('group-create').click();
    await page.getByTestId('new-group-name').fill(args.group);
    await page.locator('dialog[open] label.check', {hasText: args.user_name}).locator('input').check();
    await page.locator('dialog[open]').getByRole('button', {name: 'Create', exact: true}).click();
    await closedDialog(page);
    const grow = page.locator('[data-testid="groups-table"] tr', {hasText: args.group});
    await grow.waitFor({timeout: T});
    out.group_row = await grow.evaluate((tr) => Array.from(tr.cells, (td) => td.textContent.trim()));

    await openTab(page, 'Users', 'users');
    await page.getByTestId(`user-toggle-${args.user_name}`).click();
    await page.locator('[data-testid="users-table"] tr', {hasText: args.user_name}).getByText('disabled', {exact: true}).waitFor({timeout: T});
    out.user_row_after = await page.locator('[data-testid="users-table"] tr', {hasText: args.user_name})
      .evaluate((tr) => Array.from(tr.cells, (td) => td.textContent.trim()));
    return out;
  });
}

// ------------------------------------------------------------------ a read-only user

async function readonlyUser(args) {
  return withPage(args, async (page) => {
    const out = {};
    await waitPage(page, 'dashboard');
    out.dashboard_cards = await page.$$eval('#page .card-title', (els) => els.map((e) => e.textContent.trim()));
    await shot(page, 'readonly-dashboard');
    await goto(page, args.console, '#/identity?tab=users', 'identity');
    await page.locator('.tabpanel[data-tab="users"]:not([data-state="loading"])').waitFor({timeout: T});
    out.identity_text = (await page.locator('#page').textContent()).slice(0, 600);
    out.identity_buttons = await page.locator('[data-testid="user-create"], [data-testid^="user-delete-"]').count();
    await goto(page, args.console, '#/policies', 'policies');
    out.policies_text = (await page.locator('#page').textContent()).slice(0, 400);
    await goto(page, args.console, '#/backups', 'backups');
    out.backups_text = (await page.locator('#page').textContent()).slice(0, 400);
    out.backup_buttons = await page.locator('[data-testid^="backup-run-"]').count();
    await goto(page, args.console, '#/audit', 'audit');
    out.audit_text = (await page.locator('#page').textContent()).slice(0, 400);
    return out;
  });
}

// ------------------------------------------------------------------ audit

async function audit(args) {
  return withPage(args, async (page) => {
    // Paging: 4 entries a page, "Older" appends the next 4 (by the page's `next` cursor).
    await goto(page, args.console, '#/audit?limit=4', 'audit');
    const firstPage = await rows(page, 'audit-table');
    await page.getByTestId('audit-older').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr:not(.empty)').length > 4, null, {timeout: T});
    const twoPages = await rows(page, 'audit-table');
    await goto(page, args.console, '#/audit', 'audit');
    await page.locator('[data-testid="audit-table"] tbody tr:not(.empty)').first().waitFor({timeout: T});
    const all = await rows(page, 'audit-table');
    await shot(page, 'audit');
    await page.getByTestId('audit-principal').fill(args.principal);
    await page.getByTestId('audit-apply').click();
    await page.waitForFunction((p) => {
      const trs = Array.from(document.querySelectorAll('[data-testid="audit-table"] tbody tr'));
      return trs.length > 0 && trs.every((tr) => tr.classList.contains('empty') || (tr.cells[1] && tr.cells[1].textContent.trim() === p));
    }, args.principal, {timeout: T});
    const filtered = await rows(page, 'audit-table');
    await shot(page, 'audit-filtered');
    const pick = (r) => [r[1], r[2], r[3], r[5], r[12]];
    return {all: all.map(pick), filtered: filtered.map(pick), first_page: firstPage.map(pick), two_pages: twoPages.map(pick)};
  });
}

const SCENARIOS = {pages, identity_crud: identityCrud, key_disable: keyDisable, templates, readonly: readonlyUser, policies_dir: policiesDir, scoped_key: scopedKey, bad_policy: badPolicy, lifecycle, backup_run: backupRun, restore, audit};

main(async (a, b) => {
  const scenario = typeof a === 'string' ? a : process.argv[2];
  let args = typeof a === 'string' ? b : a;
  if (!args || typeof args !== 'object' || args.console === undefined) args = JSON.parse(process.argv[3] || '{}');
  const fn = SCENARIOS[scenario];
  if (!fn) throw new Error(`unknown scenario ${scenario}`);
  return fn(args);
});
