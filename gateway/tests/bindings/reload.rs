//! Hot reload: bindings and plugins change under load, broken plugins never replace working
//! ones, deleted bindings unbind, conflicting bindings are refused visibly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::fmt_err;
use crate::harness::*;

struct Put {
    key: String,
    started: f64,
    finished: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_reload_under_load() {
    let pol = PolicyDir::new();
    let v1 = pol.install("fixed_retention", "retention.wasm");
    pol.retention_binding("load.toml", "load", "plugins/retention.wasm", 10);
    let srv = start(&pol).await;
    wait_active(&srv, "load.toml", 10, &sha256_hex(&v1)).await;
    lock_bucket(&srv, "load").await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8 {
        let client = srv.client().clone();
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut errors = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("c{c}/{n:05}");
                n += 1;
                let started = now_secs();
                match client
                    .put_object()
                    .bucket("load")
                    .key(&key)
                    .body(aws_sdk_s3::primitives::ByteStream::from_static(b"payload"))
                    .send()
                    .await
                {
                    Ok(_) => done.push(Put {
                        key,
                        started,
                        finished: now_secs(),
                    }),
                    Err(e) => errors.push(format!("{key}: {}", fmt_err(&e))),
                }
            }
            (done, errors)
        }));
    }

    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Swap 1: the binding changes (10 → 20 days), written atomically.
    let swap1 = now_secs();
    pol.retention_binding("load.toml", "load", "plugins/retention.wasm", 20);
    wait_active(&srv, "load.toml", 20, &sha256_hex(&v1)).await;
    let active1 = now_secs();

    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Swap 2: the plugin file is overwritten in place with a rebuilt plugin, and the binding
    // changes again (20 → 30 days).
    let swap2 = now_secs();
    let v2 = variant(&v1, "v2");
    pol.overwrite("plugins/retention.wasm", &v2);
    pol.retention_binding("load.toml", "load", "plugins/retention.wasm", 30);
    wait_active(&srv, "load.toml", 30, &sha256_hex(&v2)).await;
    let active2 = now_secs();

    tokio::time::sleep(Duration::from_millis(1200)).await;
    stop.store(true, Ordering::Relaxed);
    let mut puts = Vec::new();
    let mut errors = Vec::new();
    for c in clients {
        let (d, e) = c.await.unwrap();
        puts.extend(d);
        errors.extend(e);
    }
    assert!(
        errors.is_empty(),
        "failed requests under reload: {errors:#?}"
    );
    assert!(puts.len() > 50, "only {} PUTs", puts.len());

    // Each phase: PUTs entirely inside it carry its retention (sampled, up to 40 per phase).
    let phases = [
        (0.0, swap1, 10.0),
        (active1, swap2, 20.0),
        (active2, f64::MAX, 30.0),
    ];
    for (from, to, days) in phases {
        let inside: Vec<&Put> = puts
            .iter()
            .filter(|p| p.started >= from && p.finished <= to)
            .collect();
        assert!(
            !inside.is_empty(),
            "no PUT entirely within the {days}-day phase"
        );
        let step = inside.len().div_ceil(40);
        for p in inside.iter().step_by(step) {
            let l = lock_of(&srv, "load", &p.key).await;
            assert_days(&l, p.started, days, &p.key);
        }
    }
    let st = binding_status(&srv, "load.toml").await.unwrap();
    assert_eq!(st["failures"], 0, "{st:#}");
}

