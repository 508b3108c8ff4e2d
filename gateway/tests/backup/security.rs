//! The backup target is not trusted: links planted in a local target are never followed
//! (backups write nothing outside it, restores read nothing from outside it), reports carry no
//! file sizes or hashes, and manifests are authenticated by the gateway's local key and
//! validated entry by entry — a tampered one is refused and the destination left untouched.

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::{TestServer, sha256_hex, unique_bucket};
use crate::harness::PolicyDir;
use crate::util::*;

/// Files directly in `dir` with their bytes.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[tokio::test]
async fn a_backup_never_writes_through_links_in_the_target() {
    let (policies, target, outside) = (PolicyDir::new(), TargetDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, false, "events = false").await;
    std::fs::write(outside.dir.join("victim"), b"outside bytes").unwrap();
    // Links planted before the first backup: a directory and a file under data/, and the
    // temporaries' directory.
    std::fs::create_dir_all(target.path(&b, "data")).unwrap();
    std::fs::create_dir_all(target.path(&b, ".lakegate")).unwrap();
    symlink(&outside.dir, target.path(&b, "data/linkdir")).unwrap();
    symlink(outside.dir.join("victim"), target.path(&b, "data/linkfile")).unwrap();
    symlink(&outside.dir, target.path(&b, ".lakegate/tmp")).unwrap();
    for (key, body) in [
        ("linkdir/x", &b"through a linked directory"[..]),
        ("linkfile", b"over a linked file"),
        ("plain", b"plain"),
    ] {
        put_full(&srv, &b, key, body, "text/plain", &[], &[]).await;
    }

    let job = run(&srv, &b).await;
    let r = &job["report"];
    assert_eq!(r["outcome"], "partial", "{job:#}");
    assert_eq!(r["errors"], 1, "{r:#}");
    let msg = r["error_messages"][0].as_str().unwrap();
    assert!(
        msg.contains("linkdir/x") && msg.contains("symbolic link"),
        "{msg}"
    );
    // Nothing was written, replaced or removed outside the target.
    assert_eq!(
        contents(&outside.dir),
        [("victim".to_string(), b"outside bytes".to_vec())]
    );
    // The linked file was replaced by the copy (the link itself, not its target), the linked
    // directory stays a link with nothing written through it, the temporaries' link is gone.
    let linkfile = target.path(&b, "data/linkfile");
    assert!(!is_link(&linkfile));
    assert_eq!(std::fs::read(&linkfile).unwrap(), b"over a linked file");
    assert!(is_link(&target.path(&b, "data/linkdir")));
    assert_eq!(
        std::fs::read(target.path(&b, "data/plain")).unwrap(),
        b"plain"
    );
    assert!(!is_link(&target.path(&b, ".lakegate/tmp")));
    let (_, entries) = target.manifest(&b, 1);
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        ["linkfile", "plain"],
        "the failed copy keeps no entry"
    );
}

#[tokio::test]
async fn a_restore_never_reads_through_links_in_the_target() {
    let (policies, target, outside) = (PolicyDir::new(), TargetDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, false, "events = false").await;
    for (key, body) in [("k1", &b"one"[..]), ("sub/k2", b"two"), ("ok", b"fine")] {
        put_full(&srv, &b, key, body, "text/plain", &[], &[]).await;
    }
    run_ok(&srv, &b).await;
    // Replace a backup file and a backup directory with links to files outside the target,
    // one of them holding exactly the bytes the manifest expects.
    let secret = b"outside secret".to_vec();
    std::fs::write(outside.dir.join("secret"), &secret).unwrap();
    std::fs::write(outside.dir.join("k2"), b"two").unwrap();
    std::fs::remove_file(target.path(&b, "data/k1")).unwrap();
    symlink(outside.dir.join("secret"), target.path(&b, "data/k1")).unwrap();
    std::fs::remove_dir_all(target.path(&b, "data/sub")).unwrap();
    symlink(&outside.dir, target.path(&b, "data/sub")).unwrap();

    let to = unique_bucket("links");
    let job = restore(&srv, &b, Some(&to), None).await;
    let r = &job["report"];
    assert_eq!(r["outcome"], "partial", "{job:#}");
    assert_eq!(
        (r["restored"].as_u64(), r["errors"].as_u64()),
        (Some(1), Some(2)),
        "{r:#}"
    );
    let messages = r["error_messages"].to_string();
    assert!(
        messages.contains("k1") && messages.contains("sub/k2"),
        "{messages}"
    );
    assert!(messages.contains("symbolic link"), "{messages}");
    // Nothing about the outside file is in the report.
    let report = r.to_string();
    assert!(
        !report.contains(&sha256_hex(&secret)) && !report.contains("outside secret"),
        "{report}"
    );
    let snap = snapshot(&srv, &to).await;
    assert_eq!(snap.keys().collect::<Vec<_>>(), ["ok"], "{snap:?}");
}

