//! Who owns what is written and who may touch it besides policies: Get/PutBucketAcl,
//! Get/PutObjectAcl, the owner and ACL a write asks for (CreateBucket, PutObject, CopyObject,
//! CreateMultipartUpload, POST uploads), Get/Put/DeleteBucketOwnershipControls and
//! Get/Put/DeletePublicAccessBlock. The ACL language is `acl.rs`; ACLs take part in every
//! authorisation in `access.rs`.
//!
//! Owners are canonical ids: the account's is the root access key, a user's is its name. The
//! account owns every bucket. An object belongs to whoever wrote it (`ObjectWriter`, also when
//! the bucket has no ownership controls, as in MinIO and Ceph), to the bucket owner under
//! `BucketOwnerEnforced`, and under `BucketOwnerPreferred` to the bucket owner when written with
//! the `bucket-owner-full-control` canned ACL.

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::acl;
use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, RequestDocument, XmlWriter};
use super::{S3Api, S3Request, S3Response, empty_response, get, xml_response};
use crate::iam::Caller;
use crate::store::{
    AclGrant, BucketAccess, ObjectOwnership, S3BucketAcl, S3OwnershipControls, S3PublicAccessBlock,
    StoreError,
};

/// Largest ACL or settings document read (100 grants fit many times over).
const MAX_BODY: usize = 64 * 1024;

/// The canned ACL with which a writer hands an object to the bucket owner.
const BUCKET_OWNER_FULL_CONTROL: &str = "bucket-owner-full-control";

/// Whether `id` is someone an ACL may name.
fn known(state: &S3Api) -> impl Fn(&str) -> bool + '_ {
    |id: &str| state.identities.is_canonical_id(id)
}

fn ownership(state: &S3Api, bucket: &str) -> S3Result<Option<ObjectOwnership>> {
    Ok(state
        .store
        .s3_ownership(bucket)?
        .map(|o| o.object_ownership))
}

fn blocks_public_acls(state: &S3Api, bucket: &str) -> S3Result<bool> {
    Ok(state
        .store
        .s3_public_access_block(bucket)?
        .is_some_and(|b| b.block_public_acls))
}

fn acls_disabled() -> S3Error {
    S3Error::new(S3ErrorCode::AccessControlListNotSupported)
}

/// BlockPublicAcls refusing a public ACL.
fn public_acls_blocked() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        "Access Denied: the bucket blocks public ACLs",
    )
}

/// The owner and access control list of an object written into `bucket` by `caller` with
/// `headers` (`x-amz-acl`, `x-amz-grant-*`): `(owner, acl)`, `None` meaning the bucket owner
/// and the default ACL.
pub fn object_write_access(
    state: &S3Api,
    bucket: &str,
    caller: &Caller,
    headers: &HeaderMap,
) -> S3Result<(Option<String>, Option<Vec<AclGrant>>)> {
    let account = state.account();
    let canned = headers.get("x-amz-acl").and_then(|v| v.to_str().ok());
    let mode = ownership(state, bucket)?;
    let owner = match mode {
        Some(ObjectOwnership::BucketOwnerEnforced) => None,
        Some(ObjectOwnership::BucketOwnerPreferred)
            if canned == Some(BUCKET_OWNER_FULL_CONTROL) =>
        {
            None
        }
        _ => super::access::writer(state, caller),
    };
    let owner_id = owner.as_deref().unwrap_or(account);
    let grants = acl::from_headers(headers, owner_id, account, false, &known(state))?;
    if mode == Some(ObjectOwnership::BucketOwnerEnforced) {
        // Only the bucket-owner-full-control canned ACL (or the same as a grant) is accepted,
        // and then not kept: the bucket owner owns the object with the default ACL.
        let accepted = match (&grants, canned) {
            (None, _) => true,
            (Some(_), Some(c)) => c == BUCKET_OWNER_FULL_CONTROL,
            (Some(g), None) => *g == acl::private(account),
        };
        return if accepted {
            Ok((None, None))
        } else {
            Err(acls_disabled())
        };
    }
    if let Some(g) = &grants
        && acl::is_public(g)
        && blocks_public_acls(state, bucket)?
    {
        return Err(public_acls_blocked());
    }
    Ok((owner, grants))
}

/// CreateBucket's access settings: its ACL (`x-amz-acl`, `x-amz-grant-*`) and ownership
/// controls (`x-amz-object-ownership`).
pub fn create_bucket_access(state: &S3Api, headers: &HeaderMap) -> S3Result<BucketAccess> {
    let account = state.account();
    let acl = acl::from_headers(headers, account, account, true, &known(state))?;
    let ownership = match headers.get("x-amz-object-ownership") {
        None => None,
        Some(v) => Some(parse_ownership(v.to_str().unwrap_or_default())?),
    };
    if ownership == Some(ObjectOwnership::BucketOwnerEnforced)
        && acl.as_ref().is_some_and(|g| *g != acl::private(account))
    {
        return Err(S3Error::new(
            S3ErrorCode::InvalidBucketAclWithObjectOwnership,
        ));
    }
    Ok(BucketAccess {
        acl: acl.map(|grants| S3BucketAcl { grants }),
        ownership: ownership.map(|object_ownership| S3OwnershipControls { object_ownership }),
    })
}

