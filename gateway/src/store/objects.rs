//! Object versions: write (with versioning and conditional-write rules), read, update, delete,
//! and the scans listing is built on.

use super::lock;
use super::meta::{Tables, WriteCtx};
use super::model::*;
use super::names::check_object_key;
use super::schema::{self, BUCKETS, CURRENT, VERSIONS, decode};
use super::{Store, StoreChangeKind, StoreError};

/// A version about to be written.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub data: ObjectData,
    pub size: u64,
    pub etag: String,
    pub meta: ObjectMeta,
    pub checksum: Option<Checksum>,
    pub parts: Vec<PartSummary>,
    pub tags: Vec<(String, String)>,
    /// Explicit retention; `None` applies the bucket's default retention, if any.
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    /// Who owns the new version (`None`: the bucket owner).
    pub owner: Option<String>,
    /// Its access control list (`None`: the default, owner `FULL_CONTROL`).
    pub acl: Option<Vec<AclGrant>>,
    /// How `data` is encrypted (`None`: plaintext).
    pub encryption: Option<ObjectEncryption>,
}

/// Conditions checked inside the committing transaction.
#[derive(Debug, Clone, Default)]
pub struct WriteConditions {
    /// `If-None-Match`: `*`, only if no current object exists; ETags (unquoted), only if the
    /// current object (if any) has none of them.
    pub if_none_match: Option<Vec<String>>,
    /// `If-Match`: only if the current object's ETag (unquoted) is this, or exists at all for `*`.
    pub if_match: Option<String>,
}

impl WriteConditions {
    /// Whether the write is unconditional.
    pub fn is_empty(&self) -> bool {
        self.if_none_match.is_none() && self.if_match.is_none()
    }

    /// Checks the conditions against the current version (a delete marker counts as none):
    /// `PreconditionFailed`, or `NoSuchKey` for an `If-Match` with no object.
    pub fn check(&self, current: Option<&VersionRecord>) -> Result<(), StoreError> {
        let live = current.filter(|v| !v.is_delete_marker);
        if let (Some(list), Some(v)) = (&self.if_none_match, live)
            && list.iter().any(|e| e == "*" || *e == v.etag)
        {
            return Err(StoreError::PreconditionFailed);
        }
        if let Some(want) = &self.if_match {
            let Some(v) = live else {
                return Err(StoreError::NoSuchKey);
            };
            if want != "*" && want != &v.etag {
                return Err(StoreError::PreconditionFailed);
            }
        }
        Ok(())
    }
}

/// What a successful write produced.
#[derive(Debug, Clone)]
pub struct PutOutcome {
    pub version_id: String,
    /// Whether the bucket is (or was) versioned, i.e. whether to send `x-amz-version-id`.
    pub versioned: bool,
    pub etag: String,
    pub last_modified: Millis,
    pub retention: Option<Retention>,
}

impl PutOutcome {
    /// The `x-amz-version-id` a write answers with: the new version's id in a versioned bucket;
    /// none in an unversioned or suspended one (the version is the `null` one, and AWS sends no
    /// header for it on writes).
    pub fn version_header(&self) -> Option<&str> {
        (self.versioned && self.version_id != "null").then_some(self.version_id.as_str())
    }
}

/// One object (or, with a version id, one version) a delete names, with its conditions.
#[derive(Debug, Clone, Default)]
pub struct DeleteTarget {
    pub key: String,
    pub version_id: Option<String>,
    pub conditions: DeleteConditions,
}

/// AWS's conditional deletes (DeleteObject headers, DeleteObjects per object), checked against
/// the version the delete names (with a version id) or the current version (a delete marker
/// included), in the committing transaction. A condition that does not hold fails the delete
/// with `PreconditionFailed`; when there is nothing to delete, a conditional delete does nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteConditions {
    /// `If-Match` / `ETag`: the ETag (unquoted), or `*` for any existing version.
    pub if_match: Option<String>,
    /// `x-amz-if-match-last-modified-time` / `LastModifiedTime`: seconds since the epoch.
    pub last_modified_secs: Option<i64>,
    /// `x-amz-if-match-size` / `Size`: bytes.
    pub size: Option<u64>,
}

impl DeleteTarget {
    /// The current object under `key`, unconditionally.
    pub fn key(key: impl Into<String>) -> Self {
        DeleteTarget {
            key: key.into(),
            ..Default::default()
        }
    }
}