/// A bucket with a backup (generation 1 of "a" and "b"), then changed: "a" overwritten, "c"
/// added — so any restore would visibly change it.
async fn backed_up_then_changed(srv: &TestServer, policies: &PolicyDir) -> String {
    let b = srv.bucket().await;
    bind(srv, policies, &b, false, "events = false").await;
    put_full(srv, &b, "a", b"alpha", "text/plain", &[], &[]).await;
    put_full(srv, &b, "b", b"beta", "text/plain", &[], &[]).await;
    run_ok(srv, &b).await;
    put_full(srv, &b, "a", b"alpha, changed", "text/plain", &[], &[]).await;
    put_full(srv, &b, "c", b"gamma", "text/plain", &[], &[]).await;
    b
}

/// Restores `b` into itself and into a new bucket with the manifest as it is now; both must
/// fail with `want` in the message and change nothing.
async fn refused(srv: &TestServer, b: &str, want: &str) {
    let before = snapshot(srv, b).await;
    let job = restore(srv, b, None, None).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    let r = &job["report"];
    assert_eq!(r["outcome"], "failed", "{r:#}");
    let msg = r["error_messages"][0].as_str().unwrap();
    assert!(msg.contains(want), "wanted {want:?} in: {msg}");
    assert_eq!(
        (
            r["restored"].as_u64(),
            r["deleted"].as_u64(),
            r["created_bucket"].as_bool()
        ),
        (Some(0), Some(0), Some(false)),
        "{r:#}"
    );
    assert_eq!(
        snapshot(srv, b).await,
        before,
        "the destination was touched"
    );
    let to = unique_bucket("refused");
    let job = restore(srv, b, Some(&to), None).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    assert!(
        srv.client().head_bucket().bucket(&to).send().await.is_err(),
        "a refused restore created its destination"
    );
}

const NOT_AUTHENTICATED: &str = "is not authenticated by this gateway's key (tampered, or written by a gateway with another local.key)";

#[tokio::test]
async fn tampered_manifests_are_refused_and_the_destination_untouched() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = backed_up_then_changed(&srv, &policies).await;
    let file = target.manifest_file(&b, 1);
    let original = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(lines.len(), 4, "header, a, b, trailer: {original}");
    let (header, trailer) = (lines[0], lines[3]);

    // An edited entry: "b" now claims another source key.
    std::fs::write(
        &file,
        original.replace(r#""source_key":"b""#, r#""source_key":"z""#),
    )
    .unwrap();
    refused(&srv, &b, NOT_AUTHENTICATED).await;

    // Emptied, with a header recomputed for zero entries, keeping the old trailer.
    let mut h: serde_json::Value = serde_json::from_str(header).unwrap();
    h["entries"] = 0.into();
    h["bytes"] = 0.into();
    std::fs::write(&file, format!("{h}\n{trailer}\n")).unwrap();
    refused(&srv, &b, NOT_AUTHENTICATED).await;

    // Truncated (the trailer cut off), and the same emptied manifest without a trailer, as
    // an older build would have written it.
    std::fs::write(&file, &original[..original.len() - trailer.len() - 1]).unwrap();
    refused(&srv, &b, "no authentication tag").await;
    std::fs::write(&file, format!("{h}\n")).unwrap();
    refused(&srv, &b, "no authentication tag").await;

    // Replayed: generation 1 copied in as generation 2.
    std::fs::write(&file, &original).unwrap();
    std::fs::write(target.manifest_file(&b, 2), &original).unwrap();
    refused(&srv, &b, NOT_AUTHENTICATED).await;
    std::fs::remove_file(target.manifest_file(&b, 2)).unwrap();

    // The untouched manifest still restores (the checks above refused for their reason).
    let job = restore(&srv, &b, None, None).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(srv.get(&b, "a").await, b"alpha");
    assert!(!snapshot(&srv, &b).await.contains_key("c"));
}

