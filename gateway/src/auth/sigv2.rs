//! SigV2 (legacy) header and presigned-query verification.
//!
//! Flow:
//! 1. Take the access key and signature from `Authorization: AWS AK:base64sig`, or from the
//!    `AWSAccessKeyId`, `Signature` and `Expires` query parameters of a presigned URL.
//! 2. Check the clock: header auth needs `x-amz-date` or `Date` within 15 minutes of the server
//!    clock ([`AuthError::RequestTimeTooSkewed`]); a presigned URL must not be past `Expires`
//!    ([`AuthError::PresignedExpired`]) nor valid for more than a week.
//! 3. Rebuild the string to sign:
//!    `METHOD\nContent-MD5\nContent-Type\nDate-or-Expires\n` + CanonicalizedAmzHeaders +
//!    CanonicalizedResource, where the amz headers are the lower-cased `x-amz-*` headers, sorted,
//!    `name:value\n` (repeated values comma-joined), and the resource is `/bucket/key` as sent on
//!    the wire (still percent-encoded; prefixed with `/bucket` for virtual-host-style requests)
//!    plus the S3 sub-resources present in the query, sorted, with their decoded values.
//! 4. HMAC-SHA1 it with the secret, base64, compare in constant time
//!    ([`AuthError::SignatureMismatch`]).
//!
//! SigV2 never covers the body: the payload check is always [`PayloadCheck::Unsigned`].

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::request::Parts;

use super::sigv4::MAX_PRESIGNED_EXPIRES;
use super::util::{
    MAX_CLOCK_SKEW, QueryParam, ct_eq, format_amz_date, parse_http_or_amz_date, query_value,
    time_distance, unix_secs,
};
use super::{AuthError, Authenticated, CredentialStore, PayloadCheck};

/// Query parameters that are part of the CanonicalizedResource when present: the sub-resources
/// AWS documents, plus the ones botocore (the main SigV2 client left) signs.
const SUB_RESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Verifies `Authorization: AWS AK:signature`.
pub fn verify_header(
    parts: &Parts,
    vhost_bucket: Option<&str>,
    authorization: &str,
    store: &CredentialStore,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let malformed = AuthError::MalformedSigV2Authorization;
    let rest = authorization
        .strip_prefix("AWS ")
        .ok_or_else(|| malformed.clone())?;
    let (access_key, signature) = rest
        .trim()
        .split_once(':')
        .ok_or_else(|| malformed.clone())?;
    if access_key.is_empty() || signature.is_empty() {
        return Err(malformed);
    }

    // The request time: x-amz-date wins over Date (and empties the Date line).
    let amz_date = parts.headers.get("x-amz-date");
    let date_header = parts.headers.get(http::header::DATE);
    let (time_value, date_line) = match (amz_date, date_header) {
        (Some(v), _) => (v.as_bytes(), Vec::new()),
        (None, Some(v)) => (v.as_bytes(), v.as_bytes().trim_ascii().to_vec()),
        (None, None) => return Err(AuthError::MissingDate),
    };
    let request_time = std::str::from_utf8(time_value)
        .ok()
        .and_then(parse_http_or_amz_date)
        .ok_or(AuthError::MissingDate)?;
    if time_distance(request_time, now) > MAX_CLOCK_SKEW {
        return Err(AuthError::RequestTimeTooSkewed {
            request_time: format_amz_date(request_time),
            server_time: format_amz_date(now),
            max_skew: MAX_CLOCK_SKEW,
        });
    }
    if parts.headers.contains_key("x-amz-security-token") {
        return Err(AuthError::SessionTokenNotSupported);
    }

    let query = super::util::parse_query(parts.uri.query());
    verify(
        parts,
        vhost_bucket,
        &query,
        &date_line,
        access_key,
        signature.trim(),
        store,
    )
}

