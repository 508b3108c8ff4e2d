//! Lifecycle: the scanner that carries out each bucket's lifecycle plugin's decisions (expire,
//! expire noncurrent versions, remove delete markers, abort stale uploads) through the store.
//! It sits beside the backup service: both drive policy plugins over the store's contents.
//! The S3 `PutBucketLifecycleConfiguration` XML is translated for the same plugin in
//! `s3/lifecycle.rs`. [`expiry`] says when the configuration will expire an object (S3's
//! `x-amz-expiration` header).

pub mod expiry;
pub mod scanner;

pub use scanner::{LifecycleScanner, ScanError, ScanReport};
