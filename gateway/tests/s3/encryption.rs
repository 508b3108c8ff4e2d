//! Server-side encryption end to end with aws-sdk-s3: SSE-S3, SSE-KMS and SSE-C on PUT, GET,
//! HEAD, ranges, multipart uploads and copies between modes; bucket default encryption; what a
//! wrong or missing key gets; and the data directory never holding an encrypted object's
//! plaintext.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};

use crate::common::*;

const KEY1: [u8; 32] = [0x11; 32];
const KEY2: [u8; 32] = [0x22; 32];

/// A server with KMS keys `testkey-1` (the default) and `testkey-2`, and SSE-C allowed over
/// HTTP (as behind a TLS-terminating proxy).
async fn server() -> TestServer {
    let keys = std::env::temp_dir().join(format!("lakegate-kms-{}", unique_bucket("k")));
    std::fs::write(&keys, format!("# test keys\ntestkey-2:{}\n", b64(&KEY2))).unwrap();
    let spec = format!("testkey-1:{}", b64(&KEY1));
    TestServer::start_with_env(&[
        ("LAKEGATE_KMS_SECRET_KEY", spec.as_str()),
        ("LAKEGATE_KMS_KEYS", keys.to_str().unwrap()),
        ("LAKEGATE_SSE_C_OVER_HTTP", "true"),
    ])
    .await
}

/// Every file under `dir` (blobs and the metadata database) contains `marker`?
fn on_disk(dir: &std::path::Path, marker: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(marker.len()).any(|w| w == marker)
            {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

/// A body made of a marker repeated (findable on disk) with some noise.
fn marked(len: usize, marker: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        out.extend_from_slice(marker);
        out.extend_from_slice(&random_bytes(61, out.len() as u64));
    }
    out.truncate(len);
    out
}

struct Customer {
    key: String,
    md5: String,
}

fn customer(byte: u8) -> Customer {
    let raw = [byte; 32];
    Customer {
        key: b64(&raw),
        md5: md5_b64(&raw),
    }
}

#[tokio::test]
async fn sse_s3_and_kms_objects_read_back_and_never_touch_disk_in_plaintext() {
    let s = server().await;
    let c = s.client();
    let bucket = s.bucket().await;
    let marker = b"PLAINTEXT-MARKER-SSE-S3-KMS";
    for (key, len) in [("small", 100usize), ("large", 1024 * 1024 + 7)] {
        let body = marked(len, marker);
        let put = c
            .put_object()
            .bucket(&bucket)
            .key(format!("s3/{key}"))
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            put.server_side_encryption(),
            Some(&ServerSideEncryption::Aes256)
        );
        // SSE-S3 keeps the plaintext's MD5 as ETag.
        assert_eq!(put.e_tag(), Some(quoted_md5(&body).as_str()));
        let put = c
            .put_object()
            .bucket(&bucket)
            .key(format!("kms/{key}"))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id("testkey-2")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(put.ssekms_key_id(), Some("testkey-2"));
        // SSE-KMS: an ETag that is not the plaintext's MD5.
        assert_ne!(put.e_tag(), Some(quoted_md5(&body).as_str()));
        for prefix in ["s3", "kms"] {
            let got = c
                .get_object()
                .bucket(&bucket)
                .key(format!("{prefix}/{key}"))
                .send()
                .await
                .unwrap();
            assert!(got.server_side_encryption().is_some());
            let bytes = got.body.collect().await.unwrap().into_bytes();
            assert_eq!(bytes.as_ref(), body.as_slice(), "{prefix}/{key}");
            // A range across a package boundary decrypts only what it covers.
            let (a, b) = (len / 3, (len / 3 + 70_000).min(len - 1));
            let got = c
                .get_object()
                .bucket(&bucket)
                .key(format!("{prefix}/{key}"))
                .range(format!("bytes={a}-{b}"))
                .send()
                .await
                .unwrap();
            let bytes = got.body.collect().await.unwrap().into_bytes();
            assert_eq!(bytes.as_ref(), &body[a..=b]);
            let head = c
                .head_object()
                .bucket(&bucket)
                .key(format!("{prefix}/{key}"))
                .send()
                .await
                .unwrap();
            assert_eq!(head.content_length(), Some(len as i64));
        }
    }
    // An unknown KMS key, a KMS key id without aws:kms, SSE headers on a GET.
    let e = c
        .put_object()
        .bucket(&bucket)
        .key("x")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("no-such-key")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_err(e, 400, "KMS.NotFoundException");
    let e = c
        .put_object()
        .bucket(&bucket)
        .key("x")
        .ssekms_key_id("testkey-1")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_err(e, 400, "InvalidArgument");
    let e = s
        .raw_object("GET", &bucket, "s3/small")
        .header("x-amz-server-side-encryption", "AES256")
        .send()
        .await;
    assert_eq!(e.status, 400);
    let mut s = s;
    s.stop_graceful().await;
    assert_eq!(on_disk(&s.data_dir, marker), Vec::<String>::new());
}

