//! Shared harness: a real `lakegate` process per test, an SDK client, a raw signed HTTP client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;

pub const ROOT_USER: &str = "admin";
pub const ROOT_PASSWORD: &str = "admin123";
pub const REGION: &str = "us-east-1";
pub const MIB: usize = 1024 * 1024;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}-{n}-{nanos:x}", std::process::id())
}

/// A valid, unique bucket name (lower case, digits, hyphens; 3..=63 chars).
pub fn unique_bucket(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut name = format!("{prefix}-{n}-{nanos:x}").to_ascii_lowercase();
    name.truncate(63);
    while name.ends_with('-') {
        name.pop();
    }
    name
}

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub struct TestServer {
    child: Option<Child>,
    /// Per-test root directory: holds `data/` and `server.log`.
    pub root: PathBuf,
    /// The data directory given to `lakegate server`.
    pub data_dir: PathBuf,
    pub s3_url: String,
    pub console_url: String,
    pub port: u16,
    client: Client,
    http: reqwest::Client,
    extra_env: Vec<(String, String)>,
}

impl TestServer {
    /// Starts a fresh server on a new, empty data directory.
    pub async fn start() -> TestServer {
        Self::start_with_env(&[]).await
    }

    /// Starts a fresh server with extra environment variables.
    pub async fn start_with_env(env: &[(&str, &str)]) -> TestServer {
        let root = std::env::temp_dir().join(format!("lakegate-test-{}", unique_suffix()));
        let data_dir = root.join("data");
        std::fs::create_dir_all(&data_dir).expect("create data dir");
        let extra_env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, s3_url, console_url) = spawn_server(&root, &data_dir, &extra_env).await;
        let port = port_of(&s3_url);
        let client = make_client(&s3_url, ROOT_USER, ROOT_PASSWORD);
        TestServer {
            child: Some(child),
            root,
            data_dir,
            s3_url,
            console_url,
            port,
            client,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            extra_env,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// An SDK client with other credentials.
    pub fn client_with(&self, access_key: &str, secret_key: &str) -> Client {
        make_client(&self.s3_url, access_key, secret_key)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Is the child process still running?
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGTERM, then waits (up to 15 s) for the process to exit; returns its exit status.
    pub async fn stop_graceful(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server not running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = child.try_wait().expect("try_wait") {
                return st;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "lakegate did not exit within 15 s of SIGTERM (log: {})",
                    self.log_path().display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (no chance to flush anything).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same data directory (new ports).
    pub async fn restart(&mut self) {
        if self.child.is_some() {
            self.stop_graceful().await;
        }
        let (child, s3_url, console_url) =
            spawn_server(&self.root, &self.data_dir, &self.extra_env).await;
        self.port = port_of(&s3_url);
        self.client = make_client(&s3_url, ROOT_USER, ROOT_PASSWORD);
        self.s3_url = s3_url;
        self.console_url = console_url;
        self.child = Some(child);
    }

    /// Creates a bucket with a unique name and returns the name.
    pub async fn bucket(&self) -> String {
        let name = unique_bucket("t");
        self.client
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {name}: {}", fmt_err(&e)));
        name
    }

    /// Creates a bucket with versioning enabled.
    pub async fn versioned_bucket(&self) -> String {
        let b = self.bucket().await;
        self.client
            .put_bucket_versioning()
            .bucket(&b)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("enable versioning: {}", fmt_err(&e)));
        b
    }

    /// Creates a bucket with object lock enabled.
    pub async fn lock_bucket(&self) -> String {
        let name = unique_bucket("lock");
        self.client
            .create_bucket()
            .bucket(&name)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create lock bucket {name}: {}", fmt_err(&e)));
        name
    }

    pub async fn put(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> String {
        let out = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body.into()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {bucket}/{key}: {}", fmt_err(&e)));
        out.e_tag().expect("PutObject returns an ETag").to_string()
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {bucket}/{key}: {}", fmt_err(&e)));
        out.body.collect().await.unwrap().into_bytes().to_vec()
    }

    /// A raw request builder against the S3 port (path-style unless `host` is set).
    pub fn raw(&self, method: &str, path: &str) -> RawRequest {
        RawRequest {
            base: self.s3_url.clone(),
            method: method.to_string(),
            path: path.to_string(),
            query: Vec::new(),
            headers: Vec::new(),
            unsigned_headers: Vec::new(),
            body: Vec::new(),
            sign: Some((ROOT_USER.to_string(), ROOT_PASSWORD.to_string())),
            time: None,
            payload_hash: None,
            host: None,
            http: self.http.clone(),
        }
    }

    /// A raw GET of `/bucket/key` where `key` is URI-encoded for you.
    pub fn raw_object(&self, method: &str, bucket: &str, key: &str) -> RawRequest {
        self.raw(method, &format!("/{bucket}/{}", uri_encode(key, false)))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::env::var_os("LAKEGATE_TEST_KEEP").is_none() && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        } else if std::thread::panicking() {
            eprintln!("lakegate test dir kept: {}", self.root.display());
        }
    }
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

async fn spawn_server(
    root: &Path,
    data_dir: &Path,
    env: &[(String, String)],
) -> (Child, String, String) {
    let log_path = root.join("server.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .expect("open server log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lakegate"));
    cmd.arg("server")
        .arg(data_dir)
        .arg("--address")
        .arg("127.0.0.1:0")
        .arg("--console-address")
        .arg("127.0.0.1:0")
        .env("LAKEGATE_ROOT_USER", ROOT_USER)
        .env("LAKEGATE_ROOT_PASSWORD", ROOT_PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log.try_clone().unwrap()));
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "info");
    }
    // Each test sees only the bindings it writes; the default bindings built into the binary
    // have tests of their own (`bindings::defaults`), which turn them back on.
    cmd.env("LAKEGATE_NO_DEFAULT_BINDINGS", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn lakegate");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut log = log;
        let mut sent = false;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if !sent && line.starts_with("lakegate ready") {
                        let _ = tx.send(Some(line.trim().to_string()));
                        sent = true;
                    } else {
                        let _ = log.write_all(line.as_bytes());
                    }
                }
            }
        }
        if !sent {
            let _ = tx.send(None);
        }
        // Keep draining (the reader loop above already ran to EOF).
        let _ = reader.read_to_end(&mut Vec::new());
    });
    let line = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    let line = match line {
        Ok(Some(l)) => l,
        other => {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("lakegate did not print its ready line ({other:?}); log:\n{log}");
        }
    };
    let mut s3 = None;
    let mut console = None;
    for part in line.split_whitespace() {
        if let Some(v) = part.strip_prefix("s3=") {
            s3 = Some(v.trim_end_matches('/').to_string());
        } else if let Some(v) = part.strip_prefix("console=") {
            console = Some(v.trim_end_matches('/').to_string());
        }
    }
    let s3 = s3.unwrap_or_else(|| panic!("no s3= in ready line {line:?}"));
    let console = console.unwrap_or_else(|| panic!("no console= in ready line {line:?}"));
    (child, s3, console)
}

