//! Listings: ListObjects (V1), ListObjectsV2 and ListObjectVersions — the S3 side: query
//! parsing (`prefix`, `delimiter`, `max-keys`, markers, continuation tokens, `encoding-type`) and
//! XML rendering. The pages themselves come from the store's listing engine
//! ([`crate::store::listing`]), which also states the marker rule: every entry returned sorts
//! strictly after the marker, and a marker inside a common prefix skips that whole prefix.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::error::{S3Error, S3Result};
use super::router::Query;
use super::xml::XmlWriter;
use super::{S3Api, S3Request, S3Response, xml_response};
use crate::clock::{Fraction, iso8601};
use crate::store::CurrentEntry;
use crate::store::listing::{Cursor, Entry, Listing, Page};

/// The most entries one listing page returns, whatever `max-keys` asks for.
pub const MAX_KEYS: usize = 1000;

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

// ---------------------------------------------------------------------------------------------
// Handlers

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// One `<Contents>`; `owner` is `(state, its owner's canonical id)` when the listing shows
/// owners.
fn write_contents(
    w: &mut XmlWriter,
    key: &str,
    e: &CurrentEntry,
    owner: Option<(&S3Api, Option<&str>)>,
) {
    w.open("Contents")
        .elem("Key", key)
        .elem("LastModified", &iso8601(e.last_modified, Fraction::Millis))
        .elem("ETag", &format!("\"{}\"", e.etag))
        .elem("Size", &e.size.to_string());
    if let Some((state, id)) = owner {
        state.write_owner(w, "Owner", id);
    }
    w.elem(
        "StorageClass",
        e.storage_class.as_deref().unwrap_or("STANDARD"),
    )
    .close("Contents");
}

/// The elements every listing answers after `MaxKeys`: `Delimiter`, `EncodingType`,
/// `IsTruncated`.
fn write_page_settings(w: &mut XmlWriter, listing: &Listing, url: bool, truncated: bool) {
    if let Some(d) = listing.delimiter {
        w.elem("Delimiter", &encode_if(url, d));
    }
    if url {
        w.elem("EncodingType", "url");
    }
    w.elem("IsTruncated", bool_text(truncated));
}

fn write_prefixes<T>(w: &mut XmlWriter, page: &Page<T>, url: bool) {
    for p in page.prefixes() {
        w.open("CommonPrefixes")
            .elem("Prefix", &encode_if(url, p))
            .close("CommonPrefixes");
    }
}

pub async fn list_objects_v1(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let q = &req.query;
    let url = parse_encoding_type(q)?;
    let max = parse_max_keys(q, false)?;
    let prefix = q.get("prefix").unwrap_or("");
    let listing = Listing::new(prefix, q.get("delimiter"), max);
    let marker = q.get("marker").unwrap_or("");
    let page = state
        .store
        .list_current(&req.bucket, &listing, listing.start_after(marker))?;

    let enc = |s: &str| encode_if(url, s);
    let mut w = XmlWriter::new("ListBucketResult");
    // ListObjects (v1) answers its Prefix as sent, even with `encoding-type=url` (AWS does;
    // the SDKs decode every other element of a v1 listing, but not this one).
    w.elem("Name", &req.bucket)
        .elem("Prefix", prefix)
        .elem("Marker", &enc(marker));
    if page.is_truncated
        && listing.delimiter.is_some()
        && let Some(last) = page.last_name()
    {
        w.elem("NextMarker", &enc(last));
    }
    w.elem("MaxKeys", &max.to_string());
    write_page_settings(&mut w, &listing, url, page.is_truncated);
    for (key, e) in page.items() {
        write_contents(&mut w, &enc(key), e, Some((state, None)));
    }
    write_prefixes(&mut w, &page, url);
    Ok(xml_response(w.finish("ListBucketResult")))
}

