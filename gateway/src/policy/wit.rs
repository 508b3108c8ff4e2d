//! Bindings of `sdk/wit/policy.wit` (one `bindgen!` per world) and the conversions between the
//! generated types and the domain types of [`super::types`].
//!
//! The `retention` world's bindings own the shared `types` and `host` interfaces; the other two
//! worlds reuse them through `with:`, so there is exactly one Rust type per WIT type. Exports are
//! `async` because the store runs WASI's async host implementation (see `call.rs`, "Calls").

use super::types::{
    ChangeEvent, ChangeKind, LifecycleAction, LifecycleItem, ObjectVersion, PolicyUpload,
    Retention, RetentionDecision, RetentionMode, TargetEntry,
};

pub(crate) mod retention_world {
    wasmtime::component::bindgen!({
        world: "retention",
        path: "../sdk/wit",
        exports: { default: async },
        require_store_data_send: true,
    });
}

/// The bindings of a world other than `retention`, reusing its `types` and `host` interfaces.
macro_rules! world_sharing_types {
    ($module:ident, $world:literal) => {
        pub(crate) mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: "../sdk/wit",
                exports: { default: async },
                require_store_data_send: true,
                with: {
                    "lakegate:policy/types": super::retention_world::lakegate::policy::types,
                    "lakegate:policy/host": super::retention_world::lakegate::policy::host,
                },
            });
        }
    };
}

world_sharing_types!(lifecycle_world, "lifecycle");
world_sharing_types!(backup_world, "backup");

pub(crate) use backup_world::exports::lakegate::policy::backup_policy as wbackup;
pub(crate) use backup_world::{Backup, BackupPre};
pub(crate) use lifecycle_world::exports::lakegate::policy::lifecycle_policy as wlifecycle;
pub(crate) use lifecycle_world::{Lifecycle, LifecyclePre};
pub(crate) use retention_world::exports::lakegate::policy::retention_policy as wretention;
pub(crate) use retention_world::lakegate::policy::host as whost;
pub(crate) use retention_world::lakegate::policy::types as wtypes;
pub(crate) use retention_world::{Retention as RetentionWorld, RetentionPre};

// ---- domain → WIT ----

pub(crate) fn mode_to_wit(m: RetentionMode) -> wtypes::RetentionMode {
    match m {
        RetentionMode::Governance => wtypes::RetentionMode::Governance,
        RetentionMode::Compliance => wtypes::RetentionMode::Compliance,
    }
}

pub(crate) fn object_to_wit(o: &ObjectVersion) -> wtypes::ObjectVersion {
    wtypes::ObjectVersion {
        bucket: o.bucket.clone(),
        key: o.key.clone(),
        version_id: o.version_id.clone(),
        size: o.size,
        etag: o.etag.clone(),
        content_type: o.content_type.clone(),
        last_modified: o.last_modified,
        is_latest: o.is_latest,
        is_delete_marker: o.is_delete_marker,
        user_metadata: o.user_metadata.clone(),
        tags: o.tags.clone(),
        retention: o.retention.map(|r| wtypes::Retention {
            mode: mode_to_wit(r.mode),
            retain_until: r.retain_until,
        }),
        legal_hold: o.legal_hold,
        storage_class: o.storage_class.clone(),
        newer_versions: o.newer_versions,
        noncurrent_since: o.noncurrent_since,
        older_versions: o.older_versions,
    }
}

pub(crate) fn upload_to_wit(u: &PolicyUpload) -> wtypes::MultipartUpload {
    wtypes::MultipartUpload {
        bucket: u.bucket.clone(),
        key: u.key.clone(),
        upload_id: u.upload_id.clone(),
        initiated: u.initiated,
    }
}

pub(crate) fn item_to_wit(i: &LifecycleItem) -> wlifecycle::LifecycleItem {
    match i {
        LifecycleItem::Version(v) => wlifecycle::LifecycleItem::Version(object_to_wit(v)),
        LifecycleItem::Upload(u) => wlifecycle::LifecycleItem::Upload(upload_to_wit(u)),
    }
}

pub(crate) fn event_to_wit(e: &ChangeEvent) -> wtypes::ChangeEvent {
    wtypes::ChangeEvent {
        kind: match e.kind {
            ChangeKind::Created => wtypes::ChangeKind::Created,
            ChangeKind::Removed => wtypes::ChangeKind::Removed,
        },
        object: object_to_wit(&e.object),
    }
}

pub(crate) fn target_to_wit(t: &TargetEntry) -> wbackup::TargetEntry {
    wbackup::TargetEntry {
        path: t.path.clone(),
        source_key: t.source_key.clone(),
        size: t.size,
        source_etag: t.source_etag.clone(),
        source_version_id: t.source_version_id.clone(),
    }
}

// ---- WIT → domain ----

pub(crate) fn mode_from_wit(m: wtypes::RetentionMode) -> RetentionMode {
    match m {
        wtypes::RetentionMode::Governance => RetentionMode::Governance,
        wtypes::RetentionMode::Compliance => RetentionMode::Compliance,
    }
}

pub(crate) fn decision_from_wit(d: wretention::RetentionDecision) -> RetentionDecision {
    RetentionDecision {
        retention: d.retention.map(|r| Retention {
            mode: mode_from_wit(r.mode),
            retain_until: r.retain_until,
        }),
        legal_hold: d.legal_hold,
    }
}

pub(crate) fn action_from_wit(a: wlifecycle::LifecycleAction) -> LifecycleAction {
    match a {
        wlifecycle::LifecycleAction::Keep => LifecycleAction::Keep,
        wlifecycle::LifecycleAction::Expire => LifecycleAction::Expire,
        wlifecycle::LifecycleAction::ExpireNoncurrent => LifecycleAction::ExpireNoncurrent,
        wlifecycle::LifecycleAction::AbortUpload => LifecycleAction::AbortUpload,
    }
}

/// A plugin's backup step before validation: the object is only an identity (bucket, key,
/// version id) to be matched against the inputs.
pub(crate) enum RawStep {
    Copy {
        bucket: String,
        key: String,
        version_id: String,
        path: String,
    },
    Delete {
        path: String,
    },
}

pub(crate) fn step_from_wit(s: wbackup::BackupStep) -> RawStep {
    match s {
        wbackup::BackupStep::Copy((o, path)) => RawStep::Copy {
            bucket: o.bucket,
            key: o.key,
            version_id: o.version_id,
            path,
        },
        wbackup::BackupStep::Delete(path) => RawStep::Delete { path },
    }
}
