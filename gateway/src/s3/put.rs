//! PutObject, and the request-body side of ingestion shared with UploadPart: the body is
//! streamed into the store ([`Store::ingest`]: inline when small, a fresh blob otherwise) while
//! it is hashed and its size limited, verified against `Content-MD5` and the declared checksum,
//! and only then made durable; the metadata is committed last.

use http::{HeaderMap, StatusCode};

use super::checksum::{self, Checksummer, Digests};
use super::error::{S3Error, S3ErrorCode, S3Result};
use super::headers;
use super::{S3Api, S3Request, S3Response, empty_response, set_header};
use crate::auth::RequestBody;
use crate::store::{
    Checksum, ChecksumAlgorithm, ChecksumType, NewVersion, ObjectData, Store, WriteConditions,
};

/// Largest single PUT or part, as on AWS.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// A body that has been stored and verified, not yet referenced by any record.
pub struct Ingested {
    pub data: ObjectData,
    pub size: u64,
    pub digests: Digests,
}

impl Ingested {
    /// The object's checksum: the declared algorithm's (`headers`), over the whole object.
    pub fn checksum(&self, headers: &HeaderMap) -> S3Result<Option<Checksum>> {
        Ok(checksum::requested_algorithm(headers)?.and_then(|a| {
            self.digests.get(a).map(|v| Checksum {
                algorithm: a,
                value: v.to_string(),
                kind: ChecksumType::FullObject,
            })
        }))
    }

    /// A new single-part object version of these bytes.
    pub fn version(
        &self,
        meta: crate::store::ObjectMeta,
        checksum: Option<Checksum>,
        tags: Vec<(String, String)>,
        lock: (Option<crate::store::Retention>, bool),
    ) -> NewVersion {
        NewVersion {
            data: self.data.clone(),
            size: self.size,
            etag: self.digests.etag(),
            meta,
            checksum,
            parts: Vec::new(),
            tags,
            retention: lock.0,
            legal_hold: lock.1,
            owner: None,
            acl: None,
            encryption: None,
        }
    }

    /// [`Ingested::version`] of bytes encrypted by `sealing`: its ETag and encryption record.
    pub fn sealed_version(
        &self,
        sealing: Option<&super::encryption::Sealing>,
        meta: crate::store::ObjectMeta,
        checksum: Option<Checksum>,
        tags: Vec<(String, String)>,
        lock: (Option<crate::store::Retention>, bool),
    ) -> NewVersion {
        let mut v = self.version(meta, checksum, tags, lock);
        if let Some(s) = sealing {
            v.etag = s.etag(&v.etag);
            v.encryption = Some(s.record.clone());
        }
        v
    }
}

/// The sizes an upload may have (bytes, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimit {
    pub min: u64,
    pub max: u64,
}

impl SizeLimit {
    /// A PutObject or a part: up to 5 GiB.
    pub const PUT: SizeLimit = SizeLimit {
        min: 0,
        max: MAX_PUT_SIZE,
    };
}

/// What a body's headers (or form fields) declare about it: `Content-MD5` and the
/// `x-amz-checksum-*` algorithm.
pub struct Declared {
    content_md5: Option<[u8; 16]>,
    algorithm: Option<ChecksumAlgorithm>,
}

impl Declared {
    pub fn of(headers: &HeaderMap) -> S3Result<Declared> {
        let content_md5 = match headers.get("content-md5") {
            Some(v) => Some(checksum::decode_content_md5(v.to_str().unwrap_or(""))?),
            None => None,
        };
        Ok(Declared {
            content_md5,
            algorithm: checksum::requested_algorithm(headers)?,
        })
    }
}

