//! Storage faults: a full data directory (a small tmpfs mounted over the data dir; skipped when
//! mounting is not permitted) and injected metadata commit failures (`LAKEGATE_TEST_FAULTS`).
//! Writes refused for lack of space answer `XMinioStorageFull` (507); deletes still work and
//! bring writes back; `/minio/health/cluster` (write health) follows while `/minio/health/ready`
//! and `/minio/health/cluster/read` stay 200; every acknowledged object stays intact.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::common::*;

const MIB: usize = 1024 * 1024;

/// An acknowledged object: where it is and what it holds.
struct Acked {
    bucket: String,
    key: String,
    version_id: Option<String>,
    data: Vec<u8>,
}

/// `/minio/health/cluster`: 200 while writes can succeed.
async fn ready_status(s: &TestServer) -> u16 {
    health(s, "cluster").await
}

/// The status of `/minio/health/<check>`.
async fn health(s: &TestServer, check: &str) -> u16 {
    let (check, query) = check.split_once('?').unwrap_or((check, ""));
    let mut req = s.raw("GET", &format!("/minio/health/{check}")).anonymous();
    if let Some((k, v)) = query.split_once('=') {
        req = req.query(k, v);
    }
    req.send().await.status
}

/// Polls `/minio/health/cluster` until it answers `want` (panics after `timeout`).
async fn wait_ready(s: &TestServer, want: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = ready_status(s).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/minio/health/cluster stayed {got}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn put_raw(s: &TestServer, bucket: &str, key: &str, data: &[u8]) -> RawResponse {
    s.raw_object("PUT", bucket, key)
        .body(data.to_vec())
        .send()
        .await
}

async fn check_all(s: &TestServer, acked: &[Acked]) {
    for a in acked {
        let mut req = s.client().get_object().bucket(&a.bucket).key(&a.key);
        if let Some(v) = &a.version_id {
            req = req.version_id(v);
        }
        let out = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {}/{}: {}", a.bucket, a.key, fmt_err(&e)));
        let body = out.body.collect().await.unwrap().into_bytes();
        assert!(
            body.as_ref() == a.data.as_slice(),
            "{}/{} changed",
            a.bucket,
            a.key
        );
    }
}

/// A test server whose data directory is a tmpfs of `size_mib`; unmounted on drop.
struct SmallDisk {
    server: TestServer,
    mounted: PathBuf,
}

impl SmallDisk {
    /// `None` (with a message) when this process may not mount.
    async fn start(size_mib: u32, env: &[(&str, &str)]) -> Option<SmallDisk> {
        let mut server = TestServer::start_with_env(env).await;
        server.stop_graceful().await;
        // Move what the first start created (local.key, ...) onto the new filesystem.
        let saved = server.root.join("saved");
        std::fs::rename(&server.data_dir, &saved).expect("move data dir aside");
        std::fs::create_dir_all(&server.data_dir).expect("recreate data dir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m")])
            .arg("tmpfs")
            .arg(&server.data_dir)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs (needs root / CAP_SYS_ADMIN): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                return None;
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                return None;
            }
        }
        let disk = SmallDisk {
            mounted: server.data_dir.clone(),
            server,
        };
        copy_dir(&saved, &disk.mounted);
        let mut disk = disk;
        disk.server.restart().await;
        Some(disk)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .expect("run cp");
    assert!(status.success(), "copy the data dir onto the tmpfs");
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        self.server.kill();
        let _ = Command::new("umount").arg(&self.mounted).status();
    }
}

