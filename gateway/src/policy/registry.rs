//! The policy registry: which loaded plugin serves which (bucket, kind), hot reload, and the
//! retention hook of object-creating writes.
//!
//! # Lookups
//!
//! The serving bindings live in one immutable map (bucket → one slot per kind) behind an
//! [`ArcSwap`]: a lookup on the request path is an atomic load plus a hash lookup, never a lock,
//! and never waits for a compile. Every change builds a new map and swaps it in; a request that
//! already took its `Arc<ActiveBinding>` finishes on the plugin it took.
//!
//! # Reloads
//!
//! All (re)loads go through [`PolicyRegistry::reload_file`]. It first reads the binding file and
//! its plugin on the blocking pool, without any lock (see [`bindings::read_plugin_file`]: only
//! `builtin:` plugins and regular files of at most 64 MiB inside the policies directory; files
//! are opened non-blocking, so a FIFO or a device fails at once instead of hanging). Then, under
//! one async mutex, it parses, checks for conflicts and compiles/instantiates/configures the
//! plugin with [`PolicyEngine::load`] on the blocking pool. Each read gets a sequence number: a
//! read older than one already applied to the same file is dropped, so reads finishing out of
//! order never bring back an older version. Only a successful load is swapped in; a failed one
//! keeps the previous version serving and records the error in the file's state (and logs it at
//! warn). A reload whose binding text and plugin bytes are unchanged since the last attempt is a
//! no-op, so the watcher and the admin API can both trigger one for the same change.
//!
//! The watcher (`notify`, recursive on the policies directory, where every served plugin file
//! lives) debounces events for [`DEBOUNCE`] and reloads the bindings whose file or plugin
//! changed; a deleted binding file unbinds.
//!
//! # Default bindings
//!
//! The bindings embedded in the binary ([`super::defaults`]) are loaded after the directory's
//! files, under the names `default:<file>`, through the same path. One plugin serves each bucket
//! and kind: a directory file wins over a default (the default is then `overridden`, and serves
//! again when the file is removed), and between two directory files the one already serving
//! keeps the slot (the other is refused as a conflict).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::bindings::{self, Binding};
use super::defaults;
use super::gate::{self, GateReport, LiveData};
use super::types::{Millis, ObjectVersion, PolicyKind, Retention, RetentionMode};
use super::{LoadedPlugin, PolicyEngine};
use crate::audit::{AuditEntry, AuditLog};
use crate::store::{BucketInfo, NewVersion};
use crate::sync::lock;

/// How long the watcher waits for a burst of file events to settle before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Retention plugins whose mean call is shorter than this are called on the request's own
/// thread (see `apply_retention`).
const INLINE_CALL_LIMIT: Duration = Duration::from_micros(200);

/// A binding that is serving: the parsed file and its loaded plugin.
pub struct ActiveBinding {
    pub binding: Binding,
    pub plugin: LoadedPlugin,
    /// Set once the "bucket has no object lock" warning was logged for this binding.
    warned_no_lock: AtomicBool,
    /// Write-path hook calls and their total time (the plugin call plus the hop to a blocking
    /// thread), for the admin API's `mean_hook_micros`.
    hook_calls: AtomicU64,
    hook_micros: AtomicU64,
}

impl ActiveBinding {
    fn new(binding: Binding, plugin: LoadedPlugin) -> Self {
        ActiveBinding {
            binding,
            plugin,
            warned_no_lock: AtomicBool::new(false),
            hook_calls: AtomicU64::new(0),
            hook_micros: AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for ActiveBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveBinding")
            .field("file", &self.binding.file)
            .field("bucket", &self.binding.bucket)
            .field("kind", &self.binding.kind)
            .field("plugin", &self.plugin)
            .finish()
    }
}

type Slots = [Option<Arc<ActiveBinding>>; 3];

fn slot(kind: PolicyKind) -> usize {
    match kind {
        PolicyKind::Retention => 0,
        PolicyKind::Lifecycle => 1,
        PolicyKind::Backup => 2,
    }
}

/// What the registry knows about one binding file.
#[derive(Default)]
struct FileState {
    /// The last successfully parsed version of the file (even if its plugin failed to load).
    parsed: Option<Binding>,
    /// The version that is serving, if any.
    serving: Option<Arc<ActiveBinding>>,
    /// Why the last (re)load failed; cleared by a successful one.
    error: Option<String>,
    /// The last load attempt was refused because another file serves the same bucket and kind.
    conflict: bool,
    /// For a default binding: the directory file that overrides it.
    overridden_by: Option<PathBuf>,
    /// Binding text and plugin bytes of the last load attempt.
    fingerprint: Option<(String, String)>,
    /// The binding text of the serving version.
    serving_text: Option<String>,
    /// The version the serving one replaced, and its text: what a rollback brings back.
    previous: Option<(Arc<ActiveBinding>, String)>,
    /// The last automatic rollback, until the next successful load.
    rolled_back: Option<RolledBack>,
    /// The plugin hash the gate refused last, until the next successful load.
    refused_hash: Option<String>,
    /// The gate's report of the last load attempt that ran it.
    gate: Option<GateReport>,
}

/// An automatic rollback: a version that replaced a working one was quarantined, and the
/// working one serves again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolledBack {
    /// The quarantined plugin's hash.
    pub from: String,
    /// The hash of the version that serves again.
    pub to: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The quarantined version's last error.
    pub reason: String,
}

