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
