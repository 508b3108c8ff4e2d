//! SigV4 header and presigned-query verification.
//!
//! Flow, for both forms:
//! 1. Parse the signature parameters: the `Authorization: AWS4-HMAC-SHA256 Credential=…,
//!    SignedHeaders=…, Signature=…` header, or the `X-Amz-*` query parameters of a presigned URL.
//!    Malformed input is [`AuthError::Malformed`], a scope for another region
//!    [`AuthError::WrongRegion`].
//! 2. Check the clock: header auth must be within 15 minutes of the server clock
//!    ([`AuthError::RequestTimeTooSkewed`]); a presigned URL must be neither expired nor more than
//!    15 minutes in the future ([`AuthError::PresignedExpired`], [`AuthError::PresignedNotYetValid`]).
//! 3. Look the access key up ([`AuthError::UnknownAccessKey`]), derive the signing key for the
//!    scope's date and region with `aws_sigv4::sign::v4::generate_signing_key`.
//! 4. Rebuild the canonical request from what was received (S3 rules: the path is decoded and
//!    re-encoded once, never normalised; the query is decoded, re-encoded and sorted), hash it into
//!    the string to sign, compute the signature with `aws_sigv4::sign::v4::calculate_signature`
//!    and compare it in constant time ([`AuthError::SignatureMismatch`]).
//! 5. Turn `x-amz-content-sha256` into the [`PayloadCheck`] the body reader enforces; for the
//!    streaming variants that carries the signing key, scope and seed signature the chunk
//!    signatures chain from.
//!
//! The chunk and trailer string-to-sign builders used by [`super::body`] live here too.

use std::time::{Duration, SystemTime};

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use http::HeaderMap;
use http::request::Parts;

use super::util::{
    MAX_CLOCK_SKEW, QueryParam, ct_eq, format_amz_date, parse_amz_date, parse_http_or_amz_date,
    parse_scope_date, percent_decode, query_value, sha256_hex, time_distance, trim_collapse_spaces,
    uri_encode,
};
use super::{AuthError, Authenticated, CredentialStore, PayloadCheck, SignatureLocation};

/// The SigV4 algorithm name, in the header and in `X-Amz-Algorithm`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// SigV4a (asymmetric), which lakegate does not implement.
pub const SIGV4A_ALGORITHM: &str = "AWS4-ECDSA-P256-SHA256";
const SERVICE: &str = "s3";
/// The service name of STS requests (`POST /?Action=AssumeRole`), signed on the same port.
pub const STS_SERVICE: &str = "sts";
const TERMINATOR: &str = "aws4_request";
/// The longest a presigned URL may be valid, in seconds (7 days).
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
pub const STREAMING_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
pub const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
const STREAMING_ECDSA_PREFIX: &str = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD";

const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

/// What `x-amz-content-sha256` (or `X-Amz-Content-Sha256` in a presigned URL) announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadHash {
    Sha256([u8; 32]),
    Unsigned,
    StreamingSigned { trailer: bool },
    StreamingUnsignedTrailer,
}

/// Parses an `x-amz-content-sha256` value.
pub(crate) fn parse_payload_hash(value: &str) -> Result<PayloadHash, AuthError> {
    match value {
        UNSIGNED_PAYLOAD => return Ok(PayloadHash::Unsigned),
        STREAMING_PAYLOAD => return Ok(PayloadHash::StreamingSigned { trailer: false }),
        STREAMING_PAYLOAD_TRAILER => return Ok(PayloadHash::StreamingSigned { trailer: true }),
        STREAMING_UNSIGNED_PAYLOAD_TRAILER => return Ok(PayloadHash::StreamingUnsignedTrailer),
        _ => {}
    }
    if value.starts_with(STREAMING_ECDSA_PREFIX) {
        return Err(AuthError::SigV4aNotImplemented);
    }
    if value.len() == 64 {
        let mut out = [0u8; 32];
        if hex::decode_to_slice(value, &mut out).is_ok() {
            return Ok(PayloadHash::Sha256(out));
        }
    }
    Err(AuthError::InvalidContentSha256)
}

/// The credential scope, parsed from `AK/YYYYMMDD/region/s3/aws4_request`.
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    pub(crate) access_key: String,
    pub(crate) date: String,
    pub(crate) region: String,
    /// `s3`, or `sts` for STS requests ([`super::authenticate`] takes only `s3`).
    pub(crate) service: String,
}

