//! Per-plugin call statistics, shared with the admin API.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::error::PolicyError;
use super::types::{Millis, PolicyKind};
use crate::telemetry::{Histogram, HistogramSnapshot, LATENCY_SECONDS};

/// How the component of a loaded plugin was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompileOrigin {
    /// Compiled now (Cranelift).
    Compiled,
    /// Found in the engine's in-memory cache.
    MemoryCache,
    /// Deserialized from `<cache_dir>/<sha256>.cwasm`.
    DiskCache,
}

/// Live counters of one loaded plugin. Cheap to update (atomics), readable at any time.
#[derive(Debug)]
pub struct PluginStats {
    label: String,
    kind: PolicyKind,
    hash: String,
    loaded_at: Millis,
    compile_origin: CompileOrigin,
    load_time: Duration,
    calls: AtomicU64,
    failures: AtomicU64,
    consecutive_failures: AtomicU32,
    rejected: AtomicU64,
    busy_nanos: AtomicU64,
    instances: AtomicUsize,
    quarantined: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// Failures by [`FailureKind`].
    failures_by_kind: [AtomicU64; FailureKind::ALL.len()],
    /// Times this plugin was quarantined.
    quarantines: AtomicU64,
    /// Call latency (successful and failed calls).
    call_seconds: Histogram,
    /// Told the binding file when this plugin is quarantined (the registry's rollback).
    quarantine_notice: std::sync::OnceLock<(UnboundedSender<PathBuf>, PathBuf)>,
}

/// Why a call failed, for the metrics (`kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The plugin trapped (panic, `unreachable`, stack overflow, `exit`).
    Trap,
    /// The call ran past its time budget.
    BudgetExhausted,
    /// The plugin grew its memory past its limit.
    OutOfMemory,
    /// The plugin returned something the host refuses.
    InvalidOutput,
    /// Anything else (instantiation, configuration, i/o).
    Other,
}

impl FailureKind {
    pub const ALL: [FailureKind; 5] = [
        FailureKind::Trap,
        FailureKind::BudgetExhausted,
        FailureKind::OutOfMemory,
        FailureKind::InvalidOutput,
        FailureKind::Other,
    ];

    pub fn of(e: &PolicyError) -> FailureKind {
        match e {
            PolicyError::Trap(_) => FailureKind::Trap,
            PolicyError::OutOfBudget { .. } => FailureKind::BudgetExhausted,
            PolicyError::OutOfMemory { .. } => FailureKind::OutOfMemory,
            PolicyError::InvalidReturn(_) => FailureKind::InvalidOutput,
            _ => FailureKind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::BudgetExhausted => "budget_exhausted",
            FailureKind::OutOfMemory => "out_of_memory",
            FailureKind::InvalidOutput => "invalid_output",
            FailureKind::Other => "other",
        }
    }
}

/// A point-in-time copy of [`PluginStats`], serializable for the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginStatsSnapshot {
    pub label: String,
    pub kind: PolicyKind,
    /// Hex SHA-256 of the component bytes.
    pub hash: String,
    /// Milliseconds since the Unix epoch.
    pub loaded_at: Millis,
    pub compile_origin: CompileOrigin,
    pub load_micros: u64,
    /// Calls that reached the plugin (successful or not).
    pub calls: u64,
    pub failures: u64,
    pub consecutive_failures: u32,
    /// Calls refused without running because the plugin is quarantined.
    pub rejected: u64,
    /// Total time spent in calls, microseconds.
    pub busy_micros: u64,
    /// Live instances (idle or in use).
    pub instances: usize,
    pub quarantined: bool,
    pub last_error: Option<String>,
}

impl PluginStats {
    pub(crate) fn new(
        label: &str,
        kind: PolicyKind,
        hash: &str,
        loaded_at: Millis,
        compile_origin: CompileOrigin,
        load_time: Duration,
    ) -> Self {
        PluginStats {
            label: label.to_string(),
            kind,
            hash: hash.to_string(),
            loaded_at,
            compile_origin,
            load_time,
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            consecutive_failures: AtomicU32::new(0),
            rejected: AtomicU64::new(0),
            busy_nanos: AtomicU64::new(0),
            instances: AtomicUsize::new(0),
            quarantined: AtomicBool::new(false),
            last_error: Mutex::new(None),
            failures_by_kind: Default::default(),
            quarantines: AtomicU64::new(0),
            call_seconds: Histogram::new(LATENCY_SECONDS),
            quarantine_notice: std::sync::OnceLock::new(),
        }
    }