pub fn make_client(endpoint: &str, access_key: &str, secret_key: &str) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "test"))
        .force_path_style(true)
        .behavior_version(BehaviorVersion::latest())
        .build();
    Client::from_conf(conf)
}

// ---------------------------------------------------------------------------------------------
// SDK error helpers

pub fn fmt_err<E: ProvideErrorMetadata + std::fmt::Debug>(e: &SdkError<E, HttpResponse>) -> String {
    let status = e.raw_response().map(|r| r.status().as_u16());
    format!(
        "status={status:?} code={:?} message={:?} ({e:?})",
        e.code(),
        e.message()
    )
}

/// Unwraps an SDK result that must have failed; returns (HTTP status, error code).
#[track_caller]
pub fn expect_err<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, SdkError<E, HttpResponse>>,
) -> (u16, String) {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
            if status == 0 {
                panic!("expected a service error, got {e:?}");
            }
            (status, e.code().unwrap_or("").to_string())
        }
    }
}

/// Asserts an SDK call failed with this status and code.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, SdkError<E, HttpResponse>>,
    status: u16,
    code: &str,
) {
    let (s, c) = expect_err(r);
    assert_eq!(
        (s, c.as_str()),
        (status, code),
        "expected {status} {code}, got {s} {c}"
    );
}

