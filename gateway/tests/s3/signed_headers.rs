//! Only what the signature covers is obeyed: unsigned `x-amz-*` headers are refused (header auth,
//! SigV4 and SigV2 presigned URLs), one query decoding for signing and routing, SigV2 presigned
//! expiry capped at 7 days, and the credential scope's region checked.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

use crate::common::*;

/// One header from each family that changes what a request does, as (name, value) pairs that
/// go together. `{src}` is replaced by a copy source.
const FAMILIES: &[&[(&str, &str)]] = &[
    &[("x-amz-copy-source", "{src}")],
    &[
        ("x-amz-object-lock-mode", "COMPLIANCE"),
        (
            "x-amz-object-lock-retain-until-date",
            "2099-01-01T00:00:00Z",
        ),
    ],
    &[("x-amz-object-lock-legal-hold", "ON")],
    &[("x-amz-bypass-governance-retention", "true")],
    &[("x-amz-meta-owner", "mallory")],
    &[("x-amz-tagging", "class=public")],
    &[("x-amz-acl", "public-read")],
    &[("x-amz-server-side-encryption", "AES256")],
    &[("x-amz-checksum-crc32", "AAAAAA==")],
    &[("x-amz-storage-class", "GLACIER")],
];

fn family_headers(family: &[(&str, &str)], src: &str) -> Vec<(String, String)> {
    family
        .iter()
        .map(|(k, v)| (k.to_string(), v.replace("{src}", src)))
        .collect()
}

/// A SigV2 presigned URL (`AWSAccessKeyId`, `Expires`, `Signature`) for `path` (URI-encoded).
fn presign_v2(base: &str, method: &str, path: &str, expires: u64) -> String {
    let sts = format!("{method}\n\n\n{expires}\n{path}");
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        ROOT_PASSWORD.as_bytes(),
    );
    let sig = b64(ring::hmac::sign(&key, sts.as_bytes()).as_ref());
    format!(
        "{base}{path}?AWSAccessKeyId={ROOT_USER}&Expires={expires}&Signature={}",
        uri_encode(&sig, true)
    )
}

