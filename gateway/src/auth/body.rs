//! The request body as handlers see it: decoded and verified while it streams.
//!
//! Flow: [`RequestBody::new`] looks at the [`PayloadCheck`] that authentication produced and at
//! the request headers, and picks a decoder:
//! - **plain**: the bytes are passed through as they arrive. With `PayloadCheck::Sha256` they are
//!   hashed, and the hash is compared at the end ([`AuthError::ContentSha256Mismatch`]).
//! - **aws-chunked** (the `STREAMING-*` payload modes, or `Content-Encoding: aws-chunked` with
//!   `x-amz-decoded-content-length` without one): the framing `hex-size[;chunk-signature=sig]\r\n data \r\n … 0[;…]\r\n trailers \r\n`
//!   is decoded by a small state machine. Chunk data is yielded as it arrives (never buffered: a
//!   chunk may be split over many frames and may be large), hashed incrementally, and its
//!   signature checked when its last byte has arrived; the final zero-size chunk, the trailers
//!   (only those announced in `x-amz-trailer`) and, for the signed-trailer mode, the trailer
//!   signature are checked before the end is reported.
//!
//! Whatever the mode, [`RequestBody::chunk`] returns `Ok(None)` only once everything verified:
//! chunk signatures, trailer signature, SHA-256, `Content-Length` (wire bytes) and
//! `x-amz-decoded-content-length` (decoded bytes). Handlers must not commit before that. Errors
//! ([`AuthError`]) are sticky: after one, every call returns it again.
//!
//! The only buffering is of framing lines (chunk headers, trailers), bounded by [`MAX_LINE`] and
//! [`MAX_TRAILER_BYTES`].

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;

use super::sigv4::{chunk_string_to_sign, trailer_string_to_sign};
use super::util::{EMPTY_SHA256_HEX, ct_eq, sha256_hex};
use super::{AuthError, PayloadCheck};

/// The longest framing line (chunk header or trailer) accepted.
pub const MAX_LINE: usize = 4096;
/// The most trailer bytes accepted after the final chunk.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// The largest single aws-chunked chunk accepted. Chunk data is streamed, never buffered, so this
/// only bounds nonsense: the largest single PUT S3 accepts (clients may send the whole object as
/// one chunk, e.g. the Rust SDK with chunking disabled).
pub const MAX_CHUNK_SIZE: u64 = 5 * 1024 * 1024 * 1024;

const X_AMZ_TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

/// How long a body may stall (no bytes arriving) before the request fails with
/// [`AuthError::BodyReadTimeout`], unless [`RequestBody::with_read_timeout`] says otherwise.
pub const DEFAULT_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A request body, read chunk by chunk.
///
/// Decodes `aws-chunked` framing, verifies every chunk signature and the trailer signature,
/// verifies `x-amz-content-sha256` and the declared lengths (`Content-Length`,
/// `x-amz-decoded-content-length`). A verification failure surfaces as an `Err` from
/// [`RequestBody::chunk`] no later than the call that would have returned `Ok(None)`, so a
/// handler that reads to the end before committing never commits unverified bytes.
pub struct RequestBody {
    source: Source,
    decoder: Decoder,
    declared_len: Option<u64>,
    /// `x-amz-decoded-content-length`, enforced on aws-chunked bodies.
    decoded_len: Option<u64>,
    /// Decoded bytes handed out so far.
    received: u64,
    trailers: HeaderMap,
    /// Trailer names announced in `x-amz-trailer`.
    announced: Vec<HeaderName>,
    state: State,
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No key material: the decoder is summarised.
        f.debug_struct("RequestBody")
            .field(
                "mode",
                &match &self.decoder {
                    Decoder::Plain => "plain",
                    Decoder::Chunked(_) => "aws-chunked",
                },
            )
            .field("declared_len", &self.declared_len)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

enum State {
    Active,
    Done,
    Failed(AuthError),
}

enum Decoder {
    Plain,
    Chunked(Box<Chunked>),
}

impl RequestBody {
    /// Wraps an incoming body. `headers` are the request headers (for `Content-Length`,
    /// `Content-Encoding: aws-chunked`, `x-amz-decoded-content-length`, `x-amz-trailer`).
    pub fn new(
        body: axum::body::Body,
        payload: PayloadCheck,
        headers: &HeaderMap,
    ) -> Result<Self, AuthError> {
        let content_length = parse_length(headers, "content-length")?;
        let decoded_len = parse_length(headers, "x-amz-decoded-content-length")?;
        let aws_chunked_encoding = headers
            .get_all(http::header::CONTENT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|e| e.trim().eq_ignore_ascii_case("aws-chunked"));
        // Outside the STREAMING-* modes a body is framed as aws-chunked only when the request
        // says so twice: the encoding, and the decoded length the framing wraps. The encoding
        // alone names how the object is encoded (AWS strips it), not how the body is sent.
        let aws_chunked_framing = aws_chunked_encoding && decoded_len.is_some();
        let announced = parse_announced_trailers(headers)?;
        let all_announced = announced.clone();

        let (expected_sha, chunked) = match payload {
            PayloadCheck::Unsigned => (
                None,
                aws_chunked_framing.then(|| Chunked::new(None, false, true, announced)),
            ),
            PayloadCheck::Sha256(h) => (
                Some(h),
                aws_chunked_framing.then(|| Chunked::new(None, false, true, announced)),
            ),
            PayloadCheck::StreamingUnsignedTrailer => {
                (None, Some(Chunked::new(None, false, true, announced)))
            }
            PayloadCheck::StreamingSigned {
                signing_key,
                amz_date,
                scope,
                seed_signature,
                trailer,
            } => {
                let signer = ChunkSigner {
                    key: signing_key,
                    amz_date,
                    scope,
                    previous: seed_signature,
                };
                let announced = if trailer { announced } else { Vec::new() };
                (
                    None,
                    Some(Chunked::new(Some(signer), trailer, trailer, announced)),
                )
            }
        };

        let size_hint = http_body::Body::size_hint(&body).exact();
        let source = Source {
            body: Some(body),
            pending: Bytes::new(),
            wire_len: 0,
            wire_expected: content_length,
            sha: expected_sha.map(|h| (ring::digest::Context::new(&ring::digest::SHA256), h)),
            http_trailers: HeaderMap::new(),
            read_timeout: DEFAULT_READ_TIMEOUT,
        };
        let (decoder, declared_len, decoded_len) = match chunked {
            Some(c) => (Decoder::Chunked(Box::new(c)), decoded_len, decoded_len),
            None => (Decoder::Plain, content_length.or(size_hint), None),
        };
        Ok(RequestBody {
            source,
            decoder,
            declared_len,
            decoded_len,
            received: 0,
            trailers: HeaderMap::new(),
            announced: all_announced,
            state: State::Active,
        })
    }

