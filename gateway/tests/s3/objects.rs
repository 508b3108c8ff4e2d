//! PutObject, GetObject (Range, conditionals, response-* overrides), HeadObject, DeleteObject,
//! DeleteObjects, CopyObject, metadata, Content-MD5.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{Delete, MetadataDirective, ObjectIdentifier};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_head_roundtrip_with_metadata() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = random_bytes(100_000, 1);
    let expires = DateTime::from_secs(2_000_000_000);
    let put = c
        .put_object()
        .bucket(&b)
        .key("obj.bin")
        .body(body(data.clone()))
        .content_type("application/x-test")
        .content_encoding("gzip")
        .content_disposition("attachment; filename=\"obj.bin\"")
        .content_language("de-CH")
        .cache_control("max-age=60")
        .expires(expires)
        .metadata("color", "blue")
        .metadata("multi-word", "hello world")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(put.e_tag(), Some(quoted_md5(&data).as_str()));

    let head = c
        .head_object()
        .bucket(&b)
        .key("obj.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(100_000));
    assert_eq!(head.e_tag(), Some(quoted_md5(&data).as_str()));
    assert_eq!(head.content_type(), Some("application/x-test"));
    assert_eq!(head.content_encoding(), Some("gzip"));
    assert_eq!(
        head.content_disposition(),
        Some("attachment; filename=\"obj.bin\"")
    );
    assert_eq!(head.content_language(), Some("de-CH"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    let exp = head.expires_string().expect("Expires header");
    assert_eq!(
        httpdate::parse_http_date(exp).unwrap(),
        UNIX_EPOCH + Duration::from_secs(2_000_000_000)
    );
    let meta = head.metadata().expect("metadata");
    assert_eq!(meta.get("color").map(String::as_str), Some("blue"));
    assert_eq!(
        meta.get("multi-word").map(String::as_str),
        Some("hello world")
    );
    assert!(head.last_modified().is_some());
    let lm = head.last_modified().unwrap().secs();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((lm - now).abs() < 120, "Last-Modified {lm} vs now {now}");

    let get = c
        .get_object()
        .bucket(&b)
        .key("obj.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(get.content_type(), Some("application/x-test"));
    assert_eq!(get.content_encoding(), Some("gzip"));
    assert_eq!(get.cache_control(), Some("max-age=60"));
    assert_eq!(
        get.metadata().unwrap().get("color").map(String::as_str),
        Some("blue")
    );
    assert_eq!(get.content_length(), Some(100_000));
    assert_eq!(get.e_tag(), Some(quoted_md5(&data).as_str()));
    assert_eq!(read_body(get).await, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_content_type_and_accept_ranges() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    // Raw PUT without Content-Type.
    s.raw_object("PUT", &b, "plain")
        .body("xyz")
        .send()
        .await
        .assert_ok();
    let r = s.raw_object("GET", &b, "plain").send().await;
    r.assert_ok();
    assert_eq!(r.body, b"xyz");
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct == "binary/octet-stream" || ct == "application/octet-stream",
        "default Content-Type {ct:?}"
    );
    assert_eq!(r.header("accept-ranges").as_deref(), Some("bytes"));
    assert!(r.header("last-modified").is_some());
    assert_eq!(r.header("etag"), Some(quoted_md5(b"xyz")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_object() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let etag = s.put(&b, "empty", Vec::new()).await;
    assert_eq!(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
    let head = s
        .client()
        .head_object()
        .bucket(&b)
        .key("empty")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(0));
    assert_eq!(s.get(&b, "empty").await, b"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_single_put_20mib() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let data = random_bytes(20 * MIB + 7, 2);
    let etag = s.put(&b, "big", data.clone()).await;
    assert_eq!(etag, quoted_md5(&data));
    let got = s.get(&b, "big").await;
    assert_eq!(got.len(), data.len());
    assert!(got == data, "20 MiB body differs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_replaces_content_and_metadata() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    c.put_object()
        .bucket(&b)
        .key("k")
        .body(body("first"))
        .metadata("a", "1")
        .send()
        .await
        .unwrap();
    c.put_object()
        .bucket(&b)
        .key("k")
        .body(body("second!"))
        .metadata("b", "2")
        .send()
        .await
        .unwrap();
    let head = c.head_object().bucket(&b).key("k").send().await.unwrap();
    let meta = head.metadata().unwrap();
    assert_eq!(meta.get("a"), None);
    assert_eq!(meta.get("b").map(String::as_str), Some("2"));
    assert_eq!(s.get(&b, "k").await, b"second!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_object_errors() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    assert_err(
        c.get_object().bucket(&b).key("nope").send().await,
        404,
        "NoSuchKey",
    );
    let (status, _) = expect_err(c.head_object().bucket(&b).key("nope").send().await);
    assert_eq!(status, 404);
    // Deleting a missing key is not an error.
    c.delete_object()
        .bucket(&b)
        .key("nope")
        .send()
        .await
        .unwrap();
    // Raw: the error body names the key and carries a request id.
    let r = s.raw_object("GET", &b, "nope").send().await;
    r.assert_error(404, "NoSuchKey");
    let text = r.text();
    assert!(text.contains("<Message>"), "{text}");
    let rid = xml_value(&text, "RequestId").expect("RequestId in error body");
    assert!(!rid.is_empty());
    assert_eq!(r.header("x-amz-request-id").as_deref(), Some(rid.as_str()));
    assert!(
        r.header("content-type").unwrap_or_default().contains("xml"),
        "error Content-Type"
    );
    // HEAD errors carry no body but the status.
    let r = s.raw_object("HEAD", &b, "nope").send().await;
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty());
    assert!(r.header("x-amz-request-id").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_object_removes_it() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "gone", "x").await;
    let r = s.raw_object("DELETE", &b, "gone").send().await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_err(
        s.client().get_object().bucket(&b).key("gone").send().await,
        404,
        "NoSuchKey",
    );
    let list = s
        .client()
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(list.key_count(), Some(0));
}

fn range_get(
    s: &TestServer,
    b: &str,
    key: &str,
    range: &str,
) -> aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder {
    s.client().get_object().bucket(b).key(key).range(range)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_requests() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let data: Vec<u8> = (0..100u8).collect();
    s.put(&b, "r", data.clone()).await;

    let cases: &[(&str, std::ops::Range<usize>)] = &[
        ("bytes=0-9", 0..10),
        ("bytes=10-", 10..100),
        ("bytes=-5", 95..100),
        ("bytes=90-200", 90..100),
        ("bytes=99-99", 99..100),
        ("bytes=0-0", 0..1),
        ("bytes=-200", 0..100),
    ];
    for (range, want) in cases {
        let out = range_get(&s, &b, "r", range)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{range}: {}", fmt_err(&e)));
        let cr = format!("bytes {}-{}/100", want.start, want.end - 1);
        assert_eq!(out.content_range(), Some(cr.as_str()), "{range}");
        assert_eq!(out.content_length(), Some(want.len() as i64), "{range}");
        assert_eq!(read_body(out).await, &data[want.clone()], "{range}");
    }
    // Status 206 on the wire.
    let r = s
        .raw_object("GET", &b, "r")
        .header("range", "bytes=1-2")
        .send()
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, vec![1, 2]);
    assert_eq!(r.header("content-range").as_deref(), Some("bytes 1-2/100"));

    // Unsatisfiable.
    for range in ["bytes=100-200", "bytes=100-"] {
        let r = s
            .raw_object("GET", &b, "r")
            .header("range", range)
            .send()
            .await;
        r.assert_error(416, "InvalidRange");
        let cr = r.header("content-range");
        assert!(
            cr.is_none() || cr.as_deref() == Some("bytes */100"),
            "{range}: Content-Range {cr:?}"
        );
    }
    assert_err(
        range_get(&s, &b, "r", "bytes=150-").send().await,
        416,
        "InvalidRange",
    );
    // Syntactically invalid ranges are ignored: full object, 200.
    let r = s
        .raw_object("GET", &b, "r")
        .header("range", "bytes=abc")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_on_head() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "r", vec![7u8; 1000]).await;
    let out = s
        .client()
        .head_object()
        .bucket(&b)
        .key("r")
        .range("bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_length(), Some(100));
    assert_eq!(out.content_range(), Some("bytes 100-199/1000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_get() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let etag = s.put(&b, "c", "conditional").await;
    let past = DateTime::from_secs(1_000_000_000);
    let future = DateTime::from_secs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 86_400,
    );

    // If-Match
    let out = c
        .get_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    assert_eq!(read_body(out).await, b"conditional");
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_match("*")
        .send()
        .await
        .unwrap();
    assert_err(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    // If-None-Match
    let (st, _) = expect_err(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_none_match(&etag)
            .send()
            .await,
    );
    assert_eq!(st, 304);
    let (st, _) = expect_err(
        c.head_object()
            .bucket(&b)
            .key("c")
            .if_none_match(&etag)
            .send()
            .await,
    );
    assert_eq!(st, 304);
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_none_match("\"0123456789abcdef0123456789abcdef\"")
        .send()
        .await
        .unwrap();
    // If-Modified-Since
    let (st, _) = expect_err(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_modified_since(future)
            .send()
            .await,
    );
    assert_eq!(st, 304);
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_modified_since(past)
        .send()
        .await
        .unwrap();
    // If-Unmodified-Since
    assert_err(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_unmodified_since(past)
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_unmodified_since(future)
        .send()
        .await
        .unwrap();
    // RFC 7232 precedence: If-Match true + If-Unmodified-Since false → 200.
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .if_unmodified_since(past)
        .send()
        .await
        .unwrap();
    // If-None-Match false + If-Modified-Since true → 304.
    let (st, _) = expect_err(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_none_match(&etag)
            .if_modified_since(past)
            .send()
            .await,
    );
    assert_eq!(st, 304);
    // 304 carries the ETag.
    let r = s
        .raw_object("GET", &b, "c")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag").as_deref(), Some(etag.as_str()));
    assert!(r.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_header_overrides() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.client()
        .put_object()
        .bucket(&b)
        .key("o")
        .body(body("override me"))
        .content_type("text/plain")
        .send()
        .await
        .unwrap();
    let out = s
        .client()
        .get_object()
        .bucket(&b)
        .key("o")
        .response_content_type("application/json")
        .response_content_disposition("attachment; filename=\"x.json\"")
        .response_cache_control("no-cache")
        .response_content_language("fr")
        .response_content_encoding("identity")
        .response_expires(DateTime::from_secs(1_900_000_000))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(out.content_type(), Some("application/json"));
    assert_eq!(
        out.content_disposition(),
        Some("attachment; filename=\"x.json\"")
    );
    assert_eq!(out.cache_control(), Some("no-cache"));
    assert_eq!(out.content_language(), Some("fr"));
    assert_eq!(out.content_encoding(), Some("identity"));
    let exp = out.expires_string().expect("Expires");
    assert_eq!(
        httpdate::parse_http_date(exp).unwrap(),
        UNIX_EPOCH + Duration::from_secs(1_900_000_000)
    );
    assert_eq!(read_body(out).await, b"override me");
    // Overrides do not change the stored object.
    let head = s
        .client()
        .head_object()
        .bucket(&b)
        .key("o")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/plain"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_md5_good_bad_invalid() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = b"content md5 checked".to_vec();
    c.put_object()
        .bucket(&b)
        .key("good")
        .body(body(data.clone()))
        .content_md5(md5_b64(&data))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(s.get(&b, "good").await, data);

    assert_err(
        c.put_object()
            .bucket(&b)
            .key("bad")
            .body(body(data.clone()))
            .content_md5(md5_b64(b"something else"))
            .send()
            .await,
        400,
        "BadDigest",
    );
    assert_err(
        c.get_object().bucket(&b).key("bad").send().await,
        404,
        "NoSuchKey",
    );

    assert_err(
        c.put_object()
            .bucket(&b)
            .key("invalid")
            .body(body(data.clone()))
            .content_md5("not-base64!!")
            .send()
            .await,
        400,
        "InvalidDigest",
    );
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("invalid")
            .body(body(data.clone()))
            .content_md5(b64(b"short"))
            .send()
            .await,
        400,
        "InvalidDigest",
    );
    assert_err(
        c.get_object().bucket(&b).key("invalid").send().await,
        404,
        "NoSuchKey",
    );
    // A failed overwrite leaves the previous object intact.
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("good")
            .body(body("replacement"))
            .content_md5(md5_b64(b"nope"))
            .send()
            .await,
        400,
        "BadDigest",
    );
    assert_eq!(s.get(&b, "good").await, data);
}

fn ids(keys: &[&str]) -> Vec<ObjectIdentifier> {
    keys.iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_verbose_and_quiet() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    for k in ["a", "b", "c/d", "e f", "g+h"] {
        s.put(&b, k, k.as_bytes().to_vec()).await;
    }
    let out = c
        .delete_objects()
        .bucket(&b)
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&["a", "c/d", "never-existed", "e f"])))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    // A missing key is reported as deleted (S3 semantics).
    assert_eq!(deleted, vec!["a", "c/d", "e f", "never-existed"]);
    assert!(out.errors().is_empty(), "{:?}", out.errors());

    let out = c
        .delete_objects()
        .bucket(&b)
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&["b", "g+h"])))
                .quiet(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        out.deleted().is_empty(),
        "quiet mode lists no Deleted: {:?}",
        out.deleted()
    );
    assert!(out.errors().is_empty());
    let list = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(list.key_count(), Some(0), "{:?}", list.contents());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_on_missing_bucket() {
    let s = TestServer::start().await;
    assert_err(
        s.client()
            .delete_objects()
            .bucket(unique_bucket("nobucket"))
            .delete(
                Delete::builder()
                    .set_objects(Some(ids(&["a"])))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        404,
        "NoSuchBucket",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object_copy_and_replace_metadata() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let b2 = s.bucket().await;
    let c = s.client();
    let data = random_bytes(300_000, 3);
    c.put_object()
        .bucket(&b)
        .key("src")
        .body(body(data.clone()))
        .content_type("image/png")
        .metadata("origin", "camera")
        .send()
        .await
        .unwrap();

    // COPY (default): metadata and content type come from the source.
    let out = c
        .copy_object()
        .bucket(&b2)
        .key("dst-copy")
        .copy_source(format!("{b}/src"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let res = out.copy_object_result().expect("CopyObjectResult");
    assert_eq!(res.e_tag(), Some(quoted_md5(&data).as_str()));
    assert!(res.last_modified().is_some());
    let head = c
        .head_object()
        .bucket(&b2)
        .key("dst-copy")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("image/png"));
    assert_eq!(
        head.metadata().unwrap().get("origin").map(String::as_str),
        Some("camera")
    );
    assert_eq!(s.get(&b2, "dst-copy").await, data);

    // COPY ignores metadata given on the request.
    c.copy_object()
        .bucket(&b)
        .key("dst-copy2")
        .copy_source(format!("{b}/src"))
        .metadata_directive(MetadataDirective::Copy)
        .metadata("ignored", "yes")
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket(&b)
        .key("dst-copy2")
        .send()
        .await
        .unwrap();
    let meta = head.metadata().unwrap();
    assert_eq!(meta.get("origin").map(String::as_str), Some("camera"));
    assert_eq!(meta.get("ignored"), None);

    // REPLACE: only the request's metadata.
    c.copy_object()
        .bucket(&b)
        .key("dst-replace")
        .copy_source(format!("{b}/src"))
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/csv")
        .metadata("fresh", "1")
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket(&b)
        .key("dst-replace")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/csv"));
    let meta = head.metadata().unwrap();
    assert_eq!(meta.get("fresh").map(String::as_str), Some("1"));
    assert_eq!(meta.get("origin"), None);
    assert_eq!(s.get(&b, "dst-replace").await, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object_self_copy_rules() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    c.put_object()
        .bucket(&b)
        .key("self")
        .body(body("same bytes"))
        .metadata("v", "1")
        .send()
        .await
        .unwrap();
    assert_err(
        c.copy_object()
            .bucket(&b)
            .key("self")
            .copy_source(format!("{b}/self"))
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    c.copy_object()
        .bucket(&b)
        .key("self")
        .copy_source(format!("{b}/self"))
        .metadata_directive(MetadataDirective::Replace)
        .metadata("v", "2")
        .content_type("text/plain")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let head = c.head_object().bucket(&b).key("self").send().await.unwrap();
    assert_eq!(
        head.metadata().unwrap().get("v").map(String::as_str),
        Some("2")
    );
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(s.get(&b, "self").await, b"same bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object_conditions_and_errors() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let etag = s.put(&b, "src", "conditional copy").await;
    let past = DateTime::from_secs(1_000_000_000);
    let future = DateTime::from_secs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 86_400,
    );
    let wrong = "\"0123456789abcdef0123456789abcdef\"";
    let copy = |dst: &str| {
        c.copy_object()
            .bucket(&b)
            .key(dst)
            .copy_source(format!("{b}/src"))
    };
    copy("ok1")
        .copy_source_if_match(&etag)
        .send()
        .await
        .unwrap();
    assert_err(
        copy("no1").copy_source_if_match(wrong).send().await,
        412,
        "PreconditionFailed",
    );
    copy("ok2")
        .copy_source_if_none_match(wrong)
        .send()
        .await
        .unwrap();
    assert_err(
        copy("no2").copy_source_if_none_match(&etag).send().await,
        412,
        "PreconditionFailed",
    );
    copy("ok3")
        .copy_source_if_unmodified_since(future)
        .send()
        .await
        .unwrap();
    assert_err(
        copy("no3")
            .copy_source_if_unmodified_since(past)
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    copy("ok4")
        .copy_source_if_modified_since(past)
        .send()
        .await
        .unwrap();
    assert_err(
        copy("no4")
            .copy_source_if_modified_since(future)
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    for k in ["no1", "no2", "no3", "no4"] {
        assert_status(c.head_object().bucket(&b).key(k).send().await, 404);
    }
    for k in ["ok1", "ok2", "ok3", "ok4"] {
        assert_eq!(s.get(&b, k).await, b"conditional copy");
    }

    // Missing source key / bucket.
    assert_err(
        c.copy_object()
            .bucket(&b)
            .key("x")
            .copy_source(format!("{b}/missing"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    assert_err(
        c.copy_object()
            .bucket(&b)
            .key("x")
            .copy_source(format!("{}/src", unique_bucket("nob")))
            .send()
            .await,
        404,
        "NoSuchBucket",
    );
    // Missing destination bucket.
    assert_err(
        c.copy_object()
            .bucket(unique_bucket("nodst"))
            .key("x")
            .copy_source(format!("{b}/src"))
            .send()
            .await,
        404,
        "NoSuchBucket",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object_with_encoded_source_key() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let key = "dir with space/ü+plus%percent?q=1";
    s.put(&b, key, "weird source").await;
    s.client()
        .copy_object()
        .bucket(&b)
        .key("dst")
        .copy_source(format!("{b}/{}", uri_encode(key, false)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(s.get(&b, "dst").await, b"weird source");
    // Leading slash form.
    s.client()
        .copy_object()
        .bucket(&b)
        .key("dst2")
        .copy_source(format!("/{b}/{}", uri_encode(key, false)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(s.get(&b, "dst2").await, b"weird source");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_too_large() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    // User metadata is limited to 2 KB.
    assert_err(
        s.client()
            .put_object()
            .bucket(&b)
            .key("m")
            .metadata("big", "x".repeat(3000))
            .body(body("x"))
            .send()
            .await,
        400,
        "MetadataTooLarge",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_and_gets_of_distinct_keys() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let c = s.client().clone();
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let data = random_bytes(64 * 1024 + i as usize, i);
            c.put_object()
                .bucket(&b)
                .key(format!("k{i}"))
                .body(body(data.clone()))
                .send()
                .await
                .unwrap();
            let got = c
                .get_object()
                .bucket(&b)
                .key(format!("k{i}"))
                .send()
                .await
                .unwrap();
            assert_eq!(read_body(got).await, data);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let list = s
        .client()
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(list.key_count(), Some(32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_overwrites_of_one_key_leave_one_whole_version() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let mut tasks = Vec::new();
    let bodies: Vec<Vec<u8>> = (0..8u64)
        .map(|i| random_bytes(256 * 1024, 100 + i))
        .collect();
    for d in bodies.clone() {
        let c = s.client().clone();
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            c.put_object()
                .bucket(&b)
                .key("hot")
                .body(body(d))
                .send()
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let got = s.get(&b, "hot").await;
    assert!(
        bodies.contains(&got),
        "final body is not one of the written bodies"
    );
    let head = s
        .client()
        .head_object()
        .bucket(&b)
        .key("hot")
        .send()
        .await
        .unwrap();
    assert_eq!(head.e_tag(), Some(quoted_md5(&got).as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_and_part_number_together_is_invalid() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "k", vec![1u8; 100]).await;
    let (st, code) = expect_err(
        s.client()
            .get_object()
            .bucket(&b)
            .key("k")
            .part_number(1)
            .range("bytes=0-1")
            .send()
            .await,
    );
    assert_eq!((st, code.as_str()), (400, "InvalidRequest"));
}
