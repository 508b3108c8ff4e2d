//! Golden-bytes tests of the stored records: a fixed, fully populated value and a minimal one per
//! record type, encoded and compared with committed bytes under `gateway/tests/golden/store/`,
//! and the committed bytes decoded back. Postcard is positional, so adding, removing or
//! reordering a field (or an enum variant) changes the bytes and fails here.
//!
//! The golden files are never edited, only added (see the upgrade path in [`super`]). A missing
//! file is written when the tests run with `LAKEGATE_WRITE_NEW_GOLDEN=1`; an existing one is never
//! overwritten.

use std::path::PathBuf;

use super::*;
use crate::store::model::*;

const NEW_GOLDEN: &str = "LAKEGATE_WRITE_NEW_GOLDEN";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/store")
}

/// Parses a `.hex` golden file: `#` comment lines, then hex digits (whitespace ignored).
fn parse_hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    hex::decode(digits).expect("golden file is hex")
}

/// Renders bytes as a `.hex` golden file: a comment line, then 32 bytes per line.
fn render_hex(comment: &str, bytes: &[u8]) -> String {
    let mut out = format!("# {comment}\n");
    for chunk in bytes.chunks(32) {
        out.push_str(&hex::encode(chunk));
        out.push('\n');
    }
    out
}

/// The committed bytes of golden file `name` (created from `actual` when missing and
/// [`NEW_GOLDEN`] is set; never overwritten).
fn golden(name: &str, comment: &str, actual: &[u8]) -> Vec<u8> {
    let path = golden_dir().join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_hex(&text),
        Err(_) if std::env::var_os(NEW_GOLDEN).is_some() => {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, render_hex(comment, actual)).unwrap();
            actual.to_vec()
        }
        Err(e) => panic!(
            "golden file {} is missing ({e}); a new record version adds one: run the tests with \
             {NEW_GOLDEN}=1 once to write it, then review and commit it",
            path.display()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures. Every field is set to a value that differs from its neighbours', so a reordering
// shows in the bytes.

fn meta_full() -> ObjectMeta {
    ObjectMeta {
        content_type: Some("application/vnd.apache.parquet".into()),
        content_encoding: Some("gzip".into()),
        content_disposition: Some("attachment; filename=\"part-0.parquet\"".into()),
        content_language: Some("en-GB".into()),
        cache_control: Some("max-age=3600".into()),
        expires: Some("Thu, 01 Jan 2026 00:00:00 GMT".into()),
        website_redirect: Some("/silver/index.html".into()),
        user: vec![
            ("pipeline".into(), "ingest".into()),
            ("run-id".into(), "42".into()),
        ],
        storage_class: Some("STANDARD_IA".into()),
    }
}

fn bucket_full() -> BucketInfo {
    BucketInfo {
        name: "bronze-lake".into(),
        created: 1_700_000_000_123,
        region: "eu-central-1".into(),
        versioning: Versioning::Enabled,
        object_lock_enabled: true,
        default_retention: Some(DefaultRetention {
            mode: RetentionMode::Compliance,
            days: Some(90),
            years: Some(2),
        }),
        tags: vec![
            ("layer".into(), "bronze".into()),
            ("owner".into(), "data-eng".into()),
        ],
    }
}

fn bucket_minimal() -> BucketInfo {
    BucketInfo {
        name: "abc".into(),
        created: 0,
        region: String::new(),
        versioning: Versioning::Unversioned,
        object_lock_enabled: false,
        default_retention: None,
        tags: Vec::new(),
    }
}

fn version_full() -> VersionRecord {
    VersionRecord {
        version_id: "00000000000000070123456789abcdef".into(),
        seq: 7,
        is_delete_marker: false,
        last_modified: 1_700_000_100_456,
        size: 15_728_640,
        etag: "9b2cf535f27731c974343645a3985328-2".into(),
        data: ObjectData::Segments(vec![
            Segment {
                blob: 0x0123_4567_89ab_cdef_0011_2233_4455_6677,
                offset: 0,
                len: 10_485_760,
            },
            Segment {
                blob: 0xfedc_ba98_7654_3210_8899_aabb_ccdd_eeff,
                offset: 4096,
                len: 5_242_880,
            },
        ]),
        meta: meta_full(),
        checksum: Some(Checksum {
            algorithm: ChecksumAlgorithm::Crc32c,
            value: "yZRlqg==-2".into(),
            kind: ChecksumType::Composite,
        }),
        parts: vec![
            PartSummary {
                size: 10_485_760,
                checksum: Some("AAAAAA==".into()),
            },
            PartSummary {
                size: 5_242_880,
                checksum: None,
            },
        ],
        tags: vec![("class".into(), "raw".into()), ("pii".into(), "no".into())],
        retention: Some(Retention {
            mode: RetentionMode::Governance,
            retain_until: 1_707_776_100_456,
        }),
        legal_hold: true,
        owner: None,
        acl: None,
        encryption: None,
    }
}

/// A small object kept inline, with a full-object checksum.
fn version_inline() -> VersionRecord {
    VersionRecord {
        version_id: "null".into(),
        seq: 3,
        is_delete_marker: false,
        last_modified: 1_700_000_000_999,
        size: 12,
        etag: "6f5902ac237024bdd0c176cb93063dc4".into(),
        data: ObjectData::Inline(b"hello, lake\n".to_vec()),
        meta: ObjectMeta {
            content_type: Some("text/plain".into()),
            ..ObjectMeta::default()
        },
        checksum: Some(Checksum {
            algorithm: ChecksumAlgorithm::Sha256,
            value: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=".into(),
            kind: ChecksumType::FullObject,
        }),
        parts: Vec::new(),
        tags: Vec::new(),
        retention: None,
        legal_hold: false,
        owner: None,
        acl: None,
        encryption: None,
    }
}

/// A delete marker: the least a version record holds.
fn version_minimal() -> VersionRecord {
    VersionRecord {
        version_id: "null".into(),
        seq: 1,
        is_delete_marker: true,
        last_modified: 0,
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
    }
}

fn current_full() -> CurrentEntry {
    CurrentEntry::of(&version_full())
}

fn current_minimal() -> CurrentEntry {
    CurrentEntry::of(&version_minimal())
}

fn upload_full() -> UploadInfo {
    UploadInfo {
        upload_id: "2c0f6e0e-9d1b-4c52-8a57-5b8b3f9d0a11".into(),
        key: "silver/2024/part-0.parquet".into(),
        initiated: 1_700_000_050_000,
        meta: meta_full(),
        tags: vec![("stage".into(), "upload".into())],
        retention: Some(Retention {
            mode: RetentionMode::Compliance,
            retain_until: 1_800_000_000_000,
        }),
        legal_hold: true,
        checksum_algorithm: Some(ChecksumAlgorithm::Crc64Nvme),
        checksum_type: Some(ChecksumType::FullObject),
        owner: None,
        acl: None,
        encryption: None,
    }
}

fn upload_minimal() -> UploadInfo {
    UploadInfo {
        upload_id: "u".into(),
        key: "k".into(),
        initiated: 0,
        meta: ObjectMeta::default(),
        tags: Vec::new(),
        retention: None,
        legal_hold: false,
        checksum_algorithm: None,
        checksum_type: None,
        owner: None,
        acl: None,
        encryption: None,
    }
}

/// Every grantee kind and every permission.
fn grants_full() -> Vec<AclGrant> {
    vec![
        AclGrant {
            grantee: AclGrantee::AllUsers,
            permission: AclPermission::Read,
        },
        AclGrant {
            grantee: AclGrantee::AuthenticatedUsers,
            permission: AclPermission::Write,
        },
        AclGrant {
            grantee: AclGrantee::LogDelivery,
            permission: AclPermission::ReadAcp,
        },
        AclGrant {
            grantee: AclGrantee::User("john.doe".into()),
            permission: AclPermission::WriteAcp,
        },
        AclGrant {
            grantee: AclGrantee::User("spark-etl".into()),
            permission: AclPermission::FullControl,
        },
    ]
}

/// Version 2: written by a user other than the bucket owner, with an ACL.
fn version_full_v2() -> VersionRecord {
    VersionRecord {
        owner: Some("spark-etl".into()),
        acl: Some(grants_full()),
        ..version_full()
    }
}

/// Version 2: started by a user other than the bucket owner, with an ACL.
fn upload_full_v2() -> UploadInfo {
    UploadInfo {
        owner: Some("spark-etl".into()),
        acl: Some(grants_full()),
        ..upload_full()
    }
}

/// Encryption details with every field set (SSE-KMS of a completed multipart object).
fn encryption_full() -> ObjectEncryption {
    ObjectEncryption {
        mode: SseMode::Kms,
        kms_key: "testkey-1".into(),
        kms_context: Some("eyJ0ZWFtIjoiZGF0YSJ9".into()),
        sealed_data_key: (0u8..65).collect(),
        bucket_key_enabled: true,
        customer_key_md5: Some("DWygnHRtgiJ77HCm+1rvHw==".into()),
        key_iv: (100u8..132).collect(),
        sealed_object_key: (200u8..248).collect(),
        part_numbers: vec![1, 3, 10_000],
    }
}

/// Version 3: encrypted.
fn version_full_v3() -> VersionRecord {
    VersionRecord {
        encryption: Some(encryption_full()),
        ..version_full_v2()
    }
}

/// Version 3: an encrypted upload.
fn upload_full_v3() -> UploadInfo {
    UploadInfo {
        encryption: Some(ObjectEncryption {
            mode: SseMode::Customer,
            kms_key: String::new(),
            kms_context: None,
            sealed_data_key: Vec::new(),
            bucket_key_enabled: false,
            customer_key_md5: Some("arxBvwY2V4SiOne6yppVPQ==".into()),
            key_iv: vec![7; 32],
            sealed_object_key: vec![9; 48],
            part_numbers: Vec::new(),
        }),
        ..upload_full_v2()
    }
}

fn part_full() -> PartInfo {
    PartInfo {
        number: 10_000,
        etag: "5d41402abc4b2a76b9719d911017c592".into(),
        size: 5_242_880,
        last_modified: 1_700_000_060_000,
        data: ObjectData::Segments(vec![Segment {
            blob: 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff,
            offset: 512,
            len: 5_242_880,
        }]),
        checksums: vec![
            (ChecksumAlgorithm::Crc32, "DUoRhQ==".into()),
            (ChecksumAlgorithm::Crc32c, "yZRlqg==".into()),
            (ChecksumAlgorithm::Crc64Nvme, "M3eFcAZSQlc=".into()),
            (
                ChecksumAlgorithm::Sha1,
                "Kq5sNclPz7QV2+lfQIuc6R7oRu0=".into(),
            ),
            (
                ChecksumAlgorithm::Sha256,
                "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=".into(),
            ),
        ],
    }
}

fn part_minimal() -> PartInfo {
    PartInfo {
        number: 1,
        etag: String::new(),
        size: 0,
        last_modified: 0,
        data: ObjectData::empty(),
        checksums: Vec::new(),
    }
}

fn scanner_state_full() -> Vec<u8> {
    br#"{"cursor":"logs/2024-06-01/00017.json","cycle":3}"#.to_vec()
}

fn s3_lifecycle_full() -> String {
    r#"{"rules":[{"id":"expire-raw","prefix":"raw/","expiration_days":30}]}"#.to_string()
}

// ---------------------------------------------------------------------------------------------
// The golden cases

/// One golden case: a file, its record type and the value it holds.
struct Case {
    file: &'static str,
    comment: &'static str,
    value: StoredRecord,
}

fn case(file: &'static str, comment: &'static str, value: StoredRecord) -> Case {
    Case {
        file,
        comment,
        value,
    }
}

/// Every golden record file and the value it holds. Cases of older versions stay here (with
/// the value they mean in the current types) after a format change.
fn cases() -> Vec<Case> {
    use StoredRecord as R;
    vec![
        case(
            "bucket_info.v1.full.hex",
            "BucketInfo v1, fully populated",
            R::BucketInfo(bucket_full()),
        ),
        case(
            "bucket_info.v1.minimal.hex",
            "BucketInfo v1, minimal",
            R::BucketInfo(bucket_minimal()),
        ),
        case(
            "version_record.v1.full.hex",
            "VersionRecord v1, fully populated (blob segments)",
            R::VersionRecord(Box::new(version_full())),
        ),
        case(
            "version_record.v1.inline.hex",
            "VersionRecord v1, a small object kept inline",
            R::VersionRecord(Box::new(version_inline())),
        ),
        case(
            "version_record.v1.minimal.hex",
            "VersionRecord v1, minimal (a delete marker)",
            R::VersionRecord(Box::new(version_minimal())),
        ),
        case(
            "version_record.v2.full.hex",
            "VersionRecord v2, fully populated (an owner and an ACL)",
            R::VersionRecord(Box::new(version_full_v2())),
        ),
        case(
            "version_record.v2.inline.hex",
            "VersionRecord v2, a small object kept inline",
            R::VersionRecord(Box::new(version_inline())),
        ),
        case(
            "version_record.v2.minimal.hex",
            "VersionRecord v2, minimal (a delete marker)",
            R::VersionRecord(Box::new(version_minimal())),
        ),
        case(
            "version_record.v3.full.hex",
            "VersionRecord v3, fully populated (encrypted with SSE-KMS)",
            R::VersionRecord(Box::new(version_full_v3())),
        ),
        case(
            "version_record.v3.inline.hex",
            "VersionRecord v3, a small object kept inline",
            R::VersionRecord(Box::new(version_inline())),
        ),
        case(
            "version_record.v3.minimal.hex",
            "VersionRecord v3, minimal (a delete marker)",
            R::VersionRecord(Box::new(version_minimal())),
        ),
        case(
            "current_entry.v1.full.hex",
            "CurrentEntry v1, fully populated",
            R::CurrentEntry(current_full()),
        ),
        case(
            "current_entry.v1.minimal.hex",
            "CurrentEntry v1, minimal (a delete marker)",
            R::CurrentEntry(current_minimal()),
        ),
        case(
            "upload_info.v1.full.hex",
            "UploadInfo v1, fully populated",
            R::UploadInfo(Box::new(upload_full())),
        ),
        case(
            "upload_info.v1.minimal.hex",
            "UploadInfo v1, minimal",
            R::UploadInfo(Box::new(upload_minimal())),
        ),
        case(
            "upload_info.v2.full.hex",
            "UploadInfo v2, fully populated (an initiator and an ACL)",
            R::UploadInfo(Box::new(upload_full_v2())),
        ),
        case(
            "upload_info.v2.minimal.hex",
            "UploadInfo v2, minimal",
            R::UploadInfo(Box::new(upload_minimal())),
        ),
        case(
            "upload_info.v3.full.hex",
            "UploadInfo v3, fully populated (encrypted with SSE-C)",
            R::UploadInfo(Box::new(upload_full_v3())),
        ),
        case(
            "upload_info.v3.minimal.hex",
            "UploadInfo v3, minimal",
            R::UploadInfo(Box::new(upload_minimal())),
        ),
        case(
            "s3_encryption_config.v1.full.hex",
            "S3EncryptionConfig v1 (system s3-encryption/<bucket>), SSE-KMS with a key",
            R::S3EncryptionConfig(S3EncryptionConfig {
                mode: SseMode::Kms,
                kms_key: Some("testkey-2".into()),
                bucket_key_enabled: true,
            }),
        ),
        case(
            "s3_encryption_config.v1.minimal.hex",
            "S3EncryptionConfig v1, SSE-S3",
            R::S3EncryptionConfig(S3EncryptionConfig {
                mode: SseMode::S3,
                kms_key: None,
                bucket_key_enabled: false,
            }),
        ),
        case(
            "part_info.v1.full.hex",
            "PartInfo v1, fully populated (every checksum algorithm)",
            R::PartInfo(part_full()),
        ),
        case(
            "part_info.v1.minimal.hex",
            "PartInfo v1, minimal",
            R::PartInfo(part_minimal()),
        ),
        case(
            "scanner_state.v1.full.hex",
            "ScannerState v1 (system lifecycle-scan/<bucket>), with JSON",
            R::ScannerState(ScannerState(scanner_state_full())),
        ),
        case(
            "scanner_state.v1.minimal.hex",
            "ScannerState v1, empty",
            R::ScannerState(ScannerState(Vec::new())),
        ),
        case(
            "s3_lifecycle_config.v1.full.hex",
            "S3LifecycleConfig v1 (system s3-lifecycle/<bucket>), with JSON",
            R::S3LifecycleConfig(S3LifecycleConfig(s3_lifecycle_full())),
        ),
        case(
            "s3_lifecycle_config.v1.minimal.hex",
            "S3LifecycleConfig v1, empty",
            R::S3LifecycleConfig(S3LifecycleConfig(String::new())),
        ),
        case(
            "s3_cors_config.v1.full.hex",
            "S3CorsConfig v1 (system s3-cors/<bucket>), with XML",
            R::S3CorsConfig(S3CorsConfig(
                "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>".into(),
            )),
        ),
        case(
            "s3_cors_config.v1.minimal.hex",
            "S3CorsConfig v1, empty",
            R::S3CorsConfig(S3CorsConfig(String::new())),
        ),
        case(
            "s3_bucket_policy.v1.full.hex",
            "S3BucketPolicy v1 (system s3-policy/<bucket>), with JSON",
            R::S3BucketPolicy(S3BucketPolicy(
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::gold/*"}]}"#.into(),
            )),
        ),
        case(
            "s3_bucket_policy.v1.minimal.hex",
            "S3BucketPolicy v1, empty",
            R::S3BucketPolicy(S3BucketPolicy(String::new())),
        ),
        case(
            "s3_bucket_acl.v1.full.hex",
            "S3BucketAcl v1 (system s3-acl/<bucket>), every grantee and permission",
            R::S3BucketAcl(S3BucketAcl {
                grants: grants_full(),
            }),
        ),
        case(
            "s3_bucket_acl.v1.minimal.hex",
            "S3BucketAcl v1, no grants",
            R::S3BucketAcl(S3BucketAcl { grants: Vec::new() }),
        ),
        case(
            "s3_ownership_controls.v1.full.hex",
            "S3OwnershipControls v1 (system s3-ownership/<bucket>), ObjectWriter",
            R::S3OwnershipControls(S3OwnershipControls {
                object_ownership: ObjectOwnership::ObjectWriter,
            }),
        ),
        case(
            "s3_ownership_controls.v1.minimal.hex",
            "S3OwnershipControls v1, BucketOwnerEnforced",
            R::S3OwnershipControls(S3OwnershipControls {
                object_ownership: ObjectOwnership::BucketOwnerEnforced,
            }),
        ),
        case(
            "s3_public_access_block.v1.full.hex",
            "S3PublicAccessBlock v1 (system s3-pab/<bucket>), all set but one",
            R::S3PublicAccessBlock(S3PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: false,
                block_public_policy: true,
                restrict_public_buckets: true,
            }),
        ),
        case(
            "s3_public_access_block.v1.minimal.hex",
            "S3PublicAccessBlock v1, nothing set",
            R::S3PublicAccessBlock(S3PublicAccessBlock::default()),
        ),
        case(
            "s3_logging_config.v1.full.hex",
            "S3LoggingConfig v1 (system s3-logging/<bucket>), partitioned by event time",
            R::S3LoggingConfig(S3LoggingConfig {
                target_bucket: "logs".into(),
                target_prefix: "bronze/".into(),
                partition_date_source: Some("EventTime".into()),
                updated: 1_764_000_000_123,
            }),
        ),
        case(
            "s3_logging_config.v1.minimal.hex",
            "S3LoggingConfig v1, simple prefix, empty prefix",
            R::S3LoggingConfig(S3LoggingConfig::default()),
        ),
        case(
            "iam_user.v1.full.hex",
            "IamUser v1 (iam user/<access key>), enabled with policies",
            R::IamUser(IamUser {
                access_key: "spark-etl".into(),
                sealed_secret: vec![0xA5; 40],
                enabled: true,
                policies: vec!["readwrite".into(), "bronze-writer".into()],
                created: 1_700_000_000_123,
                updated: 1_700_000_100_456,
            }),
        ),
        case(
            "iam_user.v1.minimal.hex",
            "IamUser v1, minimal",
            R::IamUser(IamUser {
                access_key: String::new(),
                sealed_secret: Vec::new(),
                enabled: false,
                policies: Vec::new(),
                created: 0,
                updated: 0,
            }),
        ),
        case(
            "iam_group.v1.full.hex",
            "IamGroup v1 (iam group/<name>), members and policies",
            R::IamGroup(IamGroup {
                name: "analysts".into(),
                members: vec!["ana".into(), "bo".into()],
                policies: vec!["readonly".into()],
                enabled: true,
                updated: 1_700_000_000_123,
            }),
        ),
        case(
            "iam_group.v1.minimal.hex",
            "IamGroup v1, minimal",
            R::IamGroup(IamGroup {
                name: String::new(),
                members: Vec::new(),
                policies: Vec::new(),
                enabled: false,
                updated: 0,
            }),
        ),
        case(
            "iam_policy.v1.full.hex",
            "IamPolicy v1 (iam policy/<name>), with JSON",
            R::IamPolicy(IamPolicy {
                name: "gold-reader".into(),
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::gold/*"}]}"#.into(),
                created: 1_700_000_000_123,
                updated: 1_700_000_100_456,
            }),
        ),
        case(
            "iam_policy.v1.minimal.hex",
            "IamPolicy v1, minimal",
            R::IamPolicy(IamPolicy {
                name: String::new(),
                document: String::new(),
                created: 0,
                updated: 0,
            }),
        ),
        case(
            "iam_access_key.v1.full.hex",
            "IamAccessKey v1 (iam key/<access key>), STS session with policy and expiry",
            R::IamAccessKey(IamAccessKey {
                access_key: "LGTEMP0123".into(),
                sealed_secret: vec![0x5A; 40],
                parent: "spark-etl".into(),
                policy: Some(r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#.into()),
                enabled: true,
                expires: Some(1_700_003_600_000),
                name: "nightly".into(),
                description: "nightly compaction".into(),
                session_token_sha256: Some(vec![0x11; 32]),
                created: 1_700_000_000_123,
                updated: 1_700_000_100_456,
            }),
        ),
        case(
            "iam_access_key.v1.minimal.hex",
            "IamAccessKey v1, minimal",
            R::IamAccessKey(IamAccessKey {
                access_key: String::new(),
                sealed_secret: Vec::new(),
                parent: String::new(),
                policy: None,
                enabled: false,
                expires: None,
                name: String::new(),
                description: String::new(),
                session_token_sha256: None,
                created: 0,
                updated: 0,
            }),
        ),
    ]
}

fn kind_of(r: &StoredRecord) -> RecordKind {
    match r {
        StoredRecord::BucketInfo(_) => RecordKind::BucketInfo,
        StoredRecord::VersionRecord(_) => RecordKind::VersionRecord,
        StoredRecord::CurrentEntry(_) => RecordKind::CurrentEntry,
        StoredRecord::UploadInfo(_) => RecordKind::UploadInfo,
        StoredRecord::PartInfo(_) => RecordKind::PartInfo,
        StoredRecord::ScannerState(_) => RecordKind::ScannerState,
        StoredRecord::S3LifecycleConfig(_) => RecordKind::S3LifecycleConfig,
        StoredRecord::S3CorsConfig(_) => RecordKind::S3CorsConfig,
        StoredRecord::S3BucketPolicy(_) => RecordKind::S3BucketPolicy,
        StoredRecord::S3BucketAcl(_) => RecordKind::S3BucketAcl,
        StoredRecord::S3OwnershipControls(_) => RecordKind::S3OwnershipControls,
        StoredRecord::S3PublicAccessBlock(_) => RecordKind::S3PublicAccessBlock,
        StoredRecord::S3LoggingConfig(_) => RecordKind::S3LoggingConfig,
        StoredRecord::S3EncryptionConfig(_) => RecordKind::S3EncryptionConfig,
        StoredRecord::IamUser(_) => RecordKind::IamUser,
        StoredRecord::IamGroup(_) => RecordKind::IamGroup,
        StoredRecord::IamPolicy(_) => RecordKind::IamPolicy,
        StoredRecord::IamAccessKey(_) => RecordKind::IamAccessKey,
    }
}

/// The version a golden file's name says it holds (`<record>.v<N>.<case>.hex`).
fn version_in_name(file: &str) -> u8 {
    file.split('.')
        .find_map(|p| p.strip_prefix('v').and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("{file}: no .v<N>. in the name"))
}

#[test]
fn current_versions_encode_to_their_golden_bytes() {
    for c in cases() {
        let kind = kind_of(&c.value);
        if version_in_name(c.file) != kind.version() {
            continue; // An older version: only decoded (below).
        }
        let actual = c.value.encode().unwrap();
        let expected = golden(c.file, c.comment, &actual);
        assert_eq!(
            hex::encode(&actual),
            hex::encode(&expected),
            "{}: the encoding of {kind} changed. Records on disk are positional postcard: \
             do not edit the golden file; introduce a new version (see store/schema.rs)",
            c.file
        );
    }
}

#[test]
fn golden_bytes_decode_to_their_values() {
    for c in cases() {
        let kind = kind_of(&c.value);
        let bytes = golden(c.file, c.comment, &c.value.encode().unwrap());
        assert_eq!(
            bytes[0],
            version_in_name(c.file),
            "{}: version byte",
            c.file
        );
        let decoded = decode_record(kind, &bytes).unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert_eq!(decoded, c.value, "{}", c.file);
    }
}

#[test]
fn every_golden_file_is_a_case_and_every_kind_has_full_and_minimal() {
    let mut named: std::collections::BTreeSet<&str> = cases().iter().map(|c| c.file).collect();
    named.insert(ENUM_VARIANTS);
    named.insert(ACL_ENUM_VARIANTS);
    named.insert(SSE_ENUM_VARIANTS);
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".hex") {
            assert!(
                named.contains(name.as_str()),
                "golden file {name} is not checked by any case (golden files are never removed)"
            );
        }
    }
    for kind in RecordKind::ALL {
        for which in ["full", "minimal"] {
            let file = format!("{}.v{}.{which}.hex", snake(kind.name()), kind.version());
            assert!(named.contains(file.as_str()), "no golden case {file}");
        }
    }
}

/// `VersionRecord` → `version_record`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The golden file of [`enum_variant_indices_are_frozen`].
const ENUM_VARIANTS: &str = "enum_variants.v1.hex";

/// Every variant of every enum inside a record, listed through exhaustive matches: adding a
/// variant does not compile until it is listed here, and inserting or reordering one changes
/// the golden bytes (postcard stores the variant index).
#[test]
fn enum_variant_indices_are_frozen() {
    fn versioning(v: Versioning) -> Versioning {
        match v {
            Versioning::Unversioned | Versioning::Enabled | Versioning::Suspended => v,
        }
    }
    fn mode(m: RetentionMode) -> RetentionMode {
        match m {
            RetentionMode::Governance | RetentionMode::Compliance => m,
        }
    }
    fn algorithm(a: ChecksumAlgorithm) -> ChecksumAlgorithm {
        match a {
            ChecksumAlgorithm::Crc32
            | ChecksumAlgorithm::Crc32c
            | ChecksumAlgorithm::Crc64Nvme
            | ChecksumAlgorithm::Sha1
            | ChecksumAlgorithm::Sha256 => a,
        }
    }
    fn checksum_type(t: ChecksumType) -> ChecksumType {
        match t {
            ChecksumType::FullObject | ChecksumType::Composite => t,
        }
    }
    fn data(d: ObjectData) -> ObjectData {
        match d {
            ObjectData::Inline(_) | ObjectData::Segments(_) => d,
        }
    }
    let all = (
        [
            Versioning::Unversioned,
            Versioning::Enabled,
            Versioning::Suspended,
        ]
        .map(versioning),
        [RetentionMode::Governance, RetentionMode::Compliance].map(mode),
        [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Crc64Nvme,
            ChecksumAlgorithm::Sha1,
            ChecksumAlgorithm::Sha256,
        ]
        .map(algorithm),
        [ChecksumType::FullObject, ChecksumType::Composite].map(checksum_type),
        [
            ObjectData::Inline(Vec::new()),
            ObjectData::Segments(Vec::new()),
        ]
        .map(data),
    );
    let actual = postcard::to_allocvec(&all).unwrap();
    let expected = golden(
        ENUM_VARIANTS,
        "postcard of every variant, in order, of Versioning, RetentionMode, ChecksumAlgorithm, \
         ChecksumType, ObjectData",
        &actual,
    );
    assert_eq!(hex::encode(actual), hex::encode(expected));
}

/// The golden file of [`acl_enum_variant_indices_are_frozen`].
const ACL_ENUM_VARIANTS: &str = "acl_enum_variants.v1.hex";

/// [`enum_variant_indices_are_frozen`] for the enums of access control (added with
/// `VersionRecord` v2, in their own file: the first one is never edited).
#[test]
fn acl_enum_variant_indices_are_frozen() {
    fn grantee(g: AclGrantee) -> AclGrantee {
        match g {
            AclGrantee::User(_)
            | AclGrantee::AllUsers
            | AclGrantee::AuthenticatedUsers
            | AclGrantee::LogDelivery => g,
        }
    }
    fn permission(p: AclPermission) -> AclPermission {
        match p {
            AclPermission::Read
            | AclPermission::Write
            | AclPermission::ReadAcp
            | AclPermission::WriteAcp
            | AclPermission::FullControl => p,
        }
    }
    fn ownership(o: ObjectOwnership) -> ObjectOwnership {
        match o {
            ObjectOwnership::BucketOwnerEnforced
            | ObjectOwnership::BucketOwnerPreferred
            | ObjectOwnership::ObjectWriter => o,
        }
    }
    let all = (
        [
            AclGrantee::User("u".into()),
            AclGrantee::AllUsers,
            AclGrantee::AuthenticatedUsers,
            AclGrantee::LogDelivery,
        ]
        .map(grantee),
        [
            AclPermission::Read,
            AclPermission::Write,
            AclPermission::ReadAcp,
            AclPermission::WriteAcp,
            AclPermission::FullControl,
        ]
        .map(permission),
        [
            ObjectOwnership::BucketOwnerEnforced,
            ObjectOwnership::BucketOwnerPreferred,
            ObjectOwnership::ObjectWriter,
        ]
        .map(ownership),
    );
    let actual = postcard::to_allocvec(&all).unwrap();
    let expected = golden(
        ACL_ENUM_VARIANTS,
        "postcard of every variant, in order, of AclGrantee, AclPermission, ObjectOwnership",
        &actual,
    );
    assert_eq!(hex::encode(actual), hex::encode(expected));
}

/// The golden file of [`sse_enum_variant_indices_are_frozen`].
const SSE_ENUM_VARIANTS: &str = "sse_enum_variants.v1.hex";

/// [`enum_variant_indices_are_frozen`] for the encryption modes (added with `VersionRecord` v3).
#[test]
fn sse_enum_variant_indices_are_frozen() {
    fn mode(m: SseMode) -> SseMode {
        match m {
            SseMode::S3 | SseMode::Kms | SseMode::Customer => m,
        }
    }
    let all = [SseMode::S3, SseMode::Kms, SseMode::Customer].map(mode);
    let actual = postcard::to_allocvec(&all).unwrap();
    let expected = golden(
        SSE_ENUM_VARIANTS,
        "postcard of every variant, in order, of SseMode",
        &actual,
    );
    assert_eq!(hex::encode(actual), hex::encode(expected));
}

#[test]
fn unknown_versions_and_damaged_records_are_typed_errors() {
    for c in cases() {
        let kind = kind_of(&c.value);
        let bytes = c.value.encode().unwrap();
        assert_eq!(decode_record(kind, &[]), Err(RecordError::Empty(kind)));
        for version in [0u8, kind.version() + 1, 0xff] {
            let mut other = bytes.clone();
            other[0] = version;
            assert_eq!(
                decode_record(kind, &other),
                Err(RecordError::UnsupportedVersion {
                    kind,
                    version,
                    current: kind.version()
                }),
                "{}",
                c.file
            );
        }
        // Every truncation fails cleanly (or, for a prefix that happens to be a whole record,
        // decodes to something else); nothing panics.
        for n in 1..bytes.len() {
            let _ = decode_record(kind, &bytes[..n]);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(
            matches!(
                decode_record(kind, &longer),
                Err(RecordError::TrailingBytes { len: 1, .. })
            ),
            "{}",
            c.file
        );
    }
    // A record read as another type is refused or misread, never a panic.
    for c in cases() {
        let bytes = c.value.encode().unwrap();
        for kind in RecordKind::ALL {
            let _ = decode_record(kind, &bytes);
        }
    }
    let e = decode_record(RecordKind::VersionRecord, &[1, 0xff]).unwrap_err();
    assert!(matches!(e, RecordError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains("VersionRecord"), "{e}");
}

/// The key layouts and fixed-width values (no version byte: frozen as they are).
#[test]
fn key_layouts_and_fixed_values_are_frozen() {
    let h = |b: &[u8]| hex::encode(b);
    assert_eq!(h(&bucket_prefix("gold")), "676f6c6400");
    assert_eq!(h(&bucket_end("gold")), "676f6c6401");
    assert_eq!(h(&current_key("gold", "a/b")), "676f6c6400612f62");
    assert_eq!(h(&key_prefix("gold", "a/b")), "676f6c6400612f6200");
    assert_eq!(h(&key_end("gold", "a/b")), "676f6c6400612f6201");
    let vk = version_key("gold", "a/b", 7);
    assert_eq!(h(&vk), "676f6c6400612f6200fffffffffffffff8");
    assert_eq!(seq_of_version_key(&vk), 7);
    assert!(version_key("gold", "a/b", 8) < vk, "newest first");
    assert_eq!(
        h(&upload_key("gold", "a/b", "u-1")),
        "676f6c6400612f6200752d31"
    );
    assert_eq!(h(&part_key("u-1", 258)), "752d310000000102");
    let (start, end) = part_prefix("u-1");
    assert_eq!((h(&start), h(&end)), ("752d3100".into(), "752d3101".into()));
    assert_eq!(strip_bucket("gold", &current_key("gold", "a/b")), b"a/b");
    assert_eq!(h(&blob_ref_key(0x0102)), format!("{:032x}", 0x0102));
    assert_eq!(blob_of_ref_key(&blob_ref_key(0x0102)), Some(0x0102));
    assert_eq!(blob_of_ref_key(b"short"), None);
    assert_eq!(SEQ_KEY, b"seq");
    assert_eq!(scanner_state_key("gold"), b"lifecycle-scan/gold");
    assert_eq!(s3_lifecycle_key("gold"), b"s3-lifecycle/gold");
    assert_eq!(s3_policy_key("gold"), b"s3-policy/gold");
    assert_eq!(s3_acl_key("gold"), b"s3-acl/gold");
    assert_eq!(s3_ownership_key("gold"), b"s3-ownership/gold");
    assert_eq!(s3_public_access_block_key("gold"), b"s3-pab/gold");
    assert_eq!(s3_logging_key("gold"), b"s3-logging/gold");
    assert_eq!(s3_encryption_key("gold"), b"s3-encryption/gold");
    assert_eq!(iam_key(IamKind::User, "ana"), b"user/ana");
    assert_eq!(iam_key(IamKind::Group, "ana"), b"group/ana");
    assert_eq!(iam_key(IamKind::Policy, "ana"), b"policy/ana");
    assert_eq!(iam_key(IamKind::AccessKey, "ana"), b"key/ana");
    assert_eq!(h(&encode_seq(0x0102)), "0000000000000102");
    assert_eq!(decode_seq(&encode_seq(u64::MAX)), Ok(u64::MAX));
    assert_eq!(h(&encode_ref_count(3)), "00000003");
    assert_eq!(decode_ref_count(&encode_ref_count(3)), Ok(3));
    assert!(matches!(
        decode_seq(b"1234"),
        Err(RecordError::BadWidth { expected: 8, .. })
    ));
    assert!(matches!(
        decode_ref_count(b""),
        Err(RecordError::BadWidth { expected: 4, .. })
    ));
    let names: Vec<&str> = ALL_TABLES.iter().map(redb::TableHandle::name).collect();
    assert_eq!(
        names,
        [
            "buckets",
            "versions",
            "current",
            "uploads",
            "parts",
            "blob_refs",
            "system",
            "iam"
        ]
    );
}
