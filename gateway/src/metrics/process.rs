//! The gateway process's own figures, from `/proc/self` (Linux): start time, CPU, resident
//! memory, open file descriptors, I/O and syscalls. On other systems the figures read as
//! absent and their series are left out.

use std::time::{SystemTime, UNIX_EPOCH};

/// A point-in-time reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessFigures {
    /// Seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub threads: Option<u64>,
    pub read_chars: Option<u64>,
    pub written_chars: Option<u64>,
    pub read_syscalls: Option<u64>,
    pub write_syscalls: Option<u64>,
}

/// Clock ticks per second for `/proc/<pid>/stat` times.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as u64 } else { 4096 }
}

/// Reads the figures now.
pub fn read() -> ProcessFigures {
    let mut f = ProcessFigures::default();
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        parse_stat(&stat, &mut f);
    }
    if let Ok(io) = std::fs::read_to_string("/proc/self/io") {
        for line in io.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim().parse::<u64>().ok();
            match k {
                "rchar" => f.read_chars = v,
                "wchar" => f.written_chars = v,
                "syscr" => f.read_syscalls = v,
                "syscw" => f.write_syscalls = v,
                _ => {}
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        f.open_fds = Some(dir.count() as u64);
    }
    if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
        f.max_fds = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse().ok());
    }
    f
}

/// Fields of `/proc/self/stat` after the command name (which may hold spaces).
fn parse_stat(stat: &str, f: &mut ProcessFigures) {
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return;
    };
    // `rest` starts at field 3 (state); field N is at index N - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let ticks = ticks_per_second();
    if let (Some(utime), Some(stime)) = (field(14), field(15)) {
        f.cpu_seconds = Some((utime + stime) as f64 / ticks);
    }
    f.threads = field(20);
    f.virtual_bytes = field(23);
    f.resident_bytes = field(24).map(|pages| pages * page_size());
    if let (Some(start_ticks), Some(boot)) = (field(22), boot_time()) {
        f.start_time_seconds = Some(boot + start_ticks as f64 / ticks);
    }
}

/// The system's boot time (seconds since the epoch), from `/proc/stat`'s `btime`, else from
/// `/proc/uptime`.
fn boot_time() -> Option<f64> {
    if let Ok(stat) = std::fs::read_to_string("/proc/stat")
        && let Some(b) = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(b);
    }
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(now - uptime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_spaces_in_the_name() {
        let line = "6163 (my (odd) name) R 6160 6160 27329 0 -1 4194304 124 0 0 0 250 50 0 0 20 0 7 0 4612959 3133440 392 18446744073709551615";
        let mut f = ProcessFigures::default();
        parse_stat(line, &mut f);
        assert_eq!(f.threads, Some(7));
        assert_eq!(f.virtual_bytes, Some(3133440));
        assert_eq!(f.resident_bytes, Some(392 * page_size()));
        assert!((f.cpu_seconds.unwrap() - 300.0 / ticks_per_second()).abs() < 1e-9);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let f = read();
        assert!(f.resident_bytes.unwrap() > 0);
        assert!(f.open_fds.unwrap() > 2);
        let start = f.start_time_seconds.unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            start <= now + 1.0 && start > now - 86400.0 * 365.0,
            "{start} vs {now}"
        );
    }
}
