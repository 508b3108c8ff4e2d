//! Strict request documents and half-closed connections, over raw sockets.
//!
//! Every XML request document must have exactly one root element with the name AWS gives it
//! (no namespace or the S3 one), with only a declaration, comments and whitespace around it,
//! and no DTD: anything else is `400 MalformedXML` and changes nothing. A client that sends a
//! complete request and then shuts down its sending side still gets its answer.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

fn addr_of(s: &TestServer) -> String {
    s.s3_url.trim_start_matches("http://").to_string()
}

/// One request document endpoint and a valid document for it.
struct Doc {
    method: &'static str,
    path: String,
    query: Vec<(&'static str, String)>,
    root: &'static str,
    good: String,
}

/// Documents that break the rules, made from `good` (whose root is `root`).
fn bad_variants(root: &str, good: &str) -> Vec<(&'static str, Vec<u8>)> {
    let renamed = good
        .replacen(&format!("<{root}"), "<Wrong", 1)
        .replace(&format!("</{root}>"), "</Wrong>");
    let lower = good
        .replacen(&format!("<{root}"), &format!("<{}", root.to_lowercase()), 1)
        .replace(
            &format!("</{root}>"),
            &format!("</{}>", root.to_lowercase()),
        );
    let ns = S3NS;
    let foreign_ns = good.replacen(&format!("<{root}"), &format!("<{root} xmlns=\"urn:x\""), 1);
    let prefixed = good
        .replacen(
            &format!("<{root}"),
            &format!("<s3:{root} xmlns:s3=\"{ns}\""),
            1,
        )
        .replace(&format!("</{root}>"), &format!("</s3:{root}>"));
    let mut bad_utf8 = good.as_bytes().to_vec();
    let at = good.find('>').map_or(0, |i| i + 1);
    bad_utf8.insert(at, 0xff);
    vec![
        ("wrong root", renamed.into_bytes()),
        ("root in lower case", lower.into_bytes()),
        ("root in another namespace", foreign_ns.into_bytes()),
        ("prefixed root", prefixed.into_bytes()),
        ("two roots", format!("{good}{good}").into_bytes()),
        ("second, other root", format!("{good}<Extra/>").into_bytes()),
        (
            "text after the root",
            format!("{good}trailing").into_bytes(),
        ),
        ("text before the root", format!("x{good}").into_bytes()),
        ("PI after the root", format!("{good}<?pi x?>").into_bytes()),
        (
            "DOCTYPE",
            format!("<?xml version=\"1.0\"?>\n<!DOCTYPE {root}>\n{good}").into_bytes(),
        ),
        (
            "internal entity",
            format!("<!DOCTYPE {root} [<!ENTITY e \"v\">]>{good}").into_bytes(),
        ),
        (
            "external entity",
            format!("<!DOCTYPE {root} [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{good}")
                .into_bytes(),
        ),
        (
            "entity declaration after the root",
            format!("{good}<!ENTITY e \"v\">").into_bytes(),
        ),
        ("invalid UTF-8", bad_utf8),
    ]
}

const S3NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// The accepted decoration of `good`: declaration, comments, whitespace, the S3 namespace.
fn decorated(root: &str, good: &str) -> String {
    let with_ns = good.replacen(&format!("<{root}"), &format!("<{root} xmlns=\"{S3NS}\""), 1);
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- request -->\n{with_ns}\n<!-- end -->\r\n\t"
    )
}