#[tokio::test]
async fn sse_c_needs_the_customer_key_for_every_read_and_refuses_others() {
    let s = server().await;
    let c = s.client();
    let bucket = s.bucket().await;
    let k = customer(0x5a);
    let other = customer(0x33);
    let marker = b"PLAINTEXT-MARKER-SSE-C";
    let body = marked(200_000, marker);
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("obj")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(put.sse_customer_key_md5(), Some(k.md5.as_str()));
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("obj")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .range("bytes=65530-65545")
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), &body[65530..=65545]);
    // Without the key: 400; with another key: 403, as on AWS.
    assert_err(
        c.get_object().bucket(&bucket).key("obj").send().await,
        400,
        "InvalidRequest",
    );
    assert_err(
        c.get_object()
            .bucket(&bucket)
            .key("obj")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&other.key)
            .sse_customer_key_md5(&other.md5)
            .send()
            .await,
        403,
        "AccessDenied",
    );
    assert_status(c.head_object().bucket(&bucket).key("obj").send().await, 400);
    // A key whose MD5 does not match.
    assert_err(
        c.put_object()
            .bucket(&bucket)
            .key("bad")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&k.key)
            .sse_customer_key_md5(&other.md5)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        400,
        "InvalidArgument",
    );

    // Multipart: every part needs the upload's key.
    let up = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let p1 = marked(5 * 1024 * 1024, marker);
    let p2 = marked(1000, marker);
    assert_status(
        c.upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(id)
            .part_number(1)
            .body(ByteStream::from(p2.clone()))
            .send()
            .await,
        400,
    );
    let mut parts = Vec::new();
    for (n, p) in [(1, &p1), (3, &p2)] {
        let r = c
            .upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(id)
            .part_number(n)
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&k.key)
            .sse_customer_key_md5(&k.md5)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .upload_id(id)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let whole = [p1.as_slice(), p2.as_slice()].concat();
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("mp")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .range(format!("bytes={}-{}", p1.len() - 10, p1.len() + 10))
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), &whole[p1.len() - 10..=p1.len() + 10]);
    // Part 2 of the object (upload part 3) alone.
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("mp")
        .part_number(2)
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&k.key)
        .sse_customer_key_md5(&k.md5)
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), p2.as_slice());

    // Copies: SSE-C → SSE-S3 (the source's key), SSE-S3 → SSE-C (another key), → plaintext.
    c.copy_object()
        .bucket(&bucket)
        .key("as-s3")
        .copy_source(format!("{bucket}/obj"))
        .copy_source_sse_customer_algorithm("AES256")
        .copy_source_sse_customer_key(&k.key)
        .copy_source_sse_customer_key_md5(&k.md5)
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await
        .unwrap();
    assert_status(
        c.copy_object()
            .bucket(&bucket)
            .key("nokey")
            .copy_source(format!("{bucket}/obj"))
            .send()
            .await,
        400,
    );
    c.copy_object()
        .bucket(&bucket)
        .key("as-c")
        .copy_source(format!("{bucket}/as-s3"))
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&other.key)
        .sse_customer_key_md5(&other.md5)
        .send()
        .await
        .unwrap();
    c.copy_object()
        .bucket(&bucket)
        .key("plain")
        .copy_source(format!("{bucket}/as-s3"))
        .send()
        .await
        .unwrap();
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("as-c")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&other.key)
        .sse_customer_key_md5(&other.md5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        body.as_slice()
    );
    let plain = s.get(&bucket, "plain").await;
    assert_eq!(plain, body);
    assert_eq!(s.get(&bucket, "as-s3").await, body);
    c.delete_object()
        .bucket(&bucket)
        .key("plain")
        .send()
        .await
        .unwrap();

    let mut s = s;
    s.stop_graceful().await;
    // The plaintext copy was deleted; everything else is encrypted. (Blob deletion follows the
    // commit; a graceful stop waits for it.)
    let found = on_disk(&s.data_dir, marker);
    assert!(found.is_empty(), "plaintext on disk: {found:?}");
}

