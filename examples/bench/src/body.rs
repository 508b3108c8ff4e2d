//! Streaming request bodies generated on the fly from a shared in-memory
//! pattern: an object of any size costs the client no memory beyond the
//! pattern itself (chunks are reference-counted slices of it).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Period of the pattern (odd, so chunk boundaries drift across objects).
const PERIOD: usize = (1 << 20) + 7;
/// Largest chunk handed to the HTTP stack at once.
pub const CHUNK: usize = 256 << 10;

fn pattern() -> &'static Bytes {
    static P: OnceLock<Bytes> = OnceLock::new();
    P.get_or_init(|| {
        // xorshift64*: incompressible, deterministic.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut v = Vec::with_capacity(PERIOD + CHUNK + 8);
        while v.len() < PERIOD + CHUNK {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        v.truncate(PERIOD + CHUNK);
        Bytes::from(v)
    })
}

/// A body of `len` pattern bytes starting at a seed-dependent offset.
#[derive(Debug, Clone)]
pub struct PatternBody {
    remaining: u64,
    pos: usize,
}

impl PatternBody {
    pub fn new(len: u64, seed: u64) -> Self {
        Self {
            remaining: len,
            pos: (seed.wrapping_mul(0x9E37_79B9) % PERIOD as u64) as usize,
        }
    }

    pub fn len(&self) -> u64 {
        self.remaining
    }

    /// The whole body as one contiguous slice, if it fits in one chunk
    /// (used to hash small bodies for signed-payload requests).
    pub fn as_single_chunk(&self) -> Option<Bytes> {
        (self.remaining as usize <= CHUNK)
            .then(|| pattern().slice(self.pos..self.pos + self.remaining as usize))
    }

    fn next_chunk(&mut self) -> Option<Bytes> {
        if self.remaining == 0 {
            return None;
        }
        let n = (self.remaining.min(CHUNK as u64)) as usize;
        let b = pattern().slice(self.pos..self.pos + n);
        self.pos = (self.pos + n) % PERIOD;
        self.remaining -= n as u64;
        Some(b)
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().next_chunk().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_add_up() {
        let mut b = PatternBody::new(3 * CHUNK as u64 + 5, 42);
        let mut total = 0;
        while let Some(c) = b.next_chunk() {
            total += c.len();
        }
        assert_eq!(total, 3 * CHUNK + 5);
        let s = PatternBody::new(4096, 7).as_single_chunk().unwrap();
        assert_eq!(s.len(), 4096);
    }
}
