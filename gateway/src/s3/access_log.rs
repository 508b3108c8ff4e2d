//! Server access logging: one record per request on a bucket whose logging is on
//! (configured by `logging.rs`), in AWS's format, gathered in batches and delivered as objects
//! into the target bucket.
//!
//! # Records
//!
//! AWS's 26 space-separated fields, one line each: bucket owner, bucket, `[time]`, remote IP,
//! requester, request id (the `x-amz-request-id` the client got), operation
//! (`REST.PUT.OBJECT` ...), key, `"request line"`, status, error code, bytes sent, object size,
//! total time, turn-around time, `"referer"`, `"user agent"`, version id, host id, signature
//! version, cipher suite, authentication type, Host header, TLS version, access point ARN and
//! whether an ACL was required. Empty fields are `-`. Unquoted fields never hold a space, a quote
//! or a bracket (keys are percent-encoded); quoted fields escape `\` and `"`.
//!
//! A request is logged when it was routed to an operation on an existing bucket whose logging is
//! on, whatever its outcome (refused ones included, with their error code), and when the target
//! bucket still lets the log writer in ([`access::log_delivery_allowed`], asked per record).
//! The PutBucketLogging that turns logging on is the first record.
//!
//! # Batches and delivery
//!
//! Records are grouped by target bucket and prefix (and, for partitioned keys, by source bucket
//! and, for event-time partitions, by day). A group's batch is delivered as one object:
//! - by the first record that arrives `interval` or more after the batch opened, before that
//!   request is answered (the record then opens the next batch); so a log is never older than
//!   the interval when anything new is logged, and a quiet bucket does not produce a trickle of
//!   tiny objects;
//! - by the sweeper once the batch is [`SWEEP_AFTER`] intervals old, or larger than
//!   [`MAX_BATCH_BYTES`] on the next record;
//! - at shutdown.
//!
//! Delivery writes the object straight into the store (it is not itself a request, so it is not
//! logged: a bucket may log into itself without a loop). A failed delivery is logged with
//! `tracing` and its records dropped: a request never fails because of logging, and AWS's own
//! delivery is best effort too. Batches live in memory: a crash loses at most the open ones.
//!
//! # Keys
//!
//! `SimplePrefix`: `<prefix>YYYY-MM-DD-hh-mm-ss-<unique>` at the delivery time (UTC).
//! `PartitionedPrefix`: `<prefix><owner>/<region>/<source bucket>/YYYY/MM/DD/` and then the same
//! name, where the date is the delivery time's, or for `EventTime` the records' day (and the
//! time `00-00-00`). `<unique>` is 16 hex digits: a counter (keys of one second sort in delivery
//! order) and a per-process random part.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use http::{HeaderMap, Method, Version};
use md5::Digest;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::list::url_encode;
use super::router::{Operation, Query};
use super::{S3Api, S3Response, access};
use crate::policy::registry::PolicyRegistry;
use crate::store::{
    NewVersion, ObjectMeta, S3LoggingConfig, Store, StoreError, WriteConditions, now_millis,
};

/// A batch this large is delivered on its next record, whatever its age.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// The sweeper delivers a batch once it is this many intervals old.
pub const SWEEP_AFTER: u32 = 12;
/// Bucket configurations remembered; past this the cache starts over.
const MAX_CACHED_CONFIGS: usize = 10_000;
/// The `x-amz-id-2` every answer carries (the log's host id field).
const HOST_ID: &str = "lakegate";

/// The server's access log: configurations (cached), open batches, delivery.
pub struct AccessLog {
    store: Arc<Store>,
    /// Retention bindings apply to log objects as to any other write.
    policies: Arc<PolicyRegistry>,
    interval: Duration,
    /// Bucket → its logging configuration (`None`: logging off).
    configs: RwLock<HashMap<String, Option<Arc<S3LoggingConfig>>>>,
    batches: Mutex<HashMap<Group, Arc<Mutex<Batch>>>>,
    counter: AtomicU32,
    salt: u32,
}

/// Records delivered together into one object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Group {
    target: String,
    prefix: String,
    partition: Option<Partition>,
}

