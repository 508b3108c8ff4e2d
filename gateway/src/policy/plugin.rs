//! A loaded plugin: how it is loaded, and its public calls, one per world export.
//!
//! [`PolicyEngine::load_with`] (here; [`PolicyEngine::load`] with default options) compiles the
//! component (`engine.rs`), checks it implements the requested world, creates and configures its
//! first instance (`pool.rs`) and runs the self-check (`validate.rs`), so a broken plugin fails
//! at load rather than on the request path. Each call of a [`LoadedPlugin`] converts its domain arguments to WIT values
//! (`wit.rs`), runs on an instance under the plugin's budget and containment (`call.rs`), and
//! validates what the plugin returned (`validate.rs`).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::call::{Request, Response, unexpected_response};
use super::engine::{EngineInner, LoadOptions, PolicyEngine};
use super::error::{PolicyError, describe};
use super::limits::Limits;
use super::pool::{NewInstanceError, Pool, Pre};
use super::stats::PluginStats;
use super::types::{
    BackupStep, ChangeEvent, LifecycleAction, LifecycleItem, Millis, ObjectVersion, PolicyKind,
    RetentionDecision, TargetEntry,
};
use super::validate::{resolve_steps, validate_lifecycle, validate_retention};
use super::wit;

/// Lifecycle batches are sent to the plugin in chunks of at most this many items, so the time
/// budget stays meaningful per call whatever the caller's batch size.
const LIFECYCLE_CHUNK: usize = 1000;

/// A loaded, configured plugin. Cheap to clone, `Send + Sync`: keep it in an `ArcSwap` and call
/// it from any thread or task (see `call.rs` about blocking).
#[derive(Clone)]
pub struct LoadedPlugin {
    inner: Arc<PluginInner>,
}

pub(super) struct PluginInner {
    pub(super) engine: Arc<EngineInner>,
    pub(super) kind: PolicyKind,
    pub(super) label: Arc<str>,
    /// The bucket named on `configure`'s log lines (empty when unknown).
    pub(super) bucket: Arc<str>,
    pub(super) limits: Limits,
    pub(super) config: String,
    pub(super) pre: Pre,
    pub(super) pool: Mutex<Pool>,
    pub(super) available: Condvar,
    pub(super) stats: Arc<PluginStats>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("label", &self.inner.label)
            .field("kind", &self.inner.kind)
            .field("hash", &self.inner.stats.hash())
            .finish_non_exhaustive()
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LoadedPlugin>();
};

impl PolicyEngine {
    /// [`Self::load`] with options (e.g. without the self-check, for tests and tools that want
    /// to exercise a plugin that fails on every input).
    pub fn load_with(
        &self,
        kind: PolicyKind,
        wasm: &[u8],
        config_json: &str,
        limits: Limits,
        label: &str,
        options: LoadOptions,
    ) -> Result<LoadedPlugin, PolicyError> {
        let engine = &self.inner;
        let started = Instant::now();
        if limits.memory_bytes > engine.options.max_memory_bytes {
            return Err(PolicyError::Instantiate(format!(
                "memory limit {} exceeds the engine's maximum {}",
                limits.memory_bytes, engine.options.max_memory_bytes
            )));
        }
        if limits.time_budget.is_zero() {
            return Err(PolicyError::Instantiate(
                "time budget must be positive".into(),
            ));
        }
        let mut limits = limits;
        limits.max_instances = limits.max_instances.clamp(1, 64);
        // An empty document means "no configuration" (the SDK reads it as `{}`).
        if !config_json.trim().is_empty()
            && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(config_json)
        {
            return Err(PolicyError::Configure(format!(
                "configuration is not valid JSON: {e}"
            )));
        }
        let (component, hash, origin) = engine.component(wasm)?;
        let instance_pre = engine.instance_pre(&component)?;
        let pre = match Pre::new(kind, instance_pre.clone()) {
            Ok(p) => p,
            Err(e) => {
                let others: Vec<&str> = PolicyKind::ALL
                    .into_iter()
                    .filter(|k| *k != kind && Pre::new(*k, instance_pre.clone()).is_ok())
                    .map(PolicyKind::as_str)
                    .collect();
                let detail = if others.is_empty() {
                    describe(&e)
                } else {
                    format!("{}; it implements: {}", describe(&e), others.join(", "))
                };
                return Err(PolicyError::WrongWorld {
                    expected: kind,
                    detail,
                });
            }
        };
        let label: Arc<str> = Arc::from(label);
        let stats = |load_time| {
            Arc::new(PluginStats::new(
                &label,
                kind,
                &hash,
                crate::store::now_millis(),
                origin,
                load_time,
            ))
        };
        let mut plugin = PluginInner {
            engine: engine.clone(),
            kind,
            label: label.clone(),
            bucket: Arc::from(options.bucket.as_deref().unwrap_or("")),
            limits,
            config: config_json.to_string(),
            pre,
            pool: Mutex::new(Pool::default()),
            available: Condvar::new(),
            // Replaced below once the load time is known.
            stats: stats(Duration::ZERO),
        };
        let mut inst = plugin
            .new_instance()
            .map_err(NewInstanceError::into_inner)?;
        if options.self_check {
            plugin.self_check(&mut inst)?;
        }
        plugin.stats = stats(started.elapsed());
        plugin.seed(inst);
        tracing::info!(plugin = %label, kind = %kind, hash = %hash, origin = ?origin,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "policy plugin loaded");
        Ok(LoadedPlugin {
            inner: Arc::new(plugin),
        })
    }
}

