//! The local-directory backend of a backup target: file operations that never follow a symbolic
//! link below the target root.
//!
//! A path is relative to the root, `/`-separated, without empty, `.` or `..` segments (a
//! trailing `/` names a directory). Opening goes through `openat2(root, path, RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)`; on a kernel without `openat2` (ENOSYS, before
//! Linux 5.6) it walks the components with `openat(O_NOFOLLOW | O_DIRECTORY)` instead. What is
//! done to the last component uses the `*at` calls that never follow it: `unlinkat`, `renameat`
//! (a link in the way is replaced, not written through), `mkdirat`, `fstatat(AT_SYMLINK_NOFOLLOW)`,
//! and new files are created with `O_CREAT | O_EXCL` (never through a link, never into an
//! existing inode). So a symbolic link planted anywhere below the root is refused with ELOOP
//! (reads, writes, renames into it) or removed as a link (deletes), never followed. The root
//! itself is the operator's setting and may be a link.
//!
//! Files that are read must be regular files (a FIFO or a device is refused, and opening never
//! blocks on one).
//!
//! Everything here blocks: [`super::target`] runs it on tokio's blocking pool.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Set once `openat2` answered ENOSYS or EPERM: from then on, the component walk.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Mode of new directories and files (before the umask).
const DIR_MODE: u32 = 0o755;
const FILE_MODE: u32 = 0o644;

/// A local directory used as a backup target.
#[derive(Debug)]
pub struct LocalDir {
    root: PathBuf,
}

fn invalid(path: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid target path {path:?}: {why}"),
    )
}

/// The components of a relative target path; empty for the root itself.
fn components(path: &str) -> io::Result<Vec<&str>> {
    if path.starts_with('/') && path != "/" {
        return Err(invalid(path, "absolute"));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let comps: Vec<&str> = trimmed.split('/').collect();
    if comps
        .iter()
        .any(|c| c.is_empty() || *c == "." || *c == ".." || c.contains('\0'))
    {
        return Err(invalid(path, "empty, `.` or `..` segment, or NUL"));
    }
    Ok(comps)
}

/// `Ok(None)` for "not there" (see [`is_absent`]), so each caller says what absence means.
fn absent_as_none<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether an error means "not there" (a missing component, or a file where a directory was
/// expected).
fn is_absent(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR))
}

/// Whether `dir/name` is a symbolic link (not followed).
fn is_symlink(dir: BorrowedFd<'_>, name: &str) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
}

/// Opens directory `name` in `dir` without following a link (a link is ELOOP).
fn open_subdir(dir: BorrowedFd<'_>, name: &str) -> io::Result<OwnedFd> {
    match rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(fd),
        Err(Errno::NOTDIR) if is_symlink(dir, name) => Err(Errno::LOOP.into()),
        Err(e) => Err(e.into()),
    }
}