/// What a partitioned key names besides the prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Partition {
    owner: String,
    region: String,
    source: String,
    /// `EventTime`: the records' day; `DeliveryTime`: none.
    event_day: Option<NaiveDate>,
}

/// An open batch: its records and when its first one arrived.
#[derive(Default)]
struct Batch {
    opened: Option<Instant>,
    lines: Vec<u8>,
}

/// A formatted record and the batch it goes into.
pub struct Record {
    group: Group,
    line: String,
}

/// What is known about a request to a bucket whose logging is on, gathered while it is
/// answered ([`AccessLog::entry`], then the requester once authenticated).
pub struct Entry {
    /// `None` only for a PutBucketLogging on a bucket without logging: the configuration it
    /// sets decides, once answered.
    config: Option<Arc<S3LoggingConfig>>,
    time: DateTime<Utc>,
    bucket: String,
    key: Option<String>,
    op: Operation,
    method: Method,
    request_line: String,
    request_id: String,
    remote_ip: Option<std::net::IpAddr>,
    /// The requester's canonical id, once authenticated.
    pub requester: Option<String>,
    referer: Option<String>,
    user_agent: Option<String>,
    host: Option<String>,
    version_id: Option<String>,
    signature: Option<(&'static str, &'static str)>,
    /// The request body's declared size (writes).
    upload_size: Option<u64>,
}

