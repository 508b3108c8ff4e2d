//! HTTP headers of objects: reading metadata, tagging and lock headers from requests; writing an
//! object version's headers on responses; evaluating `If-*` preconditions.

use http::{HeaderMap, HeaderValue};
use percent_encoding::percent_decode_str;

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{http_date, parse_iso8601, validate_tags};
use crate::clock::{Fraction, iso8601};
use crate::store::{Millis, ObjectMeta, Retention, RetentionMode, VersionRecord};

/// User metadata may total at most 2 KiB (names and values), as on AWS.
const MAX_USER_METADATA: usize = 2048;

const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "OUTPOSTS",
    "SNOW",
    "EXPRESS_ONEZONE",
];

fn text(h: &HeaderMap, name: &str) -> S3Result<Option<String>> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) => Ok(Some(s.to_string())),
            // Non-ASCII header values: keep them if they are UTF-8 (RFC 8187 aside, clients send raw
            // UTF-8 in x-amz-meta-*); refuse anything else.
            Err(_) => String::from_utf8(v.as_bytes().to_vec())
                .map(Some)
                .map_err(|_| {
                    S3Error::invalid_argument(format!("Header {name} is not valid UTF-8"))
                }),
        },
    }
}

/// Refuses request headers that select features lakegate does not implement, rather than
/// accepting and ignoring them.
pub fn refuse_unimplemented(h: &HeaderMap) -> S3Result<()> {
    for name in [
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-context",
    ] {
        if h.contains_key(name) {
            return Err(S3Error::not_implemented(format!(
                "Server-side encryption ({name})"
            )));
        }
    }
    Ok(())
}

/// Object metadata from PutObject / CreateMultipartUpload / CopyObject(REPLACE) headers.
pub fn object_meta(h: &HeaderMap) -> S3Result<ObjectMeta> {
    let mut user = Vec::new();
    let mut total = 0usize;
    for (name, value) in h {
        if let Some(n) = name.as_str().strip_prefix("x-amz-meta-") {
            let v = match value.to_str() {
                Ok(s) => s.to_string(),
                Err(_) => String::from_utf8(value.as_bytes().to_vec())
                    .map_err(|_| S3Error::invalid_argument("User metadata is not valid UTF-8"))?,
            };
            total += n.len() + v.len();
            if let Some(existing) = user
                .iter_mut()
                .find(|(k, _): &&mut (String, String)| k == n)
            {
                existing.1.push(',');
                existing.1.push_str(&v);
            } else {
                user.push((n.to_string(), v));
            }
        }
    }
    if total > MAX_USER_METADATA {
        return Err(S3Error::with_message(
            S3ErrorCode::MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size.",
        ));
    }
    let storage_class = text(h, "x-amz-storage-class")?;
    if let Some(sc) = &storage_class
        && !STORAGE_CLASSES.contains(&sc.as_str())
    {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidStorageClass,
            "The storage class you specified is not valid",
        ));
    }
    Ok(ObjectMeta {
        content_type: text(h, "content-type")?,
        content_encoding: text(h, "content-encoding")?
            .map(|ce| {
                // aws-chunked is transfer framing, not a property of the object: dropped; any
                // other value is kept as sent.
                let chunked = |c: &str| c.trim().eq_ignore_ascii_case("aws-chunked");
                if !ce.split(',').any(chunked) {
                    return ce;
                }
                ce.split(',')
                    .map(str::trim)
                    .filter(|c| !chunked(c) && !c.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|ce| !ce.is_empty()),
        content_disposition: text(h, "content-disposition")?,
        content_language: text(h, "content-language")?,
        cache_control: text(h, "cache-control")?,
        expires: text(h, "expires")?,
        website_redirect: text(h, "x-amz-website-redirect-location")?,
        user,
        storage_class: storage_class.filter(|s| s != "STANDARD"),
    })
}

/// Tags from the `x-amz-tagging` header (`k1=v1&k2=v2`, URL-encoded).
pub fn tagging_header(h: &HeaderMap) -> S3Result<Vec<(String, String)>> {
    let Some(raw) = text(h, "x-amz-tagging")? else {
        return Ok(Vec::new());
    };
    let mut tags = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| S3Error::with_message(S3ErrorCode::InvalidTag, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."))
        };
        tags.push((dec(k)?, dec(v)?));
    }
    validate_tags(tags)
}

