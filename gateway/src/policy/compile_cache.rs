//! The on-disk cache of compiled components: its file format (versioned), how files are
//! checked before wasmtime may load them, and the compile-or-load step of the engine.
//!
//! A `.cwasm` artifact is native code that wasmtime loads without validation (`unsafe`
//! deserialization): whoever can write one runs code in the gateway. So:
//!
//! - the directory is created 0700; an existing one must be a real directory (not a symlink)
//!   owned by the gateway's user and writable by nobody else, else the disk cache is disabled
//!   with a warning (plugins still load, compiled at every start); group/other read bits of a
//!   directory the gateway owns are removed;
//! - files are written 0600 (a temporary file created exclusively, fsynced, renamed into place)
//!   and opened without following symlinks; a file that is not a regular file owned by the
//!   gateway and writable only by it is refused;
//! - every file is authenticated with an HMAC-SHA256 under the gateway's local key
//!   ([`Purpose::PluginCache`]); the file is read into memory, verified, and the verified bytes
//!   are deserialized (never the path again, so nothing can be swapped in between).
//!
//! A file that fails any check (missing header, wrong tag, another component's artifact, a
//! symlink, wrong owner or mode) is counted in
//! [`CacheStats::disk_rejected`](super::CacheStats::disk_rejected), logged at warn, and replaced
//! by a fresh compilation. One wasmtime refuses despite a valid tag (it should not happen: the
//! tag covers the engine identity) is handled the same way.
//!
//! # File format, version 1
//!
//! One file per component, `<dir>/<sha256>.cwasm`, named by the SHA-256 of the component's bytes
//! in 64 lowercase hex digits:
//!
//! | offset | bytes | content |
//! | ---: | ---: | --- |
//! | 0 | 7 | magic, ASCII `LGCWASM` |
//! | 7 | 1 | format version, `0x01` ([`FORMAT_VERSION`]) |
//! | 8 | 32 | tag: HMAC-SHA256 of the message below, under the local key's `PluginCache` subkey |
//! | 40 | rest of the file | wasmtime's artifact (`Engine::precompile_component`), as is |
//!
//! There is no trailer: the artifact runs to the end of the file. The tagged message is not
//! stored; it is the concatenation of
//!
//! 1. the label `lakegate compiled plugin v1\0` (28 bytes), so a cache tag never verifies
//!    anything else;
//! 2. the component's SHA-256 as 64 ASCII hex digits (the file name);
//! 3. the engine identity, 32 bytes: the SHA-256 of what wasmtime's
//!    `Engine::precompile_compatibility_hash` hashes (wasmtime version, target, compiler
//!    settings, tunables);
//! 4. the SHA-256 of the artifact, 32 bytes.
//!
//! Every field has a fixed length, so they cannot run into each other. The `golden_bytes` test
//! below pins this layout with a fixed key: it fails if the encoding changes by accident.
//!
//! # Versions and upgrades
//!
//! A file with the magic but another version byte is a cache miss
//! ([`CacheFileError::UnknownVersion`]): the component is compiled again and the file is
//! overwritten in the current format, logged at info and not counted as rejected. Upgrade path:
//! a format change bumps [`FORMAT_VERSION`] (and the label's `v1`); the first load of each
//! plugin after the upgrade recompiles it once, and no file ever needs migrating.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::engine::EngineInner;
use super::error::{PolicyError, describe};
use super::stats::CompileOrigin;
use crate::local_key::{LocalKey, Purpose};

/// A directory for compiled components, and the key that authenticates them (see the module
/// docs). The gateway uses `<data-dir>/plugin-cache` with its [`LocalKey`].
#[derive(Debug, Clone)]
pub struct DiskCache {
    pub dir: PathBuf,
    pub key: LocalKey,
}

impl DiskCache {
    pub fn new(dir: impl Into<PathBuf>, key: LocalKey) -> Self {
        DiskCache {
            dir: dir.into(),
            key,
        }
    }
}

/// The first bytes of every cache file.
const MAGIC: &[u8; 7] = b"LGCWASM";
/// The format version this gateway reads and writes (the byte after [`MAGIC`]).
pub(super) const FORMAT_VERSION: u8 = 1;
/// Magic, version and tag: where the artifact starts.
const HEADER_LEN: usize = MAGIC.len() + 1 + 32;
/// Largest cache file read (compiled artifacts are a few times their component's size).
const MAX_CACHE_FILE: u64 = 1 << 30;
/// The label at the start of every tagged message: a cache tag never verifies anything else.
const MAC_LABEL: &[u8] = b"lakegate compiled plugin v1\0";

