//! The admin API: root-only, JSON, uploads of plugins and bindings.

use serde_json::Value;

use crate::harness::*;

/// An admin API refusal: JSON `{"error": <message>, "code": <code>}` with its status.
#[track_caller]
fn assert_admin_error(r: &crate::common::RawResponse, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let v: Value =
        serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("not JSON: {}", r.text()));
    assert_eq!(v["code"], code, "{}", r.text());
    assert!(
        v["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.text()
    );
    assert_eq!(
        r.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
}

#[tokio::test]
async fn admin_api_requires_root_signatures() {
    let pol = PolicyDir::new();
    let srv = start(&pol).await;
    // Unsigned.
    let r = srv
        .raw("GET", "/lakegate/admin/v1/policies")
        .anonymous()
        .send()
        .await;
    assert_admin_error(&r, 403, "AccessDenied");
    // Unknown credentials.
    let r = srv
        .raw("GET", "/lakegate/admin/v1/policies")
        .credentials("someone", "something-secret")
        .send()
        .await;
    assert_admin_error(&r, 403, "AccessDenied");
    // The root access key with a wrong secret.
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/bindings/x.toml")
        .credentials(crate::common::ROOT_USER, "wrong-secret")
        .body("bucket = 'x'")
        .send()
        .await;
    assert_admin_error(&r, 403, "AccessDenied");
    assert!(!pol.path("x.toml").exists());
    let r = srv
        .raw("DELETE", "/lakegate/admin/v1/bindings/x.toml")
        .anonymous()
        .send()
        .await;
    assert_admin_error(&r, 403, "AccessDenied");
    // Root.
    let r = srv.raw("GET", "/lakegate/admin/v1/policies").send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["bindings"], serde_json::json!([]));
    // Unknown endpoints and methods.
    let r = srv.raw("GET", "/lakegate/admin/v1/nothing").send().await;
    assert_eq!(r.status, 404);
    let r = srv.raw("POST", "/lakegate/admin/v1/policies").send().await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn admin_uploads_plugins_and_bindings() {
    let pol = PolicyDir::new();
    let srv = start(&pol).await;
    lock_bucket(&srv, "upl").await;
    let wasm = fixture_bytes("fixed_retention");

    // A plugin: validated, then written under plugins/.
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/plugins/ret-1.wasm")
        .body(wasm.clone())
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["worlds"], serde_json::json!(["retention"]));
    assert_eq!(v["hash"], sha256_hex(&wasm));
    assert_eq!(std::fs::read(pol.path("plugins/ret-1.wasm")).unwrap(), wasm);

    // Refused plugins are not written.
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/plugins/junk.wasm")
        .body(b"junk".to_vec())
        .send()
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("not a WebAssembly component"),
        "{}",
        r.text()
    );
    assert!(!pol.path("plugins/junk.wasm").exists());
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/plugins/core.wasm")
        .body(b"\0asm\x01\0\0\0".to_vec())
        .send()
        .await;
    assert_eq!(r.status, 422, "{}", r.text());

    // Names cannot escape the policies directory.
    for path in [
        "/lakegate/admin/v1/plugins/..%2Fevil.wasm",
        "/lakegate/admin/v1/plugins/.hidden.wasm",
        "/lakegate/admin/v1/plugins/a%20b.wasm",
        "/lakegate/admin/v1/bindings/..%2F..%2Fevil.toml",
        "/lakegate/admin/v1/bindings/x.suite.toml",
        "/lakegate/admin/v1/bindings/x.txt",
        "/lakegate/admin/v1/bindings/sub/x.toml",
    ] {
        // A small body: the name is refused before the body is looked at, and a large unread
        // body would make the server's close race with the client's write.
        let r = srv
            .raw("PUT", path)
            .body(b"\0asm".to_vec())
            .send_tcp()
            .await;
        // An encoded slash may already fail the signature check (the signer and the server
        // canonicalize `%2F` differently); either way the request is refused.
        let refused = r.status == 400 || (path.contains("%2F") && r.status == 403);
        assert!(refused, "{path}: {} {}", r.status, r.text());
    }
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/bindings/../x.toml")
        .body("x")
        .send_tcp()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(!pol.dir.parent().unwrap().join("evil.toml").exists());
    assert!(!pol.dir.parent().unwrap().join("evil.wasm").exists());

    // An invalid binding is refused with its location, and not written.
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/bindings/up.toml")
        .body(
            "bucket = \"upl\"\nkind = \"retention\"\nplugin = \"plugins/ret-1.wasm\"\ncolour = 1\n",
        )
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    let err = v["error"].as_str().unwrap();
    assert!(
        err.contains("up.toml:4:1") && err.contains("unknown field `colour`"),
        "{err}"
    );
    assert!(!pol.path("up.toml").exists());

    // A valid binding: written, loaded, its state returned.
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/bindings/up.toml")
        .body(retention_binding_text("upl", "plugins/ret-1.wasm", 12))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["state"], "active", "{v:#}");
    assert_eq!(v["plugin_hash"], sha256_hex(&wasm));
    assert_eq!(v["config"]["days"], 12);
    assert!(pol.path("up.toml").exists());
    let t = now_secs();
    srv.put("upl", "k", b"x".to_vec()).await;
    assert_days(
        &lock_of(&srv, "upl", "k").await,
        t,
        12.0,
        "uploaded binding",
    );

    // A new plugin version through the API reloads the bindings using it.
    let v2 = variant(&wasm, "admin");
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/plugins/ret-1.wasm")
        .body(v2.clone())
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["bindings"][0]["file"], "up.toml", "{v:#}");
    assert_eq!(v["bindings"][0]["plugin_hash"], sha256_hex(&v2), "{v:#}");

    // One binding's status (counters are those of the serving plugin version).
    srv.put("upl", "after-upload", b"x".to_vec()).await;
    let r = srv
        .raw("GET", "/lakegate/admin/v1/bindings/up.toml")
        .send()
        .await;
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["file"], "up.toml");
    assert!(v["calls"].as_u64().unwrap() >= 1);
    assert!(v["loaded_at"].as_str().unwrap().ends_with('Z'));

    // A binding whose plugin is missing: written, reported failed (422).
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/bindings/missing.toml")
        .body(retention_binding_text("other", "plugins/nope.wasm", 1))
        .send()
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["state"], "failed");
    assert!(
        v["error"].as_str().unwrap().contains("cannot read plugin"),
        "{v:#}"
    );

    // Delete: unbound.
    let r = srv
        .raw("DELETE", "/lakegate/admin/v1/bindings/up.toml")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!pol.path("up.toml").exists());
    assert!(binding_status(&srv, "up.toml").await.is_none());
    srv.put("upl", "k2", b"x".to_vec()).await;
    assert_eq!(lock_of(&srv, "upl", "k2").await, (None, None, false));
    let r = srv
        .raw("DELETE", "/lakegate/admin/v1/bindings/up.toml")
        .send()
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
}

#[tokio::test]
async fn admin_creates_a_missing_policies_dir() {
    let pol = PolicyDir::new();
    let missing = pol.path("not-yet");
    let srv = crate::common::TestServer::start_with_env(&[(
        "LAKEGATE_POLICIES",
        missing.to_str().unwrap(),
    )])
    .await;
    lock_bucket(&srv, "fresh").await;
    let wasm = fixture_bytes("fixed_retention");
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/plugins/r.wasm")
        .body(wasm.clone())
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = srv
        .raw("PUT", "/lakegate/admin/v1/bindings/fresh.toml")
        .body(retention_binding_text("fresh", "plugins/r.wasm", 2))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = now_secs();
    srv.put("fresh", "k", b"x".to_vec()).await;
    assert_days(&lock_of(&srv, "fresh", "k").await, t, 2.0, "fresh");
    // The directory created by the API is watched from then on.
    std::fs::write(
        missing.join("fresh.toml"),
        retention_binding_text("fresh", "plugins/r.wasm", 3),
    )
    .unwrap();
    wait_active(&srv, "fresh.toml", 3, &sha256_hex(&wasm)).await;
}
