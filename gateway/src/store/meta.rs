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
//! The tables, their key layout and the record encoding are defined in [`super::schema`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use redb::{Database, Durability, ReadableDatabase, ReadableTable};
use tokio::sync::oneshot;

use super::StoreError;
use super::model::*;
use super::schema::{self, ALL_TABLES, BLOB_REFS, Record, SEQ_KEY, SYSTEM, Table};
use super::space::Space;
use crate::telemetry::{Histogram, LATENCY_SECONDS};

/// Raw `(key, value)` pairs from a range scan.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Most mutations applied in one transaction.
const MAX_BATCH: usize = 512;

// ---------------------------------------------------------------------------------------------
// Transactions

/// The write side seen by one mutation closure.
pub struct WriteCtx {
    txn: redb::WriteTransaction,
    seq: u64,
    /// Blobs whose reference count reached zero; deleted after the commit.
    freed: Vec<BlobId>,
    /// Object bytes this batch removed (for leaving the full state, see [`Space`]).
    freed_bytes: u64,
}

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A mutation. Run with `Err` when its batch cannot start (no database): it then only reports
/// that error to its caller.
type Job =
    Box<dyn FnOnce(Result<&mut WriteCtx, StoreError>) -> (Completion, Option<StoreError>) + Send>;

/// The reads both transaction kinds offer (a read transaction sees a table that was never
/// written as empty).
pub trait Tables {
    /// The value under `key`.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Entries with keys in `[start, end)`, at most `limit`, in key order.
    fn range(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Entries, StoreError>;

    /// The record under `key`, decoded.
    fn get_record<T: Record>(&self, table: Table, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.get(table, key)? {
            Some(bytes) => Ok(Some(schema::decode(&bytes)?)),
            None => Ok(None),
        }
    }
}

/// A table of the metadata database, opened by either kind of transaction.
trait RawTable: ReadableTable<&'static [u8], &'static [u8]> {}
impl<T: ReadableTable<&'static [u8], &'static [u8]>> RawTable for T {}

fn value_in(t: &impl RawTable, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(t.get(key)?.map(|v| v.value().to_vec()))
}

fn entries_in(
    t: &impl RawTable,
    start: &[u8],
    end: &[u8],
    limit: usize,
) -> Result<Entries, StoreError> {
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

impl Tables for WriteCtx {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        value_in(&self.txn.open_table(table)?, key)
    }

    fn range(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Entries, StoreError> {
        entries_in(&self.txn.open_table(table)?, start, end, limit)
    }
}

impl WriteCtx {
    /// Records that `n` bytes of object data were removed by this mutation.
    pub fn note_freed(&mut self, n: u64) {
        self.freed_bytes = self.freed_bytes.saturating_add(n);
    }

    /// A fresh, strictly increasing sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn put_record<T: Record>(
        &mut self,
        table: Table,
        key: &[u8],
        value: &T,
    ) -> Result<(), StoreError> {
        let mut t = self.txn.open_table(table)?;
        t.insert(key, schema::encode(value)?.as_slice())?;
        Ok(())
    }

    pub fn remove(&mut self, table: Table, key: &[u8]) -> Result<bool, StoreError> {
        let mut t = self.txn.open_table(table)?;
        Ok(t.remove(key)?.is_some())
    }

    /// Whether any key exists in `[start, end)`.
    pub fn any_in(&self, table: Table, start: &[u8], end: &[u8]) -> Result<bool, StoreError> {
        let t = self.txn.open_table(table)?;
        Ok(t.range::<&[u8]>(start..end)?.next().transpose()?.is_some())
    }

    /// Adds one reference to every blob `data` uses.
    pub fn retain_data(&mut self, data: &ObjectData) -> Result<(), StoreError> {
        self.count_references(data, RefChange::Retain)
    }

    /// Drops one reference to every blob `data` uses; blobs left unreferenced are deleted after
    /// the commit.
    pub fn release_data(&mut self, data: &ObjectData) -> Result<(), StoreError> {
        self.count_references(data, RefChange::Release)
    }

    fn count_references(&mut self, data: &ObjectData, change: RefChange) -> Result<(), StoreError> {
        let blobs: Vec<BlobId> = data.blobs().collect();
        if blobs.is_empty() {
            return Ok(());
        }
        let mut t = self.txn.open_table(BLOB_REFS)?;
        for b in blobs {
            let k = schema::blob_ref_key(b);
            let n = match t.get(k.as_slice())? {
                Some(v) => schema::decode_ref_count(v.value())?,
                None => 0,
            };
            let n = match change {
                RefChange::Retain => n.saturating_add(1),
                RefChange::Release => n.saturating_sub(1),
            };
            if n == 0 {
                t.remove(k.as_slice())?;
                self.freed.push(b);
            } else {
                t.insert(k.as_slice(), schema::encode_ref_count(n).as_slice())?;
            }
        }
        Ok(())
    }
}

/// Whether the blob references of a version are being added or dropped.
#[derive(Clone, Copy)]
enum RefChange {
    Retain,
    Release,
}

type ReadOnlyTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// Read access to one consistent snapshot.
pub struct ReadCtx {
    txn: redb::ReadTransaction,
}

impl ReadCtx {
    /// `table`, or `None` if it was never written.
    fn table(&self, table: Table) -> Result<Option<ReadOnlyTable>, StoreError> {
        match self.txn.open_table(table) {
            Ok(t) => Ok(Some(t)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Visits every entry of `table` from `start` (inclusive) to `end` (exclusive), in order,
    /// without copying them out; stops at the first error `f` returns.
    pub fn for_each_in(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let Some(t) = self.table(table)? else {
            return Ok(());
        };
        if start >= end {
            return Ok(());
        }
        for item in t.range::<&[u8]>(start..end)? {
            let (k, v) = item?;
            f(k.value(), v.value())?;
        }
        Ok(())
    }

    /// Visits every key of `table` (for the orphan sweep).
    pub fn for_each_key(&self, table: Table, mut f: impl FnMut(&[u8])) -> Result<(), StoreError> {
        let Some(t) = self.table(table)? else {
            return Ok(());
        };
        for item in t.iter()? {
            let (k, _) = item?;
            f(k.value());
        }
        Ok(())
    }
}

impl Tables for ReadCtx {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.table(table)? {
            Some(t) => value_in(&t, key),
            None => Ok(None),
        }
    }

    fn range(
        &self,
        table: Table,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Entries, StoreError> {
        match self.table(table)? {
            Some(t) => entries_in(&t, start, end, limit),
            None => Ok(Vec::new()),
        }
    }
}

/// The metadata database: snapshot reads on any thread, writes through the group-commit thread.
///
/// The `Database` sits in an [`ArcSwapOption`]: after a failed commit (an I/O error, `ENOSPC`)
/// redb refuses everything until the database is closed and reopened, so the writer takes it out
/// (`None`), waits for readers in flight to drop their handles, and reopens it — retried with
/// backoff while it fails, with the store reported unavailable (see [`Space::set_meta_down`]).
/// Readers arriving meanwhile wait briefly for the new handle.
pub struct MetaDb {
    db: Arc<ArcSwapOption<Database>>,
    jobs: mpsc::Sender<Job>,
    space: Arc<Space>,
    /// The group commits' figures.
    pub commits: Arc<CommitStats>,
}

/// Bucket bounds for group-commit batch sizes (mutations per commit).
const BATCH_SIZES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// What the group-commit writer has done: batch sizes, commit (and fsync) latency, failures.
#[derive(Debug)]
pub struct CommitStats {
    /// Mutations per committed batch.
    pub batch_size: Histogram,
    /// Time to commit one batch durably (redb's commit with its fsyncs).
    pub commit_seconds: Histogram,
    /// Batches that failed (aborted, or the commit failed).
    pub failed: AtomicU64,
}

impl Default for CommitStats {
    fn default() -> Self {
        CommitStats {
            batch_size: Histogram::new(BATCH_SIZES),
            commit_seconds: Histogram::new(LATENCY_SECONDS),
            failed: AtomicU64::new(0),
        }
    }
}

/// Opens (or creates) the database and makes sure every table exists; returns it and the last
/// committed sequence number.
fn open_db(path: &Path, cache_bytes: usize) -> Result<(Database, u64), StoreError> {
    // The page cache holds metadata and inline object bytes; bound it (redb's default is
    // 1 GiB) so a small deployment's memory does not grow with the data written.
    let db = redb::Builder::new()
        .set_cache_size(cache_bytes)
        .create(path)?;
    // Make sure every table exists so read transactions never see a missing table.
    let seq = {
        let txn = db.begin_write()?;
        for t in ALL_TABLES {
            txn.open_table(t)?;
        }
        let seq = {
            let t = txn.open_table(SYSTEM)?;
            let v = t.get(SEQ_KEY)?;
            match v {
                Some(v) => schema::decode_seq(v.value())?,
                None => 0,
            }
        };
        txn.commit()?;
        seq
    };
    Ok((db, seq))
}

/// Test hooks, from `LAKEGATE_TEST_FAULTS` (read once when the store opens; inert unless set):
/// a comma-separated list of
/// - `meta-commit-eio:N` — the N-th metadata commit after open fails as if `fsync` returned
///   `EIO` (the transaction is aborted, the batch's callers get an error, the database is
///   closed and reopened like after a real I/O error);
/// - `meta-commit-enospc:N` — the same with `ENOSPC` (the store also enters the full state);
/// - `meta-commit-durable-eio:N` — the N-th commit reaches the disk but reports `EIO` (an
///   fsync that failed after the fact); callers check whether their write landed;
/// - `meta-reopen-fail:K` — the next K reopen attempts fail (the store reports itself
///   unavailable meanwhile).
#[derive(Debug, Default, Clone, Copy)]
struct Faults {
    commit_eio: Option<u64>,
    commit_enospc: Option<u64>,
    commit_durable_eio: Option<u64>,
    reopen_fail: u64,
}

impl Faults {
    fn from_env() -> Faults {
        let mut f = Faults::default();
        let Ok(spec) = std::env::var("LAKEGATE_TEST_FAULTS") else {
            return f;
        };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, n) = item.split_once(':').unwrap_or((item, "1"));
            let Ok(n) = n.trim().parse::<u64>() else {
                tracing::warn!(fault = item, "LAKEGATE_TEST_FAULTS: bad count, ignored");
                continue;
            };
            match name.trim() {
                "meta-commit-eio" => f.commit_eio = Some(n),
                "meta-commit-enospc" => f.commit_enospc = Some(n),
                "meta-commit-durable-eio" => f.commit_durable_eio = Some(n),
                "meta-reopen-fail" => f.reopen_fail = n,
                _ => tracing::warn!(fault = item, "LAKEGATE_TEST_FAULTS: unknown fault, ignored"),
            }
        }
        tracing::warn!(faults = ?f, "test faults armed (LAKEGATE_TEST_FAULTS)");
        f
    }

    /// The injected failure for commit number `n` (1-based), if any.
    fn commit(&mut self, n: u64) -> Option<StoreError> {
        if self.commit_eio == Some(n) {
            self.commit_eio = None;
            return Some(StoreError::Io(
                "injected fault: Input/output error (os error 5)".into(),
            ));
        }
        if self.commit_enospc == Some(n) {
            self.commit_enospc = None;
            return Some(StoreError::StorageFull(
                "injected fault: No space left on device (os error 28)".into(),
            ));
        }
        None
    }

    /// For commit number `n`: commit, then report `EIO` anyway, once (as when the last fsync
    /// fails after the header reached the disk).
    fn durable(&mut self, n: u64) -> Option<StoreError> {
        if self.commit_durable_eio == Some(n) {
            self.commit_durable_eio = None;
            return Some(StoreError::Io(
                "injected fault: Input/output error after commit (os error 5)".into(),
            ));
        }
        None
    }
}

impl MetaDb {
    /// Opens (or creates) the database at `path` with a page cache of `cache_bytes`, and starts
    /// the writer thread. Blobs freed by committed mutations are sent to `freed`.
    pub fn open(
        path: &Path,
        cache_bytes: usize,
        freed: tokio::sync::mpsc::UnboundedSender<BlobId>,
        space: Arc<Space>,
    ) -> Result<Self, StoreError> {
        Self::open_with(path, cache_bytes, freed, space, Faults::from_env())
    }

