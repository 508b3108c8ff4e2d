// Identity: users, groups, IAM policies (JSON editor) and access keys (scoped templates,
// secret shown once). Every call goes through /api/admin/v1/iam/... as the session's key.

import {h, mount, table, button, field, modal, dialog, confirmTyped, confirm, toast, errorText,
  alertBox, fmtTime, fmtAgo, tabs, badge, select, copyText} from '../dom.js';
import {admin, caps, enc, session} from '../api.js';

const CANNED = new Set(['readwrite', 'readonly', 'writeonly', 'diagnostics', 'consoleAdmin']);

function qget(ctx, name) {
  const q = ctx && ctx.query;
  if (!q) return null;
  if (typeof q.get === 'function') return q.get(name);
  return q[name] === undefined ? null : q[name];
}

function statusBadge(s) {
  return badge(s || 'unknown', s === 'enabled' ? 'ok' : s === 'disabled' ? 'bad' : 'plain');
}

function chips(list, empty = '—') {
  if (!list || list.length === 0) return h('span', {class: 'muted'}, empty);
  return h('span', {class: 'chips'}, list.map((p) => h('span', {class: 'chip mono'}, p)));
}

function randomSecret(n = 40) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const buf = new Uint32Array(n);
  crypto.getRandomValues(buf);
  return Array.from(buf, (x) => alphabet[x % alphabet.length]).join('');
}

function filterBox(placeholder, onInput) {
  const input = h('input', {type: 'search', placeholder, class: 'filter', 'aria-label': placeholder,
    'data-filter': ''});
  input.addEventListener('input', () => onInput(input.value.trim().toLowerCase()));
  return input;
}

function rowButtons(...btns) {
  return h('div', {class: 'row-actions'}, btns.filter(Boolean));
}

/**
 * A list a tab's pickers offer (`rest` = 'iam/users' …, `pick` its entries from the answer):
 * {items} or, when the server refuses it, {items: [], error} with why, shown where the picker
 * would be (an empty picker would look valid).
 */
async function pickList(rest, what, pick) {
  try {
    return {items: pick(await admin('GET', rest)), error: null};
  } catch (e) {
    if (e.status === 401) throw e;
    return {items: [], error: e.status === 403
      ? `Your key may not list ${what}: ${errorText(e)}`
      : `The ${what} could not be listed: ${errorText(e)}`};
  }
}

const policyList = () => pickList('iam/policies', 'policies', (r) => Object.keys((r && r.policies) || {}).sort());
const userList = () => pickList('iam/users', 'users', (r) => (r && r.users) || []);
const groupList = () => pickList('iam/groups', 'groups', (r) => (r && r.groups) || []);

/** The error of a pickList (or null), as an alert with a test id. */
function listAlert(list, testid) {
  if (!list.error) return null;
  const a = alertBox(list.error);
  a.dataset.testid = testid;
  return a;
}

// ------------------------------------------------------------------ policy templates

const arn = (s) => `arn:aws:s3:::${s}`;
const cleanPrefix = (p) => String(p || '').replace(/^\/+/, '');

