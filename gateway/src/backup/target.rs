//! The backup target: an OpenDAL operator configured by the operator (a local directory by
//! default), and the layout of one source bucket's backup inside it.
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
//! Every file is written to `tmp/` first and renamed into place, so a file under `data/`,
//! `displaced/`, `generations/` or `journal/` is always whole.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use opendal::{ErrorKind, Operator, services::Fs};

use super::error::BackupError;

/// Where backups go: `fs:///abs/path`, a plain path, or (not in this build) another service.
///
/// The directory is created on the first write, not before: a gateway that never backs up
/// leaves no empty backup directory behind, and reads of a missing target find nothing.
#[derive(Clone)]
pub struct Target {
    inner: Arc<TargetInner>,
}

struct TargetInner {
    /// The local directory (`fs`), created on the first write; `None` for object stores,
    /// whose operator exists from the start.
    root: Option<PathBuf>,
    /// How the target is shown (logs, admin API): the URL without credentials.
    display: String,
    op: OnceLock<Operator>,
    /// Whether the service renames atomically (fs). Without it (S3), files are written in
    /// place (a PUT is atomic) and "moves" are a server-side copy plus a delete.
    rename: bool,
    /// Writer chunk size (S3: multipart parts must be at least 5 MiB).
    chunk: Option<usize>,
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

/// The default target of a data directory: its sibling `<data-dir-name>-backups`.
pub fn default_dir(data_dir: &Path) -> PathBuf {
    let abs = if data_dir.is_absolute() {
        data_dir.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(data_dir)
    };
    let abs = crate::policy::bindings::normalize(&abs);
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    abs.parent()
        .unwrap_or(Path::new("/"))
        .join(format!("{name}-backups"))
}

impl Target {
    /// Parses a target URL: `fs:///abs/path`, `file:///abs/path` or a plain path (relative
    /// paths are made absolute against the working directory). Other schemes (`s3://...`) are
    /// refused with [`BackupError::UnsupportedTarget`]: this build has only OpenDAL's `fs`
    /// service.
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
        if crate::s3::router::check_bucket_name(bucket).is_err() {
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
                root: None,
                display,
                op: OnceLock::from(op),
                rename: false,
                chunk: Some(S3_PART),
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
                root: Some(abs),
                op: OnceLock::new(),
                rename: true,
                chunk: None,
            }),
        })
    }

    pub fn url(&self) -> &str {
        &self.inner.display
    }

    /// The operator; `None` for a read while the directory does not exist yet (a write
    /// creates it).
    fn op(&self, write: bool) -> Result<Option<Operator>, BackupError> {
        if let Some(op) = self.inner.op.get() {
            return Ok(Some(op.clone()));
        }
        let Some(root) = &self.inner.root else {
            return Err(BackupError::Internal(
                "backup target operator missing".into(),
            ));
        };
        if !write && !root.is_dir() {
            return Ok(None);
        }
        let op = Operator::new(Fs::default().root(&root.to_string_lossy()))?;
        Ok(Some(self.inner.op.get_or_init(|| op).clone()))
    }

    /// The operator for writing (the directory is created).
    fn writer_op(&self) -> Result<Operator, BackupError> {
        self.op(true)?
            .ok_or_else(|| BackupError::Internal("backup target operator missing".into()))
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
        let Some(op) = self.op(false)? else {
            return Ok(out);
        };
        for e in op.list("/").await? {
            let name = e.name().trim_end_matches('/');
            if e.metadata().is_dir()
                && !name.is_empty()
                && op.exists(&format!("{name}/.lakegate/target.json")).await?
            {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A generation number as it appears in file names.
pub fn gen_name(generation: u64) -> String {
    format!("{generation:020}")
}

/// Checks a plugin-chosen path for what a file tree cannot hold: empty segments (`a//b`). A
/// trailing `/` (an S3 "folder" object) is allowed; see [`BucketTarget::data_path`].
pub fn check_path(path: &str) -> Result<(), BackupError> {
    crate::policy::host::validate_target_path(path).map_err(|message| BackupError::BadPath {
        path: path.into(),
        message,
    })?;
    if path.trim_end_matches('/').split('/').any(str::is_empty) {
        return Err(BackupError::BadPath {
            path: path.into(),
            message: "empty path segment".into(),
        });
    }
    Ok(())
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

    /// Whether files can be renamed atomically (fs); see [`TargetInner`].
    pub fn can_rename(&self) -> bool {
        self.target.inner.rename
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
        if self.can_rename() {
            return self.rename(from, to).await;
        }
        let op = self.target.writer_op()?;
        op.copy(from, to).await?;
        op.delete(from).await?;
        Ok(())
    }

    /// Copies a file (server-side for object stores).
    pub async fn copy_file(&self, from: &str, to: &str) -> Result<(), BackupError> {
        self.target.writer_op()?.copy(from, to).await?;
        Ok(())
    }

    fn new_tmp(&self) -> String {
        format!("{}{:032x}", self.tmp_dir(), uuid::Uuid::new_v4().as_u128())
    }

    /// Generations with a manifest, oldest first.
    pub async fn generations(&self) -> Result<Vec<u64>, BackupError> {
        let mut out = Vec::new();
        let Some(op) = self.target.op(false)? else {
            return Ok(out);
        };
        let entries = match op.list(&self.generations_dir()).await {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        for e in entries {
            if let Some(g) = e
                .name()
                .strip_suffix(".jsonl")
                .and_then(|n| n.parse::<u64>().ok())
            {
                out.push(g);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Files under `dir` (recursively), as full paths.
    pub async fn list_files(&self, dir: &str) -> Result<Vec<String>, BackupError> {
        let mut out = Vec::new();
        let Some(op) = self.target.op(false)? else {
            return Ok(out);
        };
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

    pub async fn exists(&self, path: &str) -> Result<bool, BackupError> {
        match self.target.op(false)? {
            Some(op) => Ok(op.exists(path).await?),
            None => Ok(false),
        }
    }

    /// Reads a small file whole (manifests are read with [`Self::read_stream`]).
    pub async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, BackupError> {
        let Some(op) = self.target.op(false)? else {
            return Ok(None);
        };
        match op.read(path).await {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Streams a file in chunks of 1 MiB; `Ok(None)` if it does not exist.
    pub async fn read_stream(
        &self,
        path: &str,
    ) -> Result<Option<impl Stream<Item = Result<Bytes, BackupError>> + Send + use<>>, BackupError>
    {
        let Some(op) = self.target.op(false)? else {
            return Ok(None);
        };
        let reader = match op.reader_with(path).chunk(1024 * 1024).await {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let stream = match reader.into_bytes_stream(..).await {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(stream.map_err(|e| BackupError::Target(e.to_string()))))
    }

    /// Writes a whole small file atomically (temporary file, then rename).
    pub async fn write_atomic(&self, path: &str, data: Vec<u8>) -> Result<(), BackupError> {
        let op = self.target.writer_op()?;
        if !self.can_rename() {
            // An object store's PUT is atomic.
            op.write(path, data).await?;
            return Ok(());
        }
        let tmp = self.new_tmp();
        let result = async {
            let mut w = op.writer(&tmp).await?;
            w.write(data).await?;
            w.close().await?;
            op.rename(&tmp, path).await?;
            Ok::<_, opendal::Error>(())
        }
        .await;
        if let Err(e) = result {
            let _ = op.delete(&tmp).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Streams `data` into `dest` (a [`Self::staging_path`]), hashing (SHA-256 and MD5) as it
    /// goes, and makes it durable. The caller verifies and then [`Self::place`]s it (or
    /// [`Self::delete`]s it). `on_chunk` is told each chunk's size (progress).
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
        let op = self.target.writer_op()?;
        let tmp = dest.to_string();
        let mut sha = ring::digest::Context::new(&ring::digest::SHA256);
        let mut md5 = md5::Md5::new();
        let mut size = 0u64;
        let result = async {
            let mut w = match self.target.inner.chunk {
                Some(c) => op.writer_with(&tmp).chunk(c).await?,
                None => op.writer(&tmp).await?,
            };
            let mut data = std::pin::pin!(data);
            while let Some(chunk) = data.try_next().await? {
                if chunk.is_empty() {
                    continue;
                }
                sha.update(&chunk);
                md5.update(&chunk);
                size += chunk.len() as u64;
                on_chunk(chunk.len() as u64);
                w.write(chunk).await?;
            }
            w.close().await?;
            Ok::<_, BackupError>(())
        }
        .await;
        if let Err(e) = result {
            let _ = op.delete(&tmp).await;
            return Err(e);
        }
        Ok(Written {
            path: tmp,
            size,
            sha256: hex::encode(sha.finish().as_ref()),
            md5: hex::encode(md5.finalize()),
        })
    }

    /// Renames `from` to `to` (replacing `to`), creating `to`'s parent.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), BackupError> {
        Ok(self.target.writer_op()?.rename(from, to).await?)
    }

    /// Deletes a file (missing is fine).
    pub async fn delete(&self, path: &str) -> Result<(), BackupError> {
        match self.target.op(false)? {
            Some(op) => Ok(op.delete(path).await?),
            None => Ok(()),
        }
    }

    /// Deletes a directory tree (missing is fine).
    pub async fn remove_all(&self, dir: &str) -> Result<(), BackupError> {
        let Some(op) = self.target.op(false)? else {
            return Ok(());
        };
        match op.delete_with(dir).recursive(true).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
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
                "generations": ".lakegate/generations/<generation:020>.jsonl: manifest (header line, then one entry per line, sorted by path)",
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
    fn default_is_a_sibling() {
        assert_eq!(
            default_dir(Path::new("/var/lib/lakegate/data")),
            PathBuf::from("/var/lib/lakegate/data-backups")
        );
        assert_eq!(
            default_dir(Path::new("/srv/x/")),
            PathBuf::from("/srv/x-backups")
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
