//! An S3 backup target: a second lakegate server, reached through OpenDAL's S3 service.

use std::collections::BTreeSet;

use crate::common::{ROOT_PASSWORD, ROOT_USER, TestServer, random_bytes, unique_bucket};
use crate::harness::{self, PolicyDir};
use crate::util::*;

/// Keys in `bucket` of server `srv` under `prefix`.
async fn keys(srv: &TestServer, bucket: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut token = None;
    loop {
        let page = srv
            .client()
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        out.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_string),
        );
        match page.next_continuation_token() {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn backup_to_and_restore_from_another_s3_server() {
    let remote = TestServer::start().await;
    remote
        .client()
        .create_bucket()
        .bucket("backups")
        .send()
        .await
        .unwrap();
    let url = format!(
        "s3://backups/lab?endpoint={}&region=us-east-1",
        remote.s3_url
    );
    let policies = PolicyDir::new();
    let srv = TestServer::start_with_env(&[
        ("LAKEGATE_POLICIES", policies.dir.to_str().unwrap()),
        ("LAKEGATE_BACKUP_TARGET", &url),
        ("LAKEGATE_BACKUP_ACCESS_KEY", ROOT_USER),
        ("LAKEGATE_BACKUP_SECRET_KEY", ROOT_PASSWORD),
    ])
    .await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, true, "events = false\ngenerations = 3").await;
    let big = random_bytes(9 * MIB + 5, 21);
    put_full(
        &srv,
        &b,
        "a.txt",
        b"first",
        "text/plain",
        &[("k", "v")],
        &[("t", "1")],
    )
    .await;
    put_full(
        &srv,
        &b,
        "dir/big.bin",
        &big,
        "application/octet-stream",
        &[],
        &[],
    )
    .await;
    put_multipart(
        &srv,
        &b,
        "dir/mp.parquet",
        &[random_bytes(5 * MIB, 22), random_bytes(77, 23)],
    )
    .await;
    let backed_up = snapshot(&srv, &b).await;

    let r = run_ok(&srv, &b).await;
    assert_eq!(r["copied"], 3, "{r:#}");
    let stored = keys(&remote, "backups", &format!("lab/{b}/")).await;
    for k in [
        "data/a.txt",
        "data/dir/big.bin",
        "data/dir/mp.parquet",
        ".lakegate/target.json",
    ] {
        assert!(
            stored.contains(&format!("lab/{b}/{k}")),
            "{k} missing: {stored:?}"
        );
    }
    assert!(
        stored.contains(&format!("lab/{b}/.lakegate/generations/{:020}.jsonl", 1)),
        "{stored:?}"
    );
    assert_eq!(
        remote
            .get("backups", &format!("lab/{b}/data/dir/big.bin"))
            .await,
        big
    );
    // Nothing to copy again.
    let r = run_ok(&srv, &b).await;
    assert_eq!(r["copied"], 0, "{r:#}");

    // Overwrite and delete: generation 2 displaces the old bytes (server-side copies).
    put_full(&srv, &b, "a.txt", b"second", "text/plain", &[], &[]).await;
    delete(&srv, &b, "dir/big.bin").await;
    let r = run_ok(&srv, &b).await;
    assert_eq!(
        (r["copied"].as_u64(), r["deleted"].as_u64()),
        (Some(1), Some(1)),
        "{r:#}"
    );
    let stored = keys(&remote, "backups", &format!("lab/{b}/")).await;
    assert!(
        !stored.contains(&format!("lab/{b}/data/dir/big.bin")),
        "{stored:?}"
    );
    let displaced = format!("lab/{b}/.lakegate/displaced/{:020}/dir/big.bin", 1);
    assert!(stored.contains(&displaced), "{stored:?}");
    assert!(
        stored.iter().all(|k| !k.contains("/.lakegate/tmp/")),
        "{stored:?}"
    );

    // Generation 1, restored into a new bucket, is what was backed up.
    let to = unique_bucket("from-s3");
    let job = restore(&srv, &b, Some(&to), Some(1)).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(snapshot(&srv, &to).await, backed_up);

    let (_, st) = admin(&srv, "GET", &format!("backup/{b}"), &[]).await;
    assert!(
        st["target"]
            .as_str()
            .unwrap()
            .starts_with("s3://backups/lab"),
        "{st}"
    );
    assert!(
        !st.to_string().contains(ROOT_PASSWORD),
        "no credentials in the status"
    );
    let _ = harness::now_secs();
}

#[tokio::test]
async fn s3_targets_need_credentials() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args([
            "server",
            "--address",
            "127.0.0.1:0",
            "--console-address",
            "127.0.0.1:0",
        ])
        .arg(std::env::temp_dir().join(unique_bucket("nocreds")))
        .env(
            "LAKEGATE_BACKUP_TARGET",
            "s3://backups?endpoint=http://127.0.0.1:1",
        )
        .env_remove("LAKEGATE_BACKUP_ACCESS_KEY")
        .env_remove("LAKEGATE_BACKUP_SECRET_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LAKEGATE_BACKUP_ACCESS_KEY"), "{err}");
}