/** Templates for the lab's workloads: {id, title, params: [{name, label, def}], make(params)}. */
export const TEMPLATES = [
  {id: 'read-only-bucket', title: 'read-only bucket', params: [{name: 'bucket', label: 'Bucket', def: 'gold'}],
    make: ({bucket}) => ({Version: '2012-10-17', Statement: [
      {Sid: 'ListBucket', Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'],
        Resource: [arn(bucket)]},
      {Sid: 'ReadObjects', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging'],
        Resource: [arn(`${bucket}/*`)]},
    ]})},
  {id: 'read-write-prefix', title: 'read-write prefix',
    params: [{name: 'bucket', label: 'Bucket', def: 'silver'}, {name: 'prefix', label: 'Prefix', def: 'team/'}],
    make: ({bucket, prefix}) => {
      const p = cleanPrefix(prefix);
      return {Version: '2012-10-17', Statement: [
        {Sid: 'ListPrefix', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [arn(bucket)],
          Condition: {StringLike: {'s3:prefix': [`${p}*`]}}},
        {Sid: 'Locate', Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: [arn(bucket)]},
        {Sid: 'ReadWritePrefix', Effect: 'Allow',
          Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          Resource: [arn(`${bucket}/${p}*`)]},
      ]};
    }},
  {id: 'write-only-drop-zone', title: 'write-only drop zone',
    params: [{name: 'bucket', label: 'Bucket', def: 'bronze'}, {name: 'prefix', label: 'Prefix', def: 'incoming/'}],
    make: ({bucket, prefix}) => ({Version: '2012-10-17', Statement: [
      {Sid: 'DropOnly', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
        Resource: [arn(`${bucket}/${cleanPrefix(prefix)}*`)]},
    ]})},
  {id: 'spark-job', title: 'Spark job (read bronze, write silver)',
    params: [{name: 'source', label: 'Read from', def: 'bronze'}, {name: 'dest', label: 'Write to', def: 'silver'}],
    make: ({source, dest}) => ({Version: '2012-10-17', Statement: [
      {Sid: 'ListLayers', Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        Resource: [arn(source), arn(dest)]},
      {Sid: 'ReadSource', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [arn(`${source}/*`)]},
      {Sid: 'WriteDest', Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: [arn(`${dest}/*`)]},
    ]})},
  {id: 'airflow', title: 'Airflow',
    params: [{name: 'logs', label: 'Logs bucket', def: 'airflow'}, {name: 'landing', label: 'Landing bucket', def: 'bronze'}],
    make: ({logs, landing}) => ({Version: '2012-10-17', Statement: [
      {Sid: 'ListBuckets', Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'],
        Resource: [arn(logs), arn(landing)]},
      {Sid: 'TaskLogs', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: [arn(`${logs}/*`)]},
      {Sid: 'Ingest', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: [arn(`${landing}/*`)]},
    ]})},
  {id: 'mlflow', title: 'MLflow (mlflow bucket)', params: [{name: 'bucket', label: 'Bucket', def: 'mlflow'}],
    make: ({bucket}) => ({Version: '2012-10-17', Statement: [
      {Sid: 'OwnTheMlflowBucket', Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        Resource: [arn(bucket)]},
      {Sid: 'ArtifactsAndModels', Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: [arn(`${bucket}/*`)]},
      {Sid: 'ProductionModelsAreNeverDeleted', Effect: 'Deny', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
        Resource: [arn(`${bucket}/models/production/*`)]},
    ]})},
];

/** Client-side check of a policy text: null when fine, else what is wrong. */
export function checkPolicyText(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `Not valid JSON: ${e.message}`;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'A policy is a JSON object.';
  if (!('Statement' in doc)) return 'The policy has no "Statement".';
  const st = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  for (const [i, s] of st.entries()) {
    if (!s || typeof s !== 'object') return `Statement ${i + 1} is not an object.`;
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') return `Statement ${i + 1}: Effect must be "Allow" or "Deny".`;
    if (!('Action' in s) && !('NotAction' in s)) return `Statement ${i + 1} has no Action.`;
  }
  return null;
}

/** A template picker with its parameter inputs that writes the generated JSON to `textarea`. */
function templatePicker(textarea, onChange, {includeNone = false} = {}) {
  const opts = [['', includeNone ? 'No policy (the key may do what its parent may)' : 'Blank / custom'],
    ...TEMPLATES.map((t) => [t.id, t.title])];
  const sel = select(opts, '', {'data-testid': 'key-template', 'aria-label': 'Template'});
  const paramsBox = h('div', {class: 'form-row'});
  const values = {};
  const regen = () => {
    const t = TEMPLATES.find((x) => x.id === sel.value);
    if (!t) {
      if (includeNone) textarea.value = '';
      onChange && onChange();
      return;
    }
    textarea.value = JSON.stringify(t.make(values), null, 2);
    onChange && onChange();
  };
  sel.addEventListener('change', () => {
    const t = TEMPLATES.find((x) => x.id === sel.value);
    mount(paramsBox);
    for (const k of Object.keys(values)) delete values[k];
    if (t) {
      for (const p of t.params) {
        values[p.name] = p.def;
        const inp = h('input', {type: 'text', value: p.def, class: 'mono', 'data-testid': `tpl-${p.name}`,
          spellcheck: 'false', autocomplete: 'off'});
        inp.addEventListener('input', () => { values[p.name] = inp.value.trim(); regen(); });
        paramsBox.append(field(p.label, inp));
      }
    }
    regen();
  });
  return h('div', {class: 'template-picker'}, field('Template', sel), paramsBox);
}

// ------------------------------------------------------------------ users

