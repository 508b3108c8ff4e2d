//! MinIO's v2 series, with the names, labels and label values its stock dashboards query
//! (`cmd/metrics-v2.go`). MinIO's "distributions" are gauges with a `range` or `le` label, not
//! Prometheus histograms; they are reproduced as such.
//!
//! What lakegate is not, it says plainly: one node with one drive (the data directory), so the
//! node, drive and erasure-set series are that single node's; nothing travels between nodes
//! (the inter-node traffic counters stay 0); backups play replication's part (a bucket's
//! backup target is its `targetArn`), and nothing is ever proxied to a replica (those counters
//! stay 0). `docs/METRICS.md` lists the series that are left out.

use std::sync::atomic::Ordering;

use super::MetricsApi;
use super::process::{self, ProcessFigures};
use crate::s3::router::Operation;
use crate::s3::stats::{Counters, OperationCounters, TTFB_SECONDS};
use crate::store::now_millis;
use crate::store::usage::{BucketUsage, SIZE_RANGES, VERSION_RANGES};
use crate::telemetry::text::{Exposition, Kind};

fn load(c: &std::sync::atomic::AtomicU64) -> f64 {
    c.load(Ordering::Relaxed) as f64
}

/// MinIO's TTFB `le` labels: three decimals.
fn le_label(bound: Option<f64>) -> String {
    match bound {
        Some(b) => format!("{b:.3}"),
        None => "+Inf".into(),
    }
}

/// The per-`api` request families of a set of counters, under `prefix`
/// (`minio_s3_requests` or `minio_bucket_requests`), with `extra` labels (the bucket).
fn request_families(e: &mut Exposition, prefix: &str, sets: &[(&[(&str, &str)], &Counters)]) {
    type Pick = fn(&OperationCounters) -> f64;
    let families: [(&str, Kind, &str, Pick); 5] = [
        ("total", Kind::Counter, "Total number of S3 requests", |o| {
            load(&o.requests)
        }),
        (
            "4xx_errors_total",
            Kind::Counter,
            "Total number of S3 requests with (4xx) errors",
            |o| load(&o.errors_4xx),
        ),
        (
            "5xx_errors_total",
            Kind::Counter,
            "Total number of S3 requests with (5xx) errors",
            |o| load(&o.errors_5xx),
        ),
        (
            "canceled_total",
            Kind::Counter,
            "Total number of S3 requests canceled by the client",
            |o| load(&o.canceled),
        ),
        (
            "inflight_total",
            Kind::Gauge,
            "Total number of S3 requests currently in flight",
            |o| o.in_flight.load(Ordering::Relaxed).max(0) as f64,
        ),
    ];
    for (suffix, kind, help, pick) in families {
        let name = format!("{prefix}_{suffix}");
        e.family(&name, kind, help);
        for (labels, counters) in sets {
            for (i, o) in counters.operations.iter().enumerate() {
                if !o.seen() {
                    continue;
                }
                let api = Operation::ALL[i].minio_api();
                let mut l: Vec<(&str, &str)> = labels.to_vec();
                l.push(("api", &api));
                e.sample(&name, &l, pick(o));
            }
        }
    }
    let name = format!("{prefix}_ttfb_seconds_distribution");
    e.family(
        &name,
        Kind::Gauge,
        "Distribution of the time to first byte across API calls",
    );
    for (labels, counters) in sets {
        for (i, o) in counters.operations.iter().enumerate() {
            if !o.seen() {
                continue;
            }
            let api = Operation::ALL[i].minio_api();
            let h = o.ttfb.snapshot();
            for (j, count) in h.cumulative.iter().enumerate() {
                let le = le_label(TTFB_SECONDS.get(j).copied());
                let mut l: Vec<(&str, &str)> = labels.to_vec();
                l.push(("api", &api));
                l.push(("le", &le));
                e.sample(&name, &l, *count as f64);
            }
        }
    }
}

