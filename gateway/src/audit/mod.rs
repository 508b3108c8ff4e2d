//! The audit trail: one [`AuditEntry`] per audited action (who, from where, which API and
//! operation, on what, with which outcome), written as JSON lines to a local file and/or posted
//! in batches to a webhook.
//!
//! # Recording
//!
//! [`AuditLog::record`] never blocks and never awaits: the entry goes into one bounded queue
//! (`try_send`); when the queue is full the entry is dropped and counted ([`AuditStats::dropped`],
//! with a warning at most once per [`WARN_EVERY`]). A request is never slowed down or failed by
//! its audit entry. A disabled log ([`AuditLog::disabled`]) costs one branch per entry.
//!
//! # Writing
//!
//! One writer task takes up to [`BATCH`] queued entries at a time and serializes each once, to a
//! JSON line. The lines go:
//! - to the file sink (`file.rs`): appended with one write per batch (so they are in the
//!   operating system's hands as soon as the batch is, without a user-space buffer to flush),
//!   on the blocking pool; the file is rotated when it would grow past
//!   [`AuditConfig::max_file_bytes`];
//! - to the webhook sink (`webhook.rs`) through a second bounded queue: its task posts batches
//!   of up to 100 lines (or what arrived within 1 s) as `application/x-ndjson`, retrying a
//!   failed post with backoff. A webhook that is slow or down never holds up the file sink: when
//!   its queue is full, lines are dropped for the webhook and counted in
//!   [`AuditStats::dropped`].
//!
//! # Shutdown
//!
//! Once the shutdown signal turns `true`, the writer stops taking new entries (a later
//! [`AuditLog::record`] counts as dropped), writes what is queued and exits; the webhook task
//! then posts what it holds (without retries, for at most [`webhook::SHUTDOWN_GRACE`]) and
//! exits. Dropping every handle to the [`AuditLog`] ends the tasks the same way.

mod file;
pub mod read;
mod webhook;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use file::FileSink;
use webhook::{Webhook, WebhookTuning};

/// Entries the writer takes from the queue at a time (one file write).
pub const BATCH: usize = 512;
/// A recurring problem (a full queue, a failing file) is warned about at most this often.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// One audited action.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// When it happened: RFC 3339, UTC, with milliseconds (`2026-12-04T13:52:32.123Z`).
    pub time: String,
    /// The request id the client was answered with.
    pub request_id: String,
    /// The access key that signed the request; `None` for an anonymous one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The client's address, `ip:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The API: `"s3"`, `"admin"`, `"minio-admin"` or `"sts"`.
    pub api: &'static str,
    /// The operation, e.g. `PutObject`, `DeleteObject`, `PutPolicyBinding`.
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// The S3 or admin error code, when the status is 400 or more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Request body bytes received.
    pub bytes_received: u64,
    /// Response body bytes sent.
    pub bytes_sent: u64,
    /// From the request's arrival to its answer.
    pub duration_ms: f64,
}

impl AuditEntry {
    /// An entry timed now, for `operation` of `api` in request `request_id`; the rest empty
    /// (status 0) until filled in.
    pub fn new(
        request_id: impl Into<String>,
        api: &'static str,
        operation: impl Into<String>,
    ) -> Self {
        AuditEntry {
            time: DateTime::<Utc>::from(SystemTime::now())
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            request_id: request_id.into(),
            principal: None,
            source: None,
            api,
            operation: operation.into(),
            bucket: None,
            key: None,
            version_id: None,
            status: 0,
            error: None,
            bytes_received: 0,
            bytes_sent: 0,
            duration_ms: 0.0,
        }
    }
}

