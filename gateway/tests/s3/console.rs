//! The console's sessions and its doors to the S3 and admin APIs: login (root, a user),
//! cookie flags, CSRF token and same-origin checks, the login rate limit, logout, expiry, and
//! every call judged by the same IAM evaluation as a signed request.

use std::time::Duration;

use crate::common::*;

struct Session {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login_as(s: &TestServer, access_key: &str, secret: &str) -> reqwest::Response {
    client()
        .post(format!("{}/login", s.console_url))
        .header("content-type", "application/json")
        .header("origin", &s.console_url)
        .body(serde_json::json!({"access_key": access_key, "secret_key": secret}).to_string())
        .send()
        .await
        .unwrap()
}

async fn session(s: &TestServer, access_key: &str, secret: &str) -> Session {
    let r = login_as(s, access_key, secret).await;
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let json: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    Session {
        http: client(),
        base: s.console_url.clone(),
        cookie: cookie.split(';').next().unwrap().to_string(),
        csrf: json["csrf"].as_str().unwrap().to_string(),
    }
}

impl Session {
    /// A same-origin request with the session cookie (and the CSRF token when `csrf`).
    fn req(&self, method: &str, path: &str, csrf: bool) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", self.base),
            )
            .header("cookie", &self.cookie);
        if csrf {
            r = r
                .header("x-csrf-token", &self.csrf)
                .header("origin", &self.base);
        }
        r
    }
}

