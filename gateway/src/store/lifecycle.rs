//! Lifecycle actions, carried out by the store for the lifecycle scanner: the same rules as S3
//! requests (versioning, object lock), plus the scanner's own guards. Each action re-checks,
//! inside the committing transaction, that what the plugin saw still holds, so an object written
//! or changed after the scan read it is never disposed of by a stale decision.
//!
//! Deliberate difference from AWS: a version under retention or legal hold is never expired,
//! not even by adding a delete marker in front of it. Lifecycle disposes of data once its
//! retention is over; while it runs, the object stays visible.

use super::lock;
use super::meta::Tables;
use super::meta::WriteCtx;
use super::model::*;
use super::objects::{Lookup, delete_in, remove_version};
use super::schema::{self, BUCKETS, PARTS, SYSTEM, UPLOADS, VERSIONS, decode};
use super::{Store, StoreChangeKind, StoreError};

/// One lifecycle action on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleOp {
    /// Dispose of the latest version `version_id` of `key` as a plain DELETE would (a delete
    /// marker in a versioned bucket), if it still is the latest.
    ExpireCurrent { key: String, version_id: String },
    /// Permanently delete the noncurrent version `version_id` of `key`.
    DeleteNoncurrent { key: String, version_id: String },
    /// Remove the delete marker `version_id` of `key`, if it is still the latest and the only
    /// version of the key (an expired object delete marker).
    RemoveExpiredMarker { key: String, version_id: String },
    /// Abort an incomplete multipart upload.
    AbortUpload { key: String, upload_id: String },
}

impl LifecycleOp {
    pub fn key(&self) -> &str {
        match self {
            LifecycleOp::ExpireCurrent { key, .. }
            | LifecycleOp::DeleteNoncurrent { key, .. }
            | LifecycleOp::RemoveExpiredMarker { key, .. }
            | LifecycleOp::AbortUpload { key, .. } => key,
        }
    }
}

/// What became of one [`LifecycleOp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleOutcome {
    /// Done. `delete_marker` is the marker an expiration added, if it added one.
    Done { delete_marker: Option<String> },
    /// Refused: the version is under retention or legal hold.
    Locked(String),
    /// Skipped: the item changed since the scan (a newer version, a marker that now hides
    /// versions, ...), or is gone already.
    Stale,
}

fn locked(v: &VersionRecord, now: Millis) -> Option<String> {
    // Lifecycle never bypasses GOVERNANCE.
    lock::check_delete(v, now, false)
        .err()
        .map(|e| e.to_string())
}

fn apply_one(
    w: &mut WriteCtx,
    bucket: &str,
    op: &LifecycleOp,
    now: Millis,
) -> Result<LifecycleOutcome, StoreError> {
    match op {
        LifecycleOp::ExpireCurrent { key, version_id } => {
            let Some(cur) = w.current(bucket, key)? else {
                return Ok(LifecycleOutcome::Stale);
            };
            if cur.version_id != *version_id || cur.is_delete_marker {
                return Ok(LifecycleOutcome::Stale);
            }
            if let Some(why) = locked(&cur, now) {
                return Ok(LifecycleOutcome::Locked(why));
            }
            match delete_in(w, bucket, key, None, &Default::default(), false, now) {
                Ok(out) => Ok(LifecycleOutcome::Done {
                    delete_marker: out.delete_marker.then_some(out.version_id).flatten(),
                }),
                Err(StoreError::Locked(why)) => Ok(LifecycleOutcome::Locked(why)),
                Err(e) => Err(e),
            }
        }
        LifecycleOp::DeleteNoncurrent { key, version_id } => {
            let Some(v) = w.find_version(bucket, key, version_id)? else {
                return Ok(LifecycleOutcome::Stale);
            };
            if w.current(bucket, key)?.is_some_and(|c| c.seq == v.seq) {
                return Ok(LifecycleOutcome::Stale);
            }
            if let Some(why) = locked(&v, now) {
                return Ok(LifecycleOutcome::Locked(why));
            }
            remove_version(w, bucket, key, &v)?;
            Ok(LifecycleOutcome::Done {
                delete_marker: None,
            })
        }
        LifecycleOp::RemoveExpiredMarker { key, version_id } => {
            let Some(v) = w.find_version(bucket, key, version_id)? else {
                return Ok(LifecycleOutcome::Stale);
            };
            let (start, end) = (
                schema::key_prefix(bucket, key),
                schema::key_end(bucket, key),
            );
            let only = w.range(VERSIONS, &start, &end, 2)?.len() == 1;
            if !v.is_delete_marker || !only {
                return Ok(LifecycleOutcome::Stale);
            }
            remove_version(w, bucket, key, &v)?;
            Ok(LifecycleOutcome::Done {
                delete_marker: None,
            })
        }
        LifecycleOp::AbortUpload { key, upload_id } => {
            let ukey = schema::upload_key(bucket, key, upload_id);
            if w.get(UPLOADS, &ukey)?.is_none() {
                return Ok(LifecycleOutcome::Stale);
            }
            let (start, end) = schema::part_prefix(upload_id);
            for (k, v) in w.range(PARTS, &start, &end, usize::MAX)? {
                let p: PartInfo = decode(&v)?;
                w.release_data(&p.data)?;
                w.remove(PARTS, &k)?;
            }
            w.remove(UPLOADS, &ukey)?;
            Ok(LifecycleOutcome::Done {
                delete_marker: None,
            })
        }
    }
}

