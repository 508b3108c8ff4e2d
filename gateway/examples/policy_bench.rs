//! Policy engine micro-benchmark.
//!
//! ```text
//! bash tests/plugins/build.sh
//! cargo run --release -p lakegate --example policy_bench [-- <fixtures dir>]
//! ```
//!
//! Reports: cold compilation, load from the in-memory and the on-disk cache, the per-call cost
//! of a trivial retention decision, lifecycle decisions per item batched (1000) and unbatched
//! (1), and lifecycle throughput in versions per minute (one thread, and one per core).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lakegate::local_key::LocalKey;
use lakegate::policy::{
    CompileOrigin, DiskCache, LifecycleItem, Limits, ObjectVersion, PolicyEngine, PolicyKind,
    PolicyUpload,
};

const DAY: i64 = 86_400_000;

fn fixtures_dir() -> PathBuf {
    std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release")
        })
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!(
            "cannot read {}: {e}\nbuild the fixture plugins first: bash tests/plugins/build.sh",
            path.display()
        );
        std::process::exit(2)
    })
}

fn object(i: usize, now: i64) -> ObjectVersion {
    let latest = !i.is_multiple_of(3);
    ObjectVersion {
        bucket: "bronze".into(),
        key: format!("events/date=2025-06-{:02}/part-{i:05}.parquet", i % 28 + 1),
        version_id: format!("{i:016x}{:016x}", i * 7919),
        size: 1 << 20,
        etag: "9e107d9d372bb6826bd81d3542a419d6".into(),
        content_type: Some("application/octet-stream".into()),
        last_modified: now - (i as i64 % 400) * DAY,
        is_latest: latest,
        storage_class: "STANDARD".into(),
        newer_versions: if latest { 0 } else { 1 },
        noncurrent_since: if latest {
            None
        } else {
            Some(now - (i as i64 % 90) * DAY)
        },
        tags: vec![("layer".into(), "bronze".into())],
        ..Default::default()
    }
}

fn items(n: usize, now: i64) -> Vec<LifecycleItem> {
    (0..n)
        .map(|i| {
            if i % 50 == 49 {
                LifecycleItem::Upload(PolicyUpload {
                    bucket: "bronze".into(),
                    key: format!("tmp/upload-{i}"),
                    upload_id: format!("u{i}"),
                    initiated: now - (i as i64 % 30) * DAY,
                })
            } else {
                LifecycleItem::Version(object(i, now))
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    let now = 1_750_000_000_000;
    let retention_wasm = fixture("fixed_retention");
    let lifecycle_wasm = fixture("age_lifecycle");
    let retention_config = std::env::var("RETENTION_CONFIG")
        .unwrap_or_else(|_| r#"{"mode":"GOVERNANCE","days":30}"#.into());
    let lifecycle_config =
        std::env::var("LIFECYCLE_CONFIG").unwrap_or_else(|_| r#"{"days":90}"#.into());
    let cache_dir =
        std::env::temp_dir().join(format!("lakegate-policy-bench-{}", std::process::id()));
    let limits = Limits::default();

    println!(
        "== compilation ({} KiB retention component)",
        retention_wasm.len() / 1024
    );
    let cache = DiskCache::new(cache_dir.clone(), LocalKey::random().expect("key"));
    let engine = PolicyEngine::new(Some(cache.clone())).expect("engine");
    let t = Instant::now();
    let origin = engine.precompile(&retention_wasm).expect("compile");
    assert_eq!(origin, CompileOrigin::Compiled);
    println!(
        "cold compile (Cranelift, to disk cache): {:>10.2?}",
        t.elapsed()
    );
    let t = Instant::now();
    let retention = engine
        .load(
            PolicyKind::Retention,
            &retention_wasm,
            &retention_config,
            limits,
            "bench-retention",
        )
        .expect("load retention");
    println!(
        "load from memory cache (+configure+self-check): {:>10.2?}",
        t.elapsed()
    );
    let engine2 = PolicyEngine::new(Some(cache)).expect("engine");
    let t = Instant::now();
    let p2 = engine2
        .load(
            PolicyKind::Retention,
            &retention_wasm,
            &retention_config,
            limits,
            "bench-retention",
        )
        .expect("load retention from disk");
    println!(
        "load from disk cache, new engine ({:?}): {:>10.2?}",
        p2.stats().compile_origin(),
        t.elapsed()
    );
    drop((p2, engine2));

    println!("\n== retention: one decision per call");
    let obj = object(1, now);
    for _ in 0..1000 {
        retention.retention(&obj, now).expect("retention");
    }
    let n = 100_000;
    let mut samples = Vec::with_capacity(n);
    let t = Instant::now();
    for _ in 0..n {
        let s = Instant::now();
        retention.retention(&obj, now).expect("retention");
        samples.push(s.elapsed());
    }
    let total = t.elapsed();
    samples.sort();
    println!(
        "{n} calls: mean {:.2?}, p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        total / n as u32,
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );

    println!("\n== lifecycle");
    let t = Instant::now();
    let lifecycle = engine
        .load(
            PolicyKind::Lifecycle,
            &lifecycle_wasm,
            &lifecycle_config,
            limits,
            "bench-lifecycle",
        )
        .expect("load lifecycle");
    println!(
        "cold load (compile + configure + self-check): {:.2?}",
        t.elapsed()
    );
    let batch = items(1000, now);
    lifecycle.lifecycle(&batch, now).expect("lifecycle");
    let rounds = 200;
    let t = Instant::now();
    for _ in 0..rounds {
        let actions = lifecycle.lifecycle(&batch, now).expect("lifecycle");
        assert_eq!(actions.len(), batch.len());
    }
    let batched = t.elapsed() / (rounds * batch.len()) as u32;
    println!(
        "batch 1000: {:.2?} per item, {:.0} versions/minute (one thread)",
        batched,
        60.0 / batched.as_secs_f64()
    );
    let singles: Vec<_> = batch.iter().take(1000).map(|i| vec![i.clone()]).collect();
    let t = Instant::now();
    for _ in 0..20 {
        for one in &singles {
            lifecycle.lifecycle(one, now).expect("lifecycle");
        }
    }
    let unbatched = t.elapsed() / (20 * singles.len()) as u32;
    println!(
        "batch 1:    {:.2?} per item, {:.0} versions/minute (one thread)",
        unbatched,
        60.0 / unbatched.as_secs_f64()
    );

    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(limits.max_instances);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..rounds / 2 {
                    lifecycle.lifecycle(&batch, now).expect("lifecycle");
                }
            });
        }
    });
    let per_item = t.elapsed() / (threads * rounds / 2 * batch.len()) as u32;
    println!(
        "batch 1000, {threads} threads: {:.0} versions/minute",
        60.0 / per_item.as_secs_f64()
    );
    println!(
        "\nstats: {}",
        serde_json::to_string(&lifecycle.stats().snapshot()).unwrap_or_default()
    );
    let _ = std::fs::remove_dir_all(&cache_dir);
}
