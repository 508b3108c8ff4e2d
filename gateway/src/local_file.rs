//! Replacing a small local file atomically: the compiled-plugin cache, policy bindings and plugins
//! uploaded through the admin API, snapshot files blessed by `lakegate policy test`.
//!
//! The bytes go to a fresh hidden file in the same directory (created exclusively, never through
//! a symlink, with the given permissions), are fsynced, and the file is renamed over the target,
//! so a reader sees the old file or the new one, never a part. On any error the temporary file
//! is removed and the target is untouched.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `parts`, one after the other, as the new content of `path` (permissions `mode` for a
/// new file), atomically.
pub fn write(path: &Path, parts: &[&[u8]], mode: u32) -> std::io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        for part in parts {
            f.write_all(part)?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether a file name is one of [`write`]'s temporaries (left behind only by a crash mid-write).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir =
            std::env::temp_dir().join(format!("lakegate-local-file-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.bin");
        write(&path, &[b"one"], 0o600).unwrap();
        write(&path, &[b"two", b"-parts"], 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two-parts");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.bin"]);
        assert!(is_temporary(".a.bin.12.0.tmp") && !is_temporary("a.bin"));
        // A missing directory fails and writes nothing.
        assert!(write(&dir.join("no/such.bin"), &[b"x"], 0o600).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
