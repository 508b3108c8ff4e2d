//! [`BackupError`]: everything a backup run, a restore or the target can fail with.

use crate::policy::PolicyError;
use crate::store::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum BackupError {
    /// The target URL names a service this build cannot write to.
    #[error("unsupported backup target {url:?}: {reason}")]
    UnsupportedTarget { url: String, reason: String },
    /// An I/O error of the backup target (OpenDAL).
    #[error("backup target: {0}")]
    Target(String),
    #[error("source store: {0}")]
    Store(#[from] StoreError),
    #[error("backup plugin: {0}")]
    Policy(#[from] PolicyError),
    #[error("bucket {0:?} has no active backup binding")]
    NoBinding(String),
    #[error("the backup target has no backup of bucket {0:?}")]
    NoBackup(String),
    #[error(
        "generation {generation} of bucket {bucket:?} is not in the backup target (kept: {kept})"
    )]
    NoSuchGeneration {
        bucket: String,
        generation: u64,
        kept: String,
    },
    /// A manifest or journal page whose MAC does not verify under this gateway's local key.
    #[error(
        "{what} {path} is not authenticated by this gateway's key (tampered, or written by a gateway with another local.key): {reason}"
    )]
    NotAuthenticated {
        what: &'static str,
        path: String,
        reason: &'static str,
    },
    #[error("corrupt backup file {path}: {message}")]
    Corrupt { path: String, message: String },
    /// Copied or restored bytes do not match what was recorded.
    #[error("verification failed for {path}: {message}")]
    Verify { path: String, message: String },
    #[error("invalid backup path {path:?}: {message}")]
    BadPath { path: String, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<opendal::Error> for BackupError {
    fn from(e: opendal::Error) -> Self {
        BackupError::Target(e.to_string())
    }
}
