//! The listing engine: one page of a key-ordered table, as S3 listings (ListObjects V1 and V2,
//! ListObjectVersions, ListMultipartUploads) and any other caller see it.
//!
//! [`Listing::run`] walks a key-ordered table in bounded batches from a [`Cursor`], rolls keys up
//! into common prefixes when a delimiter is given, counts contents and prefixes together against
//! the page size, and looks one visible entry ahead to decide whether the page is truncated. A
//! common prefix is skipped with a single seek to its successor (the prefix with its last byte
//! incremented; UTF-8 never contains 0xFF), so the keys under it are never iterated beyond the
//! batch that found it. [`Store::list_current`], [`Store::list_versions`] and
//! [`Store::list_uploads`] run it over the store's tables; query parsing and rendering are the
//! caller's (for S3, `s3/list.rs`).
//!
//! Marker rule (ListObjects `marker`, V2 `start-after` / continuation token, versions
//! `key-marker`): every entry returned sorts strictly after the marker; if the marker itself lies
//! inside a common prefix (it rolls up under the request's prefix and delimiter), that whole
//! common prefix is skipped, since a previous page already returned it
//! ([`Listing::start_after`]). So a marker that is a common prefix resumes right after everything
//! under it.

use super::model::{CurrentEntry, UploadInfo, VersionRecord};
use super::{Store, StoreError};

/// Smallest and largest store batch one scan step asks for.
const MIN_BATCH: usize = 32;
const MAX_BATCH: usize = 1024;

/// The smallest position after `s` and everything that starts with `s` (`s` with its last byte
/// incremented). `s` is UTF-8, so the last byte is never 0xFF.
fn prefix_successor(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    if let Some(last) = b.last_mut() {
        *last = last.saturating_add(1);
    }
    b
}

/// The smallest position strictly after key `k` and all its entries in any table (keys never
/// contain NUL; version and upload entries of `k` sort as `k \0 ...`).
pub fn after_key(k: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(k.len() + 1);
    b.extend_from_slice(k.as_bytes());
    b.push(1);
    b
}

/// Where a scan (re)starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// At this raw key position, inclusive.
    From(Vec<u8>),
    /// Right after the entry `(key, id)` of a table with several entries per key (object
    /// versions, multipart uploads).
    After(String, String),
}

/// One entry of a listing page, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<T> {
    Item(String, T),
    Prefix(String),
}

impl<T> Entry<T> {
    /// The key or common prefix.
    pub fn name(&self) -> &str {
        match self {
            Entry::Item(k, _) | Entry::Prefix(k) => k,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Contents and common prefixes, interleaved in key order; at most `max` of them together.
    pub entries: Vec<Entry<T>>,
    /// Whether at least one more visible entry follows.
    pub is_truncated: bool,
}

impl<T> Page<T> {
    pub fn items(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Item(k, v) => Some((k.as_str(), v)),
            Entry::Prefix(_) => None,
        })
    }

    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Prefix(p) => Some(p.as_str()),
            Entry::Item(..) => None,
        })
    }

    /// The last key or common prefix returned: the marker to resume after.
    pub fn last_name(&self) -> Option<&str> {
        self.entries.last().map(Entry::name)
    }
}

/// The shape of one listing request: prefix, delimiter (`None` or empty = no roll-up) and page
/// size.
#[derive(Debug, Clone, Copy)]
pub struct Listing<'a> {
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub max: usize,
}

impl<'a> Listing<'a> {
    pub fn new(prefix: &'a str, delimiter: Option<&'a str>, max: usize) -> Self {
        Listing {
            prefix,
            delimiter: delimiter.filter(|d| !d.is_empty()),
            max,
        }
    }

