//! The package format of encrypted object data (DARE 2.0's layout).
//!
//! A stream of plaintext is cut into packages of [`PACKAGE_SIZE`] bytes (the last one shorter,
//! never empty; an empty stream has no packages). Each package is stored as
//!
//! ```text
//! header (16 bytes)                                   | ciphertext (len bytes) | tag (16 bytes)
//! 0x20 | 0x00 | len − 1 (u16 LE) | nonce (12 bytes)   |                        |
//! ```
//!
//! - `0x20`: format version 2.0; `0x00`: AES-256-GCM.
//! - `nonce`: random per stream; the top bit of its first byte is set on the final package only.
//! - The AEAD nonce of package `i` is the header's nonce with its last 4 bytes XORed with `i`
//!   (u32 little-endian); the associated data is the header's first 4 bytes.
//!
//! So packages cannot be reordered, dropped, repeated or moved to another stream without failing
//! authentication, and a stream cut at a package boundary lacks its final flag. Each stream has
//! its own key (see [`super::object_key`]): a nonce never repeats under a key.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use ring::aead::{Aad, LessSafeKey, Nonce, Tag};

use super::{CryptoError, aead_key, random_bytes};

/// Plaintext bytes per package (every package but a stream's last holds exactly this many).
pub const PACKAGE_SIZE: u64 = 64 * 1024;
/// Bytes a package adds to its plaintext: header and tag.
pub const PACKAGE_OVERHEAD: u64 = HEADER_LEN as u64 + TAG_LEN as u64;

const HEADER_LEN: usize = 16;
const TAG_LEN: usize = 16;
const VERSION: u8 = 0x20;
const CIPHER_AES_256_GCM: u8 = 0x00;
const FINAL_BIT: u8 = 0x80;

/// The stored size of `plaintext` bytes.
pub fn ciphertext_len(plaintext: u64) -> u64 {
    plaintext + PACKAGE_OVERHEAD * plaintext.div_ceil(PACKAGE_SIZE)
}

/// How many packages a stream of `plaintext` bytes has.
pub fn package_count(plaintext: u64) -> u64 {
    plaintext.div_ceil(PACKAGE_SIZE)
}

fn package_nonce(header_nonce: &[u8], seq: u32) -> Nonce {
    let mut n = [0u8; 12];
    n.copy_from_slice(header_nonce);
    let last = u32::from_le_bytes([n[8], n[9], n[10], n[11]]) ^ seq;
    n[8..].copy_from_slice(&last.to_le_bytes());
    Nonce::assume_unique_for_key(n)
}

/// Encrypts one stream, package by package.
pub struct Sealer {
    key: LessSafeKey,
    nonce: [u8; 12],
    seq: u32,
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Result<Sealer, CryptoError> {
        let mut nonce: [u8; 12] = random_bytes()?;
        nonce[0] &= !FINAL_BIT;
        Ok(Sealer {
            key: aead_key(key),
            nonce,
            seq: 0,
        })
    }

    /// Appends the package of `plaintext` (1..=PACKAGE_SIZE bytes) to `out`.
    pub fn seal(&mut self, plaintext: &[u8], last: bool, out: &mut BytesMut) {
        debug_assert!(!plaintext.is_empty() && plaintext.len() as u64 <= PACKAGE_SIZE);
        let mut header = [0u8; HEADER_LEN];
        header[0] = VERSION;
        header[1] = CIPHER_AES_256_GCM;
        header[2..4].copy_from_slice(&((plaintext.len() - 1) as u16).to_le_bytes());
        header[4..].copy_from_slice(&self.nonce);
        if last {
            header[4] |= FINAL_BIT;
        }
        let start = out.len();
        out.extend_from_slice(&header);
        out.extend_from_slice(plaintext);
        let nonce = package_nonce(&header[4..], self.seq);
        let body = &mut out[start + HEADER_LEN..];
        // Sealing in place cannot fail for a payload under GCM's 64 GiB limit.
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(&header[..4]), body)
            .unwrap_or_else(|_| unreachable!("a package is far below AES-GCM's size limit"));
        out.extend_from_slice(tag.as_ref());
        self.seq = self.seq.wrapping_add(1);
    }
}

