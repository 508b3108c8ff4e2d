//! Multipart uploads: parts are blobs (or inline bytes) of their own; completing an upload is a
//! metadata-only operation that stitches the chosen parts' data into one object version.

use super::meta::Tables;
use super::model::*;
use super::names::check_object_key;
use super::objects::{NewVersion, PutOutcome, WriteConditions, insert_version, scan_start};
use super::schema::{self, BUCKETS, PARTS, UPLOADS, decode};
use super::{Store, StoreError};

/// A part named in CompleteMultipartUpload.
#[derive(Debug, Clone)]
pub struct CompletePart {
    pub number: u32,
    /// ETag without quotes.
    pub etag: String,
}

/// What CompleteMultipartUpload commits: the parts the caller validated, the version built from
/// them, and the write conditions.
#[derive(Debug, Clone)]
pub struct Completion {
    pub expected: Vec<CompletePart>,
    pub version: NewVersion,
    pub conditions: WriteConditions,
}

/// An upload with all its parts, read from one snapshot.
#[derive(Debug, Clone)]
pub struct CompletedUpload {
    pub upload: UploadInfo,
    pub parts: Vec<PartInfo>,
}

fn new_upload_id(now: Millis) -> String {
    let r = uuid::Uuid::new_v4().as_u128() as u64;
    format!("{:016x}{r:016x}", now.max(0) as u64)
}

impl Store {
    /// Starts an upload of `info.key` (which must pass the key rule); returns its id.
    pub async fn create_upload(
        &self,
        bucket: &str,
        mut info: UploadInfo,
        now: Millis,
    ) -> Result<String, StoreError> {
        check_object_key(&info.key)?;
        let upload_id = new_upload_id(now);
        info.upload_id = upload_id.clone();
        info.initiated = now;
        let bucket = bucket.to_string();
        self.meta
            .write(move |w| {
                let b: BucketInfo = w
                    .get_record(BUCKETS, bucket.as_bytes())?
                    .ok_or(StoreError::NoSuchBucket)?;
                if !b.object_lock_enabled && (info.retention.is_some() || info.legal_hold) {
                    return Err(StoreError::InvalidRequest(
                        "Bucket is missing Object Lock Configuration".into(),
                    ));
                }
                w.put_record(
                    UPLOADS,
                    &schema::upload_key(&bucket, &info.key, &info.upload_id),
                    &info,
                )
            })
            .await?;
        Ok(upload_id)
    }

    pub fn get_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<UploadInfo, StoreError> {
        self.meta.read(|r| {
            match r.get_record(UPLOADS, &schema::upload_key(bucket, key, upload_id))? {
                Some(u) => Ok(u),
                None if r.get(BUCKETS, bucket.as_bytes())?.is_none() => {
                    Err(StoreError::NoSuchBucket)
                }
                None => Err(StoreError::NoSuchUpload),
            }
        })
    }

