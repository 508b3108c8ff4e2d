//! The S3 error type: every failure a request can meet, with its S3 code, HTTP status and XML body.
//!
//! Lower layers (store, auth) have their own error enums; they convert into [`S3Error`] here, in
//! one place, so the mapping from "what went wrong" to "what the client sees" is easy to audit.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::auth::{AuthError, SignatureLocation};
use crate::store::NameError;
use crate::store::names::MAX_KEY_LEN;

/// S3 error codes lakegate answers with, each tied to its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3ErrorCode {
    AccessDenied,
    AccessControlListNotSupported,
    AccessForbidden,
    BadRequest,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    ConditionalRequestConflict,
    CrossLocationLoggingProhibited,
    EntityTooLarge,
    EntityTooSmall,
    IllegalLocationConstraintException,
    IllegalVersioningConfigurationException,
    IncompleteBody,
    InternalError,
    InvalidAccessKeyId,
    InvalidToken,
    InvalidArgument,
    InvalidBucketAclWithObjectOwnership,
    InvalidBucketName,
    InvalidBucketState,
    InvalidDigest,
    InvalidObjectState,
    InvalidPart,
    InvalidPartOrder,
    InvalidPartNumber,
    InvalidPolicyDocument,
    InvalidRange,
    InvalidRequest,
    InvalidRetentionPeriod,
    InvalidStorageClass,
    InvalidTargetBucketForLogging,
    InvalidTag,
    InvalidURI,
    KeyTooLongError,
    /// SSE-KMS names a key the KMS does not have (`KMS.NotFoundException`, 400).
    KmsNotFound,
    /// SSE-KMS or SSE-S3 asked of a gateway without a KMS (`KMS.DisabledException`, 400).
    KmsDisabled,
    MalformedACLError,
    MalformedPOSTRequest,
    MalformedPolicy,
    MalformedTrailerError,
    MalformedXML,
    MaxPostPreDataLengthExceeded,
    MetadataTooLarge,
    MethodNotAllowed,
    MissingContentLength,
    MissingRequestBodyError,
    MissingSecurityHeader,
    NoSuchBucket,
    NoSuchBucketPolicy,
    NoSuchCORSConfiguration,
    NoSuchKey,
    NoSuchLifecycleConfiguration,
    NoSuchObjectLockConfiguration,
    NoSuchPublicAccessBlockConfiguration,
    NoSuchTagSet,
    NoSuchUpload,
    NoSuchVersion,
    NotImplemented,
    NotModified,
    ObjectLockConfigurationNotFoundError,
    OwnershipControlsNotFoundError,
    PreconditionFailed,
    RequestHeaderSectionTooLarge,
    RequestTimeout,
    RequestTimeTooSkewed,
    ServerSideEncryptionConfigurationNotFoundError,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    UnresolvableGrantByEmailAddress,
    XAmzContentSHA256Mismatch,
    /// MinIO's answer when the drive is full (HTTP 507); mc and MinIO SDKs know it.
    XMinioStorageFull,
}

