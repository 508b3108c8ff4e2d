//! Conditional writes: `If-None-Match: *` and `If-Match` on PutObject and
//! CompleteMultipartUpload, atomic under concurrency.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_none_match_star() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    c.put_object()
        .bucket(&b)
        .key("once")
        .if_none_match("*")
        .body(body("first"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("once")
            .if_none_match("*")
            .body(body("second"))
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    assert_eq!(s.get(&b, "once").await, b"first");
    // After a delete the key is absent again.
    c.delete_object()
        .bucket(&b)
        .key("once")
        .send()
        .await
        .unwrap();
    c.put_object()
        .bucket(&b)
        .key("once")
        .if_none_match("*")
        .body(body("third"))
        .send()
        .await
        .unwrap();
    assert_eq!(s.get(&b, "once").await, b"third");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_none_match_after_delete_marker() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    s.put(&b, "k", "v1").await;
    c.delete_object().bucket(&b).key("k").send().await.unwrap();
    // The current version is a delete marker: the object does not exist.
    c.put_object()
        .bucket(&b)
        .key("k")
        .if_none_match("*")
        .body(body("v2"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(s.get(&b, "k").await, b"v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_match() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let e1 = s.put(&b, "k", "one").await;
    let out = c
        .put_object()
        .bucket(&b)
        .key("k")
        .if_match(&e1)
        .body(body("two"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let e2 = out.e_tag().unwrap().to_string();
    assert_ne!(e1, e2);
    // Stale ETag.
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("k")
            .if_match(&e1)
            .body(body("three"))
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    assert_eq!(s.get(&b, "k").await, b"two");
    // If-Match on a missing key.
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("absent")
            .if_match(&e1)
            .body(body("x"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    assert_status(c.head_object().bucket(&b).key("absent").send().await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_put_if_absent_exactly_one_wins() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let mut tasks = Vec::new();
    for i in 0..16u64 {
        let c = s.client().clone();
        let b = b.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let data = random_bytes(128 * 1024, 1000 + i);
            barrier.wait().await;
            let r = c
                .put_object()
                .bucket(&b)
                .key("race")
                .if_none_match("*")
                .body(body(data.clone()))
                .send()
                .await;
            match r {
                Ok(_) => (200u16, String::new(), data),
                Err(e) => {
                    let st = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
                    use aws_sdk_s3::error::ProvideErrorMetadata;
                    (st, e.code().unwrap_or("").to_string(), data)
                }
            }
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        let (st, code, data) = t.await.unwrap();
        if st == 200 {
            winners.push(data);
        } else {
            losers.push((st, code));
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one writer wins; losers: {losers:?}"
    );
    for (st, code) in &losers {
        assert_eq!((*st, code.as_str()), (412, "PreconditionFailed"));
    }
    assert_eq!(s.get(&b, "race").await, winners[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_put_if_match_exactly_one_wins() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let base = s.put(&b, "cas", "base").await;
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let c = s.client().clone();
        let b = b.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let r = c
                .put_object()
                .bucket(&b)
                .key("cas")
                .if_match(base)
                .body(body(format!("writer {i}")))
                .send()
                .await;
            r.is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1, "compare-and-swap: exactly one If-Match writer wins");
}

async fn upload_one_part(
    s: &TestServer,
    b: &str,
    key: &str,
    data: &[u8],
) -> (String, CompletedMultipartUpload) {
    let c = s.client();
    let up = c
        .create_multipart_upload()
        .bucket(b)
        .key(key)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_string();
    let part = c
        .upload_part()
        .bucket(b)
        .key(key)
        .upload_id(&id)
        .part_number(1)
        .body(body(data.to_vec()))
        .send()
        .await
        .unwrap();
    let done = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().unwrap())
                .build(),
        )
        .build();
    (id, done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_multipart_conditional() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let e1 = s.put(&b, "mp", "existing").await;

    // If-None-Match: * with an existing key fails.
    let (id, done) = upload_one_part(&s, &b, "mp", b"new content").await;
    assert_err(
        c.complete_multipart_upload()
            .bucket(&b)
            .key("mp")
            .upload_id(&id)
            .multipart_upload(done.clone())
            .if_none_match("*")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    assert_eq!(s.get(&b, "mp").await, b"existing");

    // If-Match with a wrong ETag fails; with the right one succeeds.
    assert_err(
        c.complete_multipart_upload()
            .bucket(&b)
            .key("mp")
            .upload_id(&id)
            .multipart_upload(done.clone())
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    c.complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(&id)
        .multipart_upload(done)
        .if_match(&e1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(s.get(&b, "mp").await, b"new content");

    // If-None-Match: * on an absent key succeeds.
    let (id, done) = upload_one_part(&s, &b, "fresh", b"fresh").await;
    c.complete_multipart_upload()
        .bucket(&b)
        .key("fresh")
        .upload_id(&id)
        .multipart_upload(done)
        .if_none_match("*")
        .send()
        .await
        .unwrap();
    assert_eq!(s.get(&b, "fresh").await, b"fresh");

    // If-Match on an absent key: 404 NoSuchKey.
    let (id, done) = upload_one_part(&s, &b, "absent", b"x").await;
    assert_err(
        c.complete_multipart_upload()
            .bucket(&b)
            .key("absent")
            .upload_id(&id)
            .multipart_upload(done)
            .if_match(&e1)
            .send()
            .await,
        404,
        "NoSuchKey",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_complete_if_none_match_exactly_one_wins() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let mut prepared = Vec::new();
    for i in 0..6u8 {
        let data = vec![b'a' + i; 1000];
        let (id, done) = upload_one_part(&s, &b, "race-mp", &data).await;
        prepared.push((id, done, data));
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(prepared.len()));
    let mut tasks = Vec::new();
    for (id, done, data) in prepared {
        let c = s.client().clone();
        let b = b.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = c
                .complete_multipart_upload()
                .bucket(&b)
                .key("race-mp")
                .upload_id(&id)
                .multipart_upload(done)
                .if_none_match("*")
                .send()
                .await;
            match r {
                Ok(_) => (200u16, String::new(), data),
                Err(e) => {
                    use aws_sdk_s3::error::ProvideErrorMetadata;
                    let st = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
                    (st, e.code().unwrap_or("").to_string(), data)
                }
            }
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        let (st, code, data) = t.await.unwrap();
        if st == 200 {
            winners.push(data);
        } else {
            losers.push((st, code));
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one Complete wins; losers: {losers:?}"
    );
    for (st, code) in &losers {
        assert_eq!((*st, code.as_str()), (412, "PreconditionFailed"));
    }
    assert_eq!(s.get(&b, "race-mp").await, winners[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_delete_object() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let put = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(body("four"))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_string();
    let head = c.head_object().bucket(&b).key("k").send().await.unwrap();
    let mtime = *head.last_modified().unwrap();
    let later = aws_sdk_s3::primitives::DateTime::from_secs(mtime.secs() + 10);

    // Each condition that does not hold: 412, nothing deleted.
    for req in [
        c.delete_object().bucket(&b).key("k").if_match("\"0123\""),
        c.delete_object().bucket(&b).key("k").if_match_size(5),
        c.delete_object()
            .bucket(&b)
            .key("k")
            .if_match_last_modified_time(later),
    ] {
        assert_err(req.send().await, 412, "PreconditionFailed");
    }
    assert_eq!(s.get(&b, "k").await, b"four");

    // All of them holding: the delete goes ahead (a delete marker here).
    let out = c
        .delete_object()
        .bucket(&b)
        .key("k")
        .if_match(&etag)
        .if_match_size(4)
        .if_match_last_modified_time(mtime)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(out.delete_marker(), Some(true));
    // The current version is now a delete marker: `*` matches it, an ETag does not.
    assert_err(
        c.delete_object()
            .bucket(&b)
            .key("k")
            .if_match(&etag)
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    // Nothing under the key: a conditional delete does nothing (and writes no marker).
    let out = c
        .delete_object()
        .bucket(&b)
        .key("never")
        .if_match("*")
        .send()
        .await
        .unwrap();
    assert_eq!(out.delete_marker(), None);
    let versions = c
        .list_object_versions()
        .bucket(&b)
        .prefix("never")
        .send()
        .await
        .unwrap();
    assert!(versions.delete_markers().is_empty());
    // A malformed size is refused.
    s.raw_object("DELETE", &b, "k")
        .header("x-amz-if-match-size", "many")
        .send()
        .await
        .assert_error(400, "InvalidArgument");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_delete_objects() {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let put = c
        .put_object()
        .bucket(&b)
        .key("a")
        .body(body("aaa"))
        .send()
        .await
        .unwrap();
    s.put(&b, "b", "bbb").await;
    let id = |key: &str| ObjectIdentifier::builder().key(key);
    let delete = Delete::builder()
        .objects(id("a").e_tag(put.e_tag().unwrap()).size(3).build().unwrap())
        .objects(id("b").e_tag("\"ffff\"").build().unwrap())
        .objects(id("b").size(99).build().unwrap())
        .objects(
            id("b")
                .last_modified_time(aws_sdk_s3::primitives::DateTime::from_secs(1_420_070_400))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let out = c
        .delete_objects()
        .bucket(&b)
        .delete(delete)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    assert_eq!(deleted, ["a"]);
    let failed: Vec<(&str, &str)> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap(), e.code().unwrap()))
        .collect();
    assert_eq!(failed, [("b", "PreconditionFailed"); 3]);
    assert_eq!(s.get(&b, "b").await, b"bbb");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_none_match_etag() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let first = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(body("one"))
        .send()
        .await
        .unwrap();
    let second = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(body("two"))
        .send()
        .await
        .unwrap();
    // The current object's ETag: refused; an older version's or an unknown one: written.
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("k")
            .if_none_match(second.e_tag().unwrap())
            .body(body("three"))
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    assert_eq!(s.get(&b, "k").await, b"two");
    for etag in [first.e_tag().unwrap(), "\"badetag\""] {
        c.put_object()
            .bucket(&b)
            .key("k")
            .if_none_match(etag)
            .body(body("four"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    }
    assert_eq!(s.get(&b, "k").await, b"four");
}
