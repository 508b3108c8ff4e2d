//! The on-disk schema of the metadata database (`<data-dir>/meta.redb`): every redb table, the
//! layout of its keys, every key of the `system` table, and the versioned encoding of every
//! stored record. Nothing else defines a table, a key layout or a record encoding; the rest of
//! the store imports them from here.
//!
//! # Tables
//!
//! Every table maps bytes to bytes ([`Table`]).
//!
//! | table | key | value | holds |
//! |---|---|---|---|
//! | [`BUCKETS`] | bucket name (UTF-8) | record [`BucketInfo`] | one entry per bucket |
//! | [`VERSIONS`] | bucket `\0` key `\0` (`u64::MAX` − seq, 8 bytes BE) ([`version_key`]) | record [`VersionRecord`] | every version and delete marker, newest first per key |
//! | [`CURRENT`] | bucket `\0` key ([`current_key`]) | record [`CurrentEntry`] | the newest version of each key (delete markers too): what listings read |
//! | [`UPLOADS`] | bucket `\0` key `\0` upload id ([`upload_key`]) | record [`UploadInfo`] | multipart uploads in progress |
//! | [`PARTS`] | upload id `\0` part number (u32 BE) ([`part_key`]) | record [`PartInfo`] | the parts uploaded so far |
//! | [`BLOB_REFS`] | blob id (u128 BE, 16 bytes) ([`blob_ref_key`]) | reference count (u32 BE, 4 bytes) | how many version and part records name each blob |
//! | [`SYSTEM`] | a name (see below) | per key | the gateway's own state |
//! | [`IAM`] | `user/<access key>`, `group/<name>`, `policy/<name>`, `key/<access key>` ([`iam_key`]) | record [`IamUser`], [`IamGroup`], [`IamPolicy`], [`IamAccessKey`] | identities and permissions |
//!
//! Invariants (kept by the store's mutations, relied on by its reads):
//! - Bucket names and object keys never contain NUL (the naming rules refuse it), so the `\0`
//!   separators keep byte order equal to (bucket, key) order, and a prefix's range ends at the
//!   same prefix with its last `\0` replaced by `\x01` ([`bucket_end`], [`key_end`]).
//! - `current[bucket, key]` exists iff the key has at least one version in `versions`, and
//!   describes the newest of them (the one with the largest sequence number).
//! - A version record's sequence number is the one in its `versions` key.
//! - Every `parts` entry belongs to an `uploads` entry with the same upload id; both are removed
//!   together when the upload completes or is aborted.
//! - `blob_refs[b]` is the number of `ObjectData::Segments` in `versions` and `parts` records that
//!   name blob `b`; an entry is removed when it reaches zero (and the blob is deleted after that
//!   commit). A blob without an entry is garbage (swept at open and periodically).
//!
//! # `system` keys
//!
//! Fixed names never contain `/`; per-bucket keys are a prefix ending in `/` and the bucket name
//! (bucket names never contain `/`), so no two kinds of key can collide.
//!
//! | key | value | holds |
//! |---|---|---|
//! | [`SEQ_KEY`] `seq` | u64 BE, 8 bytes ([`encode_seq`]) | the last sequence number committed (written by every commit) |
//! | `lifecycle-scan/<bucket>` ([`scanner_state_key`]) | record [`ScannerState`] | the lifecycle scanner's saved progress for the bucket |
//! | `s3-lifecycle/<bucket>` ([`s3_lifecycle_key`]) | record [`S3LifecycleConfig`] | the bucket's S3 lifecycle configuration |
//! | `s3-cors/<bucket>` ([`s3_cors_key`]) | record [`S3CorsConfig`] | the bucket's CORS configuration |
//! | `s3-policy/<bucket>` ([`s3_policy_key`]) | record [`S3BucketPolicy`] | the bucket's policy |
//! | `s3-acl/<bucket>` ([`s3_acl_key`]) | record [`S3BucketAcl`] | the bucket's access control list (none: the owner's `FULL_CONTROL`) |
//! | `s3-ownership/<bucket>` ([`s3_ownership_key`]) | record [`S3OwnershipControls`] | the bucket's object ownership setting |
//! | `s3-pab/<bucket>` ([`s3_public_access_block_key`]) | record [`S3PublicAccessBlock`] | the bucket's Block Public Access settings |
//! | `s3-logging/<bucket>` ([`s3_logging_key`]) | record [`S3LoggingConfig`] | the bucket's server access logging configuration |
//! | `s3-encryption/<bucket>` ([`s3_encryption_key`]) | record [`S3EncryptionConfig`] | the bucket's default encryption |
//!
//! The per-bucket keys are removed when their bucket is deleted.
//!
//! # Records
//!
//! A record is one format version byte followed by the postcard encoding of the record's type at
//! that version ([`encode`], [`decode`]); the whole value is the record (no trailing bytes).
//! Versions are counted per record type ([`RecordKind::version`]): a new `BucketInfo` version
//! does not change how an `VersionRecord` is written. `VersionRecord` and `UploadInfo` are at
//! version 3 (version 2 added an owner and an access control list, version 3 the server-side
//! encryption; [`v1`] and [`v2`] read the older versions); every other record type is at
//! version 1.
//!
//! Postcard is positional: a field is identified by its place, an enum variant by its index. So
//! adding, removing or reordering a field of a record type (or of a type inside it:
//! `ObjectMeta`, `ObjectData`, `Checksum`, ...), or inserting or reordering an enum variant,
//! changes the format — records already on disk would be misread. The golden-bytes tests
//! (`schema/tests.rs`, files under `gateway/tests/golden/store/`) fail when that happens.
//!
//! # Upgrade path
//!
//! When a record's format must change:
//! 1. Freeze the old shape: copy the record type (and the types inside it that change) as it is
//!    into a module named after the version (e.g. `schema/v1.rs`, `ObjectVersionV1`), with
//!    `From<ObjectVersionV1> for VersionRecord` filling new fields with what the old format
//!    meant.
//! 2. Change the current type and raise its version in [`RecordKind::version`] (to 2).
//! 3. Make [`Record::decode_older`] of that type read version 1 into the frozen type and convert
//!    it. The decoder keeps reading every older version for as long as a database written by a
//!    released build may hold one; [`decode`] refuses a version it does not know with
//!    [`RecordError::UnsupportedVersion`] (a database written by a newer build), never with a
//!    panic or a misread.
//! 4. Records are migrated on write: a record read in an old version is written back in the
//!    current one whenever it is next updated; nothing rewrites the database at open. If a
//!    change ever needs every record in the new form (e.g. a new key layout), add a migration
//!    that runs at open inside one write transaction, and record the schema generation it
//!    produced under a new fixed `system` key, so it runs once.
//! 5. Add golden files for the new version (`<record>.v2.full.hex`, `<record>.v2.minimal.hex`)
//!    and keep the old ones: the tests then check that the old bytes still decode (now through
//!    the upgrade) to the value they always meant.
//!
//! Golden files are never edited, only added. A golden test that fails after a change means
//! the change altered what is on disk: either undo it or introduce a new version as above.
//!
//! Keys have no version byte: a change of a key layout, a table or a `system` key is a schema
//! change that needs a migration at open (step 4).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::{
    BlobId, BucketInfo, CurrentEntry, IamAccessKey, IamGroup, IamPolicy, IamUser, PartInfo,
    S3BucketAcl, S3BucketPolicy, S3CorsConfig, S3EncryptionConfig, S3LifecycleConfig,
    S3LoggingConfig, S3OwnershipControls, S3PublicAccessBlock, ScannerState, UploadInfo,
    VersionRecord,
};

