//! `GET /api/dashboard`: the first page in one answer, built from what the server already
//! keeps in memory (no metadata walk): health and capacity, every bucket's usage from the last
//! usage scan with its history ([`super::series`]), the last hour's traffic, the policy
//! bindings' health, the last and next lifecycle scan and backup of each bucket.
//!
//! Each section is there only when the session's key holds the action the equivalent admin
//! route needs (`null` otherwise; per bucket, `lakegate:GetLifecycleStatus` and
//! `lakegate:GetBackupStatus` on its ARN), and only the buckets ListBuckets shows it appear.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use super::Console;
use super::caps::admin_allowed;
use crate::iam::Caller;
use crate::iam::condition::ConditionContext;
use crate::store::now_millis;

const ANY: &str = "arn:aws:s3:::*";

pub async fn dashboard(State(console): State<Arc<Console>>, req: Request) -> Response {
    let (_, caller) = match console.admit(&req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = now_millis();
    let may = |action: &str| admin_allowed(&console, &caller, action, ANY);
    let server_info = may("admin:ServerInfo");
    let visible = visible_buckets(&console, &caller);

    let health = server_info.then(|| {
        let space = &console.store.space;
        let ready = space.meta_down().is_none();
        let writable = space.ready();
        json!({
            "ready": ready,
            "writable": writable.is_ok(),
            "reason": writable.err(),
        })
    });
    let capacity = server_info
        .then(|| console.store.space.capacity())
        .flatten()
        .map(|c| {
            json!({
                "total_bytes": c.total_bytes,
                "free_bytes": c.free_bytes,
                "used_bytes": c.total_bytes.saturating_sub(c.free_bytes),
                "read_only": c.read_only,
            })
        });
    let traffic = server_info.then(|| {
        let window = Duration::from_secs(3600);
        let points = console.series.points(window, now);
        let sum = |f: fn(&super::series::Point) -> u64| points.iter().map(f).sum::<u64>();
        json!({
            "window_s": window.as_secs(),
            "requests": sum(|p| p.requests),
            "errors_4xx": sum(|p| p.errors_4xx),
            "errors_5xx": sum(|p| p.errors_5xx),
            "bytes_in": sum(|p| p.bytes_in),
            "bytes_out": sum(|p| p.bytes_out),
        })
    });

    let snapshot = console.metrics.usage.snapshot();
    let usage_rows: Vec<Value> = visible
        .iter()
        .map(|b| {
            let u = snapshot
                .buckets
                .iter()
                .find(|(n, _)| n == b)
                .map(|(_, u)| u);
            json!({
                "bucket": b,
                "objects": u.map(|u| u.objects),
                "versions": u.map(|u| u.versions),
                "delete_markers": u.map(|u| u.delete_markers),
                "bytes": u.map(|u| u.bytes),
                "history": console.series.usage_history(b),
            })
        })
        .collect();
    let usage = json!({
        "as_of_ms": (snapshot.finished_ms > 0).then_some(snapshot.finished_ms),
        "buckets": usage_rows,
    });

    let bindings_visible = may("lakegate:ListPolicyBindings");
    let plugins = bindings_visible.then(|| {
        let statuses = console.metrics.policies.statuses();
        statuses
            .iter()
            .filter(|s| s.bucket.as_ref().is_none_or(|b| visible.contains(b)))
            .map(|s| {
                json!({
                    "binding": s.file,
                    "bucket": s.bucket,
                    "kind": s.kind,
                    "plugin": s.plugin,
                    "hash": s.plugin_hash,
                    "state": s.state,
                    "serving": s.serving,
                    "calls": s.calls,
                    "failures": s.failures,
                    "rejected": s.rejected,
                    "last_error": s.error.clone().or_else(|| s.last_call_error.clone()),
                    "quarantined": s.state == "quarantined",
                })
            })
            .collect::<Vec<_>>()
    });
    let lifecycle = bindings_visible.then(|| {
        let interval = console.lifecycle_interval;
        console
            .metrics
            .lifecycle
            .bound_buckets()
            .into_iter()
            .filter(|b| {
                visible.contains(b)
                    && admin_allowed(
                        &console,
                        &caller,
                        "lakegate:GetLifecycleStatus",
                        &format!("arn:aws:s3:::{b}"),
                    )
            })
            .map(|b| {
                let (last, running) = console.metrics.lifecycle.status(&b);
                let last_ms = last.as_ref().and_then(|r| r.finished_ms);
                json!({
                    "bucket": b,
                    "policy": last.as_ref().map(|r| r.policy.clone()),
                    "last_scan_ms": last_ms,
                    "last_outcome": last.as_ref().map(|r| if r.errors.is_empty() { "ok" } else { "errors" }),
                    "last_actions": last.as_ref().map(|r| r.expired + r.noncurrent_deleted + r.delete_markers_removed + r.uploads_aborted),
                    "next_scan_ms": interval.and_then(|i| last_ms.map(|l| l + i.as_millis() as i64)),
                    "running": running.is_some(),
                })
            })
            .collect::<Vec<_>>()
    });
    let backups = if may("lakegate:ListBackups") {
        let backup = &console.metrics.backup;
        let mut rows = Vec::new();
        for b in backup.buckets().await.unwrap_or_default() {
            let arn = format!("arn:aws:s3:::{b}");
            if !visible.contains(&b)
                || !admin_allowed(&console, &caller, "lakegate:GetBackupStatus", &arn)
            {
                continue;
            }
            let Ok(st) = backup.status(&b).await else {
                continue;
            };
            let gens = st["generations"].as_array().map(Vec::len).unwrap_or(0);
            rows.push(json!({
                "bucket": b,
                "target": st["target"],
                "last_run": st["last_run"],
                "next_run_ms": st["next_scheduled"],
                "generations": gens,
            }));
        }
        Some(rows)
    } else {
        None
    };

    Json(json!({
        "now_ms": now,
        "health": health,
        "capacity": capacity,
        "usage": usage,
        "traffic": traffic,
        "plugins": plugins,
        "lifecycle": lifecycle,
        "backups": backups,
    }))
    .into_response()
}

/// The buckets ListBuckets shows the caller (every one for a key that may list every bucket).
fn visible_buckets(console: &Console, caller: &Caller) -> Vec<String> {
    let Ok(buckets) = console.store.list_buckets() else {
        return Vec::new();
    };
    let all = admin_allowed(console, caller, "s3:ListAllMyBuckets", ANY);
    buckets
        .into_iter()
        .map(|b| b.name)
        .filter(|b| {
            // ListBuckets' rule (MinIO's): any bucket it may list or locate.
            all || ["s3:ListBucket", "s3:GetBucketLocation"]
                .iter()
                .any(|action| {
                    crate::s3::access::permitted(
                        &console.s3,
                        caller,
                        ConditionContext::new(),
                        action,
                        b,
                        None,
                        None,
                    )
                    .unwrap_or(false)
                })
        })
        .collect()
}
