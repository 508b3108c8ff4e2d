//! The S3 API: routing, XML, errors and one handler module per operation family.
//!
//! [`handle`] takes every S3 request the HTTP layer (`net/`) hands it: it authenticates,
//! routes to an [`Operation`], runs its handler and renders errors as S3 XML. [`S3Api`] is what
//! the handlers work on.

pub mod access;
pub mod access_control;
pub mod access_log;
pub mod acl;
pub mod attributes;
pub mod bucket;
pub mod bucket_policy;
pub mod checksum;
pub mod copy;
pub mod cors;
pub mod delete;
pub mod encryption;
pub mod error;
pub mod get;
pub mod headers;
pub mod lifecycle;
pub mod list;
pub mod lock;
pub mod logging;
pub mod multipart;
pub mod post;
pub mod put;
pub mod router;
pub mod stats;
pub mod tagging;
pub mod xml;

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use crate::audit::{AuditEntry, AuditLog};
use crate::auth::{self, CredentialStore, RequestBody};
use crate::clock::Clock;
use crate::iam::{BucketPolicies, Caller, Identities};
use crate::lifecycle::LifecycleScanner;
use crate::policy::registry::PolicyRegistry;
use crate::store::{Millis, Store, StoreError, VersionRecord};
use error::{S3Error, S3ErrorCode, S3Result};
use router::{Operation, Query};

/// Largest request header section (and URI) accepted; larger ones get
/// `RequestHeaderSectionTooLarge`. hyper refuses anything past 256 KiB before we see it.
const MAX_HEADER_SECTION: usize = 64 * 1024;

/// What every S3 handler works on: the S3 API's share of the application (see `app.rs`).
pub struct S3Api {
    pub store: Arc<Store>,
    pub credentials: CredentialStore,
    /// Users, groups, policies and access keys; judges every request (`access.rs`).
    pub identities: Arc<Identities>,
    /// Buckets' policies, parsed and cached.
    pub bucket_policies: Arc<BucketPolicies>,
    /// Base domains for virtual-host-style requests (`<bucket>.<domain>`).
    pub domains: Vec<String>,
    /// The region this server answers for (GetBucketLocation, default LocationConstraint).
    pub region: String,
    /// Per-bucket policy bindings (the retention hook on writes).
    pub policies: Arc<PolicyRegistry>,
    /// "Now" for object timestamps, object lock and policies (see [`crate::clock`]).
    pub clock: Arc<Clock>,
    /// Checks S3 lifecycle configurations with the lifecycle plugin the scanner will run.
    pub lifecycle: Arc<LifecycleScanner>,
    /// A request body that delivers no bytes for this long fails with `RequestTimeout`.
    pub body_read_timeout: std::time::Duration,
    /// Server access logging: records requests on buckets whose logging is on.
    pub access_log: Arc<access_log::AccessLog>,
    /// Server-side encryption: the KMS, and whether SSE-C keys may travel.
    pub encryption: encryption::Encryption,
    /// Request accounting for the metrics endpoints.
    pub stats: Arc<stats::RequestStats>,
    /// The audit trail: one entry per mutating request.
    pub audit: Arc<AuditLog>,
}

impl S3Api {
    /// The account's canonical id: the owner of every bucket and object.
    pub fn account(&self) -> &str {
        self.identities.root_access_key()
    }

    /// Writes `<element><ID>id</ID><DisplayName>…</DisplayName></element>` for an owner (or
    /// an initiator): `id` is a canonical id, `None` the account.
    pub fn write_owner(&self, w: &mut xml::XmlWriter, element: &str, id: Option<&str>) {
        let id = id.unwrap_or(self.account());
        w.open(element)
            .elem("ID", id)
            .elem("DisplayName", &self.identities.display_name(id))
            .close(element);
    }

    /// Adds `x-amz-expiration` when the bucket's lifecycle configuration will expire the
    /// current object `o`.
    fn set_expiration(
        &self,
        bucket: &str,
        o: &crate::lifecycle::expiry::ObjectFacts<'_>,
        h: &mut HeaderMap,
    ) {
        if let Some(v) = self.lifecycle.expiration_header(bucket, o) {
            set_header(h, "x-amz-expiration", &v);
        }
    }

