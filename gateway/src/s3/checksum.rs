//! Content hashes and S3 checksums: MD5 (ETag, Content-MD5), CRC32, CRC32C, CRC64NVME, SHA-1,
//! SHA-256, computed while a body streams; composite and full-object checksums of multipart
//! objects.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};

use super::error::{S3Error, S3ErrorCode, S3Result};
use crate::store::{ChecksumAlgorithm, ChecksumType};

enum Hasher {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64(crc64fast_nvme::Digest),
    Sha1(ring::digest::Context),
    Sha256(ring::digest::Context),
}

impl Hasher {
    fn new(a: ChecksumAlgorithm) -> Self {
        match a {
            ChecksumAlgorithm::Crc32 => Hasher::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Crc32c => Hasher::Crc32c(0),
            ChecksumAlgorithm::Crc64Nvme => Hasher::Crc64(crc64fast_nvme::Digest::new()),
            ChecksumAlgorithm::Sha1 => Hasher::Sha1(ring::digest::Context::new(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            )),
            ChecksumAlgorithm::Sha256 => {
                Hasher::Sha256(ring::digest::Context::new(&ring::digest::SHA256))
            }
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc32(h) => h.update(data),
            Hasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
            Hasher::Crc64(h) => h.write(data),
            Hasher::Sha1(h) | Hasher::Sha256(h) => h.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            Hasher::Crc32c(c) => c.to_be_bytes().to_vec(),
            Hasher::Crc64(h) => h.sum64().to_be_bytes().to_vec(),
            Hasher::Sha1(h) | Hasher::Sha256(h) => h.finish().as_ref().to_vec(),
        }
    }
}

/// Hashes a body as it streams: always MD5, plus the requested checksum algorithms.
pub struct Checksummer {
    md5: Md5,
    hashers: Vec<(ChecksumAlgorithm, Hasher)>,
}

/// The digests of a finished body.
#[derive(Debug, Clone)]
pub struct Digests {
    pub md5: [u8; 16],
    /// Base64 checksum per requested algorithm.
    pub checksums: Vec<(ChecksumAlgorithm, String)>,
}

impl Digests {
    pub fn etag(&self) -> String {
        hex::encode(self.md5)
    }

    pub fn get(&self, a: ChecksumAlgorithm) -> Option<&str> {
        self.checksums
            .iter()
            .find(|(x, _)| *x == a)
            .map(|(_, v)| v.as_str())
    }
}

impl Checksummer {
    pub fn new(algorithms: &[ChecksumAlgorithm]) -> Self {
        let mut hashers: Vec<(ChecksumAlgorithm, Hasher)> = Vec::new();
        for &a in algorithms {
            if !hashers.iter().any(|(x, _)| *x == a) {
                hashers.push((a, Hasher::new(a)));
            }
        }
        Checksummer {
            md5: Md5::new(),
            hashers,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        for (_, h) in &mut self.hashers {
            h.update(data);
        }
    }

    pub fn finish(self) -> Digests {
        Digests {
            md5: self.md5.finalize().into(),
            checksums: self
                .hashers
                .into_iter()
                .map(|(a, h)| (a, B64.encode(h.finish())))
                .collect(),
        }
    }
}

/// Decodes a base64 checksum value and checks its length for the algorithm.
pub fn decode_checksum(a: ChecksumAlgorithm, value: &str) -> S3Result<Vec<u8>> {
    let want = match a {
        ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
        ChecksumAlgorithm::Crc64Nvme => 8,
        ChecksumAlgorithm::Sha1 => 20,
        ChecksumAlgorithm::Sha256 => 32,
    };
    match B64.decode(value.trim()) {
        Ok(b) if b.len() == want => Ok(b),
        _ => Err(S3Error::invalid_request(format!(
            "Value for {} header is invalid.",
            a.header()
        ))),
    }
}

/// Checks a client-supplied checksum against the computed one.
pub fn verify(a: ChecksumAlgorithm, supplied: &str, computed: &str) -> S3Result<()> {
    let s = decode_checksum(a, supplied)?;
    let c = B64.decode(computed).unwrap_or_default();
    if s != c {
        return Err(S3Error::with_message(
            S3ErrorCode::BadDigest,
            format!(
                "The {} you specified did not match the calculated checksum.",
                a.as_str()
            ),
        ));
    }
    Ok(())
}

/// Decodes and checks `Content-MD5` (InvalidDigest when it is not a base64 MD5).
pub fn decode_content_md5(value: &str) -> S3Result<[u8; 16]> {
    B64.decode(value.trim())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            S3Error::new(S3ErrorCode::InvalidDigest)
                .with_message_text("The Content-MD5 you specified is not valid.")
        })
}

trait WithMessage {
    fn with_message_text(self, m: &str) -> Self;
}