#[tokio::test]
async fn full_disk_refuses_writes_and_deletes_recover() {
    let reserve = (2 * MIB).to_string();
    let Some(mut disk) = SmallDisk::start(40, &[("LAKEGATE_RESERVE_BYTES", &reserve)]).await else {
        return;
    };
    let s = &disk.server;
    assert_eq!(ready_status(s).await, 200, "ready before the disk fills");
    let plain = s.bucket().await;
    let versioned = s.versioned_bucket().await;

    // Fill with 1 MiB objects (blob-backed) until a write is refused.
    let mut acked: Vec<Acked> = Vec::new();
    let mut refused = None;
    for i in 0..200u64 {
        let bucket = if i % 2 == 0 { &plain } else { &versioned };
        let key = format!("obj-{i}");
        let data = random_bytes(MIB, i);
        let r = put_raw(s, bucket, &key, &data).await;
        if r.status == 200 {
            acked.push(Acked {
                bucket: bucket.clone(),
                key,
                version_id: (bucket == &versioned)
                    .then(|| r.header("x-amz-version-id"))
                    .flatten(),
                data,
            });
        } else {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("the 40 MiB disk never filled");
    refused.assert_error(507, "XMinioStorageFull");
    assert!(acked.len() >= 10, "only {} objects fit", acked.len());
    assert!(
        refused.text().contains("minimum free drive threshold"),
        "{}",
        refused.text()
    );

    // Refused before touching the disk now, small (inline) writes included.
    put_raw(s, &plain, "small", b"tiny")
        .await
        .assert_error(507, "XMinioStorageFull");
    put_raw(s, &plain, "big", &random_bytes(MIB, 999))
        .await
        .assert_error(507, "XMinioStorageFull");
    assert_eq!(ready_status(s).await, 503, "write health while full");
    // A full disk is not a dead server: ready and read health stay 200; maintenance asks
    // whether this single node may go down (never: 412) only when it is healthy.
    assert_eq!(health(s, "ready").await, 200, "ready while full");
    assert_eq!(
        health(s, "cluster/read").await,
        200,
        "read health while full"
    );
    assert_eq!(health(s, "cluster?maintenance=true").await, 503);
    let console_ready = s
        .http()
        .get(format!("{}/minio/health/ready", s.console_url))
        .send()
        .await
        .expect("console ready");
    assert_eq!(
        console_ready.status().as_u16(),
        200,
        "console ready while full"
    );
    assert_eq!(
        s.raw("GET", "/minio/health/live")
            .anonymous()
            .send()
            .await
            .status,
        200,
        "live is about the process"
    );
    // Reads still work.
    check_all(s, &acked).await;

    // DeleteObject in the unversioned bucket.
    let a = acked.remove(0);
    assert_eq!(a.bucket, plain);
    let r = s.raw_object("DELETE", &a.bucket, &a.key).send().await;
    assert_eq!(r.status, 204, "delete on a full disk: {}", r.text());
    // A version delete in the versioned bucket.
    let idx = acked
        .iter()
        .position(|a| a.bucket == versioned)
        .expect("a versioned object");
    let a = acked.remove(idx);
    let vid = a.version_id.clone().expect("version id");
    let r = s
        .raw_object("DELETE", &a.bucket, &a.key)
        .query("versionId", &vid)
        .send()
        .await;
    assert_eq!(r.status, 204, "version delete on a full disk: {}", r.text());
    // DeleteObjects: four more from the unversioned bucket.
    let mut ids = Vec::new();
    for _ in 0..4 {
        let idx = acked
            .iter()
            .position(|a| a.bucket == plain)
            .expect("a plain object");
        let a = acked.remove(idx);
        ids.push(ObjectIdentifier::builder().key(&a.key).build().unwrap());
    }
    let out = s
        .client()
        .delete_objects()
        .bucket(&plain)
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteObjects on a full disk: {}", fmt_err(&e)));
    assert!(out.errors().is_empty(), "{:?}", out.errors());
    assert_eq!(out.deleted().len(), 4);

    // Space is back: ready again and writes resume, without a restart.
    wait_ready(s, 200, Duration::from_secs(15)).await;
    let data = random_bytes(MIB, 4242);
    let r = put_raw(s, &plain, "after", &data).await;
    r.assert_ok();
    acked.push(Acked {
        bucket: plain.clone(),
        key: "after".into(),
        version_id: None,
        data,
    });
    let r = put_raw(s, &plain, "after-small", b"small again").await;
    r.assert_ok();
    acked.push(Acked {
        bucket: plain.clone(),
        key: "after-small".into(),
        version_id: None,
        data: b"small again".to_vec(),
    });
    check_all(s, &acked).await;

    // The reason was logged once, not per refused request.
    let log = std::fs::read_to_string(s.log_path()).unwrap_or_default();
    assert_eq!(
        log.matches("data directory is full").count(),
        1,
        "the full state is logged once:\n{log}"
    );
    assert!(
        !log.contains("XMinioStorageFull"),
        "refused requests are not logged one by one:\n{log}"
    );

    // After a restart (and its sweep) no partial or orphan blob is left: one blob per
    // blob-backed object.
    disk.server.restart().await;
    let s = &disk.server;
    check_all(s, &acked).await;
    let blobs = count_files(&s.data_dir.join("blobs"));
    let blob_backed = acked.iter().filter(|a| a.data.len() > 16 * 1024).count();
    assert_eq!(blobs, blob_backed, "blobs on disk vs. blob-backed objects");
    assert_eq!(ready_status(s).await, 200);
}

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            n += count_files(&p);
        } else {
            n += 1;
        }
    }
    n
}

