//! Listings: ListObjects (V1), ListObjectsV2 and ListObjectVersions.
//!
//! All three share one engine, [`Listing::run`]: it walks a key-ordered table in bounded batches
//! from a [`Cursor`], rolls keys up into common prefixes when a delimiter is given, counts
//! contents and prefixes together against `max-keys`, and looks one visible entry ahead to decide
//! `IsTruncated`. A common prefix is skipped with a single seek to its successor (the prefix with
//! its last byte incremented; UTF-8 never contains 0xFF), so the keys under it are never iterated
//! beyond the batch that found it. ListMultipartUploads can drive the same engine.
//!
//! Marker rule (ListObjects `marker`, V2 `start-after` / continuation token, versions
//! `key-marker`): every entry returned sorts strictly after the marker; if the marker itself lies
//! inside a common prefix (it rolls up under the request's prefix and delimiter), that whole
//! common prefix is skipped, since a previous page already returned it. So a `NextMarker` that is
//! a common prefix resumes right after everything under it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::error::{S3Error, S3Result};
use super::router::Query;
use super::xml::{XmlWriter, iso8601};
use super::{S3Request, S3Response, S3State, xml_response};
use crate::store::{CurrentEntry, ObjectVersion, Store};

/// The most entries one listing page returns, whatever `max-keys` asks for.
pub const MAX_KEYS: usize = 1000;

/// Smallest and largest store batch one scan step asks for.
const MIN_BATCH: usize = 32;
const MAX_BATCH: usize = 1024;

// ---------------------------------------------------------------------------------------------
// Encoding helpers

/// Everything but the unreserved characters and `/` is percent-encoded (so `+` becomes `%2B` and
/// a space `%20`), as S3 encodes keys for `encoding-type=url`.
const URL_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes a key, prefix, delimiter or marker for an `encoding-type=url` response.
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE_SET).to_string()
}

/// Reads `encoding-type`: `Ok(true)` for `url`, `Ok(false)` when absent, InvalidArgument
/// otherwise.
pub fn parse_encoding_type(q: &Query) -> S3Result<bool> {
    match q.get("encoding-type") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("url") => Ok(true),
        Some(_) => Err(S3Error::invalid_argument(
            "Invalid Encoding Method specified in Request",
        )),
    }
}

/// Encodes a response value when `url` is set, else returns it as is.
fn encode_if(url: bool, s: &str) -> String {
    if url { url_encode(s) } else { s.to_string() }
}

/// Reads `max-keys`: absent means 1000; values above 1000 are capped; negative or non-integer
/// values (beyond a 32-bit integer too) are InvalidArgument. `versions` selects the message
/// ListObjectVersions uses for a negative value.
pub fn parse_max_keys(q: &Query, versions: bool) -> S3Result<usize> {
    let Some(raw) = q.get("max-keys") else {
        return Ok(MAX_KEYS);
    };
    let bad = |msg: &str| {
        S3Error::invalid_argument(msg)
            .with_detail("ArgumentName", "maxKeys")
            .with_detail("ArgumentValue", raw)
    };
    match raw.trim().parse::<i32>() {
        Ok(n) if n >= 0 => Ok((n as usize).min(MAX_KEYS)),
        Ok(_) if versions => Err(bad("max-keys cannot be negative")),
        _ => Err(bad(
            "Argument maxKeys must be an integer between 0 and 2147483647",
        )),
    }
}

/// The continuation token handed out for a page that ended at `last` (a key or common prefix).
pub fn encode_token(last: &str) -> String {
    let mut raw = Vec::with_capacity(last.len() + 1);
    raw.push(TOKEN_V1);
    raw.extend_from_slice(last.as_bytes());
    B64.encode(raw)
}

const TOKEN_V1: u8 = 1;