/// Asserts an SDK call failed with this HTTP status (any code; HEAD errors have none).
#[track_caller]
pub fn assert_status<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, SdkError<E, HttpResponse>>,
    status: u16,
) {
    let (s, c) = expect_err(r);
    assert_eq!(s, status, "expected status {status}, got {s} {c}");
}

/// Header of the raw HTTP response of an SDK error.
pub fn err_header<E>(e: &SdkError<E, HttpResponse>, name: &str) -> Option<String> {
    e.raw_response()
        .and_then(|r| r.headers().get(name))
        .map(|v| v.to_string())
}

// ---------------------------------------------------------------------------------------------
// Hashes

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(data))
}

pub fn md5_b64(data: &[u8]) -> String {
    use md5::Digest;
    b64(&md5::Md5::digest(data))
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub fn b64_decode(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("bad base64 {s:?}: {e}"))
}

pub fn quoted_md5(data: &[u8]) -> String {
    format!("\"{}\"", md5_hex(data))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

pub fn sha256_raw(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

pub fn sha1_raw(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

pub fn crc32_raw(data: &[u8]) -> Vec<u8> {
    crc32fast::hash(data).to_be_bytes().to_vec()
}

pub fn crc32c_raw(data: &[u8]) -> Vec<u8> {
    crc32c::crc32c(data).to_be_bytes().to_vec()
}

pub fn crc64nvme_raw(data: &[u8]) -> Vec<u8> {
    let mut d = crc64fast_nvme::Digest::new();
    d.write(data);
    d.sum64().to_be_bytes().to_vec()
}

/// ETag of a multipart object: md5 of the concatenated binary part md5s, `-N`.
pub fn multipart_etag(parts: &[&[u8]]) -> String {
    use md5::Digest;
    let mut all = Vec::new();
    for p in parts {
        all.extend_from_slice(&md5::Md5::digest(p));
    }
    format!(
        "\"{}-{}\"",
        hex::encode(md5::Md5::digest(&all)),
        parts.len()
    )
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP with a small SigV4 signer

const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const UNRESERVED_SLASH: &percent_encoding::AsciiSet = &UNRESERVED.remove(b'/');

/// S3 URI encoding: everything but `A-Za-z0-9-._~` (and `/` unless `encode_slash`).
pub fn uri_encode(s: &str, encode_slash: bool) -> String {
    let set = if encode_slash {
        UNRESERVED
    } else {
        UNRESERVED_SLASH
    };
    percent_encoding::utf8_percent_encode(s, set).to_string()
}

pub fn uri_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&k, data).as_ref().to_vec()
}

pub fn amz_date(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The SigV4 signing key for a date (`YYYYMMDD`).
pub fn signing_key(secret: &str, date: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, REGION.as_bytes());
    let k = hmac(&k, b"s3");
    hmac(&k, b"aws4_request")
}

/// Canonical URI of a path as sent: each segment decoded, then S3-URI-encoded (so `+` signs
/// as `%2B`, `%20` stays `%20`). Equal to the path itself for already-canonical paths.
pub fn canonical_path(path: &str) -> String {
    path.split('/')
        .map(|seg| uri_encode(&uri_decode(seg), true))
        .collect::<Vec<_>>()
        .join("/")
}

/// Canonical query string: pairs sorted, keys and values URI-encoded.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, true), uri_encode(v, true)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs a request with SigV4 (header auth). `path` must already be URI-encoded, `headers`
/// must include `host`. Returns the headers to add (`x-amz-date`, `x-amz-content-sha256`,
/// `authorization`).
pub fn sign_v4(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    payload_hash: &str,
    (access_key, secret_key): (&str, &str),
    time: SystemTime,
) -> Vec<(String, String)> {
    let date_time = amz_date(time);
    let date = &date_time[..8];
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    all.push(("x-amz-date".into(), date_time.clone()));
    all.push(("x-amz-content-sha256".into(), payload_hash.to_string()));
    all.sort();
    // Merge duplicate header names.
    let mut merged: Vec<(String, String)> = Vec::new();
    for (k, v) in all {
        match merged.last_mut() {
            Some((lk, lv)) if *lk == k => {
                lv.push(',');
                lv.push_str(&v);
            }
            _ => merged.push((k, v)),
        }
    }
    let canonical_headers: String = merged.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = merged
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        canonical_query(query)
    );
    let scope = format!("{date}/{REGION}/s3/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let sig = hex::encode(hmac(
        &signing_key(secret_key, date),
        string_to_sign.as_bytes(),
    ));
    vec![
        ("x-amz-date".into(), date_time),
        ("x-amz-content-sha256".into(), payload_hash.to_string()),
        (
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={sig}"
            ),
        ),
    ]
}