pub mod v1;
pub mod v2;

/// A table of the metadata database: bytes to bytes.
pub(crate) type Table = redb::TableDefinition<'static, &'static [u8], &'static [u8]>;

/// Buckets by name.
pub(crate) const BUCKETS: Table = Table::new("buckets");
/// Every object version and delete marker, newest first per key.
pub(crate) const VERSIONS: Table = Table::new("versions");
/// The newest version of each key.
pub(crate) const CURRENT: Table = Table::new("current");
/// Multipart uploads in progress.
pub(crate) const UPLOADS: Table = Table::new("uploads");
/// Parts of the uploads in progress.
pub(crate) const PARTS: Table = Table::new("parts");
/// Reference counts of blobs.
pub(crate) const BLOB_REFS: Table = Table::new("blob_refs");
/// The gateway's own state (see the module docs for its keys).
pub(crate) const SYSTEM: Table = Table::new("system");
/// Users, groups, named policies and access keys.
pub(crate) const IAM: Table = Table::new("iam");

/// Every table; all are created when the database is opened.
pub(crate) const ALL_TABLES: [Table; 8] = [
    BUCKETS, VERSIONS, CURRENT, UPLOADS, PARTS, BLOB_REFS, SYSTEM, IAM,
];

// ---------------------------------------------------------------------------------------------
// Key layout