impl WithMessage for S3Error {
    fn with_message_text(mut self, m: &str) -> Self {
        self.message = m.to_string();
        self
    }
}

/// The ETag of a multipart object: MD5 of the concatenated binary part MD5s, `-N`.
pub fn multipart_etag(part_etags: &[&str]) -> String {
    let mut md5 = Md5::new();
    for e in part_etags {
        if let Ok(b) = hex::decode(e) {
            md5.update(&b);
        }
    }
    format!("{}-{}", hex::encode(md5.finalize()), part_etags.len())
}

/// A composite checksum: the checksum of the concatenated binary part checksums, `-N`.
pub fn composite(a: ChecksumAlgorithm, part_checksums: &[&str]) -> S3Result<String> {
    let mut h = Hasher::new(a);
    for c in part_checksums {
        h.update(&decode_checksum(a, c)?);
    }
    Ok(format!(
        "{}-{}",
        B64.encode(h.finish()),
        part_checksums.len()
    ))
}

/// The full-object CRC of a multipart object, combined from its parts' CRCs and sizes.
pub fn full_object(a: ChecksumAlgorithm, parts: &[(&str, u64)]) -> S3Result<String> {
    let mut acc: Option<u64> = None;
    for (c, len) in parts {
        let raw = decode_checksum(a, c)?;
        let crc = raw.iter().fold(0u64, |x, b| (x << 8) | u64::from(*b));
        acc = Some(match acc {
            None => crc,
            Some(prev) => match a {
                ChecksumAlgorithm::Crc32 => crc_combine(prev, crc, *len, 0xEDB8_8320, 32),
                ChecksumAlgorithm::Crc32c => u64::from(crc32c::crc32c_combine(
                    prev as u32,
                    crc as u32,
                    *len as usize,
                )),
                ChecksumAlgorithm::Crc64Nvme => {
                    crc_combine(prev, crc, *len, 0x9A6C_9329_AC4B_C9B5, 64)
                }
                _ => {
                    return Err(S3Error::invalid_request(format!(
                        "The FULL_OBJECT checksum type is not supported for {}",
                        a.as_str()
                    )));
                }
            },
        });
    }
    let v = acc.unwrap_or(0);
    Ok(match a {
        ChecksumAlgorithm::Crc64Nvme => B64.encode(v.to_be_bytes()),
        _ => B64.encode((v as u32).to_be_bytes()),
    })
}

