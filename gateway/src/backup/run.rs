//! Executing backup plans: one run = one generation.
//!
//! A run loads the newest manifest (generation `G`), replays the journal of an unfinished run
//! `G + 1` if one was interrupted, asks the plugin for steps (per page of source objects for a
//! full run, per batch of change events for an incremental one), carries them out, journals
//! each page, and finally writes manifest `G + 1` and prunes old generations.
//!
//! Copies stream the version's bytes from the store (inline or blob) into a temporary file of
//! the target, hashing SHA-256 and MD5 on the way; the size and (for single-part objects) the
//! MD5 against the ETag are verified before the file is renamed into `data/<path>`. When
//! generations are kept, the bytes it replaces are first moved to
//! `displaced/<written_gen>/<path>`, so older manifests keep finding them.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::error::BackupError;
use super::manifest::{self, Entry, Header, JournalLine, Manifest};
use super::target::{BucketTarget, check_path};
use super::{Progress, push_error};
use crate::local_key::LocalKey;
use crate::policy::{BackupStep, ChangeEvent, ChangeKind, LoadedPlugin, ObjectVersion};
use crate::store::{Millis, Store, StoreError, VersionRef, now_millis};

/// Source objects per `plan-full` call.
pub const PAGE: usize = 1000;
/// Change events per `plan-changes` call.
pub const EVENT_CHUNK: usize = 1000;
/// Copy slots: a small object (below [`LARGE_COPY`]) takes one, a large one four, so up to 16
/// small copies (bound by one fsync each) or 4 large ones (bound by bandwidth) run at once.
pub const COPY_SLOTS: usize = 16;
/// From this size on, a copy takes four slots.
pub const LARGE_COPY: u64 = 1024 * 1024;

/// What a run is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Every current object of the bucket.
    Full,
    /// These keys changed (event-driven).
    Changes(BTreeSet<String>),
}

/// What a run did (the admin API's `last_run`, `.lakegate/state.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    pub bucket: String,
    /// `full` or `changes`.
    pub kind: String,
    /// `manual`, `schedule`, `events`, `resume`, `catch-up`.
    pub trigger: String,
    pub job: Option<u64>,
    pub started: Millis,
    pub finished: Millis,
    /// The newest generation after the run.
    pub generation: u64,
    /// Whether this run wrote a new generation (a run that changes nothing does not).
    pub new_generation: bool,
    /// Steps of an interrupted run that were replayed from its journal.
    pub resumed_steps: u64,
    /// Source objects shown to the plugin (full runs) or change events (incremental runs).
    pub scanned: u64,
    pub copied: u64,
    pub deleted: u64,
    pub bytes_copied: u64,
    /// Copies skipped because the target already has that source version with that ETag.
    pub skipped_unchanged: u64,
    /// Copies skipped because the version disappeared between planning and copying.
    pub vanished: u64,
    /// Steps the host refused (a delete of a path the plugin was not shown).
    pub refused: u64,
    pub pruned_generations: Vec<u64>,
    pub errors: u64,
    /// The first errors (at most 100).
    pub error_messages: Vec<String>,
    /// `ok`, `partial` (some objects failed), `failed` (the run stopped).
    pub outcome: String,
}

/// Everything a run needs.
pub struct Runner {
    pub store: Arc<Store>,
    pub target: BucketTarget,
    pub plugin: LoadedPlugin,
    /// Authenticates the manifests and journals this run reads and writes.
    pub key: LocalKey,
    /// Manifests to keep (0: mirror only, only the newest manifest, no displaced copies).
    pub generations: u32,
    pub progress: Arc<Progress>,
    /// The time handed to the plugin.
    pub now: Millis,
}

enum CopyResult {
    Copied(Box<Entry>),
    Unchanged,
    Vanished,
}

/// The run's mutable state.
struct Exec {
    generation: u64,
    work: Manifest,
    journal_page: u64,
    journal: Vec<JournalLine>,
    changed: bool,
    report: RunReport,
}