/// `bucket \0` — the start of a bucket's range in `versions`, `current` and `uploads`.
pub(crate) fn bucket_prefix(bucket: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1);
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k
}

/// `bucket \x01` — the end (exclusive) of a bucket's range.
pub(crate) fn bucket_end(bucket: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1);
    k.extend_from_slice(bucket.as_bytes());
    k.push(1);
    k
}

/// `bucket \0 key` — the `current` table key.
pub(crate) fn current_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = bucket_prefix(bucket);
    k.extend_from_slice(key.as_bytes());
    k
}

/// `bucket \0 key \0` — the start of a key's versions (and uploads).
pub(crate) fn key_prefix(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = current_key(bucket, key);
    k.push(0);
    k
}

/// `bucket \0 key \x01` — the end (exclusive) of a key's versions.
pub(crate) fn key_end(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = current_key(bucket, key);
    k.push(1);
    k
}

/// `bucket \0 key \0 (u64::MAX - seq)` — the `versions` table key (newest first).
pub(crate) fn version_key(bucket: &str, key: &str, seq: u64) -> Vec<u8> {
    let mut k = key_prefix(bucket, key);
    k.extend_from_slice(&(u64::MAX - seq).to_be_bytes());
    k
}

/// The sequence number encoded at the end of a `versions` key.
pub(crate) fn seq_of_version_key(k: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    if k.len() >= 8 {
        b.copy_from_slice(&k[k.len() - 8..]);
    }
    u64::MAX - u64::from_be_bytes(b)
}

/// `bucket \0 key \0 upload id` — the `uploads` table key.
pub(crate) fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut k = key_prefix(bucket, key);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

/// `upload id \0 part number` — the `parts` table key.
pub(crate) fn part_key(upload_id: &str, number: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(upload_id.len() + 5);
    k.extend_from_slice(upload_id.as_bytes());
    k.push(0);
    k.extend_from_slice(&number.to_be_bytes());
    k
}

/// The range `[start, end)` of an upload's parts.
pub(crate) fn part_prefix(upload_id: &str) -> (Vec<u8>, Vec<u8>) {
    let mut start = upload_id.as_bytes().to_vec();
    start.push(0);
    let mut end = upload_id.as_bytes().to_vec();
    end.push(1);
    (start, end)
}

/// The part of `bucket \0 rest` after the bucket.
pub(crate) fn strip_bucket<'a>(bucket: &str, k: &'a [u8]) -> &'a [u8] {
    &k[(bucket.len() + 1).min(k.len())..]
}

/// The `blob_refs` key of a blob.
pub(crate) fn blob_ref_key(blob: BlobId) -> [u8; 16] {
    blob.to_be_bytes()
}

/// The blob a `blob_refs` key names (`None` for a key of another width).
pub(crate) fn blob_of_ref_key(k: &[u8]) -> Option<BlobId> {
    <[u8; 16]>::try_from(k).ok().map(BlobId::from_be_bytes)
}

// ---------------------------------------------------------------------------------------------
// `system` keys and fixed-width values

/// `system` key of the last committed sequence number.
pub(crate) const SEQ_KEY: &[u8] = b"seq";

/// `system` key prefix of the lifecycle scanner's saved state, per bucket.
const SCANNER_STATE_PREFIX: &str = "lifecycle-scan/";

/// `system` key prefix of buckets' S3 lifecycle configurations.
const S3_LIFECYCLE_PREFIX: &str = "s3-lifecycle/";
const S3_CORS_PREFIX: &str = "s3-cors/";
const S3_POLICY_PREFIX: &str = "s3-policy/";
const S3_ACL_PREFIX: &str = "s3-acl/";
const S3_OWNERSHIP_PREFIX: &str = "s3-ownership/";
const S3_PUBLIC_ACCESS_BLOCK_PREFIX: &str = "s3-pab/";
const S3_LOGGING_PREFIX: &str = "s3-logging/";
const S3_ENCRYPTION_PREFIX: &str = "s3-encryption/";

/// `lifecycle-scan/<bucket>`.
pub(crate) fn scanner_state_key(bucket: &str) -> Vec<u8> {
    format!("{SCANNER_STATE_PREFIX}{bucket}").into_bytes()
}

