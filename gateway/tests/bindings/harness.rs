//! Policy test helpers: fixture plugins, a temporary policies directory, the admin API.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::common::{TestServer, unique_bucket};

pub const DAY_SECS: f64 = 86_400.0;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where the fixture plugins are built.
pub fn plugin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LAKEGATE_PLUGIN_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("wasm32-wasip2").join("release")
}

/// The path of a fixture plugin (`fixed_retention`, `bad_config`, ...), building the fixtures
/// once if it is missing.
pub fn fixture(name: &str) -> PathBuf {
    static BUILD: Mutex<bool> = Mutex::new(false);
    let path = plugin_dir().join(format!("{name}.wasm"));
    if path.exists() {
        return path;
    }
    let mut tried = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !path.exists() && !*tried {
        *tried = true;
        let script = workspace_root().join("tests/plugins/build.sh");
        let status = if script.exists() {
            Command::new("bash")
                .arg(&script)
                .current_dir(workspace_root())
                .status()
        } else {
            let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cmd.args(["build", "--release", "--target", "wasm32-wasip2"]);
            for p in [
                "fixed-retention",
                "age-lifecycle",
                "mirror-backup",
                "trapper",
                "bad-config",
            ] {
                cmd.args(["-p", p]);
            }
            cmd.current_dir(workspace_root()).status()
        };
        eprintln!("built the fixture plugins: {status:?}");
    }
    assert!(
        path.exists(),
        "fixture plugin {} is missing: run `bash tests/plugins/build.sh`",
        path.display()
    );
    path
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// A component with an extra custom section appended: the same behaviour, other bytes (another
/// hash), like a rebuilt plugin.
pub fn variant(wasm: &[u8], tag: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }
    let name = b"lakegate-test";
    let mut payload = Vec::new();
    leb(name.len(), &mut payload);
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    leb(payload.len(), &mut out);
    out.extend_from_slice(&payload);
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    crate::common::sha256_hex(data)
}

/// A temporary policies directory (removed on drop unless the test failed).
pub struct PolicyDir {
    pub dir: PathBuf,
}

impl PolicyDir {
    pub fn new() -> PolicyDir {
        let dir = std::env::temp_dir().join(unique_bucket("lakegate-policies"));
        std::fs::create_dir_all(dir.join("plugins")).unwrap();
        PolicyDir { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Writes a file atomically (temporary file + rename), as editors and deploy tools do.
    pub fn write(&self, rel: &str, data: impl AsRef<[u8]>) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_file_name(format!(
            ".{}.tmp",
            path.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&tmp, data).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    /// Overwrites a file in place (truncate + write).
    pub fn overwrite(&self, rel: &str, data: impl AsRef<[u8]>) {
        std::fs::write(self.path(rel), data).unwrap();
    }

    /// Copies fixture `name` to `plugins/<as_name>`.
    pub fn install(&self, name: &str, as_name: &str) -> Vec<u8> {
        let bytes = fixture_bytes(name);
        self.write(&format!("plugins/{as_name}"), &bytes);
        bytes
    }

    /// A retention binding `file` for `bucket` with the fixed-retention config.
    pub fn retention_binding(&self, file: &str, bucket: &str, plugin: &str, days: u32) {
        self.write(file, retention_binding_text(bucket, plugin, days));
    }
}

impl Drop for PolicyDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("policies dir kept: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn retention_binding_text(bucket: &str, plugin: &str, days: u32) -> String {
    format!(
        "bucket = \"{bucket}\"\nkind = \"retention\"\nplugin = \"{plugin}\"\n\n[config]\nmode = \"GOVERNANCE\"\ndays = {days}\nlegal_hold_tag = \"legal\"\n\n[limits]\ntime_budget_ms = 1000\n"
    )
}

/// Starts a server on `policies`.
pub async fn start(policies: &PolicyDir) -> TestServer {
    TestServer::start_with_env(&[
        ("LAKEGATE_POLICIES", policies.dir.to_str().unwrap()),
        ("RUST_LOG", "info"),
        ("LAKEGATE_LOG", "info,lakegate::policy=debug"),
    ])
    .await
}

/// Creates an object-lock bucket with this name.
pub async fn lock_bucket(srv: &TestServer, name: &str) {
    srv.client()
        .create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create lock bucket {name}: {e:?}"));
}

/// `GET /lakegate/admin/v1/policies` as root.
pub async fn policies(srv: &TestServer) -> Value {
    let r = srv.raw("GET", "/lakegate/admin/v1/policies").send().await;
    assert_eq!(r.status, 200, "admin list: {}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    serde_json::from_slice(&r.body).unwrap()
}

/// The status of binding `file` (None if not listed).
pub async fn binding_status(srv: &TestServer, file: &str) -> Option<Value> {
    policies(srv).await["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["file"] == file)
        .cloned()
}

/// Polls the admin API until binding `file` satisfies `pred` (10 s at most).
pub async fn wait_for(
    srv: &TestServer,
    file: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = binding_status(srv, file).await;
        if let Some(s) = &st
            && pred(s)
        {
            return s.clone();
        }
        if Instant::now() > deadline {
            panic!("binding {file}: timed out waiting for {what}; last status: {st:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until binding `file` is active with fixed-retention `days` and plugin `hash`.
pub async fn wait_active(srv: &TestServer, file: &str, days: u64, hash: &str) -> Value {
    wait_for(
        srv,
        file,
        &format!("active, days={days}, hash={hash}"),
        |s| s["state"] == "active" && s["config"]["days"] == days && s["plugin_hash"] == hash,
    )
    .await
}

pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The object lock of a key as (mode, retain-until in seconds, legal hold), from HeadObject.
pub async fn lock_of(
    srv: &TestServer,
    bucket: &str,
    key: &str,
) -> (Option<String>, Option<f64>, bool) {
    let h = srv
        .client()
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("head {bucket}/{key}: {e:?}"));
    (
        h.object_lock_mode().map(|m| m.as_str().to_string()),
        h.object_lock_retain_until_date()
            .map(|d| d.secs() as f64 + f64::from(d.subsec_nanos()) / 1e9),
        h.object_lock_legal_hold_status().map(|s| s.as_str()) == Some("ON"),
    )
}

/// Asserts `key` is retained GOVERNANCE for `days` days from `written` (seconds), ± 2 minutes.
#[track_caller]
pub fn assert_days(
    lock: &(Option<String>, Option<f64>, bool),
    written: f64,
    days: f64,
    what: &str,
) {
    assert_eq!(
        lock.0.as_deref(),
        Some("GOVERNANCE"),
        "{what}: mode; {lock:?}"
    );
    let until = lock
        .1
        .unwrap_or_else(|| panic!("{what}: no retain-until; {lock:?}"));
    let got = (until - written) / DAY_SECS;
    assert!(
        (got - days).abs() < 120.0 / DAY_SECS,
        "{what}: retained {got:.4} days, expected {days}"
    );
}