fn usage_families(e: &mut Exposition, prefix: &str, sets: &[(&[(&str, &str)], &BucketUsage)]) {
    type Pick = fn(&BucketUsage) -> f64;
    let families: [(&str, &str, Pick); 4] = [
        ("usage_total_bytes", "Total bucket size in bytes", |u| {
            u.bytes as f64
        }),
        ("usage_object_total", "Total number of objects", |u| {
            u.objects as f64
        }),
        (
            "usage_version_total",
            "Total number of object versions (delete markers excluded)",
            |u| u.versions as f64,
        ),
        (
            "usage_deletemarker_total",
            "Total number of delete markers",
            |u| u.delete_markers as f64,
        ),
    ];
    for (suffix, help, pick) in families {
        let name = format!("{prefix}_{suffix}");
        e.family(&name, Kind::Gauge, help);
        for (labels, u) in sets {
            e.sample(&name, labels, pick(u));
        }
    }
    let name = format!("{prefix}_objects_size_distribution");
    e.family(&name, Kind::Gauge, "Distribution of object sizes");
    for (labels, u) in sets {
        for (i, (range, _, _)) in SIZE_RANGES.iter().enumerate() {
            let mut l: Vec<(&str, &str)> = labels.to_vec();
            l.push(("range", range));
            e.sample(&name, &l, u.sizes[i] as f64);
        }
    }
    let name = format!("{prefix}_objects_version_distribution");
    e.family(
        &name,
        Kind::Gauge,
        "Distribution of the number of versions per object",
    );
    for (labels, u) in sets {
        for (i, (range, _, _)) in VERSION_RANGES.iter().enumerate() {
            let mut l: Vec<(&str, &str)> = labels.to_vec();
            l.push(("range", range));
            e.sample(&name, &l, u.version_counts[i] as f64);
        }
    }
}

