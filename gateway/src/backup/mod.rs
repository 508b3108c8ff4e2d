//! Backups: host-side mirror backups planned by backup plugins.
//!
//! The plugin only plans (`plan-full` over pages of source objects, `plan-changes` over change
//! events); the host copies, streaming and verifying, into the backup target (a local directory
//! by default, never following a link below it; or an S3 bucket through OpenDAL), writes one
//! manifest per generation (authenticated by the gateway's local key), and restores a bucket
//! from any kept generation. See `ARCHITECTURE.md`, "Backups".
//!
//! - [`target`]: the target and its layout; [`localfs`]: the local directory's file
//!   operations; [`manifest`]: manifests and run journals, their MAC and validation.
//! - [`run`]: executing plans; [`restore`]: restoring. A binding's `[backup]` settings
//!   (schedule, generations, events) are parsed with the binding, in
//!   [`crate::policy::backup_settings`].
//! - The admin API's backup routes are in `admin/backup.rs`, the `lakegate backup`
//!   command in `cli/backup.rs`.
//! - [`BackupService`]: per-bucket serialization of runs and restores, jobs and their
//!   progress, the scheduler, and the debounced event-driven incremental runs.

pub mod error;
pub mod localfs;
pub mod manifest;
pub mod restore;
pub mod run;
pub mod target;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use error::BackupError;
pub use restore::RestoreReport;
pub use run::{Plan, RunReport};
pub use target::Target;

use crate::clock::{Clock, Fraction, iso8601};
use crate::local_key::LocalKey;
use crate::policy::PolicyKind;
use crate::policy::backup_settings::BackupSettings;
use crate::policy::registry::{ActiveBinding, PolicyRegistry};
use crate::store::{Millis, Store, StoreChange, now_millis};
use crate::sync::lock;

/// Error messages kept per report.
const MAX_ERROR_MESSAGES: usize = 100;
/// Finished jobs remembered for `GET /jobs/{id}`.
const MAX_FINISHED_JOBS: usize = 200;
/// How often the scheduler looks at the clock and the bindings.
const SCHEDULER_TICK: Duration = Duration::from_millis(500);
/// An event batch waits at most this many debounce periods while writes keep coming.
const MAX_DEBOUNCE_FACTOR: u32 = 10;

/// Counts an error and keeps its message (the first [`MAX_ERROR_MESSAGES`]).
pub(crate) fn push_error(count: &mut u64, messages: &mut Vec<String>, message: String) {
    *count += 1;
    if messages.len() < MAX_ERROR_MESSAGES {
        messages.push(message);
    }
}

/// Live progress of a job: objects and bytes done of the totals, and what it is doing.
#[derive(Debug, Default)]
pub struct Progress {
    objects_total: AtomicU64,
    objects_done: AtomicU64,
    bytes_total: AtomicU64,
    bytes_done: AtomicU64,
    phase: Mutex<&'static str>,
}

impl Progress {
    pub fn set_phase(&self, phase: &'static str) {
        *lock(&self.phase) = phase;
    }
    pub fn set_totals(&self, objects: u64, bytes: u64) {
        self.objects_total.store(objects, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
        self.objects_done.store(0, Ordering::Relaxed);
        self.bytes_done.store(0, Ordering::Relaxed);
    }
    pub fn add_done(&self, objects: u64, bytes: u64) {
        self.objects_done.fetch_add(objects, Ordering::Relaxed);
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
    }
    pub fn to_json(&self) -> Value {
        json!({
            "phase": *lock(&self.phase),
            "objects_done": self.objects_done.load(Ordering::Relaxed),
            "objects_total": self.objects_total.load(Ordering::Relaxed),
            "bytes_done": self.bytes_done.load(Ordering::Relaxed),
            "bytes_total": self.bytes_total.load(Ordering::Relaxed),
        })
    }
}

/// What a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Backup,
    Restore,
}

#[derive(Debug, Clone)]
enum JobState {
    Queued,
    Running {
        started: Millis,
    },
    Finished {
        started: Millis,
        finished: Millis,
        succeeded: bool,
        report: Value,
    },
}

