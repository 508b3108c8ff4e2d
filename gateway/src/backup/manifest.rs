//! Manifests: what one generation of a bucket's backup holds.
//!
//! A manifest is JSON lines: a header line (`{"lakegate_backup": 1, "generation": ..,
//! "entries": N, ..}`), then one [`Entry`] per line, sorted by path, then a trailer line
//! `{"lakegate_mac":"hmac-sha256:<hex>"}`. Every generation's manifest is a full snapshot of the
//! backup as of the end of that run; unchanged entries keep the `written_gen` of the run that
//! wrote their bytes.
//!
//! The journal of an unfinished run uses the same line format for its steps ([`JournalLine`]),
//! one file per page, with the same kind of trailer.
//!
//! **Authentication.** The trailer is an HMAC-SHA256 under the gateway's local key
//! ([`crate::local_key`], purpose `BackupManifest`) over a context naming what the file is and
//! where it belongs — `lakegate backup manifest\0<bucket>\0<generation:020>\n`, or
//! `lakegate backup journal\0<bucket>\0<generation:020>\0<page:08>\n` — followed by every byte
//! of the file before the trailer. The bucket and generation come from the file's place in the
//! target, not from its content, so a manifest cannot be replayed as another generation or
//! another bucket's, nor a journal page as a manifest. A file whose trailer is missing (written
//! by an older build, or truncated) or does not verify is refused
//! ([`BackupError::NotAuthenticated`]) before anything in it is used; parse errors of an
//! unauthenticated file are not reported (its content says nothing). Then every entry is
//! validated as if it came from a client: its source key by the S3 key rule
//! ([`crate::store::check_object_key`]), its path by the backup path rule ([`check_path`]).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use serde::{Deserialize, Serialize};

use ring::hmac;
use subtle::ConstantTimeEq;

use super::error::BackupError;
use super::target::{BucketTarget, check_path, gen_name};
use crate::local_key::{LocalKey, Purpose};
use crate::policy::TargetEntry;
use crate::store::{Millis, VersionRecord};

/// The manifest format version (header field `lakegate_backup`). 2: manifests and journal pages
/// end with an authentication trailer (version 1 had none and is refused).
///
/// Versions and upgrades (see "On-disk formats" in ARCHITECTURE.md):
/// - The encoded form of each version is frozen by golden files
///   (`gateway/tests/golden/backup/`, checked by this module's tests). Entries and headers are
///   JSON objects, so fields are named, not positional; still, a new field, a renamed one, or a
///   change of when an optional field is written changes the bytes, and the golden test fails.
/// - A change that a reader of the current version would misread or silently drop (a new field
///   that matters for a restore, a new meaning of an old one) raises this version. The reader
///   keeps reading every older authenticated version into the current [`Manifest`]; it refuses
///   a version it does not know (a newer gateway's) as [`BackupError::Corrupt`] before using
///   anything in the file.
/// - Manifests are migrated on write: every run writes a complete manifest in the current
///   version, so a target is upgraded by its next run; older generations keep their version
///   until pruned. Nothing rewrites old manifests.
/// - Journal pages have no header: they are in the version of the gateway that wrote them. A
///   version that changes journal lines must still replay pages of the previous one (a run
///   interrupted before an upgrade resumes after it), e.g. by giving its pages a first line
///   naming the version and reading pages without one as version 2.
/// - Golden files are never edited, only added: a new version adds `manifest.v3.*` beside the
///   v2 files, and the v2 files must still read back to the same manifest.
pub const FORMAT_VERSION: u32 = 2;

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
    /// An encrypted version: its bytes are copied as stored (encrypted), `size` is theirs, and
    /// this says how to read them again. Restoring needs the same KMS keys (or, for SSE-C, the
    /// customer's key); the object key in here is sealed, never plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptedEntry>,
}

/// How a backed-up version's bytes are encrypted (see [`Entry::encryption`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedEntry {
    /// The version's encryption record, as the store keeps it (keys sealed).
    pub record: crate::store::ObjectEncryption,
    /// The plaintext's size.
    pub plaintext_size: u64,
    /// The plaintext size of each part of a multipart object (empty: one part).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
}

