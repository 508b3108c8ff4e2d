//! Routing: which bucket and key a request addresses (path-style or virtual-host style) and which
//! S3 operation it is (method + sub-resource query parameters + a few headers).

use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

use super::error::{S3Error, S3ErrorCode, S3Result};

/// Query parameters, percent-decoded, in the order received.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> S3Result<Self> {
        let mut out = Vec::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| -> S3Result<String> {
                // The one query decoding signature checks use too (`+` is a space, as in AWS).
                String::from_utf8(crate::auth::decode_query_component(s)).map_err(|_| {
                    S3Error::with_message(
                        S3ErrorCode::InvalidURI,
                        "Couldn't parse the specified URI.",
                    )
                })
            };
            out.push((dec(k)?, dec(v)?));
        }
        Ok(Query(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Every S3 operation lakegate routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ListBuckets,
    CreateBucket,
    DeleteBucket,
    HeadBucket,
    GetBucketLocation,
    GetBucketVersioning,
    PutBucketVersioning,
    GetObjectLockConfiguration,
    PutObjectLockConfiguration,
    GetBucketAcl,
    PutBucketAcl,
    GetBucketTagging,
    GetBucketLifecycleConfiguration,
    PutBucketLifecycleConfiguration,
    DeleteBucketLifecycle,
    PutBucketTagging,
    DeleteBucketTagging,
    ListObjects,
    ListObjectsV2,
    ListObjectVersions,
    ListMultipartUploads,
    DeleteObjects,
    GetObject,
    GetObjectAttributes,
    HeadObject,
    PostObject,
    GetBucketCors,
    PutBucketCors,
    DeleteBucketCors,
    PreflightCors,
    GetBucketPolicy,
    PutBucketPolicy,
    DeleteBucketPolicy,
    GetBucketPolicyStatus,
    GetBucketOwnershipControls,
    PutBucketOwnershipControls,
    DeleteBucketOwnershipControls,
    GetPublicAccessBlock,
    PutPublicAccessBlock,
    DeletePublicAccessBlock,
    GetBucketLogging,
    PutBucketLogging,
    GetBucketEncryption,
    PutBucketEncryption,
    DeleteBucketEncryption,
    PutObject,
    CopyObject,
    DeleteObject,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    GetObjectRetention,
    PutObjectRetention,
    GetObjectLegalHold,
    PutObjectLegalHold,
    GetObjectAcl,
    PutObjectAcl,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
}

impl Operation {
    /// Every operation, in declaration order (`op as usize` indexes it).
    pub const ALL: [Operation; 63] = [
        Operation::ListBuckets,
        Operation::CreateBucket,
        Operation::DeleteBucket,
        Operation::HeadBucket,
        Operation::GetBucketLocation,
        Operation::GetBucketVersioning,
        Operation::PutBucketVersioning,
        Operation::GetObjectLockConfiguration,
        Operation::PutObjectLockConfiguration,
        Operation::GetBucketAcl,
        Operation::PutBucketAcl,
        Operation::GetBucketTagging,
        Operation::GetBucketLifecycleConfiguration,
        Operation::PutBucketLifecycleConfiguration,
        Operation::DeleteBucketLifecycle,
        Operation::PutBucketTagging,
        Operation::DeleteBucketTagging,
        Operation::ListObjects,
        Operation::ListObjectsV2,
        Operation::ListObjectVersions,
        Operation::ListMultipartUploads,
        Operation::DeleteObjects,
        Operation::GetObject,
        Operation::GetObjectAttributes,
        Operation::HeadObject,
        Operation::PostObject,
        Operation::GetBucketCors,
        Operation::PutBucketCors,
        Operation::DeleteBucketCors,
        Operation::PreflightCors,
        Operation::GetBucketPolicy,
        Operation::PutBucketPolicy,
        Operation::DeleteBucketPolicy,
        Operation::GetBucketPolicyStatus,
        Operation::GetBucketOwnershipControls,
        Operation::PutBucketOwnershipControls,
        Operation::DeleteBucketOwnershipControls,
        Operation::GetPublicAccessBlock,
        Operation::PutPublicAccessBlock,
        Operation::DeletePublicAccessBlock,
        Operation::GetBucketLogging,
        Operation::PutBucketLogging,
        Operation::GetBucketEncryption,
        Operation::PutBucketEncryption,
        Operation::DeleteBucketEncryption,
        Operation::PutObject,
        Operation::CopyObject,
        Operation::DeleteObject,
        Operation::GetObjectTagging,
        Operation::PutObjectTagging,
        Operation::DeleteObjectTagging,
        Operation::GetObjectRetention,
        Operation::PutObjectRetention,
        Operation::GetObjectLegalHold,
        Operation::PutObjectLegalHold,
        Operation::GetObjectAcl,
        Operation::PutObjectAcl,
        Operation::CreateMultipartUpload,
        Operation::UploadPart,
        Operation::UploadPartCopy,
        Operation::CompleteMultipartUpload,
        Operation::AbortMultipartUpload,
        Operation::ListParts,
    ];

    /// MinIO's `api` label for this operation: its handler's name, lower-case (what the stock
    /// dashboards group by).
    pub fn minio_api(self) -> String {
        let name = match self {
            Operation::CreateBucket => "PutBucket",
            Operation::ListObjects => "ListObjectsV1",
            Operation::DeleteObjects => "DeleteMultipleObjects",
            Operation::CreateMultipartUpload => "NewMultipartUpload",
            Operation::UploadPart => "PutObjectPart",
            Operation::UploadPartCopy => "CopyObjectPart",
            Operation::ListParts => "ListObjectParts",
            Operation::GetBucketLifecycleConfiguration => "GetBucketLifecycle",
            Operation::PutBucketLifecycleConfiguration => "PutBucketLifecycle",
            Operation::PreflightCors => "Options",
            other => other.name(),
        };
        name.to_ascii_lowercase()
    }

    pub fn name(self) -> &'static str {
        // Debug names are the S3 operation names.
        match self {
            Operation::ListBuckets => "ListBuckets",
            Operation::CreateBucket => "CreateBucket",
            Operation::DeleteBucket => "DeleteBucket",
            Operation::HeadBucket => "HeadBucket",
            Operation::GetBucketLocation => "GetBucketLocation",
            Operation::GetBucketVersioning => "GetBucketVersioning",
            Operation::PutBucketVersioning => "PutBucketVersioning",
            Operation::GetObjectLockConfiguration => "GetObjectLockConfiguration",
            Operation::PutObjectLockConfiguration => "PutObjectLockConfiguration",
            Operation::GetBucketAcl => "GetBucketAcl",
            Operation::PutBucketAcl => "PutBucketAcl",
            Operation::GetBucketTagging => "GetBucketTagging",
            Operation::GetBucketLifecycleConfiguration => "GetBucketLifecycleConfiguration",
            Operation::PutBucketLifecycleConfiguration => "PutBucketLifecycleConfiguration",
            Operation::DeleteBucketLifecycle => "DeleteBucketLifecycle",
            Operation::PutBucketTagging => "PutBucketTagging",
            Operation::DeleteBucketTagging => "DeleteBucketTagging",
            Operation::ListObjects => "ListObjects",
            Operation::ListObjectsV2 => "ListObjectsV2",
            Operation::ListObjectVersions => "ListObjectVersions",
            Operation::ListMultipartUploads => "ListMultipartUploads",
            Operation::DeleteObjects => "DeleteObjects",
            Operation::GetObject => "GetObject",
            Operation::GetObjectAttributes => "GetObjectAttributes",
            Operation::PostObject => "PostObject",
            Operation::GetBucketCors => "GetBucketCors",
            Operation::PutBucketCors => "PutBucketCors",
            Operation::DeleteBucketCors => "DeleteBucketCors",
            Operation::PreflightCors => "PreflightCors",
            Operation::GetBucketPolicy => "GetBucketPolicy",
            Operation::PutBucketPolicy => "PutBucketPolicy",
            Operation::DeleteBucketPolicy => "DeleteBucketPolicy",
            Operation::GetBucketPolicyStatus => "GetBucketPolicyStatus",
            Operation::GetBucketOwnershipControls => "GetBucketOwnershipControls",
            Operation::PutBucketOwnershipControls => "PutBucketOwnershipControls",
            Operation::DeleteBucketOwnershipControls => "DeleteBucketOwnershipControls",
            Operation::GetPublicAccessBlock => "GetPublicAccessBlock",
            Operation::GetBucketLogging => "GetBucketLogging",
            Operation::PutBucketLogging => "PutBucketLogging",
            Operation::GetBucketEncryption => "GetBucketEncryption",
            Operation::PutBucketEncryption => "PutBucketEncryption",
            Operation::DeleteBucketEncryption => "DeleteBucketEncryption",
            Operation::PutPublicAccessBlock => "PutPublicAccessBlock",
            Operation::DeletePublicAccessBlock => "DeletePublicAccessBlock",
            Operation::HeadObject => "HeadObject",
            Operation::PutObject => "PutObject",
            Operation::CopyObject => "CopyObject",
            Operation::DeleteObject => "DeleteObject",
            Operation::GetObjectTagging => "GetObjectTagging",
            Operation::PutObjectTagging => "PutObjectTagging",
            Operation::DeleteObjectTagging => "DeleteObjectTagging",
            Operation::GetObjectRetention => "GetObjectRetention",
            Operation::PutObjectRetention => "PutObjectRetention",
            Operation::GetObjectLegalHold => "GetObjectLegalHold",
            Operation::PutObjectLegalHold => "PutObjectLegalHold",
            Operation::GetObjectAcl => "GetObjectAcl",
            Operation::PutObjectAcl => "PutObjectAcl",
            Operation::CreateMultipartUpload => "CreateMultipartUpload",
            Operation::UploadPart => "UploadPart",
            Operation::UploadPartCopy => "UploadPartCopy",
            Operation::CompleteMultipartUpload => "CompleteMultipartUpload",
            Operation::AbortMultipartUpload => "AbortMultipartUpload",
            Operation::ListParts => "ListParts",
        }
    }
}

