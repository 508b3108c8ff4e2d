//! Snapshot suites: a fixed scenario fed to a real plugin through the real host, its decisions
//! rendered as a stable text document and compared with a stored snapshot.
//!
//! A suite is `<name>.suite.toml` (in the policies directory or any other):
//!
//! ```toml
//! binding = "bronze-retention.toml"   # a binding file, relative to this suite; or inline:
//! # kind = "retention"
//! # plugin = "plugins/retention.wasm"
//! # [config]
//! # days = 90
//! # [limits]
//! # time_budget_ms = 500
//! bucket = "bronze"                   # default: the binding's bucket, else "bucket"
//! now = "2026-01-01T00:00:00Z"        # the fixed clock every decision sees
//!
//! [[objects]]                         # versions (retention: one decide each; lifecycle: one batch;
//! key = "raw/a.parquet"               # backup: the objects of a full run)
//! size = 1024
//! age_days = 10                       # or last_modified = "2025-12-22T00:00:00Z"
//! version_id = "null"                 # default "null"
//! is_latest = true                    # default true
//! delete_marker = false
//! noncurrent_days = 3                 # noncurrent for 3 days (lifecycle)
//! newer_versions = 1                  # default 0 for the latest, else 1
//! older_versions = 0                  # default 0 (a latest delete marker with none is expired)
//! tags = { legal = "keep" }
//! metadata = { owner = "etl" }
//! retention = { mode = "GOVERNANCE", until = "2026-06-01T00:00:00Z" }
//! legal_hold = false
//! # also: etag, content_type, storage_class
//!
//! [[uploads]]                         # lifecycle: incomplete multipart uploads
//! key = "big.bin"
//! age_days = 8                        # or initiated = "..."; upload_id defaults to "upload-N"
//!
//! [[events]]                          # backup: change events (planned with plan-changes)
//! kind = "created"                    # or "removed"; then the object fields as above
//! key = "raw/a.parquet"
//!
//! [[target]]                          # backup: entries already in the target (plan-full)
//! path = "backup/raw/a.parquet"
//! size = 1024
//! source_etag = "..."
//! source_version_id = "null"
//! source_key = "raw/a.parquet"        # default: the path
//! ```
//!
//! The snapshot is `<name>.snap` beside the suite, in insta's file format (a `---` metadata
//! header, then the rendered document), so `cargo insta review` works on suites run from
//! `cargo test`, and `lakegate policy test` compares against and `--bless`es the same file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::bindings::{self, BindingError};
use super::limits::Limits;
use super::types::{
    BackupStep, ChangeEvent, ChangeKind, LifecycleAction, LifecycleItem, Millis, ObjectVersion,
    PolicyKind, PolicyUpload, Retention, RetentionMode, TargetEntry,
};
use super::{LoadedPlugin, PolicyEngine};
use crate::clock::{Fraction, iso8601};

const DAY_MS: f64 = 86_400_000.0;

/// The suffix of snapshot files.
const SNAPSHOT_SUFFIX: &str = ".snap";

/// A suite that could not be read, parsed, or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SuiteError(pub String);

impl From<BindingError> for SuiteError {
    fn from(e: BindingError) -> Self {
        SuiteError(e.to_string())
    }
}

/// A parsed suite, ready to run.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The file name without `.suite.toml`; also the snapshot's name.
    pub name: String,
    pub file: PathBuf,
    /// The binding file the suite runs (`binding = "..."`, resolved against the suite's
    /// directory); `None` for a suite that names its plugin and configuration itself.
    pub binding_file: Option<PathBuf>,
    pub kind: PolicyKind,
    pub plugin: PathBuf,
    pub config_json: String,
    pub limits: Limits,
    pub bucket: String,
    pub now: Millis,
    pub objects: Vec<ObjectVersion>,
    pub uploads: Vec<PolicyUpload>,
    pub events: Vec<ChangeEvent>,
    pub target: Vec<TargetEntry>,
}

