//! The credential store: which keys may sign requests, and their secrets.
//!
//! In the gateway it reads the identities' snapshot (`iam/identity.rs`), so a new, disabled or
//! removed key takes effect on the next request; tools and tests use one fixed key.

use std::sync::Arc;

use crate::iam::{Identities, KeyOwner, SigningKey};

/// One access key and its secret. `Debug` never prints the secret.
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
enum Keys {
    /// One key, with root's permissions.
    Fixed(Arc<SigningKey>),
    /// With the data plane's clock, which decides when temporary keys expire.
    Identities(Arc<Identities>, Arc<crate::clock::Clock>),
}

/// The keys the gateway accepts.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    keys: Keys,
}

impl CredentialStore {
    /// A store of one key, the root user's (tools and tests).
    pub fn new(root: Credentials) -> Self {
        CredentialStore {
            keys: Keys::Fixed(Arc::new(SigningKey {
                access_key: root.access_key,
                secret: root.secret_key,
                owner: KeyOwner::Root,
                session_token_sha256: None,
                expires: None,
            })),
        }
    }

    /// The gateway's store: every enabled key of the identities, temporary ones until they
    /// expire by `clock`.
    pub fn from_identities(identities: Arc<Identities>, clock: Arc<crate::clock::Clock>) -> Self {
        CredentialStore {
            keys: Keys::Identities(identities, clock),
        }
    }

    /// The key `access_key` names, if it may sign now.
    pub fn lookup(&self, access_key: &str) -> Option<Arc<SigningKey>> {
        match &self.keys {
            Keys::Fixed(k) => (k.access_key == access_key).then(|| k.clone()),
            Keys::Identities(ids, clock) => ids.signing_key(access_key, clock.now()),
        }
    }
}
