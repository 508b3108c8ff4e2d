//! Binding files: which plugin serves which bucket, with which configuration and limits.
//!
//! A binding is a TOML file at the top level of the policies directory:
//!
//! ```toml
//! bucket = "bronze"
//! kind = "retention"            # retention | lifecycle | backup
//! plugin = "plugins/retention.wasm"   # relative to this file's directory, or an embedded
//!                               # plugin: "builtin:retention" | "builtin:lifecycle" | "builtin:backup"
//! [config]                      # handed to the plugin's configure() as JSON
//! mode = "GOVERNANCE"
//! days = 90
//! [backup]                      # backup bindings only: host-side settings (see
//! schedule = "0 0 2 * * *"      # `super::backup_settings`): cron (UTC), generations kept,
//! generations = 7               # event-driven incremental runs and their debounce
//! events = true
//! debounce_ms = 2000
//! [limits]                      # optional; unset fields keep the host's defaults
//! memory_bytes = 67108864       # or "64 MiB"
//! time_budget_ms = 100          # or time_budget = "100ms"
//! quarantine_after = 5
//! max_instances = 4
//! ```
//!
//! Only `*.toml` files directly in the directory are bindings; `*.suite.toml` files are snapshot
//! suites (see [`super::suite`]) and hidden files (`.name.toml`, editor and atomic-write
//! temporaries) are ignored, as is everything in subdirectories (e.g. `plugins/`).
//!
//! # Where a served plugin may live
//!
//! The gateway (the registry and the admin API) serves a binding only if its plugin is
//! `builtin:<name>` or a file inside the policies directory ([`check_plugin_path`],
//! [`read_plugin_file`]):
//!
//! - `plugin` is a relative path without `..` (refused without touching the file system, so a
//!   binding cannot probe which files exist elsewhere);
//! - its canonical path (symlinks resolved) lies under the canonical policies directory;
//! - it is a regular file (not a FIFO, device, socket or directory) of at most
//!   [`MAX_PLUGIN_BYTES`] (64 MiB);
//! - it is opened non-blocking and without following a final symlink, re-checked on the open
//!   file, and read through a `take(MAX_PLUGIN_BYTES + 1)`.
//!
//! Binding files themselves are read the same way (regular files of at most
//! [`MAX_BINDING_BYTES`]; symlinks such as Kubernetes ConfigMap mounts are followed). The
//! offline tools (`lakegate policy test` suites) keep reading plugins from any path, with the
//! same file-type and size checks.

use serde::Deserialize;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::backup_settings::BackupSettings;
use super::limits::Limits;
use super::types::PolicyKind;

/// The suffix of snapshot suite files, which live beside bindings but are not bindings.
pub const SUITE_SUFFIX: &str = ".suite.toml";

/// Largest plugin file a binding may name (and the admin API's plugin upload limit): 64 MiB.
pub const MAX_PLUGIN_BYTES: u64 = 64 * 1024 * 1024;

/// Largest binding file (and the admin API's binding upload limit): 1 MiB.
pub const MAX_BINDING_BYTES: u64 = 1024 * 1024;

/// One parsed binding file.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The binding file itself.
    pub file: PathBuf,
    pub bucket: String,
    pub kind: PolicyKind,
    /// `plugin` as written in the file.
    pub plugin_raw: String,
    /// The plugin path resolved against the binding file's directory (lexically normalized).
    pub plugin: PathBuf,
    /// `[config]` as JSON (an empty object when absent).
    pub config: serde_json::Value,
    pub limits: Limits,
    /// `[backup]` (backup bindings only; `None` when absent: the defaults apply).
    pub backup: Option<BackupSettings>,
}

impl Binding {
    /// The configuration document handed to the plugin's `configure`.
    pub fn config_json(&self) -> String {
        self.config.to_string()
    }
}

