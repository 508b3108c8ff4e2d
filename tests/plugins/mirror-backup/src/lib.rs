//! Test fixture for the `backup` world: mirrors the latest versions of a bucket (or of the keys
//! under a prefix) to the backup target, each under its own key.
//!
//! Config: `{ "prefix": "" (default), "propagate_deletes": false (default) }`. `prefix`
//! selects the source keys to mirror; the target path is always the key itself.
//!
//! - plan-changes, per event in order:
//!   - `created` of a version (not a delete marker) under the prefix → `copy(object, key)`;
//!   - `removed` of the latest version or of a delete marker (the key is gone or hidden) under
//!     the prefix → `delete(key)` when `propagate_deletes`; removal of a noncurrent version
//!     changes nothing in the mirror (the key still has its latest version).
//! - plan-full: `copy(object, key)` for every source object (not a delete marker) under the
//!   prefix whose target entry is missing or records a different ETag or version id; then,
//!   when `propagate_deletes`, `delete(path)` for every target entry under the prefix without
//!   a source object of that key. Copies come first, in source order; deletes follow, in
//!   target order.

use lakegate_sdk::{
    BackupPolicy, BackupStep, ChangeEvent, ChangeKind, ObjectVersion, TargetEntry, Timestamp,
};
use serde::Deserialize;
// BTree rather than Hash collections: `RandomState` would add a `wasi:random` import.
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    propagate_deletes: bool,
}

struct MirrorBackup {
    config: Config,
}

impl MirrorBackup {
    fn in_scope(&self, key: &str) -> bool {
        key.starts_with(&self.config.prefix)
    }
}

impl BackupPolicy for MirrorBackup {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(MirrorBackup { config })
    }

    fn plan_changes(&self, events: &[ChangeEvent], _now: Timestamp) -> Vec<BackupStep> {
        let mut steps = Vec::new();
        for event in events {
            let object = &event.object;
            if !self.in_scope(&object.key) {
                continue;
            }
            let gone = match event.kind {
                ChangeKind::Created => object.is_delete_marker,
                ChangeKind::Removed => object.is_latest || object.is_delete_marker,
            };
            if event.kind == ChangeKind::Created && !object.is_delete_marker {
                steps.push(BackupStep::copy(object.clone(), object.key.clone()));
            } else if gone && self.config.propagate_deletes {
                steps.push(BackupStep::delete(object.key.clone()));
            }
        }
        steps
    }

    fn plan_full(
        &self,
        objects: &[ObjectVersion],
        existing: &[TargetEntry],
        _now: Timestamp,
    ) -> Vec<BackupStep> {
        let by_path: BTreeMap<&str, &TargetEntry> =
            existing.iter().map(|e| (e.path.as_str(), e)).collect();
        let mut sources = BTreeSet::new();
        let mut steps = Vec::new();
        for object in objects {
            if object.is_delete_marker || !self.in_scope(&object.key) {
                continue;
            }
            sources.insert(object.key.as_str());
            let up_to_date = by_path
                .get(object.key.as_str())
                .is_some_and(|entry| entry.is_copy_of(object));
            if !up_to_date {
                steps.push(BackupStep::copy(object.clone(), object.key.clone()));
            }
        }
        if self.config.propagate_deletes {
            for entry in existing {
                if self.in_scope(&entry.path) && !sources.contains(entry.path.as_str()) {
                    steps.push(BackupStep::delete(entry.path.clone()));
                }
            }
        }
        steps
    }
}

lakegate_sdk::export_backup!(MirrorBackup);

#[cfg(test)]
mod tests {
    use super::*;
    use lakegate_sdk::parse_config;

    fn policy(json: &str) -> MirrorBackup {
        MirrorBackup::new(parse_config(json).unwrap()).unwrap()
    }

    fn obj(key: &str, etag: &str, version: &str) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            etag: etag.into(),
            version_id: version.into(),
            is_latest: true,
            ..Default::default()
        }
    }

    fn entry(path: &str, etag: &str, version: &str) -> TargetEntry {
        TargetEntry {
            path: path.into(),
            source_key: path.into(),
            size: 1,
            source_etag: etag.into(),
            source_version_id: version.into(),
        }
    }

    fn paths(steps: &[BackupStep]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                BackupStep::Copy { path, .. } => format!("copy {path}"),
                BackupStep::Delete { path } => format!("delete {path}"),
            })
            .collect()
    }

    #[test]
    fn changes() {
        let now = Timestamp::from_secs(0);
        let created = |o: ObjectVersion| ChangeEvent {
            kind: ChangeKind::Created,
            object: o,
        };
        let removed = |o: ObjectVersion| ChangeEvent {
            kind: ChangeKind::Removed,
            object: o,
        };
        let marker = ObjectVersion {
            is_delete_marker: true,
            ..obj("b", "", "v2")
        };
        let noncurrent = ObjectVersion {
            is_latest: false,
            ..obj("c", "e", "v0")
        };
        let events = [
            created(obj("a", "e", "v1")),
            removed(marker),
            removed(noncurrent),
            removed(obj("d", "e", "v1")),
            created(obj("other/x", "e", "v1")),
        ];
        let keep = policy(r#"{}"#);
        assert_eq!(
            paths(&keep.plan_changes(&events, now)),
            ["copy a", "copy other/x"]
        );
        let prop = policy(r#"{"propagate_deletes": true}"#);
        assert_eq!(
            paths(&prop.plan_changes(&events, now)),
            ["copy a", "delete b", "delete d", "copy other/x"]
        );
        let scoped = policy(r#"{"prefix": "other/", "propagate_deletes": true}"#);
        assert_eq!(paths(&scoped.plan_changes(&events, now)), ["copy other/x"]);
    }

    #[test]
    fn full() {
        let now = Timestamp::from_secs(0);
        let objects = [
            obj("same", "e1", "v1"),
            obj("changed", "e2", "v2"),
            obj("new", "e3", "v3"),
            ObjectVersion {
                is_delete_marker: true,
                ..obj("hidden", "", "v4")
            },
        ];
        let existing = [
            entry("same", "e1", "v1"),
            entry("changed", "e2", "v1"),
            entry("orphan", "e9", "v9"),
            entry("hidden", "e8", "v3"),
        ];
        let keep = policy(r#"{"prefix": ""}"#);
        assert_eq!(
            paths(&keep.plan_full(&objects, &existing, now)),
            ["copy changed", "copy new"]
        );
        let prop = policy(r#"{"propagate_deletes": true}"#);
        assert_eq!(
            paths(&prop.plan_full(&objects, &existing, now)),
            ["copy changed", "copy new", "delete orphan", "delete hidden"]
        );
        let scoped = policy(r#"{"prefix": "ne", "propagate_deletes": true}"#);
        assert_eq!(
            paths(&scoped.plan_full(&objects, &existing, now)),
            ["copy new"]
        );
    }

    #[test]
    fn config_errors() {
        let e = parse_config::<Config>(r#"{"propagate_deletes": "yes"}"#).unwrap_err();
        assert_eq!(
            e,
            "invalid config: propagate_deletes: invalid type: string \"yes\", expected a boolean"
        );
    }
}