/// The grants a Put{Bucket,Object}Acl asks for: from its headers or its body (one of them),
/// for a resource owned by `owner`.
async fn requested_acl(
    state: &S3Api,
    req: &mut S3Request,
    owner: &str,
    for_bucket: bool,
) -> S3Result<Vec<AclGrant>> {
    let account = state.account().to_string();
    let from_headers = acl::from_headers(&req.headers, owner, &account, for_bucket, &known(state))?;
    let body = read_document(req, MAX_BODY).await?;
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    match (from_headers, has_body) {
        (Some(_), true) => Err(S3Error::invalid_request(
            "This request does not support content with an ACL header",
        )),
        (Some(g), false) => Ok(g),
        (None, false) => Err(S3Error::with_message(
            S3ErrorCode::MalformedACLError,
            "An ACL needs the x-amz-acl header, x-amz-grant-* headers or an AccessControlPolicy document",
        )),
        (None, true) => {
            let (named_owner, grants) = acl::parse_policy(&body, &known(state))?;
            if named_owner.is_some_and(|o| o != owner) {
                // The owner of a resource cannot be changed through its ACL.
                return Err(S3Error::new(S3ErrorCode::AccessDenied));
            }
            Ok(grants)
        }
    }
}

/// Refuses an ACL change the bucket's settings forbid: any under `BucketOwnerEnforced` (ACLs
/// are off), a public one under `BlockPublicAcls`.
fn check_acl_change(state: &S3Api, bucket: &str, grants: &[AclGrant]) -> S3Result<()> {
    if ownership(state, bucket)? == Some(ObjectOwnership::BucketOwnerEnforced) {
        return Err(acls_disabled());
    }
    if acl::is_public(grants) && blocks_public_acls(state, bucket)? {
        return Err(public_acls_blocked());
    }
    Ok(())
}

fn acl_response(state: &S3Api, owner: &str, grants: &[AclGrant]) -> S3Response {
    let display = |id: &str| state.identities.display_name(id);
    xml_response(acl::write_policy(owner, grants, &display))
}

pub async fn get_bucket_acl(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let account = state.account();
    let grants = match state.store.s3_bucket_acl(&req.bucket)? {
        Some(a) => a.grants,
        None => acl::private(account),
    };
    Ok(acl_response(state, account, &grants))
}

pub async fn put_bucket_acl(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let account = state.account().to_string();
    let grants = requested_acl(state, &mut req, &account, true).await?;
    check_acl_change(state, &req.bucket, &grants)?;
    state
        .store
        .set_s3_bucket_acl(&req.bucket, Some(S3BucketAcl { grants }))
        .await?;
    Ok(empty_response(StatusCode::OK))
}

pub async fn get_object_acl(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let (_, v) = get::resolve_version(&state.store, &req)?;
    let owner = v.owner.as_deref().unwrap_or(state.account());
    let grants = v.acl.clone().unwrap_or_else(|| acl::private(owner));
    let mut resp = acl_response(state, owner, &grants);
    if v.version_id != "null" {
        super::set_header(resp.headers_mut(), "x-amz-version-id", &v.version_id);
    }
    Ok(resp)
}

