//! Restores: the acceptance scenario, a fresh gateway on an old target, corruption, the CLI.

use std::process::Command;

use crate::common::{TestServer, random_bytes, unique_bucket};
use crate::harness::PolicyDir;
use crate::util::*;

/// Fills a bucket with objects of every kind: inline, blob, multipart, metadata, tags.
async fn fill(srv: &TestServer, b: &str) {
    put_full(
        srv,
        b,
        "raw/a.json",
        br#"{"a":1}"#,
        "application/json",
        &[("origin", "s1")],
        &[("layer", "bronze"), ("pii", "no")],
    )
    .await;
    put_full(
        srv,
        b,
        "raw/b.bin",
        &random_bytes(300_000, 11),
        "application/octet-stream",
        &[("x", "y")],
        &[],
    )
    .await;
    put_full(
        srv,
        b,
        "raw/c.txt",
        b"third",
        "text/plain",
        &[],
        &[("t", "1")],
    )
    .await;
    put_multipart(
        srv,
        b,
        "tables/t.parquet",
        &[random_bytes(5 * MIB, 12), random_bytes(10_000, 13)],
    )
    .await;
}

#[tokio::test]
async fn restore_makes_the_bucket_equal_the_backup() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.versioned_bucket().await;
    bind(&srv, &policies, &b, true, "events = false").await;
    fill(&srv, &b).await;
    run_ok(&srv, &b).await;
    let backed_up = snapshot(&srv, &b).await;
    assert_eq!(backed_up.len(), 4);

    // Damage: delete, overwrite (bytes and metadata), retag, add.
    delete(&srv, &b, "raw/a.json").await;
    put_full(
        &srv,
        &b,
        "raw/b.bin",
        b"overwritten",
        "text/plain",
        &[],
        &[],
    )
    .await;
    set_tags(&srv, &b, "raw/c.txt", &[("t", "2")]).await;
    put_full(
        &srv,
        &b,
        "raw/new.txt",
        b"not in the backup",
        "text/plain",
        &[],
        &[],
    )
    .await;
    assert_ne!(snapshot(&srv, &b).await, backed_up);

    let job = restore(&srv, &b, None, None).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let r = &job["report"];
    // a (deleted), b (overwritten), c (retagged) restored; t unchanged; new deleted.
    assert_eq!(
        (
            r["restored"].as_u64(),
            r["unchanged"].as_u64(),
            r["deleted"].as_u64()
        ),
        (Some(3), Some(1), Some(1)),
        "{r:#}"
    );
    assert_eq!(snapshot(&srv, &b).await, backed_up);

    // A second restore changes nothing.
    let job = restore(&srv, &b, None, None).await;
    assert_eq!(job["report"]["restored"], 0, "{job:#}");
    assert_eq!(job["report"]["unchanged"], 4);

    // Into another bucket (created).
    let to = unique_bucket("copy");
    let job = restore(&srv, &b, Some(&to), None).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["report"]["created_bucket"], true);
    assert_eq!(snapshot(&srv, &to).await, backed_up);
}

#[tokio::test]
async fn a_prefix_restore_touches_only_that_prefix() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.versioned_bucket().await;
    bind(&srv, &policies, &b, true, "events = false").await;
    fill(&srv, &b).await;
    let generation = run_ok(&srv, &b).await["generation"].as_u64().unwrap();
    let backed_up = snapshot(&srv, &b).await;

    // Damage inside raw/ and outside it.
    delete(&srv, &b, "raw/a.json").await;
    put_full(&srv, &b, "raw/c.txt", b"changed", "text/plain", &[], &[]).await;
    put_full(
        &srv,
        &b,
        "raw/new.txt",
        b"not backed up",
        "text/plain",
        &[],
        &[],
    )
    .await;
    delete(&srv, &b, "tables/t.parquet").await;
    put_full(&srv, &b, "other.txt", b"outside", "text/plain", &[], &[]).await;

    let gen_text = generation.to_string();
    let (status, v) = admin(
        &srv,
        "POST",
        &format!("backup/{b}/restore"),
        &[("wait", "true"), ("prefix", "raw/"), ("at", &gen_text)],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let r = &v["job"]["report"];
    assert_eq!(r["prefix"], "raw/");
    // a and c restored, b unchanged, raw/new.txt deleted; nothing outside raw/ counted.
    assert_eq!(
        (
            r["entries"].as_u64(),
            r["restored"].as_u64(),
            r["unchanged"].as_u64(),
            r["deleted"].as_u64()
        ),
        (Some(3), Some(2), Some(1), Some(1)),
        "{r:#}"
    );
    let now = snapshot(&srv, &b).await;
    for k in ["raw/a.json", "raw/b.bin", "raw/c.txt"] {
        assert_eq!(now.get(k), backed_up.get(k), "{k}");
    }
    assert!(!now.contains_key("raw/new.txt"));
    // Outside the prefix: the deletion stays, the new key stays.
    assert!(!now.contains_key("tables/t.parquet"));
    assert_eq!(now["other.txt"].bytes, b"outside");
}

