//! `lakegate-bench`: drives a running (or self-spawned) lakegate over HTTP
//! with SigV4-signed S3 requests and reports throughput, latency percentiles
//! and the server's peak RSS per scenario. See docs/BENCHMARKS.md.

mod backup;
mod body;
mod client;
mod lifecycle;
mod null;
mod range;
mod report;
mod server;
mod sigv4;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use hdrhistogram::Histogram;

use body::PatternBody;
use client::{Client, ClientKind, Creds};
use report::{LatencyRow, ListRow, Report, ThroughputRow, Timing};
use server::{Monitor, Spawned};

const MIB: f64 = 1024.0 * 1024.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// Everything below.
    All,
    /// put-small and get-small.
    Small,
    /// Small-object PUT latency/throughput at each --concurrency.
    PutSmall,
    /// Small-object GET latency/throughput at each --concurrency.
    GetSmall,
    /// Sequential large-object PUT then GET (MiB/s).
    Large,
    /// --concurrent-uploads simultaneous large uploads (then downloads):
    /// aggregate MiB/s and the server's peak RSS.
    Concurrent,
    /// Put --list-keys tiny objects, then time a full paginated ListObjectsV2.
    List,
    /// Back up --backup-size of --backup-object-size objects through a backup binding: a full
    /// run, an incremental run with nothing changed, a restore (MiB/s, server RSS). Not part of
    /// `all`; spawn mode sets the binding and a temporary target up.
    Backup,
    /// Write --lifecycle-keys x --lifecycle-versions versions to a versioned bucket (use
    /// `--bucket silver`, a default bucket) with a lifecycle binding, then time a dry-run scan
    /// and a real one through the admin API. Not part of `all`.
    Lifecycle,
    /// GET --range-count ranges of --range-size from one --range-object-size object, reporting
    /// how many bytes the server read for each (needs the server's pid). Not part of `all`.
    Range,
}

#[derive(Parser, Debug)]
#[command(
    name = "lakegate-bench",
    version,
    about = "S3 benchmark for lakegate: small-object PUT/GET latency, large-object \
             throughput, concurrent-upload server RSS, ListObjectsV2 over many keys",
    after_help = "Examples:\n  \
        lakegate-bench --spawn target/release/lakegate --quick\n  \
        lakegate-bench --spawn target/release/lakegate --json bench.json\n  \
        lakegate-bench --endpoint http://127.0.0.1:9000 --server-pid $(pidof lakegate) \
        --scenario small --duration 5s\n  \
        lakegate-bench --null-server --scenario small   # client-side floor"
)]
struct Args {
    /// S3 endpoint of an already running server (e.g. http://127.0.0.1:9000).
    #[arg(long, conflicts_with_all = ["spawn", "null_server"])]
    endpoint: Option<String>,
    /// Start this lakegate binary on a temporary data dir (ephemeral ports),
    /// so the server's RSS and CPU can be sampled.
    #[arg(long, conflicts_with = "null_server")]
    spawn: Option<PathBuf>,
    /// Run against a built-in do-nothing HTTP endpoint to measure the
    /// client's own overhead (numbers are a floor, not a server result).
    #[arg(long)]
    null_server: bool,
    /// With --endpoint: PID of the server, to sample its RSS/CPU.
    #[arg(long)]
    server_pid: Option<u32>,
    /// With --spawn: data dir to use (default: a fresh dir under $TMPDIR,
    /// removed afterwards).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With --spawn: keep the temporary data dir and server log.
    #[arg(long)]
    keep_data: bool,
    /// Extra argument passed to the spawned server (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,