impl S3ErrorCode {
    /// The code as it appears in `<Code>`.
    pub fn as_str(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "AccessDenied",
            AccessForbidden => "AccessForbidden",
            AccessControlListNotSupported => "AccessControlListNotSupported",
            InvalidBucketAclWithObjectOwnership => "InvalidBucketAclWithObjectOwnership",
            MalformedACLError => "MalformedACLError",
            NoSuchPublicAccessBlockConfiguration => "NoSuchPublicAccessBlockConfiguration",
            OwnershipControlsNotFoundError => "OwnershipControlsNotFoundError",
            UnresolvableGrantByEmailAddress => "UnresolvableGrantByEmailAddress",
            BadRequest => "BadRequest",
            NoSuchCORSConfiguration => "NoSuchCORSConfiguration",
            NoSuchBucketPolicy => "NoSuchBucketPolicy",
            MalformedPolicy => "MalformedPolicy",
            AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            BadDigest => "BadDigest",
            BucketAlreadyExists => "BucketAlreadyExists",
            BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
            BucketNotEmpty => "BucketNotEmpty",
            ConditionalRequestConflict => "ConditionalRequestConflict",
            CrossLocationLoggingProhibited => "CrossLocationLoggingProhibited",
            EntityTooLarge => "EntityTooLarge",
            EntityTooSmall => "EntityTooSmall",
            IllegalLocationConstraintException => "IllegalLocationConstraintException",
            IllegalVersioningConfigurationException => "IllegalVersioningConfigurationException",
            IncompleteBody => "IncompleteBody",
            InternalError => "InternalError",
            InvalidAccessKeyId => "InvalidAccessKeyId",
            InvalidToken => "InvalidToken",
            InvalidArgument => "InvalidArgument",
            InvalidBucketName => "InvalidBucketName",
            InvalidBucketState => "InvalidBucketState",
            InvalidDigest => "InvalidDigest",
            InvalidObjectState => "InvalidObjectState",
            InvalidPart => "InvalidPart",
            InvalidPartOrder => "InvalidPartOrder",
            InvalidPartNumber => "InvalidPartNumber",
            InvalidRange => "InvalidRange",
            InvalidRequest => "InvalidRequest",
            InvalidRetentionPeriod => "InvalidRetentionPeriod",
            InvalidStorageClass => "InvalidStorageClass",
            InvalidTargetBucketForLogging => "InvalidTargetBucketForLogging",
            InvalidTag => "InvalidTag",
            InvalidURI => "InvalidURI",
            KeyTooLongError => "KeyTooLongError",
            KmsNotFound => "KMS.NotFoundException",
            KmsDisabled => "KMS.DisabledException",
            ServerSideEncryptionConfigurationNotFoundError => {
                "ServerSideEncryptionConfigurationNotFoundError"
            }
            MalformedTrailerError => "MalformedTrailerError",
            MalformedXML => "MalformedXML",
            MalformedPOSTRequest => "MalformedPOSTRequest",
            MaxPostPreDataLengthExceeded => "MaxPostPreDataLengthExceeded",
            InvalidPolicyDocument => "InvalidPolicyDocument",
            MetadataTooLarge => "MetadataTooLarge",
            MethodNotAllowed => "MethodNotAllowed",
            MissingContentLength => "MissingContentLength",
            MissingRequestBodyError => "MissingRequestBodyError",
            MissingSecurityHeader => "MissingSecurityHeader",
            NoSuchBucket => "NoSuchBucket",
            NoSuchKey => "NoSuchKey",
            NoSuchLifecycleConfiguration => "NoSuchLifecycleConfiguration",
            NoSuchObjectLockConfiguration => "NoSuchObjectLockConfiguration",
            NoSuchTagSet => "NoSuchTagSet",
            NoSuchUpload => "NoSuchUpload",
            NoSuchVersion => "NoSuchVersion",
            NotImplemented => "NotImplemented",
            NotModified => "NotModified",
            ObjectLockConfigurationNotFoundError => "ObjectLockConfigurationNotFoundError",
            PreconditionFailed => "PreconditionFailed",
            RequestHeaderSectionTooLarge => "RequestHeaderSectionTooLarge",
            RequestTimeout => "RequestTimeout",
            RequestTimeTooSkewed => "RequestTimeTooSkewed",
            ServiceUnavailable => "ServiceUnavailable",
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
            XMinioStorageFull => "XMinioStorageFull",
        }
    }

    /// The HTTP status AWS answers this code with.
    pub fn status(self) -> StatusCode {
        use S3ErrorCode::*;
        match self {
            AccessDenied
            | AccessForbidden
            | InvalidAccessKeyId
            | RequestTimeTooSkewed
            | SignatureDoesNotMatch
            | CrossLocationLoggingProhibited
            | InvalidObjectState => StatusCode::FORBIDDEN,
            BucketAlreadyExists
            | BucketAlreadyOwnedByYou
            | BucketNotEmpty
            | ConditionalRequestConflict
            | InvalidBucketState => StatusCode::CONFLICT,
            InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            InvalidRange | InvalidPartNumber => StatusCode::RANGE_NOT_SATISFIABLE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            MissingContentLength => StatusCode::LENGTH_REQUIRED,
            NoSuchBucket
            | NoSuchBucketPolicy
            | NoSuchCORSConfiguration
            | NoSuchKey
            | NoSuchLifecycleConfiguration
            | NoSuchObjectLockConfiguration
            | NoSuchPublicAccessBlockConfiguration
            | OwnershipControlsNotFoundError
            | NoSuchTagSet
            | NoSuchUpload
            | NoSuchVersion
            | ServerSideEncryptionConfigurationNotFoundError
            | ObjectLockConfigurationNotFoundError => StatusCode::NOT_FOUND,
            NotImplemented => StatusCode::NOT_IMPLEMENTED,
            NotModified => StatusCode::NOT_MODIFIED,
            PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            XMinioStorageFull => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The default human message for this code.
    pub fn default_message(self) -> &'static str {
        use S3ErrorCode::*;
        match self {
            AccessDenied => "Access Denied.",
            AccessControlListNotSupported => "The bucket does not allow ACLs",
            InvalidBucketAclWithObjectOwnership => {
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
            }
            MalformedACLError => {
                "The XML you provided was not well-formed or did not validate against our published schema"
            }
            NoSuchPublicAccessBlockConfiguration => {
                "The public access block configuration was not found"
            }
            OwnershipControlsNotFoundError => "The bucket ownership controls were not found",
            CrossLocationLoggingProhibited => {
                "Cross S3 location logging not allowed: the target bucket is in another region"
            }
            InvalidTargetBucketForLogging => "The target bucket for logging does not exist",
            UnresolvableGrantByEmailAddress => {
                "The e-mail address you provided does not match any account on record."
            }
            BadDigest => {
                "The Content-MD5 or checksum you specified did not match what we received."
            }
            BucketAlreadyOwnedByYou => {
                "Your previous request to create the named bucket succeeded and you already own it."
            }
            BucketNotEmpty => "The bucket you tried to delete is not empty.",
            EntityTooSmall => {
                "Your proposed upload is smaller than the minimum allowed object size."
            }
            IncompleteBody => {
                "You did not provide the number of bytes specified by the Content-Length HTTP header."
            }
            InternalError => "We encountered an internal error. Please try again.",
            XMinioStorageFull => {
                "Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed."
            }
            RequestTimeout => {
                "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."
            }
            InvalidAccessKeyId => {
                "The AWS Access Key Id you provided does not exist in our records."
            }
            InvalidToken => "The provided token is malformed or otherwise invalid.",
            InvalidBucketName => "The specified bucket is not valid.",
            InvalidPart => {
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
            }
            InvalidPartOrder => "The list of parts was not in ascending order.",
            InvalidPartNumber => "The requested partnumber is not satisfiable",
            InvalidRange => "The requested range is not satisfiable",
            KeyTooLongError => "Your key is too long.",
            MalformedXML => {
                "The XML you provided was not well-formed or did not validate against our published schema."
            }
            MethodNotAllowed => "The specified method is not allowed against this resource.",
            MalformedPOSTRequest => {
                "The body of your POST request is not well-formed multipart/form-data."
            }
            MaxPostPreDataLengthExceeded => {
                "Your POST request fields preceeding the upload file was too large."
            }
            MissingContentLength => "You must provide the Content-Length HTTP header.",
            NoSuchBucket => "The specified bucket does not exist.",
            NoSuchKey => "The specified key does not exist.",
            NoSuchTagSet => "The TagSet does not exist.",
            NoSuchCORSConfiguration => "The CORS configuration does not exist",
            NoSuchBucketPolicy => "The bucket policy does not exist",
            MalformedPolicy => "Policies must be valid JSON and the first byte must be '{'",
            NoSuchUpload => {
                "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed."
            }
            NoSuchVersion => "The specified version does not exist.",
            ServerSideEncryptionConfigurationNotFoundError => {
                "The server side encryption configuration was not found"
            }
            KmsDisabled => "Server-side encryption with the gateway's KMS is not configured.",
            NotImplemented => {
                "A header or query you provided implies functionality that is not implemented."
            }
            ObjectLockConfigurationNotFoundError => {
                "Object Lock configuration does not exist for this bucket."
            }
            PreconditionFailed => "At least one of the pre-conditions you specified did not hold.",
            RequestTimeTooSkewed => {
                "The difference between the request time and the server's time is too large."
            }
            SignatureDoesNotMatch => {
                "The request signature we calculated does not match the signature you provided. Check your key and signing method."
            }
            XAmzContentSHA256Mismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            }
            _ => "",
        }
    }
}