impl Runner {
    fn bucket(&self) -> &str {
        self.target.bucket()
    }

    fn keep(&self) -> bool {
        self.generations > 0
    }

    /// Runs `plan` and returns its report; `report.outcome == "failed"` with the error in
    /// `error_messages` if the run stopped (the previous manifest stays authoritative, and the
    /// journal lets the next run resume).
    pub async fn run(&self, plan: &Plan, mut report: RunReport) -> RunReport {
        report.bucket = self.bucket().to_string();
        report.kind = match plan {
            Plan::Full => "full",
            Plan::Changes(_) => "changes",
        }
        .into();
        report.started = now_millis();
        let result = self.run_inner(plan, report).await;
        let mut report = match result {
            Ok(r) => r,
            Err((mut r, e)) => {
                tracing::warn!(bucket = %self.bucket(), error = %e, "backup run failed");
                push_error(&mut r.errors, &mut r.error_messages, e.to_string());
                r.outcome = "failed".into();
                r
            }
        };
        report.finished = now_millis();
        if report.outcome.is_empty() {
            report.outcome = if report.errors > 0 { "partial" } else { "ok" }.into();
        }
        self.progress.set_phase("done");
        tracing::info!(bucket = %report.bucket, kind = %report.kind, trigger = %report.trigger,
            generation = report.generation, new_generation = report.new_generation,
            scanned = report.scanned, copied = report.copied, deleted = report.deleted,
            bytes = report.bytes_copied, unchanged = report.skipped_unchanged,
            errors = report.errors, outcome = %report.outcome,
            ms = report.finished - report.started, "backup run finished");
        report
    }