/// A binding file that could not be read or parsed: which file, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct BindingError {
    /// `file`, `file:line:column` or `file: field`.
    pub location: String,
    pub message: String,
}

impl BindingError {
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        BindingError {
            location: file.display().to_string(),
            message: message.into(),
        }
    }

    fn field(file: &Path, field: &str, message: impl Into<String>) -> Self {
        BindingError {
            location: format!("{}: {field}", file.display()),
            message: message.into(),
        }
    }

    /// An error at a byte offset of the file's text (reported as line:column).
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = line_col(text, offset);
        BindingError {
            location: format!("{}:{line}:{col}", file.display()),
            message: message.into(),
        }
    }

    /// A TOML syntax or shape error, located when the parser knows where.
    pub fn toml(file: &Path, text: &str, e: &toml::de::Error) -> Self {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => BindingError::at(file, text, span.start, message),
            None => BindingError::new(file, message),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit_once('\n')
        .map_or(before, |(_, l)| l)
        .chars()
        .count()
        + 1;
    (line, col)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    bucket: toml::Spanned<String>,
    kind: toml::Spanned<String>,
    plugin: toml::Spanned<String>,
    #[serde(default)]
    config: Option<toml::Table>,
    #[serde(default)]
    limits: Option<toml::Table>,
    #[serde(default)]
    backup: Option<toml::Spanned<toml::Table>>,
}

/// Applies a `[limits]` table onto the host's defaults. Accepts the host's field names
/// (`memory_bytes` as bytes or `"64 MiB"`, `time_budget` as ms or `"100ms"`, `quarantine_after`,
/// `max_instances`) and `time_budget_ms` (integer milliseconds).
pub fn parse_limits(file: &Path, table: Option<&toml::Table>) -> Result<Limits, BindingError> {
    let Some(table) = table else {
        return Ok(Limits::default());
    };
    let mut table = table.clone();
    if let Some(ms) = table.remove("time_budget_ms") {
        if table.contains_key("time_budget") {
            return Err(BindingError::field(
                file,
                "limits",
                "set either time_budget or time_budget_ms, not both",
            ));
        }
        if !matches!(ms, toml::Value::Integer(_)) {
            return Err(BindingError::field(
                file,
                "limits.time_budget_ms",
                "must be an integer number of milliseconds",
            ));
        }
        table.insert("time_budget".into(), ms);
    }
    let limits: Limits = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| BindingError::field(file, "limits", e.message().trim()))?;
    if limits.memory_bytes < 64 * 1024 {
        return Err(BindingError::field(
            file,
            "limits.memory_bytes",
            "must be at least 65536 (one WebAssembly page)",
        ));
    }
    if limits.time_budget.is_zero() {
        return Err(BindingError::field(
            file,
            "limits.time_budget_ms",
            "must be at least 1 ms",
        ));
    }
    if limits.max_instances == 0 {
        return Err(BindingError::field(
            file,
            "limits.max_instances",
            "must be at least 1",
        ));
    }
    Ok(limits)
}

