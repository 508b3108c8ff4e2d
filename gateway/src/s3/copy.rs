//! CopyObject, and copy-source handling shared with UploadPartCopy. A copy shares the source's
//! immutable blobs (metadata-only, whatever the size); only inline bytes are duplicated.

use futures::TryStreamExt;
use http::HeaderMap;
use percent_encoding::percent_decode_str;

use super::checksum::{self, Checksummer};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::xml::XmlWriter;
use super::{S3Api, S3Request, S3Response, headers, put, set_header, xml_response};
use crate::clock::{Fraction, iso8601};
use crate::store::{
    Checksum, ChecksumAlgorithm, ChecksumType, NewVersion, ObjectData, Store, StoreError,
    VersionRecord, VersionRef,
};

/// A parsed `x-amz-copy-source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// Parses `x-amz-copy-source`: `[/]bucket/key[?versionId=id]`, URL-encoded.
pub fn parse_copy_source(h: &HeaderMap) -> S3Result<CopySource> {
    let raw = h
        .get("x-amz-copy-source")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            S3Error::invalid_argument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
        })?;
    let (path, query) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (raw, None),
    };
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| S3Error::invalid_argument("Invalid copy source encoding"))?;
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    let Some((bucket, key)) = decoded
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
    else {
        return Err(S3Error::invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        ));
    };
    let mut version_id = None;
    if let Some(q) = query {
        for pair in q.split('&') {
            if let Some(v) = pair.strip_prefix("versionId=") {
                let v = percent_decode_str(v)
                    .decode_utf8()
                    .map_err(|_| S3Error::invalid_argument("Invalid copy source version id"))?;
                version_id = Some(v.into_owned());
            }
        }
    }
    crate::store::check_bucket_name(bucket)?;
    crate::store::check_object_key(key)?;
    Ok(CopySource {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id,
    })
}

/// Resolves the copy source version (which the caller must be allowed to read) and checks the
/// `x-amz-copy-source-if-*` conditions.
pub fn resolve_source(state: &S3Api, req: &S3Request) -> S3Result<(CopySource, VersionRecord)> {
    let (store, h) = (&state.store, &req.headers);
    let src = parse_copy_source(h)?;
    super::access::authorize_copy_source(
        state,
        req,
        &src.bucket,
        &src.key,
        src.version_id.as_deref(),
    )?;
    let which = VersionRef::from_option(src.version_id.as_deref());
    let v = match store.get_version(&src.bucket, &src.key, which) {
        Ok(v) => v,
        Err(StoreError::DeleteMarker { current: false, .. }) => {
            return Err(S3Error::invalid_request(
                "The source of a copy request may not specifically refer to a delete marker by version id.",
            ));
        }
        Err(StoreError::DeleteMarker { .. }) => return Err(S3Error::new(S3ErrorCode::NoSuchKey)),
        Err(e) => return Err(e.into()),
    };
    headers::check_preconditions(h, "x-amz-copy-source-", &v)?;
    Ok((src, v))
}

/// Computes `algorithm` over stored data (when a copy asks for a checksum its source lacks).
pub async fn checksum_of(
    store: &Store,
    data: &ObjectData,
    size: u64,
    algorithm: ChecksumAlgorithm,
) -> S3Result<String> {
    let mut c = Checksummer::new(&[algorithm]);
    let mut s = std::pin::pin!(store.data_stream(data, 0, size));
    while let Some(chunk) = s.try_next().await? {
        c.update(&chunk);
    }
    Ok(c.finish().get(algorithm).unwrap_or_default().to_string())
}

fn directive(h: &HeaderMap, name: &str) -> S3Result<bool> {
    match h.get(name).map(|v| v.to_str().unwrap_or("")) {
        None | Some("COPY") => Ok(false),
        Some("REPLACE") => Ok(true),
        Some(_) => Err(S3Error::invalid_argument(format!("Unknown {name}"))),
    }
}

