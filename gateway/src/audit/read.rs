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
    /// Only entries older than this (ms since the epoch).
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
    /// Pass as `cursor` for the next (older) page; `None`: nothing older is left.
    pub next: Option<String>,
    /// The byte budget ran out before `limit` entries were found (`next` goes on from there).
    pub partial: bool,
}

/// Where the next page starts: file `file` (0: the live file, `n`: `<file>.n`), read backwards
/// from byte `end` (exclusive). Appends to the live file never move it; a rotation between two
/// pages shifts the files under it (a page may then repeat or miss entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub file: usize,
    pub end: u64,
}

impl Cursor {
    /// `"<file>:<end>"`.
    pub fn parse(s: &str) -> Option<Cursor> {
        let (f, e) = s.split_once(':')?;
        Some(Cursor {
            file: f.parse().ok()?,
            end: e.parse().ok()?,
        })
    }

    fn render(self) -> String {
        format!("{}:{}", self.file, self.end)
    }
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

/// Bytes `[end - budget, end)` of `path` (`end`: the file's length when `None` or beyond it),
/// from the first whole line: `(offset of the first byte, bytes)`; `None` when the file does
/// not exist.
fn read_back(
    path: &Path,
    end: Option<u64>,
    budget: u64,
) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let end = end.map_or(len, |e| e.min(len));
    let mut start = end.saturating_sub(budget);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::with_capacity((end - start) as usize);
    f.take(end - start).read_to_end(&mut buf)?;
    if start > 0 {
        // Drop the partial first line (it is read whole by the next call).
        let cut = buf
            .iter()
            .position(|b| *b == b'\n')
            .map_or(buf.len(), |i| i + 1);
        buf.drain(..cut);
        start += cut as u64;
    }
    Ok(Some((start, buf)))
}

/// The newest entries `filter` keeps, from `path` then its `keep` rotations, starting at
/// `cursor` (`None`: the newest entry).
pub fn tail(
    path: &Path,
    keep: usize,
    filter: &Filter,
    cursor: Option<Cursor>,
) -> std::io::Result<Page> {
    let limit = filter.limit.clamp(1, 1000);
    let mut page = Page::default();
    let mut budget = MAX_READ;
    let first = cursor.map_or(0, |c| c.file);
    for n in first..=keep {
        let p = if n == 0 {
            path.to_path_buf()
        } else {
            numbered(path, n)
        };
        let end = cursor.filter(|c| c.file == n).map(|c| c.end);
        let Some((start, buf)) = read_back(&p, end, budget)? else {
            continue;
        };
        budget = budget.saturating_sub(buf.len() as u64);
        // Lines newest first, with where each ends.
        let mut line_end = buf.len();
        while line_end > 0 {
            let line_start = buf[..line_end]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            let line = &buf[line_start..line_end];
            let this_end = start + line_end as u64;
            line_end = line_start.saturating_sub(1);
            if line.is_empty() {
                continue;
            }
            let Ok(e) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            if filter.keeps(&e) {
                if page.entries.len() == limit {
                    page.next = Some(
                        Cursor {
                            file: n,
                            end: this_end,
                        }
                        .render(),
                    );
                    return Ok(page);
                }
                page.entries.push(e);
            }
        }
        if start > 0 {
            // The budget ran out inside this file.
            page.next = Some(
                Cursor {
                    file: n,
                    end: start,
                }
                .render(),
            );
            page.partial = true;
            return Ok(page);
        }
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

    fn times(p: &Page) -> Vec<u64> {
        p.entries.iter().filter_map(time_ms).collect()
    }

    #[test]
    fn pages_go_back_through_the_rotations() {
        let dir = crate::audit::tests::temp_dir("read");
        let path = dir.join("audit.log");
        let older: String = (0..5)
            .map(|i| line(1000 + i, "a", "PutObject", 200))
            .collect();
        // Several entries in one millisecond: paging by position neither skips nor repeats them.
        let newer: String = [1005, 1006, 1006, 1006, 1009]
            .iter()
            .enumerate()
            .map(|(i, t)| {
                line(
                    *t,
                    if i % 2 == 0 { "a" } else { "b" },
                    "DeleteObject",
                    if *t == 1009 { 403 } else { 200 },
                )
            })
            .collect();
        std::fs::write(numbered(&path, 1), older).unwrap();
        std::fs::write(&path, newer).unwrap();
        let f = Filter {
            limit: 3,
            ..Filter::default()
        };
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let p = tail(&path, 5, &f, cursor).unwrap();
            assert!(p.entries.len() <= 3);
            all.extend(times(&p));
            match p.next {
                Some(n) => cursor = Some(Cursor::parse(&n).unwrap()),
                None => break,
            }
        }
        assert_eq!(
            all,
            vec![1009, 1006, 1006, 1006, 1005, 1004, 1003, 1002, 1001, 1000]
        );
        let p = tail(
            &path,
            5,
            &Filter {
                limit: 100,
                before: Some(1006),
                ..Filter::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(times(&p), vec![1005, 1004, 1003, 1002, 1001, 1000]);
        assert_eq!(p.next, None);
        let p = tail(
            &path,
            5,
            &Filter {
                limit: 100,
                principal: Some("b".into()),
                ..Filter::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(p.entries.len(), 2);
        let p = tail(
            &path,
            5,
            &Filter {
                limit: 100,
                status: Some("4xx".into()),
                operation: Some("delete".into()),
                ..Filter::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(times(&p), vec![1009]);
        assert!(
            tail(&dir.join("none"), 2, &f, None)
                .unwrap()
                .entries
                .is_empty()
        );
        assert_eq!(Cursor::parse("1:20"), Some(Cursor { file: 1, end: 20 }));
        assert_eq!(Cursor::parse("x"), None);
    }
}