/// Puts `count` small objects named `{prefix}{i}`; returns the acknowledged ones and the
/// responses of the refused ones.
async fn put_many(
    s: &TestServer,
    bucket: &str,
    prefix: &str,
    count: u64,
    size: usize,
) -> (Vec<Acked>, Vec<RawResponse>) {
    let mut acked = Vec::new();
    let mut failed = Vec::new();
    for i in 0..count {
        let key = format!("{prefix}{i}");
        let data = random_bytes(size, i + 7);
        let r = put_raw(s, bucket, &key, &data).await;
        if r.status == 200 {
            acked.push(Acked {
                bucket: bucket.to_string(),
                key,
                version_id: None,
                data,
            });
        } else {
            failed.push(r);
        }
    }
    (acked, failed)
}

#[tokio::test]
async fn injected_commit_eio_is_recovered_without_restart() {
    let s = TestServer::start_with_env(&[(
        "LAKEGATE_TEST_FAULTS",
        "meta-commit-eio:12,meta-reopen-fail:3",
    )])
    .await;
    let bucket = s.bucket().await;
    // Mixed sizes: inline (in the failed commit itself) and blob-backed.
    let (mut acked, failed) = put_many(&s, &bucket, "a", 12, 1000).await;
    let (more, failed2) = put_many(&s, &bucket, "b", 8, 100 * 1024).await;
    acked.extend(more);
    let failed: Vec<_> = failed.into_iter().chain(failed2).collect();
    assert!(!failed.is_empty(), "the injected fault did not fire");
    for r in &failed {
        assert!(
            r.status == 500 || r.status == 503,
            "a failed commit answers 500/503, got {} {}",
            r.status,
            r.text()
        );
    }
    // The store came back by itself: writes succeed, ready is 200, nothing acknowledged lost.
    wait_ready(&s, 200, Duration::from_secs(15)).await;
    let mut ok = false;
    for _ in 0..100 {
        if put_raw(&s, &bucket, "later", b"later").await.status == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "writes did not resume after the injected EIO");
    acked.push(Acked {
        bucket: bucket.clone(),
        key: "later".into(),
        version_id: None,
        data: b"later".to_vec(),
    });
    check_all(&s, &acked).await;
    let log = std::fs::read_to_string(s.log_path()).unwrap_or_default();
    assert!(
        log.contains("metadata store unavailable"),
        "a failed reopen is logged loudly"
    );
    assert!(log.contains("metadata database reopened"));
}