/// Object-lock headers: `x-amz-object-lock-mode` + `-retain-until-date` (both or neither) and
/// `x-amz-object-lock-legal-hold`.
pub fn lock_headers(h: &HeaderMap, now: Millis) -> S3Result<(Option<Retention>, bool)> {
    let mode = text(h, "x-amz-object-lock-mode")?;
    let until = text(h, "x-amz-object-lock-retain-until-date")?;
    let retention = match (mode, until) {
        (None, None) => None,
        (Some(m), Some(u)) => {
            let mode = RetentionMode::parse(&m)
                .ok_or_else(|| S3Error::invalid_argument("Unknown wormMode directive."))?;
            let retain_until = parse_iso8601(&u).ok_or_else(|| {
                S3Error::invalid_argument(
                    "The retain until date must be provided in ISO 8601 format",
                )
            })?;
            if retain_until <= now {
                return Err(S3Error::invalid_argument(
                    "The retain until date must be in the future!",
                ));
            }
            Some(Retention { mode, retain_until })
        }
        _ => {
            return Err(S3Error::invalid_argument(
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
            ));
        }
    };
    let legal_hold = match text(h, "x-amz-object-lock-legal-hold")?.as_deref() {
        None | Some("OFF") => false,
        Some("ON") => true,
        Some(_) => {
            return Err(S3Error::invalid_argument(
                "Legal Hold must be either of 'ON' or 'OFF'",
            ));
        }
    };
    Ok((retention, legal_hold))
}

/// Whether `x-amz-bypass-governance-retention: true` was sent.
pub fn bypass_governance(h: &HeaderMap) -> bool {
    h.get("x-amz-bypass-governance-retention")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Writes an object version's headers (everything but Content-Length/Range).
pub fn write_object_headers(
    out: &mut HeaderMap,
    v: &VersionRecord,
    versioned: bool,
    checksum_mode: bool,
) {
    let set = |out: &mut HeaderMap, name: &'static str, value: &str| {
        if let Ok(val) = HeaderValue::from_str(value) {
            out.insert(name, val);
        } else if let Ok(val) = HeaderValue::from_bytes(value.as_bytes()) {
            out.insert(name, val);
        }
    };
    set(out, "etag", &format!("\"{}\"", v.etag));
    set(out, "last-modified", &http_date(v.last_modified));
    set(
        out,
        "content-type",
        v.meta
            .content_type
            .as_deref()
            .unwrap_or("binary/octet-stream"),
    );
    if let Some(x) = &v.meta.content_encoding {
        set(out, "content-encoding", x);
    }
    if let Some(x) = &v.meta.content_disposition {
        set(out, "content-disposition", x);
    }
    if let Some(x) = &v.meta.content_language {
        set(out, "content-language", x);
    }
    if let Some(x) = &v.meta.cache_control {
        set(out, "cache-control", x);
    }
    if let Some(x) = &v.meta.expires {
        set(out, "expires", x);
    }
    if let Some(x) = &v.meta.website_redirect {
        set(out, "x-amz-website-redirect-location", x);
    }
    if let Some(x) = &v.meta.storage_class {
        set(out, "x-amz-storage-class", x);
    }
    for (k, val) in &v.meta.user {
        if let Ok(name) = http::HeaderName::from_bytes(format!("x-amz-meta-{k}").as_bytes())
            && let Ok(value) = HeaderValue::from_bytes(val.as_bytes())
        {
            out.append(name, value);
        }
    }
    if versioned {
        set(out, "x-amz-version-id", &v.version_id);
    }
    if !v.tags.is_empty() {
        set(out, "x-amz-tagging-count", &v.tags.len().to_string());
    }
    if let Some(r) = v.retention {
        set(out, "x-amz-object-lock-mode", r.mode.as_str());
        set(
            out,
            "x-amz-object-lock-retain-until-date",
            &iso8601(r.retain_until, Fraction::Millis),
        );
    }
    if v.legal_hold {
        set(out, "x-amz-object-lock-legal-hold", "ON");
    }
    if !v.parts.is_empty() {
        set(out, "x-amz-mp-parts-count", &v.parts.len().to_string());
    }
    if checksum_mode && let Some(c) = &v.checksum {
        set(out, c.algorithm.header(), &c.value);
        set(out, "x-amz-checksum-type", c.kind.as_str());
    }
}

/// Parses an HTTP date header (RFC 7231 formats).
fn http_time(s: &str) -> Option<Millis> {
    httpdate::parse_http_date(s.trim())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as Millis)
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.trim_start_matches("W/").trim_matches('"') == etag
    })
}