    #[arg(long, env = "LAKEGATE_ROOT_USER", default_value = "admin")]
    access_key: String,
    #[arg(
        long,
        env = "LAKEGATE_ROOT_PASSWORD",
        default_value = "admin123",
        hide_env_values = true
    )]
    secret_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "lakegate-bench")]
    bucket: String,
    /// HTTP client: `raw` (hyper + hand-rolled SigV4, low overhead) or `sdk`
    /// (aws-sdk-s3).
    #[arg(long, value_enum, default_value = "raw")]
    client: ClientKind,
    /// Client runtime worker threads (default: number of CPUs).
    #[arg(long)]
    client_threads: Option<usize>,

    /// Scenarios to run (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    scenario: Vec<Scenario>,
    /// Quick mode: 2 s points, 32 MiB large objects, 10k list keys (explicit
    /// flags still win).
    #[arg(long)]
    quick: bool,
    /// Measured time per small-object point [default: 10s, quick 2s].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Unmeasured warm-up before each point [default: 1s, quick 0.5s].
    #[arg(long, value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Concurrency levels for the small-object scenarios.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Small object size.
    #[arg(long, value_parser = parse_size, default_value = "4KiB")]
    small_size: u64,
    /// Number of distinct objects get-small reads (uniformly at random).
    #[arg(long, default_value_t = 1024)]
    get_objects: usize,
    /// Large object size [default: 256MiB, quick 32MiB].
    #[arg(long, value_parser = parse_size)]
    large_size: Option<u64>,
    /// Sequential large PUTs/GETs [default: 3, quick 1].
    #[arg(long)]
    large_repeat: Option<usize>,
    /// Simultaneous uploads in the concurrent scenario.
    #[arg(long, default_value_t = 64)]
    concurrent_uploads: usize,
    /// Object size in the concurrent scenario [default: --large-size].
    #[arg(long, value_parser = parse_size)]
    concurrent_size: Option<u64>,
    /// Keys created for the list scenario [default: 100000, quick 10000].
    #[arg(long)]
    list_keys: Option<usize>,
    /// Concurrency of the list scenario's setup PUTs.
    #[arg(long, default_value_t = 128)]
    list_put_concurrency: usize,
    /// max-keys per ListObjectsV2 page.
    #[arg(long, default_value_t = 1000)]
    list_page_size: u32,
    /// Full listings to time (the first one may be colder).
    #[arg(long, default_value_t = 2)]
    list_repeat: usize,
    /// Bytes the backup scenario backs up [default: 10GiB, quick 512MiB].
    #[arg(long, value_parser = parse_size)]
    backup_size: Option<u64>,
    /// Object size in the backup scenario.
    #[arg(long, value_parser = parse_size, default_value = "64MiB")]
    backup_object_size: u64,
    /// Skip the restore phase of the backup scenario (it needs as much disk again).
    #[arg(long)]
    no_backup_restore: bool,
    /// Keys in the lifecycle scenario [default: 250000, quick 25000].
    #[arg(long)]
    lifecycle_keys: Option<usize>,
    /// Versions per key in the lifecycle scenario (at least 2).
    #[arg(long, default_value_t = 4)]
    lifecycle_versions: usize,
    /// Per-request timeout for small requests (large ones get 10x).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    op_timeout: Duration,
    /// Before each measured point, wait up to this long for the machine to be
    /// quiet (other processes using < --idle-threshold cores); 0 disables.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    wait_idle: Duration,
    /// Busy cores (from other processes) under which the machine counts as quiet.
    #[arg(long, default_value_t = 0.3)]
    idle_threshold: f64,
    /// Also write every number as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Turn on server access logging for the benchmark bucket (into `<bucket>-logs`), to
    /// measure what logging every request costs.
    #[arg(long)]
    access_log: bool,
    /// The object the range scenario reads ranges of.
    #[arg(long, value_parser = parse_size, default_value = "1GiB")]
    range_object_size: u64,
    /// The size of each range GET.
    #[arg(long, value_parser = parse_size, default_value = "1MiB")]
    range_size: u64,
    /// How many range GETs.
    #[arg(long, default_value_t = 20)]
    range_count: usize,
    /// Encrypt the benchmark bucket by default with SSE-S3 (PutBucketEncryption; the server
    /// needs a KMS key), to measure what encryption at rest costs.
    #[arg(long)]
    sse_s3: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("bad duration {s:?} (e.g. 10s, 500ms, 2m)"))?;
    if v < 0.0 {
        return Err("negative duration".into());
    }
    Ok(Duration::from_secs_f64(v * mult))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?} (e.g. 4KiB, 256MiB, 1GiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    Ok((v * mult as f64) as u64)
}