/// The cluster endpoint's MinIO series.
pub fn cluster(api: &MetricsApi, e: &mut Exposition) {
    let c = &api.requests.cluster;
    request_families(e, "minio_s3_requests", &[(&[], c)]);
    e.single(
        "minio_s3_traffic_received_bytes",
        Kind::Counter,
        "Total number of s3 bytes received",
        load(&c.received_bytes),
    );
    e.single(
        "minio_s3_traffic_sent_bytes",
        Kind::Counter,
        "Total number of s3 bytes sent",
        load(&c.sent_bytes),
    );

    let space = &api.store.space;
    if let Some(cap) = space.capacity() {
        for (name, help, v) in [
            (
                "minio_cluster_capacity_raw_total_bytes",
                "Total capacity online in the cluster",
                cap.total_bytes,
            ),
            (
                "minio_cluster_capacity_raw_free_bytes",
                "Total free capacity online in the cluster",
                cap.free_bytes,
            ),
            (
                "minio_cluster_capacity_usable_total_bytes",
                "Total usable capacity online in the cluster",
                cap.total_bytes,
            ),
            (
                "minio_cluster_capacity_usable_free_bytes",
                "Total free usable capacity online in the cluster",
                cap.free_bytes,
            ),
        ] {
            e.single(name, Kind::Gauge, help, v as f64);
        }
    }

    let snapshot = api.usage.snapshot();
    let total = snapshot.total();
    let bucket_total = api
        .store
        .list_buckets()
        .map(|b| b.len())
        .unwrap_or(snapshot.buckets.len());
    e.single(
        "minio_cluster_bucket_total",
        Kind::Gauge,
        "Total number of buckets in the cluster",
        bucket_total as f64,
    );
    usage_families(e, "minio_cluster", &[(&[], &total)]);
    let since_scan_ns = if snapshot.finished_ms > 0 {
        (now_millis() - snapshot.finished_ms).max(0) as f64 * 1e6
    } else {
        0.0
    };
    e.single(
        "minio_usage_last_activity_nano_seconds",
        Kind::Gauge,
        "Time elapsed (in nano seconds) since last scan activity",
        since_scan_ns,
    );
    let counters = &api.usage.counters;
    let lifecycle = &api.lifecycle.stats;
    for (name, help, v) in [
        (
            "minio_node_scanner_objects_scanned",
            "Total number of unique objects scanned since server start",
            load(&counters.objects_scanned),
        ),
        (
            "minio_node_scanner_versions_scanned",
            "Total number of object versions scanned since server start (usage and lifecycle scans)",
            load(&counters.versions_scanned) + load(&lifecycle.versions_scanned),
        ),
        (
            "minio_node_scanner_directories_scanned",
            "Total number of directories scanned since server start (lakegate has none: always 0)",
            0.0,
        ),
        (
            "minio_node_scanner_bucket_scans_started",
            "Total number of bucket scans started since server start",
            load(&counters.bucket_scans_started),
        ),
        (
            "minio_node_scanner_bucket_scans_finished",
            "Total number of bucket scans finished since server start",
            load(&counters.bucket_scans_finished),
        ),
    ] {
        e.single(name, Kind::Counter, help, v);
    }

    // One node, one drive: the data directory.
    let writable = api.store.ready().is_ok();
    let readable = space.readable().is_ok();
    for (name, help, v) in [
        (
            "minio_cluster_nodes_online_total",
            "Total number of MinIO nodes online",
            1.0,
        ),
        (
            "minio_cluster_nodes_offline_total",
            "Total number of MinIO nodes offline",
            0.0,
        ),
        (
            "minio_cluster_drive_online_total",
            "Total drives online in the cluster (the data directory, while readable)",
            if readable { 1.0 } else { 0.0 },
        ),
        (
            "minio_cluster_drive_offline_total",
            "Total drives offline in the cluster",
            if readable { 0.0 } else { 1.0 },
        ),
        (
            "minio_cluster_drive_total",
            "Total drives in the cluster",
            1.0,
        ),
        (
            "minio_cluster_health_status",
            "Is the cluster healthy: 1 while writes can succeed, else 0",
            if writable { 1.0 } else { 0.0 },
        ),
    ] {
        e.single(name, Kind::Gauge, help, v);
    }
    let set: &[(&str, &str)] = &[("pool", "0"), ("set", "0")];
    for (name, help, v) in [
        (
            "minio_cluster_health_erasure_set_online_drives",
            "Count of the online drives in the erasure set (lakegate: the data directory)",
            if readable { 1.0 } else { 0.0 },
        ),
        (
            "minio_cluster_health_erasure_set_healing_drives",
            "Count of the healing drives in the erasure set (lakegate never heals: 0)",
            0.0,
        ),
        (
            "minio_cluster_health_erasure_set_read_quorum",
            "Drives needed for reads (lakegate: 1)",
            1.0,
        ),
        (
            "minio_cluster_health_erasure_set_write_quorum",
            "Drives needed for writes (lakegate: 1)",
            1.0,
        ),
        (
            "minio_cluster_health_erasure_set_status",
            "Health of the erasure set: 1 while writes can succeed, else 0",
            if writable { 1.0 } else { 0.0 },
        ),
    ] {
        e.family(name, Kind::Gauge, help);
        e.sample(name, set, v);
    }
    for name in [
        "minio_inter_node_traffic_sent_bytes",
        "minio_inter_node_traffic_received_bytes",
    ] {
        e.single(
            name,
            Kind::Counter,
            "Bytes exchanged with other nodes (lakegate is one node: always 0)",
            0.0,
        );
    }

    if let Some(kms) = &api.kms {
        let r = kms.requests();
        e.single(
            "minio_cluster_kms_online",
            Kind::Gauge,
            "Reports whether the KMS is online (1) or offline (0); lakegate's KMS is built in",
            1.0,
        );
        e.single(
            "minio_cluster_kms_request_success",
            Kind::Counter,
            "Number of KMS requests that succeeded",
            r.succeeded as f64,
        );
        e.single(
            "minio_cluster_kms_request_error",
            Kind::Counter,
            "Number of KMS requests that failed due to some error (wrong or unknown key)",
            r.failed as f64,
        );
        e.single(
            "minio_cluster_kms_request_failure",
            Kind::Counter,
            "Number of KMS requests that failed because the KMS was unreachable (built in: 0)",
            0.0,
        );
    }
}

