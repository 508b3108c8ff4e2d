//! Immutable blobs behind an OpenDAL [`Operator`] (the `fs` service under `DATA_DIR/blobs` by
//! default). A blob is written once under a fresh random id, made durable on close (the fs
//! service calls `fsync` before returning), and never modified; it is deleted only once no
//! metadata record references it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use opendal::{Operator, services::Fs};

use super::StoreError;
use super::model::BlobId;
use super::space::Space;

/// The file name of a blob: two levels of fan-out, then the id in hex.
pub fn blob_name(id: BlobId) -> String {
    let hex = format!("{id:032x}");
    format!("{}/{}/{}", &hex[0..2], &hex[2..4], hex)
}

fn parse_blob_name(path: &str) -> Option<BlobId> {
    let name = path.rsplit('/').next()?;
    if name.len() != 32 {
        return None;
    }
    u128::from_str_radix(name, 16).ok()
}

/// The blob store.
#[derive(Clone)]
pub struct BlobStore {
    op: Operator,
    /// When set: new blobs are refused while the store is full, and `ENOSPC` enters that state.
    space: Option<Arc<Space>>,
    /// Test hook `blob-write-eio:N` (see [`write_fault_from_env`]): blob writes left before one
    /// fails with `EIO`.
    write_fault: Option<Arc<AtomicU64>>,
}

/// `LAKEGATE_TEST_FAULTS` may contain `blob-write-eio:N`: the N-th blob write (one body chunk)
/// after open fails as if the disk returned `EIO`, once. Inert unless set.
fn write_fault_from_env() -> Option<Arc<AtomicU64>> {
    let spec = std::env::var("LAKEGATE_TEST_FAULTS").ok()?;
    spec.split(',').find_map(|item| {
        let (name, n) = item.trim().split_once(':')?;
        (name.trim() == "blob-write-eio")
            .then(|| n.trim().parse::<u64>().ok())
            .flatten()
            .map(|n| Arc::new(AtomicU64::new(n)))
    })
}

impl BlobStore {
    /// A blob store on the local filesystem rooted at `root`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root)?;
        let root = root
            .to_str()
            .ok_or_else(|| StoreError::Io("data directory path is not UTF-8".into()))?;
        let op = Operator::new(Fs::default().root(root))?;
        Ok(BlobStore {
            op,
            space: None,
            write_fault: write_fault_from_env(),
        })
    }

    /// Ties the blob store to the store's free-space state (see [`super::space`]).
    pub fn with_space(mut self, space: Arc<Space>) -> Self {
        self.space = Some(space);
        self
    }

    /// Starts writing a new blob. Refused with [`StoreError::StorageFull`] while the store is
    /// full.
    pub async fn create(&self) -> Result<BlobWriter, StoreError> {
        if self.space.as_ref().is_some_and(|s| s.is_full()) {
            return Err(StoreError::refused_full());
        }
        let id = uuid::Uuid::new_v4().as_u128();
        let writer = self
            .op
            .writer(&blob_name(id))
            .await
            .map_err(|e| note(&self.space, e.into()))?;
        Ok(BlobWriter {
            id,
            writer: Some(writer),
            written: 0,
            op: self.op.clone(),
            space: self.space.clone(),
            write_fault: self.write_fault.clone(),
        })
    }

    /// Streams `len` bytes of blob `id` starting at `offset`.
    pub async fn read(
        &self,
        id: BlobId,
        offset: u64,
        len: u64,
    ) -> Result<impl Stream<Item = Result<Bytes, StoreError>> + Send + use<>, StoreError> {
        let reader = self
            .op
            .reader_with(&blob_name(id))
            .chunk(256 * 1024)
            .await?;
        let end = offset.saturating_add(len);
        let stream = reader.into_bytes_stream(offset..end).await?;
        Ok(stream.map_err(StoreError::from))
    }

    /// Deletes blob `id` (missing is fine).
    pub async fn delete(&self, id: BlobId) -> Result<(), StoreError> {
        self.op.delete(&blob_name(id)).await?;
        Ok(())
    }

    /// Every blob, or only those not modified for `min_age`.
    pub async fn list(&self, min_age: Option<Duration>) -> Result<Vec<BlobId>, StoreError> {
        let mut out = Vec::new();
        let mut lister = self.op.lister_with("").recursive(true).await?;
        let now = std::time::SystemTime::now();
        while let Some(entry) = lister.try_next().await? {
            let Some(id) = parse_blob_name(entry.path()) else {
                continue;
            };
            if let Some(age) = min_age {
                let meta = self.op.stat(entry.path()).await?;
                let modified = meta
                    .last_modified()
                    .map(std::time::SystemTime::from)
                    .unwrap_or(now);
                if now.duration_since(modified).unwrap_or_default() < age {
                    continue;
                }
            }
            out.push(id);
        }
        Ok(out)
    }
}

/// A blob being written. Dropping it without [`BlobWriter::finish`] leaves a partial blob that
/// no record references; [`BlobWriter::abort`] removes it eagerly, the sweep otherwise.
pub struct BlobWriter {
    id: BlobId,
    writer: Option<opendal::Writer>,
    written: u64,
    op: Operator,
    space: Option<Arc<Space>>,
    write_fault: Option<Arc<AtomicU64>>,
}

/// Enters the full state on `ENOSPC`; returns the error.
fn note(space: &Option<Arc<Space>>, e: StoreError) -> StoreError {
    if let (Some(s), true) = (space, e.is_storage_full()) {
        s.enter_full(&e.to_string());
    }
    e
}

impl BlobWriter {
    pub fn id(&self) -> BlobId {
        self.id
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn write(&mut self, data: Bytes) -> Result<(), StoreError> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| StoreError::Io("blob writer already closed".into()))?;
        if let Some(left) = &self.write_fault
            && left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)) == Ok(1)
        {
            return Err(StoreError::Io(
                "injected fault: Input/output error (os error 5)".into(),
            ));
        }
        self.written += data.len() as u64;
        w.write(data)
            .await
            .map_err(|e| note(&self.space, e.into()))?;
        Ok(())
    }

    /// Closes the blob; when this returns, its bytes are durable. On failure (`EIO`, `ENOSPC`
    /// at the final flush or fsync) the partial blob is deleted.
    pub async fn finish(mut self) -> Result<BlobId, StoreError> {
        if let Some(mut w) = self.writer.take()
            && let Err(e) = w.close().await
        {
            let e = note(&self.space, e.into());
            let _ = w.abort().await;
            let _ = self.op.delete(&blob_name(self.id)).await;
            return Err(e);
        }
        Ok(self.id)
    }

    /// Abandons the blob and deletes what was written.
    pub async fn abort(mut self) {
        if let Some(mut w) = self.writer.take() {
            let _ = w.abort().await;
        }
        let _ = self.op.delete(&blob_name(self.id)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_round_trip() {
        let id = 0x0123_4567_89ab_cdef_0011_2233_4455_6677u128;
        let name = blob_name(id);
        assert_eq!(name, "01/23/0123456789abcdef0011223344556677");
        assert_eq!(parse_blob_name(&name), Some(id));
        assert_eq!(parse_blob_name("01/23/not-a-blob"), None);
    }
}
