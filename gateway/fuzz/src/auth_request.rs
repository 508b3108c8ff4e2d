//! Request authentication (`auth::authenticate`): SigV4 header and presigned query, SigV2 header
//! and presigned query, and the canonicalisation of method, path, query and headers behind them.
//!
//! Input: one flag byte (bit 0: the first label of `Host` is a virtual-host bucket; the other
//! bits move the server clock around the request time), then a request as text:
//! `METHOD URI` on the first line, then `name: value` header lines (`\n` or `\r\n`). The seeds
//! are real requests signed by AWS SDKs at 2013-05-24T00:00:00Z.
//!
//! Checked beyond "no panic" (a round trip through the canonical request): when a request fails
//! with `SignatureDoesNotMatch`, the signature computed from the string to sign the gateway
//! reports, put in the request's signature slot, must make the same request verify; for SigV4,
//! the reported string to sign must hash the reported canonical request, and a streaming
//! payload's seed signature must be the request's signature.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use lakegate::auth::{CredentialStore, Credentials, PayloadCheck, authenticate};
use lakegate::s3::error::{S3Error, S3ErrorCode};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
/// 2013-05-24T00:00:00Z.
const T0: u64 = 1_369_353_600;

/// A request as the fuzzer wrote it.
#[derive(Clone)]
struct Request {
    method: String,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
}

fn parse(text: &[u8]) -> Option<Request> {
    let mut lines = text
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = std::str::from_utf8(lines.next()?).ok()?;
    let (method, uri) = first.split_once(' ')?;
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let colon = line.iter().position(|&c| c == b':')?;
        let name = std::str::from_utf8(&line[..colon]).ok()?.trim().to_string();
        let value = line[colon + 1..].trim_ascii_start().to_vec();
        headers.push((name, value));
    }
    Some(Request {
        method: method.to_string(),
        uri: uri.to_string(),
        headers,
    })
}

fn to_parts(r: &Request) -> Option<http::request::Parts> {
    // A request target never carries a fragment (`http::Uri` would drop it silently).
    if r.uri.contains('#') {
        return None;
    }
    let mut b = http::Request::builder()
        .method(http::Method::from_bytes(r.method.as_bytes()).ok()?)
        .uri(http::Uri::try_from(r.uri.as_str()).ok()?);
    let headers = b.headers_mut()?;
    for (n, v) in &r.headers {
        headers.append(
            HeaderName::from_bytes(n.as_bytes()).ok()?,
            HeaderValue::from_bytes(v).ok()?,
        );
    }
    Some(b.body(()).ok()?.into_parts().0)
}

/// Puts `signature` in the request's signature slot, where the gateway reads it from.
fn resign(r: &Request, signature: &str) -> Option<Request> {
    let mut r = r.clone();
    let auth = r
        .headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"));
    if let Some((_, value)) = auth {
        let v = String::from_utf8(value.clone()).ok()?;
        let new = if let Some(rest) = v.strip_prefix("AWS4-HMAC-SHA256 ") {
            let components: Vec<String> = rest
                .split(',')
                .map(|c| match c.split_once('=') {
                    Some((k, _)) if k.trim() == "Signature" => format!("{k}={signature}"),
                    _ => c.to_string(),
                })
                .collect();
            format!("AWS4-HMAC-SHA256 {}", components.join(","))
        } else if let Some(rest) = v.strip_prefix("AWS ") {
            let (ak, _) = rest.trim().split_once(':')?;
            format!("AWS {ak}:{signature}")
        } else {
            return None;
        };
        *value = new.into_bytes();
        return Some(r);
    }
    let (path, query) = r.uri.split_once('?')?;
    let v4 = query
        .split('&')
        .any(|seg| decoded_name(seg) == "X-Amz-Algorithm");
    let slot = if v4 { "X-Amz-Signature" } else { "Signature" };
    let query: Vec<String> = query
        .split('&')
        .map(|seg| {
            if decoded_name(seg) == slot {
                format!(
                    "{slot}={}",
                    utf8_percent_encode(signature, NON_ALPHANUMERIC)
                )
            } else {
                seg.to_string()
            }
        })
        .collect();
    r.uri = format!("{path}?{}", query.join("&"));
    Some(r)
}