    /// An empty, already-verified body (for tests and internal callers).
    pub fn empty() -> Self {
        RequestBody {
            source: Source {
                body: None,
                pending: Bytes::new(),
                wire_len: 0,
                wire_expected: None,
                sha: None,
                http_trailers: HeaderMap::new(),
                read_timeout: DEFAULT_READ_TIMEOUT,
            },
            decoder: Decoder::Plain,
            declared_len: Some(0),
            decoded_len: None,
            received: 0,
            trailers: HeaderMap::new(),
            announced: Vec::new(),
            state: State::Done,
        }
    }

    /// Fails the body with [`AuthError::BodyReadTimeout`] when no bytes arrive for `timeout` (a stalled upload
    /// must not hold a connection and a handler forever).
    pub fn with_read_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.source.read_timeout = timeout;
        self
    }

    /// The decoded length the client declared, if it declared one.
    pub fn declared_len(&self) -> Option<u64> {
        self.declared_len
    }

    /// The next piece of decoded payload; `Ok(None)` at the verified end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, AuthError> {
        match &self.state {
            State::Done => return Ok(None),
            State::Failed(e) => return Err(e.clone()),
            State::Active => {}
        }
        match self.advance().await {
            Ok(Some(data)) => Ok(Some(data)),
            Ok(None) => {
                self.state = State::Done;
                self.source.body = None;
                Ok(None)
            }
            Err(e) => {
                self.state = State::Failed(e.clone());
                self.source.body = None;
                self.source.pending = Bytes::new();
                Err(e)
            }
        }
    }

    /// Trailing headers (e.g. `x-amz-checksum-crc32`) sent after an aws-chunked body; empty until
    /// [`RequestBody::chunk`] has returned `Ok(None)`.
    pub fn trailers(&self) -> &HeaderMap {
        &self.trailers
    }

    /// Reads the whole (small) body, failing past `limit` bytes ([`AuthError::BodyTooLarge`];
    /// refused up front when the declared length is already larger). For XML request documents,
    /// never for object data.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Bytes, AuthError> {
        let too_large = || AuthError::BodyTooLarge;
        if self
            .declared_len
            .is_some_and(|n| u64::try_from(limit).is_ok_and(|l| n > l))
        {
            return Err(too_large());
        }
        let mut first: Option<Bytes> = None;
        let mut buf = BytesMut::new();
        while let Some(data) = self.chunk().await? {
            let so_far = first.as_ref().map_or(0, Bytes::len) + buf.len();
            if so_far.checked_add(data.len()).is_none_or(|n| n > limit) {
                return Err(too_large());
            }
            match &first {
                None if buf.is_empty() => first = Some(data),
                _ => {
                    if let Some(f) = first.take() {
                        buf.extend_from_slice(&f);
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
        Ok(match first {
            Some(f) => f,
            None => buf.freeze(),
        })
    }

    async fn advance(&mut self) -> Result<Option<Bytes>, AuthError> {
        match &mut self.decoder {
            Decoder::Plain => loop {
                if !self.source.pending.is_empty() {
                    let data = std::mem::take(&mut self.source.pending);
                    self.received = self.received.saturating_add(data.len() as u64);
                    return Ok(Some(data));
                }
                if !self.source.fill().await? {
                    // Real HTTP trailers (HTTP/1.1 chunked or HTTP/2): keep the announced ones.
                    let http_trailers = std::mem::take(&mut self.source.http_trailers);
                    for (name, value) in &http_trailers {
                        if self.announced.contains(name) {
                            self.trailers.append(name.clone(), value.clone());
                        }
                    }
                    return Ok(None);
                }
            },
            Decoder::Chunked(c) => match c.next(&mut self.source).await? {
                Some(data) => {
                    self.received = self
                        .received
                        .checked_add(data.len() as u64)
                        .ok_or_else(|| incomplete("the body is too large"))?;
                    if self.decoded_len.is_some_and(|d| self.received > d) {
                        return Err(incomplete(
                            "the body is longer than x-amz-decoded-content-length",
                        ));
                    }
                    Ok(Some(data))
                }
                None => {
                    if self.decoded_len.is_some_and(|d| self.received != d) {
                        return Err(incomplete(
                            "the decoded body length does not match x-amz-decoded-content-length",
                        ));
                    }
                    self.trailers = std::mem::take(&mut c.received_trailers);
                    Ok(None)
                }
            },
        }
    }
}

/// The raw body: frames in, wire length and SHA-256 checked at its end.
struct Source {
    body: Option<axum::body::Body>,
    /// Bytes received but not consumed yet (a suffix of the last data frame).
    pending: Bytes,
    wire_len: u64,
    /// `Content-Length`.
    wire_expected: Option<u64>,
    /// Running hash of the wire bytes and the hash they must have.
    sha: Option<(ring::digest::Context, [u8; 32])>,
    http_trailers: HeaderMap,
    /// The longest wait for the next frame.
    read_timeout: std::time::Duration,
}

/// The most of an unread body that is read and dropped after an early answer.
const DRAIN_LIMIT: u64 = 8 * 1024 * 1024;
/// How long that may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// A handler that answers before reading the whole body (a failed precondition, a refused
/// request) drops it unread. Then hyper would close the connection as soon as the answer is
/// written, while the client is still sending: over TLS, and often over TCP, the client sees
/// a reset or a broken pipe instead of the answer. So the rest of a small body (at most
/// [`DRAIN_LIMIT`], for at most [`DRAIN_TIME`]) is read and dropped in the background, which
/// lets the client finish sending, read the answer, and keep its connection.
impl Drop for Source {
    fn drop(&mut self) {
        let Some(mut body) = self.body.take() else {
            return;
        };
        if http_body::Body::is_end_stream(&body) {
            return;
        }
        let left = self.wire_expected.map(|n| n.saturating_sub(self.wire_len));
        if left.is_some_and(|n| n > DRAIN_LIMIT) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let mut drained: u64 = 0;
            let _ = tokio::time::timeout(DRAIN_TIME, async {
                while drained <= DRAIN_LIMIT {
                    match body.frame().await {
                        Some(Ok(frame)) => {
                            if let Some(data) = frame.data_ref() {
                                drained += data.len() as u64;
                            }
                        }
                        _ => break,
                    }
                }
            })
            .await;
        });
    }
}

