//! The metadata database (redb) and its group-commit writer.
//!
//! redb allows one write transaction at a time and a durable commit costs an fsync. Every
//! mutation is therefore sent to one writer thread as a closure; the thread drains whatever is
//! queued, applies all of it in one transaction, commits once, and only then acknowledges each
//! mutation. Concurrent writers share fsyncs instead of queueing behind each other's.
//!
//! Invariant for mutation closures: a closure either fails *before* writing anything (a
//! validation error: precondition failed, no such key, locked, ...) or succeeds. A storage error
//! after a partial write poisons the batch: the whole transaction is aborted and every mutation in
//! it fails, so a half-applied mutation is never committed.
//!
//! Tables (all keys and values are bytes; values are postcard records from [`super::model`]):
//!
//! | table | key | value |
//! |---|---|---|
//! | `buckets` | bucket name | [`BucketInfo`] |
//! | `versions` | bucket `\0` key `\0` !seq (u64 BE) | [`ObjectVersion`] (newest first per key) |
//! | `current` | bucket `\0` key | [`CurrentEntry`] (latest version, also delete markers) |
//! | `uploads` | bucket `\0` key `\0` upload id | [`UploadInfo`] |
//! | `parts` | upload id `\0` part number (u32 BE) | [`PartInfo`] |
//! | `blob_refs` | blob id (u128 BE) | reference count (u32 BE) |
//! | `system` | name | value (e.g. `seq`: u64 BE) |
//!
//! Keys and bucket names never contain NUL (the S3 layer refuses them), so `\0` separators keep
//! byte order equal to (bucket, key) order.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::oneshot;

use super::StoreError;
use super::model::*;

pub(crate) const BUCKETS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("buckets");
pub(crate) const VERSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("versions");
pub(crate) const CURRENT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("current");
pub(crate) const UPLOADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("uploads");
pub(crate) const PARTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("parts");
pub(crate) const BLOB_REFS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("blob_refs");
pub(crate) const SYSTEM: TableDefinition<&[u8], &[u8]> = TableDefinition::new("system");

/// Raw `(key, value)` pairs from a range scan.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Most mutations applied in one transaction.
const MAX_BATCH: usize = 512;

// ---------------------------------------------------------------------------------------------
// Key encoding

/// `bucket \0` — the start of a bucket's range in `versions`, `current` and `uploads`.
pub(crate) fn bucket_prefix(bucket: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1);
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k
}

/// `bucket \x01` — the end (exclusive) of a bucket's range.
pub(crate) fn bucket_end(bucket: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1);
    k.extend_from_slice(bucket.as_bytes());
    k.push(1);
    k
}

/// `bucket \0 key` — the `current` table key.
pub(crate) fn current_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = bucket_prefix(bucket);
    k.extend_from_slice(key.as_bytes());
    k
}

/// `bucket \0 key \0` — the start of a key's versions (and uploads).
pub(crate) fn key_prefix(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = current_key(bucket, key);
    k.push(0);
    k
}

/// `bucket \0 key \x01` — the end (exclusive) of a key's versions.
pub(crate) fn key_end(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = current_key(bucket, key);
    k.push(1);
    k
}

pub(crate) fn version_key(bucket: &str, key: &str, seq: u64) -> Vec<u8> {
    let mut k = key_prefix(bucket, key);
    k.extend_from_slice(&(u64::MAX - seq).to_be_bytes());
    k
}

/// The sequence number encoded at the end of a `versions` key.
pub(crate) fn seq_of_version_key(k: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    if k.len() >= 8 {
        b.copy_from_slice(&k[k.len() - 8..]);
    }
    u64::MAX - u64::from_be_bytes(b)
}

pub(crate) fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut k = key_prefix(bucket, key);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

pub(crate) fn part_key(upload_id: &str, number: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(upload_id.len() + 5);
    k.extend_from_slice(upload_id.as_bytes());
    k.push(0);
    k.extend_from_slice(&number.to_be_bytes());
    k
}

pub(crate) fn part_prefix(upload_id: &str) -> (Vec<u8>, Vec<u8>) {
    let mut start = upload_id.as_bytes().to_vec();
    start.push(0);
    let mut end = upload_id.as_bytes().to_vec();
    end.push(1);
    (start, end)
}

/// Splits `bucket \0 rest` and returns `rest` as a string.
pub(crate) fn strip_bucket<'a>(bucket: &str, k: &'a [u8]) -> &'a [u8] {
    &k[(bucket.len() + 1).min(k.len())..]
}

