//! Free space and write health of the data directory.
//!
//! A full disk must not lock operators out: deleting objects is how they recover, and a delete
//! is a metadata commit, which needs a few free pages. So the store keeps a small **reserve**
//! file (`DATA_DIR/reserve`, [`DEFAULT_RESERVE_BYTES`] unless `LAKEGATE_RESERVE_BYTES` says
//! otherwise) of real, allocated bytes. When a write meets `ENOSPC` (a blob write or a metadata
//! commit), the store enters the *full* state: it logs the reason once, deletes the reserve (so
//! deletes can commit), and refuses every write that could consume space with
//! [`StoreError::StorageFull`] (S3 `XMinioStorageFull`, HTTP 507) before it touches the disk.
//! Deletes (and other freeing mutations) still go through. A background check re-creates the
//! reserve once twice its size is free again, and leaves the full state then.
//!
//! [`Space::ready`] is what `/minio/health/ready` answers: writes can succeed only if the
//! metadata store is open, the store is not full and the data directory is not read-only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::StoreError;

/// Size of the reserve file.
pub const DEFAULT_RESERVE_BYTES: u64 = 8 * 1024 * 1024;

/// A filesystem's size (see [`Space::capacity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub total_bytes: u64,
    /// Available to unprivileged writers (`f_bavail`).
    pub free_bytes: u64,
    pub read_only: bool,
}

/// The free-space and write-health state of one data directory.
#[derive(Debug)]
pub struct Space {
    data_dir: PathBuf,
    reserve_path: PathBuf,
    reserve_bytes: u64,
    full: AtomicBool,
    /// Object bytes deleted since the full state began.
    freed_since_full: AtomicU64,
    /// Why the metadata store cannot be written to (it could not be reopened), if so.
    meta_down: Mutex<Option<String>>,
    /// The last reason logged for refusing writes, so each reason is logged once.
    logged: Mutex<Option<String>>,
}

