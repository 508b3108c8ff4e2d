// S3 through the console's proxy: XML request builders (every value escaped), readers of
// S3's XML answers, listing helpers and an uploader (PutObject, or multipart over
// XMLHttpRequest with upload progress).
import {s3, s3Url, session, xmlAll, xmlChildText, xmlChildren, xmlText, xhrError, ApiError} from './api.js';

/** S3's XML namespace (built from parts: UI sources hold no literal URLs). */
export const S3_NS = ['http:', '', 's3.amazonaws.com', 'doc', '2006-03-01', ''].join('/');

export const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
export const PART_SIZE = 8 * 1024 * 1024;
export const PARTS_IN_FLIGHT = 3;
/** Pauses before the retries of a failed UploadPart (network error or 5xx, e.g. 503 SlowDown). */
export const PART_RETRY_DELAYS_MS = [500, 1000, 2000];

/** A part is worth sending again after a network error or a server error, never after a 4xx. */
export function retryablePartError(e) {
  if (!e) return false;
  if (e.status === 0) return e.code === 'NetworkError';
  return e.status >= 500;
}

/** Escapes text for an XML element or attribute. */
export function xmlEscape(s) {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // Characters XML 1.0 cannot carry at all.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
}

/** <Tag>escaped text</Tag> */
export function el(tag, text) {
  return `<${tag}>${xmlEscape(text)}</${tag}>`;
}

const doc = (root, inner) => `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${inner}</${root}>`;

export function versioningXml(status) {
  return doc('VersioningConfiguration', el('Status', status));
}

/** Object lock configuration; retention = {mode: 'GOVERNANCE'|'COMPLIANCE', days?, years?} or null. */
export function objectLockXml(retention) {
  let rule = '';
  if (retention && retention.mode) {
    const period = retention.years ? el('Years', retention.years) : el('Days', retention.days || 1);
    rule = `<Rule><DefaultRetention>${el('Mode', retention.mode)}${period}</DefaultRetention></Rule>`;
  }
  return doc('ObjectLockConfiguration', el('ObjectLockEnabled', 'Enabled') + rule);
}

/** Default encryption: 'AES256' (SSE-S3) or 'aws:kms' with a key id. */
export function encryptionXml(algorithm = 'AES256', kmsKeyId) {
  const key = algorithm === 'aws:kms' && kmsKeyId ? el('KMSMasterKeyID', kmsKeyId) : '';
  return doc('ServerSideEncryptionConfiguration',
    `<Rule><ApplyServerSideEncryptionByDefault>${el('SSEAlgorithm', algorithm)}${key}</ApplyServerSideEncryptionByDefault></Rule>`);
}

/** Tagging document from [{key, value}]. */
export function taggingXml(tags) {
  const set = tags.map((t) => `<Tag>${el('Key', t.key)}${el('Value', t.value ?? '')}</Tag>`).join('');
  return doc('Tagging', `<TagSet>${set}</TagSet>`);
}

/** DeleteObjects body from [{key, versionId?}]. */
export function deleteObjectsXml(items, quiet = false) {
  const objs = items.map((o) => `<Object>${el('Key', o.key)}${o.versionId ? el('VersionId', o.versionId) : ''}</Object>`).join('');
  return doc('Delete', (quiet ? '<Quiet>true</Quiet>' : '') + objs);
}

/** CompleteMultipartUpload body from [{partNumber, etag}]. */
export function completeMultipartXml(parts) {
  const ps = parts.slice().sort((a, b) => a.partNumber - b.partNumber)
    .map((p) => `<Part>${el('PartNumber', p.partNumber)}${el('ETag', p.etag)}</Part>`).join('');
  return doc('CompleteMultipartUpload', ps);
}

/** Object retention: mode + ISO date. */
export function retentionXml(mode, retainUntil) {
  return doc('Retention', el('Mode', mode) + el('RetainUntilDate', retainUntil));
}

export function legalHoldXml(on) {
  return doc('LegalHold', el('Status', on ? 'ON' : 'OFF'));
}