    /// The common prefix `key` rolls up into: `prefix` + up to and including the first delimiter
    /// after it.
    pub fn common_prefix<'k>(&self, key: &'k str) -> Option<&'k str> {
        let d = self.delimiter?;
        let rest = key.strip_prefix(self.prefix)?;
        let pos = rest.find(d)?;
        key.get(..self.prefix.len() + pos + d.len())
    }

    /// Where to start for a marker (exclusive): right after `marker`, or, when the marker lies
    /// inside a common prefix, after that whole prefix. An empty marker starts at the beginning.
    pub fn start_after(&self, marker: &str) -> Cursor {
        if marker.is_empty() {
            return Cursor::From(Vec::new());
        }
        match self.common_prefix(marker) {
            Some(cp) => Cursor::From(prefix_successor(cp)),
            None => Cursor::From(after_key(marker)),
        }
    }

    /// Runs one page.
    ///
    /// - `scan(cursor, limit)` returns up to `limit` raw entries `(key, value)` at or after the
    ///   cursor, in order, all starting with the prefix; fewer than `limit` means the end.
    /// - `keep(key, value)` says whether an entry is visible (e.g. not a delete marker); a common
    ///   prefix only appears when a visible entry rolls up into it.
    /// - `resume(key, value)` is the cursor right after that entry.
    pub fn run<T, E>(
        &self,
        start: Cursor,
        mut scan: impl FnMut(&Cursor, usize) -> Result<Vec<(String, T)>, E>,
        mut keep: impl FnMut(&str, &T) -> bool,
        mut resume: impl FnMut(&str, &T) -> Cursor,
    ) -> Result<Page<T>, E> {
        let mut entries: Vec<Entry<T>> = Vec::new();
        if self.max == 0 {
            // Still touches the store, so a missing bucket is reported.
            scan(&start, 0)?;
            return Ok(Page {
                entries,
                is_truncated: false,
            });
        }
        let mut cursor = start;
        let mut batch = if self.delimiter.is_some() {
            MIN_BATCH
        } else {
            MAX_BATCH
        };
        loop {
            let need = self.max.saturating_sub(entries.len()) + 1;
            let limit = batch.min(need.max(MIN_BATCH));
            let rows = scan(&cursor, limit)?;
            let exhausted = rows.len() < limit;
            // The common prefix just emitted, while the batch is still inside it.
            let mut inside: Option<String> = None;
            for (key, value) in rows {
                if let Some(cp) = &inside {
                    if key.starts_with(cp.as_str()) {
                        continue;
                    }
                    inside = None;
                }
                if !keep(&key, &value) {
                    cursor = resume(&key, &value);
                    continue;
                }
                if entries.len() >= self.max {
                    return Ok(Page {
                        entries,
                        is_truncated: true,
                    });
                }
                match self.common_prefix(&key) {
                    Some(cp) => {
                        let cp = cp.to_string();
                        cursor = Cursor::From(prefix_successor(&cp));
                        entries.push(Entry::Prefix(cp.clone()));
                        inside = Some(cp);
                    }
                    None => {
                        cursor = resume(&key, &value);
                        entries.push(Entry::Item(key, value));
                    }
                }
            }
            if exhausted {
                return Ok(Page {
                    entries,
                    is_truncated: false,
                });
            }
            // A batch that ended inside a common prefix means prefixes are dense here: keep
            // batches small so each seek wastes little; otherwise grow them.
            batch = if inside.is_some() {
                MIN_BATCH
            } else {
                (batch * 2).min(MAX_BATCH)
            };
        }
    }
}

impl Store {
    /// One page of a bucket's current objects (delete markers hidden).
    pub fn list_current(
        &self,
        bucket: &str,
        listing: &Listing<'_>,
        start: Cursor,
    ) -> Result<Page<CurrentEntry>, StoreError> {
        let prefix = listing.prefix;
        listing.run(
            start,
            |c, limit| match c {
                Cursor::From(from) => self.scan_current(bucket, prefix, from, limit),
                Cursor::After(k, _) => self.scan_current(bucket, prefix, &after_key(k), limit),
            },
            |_, e: &CurrentEntry| !e.is_delete_marker,
            |k, _| Cursor::From(after_key(k)),
        )
    }

    /// One page of a bucket's versions and delete markers, newest first per key, each with its
    /// `IsLatest` flag (false for common prefixes).
    pub fn list_versions(
        &self,
        bucket: &str,
        listing: &Listing<'_>,
        start: Cursor,
    ) -> Result<(Page<VersionRecord>, Vec<bool>), StoreError> {
        let prefix = listing.prefix;
        let page = listing.run(
            start.clone(),
            |c, limit| match c {
                Cursor::From(from) => self.scan_versions(bucket, prefix, from, None, limit),
                Cursor::After(k, v) => {
                    self.scan_versions(bucket, prefix, b"", Some((k.as_str(), v.as_str())), limit)
                }
            },
            |_, _| true,
            |k, v: &VersionRecord| Cursor::After(k.to_string(), v.version_id.clone()),
        )?;
        let latest = latest_flags(&start, &page.entries);
        Ok((page, latest))
    }