/// Streams `chunks` into the store (hashing them for `declared` and `extra_algorithms`, at most
/// `limit.max` bytes) and checks the size against `limit.min`; [`verify_ingested`] then checks
/// the digests. With `seal` (a stream key) the plaintext is hashed, then encrypted on its way to
/// the store. On failure nothing is left behind (a partial blob is deleted).
pub async fn ingest_chunks(
    store: &Store,
    chunks: impl futures::Stream<Item = S3Result<bytes::Bytes>>,
    declared: &Declared,
    extra_algorithms: &[ChecksumAlgorithm],
    limit: SizeLimit,
    seal: Option<[u8; 32]>,
) -> S3Result<(crate::store::Staged, Digests, u64)> {
    use futures::StreamExt;
    let mut algorithms: Vec<ChecksumAlgorithm> = extra_algorithms.to_vec();
    if let Some(a) = declared.algorithm {
        algorithms.push(a);
    }
    let mut hasher = Checksummer::new(&algorithms);
    let mut size: u64 = 0;
    let inspected = chunks.map(|chunk| {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > limit.max {
            return Err(S3Error::new(S3ErrorCode::EntityTooLarge)
                .with_detail("ProposedSize", size.to_string())
                .with_detail("MaxSizeAllowed", limit.max.to_string()));
        }
        hasher.update(&chunk);
        Ok(chunk)
    });
    let staged = match seal {
        None => store.ingest(inspected, |_| Ok(())).await?,
        Some(key) => {
            let sealed = crate::crypto::seal_stream(inspected, &key).map_err(S3Error::internal)?;
            store.ingest(sealed, |_| Ok(())).await?
        }
    };
    let digests = hasher.finish();
    if size < limit.min {
        staged.abort().await;
        return Err(S3Error::new(S3ErrorCode::EntityTooSmall)
            .with_detail("ProposedSize", size.to_string())
            .with_detail("MinSizeAllowed", limit.min.to_string()));
    }
    Ok((staged, digests, size))
}

/// Checks a streamed body's digests against what was declared (the checksum value from
/// `headers`, else `trailer_value`), then makes it durable; aborts it on a mismatch.
pub async fn verify_ingested(
    staged: crate::store::Staged,
    digests: Digests,
    size: u64,
    headers: &HeaderMap,
    declared: &Declared,
    trailer_value: Option<&str>,
) -> S3Result<Ingested> {
    let verify = (|| -> S3Result<()> {
        if let Some(want) = declared.content_md5
            && want != digests.md5
        {
            return Err(S3Error::new(S3ErrorCode::BadDigest));
        }
        if let Some(a) = declared.algorithm {
            let supplied = headers
                .get(a.header())
                .and_then(|v| v.to_str().ok())
                .or(trailer_value);
            match supplied {
                Some(s) => checksum::verify(a, s, digests.get(a).unwrap_or_default())?,
                None if headers.contains_key("x-amz-trailer") => {
                    return Err(S3Error::with_message(
                        S3ErrorCode::MalformedTrailerError,
                        format!(
                            "The request announced the trailer {} but did not send it.",
                            a.header()
                        ),
                    ));
                }
                None => {}
            }
        }
        Ok(())
    })();
    if let Err(e) = verify {
        staged.abort().await;
        return Err(e);
    }
    let data = staged.finish().await?;
    Ok(Ingested {
        data,
        size,
        digests,
    })
}