impl Suite {
    /// Where this suite's snapshot lives: `<dir>/<name>.snap`.
    pub fn snapshot_path(&self) -> PathBuf {
        self.file
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("{}{SNAPSHOT_SUFFIX}", self.name))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    binding: Option<String>,
    kind: Option<String>,
    plugin: Option<String>,
    config: Option<toml::Table>,
    limits: Option<toml::Table>,
    bucket: Option<String>,
    now: toml::Value,
    #[serde(default)]
    objects: Vec<RawObject>,
    #[serde(default)]
    uploads: Vec<RawUpload>,
    #[serde(default)]
    events: Vec<RawEvent>,
    #[serde(default)]
    target: Vec<RawTarget>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn get(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawObject {
    key: String,
    #[serde(default)]
    size: u64,
    age_days: Option<Number>,
    last_modified: Option<toml::Value>,
    version_id: Option<String>,
    is_latest: Option<bool>,
    #[serde(default)]
    delete_marker: bool,
    noncurrent_days: Option<Number>,
    noncurrent_since: Option<toml::Value>,
    newer_versions: Option<u32>,
    older_versions: Option<u32>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    retention: Option<RawRetention>,
    #[serde(default)]
    legal_hold: bool,
    etag: Option<String>,
    content_type: Option<String>,
    storage_class: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    mode: String,
    until: toml::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpload {
    key: String,
    upload_id: Option<String>,
    age_days: Option<Number>,
    initiated: Option<toml::Value>,
}

#[derive(Deserialize)]
struct RawEvent {
    kind: String,
    #[serde(flatten)]
    object: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    path: String,
    /// Defaults to the path.
    source_key: Option<String>,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    source_etag: String,
    #[serde(default)]
    source_version_id: String,
}

/// Parses an RFC 3339 timestamp (a TOML datetime or a string) to milliseconds.
fn parse_time(v: &toml::Value, what: &str) -> Result<Millis, SuiteError> {
    let s = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => {
            return Err(SuiteError(format!(
                "{what}: expected an RFC 3339 timestamp, got {other}"
            )));
        }
    };
    let s = s.trim();
    // A bare date means midnight UTC.
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    chrono::DateTime::parse_from_rfc3339(&full)
        .map(|d| d.timestamp_millis())
        .map_err(|e| {
            SuiteError(format!(
                "{what}: {s:?} is not an RFC 3339 timestamp with a time zone ({e})"
            ))
        })
}

/// A signed day count relative to `now`: `+90d`, `-3d`, `+1.5d`.
fn rel_days(t: Millis, now: Millis) -> String {
    let d = (t - now) as f64 / DAY_MS;
    if d.fract() == 0.0 {
        format!("{d:+}d")
    } else {
        format!("{d:+.2}d")
    }
}

fn days_before(now: Millis, days: f64) -> Millis {
    now - (days * DAY_MS).round() as Millis
}

impl RawObject {
    fn build(self, bucket: &str, now: Millis, what: &str) -> Result<ObjectVersion, SuiteError> {
        let last_modified = match (&self.age_days, &self.last_modified) {
            (Some(_), Some(_)) => {
                return Err(SuiteError(format!(
                    "{what}: set either age_days or last_modified, not both"
                )));
            }
            (Some(a), None) => days_before(now, a.get()),
            (None, Some(t)) => parse_time(t, &format!("{what}.last_modified"))?,
            (None, None) => now,
        };
        let is_latest = self.is_latest.unwrap_or(true);
        let noncurrent_since = match (&self.noncurrent_days, &self.noncurrent_since) {
            (Some(_), Some(_)) => {
                return Err(SuiteError(format!(
                    "{what}: set either noncurrent_days or noncurrent_since, not both"
                )));
            }
            (Some(d), None) => Some(days_before(now, d.get())),
            (None, Some(t)) => Some(parse_time(t, &format!("{what}.noncurrent_since"))?),
            (None, None) => None,
        };
        if is_latest && noncurrent_since.is_some() {
            return Err(SuiteError(format!(
                "{what}: a noncurrent time needs is_latest = false"
            )));
        }
        let retention = match self.retention {
            None => None,
            Some(r) => Some(Retention {
                mode: RetentionMode::parse(&r.mode.to_ascii_uppercase()).ok_or_else(|| {
                    SuiteError(format!(
                        "{what}.retention.mode: expected GOVERNANCE or COMPLIANCE, got {:?}",
                        r.mode
                    ))
                })?,
                retain_until: parse_time(&r.until, &format!("{what}.retention.until"))?,
            }),
        };
        let etag = self.etag.unwrap_or_else(|| {
            // A stable fake ETag derived from the key and size.
            let d = ring::digest::digest(
                &ring::digest::SHA256,
                format!("{}\0{}", self.key, self.size).as_bytes(),
            );
            hex::encode(&d.as_ref()[..16])
        });
        Ok(ObjectVersion {
            bucket: bucket.to_string(),
            key: self.key,
            version_id: self.version_id.unwrap_or_else(|| "null".into()),
            size: self.size,
            etag,
            content_type: self.content_type,
            last_modified,
            is_latest,
            is_delete_marker: self.delete_marker,
            user_metadata: self
                .metadata
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            tags: self.tags.into_iter().collect(),
            retention,
            legal_hold: self.legal_hold,
            storage_class: self.storage_class.unwrap_or_else(|| "STANDARD".into()),
            newer_versions: self.newer_versions.unwrap_or(if is_latest { 0 } else { 1 }),
            noncurrent_since,
            older_versions: self.older_versions.unwrap_or(0),
        })
    }
}

/// Reads and parses a suite file.
pub fn load(file: &Path) -> Result<Suite, SuiteError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| SuiteError(format!("{}: cannot read: {e}", file.display())))?;
    parse(file, &text)
}