    /// Changes the object version a request names (`?versionId=`, else the current version) in
    /// one metadata transaction; answers the changed version. (The future does not borrow the
    /// request, whose body is not `Sync`.)
    fn update_named_version<'a, F>(
        &'a self,
        req: &S3Request,
        change: F,
    ) -> impl Future<Output = S3Result<VersionRecord>> + Send + use<'a, F>
    where
        F: FnOnce(&mut VersionRecord) -> Result<(), StoreError> + Send + 'static,
    {
        let (bucket, key) = (req.bucket.clone(), req.key.clone());
        let version_id = req.query.get("versionId").map(str::to_string);
        async move {
            Ok(self
                .store
                .update_version(&bucket, &key, version_id.as_deref(), move |v, _| change(v))
                .await?)
        }
    }
}

/// One authenticated S3 request, as handlers see it.
pub struct S3Request {
    pub request_id: String,
    pub op: Operation,
    pub method: Method,
    /// Present for every bucket- and object-level operation.
    pub bucket: String,
    /// Present for every object-level operation.
    pub key: String,
    pub query: Query,
    pub headers: HeaderMap,
    pub body: RequestBody,
    /// Who sent it (anonymous when unsigned).
    pub caller: Caller,
    /// The client's address, when the network layer knows it.
    pub client: Option<access::ClientAddr>,
    /// The request's arrival time.
    pub now: Millis,
}

impl S3Request {
    /// A header as a string, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub type S3Response = Response<Body>;

/// Builds a response with the given status and body.
pub fn response(status: StatusCode, body: Body) -> S3Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r
}