impl AccessLog {
    pub fn new(store: Arc<Store>, policies: Arc<PolicyRegistry>, interval: Duration) -> Self {
        let mut salt = [0u8; 4];
        // Without randomness the keys are still unique within the process (the counter).
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt);
        AccessLog {
            store,
            policies,
            interval,
            configs: RwLock::default(),
            batches: Mutex::default(),
            counter: AtomicU32::new(0),
            salt: u32::from_be_bytes(salt),
        }
    }

    /// The bucket's logging configuration, if logging is on (cached).
    fn config(&self, bucket: &str) -> Option<Arc<S3LoggingConfig>> {
        if let Ok(configs) = self.configs.read()
            && let Some(c) = configs.get(bucket)
        {
            return c.clone();
        }
        let config = match self.store.s3_logging(bucket) {
            Ok(c) => c.map(Arc::new),
            Err(e) => {
                tracing::debug!(bucket, error = %e, "cannot read the logging configuration");
                return None;
            }
        };
        if let Ok(mut configs) = self.configs.write() {
            if configs.len() >= MAX_CACHED_CONFIGS {
                configs.clear();
            }
            configs.insert(bucket.to_string(), config.clone());
        }
        config
    }

    /// The bucket's configuration changed (PutBucketLogging).
    pub fn configured(&self, bucket: &str, config: Option<S3LoggingConfig>) {
        if let Ok(mut configs) = self.configs.write() {
            configs.insert(bucket.to_string(), config.map(Arc::new));
        }
    }

    /// The bucket was deleted: its configuration went with it, and batches meant for it are
    /// dropped (a bucket created later under its name must not receive them).
    pub fn bucket_deleted(&self, bucket: &str) {
        if let Ok(mut configs) = self.configs.write() {
            configs.remove(bucket);
        }
        if let Ok(mut batches) = self.batches.lock() {
            batches.retain(|g, _| g.target != bucket);
        }
    }

    /// Starts an entry for a routed request, if its bucket's logging is on.
    pub fn entry(
        &self,
        parts: &http::request::Parts,
        bucket: &str,
        key: Option<&str>,
        query: &Query,
        op: Operation,
        request_id: &str,
    ) -> Option<Entry> {
        let config = self.config(bucket);
        if config.is_none() && op != Operation::PutBucketLogging {
            return None;
        }
        let h = &parts.headers;
        let text = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let signature = match h.get(http::header::AUTHORIZATION).map(|v| v.as_bytes()) {
            Some(a) if a.starts_with(b"AWS4-") => Some(("SigV4", "AuthHeader")),
            Some(a) if a.starts_with(b"AWS ") => Some(("SigV2", "AuthHeader")),
            _ if query.has("X-Amz-Algorithm") => Some(("SigV4", "QueryString")),
            _ if query.has("Signature") => Some(("SigV2", "QueryString")),
            _ => None,
        };
        let upload_size = text("x-amz-decoded-content-length")
            .or_else(|| text("content-length"))
            .and_then(|v| v.parse().ok());
        Some(Entry {
            config,
            time: Utc::now(),
            bucket: bucket.to_string(),
            key: key.map(str::to_string),
            op,
            method: parts.method.clone(),
            request_line: format!(
                "{} {} {}",
                parts.method,
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/"),
                http_version(parts.version)
            ),
            request_id: request_id.to_string(),
            remote_ip: parts
                .extensions
                .get::<access::ClientAddr>()
                .map(|a| a.0.ip()),
            requester: None,
            referer: text("referer"),
            user_agent: text("user-agent"),
            host: text("host"),
            version_id: query.get("versionId").map(str::to_string),
            signature,
            upload_size,
        })
    }

    /// Formats a finished request's record, if the target bucket still lets the log writer
    /// in; [`Self::append`] then queues it. (Two steps: the response is not held across an
    /// await.)
    pub fn prepare(
        &self,
        state: &S3Api,
        entry: Entry,
        response: &S3Response,
        error_code: Option<&str>,
        elapsed: Duration,
    ) -> Option<Record> {
        let c = entry
            .config
            .clone()
            .or_else(|| self.config(&entry.bucket))?;
        match access::log_delivery_allowed(state, &entry.bucket, &c.target_bucket, &c.target_prefix)
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(bucket = %entry.bucket, target = %c.target_bucket, "the target bucket does not admit the log writer; record dropped");
                return None;
            }
            Err(e) => {
                tracing::debug!(bucket = %entry.bucket, error = %e.message, "record dropped");
                return None;
            }
        }
        let owner = state.account().to_string();
        let partition = c.partition_date_source.as_deref().map(|source| Partition {
            owner: owner.clone(),
            region: state.region.clone(),
            source: entry.bucket.clone(),
            event_day: (source == "EventTime").then(|| entry.time.date_naive()),
        });
        Some(Record {
            line: format_record(&owner, &entry, response, error_code, elapsed),
            group: Group {
                target: c.target_bucket.clone(),
                prefix: c.target_prefix.clone(),
                partition,
            },
        })
    }

    /// Appends a record to its group's batch, delivering the batch first when it is due (see
    /// the module docs). The due batch is taken out under the group's lock and written after
    /// it, so other requests never wait for a delivery; this one does (its record opens the
    /// next batch).
    pub async fn append(&self, record: Record) {
        let Record { group, line } = record;
        let Ok(slot) = self
            .batches
            .lock()
            .map(|mut batches| batches.entry(group.clone()).or_default().clone())
        else {
            return;
        };
        let due = {
            let Ok(mut batch) = slot.lock() else { return };
            let due = batch.opened.is_some_and(|opened| {
                opened.elapsed() >= self.interval || batch.lines.len() >= MAX_BATCH_BYTES
            });
            let lines = if due {
                std::mem::take(&mut batch.lines)
            } else {
                Vec::new()
            };
            if due || batch.opened.is_none() {
                batch.opened = Some(Instant::now());
            }
            batch.lines.extend_from_slice(line.as_bytes());
            lines
        };
        self.deliver(&group, due).await;
    }

    /// Delivers every batch at least `age` old (all of them for zero); forgets empty groups.
    async fn deliver_older_than(&self, age: Duration) {
        let slots: Vec<(Group, Arc<Mutex<Batch>>)> = match self.batches.lock() {
            Ok(mut batches) => {
                // An empty batch nobody else holds is forgotten (a record arriving later
                // simply opens a new one).
                batches.retain(|_, slot| {
                    Arc::strong_count(slot) > 1
                        || slot.lock().map(|b| b.opened.is_some()).unwrap_or(false)
                });
                batches
                    .iter()
                    .map(|(g, s)| (g.clone(), s.clone()))
                    .collect()
            }
            Err(_) => return,
        };
        for (group, slot) in slots {
            let lines = match slot.lock() {
                Ok(mut batch) if batch.opened.is_some_and(|opened| opened.elapsed() >= age) => {
                    batch.opened = None;
                    std::mem::take(&mut batch.lines)
                }
                _ => continue,
            };
            self.deliver(&group, lines).await;
        }
    }

    /// Runs the sweeper until shutdown, then delivers what is left.
    pub fn start(self: &Arc<Self>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let log = self.clone();
        let age = log.interval.saturating_mul(SWEEP_AFTER);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(
                Duration::from_secs(1).min(log.interval.max(Duration::from_millis(100))),
            );
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => log.deliver_older_than(age).await,
                    _ = shutdown.changed() => break,
                }
            }
            log.deliver_older_than(Duration::ZERO).await;
        })
    }

    /// Writes a batch as one object into its target bucket; failures are logged, not returned.
    async fn deliver(&self, group: &Group, lines: Vec<u8>) {
        if lines.is_empty() {
            return;
        }
        let unique = format!(
            "{:08X}{:08X}",
            self.counter.fetch_add(1, Ordering::Relaxed),
            self.salt
        );
        let key = object_key(group, Utc::now(), &unique);
        let records = lines.iter().filter(|&&b| b == b'\n').count();
        match self.write(&group.target, &key, lines).await {
            Ok(()) => {
                tracing::debug!(target = %group.target, %key, records, "access log delivered")
            }
            Err(e) => tracing::warn!(
                target = %group.target, %key, records, error = %e,
                "cannot deliver access log records; they are dropped"
            ),
        }
    }

    async fn write(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        let info = self.store.bucket(bucket)?;
        let etag = hex::encode(md5::Md5::digest(&body));
        let body = Bytes::from(body);
        let staged = self
            .store
            .ingest(
                futures::stream::once(async move { Ok::<_, StoreError>(body) }),
                |_| Ok(()),
            )
            .await?;
        let size = staged.size();
        let data = staged.finish().await?;
        let now = now_millis();
        let mut new = NewVersion {
            data: data.clone(),
            size,
            etag,
            meta: ObjectMeta {
                content_type: Some("text/plain".into()),
                ..Default::default()
            },
            checksum: None,
            parts: Vec::new(),
            tags: Vec::new(),
            retention: None,
            legal_hold: false,
            owner: None,
            acl: None,
            encryption: None,
        };
        self.policies
            .apply_retention(&info, key, &mut new, now)
            .await;
        if let Err(e) = self
            .store
            .put_version(bucket, key, new, WriteConditions::default(), now)
            .await
        {
            self.store.discard(&data).await;
            return Err(e);
        }
        Ok(())
    }
}