/// Bucket sub-resources lakegate does not implement; a request naming one answers NotImplemented
/// rather than being mistaken for a listing or a bucket creation.
const UNIMPLEMENTED_BUCKET_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "analytics",
    "intelligent-tiering",
    "inventory",
    "metadataTable",
    "metrics",
    "notification",
    "replication",
    "requestPayment",
    "website",
];

const UNIMPLEMENTED_OBJECT_SUBRESOURCES: &[&str] =
    &["torrent", "restore", "select", "renameObject"];

/// Decides the operation. `bucket`/`key` presence comes from [`split_path`].
pub fn resolve(
    method: &Method,
    has_bucket: bool,
    has_key: bool,
    q: &Query,
    headers: &HeaderMap,
) -> S3Result<Operation> {
    use Operation::*;
    let not_allowed = || Err(S3Error::new(S3ErrorCode::MethodNotAllowed));
    if !has_bucket {
        return match *method {
            Method::GET => Ok(ListBuckets),
            _ => not_allowed(),
        };
    }
    if !has_key {
        if let Some(sub) = UNIMPLEMENTED_BUCKET_SUBRESOURCES.iter().find(|s| q.has(s)) {
            return Err(S3Error::not_implemented(format!(
                "The bucket sub-resource '{sub}'"
            )));
        }
        return match *method {
            Method::GET if q.has("location") => Ok(GetBucketLocation),
            Method::GET if q.has("versioning") => Ok(GetBucketVersioning),
            Method::GET if q.has("object-lock") => Ok(GetObjectLockConfiguration),
            Method::GET if q.has("acl") => Ok(GetBucketAcl),
            Method::GET if q.has("tagging") => Ok(GetBucketTagging),
            Method::GET if q.has("lifecycle") => Ok(GetBucketLifecycleConfiguration),
            Method::GET if q.has("policyStatus") => Ok(GetBucketPolicyStatus),
            Method::GET if q.has("ownershipControls") => Ok(GetBucketOwnershipControls),
            Method::PUT if q.has("ownershipControls") => Ok(PutBucketOwnershipControls),
            Method::DELETE if q.has("ownershipControls") => Ok(DeleteBucketOwnershipControls),
            Method::GET if q.has("publicAccessBlock") => Ok(GetPublicAccessBlock),
            Method::PUT if q.has("publicAccessBlock") => Ok(PutPublicAccessBlock),
            Method::DELETE if q.has("publicAccessBlock") => Ok(DeletePublicAccessBlock),
            Method::GET if q.has("encryption") => Ok(GetBucketEncryption),
            Method::PUT if q.has("encryption") => Ok(PutBucketEncryption),
            Method::DELETE if q.has("encryption") => Ok(DeleteBucketEncryption),
            _ if q.has("encryption") => not_allowed(),
            Method::GET if q.has("logging") => Ok(GetBucketLogging),
            Method::PUT if q.has("logging") => Ok(PutBucketLogging),
            // Ceph's PostBucketLogging (a flush); AWS has no such API.
            _ if q.has("logging") => not_allowed(),
            Method::GET if q.has("policy") => Ok(GetBucketPolicy),
            Method::PUT if q.has("policy") => Ok(PutBucketPolicy),
            Method::DELETE if q.has("policy") => Ok(DeleteBucketPolicy),
            Method::GET if q.has("cors") => Ok(GetBucketCors),
            Method::PUT if q.has("cors") => Ok(PutBucketCors),
            Method::DELETE if q.has("cors") => Ok(DeleteBucketCors),
            Method::OPTIONS => Ok(PreflightCors),
            Method::PUT if q.has("lifecycle") => Ok(PutBucketLifecycleConfiguration),
            Method::DELETE if q.has("lifecycle") => Ok(DeleteBucketLifecycle),
            Method::PUT if q.has("tagging") => Ok(PutBucketTagging),
            Method::DELETE if q.has("tagging") => Ok(DeleteBucketTagging),
            Method::GET if q.has("versions") => Ok(ListObjectVersions),
            Method::GET if q.has("uploads") => Ok(ListMultipartUploads),
            Method::GET if q.get("list-type") == Some("2") => Ok(ListObjectsV2),
            Method::GET if q.has("list-type") => {
                Err(S3Error::invalid_argument("Invalid list-type"))
            }
            Method::GET => Ok(ListObjects),
            Method::PUT if q.has("versioning") => Ok(PutBucketVersioning),
            Method::PUT if q.has("object-lock") => Ok(PutObjectLockConfiguration),
            Method::PUT if q.has("acl") => Ok(PutBucketAcl),
            Method::PUT => Ok(CreateBucket),
            Method::HEAD => Ok(HeadBucket),
            Method::DELETE => Ok(DeleteBucket),
            Method::POST if q.has("delete") => Ok(DeleteObjects),
            Method::POST => Ok(PostObject),
            _ => not_allowed(),
        };
    }
    if let Some(sub) = UNIMPLEMENTED_OBJECT_SUBRESOURCES.iter().find(|s| q.has(s)) {
        return Err(S3Error::not_implemented(format!(
            "The object sub-resource '{sub}'"
        )));
    }
    let copy_source = headers.contains_key("x-amz-copy-source");
    match *method {
        Method::OPTIONS => Ok(PreflightCors),
        Method::GET if q.has("uploadId") => Ok(ListParts),
        Method::GET if q.has("tagging") => Ok(GetObjectTagging),
        Method::GET if q.has("retention") => Ok(GetObjectRetention),
        Method::GET if q.has("legal-hold") => Ok(GetObjectLegalHold),
        Method::GET if q.has("acl") => Ok(GetObjectAcl),
        Method::GET if q.has("attributes") => Ok(GetObjectAttributes),
        Method::GET => Ok(GetObject),
        Method::HEAD => Ok(HeadObject),
        Method::PUT if q.has("uploadId") || q.has("partNumber") => {
            if !(q.has("uploadId") && q.has("partNumber")) {
                return Err(S3Error::invalid_argument(
                    "UploadPart needs both partNumber and uploadId",
                ));
            }
            Ok(if copy_source {
                UploadPartCopy
            } else {
                UploadPart
            })
        }
        Method::PUT if q.has("tagging") => Ok(PutObjectTagging),
        Method::PUT if q.has("retention") => Ok(PutObjectRetention),
        Method::PUT if q.has("legal-hold") => Ok(PutObjectLegalHold),
        Method::PUT if q.has("acl") => Ok(PutObjectAcl),
        Method::PUT if copy_source => Ok(CopyObject),
        Method::PUT => Ok(PutObject),
        Method::POST if q.has("uploads") => Ok(CreateMultipartUpload),
        Method::POST if q.has("uploadId") => Ok(CompleteMultipartUpload),
        Method::DELETE if q.has("uploadId") => Ok(AbortMultipartUpload),
        Method::DELETE if q.has("tagging") => Ok(DeleteObjectTagging),
        Method::DELETE => Ok(DeleteObject),
        _ => not_allowed(),
    }
}

