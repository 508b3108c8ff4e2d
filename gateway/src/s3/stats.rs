//! Request accounting for the metrics endpoints: per S3 operation (MinIO's `api` label) and
//! per bucket, requests, 4xx and 5xx answers, requests in flight, time to the response's
//! headers (MinIO's TTFB distributions), traffic in and out, and the full duration of each
//! request (headers and body sent) as a Prometheus histogram by operation and status class.
//!
//! Cost per request: one read-locked map lookup (the bucket's counters), a few relaxed atomic
//! increments, and one boxed wrapper around each body to count its bytes. Buckets are tracked
//! only when they exist (at most [`MAX_TRACKED_BUCKETS`]); the metrics endpoint prunes deleted
//! ones, so a client naming random buckets cannot grow the series.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http::StatusCode;
use http_body::{Frame, SizeHint};

use super::router::Operation;
use crate::telemetry::{Histogram, HistogramSnapshot, LATENCY_SECONDS};

/// How many operations there are (the index of the last one, plus one).
pub const OPERATION_COUNT: usize = Operation::ALL.len();

/// Buckets tracked at most; requests on others count only in the cluster-wide series.
pub const MAX_TRACKED_BUCKETS: usize = 10_000;

/// MinIO's TTFB distribution bounds (`le` labels `0.050` … `10.000`, then `+Inf`).
pub const TTFB_SECONDS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Status classes of the duration histogram.
pub const STATUS_CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

/// Counters of one operation (cluster-wide, or within one bucket).
#[derive(Debug)]
pub struct OperationCounters {
    pub requests: AtomicU64,
    pub errors_4xx: AtomicU64,
    pub errors_5xx: AtomicU64,
    /// Requests whose client went away before the answer was sent in full.
    pub canceled: AtomicU64,
    pub in_flight: AtomicI64,
    /// Time to the response's headers.
    pub ttfb: Histogram,
}

impl OperationCounters {
    fn new() -> Self {
        OperationCounters {
            requests: AtomicU64::new(0),
            errors_4xx: AtomicU64::new(0),
            errors_5xx: AtomicU64::new(0),
            canceled: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
            ttfb: Histogram::new(TTFB_SECONDS),
        }
    }

    /// Whether this operation was ever seen (series of unseen operations are not rendered).
    pub fn seen(&self) -> bool {
        self.requests.load(Ordering::Relaxed) > 0 || self.in_flight.load(Ordering::Relaxed) > 0
    }
}

/// One set of counters: cluster-wide, or a bucket's.
#[derive(Debug)]
pub struct Counters {
    pub operations: Box<[OperationCounters]>,
    pub received_bytes: AtomicU64,
    pub sent_bytes: AtomicU64,
}

impl Counters {
    fn new() -> Self {
        Counters {
            operations: (0..OPERATION_COUNT)
                .map(|_| OperationCounters::new())
                .collect(),
            received_bytes: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
        }
    }
}

/// Every request's figures. Shared by the S3 API (which records) and the metrics endpoints
/// (which read).
#[derive(Debug)]
pub struct RequestStats {
    enabled: bool,
    pub cluster: Counters,
    buckets: RwLock<HashMap<String, Arc<Counters>>>,
    /// Request duration (headers and body sent), by operation and status class.
    durations: Box<[Histogram]>,
    pub in_flight: AtomicI64,
}

