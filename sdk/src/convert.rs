//! Conversions between the generated bindings and the SDK's domain types.

use crate::__bindings::backup::exports::lakegate::policy::backup_policy as wb;
use crate::__bindings::lifecycle::exports::lakegate::policy::lifecycle_policy as wl;
use crate::__bindings::retention::exports::lakegate::policy::retention_policy as wr;
use crate::__bindings::retention::lakegate::policy::types as wt;
use crate::{
    BackupStep, ChangeEvent, ChangeKind, LifecycleAction, LifecycleItem, MultipartUpload,
    ObjectVersion, Retention, RetentionDecision, RetentionMode, TargetEntry, Timestamp,
};

impl From<wt::RetentionMode> for RetentionMode {
    fn from(m: wt::RetentionMode) -> Self {
        match m {
            wt::RetentionMode::Governance => RetentionMode::Governance,
            wt::RetentionMode::Compliance => RetentionMode::Compliance,
        }
    }
}

impl From<RetentionMode> for wt::RetentionMode {
    fn from(m: RetentionMode) -> Self {
        match m {
            RetentionMode::Governance => wt::RetentionMode::Governance,
            RetentionMode::Compliance => wt::RetentionMode::Compliance,
        }
    }
}

impl From<wt::Retention> for Retention {
    fn from(r: wt::Retention) -> Self {
        Retention {
            mode: r.mode.into(),
            retain_until: Timestamp(r.retain_until),
        }
    }
}

impl From<Retention> for wt::Retention {
    fn from(r: Retention) -> Self {
        wt::Retention {
            mode: r.mode.into(),
            retain_until: r.retain_until.0,
        }
    }
}

impl From<wt::ObjectVersion> for ObjectVersion {
    fn from(o: wt::ObjectVersion) -> Self {
        ObjectVersion {
            bucket: o.bucket,
            key: o.key,
            version_id: o.version_id,
            size: o.size,
            etag: o.etag,
            content_type: o.content_type,
            last_modified: Timestamp(o.last_modified),
            is_latest: o.is_latest,
            is_delete_marker: o.is_delete_marker,
            user_metadata: o.user_metadata,
            tags: o.tags,
            retention: o.retention.map(Into::into),
            legal_hold: o.legal_hold,
            storage_class: o.storage_class,
            newer_versions: o.newer_versions,
            noncurrent_since: o.noncurrent_since.map(Timestamp),
            older_versions: o.older_versions,
        }
    }
}

impl From<ObjectVersion> for wt::ObjectVersion {
    fn from(o: ObjectVersion) -> Self {
        wt::ObjectVersion {
            bucket: o.bucket,
            key: o.key,
            version_id: o.version_id,
            size: o.size,
            etag: o.etag,
            content_type: o.content_type,
            last_modified: o.last_modified.0,
            is_latest: o.is_latest,
            is_delete_marker: o.is_delete_marker,
            user_metadata: o.user_metadata,
            tags: o.tags,
            retention: o.retention.map(Into::into),
            legal_hold: o.legal_hold,
            storage_class: o.storage_class,
            newer_versions: o.newer_versions,
            noncurrent_since: o.noncurrent_since.map(|t| t.0),
            older_versions: o.older_versions,
        }
    }
}

impl From<wt::MultipartUpload> for MultipartUpload {
    fn from(u: wt::MultipartUpload) -> Self {
        MultipartUpload {
            bucket: u.bucket,
            key: u.key,
            upload_id: u.upload_id,
            initiated: Timestamp(u.initiated),
        }
    }
}

impl From<wt::ChangeEvent> for ChangeEvent {
    fn from(e: wt::ChangeEvent) -> Self {
        ChangeEvent {
            kind: match e.kind {
                wt::ChangeKind::Created => ChangeKind::Created,
                wt::ChangeKind::Removed => ChangeKind::Removed,
            },
            object: e.object.into(),
        }
    }
}

impl From<RetentionDecision> for wr::RetentionDecision {
    fn from(d: RetentionDecision) -> Self {
        wr::RetentionDecision {
            retention: d.retention.map(Into::into),
            legal_hold: d.legal_hold,
        }
    }
}

impl From<wl::LifecycleItem> for LifecycleItem {
    fn from(i: wl::LifecycleItem) -> Self {
        match i {
            wl::LifecycleItem::Version(v) => LifecycleItem::Version(v.into()),
            wl::LifecycleItem::Upload(u) => LifecycleItem::Upload(u.into()),
        }
    }
}

impl From<LifecycleAction> for wl::LifecycleAction {
    fn from(a: LifecycleAction) -> Self {
        match a {
            LifecycleAction::Keep => wl::LifecycleAction::Keep,
            LifecycleAction::Expire => wl::LifecycleAction::Expire,
            LifecycleAction::ExpireNoncurrent => wl::LifecycleAction::ExpireNoncurrent,
            LifecycleAction::AbortUpload => wl::LifecycleAction::AbortUpload,
        }
    }
}

impl From<wb::TargetEntry> for TargetEntry {
    fn from(e: wb::TargetEntry) -> Self {
        TargetEntry {
            path: e.path,
            source_key: e.source_key,
            size: e.size,
            source_etag: e.source_etag,
            source_version_id: e.source_version_id,
        }
    }
}

impl From<BackupStep> for wb::BackupStep {
    fn from(s: BackupStep) -> Self {
        match s {
            BackupStep::Copy { object, path } => wb::BackupStep::Copy((object.into(), path)),
            BackupStep::Delete { path } => wb::BackupStep::Delete(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_version_round_trips() {
        let o = ObjectVersion {
            bucket: "b".into(),
            key: "k".into(),
            version_id: "v".into(),
            size: 42,
            etag: "abc-2".into(),
            content_type: Some("text/plain".into()),
            last_modified: Timestamp(5),
            is_latest: false,
            is_delete_marker: false,
            user_metadata: vec![("m".into(), "1".into())],
            tags: vec![("t".into(), "2".into())],
            retention: Some(Retention::new(RetentionMode::Compliance, Timestamp(9))),
            legal_hold: true,
            storage_class: "STANDARD".into(),
            newer_versions: 3,
            noncurrent_since: Some(Timestamp(7)),
            older_versions: 2,
        };
        let wire: wt::ObjectVersion = o.clone().into();
        assert_eq!(wire.last_modified, 5);
        assert_eq!(wire.noncurrent_since, Some(7));
        assert_eq!(wire.older_versions, 2);
        assert_eq!(ObjectVersion::from(wire), o);
    }

    #[test]
    fn steps_and_actions() {
        let step: wb::BackupStep = BackupStep::delete("x").into();
        assert!(matches!(step, wb::BackupStep::Delete(p) if p == "x"));
        let step: wb::BackupStep = BackupStep::copy(ObjectVersion::default(), "y").into();
        assert!(matches!(step, wb::BackupStep::Copy((_, p)) if p == "y"));
        let a: wl::LifecycleAction = LifecycleAction::ExpireNoncurrent.into();
        assert_eq!(a, wl::LifecycleAction::ExpireNoncurrent);
        let d: wr::RetentionDecision =
            RetentionDecision::retain(RetentionMode::Governance, Timestamp(1)).into();
        assert_eq!(d.retention.map(|r| r.retain_until), Some(1));
    }
}