impl DeleteConditions {
    /// Whether the delete is unconditional.
    pub fn is_empty(&self) -> bool {
        *self == DeleteConditions::default()
    }

    /// Whether every condition holds for `v`.
    fn hold_for(&self, v: &VersionRecord) -> bool {
        let etag = self
            .if_match
            .as_deref()
            .is_none_or(|m| m == "*" || (!v.is_delete_marker && m == v.etag));
        let mtime = self
            .last_modified_secs
            .is_none_or(|t| v.last_modified.div_euclid(1000) == t);
        let size = self.size.is_none_or(|s| s == v.size);
        etag && mtime && size
    }
}

/// What a delete did.
#[derive(Debug, Clone, Default)]
pub struct DeleteOutcome {
    /// The version created (delete marker) or removed, when there is one to report.
    pub version_id: Option<String>,
    /// A delete marker was created, or the removed version was a delete marker.
    pub delete_marker: bool,
}

/// Which version a request is about.
#[derive(Debug, Clone, Copy)]
pub enum VersionRef<'a> {
    Current,
    Id(&'a str),
}

impl<'a> VersionRef<'a> {
    pub fn from_option(v: Option<&'a str>) -> Self {
        v.map(VersionRef::Id).unwrap_or(VersionRef::Current)
    }
}

/// A new version id: the sequence number (so lookups are direct) and random bits.
fn new_version_id(seq: u64) -> String {
    let r = uuid::Uuid::new_v4().as_u128() as u64;
    format!("{seq:016x}{r:016x}")
}

/// The sequence number inside a version id minted by [`new_version_id`].
fn seq_of_version_id(vid: &str) -> Option<u64> {
    if vid.len() == 32 && vid.bytes().all(|b| b.is_ascii_hexdigit()) {
        u64::from_str_radix(&vid[..16], 16).ok()
    } else {
        None
    }
}

/// Validates the shape of a client-supplied version id.
pub fn check_version_id(vid: &str) -> Result<(), StoreError> {
    if vid == "null" || seq_of_version_id(vid).is_some() {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument(
            "Invalid version id specified".into(),
        ))
    }
}