/// Parses the text of binding file `file`.
pub fn parse(file: &Path, text: &str) -> Result<Binding, BindingError> {
    let raw: RawBinding = toml::from_str(text).map_err(|e| BindingError::toml(file, text, &e))?;
    let bucket = raw.bucket.get_ref().trim().to_string();
    if crate::store::check_bucket_name(&bucket).is_err() {
        return Err(BindingError::at(
            file,
            text,
            raw.bucket.span().start,
            format!("bucket: {bucket:?} is not a valid bucket name"),
        ));
    }
    let Some(kind) = PolicyKind::parse(raw.kind.get_ref().trim()) else {
        return Err(BindingError::at(
            file,
            text,
            raw.kind.span().start,
            format!(
                "kind: expected one of retention, lifecycle, backup; got {:?}",
                raw.kind.get_ref()
            ),
        ));
    };
    let plugin_raw = raw.plugin.get_ref().trim().to_string();
    if plugin_raw.is_empty() {
        return Err(BindingError::at(
            file,
            text,
            raw.plugin.span().start,
            "plugin: must name a .wasm component (a path relative to the binding file, or builtin:<name>)",
        ));
    }
    let config = match &raw.config {
        Some(t) => toml_to_json(&toml::Value::Table(t.clone())),
        None => serde_json::Value::Object(Default::default()),
    };
    let limits = parse_limits(file, raw.limits.as_ref())?;
    let backup = match &raw.backup {
        None => None,
        Some(t) if kind != PolicyKind::Backup => {
            return Err(BindingError::at(
                file,
                text,
                t.span().start,
                format!(
                    "backup: a [backup] table only applies to kind = \"backup\" bindings, not {kind}"
                ),
            ));
        }
        Some(t) => Some(
            BackupSettings::parse(t.get_ref())
                .map_err(|e| BindingError::field(file, e.field, e.message))?,
        ),
    };
    Ok(Binding {
        file: file.to_path_buf(),
        bucket,
        kind,
        plugin: if plugin_raw.starts_with(super::builtin::PREFIX) {
            PathBuf::from(&plugin_raw)
        } else {
            resolve_relative(file, &plugin_raw)
        },
        plugin_raw,
        config,
        limits,
        backup,
    })
}

/// Reads and parses binding file `file`.
pub fn load(file: &Path) -> Result<(Binding, String), BindingError> {
    let text = read_text(file).map_err(|e| BindingError::new(file, format!("cannot read: {e}")))?;
    Ok((parse(file, &text)?, text))
}

/// Reads a binding (or suite) file as UTF-8: a regular file (symlinks followed) of at most
/// [`MAX_BINDING_BYTES`], opened non-blocking so a FIFO never hangs the reader.
pub fn read_text(file: &Path) -> Result<String, FileError> {
    let bytes = read_regular(file, MAX_BINDING_BYTES, true)?;
    String::from_utf8(bytes)
        .map_err(|_| FileError::Io(std::io::Error::other("the file is not UTF-8 text")))
}

/// Why a binding or plugin file is not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// `plugin` is absolute or has a `..` component.
    #[error(
        "{0:?} is not allowed: a plugin must be builtin:<name> or a relative path inside the \
         policies directory, without `..`"
    )]
    NotRelative(String),
    /// The canonical path (symlinks resolved) is outside the policies directory.
    #[error("it resolves (through a symlink) to a file outside the policies directory")]
    Outside,
    /// A FIFO, a device, a socket, a directory.
    #[error("it is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl FileError {
    /// Whether the file (or a directory on its way) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

fn file_kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        "not a regular file"
    }
}

/// Reads a regular file of at most `limit` bytes without ever blocking on a FIFO or reading an
/// endless device: opened `O_NONBLOCK` (and `O_NOFOLLOW` if `!follow`), checked on the open
/// file, read through `take(limit + 1)`.
pub fn read_regular(path: &Path, limit: u64, follow: bool) -> Result<Vec<u8>, FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) && !follow {
                FileError::NotRegular("a symlink")
            } else {
                FileError::Io(e)
            }
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(file_kind(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(FileError::TooLarge {
            size: out.len() as u64,
            limit,
        });
    }
    Ok(out)
}

/// Checks a binding's `plugin` as written: `builtin:<name>`, or a relative path with no `..`
/// (no file system access).
pub fn check_plugin_path(plugin_raw: &str) -> Result<(), FileError> {
    if plugin_raw.starts_with(super::builtin::PREFIX) {
        return Ok(());
    }
    let relative = Path::new(plugin_raw)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !relative || plugin_raw.contains('\0') {
        return Err(FileError::NotRelative(plugin_raw.to_string()));
    }
    Ok(())
}