impl Entry {
    /// The entry for `v` copied to `path` by run `generation`.
    pub fn of(
        path: &str,
        key: &str,
        v: &VersionRecord,
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
            size: v.data.len(),
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
            encryption: v.encryption.clone().map(|record| EncryptedEntry {
                record,
                plaintext_size: v.size,
                part_sizes: v.parts.iter().map(|p| p.size).collect(),
            }),
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

    /// Checks an entry read back from the target (see the module docs): the source key by the
    /// S3 key rule, the path by the backup path rule, hashes that look like hashes, and a
    /// `written_gen` in `1..=generation`.
    pub fn validate(&self, generation: u64) -> Result<(), String> {
        check_path(&self.path).map_err(|e| e.to_string())?;
        if self.source_key.is_empty() {
            return Err("empty source key".into());
        }
        crate::store::check_object_key(&self.source_key)
            .map_err(|e| format!("invalid source key {:?}: {e}", self.source_key))?;
        let hex_of = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if !hex_of(&self.sha256, 64) || !hex_of(&self.md5, 32) {
            return Err(format!("entry {:?}: malformed sha256 or md5", self.path));
        }
        if self.written_gen == 0 || self.written_gen > generation {
            return Err(format!(
                "entry {:?}: written_gen {} is not in 1..={generation}",
                self.path, self.written_gen
            ));
        }
        Ok(())
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
    pub fn matches(&self, v: &VersionRecord) -> bool {
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

/// The last line of a manifest or a journal page.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trailer {
    /// `hmac-sha256:<hex>`.
    lakegate_mac: String,
}

const MAC_SCHEME: &str = "hmac-sha256:";

/// The MAC of manifest `generation` of `bucket`, before its bytes.
fn manifest_mac(key: &LocalKey, bucket: &str, generation: u64) -> hmac::Context {
    let mut ctx = hmac::Context::with_key(&key.hmac_key(Purpose::BackupManifest));
    ctx.update(b"lakegate backup manifest\0");
    ctx.update(bucket.as_bytes());
    ctx.update(b"\0");
    ctx.update(gen_name(generation).as_bytes());
    ctx.update(b"\n");
    ctx
}

/// The MAC of journal page `page` of unfinished run `generation` of `bucket`, before its bytes.
fn journal_mac(key: &LocalKey, bucket: &str, generation: u64, page: u64) -> hmac::Context {
    let mut ctx = hmac::Context::with_key(&key.hmac_key(Purpose::BackupManifest));
    ctx.update(b"lakegate backup journal\0");
    ctx.update(bucket.as_bytes());
    ctx.update(b"\0");
    ctx.update(gen_name(generation).as_bytes());
    ctx.update(format!("\0{page:08}\n").as_bytes());
    ctx
}

/// The trailer line (with its `\n`) of a file whose bytes went into `ctx`.
fn trailer_line(ctx: hmac::Context) -> Vec<u8> {
    let trailer = Trailer {
        lakegate_mac: format!("{MAC_SCHEME}{}", hex::encode(ctx.sign().as_ref())),
    };
    let mut line = serde_json::to_vec(&trailer).unwrap_or_default();
    line.push(b'\n');
    line
}

/// The trailer line that authenticates `body` (every byte before the trailer) as manifest
/// `generation` of `bucket` (tools and tests that write manifests).
pub fn manifest_trailer(key: &LocalKey, bucket: &str, generation: u64, body: &[u8]) -> Vec<u8> {
    let mut ctx = manifest_mac(key, bucket, generation);
    ctx.update(body);
    trailer_line(ctx)
}

/// The trailer line that authenticates `body` as journal page `page` of run `generation` of
/// `bucket` (tools and tests).
pub fn journal_trailer(
    key: &LocalKey,
    bucket: &str,
    generation: u64,
    page: u64,
    body: &[u8],
) -> Vec<u8> {
    let mut ctx = journal_mac(key, bucket, generation, page);
    ctx.update(body);
    trailer_line(ctx)
}

/// Splits a byte stream into lines, each with its `\n` (the last one may have none).
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
            f(&buf[start..=start + i])?;
            start += i + 1;
        }
        buf.drain(..start);
    }
    if !buf.is_empty() {
        f(&buf)?;
    }
    Ok(())
}

