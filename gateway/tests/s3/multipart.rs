//! Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
//! ListMultipartUploads, GET/HEAD with partNumber.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::common::*;

async fn create(s: &TestServer, b: &str, key: &str) -> String {
    s.client()
        .create_multipart_upload()
        .bucket(b)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create upload: {}", fmt_err(&e)))
        .upload_id()
        .expect("UploadId")
        .to_string()
}

async fn upload(s: &TestServer, b: &str, key: &str, id: &str, n: i32, data: &[u8]) -> String {
    let out = s
        .client()
        .upload_part()
        .bucket(b)
        .key(key)
        .upload_id(id)
        .part_number(n)
        .body(body(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("upload part {n}: {}", fmt_err(&e)));
    let etag = out.e_tag().expect("part ETag").to_string();
    assert_eq!(etag, quoted_md5(data), "part ETag is the part's MD5");
    etag
}

fn completed(parts: &[(i32, &str)]) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(n, e)| CompletedPart::builder().part_number(*n).e_tag(*e).build())
                .collect(),
        ))
        .build()
}

async fn complete(
    s: &TestServer,
    b: &str,
    key: &str,
    id: &str,
    parts: &[(i32, &str)],
) -> Result<
    aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput,
    aws_sdk_s3::error::SdkError<
        aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadError,
        aws_sdk_s3::config::http::HttpResponse,
    >,