/// A SigV4 query-presigned URL (`X-Amz-*` parameters, `UNSIGNED-PAYLOAD`, only `host` signed).
/// `path` must be URI-encoded; `expires` goes into `X-Amz-Expires` verbatim.
pub fn presign_url(
    base: &str,
    method: &str,
    path: &str,
    expires: u64,
    access_key: &str,
    secret_key: &str,
    time: SystemTime,
) -> String {
    let date_time = amz_date(time);
    let date = &date_time[..8];
    let scope = format!("{date}/{REGION}/s3/aws4_request");
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut query = vec![
        (
            "X-Amz-Algorithm".to_string(),
            "AWS4-HMAC-SHA256".to_string(),
        ),
        (
            "X-Amz-Credential".to_string(),
            format!("{access_key}/{scope}"),
        ),
        ("X-Amz-Date".to_string(), date_time.clone()),
        ("X-Amz-Expires".to_string(), expires.to_string()),
        ("X-Amz-SignedHeaders".to_string(), "host".to_string()),
    ];
    let canonical_request = format!(
        "{method}\n{}\n{}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD",
        canonical_path(path),
        canonical_query(&query)
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let sig = hex::encode(hmac(
        &signing_key(secret_key, date),
        string_to_sign.as_bytes(),
    ));
    query.push(("X-Amz-Signature".to_string(), sig));
    format!("{base}{path}?{}", canonical_query(&query))
}

/// A raw HTTP request, SigV4-signed by default.
pub struct RawRequest {
    base: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    /// Headers added after signing (not in SignedHeaders).
    unsigned_headers: Vec<(String, String)>,
    body: Vec<u8>,
    sign: Option<(String, String)>,
    time: Option<SystemTime>,
    payload_hash: Option<String>,
    host: Option<String>,
    http: reqwest::Client,
}

impl RawRequest {
    /// Adds a query parameter (unencoded; `v` may be empty for `?uploads`-style flags).
    pub fn query(mut self, k: &str, v: &str) -> Self {
        self.query.push((k.to_string(), v.to_string()));
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
    /// Adds a header after signing: sent, but not covered by the signature.
    pub fn unsigned_header(mut self, k: &str, v: &str) -> Self {
        self.unsigned_headers.push((k.to_string(), v.to_string()));
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
    /// Sends the request without any signature.
    pub fn anonymous(mut self) -> Self {
        self.sign = None;
        self
    }
    pub fn credentials(mut self, access: &str, secret: &str) -> Self {
        self.sign = Some((access.to_string(), secret.to_string()));
        self
    }
    /// Signs as if sent at this time.
    pub fn at(mut self, t: SystemTime) -> Self {
        self.time = Some(t);
        self
    }
    /// Uses `UNSIGNED-PAYLOAD` (or any literal value) as `x-amz-content-sha256`.
    pub fn payload_hash(mut self, h: &str) -> Self {
        self.payload_hash = Some(h.to_string());
        self
    }
    /// Overrides the `Host` header (virtual-host style).
    pub fn host(mut self, h: &str) -> Self {
        self.host = Some(h.to_string());
        self
    }

    /// Computes the URL and the final header list (signature included).
    fn prepare(&self) -> (String, String, Vec<(String, String)>) {
        let authority = self
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let host = self.host.clone().unwrap_or(authority);
        let qs = canonical_query(&self.query);
        let target = if qs.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, qs)
        };
        let mut headers = self.headers.clone();
        if let Some((ak, sk)) = &self.sign {
            let mut to_sign = headers.clone();
            to_sign.push(("host".into(), host.clone()));
            let ph = self
                .payload_hash
                .clone()
                .unwrap_or_else(|| sha256_hex(&self.body));
            headers.extend(sign_v4(
                &self.method,
                &canonical_path(&self.path),
                &self.query,
                &to_sign,
                &ph,
                (ak, sk),
                self.time.unwrap_or_else(SystemTime::now),
            ));
        } else if let Some(ph) = &self.payload_hash {
            headers.push(("x-amz-content-sha256".into(), ph.clone()));
        }
        headers.extend(self.unsigned_headers.iter().cloned());
        (host, target, headers)
    }

    /// The request as HTTP/1.1 bytes (`Connection: close`), with `Content-Length` set to
    /// `content_length` (or the body's length) and only the first `send_body` bytes of the body.
    pub fn to_http1(&self, content_length: Option<usize>, send_body: Option<usize>) -> Vec<u8> {
        let (host, target, headers) = self.prepare();
        let mut out = format!("{} {target} HTTP/1.1\r\nhost: {host}\r\n", self.method);
        for (k, v) in &headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            content_length.unwrap_or(self.body.len())
        ));
        let mut bytes = out.into_bytes();
        let n = send_body.unwrap_or(self.body.len()).min(self.body.len());
        bytes.extend_from_slice(&self.body[..n]);
        bytes
    }

    /// Sends over a raw TCP connection (the path goes out verbatim, no URL normalization).
    pub async fn send_tcp(self) -> RawResponse {
        let addr = self
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let bytes = self.to_http1(None, None);
        let resp = raw_tcp(&addr, &bytes, false, Duration::from_secs(30)).await;
        parse_http1_response(&resp)
    }

    pub async fn send(self) -> RawResponse {
        let (host, target, headers) = self.prepare();
        let url = format!("{}{}", self.base, target);
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut req = self.http.request(method, &url);
        if self.host.is_some() {
            req = req.header("host", host);
        }
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req
            .body(self.body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("raw {} {url}: {e}", self.method));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("read body").to_vec();
        RawResponse {
            status,
            headers,
            body,
        }
    }
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_string())
    }
    /// `<Code>` of an S3 error body.
    pub fn code(&self) -> Option<String> {
        xml_value(&self.text(), "Code")
    }
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code().as_deref()),
            (status, Some(code)),
            "expected {status} {code}; body: {}",
            self.text()
        );
    }
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(
            (200..300).contains(&self.status),
            "expected 2xx, got {}: {}",
            self.status,
            self.text()
        );
    }
}

