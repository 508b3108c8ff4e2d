//! The metadata records kept in redb, and the types inside them. How they are encoded and
//! versioned on disk, and which table holds which, is [`super::schema`]'s business: a change to
//! any type here that is part of a record changes the on-disk format (see the upgrade path
//! there).

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// A blob's identity: a random 128-bit id, its file name under `blobs/`.
pub type BlobId = u128;

/// Versioning state of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Versioning {
    /// Never enabled: only `null` versions, overwrite replaces.
    #[default]
    Unversioned,
    Enabled,
    Suspended,
}

/// Object-lock retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetentionMode {
    Governance,
    Compliance,
}

impl RetentionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionMode::Governance => "GOVERNANCE",
            RetentionMode::Compliance => "COMPLIANCE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GOVERNANCE" => Some(RetentionMode::Governance),
            "COMPLIANCE" => Some(RetentionMode::Compliance),
            _ => None,
        }
    }
}

/// A bucket's default retention (object lock configuration rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    pub mode: RetentionMode,
    pub days: Option<u32>,
    pub years: Option<u32>,
}

impl DefaultRetention {
    /// The retain-until date for an object written at `now`.
    pub fn retain_until(&self, now: Millis) -> Millis {
        const DAY: i64 = 86_400_000;
        let days = i64::from(self.days.unwrap_or(0)) + i64::from(self.years.unwrap_or(0)) * 365;
        now.saturating_add(days.saturating_mul(DAY))
    }
}

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketInfo {
    pub name: String,
    pub created: Millis,
    pub region: String,
    pub versioning: Versioning,
    /// Object lock was enabled at creation (or later); can never be disabled.
    pub object_lock_enabled: bool,
    pub default_retention: Option<DefaultRetention>,
    /// Bucket tags (PutBucketTagging).
    pub tags: Vec<(String, String)>,
}

/// A retention on one object version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: RetentionMode,
    pub retain_until: Millis,
}

/// A slice of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub blob: BlobId,
    pub offset: u64,
    pub len: u64,
}

/// Where an object version's (or a part's) bytes live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectData {
    /// Small objects ride inside their metadata record and are made durable by the same commit.
    Inline(Vec<u8>),
    /// Bytes are the concatenation of these blob slices (one for a plain PUT, one or more per part
    /// for a completed multipart upload, shared with the source after a copy).
    Segments(Vec<Segment>),
}

impl ObjectData {
    pub fn empty() -> Self {
        ObjectData::Inline(Vec::new())
    }

    /// How many bytes are stored (for encrypted data: the ciphertext's length).
    pub fn len(&self) -> u64 {
        match self {
            ObjectData::Inline(bytes) => bytes.len() as u64,
            ObjectData::Segments(s) => s.iter().map(|s| s.len).sum(),
        }
    }

    /// No bytes stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The blobs this data references (with repetition).
    pub fn blobs(&self) -> impl Iterator<Item = BlobId> + '_ {
        let segs: &[Segment] = match self {
            ObjectData::Inline(_) => &[],
            ObjectData::Segments(s) => s,
        };
        segs.iter().map(|s| s.blob)
    }

    /// The bytes `[start, start+len)` of this data, as data of its own (blob slices are shared,
    /// inline bytes copied).
    pub fn slice(&self, start: u64, len: u64) -> ObjectData {
        match self {
            ObjectData::Inline(bytes) => {
                let s = usize::try_from(start)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let e = usize::try_from(start.saturating_add(len))
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                ObjectData::Inline(bytes[s..e].to_vec())
            }
            ObjectData::Segments(segs) => {
                let mut out = Vec::new();
                let end = start.saturating_add(len);
                let mut pos = 0u64;
                for seg in segs {
                    let seg_end = pos + seg.len;
                    if seg_end > start && pos < end {
                        let from = start.max(pos);
                        let to = end.min(seg_end);
                        out.push(Segment {
                            blob: seg.blob,
                            offset: seg.offset + (from - pos),
                            len: to - from,
                        });
                    }
                    pos = seg_end;
                }
                ObjectData::Segments(out)
            }
        }
    }
}

