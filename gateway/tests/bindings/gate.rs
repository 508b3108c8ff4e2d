//! The reload gate (suites and a canary over the bucket's real objects), the automatic rollback
//! of a quarantined new version, and the preview route: a runtime-broken plugin never replaces a
//! working one.

use serde_json::Value;

use crate::common::TestServer;
use crate::harness::*;

/// A trapper binding (retention): panics deciding keys containing `boom`.
fn trapper_text(bucket: &str, plugin: &str, quarantine_after: u32) -> String {
    format!(
        "bucket = \"{bucket}\"\nkind = \"retention\"\nplugin = \"{plugin}\"\n\n[config]\nonly_keys_containing = \"boom\"\n\n[limits]\ntime_budget_ms = 1000\nquarantine_after = {quarantine_after}\n"
    )
}

async fn put_binding(srv: &TestServer, name: &str, text: &str) -> (u16, Value) {
    let r = srv
        .raw("PUT", &format!("/lakegate/admin/v1/bindings/{name}"))
        .body(text.to_string())
        .send()
        .await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

async fn scrape(srv: &TestServer) -> String {
    let r = srv
        .raw("GET", "/minio/v2/metrics/cluster")
        .anonymous()
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn start_public_metrics(pol: &PolicyDir) -> TestServer {
    TestServer::start_with_env(&[
        ("LAKEGATE_POLICIES", pol.dir.to_str().unwrap()),
        ("LAKEGATE_PROMETHEUS_AUTH_TYPE", "public"),
        ("LAKEGATE_LOG", "info,lakegate::policy=debug"),
    ])
    .await
}

#[tokio::test]
async fn the_canary_refuses_a_plugin_that_traps_on_the_buckets_objects() {
    let pol = PolicyDir::new();
    let good = pol.install("fixed_retention", "retention.wasm");
    let bad = pol.install("trapper", "trapper.wasm");
    pol.retention_binding("held.toml", "held", "plugins/retention.wasm", 7);
    let srv = start(&pol).await;
    let hash = sha256_hex(&good);
    wait_active(&srv, "held.toml", 7, &hash).await;
    lock_bucket(&srv, "held").await;
    for key in ["a.txt", "data/boom.txt", "z.txt"] {
        srv.put("held", key, b"x".to_vec()).await;
    }
    let before = std::fs::read_to_string(pol.path("held.toml")).unwrap();

    // Through the admin API: refused, the working version keeps serving, the file is restored.
    let (status, st) = put_binding(
        &srv,
        "held.toml",
        &trapper_text("held", "plugins/trapper.wasm", 5),
    )
    .await;
    assert_eq!(status, 422, "{st:#}");
    let err = st["error"].as_str().unwrap_or_default();
    assert!(err.contains("canary refused"), "{err}");
    assert!(
        err.contains("data/boom.txt"),
        "the failing key is named: {err}"
    );
    assert!(
        err.contains("trapper: deliberate panic"),
        "the panic message: {err}"
    );
    assert_eq!(st["plugin_hash"], hash.as_str(), "{st:#}");
    assert_eq!(st["refused_hash"], sha256_hex(&bad).as_str(), "{st:#}");
    assert_eq!(st["serving"], true);
    assert_eq!(st["gate"]["passed"], false, "{st:#}");
    assert_eq!(st["gate"]["canary"]["sampled"], 3, "{st:#}");
    assert_eq!(
        std::fs::read_to_string(pol.path("held.toml")).unwrap(),
        before,
        "the binding file describes what serves"
    );
    // The serving version still decides: 7 days of GOVERNANCE.
    let t = now_secs();
    srv.put("held", "after-refusal", b"x".to_vec()).await;
    let (mode, until, _) = lock_of(&srv, "held", "after-refusal").await;
    assert_eq!(mode.as_deref(), Some("GOVERNANCE"));
    assert!((until.unwrap() - t - 7.0 * DAY_SECS).abs() < 120.0);

    // Edited on disk: refused the same way (the file is left as the author wrote it).
    pol.write("held.toml", trapper_text("held", "plugins/trapper.wasm", 5));
    let st = wait_for(&srv, "held.toml", "a refused reload", |s| {
        s["error"]
            .as_str()
            .is_some_and(|e| e.contains("canary refused"))
    })
    .await;
    assert_eq!(st["plugin_hash"], hash.as_str(), "{st:#}");
    assert_eq!(st["state"], "failed");
}

#[tokio::test]
async fn a_quarantined_new_version_rolls_back_to_the_previous_one() {
    let pol = PolicyDir::new();
    let good = pol.install("fixed_retention", "retention.wasm");
    let bad = pol.install("trapper", "trapper.wasm");
    pol.retention_binding("held.toml", "held", "plugins/retention.wasm", 7);
    let srv = start_public_metrics(&pol).await;
    let (good_hash, bad_hash) = (sha256_hex(&good), sha256_hex(&bad));
    wait_active(&srv, "held.toml", 7, &good_hash).await;
    lock_bucket(&srv, "held").await;
    srv.put("held", "plain.txt", b"x".to_vec()).await;
    let good_text = std::fs::read_to_string(pol.path("held.toml")).unwrap();

    // The canary sees no `boom` key: the new version passes and serves.
    let (status, st) = put_binding(
        &srv,
        "held.toml",
        &trapper_text("held", "plugins/trapper.wasm", 2),
    )
    .await;
    assert_eq!(status, 200, "{st:#}");
    assert_eq!(st["plugin_hash"], bad_hash.as_str());
    assert_eq!(st["previous_hash"], good_hash.as_str(), "{st:#}");
    assert_eq!(st["gate"]["passed"], true, "{st:#}");

    // Two failing writes quarantine it; the previous version serves again.
    for key in ["boom-1", "boom-2"] {
        srv.put("held", key, b"x".to_vec()).await;
    }
    let st = wait_for(&srv, "held.toml", "a rollback", |s| {
        s["state"] == "rolled-back"
    })
    .await;
    assert_eq!(st["plugin_hash"], good_hash.as_str(), "{st:#}");
    assert_eq!(st["rolled_back"]["from"], bad_hash.as_str(), "{st:#}");
    assert_eq!(st["rolled_back"]["to"], good_hash.as_str(), "{st:#}");
    assert!(
        st["rolled_back"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("deliberate panic")),
        "{st:#}"
    );
    let t = now_secs();
    srv.put("held", "boom-3", b"x".to_vec()).await;
    let (mode, until, _) = lock_of(&srv, "held", "boom-3").await;
    assert_eq!(
        mode.as_deref(),
        Some("GOVERNANCE"),
        "the old version decides"
    );
    assert!((until.unwrap() - t - 7.0 * DAY_SECS).abs() < 120.0);
    // The file on disk is the working version's again (a restart serves it), and reloading
    // it is a no-op: still rolled back, same counters.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::read_to_string(pol.path("held.toml")).unwrap() != good_text {
        assert!(
            std::time::Instant::now() < deadline,
            "the binding file was not rewritten"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let st = binding_status(&srv, "held.toml").await.unwrap();
    assert_eq!(st["state"], "rolled-back", "{st:#}");
    assert_eq!(st["plugin_hash"], good_hash.as_str());
    // The log: the trap on an ERROR line with the plugin's panic message and the bucket, then
    // the rollback.
    let log = std::fs::read_to_string(srv.log_path()).unwrap();
    let trap = log
        .lines()
        .find(|l| l.contains("policy plugin trapped"))
        .unwrap_or_else(|| panic!("no trap line in:\n{log}"));
    assert!(
        trap.contains("ERROR")
            && trap.contains("deliberate panic deciding boom-1")
            && trap.contains("held"),
        "{trap}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("policy binding rolled back")),
        "{log}"
    );
    let m = scrape(&srv).await;
    assert_eq!(
        metric(&m, "lakegate_policy_rollbacks_total"),
        Some(1.0),
        "{m}"
    );
}

#[tokio::test]
async fn a_failing_suite_refuses_a_new_version_even_on_an_empty_bucket() {
    let pol = PolicyDir::new();
    let good = pol.install("fixed_retention", "retention.wasm");
    pol.install("trapper", "trapper.wasm");
    pol.retention_binding("held.toml", "held", "plugins/retention.wasm", 7);
    pol.write(
        "held.suite.toml",
        "binding = \"held.toml\"\nnow = \"2026-04-01T09:00:00Z\"\n\n[[objects]]\nkey = \"boom/x\"\nsize = 1\n",
    );
    let srv = start(&pol).await;
    let hash = sha256_hex(&good);
    wait_active(&srv, "held.toml", 7, &hash).await;
    let (status, st) = put_binding(
        &srv,
        "held.toml",
        &trapper_text("held", "plugins/trapper.wasm", 5),
    )
    .await;
    assert_eq!(status, 422, "{st:#}");
    let err = st["error"].as_str().unwrap_or_default();
    assert!(err.contains("suite held.suite.toml refused"), "{err}");
    assert_eq!(st["gate"]["suites"][0]["outcome"], "error", "{st:#}");
    assert_eq!(st["plugin_hash"], hash.as_str());
}

#[tokio::test]
async fn the_preview_compares_decisions_without_serving_the_candidate() {
    let pol = PolicyDir::new();
    let wasm = pol.install("age_lifecycle", "age.wasm");
    let text = |days: u32| {
        format!(
            "bucket = \"aging\"\nkind = \"lifecycle\"\nplugin = \"plugins/age.wasm\"\n\n[config]\ndays = {days}\n"
        )
    };
    pol.write("aging.toml", text(30));
    let srv = start(&pol).await;
    wait_for(&srv, "aging.toml", "active", |s| s["state"] == "active").await;
    srv.client()
        .create_bucket()
        .bucket("aging")
        .send()
        .await
        .unwrap();
    srv.put("aging", "old.txt", b"x".to_vec()).await;

    // In 10 days: 30 days keeps it, 5 days expires it.
    let at = (now_secs() * 1000.0) as i64 + 10 * 86_400_000;
    let r = srv
        .raw("POST", "/lakegate/admin/v1/policies/preview")
        .query("bucket", "aging")
        .query("at", &at.to_string())
        .body(text(5))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let p: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(p["serving"]["file"], "aging.toml", "{p:#}");
    assert_eq!(p["candidate"]["plugin_hash"], sha256_hex(&wasm).as_str());
    assert_eq!(p["gate"]["passed"], true, "{p:#}");
    assert_eq!(p["summary"]["evaluated"], 1, "{p:#}");
    assert_eq!(p["summary"]["changed"], 1, "{p:#}");
    assert_eq!(p["changes"][0]["key"], "old.txt");
    assert_eq!(p["changes"][0]["serving"], "keep");
    assert_eq!(p["changes"][0]["candidate"], "expire");
    // Nothing served: still 30 days.
    let st = binding_status(&srv, "aging.toml").await.unwrap();
    assert_eq!(st["config"]["days"], 30, "{st:#}");
    // A bucket parameter that is not the binding's: refused.
    let r = srv
        .raw("POST", "/lakegate/admin/v1/policies/preview")
        .query("bucket", "other")
        .body(text(5))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
}

#[tokio::test]
async fn a_quarantined_file_that_took_a_defaults_slot_rolls_back_to_the_default() {
    let pol = PolicyDir::new();
    let bad = pol.install("trapper", "trapper.wasm");
    let srv = TestServer::start_with_env(&[
        ("LAKEGATE_POLICIES", pol.dir.to_str().unwrap()),
        ("LAKEGATE_NO_DEFAULT_BINDINGS", "false"),
    ])
    .await;
    let default = wait_for(&srv, "default:bronze-retention.toml", "active", |s| {
        s["state"] == "active"
    })
    .await;
    let default_hash = default["plugin_hash"].as_str().unwrap().to_string();
    srv.put("bronze", "plain.txt", b"x".to_vec()).await;

    let (status, st) = put_binding(
        &srv,
        "bronze-mine.toml",
        &trapper_text("bronze", "plugins/trapper.wasm", 2),
    )
    .await;
    assert_eq!(status, 200, "{st:#}");
    assert_eq!(st["plugin_hash"], sha256_hex(&bad).as_str());
    assert_eq!(st["previous_hash"], default_hash.as_str(), "{st:#}");

    for key in ["boom-1", "boom-2"] {
        srv.put("bronze", key, b"x".to_vec()).await;
    }
    let st = wait_for(&srv, "bronze-mine.toml", "a rollback", |s| {
        s["state"] == "rolled-back"
    })
    .await;
    assert_eq!(st["plugin_hash"], default_hash.as_str(), "{st:#}");
    // The default's decisions again: bronze's default retention (GOVERNANCE).
    srv.put("bronze", "boom-3", b"x".to_vec()).await;
    let (mode, _, _) = lock_of(&srv, "bronze", "boom-3").await;
    assert_eq!(mode.as_deref(), Some("GOVERNANCE"));
    // The file now holds the default's text (builtin plugin): a restart serves it too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(pol.path("bronze-mine.toml")).unwrap();
        if text.contains("builtin:retention") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not rewritten: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