/// Text of the first `<tag>...</tag>` in an XML document (no entity decoding beyond basics).
pub fn xml_value(xml: &str, tag: &str) -> Option<String> {
    xml_values(xml, tag).into_iter().next()
}

/// Texts of all `<tag>...</tag>` elements.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(xml_unescape(&after[..j]));
        rest = &after[j + close.len()..];
    }
    out
}

pub fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&#xD;", "\r")
        .replace("&#xA;", "\n")
        .replace("&amp;", "&")
}

/// Parses an HTTP/1.1 response (Content-Length or read-to-close bodies; not chunked).
pub fn parse_http1_response(resp: &[u8]) -> RawResponse {
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {:?}", String::from_utf8_lossy(resp)));
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.append(
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                reqwest::header::HeaderValue::from_str(v.trim()).unwrap(),
            );
        }
    }
    let mut body = resp[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.to_str().unwrap_or("").contains("chunked"))
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
            let size_str = String::from_utf8_lossy(&rest[..i]).into_owned();
            let size =
                usize::from_str_radix(size_str.split(';').next().unwrap().trim(), 16).unwrap_or(0);
            if size == 0 || rest.len() < i + 2 + size {
                break;
            }
            out.extend_from_slice(&rest[i + 2..i + 2 + size]);
            rest = &rest[i + 2 + size + 2..];
        }
        body = out;
    }
    RawResponse {
        status,
        headers,
        body,
    }
}

