//! The key-management service: named master keys that generate and unseal the data keys of
//! SSE-S3 and SSE-KMS objects. One trait ([`Kms`]) so an external KMS can stand in later; the
//! built-in one is a [`Keyring`] of static keys.
//!
//! # Keys and rotation
//!
//! A keyring holds named keys, each with one or more versions: 32 bytes each, given as
//! `name:base64` (MinIO's `MINIO_KMS_SECRET_KEY` format). In a keys file a later line with a name
//! already seen adds a new version of that key: new data keys are sealed with the newest version,
//! data keys sealed with older versions still open, and [`Kms::reseal`] moves a sealed data key to
//! the newest version without touching the object's data.
//!
//! # Sealed data keys
//!
//! `0x01 | key version (u32 BE) | nonce (12 bytes) | AES-256-GCM(data key) (32 bytes) | tag (16)`,
//! with the key's name and the encryption context as associated data: a data key opens only
//! under the key and context it was generated for.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;

use super::{CryptoError, aead_key, random_bytes};

const SEALED_FORMAT: u8 = 0x01;
const SEALED_LEN: usize = 1 + 4 + 12 + 32 + 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// No key of this name.
    #[error("the KMS has no key named {0:?}")]
    UnknownKey(String),
    /// A key specification that is not `name:base64-of-32-bytes`.
    #[error("invalid KMS key {0}: expected <name>:<base64 of 32 bytes>")]
    InvalidKeySpec(String),
    #[error("cannot read the KMS keys file {path}: {reason}")]
    File { path: String, reason: String },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// A data key: the plaintext (for this request only) and its sealed form (to store).
pub struct DataKey {
    pub plaintext: [u8; 32],
    pub sealed: Vec<u8>,
}

/// A key-management service.
pub trait Kms: Send + Sync {
    /// The key SSE-S3 objects and bucket defaults without a key id use.
    fn default_key(&self) -> &str;
    /// Whether a key of this name exists.
    fn has_key(&self, name: &str) -> bool;
    /// A fresh data key, sealed under key `name` for `context`.
    fn generate_data_key(&self, name: &str, context: &[u8]) -> Result<DataKey, KmsError>;
    /// Opens a data key sealed by [`Kms::generate_data_key`] with the same name and context.
    fn open_data_key(
        &self,
        name: &str,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<[u8; 32], KmsError>;
    /// Whether `sealed` was sealed by an older version of key `name` than the newest (so
    /// [`Kms::reseal`] would move it forward).
    fn needs_reseal(&self, name: &str, sealed: &[u8]) -> bool;
    /// The same data key sealed under the newest version of key `name` (rotation).
    fn reseal(&self, name: &str, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, KmsError> {
        let plaintext = self.open_data_key(name, sealed, context)?;
        self.seal_with_newest(name, &plaintext, context)
    }
    /// Seals `plaintext` under the newest version of key `name`.
    fn seal_with_newest(
        &self,
        name: &str,
        plaintext: &[u8; 32],
        context: &[u8],
    ) -> Result<Vec<u8>, KmsError>;
    /// Requests answered and refused so far.
    fn requests(&self) -> KmsRequests;
}

/// The built-in KMS: static named keys, each with its versions, oldest first.
pub struct Keyring {
    keys: BTreeMap<String, Vec<[u8; 32]>>,
    default: String,
    /// Data keys generated or opened, and requests refused (unknown key, wrong key, corrupt).
    succeeded: AtomicU64,
    failed: AtomicU64,
}

/// How many requests a KMS answered, and how many it refused (for the metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KmsRequests {
    pub succeeded: u64,
    pub failed: u64,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("default", &self.default)
            .finish()
    }
}

/// The value of a retired key version in a keys file (`name:retired`).
pub const RETIRED: &str = "retired";

