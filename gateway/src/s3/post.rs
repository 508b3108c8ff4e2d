//! POST Object: browser form uploads (`POST /bucket` with `multipart/form-data`).
//!
//! The request carries no `Authorization`: it is authorized by its form. The `policy` field is a
//! base64 JSON document (an expiration and a list of conditions) signed with an access key's
//! secret (`auth::post`); every other field before the file must be covered by a condition
//! (`x-ignore-*` and the signature fields aside), every condition must hold, and the policy must
//! not have expired. Request headers are not obeyed (only what is signed is); fields after the
//! `file` part are ignored, as on AWS. The file is streamed into the store like a PutObject body,
//! within the policy's `content-length-range`.
//!
//! Bounded: at most [`MAX_PRE_DATA`] bytes of fields before the file (AWS's 20 KiB), read one
//! network chunk at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::put::{self, Declared, SizeLimit};
use super::xml::{self, validate_tags};
use super::{S3Api, S3Request, S3Response, empty_response, headers, response, set_header};
use crate::auth::post::{FormSignature, verify_form};
use crate::auth::{AuthError, RequestBody};
use crate::store::WriteConditions;

/// Most bytes of form data before the file (AWS: 20 KiB).
pub const MAX_PRE_DATA: u64 = 20 * 1024;

/// Rough bytes of framing per field (boundary line and part headers), counted toward
/// [`MAX_PRE_DATA`] with the field's name and value.
const FIELD_FRAMING: u64 = 64;

/// Fields that need no condition in the policy.
fn exempt(name: &str, v4: bool) -> bool {
    matches!(name, "file" | "policy")
        || name.starts_with("x-ignore-")
        || (!v4 && matches!(name, "awsaccesskeyid" | "signature"))
        || (v4 && name == "x-amz-signature")
}

/// One form field before the file: its name as sent, lower-cased, and its value.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    lower: String,
    value: String,
}

/// The fields before the file, duplicates joined with `,` (in arrival order).
#[derive(Debug, Default)]
struct Form {
    fields: Vec<Field>,
}

impl Form {
    fn add(&mut self, name: &str, value: String) {
        let lower = name.to_ascii_lowercase();
        if let Some(f) = self.fields.iter_mut().find(|f| f.lower == lower) {
            f.value.push(',');
            f.value.push_str(&value);
        } else {
            self.fields.push(Field {
                name: name.to_string(),
                lower,
                value,
            });
        }
    }

    fn get(&self, lower: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.lower == lower)
            .map(|f| f.value.as_str())
    }
}

/// Why the body stream stopped (kept to map it back after the multipart parser).
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("too much form data before the file")]
    PreDataTooLarge,
}

fn missing_field(name: &str) -> S3Error {
    S3Error::invalid_argument(format!(
        "Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."
    ))
    .with_detail("ArgumentName", name)
    .with_detail("ArgumentValue", "")
}

fn malformed_post() -> S3Error {
    S3Error::new(S3ErrorCode::MalformedPOSTRequest)
}

fn policy_error(message: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidPolicyDocument,
        format!("Invalid Policy: {message}"),
    )
}

fn denied(message: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!("Invalid according to Policy: {message}"),
    )
}

/// Maps a multipart parser error: the body's own failure, the pre-data cap, or bad framing.
fn from_multer(e: multer::Error) -> S3Error {
    if let multer::Error::StreamReadFailed(inner) = &e
        && let Some(b) = inner.downcast_ref::<BodyError>()
    {
        return match b {
            BodyError::Auth(a) => S3Error::from(a.clone()),
            BodyError::PreDataTooLarge => pre_data_too_large(),
        };
    }
    malformed_post()
}

fn pre_data_too_large() -> S3Error {
    S3Error::new(S3ErrorCode::MaxPostPreDataLengthExceeded)
        .with_detail("MaxPostPreDataLengthBytes", MAX_PRE_DATA.to_string())
}

/// One condition of a policy.
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    /// `{"name": "value"}` or `["eq", "$name", "value"]`.
    Eq {
        field: String,
        value: String,
    },
    StartsWith {
        field: String,
        prefix: String,
    },
    /// Bounds as written (a bound that is not an integer fails when evaluated).
    LengthRange {
        min: Value,
        max: Value,
    },
}