struct Ctx {
    client: Arc<Client>,
    bucket: String,
    prefix: String,
    pid: Option<u32>,
    op_timeout: Duration,
    wait_idle: Duration,
    idle_threshold: f64,
}

/// Wait for other load on the machine to go away before measuring.
async fn settle(ctx: &Ctx) {
    if ctx.wait_idle.is_zero() {
        return;
    }
    let (max, thr) = (ctx.wait_idle, ctx.idle_threshold);
    let _ = tokio::task::spawn_blocking(move || server::wait_until_idle(max, thr)).await;
}

fn new_hist() -> Histogram<u64> {
    // Nanoseconds, 1 ns .. 1 h, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).unwrap()
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    let _ = h.record((d.as_nanos() as u64).clamp(1, 3_600_000_000_000));
}

async fn with_timeout<T>(
    d: Duration,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(d, f).await {
        Ok(r) => r,
        Err(_) => bail!("timed out after {d:?}"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SmallOp {
    Put,
    Get,
}

/// Closed loop: `conc` workers issue requests back to back for
/// `warmup + duration`; only requests started after the warm-up count.
async fn latency_point(
    ctx: &Arc<Ctx>,
    op: SmallOp,
    size: u64,
    conc: usize,
    warmup: Duration,
    duration: Duration,
    get_objects: usize,
) -> LatencyRow {
    settle(ctx).await;
    let t0 = Instant::now();
    let measure_start = t0 + warmup;
    let end = measure_start + duration;
    let mut handles = Vec::with_capacity(conc);
    for w in 0..conc {
        let ctx = ctx.clone();
        handles.push(tokio::spawn(async move {
            let mut hist = new_hist();
            let mut errors = 0u64;
            let mut first_error: Option<String> = None;
            let mut last_done = measure_start;
            let mut rng: u64 = 0x2545_F491_4F6C_DD1D ^ ((w as u64 + 1) * 0x9E37_79B9_7F4A_7C15);
            let mut n = 0u64;
            loop {
                let start = Instant::now();
                if start >= end {
                    break;
                }
                n += 1;
                let res = match op {
                    SmallOp::Put => {
                        let key = format!("{}small/put/c{conc}/w{w}/{n}", ctx.prefix);
                        with_timeout(
                            ctx.op_timeout,
                            ctx.client.put(
                                &ctx.bucket,
                                &key,
                                PatternBody::new(size, n ^ ((w as u64) << 32)),
                            ),
                        )
                        .await
                    }
                    SmallOp::Get => {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let idx = (rng % get_objects as u64) as usize;
                        let key = format!("{}small/get/{idx}", ctx.prefix);
                        match with_timeout(ctx.op_timeout, ctx.client.get(&ctx.bucket, &key)).await
                        {
                            Ok(len) if len == size => Ok(()),
                            Ok(len) => Err(anyhow::anyhow!(
                                "GetObject {key}: got {len} bytes, expected {size}"
                            )),
                            Err(e) => Err(e),
                        }
                    }
                };
                let done = Instant::now();
                if start >= measure_start {
                    last_done = done;
                    match res {
                        Ok(()) => record(&mut hist, done - start),
                        Err(e) => {
                            errors += 1;
                            if first_error.is_none() {
                                first_error = Some(format!("{e:#}"));
                            }
                        }
                    }
                } else if let Err(e) = res
                    && first_error.is_none()
                {
                    first_error = Some(format!("(warm-up) {e:#}"));
                }
            }
            (hist, errors, first_error, last_done)
        }));
    }
    tokio::time::sleep_until(measure_start.into()).await;
    let mon = Monitor::start(ctx.pid);
    let mut hist = new_hist();
    let mut errors = 0;
    let mut first_error = None;
    let mut last_done = measure_start;
    for h in handles {
        let (wh, e, fe, ld) = h.await.expect("worker panicked");
        hist.add(&wh).unwrap();
        errors += e;
        if first_error.is_none() {
            first_error = fe;
        }
        last_done = last_done.max(ld);
    }
    let resources = mon.finish();
    let secs = (last_done - measure_start).as_secs_f64().max(1e-9);
    let ops = hist.len();
    LatencyRow {
        scenario: match op {
            SmallOp::Put => "put-small".into(),
            SmallOp::Get => "get-small".into(),
        },
        size_bytes: size,
        concurrency: conc,
        ops,
        errors,
        first_error,
        secs,
        ops_per_sec: ops as f64 / secs,
        mib_per_sec: ops as f64 * size as f64 / MIB / secs,
        timing: Timing::from_hist(&hist),
        resources,
    }
}

/// Run `count` operations with `conc` workers pulling from a shared counter.
/// Returns (latency histogram of successes, errors, first error, wall secs).
async fn run_pool<F, Fut>(
    conc: usize,
    count: usize,
    f: F,
) -> (Histogram<u64>, u64, Option<String>, f64)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..conc.max(1).min(count.max(1)) {
        let f = f.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut hist = new_hist();
            let mut errors = 0u64;
            let mut first = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let s = Instant::now();
                match f(i).await {
                    Ok(()) => record(&mut hist, s.elapsed()),
                    Err(e) => {
                        errors += 1;
                        if first.is_none() {
                            first = Some(format!("{e:#}"));
                        }
                    }
                }
            }
            (hist, errors, first)
        }));
    }
    let mut hist = new_hist();
    let mut errors = 0;
    let mut first = None;
    for h in handles {
        let (wh, e, fe) = h.await.expect("worker panicked");
        hist.add(&wh).unwrap();
        errors += e;
        if first.is_none() {
            first = fe;
        }
    }
    (hist, errors, first, t0.elapsed().as_secs_f64())
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("[lakegate-bench] {}", msg.as_ref());
}