    fn open_with(
        path: &Path,
        cache_bytes: usize,
        freed: tokio::sync::mpsc::UnboundedSender<BlobId>,
        space: Arc<Space>,
        faults: Faults,
    ) -> Result<Self, StoreError> {
        let (db, seq) = open_db(path, cache_bytes)?;
        let shared = Arc::new(ArcSwapOption::from_pointee(db));
        let (tx, rx) = mpsc::channel::<Job>();
        let commits = Arc::new(CommitStats::default());
        let writer = Writer {
            stats: commits.clone(),
            shared: shared.clone(),
            path: path.to_path_buf(),
            cache_bytes,
            space: space.clone(),
            faults,
            seq,
            commits: 0,
            backoff: MIN_BACKOFF,
        };
        std::thread::Builder::new()
            .name("lakegate-meta-writer".into())
            .spawn(move || writer.run(rx, freed))
            .map_err(|e| StoreError::Io(e.to_string()))?;
        Ok(MetaDb {
            db: shared,
            jobs: tx,
            space,
            commits,
        })
    }

    /// The open database; waits (up to 2 s) while the writer reopens it.
    fn database(&self) -> Result<Arc<Database>, StoreError> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if let Some(db) = self.db.load_full() {
                return Ok(db);
            }
            if let Some(why) = self.space.meta_down() {
                return Err(StoreError::Unavailable(why));
            }
            if Instant::now() >= deadline {
                return Err(StoreError::Unavailable("being reopened".into()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Runs `f` against a consistent snapshot.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&ReadCtx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.database()?;
        let txn = db.begin_read()?;
        let out = f(&ReadCtx { txn });
        drop(db);
        out
    }

    /// Applies `f` in the next group commit and waits until it is durable. Refused with
    /// [`StoreError::StorageFull`] while the store is full (see [`super::space`]); mutations
    /// that free space use [`MetaDb::write_freeing`].
    ///
    /// `f` must not write anything when it returns an error other than a storage error (see the
    /// module docs).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut WriteCtx) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if self.space.is_full() {
            return Err(StoreError::refused_full());
        }
        self.submit(f).await
    }