impl Credential {
    pub(crate) fn parse(value: &str, form: SignatureLocation) -> Result<Self, AuthError> {
        let bad = || {
            form.malformed(format!(
                "The {} is malformed; the Credential is mal-formed; expecting \
                 \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
                form_subject(form)
            ))
        };
        // The access key is everything before the last four components.
        let mut it = value.rsplitn(5, '/');
        let terminator = it.next().ok_or_else(bad)?;
        let service = it.next().ok_or_else(bad)?;
        let region = it.next().ok_or_else(bad)?;
        let date = it.next().ok_or_else(bad)?;
        let access_key = it.next().ok_or_else(bad)?;
        // An empty region is well-formed (MinIO's admin clients sign so); `check_region`
        // decides whether it is the right one.
        if access_key.is_empty() || parse_scope_date(date).is_none() {
            return Err(bad());
        }
        if terminator != TERMINATOR {
            return Err(form.malformed(format!(
                "The {} is malformed; incorrect terminal \"{terminator}\". This endpoint uses \
                 \"{TERMINATOR}\".",
                form_subject(form)
            )));
        }
        if service != SERVICE && service != STS_SERVICE {
            return Err(form.malformed(format!(
                "The {} is malformed; incorrect service \"{service}\". This endpoint belongs to \
                 \"{SERVICE}\".",
                form_subject(form)
            )));
        }
        Ok(Credential {
            access_key: access_key.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
        })
    }

    /// The scope must name this server's region; AWS answers a request signed for another one
    /// with the region it expects, which SDKs use to re-sign.
    pub(crate) fn check_region(
        &self,
        expected: &str,
        form: SignatureLocation,
    ) -> Result<(), AuthError> {
        if self.region == expected || expected == super::ANY_REGION {
            return Ok(());
        }
        Err(AuthError::WrongRegion {
            location: form,
            signed: self.region.clone(),
            expected: expected.to_string(),
        })
    }

    fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

fn form_subject(form: SignatureLocation) -> &'static str {
    match form {
        SignatureLocation::Header => "authorization header",
        SignatureLocation::Query => "authorization query parameters",
        SignatureLocation::Form => "x-amz-credential form field",
    }
}

/// Parses `SignedHeaders` (`a;b;c`): lower-case names, `host` required.
fn parse_signed_headers(value: &str, form: SignatureLocation) -> Result<Vec<String>, AuthError> {
    let names: Vec<String> = value.split(';').map(str::to_string).collect();
    let valid = names.iter().all(|n| {
        !n.is_empty()
            && n.bytes()
                .all(|c| c.is_ascii_graphic() && !c.is_ascii_uppercase() && c != b':')
    });
    if !valid {
        return Err(form.malformed(format!(
            "The {} is malformed; SignedHeaders must be a ';'-separated list of lower-case header \
             names.",
            form_subject(form)
        )));
    }
    if !names.iter().any(|n| n == "host") {
        return Err(form.malformed(format!(
            "The {} is malformed; the host header must be signed.",
            form_subject(form)
        )));
    }
    Ok(names)
}

/// Everything needed to recompute a SigV4 signature.
struct Parsed {
    form: SignatureLocation,
    credential: Credential,
    signed_headers: Vec<String>,
    signature: String,
    /// The timestamp as it enters the string to sign (`YYYYMMDDTHHMMSSZ`).
    amz_date: String,
    /// The payload hash as it enters the canonical request.
    payload_hash_value: String,
    payload: PayloadHash,
    /// `x-amz-security-token` (or `X-Amz-Security-Token` in a presigned URL).
    session_token: Option<String>,
}

