//! Full runs: the target's layout and manifest, idempotence, generations and pruning.

use crate::common::{md5_hex, random_bytes, sha256_hex};
use crate::harness::PolicyDir;
use crate::util::*;

#[tokio::test]
async fn full_backup_layout_manifest_and_idempotence() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, true, "events = false\ngenerations = 3").await;

    let small = b"hello, backups".to_vec();
    let blob = random_bytes(MIB + 7, 1);
    let parts = vec![random_bytes(5 * MIB, 2), random_bytes(1000, 3)];
    put_full(
        &srv,
        &b,
        "raw/small.txt",
        &small,
        "text/plain",
        &[("origin", "sensor-7")],
        &[("layer", "bronze")],
    )
    .await;
    put_full(
        &srv,
        &b,
        "raw/blob.bin",
        &blob,
        "application/octet-stream",
        &[],
        &[],
    )
    .await;
    put_multipart(&srv, &b, "tables/part.parquet", &parts).await;

    let r = run_ok(&srv, &b).await;
    assert_eq!(
        (r["kind"].as_str(), r["trigger"].as_str()),
        (Some("full"), Some("manual"))
    );
    assert_eq!(
        (r["scanned"].as_u64(), r["copied"].as_u64()),
        (Some(3), Some(3)),
        "{r:#}"
    );
    assert_eq!(r["generation"], 1);
    assert_eq!(r["new_generation"], true);
    let total = small.len() + blob.len() + parts[0].len() + parts[1].len();
    assert_eq!(r["bytes_copied"].as_u64(), Some(total as u64));

    // The mirror holds the bytes under the keys.
    assert_eq!(
        std::fs::read(target.path(&b, "data/raw/small.txt")).unwrap(),
        small
    );
    assert_eq!(
        std::fs::read(target.path(&b, "data/raw/blob.bin")).unwrap(),
        blob
    );
    let whole = [parts[0].clone(), parts[1].clone()].concat();
    assert_eq!(
        std::fs::read(target.path(&b, "data/tables/part.parquet")).unwrap(),
        whole
    );
    // Self-describing, no temporaries or journals left.
    assert!(target.path(&b, ".lakegate/target.json").is_file());
    assert!(target.files(&b, ".lakegate/tmp").is_empty());
    assert!(target.files(&b, ".lakegate/journal").is_empty());
    assert_eq!(target.generations(&b), vec![1]);

    let (header, entries) = target.manifest(&b, 1);
    assert_eq!(header["generation"], 1);
    assert_eq!(header["entries"], 3);
    assert_eq!(header["bucket"], b.as_str());
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        ["raw/blob.bin", "raw/small.txt", "tables/part.parquet"]
    );
    let e = &entries["raw/small.txt"];
    assert_eq!(e["source_key"], "raw/small.txt");
    assert_eq!(e["etag"], md5_hex(&small));
    assert_eq!(e["md5"], md5_hex(&small));
    assert_eq!(e["sha256"], sha256_hex(&small));
    assert_eq!(e["size"], small.len());
    assert_eq!(e["content_type"], "text/plain");
    assert_eq!(e["cache_control"], "max-age=60");
    assert_eq!(e["user_metadata"]["origin"], "sensor-7");
    assert_eq!(e["tags"]["layer"], "bronze");
    assert_eq!(e["written_gen"], 1);
    let m = &entries["tables/part.parquet"];
    assert!(m["etag"].as_str().unwrap().ends_with("-2"), "{m}");
    assert_eq!(m["sha256"], sha256_hex(&whole));

    // Again: nothing to copy (multipart included), no new generation.
    let r = run_ok(&srv, &b).await;
    assert_eq!(
        (r["copied"].as_u64(), r["deleted"].as_u64()),
        (Some(0), Some(0)),
        "{r:#}"
    );
    assert_eq!(r["new_generation"], false);
    assert_eq!(r["generation"], 1);
    assert_eq!(target.generations(&b), vec![1]);

    // The status shows the binding, the last run and the generation.
    let (status, st) = admin(&srv, "GET", &format!("backup/{b}"), &[]).await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(st["binding"]["settings"]["generations"], 3);
    assert_eq!(st["last_run"]["outcome"], "ok");
    assert_eq!(st["generations"][0]["generation"], 1);
    assert_eq!(st["generations"][0]["entries"], 3);
    assert_eq!(st["generations"][0]["bytes"], total);

    // A change, a delete: copied and deleted (propagate_deletes), generation 2; the bytes the
    // overwrite and the delete displaced stay reachable for generation 1.
    put_full(
        &srv,
        &b,
        "raw/small.txt",
        b"changed",
        "text/plain",
        &[],
        &[],
    )
    .await;
    delete(&srv, &b, "raw/blob.bin").await;
    let r = run_ok(&srv, &b).await;
    assert_eq!(
        (r["copied"].as_u64(), r["deleted"].as_u64()),
        (Some(1), Some(1)),
        "{r:#}"
    );
    assert_eq!(r["generation"], 2);
    assert_eq!(
        std::fs::read(target.path(&b, "data/raw/small.txt")).unwrap(),
        b"changed"
    );
    assert!(!target.path(&b, "data/raw/blob.bin").exists());
    let displaced = format!(".lakegate/displaced/{:020}/raw/blob.bin", 1);
    assert_eq!(std::fs::read(target.path(&b, &displaced)).unwrap(), blob);
    let displaced = format!(".lakegate/displaced/{:020}/raw/small.txt", 1);
    assert_eq!(std::fs::read(target.path(&b, &displaced)).unwrap(), small);
    let (_, entries) = target.manifest(&b, 2);
    assert_eq!(entries["raw/small.txt"]["written_gen"], 2);
    assert_eq!(entries["tables/part.parquet"]["written_gen"], 1);
    assert!(!entries.contains_key("raw/blob.bin"));
}

