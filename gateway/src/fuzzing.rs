//! Entry points for the fuzz targets in `gateway/fuzz` (see `docs/FUZZING.md`): thin wrappers
//! around parsers that are private to their modules. Not an API; hidden from the docs.
//!
//! Everything a fuzz target can reach through a public path (the authenticator, the request
//! body, the router, `s3::xml::parse`, the header parsers, `store::decode`) is called directly;
//! only what is not public is wrapped here.

use crate::s3::error::S3Result;
use crate::s3::xml::ObjectLockConfiguration;
use crate::store::DefaultRetention;

/// `x-amz-copy-source-range` against a source object of `size` bytes: `(first, length)`.
pub fn copy_source_range(headers: &http::HeaderMap, size: u64) -> S3Result<(u64, u64)> {
    crate::s3::multipart::copy_range(headers, size)
}

/// A `LifecycleConfiguration` document, translated to the lifecycle plugin's configuration.
pub fn lifecycle_translate(body: &[u8]) -> S3Result<serde_json::Value> {
    crate::s3::lifecycle::translate(body)
}

/// A stored lifecycle translation, rendered back as S3 XML (GetBucketLifecycleConfiguration).
pub fn lifecycle_render(config: &serde_json::Value) -> String {
    crate::s3::lifecycle::render(config)
}

/// A POST Object policy (the `policy` field as sent) checked against form fields: the size
/// range it allows.
pub fn post_policy(
    policy_field: &str,
    fields: &[(String, String)],
    bucket: &str,
    now_ms: i64,
) -> S3Result<(u64, u64)> {
    crate::s3::post::check_policy(policy_field, fields, bucket, now_ms)
}

/// A `CORSConfiguration` document, checked and rendered as PutBucketCors stores it.
pub fn cors_configuration(body: &[u8]) -> S3Result<String> {
    crate::s3::cors::check_and_render(body)
}

/// An `ObjectLockConfiguration` document's default retention (PutObjectLockConfiguration).
pub fn default_retention(doc: ObjectLockConfiguration) -> S3Result<Option<DefaultRetention>> {
    crate::s3::lock::parse_default_retention(doc)
}
