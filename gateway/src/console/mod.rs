//! The operator console on its own port.
//!
//! - Login with any long-lived key (root, a user, a user's access key) and its secret; an
//!   opaque server-side session ([`session`]) in an `HttpOnly; SameSite=Strict` cookie
//!   (`Secure`, named `__Host-…`, under TLS); failed logins rate-limited per client address
//!   ([`guard::LoginLimiter`]).
//! - Every API request is checked for a live session, a same-origin request
//!   ([`guard::same_origin`]) and, when it changes anything, the session's CSRF token; then it
//!   goes through the proxy ([`proxy`]) to the S3 API or the admin API **as the session's key**
//!   (`s3::handle_as`, `admin::handle_as`): the same routing, audit and authorisation (the one
//!   IAM evaluator) as a signed request. A read-only user can read and nothing else.
//! - Console-native endpoints for what no single S3 or admin call answers: the dashboard
//!   ([`dashboard`]), traffic charts sampled in memory ([`series`]), what the pages may offer
//!   ([`caps`]), object previews decoded on the server ([`preview`]), share links ([`share`]).
//!   Their contract is `docs/CONSOLE-API.md`.
//! - The front end (`gateway/console-ui/`, plain ES modules, no build step) is embedded in the
//!   binary ([`assets`]). It holds no data: health checks and those files are the only things
//!   served without a login.

pub mod assets;
pub mod caps;
pub mod dashboard;
pub mod guard;
pub mod preview;
pub mod proxy;
pub mod series;
pub mod session;
pub mod share;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use axum::routing::{any, get, post};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use subtle::ConstantTimeEq;

use crate::admin::AdminApi;
use crate::audit::AuditEntry;
use crate::auth::CredentialStore;
use crate::iam::{Caller, KeyOwner};
use crate::metrics::MetricsApi;
use crate::s3::S3Api;
use crate::s3::access::ClientAddr;
use crate::s3::error::xml_escape;
use crate::store::Store;
use session::{SessionView, Sessions};

/// How long a console session lasts at most.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// How long a console session lasts without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(3600);
/// How long a failed login waits before it answers.
const FAILED_LOGIN_PAUSE: Duration = Duration::from_millis(500);

/// What the console's handlers share.
pub struct Console {
    store: Arc<Store>,
    credentials: CredentialStore,
    s3: Arc<S3Api>,
    admin: Arc<AdminApi>,
    /// What the metrics endpoints read (usage, counters, bindings, scans, backups).
    metrics: Arc<MetricsApi>,
    /// The dashboard's charts.
    series: Arc<series::Series>,
    /// How often lifecycle scans run (`None`: they do not).
    lifecycle_interval: Option<Duration>,
    /// The S3 port (share links).
    s3_port: u16,
    /// `--console-s3-url`: the base of share links, when not the console's host.
    share_base: Option<String>,
    /// Previews decoding at once (each holds up to a footer and a row group in memory).
    previews: tokio::sync::Semaphore,
    sessions: Sessions,
    limiter: guard::LoginLimiter,
    /// The console port serves TLS (cookies are `Secure`).
    tls: bool,
    boot_id: u32,
    request_counter: AtomicU64,
}

/// Why the console cannot start.
pub use session::NoRandom;

/// What a console is made of.
pub struct ConsoleSettings {
    /// The console port serves TLS.
    pub tls: bool,
    /// Sessions last at most this long.
    pub session_ttl: Duration,
    /// Sessions end after this long without a request.
    pub session_idle: Duration,
    /// How often lifecycle scans run (`None`: they do not).
    pub lifecycle_interval: Option<Duration>,
    /// The S3 port.
    pub s3_port: u16,
    /// The base URL of share links (default: the console's host with the S3 port).
    pub share_base: Option<String>,
}

