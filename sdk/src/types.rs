//! The domain types of the policy interface, as plain Rust.
//!
//! They mirror the records and variants of `sdk/wit/policy.wit` with a [`Timestamp`] newtype
//! instead of a bare `s64`, struct-like variants and a few helpers. Conversions from and to the
//! generated bindings happen inside the SDK; plugin code never sees the generated types.
//! Every type implements `Default` (where meaningful), `Clone`, `Debug` and `PartialEq`, so
//! tests can build values with `..Default::default()`.

use crate::time::Timestamp;
use serde::Deserialize;

/// The object-lock retention mode.
///
/// Deserializes from `"GOVERNANCE"` / `"COMPLIANCE"` (the S3 spelling) and from the lowercase
/// forms, so it can be used directly in a plugin's `Config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum RetentionMode {
    /// Deletable (or shortenable) by callers who send `x-amz-bypass-governance-retention`.
    #[serde(rename = "GOVERNANCE", alias = "governance", alias = "Governance")]
    Governance,
    /// Nobody can delete the version or shorten its retention until it expires.
    #[serde(rename = "COMPLIANCE", alias = "compliance", alias = "Compliance")]
    Compliance,
}

/// An object-lock retention: a mode and the time until which the version is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retention {
    /// GOVERNANCE or COMPLIANCE.
    pub mode: RetentionMode,
    /// The version is protected until this time.
    pub retain_until: Timestamp,
}

impl Retention {
    /// A retention of `mode` until `retain_until`.
    pub const fn new(mode: RetentionMode, retain_until: Timestamp) -> Self {
        Retention { mode, retain_until }
    }

    /// Whether the retention still protects the version at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.retain_until > now
    }
}

/// One version of one object (or a delete marker), as policies see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectVersion {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The version id; `"null"` for the null version.
    pub version_id: String,
    /// Size in bytes (0 for delete markers).
    pub size: u64,
    /// The ETag without quotes; `<hex>-<parts>` for multipart objects.
    pub etag: String,
    /// The `Content-Type`, if one was stored.
    pub content_type: Option<String>,
    /// When this version was written.
    pub last_modified: Timestamp,
    /// Whether this is the latest (current) version of its key.
    pub is_latest: bool,
    /// Whether this version is a delete marker.
    pub is_delete_marker: bool,
    /// `x-amz-meta-*` pairs, names lowercased without the prefix. See [`ObjectVersion::meta`].
    pub user_metadata: Vec<(String, String)>,
    /// Object tags. See [`ObjectVersion::tag`].
    pub tags: Vec<(String, String)>,
    /// The object-lock retention the version already has, if any.
    pub retention: Option<Retention>,
    /// Whether the version is under legal hold.
    pub legal_hold: bool,
    /// The storage class, e.g. `STANDARD`.
    pub storage_class: String,
    /// How many newer versions of the same key exist (0 for the latest).
    pub newer_versions: u32,
    /// When this version stopped being the latest (the next newer version's time), if it did.
    pub noncurrent_since: Option<Timestamp>,
    /// How many older versions of the same key exist (0 for the oldest). A latest delete marker
    /// with no older versions is an "expired object delete marker" (see
    /// [`ObjectVersion::is_expired_delete_marker`]).
    pub older_versions: u32,
}

impl ObjectVersion {
    /// The value of tag `name` (tag keys are case-sensitive), if the version has it.
    pub fn tag(&self, name: &str) -> Option<&str> {
        lookup(&self.tags, name, false)
    }

    /// Whether the version carries tag `name` with value `value` (both case-sensitive).
    pub fn has_tag(&self, name: &str, value: &str) -> bool {
        self.tag(name) == Some(value)
    }

    /// The value of user metadata `name` (`x-amz-meta-<name>`), if present. `name` is matched
    /// case-insensitively and may be given with or without the `x-amz-meta-` prefix.
    pub fn meta(&self, name: &str) -> Option<&str> {
        let name = strip_prefix_ignore_case(name, "x-amz-meta-").unwrap_or(name);
        lookup(&self.user_metadata, name, true)
    }

    /// Whether this is a latest delete marker with no older versions behind it (S3's "expired
    /// object delete marker": it hides nothing and can be removed).
    pub fn is_expired_delete_marker(&self) -> bool {
        self.is_delete_marker && self.is_latest && self.older_versions == 0
    }

    /// Whether the version is noncurrent (a newer version of the key exists).
    pub fn is_noncurrent(&self) -> bool {
        !self.is_latest
    }

