//! Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
//! Get/PutBucketVersioning, and the canned (owner-only) ACLs.

use http::StatusCode;

use super::checksum::read_document;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, XmlWriter};
use super::{S3Api, S3Request, S3Response, empty_response, set_header, xml_response};
use crate::clock::{Fraction, iso8601};
use crate::store::{StoreError, Versioning};

/// Path-style requests under `/lakegate/admin/` are the admin API, so no bucket may be named so.
pub const RESERVED_BUCKET: &str = "lakegate";

/// Most buckets one ListBuckets page may ask for.
const MAX_BUCKETS: usize = 10_000;

/// ListBuckets, with AWS's filters and pages: `prefix`, `bucket-region`, `max-buckets`
/// (1..=10000) and `continuation-token` (opaque; resumes after the last bucket of a page).
pub async fn list_buckets(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let q = &req.query;
    let prefix = q.get("prefix").unwrap_or("");
    let region = q.get("bucket-region");
    let max = match q.get("max-buckets") {
        None => MAX_BUCKETS,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_BUCKETS).contains(&n) => n,
            _ => {
                return Err(S3Error::invalid_argument(
                    "max-buckets must be an integer between 1 and 10000",
                ));
            }
        },
    };
    let after = match q.get("continuation-token").filter(|t| !t.is_empty()) {
        Some(t) => Some(super::list::decode_token(t)?),
        None => None,
    };
    // A caller who may not list every bucket sees those it may list or locate (MinIO's rule).
    let every = super::access::may_list_every_bucket(state, &req)?;
    let mut buckets: Vec<_> = state
        .store
        .list_buckets()?
        .into_iter()
        .filter(|b| every || super::access::may_see_bucket(state, &req, &b.name).unwrap_or(false))
        .filter(|b| b.name.starts_with(prefix))
        .filter(|b| region.is_none_or(|r| b.region == r))
        .filter(|b| after.as_deref().is_none_or(|a| b.name.as_str() > a))
        .collect();
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    let more = buckets.len() > max;
    buckets.truncate(max);
    let mut w = XmlWriter::new("ListAllMyBucketsResult");
    state.write_owner(&mut w, "Owner", None);
    w.open("Buckets");
    for b in &buckets {
        w.open("Bucket")
            .elem("Name", &b.name)
            .elem("CreationDate", &iso8601(b.created, Fraction::Millis))
            .elem("BucketRegion", &b.region)
            .close("Bucket");
    }
    w.close("Buckets");
    if more && let Some(last) = buckets.last() {
        w.elem("ContinuationToken", &super::list::encode_token(&last.name));
    }
    if !prefix.is_empty() {
        w.elem("Prefix", prefix);
    }
    Ok(xml_response(w.finish("ListAllMyBucketsResult")))
}

pub async fn create_bucket(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    super::headers::refuse_unimplemented(&req.headers)?;
    if req.bucket == RESERVED_BUCKET {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidBucketName,
            "The bucket name 'lakegate' is reserved: /lakegate/admin/ is the admin API.",
        )
        .with_detail("BucketName", req.bucket.clone()));
    }
    let object_lock = req
        .header("x-amz-bucket-object-lock-enabled")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let body = read_document(&mut req, 64 * 1024).await?;
    let mut region = state.region.clone();
    if !body.iter().all(|b| b.is_ascii_whitespace()) {
        let conf: xml::CreateBucketConfiguration = xml::parse(&body)?;
        if let Some(loc) = conf.location_constraint.filter(|l| !l.trim().is_empty()) {
            // One server, one region: requests must be signed for it, so a bucket in another
            // region could never be used (clients sign with the region a bucket reports).
            if loc.trim() != state.region {
                return Err(S3Error::with_message(
                    S3ErrorCode::IllegalLocationConstraintException,
                    format!(
                        "The {} location constraint is incompatible for the region specific \
                         endpoint this request was sent to.",
                        loc.trim()
                    ),
                ));
            }
            region = loc.trim().to_string();
        }
    }
    let access = super::access_control::create_bucket_access(state, &req.headers)?;
    match state
        .store
        .create_bucket_with(&req.bucket, &region, object_lock, access, req.now)
        .await
    {
        Ok(_) => {}
        // AWS in us-east-1 answers 200 to a create of a bucket the caller already owns (and
        // changes nothing); every other region answers 409 BucketAlreadyOwnedByYou.
        Err(StoreError::BucketExists) if state.region == "us-east-1" => {}
        Err(e) => return Err(e.into()),
    }
    let mut resp = empty_response(StatusCode::OK);
    set_header(resp.headers_mut(), "location", &format!("/{}", req.bucket));
    Ok(resp)
}