impl Console {
    /// A console over the S3, admin and metrics APIs.
    pub fn new(
        s3: Arc<S3Api>,
        admin: Arc<AdminApi>,
        metrics: Arc<MetricsApi>,
        settings: ConsoleSettings,
    ) -> Result<Console, NoRandom> {
        Ok(Console {
            store: s3.store.clone(),
            credentials: s3.credentials.clone(),
            s3,
            admin,
            metrics,
            series: Arc::new(series::Series::default()),
            lifecycle_interval: settings.lifecycle_interval,
            s3_port: settings.s3_port,
            share_base: settings.share_base,
            previews: tokio::sync::Semaphore::new(preview::AT_ONCE),
            sessions: Sessions::new(settings.session_ttl, settings.session_idle)?,
            limiter: guard::LoginLimiter::default(),
            tls: settings.tls,
            boot_id: uuid::Uuid::new_v4().as_u128() as u32,
            request_counter: AtomicU64::new(0),
        })
    }

    /// Samples the dashboard's charts until shutdown.
    pub fn start_sampler(
        &self,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        self.series.clone().start(self.metrics.clone(), shutdown)
    }

    /// The checks before any API request: same origin, a live session, and the CSRF token
    /// when it changes anything. The session and its caller, or the refusal.
    fn admit(&self, req: &Request) -> Result<(SessionView, Caller), Response> {
        let headers = req.headers();
        if !guard::same_origin(headers, self.tls) {
            return Err(json_error(
                StatusCode::FORBIDDEN,
                "cross-origin request refused",
            ));
        }
        let Some((view, caller)) = self.caller(headers) else {
            return Err(json_error(StatusCode::UNAUTHORIZED, "login required"));
        };
        if !guard::csrf_ok(req.method(), headers, &view.csrf) {
            return Err(json_error(
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token (and Origin)",
            ));
        }
        Ok((view, caller))
    }

    /// A request id for a console request (`C` then the same shape as the S3 port's).
    fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("C{:08X}{:011X}", self.boot_id, n)
    }

    fn cookie_name(&self) -> &'static str {
        if self.tls {
            "__Host-lakegate_session"
        } else {
            "lakegate_session"
        }
    }

    /// The key a login names, if its secret matches (constant time). Temporary (STS) keys
    /// cannot log in: they need their session token on every request.
    fn check_login(&self, access_key: &str, secret_key: &str) -> Option<String> {
        let key = self.credentials.lookup(access_key);
        let ok = match &key {
            Some(k) if k.session_token_sha256.is_none() => {
                bool::from(k.secret.as_bytes().ct_eq(secret_key.as_bytes()))
            }
            _ => false,
        };
        ok.then(|| secret_key.to_string())
    }

    /// The session of a request and its caller: the key must still exist, be enabled and have
    /// the secret the session was opened with.
    fn caller(&self, headers: &HeaderMap) -> Option<(SessionView, Caller)> {
        let cookie = cookie(headers, self.cookie_name())?;
        let view = self.sessions.get(cookie)?;
        let key = self.credentials.lookup(&view.access_key)?;
        if key.session_token_sha256.is_some() || !self.sessions.same_secret(&view, &key.secret) {
            self.sessions.remove(cookie);
            return None;
        }
        Some((view, Caller::Key(key)))
    }
}

pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/api/session", get(session_info))
        .route("/api/caps", get(caps::caps))
        .route("/api/dashboard", get(dashboard::dashboard))
        .route("/api/series", get(series_points))
        .route("/api/preview/{*rest}", get(preview::preview))
        .route("/api/share", post(share::share))
        .route("/api/s3", any(proxy::s3))
        .route("/api/s3/", any(proxy::s3))
        .route("/api/s3/{*rest}", any(proxy::s3))
        .route("/api/admin/v1/{*rest}", any(proxy::admin))
        .route("/minio/health/live", get(|| async { "ok" }))
        .route("/minio/health/ready", get(ready))
        .layer(axum::middleware::map_response(with_security_headers))
        .layer(axum::middleware::from_fn(with_server_timing))
        .layer(axum::middleware::map_request(with_host))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(console)
}

async fn with_security_headers(mut r: Response) -> Response {
    guard::secure_headers(r.headers_mut());
    r
}

/// HTTP/2 names the host in the request's authority, not in `Host`: the origin checks compare
/// `Origin` with `Host`, so it is put there.
async fn with_host(mut req: Request) -> Request {
    if !req.headers().contains_key(header::HOST)
        && let Some(v) = req
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        req.headers_mut().insert(header::HOST, v);
    }
    req
}

