//! MinIO's admin-body encryption (madmin `EncryptData`/`DecryptData`, a sio stream), with the
//! secret key of the credential that signed the request as the password.
//!
//! ```text
//! salt (32) | id (1) | nonce (8) | fragments: AEAD(≤16 KiB plaintext) ‖ tag (16) ...
//! ```
//! - id `0x00`: Argon2id (t=1, m=64 MiB, p=4) → AES-256-GCM; `0x01`: the same key →
//!   ChaCha20-Poly1305; `0x02`: PBKDF2-HMAC-SHA256 (8192 rounds) → AES-256-GCM. All three are
//!   read; answers are written with `0x00` (the one the Python SDK reads too).
//! - Fragment `i` (from 1) uses nonce `nonce ‖ LE32(i)` and associated data `flag ‖ T0`, where
//!   `T0` is the tag of sealing nothing under nonce `nonce ‖ 0` and `flag` is `0x80` for the
//!   final fragment, `0x00` otherwise. The final fragment holds 1..=16 KiB (or nothing, for an
//!   empty plaintext), so truncation at a fragment boundary fails authentication.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};

const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 8;
const HEADER_LEN: usize = SALT_LEN + 1 + NONCE_LEN;
const TAG_LEN: usize = 16;
const FRAGMENT: usize = 16 * 1024;

/// Largest encrypted body accepted (MinIO's limit).
pub const MAX_ENCRYPTED: usize = 262_272;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the encrypted body is shorter than its header")]
    Truncated,
    #[error("unknown encryption algorithm id {0}")]
    UnknownAlgorithm(u8),
    #[error("the encrypted body is not authentic (wrong secret key, or tampered)")]
    NotAuthentic,
    #[error("no random bytes")]
    Random,
    #[error("key derivation failed")]
    KeyDerivation,
}

/// The 32-byte key for `id` from the password and salt.
fn derive(id: u8, password: &[u8], salt: &[u8]) -> Result<(LessSafeKey, [u8; 32]), SealError> {
    let mut key = [0u8; 32];
    let algorithm = match id {
        0 | 1 => {
            let params = argon2::Params::new(64 * 1024, 1, 4, Some(32))
                .map_err(|_| SealError::KeyDerivation)?;
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(password, salt, &mut key)
                .map_err(|_| SealError::KeyDerivation)?;
            if id == 0 {
                &aead::AES_256_GCM
            } else {
                &aead::CHACHA20_POLY1305
            }
        }
        2 => {
            ring::pbkdf2::derive(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                std::num::NonZeroU32::MIN.saturating_add(8191),
                salt,
                password,
                &mut key,
            );
            &aead::AES_256_GCM
        }
        other => return Err(SealError::UnknownAlgorithm(other)),
    };
    let unbound = UnboundKey::new(algorithm, &key).map_err(|_| SealError::KeyDerivation)?;
    Ok((LessSafeKey::new(unbound), key))
}

fn nonce(base: &[u8], seq: u32) -> Result<Nonce, SealError> {
    let mut n = [0u8; 12];
    n[..NONCE_LEN].copy_from_slice(base);
    n[NONCE_LEN..].copy_from_slice(&seq.to_le_bytes());
    Ok(Nonce::assume_unique_for_key(n))
}

/// `0x00 ‖ T0`: the associated data of non-final fragments (set byte 0 to `0x80` for the last).
fn associated_data(key: &LessSafeKey, base: &[u8]) -> Result<[u8; 1 + TAG_LEN], SealError> {
    let tag = key
        .seal_in_place_separate_tag(nonce(base, 0)?, Aad::empty(), &mut [])
        .map_err(|_| SealError::NotAuthentic)?;
    let mut ad = [0u8; 1 + TAG_LEN];
    ad[1..].copy_from_slice(tag.as_ref());
    Ok(ad)
}

/// Encrypts `plain` for a client holding `password` (id `0x00`, random salt and nonce).
pub fn encrypt(password: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
    use ring::rand::SecureRandom;
    let mut header = [0u8; HEADER_LEN];
    let rng = ring::rand::SystemRandom::new();
    rng.fill(&mut header[..SALT_LEN])
        .map_err(|_| SealError::Random)?;
    rng.fill(&mut header[SALT_LEN + 1..])
        .map_err(|_| SealError::Random)?;
    encrypt_with(password, plain, header)
}

