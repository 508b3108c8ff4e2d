//! The `backup` scenario: upload `--backup-size` bytes in `--backup-object-size` objects to a
//! bucket with a backup binding, then time through the admin API (each `?wait=true`, under the
//! RSS/CPU monitor):
//!
//! * a full backup run (every object copied to the target, streamed and verified);
//! * an incremental run with nothing changed (every object planned and skipped);
//! * optionally a restore of the backup into a new bucket (SHA-256 verified, written back).
//!
//! In spawn mode the bench writes the binding (`builtin:backup`, no events) into a temporary
//! policies directory and points the server's `--backup-target` at a temporary directory; with
//! `--endpoint` the bucket must already have a backup binding.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use http::Method;
use serde_json::Value;

use crate::body::PatternBody;
use crate::client::RawClient;
use crate::report::{self, Report, ThroughputRow};
use crate::server::Monitor;
use crate::{Ctx, MIB, progress, run_pool, settle, with_timeout};

/// A temporary policies directory and backup target for a spawned server.
pub struct BackupDirs {
    pub root: PathBuf,
}

impl BackupDirs {
    /// Writes the binding for `bucket`; returns the dirs and the server arguments.
    pub fn create(bucket: &str) -> Result<(BackupDirs, Vec<String>)> {
        let root = std::env::temp_dir().join(format!(
            "lakegate-bench-backup-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp()
        ));
        let policies = root.join("policies");
        let target = root.join("target");
        std::fs::create_dir_all(&policies)
            .with_context(|| format!("creating {}", policies.display()))?;
        std::fs::create_dir_all(&target)?;
        std::fs::write(
            policies.join("bench-backup.toml"),
            format!(
                "bucket = \"{bucket}\"\nkind = \"backup\"\nplugin = \"builtin:backup\"\n\n\
                 [config]\npropagate_deletes = true\n\n[backup]\nevents = false\ngenerations = 2\n"
            ),
        )?;
        let args = vec![
            "--policies".to_string(),
            policies.display().to_string(),
            "--backup-target".to_string(),
            target.display().to_string(),
        ];
        Ok((BackupDirs { root }, args))
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// `POST` an admin path with `?wait=true`; returns the finished job.
async fn admin_wait(admin: &RawClient, path: &str, query: &[(&str, &str)]) -> Result<Value> {
    let (status, text) = admin
        .send_text(Method::POST, &format!("/lakegate/admin/v1/{path}"), query)
        .await?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{path}: HTTP {status}: not JSON: {text}"))?;
    if v["job"].is_null() {
        bail!("{path}: HTTP {status}: {text}");
    }
    Ok(v["job"].clone())
}

fn row(
    op: &str,
    size: u64,
    objects: usize,
    bytes: u64,
    wall: f64,
    job: &Value,
    res: crate::server::ResourceUsage,
) -> ThroughputRow {
    let errors = job["report"]["errors"].as_u64().unwrap_or(0);
    ThroughputRow {
        scenario: "backup".into(),
        op: op.into(),
        size_bytes: size,
        concurrency: 1,
        objects,
        errors,
        first_error: job["report"]["error_messages"][0]
            .as_str()
            .map(str::to_string),
        secs: wall,
        mib_per_sec: bytes as f64 / MIB / wall.max(1e-9),
        per_object_secs_min: None,
        per_object_secs_median: None,
        per_object_secs_max: None,
        per_object_mib_per_sec_best: None,
        resources: res,
    }
}

pub async fn scenario_backup(
    ctx: &Arc<Ctx>,
    admin: &RawClient,
    total: u64,
    object_size: u64,
    restore: bool,
    report: &mut Report,
) -> Result<()> {
    let n = (total / object_size.max(1)).max(1) as usize;
    let total = n as u64 * object_size;
    let prefix = format!("{}backup/", ctx.prefix);
    progress(format!(
        "backup: uploading {n} x {} ({})",
        report::fmt_size(object_size),
        report::fmt_size(total)
    ));
    let (c2, p2) = (ctx.clone(), prefix.clone());
    let big = ctx.op_timeout * 10;
    let (_, errors, first, _) = run_pool(4, n, move |i| {
        let (c, p) = (c2.clone(), p2.clone());
        async move {
            with_timeout(
                big,
                c.client.put(
                    &c.bucket,
                    &format!("{p}obj-{i:06}"),
                    PatternBody::new(object_size, 7000 + i as u64),
                ),
            )
            .await
        }
    })
    .await;
    if errors > 0 {
        bail!(
            "backup: {errors} uploads failed: {}",
            first.unwrap_or_default()
        );
    }

    let bucket = ctx.bucket.clone();
    for (op, expect_copies) in [("full", true), ("incremental (no change)", false)] {
        settle(ctx).await;
        progress(format!("backup: {op} run"));
        let mon = Monitor::start(ctx.pid);
        let t0 = Instant::now();
        let job = admin_wait(admin, &format!("backup/{bucket}/run"), &[("wait", "true")]).await?;
        let wall = t0.elapsed().as_secs_f64();
        let res = mon.finish();
        let r = &job["report"];
        if job["state"] != "succeeded" {
            bail!("backup {op}: {job:#}");
        }
        let copied = r["copied"].as_u64().unwrap_or(0);
        if expect_copies && copied < n as u64 || !expect_copies && copied != 0 {
            bail!("backup {op}: copied {copied} objects of {n}: {r:#}");
        }
        // Bytes copied, or (no-change run) bytes examined and found unchanged.
        let (objects, bytes) = if expect_copies {
            (copied as usize, r["bytes_copied"].as_u64().unwrap_or(0))
        } else {
            (r["scanned"].as_u64().unwrap_or(0) as usize, total)
        };
        let row = row(op, object_size, objects, bytes, wall, &job, res);
        progress(row.one_line());
        report.throughput.push(row);
    }

    let restored_bucket = format!("{bucket}-restore");
    if restore {
        settle(ctx).await;
        progress(format!("backup: restore into {restored_bucket}"));
        let mon = Monitor::start(ctx.pid);
        let t0 = Instant::now();
        let job = admin_wait(
            admin,
            &format!("backup/{bucket}/restore"),
            &[("to", &restored_bucket), ("wait", "true")],
        )
        .await?;
        let wall = t0.elapsed().as_secs_f64();
        let res = mon.finish();
        let r = &job["report"];
        if job["state"] != "succeeded" {
            bail!("restore: {job:#}");
        }
        let row = row(
            "restore",
            object_size,
            r["restored"].as_u64().unwrap_or(0) as usize,
            r["bytes"].as_u64().unwrap_or(0),
            wall,
            &job,
            res,
        );
        progress(row.one_line());
        report.throughput.push(row);
    }

    progress(format!("backup: deleting {n} objects"));
    for b in [Some(bucket.clone()), restore.then_some(restored_bucket)]
        .into_iter()
        .flatten()
    {
        let (c2, p2, b2) = (ctx.clone(), prefix.clone(), Arc::new(b));
        run_pool(16, n, move |i| {
            let (c, p, b) = (c2.clone(), p2.clone(), b2.clone());
            async move {
                with_timeout(c.op_timeout, c.client.delete(&b, &format!("{p}obj-{i:06}"))).await
            }
        })
        .await;
    }
    Ok(())
}
