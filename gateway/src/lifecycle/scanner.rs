//! The lifecycle scanner: walks a bucket's versions and incomplete uploads in pages, asks the
//! bucket's lifecycle plugin for a decision in batches, and carries the decisions out through
//! the store ([`Store::apply_lifecycle`]), which applies the same versioning and object-lock
//! rules as S3 requests and re-checks each item inside the committing transaction.
//!
//! - Versions are read newest first per key; a key's versions are grouped before they are sent,
//!   so every version carries `newer-versions`, `older-versions` and `noncurrent-since`.
//! - A plugin that fails (trap, budget, garbage) keeps every item of its batch (the safe choice)
//!   and the failure is counted in the report. An action that cannot apply to its item (expire a
//!   noncurrent version, remove a delete marker that hides versions) is refused and counted.
//! - Progress is saved every few batches in the store's `system` table: a scan interrupted by a
//!   restart resumes after the last saved key. The last report of each bucket is kept there too.
//! - A dry run evaluates the same decisions and predicts object-lock refusals, changing nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::policy::registry::PolicyRegistry;
use crate::policy::types::{
    LifecycleAction, LifecycleItem, ObjectVersion, PolicyKind, PolicyUpload,
};
use crate::store::{LifecycleOp, LifecycleOutcome, Millis, Store, StoreError, VersionRecord};
use crate::sync::lock;
use crate::telemetry::{Histogram, JOB_SECONDS};

/// Versions (and uploads) per plugin call.
const BATCH: usize = 1000;
/// Versions read from the store per page.
const PAGE: usize = 2000;
/// Progress is saved every this many batches.
const SAVE_EVERY: usize = 16;
/// At most this many planned actions are listed in a report (the counters are always exact).
const MAX_LISTED: usize = 10_000;

/// Why a scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("bucket {0:?} has no lifecycle policy")]
    NoPolicy(String),
    #[error("a lifecycle scan of bucket {0:?} is already running")]
    Busy(String),
    #[error("a scan at another time than now must be a dry run")]
    AtNeedsDryRun,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One decision that is not "keep", as a report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub key: String,
    /// The version, or the upload id for `abort-upload`.
    pub id: String,
    pub action: LifecycleAction,
    /// What happened (or, in a dry run, what would): `done`, `delete-marker <id>`,
    /// `locked: ...`, `stale`, `refused: ...`.
    pub outcome: String,
}

/// What one scan of one bucket saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    pub bucket: String,
    pub dry_run: bool,
    /// The plugin's binding (file name) or `s3-lifecycle-configuration`.
    pub policy: String,
    /// The data plane's time the decisions were made at.
    pub now_ms: Millis,
    pub started_ms: Millis,
    pub finished_ms: Option<Millis>,
    pub elapsed_ms: u64,
    /// Resumed after a restart from this key.
    pub resumed_from: Option<String>,
    pub versions_scanned: u64,
    pub uploads_scanned: u64,
    pub plugin_calls: u64,
    pub kept: u64,
    /// Latest versions disposed of (a delete marker added, or removed when unversioned).
    pub expired: u64,
    pub noncurrent_deleted: u64,
    pub delete_markers_removed: u64,
    pub uploads_aborted: u64,
    /// Actions object lock refused.
    pub locked: u64,
    /// Actions skipped because the item changed since it was read.
    pub stale: u64,
    /// Actions that cannot apply to their item (a plugin bug), refused.
    pub refused: u64,
    /// Plugin batches that failed (every item kept).
    pub plugin_failures: u64,
    pub errors: Vec<String>,
    /// Non-keep decisions, at most [`MAX_LISTED`].
    pub actions: Vec<PlannedAction>,
    pub actions_truncated: bool,
}

impl ScanReport {
    fn list(&mut self, a: PlannedAction) {
        if self.actions.len() < MAX_LISTED {
            self.actions.push(a);
        } else {
            self.actions_truncated = true;
        }
    }

    fn error(&mut self, e: impl Into<String>) {
        if self.errors.len() < 100 {
            self.errors.push(e.into());
        }
    }
}

/// Saved in the store between batches and after the run.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SavedState {
    /// Set while a (non-dry) scan runs: resume after this key.
    cursor: Option<String>,
    last: Option<ScanReport>,
}