/// Where the audit trail goes. With neither a file nor a webhook, the log is disabled.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// A JSON-lines file, appended to (created with mode 0600; its directory must exist).
    pub file: Option<PathBuf>,
    /// The file is rotated when a line would take it past this size (default 100 MiB).
    pub max_file_bytes: u64,
    /// Rotated files kept: `<file>.1` (the newest) to `<file>.<keep_files>` (default 5; 0
    /// keeps none).
    pub keep_files: usize,
    /// An `http://` or `https://` URL the entries are POSTed to, in batches, as
    /// `application/x-ndjson`.
    pub webhook: Option<String>,
    /// Sent to the webhook as `Authorization: Bearer <token>` when set. Never logged.
    pub webhook_token: Option<String>,
    /// Entries queued at most (and lines queued for the webhook at most); past that they are
    /// dropped (default 10 000).
    pub queue_capacity: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            file: None,
            max_file_bytes: 100 * 1024 * 1024,
            keep_files: 5,
            webhook: None,
            webhook_token: None,
            queue_capacity: 10_000,
        }
    }
}

/// Why the audit log cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open the audit file {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid audit configuration: {0}")]
    Config(&'static str),
    /// The URL as shown has no query and no credentials.
    #[error("invalid audit webhook URL {url}: {reason}")]
    WebhookUrl { url: String, reason: &'static str },
    #[error("the audit webhook token cannot be sent in an HTTP header")]
    WebhookToken,
    #[error("cannot set up TLS for the audit webhook: {0}")]
    Tls(String),
    #[error("the audit log must be started inside a tokio runtime")]
    NoRuntime,
}

/// The audit log's counters since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Entries accepted into the queue.
    pub recorded: u64,
    /// Entries dropped because the queue was full (or closed by shutdown), plus lines dropped
    /// for the webhook because its queue was full.
    pub dropped: u64,
    /// Lines written to the file.
    pub written: u64,
    /// Lines that could not be written to the file (or serialized).
    pub write_errors: u64,
    /// File rotations.
    pub rotations: u64,
    /// Lines the webhook accepted (a 2xx answer).
    pub webhook_sent: u64,
    /// Lines in batches the webhook did not accept after the retries, dropped.
    pub webhook_failed: u64,
}

/// The counters behind [`AuditStats`], shared by the log and its tasks.
#[derive(Debug, Default)]
struct Counters {
    recorded: AtomicU64,
    dropped: AtomicU64,
    written: AtomicU64,
    write_errors: AtomicU64,
    rotations: AtomicU64,
    webhook_sent: AtomicU64,
    webhook_failed: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> AuditStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AuditStats {
            recorded: get(&self.recorded),
            dropped: get(&self.dropped),
            written: get(&self.written),
            write_errors: get(&self.write_errors),
            rotations: get(&self.rotations),
            webhook_sent: get(&self.webhook_sent),
            webhook_failed: get(&self.webhook_failed),
        }
    }
}

/// Lets a warning through at most once per [`WARN_EVERY`], from any thread.
#[derive(Debug)]
struct WarnLimit {
    base: Instant,
    /// Milliseconds since `base` of the last warning, or `u64::MAX` before the first.
    last: AtomicU64,
}

impl WarnLimit {
    fn new() -> Self {
        WarnLimit {
            base: Instant::now(),
            last: AtomicU64::new(u64::MAX),
        }
    }

