//! Request authentication (`auth::authenticate`): SigV4 header and presigned query, SigV2 header
//! and presigned query, with the canonicalisation of method, path, query and headers behind
//! them, on requests built from fuzzer-chosen method, path, query, headers and auth parameters
//! (or a raw `Authorization` header).
//!
//! Checked beyond "no panic" (a round trip through the canonical request): when a request fails
//! with `SignatureDoesNotMatch`, the signature computed from the string to sign the gateway
//! reports, put in the request's signature slot, must make the same request verify; for SigV4,
//! the reported string to sign must hash the reported canonical request, and a streaming
//! payload's seed signature must be the request's signature.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use lakegate::auth::{CredentialStore, Credentials, PayloadCheck, authenticate};
use lakegate::s3::error::S3ErrorCode;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
/// 2013-05-24T00:00:00Z.
const T0: u64 = 1_369_353_600;
const AMZ_DATE: &str = "20130524T000000Z";
const HTTP_DATE: &str = "Fri, 24 May 2013 00:00:00 GMT";

#[derive(Debug, Arbitrary)]
enum Method {
    Get,
    Put,
    Post,
    Delete,
    Head,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum Name {
    ContentType,
    ContentMd5,
    Date,
    Range,
    XAmzMeta(String),
    XAmzCopySource,
    XAmzTagging,
    XAmzSecurityToken,
    XAmzDate,
    XAmzContentSha256,
    Other(String),
}

impl Name {
    fn name(&self) -> String {
        match self {
            Name::ContentType => "content-type".into(),
            Name::ContentMd5 => "content-md5".into(),
            Name::Date => "date".into(),
            Name::Range => "range".into(),
            Name::XAmzMeta(n) => format!("x-amz-meta-{n}"),
            Name::XAmzCopySource => "x-amz-copy-source".into(),
            Name::XAmzTagging => "x-amz-tagging".into(),
            Name::XAmzSecurityToken => "x-amz-security-token".into(),
            Name::XAmzDate => "x-amz-date".into(),
            Name::XAmzContentSha256 => "x-amz-content-sha256".into(),
            Name::Other(n) => n.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Payload {
    Unsigned,
    Streaming,
    StreamingTrailer,
    StreamingUnsignedTrailer,
    Hash([u8; 32]),
    Raw(String),
}

impl Payload {
    fn value(&self) -> String {
        match self {
            Payload::Unsigned => "UNSIGNED-PAYLOAD".into(),
            Payload::Streaming => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into(),
            Payload::StreamingTrailer => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER".into(),
            Payload::StreamingUnsignedTrailer => "STREAMING-UNSIGNED-PAYLOAD-TRAILER".into(),
            Payload::Hash(h) => hex::encode(h),
            Payload::Raw(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Scheme {
    /// No signature at all.
    Anonymous,
    /// `Authorization: AWS4-HMAC-SHA256 ...`.
    V4Header {
        payload: Payload,
        /// Sign these request headers too (indices into the headers).
        extra_signed: Vec<u8>,
        /// Use `Date` instead of `x-amz-date`.
        date_header: bool,
        /// Replace the credential (otherwise `AK/20130524/us-east-1/s3/aws4_request`).
        credential: Option<String>,
    },
    /// `X-Amz-Algorithm=AWS4-HMAC-SHA256&...`.
    V4Query {
        payload: Option<Payload>,
        extra_signed: Vec<u8>,
        expires: u32,
        credential: Option<String>,
    },
    /// `Authorization: AWS AK:signature`.
    V2Header { amz_date: bool },
    /// `AWSAccessKeyId=AK&Expires=...&Signature=...`.
    V2Query { expires_in: u32 },
    /// Whatever `Authorization` header the fuzzer makes.
    Raw(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: Method,
    path: String,
    /// Raw query parameters (`name[=value]`), before the auth parameters.
    query: Vec<(String, Option<String>)>,
    headers: Vec<(Name, Vec<u8>)>,
    host: Option<String>,
    /// Treat the first label of the host as a virtual-host bucket.
    vhost: bool,
    scheme: Scheme,
    /// The signature the request carries on its first try.
    signature: String,
    /// Server clock relative to the request time, in seconds.
    skew: i16,
}

fn store() -> CredentialStore {
    CredentialStore::new(Credentials {
        access_key: AK.into(),
        secret_key: SK.into(),
    })
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// Builds the request with `signature` in its signature slot; `None` if it is not a valid HTTP
/// request (invalid URI or header).
fn render(input: &Input, signature: &str) -> Option<http::request::Parts> {
    let method = match &input.method {
        Method::Get => http::Method::GET,
        Method::Put => http::Method::PUT,
        Method::Post => http::Method::POST,
        Method::Delete => http::Method::DELETE,
        Method::Head => http::Method::HEAD,
        Method::Other(m) => http::Method::from_bytes(m.as_bytes()).ok()?,
    };
    let mut headers = http::HeaderMap::new();
    for (name, value) in &input.headers {
        let name = HeaderName::from_bytes(name.name().as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_bytes(value).ok()?);
    }
    if let Some(h) = &input.host {
        headers.insert(http::header::HOST, HeaderValue::from_str(h).ok()?);
    }
    let mut query: Vec<String> = input
        .query
        .iter()
        .map(|(n, v)| match v {
            Some(v) => format!("{n}={v}"),
            None => n.clone(),
        })
        .collect();

    let signed_list = |headers: &http::HeaderMap, extra: &[u8]| {
        let mut names: Vec<String> = vec!["host".into()];
        for n in headers.keys() {
            if n.as_str().starts_with("x-amz-") {
                names.push(n.as_str().to_string());
            }
        }
        for i in extra {
            if let Some((n, _)) = headers.iter().nth(usize::from(*i) % headers.len().max(1)) {
                names.push(n.as_str().to_string());
            }
        }
        names.sort();
        names.dedup();
        names.join(";")
    };
    let default_credential = format!("{AK}/20130524/{REGION}/s3/aws4_request");
    match &input.scheme {
        Scheme::Anonymous => {}
        Scheme::V4Header {
            payload,
            extra_signed,
            date_header,
            credential,
        } => {
            headers.insert(
                "x-amz-content-sha256",
                HeaderValue::from_str(&payload.value()).ok()?,
            );
            if *date_header {
                headers.insert(http::header::DATE, HeaderValue::from_static(HTTP_DATE));
            } else {
                headers.insert("x-amz-date", HeaderValue::from_static(AMZ_DATE));
            }
            let credential = credential.as_deref().unwrap_or(&default_credential);
            let auth = format!(
                "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={}, Signature={signature}",
                signed_list(&headers, extra_signed)
            );
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&auth).ok()?,
            );
        }
        Scheme::V4Query {
            payload,
            extra_signed,
            expires,
            credential,
        } => {
            let credential = credential.as_deref().unwrap_or(&default_credential);
            query.push("X-Amz-Algorithm=AWS4-HMAC-SHA256".into());
            query.push(format!("X-Amz-Credential={}", enc(credential)));
            query.push(format!("X-Amz-Date={AMZ_DATE}"));
            query.push(format!("X-Amz-Expires={expires}"));
            query.push(format!(
                "X-Amz-SignedHeaders={}",
                enc(&signed_list(&headers, extra_signed))
            ));
            if let Some(p) = payload {
                query.push(format!("X-Amz-Content-Sha256={}", enc(&p.value())));
            }
            query.push(format!("X-Amz-Signature={}", enc(signature)));
        }
        Scheme::V2Header { amz_date } => {
            if *amz_date {
                headers.insert("x-amz-date", HeaderValue::from_static(HTTP_DATE));
            } else {
                headers.insert(http::header::DATE, HeaderValue::from_static(HTTP_DATE));
            }
            let auth = format!("AWS {AK}:{signature}");
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&auth).ok()?,
            );
        }
        Scheme::V2Query { expires_in } => {
            query.push(format!("AWSAccessKeyId={AK}"));
            query.push(format!("Expires={}", T0 + u64::from(*expires_in)));
            query.push(format!("Signature={}", enc(signature)));
        }
        Scheme::Raw(auth) => {
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(auth).ok()?,
            );
        }
    }
    let path = if input.path.starts_with('/') {
        input.path.clone()
    } else {
        format!("/{}", input.path)
    };
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    let uri = http::Uri::try_from(uri).ok()?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    *builder.headers_mut()? = headers;
    Some(builder.body(()).ok()?.into_parts().0)
}

fn hmac(alg: ring::hmac::Algorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(alg, key), msg)
        .as_ref()
        .to_vec()
}

/// The SigV4 signature of a string to sign, for the date and region of the default credential.
fn sign_v4(sts: &str) -> String {
    let h = ring::hmac::HMAC_SHA256;
    let k = hmac(h, format!("AWS4{SK}").as_bytes(), b"20130524");
    let k = hmac(h, &k, REGION.as_bytes());
    let k = hmac(h, &k, b"s3");
    let k = hmac(h, &k, b"aws4_request");
    hex::encode(hmac(h, &k, sts.as_bytes()))
}

fn sign_v2(sts: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        SK.as_bytes(),
        sts.as_bytes(),
    ))
}

fn detail<'a>(e: &'a lakegate::s3::error::S3Error, name: &str) -> Option<&'a str> {
    e.details
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

fn run(input: Input) {
    let Some(parts) = render(&input, &input.signature) else {
        return;
    };
    let vhost = input
        .host
        .as_deref()
        .filter(|_| input.vhost)
        .and_then(|h| h.split('.').next());
    let now = if input.skew >= 0 {
        UNIX_EPOCH + Duration::from_secs(T0 + input.skew.unsigned_abs() as u64)
    } else {
        UNIX_EPOCH + Duration::from_secs(T0 - input.skew.unsigned_abs() as u64)
    };
    let now: SystemTime = now;
    let store = store();
    let first = authenticate(&parts, vhost, &store, REGION, now);
    let Err(e) = first else {
        return;
    };
    if e.code != S3ErrorCode::SignatureDoesNotMatch {
        return;
    }
    let Some(sts) = detail(&e, "StringToSign") else {
        panic!("SignatureDoesNotMatch without the string to sign");
    };
    let v4 = matches!(
        input.scheme,
        Scheme::V4Header { .. } | Scheme::V4Query { .. }
    ) || matches!(&input.scheme, Scheme::Raw(a) if a.starts_with("AWS4"));
    let right = if v4 {
        let canonical =
            detail(&e, "CanonicalRequest").expect("SigV4 mismatch without the canonical request");
        // Lossy UTF-8 in the report (non-UTF-8 header bytes) cannot be hashed back.
        if !canonical.contains('\u{fffd}') {
            let hash = hex::encode(ring::digest::digest(
                &ring::digest::SHA256,
                canonical.as_bytes(),
            ));
            assert_eq!(
                sts.rsplit('\n').next(),
                Some(hash.as_str()),
                "string to sign does not hash the canonical request"
            );
        }
        // Only the default credential's scope is signed here.
        if !sts.contains(&format!("\n20130524/{REGION}/s3/aws4_request\n")) {
            return;
        }
        sign_v4(sts)
    } else {
        if sts.contains('\u{fffd}') {
            return;
        }
        sign_v2(sts)
    };
    if matches!(input.scheme, Scheme::Raw(_) | Scheme::Anonymous) {
        return;
    }
    let Some(parts) = render(&input, &right) else {
        panic!("the request with the computed signature does not render");
    };
    match authenticate(&parts, vhost, &store, REGION, now) {
        Ok(a) => {
            assert_eq!(a.access_key, AK);
            if let PayloadCheck::StreamingSigned { seed_signature, .. } = &a.payload {
                assert_eq!(
                    *seed_signature, right,
                    "seed signature is not the request's"
                );
            }
        }
        Err(e2) => panic!(
            "signing the reported string to sign does not verify: {:?} {}\nstring to sign: {sts:?}",
            e2.code, e2.message
        ),
    }
}

fuzz_target!(|input: Input| run(input));
