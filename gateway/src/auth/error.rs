//! What can go wrong while authenticating a request or verifying its body.
//!
//! [`AuthError`] names each failure in the terms of authentication itself (an unknown access key,
//! a signature that does not match, a presigned URL past its expiry, a body whose chunk signature
//! is wrong) and carries what a client needs to see to fix it (the string to sign, the region
//! expected, the headers left unsigned). It knows nothing of the protocol that answers: the S3 API
//! turns it into an S3 error code and XML body (`From<AuthError> for S3Error`), and another API can
//! render [`AuthError::code`], the message ([`std::fmt::Display`]) and [`AuthError::status`] in its
//! own format.
//!
//! Messages never contain a secret: at most the access key, the string to sign and the signature
//! the client sent.

use std::time::Duration;

use http::StatusCode;

/// Where a SigV4 request carries its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureLocation {
    /// `Authorization: AWS4-HMAC-SHA256 …`.
    Header,
    /// The `X-Amz-*` query parameters of a presigned URL.
    Query,
    /// The `x-amz-*` fields of a browser form upload (POST Object).
    Form,
}

impl SignatureLocation {
    /// [`AuthError::Malformed`] here, for `reason`.
    pub(crate) fn malformed(self, reason: impl Into<String>) -> AuthError {
        AuthError::Malformed {
            location: self,
            reason: reason.into(),
        }
    }
}