/// Object lookups shared by the read and write sides.
pub(super) trait Lookup: Tables {
    fn find_version(
        &self,
        bucket: &str,
        key: &str,
        vid: &str,
    ) -> Result<Option<VersionRecord>, StoreError> {
        if let Some(seq) = seq_of_version_id(vid) {
            let Some(bytes) = self.get(VERSIONS, &schema::version_key(bucket, key, seq))? else {
                return Ok(None);
            };
            let v: VersionRecord = decode(&bytes)?;
            return Ok((v.version_id == vid).then_some(v));
        }
        if vid != "null" {
            return Ok(None);
        }
        let (start, end) = (
            schema::key_prefix(bucket, key),
            schema::key_end(bucket, key),
        );
        for (_, bytes) in self.range(VERSIONS, &start, &end, usize::MAX)? {
            let v: VersionRecord = decode(&bytes)?;
            if v.version_id == "null" {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    fn current(&self, bucket: &str, key: &str) -> Result<Option<VersionRecord>, StoreError> {
        let Some(bytes) = self.get(CURRENT, &schema::current_key(bucket, key))? else {
            return Ok(None);
        };
        let cur: CurrentEntry = decode(&bytes)?;
        match self.get(VERSIONS, &schema::version_key(bucket, key, cur.seq))? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Err(StoreError::Corrupt(format!(
                "current entry of {bucket}/{key} points at a missing version"
            ))),
        }
    }

    /// The newest version of a key, after the current one was removed.
    fn newest(&self, bucket: &str, key: &str) -> Result<Option<VersionRecord>, StoreError> {
        let (start, end) = (
            schema::key_prefix(bucket, key),
            schema::key_end(bucket, key),
        );
        match self.range(VERSIONS, &start, &end, 1)?.into_iter().next() {
            Some((_, bytes)) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    fn resolve(
        &self,
        bucket: &str,
        key: &str,
        which: VersionRef<'_>,
    ) -> Result<VersionRecord, StoreError> {
        let found = match which {
            VersionRef::Current => self.current(bucket, key)?,
            VersionRef::Id(vid) => {
                check_version_id(vid)?;
                self.find_version(bucket, key, vid)?
            }
        };
        match found {
            Some(v) => Ok(v),
            None => {
                if self.get(BUCKETS, bucket.as_bytes())?.is_none() {
                    Err(StoreError::NoSuchBucket)
                } else if matches!(which, VersionRef::Id(_)) {
                    Err(StoreError::NoSuchVersion)
                } else {
                    Err(StoreError::NoSuchKey)
                }
            }
        }
    }
}

impl<T: Tables> Lookup for T {}

/// Writes a new version inside a metadata transaction: versioning rules, default retention,
/// conditions. The caller's data gains one reference. Shared by PUT, copy and complete-multipart.
pub(crate) fn insert_version(
    w: &mut WriteCtx,
    bucket: &str,
    key: &str,
    new: NewVersion,
    cond: &WriteConditions,
    now: Millis,
) -> Result<PutOutcome, StoreError> {
    let info: BucketInfo = w
        .get_record(BUCKETS, bucket.as_bytes())?
        .ok_or(StoreError::NoSuchBucket)?;
    let current = w.current(bucket, key)?;
    cond.check(current.as_ref())?;
    if !info.object_lock_enabled && (new.retention.is_some() || new.legal_hold) {
        return Err(StoreError::InvalidRequest(
            "Bucket is missing Object Lock Configuration".into(),
        ));
    }
    let retention = new.retention.or_else(|| {
        info.default_retention.map(|d| Retention {
            mode: d.mode,
            retain_until: d.retain_until(now),
        })
    });
    // The null version this write replaces, if the bucket is not versioning-enabled.
    let replaced = match info.versioning {
        Versioning::Enabled => None,
        Versioning::Unversioned | Versioning::Suspended => w.find_version(bucket, key, "null")?,
    };
    if let Some(old) = &replaced {
        lock::check_delete(old, now, false)?;
    }
    // Validation done; write.
    let seq = w.next_seq();
    let version_id = match info.versioning {
        Versioning::Enabled => new_version_id(seq),
        _ => "null".to_string(),
    };
    if let Some(old) = replaced {
        w.remove(VERSIONS, &schema::version_key(bucket, key, old.seq))?;
        w.release_data(&old.data)?;
    }
    let version = VersionRecord {
        version_id: version_id.clone(),
        seq,
        is_delete_marker: false,
        last_modified: now,
        size: new.size,
        etag: new.etag.clone(),
        data: new.data,
        meta: new.meta,
        checksum: new.checksum,
        parts: new.parts,
        tags: new.tags,
        retention,
        legal_hold: new.legal_hold,
        owner: new.owner,
        acl: new.acl,
        encryption: new.encryption,
    };
    w.retain_data(&version.data)?;
    w.put_record(VERSIONS, &schema::version_key(bucket, key, seq), &version)?;
    w.put_record(
        CURRENT,
        &schema::current_key(bucket, key),
        &CurrentEntry::of(&version),
    )?;
    Ok(PutOutcome {
        version_id,
        versioned: info.versioning != Versioning::Unversioned,
        etag: new.etag,
        last_modified: now,
        retention,
    })
}

/// Removes one version record, fixing up `current`.
pub(super) fn remove_version(
    w: &mut WriteCtx,
    bucket: &str,
    key: &str,
    v: &VersionRecord,
) -> Result<(), StoreError> {
    w.remove(VERSIONS, &schema::version_key(bucket, key, v.seq))?;
    w.release_data(&v.data)?;
    w.note_freed(v.size);
    let cur_key = schema::current_key(bucket, key);
    let cur: Option<CurrentEntry> = w.get_record(CURRENT, &cur_key)?;
    if cur.is_some_and(|c| c.seq == v.seq) {
        match w.newest(bucket, key)? {
            Some(next) => w.put_record(CURRENT, &cur_key, &CurrentEntry::of(&next))?,
            None => {
                w.remove(CURRENT, &cur_key)?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Writes a new version of `key` (see [`insert_version`]); the key must pass the key rule
    /// ([`check_object_key`]).
    pub async fn put_version(
        &self,
        bucket: &str,
        key: &str,
        new: NewVersion,
        cond: WriteConditions,
        now: Millis,
    ) -> Result<PutOutcome, StoreError> {
        check_object_key(key)?;
        let (b, k) = (bucket.to_string(), key.to_string());
        let (etag, size) = (new.etag.clone(), new.size);
        let out = match self
            .meta
            .write(move |w| insert_version(w, &b, &k, new, &cond, now))
            .await
        {
            Ok(out) => out,
            // A commit whose last fsync failed may have reached the disk anyway (the writer has
            // reopened the database by now): if this very version is there, the write happened,
            // and answering an error would make the caller delete the blob it names.
            Err(e) if e.is_storage() => match self.landed(bucket, key, &etag, size, now) {
                Some(out) => {
                    tracing::warn!(bucket, key, error = %e, "a commit reported failed was durable; acknowledging it");
                    out
                }
                None => return Err(e),
            },
            Err(e) => return Err(e),
        };
        self.changes
            .emit(bucket, key, &out.version_id, StoreChangeKind::Created);
        Ok(out)
    }

    /// The outcome of a write of (`etag`, `size`) at `now` to `key`, if its version exists.
    fn landed(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
        size: u64,
        now: Millis,
    ) -> Option<PutOutcome> {
        self.meta
            .read(|r| {
                let Some(info) = r.get_record::<BucketInfo>(BUCKETS, bucket.as_bytes())? else {
                    return Ok(None);
                };
                let (start, end) = (
                    schema::key_prefix(bucket, key),
                    schema::key_end(bucket, key),
                );
                for (_, bytes) in r.range(VERSIONS, &start, &end, 64)? {
                    let v: VersionRecord = decode(&bytes)?;
                    if !v.is_delete_marker
                        && v.last_modified == now
                        && v.etag == etag
                        && v.size == size
                    {
                        return Ok(Some(PutOutcome {
                            version_id: v.version_id,
                            versioned: info.versioning != Versioning::Unversioned,
                            etag: v.etag,
                            last_modified: v.last_modified,
                            retention: v.retention,
                        }));
                    }
                }
                Ok(None)
            })
            .ok()
            .flatten()
    }

    /// Reads a version's record. A delete marker is reported as [`StoreError::DeleteMarker`].
    pub fn get_version(
        &self,
        bucket: &str,
        key: &str,
        which: VersionRef<'_>,
    ) -> Result<VersionRecord, StoreError> {
        let v = self.meta.read(|r| r.resolve(bucket, key, which))?;
        if v.is_delete_marker {
            return Err(StoreError::DeleteMarker {
                version_id: v.version_id,
                last_modified: v.last_modified,
                current: matches!(which, VersionRef::Current),
            });
        }
        Ok(v)
    }

    /// Changes a version in place (tags, retention, legal hold) with `f`, which validates first.
    /// Delete markers cannot be changed. Returns the updated version.
    pub async fn update_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        f: impl FnOnce(&mut VersionRecord, &BucketInfo) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<VersionRecord, StoreError> {
        let (bucket, key) = (bucket.to_string(), key.to_string());
        let vid = version_id.map(str::to_string);
        self.meta
            .write(move |w| {
                let info: BucketInfo = w
                    .get_record(BUCKETS, bucket.as_bytes())?
                    .ok_or(StoreError::NoSuchBucket)?;
                let which = VersionRef::from_option(vid.as_deref());
                let mut v = w.resolve(&bucket, &key, which)?;
                if v.is_delete_marker {
                    return Err(StoreError::DeleteMarker {
                        version_id: v.version_id,
                        last_modified: v.last_modified,
                        current: vid.is_none(),
                    });
                }
                f(&mut v, &info)?;
                w.put_record(VERSIONS, &schema::version_key(&bucket, &key, v.seq), &v)?;
                Ok(v)
            })
            .await
    }

    /// DeleteObject: without a version id, per the bucket's versioning (remove, or add a delete
    /// marker); with one, permanently deletes that version if object lock allows. The key must
    /// pass the key rule (a delete marker may be written under it).
    pub async fn delete_object(
        &self,
        bucket: &str,
        target: DeleteTarget,
        bypass_governance: bool,
        now: Millis,
    ) -> Result<DeleteOutcome, StoreError> {
        check_object_key(&target.key)?;
        if let Some(vid) = &target.version_id {
            check_version_id(vid)?;
        }
        let b = bucket.to_string();
        let key = target.key.clone();
        let out = self
            .meta
            .write_freeing(move |w| {
                let t = &target;
                delete_in(
                    w,
                    &b,
                    &t.key,
                    t.version_id.as_deref(),
                    &t.conditions,
                    bypass_governance,
                    now,
                )
            })
            .await?;
        let vid = out.version_id.as_deref().unwrap_or_default();
        self.changes
            .emit(bucket, &key, vid, StoreChangeKind::Removed);
        Ok(out)
    }

    /// Deletes many objects, each independently (DeleteObjects); all in one group commit. A key
    /// the key rule refuses fails on its own, as a bad version id does.
    pub async fn delete_objects(
        &self,
        bucket: &str,
        targets: Vec<DeleteTarget>,
        bypass_governance: bool,
        now: Millis,
    ) -> Result<Vec<Result<DeleteOutcome, StoreError>>, StoreError> {
        let keys: Vec<String> = if self.changes.wants(bucket) {
            targets.iter().map(|t| t.key.clone()).collect()
        } else {
            Vec::new()
        };
        let b = bucket.to_string();
        let out = self
            .meta
            .write_freeing(move |w| {
                let bucket = &b;
                if w.get(BUCKETS, bucket.as_bytes())?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                let mut out = Vec::with_capacity(targets.len());
                for t in &targets {
                    let vid = t.version_id.as_deref();
                    let checked = check_object_key(&t.key)
                        .map_err(StoreError::from)
                        .and_then(|()| vid.map_or(Ok(()), check_version_id));
                    let r = match checked {
                        Err(e) => Err(e),
                        Ok(()) => delete_in(
                            w,
                            bucket,
                            &t.key,
                            vid,
                            &t.conditions,
                            bypass_governance,
                            now,
                        ),
                    };
                    if let Err(e) = &r
                        && e.is_storage()
                    {
                        return Err(e.clone());
                    }
                    out.push(r);
                }
                Ok(out)
            })
            .await?;
        for (key, r) in keys.iter().zip(&out) {
            if let Ok(d) = r {
                let vid = d.version_id.as_deref().unwrap_or_default();
                self.changes
                    .emit(bucket, key, vid, StoreChangeKind::Removed);
            }
        }
        Ok(out)
    }

    /// Current entries of `bucket` whose key starts with `prefix`, from key bytes `from`
    /// (inclusive), at most `limit`, delete markers included.
    pub fn scan_current(
        &self,
        bucket: &str,
        prefix: &str,
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<(String, CurrentEntry)>, StoreError> {
        let base = schema::bucket_prefix(bucket);
        let start = scan_start(&base, prefix, from);
        let end = prefix_end(&base, prefix).unwrap_or_else(|| schema::bucket_end(bucket));
        self.meta.read(|r| {
            if r.get(BUCKETS, bucket.as_bytes())?.is_none() {
                return Err(StoreError::NoSuchBucket);
            }
            r.range(CURRENT, &start, &end, limit)?
                .into_iter()
                .map(|(k, v)| {
                    let key =
                        String::from_utf8_lossy(schema::strip_bucket(bucket, &k)).into_owned();
                    Ok((key, decode(&v)?))
                })
                .collect()
        })
    }

    /// Versions of `bucket` whose key starts with `prefix`, starting at key bytes `from`
    /// (inclusive), or, with `after`, right after that `(key, version id)`; newest first per key.
    pub fn scan_versions(
        &self,
        bucket: &str,
        prefix: &str,
        from: &[u8],
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, VersionRecord)>, StoreError> {
        let base = schema::bucket_prefix(bucket);
        let end = prefix_end(&base, prefix).unwrap_or_else(|| schema::bucket_end(bucket));
        self.meta.read(|r| {
            if r.get(BUCKETS, bucket.as_bytes())?.is_none() {
                return Err(StoreError::NoSuchBucket);
            }
            let mut start = scan_start(&base, prefix, from);
            if let Some((key, vid)) = after {
                match r.find_version(bucket, key, vid)? {
                    Some(v) => {
                        let mut k = schema::version_key(bucket, key, v.seq);
                        k.push(0); // just past that version
                        if k > start {
                            start = k;
                        }
                    }
                    // Unknown marker version: continue after the whole key.
                    None => {
                        let k = schema::key_end(bucket, key);
                        if k > start {
                            start = k;
                        }
                    }
                }
            }
            r.range(VERSIONS, &start, &end, limit)?
                .into_iter()
                .map(|(k, v)| {
                    let rest = schema::strip_bucket(bucket, &k);
                    let key_bytes = &rest[..rest.len().saturating_sub(9)];
                    let key = String::from_utf8_lossy(key_bytes).into_owned();
                    debug_assert_eq!(
                        schema::seq_of_version_key(&k),
                        decode::<VersionRecord>(&v).map(|x| x.seq).unwrap_or(0)
                    );
                    Ok((key, decode(&v)?))
                })
                .collect()
        })
    }
}

/// The first key of a scan under `base` (a bucket's key prefix): `base` + whichever of `from`
/// and `prefix` sorts later.
pub(super) fn scan_start(base: &[u8], prefix: &str, from: &[u8]) -> Vec<u8> {
    let mut start = base.to_vec();
    start.extend_from_slice(if from > prefix.as_bytes() {
        from
    } else {
        prefix.as_bytes()
    });
    start
}

/// The exclusive end of all keys in `base` + `prefix`..., or `None` for an empty prefix.
fn prefix_end(base: &[u8], prefix: &str) -> Option<Vec<u8>> {
    if prefix.is_empty() {
        return None;
    }
    let mut p = base.to_vec();
    p.extend_from_slice(prefix.as_bytes());
    // UTF-8 never contains 0xff, so incrementing the last byte cannot overflow.
    if let Some(last) = p.last_mut() {
        *last += 1;
    }
    Some(p)
}

pub(super) fn delete_in(
    w: &mut WriteCtx,
    bucket: &str,
    key: &str,
    vid: Option<&str>,
    conditions: &DeleteConditions,
    bypass_governance: bool,
    now: Millis,
) -> Result<DeleteOutcome, StoreError> {
    let info: BucketInfo = w
        .get_record(BUCKETS, bucket.as_bytes())?
        .ok_or(StoreError::NoSuchBucket)?;
    if !conditions.is_empty() {
        let target = match vid {
            Some(vid) => w.find_version(bucket, key, vid)?,
            None => w.current(bucket, key)?,
        };
        match target {
            None => {
                return Ok(DeleteOutcome {
                    version_id: vid.map(str::to_string),
                    delete_marker: false,
                });
            }
            Some(v) if !conditions.hold_for(&v) => return Err(StoreError::PreconditionFailed),
            Some(_) => {}
        }
    }
    if let Some(vid) = vid {
        let Some(v) = w.find_version(bucket, key, vid)? else {
            // Deleting a version that does not exist succeeds, as on AWS.
            return Ok(DeleteOutcome {
                version_id: Some(vid.to_string()),
                delete_marker: false,
            });
        };
        lock::check_delete(&v, now, bypass_governance)?;
        remove_version(w, bucket, key, &v)?;
        return Ok(DeleteOutcome {
            version_id: Some(v.version_id.clone()),
            delete_marker: v.is_delete_marker,
        });
    }
    match info.versioning {
        Versioning::Unversioned => {
            if let Some(v) = w.find_version(bucket, key, "null")? {
                lock::check_delete(&v, now, bypass_governance)?;
                remove_version(w, bucket, key, &v)?;
            }
            Ok(DeleteOutcome::default())
        }
        Versioning::Enabled | Versioning::Suspended => {
            let replaced = match info.versioning {
                Versioning::Suspended => w.find_version(bucket, key, "null")?,
                _ => None,
            };
            if let Some(old) = &replaced {
                lock::check_delete(old, now, false)?;
            }
            let seq = w.next_seq();
            let version_id = if info.versioning == Versioning::Enabled {
                new_version_id(seq)
            } else {
                "null".to_string()
            };
            if let Some(old) = replaced {
                w.remove(VERSIONS, &schema::version_key(bucket, key, old.seq))?;
                w.release_data(&old.data)?;
            }
            let marker = VersionRecord {
                version_id: version_id.clone(),
                seq,
                is_delete_marker: true,
                last_modified: now,
                size: 0,
                etag: String::new(),
                data: ObjectData::empty(),
                meta: ObjectMeta::default(),
                checksum: None,
                parts: Vec::new(),
                tags: Vec::new(),
                retention: None,
                legal_hold: false,
                owner: None,
                acl: None,
                encryption: None,
            };
            w.put_record(VERSIONS, &schema::version_key(bucket, key, seq), &marker)?;
            w.put_record(
                CURRENT,
                &schema::current_key(bucket, key),
                &CurrentEntry::of(&marker),
            )?;
            Ok(DeleteOutcome {
                version_id: Some(version_id),
                delete_marker: true,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_carry_their_sequence() {
        let vid = new_version_id(42);
        assert_eq!(vid.len(), 32);
        assert_eq!(seq_of_version_id(&vid), Some(42));
        assert!(check_version_id("null").is_ok());
        assert!(check_version_id("garbage").is_err());
    }

    #[test]
    fn prefix_end_is_exclusive_successor() {
        assert_eq!(prefix_end(b"b\0", "a/"), Some(b"b\0a0".to_vec()));
        assert_eq!(prefix_end(b"b\0", ""), None);
    }
}