impl Condition {
    /// The field the condition names (lower-cased, without `$`), if any.
    fn field(&self) -> Option<&str> {
        match self {
            Condition::Eq { field, .. } | Condition::StartsWith { field, .. } => {
                Some(field.as_str())
            }
            Condition::LengthRange { .. } => None,
        }
    }

    /// The condition as AWS quotes it in a refusal.
    fn describe(&self) -> String {
        let q = |s: &str| Value::String(s.to_string()).to_string();
        match self {
            Condition::Eq { field, value } => {
                format!("[\"eq\", {}, {}]", q(&format!("${field}")), q(value))
            }
            Condition::StartsWith { field, prefix } => format!(
                "[\"starts-with\", {}, {}]",
                q(&format!("${field}")),
                q(prefix)
            ),
            Condition::LengthRange { min, max } => {
                format!("[\"content-length-range\", {min}, {max}]")
            }
        }
    }
}

/// A decoded policy document.
#[derive(Debug)]
struct Policy {
    /// Milliseconds since the epoch.
    expiration: i64,
    conditions: Vec<Condition>,
}

/// A condition's field operand: `$name`, lower-cased; anything else names no field.
fn operand(s: &str) -> String {
    match s.strip_prefix('$') {
        Some(name) => name.to_ascii_lowercase(),
        None => String::from("\0"),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`, exactly (no offsets, no space for `T`).
fn parse_expiration(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b.last() == Some(&b'Z')
        && (b.len() == 20 || (b[19] == b'.' && b.len() > 21 && digits(20..b.len() - 1)));
    if !shape {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Decodes and checks the policy's shape (after its signature was verified).
fn parse_policy(field: &str) -> S3Result<Policy> {
    use base64::Engine;
    let compact: String = field.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| policy_error("invalid Base64 encoding."))?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| policy_error("Invalid JSON."))?;
    let Value::Object(top) = doc else {
        return Err(policy_error("Invalid JSON."));
    };
    if let Some(other) = top
        .keys()
        .find(|k| *k != "expiration" && *k != "conditions")
    {
        return Err(policy_error(format!(
            "Unexpected: '{}'.",
            other.to_ascii_lowercase()
        )));
    }
    let Some(expiration) = top.get("expiration") else {
        return Err(policy_error("Policy missing expiration."));
    };
    let Some(conditions) = top.get("conditions") else {
        return Err(policy_error("Policy missing conditions."));
    };
    let Value::Array(list) = conditions else {
        return Err(policy_error("Invalid 'conditions' value: must be a List."));
    };
    let raw = expiration.as_str().unwrap_or_default();
    let expiration = parse_expiration(raw)
        .ok_or_else(|| policy_error(format!("Invalid 'expiration' value: '{raw}'")))?;
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        out.push(match c {
            Value::Object(m) => {
                if m.len() != 1 {
                    return Err(policy_error(
                        "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.",
                    ));
                }
                let (k, v) = m.iter().next().ok_or_else(|| policy_error("Invalid JSON."))?;
                let Value::String(v) = v else {
                    return Err(policy_error("Invalid Simple-Condition: value must be a string."));
                };
                Condition::Eq {
                    field: k.to_ascii_lowercase(),
                    value: v.clone(),
                }
            }
            Value::Array(items) => {
                let Some(op) = items.first() else {
                    return Err(policy_error("Invalid Condition: missing operation identifier."));
                };
                let op = op.as_str().unwrap_or_default().to_ascii_lowercase();
                let strings = || -> S3Result<(String, String)> {
                    match (items.get(1), items.get(2)) {
                        (Some(Value::String(a)), Some(Value::String(b))) => {
                            Ok((operand(a), b.clone()))
                        }
                        _ => Err(policy_error("Invalid JSON.")),
                    }
                };
                match op.as_str() {
                    "eq" | "starts-with" | "content-length-range" if items.len() != 3 => {
                        return Err(policy_error(format!(
                            "Invalid {op}: wrong number of arguments."
                        )));
                    }
                    "eq" => {
                        let (field, value) = strings()?;
                        Condition::Eq { field, value }
                    }
                    "starts-with" => {
                        let (field, prefix) = strings()?;
                        Condition::StartsWith { field, prefix }
                    }
                    "content-length-range" => {
                        let bound = |v: &Value| match v {
                            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
                            Value::String(_) => Ok(v.clone()),
                            _ => Err(policy_error("Invalid JSON.")),
                        };
                        Condition::LengthRange {
                            min: bound(&items[1])?,
                            max: bound(&items[2])?,
                        }
                    }
                    other => {
                        return Err(policy_error(format!(
                            "Invalid Condition: unknown operation '{other}'."
                        )));
                    }
                }
            }
            _ => {
                return Err(policy_error(
                    "Invalid condition test: must be a List or Object.",
                ));
            }
        });
    }
    Ok(Policy {
        expiration,
        conditions: out,
    })
}

/// A `content-length-range` bound as an integer.
fn bound(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Checks the policy against the form (the bucket from the request URL); answers the size
/// range the file must fall in.
fn evaluate(
    policy: &Policy,
    form: &Form,
    bucket: &str,
    v4: bool,
    now_ms: i64,
) -> S3Result<SizeLimit> {
    if now_ms > policy.expiration {
        return Err(denied("Policy expired."));
    }
    let mut limit = SizeLimit::PUT;
    for c in &policy.conditions {
        let value = |field: &str| {
            if field == "bucket" {
                Some(bucket)
            } else {
                form.get(field)
            }
        };
        let holds = match c {
            Condition::Eq { field, value: want } => value(field) == Some(want.as_str()),
            Condition::StartsWith { field, prefix } => match value(field) {
                // `starts-with` an empty prefix allows any value, none included (MinIO reads an
                // absent field as empty too).
                None => prefix.is_empty(),
                // A Content-Type list: every item must start with the prefix.
                Some(v) if field == "content-type" => v
                    .split(',')
                    .all(|item| item.trim_start().starts_with(prefix.as_str())),
                Some(v) => v.starts_with(prefix.as_str()),
            },
            Condition::LengthRange { min, max } => match (bound(min), bound(max)) {
                (Some(lo), Some(hi)) => {
                    limit.min = limit.min.max(u64::try_from(lo).unwrap_or(0));
                    limit.max = limit.max.min(u64::try_from(hi).unwrap_or(0));
                    true
                }
                _ => false,
            },
        };
        if !holds {
            return Err(denied(format!("Policy Condition failed: {}", c.describe())));
        }
    }
    let covered = |name: &str| policy.conditions.iter().any(|c| c.field() == Some(name));
    let extra: Vec<&str> = form
        .fields
        .iter()
        .filter(|f| !exempt(&f.lower, v4) && !covered(&f.lower))
        .map(|f| f.name.as_str())
        .collect();
    if !extra.is_empty() {
        return Err(denied(format!("Extra input fields: {}", extra.join(", "))));
    }
    Ok(limit)
}

/// The policy of a form (the `policy` field as sent) checked against its fields (name, value)
/// for `bucket` at `now_ms`: the size range the file must fall in. For the fuzz targets.
pub(crate) fn check_policy(
    policy_field: &str,
    fields: &[(String, String)],
    bucket: &str,
    now_ms: i64,
) -> S3Result<(u64, u64)> {
    let mut form = Form::default();
    for (k, v) in fields {
        form.add(k, v.clone());
    }
    let policy = parse_policy(policy_field)?;
    let limit = evaluate(&policy, &form, bucket, false, now_ms)?;
    Ok((limit.min, limit.max))
}

/// The form fields that describe the object, as the headers a PutObject would carry.
fn object_headers(form: &Form) -> S3Result<HeaderMap> {
    let mut h = HeaderMap::new();
    for f in &form.fields {
        let name = match f.lower.as_str() {
            "acl" => "x-amz-acl",
            n if n.starts_with("x-amz-meta-")
                || n.starts_with("x-amz-server-side-encryption")
                || n.starts_with("x-amz-grant-")
                || n.starts_with("x-amz-object-lock-")
                || n.starts_with("x-amz-checksum-")
                || matches!(
                    n,
                    "content-type"
                        | "cache-control"
                        | "content-disposition"
                        | "content-encoding"
                        | "content-language"
                        | "expires"
                        | "content-md5"
                        | "x-amz-storage-class"
                        | "x-amz-website-redirect-location"
                ) =>
            {
                n
            }
            _ => continue,
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            S3Error::invalid_argument(format!("Field {} has an invalid name", f.name))
        })?;
        let value = HeaderValue::from_str(&f.value).map_err(|_| {
            S3Error::invalid_argument(format!("Field {} has an invalid value", f.name))
        })?;
        h.insert(header, value);
    }
    Ok(h)
}

/// `${filename}` in every field, from the file part's name (after its last `/` or `\`).
fn expand_filename(form: &mut Form, file_name: Option<&str>) {
    let Some(name) = file_name else { return };
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    for f in &mut form.fields {
        if f.value.contains("${filename}") {
            f.value = f.value.replace("${filename}", base);
        }
    }
}

/// `application/x-www-form-urlencoded` escaping of a redirect's query values.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Handles a POST Object. `content_type` is the request's `Content-Type`; `location` the
/// object's URL prefix (`http://host/bucket/` or, virtual-host style, `http://host/`).
pub async fn post_object(
    state: &S3Api,
    mut req: S3Request,
    location: String,
) -> S3Result<S3Response> {
    let content_type = req.header("content-type").unwrap_or_default().to_string();
    let boundary = multer::parse_boundary(&content_type).map_err(|e| match e {
        multer::Error::NoBoundary => malformed_post(),
        _ => S3Error::new(S3ErrorCode::PreconditionFailed).with_detail(
            "Condition",
            "Bucket POST must be of the enclosure-type multipart/form-data",
        ),
    })?;
    let file_started = Arc::new(AtomicBool::new(false));
    let read = Arc::new(AtomicU64::new(0));
    let view = req_view(&req);
    let result = {
        let (started, read) = (file_started.clone(), read.clone());
        let stream = futures::stream::unfold(&mut req.body, move |body| {
            let (started, read) = (started.clone(), read.clone());
            async move {
                match body.chunk().await {
                    Ok(Some(chunk)) => {
                        let total = read.fetch_add(chunk.len() as u64, Ordering::Relaxed)
                            + chunk.len() as u64;
                        // A hard cap on what the parser may buffer before the file starts.
                        if !started.load(Ordering::Relaxed) && total > MAX_PRE_DATA + 512 * 1024 {
                            return Some((Err(BodyError::PreDataTooLarge), body));
                        }
                        Some((Ok::<Bytes, BodyError>(chunk), body))
                    }
                    Ok(None) => None,
                    Err(e) => Some((Err(BodyError::Auth(e)), body)),
                }
            }
        });
        let mut multipart = multer::Multipart::new(stream, boundary);
        upload(state, &view, &mut multipart, &file_started, &location).await
    };
    let mut resp = result?;
    // Whatever follows the file part (trailing fields, the closing boundary) is read and
    // dropped, up to a bound; past it the connection is closed instead.
    let mut drained: u64 = 0;
    loop {
        match req.body.chunk().await {
            Ok(Some(c)) if drained < 64 * 1024 => drained += c.len() as u64,
            Ok(None) => break,
            _ => {
                resp.headers_mut()
                    .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
                break;
            }
        }
    }
    Ok(resp)
}

/// What the upload needs of the request (the body is being read by the parser).
struct RequestView {
    bucket: String,
    now: i64,
    /// The request's condition keys, for judging the form's signer.
    context: crate::iam::condition::ConditionContext,
}

fn req_view(req: &S3Request) -> RequestView {
    RequestView {
        bucket: req.bucket.clone(),
        now: req.now,
        context: super::access::context(req),
    }
}

async fn upload(
    state: &S3Api,
    req: &RequestView,
    multipart: &mut multer::Multipart<'_>,
    file_started: &AtomicBool,
    location: &str,
) -> S3Result<S3Response> {
    // The fields before the file.
    let mut form = Form::default();
    let mut pre_data: u64 = 0;
    let mut file = loop {
        let Some(mut field) = multipart.next_field().await.map_err(from_multer)? else {
            return Err(S3Error::invalid_argument(
                "POST requires exactly one file upload per request.",
            )
            .with_detail("ArgumentName", "file")
            .with_detail("ArgumentValue", "0"));
        };
        let name = field.name().unwrap_or_default().to_string();
        let disposition_ok = field
            .headers()
            .get(http::header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|d| d.trim_start().to_ascii_lowercase().starts_with("form-data"));
        if disposition_ok && name.eq_ignore_ascii_case("file") {
            file_started.store(true, Ordering::Relaxed);
            break field;
        }
        pre_data += FIELD_FRAMING + name.len() as u64;
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(from_multer)? {
            pre_data += chunk.len() as u64;
            if pre_data > MAX_PRE_DATA {
                return Err(pre_data_too_large());
            }
            value.extend_from_slice(&chunk);
        }
        if pre_data > MAX_PRE_DATA {
            return Err(pre_data_too_large());
        }
        if name.is_empty() {
            continue;
        }
        let value = String::from_utf8(value)
            .map_err(|_| S3Error::invalid_argument(format!("Field {name} is not valid UTF-8")))?;
        form.add(&name, value);
    };
    expand_filename(&mut form, file.file_name());

    // Who signed the policy.
    let key = form
        .get("key")
        .ok_or_else(|| missing_field("key"))?
        .to_string();
    let v4 = [
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
    ]
    .iter()
    .any(|f| form.get(f).is_some());
    let v2 = form.get("awsaccesskeyid").is_some() || form.get("signature").is_some();
    let (caller, limit) = if !v4 && !v2 {
        // No signature: an anonymous upload, as far as the bucket's policy or ACL lets
        // anyone write (and there is no policy document to obey).
        if form.get("policy").is_some() {
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Access Denied.",
            ));
        }
        (crate::iam::Caller::Anonymous, SizeLimit::PUT)
    } else {
        signed_upload(state, req, &form, v4)?
    };
    if !super::access::permitted(
        state,
        &caller,
        req.context.clone(),
        "s3:PutObject",
        &req.bucket,
        Some(&key),
        None,
    )? {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }

    // The object, as a PutObject with these headers would make it.
    let h = object_headers(&form)?;
    let (owner, acl) = super::access_control::object_write_access(state, &req.bucket, &caller, &h)?;
    let meta = headers::object_meta(&h)?;
    let (retention, legal_hold) = headers::lock_headers(&h, req.now)?;
    let tags = match form.get("tagging") {
        None => Vec::new(),
        Some(doc) => {
            let doc: xml::TaggingXml = xml::parse(doc.as_bytes())?;
            validate_tags(
                doc.tag_set
                    .tags
                    .into_iter()
                    .map(|t| (t.key, t.value))
                    .collect(),
            )?
        }
    };
    crate::store::check_object_key(&key)?;
    let store = &state.store;
    let bucket = store.bucket(&req.bucket)?;
    if (retention.is_some() || legal_hold) && !bucket.object_lock_enabled {
        return Err(S3Error::invalid_request(
            "Bucket is missing Object Lock Configuration",
        ));
    }
    let declared = Declared::of(&h)?;
    let sealing = state.encryption.begin(store, &req.bucket, &h)?;
    if let Some(a) = super::checksum::requested_algorithm(&h)?
        && let Some(v) = h.get(a.header()).and_then(|v| v.to_str().ok())
    {
        super::checksum::decode_checksum(a, v)?;
    }

    // The file, streamed in.
    let chunks = futures::stream::unfold(&mut file, |f| async move {
        match f.chunk().await {
            Ok(Some(c)) => Some((Ok(c), f)),
            Ok(None) => None,
            Err(e) => Some((Err(from_multer(e)), f)),
        }
    });
    let (staged, digests, size) = put::ingest_chunks(
        store,
        chunks,
        &declared,
        &[],
        limit,
        sealing.as_ref().map(|s| s.stream_key(0)),
    )
    .await?;
    let ingested = put::verify_ingested(staged, digests, size, &h, &declared, None).await?;
    drop(file);
    let checksum = ingested.checksum(&h)?;
    let mut new = ingested.sealed_version(
        sealing.as_ref(),
        meta,
        checksum.clone(),
        tags,
        (retention, legal_hold),
    );
    new.owner = owner;
    new.acl = acl;
    let cond = WriteConditions::default();
    let outcome =
        super::put::commit_ingested(state, &bucket, &key, new, &ingested.data, cond, req.now)
            .await?;

    // The answer the form asked for.
    let etag = format!("\"{}\"", outcome.etag);
    let object_url = format!(
        "{location}{}",
        crate::auth::uri_encode(key.as_bytes(), false)
    );
    let redirect = form
        .get("success_action_redirect")
        .or_else(|| form.get("redirect"))
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(|u| {
            let sep = if u.contains('?') { '&' } else { '?' };
            format!(
                "{u}{sep}bucket={}&key={}&etag={}",
                form_encode(&req.bucket),
                form_encode(&key),
                form_encode(&etag)
            )
        })
        .filter(|u| HeaderValue::from_str(u).is_ok());
    let mut resp = match (redirect, form.get("success_action_status")) {
        (Some(url), _) => {
            let mut r = empty_response(StatusCode::SEE_OTHER);
            set_header(r.headers_mut(), "location", &url);
            r
        }
        (None, Some("200")) => empty_response(StatusCode::OK),
        (None, Some("201")) => {
            let esc = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
            };
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                esc(&object_url),
                esc(&req.bucket),
                esc(&key),
                esc(&etag)
            );
            let mut r = response(StatusCode::CREATED, axum::body::Body::from(body));
            set_header(r.headers_mut(), "content-type", "application/xml");
            r
        }
        _ => empty_response(StatusCode::NO_CONTENT),
    };
    let h = resp.headers_mut();
    set_header(h, "etag", &etag);
    super::encryption::response_headers(h, sealing.as_ref().map(|s| &s.record));
    if !h.contains_key("location") {
        set_header(h, "location", &object_url);
    }
    if let Some(id) = outcome.version_header() {
        set_header(h, "x-amz-version-id", id);
    }
    put::checksum_response_headers(h, checksum.as_ref());
    Ok(resp)
}