/// Why a request was not authenticated, or why its body failed verification.
///
/// The `Display` text is a human message for the client; [`AuthError::code`] is a stable name for
/// the kind of failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    // --- Which mechanism ---
    /// No signature at all: neither an `Authorization` header nor a presigned query.
    #[error("The request is not signed.")]
    Anonymous,
    /// More than one `Authorization` header.
    #[error("Only one Authorization header may be specified")]
    MultipleAuthorizationHeaders,
    /// An `Authorization` header and a presigned query (`with_header`), or both the SigV4 and the
    /// SigV2 presigned parameters.
    #[error("{}", multiple_mechanisms_message(*.with_header))]
    MultipleAuthMechanisms { with_header: bool },
    /// An `Authorization` scheme that is neither SigV4 nor SigV2 (`Bearer`, `Basic`, …).
    #[error("Unsupported Authorization Type")]
    UnsupportedAuthorizationType,
    /// SigV4a (asymmetric, `AWS4-ECDSA-P256-SHA256`), in the header, the query or the payload mode.
    #[error("SigV4a is not implemented by lakegate.")]
    SigV4aNotImplemented,

    // --- Malformed signature parameters ---
    /// The SigV4 `Authorization` header or presigned query parameters cannot be parsed (or the
    /// header is empty or not text); `reason` says what is wrong.
    #[error("{reason}")]
    Malformed {
        location: SignatureLocation,
        reason: String,
    },
    /// The credential scope names another region than the server's.
    #[error("{}", wrong_region_message(*.location, .signed, .expected))]
    WrongRegion {
        location: SignatureLocation,
        /// The region in the credential scope.
        signed: String,
        /// The server's region, which the client must sign for.
        expected: String,
    },
    /// `Authorization: AWS …` (SigV2) that is not `AWS AccessKey:signature`.
    #[error("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")]
    MalformedSigV2Authorization,
    /// A SigV2 presigned parameter given more than once.
    #[error("{name} appears more than once in the query")]
    DuplicateSigV2Parameter { name: String },
    /// A SigV2 presigned URL without `AWSAccessKeyId`, `Signature` or `Expires`.
    #[error(
        "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
    )]
    IncompleteSigV2Query,
    /// A SigV2 presigned `Expires` that is not a number of seconds since the epoch.
    #[error("Invalid date (should be seconds since epoch)")]
    InvalidSigV2Expires,

    // --- Payload hash ---
    /// Header auth without `x-amz-content-sha256` (it is part of the canonical request).
    #[error("Missing required header for this request: x-amz-content-sha256")]
    MissingContentSha256,
    /// `x-amz-content-sha256` is not text.
    #[error("x-amz-content-sha256 is not valid")]
    UnreadableContentSha256,
    /// `x-amz-content-sha256` is neither a payload mode nor a hex SHA-256.
    #[error(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
         STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid \
         sha256 value."
    )]
    InvalidContentSha256,

    // --- Time ---
    /// `x-amz-date` is not `YYYYMMDDTHHMMSSZ` (SigV4 header auth).
    #[error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")]
    MalformedAmzDate,
    /// Header auth without a readable `x-amz-date` or `Date`.
    #[error("AWS authentication requires a valid Date or x-amz-date header")]
    MissingDate,
    /// The request time is too far from the server clock. Times are `YYYYMMDDTHHMMSSZ`.
    #[error(
        "The request time {request_time} is more than {} seconds away from the server time \
         {server_time}.",
        .max_skew.as_secs()
    )]
    RequestTimeTooSkewed {
        request_time: String,
        server_time: String,
        max_skew: Duration,
    },
    /// A presigned URL whose `X-Amz-Date` is still too far in the future.
    #[error("Request is not valid yet")]
    PresignedNotYetValid,
    /// A presigned URL past its expiry.
    #[error("Request has expired")]
    PresignedExpired {
        /// SigV4 `X-Amz-Expires` (seconds).
        lifetime_secs: Option<u64>,
        /// When it expired: `YYYYMMDDTHHMMSSZ` for SigV4 (absent if it overflows), the `Expires`
        /// parameter (seconds since the epoch) for SigV2.
        expires: Option<String>,
        /// `YYYYMMDDTHHMMSSZ`.
        server_time: String,
    },
    /// A SigV2 presigned URL valid for longer than presigned URLs may be.
    #[error("Expires must be less than a week ({max_secs} seconds) in the future")]
    PresignedLifetimeTooLong {
        max_secs: u64,
        /// The `Expires` parameter (seconds since the epoch).
        expires: String,
        /// `YYYYMMDDTHHMMSSZ`.
        server_time: String,
    },

    // --- Who signed ---
    /// A session token (`x-amz-security-token`) with SigV2 or in a POST form: temporary
    /// credentials sign with SigV4 only.
    #[error(
        "Temporary security credentials (session tokens) are supported with Signature Version 4 only."
    )]
    SessionTokenNotSupported,
    /// A session token that is not the key's, or a key of temporary credentials without its
    /// token, or a token with a long-term key.
    #[error("The provided token is malformed or otherwise invalid.")]
    InvalidToken,
    /// The access key is not in the credential store.
    #[error("The access key {access_key} does not exist.")]
    UnknownAccessKey { access_key: String },
    /// `x-amz-*` headers the SigV4 signature does not cover (sorted, deduplicated).
    #[error("There were headers present in the request which were not signed")]
    UnsignedHeaders { names: Vec<String> },
    /// The request signature is not the one computed with the access key's secret.
    #[error("The signature does not match the one computed for access key {access_key}.")]
    SignatureMismatch {
        access_key: String,
        string_to_sign: String,
        signature_provided: String,
        /// The canonical request (SigV4 only).
        canonical_request: Option<String>,
    },

    // --- The body ---
    /// No body bytes arrived within the read timeout.
    #[error("No request body bytes arrived within the read timeout.")]
    BodyReadTimeout,
    /// The body ended early, was longer than declared, or could not be read.
    #[error("The request body is incomplete: {detail}.")]
    IncompleteBody { detail: &'static str },
    /// The body does not hash to `x-amz-content-sha256`.
    #[error("The request body does not match its x-amz-content-sha256.")]
    ContentSha256Mismatch,
    /// An aws-chunked chunk signature, or the trailer signature, is not the one computed.
    #[error("The chunk signature we calculated does not match the signature you provided.")]
    ChunkSignatureMismatch,
    /// A signed-trailer body whose trailing headers come without `x-amz-trailer-signature`.
    #[error("The trailing headers are not signed (x-amz-trailer-signature is missing).")]
    TrailerNotSigned,
    /// The aws-chunked framing is broken; `reason` says how.
    #[error("{reason}")]
    MalformedChunkedBody { reason: String },
    /// The trailing headers of an aws-chunked body are malformed, unannounced or missing.
    #[error("{reason}")]
    MalformedTrailer { reason: String },
    /// A header describing the body (`content-length`, `x-amz-decoded-content-length`,
    /// `x-amz-trailer`) has an invalid value.
    #[error("invalid {name} header")]
    InvalidBodyHeader { name: &'static str },
    /// A body read whole ([`super::RequestBody::read_to_end`]) is over its limit.
    #[error("request body too large")]
    BodyTooLarge,
}

impl AuthError {
    /// A stable name for the kind of failure (the variant's name), for logs and for APIs that
    /// answer in another format than S3's.
    pub fn code(&self) -> &'static str {
        use AuthError::*;
        match self {
            Anonymous => "Anonymous",
            MultipleAuthorizationHeaders => "MultipleAuthorizationHeaders",
            MultipleAuthMechanisms { .. } => "MultipleAuthMechanisms",
            UnsupportedAuthorizationType => "UnsupportedAuthorizationType",
            SigV4aNotImplemented => "SigV4aNotImplemented",
            Malformed { .. } => "Malformed",
            WrongRegion { .. } => "WrongRegion",
            MalformedSigV2Authorization => "MalformedSigV2Authorization",
            DuplicateSigV2Parameter { .. } => "DuplicateSigV2Parameter",
            IncompleteSigV2Query => "IncompleteSigV2Query",
            InvalidSigV2Expires => "InvalidSigV2Expires",
            MissingContentSha256 => "MissingContentSha256",
            UnreadableContentSha256 => "UnreadableContentSha256",
            InvalidContentSha256 => "InvalidContentSha256",
            MalformedAmzDate => "MalformedAmzDate",
            MissingDate => "MissingDate",
            RequestTimeTooSkewed { .. } => "RequestTimeTooSkewed",
            PresignedNotYetValid => "PresignedNotYetValid",
            PresignedExpired { .. } => "PresignedExpired",
            PresignedLifetimeTooLong { .. } => "PresignedLifetimeTooLong",
            SessionTokenNotSupported => "SessionTokenNotSupported",
            InvalidToken => "InvalidToken",
            UnknownAccessKey { .. } => "UnknownAccessKey",
            UnsignedHeaders { .. } => "UnsignedHeaders",
            SignatureMismatch { .. } => "SignatureMismatch",
            BodyReadTimeout => "BodyReadTimeout",
            IncompleteBody { .. } => "IncompleteBody",
            ContentSha256Mismatch => "ContentSha256Mismatch",
            ChunkSignatureMismatch => "ChunkSignatureMismatch",
            TrailerNotSigned => "TrailerNotSigned",
            MalformedChunkedBody { .. } => "MalformedChunkedBody",
            MalformedTrailer { .. } => "MalformedTrailer",
            InvalidBodyHeader { .. } => "InvalidBodyHeader",
            BodyTooLarge => "BodyTooLarge",
        }
    }

    /// The HTTP status to answer with: 403 when the client is not who it claims or may not send
    /// this request (no signature, unknown key, wrong signature, bad time), 501 for SigV4a, 400
    /// when the request is malformed.
    pub fn status(&self) -> StatusCode {
        use AuthError::*;
        match self {
            Anonymous
            | MalformedAmzDate
            | MissingDate
            | RequestTimeTooSkewed { .. }
            | PresignedNotYetValid
            | PresignedExpired { .. }
            | PresignedLifetimeTooLong { .. }
            | IncompleteSigV2Query
            | InvalidSigV2Expires
            | SessionTokenNotSupported
            | UnknownAccessKey { .. }
            | UnsignedHeaders { .. }
            | SignatureMismatch { .. }
            | ChunkSignatureMismatch
            | TrailerNotSigned => StatusCode::FORBIDDEN,
            SigV4aNotImplemented => StatusCode::NOT_IMPLEMENTED,
            MultipleAuthorizationHeaders
            | InvalidToken
            | MultipleAuthMechanisms { .. }
            | UnsupportedAuthorizationType
            | Malformed { .. }
            | WrongRegion { .. }
            | MalformedSigV2Authorization
            | DuplicateSigV2Parameter { .. }
            | MissingContentSha256
            | UnreadableContentSha256
            | InvalidContentSha256
            | BodyReadTimeout
            | IncompleteBody { .. }
            | ContentSha256Mismatch
            | MalformedChunkedBody { .. }
            | MalformedTrailer { .. }
            | InvalidBodyHeader { .. }
            | BodyTooLarge => StatusCode::BAD_REQUEST,
        }
    }
}

fn multiple_mechanisms_message(with_header: bool) -> &'static str {
    if with_header {
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature \
         query string parameter or the Authorization header should be specified"
    } else {
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the \
         Signature query string parameter should be specified"
    }
}

fn wrong_region_message(location: SignatureLocation, signed: &str, expected: &str) -> String {
    match location {
        SignatureLocation::Header => format!(
            "The authorization header is malformed; the region '{signed}' is wrong; expecting \
             '{expected}'"
        ),
        SignatureLocation::Query => format!(
            "Error parsing the X-Amz-Credential parameter; the region '{signed}' is wrong; \
             expecting '{expected}'"
        ),
        SignatureLocation::Form => {
            format!("the region '{signed}' is wrong; expecting '{expected}'")
        }
    }
}