impl fmt::Display for S3ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An S3 error answer: code, message, and what the client needs to see with it.
#[derive(Debug, Clone)]
pub struct S3Error {
    pub code: S3ErrorCode,
    pub message: String,
    /// Extra response headers (e.g. `x-amz-delete-marker`, `Allow`, `Last-Modified`).
    pub headers: HeaderMap,
    /// Extra `<Name>value</Name>` elements in the XML body (e.g. `<Key>`, `<BucketName>`).
    pub details: Vec<(&'static str, String)>,
}

impl S3Error {
    pub fn new(code: S3ErrorCode) -> Self {
        S3Error {
            code,
            message: code.default_message().to_string(),
            headers: HeaderMap::new(),
            details: Vec::new(),
        }
    }

    pub fn with_message(code: S3ErrorCode, message: impl Into<String>) -> Self {
        S3Error {
            message: message.into(),
            ..S3Error::new(code)
        }
    }

    /// Shorthand for `InvalidArgument` with a message.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::with_message(S3ErrorCode::InvalidArgument, message)
    }

    /// Shorthand for `InvalidRequest` with a message.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::with_message(S3ErrorCode::InvalidRequest, message)
    }

    /// Shorthand for `NotImplemented` naming what is not implemented.
    pub fn not_implemented(what: impl fmt::Display) -> Self {
        Self::with_message(
            S3ErrorCode::NotImplemented,
            format!("{what} is not implemented by lakegate."),
        )
    }

    /// An internal error: logged with its cause, answered without it.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(S3ErrorCode::InternalError)
    }

    pub fn with_detail(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.details.push((name, value.into()));
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The XML body for this error.
    pub fn to_xml(&self, resource: &str, request_id: &str) -> String {
        let mut s = String::with_capacity(256);
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        s.push_str(self.code.as_str());
        s.push_str("</Code><Message>");
        s.push_str(&xml_escape(&self.message));
        s.push_str("</Message>");
        for (name, value) in &self.details {
            s.push('<');
            s.push_str(name);
            s.push('>');
            s.push_str(&xml_escape(value));
            s.push_str("</");
            s.push_str(name);
            s.push('>');
        }
        s.push_str("<Resource>");
        s.push_str(&xml_escape(resource));
        s.push_str("</Resource><RequestId>");
        s.push_str(&xml_escape(request_id));
        s.push_str("</RequestId><HostId>lakegate</HostId></Error>");
        s
    }
}

