//! Encryption at rest: the package format objects' bytes are stored in, the keys that seal them,
//! and the key-management service (KMS) that seals those keys.
//!
//! - [`package`]: authenticated encryption in fixed-size packages (AES-256-GCM, 64 KiB of
//!   plaintext each, DARE 2.0's layout), so a range read decrypts only the packages it covers.
//! - [`object_key`]: a random key per object, sealed under a key-encryption key derived from the
//!   external key (the KMS's data key, or the customer's key for SSE-C); one stream key per part.
//! - [`kms`]: the KMS behind one trait, and the built-in keyring of named master keys.
//!
//! Nothing here knows about S3 or the store: the S3 layer decides which objects are encrypted
//! and with what, and keeps the sealed keys in the object's metadata record.

pub mod kms;
pub mod object_key;
pub mod package;

pub use kms::{DataKey, Keyring, Kms, KmsError};
pub use object_key::{ObjectKey, SealedObjectKey};
pub use package::{PACKAGE_OVERHEAD, PACKAGE_SIZE, ciphertext_len, open_stream, seal_stream};

/// What can go wrong decrypting or unsealing: all of it means "these bytes or this key are not
/// what was written", and none of it is ever answered with data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A package failed authentication, is out of order, or the stream ended early or late.
    #[error("encrypted data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The key does not open the sealed object key (a wrong SSE-C key, or another KMS key).
    #[error("the key does not match the one the object was encrypted with")]
    WrongKey,
    /// No random bytes from the operating system.
    #[error("no random bytes from the operating system")]
    Random,
}

/// `N` random bytes.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// An AES-256-GCM key.
pub(crate) fn aead_key(key: &[u8; 32]) -> ring::aead::LessSafeKey {
    // A 32-byte key is always accepted by AES-256-GCM.
    match ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key) {
        Ok(k) => ring::aead::LessSafeKey::new(k),
        Err(_) => unreachable!("AES-256-GCM takes 32-byte keys"),
    }
}
