//! An object's bytes on their way in and out of the store.
//!
//! In: [`Store::ingest`] streams a body (a PUT, an upload part, a backup being restored) into the
//! store — kept in memory while it fits under the inline threshold, spilled into one fresh blob
//! as soon as it does not — letting the caller see every chunk first (hashing, size limits,
//! progress). The result is [`Staged`]: bytes no record references yet, which the caller either
//! [`finish`](Staged::finish)es (the blob made durable) once it has verified them, or
//! [`abort`](Staged::abort)s. After a failed commit, [`Store::discard`] deletes the blobs of data
//! that was finished but never referenced (the orphan sweep would, later).
//!
//! Out: [`Store::data_stream`] streams any byte range of stored data, inline or in blob segments.

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt, stream};

use super::blob::BlobWriter;
use super::model::{ObjectData, Segment};
use super::{Store, StoreError};

/// Bytes streamed into the store that no record references yet: inline, or in a blob still open.
pub struct Staged {
    inline: Vec<u8>,
    blob: Option<BlobWriter>,
    size: u64,
}

impl Staged {
    /// How many bytes were streamed in.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Makes the bytes durable (closes the blob, if any) and returns the data a record can
    /// reference. On failure the partial blob is deleted.
    pub async fn finish(self) -> Result<ObjectData, StoreError> {
        match self.blob {
            None => Ok(ObjectData::Inline(self.inline)),
            Some(w) => {
                let blob = w.finish().await?;
                Ok(ObjectData::Segments(vec![Segment {
                    blob,
                    offset: 0,
                    len: self.size,
                }]))
            }
        }
    }

    /// Abandons the bytes, deleting the blob written so far.
    pub async fn abort(self) {
        if let Some(w) = self.blob {
            w.abort().await;
        }
    }
}

async fn write_chunk(w: &mut BlobWriter, chunk: Bytes) -> Result<(), StoreError> {
    if chunk.is_empty() {
        return Ok(());
    }
    w.write(chunk).await
}

impl Store {
    /// Streams `chunks` into the store: inline while the total fits in the inline threshold,
    /// otherwise into one fresh blob. `inspect` sees every chunk before it is stored and may
    /// refuse it; on any error (the stream's, `inspect`'s or the store's) the partial blob is
    /// deleted and nothing is left behind.
    pub async fn ingest<E: From<StoreError>>(
        &self,
        chunks: impl Stream<Item = Result<Bytes, E>>,
        mut inspect: impl FnMut(&Bytes) -> Result<(), E>,
    ) -> Result<Staged, E> {
        let threshold = self.options.inline_threshold;
        let mut staged = Staged {
            inline: Vec::new(),
            blob: None,
            size: 0,
        };
        let mut chunks = std::pin::pin!(chunks);
        let streamed: Result<(), E> = async {
            while let Some(chunk) = chunks.try_next().await? {
                inspect(&chunk)?;
                staged.size += chunk.len() as u64;
                match &mut staged.blob {
                    Some(w) => write_chunk(w, chunk).await?,
                    None if staged.inline.len() + chunk.len() <= threshold => {
                        staged.inline.extend_from_slice(&chunk)
                    }
                    None => {
                        let mut w = self.blobs.create().await?;
                        let spilled = async {
                            write_chunk(&mut w, std::mem::take(&mut staged.inline).into()).await?;
                            write_chunk(&mut w, chunk).await
                        }
                        .await;
                        staged.blob = Some(w);
                        spilled?;
                    }
                }
            }
            Ok(())
        }
        .await;
        match streamed {
            Ok(()) => Ok(staged),
            Err(e) => {
                staged.abort().await;
                Err(e)
            }
        }
    }

    /// `data` in blob segments: inline bytes are written to a fresh, durable blob (parts of a
    /// multipart upload are always blob-backed, so completing one only concatenates segments).
    pub async fn blob_backed(&self, data: ObjectData) -> Result<ObjectData, StoreError> {
        match data {
            ObjectData::Segments(s) => Ok(ObjectData::Segments(s)),
            ObjectData::Inline(bytes) => {
                let len = bytes.len() as u64;
                let mut w = self.blobs.create().await?;
                if !bytes.is_empty() {
                    w.write(bytes.into()).await?;
                }
                let blob = w.finish().await?;
                Ok(ObjectData::Segments(vec![Segment {
                    blob,
                    offset: 0,
                    len,
                }]))
            }
        }
    }

    /// Deletes the blobs of freshly written data that will not be committed (a failed commit).
    pub async fn discard(&self, data: &ObjectData) {
        for id in data.blobs() {
            if let Err(e) = self.blobs.delete(id).await {
                tracing::warn!(error = %e, "could not delete an uncommitted blob; the sweep will");
            }
        }
    }

    /// Streams `len` bytes of `data` from `start`.
    pub fn data_stream(
        &self,
        data: &ObjectData,
        start: u64,
        len: u64,
    ) -> impl Stream<Item = Result<Bytes, StoreError>> + Send + 'static + use<> {
        let slices = match data.slice(start, len) {
            ObjectData::Inline(bytes) => {
                return stream::once(async move { Ok(Bytes::from(bytes)) }).left_stream();
            }
            ObjectData::Segments(s) => s,
        };
        let blobs = self.blobs.clone();
        stream::iter(slices)
            .then(move |seg| {
                let blobs = blobs.clone();
                async move { blobs.read(seg.blob, seg.offset, seg.len).await }
            })
            .try_flatten()
            .right_stream()
    }
}