/// A 200 response carrying an XML document.
pub fn xml_response(doc: String) -> S3Response {
    let mut r = response(StatusCode::OK, Body::from(doc));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

/// An empty response.
pub fn empty_response(status: StatusCode) -> S3Response {
    response(status, Body::empty())
}

/// Inserts a header whose value may be arbitrary text (skipped if not representable).
pub fn set_header(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

impl From<StoreError> for S3Error {
    fn from(e: StoreError) -> Self {
        use S3ErrorCode as C;
        match e {
            StoreError::InvalidName(e) => e.into(),
            StoreError::NoSuchBucket => S3Error::new(C::NoSuchBucket),
            StoreError::BucketExists => S3Error::new(C::BucketAlreadyOwnedByYou),
            StoreError::BucketNotEmpty => S3Error::new(C::BucketNotEmpty),
            StoreError::NoSuchKey => S3Error::new(C::NoSuchKey),
            StoreError::NoSuchVersion => S3Error::new(C::NoSuchVersion),
            StoreError::DeleteMarker {
                version_id,
                last_modified,
                current,
            } => {
                let mut err = if current {
                    S3Error::new(C::NoSuchKey)
                } else {
                    S3Error::with_message(
                        C::MethodNotAllowed,
                        "The specified method is not allowed against this resource.",
                    )
                };
                err.headers
                    .insert("x-amz-delete-marker", HeaderValue::from_static("true"));
                if let Ok(v) = HeaderValue::from_str(&version_id) {
                    err.headers.insert("x-amz-version-id", v);
                }
                if let Ok(v) = HeaderValue::from_str(&xml::http_date(last_modified)) {
                    err.headers.insert(http::header::LAST_MODIFIED, v);
                }
                if !current {
                    err.headers
                        .insert(http::header::ALLOW, HeaderValue::from_static("DELETE"));
                }
                err
            }
            StoreError::NoSuchUpload => S3Error::new(C::NoSuchUpload),
            StoreError::PreconditionFailed => S3Error::new(C::PreconditionFailed),
            StoreError::Locked(why) => {
                S3Error::with_message(C::AccessDenied, format!("Access Denied because {why}"))
            }
            StoreError::InvalidPart(why) => S3Error::with_message(C::InvalidPart, why),
            StoreError::InvalidPartOrder => S3Error::new(C::InvalidPartOrder),
            StoreError::EntityTooSmall(_) => S3Error::new(C::EntityTooSmall),
            StoreError::InvalidRequest(m) => S3Error::with_message(C::InvalidRequest, m),
            StoreError::InvalidArgument(m) => S3Error::with_message(C::InvalidArgument, m),
            StoreError::Conflict => S3Error::new(C::ConditionalRequestConflict),
            // Logged once per state change by the store, not per request.
            StoreError::StorageFull(_) => S3Error::new(C::XMinioStorageFull),
            // Logged by the store when it goes down; clients retry a 503.
            StoreError::Unavailable(_) => S3Error::new(C::ServiceUnavailable),
            StoreError::Io(_) | StoreError::Corrupt(_) => S3Error::internal(e),
        }
    }
}

/// Handles one S3 request (the HTTP layer has assigned `request_id` and opened its span):
/// authenticates, routes to an [`Operation`], runs its handler and renders errors as S3 XML.
///
/// A request on a bucket whose server access logging is on is logged once answered
/// (`access_log.rs`); a routed request is counted for the metrics endpoints (`stats.rs`); a
/// mutating one goes to the audit trail.
pub async fn handle(api: &S3Api, req: Request<Body>, request_id: &str) -> S3Response {
    serve(api, req, request_id, Authn::Signature).await
}

/// How a request's caller is known.
pub enum Authn {
    /// From the request's signature (anonymous when unsigned): every request on the S3 port.
    Signature,
    /// Established before the request reached the S3 API (a console session, whose login
    /// checked the key's secret): no signature is looked for; authorisation is the same.
    Established(Caller),
}

/// [`handle`] for a caller a console session has already authenticated: the same routing,
/// accounting, audit and authorisation (`access::authorize`, the one evaluator), without a
/// signature. Path-style only; browser-only operations (CORS preflight, POST Object) are
/// refused.
pub async fn handle_as(
    api: &S3Api,
    caller: Caller,
    req: Request<Body>,
    request_id: &str,
) -> S3Response {
    serve(api, req, request_id, Authn::Established(caller)).await
}

async fn serve(api: &S3Api, req: Request<Body>, request_id: &str, authn: Authn) -> S3Response {
    let started = std::time::Instant::now();
    let is_head = req.method() == Method::HEAD;
    let resource = req.uri().path().to_string();
    let mut entry = None;
    let mut facts = Facts::default();
    let (response, error_code) =
        match dispatch(api, req, request_id, &mut entry, &mut facts, authn).await {
            Ok(r) => (r, None),
            Err(e) => (
                error_response(&e, &resource, request_id, is_head),
                Some(e.code),
            ),
        };
    let record = entry.and_then(|entry| {
        api.access_log.prepare(
            api,
            entry,
            &response,
            error_code.map(|c| c.as_str()),
            started.elapsed(),
        )
    });
    if let Some(record) = record {
        api.access_log.append(record).await;
    }
    if facts.mutating && api.audit.is_enabled() {
        api.audit
            .record(facts.audit_entry(request_id, &response, error_code, started));
    }
    match facts.tracker.take() {
        Some(tracker) => tracker.finish(response),
        None => response,
    }
}

/// What answering a request learns about it, for the metrics and the audit trail.
#[derive(Default)]
struct Facts {
    op: Option<Operation>,
    mutating: bool,
    bucket: Option<String>,
    key: Option<String>,
    version_id: Option<String>,
    principal: Option<String>,
    client: Option<access::ClientAddr>,
    bytes_received: u64,
    tracker: Option<stats::RequestTracker>,
}

impl Facts {
    fn audit_entry(
        &self,
        request_id: &str,
        response: &S3Response,
        error: Option<S3ErrorCode>,
        started: std::time::Instant,
    ) -> AuditEntry {
        let op = self.op.map(Operation::name).unwrap_or("Unknown");
        let mut e = AuditEntry::new(request_id, "s3", op);
        e.principal = self.principal.clone();
        e.source = self.client.map(|c| c.0.to_string());
        e.bucket = self.bucket.clone();
        e.key = self.key.clone();
        e.version_id = response
            .headers()
            .get("x-amz-version-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| self.version_id.clone());
        e.status = response.status().as_u16();
        e.error = error.map(|c| c.as_str().to_string());
        e.bytes_received = self.bytes_received;
        e.bytes_sent = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        e.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        e
    }
}

/// Refuses a header section (or URI) larger than [`MAX_HEADER_SECTION`].
pub fn check_header_section(parts: &http::request::Parts) -> S3Result<()> {
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_SECTION || parts.uri.to_string().len() > MAX_HEADER_SECTION {
        return Err(S3Error::with_message(
            S3ErrorCode::RequestHeaderSectionTooLarge,
            format!(
                "Your request header section exceeds the maximum allowed size ({MAX_HEADER_SECTION} bytes)."
            ),
        ));
    }
    Ok(())
}

/// Renders an S3 error (no body for HEAD).
pub fn error_response(e: &S3Error, resource: &str, request_id: &str, is_head: bool) -> S3Response {
    // A full store is logged by the store once per state change, not per refused request.
    if e.code.status().is_server_error() && e.code != S3ErrorCode::XMinioStorageFull {
        tracing::warn!(code = e.code.as_str(), "request failed");
    } else {
        tracing::debug!(code = e.code.as_str(), message = %e.message, "request refused");
    }
    let body = if is_head || e.code == S3ErrorCode::NotModified {
        Body::empty()
    } else {
        Body::from(e.to_xml(resource, request_id))
    };
    let mut r = response(e.status(), body);
    if !is_head && e.code != S3ErrorCode::NotModified {
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
    }
    for (k, v) in &e.headers {
        r.headers_mut().insert(k.clone(), v.clone());
    }
    if e.code == S3ErrorCode::RequestTimeout {
        // The rest of the stalled body is never read: the connection cannot be reused.
        r.headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

/// Routes, authenticates and answers; `entry` is started once the request is known to be on a
/// bucket whose logging is on.
async fn dispatch(
    state: &S3Api,
    req: Request<Body>,
    request_id: &str,
    entry: &mut Option<access_log::Entry>,
    facts: &mut Facts,
    authn: Authn,
) -> S3Result<S3Response> {
    let (parts, body) = req.into_parts();
    check_header_section(&parts)?;
    let path = parts.uri.path();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let vhost = match authn {
        Authn::Signature => router::vhost_bucket(host, &state.domains),
        // The console's own host name never names a bucket.
        Authn::Established(_) => None,
    };
    let (bucket, key) = router::split_path(path, vhost)?;
    let query = Query::parse(parts.uri.query())?;
    let op = router::resolve(
        &parts.method,
        bucket.is_some(),
        key.is_some(),
        &query,
        &parts.headers,
    )?;
    tracing::Span::current().record("op", op.name());
    if let Some(b) = &bucket {
        crate::store::check_bucket_name(b)?;
    }
    if let Some(k) = &key {
        crate::store::check_object_key(k)?;
    }
    facts.op = Some(op);
    facts.mutating = matches!(parts.method, Method::PUT | Method::POST | Method::DELETE);
    facts.bucket = bucket.clone();
    facts.key = key.clone();
    facts.version_id = query.get("versionId").map(str::to_string);
    facts.client = parts.extensions.get::<access::ClientAddr>().copied();
    facts.bytes_received = ["x-amz-decoded-content-length", "content-length"]
        .iter()
        .find_map(|h| parts.headers.get(*h)?.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    facts.tracker = state.stats.start(op, bucket.as_deref(), || {
        bucket
            .as_deref()
            .is_some_and(|b| state.store.bucket(b).is_ok())
    });
    let body = match &facts.tracker {
        Some(t) => t.count_received(body),
        None => body,
    };
    if let Some(b) = &bucket {
        *entry = state
            .access_log
            .entry(&parts, b, key.as_deref(), &query, op, request_id);
    }
    if matches!(authn, Authn::Established(_))
        && matches!(op, Operation::PreflightCors | Operation::PostObject)
    {
        return Err(S3Error::with_message(
            S3ErrorCode::MethodNotAllowed,
            "The specified method is not allowed against this resource.",
        ));
    }
    if op == Operation::PreflightCors {
        // A browser's preflight is never signed.
        return cors::preflight(state, bucket.as_deref().unwrap_or_default(), &parts.headers);
    }
    // A cross-origin request gets the bucket's CORS headers on its answer, success or error
    // (not through the console, whose pages are never cross-origin).
    let cors_headers = match (
        &bucket,
        parts.headers.get("origin").and_then(|v| v.to_str().ok()),
        &authn,
    ) {
        (Some(b), Some(origin), Authn::Signature) => {
            cors::response_headers(state, b, &parts.method, origin)
        }
        _ => HeaderMap::new(),
    };
    let routed = Routed {
        vhost: vhost.map(str::to_string),
        parts,
        body,
        op,
        bucket,
        key,
        query,
    };
    let result = answer(state, routed, request_id, entry, facts, authn).await;
    if cors_headers.is_empty() {
        return result;
    }
    match result {
        Ok(mut r) => {
            r.headers_mut().extend(cors_headers);
            Ok(r)
        }
        Err(mut e) => {
            e.headers.extend(cors_headers);
            Err(e)
        }
    }
}

/// A request after routing, before authentication.
struct Routed {
    parts: http::request::Parts,
    body: Body,
    op: Operation,
    /// The bucket named by the Host header (virtual-host style), if any.
    vhost: Option<String>,
    bucket: Option<String>,
    key: Option<String>,
    query: Query,
}

/// Authenticates a routed request (from its form, for a POST Object) and runs its handler.
async fn answer(
    state: &S3Api,
    routed: Routed,
    request_id: &str,
    entry: &mut Option<access_log::Entry>,
    facts: &mut Facts,
    authn: Authn,
) -> S3Result<S3Response> {
    let Routed {
        parts,
        body,
        op,
        vhost,
        bucket,
        key,
        query,
    } = routed;
    let vhost = vhost.as_deref();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    if op == Operation::PostObject {
        // A browser form upload is authorized by its signed form, not by the request.
        let location = match host {
            Some(h) if vhost.is_some() => format!("http://{h}/"),
            Some(h) => format!("http://{h}/{}/", bucket.as_deref().unwrap_or_default()),
            None => format!("/{}/", bucket.as_deref().unwrap_or_default()),
        };
        let body =
            post::plain_body(body, &parts.headers)?.with_read_timeout(state.body_read_timeout);
        let req = S3Request {
            request_id: request_id.to_string(),
            op,
            method: parts.method,
            bucket: bucket.unwrap_or_default(),
            key: String::new(),
            query,
            headers: parts.headers,
            body,
            caller: Caller::Anonymous,
            client: parts.extensions.get::<access::ClientAddr>().copied(),
            now: state.clock.now(),
        };
        return post::post_object(state, req, location).await;
    }
    let (caller, payload) = match authn {
        Authn::Established(caller) => (caller, auth::PayloadCheck::Unsigned),
        Authn::Signature => match auth::authenticate(
            &parts,
            vhost,
            &state.credentials,
            &state.region,
            SystemTime::now(),
        ) {
            Ok(a) => (Caller::Key(a.key), a.payload),
            // Unsigned: judged as anonymous (only a bucket policy can let it in).
            Err(auth::AuthError::Anonymous) => (Caller::Anonymous, auth::PayloadCheck::Unsigned),
            Err(e) => return Err(e.into()),
        },
    };
    if let Some(e) = entry.as_mut() {
        e.requester = caller.user().map(str::to_string);
    }
    facts.principal = caller.access_key().map(str::to_string);
    let client = parts.extensions.get::<access::ClientAddr>().copied();
    let body =
        RequestBody::new(body, payload, &parts.headers)?.with_read_timeout(state.body_read_timeout);
    let req = S3Request {
        request_id: request_id.to_string(),
        op,
        method: parts.method,
        bucket: bucket.unwrap_or_default(),
        key: key.unwrap_or_default(),
        query,
        headers: parts.headers,
        body,
        caller,
        client,
        now: state.clock.now(),
    };
    access::authorize(state, &req)?;
    run(state, req).await
}

async fn run(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    use Operation::*;
    match req.op {
        ListBuckets => bucket::list_buckets(state, req).await,
        CreateBucket => bucket::create_bucket(state, req).await,
        DeleteBucket => bucket::delete_bucket(state, req).await,
        HeadBucket => bucket::head_bucket(state, req).await,
        GetBucketLocation => bucket::get_location(state, req).await,
        GetBucketVersioning => bucket::get_versioning(state, req).await,
        PutBucketVersioning => bucket::put_versioning(state, req).await,
        GetBucketAcl => access_control::get_bucket_acl(state, req).await,
        PutBucketAcl => access_control::put_bucket_acl(state, req).await,
        GetBucketTagging => bucket::get_tagging(state, req).await,
        GetBucketLifecycleConfiguration => lifecycle::get(state, req).await,
        PutBucketLifecycleConfiguration => lifecycle::put(state, req).await,
        DeleteBucketLifecycle => lifecycle::delete(state, req).await,
        PutBucketTagging => bucket::put_tagging(state, req).await,
        DeleteBucketTagging => bucket::delete_tagging(state, req).await,
        GetObjectLockConfiguration => lock::get_lock_configuration(state, req).await,
        PutObjectLockConfiguration => lock::put_lock_configuration(state, req).await,
        ListObjects => list::list_objects_v1(state, req).await,
        ListObjectsV2 => list::list_objects_v2(state, req).await,
        ListObjectVersions => list::list_object_versions(state, req).await,
        ListMultipartUploads => multipart::list_uploads(state, req).await,
        DeleteObjects => delete::delete_objects(state, req).await,
        GetObject => get::get_object(state, req, false).await,
        GetObjectAttributes => attributes::get_object_attributes(state, req).await,
        HeadObject => get::get_object(state, req, true).await,
        PostObject | PreflightCors => Err(S3Error::internal(
            "answered before authentication (dispatch)",
        )),
        GetBucketCors => cors::get(state, req).await,
        PutBucketCors => cors::put(state, req).await,
        DeleteBucketCors => cors::delete(state, req).await,
        GetBucketPolicy => bucket_policy::get(state, req).await,
        PutBucketPolicy => bucket_policy::put(state, req).await,
        DeleteBucketPolicy => bucket_policy::delete(state, req).await,
        GetBucketPolicyStatus => bucket_policy::status(state, req).await,
        GetBucketOwnershipControls => access_control::get_ownership_controls(state, req).await,
        PutBucketOwnershipControls => access_control::put_ownership_controls(state, req).await,
        DeleteBucketOwnershipControls => {
            access_control::delete_ownership_controls(state, req).await
        }
        GetPublicAccessBlock => access_control::get_public_access_block(state, req).await,
        PutPublicAccessBlock => access_control::put_public_access_block(state, req).await,
        GetBucketLogging => logging::get(state, req).await,
        PutBucketLogging => logging::put(state, req).await,
        GetBucketEncryption => encryption::get_bucket_encryption(state, req).await,
        PutBucketEncryption => encryption::put_bucket_encryption(state, req).await,
        DeleteBucketEncryption => encryption::delete_bucket_encryption(state, req).await,
        DeletePublicAccessBlock => access_control::delete_public_access_block(state, req).await,
        PutObject => put::put_object(state, req).await,
        CopyObject => copy::copy_object(state, req).await,
        DeleteObject => delete::delete_object(state, req).await,
        GetObjectTagging => tagging::get_tagging(state, req).await,
        PutObjectTagging => tagging::put_tagging(state, req).await,
        DeleteObjectTagging => tagging::delete_tagging(state, req).await,
        GetObjectRetention => lock::get_retention(state, req).await,
        PutObjectRetention => lock::put_retention(state, req).await,
        GetObjectLegalHold => lock::get_legal_hold(state, req).await,
        PutObjectLegalHold => lock::put_legal_hold(state, req).await,
        GetObjectAcl => access_control::get_object_acl(state, req).await,
        PutObjectAcl => access_control::put_object_acl(state, req).await,
        CreateMultipartUpload => multipart::create(state, req).await,
        UploadPart => multipart::upload_part(state, req).await,
        UploadPartCopy => multipart::upload_part_copy(state, req).await,
        CompleteMultipartUpload => multipart::complete(state, req).await,
        AbortMultipartUpload => multipart::abort(state, req).await,
        ListParts => multipart::list_parts(state, req).await,
    }
}