async function usersTab(el, can) {
  const [{users}, pols] = await Promise.all([admin('GET', 'iam/users'), policyList()]);
  let filter = '';
  const listBox = h('div', {class: 'table-wrap'});
  const reload = () => usersTab(el, can);
  const draw = () => {
    const rows = users.filter((u) => !filter || u.access_key.toLowerCase().includes(filter) ||
      (u.policies || []).some((p) => p.toLowerCase().includes(filter)) ||
      (u.groups || []).some((g) => g.toLowerCase().includes(filter)));
    mount(listBox, table([
      {title: 'User (access key)', cell: (u) => h('span', {class: 'mono'}, u.access_key)},
      {title: 'Status', cell: (u) => statusBadge(u.status)},
      {title: 'Policies', cell: (u) => chips(u.policies, 'none')},
      {title: 'Groups', cell: (u) => chips(u.groups, 'none')},
      {title: 'Created', cell: (u) => h('span', {title: fmtTime(u.created_ms)}, fmtAgo(u.created_ms))},
      {title: 'Actions', cell: (u) => rowButtons(
        can.has('admin:CreatePolicy') || can.has('admin:CreateUser')
          ? button('Policies…', () => attachDialog({user: u.access_key}, u.policies || [], pols).then((c) => c && reload()),
            {testid: `user-policies-${u.access_key}`}) : null,
        can.has('admin:CreateUser') ? button(u.status === 'enabled' ? 'Disable' : 'Enable', async () => {
          try {
            await admin('POST', `iam/users/${enc(u.access_key)}/${u.status === 'enabled' ? 'disable' : 'enable'}`);
            toast(`${u.access_key} ${u.status === 'enabled' ? 'disabled' : 'enabled'}`, 'ok');
            reload();
          } catch (e) { toast(errorText(e), 'error'); }
        }, {testid: `user-toggle-${u.access_key}`}) : null,
        can.has('admin:CreateUser') ? button('Delete', async () => {
          if (!await confirmTyped('Delete user', `Delete the user ${u.access_key}, its access keys and memberships?`, u.access_key)) return;
          try {
            await admin('DELETE', `iam/users/${enc(u.access_key)}`);
            toast(`${u.access_key} deleted`, 'ok');
            reload();
          } catch (e) { toast(errorText(e), 'error'); }
        }, {kind: 'danger', testid: `user-delete-${u.access_key}`}) : null)},
    ], rows, {empty: filter ? 'No user matches' : 'No users yet', testid: 'users-table', class: 'names-nowrap'}));
  };
  draw();
  mount(el,
    h('div', {class: 'toolbar'},
      filterBox('Filter users', (v) => { filter = v; draw(); }),
      can.has('admin:CreateUser') ? button('Create user', () => createUserDialog(pols).then((c) => c && reload()),
        {kind: 'primary', testid: 'user-create'}) : null),
    listAlert(pols, 'policies-list-error'),
    listBox);
}

async function createUserDialog(pols) {
  const ak = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false', class: 'mono', 'data-testid': 'new-user-name',
    placeholder: 'spark-etl'});
  const secret = h('input', {type: 'text', autocomplete: 'new-password', spellcheck: 'false', class: 'mono',
    'data-testid': 'new-user-secret', value: randomSecret(32)});
  const boxes = pols.items.map((p) => ({p, input: h('input', {type: 'checkbox', value: p})}));
  const body = h('div', {class: 'form'},
    field('Access key (user name)', ak, '3–128 characters: letters, digits, . _ @ + = -'),
    field('Secret key', secret, '8–40 visible characters; shown here only — copy it now.'),
    button('Generate another secret', () => { secret.value = randomSecret(32); }),
    h('fieldset', {class: 'checks'}, h('legend', null, 'Policies'),
      listAlert(pols, 'policy-picker-error'),
      boxes.map(({p, input}) => h('label', {class: 'check'}, input, h('span', {class: 'mono'}, p)))));
  const v = await dialog({title: 'Create user', body, actions: [
    {text: 'Cancel', value: null}, {text: 'Create', kind: 'primary', value: 'create'}],
  onAction: async () => {
    const name = ak.value.trim();
    await admin('PUT', `iam/users/${enc(name)}`, {secret_key: secret.value});
    const chosen = boxes.filter((b) => b.input.checked).map((b) => b.p);
    if (chosen.length) await admin('POST', 'iam/attach', {policies: chosen, user: name});
    toast(`User ${name} created`, 'ok');
  }}).promise;
  return v === 'create';
}

/** Attach/detach policies of a user or group: `target` = {user} or {group}. */
async function attachDialog(target, current, pols) {
  const cur = new Set(current);
  // Without the list, the attached ones can still be detached.
  const names = pols.error ? [...cur].sort() : pols.items;
  const boxes = names.map((p) => ({p, input: h('input', {type: 'checkbox', value: p, checked: cur.has(p),
    'data-testid': `attach-${p}`})}));
  const who = target.user ? `user ${target.user}` : `group ${target.group}`;
  const body = h('fieldset', {class: 'checks'}, h('legend', null, `Policies of ${who}`),
    listAlert(pols, 'policy-picker-error'),
    boxes.map(({p, input}) => h('label', {class: 'check'}, input, h('span', {class: 'mono'}, p),
      CANNED.has(p) ? badge('canned', 'plain') : null)));
  const v = await dialog({title: `Policies of ${who}`, body, actions: [
    {text: 'Cancel', value: null}, {text: 'Save', kind: 'primary', value: 'save'}],
  onAction: async () => {
    const want = new Set(boxes.filter((b) => b.input.checked).map((b) => b.p));
    const add = [...want].filter((p) => !cur.has(p));
    const del = [...cur].filter((p) => !want.has(p));
    if (add.length) await admin('POST', 'iam/attach', {policies: add, ...target});
    if (del.length) await admin('POST', 'iam/detach', {policies: del, ...target});
    toast(`Policies of ${who} saved`, 'ok');
  }}).promise;
  return v === 'save';
}