    /// Like [`MetaDb::write`] for mutations that free space (deletes): accepted while the store
    /// is full, and retried once if the commit meets `ENOSPC` (which releases the reserve).
    pub async fn write_freeing<T: Send + 'static>(
        &self,
        f: impl Fn(&mut WriteCtx) -> Result<T, StoreError> + Send + Sync + 'static,
    ) -> Result<T, StoreError> {
        let f = Arc::new(f);
        let first = f.clone();
        match self.submit(move |w| first(w)).await {
            Err(e) if e.is_storage_full() => self.submit(move |w| f(w)).await,
            other => other,
        }
    }

    async fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut WriteCtx) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if let Some(why) = self.space.meta_down() {
            return Err(StoreError::Unavailable(why));
        }
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |ctx: Result<&mut WriteCtx, StoreError>| {
            let ctx = match ctx {
                Ok(ctx) => ctx,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    let done: Completion = Box::new(|_| {});
                    return (done, None);
                }
            };
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

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The group-commit writer thread's state.
struct Writer {
    stats: Arc<CommitStats>,
    shared: Arc<ArcSwapOption<Database>>,
    path: PathBuf,
    cache_bytes: usize,
    space: Arc<Space>,
    faults: Faults,
    /// The last committed sequence number.
    seq: u64,
    /// Commits attempted since open (for [`Faults`]).
    commits: u64,
    /// The wait before the next reopen attempt while the database is closed.
    backoff: Duration,
}

impl Writer {
    fn run(
        mut self,
        rx: mpsc::Receiver<Job>,
        freed_tx: tokio::sync::mpsc::UnboundedSender<BlobId>,
    ) {
        loop {
            let first = if self.shared.load().is_some() {
                match rx.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            } else {
                match rx.recv_timeout(self.backoff) {
                    Ok(job) => job,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.reopen();
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if self.shared.load().is_none() {
                self.reopen();
            }
            let Some(db) = self.shared.load_full() else {
                let why = self.space.meta_down().unwrap_or_else(|| "closed".into());
                fail_all(batch, StoreError::Unavailable(why));
                continue;
            };
            self.run_batch(db, batch, &freed_tx);
        }
    }

    /// After a storage failure: enter the full state on `ENOSPC`, and close and reopen the
    /// database (redb answers every later transaction with "previous I/O error" after a failed
    /// commit). What was committed before is intact; the failed batch was not acknowledged.
    /// Runs before the failed batch's callers are answered, so their next request sees the
    /// new state.
    fn recover(&mut self, db: Arc<Database>, e: &StoreError) {
        if e.is_storage_full() {
            self.space.enter_full(&e.to_string());
        }
        tracing::error!(error = %e, "metadata commit failed; reopening the database");
        drop(db);
        self.close();
        self.reopen();
    }

    /// Applies and commits one batch; on a storage failure, recovers before answering.
    fn run_batch(
        &mut self,
        db: Arc<Database>,
        batch: Vec<Job>,
        freed_tx: &tokio::sync::mpsc::UnboundedSender<BlobId>,
    ) {
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => {
                let err = StoreError::from(e);
                self.recover(db, &err);
                fail_all(batch, err);
                return;
            }
        };
        let mut ctx = WriteCtx {
            txn,
            seq: self.seq,
            freed: Vec::new(),
            freed_bytes: 0,
        };
        let batch_len = batch.len();
        let started = Instant::now();
        let mut completions = Vec::with_capacity(batch.len());
        let mut poisoned: Option<StoreError> = None;
        let mut jobs = batch.into_iter();
        for job in jobs.by_ref() {
            let (done, poison) = job(Ok(&mut ctx));
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
            freed_bytes,
        } = ctx;
        self.commits += 1;
        let injected = self.faults.commit(self.commits);
        let after_commit = self.faults.durable(self.commits);
        let outcome = match poisoned.or(injected) {
            Some(e) => {
                let _ = txn.abort();
                Err(e)
            }
            None => (|| {
                {
                    let mut t = txn.open_table(SYSTEM)?;
                    t.insert(SEQ_KEY, schema::encode_seq(new_seq).as_slice())?;
                }
                txn.set_durability(Durability::Immediate)
                    .map_err(|e| StoreError::Io(e.to_string()))?;
                txn.commit()?;
                after_commit.map_or(Ok(()), Err)
            })(),
        };
        let failure = match outcome {
            Ok(()) => {
                self.stats
                    .commit_seconds
                    .observe_duration(started.elapsed());
                self.stats.batch_size.observe(batch_len as f64);
                drop(db);
                self.seq = new_seq;
                self.space.note_freed(freed_bytes);
                for b in freed {
                    let _ = freed_tx.send(b);
                }
                for done in completions {
                    done(Ok(()));
                }
                None
            }
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                if matches!(e, StoreError::Io(_) | StoreError::StorageFull(_)) {
                    self.recover(db, &e);
                } else {
                    drop(db);
                }
                for done in completions {
                    done(Err(e.clone()));
                }
                Some(e)
            }
        };
        // Mutations behind a poisoned one were never applied: fail them too, they may retry.
        if !leftover.is_empty() {
            let err = match &failure {
                Some(StoreError::StorageFull(m)) => StoreError::StorageFull(m.clone()),
                _ => StoreError::Io("transaction aborted; retry".into()),
            };
            fail_all(leftover, err);
        }
    }

