//! Defaults that do not depend on the working directory: a server started with its defaults
//! keeps everything it writes (backups included) inside its data directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{ROOT_PASSWORD, ROOT_USER, make_client, unique_bucket};
use crate::harness::PolicyDir;

/// `lakegate server` run in a working directory of its own, killed on drop.
struct Spawned {
    child: Child,
    s3_url: String,
    log: PathBuf,
}

impl Spawned {
    /// Starts `lakegate server ARGS` in `cwd` (with none of the server's `LAKEGATE_*` settings
    /// from the environment), its log in `log`; waits for the ready line.
    fn start(cwd: &Path, log: &Path, args: &[&str]) -> Spawned {
        let log_file = std::fs::File::create(log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lakegate"));
        cmd.current_dir(cwd)
            .arg("server")
            .args([
                "--address",
                "127.0.0.1:0",
                "--console-address",
                "127.0.0.1:0",
            ])
            .args(args)
            .env("LAKEGATE_ROOT_USER", ROOT_USER)
            .env("LAKEGATE_ROOT_PASSWORD", ROOT_PASSWORD)
            .env("LAKEGATE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        for var in [
            "LAKEGATE_DATA_DIR",
            "LAKEGATE_POLICIES",
            "LAKEGATE_BACKUP_TARGET",
            "LAKEGATE_NO_DEFAULT_BINDINGS",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().expect("spawn lakegate");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line
                    .split_whitespace()
                    .find_map(|part| part.strip_prefix("s3="))
                {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let s3_url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "no ready line; log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            });
        Spawned {
            child,
            s3_url,
            log: log.to_path_buf(),
        }
    }

    /// Runs `lakegate ARGS` against this server (as root); returns its exit status and output.
    fn client(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_lakegate"))
            .args(args)
            .args(["--endpoint", &self.s3_url])
            .env("LAKEGATE_ROOT_USER", ROOT_USER)
            .env("LAKEGATE_ROOT_PASSWORD", ROOT_PASSWORD)
            .output()
            .expect("run lakegate");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// SIGTERM; waits for a clean exit.
    fn stop(mut self) {
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit status {status}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_bucket(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_defaults_writes_only_its_data_directory() {
    let cwd = temp_dir("lakegate-cwd");
    let log = cwd.with_extension("log");
    // A backup binding for bronze, from a policies directory outside the working directory.
    let policies = PolicyDir::new();
    policies.write(
        "bronze-backup.toml",
        "bucket = \"bronze\"\nkind = \"backup\"\nplugin = \"builtin:backup\"\n\
         [backup]\nevents = false\n",
    );
    let srv = Spawned::start(&cwd, &log, &["--policies", policies.dir.to_str().unwrap()]);
    let s3 = make_client(&srv.s3_url, ROOT_USER, ROOT_PASSWORD);
    s3.put_object()
        .bucket("bronze")
        .key("raw/a.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    let (ok, out) = srv.client(&["backup", "run", "--bucket", "bronze"]);
    assert!(ok, "{out}\n{}", srv.log());
    let log_text = srv.log();
    srv.stop();
    // The data directory (default ./data) holds the backups (default DATA_DIR/backups) ...
    let backups = cwd.join("data/backups/bronze");
    assert!(backups.is_dir(), "{:?}", entries(&cwd.join("data")));
    // ... and beside it, the generated master key for the default buckets' encryption, readable
    // by its owner only, announced in the log; nothing else appeared in the working directory.
    assert_eq!(entries(&cwd), ["data", "data.kms-key"]);
    let mode = std::fs::metadata(cwd.join("data.kms-key"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    assert!(log_text.contains("BACK IT UP"), "{log_text}");
    let _ = std::fs::remove_dir_all(&cwd);
    let _ = std::fs::remove_file(&log);
}

/// The days between now and a retain-until date.
fn days_from_now(until: &aws_sdk_s3::primitives::DateTime) -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    (until.as_secs_f64() - now) / 86_400.0
}

/// Puts `key` in bronze and answers its retention: (mode, days from now).
async fn put_and_read_retention(
    s3: &aws_sdk_s3::Client,
    key: &str,
) -> (Option<String>, Option<f64>) {
    s3.put_object()
        .bucket("bronze")
        .key(key)
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let head = s3
        .head_object()
        .bucket("bronze")
        .key(key)
        .send()
        .await
        .unwrap();
    (
        head.object_lock_mode().map(|m| m.as_str().to_string()),
        head.object_lock_retain_until_date().map(days_from_now),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_bindings_serve_wherever_the_server_starts() {
    // A working directory with no `policies/`: the bindings built into the binary serve.
    let cwd = temp_dir("lakegate-cwd");
    let log = cwd.with_extension("log");
    let srv = Spawned::start(&cwd, &log, &[]);
    let s3 = make_client(&srv.s3_url, ROOT_USER, ROOT_PASSWORD);
    let (mode, days) = put_and_read_retention(&s3, "raw/a.json").await;
    assert_eq!(mode.as_deref(), Some("GOVERNANCE"));
    let days = days.unwrap();
    assert!((89.9..90.1).contains(&days), "{days}");
    // The start log names the binding serving each bucket.
    let text = srv.log();
    for bucket in ["bronze", "silver", "gold"] {
        let line = text
            .lines()
            .find(|l| l.contains("policies serving") && l.contains(&format!("bucket={bucket}")))
            .unwrap_or_else(|| panic!("no serving line for {bucket}:\n{text}"));
        for kind in ["retention", "lifecycle", "backup"] {
            assert!(
                line.contains(&format!("{kind}=default:{bucket}-{kind}.toml")),
                "{line}"
            );
        }
    }
    assert!(
        text.lines().any(|l| l.contains("policies serving")
            && l.contains("bucket=mlflow")
            && l.contains("retention=default:mlflow-retention.toml")),
        "{text}"
    );
    srv.stop();
    let _ = std::fs::remove_dir_all(&cwd);
    let _ = std::fs::remove_file(&log);
}

const SHORT_BRONZE_RETENTION: &str = "bucket = \"bronze\"\nkind = \"retention\"\n\
    plugin = \"builtin:retention\"\n\n[config]\ndefault = { mode = \"GOVERNANCE\", days = 1 }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policies_directory_file_overrides_a_default_until_it_is_removed() {
    let policies = PolicyDir::new();
    policies.write("my-bronze.toml", SHORT_BRONZE_RETENTION);
    let srv = crate::common::TestServer::start_with_env(&[
        ("LAKEGATE_POLICIES", policies.dir.to_str().unwrap()),
        ("LAKEGATE_NO_DEFAULT_BINDINGS", "false"),
    ])
    .await;
    let mine =
        crate::harness::wait_for(&srv, "my-bronze.toml", "active", |s| s["state"] == "active")
            .await;
    assert_eq!(mine["bucket"], "bronze");
    let default = crate::harness::binding_status(&srv, "default:bronze-retention.toml")
        .await
        .expect("the default is listed");
    assert_eq!(default["state"], "overridden", "{default:#}");
    assert_eq!(default["overridden_by"], "my-bronze.toml", "{default:#}");
    assert_eq!(default["serving"], false, "{default:#}");
    // The other defaults serve as shipped.
    let silver = crate::harness::binding_status(&srv, "default:silver-retention.toml")
        .await
        .unwrap();
    assert_eq!(silver["state"], "active", "{silver:#}");

    let (mode, days) = put_and_read_retention(srv.client(), "raw/short.json").await;
    assert_eq!(mode.as_deref(), Some("GOVERNANCE"));
    let days = days.unwrap();
    assert!(
        (0.9..1.1).contains(&days),
        "the file's 1 day, not the default's 90: {days}"
    );

    // Removing the file brings the default back.
    let r = srv
        .raw("DELETE", "/lakegate/admin/v1/bindings/my-bronze.toml")
        .send()
        .await;
    assert!(r.status < 300, "{} {}", r.status, r.text());
    crate::harness::wait_for(&srv, "default:bronze-retention.toml", "active again", |s| {
        s["state"] == "active" && s["serving"] == true
    })
    .await;
    let (_, days) = put_and_read_retention(srv.client(), "raw/long.json").await;
    let days = days.unwrap();
    assert!((89.9..90.1).contains(&days), "{days}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_default_bindings_serves_only_the_policies_directory() {
    let policies = PolicyDir::new();
    let srv = crate::common::TestServer::start_with_env(&[
        ("LAKEGATE_POLICIES", policies.dir.to_str().unwrap()),
        ("LAKEGATE_NO_DEFAULT_BINDINGS", "true"),
    ])
    .await;
    let list = crate::harness::policies(&srv).await;
    assert_eq!(list["bindings"], serde_json::json!([]), "{list:#}");
    let (mode, days) = put_and_read_retention(srv.client(), "raw/free.json").await;
    assert_eq!((mode, days), (None, None));
}