/// The four `If-*` conditions of a GET/HEAD (or, with `prefix = "x-amz-copy-source-"`, of a copy
/// source), evaluated per RFC 7232 / S3: If-Match and If-Unmodified-Since fail with 412;
/// If-None-Match and If-Modified-Since answer 304 (412 for copy sources).
pub fn check_preconditions(h: &HeaderMap, prefix: &str, v: &VersionRecord) -> S3Result<()> {
    let get = |name: &str| {
        h.get(format!("{prefix}{name}"))
            .and_then(|x| x.to_str().ok())
    };
    let copy = !prefix.is_empty();
    // Last-Modified has second precision.
    let modified = v.last_modified / 1000 * 1000;
    let if_match = get("if-match");
    let if_none_match = get("if-none-match");
    if let Some(m) = if_match
        && !etag_matches(m, &v.etag)
    {
        return Err(
            S3Error::new(S3ErrorCode::PreconditionFailed).with_detail("Condition", "If-Match")
        );
    }
    if if_match.is_none()
        && let Some(t) = get("if-unmodified-since").and_then(http_time)
        && modified > t
    {
        return Err(S3Error::new(S3ErrorCode::PreconditionFailed)
            .with_detail("Condition", "If-Unmodified-Since"));
    }
    let not_modified = || {
        if copy {
            S3Error::new(S3ErrorCode::PreconditionFailed)
        } else {
            let mut e = S3Error::new(S3ErrorCode::NotModified);
            if let Ok(val) = HeaderValue::from_str(&format!("\"{}\"", v.etag)) {
                e.headers.insert(http::header::ETAG, val);
            }
            if let Ok(val) = HeaderValue::from_str(&http_date(v.last_modified)) {
                e.headers.insert(http::header::LAST_MODIFIED, val);
            }
            e
        }
    };
    if let Some(m) = if_none_match
        && etag_matches(m, &v.etag)
    {
        return Err(not_modified());
    }
    if if_none_match.is_none()
        && let Some(t) = get("if-modified-since").and_then(http_time)
        && modified <= t
    {
        return Err(not_modified());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ObjectData;

    fn version(etag: &str, modified: Millis) -> VersionRecord {
        VersionRecord {
            version_id: "null".into(),
            seq: 1,
            is_delete_marker: false,
            last_modified: modified,
            size: 0,
            etag: etag.into(),
            data: ObjectData::empty(),
            meta: ObjectMeta::default(),
            checksum: None,
            parts: vec![],
            tags: vec![],
            retention: None,
            legal_hold: false,
            owner: None,
            acl: None,
            encryption: None,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn preconditions() {
        let v = version("abc", 1_000_000_000_000);
        assert!(check_preconditions(&headers(&[("if-match", "\"abc\"")]), "", &v).is_ok());
        let e = check_preconditions(&headers(&[("if-match", "\"zzz\"")]), "", &v).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::PreconditionFailed);
        let e = check_preconditions(&headers(&[("if-none-match", "\"abc\"")]), "", &v).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::NotModified);
        let e = check_preconditions(
            &headers(&[("x-amz-copy-source-if-none-match", "\"abc\"")]),
            "x-amz-copy-source-",
            &v,
        )
        .unwrap_err();
        assert_eq!(e.code, S3ErrorCode::PreconditionFailed);
        let later = http_date(2_000_000_000_000);
        let e =
            check_preconditions(&headers(&[("if-modified-since", &later)]), "", &v).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::NotModified);
        let earlier = http_date(500_000_000_000);
        let e = check_preconditions(&headers(&[("if-unmodified-since", &earlier)]), "", &v)
            .unwrap_err();
        assert_eq!(e.code, S3ErrorCode::PreconditionFailed);
        // If-Match true overrides If-Unmodified-Since false.
        assert!(
            check_preconditions(
                &headers(&[("if-match", "\"abc\""), ("if-unmodified-since", &earlier)]),
                "",
                &v
            )
            .is_ok()
        );
    }

    #[test]
    fn metadata_and_tags() {
        let h = headers(&[
            ("x-amz-meta-Color", "blue"),
            ("content-type", "text/plain"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-tagging", "a=1&b=x%20y"),
        ]);
        let m = object_meta(&h).unwrap();
        assert_eq!(m.user, vec![("color".to_string(), "blue".to_string())]);
        assert_eq!(m.content_encoding, None);
        assert_eq!(
            tagging_header(&h).unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "x y".into())]
        );
        let bad = headers(&[("x-amz-storage-class", "PLATINUM")]);
        assert_eq!(
            object_meta(&bad).unwrap_err().code,
            S3ErrorCode::InvalidStorageClass
        );
    }

    #[test]
    fn lock_header_rules() {
        let h = headers(&[("x-amz-object-lock-mode", "GOVERNANCE")]);
        assert!(lock_headers(&h, 0).is_err());
        let h = headers(&[
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            (
                "x-amz-object-lock-retain-until-date",
                "2099-01-01T00:00:00Z",
            ),
            ("x-amz-object-lock-legal-hold", "ON"),
        ]);
        let (r, hold) = lock_headers(&h, 0).unwrap();
        assert_eq!(r.unwrap().mode, RetentionMode::Governance);
        assert!(hold);
    }
}
