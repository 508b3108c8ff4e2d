//! The console's doors to the S3 API (`/api/s3/{bucket}/{key}?…`) and the admin API
//! (`/api/admin/v1/…`): a request with a live session, from the console's own origin, with the
//! session's CSRF token when it changes anything, is passed on **as the session's key**
//! (`s3::handle_as`, `admin::handle_as`), so it is routed, audited and authorised exactly as a
//! signed request of that key would be.
//!
//! Only the request headers an S3 or admin call from the console's pages needs are passed on
//! (no `Authorization`, `Cookie`, `Host`, streaming-signature or security-token headers), and a
//! query carrying presigned-URL or `response-content-type`/`-disposition` parameters is refused.
//! An object's bytes never render or run on the console's origin: GETs below a bucket answer as
//! `application/octet-stream` attachments in a sandbox (the stored type in
//! `X-Object-Content-Type`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::{Console, json_error};
use crate::admin;
use crate::iam::Caller;
use crate::s3;

/// Request headers passed on (exact names), besides the prefixes in [`PASSED_PREFIXES`].
const PASSED: &[&str] = &[
    "content-type",
    "content-length",
    "content-md5",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "x-amz-bypass-governance-retention",
    "x-amz-bucket-object-lock-enabled",
    "x-amz-metadata-directive",
    "x-amz-tagging-directive",
    "x-amz-sdk-checksum-algorithm",
    "x-amz-acl",
    "x-amz-object-ownership",
    "x-amz-storage-class",
    "x-amz-expected-bucket-owner",
];

/// Request header prefixes passed on.
const PASSED_PREFIXES: &[&str] = &[
    "x-amz-meta-",
    "x-amz-tagging",
    "x-amz-object-lock-",
    "x-amz-server-side-encryption",
    "x-amz-copy-source",
    "x-amz-checksum-",
    "x-amz-grant-",
];

/// Query parameters refused: a console request is never a presigned one, and never asks S3
/// to answer an object with another type or disposition (its bytes are always a download).
const REFUSED_PARAMS: &[&str] = &[
    "X-Amz-Signature",
    "X-Amz-Credential",
    "Signature",
    "AWSAccessKeyId",
    "response-content-type",
    "response-content-disposition",
];

