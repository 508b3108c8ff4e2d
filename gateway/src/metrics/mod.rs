//! The metrics endpoints on the S3 port, in the Prometheus text format:
//!
//! - `/minio/v2/metrics/cluster`: the series MinIO's stock cluster dashboard (Grafana 13502)
//!   queries ([`minio`]) and lakegate's own ([`lakegate`]: request duration histograms,
//!   policy plugins, lifecycle scans, backups, group commit, audit);
//! - `/minio/v2/metrics/bucket`: the per-bucket series of MinIO's bucket dashboard;
//! - `/minio/v2/metrics/node`: this process and its drive.
//!
//! Scrapes are authenticated as MinIO does ([`scrape_auth`]). Everything is read from figures
//! the layers below keep with atomics; the one expensive figure, what the buckets hold, comes
//! from the periodic usage scanner ([`usage`]), so a scrape never walks the metadata.
//! `docs/METRICS.md` lists every series and what it means here.

pub mod lakegate;
pub mod minio;
pub mod process;
pub mod scrape_auth;
pub mod usage;

use std::sync::Arc;

use axum::body::Body;
use http::{HeaderValue, Method, Response, StatusCode};

use crate::audit::AuditLog;
use crate::auth::CredentialStore;
use crate::backup::BackupService;
use crate::crypto::Kms;
use crate::iam::Identities;
use crate::lifecycle::LifecycleScanner;
use crate::policy::registry::PolicyRegistry;
use crate::s3::stats::RequestStats;
use crate::store::Store;
use crate::telemetry::text::{CONTENT_TYPE, Exposition};
pub use scrape_auth::ScrapeAuth;
use usage::UsageScanner;

/// The path prefix of the metrics endpoints.
pub const PREFIX: &str = "/minio/v2/metrics/";

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Cluster,
    Bucket,
    Node,
}

impl Endpoint {
    /// The endpoint a request path names, if any.
    pub fn of_path(path: &str) -> Option<Endpoint> {
        match path.strip_prefix(PREFIX)?.trim_end_matches('/') {
            "cluster" => Some(Endpoint::Cluster),
            "bucket" => Some(Endpoint::Bucket),
            "node" => Some(Endpoint::Node),
            _ => None,
        }
    }
}

/// What the metrics endpoints read.
pub struct MetricsApi {
    pub store: Arc<Store>,
    pub requests: Arc<RequestStats>,
    pub policies: Arc<PolicyRegistry>,
    pub lifecycle: Arc<LifecycleScanner>,
    pub backup: Arc<BackupService>,
    pub kms: Option<Arc<dyn Kms>>,
    pub audit: Arc<AuditLog>,
    pub usage: Arc<UsageScanner>,
    pub credentials: CredentialStore,
    pub identities: Arc<Identities>,
    pub auth: ScrapeAuth,
    /// The `server` label: the S3 port's address.
    pub server: String,
    /// `--metrics off`: the endpoints answer 404.
    pub enabled: bool,
}

impl MetricsApi {
    /// Answers a scrape of `endpoint` (GET or HEAD).
    pub async fn handle(
        &self,
        endpoint: Endpoint,
        method: &Method,
        authorization: Option<&str>,
    ) -> Response<Body> {
        if !self.enabled {
            return json_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "metrics are turned off (--metrics off)",
            );
        }
        if method != Method::GET && method != Method::HEAD {
            let mut r = json_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "metrics are read with GET",
            );
            r.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        if self.auth == ScrapeAuth::Jwt
            && let Err(why) = scrape_auth::check(authorization, &self.credentials, &self.identities)
        {
            tracing::debug!(reason = %why, "scrape refused");
            return json_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied.");
        }
        let text = self.render(endpoint).await;
        let mut r = Response::new(if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(text)
        });
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE),
        );
        r
    }

    /// The text of one endpoint.
    pub async fn render(&self, endpoint: Endpoint) -> String {
        let mut e = Exposition::new(&[("server", &self.server)]);
        match endpoint {
            Endpoint::Cluster => {
                minio::cluster(self, &mut e);
                minio::process(&mut e);
                lakegate::render(self, &mut e).await;
            }
            Endpoint::Bucket => minio::buckets(self, &mut e).await,
            Endpoint::Node => {
                minio::process(&mut e);
                minio::drive(self, &mut e);
            }
        }
        e.finish()
    }
}

/// MinIO's JSON error body for the metrics and health endpoints.
fn json_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "Code": code, "Message": message }).to_string();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
