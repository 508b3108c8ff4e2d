//! The signature of a browser form upload (POST Object): the form's `policy` field, exactly as
//! sent (its base64 text), signed with the access key's secret.
//!
//! - SigV2: `signature = base64(HMAC-SHA1(secret, policy))`, key in `AWSAccessKeyId`.
//! - SigV4: `x-amz-signature = hex(HMAC-SHA256(signing key, policy))`, the signing key derived
//!   as for any SigV4 request from the `x-amz-credential` scope (date, region, `s3`);
//!   `x-amz-date` must be a SigV4 time on the scope's day.
//!
//! What the policy allows is the S3 layer's business (`s3/post.rs`); this module only says who
//! signed it.

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};

use super::sigv4::Credential;
use super::util::{ct_eq, parse_amz_date, parse_scope_date};
use super::{AuthError, Authenticated, CredentialStore, PayloadCheck, SignatureLocation};

/// The signature fields of a form.
#[derive(Debug, Clone, Copy)]
pub enum FormSignature<'a> {
    V2 {
        access_key: &'a str,
        signature: &'a str,
    },
    V4 {
        algorithm: &'a str,
        credential: &'a str,
        amz_date: &'a str,
        signature: &'a str,
    },
}

/// Verifies that `policy` (the form field as received) was signed by a known access key.
pub fn verify_form(
    policy: &str,
    signature: FormSignature<'_>,
    store: &CredentialStore,
    region: &str,
) -> Result<Authenticated, AuthError> {
    let form = SignatureLocation::Form;
    let (access_key, key, computed, provided) = match signature {
        FormSignature::V2 {
            access_key,
            signature,
        } => {
            let creds = store
                .lookup(access_key)
                .ok_or_else(|| AuthError::UnknownAccessKey {
                    access_key: access_key.to_string(),
                })?;
            let computed = super::sigv2::sign(&creds.secret, policy.as_bytes());
            (access_key.to_string(), creds, computed, signature)
        }
        FormSignature::V4 {
            algorithm,
            credential,
            amz_date,
            signature,
        } => {
            if algorithm == "AWS4-ECDSA-P256-SHA256" {
                return Err(AuthError::SigV4aNotImplemented);
            }
            if algorithm != "AWS4-HMAC-SHA256" {
                return Err(form.malformed("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""));
            }
            let credential = Credential::parse(credential, form)?;
            credential.check_region(region, form)?;
            if parse_amz_date(amz_date).is_none() || !amz_date.starts_with(&credential.date) {
                return Err(form.malformed(format!(
                    "X-Amz-Date must be a time of the credential's day, as YYYYMMDDTHHMMSSZ: {amz_date:?}"
                )));
            }
            let creds = store.lookup(&credential.access_key).ok_or_else(|| {
                AuthError::UnknownAccessKey {
                    access_key: credential.access_key.clone(),
                }
            })?;
            let day = parse_scope_date(&credential.date)
                .ok_or_else(|| form.malformed("Invalid credential date."))?;
            let signing_key = generate_signing_key(&creds.secret, day, &credential.region, "s3");
            let computed = calculate_signature(signing_key.as_ref(), policy.as_bytes());
            (credential.access_key, creds, computed, signature)
        }
    };
    if !ct_eq(computed.as_bytes(), provided.as_bytes()) {
        return Err(AuthError::SignatureMismatch {
            access_key,
            string_to_sign: policy.to_string(),
            signature_provided: provided.to_string(),
            canonical_request: None,
        });
    }
    // Temporary credentials are not taken in forms (their token is refused by the caller).
    super::check_session_token(&key, None)?;
    Ok(Authenticated {
        access_key,
        key,
        payload: PayloadCheck::Unsigned,
        service: "s3",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credentials;

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// botocore's `generate_presigned_post("sigv4examplebucket", "user/user1/photo.jpg")` at
    /// 2015-12-29T00:00:00Z.
    const POLICY: &str = "eyJleHBpcmF0aW9uIjogIjIwMTUtMTItMjlUMDE6MDA6MDBaIiwgImNvbmRpdGlvbnMiOiBbeyJidWNrZXQiOiAic2lndjRleGFtcGxlYnVja2V0In0sIHsia2V5IjogInVzZXIvdXNlcjEvcGhvdG8uanBnIn0sIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwgeyJ4LWFtei1jcmVkZW50aWFsIjogIkFLSUFJT1NGT0ROTjdFWEFNUExFLzIwMTUxMjI5L3VzLWVhc3QtMS9zMy9hd3M0X3JlcXVlc3QifSwgeyJ4LWFtei1kYXRlIjogIjIwMTUxMjI5VDAwMDAwMFoifV19";

    fn store() -> CredentialStore {
        CredentialStore::new(Credentials {
            access_key: AK.into(),
            secret_key: SK.into(),
        })
    }

    fn v4(signature: &str) -> FormSignature<'_> {
        FormSignature::V4 {
            algorithm: "AWS4-HMAC-SHA256",
            credential: "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
            amz_date: "20151229T000000Z",
            signature,
        }
    }

    #[test]
    fn known_signatures_verify() {
        let sig = "3364624b39010d9b06f5d9b8c9a18a6e478d261c048159c92f2fd6fa885f14e6";
        let ok = verify_form(POLICY, v4(sig), &store(), "us-east-1").unwrap();
        assert_eq!(ok.access_key, AK);
        let v2 = FormSignature::V2 {
            access_key: AK,
            signature: "qZqKDGwdd0KvzWNyBFF6I+V5h78=",
        };
        verify_form(POLICY, v2, &store(), "us-east-1").unwrap();
    }

    #[test]
    fn wrong_signatures_keys_regions_and_dates_are_refused() {
        let sig = "3364624b39010d9b06f5d9b8c9a18a6e478d261c048159c92f2fd6fa885f14e6";
        let code = |r: Result<Authenticated, AuthError>| r.unwrap_err().code();
        let mut tampered = POLICY.to_string();
        tampered.push('=');
        assert_eq!(
            code(verify_form(&tampered, v4(sig), &store(), "us-east-1")),
            "SignatureMismatch"
        );
        assert_eq!(
            code(verify_form(POLICY, v4(sig), &store(), "eu-west-1")),
            "WrongRegion"
        );
        let v2 = FormSignature::V2 {
            access_key: "nobody",
            signature: "x",
        };
        assert_eq!(
            code(verify_form(POLICY, v2, &store(), "us-east-1")),
            "UnknownAccessKey"
        );
        let late = FormSignature::V4 {
            algorithm: "AWS4-HMAC-SHA256",
            credential: "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
            amz_date: "20151230T000000Z",
            signature: sig,
        };
        assert_eq!(
            code(verify_form(POLICY, late, &store(), "us-east-1")),
            "Malformed"
        );
        let v4a = FormSignature::V4 {
            algorithm: "AWS4-ECDSA-P256-SHA256",
            credential: "",
            amz_date: "",
            signature: "",
        };
        assert_eq!(
            code(verify_form(POLICY, v4a, &store(), "us-east-1")),
            "SigV4aNotImplemented"
        );
    }
}