// ------------------------------------------------------------------ groups

async function groupsTab(el, can) {
  const [{groups}, usersR, pols] = await Promise.all([admin('GET', 'iam/groups'), userList(), policyList()]);
  const userNames = {items: usersR.items.map((u) => u.access_key).sort(), error: usersR.error};
  const reload = () => groupsTab(el, can);
  const act = (fn, msg) => async () => {
    try {
      if (await fn() === false) return;
      if (msg) toast(msg, 'ok');
      reload();
    } catch (e) { toast(errorText(e), 'error'); }
  };
  const canEdit = can.has('admin:CreateUser') || can.has('admin:ListGroups');
  mount(el,
    h('div', {class: 'toolbar'},
      canEdit ? button('Create group', () => groupMembersDialog(null, [], userNames).then((c) => c && reload()),
        {kind: 'primary', testid: 'group-create'}) : null),
    listAlert(userNames, 'users-list-error'),
    listAlert(pols, 'policies-list-error'),
    h('div', {class: 'table-wrap'}, table([
      {title: 'Group', cell: (g) => h('span', {class: 'mono'}, g.name)},
      {title: 'Status', cell: (g) => statusBadge(g.status)},
      {title: 'Members', cell: (g) => chips(g.members, 'none')},
      {title: 'Policies', cell: (g) => chips(g.policies, 'none')},
      {title: 'Updated', cell: (g) => h('span', {title: fmtTime(g.updated_ms)}, fmtAgo(g.updated_ms))},
      {title: 'Actions', cell: (g) => canEdit ? rowButtons(
        button('Add members…', () => groupMembersDialog(g.name, g.members || [], userNames).then((c) => c && reload())),
        (g.members || []).length ? button('Remove members…', () => removeMembersDialog(g).then((c) => c && reload())) : null,
        button('Policies…', () => attachDialog({group: g.name}, g.policies || [], pols).then((c) => c && reload())),
        button(g.status === 'enabled' ? 'Disable' : 'Enable', act(() => admin('POST',
          `iam/groups/${enc(g.name)}/${g.status === 'enabled' ? 'disable' : 'enable'}`),
        `${g.name} ${g.status === 'enabled' ? 'disabled' : 'enabled'}`)),
        button('Delete', act(async () => {
          if ((g.members || []).length) {
            toast('Remove the group\'s members first: only an empty group can be deleted.', 'error');
            return false;
          }
          if (!await confirm('Delete group', `Delete the group ${g.name}?`, 'Delete', 'danger')) return false;
          await admin('DELETE', `iam/groups/${enc(g.name)}`);
          return true;
        }, `${g.name} deleted`), {kind: 'danger'})) : null},
    ], groups, {empty: 'No groups yet', testid: 'groups-table', class: 'names-nowrap'})));
}

async function groupMembersDialog(name, members, userNames) {
  const nameInput = name ? null : h('input', {type: 'text', class: 'mono', autocomplete: 'off', spellcheck: 'false',
    'data-testid': 'new-group-name', placeholder: 'analysts'});
  const have = new Set(members);
  const boxes = userNames.items.filter((u) => !have.has(u)).map((u) => ({u, input: h('input', {type: 'checkbox', value: u})}));
  const body = h('div', {class: 'form'},
    nameInput ? field('Group name', nameInput) : null,
    h('fieldset', {class: 'checks'}, h('legend', null, 'Members'),
      userNames.error ? listAlert(userNames, 'user-picker-error')
        : boxes.length ? boxes.map(({u, input}) => h('label', {class: 'check'}, input, h('span', {class: 'mono'}, u)))
          : h('p', {class: 'muted'}, 'No other users.')));
  const v = await dialog({title: name ? `Add members to ${name}` : 'Create group', body, actions: [
    {text: 'Cancel', value: null}, {text: name ? 'Add' : 'Create', kind: 'primary', value: 'ok'}],
  onAction: async () => {
    const g = name || nameInput.value.trim();
    const chosen = boxes.filter((b) => b.input.checked).map((b) => b.u);
    await admin('PUT', `iam/groups/${enc(g)}`, {members: chosen});
    toast(name ? `Members added to ${g}` : `Group ${g} created`, 'ok');
  }}).promise;
  return v === 'ok';
}