/// The key of a log object delivered `now` (see the module docs); `unique` ends it.
fn object_key(group: &Group, now: DateTime<Utc>, unique: &str) -> String {
    let mut key = group.prefix.clone();
    let mut stamp = now.format("%Y-%m-%d-%H-%M-%S").to_string();
    if let Some(p) = &group.partition {
        let day = p.event_day.unwrap_or(now.date_naive());
        key.push_str(&format!(
            "{}/{}/{}/{:04}/{:02}/{:02}/",
            p.owner,
            p.region,
            p.source,
            day.year(),
            day.month(),
            day.day()
        ));
        if p.event_day.is_some() {
            stamp = day.format("%Y-%m-%d-00-00-00").to_string();
        }
    }
    key.push_str(&stamp);
    key.push('-');
    key.push_str(unique);
    key
}

fn http_version(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// AWS's operation name: `REST.<METHOD>.<RESOURCE>`.
pub fn operation_name(op: Operation) -> &'static str {
    use Operation::*;
    match op {
        ListBuckets => "REST.GET.SERVICE",
        CreateBucket => "REST.PUT.BUCKET",
        DeleteBucket => "REST.DELETE.BUCKET",
        HeadBucket => "REST.HEAD.BUCKET",
        GetBucketLocation => "REST.GET.LOCATION",
        GetBucketVersioning => "REST.GET.VERSIONING",
        PutBucketVersioning => "REST.PUT.VERSIONING",
        GetObjectLockConfiguration => "REST.GET.OBJECT_LOCK_CONFIGURATION",
        PutObjectLockConfiguration => "REST.PUT.OBJECT_LOCK_CONFIGURATION",
        GetBucketAcl | GetObjectAcl => "REST.GET.ACL",
        PutBucketAcl | PutObjectAcl => "REST.PUT.ACL",
        GetBucketTagging => "REST.GET.TAGGING",
        PutBucketTagging => "REST.PUT.TAGGING",
        DeleteBucketTagging => "REST.DELETE.TAGGING",
        GetBucketLifecycleConfiguration => "REST.GET.LIFECYCLE",
        PutBucketLifecycleConfiguration => "REST.PUT.LIFECYCLE",
        DeleteBucketLifecycle => "REST.DELETE.LIFECYCLE",
        ListObjects | ListObjectsV2 => "REST.GET.BUCKET",
        ListObjectVersions => "REST.GET.BUCKETVERSIONS",
        ListMultipartUploads => "REST.GET.UPLOADS",
        DeleteObjects => "REST.POST.MULTI_OBJECT_DELETE",
        GetObject => "REST.GET.OBJECT",
        GetObjectAttributes => "REST.GET.OBJECT_ATTRIBUTES",
        HeadObject => "REST.HEAD.OBJECT",
        PostObject => "REST.POST.OBJECT",
        PreflightCors => "REST.OPTIONS.PREFLIGHT",
        GetBucketCors => "REST.GET.CORS",
        PutBucketCors => "REST.PUT.CORS",
        DeleteBucketCors => "REST.DELETE.CORS",
        GetBucketPolicy => "REST.GET.BUCKETPOLICY",
        PutBucketPolicy => "REST.PUT.BUCKETPOLICY",
        DeleteBucketPolicy => "REST.DELETE.BUCKETPOLICY",
        GetBucketPolicyStatus => "REST.GET.POLICY_STATUS",
        GetBucketOwnershipControls => "REST.GET.OWNERSHIP_CONTROLS",
        PutBucketOwnershipControls => "REST.PUT.OWNERSHIP_CONTROLS",
        DeleteBucketOwnershipControls => "REST.DELETE.OWNERSHIP_CONTROLS",
        GetPublicAccessBlock => "REST.GET.PUBLIC_ACCESS_BLOCK",
        PutPublicAccessBlock => "REST.PUT.PUBLIC_ACCESS_BLOCK",
        DeletePublicAccessBlock => "REST.DELETE.PUBLIC_ACCESS_BLOCK",
        GetBucketLogging => "REST.GET.LOGGING_STATUS",
        PutBucketLogging => "REST.PUT.LOGGING_STATUS",
        GetBucketEncryption => "REST.GET.ENCRYPTION",
        PutBucketEncryption => "REST.PUT.ENCRYPTION",
        DeleteBucketEncryption => "REST.DELETE.ENCRYPTION",
        PutObject => "REST.PUT.OBJECT",
        CopyObject => "REST.COPY.OBJECT",
        DeleteObject => "REST.DELETE.OBJECT",
        GetObjectTagging => "REST.GET.OBJECT_TAGGING",
        PutObjectTagging => "REST.PUT.OBJECT_TAGGING",
        DeleteObjectTagging => "REST.DELETE.OBJECT_TAGGING",
        GetObjectRetention => "REST.GET.RETENTION",
        PutObjectRetention => "REST.PUT.RETENTION",
        GetObjectLegalHold => "REST.GET.LEGAL_HOLD",
        PutObjectLegalHold => "REST.PUT.LEGAL_HOLD",
        CreateMultipartUpload => "REST.POST.UPLOADS",
        UploadPart => "REST.PUT.PART",
        UploadPartCopy => "REST.COPY.PART",
        CompleteMultipartUpload => "REST.POST.UPLOAD",
        AbortMultipartUpload => "REST.DELETE.UPLOAD",
        ListParts => "REST.GET.UPLOAD",
    }
}