/// The state of one binding file, as the admin API reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BindingStatus {
    /// The file name inside the policies directory.
    pub file: String,
    pub bucket: Option<String>,
    pub kind: Option<PolicyKind>,
    /// The plugin path as written in the binding, and resolved.
    pub plugin: Option<String>,
    pub plugin_path: Option<String>,
    /// `active`, `failed`, `quarantined`, `rolled-back` (a new version was quarantined and the
    /// previous one serves again), or `overridden` (a default binding replaced by a file in the
    /// policies directory).
    pub state: &'static str,
    /// For an overridden default binding: the file that serves instead.
    pub overridden_by: Option<String>,
    /// Why the last (re)load failed (with `state = failed`).
    pub error: Option<String>,
    /// Whether a plugin serves this binding (for a failed reload: the previous version).
    pub serving: bool,
    /// SHA-256 of the serving plugin.
    pub plugin_hash: Option<String>,
    /// The configuration the serving plugin was configured with.
    pub config: Option<serde_json::Value>,
    /// When the serving plugin was loaded (RFC 3339, UTC).
    pub loaded_at: Option<String>,
    pub calls: u64,
    pub failures: u64,
    /// Calls refused while quarantined.
    pub rejected: u64,
    /// The serving plugin's last call error.
    pub last_call_error: Option<String>,
    /// Mean time inside the plugin per call, microseconds.
    pub mean_call_micros: Option<f64>,
    /// Mean time the write-path hook added per write (plugin call and thread hop), microseconds.
    pub mean_hook_micros: Option<f64>,
    /// The hash of the version a rollback would bring back.
    pub previous_hash: Option<String>,
    /// The plugin hash the gate refused last (the serving version kept serving).
    pub refused_hash: Option<String>,
    /// The last automatic rollback.
    pub rolled_back: Option<RolledBack>,
    /// The gate's report of the last load that ran it.
    pub gate: Option<GateReport>,
}

/// What a candidate binding would do: [`PolicyRegistry::preview`].
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub bucket: String,
    pub kind: PolicyKind,
    /// The time the decisions were made for (ms since the epoch).
    pub at_ms: Millis,
    /// The version serving the bucket and kind now, if any.
    pub serving: Option<PreviewSide>,
    pub candidate: PreviewSide,
    /// The gate the candidate would have to pass.
    pub gate: GateReport,
    pub summary: PreviewSummary,
    /// The decisions that differ (at most [`gate::PREVIEW_CHANGES`]).
    pub changes: Vec<gate::DecisionChange>,
    pub changes_truncated: bool,
    /// What limited the comparison, if anything.
    pub note: Option<String>,
}

/// One side of a [`Preview`].
#[derive(Debug, Clone, Serialize)]
pub struct PreviewSide {
    /// The binding file (for the serving side).
    pub file: Option<String>,
    pub plugin_hash: String,
    /// The binding's state (for the serving side).
    pub state: Option<&'static str>,
}

/// Counts of a [`Preview`].
#[derive(Debug, Clone, Serialize)]
pub struct PreviewSummary {
    /// Decisions compared.
    pub evaluated: usize,
    /// Decisions that differ.
    pub changed: usize,
}

/// Why a preview could not be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PreviewError {
    #[error("this server has no policies directory (--policies DIR)")]
    Disabled,
    /// The binding text or its plugin is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The candidate does not load.
    #[error("{0}")]
    Load(String),
}

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new version is serving.
    Loaded,
    /// Nothing changed since the last attempt.
    Unchanged,
    /// The reload failed; the previous version (if any) keeps serving.
    Failed,
    /// The file is gone; its binding was removed.
    Unbound,
}

/// Bindings of buckets to policy plugins.
pub struct PolicyRegistry {
    /// The policies directory (absolute), if there is one.
    dir: Option<PathBuf>,
    /// Whether the default bindings are loaded.
    defaults: bool,
    engine: Option<PolicyEngine>,
    active: ArcSwap<HashMap<String, Slots>>,
    files: Mutex<BTreeMap<PathBuf, FileState>>,
    /// Serializes applying reloads; holds the sequence number of the last read applied to each
    /// file (kept after a file is removed, so a stale read cannot resurrect it).
    reload_lock: tokio::sync::Mutex<HashMap<PathBuf, u64>>,
    /// Numbers reads (see the module docs).
    read_seq: AtomicU64,
    watcher: Mutex<Option<WatchState>>,
    /// Reloads that loaded or unbound a binding, and reloads that failed (for the metrics).
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
    /// Automatic rollbacks so far (for the metrics).
    pub rollbacks: AtomicU64,
    /// Where binding changes are recorded (set once by the application).
    audit: std::sync::OnceLock<Arc<AuditLog>>,
    /// The bucket data the gate's canary and the preview read (set once by the application).
    live: std::sync::OnceLock<LiveData>,
    /// Quarantined plugins' binding files, for the rollback task.
    quarantined_tx: mpsc::UnboundedSender<PathBuf>,
    quarantined_rx: Mutex<Option<mpsc::UnboundedReceiver<PathBuf>>>,
}

struct WatchState {
    watcher: notify::RecommendedWatcher,
    /// Whether the policies directory itself is watched (it may not exist yet).
    dir_watched: bool,
}

/// What a reload read from disk, on a blocking thread, before taking the reload lock.
enum Inputs {
    /// The binding file is gone.
    Gone,
    /// The binding file cannot be read or parsed: the error.
    Broken(String),
    /// A parsed binding, with its plugin's bytes or why they cannot be had.
    Parsed {
        text: String,
        binding: Box<Binding>,
        wasm: Result<Cow<'static, [u8]>, String>,
    },
}

/// Reads binding file `file` (named `name` in messages; a `default:` name is read from the
/// binary) and its plugin, under the rules of [`bindings::read_plugin_file`]. Blocking, bounded:
/// never waits on a FIFO, never reads more than the size caps.
fn read_inputs(dir: Option<&Path>, file: &Path, name: &str) -> Inputs {
    let text = if let Some(d) = defaults::get(file) {
        d.text.to_string()
    } else {
        match bindings::read_text(file) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Inputs::Gone,
            Err(e) => return Inputs::Broken(format!("{name}: cannot read: {e}")),
        }
    };
    let binding = match bindings::parse(file, &text) {
        Ok(b) => b,
        Err(mut e) => {
            // Name the file as the admin API does (relative to the policies directory).
            e.location = e.location.replacen(&file.display().to_string(), name, 1);
            return Inputs::Broken(e.to_string());
        }
    };
    let wasm = bindings::read_plugin_file(dir, &binding).map_err(|e| match e {
        bindings::FileError::NotRelative(_) => format!("{name}: plugin: {e}"),
        e => format!(
            "{name}: cannot read plugin {}: {e}",
            binding.plugin.display()
        ),
    });
    Inputs::Parsed {
        text,
        binding: Box::new(binding),
        wasm,
    }
}

