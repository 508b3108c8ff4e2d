//! GetObject and HeadObject: version selection, preconditions, Range and partNumber,
//! `response-*` overrides, and the streamed body.

use axum::body::Body;
use http::{HeaderMap, StatusCode};

use super::error::{S3Error, S3ErrorCode, S3Result};
use super::headers;
use super::{S3Api, S3Request, S3Response, response, set_header};
use crate::store::{BucketInfo, Store, VersionRecord, VersionRef, Versioning};

/// Which bytes of an object a request wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Parses a `Range` header against an object of `size` bytes.
///
/// `Ok(None)`: no (usable) range, serve the whole object. Multiple ranges and syntactically
/// invalid ranges are ignored, as RFC 7233 allows and S3 does; a syntactically valid range that
/// the object cannot satisfy is `InvalidRange`.
pub fn parse_range(value: &str, size: u64) -> S3Result<Option<ByteRange>> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let unsatisfiable = || {
        let mut e = S3Error::new(S3ErrorCode::InvalidRange)
            .with_detail("RangeRequested", value.to_string());
        set_header(&mut e.headers, "content-range", &format!("bytes */{size}"));
        e.details.push(("ActualObjectSize", size.to_string()));
        Err(e)
    };
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return Ok(None);
        };
        if n == 0 || size == 0 {
            return unsatisfiable();
        }
        let n = n.min(size);
        return Ok(Some(ByteRange {
            start: size - n,
            len: n,
        }));
    }
    let Ok(start) = a.parse::<u64>() else {
        return Ok(None);
    };
    let end = if b.is_empty() {
        None
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => Some(e),
            _ => return Ok(None),
        }
    };
    if start >= size {
        return unsatisfiable();
    }
    let end = end.unwrap_or(size - 1).min(size - 1);
    Ok(Some(ByteRange {
        start,
        len: end - start + 1,
    }))
}

/// The byte range of part `n` (1-based) of `v`.
pub fn part_range(v: &VersionRecord, n: u32) -> S3Result<ByteRange> {
    if v.parts.is_empty() {
        // A single-PUT object has exactly one part: itself.
        if n == 1 {
            return Ok(ByteRange {
                start: 0,
                len: v.size,
            });
        }
        return Err(S3Error::new(S3ErrorCode::InvalidPartNumber));
    }
    let idx = usize::try_from(n).unwrap_or(usize::MAX);
    if idx == 0 || idx > v.parts.len() {
        return Err(S3Error::new(S3ErrorCode::InvalidPartNumber));
    }
    let start: u64 = v.parts[..idx - 1].iter().map(|p| p.size).sum();
    Ok(ByteRange {
        start,
        len: v.parts[idx - 1].size,
    })
}

/// Parses `partNumber` (1..=10000).
pub fn part_number(q: &super::router::Query) -> S3Result<Option<u32>> {
    match q.get("partNumber") {
        None => Ok(None),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=10000).contains(&n) => Ok(Some(n)),
            _ => Err(S3Error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            )),
        },
    }
}

/// Reads the version a request addresses (`versionId` query).
pub fn resolve_version(store: &Store, req: &S3Request) -> S3Result<(BucketInfo, VersionRecord)> {
    let bucket = store.bucket(&req.bucket)?;
    let which = VersionRef::from_option(req.query.get("versionId"));
    let v = store.get_version(&req.bucket, &req.key, which)?;
    Ok((bucket, v))
}

const OVERRIDES: [(&str, &str); 6] = [
    ("response-content-type", "content-type"),
    ("response-content-language", "content-language"),
    ("response-expires", "expires"),
    ("response-cache-control", "cache-control"),
    ("response-content-disposition", "content-disposition"),
    ("response-content-encoding", "content-encoding"),
];

pub async fn get_object(state: &S3Api, req: S3Request, head: bool) -> S3Result<S3Response> {
    let (bucket, v) = resolve_version(&state.store, &req)?;
    let key = state.encryption.for_read(&req.headers, &v)?;
    headers::check_preconditions(&req.headers, "", &v)?;
    let part = part_number(&req.query)?;
    let range = match (part, req.header("range")) {
        (Some(_), Some(_)) => {
            return Err(S3Error::invalid_request(
                "Cannot specify both Range header and partNumber query parameter",
            ));
        }
        (Some(n), None) => Some(part_range(&v, n)?),
        (None, Some(r)) => parse_range(r, v.size)?,
        (None, None) => None,
    };
    let checksum_mode = req
        .header("x-amz-checksum-mode")
        .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"))
        && range.is_none();
    let (start, len) = range.map(|r| (r.start, r.len)).unwrap_or((0, v.size));
    let body = if head || len == 0 {
        Body::empty()
    } else {
        Body::from_stream(super::encryption::version_stream(
            &state.store,
            &v,
            key.as_ref(),
            start,
            len,
        ))
    };
    let status = if range.is_some() && (part.is_none() || !v.parts.is_empty()) {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut resp = response(status, body);
    let h: &mut HeaderMap = resp.headers_mut();
    headers::write_object_headers(
        h,
        &v,
        bucket.versioning != Versioning::Unversioned,
        checksum_mode,
    );
    set_header(h, "content-length", &len.to_string());
    super::encryption::response_headers(h, v.encryption.as_ref());
    if req.query.get("versionId").is_none()
        && let Some(facts) = crate::lifecycle::expiry::ObjectFacts::of(&req.key, &v)
    {
        state.set_expiration(&req.bucket, &facts, h);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let end = (start + len).saturating_sub(1);
        set_header(
            h,
            "content-range",
            &format!("bytes {start}-{end}/{}", v.size),
        );
    }
    // A part GET in checksum mode answers that part's checksum (a single-PUT object's only
    // part is the object itself).
    if let (Some(n), Some(c)) = (part, &v.checksum)
        && req
            .header("x-amz-checksum-mode")
            .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"))
    {
        let value = if v.parts.is_empty() {
            Some(c.value.as_str())
        } else {
            v.parts
                .get(n as usize - 1)
                .and_then(|p| p.checksum.as_deref())
        };
        if let Some(value) = value {
            set_header(h, c.algorithm.header(), value);
            set_header(h, "x-amz-checksum-type", c.kind.as_str());
        }
    }
    for (param, header) in OVERRIDES {
        if let Some(value) = req.query.get(param) {
            set_header(h, header, value);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |s: &str, size| parse_range(s, size);
        assert_eq!(
            r("bytes=0-9", 100).unwrap(),
            Some(ByteRange { start: 0, len: 10 })
        );
        assert_eq!(
            r("bytes=90-", 100).unwrap(),
            Some(ByteRange { start: 90, len: 10 })
        );
        assert_eq!(
            r("bytes=-10", 100).unwrap(),
            Some(ByteRange { start: 90, len: 10 })
        );
        assert_eq!(
            r("bytes=-500", 100).unwrap(),
            Some(ByteRange { start: 0, len: 100 })
        );
        assert_eq!(
            r("bytes=50-5000", 100).unwrap(),
            Some(ByteRange { start: 50, len: 50 })
        );
        assert_eq!(r("bytes=0-1,5-6", 100).unwrap(), None);
        assert_eq!(r("bytes=9-1", 100).unwrap(), None);
        assert_eq!(r("items=0-1", 100).unwrap(), None);
        assert_eq!(
            r("bytes=100-", 100).unwrap_err().code,
            S3ErrorCode::InvalidRange
        );
        assert_eq!(
            r("bytes=0-", 0).unwrap_err().code,
            S3ErrorCode::InvalidRange
        );
    }
}