impl RequestStats {
    /// `enabled: false` (`--metrics off`) records nothing.
    pub fn new(enabled: bool) -> Self {
        RequestStats {
            enabled,
            cluster: Counters::new(),
            buckets: RwLock::new(HashMap::new()),
            durations: (0..OPERATION_COUNT * STATUS_CLASSES.len())
                .map(|_| Histogram::new(LATENCY_SECONDS))
                .collect(),
            in_flight: AtomicI64::new(0),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The counters of `bucket`, if tracked. `exists` is asked only for an untracked bucket.
    fn bucket(&self, bucket: &str, exists: impl FnOnce() -> bool) -> Option<Arc<Counters>> {
        {
            let map = self.buckets.read().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = map.get(bucket) {
                return Some(c.clone());
            }
            if map.len() >= MAX_TRACKED_BUCKETS {
                return None;
            }
        }
        if !exists() {
            return None;
        }
        let mut map = self.buckets.write().unwrap_or_else(|e| e.into_inner());
        Some(
            map.entry(bucket.to_string())
                .or_insert_with(|| Arc::new(Counters::new()))
                .clone(),
        )
    }

    /// The tracked buckets' counters, by name.
    pub fn buckets(&self) -> Vec<(String, Arc<Counters>)> {
        let map = self.buckets.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map.iter().map(|(k, c)| (k.clone(), c.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Forgets the counters of buckets for which `keep` says no (deleted buckets).
    pub fn retain_buckets(&self, keep: impl Fn(&str) -> bool) {
        let mut map = self.buckets.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|k, _| keep(k));
    }

    /// The duration histogram of `op` answered with a status of `class` (an index into
    /// [`STATUS_CLASSES`]).
    pub fn duration(&self, op: usize, class: usize) -> HistogramSnapshot {
        self.durations[op * STATUS_CLASSES.len() + class].snapshot()
    }

    /// Starts accounting a routed request; `exists` tells whether the bucket exists (asked
    /// once per bucket).
    pub fn start(
        self: &Arc<Self>,
        op: Operation,
        bucket: Option<&str>,
        exists: impl FnOnce() -> bool,
    ) -> Option<RequestTracker> {
        if !self.enabled {
            return None;
        }
        let op = op as usize;
        let bucket = bucket.and_then(|b| self.bucket(b, exists));
        self.cluster.operations[op]
            .in_flight
            .fetch_add(1, Ordering::Relaxed);
        if let Some(b) = &bucket {
            b.operations[op].in_flight.fetch_add(1, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(RequestTracker {
            stats: self.clone(),
            op,
            bucket,
            started: Instant::now(),
            finished: false,
        })
    }
}

/// One request being accounted, from routing to its answer's last byte.
#[derive(Debug)]
pub struct RequestTracker {
    stats: Arc<RequestStats>,
    op: usize,
    bucket: Option<Arc<Counters>>,
    started: Instant,
    finished: bool,
}

impl RequestTracker {
    /// Counts the request body's bytes as they are read.
    pub fn count_received(&self, body: Body) -> Body {
        Body::new(CountedBody {
            inner: body,
            cluster: self.stats.clone(),
            bucket: self.bucket.clone(),
            direction: Direction::Received,
            done: None,
        })
    }

    /// Records the answer's status and time to headers, and wraps its body to count the bytes
    /// sent and the full duration.
    pub fn finish(mut self, response: http::Response<Body>) -> http::Response<Body> {
        self.finished = true;
        let status = response.status();
        let ttfb = self.started.elapsed().as_secs_f64();
        let class = status_class(status);
        let stats = &self.stats;
        for c in std::iter::once(&stats.cluster).chain(self.bucket.as_deref()) {
            let o = &c.operations[self.op];
            o.requests.fetch_add(1, Ordering::Relaxed);
            if status.is_client_error() {
                o.errors_4xx.fetch_add(1, Ordering::Relaxed);
            } else if status.is_server_error() {
                o.errors_5xx.fetch_add(1, Ordering::Relaxed);
            }
            o.ttfb.observe(ttfb);
            o.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        let (parts, body) = response.into_parts();
        let body = Body::new(CountedBody {
            inner: body,
            cluster: stats.clone(),
            bucket: self.bucket.clone(),
            direction: Direction::Sent,
            done: Some(Done {
                op: self.op,
                class,
                started: self.started,
                ended: false,
            }),
        });
        http::Response::from_parts(parts, body)
    }
}

impl Drop for RequestTracker {
    /// A request dropped before its answer (the connection closed mid-handler).
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        for c in std::iter::once(&self.stats.cluster).chain(self.bucket.as_deref()) {
            let o = &c.operations[self.op];
            o.in_flight.fetch_sub(1, Ordering::Relaxed);
            o.canceled.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn status_class(status: StatusCode) -> usize {
    match status.as_u16() {
        300..=399 => 1,
        400..=499 => 2,
        500.. => 3,
        _ => 0,
    }
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    Received,
    Sent,
}

/// The end of an answer: its duration is recorded when its body ends (or is dropped).
#[derive(Debug)]
struct Done {
    op: usize,
    class: usize,
    started: Instant,
    ended: bool,
}

/// A body whose data bytes are added to the traffic counters as they pass.
struct CountedBody {
    inner: Body,
    cluster: Arc<RequestStats>,
    bucket: Option<Arc<Counters>>,
    direction: Direction,
    done: Option<Done>,
}

impl CountedBody {
    fn add(&self, n: u64) {
        fn pick(c: &Counters, d: Direction) -> &AtomicU64 {
            match d {
                Direction::Received => &c.received_bytes,
                Direction::Sent => &c.sent_bytes,
            }
        }
        pick(&self.cluster.cluster, self.direction).fetch_add(n, Ordering::Relaxed);
        if let Some(b) = &self.bucket {
            pick(b, self.direction).fetch_add(n, Ordering::Relaxed);
        }
    }

    fn end(&mut self) {
        if let Some(d) = self.done.as_mut().filter(|d| !d.ended) {
            d.ended = true;
            let i = d.op * STATUS_CLASSES.len() + d.class;
            self.cluster.durations[i].observe_duration(d.started.elapsed());
        }
    }
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    self.add(d.len() as u64);
                }
            }
            Poll::Ready(None) => self.end(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CountedBody {
    fn drop(&mut self) {
        // An empty body may never be polled; a dropped one ended, early or not.
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn counts_requests_errors_traffic_and_in_flight() {
        let stats = Arc::new(RequestStats::new(true));
        let t = stats
            .start(Operation::PutObject, Some("bronze"), || true)
            .unwrap();
        assert_eq!(stats.in_flight.load(Ordering::Relaxed), 1);
        let body = t.count_received(Body::from("hello"));
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(&got[..], b"hello");
        let resp = http::Response::builder()
            .status(403)
            .body(Body::from("denied!"))
            .unwrap();
        let resp = t.finish(resp);
        assert_eq!(stats.in_flight.load(Ordering::Relaxed), 0);
        let _ = resp.into_body().collect().await.unwrap();
        let op = Operation::PutObject as usize;
        let c = &stats.cluster.operations[op];
        assert_eq!(c.requests.load(Ordering::Relaxed), 1);
        assert_eq!(c.errors_4xx.load(Ordering::Relaxed), 1);
        assert_eq!(stats.cluster.received_bytes.load(Ordering::Relaxed), 5);
        assert_eq!(stats.cluster.sent_bytes.load(Ordering::Relaxed), 7);
        let buckets = stats.buckets();
        assert_eq!(buckets.len(), 1);
        assert_eq!(buckets[0].1.sent_bytes.load(Ordering::Relaxed), 7);
        assert_eq!(stats.duration(op, 2).count, 1);
        // A bucket that does not exist is not tracked.
        let t = stats.start(Operation::GetObject, Some("nope"), || false);
        drop(t);
        assert_eq!(stats.buckets().len(), 1);
        assert_eq!(
            stats.cluster.operations[Operation::GetObject as usize]
                .canceled
                .load(Ordering::Relaxed),
            1
        );
    }

    #[test]
    fn disabled_records_nothing() {
        let stats = Arc::new(RequestStats::new(false));
        assert!(stats.start(Operation::GetObject, None, || true).is_none());
    }
}