/// Checks, without opening it, that the plugin at `plugin` (already resolved against the
/// policies directory `dir`) is a regular file of at most [`MAX_PLUGIN_BYTES`] inside `dir`
/// once symlinks are resolved. Returns its canonical path.
pub fn check_plugin_file(dir: &Path, plugin: &Path) -> Result<PathBuf, FileError> {
    let canonical_dir = dir.canonicalize()?;
    let canonical = plugin.canonicalize()?;
    if !canonical.starts_with(&canonical_dir) || canonical == canonical_dir {
        return Err(FileError::Outside);
    }
    // `canonical` has no symlinks left: this is the file itself.
    let meta = std::fs::symlink_metadata(&canonical)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(file_kind(meta.file_type())));
    }
    if meta.len() > MAX_PLUGIN_BYTES {
        return Err(FileError::TooLarge {
            size: meta.len(),
            limit: MAX_PLUGIN_BYTES,
        });
    }
    Ok(canonical)
}

/// The bytes of a served binding's plugin: embedded for `builtin:<name>`, else the file, under
/// the rules of the module docs (inside `dir`, the policies directory; regular; capped).
/// Blocking: call it on a blocking thread, never while holding a lock others wait on.
pub fn read_plugin_file(
    dir: Option<&Path>,
    binding: &Binding,
) -> Result<std::borrow::Cow<'static, [u8]>, FileError> {
    check_plugin_path(&binding.plugin_raw)?;
    if super::builtin::marker_name(&binding.plugin).is_some() {
        return super::builtin::read_plugin(&binding.plugin).map_err(FileError::Io);
    }
    let dir = dir.ok_or(FileError::Outside)?;
    let canonical = check_plugin_file(dir, &binding.plugin)?;
    read_regular(&canonical, MAX_PLUGIN_BYTES, false).map(std::borrow::Cow::Owned)
}

/// `path` as written in `file` (relative paths are relative to the file's directory).
pub fn resolve_relative(file: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    };
    normalize_path_lexically(&joined)
}

/// Removes `.` and resolves `..` lexically (no file system access, symlinks not followed).
pub fn normalize_path_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped =
                    matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Whether a path names a binding file: `*.toml` but not `*.suite.toml`, not hidden.
pub fn is_binding_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.ends_with(".toml") && !name.ends_with(SUITE_SUFFIX) && !name.starts_with('.')
}

/// Whether a path names a snapshot suite file.
pub fn is_suite_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(SUITE_SUFFIX) && !n.starts_with('.'))
}