/// Verifies `Authorization: AWS4-HMAC-SHA256 …`.
pub fn verify_header(
    parts: &Parts,
    authorization: &str,
    store: &CredentialStore,
    region: &str,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let form = SignatureLocation::Header;
    let rest = authorization
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            form.malformed("The authorization header is malformed; unsupported algorithm.")
        })?;

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for component in rest.split(',') {
        let component = component.trim();
        if component.is_empty() {
            continue;
        }
        let Some((key, value)) = component.split_once('=') else {
            return Err(form.malformed(format!(
                "The authorization header is malformed; the authorization component \
                 \"{component}\" is malformed."
            )));
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            other => {
                return Err(form.malformed(format!(
                    "The authorization header is malformed; unknown component \"{other}\"."
                )));
            }
        };
        if slot.replace(value.trim()).is_some() {
            return Err(form.malformed(format!(
                "The authorization header is malformed; \"{}\" appears more than once.",
                key.trim()
            )));
        }
    }
    let missing = |what: &str| {
        form.malformed(format!(
            "The authorization header is malformed; missing {what}."
        ))
    };
    let credential = Credential::parse(credential.ok_or_else(|| missing("Credential"))?, form)?;
    credential.check_region(region, form)?;
    let signed_headers = parse_signed_headers(
        signed_headers.ok_or_else(|| missing("SignedHeaders"))?,
        form,
    )?;
    let signature = signature.ok_or_else(|| missing("Signature"))?.to_string();

    // The payload hash is part of the canonical request; header auth requires it.
    let payload_hash_value = match parts.headers.get(X_AMZ_CONTENT_SHA256) {
        None => return Err(AuthError::MissingContentSha256),
        Some(v) => v
            .to_str()
            .map_err(|_| AuthError::UnreadableContentSha256)?
            .to_string(),
    };
    let payload = parse_payload_hash(&payload_hash_value)?;

    // The request time: x-amz-date, else Date.
    let (amz_date, request_time) = if let Some(v) = parts.headers.get(X_AMZ_DATE) {
        let s = v.to_str().unwrap_or_default().trim();
        let t = parse_amz_date(s).ok_or(AuthError::MalformedAmzDate)?;
        (s.to_string(), t)
    } else if let Some(v) = parts.headers.get(http::header::DATE) {
        let t =
            parse_http_or_amz_date(v.to_str().unwrap_or_default()).ok_or(AuthError::MissingDate)?;
        (format_amz_date(t), t)
    } else {
        return Err(AuthError::MissingDate);
    };
    if time_distance(request_time, now) > MAX_CLOCK_SKEW {
        return Err(AuthError::RequestTimeTooSkewed {
            request_time: amz_date,
            server_time: format_amz_date(now),
            max_skew: MAX_CLOCK_SKEW,
        });
    }
    if !amz_date.starts_with(credential.date.as_str()) {
        return Err(form.malformed(format!(
            "The authorization header is malformed; Invalid credential date \"{}\". This date is \
             not the same as X-Amz-Date: \"{}\".",
            credential.date,
            amz_date.get(..8).unwrap_or_default()
        )));
    }
    let session_token = parts
        .headers
        .get(X_AMZ_SECURITY_TOKEN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

    let query = super::util::parse_query(parts.uri.query());
    verify(
        parts,
        &query,
        Parsed {
            form,
            credential,
            signed_headers,
            signature,
            amz_date,
            payload_hash_value,
            payload,
            session_token,
        },
        store,
    )
}

/// Verifies a presigned URL (`X-Amz-Algorithm=AWS4-HMAC-SHA256&…`).
pub(crate) fn verify_presigned(
    parts: &Parts,
    query: &[QueryParam<'_>],
    store: &CredentialStore,
    region: &str,
    now: SystemTime,
) -> Result<Authenticated, AuthError> {
    let form = SignatureLocation::Query;
    let get = |name: &str| -> Result<Option<String>, AuthError> {
        query_value(query, name).map_err(|()| {
            form.malformed(format!(
                "{name} appears more than once in the query string."
            ))
        })
    };
    let required = |name: &str| -> Result<String, AuthError> {
        get(name)?.ok_or_else(|| {
            form.malformed(format!(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, \
                 X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and \
                 X-Amz-Expires parameters; {name} is missing."
            ))
        })
    };

    let algorithm = required("X-Amz-Algorithm")?;
    if algorithm == SIGV4A_ALGORITHM {
        return Err(AuthError::SigV4aNotImplemented);
    }
    if algorithm != ALGORITHM {
        return Err(form.malformed(format!("X-Amz-Algorithm only supports \"{ALGORITHM}\"")));
    }
    let credential = Credential::parse(&required("X-Amz-Credential")?, form)?;
    credential.check_region(region, form)?;
    let amz_date = required("X-Amz-Date")?;
    let request_time = parse_amz_date(&amz_date).ok_or_else(|| {
        form.malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    })?;
    let expires_raw = required("X-Amz-Expires")?;
    let expires: u64 = expires_raw
        .parse()
        .map_err(|_| form.malformed("X-Amz-Expires should be a number"))?;
    if expires == 0 {
        return Err(form.malformed("X-Amz-Expires must be positive"));
    }
    if expires > MAX_PRESIGNED_EXPIRES {
        return Err(form.malformed(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}"
        )));
    }
    let signed_headers = parse_signed_headers(&required("X-Amz-SignedHeaders")?, form)?;
    let signature = required("X-Amz-Signature")?;
    if !amz_date.starts_with(credential.date.as_str()) {
        return Err(form.malformed(format!(
            "Invalid credential date \"{}\". This date is not the same as X-Amz-Date: \"{}\".",
            credential.date,
            amz_date.get(..8).unwrap_or_default()
        )));
    }

    // Validity window: not before X-Amz-Date (15 minutes of grace for clocks), not after
    // X-Amz-Date + X-Amz-Expires.
    if request_time > now && time_distance(request_time, now) > MAX_CLOCK_SKEW {
        return Err(AuthError::PresignedNotYetValid);
    }
    let expiry = request_time.checked_add(Duration::from_secs(expires));
    if expiry.is_none_or(|e| now > e) {
        return Err(AuthError::PresignedExpired {
            lifetime_secs: Some(expires),
            expires: expiry.map(format_amz_date),
            server_time: format_amz_date(now),
        });
    }
    let session_token = match get("X-Amz-Security-Token")? {
        Some(t) => Some(t),
        None => parts
            .headers
            .get(X_AMZ_SECURITY_TOKEN)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
    };

    let (payload_hash_value, payload) = match get("X-Amz-Content-Sha256")? {
        Some(v) => {
            let p = parse_payload_hash(&v)?;
            (v, p)
        }
        None => (UNSIGNED_PAYLOAD.to_string(), PayloadHash::Unsigned),
    };

    verify(
        parts,
        query,
        Parsed {
            form,
            credential,
            signed_headers,
            signature,
            amz_date,
            payload_hash_value,
            payload,
            session_token,
        },
        store,
    )
}