/// Why a cache file is not loaded.
#[derive(Debug, thiserror::Error)]
pub(super) enum CacheFileError {
    #[error("it is a symlink, which is never followed")]
    Symlink,
    #[error("cannot open it: {0}")]
    Open(std::io::Error),
    #[error("cannot inspect it: {0}")]
    Inspect(std::io::Error),
    #[error("not a regular file")]
    NotRegularFile,
    #[error("owned by uid {0}, not by this gateway")]
    ForeignOwner(u32),
    #[error("writable by others (mode {0:o})")]
    WritableByOthers(u32),
    #[error("{0} bytes, more than the cache's limit")]
    TooLarge(u64),
    #[error("cannot read it: {0}")]
    Read(std::io::Error),
    #[error("not an authenticated cache file (no lakegate header)")]
    NoHeader,
    /// Written by a gateway with another cache format: a cache miss, not an attack.
    #[error("cache format version {0}, not version {FORMAT_VERSION}")]
    UnknownVersion(u8),
    #[error(
        "its authentication tag does not match (modified, written by someone else, another \
         component's artifact, or another engine)"
    )]
    BadTag,
}

/// An enabled disk cache: the checked directory, the key and the engine's identity.
pub(super) struct OpenDiskCache {
    dir: PathBuf,
    key: LocalKey,
    /// SHA-256 of `Engine::precompile_compatibility_hash` (see [`engine_identity`]).
    engine_id: [u8; 32],
}

impl OpenDiskCache {
    /// Checks (or creates) the directory for `engine`; `None`, with a warning, if it is not
    /// private to the gateway.
    pub(super) fn open(cache: DiskCache, engine: &Engine) -> Option<OpenDiskCache> {
        match prepare_cache_dir(&cache.dir) {
            Ok(()) => {
                remove_stale_temporaries(&cache.dir);
                Some(OpenDiskCache {
                    engine_id: engine_identity(engine),
                    dir: cache.dir,
                    key: cache.key,
                })
            }
            Err(reason) => {
                tracing::warn!(dir = %cache.dir.display(), "{reason}: compiled plugins are not \
                    cached on disk (they are compiled at every start)");
                None
            }
        }
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the tag of a cache file covers (see the module docs).
    fn message(&self, source_hash: &str, artifact: &[u8]) -> Vec<u8> {
        let artifact_hash = ring::digest::digest(&ring::digest::SHA256, artifact);
        let mut m = Vec::with_capacity(MAC_LABEL.len() + source_hash.len() + 64);
        m.extend_from_slice(MAC_LABEL);
        m.extend_from_slice(source_hash.as_bytes());
        m.extend_from_slice(&self.engine_id);
        m.extend_from_slice(artifact_hash.as_ref());
        m
    }

    /// The header of the cache file of `artifact` for component `source_hash`.
    fn header(&self, source_hash: &str, artifact: &[u8]) -> [u8; HEADER_LEN] {
        let tag = self
            .key
            .sign(Purpose::PluginCache, &self.message(source_hash, artifact));
        let mut h = [0u8; HEADER_LEN];
        h[..MAGIC.len()].copy_from_slice(MAGIC);
        h[MAGIC.len()] = FORMAT_VERSION;
        h[MAGIC.len() + 1..].copy_from_slice(&tag);
        h
    }

    /// The artifact in a cache file's bytes, if the header is of this format and the tag
    /// verifies.
    fn verify<'a>(&self, source_hash: &str, bytes: &'a [u8]) -> Result<&'a [u8], CacheFileError> {
        if bytes.len() <= MAGIC.len() || !bytes.starts_with(MAGIC) {
            return Err(CacheFileError::NoHeader);
        }
        let version = bytes[MAGIC.len()];
        if version != FORMAT_VERSION {
            return Err(CacheFileError::UnknownVersion(version));
        }
        if bytes.len() < HEADER_LEN {
            return Err(CacheFileError::NoHeader);
        }
        let (tag, artifact) = bytes[MAGIC.len() + 1..].split_at(32);
        if !self.key.verify(
            Purpose::PluginCache,
            &self.message(source_hash, artifact),
            tag,
        ) {
            return Err(CacheFileError::BadTag);
        }
        Ok(artifact)
    }

    /// The verified artifact of cache file `path` for component `source_hash`; `None` if there
    /// is no such file.
    fn read(&self, path: &Path, source_hash: &str) -> Result<Option<Vec<u8>>, CacheFileError> {
        use std::io::Read;
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(CacheFileError::Symlink);
            }
            Err(e) => return Err(CacheFileError::Open(e)),
        };
        let meta = file.metadata().map_err(CacheFileError::Inspect)?;
        if !meta.is_file() {
            return Err(CacheFileError::NotRegularFile);
        }
        if meta.uid() != euid() {
            return Err(CacheFileError::ForeignOwner(meta.uid()));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(CacheFileError::WritableByOthers(meta.mode() & 0o7777));
        }
        if meta.len() > MAX_CACHE_FILE {
            return Err(CacheFileError::TooLarge(meta.len()));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_CACHE_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(CacheFileError::Read)?;
        self.verify(source_hash, &bytes)?;
        Ok(Some(bytes.split_off(HEADER_LEN)))
    }

    /// Writes the cache file of component `source_hash` atomically: header and artifact into an
    /// exclusively created 0600 temporary file, fsync, rename over `path` (replacing whatever
    /// was there, a symlink included, never writing through it).
    fn write(&self, path: &Path, source_hash: &str, artifact: &[u8]) -> std::io::Result<()> {
        // The temporary file is unique per write: concurrent compilations of the same component
        // (in this process or another) never write into a file someone else is about to rename.
        let header = self.header(source_hash, artifact);
        crate::local_file::write(path, &[&header, artifact], 0o600)
    }
}