// ---------------------------------------------------------------------------------------------
// Transactions

/// The write side seen by one mutation closure.
pub struct WriteCtx {
    txn: redb::WriteTransaction,
    seq: u64,
    /// Blobs whose reference count reached zero; deleted after the commit.
    freed: Vec<BlobId>,
}

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
type Job = Box<dyn FnOnce(&mut WriteCtx) -> (Completion, Option<StoreError>) + Send>;

impl WriteCtx {
    /// A fresh, strictly increasing sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn get(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.txn.open_table(table)?;
        Ok(t.get(key)?.map(|v| v.value().to_vec()))
    }

    pub fn get_record<T: for<'de> serde::Deserialize<'de>>(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.get(table, key)? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    pub fn put_record<T: serde::Serialize>(
        &mut self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
        value: &T,
    ) -> Result<(), StoreError> {
        let mut t = self.txn.open_table(table)?;
        t.insert(key, encode(value).as_slice())?;
        Ok(())
    }

    pub fn remove(
        &mut self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
    ) -> Result<bool, StoreError> {
        let mut t = self.txn.open_table(table)?;
        Ok(t.remove(key)?.is_some())
    }

    /// Entries with keys in `[start, end)`, at most `limit`.
    pub fn range(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let t = self.txn.open_table(table)?;
        let mut out = Vec::new();
        for item in t.range::<&[u8]>(start..end)? {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Whether any key exists in `[start, end)`.
    pub fn any_in(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        start: &[u8],
        end: &[u8],
    ) -> Result<bool, StoreError> {
        let t = self.txn.open_table(table)?;
        Ok(t.range::<&[u8]>(start..end)?.next().transpose()?.is_some())
    }

    /// Adds one reference to every blob `data` uses.
    pub fn retain_data(&mut self, data: &ObjectData) -> Result<(), StoreError> {
        let blobs: Vec<BlobId> = data.blobs().collect();
        if blobs.is_empty() {
            return Ok(());
        }
        let mut t = self.txn.open_table(BLOB_REFS)?;
        for b in blobs {
            let k = b.to_be_bytes();
            let n = t
                .get(k.as_slice())?
                .map(|v| read_u32(v.value()))
                .unwrap_or(0);
            t.insert(k.as_slice(), n.saturating_add(1).to_be_bytes().as_slice())?;
        }
        Ok(())
    }

    /// Drops one reference to every blob `data` uses; blobs left unreferenced are deleted after
    /// the commit.
    pub fn release_data(&mut self, data: &ObjectData) -> Result<(), StoreError> {
        let blobs: Vec<BlobId> = data.blobs().collect();
        if blobs.is_empty() {
            return Ok(());
        }
        let mut t = self.txn.open_table(BLOB_REFS)?;
        for b in blobs {
            let k = b.to_be_bytes();
            let n = t
                .get(k.as_slice())?
                .map(|v| read_u32(v.value()))
                .unwrap_or(0);
            if n <= 1 {
                t.remove(k.as_slice())?;
                self.freed.push(b);
            } else {
                t.insert(k.as_slice(), (n - 1).to_be_bytes().as_slice())?;
            }
        }
        Ok(())
    }
}

fn read_u32(v: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    if v.len() == 4 {
        b.copy_from_slice(v);
    }
    u32::from_be_bytes(b)
}

/// Read access to one consistent snapshot.
pub struct ReadCtx {
    txn: redb::ReadTransaction,
}

impl ReadCtx {
    pub fn get(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let t = match self.txn.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(t.get(key)?.map(|v| v.value().to_vec()))
    }

    pub fn get_record<T: for<'de> serde::Deserialize<'de>>(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.get(table, key)? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Entries with keys in `[start, end)`, at most `limit`, in key order.
    pub fn range(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let t = match self.txn.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        if start >= end {
            return Ok(out);
        }
        for item in t.range::<&[u8]>(start..end)? {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Visits every key of `table` (for the orphan sweep).
    pub fn for_each_key(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        mut f: impl FnMut(&[u8]),
    ) -> Result<(), StoreError> {
        let t = match self.txn.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for item in t.iter()? {
            let (k, _) = item?;
            f(k.value());
        }
        Ok(())
    }
}

/// The metadata database: snapshot reads on any thread, writes through the group-commit thread.
pub struct MetaDb {
    db: Arc<Database>,
    jobs: mpsc::Sender<Job>,
}

impl MetaDb {
    /// Opens (or creates) the database at `path` with a page cache of `cache_bytes`, and starts
    /// the writer thread. Blobs freed by committed mutations are sent to `freed`.
    pub fn open(
        path: &Path,
        cache_bytes: usize,
        freed: tokio::sync::mpsc::UnboundedSender<BlobId>,
    ) -> Result<Self, StoreError> {
        // The page cache holds metadata and inline object bytes; bound it (redb's default is
        // 1 GiB) so a small deployment's memory does not grow with the data written.
        let db = Arc::new(
            redb::Builder::new()
                .set_cache_size(cache_bytes)
                .create(path)?,
        );
        // Make sure every table exists so read transactions never see a missing table.
        let seq = {
            let txn = db.begin_write()?;
            for t in [
                BUCKETS, VERSIONS, CURRENT, UPLOADS, PARTS, BLOB_REFS, SYSTEM,
            ] {
                txn.open_table(t)?;
            }
            let seq = {
                let t = txn.open_table(SYSTEM)?;
                let v = t.get(b"seq".as_slice())?;
                v.map(|v| {
                    let mut b = [0u8; 8];
                    if v.value().len() == 8 {
                        b.copy_from_slice(v.value());
                    }
                    u64::from_be_bytes(b)
                })
                .unwrap_or(0)
            };
            txn.commit()?;
            seq
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_db = db.clone();
        std::thread::Builder::new()
            .name("lakegate-meta-writer".into())
            .spawn(move || writer_loop(writer_db, rx, freed, seq))
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(MetaDb { db, jobs: tx })
    }

    /// Runs `f` against a consistent snapshot.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&ReadCtx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.db.begin_read()?;
        f(&ReadCtx { txn })
    }

    /// Applies `f` in the next group commit and waits until it is durable.
    ///
    /// `f` must not write anything when it returns an error other than a storage error (see the
    /// module docs).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut WriteCtx) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |ctx: &mut WriteCtx| {
            let result = f(ctx);
            let poison = match &result {
                Err(e) if e.is_storage() => Some(e.clone()),
                _ => None,
            };
            let completion: Completion = Box::new(move |commit: Result<(), StoreError>| {
                let _ = tx.send(commit.and(result));
            });
            (completion, poison)
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Io("metadata writer stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Io("metadata writer stopped".into()))?
    }
}

fn writer_loop(
    db: Arc<Database>,
    rx: mpsc::Receiver<Job>,
    freed_tx: tokio::sync::mpsc::UnboundedSender<BlobId>,
    mut seq: u64,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => {
                let err = StoreError::from(e);
                fail_all(batch, err);
                continue;
            }
        };
        let mut ctx = WriteCtx {
            txn,
            seq,
            freed: Vec::new(),
        };
        let mut completions = Vec::with_capacity(batch.len());
        let mut poisoned: Option<StoreError> = None;
        let mut jobs = batch.into_iter();
        for job in jobs.by_ref() {
            let (done, poison) = job(&mut ctx);
            completions.push(done);
            if let Some(p) = poison {
                poisoned = Some(p);
                break;
            }
        }
        let leftover: Vec<Job> = jobs.collect();
        let WriteCtx {
            mut txn,
            seq: new_seq,
            freed,
        } = ctx;
        let outcome = match poisoned {
            Some(e) => {
                let _ = txn.abort();
                Err(e)
            }
            None => (|| {
                {
                    let mut t = txn.open_table(SYSTEM)?;
                    t.insert(b"seq".as_slice(), new_seq.to_be_bytes().as_slice())?;
                }
                txn.set_durability(Durability::Immediate)
                    .map_err(|e| StoreError::Io(e.to_string()))?;
                txn.commit()?;
                Ok(())
            })(),
        };
        match outcome {
            Ok(()) => {
                seq = new_seq;
                for b in freed {
                    let _ = freed_tx.send(b);
                }
                for done in completions {
                    done(Ok(()));
                }
            }
            Err(e) => {
                for done in completions {
                    done(Err(e.clone()));
                }
            }
        }
        // Mutations behind a poisoned one were never applied: fail them too, they may retry.
        if !leftover.is_empty() {
            fail_all(
                leftover,
                StoreError::Io("transaction aborted; retry".into()),
            );
        }
    }
}

fn fail_all(jobs: Vec<Job>, err: StoreError) {
    // A job's completion is only reachable by running it; run each against nothing is not
    // possible, so build a throwaway context-free failure by dropping: the oneshot sender is
    // dropped and the waiter sees "writer stopped". Report the cause here instead.
    tracing::error!(error = %err, count = jobs.len(), "metadata batch failed");
    drop(jobs);
}