/// The scanner service: runs scans (on demand and periodically) and remembers their reports.
pub struct LifecycleScanner {
    store: Arc<Store>,
    policies: Arc<PolicyRegistry>,
    clock: Arc<Clock>,
    running: Mutex<BTreeSet<String>>,
    progress: Mutex<BTreeMap<String, ScanReport>>,
    /// The builtin lifecycle plugin configured with S3 lifecycle configurations, by config.
    s3_plugins: Mutex<BTreeMap<String, crate::policy::LoadedPlugin>>,
    /// What the scans (not dry runs) have done, for the metrics.
    pub stats: ScannerStats,
}

/// Totals over every (non-dry) scan since start.
#[derive(Debug)]
pub struct ScannerStats {
    pub scans: AtomicU64,
    pub failed_scans: AtomicU64,
    pub versions_scanned: AtomicU64,
    pub uploads_scanned: AtomicU64,
    /// Actions taken, by [`ScannerStats::ACTIONS`] entry.
    pub actions: [AtomicU64; 5],
    pub duration: Histogram,
    /// When the last successful scan finished (ms since the epoch; 0: none yet).
    pub last_success_ms: AtomicI64,
}

impl ScannerStats {
    /// The `action` label values of [`ScannerStats::actions`].
    pub const ACTIONS: [&'static str; 5] = [
        "expire",
        "delete_noncurrent",
        "remove_delete_marker",
        "abort_upload",
        "refused_by_lock",
    ];

    fn new() -> Self {
        ScannerStats {
            scans: AtomicU64::new(0),
            failed_scans: AtomicU64::new(0),
            versions_scanned: AtomicU64::new(0),
            uploads_scanned: AtomicU64::new(0),
            actions: Default::default(),
            duration: Histogram::new(JOB_SECONDS),
            last_success_ms: AtomicI64::new(0),
        }
    }

    fn record(&self, report: &ScanReport, ok: bool, elapsed: Duration) {
        let add = |c: &AtomicU64, n: u64| c.fetch_add(n, Ordering::Relaxed);
        add(&self.scans, 1);
        if !ok {
            add(&self.failed_scans, 1);
        }
        add(&self.versions_scanned, report.versions_scanned);
        add(&self.uploads_scanned, report.uploads_scanned);
        for (c, n) in self.actions.iter().zip([
            report.expired,
            report.noncurrent_deleted,
            report.delete_markers_removed,
            report.uploads_aborted,
            report.locked,
        ]) {
            add(c, n);
        }
        self.duration.observe_duration(elapsed);
        if ok {
            self.last_success_ms
                .store(crate::store::now_millis(), Ordering::Relaxed);
        }
    }
}

/// Turns one key's versions (newest first) into lifecycle items.
fn key_items(bucket: &str, key: &str, versions: &[VersionRecord], out: &mut Vec<LifecycleItem>) {
    let n = versions.len();
    for (i, v) in versions.iter().enumerate() {
        let noncurrent_since = (i > 0).then(|| versions[i - 1].last_modified);
        out.push(LifecycleItem::Version(ObjectVersion::of_version(
            bucket,
            key,
            v,
            i as u32,
            (n - 1 - i) as u32,
            noncurrent_since,
        )));
    }
}

/// Maps a decision to the store operation that carries it out, or why it cannot apply.
fn op_for(item: &LifecycleItem, action: LifecycleAction) -> Result<Option<LifecycleOp>, String> {
    use LifecycleAction::*;
    match (item, action) {
        (_, Keep) => Ok(None),
        (LifecycleItem::Upload(u), AbortUpload) => Ok(Some(LifecycleOp::AbortUpload {
            key: u.key.clone(),
            upload_id: u.upload_id.clone(),
        })),
        (LifecycleItem::Upload(_), a) => Err(format!("{a:?} cannot apply to an upload")),
        (LifecycleItem::Version(_), AbortUpload) => {
            Err("abort-upload cannot apply to a version".into())
        }
        (LifecycleItem::Version(v), Expire) if v.is_latest && !v.is_delete_marker => {
            Ok(Some(LifecycleOp::ExpireCurrent {
                key: v.key.clone(),
                version_id: v.version_id.clone(),
            }))
        }
        (LifecycleItem::Version(v), Expire) if v.is_latest => {
            if v.older_versions > 0 {
                Err("expire on a delete marker that hides older versions".into())
            } else {
                Ok(Some(LifecycleOp::RemoveExpiredMarker {
                    key: v.key.clone(),
                    version_id: v.version_id.clone(),
                }))
            }
        }
        (LifecycleItem::Version(_), Expire) => {
            Err("expire on a noncurrent version (use expire-noncurrent)".into())
        }
        (LifecycleItem::Version(v), ExpireNoncurrent) if !v.is_latest => {
            Ok(Some(LifecycleOp::DeleteNoncurrent {
                key: v.key.clone(),
                version_id: v.version_id.clone(),
            }))
        }
        (LifecycleItem::Version(_), ExpireNoncurrent) => {
            Err("expire-noncurrent on the latest version".into())
        }
    }
}

