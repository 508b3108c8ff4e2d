//! KMS routes: key rotation. After a new version of a KMS key is added (a later line with the
//! same name in `--kms-keys`, and a restart), `POST kms/rewrap/{bucket}` re-seals every stored
//! data key of the bucket that an older version sealed, under the newest one, without
//! rewriting any object's bytes. Then the old version can be retired.

use axum::body::Body;
use http::Response;
use serde_json::json;

use super::{AdminApi, AdminError, AdminResult, check_bucket, ok};
use crate::iam::Caller;
use crate::s3::error::S3ErrorCode;

/// `POST kms/rewrap/{bucket}`: answers the `RewrapReport` (404 for no such bucket, 409 without
/// a KMS).
pub async fn rewrap(api: &AdminApi, caller: &Caller, bucket: &str) -> AdminResult<Response<Body>> {
    check_bucket(bucket)?;
    if api.store.bucket(bucket).is_err() {
        return Err(AdminError::not_found(format!("no bucket {bucket}")));
    }
    match api.encryption.rewrap(&api.store, bucket).await {
        Ok(report) => {
            tracing::info!(
                actor = caller.access_key().unwrap_or("-"),
                bucket,
                versions = report.versions,
                rewrapped = report.rewrapped,
                "KMS data keys re-sealed under the newest key versions"
            );
            ok(json!(report))
        }
        Err(e) if e.code == S3ErrorCode::KmsDisabled => Err(AdminError::conflict(
            "this gateway has no KMS (no --kms-secret-key or --kms-keys)",
        )),
        Err(e) => Err(AdminError::internal(e.message.clone())),
    }
}
