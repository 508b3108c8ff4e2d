//! The S3 port's front door. Every request gets a request id (`x-amz-request-id`, and the
//! `request_id` field of its tracing span), then goes to exactly one of:
//!
//! - the health checks under `/minio/health/` (also `/health/...`; [`super::health`]);
//! - the metrics endpoints under `/minio/v2/metrics/` ([`crate::metrics`]);
//! - the admin API ([`crate::admin`]), path-style requests under `/lakegate/admin/v1/`;
//! - the S3 API ([`crate::s3`]), everything else.
//!
//! A panic in a handler is a bug, never an answer: it is contained to its request, which gets
//! `500 InternalError` in its API's format.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use futures::FutureExt;
use http::{HeaderValue, Method, Request, Response};
use tracing::Instrument;

use super::health::{self, Check};
use crate::admin::{self, AdminApi, AdminError};
use crate::metrics::{self, MetricsApi};
use crate::s3::error::S3Error;
use crate::s3::{self, S3Api};
use crate::sts::{self, StsApi};

/// Routes the S3 port's requests.
pub struct Dispatch {
    s3: Arc<S3Api>,
    admin: Arc<AdminApi>,
    sts: Arc<StsApi>,
    metrics: Arc<MetricsApi>,
    request_counter: AtomicU64,
    boot_id: u32,
}

/// Where a request goes.
enum Destination {
    Health(Check),
    Metrics(metrics::Endpoint),
    Admin,
    Sts,
    S3,
}

impl Dispatch {
    pub fn new(
        s3: Arc<S3Api>,
        admin: Arc<AdminApi>,
        sts: Arc<StsApi>,
        metrics: Arc<MetricsApi>,
    ) -> Dispatch {
        Dispatch {
            s3,
            admin,
            sts,
            metrics,
            request_counter: AtomicU64::new(0),
            boot_id: uuid::Uuid::new_v4().as_u128() as u32,
        }
    }

    /// A request id unique to this process's life: a random boot id and a counter.
    fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("{:08X}{:012X}", self.boot_id, n)
    }

    fn destination(&self, req: &Request<Body>) -> Destination {
        let path = req.uri().path();
        if let Some(check) = Check::of(req.method(), path) {
            return Destination::Health(check);
        }
        if let Some(endpoint) = metrics::Endpoint::of_path(path) {
            return Destination::Metrics(endpoint);
        }
        // Only a path under an admin prefix, or a POST to `/`, needs the virtual-host check
        // (most requests stop here, so the S3 API's own routing is the only parse of the Host
        // header they get).
        let post_root = req.method() == Method::POST && path == "/";
        if !post_root && !path.starts_with(admin::PREFIX) && !path.starts_with(admin::minio::PREFIX)
        {
            return Destination::S3;
        }
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        let vhost = s3::router::vhost_bucket(host, &self.s3.domains);
        if sts::is_sts_request(req.method(), path, vhost) {
            Destination::Sts
        } else if admin::is_admin_path(path, vhost) {
            Destination::Admin
        } else {
            Destination::S3
        }
    }

    /// Answers one request on the S3 port.
    pub async fn handle(self: Arc<Self>, req: Request<Body>) -> Response<Body> {
        let request_id = self.next_request_id();
        let span = tracing::info_span!("request", request_id = %request_id, method = %req.method(), op = tracing::field::Empty);
        async move {
            let is_head = req.method() == Method::HEAD;
            // hyper sends `100 Continue` only when a handler reads a non-empty body. A request
            // that expected it but got its final answer directly (empty body, or refused before
            // the body) must not leave the connection open: botocore keeps the "no 100 Continue"
            // state on a reused connection and misparses the next response there, stalling for
            // its 60 s read timeout. Closing the connection resets the client.
            let expected_continue = req
                .headers()
                .get(http::header::EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
            let empty_body = req
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() == b"0");
            let resource = req.uri().path().to_string();
            let started = std::time::Instant::now();
            let mut resp = match self.destination(&req) {
                Destination::Health(check) => health::answer(
                    check,
                    req.uri().query(),
                    &self.s3.store,
                    self.s3.encryption.kms.as_deref(),
                ),
                Destination::Metrics(endpoint) => {
                    tracing::Span::current().record("op", "Metrics");
                    let authorization = req
                        .headers()
                        .get(http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok());
                    self.metrics
                        .handle(endpoint, req.method(), authorization)
                        .await
                }
                Destination::Admin => {
                    tracing::Span::current().record("op", "Admin");
                    let (parts, body) = req.into_parts();
                    std::panic::AssertUnwindSafe(admin::handle(
                        &self.admin,
                        parts,
                        body,
                        &request_id,
                    ))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| {
                        AdminError::internal("request handler panicked").into_response(is_head)
                    })
                }
                Destination::Sts => {
                    tracing::Span::current().record("op", "AssumeRole");
                    let (parts, body) = req.into_parts();
                    std::panic::AssertUnwindSafe(sts::handle(&self.sts, parts, body, &request_id))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| {
                            let e = S3Error::internal("request handler panicked");
                            s3::error_response(&e, &resource, &request_id, is_head)
                        })
                }
                Destination::S3 => {
                    std::panic::AssertUnwindSafe(s3::handle(&self.s3, req, &request_id))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| {
                            let e = S3Error::internal("request handler panicked");
                            s3::error_response(&e, &resource, &request_id, is_head)
                        })
                }
            };
            let h = resp.headers_mut();
            s3::set_header(h, "x-amz-request-id", &request_id);
            h.insert("x-amz-id-2", HeaderValue::from_static("lakegate"));
            h.insert(http::header::SERVER, HeaderValue::from_static("lakegate"));
            h.insert("accept-ranges", HeaderValue::from_static("bytes"));
            if expected_continue && (empty_body || !resp.status().is_success()) {
                resp.headers_mut()
                    .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            }
            tracing::debug!(
                status = resp.status().as_u16(),
                elapsed_us = started.elapsed().as_micros() as u64,
                "done"
            );
            resp
        }
        .instrument(span)
        .await
    }
}
