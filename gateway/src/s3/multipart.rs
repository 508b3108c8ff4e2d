//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload,
//! AbortMultipartUpload, ListParts, ListMultipartUploads.
//!
//! Parts are always stored as blobs (never inline) so that completing an upload is a pure
//! metadata operation: the object's data is the concatenation of its parts' blob segments.

use futures::TryStreamExt;
use http::StatusCode;

use super::checksum::{self, Checksummer};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::{self, XmlWriter};
use super::{
    S3Api, S3Request, S3Response, copy, empty_response, encryption, get, headers, put, set_header,
    xml_response,
};
use crate::clock::{Fraction, iso8601};
use crate::store::{
    Checksum, ChecksumAlgorithm, ChecksumType, CompletePart, Completion, NewVersion, ObjectData,
    PartInfo, PartSummary, StoreError, UploadInfo, VersionRef, Versioning,
};

/// Smallest part except the last, as on AWS.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

fn upload_id(req: &S3Request) -> S3Result<&str> {
    req.query
        .get("uploadId")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchUpload))
}

pub async fn create(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let meta = headers::object_meta(&req.headers)?;
    let tags = headers::tagging_header(&req.headers)?;
    let (retention, legal_hold) = headers::lock_headers(&req.headers, req.now)?;
    let algorithm = checksum::requested_algorithm(&req.headers)?;
    let kind = match (algorithm, checksum::requested_type(&req.headers)?) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(S3Error::invalid_request(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            ));
        }
        (Some(a), Some(ChecksumType::FullObject)) if !a.supports_full_object() => {
            return Err(S3Error::invalid_request(format!(
                "The FULL_OBJECT checksum type cannot be used with the {} checksum algorithm.",
                a.as_str()
            )));
        }
        (Some(a), Some(ChecksumType::Composite)) if !a.supports_composite() => {
            return Err(S3Error::invalid_request(format!(
                "The COMPOSITE checksum type cannot be used with the {} checksum algorithm.",
                a.as_str()
            )));
        }
        (Some(_), Some(k)) => Some(k),
        (Some(a), None) if a.supports_composite() => Some(ChecksumType::Composite),
        (Some(_), None) => Some(ChecksumType::FullObject),
    };
    let (owner, acl) =
        super::access_control::object_write_access(state, &req.bucket, &req.caller, &req.headers)?;
    let sealing = state
        .encryption
        .begin(&state.store, &req.bucket, &req.headers)?;
    let info = UploadInfo {
        upload_id: String::new(),
        key: req.key.clone(),
        initiated: req.now,
        meta,
        tags,
        retention,
        legal_hold,
        checksum_algorithm: algorithm,
        checksum_type: kind,
        owner,
        acl,
        encryption: sealing.map(|s| s.record),
    };
    let encryption = info.encryption.clone();
    let id = state
        .store
        .create_upload(&req.bucket, info, req.now)
        .await?;
    let mut w = XmlWriter::new("InitiateMultipartUploadResult");
    w.elem("Bucket", &req.bucket)
        .elem("Key", &req.key)
        .elem("UploadId", &id);
    let mut resp = xml_response(w.finish("InitiateMultipartUploadResult"));
    if let (Some(a), Some(k)) = (algorithm, kind) {
        set_header(resp.headers_mut(), "x-amz-checksum-algorithm", a.as_str());
        set_header(resp.headers_mut(), "x-amz-checksum-type", k.as_str());
    }
    encryption::response_headers(resp.headers_mut(), encryption.as_ref());
    Ok(resp)
}

fn part_number(req: &S3Request) -> S3Result<u32> {
    get::part_number(&req.query)?.ok_or_else(|| {
        S3Error::invalid_argument("Part number must be an integer between 1 and 10000, inclusive")
    })
}

fn part_checksum_header(out: &mut http::HeaderMap, checksums: &[(ChecksumAlgorithm, String)]) {
    for (a, v) in checksums {
        set_header(out, a.header(), v);
    }
}

