//! Storage: immutable blobs through OpenDAL, metadata in redb, versioning and object-lock rules.
//!
//! A write streams its body into a fresh blob (or keeps it inline when small), makes the blob
//! durable, then commits the metadata in one group-committed redb transaction. redb is the single
//! source of truth for what exists: a blob no record references is garbage and is swept.

pub mod blob;
mod buckets;
pub mod changes;
mod data;
mod iam;
mod lifecycle;
pub mod listing;
pub mod lock;
pub mod meta;
pub mod model;
mod multipart;
pub mod names;
mod objects;
pub mod schema;
pub mod space;
pub mod usage;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use blob::{BlobStore, BlobWriter};
pub use buckets::BucketAccess;
pub use changes::{ChangeFeed, StoreChange, StoreChangeKind};
pub use data::Staged;
pub use iam::{IamChange, IamRecords};
pub use lifecycle::{LifecycleOp, LifecycleOutcome};
pub use meta::MetaDb;
pub use model::*;
pub use multipart::{CompletePart, CompletedUpload, Completion};
pub use names::{NameError, check_bucket_name, check_object_key};
pub use objects::{
    DeleteConditions, DeleteOutcome, DeleteTarget, NewVersion, PutOutcome, VersionRef,
    WriteConditions,
};

/// What went wrong in the store. The S3 layer maps each variant to an S3 error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A bucket name or object key the naming rules refuse (see [`names`]).
    #[error(transparent)]
    InvalidName(#[from] NameError),
    #[error("no such bucket")]
    NoSuchBucket,
    #[error("bucket already exists")]
    BucketExists,
    #[error("bucket not empty")]
    BucketNotEmpty,
    #[error("no such key")]
    NoSuchKey,
    #[error("no such version")]
    NoSuchVersion,
    #[error("the version is a delete marker")]
    DeleteMarker {
        version_id: String,
        last_modified: Millis,
        current: bool,
    },
    #[error("no such upload")]
    NoSuchUpload,
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("object version is protected by object lock: {0}")]
    Locked(String),
    #[error("invalid part: {0}")]
    InvalidPart(String),
    #[error("parts are not in ascending order")]
    InvalidPartOrder,
    #[error("part {0} is smaller than the minimum part size")]
    EntityTooSmall(u32),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("concurrent modification; retry")]
    Conflict,
    #[error("storage I/O: {0}")]
    Io(String),
    /// No space left in the data directory (`ENOSPC`), or the store refuses writes that would
    /// consume space until some is freed (see [`space`]).
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The metadata store is closed (being reopened after an I/O error, or could not be).
    #[error("metadata store unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt metadata record: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A failure of the storage itself (as opposed to a refusal): poisons a metadata batch.
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            StoreError::Io(_)
                | StoreError::Corrupt(_)
                | StoreError::StorageFull(_)
                | StoreError::Unavailable(_)
        )
    }

    /// Whether this is a lack of space.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, StoreError::StorageFull(_))
    }

    /// The error a write refused for lack of space answers with.
    pub fn refused_full() -> Self {
        StoreError::StorageFull("the data directory is full; delete objects to free space".into())
    }
}

macro_rules! io_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                if space::is_enospc(&e) {
                    StoreError::StorageFull(e.to_string())
                } else {
                    StoreError::Io(e.to_string())
                }
            }
        }
    )*};
}
io_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    opendal::Error,
    std::io::Error
);

impl From<schema::RecordError> for StoreError {
    fn from(e: schema::RecordError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Tunables of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Objects and parts up to this many bytes are kept inline in their metadata record.
    pub inline_threshold: usize,
    /// redb page cache size (metadata and inline objects).
    pub metadata_cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            inline_threshold: 16 * 1024,
            metadata_cache_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The object store: metadata plus blobs.
pub struct Store {
    pub meta: MetaDb,
    pub blobs: BlobStore,
    pub options: StoreOptions,
    /// Committed changes, for event-driven backups (see [`changes`]).
    pub changes: ChangeFeed,
    /// Free space and write health (see [`space`]).
    pub space: Arc<space::Space>,
    data_dir: PathBuf,
}

impl Store {
    /// Opens the store in `data_dir` (creating it), sweeps orphan blobs left by a crash, and
    /// starts the background deleter for blobs freed by committed mutations.
    pub async fn open(data_dir: &Path, options: StoreOptions) -> Result<Arc<Store>, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let space = Arc::new(space::Space::new(data_dir));
        if let Err(e) = space.ensure_reserve() {
            if e.is_storage_full() {
                space.enter_full(&e.to_string());
            } else {
                tracing::warn!(error = %e, "could not create the reserve file");
            }
        }
        let blobs = BlobStore::open(&data_dir.join("blobs"))?.with_space(space.clone());
        let (freed_tx, mut freed_rx) = tokio::sync::mpsc::unbounded_channel::<BlobId>();
        let meta = MetaDb::open(
            &data_dir.join("meta.redb"),
            options.metadata_cache_bytes,
            freed_tx,
            space.clone(),
        )?;
        let store = Arc::new(Store {
            meta,
            blobs,
            options,
            changes: ChangeFeed::default(),
            space: space.clone(),
            data_dir: data_dir.to_path_buf(),
        });
        // Leaves the full state once space is back (and re-creates a missing reserve). Holds
        // only the space state, so it ends with the runtime.
        let checker = Arc::downgrade(&space);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let Some(space) = checker.upgrade() else {
                    break;
                };
                let _ = tokio::task::spawn_blocking(move || space.check()).await;
            }
        });
        let swept = store.sweep_orphans(None).await?;
        if swept > 0 {
            tracing::info!(
                blobs = swept,
                "swept orphan blobs left by an interrupted write"
            );
        }
        let deleter = store.blobs.clone();
        tokio::spawn(async move {
            while let Some(id) = freed_rx.recv().await {
                if let Err(e) = deleter.delete(id).await {
                    tracing::warn!(blob = %blob::blob_name(id), error = %e, "could not delete freed blob; the sweep will retry");
                }
            }
        });
        Ok(store)
    }

    /// `Ok` when writes can succeed (what `/minio/health/ready` reports); otherwise why not.
    pub fn ready(&self) -> Result<(), String> {
        self.space.ready()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Deletes blobs no metadata record references. With `min_age`, only blobs untouched for that
    /// long (so uploads in flight are left alone); without, all of them (at startup, when nothing
    /// is in flight). Returns how many were deleted.
    pub async fn sweep_orphans(&self, min_age: Option<Duration>) -> Result<usize, StoreError> {
        let candidates = self.blobs.list(min_age).await?;
        if candidates.is_empty() {
            return Ok(0);
        }
        let referenced = self.meta.read(|r| {
            let mut set = std::collections::HashSet::new();
            r.for_each_key(schema::BLOB_REFS, |k| {
                if let Some(blob) = schema::blob_of_ref_key(k) {
                    set.insert(blob);
                }
            })?;
            Ok(set)
        })?;
        let mut n = 0;
        for id in candidates {
            if !referenced.contains(&id) {
                self.blobs.delete(id).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Milliseconds since the Unix epoch now.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
