//! STS on the S3 port: `AssumeRole` (`POST /` with a form body, or the same parameters in the
//! query, SigV4-signed for the service `sts`), as the AWS CLI, the SDKs and MinIO's clients send
//! it.
//!
//! A user gets temporary credentials: an access key, a secret and a session token, valid for
//! `DurationSeconds` (900 to 43,200; 3,600 by default). They may do what the user may, narrowed
//! by the session `Policy` when one is given, and sign only together with their token (SigV4;
//! `auth::check_session_token`). They are stored as an access key of the user with the token's
//! SHA-256, refused once expired (by the data plane's clock) and swept at the next AssumeRole.

use axum::body::Body;
use http::{HeaderValue, Method, Response, StatusCode};

use crate::auth::{self, CredentialStore, RequestBody};
use crate::clock::{Clock, Fraction, iso8601};
use crate::iam::identity::{NewAccessKey, random_string};
use crate::iam::{Caller, IamError, Identities, KeyOwner};
use crate::s3::error::xml_escape;
use std::sync::Arc;

const MIN_DURATION: i64 = 900;
const MAX_DURATION: i64 = 43_200;
const DEFAULT_DURATION: i64 = 3_600;
/// AWS's limit on a session policy.
const MAX_SESSION_POLICY: usize = 2_048;
const MAX_BODY: usize = 64 * 1024;
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// What STS works on.
pub struct StsApi {
    pub credentials: CredentialStore,
    pub identities: Arc<Identities>,
    pub region: String,
    pub clock: Arc<Clock>,
    pub body_read_timeout: std::time::Duration,
}

/// Whether a request is for STS: a path-style `POST /` (S3 has no such operation).
pub fn is_sts_request(method: &Method, path: &str, vhost_bucket: Option<&str>) -> bool {
    method == Method::POST && path == "/" && vhost_bucket.is_none()
}

/// A refusal, in STS's XML.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StsError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl StsError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        StsError {
            status,
            code,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> Self {
        StsError::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    fn render(&self, request_id: &str) -> Response<Body> {
        let kind = if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            self.code,
            xml_escape(&self.message),
            xml_escape(request_id)
        );
        xml(self.status, body)
    }
}

fn xml(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    r
}

/// Handles one STS request.
pub async fn handle(
    api: &StsApi,
    parts: http::request::Parts,
    body: Body,
    request_id: &str,
) -> Response<Body> {
    match run(api, parts, body, request_id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(code = e.code, message = %e.message, "STS request refused");
            e.render(request_id)
        }
    }
}

/// The form's and the query's parameters, percent-decoded (`+` is a space).
fn parameters(raw: &[&str]) -> Vec<(String, String)> {
    let dec = |s: &str| String::from_utf8_lossy(&auth::decode_query_component(s)).into_owned();
    raw.iter()
        .flat_map(|r| r.split('&'))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect()
}