/// The binding files directly in `dir`, sorted by name. A missing directory has none.
pub fn scan(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        // `is_dir` follows symlinks (e.g. Kubernetes ConfigMap mounts). Anything else named like
        // a binding is listed, so that a FIFO or a device is reported as refused, not ignored.
        if is_binding_file(&path) && !path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Converts a TOML value to JSON. Datetimes become their RFC 3339 text.
pub fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Whether `name` is a safe file name for the admin API: `[A-Za-z0-9._-]+`, not starting with a
/// dot (no hidden files, no `.`/`..`).
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn p() -> &'static Path {
        Path::new("/pol/bronze.toml")
    }

    #[test]
    fn parses_a_full_binding() {
        let b = parse(
            p(),
            r#"
bucket = "bronze"
kind = "retention"
plugin = "../plugins/retention/retention.wasm"
[config]
mode = "GOVERNANCE"
days = 90
nested = { a = [1, 2.5, true], when = 2026-01-01T00:00:00Z }
[limits]
memory_bytes = 67108864
time_budget_ms = 100
"#,
        )
        .unwrap();
        assert_eq!(b.bucket, "bronze");
        assert_eq!(b.kind, PolicyKind::Retention);
        assert_eq!(b.plugin, PathBuf::from("/plugins/retention/retention.wasm"));
        assert_eq!(
            b.config,
            serde_json::json!({"mode": "GOVERNANCE", "days": 90,
                "nested": {"a": [1, 2.5, true], "when": "2026-01-01T00:00:00Z"}})
        );
        assert_eq!(b.limits.memory_bytes, 67108864);
        assert_eq!(b.limits.time_budget, Duration::from_millis(100));
    }

    #[test]
    fn defaults() {
        let b = parse(p(), "bucket='gold'\nkind='Lifecycle'\nplugin='x.wasm'\n").unwrap();
        assert_eq!(b.kind, PolicyKind::Lifecycle);
        assert_eq!(b.plugin, PathBuf::from("/pol/x.wasm"));
        assert_eq!(b.config_json(), "{}");
        assert_eq!(b.limits, Limits::default());
    }

    #[test]
    fn errors_name_file_and_field() {
        let e = parse(p(), "bucket='gold'\nkind='retentoin'\nplugin='x.wasm'\n").unwrap_err();
        assert_eq!(e.location, "/pol/bronze.toml:2:6");
        assert!(e.message.starts_with("kind: expected one of"), "{e}");

        let e = parse(p(), "bucket='gold'\nkind='backup'\n").unwrap_err();
        assert!(e.to_string().contains("missing field `plugin`"), "{e}");

        let e = parse(p(), "bucket='gold'\nkind='backup'\nplugin='a'\nkidn=1\n").unwrap_err();
        assert_eq!(e.location, "/pol/bronze.toml:4:1");
        assert!(e.message.contains("unknown field `kidn`"), "{e}");

        let e = parse(p(), "bucket='Gold!'\nkind='backup'\nplugin='a'\n").unwrap_err();
        assert!(e.message.starts_with("bucket:"), "{e}");

        let e = parse(
            p(),
            "bucket='gold'\nkind='backup'\nplugin='a'\n[limits]\ntime_budget_ms=0\n",
        )
        .unwrap_err();
        assert_eq!(e.location, "/pol/bronze.toml: limits.time_budget_ms");

        let e = parse(
            p(),
            "bucket='gold'\nkind='backup'\nplugin='a'\n[limits]\nmemory=1\n",
        )
        .unwrap_err();
        assert!(e.message.contains("unknown field `memory`"), "{e}");

        let e = parse(p(), "bucket = \n").unwrap_err();
        assert_eq!(e.location, "/pol/bronze.toml:1:10");
    }

    #[test]
    fn backup_settings() {
        let b = parse(
            p(),
            "bucket='gold'\nkind='backup'\nplugin='a'\n[backup]\nschedule='0 0 2 * * *'\ngenerations=3\n",
        )
        .unwrap();
        let s = b.backup.unwrap();
        assert_eq!(
            (s.schedule.as_deref(), s.generations),
            (Some("0 0 2 * * *"), 3)
        );
        let e = parse(
            p(),
            "bucket='gold'\nkind='retention'\nplugin='a'\n[backup]\ngenerations=3\n",
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("backup: a [backup] table only applies"),
            "{e}"
        );
        let e = parse(
            p(),
            "bucket='gold'\nkind='backup'\nplugin='a'\n[backup]\nschedule='nope'\n",
        )
        .unwrap_err();
        assert_eq!(e.location, "/pol/bronze.toml: backup.schedule");
    }

    #[test]
    fn file_classification() {
        assert!(is_binding_file(Path::new("/p/bronze.toml")));
        assert!(!is_binding_file(Path::new("/p/bronze.suite.toml")));
        assert!(is_suite_file(Path::new("/p/bronze.suite.toml")));
        assert!(!is_binding_file(Path::new("/p/.bronze.toml.tmp")));
        assert!(!is_binding_file(Path::new("/p/.bronze.toml")));
        assert!(!is_binding_file(Path::new("/p/bronze.toml~")));
        assert!(!is_binding_file(Path::new("/p/plugin.wasm")));
    }

    #[test]
    fn normalization() {
        assert_eq!(
            normalize_path_lexically(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(
            normalize_path_lexically(Path::new("/../a")),
            PathBuf::from("/a")
        );
        assert_eq!(
            normalize_path_lexically(Path::new("../a/../../b")),
            PathBuf::from("../../b")
        );
        assert_eq!(
            normalize_path_lexically(Path::new("a/..")),
            PathBuf::from(".")
        );
    }

    #[test]
    fn plugin_paths_must_stay_inside() {
        for ok in [
            "plugins/r.wasm",
            "r.wasm",
            "./plugins/r.wasm",
            "builtin:retention",
        ] {
            assert!(check_plugin_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "/etc/passwd",
            "/dev/zero",
            "../other/r.wasm",
            "plugins/../../etc/passwd",
            "plugins/..",
            "..",
        ] {
            let e = check_plugin_path(bad).unwrap_err();
            assert!(matches!(e, FileError::NotRelative(_)), "{bad}: {e}");
            assert!(e.to_string().contains("is not allowed"), "{e}");
        }
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("lakegate-bindings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(d.join("plugins")).unwrap();
        d
    }

    #[test]
    fn plugin_files_regular_capped_inside() {
        let root = tempdir();
        let dir = root.join("policies");
        std::fs::create_dir_all(dir.join("plugins")).unwrap();
        std::fs::write(dir.join("plugins/ok.wasm"), b"\0asm").unwrap();
        std::fs::write(root.join("outside.wasm"), b"\0asm").unwrap();
        std::os::unix::fs::symlink(root.join("outside.wasm"), dir.join("plugins/out.wasm"))
            .unwrap();
        std::os::unix::fs::symlink("ok.wasm", dir.join("plugins/in.wasm")).unwrap();
        let fifo = dir.join("plugins/fifo.wasm");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let big = std::fs::File::create(dir.join("plugins/big.wasm")).unwrap();
        big.set_len(MAX_PLUGIN_BYTES + 1).unwrap();

        let binding = |plugin: &str| {
            parse(
                &dir.join("b.toml"),
                &format!("bucket='bkt'\nkind='retention'\nplugin='{plugin}'\n"),
            )
            .unwrap()
        };
        let started = std::time::Instant::now();
        assert_eq!(
            &*read_plugin_file(Some(&dir), &binding("plugins/ok.wasm")).unwrap(),
            b"\0asm"
        );
        assert_eq!(
            &*read_plugin_file(Some(&dir), &binding("plugins/in.wasm")).unwrap(),
            b"\0asm"
        );
        let err = |p: &str| read_plugin_file(Some(&dir), &binding(p)).unwrap_err();
        assert!(matches!(err("plugins/out.wasm"), FileError::Outside));
        assert!(matches!(
            err("plugins/fifo.wasm"),
            FileError::NotRegular("a FIFO")
        ));
        assert!(matches!(
            err("plugins/big.wasm"),
            FileError::TooLarge { .. }
        ));
        assert!(matches!(
            err("plugins"),
            FileError::NotRegular("a directory")
        ));
        assert!(matches!(err("/dev/zero"), FileError::NotRelative(_)));
        assert!(err("plugins/missing.wasm").is_not_found());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));

        // The lower-level reader: a FIFO or a device never blocks, a size cap holds.
        assert!(matches!(
            read_regular(&fifo, 10, true),
            Err(FileError::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 10, true),
            Err(FileError::NotRegular("a character device"))
        ));
        assert!(matches!(
            read_regular(&dir.join("plugins/ok.wasm"), 3, true),
            Err(FileError::TooLarge { size: 4, limit: 3 })
        ));
        assert!(matches!(
            read_regular(&dir.join("plugins/in.wasm"), 10, false),
            Err(FileError::NotRegular("a symlink"))
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn safe_names() {
        for ok in ["retention", "a.b-c_d", "X1"] {
            assert!(is_safe_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a b", "ü"] {
            assert!(!is_safe_name(bad), "{bad}");
        }
    }
}