    async fn run_inner(
        &self,
        plan: &Plan,
        report: RunReport,
    ) -> Result<RunReport, (RunReport, BackupError)> {
        let t = &self.target;
        macro_rules! tryr {
            ($e:expr, $r:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Err(($r, e.into())),
                }
            };
        }
        self.progress.set_phase("preparing");
        // Temporaries first: ensure_info writes through tmp/.
        tryr!(t.clear_tmp().await, report);
        tryr!(t.ensure_info().await, report);
        let gens = tryr!(t.generations().await, report);
        let prev = gens.last().copied().unwrap_or(0);
        let base = if prev > 0 {
            match tryr!(manifest::read(t, &self.key, prev).await, report) {
                Some((_, m)) => m,
                None => Manifest::default(),
            }
        } else {
            Manifest::default()
        };
        let generation = prev + 1;
        // Journals of other generations are leftovers of a run whose manifest was written
        // but whose journal was not removed yet: their steps are in the manifest.
        for dir in tryr!(t.list_files(&t.journal_root()).await, report) {
            if !dir.starts_with(&t.journal_dir(generation)) {
                tryr!(t.delete(&dir).await, report);
            }
        }
        let mut work = base;
        work.generation = generation;
        let (pages, steps) = tryr!(
            manifest::replay_journal(t, &self.key, generation, &mut work).await,
            report
        );
        let mut ex = Exec {
            generation,
            work,
            journal_page: pages,
            journal: Vec::new(),
            changed: steps > 0,
            report,
        };
        ex.report.generation = prev;
        ex.report.resumed_steps = steps;
        if steps > 0 {
            tracing::info!(bucket = %self.bucket(), generation, steps,
                "resuming an interrupted backup run from its journal");
        }
        let planned = match plan {
            Plan::Full => self.full(&mut ex).await,
            Plan::Changes(keys) => self.changes(&mut ex, keys).await,
        };
        if let Err(e) = planned {
            return Err((ex.report, e));
        }
        if !ex.changed && prev > 0 {
            ex.report.generation = prev;
            return Ok(ex.report);
        }
        self.progress.set_phase("writing manifest");
        let header = Header {
            lakegate_backup: manifest::FORMAT_VERSION,
            bucket: self.bucket().to_string(),
            generation,
            kind: ex.report.kind.clone(),
            started: ex.report.started,
            finished: now_millis(),
            entries: ex.work.entries.len() as u64,
            bytes: ex.work.bytes(),
        };
        if let Err(e) = manifest::write(t, &self.key, &header, &ex.work).await {
            return Err((ex.report, e));
        }
        ex.report.generation = generation;
        ex.report.new_generation = true;
        if let Err(e) = t.remove_all(&t.journal_dir(generation)).await {
            tracing::warn!(bucket = %self.bucket(), error = %e, "cannot remove the journal of a finished run");
        }
        self.progress.set_phase("pruning");
        match self.prune(&ex.work).await {
            Ok(pruned) => ex.report.pruned_generations = pruned,
            Err(e) => push_error(
                &mut ex.report.errors,
                &mut ex.report.error_messages,
                format!("pruning old generations: {e}"),
            ),
        }
        Ok(ex.report)
    }

    /// A full run: page through the bucket's current objects.
    async fn full(&self, ex: &mut Exec) -> Result<(), BackupError> {
        let store = &self.store;
        let bucket = self.bucket().to_string();
        self.progress.set_phase("counting");
        {
            let (mut n, mut bytes) = (0u64, 0u64);
            let mut from: Vec<u8> = Vec::new();
            loop {
                let page = store.scan_current(&bucket, "", &from, PAGE)?;
                for (_, c) in page.iter().filter(|(_, c)| !c.is_delete_marker) {
                    n += 1;
                    bytes += c.size;
                }
                match page.last() {
                    Some((k, _)) if page.len() == PAGE => {
                        from = k.as_bytes().to_vec();
                        from.push(0);
                    }
                    _ => break,
                }
            }
            self.progress.set_totals(n, bytes);
        }
        self.progress.set_phase("copying");
        let index = ex.work.by_source_key();
        let mut from: Vec<u8> = Vec::new();
        let mut lo: Option<String> = None;
        loop {
            let page = store.scan_current(&bucket, "", &from, PAGE)?;
            let last_page = page.len() < PAGE;
            let hi: Option<String> = if last_page {
                None
            } else {
                page.last().map(|(k, _)| format!("{k}\0"))
            };
            let mut objects = Vec::with_capacity(page.len());
            for (key, cur) in &page {
                if cur.is_delete_marker {
                    continue;
                }
                match store.get_version(&bucket, key, VersionRef::Id(&cur.version_id)) {
                    Ok(v) => objects.push(ObjectVersion::of_version(&bucket, key, &v, 0, 0, None)),
                    Err(
                        StoreError::NoSuchVersion
                        | StoreError::NoSuchKey
                        | StoreError::DeleteMarker { .. },
                    ) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            use std::ops::Bound;
            let range = (
                lo.clone().map_or(Bound::Unbounded, Bound::Included),
                hi.clone().map_or(Bound::Unbounded, Bound::Excluded),
            );
            let mut shown = BTreeSet::new();
            let mut existing = Vec::new();
            for (_, paths) in index.range::<String, _>(range) {
                for p in paths {
                    if let Some(e) = ex.work.entries.get(p) {
                        shown.insert(p.clone());
                        existing.push(e.target_entry());
                    }
                }
            }
            ex.report.scanned += objects.len() as u64;
            // Objects the plugin leaves alone count as done for the progress bar.
            let page_objects = objects.len() as u64;
            let page_bytes: u64 = objects.iter().map(|o| o.size).sum();
            let plugin = self.plugin.clone();
            let now = self.now;
            let steps =
                tokio::task::spawn_blocking(move || plugin.backup_full(&objects, &existing, now))
                    .await
                    .map_err(|e| {
                        BackupError::Internal(format!("backup plugin call panicked: {e}"))
                    })?;
            let steps = steps?;
            let (done_objects, done_bytes) = self.execute(ex, steps, Some(&shown)).await;
            self.progress.add_done(
                page_objects.saturating_sub(done_objects),
                page_bytes.saturating_sub(done_bytes),
            );
            self.flush_journal(ex).await?;
            if last_page {
                return Ok(());
            }
            if let Some((k, _)) = page.last() {
                from = k.as_bytes().to_vec();
                from.push(0);
            }
            lo = hi;
        }
    }

    /// An incremental run over changed keys: each key's current state becomes one event.
    async fn changes(&self, ex: &mut Exec, keys: &BTreeSet<String>) -> Result<(), BackupError> {
        let bucket = self.bucket().to_string();
        let mut events = Vec::with_capacity(keys.len());
        for key in keys {
            let event = match self.store.get_version(&bucket, key, VersionRef::Current) {
                Ok(v) => ChangeEvent {
                    kind: ChangeKind::Created,
                    object: ObjectVersion::of_version(&bucket, key, &v, 0, 0, None),
                },
                Err(StoreError::DeleteMarker { version_id, .. }) => ChangeEvent {
                    kind: ChangeKind::Removed,
                    object: ObjectVersion {
                        bucket: bucket.clone(),
                        key: key.clone(),
                        version_id,
                        is_latest: true,
                        is_delete_marker: true,
                        storage_class: "STANDARD".into(),
                        ..Default::default()
                    },
                },
                Err(StoreError::NoSuchKey) => ChangeEvent {
                    kind: ChangeKind::Removed,
                    object: ObjectVersion {
                        bucket: bucket.clone(),
                        key: key.clone(),
                        version_id: "null".into(),
                        is_latest: true,
                        storage_class: "STANDARD".into(),
                        ..Default::default()
                    },
                },
                Err(e) => return Err(e.into()),
            };
            events.push(event);
        }
        let bytes: u64 = events
            .iter()
            .filter(|e| e.kind == ChangeKind::Created)
            .map(|e| e.object.size)
            .sum();
        self.progress.set_totals(events.len() as u64, bytes);
        self.progress.set_phase("copying");
        ex.report.scanned += events.len() as u64;
        for chunk in events.chunks(EVENT_CHUNK) {
            let plugin = self.plugin.clone();
            let now = self.now;
            let chunk = chunk.to_vec();
            let steps = tokio::task::spawn_blocking(move || plugin.backup_changes(&chunk, now))
                .await
                .map_err(|e| {
                    BackupError::Internal(format!("backup plugin call panicked: {e}"))
                })??;
            self.execute(ex, steps, None).await;
            self.flush_journal(ex).await?;
        }
        Ok(())
    }

    /// Carries out steps (the last step per path wins); per-object failures are recorded in
    /// the report. `shown`: the target paths the plugin was shown (deletes of other paths are
    /// refused); `None` for change batches (any path of the manifest). Returns the objects and
    /// bytes accounted to the progress.
    async fn execute(
        &self,
        ex: &mut Exec,
        steps: Vec<BackupStep>,
        shown: Option<&BTreeSet<String>>,
    ) -> (u64, u64) {
        let mut last: BTreeMap<String, usize> = BTreeMap::new();
        for (i, s) in steps.iter().enumerate() {
            last.insert(s.path().to_string(), i);
        }
        let keep: HashSet<usize> = last.values().copied().collect();
        let mut copies = Vec::new();
        for (i, step) in steps.into_iter().enumerate() {
            if !keep.contains(&i) {
                continue;
            }
            if let Err(e) = check_path(step.path()) {
                push_error(
                    &mut ex.report.errors,
                    &mut ex.report.error_messages,
                    e.to_string(),
                );
                continue;
            }
            match step {
                BackupStep::Delete { path } => {
                    if shown.is_some_and(|s| !s.contains(&path)) {
                        ex.report.refused += 1;
                        tracing::debug!(bucket = %self.bucket(), path = %path,
                            "backup plugin deleted a path it was not shown; refused");
                        continue;
                    }
                    let Some(old) = ex.work.entries.get(&path).cloned() else {
                        continue;
                    };
                    match self.delete_one(&path, &old, ex.generation).await {
                        Ok(()) => {
                            ex.work.entries.remove(&path);
                            ex.journal.push(JournalLine::Delete { path });
                            ex.report.deleted += 1;
                            ex.changed = true;
                        }
                        Err(e) => push_error(
                            &mut ex.report.errors,
                            &mut ex.report.error_messages,
                            format!("delete {path}: {e}"),
                        ),
                    }
                }
                BackupStep::Copy { object, path } => {
                    let old = ex.work.entries.get(&path).cloned();
                    copies.push((object, path, old));
                }
            }
        }
        let (mut objects, mut bytes) = (0u64, 0u64);
        let generation = ex.generation;
        let slots = &tokio::sync::Semaphore::new(COPY_SLOTS);
        let mut results = futures::stream::iter(copies)
            .map(|(object, path, old)| async move {
                let weight = if object.size >= LARGE_COPY { 4 } else { 1 };
                // The semaphore is never closed; without a permit the copy just runs.
                let _slot = slots.acquire_many(weight).await.ok();
                let r = self
                    .copy_one(&object, &path, old.as_ref(), generation)
                    .await;
                (object, path, r)
            })
            .buffer_unordered(COPY_SLOTS);
        while let Some((object, path, r)) = results.next().await {
            objects += 1;
            bytes += object.size;
            self.progress.add_done(1, 0);
            match r {
                Ok(CopyResult::Copied(entry)) => {
                    ex.report.copied += 1;
                    ex.report.bytes_copied += entry.size;
                    ex.journal.push(JournalLine::Put {
                        entry: entry.clone(),
                    });
                    ex.work.entries.insert(path, *entry);
                    ex.changed = true;
                }
                Ok(CopyResult::Unchanged) => {
                    ex.report.skipped_unchanged += 1;
                    self.progress.add_done(0, object.size);
                }
                Ok(CopyResult::Vanished) => {
                    ex.report.vanished += 1;
                    self.progress.add_done(0, object.size);
                }
                Err(e) => {
                    tracing::warn!(bucket = %self.bucket(), key = %object.key, path = %path, error = %e,
                        "backup copy failed");
                    self.progress.add_done(0, object.size);
                    push_error(
                        &mut ex.report.errors,
                        &mut ex.report.error_messages,
                        format!("copy {} -> {path}: {e}", object.key),
                    );
                }
            }
        }
        (objects, bytes)
    }

    /// Copies one version to `data/<path>` (see the module docs).
    async fn copy_one(
        &self,
        object: &ObjectVersion,
        path: &str,
        old: Option<&Entry>,
        generation: u64,
    ) -> Result<CopyResult, BackupError> {
        if let Some(o) = old
            && o.source_key == object.key
            && o.source_version_id == object.version_id
            && o.etag == object.etag
        {
            return Ok(CopyResult::Unchanged);
        }
        let bucket = self.bucket();
        let v =
            match self
                .store
                .get_version(bucket, &object.key, VersionRef::Id(&object.version_id))
            {
                Ok(v) => v,
                Err(
                    StoreError::NoSuchVersion
                    | StoreError::NoSuchKey
                    | StoreError::DeleteMarker { .. },
                ) => return Ok(CopyResult::Vanished),
                Err(e) => return Err(e.into()),
            };
        let t = &self.target;
        let data = t.data_path(path);
        // Bytes an older manifest still needs are displaced before they are replaced: moved
        // aside after the new copy is verified (fs: a rename), or copied aside before writing
        // in place (object stores, where a PUT is the atomic step).
        let displace = old.filter(|o| self.keep() && o.written_gen != generation);
        let in_place = !t.can_rename();
        if in_place && let Some(o) = displace {
            let displaced = t.displaced_path(o.written_gen, path);
            if !t.exists(&displaced).await? && t.exists(&data).await? {
                t.copy_file(&data, &displaced).await?;
            }
        }
        // Encrypted versions are copied as stored: the target never sees their plaintext.
        let stored = v.data.len();
        let stream = self
            .store
            .data_stream(&v.data, 0, stored)
            .map_err(BackupError::from);
        let progress = &self.progress;
        let staged = t.staging_path(&data);
        let written = t
            .write_stream(&staged, stream, |n| progress.add_done(0, n))
            .await?;
        // No sizes or hashes in the message: it goes into job reports.
        let verified = written.size == stored
            && (v.encryption.is_some() || v.etag.contains('-') || written.md5 == v.etag);
        if !verified {
            // In place, this removes a bad copy from data/: the entry's old bytes are in
            // displaced/ (or, with no generations kept, gone; a restore then reports them).
            let _ = t.delete(&written.path).await;
            return Err(BackupError::Verify {
                path: format!("{bucket}/{}", object.key),
                message: "the copied bytes do not match the source version (size or MD5)".into(),
            });
        }
        if !in_place {
            let placed = async {
                if let Some(o) = displace {
                    let displaced = t.displaced_path(o.written_gen, path);
                    if !t.exists(&displaced).await? && t.exists(&data).await? {
                        t.move_file(&data, &displaced).await?;
                    }
                }
                t.place(&written.path, &data).await
            }
            .await;
            if let Err(e) = placed {
                let _ = t.delete(&written.path).await;
                return Err(e);
            }
        }
        Ok(CopyResult::Copied(Box::new(Entry::of(
            path,
            &object.key,
            &v,
            written.sha256,
            written.md5,
            generation,
        ))))
    }

    /// Removes `data/<path>`, displacing its bytes if an older manifest may still need them.
    async fn delete_one(
        &self,
        path: &str,
        old: &Entry,
        generation: u64,
    ) -> Result<(), BackupError> {
        let t = &self.target;
        let data = t.data_path(path);
        if self.keep() && old.written_gen != generation {
            let displaced = t.displaced_path(old.written_gen, path);
            if !t.exists(&displaced).await? && t.exists(&data).await? {
                return t.move_file(&data, &displaced).await;
            }
        }
        t.delete(&data).await
    }

    async fn flush_journal(&self, ex: &mut Exec) -> Result<(), BackupError> {
        if ex.journal.is_empty() {
            return Ok(());
        }
        manifest::write_journal(
            &self.target,
            &self.key,
            ex.generation,
            ex.journal_page,
            &ex.journal,
        )
        .await?;
        ex.journal_page += 1;
        ex.journal.clear();
        Ok(())
    }

    /// Keeps the newest `generations` manifests (at least one) and the displaced files they
    /// reference; returns the generations removed.
    async fn prune(&self, newest: &Manifest) -> Result<Vec<u64>, BackupError> {
        let t = &self.target;
        let gens = t.generations().await?;
        let keep_n = self.generations.max(1) as usize;
        let cut = gens.len().saturating_sub(keep_n);
        let (old, kept) = gens.split_at(cut);
        for g in old {
            t.delete(&t.manifest_path(*g)).await?;
        }
        if !self.keep() {
            t.remove_all(&t.displaced_root()).await?;
            return Ok(old.to_vec());
        }
        let files = t.list_files(&t.displaced_root()).await?;
        if files.is_empty() {
            return Ok(old.to_vec());
        }
        let mut referenced = HashSet::new();
        for g in kept {
            let read;
            let m = if *g == newest.generation {
                newest
            } else {
                read = manifest::read(t, &self.key, *g).await?;
                match &read {
                    Some((_, m)) => m,
                    None => continue,
                }
            };
            for e in m.entries.values() {
                referenced.insert(t.displaced_path(e.written_gen, &e.path));
            }
        }
        for f in files {
            if !referenced.contains(&f) {
                t.delete(&f).await?;
            }
        }
        Ok(old.to_vec())
    }
}