/// Steps 3–5: key lookup, signature check, payload mode.
fn verify(
    parts: &Parts,
    query: &[QueryParam<'_>],
    p: Parsed,
    store: &CredentialStore,
) -> Result<Authenticated, AuthError> {
    let creds =
        store
            .lookup(&p.credential.access_key)
            .ok_or_else(|| AuthError::UnknownAccessKey {
                access_key: p.credential.access_key.clone(),
            })?;
    super::check_session_token(&creds, p.session_token.as_deref())?;
    check_amz_headers_signed(&parts.headers, &p.signed_headers)?;
    let scope_time = parse_scope_date(&p.credential.date)
        .ok_or_else(|| p.form.malformed("Invalid credential date."))?;
    let signing_key = generate_signing_key(
        &creds.secret,
        scope_time,
        &p.credential.region,
        &p.credential.service,
    );
    let scope = p.credential.scope();
    let signed: Vec<&str> = p.signed_headers.iter().map(String::as_str).collect();
    let presigned = p.form == SignatureLocation::Query;

    let canonical = canonical_request(
        parts.method.as_str(),
        parts.uri.path(),
        query,
        presigned,
        &parts.headers,
        parts.uri.authority().map(|a| a.as_str()),
        &signed,
        &p.payload_hash_value,
    );
    let sts = string_to_sign(&p.amz_date, &scope, &canonical);
    let computed = calculate_signature(signing_key.as_ref(), sts.as_bytes());
    if !ct_eq(computed.as_bytes(), p.signature.as_bytes()) {
        tracing::debug!(
            access_key = %p.credential.access_key,
            canonical_request = %String::from_utf8_lossy(&canonical),
            string_to_sign = %sts,
            "SigV4 signature mismatch"
        );
        return Err(AuthError::SignatureMismatch {
            access_key: p.credential.access_key,
            string_to_sign: sts,
            signature_provided: p.signature,
            canonical_request: Some(String::from_utf8_lossy(&canonical).into_owned()),
        });
    }

    let payload = match p.payload {
        PayloadHash::Sha256(h) => PayloadCheck::Sha256(h),
        PayloadHash::Unsigned => PayloadCheck::Unsigned,
        PayloadHash::StreamingUnsignedTrailer => PayloadCheck::StreamingUnsignedTrailer,
        PayloadHash::StreamingSigned { trailer } => PayloadCheck::StreamingSigned {
            signing_key: signing_key.as_ref().to_vec(),
            amz_date: p.amz_date,
            scope,
            seed_signature: computed,
            trailer,
        },
    };
    Ok(Authenticated {
        access_key: p.credential.access_key,
        key: creds,
        payload,
        service: if p.credential.service == STS_SERVICE {
            STS_SERVICE
        } else {
            SERVICE
        },
    })
}

/// Every `x-amz-*` header the request carries must be covered by the signature, as AWS requires:
/// they change what a request does (copy source, object lock, metadata, tagging, ACL, checksums,
/// encryption, storage class), so an unsigned one would let whoever holds a presigned URL or
/// relays a signed request change its meaning.
///
/// The one exception is `x-amz-content-sha256`, which AWS takes unsigned: with header auth its
/// value is the canonical request's payload hash (so it is covered anyway), and a presigned URL
/// ignores it (the payload mode comes from the signed query).
fn check_amz_headers_signed(headers: &HeaderMap, signed: &[String]) -> Result<(), AuthError> {
    let mut unsigned: Vec<&str> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|name| {
            name.starts_with("x-amz-")
                && *name != X_AMZ_CONTENT_SHA256
                && !signed.iter().any(|s| s == name)
        })
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    unsigned.sort_unstable();
    unsigned.dedup();
    Err(AuthError::UnsignedHeaders {
        names: unsigned.into_iter().map(str::to_string).collect(),
    })
}

