//! Identities and permissions as stored: the `iam` table (users, groups, named policies, access
//! keys) and buckets' policies (`system` `s3-policy/<bucket>`). What they mean, how secrets are
//! sealed and how requests are judged by them is `iam/`'s business; the store keeps the records
//! and changes several of them in one transaction.

use super::meta::{Tables, WriteCtx};
use super::model::{IamAccessKey, IamGroup, IamPolicy, IamUser, S3BucketPolicy};
use super::schema::{self, IAM, IamKind, Record, decode};
use super::{Store, StoreError};

/// Every record of the `iam` table, decoded.
#[derive(Debug, Clone, Default)]
pub struct IamRecords {
    pub users: Vec<IamUser>,
    pub groups: Vec<IamGroup>,
    pub policies: Vec<IamPolicy>,
    pub access_keys: Vec<IamAccessKey>,
}

/// The `iam` table inside one write transaction (see [`Store::iam_change`]).
pub struct IamChange<'a> {
    w: &'a mut WriteCtx,
}

/// The `[start, end)` key range of one kind of `iam` entry.
fn kind_range(kind: IamKind) -> (Vec<u8>, Vec<u8>) {
    let start = kind.prefix().as_bytes().to_vec();
    let mut end = start.clone();
    if let Some(last) = end.last_mut() {
        // Prefixes end in '/'; '0' is the next byte.
        *last += 1;
    }
    (start, end)
}

fn all_of<R: Record>(t: &impl Tables, kind: IamKind) -> Result<Vec<R>, StoreError> {
    let (start, end) = kind_range(kind);
    t.range(IAM, &start, &end, usize::MAX)?
        .into_iter()
        .map(|(_, v)| Ok(decode(&v)?))
        .collect()
}

impl IamChange<'_> {
    fn get<R: Record>(&self, kind: IamKind, name: &str) -> Result<Option<R>, StoreError> {
        self.w.get_record(IAM, &schema::iam_key(kind, name))
    }

    pub fn user(&self, access_key: &str) -> Result<Option<IamUser>, StoreError> {
        self.get(IamKind::User, access_key)
    }

    pub fn group(&self, name: &str) -> Result<Option<IamGroup>, StoreError> {
        self.get(IamKind::Group, name)
    }

    pub fn policy(&self, name: &str) -> Result<Option<IamPolicy>, StoreError> {
        self.get(IamKind::Policy, name)
    }

    pub fn access_key(&self, access_key: &str) -> Result<Option<IamAccessKey>, StoreError> {
        self.get(IamKind::AccessKey, access_key)
    }

    pub fn groups(&self) -> Result<Vec<IamGroup>, StoreError> {
        all_of(&*self.w, IamKind::Group)
    }

    pub fn users(&self) -> Result<Vec<IamUser>, StoreError> {
        all_of(&*self.w, IamKind::User)
    }

    pub fn access_keys(&self) -> Result<Vec<IamAccessKey>, StoreError> {
        all_of(&*self.w, IamKind::AccessKey)
    }

    pub fn put_user(&mut self, u: &IamUser) -> Result<(), StoreError> {
        self.w
            .put_record(IAM, &schema::iam_key(IamKind::User, &u.access_key), u)
    }

    pub fn put_group(&mut self, g: &IamGroup) -> Result<(), StoreError> {
        self.w
            .put_record(IAM, &schema::iam_key(IamKind::Group, &g.name), g)
    }

    pub fn put_policy(&mut self, p: &IamPolicy) -> Result<(), StoreError> {
        self.w
            .put_record(IAM, &schema::iam_key(IamKind::Policy, &p.name), p)
    }

    pub fn put_access_key(&mut self, k: &IamAccessKey) -> Result<(), StoreError> {
        self.w
            .put_record(IAM, &schema::iam_key(IamKind::AccessKey, &k.access_key), k)
    }

    /// Removes one entry; whether it existed.
    pub fn remove(&mut self, kind: IamKind, name: &str) -> Result<bool, StoreError> {
        self.w.remove(IAM, &schema::iam_key(kind, name))
    }
}

impl Store {
    /// Every user, group, named policy and access key.
    pub fn iam_records(&self) -> Result<IamRecords, StoreError> {
        self.meta.read(|r| {
            Ok(IamRecords {
                users: all_of(r, IamKind::User)?,
                groups: all_of(r, IamKind::Group)?,
                policies: all_of(r, IamKind::Policy)?,
                access_keys: all_of(r, IamKind::AccessKey)?,
            })
        })
    }

    /// Runs `change` on the `iam` table in one transaction. Like every store mutation, it must
    /// check everything before it writes anything: an error other than a storage error must
    /// leave the table as it was.
    pub async fn iam_change<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut IamChange<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.meta.write(move |w| change(&mut IamChange { w })).await
    }

    /// The bucket's policy (its JSON), if any.
    pub fn s3_bucket_policy(&self, bucket: &str) -> Result<Option<String>, StoreError> {
        let p: Option<S3BucketPolicy> = self.bucket_setting(&schema::s3_policy_key(bucket))?;
        Ok(p.map(|p| p.0))
    }

    /// Sets (or with `None` removes) the bucket's policy.
    pub async fn set_s3_bucket_policy(
        &self,
        bucket: &str,
        policy: Option<String>,
    ) -> Result<(), StoreError> {
        self.set_bucket_setting(
            bucket,
            schema::s3_policy_key(bucket),
            policy.map(S3BucketPolicy),
        )
        .await
    }
}
