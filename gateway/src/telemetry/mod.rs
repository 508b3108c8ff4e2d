//! Measuring primitives every layer records into, and the Prometheus text format they are
//! rendered in.
//!
//! - [`Histogram`]: a Prometheus histogram over fixed bucket bounds, updated with atomics (a
//!   recording is one bucket increment, one count increment and one sum add: no lock, no
//!   allocation).
//! - [`text`]: the text exposition format (version 0.0.4), written by hand because the MinIO
//!   names the stock dashboards query (`minio_s3_traffic_received_bytes`, a counter without
//!   `_total`; distributions as gauges with a `le` label) are not names an
//!   OpenMetrics-enforcing encoder would produce.
//!
//! The layers below the metrics endpoints keep their own figures (the metadata writer's group
//! commits, the plugins' calls, the scanner's passes, the backups' runs) with these types; the
//! endpoints, in a layer above, read and render them at scrape time.

pub mod text;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket bounds for request and call latencies, seconds.
pub const LATENCY_SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Bucket bounds for long-running jobs (scans, backups), seconds.
pub const JOB_SECONDS: &[f64] = &[
    0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// A Prometheus histogram: cumulative bucket counts are computed at render time from the
/// per-bucket counts kept here.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One count per bound, plus the `+Inf` bucket.
    counts: Box<[AtomicU64]>,
    /// The sum of observations, in micro-units (microseconds for durations), so it can be an
    /// integer atomic.
    sum_micros: AtomicU64,
}

/// A point-in-time copy of a [`Histogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub bounds: &'static [f64],
    /// Cumulative counts, one per bound, then `+Inf` (= the count).
    pub cumulative: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, value: f64) {
        let i = self.bounds.partition_point(|b| *b < value);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let micros = (value.max(0.0) * 1e6) as u64;
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Records a duration, in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// How many observations were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = Vec::with_capacity(self.counts.len());
        let mut running = 0;
        for c in self.counts.iter() {
            running += c.load(Ordering::Relaxed);
            cumulative.push(running);
        }
        HistogramSnapshot {
            bounds: self.bounds,
            count: running,
            cumulative,
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// Seconds since the Unix epoch, as a float (for `_timestamp_seconds` gauges).
pub fn unix_seconds(millis: i64) -> f64 {
    millis as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::new(&[0.1, 1.0]);
        for v in [0.05, 0.1, 0.5, 2.0, 3.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        // le=0.1 holds 0.05 and 0.1 (upper bounds are inclusive), le=1 adds 0.5, +Inf all.
        assert_eq!(s.cumulative, vec![2, 3, 5]);
        assert_eq!(s.count, 5);
        assert!((s.sum - 5.65).abs() < 1e-6, "{}", s.sum);
        assert_eq!(h.count(), 5);
    }
}
