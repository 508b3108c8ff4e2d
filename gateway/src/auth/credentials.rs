//! The credential store: access keys and their secrets.

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

/// The access keys the gateway accepts. Today: the root credentials.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    root: Credentials,
}

impl CredentialStore {
    pub fn new(root: Credentials) -> Self {
        CredentialStore { root }
    }

    /// The credentials for an access key, if it exists.
    pub fn lookup(&self, access_key: &str) -> Option<&Credentials> {
        (self.root.access_key == access_key).then_some(&self.root)
    }

    pub fn root(&self) -> &Credentials {
        &self.root
    }
}