/// The bucket named by a virtual-host-style `Host` header, given the configured base domains.
pub fn vhost_bucket<'a>(host: Option<&'a str>, domains: &[String]) -> Option<&'a str> {
    let host = host?;
    // Strip the port (IPv6 literals never carry a bucket).
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(']') => h,
        _ => host,
    };
    for d in domains {
        if let Some(bucket) = name
            .strip_suffix(d.as_str())
            .and_then(|b| b.strip_suffix('.'))
            && !bucket.is_empty()
        {
            return Some(bucket);
        }
    }
    None
}

/// Splits the request path into bucket and key. `raw_path` is as received (percent-encoded).
pub fn split_path(
    raw_path: &str,
    vhost: Option<&str>,
) -> S3Result<(Option<String>, Option<String>)> {
    let decoded = percent_decode_str(raw_path).decode_utf8().map_err(|_| {
        S3Error::with_message(S3ErrorCode::InvalidURI, "Couldn't parse the specified URI.")
    })?;
    let path = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (bucket, key) = match vhost {
        Some(b) => (Some(b.to_string()), path),
        None => {
            if path.is_empty() {
                return Ok((None, None));
            }
            match path.split_once('/') {
                Some((b, k)) => (Some(b.to_string()), k),
                None => (Some(path.to_string()), ""),
            }
        }
    };
    let key = (!key.is_empty()).then(|| key.to_string());
    Ok((bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_operation_at_its_index() {
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i, "{}", op.name());
        }
        assert_eq!(Operation::UploadPart.minio_api(), "putobjectpart");
        assert_eq!(Operation::GetObject.minio_api(), "getobject");
    }
    use crate::store::{check_bucket_name, check_object_key as check_key};

    #[test]
    fn path_style_and_vhost_split() {
        assert_eq!(split_path("/", None).unwrap(), (None, None));
        assert_eq!(split_path("/b", None).unwrap(), (Some("b".into()), None));
        assert_eq!(split_path("/b/", None).unwrap(), (Some("b".into()), None));
        assert_eq!(
            split_path("/b/a%20b/c%2Bd", None).unwrap(),
            (Some("b".into()), Some("a b/c+d".into()))
        );
        assert_eq!(
            split_path("/k/x", Some("b")).unwrap(),
            (Some("b".into()), Some("k/x".into()))
        );
        assert_eq!(
            split_path("/b/a//c/", None).unwrap().1.as_deref(),
            Some("a//c/")
        );
        assert!(split_path("/b/%ff", None).is_err());
    }

    #[test]
    fn vhost_detection() {
        let d = vec!["localhost".to_string()];
        assert_eq!(
            vhost_bucket(Some("bronze.localhost:9000"), &d),
            Some("bronze")
        );
        assert_eq!(vhost_bucket(Some("localhost:9000"), &d), None);
        assert_eq!(vhost_bucket(Some("127.0.0.1:9000"), &d), None);
        assert_eq!(vhost_bucket(Some("a.b.localhost"), &d), Some("a.b"));
    }

    #[test]
    fn bucket_names() {
        for ok in ["bronze", "my-bucket.1", "abc"] {
            assert!(check_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "UPPER",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_rules() {
        assert!(check_key("a/b c+d%é").is_ok());
        assert!(check_key("a..b/.c").is_ok());
        assert!(check_key(&"k".repeat(1025)).is_err());
        assert!(check_key("a\0b").is_err());
        assert!(check_key("a\u{1}b").is_err());
        assert!(check_key("tab\tnl\ncr\rdel\u{7f}").is_ok());
        assert!(check_key("a/../b").is_err());
        assert!(check_key("./a").is_err());
    }

    #[test]
    fn operations() {
        let h = HeaderMap::new();
        let q = |s: &str| Query::parse(Some(s)).unwrap();
        assert_eq!(
            resolve(&Method::GET, false, false, &q(""), &h).unwrap(),
            Operation::ListBuckets
        );
        assert_eq!(
            resolve(&Method::GET, true, false, &q("list-type=2&prefix=a"), &h).unwrap(),
            Operation::ListObjectsV2
        );
        assert_eq!(
            resolve(&Method::POST, true, true, &q("uploads"), &h).unwrap(),
            Operation::CreateMultipartUpload
        );
        assert_eq!(
            resolve(&Method::PUT, true, true, &q("partNumber=1&uploadId=x"), &h).unwrap(),
            Operation::UploadPart
        );
        assert_eq!(
            resolve(&Method::GET, true, false, &q("policy"), &h).unwrap(),
            Operation::GetBucketPolicy
        );
        assert_eq!(
            resolve(&Method::GET, true, false, &q("policyStatus"), &h).unwrap(),
            Operation::GetBucketPolicyStatus
        );
        let e = resolve(&Method::GET, true, false, &q("website"), &h).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::NotImplemented);
    }
}