    /// Takes the database out of service and waits (up to 10 s) for readers in flight to drop
    /// their handles, so it is really closed (redb locks the file).
    fn close(&mut self) {
        let Some(old) = self.shared.swap(None) else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&old) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(old);
    }

    /// One attempt to reopen a closed database; on failure the store is reported unavailable
    /// and the backoff grows.
    fn reopen(&mut self) {
        if self.shared.load().is_some() {
            return;
        }
        let result = if self.faults.reopen_fail > 0 {
            self.faults.reopen_fail -= 1;
            Err(StoreError::Io(
                "injected fault: reopen failed (os error 5)".into(),
            ))
        } else {
            open_db(&self.path, self.cache_bytes)
        };
        match result {
            Ok((db, seq)) => {
                // The committed sequence number, in case a failed commit reached the disk.
                self.seq = seq;
                self.shared.store(Some(Arc::new(db)));
                self.backoff = MIN_BACKOFF;
                self.space.set_meta_down(None);
                tracing::info!("metadata database reopened");
            }
            Err(e) => {
                if e.is_storage_full() {
                    self.space.enter_full(&e.to_string());
                }
                self.space.set_meta_down(Some(e.to_string()));
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Fails every job of a batch that could not run, with `err`.
fn fail_all(jobs: Vec<Job>, err: StoreError) {
    tracing::error!(error = %err, count = jobs.len(), "metadata batch failed");
    for job in jobs {
        let (done, _) = job(Err(err.clone()));
        done(Err(err.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "lakegate-meta-{name}-{}-{:x}",
            std::process::id(),
            uuid::Uuid::new_v4().as_u128() as u32
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    async fn put(db: &MetaDb, k: &str) -> Result<(), StoreError> {
        let k = k.to_string();
        db.write(move |w| {
            let mut t = w.txn.open_table(SYSTEM)?;
            t.insert(k.as_bytes(), b"v".as_slice())?;
            Ok(())
        })
        .await
    }

    fn has(db: &MetaDb, k: &str) -> bool {
        db.read(|r| Ok(r.get(SYSTEM, k.as_bytes())?.is_some()))
            .unwrap()
    }

    #[tokio::test]
    async fn a_failed_commit_is_reported_and_the_store_reopens() {
        let dir = temp_dir("eio");
        let space = Arc::new(Space::new(&dir));
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let faults = Faults {
            commit_eio: Some(3),
            commit_enospc: Some(5),
            ..Faults::default()
        };
        let db =
            MetaDb::open_with(&dir.join("m.redb"), 1 << 20, tx, space.clone(), faults).unwrap();
        put(&db, "k1").await.unwrap();
        put(&db, "k2").await.unwrap();
        let e = put(&db, "k3").await.unwrap_err();
        assert!(matches!(e, StoreError::Io(_)), "{e:?}");
        put(&db, "k4").await.unwrap();
        let e = put(&db, "k5").await.unwrap_err();
        assert!(e.is_storage_full(), "{e:?}");
        assert!(space.is_full());
        assert!(space.ready().is_err());
        // Refused while full; deletes (freeing writes) still go through.
        assert!(put(&db, "k6").await.unwrap_err().is_storage_full());
        db.write_freeing(|w| {
            let mut t = w.txn.open_table(SYSTEM)?;
            t.remove(b"k1".as_slice())?;
            Ok(())
        })
        .await
        .unwrap();
        assert!(!has(&db, "k1") && has(&db, "k2") && !has(&db, "k3") && has(&db, "k4"));
        assert!(!has(&db, "k5") && !has(&db, "k6"));
        // The disk has room: the periodic check leaves the full state.
        space.check();
        assert!(!space.is_full());
        put(&db, "k7").await.unwrap();
        assert!(has(&db, "k7"));
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_store_that_cannot_reopen_says_so_and_recovers() {
        let dir = temp_dir("reopen");
        let space = Arc::new(Space::new(&dir));
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let faults = Faults {
            commit_eio: Some(1),
            reopen_fail: 2,
            ..Faults::default()
        };
        let db =
            MetaDb::open_with(&dir.join("m.redb"), 1 << 20, tx, space.clone(), faults).unwrap();
        assert!(put(&db, "k1").await.is_err());
        let why = space.ready().unwrap_err();
        assert!(why.contains("metadata store unavailable"), "{why}");
        assert!(matches!(
            put(&db, "k2").await.unwrap_err(),
            StoreError::Unavailable(_)
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        while space.ready().is_err() {
            assert!(Instant::now() < deadline, "never reopened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        put(&db, "k3").await.unwrap();
        assert!(has(&db, "k3") && !has(&db, "k1"));
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn faults_are_inert_unless_named() {
        let mut f = Faults::default();
        assert!((1..100).all(|n| f.commit(n).is_none()));
        let mut f = Faults {
            commit_eio: Some(2),
            ..Faults::default()
        };
        assert!(f.commit(1).is_none());
        assert!(f.commit(2).is_some());
        assert!(f.commit(2).is_none(), "fires once");
    }
}
