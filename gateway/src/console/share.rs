//! `POST /api/share {"bucket","key","version_id"?,"expires_s"}`: a share link, a presigned GET
//! on the S3 port signed with the session's key, valid for at most 7 days. The object is
//! HEADed first as the session's key, so only what the key can read is shared; the link then
//! works as long as the key exists, is enabled, keeps its secret and may still read it.
//!
//! The link's host is the one the browser used for the console, with the S3 port (the same
//! scheme: the two ports share TLS settings), unless `--console-s3-url` names another.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Json, Response};
use http::{Method, StatusCode, header};
use serde_json::json;

use super::{Console, json_error};
use crate::auth::presign::{MAX_EXPIRY, PresignKey, presigned_url};
use crate::iam::Caller;
use crate::s3;
use crate::s3::access::ClientAddr;

#[derive(serde::Deserialize)]
struct ShareRequest {
    bucket: String,
    key: String,
    #[serde(default)]
    version_id: Option<String>,
    expires_s: u64,
}

pub async fn share(State(console): State<Arc<Console>>, req: Request) -> Response {
    let (_, caller) = match console.admit(&req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if req.method() != Method::POST {
        return json_error(StatusCode::METHOD_NOT_ALLOWED, "POST a share request");
    }
    let Caller::Key(key) = &caller else {
        return json_error(StatusCode::FORBIDDEN, "anonymous callers cannot share");
    };
    let key = key.clone();
    let client = req.extensions().get::<ClientAddr>().copied();
    // (`Host` is there for HTTP/2 too: see `with_host`.)
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let body = match axum::body::to_bytes(req.into_body(), 16 * 1024).await {
        Ok(b) => b,
        Err(_) => return json_error(StatusCode::BAD_REQUEST, "unreadable request"),
    };
    let Ok(ask) = serde_json::from_slice::<ShareRequest>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "send {\"bucket\", \"key\", \"version_id\"?, \"expires_s\"}",
        );
    };
    if crate::store::check_bucket_name(&ask.bucket).is_err() {
        return json_error(StatusCode::BAD_REQUEST, "not a bucket name");
    }
    let expires = Duration::from_secs(ask.expires_s);
    if expires.is_zero() || expires > MAX_EXPIRY {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expires_s must be between 1 and 604800 (7 days)",
        );
    }
    let mut path = format!("/{}/{}", ask.bucket, s3::list::url_encode(&ask.key));
    if let Some(v) = ask.version_id.as_deref().filter(|v| !v.is_empty()) {
        path.push_str("?versionId=");
        path.push_str(&s3::list::url_encode(v));
    }
    // The key must be able to read it now.
    let Ok(mut head) = http::Request::builder()
        .method(Method::HEAD)
        .uri(&path)
        .body(Body::empty())
    else {
        return json_error(StatusCode::BAD_REQUEST, "unusable object name");
    };
    if let Some(c) = client {
        head.extensions_mut().insert(c);
    }
    let id = console.next_request_id();
    let r = s3::handle_as(&console.s3, caller.clone(), head, &id).await;
    if !r.status().is_success() {
        let code = match r.status() {
            StatusCode::NOT_FOUND => "NoSuchKey",
            StatusCode::FORBIDDEN => "AccessDenied",
            _ => "Refused",
        };
        return (
            r.status(),
            Json(json!({ "error": format!("cannot share: {code}"), "code": code })),
        )
            .into_response();
    }
    let base = match &console.share_base {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => {
            let hostname = host
                .as_deref()
                .map(host_name)
                .unwrap_or("127.0.0.1")
                .to_string();
            format!(
                "{}://{hostname}:{}",
                if console.tls { "https" } else { "http" },
                console.s3_port
            )
        }
    };
    let signing = PresignKey {
        access_key: &key.access_key,
        secret_key: &key.secret,
        region: &console.s3.region,
    };
    let now = SystemTime::now();
    match presigned_url("GET", &format!("{base}{path}"), &signing, expires, now) {
        Ok(url) => {
            let expires_ms = now
                .checked_add(expires)
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as u64);
            Json(json!({ "url": url, "expires_ms": expires_ms })).into_response()
        }
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// The host name of a `Host` header (`[::1]:9001` → `[::1]`, `lake:9001` → `lake`).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map(|(h, _)| &host[..=h.len()])
            .unwrap_or(host);
    }
    host.split(':').next().unwrap_or(host)
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_names() {
        assert_eq!(super::host_name("[::1]:9001"), "[::1]");
        assert_eq!(super::host_name("lake.local:9001"), "lake.local");
        assert_eq!(super::host_name("lake"), "lake");
    }
}