fn passed(name: &str) -> bool {
    PASSED.contains(&name) || PASSED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The checks before any proxied call: the console's ([`Console::admit`]), and none of the
/// [`REFUSED_PARAMS`].
fn admit(console: &Console, req: &Request) -> Result<Caller, Response> {
    let (_, caller) = console.admit(req)?;
    if let Some(q) = req.uri().query()
        && q.split('&').any(|p| {
            let k = p.split('=').next().unwrap_or_default();
            REFUSED_PARAMS.iter().any(|n| n.eq_ignore_ascii_case(k))
        })
    {
        return Err(json_error(
            StatusCode::BAD_REQUEST,
            "presigned-URL and response-content-type/-disposition parameters are not accepted here",
        ));
    }
    Ok(caller)
}

/// The request as the API sees it: `path` (and the original query), the passed headers, the
/// body, the client's address.
fn forward(req: Request, path: &str) -> Result<http::Request<Body>, Response> {
    let (parts, body) = req.into_parts();
    let target = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let uri: http::Uri = target
        .parse()
        .map_err(|_| json_error(StatusCode::BAD_REQUEST, "unusable path"))?;
    let mut out = http::Request::builder()
        .method(parts.method.clone())
        .uri(uri)
        .body(body)
        .map_err(|_| json_error(StatusCode::BAD_REQUEST, "unusable request"))?;
    let headers = out.headers_mut();
    for (name, value) in &parts.headers {
        if passed(name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    *out.extensions_mut() = parts.extensions;
    Ok(out)
}

/// A console request made ready for an API: admitted, its path rewritten (`/api/s3/…` or
/// `/api/admin/v1/…` to the API's own), with a request id.
struct Proxied {
    caller: Caller,
    request: http::Request<Body>,
    request_id: String,
    is_head: bool,
}

fn prepare(
    console: &Console,
    req: Request,
    route: &str,
    api_path: impl FnOnce(&str) -> String,
) -> Result<Proxied, Response> {
    let caller = admit(console, &req)?;
    let rest = req.uri().path().strip_prefix(route).unwrap_or_default();
    let path = api_path(rest);
    let request = forward(req, &path)?;
    Ok(Proxied {
        caller,
        is_head: request.method() == Method::HEAD,
        request,
        request_id: console.next_request_id(),
    })
}

/// Runs an API call; a panic in it becomes the API's own 500 (as on the S3 port).
async fn contained(
    call: impl std::future::Future<Output = Response>,
    on_panic: impl FnOnce() -> Response,
) -> Response {
    std::panic::AssertUnwindSafe(call)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| on_panic())
}

/// `/api/s3/{bucket}/{key}`: an S3 request as the session's key.
pub async fn s3(State(console): State<Arc<Console>>, req: Request) -> Response {
    let p = match prepare(&console, req, "/api/s3", |rest| {
        if rest.is_empty() { "/" } else { rest }.to_string()
    }) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let path = p.request.uri().path().to_string();
    // Any GET below a bucket reads an object (a key may end in `/`) or one of its
    // sub-resources: never rendered on the console's origin.
    let object_get = p.request.method() == Method::GET
        && path
            .trim_start_matches('/')
            .split_once('/')
            .is_some_and(|(_, key)| !key.is_empty());
    let (id, is_head) = (p.request_id.as_str(), p.is_head);
    let mut resp = contained(s3::handle_as(&console.s3, p.caller, p.request, id), || {
        let e = s3::error::S3Error::internal("request handler panicked");
        s3::error_response(&e, &path, id, is_head)
    })
    .await;
    finish(resp.headers_mut(), id);
    if object_get {
        let h = resp.headers_mut();
        // The stored type is told, not obeyed: the bytes are a download, never a page or a
        // script (with `nosniff`, a browser runs no script of this type).
        if let Some(stored) = h.remove(header::CONTENT_TYPE) {
            h.insert(OBJECT_CONTENT_TYPE, stored);
        }
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; default-src 'none'"),
        );
    }
    resp
}

/// `/api/admin/v1/…`: an admin request as the session's key.
pub async fn admin(State(console): State<Arc<Console>>, req: Request) -> Response {
    let p = match prepare(&console, req, "/api/admin/v1/", |rest| {
        format!("{}{rest}", admin::PREFIX)
    }) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (id, is_head) = (p.request_id.as_str(), p.is_head);
    let (parts, body) = p.request.into_parts();
    let call = async {
        admin::handle_as(&console.admin, p.caller, parts, body, id)
            .await
            .into_response()
    };
    let mut resp = contained(call, || {
        admin::AdminError::internal("request handler panicked")
            .into_response(is_head)
            .into_response()
    })
    .await;
    finish(resp.headers_mut(), id);
    resp
}

/// The console's own headers on a proxied answer. Its answers are never cached by the
/// browser; an object's stored `Cache-Control` is passed on as `X-Object-Cache-Control`.
fn finish(h: &mut HeaderMap, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amz-request-id", v);
    }
    if let Some(stored) = h.remove(header::CACHE_CONTROL) {
        h.insert(OBJECT_CACHE_CONTROL, stored);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Where an object's own `Cache-Control` goes in a console answer.
const OBJECT_CACHE_CONTROL: &str = "x-object-cache-control";
/// Where an object's own `Content-Type` goes in the answer to a GET through the console.
const OBJECT_CONTENT_TYPE: &str = "x-object-content-type";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_headers_pass() {
        for h in [
            "content-type",
            "x-amz-meta-a",
            "x-amz-copy-source-if-match",
            "range",
        ] {
            assert!(passed(h), "{h}");
        }
        for h in [
            "authorization",
            "cookie",
            "host",
            "origin",
            "x-amz-content-sha256",
            "x-amz-security-token",
            "x-amz-decoded-content-length",
            "content-encoding",
        ] {
            assert!(!passed(h), "{h}");
        }
    }
}
