//! The audit file: JSON lines appended to one file, rotated by size.
//!
//! A batch of lines is appended with one write (split only where the file rotates). When a line
//! would take the file past its maximum size (and the file is not empty), the file is closed and
//! renamed: `<file>.<N-1>` → `<file>.<N>`, ..., `<file>.1` → `<file>.2`, `<file>` → `<file>.1`
//! (the oldest, `<file>.<N>`, is replaced), and a new `<file>` is opened. A line longer than the
//! maximum gets a file of its own.
//!
//! A failed write closes the file; the next batch reopens it. A write that failed midway may
//! leave a partial line: the next write then starts on a new line, so every line but that one
//! still parses. Runs on the blocking pool (plain `std::fs`).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::{AuditError, Counters, WarnLimit};

/// The audit file and its rotation.
#[derive(Debug)]
pub(super) struct FileSink {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    /// `None` after a failed write or a rotation, until the next write reopens it.
    file: Option<File>,
    /// The open file's size (or what it will be once reopened).
    size: u64,
    /// The file does not end with a newline (a write failed midway): the next write starts one.
    needs_newline: bool,
    counters: Arc<Counters>,
    warning: WarnLimit,
}

impl FileSink {
    /// Opens (or creates, mode 0600) `path` for appending.
    pub(super) fn open(
        path: PathBuf,
        max_bytes: u64,
        keep: usize,
        counters: Arc<Counters>,
    ) -> Result<FileSink, AuditError> {
        let mut sink = FileSink {
            path,
            max_bytes,
            keep,
            file: None,
            size: 0,
            needs_newline: false,
            counters,
            warning: WarnLimit::new(),
        };
        sink.reopen().map_err(|source| AuditError::Open {
            path: sink.path.clone(),
            source,
        })?;
        Ok(sink)
    }

    /// Opens the file, learning its size and whether it ends a line.
    fn reopen(&mut self) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)?;
        let size = file.metadata()?.len();
        let mut last = [b'\n'];
        if size > 0 {
            file.read_exact_at(&mut last, size - 1)?;
        }
        self.needs_newline = last[0] != b'\n';
        self.size = size;
        self.file = Some(file);
        Ok(())
    }

    /// Appends `lines` (each ending in `\n`), rotating as needed; counts what was written and
    /// what was not.
    pub(super) fn write_batch(&mut self, lines: &[Bytes]) {
        if self.file.is_none()
            && let Err(e) = self.reopen()
        {
            self.failed(lines.len() as u64, "cannot open", &e);
            return;
        }
        let mut chunk = Vec::new();
        let mut count = 0;
        for line in lines {
            let pending = self.size + chunk.len() as u64;
            if pending > 0 && pending + line.len() as u64 > self.max_bytes {
                self.append(&mut chunk, &mut count);
                self.rotate();
            }
            chunk.extend_from_slice(line);
            count += 1;
        }
        self.append(&mut chunk, &mut count);
    }

    /// Appends `chunk` (`count` lines) and empties it.
    fn append(&mut self, chunk: &mut Vec<u8>, count: &mut u64) {
        if *count == 0 {
            return;
        }
        let result = (|| {
            if self.file.is_none() {
                self.reopen()?;
            }
            let Some(file) = self.file.as_mut() else {
                return Err(std::io::Error::other("the file is not open"));
            };
            if self.needs_newline {
                file.write_all(b"\n")?;
                self.needs_newline = false;
                self.size += 1;
            }
            file.write_all(chunk)
        })();
        match result {
            Ok(()) => {
                self.size += chunk.len() as u64;
                Counters::add(&self.counters.written, *count);
            }
            Err(e) => {
                // Closed; reopened (its size and last byte read afresh) by the next write.
                self.file = None;
                self.failed(*count, "cannot write", &e);
            }
        }
        chunk.clear();
        *count = 0;
    }

    fn failed(&self, lines: u64, what: &str, e: &std::io::Error) {
        Counters::add(&self.counters.write_errors, lines);
        if self.warning.allow() {
            tracing::error!(
                path = %self.path.display(),
                error = %e,
                lines,
                "{what} the audit file: entries lost"
            );
        }
    }

    /// Closes the file and shifts it and the rotated ones by one; the next write opens a new
    /// one. On failure the current file is kept (and grows past the limit).
    fn rotate(&mut self) {
        self.file = None;
        match shift(&self.path, self.keep) {
            Ok(()) => {
                self.size = 0;
                self.needs_newline = false;
                Counters::add(&self.counters.rotations, 1);
            }
            Err(e) => {
                if self.warning.allow() {
                    tracing::error!(
                        path = %self.path.display(),
                        error = %e,
                        "cannot rotate the audit file"
                    );
                }
            }
        }
    }

    /// Makes what was written durable (at shutdown).
    pub(super) fn close(&mut self) {
        if let Some(file) = self.file.take()
            && let Err(e) = file.sync_data()
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot sync the audit file");
        }
    }
}