async fn run(
    api: &StsApi,
    mut parts: http::request::Parts,
    body: Body,
    request_id: &str,
) -> Result<Response<Body>, StsError> {
    crate::s3::check_header_section(&parts).map_err(|e| StsError::validation(e.message.clone()))?;
    // STS clients sign the form's SHA-256 without sending it (`x-amz-content-sha256` is S3's):
    // the small form is read first and its hash given to the signature check, which then
    // verifies the bytes as it would an S3 body.
    let raw = tokio::time::timeout(api.body_read_timeout, axum::body::to_bytes(body, MAX_BODY))
        .await
        .map_err(|_| StsError::validation("the request body did not arrive in time"))?
        .map_err(|_| StsError::validation("the request body is too large or incomplete"))?;
    if !parts.headers.contains_key("x-amz-content-sha256") {
        let hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, &raw));
        if let Ok(v) = HeaderValue::from_str(&hash) {
            parts.headers.insert("x-amz-content-sha256", v);
        }
    }
    let body = Body::from(raw);
    let authenticated = auth::authenticate_sts(
        &parts,
        &api.credentials,
        &api.region,
        std::time::SystemTime::now(),
    )
    .map_err(|e| {
        tracing::debug!(reason = %e, "STS request not authenticated");
        match e {
            auth::AuthError::UnknownAccessKey { .. } => StsError::new(
                StatusCode::FORBIDDEN,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
            auth::AuthError::SignatureMismatch { .. } => StsError::new(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ),
            auth::AuthError::Anonymous => StsError::new(
                StatusCode::FORBIDDEN,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            ),
            other => StsError::new(StatusCode::BAD_REQUEST, "InvalidRequest", other.to_string()),
        }
    })?;
    let mut body = RequestBody::new(body, authenticated.payload.clone(), &parts.headers)
        .map_err(|e| StsError::validation(e.to_string()))?
        .with_read_timeout(api.body_read_timeout);
    let form = body
        .read_to_end(MAX_BODY)
        .await
        .map_err(|e| StsError::validation(e.to_string()))?;
    let form = String::from_utf8_lossy(&form).into_owned();
    let params = parameters(&[parts.uri.query().unwrap_or(""), &form]);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match get("Action") {
        Some("AssumeRole") => {}
        Some(other) => {
            return Err(StsError::new(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                format!("The STS action {other} is not implemented by lakegate"),
            ));
        }
        None => return Err(StsError::validation("Action is required")),
    }
    if get("Version").is_some_and(|v| v != "2011-06-15") {
        return Err(StsError::validation("Version must be 2011-06-15"));
    }
    let duration = match get("DurationSeconds") {
        None => DEFAULT_DURATION,
        Some(d) => match d.parse::<i64>() {
            Ok(n) if (MIN_DURATION..=MAX_DURATION).contains(&n) => n,
            _ => {
                return Err(StsError::validation(format!(
                    "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value between {MIN_DURATION} and {MAX_DURATION}"
                )));
            }
        },
    };
    let session_name = get("RoleSessionName").unwrap_or("").to_string();
    if session_name.len() > 64
        || !session_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_".contains(&b))
    {
        return Err(StsError::validation(
            "RoleSessionName must be 2 to 64 characters of [\\w+=,.@-]",
        ));
    }
    let policy = match get("Policy").filter(|p| !p.is_empty()) {
        Some(p) if p.len() > MAX_SESSION_POLICY => {
            return Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "PackedPolicyTooLarge",
                "The session policy is larger than 2048 characters",
            ));
        }
        p => p.map(str::to_string),
    };
    let key = authenticated.key;
    let user = match &key.owner {
        KeyOwner::User(u) => u.clone(),
        // Root's and access keys' credentials cannot be narrowed into sessions (AWS and MinIO
        // refuse both).
        KeyOwner::Root | KeyOwner::AccessKey { .. } => {
            return Err(StsError::new(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "AssumeRole is for users; sign with a user's own credentials",
            ));
        }
    };
    let caller = Caller::Key(key);
    let now = api.clock.now();
    if let Err(e) = api.identities.remove_expired_keys(&user, now).await {
        tracing::warn!(error = %e, "cannot sweep expired temporary credentials");
    }
    let token = random_string(96, TOKEN_ALPHABET).map_err(internal)?;
    let expires = now + duration * 1000;
    let (access_key, secret_key) = api
        .identities
        .add_access_key(
            caller.access_key().unwrap_or("-"),
            &user,
            NewAccessKey {
                access_key: None,
                secret_key: None,
                policy,
                expires: Some(expires),
                name: "sts".into(),
                description: session_name.clone(),
                session_token_sha256: Some(
                    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
                        .as_ref()
                        .to_vec(),
                ),
            },
            now,
        )
        .await
        .map_err(|e| match e {
            IamError::MalformedPolicy(p) => StsError::new(
                StatusCode::BAD_REQUEST,
                "MalformedPolicyDocument",
                p.to_string(),
            ),
            IamError::Store(_) | IamError::Seal(_) => internal(e),
            other => StsError::validation(other.to_string()),
        })?;
    let arn = format!(
        "arn:aws:sts::{}:assumed-role/{user}/{session_name}",
        api.identities.root_access_key()
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AssumeRoleResponse xmlns=\"{NAMESPACE}\"><AssumeRoleResult><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><Arn>{}</Arn><AssumedRoleId>{}:{}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        xml_escape(&access_key),
        xml_escape(&secret_key),
        token,
        iso8601(expires, Fraction::WhenNonZero),
        xml_escape(&arn),
        xml_escape(&access_key),
        xml_escape(&session_name),
        xml_escape(request_id)
    );
    Ok(xml(StatusCode::OK, body))
}

const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn internal(e: impl std::fmt::Display) -> StsError {
    tracing::error!(error = %e, "AssumeRole failed");
    StsError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalFailure",
        "The request processing has failed because of an unknown error.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_is_a_path_style_post_to_the_root() {
        assert!(is_sts_request(&Method::POST, "/", None));
        assert!(!is_sts_request(&Method::POST, "/", Some("bucket")));
        assert!(!is_sts_request(&Method::GET, "/", None));
        assert!(!is_sts_request(&Method::POST, "/bucket", None));
    }

    #[test]
    fn parameters_come_from_query_and_form() {
        let p = parameters(&[
            "Action=AssumeRole",
            "Version=2011-06-15&Policy=%7B%22a%22%3A1%7D",
        ]);
        assert_eq!(
            p,
            vec![
                ("Action".into(), "AssumeRole".into()),
                ("Version".into(), "2011-06-15".into()),
                ("Policy".into(), "{\"a\":1}".into()),
            ]
        );
    }

    #[test]
    fn errors_are_sts_xml() {
        let r = StsError::validation("bad <thing>").render("RID");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}
