//! Authentication: who sent a request, and how its body must be verified.
//!
//! - [`sigv4`]: AWS Signature Version 4 in the `Authorization` header and in presigned URLs.
//! - [`sigv2`]: legacy Signature Version 2 (header and presigned query), still used by the AWS CLI v1
//!   to presign.
//! - [`body`]: the request body as handlers see it: aws-chunked decoded, chunk signatures, trailers
//!   and `x-amz-content-sha256` verified while it streams.
//! - [`credentials`]: the credential store.
//! - [`error`]: [`AuthError`], every way authentication or body verification fails. It names the
//!   failure, not an answer: the S3 API maps it to S3 error codes, another API may render it its
//!   own way.
//!
//! Every signature comparison is constant-time; secrets never reach a log line.

pub mod body;
pub mod credentials;
pub mod error;
pub mod post;
pub mod presign;
pub mod sigv2;
pub mod sigv4;
mod util;

#[cfg(test)]
mod sdk_tests;

use std::time::SystemTime;

pub use body::RequestBody;
pub use credentials::{CredentialStore, Credentials};
pub use error::{AuthError, SignatureLocation};
pub use util::decode_query_component;
pub(crate) use util::uri_encode;

/// How the request body is covered by the signature; decides what [`RequestBody`] verifies.
#[derive(Clone)]
pub enum PayloadCheck {
    /// The body is not covered by a signature (`UNSIGNED-PAYLOAD`, presigned URLs, SigV2).
    Unsigned,
    /// The whole body must hash (SHA-256) to this value (`x-amz-content-sha256: <hex>`).
    Sha256([u8; 32]),
    /// `aws-chunked` body, every chunk signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, and with
    /// `trailer` the `...-PAYLOAD-TRAILER` variant whose trailer is signed too).
    StreamingSigned {
        signing_key: Vec<u8>,
        /// `x-amz-date` of the request (`YYYYMMDDTHHMMSSZ`).
        amz_date: String,
        /// Credential scope, `YYYYMMDD/region/s3/aws4_request`.
        scope: String,
        /// The request's own signature: the first chunk chains from it.
        seed_signature: String,
        trailer: bool,
    },
    /// `aws-chunked` body without chunk signatures, with trailing headers
    /// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
    StreamingUnsignedTrailer,
}

impl std::fmt::Debug for PayloadCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        match self {
            PayloadCheck::Unsigned => f.write_str("Unsigned"),
            PayloadCheck::Sha256(_) => f.write_str("Sha256"),
            PayloadCheck::StreamingSigned { trailer, .. } => {
                write!(f, "StreamingSigned {{ trailer: {trailer} }}")
            }
            PayloadCheck::StreamingUnsignedTrailer => f.write_str("StreamingUnsignedTrailer"),
        }
    }
}

/// A request whose signature checked out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The access key that signed the request.
    pub access_key: String,
    /// That key, with whose permissions it signs.
    pub key: std::sync::Arc<crate::iam::SigningKey>,
    /// What the body must satisfy.
    pub payload: PayloadCheck,
    /// The service the signature is scoped to: `s3`, or `sts` ([`authenticate_sts`]).
    pub service: &'static str,
}

/// A temporary key (STS) signs only together with its session token, and only it may send one
/// (compared in constant time through its SHA-256).
pub(crate) fn check_session_token(
    key: &crate::iam::SigningKey,
    sent: Option<&str>,
) -> Result<(), AuthError> {
    match (&key.session_token_sha256, sent) {
        (None, None) => Ok(()),
        (Some(expected), Some(token)) => {
            let digest = util::sha256(token.as_bytes());
            if util::ct_eq(&digest, expected) {
                Ok(())
            } else {
                Err(AuthError::InvalidToken)
            }
        }
        _ => Err(AuthError::InvalidToken),
    }
}

/// The `region` argument of [`authenticate`] that takes a SigV4 scope naming any region (MinIO's
/// admin clients sign with an empty one).
pub const ANY_REGION: &str = "";

/// The access key a request claims to be signed with (SigV4 or SigV2, header or query), for
/// logs and the audit trail; nothing is verified here.
pub fn claimed_access_key(headers: &http::HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(rest) = auth.split("Credential=").nth(1) {
            return rest.split('/').next().map(str::to_string);
        }
        if let Some(rest) = auth.strip_prefix("AWS ") {
            return rest.split(':').next().map(str::to_string);
        }
    }
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        let v = String::from_utf8(decode_query_component(v)).ok()?;
        match k {
            "X-Amz-Credential" => v.split('/').next().map(str::to_string),
            "AWSAccessKeyId" => Some(v),
            _ => None,
        }
    })
}