fn sha256_hex(data: &[u8]) -> String {
    PolicyEngine::hash(data)
}

/// An absolute, normalized form of `p` (canonical if it exists).
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(p)
    };
    bindings::normalize_path_lexically(&abs)
}

impl PolicyRegistry {
    /// A registry with no policies at all (every lookup answers `None`).
    pub fn disabled() -> Self {
        let (quarantined_tx, quarantined_rx) = mpsc::unbounded_channel();
        PolicyRegistry {
            dir: None,
            defaults: false,
            engine: None,
            active: ArcSwap::from_pointee(HashMap::new()),
            files: Mutex::new(BTreeMap::new()),
            reload_lock: tokio::sync::Mutex::new(HashMap::new()),
            read_seq: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            watcher: Mutex::new(None),
            rollbacks: AtomicU64::new(0),
            audit: std::sync::OnceLock::new(),
            live: std::sync::OnceLock::new(),
            quarantined_tx,
            quarantined_rx: Mutex::new(Some(quarantined_rx)),
        }
    }

    /// A registry for the bindings in `dir` (if any) and, with `defaults`, the default bindings
    /// embedded in the binary, loading plugins with `engine`. Nothing is loaded until
    /// [`Self::reload_all`].
    pub fn new(dir: Option<&Path>, defaults: bool, engine: PolicyEngine) -> Self {
        PolicyRegistry {
            dir: dir.map(absolute),
            defaults,
            engine: Some(engine),
            ..Self::disabled()
        }
    }

    /// Records binding loads, removals and failed reloads in `audit` from now on.
    pub fn set_audit(&self, audit: Arc<AuditLog>) {
        let _ = self.audit.set(audit);
    }

    /// Lets the gate's canary and the preview read the buckets' versions and the data plane's
    /// clock (set once, before the first load).
    pub fn set_live_data(&self, live: LiveData) {
        let _ = self.live.set(live);
    }

    /// Whether bindings can be loaded at all (a directory or the defaults).
    pub fn is_enabled(&self) -> bool {
        self.engine.is_some() && (self.dir.is_some() || self.defaults)
    }

