//! `GET /api/caps[?bucket=B][&prefix=P]`: which of the actions the console's pages offer the
//! session's key may perform, so a read-only user sees read-only screens. Judged by the one
//! evaluator (`s3::access::permitted` with the bucket's policy and ACLs for S3 actions,
//! `Identities::authorize` for admin actions), but only a hint: every request is judged
//! again when it is made.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Map, Value};

use super::Console;
use crate::iam::Caller;
use crate::iam::condition::ConditionContext;
use crate::s3::access;

/// S3 actions on the bucket itself.
const BUCKET_ACTIONS: &[&str] = &[
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:PutBucketVersioning",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketTagging",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketCORS",
    "s3:PutLifecycleConfiguration",
];

/// S3 actions on the bucket's objects (under `prefix`).
const OBJECT_ACTIONS: &[&str] = &[
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:PutObjectTagging",
    "s3:BypassGovernanceRetention",
];

/// Admin actions on the whole server.
const SERVER_ACTIONS: &[&str] = &[
    "admin:ServerInfo",
    "admin:ListUsers",
    "admin:CreateUser",
    "admin:ListGroups",
    "admin:GetPolicy",
    "admin:CreatePolicy",
    "admin:CreateServiceAccount",
    "admin:ListServiceAccounts",
    "admin:Prometheus",
    "lakegate:ListPolicyBindings",
    "lakegate:PutPolicyBinding",
    "lakegate:PutPlugin",
    "lakegate:ListBackups",
    "lakegate:GetAuditTrail",
    "lakegate:RunPolicySuites",
];

/// lakegate's admin actions on one bucket.
const BUCKET_ADMIN_ACTIONS: &[&str] = &[
    "lakegate:RunLifecycle",
    "lakegate:GetLifecycleStatus",
    "lakegate:RunBackup",
    "lakegate:RestoreBackup",
];

/// Whether `caller` may do `action` on the admin resource `resource` (an ARN).
pub fn admin_allowed(console: &Console, caller: &Caller, action: &str, resource: &str) -> bool {
    console
        .s3
        .identities
        .authorize(caller, action, resource, &mut ConditionContext::new(), None)
        .is_allowed()
}

/// Whether `caller` may do the S3 `action` on `bucket` (`""`: any bucket) and, for object
/// actions, on a key matching `key`.
fn s3_allowed(
    console: &Console,
    caller: &Caller,
    action: &str,
    bucket: &str,
    key: Option<&str>,
) -> bool {
    if bucket.is_empty() {
        return admin_allowed(console, caller, action, "arn:aws:s3:::*");
    }
    access::permitted(
        &console.s3,
        caller,
        ConditionContext::new(),
        action,
        bucket,
        key,
        None,
    )
    .unwrap_or(false)
}

pub async fn caps(State(console): State<Arc<Console>>, req: Request) -> Response {
    let (_, caller) = match console.admit(&req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let query = super::query_pairs(req.uri().query());
    let bucket = query.get("bucket").map(String::as_str).unwrap_or_default();
    let prefix = query.get("prefix").map(String::as_str).unwrap_or_default();
    let object_key = format!("{prefix}*");
    let bucket_arn = if bucket.is_empty() {
        "arn:aws:s3:::*".to_string()
    } else {
        format!("arn:aws:s3:::{bucket}")
    };
    let mut actions = Map::new();
    for a in BUCKET_ACTIONS {
        actions.insert(
            (*a).into(),
            s3_allowed(&console, &caller, a, bucket, None).into(),
        );
    }
    for a in OBJECT_ACTIONS {
        let ok = s3_allowed(&console, &caller, a, bucket, Some(&object_key));
        actions.insert((*a).into(), ok.into());
    }
    for a in SERVER_ACTIONS {
        let ok = admin_allowed(&console, &caller, a, "arn:aws:s3:::*");
        actions.insert((*a).into(), ok.into());
    }
    for a in BUCKET_ADMIN_ACTIONS {
        let ok = admin_allowed(&console, &caller, a, &bucket_arn);
        actions.insert((*a).into(), ok.into());
    }
    Json(serde_json::json!({ "actions": Value::Object(actions) })).into_response()
}
