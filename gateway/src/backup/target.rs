//! The backup target: a local directory (the default; our own file operations that never follow
//! a symbolic link below the root, see [`super::localfs`]) or an object store (an OpenDAL
//! operator), and the layout of one source bucket's backup inside it.
//!
//! ```text
//! <root>/<bucket>/
//!   data/<path>                                  the mirror: latest copy of each entry
//!   .lakegate/target.json                        what this is (format, bucket)
//!   .lakegate/generations/<gen:020>.jsonl        manifest written at the end of run <gen>
//!   .lakegate/displaced/<written_gen:020>/<path> bytes displaced from data/ by a later run
//!   .lakegate/journal/<gen:020>/<page:08>.jsonl  steps done by an unfinished run <gen>
//!   .lakegate/tmp/<random>                       copies in flight (removed at the next run)
//!   .lakegate/state.json                         last run / restore reports
//! ```
//!
//! Every file is written to `tmp/` first, fsynced and renamed into place, so a file under
//! `data/`, `displaced/`, `generations/` or `journal/` is always whole (an object store's PUT is
//! atomic instead).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use opendal::{ErrorKind, Operator};

use super::error::BackupError;
use super::localfs::LocalDir;
use crate::policy::target_path::{EmptySegments, check_target_path};

/// Where backups go: `fs:///abs/path`, a plain path, or (not in this build) another service.
///
/// The directory is created on the first write, not before: a gateway that never backs up
/// leaves no empty backup directory behind, and reads of a missing target find nothing.
#[derive(Clone)]
pub struct Target {
    inner: Arc<TargetInner>,
}

struct TargetInner {
    /// How the target is shown (logs, admin API): the URL without credentials.
    display: String,
    backend: Backend,
}

enum Backend {
    /// A local directory (created on the first write), with file operations that never follow
    /// a link below it; renames are atomic.
    Local(Arc<LocalDir>),
    /// An object store. It cannot rename: files are written in place (a PUT is atomic) and
    /// "moves" are a server-side copy plus a delete. `chunk`: the writer's part size.
    Remote { op: Operator, chunk: usize },
}

/// Multipart part size for object-store targets.
pub const S3_PART: usize = 8 * 1024 * 1024;

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.inner.display)
            .finish()
    }
}

/// The default target of a data directory: `backups/` inside it (absolute). Nothing else of the
/// data directory has that name (the store keeps `meta.redb`, `blobs/` and `reserve`; the
/// gateway `local.key` and `plugin-cache/`), and the server's working directory stays clean. It
/// shares the data directory's disk: production deployments set a target on another one.
pub fn default_dir(data_dir: &Path) -> PathBuf {
    let abs = if data_dir.is_absolute() {
        data_dir.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(data_dir)
    };
    // Collecting the components drops `.` (`./data` → `<cwd>/data`).
    abs.join("backups").components().collect()
}