    /// Whether to warn now (and if so, the next one waits).
    fn allow(&self) -> bool {
        let now = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let last = self.last.load(Ordering::Relaxed);
        let due = last == u64::MAX || now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        due && self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

/// The audit log: the queue's sending end and the counters.
#[derive(Debug)]
pub struct AuditLog {
    /// `None`: disabled.
    queue: Option<mpsc::Sender<AuditEntry>>,
    /// The file sink's path and how many rotated files it keeps (for reading the trail back).
    file: Option<(PathBuf, usize)>,
    counters: Arc<Counters>,
    drop_warning: WarnLimit,
}

impl AuditLog {
    /// No sinks: [`record`](Self::record) is a no-op costing one branch.
    pub fn disabled() -> Arc<AuditLog> {
        Arc::new(AuditLog {
            queue: None,
            file: None,
            counters: Arc::default(),
            drop_warning: WarnLimit::new(),
        })
    }

    /// Opens the file (appending, created with mode 0600; its directory must exist) and starts
    /// the writer task, and the webhook task if there is a webhook, on the current tokio
    /// runtime. The tasks drain the queue and exit once `shutdown` turns `true` (or every handle
    /// to the log is dropped). With neither a file nor a webhook, the log is
    /// [disabled](Self::disabled) and there are no tasks.
    pub fn start(
        config: AuditConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Arc<AuditLog>, Vec<JoinHandle<()>>), AuditError> {
        Self::start_tuned(config, shutdown, WebhookTuning::default())
    }

    fn start_tuned(
        config: AuditConfig,
        shutdown: watch::Receiver<bool>,
        tuning: WebhookTuning,
    ) -> Result<(Arc<AuditLog>, Vec<JoinHandle<()>>), AuditError> {
        if config.file.is_none() && config.webhook.is_none() {
            return Ok((Self::disabled(), Vec::new()));
        }
        if config.queue_capacity == 0 {
            return Err(AuditError::Config("the queue capacity must be at least 1"));
        }
        if config.max_file_bytes == 0 {
            return Err(AuditError::Config(
                "the maximum file size must be at least 1",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| AuditError::NoRuntime)?;
        let (mut log, queue) = Self::with_queue(config.queue_capacity);
        log.file = config.file.clone().map(|f| (f, config.keep_files));
        let counters = log.counters.clone();
        let webhook = match &config.webhook {
            Some(url) => Some(Webhook::new(
                url,
                config.webhook_token.as_deref(),
                counters.clone(),
                tuning,
            )?),
            None => None,
        };
        let file = match &config.file {
            Some(path) => Some(FileSink::open(
                path.clone(),
                config.max_file_bytes,
                config.keep_files,
                counters.clone(),
            )?),
            None => None,
        };
        let mut tasks = Vec::new();
        let webhook_queue = webhook.map(|webhook| {
            let (tx, rx) = mpsc::channel(config.queue_capacity);
            tasks.push(runtime.spawn(webhook.run(rx, shutdown.clone())));
            tx
        });
        let writer = Writer {
            file: file.map(|f| Arc::new(std::sync::Mutex::new(f))),
            webhook: webhook_queue,
            counters,
            webhook_drop_warning: WarnLimit::new(),
        };
        tasks.push(runtime.spawn(writer.run(queue, shutdown)));
        Ok((Arc::new(log), tasks))
    }

    /// An enabled log and its queue's receiving end, without tasks (tests hold the receiver to
    /// play a stalled writer).
    fn with_queue(capacity: usize) -> (AuditLog, mpsc::Receiver<AuditEntry>) {
        let (tx, rx) = mpsc::channel(capacity);
        let log = AuditLog {
            queue: Some(tx),
            file: None,
            counters: Arc::default(),
            drop_warning: WarnLimit::new(),
        };
        (log, rx)
    }

    /// The newest entries of the audit file and its rotations that `filter` keeps: see
    /// [`read::tail`]. `None` when the trail has no file.
    pub fn tail(
        &self,
        filter: &read::Filter,
        cursor: Option<read::Cursor>,
    ) -> Option<std::io::Result<read::Page>> {
        let (path, keep) = self.file.as_ref()?;
        Some(read::tail(path, *keep, filter, cursor))
    }

    /// Whether entries go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues `entry` for the sinks. Never blocks, never awaits: when the queue is full (or the
    /// log has shut down) the entry is dropped and counted.
    pub fn record(&self, entry: AuditEntry) {
        let Some(queue) = &self.queue else {
            return;
        };
        match queue.try_send(entry) {
            Ok(()) => Counters::add(&self.counters.recorded, 1),
            Err(e) => {
                Counters::add(&self.counters.dropped, 1);
                if self.drop_warning.allow() {
                    let reason = match e {
                        mpsc::error::TrySendError::Full(_) => "the audit queue is full",
                        mpsc::error::TrySendError::Closed(_) => "the audit log has shut down",
                    };
                    tracing::warn!(
                        dropped = self.counters.dropped.load(Ordering::Relaxed),
                        "{reason}: audit entries are being dropped"
                    );
                }
            }
        }
    }

    /// The counters now.
    pub fn stats(&self) -> AuditStats {
        self.counters.snapshot()
    }
}

/// The writer task's state: the sinks.
struct Writer {
    /// Locked only on the blocking pool, one batch at a time; a panic mid-batch leaves it
    /// usable ([`crate::sync::lock`]).
    file: Option<Arc<std::sync::Mutex<FileSink>>>,
    webhook: Option<mpsc::Sender<Bytes>>,
    counters: Arc<Counters>,
    webhook_drop_warning: WarnLimit,
}

impl Writer {
    async fn run(self, mut queue: mpsc::Receiver<AuditEntry>, shutdown: watch::Receiver<bool>) {
        let stop = shutdown_signal(shutdown);
        tokio::pin!(stop);
        let mut stopping = false;
        let mut entries = Vec::with_capacity(BATCH);
        loop {
            let received = if stopping {
                queue.recv_many(&mut entries, BATCH).await
            } else {
                tokio::select! {
                    biased;
                    () = &mut stop => {
                        // What is queued now is written; later entries are refused.
                        stopping = true;
                        queue.close();
                        continue;
                    }
                    n = queue.recv_many(&mut entries, BATCH) => n,
                }
            };
            if received == 0 {
                break;
            }
            let lines = self.serialize(&mut entries);
            self.forward(&lines);
            self.write(lines).await;
        }
        if let Some(file) = self.file {
            let _ = tokio::task::spawn_blocking(move || crate::sync::lock(&file).close()).await;
        }
    }

    /// Each entry as one JSON line (ending in `\n`); `entries` is left empty.
    fn serialize(&self, entries: &mut Vec<AuditEntry>) -> Vec<Bytes> {
        let mut lines = Vec::with_capacity(entries.len());
        for entry in entries.drain(..) {
            match serde_json::to_vec(&entry) {
                Ok(mut line) => {
                    line.push(b'\n');
                    lines.push(Bytes::from(line));
                }
                Err(e) => {
                    Counters::add(&self.counters.write_errors, 1);
                    tracing::error!(error = %e, "cannot serialize an audit entry");
                }
            }
        }
        lines
    }

    /// Hands the lines to the webhook task, dropping (and counting) what its queue cannot take.
    fn forward(&self, lines: &[Bytes]) {
        let Some(webhook) = &self.webhook else {
            return;
        };
        let mut dropped = 0;
        for line in lines {
            if webhook.try_send(line.clone()).is_err() {
                dropped += 1;
            }
        }
        if dropped > 0 {
            Counters::add(&self.counters.dropped, dropped);
            if self.webhook_drop_warning.allow() {
                tracing::warn!(
                    dropped,
                    "the audit webhook is behind: its queue is full, entries are dropped for it"
                );
            }
        }
    }

    /// Appends the lines to the file, on the blocking pool.
    async fn write(&self, lines: Vec<Bytes>) {
        let Some(file) = &self.file else {
            return;
        };
        let file = file.clone();
        let count = lines.len() as u64;
        let done =
            tokio::task::spawn_blocking(move || crate::sync::lock(&file).write_batch(&lines)).await;
        if let Err(e) = done {
            Counters::add(&self.counters.write_errors, count);
            tracing::error!(error = %e, "the audit file writer failed");
        }
    }
}

/// Resolves once `shutdown` is `true`; never if its sender goes away without saying so (the log
/// then ends when its handles are dropped).
async fn shutdown_signal(mut shutdown: watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    use http_body_util::BodyExt;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    /// A fresh empty directory under the system's temporary directory.
    pub(super) fn temp_dir(name: &str) -> PathBuf {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "lakegate-audit-{name}-{}-{nanos}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entry(i: usize) -> AuditEntry {
        let mut e = AuditEntry::new(format!("req-{i}"), "s3", "PutObject");
        e.bucket = Some("bronze".into());
        e.key = Some(format!("k/{i}"));
        e.status = 200;
        e
    }

    fn read_lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    async fn finish(stop: watch::Sender<bool>, tasks: Vec<JoinHandle<()>>) {
        stop.send(true).unwrap();
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(20), t)
                .await
                .unwrap()
                .unwrap();
        }
    }

    /// Polls `cond` on the log's stats for up to 20 s.
    async fn wait_for_stats(log: &AuditLog, cond: impl Fn(&AuditStats) -> bool) -> AuditStats {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let stats = log.stats();
            if cond(&stats) {
                return stats;
            }
            assert!(Instant::now() < deadline, "timed out; stats {stats:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn entries_serialize_with_their_fields_and_without_empty_options() {
        let mut e = AuditEntry::new("r1", "admin", "PutPolicyBinding");
        assert_eq!(e.time.len(), "2026-12-04T13:52:32.123Z".len());
        assert!(e.time.ends_with('Z') && e.time.as_bytes()[19] == b'.');
        e.time = "2026-12-04T13:52:32.123Z".into();
        e.principal = Some("AKIA1".into());
        e.status = 403;
        e.error = Some("AccessDenied".into());
        e.duration_ms = 1.5;
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "time": "2026-12-04T13:52:32.123Z",
                "request_id": "r1",
                "principal": "AKIA1",
                "api": "admin",
                "operation": "PutPolicyBinding",
                "status": 403,
                "error": "AccessDenied",
                "bytes_received": 0,
                "bytes_sent": 0,
                "duration_ms": 1.5,
            })
        );
    }