async function removeMembersDialog(g) {
  const boxes = (g.members || []).map((u) => ({u, input: h('input', {type: 'checkbox', value: u})}));
  const body = h('fieldset', {class: 'checks'}, h('legend', null, 'Remove'),
    boxes.map(({u, input}) => h('label', {class: 'check'}, input, h('span', {class: 'mono'}, u))));
  const v = await dialog({title: `Remove members from ${g.name}`, body, actions: [
    {text: 'Cancel', value: null}, {text: 'Remove', kind: 'danger', value: 'ok'}],
  onAction: async () => {
    const chosen = boxes.filter((b) => b.input.checked).map((b) => b.u);
    if (!chosen.length) throw new Error('Pick at least one member.');
    await admin('POST', `iam/groups/${enc(g.name)}/remove-members`, {members: chosen});
    toast(`Removed ${chosen.join(', ')} from ${g.name}`, 'ok');
  }}).promise;
  return v === 'ok';
}

// ------------------------------------------------------------------ policies

async function policiesTab(el, can) {
  const [{policies}, usersR, groupsR] = await Promise.all([admin('GET', 'iam/policies'), userList(), groupList()]);
  const attachedTo = (name) => [
    ...usersR.items.filter((u) => (u.policies || []).includes(name)).map((u) => `user ${u.access_key}`),
    ...groupsR.items.filter((g) => (g.policies || []).includes(name)).map((g) => `group ${g.name}`)];
  // "nobody" only when both lists were read.
  const attachedUnknown = !!(usersR.error || groupsR.error);
  const names = Object.keys(policies || {}).sort((a, b) => Number(CANNED.has(b)) - Number(CANNED.has(a)) || a.localeCompare(b));
  const reload = () => policiesTab(el, can);
  const mayWrite = can.has('admin:CreatePolicy');

  // the editor
  const nameInput = h('input', {type: 'text', class: 'mono', autocomplete: 'off', spellcheck: 'false',
    'data-testid': 'policy-name', placeholder: 'spark-etl'});
  const text = h('textarea', {class: 'code-editor mono', rows: 14, spellcheck: 'false', 'data-testid': 'policy-json',
    'aria-label': 'Policy document (JSON)'});
  const check = h('p', {class: 'check-line', 'data-testid': 'policy-check', 'aria-live': 'polite'});
  const serverError = h('div', {class: 'alert alert-error', role: 'alert', hidden: true, 'data-testid': 'policy-error'});
  const saveBtn = button('Save policy', null, {kind: 'primary', testid: 'policy-save', disabled: !mayWrite});
  const title = h('h2', {class: 'card-title'}, 'New policy');
  const validate = () => {
    const problem = text.value.trim() ? checkPolicyText(text.value) : 'Write or pick a policy.';
    check.textContent = problem || 'JSON looks valid (the server checks actions, resources and conditions on save).';
    check.className = problem ? 'check-line text-bad' : 'check-line text-ok';
    const canned = CANNED.has(nameInput.value.trim());
    saveBtn.disabled = !mayWrite || !!problem || !nameInput.value.trim() || canned;
    if (canned) check.textContent = `${problem ? problem + ' ' : ''}"${nameInput.value.trim()}" is canned: save a copy under another name.`;
    return !problem;
  };
  text.addEventListener('input', () => { serverError.hidden = true; validate(); });
  nameInput.addEventListener('input', validate);
  const picker = templatePicker(text, validate);
  saveBtn.addEventListener('click', async () => {
    if (!validate()) return;
    const name = nameInput.value.trim();
    serverError.hidden = true;
    saveBtn.disabled = true;
    try {
      await admin('PUT', `iam/policies/${enc(name)}`, text.value);
      toast(`Policy ${name} saved`, 'ok');
      reload();
    } catch (e) {
      serverError.textContent = errorText(e);
      serverError.hidden = false;
      validate();
    }
  });
  const edit = (name) => {
    nameInput.value = name;
    text.value = JSON.stringify(policies[name], null, 2);
    title.textContent = CANNED.has(name) ? `Canned policy ${name} (read-only)` : `Edit policy ${name}`;
    serverError.hidden = true;
    validate();
    text.focus();
  };
  const editor = h('section', {class: 'card', 'data-testid': 'policy-editor'}, title,
    field('Name', nameInput), picker, field('Policy document (JSON)', text), check, serverError,
    h('div', {class: 'toolbar'}, saveBtn,
      button('Format', () => {
        try { text.value = JSON.stringify(JSON.parse(text.value), null, 2); validate(); } catch { validate(); }
      }),
      button('New', () => { nameInput.value = ''; text.value = ''; title.textContent = 'New policy'; serverError.hidden = true; validate(); })));
  validate();

  mount(el,
    listAlert(usersR, 'users-list-error'),
    listAlert(groupsR, 'groups-list-error'),
    h('div', {class: 'split'},
      h('div', {class: 'table-wrap'}, table([
        {title: 'Policy', cell: (n) => h('span', {class: 'mono nowrap'}, n)},
        {title: 'Kind', cell: (n) => CANNED.has(n) ? badge('canned', 'plain') : badge('custom', 'ok')},
        {title: 'Statements', class: 'num', cell: (n) => {
          const s = policies[n] && policies[n].Statement;
          return String(Array.isArray(s) ? s.length : s ? 1 : 0);
        }},
        {title: 'Attached to', cell: (n) => chips(attachedTo(n), attachedUnknown ? 'unknown' : 'nobody')},
        {title: 'Actions', cell: (n) => rowButtons(
          button(CANNED.has(n) ? 'View' : 'Edit', () => edit(n), {testid: `policy-edit-${n}`}),
          mayWrite && !CANNED.has(n) ? button('Delete', async () => {
            if (!await confirm('Delete policy', `Delete the policy ${n}?`, 'Delete', 'danger')) return;
            try {
              await admin('DELETE', `iam/policies/${enc(n)}`);
              toast(`Policy ${n} deleted`, 'ok');
              reload();
            } catch (e) { toast(errorText(e), 'error'); }
          }, {kind: 'danger'}) : null)},
      ], names, {empty: 'No policies', testid: 'policies-table', class: 'names-nowrap'})),
      editor));
}

