//! GetObjectAttributes: an object version's ETag, checksum, parts, storage class and size in
//! one request, without its body (`GET /bucket/key?attributes`).
//!
//! `x-amz-object-attributes` names what to answer (`ETag`, `Checksum`, `ObjectParts`,
//! `StorageClass`, `ObjectSize`); `x-amz-max-parts` (default 1000) and
//! `x-amz-part-number-marker` page through the parts of a multipart object. The version is
//! chosen and its preconditions checked as for GetObject.

use super::error::{S3Error, S3Result};
use super::get::resolve_version;
use super::headers;
use super::xml::{XmlWriter, http_date};
use super::{S3Api, S3Request, S3Response, set_header, xml_response};
use crate::store::Versioning;

/// The attributes a request may name.
const ATTRIBUTES: [&str; 5] = [
    "ETag",
    "Checksum",
    "ObjectParts",
    "StorageClass",
    "ObjectSize",
];

/// Most parts listed in one answer.
const MAX_PARTS: usize = 1000;

/// Reads a non-negative integer header.
fn number(req: &S3Request, name: &str) -> S3Result<Option<usize>> {
    match req.header(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| S3Error::invalid_argument(format!("Invalid {name}: {v:?}"))),
    }
}

pub async fn get_object_attributes(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let mut wanted = Vec::new();
    for name in req
        .headers
        .get_all("x-amz-object-attributes")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let Some(known) = ATTRIBUTES.iter().find(|a| a.eq_ignore_ascii_case(name)) else {
            return Err(S3Error::invalid_argument(
                "Invalid attribute name specified.",
            ));
        };
        wanted.push(*known);
    }
    if wanted.is_empty() {
        return Err(S3Error::invalid_argument(
            "The x-amz-object-attributes header specifying the attributes to be retrieved is \
             either missing or empty",
        ));
    }
    let max_parts = number(&req, "x-amz-max-parts")?
        .unwrap_or(MAX_PARTS)
        .min(MAX_PARTS);
    let marker = number(&req, "x-amz-part-number-marker")?.unwrap_or(0);
    let (bucket, v) = resolve_version(&state.store, &req)?;
    // An SSE-C object's attributes need its key, as its bytes do.
    state.encryption.for_read(&req.headers, &v)?;
    headers::check_preconditions(&req.headers, "", &v)?;

    let want = |a: &str| wanted.contains(&a);
    let mut w = XmlWriter::new("GetObjectAttributesResponse");
    if want("ETag") {
        w.elem("ETag", &v.etag);
    }
    if want("Checksum")
        && let Some(c) = &v.checksum
    {
        w.open("Checksum")
            .elem(&format!("Checksum{}", c.algorithm.as_str()), &c.value)
            .elem("ChecksumType", c.kind.as_str())
            .close("Checksum");
    }
    // Parts exist only for an object made by a multipart upload.
    if want("ObjectParts") && !v.parts.is_empty() {
        let listed: Vec<(usize, &crate::store::PartSummary)> = v
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| (i + 1, p))
            .skip_while(|(n, _)| *n <= marker)
            .take(max_parts)
            .collect();
        let truncated = listed.last().is_some_and(|(n, _)| *n < v.parts.len());
        w.open("ObjectParts")
            .elem("PartsCount", &v.parts.len().to_string())
            .elem("PartNumberMarker", &marker.to_string());
        if let Some((last, _)) = listed.last() {
            w.elem("NextPartNumberMarker", &last.to_string());
        }
        w.elem("MaxParts", &max_parts.to_string())
            .elem("IsTruncated", if truncated { "true" } else { "false" });
        let algorithm = v.checksum.as_ref().map(|c| c.algorithm);
        for (n, part) in listed {
            w.open("Part")
                .elem("PartNumber", &n.to_string())
                .elem("Size", &part.size.to_string());
            if let (Some(a), Some(value)) = (algorithm, &part.checksum) {
                w.elem(&format!("Checksum{}", a.as_str()), value);
            }
            w.close("Part");
        }
        w.close("ObjectParts");
    }
    if want("StorageClass") {
        w.elem(
            "StorageClass",
            v.meta.storage_class.as_deref().unwrap_or("STANDARD"),
        );
    }
    if want("ObjectSize") {
        w.elem("ObjectSize", &v.size.to_string());
    }
    let mut resp = xml_response(w.finish("GetObjectAttributesResponse"));
    let h = resp.headers_mut();
    set_header(h, "last-modified", &http_date(v.last_modified));
    if bucket.versioning != Versioning::Unversioned {
        set_header(h, "x-amz-version-id", &v.version_id);
    }
    Ok(resp)
}