fn item_id(item: &LifecycleItem) -> (&str, &str) {
    match item {
        LifecycleItem::Version(v) => (&v.key, &v.version_id),
        LifecycleItem::Upload(u) => (&u.key, &u.upload_id),
    }
}

/// What object lock would say about an action, for dry runs.
fn predict(item: &LifecycleItem, now: Millis) -> String {
    if let LifecycleItem::Version(v) = item
        && !v.is_delete_marker
    {
        if v.legal_hold {
            return "locked: object version is under legal hold".into();
        }
        if let Some(r) = v.retention
            && r.retain_until > now
        {
            return format!(
                "locked: object version is under {} retention",
                r.mode.as_str()
            );
        }
    }
    "would apply".into()
}

impl LifecycleScanner {
    pub fn new(store: Arc<Store>, policies: Arc<PolicyRegistry>, clock: Arc<Clock>) -> Self {
        LifecycleScanner {
            store,
            policies,
            clock,
            running: Mutex::new(BTreeSet::new()),
            progress: Mutex::new(BTreeMap::new()),
            s3_plugins: Mutex::new(BTreeMap::new()),
            stats: ScannerStats::new(),
        }
    }

    /// The buckets that have a lifecycle policy (a binding or an S3 configuration).
    pub fn bound_buckets(&self) -> Vec<String> {
        let Ok(buckets) = self.store.list_buckets() else {
            return Vec::new();
        };
        buckets
            .into_iter()
            .map(|b| b.name)
            .filter(|b| {
                self.policies.binding(b, PolicyKind::Lifecycle).is_some()
                    || self.store.s3_lifecycle(b).ok().flatten().is_some()
            })
            .collect()
    }

