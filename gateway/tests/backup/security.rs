//! The backup target is not trusted: links planted in a local target are never followed
//! (backups write nothing outside it, restores read nothing from outside it), and reports carry
//! no file sizes or hashes.

use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::{sha256_hex, unique_bucket};
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