    /// The policies directory, if there is one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn engine(&self) -> Option<&PolicyEngine> {
        self.engine.as_ref()
    }

    /// The binding serving `kind` for `bucket`, if any. Lock-free.
    pub fn binding(&self, bucket: &str, kind: PolicyKind) -> Option<Arc<ActiveBinding>> {
        let map = self.active.load();
        if map.is_empty() {
            return None;
        }
        map.get(bucket).and_then(|s| s[slot(kind)].clone())
    }

    /// Every serving binding of `kind`, sorted by bucket. Lock-free.
    pub fn active_bindings(&self, kind: PolicyKind) -> Vec<Arc<ActiveBinding>> {
        let map = self.active.load();
        let mut out: Vec<Arc<ActiveBinding>> =
            map.values().filter_map(|s| s[slot(kind)].clone()).collect();
        out.sort_by(|a, b| a.binding.bucket.cmp(&b.binding.bucket));
        out
    }

    /// Rebuilds the lookup map from the files' serving bindings.
    fn publish(&self, files: &BTreeMap<PathBuf, FileState>) {
        let mut map: HashMap<String, Slots> = HashMap::new();
        for st in files.values() {
            if let Some(a) = &st.serving {
                map.entry(a.binding.bucket.clone()).or_default()[slot(a.binding.kind)] =
                    Some(a.clone());
            }
        }
        self.active.store(Arc::new(map));
    }

    /// (Re)loads every binding file in the directory and unbinds files that disappeared, then
    /// the default bindings that no file overrides.
    pub async fn reload_all(&self) {
        if let Some(dir) = &self.dir {
            match bindings::scan(dir) {
                Ok(found) => {
                    let known: Vec<PathBuf> = lock(&self.files)
                        .keys()
                        .filter(|k| !defaults::is_default(k))
                        .cloned()
                        .collect();
                    for gone in known.iter().filter(|k| !found.contains(k)) {
                        self.reload_file(gone, false).await;
                    }
                    for f in &found {
                        self.reload_file(f, false).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot list the policies directory")
                }
            }
        }
        if self.defaults {
            for d in defaults::DEFAULT_BINDINGS {
                self.reload_file(&d.path(), false).await;
            }
        }
    }

    /// Logs which binding serves which bucket and kind (at start, after the first load).
    pub fn log_active(&self) {
        let map = self.active.load();
        let mut buckets: Vec<&String> = map.keys().collect();
        buckets.sort();
        for bucket in buckets {
            let slots = &map[bucket];
            let names: Vec<String> = [
                PolicyKind::Retention,
                PolicyKind::Lifecycle,
                PolicyKind::Backup,
            ]
            .into_iter()
            .filter_map(|k| {
                let a = slots[slot(k)].as_ref()?;
                Some(format!("{k}={}", self.display_name(&a.binding.file)))
            })
            .collect();
            tracing::info!(bucket = %bucket, bindings = %names.join(" "), "policies serving");
        }
        if map.is_empty() {
            tracing::info!("no policy bindings serving");
        }
    }

    /// (Re)loads one binding file (an absolute path in the policies directory). A missing file
    /// is unbound. Unless `force`, an attempt with the same binding text and plugin bytes as the
    /// previous one is skipped.
    pub async fn reload_file(&self, file: &Path, force: bool) -> ReloadOutcome {
        let Some(engine) = self.engine.clone() else {
            return ReloadOutcome::Failed;
        };
        let outcome = self.reload_one(&engine, file, force).await;
        let (operation, status) = match outcome {
            ReloadOutcome::Loaded => ("PolicyBindingLoaded", 200),
            ReloadOutcome::Unbound => ("PolicyBindingRemoved", 200),
            ReloadOutcome::Failed => ("PolicyBindingReloadFailed", 500),
            ReloadOutcome::Unchanged => ("", 0),
        };
        match outcome {
            ReloadOutcome::Loaded | ReloadOutcome::Unbound => {
                self.reloads.fetch_add(1, Ordering::Relaxed);
            }
            ReloadOutcome::Failed => {
                self.reload_failures.fetch_add(1, Ordering::Relaxed);
            }
            ReloadOutcome::Unchanged => {}
        }
        if let Some(audit) = self.audit.get().filter(|a| a.is_enabled() && status > 0) {
            // What the registry did, whoever changed the file (the admin API's own entry names
            // the caller; an edit on disk has only this one).
            let mut e = AuditEntry::new("", "policy", operation);
            e.key = Some(file.display().to_string());
            e.bucket = self.status(file).and_then(|st| st.bucket.clone());
            e.status = status;
            audit.record(e);
        }
        if outcome == ReloadOutcome::Unbound || outcome == ReloadOutcome::Loaded {
            // A slot may have been freed: retry the files that were refused because of it.
            let waiting: Vec<PathBuf> = lock(&self.files)
                .iter()
                .filter(|(p, st)| st.conflict && p.as_path() != file)
                .map(|(p, _)| p.clone())
                .collect();
            for w in waiting {
                self.reload_one(&engine, &w, true).await;
            }
        }
        outcome
    }

    /// Reads `file` and its plugin without holding the reload lock, then applies the result
    /// under it (unless a newer read of the same file was applied meanwhile).
    async fn reload_one(&self, engine: &PolicyEngine, file: &Path, force: bool) -> ReloadOutcome {
        if defaults::is_default(file) && !self.defaults
            || !defaults::is_default(file) && self.dir.is_none()
        {
            return ReloadOutcome::Failed;
        }
        let dir = self.dir.clone();
        let seq = self.read_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let name = self.display_name(file);
        let path = file.to_path_buf();
        let label = name.clone();
        let inputs =
            tokio::task::spawn_blocking(move || read_inputs(dir.as_deref(), &path, &label))
                .await
                .unwrap_or_else(|e| Inputs::Broken(format!("{name}: reading panicked: {e}")));
        let mut applied = self.reload_lock.lock().await;
        let last = applied.entry(file.to_path_buf()).or_insert(0);
        if *last > seq {
            // A read that started later has already been applied: this one is stale.
            return ReloadOutcome::Unchanged;
        }
        *last = seq;
        self.apply(engine, file, inputs, force).await
    }

    /// Applies what a reload read (called with the reload lock held).
    async fn apply(
        &self,
        engine: &PolicyEngine,
        file: &Path,
        inputs: Inputs,
        force: bool,
    ) -> ReloadOutcome {
        let name = self.display_name(file);
        let (text, binding, wasm) = match inputs {
            Inputs::Gone => {
                let mut files = lock(&self.files);
                if let Some(old) = files.remove(file) {
                    self.publish(&files);
                    if let Some(s) = old.serving {
                        tracing::info!(binding = %name, bucket = %s.binding.bucket,
                            kind = %s.binding.kind, "policy binding removed; unbound");
                    }
                }
                return ReloadOutcome::Unbound;
            }
            Inputs::Broken(error) => return self.fail(file, error, false),
            Inputs::Parsed {
                text,
                binding,
                wasm,
            } => (text, *binding, wasm),
        };
        lock(&self.files)
            .entry(file.to_path_buf())
            .or_default()
            .parsed = Some(binding.clone());
        // One plugin per bucket and kind: the file already serving the slot keeps it, except
        // that a directory file takes it from a default binding (once it has loaded).
        let owner = self.owner(file, &binding);
        if let Some(owner) = owner.filter(|o| !defaults::is_default(o)) {
            if defaults::is_default(file) {
                let mut files = lock(&self.files);
                let st = files.entry(file.to_path_buf()).or_default();
                if st.overridden_by.as_ref() != Some(&owner) {
                    tracing::info!(binding = %name, by = %self.display_name(&owner),
                        "default policy binding overridden by the policies directory");
                }
                st.serving = None;
                st.error = None;
                st.conflict = true;
                st.overridden_by = Some(owner);
                st.fingerprint = None;
                self.publish(&files);
                return ReloadOutcome::Unchanged;
            }
            let msg = format!(
                "{name}: bucket {:?} already has a {} binding ({}); only one plugin of each kind per bucket",
                binding.bucket,
                binding.kind,
                self.display_name(&owner)
            );
            return self.fail(file, msg, true);
        }
        let wasm = match wasm {
            Ok(w) => w,
            Err(msg) => return self.fail(file, msg, false),
        };
        let fingerprint = (sha256_hex(text.as_bytes()), sha256_hex(&wasm));
        {
            let mut files = lock(&self.files);
            let st = files.entry(file.to_path_buf()).or_default();
            if !force && !st.conflict && st.fingerprint.as_ref() == Some(&fingerprint) {
                return ReloadOutcome::Unchanged;
            }
            st.fingerprint = Some(fingerprint);
        }
        // The gate runs before a version replaces one that serves the bucket (this file's or
        // a default's), and before a binding put through the admin API (`force`) goes live.
        let replacing = self.owner(file, &binding).is_some()
            || lock(&self.files)
                .get(file)
                .is_some_and(|st| st.serving.is_some());
        let gated = (replacing || force) && !defaults::is_default(file);
        let gate_inputs = gated.then(|| (self.dir.clone(), self.live.get().cloned()));
        let label = name.clone();
        let eng = engine.clone();
        let (gate_file, gate_binding) = (file.to_path_buf(), binding.clone());
        let loaded = tokio::task::spawn_blocking(move || {
            let plugin = eng.load_with(
                gate_binding.kind,
                &wasm,
                &gate_binding.config_json(),
                gate_binding.limits,
                &label,
                super::LoadOptions {
                    bucket: Some(gate_binding.bucket.clone()),
                    ..Default::default()
                },
            )?;
            let report = match gate_inputs {
                Some((dir, live)) => {
                    let probe = gate::probe(&eng, &gate_binding, &wasm, &label)?;
                    Some(gate::run(
                        dir.as_deref(),
                        &gate_file,
                        &gate_binding,
                        &probe,
                        live.as_ref(),
                    ))
                }
                None => None,
            };
            Ok((plugin, report))
        })
        .await
        .unwrap_or_else(|e| {
            Err(super::PolicyError::Instantiate(format!(
                "plugin load panicked: {e}"
            )))
        });
        match loaded {
            Ok((plugin, Some(report))) if !report.passed => {
                let refusal = report.refusal.clone().unwrap_or_default();
                let outcome = self.fail(file, format!("{name}: {refusal}"), false);
                let mut files = lock(&self.files);
                let st = files.entry(file.to_path_buf()).or_default();
                st.refused_hash = Some(plugin.hash().to_string());
                st.gate = Some(report);
                outcome
            }
            Ok((plugin, report)) => {
                let hash = plugin.hash().to_string();
                // A default serving this slot gives way to the directory file that just loaded.
                let replaced_default = self
                    .owner(file, &binding)
                    .filter(|o| defaults::is_default(o));
                let mut files = lock(&self.files);
                // The default this file takes the slot from is what a rollback brings back.
                let mut default_previous = None;
                if let Some(d) = replaced_default {
                    let st = files.entry(d.clone()).or_default();
                    default_previous = st.serving.take().zip(st.serving_text.clone());
                    st.conflict = true;
                    st.fingerprint = None;
                    st.overridden_by = Some(file.to_path_buf());
                    tracing::info!(binding = %self.display_name(&d), by = %name,
                        "default policy binding overridden by the policies directory");
                }
                let st = files.entry(file.to_path_buf()).or_default();
                let replaced = st.serving.is_some();
                tracing::info!(binding = %name, bucket = %binding.bucket, kind = %binding.kind,
                    plugin = %binding.plugin.display(), hash = %hash,
                    "{}", if replaced { "policy binding reloaded" } else { "policy binding active" });
                plugin
                    .stats()
                    .notify_on_quarantine(self.quarantined_tx.clone(), file.to_path_buf());
                let previous = st
                    .serving
                    .take()
                    .zip(st.serving_text.take())
                    .or(default_previous);
                if previous.is_some() {
                    st.previous = previous;
                }
                st.serving = Some(Arc::new(ActiveBinding::new(binding, plugin)));
                st.serving_text = Some(text);
                st.rolled_back = None;
                st.refused_hash = None;
                if report.is_some() {
                    st.gate = report;
                }
                st.error = None;
                st.conflict = false;
                st.overridden_by = None;
                self.publish(&files);
                ReloadOutcome::Loaded
            }
            Err(e) => self.fail(
                file,
                format!("{name}: plugin {}: {e}", binding.plugin.display()),
                false,
            ),
        }
    }

    /// The file (or default binding) other than `file` serving `binding`'s bucket and kind.
    fn owner(&self, file: &Path, binding: &Binding) -> Option<PathBuf> {
        lock(&self.files).iter().find_map(|(p, st)| {
            let s = st.serving.as_ref()?;
            (p.as_path() != file
                && s.binding.bucket == binding.bucket
                && s.binding.kind == binding.kind)
                .then(|| p.clone())
        })
    }

    fn fail(&self, file: &Path, error: String, conflict: bool) -> ReloadOutcome {
        let mut files = lock(&self.files);
        let st = files.entry(file.to_path_buf()).or_default();
        if st.serving.is_some() {
            tracing::warn!(error = %error, "policy reload failed; the previous version keeps serving");
        } else {
            tracing::warn!(error = %error, "policy binding failed to load");
        }
        st.error = Some(error);
        st.conflict = conflict;
        st.overridden_by = None;
        // Only the failure that set it is a gate refusal (the gate sets it again after this).
        st.refused_hash = None;
        ReloadOutcome::Failed
    }

    /// The name of a file relative to the policies directory.
    fn display_name(&self, file: &Path) -> String {
        match &self.dir {
            Some(d) => file.strip_prefix(d).unwrap_or(file).display().to_string(),
            None => file.display().to_string(),
        }
    }

    /// The state of every binding file, sorted by file name.
    pub fn statuses(&self) -> Vec<BindingStatus> {
        let files = lock(&self.files);
        files.iter().map(|(p, st)| self.status_of(p, st)).collect()
    }

    /// The state of one binding file, if the registry knows it.
    pub fn status(&self, file: &Path) -> Option<BindingStatus> {
        let files = lock(&self.files);
        files.get(file).map(|st| self.status_of(file, st))
    }

    fn status_of(&self, file: &Path, st: &FileState) -> BindingStatus {
        // Report the serving binding, unless a newer parse says otherwise.
        let b = st
            .parsed
            .as_ref()
            .or(st.serving.as_ref().map(|s| &s.binding));
        let stats = st.serving.as_ref().map(|s| s.plugin.stats().snapshot());
        let quarantined = stats.as_ref().is_some_and(|s| s.quarantined);
        let state = if st.overridden_by.is_some() {
            "overridden"
        } else if st.error.is_some() {
            "failed"
        } else if quarantined {
            "quarantined"
        } else if st.rolled_back.is_some() && st.serving.is_some() {
            "rolled-back"
        } else if st.serving.is_some() {
            "active"
        } else {
            "failed"
        };
        BindingStatus {
            file: self.display_name(file),
            bucket: b.map(|b| b.bucket.clone()),
            kind: b.map(|b| b.kind),
            plugin: b.map(|b| b.plugin_raw.clone()),
            plugin_path: b.map(|b| b.plugin.display().to_string()),
            state,
            overridden_by: st.overridden_by.as_ref().map(|p| self.display_name(p)),
            error: st.error.clone(),
            serving: st.serving.is_some(),
            plugin_hash: stats.as_ref().map(|s| s.hash.clone()),
            config: st.serving.as_ref().map(|s| s.binding.config.clone()),
            loaded_at: stats
                .as_ref()
                .map(|s| crate::clock::iso8601(s.loaded_at, crate::clock::Fraction::WhenNonZero)),
            calls: stats.as_ref().map_or(0, |s| s.calls),
            failures: stats.as_ref().map_or(0, |s| s.failures),
            rejected: stats.as_ref().map_or(0, |s| s.rejected),
            mean_call_micros: stats
                .as_ref()
                .filter(|s| s.calls > 0)
                .map(|s| s.busy_micros as f64 / s.calls as f64),
            mean_hook_micros: st.serving.as_ref().and_then(|s| {
                let n = s.hook_calls.load(Ordering::Relaxed);
                (n > 0).then(|| s.hook_micros.load(Ordering::Relaxed) as f64 / n as f64)
            }),
            last_call_error: stats.and_then(|s| s.last_error),
            previous_hash: st
                .previous
                .as_ref()
                .map(|(p, _)| p.plugin.hash().to_string()),
            refused_hash: st.refused_hash.clone(),
            rolled_back: st.rolled_back.clone(),
            gate: st.gate.clone(),
        }
    }

    /// Rolls `file` back to the version its serving one replaced, if the serving one is
    /// quarantined and the previous one is not. The binding file is rewritten to the previous
    /// text when the previous plugin file still holds the previous plugin (so a restart serves
    /// it too); otherwise the file keeps naming the quarantined version (logged).
    pub async fn rollback(&self, file: &Path) -> bool {
        let _reloads = self.reload_lock.lock().await;
        let name = self.display_name(file);
        let (from, to, text, plugin_path, bucket, kind) = {
            let mut files = lock(&self.files);
            let Some(st) = files.get_mut(file) else {
                return false;
            };
            let Some(current) = st.serving.clone() else {
                return false;
            };
            if !current.plugin.is_quarantined() {
                return false;
            }
            let Some((previous, text)) = st.previous.take() else {
                return false;
            };
            if previous.plugin.is_quarantined() {
                st.previous = Some((previous, text));
                return false;
            }
            let from = current.plugin.hash().to_string();
            let to = previous.plugin.hash().to_string();
            st.rolled_back = Some(RolledBack {
                from: from.clone(),
                to: to.clone(),
                at: crate::clock::iso8601(
                    crate::store::now_millis(),
                    crate::clock::Fraction::WhenNonZero,
                ),
                reason: current.plugin.stats().last_error().unwrap_or_default(),
            });
            // What the file on disk will hold: the reload it triggers is then a no-op.
            st.fingerprint = Some((sha256_hex(text.as_bytes()), to.clone()));
            st.serving_text = Some(text.clone());
            let (bucket, kind) = (previous.binding.bucket.clone(), previous.binding.kind);
            let plugin_path = previous.binding.plugin.clone();
            st.serving = Some(previous);
            st.error = None;
            self.publish(&files);
            (from, to, text, plugin_path, bucket, kind)
        };
        self.rollbacks.fetch_add(1, Ordering::Relaxed);
        tracing::error!(binding = %name, bucket = %bucket, kind = %kind, from = %from, to = %to,
            "policy binding rolled back: the new version was quarantined; the previous version serves again");
        if let Some(audit) = self.audit.get().filter(|a| a.is_enabled()) {
            let mut e = AuditEntry::new("", "policy", "PolicyBindingRolledBack");
            e.key = Some(file.display().to_string());
            e.bucket = Some(bucket.clone());
            e.status = 200;
            audit.record(e);
        }
        // Keep the disk in step when the previous plugin is still there, byte for byte.
        let builtin = super::builtin::marker_name(&plugin_path).is_some();
        let dir = self.dir.clone();
        let target = file.to_path_buf();
        let expected = to.clone();
        let rewritten = tokio::task::spawn_blocking(move || {
            let same =
                builtin || std::fs::read(&plugin_path).is_ok_and(|w| sha256_hex(&w) == expected);
            if !same || dir.is_none() || defaults::is_default(&target) {
                return false;
            }
            crate::local_file::write(&target, &[text.as_bytes()], 0o644).is_ok()
        })
        .await
        .unwrap_or(false);
        if !rewritten {
            tracing::warn!(binding = %name,
                "the binding file still names the quarantined version (its previous plugin file changed); a restart would load it again");
        }
        true
    }

    /// After the gate refused a version put through the admin API: writes the serving
    /// version's text back to `file`, so the directory keeps describing what serves (and a
    /// restart does not load the refused version). Returns whether it did.
    pub async fn restore_serving_text(&self, file: &Path) -> bool {
        let _reloads = self.reload_lock.lock().await;
        let text = {
            let mut files = lock(&self.files);
            let Some(st) = files.get_mut(file) else {
                return false;
            };
            let (Some(_), Some(serving), Some(text)) =
                (&st.refused_hash, &st.serving, &st.serving_text)
            else {
                return false;
            };
            st.fingerprint = Some((
                sha256_hex(text.as_bytes()),
                serving.plugin.hash().to_string(),
            ));
            text.clone()
        };
        let target = file.to_path_buf();
        tokio::task::spawn_blocking(move || {
            crate::local_file::write(&target, &[text.as_bytes()], 0o644).is_ok()
        })
        .await
        .unwrap_or(false)
    }

    /// What binding text `text`, put as `name` in the policies directory, would do on its
    /// bucket, without serving it: the candidate is loaded apart, runs the gate (always), and
    /// decides on up to [`gate::PREVIEW_OBJECTS`] versions of the bucket as if it were `at`
    /// (default: the data plane's now), next to the serving version's decisions.
    pub async fn preview(
        &self,
        name: &str,
        text: &str,
        at: Option<Millis>,
    ) -> Result<Preview, PreviewError> {
        let (Some(dir), Some(engine)) = (self.dir.clone(), self.engine.clone()) else {
            return Err(PreviewError::Disabled);
        };
        let file = dir.join(name);
        let binding = bindings::parse(&file, text).map_err(|mut e| {
            e.location = e.location.replacen(&file.display().to_string(), name, 1);
            PreviewError::Invalid(e.to_string())
        })?;
        let live = self.live.get().cloned();
        let serving = self.binding(&binding.bucket, binding.kind);
        let serving_side = serving.as_ref().map(|s| {
            let state = self.status(&s.binding.file).map(|st| st.state);
            PreviewSide {
                file: Some(self.display_name(&s.binding.file)),
                plugin_hash: s.plugin.hash().to_string(),
                state,
            }
        });
        let label = format!("preview {name}");
        tokio::task::spawn_blocking(move || {
            let wasm = bindings::read_plugin_file(Some(&dir), &binding).map_err(|e| {
                PreviewError::Invalid(format!(
                    "{}: cannot read plugin {}: {e}",
                    file.display(),
                    binding.plugin_raw
                ))
            })?;
            let candidate = gate::probe(&engine, &binding, &wasm, &label)
                .map_err(|e| PreviewError::Load(format!("plugin {}: {e}", binding.plugin_raw)))?;
            let gate = gate::run(Some(&dir), &file, &binding, &candidate, live.as_ref());
            let now = at
                .or_else(|| live.as_ref().map(|l| l.clock.now()))
                .unwrap_or_else(crate::store::now_millis);
            let (objects, note) = match &live {
                Some(l) => match gate::sample(&l.store, &binding.bucket, gate::PREVIEW_OBJECTS) {
                    Ok(o) if o.len() == gate::PREVIEW_OBJECTS => (
                        o,
                        Some(format!(
                            "the first {} versions of the bucket in key order were evaluated",
                            gate::PREVIEW_OBJECTS
                        )),
                    ),
                    Ok(o) => (o, None),
                    Err(e) => (Vec::new(), Some(format!("cannot read the bucket: {e}"))),
                },
                None => (Vec::new(), Some("no bucket data on this server".into())),
            };
            let before = gate::decisions(
                binding.kind,
                serving.as_ref().map(|s| &s.plugin),
                &objects,
                now,
            );
            let after = gate::decisions(binding.kind, Some(&candidate), &objects, now);
            let mut changes = gate::diff(&before, &after);
            let changed = changes.len();
            let truncated = changed > gate::PREVIEW_CHANGES;
            changes.truncate(gate::PREVIEW_CHANGES);
            Ok(Preview {
                bucket: binding.bucket.clone(),
                kind: binding.kind,
                at_ms: now,
                serving: serving_side,
                candidate: PreviewSide {
                    file: None,
                    plugin_hash: candidate.hash().to_string(),
                    state: None,
                },
                gate,
                summary: PreviewSummary {
                    evaluated: after.len(),
                    changed,
                },
                changes,
                changes_truncated: truncated,
                note,
            })
        })
        .await
        .map_err(|e| PreviewError::Load(format!("the preview panicked: {e}")))?
    }

    /// Starts the task that rolls quarantined bindings back (see [`Self::rollback`]); it ends
    /// with `shutdown`.
    pub fn start_rollback_task(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let mut rx = lock(&self.quarantined_rx).take()?;
        let registry = Arc::downgrade(self);
        Some(tokio::spawn(async move {
            loop {
                tokio::select! {
                    file = rx.recv() => {
                        let Some(file) = file else { break };
                        let Some(r) = registry.upgrade() else { break };
                        r.rollback(&file).await;
                    }
                    _ = shutdown.changed() => break,
                }
            }
        }))
    }

    /// The binding files affected by changes to `paths`: binding files themselves (top level of
    /// the directory) and the bindings whose plugin is one of them. `rescan` if the directory
    /// itself changed.
    fn affected(&self, paths: &BTreeSet<PathBuf>) -> (BTreeSet<PathBuf>, bool) {
        let Some(dir) = &self.dir else {
            return (BTreeSet::new(), false);
        };
        let mut out = BTreeSet::new();
        let mut rescan = false;
        let files = lock(&self.files);
        for p in paths {
            if p == dir || dir.starts_with(p) {
                rescan = true;
                continue;
            }
            if p.parent() == Some(dir.as_path()) {
                if bindings::is_binding_file(p) {
                    out.insert(p.clone());
                } else if p.is_dir()
                    || p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(".."))
                {
                    // A directory or a `..data`-style symlink swap (Kubernetes ConfigMap
                    // volumes): the binding files may all have changed behind their symlinks.
                    rescan = true;
                }
            }
            let canon = p.canonicalize().ok();
            for (f, st) in files.iter() {
                let plugins = st
                    .parsed
                    .iter()
                    .chain(st.serving.as_ref().map(|s| &s.binding))
                    .map(|b| &b.plugin);
                for plugin in plugins {
                    if plugin == p
                        || canon.is_some()
                            && plugin.canonicalize().ok().as_deref() == canon.as_deref()
                    {
                        out.insert(f.clone());
                    }
                }
            }
        }
        (out, rescan)
    }

    /// Reloads whatever depends on the changed paths (called by the watcher and the admin API).
    pub async fn handle_changes(&self, paths: &BTreeSet<PathBuf>) {
        let (files, rescan) = self.affected(paths);
        if rescan {
            self.ensure_dir_watched();
            self.reload_all().await;
            return;
        }
        for f in files {
            self.reload_file(&f, false).await;
        }
    }

    /// Starts watching the policies directory and returns
    /// the task that debounces events and reloads. It stops when `shutdown` changes.
    pub fn start_watcher(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.dir.as_ref()?;
        let (tx, mut rx) = mpsc::unbounded_channel::<notify::Result<notify::Event>>();
        let watcher = match notify::recommended_watcher(move |ev| {
            let _ = tx.send(ev);
        }) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the policies directory; hot reload only through the admin API");
                return None;
            }
        };
        *lock(&self.watcher) = Some(WatchState {
            watcher,
            dir_watched: false,
        });
        self.ensure_dir_watched();
        let registry = Arc::downgrade(self);
        Some(tokio::spawn(async move {
            loop {
                let mut changed = BTreeSet::new();
                let mut rescan = false;
                // Wait for a first event, then for a quiet period.
                tokio::select! {
                    ev = rx.recv() => match ev {
                        Some(ev) => collect(ev, &mut changed, &mut rescan),
                        None => return,
                    },
                    _ = shutdown.changed() => return,
                }
                loop {
                    match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                        Ok(Some(ev)) => collect(ev, &mut changed, &mut rescan),
                        Ok(None) => return,
                        Err(_) => break,
                    }
                }
                let Some(registry) = registry.upgrade() else {
                    return;
                };
                if rescan {
                    registry.ensure_dir_watched();
                    registry.reload_all().await;
                } else if !changed.is_empty() {
                    tracing::debug!(paths = ?changed, "policy files changed");
                    registry.handle_changes(&changed).await;
                }
            }
        }))
    }

    /// Watches the policies directory if it exists and is not watched yet (again, after it was
    /// removed and recreated).
    pub fn ensure_dir_watched(&self) {
        let Some(dir) = &self.dir else { return };
        let mut guard = lock(&self.watcher);
        let Some(w) = guard.as_mut() else { return };
        if !dir.is_dir() {
            // Removed: its watch is gone with it.
            w.dir_watched = false;
            return;
        }
        if w.dir_watched {
            return;
        }
        use notify::Watcher;
        match w.watcher.watch(dir, notify::RecursiveMode::Recursive) {
            Ok(()) => {
                w.dir_watched = true;
                tracing::info!(dir = %dir.display(), "watching the policies directory");
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the policies directory")
            }
        }
    }

    /// The retention hook of object-creating writes (PUT, copy, complete-multipart), called
    /// before the version is committed.
    ///
    /// If `bucket` has a retention binding, the plugin decides on the new version. Its retention
    /// is applied only if the request set none (`new.retention` is `None`), and never shorter
    /// or weaker than the bucket's default (the later date, the stronger mode); its legal hold
    /// ORs with the request's. If the bucket has no object lock, nothing can be applied: the
    /// plugin is not called and a warning is logged once per binding. If the plugin fails, the
    /// version gets what the request and bucket default say (the failure is counted and logged
    /// by the host).
    pub async fn apply_retention(
        &self,
        bucket: &BucketInfo,
        key: &str,
        new: &mut NewVersion,
        now: Millis,
    ) {
        let Some(active) = self.binding(&bucket.name, PolicyKind::Retention) else {
            return;
        };
        if !bucket.object_lock_enabled {
            if !active.warned_no_lock.swap(true, Ordering::Relaxed) {
                tracing::warn!(bucket = %bucket.name, binding = %self.display_name(&active.binding.file),
                    "bucket has a retention binding but object lock is not enabled; its decisions cannot be applied");
            }
            return;
        }
        let object = ObjectVersion {
            bucket: bucket.name.clone(),
            key: key.to_string(),
            // Not assigned until the commit.
            version_id: String::new(),
            size: new.size,
            etag: new.etag.clone(),
            content_type: new.meta.content_type.clone(),
            last_modified: now,
            is_latest: true,
            is_delete_marker: false,
            user_metadata: new.meta.user.clone(),
            tags: new.tags.clone(),
            retention: new.retention,
            legal_hold: new.legal_hold,
            storage_class: new
                .meta
                .storage_class
                .clone()
                .unwrap_or_else(|| "STANDARD".into()),
            newer_versions: 0,
            noncurrent_since: None,
            // Unknown before the commit; retention policies decide on the new version itself.
            older_versions: 0,
        };
        let plugin = active.clone();
        let started = std::time::Instant::now();
        // A plugin whose calls have been short (microseconds) is called right here: a hop to
        // the blocking pool would cost more than the call. Until its calls have been measured,
        // or once they are slow, it runs on the blocking pool, so a slow plugin never holds an
        // async worker for long (and every call is bounded by the binding's time budget).
        let inline = plugin
            .plugin
            .stats()
            .mean_call_time()
            .is_some_and(|t| t < INLINE_CALL_LIMIT);
        let decided = if inline {
            Ok(plugin.plugin.retention(&object, now))
        } else {
            tokio::task::spawn_blocking(move || plugin.plugin.retention(&object, now)).await
        };
        active.hook_calls.fetch_add(1, Ordering::Relaxed);
        active
            .hook_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        let decision = match decided {
            Ok(Ok(d)) => d,
            // Logged and counted by the host; the request's and the bucket's settings apply.
            Ok(Err(_)) => return,
            Err(e) => {
                tracing::warn!(bucket = %bucket.name, error = %e, "retention plugin call panicked");
                return;
            }
        };
        new.legal_hold |= decision.legal_hold;
        if new.retention.is_none()
            && let Some(r) = decision.retention
            && r.retain_until > now
        {
            let default = bucket.default_retention.map(|d| Retention {
                mode: d.mode,
                retain_until: d.retain_until(now),
            });
            new.retention = Some(at_least(r, default));
        }
    }
}

