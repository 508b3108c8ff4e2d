//! The console's own charts, for a lab without Prometheus: every [`STEP`] the console samples
//! the request counters (requests, 4xx, 5xx, bytes in and out: what changed since the last
//! sample) and, after each usage scan, every bucket's size, object and version counts. Kept in
//! memory for [`KEEP`] (a restart starts the charts afresh).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::MetricsApi;
use crate::s3::stats::RequestStats;
use crate::store::{Millis, now_millis};

/// How often the request counters are sampled.
pub const STEP: Duration = Duration::from_secs(10);
/// How long samples are kept.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// Usage points kept per bucket (one per usage scan: 24 h at the default 2 min).
const USAGE_POINTS: usize = 720;

/// What changed in one step.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Point {
    /// The end of the step.
    pub t_ms: Millis,
    pub requests: u64,
    pub errors_4xx: u64,
    pub errors_5xx: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// One bucket's usage at one scan.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct UsagePoint {
    pub t_ms: Millis,
    pub bytes: u64,
    pub objects: u64,
    pub versions: u64,
}

#[derive(Default)]
struct State {
    /// The cumulative counters at the last sample.
    last: Option<Point>,
    points: VecDeque<Point>,
    /// The usage scan last recorded (its finish time).
    usage_as_of: Millis,
    usage: HashMap<String, VecDeque<UsagePoint>>,
}

/// The sampled series.
#[derive(Default)]
pub struct Series {
    state: Mutex<State>,
}

/// The cumulative counters now.
fn totals(stats: &RequestStats, t_ms: Millis) -> Point {
    let c = &stats.cluster;
    let mut p = Point {
        t_ms,
        bytes_in: c.received_bytes.load(Ordering::Relaxed),
        bytes_out: c.sent_bytes.load(Ordering::Relaxed),
        ..Point::default()
    };
    for op in c.operations.iter() {
        p.requests += op.requests.load(Ordering::Relaxed);
        p.errors_4xx += op.errors_4xx.load(Ordering::Relaxed);
        p.errors_5xx += op.errors_5xx.load(Ordering::Relaxed);
    }
    p
}

impl Series {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one step of the request counters.
    pub fn sample_requests(&self, stats: &RequestStats, t_ms: Millis) {
        let now = totals(stats, t_ms);
        let mut s = self.lock();
        if let Some(last) = s.last {
            let d = |a: u64, b: u64| a.saturating_sub(b);
            s.points.push_back(Point {
                t_ms,
                requests: d(now.requests, last.requests),
                errors_4xx: d(now.errors_4xx, last.errors_4xx),
                errors_5xx: d(now.errors_5xx, last.errors_5xx),
                bytes_in: d(now.bytes_in, last.bytes_in),
                bytes_out: d(now.bytes_out, last.bytes_out),
            });
            let keep_from = t_ms.saturating_sub(KEEP.as_millis() as Millis);
            while s.points.front().is_some_and(|p| p.t_ms < keep_from) {
                s.points.pop_front();
            }
        }
        s.last = Some(now);
    }

    /// Records the usage scan that finished at `as_of`, once.
    pub fn sample_usage(
        &self,
        as_of: Millis,
        buckets: &[(String, crate::store::usage::BucketUsage)],
    ) {
        let mut s = self.lock();
        if as_of == 0 || as_of == s.usage_as_of {
            return;
        }
        s.usage_as_of = as_of;
        s.usage
            .retain(|name, _| buckets.iter().any(|(b, _)| b == name));
        for (name, u) in buckets {
            let h = s.usage.entry(name.clone()).or_default();
            h.push_back(UsagePoint {
                t_ms: as_of,
                bytes: u.bytes,
                objects: u.objects,
                versions: u.versions,
            });
            if h.len() > USAGE_POINTS {
                h.pop_front();
            }
        }
    }

    /// The steps of the last `window`, oldest first.
    pub fn points(&self, window: Duration, now: Millis) -> Vec<Point> {
        let from = now.saturating_sub(window.as_millis() as Millis);
        self.lock()
            .points
            .iter()
            .filter(|p| p.t_ms > from)
            .copied()
            .collect()
    }

    /// A bucket's usage history, oldest first.
    pub fn usage_history(&self, bucket: &str) -> Vec<UsagePoint> {
        self.lock()
            .usage
            .get(bucket)
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Samples every [`STEP`] until shutdown.
    pub fn start(
        self: Arc<Self>,
        metrics: Arc<MetricsApi>,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(STEP);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.changed() => return,
                }
                let now = now_millis();
                self.sample_requests(&metrics.requests, now);
                let usage = metrics.usage.snapshot();
                self.sample_usage(usage.finished_ms, &usage.buckets);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::usage::BucketUsage;

    #[test]
    fn steps_are_differences_and_old_ones_go() {
        let stats = RequestStats::new(true);
        let s = Series::default();
        s.sample_requests(&stats, 1_000);
        stats.cluster.operations[0]
            .requests
            .fetch_add(5, Ordering::Relaxed);
        stats.cluster.operations[1]
            .errors_4xx
            .fetch_add(2, Ordering::Relaxed);
        stats
            .cluster
            .received_bytes
            .fetch_add(100, Ordering::Relaxed);
        s.sample_requests(&stats, 11_000);
        s.sample_requests(&stats, 21_000);
        let p = s.points(Duration::from_secs(3600), 21_000);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].requests, p[0].errors_4xx, p[0].bytes_in), (5, 2, 100));
        assert_eq!(
            p[1],
            Point {
                t_ms: 21_000,
                ..Point::default()
            }
        );
        assert_eq!(s.points(Duration::from_secs(5), 21_000).len(), 1);
        let later = 21_000 + KEEP.as_millis() as Millis + 20_000;
        s.sample_requests(&stats, later);
        assert_eq!(s.points(KEEP * 2, later).len(), 1);
    }

    #[test]
    fn usage_is_recorded_once_per_scan_and_deleted_buckets_go() {
        let s = Series::default();
        let u = |bytes| BucketUsage {
            bytes,
            ..BucketUsage::default()
        };
        s.sample_usage(0, &[("a".into(), u(1))]);
        assert!(s.usage_history("a").is_empty());
        s.sample_usage(5, &[("a".into(), u(1)), ("b".into(), u(2))]);
        s.sample_usage(5, &[("a".into(), u(1)), ("b".into(), u(2))]);
        s.sample_usage(9, &[("a".into(), u(3))]);
        let a: Vec<u64> = s.usage_history("a").iter().map(|p| p.bytes).collect();
        assert_eq!(a, vec![1, 3]);
        assert!(s.usage_history("b").is_empty());
    }
}
