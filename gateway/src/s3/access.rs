//! Authorisation of S3 requests: each operation's IAM action and resource, the request's
//! condition keys, and the call to the one evaluator (`iam/access.rs`).
//!
//! Requests are judged after routing and authentication, before their handler runs. Operations
//! that touch several resources are judged again inside their handler for the others: the copy
//! source of CopyObject and UploadPartCopy ([`authorize_copy_source`]) and each key of
//! DeleteObjects ([`allowed_object`]).

use std::net::SocketAddr;

use super::acl;
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::router::Operation;
use super::{S3Api, S3Request};
use crate::iam::condition::ConditionContext;
use crate::iam::{Caller, KeyOwner, Verdict};
use crate::store::{AclGrant, AclPermission, ObjectOwnership, StoreError, VersionRef};

/// The address of the client a request came from (the network layer puts it into the
/// request's extensions).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// The IAM action of an operation, and whether it acts on an object (else the bucket, or for
/// ListBuckets every bucket).
pub fn action(op: Operation, versioned: bool) -> (&'static str, bool) {
    use Operation::*;
    let v = |plain, version| if versioned { version } else { plain };
    match op {
        ListBuckets => ("s3:ListAllMyBuckets", false),
        CreateBucket => ("s3:CreateBucket", false),
        DeleteBucket => ("s3:DeleteBucket", false),
        HeadBucket | ListObjects | ListObjectsV2 => ("s3:ListBucket", false),
        GetBucketLocation => ("s3:GetBucketLocation", false),
        GetBucketVersioning => ("s3:GetBucketVersioning", false),
        PutBucketVersioning => ("s3:PutBucketVersioning", false),
        GetObjectLockConfiguration => ("s3:GetBucketObjectLockConfiguration", false),
        PutObjectLockConfiguration => ("s3:PutBucketObjectLockConfiguration", false),
        GetBucketAcl => ("s3:GetBucketAcl", false),
        PutBucketAcl => ("s3:PutBucketAcl", false),
        GetBucketTagging => ("s3:GetBucketTagging", false),
        PutBucketTagging | DeleteBucketTagging => ("s3:PutBucketTagging", false),
        GetBucketLifecycleConfiguration => ("s3:GetLifecycleConfiguration", false),
        PutBucketLifecycleConfiguration | DeleteBucketLifecycle => {
            ("s3:PutLifecycleConfiguration", false)
        }
        GetBucketCors => ("s3:GetBucketCORS", false),
        PutBucketCors | DeleteBucketCors => ("s3:PutBucketCORS", false),
        GetBucketPolicy => ("s3:GetBucketPolicy", false),
        PutBucketPolicy => ("s3:PutBucketPolicy", false),
        DeleteBucketPolicy => ("s3:DeleteBucketPolicy", false),
        GetBucketPolicyStatus => ("s3:GetBucketPolicyStatus", false),
        GetBucketOwnershipControls => ("s3:GetBucketOwnershipControls", false),
        PutBucketOwnershipControls | DeleteBucketOwnershipControls => {
            ("s3:PutBucketOwnershipControls", false)
        }
        GetPublicAccessBlock => ("s3:GetBucketPublicAccessBlock", false),
        GetBucketLogging => ("s3:GetBucketLogging", false),
        PutBucketLogging => ("s3:PutBucketLogging", false),
        GetBucketEncryption => ("s3:GetEncryptionConfiguration", false),
        PutBucketEncryption | DeleteBucketEncryption => ("s3:PutEncryptionConfiguration", false),
        PutPublicAccessBlock | DeletePublicAccessBlock => ("s3:PutBucketPublicAccessBlock", false),
        ListObjectVersions => ("s3:ListBucketVersions", false),
        ListMultipartUploads => ("s3:ListBucketMultipartUploads", false),
        // Judged per key by the handler; the request itself needs no more.
        DeleteObjects => ("s3:DeleteObject", false),
        GetObject | HeadObject => (v("s3:GetObject", "s3:GetObjectVersion"), true),
        GetObjectAttributes => (
            v("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
            true,
        ),
        PostObject
        | PutObject
        | CopyObject
        | CreateMultipartUpload
        | UploadPart
        | UploadPartCopy
        | CompleteMultipartUpload => ("s3:PutObject", true),
        // Never judged: a preflight carries no credentials.
        PreflightCors => ("s3:GetObject", true),
        DeleteObject => (v("s3:DeleteObject", "s3:DeleteObjectVersion"), true),
        GetObjectTagging => (v("s3:GetObjectTagging", "s3:GetObjectVersionTagging"), true),
        PutObjectTagging => (v("s3:PutObjectTagging", "s3:PutObjectVersionTagging"), true),
        DeleteObjectTagging => (
            v("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
            true,
        ),
        GetObjectRetention => ("s3:GetObjectRetention", true),
        PutObjectRetention => ("s3:PutObjectRetention", true),
        GetObjectLegalHold => ("s3:GetObjectLegalHold", true),
        PutObjectLegalHold => ("s3:PutObjectLegalHold", true),
        GetObjectAcl => (v("s3:GetObjectAcl", "s3:GetObjectVersionAcl"), true),
        PutObjectAcl => (v("s3:PutObjectAcl", "s3:PutObjectVersionAcl"), true),
        AbortMultipartUpload => ("s3:AbortMultipartUpload", true),
        ListParts => ("s3:ListMultipartUploadParts", true),
    }
}

/// `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`.
pub fn resource(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("arn:aws:s3:::{bucket}/{k}"),
        None if bucket.is_empty() => "arn:aws:s3:::*".to_string(),
        None => format!("arn:aws:s3:::{bucket}"),
    }
}

/// The condition keys a request carries (AWS's global keys and S3's own).
pub fn context(req: &S3Request) -> ConditionContext {
    let mut c = ConditionContext::new();
    if let Some(ClientAddr(addr)) = req.client {
        c.insert("aws:SourceIp", addr.ip().to_canonical().to_string());
    }
    c.insert("aws:SecureTransport", "false");
    let secs = req.now.div_euclid(1000);
    c.insert("aws:EpochTime", secs.to_string());
    if let Some(t) = chrono::DateTime::from_timestamp(secs, 0) {
        c.insert(
            "aws:CurrentTime",
            t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
    }
    for (header, key) in [
        ("referer", "aws:Referer"),
        ("user-agent", "aws:UserAgent"),
        ("x-amz-acl", "s3:x-amz-acl"),
        (
            "x-amz-server-side-encryption",
            "s3:x-amz-server-side-encryption",
        ),
        (
            "x-amz-server-side-encryption-aws-kms-key-id",
            "s3:x-amz-server-side-encryption-aws-kms-key-id",
        ),
        (
            "x-amz-server-side-encryption-customer-algorithm",
            "s3:x-amz-server-side-encryption-customer-algorithm",
        ),
        ("x-amz-copy-source", "s3:x-amz-copy-source"),
        ("x-amz-metadata-directive", "s3:x-amz-metadata-directive"),
        ("x-amz-storage-class", "s3:x-amz-storage-class"),
        ("x-amz-content-sha256", "s3:x-amz-content-sha256"),
        ("x-amz-object-lock-mode", "s3:object-lock-mode"),
        (
            "x-amz-object-lock-retain-until-date",
            "s3:object-lock-retain-until-date",
        ),
        ("x-amz-object-lock-legal-hold", "s3:object-lock-legal-hold"),
        ("x-amz-grant-read", "s3:x-amz-grant-read"),
        ("x-amz-grant-write", "s3:x-amz-grant-write"),
        ("x-amz-grant-read-acp", "s3:x-amz-grant-read-acp"),
        ("x-amz-grant-write-acp", "s3:x-amz-grant-write-acp"),
        ("x-amz-grant-full-control", "s3:x-amz-grant-full-control"),
    ] {
        if let Some(v) = req.header(header) {
            c.insert(key, v);
        }
    }
    for (param, key) in [
        ("prefix", "s3:prefix"),
        ("delimiter", "s3:delimiter"),
        ("max-keys", "s3:max-keys"),
        ("versionId", "s3:VersionId"),
    ] {
        if let Some(v) = req.query.get(param) {
            c.insert(key, v);
        }
    }
    if matches!(
        req.op,
        Operation::ListObjects | Operation::ListObjectsV2 | Operation::ListObjectVersions
    ) && req.query.get("prefix").is_none()
    {
        // AWS: a listing without a prefix has the empty prefix.
        c.insert("s3:prefix", "");
    }
    if let Some(tagging) = req.header("x-amz-tagging") {
        for pair in tagging.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| {
                String::from_utf8_lossy(&crate::auth::decode_query_component(s)).into_owned()
            };
            let (k, v) = (dec(k), dec(v));
            c.insert(&format!("s3:RequestObjectTag/{k}"), v);
            c.insert("s3:RequestObjectTagKeys", k);
        }
    }
    c
}

/// Judges `action` on `bucket`/`key` for the request's caller.
fn judge(
    state: &S3Api,
    req: &S3Request,
    action: &str,
    bucket: &str,
    key: Option<&str>,
) -> S3Result<Verdict> {
    if req.caller.is_root() {
        return Ok(Verdict::Allowed);
    }
    judge_in(state, &req.caller, context(req), action, bucket, key)
}

/// Judges `action` on `bucket`/`key` for `caller`, with the request's condition keys
/// (from [`context`]).
fn judge_in(
    state: &S3Api,
    caller: &Caller,
    mut context: ConditionContext,
    action: &str,
    bucket: &str,
    key: Option<&str>,
) -> S3Result<Verdict> {
    let mut policy = if bucket.is_empty() {
        None
    } else {
        state.bucket_policies.get(bucket)?
    };
    if matches!(caller, Caller::Anonymous)
        && policy.as_ref().is_some_and(|p| p.is_public())
        && state
            .store
            .s3_public_access_block(bucket)?
            .is_some_and(|b| b.restrict_public_buckets)
    {
        // RestrictPublicBuckets: a public policy lets in only the account's own principals.
        policy = None;
    }
    if let Some(key) = key
        && (policy
            .as_ref()
            .is_some_and(|p| p.uses_existing_object_tags())
            || state.identities.snapshot().uses_existing_object_tags())
    {
        // s3:ExistingObjectTag/<tag>: the tags of the version the request names (a missing
        // object has none).
        let which = VersionRef::from_option(
            context
                .get("s3:VersionId")
                .and_then(|v| v.first())
                .map(String::as_str),
        );
        if let Ok(v) = state.store.get_version(bucket, key, which) {
            for (k, value) in &v.tags {
                context.insert(&format!("s3:ExistingObjectTag/{k}"), value.clone());
            }
        }
    }
    Ok(state.identities.authorize(
        caller,
        action,
        &resource(bucket, key),
        &mut context,
        policy.as_deref(),
    ))
}

fn access_denied() -> S3Error {
    S3Error::new(S3ErrorCode::AccessDenied)
}

/// Whether `caller` may perform `action` on `bucket`/`key` (`version_id`: the version an object
/// action names): allowed by a policy ([`judge_in`]), or else, when no policy denied it, by
/// the bucket's or the object's access control list ([`acl_allows`]).
pub fn permitted(
    state: &S3Api,
    caller: &Caller,
    context: ConditionContext,
    action: &str,
    bucket: &str,
    key: Option<&str>,
    version_id: Option<&str>,
) -> S3Result<bool> {
    match judge_in(state, caller, context, action, bucket, key)? {
        Verdict::Allowed => Ok(true),
        Verdict::ExplicitDeny => Ok(false),
        Verdict::ImplicitDeny => acl_allows(state, caller, action, bucket, key, version_id),
    }
}

/// The ACL permission an action needs, and whether the object's ACL holds it (else the
/// bucket's). AWS's table: READ on a bucket lists it, WRITE on a bucket writes and deletes
/// any object in it, READ on an object reads it; READ_ACP and WRITE_ACP read and replace the
/// ACL itself. Actions no ACL permission covers are `None`.
fn acl_permission(action: &str) -> Option<(bool, AclPermission)> {
    use AclPermission::*;
    Some(match action {
        "s3:ListBucket" | "s3:ListBucketVersions" | "s3:ListBucketMultipartUploads" => {
            (false, Read)
        }
        "s3:PutObject"
        | "s3:DeleteObject"
        | "s3:DeleteObjectVersion"
        | "s3:AbortMultipartUpload"
        | "s3:ListMultipartUploadParts" => (false, Write),
        "s3:GetBucketAcl" => (false, ReadAcp),
        "s3:PutBucketAcl" => (false, WriteAcp),
        "s3:GetObject"
        | "s3:GetObjectVersion"
        | "s3:GetObjectAttributes"
        | "s3:GetObjectVersionAttributes" => (true, Read),
        "s3:GetObjectAcl" | "s3:GetObjectVersionAcl" => (true, ReadAcp),
        "s3:PutObjectAcl" | "s3:PutObjectVersionAcl" => (true, WriteAcp),
        _ => return None,
    })
}

/// Whether the bucket's or the object's ACL lets `caller` perform `action` (only asked when no
/// policy allowed or denied it). ACLs allow nothing when the bucket's ownership controls are
/// `BucketOwnerEnforced`; public grants count for nothing under `IgnorePublicAcls`. An access
/// key narrowed by a policy of its own (and so an STS session) gets nothing from ACLs: its
/// policy is the most it may do. A bucket that does not exist is `NoSuchBucket`; an object
/// that does not exist is `NoSuchKey` to a caller who may list the bucket.
fn acl_allows(
    state: &S3Api,
    caller: &Caller,
    action: &str,
    bucket: &str,
    key: Option<&str>,
    version_id: Option<&str>,
) -> S3Result<bool> {
    let Some((on_object, permission)) = acl_permission(action) else {
        return Ok(false);
    };
    if bucket.is_empty() {
        return Ok(false);
    }
    if let Caller::Key(k) = caller
        && matches!(
            &k.owner,
            KeyOwner::AccessKey {
                policy: Some(_),
                ..
            }
        )
    {
        return Ok(false);
    }
    state.store.bucket(bucket)?;
    if state
        .store
        .s3_ownership(bucket)?
        .is_some_and(|o| o.object_ownership == ObjectOwnership::BucketOwnerEnforced)
    {
        return Ok(false);
    }
    let ignore_public = state
        .store
        .s3_public_access_block(bucket)?
        .is_some_and(|b| b.ignore_public_acls);
    let id = caller.user();
    let bucket_grants = || -> S3Result<Vec<AclGrant>> {
        Ok(match state.store.s3_bucket_acl(bucket)? {
            Some(a) => a.grants,
            None => acl::private(state.account()),
        })
    };
    let (Some(key), true) = (key, on_object) else {
        return Ok(acl::allows(
            &bucket_grants()?,
            id,
            permission,
            ignore_public,
        ));
    };
    let version = match state
        .store
        .get_version(bucket, key, VersionRef::from_option(version_id))
    {
        Ok(v) => v,
        Err(e) => {
            // Only a caller who may list the bucket learns that the object does not exist.
            let may_list = acl::allows(&bucket_grants()?, id, AclPermission::Read, ignore_public);
            return if may_list { Err(e.into()) } else { Ok(false) };
        }
    };
    let owner = version.owner.as_deref().unwrap_or(state.account());
    if id == Some(owner) && matches!(permission, AclPermission::ReadAcp | AclPermission::WriteAcp) {
        // An object's owner may always read and replace its ACL.
        return Ok(true);
    }
    Ok(match &version.acl {
        Some(grants) => acl::allows(grants, id, permission, ignore_public),
        None => acl::allows(&acl::private(owner), id, permission, ignore_public),
    })
}

/// Whether the request's caller may perform its operation; `AccessDenied` if not.
pub fn authorize(state: &S3Api, req: &S3Request) -> S3Result<()> {
    if req.op == Operation::ListBuckets && !matches!(req.caller, Caller::Anonymous) {
        // Every signed caller may ask; the answer holds the buckets it may see
        // ([`may_list_every_bucket`], [`may_see_bucket`]).
        return Ok(());
    }
    // `x-amz-expected-bucket-owner`: the caller's guard against writing into (or reading from)
    // a bucket someone else owns. Every bucket is the account's.
    if !req.bucket.is_empty()
        && req
            .header("x-amz-expected-bucket-owner")
            .is_some_and(|owner| owner != state.account())
    {
        return Err(access_denied());
    }
    let version_id = req.query.get("versionId");
    let (action, on_object) = action(req.op, version_id.is_some());
    let key = on_object.then_some(req.key.as_str());
    if !allowed(state, req, action, &req.bucket, key, version_id)? {
        if matches!(req.op, Operation::GetObject | Operation::HeadObject)
            && version_id.is_none()
            && may_learn_it_is_missing(state, req)?
        {
            return Err(S3Error::new(S3ErrorCode::NoSuchKey));
        }
        return Err(access_denied());
    }
    if req
        .header("x-amz-bypass-governance-retention")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        && !judge(state, req, "s3:BypassGovernanceRetention", &req.bucket, key)?.is_allowed()
    {
        return Err(access_denied());
    }
    Ok(())
}

/// AWS's rule for a read of a key that does not exist: a caller who may list the bucket with
/// the key as prefix learns that (404 `NoSuchKey`), anyone else gets 403.
fn may_learn_it_is_missing(state: &S3Api, req: &S3Request) -> S3Result<bool> {
    match state
        .store
        .get_version(&req.bucket, &req.key, VersionRef::Current)
    {
        Ok(_) => return Ok(false),
        Err(StoreError::NoSuchKey | StoreError::DeleteMarker { .. }) => {}
        Err(StoreError::NoSuchBucket) => return Err(S3Error::new(S3ErrorCode::NoSuchBucket)),
        Err(e) => return Err(e.into()),
    }
    let mut c = context(req);
    c.insert("s3:prefix", req.key.clone());
    permitted(
        state,
        &req.caller,
        c,
        "s3:ListBucket",
        &req.bucket,
        None,
        None,
    )
}

/// Whether a root request is judged at all: only where a bucket policy could deny it. The
/// bucket policy's own actions never are, so the owner can always repair a policy that locks
/// it out (AWS's rule for the bucket owner's root user).
fn root_is_judged(state: &S3Api, action: &str, bucket: &str) -> S3Result<bool> {
    if bucket.is_empty()
        || matches!(
            action,
            "s3:GetBucketPolicy" | "s3:PutBucketPolicy" | "s3:DeleteBucketPolicy"
        )
    {
        return Ok(false);
    }
    Ok(state.bucket_policies.get(bucket)?.is_some())
}

/// [`permitted`] for the request's caller and condition keys.
fn allowed(
    state: &S3Api,
    req: &S3Request,
    action: &str,
    bucket: &str,
    key: Option<&str>,
    version_id: Option<&str>,
) -> S3Result<bool> {
    if req.caller.is_root() && !root_is_judged(state, action, bucket)? {
        return Ok(true);
    }
    permitted(
        state,
        &req.caller,
        context(req),
        action,
        bucket,
        key,
        version_id,
    )
}

/// Whether the caller may perform `action` on one object of the request's bucket (DeleteObjects
/// judges each key so).
pub fn allowed_object(
    state: &S3Api,
    req: &S3Request,
    action: &str,
    key: &str,
    version_id: Option<&str>,
) -> S3Result<bool> {
    allowed(state, req, action, &req.bucket, Some(key), version_id)
}

/// CopyObject and UploadPartCopy read their source: the caller needs `s3:GetObject` (or
/// `s3:GetObjectVersion`) on it too.
pub fn authorize_copy_source(
    state: &S3Api,
    req: &S3Request,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> S3Result<()> {
    if req
        .header("x-amz-source-expected-bucket-owner")
        .is_some_and(|owner| owner != state.account())
    {
        return Err(access_denied());
    }
    let action = if version_id.is_some() {
        "s3:GetObjectVersion"
    } else {
        "s3:GetObject"
    };
    if allowed(state, req, action, bucket, Some(key), version_id)? {
        Ok(())
    } else {
        Err(access_denied())
    }
}

/// The service principal that delivers server access logs.
pub const LOG_DELIVERY_SERVICE: &str = "logging.s3.amazonaws.com";

/// Whether the log writer may deliver `source`'s access logs into `target` under `prefix`:
/// `target`'s bucket policy allows `s3:PutObject` on `arn:aws:s3:::<target>/<prefix>` to the
/// service principal [`LOG_DELIVERY_SERVICE`] (with `aws:SourceArn` the source bucket's ARN and
/// `aws:SourceAccount` its owner), or, when no policy statement applies, `target`'s ACL grants
/// the LogDelivery group WRITE (the older way AWS documents). Asked when logging is configured
/// and again for every record, so a revoked permission stops delivery.
pub fn log_delivery_allowed(
    state: &S3Api,
    source: &str,
    target: &str,
    prefix: &str,
) -> S3Result<bool> {
    let principal = crate::iam::Principal {
        service: Some(LOG_DELIVERY_SERVICE),
        ..Default::default()
    };
    let mut context = ConditionContext::new();
    context.insert("aws:SourceArn", resource(source, None));
    context.insert("aws:SourceAccount", state.account());
    let verdict = match state.bucket_policies.get(target)? {
        Some(policy) => policy.evaluate(&crate::iam::AccessRequest {
            action: "s3:PutObject",
            resource: &resource(target, Some(prefix)),
            principal: &principal,
            context: &context,
        }),
        None => crate::iam::Decision::NotApplicable,
    };
    Ok(match verdict {
        crate::iam::Decision::Allow => true,
        crate::iam::Decision::Deny => false,
        crate::iam::Decision::NotApplicable => {
            let acls_disabled = state
                .store
                .s3_ownership(target)?
                .is_some_and(|o| o.object_ownership == ObjectOwnership::BucketOwnerEnforced);
            !acls_disabled
                && state.store.s3_bucket_acl(target)?.is_some_and(|acl| {
                    acl.grants.iter().any(|g| {
                        g.grantee == crate::store::AclGrantee::LogDelivery
                            && matches!(
                                g.permission,
                                AclPermission::Write | AclPermission::FullControl
                            )
                    })
                })
        }
    })
}

/// The canonical id that owns what the request's caller writes: `None` for the account (the
/// root user and its access keys), else the user's name.
pub fn writer(state: &S3Api, caller: &Caller) -> Option<String> {
    caller
        .user()
        .filter(|id| *id != state.account())
        .map(str::to_string)
}

/// Whether the caller may list every bucket (`s3:ListAllMyBuckets`).
pub fn may_list_every_bucket(state: &S3Api, req: &S3Request) -> S3Result<bool> {
    Ok(judge(state, req, "s3:ListAllMyBuckets", "", None)?.is_allowed())
}

/// Whether a caller who may not list every bucket may see this one in ListBuckets (MinIO's
/// rule: any bucket it may list or locate).
pub fn may_see_bucket(state: &S3Api, req: &S3Request, bucket: &str) -> S3Result<bool> {
    Ok(
        judge(state, req, "s3:ListBucket", bucket, None)?.is_allowed()
            || judge(state, req, "s3:GetBucketLocation", bucket, None)?.is_allowed(),
    )
}
