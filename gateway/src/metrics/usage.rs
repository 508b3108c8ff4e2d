//! The usage scanner: counts what every bucket holds ([`crate::store::usage`]) at start and
//! then every `--usage-interval`, and keeps the last result for the metrics endpoints (a scrape
//! never walks the metadata). MinIO's data scanner plays the same part, and its dashboards
//! show how long ago it last ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::usage::BucketUsage;
use crate::store::{Millis, Store, now_millis};

/// The last completed pass.
#[derive(Debug, Default)]
pub struct UsageSnapshot {
    /// When the pass finished (ms since the epoch; 0: none yet).
    pub finished_ms: Millis,
    pub buckets: Vec<(String, BucketUsage)>,
}

impl UsageSnapshot {
    /// The sum over every bucket.
    pub fn total(&self) -> BucketUsage {
        let mut t = BucketUsage::default();
        for (_, u) in &self.buckets {
            t.objects += u.objects;
            t.versions += u.versions;
            t.delete_markers += u.delete_markers;
            t.bytes += u.bytes;
            t.inline_versions += u.inline_versions;
            t.blob_versions += u.blob_versions;
            t.scanned += u.scanned;
            for (a, b) in t.sizes.iter_mut().zip(u.sizes) {
                *a += b;
            }
            for (a, b) in t.version_counts.iter_mut().zip(u.version_counts) {
                *a += b;
            }
        }
        t
    }
}

/// Counters of the scanner's work since start (MinIO's `minio_node_scanner_*`).
#[derive(Debug, Default)]
pub struct ScannerCounters {
    pub objects_scanned: AtomicU64,
    pub versions_scanned: AtomicU64,
    pub bucket_scans_started: AtomicU64,
    pub bucket_scans_finished: AtomicU64,
    pub passes: AtomicU64,
}

pub struct UsageScanner {
    store: Arc<Store>,
    last: ArcSwap<UsageSnapshot>,
    pub counters: ScannerCounters,
}

impl UsageScanner {
    pub fn new(store: Arc<Store>) -> Self {
        UsageScanner {
            store,
            last: ArcSwap::from_pointee(UsageSnapshot::default()),
            counters: ScannerCounters::default(),
        }
    }

    /// The last completed pass.
    pub fn snapshot(&self) -> Arc<UsageSnapshot> {
        self.last.load_full()
    }

    /// Counts every bucket now (blocking reads, on a blocking thread per bucket).
    pub async fn scan(&self) {
        let buckets = match self.store.list_buckets() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "usage scan: cannot list the buckets");
                return;
            }
        };
        let mut out = Vec::with_capacity(buckets.len());
        for b in buckets {
            self.counters
                .bucket_scans_started
                .fetch_add(1, Ordering::Relaxed);
            let store = self.store.clone();
            let name = b.name.clone();
            let usage = tokio::task::spawn_blocking(move || store.bucket_usage(&name)).await;
            match usage {
                Ok(Ok(u)) => {
                    self.counters
                        .bucket_scans_finished
                        .fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .objects_scanned
                        .fetch_add(u.objects, Ordering::Relaxed);
                    self.counters
                        .versions_scanned
                        .fetch_add(u.scanned, Ordering::Relaxed);
                    out.push((b.name, u));
                }
                // Deleted meanwhile.
                Ok(Err(crate::store::StoreError::NoSuchBucket)) => {}
                Ok(Err(e)) => tracing::warn!(bucket = %b.name, error = %e, "usage scan failed"),
                Err(e) => tracing::warn!(bucket = %b.name, error = %e, "usage scan task failed"),
            }
        }
        self.counters.passes.fetch_add(1, Ordering::Relaxed);
        self.last.store(Arc::new(UsageSnapshot {
            finished_ms: now_millis(),
            buckets: out,
        }));
    }

    /// Scans now, then every `interval`, until shutdown.
    pub fn start(
        self: &Arc<Self>,
        interval: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                this.scan().await;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = shutdown.changed() => return,
                }
            }
        })
    }
}