fn without_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// Reads an authenticated JSON-lines file: every line but the last goes into `mac` and, without
/// its `\n` and with its 1-based number, to `each`; the last line must be the [`Trailer`]
/// whose tag is the MAC. Errors of `each` are held until the MAC verified: a file that is not
/// authenticated is reported as such, whatever its content would make a parser say.
async fn read_authenticated<S>(
    stream: S,
    mut mac: hmac::Context,
    what: &'static str,
    path: &str,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), BackupError>,
) -> Result<(), BackupError>
where
    S: Stream<Item = Result<Bytes, BackupError>>,
{
    let mut held: Option<Vec<u8>> = None;
    let mut line_no = 0usize;
    let mut first_error: Option<BackupError> = None;
    for_each_line(stream, |line| {
        if let Some(prev) = held.replace(line.to_vec()) {
            mac.update(&prev);
            line_no += 1;
            if first_error.is_none()
                && let Err(e) = each(line_no, without_newline(&prev))
            {
                first_error = Some(e);
            }
        }
        Ok(())
    })
    .await?;
    let trailer = held
        .as_deref()
        .and_then(|l| serde_json::from_slice::<Trailer>(without_newline(l)).ok());
    let verified = match trailer {
        None => Err("it has no authentication tag (written by an older lakegate, or truncated)"),
        Some(t) => {
            let tag = t
                .lakegate_mac
                .strip_prefix(MAC_SCHEME)
                .and_then(|h| hex::decode(h).ok());
            match tag {
                Some(tag) if bool::from(mac.sign().as_ref().ct_eq(tag.as_slice())) => Ok(()),
                _ => Err("its authentication tag does not verify"),
            }
        }
    };
    if let Err(reason) = verified {
        return Err(BackupError::NotAuthenticated {
            what,
            path: path.to_string(),
            reason,
        });
    }
    first_error.map_or(Ok(()), Err)
}