async fn send_doc(s: &TestServer, d: &Doc, body: &[u8]) -> RawResponse {
    let mut r = s
        .raw(d.method, &d.path)
        .header("content-md5", &md5_b64(body))
        .body(body.to_vec());
    for (k, v) in &d.query {
        r = r.query(k, v);
    }
    r.send().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_documents_have_strict_roots() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let lb = s.lock_bucket().await;
    s.put(&b, "obj", "x").await;
    s.put(&lb, "locked", "x").await;
    let up = s
        .client()
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .send()
        .await
        .unwrap();
    let upload_id = up.upload_id().unwrap().to_string();
    let part = s
        .client()
        .upload_part()
        .bucket(&b)
        .key("mp")
        .upload_id(&upload_id)
        .part_number(1)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"part"))
        .send()
        .await
        .unwrap();
    let etag = part.e_tag().unwrap().to_string();
    let new_bucket = unique_bucket("cbc");

    let docs = vec![
        Doc {
            method: "PUT",
            path: format!("/{b}"),
            query: vec![("versioning", String::new())],
            root: "VersioningConfiguration",
            good: "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
                .into(),
        },
        Doc {
            method: "PUT",
            path: format!("/{b}"),
            query: vec![("tagging", String::new())],
            root: "Tagging",
            good: "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
                .into(),
        },
        Doc {
            method: "PUT",
            path: format!("/{b}/obj"),
            query: vec![("tagging", String::new())],
            root: "Tagging",
            good: "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
                .into(),
        },
        Doc {
            method: "POST",
            path: format!("/{b}/mp"),
            query: vec![("uploadId", upload_id.clone())],
            root: "CompleteMultipartUpload",
            good: format!(
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
                etag.replace('"', "&quot;")
            ),
        },
        Doc {
            method: "PUT",
            path: format!("/{b}"),
            query: vec![("lifecycle", String::new())],
            root: "LifecycleConfiguration",
            good: "<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status>\
                   <Filter><Prefix>logs/</Prefix></Filter><Expiration><Days>30</Days></Expiration>\
                   </Rule></LifecycleConfiguration>"
                .into(),
        },
        Doc {
            method: "PUT",
            path: format!("/{lb}"),
            query: vec![("object-lock", String::new())],
            root: "ObjectLockConfiguration",
            good: "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>\
                   <Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>\
                   </ObjectLockConfiguration>"
                .into(),
        },
        Doc {
            method: "PUT",
            path: format!("/{lb}/locked"),
            query: vec![("retention", String::new())],
            root: "Retention",
            good: "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>"
                .into(),
        },
        Doc {
            method: "PUT",
            path: format!("/{lb}/locked"),
            query: vec![("legal-hold", String::new())],
            root: "LegalHold",
            good: "<LegalHold><Status>ON</Status></LegalHold>".into(),
        },
        Doc {
            method: "PUT",
            path: format!("/{new_bucket}"),
            query: vec![],
            root: "CreateBucketConfiguration",
            good: "<CreateBucketConfiguration></CreateBucketConfiguration>".into(),
        },
        // Last: it deletes `obj`.
        Doc {
            method: "POST",
            path: format!("/{b}"),
            query: vec![("delete", String::new())],
            root: "Delete",
            good: "<Delete><Quiet>true</Quiet><Object><Key>obj</Key></Object></Delete>".into(),
        },
    ];

    for d in &docs {
        for (what, body) in bad_variants(d.root, &d.good) {
            let r = send_doc(&s, d, &body).await;
            assert_eq!(
                (r.status, r.code().as_deref()),
                (400, Some("MalformedXML")),
                "{} {} {:?} ({what}): {}\n{}",
                d.method,
                d.path,
                d.query,
                String::from_utf8_lossy(&body),
                r.text()
            );
        }
    }

    // Nothing of the refused documents took effect.
    let v = s
        .raw("GET", &format!("/{b}"))
        .query("versioning", "")
        .send()
        .await;
    v.assert_ok();
    assert_eq!(xml_value(&v.text(), "Status"), None, "{}", v.text());
    let t = s
        .raw("GET", &format!("/{b}/obj"))
        .query("tagging", "")
        .send()
        .await;
    t.assert_ok();
    assert!(xml_values(&t.text(), "Key").is_empty(), "{}", t.text());
    assert_eq!(s.get(&b, "obj").await, b"x");
    let parts = s
        .client()
        .list_parts()
        .bucket(&b)
        .key("mp")
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert_eq!(parts.parts().len(), 1);
    let lh = s
        .raw("GET", &format!("/{lb}/locked"))
        .query("legal-hold", "")
        .send()
        .await;
    assert_ne!(
        xml_value(&lh.text(), "Status").as_deref(),
        Some("ON"),
        "{}",
        lh.text()
    );
    assert_status(
        s.client().head_bucket().bucket(&new_bucket).send().await,
        404,
    );

    // The same documents with a declaration, comments, whitespace and the S3 namespace are
    // accepted, each under its own root name.
    for d in &docs {
        let body = decorated(d.root, &d.good);
        let r = send_doc(&s, d, body.as_bytes()).await;
        if d.root == "LifecycleConfiguration" {
            // Whether lifecycle is available depends on the policy engine; the document parsed.
            assert_ne!(r.code().as_deref(), Some("MalformedXML"), "{}", r.text());
            continue;
        }
        assert!(
            (200..300).contains(&r.status),
            "{} {} {:?}: {} {}\n{body}",
            d.method,
            d.path,
            d.query,
            r.status,
            r.text()
        );
    }
    let v = s
        .raw("GET", &format!("/{b}"))
        .query("versioning", "")
        .send()
        .await;
    assert_eq!(xml_value(&v.text(), "Status").as_deref(), Some("Enabled"));
    assert_status(
        s.client().head_object().bucket(&b).key("obj").send().await,
        404,
    );
    assert_eq!(s.get(&b, "mp").await, b"part");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_bucket_versioning_refuses_a_foreign_root() {
    // The case: a foreign root used to be answered 200 (and ignored).
    let s = TestServer::start().await;
    let b = s.bucket().await;
    for body in [
        "<Foo><Status>Enabled</Status></Foo>",
        "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration><VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>",
        "<!DOCTYPE d [<!ENTITY s \"Enabled\">]><VersioningConfiguration><Status>&s;</Status></VersioningConfiguration>",
    ] {
        let r = s
            .raw("PUT", &format!("/{b}"))
            .query("versioning", "")
            .body(body)
            .send_tcp()
            .await;
        r.assert_error(400, "MalformedXML");
    }
    let v = s
        .raw("GET", &format!("/{b}"))
        .query("versioning", "")
        .send()
        .await;
    assert_eq!(xml_value(&v.text(), "Status"), None, "{}", v.text());
}