impl LoadedPlugin {
    pub fn kind(&self) -> PolicyKind {
        self.inner.kind
    }
    pub fn label(&self) -> &str {
        &self.inner.label
    }
    /// Hex SHA-256 of the component bytes.
    pub fn hash(&self) -> &str {
        self.inner.stats.hash()
    }
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
    /// Live counters, shared: keep the `Arc` to watch this plugin from the admin API.
    pub fn stats(&self) -> &Arc<PluginStats> {
        &self.inner.stats
    }
    pub fn is_quarantined(&self) -> bool {
        self.inner.stats.is_quarantined()
    }
    /// Lets a quarantined plugin run again (an operator decision; reloading does the same).
    pub fn lift_quarantine(&self) {
        self.inner.stats.lift_quarantine();
        tracing::info!(plugin = %self.inner.label, "policy plugin quarantine lifted");
    }

    /// Retention decision for a freshly written version. Returns `InvalidReturn` for a
    /// retain-until that is not in the future or more than 100 years ahead.
    pub fn retention(
        &self,
        object: &ObjectVersion,
        now: Millis,
    ) -> Result<RetentionDecision, PolicyError> {
        if self.inner.kind != PolicyKind::Retention {
            return Err(self.inner.wrong_kind(PolicyKind::Retention));
        }
        self.inner
            .guarded(&object.bucket, || self.inner.retention(object, now))
    }

    /// [`Self::retention`], or [`RetentionDecision::none`] on any error (already logged and
    /// counted): the bucket default still applies, nothing is shortened.
    pub fn retention_or_safe(&self, object: &ObjectVersion, now: Millis) -> RetentionDecision {
        self.retention(object, now)
            .unwrap_or_else(|_| RetentionDecision::none())
    }

