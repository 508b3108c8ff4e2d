//! The metrics endpoints (`/minio/v2/metrics/...`): scrape authentication as MinIO does it
//! (bearer JWTs, `public`), and what the series say after real requests. The full set of
//! dashboard queries runs through a real Prometheus in `tests/e2e/test_prometheus.py`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::common::*;

const CLUSTER: &str = "/minio/v2/metrics/cluster";
const BUCKET: &str = "/minio/v2/metrics/bucket";
const NODE: &str = "/minio/v2/metrics/node";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn jwt(alg: Algorithm, claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn scrape(s: &TestServer, path: &str, token: Option<&str>) -> RawResponse {
    let mut req = s.raw("GET", path).anonymous();
    if let Some(t) = token {
        req = req.unsigned_header("authorization", &format!("Bearer {t}"));
    }
    req.send().await
}

async fn admin(s: &TestServer, method: &str, path: &str, body: &str) -> u16 {
    s.raw(method, &format!("/lakegate/admin/v1/{path}"))
        .body(body.to_string())
        .send()
        .await
        .status
}

/// The value of the first sample whose line starts with `series` (name and labels as
/// rendered, `server` label first).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn scrapes_need_a_prometheus_token_of_an_allowed_enabled_key() {
    let s = TestServer::start().await;
    // No token, garbage, a token of an unknown key: 403 with MinIO's JSON body.
    for token in [None, Some("not-a-jwt")] {
        let r = scrape(&s, CLUSTER, token).await;
        assert_eq!(r.status, 403, "{}", r.text());
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["Code"], "AccessDenied");
    }
    let exp = now() + 3600;
    let valid = jwt(
        Algorithm::HS512,
        serde_json::json!({"exp": exp, "sub": ROOT_USER, "iss": "prometheus"}),
        ROOT_PASSWORD,
    );
    let r = scrape(&s, CLUSTER, Some(&valid)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(r.text().contains("# TYPE minio_s3_requests_total counter"));
    assert!(r.text().contains("lakegate_build_info{"));
    for path in [BUCKET, NODE] {
        assert_eq!(scrape(&s, path, Some(&valid)).await.status, 200, "{path}");
    }
    // HS256 with the key in `accessKey`, no `exp`: accepted, as MinIO does.
    let hs256 = jwt(
        Algorithm::HS256,
        serde_json::json!({"accessKey": ROOT_USER, "iss": "prometheus"}),
        ROOT_PASSWORD,
    );
    assert_eq!(scrape(&s, CLUSTER, Some(&hs256)).await.status, 200);
    // Expired, wrong issuer, wrong secret, unknown key: refused.
    let refused = [
        jwt(
            Algorithm::HS512,
            serde_json::json!({"exp": now() - 10, "sub": ROOT_USER, "iss": "prometheus"}),
            ROOT_PASSWORD,
        ),
        jwt(
            Algorithm::HS512,
            serde_json::json!({"exp": exp, "sub": ROOT_USER, "iss": "grafana"}),
            ROOT_PASSWORD,
        ),
        jwt(
            Algorithm::HS512,
            serde_json::json!({"exp": exp, "sub": ROOT_USER, "iss": "prometheus"}),
            "not-the-secret",
        ),
        jwt(
            Algorithm::HS512,
            serde_json::json!({"exp": exp, "sub": "nobody", "iss": "prometheus"}),
            ROOT_PASSWORD,
        ),
    ];
    for t in &refused {
        assert_eq!(scrape(&s, CLUSTER, Some(t)).await.status, 403);
    }

    // A user needs admin:Prometheus; a disabled user's token stops working.
    let secret = "scraper-secret-1234";
    assert_eq!(
        admin(
            &s,
            "PUT",
            "iam/users/scraper",
            &serde_json::json!({"secret_key": secret}).to_string()
        )
        .await,
        200
    );
    let user_token = jwt(
        Algorithm::HS512,
        serde_json::json!({"exp": exp, "sub": "scraper", "iss": "prometheus"}),
        secret,
    );
    assert_eq!(scrape(&s, CLUSTER, Some(&user_token)).await.status, 403);
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["admin:Prometheus"], "Resource": ["arn:aws:s3:::*"]}]
    });
    assert_eq!(
        admin(&s, "PUT", "iam/policies/scrape", &policy.to_string()).await,
        200
    );
    assert_eq!(
        admin(
            &s,
            "POST",
            "iam/attach",
            &serde_json::json!({"policies": ["scrape"], "user": "scraper"}).to_string()
        )
        .await,
        200
    );
    assert_eq!(scrape(&s, CLUSTER, Some(&user_token)).await.status, 200);
    assert_eq!(
        admin(&s, "POST", "iam/users/scraper/disable", "").await,
        200
    );
    assert_eq!(scrape(&s, CLUSTER, Some(&user_token)).await.status, 403);
}