pub async fn upload_part(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let number = part_number(&req)?;
    let id = upload_id(&req)?.to_string();
    let store = &state.store;
    let upload = store.get_upload(&req.bucket, &req.key, &id)?;
    if let (Some(declared), Some(want)) = (
        checksum::requested_algorithm(&req.headers)?,
        upload.checksum_algorithm,
    ) && declared != want
    {
        return Err(S3Error::invalid_request(format!(
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
            want.as_str().to_lowercase(),
            declared.as_str().to_lowercase()
        )));
    }
    let sealing = state
        .encryption
        .for_upload(&req.headers, upload.encryption.as_ref())?;
    let extra: Vec<ChecksumAlgorithm> = upload.checksum_algorithm.into_iter().collect();
    let ingested = put::ingest(
        store,
        &mut req.body,
        &req.headers,
        &extra,
        sealing.as_ref().map(|s| s.stream_key(number)),
    )
    .await?;
    let data = store.blob_backed(ingested.data).await?;
    let etag = match &sealing {
        Some(s) => s.etag(&ingested.digests.etag()),
        None => ingested.digests.etag(),
    };
    let checksums: Vec<(ChecksumAlgorithm, String)> = upload
        .checksum_algorithm
        .and_then(|a| ingested.digests.get(a).map(|v| (a, v.to_string())))
        .into_iter()
        .collect();
    let part = PartInfo {
        number,
        etag: etag.clone(),
        size: ingested.size,
        last_modified: req.now,
        data: data.clone(),
        checksums: checksums.clone(),
    };
    if let Err(e) = store.put_part(&req.bucket, &req.key, &id, part).await {
        store.discard(&data).await;
        return Err(e.into());
    }
    let mut resp = empty_response(StatusCode::OK);
    set_header(resp.headers_mut(), "etag", &format!("\"{etag}\""));
    part_checksum_header(resp.headers_mut(), &checksums);
    encryption::response_headers(resp.headers_mut(), upload.encryption.as_ref());
    Ok(resp)
}

/// `x-amz-copy-source-range: bytes=first-last` against a source of `size` bytes.
pub(crate) fn copy_range(h: &http::HeaderMap, size: u64) -> S3Result<(u64, u64)> {
    let Some(raw) = h.get("x-amz-copy-source-range") else {
        return Ok((0, size));
    };
    let bad = || {
        S3Error::invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        )
    };
    let spec = raw
        .to_str()
        .ok()
        .and_then(|s| s.trim().strip_prefix("bytes="))
        .ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let (first, last) = (
        a.trim().parse::<u64>().map_err(|_| bad())?,
        b.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if first > last {
        return Err(bad());
    }
    if last >= size {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRange,
            "Range specified is not valid for source object of size",
        ));
    }
    Ok((first, last - first + 1))
}

pub async fn upload_part_copy(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let number = part_number(&req)?;
    let id = upload_id(&req)?.to_string();
    let store = &state.store;
    let upload = store.get_upload(&req.bucket, &req.key, &id)?;
    let (_, source) = copy::resolve_source(state, &req)?;
    let (start, len) = copy_range(&req.headers, source.size)?;
    if len > put::MAX_PUT_SIZE {
        return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
    }
    let source_key = state.encryption.for_copy_source(&req.headers, &source)?;
    let sealing = state
        .encryption
        .for_upload(&req.headers, upload.encryption.as_ref())?;
    if source_key.is_some() || sealing.is_some() {
        // Encrypted on either side: the bytes are decrypted and (re-)encrypted, not shared.
        let plaintext = encryption::version_stream(store, &source, source_key.as_ref(), start, len);
        let algorithms: Vec<ChecksumAlgorithm> = upload.checksum_algorithm.into_iter().collect();
        let none = put::Declared::of(&http::HeaderMap::new())?;
        let (staged, digests, size) = put::ingest_chunks(
            store,
            plaintext,
            &none,
            &algorithms,
            put::SizeLimit::PUT,
            sealing.as_ref().map(|s| s.stream_key(number)),
        )
        .await?;
        let ingested =
            put::verify_ingested(staged, digests, size, &http::HeaderMap::new(), &none, None)
                .await?;
        let data = store.blob_backed(ingested.data).await?;
        let etag = match &sealing {
            Some(s) => s.etag(&ingested.digests.etag()),
            None => ingested.digests.etag(),
        };
        let checksums = ingested.digests.checksums.clone();
        let part = PartInfo {
            number,
            etag: etag.clone(),
            size,
            last_modified: req.now,
            data: data.clone(),
            checksums: checksums.clone(),
        };
        if let Err(e) = store.put_part(&req.bucket, &req.key, &id, part).await {
            store.discard(&data).await;
            return Err(e.into());
        }
        let mut resp = copy_part_result(&etag, req.now, &checksums, &source.version_id);
        encryption::response_headers(resp.headers_mut(), upload.encryption.as_ref());
        return Ok(resp);
    }
    // The part's ETag is the MD5 of the copied bytes, so read them once; the bytes themselves
    // are shared with the source, not copied.
    let algorithms: Vec<ChecksumAlgorithm> = upload.checksum_algorithm.into_iter().collect();
    let mut hasher = Checksummer::new(&algorithms);
    let mut s = std::pin::pin!(store.data_stream(&source.data, start, len));
    while let Some(chunk) = s.try_next().await? {
        hasher.update(&chunk);
    }
    let digests = hasher.finish();
    let data = store.blob_backed(source.data.slice(start, len)).await?;
    let fresh = matches!(source.data, ObjectData::Inline(_));
    let etag = digests.etag();
    let checksums = digests.checksums.clone();
    let part = PartInfo {
        number,
        etag: etag.clone(),
        size: len,
        last_modified: req.now,
        data: data.clone(),
        checksums: checksums.clone(),
    };
    if let Err(e) = store.put_part(&req.bucket, &req.key, &id, part).await {
        if fresh {
            store.discard(&data).await;
        }
        return Err(e.into());
    }
    Ok(copy_part_result(
        &etag,
        req.now,
        &checksums,
        &source.version_id,
    ))
}