/// The body of a POST Object, before any authentication: a plain stream (no aws-chunked
/// decoding: the form is not a signed payload).
pub fn plain_body(
    body: axum::body::Body,
    request_headers: &HeaderMap,
) -> Result<RequestBody, AuthError> {
    let mut only_length = HeaderMap::new();
    if let Some(v) = request_headers.get(http::header::CONTENT_LENGTH) {
        only_length.insert(http::header::CONTENT_LENGTH, v.clone());
    }
    RequestBody::new(body, crate::auth::PayloadCheck::Unsigned, &only_length)
}

/// A signed form upload: who signed its policy, and the size its policy allows, once the
/// signature and every condition of the policy hold.
fn signed_upload(
    state: &S3Api,
    req: &RequestView,
    form: &Form,
    v4: bool,
) -> S3Result<(crate::iam::Caller, SizeLimit)> {
    if form.get("x-amz-security-token").is_some() {
        return Err(AuthError::SessionTokenNotSupported.into());
    }
    let signature = if v4 {
        let field = |f: &str, shown: &str| form.get(f).ok_or_else(|| missing_field(shown));
        FormSignature::V4 {
            algorithm: field("x-amz-algorithm", "X-Amz-Algorithm")?,
            credential: field("x-amz-credential", "X-Amz-Credential")?,
            amz_date: field("x-amz-date", "X-Amz-Date")?,
            signature: field("x-amz-signature", "X-Amz-Signature")?,
        }
    } else {
        FormSignature::V2 {
            access_key: form
                .get("awsaccesskeyid")
                .ok_or_else(|| missing_field("AWSAccessKeyId"))?,
            signature: form
                .get("signature")
                .ok_or_else(|| missing_field("Signature"))?,
        }
    };
    let policy_field = form.get("policy").ok_or_else(|| missing_field("Policy"))?;
    let signer = verify_form(policy_field, signature, &state.credentials, &state.region)?;
    let caller = crate::iam::Caller::Key(signer.key);

    // What the policy allows.
    let policy = parse_policy(policy_field)?;
    let wall_clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let limit = evaluate(&policy, form, &req.bucket, v4, wall_clock)?;
    Ok((caller, limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn policy(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    fn form(fields: &[(&str, &str)]) -> Form {
        let mut f = Form::default();
        for (k, v) in fields {
            f.add(k, v.to_string());
        }
        f
    }

    #[test]
    fn policies_parse_as_aws_reads_them() {
        let p = parse_policy(&policy(
            r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"bUcKeT": "b"}, ["StArTs-WiTh", "$KeY", "foo"], ["content-length-range", 0, "1024"]]}"#,
        ))
        .unwrap();
        assert_eq!(p.conditions.len(), 3);
        assert_eq!(
            p.conditions[1],
            Condition::StartsWith {
                field: "key".into(),
                prefix: "foo".into()
            }
        );
        let code = |json: &str| parse_policy(&policy(json)).unwrap_err().message;
        assert!(
            code(r#"{"CONDITIONS": [], "expiration": "2030-01-01T00:00:00Z"}"#)
                .contains("Unexpected: 'conditions'")
        );
        assert!(code(r#"{"conditions": []}"#).contains("missing expiration"));
        assert!(code(r#"{"expiration": "2030-01-01T00:00:00Z"}"#).contains("missing conditions"));
        assert!(
            code(r#"{"expiration": "2030-01-01 00:00:00+00:00", "conditions": []}"#)
                .contains("'expiration' value")
        );
        assert!(
            code(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{}]}"#)
                .contains("exactly one property")
        );
        assert!(code(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 0]]}"#).contains("wrong number of arguments"));
        assert!(parse_policy("%%%").unwrap_err().message.contains("Base64"));
        assert!(parse_expiration("2030-01-01T00:00:00.000Z").is_some());
    }

    #[test]
    fn conditions_coverage_and_ranges() {
        let p = parse_policy(&policy(
            r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"bucket": "b"}, ["starts-with", "$key", "\\$foo"], ["starts-with", "$Content-Type", "text/"], ["content-length-range", 1, 10]]}"#,
        ))
        .unwrap();
        let ok = form(&[
            ("key", "\\$foo.txt"),
            ("Content-Type", "text/plain"),
            ("AWSAccessKeyId", "a"),
            ("signature", "s"),
            ("x-ignore-me", "1"),
        ]);
        let limit = evaluate(&p, &ok, "b", false, 0).unwrap();
        assert_eq!((limit.min, limit.max), (1, 10));
        // Another bucket, an uncovered field, an expired policy.
        assert!(
            evaluate(&p, &ok, "other", false, 0)
                .unwrap_err()
                .message
                .contains("[\"eq\", \"$bucket\", \"b\"]")
        );
        let extra = form(&[
            ("key", "\\$foo.txt"),
            ("Content-Type", "text/plain"),
            ("x-amz-meta-a", "1"),
        ]);
        assert!(
            evaluate(&p, &extra, "b", false, 0)
                .unwrap_err()
                .message
                .contains("Extra input fields: x-amz-meta-a")
        );
        assert!(
            evaluate(&p, &ok, "b", false, i64::MAX)
                .unwrap_err()
                .message
                .contains("expired")
        );
        // A condition on an absent field fails.
        let absent = form(&[("key", "\\$foo.txt")]);
        assert_eq!(
            evaluate(&p, &absent, "b", false, 0).unwrap_err().code,
            S3ErrorCode::AccessDenied
        );
    }

    #[test]
    fn filenames_and_redirect_encoding() {
        let mut f = form(&[("key", "uploads/${filename}")]);
        expand_filename(&mut f, Some("C:\\dir\\a b.txt"));
        assert_eq!(f.get("key"), Some("uploads/a b.txt"));
        assert_eq!(form_encode("a b/\"c\""), "a+b%2F%22c%22");
        let mut dup = form(&[("x-amz-meta-n", "a"), ("X-Amz-Meta-N", "b")]);
        expand_filename(&mut dup, None);
        assert_eq!(dup.get("x-amz-meta-n"), Some("a,b"));
    }
}