/// Builds the SigV4 canonical request (as bytes: header values may not be UTF-8).
///
/// `presigned` leaves `X-Amz-Signature` out of the query. The query is decoded exactly as the
/// router decodes it ([`QueryParam`]: `%XX`, and `+` as a space), so one signature covers one
/// query. `authority` stands in for a missing `Host` header (HTTP/2 carries it in `:authority`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn canonical_request(
    method: &str,
    path: &str,
    query: &[QueryParam<'_>],
    presigned: bool,
    headers: &HeaderMap,
    authority: Option<&str>,
    signed_headers: &[&str],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');

    // Canonical URI: decode once, re-encode once, no dot-segment or slash normalisation.
    if path.is_empty() {
        out.push(b'/');
    } else {
        out.extend_from_slice(uri_encode(&percent_decode(path), true).as_bytes());
    }
    out.push(b'\n');

    // Canonical query string.
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|q| !(presigned && q.decoded_name() == "X-Amz-Signature"))
        .map(|q| {
            (
                uri_encode(&q.decoded_name_bytes(), false),
                uri_encode(&q.decoded_value(), false),
            )
        })
        .collect();
    pairs.sort();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
    out.push(b'\n');

    // Canonical headers.
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut values = headers.get_all(*name).iter().peekable();
        if values.peek().is_none()
            && *name == "host"
            && let Some(a) = authority
        {
            trim_collapse_spaces(a.as_bytes(), &mut out);
        }
        let mut first = true;
        for v in values {
            if !first {
                out.push(b',');
            }
            first = false;
            trim_collapse_spaces(v.as_bytes(), &mut out);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// `AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256(canonical request)>`.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request)
    )
}

/// String to sign for one aws-chunked chunk (`chunk_hash_hex` = hex SHA-256 of its data).
pub(crate) fn chunk_string_to_sign(
    amz_date: &str,
    scope: &str,
    previous_signature: &str,
    chunk_hash_hex: &str,
) -> String {
    format!(
        "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous_signature}\n{}\n{chunk_hash_hex}",
        super::util::EMPTY_SHA256_HEX
    )
}