pub async fn put_object_acl(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let (_, v) = get::resolve_version(&state.store, &req)?;
    let owner = v
        .owner
        .clone()
        .unwrap_or_else(|| state.account().to_string());
    let grants = requested_acl(state, &mut req, &owner, false).await?;
    check_acl_change(state, &req.bucket, &grants)?;
    let seq = v.seq;
    let updated = state
        .store
        .update_version(&req.bucket, &req.key, Some(&v.version_id), move |v, _| {
            if v.seq != seq {
                // Replaced between the read and this write (a null version overwritten).
                return Err(StoreError::Conflict);
            }
            v.acl = Some(grants);
            Ok(())
        })
        .await?;
    let mut resp = empty_response(StatusCode::OK);
    if updated.version_id != "null" {
        super::set_header(resp.headers_mut(), "x-amz-version-id", &updated.version_id);
    }
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// Ownership controls

#[derive(Debug, Deserialize)]
struct OwnershipRuleXml {
    #[serde(rename = "ObjectOwnership")]
    object_ownership: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OwnershipControlsXml {
    #[serde(rename = "Rule", default)]
    rules: Vec<OwnershipRuleXml>,
}

impl RequestDocument for OwnershipControlsXml {
    const ROOT: &'static str = "OwnershipControls";
}

fn parse_ownership(s: &str) -> S3Result<ObjectOwnership> {
    match s {
        "BucketOwnerEnforced" => Ok(ObjectOwnership::BucketOwnerEnforced),
        "BucketOwnerPreferred" => Ok(ObjectOwnership::BucketOwnerPreferred),
        "ObjectWriter" => Ok(ObjectOwnership::ObjectWriter),
        other => Err(S3Error::invalid_argument(format!(
            "Invalid object ownership '{other}': expected BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter"
        ))),
    }
}

fn ownership_name(o: ObjectOwnership) -> &'static str {
    match o {
        ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
        ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
        ObjectOwnership::ObjectWriter => "ObjectWriter",
    }
}

pub async fn get_ownership_controls(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let o = ownership(state, &req.bucket)?
        .ok_or_else(|| S3Error::new(S3ErrorCode::OwnershipControlsNotFoundError))?;
    let mut w = XmlWriter::new("OwnershipControls");
    w.open("Rule")
        .elem("ObjectOwnership", ownership_name(o))
        .close("Rule");
    Ok(xml_response(w.finish("OwnershipControls")))
}

/// PutBucketOwnershipControls. Switching to `BucketOwnerEnforced` needs a bucket ACL that
/// gives nothing beyond the owner's full control (`InvalidBucketAclWithObjectOwnership`).
pub async fn put_ownership_controls(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let body = read_document(&mut req, MAX_BODY).await?;
    let doc: OwnershipControlsXml = xml::parse(&body)?;
    let [rule] = doc.rules.as_slice() else {
        return Err(S3Error::new(S3ErrorCode::MalformedXML));
    };
    let object_ownership = parse_ownership(
        rule.object_ownership
            .as_deref()
            .ok_or_else(|| S3Error::new(S3ErrorCode::MalformedXML))?,
    )?;
    let account = state.account().to_string();
    state
        .store
        .set_s3_ownership(
            &req.bucket,
            Some(S3OwnershipControls { object_ownership }),
            move |acl| {
                let private = acl::private(&account);
                match acl {
                    Some(a)
                        if object_ownership == ObjectOwnership::BucketOwnerEnforced
                            && a.grants != private =>
                    {
                        Err(StoreError::InvalidRequest(
                            "the bucket's ACL grants more than its owner's full control".into(),
                        ))
                    }
                    _ => Ok(()),
                }
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::InvalidRequest(_) => {
                S3Error::new(S3ErrorCode::InvalidBucketAclWithObjectOwnership)
            }
            other => other.into(),
        })?;
    Ok(empty_response(StatusCode::OK))
}

pub async fn delete_ownership_controls(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    state
        .store
        .set_s3_ownership(&req.bucket, None, |_| Ok(()))
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------------------------------------
// Block Public Access

#[derive(Debug, Deserialize)]
struct PublicAccessBlockXml {
    #[serde(rename = "BlockPublicAcls")]
    block_public_acls: Option<String>,
    #[serde(rename = "IgnorePublicAcls")]
    ignore_public_acls: Option<String>,
    #[serde(rename = "BlockPublicPolicy")]
    block_public_policy: Option<String>,
    #[serde(rename = "RestrictPublicBuckets")]
    restrict_public_buckets: Option<String>,
}

impl RequestDocument for PublicAccessBlockXml {
    const ROOT: &'static str = "PublicAccessBlockConfiguration";
}

/// An XML boolean; a missing element is `false`.
fn flag(v: Option<&str>) -> S3Result<bool> {
    match v.map(str::trim) {
        None => Ok(false),
        Some(t) if t.eq_ignore_ascii_case("true") => Ok(true),
        Some(t) if t.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(S3Error::new(S3ErrorCode::MalformedXML)),
    }
}

pub async fn get_public_access_block(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let b = state
        .store
        .s3_public_access_block(&req.bucket)?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchPublicAccessBlockConfiguration))?;
    let text = |v: bool| if v { "true" } else { "false" };
    let mut w = XmlWriter::new("PublicAccessBlockConfiguration");
    w.elem("BlockPublicAcls", text(b.block_public_acls))
        .elem("IgnorePublicAcls", text(b.ignore_public_acls))
        .elem("BlockPublicPolicy", text(b.block_public_policy))
        .elem("RestrictPublicBuckets", text(b.restrict_public_buckets));
    Ok(xml_response(w.finish("PublicAccessBlockConfiguration")))
}

pub async fn put_public_access_block(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    let body = read_document(&mut req, MAX_BODY).await?;
    let doc: PublicAccessBlockXml = xml::parse(&body)?;
    let block = S3PublicAccessBlock {
        block_public_acls: flag(doc.block_public_acls.as_deref())?,
        ignore_public_acls: flag(doc.ignore_public_acls.as_deref())?,
        block_public_policy: flag(doc.block_public_policy.as_deref())?,
        restrict_public_buckets: flag(doc.restrict_public_buckets.as_deref())?,
    };
    state
        .store
        .set_s3_public_access_block(&req.bucket, Some(block))
        .await?;
    Ok(empty_response(StatusCode::OK))
}

pub async fn delete_public_access_block(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.bucket(&req.bucket)?;
    state
        .store
        .set_s3_public_access_block(&req.bucket, None)
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}