impl From<S3ErrorCode> for S3Error {
    fn from(code: S3ErrorCode) -> Self {
        S3Error::new(code)
    }
}

/// The store's naming rules, answered as S3 does (the router checks names before any work, so a
/// request meets these here; a store write refused for its name maps the same way).
impl From<NameError> for S3Error {
    fn from(e: NameError) -> Self {
        match e {
            NameError::BucketName { name, reason } => S3Error::with_message(
                S3ErrorCode::InvalidBucketName,
                format!("The specified bucket is not valid: {reason}"),
            )
            .with_detail("BucketName", name),
            NameError::KeyEmpty => S3Error::invalid_argument("Object key must not be empty"),
            NameError::KeyTooLong(len) => S3Error::new(S3ErrorCode::KeyTooLongError)
                .with_detail("MaxSizeAllowed", MAX_KEY_LEN.to_string())
                .with_detail("Size", len.to_string()),
            NameError::KeyUnrepresentable => S3Error::invalid_argument(
                "Object key contains NUL, a control character XML cannot carry, or a Unicode non-character; lakegate does not accept it.",
            ),
            NameError::KeyDotSegment => S3Error::invalid_argument(
                "Object key contains a '.' or '..' path segment, which lakegate does not accept.",
            ),
        }
    }
}