/// HTTP-level metadata stored with an object and returned on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    pub website_redirect: Option<String>,
    /// `x-amz-meta-*` pairs, names lowercased, without the prefix, in the order received.
    pub user: Vec<(String, String)>,
    /// `None` means STANDARD.
    pub storage_class: Option<String>,
}

/// Checksum algorithms S3 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgorithm {
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// `CRC32`, `CRC32C`, ... as in `x-amz-checksum-algorithm`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The header carrying this checksum, e.g. `x-amz-checksum-crc32`.
    pub fn header(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether a multipart object can carry a full-object checksum of this algorithm.
    pub fn supports_full_object(self) -> bool {
        matches!(
            self,
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c | ChecksumAlgorithm::Crc64Nvme
        )
    }

    /// Whether a multipart object can carry a composite checksum of this algorithm.
    pub fn supports_composite(self) -> bool {
        !matches!(self, ChecksumAlgorithm::Crc64Nvme)
    }
}

/// Full-object or composite (checksum of the parts' checksums, `-N` suffixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChecksumType {
    FullObject,
    Composite,
}

impl ChecksumType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumType::FullObject => "FULL_OBJECT",
            ChecksumType::Composite => "COMPOSITE",
        }
    }
}

/// A stored checksum: algorithm, base64 value (with `-N` for composite), type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    pub value: String,
    pub kind: ChecksumType,
}

/// One part of a completed multipart object, kept for `partNumber` GETs and part checksums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartSummary {
    pub size: u64,
    pub checksum: Option<String>,
}

/// Who holds the key of an encrypted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SseMode {
    /// SSE-S3: the gateway's KMS, its default key.
    S3,
    /// SSE-KMS: the gateway's KMS, a key the request (or the bucket default) named.
    Kms,
    /// SSE-C: the customer's own key, sent with every request and never stored.
    Customer,
}

/// How an object version's (or an upload's) data is encrypted (see `crypto/`). The object key
/// is stored sealed under a key derived from the external key: the KMS data key (itself sealed
/// by the KMS) or the customer's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEncryption {
    pub mode: SseMode,
    /// SSE-S3 / SSE-KMS: the KMS key that sealed the data key (empty for SSE-C).
    pub kms_key: String,
    /// SSE-KMS: the encryption context as the request sent it (base64 of a JSON object).
    pub kms_context: Option<String>,
    /// SSE-S3 / SSE-KMS: the data key, sealed by the KMS (empty for SSE-C).
    pub sealed_data_key: Vec<u8>,
    /// `x-amz-server-side-encryption-bucket-key-enabled`, echoed in answers.
    pub bucket_key_enabled: bool,
    /// SSE-C: the base64 MD5 of the customer's key, echoed in answers (the key itself is never
    /// stored; a wrong one fails to open `sealed_object_key`).
    pub customer_key_md5: Option<String>,
    /// The IV of the key-encryption key (32 bytes).
    pub key_iv: Vec<u8>,
    /// The object key, sealed (48 bytes).
    pub sealed_object_key: Vec<u8>,
    /// A completed multipart object: the upload's number of each part, in order (each part is
    /// its own encrypted stream, keyed by that number). Empty for a single-part object.
    pub part_numbers: Vec<u32>,
}

/// One version of one object (or a delete marker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// `"null"` for the null version.
    pub version_id: String,
    /// Global write order; newer versions have larger sequence numbers.
    pub seq: u64,
    pub is_delete_marker: bool,
    pub last_modified: Millis,
    pub size: u64,
    /// ETag without quotes: hex MD5 for a single PUT, `md5-of-md5s-N` after multipart.
    pub etag: String,
    pub data: ObjectData,
    pub meta: ObjectMeta,
    pub checksum: Option<Checksum>,
    /// Parts of a multipart object; empty for a single PUT.
    pub parts: Vec<PartSummary>,
    pub tags: Vec<(String, String)>,
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    /// The canonical id of the user who owns this version; `None`: the bucket owner (the
    /// account). Added in version 2.
    pub owner: Option<String>,
    /// The version's access control list; `None`: the default, its owner with `FULL_CONTROL`.
    /// Added in version 2.
    pub acl: Option<Vec<AclGrant>>,
    /// Server-side encryption: `data` holds encrypted packages, `size` is the plaintext's.
    /// Added in version 3.
    pub encryption: Option<ObjectEncryption>,
}

