//! Lifecycle routes: a bucket's last and running scans, and a scan on demand (a dry run changes
//! nothing).

use axum::body::Body;
use http::Response;
use serde_json::json;

use super::{AdminApi, AdminError, AdminResult, Query, check_bucket, ok};
use crate::lifecycle::ScanError;
use crate::store::{Millis, StoreError};

/// `GET lifecycle/{bucket}`: `{"bucket", "last": ScanReport, "running": ScanReport}`.
pub fn status(api: &AdminApi, bucket: &str) -> AdminResult<Response<Body>> {
    check_bucket(bucket)?;
    if api.store.bucket(bucket).is_err() {
        return Err(AdminError::not_found(format!("no bucket {bucket}")));
    }
    let (last, running) = api.lifecycle.status(bucket);
    ok(json!({ "bucket": bucket, "last": last, "running": running }))
}

/// `POST lifecycle/{bucket}/run[?dry_run=true[&at=T]]`: scans now and answers the
/// `ScanReport` (404 without a lifecycle policy, 409 while a scan runs). A dry run with `at`
/// (RFC 3339, or ms since the epoch) decides as if it were that time: "what would lifecycle
/// do on that day".
pub async fn run(api: &AdminApi, bucket: &str, query: &Query) -> AdminResult<Response<Body>> {
    check_bucket(bucket)?;
    let dry_run = query.flag("dry_run")?;
    let at = query.get("at").map(parse_time).transpose()?;
    if at.is_some() && !dry_run {
        return Err(AdminError::bad_request(
            "at: only a dry run can look at another time (add dry_run=true)",
        ));
    }
    match api.lifecycle.scan_at(bucket, dry_run, at).await {
        Ok(report) => ok(json!(report)),
        Err(e @ ScanError::NoPolicy(_)) => Err(AdminError::not_found(e.to_string())),
        Err(e @ ScanError::Busy(_)) => Err(AdminError::conflict(e.to_string())),
        Err(ScanError::Store(StoreError::NoSuchBucket)) => {
            Err(AdminError::not_found(format!("no bucket {bucket}")))
        }
        Err(e @ ScanError::AtNeedsDryRun) => Err(AdminError::bad_request(e.to_string())),
        Err(e) => Err(AdminError::internal(e.to_string())),
    }
}

/// `2027-01-31T00:00:00Z` (RFC 3339), `2027-01-31` (midnight UTC) or ms since the epoch.
pub(super) fn parse_time(t: &str) -> AdminResult<Millis> {
    if let Ok(ms) = t.parse::<Millis>()
        && ms >= 0
    {
        return Ok(ms);
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map(|d| {
                d.and_hms_opt(0, 0, 0)
                    .map(|dt| dt.and_utc().timestamp_millis())
                    .unwrap_or_default()
            })
        });
    match parsed {
        Ok(ms) if ms >= 0 => Ok(ms),
        _ => Err(AdminError::bad_request(format!(
            "at: expected RFC 3339, YYYY-MM-DD or ms since the epoch, got {t:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_parse() {
        assert_eq!(super::parse_time("1000").ok(), Some(1000));
        assert_eq!(super::parse_time("1970-01-02").ok(), Some(86_400_000));
        assert_eq!(super::parse_time("1970-01-01T00:00:01Z").ok(), Some(1000));
        assert!(super::parse_time("tomorrow").is_err());
    }
}