#[tokio::test]
async fn bucket_default_encryption_applies_to_writes_without_headers() {
    let s = server().await;
    let c = s.client();
    let bucket = s.bucket().await;
    assert_err(
        c.get_bucket_encryption().bucket(&bucket).send().await,
        404,
        "ServerSideEncryptionConfigurationNotFoundError",
    );
    let rule = |alg: ServerSideEncryption, key: Option<&str>| {
        ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(alg)
                            .set_kms_master_key_id(key.map(str::to_string))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
            .unwrap()
    };
    assert_err(
        c.put_bucket_encryption()
            .bucket(&bucket)
            .server_side_encryption_configuration(rule(ServerSideEncryption::AwsKms, Some("nope")))
            .send()
            .await,
        400,
        "KMS.NotFoundException",
    );
    c.put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(rule(ServerSideEncryption::AwsKms, Some("testkey-2")))
        .send()
        .await
        .unwrap();
    let got = c
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let d = got.server_side_encryption_configuration().unwrap().rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap();
    assert_eq!(d.sse_algorithm(), &ServerSideEncryption::AwsKms);
    assert_eq!(d.kms_master_key_id(), Some("testkey-2"));
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .body(ByteStream::from_static(b"defaulted"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(put.ssekms_key_id(), Some("testkey-2"));
    let head = c
        .head_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(head.ssekms_key_id(), Some("testkey-2"));
    assert_eq!(s.get(&bucket, "k").await, b"defaulted");
    c.delete_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_err(
        c.get_bucket_encryption().bucket(&bucket).send().await,
        404,
        "ServerSideEncryptionConfigurationNotFoundError",
    );
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("k2")
        .body(ByteStream::from_static(b"plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.server_side_encryption(), None);
}

#[tokio::test]
async fn sse_c_over_plain_http_and_sse_without_a_kms_are_refused() {
    // Without default buckets no master key is generated: this server has no KMS.
    let s = TestServer::start_with_env(&[("LAKEGATE_NO_DEFAULT_BUCKETS", "true")]).await;
    let c = s.client();
    let bucket = s.bucket().await;
    let k = customer(1);
    assert_err(
        c.put_object()
            .bucket(&bucket)
            .key("c")
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&k.key)
            .sse_customer_key_md5(&k.md5)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        400,
        "InvalidRequest",
    );
    assert_err(
        c.put_object()
            .bucket(&bucket)
            .key("s3")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        400,
        "KMS.DisabledException",
    );
    // Nothing was stored.
    assert_status(c.head_object().bucket(&bucket).key("c").send().await, 404);
    assert_status(c.head_object().bucket(&bucket).key("s3").send().await, 404);
}

#[tokio::test]
async fn corrupted_ciphertext_is_an_error_never_data() {
    let s = server().await;
    let c = s.client();
    let bucket = s.bucket().await;
    let body = random_bytes(300_000, 9);
    c.put_object()
        .bucket(&bucket)
        .key("obj")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    // Flip one byte in the middle of the only blob (the third package).
    let mut blobs = Vec::new();
    let mut stack = vec![s.data_dir.join("blobs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                blobs.push(p);
            }
        }
    }
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    let mut bytes = std::fs::read(&blobs[0]).unwrap();
    bytes[150_000] ^= 0x01;
    std::fs::write(&blobs[0], &bytes).unwrap();
    // The packages before the damage still read.
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("obj")
        .range("bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        &body[..100]
    );
    // A read through it fails: the body stops with an error, never wrong bytes. (When the
    // damage is found before hyper flushed the response head, which it sends together with the
    // first body bytes, the connection closes before the head: the request itself fails.)
    let got = c.get_object().bucket(&bucket).key("obj").send().await;
    if let Ok(got) = got {
        let read = got.body.collect().await;
        assert!(read.is_err(), "a corrupted package was served");
    }
}

#[tokio::test]
async fn key_rotation_reseals_data_keys_and_the_old_version_can_retire() {
    let keys = std::env::temp_dir().join(format!("lakegate-kms-{}", unique_bucket("rot")));
    std::fs::write(&keys, format!("rot:{}\n", b64(&KEY1))).unwrap();
    let mut s = TestServer::start_with_env(&[("LAKEGATE_KMS_KEYS", keys.to_str().unwrap())]).await;
    let bucket = s.bucket().await;
    let body = marked(200_000, b"ROTATION");
    let put = |key: &'static str, kms: bool| {
        let c = s.client().clone();
        let (bucket, body) = (bucket.clone(), body.clone());
        async move {
            let mut r = c.put_object().bucket(&bucket).key(key);
            r = if kms {
                r.server_side_encryption(ServerSideEncryption::AwsKms)
                    .ssekms_key_id("rot")
            } else {
                r.server_side_encryption(ServerSideEncryption::Aes256)
            };
            r.body(ByteStream::from(body)).send().await.unwrap();
        }
    };
    put("s3", false).await;
    put("kms", true).await;
    let rewrap = |s: &TestServer, bucket: &str| {
        let r = s.raw("POST", &format!("/lakegate/admin/v1/kms/rewrap/{bucket}"));
        async move {
            let r = r.send().await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()
        }
    };
    let check = |s: &TestServer| {
        let c = s.client().clone();
        let (bucket, body) = (bucket.clone(), body.clone());
        async move {
            for key in ["s3", "kms"] {
                let got = c
                    .get_object()
                    .bucket(&bucket)
                    .key(key)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(got.body.collect().await.unwrap().into_bytes(), body);
            }
        }
    };
    // Nothing to do while the key has one version.
    let v = rewrap(&s, &bucket).await;
    assert_eq!(
        (v["encrypted"].as_u64(), v["rewrapped"].as_u64()),
        (Some(2), Some(0))
    );
    // A second version: old objects still read; rewrap moves both, once.
    std::fs::write(&keys, format!("rot:{}\nrot:{}\n", b64(&KEY1), b64(&KEY2))).unwrap();
    s.restart().await;
    check(&s).await;
    let v = rewrap(&s, &bucket).await;
    assert_eq!(v["rewrapped"].as_u64(), Some(2), "{v}");
    assert_eq!(rewrap(&s, &bucket).await["rewrapped"].as_u64(), Some(0));
    // The first version retired: everything still reads, under the second alone.
    std::fs::write(&keys, format!("rot:retired\nrot:{}\n", b64(&KEY2))).unwrap();
    s.restart().await;
    check(&s).await;
    // Without the rewrap, a retired version's objects would be unreadable: proven with a third
    // version that takes over from the second without a rewrap.
    std::fs::write(
        &keys,
        "rot:retired\nrot:retired\nrot:".to_string() + &b64(&KEY1) + "\n",
    )
    .unwrap();
    s.restart().await;
    let e = s
        .client()
        .get_object()
        .bucket(&bucket)
        .key("s3")
        .send()
        .await;
    assert_status(e, 500);
    let r = s
        .raw("POST", "/lakegate/admin/v1/kms/rewrap/no-such-bucket-here")
        .send()
        .await;
    assert_eq!(r.status, 404);
    let _ = std::fs::remove_file(&keys);
}
