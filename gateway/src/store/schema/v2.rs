//! Record shapes frozen at format version 2, for reading records a version-2 build wrote (see
//! the upgrade path in [`super`]). Each converts into the current type; version 3 added
//! server-side encryption, which a version-2 record never had.

use serde::{Deserialize, Serialize};

use crate::store::model::{
    AclGrant, Checksum, ChecksumAlgorithm, ChecksumType, Millis, ObjectData, ObjectMeta,
    PartSummary, Retention, UploadInfo, VersionRecord,
};

/// [`VersionRecord`] at version 2: not encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecordV2 {
    pub version_id: String,
    pub seq: u64,
    pub is_delete_marker: bool,
    pub last_modified: Millis,
    pub size: u64,
    pub etag: String,
    pub data: ObjectData,
    pub meta: ObjectMeta,
    pub checksum: Option<Checksum>,
    pub parts: Vec<PartSummary>,
    pub tags: Vec<(String, String)>,
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    pub owner: Option<String>,
    pub acl: Option<Vec<AclGrant>>,
}

impl From<VersionRecordV2> for VersionRecord {
    fn from(v: VersionRecordV2) -> Self {
        VersionRecord {
            version_id: v.version_id,
            seq: v.seq,
            is_delete_marker: v.is_delete_marker,
            last_modified: v.last_modified,
            size: v.size,
            etag: v.etag,
            data: v.data,
            meta: v.meta,
            checksum: v.checksum,
            parts: v.parts,
            tags: v.tags,
            retention: v.retention,
            legal_hold: v.legal_hold,
            owner: v.owner,
            acl: v.acl,
            encryption: None,
        }
    }
}

/// [`UploadInfo`] at version 2: not encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfoV2 {
    pub upload_id: String,
    pub key: String,
    pub initiated: Millis,
    pub meta: ObjectMeta,
    pub tags: Vec<(String, String)>,
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    pub checksum_type: Option<ChecksumType>,
    pub owner: Option<String>,
    pub acl: Option<Vec<AclGrant>>,
}

impl From<UploadInfoV2> for UploadInfo {
    fn from(u: UploadInfoV2) -> Self {
        UploadInfo {
            upload_id: u.upload_id,
            key: u.key,
            initiated: u.initiated,
            meta: u.meta,
            tags: u.tags,
            retention: u.retention,
            legal_hold: u.legal_hold,
            checksum_algorithm: u.checksum_algorithm,
            checksum_type: u.checksum_type,
            owner: u.owner,
            acl: u.acl,
            encryption: None,
        }
    }
}