/// The latest version of a key, as ListObjects shows it (kept in its own table so listing never
/// touches version records).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentEntry {
    pub seq: u64,
    pub version_id: String,
    pub is_delete_marker: bool,
    pub last_modified: Millis,
    pub size: u64,
    pub etag: String,
    pub storage_class: Option<String>,
}

impl CurrentEntry {
    pub fn of(v: &VersionRecord) -> Self {
        CurrentEntry {
            seq: v.seq,
            version_id: v.version_id.clone(),
            is_delete_marker: v.is_delete_marker,
            last_modified: v.last_modified,
            size: v.size,
            etag: v.etag.clone(),
            storage_class: v.meta.storage_class.clone(),
        }
    }
}

/// An in-progress multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    pub upload_id: String,
    pub key: String,
    pub initiated: Millis,
    pub meta: ObjectMeta,
    pub tags: Vec<(String, String)>,
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub checksum_type: Option<ChecksumType>,
    /// The initiator's canonical id, who will own the object; `None`: the bucket owner.
    /// Added in version 2.
    pub owner: Option<String>,
    /// The object's access control list once completed (`None`: the default). Added in
    /// version 2.
    pub acl: Option<Vec<AclGrant>>,
    /// Server-side encryption of the upload: every part is encrypted under this object key.
    /// Added in version 3.
    pub encryption: Option<ObjectEncryption>,
}

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub number: u32,
    pub etag: String,
    pub size: u64,
    pub last_modified: Millis,
    pub data: ObjectData,
    /// Checksums of this part, by algorithm (base64).
    pub checksums: Vec<(ChecksumAlgorithm, String)>,
}

/// The lifecycle scanner's saved progress through one bucket: JSON whose shape the scanner
/// owns (`lifecycle::scanner`), opaque to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannerState(pub Vec<u8>);

/// A bucket's S3 lifecycle configuration, translated to the lifecycle plugin's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3LifecycleConfig(pub String);

/// A bucket's CORS configuration: the `CORSConfiguration` XML as it was put (checked by
/// `s3/cors.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3CorsConfig(pub String);

// ---------------------------------------------------------------------------------------------
// Identities and permissions (the `iam` table; written and read by `iam/`)

/// An IAM user: a long-lived access key with its own policies. The root user is not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamUser {
    pub access_key: String,
    /// The secret key, sealed with the gateway's local key (bound to the access key).
    pub sealed_secret: Vec<u8>,
    /// Disabled users' requests are refused (and their access keys' too).
    pub enabled: bool,
    /// Names of the policies attached to the user.
    pub policies: Vec<String>,
    pub created: Millis,
    pub updated: Millis,
}

/// A group of users; its policies apply to every member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamGroup {
    pub name: String,
    /// Access keys of the member users.
    pub members: Vec<String>,
    pub policies: Vec<String>,
    /// A disabled group's policies grant nothing.
    pub enabled: bool,
    pub updated: Millis,
}

/// A named policy document (IAM JSON) that users and groups attach by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamPolicy {
    pub name: String,
    /// The JSON text as it was put.
    pub document: String,
    pub created: Millis,
    pub updated: Millis,
}

/// An access key that acts for a parent identity (a service account, or with a session token
/// the temporary credentials of an STS session): at most the parent's permissions, narrowed by
/// its own policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamAccessKey {
    pub access_key: String,
    pub sealed_secret: Vec<u8>,
    /// The access key of the user (or root) it acts for.
    pub parent: String,
    /// An embedded policy (IAM JSON): effective permissions are the parent's intersected
    /// with it. `None`: the parent's.
    pub policy: Option<String>,
    pub enabled: bool,
    /// After this instant the key is refused (and swept).
    pub expires: Option<Millis>,
    pub name: String,
    pub description: String,
    /// SHA-256 of the session token that must accompany requests (STS credentials only).
    pub session_token_sha256: Option<Vec<u8>>,
    pub created: Millis,
    pub updated: Millis,
}

/// A bucket's policy: the JSON text as it was put (checked by `iam/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3BucketPolicy(pub String);

