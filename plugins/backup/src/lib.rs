//! # `lakegate-plugin-backup`: mirror a bucket (or a prefix of it) to the backup target
//!
//! The backup policy lakegate ships (`plugin = "builtin:backup"`). It plans which latest
//! versions to copy to the backup target, under which path, and which target paths to delete.
//! The host runs the plan (and owns the schedule, the target and its generations).
//!
//! ## Configuration
//!
//! ```toml
//! [config]
//! prefix = ""                # only source keys under this prefix are backed up (default: all)
//! propagate_deletes = true   # delete target paths whose source is gone (default: false)
//! path_prefix = ""           # target path = path_prefix + key (default: the key itself)
//! ```
//!
//! | field | type | default | meaning |
//! | --- | --- | --- | --- |
//! | `prefix` | string | `""` | source keys to back up |
//! | `propagate_deletes` | bool | `false` | mirror deletions: remove target entries whose source object is gone (or no longer under `prefix`) |
//! | `path_prefix` | string | `""` | prepended to the key to form the target path, verbatim (`"nightly/"` puts `raw/a` at `nightly/raw/a`; without a trailing slash it is a plain string prefix) |
//!
//! `path_prefix` must itself be a valid start of a relative path: no leading `/`, no control
//! characters, no empty, `.` or `..` segment. Unknown fields are refused
//! (`invalid config: unknown field …`). The target entries under `path_prefix` belong to this
//! policy: with `propagate_deletes` it deletes the ones it does not account for, so two
//! bindings should not share one `path_prefix` of the same target.
//!
//! ## Plans
//!
//! **Target paths**: `path_prefix + key`. A key that would make an invalid relative path (one
//! with an empty, `.` or `..` segment such as `a//b`, `./a` or `a/../b`, a leading `/`, a
//! control character, more than 1024 bytes, or a "folder" key ending in `/`) is skipped with a
//! warning in the gateway's log instead of failing the whole plan. The rule is the host's own
//! (`gateway/src/policy/target_path.rs`, compiled into this plugin).
//!
//! **Full run** (`plan-full(objects, existing)`, one page of the source bucket's latest
//! versions sorted by key, and the target entries whose source key lies in the same key range):
//!
//! 1. For each object under `prefix` (delete markers count as absent): `copy(object, path)`
//!    unless the target already holds a copy of exactly this version at `path` (same source
//!    key, ETag and version id). Unchanged objects produce nothing, so repeated runs are
//!    idempotent.
//! 2. With `propagate_deletes`: `delete(path)` for every existing entry under `path_prefix`
//!    that is not the path of one of those objects — its source object is gone, hidden by a
//!    delete marker, no longer under `prefix`, or was stored under another path. Entries
//!    outside `path_prefix` are never touched.
//!
//! Copies come first, in source order; deletes follow, in target order; no path appears twice.
//!
//! **Changes** (`plan-changes(events)`, in event order, keys under `prefix` only):
//!
//! - `created` (a new latest version was written) → `copy(object, path)`.
//! - `removed` (a version was removed, or a delete marker became the latest) → with
//!   `propagate_deletes`, `delete(path)`. Except: the removal of a *noncurrent* version (one
//!   with newer versions) changes nothing visible and plans nothing. When removing the latest
//!   version uncovers an older one, the target briefly lacks the key; the next full run copies
//!   the uncovered version.

use lakegate_sdk::{
    BackupPolicy, BackupStep, ChangeEvent, ChangeKind, ObjectVersion, TargetEntry, Timestamp, log,
};
use serde::Deserialize;
// BTree rather than Hash collections: `RandomState` would add a `wasi:random` import.
use std::collections::{BTreeMap, BTreeSet};

// The host's target path rule, compiled from the gateway's own source: host, backup target and
// this plugin share one rule.
#[path = "../../../gateway/src/policy/target_path.rs"]
#[allow(dead_code)] // `EmptySegments::TrailingOnly` is the backup target's mode, not ours.
mod target_path;
use target_path::{EmptySegments, TargetPathError, check_target_path};

/// The binding's configuration (see the crate documentation).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Only source keys under this prefix are backed up.
    #[serde(default)]
    pub prefix: String,
    /// Delete target entries whose source object is gone.
    #[serde(default)]
    pub propagate_deletes: bool,
    /// Prepended to the key to form the target path.
    #[serde(default)]
    pub path_prefix: String,
}

/// The backup policy.
#[derive(Debug)]
pub struct MirrorBackup {
    config: Config,
}

impl MirrorBackup {
    fn in_scope(&self, key: &str) -> bool {
        key.starts_with(&self.config.prefix)
    }