/// Verifies the request's signature (SigV4 header or query, SigV2 header or query).
///
/// `vhost_bucket` is the bucket taken from the `Host` header for virtual-host-style requests
/// (SigV2 signs `/bucket/key` even then). `region` is the server's region: a SigV4 scope naming
/// another one is refused. `now` is the server's clock, used for `RequestTimeTooSkewed`
/// (15 minutes) and presigned-URL expiry.
///
/// Every `x-amz-*` header must be covered by the signature (SigV4 `SignedHeaders`; SigV2 signs
/// all of them by construction).
///
/// Anonymous requests (no signature at all) are refused ([`AuthError::Anonymous`]).
pub fn authenticate(
    parts: &http::request::Parts,
    vhost_bucket: Option<&str>,
    store: &CredentialStore,
    region: &str,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let a = authenticate_any(parts, vhost_bucket, store, region, now)?;
    if a.service != "s3" {
        return Err(wrong_service(a.service, "s3"));
    }
    Ok(a)
}

/// [`authenticate`] for STS requests: the SigV4 scope names the service `sts`.
pub fn authenticate_sts(
    parts: &http::request::Parts,
    store: &CredentialStore,
    region: &str,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let a = authenticate_any(parts, None, store, region, now)?;
    if a.service != sigv4::STS_SERVICE {
        return Err(wrong_service(a.service, sigv4::STS_SERVICE));
    }
    Ok(a)
}

fn wrong_service(signed: &str, expected: &str) -> AuthError {
    AuthError::Malformed {
        location: SignatureLocation::Header,
        reason: format!(
            "The authorization header is malformed; incorrect service \"{signed}\". This endpoint belongs to \"{expected}\"."
        ),
    }
}

