//! The request path's accounting and audit cost, in isolation.
//!
//! ```text
//! cargo run --release -p lakegate --example metrics_bench
//! ```
//!
//! Per request, what `s3::handle` adds when metrics are on: starting the tracker (the bucket's
//! counters, in-flight gauges), wrapping and draining the request body, finishing (status, TTFB)
//! and wrapping and draining the response body (bytes sent, duration); and, with an audit trail,
//! building one entry and handing it to the queue (the writer task appends it to a file on
//! tmpfs or `$TMPDIR`). Measured on 1 thread and on 2 threads against one shared set of
//! counters (contention on the same cache lines, as under concurrent load on one bucket).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use http_body_util::BodyExt;
use lakegate::audit::{AuditConfig, AuditEntry, AuditLog};
use lakegate::s3::router::Operation;
use lakegate::s3::stats::RequestStats;

const N: u64 = 200_000;

async fn one_request(stats: &Arc<RequestStats>, audit: Option<&AuditLog>, i: u64) {
    let tracker = stats
        .start(Operation::GetObject, Some("bench"), || true)
        .expect("metrics on");
    let body = tracker.count_received(Body::from("x"));
    let _ = body.collect().await;
    let response = http::Response::builder()
        .status(200)
        .header("content-length", "4096")
        .body(Body::from(vec![0u8; 64]))
        .expect("response");
    if let Some(audit) = audit {
        let mut e = AuditEntry::new(format!("{i:020}"), "s3", "PutObject");
        e.bucket = Some("bench".into());
        e.key = Some(format!("k{i}"));
        e.principal = Some("admin".into());
        e.status = 200;
        audit.record(e);
    }
    let response = tracker.finish(response);
    let _ = response.into_body().collect().await;
}

/// The bare work (building and draining the same bodies), to subtract.
async fn baseline(i: u64) {
    let _ = Body::from("x").collect().await;
    let response = http::Response::builder()
        .status(200)
        .header("content-length", "4096")
        .body(Body::from(vec![0u8; 64]))
        .expect("response");
    std::hint::black_box(i);
    let _ = response.into_body().collect().await;
}

fn per_request(elapsed: Duration, n: u64) -> f64 {
    elapsed.as_nanos() as f64 / n as f64
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::temp_dir().join(format!("lakegate-metrics-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let config = AuditConfig {
        file: Some(dir.join("audit.log")),
        queue_capacity: 100_000,
        ..AuditConfig::default()
    };
    let (audit, _tasks) = AuditLog::start(config, rx).expect("audit log");
    let stats = Arc::new(RequestStats::new(true));

    for round in 0..2 {
        let t = Instant::now();
        for i in 0..N {
            baseline(i).await;
        }
        let base = per_request(t.elapsed(), N);
        let t = Instant::now();
        for i in 0..N {
            one_request(&stats, None, i).await;
        }
        let metrics = per_request(t.elapsed(), N);
        let t = Instant::now();
        for i in 0..N {
            one_request(&stats, Some(&audit), i).await;
        }
        let with_audit = per_request(t.elapsed(), N);
        // Two tasks on two threads, the same counters.
        let t = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..2 {
            let stats = stats.clone();
            let audit = audit.clone();
            handles.push(tokio::spawn(async move {
                for i in 0..N / 2 {
                    one_request(&stats, Some(&audit), i).await;
                }
            }));
        }
        for h in handles {
            let _ = h.await;
        }
        let contended = per_request(t.elapsed(), N) * 2.0;
        println!(
            "round {round}: baseline {base:.0} ns/request; accounting +{:.0} ns; accounting and audit +{:.0} ns; \
             2 threads, same counters: {:.0} ns per request per thread (+{:.0} ns)",
            metrics - base,
            with_audit - base,
            contended,
            contended - base
        );
    }
    let s = audit.stats();
    println!(
        "audit: {} recorded, {} dropped, {} written",
        s.recorded, s.dropped, s.written
    );
    let _ = std::fs::remove_dir_all(&dir);
}
