//! Lifecycle routes: a bucket's last and running scans, and a scan on demand (a dry run changes
//! nothing).

use axum::body::Body;
use http::Response;
use serde_json::json;

use super::{AdminApi, AdminError, AdminResult, check_bucket, ok};
use crate::lifecycle::ScanError;
use crate::store::StoreError;

/// `GET lifecycle/{bucket}`: `{"bucket", "last": ScanReport, "running": ScanReport}`.
pub fn status(api: &AdminApi, bucket: &str) -> AdminResult<Response<Body>> {
    check_bucket(bucket)?;
    if api.store.bucket(bucket).is_err() {
        return Err(AdminError::not_found(format!("no bucket {bucket}")));
    }
    let (last, running) = api.lifecycle.status(bucket);
    ok(json!({ "bucket": bucket, "last": last, "running": running }))
}

/// `POST lifecycle/{bucket}/run[?dry_run=true]`: scans now and answers the `ScanReport` (404
/// without a lifecycle policy, 409 while a scan runs).
pub async fn run(api: &AdminApi, bucket: &str, dry_run: bool) -> AdminResult<Response<Body>> {
    check_bucket(bucket)?;
    match api.lifecycle.scan(bucket, dry_run).await {
        Ok(report) => ok(json!(report)),
        Err(e @ ScanError::NoPolicy(_)) => Err(AdminError::not_found(e.to_string())),
        Err(e @ ScanError::Busy(_)) => Err(AdminError::conflict(e.to_string())),
        Err(ScanError::Store(StoreError::NoSuchBucket)) => {
            Err(AdminError::not_found(format!("no bucket {bucket}")))
        }
        Err(e) => Err(AdminError::internal(e.to_string())),
    }
}