/// String to sign for the trailer of an aws-chunked body (`trailer_hash_hex` = hex SHA-256 of
/// the canonical trailer: `name:value\n` per trailer, sorted by name).
pub(crate) fn trailer_string_to_sign(
    amz_date: &str,
    scope: &str,
    previous_signature: &str,
    trailer_hash_hex: &str,
) -> String {
    format!(
        "AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous_signature}\n{trailer_hash_hex}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credentials;
    use crate::auth::util::parse_query;

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn store() -> CredentialStore {
        CredentialStore::new(Credentials {
            access_key: AK.into(),
            secret_key: SK.into(),
        })
    }

    fn t(s: &str) -> SystemTime {
        parse_amz_date(s).unwrap()
    }

    fn at(secs_after_example: u64) -> SystemTime {
        t("20130524T000000Z") + Duration::from_secs(secs_after_example)
    }

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn header_auth(p: &Parts, now: SystemTime) -> Result<Authenticated, AuthError> {
        let auth = p.headers.get("authorization").unwrap().to_str().unwrap();
        verify_header(p, auth, &store(), "us-east-1", now)
    }

    fn get_object_example(signature: &str) -> Parts {
        parts(
            "GET",
            "/test.txt",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY),
                ("x-amz-date", "20130524T000000Z"),
                (
                    "authorization",
                    &format!(
                        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature={signature}"
                    ),
                ),
            ],
        )
    }

    const GET_OBJECT_SIG: &str = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

    #[test]
    fn aws_example_get_object() {
        let p = get_object_example(GET_OBJECT_SIG);
        let a = header_auth(&p, at(0)).unwrap();
        assert_eq!(a.access_key, AK);
        match a.payload {
            PayloadCheck::Sha256(h) => assert_eq!(hex::encode(h), EMPTY),
            other => panic!("unexpected payload {other:?}"),
        }
    }

    #[test]
    fn aws_example_canonical_request_get_object() {
        let p = get_object_example(GET_OBJECT_SIG);
        let cr = canonical_request(
            "GET",
            "/test.txt",
            &[],
            false,
            &p.headers,
            None,
            &["host", "range", "x-amz-content-sha256", "x-amz-date"],
            EMPTY,
        );
        let expected = "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n\
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
            x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(String::from_utf8(cr).unwrap(), expected);
    }

    #[test]
    fn spaces_after_commas_are_tolerated() {
        let p = parts(
            "GET",
            "/test.txt",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY),
                ("x-amz-date", "20130524T000000Z"),
                (
                    "authorization",
                    &format!(
                        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,  Signature={GET_OBJECT_SIG}"
                    ),
                ),
            ],
        );
        header_auth(&p, at(0)).unwrap();
    }

    #[test]
    fn wrong_signature_is_rejected() {
        let mut bad = GET_OBJECT_SIG.to_string();
        bad.replace_range(0..1, "e");
        let err = header_auth(&get_object_example(&bad), at(0)).unwrap_err();
        assert_eq!(err.code(), "SignatureMismatch");
        assert!(!format!("{err:?}").contains(SK));

        // A tampered request (other range) with the original signature.
        let mut p = get_object_example(GET_OBJECT_SIG);
        p.headers
            .insert("range", http::HeaderValue::from_static("bytes=0-10"));
        let err = header_auth(&p, at(0)).unwrap_err();
        assert_eq!(err.code(), "SignatureMismatch");
    }

    #[test]
    fn clock_skew() {
        let p = get_object_example(GET_OBJECT_SIG);
        assert!(header_auth(&p, at(15 * 60)).is_ok());
        let err = header_auth(&p, at(15 * 60 + 1)).unwrap_err();
        assert_eq!(err.code(), "RequestTimeTooSkewed");
        let err = header_auth(&p, t("20130523T234400Z")).unwrap_err();
        assert_eq!(err.code(), "RequestTimeTooSkewed");
    }

    #[test]
    fn unknown_access_key() {
        let p = parts(
            "GET",
            "/test.txt",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-content-sha256", EMPTY),
                ("x-amz-date", "20130524T000000Z"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=NOPE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=00",
                ),
            ],
        );
        assert_eq!(
            header_auth(&p, at(0)).unwrap_err().code(),
            "UnknownAccessKey"
        );
    }

    #[test]
    fn content_sha256_header_is_required_and_validated() {
        let mut p = get_object_example(GET_OBJECT_SIG);
        p.headers.remove("x-amz-content-sha256");
        let err = header_auth(&p, at(0)).unwrap_err();
        assert_eq!(err.code(), "MissingContentSha256");
        assert_eq!(
            err.to_string(),
            "Missing required header for this request: x-amz-content-sha256"
        );
        p.headers.insert(
            "x-amz-content-sha256",
            http::HeaderValue::from_static("nonsense"),
        );
        assert_eq!(
            header_auth(&p, at(0)).unwrap_err().code(),
            "InvalidContentSha256"
        );
        p.headers.insert(
            "x-amz-content-sha256",
            http::HeaderValue::from_static("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"),
        );
        assert_eq!(
            header_auth(&p, at(0)).unwrap_err().code(),
            "SigV4aNotImplemented"
        );
    }

    #[test]
    fn malformed_headers() {
        for auth in [
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3,SignedHeaders=host,Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/ec2/aws4_request,SignedHeaders=host,Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2013052/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=range,Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=Host,Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=00,Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,Bogus=1,Signature=00",
            "AWS4-HMAC-SHA256 garbage",
            // Credential date differs from x-amz-date.
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130525/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=00",
        ] {
            let mut p = get_object_example(GET_OBJECT_SIG);
            p.headers
                .insert("authorization", http::HeaderValue::from_str(auth).unwrap());
            let err = header_auth(&p, at(0)).unwrap_err();
            assert_eq!(err.code(), "Malformed", "{auth}");
        }
    }

    #[test]
    fn a_session_token_with_a_long_term_key_is_refused() {
        let mut p = get_object_example(GET_OBJECT_SIG);
        p.headers.insert(
            "x-amz-security-token",
            http::HeaderValue::from_static("tok"),
        );
        assert_eq!(header_auth(&p, at(0)).unwrap_err().code(), "InvalidToken");
    }

    /// `GET /bucket/key` at 2013-05-24T00:00:00Z (empty payload), signed by us for `region`
    /// over `signed` headers; returns the request and its Authorization value.
    fn signed_get_bucket_key(region: &str, signed: &[&str]) -> (Parts, String) {
        let headers = [
            ("host", "localhost:9000"),
            ("x-amz-content-sha256", EMPTY),
            ("x-amz-date", "20130524T000000Z"),
        ];
        let p = parts("GET", "/bucket/key", &headers);
        let cr = canonical_request(
            "GET",
            "/bucket/key",
            &[],
            false,
            &p.headers,
            None,
            signed,
            EMPTY,
        );
        let key = generate_signing_key(SK, at(0), region, "s3");
        let scope = format!("20130524/{region}/s3/aws4_request");
        let sts = string_to_sign("20130524T000000Z", &scope, &cr);
        let sig = calculate_signature(key, sts.as_bytes());
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AK}/{scope}, SignedHeaders={}, Signature={sig}",
            signed.join(";")
        );
        let mut headers = headers.to_vec();
        headers.push(("authorization", &auth));
        (parts("GET", "/bucket/key", &headers), auth)
    }

    #[test]
    fn another_region_is_refused_with_the_expected_one() {
        // Correctly signed, but for eu-west-3: AWS names the region it expects.
        let (p, auth) =
            signed_get_bucket_key("eu-west-3", &["host", "x-amz-content-sha256", "x-amz-date"]);
        let err = header_auth(&p, at(0)).unwrap_err();
        assert_eq!(err.code(), "WrongRegion");
        assert!(
            err.to_string()
                .contains("'eu-west-3' is wrong; expecting 'us-east-1'")
        );
        assert!(matches!(&err, AuthError::WrongRegion { expected, .. } if expected == "us-east-1"));
        // A server configured for eu-west-3 takes it.
        verify_header(&p, &auth, &store(), "eu-west-3", at(0)).unwrap();
    }

    #[test]
    fn an_unsigned_content_sha256_is_taken() {
        // Signed without x-amz-content-sha256 in SignedHeaders; its value is still the
        // canonical request's payload hash.
        let (p, _) = signed_get_bucket_key("us-east-1", &["host", "x-amz-date"]);
        header_auth(&p, at(0)).unwrap();
        // A presigned URL with the header added.
        let p = parts(
            "GET",
            PRESIGNED,
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ],
        );
        let q = parse_query(p.uri.query());
        verify_presigned(&p, &q, &store(), "us-east-1", at(60)).unwrap();
    }

    #[test]
    fn unsigned_amz_headers_are_refused() {
        // The AWS example GET, with an x-amz-* header added after signing.
        let mut p = get_object_example(GET_OBJECT_SIG);
        header_auth(&p, at(0)).unwrap();
        p.headers.insert(
            "x-amz-copy-source",
            http::HeaderValue::from_static("gold/secret.txt"),
        );
        p.headers.insert(
            "x-amz-object-lock-mode",
            http::HeaderValue::from_static("COMPLIANCE"),
        );
        let err = header_auth(&p, at(0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "There were headers present in the request which were not signed"
        );
        assert_eq!(
            err,
            AuthError::UnsignedHeaders {
                names: vec![
                    "x-amz-copy-source".to_string(),
                    "x-amz-object-lock-mode".to_string()
                ]
            }
        );
    }

    // AWS "PUT Object" example (single chunk, Date + x-amz-date, `$` in the key).
    #[test]
    fn aws_example_put_object() {
        let p = parts(
            "PUT",
            "/test%24file.text",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                (
                    "x-amz-content-sha256",
                    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                ),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
                ),
            ],
        );
        let a = header_auth(&p, at(60)).unwrap();
        assert!(matches!(a.payload, PayloadCheck::Sha256(_)));
    }

    // AWS "GET Bucket Lifecycle" example (sub-resource without value).
    #[test]
    fn aws_example_get_bucket_lifecycle() {
        let p = parts(
            "GET",
            "/?lifecycle",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", EMPTY),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
                ),
            ],
        );
        header_auth(&p, at(0)).unwrap();
    }

    // AWS "Get Bucket (List Objects)" example (query sorted by name).
    #[test]
    fn aws_example_list_objects() {
        let p = parts(
            "GET",
            "/?max-keys=2&prefix=J",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", EMPTY),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
                ),
            ],
        );
        header_auth(&p, at(0)).unwrap();
    }

    // AWS chunked upload example: the seed signature.
    #[test]
    fn aws_example_streaming_seed() {
        let p = parts(
            "PUT",
            "/examplebucket/chunkObject.txt",
            &[
                ("host", "s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", STREAMING_PAYLOAD),
                ("content-encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("content-length", "66824"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
                ),
            ],
        );
        let a = header_auth(&p, at(0)).unwrap();
        match a.payload {
            PayloadCheck::StreamingSigned {
                amz_date,
                scope,
                seed_signature,
                trailer,
                ..
            } => {
                assert_eq!(amz_date, "20130524T000000Z");
                assert_eq!(scope, "20130524/us-east-1/s3/aws4_request");
                assert_eq!(
                    seed_signature,
                    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
                );
                assert!(!trailer);
            }
            other => panic!("unexpected payload {other:?}"),
        }
    }

    const PRESIGNED: &str = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    fn presigned_auth(uri: &str, now: SystemTime) -> Result<Authenticated, AuthError> {
        let p = parts("GET", uri, &[("host", "examplebucket.s3.amazonaws.com")]);
        let q = parse_query(p.uri.query());
        verify_presigned(&p, &q, &store(), "us-east-1", now)
    }

    #[test]
    fn aws_example_presigned_url() {
        let a = presigned_auth(PRESIGNED, at(3600)).unwrap();
        assert_eq!(a.access_key, AK);
        assert!(matches!(a.payload, PayloadCheck::Unsigned));
        // Valid until the last second, including 15 minutes before its date.
        presigned_auth(PRESIGNED, at(86400)).unwrap();
        presigned_auth(PRESIGNED, t("20130523T234600Z")).unwrap();
    }

    #[test]
    fn presigned_url_expiry_and_future() {
        let err = presigned_auth(PRESIGNED, at(86401)).unwrap_err();
        assert_eq!(err.code(), "PresignedExpired");
        assert_eq!(err.to_string(), "Request has expired");
        let err = presigned_auth(PRESIGNED, t("20130523T234400Z")).unwrap_err();
        assert_eq!(err.code(), "PresignedNotYetValid");
    }

    #[test]
    fn presigned_url_tampering_and_errors() {
        // Extra parameter not covered by the signature.
        let err = presigned_auth(&format!("{PRESIGNED}&x-id=GetObject"), at(0)).unwrap_err();
        assert_eq!(err.code(), "SignatureMismatch");
        // Other path.
        let err = presigned_auth(&PRESIGNED.replace("/test.txt", "/test2.txt"), at(0)).unwrap_err();
        assert_eq!(err.code(), "SignatureMismatch");
        // Expires out of range.
        for bad in ["0", "604801", "-1", "x"] {
            let err = presigned_auth(
                &PRESIGNED.replace("X-Amz-Expires=86400", &format!("X-Amz-Expires={bad}")),
                at(0),
            )
            .unwrap_err();
            assert_eq!(err.code(), "Malformed", "{bad}");
        }
        // Missing parameter.
        let err =
            presigned_auth(&PRESIGNED.replace("&X-Amz-SignedHeaders=host", ""), at(0)).unwrap_err();
        assert_eq!(err.code(), "Malformed");
        // Duplicate parameter.
        let err =
            presigned_auth(&format!("{PRESIGNED}&X-Amz-Date=20130524T000000Z"), at(0)).unwrap_err();
        assert_eq!(err.code(), "Malformed");
        // A session token with a long-term key.
        let err =
            presigned_auth(&format!("{PRESIGNED}&X-Amz-Security-Token=abc"), at(0)).unwrap_err();
        assert_eq!(err.code(), "InvalidToken");
        // SigV4a.
        let err = presigned_auth(
            &PRESIGNED.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
            at(0),
        )
        .unwrap_err();
        assert_eq!(err.code(), "SigV4aNotImplemented");
    }

    #[test]
    fn canonical_query_encoding_and_sorting() {
        let q = parse_query(Some("b=2&a=z&a=y&c&d=%2f%20+x&e=caf%C3%A9&f=a~b"));
        let h = HeaderMap::new();
        let cr = canonical_request("GET", "/", &q, false, &h, None, &["host"], "x");
        let cr = String::from_utf8(cr).unwrap();
        let query_line = cr.lines().nth(2).unwrap();
        // `+` is a space in a query (as the router reads it); only %2B is a plus.
        assert_eq!(query_line, "a=y&a=z&b=2&c=&d=%2F%20%20x&e=caf%C3%A9&f=a~b");
    }

    #[test]
    fn canonical_uri_is_not_normalised() {
        let h = HeaderMap::new();
        for (path, expected) in [
            ("/b/a//b/./c/../d", "/b/a//b/./c/../d"),
            ("/b/a%20b+c", "/b/a%20b%2Bc"),
            ("/b/a b!", "/b/a%20b%21"),
            ("/b/%E2%82%AC%2F", "/b/%E2%82%AC/"),
            ("/b/%e2%82%ac", "/b/%E2%82%AC"),
            ("", "/"),
        ] {
            let cr = canonical_request("GET", path, &[], false, &h, None, &["host"], "x");
            let cr = String::from_utf8(cr).unwrap();
            assert_eq!(cr.lines().nth(1).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn canonical_headers_values() {
        let mut h = HeaderMap::new();
        h.append(
            "x-amz-meta-a",
            http::HeaderValue::from_static("  one   two  "),
        );
        h.append("x-amz-meta-a", http::HeaderValue::from_static("three"));
        let cr = canonical_request(
            "GET",
            "/",
            &[],
            false,
            &h,
            Some("example.com:9000"),
            &["host", "x-amz-meta-a", "x-amz-meta-missing"],
            "x",
        );
        let cr = String::from_utf8(cr).unwrap();
        assert!(cr.contains(
            "\nhost:example.com:9000\nx-amz-meta-a:one two,three\nx-amz-meta-missing:\n\n"
        ));
    }

    #[test]
    fn payload_hash_values() {
        assert_eq!(
            parse_payload_hash(EMPTY).unwrap(),
            PayloadHash::Sha256(super::super::util::sha256(b""))
        );
        assert_eq!(
            parse_payload_hash("UNSIGNED-PAYLOAD").unwrap(),
            PayloadHash::Unsigned
        );
        assert_eq!(
            parse_payload_hash("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER").unwrap(),
            PayloadHash::StreamingSigned { trailer: true }
        );
        assert_eq!(
            parse_payload_hash("STREAMING-UNSIGNED-PAYLOAD-TRAILER").unwrap(),
            PayloadHash::StreamingUnsignedTrailer
        );
        assert_eq!(
            parse_payload_hash("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")
                .unwrap_err()
                .code(),
            "SigV4aNotImplemented"
        );
        assert_eq!(
            parse_payload_hash(&"g".repeat(64)).unwrap_err().code(),
            "InvalidContentSha256"
        );
    }
}
