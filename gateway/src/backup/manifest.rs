//! Manifests: what one generation of a bucket's backup holds.
//!
//! A manifest is JSON lines: a header line (`{"lakegate_backup": 1, "generation": ..,
//! "entries": N, ..}`), then one [`Entry`] per line, sorted by path. The header's entry count
//! lets a reader tell a whole manifest from a truncated one. Every generation's manifest is a
//! full snapshot of the backup as of the end of that run; unchanged entries keep the
//! `written_gen` of the run that wrote their bytes.
//!
//! The journal of an unfinished run uses the same line format for its steps ([`JournalLine`]).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::error::BackupError;
use super::target::BucketTarget;
use crate::policy::TargetEntry;
use crate::store::{Millis, ObjectVersion};

/// The manifest format version (header field `lakegate_backup`).
pub const FORMAT_VERSION: u32 = 1;

/// Manifests and journals are read and written in chunks of about this size.
const CHUNK: usize = 256 * 1024;

/// One object in the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Where the plugin put it (relative to `data/`).
    pub path: String,
    /// The source key it was copied from (restores write it back under this key).
    pub source_key: String,
    pub source_version_id: String,
    /// The source ETag (without quotes; `<hex>-<parts>` for multipart objects).
    pub etag: String,
    pub size: u64,
    /// The source version's last-modified time (ms since the epoch).
    pub last_modified: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// `x-amz-meta-*` (names lowercased, without the prefix).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Hex SHA-256 and MD5 of the bytes, computed while copying.
    pub sha256: String,
    pub md5: String,
    /// The generation whose run wrote these bytes.
    pub written_gen: u64,
}

impl Entry {
    /// The entry for `v` copied to `path` by run `generation`.
    pub fn of(
        path: &str,
        key: &str,
        v: &ObjectVersion,
        sha256: String,
        md5: String,
        generation: u64,
    ) -> Entry {
        let m = &v.meta;
        Entry {
            path: path.to_string(),
            source_key: key.to_string(),
            source_version_id: v.version_id.clone(),
            etag: v.etag.clone(),
            size: v.size,
            last_modified: v.last_modified,
            content_type: m.content_type.clone(),
            cache_control: m.cache_control.clone(),
            content_disposition: m.content_disposition.clone(),
            content_encoding: m.content_encoding.clone(),
            content_language: m.content_language.clone(),
            expires: m.expires.clone(),
            website_redirect: m.website_redirect.clone(),
            storage_class: m.storage_class.clone(),
            user_metadata: m.user.iter().cloned().collect(),
            tags: v.tags.iter().cloned().collect(),
            sha256,
            md5,
            written_gen: generation,
        }
    }

    /// What the plugin sees of it.
    pub fn target_entry(&self) -> TargetEntry {
        TargetEntry {
            path: self.path.clone(),
            source_key: self.source_key.clone(),
            size: self.size,
            source_etag: self.etag.clone(),
            source_version_id: self.source_version_id.clone(),
        }
    }

    /// The object metadata to restore.
    pub fn object_meta(&self) -> crate::store::ObjectMeta {
        crate::store::ObjectMeta {
            content_type: self.content_type.clone(),
            content_encoding: self.content_encoding.clone(),
            content_disposition: self.content_disposition.clone(),
            content_language: self.content_language.clone(),
            cache_control: self.cache_control.clone(),
            expires: self.expires.clone(),
            website_redirect: self.website_redirect.clone(),
            user: self
                .user_metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            storage_class: self.storage_class.clone(),
        }
    }

    /// Whether version `v` of a destination object already is this entry: same bytes (ETag
    /// as recorded, or the MD5 a restore gives it) and the same metadata and tags.
    pub fn matches(&self, v: &ObjectVersion) -> bool {
        let m = &v.meta;
        (v.etag == self.etag || v.etag == self.md5)
            && v.size == self.size
            && m.content_type == self.content_type
            && m.cache_control == self.cache_control
            && m.content_disposition == self.content_disposition
            && m.content_encoding == self.content_encoding
            && m.content_language == self.content_language
            && m.expires == self.expires
            && m.website_redirect == self.website_redirect
            && m.user.iter().cloned().collect::<BTreeMap<_, _>>() == self.user_metadata
            && v.tags.iter().cloned().collect::<BTreeMap<_, _>>() == self.tags
    }
}

/// The first line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The format version ([`FORMAT_VERSION`]).
    pub lakegate_backup: u32,
    pub bucket: String,
    pub generation: u64,
    /// What made this generation: `full` or `changes`.
    pub kind: String,
    pub started: Millis,
    pub finished: Millis,
    pub entries: u64,
    pub bytes: u64,
}

/// A whole manifest in memory: entries by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub generation: u64,
    pub entries: BTreeMap<String, Entry>,
}

