//! Bucket records: create, look up, list, configure, delete.

use super::meta::Tables;
use super::model::*;
use super::names::check_bucket_name;
use super::schema::{self, BUCKETS, CURRENT, PARTS, Record, SYSTEM, UPLOADS, VERSIONS, decode};
use super::{Store, StoreError};

/// A new bucket's access settings (none: the defaults).
#[derive(Debug, Clone, Default)]
pub struct BucketAccess {
    pub acl: Option<S3BucketAcl>,
    pub ownership: Option<S3OwnershipControls>,
}

impl Store {
    /// Creates a bucket. `object_lock` turns versioning on with it, as on AWS. The name must
    /// pass the bucket naming rules ([`check_bucket_name`]).
    pub async fn create_bucket(
        &self,
        name: &str,
        region: &str,
        object_lock: bool,
        now: Millis,
    ) -> Result<BucketInfo, StoreError> {
        self.create_bucket_with(name, region, object_lock, BucketAccess::default(), now)
            .await
    }

    /// Creates a bucket with its access settings (an ACL, ownership controls), all in one
    /// transaction.
    pub async fn create_bucket_with(
        &self,
        name: &str,
        region: &str,
        object_lock: bool,
        access: BucketAccess,
        now: Millis,
    ) -> Result<BucketInfo, StoreError> {
        check_bucket_name(name)?;
        let info = BucketInfo {
            name: name.to_string(),
            created: now,
            region: region.to_string(),
            versioning: if object_lock {
                Versioning::Enabled
            } else {
                Versioning::Unversioned
            },
            object_lock_enabled: object_lock,
            default_retention: None,
            tags: Vec::new(),
        };
        let record = info.clone();
        self.meta
            .write(move |w| {
                if w.get(BUCKETS, record.name.as_bytes())?.is_some() {
                    return Err(StoreError::BucketExists);
                }
                w.put_record(BUCKETS, record.name.as_bytes(), &record)?;
                if let Some(acl) = &access.acl {
                    w.put_record(SYSTEM, &schema::s3_acl_key(&record.name), acl)?;
                }
                if let Some(o) = &access.ownership {
                    w.put_record(SYSTEM, &schema::s3_ownership_key(&record.name), o)?;
                }
                Ok(())
            })
            .await?;
        Ok(info)
    }

    pub fn bucket(&self, name: &str) -> Result<BucketInfo, StoreError> {
        self.meta
            .read(|r| r.get_record(BUCKETS, name.as_bytes()))?
            .ok_or(StoreError::NoSuchBucket)
    }

    pub fn list_buckets(&self) -> Result<Vec<BucketInfo>, StoreError> {
        self.meta.read(|r| {
            r.range(BUCKETS, &[], &[0xff], usize::MAX)?
                .into_iter()
                .map(|(_, v)| Ok(decode(&v)?))
                .collect()
        })
    }

    /// Changes a bucket's configuration with `f`, which validates and may refuse.
    pub async fn update_bucket(
        &self,
        name: &str,
        f: impl FnOnce(&mut BucketInfo) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<BucketInfo, StoreError> {
        let name = name.to_string();
        self.meta
            .write(move |w| {
                let mut info: BucketInfo = w
                    .get_record(BUCKETS, name.as_bytes())?
                    .ok_or(StoreError::NoSuchBucket)?;
                f(&mut info)?;
                w.put_record(BUCKETS, name.as_bytes(), &info)?;
                Ok(info)
            })
            .await
    }

    /// Deletes a bucket that holds no object versions and no delete markers. Multipart uploads
    /// still in progress are aborted with it, in the same transaction (their parts' data is
    /// released), as AWS does: an upload cannot outlive its bucket, and clients that clean up
    /// (test suites, `aws s3 rb`) should not have to list and abort them first.
    pub async fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_string();
        self.meta
            .write_freeing(move |w| {
                if w.get(BUCKETS, name.as_bytes())?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                let (start, end) = (schema::bucket_prefix(&name), schema::bucket_end(&name));
                if w.any_in(VERSIONS, &start, &end)? || w.any_in(CURRENT, &start, &end)? {
                    return Err(StoreError::BucketNotEmpty);
                }
                for (ukey, v) in w.range(UPLOADS, &start, &end, usize::MAX)? {
                    let upload: UploadInfo = decode(&v)?;
                    let (pstart, pend) = schema::part_prefix(&upload.upload_id);
                    for (pkey, pv) in w.range(PARTS, &pstart, &pend, usize::MAX)? {
                        let part: PartInfo = decode(&pv)?;
                        w.release_data(&part.data)?;
                        w.remove(PARTS, &pkey)?;
                    }
                    w.remove(UPLOADS, &ukey)?;
                }
                w.remove(BUCKETS, name.as_bytes())?;
                // The bucket's settings go with it: a bucket created later under the same name
                // starts without them.
                w.remove(SYSTEM, &schema::s3_lifecycle_key(&name))?;
                w.remove(SYSTEM, &schema::scanner_state_key(&name))?;
                w.remove(SYSTEM, &schema::s3_cors_key(&name))?;
                w.remove(SYSTEM, &schema::s3_policy_key(&name))?;
                w.remove(SYSTEM, &schema::s3_acl_key(&name))?;
                w.remove(SYSTEM, &schema::s3_ownership_key(&name))?;
                w.remove(SYSTEM, &schema::s3_public_access_block_key(&name))?;
                w.remove(SYSTEM, &schema::s3_logging_key(&name))?;
                w.remove(SYSTEM, &schema::s3_encryption_key(&name))?;
                Ok(())
            })
            .await
    }
}