#[tokio::test]
async fn public_mode_opens_the_endpoints() {
    let s = TestServer::start_with_env(&[("MINIO_PROMETHEUS_AUTH_TYPE", "public")]).await;
    let r = scrape(&s, CLUSTER, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // HEAD answers the same without a body; other methods are refused.
    let r = s.raw("HEAD", NODE).anonymous().send().await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let r = s.raw("POST", NODE).anonymous().send().await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn series_count_requests_traffic_and_what_buckets_hold() {
    let s = TestServer::start_with_env(&[
        ("LAKEGATE_PROMETHEUS_AUTH_TYPE", "public"),
        ("LAKEGATE_USAGE_INTERVAL", "1s"),
    ])
    .await;
    let b = s.versioned_bucket().await;
    let small = vec![b'x'; 100];
    let big = random_bytes(100 * 1024, 7);
    s.put(&b, "a", small.clone()).await;
    s.put(&b, "a", small.clone()).await;
    s.put(&b, "big", big.clone()).await;
    assert_eq!(s.get(&b, "big").await, big);
    let missing = s.client().get_object().bucket(&b).key("nope").send().await;
    assert_err(missing, 404, "NoSuchKey");
    s.client()
        .delete_object()
        .bucket(&b)
        .key("a")
        .send()
        .await
        .unwrap();

    // Usage comes from the scanner: wait for a pass that saw the delete marker.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = scrape(&s, BUCKET, None).await.text();
        if value(
            &text,
            "minio_bucket_usage_deletemarker_total",
            &[("bucket", &b)],
        ) == Some(1.0)
        {
            break text;
        }
        assert!(Instant::now() < deadline, "usage never counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let bl = ("bucket", b.as_str());
    let v = |name: &str, extra: &[(&str, &str)]| {
        let mut l = vec![bl];
        l.extend_from_slice(extra);
        value(&text, name, &l).unwrap_or_else(|| panic!("no {name} {l:?} in\n{text}"))
    };
    assert_eq!(
        v("minio_bucket_requests_total", &[("api", "putobject")]),
        3.0
    );
    assert_eq!(
        v("minio_bucket_requests_total", &[("api", "getobject")]),
        2.0
    );
    assert_eq!(
        v(
            "minio_bucket_requests_4xx_errors_total",
            &[("api", "getobject")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "minio_bucket_requests_inflight_total",
            &[("api", "getobject")]
        ),
        0.0
    );
    assert_eq!(
        v(
            "minio_bucket_requests_ttfb_seconds_distribution",
            &[("api", "putobject"), ("le", "+Inf")]
        ),
        3.0
    );
    assert!(text.contains("le=\"0.050\""));
    let received = v("minio_bucket_traffic_received_bytes", &[]);
    assert!(received >= (2 * 100 + 100 * 1024) as f64, "{received}");
    let sent = v("minio_bucket_traffic_sent_bytes", &[]);
    assert!(sent >= (100 * 1024) as f64, "{sent}");
    // The key `a` (two versions, then a delete marker) is no longer an object; `big` is.
    assert_eq!(v("minio_bucket_usage_object_total", &[]), 1.0);
    assert_eq!(v("minio_bucket_usage_version_total", &[]), 3.0);
    assert_eq!(
        v("minio_bucket_usage_total_bytes", &[]),
        (2 * 100 + 100 * 1024) as f64
    );
    assert_eq!(
        v(
            "minio_bucket_objects_size_distribution",
            &[("range", "BETWEEN_64_KB_AND_256_KB")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "minio_bucket_objects_version_distribution",
            &[("range", "SINGLE_VERSION")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "minio_bucket_objects_version_distribution",
            &[("range", "BETWEEN_2_AND_10")]
        ),
        1.0
    );

    let cluster = scrape(&s, CLUSTER, None).await.text();
    let c = |name: &str, labels: &[(&str, &str)]| {
        value(&cluster, name, labels).unwrap_or_else(|| panic!("no {name} in\n{cluster}"))
    };
    assert!(c("minio_s3_requests_total", &[("api", "putobject")]) >= 3.0);
    assert!(c("minio_s3_traffic_received_bytes", &[]) >= received);
    assert!(c("minio_cluster_bucket_total", &[]) >= 1.0);
    assert!(c("minio_cluster_capacity_usable_total_bytes", &[]) > 0.0);
    assert_eq!(c("minio_cluster_health_status", &[]), 1.0);
    assert!(c("minio_node_process_resident_memory_bytes", &[]) > 0.0);
    assert!(c("minio_node_process_starttime_seconds", &[]) > 1.7e9);
    // lakegate's own: a real histogram, group commits, KMS requests (the medallion buckets are
    // SSE-S3, but this test's bucket is not: no KMS series are needed for it).
    assert!(
        c(
            "lakegate_s3_request_duration_seconds_count",
            &[("operation", "PutObject"), ("status_class", "2xx")]
        ) >= 3.0
    );
    assert!(
        c(
            "lakegate_s3_request_duration_seconds_bucket",
            &[
                ("operation", "GetObject"),
                ("status_class", "4xx"),
                ("le", "+Inf")
            ]
        ) >= 1.0
    );
    assert!(c("lakegate_meta_commit_batch_size_count", &[]) >= 4.0);
    assert!(c("lakegate_object_versions", &[bl, ("storage", "inline")]) >= 2.0);
    assert_eq!(
        c("lakegate_object_versions", &[bl, ("storage", "blob")]),
        1.0
    );

    // A deleted bucket's series go away.
    let gone = s.bucket().await;
    s.put(&gone, "k", "v").await;
    assert!(
        scrape(&s, BUCKET, None)
            .await
            .text()
            .contains(&format!("bucket=\"{gone}\""))
    );
    s.client()
        .delete_object()
        .bucket(&gone)
        .key("k")
        .send()
        .await
        .unwrap();
    s.client()
        .delete_bucket()
        .bucket(&gone)
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(&s, BUCKET, None).await.text();
        if !text.contains(&format!("bucket=\"{gone}\"")) {
            break;
        }
        assert!(Instant::now() < deadline, "deleted bucket still reported");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metrics_off_answers_404() {
    let s = TestServer::start_with_env(&[
        ("LAKEGATE_METRICS", "off"),
        ("LAKEGATE_PROMETHEUS_AUTH_TYPE", "public"),
    ])
    .await;
    assert_eq!(scrape(&s, CLUSTER, None).await.status, 404);
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let s = TestServer::start_with_env(&[
        ("LAKEGATE_LOG_FORMAT", "json"),
        ("LAKEGATE_LOG", "lakegate=debug"),
    ])
    .await;
    let b = s.bucket().await;
    let r = s.raw_object("GET", &b, "missing").send().await;
    r.assert_error(404, "NoSuchKey");
    let id = r.header("x-amz-request-id").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(s.log_path()).unwrap();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        assert!(!lines.is_empty());
        // No ANSI colour codes in a file.
        assert!(!log.contains('\u{1b}'), "colour codes in the log");
        if lines
            .iter()
            .any(|l| l["span"]["request_id"].as_str() == Some(id.as_str()))
        {
            break;
        }
        assert!(Instant::now() < deadline, "no line with {id}:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
