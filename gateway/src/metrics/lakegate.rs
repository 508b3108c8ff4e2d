//! lakegate's own series, in Prometheus' conventions (`_total` counters, base units, real
//! histograms): what MinIO's dashboards have no panels for. `examples/monitoring/` holds the
//! Grafana dashboard that draws them.

use std::sync::atomic::Ordering;

use super::MetricsApi;
use crate::lifecycle::scanner::ScannerStats;
use crate::policy::PolicyKind;
use crate::policy::stats::FailureKind;
use crate::s3::router::Operation;
use crate::s3::stats::STATUS_CLASSES;
use crate::store::now_millis;
use crate::telemetry::text::{Exposition, Kind};
use crate::telemetry::unix_seconds;

fn load(c: &std::sync::atomic::AtomicU64) -> f64 {
    c.load(Ordering::Relaxed) as f64
}

fn kind_label(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Retention => "retention",
        PolicyKind::Lifecycle => "lifecycle",
        PolicyKind::Backup => "backup",
    }
}

pub async fn render(api: &MetricsApi, e: &mut Exposition) {
    e.family(
        "lakegate_build_info",
        Kind::Gauge,
        "The running build (always 1)",
    );
    e.sample(
        "lakegate_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    requests(api, e);
    policies(api, e);
    lifecycle(api, e);
    backups(api, e).await;
    storage(api, e);
    audit(api, e);
}

fn requests(api: &MetricsApi, e: &mut Exposition) {
    let stats = &api.requests;
    let name = "lakegate_s3_request_duration_seconds";
    e.family(
        name,
        Kind::Histogram,
        "S3 request duration, from routing to the answer's last byte, by operation and status class",
    );
    for (i, op) in Operation::ALL.iter().enumerate() {
        for (class_index, class) in STATUS_CLASSES.iter().enumerate() {
            let h = stats.duration(i, class_index);
            if h.count == 0 {
                continue;
            }
            e.histogram(
                name,
                &[("operation", op.name()), ("status_class", class)],
                &h,
            );
        }
    }
    e.single(
        "lakegate_s3_requests_in_flight",
        Kind::Gauge,
        "S3 requests being answered now",
        stats.in_flight.load(Ordering::Relaxed).max(0) as f64,
    );
}

fn policies(api: &MetricsApi, e: &mut Exposition) {
    let bindings: Vec<_> = PolicyKind::ALL
        .iter()
        .flat_map(|k| api.policies.active_bindings(*k))
        .collect();
    let labels: Vec<[(&str, String); 3]> = bindings
        .iter()
        .map(|b| {
            [
                ("bucket", b.binding.bucket.clone()),
                ("kind", kind_label(b.binding.kind).to_string()),
                ("plugin", b.plugin.stats().label().to_string()),
            ]
        })
        .collect();
    let as_refs = |l: &[(&'static str, String); 3]| -> Vec<(&'static str, String)> { l.to_vec() };
    let name = "lakegate_policy_plugin_info";
    e.family(
        name,
        Kind::Gauge,
        "The plugin serving each binding (always 1), with the SHA-256 of its component",
    );
    for (b, l) in bindings.iter().zip(&labels) {
        let mut l = as_refs(l);
        l.push(("hash", b.plugin.stats().hash().to_string()));
        let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
        e.sample(name, &l, 1.0);
    }
    type Pick = fn(&crate::policy::stats::PluginStats) -> f64;
    let families: [(&str, Kind, &str, Pick); 4] = [
        (
            "lakegate_policy_calls_total",
            Kind::Counter,
            "Calls into the plugin (successful or not) since it was loaded",
            |s| s.calls() as f64,
        ),
        (
            "lakegate_policy_calls_rejected_total",
            Kind::Counter,
            "Calls refused without running because the plugin is quarantined",
            |s| s.rejected() as f64,
        ),
        (
            "lakegate_policy_quarantines_total",
            Kind::Counter,
            "Times the plugin was quarantined after consecutive failures",
            |s| s.quarantines() as f64,
        ),
        (
            "lakegate_policy_quarantined",
            Kind::Gauge,
            "Whether the plugin is quarantined now (1) or serving (0)",
            |s| if s.is_quarantined() { 1.0 } else { 0.0 },
        ),
    ];
    for (name, kind, help, pick) in families {
        e.family(name, kind, help);
        for (b, l) in bindings.iter().zip(&labels) {
            let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
            e.sample(name, &l, pick(b.plugin.stats()));
        }
    }
    let name = "lakegate_policy_call_failures_total";
    e.family(
        name,
        Kind::Counter,
        "Failed plugin calls by reason: trap, budget_exhausted, out_of_memory, invalid_output, other",
    );
    for (b, l) in bindings.iter().zip(&labels) {
        for reason in FailureKind::ALL {
            let mut l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
            l.push(("reason", reason.as_str()));
            e.sample(name, &l, b.plugin.stats().failures_of(reason) as f64);
        }
    }
    let name = "lakegate_policy_call_duration_seconds";
    e.family(name, Kind::Histogram, "Plugin call latency");
    for (b, l) in bindings.iter().zip(&labels) {
        let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
        e.histogram(name, &l, &b.plugin.stats().call_seconds());
    }
    e.single(
        "lakegate_policy_reloads_total",
        Kind::Counter,
        "Binding reloads that loaded a new version or removed a binding",
        load(&api.policies.reloads),
    );
    e.single(
        "lakegate_policy_reload_failures_total",
        Kind::Counter,
        "Binding reloads that failed (the previous version kept serving)",
        load(&api.policies.reload_failures),
    );
    e.single(
        "lakegate_policy_rollbacks_total",
        Kind::Counter,
        "Bindings rolled back to their previous version after the new one was quarantined",
        load(&api.policies.rollbacks),
    );
}

fn lifecycle(api: &MetricsApi, e: &mut Exposition) {
    let s = &api.lifecycle.stats;
    e.single(
        "lakegate_lifecycle_scans_total",
        Kind::Counter,
        "Lifecycle scans of a bucket (dry runs excluded)",
        load(&s.scans),
    );
    e.single(
        "lakegate_lifecycle_scan_failures_total",
        Kind::Counter,
        "Lifecycle scans that stopped on an error",
        load(&s.failed_scans),
    );
    e.single(
        "lakegate_lifecycle_versions_scanned_total",
        Kind::Counter,
        "Object versions shown to lifecycle plugins",
        load(&s.versions_scanned),
    );
    e.single(
        "lakegate_lifecycle_uploads_scanned_total",
        Kind::Counter,
        "Multipart uploads shown to lifecycle plugins",
        load(&s.uploads_scanned),
    );
    let name = "lakegate_lifecycle_actions_total";
    e.family(
        name,
        Kind::Counter,
        "Lifecycle actions taken, by action (refused_by_lock: refused by object lock)",
    );
    for (action, c) in ScannerStats::ACTIONS.iter().zip(&s.actions) {
        e.sample(name, &[("action", action)], load(c));
    }
    let name = "lakegate_lifecycle_scan_duration_seconds";
    e.family(name, Kind::Histogram, "Duration of lifecycle scans");
    e.histogram(name, &[], &s.duration.snapshot());
    let last = s.last_success_ms.load(Ordering::Relaxed);
    if last > 0 {
        e.single(
            "lakegate_lifecycle_last_success_timestamp_seconds",
            Kind::Gauge,
            "When the last successful lifecycle scan finished",
            unix_seconds(last),
        );
    }
}

async fn backups(api: &MetricsApi, e: &mut Exposition) {
    let totals = api.backup.totals().await;
    let now = now_millis();
    type Pick = fn(&crate::backup::BackupTotals) -> f64;
    let counters: [(&str, &str, Pick); 6] = [
        (
            "lakegate_backup_runs_total",
            "Backup runs since start",
            |t| t.runs as f64,
        ),
        (
            "lakegate_backup_failed_runs_total",
            "Backup runs that failed since start",
            |t| t.failed_runs as f64,
        ),
        (
            "lakegate_backup_objects_copied_total",
            "Objects copied to the backup target since start",
            |t| t.objects_copied as f64,
        ),
        (
            "lakegate_backup_bytes_copied_total",
            "Bytes copied to the backup target since start",
            |t| t.bytes_copied as f64,
        ),
        (
            "lakegate_backup_objects_deleted_total",
            "Objects deleted from the backup target's newest generation since start",
            |t| t.objects_deleted as f64,
        ),
        (
            "lakegate_backup_object_failures_total",
            "Objects that failed to copy or delete since start",
            |t| t.object_errors as f64,
        ),
    ];
    for (name, help, pick) in counters {
        e.family(name, Kind::Counter, help);
        for (bucket, t) in &totals {
            e.sample(name, &[("bucket", bucket)], pick(t));
        }
    }
    let name = "lakegate_backup_last_success_timestamp_seconds";
    e.family(
        name,
        Kind::Gauge,
        "When the last successful backup run of the bucket finished",
    );
    for (bucket, t) in &totals {
        if let Some((_, finished)) = t.last_success {
            e.sample(name, &[("bucket", bucket)], unix_seconds(finished));
        }
    }
    let name = "lakegate_backup_lag_seconds";
    e.family(
        name,
        Kind::Gauge,
        "How old the newest complete backup is: seconds since the last successful run started",
    );
    for (bucket, t) in &totals {
        if let Some((started, _)) = t.last_success {
            e.sample(
                name,
                &[("bucket", bucket)],
                (now - started).max(0) as f64 / 1000.0,
            );
        }
    }
    let name = "lakegate_backup_generation";
    e.family(
        name,
        Kind::Gauge,
        "The newest backup generation of the bucket in the target",
    );
    for (bucket, t) in &totals {
        e.sample(name, &[("bucket", bucket)], t.generation as f64);
    }
}

fn storage(api: &MetricsApi, e: &mut Exposition) {
    let commits = &api.store.meta.commits;
    let name = "lakegate_meta_commit_batch_size";
    e.family(name, Kind::Histogram, "Metadata mutations per group commit");
    e.histogram(name, &[], &commits.batch_size.snapshot());
    let name = "lakegate_meta_commit_duration_seconds";
    e.family(
        name,
        Kind::Histogram,
        "Time to make one group commit durable (redb commit with its fsyncs)",
    );
    e.histogram(name, &[], &commits.commit_seconds.snapshot());
    e.single(
        "lakegate_meta_commit_failures_total",
        Kind::Counter,
        "Group commits that failed (their writers got an error)",
        load(&commits.failed),
    );
    let snapshot = api.usage.snapshot();
    let name = "lakegate_object_versions";
    e.family(
        name,
        Kind::Gauge,
        "Object versions by where their bytes live: inline (in the metadata record) or blob",
    );
    for (bucket, u) in &snapshot.buckets {
        e.sample(
            name,
            &[("bucket", bucket), ("storage", "inline")],
            u.inline_versions as f64,
        );
        e.sample(
            name,
            &[("bucket", bucket), ("storage", "blob")],
            u.blob_versions as f64,
        );
    }
    if snapshot.finished_ms > 0 {
        e.single(
            "lakegate_usage_scan_last_success_timestamp_seconds",
            Kind::Gauge,
            "When the usage scanner last finished counting every bucket",
            unix_seconds(snapshot.finished_ms),
        );
    }
    e.single(
        "lakegate_storage_writable",
        Kind::Gauge,
        "Whether writes can succeed now (1) or are refused (0: full, read-only, or metadata down)",
        if api.store.ready().is_ok() { 1.0 } else { 0.0 },
    );
}

fn audit(api: &MetricsApi, e: &mut Exposition) {
    if !api.audit.is_enabled() {
        return;
    }
    let s = api.audit.stats();
    for (name, help, v) in [
        (
            "lakegate_audit_entries_total",
            "Audit entries recorded",
            s.recorded,
        ),
        (
            "lakegate_audit_dropped_total",
            "Audit entries dropped because a queue was full (requests never wait for the audit trail)",
            s.dropped,
        ),
        (
            "lakegate_audit_written_total",
            "Audit entries written to the audit file",
            s.written,
        ),
        (
            "lakegate_audit_write_errors_total",
            "Failed writes to the audit file",
            s.write_errors,
        ),
        (
            "lakegate_audit_webhook_sent_total",
            "Audit entries delivered to the webhook",
            s.webhook_sent,
        ),
        (
            "lakegate_audit_webhook_failed_total",
            "Audit entries the webhook did not accept after retries",
            s.webhook_failed,
        ),
    ] {
        e.single(name, Kind::Counter, help, v as f64);
    }
}