    #[tokio::test]
    async fn disabled_log_records_nothing() {
        let log = AuditLog::disabled();
        assert!(!log.is_enabled());
        log.record(entry(0));
        assert_eq!(log.stats(), AuditStats::default());
        let (_stop, rx) = watch::channel(false);
        let (log, tasks) = AuditLog::start(AuditConfig::default(), rx).unwrap();
        assert!(!log.is_enabled() && tasks.is_empty());
    }

    #[tokio::test]
    async fn entries_land_in_the_file_as_json_lines() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("file");
        let path = dir.join("audit.jsonl");
        let (stop, rx) = watch::channel(false);
        let config = AuditConfig {
            file: Some(path.clone()),
            ..AuditConfig::default()
        };
        let (log, tasks) = AuditLog::start(config, rx).unwrap();
        assert!(log.is_enabled());
        for i in 0..1000 {
            let mut e = entry(i);
            e.principal = Some("AKIAEXAMPLE".into());
            e.source = Some("127.0.0.1:5000".into());
            e.bytes_received = i as u64;
            log.record(e);
        }
        let mut denied = AuditEntry::new("req-denied", "sts", "AssumeRole");
        denied.status = 403;
        denied.error = Some("AccessDenied".into());
        log.record(denied);
        finish(stop, tasks).await;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let lines = read_lines(&path);
        assert_eq!(lines.len(), 1001);
        for (i, l) in lines[..1000].iter().enumerate() {
            assert_eq!(l["request_id"], format!("req-{i}"));
            assert_eq!(l["api"], "s3");
            assert_eq!(l["operation"], "PutObject");
            assert_eq!(l["principal"], "AKIAEXAMPLE");
            assert_eq!(l["source"], "127.0.0.1:5000");
            assert_eq!(l["bucket"], "bronze");
            assert_eq!(l["key"], format!("k/{i}"));
            assert_eq!(l["status"], 200);
            assert_eq!(l["bytes_received"], i as u64);
            assert!(l.get("error").is_none() && l.get("version_id").is_none());
        }
        assert_eq!(lines[1000]["api"], "sts");
        assert_eq!(lines[1000]["error"], "AccessDenied");
        assert!(lines[1000].get("principal").is_none());
        let stats = log.stats();
        assert_eq!(
            (stats.recorded, stats.written, stats.dropped),
            (1001, 1001, 0)
        );
        // After shutdown, entries are refused (and counted), never blocking.
        log.record(entry(0));
        assert_eq!(log.stats().dropped, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_missing_directory_is_an_error_naming_the_path() {
        let dir = temp_dir("missing");
        let path = dir.join("no/such/audit.jsonl");
        let (_stop, rx) = watch::channel(false);
        let config = AuditConfig {
            file: Some(path.clone()),
            ..AuditConfig::default()
        };
        let err = AuditLog::start(config, rx).unwrap_err();
        assert!(matches!(&err, AuditError::Open { path: p, .. } if *p == path));
        assert!(err.to_string().contains("no/such/audit.jsonl"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn rotation_keeps_n_files_and_the_newest_entries_live() {
        let dir = temp_dir("rotate");
        let path = dir.join("audit.log");
        let (stop, rx) = watch::channel(false);
        let config = AuditConfig {
            file: Some(path.clone()),
            max_file_bytes: 2000,
            keep_files: 3,
            ..AuditConfig::default()
        };
        let (log, tasks) = AuditLog::start(config, rx).unwrap();
        for i in 0..200 {
            log.record(entry(i));
            if i % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        finish(stop, tasks).await;
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["audit.log", "audit.log.1", "audit.log.2", "audit.log.3"]
        );
        let stats = log.stats();
        assert_eq!(stats.written, 200);
        assert!(stats.rotations >= 4, "{stats:?}");
        // Every file within the limit; the entries in order from .3 through the live file,
        // ending with the newest.
        let mut ids = Vec::new();
        for name in ["audit.log.3", "audit.log.2", "audit.log.1", "audit.log"] {
            let p = dir.join(name);
            assert!(std::fs::metadata(&p).unwrap().len() <= 2000);
            for l in read_lines(&p) {
                let id = l["request_id"].as_str().unwrap().to_string();
                ids.push(id.trim_start_matches("req-").parse::<usize>().unwrap());
            }
        }
        assert_eq!(*ids.last().unwrap(), 199);
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_blocking() {
        // Capacity 1 and no writer: the first entry is queued, the rest dropped.
        let (log, _queue) = AuditLog::with_queue(1);
        let started = Instant::now();
        for i in 0..10_000 {
            log.record(entry(i));
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let stats = log.stats();
        assert_eq!((stats.recorded, stats.dropped), (1, 9_999));
    }

    /// A webhook on 127.0.0.1 answering 200; each request's authorization, content type and
    /// body come out of the receiver.
    async fn webhook_server() -> (
        String,
        mpsc::UnboundedReceiver<(Option<String>, Option<String>, Bytes)>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/audit", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            assert_eq!(req.method(), http::Method::POST);
                            assert_eq!(req.uri().path(), "/audit");
                            let header = |name| {
                                req.headers()
                                    .get(name)
                                    .map(|v: &http::HeaderValue| v.to_str().unwrap().to_string())
                            };
                            let auth = header(http::header::AUTHORIZATION);
                            let content_type = header(http::header::CONTENT_TYPE);
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let _ = tx.send((auth, content_type, body));
                            Ok::<_, std::convert::Infallible>(http::Response::new(
                                http_body_util::Full::new(Bytes::from_static(b"ok")),
                            ))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (url, rx)
    }

    fn fast() -> WebhookTuning {
        WebhookTuning {
            batch_wait: Duration::from_millis(50),
            retry_backoff: Duration::from_millis(10),
        }
    }

    #[tokio::test]
    async fn the_webhook_receives_ndjson_with_the_bearer_token() {
        let (url, mut requests) = webhook_server().await;
        let (stop, rx) = watch::channel(false);
        let config = AuditConfig {
            webhook: Some(url),
            webhook_token: Some("s3cr3t-token".into()),
            ..AuditConfig::default()
        };
        let (log, tasks) = AuditLog::start_tuned(config, rx, fast()).unwrap();
        for i in 0..250 {
            log.record(entry(i));
        }
        let mut ids = Vec::new();
        while ids.len() < 250 {
            let (auth, content_type, body) =
                tokio::time::timeout(Duration::from_secs(20), requests.recv())
                    .await
                    .unwrap()
                    .unwrap();
            assert_eq!(auth.as_deref(), Some("Bearer s3cr3t-token"));
            assert_eq!(content_type.as_deref(), Some("application/x-ndjson"));
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(text.ends_with('\n'));
            let lines: Vec<&str> = text.lines().collect();
            assert!(!lines.is_empty() && lines.len() <= 100, "{}", lines.len());
            for l in lines {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                ids.push(v["request_id"].as_str().unwrap().to_string());
            }
        }
        assert_eq!(
            ids,
            (0..250).map(|i| format!("req-{i}")).collect::<Vec<_>>()
        );
        let stats = wait_for_stats(&log, |s| s.webhook_sent == 250).await;
        assert_eq!(
            (stats.webhook_failed, stats.dropped, stats.written),
            (0, 0, 0)
        );
        finish(stop, tasks).await;
    }

    #[tokio::test]
    async fn a_refusing_webhook_is_counted_and_does_not_stop_file_writes() {
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let dir = temp_dir("refused");
        let path = dir.join("audit.jsonl");
        let (stop, rx) = watch::channel(false);
        let config = AuditConfig {
            file: Some(path.clone()),
            webhook: Some(format!("http://{closed}/")),
            webhook_token: Some("tok".into()),
            ..AuditConfig::default()
        };
        let (log, tasks) = AuditLog::start_tuned(config, rx, fast()).unwrap();
        for i in 0..5 {
            log.record(entry(i));
        }
        let stats = wait_for_stats(&log, |s| s.webhook_failed == 5).await;
        assert_eq!((stats.written, stats.webhook_sent), (5, 0));
        // The file keeps being written while the webhook fails.
        for i in 5..1000 {
            log.record(entry(i));
        }
        let stats = wait_for_stats(&log, |s| s.written == 1000).await;
        assert_eq!(stats.write_errors, 0);
        finish(stop, tasks).await;
        let stats = log.stats();
        assert_eq!(stats.webhook_sent, 0);
        // Every line went to the file; for the webhook each either failed or was dropped.
        assert_eq!(stats.webhook_failed + stats.dropped, 1000, "{stats:?}");
        assert_eq!(read_lines(&path).len(), 1000);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_full_webhook_queue_drops_for_the_webhook_only() {
        // A webhook that never answers (a listener that never accepts): its queue of 10 fills,
        // the file gets everything.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dir = temp_dir("slow");
        let path = dir.join("audit.jsonl");
        let (stop, rx) = watch::channel(false);
        let config = AuditConfig {
            file: Some(path.clone()),
            webhook: Some(format!("http://{}/", listener.local_addr().unwrap())),
            queue_capacity: 10,
            ..AuditConfig::default()
        };
        let (log, tasks) = AuditLog::start_tuned(config, rx, fast()).unwrap();
        for i in 0..300 {
            log.record(entry(i));
            tokio::task::yield_now().await;
        }
        let stats = wait_for_stats(&log, |s| s.written + s.write_errors == s.recorded).await;
        assert_eq!(stats.written, stats.recorded);
        assert!(stats.dropped > 0, "{stats:?}");
        drop(listener);
        finish(stop, tasks).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