/// Parses `name:base64-of-32-bytes`, or `name:retired` for a retired version.
pub fn parse_key_spec(spec: &str) -> Result<(String, [u8; 32]), KmsError> {
    let spec = spec.trim();
    let bad = || {
        let name = spec.split(':').next().unwrap_or_default();
        KmsError::InvalidKeySpec(format!("{name:?}"))
    };
    let (name, b64) = spec.split_once(':').ok_or_else(bad)?;
    let name = name.trim();
    if name.is_empty()
        || name.len() > 128
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        return Err(bad());
    }
    // A retired version keeps its place (versions are numbered by position) and opens nothing:
    // a random key stands in for it.
    if b64.trim() == RETIRED {
        let key: [u8; 32] = random_bytes().map_err(|_| bad())?;
        return Ok((name.to_string(), key));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| bad())?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
    Ok((name.to_string(), key))
}

impl Keyring {
    /// A keyring of `(name, key)` pairs in order; a repeated name adds a version. The default key
    /// is the first name.
    pub fn new(entries: Vec<(String, [u8; 32])>) -> Option<Keyring> {
        let default = entries.first()?.0.clone();
        let mut keys: BTreeMap<String, Vec<[u8; 32]>> = BTreeMap::new();
        for (name, key) in entries {
            keys.entry(name).or_default().push(key);
        }
        Some(Keyring {
            keys,
            default,
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        })
    }

    /// Reads a keys file: one `name:base64` per line; blank lines and `#` comments skipped.
    pub fn read_file(path: &Path) -> Result<Vec<(String, [u8; 32])>, KmsError> {
        let text = std::fs::read_to_string(path).map_err(|e| KmsError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(parse_key_spec)
            .collect()
    }

    /// Generates a key file at `path` (mode 0600, never overwriting) holding one new key named
    /// `name`; returns its entry.
    pub fn create_file(path: &Path, name: &str) -> Result<(String, [u8; 32]), KmsError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let key: [u8; 32] = random_bytes()?;
        let line = format!(
            "# lakegate KMS master key: without it, encrypted objects cannot be read. Back it up.\n{name}:{}\n",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        let err = |e: std::io::Error| KmsError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(err)?;
        f.write_all(line.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        Ok((name.to_string(), key))
    }

    fn versions(&self, name: &str) -> Result<&Vec<[u8; 32]>, KmsError> {
        self.keys
            .get(name)
            .ok_or_else(|| KmsError::UnknownKey(name.to_string()))
    }
}

fn aad(name: &str, context: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(name.len() + 1 + context.len());
    a.extend_from_slice(name.as_bytes());
    a.push(0);
    a.extend_from_slice(context);
    a
}

impl Kms for Keyring {
    fn default_key(&self) -> &str {
        &self.default
    }

    fn has_key(&self, name: &str) -> bool {
        self.keys.contains_key(name)
    }

    fn needs_reseal(&self, name: &str, sealed: &[u8]) -> bool {
        let Ok(versions) = self.versions(name) else {
            return false;
        };
        if sealed.len() != SEALED_LEN || sealed[0] != SEALED_FORMAT {
            return false;
        }
        let version = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]) as usize;
        version + 1 < versions.len()
    }

    fn generate_data_key(&self, name: &str, context: &[u8]) -> Result<DataKey, KmsError> {
        let result = (|| {
            let plaintext: [u8; 32] = random_bytes()?;
            let sealed = self.seal_with_newest(name, &plaintext, context)?;
            Ok(DataKey { plaintext, sealed })
        })();
        self.count(result.is_ok());
        result
    }