/// Sends raw bytes over a fresh TCP connection and returns whatever the server answers
/// (until it closes or `timeout` passes).
pub async fn raw_tcp(addr: &str, bytes: &[u8], half_close: bool, timeout: Duration) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // A server may answer and close before reading everything (e.g. a refused upload): the
    // write then fails with EPIPE/ECONNRESET, and the answer is still there to read.
    let _ = s.write_all(bytes).await;
    if half_close {
        s.shutdown().await.ok();
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(timeout, s.read_to_end(&mut out)).await;
    out
}

// ---------------------------------------------------------------------------------------------
// Self-test of the signer against aws-sigv4, so raw-request failures are the server's.

#[test]
fn signer_matches_aws_sigv4() {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4::SigningParams;
    let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let body = b"hello world";
    let ph = sha256_hex(body);
    let path = format!("/bucket/{}", uri_encode("a key+with/ümlaut", false));
    let query = vec![
        ("uploadId".to_string(), "a b/c".to_string()),
        ("partNumber".to_string(), "2".to_string()),
    ];
    let headers = vec![
        ("host".to_string(), "127.0.0.1:9000".to_string()),
        ("content-type".to_string(), "text/plain".to_string()),
    ];
    let ours = sign_v4(
        "PUT",
        &path,
        &query,
        &headers,
        &ph,
        ("AKID", "SECRET"),
        time,
    );
    let ours_auth = ours
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1
        .clone();

    let identity = Credentials::new("AKID", "SECRET", None, None, "t").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
    settings.uri_path_normalization_mode =
        aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
    let params = SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("http://127.0.0.1:9000{path}?{}", canonical_query(&query));
    let signable = SignableRequest::new(
        "PUT",
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _sig) = sign(signable, &params).unwrap().into_parts();
    let theirs = instructions
        .headers()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.to_string())
        .unwrap();
    assert_eq!(ours_auth, theirs);
}

#[test]
fn presigner_matches_aws_sigv4() {
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    use aws_sigv4::sign::v4::SigningParams;
    let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let path = format!("/bucket/{}", uri_encode("dir/a b+c", false));
    let ours = presign_url(
        "http://127.0.0.1:9000",
        "GET",
        &path,
        600,
        "AKID",
        "SECRET",
        time,
    );
    let ours_sig = ours
        .split("X-Amz-Signature=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();

    let identity = Credentials::new("AKID", "SECRET", None, None, "t").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(600));
    settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
    settings.uri_path_normalization_mode =
        aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
    let params = SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("http://127.0.0.1:9000{path}");
    let headers = [("host", "127.0.0.1:9000")];
    let signable = SignableRequest::new(
        "GET",
        &url,
        headers.iter().copied(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (instructions, _sig) = sign(signable, &params).unwrap().into_parts();
    let (_, qp) = instructions.into_parts();
    let theirs = qp
        .iter()
        .find(|(k, _)| *k == "X-Amz-Signature")
        .map(|(_, v)| v.to_string())
        .unwrap();
    assert_eq!(ours_sig, theirs);
}

/// Bytes helper for SDK bodies.
pub fn body(b: impl Into<Vec<u8>>) -> ByteStream {
    ByteStream::from(b.into())
}

/// Reads a whole GetObject body.
pub async fn read_body(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body.collect().await.unwrap().into_bytes().to_vec()
}