impl Space {
    pub fn new(data_dir: &Path) -> Self {
        let reserve_bytes = std::env::var("LAKEGATE_RESERVE_BYTES")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_RESERVE_BYTES);
        Space {
            data_dir: data_dir.to_path_buf(),
            reserve_path: data_dir.join("reserve"),
            reserve_bytes,
            full: AtomicBool::new(false),
            freed_since_full: AtomicU64::new(0),
            meta_down: Mutex::new(None),
            logged: Mutex::new(None),
        }
    }

    /// Whether writes that consume space are refused.
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// Enters the full state (logged once per transition) and releases the reserve so deletes
    /// can commit.
    pub fn enter_full(&self, reason: &str) {
        if !self.full.swap(true, Ordering::AcqRel) {
            self.freed_since_full.store(0, Ordering::Release);
            self.log_refusal(&format!("data directory is full: {reason}"));
        }
        self.release_reserve();
    }

    /// Deletes the reserve file (missing is fine).
    pub fn release_reserve(&self) {
        match std::fs::remove_file(&self.reserve_path) {
            Ok(()) => tracing::warn!(
                bytes = self.reserve_bytes,
                "released the reserved headroom so deletes can commit"
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::error!(error = %e, "could not release the reserved headroom"),
        }
    }

    /// Creates the reserve file if it is missing or short. Blocking (allocates, or where the
    /// filesystem cannot, writes, then fsyncs up to the reserve's size).
    pub fn ensure_reserve(&self) -> Result<(), StoreError> {
        if self.reserve_bytes == 0 {
            return Ok(());
        }
        if let Ok(m) = std::fs::metadata(&self.reserve_path)
            && m.len() >= self.reserve_bytes
        {
            return Ok(());
        }
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&self.reserve_path)?;
            // Real blocks, not a sparse file: the point is that they are taken. fallocate
            // allocates them without writing (ext4, xfs, btrfs, tmpfs); where it is not
            // supported, write zeros.
            if rustix::fs::fallocate(
                &f,
                rustix::fs::FallocateFlags::empty(),
                0,
                self.reserve_bytes,
            )
            .is_err()
            {
                let chunk = vec![0u8; 64 * 1024];
                let mut left = self.reserve_bytes;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    f.write_all(&chunk[..n])?;
                    left -= n as u64;
                }
            }
            f.sync_all()
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&self.reserve_path);
            return Err(StoreError::from(e));
        }
        Ok(())
    }

    /// Bytes available to this process in the data directory, and whether it is read-only.
    fn statvfs(&self) -> Option<(u64, bool)> {
        let s = rustix::fs::statvfs(&self.data_dir).ok()?;
        let avail = s.f_bavail.saturating_mul(s.f_frsize);
        Some((
            avail,
            s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
        ))
    }

    /// The data directory's filesystem: total and available bytes, and whether it is mounted
    /// read-only (`None` when it cannot be asked).
    pub fn capacity(&self) -> Option<Capacity> {
        let s = rustix::fs::statvfs(&self.data_dir).ok()?;
        Some(Capacity {
            total_bytes: s.f_blocks.saturating_mul(s.f_frsize),
            free_bytes: s.f_bavail.saturating_mul(s.f_frsize),
            read_only: s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
        })
    }

    /// `Ok` when reads can succeed (the metadata store is open and the blobs directory can be
    /// listed); otherwise why not.
    pub fn readable(&self) -> Result<(), String> {
        if let Some(r) = self.meta_down() {
            return Err(format!("metadata store unavailable: {r}"));
        }
        std::fs::read_dir(self.data_dir.join("blobs"))
            .map(|_| ())
            .map_err(|e| format!("blobs directory unreadable: {e}"))
    }

    /// Records object bytes removed by a committed mutation.
    pub fn note_freed(&self, bytes: u64) {
        if bytes > 0 {
            self.freed_since_full.fetch_add(bytes, Ordering::AcqRel);
        }
    }

    /// The periodic check (blocking). Leaves the full state once the filesystem has room for
    /// the reserve and as much again (the reserve is re-created first), or once deletes removed
    /// at least the reserve's size of object data (inline objects free pages inside the
    /// metadata file, which the filesystem does not see; the reserve is re-created later, when
    /// the filesystem has room). Re-creates a missing reserve when not full and there is room.
    pub fn check(&self) {
        let Some((avail, ro)) = self.statvfs() else {
            return;
        };
        let room = !ro && avail >= self.reserve_bytes.saturating_mul(2);
        let missing = self.reserve_bytes > 0
            && std::fs::metadata(&self.reserve_path)
                .map(|m| m.len() < self.reserve_bytes)
                .unwrap_or(true);
        let reserved = if room && missing {
            match self.ensure_reserve() {
                Ok(()) => true,
                Err(e) => {
                    tracing::debug!(error = %e, "reserve not re-created yet");
                    false
                }
            }
        } else {
            !missing
        };
        if self.is_full() {
            let freed = self.freed_since_full.load(Ordering::Acquire);
            if (room && reserved) || (!ro && freed >= self.reserve_bytes.max(1)) {
                self.full.store(false, Ordering::Release);
                self.log_recovered("space was freed; writes accepted again");
            }
        }
    }

    /// Records that the metadata store is down (`Some(reason)`) or back (`None`).
    pub fn set_meta_down(&self, reason: Option<String>) {
        let mut g = self.meta_down.lock().unwrap_or_else(|p| p.into_inner());
        match (&*g, &reason) {
            (None, Some(r)) => self.log_refusal(&format!("metadata store unavailable: {r}")),
            (Some(_), None) => self.log_recovered("metadata store reopened; writes accepted again"),
            _ => {}
        }
        *g = reason;
    }

    pub fn meta_down(&self) -> Option<String> {
        self.meta_down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `Ok` when writes can succeed; otherwise why not.
    pub fn ready(&self) -> Result<(), String> {
        if let Some(r) = self.meta_down() {
            return Err(format!("metadata store unavailable: {r}"));
        }
        if self.is_full() {
            return Err("data directory is full".into());
        }
        if let Some((_, true)) = self.statvfs() {
            return Err("data directory is read-only".into());
        }
        Ok(())
    }

    fn log_refusal(&self, reason: &str) {
        let mut g = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        if g.as_deref() != Some(reason) {
            tracing::error!(reason, "writes are refused until this is resolved");
            *g = Some(reason.to_string());
        }
    }

    fn log_recovered(&self, what: &str) {
        let mut g = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        tracing::warn!("{what}");
        *g = None;
    }
}

/// Whether an error (or any error in its source chain) is "no space left" (`ENOSPC`, `EDQUOT`).
pub fn is_enospc(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && (io.kind() == std::io::ErrorKind::StorageFull
                || io.kind() == std::io::ErrorKind::QuotaExceeded
                || matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)))
        {
            return true;
        }
        let s = err.to_string();
        if s.contains("No space left on device")
            || s.contains("Disk quota exceeded")
            || s.contains("os error 28)")
        {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_recognised_through_wrappers() {
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(is_enospc(&io));
        let e = StoreError::from(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(e.is_storage_full(), "{e:?}");
        let e = StoreError::from(std::io::Error::from_raw_os_error(libc::EIO));
        assert!(matches!(e, StoreError::Io(_)), "{e:?}");
        let dal = opendal::Error::new(opendal::ErrorKind::Unexpected, "write failed")
            .set_source(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(StoreError::from(dal).is_storage_full());
    }
}
