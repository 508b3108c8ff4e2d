// The console's HTTP client: console-native JSON (/api/...), the admin API proxy
// (/api/admin/v1/...) and the S3 proxy (/api/s3/...). docs/CONSOLE-API.md is the contract.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || null;
  }
}

/** Filled by main.js at boot: {access_key, user, kind, csrf, expires_in_s}. */
export const session = {access_key: null, user: null, kind: null, csrf: null};

function loginRequired() {
  window.dispatchEvent(new Event('lakegate:login-required'));
}

function csrfHeaders(method, headers) {
  const m = method.toUpperCase();
  if (m !== 'GET' && m !== 'HEAD' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  return headers;
}

async function readJson(resp) {
  const text = await resp.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return {error: text.slice(0, 500)};
  }
}

function jsonError(status, data, fallback) {
  const msg = (data && (data.error || data.message || data.Message)) || fallback || `HTTP ${status}`;
  const code = (data && (data.code || data.Code)) || null;
  return new ApiError(status, code, typeof msg === 'string' ? msg : JSON.stringify(msg));
}

/** JSON of a console-native endpoint. */
export async function json(method, path, body) {
  const headers = csrfHeaders(method, {Accept: 'application/json'});
  const init = {method, headers, credentials: 'same-origin'};
  if (body !== undefined && body !== null) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'NetworkError', `network error: ${e.message || e}`);
  }
  const data = await readJson(resp);
  if (resp.status === 401) {
    loginRequired();
    throw jsonError(401, data, 'login required');
  }
  if (!resp.ok) throw jsonError(resp.status, data, resp.statusText);
  return data;
}