/// `Server-Timing: app;dur=<ms>` (time to the answer's headers) on every API answer, and
/// `Cache-Control: no-store` on those that did not set it.
async fn with_server_timing(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let started = std::time::Instant::now();
    let mut r = next.run(req).await;
    if api {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.1}")) {
            r.headers_mut().insert("server-timing", v);
        }
        r.headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    r
}

/// A query string's parameters, decoded (the last of a repeated name wins).
fn query_pairs(query: Option<&str>) -> HashMap<String, String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |s: &str| {
                String::from_utf8_lossy(&crate::auth::decode_query_component(s)).into_owned()
            };
            (d(k), d(v))
        })
        .collect()
}

/// `GET /api/series[?window_s=N]`: the sampled traffic (needs `admin:Prometheus`, as a scrape).
async fn series_points(State(console): State<Arc<Console>>, req: Request) -> Response {
    let (_, caller) = match console.admit(&req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !caps::admin_allowed(&console, &caller, "admin:Prometheus", "arn:aws:s3:::*") {
        return json_error(StatusCode::FORBIDDEN, "needs admin:Prometheus");
    }
    let window = query_pairs(req.uri().query())
        .get("window_s")
        .and_then(|w| w.parse::<u64>().ok())
        .unwrap_or(3600)
        .clamp(60, series::KEEP.as_secs());
    let points = console
        .series
        .points(Duration::from_secs(window), crate::store::now_millis());
    Json(serde_json::json!({ "step_s": series::STEP.as_secs(), "points": points })).into_response()
}

/// 200 while the metadata store is open, 503 (with the reason) while it is not (as the S3
/// port's `/minio/health/ready`; write health is `/minio/health/cluster` there).
async fn ready(State(console): State<Arc<Console>>) -> Response {
    match console.store.space.meta_down() {
        None => "ok".into_response(),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

/// The value of cookie `name`, if the request carries it.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn client_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ClientAddr>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Records a login or logout in the audit trail.
fn audit(console: &Console, operation: &str, access_key: &str, client: IpAddr, status: StatusCode) {
    if !console.s3.audit.is_enabled() {
        return;
    }
    let mut e = AuditEntry::new(console.next_request_id(), "console", operation);
    e.principal = (!access_key.is_empty()).then(|| access_key.to_string());
    e.source = Some(client.to_string());
    e.status = status.as_u16();
    console.s3.audit.record(e);
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

#[derive(serde::Deserialize)]
struct LoginForm {
    access_key: String,
    secret_key: String,
}

/// `POST /login` with a form (answers a redirect) or JSON (answers the session).
async fn login(State(console): State<Arc<Console>>, req: Request) -> Response {
    let ip = client_ip(&req);
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !guard::same_origin(req.headers(), console.tls) {
        return json_error(StatusCode::FORBIDDEN, "cross-origin login refused");
    }
    if let Err(wait) = console.limiter.attempt(ip) {
        let mut r = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins from this address; try again later",
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let body = match axum::body::to_bytes(req.into_body(), 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return json_error(StatusCode::BAD_REQUEST, "unreadable login"),
    };
    let form: Option<LoginForm> = if json {
        serde_json::from_slice(&body).ok()
    } else {
        serde_urlencoded_form(&body)
    };
    let Some(form) = form else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "access_key and secret_key are needed",
        );
    };
    let Some(secret) = console.check_login(&form.access_key, &form.secret_key) else {
        // Not the typed access key: a secret pasted into the wrong field must not reach a log.
        tracing::info!(client = %ip, "console login refused");
        // The audit names the key only when it exists (a typed secret is never a key).
        let known = console.credentials.lookup(&form.access_key).is_some();
        audit(
            &console,
            "ConsoleLoginFailed",
            if known { &form.access_key } else { "" },
            ip,
            StatusCode::UNAUTHORIZED,
        );
        tokio::time::sleep(FAILED_LOGIN_PAUSE).await;
        return if json {
            json_error(StatusCode::UNAUTHORIZED, "wrong access key or secret key")
        } else {
            (
                StatusCode::UNAUTHORIZED,
                Html(login_page(Some("Wrong access key or secret key."))),
            )
                .into_response()
        };
    };
    console.limiter.succeeded(ip);
    let Ok((value, csrf)) = console.sessions.create(&form.access_key, &secret) else {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    };
    tracing::info!(access_key = %form.access_key, client = %ip, "console login");
    audit(
        &console,
        "ConsoleLogin",
        &form.access_key,
        ip,
        StatusCode::OK,
    );
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        console.cookie_name(),
        console.sessions.ttl.as_secs(),
        if console.tls { "; Secure" } else { "" }
    );
    let mut resp = if json {
        Json(serde_json::json!({ "access_key": form.access_key, "csrf": csrf })).into_response()
    } else {
        Redirect::to("/").into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The two fields of a urlencoded login form.
fn serde_urlencoded_form(body: &[u8]) -> Option<LoginForm> {
    let text = std::str::from_utf8(body).ok()?;
    let mut access_key = None;
    let mut secret_key = None;
    for pair in text.split('&') {
        let (k, v) = pair.split_once('=')?;
        let v = String::from_utf8(crate::auth::decode_query_component(v)).ok()?;
        match k {
            "access_key" => access_key = Some(v),
            "secret_key" => secret_key = Some(v),
            _ => {}
        }
    }
    Some(LoginForm {
        access_key: access_key?,
        secret_key: secret_key?,
    })
}

/// `POST /logout`: ends the session on the server (with its CSRF token, from the same origin).
async fn logout(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if let Some(value) = cookie(&headers, console.cookie_name()) {
        let Some(view) = console.sessions.get(value) else {
            return Redirect::to("/").into_response();
        };
        let form_post = headers.get(header::CONTENT_TYPE).is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/x-www-form-urlencoded")
        });
        // The login page's plain form has no token: a same-origin form post may log out.
        if !guard::same_origin(&headers, console.tls)
            || !(form_post || guard::csrf_ok(&Method::POST, &headers, &view.csrf))
        {
            return json_error(StatusCode::FORBIDDEN, "logout needs the CSRF token");
        }
        console.sessions.remove(value);
    }
    let mut resp = Redirect::to("/").into_response();
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        console.cookie_name(),
        if console.tls { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// `GET /api/session`: who is logged in, the CSRF token, how long the session has left.
async fn session_info(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if !guard::same_origin(&headers, console.tls) {
        return json_error(StatusCode::FORBIDDEN, "cross-origin request refused");
    }
    let Some((view, caller)) = console.caller(&headers) else {
        return json_error(StatusCode::UNAUTHORIZED, "login required");
    };
    let kind = match &caller {
        Caller::Key(k) => match &k.owner {
            KeyOwner::Root => "root",
            _ => "user",
        },
        Caller::Anonymous => "anonymous",
    };
    let mut r = Json(serde_json::json!({
        "access_key": view.access_key,
        "user": caller.user(),
        "kind": kind,
        "csrf": view.csrf,
        "expires_in_s": view.expires_in.as_secs(),
    }))
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The console's shell page: it holds no data (the pages ask `/api/session` first and show
/// the login form without one).
async fn index(headers: HeaderMap) -> Response {
    assets::assets().serve("index.html", &headers)
}

/// `/assets/<path>`: the front end's files.
async fn asset(
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    assets::assets().serve(&path, &headers)
}

fn login_page(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p role=\"alert\">{}</p>", xml_escape(e)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>lakegate: log in</title></head><body>\
         <h1>lakegate</h1>{error}<form method=\"post\" action=\"/login\">\
         <label>Access key <input name=\"access_key\" autocomplete=\"username\" required></label>\
         <label>Secret key <input name=\"secret_key\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button>Log in</button></form></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; lakegate_session=123.abc; b=2"),
        );
        assert_eq!(cookie(&h, "lakegate_session"), Some("123.abc"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn login_forms_decode() {
        let f = serde_urlencoded_form(b"access_key=admin&secret_key=a%2Bb+c").unwrap();
        assert_eq!(f.access_key, "admin");
        assert_eq!(f.secret_key, "a+b c");
        assert!(serde_urlencoded_form(b"access_key=admin").is_none());
    }
}
