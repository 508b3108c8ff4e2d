//! Object tagging: Get/Put/DeleteObjectTagging, the `x-amz-tagging` header, tag count,
//! tagging directive on copy, tag validation, tags per version.

use aws_sdk_s3::types::{Tag, Tagging, TaggingDirective};

use crate::common::*;

fn tagging(tags: &[(&str, &str)]) -> Tagging {
    Tagging::builder()
        .set_tag_set(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap())
                .collect(),
        ))
        .build()
        .unwrap()
}

async fn tags_of(
    s: &TestServer,
    b: &str,
    key: &str,
    version: Option<&str>,
) -> Vec<(String, String)> {
    let out = s
        .client()
        .get_object_tagging()
        .bucket(b)
        .key(key)
        .set_version_id(version.map(String::from))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    let mut v: Vec<(String, String)> = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    v.sort();
    v
}

fn pairs(tags: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_delete_tagging() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    s.put(&b, "t", "tagged").await;
    assert!(tags_of(&s, &b, "t", None).await.is_empty());
    let want = [("layer", "bronze"), ("owner", "data team"), ("empty", "")];
    c.put_object_tagging()
        .bucket(&b)
        .key("t")
        .tagging(tagging(&want))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(tags_of(&s, &b, "t", None).await, pairs(&want));
    let out = c.get_object().bucket(&b).key("t").send().await.unwrap();
    assert_eq!(out.tag_count(), Some(3));
    // Replacing the whole set.
    c.put_object_tagging()
        .bucket(&b)
        .key("t")
        .tagging(tagging(&[("only", "one")]))
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&s, &b, "t", None).await, pairs(&[("only", "one")]));
    // Tagging does not change the object.
    assert_eq!(s.get(&b, "t").await, b"tagged");
    let r = s
        .raw_object("DELETE", &b, "t")
        .query("tagging", "")
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(tags_of(&s, &b, "t", None).await.is_empty());
    let out = c.get_object().bucket(&b).key("t").send().await.unwrap();
    assert!(matches!(out.tag_count(), None | Some(0)));

    // Missing key.
    assert_err(
        c.get_object_tagging().bucket(&b).key("nope").send().await,
        404,
        "NoSuchKey",
    );
    assert_err(
        c.put_object_tagging()
            .bucket(&b)
            .key("nope")
            .tagging(tagging(&[("a", "b")]))
            .send()
            .await,
        404,
        "NoSuchKey",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagging_header_on_put_and_multipart() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    c.put_object()
        .bucket(&b)
        .key("h")
        .body(body("x"))
        .tagging("a=1&b=two%20words&c=")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(
        tags_of(&s, &b, "h", None).await,
        pairs(&[("a", "1"), ("b", "two words"), ("c", "")])
    );
    let r = s.raw_object("GET", &b, "h").send().await;
    assert_eq!(r.header("x-amz-tagging-count").as_deref(), Some("3"));

    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .tagging("stage=raw")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let p = c
        .upload_part()
        .bucket(&b)
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(body("part"))
        .send()
        .await
        .unwrap();
    c.complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .parts(
                    aws_sdk_s3::types::CompletedPart::builder()
                        .part_number(1)
                        .e_tag(p.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&s, &b, "mp", None).await,
        pairs(&[("stage", "raw")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_tags_codes() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    s.put(&b, "t", "x").await;
    let many: Vec<(String, String)> = (0..11)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect();
    let many_ref: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let long_key = "k".repeat(129);
    let long_val = "v".repeat(257);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("11 tags", many_ref),
        ("duplicate keys", vec![("dup", "1"), ("dup", "2")]),
        ("129-char key", vec![(long_key.as_str(), "v")]),
        ("257-char value", vec![("k", long_val.as_str())]),
    ];
    let mut wrong = Vec::new();
    for (what, tags) in cases {
        let r = c
            .put_object_tagging()
            .bucket(&b)
            .key("t")
            .tagging(tagging(&tags))
            .send()
            .await;
        match r {
            Ok(_) => wrong.push(format!("{what}: accepted")),
            Err(e) => {
                let st = e.raw_response().map(|r| r.status().as_u16());
                let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e);
                if (st, code) != (Some(400), Some("InvalidTag")) {
                    wrong.push(format!("{what}: {st:?} {code:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "expected 400 InvalidTag for: {wrong:?}");
    assert!(tags_of(&s, &b, "t", None).await.is_empty());
    // Invalid x-amz-tagging header on PUT.
    let (st, _) = expect_err(
        c.put_object()
            .bucket(&b)
            .key("hdr")
            .body(body("x"))
            .tagging("a=1&a=2")
            .send()
            .await,
    );
    assert_eq!(st, 400);
    assert_status(c.head_object().bucket(&b).key("hdr").send().await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_tagging_directive() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    c.put_object()
        .bucket(&b)
        .key("src")
        .body(body("x"))
        .tagging("origin=src")
        .send()
        .await
        .unwrap();
    c.copy_object()
        .bucket(&b)
        .key("copy")
        .copy_source(format!("{b}/src"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&s, &b, "copy", None).await,
        pairs(&[("origin", "src")])
    );
    c.copy_object()
        .bucket(&b)
        .key("replace")
        .copy_source(format!("{b}/src"))
        .tagging_directive(TaggingDirective::Replace)
        .tagging("fresh=yes")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(&s, &b, "replace", None).await,
        pairs(&[("fresh", "yes")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_per_version() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let v1 = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(body("1"))
        .tagging("v=1")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    let v2 = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(body("2"))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    assert_eq!(tags_of(&s, &b, "k", Some(&v1)).await, pairs(&[("v", "1")]));
    assert!(tags_of(&s, &b, "k", Some(&v2)).await.is_empty());
    assert!(tags_of(&s, &b, "k", None).await.is_empty());
    let out = c
        .put_object_tagging()
        .bucket(&b)
        .key("k")
        .version_id(&v1)
        .tagging(tagging(&[("v", "one")]))
        .send()
        .await
        .unwrap();
    assert_eq!(out.version_id(), Some(v1.as_str()));
    assert_eq!(
        tags_of(&s, &b, "k", Some(&v1)).await,
        pairs(&[("v", "one")])
    );
    assert!(tags_of(&s, &b, "k", Some(&v2)).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_tagging_round_trip() {
    use aws_sdk_s3::types::{Tag, Tagging};
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    assert_err(
        c.get_bucket_tagging().bucket(&b).send().await,
        404,
        "NoSuchTagSet",
    );
    let tagging = Tagging::builder()
        .tag_set(Tag::builder().key("layer").value("bronze").build().unwrap())
        .tag_set(
            Tag::builder()
                .key("owner")
                .value("data team")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    c.put_bucket_tagging()
        .bucket(&b)
        .tagging(tagging)
        .send()
        .await
        .unwrap();
    let out = c.get_bucket_tagging().bucket(&b).send().await.unwrap();
    let mut got: Vec<(String, String)> = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("layer".into(), "bronze".into()),
            ("owner".into(), "data team".into())
        ]
    );
    c.delete_bucket_tagging().bucket(&b).send().await.unwrap();
    assert_err(
        c.get_bucket_tagging().bucket(&b).send().await,
        404,
        "NoSuchTagSet",
    );
    assert_err(
        c.get_bucket_tagging()
            .bucket("no-such-bucket-x")
            .send()
            .await,
        404,
        "NoSuchBucket",
    );
}
