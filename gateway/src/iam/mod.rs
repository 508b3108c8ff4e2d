//! Identities and permissions: who may do what.
//!
//! - [`document`], [`condition`], [`wildcard`], [`action`]: the IAM JSON policy language
//!   (parsing, validation, evaluation), the condition operators and the known action names.
//! - [`canned`]: the canned policies every deployment has (`readwrite`, `readonly`, ...).
//! - [`identity`]: users, groups, named policies and access keys: the records in the store,
//!   an in-memory snapshot that every request reads, and the changes the admin APIs make.
//! - [`access`]: the one evaluator every request goes through: root, a user with its groups,
//!   an access key narrowed by its parent, or anonymous, judged together with the bucket's
//!   policy.
//!
//! Secrets are sealed with the gateway's local key before they are stored and are never
//! logged; access keys are compared by map lookup and signatures in constant time (`auth`).

pub mod access;
pub mod action;
pub mod bucket_policy;
pub mod canned;
pub mod condition;
pub mod document;
pub mod identity;
pub mod wildcard;

pub use access::{Caller, Verdict};
pub use bucket_policy::{BucketPolicies, BucketPolicyError};
pub use document::{AccessRequest, Decision, PolicyDocument, PolicyError, PolicyKind, Principal};
pub use identity::{IamError, Identities, KeyOwner, SigningKey};

/// The account every identity belongs to is named by the root user's access key (the canonical
/// id S3 shows as bucket owner); users' ARNs are `arn:aws:iam::<account>:user/<access key>`.
pub fn user_arn(account: &str, user: &str) -> String {
    format!("arn:aws:iam::{account}:user/{user}")
}