impl Manifest {
    pub fn bytes(&self) -> u64 {
        self.entries.values().map(|e| e.size).sum()
    }

    /// Paths by source key, for finding the entries of a key range.
    pub fn by_source_key(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in self.entries.values() {
            out.entry(e.source_key.clone())
                .or_default()
                .insert(e.path.clone());
        }
        out
    }
}

/// One step of an unfinished run, as journalled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum JournalLine {
    Put { entry: Box<Entry> },
    Delete { path: String },
}

/// Splits a byte stream into lines (without the `\n`).
async fn for_each_line<S>(
    stream: S,
    mut f: impl FnMut(&[u8]) -> Result<(), BackupError>,
) -> Result<(), BackupError>
where
    S: Stream<Item = Result<Bytes, BackupError>>,
{
    let mut stream = std::pin::pin!(stream);
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.try_next().await? {
        buf.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(i) = buf[start..].iter().position(|&b| b == b'\n') {
            f(&buf[start..start + i])?;
            start += i + 1;
        }
        buf.drain(..start);
    }
    if !buf.is_empty() {
        f(&buf)?;
    }
    Ok(())
}

fn corrupt(path: &str, message: impl Into<String>) -> BackupError {
    BackupError::Corrupt {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Reads the manifest of `generation` (`Ok(None)` if there is none).
pub async fn read(
    t: &BucketTarget,
    generation: u64,
) -> Result<Option<(Header, Manifest)>, BackupError> {
    let path = t.manifest_path(generation);
    let Some(stream) = t.read_stream(&path).await? else {
        return Ok(None);
    };
    let mut header: Option<Header> = None;
    let mut entries = BTreeMap::new();
    let mut line_no = 0usize;
    for_each_line(stream, |line| {
        line_no += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if header.is_none() {
            let h: Header =
                serde_json::from_slice(line).map_err(|e| corrupt(&path, format!("header: {e}")))?;
            if h.lakegate_backup > FORMAT_VERSION {
                return Err(corrupt(
                    &path,
                    format!(
                        "format version {} is newer than this gateway's ({FORMAT_VERSION})",
                        h.lakegate_backup
                    ),
                ));
            }
            header = Some(h);
            return Ok(());
        }
        let e: Entry = serde_json::from_slice(line)
            .map_err(|e| corrupt(&path, format!("line {line_no}: {e}")))?;
        entries.insert(e.path.clone(), e);
        Ok(())
    })
    .await?;
    let header = header.ok_or_else(|| corrupt(&path, "empty manifest"))?;
    if header.entries != entries.len() as u64 {
        return Err(corrupt(
            &path,
            format!(
                "the header announces {} entries, the file has {} (truncated?)",
                header.entries,
                entries.len()
            ),
        ));
    }
    if header.generation != generation {
        return Err(corrupt(
            &path,
            format!("the header says generation {}", header.generation),
        ));
    }
    Ok(Some((
        header,
        Manifest {
            generation,
            entries,
        },
    )))
}

/// Reads only the header of a manifest.
pub async fn read_header(t: &BucketTarget, generation: u64) -> Result<Option<Header>, BackupError> {
    let path = t.manifest_path(generation);
    let Some(stream) = t.read_stream(&path).await? else {
        return Ok(None);
    };
    let mut stream = std::pin::pin!(stream);
    let mut buf = Vec::new();
    while let Some(chunk) = stream.try_next().await? {
        buf.extend_from_slice(&chunk);
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            buf.truncate(i);
            break;
        }
    }
    let h: Header =
        serde_json::from_slice(&buf).map_err(|e| corrupt(&path, format!("header: {e}")))?;
    Ok(Some(h))
}

/// Serialized lines, in chunks of about [`CHUNK`] bytes.
fn chunked_lines<'a, T: Serialize + Sync + 'a>(
    first: Option<Vec<u8>>,
    items: impl Iterator<Item = &'a T> + Send + 'a,
) -> impl Stream<Item = Result<Bytes, BackupError>> + Send + 'a {
    let mut items = items.peekable();
    let mut first = first;
    futures::stream::iter(std::iter::from_fn(move || {
        let mut buf = first.take().unwrap_or_default();
        while buf.len() < CHUNK {
            let Some(item) = items.next() else { break };
            if let Err(e) = serde_json::to_writer(&mut buf, item) {
                return Some(Err(BackupError::Internal(e.to_string())));
            }
            buf.push(b'\n');
        }
        (!buf.is_empty()).then(|| Ok(Bytes::from(buf)))
    }))
}