const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    headers: &[(String, String)],
    body: &'static [u8],
) -> (u16, String) {
    let mut req = http.request(method, url).body(body);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

async fn object_exists(s: &TestServer, bucket: &str, key: &str) -> bool {
    s.client()
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_put_cannot_be_turned_into_a_copy_or_a_lock() {
    let s = TestServer::start().await;
    let gold = s.lock_bucket().await;
    s.put(&gold, "secret.txt", "gold only").await;
    let bronze = s.lock_bucket().await;
    let path = format!("/{bronze}/upload.txt");
    let url = presign_url(
        &s.s3_url,
        "PUT",
        &path,
        300,
        ROOT_USER,
        ROOT_PASSWORD,
        SystemTime::now(),
    );

    // The reported attack: the presigned PUT, with a copy source added.
    let copy = vec![(
        "x-amz-copy-source".to_string(),
        format!("{gold}/secret.txt"),
    )];
    let (st, text) = send(s.http(), reqwest::Method::PUT, &url, &copy, b"").await;
    assert_eq!(st, 403, "{text}");
    assert_eq!(xml_value(&text, "Code").as_deref(), Some("AccessDenied"));
    assert_eq!(
        xml_value(&text, "Message").as_deref(),
        Some("There were headers present in the request which were not signed")
    );
    assert_eq!(
        xml_value(&text, "HeadersNotSigned").as_deref(),
        Some("x-amz-copy-source")
    );
    assert!(!object_exists(&s, &bronze, "upload.txt").await);

    // ... and with a COMPLIANCE lock until 2099.
    let lock = family_headers(FAMILIES[1], "");
    let (st, text) = send(s.http(), reqwest::Method::PUT, &url, &lock, b"x").await;
    assert_eq!(st, 403, "{text}");
    assert_eq!(
        xml_value(&text, "HeadersNotSigned").as_deref(),
        Some("x-amz-object-lock-mode, x-amz-object-lock-retain-until-date")
    );
    let versions = s
        .client()
        .list_object_versions()
        .bucket(&bronze)
        .send()
        .await
        .unwrap();
    assert!(versions.versions().is_empty(), "{versions:?}");

    // x-amz-content-sha256 is the one x-amz-* header AWS takes unsigned (it is ignored here).
    let with_hash = vec![(
        "x-amz-content-sha256".to_string(),
        "UNSIGNED-PAYLOAD".to_string(),
    )];
    let (st, text) = send(s.http(), reqwest::Method::PUT, &url, &with_hash, b"first").await;
    assert_eq!(st, 200, "{text}");

    // The URL itself still does what it was signed for.
    let (st, text) = send(s.http(), reqwest::Method::PUT, &url, &[], b"fine").await;
    assert_eq!(st, 200, "{text}");
    assert_eq!(s.get(&bronze, "upload.txt").await, b"fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_header_family_must_be_signed_in_every_auth_form() {
    let s = TestServer::start().await;
    let b = s.lock_bucket().await;
    s.put(&b, "src", "source").await;
    let src = format!("{b}/src");
    let now = SystemTime::now();
    for family in FAMILIES {
        let headers = family_headers(family, &src);
        let names: Vec<&str> = family.iter().map(|(k, _)| *k).collect();
        let key = format!("k-{}", names[0]);
        let path = format!("/{b}/{key}");

        // SigV4 header auth, the header added after signing.
        let mut raw = s.raw("PUT", &path).body("data");
        for (k, v) in &headers {
            raw = raw.unsigned_header(k, v);
        }
        let r = raw.send().await;
        r.assert_error(403, "AccessDenied");
        assert_eq!(
            xml_value(&r.text(), "HeadersNotSigned"),
            Some(names.join(", ")),
            "{names:?}"
        );

        // SigV4 presigned URL.
        let url = presign_url(&s.s3_url, "PUT", &path, 300, ROOT_USER, ROOT_PASSWORD, now);
        let (st, text) = send(s.http(), reqwest::Method::PUT, &url, &headers, b"data").await;
        assert_eq!(st, 403, "{names:?}: {text}");
        assert_eq!(xml_value(&text, "Code").as_deref(), Some("AccessDenied"));

        // SigV2 presigned URL: SigV2 signs every x-amz-* header, so an added one breaks it.
        let url = presign_v2(&s.s3_url, "PUT", &path, unix_now() + 300);
        let (st, text) = send(s.http(), reqwest::Method::PUT, &url, &headers, b"data").await;
        assert_eq!(st, 403, "{names:?}: {text}");
        assert_eq!(
            xml_value(&text, "Code").as_deref(),
            Some("SignatureDoesNotMatch")
        );

        assert!(!object_exists(&s, &b, &key).await, "{names:?}");
    }

    // Signed, the same kind of header is obeyed.
    let r = s
        .raw("PUT", &format!("/{b}/signed"))
        .header("x-amz-meta-owner", "alice")
        .body("data")
        .send()
        .await;
    r.assert_ok();
    let head = s
        .client()
        .head_object()
        .bucket(&b)
        .key("signed")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("owner"))
            .map(String::as_str),
        Some("alice")
    );
    // And the SigV2 URL works without additions.
    let url = presign_v2(&s.s3_url, "PUT", &format!("/{b}/v2"), unix_now() + 300);
    let (st, text) = send(s.http(), reqwest::Method::PUT, &url, &[], b"v2").await;
    assert_eq!(st, 200, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_has_one_reading_for_signature_and_routing() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "pub a", "space").await;
    s.put(&b, "pub+a", "plus").await;
    let host = s.s3_url.trim_start_matches("http://").to_string();
    let path = format!("/{b}");
    let signed = |prefix: &str| {
        sign_v4(
            "GET",
            &path,
            &[
                ("list-type".to_string(), "2".to_string()),
                ("prefix".to_string(), prefix.to_string()),
            ],
            &[("host".to_string(), host.clone())],
            EMPTY,
            (ROOT_USER, ROOT_PASSWORD),
            SystemTime::now(),
        )
    };
    let get = |query: &'static str, headers: Vec<(String, String)>| {
        let url = format!("{}{path}?list-type=2&{query}", s.s3_url);
        let http = s.http().clone();
        async move { send(&http, reqwest::Method::GET, &url, &headers, b"").await }
    };

    // Signed for "pub " and sent as `+`: a space, listed as such.
    let (st, text) = get("prefix=pub+", signed("pub ")).await;
    assert_eq!(st, 200, "{text}");
    assert_eq!(xml_values(&text, "Key"), vec!["pub a".to_string()]);
    // The same signature does not cover `%2B` (a plus).
    let (st, text) = get("prefix=pub%2B", signed("pub ")).await;
    assert_eq!(st, 403, "{text}");
    assert_eq!(
        xml_value(&text, "Code").as_deref(),
        Some("SignatureDoesNotMatch")
    );
    // A signature over a literal plus does not cover a raw `+` either.
    let (st, text) = get("prefix=pub+", signed("pub+")).await;
    assert_eq!(st, 403, "{text}");
    // Signed for "pub+" and sent as %2B: the plus.
    let (st, text) = get("prefix=pub%2B", signed("pub+")).await;
    assert_eq!(st, 200, "{text}");
    assert_eq!(xml_values(&text, "Key"), vec!["pub+a".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv2_presigned_urls_expire_within_a_week() {
    let s = TestServer::start().await;
    let b = s.bucket().await;
    s.put(&b, "k", "v").await;
    let path = format!("/{b}/k");
    let get = |expires: u64| {
        let url = presign_v2(&s.s3_url, "GET", &path, expires);
        let http = s.http().clone();
        async move { send(&http, reqwest::Method::GET, &url, &[], b"").await }
    };
    let (st, text) = get(unix_now() + 6 * 86_400).await;
    assert_eq!((st, text.as_str()), (200, "v"));
    let (st, text) = get(unix_now() + 8 * 86_400).await;
    assert_eq!(st, 403, "{text}");
    assert_eq!(xml_value(&text, "Code").as_deref(), Some("AccessDenied"));
    // The reported case: Expires in 2100.
    let (st, text) = get(4_102_444_800).await;
    assert_eq!(st, 403, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_signed_for_another_region_are_refused() {
    let s = TestServer::start().await;
    let conf = aws_sdk_s3::Config::builder()
        .endpoint_url(&s.s3_url)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            ROOT_USER,
            ROOT_PASSWORD,
            None,
            None,
            "test",
        ))
        .force_path_style(true)
        .behavior_version(BehaviorVersion::latest())
        .build();
    let eu = aws_sdk_s3::Client::from_conf(conf);
    let err = eu.list_buckets().send().await.unwrap_err();
    assert_eq!(
        err.raw_response().map(|r| r.status().as_u16()),
        Some(400),
        "{}",
        fmt_err(&err)
    );
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&err),
        Some("AuthorizationHeaderMalformed")
    );
    let raw = err.raw_response().unwrap();
    let body = String::from_utf8_lossy(raw.body().bytes().unwrap()).into_owned();
    assert_eq!(
        xml_value(&body, "Region").as_deref(),
        Some(REGION),
        "{body}"
    );
    assert!(
        body.contains("the region &apos;eu-west-1&apos; is wrong; expecting &apos;us-east-1&apos;")
            || body.contains("the region 'eu-west-1' is wrong; expecting 'us-east-1'"),
        "{body}"
    );

    // A bucket in another region could never be used: refused, as on AWS's regional endpoints.
    let r = s
        .raw("PUT", "/elsewhere-bucket")
        .body(
            "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>\
             </CreateBucketConfiguration>",
        )
        .send()
        .await;
    r.assert_error(400, "IllegalLocationConstraintException");
    assert!(
        s.client()
            .head_bucket()
            .bucket("elsewhere-bucket")
            .send()
            .await
            .is_err()
    );

    // Presigned for another region.
    let url = presign_url(
        &s.s3_url,
        "GET",
        "/",
        60,
        ROOT_USER,
        ROOT_PASSWORD,
        SystemTime::now(),
    )
    .replace("%2Fus-east-1%2F", "%2Feu-west-1%2F");
    let (st, text) = send(s.http(), reqwest::Method::GET, &url, &[], b"").await;
    assert_eq!(st, 400, "{text}");
    assert_eq!(
        xml_value(&text, "Code").as_deref(),
        Some("AuthorizationQueryParametersError")
    );
    assert_eq!(xml_value(&text, "Region").as_deref(), Some(REGION));
}
