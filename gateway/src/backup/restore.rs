//! Restoring a bucket from a generation of its backup.
//!
//! The destination bucket's current view is made equal to the manifest: every entry whose
//! current destination object differs (ETag, size, metadata, tags) is streamed back through the
//! normal write path (`Store::put_version`, with the retention hook and the bucket's default
//! retention), its SHA-256 verified while streaming — a mismatch is reported and nothing is
//! written for that key — and destination keys that are not in the manifest get a plain DELETE
//! (a delete marker in a versioned bucket). Object lock is never bypassed.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::error::BackupError;
use super::manifest::{self, Entry};
use super::target::BucketTarget;
use super::{Progress, push_error};
use crate::local_key::LocalKey;
use crate::policy::registry::PolicyRegistry;
use crate::store::{
    BucketInfo, Millis, NewVersion, Store, StoreError, VersionRef, WriteConditions, now_millis,
};

/// Restores running at once.
pub const RESTORE_CONCURRENCY: usize = 4;

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// The backed-up (source) bucket.
    pub bucket: String,
    /// The bucket restored into.
    pub to: String,
    /// Only keys under this prefix were restored (and only those deleted); empty: all.
    #[serde(default)]
    pub prefix: String,
    pub generation: u64,
    pub job: Option<u64>,
    pub started: Millis,
    pub finished: Millis,
    /// Whether the destination bucket was created by the restore.
    pub created_bucket: bool,
    pub entries: u64,
    pub restored: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub bytes: u64,
    pub errors: u64,
    pub error_messages: Vec<String>,
    /// `ok`, `partial`, `failed`.
    pub outcome: String,
}

/// Everything a restore needs.
pub struct Restorer {
    pub store: Arc<Store>,
    pub registry: Arc<PolicyRegistry>,
    pub target: BucketTarget,
    /// Authenticates the manifest read.
    pub key: LocalKey,
    pub region: String,
    pub progress: Arc<Progress>,
    pub now: Millis,
    /// Restore only keys under this prefix (`""`: every key): the backup's other keys are not
    /// copied, and the destination's keys outside it are left alone.
    pub prefix: String,
}

impl Restorer {
    /// Restores generation `at` (default: the newest) into bucket `to`.
    pub async fn restore(
        &self,
        to: &str,
        at: Option<u64>,
        mut report: RestoreReport,
    ) -> RestoreReport {
        report.bucket = self.target.bucket().to_string();
        report.to = to.to_string();
        report.prefix = self.prefix.clone();
        report.started = now_millis();
        if let Err(e) = self.restore_inner(to, at, &mut report).await {
            tracing::warn!(bucket = %report.bucket, to = %to, error = %e, "restore failed");
            push_error(
                &mut report.errors,
                &mut report.error_messages,
                e.to_string(),
            );
            report.outcome = "failed".into();
        }
        report.finished = now_millis();
        if report.outcome.is_empty() {
            report.outcome = if report.errors > 0 { "partial" } else { "ok" }.into();
        }
        self.progress.set_phase("done");
        tracing::info!(bucket = %report.bucket, to = %report.to, generation = report.generation,
            restored = report.restored, unchanged = report.unchanged, deleted = report.deleted,
            bytes = report.bytes, errors = report.errors, outcome = %report.outcome,
            ms = report.finished - report.started, "restore finished");
        report
    }