/// `s3-lifecycle/<bucket>`.
pub(crate) fn s3_lifecycle_key(bucket: &str) -> Vec<u8> {
    format!("{S3_LIFECYCLE_PREFIX}{bucket}").into_bytes()
}

/// `s3-cors/<bucket>`.
pub(crate) fn s3_cors_key(bucket: &str) -> Vec<u8> {
    format!("{S3_CORS_PREFIX}{bucket}").into_bytes()
}

/// `s3-policy/<bucket>`.
pub(crate) fn s3_policy_key(bucket: &str) -> Vec<u8> {
    format!("{S3_POLICY_PREFIX}{bucket}").into_bytes()
}

/// `s3-acl/<bucket>`.
pub(crate) fn s3_acl_key(bucket: &str) -> Vec<u8> {
    format!("{S3_ACL_PREFIX}{bucket}").into_bytes()
}

/// `s3-ownership/<bucket>`.
pub(crate) fn s3_ownership_key(bucket: &str) -> Vec<u8> {
    format!("{S3_OWNERSHIP_PREFIX}{bucket}").into_bytes()
}

/// `s3-pab/<bucket>`.
pub(crate) fn s3_public_access_block_key(bucket: &str) -> Vec<u8> {
    format!("{S3_PUBLIC_ACCESS_BLOCK_PREFIX}{bucket}").into_bytes()
}

/// `s3-logging/<bucket>`.
pub(crate) fn s3_logging_key(bucket: &str) -> Vec<u8> {
    format!("{S3_LOGGING_PREFIX}{bucket}").into_bytes()
}

/// `s3-encryption/<bucket>`.
pub(crate) fn s3_encryption_key(bucket: &str) -> Vec<u8> {
    format!("{S3_ENCRYPTION_PREFIX}{bucket}").into_bytes()
}

/// What an `iam` table entry is; its key is the kind's prefix and the entry's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamKind {
    User,
    Group,
    Policy,
    AccessKey,
}

impl IamKind {
    /// The key prefix (ends in `/`; no prefix is a prefix of another).
    pub const fn prefix(self) -> &'static str {
        match self {
            IamKind::User => "user/",
            IamKind::Group => "group/",
            IamKind::Policy => "policy/",
            IamKind::AccessKey => "key/",
        }
    }
}

/// `<kind prefix><name>`, the `iam` table key.
pub(crate) fn iam_key(kind: IamKind, name: &str) -> Vec<u8> {
    format!("{}{name}", kind.prefix()).into_bytes()
}

/// The value of `system` [`SEQ_KEY`].
pub(crate) fn encode_seq(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Reads the value of `system` [`SEQ_KEY`].
pub(crate) fn decode_seq(v: &[u8]) -> Result<u64, RecordError> {
    fixed::<8>("the sequence number", v).map(u64::from_be_bytes)
}

/// A `blob_refs` value.
pub(crate) fn encode_ref_count(n: u32) -> [u8; 4] {
    n.to_be_bytes()
}

/// Reads a `blob_refs` value.
pub(crate) fn decode_ref_count(v: &[u8]) -> Result<u32, RecordError> {
    fixed::<4>("a blob reference count", v).map(u32::from_be_bytes)
}

fn fixed<const N: usize>(what: &'static str, v: &[u8]) -> Result<[u8; N], RecordError> {
    <[u8; N]>::try_from(v).map_err(|_| RecordError::BadWidth {
        what,
        len: v.len(),
        expected: N,
    })
}

// ---------------------------------------------------------------------------------------------
// Records

/// The stored record types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// [`BucketInfo`], in `buckets`.
    BucketInfo,
    /// [`VersionRecord`], in `versions`.
    VersionRecord,
    /// [`CurrentEntry`], in `current`.
    CurrentEntry,
    /// [`UploadInfo`], in `uploads`.
    UploadInfo,
    /// [`PartInfo`], in `parts`.
    PartInfo,
    /// [`ScannerState`], in `system` under `lifecycle-scan/<bucket>`.
    ScannerState,
    /// [`S3LifecycleConfig`], in `system` under `s3-lifecycle/<bucket>`.
    S3LifecycleConfig,
    /// [`S3CorsConfig`], in `system` under `s3-cors/<bucket>`.
    S3CorsConfig,
    /// [`S3BucketPolicy`], in `system` under `s3-policy/<bucket>`.
    S3BucketPolicy,
    /// [`S3BucketAcl`], in `system` under `s3-acl/<bucket>`.
    S3BucketAcl,
    /// [`S3OwnershipControls`], in `system` under `s3-ownership/<bucket>`.
    S3OwnershipControls,
    /// [`S3PublicAccessBlock`], in `system` under `s3-pab/<bucket>`.
    S3PublicAccessBlock,
    /// [`S3LoggingConfig`], in `system` under `s3-logging/<bucket>`.
    S3LoggingConfig,
    /// [`S3EncryptionConfig`], in `system` under `s3-encryption/<bucket>`.
    S3EncryptionConfig,
    /// [`IamUser`], in `iam` under `user/<access key>`.
    IamUser,
    /// [`IamGroup`], in `iam` under `group/<name>`.
    IamGroup,
    /// [`IamPolicy`], in `iam` under `policy/<name>`.
    IamPolicy,
    /// [`IamAccessKey`], in `iam` under `key/<access key>`.
    IamAccessKey,
}