    /// Complete days since the version was written (see [`Timestamp::age_days`]).
    pub fn age_days(&self, now: Timestamp) -> i64 {
        self.last_modified.age_days(now)
    }

    /// Complete days since the version became noncurrent; `None` for the latest version.
    pub fn noncurrent_days(&self, now: Timestamp) -> Option<i64> {
        if self.is_latest {
            return None;
        }
        self.noncurrent_since.map(|t| t.age_days(now))
    }
}

/// An incomplete multipart upload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultipartUpload {
    /// The bucket.
    pub bucket: String,
    /// The key the upload will create.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
    /// When the upload was initiated.
    pub initiated: Timestamp,
}

impl MultipartUpload {
    /// Complete days since the upload was initiated.
    pub fn age_days(&self, now: Timestamp) -> i64 {
        self.initiated.age_days(now)
    }
}

/// What happened to an object, for [`ChangeEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A new version was written (PUT, copy, complete-multipart).
    Created,
    /// A version was removed, or a delete marker became the latest.
    Removed,
}

/// A change to a bucket, as fed to [`BackupPolicy::plan_changes`](crate::BackupPolicy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeEvent {
    /// Created or removed.
    pub kind: ChangeKind,
    /// The version written, or the version removed / the delete marker that became latest.
    pub object: ObjectVersion,
}

/// The answer of a [`RetentionPolicy`](crate::RetentionPolicy) for one new version.
///
/// The host never applies a retention shorter than what the version already has or than the
/// bucket's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionDecision {
    /// The retention to apply, if any.
    pub retention: Option<Retention>,
    /// Whether to put the version under legal hold.
    pub legal_hold: bool,
}

impl RetentionDecision {
    /// No retention, no legal hold (the safe default).
    pub const fn none() -> Self {
        RetentionDecision {
            retention: None,
            legal_hold: false,
        }
    }

    /// Retain in `mode` until `retain_until`, without legal hold.
    pub const fn retain(mode: RetentionMode, retain_until: Timestamp) -> Self {
        RetentionDecision {
            retention: Some(Retention { mode, retain_until }),
            legal_hold: false,
        }
    }

    /// The same decision with legal hold set to `on`.
    pub const fn with_legal_hold(mut self, on: bool) -> Self {
        self.legal_hold = on;
        self
    }
}

/// One thing the lifecycle scanner asks about: an object version or an incomplete upload.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifecycleItem {
    /// A version (or delete marker) of an object.
    Version(ObjectVersion),
    /// An incomplete multipart upload.
    Upload(MultipartUpload),
}

impl LifecycleItem {
    /// The bucket of the version or upload.
    pub fn bucket(&self) -> &str {
        match self {
            LifecycleItem::Version(v) => &v.bucket,
            LifecycleItem::Upload(u) => &u.bucket,
        }
    }

    /// The object key of the version or upload.
    pub fn key(&self) -> &str {
        match self {
            LifecycleItem::Version(v) => &v.key,
            LifecycleItem::Upload(u) => &u.key,
        }
    }
}

/// What to do with one [`LifecycleItem`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LifecycleAction {
    /// Leave it alone (the safe default).
    #[default]
    Keep,
    /// For the latest version: dispose of it as a plain DELETE would (a delete marker in a
    /// versioned bucket). For a delete marker: remove it.
    Expire,
    /// Permanently delete this noncurrent version.
    ExpireNoncurrent,
    /// Abort this incomplete multipart upload.
    AbortUpload,
}

/// An object already present in the backup target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetEntry {
    /// Its path in the target.
    pub path: String,
    /// The source key it was copied from.
    pub source_key: String,
    /// Its size in bytes.
    pub size: u64,
    /// The source ETag recorded when it was copied.
    pub source_etag: String,
    /// The source version id recorded when it was copied.
    pub source_version_id: String,
}

impl TargetEntry {
    /// Whether this entry is a copy of exactly `object` (same ETag and version id).
    pub fn is_copy_of(&self, object: &ObjectVersion) -> bool {
        self.source_etag == object.etag && self.source_version_id == object.version_id
    }
}

/// One step of a backup plan.
// Not boxed: the variants mirror the WIT variant and are moved only a few times per call.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupStep {
    /// Copy this source version to the target under `path`.
    Copy {
        /// The source version to copy.
        object: ObjectVersion,
        /// Where to put it in the target.
        path: String,
    },
    /// Delete `path` from the target.
    Delete {
        /// The target path to delete.
        path: String,
    },
}

