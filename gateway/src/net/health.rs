//! Health checks with MinIO's semantics (`cmd/healthcheck-handler.go`), unauthenticated, GET
//! and HEAD, on the S3 port (also under `/health/` without the `/minio` prefix):
//!
//! | path | 200 when | else |
//! |---|---|---|
//! | `/minio/health/live` | the process serves | — |
//! | `/minio/health/ready` | the metadata store is open and the KMS (if configured) answers | 503 |
//! | `/minio/health/cluster` | writes can succeed (not full, not read-only, metadata open) | 503 |
//! | `/minio/health/cluster/read` | reads can succeed (metadata open, blobs readable) | 503 |
//!
//! `?maintenance=true` on the cluster checks asks whether this node may be taken down without
//! losing availability: lakegate is one node, so never (412), as MinIO answers for a single
//! node. The cluster checks carry `X-Minio-Write-Quorum` / `X-Minio-Read-Quorum` (1: one drive).

use axum::body::Body;
use http::{HeaderValue, Method, Response, StatusCode};

use crate::crypto::Kms;
use crate::store::Store;

/// Which check a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Live,
    Ready,
    ClusterWrite,
    ClusterRead,
}

impl Check {
    /// The check a GET or HEAD of `path` asks for, if any.
    pub fn of(method: &Method, path: &str) -> Option<Check> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let rest = path
            .strip_prefix("/minio/health/")
            .or_else(|| path.strip_prefix("/health/"))?;
        match rest.trim_end_matches('/') {
            "live" => Some(Check::Live),
            "ready" => Some(Check::Ready),
            "cluster" => Some(Check::ClusterWrite),
            "cluster/read" => Some(Check::ClusterRead),
            _ => None,
        }
    }
}

/// Answers a health check.
pub fn answer(
    check: Check,
    query: Option<&str>,
    store: &Store,
    kms: Option<&dyn Kms>,
) -> Response<Body> {
    let maintenance = query.is_some_and(|q| {
        q.split('&')
            .any(|p| p.eq_ignore_ascii_case("maintenance=true"))
    });
    let (status, why) = match check {
        Check::Live => (StatusCode::OK, None),
        Check::Ready => match store.space.meta_down() {
            Some(why) => (StatusCode::SERVICE_UNAVAILABLE, Some(why)),
            // The built-in KMS is in-process: configured means available.
            None if kms.is_some_and(|k| !k.has_key(k.default_key())) => (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("KMS default key missing".to_string()),
            ),
            None => (StatusCode::OK, None),
        },
        Check::ClusterWrite => match store.ready() {
            Err(why) => (StatusCode::SERVICE_UNAVAILABLE, Some(why)),
            Ok(()) if maintenance => (StatusCode::PRECONDITION_FAILED, None),
            Ok(()) => (StatusCode::OK, None),
        },
        Check::ClusterRead => match store.space.readable() {
            Err(why) => (StatusCode::SERVICE_UNAVAILABLE, Some(why)),
            Ok(()) if maintenance => (StatusCode::PRECONDITION_FAILED, None),
            Ok(()) => (StatusCode::OK, None),
        },
    };
    if let Some(why) = why {
        tracing::debug!(?check, reason = %why, "health check failed");
    }
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    let h = r.headers_mut();
    match check {
        Check::ClusterWrite => {
            h.insert("x-minio-write-quorum", HeaderValue::from_static("1"));
            h.insert("x-minio-healing-drives", HeaderValue::from_static("0"));
        }
        Check::ClusterRead => {
            h.insert("x-minio-read-quorum", HeaderValue::from_static("1"));
        }
        _ => {}
    }
    r
}