/// Opens `comps` below `dir` by walking the components: each directory with `O_NOFOLLOW |
/// O_DIRECTORY`, the last with `O_NOFOLLOW` (the fallback for kernels without `openat2`).
pub(crate) fn open_walk(
    dir: BorrowedFd<'_>,
    comps: &[&str],
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    let Some((last, parents)) = comps.split_last() else {
        return Ok(rustix::fs::openat(
            dir,
            ".",
            flags | OFlags::CLOEXEC,
            Mode::empty(),
        )?);
    };
    let mut cur: Option<OwnedFd> = None;
    for c in parents {
        let at = cur.as_ref().map_or(dir, |fd| fd.as_fd());
        cur = Some(open_subdir(at, c)?);
    }
    let at = cur.as_ref().map_or(dir, |fd| fd.as_fd());
    match rustix::fs::openat(at, *last, flags | OFlags::NOFOLLOW | OFlags::CLOEXEC, mode) {
        Ok(fd) => Ok(fd),
        Err(Errno::NOTDIR) if flags.contains(OFlags::DIRECTORY) && is_symlink(at, last) => {
            Err(Errno::LOOP.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens `comps` below `dir` without following any symbolic link: `openat2` with
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`, or [`open_walk`] where the
/// kernel has no `openat2`.
fn open_beneath(
    dir: BorrowedFd<'_>,
    comps: &[&str],
    flags: OFlags,
    mode: Mode,
) -> io::Result<OwnedFd> {
    if comps.is_empty() || NO_OPENAT2.load(Ordering::Relaxed) {
        return open_walk(dir, comps, flags, mode);
    }
    let joined = comps.join("/");
    match rustix::fs::openat2(
        dir,
        joined.as_str(),
        flags | OFlags::CLOEXEC,
        mode,
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => Ok(fd),
        // ENOSYS: an old kernel. EPERM: a seccomp profile (older container runtimes) that
        // refuses syscalls it does not know. The walk is as safe, and gives the real answer.
        Err(Errno::NOSYS | Errno::PERM) => {
            NO_OPENAT2.store(true, Ordering::Relaxed);
            tracing::info!(
                "openat2 is not available: the local backup target walks paths with O_NOFOLLOW"
            );
            open_walk(dir, comps, flags, mode)
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates (if missing) and opens directory `comps` below `dir`, one component at a time, never
/// following a link.
fn mkdirs(dir: BorrowedFd<'_>, comps: &[&str]) -> io::Result<OwnedFd> {
    let mut cur: OwnedFd = open_walk(dir, &[], OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
    for c in comps {
        match rustix::fs::mkdirat(&cur, *c, Mode::from_raw_mode(DIR_MODE)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        cur = open_subdir(cur.as_fd(), c)?;
    }
    Ok(cur)
}

/// The file type of `name` in `dir` from its directory entry, or from `fstatat` (not followed)
/// where the file system does not say.
fn entry_type(dir: BorrowedFd<'_>, name: &CStr, from_entry: FileType) -> io::Result<FileType> {
    if from_entry != FileType::Unknown {
        return Ok(from_entry);
    }
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(FileType::from_raw_mode(st.st_mode))
}

/// The entries of an open directory (without `.` and `..`), names as raw C strings.
fn entries(dir: &OwnedFd) -> io::Result<Vec<(std::ffi::CString, FileType)>> {
    let mut out = Vec::new();
    let mut d = Dir::read_from(dir)?;
    while let Some(e) = d.read() {
        let e = e?;
        let name = e.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        let ty = entry_type(dir.as_fd(), name, e.file_type())?;
        out.push((name.to_owned(), ty));
    }
    Ok(out)
}

/// Removes everything inside an open directory (links are unlinked, not followed).
fn clear(dir: &OwnedFd) -> io::Result<()> {
    for (name, ty) in entries(dir)? {
        if ty == FileType::Directory {
            let sub = match rustix::fs::openat(
                dir,
                name.as_c_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(e.into()),
            };
            clear(&sub)?;
            match rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::REMOVEDIR) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(e.into()),
            }
        } else {
            match rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

impl LocalDir {
    pub fn new(root: PathBuf) -> LocalDir {
        LocalDir { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root directory; created (with its parents) for writes. A missing root is
    /// `NotFound` for reads.
    fn open_root(&self, create: bool) -> io::Result<OwnedFd> {
        if create {
            std::fs::create_dir_all(&self.root)?;
        }
        Ok(rustix::fs::open(
            &self.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    /// The directory holding the last component of `comps`, and that component.
    fn parent<'a>(root: &OwnedFd, comps: &[&'a str], path: &str) -> io::Result<(OwnedFd, &'a str)> {
        let (last, parents) = comps
            .split_last()
            .ok_or_else(|| invalid(path, "the target root itself"))?;
        let dir = open_beneath(
            root.as_fd(),
            parents,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )?;
        Ok((dir, last))
    }

    /// Whether anything (a file, a directory, a link) is at `path`. A link in a parent
    /// component is an error.
    pub fn exists(&self, path: &str) -> io::Result<bool> {
        let comps = components(path)?;
        let Some(root) = absent_as_none(self.open_root(false))? else {
            return Ok(false);
        };
        if comps.is_empty() {
            return Ok(true);
        }
        let Some((dir, name)) = absent_as_none(Self::parent(&root, &comps, path))? else {
            return Ok(false);
        };
        match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a regular file for reading, with its size; `None` if it does not exist.
    pub fn open_read(&self, path: &str) -> io::Result<Option<(File, u64)>> {
        let comps = components(path)?;
        let Some(root) = absent_as_none(self.open_root(false))? else {
            return Ok(None);
        };
        if comps.is_empty() {
            return Err(invalid(path, "the target root itself"));
        }
        // O_NONBLOCK: opening a FIFO must not hang; it is refused below.
        let Some(fd) = absent_as_none(open_beneath(
            root.as_fd(),
            &comps,
            OFlags::RDONLY | OFlags::NONBLOCK,
            Mode::empty(),
        ))?
        else {
            return Ok(None);
        };
        let st = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file",
            ));
        }
        let flags = rustix::fs::fcntl_getfl(&fd)?;
        rustix::fs::fcntl_setfl(&fd, flags - OFlags::NONBLOCK)?;
        Ok(Some((File::from(fd), st.st_size.max(0) as u64)))
    }

    /// Reads a (small) regular file whole; `None` if it does not exist.
    pub fn read_all(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        let Some((mut f, size)) = self.open_read(path)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(size.min(1 << 20) as usize);
        f.read_to_end(&mut out)?;
        Ok(Some(out))
    }

    /// Creates a new file (its parent directories too); fails if anything is at `path`.
    pub fn create_new(&self, path: &str) -> io::Result<File> {
        let comps = components(path)?;
        let root = self.open_root(true)?;
        let (last, parents) = comps
            .split_last()
            .ok_or_else(|| invalid(path, "the target root itself"))?;
        let dir = mkdirs(root.as_fd(), parents)?;
        let fd = rustix::fs::openat(
            &dir,
            *last,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(FILE_MODE),
        )?;
        Ok(File::from(fd))
    }

    /// Writes `data` to a new file at `tmp`, fsyncs it and renames it to `path`.
    pub fn write_atomic(&self, tmp: &str, path: &str, data: &[u8]) -> io::Result<()> {
        let result = (|| {
            let mut f = self.create_new(tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            drop(f);
            self.rename(tmp, path)
        })();
        if result.is_err() {
            let _ = self.unlink(tmp);
        }
        result
    }

    /// Renames `from` to `to` (replacing what is at `to`, a link included, without following
    /// it), creating `to`'s parent directories.
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (fc, tc) = (components(from)?, components(to)?);
        let root = self.open_root(false)?;
        let (from_dir, from_name) = Self::parent(&root, &fc, from)?;
        let (to_name, to_parents) = tc
            .split_last()
            .ok_or_else(|| invalid(to, "the target root itself"))?;
        let to_dir = mkdirs(root.as_fd(), to_parents)?;
        Ok(rustix::fs::renameat(
            &from_dir, from_name, &to_dir, *to_name,
        )?)
    }

    /// Copies `from` to a new file at `tmp`, fsyncs it and renames it to `to`.
    pub fn copy(&self, from: &str, tmp: &str, to: &str) -> io::Result<()> {
        let Some((mut src, _)) = self.open_read(from)? else {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such file"));
        };
        let result = (|| {
            let mut dst = self.create_new(tmp)?;
            io::copy(&mut src, &mut dst)?;
            dst.sync_all()?;
            drop(dst);
            self.rename(tmp, to)
        })();
        if result.is_err() {
            let _ = self.unlink(tmp);
        }
        result
    }

    /// Removes a file or a link (an empty directory too); missing is fine.
    pub fn unlink(&self, path: &str) -> io::Result<()> {
        let comps = components(path)?;
        let Some(root) = absent_as_none(self.open_root(false))? else {
            return Ok(());
        };
        let Some((dir, name)) = absent_as_none(Self::parent(&root, &comps, path))? else {
            return Ok(());
        };
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(Errno::ISDIR) => match rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a directory tree (or a file, or a link: the link itself); missing is fine.
    pub fn remove_all(&self, path: &str) -> io::Result<()> {
        let comps = components(path)?;
        let Some(root) = absent_as_none(self.open_root(false))? else {
            return Ok(());
        };
        let Some((dir, name)) = absent_as_none(Self::parent(&root, &comps, path))? else {
            return Ok(());
        };
        let st = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let sub = open_subdir(dir.as_fd(), name)?;
            clear(&sub)?;
            match rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(e.into()),
            }
        } else {
            match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
    }

    /// Opens directory `path` (never through a link); `None` if it (or the root) is not there.
    fn open_dir(&self, path: &str) -> io::Result<Option<OwnedFd>> {
        let comps = components(path)?;
        let Some(root) = absent_as_none(self.open_root(false))? else {
            return Ok(None);
        };
        absent_as_none(open_beneath(
            root.as_fd(),
            &comps,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        ))
    }

    /// The entries of directory `path` (names that are not UTF-8 are skipped: no target path
    /// has one); empty if it does not exist.
    pub fn list(&self, path: &str) -> io::Result<Vec<(String, FileType)>> {
        let Some(dir) = self.open_dir(path)? else {
            return Ok(Vec::new());
        };
        Ok(entries(&dir)?
            .into_iter()
            .filter_map(|(name, ty)| Some((name.into_string().ok()?, ty)))
            .collect())
    }

    /// Everything but directories below directory `path`, recursively, as full target paths,
    /// sorted. Links are listed (so that cleanups remove them) and never descended into.
    pub fn list_files(&self, path: &str) -> io::Result<Vec<String>> {
        let Some(dir) = self.open_dir(path)? else {
            return Ok(Vec::new());
        };
        fn walk(dir: &OwnedFd, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
            for (name, ty) in entries(dir)? {
                let Ok(name) = name.into_string() else {
                    continue;
                };
                let full = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}/{name}")
                };
                if ty == FileType::Directory {
                    match open_subdir(dir.as_fd(), &name) {
                        Ok(sub) => walk(&sub, &full, out)?,
                        Err(e) if is_absent(&e) => {}
                        Err(e) => return Err(e),
                    }
                } else {
                    out.push(full);
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        walk(&dir, &components(path)?.join("/"), &mut out)?;
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tempdir(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("lakegate-localfs-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn eloop(e: &io::Error) -> bool {
        e.raw_os_error() == Some(libc::ELOOP)
    }

    #[test]
    fn paths_are_checked() {
        assert_eq!(components("a/b/").unwrap(), ["a", "b"]);
        assert!(components("/").unwrap().is_empty());
        assert!(components("").unwrap().is_empty());
        for bad in ["/a", "a//b", "a/../b", "./a", "a/\0"] {
            assert!(components(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn links_below_the_root_are_never_followed() {
        let base = tempdir("links");
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("b/data")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), b"outside bytes").unwrap();
        symlink(&outside, root.join("b/data/dir")).unwrap();
        symlink(outside.join("secret"), root.join("b/data/file")).unwrap();
        let d = LocalDir::new(root.clone());

        // Reads through a link, or of a link, are refused.
        assert!(eloop(&d.open_read("b/data/file").unwrap_err()));
        assert!(eloop(&d.open_read("b/data/dir/secret").unwrap_err()));
        assert!(eloop(&d.list("b/data/dir").unwrap_err()));
        // Writes into a linked directory are refused; nothing lands outside.
        assert!(eloop(&d.create_new("b/data/dir/new").unwrap_err()));
        d.write_atomic("b/tmp/1", "b/data/x", b"x").unwrap();
        assert!(eloop(&d.rename("b/data/x", "b/data/dir/x").unwrap_err()));
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
        // A rename onto a linked file replaces the link.
        d.rename("b/data/x", "b/data/file").unwrap();
        assert_eq!(std::fs::read(root.join("b/data/file")).unwrap(), b"x");
        assert_eq!(
            std::fs::read(outside.join("secret")).unwrap(),
            b"outside bytes"
        );
        // Listings show links as files and do not descend into them; removal unlinks them.
        symlink(&outside, root.join("b/tmp/linked")).unwrap();
        assert_eq!(
            d.list_files("b/").unwrap(),
            ["b/data/dir", "b/data/file", "b/tmp/linked"]
        );
        assert!(d.exists("b/data/dir").unwrap());
        assert!(eloop(&d.exists("b/data/dir/secret").unwrap_err()));
        d.remove_all("b/tmp/").unwrap();
        d.remove_all("b/data/dir").unwrap();
        d.unlink("b/data/file").unwrap();
        assert!(!root.join("b/tmp").exists());
        assert!(std::fs::symlink_metadata(root.join("b/data/dir")).is_err());
        assert_eq!(
            std::fs::read(outside.join("secret")).unwrap(),
            b"outside bytes"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_component_walk_refuses_links_too() {
        let base = tempdir("walk");
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("f"), b"o").unwrap();
        symlink(&outside, root.join("a/dir")).unwrap();
        symlink(outside.join("f"), root.join("a/file")).unwrap();
        std::fs::write(root.join("a/plain"), b"p").unwrap();
        let r = rustix::fs::open(&root, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let rd = OFlags::RDONLY;
        assert!(eloop(
            &open_walk(r.as_fd(), &["a", "dir", "f"], rd, Mode::empty()).unwrap_err()
        ));
        assert!(eloop(
            &open_walk(r.as_fd(), &["a", "file"], rd, Mode::empty()).unwrap_err()
        ));
        assert!(eloop(
            &open_walk(
                r.as_fd(),
                &["a", "dir"],
                rd | OFlags::DIRECTORY,
                Mode::empty()
            )
            .unwrap_err()
        ));
        let mut s = String::new();
        File::from(open_walk(r.as_fd(), &["a", "plain"], rd, Mode::empty()).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "p");
        assert!(eloop(&mkdirs(r.as_fd(), &["a", "dir", "x"]).unwrap_err()));
        assert!(!outside.join("x").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn reads_refuse_fifos_and_missing_roots_read_as_empty() {
        let base = tempdir("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            base.join("p").as_path(),
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let d = LocalDir::new(base.clone());
        assert!(d.open_read("p").is_err());
        let missing = LocalDir::new(base.join("nope"));
        assert!(missing.list_files("b/").unwrap().is_empty());
        assert!(!missing.exists("b/x").unwrap());
        assert!(missing.read_all("b/x").unwrap().is_none());
        missing.remove_all("b/tmp/").unwrap();
        missing.unlink("b/x").unwrap();
        assert!(!base.join("nope").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