impl Source {
    /// Pulls the next non-empty data frame into `pending` (which must be empty). `Ok(false)` at
    /// the end of the body, after the wire length and SHA-256 have been checked.
    async fn fill(&mut self) -> Result<bool, AuthError> {
        debug_assert!(self.pending.is_empty());
        loop {
            let Some(body) = self.body.as_mut() else {
                return Ok(false);
            };
            let Ok(frame) = tokio::time::timeout(self.read_timeout, body.frame()).await else {
                self.body = None;
                return Err(AuthError::BodyReadTimeout);
            };
            match frame {
                None => {
                    self.body = None;
                    self.finish()?;
                    return Ok(false);
                }
                Some(Err(e)) => {
                    self.body = None;
                    tracing::debug!(error = %e, "request body failed");
                    return Err(incomplete("the request body could not be read to its end"));
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        if data.is_empty() {
                            continue;
                        }
                        self.wire_len = self
                            .wire_len
                            .checked_add(data.len() as u64)
                            .ok_or_else(|| incomplete("the body is too large"))?;
                        if self.wire_expected.is_some_and(|n| self.wire_len > n) {
                            return Err(incomplete("the body is longer than Content-Length"));
                        }
                        if let Some((ctx, _)) = &mut self.sha {
                            ctx.update(&data);
                        }
                        self.pending = data;
                        return Ok(true);
                    }
                    Err(frame) => {
                        if let Ok(t) = frame.into_trailers() {
                            self.http_trailers.extend(t);
                        }
                    }
                },
            }
        }
    }

    fn finish(&mut self) -> Result<(), AuthError> {
        if self.wire_expected.is_some_and(|n| self.wire_len != n) {
            return Err(incomplete("the body is shorter than Content-Length"));
        }
        if let Some((ctx, expected)) = self.sha.take()
            && !ct_eq(ctx.finish().as_ref(), &expected)
        {
            return Err(AuthError::ContentSha256Mismatch);
        }
        Ok(())
    }
}

/// Signature chaining state of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD*` body.
struct ChunkSigner {
    key: Vec<u8>,
    amz_date: String,
    scope: String,
    previous: String,
}

impl ChunkSigner {
    fn verify(&mut self, string_to_sign: String, provided: &str) -> Result<(), AuthError> {
        let computed =
            aws_sigv4::sign::v4::calculate_signature(&self.key, string_to_sign.as_bytes());
        if !ct_eq(computed.as_bytes(), provided.as_bytes()) {
            return Err(AuthError::ChunkSignatureMismatch);
        }
        self.previous = computed;
        Ok(())
    }

    fn verify_chunk(&mut self, data_hash_hex: &str, provided: &str) -> Result<(), AuthError> {
        let sts = chunk_string_to_sign(&self.amz_date, &self.scope, &self.previous, data_hash_hex);
        self.verify(sts, provided)
    }

    fn verify_trailer(&mut self, trailer_hash_hex: &str, provided: &str) -> Result<(), AuthError> {
        let sts = trailer_string_to_sign(
            &self.amz_date,
            &self.scope,
            &self.previous,
            trailer_hash_hex,
        );
        self.verify(sts, provided)
    }
}

enum Phase {
    /// Expecting a `hex-size[;ext…]\r\n` line.
    Header,
    /// Inside a chunk's data.
    Data {
        remaining: u64,
        signature: Option<String>,
    },
    /// Expecting the `\r\n` after a chunk's data; `matched` bytes of it seen.
    DataEnd { matched: u8 },
    /// After the zero-size chunk: trailer lines until an empty line.
    Trailers,
    /// After the empty line: only the end of the body may follow.
    End,
}

/// The aws-chunked decoder.
struct Chunked {
    signer: Option<ChunkSigner>,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: trailers must carry a signature.
    trailer_signed: bool,
    /// Whether trailer lines may appear at all.
    trailers_allowed: bool,
    announced: Vec<HeaderName>,
    phase: Phase,
    /// Partial framing line carried over between frames.
    line: Vec<u8>,
    chunk_hash: Option<ring::digest::Context>,
    trailer_bytes: usize,
    trailer_signature: Option<String>,
    received_trailers: HeaderMap,
}

impl Chunked {
    fn new(
        signer: Option<ChunkSigner>,
        trailer_signed: bool,
        trailers_allowed: bool,
        announced: Vec<HeaderName>,
    ) -> Self {
        Chunked {
            signer,
            trailer_signed,
            trailers_allowed,
            announced,
            phase: Phase::Header,
            line: Vec::new(),
            chunk_hash: None,
            trailer_bytes: 0,
            trailer_signature: None,
            received_trailers: HeaderMap::new(),
        }
    }

