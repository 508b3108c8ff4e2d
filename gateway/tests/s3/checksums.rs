//! Additional checksums: crc32, crc32c, sha1, sha256, crc64nvme on PutObject (verified,
//! stored, returned with `x-amz-checksum-mode: ENABLED`), aws-chunked trailers, and composite
//! / full-object checksums for multipart uploads.

use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};

use crate::common::*;

#[derive(Clone, Copy, Debug)]
enum Algo {
    Crc32,
    Crc32c,
    Sha1,
    Sha256,
    Crc64Nvme,
}

const ALL: [Algo; 5] = [
    Algo::Crc32,
    Algo::Crc32c,
    Algo::Sha1,
    Algo::Sha256,
    Algo::Crc64Nvme,
];

impl Algo {
    fn raw(self, data: &[u8]) -> Vec<u8> {
        match self {
            Algo::Crc32 => crc32_raw(data),
            Algo::Crc32c => crc32c_raw(data),
            Algo::Sha1 => sha1_raw(data),
            Algo::Sha256 => sha256_raw(data),
            Algo::Crc64Nvme => crc64nvme_raw(data),
        }
    }
    fn b64(self, data: &[u8]) -> String {
        b64(&self.raw(data))
    }
    fn sdk(self) -> ChecksumAlgorithm {
        match self {
            Algo::Crc32 => ChecksumAlgorithm::Crc32,
            Algo::Crc32c => ChecksumAlgorithm::Crc32C,
            Algo::Sha1 => ChecksumAlgorithm::Sha1,
            Algo::Sha256 => ChecksumAlgorithm::Sha256,
            Algo::Crc64Nvme => ChecksumAlgorithm::Crc64Nvme,
        }
    }
    fn header(self) -> &'static str {
        match self {
            Algo::Crc32 => "x-amz-checksum-crc32",
            Algo::Crc32c => "x-amz-checksum-crc32c",
            Algo::Sha1 => "x-amz-checksum-sha1",
            Algo::Sha256 => "x-amz-checksum-sha256",
            Algo::Crc64Nvme => "x-amz-checksum-crc64nvme",
        }
    }
    fn set(self, p: PutObjectFluentBuilder, v: String) -> PutObjectFluentBuilder {
        match self {
            Algo::Crc32 => p.checksum_crc32(v),
            Algo::Crc32c => p.checksum_crc32_c(v),
            Algo::Sha1 => p.checksum_sha1(v),
            Algo::Sha256 => p.checksum_sha256(v),
            Algo::Crc64Nvme => p.checksum_crc64_nvme(v),
        }
    }
}

