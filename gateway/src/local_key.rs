//! The gateway's local key: a secret that authenticates what the gateway writes somewhere others
//! might also write, and later reads back (backup manifests on a target, compiled plugins in the
//! cache).
//!
//! The key is 32 random bytes in `<data-dir>/local.key`, created on first start with mode 0600 and
//! never followed through a symlink. Each use gets its own subkey, derived with HKDF-SHA256 under a
//! purpose label ([`Purpose`]), so a MAC made for one purpose never verifies for another.
//!
//! Restoring backups on a new machine needs the same key: keep a copy of `local.key` with the
//! root credentials, and put it into the new data directory before its first start.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ring::hmac;

/// The key file's name inside the data directory.
pub const FILE_NAME: &str = "local.key";
const KEY_LEN: usize = 32;

/// What a subkey is for; the label enters the HKDF derivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// HMAC-SHA256 over backup manifests.
    BackupManifest,
    /// HMAC-SHA256 over compiled plugin artifacts in the plugin cache.
    PluginCache,
    /// AES-256-GCM sealing of identities' secret keys in the metadata database.
    IdentitySecret,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::BackupManifest => b"lakegate backup manifest v1",
            Purpose::PluginCache => b"lakegate plugin cache v1",
            Purpose::IdentitySecret => b"lakegate identity secret v1",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalKeyError {
    #[error("cannot read or create the local key {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the local key {path} is not a {KEY_LEN}-byte regular file owned by this gateway")]
    Invalid { path: PathBuf },
    #[error("no random bytes for the local key")]
    Random,
    /// A sealed value that does not open under this key: another gateway's key, another
    /// owner (`aad`), or tampered bytes.
    #[error("a sealed secret does not open with this gateway's local key")]
    Unsealable,
}

/// Length of the nonce in front of every sealed value.
pub const SEAL_NONCE_LEN: usize = 12;

/// The gateway's local key (see the module docs). Never printed.
#[derive(Clone)]
pub struct LocalKey {
    secret: [u8; KEY_LEN],
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalKey(..)")
    }
}

impl LocalKey {
    /// Reads `<data_dir>/local.key`, creating it (0600, 32 random bytes) when it does not exist.
    ///
    /// A symlink, a file of another size or one readable by others is refused.
    pub fn load_or_create(data_dir: &Path) -> Result<LocalKey, LocalKeyError> {
        let path = data_dir.join(FILE_NAME);
        let io = |source| LocalKeyError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(mut f) => {
                let meta = f.metadata().map_err(io)?;
                if !meta.is_file()
                    || meta.len() != KEY_LEN as u64
                    || meta.permissions().mode() & 0o077 != 0
                {
                    return Err(LocalKeyError::Invalid { path });
                }
                let mut secret = [0u8; KEY_LEN];
                f.read_exact(&mut secret).map_err(io)?;
                Ok(LocalKey { secret })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = LocalKey::random()?;
                // Write beside, fsync, then link into place: a crash never leaves a short key,
                // and a racing second start keeps whichever key landed first.
                let tmp = data_dir.join(format!(".{FILE_NAME}.{}", std::process::id()));
                let _ = std::fs::remove_file(&tmp);
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&tmp)
                    .map_err(io)?;
                f.write_all(&key.secret).map_err(io)?;
                f.sync_all().map_err(io)?;
                drop(f);
                let linked = std::fs::hard_link(&tmp, &path);
                let _ = std::fs::remove_file(&tmp);
                match linked {
                    Ok(()) => {
                        if let Ok(dir) = std::fs::File::open(data_dir) {
                            let _ = dir.sync_all();
                        }
                        tracing::info!(path = %path.display(), "created the gateway's local key");
                        Ok(key)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        LocalKey::load_or_create(data_dir)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(LocalKeyError::Invalid { path }),
            Err(e) => Err(io(e)),
        }
    }

    /// A fresh random key that lives only in memory (tests, tools without a data directory).
    pub fn random() -> Result<LocalKey, LocalKeyError> {
        use ring::rand::SecureRandom;
        let mut secret = [0u8; KEY_LEN];
        ring::rand::SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| LocalKeyError::Random)?;
        Ok(LocalKey { secret })
    }

    /// A key with known bytes (tests).
    pub fn from_bytes(secret: [u8; KEY_LEN]) -> LocalKey {
        LocalKey { secret }
    }