pub async fn head_bucket(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let b = state.store.bucket(&req.bucket)?;
    let mut resp = empty_response(StatusCode::OK);
    set_header(resp.headers_mut(), "x-amz-bucket-region", &b.region);
    Ok(resp)
}

pub async fn delete_bucket(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state.store.delete_bucket(&req.bucket).await?;
    // The store removed the policy with the bucket.
    state.bucket_policies.forget(&req.bucket);
    state.access_log.bucket_deleted(&req.bucket);
    // A bucket created later under the same name starts without these.
    for r in [
        state.store.set_s3_lifecycle(&req.bucket, None).await,
        state.store.set_lifecycle_state(&req.bucket, None).await,
    ] {
        if let Err(e) = r {
            tracing::warn!(bucket = %req.bucket, error = %e, "cannot clear the deleted bucket's lifecycle records");
        }
    }
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub async fn get_location(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let b = state.store.bucket(&req.bucket)?;
    // us-east-1 is reported as an empty LocationConstraint, as AWS does.
    let mut doc =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"");
    doc.push_str(xml::S3_NS);
    doc.push_str("\">");
    if b.region != "us-east-1" {
        doc.push_str(&super::error::xml_escape(&b.region));
    }
    doc.push_str("</LocationConstraint>");
    Ok(xml_response(doc))
}

pub async fn get_versioning(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let b = state.store.bucket(&req.bucket)?;
    let mut w = XmlWriter::new("VersioningConfiguration");
    match b.versioning {
        Versioning::Unversioned => {}
        Versioning::Enabled => {
            w.elem("Status", "Enabled");
        }
        Versioning::Suspended => {
            w.elem("Status", "Suspended");
        }
    }
    Ok(xml_response(w.finish("VersioningConfiguration")))
}

pub async fn put_versioning(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let body = read_document(&mut req, 64 * 1024).await?;
    let doc: xml::VersioningConfiguration = xml::parse(&body)?;
    if doc.mfa_delete.as_deref().is_some_and(|m| m == "Enabled") {
        return Err(S3Error::not_implemented("MFA delete"));
    }
    let target = match doc.status.as_deref() {
        Some("Enabled") => Versioning::Enabled,
        Some("Suspended") => Versioning::Suspended,
        None => return Ok(empty_response(StatusCode::OK)),
        Some(_) => {
            return Err(S3Error::with_message(
                S3ErrorCode::IllegalVersioningConfigurationException,
                "The Versioning element must be specified",
            ));
        }
    };
    state
        .store
        .update_bucket(&req.bucket, move |b| {
            if b.object_lock_enabled && target != Versioning::Enabled {
                return Err(StoreError::InvalidRequest(
                    "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.".into(),
                ));
            }
            if b.versioning == Versioning::Unversioned && target == Versioning::Suspended {
                // Suspending a never-versioned bucket is accepted by AWS and records the state.
            }
            b.versioning = target;
            Ok(())
        })
        .await
        .map_err(|e| match e {
            StoreError::InvalidRequest(m) => S3Error::with_message(S3ErrorCode::InvalidBucketState, m),
            other => other.into(),
        })?;
    Ok(empty_response(StatusCode::OK))
}

pub async fn get_tagging(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let b = state.store.bucket(&req.bucket)?;
    if b.tags.is_empty() {
        return Err(S3Error::new(S3ErrorCode::NoSuchTagSet));
    }
    let mut w = XmlWriter::new("Tagging");
    w.open("TagSet");
    for (k, v) in &b.tags {
        w.open("Tag").elem("Key", k).elem("Value", v).close("Tag");
    }
    w.close("TagSet");
    Ok(xml_response(w.finish("Tagging")))
}

pub async fn put_tagging(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let body = read_document(&mut req, 64 * 1024).await?;
    let doc: xml::TaggingXml = xml::parse(&body)?;
    let tags = xml::validate_tags_up_to(
        doc.tag_set
            .tags
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect(),
        50,
    )?;
    state
        .store
        .update_bucket(&req.bucket, move |b| {
            b.tags = tags;
            Ok(())
        })
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub async fn delete_tagging(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    state
        .store
        .update_bucket(&req.bucket, |b| {
            b.tags.clear();
            Ok(())
        })
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}