    async fn restore_inner(
        &self,
        to: &str,
        at: Option<u64>,
        report: &mut RestoreReport,
    ) -> Result<(), BackupError> {
        let t = &self.target;
        self.progress.set_phase("reading manifest");
        let gens = t.generations().await?;
        let Some(newest) = gens.last().copied() else {
            return Err(BackupError::NoBackup(t.bucket().to_string()));
        };
        let generation = at.unwrap_or(newest);
        report.generation = generation;
        let missing = || BackupError::NoSuchGeneration {
            bucket: t.bucket().to_string(),
            generation,
            kept: gens
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        if !gens.contains(&generation) {
            return Err(missing());
        }
        // The manifest is read, authenticated and validated whole before the destination is touched.
        let (_, m) = manifest::read(t, &self.key, generation)
            .await?
            .ok_or_else(missing)?;
        let info = match self.store.bucket(to) {
            Ok(info) => info,
            Err(StoreError::NoSuchBucket) => {
                let info = self
                    .store
                    .create_bucket(to, &self.region, false, self.now)
                    .await?;
                report.created_bucket = true;
                tracing::info!(bucket = %to, "restore: created the destination bucket");
                info
            }
            Err(e) => return Err(e.into()),
        };
        // One entry per key: if several paths came from the same key, the one stored under
        // the key itself, else the last.
        let mut desired: BTreeMap<&str, &Entry> = BTreeMap::new();
        for e in m.entries.values() {
            if !e.source_key.starts_with(&self.prefix) {
                continue;
            }
            match desired.get(e.source_key.as_str()) {
                Some(prev) if prev.path == prev.source_key => {}
                _ => {
                    desired.insert(&e.source_key, e);
                }
            }
        }
        report.entries = desired.len() as u64;
        self.progress
            .set_totals(desired.len() as u64, desired.values().map(|e| e.size).sum());
        self.progress.set_phase("restoring");
        let info = &info;
        let items: Vec<(&str, &Entry)> = desired.iter().map(|(k, e)| (*k, *e)).collect();
        let items = &items;
        let mut results = futures::stream::iter(0..items.len())
            .map(|i| async move {
                let (key, e) = &items[i];
                let current = match self.store.get_version(to, key, VersionRef::Current) {
                    Ok(v) => Some(v),
                    Err(StoreError::NoSuchKey | StoreError::DeleteMarker { .. }) => None,
                    Err(err) => return (*key, *e, Err(BackupError::from(err))),
                };
                if current.is_some_and(|v| e.matches(&v)) {
                    return (*key, *e, Ok(false));
                }
                (
                    *key,
                    *e,
                    self.restore_one(info, key, e).await.map(|()| true),
                )
            })
            .buffer_unordered(RESTORE_CONCURRENCY);
        while let Some((key, e, r)) = results.next().await {
            self.progress.add_done(1, 0);
            match r {
                Ok(true) => {
                    report.restored += 1;
                    report.bytes += e.size;
                }
                Ok(false) => {
                    report.unchanged += 1;
                    self.progress.add_done(0, e.size);
                }
                Err(err) => {
                    tracing::warn!(bucket = %to, key = %key, error = %err, "restore of an object failed");
                    push_error(
                        &mut report.errors,
                        &mut report.error_messages,
                        format!("restore {key}: {err}"),
                    );
                }
            }
        }
        drop(results);
        // Keys that are not in the backup go away.
        self.progress.set_phase("deleting");
        let mut from: Vec<u8> = Vec::new();
        loop {
            let page = self.store.scan_current(to, &self.prefix, &from, 1000)?;
            for (key, cur) in &page {
                if cur.is_delete_marker || desired.contains_key(key.as_str()) {
                    continue;
                }
                match self
                    .store
                    .delete_object(
                        to,
                        crate::store::DeleteTarget::key(key.as_str()),
                        false,
                        self.now,
                    )
                    .await
                {
                    Ok(_) => report.deleted += 1,
                    Err(e) => push_error(
                        &mut report.errors,
                        &mut report.error_messages,
                        format!("delete {key}: {e}"),
                    ),
                }
            }
            match page.last() {
                Some((k, _)) if page.len() == 1000 => {
                    from = k.as_bytes().to_vec();
                    from.push(0);
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Streams one entry back into the store under `key`, verifying its SHA-256.
    async fn restore_one(
        &self,
        info: &BucketInfo,
        key: &str,
        e: &Entry,
    ) -> Result<(), BackupError> {
        use md5::Digest;
        let t = &self.target;
        let location = t.locate(&e.path, e.written_gen).await?;
        let Some(stream) = t.read_stream(&location).await? else {
            return Err(BackupError::Corrupt {
                path: location,
                message: "the backup file is missing".into(),
            });
        };
        let store = &self.store;
        let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
        let mut md5 = md5::Md5::new();
        let staged = store
            .ingest(stream, |chunk| {
                sha.update(chunk);
                md5.update(chunk);
                self.progress.add_done(0, chunk.len() as u64);
                Ok(())
            })
            .await?;
        let size = staged.size();
        let sha256 = hex::encode(sha.finish().as_ref());
        // Never the file's size or hash in the message (it goes into job reports): whatever is
        // at that path is not ours to describe.
        if size != e.size || sha256 != e.sha256 {
            staged.abort().await;
            return Err(BackupError::Verify {
                path: location,
                message:
                    "the backup file does not match its manifest (corrupt or replaced); not restored"
                        .into(),
            });
        }
        let data = staged.finish().await?;
        let etag = match &e.encryption {
            // Encrypted bytes: their MD5 is not the object's ETag; the manifest's is.
            Some(_) => e.etag.clone(),
            None => hex::encode(md5.finalize()),
        };
        let mut new = NewVersion {
            data: data.clone(),
            size: e.encryption.as_ref().map_or(size, |x| x.plaintext_size),
            etag,
            meta: e.object_meta(),
            checksum: None,
            parts: Vec::new(),
            tags: e.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            retention: None,
            legal_hold: false,
            owner: None,
            acl: None,
            encryption: e.encryption.as_ref().map(|x| x.record.clone()),
        };
        if let Some(x) = &e.encryption {
            new.parts = x
                .part_sizes
                .iter()
                .map(|&size| crate::store::PartSummary {
                    size,
                    checksum: None,
                })
                .collect();
        }
        self.registry
            .apply_retention(info, key, &mut new, self.now)
            .await;
        if let Err(err) = store
            .put_version(&info.name, key, new, WriteConditions::default(), self.now)
            .await
        {
            store.discard(&data).await;
            return Err(err.into());
        }
        Ok(())
    }
}