impl RecordKind {
    /// Every record type.
    pub const ALL: [RecordKind; 18] = [
        RecordKind::BucketInfo,
        RecordKind::VersionRecord,
        RecordKind::CurrentEntry,
        RecordKind::UploadInfo,
        RecordKind::PartInfo,
        RecordKind::ScannerState,
        RecordKind::S3LifecycleConfig,
        RecordKind::S3CorsConfig,
        RecordKind::S3BucketPolicy,
        RecordKind::S3BucketAcl,
        RecordKind::S3OwnershipControls,
        RecordKind::S3PublicAccessBlock,
        RecordKind::S3LoggingConfig,
        RecordKind::S3EncryptionConfig,
        RecordKind::IamUser,
        RecordKind::IamGroup,
        RecordKind::IamPolicy,
        RecordKind::IamAccessKey,
    ];

    /// The format version this build writes for this record type.
    pub const fn version(self) -> u8 {
        match self {
            RecordKind::VersionRecord | RecordKind::UploadInfo => 3,
            RecordKind::BucketInfo
            | RecordKind::CurrentEntry
            | RecordKind::PartInfo
            | RecordKind::ScannerState
            | RecordKind::S3LifecycleConfig
            | RecordKind::S3CorsConfig
            | RecordKind::S3BucketPolicy
            | RecordKind::S3BucketAcl
            | RecordKind::S3OwnershipControls
            | RecordKind::S3PublicAccessBlock
            | RecordKind::S3LoggingConfig
            | RecordKind::S3EncryptionConfig
            | RecordKind::IamUser
            | RecordKind::IamGroup
            | RecordKind::IamPolicy
            | RecordKind::IamAccessKey => 1,
        }
    }

    /// The record type's name.
    pub const fn name(self) -> &'static str {
        match self {
            RecordKind::BucketInfo => "BucketInfo",
            RecordKind::VersionRecord => "VersionRecord",
            RecordKind::CurrentEntry => "CurrentEntry",
            RecordKind::UploadInfo => "UploadInfo",
            RecordKind::PartInfo => "PartInfo",
            RecordKind::ScannerState => "ScannerState",
            RecordKind::S3LifecycleConfig => "S3LifecycleConfig",
            RecordKind::S3CorsConfig => "S3CorsConfig",
            RecordKind::S3BucketPolicy => "S3BucketPolicy",
            RecordKind::S3BucketAcl => "S3BucketAcl",
            RecordKind::S3OwnershipControls => "S3OwnershipControls",
            RecordKind::S3PublicAccessBlock => "S3PublicAccessBlock",
            RecordKind::S3LoggingConfig => "S3LoggingConfig",
            RecordKind::S3EncryptionConfig => "S3EncryptionConfig",
            RecordKind::IamUser => "IamUser",
            RecordKind::IamGroup => "IamGroup",
            RecordKind::IamPolicy => "IamPolicy",
            RecordKind::IamAccessKey => "IamAccessKey",
        }
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a stored value cannot be read (or a record written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("empty {0} record")]
    Empty(RecordKind),
    /// Written by a newer build (or not a record of this type at all).
    #[error(
        "{kind} record version {version} is not one this build reads (it writes version {current})"
    )]
    UnsupportedVersion {
        kind: RecordKind,
        version: u8,
        current: u8,
    },
    #[error("malformed {kind} record (version {version}): {source}")]
    Malformed {
        kind: RecordKind,
        version: u8,
        #[source]
        source: postcard::Error,
    },
    #[error("{kind} record (version {version}) has {len} bytes after its end")]
    TrailingBytes {
        kind: RecordKind,
        version: u8,
        len: usize,
    },
    #[error("{kind} record cannot be encoded: {source}")]
    Unencodable {
        kind: RecordKind,
        #[source]
        source: postcard::Error,
    },
    #[error("{what} is {len} bytes long, not {expected}")]
    BadWidth {
        what: &'static str,
        len: usize,
        expected: usize,
    },
}

