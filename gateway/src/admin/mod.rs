//! The admin API: lakegate's own management surface, on the S3 port under [`PREFIX`]
//! (path-style only), answered in JSON. `docs/ADMIN-API.md` documents every route.
//!
//! One route table ([`Route`]), one authentication step ([`authorize`]: a request signed by the
//! root credentials, SigV4 or SigV2, as the S3 API checks signatures) and one error type
//! ([`AdminError`], JSON, also for authentication failures). The handlers live beside this file
//! by concern: [`policies`] (plugins and bindings), [`lifecycle`] (scans), [`backup`] (runs,
//! restores, jobs) and [`clock`] (the data plane's time).

pub mod audit;
pub mod backup;
pub mod clock;
pub mod error;
pub mod identities;
pub mod kms;
pub mod lifecycle;
pub mod minio;
pub mod policies;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use http::{HeaderValue, Method, Response, StatusCode};

pub use error::{AdminError, AdminResult};

use crate::audit::{AuditEntry, AuditLog};
use crate::auth::{self, CredentialStore, RequestBody};
use crate::backup::BackupService;
use crate::clock::Clock;
use crate::iam::condition::ConditionContext;
use crate::iam::{Caller, Identities};
use crate::lifecycle::LifecycleScanner;
use crate::policy::registry::PolicyRegistry;
use crate::s3::error::S3Error;
use crate::store::Store;

/// The reserved path prefix of the admin API.
pub const PREFIX: &str = "/lakegate/admin/v1/";

/// What the admin API works on.
pub struct AdminApi {
    pub store: Arc<Store>,
    pub credentials: CredentialStore,
    /// Who may do what: every admin request is judged by its IAM action.
    pub identities: Arc<Identities>,
    /// The region request signatures are scoped to.
    pub region: String,
    pub policies: Arc<PolicyRegistry>,
    pub clock: Arc<Clock>,
    pub lifecycle: Arc<LifecycleScanner>,
    pub backup: Arc<BackupService>,
    /// The KMS (key rotation re-seals stored data keys).
    pub encryption: crate::s3::encryption::Encryption,
    /// A request body that delivers no bytes for this long fails with `RequestTimeout`.
    pub body_read_timeout: Duration,
    /// The audit trail: every change made through the admin APIs.
    pub audit: Arc<AuditLog>,
}

/// Whether a request is for an admin API (path-style requests under [`PREFIX`], or MinIO's
/// under [`minio::PREFIX`]).
pub fn is_admin_path(path: &str, vhost_bucket: Option<&str>) -> bool {
    vhost_bucket.is_none() && (path.starts_with(PREFIX) || minio::is_minio_admin_path(path))
}

