//! The one evaluator: whether a caller may perform an action on a resource.
//!
//! Every request of every API (S3, STS, the admin APIs) is judged here, after its signature
//! checked out, as AWS judges a request within one account:
//! - the root user may do everything its bucket's policy does not explicitly deny (as on AWS,
//!   where a bucket policy binds the owning account's root user too; the S3 layer exempts the
//!   bucket policy's own actions, so the owner cannot lock itself out);
//! - otherwise the caller's identity policies (a user's own and its enabled groups'; for an
//!   access key, its parent's, intersected with the key's own policy when it has one) and the
//!   bucket's policy are evaluated; an explicit `Deny` in either refuses, else an `Allow` in
//!   either permits, else the request is refused (implicit deny);
//! - an anonymous caller has no identity policies: only a bucket policy naming `*` can let it
//!   in.

use std::sync::Arc;

use super::condition::ConditionContext;
use super::document::{AccessRequest, Decision, PolicyDocument, Principal};
use super::identity::{Identities, KeyOwner, SigningKey};

/// Who sent a request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No signature.
    Anonymous,
    /// A verified signature by this key.
    Key(Arc<SigningKey>),
}

impl Caller {
    /// The root user?
    pub fn is_root(&self) -> bool {
        matches!(self, Caller::Key(k) if matches!(k.owner, KeyOwner::Root))
    }

    /// The access key that signed, `None` for anonymous requests.
    pub fn access_key(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::Key(k) => Some(&k.access_key),
        }
    }

    /// The user whose permissions the caller has (root's access key for root and its keys);
    /// `None` for anonymous requests.
    pub fn user(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::Key(k) => Some(match &k.owner {
                KeyOwner::Root => &k.access_key,
                KeyOwner::User(u) => u,
                KeyOwner::AccessKey { parent, .. } => parent,
            }),
        }
    }
}

/// The outcome of an authorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// A `Deny` statement applied.
    ExplicitDeny,
    /// Nothing allowed it.
    ImplicitDeny,
}

impl Verdict {
    pub fn is_allowed(self) -> bool {
        self == Verdict::Allowed
    }
}

impl Identities {
    /// Judges `action` on `resource` (an ARN) by `caller`, with the bucket's policy if the
    /// resource is in a bucket that has one. Adds the caller's own condition keys
    /// (`aws:username`, `aws:userid`, `aws:principaltype`) to `context` first.
    pub fn authorize(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        context: &mut ConditionContext,
        bucket_policy: Option<&PolicyDocument>,
    ) -> Verdict {
        let account = self.root_access_key();
        let (principal_type, name) = match caller {
            Caller::Anonymous => ("Anonymous", None),
            Caller::Key(k) => match &k.owner {
                KeyOwner::Root => ("Account", Some(account)),
                KeyOwner::User(u) => ("User", Some(u.as_str())),
                KeyOwner::AccessKey {
                    parent,
                    parent_is_root,
                    ..
                } => (
                    if k.session_token_sha256.is_some() {
                        "AssumedRole"
                    } else if *parent_is_root {
                        "Account"
                    } else {
                        "User"
                    },
                    Some(parent.as_str()),
                ),
            },
        };
        context.insert("aws:principaltype", principal_type);
        if let (Some(n), false) = (name, caller.is_root()) {
            context.insert("aws:username", n);
            context.insert("aws:userid", n);
        }
        let arns: Vec<String> = match (caller, name) {
            (Caller::Key(k), Some(n)) => match &k.owner {
                KeyOwner::Root
                | KeyOwner::AccessKey {
                    parent_is_root: true,
                    ..
                } => vec![format!("arn:aws:iam::{account}:root")],
                _ => vec![super::user_arn(account, n)],
            },
            _ => Vec::new(),
        };
        let principal = Principal {
            anonymous: matches!(caller, Caller::Anonymous),
            account: (!matches!(caller, Caller::Anonymous)).then_some(account),
            aws: &arns,
            canonical_id: name,
            service: None,
        };
        let request = AccessRequest {
            action,
            resource,
            principal: &principal,
            context,
        };
        let snapshot = self.snapshot();
        let user_decision = |user: &str| -> Decision {
            snapshot
                .user(user)
                .map(|p| {
                    p.documents.iter().fold(Decision::NotApplicable, |d, doc| {
                        d.combine(doc.evaluate(&request))
                    })
                })
                .unwrap_or(Decision::NotApplicable)
        };
        let identity = match caller {
            Caller::Anonymous => Decision::NotApplicable,
            Caller::Key(k) => match &k.owner {
                KeyOwner::Root => Decision::Allow,
                KeyOwner::User(u) => user_decision(u),
                KeyOwner::AccessKey {
                    parent,
                    parent_is_root,
                    policy,
                } => {
                    let from_parent = if *parent_is_root {
                        Decision::Allow
                    } else {
                        user_decision(parent)
                    };
                    match policy {
                        None => from_parent,
                        Some(own) => match (from_parent, own.evaluate(&request)) {
                            (Decision::Deny, _) | (_, Decision::Deny) => Decision::Deny,
                            (Decision::Allow, Decision::Allow) => Decision::Allow,
                            _ => Decision::NotApplicable,
                        },
                    }
                }
            },
        };
        let bucket = bucket_policy
            .map(|p| p.evaluate(&request))
            .unwrap_or(Decision::NotApplicable);
        match identity.combine(bucket) {
            Decision::Allow => Verdict::Allowed,
            Decision::Deny => Verdict::ExplicitDeny,
            Decision::NotApplicable => Verdict::ImplicitDeny,
        }
    }
}