#[tokio::test]
async fn unavailable_metadata_store_reports_not_ready() {
    // A commit (the server's own at start-up count too) fails and the next 6 reopens too
    // (~3 s of backoff): health says so.
    let s = TestServer::start_with_env(&[(
        "LAKEGATE_TEST_FAULTS",
        "meta-commit-eio:12,meta-reopen-fail:6",
    )])
    .await;
    let bucket = s.bucket().await;
    let mut saw_503 = false;
    let mut failed = None;
    for i in 0..30 {
        let r = put_raw(&s, &bucket, &format!("k{i}"), b"x").await;
        if r.status != 200 {
            failed = Some(r);
            break;
        }
    }
    let failed = failed.expect("the injected fault did not fire");
    assert_eq!(failed.status, 500, "{}", failed.text());
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if ready_status(&s).await == 503 {
            saw_503 = true;
            // A write while the store is down: 503 ServiceUnavailable, which clients retry.
            let r = put_raw(&s, &bucket, "down", b"x").await;
            assert!(
                r.status == 503 || r.status == 200,
                "{} {}",
                r.status,
                r.text()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(saw_503, "ready never reported the closed metadata store");
    wait_ready(&s, 200, Duration::from_secs(20)).await;
    put_raw(&s, &bucket, "after", b"after").await.assert_ok();
    assert_eq!(s.get(&bucket, "after").await, b"after");
}

#[tokio::test]
async fn injected_commit_enospc_answers_507_and_recovers() {
    let s = TestServer::start_with_env(&[("LAKEGATE_TEST_FAULTS", "meta-commit-enospc:12")]).await;
    let bucket = s.bucket().await;
    let (acked, failed) = put_many(&s, &bucket, "k", 20, 100).await;
    assert!(!failed.is_empty(), "the injected fault did not fire");
    failed[0].assert_error(507, "XMinioStorageFull");
    // The disk really has room: the store leaves the full state by itself.
    wait_ready(&s, 200, Duration::from_secs(15)).await;
    let r = s.raw_object("DELETE", &bucket, &acked[0].key).send().await;
    assert_eq!(r.status, 204);
    put_raw(&s, &bucket, "again", b"again").await.assert_ok();
    check_all(&s, &acked[1..]).await;
}

#[tokio::test]
async fn full_metadata_commit_reopens_redb_and_read_only_dir_is_not_ready() {
    // Inline objects (below the 16 KiB threshold) live in the metadata records: here the redb
    // commit itself meets ENOSPC, and redb must be reopened before anything else commits.
    let reserve = (2 * MIB).to_string();
    let Some(disk) = SmallDisk::start(24, &[("LAKEGATE_RESERVE_BYTES", &reserve)]).await else {
        return;
    };
    let s = &disk.server;
    let bucket = s.bucket().await;
    let mut acked: Vec<Acked> = Vec::new();
    let mut refused = None;
    for i in 0..5000u64 {
        let key = format!("inline-{i}");
        let data = random_bytes(15 * 1024, i);
        let r = put_raw(s, &bucket, &key, &data).await;
        if r.status == 200 {
            acked.push(Acked {
                bucket: bucket.clone(),
                key,
                version_id: None,
                data,
            });
        } else {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("the 24 MiB disk never filled");
    refused.assert_error(507, "XMinioStorageFull");
    assert_eq!(ready_status(s).await, 503);
    check_all(s, &acked[..acked.len().min(50)]).await;

    // Delete a good part of what was written (DeleteObjects, 500 at a time, and a few single
    // deletes), then writes come back.
    let keep = acked.len() / 3;
    let gone: Vec<Acked> = acked.drain(keep..).collect();
    for a in gone.iter().take(3) {
        let r = s.raw_object("DELETE", &a.bucket, &a.key).send().await;
        assert_eq!(r.status, 204, "{}", r.text());
    }
    for chunk in gone[3..].chunks(500) {
        let ids = chunk
            .iter()
            .map(|a| ObjectIdentifier::builder().key(&a.key).build().unwrap())
            .collect();
        let out = s
            .client()
            .delete_objects()
            .bucket(&bucket)
            .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteObjects: {}", fmt_err(&e)));
        assert!(out.errors().is_empty(), "{:?}", out.errors());
    }
    wait_ready(s, 200, Duration::from_secs(15)).await;
    let data = random_bytes(15 * 1024, 77_777);
    put_raw(s, &bucket, "after", &data).await.assert_ok();
    acked.push(Acked {
        bucket: bucket.clone(),
        key: "after".into(),
        version_id: None,
        data,
    });
    check_all(s, &acked).await;

    // A read-only data directory (a read-only bind mount over it): not ready; writable again
    // (bind mount removed): ready.
    let run = |args: &[&str]| {
        Command::new("mount")
            .args(args)
            .arg(&disk.mounted)
            .arg(&disk.mounted)
            .status()
            .map(|st| st.success())
            .unwrap_or(false)
    };
    if run(&["--bind"]) {
        let ro = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(&disk.mounted)
            .status()
            .map(|st| st.success())
            .unwrap_or(false);
        if ro {
            wait_ready(s, 503, Duration::from_secs(5)).await;
            assert_eq!(health(s, "cluster/read").await, 200, "reads work read-only");
            assert_eq!(health(s, "ready").await, 200);
            let r = s
                .raw("GET", "/minio/health/cluster/read")
                .anonymous()
                .send()
                .await;
            assert_eq!(r.header("x-minio-read-quorum").as_deref(), Some("1"));
        } else {
            eprintln!("read-only bind remount not permitted; that part skipped");
        }
        let _ = Command::new("umount").arg(&disk.mounted).status();
        wait_ready(s, 200, Duration::from_secs(5)).await;
    } else {
        eprintln!("bind mount not permitted; the read-only part skipped");
    }
}

#[tokio::test]
async fn blob_write_eio_leaves_no_partial_object_or_orphan_blob() {
    let mut s = TestServer::start_with_env(&[("LAKEGATE_TEST_FAULTS", "blob-write-eio:3")]).await;
    let bucket = s.bucket().await;
    let data = random_bytes(2 * MIB, 1);
    let r = put_raw(&s, &bucket, "broken", &data).await;
    assert_eq!(r.status, 500, "{}", r.text());
    let r = s.raw_object("GET", &bucket, "broken").send().await;
    r.assert_error(404, "NoSuchKey");
    assert_eq!(
        count_files(&s.data_dir.join("blobs")),
        0,
        "partial blob left"
    );
    // The fault fires once: the same upload works now.
    put_raw(&s, &bucket, "broken", &data).await.assert_ok();
    assert_eq!(ready_status(&s).await, 200);
    s.restart().await;
    assert!(s.get(&bucket, "broken").await == data);
    assert_eq!(count_files(&s.data_dir.join("blobs")), 1);
}

#[tokio::test]
async fn a_commit_that_failed_after_reaching_the_disk_is_acknowledged() {
    let mut s =
        TestServer::start_with_env(&[("LAKEGATE_TEST_FAULTS", "meta-commit-durable-eio:12")]).await;
    let bucket = s.bucket().await;
    // Blob-backed: a PUT answered with an error would delete the blob the kept record names.
    let (acked, failed) = put_many(&s, &bucket, "k", 16, 64 * 1024).await;
    assert!(
        failed.is_empty(),
        "a durable commit was answered with an error: {:?}",
        failed.iter().map(|r| r.text()).collect::<Vec<_>>()
    );
    let log = std::fs::read_to_string(s.log_path()).unwrap_or_default();
    assert!(
        log.contains("was durable; acknowledging it"),
        "the fault did not fire"
    );
    check_all(&s, &acked).await;
    s.restart().await;
    check_all(&s, &acked).await;
    assert_eq!(count_files(&s.data_dir.join("blobs")), acked.len());
}