    /// Records a part (replacing an earlier upload of the same number). The part's data gains a
    /// reference.
    pub async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: PartInfo,
    ) -> Result<(), StoreError> {
        let ukey = schema::upload_key(bucket, key, upload_id);
        let pkey = schema::part_key(upload_id, part.number);
        let bucket = bucket.to_string();
        let written = part.clone();
        let check_key = pkey.clone();
        let result = self
            .meta
            .write(move |w| {
                if w.get(UPLOADS, &ukey)?.is_none() {
                    if w.get(BUCKETS, bucket.as_bytes())?.is_none() {
                        return Err(StoreError::NoSuchBucket);
                    }
                    return Err(StoreError::NoSuchUpload);
                }
                let old: Option<PartInfo> = w.get_record(PARTS, &pkey)?;
                if let Some(old) = old {
                    w.release_data(&old.data)?;
                }
                w.retain_data(&part.data)?;
                w.put_record(PARTS, &pkey, &part)
            })
            .await;
        match result {
            // A commit whose last fsync failed may have reached the disk anyway: if this very
            // part record is there, the write happened (see `Store::put_version`).
            Err(e) if e.is_storage() => {
                let landed = self
                    .meta
                    .read(|r| r.get_record::<PartInfo>(PARTS, &check_key))
                    .ok()
                    .flatten()
                    .is_some_and(|p| p == written);
                if landed { Ok(()) } else { Err(e) }
            }
            other => other,
        }
    }

    /// The upload and its parts numbered above `after`, at most `limit`.
    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<CompletedUpload, StoreError> {
        self.meta.read(|r| {
            let upload: UploadInfo =
                match r.get_record(UPLOADS, &schema::upload_key(bucket, key, upload_id))? {
                    Some(u) => u,
                    None if r.get(BUCKETS, bucket.as_bytes())?.is_none() => {
                        return Err(StoreError::NoSuchBucket);
                    }
                    None => return Err(StoreError::NoSuchUpload),
                };
            let (_, end) = schema::part_prefix(upload_id);
            let start = schema::part_key(upload_id, after.saturating_add(1));
            let start = if after == u32::MAX {
                end.clone()
            } else {
                start
            };
            let parts = r
                .range(PARTS, &start, &end, limit)?
                .into_iter()
                .map(|(_, v)| decode(&v).map_err(StoreError::from))
                .collect::<Result<Vec<PartInfo>, _>>()?;
            Ok(CompletedUpload { upload, parts })
        })
    }

    /// Uploads in `bucket` whose key starts with `prefix`, from key bytes `from` (inclusive) or
    /// after `(key, upload id)`, ordered by key then upload id (which sorts by initiation time).
    pub fn scan_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        from: &[u8],
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<UploadInfo>, StoreError> {
        let base = schema::bucket_prefix(bucket);
        let mut start = scan_start(&base, prefix, from);
        if let Some((k, id)) = after {
            let mut s = schema::upload_key(bucket, k, id);
            s.push(0);
            if s > start {
                start = s;
            }
        }
        let end = if prefix.is_empty() {
            schema::bucket_end(bucket)
        } else {
            let mut e = base.clone();
            e.extend_from_slice(prefix.as_bytes());
            if let Some(last) = e.last_mut() {
                *last += 1;
            }
            e
        };
        self.meta.read(|r| {
            if r.get(BUCKETS, bucket.as_bytes())?.is_none() {
                return Err(StoreError::NoSuchBucket);
            }
            r.range(UPLOADS, &start, &end, limit)?
                .into_iter()
                .map(|(_, v)| decode(&v).map_err(StoreError::from))
                .collect()
        })
    }

    /// Completes an upload: checks that the named parts still are the ones the caller validated
    /// (`completion.expected`), writes the version under the conditions, and drops the upload and
    /// all its parts. Parts not named are released.
    pub async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        completion: Completion,
        now: Millis,
    ) -> Result<PutOutcome, StoreError> {
        check_object_key(key)?;
        let (b, k, upload_id) = (bucket.to_string(), key.to_string(), upload_id.to_string());
        let Completion {
            expected,
            version: new,
            conditions: cond,
        } = completion;
        let out = self
            .meta
            .write(move |w| {
                let (bucket, key) = (b, k);
                let ukey = schema::upload_key(&bucket, &key, &upload_id);
                if w.get(UPLOADS, &ukey)?.is_none() {
                    return Err(StoreError::NoSuchUpload);
                }
                let (start, end) = schema::part_prefix(&upload_id);
                let parts = w
                    .range(PARTS, &start, &end, usize::MAX)?
                    .into_iter()
                    .map(|(_, v)| decode(&v).map_err(StoreError::from))
                    .collect::<Result<Vec<PartInfo>, _>>()?;
                for e in &expected {
                    if !parts
                        .iter()
                        .any(|p| p.number == e.number && p.etag == e.etag)
                    {
                        return Err(StoreError::InvalidPart(format!(
                            "part {} changed while completing",
                            e.number
                        )));
                    }
                }
                let outcome = insert_version(w, &bucket, &key, new, &cond, now)?;
                for p in &parts {
                    w.release_data(&p.data)?;
                    w.remove(PARTS, &schema::part_key(&upload_id, p.number))?;
                }
                w.remove(UPLOADS, &ukey)?;
                Ok(outcome)
            })
            .await?;
        self.changes.emit(
            bucket,
            key,
            &out.version_id,
            super::StoreChangeKind::Created,
        );
        Ok(out)
    }

    /// Aborts an upload, releasing its parts.
    pub async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        let (bucket, key, upload_id) = (bucket.to_string(), key.to_string(), upload_id.to_string());
        self.meta
            .write_freeing(move |w| {
                let ukey = schema::upload_key(&bucket, &key, &upload_id);
                if w.get(UPLOADS, &ukey)?.is_none() {
                    if w.get(BUCKETS, bucket.as_bytes())?.is_none() {
                        return Err(StoreError::NoSuchBucket);
                    }
                    return Err(StoreError::NoSuchUpload);
                }
                let (start, end) = schema::part_prefix(&upload_id);
                for (k, v) in w.range(PARTS, &start, &end, usize::MAX)? {
                    let p: PartInfo = decode(&v)?;
                    w.release_data(&p.data)?;
                    w.remove(PARTS, &k)?;
                }
                w.remove(UPLOADS, &ukey)?;
                Ok(())
            })
            .await
    }
}
