//! The request body reader (`auth::body`): aws-chunked framing, chunk and trailer signatures,
//! `x-amz-content-sha256`, `Content-Length` and `x-amz-decoded-content-length`.
//!
//! Two kinds of input:
//! - **raw**: arbitrary bytes as the body, under every payload mode, with arbitrary length
//!   headers; the body is cut into frames at fuzzer-chosen places. Checked: no panic, errors are
//!   sticky, the end is reported only once, and a verified end means the decoded length matches
//!   what was declared.
//! - **built**: chunks, extensions and trailers chosen by the fuzzer, framed and signed here (with
//!   the string-to-sign written independently of the gateway), optionally damaged at one byte.
//!   Checked: an undamaged body decodes to exactly the chunks' data and trailers; a body damaged
//!   under `x-amz-content-sha256: <hash>` never verifies.
//!
//! The signed modes use the key, date, scope and seed signature of the AWS documentation's
//! streaming example, so real signed bodies from that example verify.

use std::convert::Infallible;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use lakegate::auth::{PayloadCheck, RequestBody};

const EMPTY_SHA256_HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const AMZ_DATE: &str = "20130524T000000Z";
const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
const SEED_SIGNATURE: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
/// Decoded bytes read at most per input (bounds memory; bodies here are small anyway).
const READ_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, Copy)]
enum Mode {
    Unsigned,
    UnsignedAwsChunked,
    Sha256,
    Sha256AwsChunked,
    StreamingSigned,
    StreamingSignedTrailer,
    StreamingUnsignedTrailer,
}

impl Mode {
    fn chunked(&self) -> bool {
        !matches!(self, Mode::Unsigned | Mode::Sha256)
    }
    fn signed(&self) -> bool {
        matches!(self, Mode::StreamingSigned | Mode::StreamingSignedTrailer)
    }
    fn trailers_allowed(&self) -> bool {
        !matches!(self, Mode::StreamingSigned)
    }
}

/// A declared length: absent, right, one short, one long.
#[derive(Debug, Clone, Copy)]
enum Length {
    Absent,
    Exact,
    Short,
    Long,
}

impl Length {
    fn from_bits(b: u8) -> Self {
        [Length::Absent, Length::Exact, Length::Short, Length::Long][usize::from(b & 3)]
    }
}

#[derive(Debug, Arbitrary)]
struct Chunk {
    data: Vec<u8>,
    /// An extension before the signature (`;name=value`), letters only.
    extension: Option<(u8, u8)>,
}

#[derive(Debug, Arbitrary)]
struct Built {
    chunks: Vec<Chunk>,
    /// Trailer names are `x-amz-checksum-<n>` and friends; values are printable ASCII.
    trailers: Vec<(u8, String)>,
    /// Leave out the final CRLF after the trailers (some SDKs do).
    omit_final_crlf: bool,
    /// Damage one byte of the wire body (index, xor mask).
    damage: Option<(u16, u8)>,
}

#[derive(Debug)]
enum Body {
    Raw(Vec<u8>),
    Built(Built),
}

/// Input bytes: `mode`, `flags`, `n`, `n` little-endian u16 frame cuts, then the body (raw) or
/// the fuzzer's choices for a built body. `mode % 7` picks the payload mode; `flags` bit 0 asks
/// for a built body, bits 1-2 and 3-4 the `Content-Length` and `x-amz-decoded-content-length`
/// ([`Length`]), bits 5-6 the `x-amz-trailer` of a raw body ([`ANNOUNCE`]).
#[derive(Debug)]
struct Input {
    mode: Mode,
    content_length: Length,
    decoded_length: Length,
    /// `x-amz-trailer` of a raw body (built bodies announce their own trailers).
    announce: Option<&'static str>,
    /// Frame boundaries, as offsets modulo the body length.
    cuts: Vec<u16>,
    body: Body,
}

const ANNOUNCE: [Option<&str>; 4] = [
    None,
    Some("x-amz-checksum-crc32c"),
    Some("x-amz-checksum-crc32, X-Amz-Checksum-Sha256"),
    Some("x-amz-trailer-signature"),
];