// ------------------------------------------------------------------ readers

const num = (s) => (s === null || s === undefined || s === '' ? null : Number(s));

/** ListObjectsV2 answer -> {prefixes, objects, truncated, nextToken, keyCount}. */
export function parseListV2(xml) {
  const root = xml.documentElement;
  return {
    prefixes: xmlChildren(root, 'CommonPrefixes').map((p) => xmlChildText(p, 'Prefix')),
    objects: xmlChildren(root, 'Contents').map((c) => ({
      key: xmlChildText(c, 'Key'),
      size: num(xmlChildText(c, 'Size')),
      lastModified: xmlChildText(c, 'LastModified'),
      etag: xmlChildText(c, 'ETag'),
      storageClass: xmlChildText(c, 'StorageClass'),
    })),
    truncated: xmlChildText(root, 'IsTruncated') === 'true',
    nextToken: xmlChildText(root, 'NextContinuationToken'),
    keyCount: num(xmlChildText(root, 'KeyCount')),
  };
}

/** ListObjectVersions answer -> {versions (with delete markers, in order), prefixes, ...}. */
export function parseVersions(xml) {
  const root = xml.documentElement;
  const versions = [];
  for (const c of Array.from(root.children)) {
    if (c.localName !== 'Version' && c.localName !== 'DeleteMarker') continue;
    versions.push({
      key: xmlChildText(c, 'Key'),
      versionId: xmlChildText(c, 'VersionId'),
      isLatest: xmlChildText(c, 'IsLatest') === 'true',
      lastModified: xmlChildText(c, 'LastModified'),
      size: num(xmlChildText(c, 'Size')),
      etag: xmlChildText(c, 'ETag'),
      deleteMarker: c.localName === 'DeleteMarker',
    });
  }
  return {
    versions,
    prefixes: xmlChildren(root, 'CommonPrefixes').map((p) => xmlChildText(p, 'Prefix')),
    truncated: xmlChildText(root, 'IsTruncated') === 'true',
    nextKeyMarker: xmlChildText(root, 'NextKeyMarker'),
    nextVersionIdMarker: xmlChildText(root, 'NextVersionIdMarker'),
  };
}

/** Tagging answer -> [{key, value}]. */
export function parseTags(xml) {
  if (!xml) return [];
  return xmlAll(xml, 'Tag').map((t) => ({key: xmlChildText(t, 'Key') || '', value: xmlChildText(t, 'Value') || ''}));
}

// ------------------------------------------------------------------ calls

/** ListObjectsV2 (one page). */
export async function listObjects(bucket, {prefix = '', delimiter = '/', token, maxKeys = 500, startAfter} = {}) {
  const query = {'list-type': '2', 'max-keys': String(maxKeys)};
  if (prefix) query.prefix = prefix;
  if (delimiter) query.delimiter = delimiter;
  if (token) query['continuation-token'] = token;
  if (startAfter) query['start-after'] = startAfter;
  const r = await s3('GET', bucket, {query});
  return parseListV2(r.xml);
}

/** ListObjectVersions (one page). */
export async function listVersions(bucket, {prefix = '', delimiter, keyMarker, versionIdMarker, maxKeys = 500} = {}) {
  const query = {versions: '', 'max-keys': String(maxKeys)};
  if (prefix) query.prefix = prefix;
  if (delimiter) query.delimiter = delimiter;
  if (keyMarker) query['key-marker'] = keyMarker;
  if (versionIdMarker) query['version-id-marker'] = versionIdMarker;
  const r = await s3('GET', bucket, {query});
  return parseVersions(r.xml);
}

/** All versions of exactly `key` (pages through ListObjectVersions with prefix=key). */
export async function versionsOfKey(bucket, key, limit = 5000) {
  const out = [];
  let keyMarker;
  let versionIdMarker;
  for (;;) {
    const page = await listVersions(bucket, {prefix: key, keyMarker, versionIdMarker, maxKeys: 1000});
    for (const v of page.versions) if (v.key === key) out.push(v);
    // Past our key: later keys share the prefix only.
    const last = page.versions[page.versions.length - 1];
    if (!page.truncated || out.length >= limit || (last && last.key !== key)) break;
    keyMarker = page.nextKeyMarker;
    versionIdMarker = page.nextVersionIdMarker;
    if (!keyMarker) break;
  }
  return out;
}

