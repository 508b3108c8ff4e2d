//! Reading the audit trail back (the console's audit page, admin `GET audit`): the newest
//! entries first, from the file and then its rotations (`<file>.1`, `<file>.2`, …), filtered,
//! a page at a time. At most [`MAX_READ`] bytes are read per call, whatever the files' size.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Bytes read per call at most (over all files).
pub const MAX_READ: u64 = 8 * 1024 * 1024;

/// Which entries a page holds.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Entries at most.
    pub limit: usize,
    /// Only entries older than this (ms since the epoch): the previous page's `next_before`.
    pub before: Option<u64>,
    /// Exact matches on the entry's fields.
    pub principal: Option<String>,
    pub bucket: Option<String>,
    /// A case-insensitive substring of the operation.
    pub operation: Option<String>,
    /// `4xx`, `5xx`, `2xx`, or an exact status.
    pub status: Option<String>,
}

/// One page of entries, newest first.
#[derive(Debug, Default, serde::Serialize)]
pub struct Page {
    pub entries: Vec<Value>,
    /// Pass as `before` for the next (older) page; `None`: nothing older was left to read.
    pub next_before: Option<u64>,
    /// The byte budget ran out before `limit` entries were found.
    pub partial: bool,
}

fn time_ms(e: &Value) -> Option<u64> {
    let t = e.get("time")?.as_str()?;
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp_millis().max(0) as u64)
}

impl Filter {
    fn keeps(&self, e: &Value) -> bool {
        let field = |name: &str| e.get(name).and_then(Value::as_str).unwrap_or_default();
        if let Some(b) = self.before
            && time_ms(e).is_none_or(|t| t >= b)
        {
            return false;
        }
        if self
            .principal
            .as_deref()
            .is_some_and(|p| field("principal") != p)
        {
            return false;
        }
        if self.bucket.as_deref().is_some_and(|b| field("bucket") != b) {
            return false;
        }
        if let Some(op) = &self.operation
            && !field("operation")
                .to_ascii_lowercase()
                .contains(&op.to_ascii_lowercase())
        {
            return false;
        }
        if let Some(s) = &self.status {
            let status = e.get("status").and_then(Value::as_u64).unwrap_or(0);
            let ok = match s.as_str() {
                "2xx" => (200..300).contains(&status),
                "3xx" => (300..400).contains(&status),
                "4xx" => (400..500).contains(&status),
                "5xx" => (500..600).contains(&status),
                other => other.parse::<u64>().is_ok_and(|n| n == status),
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The last `budget` bytes of `path` (from a line start), or `None` when it does not exist.
fn read_tail(path: &Path, budget: u64) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let start = len.saturating_sub(budget);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::with_capacity((len - start) as usize);
    f.take(budget).read_to_end(&mut buf)?;
    let cut = start > 0;
    if cut {
        // Drop the partial first line.
        let first = buf
            .iter()
            .position(|b| *b == b'\n')
            .map_or(buf.len(), |i| i + 1);
        buf.drain(..first);
    }
    Ok(Some((buf, cut)))
}

/// The newest entries `filter` keeps, from `path` then its `keep` rotations.
pub fn tail(path: &Path, keep: usize, filter: &Filter) -> std::io::Result<Page> {
    let limit = filter.limit.clamp(1, 1000);
    let mut page = Page::default();
    let mut budget = MAX_READ;
    let mut exhausted = true;
    for n in 0..=keep {
        let p = if n == 0 {
            path.to_path_buf()
        } else {
            numbered(path, n)
        };
        let Some((buf, cut)) = read_tail(&p, budget)? else {
            continue;
        };
        budget = budget.saturating_sub(buf.len() as u64);
        for line in buf.split(|b| *b == b'\n').rev() {
            if line.is_empty() {
                continue;
            }
            let Ok(e) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            if filter.keeps(&e) {
                if page.entries.len() == limit {
                    exhausted = false;
                    break;
                }
                page.entries.push(e);
            }
        }
        if !exhausted {
            break;
        }
        if cut || budget == 0 {
            exhausted = false;
            page.partial = page.entries.len() < limit;
            break;
        }
    }
    if !exhausted {
        page.next_before = page.entries.last().and_then(time_ms);
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ms: u64, principal: &str, op: &str, status: u16) -> String {
        let t = chrono::DateTime::from_timestamp_millis(ms as i64)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        format!(
            "{{\"time\":\"{t}\",\"principal\":\"{principal}\",\"operation\":\"{op}\",\"bucket\":\"b\",\"status\":{status}}}\n"
        )
    }

    #[test]
    fn pages_go_back_through_the_rotations() {
        let dir = crate::audit::tests::temp_dir("read");
        let path = dir.join("audit.log");
        let older: String = (0..5)
            .map(|i| line(1000 + i, "a", "PutObject", 200))
            .collect();
        let newer: String = (5..10)
            .map(|i| {
                line(
                    1000 + i,
                    if i % 2 == 0 { "a" } else { "b" },
                    "DeleteObject",
                    if i == 9 { 403 } else { 200 },
                )
            })
            .collect();
        std::fs::write(numbered(&path, 1), older).unwrap();
        std::fs::write(&path, newer).unwrap();
        let f = Filter {
            limit: 4,
            ..Filter::default()
        };
        let p = tail(&path, 5, &f).unwrap();
        let times: Vec<u64> = p.entries.iter().filter_map(time_ms).collect();
        assert_eq!(times, vec![1009, 1008, 1007, 1006]);
        assert_eq!(p.next_before, Some(1006));
        let p = tail(
            &path,
            5,
            &Filter {
                limit: 4,
                before: Some(1006),
                ..Filter::default()
            },
        )
        .unwrap();
        let times: Vec<u64> = p.entries.iter().filter_map(time_ms).collect();
        assert_eq!(times, vec![1005, 1004, 1003, 1002]);
        let p = tail(
            &path,
            5,
            &Filter {
                limit: 100,
                before: Some(1002),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.next_before, None);
        let p = tail(
            &path,
            5,
            &Filter {
                limit: 100,
                principal: Some("b".into()),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(p.entries.len(), 3);
        let p = tail(
            &path,
            5,
            &Filter {
                limit: 100,
                status: Some("4xx".into()),
                operation: Some("delete".into()),
                ..Filter::default()
            },
        )
        .unwrap();
        assert_eq!(p.entries.len(), 1);
        assert!(tail(&dir.join("none"), 2, &f).unwrap().entries.is_empty());
    }
}
