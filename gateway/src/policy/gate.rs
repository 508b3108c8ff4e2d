//! The gate a new version of a binding passes before it may serve, and the decision diff of a
//! candidate against the serving version.
//!
//! A new version (another plugin, or the same plugin with another configuration) that loaded
//! and passed its self-check still decides on synthetic input only. Before it replaces a version
//! that serves the bucket (or goes live through the admin API), the registry runs it here:
//!
//! 1. **Suites**: every snapshot suite of the policies directory whose `binding` is this binding
//!    file is rendered with the new version. A failed call (a line `error: …`) refuses it.
//!    Decisions that differ from the stored snapshot are reported, not refused: the author's
//!    `lakegate policy test` compares snapshots, the gate protects the bucket.
//! 2. **Canary**: the new version decides on a sample of the bucket's real versions (the first
//!    [`Limits::canary_objects`](super::Limits::canary_objects) in key order): retention on each
//!    latest version, lifecycle on the whole sample, backup a full plan of its latest versions.
//!    A trap, an exhausted time budget or memory, or an answer the host refuses, refuses it,
//!    naming the key that fails on its own.
//!
//! The gate calls a separate instance of the candidate (its own counters, never quarantined),
//! so the version that goes live starts with clean statistics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::bindings::Binding;
use super::suite;
use super::types::{BackupStep, LifecycleItem, Millis, ObjectVersion, PolicyKind};
use super::{LoadOptions, LoadedPlugin, PolicyEngine, PolicyError};
use crate::clock::Clock;
use crate::store::Store;

/// The most versions a preview decides on (both versions each).
pub const PREVIEW_OBJECTS: usize = 1000;
/// The most changed decisions a preview lists (the counts are complete).
pub const PREVIEW_CHANGES: usize = 200;

/// Where the canary and the preview take the bucket's versions and the time from.
#[derive(Clone)]
pub struct LiveData {
    pub store: Arc<Store>,
    pub clock: Arc<Clock>,
}

/// What the gate found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GateReport {
    /// Whether the new version may serve.
    pub passed: bool,
    pub suites: Vec<SuiteRun>,
    pub canary: CanaryRun,
    /// Why it was refused (the first failure), when it was.
    pub refusal: Option<String>,
}

/// One suite run by the gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuiteRun {
    /// The suite file, relative to the policies directory.
    pub suite: String,
    /// `pass` (the snapshot's decisions), `changed` (other decisions: reported, not refused),
    /// `missing` (no snapshot), `error` (a call failed: refused).
    pub outcome: &'static str,
    /// The failing line, or empty.
    pub detail: String,
}

/// The canary's run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CanaryRun {
    /// Versions of the bucket the new version decided on.
    pub sampled: usize,
    /// Why the canary did not run (off, no live data, an empty or missing bucket).
    pub skipped: Option<String>,
    /// The failure that refused the new version.
    pub error: Option<String>,
}

/// Loads a separate instance of a candidate for probing: no self-check (the serving load did
/// it), never quarantined, one instance.
pub fn probe(
    engine: &PolicyEngine,
    binding: &Binding,
    wasm: &[u8],
    name: &str,
) -> Result<LoadedPlugin, PolicyError> {
    let mut limits = binding.limits;
    limits.quarantine_after = 0;
    limits.max_instances = 1;
    engine.load_with(
        binding.kind,
        wasm,
        &binding.config_json(),
        limits,
        &format!("gate {name}"),
        LoadOptions {
            self_check: false,
            bucket: Some(binding.bucket.clone()),
        },
    )
}

/// Runs the gate for binding file `file` (absolute; named `name`) with the candidate `plugin`
/// (a [`probe`]). Blocking: call it on the blocking pool.
pub fn run(
    dir: Option<&Path>,
    file: &Path,
    binding: &Binding,
    plugin: &LoadedPlugin,
    live: Option<&LiveData>,
) -> GateReport {
    let short = &plugin.hash()[..plugin.hash().len().min(12)];
    let mut report = GateReport::default();
    if let Some(dir) = dir {
        report.suites = run_suites(dir, file, plugin);
        if let Some(bad) = report.suites.iter().find(|s| s.outcome == "error") {
            report.refusal = Some(format!(
                "suite {} refused {short}: {}",
                bad.suite, bad.detail
            ));
        }
    }
    report.canary = match live {
        None => CanaryRun {
            skipped: Some("no bucket data here".into()),
            ..Default::default()
        },
        Some(_) if binding.limits.canary_objects == 0 => CanaryRun {
            skipped: Some("off (limits.canary_objects = 0)".into()),
            ..Default::default()
        },
        Some(live) => canary(binding, plugin, live),
    };
    if report.refusal.is_none()
        && let Some(e) = &report.canary.error
    {
        report.refusal = Some(format!("canary refused {short}: {e}"));
    }
    report.passed = report.refusal.is_none();
    report
}