/// Every route of the admin API: the path after [`PREFIX`], parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `policies`: every binding's status.
    Policies,
    /// `policies/suites`: runs the snapshot suites of the policies directory.
    PolicySuites,
    /// `policies/preview`: what a candidate binding would do, without serving it.
    PolicyPreview,
    /// `audit`: the newest audit entries, filtered.
    Audit,
    /// `bindings/{name}.toml`
    Binding(&'a str),
    /// `plugins/{name}.wasm`
    Plugin(&'a str),
    /// `lifecycle/{bucket}`: the last and running scans.
    Lifecycle(&'a str),
    /// `lifecycle/{bucket}/run`
    LifecycleRun(&'a str),
    /// `kms/rewrap/{bucket}`: re-seal the bucket's data keys under the newest KMS key versions.
    KmsRewrap(&'a str),
    /// `backup`: the target and the buckets with backups.
    Backups,
    /// `backup/{bucket}`
    Backup(&'a str),
    /// `backup/{bucket}/run`
    BackupRun(&'a str),
    /// `backup/{bucket}/restore`
    BackupRestore(&'a str),
    /// `jobs`
    Jobs,
    /// `jobs/{id}`
    Job(&'a str),
    /// `clock`
    Clock,
    /// `iam/users`
    Users,
    /// `iam/users/{access_key}`
    User(&'a str),
    /// `iam/users/{access_key}/enable` (`true`) or `/disable`
    UserStatus(&'a str, bool),
    /// `iam/groups`
    Groups,
    /// `iam/groups/{name}`
    Group(&'a str),
    /// `iam/groups/{name}/remove-members`
    GroupRemoveMembers(&'a str),
    /// `iam/groups/{name}/enable` (`true`) or `/disable`
    GroupStatus(&'a str, bool),
    /// `iam/policies`
    IamPolicies,
    /// `iam/policies/{name}`
    IamPolicy(&'a str),
    /// `iam/attach` (`true`) or `iam/detach`
    Attachment(bool),
    /// `iam/access-keys`
    AccessKeys,
    /// `iam/access-keys/{access_key}`
    AccessKey(&'a str),
}

impl<'a> Route<'a> {
    /// The route for `rest` (the path after [`PREFIX`]), if there is one.
    pub fn parse(rest: &'a str) -> Option<Route<'a>> {
        // A binding's or plugin's name is the whole rest of the path (then refused as a name
        // if it holds a slash), never another route.
        if let Some(name) = rest.strip_prefix("bindings/") {
            return Some(Route::Binding(name));
        }
        if let Some(name) = rest.strip_prefix("plugins/") {
            return Some(Route::Plugin(name));
        }
        let segments: Vec<&str> = rest.split('/').collect();
        Some(match segments.as_slice() {
            ["policies"] => Route::Policies,
            ["policies", "suites"] => Route::PolicySuites,
            ["policies", "preview"] => Route::PolicyPreview,
            ["audit"] => Route::Audit,
            ["lifecycle", bucket] => Route::Lifecycle(bucket),
            ["lifecycle", bucket, "run"] => Route::LifecycleRun(bucket),
            ["kms", "rewrap", bucket] => Route::KmsRewrap(bucket),
            ["backup"] | ["backup", ""] => Route::Backups,
            ["backup", bucket] => Route::Backup(bucket),
            ["backup", bucket, "run"] => Route::BackupRun(bucket),
            ["backup", bucket, "restore"] => Route::BackupRestore(bucket),
            ["jobs"] | ["jobs", ""] => Route::Jobs,
            ["jobs", id] => Route::Job(id),
            ["clock"] => Route::Clock,
            ["iam", "users"] => Route::Users,
            ["iam", "users", ak] => Route::User(ak),
            ["iam", "users", ak, "enable"] => Route::UserStatus(ak, true),
            ["iam", "users", ak, "disable"] => Route::UserStatus(ak, false),
            ["iam", "groups"] => Route::Groups,
            ["iam", "groups", g] => Route::Group(g),
            ["iam", "groups", g, "remove-members"] => Route::GroupRemoveMembers(g),
            ["iam", "groups", g, "enable"] => Route::GroupStatus(g, true),
            ["iam", "groups", g, "disable"] => Route::GroupStatus(g, false),
            ["iam", "policies"] => Route::IamPolicies,
            ["iam", "policies", p] => Route::IamPolicy(p),
            ["iam", "attach"] => Route::Attachment(true),
            ["iam", "detach"] => Route::Attachment(false),
            ["iam", "access-keys"] => Route::AccessKeys,
            ["iam", "access-keys", ak] => Route::AccessKey(ak),
            _ => return None,
        })
    }

    /// The methods the route takes (`HEAD` goes wherever `GET` does), as an `Allow` value.
    pub fn allowed(&self) -> &'static str {
        match self {
            Route::Binding(_) => "GET, PUT, DELETE",
            Route::Plugin(_) => "PUT",
            Route::Clock => "GET, PUT",
            Route::LifecycleRun(_)
            | Route::PolicyPreview
            | Route::KmsRewrap(_)
            | Route::BackupRun(_)
            | Route::BackupRestore(_)
            | Route::UserStatus(..)
            | Route::GroupRemoveMembers(_)
            | Route::GroupStatus(..)
            | Route::Attachment(_) => "POST",
            Route::User(_) | Route::Group(_) | Route::IamPolicy(_) | Route::AccessKey(_) => {
                "GET, PUT, DELETE"
            }
            Route::AccessKeys => "GET, POST",
            Route::Users | Route::Groups | Route::IamPolicies => "GET",
            Route::Policies
            | Route::PolicySuites
            | Route::Audit
            | Route::Lifecycle(_)
            | Route::Backups
            | Route::Backup(_)
            | Route::Jobs
            | Route::Job(_) => "GET",
        }
    }

    /// The IAM action a request on this route needs, and the resource it acts on.
    pub fn permission(&self, method: &Method) -> (&'static str, String) {
        let any = || "arn:aws:s3:::*".to_string();
        let bucket = |b: &str| format!("arn:aws:s3:::{b}");
        let by_method = |get, put, delete| match *method {
            Method::PUT => put,
            Method::DELETE => delete,
            _ => get,
        };
        match *self {
            Route::Policies => ("lakegate:ListPolicyBindings", any()),
            Route::PolicySuites => ("lakegate:RunPolicySuites", any()),
            // A preview runs a candidate the caller could put: the same permission.
            Route::PolicyPreview => ("lakegate:PutPolicyBinding", any()),
            Route::Audit => ("lakegate:GetAuditTrail", any()),
            Route::Binding(_) => (
                by_method(
                    "lakegate:GetPolicyBinding",
                    "lakegate:PutPolicyBinding",
                    "lakegate:DeletePolicyBinding",
                ),
                any(),
            ),
            Route::Plugin(_) => ("lakegate:PutPlugin", any()),
            Route::Lifecycle(b) => ("lakegate:GetLifecycleStatus", bucket(b)),
            Route::LifecycleRun(b) => ("lakegate:RunLifecycle", bucket(b)),
            Route::KmsRewrap(b) => ("lakegate:RewrapKeys", bucket(b)),
            Route::Backups => ("lakegate:ListBackups", any()),
            Route::Backup(b) => ("lakegate:GetBackupStatus", bucket(b)),
            Route::BackupRun(b) => ("lakegate:RunBackup", bucket(b)),
            Route::BackupRestore(b) => ("lakegate:RestoreBackup", bucket(b)),
            Route::Jobs => ("lakegate:ListJobs", any()),
            Route::Job(_) => ("lakegate:GetJob", any()),
            Route::Clock => (
                by_method(
                    "lakegate:GetClock",
                    "lakegate:SetClock",
                    "lakegate:SetClock",
                ),
                any(),
            ),
            Route::Users => ("admin:ListUsers", any()),
            Route::User(_) => (
                by_method("admin:GetUser", "admin:CreateUser", "admin:DeleteUser"),
                any(),
            ),
            Route::UserStatus(_, true) => ("admin:EnableUser", any()),
            Route::UserStatus(_, false) => ("admin:DisableUser", any()),
            Route::Groups => ("admin:ListGroups", any()),
            Route::Group(_) => (
                by_method(
                    "admin:GetGroup",
                    "admin:AddUserToGroup",
                    "admin:RemoveUserFromGroup",
                ),
                any(),
            ),
            Route::GroupRemoveMembers(_) => ("admin:RemoveUserFromGroup", any()),
            Route::GroupStatus(_, true) => ("admin:EnableGroup", any()),
            Route::GroupStatus(_, false) => ("admin:DisableGroup", any()),
            Route::IamPolicies => ("admin:GetPolicy", any()),
            Route::IamPolicy(_) => (
                by_method(
                    "admin:GetPolicy",
                    "admin:CreatePolicy",
                    "admin:DeletePolicy",
                ),
                any(),
            ),
            Route::Attachment(_) => ("admin:AttachUserOrGroupPolicy", any()),
            Route::AccessKeys => match *method {
                Method::POST => ("admin:CreateServiceAccount", any()),
                _ => ("admin:ListServiceAccounts", any()),
            },
            Route::AccessKey(_) => (
                by_method(
                    "admin:ListServiceAccounts",
                    "admin:UpdateServiceAccount",
                    "admin:RemoveServiceAccount",
                ),
                any(),
            ),
        }
    }

    fn allows(&self, method: &Method) -> bool {
        let method = if method == Method::HEAD {
            "GET"
        } else {
            method.as_str()
        };
        self.allowed().split(", ").any(|m| m == method)
    }
}

/// Handles one admin request: authenticates, routes, runs the handler, renders JSON. A change
/// (any method but GET and HEAD) goes to the audit trail.
pub async fn handle(
    api: &AdminApi,
    parts: http::request::Parts,
    body: Body,
    request_id: &str,
) -> Response<Body> {
    let audit =
        (api.audit.is_enabled() && parts.method != Method::GET && parts.method != Method::HEAD)
            .then(|| audit_entry(&parts, request_id));
    let started = std::time::Instant::now();
    let response = answer(api, parts, body, request_id, None).await;
    if let Some(mut e) = audit {
        e.status = response.status().as_u16();
        e.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        api.audit.record(e);
    }
    response
}

/// [`handle`] for a caller a console session has already authenticated: lakegate's admin
/// routes only (not MinIO's), judged by the same [`authorize`] step, without a signature.
pub async fn handle_as(
    api: &AdminApi,
    caller: Caller,
    parts: http::request::Parts,
    body: Body,
    request_id: &str,
) -> Response<Body> {
    if minio::is_minio_admin_path(parts.uri.path()) {
        return AdminError::not_found("MinIO's admin API is not served to console sessions")
            .into_response(parts.method == Method::HEAD);
    }
    let audit =
        (api.audit.is_enabled() && parts.method != Method::GET && parts.method != Method::HEAD)
            .then(|| {
                let mut e = audit_entry(&parts, request_id);
                e.principal = caller.access_key().map(str::to_string);
                e
            });
    let started = std::time::Instant::now();
    let response = answer(api, parts, body, request_id, Some(caller)).await;
    if let Some(mut e) = audit {
        e.status = response.status().as_u16();
        e.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        api.audit.record(e);
    }
    response
}

/// The audit entry of an admin change, before its answer: the operation is the IAM action its
/// route needs (`lakegate:PutPolicyBinding`, `admin:CreateUser`, ...), or MinIO's API name; the
/// principal is the access key the request claims (its signature is checked when it is
/// answered; a refusal shows in the status).
fn audit_entry(parts: &http::request::Parts, request_id: &str) -> AuditEntry {
    let path = parts.uri.path();
    let (api, operation, target) = if let Some(rest) = path.strip_prefix(minio::PREFIX) {
        let name = rest.rsplit('/').next().unwrap_or(rest);
        ("minio-admin", format!("minio:{name}"), None)
    } else {
        let rest = path.strip_prefix(PREFIX).unwrap_or_default();
        match Route::parse(rest) {
            Some(route) => {
                let (action, resource) = route.permission(&parts.method);
                let bucket = resource
                    .strip_prefix("arn:aws:s3:::")
                    .filter(|b| *b != "*")
                    .map(str::to_string);
                ("admin", action.to_string(), bucket)
            }
            None => ("admin", format!("{} {rest}", parts.method), None),
        }
    };
    let mut e = AuditEntry::new(request_id, api, &operation);
    e.bucket = target;
    e.key = Some(path.to_string());
    e.principal = auth::claimed_access_key(&parts.headers, parts.uri.query());
    e.source = parts
        .extensions
        .get::<crate::s3::access::ClientAddr>()
        .map(|c| c.0.to_string());
    e.bytes_received = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    e
}

/// Answers a request whose caller is `established` (a console session), or else is
/// authenticated by its signature.
async fn answer(
    api: &AdminApi,
    parts: http::request::Parts,
    body: Body,
    request_id: &str,
    established: Option<Caller>,
) -> Response<Body> {
    if established.is_none() && minio::is_minio_admin_path(parts.uri.path()) {
        return minio::handle(api, parts, body, request_id).await;
    }
    let is_head = parts.method == Method::HEAD;
    match run(api, parts, body, established).await {
        Ok(r) => r,
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(code = e.code, message = %e.message, "admin request failed");
            } else {
                tracing::debug!(code = e.code, message = %e.message, "admin request refused");
            }
            e.into_response(is_head)
        }
    }
}

async fn run(
    api: &AdminApi,
    parts: http::request::Parts,
    body: Body,
    established: Option<Caller>,
) -> AdminResult<Response<Body>> {
    crate::s3::check_header_section(&parts).map_err(body_error)?;
    let (caller, body) = match established {
        Some(caller) => {
            let body = RequestBody::new(body, auth::PayloadCheck::Unsigned, &parts.headers)
                .map_err(body_error)?
                .with_read_timeout(api.body_read_timeout);
            (caller, body)
        }
        None => authenticate(api, &parts, body)?,
    };
    let rest = parts.uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let Some(route) = Route::parse(rest) else {
        return Err(AdminError::not_found(format!(
            "no such admin endpoint: {}",
            parts.uri.path()
        )));
    };
    if !route.allows(&parts.method) {
        return Err(AdminError::method_not_allowed(route.allowed()));
    }
    authorize(api, &caller, &route, &parts.method)?;
    let query = Query::parse(parts.uri.query())?;
    let method = &parts.method;
    let now = api.clock.now();
    match route {
        Route::Policies => policies::list(api),
        Route::PolicySuites => policies::suites(api).await,
        Route::PolicyPreview => policies::preview(api, &query, body).await,
        Route::Audit => audit::read(api, &query).await,
        Route::Binding(name) => policies::binding(api, method, name, body).await,
        Route::Plugin(name) => policies::put_plugin(api, name, body).await,
        Route::Lifecycle(bucket) => lifecycle::status(api, bucket),
        Route::LifecycleRun(bucket) => lifecycle::run(api, bucket, &query).await,
        Route::KmsRewrap(bucket) => kms::rewrap(api, &caller, bucket).await,
        Route::Backups => backup::list(api).await,
        Route::Backup(bucket) => backup::status(api, bucket).await,
        Route::BackupRun(bucket) => backup::run(api, bucket, query.flag("wait")?).await,
        Route::BackupRestore(bucket) => backup::restore(api, bucket, &query).await,
        Route::Jobs => backup::jobs(api),
        Route::Job(id) => backup::job(api, id),
        Route::Clock => clock::clock(api, method, body).await,
        Route::Users => identities::list_users(api),
        Route::User(ak) => identities::user(api, &caller, method, ak, body, now).await,
        Route::UserStatus(ak, on) => identities::set_user_status(api, &caller, ak, on, now).await,
        Route::Groups => identities::list_groups(api),
        Route::Group(g) => identities::group(api, &caller, method, g, body, now).await,
        Route::GroupRemoveMembers(g) => {
            identities::remove_members(api, &caller, g, body, now).await
        }
        Route::GroupStatus(g, on) => identities::set_group_status(api, &caller, g, on, now).await,
        Route::IamPolicies => identities::list_policies(api),
        Route::IamPolicy(p) => identities::policy(api, &caller, method, p, body, now).await,
        Route::Attachment(attach) => identities::attachment(api, &caller, body, attach, now).await,
        Route::AccessKeys if method == Method::POST => {
            identities::create_access_key(api, &caller, body, now).await
        }
        Route::AccessKeys => identities::list_access_keys(api, query.get("user")),
        Route::AccessKey(ak) => identities::access_key(api, &caller, method, ak, body, now).await,
    }
}

/// The one authorisation step: the caller must be allowed the route's IAM action (the root
/// user always is).
fn authorize(
    api: &AdminApi,
    caller: &Caller,
    route: &Route<'_>,
    method: &Method,
) -> AdminResult<()> {
    let (action, resource) = route.permission(method);
    let mut context = ConditionContext::new();
    if api
        .identities
        .authorize(caller, action, &resource, &mut context, None)
        .is_allowed()
    {
        Ok(())
    } else {
        tracing::debug!(caller = ?caller.access_key(), action, "admin request refused");
        Err(AdminError::access_denied())
    }
}

/// The one authentication step: the request must be signed by a known key. Any failure
/// (unsigned, unknown key, bad signature, expired) is `AccessDenied`; the reason goes to the
/// debug log only.
fn authenticate(
    api: &AdminApi,
    parts: &http::request::Parts,
    body: Body,
) -> AdminResult<(Caller, RequestBody)> {
    let authenticated = auth::authenticate(
        parts,
        None,
        &api.credentials,
        &api.region,
        SystemTime::now(),
    )
    .map_err(|e| {
        tracing::debug!(reason = %e, "admin request not authenticated");
        auth_refusal(e)
    })?;
    let body = RequestBody::new(body, authenticated.payload.clone(), &parts.headers)
        .map_err(body_error)?;
    Ok((
        Caller::Key(authenticated.key),
        body.with_read_timeout(api.body_read_timeout),
    ))
}

/// Why a request was not authenticated, as the admin API answers it: a request whose shape is
/// wrong (a missing `x-amz-content-sha256`, a malformed `Authorization`, a skewed clock, an
/// unsigned request) is told what is wrong, with S3's status and code for the same failure; a
/// key or signature that does not check out is only `AccessDenied`.
fn auth_refusal(e: auth::AuthError) -> AdminError {
    use auth::AuthError as A;
    match e {
        A::UnknownAccessKey { .. }
        | A::InvalidToken
        | A::SignatureMismatch { .. }
        | A::SessionTokenNotSupported => AdminError::access_denied(),
        other => {
            let e = S3Error::from(other);
            AdminError::other(e.status(), e.code.as_str(), e.message)
        }
    }
}

/// Reads a whole request body of at most `limit` bytes.
pub(crate) async fn read_body(mut body: RequestBody, limit: usize) -> AdminResult<Vec<u8>> {
    body.read_to_end(limit)
        .await
        .map(|b| b.to_vec())
        .map_err(body_error)
}

/// A body that could not be read or verified (or a header section too large), as the admin API
/// answers it: the status and code the S3 API gives the same failure.
fn body_error(e: impl Into<S3Error>) -> AdminError {
    let e: S3Error = e.into();
    AdminError::other(e.status(), e.code.as_str(), e.message)
}

/// A JSON answer (pretty-printed, newline-terminated).
pub fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let mut body = serde_json::to_string_pretty(&value).unwrap_or_default();
    body.push('\n');
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A 200 JSON answer.
pub fn ok(value: serde_json::Value) -> AdminResult<Response<Body>> {
    Ok(json_response(StatusCode::OK, value))
}

/// The query string's parameters, percent-decoded (`+` is a space).
pub struct Query(HashMap<String, String>);

impl Query {
    fn parse(query: Option<&str>) -> AdminResult<Query> {
        let mut out = HashMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| String::from_utf8(auth::decode_query_component(s)).ok();
            let (Some(k), Some(v)) = (decode(k), decode(v)) else {
                return Err(AdminError::bad_request(format!(
                    "the query parameter {pair:?} is not valid UTF-8 percent-encoding"
                )));
            };
            out.insert(k, v);
        }
        Ok(Query(out))
    }

    /// A non-empty parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A yes/no parameter: absent is no; present with no value, `true`, `1` or `yes` is yes;
    /// `false`, `0` or `no` is no; anything else is refused.
    pub fn flag(&self, name: &str) -> AdminResult<bool> {
        match self.0.get(name).map(String::as_str) {
            None | Some("false" | "0" | "no") => Ok(false),
            Some("" | "true" | "1" | "yes") => Ok(true),
            Some(other) => Err(AdminError::bad_request(format!(
                "{name}: expected true or false, got {other:?}"
            ))),
        }
    }
}

/// Refuses a bucket name the S3 API would refuse.
pub(crate) fn check_bucket(bucket: &str) -> AdminResult<()> {
    crate::store::check_bucket_name(bucket)
        .map_err(|_| AdminError::bad_request(format!("invalid bucket name {bucket:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_a_malformed_request_but_not_a_bad_key() {
        let e = auth_refusal(auth::AuthError::MissingContentSha256);
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "InvalidRequest")
        );
        assert!(e.message.contains("x-amz-content-sha256"), "{}", e.message);
        let e = auth_refusal(auth::AuthError::Anonymous);
        assert_eq!((e.status, e.code), (StatusCode::FORBIDDEN, "AccessDenied"));
        let e = auth_refusal(auth::AuthError::UnknownAccessKey {
            access_key: "nobody".into(),
        });
        assert_eq!((e.status, e.code), (StatusCode::FORBIDDEN, "AccessDenied"));
        assert!(!e.message.contains("nobody"));
    }

    #[test]
    fn routes() {
        assert_eq!(Route::parse("policies"), Some(Route::Policies));
        assert_eq!(
            Route::parse("bindings/a.toml"),
            Some(Route::Binding("a.toml"))
        );
        assert_eq!(
            Route::parse("lifecycle/b/run"),
            Some(Route::LifecycleRun("b"))
        );
        assert_eq!(Route::parse("backup/"), Some(Route::Backups));
        assert_eq!(
            Route::parse("backup/b/restore"),
            Some(Route::BackupRestore("b"))
        );
        assert_eq!(Route::parse("jobs/7"), Some(Route::Job("7")));
        assert_eq!(
            Route::parse("bindings/a/b.toml"),
            Some(Route::Binding("a/b.toml"))
        );
        assert_eq!(Route::parse("nothing"), None);
        assert_eq!(Route::parse("lifecycle/b/stop"), None);
        assert!(Route::Clock.allows(&Method::HEAD));
        assert!(!Route::Plugin("x.wasm").allows(&Method::GET));
        assert!(Route::Binding("x.toml").allows(&Method::DELETE));
    }

    #[test]
    fn flags() {
        let q = Query::parse(Some("a&b=true&c=0&d=maybe&e=yes")).unwrap();
        assert!(q.flag("a").unwrap());
        assert!(q.flag("b").unwrap());
        assert!(!q.flag("c").unwrap());
        assert!(q.flag("d").is_err());
        assert!(q.flag("e").unwrap());
        assert!(!q.flag("absent").unwrap());
        assert!(Query::parse(Some("a=%ff")).is_err());
    }
}