impl BackupStep {
    /// A [`BackupStep::Copy`] of `object` to `path`.
    pub fn copy(object: ObjectVersion, path: impl Into<String>) -> Self {
        BackupStep::Copy {
            object,
            path: path.into(),
        }
    }

    /// A [`BackupStep::Delete`] of `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        BackupStep::Delete { path: path.into() }
    }

    /// The target path the step writes or deletes.
    pub fn path(&self) -> &str {
        match self {
            BackupStep::Copy { path, .. } | BackupStep::Delete { path } => path,
        }
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], name: &str, ignore_case: bool) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| {
            if ignore_case {
                k.eq_ignore_ascii_case(name)
            } else {
                k == name
            }
        })
        .map(|(_, v)| v.as_str())
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tags_are_case_sensitive_metadata_is_not() {
        let v = ObjectVersion {
            tags: pairs(&[("legal", "keep"), ("Team", "ml")]),
            user_metadata: pairs(&[("owner", "alice")]),
            ..Default::default()
        };
        assert_eq!(v.tag("legal"), Some("keep"));
        assert_eq!(v.tag("Legal"), None);
        assert_eq!(v.tag("team"), None);
        assert!(v.has_tag("legal", "keep"));
        assert!(!v.has_tag("legal", "Keep"));
        assert_eq!(v.meta("owner"), Some("alice"));
        assert_eq!(v.meta("OWNER"), Some("alice"));
        assert_eq!(v.meta("x-amz-meta-owner"), Some("alice"));
        assert_eq!(v.meta("X-Amz-Meta-Owner"), Some("alice"));
        assert_eq!(v.meta("x-amz-meta-"), None);
        assert_eq!(v.meta("missing"), None);
    }

    #[test]
    fn ages() {
        let t0 = Timestamp::from_secs(1_700_000_000);
        let v = ObjectVersion {
            last_modified: t0,
            is_latest: false,
            noncurrent_since: Some(t0 + days(2)),
            ..Default::default()
        };
        let now = t0 + days(10);
        assert_eq!(v.age_days(now), 10);
        assert_eq!(v.noncurrent_days(now), Some(8));
        assert!(v.is_noncurrent());
        let latest = ObjectVersion {
            is_latest: true,
            ..v.clone()
        };
        assert_eq!(latest.noncurrent_days(now), None);
        let u = MultipartUpload {
            initiated: t0,
            ..Default::default()
        };
        assert_eq!(u.age_days(now), 10);
    }

    #[test]
    fn decisions_and_steps() {
        let until = Timestamp::from_secs(10);
        let d = RetentionDecision::retain(RetentionMode::Compliance, until).with_legal_hold(true);
        assert_eq!(d.retention.unwrap().mode, RetentionMode::Compliance);
        assert!(d.legal_hold);
        assert!(d.retention.unwrap().is_active(Timestamp::from_secs(9)));
        assert!(!d.retention.unwrap().is_active(until));
        assert_eq!(RetentionDecision::none(), RetentionDecision::default());
        assert_eq!(LifecycleAction::default(), LifecycleAction::Keep);
        assert_eq!(BackupStep::delete("a/b").path(), "a/b");
        let o = ObjectVersion {
            key: "k".into(),
            etag: "e".into(),
            version_id: "v".into(),
            ..Default::default()
        };
        assert_eq!(BackupStep::copy(o.clone(), "dst").path(), "dst");
        let entry = TargetEntry {
            path: "k".into(),
            source_etag: "e".into(),
            source_version_id: "v".into(),
            ..Default::default()
        };
        assert!(entry.is_copy_of(&o));
        assert!(!entry.is_copy_of(&ObjectVersion {
            etag: "f".into(),
            ..o
        }));
    }

    #[test]
    fn item_accessors() {
        let up = LifecycleItem::Upload(MultipartUpload {
            bucket: "b".into(),
            key: "k".into(),
            ..Default::default()
        });
        assert_eq!((up.bucket(), up.key()), ("b", "k"));
    }

    #[test]
    fn retention_mode_deserializes_s3_and_lowercase() {
        let m: RetentionMode = serde_json::from_str("\"GOVERNANCE\"").unwrap();
        assert_eq!(m, RetentionMode::Governance);
        let m: RetentionMode = serde_json::from_str("\"compliance\"").unwrap();
        assert_eq!(m, RetentionMode::Compliance);
        assert!(serde_json::from_str::<RetentionMode>("\"LOCKED\"").is_err());
    }
}