/** DeleteObjects in calls of at most 1000 -> {deleted: [...], errors: [{key, versionId, code, message}]}. */
export async function deleteObjects(bucket, items, onProgress) {
  const deleted = [];
  const errors = [];
  for (let i = 0; i < items.length; i += 1000) {
    const chunk = items.slice(i, i + 1000);
    const r = await s3('POST', bucket, {
      query: {delete: ''},
      headers: {'Content-Type': 'application/xml'},
      body: deleteObjectsXml(chunk, false),
    });
    const root = r.xml && r.xml.documentElement;
    for (const d of xmlChildren(root, 'Deleted')) {
      deleted.push({key: xmlChildText(d, 'Key'), versionId: xmlChildText(d, 'VersionId')});
    }
    for (const e of xmlChildren(root, 'Error')) {
      errors.push({key: xmlChildText(e, 'Key'), versionId: xmlChildText(e, 'VersionId'),
        code: xmlChildText(e, 'Code'), message: xmlChildText(e, 'Message')});
    }
    if (onProgress) onProgress(Math.min(items.length, i + chunk.length), items.length);
  }
  return {deleted, errors};
}

/** GET ?<sub> on a bucket -> the answer, or null when S3 says it is not configured (404). */
export async function getBucketSub(bucket, sub) {
  try {
    return await s3('GET', bucket, {query: {[sub]: ''}});
  } catch (e) {
    if (e.status === 404 && e.code !== 'NoSuchBucket') return null;
    throw e;
  }
}

export async function putBucketSub(bucket, sub, body, contentType = 'application/xml') {
  return s3('PUT', bucket, {query: {[sub]: ''}, headers: {'Content-Type': contentType}, body});
}

// ------------------------------------------------------------------ uploads

/** One request over XMLHttpRequest (upload progress): resolves the xhr, rejects ApiError. */
export function xhrSend(method, url, body, headers, onProgress, registry) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url, true);
    xhr.withCredentials = true;
    for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
    if (session.csrf && method !== 'GET' && method !== 'HEAD') xhr.setRequestHeader('X-CSRF-Token', session.csrf);
    if (onProgress) xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.total));
    xhr.addEventListener('load', () => {
      if (registry) registry.delete(xhr);
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
      else reject(xhrError(xhr));
    });
    xhr.addEventListener('error', () => {
      if (registry) registry.delete(xhr);
      reject(new ApiError(0, 'NetworkError', 'network error during upload'));
    });
    xhr.addEventListener('abort', () => {
      if (registry) registry.delete(xhr);
      reject(new ApiError(0, 'Cancelled', 'upload cancelled'));
    });
    if (registry) registry.add(xhr);
    xhr.send(body === undefined ? null : body);
  });
}

/**
 * Uploads `file` (a File or Blob) to bucket/key. Returns {promise, cancel()}; the promise
 * resolves {etag, versionId, multipart, parts}. onProgress(sentBytes, totalBytes, phase).
 * Files of MULTIPART_THRESHOLD bytes or more go multipart (PART_SIZE parts, PARTS_IN_FLIGHT at a
 * time; a part failing with a network error or a 5xx is sent again after each of
 * PART_RETRY_DELAYS_MS). A cancel or a failure stops the other parts, waits until their
 * requests have ended, then aborts the multipart upload.
 */
