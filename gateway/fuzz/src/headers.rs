//! Request headers: `Range` and `x-amz-copy-source-range` against an object size, `partNumber`
//! ranges, the `If-*` conditions (GET and copy source), write conditions, `x-amz-copy-source`,
//! object metadata, `x-amz-tagging`, object-lock headers, checksum and `Content-MD5` headers
//! (`s3::headers`, `s3::get`, `s3::copy`, `s3::put`, `s3::checksum`).
//!
//! Checked beyond "no panic":
//! - a parsed range is non-empty and within the object;
//! - a copy-source range is non-empty and within the source;
//! - the metadata of a request, written on a response and read back, is the same metadata;
//! - tags from `x-amz-tagging` obey the tag rules; an accepted copy source names a valid bucket
//!   and key; an accepted retention date is after `now`;
//! - a decoded checksum has its algorithm's length.

use http::{HeaderMap, HeaderName, HeaderValue};
use lakegate::fuzzing::copy_source_range;
use lakegate::s3::checksum::{
    decode_checksum, decode_content_md5, requested_algorithm, requested_type,
};
use lakegate::s3::copy::parse_copy_source;
use lakegate::s3::get::{parse_range, part_range};
use lakegate::s3::headers::{
    bypass_governance, check_preconditions, lock_headers, object_meta, refuse_unimplemented,
    tagging_header, write_object_headers,
};
use lakegate::s3::put::write_conditions;
use lakegate::store::{ChecksumAlgorithm, ObjectData, ObjectMeta, PartSummary, VersionRecord};
use lakegate::store::{check_bucket_name, check_object_key as check_key};

/// Input, as text: a first line `size part last-modified now etag part-size...` (numbers in
/// decimal, missing ones 0), then `name: value` header lines (`\n` or `\r\n`).
#[derive(Debug)]
struct Input {
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    size: u64,
    part_sizes: Vec<u64>,
    part: u32,
    etag: String,
    last_modified: i64,
    now: i64,
}

impl Input {
    fn parse(data: &[u8]) -> Option<Self> {
        let mut lines = data
            .split(|&c| c == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let first = std::str::from_utf8(lines.next()?).ok()?;
        let mut f = first.split(' ');
        let mut num = || f.next().and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
        let size = num().unsigned_abs();
        let part = u32::try_from(num().unsigned_abs()).unwrap_or(u32::MAX);
        let last_modified = num();
        let now = num();
        let etag = f.next().unwrap_or_default().to_string();
        let part_sizes = f.filter_map(|x| x.parse::<u64>().ok()).collect();
        let headers = lines
            .filter_map(|l| {
                let colon = l.iter().position(|&c| c == b':')?;
                Some((
                    l[..colon].to_vec(),
                    l[colon + 1..].trim_ascii_start().to_vec(),
                ))
            })
            .collect();
        Some(Input {
            headers,
            size,
            part_sizes,
            part,
            etag,
            last_modified,
            now,
        })
    }
}

fn check(input: Input) {
    let mut h = HeaderMap::new();
    for (name, value) in &input.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            h.append(n, v);
        }
    }
    let size = input.size;

    // Ranges.
    if let Some(r) = h.get("range").and_then(|v| v.to_str().ok())
        && let Ok(Some(r)) = parse_range(r, size)
    {
        assert!(r.len > 0, "empty range {r:?} of {size}");
        assert!(
            r.start.checked_add(r.len).is_some_and(|end| end <= size),
            "range {r:?} outside an object of {size} bytes"
        );
    }
    if let Ok((first, len)) = copy_source_range(&h, size)
        && h.contains_key("x-amz-copy-source-range")
    {
        assert!(len > 0);
        assert!(first.checked_add(len).is_some_and(|end| end <= size));
    }

    // The object the conditions and part ranges are evaluated against.
    let parts: Vec<PartSummary> = input
        .part_sizes
        .iter()
        .take(64)
        .map(|s| PartSummary {
            size: s % (1 << 40),
            checksum: None,
        })
        .collect();
    let total: u64 = parts.iter().map(|p| p.size).sum();
    let meta = object_meta(&h);
    let version = VersionRecord {
        version_id: "null".into(),
        seq: 1,
        is_delete_marker: false,
        last_modified: input.last_modified,
        size: if parts.is_empty() { size } else { total },
        etag: input.etag.clone(),
        data: ObjectData::empty(),
        meta: meta.clone().unwrap_or_default(),
        checksum: None,
        parts,
        tags: Vec::new(),
        retention: None,
        legal_hold: false,
        owner: None,
        acl: None,
        encryption: None,
    };
    if let Ok(r) = part_range(&version, input.part) {
        assert!(
            r.start
                .checked_add(r.len)
                .is_some_and(|end| end <= version.size)
        );
    }
    let _ = check_preconditions(&h, "", &version);
    let _ = check_preconditions(&h, "x-amz-copy-source-", &version);
    let _ = write_conditions(&h);

    // Copy source.
    if let Ok(src) = parse_copy_source(&h) {
        assert!(check_bucket_name(&src.bucket).is_ok());
        assert!(check_key(&src.key).is_ok());
    }

    // Metadata: what a PUT stores is what a GET answers.
    if let Ok(meta) = meta {
        let mut out = HeaderMap::new();
        write_object_headers(&mut out, &version, false, false);
        let back = object_meta(&out).expect("written metadata headers do not read back");
        let expected = ObjectMeta {
            content_type: Some(
                meta.content_type
                    .clone()
                    .unwrap_or_else(|| "binary/octet-stream".into()),
            ),
            ..meta.clone()
        };
        assert_eq!(back, expected, "metadata changes from request to response");
    }

    // Tags, lock, checksums, refusals.
    if let Ok(tags) = tagging_header(&h) {
        assert!(tags.len() <= 10);
        assert!(tags.iter().all(|(k, _)| !k.is_empty()));
    }
    if let Ok((Some(r), _)) = lock_headers(&h, input.now) {
        assert!(r.retain_until > input.now);
    }
    let _ = bypass_governance(&h);
    let _ = refuse_unimplemented(&h);
    let _ = requested_algorithm(&h);
    let _ = requested_type(&h);
    for a in ChecksumAlgorithm::ALL {
        if let Some(v) = h.get(a.header()).and_then(|v| v.to_str().ok())
            && let Ok(bytes) = decode_checksum(a, v)
        {
            let want = match a {
                ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
                ChecksumAlgorithm::Crc64Nvme => 8,
                ChecksumAlgorithm::Sha1 => 20,
                ChecksumAlgorithm::Sha256 => 32,
            };
            assert_eq!(bytes.len(), want);
        }
    }
    if let Some(v) = h.get("content-md5").and_then(|v| v.to_str().ok()) {
        let _ = decode_content_md5(v);
    }
}

/// Runs one input (what libFuzzer hands the `headers` binary).
pub fn run(data: &[u8]) {
    if let Some(input) = Input::parse(data) {
        check(input);
    }
}