/// The process series (`minio_node_*`), on the cluster and node endpoints.
pub fn process(e: &mut Exposition) {
    let ProcessFigures {
        start_time_seconds,
        cpu_seconds,
        resident_bytes,
        virtual_bytes,
        open_fds,
        max_fds,
        threads: _,
        read_chars,
        written_chars,
        read_syscalls,
        write_syscalls,
    } = process::read();
    let gauges = [
        (
            "minio_node_process_starttime_seconds",
            "Start time for the process since unix epoch in seconds",
            start_time_seconds,
        ),
        (
            "minio_node_process_resident_memory_bytes",
            "Resident memory size in bytes",
            resident_bytes.map(|v| v as f64),
        ),
        (
            "minio_node_process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            virtual_bytes.map(|v| v as f64),
        ),
        (
            "minio_node_file_descriptor_open_total",
            "Total number of open file descriptors by the process",
            open_fds.map(|v| v as f64),
        ),
        (
            "minio_node_file_descriptor_limit_total",
            "Limit on total number of open file descriptors for the process",
            max_fds.map(|v| v as f64),
        ),
    ];
    for (name, help, v) in gauges {
        if let Some(v) = v {
            e.single(name, Kind::Gauge, help, v);
        }
    }
    let counters = [
        (
            "minio_node_process_cpu_total_seconds",
            "Total user and system CPU time spent in seconds",
            cpu_seconds,
        ),
        (
            "minio_node_io_rchar_bytes",
            "Total bytes read by the process from the underlying storage system including cache",
            read_chars.map(|v| v as f64),
        ),
        (
            "minio_node_io_wchar_bytes",
            "Total bytes written by the process to the underlying storage system including page cache",
            written_chars.map(|v| v as f64),
        ),
        (
            "minio_node_syscall_read_total",
            "Total read SysCalls to the kernel",
            read_syscalls.map(|v| v as f64),
        ),
        (
            "minio_node_syscall_write_total",
            "Total write SysCalls to the kernel",
            write_syscalls.map(|v| v as f64),
        ),
    ];
    for (name, help, v) in counters {
        if let Some(v) = v {
            e.single(name, Kind::Counter, help, v);
        }
    }
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        e.single(
            "minio_node_go_routine_total",
            Kind::Gauge,
            "Total number of tasks running (lakegate: live tokio tasks)",
            rt.metrics().num_alive_tasks() as f64,
        );
    }
}

/// The node endpoint's drive series: the data directory's filesystem.
pub fn drive(api: &MetricsApi, e: &mut Exposition) {
    let Some(cap) = api.store.space.capacity() else {
        return;
    };
    let dir = api.store.data_dir().display().to_string();
    let l: &[(&str, &str)] = &[("drive", &dir)];
    for (name, help, v) in [
        (
            "minio_node_drive_total_bytes",
            "Total storage on a drive",
            cap.total_bytes as f64,
        ),
        (
            "minio_node_drive_free_bytes",
            "Total storage available on a drive",
            cap.free_bytes as f64,
        ),
        (
            "minio_node_drive_used_bytes",
            "Total storage used on a drive",
            cap.total_bytes.saturating_sub(cap.free_bytes) as f64,
        ),
    ] {
        e.family(name, Kind::Gauge, help);
        e.sample(name, l, v);
    }
    let online = api.store.space.readable().is_ok();
    e.single(
        "minio_node_drive_online_total",
        Kind::Gauge,
        "Total drives online in this node",
        if online { 1.0 } else { 0.0 },
    );
    e.single(
        "minio_node_drive_offline_total",
        Kind::Gauge,
        "Total drives offline in this node",
        if online { 0.0 } else { 1.0 },
    );
}