async fn scenario_small(
    ctx: &Arc<Ctx>,
    args: &Args,
    cfg: &Config,
    run_put: bool,
    run_get: bool,
    report: &mut Report,
) -> Result<()> {
    let size = args.small_size;
    if run_put {
        for &c in &args.concurrency {
            progress(format!(
                "put-small: {} x c={c} for {:?} (+{:?} warm-up)",
                report::fmt_size(size),
                cfg.duration,
                cfg.warmup
            ));
            let row = latency_point(ctx, SmallOp::Put, size, c, cfg.warmup, cfg.duration, 0).await;
            progress(row.one_line());
            report.latency.push(row);
        }
    }
    if run_get {
        let n = args.get_objects.max(1);
        progress(format!(
            "get-small: preparing {n} objects of {}",
            report::fmt_size(size)
        ));
        let c2 = ctx.clone();
        let (_, errors, first, _) = run_pool(64, n, move |i| {
            let c = c2.clone();
            async move {
                let key = format!("{}small/get/{i}", c.prefix);
                with_timeout(
                    c.op_timeout,
                    c.client
                        .put(&c.bucket, &key, PatternBody::new(size, i as u64)),
                )
                .await
            }
        })
        .await;
        if errors > 0 {
            bail!(
                "get-small setup: {errors} PUTs failed; first: {}",
                first.unwrap_or_default()
            );
        }
        for &c in &args.concurrency {
            progress(format!(
                "get-small: {} x c={c} for {:?} (+{:?} warm-up)",
                report::fmt_size(size),
                cfg.duration,
                cfg.warmup
            ));
            let row = latency_point(ctx, SmallOp::Get, size, c, cfg.warmup, cfg.duration, n).await;
            progress(row.one_line());
            report.latency.push(row);
        }
    }
    Ok(())
}