#[tokio::test]
async fn a_session_acts_as_its_key_with_csrf_and_same_origin_checks() {
    let s = TestServer::start().await;
    // Nothing before a login.
    let r = client()
        .get(format!("{}/api/s3/", s.console_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let bad = login_as(&s, ROOT_USER, "wrong").await;
    assert_eq!(bad.status(), 401);
    assert!(bad.headers().get("set-cookie").is_none());
    let r = login_as(&s, ROOT_USER, ROOT_PASSWORD).await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(r.headers().get("content-security-policy").is_some());
    let root = session(&s, ROOT_USER, ROOT_PASSWORD).await;

    // Reads need only the session.
    let list = root.req("GET", "/api/s3/", false).send().await.unwrap();
    assert_eq!(list.status(), 200);
    assert!(list.text().await.unwrap().contains("<Name>bronze</Name>"));
    let me = root
        .req("GET", "/api/session", false)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["access_key"], ROOT_USER);
    assert_eq!(me["kind"], "root");

    // Changes need the CSRF token and the console's own Origin.
    let b = unique_bucket("console");
    let r = root
        .req("PUT", &format!("/api/s3/{b}"), false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no token");
    let r = root
        .req("PUT", &format!("/api/s3/{b}"), false)
        .header("x-csrf-token", &root.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no Origin");
    let r = root
        .req("PUT", &format!("/api/s3/{b}"), false)
        .header("x-csrf-token", &root.csrf)
        .header("origin", format!("http://127.0.0.1:{}", s.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the S3 port's origin");
    let r = root
        .req("GET", "/api/s3/", false)
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a same-site page");
    let r = root
        .req("PUT", &format!("/api/s3/{b}"), true)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The bucket is real: an SDK client sees it, and an object put through the console.
    let r = root
        .req(
            "PUT",
            &format!("/api/s3/{b}/dir/<script>x</script>.txt"),
            true,
        )
        .header("x-amz-meta-note", "hello")
        // A bogus signature is dropped, not judged: the session is the caller.
        .header("authorization", "AWS4-HMAC-SHA256 Credential=nobody/x")
        .body("console bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(
        s.get(&b, "dir/<script>x</script>.txt").await,
        b"console bytes"
    );
    let r = root
        .req(
            "GET",
            &format!("/api/s3/{b}/dir/<script>x</script>.txt"),
            false,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-disposition"], "attachment");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"console bytes");
    // Stored HTML (even under a key ending in `/`) is a download of no runnable type.
    s.client()
        .put_object()
        .bucket(&b)
        .key("page/")
        .content_type("text/html")
        .body(b"<script>alert(1)</script>".to_vec().into())
        .send()
        .await
        .unwrap();
    let r = root
        .req("GET", &format!("/api/s3/{b}/page/"), false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.headers()["x-object-content-type"], "text/html");
    assert_eq!(r.headers()["content-disposition"], "attachment");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    for q in [
        "response-content-type=text/html",
        "response-content-disposition=inline",
    ] {
        let r = root
            .req("GET", &format!("/api/s3/{b}/page/?{q}"), false)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
    }
    // Presigned-URL parameters are refused.
    let r = root
        .req("GET", &format!("/api/s3/{b}?X-Amz-Signature=00"), false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // The admin API, as root.
    let r = root
        .req("GET", "/api/admin/v1/iam/users", false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A forged cookie counts for nothing; logout ends the session on the server.
    let r = client()
        .get(format!("{}/api/s3/", s.console_url))
        .header("cookie", "lakegate_session=AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = root.req("POST", "/logout", true).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = root.req("GET", "/api/s3/", false).send().await.unwrap();
    assert_eq!(r.status(), 401, "the old cookie after logout");
}

#[tokio::test]
async fn a_read_only_user_reads_and_is_refused_the_rest() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "k", "v").await;
    let root = session(&s, ROOT_USER, ROOT_PASSWORD).await;
    let r = root
        .req("PUT", "/api/admin/v1/iam/users/reader", true)
        .body(r#"{"secret_key":"reader-secret-123"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = root
        .req("POST", "/api/admin/v1/iam/attach", true)
        .body(r#"{"policies":["readonly"],"user":"reader"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let reader = session(&s, "reader", "reader-secret-123").await;
    let r = reader
        .req("GET", &format!("/api/s3/{b}/k"), false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = reader
        .req("PUT", &format!("/api/s3/{b}/new"), true)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );
    let r = reader
        .req("GET", "/api/admin/v1/iam/users", false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Disabling the user ends its session at the next request.
    let r = root
        .req("POST", "/api/admin/v1/iam/users/reader/disable", true)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = reader
        .req("GET", "/api/session", false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn failed_logins_are_rate_limited_and_sessions_expire() {
    let s = TestServer::start_with_env(&[("LAKEGATE_CONSOLE_SESSION_IDLE", "1s")]).await;
    let short = session(&s, ROOT_USER, ROOT_PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = short
        .req("GET", "/api/session", false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "idle expiry");
    for _ in 0..10 {
        assert_eq!(login_as(&s, ROOT_USER, "guess").await.status(), 401);
    }
    // Now refused even with the right secret, for a while.
    let r = login_as(&s, ROOT_USER, ROOT_PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
}

async fn json_of(r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, v)
}

#[tokio::test]
async fn the_shell_and_its_files_are_served_without_data() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let r = client()
        .get(format!("{}/", s.console_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("/assets/js/main.js"), "{page}");
    assert!(!page.contains(&b), "the shell holds no data");

    let r = client()
        .get(format!("{}/assets/js/main.js", s.console_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let etag = r.headers()["etag"].clone();
    let r = client()
        .get(format!("{}/assets/js/main.js", s.console_url))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    for bad in [
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/.hidden",
        "/assets/nope.js",
    ] {
        let r = client()
            .get(format!("{}{bad}", s.console_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/parquet")
            .join(name),
    )
    .unwrap()
}

#[tokio::test]
async fn previews_decode_text_csv_json_and_parquet_on_the_server() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    for codec in ["snappy", "zstd", "gzip", "none", "lz4", "brotli"] {
        s.put(
            &b,
            &format!("t/sales-{codec}.parquet"),
            fixture(&format!("sales-{codec}.parquet")),
        )
        .await;
    }
    s.put(
        &b,
        "year=2026/words.parquet",
        fixture("words-3-row-groups.parquet"),
    )
    .await;
    s.put(&b, "broken.parquet", b"PAR1 not really PAR1".to_vec())
        .await;
    s.put(
        &b,
        "a.csv",
        "id,name\n1,\"Lisboa, PT\"\n2,<script>x</script>\n",
    )
    .await;
    s.put(&b, "a.json", r#"{"a":[1,2],"b":"c"}"#).await;
    s.put(&b, "notes.txt", "héllo\n".repeat(300_000)).await;
    s.put(&b, "blob.bin", vec![0u8, 1, 2, 3]).await;
    s.put(&b, "empty.txt", Vec::new()).await;
    let root = session(&s, ROOT_USER, ROOT_PASSWORD).await;
    let preview = |key: &str| {
        root.req("GET", &format!("/api/preview/{b}/{key}"), false)
            .send()
    };

    for codec in ["snappy", "zstd", "gzip", "none", "lz4"] {
        let (st, v) = json_of(preview(&format!("t/sales-{codec}.parquet")).await.unwrap()).await;
        assert_eq!(st, 200, "{codec}: {v}");
        assert_eq!(v["kind"], "parquet");
        assert_eq!(v["parquet"]["num_rows"], 4, "{codec}");
        let expected = if codec == "none" {
            "uncompressed"
        } else {
            codec
        };
        let written = v["parquet"]["codecs"][0]
            .as_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(written.starts_with(expected), "{codec}: {v}");
        let names: Vec<&str> = v["parquet"]["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["id", "city", "amount", "tags.list.element", "day"],
            "{codec}"
        );
        assert_eq!(
            v["columns"],
            serde_json::json!(["id", "city", "amount", "tags", "day"]),
            "{codec}"
        );
        assert_eq!(v["rows"].as_array().unwrap().len(), 4, "{codec}: {v}");
        assert_eq!(v["rows"][0][1], "Lisboa", "{codec}: {v}");
        assert_eq!(v["rows"][3][1], "<script>x</script>", "{codec}");
        assert_eq!(v["rows"][3][0], "null", "{codec}");
    }
    // A codec not built in: schema, and why there are no rows.
    let (st, v) = json_of(preview("t/sales-brotli.parquet").await.unwrap()).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["parquet"]["num_rows"], 4);
    assert!(v["note"].as_str().unwrap().contains("schema only"), "{v}");
    // Three row groups, the first outside the footer's read: rows come from a ranged read.
    let (st, v) = json_of(
        root.req(
            "GET",
            &format!("/api/preview/{b}/year%3D2026/words.parquet?rows=20"),
            false,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (
            v["parquet"]["num_rows"].as_i64(),
            v["parquet"]["row_groups"].as_u64()
        ),
        (Some(12000), Some(3))
    );
    assert_eq!(v["rows"].as_array().unwrap().len(), 20);
    assert_eq!(v["rows"][19][0], "19");
    // Not Parquet, however it ends: a clean 422, never a panic.
    let mut huge_footer = b"PAR1 rows".to_vec();
    huge_footer.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    huge_footer.extend_from_slice(b"PAR1");
    let mut garbage_footer = b"PAR1".to_vec();
    garbage_footer.extend_from_slice(&[0xAB; 40]);
    garbage_footer.extend_from_slice(&40u32.to_le_bytes());
    garbage_footer.extend_from_slice(b"PAR1");
    let mut cut = fixture("sales-snappy.parquet");
    cut.drain(4..200);
    for (name, bytes) in [
        ("tiny.parquet", b"PAR1".to_vec()),
        ("huge-footer.parquet", huge_footer),
        ("garbage-footer.parquet", garbage_footer),
        ("cut.parquet", cut),
    ] {
        s.put(&b, name, bytes).await;
        let (st, v) = json_of(preview(name).await.unwrap()).await;
        assert!(
            st == 422 && v["code"] == "InvalidParquet" || st == 200 && v["note"].is_string(),
            "{name}: {st} {v}"
        );
    }
    let (st, v) = json_of(preview("broken.parquet").await.unwrap()).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (422, Some("InvalidParquet")),
        "{v}"
    );

    let (st, v) = json_of(preview("a.csv").await.unwrap()).await;
    assert_eq!(st, 200);
    assert_eq!(v["kind"], "csv");
    assert_eq!(v["columns"], serde_json::json!(["id", "name"]));
    assert_eq!(
        v["rows"],
        serde_json::json!([["1", "Lisboa, PT"], ["2", "<script>x</script>"]])
    );
    let (_, v) = json_of(preview("a.json").await.unwrap()).await;
    assert_eq!(v["kind"], "json");
    assert!(v["text"].as_str().unwrap().contains("\n  \"a\""), "{v}");
    let (_, v) = json_of(preview("notes.txt").await.unwrap()).await;
    assert_eq!(
        (v["kind"].as_str(), v["truncated"].as_bool()),
        (Some("text"), Some(true))
    );
    assert_eq!(v["size"], 300_000 * 7);
    assert!(v["text"].as_str().unwrap().len() <= 1024 * 1024);
    let (_, v) = json_of(preview("blob.bin").await.unwrap()).await;
    assert_eq!(v["kind"], "binary");
    let (st, v) = json_of(preview("empty.txt").await.unwrap()).await;
    assert_eq!((st, v["size"].as_u64()), (200, Some(0)), "{v}");
    let (st, v) = json_of(preview("missing.txt").await.unwrap()).await;
    assert_eq!((st, v["code"].as_str()), (404, Some("NoSuchKey")), "{v}");

    // A user that may not read the bucket is refused by the same evaluation.
    let r = root
        .req("PUT", "/api/admin/v1/iam/users/nobody", true)
        .body(r#"{"secret_key":"nobody-secret-1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let nobody = session(&s, "nobody", "nobody-secret-1").await;
    let (st, v) = json_of(
        nobody
            .req("GET", &format!("/api/preview/{b}/a.csv"), false)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, v["code"].as_str()), (403, Some("AccessDenied")), "{v}");
}

#[tokio::test]
async fn share_links_read_anonymously_until_they_expire() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "dir/a b+c.txt", "shared bytes").await;
    let root = session(&s, ROOT_USER, ROOT_PASSWORD).await;
    let share = |body: serde_json::Value, csrf: bool| {
        root.req("POST", "/api/share", csrf)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let (st, v) = json_of(
        share(
            serde_json::json!({"bucket": b, "key": "dir/a b+c.txt", "expires_s": 3600}),
            true,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let url = v["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&s.s3_url), "{url} on the S3 port");
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "shared bytes");

    let (st, _) = json_of(
        share(
            serde_json::json!({"bucket": b, "key": "dir/a b+c.txt", "expires_s": 3600}),
            false,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, 403, "no CSRF token");
    let (st, v) = json_of(
        share(
            serde_json::json!({"bucket": b, "key": "nope", "expires_s": 60}),
            true,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((st, v["code"].as_str()), (404, Some("NoSuchKey")));
    let (st, _) = json_of(
        share(
            serde_json::json!({"bucket": b, "key": "dir/a b+c.txt", "expires_s": 604801}),
            true,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, 400);

    let (st, v) = json_of(
        share(
            serde_json::json!({"bucket": b, "key": "dir/a b+c.txt", "expires_s": 1}),
            true,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = reqwest::get(v["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(r.status(), 403, "expired");
}

#[tokio::test]
async fn the_dashboard_and_caps_follow_the_callers_rights() {
    let s = TestServer::start_with_env(&[("LAKEGATE_USAGE_INTERVAL", "1s")]).await;
    let b = s.bucket().await;
    s.put(&b, "k", "0123456789").await;
    let root = session(&s, ROOT_USER, ROOT_PASSWORD).await;

    // The usage scan runs every second here.
    let mut v = serde_json::Value::Null;
    for _ in 0..50 {
        let (st, d) = json_of(
            root.req("GET", "/api/dashboard", false)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, 200, "{d}");
        v = d;
        let row = v["usage"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["bucket"] == b.as_str())
            .cloned();
        if row.is_some_and(|r| r["bytes"] == 10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = v["usage"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["bucket"] == b.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (row["objects"].as_u64(), row["bytes"].as_u64()),
        (Some(1), Some(10)),
        "{v:#}"
    );
    assert!(v["usage"]["as_of_ms"].as_u64().is_some());
    assert_eq!(v["health"]["ready"], true, "{v:#}");
    assert!(v["capacity"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(v["plugins"].is_array(), "{v:#}");
    assert!(
        v["lifecycle"].is_array() && v["backups"].is_array() && v["traffic"].is_object(),
        "{v:#}"
    );
    let (st, caps) = json_of(
        root.req("GET", &format!("/api/caps?bucket={b}"), false)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(caps["actions"]["s3:PutObject"], true);
    assert_eq!(caps["actions"]["admin:CreateUser"], true);
    let (st, series) = json_of(
        root.req("GET", "/api/series?window_s=600", false)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, series["step_s"].as_u64()), (200, Some(10)));

    // A read-only user: no server sections, no writes, no admin.
    for (path, body) in [
        (
            "/api/admin/v1/iam/users/viewer",
            r#"{"secret_key":"viewer-secret-1"}"#,
        ),
        (
            "/api/admin/v1/iam/attach",
            r#"{"policies":["readonly"],"user":"viewer"}"#,
        ),
    ] {
        let method = if path.ends_with("attach") {
            "POST"
        } else {
            "PUT"
        };
        let r = root
            .req(method, path, true)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let viewer = session(&s, "viewer", "viewer-secret-1").await;
    let (st, d) = json_of(
        viewer
            .req("GET", "/api/dashboard", false)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{d}");
    for section in [
        "health",
        "capacity",
        "traffic",
        "plugins",
        "lifecycle",
        "backups",
    ] {
        assert!(d[section].is_null(), "{section}: {d:#}");
    }
    let (_, caps) = json_of(
        viewer
            .req("GET", &format!("/api/caps?bucket={b}"), false)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(caps["actions"]["s3:GetObject"], true, "{caps:#}");
    for a in [
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:DeleteBucket",
        "s3:PutBucketPolicy",
        "admin:CreateUser",
        "lakegate:RunBackup",
    ] {
        assert_eq!(caps["actions"][a], false, "{a}: {caps:#}");
    }
    let (st, _) = json_of(
        viewer
            .req("GET", "/api/series", false)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn the_audit_trail_reads_back_newest_first_with_filters() {
    let dir = std::env::temp_dir().join(format!("lg-audit-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join(format!("audit-{}.log", unique_bucket("a")));
    let s = TestServer::start_with_env(&[("LAKEGATE_AUDIT_LOG", log.to_str().unwrap())]).await;
    let b = s.bucket().await;
    for i in 0..5 {
        s.put(&b, &format!("k{i}"), "v").await;
    }
    let root = session(&s, ROOT_USER, ROOT_PASSWORD).await;
    let mut entries = Vec::new();
    for _ in 0..50 {
        let (st, v) = json_of(
            root.req(
                "GET",
                &format!("/api/admin/v1/audit?bucket={b}&operation=putobject&limit=3"),
                false,
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        entries = v["entries"].as_array().unwrap().clone();
        // The last put's entry is there: every earlier one is (they are written in order).
        if entries.len() == 3 && entries[0]["key"] == "k4" {
            let next = v["next"].as_str().unwrap().to_string();
            let (_, older) = json_of(
                root.req(
                    "GET",
                    &format!(
                        "/api/admin/v1/audit?bucket={b}&operation=putobject&limit=3&cursor={next}"
                    ),
                    false,
                )
                .send()
                .await
                .unwrap(),
            )
            .await;
            let keys: Vec<&str> = older["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["key"].as_str())
                .collect();
            assert_eq!(keys, ["k1", "k0"], "the rest, none repeated: {older}");
            assert!(older["next"].is_null(), "{older}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["key"], "k4", "newest first: {entries:#?}");
    assert!(
        entries
            .iter()
            .all(|e| e["operation"] == "PutObject" && e["bucket"] == b.as_str())
    );
    let (st, v) = json_of(
        root.req("GET", "/api/admin/v1/audit?principal=someone-else", false)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, v["entries"].as_array().map(Vec::len)), (200, Some(0)));

    // Without an audit file: 404.
    let plain = TestServer::start().await;
    let root = session(&plain, ROOT_USER, ROOT_PASSWORD).await;
    let (st, _) = json_of(
        root.req("GET", "/api/admin/v1/audit", false)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 404);
    let _ = std::fs::remove_dir_all(&dir);
}