/// UploadPartCopy's answer.
fn copy_part_result(
    etag: &str,
    now: crate::store::Millis,
    checksums: &[(ChecksumAlgorithm, String)],
    source_version: &str,
) -> S3Response {
    let mut w = XmlWriter::new("CopyPartResult");
    w.elem("ETag", &format!("\"{etag}\""))
        .elem("LastModified", &iso8601(now, Fraction::Millis));
    for (a, v) in checksums {
        w.elem(&format!("Checksum{}", a.as_str()), v);
    }
    let mut resp = xml_response(w.finish("CopyPartResult"));
    if source_version != "null" {
        set_header(
            resp.headers_mut(),
            "x-amz-copy-source-version-id",
            source_version,
        );
    }
    resp
}

fn xml_checksum(p: &xml::CompletePartXml, a: ChecksumAlgorithm) -> Option<&str> {
    match a {
        ChecksumAlgorithm::Crc32 => p.checksum_crc32.as_deref(),
        ChecksumAlgorithm::Crc32c => p.checksum_crc32c.as_deref(),
        ChecksumAlgorithm::Crc64Nvme => p.checksum_crc64nvme.as_deref(),
        ChecksumAlgorithm::Sha1 => p.checksum_sha1.as_deref(),
        ChecksumAlgorithm::Sha256 => p.checksum_sha256.as_deref(),
    }
}