/// Encrypts a plaintext stream into packages under `key` (a stream key, used for this stream
/// only). Memory stays bounded by one input chunk plus one package.
pub fn seal_stream<S, E>(
    inner: S,
    key: &[u8; 32],
) -> Result<impl Stream<Item = Result<Bytes, E>> + use<S, E>, CryptoError>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    struct State<S> {
        inner: std::pin::Pin<Box<S>>,
        sealer: Sealer,
        pending: BytesMut,
        done: bool,
    }
    let state = State {
        inner: Box::pin(inner),
        sealer: Sealer::new(key)?,
        pending: BytesMut::new(),
        done: false,
    };
    let size = PACKAGE_SIZE as usize;
    Ok(futures::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            match st.inner.next().await {
                Some(Ok(chunk)) => {
                    st.pending.extend_from_slice(&chunk);
                    // Keep at least one byte back: only the stream's end says which package is
                    // the final one.
                    if st.pending.len() > size {
                        let full = (st.pending.len() - 1) / size;
                        let mut out = BytesMut::with_capacity(full * (size + 32));
                        for _ in 0..full {
                            let p = st.pending.split_to(size);
                            st.sealer.seal(&p, false, &mut out);
                        }
                        return Some((Ok(out.freeze()), st));
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    if st.pending.is_empty() {
                        return None;
                    }
                    let mut out = BytesMut::with_capacity(st.pending.len() + 32);
                    let p = std::mem::take(&mut st.pending);
                    st.sealer.seal(&p, true, &mut out);
                    return Some((Ok(out.freeze()), st));
                }
            }
        }
    }))
}

/// Where a plaintext range lies in one encrypted stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageRange {
    /// The first package to read (its sequence number).
    pub first: u64,
    /// How many packages to read.
    pub count: u64,
    /// Byte offset of the first package in the stored stream.
    pub offset: u64,
    /// Stored bytes to read: `count` whole packages.
    pub len: u64,
    /// Plaintext bytes to drop from the first package.
    pub skip: u64,
}

/// The packages of a stream of `plaintext` bytes that cover `[start, start + len)` (`len > 0`,
/// inside the stream).
pub fn package_range(plaintext: u64, start: u64, len: u64) -> PackageRange {
    let first = start / PACKAGE_SIZE;
    let last = (start + len - 1) / PACKAGE_SIZE;
    let offset = first * (PACKAGE_SIZE + PACKAGE_OVERHEAD);
    let end_plain = ((last + 1) * PACKAGE_SIZE).min(plaintext);
    let end = ciphertext_len(end_plain);
    PackageRange {
        first,
        count: last - first + 1,
        offset,
        len: end - offset,
        skip: start - first * PACKAGE_SIZE,
    }
}

/// Decrypts packages `range.first ..` of a stream of `plaintext` bytes (fed by `inner`, exactly
/// `range.len` stored bytes) and yields `take` plaintext bytes after dropping `range.skip`.
/// Any authentication failure, misplaced final flag, short or long input is an error, and no
/// unauthenticated byte is ever yielded.
pub fn open_stream<S, E>(
    inner: S,
    key: &[u8; 32],
    plaintext: u64,
    range: PackageRange,
    take: u64,
) -> impl Stream<Item = Result<Bytes, E>> + use<S, E>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: From<CryptoError>,
{
    struct State<S> {
        inner: std::pin::Pin<Box<S>>,
        key: LessSafeKey,
        buf: VecDeque<Bytes>,
        buffered: usize,
        seq: u64,
        last_seq: u64,
        skip: u64,
        left: u64,
        done: bool,
    }
    let total = package_count(plaintext);
    let state = State {
        inner: Box::pin(inner),
        key: aead_key(key),
        buf: VecDeque::new(),
        buffered: 0,
        seq: range.first,
        last_seq: total.saturating_sub(1),
        skip: range.skip,
        left: take,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let mut out = BytesMut::new();
        loop {
            if st.left == 0 {
                st.done = true;
                return (!out.is_empty()).then(|| (Ok(out.freeze()), st));
            }
            // A whole package buffered: open it.
            if let Some(need) = package_len(&st.buf, st.buffered)
                && st.buffered >= need
            {
                let mut package = take_bytes(&mut st.buf, need);
                st.buffered -= need;
                let plain = match open_package(&st.key, &mut package, st.seq, st.last_seq) {
                    Ok(p) => p,
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e.into()), st));
                    }
                };
                st.seq += 1;
                let from = (st.skip as usize).min(plain.len());
                st.skip -= from as u64;
                let n = ((plain.len() - from) as u64).min(st.left) as usize;
                out.extend_from_slice(&plain[from..from + n]);
                st.left -= n as u64;
                if out.len() >= 256 * 1024 {
                    return Some((Ok(out.freeze()), st));
                }
                continue;
            }
            match st.inner.next().await {
                Some(Ok(chunk)) => {
                    st.buffered += chunk.len();
                    st.buf.push_back(chunk);
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    return Some((
                        Err(CryptoError::Corrupt("the stream ends early").into()),
                        st,
                    ));
                }
            }
        }
    })
}