/// The suites whose binding is `file`, rendered with `plugin`.
fn run_suites(dir: &Path, file: &Path, plugin: &LoadedPlugin) -> Vec<SuiteRun> {
    let same = |p: &Path| canonical(p) == canonical(file);
    let mut out = Vec::new();
    for path in suite::find_suites(dir).unwrap_or_default() {
        // A suite that does not parse names no binding the gate can trust; `policy test`
        // reports it.
        let Ok(s) = suite::load(&path) else { continue };
        if !s.binding_file.as_deref().is_some_and(same) || s.kind != plugin.kind() {
            continue;
        }
        let rendered = suite::render(&s, plugin);
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let failed = rendered
            .lines()
            .find(|l| l.contains("-> error: ") || l.trim_start().starts_with("error: "));
        let (outcome, detail) = match failed {
            Some(line) => ("error", line.trim().trim_start_matches("- ").to_string()),
            None => match suite::matches_snapshot(&s, &rendered) {
                Some(true) => ("pass", String::new()),
                Some(false) => ("changed", String::new()),
                None => ("missing", String::new()),
            },
        };
        out.push(SuiteRun {
            suite: name,
            outcome,
            detail,
        });
    }
    out
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Up to `max` versions of `bucket` in key order (newest first within a key), as policies see
/// them. Blocking.
pub fn sample(store: &Store, bucket: &str, max: usize) -> Result<Vec<ObjectVersion>, String> {
    let page = store
        .scan_versions(bucket, "", b"", None, max)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(page.len());
    let mut i = 0;
    while i < page.len() {
        let key = &page[i].0;
        let end = page[i..]
            .iter()
            .position(|(k, _)| k != key)
            .map_or(page.len(), |n| i + n);
        let group = &page[i..end];
        for (j, (_, v)) in group.iter().enumerate() {
            let noncurrent_since = (j > 0).then(|| group[j - 1].1.last_modified);
            out.push(ObjectVersion::of_version(
                bucket,
                key,
                v,
                j as u32,
                (group.len() - 1 - j) as u32,
                noncurrent_since,
            ));
        }
        i = end;
    }
    Ok(out)
}

fn canary(binding: &Binding, plugin: &LoadedPlugin, live: &LiveData) -> CanaryRun {
    let objects = match sample(&live.store, &binding.bucket, binding.limits.canary_objects) {
        Ok(o) => o,
        Err(e) => {
            return CanaryRun {
                skipped: Some(format!("cannot read the bucket: {e}")),
                ..Default::default()
            };
        }
    };
    if objects.is_empty() {
        return CanaryRun {
            skipped: Some("the bucket has no objects".into()),
            ..Default::default()
        };
    }
    let now = live.clock.now();
    let latest: Vec<&ObjectVersion> = objects
        .iter()
        .filter(|o| o.is_latest && !o.is_delete_marker)
        .collect();
    let error = match binding.kind {
        PolicyKind::Retention => latest.iter().find_map(|o| {
            plugin
                .retention(o, now)
                .err()
                .map(|e| format!("{}: {}", suite::version_label(o), suite::error_line(&e)))
        }),
        PolicyKind::Lifecycle => {
            let items: Vec<LifecycleItem> = objects
                .iter()
                .cloned()
                .map(LifecycleItem::Version)
                .collect();
            plugin.lifecycle(&items, now).err().map(|e| {
                culprit(&objects, &e, "versions", |o| {
                    plugin
                        .lifecycle(&[LifecycleItem::Version(o.clone())], now)
                        .err()
                })
            })
        }
        PolicyKind::Backup => {
            let owned: Vec<ObjectVersion> = latest.iter().map(|o| (*o).clone()).collect();
            plugin.backup_full(&owned, &[], now).err().map(|e| {
                culprit(&owned, &e, "objects", |o| {
                    plugin.backup_full(std::slice::from_ref(o), &[], now).err()
                })
            })
        }
    };
    CanaryRun {
        sampled: objects.len(),
        skipped: None,
        error,
    }
}

/// After a batch failed with `batch_error`: the first version that fails on its own, named with
/// its error, else the batch's error.
fn culprit(
    objects: &[ObjectVersion],
    batch_error: &PolicyError,
    what: &str,
    alone: impl Fn(&ObjectVersion) -> Option<PolicyError>,
) -> String {
    objects
        .iter()
        .find_map(|o| {
            alone(o).map(|e| format!("{}: {}", suite::version_label(o), suite::error_line(&e)))
        })
        .unwrap_or_else(|| {
            format!(
                "a batch of {} {what}: {}",
                objects.len(),
                suite::error_line(batch_error)
            )
        })
}

/// One decision that differs between the serving version and a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionChange {
    pub key: String,
    pub version_id: String,
    pub serving: String,
    pub candidate: String,
}