pub async fn complete(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let id = upload_id(&req)?.to_string();
    let cond = put::write_conditions(&req.headers)?;
    // The x-amz-checksum-* headers of a Complete describe the object, not this document: only
    // Content-MD5 is checked against the body here.
    let body = req.body.read_to_end(4 * 1024 * 1024).await?;
    checksum::verify_content_md5(&req.headers, &body)?;
    let doc: xml::CompleteMultipartUploadXml = xml::parse(&body)?;
    if doc.parts.is_empty() {
        return Err(S3Error::invalid_request(
            "You must specify at least one part",
        ));
    }
    let store = &state.store;
    let listed = match store.list_parts(&req.bucket, &req.key, &id, 0, 10_001) {
        Ok(l) => l,
        // A retried Complete whose first attempt succeeded (the answer was lost) gets the same
        // answer, as on AWS: the object it made is still current.
        Err(StoreError::NoSuchUpload) => {
            return completed_again(state, &req, &doc)
                .ok_or_else(|| StoreError::NoSuchUpload.into());
        }
        Err(e) => return Err(e.into()),
    };
    let upload = listed.upload;
    // An SSE-C upload is completed with its key again.
    state
        .encryption
        .for_upload(&req.headers, upload.encryption.as_ref())?;
    let mut chosen: Vec<&PartInfo> = Vec::with_capacity(doc.parts.len());
    let mut last = 0u32;
    for p in &doc.parts {
        let n: u32 = p
            .part_number
            .trim()
            .parse()
            .map_err(|_| S3Error::new(S3ErrorCode::MalformedXML))?;
        if n <= last {
            return Err(S3Error::new(S3ErrorCode::InvalidPartOrder));
        }
        last = n;
        let want = p.etag.as_deref().unwrap_or("").trim().trim_matches('"');
        let Some(info) = listed
            .parts
            .iter()
            .find(|x| x.number == n && x.etag == want)
        else {
            return Err(
                S3Error::new(S3ErrorCode::InvalidPart).with_detail("PartNumber", n.to_string())
            );
        };
        if let Some(a) = upload.checksum_algorithm
            && let Some(given) = xml_checksum(p, a)
            && info
                .checksums
                .iter()
                .find(|(x, _)| *x == a)
                .map(|(_, v)| v.as_str())
                != Some(given.trim())
        {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidPart,
                format!("The checksum of part {n} does not match the uploaded part."),
            ));
        }
        chosen.push(info);
    }
    for p in &chosen[..chosen.len() - 1] {
        if p.size < MIN_PART_SIZE {
            return Err(S3Error::new(S3ErrorCode::EntityTooSmall)
                .with_detail("ProposedSize", p.size.to_string())
                .with_detail("MinSizeAllowed", MIN_PART_SIZE.to_string())
                .with_detail("PartNumber", p.number.to_string()));
        }
    }
    let etags: Vec<&str> = chosen.iter().map(|p| p.etag.as_str()).collect();
    let etag = checksum::multipart_etag(&etags);
    let checksum = match (upload.checksum_algorithm, upload.checksum_type) {
        (Some(a), Some(kind)) => {
            let values: Vec<&str> = chosen
                .iter()
                .map(|p| {
                    p.checksums
                        .iter()
                        .find(|(x, _)| *x == a)
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("")
                })
                .collect();
            let value = match kind {
                ChecksumType::Composite => checksum::composite(a, &values)?,
                ChecksumType::FullObject => {
                    let with_len: Vec<(&str, u64)> = values
                        .iter()
                        .copied()
                        .zip(chosen.iter().map(|p| p.size))
                        .collect();
                    checksum::full_object(a, &with_len)?
                }
            };
            if let Some(given) = req.header(a.header()) {
                let given = given.trim();
                let matches = match kind {
                    ChecksumType::Composite => {
                        given == value || Some(given) == value.split('-').next()
                    }
                    ChecksumType::FullObject => given == value,
                };
                if !matches {
                    return Err(S3Error::with_message(
                        S3ErrorCode::BadDigest,
                        format!(
                            "The {} you specified did not match the calculated checksum.",
                            a.as_str()
                        ),
                    ));
                }
            }
            Some(Checksum {
                algorithm: a,
                value,
                kind,
            })
        }
        _ => None,
    };
    let mut segments = Vec::new();
    for p in &chosen {
        match &p.data {
            ObjectData::Segments(s) => segments.extend_from_slice(s),
            ObjectData::Inline(_) => return Err(S3Error::internal("multipart part stored inline")),
        }
    }
    let size = chosen.iter().map(|p| p.size).sum();
    let mut new = NewVersion {
        data: ObjectData::Segments(segments),
        size,
        etag: etag.clone(),
        meta: upload.meta.clone(),
        checksum: checksum.clone(),
        parts: chosen
            .iter()
            .map(|p| PartSummary {
                size: p.size,
                checksum: p.checksums.first().map(|(_, v)| v.clone()),
            })
            .collect(),
        tags: upload.tags.clone(),
        retention: upload.retention,
        legal_hold: upload.legal_hold,
        owner: upload.owner.clone(),
        acl: upload.acl.clone(),
        encryption: upload.encryption.clone().map(|mut e| {
            e.part_numbers = chosen.iter().map(|p| p.number).collect();
            e
        }),
    };
    let bucket = store.bucket(&req.bucket)?;
    state
        .policies
        .apply_retention(&bucket, &req.key, &mut new, req.now)
        .await;
    let expected = chosen
        .iter()
        .map(|p| CompletePart {
            number: p.number,
            etag: p.etag.clone(),
        })
        .collect();
    let outcome = store
        .complete_upload(
            &req.bucket,
            &req.key,
            &id,
            Completion {
                expected,
                version: new,
                conditions: cond,
            },
            req.now,
        )
        .await?;
    let mut resp = completed(
        &req,
        &outcome.etag,
        checksum.as_ref(),
        outcome.version_header(),
    );
    encryption::response_headers(resp.headers_mut(), upload.encryption.as_ref());
    let facts = crate::lifecycle::expiry::ObjectFacts {
        key: &req.key,
        last_modified: outcome.last_modified,
        size,
        tags: &upload.tags,
    };
    state.set_expiration(&req.bucket, &facts, resp.headers_mut());
    Ok(resp)
}

