//! What the host refuses in a plugin's answers, and the self-check that exercises them at load.
//!
//! Plugins decide, the host checks before acting: a retention date must lie in the future and
//! at most 100 years ahead; a lifecycle answer has one action per item, each one that can apply
//! to its item; a backup step copies one of the objects it was given, to a valid target path (`target_path.rs`). A
//! refused answer is an [`PolicyError::InvalidReturn`], counted as a failure of the plugin.
//!
//! At load, [`PluginInner::self_check`] runs one decision of the plugin's world on synthetic
//! input through these same checks, so a plugin that fails on every input is refused before it
//! serves a bucket.

use std::collections::HashMap;

use super::call::{Request, Response, unexpected_response};
use super::error::PolicyError;
use super::plugin::PluginInner;
use super::pool::Instance;
use super::target_path::{EmptySegments, check_target_path};
use super::types::{
    BackupStep, ChangeEvent, ChangeKind, LifecycleItem, Millis, ObjectVersion, PolicyKind,
    PolicyUpload, RetentionDecision, TargetEntry,
};
use super::wit::{self, wbackup, wlifecycle};

/// The furthest in the future a retention decision may reach (100 years).
const MAX_RETENTION_MS: i64 = 100 * 366 * 86_400_000;

pub(super) fn validate_retention(
    d: RetentionDecision,
    now: Millis,
) -> Result<RetentionDecision, PolicyError> {
    if let Some(r) = d.retention {
        if r.retain_until <= now {
            return Err(PolicyError::InvalidReturn(format!(
                "retain-until {} is not in the future (now {now})",
                r.retain_until
            )));
        }
        if r.retain_until > now.saturating_add(MAX_RETENTION_MS) {
            return Err(PolicyError::InvalidReturn(format!(
                "retain-until {} is more than 100 years ahead",
                r.retain_until
            )));
        }
    }
    Ok(d)
}

/// One action per item, in order; no action that cannot apply to its item.
pub(super) fn validate_lifecycle(
    items: &[LifecycleItem],
    actions: &[wlifecycle::LifecycleAction],
) -> Result<(), PolicyError> {
    use wlifecycle::LifecycleAction as A;
    if actions.len() != items.len() {
        return Err(PolicyError::InvalidReturn(format!(
            "{} actions for {} items",
            actions.len(),
            items.len()
        )));
    }
    for (i, (item, action)) in items.iter().zip(actions).enumerate() {
        let ok = match (item, action) {
            (_, A::Keep) => true,
            (LifecycleItem::Upload(_), A::AbortUpload) => true,
            (LifecycleItem::Upload(_), _) => false,
            (LifecycleItem::Version(_), A::AbortUpload) => false,
            (LifecycleItem::Version(v), A::ExpireNoncurrent) => !v.is_latest,
            (LifecycleItem::Version(_), A::Expire) => true,
        };
        if !ok {
            let what = match item {
                LifecycleItem::Version(v) if v.is_latest => "the latest version",
                LifecycleItem::Version(_) => "a noncurrent version",
                LifecycleItem::Upload(_) => "a multipart upload",
            };
            return Err(PolicyError::InvalidReturn(format!(
                "action {:?} for item {i}, {what}",
                wit::action_from_wit(*action)
            )));
        }
    }
    Ok(())
}

/// The plugin's backup steps with copies resolved to the host's records of the inputs; a copy
/// of anything else, or a step with an invalid target path, refuses the whole plan.
pub(super) fn resolve_steps<'a>(
    steps: Vec<wbackup::BackupStep>,
    inputs: impl Iterator<Item = &'a ObjectVersion>,
) -> Result<Vec<BackupStep>, PolicyError> {
    let index: HashMap<(&str, &str, &str), &ObjectVersion> = inputs
        .map(|o| {
            (
                (o.bucket.as_str(), o.key.as_str(), o.version_id.as_str()),
                o,
            )
        })
        .collect();
    steps
        .into_iter()
        .map(|s| {
            let step = match wit::step_from_wit(s) {
                wit::RawStep::Delete { path } => BackupStep::Delete { path },
                wit::RawStep::Copy { bucket, key, version_id, path } => {
                    let object = index.get(&(bucket.as_str(), key.as_str(), version_id.as_str())).ok_or_else(|| {
                        PolicyError::InvalidReturn(format!(
                            "copy of `{bucket}/{key}` version `{version_id}`, which was not among the inputs"
                        ))
                    })?;
                    BackupStep::Copy { object: (*object).clone(), path }
                }
            };
            check_target_path(step.path(), EmptySegments::Allowed).map_err(|e| {
                PolicyError::InvalidReturn(format!("target path {:?} {e}", step.path()))
            })?;
            Ok(step)
        })
        .collect()
}

fn synthetic_object(now: Millis) -> ObjectVersion {
    ObjectVersion {
        bucket: "lakegate-self-check".into(),
        key: "self-check/part-00000.parquet".into(),
        version_id: "00000000000000020000000000000002".into(),
        size: 1024,
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        content_type: Some("application/octet-stream".into()),
        last_modified: now - 86_400_000,
        is_latest: true,
        is_delete_marker: false,
        user_metadata: vec![("origin".into(), "self-check".into())],
        tags: vec![("layer".into(), "bronze".into())],
        retention: None,
        legal_hold: false,
        storage_class: "STANDARD".into(),
        newer_versions: 0,
        noncurrent_since: None,
        older_versions: 1,
    }
}