/// `<path>.<n>`.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Renames `<path>.<keep-1>` → `<path>.<keep>` ... `<path>` → `<path>.1` (missing ones skipped);
/// with `keep` 0, removes `<path>`.
fn shift(path: &Path, keep: usize) -> std::io::Result<()> {
    let ignore_missing = |r: std::io::Result<()>| match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        r => r,
    };
    if keep == 0 {
        return ignore_missing(std::fs::remove_file(path));
    }
    for n in (1..keep).rev() {
        ignore_missing(std::fs::rename(numbered(path, n), numbered(path, n + 1)))?;
    }
    std::fs::rename(path, numbered(path, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(range: std::ops::Range<usize>) -> Vec<Bytes> {
        range
            .map(|i| Bytes::from(format!("{{\"n\":{i:04}}}\n")))
            .collect()
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn rotates_by_size_keeping_n_files() {
        let dir = super::super::tests::temp_dir("file-rotate");
        let path = dir.join("a.log");
        let counters = Arc::new(Counters::default());
        // Lines are 11 bytes: 3 per file.
        let mut sink = FileSink::open(path.clone(), 35, 2, counters.clone()).unwrap();
        sink.write_batch(&lines(0..4));
        sink.write_batch(&lines(4..11));
        sink.close();
        let stats = counters.snapshot();
        assert_eq!(
            (stats.written, stats.rotations, stats.write_errors),
            (11, 3, 0)
        );
        assert_eq!(read(&path), "{\"n\":0009}\n{\"n\":0010}\n");
        assert_eq!(
            read(&numbered(&path, 1)),
            "{\"n\":0006}\n{\"n\":0007}\n{\"n\":0008}\n"
        );
        assert_eq!(
            read(&numbered(&path, 2)),
            "{\"n\":0003}\n{\"n\":0004}\n{\"n\":0005}\n"
        );
        assert!(!numbered(&path, 3).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keep_zero_discards_and_a_long_line_gets_its_own_file() {
        let dir = super::super::tests::temp_dir("file-keep0");
        let path = dir.join("a.log");
        let counters = Arc::new(Counters::default());
        let mut sink = FileSink::open(path.clone(), 5, 0, counters.clone()).unwrap();
        sink.write_batch(&lines(0..3));
        sink.close();
        assert_eq!(read(&path), "{\"n\":0002}\n");
        assert_eq!(counters.snapshot().rotations, 2);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn appends_to_an_existing_file_after_a_partial_line() {
        let dir = super::super::tests::temp_dir("file-partial");
        let path = dir.join("a.log");
        std::fs::write(&path, "{\"n\":1}\n{\"trunc").unwrap();
        let counters = Arc::new(Counters::default());
        let mut sink = FileSink::open(path.clone(), 1 << 20, 1, counters).unwrap();
        sink.write_batch(&lines(2..3));
        sink.close();
        assert_eq!(read(&path), "{\"n\":1}\n{\"trunc\n{\"n\":0002}\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