    /// The target path of `key`, if it makes a valid one (else a warning is logged).
    fn target_path(&self, key: &str) -> Option<String> {
        let path = format!("{}{key}", self.config.path_prefix);
        match check_target_path(&path, EmptySegments::Refused) {
            Ok(()) => Some(path),
            Err(why) => {
                log::warn!("backup: skipping key {key:?}: its target path {path:?} {why}");
                None
            }
        }
    }

    fn copy(&self, object: &ObjectVersion) -> Option<BackupStep> {
        let path = self.target_path(&object.key)?;
        Some(BackupStep::copy(object.clone(), path))
    }

    fn delete(&self, key: &str) -> Option<BackupStep> {
        if !self.config.propagate_deletes {
            return None;
        }
        Some(BackupStep::delete(self.target_path(key)?))
    }
}

impl BackupPolicy for MirrorBackup {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if !config.path_prefix.is_empty() {
            // The prefix is valid if some key can follow it.
            let probe = format!("{}x", config.path_prefix);
            if let Err(e) = check_target_path(&probe, EmptySegments::Refused) {
                let why = match e {
                    TargetPathError::TooLong => "is too long".to_string(),
                    e => e.to_string(),
                };
                return Err(format!(
                    "path_prefix: {:?} {why} (target paths must be relative, without empty, . or .. segments)",
                    config.path_prefix
                ));
            }
        }
        log::debug!(
            "backup: {:?} → {:?}, propagate deletes: {}",
            config.prefix,
            config.path_prefix,
            config.propagate_deletes
        );
        Ok(MirrorBackup { config })
    }

    fn plan_changes(&self, events: &[ChangeEvent], _now: Timestamp) -> Vec<BackupStep> {
        let mut steps = Vec::new();
        for event in events {
            let object = &event.object;
            if !self.in_scope(&object.key) {
                continue;
            }
            let step = match event.kind {
                ChangeKind::Created if !object.is_delete_marker => self.copy(object),
                _ if !object.is_latest && object.newer_versions > 0 => {
                    log::debug!(
                        "backup: {:?} [{}] was noncurrent; its key is unchanged",
                        object.key,
                        object.version_id
                    );
                    None
                }
                _ => self.delete(&object.key),
            };
            steps.extend(step);
        }
        steps
    }

    fn plan_full(
        &self,
        objects: &[ObjectVersion],
        existing: &[TargetEntry],
        _now: Timestamp,
    ) -> Vec<BackupStep> {
        let mut by_path: BTreeMap<&str, &TargetEntry> = BTreeMap::new();
        for entry in existing {
            by_path.entry(entry.path.as_str()).or_insert(entry);
        }
        let mut accounted: BTreeSet<String> = BTreeSet::new();
        let mut steps = Vec::new();
        for object in objects {
            if object.is_delete_marker || !self.in_scope(&object.key) {
                continue;
            }
            let Some(path) = self.target_path(&object.key) else {
                continue;
            };
            if accounted.contains(&path) {
                continue;
            }
            let up_to_date = by_path
                .get(path.as_str())
                .is_some_and(|e| e.source_key == object.key && e.is_copy_of(object));
            if !up_to_date {
                steps.push(BackupStep::copy(object.clone(), path.clone()));
            }
            accounted.insert(path);
        }
        if self.config.propagate_deletes {
            for entry in existing {
                let path = entry.path.as_str();
                if !path.starts_with(&self.config.path_prefix) || accounted.contains(path) {
                    continue;
                }
                if let Err(why) = check_target_path(path, EmptySegments::Allowed) {
                    log::warn!("backup: not deleting target entry {path:?}: the path {why}");
                    continue;
                }
                accounted.insert(path.to_string());
                steps.push(BackupStep::delete(path));
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

    const NOW: Timestamp = Timestamp::from_secs(1_767_225_600);

    fn policy(json: &str) -> MirrorBackup {
        MirrorBackup::new(parse_config(json).unwrap()).unwrap()
    }

    fn config_error(json: &str) -> String {
        match parse_config::<Config>(json) {
            Err(e) => e,
            Ok(c) => MirrorBackup::new(c).map(|_| ()).unwrap_err(),
        }
    }

    fn obj(key: &str, etag: &str, version: &str) -> ObjectVersion {
        ObjectVersion {
            key: key.into(),
            etag: etag.into(),
            version_id: version.into(),
            size: 10,
            is_latest: true,
            ..Default::default()
        }
    }

    fn entry(path: &str, key: &str, etag: &str, version: &str) -> TargetEntry {
        TargetEntry {
            path: path.into(),
            source_key: key.into(),
            size: 10,
            source_etag: etag.into(),
            source_version_id: version.into(),
        }
    }

    fn plan(steps: &[BackupStep]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                BackupStep::Copy { object, path } => {
                    format!("copy {}@{} -> {path}", object.key, object.version_id)
                }
                BackupStep::Delete { path } => format!("delete {path}"),
            })
            .collect()
    }

    fn created(o: ObjectVersion) -> ChangeEvent {
        ChangeEvent {
            kind: ChangeKind::Created,
            object: o,
        }
    }

    fn removed(o: ObjectVersion) -> ChangeEvent {
        ChangeEvent {
            kind: ChangeKind::Removed,
            object: o,
        }
    }

    #[test]
    fn full_run_copies_new_and_changed_and_deletes_orphans() {
        let objects = [
            obj("a/changed-etag", "e2", "v1"),
            obj("a/changed-version", "e1", "v2"),
            obj("a/new", "e3", "v3"),
            obj("a/same", "e1", "v1"),
            ObjectVersion {
                is_delete_marker: true,
                ..obj("a/hidden", "", "v9")
            },
        ];
        let existing = [
            entry("a/changed-etag", "a/changed-etag", "e1", "v1"),
            entry("a/changed-version", "a/changed-version", "e1", "v1"),
            entry("a/gone", "a/gone", "e1", "v1"),
            entry("a/hidden", "a/hidden", "e1", "v1"),
            entry("a/same", "a/same", "e1", "v1"),
        ];
        let keep = policy("{}");
        assert_eq!(
            plan(&keep.plan_full(&objects, &existing, NOW)),
            [
                "copy a/changed-etag@v1 -> a/changed-etag",
                "copy a/changed-version@v2 -> a/changed-version",
                "copy a/new@v3 -> a/new",
            ]
        );
        let mirror = policy(r#"{"propagate_deletes": true}"#);
        assert_eq!(
            plan(&mirror.plan_full(&objects, &existing, NOW)),
            [
                "copy a/changed-etag@v1 -> a/changed-etag",
                "copy a/changed-version@v2 -> a/changed-version",
                "copy a/new@v3 -> a/new",
                "delete a/gone",
                "delete a/hidden",
            ]
        );
    }

    #[test]
    fn incremental_runs_are_idempotent() {
        let p = policy(r#"{"propagate_deletes": true, "path_prefix": "nightly/"}"#);
        let objects = [obj("x", "e", "1"), obj("y/z", "f", "2")];
        let first = p.plan_full(&objects, &[], NOW);
        assert_eq!(
            plan(&first),
            ["copy x@1 -> nightly/x", "copy y/z@2 -> nightly/y/z"]
        );
        // The target after the first run.
        let existing: Vec<TargetEntry> = first
            .iter()
            .filter_map(|s| match s {
                BackupStep::Copy { object, path } => {
                    Some(entry(path, &object.key, &object.etag, &object.version_id))
                }
                BackupStep::Delete { .. } => None,
            })
            .collect();
        assert!(p.plan_full(&objects, &existing, NOW).is_empty());
    }

    #[test]
    fn prefix_and_path_prefix() {
        let p = policy(r#"{"prefix": "tables/", "propagate_deletes": true, "path_prefix": "bk/"}"#);
        let objects = [obj("scratch/x", "e", "1"), obj("tables/t", "e", "1")];
        let existing = [
            // No longer under `prefix`: deleted.
            entry("bk/scratch/old", "scratch/old", "e", "1"),
            // Outside `path_prefix`: not ours, never touched.
            entry("other/tables/t", "tables/t", "e", "1"),
            // Stored under another path than the one the object maps to now: deleted.
            entry("bk/tables/t.old", "tables/t", "e", "1"),
        ];
        assert_eq!(
            plan(&p.plan_full(&objects, &existing, NOW)),
            [
                "copy tables/t@1 -> bk/tables/t",
                "delete bk/scratch/old",
                "delete bk/tables/t.old",
            ]
        );
        // An entry at the right path recording another source key is overwritten.
        let existing = [entry("bk/tables/t", "tables/u", "e", "1")];
        assert_eq!(
            plan(&p.plan_full(&objects, &existing, NOW)),
            ["copy tables/t@1 -> bk/tables/t"]
        );
    }

    #[test]
    fn keys_that_make_invalid_paths_are_skipped() {
        let p = policy(r#"{"propagate_deletes": true}"#);
        let objects = [
            obj("a//b", "e", "1"),
            obj("./a", "e", "1"),
            obj("a/../b", "e", "1"),
            obj("a/./b", "e", "1"),
            obj("/abs", "e", "1"),
            obj("dir/", "e", "1"),
            obj("ctl\u{7}", "e", "1"),
            obj("back\\..\\slash", "e", "1"),
            obj(&"k".repeat(1025), "e", "1"),
            obj("fine/...", "e", "1"),
            obj("ok", "e", "1"),
        ];
        assert_eq!(
            plan(&p.plan_full(&objects, &[], NOW)),
            ["copy fine/...@1 -> fine/...", "copy ok@1 -> ok"]
        );
        let events: Vec<ChangeEvent> = objects.iter().cloned().map(created).collect();
        assert_eq!(
            plan(&p.plan_changes(&events, NOW)),
            ["copy fine/...@1 -> fine/...", "copy ok@1 -> ok"]
        );
        // Existing entries the host accepted (an empty segment) can still be deleted; paths
        // the host would refuse are left alone.
        let existing = [
            entry("x//y", "x//y", "e", "1"),
            entry("../up", "../up", "e", "1"),
        ];
        assert_eq!(plan(&p.plan_full(&[], &existing, NOW)), ["delete x//y"]);
    }

    #[test]
    fn duplicates_are_planned_once() {
        let p = policy(r#"{"propagate_deletes": true}"#);
        let objects = [obj("a", "e", "1"), obj("a", "e", "1")];
        let existing = [entry("z", "z", "e", "1"), entry("z", "z", "e", "1")];
        assert_eq!(
            plan(&p.plan_full(&objects, &existing, NOW)),
            ["copy a@1 -> a", "delete z"]
        );
    }

    #[test]
    fn changes() {
        let marker = ObjectVersion {
            is_delete_marker: true,
            ..obj("b", "", "v2")
        };
        let noncurrent = ObjectVersion {
            is_latest: false,
            newer_versions: 1,
            ..obj("c", "e", "v0")
        };
        let noncurrent_marker = ObjectVersion {
            is_delete_marker: true,
            ..noncurrent.clone()
        };
        let events = [
            created(obj("a", "e", "v1")),
            removed(marker.clone()),
            removed(noncurrent),
            removed(noncurrent_marker),
            removed(obj("d", "e", "v1")),
            // A removal the host describes without version details: the key is gone.
            removed(ObjectVersion {
                is_latest: false,
                ..obj("f", "", "")
            }),
            created(obj("other/x", "e", "v1")),
            created(marker),
        ];
        let keep = policy("{}");
        assert_eq!(
            plan(&keep.plan_changes(&events, NOW)),
            ["copy a@v1 -> a", "copy other/x@v1 -> other/x"]
        );
        let mirror = policy(r#"{"propagate_deletes": true, "path_prefix": "m/"}"#);
        assert_eq!(
            plan(&mirror.plan_changes(&events, NOW)),
            [
                "copy a@v1 -> m/a",
                "delete m/b",
                "delete m/d",
                "delete m/f",
                "copy other/x@v1 -> m/other/x",
                "delete m/b",
            ]
        );
        let scoped = policy(r#"{"prefix": "other/", "propagate_deletes": true}"#);
        assert_eq!(
            plan(&scoped.plan_changes(&events, NOW)),
            ["copy other/x@v1 -> other/x"]
        );
        assert!(mirror.plan_changes(&[], NOW).is_empty());
    }

    #[test]
    fn config() {
        let c = parse_config::<Config>("").unwrap();
        assert_eq!(
            (
                c.prefix.as_str(),
                c.propagate_deletes,
                c.path_prefix.as_str()
            ),
            ("", false, "")
        );
        for ok in ["backup/", "a/b/", "nightly-", "x"] {
            let json = format!(r#"{{"path_prefix": "{ok}"}}"#);
            assert!(
                MirrorBackup::new(parse_config(&json).unwrap()).is_ok(),
                "{ok}"
            );
        }
        assert_eq!(
            config_error(r#"{"path_prefix": "/abs/"}"#),
            "path_prefix: \"/abs/\" starts with / (target paths must be relative, without empty, . or .. segments)"
        );
        assert_eq!(
            config_error(r#"{"path_prefix": "a//"}"#),
            "path_prefix: \"a//\" has an empty segment (target paths must be relative, without empty, . or .. segments)"
        );
        assert_eq!(
            config_error(r#"{"path_prefix": "../"}"#),
            "path_prefix: \"../\" has a . or .. segment (target paths must be relative, without empty, . or .. segments)"
        );
        assert!(
            config_error(&format!(r#"{{"path_prefix": "{}"}}"#, "p".repeat(1024)))
                .contains("is too long")
        );
        assert_eq!(
            config_error(r#"{"propagate_deletes": "yes"}"#),
            "invalid config: propagate_deletes: invalid type: string \"yes\", expected a boolean"
        );
        let e = config_error(r#"{"target": "s3://x"}"#);
        assert!(
            e.starts_with("invalid config: target: unknown field `target`"),
            "{e}"
        );
    }
}