/// Who an access control list grant is to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AclGrantee {
    /// One user, by canonical id: the root access key (the account) or an IAM user's name.
    User(String),
    /// Everyone, signed or not (`http://acs.amazonaws.com/groups/global/AllUsers`).
    AllUsers,
    /// Every signed request (`http://acs.amazonaws.com/groups/global/AuthenticatedUsers`).
    AuthenticatedUsers,
    /// The server access log writer (`http://acs.amazonaws.com/groups/s3/LogDelivery`).
    LogDelivery,
}

/// What an access control list grant allows (S3's five ACL permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AclPermission {
    Read,
    Write,
    ReadAcp,
    WriteAcp,
    FullControl,
}

/// One grant of an access control list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AclGrant {
    pub grantee: AclGrantee,
    pub permission: AclPermission,
}

/// A bucket's access control list (its owner is the account). No record means the default:
/// the owner alone, with `FULL_CONTROL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3BucketAcl {
    pub grants: Vec<AclGrant>,
}

/// Who owns the objects written into a bucket, and whether ACLs apply
/// (PutBucketOwnershipControls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectOwnership {
    /// ACLs are disabled; the bucket owner owns every object.
    BucketOwnerEnforced,
    /// The bucket owner owns objects written with the `bucket-owner-full-control` ACL.
    BucketOwnerPreferred,
    /// The writer owns what it writes.
    ObjectWriter,
}

/// A bucket's ownership controls (no record: none set, objects behave as `ObjectWriter`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3OwnershipControls {
    pub object_ownership: ObjectOwnership,
}

/// A bucket's Block Public Access settings (PutPublicAccessBlock).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3PublicAccessBlock {
    /// Refuse requests that set a public ACL.
    pub block_public_acls: bool,
    /// Public grants in bucket and object ACLs allow nothing.
    pub ignore_public_acls: bool,
    /// Refuse PutBucketPolicy with a public policy.
    pub block_public_policy: bool,
    /// A public bucket policy allows only the account's own principals.
    pub restrict_public_buckets: bool,
}

/// A bucket's server access logging configuration (PutBucketLogging): where its access log
/// records are delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3LoggingConfig {
    /// The bucket the log objects are written to (may be the bucket itself).
    pub target_bucket: String,
    /// The prefix of every log object's key (may be empty).
    pub target_prefix: String,
    /// `None`: SimplePrefix keys; `Some("EventTime" | "DeliveryTime")`: PartitionedPrefix keys
    /// with that date source. (Text, not an enum: validated by the S3 layer.)
    pub partition_date_source: Option<String>,
    /// When the configuration last changed (GetBucketLogging's `Last-Modified`).
    pub updated: Millis,
}

/// A bucket's default encryption (PutBucketEncryption): how objects written without encryption
/// headers are encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3EncryptionConfig {
    /// [`SseMode::S3`] or [`SseMode::Kms`] (SSE-C cannot be a default).
    pub mode: SseMode,
    /// SSE-KMS: the key to use (`None`: the KMS's default key).
    pub kms_key: Option<String>,
    pub bucket_key_enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::{decode, encode};

    #[test]
    fn slice_spans_segments() {
        let d = ObjectData::Segments(vec![
            Segment {
                blob: 1,
                offset: 0,
                len: 10,
            },
            Segment {
                blob: 2,
                offset: 5,
                len: 10,
            },
        ]);
        assert_eq!(
            d.slice(8, 5),
            ObjectData::Segments(vec![
                Segment {
                    blob: 1,
                    offset: 8,
                    len: 2
                },
                Segment {
                    blob: 2,
                    offset: 5,
                    len: 3
                },
            ])
        );
        assert_eq!(
            ObjectData::Inline(b"hello".to_vec()).slice(1, 3),
            ObjectData::Inline(b"ell".to_vec())
        );
    }

    #[test]
    fn records_round_trip() {
        let b = BucketInfo {
            name: "bronze".into(),
            created: 1,
            region: "us-east-1".into(),
            versioning: Versioning::Enabled,
            object_lock_enabled: true,
            default_retention: Some(DefaultRetention {
                mode: RetentionMode::Governance,
                days: Some(90),
                years: None,
            }),
            tags: vec![("layer".into(), "bronze".into())],
        };
        let back: BucketInfo = decode(&encode(&b).unwrap()).unwrap();
        assert_eq!(b, back);
        assert!(decode::<BucketInfo>(&[9, 9, 9]).is_err());
    }
}