    /// Failures of one kind so far.
    pub fn failures_of(&self, kind: FailureKind) -> u64 {
        self.failures_by_kind[kind as usize].load(Ordering::Relaxed)
    }

    /// Times this plugin was quarantined.
    pub fn quarantines(&self) -> u64 {
        self.quarantines.load(Ordering::Relaxed)
    }

    /// Call latency so far.
    pub fn call_seconds(&self) -> HistogramSnapshot {
        self.call_seconds.snapshot()
    }

    pub fn label(&self) -> &str {
        &self.label
    }
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }
    /// Hex SHA-256 of the component bytes.
    pub fn hash(&self) -> &str {
        &self.hash
    }
    pub fn loaded_at(&self) -> Millis {
        self.loaded_at
    }
    pub fn compile_origin(&self) -> CompileOrigin {
        self.compile_origin
    }
    pub fn load_time(&self) -> Duration {
        self.load_time
    }
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }
    /// Mean time per call so far, if any call was made.
    pub fn mean_call_time(&self) -> Option<Duration> {
        let calls = self.calls.load(Ordering::Relaxed);
        (calls > 0).then(|| Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed) / calls))
    }

    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
    pub fn instances(&self) -> usize {
        self.instances.load(Ordering::Relaxed)
    }
    pub fn is_quarantined(&self) -> bool {
        self.quarantined.load(Ordering::Acquire)
    }
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn snapshot(&self) -> PluginStatsSnapshot {
        PluginStatsSnapshot {
            label: self.label.clone(),
            kind: self.kind,
            hash: self.hash.clone(),
            loaded_at: self.loaded_at,
            compile_origin: self.compile_origin,
            load_micros: self.load_time.as_micros() as u64,
            calls: self.calls(),
            failures: self.failures(),
            consecutive_failures: self.consecutive_failures(),
            rejected: self.rejected(),
            busy_micros: self.busy_nanos.load(Ordering::Relaxed) / 1000,
            instances: self.instances(),
            quarantined: self.is_quarantined(),
            last_error: self.last_error(),
        }
    }

    pub(crate) fn record_success(&self, elapsed: Duration) {
        self.call_seconds.observe_duration(elapsed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.busy_nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
    }

    /// Counts a failure; returns true if this failure quarantined the plugin.
    pub(crate) fn record_failure(
        &self,
        elapsed: Duration,
        error: &PolicyError,
        quarantine_after: u32,
    ) -> bool {
        self.call_seconds.observe_duration(elapsed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.failures_by_kind[FailureKind::of(error) as usize].fetch_add(1, Ordering::Relaxed);
        self.busy_nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.to_string());
        let n = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        let quarantined = quarantine_after > 0
            && n >= quarantine_after
            && !self.quarantined.swap(true, Ordering::AcqRel);
        if quarantined {
            self.quarantines.fetch_add(1, Ordering::Relaxed);
        }
        quarantined
    }

    /// Sends `file` on `tx` when this plugin is quarantined (once per quarantine).
    pub(crate) fn notify_on_quarantine(&self, tx: UnboundedSender<PathBuf>, file: PathBuf) {
        let _ = self.quarantine_notice.set((tx, file));
    }

    /// Called by the call containment right after this plugin was quarantined.
    pub(crate) fn quarantined_now(&self) {
        if let Some((tx, file)) = self.quarantine_notice.get() {
            let _ = tx.send(file.clone());
        }
    }

    pub(crate) fn record_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn lift_quarantine(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.quarantined.store(false, Ordering::Release);
    }

    pub(crate) fn set_instances(&self, n: usize) {
        self.instances.store(n, Ordering::Relaxed);
    }
}
