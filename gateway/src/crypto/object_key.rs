//! Object keys: the random key each encrypted object (or multipart upload) gets, and how it is
//! kept sealed.
//!
//! - The **object key** is 32 random bytes. It never leaves memory unsealed.
//! - It is stored sealed (AES-256-GCM) under a **key-encryption key** derived with HMAC-SHA256
//!   from the *external key* — the data key the KMS generated (SSE-S3, SSE-KMS) or the customer's
//!   own key (SSE-C) — and a random 32-byte IV stored beside it. Opening it with another external
//!   key fails authentication: that is how a wrong SSE-C key is recognised, without the customer
//!   key or a hash of it being stored.
//! - Each stored stream gets its own **stream key** derived from the object key: stream 0 is a
//!   single-part object, stream `n` is part `n` of a multipart upload. So package nonces never
//!   repeat under one key, and a part can be decrypted alone.

use ring::hmac;

use super::{CryptoError, aead_key, random_bytes};

const KEK_LABEL: &[u8] = b"lakegate sse object key v1";
const STREAM_LABEL: &[u8] = b"lakegate sse stream v1";
const ETAG_LABEL: &[u8] = b"lakegate sse etag v1";

/// An object's data key, unsealed (only ever in memory).
pub struct ObjectKey([u8; 32]);

impl std::fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ObjectKey(..)")
    }
}

/// An object key as stored: the IV of its key-encryption key, and the key sealed under it
/// (48 bytes: 32 of key, 16 of tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedObjectKey {
    pub iv: [u8; 32],
    pub sealed: Vec<u8>,
}

fn kek(external: &[u8; 32], iv: &[u8; 32], domain: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, external);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(KEK_LABEL);
    ctx.update(iv);
    ctx.update(&(domain.len() as u32).to_be_bytes());
    ctx.update(domain);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

impl ObjectKey {
    /// A fresh random object key.
    pub fn generate() -> Result<ObjectKey, CryptoError> {
        Ok(ObjectKey(random_bytes()?))
    }

    /// Seals the key under `external`, bound to `domain` (the encryption mode: a key sealed for
    /// one mode does not open as another).
    pub fn seal(&self, external: &[u8; 32], domain: &[u8]) -> Result<SealedObjectKey, CryptoError> {
        let iv: [u8; 32] = random_bytes()?;
        // The key-encryption key is used once (a fresh IV each time), so a fixed nonce is safe.
        let k = aead_key(&kek(external, &iv, domain));
        let mut sealed = self.0.to_vec();
        k.seal_in_place_append_tag(
            ring::aead::Nonce::assume_unique_for_key([0u8; 12]),
            ring::aead::Aad::from(domain),
            &mut sealed,
        )
        .map_err(|_| CryptoError::Corrupt("cannot seal an object key"))?;
        Ok(SealedObjectKey { iv, sealed })
    }

    /// Opens a sealed key with `external`; [`CryptoError::WrongKey`] when it is not the key it
    /// was sealed with (or the sealed bytes were altered).
    pub fn open(
        sealed: &SealedObjectKey,
        external: &[u8; 32],
        domain: &[u8],
    ) -> Result<ObjectKey, CryptoError> {
        let k = aead_key(&kek(external, &sealed.iv, domain));
        let mut buf = sealed.sealed.clone();
        let plain = k
            .open_in_place(
                ring::aead::Nonce::assume_unique_for_key([0u8; 12]),
                ring::aead::Aad::from(domain),
                &mut buf,
            )
            .map_err(|_| CryptoError::WrongKey)?;
        let key: [u8; 32] = plain.try_into().map_err(|_| CryptoError::WrongKey)?;
        Ok(ObjectKey(key))
    }

    /// The key of stored stream `n` (0: a single-part object; `n`: part `n`).
    pub fn stream_key(&self, n: u32) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(STREAM_LABEL);
        ctx.update(&n.to_be_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// An ETag that names this content without revealing its MD5 (SSE-C and SSE-KMS objects):
    /// 32 hex digits, stable for the object, unverifiable without its key.
    pub fn opaque_etag(&self, md5: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(ETAG_LABEL);
        ctx.update(md5);
        hex::encode(&ctx.sign().as_ref()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_external_key_and_domain() {
        let k = ObjectKey::generate().unwrap();
        let ext = [9u8; 32];
        let sealed = k.seal(&ext, b"SSE-C").unwrap();
        assert_eq!(sealed.sealed.len(), 48);
        let back = ObjectKey::open(&sealed, &ext, b"SSE-C").unwrap();
        assert_eq!(back.stream_key(3), k.stream_key(3));
        assert_ne!(k.stream_key(0), k.stream_key(1));
        assert_eq!(
            ObjectKey::open(&sealed, &[8u8; 32], b"SSE-C").unwrap_err(),
            CryptoError::WrongKey
        );
        assert_eq!(
            ObjectKey::open(&sealed, &ext, b"SSE-S3").unwrap_err(),
            CryptoError::WrongKey
        );
        let mut bad = sealed.clone();
        bad.sealed[0] ^= 1;
        assert!(ObjectKey::open(&bad, &ext, b"SSE-C").is_err());
        assert_eq!(format!("{k:?}"), "ObjectKey(..)");
        assert_eq!(k.opaque_etag(b"x").len(), 32);
        assert_ne!(k.opaque_etag(b"x"), back.opaque_etag(b"y"));
    }
}