impl PluginInner {
    /// A decision on synthetic inputs, run once at load on the first instance.
    pub(super) fn self_check(&self, inst: &mut Instance) -> Result<(), PolicyError> {
        let now = crate::store::now_millis();
        let latest = synthetic_object(now);
        let noncurrent = ObjectVersion {
            version_id: "00000000000000010000000000000001".into(),
            is_latest: false,
            newer_versions: 1,
            noncurrent_since: Some(now - 3_600_000),
            ..latest.clone()
        };
        let bucket = latest.bucket.clone();
        let result = match self.kind {
            PolicyKind::Retention => {
                let o = wit::object_to_wit(&latest);
                match self.execute(inst, &bucket, now, &Request::Retention(&o))? {
                    Response::Retention(d) => {
                        validate_retention(wit::decision_from_wit(d), now).map(drop)
                    }
                    _ => Err(unexpected_response()),
                }
            }
            PolicyKind::Lifecycle => {
                let items = vec![
                    LifecycleItem::Version(latest.clone()),
                    LifecycleItem::Version(noncurrent),
                    LifecycleItem::Upload(PolicyUpload {
                        bucket: bucket.clone(),
                        key: latest.key.clone(),
                        upload_id: "self-check-upload".into(),
                        initiated: now - 86_400_000,
                    }),
                ];
                let w: Vec<_> = items.iter().map(wit::item_to_wit).collect();
                match self.execute(inst, &bucket, now, &Request::Lifecycle(&w))? {
                    Response::Lifecycle(a) => validate_lifecycle(&items, &a),
                    _ => Err(unexpected_response()),
                }
            }
            PolicyKind::Backup => {
                let events = [ChangeEvent {
                    kind: ChangeKind::Created,
                    object: latest.clone(),
                }];
                let w: Vec<_> = events.iter().map(wit::event_to_wit).collect();
                let changes = match self.execute(inst, &bucket, now, &Request::BackupChanges(&w))? {
                    Response::Backup(s) => {
                        resolve_steps(s, events.iter().map(|e| &e.object)).map(drop)
                    }
                    _ => Err(unexpected_response()),
                };
                changes.and_then(|()| {
                    let objects = [latest.clone()];
                    let existing = [TargetEntry {
                        path: format!("{}/{}", latest.bucket, latest.key),
                        source_key: latest.key.clone(),
                        size: latest.size,
                        source_etag: latest.etag.clone(),
                        source_version_id: latest.version_id.clone(),
                    }];
                    let wo: Vec<_> = objects.iter().map(wit::object_to_wit).collect();
                    let we: Vec<_> = existing.iter().map(wit::target_to_wit).collect();
                    match self.execute(inst, &bucket, now, &Request::BackupFull(&wo, &we))? {
                        Response::Backup(s) => resolve_steps(s, objects.iter()).map(drop),
                        _ => Err(unexpected_response()),
                    }
                })
            }
        };
        result.map_err(|e| match e {
            PolicyError::InvalidReturn(m) => PolicyError::InvalidReturn(format!("self-check: {m}")),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_validation() {
        use crate::store::{Retention, RetentionMode};
        let now = 1_700_000_000_000;
        let d = |until| RetentionDecision {
            retention: Some(Retention {
                mode: RetentionMode::Governance,
                retain_until: until,
            }),
            legal_hold: false,
        };
        assert!(validate_retention(RetentionDecision::none(), now).is_ok());
        assert!(validate_retention(d(now + 1), now).is_ok());
        assert!(validate_retention(d(now), now).is_err());
        assert!(validate_retention(d(now - 1), now).is_err());
        assert!(validate_retention(d(now + MAX_RETENTION_MS), now).is_ok());
        assert!(validate_retention(d(now + MAX_RETENTION_MS + 1), now).is_err());
        assert!(validate_retention(d(i64::MAX), now).is_err());
    }

    #[test]
    fn lifecycle_validation() {
        use wlifecycle::LifecycleAction as A;
        let latest = ObjectVersion {
            is_latest: true,
            ..Default::default()
        };
        let old = ObjectVersion {
            is_latest: false,
            newer_versions: 1,
            ..Default::default()
        };
        let items = vec![
            LifecycleItem::Version(latest),
            LifecycleItem::Version(old),
            LifecycleItem::Upload(PolicyUpload::default()),
        ];
        assert!(
            validate_lifecycle(&items, &[A::Expire, A::ExpireNoncurrent, A::AbortUpload]).is_ok()
        );
        assert!(validate_lifecycle(&items, &[A::Keep, A::Keep, A::Keep]).is_ok());
        assert!(validate_lifecycle(&items, &[A::Keep, A::Keep]).is_err());
        assert!(validate_lifecycle(&items, &[A::ExpireNoncurrent, A::Keep, A::Keep]).is_err());
        assert!(validate_lifecycle(&items, &[A::Keep, A::AbortUpload, A::Keep]).is_err());
        assert!(validate_lifecycle(&items, &[A::Keep, A::Keep, A::Expire]).is_err());
    }
}
