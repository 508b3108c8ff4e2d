//! Where a binding's plugin may live: only `builtin:` or a regular file of at most 64 MiB inside
//! the policies directory. Bindings naming anything else (absolute paths, `..`, symlinks out of
//! the directory, FIFOs, devices, oversized files) are refused promptly, through the admin API
//! and from the watched directory alike, and never hold up the uploads and reloads behind them.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::TestServer;
use crate::harness::*;

/// 64 MiB, the documented cap (`bindings::MAX_PLUGIN_BYTES`).
const CAP: u64 = 64 * 1024 * 1024;

/// Anything that takes longer than this is "hanging".
const PROMPT: Duration = Duration::from_secs(10);

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

/// A sparse file one byte over the cap.
fn oversized(path: &Path) {
    std::fs::File::create(path)
        .unwrap()
        .set_len(CAP + 1)
        .unwrap();
}

/// `PUT /bindings/{file}` with a deadline: (status, JSON body, elapsed).
async fn put_binding(srv: &TestServer, file: &str, text: String) -> (u16, Value, Duration) {
    let started = Instant::now();
    let r = tokio::time::timeout(
        PROMPT,
        srv.raw("PUT", &format!("/lakegate/admin/v1/bindings/{file}"))
            .body(text)
            .send(),
    )
    .await
    .unwrap_or_else(|_| panic!("PUT {file} hung for {PROMPT:?}"));
    let v = serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("PUT {file}: not JSON ({e}): {}", r.text()));
    (r.status, v, started.elapsed())
}

/// Files outside the policies directory, and traps inside it.
struct Traps {
    _elsewhere: PolicyDir,
    /// The outside plugin, absolute and relative to the policies directory.
    outside_plugin: String,
    up_plugin: String,
}

fn set_traps(pol: &PolicyDir) -> Traps {
    let elsewhere = PolicyDir::new();
    elsewhere.install("fixed_retention", "shared.wasm");
    let outside = elsewhere.path("plugins/shared.wasm");
    // A symlink to a (valid) plugin outside, and a symlinked directory leading outside.
    symlink(&outside, pol.path("plugins/link.wasm")).unwrap();
    symlink(elsewhere.path("plugins"), pol.path("plugins/ext")).unwrap();
    mkfifo(&pol.path("plugins/fifo.wasm"));
    oversized(&pol.path("plugins/big.wasm"));
    Traps {
        outside_plugin: outside.to_str().unwrap().to_string(),
        up_plugin: format!(
            "../{}/plugins/shared.wasm",
            elsewhere.dir.file_name().unwrap().to_string_lossy()
        ),
        _elsewhere: elsewhere,
    }
}

/// (plugin as written in the binding, what the error says) for every refused location.
fn refused_cases(traps: &Traps) -> Vec<(String, &'static str)> {
    vec![
        (traps.outside_plugin.clone(), "is not allowed"),
        ("/etc/passwd".into(), "is not allowed"),
        ("/dev/zero".into(), "is not allowed"),
        (traps.up_plugin.clone(), "is not allowed"),
        ("plugins/../../x.wasm".into(), "is not allowed"),
        ("plugins/link.wasm".into(), "outside the policies directory"),
        (
            "plugins/ext/shared.wasm".into(),
            "outside the policies directory",
        ),
        ("plugins/fifo.wasm".into(), "a FIFO, not a regular file"),
        ("plugins/big.wasm".into(), "more than the limit of 67108864"),
        ("plugins".into(), "a directory, not a regular file"),
    ]
}

