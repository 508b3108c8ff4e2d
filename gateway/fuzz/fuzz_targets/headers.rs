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

#![no_main]

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
use lakegate::s3::router::{check_bucket_name, check_key};
use lakegate::store::{ChecksumAlgorithm, ObjectData, ObjectMeta, ObjectVersion, PartSummary};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Name {
    Range,
    CopySourceRange,
    CopySource,
    IfMatch,
    IfNoneMatch,
    IfModifiedSince,
    IfUnmodifiedSince,
    CopyIfMatch,
    CopyIfNoneMatch,
    CopyIfModifiedSince,
    CopyIfUnmodifiedSince,
    ContentType,
    ContentEncoding,
    Meta(String),
    StorageClass,
    Tagging,
    LockMode,
    LockUntil,
    LegalHold,
    Bypass,
    Acl,
    ChecksumAlgorithm,
    ChecksumType,
    Checksum(u8),
    ContentMd5,
    Trailer,
    Other(String),
}

impl Name {
    fn header(&self) -> String {
        match self {
            Name::Range => "range".into(),
            Name::CopySourceRange => "x-amz-copy-source-range".into(),
            Name::CopySource => "x-amz-copy-source".into(),
            Name::IfMatch => "if-match".into(),
            Name::IfNoneMatch => "if-none-match".into(),
            Name::IfModifiedSince => "if-modified-since".into(),
            Name::IfUnmodifiedSince => "if-unmodified-since".into(),
            Name::CopyIfMatch => "x-amz-copy-source-if-match".into(),
            Name::CopyIfNoneMatch => "x-amz-copy-source-if-none-match".into(),
            Name::CopyIfModifiedSince => "x-amz-copy-source-if-modified-since".into(),
            Name::CopyIfUnmodifiedSince => "x-amz-copy-source-if-unmodified-since".into(),
            Name::ContentType => "content-type".into(),
            Name::ContentEncoding => "content-encoding".into(),
            Name::Meta(n) => format!("x-amz-meta-{n}"),
            Name::StorageClass => "x-amz-storage-class".into(),
            Name::Tagging => "x-amz-tagging".into(),
            Name::LockMode => "x-amz-object-lock-mode".into(),
            Name::LockUntil => "x-amz-object-lock-retain-until-date".into(),
            Name::LegalHold => "x-amz-object-lock-legal-hold".into(),
            Name::Bypass => "x-amz-bypass-governance-retention".into(),
            Name::Acl => "x-amz-acl".into(),
            Name::ChecksumAlgorithm => "x-amz-checksum-algorithm".into(),
            Name::ChecksumType => "x-amz-checksum-type".into(),
            Name::Checksum(i) => ChecksumAlgorithm::ALL[usize::from(*i) % 5].header().into(),
            Name::ContentMd5 => "content-md5".into(),
            Name::Trailer => "x-amz-trailer".into(),
            Name::Other(n) => n.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    headers: Vec<(Name, Vec<u8>)>,
    size: u64,
    part_sizes: Vec<u64>,
    part: u32,
    etag: String,
    last_modified: i64,
    now: i64,
}

fn run(input: Input) {
    let mut h = HeaderMap::new();
    for (name, value) in &input.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.header().as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
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
    let version = ObjectVersion {
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

fuzz_target!(|input: Input| run(input));
