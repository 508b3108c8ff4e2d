//! Small helpers shared by the SigV2 and SigV4 verifiers: query parsing, S3's URI encoding,
//! timestamps, hashing and constant-time comparison.
//!
//! Everything here works on bytes rather than `str` where the input comes from the wire: paths,
//! query strings and header values may carry percent-encoded or obs-text bytes that are not UTF-8,
//! and signatures are computed over those bytes exactly.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use subtle::ConstantTimeEq;

/// Bytes S3 leaves unencoded in canonical query strings: `A-Za-z0-9-._~`.
const S3_QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Canonical URI paths additionally leave `/` alone.
const S3_PATH_SET: &AsciiSet = &S3_QUERY_SET.remove(b'/');

/// Hex SHA-256 of the empty string.
pub(crate) const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How far a request's timestamp may be from the server clock.
pub(crate) const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// URI-encodes `bytes` the way S3 canonicalises them: everything but `A-Za-z0-9-._~` (and `/` when
/// `keep_slash`) becomes `%XX` with upper-case hex.
pub(crate) fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let set = if keep_slash {
        S3_PATH_SET
    } else {
        S3_QUERY_SET
    };
    percent_encoding::percent_encode(bytes, set).to_string()
}

/// Decodes `%XX` escapes only (`+` stays `+`), as paths are decoded; invalid escapes are kept
/// verbatim.
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
}

/// Decodes one query-string name or value: `%XX` escapes, and `+` as a space, as AWS does.
///
/// This is the only query decoding in lakegate: signature checks and the S3 router both use it,
/// so one signature never covers two readings of a query (`prefix=pub+` is `pub `, and only
/// `prefix=pub%2B` is `pub+`).
pub fn decode_query_component(s: &str) -> Vec<u8> {
    if !s.contains('+') {
        return percent_decode(s);
    }
    percent_decode(&s.replace('+', "%20"))
}

/// One `name[=value]` pair of a query string, raw as it appeared on the wire.
#[derive(Debug, Clone)]
pub(crate) struct QueryParam<'a> {
    pub name: &'a str,
    /// `None` when the parameter had no `=`.
    pub value: Option<&'a str>,
}

impl QueryParam<'_> {
    /// The name, decoded (as UTF-8, lossily: parameter names we act on are ASCII).
    pub fn decoded_name(&self) -> String {
        String::from_utf8_lossy(&self.decoded_name_bytes()).into_owned()
    }

    /// The name, decoded ([`decode_query_component`]).
    pub fn decoded_name_bytes(&self) -> Vec<u8> {
        decode_query_component(self.name)
    }

    /// The value, decoded ([`decode_query_component`]); empty when there was none.
    pub fn decoded_value(&self) -> Vec<u8> {
        self.value.map(decode_query_component).unwrap_or_default()
    }
}

/// Splits a raw query string into its parameters (empty segments skipped).
pub(crate) fn parse_query(query: Option<&str>) -> Vec<QueryParam<'_>> {
    let Some(query) = query else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.split_once('=') {
            Some((name, value)) => QueryParam {
                name,
                value: Some(value),
            },
            None => QueryParam {
                name: seg,
                value: None,
            },
        })
        .collect()
}

/// The decoded value of the query parameter whose decoded name is exactly `name`.
///
/// `Err(())` when the parameter appears more than once (ambiguous for authentication).
pub(crate) fn query_value(params: &[QueryParam<'_>], name: &str) -> Result<Option<String>, ()> {
    let mut found = None;
    for p in params {
        if p.decoded_name() == name {
            if found.is_some() {
                return Err(());
            }
            found = Some(String::from_utf8_lossy(&p.decoded_value()).into_owned());
        }
    }
    Ok(found)
}

/// Whether a parameter with this decoded name is present.
pub(crate) fn query_has(params: &[QueryParam<'_>], name: &str) -> bool {
    params.iter().any(|p| p.decoded_name() == name)
}

/// Constant-time equality (time depends only on the lengths).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

/// Parses an ISO 8601 basic timestamp, `YYYYMMDDTHHMMSSZ`.
pub(crate) fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit);
    if !shape_ok {
        return None;
    }
    let dt = chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").ok()?;
    unix_secs_to_system_time(dt.and_utc().timestamp())
}