/** JSON of /api/admin/v1/<rest>; body: object -> JSON, string/Blob/ArrayBuffer as is. */
export async function admin(method, rest, body) {
  const headers = csrfHeaders(method, {Accept: 'application/json'});
  const init = {method, headers, credentials: 'same-origin'};
  if (body !== undefined && body !== null) {
    if (typeof body === 'string' || body instanceof Blob || body instanceof ArrayBuffer ||
        ArrayBuffer.isView(body)) {
      init.body = body;
    } else {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
  }
  let resp;
  try {
    resp = await fetch(`/api/admin/v1/${String(rest).replace(/^\/+/, '')}`, init);
  } catch (e) {
    throw new ApiError(0, 'NetworkError', `network error: ${e.message || e}`);
  }
  const data = await readJson(resp);
  if (resp.status === 401 && data && data.error === 'login required') {
    loginRequired();
  }
  if (!resp.ok) {
    const err = jsonError(resp.status, data, resp.statusText);
    err.body = data;
    throw err;
  }
  return data;
}

// ------------------------------------------------------------------ S3

/** RFC 3986 encoding of one path segment or query value. */
export function enc(s) {
  return encodeURIComponent(String(s)).replace(/[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** `bucket/key` -> encoded path (each segment encoded, `/` kept). */
export function encPath(path) {
  return String(path).split('/').map(enc).join('/');
}

/** {a: '', b: 'x'} -> '?a&b=x' */
export function queryString(query) {
  if (!query) return '';
  const parts = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === false) continue;
    parts.push(v === '' || v === true ? enc(k) : `${enc(k)}=${enc(v)}`);
  }
  return parts.length ? '?' + parts.join('&') : '';
}

/** The proxy URL for an S3 path (`bucket` or `bucket/key`). */
export function s3Url(path, query) {
  return `/api/s3/${encPath(path || '')}${queryString(query)}`;
}

export function parseXml(text) {
  if (!text || !/^\s*</.test(text)) return null;
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return null;
  return doc;
}

/** The text of the first descendant element named `tag` (namespace-agnostic), or null. */
export function xmlText(node, tag) {
  if (!node) return null;
  const el = node.getElementsByTagNameNS('*', tag)[0];
  return el ? el.textContent : null;
}

/** All descendant elements named `tag` (namespace-agnostic). */
export function xmlAll(node, tag) {
  if (!node) return [];
  return Array.from(node.getElementsByTagNameNS('*', tag));
}

/** Direct child elements named `tag`. */
export function xmlChildren(node, tag) {
  if (!node) return [];
  return Array.from(node.children).filter((c) => c.localName === tag);
}

/** The text of the direct child `tag`, or null. */
export function xmlChildText(node, tag) {
  const c = xmlChildren(node, tag)[0];
  return c ? c.textContent : null;
}

function s3Error(status, text, xml, headers) {
  let code = null;
  let message = null;
  if (xml) {
    code = xmlText(xml, 'Code');
    message = xmlText(xml, 'Message');
  } else if (text && /^\s*\{/.test(text)) {
    try {
      const d = JSON.parse(text);
      code = d.code || d.Code || null;
      message = d.error || d.message || d.Message || null;
    } catch { /* not JSON */ }
  }
  if (!code && headers) code = headers.get('x-minio-error-code') || headers.get('x-amz-error-code');
  if (!message && headers) message = headers.get('x-minio-error-desc') || headers.get('x-amz-error-message');
  if (!code) {
    code = {400: 'BadRequest', 403: 'AccessDenied', 404: 'NotFound', 405: 'MethodNotAllowed',
      409: 'Conflict', 412: 'PreconditionFailed'}[status] || `HTTP${status}`;
  }
  if (!message) message = `${code} (HTTP ${status})`;
  const e = new ApiError(status, code, message);
  e.text = text;
  e.headers = headers || null;
  return e;
}

/**
 * s3(method, path, {query, headers, body}) -> {status, headers, text, xml} for /api/s3/<path>.
 * Throws ApiError with S3's <Code>/<Message> on a status >= 300 (except 304).
 */
export async function s3(method, path, opts = {}) {
  const headers = csrfHeaders(method, {...(opts.headers || {})});
  const init = {method, headers, credentials: 'same-origin'};
  if (opts.body !== undefined && opts.body !== null) init.body = opts.body;
  if (opts.signal) init.signal = opts.signal;
  let resp;
  try {
    resp = await fetch(s3Url(path, opts.query), init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NetworkError', `network error: ${e.message || e}`);
  }
  const text = method.toUpperCase() === 'HEAD' ? '' : await resp.text();
  const xml = parseXml(text);
  if (resp.status === 401 && /login required/.test(text)) loginRequired();
  if (resp.status >= 300 && resp.status !== 304) throw s3Error(resp.status, text, xml, resp.headers);
  return {status: resp.status, headers: resp.headers, text, xml};
}

/** Builds an ApiError from an XMLHttpRequest answer (used by the uploader). */
export function xhrError(xhr) {
  const text = xhr.responseText || '';
  if (xhr.status === 401 && /login required/.test(text)) loginRequired();
  const headers = {get: (n) => xhr.getResponseHeader(n)};
  return s3Error(xhr.status, text, parseXml(text), headers);
}

/** The download URL of an object (GET through the proxy, answered as an attachment). */
export function objectUrl(bucket, key, versionId) {
  return s3Url(`${bucket}/${key}`, versionId ? {versionId} : null);
}

// ------------------------------------------------------------------ capabilities

/** Every action /api/caps knows (docs/CONSOLE-API.md). */
export const CAP_ACTIONS = [
  's3:CreateBucket', 's3:DeleteBucket', 's3:ListBucket', 's3:PutObject', 's3:GetObject',
  's3:DeleteObject', 's3:PutBucketVersioning', 's3:PutBucketObjectLockConfiguration',
  's3:PutEncryptionConfiguration', 's3:PutBucketTagging', 's3:PutBucketPolicy',
  's3:DeleteBucketPolicy', 's3:PutBucketCORS', 's3:PutLifecycleConfiguration',
  's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:PutObjectTagging',
  's3:BypassGovernanceRetention', 'admin:ServerInfo', 'admin:ListUsers', 'admin:CreateUser',
  'admin:ListGroups', 'admin:GetPolicy', 'admin:CreatePolicy', 'admin:CreateServiceAccount',
  'admin:ListServiceAccounts', 'admin:Prometheus', 'lakegate:ListPolicyBindings',
  'lakegate:PutPolicyBinding', 'lakegate:PutPlugin', 'lakegate:RunLifecycle',
  'lakegate:GetLifecycleStatus', 'lakegate:ListBackups', 'lakegate:RunBackup',
  'lakegate:RestoreBackup', 'lakegate:GetAuditTrail', 'lakegate:RunPolicySuites',
];

const capsCache = new Map();

/** Promise<Set<action>> of what the session may do (on bucket B, or any), cached 10 s. */
export function caps(bucket) {
  const k = bucket || '';
  const hit = capsCache.get(k);
  if (hit && Date.now() - hit.t < 10000) return hit.p;
  const p = json('GET', '/api/caps' + (bucket ? `?bucket=${enc(bucket)}` : ''))
    .then((d) => {
      const acts = (d && d.actions) || {};
      return new Set(Object.keys(acts).filter((a) => acts[a]));
    })
    .catch((e) => {
      capsCache.delete(k);
      if (e.status === 401) throw e;
      // No hints available: show everything; the server still refuses what is not allowed.
      return new Set(CAP_ACTIONS);
    });
  capsCache.set(k, {t: Date.now(), p});
  return p;
}

export function clearCaps() {
  capsCache.clear();
}