/// The answer of a successful CompleteMultipartUpload.
fn completed(
    req: &S3Request,
    etag: &str,
    checksum: Option<&Checksum>,
    version_id: Option<&str>,
) -> S3Response {
    let mut w = XmlWriter::new("CompleteMultipartUploadResult");
    w.elem("Location", &format!("/{}/{}", req.bucket, req.key))
        .elem("Bucket", &req.bucket)
        .elem("Key", &req.key)
        .elem("ETag", &format!("\"{etag}\""));
    if let Some(c) = checksum {
        w.elem(&format!("Checksum{}", c.algorithm.as_str()), &c.value)
            .elem("ChecksumType", c.kind.as_str());
    }
    let mut resp = xml_response(w.finish("CompleteMultipartUploadResult"));
    if let Some(id) = version_id {
        set_header(resp.headers_mut(), "x-amz-version-id", id);
    }
    resp
}

/// The answer to a Complete of an upload that is gone, if the current object under the key is
/// what this very request completed: a multipart object of the same parts (its ETag is the
/// MD5 of the listed parts' ETags).
fn completed_again(
    state: &S3Api,
    req: &S3Request,
    doc: &xml::CompleteMultipartUploadXml,
) -> Option<S3Response> {
    let bucket = state.store.bucket(&req.bucket).ok()?;
    let v = state
        .store
        .get_version(&req.bucket, &req.key, VersionRef::Current)
        .ok()?;
    let etags: Vec<&str> = doc
        .parts
        .iter()
        .map(|p| p.etag.as_deref().unwrap_or("").trim().trim_matches('"'))
        .collect();
    if v.is_delete_marker
        || v.parts.len() != doc.parts.len()
        || v.etag != checksum::multipart_etag(&etags)
    {
        return None;
    }
    let version = (bucket.versioning != Versioning::Unversioned && v.version_id != "null")
        .then_some(v.version_id.as_str());
    Some(completed(req, &v.etag, v.checksum.as_ref(), version))
}

pub async fn abort(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let id = upload_id(&req)?.to_string();
    state.store.abort_upload(&req.bucket, &req.key, &id).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

fn parse_max(q: &super::router::Query, name: &str) -> S3Result<usize> {
    match q.get(name) {
        None => Ok(1000),
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n.min(1000) as usize)
            .ok_or_else(|| {
                S3Error::invalid_argument(format!(
                    "Argument {name} must be an integer between 0 and 2147483647"
                ))
            }),
    }
}