pub async fn list_objects_v2(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let q = &req.query;
    let url = parse_encoding_type(q)?;
    let max = parse_max_keys(q, false)?;
    let prefix = q.get("prefix").unwrap_or("");
    let listing = Listing::new(prefix, q.get("delimiter"), max);
    let token = q.get("continuation-token");
    let start_after = q.get("start-after").filter(|s| !s.is_empty());
    // An empty token lists from the start (and is echoed back), as AWS does.
    let start = match token {
        Some(t) if !t.is_empty() => listing.start_after(&decode_token(t)?),
        _ => listing.start_after(start_after.unwrap_or("")),
    };
    let fetch_owner = q
        .get("fetch-owner")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let page = state.store.list_current(&req.bucket, &listing, start)?;

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
    write_page_settings(&mut w, &listing, url, page.is_truncated);
    let owner = fetch_owner.then_some((state, None));
    for (key, e) in page.items() {
        write_contents(&mut w, &enc(key), e, owner);
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

pub async fn list_object_versions(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let q = &req.query;
    let url = parse_encoding_type(q)?;
    let max = parse_max_keys(q, true)?;
    let prefix = q.get("prefix").unwrap_or("");
    let listing = Listing::new(prefix, q.get("delimiter"), max);
    let key_marker = q.get("key-marker").unwrap_or("");
    let version_marker = q.get("version-id-marker").unwrap_or("");
    let start = versions_start(&listing, key_marker, version_marker)?;

    let (page, latest) = state.store.list_versions(&req.bucket, &listing, start)?;

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
    write_page_settings(&mut w, &listing, url, page.is_truncated);
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
            .elem("LastModified", &iso8601(v.last_modified, Fraction::Millis));
        if !v.is_delete_marker {
            w.elem("ETag", &format!("\"{}\"", v.etag))
                .elem("Size", &v.size.to_string())
                .elem(
                    "StorageClass",
                    v.meta.storage_class.as_deref().unwrap_or("STANDARD"),
                );
        }
        state.write_owner(&mut w, "Owner", v.owner.as_deref());
        w.close(tag);
    }
    write_prefixes(&mut w, &page, url);
    Ok(xml_response(w.finish("ListVersionsResult")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::listing::{after_key, latest_flags};
    use std::convert::Infallible;

    fn names<T>(p: &Page<T>) -> Vec<&str> {
        p.entries.iter().map(Entry::name).collect()
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
            owner: None,
            acl: None,
            encryption: None,
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
            .delete_object("bkt", crate::store::DeleteTarget::key("y"), false, 100)
            .await
            .unwrap();

        let l = Listing::new("", Some("/"), 1000);
        let p = store
            .list_current("bkt", &l, Cursor::From(Vec::new()))
            .unwrap();
        assert_eq!(names(&p), ["a/", "x", "z"]);
        assert!(!p.is_truncated);
        let l = Listing::new("", None, 2);
        let p = store.list_current("bkt", &l, l.start_after("a/2")).unwrap();
        assert_eq!(names(&p), ["x", "z"]);
        assert!(!p.is_truncated);
        let err = S3Error::from(
            store
                .list_current("nope", &l, Cursor::From(Vec::new()))
                .unwrap_err(),
        );
        assert_eq!(err.code, crate::s3::error::S3ErrorCode::NoSuchBucket);

        // Versions, two per page, resumed with NextKeyMarker / NextVersionIdMarker.
        let l = Listing::new("", None, 2);
        let mut start = Cursor::From(Vec::new());
        let mut seen: Vec<(String, u64, bool, bool)> = Vec::new();
        loop {
            let (p, latest) = store.list_versions("bkt", &l, start).unwrap();
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
        let (p, _) = store
            .list_versions("bkt", &l, versions_start(&l, "x", "").unwrap())
            .unwrap();
        assert_eq!(names(&p), ["y", "y", "z"]);
        let (p, latest) = store
            .list_versions("bkt", &l, Cursor::From(Vec::new()))
            .unwrap();
        assert_eq!(names(&p)[0], "a/");
        assert!(!latest[0]);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