// A flat row builder: every argument is one column of the report.
#[allow(clippy::too_many_arguments)]
fn throughput_row(
    scenario: &str,
    op: &str,
    size: u64,
    conc: usize,
    per_object: &[f64],
    errors: u64,
    first_error: Option<String>,
    wall: f64,
    resources: server::ResourceUsage,
) -> ThroughputRow {
    let mut v = per_object.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let ok = v.len();
    let pick = |q: f64| -> Option<f64> {
        (!v.is_empty()).then(|| v[((q * (ok - 1) as f64).round() as usize).min(ok - 1)])
    };
    ThroughputRow {
        scenario: scenario.into(),
        op: op.into(),
        size_bytes: size,
        concurrency: conc,
        objects: ok,
        errors,
        first_error,
        secs: wall,
        mib_per_sec: ok as f64 * size as f64 / MIB / wall.max(1e-9),
        per_object_secs_min: pick(0.0),
        per_object_secs_median: pick(0.5),
        per_object_secs_max: pick(1.0),
        per_object_mib_per_sec_best: pick(0.0).map(|s| size as f64 / MIB / s.max(1e-9)),
        resources,
    }
}

/// `n` objects of `size`, `conc` at a time: PUT phase then GET phase, each
/// under its own RSS/CPU monitor; objects are deleted afterwards.
async fn put_get_phases(
    ctx: &Arc<Ctx>,
    scenario: &str,
    size: u64,
    n: usize,
    conc: usize,
    report: &mut Report,
) -> Result<()> {
    let big_timeout = ctx.op_timeout * 10;
    let keys: Vec<String> = (0..n)
        .map(|i| format!("{}{scenario}/obj-{i}", ctx.prefix))
        .collect();
    let keys = Arc::new(keys);

    for phase in ["put", "get"] {
        progress(format!(
            "{scenario}: {phase} {n} x {} with concurrency {conc}",
            report::fmt_size(size)
        ));
        settle(ctx).await;
        let times = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
        let mon = Monitor::start(ctx.pid);
        let (c2, k2, t2) = (ctx.clone(), keys.clone(), times.clone());
        let is_put = phase == "put";
        let (_, errors, first, wall) = run_pool(conc, n, move |i| {
            let (c, k, t) = (c2.clone(), k2.clone(), t2.clone());
            async move {
                let s = Instant::now();
                if is_put {
                    with_timeout(
                        big_timeout,
                        c.client
                            .put(&c.bucket, &k[i], PatternBody::new(size, 1000 + i as u64)),
                    )
                    .await?;
                } else {
                    let got = with_timeout(big_timeout, c.client.get(&c.bucket, &k[i])).await?;
                    if got != size {
                        bail!("GetObject {}: got {got} bytes, expected {size}", k[i]);
                    }
                }
                t.lock().unwrap().push(s.elapsed().as_secs_f64());
                Ok(())
            }
        })
        .await;
        let resources = mon.finish();
        let per = times.lock().unwrap().clone();
        let row = throughput_row(
            scenario, phase, size, conc, &per, errors, first, wall, resources,
        );
        progress(row.one_line());
        report.throughput.push(row);
    }
    progress(format!("{scenario}: deleting {n} objects"));
    let (c2, k2) = (ctx.clone(), keys.clone());
    let (_, errors, first, _) = run_pool(16, n, move |i| {
        let (c, k) = (c2.clone(), k2.clone());
        async move { with_timeout(c.op_timeout, c.client.delete(&c.bucket, &k[i])).await }
    })
    .await;
    if errors > 0 {
        progress(format!(
            "{scenario}: {errors} deletes failed: {}",
            first.unwrap_or_default()
        ));
    }
    Ok(())
}