/// The key or common prefix inside a continuation token from [`encode_token`].
pub fn decode_token(token: &str) -> S3Result<String> {
    let bad = || S3Error::invalid_argument("The continuation token provided is incorrect");
    let raw = B64.decode(token.trim()).map_err(|_| bad())?;
    match raw.split_first() {
        Some((&TOKEN_V1, rest)) if !rest.is_empty() && !rest.contains(&0) && rest.len() <= 4096 => {
            String::from_utf8(rest.to_vec()).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// The smallest position after `s` and everything that starts with `s` (`s` with its last byte
/// incremented). `s` is UTF-8, so the last byte is never 0xFF.
pub fn prefix_successor(s: &str) -> Vec<u8> {
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

// ---------------------------------------------------------------------------------------------
// The listing engine

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

/// One page of a bucket's current objects (delete markers hidden).
pub fn list_current(
    store: &Store,
    bucket: &str,
    listing: &Listing<'_>,
    start: Cursor,
) -> S3Result<Page<CurrentEntry>> {
    let prefix = listing.prefix;
    let page = listing.run(
        start,
        |c, limit| match c {
            Cursor::From(from) => store.scan_current(bucket, prefix, from, limit),
            Cursor::After(k, _) => store.scan_current(bucket, prefix, &after_key(k), limit),
        },
        |_, e: &CurrentEntry| !e.is_delete_marker,
        |k, _| Cursor::From(after_key(k)),
    )?;
    Ok(page)
}

/// One page of a bucket's versions and delete markers, newest first per key, each with its
/// `IsLatest` flag (false for common prefixes).
pub fn list_versions(
    store: &Store,
    bucket: &str,
    listing: &Listing<'_>,
    start: Cursor,
) -> S3Result<(Page<ObjectVersion>, Vec<bool>)> {
    let prefix = listing.prefix;
    let page = listing.run(
        start.clone(),
        |c, limit| match c {
            Cursor::From(from) => store.scan_versions(bucket, prefix, from, None, limit),
            Cursor::After(k, v) => {
                store.scan_versions(bucket, prefix, b"", Some((k.as_str(), v.as_str())), limit)
            }
        },
        |_, _| true,
        |k, v: &ObjectVersion| Cursor::After(k.to_string(), v.version_id.clone()),
    )?;
    let latest = latest_flags(&start, &page.entries);
    Ok((page, latest))
}

// ---------------------------------------------------------------------------------------------
// Handlers

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn owner(w: &mut XmlWriter, id: &str) {
    w.open("Owner")
        .elem("ID", id)
        .elem("DisplayName", id)
        .close("Owner");
}

fn write_contents(w: &mut XmlWriter, key: &str, e: &CurrentEntry, owner_id: Option<&str>) {
    w.open("Contents")
        .elem("Key", key)
        .elem("LastModified", &iso8601(e.last_modified))
        .elem("ETag", &format!("\"{}\"", e.etag))
        .elem("Size", &e.size.to_string());
    if let Some(id) = owner_id {
        owner(w, id);
    }
    w.elem(
        "StorageClass",
        e.storage_class.as_deref().unwrap_or("STANDARD"),
    )
    .close("Contents");
}

fn write_prefixes<T>(w: &mut XmlWriter, page: &Page<T>, url: bool) {
    for p in page.prefixes() {
        w.open("CommonPrefixes")
            .elem("Prefix", &encode_if(url, p))
            .close("CommonPrefixes");
    }
}

pub async fn list_objects_v1(state: &S3State, req: S3Request) -> S3Result<S3Response> {
    let q = &req.query;
    let url = parse_encoding_type(q)?;
    let max = parse_max_keys(q, false)?;
    let prefix = q.get("prefix").unwrap_or("");
    let listing = Listing::new(prefix, q.get("delimiter"), max);
    let marker = q.get("marker").unwrap_or("");
    let page = list_current(
        &state.store,
        &req.bucket,
        &listing,
        listing.start_after(marker),
    )?;

    let enc = |s: &str| encode_if(url, s);
    let mut w = XmlWriter::new("ListBucketResult");
    w.elem("Name", &req.bucket)
        .elem("Prefix", &enc(prefix))
        .elem("Marker", &enc(marker));
    if page.is_truncated
        && listing.delimiter.is_some()
        && let Some(last) = page.last_name()
    {
        w.elem("NextMarker", &enc(last));
    }
    w.elem("MaxKeys", &max.to_string());
    if let Some(d) = listing.delimiter {
        w.elem("Delimiter", &enc(d));
    }
    if url {
        w.elem("EncodingType", "url");
    }
    w.elem("IsTruncated", bool_text(page.is_truncated));
    for (key, e) in page.items() {
        write_contents(&mut w, &enc(key), e, Some(&req.access_key));
    }
    write_prefixes(&mut w, &page, url);
    Ok(xml_response(w.finish("ListBucketResult")))
}

pub async fn list_objects_v2(state: &S3State, req: S3Request) -> S3Result<S3Response> {
    let q = &req.query;
    let url = parse_encoding_type(q)?;
    let max = parse_max_keys(q, false)?;
    let prefix = q.get("prefix").unwrap_or("");
    let listing = Listing::new(prefix, q.get("delimiter"), max);
    let token = q.get("continuation-token");
    let start_after = q.get("start-after").filter(|s| !s.is_empty());
    let start = match token {
        Some(t) => listing.start_after(&decode_token(t)?),
        None => listing.start_after(start_after.unwrap_or("")),
    };
    let fetch_owner = q
        .get("fetch-owner")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let page = list_current(&state.store, &req.bucket, &listing, start)?;

    let enc = |s: &str| encode_if(url, s);
    let mut w = XmlWriter::new("ListBucketResult");
    w.elem("Name", &req.bucket).elem("Prefix", &enc(prefix));
    if let Some(t) = token {
        w.elem("ContinuationToken", t);
    }
    if page.is_truncated
        && let Some(last) = page.last_name()
    {
        w.elem("NextContinuationToken", &encode_token(last));
    }
    if let Some(s) = start_after {
        w.elem("StartAfter", &enc(s));
    }
    w.elem("KeyCount", &page.entries.len().to_string())
        .elem("MaxKeys", &max.to_string());
    if let Some(d) = listing.delimiter {
        w.elem("Delimiter", &enc(d));
    }
    if url {
        w.elem("EncodingType", "url");
    }
    w.elem("IsTruncated", bool_text(page.is_truncated));
    let owner_id = fetch_owner.then_some(req.access_key.as_str());
    for (key, e) in page.items() {
        write_contents(&mut w, &enc(key), e, owner_id);
    }
    write_prefixes(&mut w, &page, url);
    Ok(xml_response(w.finish("ListBucketResult")))
}

/// Whether a client-supplied version id has a shape lakegate could have minted: `null` or 32 hex
/// digits (sequence number + random bits).
fn valid_version_id(vid: &str) -> bool {
    vid == "null" || (vid.len() == 32 && vid.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Where a version listing starts for `key-marker` / `version-id-marker`.
pub fn versions_start(
    listing: &Listing<'_>,
    key_marker: &str,
    version_marker: &str,
) -> S3Result<Cursor> {
    if key_marker.is_empty() {
        if !version_marker.is_empty() {
            return Err(S3Error::invalid_argument(
                "A version-id marker cannot be specified without a key marker.",
            ));
        }
        return Ok(Cursor::From(Vec::new()));
    }
    if version_marker.is_empty() || listing.common_prefix(key_marker).is_some() {
        return Ok(listing.start_after(key_marker));
    }
    if !valid_version_id(version_marker) {
        return Err(S3Error::invalid_argument("Invalid version id specified"));
    }
    Ok(Cursor::After(
        key_marker.to_string(),
        version_marker.to_string(),
    ))
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

pub async fn list_object_versions(state: &S3State, req: S3Request) -> S3Result<S3Response> {
    let q = &req.query;
    let url = parse_encoding_type(q)?;
    let max = parse_max_keys(q, true)?;
    let prefix = q.get("prefix").unwrap_or("");
    let listing = Listing::new(prefix, q.get("delimiter"), max);
    let key_marker = q.get("key-marker").unwrap_or("");
    let version_marker = q.get("version-id-marker").unwrap_or("");
    let start = versions_start(&listing, key_marker, version_marker)?;

    let (page, latest) = list_versions(&state.store, &req.bucket, &listing, start)?;

    let enc = |s: &str| encode_if(url, s);
    let mut w = XmlWriter::new("ListVersionsResult");
    w.elem("Name", &req.bucket)
        .elem("Prefix", &enc(prefix))
        .elem("KeyMarker", &enc(key_marker))
        .elem("VersionIdMarker", version_marker);
    if page.is_truncated {
        match page.entries.last() {
            Some(Entry::Item(k, v)) => {
                w.elem("NextKeyMarker", &enc(k))
                    .elem("NextVersionIdMarker", &v.version_id);
            }
            Some(Entry::Prefix(p)) => {
                w.elem("NextKeyMarker", &enc(p));
            }
            None => {}
        }
    }
    w.elem("MaxKeys", &max.to_string());
    if let Some(d) = listing.delimiter {
        w.elem("Delimiter", &enc(d));
    }
    if url {
        w.elem("EncodingType", "url");
    }
    w.elem("IsTruncated", bool_text(page.is_truncated));
    for (entry, is_latest) in page.entries.iter().zip(latest) {
        let Entry::Item(key, v) = entry else {
            continue;
        };
        let tag = if v.is_delete_marker {
            "DeleteMarker"
        } else {
            "Version"
        };
        w.open(tag)
            .elem("Key", &enc(key))
            .elem("VersionId", &v.version_id)
            .elem("IsLatest", bool_text(is_latest))
            .elem("LastModified", &iso8601(v.last_modified));
        if !v.is_delete_marker {
            w.elem("ETag", &format!("\"{}\"", v.etag))
                .elem("Size", &v.size.to_string())
                .elem(
                    "StorageClass",
                    v.meta.storage_class.as_deref().unwrap_or("STANDARD"),
                );
        }
        owner(&mut w, &req.access_key);
        w.close(tag);
    }
    write_prefixes(&mut w, &page, url);
    Ok(xml_response(w.finish("ListVersionsResult")))
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
            start = l.start_after(&decode_token(&encode_token(last)).unwrap());
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

    #[test]
    fn url_encoding_matches_s3() {
        assert_eq!(url_encode("foo+1/"), "foo%2B1/");
        assert_eq!(url_encode("quux ab/"), "quux%20ab/");
        assert_eq!(url_encode("a-b_c.d~e/f"), "a-b_c.d~e/f");
        assert_eq!(url_encode("é&=?%\n"), "%C3%A9%26%3D%3F%25%0A");
        let q = |s: &str| Query::parse(Some(s)).unwrap();
        assert!(parse_encoding_type(&q("encoding-type=url")).unwrap());
        assert!(!parse_encoding_type(&q("x=1")).unwrap());
        assert!(parse_encoding_type(&q("encoding-type=base64")).is_err());
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        for k in ["a", "logs/2024/", "é ü+/x"] {
            assert_eq!(decode_token(&encode_token(k)).unwrap(), k);
        }
        for bad in ["", "!!!", "AQ", "Ag", "AmFiYw", &B64.encode([1, 0x61, 0])] {
            let e = decode_token(bad).unwrap_err();
            assert_eq!(
                e.message, "The continuation token provided is incorrect",
                "{bad}"
            );
        }
    }

    #[test]
    fn max_keys_rules() {
        let q = |s: &str| Query::parse(Some(s)).unwrap();
        assert_eq!(parse_max_keys(&q(""), false).unwrap(), 1000);
        assert_eq!(parse_max_keys(&q("max-keys=0"), false).unwrap(), 0);
        assert_eq!(parse_max_keys(&q("max-keys=7"), false).unwrap(), 7);
        assert_eq!(parse_max_keys(&q("max-keys=5000"), false).unwrap(), 1000);
        assert_eq!(
            parse_max_keys(&q("max-keys=2147483647"), false).unwrap(),
            1000
        );
        for bad in [
            "max-keys=-1",
            "max-keys=blah",
            "max-keys=2147483648",
            "max-keys=",
        ] {
            assert!(parse_max_keys(&q(bad), false).is_err(), "{bad}");
        }
        assert_eq!(
            parse_max_keys(&q("max-keys=-1"), true).unwrap_err().message,
            "max-keys cannot be negative"
        );
    }

    #[test]
    fn version_markers() {
        let l = Listing::new("", Some("/"), 10);
        let vid = "0000000000000001aaaaaaaaaaaaaaaa";
        assert_eq!(
            versions_start(&l, "", "").unwrap(),
            Cursor::From(Vec::new())
        );
        assert!(versions_start(&l, "", vid).is_err());
        assert_eq!(
            versions_start(&l, "k", "").unwrap(),
            Cursor::From(after_key("k"))
        );
        assert_eq!(
            versions_start(&l, "k", vid).unwrap(),
            Cursor::After("k".into(), vid.into())
        );
        assert_eq!(
            versions_start(&l, "k", "null").unwrap(),
            Cursor::After("k".into(), "null".into())
        );
        assert!(versions_start(&l, "k", "bogus").is_err());
        assert_eq!(
            versions_start(&l, "d/k", vid).unwrap(),
            Cursor::From(b"d0".to_vec())
        );
    }

    /// An in-memory versions table: (key, version id), newest first per key.
    fn version_scan(
        rows: &[(String, String)],
        c: &Cursor,
        limit: usize,
    ) -> Result<Vec<(String, String)>, Infallible> {
        let start = match c {
            Cursor::From(f) => rows.iter().position(|(k, _)| k.as_bytes() >= f.as_slice()),
            Cursor::After(k, v) => match rows.iter().position(|(rk, rv)| rk == k && rv == v) {
                Some(i) => Some(i + 1),
                None => rows
                    .iter()
                    .position(|(rk, _)| rk.as_bytes() >= after_key(k).as_slice()),
            },
        }
        .unwrap_or(rows.len());
        Ok(rows[start..].iter().take(limit).cloned().collect())
    }

    #[test]
    fn version_pages_and_is_latest_across_pages() {
        // Version ids shaped like lakegate's (32 hex digits), tagged at the end for reading.
        let vid = |t: &str| format!("{t:0>32}");
        let rows: Vec<(String, String)> = [
            ("a", "a3"),
            ("a", "a2"),
            ("a", "a1"),
            ("b", "b1"),
            ("c/x", "c1"),
            ("c/y", "c2"),
            ("d", "d2"),
            ("d", "d1"),
        ]
        .iter()
        .map(|(k, t)| (k.to_string(), vid(t)))
        .collect();
        let l = Listing::new("", Some("/"), 2);
        let mut start = Cursor::From(Vec::new());
        let mut seen: Vec<(String, bool)> = Vec::new();
        loop {
            let page = l
                .run(
                    start.clone(),
                    |c, n| version_scan(&rows, c, n),
                    |_, _| true,
                    |k, v| Cursor::After(k.to_string(), v.clone()),
                )
                .unwrap();
            let flags = latest_flags(&start, &page.entries);
            for (e, f) in page.entries.iter().zip(flags) {
                match e {
                    Entry::Item(_, v) => seen.push((v.trim_start_matches('0').to_string(), f)),
                    Entry::Prefix(p) => seen.push((p.clone(), f)),
                }
            }
            if !page.is_truncated {
                break;
            }
            start = match page.entries.last() {
                Some(Entry::Item(k, v)) => versions_start(&l, k, v).unwrap(),
                Some(Entry::Prefix(p)) => versions_start(&l, p, "").unwrap(),
                None => panic!("truncated but empty"),
            };
        }
        let want = [
            ("a3", true),
            ("a2", false),
            ("a1", false),
            ("b1", true),
            ("c/", false),
            ("d2", true),
            ("d1", false),
        ];
        let got: Vec<(&str, bool)> = seen.iter().map(|(n, f)| (n.as_str(), *f)).collect();
        assert_eq!(got, want);
    }

    fn new_version(body: &str) -> crate::store::NewVersion {
        crate::store::NewVersion {
            data: crate::store::ObjectData::Inline(body.as_bytes().to_vec()),
            size: body.len() as u64,
            etag: format!("etag-{body}"),
            meta: Default::default(),
            checksum: None,
            parts: Vec::new(),
            tags: Vec::new(),
            retention: None,
            legal_hold: false,
        }
    }

    #[tokio::test]
    async fn against_a_real_store() {
        use crate::store::{StoreOptions, Versioning, WriteConditions};
        let dir = std::env::temp_dir().join(format!("lakegate-list-{}", uuid::Uuid::new_v4()));
        let store = Store::open(&dir, StoreOptions::default()).await.unwrap();
        store
            .create_bucket("bkt", "us-east-1", false, 1)
            .await
            .unwrap();
        store
            .update_bucket("bkt", |b| {
                b.versioning = Versioning::Enabled;
                Ok(())
            })
            .await
            .unwrap();
        for (i, k) in ["a/1", "a/2", "x", "x", "x", "y", "z"].iter().enumerate() {
            let v = new_version(&format!("{k}{i}"));
            store
                .put_version("bkt", k, v, WriteConditions::default(), 10 + i as i64)
                .await
                .unwrap();
        }
        store
            .delete_object("bkt", "y", None, false, 100)
            .await
            .unwrap();

        let l = Listing::new("", Some("/"), 1000);
        let p = list_current(&store, "bkt", &l, Cursor::From(Vec::new())).unwrap();
        assert_eq!(names(&p), ["a/", "x", "z"]);
        assert!(!p.is_truncated);
        let l = Listing::new("", None, 2);
        let p = list_current(&store, "bkt", &l, l.start_after("a/2")).unwrap();
        assert_eq!(names(&p), ["x", "z"]);
        assert!(!p.is_truncated);
        let err = list_current(&store, "nope", &l, Cursor::From(Vec::new())).unwrap_err();
        assert_eq!(err.code, crate::s3::error::S3ErrorCode::NoSuchBucket);

        // Versions, two per page, resumed with NextKeyMarker / NextVersionIdMarker.
        let l = Listing::new("", None, 2);
        let mut start = Cursor::From(Vec::new());
        let mut seen: Vec<(String, u64, bool, bool)> = Vec::new();
        loop {
            let (p, latest) = list_versions(&store, "bkt", &l, start).unwrap();
            for (e, f) in p.entries.iter().zip(latest) {
                if let Entry::Item(k, v) = e {
                    seen.push((k.clone(), v.size, f, v.is_delete_marker));
                }
            }
            if !p.is_truncated {
                break;
            }
            start = match p.entries.last() {
                Some(Entry::Item(k, v)) => versions_start(&l, k, &v.version_id).unwrap(),
                _ => panic!("expected a version"),
            };
        }
        let got: Vec<(&str, bool, bool)> = seen
            .iter()
            .map(|(k, _, f, d)| (k.as_str(), *f, *d))
            .collect();
        assert_eq!(
            got,
            [
                ("a/1", true, false),
                ("a/2", true, false),
                ("x", true, false),
                ("x", false, false),
                ("x", false, false),
                ("y", true, true),
                ("y", false, false),
                ("z", true, false),
            ]
        );
        // Newest first within a key.
        let xs: Vec<u64> = seen.iter().filter(|s| s.0 == "x").map(|s| s.1).collect();
        assert!(xs.windows(2).all(|w| w[0] >= w[1]));
        // key-marker alone skips every version of that key; with a delimiter, a prefix rolls up.
        let l = Listing::new("", Some("/"), 10);
        let (p, _) =
            list_versions(&store, "bkt", &l, versions_start(&l, "x", "").unwrap()).unwrap();
        assert_eq!(names(&p), ["y", "y", "z"]);
        let (p, latest) = list_versions(&store, "bkt", &l, Cursor::From(Vec::new())).unwrap();
        assert_eq!(names(&p)[0], "a/");
        assert!(!latest[0]);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