    /// S3's `x-amz-expiration` for the current object `o` of `bucket`: when the bucket's
    /// lifecycle configuration (a `builtin:lifecycle` binding, else its S3 configuration) will
    /// expire it, and by which rule.
    pub fn expiration_header(
        &self,
        bucket: &str,
        o: &super::expiry::ObjectFacts<'_>,
    ) -> Option<String> {
        let (at, rule) = match self.policies.binding(bucket, PolicyKind::Lifecycle) {
            Some(active) if active.binding.plugin_raw == "builtin:lifecycle" => {
                super::expiry::expiry_of(&active.binding.config, o)?
            }
            Some(_) => return None,
            None => {
                let text = self.store.s3_lifecycle(bucket).ok()??;
                let config: serde_json::Value = serde_json::from_str(&text).ok()?;
                super::expiry::expiry_of(&config, o)?
            }
        };
        let t = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(at).ok()?.min(253_402_300_799_000));
        Some(format!(
            "expiry-date=\"{}\", rule-id=\"{rule}\"",
            httpdate::fmt_http_date(t)
        ))
    }

    /// The builtin lifecycle plugin configured with `config` (an S3 lifecycle configuration as
    /// translated by `s3/lifecycle.rs`), loaded once per distinct configuration. Blocking.
    pub fn s3_plugin(
        &self,
        config: &str,
    ) -> Result<crate::policy::LoadedPlugin, crate::policy::PolicyError> {
        if let Some(p) = lock(&self.s3_plugins).get(config) {
            return Ok(p.clone());
        }
        let Some(engine) = self.policies.engine() else {
            return Err(crate::policy::PolicyError::Instantiate(
                "the policy engine is off on this server".into(),
            ));
        };
        let wasm = crate::policy::builtin::get("lifecycle").ok_or_else(|| {
            crate::policy::PolicyError::Instantiate(
                "this build has no builtin lifecycle plugin".into(),
            )
        })?;
        let plugin = engine.load(
            PolicyKind::Lifecycle,
            wasm,
            config,
            crate::policy::Limits::default(),
            "s3-lifecycle-configuration",
        )?;
        let mut cache = lock(&self.s3_plugins);
        if cache.len() >= 1024 {
            cache.clear();
        }
        cache.insert(config.to_string(), plugin.clone());
        Ok(plugin)
    }

    /// The bucket's lifecycle plugin and how to name it: its binding, else its S3 configuration.
    async fn policy_for(
        &self,
        bucket: &str,
    ) -> Result<(crate::policy::LoadedPlugin, String), ScanError> {
        if let Some(active) = self.policies.binding(bucket, PolicyKind::Lifecycle) {
            let name = active
                .binding
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok((active.plugin.clone(), name));
        }
        let Some(config) = self.store.s3_lifecycle(bucket)? else {
            return Err(ScanError::NoPolicy(bucket.to_string()));
        };
        // Loading is a cache hit after the first scan; a first load compiles (blocking).
        let load = || self.s3_plugin(&config);
        let loaded = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(load),
            _ => load(),
        };
        let plugin = loaded.map_err(|e| {
            ScanError::Store(StoreError::Io(format!(
                "the bucket's lifecycle configuration cannot be loaded: {e}"
            )))
        })?;
        Ok((plugin, "s3-lifecycle-configuration".into()))
    }

    /// The last finished report of `bucket` and the progress of a running scan, if any.
    pub fn status(&self, bucket: &str) -> (Option<ScanReport>, Option<ScanReport>) {
        let last = self
            .store
            .lifecycle_state(bucket)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<SavedState>(&b).ok())
            .and_then(|s| s.last);
        let running = lock(&self.progress).get(bucket).cloned();
        (last, running)
    }

    async fn save(&self, bucket: &str, state: &SavedState) {
        let bytes = serde_json::to_vec(state).unwrap_or_default();
        if let Err(e) = self.store.set_lifecycle_state(bucket, Some(bytes)).await {
            tracing::warn!(bucket, error = %e, "cannot save the lifecycle scanner's state");
        }
    }

    /// Scans `bucket` once with its lifecycle binding. A dry run changes nothing.
    pub async fn scan(&self, bucket: &str, dry_run: bool) -> Result<ScanReport, ScanError> {
        self.scan_at(bucket, dry_run, None).await
    }

    /// [`Self::scan`], deciding as if it were `at` (a dry run only: "what would lifecycle do
    /// on that day"); `None`: now.
    pub async fn scan_at(
        &self,
        bucket: &str,
        dry_run: bool,
        at: Option<Millis>,
    ) -> Result<ScanReport, ScanError> {
        if at.is_some() && !dry_run {
            return Err(ScanError::AtNeedsDryRun);
        }
        self.store.bucket(bucket)?;
        let (plugin, policy) = self.policy_for(bucket).await?;
        if !dry_run && !lock(&self.running).insert(bucket.to_string()) {
            return Err(ScanError::Busy(bucket.to_string()));
        }
        let started = Instant::now();
        let now = at.unwrap_or_else(|| self.clock.now());
        let saved: SavedState = self
            .store
            .lifecycle_state(bucket)
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let resume = if dry_run { None } else { saved.cursor.clone() };
        let mut report = ScanReport {
            bucket: bucket.to_string(),
            dry_run,
            policy,
            now_ms: now,
            started_ms: crate::store::now_millis(),
            resumed_from: resume.clone(),
            ..Default::default()
        };
        if let Some(k) = &resume {
            tracing::info!(bucket, after = %k, "resuming an interrupted lifecycle scan");
        }
        let result = self
            .walk(
                bucket,
                &plugin,
                now,
                dry_run,
                resume,
                &mut report,
                saved.last,
            )
            .await;
        report.finished_ms = Some(crate::store::now_millis());
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        lock(&self.progress).remove(bucket);
        if !dry_run {
            lock(&self.running).remove(bucket);
            self.stats
                .record(&report, result.is_ok(), started.elapsed());
        }
        result?;
        if !dry_run {
            let mut last = report.clone();
            // The saved report keeps the counters; the action list is for the caller.
            last.actions.truncate(100);
            self.save(
                bucket,
                &SavedState {
                    cursor: None,
                    last: Some(last),
                },
            )
            .await;
        }
        tracing::info!(
            bucket,
            dry_run,
            versions = report.versions_scanned,
            uploads = report.uploads_scanned,
            expired = report.expired,
            noncurrent_deleted = report.noncurrent_deleted,
            markers_removed = report.delete_markers_removed,
            uploads_aborted = report.uploads_aborted,
            locked = report.locked,
            plugin_failures = report.plugin_failures,
            elapsed_ms = report.elapsed_ms,
            "lifecycle scan finished"
        );
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    async fn walk(
        &self,
        bucket: &str,
        plugin: &crate::policy::LoadedPlugin,
        now: Millis,
        dry_run: bool,
        resume: Option<String>,
        report: &mut ScanReport,
        last: Option<ScanReport>,
    ) -> Result<(), ScanError> {
        let mut batch: Vec<LifecycleItem> = Vec::with_capacity(BATCH + 64);
        let mut group: Vec<VersionRecord> = Vec::new();
        let mut group_key: Option<String> = None;
        let from = resume.as_deref().map(resume_after).unwrap_or_default();
        let mut after: Option<(String, String)> = None;
        let mut batches = 0usize;
        loop {
            let page = {
                let store = self.store.clone();
                let (b, f, a) = (bucket.to_string(), from.clone(), after.clone());
                tokio::task::spawn_blocking(move || {
                    store.scan_versions(
                        &b,
                        "",
                        &f,
                        a.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
                        PAGE,
                    )
                })
                .await
                .map_err(|e| StoreError::Io(format!("scan task failed: {e}")))??
            };
            let done = page.len() < PAGE;
            if let Some((k, v)) = page.last() {
                after = Some((k.clone(), v.version_id.clone()));
            }
            for (key, v) in page {
                if group_key.as_deref() != Some(key.as_str()) {
                    if let Some(k) = group_key.take() {
                        key_items(bucket, &k, &group, &mut batch);
                        group.clear();
                        if batch.len() >= BATCH {
                            self.decide_and_apply(bucket, plugin, now, dry_run, &mut batch, report)
                                .await?;
                            batches += 1;
                            if !dry_run && batches.is_multiple_of(SAVE_EVERY) {
                                self.save(
                                    bucket,
                                    &SavedState {
                                        cursor: Some(k.clone()),
                                        last: last.clone(),
                                    },
                                )
                                .await;
                            }
                        }
                    }
                    group_key = Some(key);
                }
                group.push(v);
            }
            if done {
                break;
            }
        }
        if let Some(k) = group_key.take() {
            key_items(bucket, &k, &group, &mut batch);
        }
        self.decide_and_apply(bucket, plugin, now, dry_run, &mut batch, report)
            .await?;
        // Incomplete uploads (not resumable: there are few of them).
        let mut after: Option<(String, String)> = None;
        loop {
            let page = {
                let store = self.store.clone();
                let (b, a) = (bucket.to_string(), after.clone());
                tokio::task::spawn_blocking(move || {
                    store.scan_uploads(
                        &b,
                        "",
                        b"",
                        a.as_ref().map(|(k, v)| (k.as_str(), v.as_str())),
                        BATCH,
                    )
                })
                .await
                .map_err(|e| StoreError::Io(format!("scan task failed: {e}")))??
            };
            let done = page.len() < BATCH;
            if let Some(u) = page.last() {
                after = Some((u.key.clone(), u.upload_id.clone()));
            }
            report.uploads_scanned += page.len() as u64;
            batch.extend(page.into_iter().map(|u| {
                LifecycleItem::Upload(PolicyUpload {
                    bucket: bucket.to_string(),
                    key: u.key,
                    upload_id: u.upload_id,
                    initiated: u.initiated,
                })
            }));
            self.decide_and_apply(bucket, plugin, now, dry_run, &mut batch, report)
                .await?;
            if done {
                break;
            }
        }
        Ok(())
    }

    /// Asks the plugin about `batch` (then empties it) and carries the decisions out.
    async fn decide_and_apply(
        &self,
        bucket: &str,
        plugin: &crate::policy::LoadedPlugin,
        now: Millis,
        dry_run: bool,
        batch: &mut Vec<LifecycleItem>,
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        if batch.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(batch);
        report.versions_scanned += items
            .iter()
            .filter(|i| matches!(i, LifecycleItem::Version(_)))
            .count() as u64;
        report.plugin_calls += 1;
        let (items, decided) = {
            let plugin = plugin.clone();
            tokio::task::spawn_blocking(move || {
                let d = plugin.lifecycle(&items, now);
                (items, d)
            })
            .await
            .map_err(|e| StoreError::Io(format!("plugin task failed: {e}")))?
        };
        let actions = match decided {
            Ok(a) => a,
            Err(e) => {
                report.plugin_failures += 1;
                report.kept += items.len() as u64;
                report.error(format!("plugin failed, batch kept: {e}"));
                return Ok(());
            }
        };
        let mut ops = Vec::new();
        let mut planned: Vec<(usize, LifecycleAction)> = Vec::new();
        for (i, (item, action)) in items.iter().zip(actions).enumerate() {
            match op_for(item, action) {
                Ok(None) => report.kept += 1,
                Ok(Some(op)) => {
                    ops.push(op);
                    planned.push((i, action));
                }
                Err(why) => {
                    report.refused += 1;
                    let (key, id) = item_id(item);
                    report.list(PlannedAction {
                        key: key.to_string(),
                        id: id.to_string(),
                        action,
                        outcome: format!("refused: {why}"),
                    });
                }
            }
        }
        if ops.is_empty() {
            self.publish(bucket, report);
            return Ok(());
        }
        let outcomes: Vec<LifecycleOutcome> = if dry_run {
            planned
                .iter()
                .map(|(i, _)| {
                    let p = predict(&items[*i], now);
                    match p.strip_prefix("locked: ") {
                        Some(why) => LifecycleOutcome::Locked(why.to_string()),
                        None => LifecycleOutcome::Done {
                            delete_marker: None,
                        },
                    }
                })
                .collect()
        } else {
            self.store.apply_lifecycle(bucket, ops, now).await?
        };
        for ((i, action), outcome) in planned.into_iter().zip(outcomes) {
            let item = &items[i];
            let text = match &outcome {
                LifecycleOutcome::Done { delete_marker } => {
                    match (action, item) {
                        (LifecycleAction::Expire, LifecycleItem::Version(v))
                            if v.is_delete_marker =>
                        {
                            report.delete_markers_removed += 1
                        }
                        (LifecycleAction::Expire, _) => report.expired += 1,
                        (LifecycleAction::ExpireNoncurrent, _) => report.noncurrent_deleted += 1,
                        (LifecycleAction::AbortUpload, _) => report.uploads_aborted += 1,
                        (LifecycleAction::Keep, _) => {}
                    }
                    match (dry_run, delete_marker) {
                        (true, _) => "would apply".to_string(),
                        (false, Some(m)) => format!("delete-marker {m}"),
                        (false, None) => "done".to_string(),
                    }
                }
                LifecycleOutcome::Locked(why) => {
                    report.locked += 1;
                    format!("locked: {why}")
                }
                LifecycleOutcome::Stale => {
                    report.stale += 1;
                    "stale".to_string()
                }
            };
            let (key, id) = item_id(item);
            report.list(PlannedAction {
                key: key.to_string(),
                id: id.to_string(),
                action,
                outcome: text,
            });
        }
        self.publish(bucket, report);
        Ok(())
    }

    /// Makes a running scan's counters visible to the status endpoint.
    fn publish(&self, bucket: &str, report: &ScanReport) {
        let mut shown = report.clone();
        shown.actions = Vec::new();
        lock(&self.progress).insert(bucket.to_string(), shown);
    }

    /// Scans every bucket with a lifecycle binding every `interval` (first after `first`), and
    /// resumes interrupted scans at start.
    pub fn start(
        self: &Arc<Self>,
        first: Duration,
        interval: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut wait = first;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => return,
                }
                for bucket in me.bound_buckets() {
                    if *shutdown.borrow() {
                        return;
                    }
                    match me.scan(&bucket, false).await {
                        Ok(_) | Err(ScanError::Busy(_)) | Err(ScanError::NoPolicy(_)) => {}
                        Err(e) => {
                            tracing::warn!(bucket = %bucket, error = %e, "lifecycle scan failed")
                        }
                    }
                }
                wait = interval;
            }
        })
    }
}