/// `decided`, but never shorter or weaker than `floor`: the later date and the stronger mode.
pub fn at_least(decided: Retention, floor: Option<Retention>) -> Retention {
    let Some(floor) = floor else { return decided };
    let mode =
        if decided.mode == RetentionMode::Compliance || floor.mode == RetentionMode::Compliance {
            RetentionMode::Compliance
        } else {
            RetentionMode::Governance
        };
    Retention {
        mode,
        retain_until: decided.retain_until.max(floor.retain_until),
    }
}

fn collect(ev: notify::Result<notify::Event>, changed: &mut BTreeSet<PathBuf>, rescan: &mut bool) {
    use notify::EventKind;
    use notify::event::AccessKind;
    match ev {
        Ok(ev) => {
            if ev.need_rescan() {
                *rescan = true;
            }
            match ev.kind {
                // Opening and reading change nothing.
                EventKind::Access(AccessKind::Open(_) | AccessKind::Read) => {}
                _ => changed.extend(ev.paths),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "policy watcher error; rescanning");
            *rescan = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_floor() {
        let g = |d| Retention {
            mode: RetentionMode::Governance,
            retain_until: d,
        };
        let c = |d| Retention {
            mode: RetentionMode::Compliance,
            retain_until: d,
        };
        assert_eq!(at_least(g(10), None), g(10));
        assert_eq!(at_least(g(10), Some(g(5))), g(10));
        assert_eq!(at_least(g(10), Some(g(20))), g(20));
        assert_eq!(at_least(g(10), Some(c(5))), c(10));
        assert_eq!(at_least(c(10), Some(g(20))), c(20));
    }

    #[test]
    fn disabled_registry_has_no_bindings() {
        let r = PolicyRegistry::disabled();
        assert!(r.binding("bronze", PolicyKind::Retention).is_none());
        assert!(r.statuses().is_empty());
    }
}
