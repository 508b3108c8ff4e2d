//! Backup routes of the admin API (root only; authenticated by `policy::admin::handle`).
//!
//! | request | does |
//! |---|---|
//! | `GET /lakegate/admin/v1/backup` | `{"target", "buckets": [...]}` |
//! | `GET /lakegate/admin/v1/backup/{bucket}` | status: binding, jobs, last run/restore, next scheduled run, generations |
//! | `POST /lakegate/admin/v1/backup/{bucket}/run[?wait=true]` | starts a full run; `202 {"job": ..}` (with `wait`: `200`/`500` and the finished job) |
//! | `POST /lakegate/admin/v1/backup/{bucket}/restore[?to=B][&at=GEN][&wait=true]` | starts a restore |
//! | `GET /lakegate/admin/v1/jobs` | recent jobs |
//! | `GET /lakegate/admin/v1/jobs/{id}` | one job: state, progress (objects/bytes done of total), report |

use std::collections::HashMap;

use axum::body::Body;
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

use super::{BackupError, Plan};
use crate::s3::{S3Response, S3State, response};

fn json_response(status: StatusCode, value: Value) -> S3Response {
    let mut body = serde_json::to_string_pretty(&value).unwrap_or_default();
    body.push('\n');
    let mut r = response(status, Body::from(body));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn json_error(status: StatusCode, message: impl Into<String>) -> S3Response {
    json_response(status, json!({ "error": message.into() }))
}

fn method_not_allowed(allowed: &'static str) -> S3Response {
    let mut r = json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allowed));
    r
}

fn status_of(e: &BackupError) -> StatusCode {
    match e {
        BackupError::NoBinding(_)
        | BackupError::NoBackup(_)
        | BackupError::NoSuchGeneration { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn query(uri: &http::Uri) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        out.insert(decode(k), decode(v));
    }
    out
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| v.is_empty() || v == "true" || v == "1" || v == "yes")
}

/// Handles the backup and job routes; `None` if `rest` (the path after the admin prefix) is
/// not one of them.
pub async fn dispatch(
    state: &S3State,
    parts: &http::request::Parts,
    rest: &str,
) -> Option<S3Response> {
    let is_ours = rest == "backup"
        || rest.starts_with("backup/")
        || rest == "jobs"
        || rest.starts_with("jobs/");
    if !is_ours {
        return None;
    }
    let Some(service) = state.backup.clone() else {
        return Some(json_error(
            StatusCode::NOT_FOUND,
            "backups are disabled on this server",
        ));
    };
    let method = &parts.method;
    let q = query(&parts.uri);
    let segments: Vec<&str> = rest.split('/').collect();
    let answer = match segments.as_slice() {
        ["backup"] | ["backup", ""] => {
            if method != Method::GET {
                return Some(method_not_allowed("GET"));
            }
            match service.buckets().await {
                Ok(b) => json_response(
                    StatusCode::OK,
                    json!({ "target": service.target().url(), "buckets": b }),
                ),
                Err(e) => json_error(status_of(&e), e.to_string()),
            }
        }
        ["backup", bucket] => {
            if method != Method::GET {
                return Some(method_not_allowed("GET"));
            }
            if crate::s3::router::check_bucket_name(bucket).is_err() {
                return Some(json_error(StatusCode::BAD_REQUEST, "invalid bucket name"));
            }
            match service.status(bucket).await {
                Ok(v) => json_response(StatusCode::OK, v),
                Err(e) => json_error(status_of(&e), e.to_string()),
            }
        }
        ["backup", bucket, action @ ("run" | "restore")] => {
            if method != Method::POST {
                return Some(method_not_allowed("POST"));
            }
            if crate::s3::router::check_bucket_name(bucket).is_err() {
                return Some(json_error(StatusCode::BAD_REQUEST, "invalid bucket name"));
            }
            let started = if *action == "run" {
                service.run(bucket, "manual", Plan::Full)
            } else {
                let to = q.get("to").filter(|t| !t.is_empty());
                if let Some(to) = to
                    && crate::s3::router::check_bucket_name(to).is_err()
                {
                    return Some(json_error(
                        StatusCode::BAD_REQUEST,
                        format!("invalid destination bucket name {to:?}"),
                    ));
                }
                let at = match q.get("at").filter(|a| !a.is_empty()) {
                    None => None,
                    Some(a) => match a.parse::<u64>() {
                        Ok(g) => Some(g),
                        Err(_) => {
                            return Some(json_error(
                                StatusCode::BAD_REQUEST,
                                format!("at: expected a generation number, got {a:?}"),
                            ));
                        }
                    },
                };
                service.restore(bucket, to.map(String::as_str), at)
            };
            match started {
                Ok(job) => {
                    if truthy(q.get("wait")) {
                        job.wait().await;
                        let v = job.to_json();
                        let code = if v["state"] == "succeeded" {
                            StatusCode::OK
                        } else {
                            StatusCode::INTERNAL_SERVER_ERROR
                        };
                        json_response(code, json!({ "job": v }))
                    } else {
                        json_response(StatusCode::ACCEPTED, json!({ "job": job.to_json() }))
                    }
                }
                Err(e) => json_error(status_of(&e), e.to_string()),
            }
        }
        ["jobs"] | ["jobs", ""] => {
            if method != Method::GET {
                return Some(method_not_allowed("GET"));
            }
            let jobs: Vec<Value> = service.jobs().iter().map(|j| j.to_json()).collect();
            json_response(StatusCode::OK, json!({ "jobs": jobs }))
        }
        ["jobs", id] => {
            if method != Method::GET {
                return Some(method_not_allowed("GET"));
            }
            match id.parse::<u64>().ok().and_then(|id| service.job(id)) {
                Some(job) => json_response(StatusCode::OK, job.to_json()),
                None => json_error(StatusCode::NOT_FOUND, format!("no job {id}")),
            }
        }
        _ => json_error(
            StatusCode::NOT_FOUND,
            format!("no such admin endpoint: {}", parts.uri.path()),
        ),
    };
    Some(answer)
}