/// Where a resumed scan starts: just past every version of `key` (whose version records are
/// `key \0 seq`; no key contains a byte below `\t`, so `key \x01` sorts before the next key).
fn resume_after(key: &str) -> Vec<u8> {
    let mut from = key.as_bytes().to_vec();
    from.push(1);
    from
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(key: &str, vid: &str, t: Millis, dm: bool) -> VersionRecord {
        VersionRecord {
            version_id: vid.into(),
            seq: 0,
            is_delete_marker: dm,
            last_modified: t,
            size: 1,
            etag: "e".into(),
            data: crate::store::ObjectData::empty(),
            meta: Default::default(),
            checksum: None,
            parts: Vec::new(),
            tags: vec![("k".into(), key.into())],
            retention: None,
            legal_hold: false,
            owner: None,
            acl: None,
            encryption: None,
        }
    }

    #[tokio::test]
    async fn a_resumed_scan_starts_after_the_saved_key() {
        use crate::store::{NewVersion, StoreOptions, WriteConditions};
        let dir = std::env::temp_dir().join(format!("lakegate-scan-{}", uuid::Uuid::new_v4()));
        let store = Store::open(&dir, StoreOptions::default()).await.unwrap();
        store
            .create_bucket("bkt", "us-east-1", true, 1)
            .await
            .unwrap();
        for (i, k) in ["a", "a", "a!", "ab", "b"].iter().enumerate() {
            let v = NewVersion {
                data: crate::store::ObjectData::empty(),
                size: 0,
                etag: "e".into(),
                meta: Default::default(),
                checksum: None,
                parts: Vec::new(),
                tags: Vec::new(),
                retention: None,
                legal_hold: false,
                owner: None,
                acl: None,
                encryption: None,
            };
            store
                .put_version("bkt", k, v, WriteConditions::default(), 10 + i as i64)
                .await
                .unwrap();
        }
        let keys = |from: &[u8]| -> Vec<String> {
            store
                .scan_versions("bkt", "", from, None, 100)
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        assert_eq!(keys(b""), ["a", "a", "a!", "ab", "b"]);
        assert_eq!(keys(&resume_after("a")), ["a!", "ab", "b"]);
        assert_eq!(keys(&resume_after("ab")), ["b"]);
        assert!(keys(&resume_after("b")).is_empty());
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn key_groups_carry_version_positions() {
        let mut out = Vec::new();
        key_items(
            "b",
            "k",
            &[
                v("k", "3", 300, true),
                v("k", "2", 200, false),
                v("k", "1", 100, false),
            ],
            &mut out,
        );
        let objs: Vec<_> = out
            .iter()
            .map(|i| match i {
                LifecycleItem::Version(o) => o.clone(),
                LifecycleItem::Upload(_) => unreachable!(),
            })
            .collect();
        assert!(objs[0].is_latest && objs[0].is_delete_marker);
        assert_eq!((objs[0].newer_versions, objs[0].older_versions), (0, 2));
        assert_eq!(objs[0].noncurrent_since, None);
        assert_eq!((objs[1].newer_versions, objs[1].older_versions), (1, 1));
        assert_eq!(objs[1].noncurrent_since, Some(300));
        assert_eq!(objs[2].noncurrent_since, Some(200));
        assert!(!objs[2].is_latest);
    }

    #[test]
    fn actions_that_cannot_apply_are_refused() {
        let mut out = Vec::new();
        key_items(
            "b",
            "k",
            &[v("k", "2", 2, true), v("k", "1", 1, false)],
            &mut out,
        );
        // A marker hiding a version cannot be "expired" (it would resurrect the version).
        assert!(op_for(&out[0], LifecycleAction::Expire).is_err());
        assert!(op_for(&out[0], LifecycleAction::ExpireNoncurrent).is_err());
        assert!(op_for(&out[1], LifecycleAction::Expire).is_err());
        assert!(op_for(&out[1], LifecycleAction::AbortUpload).is_err());
        assert_eq!(
            op_for(&out[1], LifecycleAction::ExpireNoncurrent).unwrap(),
            Some(LifecycleOp::DeleteNoncurrent {
                key: "k".into(),
                version_id: "1".into()
            })
        );
        let mut lone = Vec::new();
        key_items("b", "m", &[v("m", "9", 2, true)], &mut lone);
        assert!(matches!(
            op_for(&lone[0], LifecycleAction::Expire),
            Ok(Some(LifecycleOp::RemoveExpiredMarker { .. }))
        ));
        let up = LifecycleItem::Upload(PolicyUpload {
            bucket: "b".into(),
            key: "u".into(),
            upload_id: "x".into(),
            initiated: 0,
        });
        assert!(op_for(&up, LifecycleAction::Expire).is_err());
        assert!(matches!(
            op_for(&up, LifecycleAction::AbortUpload),
            Ok(Some(LifecycleOp::AbortUpload { .. }))
        ));
        assert_eq!(op_for(&up, LifecycleAction::Keep), Ok(None));
    }
}