/// An unquoted field: `-` when empty; anything that would split or quote the line is
/// percent-encoded.
fn field(value: Option<&str>) -> String {
    match value {
        None | Some("") => "-".to_string(),
        Some(v) => {
            let mut out = String::with_capacity(v.len());
            for c in v.chars() {
                if c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '[' | ']' | '\\')
                {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// A quoted field: `"-"` when empty; `\` and `"` escaped, control characters dropped and
/// brackets percent-encoded.
fn quoted(value: Option<&str>) -> String {
    let mut out = String::from("\"");
    match value {
        None | Some("") => out.push('-'),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '[' => out.push_str("%5B"),
                    ']' => out.push_str("%5D"),
                    c if c.is_control() => {}
                    c => out.push(c),
                }
            }
        }
    }
    out.push('"');
    out
}

/// The size in bytes of the object a read answered with: the whole object's, also for a range.
fn object_size_read(headers: &HeaderMap) -> Option<u64> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    if let Some(range) = text(http::header::CONTENT_RANGE) {
        return range
            .rsplit_once('/')
            .and_then(|(_, total)| total.parse().ok());
    }
    text(http::header::CONTENT_LENGTH).and_then(|v| v.parse().ok())
}

/// One record line (with its `\n`).
fn format_record(
    owner: &str,
    e: &Entry,
    response: &S3Response,
    error_code: Option<&str>,
    elapsed: Duration,
) -> String {
    use Operation::*;
    let headers = response.headers();
    let ok = response.status().is_success();
    let bytes_sent = if e.method == Method::HEAD {
        None
    } else {
        headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .or_else(|| http_body::Body::size_hint(response.body()).exact())
            .filter(|n| *n > 0)
    };
    let object_size = match e.op {
        GetObject | HeadObject if ok => object_size_read(headers),
        PutObject | UploadPart | PostObject => e.upload_size,
        _ => None,
    };
    let key = e.key.as_deref().map(url_encode);
    let ms = elapsed.as_millis().to_string();
    let fields: [String; 26] = [
        field(Some(owner)),
        field(Some(&e.bucket)),
        e.time.format("[%d/%b/%Y:%H:%M:%S +0000]").to_string(),
        field(e.remote_ip.map(|ip| ip.to_string()).as_deref()),
        field(e.requester.as_deref()),
        field(Some(&e.request_id)),
        operation_name(e.op).to_string(),
        field(key.as_deref()),
        quoted(Some(&e.request_line)),
        response.status().as_u16().to_string(),
        field(error_code),
        field(bytes_sent.map(|n| n.to_string()).as_deref()),
        field(object_size.map(|n| n.to_string()).as_deref()),
        ms.clone(),
        ms,
        quoted(e.referer.as_deref()),
        quoted(e.user_agent.as_deref()),
        field(e.version_id.as_deref()),
        HOST_ID.to_string(),
        field(e.signature.map(|s| s.0)),
        "-".to_string(),
        field(e.signature.map(|s| s.1)),
        field(e.host.as_deref()),
        "-".to_string(),
        "-".to_string(),
        "-".to_string(),
    ];
    let mut line = fields.join(" ");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: Option<&str>, op: Operation) -> Entry {
        Entry {
            config: Some(Arc::new(S3LoggingConfig::default())),
            time: DateTime::parse_from_rfc3339("2026-12-03T12:26:05Z")
                .unwrap()
                .with_timezone(&Utc),
            bucket: "bronze".into(),
            key: key.map(str::to_string),
            op,
            method: Method::PUT,
            request_line: "PUT /bronze/a%20b?x=\"[1]\" HTTP/1.1".into(),
            request_id: "18A2B3C4D5E6F708".into(),
            remote_ip: Some("127.0.0.1".parse().unwrap()),
            requester: Some("admin".into()),
            referer: None,
            user_agent: Some("Boto3/1.44 \"quoted\" \\ back\u{7}".into()),
            host: Some("127.0.0.1:9000".into()),
            version_id: None,
            signature: Some(("SigV4", "AuthHeader")),
            upload_size: Some(517),
        }
    }

    /// Splits a line the way the s3-tests parse it (brackets as quotes, then shell words).
    fn split(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let (mut quoted, mut escaped, mut any) = (false, false, false);
        for c in line.trim_end().replace(['[', ']'], "\"").chars() {
            match c {
                _ if escaped => {
                    cur.push(c);
                    escaped = false;
                }
                '\\' if quoted => escaped = true,
                '"' => {
                    quoted = !quoted;
                    any = true;
                }
                ' ' if !quoted => {
                    if any || !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    any = false;
                }
                c => cur.push(c),
            }
        }
        if any || !cur.is_empty() {
            out.push(cur);
        }
        out
    }

    #[test]
    fn records_have_26_fields_whatever_the_request_holds() {
        let r = http::Response::builder()
            .status(200)
            .body(axum::body::Body::empty())
            .unwrap();
        let line = format_record(
            "admin",
            &entry(Some("dir/it's a [key]\"ü"), Operation::PutObject),
            &r,
            None,
            Duration::from_millis(4),
        );
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let f = split(&line);
        assert_eq!(f.len(), 26, "{line}");
        assert_eq!(f[0], "admin");
        assert_eq!(f[1], "bronze");
        assert_eq!(f[2], "03/Dec/2026:12:26:05 +0000");
        assert_eq!(f[3], "127.0.0.1");
        assert_eq!(f[6], "REST.PUT.OBJECT");
        assert_eq!(f[7], "dir/it%27s%20a%20%5Bkey%5D%22%C3%BC");
        assert_eq!(f[8], "PUT /bronze/a%20b?x=\"%5B1%5D\" HTTP/1.1");
        assert_eq!(f[9], "200");
        assert_eq!(f[10], "-");
        assert_eq!(f[12], "517");
        assert_eq!(f[13], "4");
        assert_eq!(f[15], "-");
        assert_eq!(f[16], "Boto3/1.44 \"quoted\" \\ back");
        assert_eq!(f[19], "SigV4");
        assert_eq!(f[21], "AuthHeader");
        assert_eq!(f[22], "127.0.0.1:9000");
    }

    #[test]
    fn errors_carry_their_code_and_bucket_operations_no_key() {
        let r = http::Response::builder()
            .status(404)
            .body(axum::body::Body::from("<Error/>"))
            .unwrap();
        let mut e = entry(None, Operation::GetBucketLogging);
        e.requester = None;
        e.signature = None;
        let f = split(&format_record(
            "admin",
            &e,
            &r,
            Some("NoSuchBucket"),
            Duration::ZERO,
        ));
        assert_eq!(f.len(), 26);
        assert_eq!(f[4], "-");
        assert_eq!(f[6], "REST.GET.LOGGING_STATUS");
        assert_eq!(f[7], "-");
        assert_eq!(
            (f[9].as_str(), f[10].as_str(), f[11].as_str()),
            ("404", "NoSuchBucket", "8")
        );
        assert_eq!((f[19].as_str(), f[21].as_str()), ("-", "-"));
    }

    #[test]
    fn keys_follow_aws_layouts() {
        let store_less = |group: Group, now: &str| {
            let now = DateTime::parse_from_rfc3339(now)
                .unwrap()
                .with_timezone(&Utc);
            object_key(&group, now, "0000002A9F3C61B7")
        };
        let simple = Group {
            target: "logs".into(),
            prefix: "log/".into(),
            partition: None,
        };
        assert_eq!(
            store_less(simple, "2026-12-03T12:26:05Z"),
            "log/2026-12-03-12-26-05-0000002A9F3C61B7"
        );
        let mut partitioned = Group {
            target: "logs".into(),
            prefix: "p/".into(),
            partition: Some(Partition {
                owner: "admin".into(),
                region: "us-east-1".into(),
                source: "bronze".into(),
                event_day: None,
            }),
        };
        assert_eq!(
            store_less(partitioned.clone(), "2026-12-03T12:26:05Z"),
            "p/admin/us-east-1/bronze/2026/12/03/2026-12-03-12-26-05-0000002A9F3C61B7"
        );
        if let Some(p) = &mut partitioned.partition {
            p.event_day = NaiveDate::from_ymd_opt(2026, 12, 2);
        }
        assert_eq!(
            store_less(partitioned, "2026-12-03T00:00:01Z"),
            "p/admin/us-east-1/bronze/2026/12/02/2026-12-02-00-00-00-0000002A9F3C61B7"
        );
    }
}
