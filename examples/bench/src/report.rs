//! Result rows, the stdout table and the JSON document.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::server::ResourceUsage;

pub fn fmt_size(b: u64) -> String {
    if b >= 1 << 30 && b.is_multiple_of(1 << 30) {
        format!("{} GiB", b >> 30)
    } else if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{} MiB", b >> 20)
    } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
        format!("{} KiB", b >> 10)
    } else {
        format!("{b} B")
    }
}

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Timing {
    pub fn from_hist(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |ns: u64| ns as f64 / 1e6;
        Self {
            count: h.len(),
            mean_ms: h.mean() / 1e6,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

impl ResourceUsage {
    /// Best available per-scenario peak: VmHWM when it could be reset at the
    /// start of the scenario (exact), else the 50 ms sampler's maximum.
    pub fn peak_mib(&self) -> Option<f64> {
        match (
            self.hwm_reset,
            self.server_hwm_mib,
            self.server_peak_rss_mib,
        ) {
            (true, Some(h), Some(s)) => Some(h.max(s)),
            (true, Some(h), None) => Some(h),
            (_, _, s) => s,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyRow {
    pub scenario: String,
    pub size_bytes: u64,
    pub concurrency: usize,
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub secs: f64,
    pub ops_per_sec: f64,
    pub mib_per_sec: f64,
    pub timing: Timing,
    pub resources: ResourceUsage,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThroughputRow {
    pub scenario: String,
    pub op: String,
    pub size_bytes: u64,
    pub concurrency: usize,
    pub objects: usize,
    pub errors: u64,
    pub first_error: Option<String>,
    pub secs: f64,
    /// Aggregate: objects * size / wall time.
    pub mib_per_sec: f64,
    pub per_object_secs_min: Option<f64>,
    pub per_object_secs_median: Option<f64>,
    pub per_object_secs_max: Option<f64>,
    pub per_object_mib_per_sec_best: Option<f64>,
    pub resources: ResourceUsage,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    pub pass: usize,
    pub keys_expected: usize,
    pub keys_listed: usize,
    pub pages: usize,
    pub page_size: u32,
    pub secs: f64,
    pub keys_per_sec: f64,
    pub page: Timing,
    pub error: Option<String>,
    pub resources: ResourceUsage,
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.prec$}"))
}

fn err_note(errors: u64, first: &Option<String>) -> String {
    match (errors, first) {
        (0, Some(f)) => format!("  [{f}]"),
        (0, None) => String::new(),
        (n, Some(f)) => format!("  [{n} errors; first: {f}]"),
        (n, None) => format!("  [{n} errors]"),
    }
}

impl LatencyRow {
    pub fn one_line(&self) -> String {
        format!(
            "{} {} c={}: {:.0} ops/s, p50 {:.3} ms, p99 {:.3} ms, p999 {:.3} ms, server peak RSS {} MiB{}",
            self.scenario,
            fmt_size(self.size_bytes),
            self.concurrency,
            self.ops_per_sec,
            self.timing.p50_ms,
            self.timing.p99_ms,
            self.timing.p999_ms,
            opt(self.resources.peak_mib(), 1),
            err_note(self.errors, &self.first_error)
        )
    }
}

impl ThroughputRow {
    pub fn one_line(&self) -> String {
        format!(
            "{} {} {} x {} c={}: {:.1} MiB/s aggregate in {:.2} s, server peak RSS {} MiB{}",
            self.scenario,
            self.op,
            self.objects,
            fmt_size(self.size_bytes),
            self.concurrency,
            self.mib_per_sec,
            self.secs,
            opt(self.resources.peak_mib(), 1),
            err_note(self.errors, &self.first_error)
        )
    }
}

impl ListRow {
    pub fn one_line(&self) -> String {
        format!(
            "list pass {}: {} keys in {} pages, {:.3} s, {:.0} keys/s, page p50 {:.2} ms p99 {:.2} ms{}",
            self.pass,
            self.keys_listed,
            self.pages,
            self.secs,
            self.keys_per_sec,
            self.page.p50_ms,
            self.page.p99_ms,
            self.error
                .as_ref()
                .map(|e| format!("  [error: {e}]"))
                .unwrap_or_default()
        )
    }
}

pub struct Report {
    pub endpoint: String,
    pub client: String,
    pub mode: String,
    pub server_pid: Option<u32>,
    pub server_idle_rss_mib: Option<f64>,
    pub config: serde_json::Value,
    pub started: String,
    pub latency: Vec<LatencyRow>,
    pub throughput: Vec<ThroughputRow>,
    pub list: Vec<ListRow>,
}

fn machine() -> serde_json::Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string());
    let mem_kib: Option<u64> = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok());
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "cpu_model": model,
        "mem_total_gib": mem_kib.map(|k| (k as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
    })
}

impl Report {
    pub fn new(
        endpoint: &str,
        client: &str,
        mode: &str,
        server_pid: Option<u32>,
        config: serde_json::Value,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            client: client.into(),
            mode: mode.into(),
            server_pid,
            server_idle_rss_mib: None,
            config,
            started: chrono::Utc::now().to_rfc3339(),
            latency: vec![],
            throughput: vec![],
            list: vec![],
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "tool": "lakegate-bench",
            "version": env!("CARGO_PKG_VERSION"),
            "started": self.started,
            "endpoint": self.endpoint,
            "mode": self.mode,
            "client": self.client,
            "server_pid": self.server_pid,
            "server_idle_rss_mib": self.server_idle_rss_mib,
            "machine": machine(),
            "config": self.config,
            "latency": self.latency,
            "throughput": self.throughput,
            "list": self.list,
        })
    }

    pub fn table(&self) -> String {
        let mut o = String::new();
        let m = machine();
        let _ = writeln!(
            o,
            "lakegate-bench: {} ({}), client {}, {} CPUs, {} GiB RAM; server idle RSS {} MiB",
            self.endpoint,
            self.mode,
            self.client,
            m["cpus"],
            m["mem_total_gib"],
            opt(self.server_idle_rss_mib, 1)
        );
        if !self.latency.is_empty() {
            let _ = writeln!(
                o,
                "\n{:<15} {:>7} {:>5} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>6} {:>7} {:>9} {:>7} {:>7} {:>7}",
                "scenario",
                "size",
                "conc",
                "ops",
                "ops/s",
                "p50 ms",
                "p99 ms",
                "p999 ms",
                "max ms",
                "errors",
                "RSS0",
                "peak RSS",
                "srv CPU",
                "cli CPU",
                "oth CPU"
            );
            for r in &self.latency {
                let _ = writeln!(
                    o,
                    "{:<15} {:>7} {:>5} {:>9} {:>10.0} {:>8.3} {:>8.3} {:>8.3} {:>8.2} {:>6} {:>7} {:>9} {:>7} {:>7} {:>7}",
                    r.scenario,
                    fmt_size(r.size_bytes),
                    r.concurrency,
                    r.ops,
                    r.ops_per_sec,
                    r.timing.p50_ms,
                    r.timing.p99_ms,
                    r.timing.p999_ms,
                    r.timing.max_ms,
                    r.errors,
                    opt(r.resources.server_rss_start_mib, 1),
                    opt(r.resources.peak_mib(), 1),
                    opt(r.resources.server_cpu_cores, 2),
                    opt(r.resources.client_cpu_cores, 2),
                    opt(r.resources.other_cpu_cores, 2),
                );
            }
        }
        if !self.throughput.is_empty() {
            let _ = writeln!(
                o,
                "\n{:<11} {:>4} {:>8} {:>5} {:>7} {:>8} {:>9} {:>10} {:>10} {:>6} {:>7} {:>9} {:>7} {:>7} {:>7}",
                "scenario",
                "op",
                "size",
                "conc",
                "objects",
                "secs",
                "MiB/s",
                "obj med s",
                "obj max s",
                "errors",
                "RSS0",
                "peak RSS",
                "srv CPU",
                "cli CPU",
                "oth CPU"
            );
            for r in &self.throughput {
                let _ = writeln!(
                    o,
                    "{:<11} {:>4} {:>8} {:>5} {:>7} {:>8.2} {:>9.1} {:>10} {:>10} {:>6} {:>7} {:>9} {:>7} {:>7} {:>7}",
                    r.scenario,
                    r.op,
                    fmt_size(r.size_bytes),
                    r.concurrency,
                    r.objects,
                    r.secs,
                    r.mib_per_sec,
                    opt(r.per_object_secs_median, 2),
                    opt(r.per_object_secs_max, 2),
                    r.errors,
                    opt(r.resources.server_rss_start_mib, 1),
                    opt(r.resources.peak_mib(), 1),
                    opt(r.resources.server_cpu_cores, 2),
                    opt(r.resources.client_cpu_cores, 2),
                    opt(r.resources.other_cpu_cores, 2),
                );
            }
        }
        if !self.list.is_empty() {
            let _ = writeln!(
                o,
                "\n{:<10} {:>9} {:>7} {:>9} {:>10} {:>11} {:>11} {:>9} {:>7} {:>7}",
                "list pass",
                "keys",
                "pages",
                "secs",
                "keys/s",
                "page p50 ms",
                "page p99 ms",
                "peak RSS",
                "srv CPU",
                "oth CPU"
            );
            for r in &self.list {
                let _ = writeln!(
                    o,
                    "{:<10} {:>9} {:>7} {:>9.3} {:>10.0} {:>11.2} {:>11.2} {:>9} {:>7} {:>7}",
                    r.pass,
                    r.keys_listed,
                    r.pages,
                    r.secs,
                    r.keys_per_sec,
                    r.page.p50_ms,
                    r.page.p99_ms,
                    opt(r.resources.peak_mib(), 1),
                    opt(r.resources.server_cpu_cores, 2),
                    opt(r.resources.other_cpu_cores, 2),
                );
            }
        }
        let mut problems = vec![];
        for r in &self.latency {
            if let Some(e) = &r.first_error {
                problems.push(format!(
                    "{} c={}: {} errors; first: {e}",
                    r.scenario, r.concurrency, r.errors
                ));
            }
        }
        for r in &self.throughput {
            if let Some(e) = &r.first_error {
                problems.push(format!(
                    "{} {}: {} errors; first: {e}",
                    r.scenario, r.op, r.errors
                ));
            }
        }
        for r in &self.list {
            if let Some(e) = &r.error {
                problems.push(format!("list pass {}: {e}", r.pass));
            }
            if r.keys_listed != r.keys_expected {
                problems.push(format!(
                    "list pass {}: listed {} keys, expected {}",
                    r.pass, r.keys_listed, r.keys_expected
                ));
            }
        }
        let noisy = |u: &ResourceUsage| u.other_cpu_cores.is_some_and(|c| c > 0.25);
        let mut noisy_points: Vec<String> = vec![];
        for r in &self.latency {
            if noisy(&r.resources) {
                noisy_points.push(format!("{} c={}", r.scenario, r.concurrency));
            }
        }
        for r in &self.throughput {
            if noisy(&r.resources) {
                noisy_points.push(format!("{} {}", r.scenario, r.op));
            }
        }
        for r in &self.list {
            if noisy(&r.resources) {
                noisy_points.push(format!("list pass {}", r.pass));
            }
        }
        if !noisy_points.is_empty() {
            problems.push(format!(
                "other processes used > 0.25 cores during: {} (numbers are pessimistic; rerun on a quiet machine)",
                noisy_points.join(", ")
            ));
        }
        if !problems.is_empty() {
            let _ = writeln!(o, "\nproblems:");
            for p in problems {
                let _ = writeln!(o, "  - {p}");
            }
        }
        let _ = writeln!(
            o,
            "\nRSS0 = server VmRSS when the point started, peak RSS = server VmHWM reset per point \
             (or 50 ms VmRSS sampling), MiB; \
             CPU = cores busy (CPU time / wall time) for server, client, and \
             other processes; MiB/s = 2^20 bytes/s"
        );
        o
    }
}