fn encrypt_with(
    password: &str,
    plain: &[u8],
    header: [u8; HEADER_LEN],
) -> Result<Vec<u8>, SealError> {
    let (salt, rest) = header.split_at(SALT_LEN);
    let base = &rest[1..];
    let (key, _) = derive(header[SALT_LEN], password.as_bytes(), salt)?;
    let mut ad = associated_data(&key, base)?;
    let fragments = plain.len().div_ceil(FRAGMENT).max(1);
    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + fragments * TAG_LEN);
    out.extend_from_slice(&header);
    for i in 0..fragments {
        let chunk = &plain[(i * FRAGMENT).min(plain.len())..((i + 1) * FRAGMENT).min(plain.len())];
        if i + 1 == fragments {
            ad[0] = 0x80;
        }
        let seq = u32::try_from(i + 1).map_err(|_| SealError::Truncated)?;
        let mut buf = chunk.to_vec();
        key.seal_in_place_append_tag(nonce(base, seq)?, Aad::from(ad), &mut buf)
            .map_err(|_| SealError::NotAuthentic)?;
        out.extend_from_slice(&buf);
    }
    Ok(out)
}

/// Decrypts a body encrypted by a MinIO client with `password` (ids 0, 1 and 2).
pub fn decrypt(password: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < HEADER_LEN {
        return Err(SealError::Truncated);
    }
    let (header, mut body) = sealed.split_at(HEADER_LEN);
    let (salt, rest) = header.split_at(SALT_LEN);
    let (id, base) = (rest[0], &rest[1..]);
    let (key, _) = derive(id, password.as_bytes(), salt)?;
    let mut ad = associated_data(&key, base)?;
    let mut out = Vec::with_capacity(body.len());
    if body.is_empty() {
        // The Python SDK's form of an empty plaintext: a header and nothing after it.
        return Ok(out);
    }
    let mut seq: u32 = 1;
    while !body.is_empty() {
        let take = (FRAGMENT + TAG_LEN).min(body.len());
        let (fragment, rest) = body.split_at(take);
        if fragment.len() < TAG_LEN {
            return Err(SealError::NotAuthentic);
        }
        if rest.is_empty() {
            ad[0] = 0x80;
        }
        let mut buf = fragment.to_vec();
        let plain = key
            .open_in_place(nonce(base, seq)?, Aad::from(ad), &mut buf)
            .map_err(|_| SealError::NotAuthentic)?;
        out.extend_from_slice(plain);
        body = rest;
        seq = seq.checked_add(1).ok_or(SealError::Truncated)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors made with the MinIO Python SDK's own `minio.crypto` (salt = 00..1f, nonce =
    // 00..07, password "secret-key-123"); ids 1 and 2 from an implementation that matches
    // sio-go's official vectors.
    const PASSWORD: &str = "secret-key-123";

    fn header(id: u8) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        for (i, b) in h[..SALT_LEN].iter_mut().enumerate() {
            *b = i as u8;
        }
        h[SALT_LEN] = id;
        for (i, b) in h[SALT_LEN + 1..].iter_mut().enumerate() {
            *b = i as u8;
        }
        h
    }

    const HELLO_ID0: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f000001020304050607bf992094c755ecf93f1c969186bf93380d5c7479e6";
    const HELLO_ID1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01000102030405060731d083151ce9e2656cd7fc7d9635de5d5583defe55";
    const HELLO_ID2: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f020001020304050607603ed7c8d01396d489091c81ece908a143892e0d08";
    const EMPTY_GO: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f000001020304050607c1e8c7ff147b9c1bf02c55bc5799433e";
    const JSON_ID0: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f000001020304050607acde3f8cc97243b14e14802ba2bf1600127e00aa6d4c683786e15f82e51f8b4c0f74dbe9e27d162c1999516dd1d0d31b12aac8c7358774a438d26fbd7a8fd580de";

    fn sha256_hex(b: &[u8]) -> String {
        hex::encode(ring::digest::digest(&ring::digest::SHA256, b))
    }

    #[test]
    fn matches_the_sdk_and_sio_vectors() {
        assert_eq!(
            hex::encode(encrypt_with(PASSWORD, b"hello", header(0)).unwrap()),
            HELLO_ID0
        );
        assert_eq!(
            hex::encode(encrypt_with(PASSWORD, b"hello", header(1)).unwrap()),
            HELLO_ID1
        );
        assert_eq!(
            hex::encode(encrypt_with(PASSWORD, b"hello", header(2)).unwrap()),
            HELLO_ID2
        );
        assert_eq!(
            hex::encode(encrypt_with(PASSWORD, b"", header(0)).unwrap()),
            EMPTY_GO
        );
        let json = br#"{"status": "enabled", "secretKey": "user1secret"}"#;
        assert_eq!(
            hex::encode(encrypt_with(PASSWORD, json, header(0)).unwrap()),
            JSON_ID0
        );
        for v in [HELLO_ID0, HELLO_ID1, HELLO_ID2] {
            assert_eq!(
                decrypt(PASSWORD, &hex::decode(v).unwrap()).unwrap(),
                b"hello"
            );
        }
        assert_eq!(
            decrypt(PASSWORD, &hex::decode(EMPTY_GO).unwrap()).unwrap(),
            b""
        );
        // The Python SDK's empty form: the header alone.
        assert_eq!(decrypt(PASSWORD, &header(0)).unwrap(), b"");
    }

    #[test]
    fn multi_fragment_vectors() {
        let plain: Vec<u8> = (0..40000).map(|i| (i % 256) as u8).collect();
        let ct = encrypt_with(PASSWORD, &plain, header(0)).unwrap();
        assert_eq!(ct.len(), 40089);
        assert_eq!(
            sha256_hex(&ct),
            "b15a09678a183449575a352963a5297f7d0b87f7036e22926a383a52f7102382"
        );
        assert_eq!(decrypt(PASSWORD, &ct).unwrap(), plain);
        let ct1 = encrypt_with(PASSWORD, &plain, header(1)).unwrap();
        assert_eq!(
            sha256_hex(&ct1),
            "67d49a1a25bfe57489789e15b78eb45551bbf89b0402be165031313b293700ce"
        );
        let ct2 = encrypt_with(PASSWORD, &plain, header(2)).unwrap();
        assert_eq!(
            sha256_hex(&ct2),
            "506e575e466ce1b7c774e1491bd669b9a7176083820788c521da9d4546502dfe"
        );
        assert_eq!(decrypt(PASSWORD, &ct2).unwrap(), plain);
        // An exact multiple of the fragment size ends with a full final fragment.
        let zeros = vec![0u8; 32768];
        let cz = encrypt_with(PASSWORD, &zeros, header(0)).unwrap();
        assert_eq!(cz.len(), 32841);
        assert_eq!(
            sha256_hex(&cz),
            "9e0eebcc97a08bcf7870eb9d169810a22fecfa6503b383140045597426386970"
        );
        // Truncated after a full fragment: the fragment was sealed as non-final.
        assert_eq!(
            decrypt(PASSWORD, &ct[..41 + 2 * (FRAGMENT + TAG_LEN)]),
            Err(SealError::NotAuthentic)
        );
    }

    #[test]
    fn refuses_tampering_and_wrong_keys() {
        let ct = hex::decode(HELLO_ID0).unwrap();
        let mut flipped = ct.clone();
        flipped[HEADER_LEN + 1] ^= 1;
        assert_eq!(decrypt(PASSWORD, &flipped), Err(SealError::NotAuthentic));
        let mut longer = ct.clone();
        longer.push(0);
        assert_eq!(decrypt(PASSWORD, &longer), Err(SealError::NotAuthentic));
        assert_eq!(decrypt("another-secret", &ct), Err(SealError::NotAuthentic));
        let mut bad_id = ct.clone();
        bad_id[SALT_LEN] = 3;
        assert_eq!(
            decrypt(PASSWORD, &bad_id),
            Err(SealError::UnknownAlgorithm(3))
        );
        assert_eq!(decrypt(PASSWORD, &ct[..10]), Err(SealError::Truncated));
        // Random salts and nonces: two encryptions differ, both decrypt.
        let a = encrypt(PASSWORD, b"x").unwrap();
        assert_ne!(a, encrypt(PASSWORD, b"x").unwrap());
        assert_eq!(decrypt(PASSWORD, &a).unwrap(), b"x");
    }
}
