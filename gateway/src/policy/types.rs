//! Domain types of the policy engine: what the rest of the gateway hands to plugins and gets back.
//!
//! They mirror the records of `sdk/wit/policy.wit` but do not depend on the generated bindings;
//! the conversions live in `policy::wit`. Times are [`Millis`] (milliseconds since the Unix epoch,
//! UTC) like everywhere in the store.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::store::{Millis, Retention, RetentionMode};

/// The three plugin worlds of `lakegate:policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    Retention,
    Lifecycle,
    Backup,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 3] = [
        PolicyKind::Retention,
        PolicyKind::Lifecycle,
        PolicyKind::Backup,
    ];

    /// The world name in the WIT package (`retention`, `lifecycle`, `backup`).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Retention => "retention",
            PolicyKind::Lifecycle => "lifecycle",
            PolicyKind::Backup => "backup",
        }
    }

    /// Parses a world name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        PolicyKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version of one object (or a delete marker) as policies see it (WIT `object-version`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectVersion {
    pub bucket: String,
    pub key: String,
    /// `null` for the null version.
    pub version_id: String,
    pub size: u64,
    /// Without quotes; `<hex>-<parts>` for multipart objects.
    pub etag: String,
    pub content_type: Option<String>,
    pub last_modified: Millis,
    pub is_latest: bool,
    pub is_delete_marker: bool,
    /// `x-amz-meta-*` pairs, names lowercased without the prefix.
    pub user_metadata: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    pub storage_class: String,
    /// How many newer versions of the same key exist (0 for the latest).
    pub newer_versions: u32,
    /// When this version stopped being the latest, if it did.
    pub noncurrent_since: Option<Millis>,
    /// How many older versions of the same key exist (0 for the oldest).
    pub older_versions: u32,
}

impl ObjectVersion {
    /// A stored version as policies see it: `newer_versions` and `older_versions` of the same
    /// key around it, `noncurrent_since` the next newer version's time (for a noncurrent one).
    pub fn of_version(
        bucket: &str,
        key: &str,
        v: &crate::store::VersionRecord,
        newer_versions: u32,
        older_versions: u32,
        noncurrent_since: Option<Millis>,
    ) -> Self {
        ObjectVersion {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: v.version_id.clone(),
            size: v.size,
            etag: v.etag.clone(),
            content_type: v.meta.content_type.clone(),
            last_modified: v.last_modified,
            is_latest: newer_versions == 0,
            is_delete_marker: v.is_delete_marker,
            user_metadata: v.meta.user.clone(),
            tags: v.tags.clone(),
            retention: v.retention,
            legal_hold: v.legal_hold,
            storage_class: v
                .meta
                .storage_class
                .clone()
                .unwrap_or_else(|| "STANDARD".into()),
            newer_versions,
            noncurrent_since,
            older_versions,
        }
    }
}

/// An incomplete multipart upload (WIT `multipart-upload`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PolicyUpload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub initiated: Millis,
}

/// What happened to a version (WIT `change-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A new version was written (PUT, copy, complete-multipart).
    Created,
    /// A version was removed, or a delete marker became the latest.
    Removed,
}

/// A change event fed to backup plugins (WIT `change-event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub kind: ChangeKind,
    pub object: ObjectVersion,
}

/// A retention plugin's decision for a freshly written version.
///
/// The plugin only proposes; the caller never applies a retention shorter than what the version
/// already has or than the bucket default (see `store::lock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RetentionDecision {
    pub retention: Option<Retention>,
    pub legal_hold: bool,
}

impl RetentionDecision {
    /// No retention, no legal hold: the safe answer when a plugin fails (the bucket default, if
    /// any, still applies).
    pub fn none() -> Self {
        RetentionDecision {
            retention: None,
            legal_hold: false,
        }
    }
}

/// One item of a lifecycle batch (WIT `lifecycle-item`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LifecycleItem {
    Version(ObjectVersion),
    Upload(PolicyUpload),
}

impl LifecycleItem {
    pub fn bucket(&self) -> &str {
        match self {
            LifecycleItem::Version(v) => &v.bucket,
            LifecycleItem::Upload(u) => &u.bucket,
        }
    }
}

/// A lifecycle plugin's action for one item (WIT `lifecycle-action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LifecycleAction {
    Keep,
    /// Latest version: dispose of it as a plain DELETE would (a delete marker in a versioned
    /// bucket). Delete marker: remove it.
    Expire,
    /// Permanently delete this noncurrent version.
    ExpireNoncurrent,
    /// Abort this incomplete multipart upload.
    AbortUpload,
}

/// An object already present in a backup target (WIT `target-entry`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TargetEntry {
    pub path: String,
    /// The source key it was copied from.
    pub source_key: String,
    pub size: u64,
    /// The source ETag and version id recorded when it was copied.
    pub source_etag: String,
    pub source_version_id: String,
}

/// One step of a backup plan (WIT `backup-step`).
///
/// `Copy::object` is always the host's own record of the version (the plugin's copy of it is only
/// used to identify which input it meant), so a plugin cannot make the gateway copy a version it
/// was not shown.
// Steps are few and mostly copies: boxing the object would cost more than the padding saves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupStep {
    /// Copy this source version to the target under `path`.
    Copy { object: ObjectVersion, path: String },
    /// Delete `path` from the target.
    Delete { path: String },
}

impl BackupStep {
    pub fn path(&self) -> &str {
        match self {
            BackupStep::Copy { path, .. } | BackupStep::Delete { path } => path,
        }
    }
}