// ------------------------------------------------------------------ access keys

const EXPIRY = [['', 'never'], ['3600000', '1 hour'], ['86400000', '1 day'], ['604800000', '7 days'],
  ['2592000000', '30 days'], ['7776000000', '90 days'], ['31536000000', '1 year'], ['custom', 'on a date…']];

function expiryPicker(current) {
  const sel = select(EXPIRY, current ? 'custom' : '', {'data-testid': 'key-expiry', 'aria-label': 'Expires'});
  const date = h('input', {type: 'datetime-local', 'aria-label': 'Expiry date', hidden: !current, 'data-testid': 'key-expiry-date'});
  if (current) {
    const d = new Date(current);
    const p = (x) => String(x).padStart(2, '0');
    date.value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  sel.addEventListener('change', () => { date.hidden = sel.value !== 'custom'; });
  const value = () => {
    if (sel.value === '') return null;
    if (sel.value === 'custom') {
      const t = new Date(date.value).getTime();
      if (!Number.isFinite(t)) throw new Error('Pick an expiry date.');
      return t;
    }
    return Date.now() + Number(sel.value);
  };
  return {el: h('div', {class: 'form-row'}, field('Expires', sel), date), value};
}

/** The one-time secret dialog; the dialog (and the secret in it) leaves the DOM on close. */
async function secretDialog(created) {
  const akCode = h('code', {class: 'mono secret', 'data-testid': 'secret-access-key'}, created.access_key);
  const skCode = h('code', {class: 'mono secret', 'data-testid': 'secret-secret-key'}, created.secret_key);
  const copied = h('span', {class: 'muted small', 'aria-live': 'polite'});
  const copy = (what, txt) => button(`Copy ${what}`, async () => {
    copied.textContent = await copyText(txt) ? `${what} copied` : 'Copy failed: select the text and copy it.';
  }, {testid: `copy-${what.replace(/ /g, '-')}`});
  const body = h('div', {class: 'secret-box', 'data-testid': 'secret-dialog'},
    h('p', {class: 'alert alert-warn'}, 'This is the only time the secret key is shown. Copy it now; it cannot be retrieved later.'),
    h('dl', {class: 'kv'},
      h('dt', null, 'Access key'), h('dd', null, akCode, ' ', copy('access key', created.access_key)),
      h('dt', null, 'Secret key'), h('dd', null, skCode, ' ', copy('secret key', created.secret_key)),
      h('dt', null, 'Parent'), h('dd', null, created.parent || '—')),
    copied);
  await modal({title: 'Access key created', body, actions: [{text: 'Done, I saved the secret', kind: 'primary', value: 'done'}]});
  // The dialog removed itself from the DOM; drop the last references to the secret too.
  skCode.textContent = '';
  created.secret_key = null;
}

async function createKeyDialog(usersR, session) {
  const parentSel = select([['', 'myself (the signed-in key)'], ...usersR.items.map((u) => [u.access_key, u.access_key])], '',
    {'data-testid': 'key-parent', 'aria-label': 'Parent user'});
  const nameInput = h('input', {type: 'text', autocomplete: 'off', 'data-testid': 'key-name', placeholder: 'nightly'});
  const descInput = h('input', {type: 'text', autocomplete: 'off', 'data-testid': 'key-description', placeholder: 'what uses this key'});
  const policyText = h('textarea', {class: 'code-editor mono', rows: 14, spellcheck: 'false', 'data-testid': 'key-policy',
    'aria-label': 'Key policy (JSON)', placeholder: 'No policy: the key may do everything its parent may.'});
  const check = h('p', {class: 'check-line', 'aria-live': 'polite'});
  const validate = () => {
    if (!policyText.value.trim()) {
      check.textContent = 'No policy: the key inherits all of its parent\'s permissions.';
      check.className = 'check-line text-warn';
      return true;
    }
    const p = checkPolicyText(policyText.value);
    check.textContent = p || 'Policy JSON looks valid. The key may do at most what its parent may.';
    check.className = p ? 'check-line text-bad' : 'check-line text-ok';
    return !p;
  };
  policyText.addEventListener('input', validate);
  const picker = templatePicker(policyText, validate, {includeNone: true});
  const expiry = expiryPicker(null);
  validate();
  const body = h('div', {class: 'form'},
    field('Parent', parentSel, session && session.access_key ? `Default: ${session.access_key}` : null),
    listAlert(usersR, 'user-picker-error'),
    h('div', {class: 'form-row'}, field('Name', nameInput), field('Description', descInput)),
    expiry.el,
    picker,
    field('Policy (generated from the template; edit before creating)', policyText),
    check);
  let created = null;
  const v = await dialog({title: 'Create access key', wide: true, body, actions: [
    {text: 'Cancel', value: null}, {text: 'Create key', kind: 'primary', value: 'create'}],
  onAction: async () => {
    if (!validate()) throw new Error(check.textContent);
    const req = {name: nameInput.value.trim(), description: descInput.value};
    if (parentSel.value) req.parent = parentSel.value;
    if (policyText.value.trim()) req.policy = JSON.parse(policyText.value);
    const exp = expiry.value();
    if (exp !== null) req.expires_ms = exp;
    created = await admin('POST', 'iam/access-keys', req);
  }}).promise;
  if (v !== 'create' || !created) return false;
  await secretDialog(created);
  created = null;
  return true;
}

async function editKeyDialog(k) {
  const nameInput = h('input', {type: 'text', value: k.name || '', autocomplete: 'off'});
  const descInput = h('input', {type: 'text', value: k.description || '', autocomplete: 'off'});
  const policyText = h('textarea', {class: 'code-editor mono', rows: 12, spellcheck: 'false', 'aria-label': 'Key policy (JSON)'});
  let original = '';
  if (k.policy) {
    try { original = JSON.stringify(typeof k.policy === 'string' ? JSON.parse(k.policy) : k.policy, null, 2); } catch { original = String(k.policy); }
  }
  policyText.value = original;
  const expiry = expiryPicker(k.expires_ms);
  const body = h('div', {class: 'form'}, h('div', {class: 'form-row'}, field('Name', nameInput), field('Description', descInput)),
    expiry.el, field('Policy (empty: inherit the parent\'s permissions)', policyText));
  const v = await dialog({title: `Edit access key ${k.access_key}`, wide: true, body, actions: [
    {text: 'Cancel', value: null}, {text: 'Save', kind: 'primary', value: 'save'}],
  onAction: async () => {
    const req = {name: nameInput.value.trim(), description: descInput.value};
    const exp = expiry.value();
    if (exp !== null) req.expires_ms = exp;
    if (policyText.value.trim() !== original.trim()) {
      if (policyText.value.trim()) {
        const p = checkPolicyText(policyText.value);
        if (p) throw new Error(p);
        req.policy = JSON.parse(policyText.value);
      } else {
        req.policy = null;
      }
    }
    await admin('PUT', `iam/access-keys/${enc(k.access_key)}`, req);
    toast(`Access key ${k.access_key} saved`, 'ok');
  }}).promise;
  return v === 'save';
}

function showKeyPolicy(k) {
  let txt = '';
  try { txt = JSON.stringify(typeof k.policy === 'string' ? JSON.parse(k.policy) : k.policy, null, 2); } catch { txt = String(k.policy); }
  return modal({title: `Policy of ${k.access_key}`, body: h('pre', {class: 'code mono'}, txt), actions: [{text: 'Close', value: null}]});
}

async function keysTab(el, can, session) {
  const [{access_keys: keys}, usersR] = await Promise.all([admin('GET', 'iam/access-keys'), userList()]);
  const reload = () => keysTab(el, can, session);
  let filter = '';
  const listBox = h('div', {class: 'table-wrap'});
  const now = Date.now();
  const mayEdit = can.has('admin:CreateServiceAccount') || can.has('admin:ListServiceAccounts');
  const draw = () => {
    const rows = keys.filter((k) => !filter || [k.access_key, k.parent, k.name, k.description]
      .some((x) => x && String(x).toLowerCase().includes(filter)))
      .sort((a, b) => (b.created_ms || 0) - (a.created_ms || 0));
    mount(listBox, table([
      {title: 'Access key', cell: (k) => h('span', {class: 'mono'}, k.access_key)},
      {title: 'Parent', cell: (k) => h('span', {class: 'mono'}, k.parent)},
      {title: 'Name', cell: (k) => k.name || '—'},
      {title: 'Description', cell: (k) => h('span', {class: 'desc', 'data-testid': 'key-desc'}, k.description || '—')},
      {title: 'Status', cell: (k) => [statusBadge(k.status), k.temporary ? badge('temporary', 'plain') : null]},
      {title: 'Expires', cell: (k) => k.expires_ms ? (k.expires_ms <= now
        ? badge(`expired ${fmtTime(k.expires_ms)}`, 'bad')
        : h('span', {title: fmtTime(k.expires_ms)}, fmtAgo(k.expires_ms))) : 'never'},
      {title: 'Policy', cell: (k) => k.policy ? button('scoped: view', () => showKeyPolicy(k)) : h('span', {class: 'muted'}, 'inherits parent')},
      {title: 'Created', cell: (k) => h('span', {title: fmtTime(k.created_ms)}, fmtAgo(k.created_ms))},
      {title: 'Actions', cell: (k) => mayEdit ? rowButtons(
        button(k.status === 'enabled' ? 'Disable' : 'Enable', async () => {
          try {
            await admin('PUT', `iam/access-keys/${enc(k.access_key)}`, {status: k.status === 'enabled' ? 'disabled' : 'enabled'});
            toast(`${k.access_key} ${k.status === 'enabled' ? 'disabled' : 'enabled'}`, 'ok');
            reload();
          } catch (e) { toast(errorText(e), 'error'); }
        }, {testid: `key-toggle-${k.access_key}`}),
        button('Edit…', () => editKeyDialog(k).then((c) => c && reload())),
        button('Delete', async () => {
          if (!await confirm('Delete access key', `Delete the access key ${k.access_key}? Whatever uses it stops working.`, 'Delete', 'danger')) return;
          try {
            await admin('DELETE', `iam/access-keys/${enc(k.access_key)}`);
            toast(`${k.access_key} deleted`, 'ok');
            reload();
          } catch (e) { toast(errorText(e), 'error'); }
        }, {kind: 'danger', testid: `key-delete-${k.access_key}`})) : null},
    ], rows, {empty: filter ? 'No key matches' : 'No access keys yet', testid: 'keys-table', class: 'names-nowrap',
      rowAttrs: (k) => ({'data-key': k.access_key})}));
  };
  draw();
  mount(el,
    h('div', {class: 'toolbar'},
      filterBox('Filter keys (key, parent, name, description)', (v) => { filter = v; draw(); }),
      button('Create access key', () => createKeyDialog(usersR, session).then((c) => c && reload()),
        {kind: 'primary', testid: 'key-create'})),
    listBox);
}

// ------------------------------------------------------------------ page

export default async function render(root, ctx) {
  const can = await caps();
  const defs = [
    {id: 'users', title: 'Users', render: (el) => usersTab(el, can)},
    {id: 'groups', title: 'Groups', render: (el) => groupsTab(el, can)},
    {id: 'policies', title: 'Policies', render: (el) => policiesTab(el, can)},
    {id: 'keys', title: 'Access keys', render: (el) => keysTab(el, can, session)},
  ];
  const want = qget(ctx, 'tab');
  const active = defs.some((d) => d.id === want) ? want : 'users';
  const t = tabs(defs, active, (id) => {
    history.replaceState(null, '', `#/identity?tab=${id}`);
  });
  mount(root,
    h('div', {class: 'page-head'}, h('h1', null, 'Identity')),
    h('p', {class: 'muted'}, 'Users, groups, IAM policies and access keys. Changes hold from the next request on.'),
    !can.has('admin:ListUsers') ? alertBox('Your key may not list users; the server will refuse what it does not allow.', 'warn') : null,
    t);
  // The page is ready when the first tab is.
  await waitTab(t);
}

function waitTab(t) {
  const panel = t.querySelector('.tabpanel');
  return new Promise((resolve) => {
    const done = () => panel && panel.dataset.state !== 'loading';
    if (!panel || done()) { resolve(); return; }
    const obs = new MutationObserver(() => { if (done()) { obs.disconnect(); resolve(); } });
    obs.observe(panel, {attributes: true, attributeFilter: ['data-state']});
    setTimeout(() => { obs.disconnect(); resolve(); }, 10000);
  });
}