const MODES: [Mode; 7] = [
    Mode::Unsigned,
    Mode::UnsignedAwsChunked,
    Mode::Sha256,
    Mode::Sha256AwsChunked,
    Mode::StreamingSigned,
    Mode::StreamingSignedTrailer,
    Mode::StreamingUnsignedTrailer,
];

impl Input {
    fn parse(data: &[u8]) -> Option<Self> {
        let (&mode, rest) = data.split_first()?;
        let (&flags, rest) = rest.split_first()?;
        let (&n, rest) = rest.split_first()?;
        let n = usize::from(n % 16);
        let cuts_bytes = rest.get(..2 * n)?;
        let rest = &rest[2 * n..];
        let cuts = cuts_bytes
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let body = if flags & 1 == 1 {
            Body::Built(Built::arbitrary_take_rest(arbitrary::Unstructured::new(rest)).ok()?)
        } else {
            Body::Raw(rest.to_vec())
        };
        Some(Input {
            mode: MODES[usize::from(mode) % MODES.len()],
            content_length: Length::from_bits(flags >> 1),
            decoded_length: Length::from_bits(flags >> 3),
            announce: ANNOUNCE[usize::from((flags >> 5) & 3)],
            cuts,
            body,
        })
    }
}

const TRAILER_NAMES: [&str; 6] = [
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
    "x-custom",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio runtime")
    })
}

/// The SigV4 signing key of the documentation's secret key for [`SCOPE`].
fn signing_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut k = b"AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_vec();
        for part in ["20130524", "us-east-1", "s3", "aws4_request"] {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k);
            k = ring::hmac::sign(&key, part.as_bytes()).as_ref().to_vec();
        }
        k
    })
}

fn hmac_hex(key: &[u8], msg: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    hex::encode(ring::hmac::sign(&key, msg.as_bytes()).as_ref())
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

/// What a built body must decode to.
struct Expected {
    data: Vec<u8>,
    trailers: Vec<(String, String)>,
}

/// Frames and (for the signed modes) signs a built body. `None` when the fuzzer's choices do not
/// make a valid body (e.g. an invalid trailer value): such inputs still run, unchecked.
fn build(mode: &Mode, b: &Built) -> (Vec<u8>, Vec<String>, Option<Expected>) {
    let mut wire = Vec::new();
    let mut data = Vec::new();
    let mut previous = SEED_SIGNATURE.to_string();
    let mut valid = true;
    let chunk_sig = |previous: &str, hash: &str| {
        hmac_hex(
            signing_key(),
            &format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{AMZ_DATE}\n{SCOPE}\n{previous}\n{EMPTY_SHA256_HEX}\n{hash}"
            ),
        )
    };
    let header = |wire: &mut Vec<u8>, size: usize, ext: Option<(u8, u8)>, sig: Option<String>| {
        wire.extend_from_slice(format!("{size:x}").as_bytes());
        if let Some((n, v)) = ext {
            let letter = |x: u8| char::from(b'a' + x % 26);
            wire.extend_from_slice(format!(";{}={}", letter(n), letter(v)).as_bytes());
        }
        if let Some(sig) = sig {
            wire.extend_from_slice(format!(";chunk-signature={sig}").as_bytes());
        }
        wire.extend_from_slice(b"\r\n");
    };
    for c in b.chunks.iter().filter(|c| !c.data.is_empty()) {
        let sig = mode.signed().then(|| {
            let s = chunk_sig(&previous, &sha256_hex(&c.data));
            previous = s.clone();
            s
        });
        header(&mut wire, c.data.len(), c.extension, sig);
        wire.extend_from_slice(&c.data);
        wire.extend_from_slice(b"\r\n");
        data.extend_from_slice(&c.data);
    }
    let sig = mode.signed().then(|| {
        let s = chunk_sig(&previous, EMPTY_SHA256_HEX);
        previous = s.clone();
        s
    });
    header(&mut wire, 0, None, sig);

    let mut trailers: Vec<(String, String)> = Vec::new();
    if mode.trailers_allowed() {
        for (n, v) in &b.trailers {
            let name = TRAILER_NAMES[usize::from(*n) % TRAILER_NAMES.len()].to_string();
            if trailers.iter().any(|(t, _)| *t == name) {
                continue;
            }
            // The reader trims values; only values it keeps as sent are checked.
            let ok = v.bytes().all(|c| c.is_ascii_graphic() || c == b' ') && v.trim() == v;
            valid &= ok;
            trailers.push((name, v.clone()));
        }
    }
    for (n, v) in &trailers {
        wire.extend_from_slice(format!("{n}:{v}\r\n").as_bytes());
    }
    if matches!(mode, Mode::StreamingSignedTrailer) {
        let mut sorted = trailers.clone();
        sorted.sort();
        let canonical: String = sorted.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let sig = hmac_hex(
            signing_key(),
            &format!(
                "AWS4-HMAC-SHA256-TRAILER\n{AMZ_DATE}\n{SCOPE}\n{previous}\n{}",
                sha256_hex(canonical.as_bytes())
            ),
        );
        wire.extend_from_slice(format!("x-amz-trailer-signature:{sig}\r\n").as_bytes());
    }
    if !b.omit_final_crlf {
        wire.extend_from_slice(b"\r\n");
    }
    let announced = trailers.iter().map(|(n, _)| n.clone()).collect();
    let expected = valid.then_some(Expected { data, trailers });
    (wire, announced, expected)
}