fn decoded_name(seg: &str) -> String {
    let name = seg
        .split_once('=')
        .map_or(seg, |(n, _)| n)
        .replace('+', " ");
    percent_decode_str(&name).decode_utf8_lossy().into_owned()
}

fn hmac(alg: ring::hmac::Algorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(alg, key), msg)
        .as_ref()
        .to_vec()
}

/// The SigV4 signature of a string to sign, with the key of the scope it names.
fn sign_v4(sts: &str) -> Option<String> {
    let scope = sts.split('\n').nth(2)?;
    let mut it = scope.split('/');
    let (date, region, service, terminator) = (it.next()?, it.next()?, it.next()?, it.next()?);
    let h = ring::hmac::HMAC_SHA256;
    let k = hmac(h, format!("AWS4{SK}").as_bytes(), date.as_bytes());
    let k = hmac(h, &k, region.as_bytes());
    let k = hmac(h, &k, service.as_bytes());
    let k = hmac(h, &k, terminator.as_bytes());
    Some(hex::encode(hmac(h, &k, sts.as_bytes())))
}

fn sign_v2(sts: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        SK.as_bytes(),
        sts.as_bytes(),
    ))
}

fn detail<'a>(e: &'a S3Error, name: &str) -> Option<&'a str> {
    e.details
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// Runs one input (what libFuzzer hands the `auth_request` binary).
pub fn run(data: &[u8]) {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let Some(request) = parse(text) else {
        return;
    };
    let Some(parts) = to_parts(&request) else {
        return;
    };
    let store = CredentialStore::new(Credentials {
        access_key: AK.into(),
        secret_key: SK.into(),
    });
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let vhost = host
        .as_deref()
        .filter(|_| flags & 1 == 1)
        .and_then(|h| h.split('.').next());
    // -16 minutes .. +16 minutes and a bit, around the signing time.
    let now = UNIX_EPOCH
        + Duration::from_secs(T0 - 960)
        + Duration::from_secs(u64::from(flags >> 1) * 16);

    let Err(e) = authenticate(&parts, vhost, &store, REGION, now) else {
        return;
    };
    // The S3 answer, which carries the string to sign and canonical request clients see.
    let e = S3Error::from(e);
    if e.code != S3ErrorCode::SignatureDoesNotMatch {
        return;
    }
    let sts = detail(&e, "StringToSign").expect("SignatureDoesNotMatch without the string to sign");
    let right = if let Some(canonical) = detail(&e, "CanonicalRequest") {
        // SigV4. Lossy UTF-8 in the report (non-UTF-8 header bytes) cannot be hashed back.
        if !canonical.contains('\u{fffd}') {
            let hash = hex::encode(ring::digest::digest(
                &ring::digest::SHA256,
                canonical.as_bytes(),
            ));
            assert_eq!(
                sts.rsplit('\n').next(),
                Some(hash.as_str()),
                "the string to sign does not hash the canonical request"
            );
        }
        sign_v4(sts).expect("a SigV4 string to sign without a scope")
    } else {
        if sts.contains('\u{fffd}') {
            return;
        }
        sign_v2(sts)
    };
    let Some(resigned) = resign(&request, &right) else {
        return;
    };
    let Some(parts) = to_parts(&resigned) else {
        panic!("the request with the computed signature is not a valid request");
    };
    match authenticate(&parts, vhost, &store, REGION, now) {
        Ok(a) => {
            assert_eq!(a.access_key, AK);
            if let PayloadCheck::StreamingSigned { seed_signature, .. } = &a.payload {
                assert_eq!(
                    *seed_signature, right,
                    "the seed signature is not the request's"
                );
            }
        }
        Err(e2) => panic!(
            "signing the reported string to sign does not verify: {e2:?}\nstring to sign: {sts:?}"
        ),
    }
}
