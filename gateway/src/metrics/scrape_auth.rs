//! Who may scrape: MinIO's scheme. A scrape carries `Authorization: Bearer <JWT>`, an HS256,
//! HS384 or HS512 token with `iss: "prometheus"`, the access key in `accessKey` (else `sub`),
//! and usually an `exp`, signed with that key's secret; the key's owner needs `admin:Prometheus`
//! (the root user always has it). `LAKEGATE_PROMETHEUS_AUTH_TYPE=public` (or MinIO's
//! `MINIO_PROMETHEUS_AUTH_TYPE`) opens the endpoints to anyone.
//!
//! [`token`] makes such a token (what `lakegate admin prometheus generate` and
//! `mc admin prometheus generate` print).

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::CredentialStore;
use crate::iam::condition::ConditionContext;
use crate::iam::{Caller, Identities};

/// The issuer every scrape token names.
pub const ISSUER: &str = "prometheus";

/// The IAM action a scrape needs.
pub const ACTION: &str = "admin:Prometheus";

/// How scrapes are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeAuth {
    /// A bearer JWT (the default).
    Jwt,
    /// Anyone may scrape.
    Public,
}

impl ScrapeAuth {
    /// From `LAKEGATE_PROMETHEUS_AUTH_TYPE`, else `MINIO_PROMETHEUS_AUTH_TYPE`: `public` or
    /// `jwt` (the default); anything else is refused at start.
    pub fn from_env() -> Result<ScrapeAuth, String> {
        let value = std::env::var("LAKEGATE_PROMETHEUS_AUTH_TYPE")
            .or_else(|_| std::env::var("MINIO_PROMETHEUS_AUTH_TYPE"))
            .unwrap_or_default();
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "jwt" => Ok(ScrapeAuth::Jwt),
            "public" => Ok(ScrapeAuth::Public),
            other => Err(format!(
                "LAKEGATE_PROMETHEUS_AUTH_TYPE={other:?}: expected `jwt` or `public`"
            )),
        }
    }
}

/// A scrape token's claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "accessKey")]
    pub access_key: Option<String>,
    #[serde(default)]
    pub iss: String,
}

/// Why a scrape was refused (the answer is always 403; this goes to the debug log).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScrapeDenied {
    #[error("no bearer token")]
    NoToken,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("the token names no access key")]
    NoAccessKey,
    #[error("unknown, disabled or temporary access key")]
    UnknownKey,
    #[error("bad signature, expired, or wrong issuer: {0}")]
    Invalid(String),
    #[error("the key may not scrape (admin:Prometheus)")]
    NotAllowed,
}

/// Checks a scrape's `Authorization` header value.
pub fn check(
    authorization: Option<&str>,
    credentials: &CredentialStore,
    identities: &Identities,
) -> Result<(), ScrapeDenied> {
    let token = authorization
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(ScrapeDenied::NoToken)?;
    // The key is named inside the token: read the claims unverified first, then verify with
    // that key's secret.
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| ScrapeDenied::Malformed(e.to_string()))?;
    if !matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(ScrapeDenied::Malformed(format!(
            "algorithm {:?} is not HS256/384/512",
            header.alg
        )));
    }
    let mut peek = Validation::new(header.alg);
    peek.insecure_disable_signature_validation();
    peek.validate_exp = false;
    peek.required_spec_claims.clear();
    let unverified = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&[]), &peek)
        .map_err(|e| ScrapeDenied::Malformed(e.to_string()))?;
    let access_key = unverified
        .claims
        .access_key
        .clone()
        .or(unverified.claims.sub.clone())
        .filter(|k| !k.is_empty())
        .ok_or(ScrapeDenied::NoAccessKey)?;
    let key = credentials
        .lookup(&access_key)
        .filter(|k| k.session_token_sha256.is_none())
        .ok_or(ScrapeDenied::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[ISSUER]);
    validation.required_spec_claims.clear();
    validation.required_spec_claims.insert("iss".into());
    validation.validate_exp = true;
    validation.leeway = 0;
    jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(key.secret.as_bytes()),
        &validation,
    )
    .map_err(|e| ScrapeDenied::Invalid(e.to_string()))?;
    let caller = Caller::Key(key);
    let mut context = ConditionContext::new();
    if identities
        .authorize(&caller, ACTION, "arn:aws:s3:::*", &mut context, None)
        .is_allowed()
    {
        Ok(())
    } else {
        Err(ScrapeDenied::NotAllowed)
    }
}

/// A scrape token for `access_key` signed with `secret` (HS512), valid for `valid_for_secs`
/// (MinIO's `mc` makes them valid for 100 years).
pub fn token(
    access_key: &str,
    secret: &str,
    valid_for_secs: u64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = Claims {
        exp: Some(now.saturating_add(valid_for_secs)),
        sub: Some(access_key.to_string()),
        access_key: None,
        iss: ISSUER.to_string(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refusals_are_typed() {
        let t = token("ops", "s3cr3t-s3cr3t", 60).unwrap();
        let mut v = Validation::new(Algorithm::HS512);
        v.set_issuer(&[ISSUER]);
        let c = jsonwebtoken::decode::<Claims>(&t, &DecodingKey::from_secret(b"s3cr3t-s3cr3t"), &v)
            .unwrap()
            .claims;
        assert_eq!(c.sub.as_deref(), Some("ops"));
        assert_eq!(c.iss, "prometheus");
    }
}
