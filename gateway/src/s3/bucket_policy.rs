//! Bucket policies: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy and
//! GetBucketPolicyStatus. The policy language and its evaluation are `iam/`'s; every request
//! on the bucket is judged with the policy stored here (`s3/access.rs`).

use http::{HeaderValue, StatusCode};

use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::XmlWriter;
use super::{S3Api, S3Request, S3Response, empty_response, response, xml_response};
use crate::iam::{BucketPolicyError, PolicyDocument, PolicyError, PolicyKind};

/// Largest body read; the policy language allows 20 KiB, and says so for anything between.
const MAX_BODY: usize = 64 * 1024;

impl From<BucketPolicyError> for S3Error {
    fn from(e: BucketPolicyError) -> Self {
        match e {
            BucketPolicyError::Store(e) => e.into(),
            BucketPolicyError::Policy(PolicyError::Malformed(m)) => {
                S3Error::with_message(S3ErrorCode::MalformedPolicy, m)
            }
            BucketPolicyError::Policy(e @ PolicyError::TooLarge) => {
                S3Error::with_message(S3ErrorCode::MalformedPolicy, e.to_string())
            }
        }
    }
}

/// PutBucketPolicy; a public policy is refused (403) when the bucket's Block Public Access
/// settings block public policies.
pub async fn put(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let body = read_document(&mut req, MAX_BODY).await?;
    if state
        .store
        .s3_public_access_block(&req.bucket)?
        .is_some_and(|b| b.block_public_policy)
    {
        let kind = PolicyKind::Bucket {
            bucket: req.bucket.clone(),
        };
        let doc = PolicyDocument::parse(&body, &kind)
            .map_err(|e| S3Error::from(BucketPolicyError::from(e)))?;
        if doc.is_public() {
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Access Denied: the bucket blocks public policies",
            ));
        }
    }
    state.bucket_policies.put(&req.bucket, &body).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub async fn get(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    match state.bucket_policies.get(&req.bucket)? {
        Some(doc) => {
            let mut r = response(StatusCode::OK, doc.source().to_string().into());
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(r)
        }
        None => Err(S3Error::new(S3ErrorCode::NoSuchBucketPolicy)),
    }
}

pub async fn delete(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    state.bucket_policies.delete(&req.bucket).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// Whether the bucket's policy makes it public (it grants something to everyone).
pub async fn status(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let doc = state
        .bucket_policies
        .get(&req.bucket)?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchBucketPolicy))?;
    let mut w = XmlWriter::new("PolicyStatus");
    w.elem("IsPublic", if doc.is_public() { "true" } else { "false" });
    Ok(xml_response(w.finish("PolicyStatus")))
}