fn authenticate_any(
    parts: &http::request::Parts,
    vhost_bucket: Option<&str>,
    store: &CredentialStore,
    region: &str,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let query = util::parse_query(parts.uri.query());
    let v4_query = util::query_has(&query, "X-Amz-Algorithm");
    let v2_query =
        util::query_has(&query, "AWSAccessKeyId") || util::query_has(&query, "Signature");

    let mut authorization = parts.headers.get_all(http::header::AUTHORIZATION).iter();
    if let Some(value) = authorization.next() {
        if authorization.next().is_some() {
            return Err(AuthError::MultipleAuthorizationHeaders);
        }
        if v4_query || v2_query {
            return Err(AuthError::MultipleAuthMechanisms { with_header: true });
        }
        let value = value.to_str().map_err(|_| AuthError::Malformed {
            location: SignatureLocation::Header,
            reason: "The authorization header is malformed.".into(),
        })?;
        return if value.starts_with("AWS4-HMAC-SHA256 ") {
            sigv4::verify_header(parts, value, store, region, now)
        } else if value.starts_with("AWS ") {
            sigv2::verify_header(parts, vhost_bucket, value, store, now)
        } else if value.starts_with(sigv4::SIGV4A_ALGORITHM) {
            Err(AuthError::SigV4aNotImplemented)
        } else if value.trim().is_empty() {
            Err(AuthError::Malformed {
                location: SignatureLocation::Header,
                reason: "The authorization header is malformed; it is empty.".into(),
            })
        } else {
            Err(AuthError::UnsupportedAuthorizationType)
        };
    }

    if v4_query && v2_query {
        return Err(AuthError::MultipleAuthMechanisms { with_header: false });
    }
    if v4_query {
        return sigv4::verify_presigned(parts, &query, store, region, now);
    }
    if v2_query {
        return sigv2::verify_presigned(parts, vhost_bucket, &query, store, now);
    }
    Err(AuthError::Anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// 2013-05-24T00:00:00Z.
    const T0: u64 = 1_369_353_600;

    fn store() -> CredentialStore {
        CredentialStore::new(Credentials {
            access_key: AK.into(),
            secret_key: SK.into(),
        })
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn code(r: Result<Authenticated, AuthError>) -> &'static str {
        r.unwrap_err().code()
    }

    // The following requests were signed by botocore (Python SDK) at 2013-05-24T00:00:00Z (the
    // SigV2 presigned URL through a real client with `signature_version="s3"`, virtual-host
    // addressing).

    #[test]
    fn botocore_sigv4_header_odd_key_and_query() {
        let p = parts(
            "PUT",
            "/bucket/dir/a%20b%2Bc%3Dd%26e/%C3%A9~%21%27%28%29%2A.txt?prefix=a%20b%2Bc&list-type=2&tagging",
            &[
                ("host", "localhost:9000"),
                ("content-type", "text/plain"),
                ("x-amz-meta-foo", "  bar   baz "),
                ("x-amz-date", "20130524T000000Z"),
                (
                    "x-amz-content-sha256",
                    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
                ),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-west-2/s3/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-foo, Signature=7e48be95e12ebbacf3022879ecb2655fb8e42f0d0c1f33a4e33f5cc0fdc017b5",
                ),
                ("content-length", "5"),
            ],
        );
        let a = authenticate(&p, None, &store(), "us-west-2", at(T0 + 5)).unwrap();
        assert_eq!(a.access_key, AK);
        assert!(matches!(a.payload, PayloadCheck::Sha256(_)));
        // The same request with the HTTP/2 authority instead of a Host header.
        let mut p2 = parts(
            "PUT",
            "http://localhost:9000/bucket/dir/a%20b%2Bc%3Dd%26e/%C3%A9~%21%27%28%29%2A.txt?prefix=a%20b%2Bc&list-type=2&tagging",
            &[],
        );
        p2.headers = p.headers.clone();
        p2.headers.remove("host");
        authenticate(&p2, None, &store(), "us-west-2", at(T0 + 5)).unwrap();
    }

    #[test]
    fn botocore_sigv4_presigned() {
        let uri = "/bucket/dir/a%20b%2Bc.txt?versionId=x%2By&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=5d68b05d0eb12a3f6e8bc5ce6c0565c89bde493c227f8f0ac620dedb42aa818a";
        let p = parts("GET", uri, &[("host", "localhost:9000")]);
        let a = authenticate(&p, None, &store(), "us-east-1", at(T0 + 3600)).unwrap();
        assert!(matches!(a.payload, PayloadCheck::Unsigned));
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", at(T0 + 3601))),
            "PresignedExpired"
        );
    }

    #[test]
    fn botocore_sigv2_presigned_virtual_host() {
        let uri = "/dir/a%20b%2Bc.txt?versionId=x%2By&response-content-type=text%2Fplain&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=QA6C78rwT7ytkB%2FLikfBYQk4iak%3D&Expires=1369357200";
        let p = parts("GET", uri, &[("host", "bucket.localhost:9000")]);
        let a = authenticate(&p, Some("bucket"), &store(), "us-east-1", at(T0)).unwrap();
        assert_eq!(a.access_key, AK);
        assert!(matches!(a.payload, PayloadCheck::Unsigned));
        assert_eq!(
            code(authenticate(
                &p,
                Some("bucket"),
                &store(),
                "us-east-1",
                at(1_369_357_201)
            )),
            "PresignedExpired"
        );
    }

    #[test]
    fn botocore_sigv2_header_sub_resources() {
        let p = parts(
            "PUT",
            "/bucket/dir/a%20b%2Bc.txt?uploadId=abc&partNumber=2",
            &[
                ("host", "localhost:9000"),
                ("content-type", "text/plain"),
                ("x-amz-meta-z", "1"),
                ("X-Amz-Meta-A", "2"),
                ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                (
                    "authorization",
                    "AWS AKIAIOSFODNN7EXAMPLE:cZF4581ISuc5N2g5N2OBG5A8ACE=",
                ),
            ],
        );
        authenticate(&p, None, &store(), "us-east-1", at(T0 + 60)).unwrap();
    }

    #[test]
    fn dispatch_errors() {
        let now = at(T0);
        // Anonymous.
        let p = parts("GET", "/bucket/key", &[("host", "h")]);
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", now)),
            "Anonymous"
        );
        // Unknown schemes.
        for auth in [
            "Bearer abc",
            "Basic dXNlcjpwYXNz",
            "AWS4-HMAC-SHA512 Credential=x",
        ] {
            let p = parts("GET", "/bucket/key", &[("authorization", auth)]);
            assert_eq!(
                code(authenticate(&p, None, &store(), "us-east-1", now)),
                "UnsupportedAuthorizationType",
                "{auth}"
            );
        }
        let p = parts("GET", "/bucket/key", &[("authorization", "")]);
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", now)),
            "Malformed"
        );
        // SigV4a.
        let p = parts(
            "GET",
            "/bucket/key",
            &[("authorization", "AWS4-ECDSA-P256-SHA256 Credential=x")],
        );
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", now)),
            "SigV4aNotImplemented"
        );
        // Two mechanisms at once.
        let p = parts(
            "GET",
            "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256",
            &[("authorization", "AWS AK:sig")],
        );
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", now)),
            "MultipleAuthMechanisms"
        );
        let p = parts(
            "GET",
            "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&AWSAccessKeyId=AK",
            &[],
        );
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", now)),
            "MultipleAuthMechanisms"
        );
        // Two Authorization headers.
        let p = parts(
            "GET",
            "/bucket/key",
            &[
                ("authorization", "AWS AK:sig"),
                ("authorization", "AWS AK:sig"),
            ],
        );
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", now)),
            "MultipleAuthorizationHeaders"
        );
        // Incomplete presigned queries.
        let p = parts("GET", "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256", &[]);
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", now)),
            "Malformed"
        );
        let p = parts("GET", "/bucket/key?Signature=abc", &[]);
        assert_eq!(
            code(authenticate(&p, None, &store(), "us-east-1", now)),
            "IncompleteSigV2Query"
        );
    }
}