/// Authentication and body-verification failures, answered as AWS S3 answers them (codes,
/// messages and the extra elements SDKs and users rely on to fix a signature).
impl From<AuthError> for S3Error {
    fn from(e: AuthError) -> Self {
        use S3ErrorCode as C;
        let message = e.to_string();
        match e {
            AuthError::Anonymous => S3Error::new(C::AccessDenied),
            AuthError::MultipleAuthorizationHeaders
            | AuthError::MultipleAuthMechanisms { .. }
            | AuthError::UnsupportedAuthorizationType
            | AuthError::MalformedSigV2Authorization
            | AuthError::DuplicateSigV2Parameter { .. }
            | AuthError::UnreadableContentSha256
            | AuthError::InvalidContentSha256
            | AuthError::InvalidBodyHeader { .. } => {
                S3Error::with_message(C::InvalidArgument, message)
            }
            AuthError::SigV4aNotImplemented => S3Error::not_implemented("SigV4a"),
            AuthError::Malformed { location, .. } => {
                S3Error::with_message(malformed_code(location), message)
            }
            AuthError::WrongRegion {
                location, expected, ..
            } => S3Error::with_message(malformed_code(location), message)
                .with_detail("Region", expected),
            AuthError::IncompleteSigV2Query
            | AuthError::InvalidSigV2Expires
            | AuthError::MalformedAmzDate
            | AuthError::MissingDate
            | AuthError::PresignedNotYetValid => S3Error::with_message(C::AccessDenied, message),
            AuthError::MissingContentSha256
            | AuthError::MalformedChunkedBody { .. }
            | AuthError::BodyTooLarge => S3Error::with_message(C::InvalidRequest, message),
            AuthError::RequestTimeTooSkewed {
                request_time,
                server_time,
                max_skew,
            } => S3Error::new(C::RequestTimeTooSkewed)
                .with_detail("RequestTime", request_time)
                .with_detail("ServerTime", server_time)
                .with_detail(
                    "MaxAllowedSkewMilliseconds",
                    max_skew.as_millis().to_string(),
                ),
            AuthError::PresignedExpired {
                lifetime_secs,
                expires,
                server_time,
            } => {
                let mut err = S3Error::with_message(C::AccessDenied, message);
                if let Some(secs) = lifetime_secs {
                    err = err.with_detail("X-Amz-Expires", secs.to_string());
                }
                if let Some(expires) = expires {
                    err = err.with_detail("Expires", expires);
                }
                err.with_detail("ServerTime", server_time)
            }
            AuthError::PresignedLifetimeTooLong {
                expires,
                server_time,
                ..
            } => S3Error::with_message(C::AccessDenied, message)
                .with_detail("Expires", expires)
                .with_detail("ServerTime", server_time),
            AuthError::SessionTokenNotSupported => {
                S3Error::with_message(C::InvalidAccessKeyId, message)
            }
            AuthError::UnknownAccessKey { .. } => S3Error::new(C::InvalidAccessKeyId),
            AuthError::InvalidToken => S3Error::new(C::InvalidToken),
            AuthError::UnsignedHeaders { names } => S3Error::with_message(C::AccessDenied, message)
                .with_detail("HeadersNotSigned", names.join(", ")),
            AuthError::SignatureMismatch {
                access_key,
                string_to_sign,
                signature_provided,
                canonical_request,
            } => {
                let err = S3Error::new(C::SignatureDoesNotMatch)
                    .with_detail("AWSAccessKeyId", access_key)
                    .with_detail("StringToSign", string_to_sign)
                    .with_detail("SignatureProvided", signature_provided);
                match canonical_request {
                    Some(c) => err.with_detail("CanonicalRequest", c),
                    None => err,
                }
            }
            AuthError::ChunkSignatureMismatch | AuthError::TrailerNotSigned => {
                S3Error::with_message(C::SignatureDoesNotMatch, message)
            }
            AuthError::BodyReadTimeout => S3Error::new(C::RequestTimeout),
            AuthError::IncompleteBody { .. } => S3Error::new(C::IncompleteBody),
            AuthError::ContentSha256Mismatch => S3Error::new(C::XAmzContentSHA256Mismatch),
            AuthError::MalformedTrailer { .. } => {
                S3Error::with_message(C::MalformedTrailerError, message)
            }
        }
    }
}