/// A type stored as a versioned record (see the module docs).
pub trait Record: Serialize + DeserializeOwned {
    /// Which record type this is; its current version is `KIND.version()`.
    const KIND: RecordKind;

    /// Decodes the postcard `body` of a record written in an older `version`, upgrading it to
    /// the current type (see the upgrade path in the module docs). By default there is none.
    fn decode_older(version: u8, body: &[u8]) -> Result<Self, RecordError> {
        let _ = body;
        Err(RecordError::UnsupportedVersion {
            kind: Self::KIND,
            version,
            current: Self::KIND.version(),
        })
    }
}

/// Each record type is the [`RecordKind`] of the same name.
macro_rules! record_kinds {
    ($($record:ident),* $(,)?) => {
        $(impl Record for $record {
            const KIND: RecordKind = RecordKind::$record;
        })*
    };
}

record_kinds!(
    BucketInfo,
    CurrentEntry,
    PartInfo,
    ScannerState,
    S3LifecycleConfig,
    S3CorsConfig,
    S3BucketPolicy,
    S3BucketAcl,
    S3OwnershipControls,
    S3PublicAccessBlock,
    S3LoggingConfig,
    S3EncryptionConfig,
    IamUser,
    IamGroup,
    IamPolicy,
    IamAccessKey,
);

impl Record for VersionRecord {
    const KIND: RecordKind = RecordKind::VersionRecord;

    fn decode_older(version: u8, body: &[u8]) -> Result<Self, RecordError> {
        match version {
            1 => decode_body::<v1::VersionRecordV1>(Self::KIND, version, body).map(Into::into),
            2 => decode_body::<v2::VersionRecordV2>(Self::KIND, version, body).map(Into::into),
            _ => Err(RecordError::UnsupportedVersion {
                kind: Self::KIND,
                version,
                current: Self::KIND.version(),
            }),
        }
    }
}

impl Record for UploadInfo {
    const KIND: RecordKind = RecordKind::UploadInfo;

    fn decode_older(version: u8, body: &[u8]) -> Result<Self, RecordError> {
        match version {
            1 => decode_body::<v1::UploadInfoV1>(Self::KIND, version, body).map(Into::into),
            2 => decode_body::<v2::UploadInfoV2>(Self::KIND, version, body).map(Into::into),
            _ => Err(RecordError::UnsupportedVersion {
                kind: Self::KIND,
                version,
                current: Self::KIND.version(),
            }),
        }
    }
}

/// Encodes a record in its current version: the version byte, then postcard.
pub fn encode<R: Record>(record: &R) -> Result<Vec<u8>, RecordError> {
    postcard::to_extend(record, vec![R::KIND.version()]).map_err(|source| {
        RecordError::Unencodable {
            kind: R::KIND,
            source,
        }
    })
}

/// Decodes a record written by [`encode`] in the current version or an older one this build
/// still reads; anything else is a typed error, never a panic.
pub fn decode<R: Record>(bytes: &[u8]) -> Result<R, RecordError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(RecordError::Empty(R::KIND));
    };
    if version == R::KIND.version() {
        decode_body(R::KIND, version, body)
    } else {
        R::decode_older(version, body)
    }
}

/// The postcard body of a record of `kind` at `version`: exactly one value, nothing after it.
fn decode_body<T: DeserializeOwned>(
    kind: RecordKind,
    version: u8,
    body: &[u8],
) -> Result<T, RecordError> {
    let (value, rest) =
        postcard::take_from_bytes(body).map_err(|source| RecordError::Malformed {
            kind,
            version,
            source,
        })?;
    if !rest.is_empty() {
        return Err(RecordError::TrailingBytes {
            kind,
            version,
            len: rest.len(),
        });
    }
    Ok(value)
}