#[tokio::test]
async fn authenticated_manifests_with_bad_keys_or_paths_are_refused() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = backed_up_then_changed(&srv, &policies).await;
    let key = local_key(&srv);
    let original = std::fs::read_to_string(target.manifest_file(&b, 1)).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let (header, entry_b) = (lines[0], lines[2]);
    // Entries signed with the gateway's own key (as a bug or a stolen key could produce):
    // each is still checked by the S3 key rule and the backup path rule.
    let cases = [
        (
            r#""source_key":"dir/../x\u0000y""#,
            r#""path":"b""#,
            "invalid source key",
        ),
        (
            r#""source_key":"./b""#,
            r#""path":"b""#,
            "invalid source key",
        ),
        (
            r#""source_key":"b""#,
            r#""path":"../../outside""#,
            "invalid backup path",
        ),
        (
            r#""source_key":"b""#,
            r#""path":"/etc/passwd""#,
            "invalid backup path",
        ),
    ];
    for (source_key, path, want) in cases {
        let entry = entry_b
            .replace(r#""source_key":"b""#, source_key)
            .replace(r#""path":"b""#, path);
        assert_ne!(entry, entry_b);
        let body = format!("{header}\n{}\n{entry}\n", lines[1]);
        write_signed_manifest(&target, &key, &b, 1, &body);
        refused(&srv, &b, want).await;
    }
    // The same procedure with the real entry is accepted (the harness signs correctly).
    let body = format!("{header}\n{}\n{entry_b}\n", lines[1]);
    write_signed_manifest(&target, &key, &b, 1, &body);
    let job = restore(&srv, &b, None, None).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(srv.get(&b, "a").await, b"alpha");
}

/// Every blob file in a data directory.
fn blob_files(data_dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&data_dir.join("blobs"), &mut out);
    out.sort();
    out
}

#[tokio::test]
async fn a_manifest_with_a_key_the_router_refuses_restores_nothing() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = backed_up_then_changed(&srv, &policies).await;
    let key = local_key(&srv);
    let original = std::fs::read_to_string(target.manifest_file(&b, 1)).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let (header, entry_a, entry_b) = (lines[0], lines[1], lines[2]);
    let blobs_before = blob_files(&srv.data_dir);
    // Signed entries whose bytes are fine (they are "b"'s, at "b"'s path) but whose key is one
    // the S3 router refuses: a `..` segment, a NUL, one byte over 1024.
    let over_long = "k".repeat(1025);
    for bad_key in ["dir/../x", r"a\u0000b", over_long.as_str()] {
        let entry = entry_b.replace(
            r#""source_key":"b""#,
            &format!(r#""source_key":"{bad_key}""#),
        );
        assert_ne!(entry, entry_b);
        write_signed_manifest(
            &target,
            &key,
            &b,
            1,
            &format!("{header}\n{entry_a}\n{entry}\n"),
        );
        // Refused whole, into the bucket itself and into a new one; nothing changed or created.
        refused(&srv, &b, "invalid source key").await;
    }
    // No object under any of those keys, and no blob left behind.
    let versions = srv
        .client()
        .list_object_versions()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.key())
        .chain(versions.delete_markers().iter().filter_map(|m| m.key()))
        .collect();
    assert!(keys.iter().all(|k| ["a", "b", "c"].contains(k)), "{keys:?}");
    assert_eq!(blob_files(&srv.data_dir), blobs_before);
    // The real manifest still restores.
    write_signed_manifest(
        &target,
        &key,
        &b,
        1,
        &format!("{header}\n{entry_a}\n{entry_b}\n"),
    );
    let job = restore(&srv, &b, None, None).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(srv.get(&b, "a").await, b"alpha");
}
