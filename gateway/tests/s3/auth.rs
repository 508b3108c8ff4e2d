//! Authentication: SigV4 header and presigned, unsigned payload, aws-chunked signed streaming,
//! clock skew, wrong secret, unknown key, anonymous access, health endpoints.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_need_no_auth() {
    let s = TestServer::start().await;
    for path in [
        "/minio/health/live",
        "/minio/health/ready",
        "/minio/health/cluster",
        "/minio/health/cluster/read",
        "/health/live",
    ] {
        let r = s.raw("GET", path).anonymous().send().await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let r = s.raw("HEAD", path).anonymous().send().await;
        assert_eq!(r.status, 200, "HEAD {path}");
    }
    let r = s
        .raw("GET", "/minio/health/cluster")
        .anonymous()
        .send()
        .await;
    assert_eq!(r.header("x-minio-write-quorum").as_deref(), Some("1"));
    // One node: taking it down for maintenance would lose availability.
    for path in ["/minio/health/cluster", "/minio/health/cluster/read"] {
        let r = s
            .raw("GET", path)
            .query("maintenance", "true")
            .anonymous()
            .send()
            .await;
        assert_eq!(r.status, 412, "{path}?maintenance=true");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_are_denied() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "secret", "data").await;
    let cases = [
        ("GET", "/".to_string()),
        ("GET", format!("/{b}")),
        ("GET", format!("/{b}/secret")),
        ("HEAD", format!("/{b}/secret")),
        ("PUT", format!("/{b}/new")),
        ("DELETE", format!("/{b}/secret")),
        ("PUT", format!("/{}", unique_bucket("anon"))),
    ];
    for (m, p) in cases {
        let r = s
            .raw(m, &p)
            .anonymous()
            .body(if m == "PUT" { "x" } else { "" })
            .send()
            .await;
        if m == "HEAD" {
            assert_eq!(r.status, 403, "{m} {p}");
        } else {
            r.assert_error(403, "AccessDenied");
        }
        assert!(r.header("x-amz-request-id").is_some());
    }
    assert_eq!(s.get(&b, "secret").await, b"data");
    assert_status(
        s.client().head_object().bucket(&b).key("new").send().await,
        404,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_and_unknown_key() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let bad = s.client_with(ROOT_USER, "wrong-secret");
    assert_err(
        bad.list_buckets().send().await,
        403,
        "SignatureDoesNotMatch",
    );
    assert_err(
        bad.put_object()
            .bucket(&b)
            .key("k")
            .body(body("x"))
            .send()
            .await,
        403,
        "SignatureDoesNotMatch",
    );
    assert_err(
        bad.get_object().bucket(&b).key("k").send().await,
        403,
        "SignatureDoesNotMatch",
    );
    let unknown = s.client_with("nobody", ROOT_PASSWORD);
    assert_err(
        unknown.list_buckets().send().await,
        403,
        "InvalidAccessKeyId",
    );
    assert_err(
        unknown
            .put_object()
            .bucket(&b)
            .key("k")
            .body(body("x"))
            .send()
            .await,
        403,
        "InvalidAccessKeyId",
    );
    assert_status(
        s.client().head_object().bucket(&b).key("k").send().await,
        404,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_root_credentials_from_env() {
    // Overrides the harness defaults.
    let s = TestServer::start_with_env(&[
        ("LAKEGATE_ROOT_USER", "lakeadmin"),
        ("LAKEGATE_ROOT_PASSWORD", "s3cr3t-pa55word"),
    ])
    .await;
    assert_err(
        s.client().list_buckets().send().await,
        403,
        "InvalidAccessKeyId",
    );
    let c = s.client_with("lakeadmin", "s3cr3t-pa55word");
    c.list_buckets().send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_time_too_skewed() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    for skew in [-20 * 60i64, 20 * 60] {
        let t = if skew < 0 {
            SystemTime::now() - Duration::from_secs((-skew) as u64)
        } else {
            SystemTime::now() + Duration::from_secs(skew as u64)
        };
        let r = s.raw("GET", &format!("/{b}")).at(t).send().await;
        r.assert_error(403, "RequestTimeTooSkewed");
    }
    // 5 minutes is within the 15-minute window.
    let r = s
        .raw("GET", &format!("/{b}"))
        .at(SystemTime::now() - Duration::from_secs(300))
        .send()
        .await;
    r.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_signed_requests_and_payload_hashes() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    // Signed payload hash.
    s.raw_object("PUT", &b, "signed")
        .body("abc")
        .send()
        .await
        .assert_ok();
    assert_eq!(s.get(&b, "signed").await, b"abc");
    // UNSIGNED-PAYLOAD.
    s.raw_object("PUT", &b, "unsigned")
        .payload_hash("UNSIGNED-PAYLOAD")
        .body("def")
        .send()
        .await
        .assert_ok();
    assert_eq!(s.get(&b, "unsigned").await, b"def");
    // Declared hash does not match the body.
    let r = s
        .raw_object("PUT", &b, "mismatch")
        .payload_hash(&sha256_hex(b"something else"))
        .body("ghi")
        .send()
        .await;
    r.assert_error(400, "XAmzContentSHA256Mismatch");
    assert_status(
        s.client()
            .head_object()
            .bucket(&b)
            .key("mismatch")
            .send()
            .await,
        404,
    );
    // Wrong secret on a raw request.
    let r = s
        .raw_object("GET", &b, "signed")
        .credentials(ROOT_USER, "nope")
        .send()
        .await;
    r.assert_error(403, "SignatureDoesNotMatch");
    // Malformed Authorization header.
    let r = s
        .raw_object("GET", &b, "signed")
        .anonymous()
        .header("authorization", "AWS4-HMAC-SHA256 garbage")
        .header("x-amz-date", &amz_date(SystemTime::now()))
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .send()
        .await;
    assert!(
        r.status == 400 || r.status == 403,
        "malformed Authorization: {} {}",
        r.status,
        r.text()
    );
    assert_ne!(r.body, b"abc");
}

fn streaming_signed_body(
    data: &[u8],
    chunk: usize,
    secret: &str,
    date_time: &str,
    seed: &str,
) -> Vec<u8> {
    let scope = format!("{}/{REGION}/s3/aws4_request", &date_time[..8]);
    let key = signing_key(secret, &date_time[..8]);
    let empty = sha256_hex(b"");
    let mut prev = seed.to_string();
    let mut out = Vec::new();
    let mut chunks: Vec<&[u8]> = data.chunks(chunk).collect();
    chunks.push(&[]);
    for c in chunks {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{date_time}\n{scope}\n{prev}\n{empty}\n{}",
            sha256_hex(c)
        );
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
        let sig = hex::encode(ring::hmac::sign(&k, sts.as_bytes()).as_ref());
        out.extend_from_slice(format!("{:x};chunk-signature={sig}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
        prev = sig;
    }
    out
}

async fn put_streaming_signed(
    s: &TestServer,
    b: &str,
    key: &str,
    data: &[u8],
    tamper: bool,
) -> RawResponse {
    let now = SystemTime::now();
    let path = format!("/{b}/{}", uri_encode(key, false));
    let host = s.s3_url.trim_start_matches("http://").to_string();
    let headers = vec![
        ("host".to_string(), host),
        ("content-encoding".to_string(), "aws-chunked".to_string()),
        (
            "x-amz-decoded-content-length".to_string(),
            data.len().to_string(),
        ),
    ];
    let signed = sign_v4(
        "PUT",
        &path,
        &[],
        &headers,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        (ROOT_USER, ROOT_PASSWORD),
        now,
    );
    let auth = &signed.iter().find(|(k, _)| k == "authorization").unwrap().1;
    let seed = auth.rsplit("Signature=").next().unwrap().to_string();
    let mut encoded = streaming_signed_body(data, 64 * 1024, ROOT_PASSWORD, &amz_date(now), &seed);
    if tamper {
        // Flip one payload byte of the first chunk (after its header line).
        let pos = encoded.iter().position(|&c| c == b'\n').unwrap() + 10;
        encoded[pos] ^= 0xff;
    }
    let mut req = s.raw("PUT", &path).anonymous().body(encoded);
    for (k, v) in headers.iter().skip(1).chain(signed.iter()) {
        req = req.header(k, v);
    }
    req.send().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_chunked_signed_streaming_payload() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let data = random_bytes(300_000, 41);
    let r = put_streaming_signed(&s, &b, "streamed", &data, false).await;
    r.assert_ok();
    assert_eq!(r.header("etag"), Some(quoted_md5(&data)));
    assert_eq!(s.get(&b, "streamed").await, data);
    let head = s
        .client()
        .head_object()
        .bucket(&b)
        .key("streamed")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(head.content_encoding(), None, "aws-chunked is not stored");

    let r = put_streaming_signed(&s, &b, "tampered", &data, true).await;
    r.assert_error(403, "SignatureDoesNotMatch");
    assert_status(
        s.client()
            .head_object()
            .bucket(&b)
            .key("tampered")
            .send()
            .await,
        404,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_get_and_put() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    s.put(&b, "dir/presigned file+1.txt", "presigned content")
        .await;

    let req = c
        .get_object()
        .bucket(&b)
        .key("dir/presigned file+1.txt")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    assert!(req.uri().contains("X-Amz-Signature="));
    let mut rb = s.http().get(req.uri());
    for (k, v) in req.headers() {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"presigned content");

    // Presigned PUT.
    let req = c
        .put_object()
        .bucket(&b)
        .key("uploaded via presign")
        .content_type("text/plain")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let mut rb = s.http().put(req.uri());
    for (k, v) in req.headers() {
        rb = rb.header(k, v);
    }
    let resp = rb.body("put by url").send().await.unwrap();
    let st = resp.status().as_u16();
    assert_eq!(st, 200, "{}", resp.text().await.unwrap_or_default());
    assert_eq!(s.get(&b, "uploaded via presign").await, b"put by url");

    // Presigned HEAD via raw.
    let req = c
        .head_object()
        .bucket(&b)
        .key("uploaded via presign")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
        .await
        .unwrap();
    let resp = s.http().head(req.uri()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_url_expiry_and_tampering() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let c = s.client();
    s.put(&b, "k", "v").await;
    s.put(&b, "other", "w").await;

    let short = c
        .get_object()
        .bucket(&b)
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(1)).unwrap())
        .await
        .unwrap();
    let long = c
        .get_object()
        .bucket(&b)
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resp = s.http().get(short.uri()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let text = resp.text().await.unwrap();
    assert_eq!(
        xml_value(&text, "Code").as_deref(),
        Some("AccessDenied"),
        "{text}"
    );

    // Still valid.
    let resp = s.http().get(long.uri()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // Tampered key.
    let tampered = long.uri().replacen("/k?", "/other?", 1);
    assert_ne!(tampered, long.uri());
    let resp = s.http().get(&tampered).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let text = resp.text().await.unwrap();
    assert_eq!(
        xml_value(&text, "Code").as_deref(),
        Some("SignatureDoesNotMatch"),
        "{text}"
    );

    // Tampered method: a presigned GET cannot be used to PUT.
    let resp = s
        .http()
        .put(long.uri())
        .body("overwrite")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(s.get(&b, "k").await, b"v");

    // Presigned with a wrong secret.
    let bad = s
        .client_with(ROOT_USER, "wrong")
        .get_object()
        .bucket(&b)
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
        .await
        .unwrap();
    let resp = s.http().get(bad.uri()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let text = resp.text().await.unwrap();
    assert_eq!(
        xml_value(&text, "Code").as_deref(),
        Some("SignatureDoesNotMatch"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_made_presigned_urls() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "k", "hand presigned").await;
    let path = format!("/{b}/k");
    let now = SystemTime::now();
    let get = |url: String| {
        let http = s.http().clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            let st = r.status().as_u16();
            let text = r.text().await.unwrap();
            (st, text)
        }
    };
    // Valid.
    let (st, text) = get(presign_url(
        &s.s3_url,
        "GET",
        &path,
        60,
        ROOT_USER,
        ROOT_PASSWORD,
        now,
    ))
    .await;
    assert_eq!((st, text.as_str()), (200, "hand presigned"));
    // Signed an hour ago with a 10-minute lifetime: expired.
    let (st, text) = get(presign_url(
        &s.s3_url,
        "GET",
        &path,
        600,
        ROOT_USER,
        ROOT_PASSWORD,
        now - Duration::from_secs(3600),
    ))
    .await;
    assert_eq!(
        (st, xml_value(&text, "Code").as_deref()),
        (403, Some("AccessDenied")),
        "{text}"
    );
    // Signed an hour ago with a 2-hour lifetime: still valid (presigned URLs are not subject
    // to the 15-minute skew window).
    let (st, _) = get(presign_url(
        &s.s3_url,
        "GET",
        &path,
        7200,
        ROOT_USER,
        ROOT_PASSWORD,
        now - Duration::from_secs(3600),
    ))
    .await;
    assert_eq!(st, 200);
    // More than 7 days.
    let (st, text) = get(presign_url(
        &s.s3_url,
        "GET",
        &path,
        604_801,
        ROOT_USER,
        ROOT_PASSWORD,
        now,
    ))
    .await;
    assert_eq!(
        (st, xml_value(&text, "Code").as_deref()),
        (400, Some("AuthorizationQueryParametersError")),
        "{text}"
    );
    // Wrong secret, unknown key.
    let (st, text) = get(presign_url(
        &s.s3_url, "GET", &path, 60, ROOT_USER, "bad", now,
    ))
    .await;
    assert_eq!(
        (st, xml_value(&text, "Code").as_deref()),
        (403, Some("SignatureDoesNotMatch")),
        "{text}"
    );
    let (st, text) = get(presign_url(
        &s.s3_url,
        "GET",
        &path,
        60,
        "nobody",
        ROOT_PASSWORD,
        now,
    ))
    .await;
    assert_eq!(
        (st, xml_value(&text, "Code").as_deref()),
        (403, Some("InvalidAccessKeyId")),
        "{text}"
    );
    // Signed in the future (beyond skew): not yet valid.
    let (st, _) = get(presign_url(
        &s.s3_url,
        "GET",
        &path,
        60,
        ROOT_USER,
        ROOT_PASSWORD,
        now + Duration::from_secs(3600),
    ))
    .await;
    assert_eq!(st, 403);
}

/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: signed chunks, then a signed trailer
/// carrying a checksum. `bad_checksum` sends a wrong (but correctly signed) checksum,
/// `bad_trailer_sig` a wrong trailer signature.
async fn put_streaming_signed_trailer(
    s: &TestServer,
    b: &str,
    key: &str,
    data: &[u8],
    bad_checksum: bool,
    bad_trailer_sig: bool,
) -> RawResponse {
    let now = SystemTime::now();
    let date_time = amz_date(now);
    let path = format!("/{b}/{}", uri_encode(key, false));
    let host = s.s3_url.trim_start_matches("http://").to_string();
    let headers = vec![
        ("host".to_string(), host),
        ("content-encoding".to_string(), "aws-chunked".to_string()),
        (
            "x-amz-decoded-content-length".to_string(),
            data.len().to_string(),
        ),
        (
            "x-amz-trailer".to_string(),
            "x-amz-checksum-crc32".to_string(),
        ),
    ];
    let signed = sign_v4(
        "PUT",
        &path,
        &[],
        &headers,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        (ROOT_USER, ROOT_PASSWORD),
        now,
    );
    let auth = &signed.iter().find(|(k, _)| k == "authorization").unwrap().1;
    let seed = auth.rsplit("Signature=").next().unwrap().to_string();
    let mut body = streaming_signed_body(data, 64 * 1024, ROOT_PASSWORD, &date_time, &seed);
    // The last chunk's signature chains into the trailer signature.
    let text = String::from_utf8_lossy(&body).into_owned();
    let last_sig = text
        .rsplit("chunk-signature=")
        .next()
        .unwrap()
        .trim_end()
        .to_string();
    // The 0-length chunk is followed directly by the trailer lines (no empty line between).
    assert!(body.ends_with(b"\r\n\r\n"));
    body.truncate(body.len() - 2);
    let crc = if bad_checksum {
        b64(&crc32_raw(b"something else"))
    } else {
        b64(&crc32_raw(data))
    };
    let trailer = format!("x-amz-checksum-crc32:{crc}\n");
    let scope = format!("{}/{REGION}/s3/aws4_request", &date_time[..8]);
    let sts = format!(
        "AWS4-HMAC-SHA256-TRAILER\n{date_time}\n{scope}\n{last_sig}\n{}",
        sha256_hex(trailer.as_bytes())
    );
    let k = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        &signing_key(ROOT_PASSWORD, &date_time[..8]),
    );
    let mut trailer_sig = hex::encode(ring::hmac::sign(&k, sts.as_bytes()).as_ref());
    if bad_trailer_sig {
        trailer_sig = "0".repeat(64);
    }
    body.extend_from_slice(
        format!("x-amz-checksum-crc32:{crc}\r\nx-amz-trailer-signature:{trailer_sig}\r\n\r\n")
            .as_bytes(),
    );
    let mut req = s.raw("PUT", &path).anonymous().body(body);
    for (k, v) in headers.iter().skip(1).chain(signed.iter()) {
        req = req.header(k, v);
    }
    req.send().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_chunked_signed_streaming_with_trailer() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    let data = random_bytes(200_000, 42);
    let r = put_streaming_signed_trailer(&s, &b, "ok", &data, false, false).await;
    r.assert_ok();
    assert_eq!(s.get(&b, "ok").await, data);
    let head = s
        .client()
        .head_object()
        .bucket(&b)
        .key("ok")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_crc32(), Some(b64(&crc32_raw(&data)).as_str()));

    let r = put_streaming_signed_trailer(&s, &b, "bad-crc", &data, true, false).await;
    r.assert_error(400, "BadDigest");
    assert_status(
        s.client()
            .head_object()
            .bucket(&b)
            .key("bad-crc")
            .send()
            .await,
        404,
    );

    let r = put_streaming_signed_trailer(&s, &b, "bad-sig", &data, false, true).await;
    r.assert_error(403, "SignatureDoesNotMatch");
    assert_status(
        s.client()
            .head_object()
            .bucket(&b)
            .key("bad-sig")
            .send()
            .await,
        404,
    );
}