/// A backup run or restore, started by the admin API, the scheduler or events.
#[derive(Debug)]
pub struct Job {
    pub id: u64,
    pub bucket: String,
    pub kind: JobKind,
    pub trigger: String,
    pub created: Millis,
    pub progress: Arc<Progress>,
    state: Mutex<JobState>,
    done: watch::Sender<bool>,
}

impl Job {
    /// Waits until the job finished.
    pub async fn wait(&self) {
        let mut rx = self.done.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }

    pub fn is_finished(&self) -> bool {
        matches!(*lock(&self.state), JobState::Finished { .. })
    }

    fn is_queued(&self) -> bool {
        matches!(*lock(&self.state), JobState::Queued)
    }

    fn set_running(&self) {
        *lock(&self.state) = JobState::Running {
            started: now_millis(),
        };
    }

    fn finish(&self, succeeded: bool, report: Value) {
        let started = match *lock(&self.state) {
            JobState::Running { started } => started,
            _ => now_millis(),
        };
        *lock(&self.state) = JobState::Finished {
            started,
            finished: now_millis(),
            succeeded,
            report,
        };
        let _ = self.done.send(true);
    }

    /// The job as the admin API shows it.
    pub fn to_json(&self) -> Value {
        let (state, started, finished, report) = match &*lock(&self.state) {
            JobState::Queued => ("queued", None, None, Value::Null),
            JobState::Running { started } => ("running", Some(*started), None, Value::Null),
            JobState::Finished {
                started,
                finished,
                succeeded,
                report,
            } => (
                if *succeeded { "succeeded" } else { "failed" },
                Some(*started),
                Some(*finished),
                report.clone(),
            ),
        };
        json!({
            "id": self.id,
            "bucket": self.bucket,
            "kind": self.kind,
            "trigger": self.trigger,
            "state": state,
            "created": self.created,
            "started": started,
            "finished": finished,
            "progress": self.progress.to_json(),
            "report": report,
        })
    }
}

/// Per source bucket: runs and restores of a bucket are serialized.
#[derive(Default)]
struct BucketState {
    lock: tokio::sync::Mutex<()>,
    status: Mutex<BucketStatus>,
}

#[derive(Default)]
struct BucketStatus {
    loaded: bool,
    last_run: Option<RunReport>,
    last_restore: Option<RestoreReport>,
    /// The job currently running or queued for this bucket, newest.
    jobs: BTreeSet<u64>,
    /// The schedule the next run was computed from, and that run's time.
    scheduled: Option<(String, Millis)>,
    /// Totals since start, for the metrics.
    totals: BackupTotals,
}

/// What a bucket's backups did since the gateway started (the last success also from the
/// target's `state.json`), for the metrics endpoints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupTotals {
    pub runs: u64,
    pub failed_runs: u64,
    pub objects_copied: u64,
    pub bytes_copied: u64,
    pub objects_deleted: u64,
    /// Objects that failed to copy or delete.
    pub object_errors: u64,
    /// When the last successful run started and finished (ms since the epoch).
    pub last_success: Option<(Millis, Millis)>,
    /// The newest generation in the target after the last run.
    pub generation: u64,
    /// Failures (time, objects) of the last hour, oldest first.
    pub recent_failures: std::collections::VecDeque<(Millis, u64)>,
}

impl BackupTotals {
    fn note(&mut self, r: &RunReport) {
        self.runs += 1;
        if r.outcome == "failed" {
            self.failed_runs += 1;
        }
        self.objects_copied += r.copied;
        self.bytes_copied += r.bytes_copied;
        self.objects_deleted += r.deleted;
        self.object_errors += r.errors;
        if r.generation > 0 {
            self.generation = r.generation;
        }
        if r.outcome == "ok" {
            self.last_success = Some((r.started, r.finished));
        }
        if r.errors > 0 {
            self.recent_failures.push_back((r.finished, r.errors));
        }
        let hour_ago = r.finished - 3_600_000;
        while self
            .recent_failures
            .front()
            .is_some_and(|(t, _)| *t < hour_ago)
        {
            self.recent_failures.pop_front();
        }
    }

