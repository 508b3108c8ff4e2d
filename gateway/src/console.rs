//! The operator console on its own port. Today: a login, then a status page and its JSON; and
//! health checks (the only thing served without a login).
//!
//! Login takes the root access key and secret (compared in constant time). A session is a
//! cookie `lakegate_session=<expiry>.<hex HMAC-SHA256>` signed with a key that lives only in this
//! process (sessions end on restart), `HttpOnly; SameSite=Strict`, valid for [`SESSION_TTL`].

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

use crate::auth::CredentialStore;
use crate::s3::error::xml_escape;
use crate::store::Store;

/// How long a console session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
const COOKIE: &str = "lakegate_session";
/// How long a failed login waits before it answers.
const FAILED_LOGIN_PAUSE: Duration = Duration::from_millis(500);

/// What the console's handlers share.
pub struct Console {
    store: Arc<Store>,
    credentials: CredentialStore,
    session_key: ring::hmac::Key,
}

impl Console {
    /// A console over `store`, logging in against `credentials`. Fails only without randomness.
    pub fn new(
        store: Arc<Store>,
        credentials: CredentialStore,
    ) -> Result<Console, ring::error::Unspecified> {
        let rng = ring::rand::SystemRandom::new();
        Ok(Console {
            store,
            credentials,
            session_key: ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)?,
        })
    }

    fn issue_session(&self, now: SystemTime) -> String {
        let expiry = unix_secs(now) + SESSION_TTL.as_secs();
        let tag = ring::hmac::sign(&self.session_key, expiry.to_string().as_bytes());
        format!("{expiry}.{}", hex::encode(tag.as_ref()))
    }

    fn session_valid(&self, headers: &HeaderMap, now: SystemTime) -> bool {
        let Some(token) = cookie(headers, COOKIE) else {
            return false;
        };
        let Some((expiry, tag)) = token.split_once('.') else {
            return false;
        };
        let Ok(tag) = hex::decode(tag) else {
            return false;
        };
        if ring::hmac::verify(&self.session_key, expiry.as_bytes(), &tag).is_err() {
            return false;
        }
        expiry.parse::<u64>().is_ok_and(|e| e > unix_secs(now))
    }

    fn credentials_match(&self, access_key: &str, secret_key: &str) -> bool {
        let Some(root) = self.credentials.lookup(access_key) else {
            return false;
        };
        if !matches!(root.owner, crate::iam::KeyOwner::Root) {
            return false;
        }
        // Access keys are not secret (the lookup found this one); the secret is compared in
        // constant time.
        root.secret.as_bytes().ct_eq(secret_key.as_bytes()).into()
    }
}

pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/api/status", get(status))
        .route("/minio/health/live", get(|| async { "ok" }))
        .route("/minio/health/ready", get(ready))
        .with_state(console)
}

/// 200 while the metadata store is open, 503 (with the reason) while it is not (as the S3
/// port's `/minio/health/ready`; write health is `/minio/health/cluster` there).
async fn ready(State(console): State<Arc<Console>>) -> Response {
    match console.store.space.meta_down() {
        None => "ok".into_response(),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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

#[derive(serde::Deserialize)]
struct LoginForm {
    access_key: String,
    secret_key: String,
}

async fn login(State(console): State<Arc<Console>>, Form(form): Form<LoginForm>) -> Response {
    if !console.credentials_match(&form.access_key, &form.secret_key) {
        // Not the typed access key: a secret pasted into the wrong field must not reach a log.
        tracing::info!("console login refused");
        // Slows guessing down (each failed attempt costs the guesser this long).
        tokio::time::sleep(FAILED_LOGIN_PAUSE).await;
        return (
            StatusCode::UNAUTHORIZED,
            Html(login_page(Some("Wrong access key or secret key."))),
        )
            .into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        console.issue_session(SystemTime::now()),
        SESSION_TTL.as_secs()
    );
    let mut resp = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn logout() -> Response {
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("lakegate_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    resp
}

#[derive(serde::Serialize)]
struct BucketStatus {
    name: String,
    region: String,
    versioning: String,
    object_lock: bool,
}

#[derive(serde::Serialize)]
struct Status {
    version: &'static str,
    buckets: Vec<BucketStatus>,
}

fn collect(store: &Store) -> Result<Status, crate::store::StoreError> {
    Ok(Status {
        version: env!("CARGO_PKG_VERSION"),
        buckets: store
            .list_buckets()?
            .into_iter()
            .map(|b| BucketStatus {
                name: b.name,
                region: b.region,
                versioning: format!("{:?}", b.versioning),
                object_lock: b.object_lock_enabled,
            })
            .collect(),
    })
}

async fn status(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if !console.session_valid(&headers, SystemTime::now()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "login required"})),
        )
            .into_response();
    }
    match collect(&console.store) {
        Ok(s) => Json(s).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "console status unavailable");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({"error": "status unavailable"})),
            )
                .into_response()
        }
    }
}

async fn index(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if !console.session_valid(&headers, SystemTime::now()) {
        return Html(login_page(None)).into_response();
    }
    let Ok(s) = collect(&console.store) else {
        return Html("<h1>lakegate</h1><p>status unavailable</p>".to_string()).into_response();
    };
    let mut rows = String::new();
    for b in &s.buckets {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            xml_escape(&b.name),
            xml_escape(&b.region),
            xml_escape(&b.versioning),
            if b.object_lock { "enabled" } else { "-" }
        ));
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>lakegate</title></head><body>\
         <h1>lakegate {}</h1><form method=\"post\" action=\"/logout\"><button>Log out</button></form>\
         <table><tr><th>bucket</th><th>region</th><th>versioning</th><th>object lock</th></tr>{rows}</table>\
         </body></html>",
        s.version
    ))
    .into_response()
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
        assert_eq!(cookie(&h, COOKIE), Some("123.abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