    /// One page of a bucket's multipart uploads in progress, by key then upload id (a cursor
    /// [`Cursor::After`] names the key and upload id to resume after).
    pub fn list_uploads(
        &self,
        bucket: &str,
        listing: &Listing<'_>,
        start: Cursor,
    ) -> Result<Page<UploadInfo>, StoreError> {
        let prefix = listing.prefix;
        listing.run(
            start,
            |cursor, limit| {
                let uploads = match cursor {
                    Cursor::From(from) => self.scan_uploads(bucket, prefix, from, None, limit),
                    Cursor::After(k, u) => {
                        self.scan_uploads(bucket, prefix, &[], Some((k, u)), limit)
                    }
                }?;
                Ok(uploads.into_iter().map(|u| (u.key.clone(), u)).collect())
            },
            |_, _| true,
            |key, u: &UploadInfo| Cursor::After(key.to_string(), u.upload_id.clone()),
        )
    }
}

/// `IsLatest` for each entry of a version page (false for common prefixes): a version is the
/// latest when it is the first of its key in scan order, unless the page started in the middle of
/// that key's versions.
pub fn latest_flags<T>(start: &Cursor, entries: &[Entry<T>]) -> Vec<bool> {
    let mut prev: Option<&str> = match start {
        Cursor::After(k, _) => Some(k.as_str()),
        Cursor::From(_) => None,
    };
    entries
        .iter()
        .map(|e| match e {
            Entry::Item(k, _) => {
                let latest = prev != Some(k.as_str());
                prev = Some(k.as_str());
                latest
            }
            Entry::Prefix(_) => false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::BTreeMap;
    use std::convert::Infallible;

    /// An in-memory current table: key -> visible (false = delete marker). Counts rows read.
    struct Mem {
        rows: BTreeMap<String, bool>,
        read: Cell<usize>,
        calls: Cell<usize>,
    }

    impl Mem {
        fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
            Mem {
                rows: keys.into_iter().map(|k| (k.to_string(), true)).collect(),
                read: Cell::new(0),
                calls: Cell::new(0),
            }
        }

        fn scan(
            &self,
            prefix: &str,
            c: &Cursor,
            limit: usize,
        ) -> Result<Vec<(String, bool)>, Infallible> {
            self.calls.set(self.calls.get() + 1);
            let from = match c {
                Cursor::From(f) => f.clone(),
                Cursor::After(k, _) => after_key(k),
            };
            let out: Vec<(String, bool)> = self
                .rows
                .iter()
                .filter(|(k, _)| k.as_bytes() >= from.as_slice() && k.starts_with(prefix))
                .take(limit)
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            self.read.set(self.read.get() + out.len());
            Ok(out)
        }

        fn list(&self, l: &Listing<'_>, start: Cursor) -> Page<bool> {
            let r = l.run(
                start,
                |c, n| self.scan(l.prefix, c, n),
                |_, v| *v,
                |k, _| Cursor::From(after_key(k)),
            );
            match r {
                Ok(p) => p,
                Err(e) => match e {},
            }
        }
    }

    fn names<T>(p: &Page<T>) -> Vec<&str> {
        p.entries
            .iter()
            .map(|e| match e {
                Entry::Item(k, _) => k.as_str(),
                Entry::Prefix(p) => p.as_str(),
            })
            .collect()
    }

    /// Lists everything page by page, resuming from the last name as clients do.
    fn all_pages(m: &Mem, prefix: &str, delim: Option<&str>, max: usize) -> Vec<Vec<String>> {
        let l = Listing::new(prefix, delim, max);
        let mut out = Vec::new();
        let mut start = Cursor::From(Vec::new());
        loop {
            let p = m.list(&l, start);
            out.push(names(&p).iter().map(|s| s.to_string()).collect());
            if !p.is_truncated {
                return out;
            }
            let Some(last) = p.last_name() else {
                panic!("truncated but empty");
            };
            start = l.start_after(last);
        }
    }

    #[test]
    fn plain_listing_pages_and_lookahead() {
        let m = Mem::new(["a", "b", "c", "d", "e"]);
        let l = Listing::new("", None, 2);
        let p = m.list(&l, Cursor::From(Vec::new()));
        assert_eq!(names(&p), ["a", "b"]);
        assert!(p.is_truncated);
        // Exactly filling the page is not truncated.
        let l = Listing::new("", None, 5);
        let p = m.list(&l, Cursor::From(Vec::new()));
        assert_eq!(p.entries.len(), 5);
        assert!(!p.is_truncated);
        assert_eq!(
            all_pages(&m, "", None, 2),
            [vec!["a", "b"], vec!["c", "d"], vec!["e"]]
        );
        // Marker is exclusive; max 0 is empty and not truncated.
        let l = Listing::new("", None, 10);
        assert_eq!(names(&m.list(&l, l.start_after("b"))), ["c", "d", "e"]);
        assert_eq!(names(&m.list(&l, l.start_after("bb"))), ["c", "d", "e"]);
        assert!(names(&m.list(&l, l.start_after("z"))).is_empty());
        let p = m.list(&Listing::new("", None, 0), Cursor::From(Vec::new()));
        assert!(p.entries.is_empty() && !p.is_truncated);
    }

    #[test]
    fn delimiter_rolls_up_once_and_counts_prefixes() {
        let m = Mem::new([
            "asdf",
            "boo/bar",
            "boo/baz/xyzzy",
            "cquux/thud",
            "cquux/bla",
        ]);
        let l = Listing::new("", Some("/"), 10);
        let p = m.list(&l, Cursor::From(Vec::new()));
        assert_eq!(names(&p), ["asdf", "boo/", "cquux/"]);
        assert_eq!(p.items().count(), 1);
        assert_eq!(p.prefixes().collect::<Vec<_>>(), ["boo/", "cquux/"]);
        assert_eq!(
            all_pages(&m, "", Some("/"), 1),
            [vec!["asdf"], vec!["boo/"], vec!["cquux/"]]
        );
        // With a prefix: roll-up happens after it.
        let l = Listing::new("boo/", Some("/"), 10);
        assert_eq!(
            names(&m.list(&l, Cursor::From(Vec::new()))),
            ["boo/bar", "boo/baz/"]
        );
        // Multi-character and non-slash delimiters.
        let m = Mem::new(["a--b", "a--c", "a-d", "b"]);
        let l = Listing::new("", Some("--"), 10);
        assert_eq!(
            names(&m.list(&l, Cursor::From(Vec::new()))),
            ["a--", "a-d", "b"]
        );
        let l = Listing::new("", Some(""), 10);
        assert_eq!(
            names(&m.list(&l, Cursor::From(Vec::new()))),
            ["a--b", "a--c", "a-d", "b"]
        );
    }

    #[test]
    fn marker_inside_a_common_prefix_skips_it() {
        let m = Mem::new(["a/1", "a/2", "a0", "b/1"]);
        let l = Listing::new("", Some("/"), 10);
        assert_eq!(names(&m.list(&l, l.start_after("a/"))), ["a0", "b/"]);
        assert_eq!(names(&m.list(&l, l.start_after("a/1"))), ["a0", "b/"]);
        assert_eq!(names(&m.list(&l, l.start_after("a"))), ["a/", "a0", "b/"]);
        // Without a delimiter the marker is just exclusive.
        let l = Listing::new("", None, 10);
        assert_eq!(
            names(&m.list(&l, l.start_after("a/1"))),
            ["a/2", "a0", "b/1"]
        );
    }

    #[test]
    fn delete_markers_are_hidden_even_under_prefixes() {
        let mut m = Mem::new(["a", "b", "d/x", "e/1", "e/2", "f"]);
        m.rows.insert("b".into(), false);
        m.rows.insert("d/x".into(), false);
        m.rows.insert("e/1".into(), false);
        let l = Listing::new("", Some("/"), 10);
        assert_eq!(
            names(&m.list(&l, Cursor::From(Vec::new()))),
            ["a", "e/", "f"]
        );
        // Lookahead skips hidden entries: nothing visible after "e/" but "f".
        let l = Listing::new("", Some("/"), 3);
        assert!(!m.list(&l, Cursor::From(Vec::new())).is_truncated);
        let mut m = Mem::new(["a", "z"]);
        m.rows.insert("z".into(), false);
        let p = m.list(&Listing::new("", None, 1), Cursor::From(Vec::new()));
        assert_eq!(names(&p), ["a"]);
        assert!(!p.is_truncated);
    }

    #[test]
    fn big_common_prefix_is_seeked_past() {
        let keys: Vec<String> = (0..100_000).map(|i| format!("logs/big/{i:06}")).collect();
        let mut m = Mem::new(keys.iter().map(|s| s.as_str()));
        m.rows.insert("logs/small.txt".into(), true);
        m.rows.insert("logs/zz/1".into(), true);
        let l = Listing::new("logs/", Some("/"), 1000);
        let p = m.list(&l, Cursor::From(Vec::new()));
        assert_eq!(names(&p), ["logs/big/", "logs/small.txt", "logs/zz/"]);
        assert!(!p.is_truncated);
        assert!(m.read.get() < 200, "read {} rows", m.read.get());
    }

    #[test]
    fn large_flat_listing_reads_about_one_page() {
        let keys: Vec<String> = (0..100_000).map(|i| format!("k{i:06}")).collect();
        let m = Mem::new(keys.iter().map(|s| s.as_str()));
        let l = Listing::new("", None, 1000);
        let p = m.list(&l, l.start_after("k050000"));
        assert_eq!(p.entries.len(), 1000);
        assert_eq!(p.last_name(), Some("k051000"));
        assert!(p.is_truncated);
        assert!(m.read.get() <= 1024, "read {} rows", m.read.get());
        assert_eq!(m.calls.get(), 1);
        // Many small prefixes: each costs at most a small batch.
        let keys: Vec<String> = (0..2000)
            .flat_map(|d| (0..50).map(move |i| format!("d{d:04}/{i:03}")))
            .collect();
        let m = Mem::new(keys.iter().map(|s| s.as_str()));
        let l = Listing::new("", Some("/"), 1000);
        let p = m.list(&l, Cursor::From(Vec::new()));
        assert_eq!(p.entries.len(), 1000);
        assert!(p.is_truncated);
        assert!(m.read.get() <= 1001 * 50, "read {} rows", m.read.get());
    }

    #[test]
    fn paging_with_delimiter_visits_everything_once() {
        let mut keys = Vec::new();
        for d in 0..7 {
            for i in 0..(d * 13) {
                keys.push(format!("p/{d}/{i:03}"));
            }
            keys.push(format!("p/{d}.txt"));
        }
        let m = Mem::new(keys.iter().map(|s| s.as_str()));
        for max in [1, 2, 3, 5, 1000] {
            let pages = all_pages(&m, "p/", Some("/"), max);
            let flat: Vec<String> = pages.concat();
            let mut want: Vec<String> = Vec::new();
            for d in 0..7 {
                if d > 0 {
                    want.push(format!("p/{d}/"));
                }
                want.push(format!("p/{d}.txt"));
            }
            want.sort();
            assert_eq!(flat, want, "max {max}");
            assert!(pages.iter().all(|p| p.len() <= max));
        }
    }

    #[test]
    fn common_prefix_and_successor() {
        let l = Listing::new("a/", Some("/"), 1);
        assert_eq!(l.common_prefix("a/b/c"), Some("a/b/"));
        assert_eq!(l.common_prefix("a/b"), None);
        assert_eq!(l.common_prefix("b/c"), None);
        assert_eq!(Listing::new("", None, 1).common_prefix("a/b"), None);
        assert_eq!(prefix_successor("a/"), b"a0".to_vec());
        assert_eq!(prefix_successor("é"), vec![0xC3, 0xAA]);
        assert_eq!(after_key("a"), b"a\x01".to_vec());
        let l = Listing::new("é", Some("ü"), 1);
        assert_eq!(l.common_prefix("éaüb"), Some("éaü"));
    }
}