/// The bucket endpoint: requests, traffic and usage per bucket, and backups as replication.
pub async fn buckets(api: &MetricsApi, e: &mut Exposition) {
    let existing: std::collections::BTreeSet<String> = match api.store.list_buckets() {
        Ok(b) => b.into_iter().map(|b| b.name).collect(),
        Err(_) => Default::default(),
    };
    api.requests.retain_buckets(|b| existing.contains(b));
    let tracked = api.requests.buckets();
    let labels: Vec<[(&str, &str); 1]> = tracked
        .iter()
        .map(|(name, _)| [("bucket", name.as_str())])
        .collect();
    let sets: Vec<(&[(&str, &str)], &Counters)> = tracked
        .iter()
        .zip(&labels)
        .map(|((_, c), l)| (&l[..], c.as_ref()))
        .collect();
    request_families(e, "minio_bucket_requests", &sets);
    for (name, help, pick) in [
        (
            "minio_bucket_traffic_received_bytes",
            "Total number of S3 bytes received for this bucket",
            (|c: &Counters| load(&c.received_bytes)) as fn(&Counters) -> f64,
        ),
        (
            "minio_bucket_traffic_sent_bytes",
            "Total number of S3 bytes sent for this bucket",
            |c: &Counters| load(&c.sent_bytes),
        ),
    ] {
        e.family(name, Kind::Gauge, help);
        for (l, c) in &sets {
            e.sample(name, l, pick(c));
        }
    }

    let snapshot = api.usage.snapshot();
    let usage_labels: Vec<[(&str, &str); 1]> = snapshot
        .buckets
        .iter()
        .filter(|(name, _)| existing.contains(name))
        .map(|(name, _)| [("bucket", name.as_str())])
        .collect();
    let usage_sets: Vec<(&[(&str, &str)], &BucketUsage)> = snapshot
        .buckets
        .iter()
        .filter(|(name, _)| existing.contains(name))
        .zip(&usage_labels)
        .map(|((_, u), l)| (&l[..], u))
        .collect();
    usage_families(e, "minio_bucket", &usage_sets);
    let since_scan_ns = if snapshot.finished_ms > 0 {
        (now_millis() - snapshot.finished_ms).max(0) as f64 * 1e6
    } else {
        0.0
    };
    e.single(
        "minio_bucket_usage_last_activity_nano_seconds",
        Kind::Gauge,
        "Time elapsed (in nano seconds) since last scan activity",
        since_scan_ns,
    );

    replication(api, e).await;
}

/// Backups as MinIO's replication series: a bucket's backup target is its `targetArn`.
async fn replication(api: &MetricsApi, e: &mut Exposition) {
    let totals = api.backup.totals().await;
    let target = api.backup.target().url();
    let now = now_millis();
    let arns: Vec<String> = totals
        .iter()
        .map(|(b, _)| format!("{target}/{b}"))
        .collect();
    type Pick = fn(&crate::backup::BackupTotals, i64) -> f64;
    let with_target: [(&str, Kind, &str, Pick); 5] = [
        (
            "minio_bucket_replication_sent_bytes",
            Kind::Counter,
            "Total bytes copied to the backup target since start",
            |t, _| t.bytes_copied as f64,
        ),
        (
            "minio_bucket_replication_sent_count",
            Kind::Gauge,
            "Total objects copied to the backup target since start",
            |t, _| t.objects_copied as f64,
        ),
        (
            "minio_bucket_replication_total_failed_count",
            Kind::Counter,
            "Total objects that failed to back up since start",
            |t, _| t.object_errors as f64,
        ),
        (
            "minio_bucket_replication_last_hour_failed_count",
            Kind::Gauge,
            "Objects that failed to back up in the last hour",
            |t, now| t.failures_since(now - 3_600_000) as f64,
        ),
        (
            "minio_bucket_replication_last_minute_failed_count",
            Kind::Gauge,
            "Objects that failed to back up in the last minute",
            |t, now| t.failures_since(now - 60_000) as f64,
        ),
    ];
    for (name, kind, help, pick) in with_target {
        e.family(name, kind, help);
        for ((bucket, t), arn) in totals.iter().zip(&arns) {
            e.sample(
                name,
                &[("bucket", bucket), ("targetArn", arn)],
                pick(t, now),
            );
        }
    }
    for (name, kind, help) in [
        (
            "minio_bucket_replication_received_bytes",
            Kind::Counter,
            "Total bytes replicated to this bucket from another source (lakegate: always 0)",
        ),
        (
            "minio_bucket_replication_received_count",
            Kind::Gauge,
            "Total objects replicated to this bucket from another source (lakegate: always 0)",
        ),
    ] {
        e.family(name, kind, help);
        for (bucket, _) in &totals {
            e.sample(name, &[("bucket", bucket)], 0.0);
        }
    }
    for op in [
        "head",
        "get",
        "put_tagging",
        "get_tagging",
        "delete_tagging",
    ] {
        let name = format!("minio_bucket_replication_proxied_{op}_requests_total");
        e.family(
            &name,
            Kind::Counter,
            "Requests proxied to the replication target (lakegate never proxies: always 0)",
        );
        for (bucket, _) in &totals {
            e.sample(&name, &[("bucket", bucket)], 0.0);
        }
        let name = format!("minio_bucket_replication_proxied_{op}_requests_failures");
        e.single(
            &name,
            Kind::Counter,
            "Failed requests proxied to the replication target (lakegate never proxies: always 0)",
            0.0,
        );
    }
}