/// `bytes` without the `connection: close` header `to_http1` adds (a keep-alive request).
fn keep_alive(bytes: Vec<u8>) -> Vec<u8> {
    let needle = b"connection: close\r\n";
    match bytes.windows(needle.len()).position(|w| w == needle) {
        Some(i) => [&bytes[..i], &bytes[i + needle.len()..]].concat(),
        None => bytes,
    }
}

/// Writes `bytes`, shuts down the sending side, reads until the server closes (at most
/// `limit`). Returns what was read and how long the close took (`None`: still open).
async fn half_closed_exchange(
    addr: &str,
    bytes: &[u8],
    limit: Duration,
) -> (Vec<u8>, Option<Duration>) {
    let start = Instant::now();
    let mut sock = TcpStream::connect(addr).await.expect("connect");
    sock.write_all(bytes).await.expect("write request");
    sock.shutdown().await.expect("half-close");
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, sock.read(&mut buf)).await {
            Err(_) => return (out, None),
            Ok(Ok(0)) | Ok(Err(_)) => return (out, Some(start.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_then_half_close_is_answered_and_stored() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let addr = addr_of(&s);
    for i in 0..20u64 {
        let key = format!("hc-{i}");
        let data = random_bytes(4096 + i as usize * 1000, i);
        let req = s.raw_object("PUT", &b, &key).body(data.clone());
        // Both with `connection: close` and as a keep-alive request.
        let bytes = if i % 2 == 0 {
            req.to_http1(None, None)
        } else {
            keep_alive(req.to_http1(None, None))
        };
        let (resp, closed) = half_closed_exchange(&addr, &bytes, Duration::from_secs(15)).await;
        assert!(!resp.is_empty(), "PUT {key} + half-close: no response");
        let r = parse_http1_response(&resp);
        assert_eq!(r.status, 200, "PUT {key}: {}", r.text());
        assert_eq!(r.header("etag"), Some(quoted_md5(&data)));
        // The half-closed connection does not linger once answered (the idle timeout is 60 s).
        let closed = closed.unwrap_or_else(|| panic!("PUT {key}: connection left open"));
        assert!(closed < Duration::from_secs(5), "{closed:?}");
        assert_eq!(s.get(&b, &key).await, data, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_pipelined_requests_with_half_close() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let addr = addr_of(&s);
    let big = random_bytes(3 * 1024 * 1024 + 7, 99);
    s.put(&b, "big", big.clone()).await;

    // A GET then half-close gets the whole body (larger than the socket buffers).
    for keep in [false, true] {
        let req = s.raw_object("GET", &b, "big").to_http1(None, None);
        let bytes = if keep { keep_alive(req) } else { req };
        let (resp, closed) = half_closed_exchange(&addr, &bytes, Duration::from_secs(30)).await;
        let r = parse_http1_response(&resp);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.body.len(), big.len());
        assert!(r.body == big, "GET body differs");
        let closed = closed.unwrap_or_else(|| panic!("GET + half-close: connection left open"));
        assert!(closed < Duration::from_secs(20), "{closed:?}");
    }

    // Two pipelined keep-alive PUTs, then half-close: both answered, both stored.
    let one = keep_alive(
        s.raw_object("PUT", &b, "p1")
            .body("first")
            .to_http1(None, None),
    );
    let two = keep_alive(
        s.raw_object("PUT", &b, "p2")
            .body("second")
            .to_http1(None, None),
    );
    let (resp, closed) =
        half_closed_exchange(&addr, &[one, two].concat(), Duration::from_secs(15)).await;
    let text = String::from_utf8_lossy(&resp);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    let closed = closed.unwrap_or_else(|| panic!("pipelined + half-close: connection left open"));
    assert!(closed < Duration::from_secs(5), "{closed:?}");
    assert_eq!(s.get(&b, "p1").await, b"first");
    assert_eq!(s.get(&b, "p2").await, b"second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_closed_incomplete_requests_are_closed() {
    // Default timers (30 s first request, 60 s idle and body): each close below comes from the
    // EOF itself, not from a watchdog.
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let addr = addr_of(&s);
    let limit = Duration::from_secs(10);
    let prompt = |closed: Option<Duration>, what: &str| {
        let closed = closed.unwrap_or_else(|| panic!("{what}: connection left open"));
        assert!(
            closed < Duration::from_secs(5),
            "{what}: closed after {closed:?}"
        );
    };

    // Nothing sent, sending side shut at once.
    let (_, closed) = half_closed_exchange(&addr, b"", limit).await;
    prompt(closed, "empty half-closed connection");

    // Half a request head.
    let (resp, closed) =
        half_closed_exchange(&addr, b"PUT /x/y HTTP/1.1\r\nhost: x\r\ncontent-le", limit).await;
    prompt(closed, "half a head");
    if !resp.is_empty() {
        let r = parse_http1_response(&resp);
        assert!(r.status >= 400, "{} {}", r.status, r.text());
    }

    // A whole head, 10 of 100 body bytes (signed and unsigned payloads, both connection modes).
    let data = random_bytes(100, 7);
    for (i, unsigned) in [(0, false), (1, true), (2, false), (3, true)] {
        let key = format!("short-{i}");
        let mut req = s.raw_object("PUT", &b, &key).body(data.clone());
        if unsigned {
            req = req.payload_hash("UNSIGNED-PAYLOAD");
        }
        let bytes = req.to_http1(Some(100), Some(10));
        let bytes = if i >= 2 { keep_alive(bytes) } else { bytes };
        let (resp, closed) = half_closed_exchange(&addr, &bytes, limit).await;
        prompt(closed, &key);
        if !resp.is_empty() {
            let r = parse_http1_response(&resp);
            assert!(r.status >= 400, "{key}: {} {}", r.status, r.text());
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list = s
        .client()
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(list.key_count(), Some(0), "{:?}", list.contents());

    // A complete request then half-close, on the same server: answered.
    let bytes = keep_alive(
        s.raw_object("PUT", &b, "whole")
            .body("ok")
            .to_http1(None, None),
    );
    let (resp, closed) = half_closed_exchange(&addr, &bytes, limit).await;
    assert_eq!(parse_http1_response(&resp).status, 200);
    prompt(closed, "whole request");
    assert_eq!(s.get(&b, "whole").await, b"ok");
}