impl Store {
    /// One of a bucket's settings kept in `system` under `key` (its S3 lifecycle
    /// configuration, CORS configuration, policy).
    pub(crate) fn bucket_setting<R: Record>(&self, key: &[u8]) -> Result<Option<R>, StoreError> {
        self.meta.read(|r| r.get_record::<R>(SYSTEM, key))
    }

    /// Sets one of a bucket's settings (the bucket must exist: checked in the same
    /// transaction), or with `None` removes it.
    pub(crate) async fn set_bucket_setting<R: Record + Send + 'static>(
        &self,
        bucket: &str,
        key: Vec<u8>,
        value: Option<R>,
    ) -> Result<(), StoreError> {
        let b = bucket.to_string();
        self.meta
            .write(move |w| {
                match value {
                    Some(v) => {
                        if w.get(BUCKETS, b.as_bytes())?.is_none() {
                            return Err(StoreError::NoSuchBucket);
                        }
                        w.put_record(SYSTEM, &key, &v)?;
                    }
                    None => {
                        w.remove(SYSTEM, &key)?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// The bucket's CORS configuration (its XML), if any.
    pub fn s3_cors(&self, bucket: &str) -> Result<Option<String>, StoreError> {
        let c: Option<S3CorsConfig> = self.bucket_setting(&schema::s3_cors_key(bucket))?;
        Ok(c.map(|c| c.0))
    }

    /// Sets (or with `None` removes) the bucket's CORS configuration.
    pub async fn set_s3_cors(
        &self,
        bucket: &str,
        config: Option<String>,
    ) -> Result<(), StoreError> {
        self.set_bucket_setting(
            bucket,
            schema::s3_cors_key(bucket),
            config.map(S3CorsConfig),
        )
        .await
    }

    /// The bucket's server access logging configuration, if logging is on.
    pub fn s3_logging(&self, bucket: &str) -> Result<Option<S3LoggingConfig>, StoreError> {
        self.bucket_setting(&schema::s3_logging_key(bucket))
    }

    /// Sets (or with `None` turns off) the bucket's server access logging.
    pub async fn set_s3_logging(
        &self,
        bucket: &str,
        config: Option<S3LoggingConfig>,
    ) -> Result<(), StoreError> {
        self.set_bucket_setting(bucket, schema::s3_logging_key(bucket), config)
            .await
    }

    /// The bucket's default encryption, if one was set.
    pub fn s3_encryption(&self, bucket: &str) -> Result<Option<S3EncryptionConfig>, StoreError> {
        self.bucket_setting(&schema::s3_encryption_key(bucket))
    }

    /// Sets (or with `None` removes) the bucket's default encryption.
    pub async fn set_s3_encryption(
        &self,
        bucket: &str,
        config: Option<S3EncryptionConfig>,
    ) -> Result<(), StoreError> {
        self.set_bucket_setting(bucket, schema::s3_encryption_key(bucket), config)
            .await
    }

    /// The bucket's access control list, if one was set (none: the owner's `FULL_CONTROL`).
    pub fn s3_bucket_acl(&self, bucket: &str) -> Result<Option<S3BucketAcl>, StoreError> {
        self.bucket_setting(&schema::s3_acl_key(bucket))
    }

    /// Sets (or with `None` resets to the default) the bucket's access control list.
    pub async fn set_s3_bucket_acl(
        &self,
        bucket: &str,
        acl: Option<S3BucketAcl>,
    ) -> Result<(), StoreError> {
        self.set_bucket_setting(bucket, schema::s3_acl_key(bucket), acl)
            .await
    }

    /// The bucket's ownership controls, if any.
    pub fn s3_ownership(&self, bucket: &str) -> Result<Option<S3OwnershipControls>, StoreError> {
        self.bucket_setting(&schema::s3_ownership_key(bucket))
    }

    /// Sets (or with `None` removes) the bucket's ownership controls. `check` sees the bucket's
    /// ACL in the same transaction and may refuse the change.
    pub async fn set_s3_ownership(
        &self,
        bucket: &str,
        controls: Option<S3OwnershipControls>,
        check: impl FnOnce(Option<&S3BucketAcl>) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), StoreError> {
        let b = bucket.to_string();
        self.meta
            .write(move |w| {
                if w.get(BUCKETS, b.as_bytes())?.is_none() {
                    return Err(StoreError::NoSuchBucket);
                }
                let acl: Option<S3BucketAcl> = w.get_record(SYSTEM, &schema::s3_acl_key(&b))?;
                check(acl.as_ref())?;
                let key = schema::s3_ownership_key(&b);
                match controls {
                    Some(c) => w.put_record(SYSTEM, &key, &c)?,
                    None => {
                        w.remove(SYSTEM, &key)?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// The bucket's Block Public Access settings, if any.
    pub fn s3_public_access_block(
        &self,
        bucket: &str,
    ) -> Result<Option<S3PublicAccessBlock>, StoreError> {
        self.bucket_setting(&schema::s3_public_access_block_key(bucket))
    }

    /// Sets (or with `None` removes) the bucket's Block Public Access settings.
    pub async fn set_s3_public_access_block(
        &self,
        bucket: &str,
        block: Option<S3PublicAccessBlock>,
    ) -> Result<(), StoreError> {
        self.set_bucket_setting(bucket, schema::s3_public_access_block_key(bucket), block)
            .await
    }
}