    /// Objects that failed since `since` (ms since the epoch; at most an hour back).
    pub fn failures_since(&self, since: Millis) -> u64 {
        self.recent_failures
            .iter()
            .filter(|(t, _)| *t >= since)
            .map(|(_, n)| n)
            .sum()
    }
}

/// `.lakegate/state.json` of a bucket's backup.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PersistedState {
    last_run: Option<RunReport>,
    last_restore: Option<RestoreReport>,
}

/// The backup service of a running gateway.
pub struct BackupService {
    store: Arc<Store>,
    registry: Arc<PolicyRegistry>,
    clock: Arc<Clock>,
    target: Target,
    /// Authenticates manifests and journals in the target.
    key: LocalKey,
    region: String,
    buckets: Mutex<HashMap<String, Arc<BucketState>>>,
    jobs: Mutex<BTreeMap<u64, Arc<Job>>>,
    next_job: AtomicU64,
}

impl BackupService {
    pub fn new(
        store: Arc<Store>,
        registry: Arc<PolicyRegistry>,
        clock: Arc<Clock>,
        target: Target,
        key: LocalKey,
        region: String,
    ) -> Arc<BackupService> {
        Arc::new(BackupService {
            store,
            registry,
            clock,
            target,
            key,
            region,
            buckets: Mutex::new(HashMap::new()),
            jobs: Mutex::new(BTreeMap::new()),
            next_job: AtomicU64::new(1),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Starts the event listener and the scheduler; both stop when `shutdown` changes.
    pub fn start(self: &Arc<Self>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let registry = self.registry.clone();
        self.store.changes.set_filter(move |bucket| {
            registry
                .binding(bucket, PolicyKind::Backup)
                .is_some_and(|a| settings_of(&a).events)
        });
        let rx = self.store.changes.subscribe();
        vec![
            tokio::spawn(self.clone().events_loop(rx, shutdown.clone())),
            tokio::spawn(self.clone().scheduler_loop(shutdown)),
        ]
    }

    fn bucket_state(&self, bucket: &str) -> Arc<BucketState> {
        lock(&self.buckets)
            .entry(bucket.to_string())
            .or_default()
            .clone()
    }

    /// Loads `.lakegate/state.json` of `bucket` once.
    async fn ensure_loaded(&self, bucket: &str, st: &BucketState) {
        if lock(&st.status).loaded {
            return;
        }
        let t = self.target.bucket(bucket);
        let persisted: PersistedState = match t.read(&t.state_path()).await {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(bucket, error = %e, "unreadable backup state.json; ignored");
                PersistedState::default()
            }),
            Ok(None) => PersistedState::default(),
            Err(e) => {
                tracing::warn!(bucket, error = %e, "cannot read backup state.json");
                return;
            }
        };
        let mut s = lock(&st.status);
        if !s.loaded {
            s.loaded = true;
            s.last_run = s.last_run.take().or(persisted.last_run);
            s.last_restore = s.last_restore.take().or(persisted.last_restore);
            if let Some(r) = s.last_run.clone() {
                if s.totals.last_success.is_none() && r.outcome == "ok" {
                    s.totals.last_success = Some((r.started, r.finished));
                }
                if s.totals.generation == 0 {
                    s.totals.generation = r.generation;
                }
            }
        }
    }

    async fn persist(&self, bucket: &str, st: &BucketState) {
        let state = {
            let s = lock(&st.status);
            PersistedState {
                last_run: s.last_run.clone(),
                last_restore: s.last_restore.clone(),
            }
        };
        let t = self.target.bucket(bucket);
        let bytes = match serde_json::to_vec_pretty(&state) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(bucket, error = %e, "cannot serialize backup state");
                return;
            }
        };
        if let Err(e) = t.write_atomic(&t.state_path(), bytes).await {
            tracing::warn!(bucket, error = %e, "cannot write backup state.json");
        }
    }

    fn new_job(&self, bucket: &str, kind: JobKind, trigger: &str) -> Arc<Job> {
        let id = self.next_job.fetch_add(1, Ordering::Relaxed);
        let job = Arc::new(Job {
            id,
            bucket: bucket.to_string(),
            kind,
            trigger: trigger.to_string(),
            created: now_millis(),
            progress: Arc::new(Progress::default()),
            state: Mutex::new(JobState::Queued),
            done: watch::channel(false).0,
        });
        let mut jobs = lock(&self.jobs);
        jobs.insert(id, job.clone());
        let finished: Vec<u64> = jobs
            .iter()
            .filter(|(_, j)| j.is_finished())
            .map(|(id, _)| *id)
            .collect();
        for id in finished
            .iter()
            .take(finished.len().saturating_sub(MAX_FINISHED_JOBS))
        {
            jobs.remove(id);
        }
        job
    }

    pub fn job(&self, id: u64) -> Option<Arc<Job>> {
        lock(&self.jobs).get(&id).cloned()
    }

    /// Jobs, newest first.
    pub fn jobs(&self) -> Vec<Arc<Job>> {
        lock(&self.jobs).values().rev().cloned().collect()
    }

    /// Whether a job of `bucket` waits for its turn.
    fn has_queued_job(&self, bucket: &str) -> bool {
        let st = self.bucket_state(bucket);
        let ids = lock(&st.status).jobs.clone();
        ids.iter()
            .filter_map(|id| self.job(*id))
            .any(|j| j.is_queued())
    }

    /// Starts a backup run of `bucket` (queued behind a run or restore of the same bucket).
    pub fn run(
        self: &Arc<Self>,
        bucket: &str,
        trigger: &str,
        plan: Plan,
    ) -> Result<Arc<Job>, BackupError> {
        if self.registry.binding(bucket, PolicyKind::Backup).is_none() {
            return Err(BackupError::NoBinding(bucket.to_string()));
        }
        Ok(self.spawn_job(
            bucket,
            JobKind::Backup,
            trigger,
            move |this, job| async move {
                let report = this.run_locked(&job, plan).await;
                (report.outcome == "ok", report)
            },
            |status, report| {
                status.totals.note(&report);
                status.last_run = Some(report);
            },
        ))
    }

    /// Queues `work` as a job of `bucket`: it starts once the bucket's earlier jobs have
    /// finished, and its report is recorded in the bucket's status (`record`) and persisted
    /// before the next job of the bucket may start.
    fn spawn_job<R, Fut>(
        self: &Arc<Self>,
        bucket: &str,
        kind: JobKind,
        trigger: &str,
        work: impl FnOnce(Arc<Self>, Arc<Job>) -> Fut + Send + 'static,
        record: fn(&mut BucketStatus, R),
    ) -> Arc<Job>
    where
        Fut: std::future::Future<Output = (bool, R)> + Send,
        R: Serialize + Send + 'static,
    {
        let job = self.new_job(bucket, kind, trigger);
        let st = self.bucket_state(bucket);
        lock(&st.status).jobs.insert(job.id);
        let this = self.clone();
        let j = job.clone();
        tokio::spawn(async move {
            let bucket = j.bucket.clone();
            let _serial = st.lock.lock().await;
            j.set_running();
            this.ensure_loaded(&bucket, &st).await;
            let (succeeded, report) = work(this.clone(), j.clone()).await;
            let value = serde_json::to_value(&report).unwrap_or_default();
            {
                let mut s = lock(&st.status);
                record(&mut s, report);
                s.jobs.remove(&j.id);
            }
            this.persist(&bucket, &st).await;
            j.finish(succeeded, value);
        });
        job
    }

    async fn run_locked(&self, job: &Job, plan: Plan) -> RunReport {
        let report = RunReport {
            job: Some(job.id),
            trigger: job.trigger.clone(),
            ..Default::default()
        };
        // The binding may have changed or gone while the job was queued.
        let Some(active) = self.registry.binding(&job.bucket, PolicyKind::Backup) else {
            let mut r = report;
            r.bucket = job.bucket.clone();
            r.started = now_millis();
            r.finished = r.started;
            push_error(
                &mut r.errors,
                &mut r.error_messages,
                BackupError::NoBinding(job.bucket.clone()).to_string(),
            );
            r.outcome = "failed".into();
            return r;
        };
        let settings = settings_of(&active);
        let target = self.target.bucket(&job.bucket);
        // The first backup of a bucket is always a full run, whatever triggered it.
        let plan = match plan {
            Plan::Changes(_) if matches!(target.generations().await, Ok(g) if g.is_empty()) => {
                Plan::Full
            }
            p => p,
        };
        let runner = run::Runner {
            store: self.store.clone(),
            target,
            plugin: active.plugin.clone(),
            key: self.key.clone(),
            generations: settings.generations,
            progress: job.progress.clone(),
            now: self.clock.now(),
        };
        runner.run(&plan, report).await
    }

    /// Starts a restore of `bucket`'s backup (generation `at`, default the newest) into `to`
    /// (default: `bucket` itself; created if missing), of the keys under `prefix` (`""`: all).
    pub fn restore(
        self: &Arc<Self>,
        bucket: &str,
        to: Option<&str>,
        at: Option<u64>,
        prefix: &str,
    ) -> Result<Arc<Job>, BackupError> {
        let to = to.unwrap_or(bucket).to_string();
        let prefix = prefix.to_string();
        Ok(self.spawn_job(
            bucket,
            JobKind::Restore,
            "manual",
            move |this, job| async move {
                let restorer = restore::Restorer {
                    store: this.store.clone(),
                    registry: this.registry.clone(),
                    target: this.target.bucket(&job.bucket),
                    key: this.key.clone(),
                    region: this.region.clone(),
                    progress: job.progress.clone(),
                    now: this.clock.now(),
                    prefix,
                };
                let report = RestoreReport {
                    job: Some(job.id),
                    ..Default::default()
                };
                let report = restorer.restore(&to, at, report).await;
                (report.outcome == "ok", report)
            },
            |status, report| status.last_restore = Some(report),
        ))
    }

    /// The backup status of `bucket`: binding, running jobs, last run and restore, next
    /// scheduled run, and the generations in the target.
    pub async fn status(&self, bucket: &str) -> Result<Value, BackupError> {
        let st = self.bucket_state(bucket);
        self.ensure_loaded(bucket, &st).await;
        let binding = self.registry.binding(bucket, PolicyKind::Backup).map(|a| {
            json!({
                "file": a.binding.file.display().to_string(),
                "plugin": a.binding.plugin_raw,
                "config": a.binding.config,
                "settings": settings_of(&a),
            })
        });
        let t = self.target.bucket(bucket);
        let mut generations = Vec::new();
        for g in t.generations().await? {
            match manifest::read_header(&t, g).await {
                Ok(Some(h)) => generations.push(json!({
                    "generation": g,
                    "kind": h.kind,
                    "started": h.started,
                    "finished": h.finished,
                    "finished_at": iso8601(h.finished, Fraction::WhenNonZero),
                    "entries": h.entries,
                    "bytes": h.bytes,
                })),
                Ok(None) => {}
                Err(e) => generations.push(json!({ "generation": g, "error": e.to_string() })),
            }
        }
        let (last_run, last_restore, job_ids, scheduled) = {
            let s = lock(&st.status);
            (
                s.last_run.clone(),
                s.last_restore.clone(),
                s.jobs.clone(),
                s.scheduled.clone(),
            )
        };
        let jobs: Vec<Value> = job_ids
            .iter()
            .filter_map(|id| self.job(*id))
            .map(|j| j.to_json())
            .collect();
        Ok(json!({
            "bucket": bucket,
            "target": format!("{}/{bucket}", self.target.url()),
            "binding": binding,
            "jobs": jobs,
            "last_run": last_run,
            "last_restore": last_restore,
            "next_scheduled": scheduled.as_ref().map(|s| s.1),
            "next_scheduled_at": scheduled.as_ref().map(|s| iso8601(s.1, Fraction::WhenNonZero)),
            "generations": generations,
        }))
    }

    /// Every bucket's backup totals since start (buckets with a backup binding, and buckets
    /// whose backups ran), loading the last success from the target where not yet known.
    pub async fn totals(&self) -> Vec<(String, BackupTotals)> {
        let mut names: BTreeSet<String> = lock(&self.buckets).keys().cloned().collect();
        for a in self.registry.active_bindings(PolicyKind::Backup) {
            names.insert(a.binding.bucket.clone());
        }
        let mut out = Vec::with_capacity(names.len());
        for bucket in names {
            let st = self.bucket_state(&bucket);
            self.ensure_loaded(&bucket, &st).await;
            let totals = lock(&st.status).totals.clone();
            out.push((bucket, totals));
        }
        out
    }

    /// Buckets with a backup binding or a backup in the target.
    pub async fn buckets(&self) -> Result<Vec<String>, BackupError> {
        let mut out: BTreeSet<String> = self.target.buckets().await?.into_iter().collect();
        for a in self.registry.active_bindings(PolicyKind::Backup) {
            out.insert(a.binding.bucket.clone());
        }
        Ok(out.into_iter().collect())
    }

    /// Debounces change events per bucket and starts incremental runs.
    async fn events_loop(
        self: Arc<Self>,
        mut rx: broadcast::Receiver<StoreChange>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        struct Pending {
            keys: BTreeSet<String>,
            full: bool,
            first: Instant,
            last: Instant,
            /// While a job of the bucket is queued, the batch waits (retried from this time).
            not_before: Option<Instant>,
        }
        let mut pending: HashMap<String, Pending> = HashMap::new();
        let debounce_of = |bucket: &str| {
            self.registry
                .binding(bucket, PolicyKind::Backup)
                .map(|a| Duration::from_millis(settings_of(&a).debounce_ms))
        };
        loop {
            let now = Instant::now();
            let due = |b: &str, p: &Pending| {
                let d = debounce_of(b).unwrap_or(Duration::ZERO);
                let due = (p.last + d).min(p.first + d * MAX_DEBOUNCE_FACTOR);
                p.not_before.map_or(due, |n| due.max(n))
            };
            let next = pending
                .iter()
                .map(|(b, p)| due(b, p))
                .min()
                .unwrap_or(now + Duration::from_secs(3600));
            tokio::select! {
                r = rx.recv() => match r {
                    Ok(change) => {
                        let now = Instant::now();
                        let p = pending.entry(change.bucket).or_insert_with(|| Pending {
                            keys: BTreeSet::new(), full: false, first: now, last: now, not_before: None,
                        });
                        p.keys.insert(change.key);
                        p.last = now;
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "backup change feed lagged; the affected buckets get a full run");
                        let now = Instant::now();
                        for a in self.registry.active_bindings(PolicyKind::Backup) {
                            if settings_of(&a).events {
                                let p = pending.entry(a.binding.bucket.clone()).or_insert_with(|| Pending {
                                    keys: BTreeSet::new(), full: false, first: now, last: now, not_before: None,
                                });
                                p.full = true;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep_until(next.into()) => {
                    let now = Instant::now();
                    let ready: Vec<String> = pending
                        .iter()
                        .filter(|(b, p)| due(b, p) <= now)
                        .map(|(b, _)| b.clone())
                        .collect();
                    for bucket in ready {
                        // One queued batch per bucket: while one waits, keep collecting.
                        if self.has_queued_job(&bucket) {
                            if let Some(p) = pending.get_mut(&bucket) {
                                p.not_before = Some(now + Duration::from_millis(200));
                            }
                            continue;
                        }
                        let Some(p) = pending.remove(&bucket) else { continue };
                        let plan = if p.full { Plan::Full } else { Plan::Changes(p.keys) };
                        match self.run(&bucket, "events", plan) {
                            Ok(job) => tracing::debug!(bucket = %bucket, job = job.id, "event-driven backup started"),
                            Err(BackupError::NoBinding(_)) => {}
                            Err(e) => tracing::warn!(bucket = %bucket, error = %e, "cannot start an event-driven backup"),
                        }
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Starts scheduled runs, and at start-up resumes runs a restart interrupted.
    async fn scheduler_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        // Buckets whose binding was seen (at start-up, or when it became active later).
        let mut seen: BTreeSet<String> = BTreeSet::new();
        loop {
            let bindings = self.registry.active_bindings(PolicyKind::Backup);
            let now = now_millis();
            for a in &bindings {
                let bucket = a.binding.bucket.clone();
                let settings = settings_of(a);
                if seen.insert(bucket.clone()) {
                    self.first_sight(&bucket, settings.events).await;
                }
                let st = self.bucket_state(&bucket);
                let fire = {
                    let mut s = lock(&st.status);
                    match &settings.schedule {
                        None => {
                            s.scheduled = None;
                            false
                        }
                        Some(expr) => {
                            let stale = s.scheduled.as_ref().is_none_or(|(e, _)| e != expr);
                            if stale {
                                s.scheduled = settings.next_run(now).map(|t| (expr.clone(), t));
                            }
                            match s.scheduled.clone() {
                                Some((_, t)) if t <= now => {
                                    s.scheduled = settings.next_run(now).map(|t| (expr.clone(), t));
                                    true
                                }
                                _ => false,
                            }
                        }
                    }
                };
                // A fire while the previous scheduled run still waits for its turn is skipped.
                if fire && !self.has_queued_job(&bucket) {
                    match self.run(&bucket, "schedule", Plan::Full) {
                        Ok(job) => {
                            tracing::info!(bucket = %bucket, job = job.id, "scheduled backup started")
                        }
                        Err(e) => {
                            tracing::warn!(bucket = %bucket, error = %e, "cannot start a scheduled backup")
                        }
                    }
                }
            }
            // Forget schedules of buckets that lost their binding.
            let bound: BTreeSet<&str> =
                bindings.iter().map(|a| a.binding.bucket.as_str()).collect();
            for (bucket, st) in lock(&self.buckets).iter() {
                if !bound.contains(bucket.as_str()) {
                    lock(&st.status).scheduled = None;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(SCHEDULER_TICK) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// When a backup binding is first seen (at start-up, or when it becomes active): resume
    /// the run a restart interrupted (its journal is in the target), or, for an event-driven
    /// binding, run a full pass to catch up with changes made while no events were collected
    /// (before the binding, or while the gateway was down). Unchanged objects cost a plan, not
    /// a copy.
    async fn first_sight(self: &Arc<Self>, bucket: &str, events: bool) {
        let t = self.target.bucket(bucket);
        let next = match t.generations().await {
            Ok(g) => g.last().copied().unwrap_or(0) + 1,
            Err(e) => {
                tracing::warn!(bucket, error = %e, "cannot read the backup target");
                return;
            }
        };
        let interrupted = match t.list_files(&t.journal_dir(next)).await {
            Ok(files) => !files.is_empty(),
            Err(e) => {
                tracing::warn!(bucket, error = %e, "cannot read the backup journal");
                false
            }
        };
        let trigger = if interrupted {
            "resume"
        } else if events {
            "catch-up"
        } else {
            return;
        };
        match self.run(bucket, trigger, Plan::Full) {
            Ok(job) => tracing::info!(
                bucket,
                job = job.id,
                generation = next,
                trigger,
                "backup run started for a newly active binding"
            ),
            Err(e) => tracing::warn!(bucket, error = %e, trigger, "cannot start a backup run"),
        }
    }
}

/// The `[backup]` settings of a binding (defaults if it has none).
pub fn settings_of(active: &ActiveBinding) -> BackupSettings {
    active.binding.backup.clone().unwrap_or_default()
}
