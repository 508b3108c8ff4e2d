//! Shared helpers: fixture components, a shared engine, synthetic objects, log capture.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use lakegate::policy::{Limits, LoadOptions, ObjectVersion, PolicyEngine, PolicyUpload};

/// The `now` of most tests: 2025-06-15T15:06:40Z.
pub const NOW: i64 = 1_750_000_000_000;
pub const DAY: i64 = 86_400_000;

/// `target/wasm32-wasip2/release` of the workspace, or `$LAKEGATE_FIXTURES` if set.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("LAKEGATE_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release"),
    }
}

/// The bytes of fixture `name` (e.g. `fixed_retention`).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "fixture plugin {} is missing ({e}): build the fixtures first with \
             `bash tests/plugins/build.sh` from the repository root",
            path.display()
        )
    })
}

/// One engine shared by the tests that do not look at the compilation cache, so each fixture
/// is compiled once per test run.
pub fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| PolicyEngine::new(None).expect("policy engine"))
}

/// Limits for functional tests: a budget generous enough that a CPU-starved test machine
/// (parallel tests, builds) does not turn a slow call into `OutOfBudget`. Tests about budgets
/// set their own.
pub fn limits() -> Limits {
    Limits {
        time_budget: Duration::from_secs(1),
        ..Limits::default()
    }
}

pub fn unchecked() -> LoadOptions {
    LoadOptions {
        self_check: false,
        ..LoadOptions::default()
    }
}

pub fn object(bucket: &str, key: &str) -> ObjectVersion {
    ObjectVersion {
        bucket: bucket.into(),
        key: key.into(),
        version_id: format!("{:032x}", key.len() as u128 * 7919),
        size: 4096,
        etag: "9e107d9d372bb6826bd81d3542a419d6".into(),
        content_type: Some("application/octet-stream".into()),
        last_modified: NOW - DAY,
        is_latest: true,
        storage_class: "STANDARD".into(),
        ..Default::default()
    }
}

pub fn upload(bucket: &str, key: &str, initiated: i64) -> PolicyUpload {
    PolicyUpload {
        bucket: bucket.into(),
        key: key.into(),
        upload_id: format!("upload-{key}"),
        initiated,
    }
}

/// A per-thread temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("lakegate-policy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a tracing subscriber (on this thread) that records every event; returns the
/// result and the log text. Plugin calls run on the calling thread, so their logs land here.
pub fn capture_logs<R>(f: impl FnOnce() -> R) -> (R, String) {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let r = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    (r, text)
}