impl EngineInner {
    /// Deserializes the component from its disk cache file, or compiles it (and writes the
    /// file).
    pub(super) fn compile_or_load(
        &self,
        wasm: &[u8],
        hash: &str,
    ) -> Result<(Component, CompileOrigin), PolicyError> {
        let path = self
            .disk
            .as_ref()
            .map(|d| d.dir.join(format!("{hash}.cwasm")));
        if let (Some(disk), Some(path)) = (&self.disk, &path) {
            match disk.read(path, hash) {
                Ok(None) => {}
                Ok(Some(artifact)) => {
                    // SAFETY: `artifact` is exactly the bytes whose tag was just verified under
                    // the gateway's local key: output of `precompile_component` of an engine
                    // with this engine's identity, for this very component, written by this
                    // gateway. wasmtime checks the version and configuration again.
                    match unsafe { Component::deserialize(&self.engine, &artifact) } {
                        Ok(c) => {
                            self.disk_hits.fetch_add(1, Ordering::Relaxed);
                            return Ok((c, CompileOrigin::DiskCache));
                        }
                        Err(e) => {
                            self.disk_rejected.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(path = %path.display(), error = %describe(&e),
                                "compiled plugin cache file refused by wasmtime; recompiling");
                        }
                    }
                }
                Err(reason @ CacheFileError::UnknownVersion(_)) => {
                    tracing::info!(path = %path.display(), "compiled plugin cache file of \
                        another format ({reason}); recompiling from the component");
                }
                Err(reason) => {
                    self.disk_rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(path = %path.display(), "compiled plugin cache file refused \
                        ({reason}); recompiling from the component");
                }
            }
        }
        let started = Instant::now();
        let artifact = self
            .engine
            .precompile_component(wasm)
            .map_err(|e| PolicyError::Compile(describe(&e)))?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            hash,
            bytes = wasm.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "policy component compiled"
        );
        if let (Some(disk), Some(path)) = (&self.disk, &path)
            && let Err(e) = disk.write(path, hash, &artifact)
        {
            tracing::warn!(path = %path.display(), error = %e,
                "cannot write the compiled plugin cache file");
        }
        // SAFETY: `artifact` was produced by `precompile_component` of this very engine.
        let component = unsafe { Component::deserialize(&self.engine, &artifact) }
            .map_err(|e| PolicyError::Compile(describe(&e)))?;
        Ok((component, CompileOrigin::Compiled))
    }
}