/// Verifies a SigV2 presigned URL (`AWSAccessKeyId`, `Expires`, `Signature`).
pub(crate) fn verify_presigned(
    parts: &Parts,
    vhost_bucket: Option<&str>,
    query: &[QueryParam<'_>],
    store: &CredentialStore,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let get = |name: &str| -> Result<String, AuthError> {
        query_value(query, name)
            .map_err(|()| AuthError::DuplicateSigV2Parameter {
                name: name.to_string(),
            })?
            .ok_or(AuthError::IncompleteSigV2Query)
    };
    let access_key = get("AWSAccessKeyId")?;
    // Base64 never holds a space: a raw `+` some clients leave unencoded in the signature was
    // decoded as one, and means `+`. (The signature is never routed on, so this reading cannot
    // make one signature cover two requests.)
    let signature = get("Signature")?.replace(' ', "+");
    let expires_raw = get("Expires")?;
    let expires: u64 = expires_raw
        .parse()
        .map_err(|_| AuthError::InvalidSigV2Expires)?;
    if unix_secs(now) > expires {
        return Err(AuthError::PresignedExpired {
            lifetime_secs: None,
            expires: Some(expires.to_string()),
            server_time: format_amz_date(now),
        });
    }
    // The same 7-day ceiling as SigV4's X-Amz-Expires: a leaked URL must not work forever.
    if expires - unix_secs(now) > MAX_PRESIGNED_EXPIRES {
        return Err(AuthError::PresignedLifetimeTooLong {
            max_secs: MAX_PRESIGNED_EXPIRES,
            expires: expires.to_string(),
            server_time: format_amz_date(now),
        });
    }
    if query_value(query, "x-amz-security-token")
        .ok()
        .flatten()
        .is_some()
        || parts.headers.contains_key("x-amz-security-token")
    {
        return Err(AuthError::SessionTokenNotSupported);
    }
    verify(
        parts,
        vhost_bucket,
        query,
        expires_raw.as_bytes(),
        &access_key,
        &signature,
        store,
    )
}

fn verify(
    parts: &Parts,
    vhost_bucket: Option<&str>,
    query: &[QueryParam<'_>],
    date_line: &[u8],
    access_key: &str,
    signature: &str,
    store: &CredentialStore,
) -> Result<Authenticated, AuthError> {
    let creds = store
        .lookup(access_key)
        .ok_or_else(|| AuthError::UnknownAccessKey {
            access_key: access_key.to_string(),
        })?;
    let sts = string_to_sign(parts, vhost_bucket, query, date_line);
    let computed = sign(&creds.secret, &sts);
    // A path-style bucket request (`/bucket`) may be signed over the bucket's canonical
    // resource `/bucket/` (botocore does so for every bucket operation).
    let path = parts.uri.path();
    let bucket_only = vhost_bucket.is_none() && path.len() > 1 && !path[1..].contains('/');
    let matches = ct_eq(computed.as_bytes(), signature.as_bytes())
        || bucket_only && {
            let alt =
                string_to_sign_for(parts, vhost_bucket, &format!("{path}/"), query, date_line);
            ct_eq(sign(&creds.secret, &alt).as_bytes(), signature.as_bytes())
        };
    if !matches {
        let sts_text = String::from_utf8_lossy(&sts).into_owned();
        tracing::debug!(%access_key, string_to_sign = %sts_text, "SigV2 signature mismatch");
        return Err(AuthError::SignatureMismatch {
            access_key: access_key.to_string(),
            string_to_sign: sts_text,
            signature_provided: signature.to_string(),
            canonical_request: None,
        });
    }
    // Temporary credentials sign with SigV4 only (their token is refused above).
    super::check_session_token(&creds, None)?;
    Ok(Authenticated {
        access_key: access_key.to_string(),
        key: creds,
        payload: PayloadCheck::Unsigned,
        service: "s3",
    })
}

/// base64(HMAC-SHA1(secret, string_to_sign)).
pub(crate) fn sign(secret: &str, string_to_sign: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    BASE64.encode(ring::hmac::sign(&key, string_to_sign).as_ref())
}

/// Builds the SigV2 string to sign; `date_line` is the Date header (empty when `x-amz-date` is
/// used) or, for presigned URLs, `Expires`.
pub(crate) fn string_to_sign(
    parts: &Parts,
    vhost_bucket: Option<&str>,
    query: &[QueryParam<'_>],
    date_line: &[u8],
) -> Vec<u8> {
    string_to_sign_for(parts, vhost_bucket, parts.uri.path(), query, date_line)
}

/// [`string_to_sign`] with the request path `path`.
fn string_to_sign_for(
    parts: &Parts,
    vhost_bucket: Option<&str>,
    path: &str,
    query: &[QueryParam<'_>],
    date_line: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b'\n');
    for name in ["content-md5", "content-type"] {
        if let Some(v) = parts.headers.get(name) {
            out.extend_from_slice(v.as_bytes().trim_ascii());
        }
        out.push(b'\n');
    }
    out.extend_from_slice(date_line);
    out.push(b'\n');

    // CanonicalizedAmzHeaders.
    let mut amz: Vec<(&str, Vec<u8>)> = Vec::new();
    for name in parts.headers.keys() {
        // HeaderName is already lower-case.
        let name = name.as_str();
        if !name.starts_with("x-amz-") {
            continue;
        }
        let mut value = Vec::new();
        for (i, v) in parts.headers.get_all(name).iter().enumerate() {
            if i > 0 {
                value.push(b',');
            }
            value.extend_from_slice(v.as_bytes().trim_ascii());
        }
        amz.push((name, value));
    }
    amz.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in amz {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&value);
        out.push(b'\n');
    }

    // CanonicalizedResource.
    if let Some(bucket) = vhost_bucket {
        out.push(b'/');
        out.extend_from_slice(bucket.as_bytes());
    }
    if path.is_empty() {
        out.push(b'/');
    } else {
        out.extend_from_slice(path.as_bytes());
    }
    let mut subs: Vec<(String, Option<Vec<u8>>)> = query
        .iter()
        .filter_map(|q| {
            let name = q.decoded_name();
            SUB_RESOURCES
                .contains(&name.as_str())
                .then(|| (name, q.value.map(|_| q.decoded_value())))
        })
        .collect();
    // Stable sort by name only, like the clients.
    subs.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (name, value)) in subs.iter().enumerate() {
        out.push(if i == 0 { b'?' } else { b'&' });
        out.extend_from_slice(name.as_bytes());
        if let Some(v) = value {
            out.push(b'=');
            out.extend_from_slice(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credentials;
    use crate::auth::util::parse_query;
    use std::time::{Duration, UNIX_EPOCH};

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn store() -> CredentialStore {
        CredentialStore::new(Credentials {
            access_key: AK.into(),
            secret_key: SK.into(),
        })
    }

    fn date(s: &str) -> SystemTime {
        parse_http_or_amz_date(s).unwrap()
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn header_auth(
        p: &Parts,
        vhost: Option<&str>,
        now: SystemTime,
    ) -> Result<Authenticated, AuthError> {
        let auth = p.headers.get("authorization").unwrap().to_str().unwrap();
        verify_header(p, vhost, auth, &store(), now)
    }

    // The examples of the AWS "Signing and authenticating REST requests" (SigV2) page.

    #[test]
    fn aws_example_object_get() {
        let d = "Tue, 27 Mar 2007 19:36:42 +0000";
        let p = parts(
            "GET",
            "/photos/puppy.jpg",
            &[
                ("host", "johnsmith.s3.amazonaws.com"),
                ("date", d),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
                ),
            ],
        );
        let a = header_auth(&p, Some("johnsmith"), date(d)).unwrap();
        assert_eq!(a.access_key, AK);
        assert!(matches!(a.payload, PayloadCheck::Unsigned));
        // Path-style would sign another resource.
        assert_eq!(
            header_auth(&p, None, date(d)).unwrap_err().code(),
            "SignatureMismatch"
        );
    }

    #[test]
    fn aws_example_object_put() {
        let d = "Tue, 27 Mar 2007 21:15:45 +0000";
        let p = parts(
            "PUT",
            "/photos/puppy.jpg",
            &[
                ("content-type", "image/jpeg"),
                ("content-length", "94328"),
                ("host", "johnsmith.s3.amazonaws.com"),
                ("date", d),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg=",
                ),
            ],
        );
        header_auth(&p, Some("johnsmith"), date(d)).unwrap();
    }

    #[test]
    fn aws_example_list_and_acl() {
        let d = "Tue, 27 Mar 2007 19:42:41 +0000";
        let p = parts(
            "GET",
            "/?prefix=photos&max-keys=50&marker=puppy",
            &[
                ("user-agent", "Mozilla/5.0"),
                ("host", "johnsmith.s3.amazonaws.com"),
                ("date", d),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:htDYFYduRNen8P9ZfE/s9SuKy0U=",
                ),
            ],
        );
        header_auth(&p, Some("johnsmith"), date(d)).unwrap();

        let d = "Tue, 27 Mar 2007 19:44:46 +0000";
        let p = parts(
            "GET",
            "/?acl",
            &[
                ("host", "johnsmith.s3.amazonaws.com"),
                ("date", d),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:c2WLPFtWHVgbEmeEG93a4cG37dM=",
                ),
            ],
        );
        header_auth(&p, Some("johnsmith"), date(d)).unwrap();
    }

    #[test]
    fn aws_example_upload_with_amz_headers() {
        let d = "Tue, 27 Mar 2007 21:06:08 +0000";
        let p = parts(
            "PUT",
            "/db-backup.dat.gz",
            &[
                ("user-agent", "curl/7.15.5"),
                ("host", "static.johnsmith.net:8080"),
                ("date", d),
                ("x-amz-acl", "public-read"),
                ("content-type", "application/x-download"),
                ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
                ("X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"),
                ("X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"),
                ("X-Amz-Meta-FileChecksum", "0x02661779"),
                ("X-Amz-Meta-ChecksumAlgorithm", "crc32"),
                ("content-disposition", "attachment; filename=database.dat"),
                ("content-encoding", "gzip"),
                ("content-length", "5913339"),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:ilyl83RwaSoYIEdixDQcA4OnAnc=",
                ),
            ],
        );
        header_auth(&p, Some("static.johnsmith.net"), date(d)).unwrap();
    }

    #[test]
    fn aws_example_list_buckets_and_unicode_keys() {
        let d = "Wed, 28 Mar 2007 01:29:59 +0000";
        let p = parts(
            "GET",
            "/",
            &[
                ("host", "s3.amazonaws.com"),
                ("date", d),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:qGdzdERIC03wnaRNKh6OqZehG9s=",
                ),
            ],
        );
        header_auth(&p, None, date(d)).unwrap();

        // The path is signed exactly as sent, percent-encoding case included.
        let d = "Wed, 28 Mar 2007 01:49:49 +0000";
        let p = parts(
            "GET",
            "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
            &[
                ("host", "s3.amazonaws.com"),
                ("date", d),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:DNEZGsoieTZ92F3bUfSPQcbGmlM=",
                ),
            ],
        );
        header_auth(&p, None, date(d)).unwrap();
    }

    #[test]
    fn aws_example_presigned() {
        let uri = "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620";
        let p = parts("GET", uri, &[("host", "johnsmith.s3.amazonaws.com")]);
        let q = parse_query(p.uri.query());
        let before = UNIX_EPOCH + Duration::from_secs(1_175_139_000);
        let a = verify_presigned(&p, Some("johnsmith"), &q, &store(), before).unwrap();
        assert_eq!(a.access_key, AK);

        let after = UNIX_EPOCH + Duration::from_secs(1_175_139_621);
        let err = verify_presigned(&p, Some("johnsmith"), &q, &store(), after).unwrap_err();
        assert_eq!(err.code(), "PresignedExpired");
        assert_eq!(err.to_string(), "Request has expired");

        // A client that left the signature's `+` unencoded.
        let raw_plus = uri.replace("%2B", "+");
        let p4 = parts("GET", &raw_plus, &[("host", "johnsmith.s3.amazonaws.com")]);
        let q4 = parse_query(p4.uri.query());
        verify_presigned(&p4, Some("johnsmith"), &q4, &store(), before).unwrap();

        // More than 7 days ahead of the server clock.
        let long_before = UNIX_EPOCH + Duration::from_secs(1_175_139_620 - 604_801);
        let err = verify_presigned(&p, Some("johnsmith"), &q, &store(), long_before).unwrap_err();
        assert_eq!(err.code(), "PresignedLifetimeTooLong");
        assert!(
            err.to_string()
                .starts_with("Expires must be less than a week")
        );
        let just_in = UNIX_EPOCH + Duration::from_secs(1_175_139_620 - 604_800);
        verify_presigned(&p, Some("johnsmith"), &q, &store(), just_in).unwrap();

        // Tampered expiry.
        let p2 = parts(
            "GET",
            &uri.replace("1175139620", "1175139621"),
            &[("host", "johnsmith.s3.amazonaws.com")],
        );
        let q2 = parse_query(p2.uri.query());
        let err = verify_presigned(&p2, Some("johnsmith"), &q2, &store(), before).unwrap_err();
        assert_eq!(err.code(), "SignatureMismatch");

        // Missing parameter.
        let p3 = parts(
            "GET",
            "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620",
            &[],
        );
        let q3 = parse_query(p3.uri.query());
        let err = verify_presigned(&p3, Some("johnsmith"), &q3, &store(), before).unwrap_err();
        assert_eq!(err.code(), "IncompleteSigV2Query");
    }

    #[test]
    fn x_amz_date_empties_the_date_line_and_sub_resources_sort() {
        let amz_date = "Tue, 27 Mar 2007 21:20:26 +0000";
        let p = parts(
            "DELETE",
            "/johnsmith/photos/puppy.jpg?versionId=a%2Bb&uploads&acl&x-id=Nope",
            &[
                ("date", "ignored when x-amz-date is present"),
                ("x-amz-date", amz_date),
                ("x-amz-meta-b", " 2 "),
                ("x-amz-meta-a", "1"),
            ],
        );
        let q = parse_query(p.uri.query());
        let sts = string_to_sign(&p, None, &q, b"");
        assert_eq!(
            String::from_utf8(sts.clone()).unwrap(),
            "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\nx-amz-meta-a:1\n\
             x-amz-meta-b:2\n/johnsmith/photos/puppy.jpg?acl&uploads&versionId=a+b"
        );
        let sig = sign(SK, &sts);
        let mut p = p;
        p.headers.insert(
            "authorization",
            http::HeaderValue::from_str(&format!("AWS {AK}:{sig}")).unwrap(),
        );
        header_auth(&p, None, date(amz_date)).unwrap();
        // Skew is measured from x-amz-date.
        let err = header_auth(&p, None, date(amz_date) + Duration::from_secs(901)).unwrap_err();
        assert_eq!(err.code(), "RequestTimeTooSkewed");
    }

    #[test]
    fn a_bucket_request_may_be_signed_over_the_bucket_resource_with_a_slash() {
        let d = "Tue, 27 Mar 2007 21:20:26 +0000";
        let p = parts("PUT", "/johnsmith", &[("x-amz-date", d)]);
        // Signed as botocore does: over `/johnsmith/`.
        let sts = string_to_sign_for(&p, None, "/johnsmith/", &[], b"");
        let mut p = p;
        p.headers.insert(
            "authorization",
            http::HeaderValue::from_str(&format!("AWS {AK}:{}", sign(SK, &sts))).unwrap(),
        );
        header_auth(&p, None, date(d)).unwrap();
        // An object path gets no such second reading.
        let p = parts("PUT", "/johnsmith/k", &[("x-amz-date", d)]);
        let sts = string_to_sign_for(&p, None, "/johnsmith/k/", &[], b"");
        let mut p = p;
        p.headers.insert(
            "authorization",
            http::HeaderValue::from_str(&format!("AWS {AK}:{}", sign(SK, &sts))).unwrap(),
        );
        assert_eq!(
            header_auth(&p, None, date(d)).unwrap_err().code(),
            "SignatureMismatch"
        );
    }

    #[test]
    fn header_errors() {
        let d = "Tue, 27 Mar 2007 19:36:42 +0000";
        let mk = |auth: &str, with_date: bool| {
            let mut h = vec![
                ("host", "johnsmith.s3.amazonaws.com"),
                ("authorization", auth),
            ];
            if with_date {
                h.push(("date", d));
            }
            parts("GET", "/photos/puppy.jpg", &h)
        };
        let now = date(d);
        let cases = [
            (
                "AWS AKIAIOSFODNN7EXAMPLE",
                true,
                "MalformedSigV2Authorization",
            ),
            ("AWS :sig", true, "MalformedSigV2Authorization"),
            (
                "AWS NOPE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
                true,
                "UnknownAccessKey",
            ),
            (
                "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMV=",
                true,
                "SignatureMismatch",
            ),
            (
                "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
                false,
                "MissingDate",
            ),
        ];
        for (auth, with_date, code) in cases {
            let err = header_auth(&mk(auth, with_date), Some("johnsmith"), now).unwrap_err();
            assert_eq!(err.code(), code, "{auth}");
            assert!(!format!("{err:?}").contains(SK));
        }
        let p = mk(
            "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
            true,
        );
        let err =
            header_auth(&p, Some("johnsmith"), now + Duration::from_secs(16 * 60)).unwrap_err();
        assert_eq!(err.code(), "RequestTimeTooSkewed");
    }
}