/// Combines `crc1` (of A) and `crc2` (of B, `len2` bytes) into the CRC of A‖B, for reflected
/// CRCs with all-ones pre/post conditioning (zlib's `crc32_combine`, generalised to 64 bits).
fn crc_combine(crc1: u64, crc2: u64, len2: u64, poly: u64, width: u32) -> u64 {
    fn times(mat: &[u64], mut vec: u64) -> u64 {
        let mut sum = 0;
        let mut i = 0;
        while vec != 0 {
            if vec & 1 != 0 {
                sum ^= mat[i];
            }
            vec >>= 1;
            i += 1;
        }
        sum
    }
    fn square(sq: &mut [u64], mat: &[u64]) {
        for n in 0..mat.len() {
            sq[n] = times(mat, mat[n]);
        }
    }
    if len2 == 0 {
        return crc1;
    }
    let w = width as usize;
    let mut even = vec![0u64; w];
    let mut odd = vec![0u64; w];
    // Operator for one zero bit.
    odd[0] = poly;
    let mut row = 1u64;
    for item in odd.iter_mut().skip(1) {
        *item = row;
        row <<= 1;
    }
    square(&mut even, &odd); // two zero bits
    square(&mut odd, &even); // four zero bits
    let mut crc1 = crc1;
    let mut len2 = len2;
    loop {
        square(&mut even, &odd);
        if len2 & 1 != 0 {
            crc1 = times(&even, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
        square(&mut odd, &even);
        if len2 & 1 != 0 {
            crc1 = times(&odd, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
    }
    crc1 ^ crc2
}

/// The checksum algorithm a request declares: `x-amz-checksum-algorithm`,
/// `x-amz-sdk-checksum-algorithm`, an `x-amz-checksum-*` header, or `x-amz-trailer`.
pub fn requested_algorithm(headers: &http::HeaderMap) -> S3Result<Option<ChecksumAlgorithm>> {
    for name in ["x-amz-checksum-algorithm", "x-amz-sdk-checksum-algorithm"] {
        if let Some(v) = headers.get(name) {
            let s = v.to_str().unwrap_or("");
            return ChecksumAlgorithm::parse(s).map(Some).ok_or_else(|| {
                S3Error::invalid_request(format!("Checksum algorithm '{s}' is not supported"))
            });
        }
    }
    for a in ChecksumAlgorithm::ALL {
        if headers.contains_key(a.header()) {
            return Ok(Some(a));
        }
    }
    if let Some(t) = headers.get("x-amz-trailer").and_then(|v| v.to_str().ok()) {
        for a in ChecksumAlgorithm::ALL {
            if t.split(',')
                .any(|n| n.trim().eq_ignore_ascii_case(a.header()))
            {
                return Ok(Some(a));
            }
        }
    }
    Ok(None)
}

/// `x-amz-checksum-type` on CreateMultipartUpload.
pub fn requested_type(headers: &http::HeaderMap) -> S3Result<Option<ChecksumType>> {
    match headers
        .get("x-amz-checksum-type")
        .map(|v| v.to_str().unwrap_or(""))
    {
        None => Ok(None),
        Some("FULL_OBJECT") => Ok(Some(ChecksumType::FullObject)),
        Some("COMPOSITE") => Ok(Some(ChecksumType::Composite)),
        Some(other) => Err(S3Error::invalid_request(format!(
            "Invalid x-amz-checksum-type '{other}'"
        ))),
    }
}

/// Verifies `Content-MD5`, if sent, against a fully read body.
pub fn verify_content_md5(headers: &http::HeaderMap, body: &[u8]) -> S3Result<()> {
    if let Some(v) = headers.get("content-md5") {
        let want = decode_content_md5(v.to_str().unwrap_or(""))?;
        let got: [u8; 16] = Md5::digest(body).into();
        if want != got {
            return Err(S3Error::new(S3ErrorCode::BadDigest));
        }
    }
    Ok(())
}

/// Verifies `Content-MD5` and any `x-amz-checksum-*` header against a small, fully read body
/// (XML request documents).
pub fn verify_small_body(headers: &http::HeaderMap, body: &[u8]) -> S3Result<()> {
    verify_content_md5(headers, body)?;
    for a in ChecksumAlgorithm::ALL {
        if let Some(v) = headers.get(a.header()) {
            let mut c = Checksummer::new(&[a]);
            c.update(body);
            let d = c.finish();
            verify(a, v.to_str().unwrap_or(""), d.get(a).unwrap_or_default())?;
        }
    }
    Ok(())
}

/// Reads a request document (at most 1 MiB... or `limit`) and verifies its integrity headers.
pub async fn read_document(req: &mut super::S3Request, limit: usize) -> S3Result<bytes::Bytes> {
    let body = req.body.read_to_end(limit).await?;
    verify_small_body(&req.headers, &body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc_of(a: ChecksumAlgorithm, data: &[u8]) -> String {
        let mut c = Checksummer::new(&[a]);
        c.update(data);
        c.finish().checksums[0].1.clone()
    }

    #[test]
    fn known_values() {
        let mut c = Checksummer::new(&[ChecksumAlgorithm::Crc32, ChecksumAlgorithm::Sha256]);
        c.update(b"hello ");
        c.update(b"world");
        let d = c.finish();
        assert_eq!(d.etag(), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(d.get(ChecksumAlgorithm::Crc32), Some("DUoRhQ=="));
        assert_eq!(
            d.get(ChecksumAlgorithm::Sha256),
            Some("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")
        );
        // CRC32C("123456789") = 0xE3069283, CRC64NVME("123456789") = 0xAE8B14860A799888.
        assert_eq!(
            crc_of(ChecksumAlgorithm::Crc32c, b"123456789"),
            B64.encode(0xE306_9283u32.to_be_bytes())
        );
        assert_eq!(
            crc_of(ChecksumAlgorithm::Crc64Nvme, b"123456789"),
            B64.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes())
        );
    }

    #[test]
    fn full_object_combines_parts() {
        let a = b"the quick brown fox ";
        let b = b"jumps over the lazy dog";
        let whole: Vec<u8> = [a.as_slice(), b.as_slice()].concat();
        for alg in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            let pa = crc_of(alg, a);
            let pb = crc_of(alg, b);
            let combined =
                full_object(alg, &[(&pa, a.len() as u64), (&pb, b.len() as u64)]).unwrap();
            assert_eq!(combined, crc_of(alg, &whole), "{alg:?}");
        }
    }

    #[test]
    fn multipart_etag_and_composite() {
        let e1 = hex::encode(Md5::digest(b"a"));
        let e2 = hex::encode(Md5::digest(b"b"));
        let etag = multipart_etag(&[&e1, &e2]);
        assert!(etag.ends_with("-2"));
        let c1 = crc_of(ChecksumAlgorithm::Sha256, b"a");
        let comp = composite(ChecksumAlgorithm::Sha256, &[&c1]).unwrap();
        assert!(comp.ends_with("-1"));
        assert!(verify(ChecksumAlgorithm::Crc32, "AAAAAA==", "DUoRhQ==").is_err());
        assert!(decode_content_md5("not base64!").is_err());
    }
}
