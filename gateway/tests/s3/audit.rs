//! The audit trail (`--audit-log`, `--audit-webhook`): one JSON line per mutating S3 request
//! and per admin change, written off the request path; a full queue drops (and counts)
//! entries instead of making requests wait.

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

use crate::common::*;

/// The audit file's entries once at least `n` are there (waits up to 10 s).
async fn entries(path: &std::path::Path, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{} audit entries, expected {n}:\n{text}",
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn find(
    entries: &[serde_json::Value],
    what: impl Fn(&serde_json::Value) -> bool,
) -> &serde_json::Value {
    entries
        .iter()
        .find(|e| what(e))
        .unwrap_or_else(|| panic!("no such entry in {entries:#?}"))
}

#[tokio::test]
async fn mutating_requests_and_admin_changes_are_audited() {
    let root = std::env::temp_dir().join(format!("lakegate-audit-{}", std::process::id()));
    std::fs::create_dir_all(root.join("policies")).unwrap();
    let log = root.join("audit.log");
    let s = TestServer::start_with_env(&[
        ("LAKEGATE_AUDIT_LOG", log.to_str().unwrap()),
        ("LAKEGATE_POLICIES", root.join("policies").to_str().unwrap()),
    ])
    .await;
    let b = s.versioned_bucket().await;
    let put = s
        .client()
        .put_object()
        .bucket(&b)
        .key("k")
        .body(ByteStream::from_static(b"hello audit"))
        .send()
        .await
        .unwrap();
    let vid = put.version_id().unwrap().to_string();
    // Reads are not audited.
    s.get(&b, "k").await;
    s.client()
        .delete_object()
        .bucket(&b)
        .key("k")
        .version_id(&vid)
        .send()
        .await
        .unwrap();
    // A policy binding change through the admin API.
    let binding = format!(
        "bucket = \"{b}\"\nkind = \"retention\"\nplugin = \"builtin:retention\"\n\
         [config.default]\nmode = \"GOVERNANCE\"\ndays = 1\n"
    );
    let r = s
        .raw("PUT", "/lakegate/admin/v1/bindings/audited.toml")
        .body(binding)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A refused request.
    let r = s
        .raw_object("PUT", &b, "anon")
        .anonymous()
        .body("x")
        .send()
        .await;
    r.assert_error(403, "AccessDenied");

    // CreateBucket, PutBucketVersioning, PutObject, DeleteObject, the binding (the admin
    // request and the registry's load), the refusal.
    let all = entries(&log, 7).await;
    for e in &all {
        for field in ["time", "request_id", "api", "operation", "status"] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
    }
    assert!(
        !all.iter().any(|e| e["operation"] == "GetObject"),
        "reads are not audited"
    );
    let p = find(&all, |e| e["operation"] == "PutObject" && e["key"] == "k");
    assert_eq!(p["api"], "s3");
    assert_eq!(p["bucket"], b.as_str());
    assert_eq!(p["principal"], ROOT_USER);
    assert_eq!(p["status"], 200);
    assert_eq!(p["version_id"], vid.as_str());
    assert_eq!(p["bytes_received"], 11);
    assert!(p["source"].as_str().unwrap().starts_with("127.0.0.1:"));
    let d = find(&all, |e| e["operation"] == "DeleteObject");
    assert_eq!(d["version_id"], vid.as_str());
    assert_eq!(d["status"], 204);
    let a = find(&all, |e| e["api"] == "admin");
    assert_eq!(a["operation"], "lakegate:PutPolicyBinding");
    assert_eq!(a["principal"], ROOT_USER);
    assert_eq!(a["status"], 200);
    let loaded = find(&all, |e| e["api"] == "policy");
    assert_eq!(loaded["operation"], "PolicyBindingLoaded");
    assert_eq!(loaded["bucket"], b.as_str());
    assert!(loaded["key"].as_str().unwrap().ends_with("audited.toml"));
    let denied = find(&all, |e| e["key"] == "anon");
    assert_eq!(denied["status"], 403);
    assert_eq!(denied["error"], "AccessDenied");
    assert!(denied.get("principal").is_none(), "{denied}");
    // The request id in the entry is the one the client saw.
    assert_eq!(
        denied["request_id"].as_str(),
        r.header("x-amz-request-id").as_deref()
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_stuck_webhook_drops_and_counts_entries_without_blocking_requests() {
    // A webhook that accepts connections and never answers.
    let sink = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/audit", sink.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in sink.incoming().flatten() {
            held.push(c);
        }
    });
    let s = TestServer::start_with_env(&[
        ("LAKEGATE_AUDIT_WEBHOOK", url.as_str()),
        ("LAKEGATE_AUDIT_QUEUE", "2"),
        ("LAKEGATE_PROMETHEUS_AUTH_TYPE", "public"),
    ])
    .await;
    let b = s.bucket().await;
    let started = Instant::now();
    // More than one webhook batch (100 lines): the first batch's POST hangs, the queue (2)
    // fills, and the rest is dropped.
    for i in 0..300 {
        s.put(&b, &format!("k{i}"), "v").await;
    }
    // The webhook's 10 s timeout never shows in the requests.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "requests waited for the audit webhook: {:?}",
        started.elapsed()
    );
    let text = s
        .raw("GET", "/minio/v2/metrics/cluster")
        .anonymous()
        .send()
        .await
        .text();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert!(value("lakegate_audit_entries_total") >= 1.0);
    assert!(
        value("lakegate_audit_dropped_total") >= 1.0,
        "nothing dropped:\n{text}"
    );
}