#[tokio::test]
async fn a_fresh_gateway_restores_a_target_written_by_another() {
    let target = TargetDir::new();
    let backed_up;
    let b;
    let key_file;
    {
        let policies = PolicyDir::new();
        let mut srv = start(&policies, &target).await;
        b = srv.bucket().await;
        bind(&srv, &policies, &b, false, "events = false").await;
        fill(&srv, &b).await;
        run_ok(&srv, &b).await;
        backed_up = snapshot(&srv, &b).await;
        srv.stop_graceful().await;
        key_file = std::fs::read(srv.data_dir.join("local.key")).unwrap();
    }
    // A new process, a new (empty) data directory, no bindings at all.
    let policies = PolicyDir::new();
    let mut srv = start(&policies, &target).await;
    // Without the old gateway's local.key, its manifests are refused, and nothing is created.
    let job = restore(&srv, &b, None, None).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    let msg = job["report"]["error_messages"][0].as_str().unwrap();
    assert!(
        msg.contains("is not authenticated by this gateway's key")
            && msg.contains("another local.key"),
        "{msg}"
    );
    assert_eq!(job["report"]["created_bucket"], false);
    assert!(srv.client().head_bucket().bucket(&b).send().await.is_err());
    // With it (copied into the data directory before a start), the restore works.
    srv.stop_graceful().await;
    let key_path = srv.data_dir.join("local.key");
    std::fs::write(&key_path, &key_file).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    srv.restart().await;
    let (status, v) = admin(&srv, "GET", "backup", &[]).await;
    assert_eq!(status, 200);
    assert!(
        v["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == b.as_str()),
        "{v}"
    );
    let job = restore(&srv, &b, None, None).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(job["report"]["created_bucket"], true);
    assert_eq!(snapshot(&srv, &b).await, backed_up);
}

#[tokio::test]
async fn a_corrupted_backup_file_is_detected_not_restored() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, false, "events = false").await;
    put_full(&srv, &b, "good", b"fine", "text/plain", &[], &[]).await;
    put_full(&srv, &b, "empty", b"", "text/plain", &[], &[]).await;
    let bad = random_bytes(200_000, 5);
    put_full(&srv, &b, "bad", &bad, "application/octet-stream", &[], &[]).await;
    run_ok(&srv, &b).await;
    // Flip one byte (same size).
    let file = target.path(&b, "data/bad");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[100_000] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();

    let to = unique_bucket("corrupt");
    let job = restore(&srv, &b, Some(&to), None).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    let r = &job["report"];
    assert_eq!(
        (r["restored"].as_u64(), r["errors"].as_u64()),
        (Some(2), Some(1)),
        "{r:#}"
    );
    assert_eq!(r["outcome"], "partial");
    let msg = r["error_messages"][0].as_str().unwrap();
    assert!(
        msg.contains("does not match its manifest") && msg.contains("bad"),
        "{msg}"
    );
    // Neither the file's size nor its hash is in the report.
    let report = r.to_string();
    assert!(
        !report.contains(&crate::common::sha256_hex(&bytes)) && !msg.contains("200000"),
        "{report}"
    );
    let snap = snapshot(&srv, &to).await;
    assert_eq!(
        snap.keys().collect::<Vec<_>>(),
        ["empty", "good"],
        "the corrupt object is not restored"
    );
}

#[tokio::test]
async fn cli_backup_run_restore_status() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, true, "events = false").await;
    fill(&srv, &b).await;
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lakegate"))
            .arg("backup")
            .args(args)
            .env("LAKEGATE_ENDPOINT", &srv.s3_url)
            .env("LAKEGATE_ROOT_USER", crate::common::ROOT_USER)
            .env("LAKEGATE_ROOT_PASSWORD", crate::common::ROOT_PASSWORD)
            .output()
            .expect("run lakegate backup");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = cli(&["run", "--bucket", &b]);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("generation 1 (new)") && out.contains("4 copied"),
        "{out}"
    );
    let (code, out, _) = cli(&["run", "--bucket", &b]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("(nothing changed)") && out.contains("0 copied"),
        "{out}"
    );

    delete(&srv, &b, "raw/c.txt").await;
    let to = unique_bucket("cli");
    let (code, out, err) = cli(&["restore", "--bucket", &b, "--to", &to]);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(out.contains("4 restored"), "{out}");
    assert_eq!(srv.get(&to, "raw/c.txt").await, b"third");

    let (code, _, err) = cli(&["restore", "--bucket", &b, "--at", "42"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("generation 42"), "{err}");
    let (code, _, err) = cli(&["run", "--bucket", "no-binding-here"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no active backup binding"), "{err}");

    let (code, out, _) = cli(&["status", "--bucket", &b]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("generations:") && out.contains("4 entries"),
        "{out}"
    );
}

#[tokio::test]
async fn restore_finds_bytes_displaced_by_an_interrupted_run() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, false, "events = false").await;
    put_full(&srv, &b, "k", b"generation one", "text/plain", &[], &[]).await;
    put_full(&srv, &b, "other", b"stays", "text/plain", &[], &[]).await;
    run_ok(&srv, &b).await;
    // A run that displaced data/k and died before putting the new copy in place.
    let displaced = target.path(&b, &format!(".lakegate/displaced/{:020}/k", 1));
    std::fs::create_dir_all(displaced.parent().unwrap()).unwrap();
    std::fs::rename(target.path(&b, "data/k"), &displaced).unwrap();

    let to = unique_bucket("crash");
    let job = restore(&srv, &b, Some(&to), None).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(srv.get(&to, "k").await, b"generation one");
    assert_eq!(srv.get(&to, "other").await, b"stays");

    // The next run after a changed source puts a new copy in place and keeps the displaced
    // bytes for generation 1.
    put_full(&srv, &b, "k", b"generation two", "text/plain", &[], &[]).await;
    let r = run_ok(&srv, &b).await;
    assert_eq!(r["copied"], 1, "{r:#}");
    assert_eq!(
        std::fs::read(target.path(&b, "data/k")).unwrap(),
        b"generation two"
    );
    assert_eq!(std::fs::read(&displaced).unwrap(), b"generation one");
    let job = restore(&srv, &b, Some(&to), Some(1)).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(srv.get(&to, "k").await, b"generation one");
}