impl Store {
    /// Carries out lifecycle actions on `bucket`, all in one group commit; one outcome per op.
    /// Storage errors fail the whole batch (nothing of it is committed).
    pub async fn apply_lifecycle(
        &self,
        bucket: &str,
        ops: Vec<LifecycleOp>,
        now: Millis,
    ) -> Result<Vec<LifecycleOutcome>, StoreError> {
        let b = bucket.to_string();
        // Expirations free space: accepted while the store is full (see `space`).
        let ops = std::sync::Arc::new(ops);
        let applied = ops.clone();
        let outcomes = self
            .meta
            .write_freeing(move |w| {
                if w.get(BUCKETS, b.as_bytes())?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                let mut out = Vec::with_capacity(applied.len());
                for op in applied.iter() {
                    out.push(apply_one(w, &b, op, now)?);
                }
                Ok(out)
            })
            .await?;
        for (op, outcome) in ops.iter().zip(&outcomes) {
            if let LifecycleOutcome::Done { delete_marker } = outcome {
                let vid = match op {
                    LifecycleOp::ExpireCurrent { .. } => delete_marker.as_deref().unwrap_or(""),
                    LifecycleOp::DeleteNoncurrent { version_id, .. }
                    | LifecycleOp::RemoveExpiredMarker { version_id, .. } => version_id,
                    LifecycleOp::AbortUpload { .. } => continue,
                };
                self.changes
                    .emit(bucket, op.key(), vid, StoreChangeKind::Removed);
            }
        }
        Ok(outcomes)
    }
}

impl Store {
    /// The lifecycle scanner's saved state for `bucket` (JSON), if any.
    pub fn lifecycle_state(&self, bucket: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let k = schema::scanner_state_key(bucket);
        let state = self
            .meta
            .read(|r| r.get_record::<ScannerState>(SYSTEM, &k))?;
        Ok(state.map(|s| s.0))
    }

    /// Saves (or with `None` clears) the lifecycle scanner's state for `bucket`.
    pub async fn set_lifecycle_state(
        &self,
        bucket: &str,
        state: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let k = schema::scanner_state_key(bucket);
        let state = state.map(ScannerState);
        self.meta
            .write(move |w| {
                match state {
                    Some(s) => w.put_record(SYSTEM, &k, &s)?,
                    None => {
                        w.remove(SYSTEM, &k)?;
                    }
                }
                Ok(())
            })
            .await
    }
}

impl Store {
    /// The bucket's S3 lifecycle configuration (translated to the lifecycle plugin's JSON).
    pub fn s3_lifecycle(&self, bucket: &str) -> Result<Option<String>, StoreError> {
        let c: Option<S3LifecycleConfig> =
            self.bucket_setting(&schema::s3_lifecycle_key(bucket))?;
        Ok(c.map(|c| c.0))
    }

    /// Sets (or with `None` removes) the bucket's S3 lifecycle configuration.
    pub async fn set_s3_lifecycle(
        &self,
        bucket: &str,
        config: Option<String>,
    ) -> Result<(), StoreError> {
        self.set_bucket_setting(
            bucket,
            schema::s3_lifecycle_key(bucket),
            config.map(S3LifecycleConfig),
        )
        .await
    }
}