/// SigV4 parameters that cannot be parsed: the code names where they were.
fn malformed_code(location: SignatureLocation) -> S3ErrorCode {
    match location {
        SignatureLocation::Header => S3ErrorCode::AuthorizationHeaderMalformed,
        SignatureLocation::Query => S3ErrorCode::AuthorizationQueryParametersError,
        SignatureLocation::Form => S3ErrorCode::InvalidArgument,
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for S3Error {}

/// Escapes text for inclusion in XML element content or attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped as text; use a
            // character reference that parsers accept for the ones that are legal.
            '\t' | '\n' | '\r' => {
                out.push_str(&format!("&#x{:X};", c as u32));
            }
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("&#x{:X};", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

pub type S3Result<T> = Result<T, S3Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_xml_has_code_message_resource_and_request_id() {
        let e = S3Error::new(S3ErrorCode::NoSuchKey).with_detail("Key", "a<b");
        let xml = e.to_xml("/bucket/a<b", "req-1");
        assert!(xml.contains("<Code>NoSuchKey</Code>"));
        assert!(xml.contains("<Key>a&lt;b</Key>"));
        assert!(xml.contains("<Resource>/bucket/a&lt;b</Resource>"));
        assert!(xml.contains("<RequestId>req-1</RequestId>"));
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
    }

    /// Every authentication failure answers with the S3 code, status, message and extra elements
    /// AWS gives (and lakegate gave when auth built S3 errors itself); the status hint of
    /// [`AuthError`] agrees with it.
    #[test]
    fn auth_errors_map_to_s3_answers() {
        use crate::auth::{AuthError as A, SignatureLocation as L};
        use S3ErrorCode as C;
        use std::time::Duration;
        type Details = Vec<(&'static str, String)>;
        let d = |pairs: &[(&'static str, &str)]| -> Details {
            pairs.iter().map(|(n, v)| (*n, v.to_string())).collect()
        };
        let cases: Vec<(A, C, &str, Details)> = vec![
            (A::Anonymous, C::AccessDenied, "Access Denied.", vec![]),
            (
                A::MultipleAuthorizationHeaders,
                C::InvalidArgument,
                "Only one Authorization header may be specified",
                vec![],
            ),
            (
                A::MultipleAuthMechanisms { with_header: true },
                C::InvalidArgument,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
                 Signature query string parameter or the Authorization header should be specified",
                vec![],
            ),
            (
                A::MultipleAuthMechanisms { with_header: false },
                C::InvalidArgument,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the \
                 Signature query string parameter should be specified",
                vec![],
            ),
            (
                A::UnsupportedAuthorizationType,
                C::InvalidArgument,
                "Unsupported Authorization Type",
                vec![],
            ),
            (
                A::SigV4aNotImplemented,
                C::NotImplemented,
                "SigV4a is not implemented by lakegate.",
                vec![],
            ),
            (
                A::Malformed {
                    location: L::Header,
                    reason: "The authorization header is malformed; it is empty.".into(),
                },
                C::AuthorizationHeaderMalformed,
                "The authorization header is malformed; it is empty.",
                vec![],
            ),
            (
                A::Malformed {
                    location: L::Query,
                    reason: "X-Amz-Expires should be a number".into(),
                },
                C::AuthorizationQueryParametersError,
                "X-Amz-Expires should be a number",
                vec![],
            ),
            (
                A::WrongRegion {
                    location: L::Header,
                    signed: "eu-west-3".into(),
                    expected: "us-east-1".into(),
                },
                C::AuthorizationHeaderMalformed,
                "The authorization header is malformed; the region 'eu-west-3' is wrong; \
                 expecting 'us-east-1'",
                d(&[("Region", "us-east-1")]),
            ),
            (
                A::WrongRegion {
                    location: L::Query,
                    signed: "eu-west-3".into(),
                    expected: "us-east-1".into(),
                },
                C::AuthorizationQueryParametersError,
                "Error parsing the X-Amz-Credential parameter; the region 'eu-west-3' is wrong; \
                 expecting 'us-east-1'",
                d(&[("Region", "us-east-1")]),
            ),
            (
                A::MalformedSigV2Authorization,
                C::InvalidArgument,
                "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                vec![],
            ),
            (
                A::DuplicateSigV2Parameter {
                    name: "Expires".into(),
                },
                C::InvalidArgument,
                "Expires appears more than once in the query",
                vec![],
            ),
            (
                A::IncompleteSigV2Query,
                C::AccessDenied,
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId \
                 parameters",
                vec![],
            ),
            (
                A::InvalidSigV2Expires,
                C::AccessDenied,
                "Invalid date (should be seconds since epoch)",
                vec![],
            ),
            (
                A::MissingContentSha256,
                C::InvalidRequest,
                "Missing required header for this request: x-amz-content-sha256",
                vec![],
            ),
            (
                A::UnreadableContentSha256,
                C::InvalidArgument,
                "x-amz-content-sha256 is not valid",
                vec![],
            ),
            (
                A::InvalidContentSha256,
                C::InvalidArgument,
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
                 STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or \
                 a valid sha256 value.",
                vec![],
            ),
            (
                A::MalformedAmzDate,
                C::AccessDenied,
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
                vec![],
            ),
            (
                A::MissingDate,
                C::AccessDenied,
                "AWS authentication requires a valid Date or x-amz-date header",
                vec![],
            ),
            (
                A::RequestTimeTooSkewed {
                    request_time: "20130524T000000Z".into(),
                    server_time: "20130524T001501Z".into(),
                    max_skew: Duration::from_secs(900),
                },
                C::RequestTimeTooSkewed,
                "The difference between the request time and the server's time is too large.",
                d(&[
                    ("RequestTime", "20130524T000000Z"),
                    ("ServerTime", "20130524T001501Z"),
                    ("MaxAllowedSkewMilliseconds", "900000"),
                ]),
            ),
            (
                A::PresignedNotYetValid,
                C::AccessDenied,
                "Request is not valid yet",
                vec![],
            ),
            (
                A::PresignedExpired {
                    lifetime_secs: Some(86400),
                    expires: Some("20130525T000000Z".into()),
                    server_time: "20130525T000001Z".into(),
                },
                C::AccessDenied,
                "Request has expired",
                d(&[
                    ("X-Amz-Expires", "86400"),
                    ("Expires", "20130525T000000Z"),
                    ("ServerTime", "20130525T000001Z"),
                ]),
            ),
            (
                A::PresignedExpired {
                    lifetime_secs: Some(u64::MAX),
                    expires: None,
                    server_time: "20130525T000001Z".into(),
                },
                C::AccessDenied,
                "Request has expired",
                d(&[
                    ("X-Amz-Expires", &u64::MAX.to_string()),
                    ("ServerTime", "20130525T000001Z"),
                ]),
            ),
            (
                A::PresignedExpired {
                    lifetime_secs: None,
                    expires: Some("1175139620".into()),
                    server_time: "20070329T034701Z".into(),
                },
                C::AccessDenied,
                "Request has expired",
                d(&[
                    ("Expires", "1175139620"),
                    ("ServerTime", "20070329T034701Z"),
                ]),
            ),
            (
                A::PresignedLifetimeTooLong {
                    max_secs: 604_800,
                    expires: "1175139620".into(),
                    server_time: "20070322T034659Z".into(),
                },
                C::AccessDenied,
                "Expires must be less than a week (604800 seconds) in the future",
                d(&[
                    ("Expires", "1175139620"),
                    ("ServerTime", "20070322T034659Z"),
                ]),
            ),
            (
                A::SessionTokenNotSupported,
                C::InvalidAccessKeyId,
                "Temporary security credentials (session tokens) are supported with Signature Version 4 only.",
                vec![],
            ),
            (
                A::InvalidToken,
                C::InvalidToken,
                "The provided token is malformed or otherwise invalid.",
                vec![],
            ),
            (
                A::UnknownAccessKey {
                    access_key: "NOPE".into(),
                },
                C::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
                vec![],
            ),
            (
                A::UnsignedHeaders {
                    names: vec!["x-amz-copy-source".into(), "x-amz-object-lock-mode".into()],
                },
                C::AccessDenied,
                "There were headers present in the request which were not signed",
                d(&[(
                    "HeadersNotSigned",
                    "x-amz-copy-source, x-amz-object-lock-mode",
                )]),
            ),
            (
                A::SignatureMismatch {
                    access_key: "AK".into(),
                    string_to_sign: "AWS4-HMAC-SHA256\n…".into(),
                    signature_provided: "00".into(),
                    canonical_request: Some("GET\n/\n…".into()),
                },
                C::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. \
                 Check your key and signing method.",
                d(&[
                    ("AWSAccessKeyId", "AK"),
                    ("StringToSign", "AWS4-HMAC-SHA256\n…"),
                    ("SignatureProvided", "00"),
                    ("CanonicalRequest", "GET\n/\n…"),
                ]),
            ),
            (
                A::SignatureMismatch {
                    access_key: "AK".into(),
                    string_to_sign: "GET\n…".into(),
                    signature_provided: "c2ln".into(),
                    canonical_request: None,
                },
                C::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. \
                 Check your key and signing method.",
                d(&[
                    ("AWSAccessKeyId", "AK"),
                    ("StringToSign", "GET\n…"),
                    ("SignatureProvided", "c2ln"),
                ]),
            ),
            (
                A::BodyReadTimeout,
                C::RequestTimeout,
                "Your socket connection to the server was not read from or written to within the \
                 timeout period. Idle connections will be closed.",
                vec![],
            ),
            (
                A::IncompleteBody {
                    detail: "the body ended inside a chunk",
                },
                C::IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP \
                 header.",
                vec![],
            ),
            (
                A::ContentSha256Mismatch,
                C::XAmzContentSHA256Mismatch,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                vec![],
            ),
            (
                A::ChunkSignatureMismatch,
                C::SignatureDoesNotMatch,
                "The chunk signature we calculated does not match the signature you provided.",
                vec![],
            ),
            (
                A::TrailerNotSigned,
                C::SignatureDoesNotMatch,
                "The trailing headers are not signed (x-amz-trailer-signature is missing).",
                vec![],
            ),
            (
                A::MalformedChunkedBody {
                    reason: "malformed aws-chunked chunk header".into(),
                },
                C::InvalidRequest,
                "malformed aws-chunked chunk header",
                vec![],
            ),
            (
                A::MalformedTrailer {
                    reason: "a trailing header line has no ':'".into(),
                },
                C::MalformedTrailerError,
                "a trailing header line has no ':'",
                vec![],
            ),
            (
                A::InvalidBodyHeader {
                    name: "x-amz-decoded-content-length",
                },
                C::InvalidArgument,
                "invalid x-amz-decoded-content-length header",
                vec![],
            ),
            (
                A::BodyTooLarge,
                C::InvalidRequest,
                "request body too large",
                vec![],
            ),
        ];
        for (auth, code, message, details) in cases {
            let status = auth.status();
            let what = format!("{auth:?}");
            let e = S3Error::from(auth);
            assert_eq!(e.code, code, "{what}");
            assert_eq!(e.message, message, "{what}");
            assert_eq!(e.details, details, "{what}");
            assert!(e.headers.is_empty(), "{what}");
            assert_eq!(e.status(), status, "{what}");
        }
    }

    #[test]
    fn statuses_match_aws() {
        assert_eq!(S3ErrorCode::PreconditionFailed.status(), 412);
        assert_eq!(S3ErrorCode::NotImplemented.status(), 501);
        assert_eq!(S3ErrorCode::InvalidRange.status(), 416);
        assert_eq!(S3ErrorCode::BucketNotEmpty.status(), 409);
        assert_eq!(S3ErrorCode::SignatureDoesNotMatch.status(), 403);
        assert_eq!(S3ErrorCode::MissingContentLength.status(), 411);
        assert_eq!(S3ErrorCode::MalformedXML.status(), 400);
    }
}