    fn requests(&self) -> KmsRequests {
        KmsRequests {
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    fn seal_with_newest(
        &self,
        name: &str,
        plaintext: &[u8; 32],
        context: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        let versions = self.versions(name)?;
        let version = versions.len() - 1;
        let nonce: [u8; 12] = random_bytes()?;
        let mut out = Vec::with_capacity(SEALED_LEN);
        out.push(SEALED_FORMAT);
        out.extend_from_slice(&(version as u32).to_be_bytes());
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        aead_key(&versions[version])
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad(name, context)),
                &mut body,
            )
            .map_err(|_| CryptoError::Corrupt("cannot seal a data key"))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn open_data_key(
        &self,
        name: &str,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<[u8; 32], KmsError> {
        let result = self.open_sealed(name, sealed, context);
        self.count(result.is_ok());
        result
    }
}

impl Keyring {
    fn count(&self, ok: bool) {
        let c = if ok { &self.succeeded } else { &self.failed };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn open_sealed(&self, name: &str, sealed: &[u8], context: &[u8]) -> Result<[u8; 32], KmsError> {
        let versions = self.versions(name)?;
        if sealed.len() != SEALED_LEN || sealed[0] != SEALED_FORMAT {
            return Err(CryptoError::Corrupt("a sealed data key is malformed").into());
        }
        let version = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]) as usize;
        let key = versions.get(version).ok_or(CryptoError::WrongKey)?;
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&sealed[5..17]);
        let mut body = sealed[17..].to_vec();
        let plain = aead_key(key)
            .open_in_place(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad(name, context)),
                &mut body,
            )
            .map_err(|_| CryptoError::WrongKey)?;
        let out: [u8; 32] = plain.try_into().map_err(|_| CryptoError::WrongKey)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, byte: u8) -> String {
        format!(
            "{name}:{}",
            base64::engine::general_purpose::STANDARD.encode([byte; 32])
        )
    }

    #[test]
    fn key_specs() {
        let (n, k) = parse_key_spec(&spec("testkey-1", 3)).unwrap();
        assert_eq!((n.as_str(), k), ("testkey-1", [3u8; 32]));
        for bad in ["nokey", "a:!!!", ":AAAA", "a:AAAA", "sp ace:AAAA"] {
            assert!(
                matches!(parse_key_spec(bad), Err(KmsError::InvalidKeySpec(_))),
                "{bad}"
            );
        }
        // The message names the key, never its bytes.
        let e = parse_key_spec("k:c2VjcmV0").unwrap_err().to_string();
        assert!(!e.contains("c2VjcmV0"), "{e}");
    }

    #[test]
    fn data_keys_open_under_their_key_and_context_and_survive_rotation() {
        let k1 = parse_key_spec(&spec("a", 1)).unwrap();
        let k2 = parse_key_spec(&spec("b", 2)).unwrap();
        let ring = Keyring::new(vec![k1.clone(), k2]).unwrap();
        assert_eq!(ring.default_key(), "a");
        let dk = ring.generate_data_key("a", b"ctx").unwrap();
        assert_eq!(
            ring.open_data_key("a", &dk.sealed, b"ctx").unwrap(),
            dk.plaintext
        );
        assert!(ring.open_data_key("a", &dk.sealed, b"other").is_err());
        assert!(ring.open_data_key("b", &dk.sealed, b"ctx").is_err());
        assert_eq!(
            ring.generate_data_key("zzz", b"")
                .err()
                .map(|e| e.to_string()),
            Some(KmsError::UnknownKey("zzz".into()).to_string())
        );
        // A second version of "a": old data keys still open, and reseal moves them forward.
        let rotated =
            Keyring::new(vec![k1, ("a".into(), [5u8; 32]), ("b".into(), [2u8; 32])]).unwrap();
        assert_eq!(
            rotated.open_data_key("a", &dk.sealed, b"ctx").unwrap(),
            dk.plaintext
        );
        assert!(rotated.needs_reseal("a", &dk.sealed));
        let moved = rotated.reseal("a", &dk.sealed, b"ctx").unwrap();
        assert!(!rotated.needs_reseal("a", &moved));
        assert_eq!(&moved[1..5], &1u32.to_be_bytes());
        assert_eq!(
            rotated.open_data_key("a", &moved, b"ctx").unwrap(),
            dk.plaintext
        );
        // The old keyring (without version 1) cannot open it.
        assert!(ring.open_data_key("a", &moved, b"ctx").is_err());
        assert!(!format!("{rotated:?}").contains("[5"));
    }
}
