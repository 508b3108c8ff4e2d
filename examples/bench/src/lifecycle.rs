//! The `lifecycle` scenario: write `--lifecycle-keys` keys x `--lifecycle-versions` versions of
//! tiny objects to a versioned bucket with a lifecycle binding (`builtin:lifecycle`), then time
//! through the admin API (under the RSS/CPU monitor):
//!
//! * a dry run: every version read, grouped per key, batched to the plugin, decided (nothing
//!   done) — the scan's evaluation rate;
//! * a real run with the same rules: every current version expired (a delete marker each) and
//!   every noncurrent version beyond the newest one deleted, through the store's re-checked,
//!   group-committed lifecycle actions.
//!
//! The rules need no clock travel: `expiration.date` in the past makes every current version
//! eligible now, and `newer_noncurrent_versions = 1` keeps one noncurrent version per key.
//! In spawn mode the bench writes the binding into a temporary policies directory once the
//! versions are written (the server hot-loads it), so no scheduled scan runs during the writes;
//! the bucket is one of the default buckets (versioned, object lock on, no retention binding
//! here). With `--endpoint` the bucket must already have a lifecycle binding.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use http::Method;
use serde_json::Value;

use crate::body::PatternBody;
use crate::client::RawClient;
use crate::report::{Report, ThroughputRow};
use crate::server::Monitor;
use crate::{Ctx, progress, run_pool, settle, with_timeout};

/// A temporary policies directory for a spawned server.
pub struct LifecycleDirs {
    pub root: PathBuf,
}

impl LifecycleDirs {
    /// Creates the (empty) policies directory; returns it and the server arguments.
    pub fn create() -> Result<(LifecycleDirs, Vec<String>)> {
        let root = std::env::temp_dir().join(format!(
            "lakegate-bench-lifecycle-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp()
        ));
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let args = vec!["--policies".to_string(), root.display().to_string()];
        Ok((LifecycleDirs { root }, args))
    }

    /// Binds the lifecycle plugin to `bucket` (the server's watcher loads it).
    pub fn bind(&self, bucket: &str) -> Result<()> {
        std::fs::write(
            self.root.join("bench-lifecycle.toml"),
            format!(
                "bucket = \"{bucket}\"\nkind = \"lifecycle\"\nplugin = \"builtin:lifecycle\"\n\n\
                 [[config.rules]]\nid = \"everything\"\n\
                 expiration = {{ date = \"2000-01-01T00:00:00Z\" }}\n\
                 noncurrent_version_expiration = {{ newer_noncurrent_versions = 1 }}\n"
            ),
        )?;
        Ok(())
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

async fn run_scan(admin: &RawClient, bucket: &str, dry_run: bool) -> Result<Value> {
    let query: &[(&str, &str)] = if dry_run { &[("dry_run", "true")] } else { &[] };
    let (status, text) = admin
        .send_text(
            Method::POST,
            &format!("/lakegate/admin/v1/lifecycle/{bucket}/run"),
            query,
        )
        .await?;
    if !status.is_success() {
        bail!("lifecycle run: HTTP {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("lifecycle run: not JSON: {text}"))
}

/// Waits (up to a minute) until `bucket` has an active lifecycle binding.
async fn wait_bound(admin: &RawClient, bucket: &str) -> Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, text) = admin
            .send_text(Method::GET, "/lakegate/admin/v1/policies", &[])
            .await?;
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        let bound = v["bindings"].as_array().is_some_and(|bs| {
            bs.iter().any(|b| {
                b["bucket"] == bucket && b["kind"] == "lifecycle" && b["state"] == "active"
            })
        });
        if bound {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no active lifecycle binding for {bucket}: {text}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

pub async fn scenario_lifecycle(
    ctx: &Arc<Ctx>,
    admin: &RawClient,
    dirs: Option<&LifecycleDirs>,
    keys: usize,
    versions: usize,
    report: &mut Report,
) -> Result<()> {
    let total = keys * versions;
    progress(format!(
        "lifecycle: writing {keys} keys x {versions} versions ({total} versions) to {}",
        ctx.bucket
    ));
    let t0 = Instant::now();
    // Version v of every key before version v+1 of any, so each key really has `versions`.
    for v in 0..versions {
        let c2 = ctx.clone();
        let (_, errors, first, _) = run_pool(64, keys, move |i| {
            let c = c2.clone();
            async move {
                with_timeout(
                    c.op_timeout,
                    c.client.put(
                        &c.bucket,
                        &format!("{}lc/{:03}/key-{i:07}", c.prefix, i % 1000),
                        PatternBody::new(64, (v * keys + i) as u64),
                    ),
                )
                .await
            }
        })
        .await;
        if errors > 0 {
            bail!(
                "lifecycle: {errors} writes failed: {}",
                first.unwrap_or_default()
            );
        }
    }
    progress(format!(
        "lifecycle: wrote {total} versions in {:.1} s",
        t0.elapsed().as_secs_f64()
    ));
    if let Some(d) = dirs {
        d.bind(&ctx.bucket)?;
    }
    wait_bound(admin, &ctx.bucket).await?;

    for dry_run in [true, false] {
        settle(ctx).await;
        let op = if dry_run {
            "scan (dry run)"
        } else {
            "scan (apply)"
        };
        progress(format!("lifecycle: {op}"));
        let mon = Monitor::start(ctx.pid);
        let t0 = Instant::now();
        let r = run_scan(admin, &ctx.bucket, dry_run).await?;
        let wall = t0.elapsed().as_secs_f64();
        let res = mon.finish();
        let scanned = r["versions_scanned"].as_u64().unwrap_or(0);
        if scanned < total as u64 {
            bail!("lifecycle {op}: scanned {scanned} of {total} versions: {r:#}");
        }
        let (expired, deleted) = (
            r["expired"].as_u64().unwrap_or(0),
            r["noncurrent_deleted"].as_u64().unwrap_or(0),
        );
        let want_deleted = (keys * versions.saturating_sub(2)) as u64;
        if expired != keys as u64 || deleted != want_deleted {
            bail!(
                "lifecycle {op}: expired {expired} (want {keys}), deleted {deleted} (want {want_deleted})"
            );
        }
        progress(format!(
            "lifecycle {op}: {scanned} versions in {wall:.2} s = {:.2} M versions/min \
             ({} plugin calls; {expired} expired, {deleted} noncurrent deleted{}); server peak RSS {:?} MiB",
            scanned as f64 / wall / 1e6 * 60.0,
            r["plugin_calls"],
            if dry_run { ", predicted" } else { "" },
            res.peak_mib(),
        ));
        report.throughput.push(ThroughputRow {
            scenario: "lifecycle".into(),
            op: op.into(),
            size_bytes: 0,
            concurrency: 1,
            objects: scanned as usize,
            errors: r["plugin_failures"].as_u64().unwrap_or(0),
            first_error: r["errors"][0].as_str().map(str::to_string),
            secs: wall,
            mib_per_sec: 0.0,
            per_object_secs_min: None,
            per_object_secs_median: None,
            per_object_secs_max: None,
            per_object_mib_per_sec_best: None,
            resources: res,
        });
    }
    Ok(())
}