impl Target {
    /// Parses a target URL: `fs:///abs/path`, `file:///abs/path` or a plain path (relative
    /// paths are made absolute against the working directory), or `s3://bucket[/prefix]?...`.
    /// Other schemes are refused with [`BackupError::UnsupportedTarget`].
    pub fn parse(url: &str) -> Result<Target, BackupError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(BackupError::UnsupportedTarget {
                url: url.into(),
                reason: "empty target".into(),
            });
        }
        let path = if let Some(rest) = url
            .strip_prefix("fs://")
            .or_else(|| url.strip_prefix("file://"))
        {
            if !rest.starts_with('/') {
                return Err(BackupError::UnsupportedTarget {
                    url: url.into(),
                    reason: "fs:// needs an absolute path (fs:///var/backups)".into(),
                });
            }
            PathBuf::from(rest)
        } else if let Some(rest) = url.strip_prefix("s3://") {
            return Self::s3(url, rest);
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(BackupError::UnsupportedTarget {
                url: url.into(),
                reason: format!(
                    "the {scheme}:// service is not built into this gateway; fs:// (a local or mounted directory) and s3:// are"
                ),
            });
        } else {
            PathBuf::from(url)
        };
        Self::dir(&path)
    }

    /// An S3 target: `s3://bucket[/prefix][?endpoint=URL][&region=R][&virtual_host=true]`,
    /// credentials from `LAKEGATE_BACKUP_ACCESS_KEY` / `LAKEGATE_BACKUP_SECRET_KEY`.
    fn s3(url: &str, rest: &str) -> Result<Target, BackupError> {
        let bad = |reason: String| BackupError::UnsupportedTarget {
            url: url.split('?').next().unwrap_or(url).to_string(),
            reason,
        };
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if crate::store::check_bucket_name(bucket).is_err() {
            return Err(bad(format!("{bucket:?} is not a valid bucket name")));
        }
        let (mut endpoint, mut region, mut virtual_host) = (None, "us-east-1".to_string(), false);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned();
            match k {
                "endpoint" => endpoint = Some(v),
                "region" => region = v,
                "virtual_host" => virtual_host = v == "true",
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?} (endpoint, region, virtual_host)"
                    )));
                }
            }
        }
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(access), Some(secret)) = (
            var("LAKEGATE_BACKUP_ACCESS_KEY"),
            var("LAKEGATE_BACKUP_SECRET_KEY"),
        ) else {
            return Err(bad(
                "set LAKEGATE_BACKUP_ACCESS_KEY and LAKEGATE_BACKUP_SECRET_KEY".into(),
            ));
        };
        // HTTP (reqwest) and TLS (rustls with ring) for OpenDAL, installed once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        opendal_http_transport_reqwest::install_default();
        let root = format!("/{}", prefix.trim_matches('/'));
        let mut builder = opendal::services::S3::default()
            .bucket(bucket)
            .root(&root)
            .region(&region)
            .access_key_id(&access)
            .secret_access_key(&secret)
            .disable_config_load()
            .disable_ec2_metadata();
        if let Some(e) = &endpoint {
            builder = builder.endpoint(e);
        }
        if virtual_host {
            builder = builder.enable_virtual_host_style();
        }
        let op = Operator::new(builder)?;
        let display = match &endpoint {
            Some(e) => format!("s3://{bucket}{root}?endpoint={e}"),
            None => format!("s3://{bucket}{root}"),
        };
        Ok(Target {
            inner: Arc::new(TargetInner {
                display,
                backend: Backend::Remote { op, chunk: S3_PART },
            }),
        })
    }

    /// A target on a local directory (created on the first write).
    pub fn dir(path: &Path) -> Result<Target, BackupError> {
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| BackupError::Target(e.to_string()))?
                .join(path)
        };
        let root = abs.to_str().ok_or_else(|| BackupError::UnsupportedTarget {
            url: abs.display().to_string(),
            reason: "the path is not UTF-8".into(),
        })?;
        if abs.exists() && !abs.is_dir() {
            return Err(BackupError::UnsupportedTarget {
                url: root.to_string(),
                reason: "not a directory".into(),
            });
        }
        Ok(Target {
            inner: Arc::new(TargetInner {
                display: format!("fs://{root}"),
                backend: Backend::Local(Arc::new(LocalDir::new(abs))),
            }),
        })
    }

    pub fn url(&self) -> &str {
        &self.inner.display
    }

    /// The backup of one source bucket.
    pub fn bucket(&self, bucket: &str) -> BucketTarget {
        BucketTarget {
            target: self.clone(),
            bucket: bucket.to_string(),
        }
    }

    /// The source buckets that have a backup in this target.
    pub async fn buckets(&self) -> Result<Vec<String>, BackupError> {
        let mut out = Vec::new();
        match &self.inner.backend {
            Backend::Local(dir) => {
                out = local(dir, "/", |d, _| {
                    let mut out = Vec::new();
                    for (name, ty) in d.list("/")? {
                        if ty == rustix::fs::FileType::Directory
                            && d.exists(&format!("{name}/.lakegate/target.json"))?
                        {
                            out.push(name);
                        }
                    }
                    Ok(out)
                })
                .await?;
            }
            Backend::Remote { op, .. } => {
                for e in op.list("/").await? {
                    let name = e.name().trim_end_matches('/');
                    if e.metadata().is_dir()
                        && !name.is_empty()
                        && op.exists(&format!("{name}/.lakegate/target.json")).await?
                    {
                        out.push(name.to_string());
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Runs a blocking operation of the local directory on tokio's blocking pool; its I/O error
/// becomes a [`BackupError`] naming `path`.
async fn local<T: Send + 'static>(
    dir: &Arc<LocalDir>,
    path: &str,
    f: impl FnOnce(&LocalDir, &str) -> std::io::Result<T> + Send + 'static,
) -> Result<T, BackupError> {
    let (d, p) = (dir.clone(), path.to_string());
    tokio::task::spawn_blocking(move || f(&d, &p).map_err(|e| local_error(&p, &e)))
        .await
        .map_err(|e| BackupError::Internal(format!("backup file task: {e}")))?
}

/// A local directory's I/O error, with the target path (never file contents).
fn local_error(path: &str, e: &std::io::Error) -> BackupError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        BackupError::Target(format!(
            "{path}: refused: a symbolic link below the backup target root (the local target never follows links)"
        ))
    } else {
        BackupError::Target(format!("{path}: {e}"))
    }
}

/// A generation number as it appears in file names.
pub fn gen_name(generation: u64) -> String {
    format!("{generation:020}")
}

/// Checks a plugin-chosen path against the target path rule ([`check_target_path`]): in
/// particular no empty segments (`a//b`), which a file tree cannot hold. A trailing `/` (an S3
/// "folder" object) is allowed; see [`BucketTarget::data_path`].
pub fn check_path(path: &str) -> Result<(), BackupError> {
    check_target_path(path, EmptySegments::TrailingOnly).map_err(|e| BackupError::BadPath {
        path: path.into(),
        message: e.to_string(),
    })
}

/// The file name a path is stored under: itself, or for a "folder" path ending in `/`, a file
/// inside that folder (a directory cannot hold bytes).
fn file_of(path: &str) -> String {
    if path.ends_with('/') {
        format!("{path}{FOLDER_FILE}")
    } else {
        path.to_string()
    }
}

/// The file holding the bytes of a path that ends in `/`.
pub const FOLDER_FILE: &str = ".lakegate-folder";

/// One source bucket's backup in the target.
#[derive(Clone)]
pub struct BucketTarget {
    target: Target,
    bucket: String,
}

/// What [`BucketTarget::write_stream`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Where it was written.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub md5: String,
}

impl BucketTarget {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn data_path(&self, path: &str) -> String {
        format!("{}/data/{}", self.bucket, file_of(path))
    }

    pub fn displaced_path(&self, written_gen: u64, path: &str) -> String {
        format!(
            "{}/.lakegate/displaced/{}/{}",
            self.bucket,
            gen_name(written_gen),
            file_of(path)
        )
    }

    pub fn displaced_root(&self) -> String {
        format!("{}/.lakegate/displaced/", self.bucket)
    }

    pub fn manifest_path(&self, generation: u64) -> String {
        format!(
            "{}/.lakegate/generations/{}.jsonl",
            self.bucket,
            gen_name(generation)
        )
    }

    fn generations_dir(&self) -> String {
        format!("{}/.lakegate/generations/", self.bucket)
    }

    pub fn journal_dir(&self, generation: u64) -> String {
        format!(
            "{}/.lakegate/journal/{}/",
            self.bucket,
            gen_name(generation)
        )
    }

    pub fn journal_root(&self) -> String {
        format!("{}/.lakegate/journal/", self.bucket)
    }

    fn tmp_dir(&self) -> String {
        format!("{}/.lakegate/tmp/", self.bucket)
    }

    pub fn state_path(&self) -> String {
        format!("{}/.lakegate/state.json", self.bucket)
    }

    pub fn info_path(&self) -> String {
        format!("{}/.lakegate/target.json", self.bucket)
    }

    /// Whether files can be renamed atomically (a local directory); see [`Backend`].
    pub fn can_rename(&self) -> bool {
        matches!(self.target.inner.backend, Backend::Local(_))
    }

    fn backend(&self) -> &Backend {
        &self.target.inner.backend
    }

    /// Where a new file is written before it is verified: a temporary file if the target
    /// renames, else `dest` itself.
    pub fn staging_path(&self, dest: &str) -> String {
        if self.can_rename() {
            self.new_tmp()
        } else {
            dest.to_string()
        }
    }

    /// Puts a staged file at `dest` (nothing to do if it was written in place).
    pub async fn place(&self, staged: &str, dest: &str) -> Result<(), BackupError> {
        if staged == dest {
            return Ok(());
        }
        self.move_file(staged, dest).await
    }

    /// Moves a file: a rename, or a server-side copy and a delete.
    pub async fn move_file(&self, from: &str, to: &str) -> Result<(), BackupError> {
        match self.backend() {
            Backend::Local(_) => self.rename(from, to).await,
            Backend::Remote { op, .. } => {
                op.copy(from, to).await?;
                op.delete(from).await?;
                Ok(())
            }
        }
    }

    /// Copies a file (server-side for object stores; through a temporary file and a rename in
    /// a local directory).
    pub async fn copy_file(&self, from: &str, to: &str) -> Result<(), BackupError> {
        match self.backend() {
            Backend::Local(dir) => {
                let (tmp, to) = (self.new_tmp(), to.to_string());
                local(dir, from, move |d, from| d.copy(from, &tmp, &to)).await
            }
            Backend::Remote { op, .. } => {
                op.copy(from, to).await?;
                Ok(())
            }
        }
    }

    fn new_tmp(&self) -> String {
        format!("{}{:032x}", self.tmp_dir(), uuid::Uuid::new_v4().as_u128())
    }

    /// Generations with a manifest, oldest first.
    pub async fn generations(&self) -> Result<Vec<u64>, BackupError> {
        let names: Vec<String> = match self.backend() {
            Backend::Local(dir) => {
                local(dir, &self.generations_dir(), |d, p| {
                    Ok(d.list(p)?
                        .into_iter()
                        .filter(|(_, ty)| *ty == rustix::fs::FileType::RegularFile)
                        .map(|(name, _)| name)
                        .collect())
                })
                .await?
            }
            Backend::Remote { op, .. } => match op.list(&self.generations_dir()).await {
                Ok(e) => e.into_iter().map(|e| e.name().to_string()).collect(),
                Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e.into()),
            },
        };
        let mut out: Vec<u64> = names
            .iter()
            .filter_map(|n| n.strip_suffix(".jsonl")?.parse::<u64>().ok())
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Files under `dir` (recursively), as full paths. In a local directory, links are listed
    /// (cleanups remove them; reads refuse them) and never descended into.
    pub async fn list_files(&self, dir: &str) -> Result<Vec<String>, BackupError> {
        let op = match self.backend() {
            Backend::Local(d) => return local(d, dir, |d, p| d.list_files(p)).await,
            Backend::Remote { op, .. } => op,
        };
        let mut out = Vec::new();
        let mut lister = match op.lister_with(dir).recursive(true).await {
            Ok(l) => l,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        while let Some(entry) = lister.try_next().await? {
            if entry.metadata().is_file() {
                out.push(entry.path().to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether something is at `path` (in a local directory: a link too, which is not
    /// followed; a link in a parent directory is an error).
    pub async fn exists(&self, path: &str) -> Result<bool, BackupError> {
        match self.backend() {
            Backend::Local(d) => local(d, path, |d, p| d.exists(p)).await,
            Backend::Remote { op, .. } => Ok(op.exists(path).await?),
        }
    }

    /// Reads a small file whole (manifests are read with [`Self::read_stream`]).
    pub async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, BackupError> {
        match self.backend() {
            Backend::Local(d) => local(d, path, |d, p| d.read_all(p)).await,
            Backend::Remote { op, .. } => match op.read(path).await {
                Ok(b) => Ok(Some(b.to_vec())),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Streams a file in chunks of up to 1 MiB; `Ok(None)` if it does not exist.
    pub async fn read_stream(
        &self,
        path: &str,
    ) -> Result<Option<futures::stream::BoxStream<'static, Result<Bytes, BackupError>>>, BackupError>
    {
        use futures::StreamExt;
        let op = match self.backend() {
            Backend::Local(d) => {
                let Some((file, size)) = local(d, path, |d, p| d.open_read(p)).await? else {
                    return Ok(None);
                };
                return Ok(Some(local_stream(file, size, path.to_string()).boxed()));
            }
            Backend::Remote { op, .. } => op,
        };
        let reader = match op.reader_with(path).chunk(READ_CHUNK).await {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let stream = match reader.into_bytes_stream(..).await {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(
            stream
                .map_err(|e| BackupError::Target(e.to_string()))
                .boxed(),
        ))
    }

    /// Writes a whole small file atomically (a temporary file, fsynced, then a rename; an
    /// object store's PUT).
    pub async fn write_atomic(&self, path: &str, data: Vec<u8>) -> Result<(), BackupError> {
        match self.backend() {
            Backend::Local(d) => {
                let tmp = self.new_tmp();
                local(d, path, move |d, p| d.write_atomic(&tmp, p, &data)).await
            }
            Backend::Remote { op, .. } => {
                op.write(path, data).await?;
                Ok(())
            }
        }
    }

    /// Streams `data` into `dest` (a [`Self::staging_path`]), hashing (SHA-256 and MD5) as it
    /// goes, and makes it durable (fsync; an object store's completed upload). The caller
    /// verifies and then [`Self::place`]s it (or [`Self::delete`]s it). `on_chunk` is told each
    /// chunk's size (progress).
    pub async fn write_stream<S>(
        &self,
        dest: &str,
        data: S,
        mut on_chunk: impl FnMut(u64),
    ) -> Result<Written, BackupError>
    where
        S: Stream<Item = Result<Bytes, BackupError>> + Send,
    {
        use md5::Digest;
        let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
        let mut md5 = md5::Md5::new();
        let mut size = 0u64;
        let mut hash = |chunk: &[u8]| {
            sha.update(chunk);
            md5.update(chunk);
            size += chunk.len() as u64;
            on_chunk(chunk.len() as u64);
        };
        match self.backend() {
            Backend::Local(d) => {
                let file = Arc::new(local(d, dest, |d, p| d.create_new(p)).await?);
                let result = async {
                    let mut data = std::pin::pin!(data);
                    while let Some(chunk) = data.try_next().await? {
                        if chunk.is_empty() {
                            continue;
                        }
                        hash(&chunk);
                        let f = file.clone();
                        blocking_io(dest, move || {
                            use std::io::Write;
                            (&*f).write_all(&chunk)
                        })
                        .await?;
                    }
                    let f = file.clone();
                    blocking_io(dest, move || f.sync_all()).await
                }
                .await;
                drop(file);
                if let Err(e) = result {
                    let _ = self.delete(dest).await;
                    return Err(e);
                }
            }
            Backend::Remote { op, chunk } => {
                let result = async {
                    let mut w = op.writer_with(dest).chunk(*chunk).await?;
                    let mut data = std::pin::pin!(data);
                    while let Some(chunk) = data.try_next().await? {
                        if chunk.is_empty() {
                            continue;
                        }
                        hash(&chunk);
                        w.write(chunk).await?;
                    }
                    w.close().await?;
                    Ok::<_, BackupError>(())
                }
                .await;
                if let Err(e) = result {
                    let _ = op.delete(dest).await;
                    return Err(e);
                }
            }
        }
        Ok(Written {
            path: dest.to_string(),
            size,
            sha256: hex::encode(sha.finish().as_ref()),
            md5: hex::encode(md5.finalize()),
        })
    }

    /// Renames `from` to `to` (replacing `to`), creating `to`'s parent.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), BackupError> {
        match self.backend() {
            Backend::Local(d) => {
                let (from, to) = (from.to_string(), to.to_string());
                let label = format!("{from} -> {to}");
                local(d, &label, move |d, _| d.rename(&from, &to)).await
            }
            Backend::Remote { op, .. } => Ok(op.rename(from, to).await?),
        }
    }

    /// Deletes a file (in a local directory: a link itself, not its target); missing is fine.
    pub async fn delete(&self, path: &str) -> Result<(), BackupError> {
        match self.backend() {
            Backend::Local(d) => local(d, path, |d, p| d.unlink(p)).await,
            Backend::Remote { op, .. } => Ok(op.delete(path).await?),
        }
    }

    /// Deletes a directory tree (missing is fine; links in it are removed, not followed).
    pub async fn remove_all(&self, dir: &str) -> Result<(), BackupError> {
        match self.backend() {
            Backend::Local(d) => local(d, dir, |d, p| d.remove_all(p)).await,
            Backend::Remote { op, .. } => match op.delete_with(dir).recursive(true).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Removes temporaries left by an interrupted run.
    pub async fn clear_tmp(&self) -> Result<(), BackupError> {
        self.remove_all(&self.tmp_dir()).await
    }

    /// Writes `.lakegate/target.json` if it is missing, so the target describes itself.
    pub async fn ensure_info(&self) -> Result<(), BackupError> {
        if self.exists(&self.info_path()).await? {
            return Ok(());
        }
        let info = serde_json::json!({
            "format": "lakegate-backup",
            "version": super::manifest::FORMAT_VERSION,
            "bucket": self.bucket,
            "layout": {
                "data": "data/<path>: the mirror, latest copy of each entry",
                "generations": ".lakegate/generations/<generation:020>.jsonl: manifest (header line, then one entry per line, sorted by path, then a trailer line with an HMAC-SHA256 under the writing gateway's local.key)",
                "displaced": ".lakegate/displaced/<written_gen:020>/<path>: bytes an older manifest still references",
                "lookup": "an entry's bytes are at displaced/<written_gen>/<path> if that file exists, else at data/<path>; verify sha256",
            },
            "created": crate::store::now_millis(),
        });
        let bytes =
            serde_json::to_vec_pretty(&info).map_err(|e| BackupError::Internal(e.to_string()))?;
        self.write_atomic(&self.info_path(), bytes).await
    }

    /// Where the bytes an entry recorded are: `displaced/<written_gen>/<path>` if that exists
    /// (it only ever holds the bytes generation `written_gen` wrote), else `data/<path>`.
    pub async fn locate(&self, path: &str, written_gen: u64) -> Result<String, BackupError> {
        let displaced = self.displaced_path(written_gen, path);
        if self.exists(&displaced).await? {
            Ok(displaced)
        } else {
            Ok(self.data_path(path))
        }
    }
}

/// Reads from backup files are chunks of up to this size.
const READ_CHUNK: usize = 1024 * 1024;

/// Runs a blocking write or sync of a local file on tokio's blocking pool.
async fn blocking_io(
    path: &str,
    f: impl FnOnce() -> std::io::Result<()> + Send + 'static,
) -> Result<(), BackupError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackupError::Internal(format!("backup file task: {e}")))?
        .map_err(|e| local_error(path, &e))
}

/// A local file as a stream of chunks (up to [`READ_CHUNK`]), each read on the blocking pool.
fn local_stream(
    file: std::fs::File,
    size: u64,
    path: String,
) -> impl Stream<Item = Result<Bytes, BackupError>> + Send + 'static {
    let state = (Arc::new(file), size, path);
    futures::stream::try_unfold(state, |(file, left, path)| async move {
        // Buffers follow the size the file had when opened (small files get small buffers),
        // and reading goes on until the end of the file whatever that size said.
        let cap = (left as usize).clamp(8 * 1024, READ_CHUNK);
        let f = file.clone();
        let read = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buf = vec![0u8; cap];
            let mut n = 0;
            while n < cap {
                match (&*f).read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            buf.truncate(n);
            Ok(buf)
        })
        .await
        .map_err(|e| BackupError::Internal(format!("backup file task: {e}")))?
        .map_err(|e| local_error(&path, &e))?;
        if read.is_empty() {
            return Ok(None);
        }
        let left = left.saturating_sub(read.len() as u64);
        Ok(Some((Bytes::from(read), (file, left, path))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert!(matches!(
            Target::parse("s3://bucket/prefix"),
            Err(BackupError::UnsupportedTarget { .. })
        ));
        assert!(matches!(
            Target::parse("gcs://bucket"),
            Err(BackupError::UnsupportedTarget { .. })
        ));
        assert!(matches!(
            Target::parse("s3://Not_A_Bucket"),
            Err(BackupError::UnsupportedTarget { .. })
        ));
        assert!(matches!(
            Target::parse("fs://relative"),
            Err(BackupError::UnsupportedTarget { .. })
        ));
        let dir = std::env::temp_dir().join(format!("lakegate-target-{}", std::process::id()));
        let t = Target::parse(&format!("fs://{}", dir.display())).unwrap();
        assert!(t.url().starts_with("fs:///"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn the_directory_is_created_on_the_first_write() {
        let dir = std::env::temp_dir().join(format!(
            "lakegate-lazy-target-{}-{:x}",
            std::process::id(),
            uuid::Uuid::new_v4().as_u128() as u32
        ));
        let t = Target::dir(&dir).unwrap();
        let b = t.bucket("b");
        assert!(t.buckets().await.unwrap().is_empty());
        assert!(b.generations().await.unwrap().is_empty());
        assert!(b.read(&b.state_path()).await.unwrap().is_none());
        assert!(!b.exists(&b.info_path()).await.unwrap());
        b.clear_tmp().await.unwrap();
        assert!(!dir.exists(), "reads must not create the target");
        b.ensure_info().await.unwrap();
        assert_eq!(t.buckets().await.unwrap(), vec!["b".to_string()]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn default_is_inside_the_data_directory() {
        assert_eq!(
            default_dir(Path::new("/var/lib/lakegate/data")),
            PathBuf::from("/var/lib/lakegate/data/backups")
        );
        assert_eq!(
            default_dir(Path::new("/srv/x/")),
            PathBuf::from("/srv/x/backups")
        );
        let relative = default_dir(Path::new("./data"));
        assert_eq!(
            relative,
            std::env::current_dir().unwrap().join("data/backups")
        );
    }

    #[test]
    fn paths() {
        assert!(check_path("a/b.parquet").is_ok());
        assert!(check_path("folder/").is_ok());
        assert!(check_path("a//b").is_err());
        assert!(check_path("../x").is_err());
        assert_eq!(file_of("folder/"), "folder/.lakegate-folder");
        assert_eq!(file_of("a/b"), "a/b");
    }
}
