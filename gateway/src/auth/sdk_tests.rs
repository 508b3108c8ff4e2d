//! End-to-end checks against a real client: the AWS Rust SDK talks to a tiny local server that
//! runs [`authenticate`] and drains a [`RequestBody`]. This covers what fixed vectors cannot:
//! signed aws-chunked bodies with a signed trailer (the SDK uses them over plain HTTP), odd keys
//! and query strings, presigned URLs as the SDK builds them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{BehaviorVersion, Credentials as SdkCredentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::util::sha256_hex;
use super::{AuthError, CredentialStore, Credentials, RequestBody, authenticate};

const AK: &str = "LAKEGATETESTKEY";
const SK: &str = "lakegate/test+secret/KEY";

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    payload: String,
    result: Result<(usize, String), String>,
    trailers: Vec<(String, String)>,
}

#[derive(Clone)]
struct Server {
    store: Arc<CredentialStore>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn handle(State(server): State<Server>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut seen = Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        payload: String::new(),
        result: Err(String::new()),
        trailers: Vec::new(),
    };
    let outcome = async {
        let auth = authenticate(&parts, None, &server.store, "us-east-1", SystemTime::now())?;
        seen.payload = format!("{:?}", auth.payload);
        let mut body = RequestBody::new(body, auth.payload, &parts.headers)?;
        let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
        let mut len = 0;
        while let Some(c) = body.chunk().await? {
            len += c.len();
            hasher.update(&c);
        }
        seen.trailers = body
            .trailers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        Ok::<_, AuthError>((len, hex::encode(hasher.finish())))
    }
    .await;
    let response = match &outcome {
        Ok(_) => (
            http::StatusCode::OK,
            [("etag", "\"d41d8cd98f00b204e9800998ecf8427e\"")],
            Body::from("ok"),
        )
            .into_response(),
        // A minimal S3-style error document, enough for the SDK to report the failure.
        Err(e) => (
            e.status(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code>\
                 <Message>{e}</Message></Error>",
                e.code()
            ),
        )
            .into_response(),
    };
    seen.result = outcome.map_err(|e| e.code().to_string());
    if let Ok(mut s) = server.seen.lock() {
        s.push(seen);
    }
    response
}

async fn start() -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let server = Server {
        store: Arc::new(CredentialStore::new(Credentials {
            access_key: AK.into(),
            secret_key: SK.into(),
        })),
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let seen = server.seen.clone();
    let app = axum::Router::new().fallback(handle).with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, seen)
}

fn client(addr: SocketAddr, region: &str, secret: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(format!("http://{addr}"))
        .force_path_style(true)
        .credentials_provider(SdkCredentials::new(AK, secret, None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn last(seen: &Arc<Mutex<Vec<Seen>>>) -> Seen {
    seen.lock().unwrap().last().cloned().unwrap()
}

const ODD_KEY: &str = "dir/a b+c=d&e/é~!'()*$@,;:[]%41.txt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_round_trips() {
    let (addr, seen) = start().await;
    let s3 = client(addr, "us-east-1", SK);

    // 1. Streaming upload from a file: over plain HTTP the SDK signs every chunk and a CRC32
    //    trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let path = std::env::temp_dir().join(format!(
        "lakegate-auth-sdk-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, &data).unwrap();
    let put = s3
        .put_object()
        .bucket("bucket")
        .key(ODD_KEY)
        .body(ByteStream::from_path(&path).await.unwrap())
        .send()
        .await;
    let _ = std::fs::remove_file(&path);
    let s = last(&seen);
    assert!(put.is_ok(), "{put:?} {s:?}");
    assert_eq!(s.result, Ok((data.len(), sha256_hex(&data))), "{s:?}");
    assert_eq!(s.method, "PUT");
    assert!(s.uri.starts_with("/bucket/dir/a%20b"), "{s:?}");
    assert_eq!(s.payload, "StreamingSigned { trailer: true }");
    let crc =
        base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(&data).to_be_bytes());
    assert_eq!(
        s.trailers,
        vec![("x-amz-checksum-crc32".to_string(), crc)],
        "{s:?}"
    );

    // 2. In-memory upload (single signed payload hash); signed for another region, it is
    // refused with the region the server expects.
    s3.put_object()
        .bucket("bucket")
        .key(ODD_KEY)
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    let s = last(&seen);
    assert_eq!(s.result, Ok((5, sha256_hex(b"hello"))), "{s:?}");
    let s3_eu = client(addr, "eu-central-1", SK);
    let err = s3_eu
        .put_object()
        .bucket("bucket")
        .key(ODD_KEY)
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap_err();
    let s = last(&seen);
    assert_eq!(s.result, Err("WrongRegion".to_string()), "{err:?}");

    // 3. Query strings with characters that need encoding.
    let list = s3
        .get_object()
        .bucket("bucket")
        .key(ODD_KEY)
        .response_content_disposition("attachment; filename=\"a b+c.txt\"")
        .range("bytes=0-1")
        .send()
        .await;
    let s = last(&seen);
    assert!(list.is_ok(), "{list:?} {s:?}");
    assert!(s.result.is_ok(), "{s:?}");

    // 4. Wrong secret: refused as a signature mismatch.
    let bad = client(addr, "us-east-1", "not-the-secret");
    let err = bad
        .get_object()
        .bucket("bucket")
        .key("k")
        .send()
        .await
        .unwrap_err();
    let s = last(&seen);
    assert_eq!(s.result, Err("SignatureMismatch".to_string()), "{err:?}");

    // 5. Presigned GET and PUT, used by a plain HTTP client.
    let presign = PresigningConfig::expires_in(Duration::from_secs(600)).unwrap();
    let get = s3
        .get_object()
        .bucket("bucket")
        .key(ODD_KEY)
        .presigned(presign.clone())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let resp = http.get(get.uri()).send().await.unwrap();
    let s = last(&seen);
    assert_eq!(resp.status(), 200, "{s:?}");
    assert_eq!(s.payload, "Unsigned");

    let put = s3
        .put_object()
        .bucket("bucket")
        .key(ODD_KEY)
        .presigned(presign)
        .await
        .unwrap();
    let mut req = http.put(put.uri()).body("presigned body");
    for (k, v) in put.headers() {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    let s = last(&seen);
    assert_eq!(resp.status(), 200, "{s:?}");
    assert_eq!(s.result, Ok((14, sha256_hex(b"presigned body"))));

    // A presigned URL with a tampered key is refused.
    let tampered = get.uri().replacen("a%20b", "a%20c", 1);
    let resp = http.get(&tampered).send().await.unwrap();
    assert_eq!(resp.status(), 403);

    // 6. No credentials at all.
    let resp = http
        .get(format!("http://{addr}/bucket/k"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(last(&seen).result, Err("Anonymous".to_string()));
}