pub async fn list_parts(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let id = upload_id(&req)?.to_string();
    let max = parse_max(&req.query, "max-parts")?;
    let marker: u32 = match req.query.get("part-number-marker") {
        None => 0,
        Some(s) => s.trim().parse().map_err(|_| {
            S3Error::invalid_argument("Argument part-number-marker must be an integer")
        })?,
    };
    let listed = state
        .store
        .list_parts(&req.bucket, &req.key, &id, marker, max + 1)?;
    let truncated = listed.parts.len() > max;
    let parts = &listed.parts[..listed.parts.len().min(max)];
    let mut w = XmlWriter::new("ListPartsResult");
    w.elem("Bucket", &req.bucket)
        .elem("Key", &req.key)
        .elem("UploadId", &id);
    state.write_owner(&mut w, "Initiator", listed.upload.owner.as_deref());
    state.write_owner(&mut w, "Owner", listed.upload.owner.as_deref());
    w.elem(
        "StorageClass",
        listed
            .upload
            .meta
            .storage_class
            .as_deref()
            .unwrap_or("STANDARD"),
    )
    .elem("PartNumberMarker", &marker.to_string());
    if let Some(last) = parts.last() {
        w.elem("NextPartNumberMarker", &last.number.to_string());
    }
    w.elem("MaxParts", &max.to_string())
        .elem("IsTruncated", if truncated { "true" } else { "false" });
    if let Some(a) = listed.upload.checksum_algorithm {
        w.elem("ChecksumAlgorithm", a.as_str());
    }
    if let Some(k) = listed.upload.checksum_type {
        w.elem("ChecksumType", k.as_str());
    }
    for p in parts {
        w.open("Part")
            .elem("PartNumber", &p.number.to_string())
            .elem("LastModified", &iso8601(p.last_modified, Fraction::Millis))
            .elem("ETag", &format!("\"{}\"", p.etag))
            .elem("Size", &p.size.to_string());
        for (a, v) in &p.checksums {
            w.elem(&format!("Checksum{}", a.as_str()), v);
        }
        w.close("Part");
    }
    Ok(xml_response(w.finish("ListPartsResult")))
}

pub async fn list_uploads(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    use crate::store::listing::{Cursor, Entry, Listing};
    let q = &req.query;
    let max = parse_max(q, "max-uploads")?;
    let prefix = q.get("prefix").unwrap_or("");
    let delimiter = q.get("delimiter").filter(|d| !d.is_empty());
    let key_marker = q.get("key-marker").filter(|k| !k.is_empty());
    let upload_marker = q.get("upload-id-marker").filter(|k| !k.is_empty());
    let url = super::list::parse_encoding_type(q)?;
    let enc = |s: &str| {
        if url {
            super::list::url_encode(s)
        } else {
            s.to_string()
        }
    };
    let listing = Listing::new(prefix, delimiter, max);
    // After the key marker: after the given upload of it, or after all of its uploads.
    let start = match (key_marker, upload_marker) {
        (Some(k), Some(u)) => Cursor::After(k.to_string(), u.to_string()),
        (Some(k), None) => listing.start_after(k),
        (None, _) => Cursor::From(Vec::new()),
    };
    let page = state.store.list_uploads(&req.bucket, &listing, start)?;
    let mut w = XmlWriter::new("ListMultipartUploadsResult");
    w.elem("Bucket", &req.bucket)
        .elem("KeyMarker", &enc(key_marker.unwrap_or("")))
        .elem("UploadIdMarker", upload_marker.unwrap_or(""));
    if page.is_truncated {
        let (next_key, next_upload) = match page.entries.last() {
            Some(Entry::Item(k, u)) => (k.clone(), u.upload_id.clone()),
            Some(Entry::Prefix(p)) => (p.clone(), String::new()),
            None => (String::new(), String::new()),
        };
        w.elem("NextKeyMarker", &enc(&next_key))
            .elem("NextUploadIdMarker", &next_upload);
    }
    if url {
        w.elem("EncodingType", "url");
    }
    w.elem("Prefix", &enc(prefix));
    if let Some(d) = delimiter {
        w.elem("Delimiter", &enc(d));
    }
    w.elem("MaxUploads", &max.to_string()).elem(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    for (key, u) in page.items() {
        w.open("Upload")
            .elem("Key", &enc(key))
            .elem("UploadId", &u.upload_id);
        state.write_owner(&mut w, "Initiator", u.owner.as_deref());
        state.write_owner(&mut w, "Owner", u.owner.as_deref());
        w.elem(
            "StorageClass",
            u.meta.storage_class.as_deref().unwrap_or("STANDARD"),
        )
        .elem("Initiated", &iso8601(u.initiated, Fraction::Millis));
        if let Some(a) = u.checksum_algorithm {
            w.elem("ChecksumAlgorithm", a.as_str());
        }
        w.close("Upload");
    }
    for p in page.prefixes() {
        w.open("CommonPrefixes")
            .elem("Prefix", &enc(p))
            .close("CommonPrefixes");
    }
    Ok(xml_response(w.finish("ListMultipartUploadsResult")))
}