/// Parses a `YYYYMMDD` date as midnight UTC.
pub(crate) fn parse_scope_date(s: &str) -> Option<SystemTime> {
    if s.len() != 8 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y%m%d").ok()?;
    unix_secs_to_system_time(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

/// Parses an HTTP date (RFC 1123 and the two legacy forms), falling back to ISO 8601 basic.
pub(crate) fn parse_http_or_amz_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    httpdate::parse_http_date(s)
        .ok()
        .or_else(|| parse_amz_date(s))
        .or_else(|| {
            // RFC 2822 with a numeric zone (`Tue, 27 Mar 2007 19:36:42 +0000`), which httpdate
            // does not take but SigV2 clients (and the AWS examples) send.
            let dt = chrono::DateTime::parse_from_rfc2822(s).ok()?;
            unix_secs_to_system_time(dt.timestamp())
        })
        .or_else(|| {
            // An IMF-fixdate whose weekday does not match the date (`Tue, 07 Jul 2010 ...`,
            // a Wednesday): a well-formed time that is simply wrong, which must be answered as
            // too skewed rather than as a missing date. The weekday is ignored.
            let rest = s.split_once(", ").map_or(s, |(_, r)| r);
            let dt = chrono::NaiveDateTime::parse_from_str(rest, "%d %b %Y %H:%M:%S GMT").ok()?;
            unix_secs_to_system_time(dt.and_utc().timestamp())
        })
}

/// Formats a time as ISO 8601 basic, `YYYYMMDDTHHMMSSZ`.
pub(crate) fn format_amz_date(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y%m%dT%H%M%SZ").to_string()
}

pub(crate) fn unix_secs_to_system_time(secs: i64) -> Option<SystemTime> {
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Seconds since the Unix epoch (0 before it).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The absolute distance between two instants.
pub(crate) fn time_distance(a: SystemTime, b: SystemTime) -> Duration {
    match a.duration_since(b) {
        Ok(d) => d,
        Err(e) => e.duration(),
    }
}

/// Trims spaces at both ends and collapses inner runs of spaces into one (S3 trims spaces only).
pub(crate) fn trim_collapse_spaces(value: &[u8], out: &mut Vec<u8>) {
    let start = value.iter().position(|&c| c != b' ');
    let Some(start) = start else {
        return;
    };
    let end = value
        .iter()
        .rposition(|&c| c != b' ')
        .map_or(start, |e| e + 1);
    let mut prev_space = false;
    for &c in &value[start..end] {
        if c == b' ' {
            if !prev_space {
                out.push(b' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_with_the_wrong_weekday_is_still_a_date() {
        // 7 Jul 2010 was a Wednesday: the time is read (then found too skewed), not refused.
        let t = parse_http_or_amz_date("Tue, 07 Jul 2010 21:53:04 GMT").unwrap();
        assert_eq!(unix_secs(t), 1_278_539_584);
        assert!(parse_http_or_amz_date("Tue, 07 Jul 2010 25:53:04 GMT").is_none());
        assert!(parse_http_or_amz_date("yesterday").is_none());
    }

    #[test]
    fn uri_encode_follows_s3_rules() {
        assert_eq!(uri_encode(b"/a b/c~d.e-f_g/", true), "/a%20b/c~d.e-f_g/");
        assert_eq!(uri_encode(b"a/b+c=d", false), "a%2Fb%2Bc%3Dd");
        assert_eq!(uri_encode("é".as_bytes(), true), "%C3%A9");
    }

    #[test]
    fn paths_keep_plus_queries_decode_it_as_space() {
        assert_eq!(percent_decode("a+b%20c%2x"), b"a+b c%2x");
        assert_eq!(decode_query_component("a+b%2B"), b"a b+");
        let q = parse_query(Some("prefix=pub+&x=pub%2B"));
        assert_eq!(q[0].decoded_value(), b"pub ");
        assert_eq!(q[1].decoded_value(), b"pub+");
    }

    #[test]
    fn query_parsing() {
        let q = parse_query(Some("a=1&b&&c=x%3Dy&a=2"));
        assert_eq!(q.len(), 4);
        assert_eq!(q[1].value, None);
        assert_eq!(q[2].decoded_value(), b"x=y");
        assert!(query_value(&q, "a").is_err());
        assert_eq!(query_value(&q, "c"), Ok(Some("x=y".to_string())));
        assert_eq!(query_value(&q, "z"), Ok(None));
    }

    #[test]
    fn dates() {
        let t = parse_amz_date("20130524T000000Z").unwrap();
        assert_eq!(unix_secs(t), 1_369_353_600);
        assert_eq!(format_amz_date(t), "20130524T000000Z");
        assert_eq!(parse_scope_date("20130524"), Some(t));
        assert!(parse_amz_date("2013-05-24T00:00:00Z").is_none());
        assert!(parse_amz_date("20131324T000000Z").is_none());
        assert!(parse_amz_date("+0130524T000000Z").is_none());
        assert_eq!(
            parse_http_or_amz_date("Fri, 24 May 2013 00:00:00 GMT"),
            Some(t)
        );
        assert_eq!(
            parse_http_or_amz_date("Fri, 24 May 2013 00:00:00 +0000"),
            Some(t)
        );
    }

    #[test]
    fn header_value_whitespace() {
        let mut out = Vec::new();
        trim_collapse_spaces(b"  a   b c  ", &mut out);
        assert_eq!(out, b"a b c");
        out.clear();
        trim_collapse_spaces(b"   ", &mut out);
        assert!(out.is_empty());
    }
}