/// The decisions of `plugin` (or "nothing serves") on `objects`, one text per (key, version).
pub fn decisions(
    kind: PolicyKind,
    plugin: Option<&LoadedPlugin>,
    objects: &[ObjectVersion],
    now: Millis,
) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let id = |o: &ObjectVersion| (o.key.clone(), o.version_id.clone());
    let Some(plugin) = plugin else {
        for o in objects {
            out.insert(id(o), "no policy".to_string());
        }
        return out;
    };
    match kind {
        PolicyKind::Retention => {
            for o in objects
                .iter()
                .filter(|o| o.is_latest && !o.is_delete_marker)
            {
                let text = match plugin.retention(o, now) {
                    Ok(d) => {
                        let mut t = match &d.retention {
                            Some(r) => suite::retention_text(r, now),
                            None => "no retention".to_string(),
                        };
                        if d.legal_hold {
                            t.push_str(", legal hold");
                        }
                        t
                    }
                    Err(e) => format!("error: {}", suite::error_line(&e)),
                };
                out.insert(id(o), text);
            }
        }
        PolicyKind::Lifecycle => {
            let items: Vec<LifecycleItem> = objects
                .iter()
                .cloned()
                .map(LifecycleItem::Version)
                .collect();
            match plugin.lifecycle(&items, now) {
                Ok(actions) => {
                    for (o, a) in objects.iter().zip(actions) {
                        out.insert(id(o), suite::action_name(a).to_string());
                    }
                }
                Err(e) => {
                    let text = format!("error: {}", suite::error_line(&e));
                    for o in objects {
                        out.insert(id(o), text.clone());
                    }
                }
            }
        }
        PolicyKind::Backup => {
            let latest: Vec<ObjectVersion> = objects
                .iter()
                .filter(|o| o.is_latest && !o.is_delete_marker)
                .cloned()
                .collect();
            match plugin.backup_full(&latest, &[], now) {
                Ok(steps) => {
                    for o in &latest {
                        out.insert(id(o), "not copied".to_string());
                    }
                    for s in steps {
                        if let BackupStep::Copy { object, path } = s {
                            out.insert(id(&object), format!("copy to {path}"));
                        }
                    }
                }
                Err(e) => {
                    let text = format!("error: {}", suite::error_line(&e));
                    for o in &latest {
                        out.insert(id(o), text.clone());
                    }
                }
            }
        }
    }
    out
}

/// The decisions that differ between two [`decisions`] maps.
pub fn diff(
    serving: &BTreeMap<(String, String), String>,
    candidate: &BTreeMap<(String, String), String>,
) -> Vec<DecisionChange> {
    candidate
        .iter()
        .filter_map(|((key, version_id), c)| {
            let s = serving.get(&(key.clone(), version_id.clone()))?;
            (s != c).then(|| DecisionChange {
                key: key.clone(),
                version_id: version_id.clone(),
                serving: s.clone(),
                candidate: c.clone(),
            })
        })
        .collect()
}