export function uploadFile(bucket, key, file, {onProgress, contentType, headers = {}} = {}) {
  const inflight = new Set();
  const sleepers = new Set();
  let cancelled = false;
  const type = contentType || file.type || 'application/octet-stream';
  const report = (sent, phase) => { if (onProgress) onProgress(Math.min(sent, file.size), file.size, phase); };
  const stop = () => {
    cancelled = true;
    for (const x of inflight) x.abort();
    for (const wake of sleepers) wake();
  };
  /** Waits `ms`, or less when the upload is stopped meanwhile. */
  const pause = (ms) => new Promise((resolve) => {
    const wake = () => { clearTimeout(t); sleepers.delete(wake); resolve(); };
    const t = setTimeout(wake, ms);
    sleepers.add(wake);
  });

  async function single() {
    const xhr = await xhrSend('PUT', s3Url(`${bucket}/${key}`), file,
      {'Content-Type': type, ...headers}, (loaded) => report(loaded, 'uploading'), inflight);
    report(file.size, 'done');
    return {etag: xhr.getResponseHeader('ETag'), versionId: xhr.getResponseHeader('x-amz-version-id'), multipart: false, parts: 1};
  }

  async function multipart() {
    const created = await s3('POST', `${bucket}/${key}`, {query: {uploads: ''}, headers: {'Content-Type': type, ...headers}});
    const uploadId = xmlText(created.xml, 'UploadId');
    if (!uploadId) throw new ApiError(500, 'InternalError', 'CreateMultipartUpload answered no UploadId');
    const n = Math.ceil(file.size / PART_SIZE);
    const loaded = new Array(n).fill(0);
    const parts = [];
    let next = 0;
    let failure = null;
    const total = () => loaded.reduce((a, b) => a + b, 0);
    const putPart = async (i) => {
      const blob = file.slice(i * PART_SIZE, Math.min(file.size, (i + 1) * PART_SIZE));
      for (let attempt = 0; ; attempt++) {
        try {
          const xhr = await xhrSend('PUT', s3Url(`${bucket}/${key}`, {partNumber: String(i + 1), uploadId}), blob,
            {'Content-Type': 'application/octet-stream'},
            (l) => { loaded[i] = l; report(total(), 'uploading'); }, inflight);
          loaded[i] = blob.size;
          report(total(), 'uploading');
          return {partNumber: i + 1, etag: xhr.getResponseHeader('ETag')};
        } catch (e) {
          loaded[i] = 0;
          report(total(), 'uploading');
          if (cancelled || attempt >= PART_RETRY_DELAYS_MS.length || !retryablePartError(e)) throw e;
          await pause(PART_RETRY_DELAYS_MS[attempt]);
          if (cancelled) throw e;
        }
      }
    };
    // A worker never rejects: the first failure is kept and stops the others, so awaiting the
    // workers means every part request has ended (finished, failed or aborted).
    const worker = async () => {
      while (!cancelled && next < n) {
        const i = next++;
        try {
          parts.push(await putPart(i));
        } catch (e) {
          if (!failure) failure = e;
          stop();
        }
      }
    };
    const workers = Array.from({length: Math.min(PARTS_IN_FLIGHT, n)}, worker);
    try {
      await Promise.all(workers);
      if (failure) throw failure;
      if (cancelled) throw new ApiError(0, 'Cancelled', 'upload cancelled');
      report(file.size, 'completing');
      const done = await s3('POST', `${bucket}/${key}`, {
        query: {uploadId}, headers: {'Content-Type': 'application/xml'}, body: completeMultipartXml(parts),
      });
      report(file.size, 'done');
      return {etag: xmlText(done.xml, 'ETag'), versionId: done.headers.get('x-amz-version-id'), multipart: true, parts: n, uploadId};
    } catch (e) {
      stop();
      await Promise.allSettled(workers);
      try { await s3('DELETE', `${bucket}/${key}`, {query: {uploadId}}); } catch { /* best effort */ }
      throw e;
    }
  }

  const promise = file.size >= MULTIPART_THRESHOLD ? multipart() : single();
  return {promise, cancel: stop};
}

/** `year=2026/` -> {k: 'year', v: '2026'} (a Hive-style partition segment), else null. */
export function partitionOf(segment) {
  const m = /^([^=/]+)=([^/]*)\/?$/.exec(segment);
  return m ? {k: m[1], v: m[2]} : null;
}
