//! The retention hook: PutObject, CopyObject and CompleteMultipartUpload consult the bucket's
//! retention binding.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, DefaultRetention, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockMode, ObjectLockRetentionMode, ObjectLockRule,
};

use crate::common::MIB;
use crate::harness::*;

#[tokio::test]
async fn retention_binding_applies_to_object_creating_writes() {
    let pol = PolicyDir::new();
    let wasm = pol.install("fixed_retention", "retention.wasm");
    pol.retention_binding("locked.toml", "locked", "plugins/retention.wasm", 30);
    let srv = start(&pol).await;
    let st = wait_active(&srv, "locked.toml", 30, &sha256_hex(&wasm)).await;
    assert_eq!(st["bucket"], "locked");
    assert_eq!(st["kind"], "retention");
    assert_eq!(st["plugin"], "plugins/retention.wasm");
    assert_eq!(st["serving"], true);
    lock_bucket(&srv, "locked").await;
    let c = srv.client();

    // PutObject.
    let t = now_secs();
    srv.put("locked", "raw/a.parquet", b"hello".to_vec()).await;
    assert_days(
        &lock_of(&srv, "locked", "raw/a.parquet").await,
        t,
        30.0,
        "put",
    );

    // Tags reach the plugin: legal_hold_tag = "legal" sets a legal hold.
    c.put_object()
        .bucket("locked")
        .key("raw/held")
        .tagging("legal=keep")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let l = lock_of(&srv, "locked", "raw/held").await;
    assert!(l.2, "legal hold from the plugin: {l:?}");

    // An explicit retention on the request wins over the plugin's.
    let until = aws_sdk_s3::primitives::DateTime::from_secs(now_secs() as i64 + 2 * 86_400);
    c.put_object()
        .bucket("locked")
        .key("raw/explicit")
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(until)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let l = lock_of(&srv, "locked", "raw/explicit").await;
    assert_eq!(l.1.map(|u| u as i64), Some(until.secs()), "{l:?}");

    // CopyObject.
    let t = now_secs();
    c.copy_object()
        .bucket("locked")
        .key("copied")
        .copy_source("locked/raw/a.parquet")
        .send()
        .await
        .unwrap();
    assert_days(&lock_of(&srv, "locked", "copied").await, t, 30.0, "copy");

    // CompleteMultipartUpload.
    let up = c
        .create_multipart_upload()
        .bucket("locked")
        .key("big.bin")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let mut parts = Vec::new();
    for (n, len) in [(1, 5 * MIB), (2, 1024)] {
        let p = c
            .upload_part()
            .bucket("locked")
            .key("big.bin")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(vec![b'x'; len]))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(p.e_tag().unwrap())
                .build(),
        );
    }
    let t = now_secs();
    c.complete_multipart_upload()
        .bucket("locked")
        .key("big.bin")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_days(
        &lock_of(&srv, "locked", "big.bin").await,
        t,
        30.0,
        "complete",
    );

    // Other buckets are not bound.
    let other = srv.lock_bucket().await;
    srv.put(&other, "k", b"x".to_vec()).await;
    assert_eq!(lock_of(&srv, &other, "k").await, (None, None, false));

    let st = binding_status(&srv, "locked.toml").await.unwrap();
    assert!(st["calls"].as_u64().unwrap() >= 5, "{st:#}");
    assert_eq!(st["failures"], 0);
}

#[tokio::test]
async fn bucket_default_is_a_floor_and_unlocked_buckets_are_skipped() {
    let pol = PolicyDir::new();
    let wasm = pol.install("fixed_retention", "retention.wasm");
    pol.retention_binding("floor.toml", "floor", "plugins/retention.wasm", 3);
    pol.retention_binding("plain.toml", "plain", "plugins/retention.wasm", 3);
    let srv = start(&pol).await;
    wait_active(&srv, "floor.toml", 3, &sha256_hex(&wasm)).await;
    wait_active(&srv, "plain.toml", 3, &sha256_hex(&wasm)).await;
    lock_bucket(&srv, "floor").await;
    srv.client()
        .put_object_lock_configuration()
        .bucket("floor")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(10)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The plugin says 3 days, the bucket default 10: the longer one applies.
    let t = now_secs();
    srv.put("floor", "k", b"x".to_vec()).await;
    assert_days(&lock_of(&srv, "floor", "k").await, t, 10.0, "floor");

    // A bucket without object lock: writes succeed, nothing is applied, the plugin is not
    // called.
    srv.client()
        .create_bucket()
        .bucket("plain")
        .send()
        .await
        .unwrap();
    srv.put("plain", "k", b"x".to_vec()).await;
    srv.put("plain", "k2", b"x".to_vec()).await;
    assert_eq!(lock_of(&srv, "plain", "k").await, (None, None, false));
    let st = binding_status(&srv, "plain.toml").await.unwrap();
    assert_eq!(st["calls"], 0, "{st:#}");
    let log = std::fs::read_to_string(srv.log_path()).unwrap();
    assert_eq!(
        log.matches("object lock is not enabled; its decisions cannot be applied")
            .count(),
        1,
        "warned once per binding"
    );
}

#[tokio::test]
async fn a_plugin_failing_on_the_write_path_never_fails_the_write() {
    // The trapper passes the load-time self-check and panics only for keys with "boom".
    let pol = PolicyDir::new();
    pol.install("trapper", "trapper.wasm");
    pol.write(
        "flaky.toml",
        "bucket = \"flaky\"\nkind = \"retention\"\nplugin = \"plugins/trapper.wasm\"\n\
         [config]\nonly_keys_containing = \"boom\"\n[limits]\nquarantine_after = 3\n",
    );
    let srv = start(&pol).await;
    wait_for(&srv, "flaky.toml", "active", |s| s["state"] == "active").await;
    lock_bucket(&srv, "flaky").await;
    // A bucket default of 5 days: the floor a failing plugin falls back to.
    srv.client()
        .put_object_lock_configuration()
        .bucket("flaky")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(5)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    srv.put("flaky", "fine", b"x".to_vec()).await;
    for i in 0..3 {
        let t = now_secs();
        // The write succeeds and gets the bucket default (never less).
        srv.put("flaky", &format!("boom-{i}"), b"x".to_vec()).await;
        assert_days(
            &lock_of(&srv, "flaky", &format!("boom-{i}")).await,
            t,
            5.0,
            "fallback",
        );
    }
    // Three consecutive failures: quarantined, visible, and writes still succeed.
    let st = wait_for(&srv, "flaky.toml", "quarantined", |s| {
        s["state"] == "quarantined"
    })
    .await;
    assert_eq!(st["failures"], 3, "{st:#}");
    assert!(
        st["last_call_error"]
            .as_str()
            .unwrap_or("")
            .contains("trap"),
        "{st:#}"
    );
    let t = now_secs();
    srv.put("flaky", "boom-after", b"x".to_vec()).await;
    srv.put("flaky", "fine-after", b"x".to_vec()).await;
    assert_days(
        &lock_of(&srv, "flaky", "boom-after").await,
        t,
        5.0,
        "quarantined",
    );
    let st = binding_status(&srv, "flaky.toml").await.unwrap();
    assert_eq!(
        st["calls"], 4,
        "quarantined calls do not reach the plugin: {st:#}"
    );
    assert!(st["rejected"].as_u64().unwrap() >= 2, "{st:#}");
}