    /// One action per item, in order (sent in chunks of 1000 items). `InvalidReturn` if the
    /// plugin answers with the wrong number of actions or an action that cannot apply to its
    /// item (`abort-upload` for a version, `expire*` for an upload, `expire-noncurrent` for the
    /// latest version).
    pub fn lifecycle(
        &self,
        items: &[LifecycleItem],
        now: Millis,
    ) -> Result<Vec<LifecycleAction>, PolicyError> {
        if self.inner.kind != PolicyKind::Lifecycle {
            return Err(self.inner.wrong_kind(PolicyKind::Lifecycle));
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let bucket = items[0].bucket();
        self.inner
            .guarded(bucket, || self.inner.lifecycle(items, now))
    }

    /// [`Self::lifecycle`], or `Keep` for every item on any error.
    pub fn lifecycle_or_keep(&self, items: &[LifecycleItem], now: Millis) -> Vec<LifecycleAction> {
        self.lifecycle(items, now)
            .unwrap_or_else(|_| vec![LifecycleAction::Keep; items.len()])
    }

    /// Plans the backup of a batch of change events. Copies name the host's own records of the
    /// event objects; target paths must follow the target path rule
    /// ([`check_target_path`](super::target_path::check_target_path), empty segments
    /// allowed).
    pub fn backup_changes(
        &self,
        events: &[ChangeEvent],
        now: Millis,
    ) -> Result<Vec<BackupStep>, PolicyError> {
        if self.inner.kind != PolicyKind::Backup {
            return Err(self.inner.wrong_kind(PolicyKind::Backup));
        }
        let bucket = events
            .first()
            .map(|e| e.object.bucket.as_str())
            .unwrap_or("");
        self.inner
            .guarded(bucket, || self.inner.backup_changes(events, now))
    }

    /// Plans a full run over one page of source objects and the target entries of the same key
    /// range. Not chunked: pass pages the plugin can plan within its time budget.
    pub fn backup_full(
        &self,
        objects: &[ObjectVersion],
        existing: &[TargetEntry],
        now: Millis,
    ) -> Result<Vec<BackupStep>, PolicyError> {
        if self.inner.kind != PolicyKind::Backup {
            return Err(self.inner.wrong_kind(PolicyKind::Backup));
        }
        let bucket = objects.first().map(|o| o.bucket.as_str()).unwrap_or("");
        self.inner
            .guarded(bucket, || self.inner.backup_full(objects, existing, now))
    }
}

impl PluginInner {
    fn wrong_kind(&self, expected: PolicyKind) -> PolicyError {
        PolicyError::WrongWorld {
            expected,
            detail: format!("plugin `{}` is a {} plugin", self.label, self.kind),
        }
    }

    fn retention(
        &self,
        object: &ObjectVersion,
        now: Millis,
    ) -> Result<RetentionDecision, PolicyError> {
        let o = wit::object_to_wit(object);
        match self.run(&object.bucket, now, &Request::Retention(&o))? {
            Response::Retention(d) => validate_retention(wit::decision_from_wit(d), now),
            _ => Err(unexpected_response()),
        }
    }

    fn lifecycle(
        &self,
        items: &[LifecycleItem],
        now: Millis,
    ) -> Result<Vec<LifecycleAction>, PolicyError> {
        let bucket = items.first().map(LifecycleItem::bucket).unwrap_or("");
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(LIFECYCLE_CHUNK) {
            let w: Vec<_> = chunk.iter().map(wit::item_to_wit).collect();
            match self.run(bucket, now, &Request::Lifecycle(&w))? {
                Response::Lifecycle(actions) => {
                    validate_lifecycle(chunk, &actions)?;
                    out.extend(actions.into_iter().map(wit::action_from_wit));
                }
                _ => return Err(unexpected_response()),
            }
        }
        Ok(out)
    }

    fn backup_changes(
        &self,
        events: &[ChangeEvent],
        now: Millis,
    ) -> Result<Vec<BackupStep>, PolicyError> {
        let bucket = events
            .first()
            .map(|e| e.object.bucket.as_str())
            .unwrap_or("");
        let w: Vec<_> = events.iter().map(wit::event_to_wit).collect();
        match self.run(bucket, now, &Request::BackupChanges(&w))? {
            Response::Backup(steps) => resolve_steps(steps, events.iter().map(|e| &e.object)),
            _ => Err(unexpected_response()),
        }
    }

    fn backup_full(
        &self,
        objects: &[ObjectVersion],
        existing: &[TargetEntry],
        now: Millis,
    ) -> Result<Vec<BackupStep>, PolicyError> {
        let bucket = objects.first().map(|o| o.bucket.as_str()).unwrap_or("");
        let wo: Vec<_> = objects.iter().map(wit::object_to_wit).collect();
        let we: Vec<_> = existing.iter().map(wit::target_to_wit).collect();
        match self.run(bucket, now, &Request::BackupFull(&wo, &we))? {
            Response::Backup(steps) => resolve_steps(steps, objects.iter()),
            _ => Err(unexpected_response()),
        }
    }
}
