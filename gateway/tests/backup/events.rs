//! Event-driven incremental backups, schedules, and resuming an interrupted run.

use std::time::Duration;

use crate::harness::PolicyDir;
use crate::util::*;

#[tokio::test]
async fn writes_and_deletes_reach_the_target_within_seconds() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    srv.put(&b, "before", b"existing before the binding".to_vec())
        .await;
    bind(
        &srv,
        &policies,
        &b,
        true,
        "events = true\ndebounce_ms = 200",
    )
    .await;

    // A newly active event-driven binding first catches up with a full run ("before"), then
    // follows the changes.
    srv.put(&b, "first", b"one".to_vec()).await;
    let data = target.path(&b, "data/first");
    eventually("data/first", 10, || data.is_file()).await;
    assert_eq!(std::fs::read(&data).unwrap(), b"one");
    eventually("data/before", 10, || {
        target.path(&b, "data/before").is_file()
    })
    .await;

    // Then incremental: an overwrite and a delete.
    srv.put(&b, "first", b"two".to_vec()).await;
    eventually("data/first = two", 10, || {
        std::fs::read(&data).ok().as_deref() == Some(b"two")
    })
    .await;
    delete(&srv, &b, "before").await;
    eventually("data/before deleted", 10, || {
        !target.path(&b, "data/before").exists()
    })
    .await;

    // Every event batch is a generation; the last run was event-driven and incremental.
    let mut st = serde_json::Value::Null;
    for _ in 0..200 {
        st = admin(&srv, "GET", &format!("backup/{b}"), &[]).await.1;
        // The run that propagated the delete.
        if st["last_run"]["deleted"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last = &st["last_run"];
    assert_eq!(
        (last["trigger"].as_str(), last["kind"].as_str()),
        (Some("events"), Some("changes")),
        "{st:#}"
    );
    let gens = target.generations(&b);
    assert!(gens.len() >= 3, "{gens:?}");
    let (_, entries) = target.manifest(&b, *gens.last().unwrap());
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["first"]);

    // A bucket without events = true is left alone.
    let quiet = srv.bucket().await;
    bind(&srv, &policies, &quiet, true, "events = false").await;
    srv.put(&quiet, "k", b"v".to_vec()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(target.generations(&quiet).is_empty());
}

#[tokio::test]
async fn a_schedule_runs_and_is_shown() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    srv.put(&b, "k", b"v".to_vec()).await;
    // Every second.
    bind(
        &srv,
        &policies,
        &b,
        false,
        "events = false\nschedule = \"* * * * * *\"",
    )
    .await;
    eventually("a scheduled run", 10, || !target.generations(&b).is_empty()).await;
    let (_, st) = admin(&srv, "GET", &format!("backup/{b}"), &[]).await;
    assert!(st["next_scheduled"].as_i64().is_some(), "{st:#}");
    assert_eq!(st["binding"]["settings"]["schedule"], "* * * * * *");
    // Wait for the run's report to land (the manifest is written before it).
    for _ in 0..100 {
        let (_, st) = admin(&srv, "GET", &format!("backup/{b}"), &[]).await;
        if st["last_run"]["trigger"] == "schedule" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no scheduled run reported");
}

#[tokio::test]
async fn an_interrupted_run_resumes_from_its_journal() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let mut srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    bind(&srv, &policies, &b, false, "events = false").await;
    srv.put(&b, "a", b"alpha".to_vec()).await;
    run_ok(&srv, &b).await;
    srv.stop_graceful().await;

    // Simulate a run 2 that copied "b" and died before writing its manifest: the bytes are in
    // data/, the step is in its journal.
    let entry = serde_json::json!({
        "path": "b", "source_key": "b", "source_version_id": "null",
        "etag": crate::common::md5_hex(b"beta"), "size": 4, "last_modified": 1,
        "sha256": crate::common::sha256_hex(b"beta"), "md5": crate::common::md5_hex(b"beta"),
        "written_gen": 2,
    });
    let journal = target.path(&b, &format!(".lakegate/journal/{:020}/00000000.jsonl", 2));
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    // Journal pages are authenticated under the gateway's local key, like manifests.
    let body = format!("{}\n", serde_json::json!({"op": "put", "entry": entry}));
    let trailer =
        lakegate::backup::manifest::journal_trailer(&local_key(&srv), &b, 2, 0, body.as_bytes());
    std::fs::write(&journal, [body.as_bytes(), &trailer].concat()).unwrap();
    std::fs::write(target.path(&b, "data/b"), b"beta").unwrap();

    // At start-up the gateway resumes it: generation 2 gets "b" from the journal.
    srv.restart().await;
    eventually("generation 2", 20, || target.generations(&b).contains(&2)).await;
    let (_, entries) = target.manifest(&b, 2);
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["a", "b"]);
    let mut st = serde_json::Value::Null;
    for _ in 0..200 {
        st = admin(&srv, "GET", &format!("backup/{b}"), &[]).await.1;
        if st["last_run"]["trigger"] == "resume" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(st["last_run"]["trigger"], "resume", "{st:#}");
    assert!(target.files(&b, ".lakegate/journal").is_empty());
    assert_eq!(st["last_run"]["resumed_steps"], 1);
}

#[tokio::test]
async fn a_new_event_driven_binding_catches_up_without_any_write() {
    let (policies, target) = (PolicyDir::new(), TargetDir::new());
    let srv = start(&policies, &target).await;
    let b = srv.bucket().await;
    srv.put(&b, "old", b"written before the binding".to_vec())
        .await;
    bind(
        &srv,
        &policies,
        &b,
        true,
        "events = true\ndebounce_ms = 200",
    )
    .await;
    let data = target.path(&b, "data/old");
    eventually("data/old", 10, || data.is_file()).await;
    let mut st = serde_json::Value::Null;
    for _ in 0..200 {
        st = admin(&srv, "GET", &format!("backup/{b}"), &[]).await.1;
        if st["last_run"].is_object() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(st["last_run"]["trigger"], "catch-up", "{st:#}");
    assert_eq!(st["last_run"]["copied"], 1);
}