/// Streams `body` into the store, verifying `Content-MD5` and the declared checksum (header or
/// trailer). On failure nothing is left behind (a partial blob is deleted).
pub async fn ingest(
    store: &Store,
    body: &mut RequestBody,
    headers: &HeaderMap,
    extra_algorithms: &[ChecksumAlgorithm],
    seal: Option<[u8; 32]>,
) -> S3Result<Ingested> {
    let declared = Declared::of(headers)?;
    if let Some(len) = body.declared_len()
        && len > MAX_PUT_SIZE
    {
        return Err(S3Error::new(S3ErrorCode::EntityTooLarge)
            .with_detail("ProposedSize", len.to_string())
            .with_detail("MaxSizeAllowed", MAX_PUT_SIZE.to_string()));
    }
    let chunks = futures::stream::unfold(&mut *body, |body| async move {
        match body.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), body)),
            Ok(None) => None,
            Err(e) => Some((Err(S3Error::from(e)), body)),
        }
    });
    let (staged, digests, size) = ingest_chunks(
        store,
        chunks,
        &declared,
        extra_algorithms,
        SizeLimit::PUT,
        seal,
    )
    .await?;
    let trailer = declared.algorithm.and_then(|a| {
        body.trailers()
            .get(a.header())
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    verify_ingested(
        staged,
        digests,
        size,
        headers,
        &declared,
        trailer.as_deref(),
    )
    .await
}

/// `If-None-Match` / `If-Match` on a write (PutObject, CompleteMultipartUpload).
pub fn write_conditions(h: &HeaderMap) -> S3Result<WriteConditions> {
    let mut cond = WriteConditions::default();
    // AWS takes `*`; a list of ETags (RFC 9110: write unless the current object has one of
    // them) is honoured too.
    if let Some(v) = h.get(http::header::IF_NONE_MATCH) {
        let s = v
            .to_str()
            .map_err(|_| S3Error::invalid_argument("Invalid If-None-Match header"))?;
        let list: Vec<String> = s
            .split(',')
            .map(|e| {
                e.trim()
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .to_string()
            })
            .filter(|e| !e.is_empty())
            .collect();
        if list.is_empty() {
            return Err(S3Error::invalid_argument("Invalid If-None-Match header"));
        }
        cond.if_none_match = Some(list);
    }
    if let Some(v) = h.get(http::header::IF_MATCH) {
        let s = v
            .to_str()
            .map_err(|_| S3Error::invalid_argument("Invalid If-Match header"))?;
        cond.if_match = Some(
            s.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string(),
        );
    }
    Ok(cond)
}

/// Checks write conditions against the current state before reading a body, so a doomed
/// conditional PUT fails fast. The authoritative check runs again inside the commit.
pub fn precheck_conditions(
    store: &Store,
    bucket: &str,
    key: &str,
    cond: &WriteConditions,
) -> S3Result<()> {
    if cond.is_empty() {
        return Ok(());
    }
    let current = match store.get_version(bucket, key, crate::store::VersionRef::Current) {
        Ok(v) => Some(v),
        Err(
            crate::store::StoreError::NoSuchKey | crate::store::StoreError::DeleteMarker { .. },
        ) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(cond.check(current.as_ref())?)
}

/// Applies the bucket's retention policy to `new` and commits it under `cond`; when the commit
/// fails, the ingested `data` it would have referenced is released.
pub(crate) async fn commit_ingested(
    state: &S3Api,
    bucket: &crate::store::BucketInfo,
    key: &str,
    mut new: NewVersion,
    data: &ObjectData,
    cond: WriteConditions,
    now: crate::store::Millis,
) -> S3Result<crate::store::PutOutcome> {
    state
        .policies
        .apply_retention(bucket, key, &mut new, now)
        .await;
    match state
        .store
        .put_version(&bucket.name, key, new, cond, now)
        .await
    {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            state.store.discard(data).await;
            Err(e.into())
        }
    }
}

/// Adds the headers describing a stored checksum to a write's response.
pub fn checksum_response_headers(out: &mut HeaderMap, c: Option<&Checksum>) {
    if let Some(c) = c {
        set_header(out, c.algorithm.header(), &c.value);
        set_header(out, "x-amz-checksum-type", c.kind.as_str());
    }
}

pub async fn put_object(state: &S3Api, mut req: S3Request) -> S3Result<S3Response> {
    let meta = headers::object_meta(&req.headers)?;
    let tags = headers::tagging_header(&req.headers)?;
    let (retention, legal_hold) = headers::lock_headers(&req.headers, req.now)?;
    let cond = write_conditions(&req.headers)?;
    let store = &state.store;
    let bucket = store.bucket(&req.bucket)?;
    if (retention.is_some() || legal_hold) && !bucket.object_lock_enabled {
        return Err(S3Error::invalid_request(
            "Bucket is missing Object Lock Configuration",
        ));
    }
    let (owner, acl) =
        super::access_control::object_write_access(state, &req.bucket, &req.caller, &req.headers)?;
    let sealing = state.encryption.begin(store, &req.bucket, &req.headers)?;
    precheck_conditions(store, &req.bucket, &req.key, &cond)?;
    let ingested = ingest(
        store,
        &mut req.body,
        &req.headers,
        &[],
        sealing.as_ref().map(|s| s.stream_key(0)),
    )
    .await?;
    let checksum = ingested.checksum(&req.headers)?;
    let mut new = ingested.sealed_version(
        sealing.as_ref(),
        meta,
        checksum.clone(),
        tags.clone(),
        (retention, legal_hold),
    );
    new.owner = owner;
    new.acl = acl;
    let outcome =
        commit_ingested(state, &bucket, &req.key, new, &ingested.data, cond, req.now).await?;
    let mut resp = empty_response(StatusCode::OK);
    let h = resp.headers_mut();
    set_header(h, "etag", &format!("\"{}\"", outcome.etag));
    if let Some(id) = outcome.version_header() {
        set_header(h, "x-amz-version-id", id);
    }
    checksum_response_headers(h, checksum.as_ref());
    super::encryption::response_headers(h, sealing.as_ref().map(|s| &s.record));
    let facts = crate::lifecycle::expiry::ObjectFacts {
        key: &req.key,
        last_modified: outcome.last_modified,
        size: ingested.size,
        tags: &tags,
    };
    state.set_expiration(&req.bucket, &facts, h);
    Ok(resp)
}
