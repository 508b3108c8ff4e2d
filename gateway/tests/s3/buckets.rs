//! ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, bucket names,
//! virtual-host-style addressing.

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ObjectLockEnabled,
};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_buckets_exist_on_first_start() {
    let s = TestServer::start().await;
    let out = s.client().list_buckets().send().await.unwrap();
    let names: Vec<&str> = out.buckets().iter().filter_map(|b| b.name()).collect();
    for b in ["bronze", "silver", "gold", "mlflow"] {
        assert!(names.contains(&b), "missing default bucket {b}: {names:?}");
    }
    for b in out.buckets() {
        assert!(
            b.creation_date().is_some(),
            "bucket without CreationDate: {b:?}"
        );
    }
    assert!(out.owner().is_some(), "ListBuckets has an Owner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_default_buckets_starts_empty_and_lists_in_pages() {
    let s = TestServer::start_with_env(&[("LAKEGATE_NO_DEFAULT_BUCKETS", "true")]).await;
    let c = s.client();
    let out = c.list_buckets().max_buckets(1).send().await.unwrap();
    assert!(out.buckets().is_empty(), "{out:?}");
    assert!(out.continuation_token().is_none());
    let (a, b) = (s.bucket().await, s.bucket().await);
    let first = c.list_buckets().max_buckets(1).send().await.unwrap();
    let names = |o: &aws_sdk_s3::operation::list_buckets::ListBucketsOutput| {
        o.buckets()
            .iter()
            .filter_map(|b| b.name().map(String::from))
            .collect::<Vec<_>>()
    };
    let mut expected = [a, b];
    expected.sort();
    assert_eq!(names(&first), expected[..1]);
    let second = c
        .list_buckets()
        .max_buckets(1)
        .continuation_token(first.continuation_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(names(&second), expected[1..]);
    assert!(second.continuation_token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_head_delete_bucket() {
    let s = TestServer::start().await;
    let c = s.client();
    let b = unique_bucket("crud");
    c.create_bucket().bucket(&b).send().await.unwrap();
    let names: Vec<String> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(String::from))
        .collect();
    assert!(names.contains(&b));
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "ListBuckets is sorted by name");

    c.head_bucket().bucket(&b).send().await.unwrap();
    c.delete_bucket().bucket(&b).send().await.unwrap();
    let (status, _) = expect_err(c.head_bucket().bucket(&b).send().await);
    assert_eq!(status, 404);
    let names: Vec<String> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(String::from))
        .collect();
    assert!(!names.contains(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_existing_bucket_is_already_owned() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    // AWS us-east-1 answers 200 to a create of a bucket you own (other regions: 409
    // BucketAlreadyOwnedByYou); this server's region is us-east-1.
    s.client()
        .create_bucket()
        .bucket(&b)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    // The bucket's content survives the second create.
    s.put(&b, "k", "v").await;
    s.client().create_bucket().bucket(&b).send().await.unwrap();
    assert_eq!(s.get(&b, "k").await, b"v");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_non_empty_bucket_fails() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "x", "1").await;
    assert_err(
        s.client().delete_bucket().bucket(&b).send().await,
        409,
        "BucketNotEmpty",
    );
    s.client().head_bucket().bucket(&b).send().await.unwrap();
    s.client()
        .delete_object()
        .bucket(&b)
        .key("x")
        .send()
        .await
        .unwrap();
    s.client().delete_bucket().bucket(&b).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_versioned_bucket_with_only_noncurrent_versions_fails() {
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    s.put(&b, "x", "1").await;
    // A plain delete only adds a delete marker: the versions remain, the bucket is not empty.
    s.client()
        .delete_object()
        .bucket(&b)
        .key("x")
        .send()
        .await
        .unwrap();
    assert_err(
        s.client().delete_bucket().bucket(&b).send().await,
        409,
        "BucketNotEmpty",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bucket_errors() {
    let s = TestServer::start().await;
    let c = s.client();
    let b = unique_bucket("missing");
    assert_err(
        c.delete_bucket().bucket(&b).send().await,
        404,
        "NoSuchBucket",
    );
    let (status, _) = expect_err(c.head_bucket().bucket(&b).send().await);
    assert_eq!(status, 404);
    assert_err(
        c.get_object().bucket(&b).key("k").send().await,
        404,
        "NoSuchBucket",
    );
    assert_err(
        c.put_object()
            .bucket(&b)
            .key("k")
            .body(body("x"))
            .send()
            .await,
        404,
        "NoSuchBucket",
    );
    assert_err(
        c.list_objects_v2().bucket(&b).send().await,
        404,
        "NoSuchBucket",
    );
    assert_err(
        c.get_bucket_location().bucket(&b).send().await,
        404,
        "NoSuchBucket",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bucket_names_are_rejected() {
    let s = TestServer::start().await;
    let long = "a".repeat(64);
    let bad = [
        "ab",
        "Upper-case",
        "under_score",
        "-leading-hyphen",
        "trailing-hyphen-",
        "192.168.5.4",
        "double..dot",
        long.as_str(),
        "xn--punycode",
        "bucket-s3alias",
        "bucket--ol-s3",
        "sthree-bucket",
    ];
    for name in bad {
        let r = s
            .raw("PUT", &format!("/{}", uri_encode(name, true)))
            .send()
            .await;
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("InvalidBucketName")),
            "bucket name {name:?}: {}",
            r.text()
        );
    }
    // The limits themselves are fine.
    let ok63 = format!("a{}", "b".repeat(62));
    for name in ["abc", ok63.as_str(), "with.dots.ok", "1digit-start"] {
        let r = s.raw("PUT", &format!("/{name}")).send().await;
        r.assert_ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_bucket_location_defaults_to_us_east_1() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let out = s
        .client()
        .get_bucket_location()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    // AWS answers an empty LocationConstraint for us-east-1; MinIO answers "us-east-1".
    let loc = out.location_constraint().map(|l| l.as_str().to_string());
    assert!(
        matches!(loc.as_deref(), None | Some("") | Some("us-east-1")),
        "unexpected location {loc:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_bucket_with_location_constraint() {
    let s = TestServer::start().await;
    let b = unique_bucket("loc");
    s.client()
        .create_bucket()
        .bucket(&b)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from("us-east-1"))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    s.client().head_bucket().bucket(&b).send().await.unwrap();
    let out = s
        .client()
        .get_bucket_location()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    let loc = out.location_constraint().map(|l| l.as_str().to_string());
    assert!(
        matches!(loc.as_deref(), None | Some("") | Some("us-east-1")),
        "unexpected location {loc:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_bucket_with_malformed_configuration() {
    let s = TestServer::start().await;
    let b = unique_bucket("badcfg");
    let r = s
        .raw("PUT", &format!("/{b}"))
        .body("<CreateBucketConfiguration><LocationConstraint>us-east-1")
        .send()
        .await;
    r.assert_error(400, "MalformedXML");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_bucket_with_object_lock_enables_versioning() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    let v = s
        .client()
        .get_bucket_versioning()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let cfg = s
        .client()
        .get_object_lock_configuration()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cfg.object_lock_configuration()
            .and_then(|c| c.object_lock_enabled()),
        Some(&ObjectLockEnabled::Enabled)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_host_style_requests() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "dir/hello.txt", "hello vhost").await;
    let host = format!("{b}.localhost:{}", s.port);

    let r = s.raw("GET", "/dir/hello.txt").host(&host).send().await;
    r.assert_ok();
    assert_eq!(r.body, b"hello vhost");

    let r = s
        .raw("GET", "/")
        .query("list-type", "2")
        .host(&host)
        .send()
        .await;
    r.assert_ok();
    assert_eq!(xml_value(&r.text(), "Name").as_deref(), Some(b.as_str()));
    assert_eq!(xml_values(&r.text(), "Key"), vec!["dir/hello.txt"]);

    let r = s
        .raw("PUT", "/put-by-vhost")
        .host(&host)
        .body("via vhost")
        .send()
        .await;
    r.assert_ok();
    assert_eq!(s.get(&b, "put-by-vhost").await, b"via vhost");

    // A bare `localhost` host is path style.
    let r = s
        .raw("GET", &format!("/{b}/dir/hello.txt"))
        .host(&format!("localhost:{}", s.port))
        .send()
        .await;
    r.assert_ok();
    assert_eq!(r.body, b"hello vhost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_host_style_with_custom_domain() {
    let s = TestServer::start_with_env(&[("LAKEGATE_DOMAIN", "s3.lake.test")]).await;
    let b = s.bucket().await;
    s.put(&b, "k", "custom domain").await;
    let r = s
        .raw("GET", "/k")
        .host(&format!("{b}.s3.lake.test:{}", s.port))
        .send()
        .await;
    r.assert_ok();
    assert_eq!(r.body, b"custom domain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_host_style_bucket_operations() {
    let s = TestServer::start().await;
    let b = unique_bucket("vh");
    let host = format!("{b}.localhost:{}", s.port);
    // Unknown bucket through the Host header.
    let r = s.raw("GET", "/k").host(&host).send().await;
    r.assert_error(404, "NoSuchBucket");
    // CreateBucket via vhost.
    s.raw("PUT", "/").host(&host).send().await.assert_ok();
    s.client().head_bucket().bucket(&b).send().await.unwrap();
    // HEAD bucket and DeleteObjects via vhost.
    let r = s.raw("HEAD", "/").host(&host).send().await;
    assert_eq!(r.status, 200);
    s.put(&b, "a", "1").await;
    let xml = "<Delete><Object><Key>a</Key></Object></Delete>";
    let r = s
        .raw("POST", "/")
        .query("delete", "")
        .header("content-md5", &md5_b64(xml.as_bytes()))
        .host(&host)
        .body(xml)
        .send()
        .await;
    r.assert_ok();
    assert_eq!(xml_values(&r.text(), "Key"), vec!["a"]);
    // DeleteBucket via vhost.
    let r = s.raw("DELETE", "/").host(&host).send().await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_status(s.client().head_bucket().bucket(&b).send().await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_bucket_name_is_reserved() {
    let s = TestServer::start().await;
    assert_err(
        s.client().create_bucket().bucket("lakegate").send().await,
        400,
        "InvalidBucketName",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_bucket_aborts_uploads_in_progress() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    // Two uploads in progress, one with a blob-backed part.
    let mut uploads = Vec::new();
    for key in ["big", "small"] {
        let up = c
            .create_multipart_upload()
            .bucket(&b)
            .key(key)
            .send()
            .await
            .unwrap();
        uploads.push((key, up.upload_id().unwrap().to_string()));
    }
    c.upload_part()
        .bucket(&b)
        .key("big")
        .upload_id(&uploads[0].1)
        .part_number(1)
        .body(body(random_bytes(5 * MIB, 7)))
        .send()
        .await
        .unwrap();
    let blob_files = |dir: &std::path::Path| {
        fn walk(d: &std::path::Path) -> usize {
            std::fs::read_dir(d)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| {
                            let p = e.path();
                            if p.is_dir() { walk(&p) } else { 1 }
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(&dir.join("blobs"))
    };
    assert!(blob_files(&s.data_dir) >= 1);
    // Objects still make a bucket non-empty.
    s.put(&b, "obj", "x").await;
    assert_err(
        c.delete_bucket().bucket(&b).send().await,
        409,
        "BucketNotEmpty",
    );
    c.delete_object()
        .bucket(&b)
        .key("obj")
        .send()
        .await
        .unwrap();
    // Uploads do not: the bucket goes, and its uploads with it.
    c.delete_bucket().bucket(&b).send().await.unwrap();
    assert_eq!(expect_err(c.head_bucket().bucket(&b).send().await).0, 404);
    c.create_bucket().bucket(&b).send().await.unwrap();
    let list = c.list_multipart_uploads().bucket(&b).send().await.unwrap();
    assert!(list.uploads().is_empty(), "{list:?}");
    assert_err(
        c.list_parts()
            .bucket(&b)
            .key("big")
            .upload_id(&uploads[0].1)
            .send()
            .await,
        404,
        "NoSuchUpload",
    );
    // The part's blob is released.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while blob_files(&s.data_dir) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the aborted part's blob was not released"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_buckets_pages_and_filters() {
    let s = TestServer::start().await;
    let c = s.client();
    let prefix = "pages-";
    let names: Vec<String> = ["c", "a", "b"]
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect();
    for n in &names {
        c.create_bucket().bucket(n).send().await.unwrap();
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .list_buckets()
            .prefix(prefix)
            .max_buckets(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
        assert!(page.buckets().len() <= 2);
        seen.extend(
            page.buckets()
                .iter()
                .filter_map(|b| b.name().map(String::from)),
        );
        token = page.continuation_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["pages-a", "pages-b", "pages-c"]);
    let other = c
        .list_buckets()
        .prefix(prefix)
        .bucket_region("eu-west-1")
        .send()
        .await
        .unwrap();
    assert!(other.buckets().is_empty());
    assert_err(
        c.list_buckets().max_buckets(0).send().await,
        400,
        "InvalidArgument",
    );
}
