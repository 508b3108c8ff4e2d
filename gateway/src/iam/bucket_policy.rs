//! Buckets' policies: stored as their JSON text (`system` `s3-policy/<bucket>`), parsed once and
//! kept in memory, so judging a request never reads the store for them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::document::{PolicyDocument, PolicyError, PolicyKind};
use crate::store::{Store, StoreError};

/// Why a bucket policy could not be read or set.
#[derive(Debug, thiserror::Error)]
pub enum BucketPolicyError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Most buckets whose policy (or its absence) is remembered at once.
const MAX_CACHED: usize = 100_000;

/// Every bucket's policy, cached.
pub struct BucketPolicies {
    store: Arc<Store>,
    /// `None`: the bucket has no policy (cached too).
    cache: RwLock<HashMap<String, Option<Arc<PolicyDocument>>>>,
}

impl std::fmt::Debug for BucketPolicies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketPolicies").finish_non_exhaustive()
    }
}

impl BucketPolicies {
    pub fn new(store: Arc<Store>) -> Self {
        BucketPolicies {
            store,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The bucket's policy, if it has one.
    pub fn get(&self, bucket: &str) -> Result<Option<Arc<PolicyDocument>>, StoreError> {
        if let Ok(cache) = self.cache.read()
            && let Some(p) = cache.get(bucket)
        {
            return Ok(p.clone());
        }
        let parsed = match self.store.s3_bucket_policy(bucket)? {
            None => None,
            Some(json) => {
                let kind = PolicyKind::Bucket {
                    bucket: bucket.to_string(),
                };
                match PolicyDocument::parse(json.as_bytes(), &kind) {
                    Ok(d) => Some(Arc::new(d)),
                    Err(e) => {
                        // Only a policy a newer or older build accepted; it grants nothing here.
                        tracing::error!(bucket, error = %e, "stored bucket policy does not parse; ignored");
                        None
                    }
                }
            }
        };
        // A put or delete that raced this read has cached the newer state: keep it.
        if let Ok(mut cache) = self.cache.write() {
            // Requests may name any bucket, existing or not: bound what they can make us keep.
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            return Ok(cache.entry(bucket.to_string()).or_insert(parsed).clone());
        }
        Ok(parsed)
    }

    /// Checks and stores a bucket's policy; answers the parsed document.
    pub async fn put(
        &self,
        bucket: &str,
        json: &[u8],
    ) -> Result<Arc<PolicyDocument>, BucketPolicyError> {
        let kind = PolicyKind::Bucket {
            bucket: bucket.to_string(),
        };
        let doc = Arc::new(PolicyDocument::parse(json, &kind)?);
        self.store
            .set_s3_bucket_policy(bucket, Some(doc.source().to_string()))
            .await?;
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(bucket.to_string(), Some(doc.clone()));
        }
        Ok(doc)
    }

    /// Removes a bucket's policy.
    pub async fn delete(&self, bucket: &str) -> Result<(), StoreError> {
        self.store.set_s3_bucket_policy(bucket, None).await?;
        self.forget(bucket);
        Ok(())
    }

    /// Records that a bucket has no policy (after the bucket or its policy was deleted).
    pub fn forget(&self, bucket: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(bucket.to_string(), None);
        }
    }
}