fn corrupt(path: &str, message: impl Into<String>) -> BackupError {
    BackupError::Corrupt {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Reads the manifest of `generation` (`Ok(None)` if there is none), authenticated under `key`
/// and validated entry by entry (see the module docs).
pub async fn read(
    t: &BucketTarget,
    key: &LocalKey,
    generation: u64,
) -> Result<Option<(Header, Manifest)>, BackupError> {
    let path = t.manifest_path(generation);
    let Some(stream) = t.read_stream(&path).await? else {
        return Ok(None);
    };
    let mut header: Option<Header> = None;
    let mut entries = BTreeMap::new();
    let mac = manifest_mac(key, t.bucket(), generation);
    read_authenticated(stream, mac, "manifest", &path, |line_no, line| {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if header.is_none() {
            let h: Header =
                serde_json::from_slice(line).map_err(|e| corrupt(&path, format!("header: {e}")))?;
            if h.lakegate_backup != FORMAT_VERSION {
                let which = if h.lakegate_backup > FORMAT_VERSION {
                    "newer than this gateway's"
                } else {
                    "older than any this gateway reads; it reads"
                };
                return Err(corrupt(
                    &path,
                    format!(
                        "format version {} is {which} ({FORMAT_VERSION})",
                        h.lakegate_backup
                    ),
                ));
            }
            header = Some(h);
            return Ok(());
        }
        let e: Entry = serde_json::from_slice(line)
            .map_err(|e| corrupt(&path, format!("line {line_no}: {e}")))?;
        e.validate(generation)
            .map_err(|m| corrupt(&path, format!("line {line_no}: {m}")))?;
        if entries.contains_key(&e.path) {
            return Err(corrupt(
                &path,
                format!("line {line_no}: a second entry for path {:?}", e.path),
            ));
        }
        entries.insert(e.path.clone(), e);
        Ok(())
    })
    .await?;
    let header = header.ok_or_else(|| corrupt(&path, "no header"))?;
    if header.generation != generation || header.bucket != t.bucket() {
        return Err(corrupt(
            &path,
            format!(
                "the header says bucket {:?} generation {}",
                header.bucket, header.generation
            ),
        ));
    }
    let m = Manifest {
        generation,
        entries,
    };
    if header.entries != m.entries.len() as u64 || header.bytes != m.bytes() {
        return Err(corrupt(
            &path,
            "the header's entry count or total does not match the entries",
        ));
    }
    Ok(Some((header, m)))
}

/// Reads only the header of a manifest, *unauthenticated*: for display (the admin API's list
/// of generations), never for a run or a restore, which [`read`] the whole manifest.
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

/// Serialized lines, in chunks of about [`CHUNK`] bytes, then the trailer line of `mac` over
/// all of them.
fn chunked_lines<'a, T: Serialize + Sync + 'a>(
    first: Option<Vec<u8>>,
    items: impl Iterator<Item = &'a T> + Send + 'a,
    mac: hmac::Context,
) -> impl Stream<Item = Result<Bytes, BackupError>> + Send + 'a {
    let mut items = items.peekable();
    let mut first = first;
    let mut mac = Some(mac);
    futures::stream::iter(std::iter::from_fn(move || {
        let mut buf = first.take().unwrap_or_default();
        while buf.len() < CHUNK {
            let Some(item) = items.next() else { break };
            if let Err(e) = serde_json::to_writer(&mut buf, item) {
                return Some(Err(BackupError::Internal(e.to_string())));
            }
            buf.push(b'\n');
        }
        if buf.is_empty() {
            // The end: the trailer (once).
            return mac.take().map(|m| Ok(Bytes::from(trailer_line(m))));
        }
        if let Some(m) = mac.as_mut() {
            m.update(&buf);
        }
        Some(Ok(Bytes::from(buf)))
    }))
}

/// Writes the manifest of `header.generation` atomically, authenticated under `key`.
pub async fn write(
    t: &BucketTarget,
    key: &LocalKey,
    header: &Header,
    m: &Manifest,
) -> Result<(), BackupError> {
    let mut first = serde_json::to_vec(header).map_err(|e| BackupError::Internal(e.to_string()))?;
    first.push(b'\n');
    let path = t.manifest_path(header.generation);
    let staged = t.staging_path(&path);
    let mac = manifest_mac(key, t.bucket(), header.generation);
    let written = t
        .write_stream(
            &staged,
            chunked_lines(Some(first), m.entries.values(), mac),
            |_| {},
        )
        .await?;
    if let Err(e) = t.place(&written.path, &path).await {
        let _ = t.delete(&written.path).await;
        return Err(e);
    }
    Ok(())
}

/// The file of journal page `page` of run `generation`.
fn journal_path(t: &BucketTarget, generation: u64, page: u64) -> String {
    format!("{}{page:08}.jsonl", t.journal_dir(generation))
}

/// Writes one journal page of run `generation` atomically, authenticated under `key`.
pub async fn write_journal(
    t: &BucketTarget,
    key: &LocalKey,
    generation: u64,
    page: u64,
    lines: &[JournalLine],
) -> Result<(), BackupError> {
    let path = journal_path(t, generation, page);
    let staged = t.staging_path(&path);
    let mac = journal_mac(key, t.bucket(), generation, page);
    let written = t
        .write_stream(&staged, chunked_lines(None, lines.iter(), mac), |_| {})
        .await?;
    if let Err(e) = t.place(&written.path, &path).await {
        let _ = t.delete(&written.path).await;
        return Err(e);
    }
    Ok(())
}

/// Applies the journal of unfinished run `generation` (if any) to `m`, each page authenticated
/// under `key` and each step validated. Returns the next free page number and how many steps
/// there were.
pub async fn replay_journal(
    t: &BucketTarget,
    key: &LocalKey,
    generation: u64,
    m: &mut Manifest,
) -> Result<(u64, u64), BackupError> {
    let dir = t.journal_dir(generation);
    let files = t.list_files(&dir).await?;
    let (mut next_page, mut steps) = (0u64, 0u64);
    for file in files.iter().filter(|f| f.ends_with(".jsonl")) {
        let page = file
            .strip_prefix(&dir)
            .and_then(|n| n.strip_suffix(".jsonl"))
            .filter(|n| n.len() == 8)
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| corrupt(file, "not a journal page name (<page:08>.jsonl)"))?;
        let Some(stream) = t.read_stream(file).await? else {
            continue;
        };
        let mut lines = Vec::new();
        let mac = journal_mac(key, t.bucket(), generation, page);
        read_authenticated(stream, mac, "journal page", file, |line_no, line| {
            if line.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            let l: JournalLine = serde_json::from_slice(line)
                .map_err(|e| corrupt(file, format!("line {line_no}: {e}")))?;
            let valid = match &l {
                JournalLine::Put { entry } => entry.validate(generation),
                JournalLine::Delete { path } => check_path(path).map_err(|e| e.to_string()),
            };
            valid.map_err(|m| corrupt(file, format!("line {line_no}: {m}")))?;
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
        next_page = next_page.max(page + 1);
    }
    Ok((next_page, steps))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::target::Target;

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
            sha256: "ab".repeat(32),
            md5: "cd".repeat(16),
            written_gen: 1,
            encryption: None,
        }
    }

    fn tempdir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "lakegate-manifest-{}-{:x}",
            std::process::id(),
            uuid::Uuid::new_v4().as_u128() as u32
        ))
    }

    fn header(bucket: &str, generation: u64, m: &Manifest) -> Header {
        Header {
            lakegate_backup: FORMAT_VERSION,
            bucket: bucket.into(),
            generation,
            kind: "full".into(),
            started: 1,
            finished: 2,
            entries: m.entries.len() as u64,
            bytes: m.bytes(),
        }
    }

    fn not_authenticated(r: Result<Option<(Header, Manifest)>, BackupError>) -> String {
        match r {
            Err(e @ BackupError::NotAuthenticated { .. }) => e.to_string(),
            other => panic!("expected NotAuthenticated, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn round_trip_truncation_and_journal() {
        let dir = tempdir();
        let key = LocalKey::random().unwrap();
        let target = Target::dir(&dir).unwrap();
        let t = target.bucket("b");
        let mut m = Manifest {
            generation: 3,
            ..Default::default()
        };
        for i in 0..2000 {
            let e = entry(&format!("k/{i:05}"));
            m.entries.insert(e.path.clone(), e);
        }
        let h = header("b", 3, &m);
        write(&t, &key, &h, &m).await.unwrap();
        let (h2, m2) = read(&t, &key, 3).await.unwrap().unwrap();
        assert_eq!(h2, h);
        assert_eq!(m2, m);
        assert_eq!(read_header(&t, 3).await.unwrap().unwrap(), h);
        assert_eq!(t.generations().await.unwrap(), vec![3]);
        assert!(read(&t, &key, 4).await.unwrap().is_none());
        // Another key: refused.
        let other = LocalKey::random().unwrap();
        let msg = not_authenticated(read(&t, &other, 3).await);
        assert!(
            msg.contains("not authenticated by this gateway's key"),
            "{msg}"
        );
        // Truncate: refused.
        let file = dir.join("b/.lakegate/generations/00000000000000000003.jsonl");
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        not_authenticated(read(&t, &key, 3).await);
        // Journal replay.
        let mut base = Manifest::default();
        write_journal(
            &t,
            &key,
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
        write_journal(&t, &key, 4, 1, &[JournalLine::Delete { path: "x".into() }])
            .await
            .unwrap();
        assert_eq!(
            replay_journal(&t, &key, 4, &mut base).await.unwrap(),
            (2, 3)
        );
        assert_eq!(base.entries.keys().collect::<Vec<_>>(), vec!["y"]);
        // A page renamed to another page number no longer verifies.
        let journal = dir.join("b/.lakegate/journal/00000000000000000004");
        std::fs::rename(
            journal.join("00000000.jsonl"),
            journal.join("00000007.jsonl"),
        )
        .unwrap();
        let r = replay_journal(&t, &key, 4, &mut Manifest::default()).await;
        assert!(
            matches!(
                r,
                Err(BackupError::NotAuthenticated {
                    what: "journal page",
                    ..
                })
            ),
            "{r:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn tampered_replayed_and_unsigned_manifests_are_refused() {
        let dir = tempdir();
        let key = LocalKey::random().unwrap();
        let target = Target::dir(&dir).unwrap();
        let (a, b) = (target.bucket("a"), target.bucket("b"));
        let mut m = Manifest {
            generation: 1,
            ..Default::default()
        };
        for p in ["k1", "k2"] {
            m.entries.insert(p.into(), entry(p));
        }
        write(&a, &key, &header("a", 1, &m), &m).await.unwrap();
        let file = |bucket: &str, g: u64| {
            dir.join(format!("{bucket}/.lakegate/generations/{g:020}.jsonl"))
        };
        let good = std::fs::read_to_string(file("a", 1)).unwrap();
        let lines: Vec<&str> = good.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[3].starts_with(r#"{"lakegate_mac":"hmac-sha256:"#));

        // An edited entry (same length even).
        std::fs::write(file("a", 1), good.replace(r#""size":3"#, r#""size":4"#)).unwrap();
        not_authenticated(read(&a, &key, 1).await);
        // Emptied, with a header that looks recomputed and the old trailer.
        let empty = format!(
            "{}\n{}\n",
            serde_json::to_string(&header("a", 1, &Manifest::default())).unwrap(),
            lines[3]
        );
        std::fs::write(file("a", 1), empty).unwrap();
        not_authenticated(read(&a, &key, 1).await);
        // Written by an older build: no trailer.
        std::fs::write(
            file("a", 1),
            format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2]),
        )
        .unwrap();
        let msg = not_authenticated(read(&a, &key, 1).await);
        assert!(msg.contains("no authentication tag"), "{msg}");
        // Replayed as another generation, or as another bucket's manifest.
        std::fs::write(file("a", 1), &good).unwrap();
        assert!(read(&a, &key, 1).await.unwrap().is_some());
        std::fs::create_dir_all(file("a", 2).parent().unwrap()).unwrap();
        std::fs::write(file("a", 2), &good).unwrap();
        not_authenticated(read(&a, &key, 2).await);
        std::fs::create_dir_all(file("b", 1).parent().unwrap()).unwrap();
        std::fs::write(file("b", 1), &good).unwrap();
        not_authenticated(read(&b, &key, 1).await);
        // Garbage that a parser would quote is still reported as unauthenticated.
        std::fs::write(file("a", 1), "{\"lakegate_backup\": \"secret text\"}\n").unwrap();
        let msg = not_authenticated(read(&a, &key, 1).await);
        assert!(!msg.contains("secret text"), "{msg}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn authenticated_entries_are_still_validated() {
        let dir = tempdir();
        let key = LocalKey::random().unwrap();
        let t = Target::dir(&dir).unwrap().bucket("b");
        let bad = |f: &dyn Fn(&mut Entry)| {
            let mut e = entry("ok");
            f(&mut e);
            e
        };
        let cases: Vec<(Entry, &str)> = vec![
            (
                bad(&|e| e.source_key = "dir/../x\0y".into()),
                "invalid source key",
            ),
            (
                bad(&|e| e.source_key = "a/./b".into()),
                "invalid source key",
            ),
            (bad(&|e| e.source_key = String::new()), "empty source key"),
            (bad(&|e| e.path = "../escape".into()), "invalid backup path"),
            (bad(&|e| e.path = "/abs".into()), "invalid backup path"),
            (bad(&|e| e.path = "a//b".into()), "invalid backup path"),
            (bad(&|e| e.path = "a\0b".into()), "invalid backup path"),
            (bad(&|e| e.sha256 = "zz".into()), "malformed sha256"),
            (bad(&|e| e.written_gen = 9), "written_gen 9"),
        ];
        for (e, want) in cases {
            let mut m = Manifest {
                generation: 1,
                ..Default::default()
            };
            m.entries.insert(e.path.clone(), e);
            write(&t, &key, &header("b", 1, &m), &m).await.unwrap();
            match read(&t, &key, 1).await {
                Err(BackupError::Corrupt { message, .. }) => {
                    assert!(message.contains(want), "{message} (wanted {want})")
                }
                other => panic!("{want}: {other:?}"),
            }
        }
        // And journal steps too.
        let journal = [JournalLine::Delete {
            path: "a/../../x".into(),
        }];
        write_journal(&t, &key, 2, 0, &journal).await.unwrap();
        let r = replay_journal(&t, &key, 2, &mut Manifest::default()).await;
        assert!(matches!(r, Err(BackupError::Corrupt { .. })), "{r:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    // -----------------------------------------------------------------------------------------
    // Golden files: the encoded form of format version 2, byte for byte (never edited, only
    // added; see FORMAT_VERSION). The trailer is deterministic under a fixed key.

    const GOLDEN_KEY: [u8; 32] = [0x42; 32];
    const NEW_GOLDEN: &str = "LAKEGATE_WRITE_NEW_GOLDEN";

    /// The committed bytes of `gateway/tests/golden/backup/<name>` (written from `actual` when
    /// missing and `LAKEGATE_WRITE_NEW_GOLDEN` is set; never overwritten).
    fn golden(name: &str, actual: &[u8]) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/backup");
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(_) if std::env::var_os(NEW_GOLDEN).is_some() => {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, actual).unwrap();
                actual.to_vec()
            }
            Err(e) => panic!(
                "golden file {} is missing ({e}); run the tests with {NEW_GOLDEN}=1 once to \
                 write it, then review and commit it",
                path.display()
            ),
        }
    }

    /// Every field set, each to a value of its own.
    fn golden_entry_full() -> Entry {
        Entry {
            path: "2024/06/part-0.parquet".into(),
            source_key: "raw/2024/06/part-0.parquet".into(),
            source_version_id: "00000000000000070123456789abcdef".into(),
            etag: "9b2cf535f27731c974343645a3985328-2".into(),
            size: 15_728_640,
            last_modified: 1_700_000_100_456,
            content_type: Some("application/vnd.apache.parquet".into()),
            cache_control: Some("max-age=3600".into()),
            content_disposition: Some("attachment; filename=\"part-0.parquet\"".into()),
            content_encoding: Some("gzip".into()),
            content_language: Some("en-GB".into()),
            expires: Some("Thu, 01 Jan 2026 00:00:00 GMT".into()),
            website_redirect: Some("/silver/index.html".into()),
            storage_class: Some("STANDARD_IA".into()),
            user_metadata: [
                ("pipeline".to_string(), "ingest".to_string()),
                ("run-id".to_string(), "42".to_string()),
            ]
            .into(),
            tags: [
                ("class".to_string(), "raw".to_string()),
                ("pii".to_string(), "no".to_string()),
            ]
            .into(),
            sha256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03".into(),
            md5: "b1946ac92492d2347c6235b4d2611184".into(),
            written_gen: 2,
            encryption: None,
        }
    }

    /// Only the fields that are always written.
    fn golden_entry_minimal() -> Entry {
        Entry {
            path: "empty".into(),
            source_key: "empty".into(),
            source_version_id: "null".into(),
            etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
            size: 0,
            last_modified: 0,
            content_type: None,
            cache_control: None,
            content_disposition: None,
            content_encoding: None,
            content_language: None,
            expires: None,
            website_redirect: None,
            storage_class: None,
            user_metadata: BTreeMap::new(),
            tags: BTreeMap::new(),
            sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            md5: "d41d8cd98f00b204e9800998ecf8427e".into(),
            written_gen: 3,
            encryption: None,
        }
    }

    fn golden_manifest(generation: u64, entries: Vec<Entry>) -> (Header, Manifest) {
        let m = Manifest {
            generation,
            entries: entries.into_iter().map(|e| (e.path.clone(), e)).collect(),
        };
        let h = Header {
            lakegate_backup: FORMAT_VERSION,
            bucket: "bronze".into(),
            generation,
            kind: if generation == 1 { "full" } else { "changes" }.into(),
            started: 1_700_000_200_000,
            finished: 1_700_000_260_000,
            entries: m.entries.len() as u64,
            bytes: m.bytes(),
        };
        (h, m)
    }

    #[tokio::test]
    async fn manifests_match_their_golden_bytes_and_read_back() {
        let key = LocalKey::from_bytes(GOLDEN_KEY);
        let cases = [
            (
                "manifest.v2.full.jsonl",
                golden_manifest(3, vec![golden_entry_full(), golden_entry_minimal()]),
            ),
            ("manifest.v2.empty.jsonl", golden_manifest(1, Vec::new())),
        ];
        for (name, (h, m)) in cases {
            // Encoding: what `write` puts in the target is the golden file, byte for byte.
            let file = format!("bronze/.lakegate/generations/{:020}.jsonl", h.generation);
            let dir = tempdir();
            let t = Target::dir(&dir).unwrap().bucket("bronze");
            write(&t, &key, &h, &m).await.unwrap();
            let written = std::fs::read(dir.join(&file)).unwrap();
            let expected = golden(name, &written);
            assert_eq!(
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(&expected),
                "{name}: the manifest encoding changed; do not edit the golden file, introduce \
                 a new format version (see FORMAT_VERSION)"
            );
            let _ = std::fs::remove_dir_all(&dir);

            // Decoding: the committed bytes, placed in a target, read back to the same manifest.
            let dir = tempdir();
            let t = Target::dir(&dir).unwrap().bucket("bronze");
            std::fs::create_dir_all(dir.join(&file).parent().unwrap()).unwrap();
            std::fs::write(dir.join(&file), &expected).unwrap();
            let (h2, m2) = read(&t, &key, h.generation).await.unwrap().unwrap();
            assert_eq!((h2, m2), (h, m), "{name}");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[tokio::test]
    async fn journal_pages_match_their_golden_bytes_and_replay() {
        let key = LocalKey::from_bytes(GOLDEN_KEY);
        let lines = [
            JournalLine::Put {
                entry: Box::new(golden_entry_full()),
            },
            JournalLine::Put {
                entry: Box::new(golden_entry_minimal()),
            },
            JournalLine::Delete {
                path: golden_entry_minimal().path,
            },
        ];
        let dir = tempdir();
        let t = Target::dir(&dir).unwrap().bucket("bronze");
        write_journal(&t, &key, 3, 2, &lines).await.unwrap();
        let page = "bronze/.lakegate/journal/00000000000000000003/00000002.jsonl";
        let written = std::fs::read(dir.join(page)).unwrap();
        let expected = golden("journal.v2.page.jsonl", &written);
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&expected),
            "the journal encoding changed; do not edit the golden file, introduce a new format \
             version (see FORMAT_VERSION)"
        );
        let _ = std::fs::remove_dir_all(&dir);

        let dir = tempdir();
        let t = Target::dir(&dir).unwrap().bucket("bronze");
        std::fs::create_dir_all(dir.join(page).parent().unwrap()).unwrap();
        std::fs::write(dir.join(page), &expected).unwrap();
        let mut m = Manifest::default();
        assert_eq!(replay_journal(&t, &key, 3, &mut m).await.unwrap(), (3, 3));
        assert_eq!(
            m.entries.into_values().collect::<Vec<_>>(),
            [golden_entry_full()]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn format_versions_other_than_the_current_one_are_refused() {
        let key = LocalKey::from_bytes(GOLDEN_KEY);
        for (version, want) in [(1, "older than any"), (3, "newer than this gateway's")] {
            let dir = tempdir();
            let t = Target::dir(&dir).unwrap().bucket("bronze");
            let (mut h, m) = golden_manifest(1, Vec::new());
            h.lakegate_backup = version;
            // Authenticated, so the version check is what refuses it.
            write(&t, &key, &h, &m).await.unwrap();
            match read(&t, &key, 1).await {
                Err(BackupError::Corrupt { message, .. }) => {
                    assert!(message.contains(want), "{message}")
                }
                other => panic!("version {version}: {other:?}"),
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