fn get_checksum(
    out: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
    a: Algo,
) -> Option<String> {
    match a {
        Algo::Crc32 => out.checksum_crc32(),
        Algo::Crc32c => out.checksum_crc32_c(),
        Algo::Sha1 => out.checksum_sha1(),
        Algo::Sha256 => out.checksum_sha256(),
        Algo::Crc64Nvme => out.checksum_crc64_nvme(),
    }
    .map(String::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_with_explicit_checksum_each_algorithm() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = random_bytes(200_000, 11);
    for a in ALL {
        let key = format!("{a:?}");
        let want = a.b64(&data);
        let out = a
            .set(
                c.put_object().bucket(&b).key(&key).body(body(data.clone())),
                want.clone(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{a:?}: {}", fmt_err(&e)));
        assert_eq!(quoted_md5(&data), out.e_tag().unwrap(), "{a:?}");
        let head = c
            .head_object()
            .bucket(&b)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(get_checksum(&head, a), Some(want.clone()), "{a:?} HEAD");
        assert_eq!(
            head.checksum_type(),
            Some(&ChecksumType::FullObject),
            "{a:?} single PUT checksums are FULL_OBJECT"
        );
        // Raw GET returns the header too.
        let r = s
            .raw_object("GET", &b, &key)
            .header("x-amz-checksum-mode", "ENABLED")
            .send()
            .await;
        r.assert_ok();
        assert_eq!(r.header(a.header()), Some(want.clone()), "{a:?} GET");
        assert_eq!(r.body, data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_with_wrong_checksum_is_bad_digest() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = random_bytes(10_000, 12);
    for a in ALL {
        let key = format!("bad-{a:?}");
        let wrong = a.b64(b"different data");
        assert_err(
            a.set(
                c.put_object().bucket(&b).key(&key).body(body(data.clone())),
                wrong,
            )
            .send()
            .await,
            400,
            "BadDigest",
        );
        assert_err(
            c.get_object().bucket(&b).key(&key).send().await,
            404,
            "NoSuchKey",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_computed_checksums_via_aws_chunked_trailer() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = random_bytes(1_000_000, 13);
    for a in ALL {
        let key = format!("sdk-{a:?}");
        // The SDK computes the checksum while streaming and sends it as an aws-chunked trailer.
        c.put_object()
            .bucket(&b)
            .key(&key)
            .checksum_algorithm(a.sdk())
            .body(body(data.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{a:?}: {}", fmt_err(&e)));
        let head = c
            .head_object()
            .bucket(&b)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(get_checksum(&head, a), Some(a.b64(&data)), "{a:?}");
        assert_eq!(head.content_length(), Some(data.len() as i64));
        assert_eq!(head.e_tag(), Some(quoted_md5(&data).as_str()));
        let out = c
            .get_object()
            .bucket(&b)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(read_body(out).await, data);
    }
    // Default SDK behaviour (no algorithm chosen): CRC32 is computed and stored.
    c.put_object()
        .bucket(&b)
        .key("default")
        .body(body(data.clone()))
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket(&b)
        .key("default")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_crc32(), Some(Algo::Crc32.b64(&data).as_str()));
}

fn chunked_unsigned_body(data: &[u8], chunk: usize, trailer: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for c in data.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    out.extend_from_slice(trailer.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_unsigned_trailer_checksum_verified() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let data = random_bytes(100_000, 14);
    let good = chunked_unsigned_body(
        &data,
        16 * 1024,
        &format!("x-amz-checksum-crc32c:{}", Algo::Crc32c.b64(&data)),
    );
    let r = s
        .raw_object("PUT", &b, "trailer-good")
        .payload_hash("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", &data.len().to_string())
        .header("x-amz-trailer", "x-amz-checksum-crc32c")
        .body(good)
        .send()
        .await;
    r.assert_ok();
    let head = s
        .client()
        .head_object()
        .bucket(&b)
        .key("trailer-good")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.checksum_crc32_c(),
        Some(Algo::Crc32c.b64(&data).as_str())
    );
    assert_eq!(head.content_encoding(), None, "aws-chunked is not stored");
    assert_eq!(s.get(&b, "trailer-good").await, data);

    let bad = chunked_unsigned_body(
        &data,
        16 * 1024,
        &format!("x-amz-checksum-crc32c:{}", Algo::Crc32c.b64(b"other")),
    );
    let r = s
        .raw_object("PUT", &b, "trailer-bad")
        .payload_hash("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", &data.len().to_string())
        .header("x-amz-trailer", "x-amz-checksum-crc32c")
        .body(bad)
        .send()
        .await;
    r.assert_error(400, "BadDigest");
    assert_status(
        s.client()
            .head_object()
            .bucket(&b)
            .key("trailer-bad")
            .send()
            .await,
        404,
    );

    // Decoded length that disagrees with the chunks.
    let r = s
        .raw_object("PUT", &b, "trailer-len")
        .payload_hash("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        .header("content-encoding", "aws-chunked")
        .header(
            "x-amz-decoded-content-length",
            &(data.len() + 5).to_string(),
        )
        .header("x-amz-trailer", "x-amz-checksum-crc32c")
        .body(chunked_unsigned_body(
            &data,
            16 * 1024,
            &format!("x-amz-checksum-crc32c:{}", Algo::Crc32c.b64(&data)),
        ))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_status(
        s.client()
            .head_object()
            .bucket(&b)
            .key("trailer-len")
            .send()
            .await,
        404,
    );
}

/// Uploads `data` as parts of `part_size` with the given algorithm; returns parts and their
/// raw checksums.
async fn multipart_with_checksum(
    s: &TestServer,
    b: &str,
    key: &str,
    data: &[u8],
    part_size: usize,
    a: Algo,
    full_object: bool,
) -> (String, Vec<CompletedPart>, Vec<Vec<u8>>) {
    let c = s.client();
    let mut create = c
        .create_multipart_upload()
        .bucket(b)
        .key(key)
        .checksum_algorithm(a.sdk());
    if full_object {
        create = create.checksum_type(ChecksumType::FullObject);
    }
    let up = create
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {a:?}: {}", fmt_err(&e)));
    assert_eq!(up.checksum_algorithm(), Some(&a.sdk()));
    let id = up.upload_id().unwrap().to_string();
    let mut parts = Vec::new();
    let mut raws = Vec::new();
    for (i, chunk) in data.chunks(part_size).enumerate() {
        let n = i as i32 + 1;
        let out = c
            .upload_part()
            .bucket(b)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .checksum_algorithm(a.sdk())
            .body(body(chunk.to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("part {n} {a:?}: {}", fmt_err(&e)));
        let want = a.b64(chunk);
        let mut p = CompletedPart::builder()
            .part_number(n)
            .e_tag(out.e_tag().unwrap());
        let got = match a {
            Algo::Crc32 => {
                p = p.checksum_crc32(want.clone());
                out.checksum_crc32()
            }
            Algo::Crc32c => {
                p = p.checksum_crc32_c(want.clone());
                out.checksum_crc32_c()
            }
            Algo::Sha1 => {
                p = p.checksum_sha1(want.clone());
                out.checksum_sha1()
            }
            Algo::Sha256 => {
                p = p.checksum_sha256(want.clone());
                out.checksum_sha256()
            }
            Algo::Crc64Nvme => {
                p = p.checksum_crc64_nvme(want.clone());
                out.checksum_crc64_nvme()
            }
        };
        assert_eq!(
            got,
            Some(want.as_str()),
            "UploadPart {n} returns its checksum"
        );
        parts.push(p.build());
        raws.push(a.raw(chunk));
    }
    (id, parts, raws)
}

async fn check_composite(a: Algo, size: usize, part: usize) {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = random_bytes(size, 15);
    let (id, parts, raws) = multipart_with_checksum(&s, &b, "mp", &data, part, a, false).await;
    let n = parts.len();
    let done = c
        .complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete: {}", fmt_err(&e)));
    let composite = format!("{}-{n}", b64(&a.raw(&raws.concat())));
    let chunks: Vec<&[u8]> = data.chunks(part).collect();
    assert_eq!(done.e_tag(), Some(multipart_etag(&chunks).as_str()));
    let got_complete = match a {
        Algo::Crc32 => done.checksum_crc32(),
        Algo::Crc32c => done.checksum_crc32_c(),
        Algo::Sha1 => done.checksum_sha1(),
        Algo::Sha256 => done.checksum_sha256(),
        Algo::Crc64Nvme => done.checksum_crc64_nvme(),
    };
    assert_eq!(
        got_complete,
        Some(composite.as_str()),
        "Complete returns the checksum"
    );
    let head = c
        .head_object()
        .bucket(&b)
        .key("mp")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(get_checksum(&head, a), Some(composite));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::Composite));
    assert_eq!(head.content_length(), Some(size as i64));
    let out = c.get_object().bucket(&b).key("mp").send().await.unwrap();
    let got = read_body(out).await;
    assert!(got == data, "multipart content differs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_50mib_composite_crc32() {
    check_composite(Algo::Crc32, 50 * MIB, 5 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_composite_crc32c() {
    check_composite(Algo::Crc32c, 5 * MIB + 123, 5 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_composite_sha1() {
    check_composite(Algo::Sha1, 5 * MIB + 1, 5 * MIB).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_composite_sha256() {
    check_composite(Algo::Sha256, 10 * MIB + 5, 5 * MIB).await;
}

async fn check_full_object(a: Algo) {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = random_bytes(11 * MIB + 17, 16);
    let part = 5 * MIB;
    let (id, parts, _) = multipart_with_checksum(&s, &b, "full", &data, part, a, true).await;
    let full = a.b64(&data);
    let mut complete = c
        .complete_multipart_upload()
        .bucket(&b)
        .key("full")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        );
    complete = match a {
        Algo::Crc32 => complete.checksum_crc32(full.clone()),
        Algo::Crc32c => complete.checksum_crc32_c(full.clone()),
        Algo::Crc64Nvme => complete.checksum_crc64_nvme(full.clone()),
        _ => unreachable!(),
    };
    complete
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete {a:?}: {}", fmt_err(&e)));
    let head = c
        .head_object()
        .bucket(&b)
        .key("full")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        get_checksum(&head, a),
        Some(full),
        "full-object checksum, no -N"
    );
    assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
    assert_eq!(s.get(&b, "full").await, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_full_object_crc64nvme() {
    check_full_object(Algo::Crc64Nvme).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_full_object_crc32() {
    check_full_object(Algo::Crc32).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_full_object_wrong_checksum_on_complete() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = random_bytes(5 * MIB + 3, 17);
    let (id, parts, _) =
        multipart_with_checksum(&s, &b, "bad", &data, 5 * MIB, Algo::Crc64Nvme, true).await;
    assert_err(
        c.complete_multipart_upload()
            .bucket(&b)
            .key("bad")
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .checksum_crc64_nvme(Algo::Crc64Nvme.b64(b"not the data"))
            .checksum_type(ChecksumType::FullObject)
            .send()
            .await,
        400,
        "BadDigest",
    );
    assert_status(c.head_object().bucket(&b).key("bad").send().await, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_with_wrong_checksum() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("k")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    assert_err(
        c.upload_part()
            .bucket(&b)
            .key("k")
            .upload_id(up.upload_id().unwrap())
            .part_number(1)
            .checksum_sha256(Algo::Sha256.b64(b"other"))
            .body(body("part data"))
            .send()
            .await,
        400,
        "BadDigest",
    );
    let parts = c
        .list_parts()
        .bucket(&b)
        .key("k")
        .upload_id(up.upload_id().unwrap())
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty(), "failed part not listed");
}

async fn check_full_object_server_computed(a: Algo) {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    let data = random_bytes(11 * MIB + 17, 18);
    let (id, parts, _) = multipart_with_checksum(&s, &b, "full", &data, 5 * MIB, a, true).await;
    let done = c
        .complete_multipart_upload()
        .bucket(&b)
        .key("full")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete {a:?}: {}", fmt_err(&e)));
    let got = match a {
        Algo::Crc32 => done.checksum_crc32(),
        Algo::Crc32c => done.checksum_crc32_c(),
        Algo::Crc64Nvme => done.checksum_crc64_nvme(),
        _ => unreachable!(),
    };
    assert_eq!(
        got,
        Some(a.b64(&data).as_str()),
        "{a:?}: full-object checksum computed by the server (combined part CRCs)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_full_object_checksum_computed_by_server() {
    check_full_object_server_computed(Algo::Crc64Nvme).await;
    check_full_object_server_computed(Algo::Crc32).await;
    check_full_object_server_computed(Algo::Crc32c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_attributes_of_a_multipart_object_and_its_part_checksums() {
    use aws_sdk_s3::types::ObjectAttributes as A;
    let s = TestServer::start().await;
    let b = s.versioned_bucket().await;
    let c = s.client();
    let (part, n) = (5 * MIB, 4);
    let data = random_bytes(part * n, 21);
    let (id, parts, raws) =
        multipart_with_checksum(&s, &b, "mp", &data, part, Algo::Sha256, false).await;
    let done = c
        .complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let attrs = c
        .get_object_attributes()
        .bucket(&b)
        .key("mp")
        .object_attributes(A::Etag)
        .object_attributes(A::Checksum)
        .object_attributes(A::ObjectParts)
        .object_attributes(A::StorageClass)
        .object_attributes(A::ObjectSize)
        .max_parts(2)
        .part_number_marker("1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", fmt_err(&e)));
    assert_eq!(attrs.e_tag(), done.e_tag().map(|e| e.trim_matches('"')));
    assert_eq!(attrs.version_id(), done.version_id());
    assert_eq!(attrs.object_size(), Some((part * n) as i64));
    assert_eq!(attrs.storage_class().map(|s| s.as_str()), Some("STANDARD"));
    let sum = attrs.checksum().unwrap();
    assert_eq!(sum.checksum_sha256(), done.checksum_sha256());
    assert_eq!(sum.checksum_type(), Some(&ChecksumType::Composite));
    let p = attrs.object_parts().unwrap();
    assert_eq!(p.total_parts_count(), Some(n as i32));
    assert_eq!(p.part_number_marker(), Some("1"));
    assert_eq!(p.next_part_number_marker(), Some("3"));
    assert_eq!(p.max_parts(), Some(2));
    assert_eq!(p.is_truncated(), Some(true));
    let listed: Vec<(Option<i32>, Option<i64>, Option<String>)> = p
        .parts()
        .iter()
        .map(|x| {
            (
                x.part_number(),
                x.size(),
                x.checksum_sha256().map(String::from),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (Some(2), Some(part as i64), Some(b64(&raws[1]))),
            (Some(3), Some(part as i64), Some(b64(&raws[2]))),
        ]
    );
    // A part GET in checksum mode answers that part's checksum.
    let got = c
        .get_object()
        .bucket(&b)
        .key("mp")
        .part_number(3)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_sha256(), Some(b64(&raws[2]).as_str()));
    assert_eq!(got.checksum_type(), Some(&ChecksumType::Composite));
    // A single-PUT object has no parts; the header must name attributes.
    s.put(&b, "small", "abc").await;
    let attrs = c
        .get_object_attributes()
        .bucket(&b)
        .key("small")
        .object_attributes(A::ObjectParts)
        .object_attributes(A::ObjectSize)
        .send()
        .await
        .unwrap();
    assert!(attrs.object_parts().is_none());
    assert_eq!(attrs.object_size(), Some(3));
    s.raw_object("GET", &b, "small")
        .query("attributes", "")
        .send()
        .await
        .assert_error(400, "InvalidArgument");
}