/// The effective user id of this process (the owner the cache must have).
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates the cache directory (0700) if needed and checks that only the gateway can write
/// into it: a directory, not a symlink, owned by this user, not writable by group or others.
/// Read bits for group/others on a directory we own are removed (caches of older versions were
/// created with the umask's mode).
fn prepare_cache_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create the plugin cache directory: {e}"))?;
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot inspect the plugin cache directory: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err("the plugin cache directory is a symlink".into());
    }
    if !meta.is_dir() {
        return Err("the plugin cache path is not a directory".into());
    }
    if meta.uid() != euid() {
        return Err(format!(
            "the plugin cache directory is owned by uid {}, not by this gateway (uid {})",
            meta.uid(),
            euid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "the plugin cache directory is writable by others (mode {mode:o})"
        ));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make the plugin cache directory private: {e}"))?;
    }
    Ok(())
}

/// SHA-256 of wasmtime's engine compatibility identity: what `precompile_compatibility_hash`
/// feeds a hasher (wasmtime version, target, compiler flags, tunables) goes into SHA-256.
fn engine_identity(engine: &Engine) -> [u8; 32] {
    use std::hash::{Hash, Hasher};
    struct Sha256Hasher(ring::digest::Context);
    impl Hasher for Sha256Hasher {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            // Never called: the digest is taken from the context.
            0
        }
    }
    let mut h = Sha256Hasher(ring::digest::Context::new(&ring::digest::SHA256));
    engine.precompile_compatibility_hash().hash(&mut h);
    let mut out = [0u8; 32];
    out.copy_from_slice(h.0.finish().as_ref());
    out
}

/// Removes temporaries of cache writes that never completed (a crash mid-write), once they are
/// old enough that no live writer can still own them.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // (`*.cwasm.tmp.*`: the temporaries of lakegate before `local_file`.)
        let stale = (crate::local_file::is_temporary(&name) || name.contains(".cwasm.tmp."))
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(3600)));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache with a fixed key and engine identity (no directory is touched).
    fn fixed() -> OpenDiskCache {
        OpenDiskCache {
            dir: PathBuf::from("/nonexistent"),
            key: LocalKey::from_bytes([7; 32]),
            engine_id: [0x11; 32],
        }
    }

    const SOURCE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    /// The version 1 layout, byte for byte. If this fails, the on-disk format changed: if that
    /// was intended, bump `FORMAT_VERSION` and the label (see "Versions and upgrades"), then
    /// update the expected bytes.
    #[test]
    fn golden_bytes() {
        let cache = fixed();
        let artifact = b"\x7fELF an artifact";
        let header = cache.header(SOURCE, artifact);
        assert_eq!(
            hex::encode(header),
            concat!(
                "4c47435741534d", // "LGCWASM"
                "01",             // version 1
                // HMAC-SHA256 (HKDF-SHA256 subkey "lakegate plugin cache v1" of the key) of
                // label ‖ SOURCE ‖ engine id ‖ SHA-256(artifact); checked independently with
                // Python's hmac/hashlib.
                "d1505c8fdc641ae323b0730057c1cd3a",
                "0413a187b56005e469952f99e0cfa186",
            )
        );
        let mut file = header.to_vec();
        file.extend_from_slice(artifact);
        assert_eq!(cache.verify(SOURCE, &file).unwrap(), artifact);
    }

    #[test]
    fn unknown_versions_bad_tags_and_short_files_are_typed() {
        let cache = fixed();
        let artifact = b"artifact";
        let mut file = cache.header(SOURCE, artifact).to_vec();
        file.extend_from_slice(artifact);

        for version in [0u8, 2, 0xff] {
            let mut other = file.clone();
            other[7] = version;
            assert!(matches!(
                cache.verify(SOURCE, &other),
                Err(CacheFileError::UnknownVersion(v)) if v == version
            ));
        }
        let mut flipped = file.clone();
        flipped[20] ^= 1;
        assert!(matches!(
            cache.verify(SOURCE, &flipped),
            Err(CacheFileError::BadTag)
        ));
        let other_source = SOURCE.replace('9', "8");
        assert!(matches!(
            cache.verify(&other_source, &file),
            Err(CacheFileError::BadTag)
        ));
        for short in [&file[..0], &file[..7], &file[..8], &file[..39], b"\x7fELF"] {
            assert!(matches!(
                cache.verify(SOURCE, short),
                Err(CacheFileError::NoHeader)
            ));
        }
        assert!(matches!(
            cache.verify(SOURCE, &file[..40]),
            Err(CacheFileError::BadTag)
        ));
    }
}