    /// The HMAC-SHA256 key for `purpose` (HKDF-SHA256, salt-less extract, the purpose as info).
    pub fn hmac_key(&self, purpose: Purpose) -> hmac::Key {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &[]).extract(&self.secret);
        let info = [purpose.label()];
        match prk.expand(&info, hmac::HMAC_SHA256) {
            Ok(okm) => hmac::Key::from(okm),
            // `expand` fails only for outputs longer than 255 hash lengths; 32 bytes never is.
            Err(_) => unreachable!("HKDF output of one hash length"),
        }
    }

    /// HMAC-SHA256 of `data` under the subkey for `purpose`.
    pub fn sign(&self, purpose: Purpose, data: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.hmac_key(purpose), data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// The AES-256-GCM key for `purpose` (HKDF-SHA256 as for [`LocalKey::hmac_key`]).
    fn aead_key(&self, purpose: Purpose) -> ring::aead::LessSafeKey {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &[]).extract(&self.secret);
        let info = [purpose.label()];
        match prk.expand(&info, &ring::aead::AES_256_GCM) {
            Ok(okm) => ring::aead::LessSafeKey::new(ring::aead::UnboundKey::from(okm)),
            // Only outputs longer than 255 hash lengths fail; 32 bytes never does.
            Err(_) => unreachable!("HKDF output of one hash length"),
        }
    }

    /// Seals `plain` for `purpose`, bound to `aad` (who owns it, e.g. an access key): a random
    /// 12-byte nonce followed by the AES-256-GCM ciphertext and tag.
    pub fn seal(
        &self,
        purpose: Purpose,
        aad: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>, LocalKeyError> {
        use ring::rand::SecureRandom;
        let mut nonce = [0u8; SEAL_NONCE_LEN];
        ring::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| LocalKeyError::Random)?;
        let mut out = Vec::with_capacity(SEAL_NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        self.aead_key(purpose)
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad),
                &mut body,
            )
            .map_err(|_| LocalKeyError::Unsealable)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens what [`LocalKey::seal`] made for the same `purpose` and `aad`.
    pub fn open(
        &self,
        purpose: Purpose,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, LocalKeyError> {
        if sealed.len() < SEAL_NONCE_LEN + 16 {
            return Err(LocalKeyError::Unsealable);
        }
        let (nonce, body) = sealed.split_at(SEAL_NONCE_LEN);
        let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| LocalKeyError::Unsealable)?;
        let mut body = body.to_vec();
        let plain = self
            .aead_key(purpose)
            .open_in_place(nonce, ring::aead::Aad::from(aad), &mut body)
            .map_err(|_| LocalKeyError::Unsealable)?;
        Ok(plain.to_vec())
    }

    /// Whether `tag` is the HMAC-SHA256 of `data` for `purpose` (constant time).
    pub fn verify(&self, purpose: Purpose, data: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.hmac_key(purpose), data, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("lakegate-lk-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn created_once_then_reloaded() {
        let d = tempdir();
        let a = LocalKey::load_or_create(&d).unwrap();
        let meta = std::fs::metadata(d.join(FILE_NAME)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let b = LocalKey::load_or_create(&d).unwrap();
        let tag = a.sign(Purpose::BackupManifest, b"m");
        assert!(b.verify(Purpose::BackupManifest, b"m", &tag));
        assert!(!b.verify(Purpose::PluginCache, b"m", &tag));
        assert!(!b.verify(Purpose::BackupManifest, b"n", &tag));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn symlinked_short_or_shared_keys_are_refused() {
        let d = tempdir();
        let outside = d.join("outside");
        std::fs::write(&outside, [7u8; KEY_LEN]).unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&outside, d.join(FILE_NAME)).unwrap();
        assert!(matches!(
            LocalKey::load_or_create(&d),
            Err(LocalKeyError::Invalid { .. })
        ));
        std::fs::remove_file(d.join(FILE_NAME)).unwrap();
        std::fs::write(d.join(FILE_NAME), [1u8; 5]).unwrap();
        std::fs::set_permissions(d.join(FILE_NAME), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        assert!(LocalKey::load_or_create(&d).is_err());
        std::fs::write(d.join(FILE_NAME), [1u8; KEY_LEN]).unwrap();
        std::fs::set_permissions(d.join(FILE_NAME), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        assert!(LocalKey::load_or_create(&d).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_purpose_and_owner() {
        let k = LocalKey::from_bytes([3; KEY_LEN]);
        let sealed = k
            .seal(Purpose::IdentitySecret, b"alice", b"s3cret")
            .unwrap();
        assert_eq!(sealed.len(), SEAL_NONCE_LEN + 6 + 16);
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(
            k.open(Purpose::IdentitySecret, b"alice", &sealed).unwrap(),
            b"s3cret"
        );
        // Fresh nonce each time.
        assert_ne!(
            sealed,
            k.seal(Purpose::IdentitySecret, b"alice", b"s3cret")
                .unwrap()
        );
        assert!(k.open(Purpose::IdentitySecret, b"bob", &sealed).is_err());
        assert!(k.open(Purpose::BackupManifest, b"alice", &sealed).is_err());
        let other = LocalKey::from_bytes([4; KEY_LEN]);
        assert!(
            other
                .open(Purpose::IdentitySecret, b"alice", &sealed)
                .is_err()
        );
        let mut tampered = sealed.clone();
        tampered[SEAL_NONCE_LEN] ^= 1;
        assert!(
            k.open(Purpose::IdentitySecret, b"alice", &tampered)
                .is_err()
        );
        assert!(
            k.open(Purpose::IdentitySecret, b"alice", &sealed[..10])
                .is_err()
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = LocalKey::from_bytes([0xAB; KEY_LEN]);
        assert_eq!(format!("{k:?}"), "LocalKey(..)");
    }
}