#[tokio::test]
async fn generations_are_pruned_and_restorable() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, true, "events = false\ngenerations = 2").await;
    put_full(&srv, &b, "stable", b"same", "text/plain", &[], &[]).await;
    for round in 1..=4u8 {
        put_full(
            &srv,
            &b,
            "k",
            format!("v{round}").as_bytes(),
            "text/plain",
            &[],
            &[],
        )
        .await;
        let r = run_ok(&srv, &b).await;
        assert_eq!(r["generation"], round as u64);
    }
    // Two manifests kept; displaced bytes only for what they reference.
    assert_eq!(target.generations(&b), vec![3, 4]);
    let displaced = target.files(&b, ".lakegate/displaced");
    assert_eq!(displaced, vec![format!("{:020}/k", 3)], "{displaced:?}");

    // Generation 3 is still restorable (its "k" is displaced), generation 1 is gone.
    let to = crate::common::unique_bucket("at");
    let job = restore(&srv, &b, Some(&to), Some(3)).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(srv.get(&to, "k").await, b"v3");
    assert_eq!(srv.get(&to, "stable").await, b"same");
    let (status, v) = admin(
        &srv,
        "POST",
        &format!("backup/{b}/restore"),
        &[("at", "1"), ("wait", "true")],
    )
    .await;
    assert_eq!(status, 500, "{v}");
    let msg = v["job"]["report"]["error_messages"][0]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        msg.contains("generation 1") && msg.contains("3, 4"),
        "{msg}"
    );

    // generations = 0: a mirror only — one manifest, nothing displaced.
    bind(&srv, &policies, &b, true, "events = false\ngenerations = 0").await;
    for _ in 0..200 {
        let (_, st) = admin(&srv, "GET", &format!("backup/{b}"), &[]).await;
        if st["binding"]["settings"]["generations"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    put_full(&srv, &b, "k", b"v5", "text/plain", &[], &[]).await;
    let r = run_ok(&srv, &b).await;
    assert_eq!(r["generation"], 5);
    assert_eq!(target.generations(&b), vec![5]);
    assert!(target.files(&b, ".lakegate/displaced").is_empty());
    assert_eq!(std::fs::read(target.path(&b, "data/k")).unwrap(), b"v5");
}

#[tokio::test]
async fn refusals() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    // No binding: no run.
    let (status, v) = admin(&srv, "POST", &format!("backup/{b}/run"), &[]).await;
    assert_eq!(status, 404, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("no active backup binding"),
        "{v}"
    );
    // No backup: restore fails and says why.
    let job = restore(&srv, &b, None, None).await;
    assert_eq!(job["state"], "failed");
    assert!(
        job["report"]["error_messages"][0]
            .as_str()
            .unwrap()
            .contains("no backup"),
        "{job}"
    );
    // Bad input.
    let (status, _) = admin(&srv, "POST", &format!("backup/{b}/restore"), &[("at", "x")]).await;
    assert_eq!(status, 400);
    let (status, _) = admin(&srv, "GET", &format!("backup/{b}/run"), &[]).await;
    assert_eq!(status, 405);
    let (status, _) = admin(&srv, "GET", "jobs/999999", &[]).await;
    assert_eq!(status, 404);
    // Unsigned: refused.
    let r = srv
        .raw("GET", &format!("/lakegate/admin/v1/backup/{b}"))
        .anonymous()
        .send()
        .await;
    assert_eq!(r.status, 403);
    // A [backup] table on another kind is refused with a clear error.
    policies.write(
        "wrong.toml",
        format!("bucket = \"{b}\"\nkind = \"retention\"\nplugin = \"builtin:retention\"\n[backup]\ngenerations = 1\n"),
    );
    let st =
        crate::harness::wait_for(&srv, "wrong.toml", "failed", |s| s["state"] == "failed").await;
    assert!(
        st["error"]
            .as_str()
            .unwrap()
            .contains("only applies to kind = \"backup\""),
        "{st}"
    );
}
