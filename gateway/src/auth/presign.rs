//! SigV4 query-signed URLs (presigned URLs), made in-process: `lakegate presign get|put` and the
//! console's share links. The URL grants what its signing key may do when it is used, until
//! it expires (at most 7 days, as on AWS).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials as SdkCredentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4::SigningParams;

/// AWS's longest SigV4 presigned URL lifetime.
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 86_400);

/// Why a URL cannot be signed.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign {url:?}: {reason}")]
pub struct PresignError {
    pub url: String,
    pub reason: String,
}

/// The key a URL is signed with.
pub struct PresignKey<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub region: &'a str,
}

/// `url` (already percent-encoded, as it will be sent) signed for `method` until `now +
/// expires` by `key`.
pub fn presigned_url(
    method: &str,
    url: &str,
    key: &PresignKey<'_>,
    expires: Duration,
    now: SystemTime,
) -> Result<String, PresignError> {
    let fail = |reason: String| PresignError {
        url: url.to_string(),
        reason,
    };
    if expires > MAX_EXPIRY || expires.is_zero() {
        return Err(fail("the expiry must be between 1 s and 7 days".into()));
    }
    let identity =
        SdkCredentials::new(key.access_key, key.secret_key, None, None, "lakegate").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires);
    // S3 signs the path as sent: encoded once, never normalized.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = SigningParams::builder()
        .identity(&identity)
        .region(key.region)
        .name("s3")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let signable = SignableRequest::new(
        method,
        url,
        std::iter::empty(),
        SignableBody::UnsignedPayload,
    )
    .map_err(|e| fail(e.to_string()))?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params.into())
        .map_err(|e| fail(e.to_string()))?
        .into_parts();
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .body(())
        .map_err(|e| fail(e.to_string()))?;
    instructions.apply_to_request_http1x(&mut req);
    Ok(req.uri().to_string())
}