    /// The next piece of decoded data; `Ok(None)` once the final chunk, the trailers and the end
    /// of the body have been seen and verified.
    async fn next(&mut self, src: &mut Source) -> Result<Option<Bytes>, AuthError> {
        loop {
            match &mut self.phase {
                Phase::Header => {
                    let Some(line) = self.read_line(src).await? else {
                        return Err(incomplete("the body ended before the final chunk"));
                    };
                    let (size, signature) = parse_chunk_header(&line)?;
                    let signature = match (&self.signer, signature) {
                        (Some(_), Some(s)) => Some(s),
                        (Some(_), None) => {
                            return Err(malformed_chunked(
                                "aws-chunked chunk header without chunk-signature",
                            ));
                        }
                        (None, _) => None,
                    };
                    if size == 0 {
                        if let (Some(signer), Some(sig)) = (&mut self.signer, &signature) {
                            signer.verify_chunk(EMPTY_SHA256_HEX, sig)?;
                        }
                        self.phase = Phase::Trailers;
                    } else {
                        self.chunk_hash = self
                            .signer
                            .is_some()
                            .then(|| ring::digest::Context::new(&ring::digest::SHA256));
                        self.phase = Phase::Data {
                            remaining: size,
                            signature,
                        };
                    }
                }
                Phase::Data {
                    remaining,
                    signature,
                } => {
                    if *remaining == 0 {
                        // The chunk's last byte has arrived: check its signature.
                        if let (Some(signer), Some(ctx), Some(sig)) =
                            (&mut self.signer, self.chunk_hash.take(), signature.take())
                        {
                            signer.verify_chunk(&hex::encode(ctx.finish()), &sig)?;
                        }
                        self.phase = Phase::DataEnd { matched: 0 };
                        continue;
                    }
                    if src.pending.is_empty() && !src.fill().await? {
                        return Err(incomplete("the body ended inside a chunk"));
                    }
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(src.pending.len());
                    let data = src.pending.split_to(n);
                    *remaining -= n as u64;
                    if let Some(ctx) = &mut self.chunk_hash {
                        ctx.update(&data);
                    }
                    return Ok(Some(data));
                }
                Phase::DataEnd { matched } => {
                    while *matched < 2 {
                        if src.pending.is_empty() && !src.fill().await? {
                            return Err(incomplete("the body ended after chunk data"));
                        }
                        let expected = if *matched == 0 { b'\r' } else { b'\n' };
                        if src.pending.first() != Some(&expected) {
                            return Err(malformed_chunked(
                                "aws-chunked chunk data is not followed by CRLF",
                            ));
                        }
                        src.pending.advance(1);
                        *matched += 1;
                    }
                    self.phase = Phase::Header;
                }
                Phase::Trailers => match self.read_line(src).await? {
                    // The end of the body right after complete trailer lines: some clients omit
                    // the final CRLF (the Rust SDK does when a signed-trailer body has no
                    // trailers). Everything announced must still be there and verify.
                    None => {
                        self.finish_trailers()?;
                        self.phase = Phase::End;
                    }
                    Some(line) if line.is_empty() => {
                        self.finish_trailers()?;
                        self.phase = Phase::End;
                    }
                    Some(line) => self.trailer_line(&line)?,
                },
                Phase::End => {
                    if !src.pending.is_empty() || src.fill().await? {
                        return Err(malformed_chunked(
                            "unexpected data after the end of the aws-chunked body",
                        ));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Reads one CRLF-terminated framing line (without the CRLF). `Ok(None)` when the body ends
    /// cleanly at a line boundary.
    async fn read_line(&mut self, src: &mut Source) -> Result<Option<Vec<u8>>, AuthError> {
        loop {
            if let Some(pos) = src.pending.iter().position(|&c| c == b'\n') {
                if self.line.len().saturating_add(pos) > MAX_LINE {
                    return Err(line_too_long());
                }
                let part = src.pending.split_to(pos + 1);
                self.line.extend_from_slice(&part[..pos]);
                let mut line = std::mem::take(&mut self.line);
                if line.pop() != Some(b'\r') {
                    return Err(malformed_chunked(
                        "aws-chunked framing line is not terminated by CRLF",
                    ));
                }
                return Ok(Some(line));
            }
            if self.line.len().saturating_add(src.pending.len()) > MAX_LINE {
                return Err(line_too_long());
            }
            self.line.extend_from_slice(&src.pending);
            src.pending = Bytes::new();
            if !src.fill().await? {
                if self.line.is_empty() {
                    return Ok(None);
                }
                return Err(incomplete(
                    "the body ended inside an aws-chunked framing line",
                ));
            }
        }
    }

    fn trailer_line(&mut self, line: &[u8]) -> Result<(), AuthError> {
        self.trailer_bytes = self.trailer_bytes.saturating_add(line.len() + 2);
        if self.trailer_bytes > MAX_TRAILER_BYTES {
            return Err(malformed_trailer("the trailing headers are too large"));
        }
        if self.trailer_signature.is_some() {
            return Err(malformed_trailer(
                "no trailing header may follow x-amz-trailer-signature",
            ));
        }
        let colon = line
            .iter()
            .position(|&c| c == b':')
            .ok_or_else(|| malformed_trailer("a trailing header line has no ':'"))?;
        let name = line[..colon].trim_ascii().to_ascii_lowercase();
        let value = line[colon + 1..].trim_ascii();
        let name = HeaderName::from_bytes(&name)
            .map_err(|_| malformed_trailer("invalid trailing header name"))?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| malformed_trailer("invalid trailing header value"))?;

        if name.as_str() == X_AMZ_TRAILER_SIGNATURE {
            if !self.trailer_signed {
                return Err(malformed_trailer(
                    "x-amz-trailer-signature is only valid with \
                     STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                ));
            }
            let sig = value
                .to_str()
                .map_err(|_| malformed_trailer("invalid x-amz-trailer-signature"))?;
            self.trailer_signature = Some(sig.to_string());
            return Ok(());
        }
        if !self.trailers_allowed {
            return Err(malformed_trailer(
                "trailing headers are not allowed with this x-amz-content-sha256",
            ));
        }
        if !self.announced.contains(&name) {
            return Err(malformed_trailer(format!(
                "the trailing header {name} was not announced in x-amz-trailer"
            )));
        }
        if self.received_trailers.contains_key(&name) {
            return Err(malformed_trailer(format!(
                "the trailing header {name} appears more than once"
            )));
        }
        self.received_trailers.insert(name, value);
        Ok(())
    }

    fn finish_trailers(&mut self) -> Result<(), AuthError> {
        for name in &self.announced {
            if !self.received_trailers.contains_key(name) {
                return Err(malformed_trailer(format!(
                    "the trailing header {name} announced in x-amz-trailer is missing"
                )));
            }
        }
        if self.trailer_signed
            && (!self.received_trailers.is_empty() || self.trailer_signature.is_some())
        {
            let provided = self
                .trailer_signature
                .take()
                .ok_or(AuthError::TrailerNotSigned)?;
            let mut lines: Vec<(&str, &[u8])> = self
                .received_trailers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()))
                .collect();
            lines.sort();
            let mut canonical = Vec::new();
            for (n, v) in lines {
                canonical.extend_from_slice(n.as_bytes());
                canonical.push(b':');
                canonical.extend_from_slice(v);
                canonical.push(b'\n');
            }
            if let Some(signer) = &mut self.signer {
                signer.verify_trailer(&sha256_hex(&canonical), &provided)?;
            }
        }
        Ok(())
    }
}

/// Parses `hex-size[;name=value…]`; returns the size and the `chunk-signature`, if any.
fn parse_chunk_header(line: &[u8]) -> Result<(u64, Option<String>), AuthError> {
    let bad = || malformed_chunked("malformed aws-chunked chunk header");
    let line = std::str::from_utf8(line).map_err(|_| bad())?;
    let mut parts = line.split(';');
    let size = parts.next().unwrap_or_default().trim_matches([' ', '\t']);
    if size.is_empty() || size.len() > 16 || !size.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let size = u64::from_str_radix(size, 16).map_err(|_| bad())?;
    if size > MAX_CHUNK_SIZE {
        return Err(malformed_chunked(format!(
            "aws-chunked chunk larger than {MAX_CHUNK_SIZE} bytes"
        )));
    }
    let mut signature = None;
    for ext in parts {
        let (name, value) = ext.split_once('=').unwrap_or((ext, ""));
        if name.trim() == "chunk-signature" && signature.replace(value.trim().to_string()).is_some()
        {
            return Err(bad());
        }
    }
    Ok((size, signature))
}

fn parse_length(headers: &HeaderMap, name: &'static str) -> Result<Option<u64>, AuthError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or(AuthError::InvalidBodyHeader { name }),
    }
}

/// The trailer names announced in `x-amz-trailer` (comma-separated, case-insensitive).
fn parse_announced_trailers(headers: &HeaderMap) -> Result<Vec<HeaderName>, AuthError> {
    let invalid = || AuthError::InvalidBodyHeader {
        name: "x-amz-trailer",
    };
    let mut out = Vec::new();
    for v in headers.get_all("x-amz-trailer") {
        let v = v.to_str().map_err(|_| invalid())?;
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| invalid())?;
            if name.as_str() == X_AMZ_TRAILER_SIGNATURE {
                return Err(invalid());
            }
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    Ok(out)
}

fn incomplete(detail: &'static str) -> AuthError {
    tracing::debug!(detail, "incomplete request body");
    AuthError::IncompleteBody { detail }
}

fn line_too_long() -> AuthError {
    malformed_chunked(format!(
        "aws-chunked framing line longer than {MAX_LINE} bytes"
    ))
}

fn malformed_chunked(reason: impl Into<String>) -> AuthError {
    AuthError::MalformedChunkedBody {
        reason: reason.into(),
    }
}

fn malformed_trailer(reason: impl Into<String>) -> AuthError {
    AuthError::MalformedTrailer {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::util::{parse_amz_date, sha256};
    use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
    use base64::Engine as _;

    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20130524T000000Z";
    const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
    const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

    fn key() -> Vec<u8> {
        generate_signing_key(SK, parse_amz_date(DATE).unwrap(), "us-east-1", "s3")
            .as_ref()
            .to_vec()
    }

    fn signed(trailer: bool) -> PayloadCheck {
        PayloadCheck::StreamingSigned {
            signing_key: key(),
            amz_date: DATE.into(),
            scope: SCOPE.into(),
            seed_signature: SEED.into(),
            trailer,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    /// A body delivering `wire` in pieces of the given sizes (cycled), optionally failing after.
    fn body_from(wire: &[u8], sizes: &[usize], fail: bool) -> axum::body::Body {
        let mut pieces: Vec<Result<Bytes, std::io::Error>> = Vec::new();
        let (mut i, mut k) = (0, 0);
        while i < wire.len() {
            let n = sizes[k % sizes.len()].min(wire.len() - i);
            pieces.push(Ok(Bytes::copy_from_slice(&wire[i..i + n])));
            i += n;
            k += 1;
        }
        if fail {
            pieces.push(Err(std::io::Error::other("connection reset")));
        }
        axum::body::Body::from_stream(futures::stream::iter(pieces))
    }

    async fn drain(b: &mut RequestBody) -> Result<Vec<u8>, AuthError> {
        let mut out = Vec::new();
        while let Some(c) = b.chunk().await? {
            assert!(!c.is_empty());
            out.extend_from_slice(&c);
        }
        Ok(out)
    }

    /// Encodes `data` as a signed aws-chunked body (signatures chained from `seed`).
    fn encode_signed(
        data: &[u8],
        chunk: usize,
        seed: &str,
        trailers: Option<&[(&str, &str)]>,
    ) -> Vec<u8> {
        let key = key();
        let mut prev = seed.to_string();
        let mut out = Vec::new();
        let mut sign = |hash: &str, out: &mut Vec<u8>, size: usize| {
            let sig = calculate_signature(
                &key,
                chunk_string_to_sign(DATE, SCOPE, &prev, hash).as_bytes(),
            );
            out.extend_from_slice(format!("{size:x};chunk-signature={sig}\r\n").as_bytes());
            prev = sig;
        };
        for piece in data.chunks(chunk) {
            sign(&hex::encode(sha256(piece)), &mut out, piece.len());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        sign(EMPTY_SHA256_HEX, &mut out, 0);
        match trailers {
            None => out.extend_from_slice(b"\r\n"),
            Some(t) => {
                let mut sorted = t.to_vec();
                sorted.sort();
                let canonical: String = sorted.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
                let sig = calculate_signature(
                    &key,
                    trailer_string_to_sign(DATE, SCOPE, &prev, &sha256_hex(canonical.as_bytes()))
                        .as_bytes(),
                );
                for (n, v) in t {
                    out.extend_from_slice(format!("{n}:{v}\r\n").as_bytes());
                }
                out.extend_from_slice(format!("x-amz-trailer-signature:{sig}\r\n\r\n").as_bytes());
            }
        }
        out
    }

    /// The AWS "Example: PUT Object" chunked upload: 66560 bytes of 'a', 64 KiB chunks.
    fn aws_example_wire() -> Vec<u8> {
        let mut w = Vec::new();
        w.extend_from_slice(b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
        w.extend_from_slice(&[b'a'; 65536]);
        w.extend_from_slice(b"\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
        w.extend_from_slice(&[b'a'; 1024]);
        w.extend_from_slice(b"\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
        w
    }

    fn aws_example_headers() -> HeaderMap {
        headers(&[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("content-length", "66824"),
        ])
    }

    #[tokio::test]
    async fn aws_example_chunked_upload_any_split() {
        let wire = aws_example_wire();
        assert_eq!(wire.len(), 66824);
        // Our encoder reproduces the documented signatures.
        assert_eq!(encode_signed(&[b'a'; 66560], 65536, SEED, None), wire);
        for sizes in [
            &[usize::MAX][..],
            &[1],
            &[2, 3, 5],
            &[7, 65536, 13],
            &[86, 1, 65536, 2, 90],
            &[4096],
        ] {
            let mut b = RequestBody::new(
                body_from(&wire, sizes, false),
                signed(false),
                &aws_example_headers(),
            )
            .unwrap();
            assert_eq!(b.declared_len(), Some(66560));
            let data = drain(&mut b).await.unwrap();
            assert_eq!(data.len(), 66560);
            assert!(data.iter().all(|&c| c == b'a'));
            assert!(b.trailers().is_empty());
            // The end is sticky.
            assert!(b.chunk().await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn chunk_signature_mismatches() {
        let wire = aws_example_wire();
        // Tampered data in the first and in the second chunk.
        for pos in [100, 65536 + 90 + 88] {
            let mut w = wire.clone();
            w[pos] = b'b';
            let mut b = RequestBody::new(
                body_from(&w, &[1000], false),
                signed(false),
                &aws_example_headers(),
            )
            .unwrap();
            let err = drain(&mut b).await.unwrap_err();
            assert_eq!(err.code(), "ChunkSignatureMismatch");
            // Sticky.
            assert_eq!(
                b.chunk().await.unwrap_err().code(),
                "ChunkSignatureMismatch"
            );
        }
        // Tampered final signature.
        let mut w = wire.clone();
        let last = w.len() - 5;
        w[last] = if w[last] == b'0' { b'1' } else { b'0' };
        let mut b = RequestBody::new(
            body_from(&w, &[1000], false),
            signed(false),
            &aws_example_headers(),
        )
        .unwrap();
        assert_eq!(
            drain(&mut b).await.unwrap_err().code(),
            "ChunkSignatureMismatch"
        );
        // Another seed (as if the request had been signed differently).
        let w = encode_signed(&[b'a'; 66560], 65536, &"0".repeat(64), None);
        let mut b = RequestBody::new(
            body_from(&w, &[1000], false),
            signed(false),
            &aws_example_headers(),
        )
        .unwrap();
        assert_eq!(
            drain(&mut b).await.unwrap_err().code(),
            "ChunkSignatureMismatch"
        );
        // A chunk without signature.
        let w = b"5\r\nhello\r\n0;chunk-signature=00\r\n\r\n";
        let mut b = RequestBody::new(
            body_from(w, &[100], false),
            signed(false),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(
            drain(&mut b).await.unwrap_err().code(),
            "MalformedChunkedBody"
        );
        // Chunks dropped from the end: the truncated body's final chunk cannot be signed.
        let w = encode_signed(&[b'a'; 100], 10, SEED, None);
        let cut = w.len() - 86 - (84 + 10 + 2);
        let mut forged = w[..cut].to_vec();
        forged.extend_from_slice(&w[w.len() - 86..]);
        let mut b = RequestBody::new(
            body_from(&forged, &[1000], false),
            signed(false),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(
            drain(&mut b).await.unwrap_err().code(),
            "ChunkSignatureMismatch"
        );
    }

    #[tokio::test]
    async fn malformed_framing() {
        let h = HeaderMap::new();
        let cases: &[(&[u8], &str)] = &[
            (b"zz\r\nhello\r\n0\r\n\r\n", "MalformedChunkedBody"),
            (b"\r\nhello\r\n0\r\n\r\n", "MalformedChunkedBody"),
            (b"5\r\nhelloXX0\r\n\r\n", "MalformedChunkedBody"),
            (b"5\nhello\r\n0\r\n\r\n", "MalformedChunkedBody"),
            (b"5\r\nhello\r\n0\r\n\r\ngarbage", "MalformedChunkedBody"),
            (b"ffffffffffffffff\r\n", "MalformedChunkedBody"),
            (b"10000000000000000\r\n", "MalformedChunkedBody"),
            (b"5\r\nhel", "IncompleteBody"),
            (b"5\r\nhello", "IncompleteBody"),
            (b"5\r\nhello\r", "IncompleteBody"),
            (b"5\r\nhello\r\n", "IncompleteBody"),
            (b"5\r\nhello\r\n0", "IncompleteBody"),
            (b"", "IncompleteBody"),
        ];
        for (wire, code) in cases {
            for sizes in [&[1usize][..], &[1000]] {
                let mut b = RequestBody::new(
                    body_from(wire, sizes, false),
                    PayloadCheck::StreamingUnsignedTrailer,
                    &h,
                )
                .unwrap();
                let err = drain(&mut b).await.unwrap_err();
                assert_eq!(err.code(), *code, "{}", String::from_utf8_lossy(wire));
            }
        }
        // An endless header line is refused once it passes the limit.
        let long = vec![b'1'; MAX_LINE * 4];
        let mut b = RequestBody::new(
            body_from(&long, &[100], false),
            PayloadCheck::StreamingUnsignedTrailer,
            &h,
        )
        .unwrap();
        assert_eq!(
            drain(&mut b).await.unwrap_err().code(),
            "MalformedChunkedBody"
        );
    }

    #[tokio::test]
    async fn decoded_length_must_match() {
        let wire = b"5\r\nhello\r\n0\r\n\r\n";
        for (declared, ok) in [("5", true), ("4", false), ("6", false)] {
            let h = headers(&[("x-amz-decoded-content-length", declared)]);
            let mut b = RequestBody::new(
                body_from(wire, &[3], false),
                PayloadCheck::StreamingUnsignedTrailer,
                &h,
            )
            .unwrap();
            let r = drain(&mut b).await;
            if ok {
                assert_eq!(r.unwrap(), b"hello");
            } else {
                assert_eq!(r.unwrap_err().code(), "IncompleteBody", "{declared}");
            }
        }
        let h = headers(&[("x-amz-decoded-content-length", "five")]);
        assert_eq!(
            RequestBody::new(
                body_from(wire, &[3], false),
                PayloadCheck::StreamingUnsignedTrailer,
                &h
            )
            .unwrap_err()
            .code(),
            "InvalidBodyHeader"
        );
    }

    #[tokio::test]
    async fn truncated_and_failing_bodies() {
        // The connection drops: IncompleteBody.
        let wire = aws_example_wire();
        let mut b = RequestBody::new(
            body_from(&wire[..40000], &[4096], true),
            signed(false),
            &aws_example_headers(),
        )
        .unwrap();
        assert_eq!(drain(&mut b).await.unwrap_err().code(), "IncompleteBody");
        // Ends early without an error from the transport: IncompleteBody (Content-Length).
        let mut b = RequestBody::new(
            body_from(&wire[..40000], &[4096], false),
            signed(false),
            &aws_example_headers(),
        )
        .unwrap();
        assert_eq!(drain(&mut b).await.unwrap_err().code(), "IncompleteBody");
        // Plain bodies too.
        let h = headers(&[("content-length", "10")]);
        let mut b =
            RequestBody::new(body_from(b"hello", &[2], true), PayloadCheck::Unsigned, &h).unwrap();
        assert_eq!(drain(&mut b).await.unwrap_err().code(), "IncompleteBody");
        let mut b =
            RequestBody::new(body_from(b"hello", &[2], false), PayloadCheck::Unsigned, &h).unwrap();
        assert_eq!(drain(&mut b).await.unwrap_err().code(), "IncompleteBody");
        let h = headers(&[("content-length", "3")]);
        let mut b =
            RequestBody::new(body_from(b"hello", &[2], false), PayloadCheck::Unsigned, &h).unwrap();
        assert_eq!(drain(&mut b).await.unwrap_err().code(), "IncompleteBody");
    }

    #[tokio::test]
    async fn plain_bodies() {
        let h = headers(&[("content-length", "11")]);
        let mut b = RequestBody::new(
            body_from(b"hello world", &[3], false),
            PayloadCheck::Unsigned,
            &h,
        )
        .unwrap();
        assert_eq!(b.declared_len(), Some(11));
        assert_eq!(drain(&mut b).await.unwrap(), b"hello world");

        // SHA-256 verified at the end only.
        let good = PayloadCheck::Sha256(sha256(b"hello world"));
        let mut b = RequestBody::new(body_from(b"hello world", &[3], false), good, &h).unwrap();
        assert_eq!(drain(&mut b).await.unwrap(), b"hello world");
        let bad = PayloadCheck::Sha256(sha256(b"hello worle"));
        let mut b = RequestBody::new(body_from(b"hello world", &[3], false), bad, &h).unwrap();
        assert_eq!(b.chunk().await.unwrap().unwrap(), &b"hel"[..]);
        assert_eq!(
            drain(&mut b).await.unwrap_err().code(),
            "ContentSha256Mismatch"
        );
        assert_eq!(b.chunk().await.unwrap_err().code(), "ContentSha256Mismatch");

        // Empty bodies.
        let empty = PayloadCheck::Sha256(sha256(b""));
        let mut b = RequestBody::new(axum::body::Body::empty(), empty, &HeaderMap::new()).unwrap();
        assert_eq!(b.declared_len(), Some(0));
        assert!(b.chunk().await.unwrap().is_none());
        let mut b = RequestBody::empty();
        assert_eq!(b.declared_len(), Some(0));
        assert!(b.chunk().await.unwrap().is_none());
        assert!(b.trailers().is_empty());
    }

    #[tokio::test]
    async fn unsigned_trailer_with_crc32() {
        let crc = base64::engine::general_purpose::STANDARD
            .encode(crc32fast::hash(b"hello world").to_be_bytes());
        let wire = format!("6\r\nhello \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n");
        let h = headers(&[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "11"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
            ("content-length", &wire.len().to_string()),
        ]);
        for sizes in [&[1usize][..], &[4, 9], &[1000]] {
            let mut b = RequestBody::new(
                body_from(wire.as_bytes(), sizes, false),
                PayloadCheck::StreamingUnsignedTrailer,
                &h,
            )
            .unwrap();
            assert_eq!(b.declared_len(), Some(11));
            assert!(b.trailers().is_empty());
            assert_eq!(drain(&mut b).await.unwrap(), b"hello world");
            assert_eq!(
                b.trailers().get("x-amz-checksum-crc32").unwrap(),
                crc.as_str()
            );
        }

        // The final CRLF may be missing; the trailers must still be complete.
        let short = &wire[..wire.len() - 2];
        let h2 = headers(&[("x-amz-trailer", "x-amz-checksum-crc32")]);
        let mut b = RequestBody::new(
            body_from(short.as_bytes(), &[5], false),
            PayloadCheck::StreamingUnsignedTrailer,
            &h2,
        )
        .unwrap();
        assert_eq!(drain(&mut b).await.unwrap(), b"hello world");
        assert_eq!(b.trailers().len(), 1);
        // ... but not cut inside a line.
        let cut = &wire[..wire.len() - 4];
        let mut b = RequestBody::new(
            body_from(cut.as_bytes(), &[5], false),
            PayloadCheck::StreamingUnsignedTrailer,
            &h2,
        )
        .unwrap();
        assert_eq!(drain(&mut b).await.unwrap_err().code(), "IncompleteBody");

        // Announced but missing; sent but not announced; duplicated.
        let cases: &[(&str, &str)] = &[
            ("5\r\nhello\r\n0\r\n\r\n", "x-amz-checksum-crc32"),
            (
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n",
                "x-amz-checksum-crc32",
            ),
            (
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
                "",
            ),
            (
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
                "x-amz-checksum-crc32",
            ),
            (
                "5\r\nhello\r\n0\r\nno-colon\r\n\r\n",
                "x-amz-checksum-crc32",
            ),
            (
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:00\r\n\r\n",
                "x-amz-checksum-crc32",
            ),
        ];
        for (wire, announced) in cases {
            let h = headers(&[("x-amz-trailer", announced)]);
            let mut b = RequestBody::new(
                body_from(wire.as_bytes(), &[7], false),
                PayloadCheck::StreamingUnsignedTrailer,
                &h,
            )
            .unwrap();
            assert_eq!(
                drain(&mut b).await.unwrap_err().code(),
                "MalformedTrailer",
                "{wire}"
            );
            assert!(b.trailers().is_empty());
        }
    }

    #[tokio::test]
    async fn signed_trailer() {
        let data = vec![b'x'; 200_000];
        let trailers = [("x-amz-checksum-crc32c", "sOO8/Q==")];
        let wire = encode_signed(&data, 65536, SEED, Some(&trailers));
        let h = headers(&[
            ("x-amz-decoded-content-length", "200000"),
            ("x-amz-trailer", "x-amz-checksum-crc32c"),
        ]);
        for sizes in [&[1usize, 4096, 3][..], &[100_000]] {
            let mut b = RequestBody::new(body_from(&wire, sizes, false), signed(true), &h).unwrap();
            assert_eq!(drain(&mut b).await.unwrap(), data);
            assert_eq!(
                b.trailers().get("x-amz-checksum-crc32c").unwrap(),
                "sOO8/Q=="
            );
        }

        // Tampered trailer value.
        let forged = String::from_utf8_lossy(&wire).replace("sOO8/Q==", "AAAAAA==");
        let mut b = RequestBody::new(
            body_from(forged.as_bytes(), &[4096], false),
            signed(true),
            &h,
        )
        .unwrap();
        assert_eq!(
            drain(&mut b).await.unwrap_err().code(),
            "ChunkSignatureMismatch"
        );
        assert!(b.trailers().is_empty());

        // Trailer signature stripped.
        let text = String::from_utf8_lossy(&wire).into_owned();
        let start = text.find("x-amz-trailer-signature:").unwrap();
        let stripped = format!("{}\r\n", &text[..start]);
        let mut b = RequestBody::new(
            body_from(stripped.as_bytes(), &[4096], false),
            signed(true),
            &h,
        )
        .unwrap();
        assert_eq!(drain(&mut b).await.unwrap_err().code(), "TrailerNotSigned");

        // Trailers are refused when the payload mode has none.
        let mut b = RequestBody::new(body_from(&wire, &[4096], false), signed(false), &h).unwrap();
        assert_eq!(drain(&mut b).await.unwrap_err().code(), "MalformedTrailer");

        // Signed-trailer mode without trailers, ending right after the final chunk (Rust SDK).
        let w = encode_signed(b"hello", 5, SEED, None);
        let w = &w[..w.len() - 2];
        let mut b =
            RequestBody::new(body_from(w, &[3], false), signed(true), &HeaderMap::new()).unwrap();
        assert_eq!(drain(&mut b).await.unwrap(), b"hello");
    }

    #[tokio::test]
    async fn aws_chunked_content_encoding_without_streaming_hash() {
        // E.g. a presigned PUT whose body is aws-chunked: decoded, unsigned.
        let wire = b"5\r\nhello\r\n0\r\n\r\n";
        let h = headers(&[
            ("content-encoding", "gzip, aws-chunked"),
            ("x-amz-decoded-content-length", "5"),
        ]);
        let mut b =
            RequestBody::new(body_from(wire, &[2], false), PayloadCheck::Unsigned, &h).unwrap();
        assert_eq!(b.declared_len(), Some(5));
        assert_eq!(drain(&mut b).await.unwrap(), b"hello");
        // With x-amz-content-sha256: the hash covers the bytes as sent.
        let mut b = RequestBody::new(
            body_from(wire, &[2], false),
            PayloadCheck::Sha256(sha256(wire)),
            &h,
        )
        .unwrap();
        assert_eq!(drain(&mut b).await.unwrap(), b"hello");
        let mut b = RequestBody::new(
            body_from(wire, &[2], false),
            PayloadCheck::Sha256(sha256(b"hello")),
            &h,
        )
        .unwrap();
        assert_eq!(
            drain(&mut b).await.unwrap_err().code(),
            "ContentSha256Mismatch"
        );
        // The encoding without the decoded length only names the object's encoding: the body
        // is plain (an empty PUT with `Content-Encoding: gzip, aws-chunked`).
        let plain = headers(&[
            ("content-encoding", "gzip, aws-chunked"),
            ("content-length", "0"),
        ]);
        let mut b =
            RequestBody::new(body_from(b"", &[], false), PayloadCheck::Unsigned, &plain).unwrap();
        assert_eq!(drain(&mut b).await.unwrap(), b"");
    }

    #[tokio::test]
    async fn read_to_end_limits() {
        let mut b = RequestBody::new(
            body_from(b"hello world", &[3], false),
            PayloadCheck::Unsigned,
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(b.read_to_end(100).await.unwrap(), &b"hello world"[..]);
        let mut b = RequestBody::new(
            body_from(b"hello world", &[3], false),
            PayloadCheck::Unsigned,
            &HeaderMap::new(),
        )
        .unwrap();
        let err = b.read_to_end(10).await.unwrap_err();
        assert_eq!(err.code(), "BodyTooLarge");
        assert_eq!(err.to_string(), "request body too large");
        // Refused up front from the declared length.
        let h = headers(&[("content-length", "11")]);
        let mut b = RequestBody::new(
            body_from(b"hello world", &[3], false),
            PayloadCheck::Unsigned,
            &h,
        )
        .unwrap();
        assert_eq!(b.read_to_end(10).await.unwrap_err().code(), "BodyTooLarge");
        let mut b = RequestBody::new(
            body_from(b"hello world", &[100], false),
            PayloadCheck::Unsigned,
            &h,
        )
        .unwrap();
        assert_eq!(b.read_to_end(11).await.unwrap(), &b"hello world"[..]);
    }

    #[test]
    fn futures_are_send() {
        fn is_send<T: Send>(_: &T) {}
        let mut b = RequestBody::empty();
        is_send(&b.chunk());
        is_send(&b.read_to_end(1));
    }
}