fn check(input: Input) {
    let (mut wire, announce, mut expected) = match &input.body {
        Body::Raw(bytes) => (
            bytes.clone(),
            input.announce.map(str::to_string).into_iter().collect(),
            None,
        ),
        Body::Built(b) => {
            let (wire, names, expected) = build(&input.mode, b);
            (wire, vec![names.join(",")], expected)
        }
    };
    if !input.mode.chunked() {
        // A plain body is passed through as sent (checked below).
        expected = None;
    }
    // The hash a client would have sent, taken before any damage.
    let sha_sent = ring::digest::digest(&ring::digest::SHA256, &wire);
    let mut damaged = false;
    if let Body::Built(Built {
        damage: Some((at, mask)),
        ..
    }) = &input.body
        && !wire.is_empty()
        && *mask != 0
    {
        let at = usize::from(*at) % wire.len();
        wire[at] ^= mask;
        damaged = true;
        // A damaged body may still be a valid one (e.g. a changed extension of a chunk): only
        // damage under a whole-body hash is certain to be caught.
        expected = None;
    }
    let must_fail = damaged && matches!(input.mode, Mode::Sha256 | Mode::Sha256AwsChunked);

    let mut headers = HeaderMap::new();
    let decoded_total = expected.as_ref().map(|e| e.data.len() as u64);
    let mut set_len = |name: &'static str, l: Length, exact: Option<u64>| {
        let value = match l {
            Length::Absent => None,
            Length::Exact => exact,
            Length::Short => exact.map(|n| n.saturating_sub(1)),
            Length::Long => exact.map(|n| n + 1),
        };
        if let Some(n) = value {
            headers.insert(name, HeaderValue::from(n));
        }
    };
    set_len(
        "content-length",
        input.content_length,
        Some(wire.len() as u64),
    );
    // Outside the STREAMING-* modes, `Content-Encoding: aws-chunked` frames the body only with
    // a decoded length beside it (`auth::body`): these modes always send one.
    let decoded_length = match (input.mode, input.decoded_length) {
        (Mode::UnsignedAwsChunked | Mode::Sha256AwsChunked, Length::Absent) => Length::Exact,
        (_, l) => l,
    };
    set_len(
        "x-amz-decoded-content-length",
        decoded_length,
        decoded_total.or(Some(wire.len() as u64)),
    );
    let lengths_exact = matches!(input.content_length, Length::Absent | Length::Exact)
        && matches!(decoded_length, Length::Absent | Length::Exact);
    if input.mode.chunked()
        && !input.mode.signed()
        && !matches!(input.mode, Mode::StreamingUnsignedTrailer)
    {
        headers.insert("content-encoding", HeaderValue::from_static("aws-chunked"));
    }
    for a in &announce {
        match HeaderValue::from_str(a) {
            Ok(v) => {
                headers.append("x-amz-trailer", v);
            }
            Err(_) => return,
        }
    }
    let payload = match input.mode {
        Mode::Unsigned | Mode::UnsignedAwsChunked => PayloadCheck::Unsigned,
        Mode::Sha256 | Mode::Sha256AwsChunked => {
            let mut h = [0u8; 32];
            h.copy_from_slice(sha_sent.as_ref());
            PayloadCheck::Sha256(h)
        }
        Mode::StreamingSigned | Mode::StreamingSignedTrailer => PayloadCheck::StreamingSigned {
            signing_key: signing_key().to_vec(),
            amz_date: AMZ_DATE.to_string(),
            scope: SCOPE.to_string(),
            seed_signature: SEED_SIGNATURE.to_string(),
            trailer: matches!(input.mode, Mode::StreamingSignedTrailer),
        },
        Mode::StreamingUnsignedTrailer => PayloadCheck::StreamingUnsignedTrailer,
    };
    // Frames.
    let mut cuts: Vec<usize> = if wire.is_empty() {
        Vec::new()
    } else {
        input
            .cuts
            .iter()
            .map(|c| usize::from(*c) % wire.len())
            .collect()
    };
    cuts.sort_unstable();
    cuts.dedup();
    let wire = Bytes::from(wire);
    let mut frames = Vec::new();
    let mut start = 0;
    for c in cuts.into_iter().chain([wire.len()]) {
        frames.push(Ok::<_, Infallible>(wire.slice(start..c)));
        start = c;
    }
    let body = axum::body::Body::from_stream(futures::stream::iter(frames));

    let Ok(mut reader) = RequestBody::new(body, payload, &headers) else {
        return;
    };
    runtime().block_on(async {
        let mut out = Vec::new();
        let result = loop {
            match reader.chunk().await {
                Ok(Some(data)) => {
                    assert!(!data.is_empty(), "an empty piece before the end");
                    out.extend_from_slice(&data);
                    if out.len() > READ_LIMIT {
                        return;
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        match &result {
            Ok(()) => {
                // The end is reported again, and nothing after it.
                assert!(matches!(reader.chunk().await, Ok(None)));
                assert!(!must_fail, "a body with a damaged hash verified");
                if let Some(d) = headers
                    .get("x-amz-decoded-content-length")
                    .filter(|_| input.mode.chunked())
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                {
                    assert_eq!(d, out.len() as u64, "decoded length not enforced");
                }
                if let Some(n) = headers
                    .get("content-length")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                {
                    assert_eq!(n, wire.len() as u64, "Content-Length not enforced");
                }
                if !input.mode.chunked() {
                    assert_eq!(out, wire.as_ref(), "a plain body changed");
                }
            }
            Err(e) => {
                // Errors are sticky.
                let again = reader.chunk().await;
                assert!(
                    matches!(&again, Err(e2) if e2.code() == e.code()),
                    "error not sticky: {e:?} then {again:?}"
                );
            }
        }
        if let Some(exp) = expected.filter(|_| lengths_exact) {
            if let Err(e) = &result {
                panic!("a well-formed {:?} body failed: {e:?}", input.mode);
            }
            assert_eq!(out, exp.data, "decoded data differs from the chunks sent");
            let got: Vec<(String, String)> = reader
                .trailers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        v.to_str().unwrap_or("?").to_string(),
                    )
                })
                .collect();
            let mut want = exp.trailers;
            let mut got = got;
            want.sort();
            got.sort();
            assert_eq!(got, want, "trailers differ from those sent");
        }
    });
}

/// Runs one input (what libFuzzer hands the `aws_chunked` binary).
pub fn run(data: &[u8]) {
    if let Some(input) = Input::parse(data) {
        check(input);
    }
}