/// Writes the manifest of `header.generation` atomically.
pub async fn write(t: &BucketTarget, header: &Header, m: &Manifest) -> Result<(), BackupError> {
    let mut first = serde_json::to_vec(header).map_err(|e| BackupError::Internal(e.to_string()))?;
    first.push(b'\n');
    let path = t.manifest_path(header.generation);
    let staged = t.staging_path(&path);
    let written = t
        .write_stream(
            &staged,
            chunked_lines(Some(first), m.entries.values()),
            |_| {},
        )
        .await?;
    if let Err(e) = t.place(&written.path, &path).await {
        let _ = t.delete(&written.path).await;
        return Err(e);
    }
    Ok(())
}

/// Writes one journal page of run `generation` atomically.
pub async fn write_journal(
    t: &BucketTarget,
    generation: u64,
    page: u64,
    lines: &[JournalLine],
) -> Result<(), BackupError> {
    let path = format!("{}{page:08}.jsonl", t.journal_dir(generation));
    let staged = t.staging_path(&path);
    let written = t
        .write_stream(&staged, chunked_lines(None, lines.iter()), |_| {})
        .await?;
    if let Err(e) = t.place(&written.path, &path).await {
        let _ = t.delete(&written.path).await;
        return Err(e);
    }
    Ok(())
}

/// Applies the journal of unfinished run `generation` (if any) to `m`. Returns how many
/// journal pages and steps there were.
pub async fn replay_journal(
    t: &BucketTarget,
    generation: u64,
    m: &mut Manifest,
) -> Result<(u64, u64), BackupError> {
    let files = t.list_files(&t.journal_dir(generation)).await?;
    let (mut pages, mut steps) = (0u64, 0u64);
    for file in files.iter().filter(|f| f.ends_with(".jsonl")) {
        let Some(stream) = t.read_stream(file).await? else {
            continue;
        };
        let mut lines = Vec::new();
        for_each_line(stream, |line| {
            if line.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            let l: JournalLine =
                serde_json::from_slice(line).map_err(|e| corrupt(file, e.to_string()))?;
            lines.push(l);
            Ok(())
        })
        .await?;
        for l in lines {
            match l {
                JournalLine::Put { entry } => {
                    m.entries.insert(entry.path.clone(), *entry);
                }
                JournalLine::Delete { path } => {
                    m.entries.remove(&path);
                }
            }
            steps += 1;
        }
        pages += 1;
    }
    Ok((pages, steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            path: path.into(),
            source_key: path.into(),
            source_version_id: "null".into(),
            etag: "e".into(),
            size: 3,
            last_modified: 1,
            content_type: Some("text/plain".into()),
            cache_control: None,
            content_disposition: None,
            content_encoding: None,
            content_language: None,
            expires: None,
            website_redirect: None,
            storage_class: None,
            user_metadata: [("a".to_string(), "b".to_string())].into(),
            tags: BTreeMap::new(),
            sha256: "s".into(),
            md5: "m".into(),
            written_gen: 1,
        }
    }

    #[tokio::test]
    async fn round_trip_and_truncation() {
        let dir = std::env::temp_dir().join(format!(
            "lakegate-manifest-{}-{:x}",
            std::process::id(),
            uuid::Uuid::new_v4().as_u128() as u32
        ));
        let target = super::super::target::Target::dir(&dir).unwrap();
        let t = target.bucket("b");
        let mut m = Manifest {
            generation: 3,
            ..Default::default()
        };
        for i in 0..2000 {
            let e = entry(&format!("k/{i:05}"));
            m.entries.insert(e.path.clone(), e);
        }
        let h = Header {
            lakegate_backup: FORMAT_VERSION,
            bucket: "b".into(),
            generation: 3,
            kind: "full".into(),
            started: 1,
            finished: 2,
            entries: m.entries.len() as u64,
            bytes: m.bytes(),
        };
        write(&t, &h, &m).await.unwrap();
        let (h2, m2) = read(&t, 3).await.unwrap().unwrap();
        assert_eq!(h2, h);
        assert_eq!(m2, m);
        assert_eq!(read_header(&t, 3).await.unwrap().unwrap(), h);
        assert_eq!(t.generations().await.unwrap(), vec![3]);
        assert!(read(&t, 4).await.unwrap().is_none());
        // Truncate: detected.
        let file = dir.join("b/.lakegate/generations/00000000000000000003.jsonl");
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(
            read(&t, 3).await,
            Err(BackupError::Corrupt { .. })
        ));
        // Journal replay.
        let mut base = Manifest::default();
        write_journal(
            &t,
            4,
            0,
            &[
                JournalLine::Put {
                    entry: Box::new(entry("x")),
                },
                JournalLine::Put {
                    entry: Box::new(entry("y")),
                },
            ],
        )
        .await
        .unwrap();
        write_journal(&t, 4, 1, &[JournalLine::Delete { path: "x".into() }])
            .await
            .unwrap();
        assert_eq!(replay_journal(&t, 4, &mut base).await.unwrap(), (2, 3));
        assert_eq!(base.entries.keys().collect::<Vec<_>>(), vec!["y"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