/// Parses the text of suite file `file`.
pub fn parse(file: &Path, text: &str) -> Result<Suite, SuiteError> {
    let ctx = |e: SuiteError| SuiteError(format!("{}: {}", file.display(), e.0));
    let raw: RawSuite =
        toml::from_str(text).map_err(|e| SuiteError::from(BindingError::toml(file, text, &e)))?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(bindings::SUITE_SUFFIX))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            SuiteError(format!(
                "{}: a suite file's name must end in {}",
                file.display(),
                bindings::SUITE_SUFFIX
            ))
        })?
        .to_string();
    let binding_file = raw
        .binding
        .as_ref()
        .map(|b| bindings::resolve_relative(file, b));
    let (kind, plugin, config_json, limits, binding_bucket) = match &raw.binding {
        Some(b) => {
            if raw.kind.is_some() || raw.plugin.is_some() || raw.config.is_some() {
                return Err(ctx(SuiteError(
                    "set either binding or kind + plugin + [config], not both".into(),
                )));
            }
            let path = bindings::resolve_relative(file, b);
            let (binding, _) = bindings::load(&path)?;
            let limits = match &raw.limits {
                Some(t) => bindings::parse_limits(file, Some(t))?,
                None => binding.limits,
            };
            (
                binding.kind,
                binding.plugin.clone(),
                binding.config_json(),
                limits,
                Some(binding.bucket),
            )
        }
        None => {
            let (Some(kind), Some(plugin)) = (&raw.kind, &raw.plugin) else {
                return Err(ctx(SuiteError(
                    "needs either binding = \"<file>.toml\" or kind and plugin".into(),
                )));
            };
            let kind = PolicyKind::parse(kind.trim()).ok_or_else(|| {
                ctx(SuiteError(format!(
                    "kind: expected one of retention, lifecycle, backup; got {kind:?}"
                )))
            })?;
            let config = match &raw.config {
                Some(t) => bindings::toml_to_json(&toml::Value::Table(t.clone())),
                None => serde_json::json!({}),
            };
            (
                kind,
                if plugin.starts_with(super::builtin::PREFIX) {
                    PathBuf::from(plugin)
                } else {
                    bindings::resolve_relative(file, plugin)
                },
                config.to_string(),
                bindings::parse_limits(file, raw.limits.as_ref())?,
                None,
            )
        }
    };
    let bucket = raw
        .bucket
        .or(binding_bucket)
        .unwrap_or_else(|| "bucket".into());
    let now = parse_time(&raw.now, "now").map_err(ctx)?;
    // Versions of one key without an explicit id are told apart: v1, v2, ... in file order
    // (a key listed once keeps the null version).
    let mut raw_objects = raw.objects;
    let mut per_key: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for o in &raw_objects {
        *per_key.entry(o.key.clone()).or_default() += 1;
    }
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for o in &mut raw_objects {
        if o.version_id.is_none() && per_key.get(&o.key).is_some_and(|n| *n > 1) {
            let n = seen.entry(o.key.clone()).or_default();
            *n += 1;
            o.version_id = Some(format!("v{n}"));
        }
    }
    let objects = raw_objects
        .into_iter()
        .enumerate()
        .map(|(i, o)| o.build(&bucket, now, &format!("objects[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ctx)?;
    let uploads = raw
        .uploads
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            let what = format!("uploads[{i}]");
            let initiated = match (&u.age_days, &u.initiated) {
                (Some(_), Some(_)) => {
                    return Err(SuiteError(format!(
                        "{what}: set either age_days or initiated, not both"
                    )));
                }
                (Some(a), None) => days_before(now, a.get()),
                (None, Some(t)) => parse_time(t, &format!("{what}.initiated"))?,
                (None, None) => now,
            };
            Ok(PolicyUpload {
                bucket: bucket.clone(),
                key: u.key,
                upload_id: u.upload_id.unwrap_or_else(|| format!("upload-{}", i + 1)),
                initiated,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(ctx)?;
    let events = raw
        .events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let what = format!("events[{i}]");
            let kind = match e.kind.to_ascii_lowercase().as_str() {
                "created" => ChangeKind::Created,
                "removed" => ChangeKind::Removed,
                other => {
                    return Err(SuiteError(format!(
                        "{what}.kind: expected created or removed, got {other:?}"
                    )));
                }
            };
            let raw: RawObject = toml::Value::Table(e.object)
                .try_into()
                .map_err(|e: toml::de::Error| SuiteError(format!("{what}: {}", e.message())))?;
            Ok(ChangeEvent {
                kind,
                object: raw.build(&bucket, now, &what)?,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(ctx)?;
    let target = raw
        .target
        .into_iter()
        .map(|t| TargetEntry {
            source_key: t.source_key.unwrap_or_else(|| t.path.clone()),
            path: t.path,
            size: t.size,
            source_etag: t.source_etag,
            source_version_id: t.source_version_id,
        })
        .collect();
    Ok(Suite {
        name,
        file: file.to_path_buf(),
        binding_file,
        kind,
        plugin,
        config_json,
        limits,
        bucket,
        now,
        objects,
        uploads,
        events,
        target,
    })
}

/// The first line of an error (trap messages carry backtraces whose offsets change on rebuild).
pub(super) fn error_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

pub(super) fn version_label(o: &ObjectVersion) -> String {
    let mut s = format!("{} [{}]", o.key, o.version_id);
    if o.is_delete_marker {
        s.push_str(" (delete marker)");
    }
    s
}

pub(super) fn retention_text(r: &Retention, now: Millis) -> String {
    format!(
        "{} until {} ({})",
        r.mode.as_str(),
        iso8601(r.retain_until, Fraction::WhenNonZero),
        rel_days(r.retain_until, now)
    )
}

pub(super) fn action_name(a: LifecycleAction) -> &'static str {
    match a {
        LifecycleAction::Keep => "keep",
        LifecycleAction::Expire => "expire",
        LifecycleAction::ExpireNoncurrent => "expire-noncurrent",
        LifecycleAction::AbortUpload => "abort-upload",
    }
}

pub(super) fn step_text(s: &BackupStep) -> String {
    match s {
        BackupStep::Copy { object, path } => format!("copy {} -> {path}", version_label(object)),
        BackupStep::Delete { path } => format!("delete {path}"),
    }
}

/// Loads the suite's plugin through `engine` (the real host, real limits).
fn load_plugin(engine: &PolicyEngine, suite: &Suite) -> Result<LoadedPlugin, SuiteError> {
    let wasm = super::builtin::read_plugin(&suite.plugin).map_err(|e| {
        SuiteError(format!(
            "{}: cannot read plugin {}: {e}",
            suite.file.display(),
            suite.plugin.display()
        ))
    })?;
    engine
        .load(
            suite.kind,
            &wasm,
            &suite.config_json,
            suite.limits,
            &format!("suite {}", suite.name),
        )
        .map_err(|e| {
            SuiteError(format!(
                "{}: plugin {} failed to load: {e}",
                suite.file.display(),
                suite.plugin.display()
            ))
        })
}

/// Runs the suite and renders the decisions. A plugin that fails to load is an error; a failed
/// decision call is rendered (`error: ...`) so it shows up in the snapshot.
pub fn run(engine: &PolicyEngine, suite: &Suite) -> Result<String, SuiteError> {
    let plugin = load_plugin(engine, suite)?;
    Ok(render(suite, &plugin))
}

/// Feeds the scenario to a loaded plugin and renders its decisions.
pub fn render(suite: &Suite, plugin: &LoadedPlugin) -> String {
    let now = suite.now;
    let mut out = String::new();
    let plugin_name = suite
        .plugin
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.push_str(&format!("suite: {}\n", suite.name));
    out.push_str(&format!("kind: {}\n", suite.kind.as_str()));
    out.push_str(&format!("plugin: {plugin_name}\n"));
    out.push_str(&format!("config: {}\n", suite.config_json));
    out.push_str(&format!("bucket: {}\n", suite.bucket));
    out.push_str(&format!("now: {}\n", iso8601(now, Fraction::WhenNonZero)));
    match suite.kind {
        PolicyKind::Retention => {
            out.push_str("decisions:\n");
            for o in &suite.objects {
                let text = match plugin.retention(o, now) {
                    Ok(d) => {
                        let mut t = match &d.retention {
                            Some(r) => retention_text(r, now),
                            None => "no retention".to_string(),
                        };
                        if d.legal_hold {
                            t.push_str(", legal hold");
                        }
                        t
                    }
                    Err(e) => format!("error: {}", error_line(&e)),
                };
                out.push_str(&format!("  - {} -> {text}\n", version_label(o)));
            }
        }
        PolicyKind::Lifecycle => {
            let items: Vec<LifecycleItem> = suite
                .objects
                .iter()
                .cloned()
                .map(LifecycleItem::Version)
                .chain(suite.uploads.iter().cloned().map(LifecycleItem::Upload))
                .collect();
            out.push_str("actions:\n");
            match plugin.lifecycle(&items, now) {
                Ok(actions) => {
                    for (item, a) in items.iter().zip(actions) {
                        let label = match item {
                            LifecycleItem::Version(o) => {
                                let mut l = version_label(o);
                                if !o.is_latest {
                                    l.push_str(" (noncurrent)");
                                }
                                l
                            }
                            LifecycleItem::Upload(u) => {
                                format!("upload {} [{}]", u.key, u.upload_id)
                            }
                        };
                        out.push_str(&format!("  - {label} -> {}\n", action_name(a)));
                    }
                }
                Err(e) => out.push_str(&format!("  error: {}\n", error_line(&e))),
            }
        }
        PolicyKind::Backup => {
            if !suite.events.is_empty() {
                out.push_str("changes:\n");
                match plugin.backup_changes(&suite.events, now) {
                    Ok(steps) if steps.is_empty() => out.push_str("  (nothing to do)\n"),
                    Ok(steps) => {
                        for s in &steps {
                            out.push_str(&format!("  - {}\n", step_text(s)));
                        }
                    }
                    Err(e) => out.push_str(&format!("  error: {}\n", error_line(&e))),
                }
            }
            if !suite.objects.is_empty() || !suite.target.is_empty() || suite.events.is_empty() {
                out.push_str("full:\n");
                match plugin.backup_full(&suite.objects, &suite.target, now) {
                    Ok(steps) if steps.is_empty() => out.push_str("  (nothing to do)\n"),
                    Ok(steps) => {
                        for s in &steps {
                            out.push_str(&format!("  - {}\n", step_text(s)));
                        }
                    }
                    Err(e) => out.push_str(&format!("  error: {}\n", error_line(&e))),
                }
            }
        }
    }
    out
}

/// The `*.suite.toml` files under `dir` (recursively; hidden directories and `target/` are
/// skipped), sorted. `dir` may also be a single suite file.
pub fn find_suites(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ft = entry.file_type()?;
            if ft.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    stack.push(path);
                }
            } else if bindings::is_suite_file(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The content of a stored snapshot (insta format: an optional `---` metadata header, then the
/// document), normalized like insta does (trailing whitespace trimmed, CRLF → LF). `None` if the
/// file does not exist.
fn read_snapshot(path: &Path) -> std::io::Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(snapshot_content(&text)))
}

/// Whether `rendered` (a [`render`]ing of `suite`) matches the suite's stored snapshot; `None`
/// when there is none (or it cannot be read).
pub(super) fn matches_snapshot(suite: &Suite, rendered: &str) -> Option<bool> {
    let stored = read_snapshot(&suite.snapshot_path()).ok()??;
    Some(stored == canonical_snapshot_text(rendered))
}

/// The document part of a snapshot file's text, normalized.
fn snapshot_content(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let body = match text.strip_prefix("---\n") {
        Some(rest) => match rest.find("\n---\n") {
            Some(i) => &rest[i + 5..],
            None => match rest.strip_suffix("\n---") {
                Some(_) => "",
                None => rest,
            },
        },
        None => &text,
    };
    canonical_snapshot_text(body)
}

/// A rendered document as it is compared and stored (as insta does): LF line ends, no
/// whitespace after the last line.
fn canonical_snapshot_text(doc: &str) -> String {
    doc.replace("\r\n", "\n").trim_end().to_string()
}

/// Writes a snapshot file in insta's format. The header records the plugin's SHA-256 (never
/// compared: a rebuild with another toolchain must not fail a suite whose decisions held).
fn write_snapshot(
    path: &Path,
    suite_file: &Path,
    content: &str,
    plugin_sha256: &str,
) -> std::io::Result<()> {
    let source = suite_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = format!(
        "---\nsource: {}\nexpression: lakegate policy test\nplugin_sha256: {plugin_sha256}\n---\n{}\n",
        yaml_scalar(&source),
        canonical_snapshot_text(content)
    );
    crate::local_file::write(path, &[text.as_bytes()], 0o644)
}

/// A YAML scalar: plain when safe, double-quoted otherwise.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && !s.starts_with(['-', '.']);
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// A unified diff from the stored snapshot to the new rendering.
pub fn diff(expected: &str, actual: &str, expected_name: &str) -> String {
    let lines = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!("{s}\n")
        }
    };
    similar::TextDiff::from_lines(&lines(expected), &lines(actual))
        .unified_diff()
        .context_radius(3)
        .header(&format!("{expected_name} (snapshot)"), "actual")
        .to_string()
}

/// What running one suite against its snapshot found.
#[derive(Debug)]
pub enum Outcome {
    /// The rendering equals the snapshot.
    Ok,
    /// The rendering differs; `diff` is a unified diff (snapshot → actual).
    Changed { diff: String },
    /// There is no snapshot yet; `actual` is what would be stored.
    Missing { actual: String },
    /// Snapshot written (`--bless`), because it was missing or differed.
    Blessed { diff: String },
    /// The suite could not be read or its plugin could not be loaded.
    Error(SuiteError),
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Blessed { .. })
    }
}