#[tokio::test]
async fn broken_plugins_never_replace_a_working_one() {
    let pol = PolicyDir::new();
    let good = pol.install("fixed_retention", "retention.wasm");
    pol.retention_binding("b.toml", "held", "plugins/retention.wasm", 7);
    let srv = start(&pol).await;
    let hash = sha256_hex(&good);
    wait_active(&srv, "b.toml", 7, &hash).await;
    lock_bucket(&srv, "held").await;

    // Garbage over the plugin file.
    pol.overwrite("plugins/retention.wasm", b"this is not wasm at all");
    let st = wait_for(&srv, "b.toml", "a failed reload", |s| {
        s["state"] == "failed"
    })
    .await;
    let err = st["error"].as_str().unwrap();
    assert!(err.contains("not a WebAssembly component"), "{err}");
    assert!(err.contains("b.toml"), "{err}");
    assert_eq!(st["serving"], true, "{st:#}");
    assert_eq!(
        st["plugin_hash"],
        hash.as_str(),
        "the old plugin keeps serving"
    );
    let t = now_secs();
    srv.put("held", "after-garbage", b"x".to_vec()).await;
    assert_days(
        &lock_of(&srv, "held", "after-garbage").await,
        t,
        7.0,
        "garbage",
    );

    // A plugin whose configure() rejects the configuration.
    pol.install("bad_config", "retention.wasm");
    let st = wait_for(&srv, "b.toml", "a configure error", |s| {
        s["error"]
            .as_str()
            .is_some_and(|e| e.contains("configuration rejected"))
    })
    .await;
    assert_eq!(st["state"], "failed");
    assert_eq!(st["plugin_hash"], hash.as_str(), "{st:#}");
    let t = now_secs();
    srv.put("held", "after-bad-config", b"x".to_vec()).await;
    assert_days(
        &lock_of(&srv, "held", "after-bad-config").await,
        t,
        7.0,
        "bad config",
    );

    // A binding that no longer parses.
    pol.write(
        "b.toml",
        "bucket = \"held\"\nkind = \"retension\"\nplugin = \"x.wasm\"\n",
    );
    let st = wait_for(&srv, "b.toml", "a parse error", |s| {
        s["error"]
            .as_str()
            .is_some_and(|e| e.contains("b.toml:2:8: kind: expected one of"))
    })
    .await;
    assert_eq!(st["serving"], true);

    // Fixing everything: active again, error cleared.
    pol.install("fixed_retention", "retention.wasm");
    pol.retention_binding("b.toml", "held", "plugins/retention.wasm", 8);
    let st = wait_active(&srv, "b.toml", 8, &hash).await;
    assert!(st["error"].is_null(), "{st:#}");
    let t = now_secs();
    srv.put("held", "fixed", b"x".to_vec()).await;
    assert_days(&lock_of(&srv, "held", "fixed").await, t, 8.0, "fixed");

    // Deleting the binding unbinds: only the bucket default (none) applies.
    std::fs::remove_file(pol.path("b.toml")).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while binding_status(&srv, "b.toml").await.is_some() {
        assert!(std::time::Instant::now() < deadline, "binding not removed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.put("held", "unbound", b"x".to_vec()).await;
    assert_eq!(lock_of(&srv, "held", "unbound").await, (None, None, false));
}

#[tokio::test]
async fn one_plugin_per_bucket_and_kind() {
    let pol = PolicyDir::new();
    let wasm = pol.install("fixed_retention", "retention.wasm");
    pol.retention_binding("a.toml", "dup", "plugins/retention.wasm", 1);
    pol.retention_binding("b.toml", "dup", "plugins/retention.wasm", 2);
    // Not bindings: a suite, a hidden file, a non-TOML file.
    pol.write(
        "dup.suite.toml",
        "binding = \"a.toml\"\nnow = \"2026-01-01\"\n",
    );
    pol.write(".hidden.toml", "garbage");
    pol.write("notes.txt", "garbage");
    let srv = start(&pol).await;
    let hash = sha256_hex(&wasm);
    wait_active(&srv, "a.toml", 1, &hash).await;
    let st = wait_for(&srv, "b.toml", "a conflict", |s| s["state"] == "failed").await;
    let err = st["error"].as_str().unwrap();
    assert!(
        err.contains("already has a retention binding (a.toml)"),
        "{err}"
    );
    assert_eq!(st["serving"], false);
    let all = policies(&srv).await;
    let files: Vec<&str> = all["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["a.toml", "b.toml"]);

    // Removing the first lets the second take the slot.
    std::fs::remove_file(pol.path("a.toml")).unwrap();
    wait_active(&srv, "b.toml", 2, &hash).await;
}

#[tokio::test]
async fn bindings_and_plugins_appear_after_start() {
    let pol = PolicyDir::new();
    let srv = start(&pol).await;
    assert_eq!(policies(&srv).await["bindings"], serde_json::json!([]));
    lock_bucket(&srv, "late").await;
    // The binding first (its plugin does not exist yet), then the plugin.
    pol.retention_binding("late.toml", "late", "plugins/late.wasm", 5);
    let st = wait_for(&srv, "late.toml", "a missing plugin", |s| {
        s["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot read plugin"))
    })
    .await;
    assert_eq!(st["serving"], false);
    let wasm = pol.install("fixed_retention", "late.wasm");
    wait_active(&srv, "late.toml", 5, &sha256_hex(&wasm)).await;
    let t = now_secs();
    srv.put("late", "k", b"x".to_vec()).await;
    assert_days(&lock_of(&srv, "late", "k").await, t, 5.0, "late");
}

/// Plugins outside the policies directory are not served (see `paths.rs` for every way of
/// naming one); the binding reports why and starts serving once it names a plugin inside.
#[tokio::test]
async fn plugins_outside_the_policies_dir_are_refused() {
    let pol = PolicyDir::new();
    let elsewhere = PolicyDir::new();
    let v1 = elsewhere.install("fixed_retention", "shared.wasm");
    let rel = format!(
        "../{}/plugins/shared.wasm",
        elsewhere.dir.file_name().unwrap().to_string_lossy()
    );
    pol.retention_binding("out.toml", "out", &rel, 4);
    let srv = start(&pol).await;
    let st = wait_for(&srv, "out.toml", "a refused plugin", |s| {
        s["state"] == "failed"
    })
    .await;
    assert!(
        st["error"].as_str().unwrap().contains("is not allowed"),
        "{st:#}"
    );
    assert_eq!(st["serving"], false);
    pol.write("plugins/shared.wasm", &v1);
    pol.retention_binding("out.toml", "out", "plugins/shared.wasm", 4);
    wait_active(&srv, "out.toml", 4, &sha256_hex(&v1)).await;
}

/// Kubernetes mounts a ConfigMap as symlinks (`bronze.toml -> ..data/bronze.toml`,
/// `..data -> ..<timestamp>/`) and updates it by swapping the `..data` symlink.
#[cfg(unix)]
#[tokio::test]
async fn configmap_style_symlink_swaps_reload() {
    use std::os::unix::fs::symlink;
    let pol = PolicyDir::new();
    let wasm = pol.install("fixed_retention", "retention.wasm");
    let gen1 = pol.path("..2026_01_01_gen1");
    std::fs::create_dir_all(&gen1).unwrap();
    std::fs::write(
        gen1.join("cm.toml"),
        retention_binding_text("cmap", "plugins/retention.wasm", 11),
    )
    .unwrap();
    symlink("..2026_01_01_gen1", pol.path("..data")).unwrap();
    symlink("..data/cm.toml", pol.path("cm.toml")).unwrap();
    let srv = start(&pol).await;
    wait_active(&srv, "cm.toml", 11, &sha256_hex(&wasm)).await;

    let gen2 = pol.path("..2026_01_02_gen2");
    std::fs::create_dir_all(&gen2).unwrap();
    std::fs::write(
        gen2.join("cm.toml"),
        retention_binding_text("cmap", "plugins/retention.wasm", 22),
    )
    .unwrap();
    symlink("..2026_01_02_gen2", pol.path("..data_tmp")).unwrap();
    std::fs::rename(pol.path("..data_tmp"), pol.path("..data")).unwrap();
    wait_active(&srv, "cm.toml", 22, &sha256_hex(&wasm)).await;
}