/// The stored length of the package at the front of `buf`, once its header is there.
fn package_len(buf: &VecDeque<Bytes>, buffered: usize) -> Option<usize> {
    if buffered < 4 {
        return None;
    }
    let mut head = [0u8; 4];
    let mut i = 0;
    'outer: for b in buf {
        for &x in b.iter() {
            head[i] = x;
            i += 1;
            if i == 4 {
                break 'outer;
            }
        }
    }
    let payload = u16::from_le_bytes([head[2], head[3]]) as usize + 1;
    Some(HEADER_LEN + payload + TAG_LEN)
}

fn take_bytes(buf: &mut VecDeque<Bytes>, mut n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while n > 0 {
        let Some(front) = buf.front_mut() else { break };
        let k = n.min(front.len());
        out.extend_from_slice(&front[..k]);
        front.advance(k);
        if front.is_empty() {
            buf.pop_front();
        }
        n -= k;
    }
    out
}

/// Authenticates and decrypts one package in place; returns its plaintext.
fn open_package<'a>(
    key: &LessSafeKey,
    package: &'a mut [u8],
    seq: u64,
    last_seq: u64,
) -> Result<&'a [u8], CryptoError> {
    if package.len() < HEADER_LEN + 1 + TAG_LEN {
        return Err(CryptoError::Corrupt("a package is too short"));
    }
    if package[0] != VERSION || package[1] != CIPHER_AES_256_GCM {
        return Err(CryptoError::Corrupt("unknown package version or cipher"));
    }
    let is_final = package[4] & FINAL_BIT != 0;
    if is_final != (seq == last_seq) {
        return Err(CryptoError::Corrupt("misplaced final package"));
    }
    let seq = u32::try_from(seq).map_err(|_| CryptoError::Corrupt("too many packages"))?;
    let (header, rest) = package.split_at_mut(HEADER_LEN);
    let nonce = package_nonce(&header[4..], seq);
    let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    let tag: [u8; TAG_LEN] = match <[u8; TAG_LEN]>::try_from(&*tag) {
        Ok(t) => t,
        Err(_) => return Err(CryptoError::Corrupt("a package is too short")),
    };
    key.open_in_place_separate_tag(nonce, Aad::from(&header[..4]), Tag::from(tag), body, 0..)
        .map_err(|_| CryptoError::Corrupt("a package fails authentication"))?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    type R = Result<Bytes, CryptoError>;

    fn chunks(data: &[u8], size: usize) -> impl Stream<Item = R> + Send + use<> {
        let v: Vec<R> = data
            .chunks(size.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(v)
    }

    async fn seal(data: &[u8], chunk: usize, key: &[u8; 32]) -> Vec<u8> {
        let s = seal_stream(chunks(data, chunk), key).unwrap();
        let parts: Vec<Bytes> = s.try_collect().await.unwrap();
        parts.concat()
    }

    async fn open(
        stored: &[u8],
        key: &[u8; 32],
        plain: u64,
        start: u64,
        len: u64,
    ) -> Result<Vec<u8>, CryptoError> {
        let r = package_range(plain, start, len);
        let slice = stored[r.offset as usize..(r.offset + r.len) as usize].to_vec();
        let s = open_stream(chunks(&slice, 1000), key, plain, r, len);
        let parts: Vec<Bytes> = s.try_collect().await?;
        Ok(parts.concat())
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[tokio::test]
    async fn round_trips_every_size_and_range() {
        let key = [7u8; 32];
        for n in [1usize, 13, 65535, 65536, 65537, 200_000, 3 * 65536] {
            let d = data(n);
            for chunk in [1usize, 4096, 100_000] {
                if n > 70_000 && chunk == 1 {
                    continue;
                }
                let stored = seal(&d, chunk, &key).await;
                assert_eq!(stored.len() as u64, ciphertext_len(n as u64), "size {n}");
                assert_eq!(open(&stored, &key, n as u64, 0, n as u64).await.unwrap(), d);
                for (s, l) in [(0, 1), (n as u64 - 1, 1), (n as u64 / 3, n as u64 / 2 + 1)] {
                    let l = l.min(n as u64 - s);
                    let got = open(&stored, &key, n as u64, s, l).await.unwrap();
                    assert_eq!(
                        got,
                        d[s as usize..(s + l) as usize],
                        "size {n} range {s}+{l}"
                    );
                }
            }
        }
        assert!(seal(&[], 10, &key).await.is_empty());
    }

    #[tokio::test]
    async fn tampering_truncation_reordering_and_wrong_keys_are_refused() {
        let key = [1u8; 32];
        let n = 3 * 65536 + 10;
        let d = data(n);
        let stored = seal(&d, 65536, &key).await;
        let plain = n as u64;
        // A flipped bit anywhere.
        for at in [0usize, 5, 20, 70_000, stored.len() - 1] {
            let mut bad = stored.clone();
            bad[at] ^= 1;
            assert!(
                open(&bad, &key, plain, 0, plain).await.is_err(),
                "flip at {at}"
            );
        }
        // Another key.
        assert_eq!(
            open(&stored, &[2u8; 32], plain, 0, plain)
                .await
                .unwrap_err(),
            CryptoError::Corrupt("a package fails authentication")
        );
        // Two packages swapped.
        let p = (PACKAGE_SIZE + PACKAGE_OVERHEAD) as usize;
        let mut swapped = stored.clone();
        let (a, b) = swapped.split_at_mut(p);
        a[..p].swap_with_slice(&mut b[..p]);
        assert!(open(&swapped, &key, plain, 0, plain).await.is_err());
        // Cut after the first package: it is not the final one.
        let cut = &stored[..p];
        let r = PackageRange {
            first: 0,
            count: 1,
            offset: 0,
            len: p as u64,
            skip: 0,
        };
        let s = open_stream(chunks(cut, 100), &key, 65536, r, 65536);
        let got: Result<Vec<Bytes>, CryptoError> = s.try_collect().await;
        assert_eq!(
            got.unwrap_err(),
            CryptoError::Corrupt("misplaced final package")
        );
        // Too few bytes for what the metadata promises.
        let short = &stored[..stored.len() - 5];
        let r = package_range(plain, 0, plain);
        let s = open_stream(chunks(short, 100), &key, plain, r, plain);
        let got: Result<Vec<Bytes>, CryptoError> = s.try_collect().await;
        assert!(got.is_err());
    }

    #[test]
    fn ranges_cover_whole_packages() {
        let plain = 3 * PACKAGE_SIZE + 10;
        let r = package_range(plain, PACKAGE_SIZE + 5, PACKAGE_SIZE);
        assert_eq!(r.first, 1);
        assert_eq!(r.count, 2);
        assert_eq!(r.offset, PACKAGE_SIZE + PACKAGE_OVERHEAD);
        assert_eq!(r.len, 2 * (PACKAGE_SIZE + PACKAGE_OVERHEAD));
        assert_eq!(r.skip, 5);
        let tail = package_range(plain, plain - 1, 1);
        assert_eq!(tail.first, 3);
        assert_eq!(tail.len, 10 + PACKAGE_OVERHEAD);
        assert_eq!(ciphertext_len(0), 0);
        assert_eq!(ciphertext_len(1), 33);
    }
}