async fn scenario_list(
    ctx: &Arc<Ctx>,
    args: &Args,
    cfg: &Config,
    report: &mut Report,
) -> Result<()> {
    let n = cfg.list_keys;
    let conc = args.list_put_concurrency;
    let prefix = format!("{}list/", ctx.prefix);
    progress(format!(
        "list: creating {n} tiny objects with concurrency {conc}"
    ));
    let mon = Monitor::start(ctx.pid);
    let (c2, p2) = (ctx.clone(), prefix.clone());
    let (hist, errors, first, wall) = run_pool(conc, n, move |i| {
        let (c, p) = (c2.clone(), p2.clone());
        async move {
            let key = format!("{p}{i:08}");
            with_timeout(
                c.op_timeout,
                c.client
                    .put(&c.bucket, &key, PatternBody::new(16, i as u64)),
            )
            .await
        }
    })
    .await;
    let resources = mon.finish();
    let ops = hist.len();
    let row = LatencyRow {
        scenario: "list-setup-put".into(),
        size_bytes: 16,
        concurrency: conc,
        ops,
        errors,
        first_error: first,
        secs: wall,
        ops_per_sec: ops as f64 / wall.max(1e-9),
        mib_per_sec: ops as f64 * 16.0 / MIB / wall.max(1e-9),
        timing: Timing::from_hist(&hist),
        resources,
    };
    progress(row.one_line());
    report.latency.push(row);

    for rep in 0..args.list_repeat.max(1) {
        progress(format!(
            "list: full ListObjectsV2 of {prefix} with max-keys {} (pass {})",
            args.list_page_size,
            rep + 1
        ));
        settle(ctx).await;
        let mon = Monitor::start(ctx.pid);
        let mut pages_hist = new_hist();
        let mut token: Option<String> = None;
        let mut keys = 0usize;
        let mut pages = 0usize;
        let mut error = None;
        let t0 = Instant::now();
        loop {
            let s = Instant::now();
            let page = with_timeout(
                ctx.op_timeout,
                ctx.client
                    .list_page(&ctx.bucket, &prefix, args.list_page_size, token.as_deref()),
            )
            .await;
            match page {
                Ok(p) => {
                    record(&mut pages_hist, s.elapsed());
                    pages += 1;
                    keys += p.keys;
                    match p.next_token {
                        Some(t) => token = Some(t),
                        None => break,
                    }
                    if pages > n / (args.list_page_size.max(1) as usize) + 1000 {
                        error = Some("too many pages: pagination does not terminate".into());
                        break;
                    }
                }
                Err(e) => {
                    error = Some(format!("{e:#}"));
                    break;
                }
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        let resources = mon.finish();
        let row = ListRow {
            pass: rep + 1,
            keys_expected: ops as usize,
            keys_listed: keys,
            pages,
            page_size: args.list_page_size,
            secs,
            keys_per_sec: keys as f64 / secs.max(1e-9),
            page: Timing::from_hist(&pages_hist),
            error,
            resources,
        };
        progress(row.one_line());
        report.list.push(row);
    }
    Ok(())
}

/// Effective knobs after applying --quick.
struct Config {
    duration: Duration,
    warmup: Duration,
    large_size: u64,
    large_repeat: usize,
    concurrent_size: u64,
    list_keys: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let q = args.quick;
    let large_size = args
        .large_size
        .unwrap_or(if q { 32 << 20 } else { 256 << 20 });
    let cfg = Config {
        duration: args
            .duration
            .unwrap_or(Duration::from_secs(if q { 2 } else { 10 })),
        warmup: args
            .warmup
            .unwrap_or(Duration::from_millis(if q { 500 } else { 1000 })),
        large_size,
        large_repeat: args.large_repeat.unwrap_or(if q { 1 } else { 3 }),
        concurrent_size: args.concurrent_size.unwrap_or(large_size),
        list_keys: args.list_keys.unwrap_or(if q { 10_000 } else { 100_000 }),
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(t) = args.client_threads {
        rt.worker_threads(t.max(1));
    }
    let rt = rt.build()?;

    // Start or locate the server.
    let mut backup_dirs = None;
    let mut lifecycle_dirs = None;
    let (spawned, endpoint, pid) = if let Some(bin) = &args.spawn {
        let mut server_args = args.server_args.clone();
        if args.scenario.contains(&Scenario::Backup) {
            let (dirs, extra) = backup::BackupDirs::create(&args.bucket)?;
            server_args.extend(extra);
            backup_dirs = Some(dirs);
        }
        if args.scenario.contains(&Scenario::Lifecycle) {
            let (dirs, extra) = lifecycle::LifecycleDirs::create()?;
            server_args.extend(extra);
            lifecycle_dirs = Some(dirs);
        }
        let s = Spawned::start(
            bin,
            args.data_dir.as_deref(),
            &args.access_key,
            &args.secret_key,
            &server_args,
        )?;
        progress(format!(
            "spawned {} (pid {}) at {} on {}",
            bin.display(),
            s.pid,
            s.endpoint,
            s.data_dir.display()
        ));
        let (e, p) = (s.endpoint.clone(), Some(s.pid));
        (Some(s), e, p)
    } else if args.null_server {
        let e = null::start()?;
        progress(format!("null server at {e} (client-overhead floor)"));
        (None, e, None)
    } else if let Some(e) = &args.endpoint {
        (None, e.trim_end_matches('/').to_string(), args.server_pid)
    } else {
        bail!("give --endpoint URL, --spawn PATH_TO_LAKEGATE or --null-server");
    };

    let result = rt.block_on(run(
        &args,
        &cfg,
        &endpoint,
        pid,
        spawned.as_ref(),
        lifecycle_dirs.as_ref(),
    ));
    if let Some(s) = spawned {
        if result.is_err() {
            progress(format!("server log: {}", s.log_path.display()));
            s.stop(true);
        } else {
            s.stop(args.keep_data);
        }
    }
    if let Some(d) = backup_dirs {
        if result.is_err() || args.keep_data {
            progress(format!("backup target kept: {}", d.root.display()));
        } else {
            d.remove();
        }
    }
    if let Some(d) = lifecycle_dirs {
        d.remove();
    }
    result
}

async fn run(
    args: &Args,
    cfg: &Config,
    endpoint: &str,
    pid: Option<u32>,
    spawned: Option<&Spawned>,
    lifecycle_dirs: Option<&lifecycle::LifecycleDirs>,
) -> Result<()> {
    let creds = Creds {
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        region: args.region.clone(),
    };
    let client = Client::new(args.client, endpoint, &creds)?;
    let prefix = format!("run-{}/", chrono::Utc::now().format("%Y%m%dT%H%M%S"));
    let ctx = Arc::new(Ctx {
        client: Arc::new(client),
        bucket: args.bucket.clone(),
        prefix,
        pid,
        op_timeout: args.op_timeout,
        wait_idle: args.wait_idle,
        idle_threshold: args.idle_threshold,
    });
    if !args.null_server {
        ctx.client
            .create_bucket(&args.bucket)
            .await
            .context("creating the benchmark bucket")?;
        if args.access_log {
            client::enable_access_log(endpoint, &creds, &args.bucket)
                .await
                .context("turning on access logging")?;
        }
        if args.sse_s3 {
            client::enable_sse_s3(endpoint, &creds, &args.bucket)
                .await
                .context("turning on default encryption")?;
        }
    }

    let sel = |s: Scenario| {
        (args.scenario.contains(&Scenario::All)
            && !matches!(s, Scenario::Backup | Scenario::Lifecycle | Scenario::Range))
            || args.scenario.contains(&s)
            || (args.scenario.contains(&Scenario::Small)
                && matches!(s, Scenario::PutSmall | Scenario::GetSmall))
    };
    let mut report = Report::new(
        endpoint,
        args.client.name(),
        if spawned.is_some() {
            "spawn"
        } else if args.null_server {
            "null-server"
        } else {
            "endpoint"
        },
        pid,
        serde_json::json!({
            "scenarios": args.scenario.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>(),
            "quick": args.quick,
            "duration_secs": cfg.duration.as_secs_f64(),
            "warmup_secs": cfg.warmup.as_secs_f64(),
            "concurrency": args.concurrency,
            "small_size": args.small_size,
            "get_objects": args.get_objects,
            "large_size": cfg.large_size,
            "large_repeat": cfg.large_repeat,
            "concurrent_uploads": args.concurrent_uploads,
            "concurrent_size": cfg.concurrent_size,
            "list_keys": cfg.list_keys,
            "backup_size": args.backup_size,
            "backup_object_size": args.backup_object_size,
            "list_put_concurrency": args.list_put_concurrency,
            "list_page_size": args.list_page_size,
            "list_repeat": args.list_repeat,
            "client_threads": args.client_threads,
            "wait_idle_secs": args.wait_idle.as_secs_f64(),
            "idle_threshold": args.idle_threshold,
        }),
    );
    if let Some(pid) = pid {
        report.server_idle_rss_mib = server::read_rss_kib(pid).map(|(r, _)| r as f64 / 1024.0);
    }

    let outcome: Result<()> = async {
        // Streaming scenarios first, so their peak RSS is measured on a server
        // whose metadata cache has not been filled by the small-object runs.
        if sel(Scenario::Large) {
            put_get_phases(
                &ctx,
                "large",
                cfg.large_size,
                cfg.large_repeat.max(1),
                1,
                &mut report,
            )
            .await?;
        }
        if sel(Scenario::Concurrent) {
            put_get_phases(
                &ctx,
                "concurrent",
                cfg.concurrent_size,
                args.concurrent_uploads.max(1),
                args.concurrent_uploads.max(1),
                &mut report,
            )
            .await?;
        }
        if sel(Scenario::PutSmall) || sel(Scenario::GetSmall) {
            scenario_small(
                &ctx,
                args,
                cfg,
                sel(Scenario::PutSmall),
                sel(Scenario::GetSmall),
                &mut report,
            )
            .await?;
        }
        if sel(Scenario::List) {
            scenario_list(&ctx, args, cfg, &mut report).await?;
        }
        if sel(Scenario::Backup) {
            let admin = client::RawClient::new(endpoint, &creds)?;
            let size = args
                .backup_size
                .unwrap_or(if args.quick { 512 << 20 } else { 10 << 30 });
            backup::scenario_backup(
                &ctx,
                &admin,
                size,
                args.backup_object_size,
                !args.no_backup_restore,
                &mut report,
            )
            .await?;
        }
        if sel(Scenario::Range) {
            let raw = client::RawClient::new(endpoint, &creds)?;
            range::scenario_range(
                &ctx,
                &raw,
                args.range_object_size,
                args.range_size,
                args.range_count,
            )
            .await?;
        }
        if sel(Scenario::Lifecycle) {
            let admin = client::RawClient::new(endpoint, &creds)?;
            let keys = args
                .lifecycle_keys
                .unwrap_or(if args.quick { 25_000 } else { 250_000 });
            lifecycle::scenario_lifecycle(
                &ctx,
                &admin,
                lifecycle_dirs,
                keys,
                args.lifecycle_versions.max(2),
                &mut report,
            )
            .await?;
        }
        Ok(())
    }
    .await;

    // Print and save whatever was measured, even after a failure.
    println!();
    print!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report.to_json())?)
            .with_context(|| format!("writing {}", path.display()))?;
        progress(format!("wrote {}", path.display()));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
    }
}