/// A decoded record of any type (what [`decode_record`] returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredRecord {
    BucketInfo(BucketInfo),
    VersionRecord(Box<VersionRecord>),
    CurrentEntry(CurrentEntry),
    UploadInfo(Box<UploadInfo>),
    PartInfo(PartInfo),
    ScannerState(ScannerState),
    S3LifecycleConfig(S3LifecycleConfig),
    S3CorsConfig(S3CorsConfig),
    S3BucketPolicy(S3BucketPolicy),
    S3BucketAcl(S3BucketAcl),
    S3OwnershipControls(S3OwnershipControls),
    S3PublicAccessBlock(S3PublicAccessBlock),
    S3LoggingConfig(S3LoggingConfig),
    S3EncryptionConfig(S3EncryptionConfig),
    IamUser(IamUser),
    IamGroup(IamGroup),
    IamPolicy(IamPolicy),
    IamAccessKey(IamAccessKey),
}

impl StoredRecord {
    /// Encodes the record again (in the current version).
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        match self {
            StoredRecord::BucketInfo(r) => encode(r),
            StoredRecord::VersionRecord(r) => encode(r.as_ref()),
            StoredRecord::CurrentEntry(r) => encode(r),
            StoredRecord::UploadInfo(r) => encode(r.as_ref()),
            StoredRecord::PartInfo(r) => encode(r),
            StoredRecord::ScannerState(r) => encode(r),
            StoredRecord::S3LifecycleConfig(r) => encode(r),
            StoredRecord::S3CorsConfig(r) => encode(r),
            StoredRecord::S3BucketPolicy(r) => encode(r),
            StoredRecord::S3BucketAcl(r) => encode(r),
            StoredRecord::S3OwnershipControls(r) => encode(r),
            StoredRecord::S3PublicAccessBlock(r) => encode(r),
            StoredRecord::S3LoggingConfig(r) => encode(r),
            StoredRecord::S3EncryptionConfig(r) => encode(r),
            StoredRecord::IamUser(r) => encode(r),
            StoredRecord::IamGroup(r) => encode(r),
            StoredRecord::IamPolicy(r) => encode(r),
            StoredRecord::IamAccessKey(r) => encode(r),
        }
    }
}

/// Decodes stored bytes as a record of `kind`: the entry point for tools and fuzz targets that
/// read records without knowing their Rust type.
pub fn decode_record(kind: RecordKind, bytes: &[u8]) -> Result<StoredRecord, RecordError> {
    Ok(match kind {
        RecordKind::BucketInfo => StoredRecord::BucketInfo(decode(bytes)?),
        RecordKind::VersionRecord => StoredRecord::VersionRecord(Box::new(decode(bytes)?)),
        RecordKind::CurrentEntry => StoredRecord::CurrentEntry(decode(bytes)?),
        RecordKind::UploadInfo => StoredRecord::UploadInfo(Box::new(decode(bytes)?)),
        RecordKind::PartInfo => StoredRecord::PartInfo(decode(bytes)?),
        RecordKind::ScannerState => StoredRecord::ScannerState(decode(bytes)?),
        RecordKind::S3LifecycleConfig => StoredRecord::S3LifecycleConfig(decode(bytes)?),
        RecordKind::S3CorsConfig => StoredRecord::S3CorsConfig(decode(bytes)?),
        RecordKind::S3BucketPolicy => StoredRecord::S3BucketPolicy(decode(bytes)?),
        RecordKind::S3BucketAcl => StoredRecord::S3BucketAcl(decode(bytes)?),
        RecordKind::S3OwnershipControls => StoredRecord::S3OwnershipControls(decode(bytes)?),
        RecordKind::S3PublicAccessBlock => StoredRecord::S3PublicAccessBlock(decode(bytes)?),
        RecordKind::S3LoggingConfig => StoredRecord::S3LoggingConfig(decode(bytes)?),
        RecordKind::S3EncryptionConfig => StoredRecord::S3EncryptionConfig(decode(bytes)?),
        RecordKind::IamUser => StoredRecord::IamUser(decode(bytes)?),
        RecordKind::IamGroup => StoredRecord::IamGroup(decode(bytes)?),
        RecordKind::IamPolicy => StoredRecord::IamPolicy(decode(bytes)?),
        RecordKind::IamAccessKey => StoredRecord::IamAccessKey(decode(bytes)?),
    })
}

#[cfg(test)]
mod tests;