pub async fn copy_object(state: &S3Api, req: S3Request) -> S3Result<S3Response> {
    let store = &state.store;
    let dest_bucket = store.bucket(&req.bucket)?;
    let (src, source) = resolve_source(state, &req)?;
    let replace_meta = directive(&req.headers, "x-amz-metadata-directive")?;
    let replace_tags = directive(&req.headers, "x-amz-tagging-directive")?;
    let (retention, legal_hold) = headers::lock_headers(&req.headers, req.now)?;
    let requested = checksum::requested_algorithm(&req.headers)?;
    // Copying a named version onto its own key is how a previous version is restored: allowed.
    let same_object = src.bucket == req.bucket && src.key == req.key && src.version_id.is_none();
    if same_object
        && !replace_meta
        && !replace_tags
        && retention.is_none()
        && !legal_hold
        && requested.is_none()
        && !req.headers.contains_key("x-amz-storage-class")
        && super::encryption::requested(&req.headers)?.is_none()
    {
        return Err(S3Error::invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let mut meta = if replace_meta {
        headers::object_meta(&req.headers)?
    } else {
        source.meta.clone()
    };
    if !replace_meta && let Some(sc) = req.header("x-amz-storage-class") {
        // A storage-class change alone is a legal self-copy.
        let mut h = HeaderMap::new();
        set_header(&mut h, "x-amz-storage-class", sc);
        meta.storage_class = headers::object_meta(&h)?.storage_class;
    }
    let tags = if replace_tags {
        headers::tagging_header(&req.headers)?
    } else {
        source.tags.clone()
    };
    let source_key = state.encryption.for_copy_source(&req.headers, &source)?;
    let sealing = state.encryption.begin(store, &req.bucket, &req.headers)?;
    let cond = put::write_conditions(&req.headers)?;
    // The copy is a new object: the copier's, with the ACL the request asks for.
    let (owner, acl) =
        super::access_control::object_write_access(state, &req.bucket, &req.caller, &req.headers)?;
    if source_key.is_some() || sealing.is_some() {
        // Encrypted on either side: the plaintext is streamed through and stored anew (as one
        // part), encrypted as the destination asks.
        let algorithm = requested.or_else(|| {
            source
                .checksum
                .as_ref()
                .filter(|c| c.kind == ChecksumType::FullObject)
                .map(|c| c.algorithm)
        });
        let algorithms: Vec<ChecksumAlgorithm> = algorithm.into_iter().collect();
        let plaintext =
            super::encryption::version_stream(store, &source, source_key.as_ref(), 0, source.size);
        let none = put::Declared::of(&HeaderMap::new())?;
        let (staged, digests, size) = put::ingest_chunks(
            store,
            plaintext,
            &none,
            &algorithms,
            put::SizeLimit {
                min: 0,
                max: u64::MAX,
            },
            sealing.as_ref().map(|s| s.stream_key(0)),
        )
        .await?;
        let ingested =
            put::verify_ingested(staged, digests, size, &HeaderMap::new(), &none, None).await?;
        let checksum = algorithm.and_then(|a| {
            ingested.digests.get(a).map(|v| Checksum {
                algorithm: a,
                value: v.to_string(),
                kind: ChecksumType::FullObject,
            })
        });
        let mut new = ingested.sealed_version(
            sealing.as_ref(),
            meta,
            checksum.clone(),
            tags.clone(),
            (retention, legal_hold),
        );
        new.owner = owner;
        new.acl = acl;
        let outcome = super::put::commit_ingested(
            state,
            &dest_bucket,
            &req.key,
            new,
            &ingested.data,
            cond,
            req.now,
        )
        .await?;
        let mut resp = copy_result(&outcome, checksum.as_ref(), &src, &source);
        super::encryption::response_headers(
            resp.headers_mut(),
            sealing.as_ref().map(|s| &s.record),
        );
        let facts = crate::lifecycle::expiry::ObjectFacts {
            key: &req.key,
            last_modified: outcome.last_modified,
            size,
            tags: &tags,
        };
        state.set_expiration(&req.bucket, &facts, resp.headers_mut());
        return Ok(resp);
    }
    let checksum = match requested {
        None => source.checksum.clone(),
        Some(a)
            if source
                .checksum
                .as_ref()
                .is_some_and(|c| c.algorithm == a && c.kind == ChecksumType::FullObject) =>
        {
            source.checksum.clone()
        }
        Some(a) => Some(Checksum {
            algorithm: a,
            value: checksum_of(store, &source.data, source.size, a).await?,
            kind: ChecksumType::FullObject,
        }),
    };
    let mut new = NewVersion {
        data: source.data.clone(),
        size: source.size,
        etag: source.etag.clone(),
        meta,
        checksum: checksum.clone(),
        parts: source.parts.clone(),
        tags: tags.clone(),
        retention,
        legal_hold,
        owner,
        acl,
        encryption: None,
    };
    state
        .policies
        .apply_retention(&dest_bucket, &req.key, &mut new, req.now)
        .await;
    let outcome = store
        .put_version(&req.bucket, &req.key, new, cond, req.now)
        .await?;
    let mut resp = copy_result(&outcome, checksum.as_ref(), &src, &source);
    let h = resp.headers_mut();
    let facts = crate::lifecycle::expiry::ObjectFacts {
        key: &req.key,
        last_modified: outcome.last_modified,
        size: source.size,
        tags: &tags,
    };
    state.set_expiration(&req.bucket, &facts, h);
    Ok(resp)
}

/// CopyObject's answer.
fn copy_result(
    outcome: &crate::store::PutOutcome,
    checksum: Option<&Checksum>,
    src: &CopySource,
    source: &VersionRecord,
) -> S3Response {
    let mut w = XmlWriter::new("CopyObjectResult");
    w.elem("ETag", &format!("\"{}\"", outcome.etag)).elem(
        "LastModified",
        &iso8601(outcome.last_modified, Fraction::Millis),
    );
    if let Some(c) = checksum {
        w.elem(&format!("Checksum{}", c.algorithm.as_str()), &c.value)
            .elem("ChecksumType", c.kind.as_str());
    }
    let mut resp = xml_response(w.finish("CopyObjectResult"));
    let h = resp.headers_mut();
    if let Some(id) = outcome.version_header() {
        set_header(h, "x-amz-version-id", id);
    }
    if source.version_id != "null" || src.version_id.is_some() {
        set_header(h, "x-amz-copy-source-version-id", &source.version_id);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert("x-amz-copy-source", v.parse().unwrap());
        m
    }

    #[test]
    fn copy_source_forms() {
        let s = parse_copy_source(&h("/b-1/a%20b/c%3Fd?versionId=v1")).unwrap();
        assert_eq!(
            s,
            CopySource {
                bucket: "b-1".into(),
                key: "a b/c?d".into(),
                version_id: Some("v1".into())
            }
        );
        assert_eq!(parse_copy_source(&h("bkt/k")).unwrap().key, "k");
        assert!(parse_copy_source(&h("bkt")).is_err());
        assert!(parse_copy_source(&h("/bkt/")).is_err());
    }
}