> {
    s.client()
        .complete_multipart_upload()
        .bucket(b)
        .key(key)
        .upload_id(id)
        .multipart_upload(completed(parts))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_multipart_upload() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp/obj")
        .content_type("application/parquet")
        .metadata("layer", "silver")
        .send()
        .await
        .unwrap();
    assert_eq!(up.bucket(), Some(b.as_str()));
    assert_eq!(up.key(), Some("mp/obj"));
    let id = up.upload_id().unwrap().to_string();

    // Not visible while in progress.
    assert_status(c.head_object().bucket(&b).key("mp/obj").send().await, 404);

    let p1 = random_bytes(5 * MIB, 21);
    let p2 = random_bytes(5 * MIB, 22);
    let p3 = b"tail".to_vec();
    let e1 = upload(&s, &b, "mp/obj", &id, 1, &p1).await;
    let e2 = upload(&s, &b, "mp/obj", &id, 2, &p2).await;
    let e3 = upload(&s, &b, "mp/obj", &id, 3, &p3).await;

    let parts = c
        .list_parts()
        .bucket(&b)
        .key("mp/obj")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let listed: Vec<(i32, String, i64)> = parts
        .parts()
        .iter()
        .map(|p| {
            (
                p.part_number().unwrap(),
                p.e_tag().unwrap().to_string(),
                p.size().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, e1.clone(), 5 * MIB as i64),
            (2, e2.clone(), 5 * MIB as i64),
            (3, e3.clone(), 4)
        ]
    );
    assert_eq!(parts.upload_id(), Some(id.as_str()));
    assert!(parts.parts()[0].last_modified().is_some());

    let done = complete(&s, &b, "mp/obj", &id, &[(1, &e1), (2, &e2), (3, &e3)])
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let want_etag = multipart_etag(&[&p1, &p2, &p3]);
    assert_eq!(done.e_tag(), Some(want_etag.as_str()));
    assert_eq!(done.key(), Some("mp/obj"));
    assert_eq!(done.bucket(), Some(b.as_str()));

    let head = c
        .head_object()
        .bucket(&b)
        .key("mp/obj")
        .send()
        .await
        .unwrap();
    assert_eq!(head.e_tag(), Some(want_etag.as_str()));
    assert_eq!(head.content_length(), Some((10 * MIB + 4) as i64));
    assert_eq!(head.content_type(), Some("application/parquet"));
    assert_eq!(
        head.metadata().unwrap().get("layer").map(String::as_str),
        Some("silver")
    );
    let got = s.get(&b, "mp/obj").await;
    assert!(got == [p1, p2, p3].concat(), "content differs");

    // The upload is gone.
    assert_err(
        c.list_parts()
            .bucket(&b)
            .key("mp/obj")
            .upload_id(&id)
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    // A retried Complete (its answer was lost) gets the same answer; other parts do not.
    let again = complete(&s, &b, "mp/obj", &id, &[(1, &e1), (2, &e2), (3, &e3)])
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(again.e_tag(), Some(want_etag.as_str()));
    assert_err(
        complete(&s, &b, "mp/obj", &id, &[(1, &e1), (2, &e2)]).await,
        404,
        "NoSuchUpload",
    );
    let list = c.list_multipart_uploads().bucket(&b).send().await.unwrap();
    assert!(list.uploads().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_with_subset_of_parts_and_reuploaded_part() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let id = create(&s, &b, "k").await;
    let p1a = random_bytes(5 * MIB, 23);
    let p1b = random_bytes(5 * MIB, 24);
    let p2 = random_bytes(1000, 25);
    let p3 = random_bytes(1000, 26);
    upload(&s, &b, "k", &id, 1, &p1a).await;
    let e1b = upload(&s, &b, "k", &id, 1, &p1b).await; // replaces part 1
    upload(&s, &b, "k", &id, 2, &p2).await;
    let e3 = upload(&s, &b, "k", &id, 3, &p3).await;
    // Part numbers need not be contiguous; unused parts are dropped.
    let done = complete(&s, &b, "k", &id, &[(1, &e1b), (3, &e3)])
        .await
        .unwrap();
    assert_eq!(done.e_tag(), Some(multipart_etag(&[&p1b, &p3]).as_str()));
    assert_eq!(s.get(&b, "k").await, [p1b, p3].concat());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_errors() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let id = create(&s, &b, "k").await;
    let big = random_bytes(5 * MIB, 27);
    let small = random_bytes(MIB, 28);
    let e1 = upload(&s, &b, "k", &id, 1, &big).await;
    let e2 = upload(&s, &b, "k", &id, 2, &big).await;
    let e3 = upload(&s, &b, "k", &id, 3, &small).await;
    let e4 = upload(&s, &b, "k", &id, 4, b"end").await;

    // Wrong ETag.
    let (st, code) = expect_err(
        complete(
            &s,
            &b,
            "k",
            &id,
            &[(1, "\"0123456789abcdef0123456789abcdef\"")],
        )
        .await,
    );
    assert_eq!((st, code.as_str()), (400, "InvalidPart"));
    // Missing part number.
    let (st, code) = expect_err(complete(&s, &b, "k", &id, &[(1, &e1), (9, &e2)]).await);
    assert_eq!((st, code.as_str()), (400, "InvalidPart"));
    // Out of order.
    let (st, code) = expect_err(complete(&s, &b, "k", &id, &[(2, &e2), (1, &e1)]).await);
    assert_eq!((st, code.as_str()), (400, "InvalidPartOrder"));
    // Duplicate part number is not ascending either.
    let (st, code) = expect_err(complete(&s, &b, "k", &id, &[(1, &e1), (1, &e1)]).await);
    assert_eq!((st, code.as_str()), (400, "InvalidPartOrder"));
    // A part other than the last is smaller than 5 MiB.
    let (st, code) = expect_err(complete(&s, &b, "k", &id, &[(3, &e3), (4, &e4)]).await);
    assert_eq!((st, code.as_str()), (400, "EntityTooSmall"));
    // Nothing was created by the failures.
    assert_status(
        s.client().head_object().bucket(&b).key("k").send().await,
        404,
    );
    // The upload is still usable: a small last part is fine.
    let done = complete(&s, &b, "k", &id, &[(1, &e1), (2, &e2), (3, &e3)])
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(
        done.e_tag(),
        Some(multipart_etag(&[&big, &big, &small]).as_str())
    );
    // Unknown upload id.
    let (st, code) = expect_err(complete(&s, &b, "k", "no-such-upload-id", &[(1, &e1)]).await);
    assert_eq!((st, code.as_str()), (404, "NoSuchUpload"));
    // Completing twice: the upload no longer exists.
    let (st, code) = expect_err(complete(&s, &b, "k", &id, &[(1, &e1)]).await);
    assert_eq!((st, code.as_str()), (404, "NoSuchUpload"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_small_part_is_allowed() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let id = create(&s, &b, "one").await;
    let e = upload(&s, &b, "one", &id, 1, b"tiny").await;
    let done = complete(&s, &b, "one", &id, &[(1, &e)]).await.unwrap();
    assert_eq!(done.e_tag(), Some(multipart_etag(&[b"tiny"]).as_str()));
    assert_eq!(s.get(&b, "one").await, b"tiny");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_part_numbers() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let id = create(&s, &b, "k").await;
    for n in [0, 10001] {
        let (st, code) = expect_err(
            s.client()
                .upload_part()
                .bucket(&b)
                .key("k")
                .upload_id(&id)
                .part_number(n)
                .body(body("x"))
                .send()
                .await,
        );
        assert_eq!((st, code.as_str()), (400, "InvalidArgument"), "part {n}");
    }
    assert_err(
        s.client()
            .upload_part()
            .bucket(&b)
            .key("k")
            .upload_id("bogus")
            .part_number(1)
            .body(body("x"))
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_upload() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let id = create(&s, &b, "ab").await;
    upload(&s, &b, "ab", &id, 1, b"data").await;
    let r = s
        .raw_object("DELETE", &b, "ab")
        .query("uploadId", &id)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_err(
        c.list_parts()
            .bucket(&b)
            .key("ab")
            .upload_id(&id)
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    assert_err(
        c.upload_part()
            .bucket(&b)
            .key("ab")
            .upload_id(&id)
            .part_number(2)
            .body(body("x"))
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    assert_err(
        c.abort_multipart_upload()
            .bucket(&b)
            .key("ab")
            .upload_id(&id)
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    assert_status(c.head_object().bucket(&b).key("ab").send().await, 404);
    let list = c.list_multipart_uploads().bucket(&b).send().await.unwrap();
    assert!(list.uploads().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_multipart_uploads_and_parts_pagination() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let mut ids = Vec::new();
    for k in ["logs/a", "logs/b", "data/x", "data/y/z", "top"] {
        ids.push((k, create(&s, &b, k).await));
    }
    // Two uploads for the same key.
    let second = create(&s, &b, "top").await;

    let out = c.list_multipart_uploads().bucket(&b).send().await.unwrap();
    let mut listed: Vec<(String, String)> = out
        .uploads()
        .iter()
        .map(|u| {
            (
                u.key().unwrap().to_string(),
                u.upload_id().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 6);
    let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        vec!["data/x", "data/y/z", "logs/a", "logs/b", "top", "top"]
    );
    listed.sort();
    let mut want: Vec<(String, String)> = ids
        .iter()
        .map(|(k, i)| (k.to_string(), i.clone()))
        .collect();
    want.push(("top".into(), second.clone()));
    want.sort();
    assert_eq!(listed, want);
    assert!(out.uploads().iter().all(|u| u.initiated().is_some()));

    let out = c
        .list_multipart_uploads()
        .bucket(&b)
        .prefix("logs/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = out.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, vec!["logs/a", "logs/b"]);

    let out = c
        .list_multipart_uploads()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = out.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, vec!["top", "top"]);
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["data/", "logs/"]);

    // Pagination with max-uploads: key-marker / upload-id-marker.
    let mut seen = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut id_marker: Option<String> = None;
    for _ in 0..10 {
        let out = c
            .list_multipart_uploads()
            .bucket(&b)
            .max_uploads(2)
            .set_key_marker(key_marker.clone())
            .set_upload_id_marker(id_marker.clone())
            .send()
            .await
            .unwrap();
        assert!(out.uploads().len() <= 2);
        seen.extend(out.uploads().iter().map(|u| {
            (
                u.key().unwrap().to_string(),
                u.upload_id().unwrap().to_string(),
            )
        }));
        if out.is_truncated() != Some(true) {
            break;
        }
        key_marker = out.next_key_marker().map(String::from);
        id_marker = out.next_upload_id_marker().map(String::from);
    }
    seen.sort();
    assert_eq!(seen, want, "paginated uploads: no duplicates, no gaps");

    // ListParts pagination.
    let (_, id) = &ids[0];
    for n in 1..=5 {
        upload(&s, &b, "logs/a", id, n, format!("part {n}").as_bytes()).await;
    }
    let p1 = c
        .list_parts()
        .bucket(&b)
        .key("logs/a")
        .upload_id(id)
        .max_parts(2)
        .send()
        .await
        .unwrap();
    let nums: Vec<i32> = p1.parts().iter().filter_map(|p| p.part_number()).collect();
    assert_eq!(nums, vec![1, 2]);
    assert_eq!(p1.is_truncated(), Some(true));
    let marker = p1.next_part_number_marker().expect("NextPartNumberMarker");
    let p2 = c
        .list_parts()
        .bucket(&b)
        .key("logs/a")
        .upload_id(id)
        .part_number_marker(marker)
        .send()
        .await
        .unwrap();
    let nums: Vec<i32> = p2.parts().iter().filter_map(|p| p.part_number()).collect();
    assert_eq!(nums, vec![3, 4, 5]);
    assert_eq!(p2.is_truncated(), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_copy_with_ranges() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let src = random_bytes(12 * MIB + 100, 29);
    s.put(&b, "source", src.clone()).await;
    let id = create(&s, &b, "assembled").await;

    let first = 6 * MIB;
    let r1 = c
        .upload_part_copy()
        .bucket(&b)
        .key("assembled")
        .upload_id(&id)
        .part_number(1)
        .copy_source(format!("{b}/source"))
        .copy_source_range(format!("bytes=0-{}", first - 1))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let e1 = r1.copy_part_result().unwrap().e_tag().unwrap().to_string();
    assert_eq!(e1, quoted_md5(&src[..first]));
    let r2 = c
        .upload_part_copy()
        .bucket(&b)
        .key("assembled")
        .upload_id(&id)
        .part_number(2)
        .copy_source(format!("{b}/source"))
        .copy_source_range(format!("bytes={first}-{}", src.len() - 1))
        .send()
        .await
        .unwrap();
    let e2 = r2.copy_part_result().unwrap().e_tag().unwrap().to_string();
    // Whole-object copy as part 3 (no range), plus an uploaded part 4.
    let r3 = c
        .upload_part_copy()
        .bucket(&b)
        .key("assembled")
        .upload_id(&id)
        .part_number(3)
        .copy_source(format!("{b}/source"))
        .send()
        .await
        .unwrap();
    let e3 = r3.copy_part_result().unwrap().e_tag().unwrap().to_string();
    assert_eq!(e3, quoted_md5(&src));
    let e4 = upload(&s, &b, "assembled", &id, 4, b"!").await;
    let done = complete(
        &s,
        &b,
        "assembled",
        &id,
        &[(1, &e1), (2, &e2), (3, &e3), (4, &e4)],
    )
    .await
    .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let want = [&src[..first], &src[first..], &src[..], b"!"];
    assert_eq!(done.e_tag(), Some(multipart_etag(&want).as_str()));
    let got = s.get(&b, "assembled").await;
    assert!(got == want.concat(), "assembled content differs");

    // Range out of the source → InvalidRange; missing source → NoSuchKey.
    let id2 = create(&s, &b, "bad").await;
    let (st, code) = expect_err(
        c.upload_part_copy()
            .bucket(&b)
            .key("bad")
            .upload_id(&id2)
            .part_number(1)
            .copy_source(format!("{b}/source"))
            .copy_source_range(format!("bytes={}-{}", src.len(), src.len() + 10))
            .send()
            .await,
    );
    // AWS answers 400 InvalidArgument ("Range specified is not valid for source object");
    // 416 InvalidRange is also seen and accepted.
    assert!(
        matches!(
            (st, code.as_str()),
            (416, "InvalidRange") | (400, "InvalidArgument")
        ),
        "range beyond the source: {st} {code}"
    );
    let (st, code) = expect_err(
        c.upload_part_copy()
            .bucket(&b)
            .key("bad")
            .upload_id(&id2)
            .part_number(1)
            .copy_source(format!("{b}/nope"))
            .send()
            .await,
    );
    assert_eq!((st, code.as_str()), (404, "NoSuchKey"));
    // Conditional copy-source on a part.
    assert_err(
        c.upload_part_copy()
            .bucket(&b)
            .key("bad")
            .upload_id(&id2)
            .part_number(1)
            .copy_source(format!("{b}/source"))
            .copy_source_if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_head_by_part_number() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let id = create(&s, &b, "parts").await;
    let p1 = random_bytes(5 * MIB, 30);
    let p2 = random_bytes(5 * MIB, 31);
    let p3 = random_bytes(12345, 32);
    let e1 = upload(&s, &b, "parts", &id, 1, &p1).await;
    let e2 = upload(&s, &b, "parts", &id, 2, &p2).await;
    let e3 = upload(&s, &b, "parts", &id, 3, &p3).await;
    complete(&s, &b, "parts", &id, &[(1, &e1), (2, &e2), (3, &e3)])
        .await
        .unwrap();
    let total = p1.len() + p2.len() + p3.len();

    let out = c
        .get_object()
        .bucket(&b)
        .key("parts")
        .part_number(2)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(out.parts_count(), Some(3));
    assert_eq!(out.content_length(), Some(p2.len() as i64));
    let want_range = format!("bytes {}-{}/{total}", p1.len(), p1.len() + p2.len() - 1);
    assert_eq!(out.content_range(), Some(want_range.as_str()));
    let got = read_body(out).await;
    assert!(got == p2, "part 2 content differs");

    let out = c
        .get_object()
        .bucket(&b)
        .key("parts")
        .part_number(3)
        .send()
        .await
        .unwrap();
    assert_eq!(read_body(out).await, p3);

    let head = c
        .head_object()
        .bucket(&b)
        .key("parts")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(head.parts_count(), Some(3));
    assert_eq!(head.content_length(), Some(p1.len() as i64));

    let r = s
        .raw_object("GET", &b, "parts")
        .query("partNumber", "1")
        .send()
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("x-amz-mp-parts-count").as_deref(), Some("3"));

    // Beyond the last part.
    let (st, code) = expect_err(
        c.get_object()
            .bucket(&b)
            .key("parts")
            .part_number(4)
            .send()
            .await,
    );
    assert_eq!(st, 416, "part beyond the last: 416 (code {code})");
}
