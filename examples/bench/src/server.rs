//! Spawning a lakegate server on a temp data dir, and sampling a process's
//! memory and CPU from /proc while a scenario runs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub struct Spawned {
    child: Child,
    pub pid: u32,
    pub endpoint: String,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
    remove_dir: bool,
}

impl Spawned {
    /// Start `bin server DATA_DIR --address 127.0.0.1:0 --console-address
    /// 127.0.0.1:0` and wait for its `lakegate ready s3=... console=...` line.
    pub fn start(
        bin: &Path,
        data_dir: Option<&Path>,
        user: &str,
        password: &str,
        extra_args: &[String],
    ) -> Result<Self> {
        let (data_dir, remove_dir) = match data_dir {
            Some(d) => (d.to_path_buf(), false),
            None => {
                let d = std::env::temp_dir().join(format!(
                    "lakegate-bench-{}-{}",
                    std::process::id(),
                    chrono::Utc::now().timestamp()
                ));
                (d, true)
            }
        };
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let log_path = data_dir.with_extension("server.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut child = Command::new(bin)
            .arg("server")
            .arg(&data_dir)
            .args([
                "--address",
                "127.0.0.1:0",
                "--console-address",
                "127.0.0.1:0",
            ])
            .args(extra_args)
            .env("LAKEGATE_ROOT_USER", user)
            .env("LAKEGATE_ROOT_PASSWORD", password)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        // Keep draining stdout for the server's whole life so it never blocks
        // on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && line.starts_with("lakegate ready") {
                    let _ = tx.send(line);
                    sent = true;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let line = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => break line,
                Err(_) => {
                    if let Some(status) = child.try_wait()? {
                        bail!(
                            "server exited with {status} before printing its ready line (log: {})",
                            log_path.display()
                        );
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        bail!(
                            "no ready line from the server after 60 s (log: {})",
                            log_path.display()
                        );
                    }
                }
            }
        };
        let endpoint = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("s3="))
            .with_context(|| format!("no s3= in ready line {line:?}"))?
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            child,
            pid,
            endpoint,
            data_dir,
            log_path,
            remove_dir,
        })
    }

    pub fn stop(mut self, keep_data: bool) {
        // SIGTERM first for a clean shutdown, then SIGKILL.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.remove_dir && !keep_data {
            let _ = std::fs::remove_dir_all(&self.data_dir);
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// VmRSS / VmHWM in KiB from /proc/PID/status.
pub fn read_rss_kib(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = s.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// utime + stime in seconds from /proc/PID/stat (assumes USER_HZ = 100).
pub fn read_cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let s = std::fs::read_to_string(path).ok()?;
    // Fields after the ")" that closes the command name; utime/stime are
    // fields 14/15 overall = 12th/13th after it.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// (busy, total) jiffies summed over all CPUs, from the first line of
/// /proc/stat. Idle and iowait count as not busy, and so does `nice` time:
/// positively-niced processes (background builds) yield to the benchmark.
pub fn read_system_jiffies() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let total: u64 = v.iter().take(8).sum();
    let f = |i: usize| v.get(i).copied().unwrap_or(0);
    let not_busy = f(1) + f(3) + f(4);
    Some((total - not_busy, total))
}

/// Cores busy machine-wide over `window` (USER_HZ = 100 assumed).
pub fn system_busy_cores(window: Duration) -> Option<f64> {
    let (b0, _) = read_system_jiffies()?;
    let t0 = Instant::now();
    std::thread::sleep(window);
    let (b1, _) = read_system_jiffies()?;
    Some((b1 - b0) as f64 / 100.0 / t0.elapsed().as_secs_f64())
}

/// Wait (up to `max`) until the machine is quiet: less than `threshold`
/// cores busy over a 1 s window. Returns the last measured busy cores.
pub fn wait_until_idle(max: Duration, threshold: f64) -> Option<f64> {
    let deadline = Instant::now() + max;
    let mut warned = false;
    loop {
        let busy = system_busy_cores(Duration::from_secs(1))?;
        if busy < threshold || Instant::now() >= deadline {
            return Some(busy);
        }
        if !warned {
            eprintln!(
                "[lakegate-bench] machine busy ({busy:.2} cores used by other processes); \
                 waiting up to {max:?} for it to calm down"
            );
            warned = true;
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ResourceUsage {
    /// Highest VmRSS seen by the 50 ms sampler during the scenario (MiB).
    pub server_peak_rss_mib: Option<f64>,
    /// VmHWM at the end of the scenario (MiB). The peak is reset through
    /// /proc/PID/clear_refs at the start when permitted (`hwm_reset`), in
    /// which case this is the exact per-scenario peak.
    pub server_hwm_mib: Option<f64>,
    pub hwm_reset: bool,
    pub server_rss_start_mib: Option<f64>,
    pub server_rss_end_mib: Option<f64>,
    /// Server CPU time / wall time (1.0 = one core busy).
    pub server_cpu_cores: Option<f64>,
    /// Benchmark-client CPU time / wall time.
    pub client_cpu_cores: Option<f64>,
    /// Machine-wide busy cores minus server and client: load from other
    /// processes that competed with the measurement (should be ~0).
    pub other_cpu_cores: Option<f64>,
    pub wall_secs: f64,
}

/// Samples a server's RSS every 50 ms (and CPU at the ends) while alive.
pub struct Monitor {
    pid: Option<u32>,
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    hwm_reset: bool,
    start_rss: Option<u64>,
    server_cpu0: Option<f64>,
    client_cpu0: Option<f64>,
    system0: Option<(u64, u64)>,
    t0: Instant,
}

impl Monitor {
    pub fn start(pid: Option<u32>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let mut hwm_reset = false;
        let mut start_rss = None;
        let thread = pid.map(|pid| {
            // "5" resets the peak RSS (VmHWM) of the process (Linux >= 4.0).
            hwm_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
            start_rss = read_rss_kib(pid).map(|(rss, _)| rss);
            let stop = stop.clone();
            let peak = peak.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some((rss, _)) = read_rss_kib(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        });
        Self {
            pid,
            stop,
            peak,
            thread,
            hwm_reset,
            start_rss,
            server_cpu0: pid.and_then(|p| read_cpu_secs(Some(p))),
            client_cpu0: read_cpu_secs(None),
            system0: read_system_jiffies(),
            t0: Instant::now(),
        }
    }

    pub fn finish(mut self) -> ResourceUsage {
        let wall = self.t0.elapsed().as_secs_f64();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mib = |kib: u64| kib as f64 / 1024.0;
        let mut u = ResourceUsage {
            wall_secs: wall,
            hwm_reset: self.hwm_reset,
            server_rss_start_mib: self.start_rss.map(mib),
            ..Default::default()
        };
        if let Some(pid) = self.pid {
            let end = read_rss_kib(pid);
            let sampled = self
                .peak
                .load(Ordering::Relaxed)
                .max(end.map_or(0, |e| e.0));
            u.server_peak_rss_mib = (sampled > 0).then(|| mib(sampled));
            u.server_hwm_mib = end.map(|e| mib(e.1));
            u.server_rss_end_mib = end.map(|e| mib(e.0));
            if let (Some(c0), Some(c1)) = (self.server_cpu0, read_cpu_secs(Some(pid))) {
                u.server_cpu_cores = Some((c1 - c0) / wall.max(1e-9));
            }
        }
        if let (Some(c0), Some(c1)) = (self.client_cpu0, read_cpu_secs(None)) {
            u.client_cpu_cores = Some((c1 - c0) / wall.max(1e-9));
        }
        if let (Some((b0, _)), Some((b1, _))) = (self.system0, read_system_jiffies()) {
            let busy = (b1 - b0) as f64 / 100.0 / wall.max(1e-9);
            let ours = u.server_cpu_cores.unwrap_or(0.0) + u.client_cpu_cores.unwrap_or(0.0);
            u.other_cpu_cores = Some((busy - ours).max(0.0));
        }
        u
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