#[tokio::test]
async fn admin_refuses_plugins_outside_the_policies_dir() {
    let pol = PolicyDir::new();
    let traps = set_traps(&pol);
    let srv = start(&pol).await;
    lock_bucket(&srv, "paths").await;

    for (i, (plugin, why)) in refused_cases(&traps).into_iter().enumerate() {
        let file = format!("bad-{i}.toml");
        let (status, v, took) =
            put_binding(&srv, &file, retention_binding_text("paths", &plugin, 3)).await;
        assert_eq!(status, 400, "{plugin}: {v:#}");
        let err = v["error"].as_str().unwrap_or_default();
        assert!(
            err.contains(why) && err.contains(&file),
            "{plugin}: expected {why:?}: {err}"
        );
        // Nothing that reveals the target: no "no such file" for paths outside.
        assert!(!err.contains("No such file"), "{plugin}: {err}");
        assert!(took < Duration::from_secs(5), "{plugin}: took {took:?}");
        assert!(!pol.path(&file).exists(), "{plugin}: binding written");
        assert!(binding_status(&srv, &file).await.is_none(), "{plugin}");
    }

    // A later valid upload is not stuck behind anything.
    let wasm = fixture_bytes("fixed_retention");
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/plugins/ok.wasm")
        .body(wasm.clone())
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (status, v, took) = put_binding(
        &srv,
        "good.toml",
        retention_binding_text("paths", "plugins/ok.wasm", 6),
    )
    .await;
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(v["state"], "active", "{v:#}");
    assert_eq!(v["plugin_hash"], sha256_hex(&wasm));
    assert!(took < Duration::from_secs(5), "valid upload took {took:?}");
    let t = now_secs();
    srv.put("paths", "k", b"x".to_vec()).await;
    assert_days(&lock_of(&srv, "paths", "k").await, t, 6.0, "valid upload");

    // Symlinks that stay inside the directory are fine (e.g. a `current` alias).
    symlink("ok.wasm", pol.path("plugins/current.wasm")).unwrap();
    let (status, v, _) = put_binding(
        &srv,
        "good.toml",
        retention_binding_text("paths", "plugins/current.wasm", 7),
    )
    .await;
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(v["state"], "active", "{v:#}");

    // A binding to a plugin that is not there yet is still accepted (and reported failed).
    let (status, v, _) = put_binding(
        &srv,
        "later.toml",
        retention_binding_text("later", "plugins/later.wasm", 1),
    )
    .await;
    assert_eq!(status, 422, "{v:#}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot read plugin")),
        "{v:#}"
    );

    // The plugin cache of the server: a private directory of 0600 files.
    let cache = srv.data_dir.join("plugin-cache");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o700);
    let files: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert!(!files.is_empty(), "no cache files");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[tokio::test]
async fn watched_bindings_follow_the_same_rules() {
    let pol = PolicyDir::new();
    let traps = set_traps(&pol);
    let cases = refused_cases(&traps);
    for (i, (plugin, _)) in cases.iter().enumerate() {
        pol.retention_binding(&format!("bad-{i}.toml"), "watched", plugin, 3);
    }
    // A binding file that is itself a FIFO (a `*.toml` the scan skips, the watcher sees).
    mkfifo(&pol.path("fifo.toml"));
    let wasm = pol.install("fixed_retention", "ok.wasm");
    pol.retention_binding("good.toml", "watched", "plugins/ok.wasm", 4);
    let hash = sha256_hex(&wasm);

    // Startup loads every binding without hanging on any of them.
    let srv = tokio::time::timeout(PROMPT * 3, start(&pol))
        .await
        .expect("the server did not start: a binding hung the initial load");
    wait_active(&srv, "good.toml", 4, &hash).await;
    for (i, (plugin, why)) in cases.iter().enumerate() {
        let file = format!("bad-{i}.toml");
        let st = wait_for(&srv, &file, "a refused plugin", |s| s["state"] == "failed").await;
        let err = st["error"].as_str().unwrap();
        assert!(
            err.contains(why) && err.contains(&file),
            "{plugin}: expected {why:?}: {err}"
        );
        assert_eq!(st["serving"], false, "{plugin}: {st:#}");
    }

    let st = wait_for(&srv, "fifo.toml", "a FIFO binding refused", |s| {
        s["state"] == "failed"
    })
    .await;
    assert!(
        st["error"]
            .as_str()
            .unwrap()
            .contains("fifo.toml: cannot read: it is a FIFO, not a regular file"),
        "{st:#}"
    );

    // After start: a new FIFO binding file and a binding naming a FIFO plugin are refused...
    mkfifo(&pol.path("late-fifo.toml"));
    mkfifo(&pol.path("plugins/late.wasm"));
    pol.retention_binding("late.toml", "late", "plugins/late.wasm", 2);
    let st = wait_for(&srv, "late.toml", "a FIFO plugin refused", |s| {
        s["state"] == "failed"
    })
    .await;
    assert!(st["error"].as_str().unwrap().contains("a FIFO"), "{st:#}");
    let st = wait_for(&srv, "late-fifo.toml", "a FIFO binding refused", |s| {
        s["state"] == "failed"
    })
    .await;
    assert!(
        st["error"]
            .as_str()
            .unwrap()
            .contains("late-fifo.toml: cannot read: it is a FIFO"),
        "{st:#}"
    );
    // ... and the watcher keeps working: a change to the valid binding still lands.
    pol.retention_binding("good.toml", "watched", "plugins/ok.wasm", 9);
    wait_active(&srv, "good.toml", 9, &hash).await;
    lock_bucket(&srv, "watched").await;
    let t = now_secs();
    srv.put("watched", "k", b"x".to_vec()).await;
    assert_days(
        &lock_of(&srv, "watched", "k").await,
        t,
        9.0,
        "after the traps",
    );

    // The FIFO replaced by a real plugin: the binding loads.
    std::fs::remove_file(pol.path("plugins/late.wasm")).unwrap();
    pol.install("fixed_retention", "late.wasm");
    wait_active(&srv, "late.toml", 2, &hash).await;
}