/// Loads, runs and compares one suite; with `bless`, writes the snapshot when it differs.
pub fn check(engine: &PolicyEngine, file: &Path, bless: bool) -> (Option<Suite>, Outcome) {
    let suite = match load(file) {
        Ok(s) => s,
        Err(e) => return (None, Outcome::Error(e)),
    };
    let plugin = match load_plugin(engine, &suite) {
        Ok(p) => p,
        Err(e) => return (Some(suite), Outcome::Error(e)),
    };
    let actual = canonical_snapshot_text(&render(&suite, &plugin));
    let snap = suite.snapshot_path();
    let snap_name = snap
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let expected = match read_snapshot(&snap) {
        Ok(e) => e,
        Err(e) => {
            let err = SuiteError(format!("{}: cannot read: {e}", snap.display()));
            return (Some(suite), Outcome::Error(err));
        }
    };
    if expected.as_deref() == Some(actual.as_str()) {
        return (Some(suite), Outcome::Ok);
    }
    let d = diff(expected.as_deref().unwrap_or(""), &actual, &snap_name);
    if bless {
        if let Err(e) = write_snapshot(&snap, &suite.file, &actual, plugin.hash()) {
            let err = SuiteError(format!("{}: cannot write: {e}", snap.display()));
            return (Some(suite), Outcome::Error(err));
        }
        return (Some(suite), Outcome::Blessed { diff: d });
    }
    let outcome = match expected {
        None => Outcome::Missing { actual },
        Some(_) => Outcome::Changed { diff: d },
    };
    (Some(suite), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn parses_an_inline_suite() {
        let s = parse(
            Path::new("/s/bronze.suite.toml"),
            r#"
kind = "lifecycle"
plugin = "../p/age.wasm"
now = 2026-01-01T00:00:00Z
[config]
days = 30
[[objects]]
key = "a"
size = 10
age_days = 1.5
tags = { legal = "keep" }
retention = { mode = "governance", until = "2026-02-01" }
[[objects]]
key = "b"
version_id = "v1"
is_latest = false
noncurrent_days = 3
last_modified = "2025-12-01T00:00:00Z"
[[uploads]]
key = "big"
age_days = 8
"#,
        )
        .unwrap();
        assert_eq!(s.name, "bronze");
        assert_eq!(s.kind, PolicyKind::Lifecycle);
        assert_eq!(s.plugin, PathBuf::from("/p/age.wasm"));
        assert_eq!(s.config_json, r#"{"days":30}"#);
        assert_eq!(s.bucket, "bucket");
        assert_eq!(s.now, NOW);
        assert_eq!(s.objects[0].last_modified, NOW - 129_600_000);
        assert_eq!(s.objects[0].tags, vec![("legal".into(), "keep".into())]);
        assert_eq!(
            s.objects[0].retention,
            Some(Retention {
                mode: RetentionMode::Governance,
                retain_until: NOW + 31 * 86_400_000
            })
        );
        assert_eq!(s.objects[1].noncurrent_since, Some(NOW - 3 * 86_400_000));
        assert_eq!(s.objects[1].newer_versions, 1);
        assert_eq!(s.uploads[0].upload_id, "upload-1");
        assert_eq!(s.snapshot_path(), PathBuf::from("/s/bronze.snap"));
    }

    #[test]
    fn versions_of_one_key_get_distinct_default_ids() {
        let s = parse(
            Path::new("/s/v.suite.toml"),
            "kind='lifecycle'\nplugin='a'\nnow='2026-01-01'\n\
             [[objects]]\nkey='k'\n[[objects]]\nkey='k'\nis_latest=false\n\
             [[objects]]\nkey='k'\nversion_id='mine'\nis_latest=false\n\
             [[objects]]\nkey='single'\n",
        )
        .unwrap();
        let ids: Vec<&str> = s.objects.iter().map(|o| o.version_id.as_str()).collect();
        assert_eq!(ids, ["v1", "v2", "mine", "null"]);
        assert_eq!(s.binding_file, None);
        let s = parse(
            Path::new("/s/b.suite.toml"),
            "binding='../p/b.toml'\nnow='2026-01-01'\n",
        );
        // The binding does not exist here; what matters is where it was looked for.
        assert!(s.unwrap_err().0.contains("/p/b.toml"));
    }

    #[test]
    fn suite_errors() {
        let f = Path::new("/s/x.suite.toml");
        let e = parse(f, "now = '2026-01-01T00:00:00Z'\n").unwrap_err();
        assert!(e.0.contains("needs either binding"), "{e}");
        let e = parse(f, "kind='retention'\nplugin='a'\nnow='yesterday'\n").unwrap_err();
        assert!(e.0.contains("now:"), "{e}");
        let e = parse(
            f,
            "kind='retention'\nplugin='a'\nnow='2026-01-01'\n[[objects]]\nkey='a'\nsize=1\ncolour='red'\n",
        )
        .unwrap_err();
        assert!(e.0.contains("unknown field `colour`"), "{e}");
        let e = parse(
            f,
            "kind='retention'\nplugin='a'\nnow='2026-01-01'\n[[objects]]\nkey='a'\nnoncurrent_days=1\n",
        )
        .unwrap_err();
        assert!(e.0.contains("objects[0]: a noncurrent time"), "{e}");
    }

    #[test]
    fn snapshot_file_format() {
        assert_eq!(
            snapshot_content("---\nsource: a.rs\nexpression: x\n---\nline 1\nline 2\n\n"),
            "line 1\nline 2"
        );
        assert_eq!(snapshot_content("plain\r\ntext\n"), "plain\ntext");
        let dir = std::env::temp_dir().join(format!("lakegate-suite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.snap");
        write_snapshot(&p, Path::new("/x/a.suite.toml"), "doc\nmore\n", "ab12").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "---\nsource: a.suite.toml\nexpression: lakegate policy test\nplugin_sha256: ab12\n---\ndoc\nmore\n"
        );
        assert_eq!(read_snapshot(&p).unwrap().as_deref(), Some("doc\nmore"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rendering_helpers() {
        assert_eq!(iso8601(NOW, Fraction::WhenNonZero), "2026-01-01T00:00:00Z");
        assert_eq!(
            iso8601(NOW + 5, Fraction::WhenNonZero),
            "2026-01-01T00:00:00.005Z"
        );
        assert_eq!(rel_days(NOW + 90 * 86_400_000, NOW), "+90d");
        assert_eq!(rel_days(NOW - 86_400_000 / 2, NOW), "-0.50d");
        let d = diff("a\nb", "a\nc", "x.snap");
        assert!(d.contains("-b\n+c"), "{d}");
        assert!(d.contains("x.snap (snapshot)"), "{d}");
    }
}
