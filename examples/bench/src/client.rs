//! The two S3 clients the benchmark can drive a server with:
//!
//! * `raw`: hyper 1 + a hand-written SigV4 signer (`sigv4.rs`). A 4 KiB
//!   request costs a few microseconds of client CPU; this is the default and
//!   what the published small-object latencies use.
//! * `sdk`: the official `aws-sdk-s3` (path-style, retries and stalled-stream
//!   protection off, checksums only when required). Realistic but heavier:
//!   its interceptor/orchestrator pipeline adds tens of microseconds per call.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::body::PatternBody;
use crate::sigv4::{self, Signer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientKind {
    Raw,
    Sdk,
}

impl ClientKind {
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Raw => "raw",
            ClientKind::Sdk => "sdk",
        }
    }
}

pub struct Creds {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

/// One page of a ListObjectsV2 listing.
pub struct ListPage {
    pub keys: usize,
    pub next_token: Option<String>,
}

/// One client for the whole run (built once, so the variants' size difference doesn't matter).
#[allow(clippy::large_enum_variant)]
pub enum Client {
    Raw(RawClient),
    Sdk(aws_sdk_s3::Client),
}

impl Client {
    pub fn new(kind: ClientKind, endpoint: &str, creds: &Creds) -> Result<Self> {
        Ok(match kind {
            ClientKind::Raw => Client::Raw(RawClient::new(endpoint, creds)?),
            ClientKind::Sdk => Client::Sdk(sdk_client(endpoint, creds)),
        })
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        match self {
            Client::Raw(c) => {
                let (status, body) = c
                    .send(Method::PUT, &format!("/{bucket}"), &[], None)
                    .await?
                    .collect_text()
                    .await?;
                if status.is_success() || body.contains("BucketAlreadyOwnedByYou") {
                    Ok(())
                } else {
                    bail!("CreateBucket {bucket}: HTTP {status}: {}", snippet(&body))
                }
            }
            Client::Sdk(c) => {
                if let Err(e) = c.create_bucket().bucket(bucket).send().await {
                    let already = e
                        .as_service_error()
                        .map(|s| s.is_bucket_already_owned_by_you())
                        .unwrap_or(false);
                    if !already {
                        // Some servers answer 409 with a different code; accept
                        // it if the bucket is there.
                        c.head_bucket().bucket(bucket).send().await.map_err(|he| {
                            anyhow!(
                                "CreateBucket {bucket}: {}; HeadBucket: {}",
                                aws_sdk_s3::error::DisplayErrorContext(&e),
                                aws_sdk_s3::error::DisplayErrorContext(&he)
                            )
                        })?;
                    }
                }
                Ok(())
            }
        }
    }

    /// PUT `body` at `bucket/key`. Small bodies (one chunk) are sent with a
    /// signed payload hash like an SDK would; larger ones are streamed with
    /// `UNSIGNED-PAYLOAD` (raw) or the SDK's streaming mode.
    pub async fn put(&self, bucket: &str, key: &str, body: PatternBody) -> Result<()> {
        match self {
            Client::Raw(c) => {
                let (status, text) = c
                    .send(Method::PUT, &format!("/{bucket}/{key}"), &[], Some(body))
                    .await?
                    .collect_text()
                    .await?;
                if !status.is_success() {
                    bail!("PutObject {key}: HTTP {status}: {}", snippet(&text));
                }
                Ok(())
            }
            Client::Sdk(c) => {
                let len = body.len();
                let stream = match body.as_single_chunk() {
                    Some(b) => aws_sdk_s3::primitives::ByteStream::from(b),
                    None => aws_sdk_s3::primitives::ByteStream::from_body_1_x(body),
                };
                c.put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_length(len as i64)
                    .body(stream)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "PutObject {key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                Ok(())
            }
        }
    }

    /// GET `bucket/key`, draining the body into a sink; returns its length.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<u64> {
        match self {
            Client::Raw(c) => {
                let resp = c
                    .send(Method::GET, &format!("/{bucket}/{key}"), &[], None)
                    .await?;
                if !resp.status.is_success() {
                    let (status, text) = resp.collect_text().await?;
                    bail!("GetObject {key}: HTTP {status}: {}", snippet(&text));
                }
                resp.drain().await
            }
            Client::Sdk(c) => {
                let out = c
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "GetObject {key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                let mut body = out.body;
                let mut n = 0u64;
                while let Some(chunk) = body.try_next().await.context("GetObject body")? {
                    n += chunk.len() as u64;
                }
                Ok(n)
            }
        }
    }

    pub async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        match self {
            Client::Raw(c) => {
                let (status, text) = c
                    .send(Method::DELETE, &format!("/{bucket}/{key}"), &[], None)
                    .await?
                    .collect_text()
                    .await?;
                if !status.is_success() {
                    bail!("DeleteObject {key}: HTTP {status}: {}", snippet(&text));
                }
                Ok(())
            }
            Client::Sdk(c) => {
                c.delete_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "DeleteObject {key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                Ok(())
            }
        }
    }

    /// One ListObjectsV2 page.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        max_keys: u32,
        token: Option<&str>,
    ) -> Result<ListPage> {
        match self {
            Client::Raw(c) => {
                let mk = max_keys.to_string();
                let mut q: Vec<(&str, &str)> =
                    vec![("list-type", "2"), ("prefix", prefix), ("max-keys", &mk)];
                if let Some(t) = token {
                    q.push(("continuation-token", t));
                }
                let (status, text) = c
                    .send(Method::GET, &format!("/{bucket}"), &q, None)
                    .await?
                    .collect_text()
                    .await?;
                if !status.is_success() {
                    bail!("ListObjectsV2: HTTP {status}: {}", snippet(&text));
                }
                Ok(parse_list(&text))
            }
            Client::Sdk(c) => {
                let out = c
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .max_keys(max_keys as i32)
                    .set_continuation_token(token.map(str::to_string))
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "ListObjectsV2: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                let truncated = out.is_truncated().unwrap_or(false);
                Ok(ListPage {
                    keys: out.contents().len(),
                    next_token: if truncated {
                        out.next_continuation_token().map(str::to_string)
                    } else {
                        None
                    },
                })
            }
        }
    }
}

fn snippet(s: &str) -> String {
    s.chars().take(300).collect()
}

/// Makes SSE-S3 `bucket`'s default encryption.
pub async fn enable_sse_s3(endpoint: &str, creds: &Creds, bucket: &str) -> Result<()> {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let c = sdk_client(endpoint, creds);
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()?,
                )
                .build(),
        )
        .build()?;
    c.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "PutBucketEncryption: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}

/// Turns on server access logging for `bucket`, into `<bucket>-logs` (created, with the bucket
/// policy that lets the log writer in).
pub async fn enable_access_log(endpoint: &str, creds: &Creds, bucket: &str) -> Result<()> {
    use aws_sdk_s3::types::{BucketLoggingStatus, LoggingEnabled};
    let c = sdk_client(endpoint, creds);
    let target = format!("{bucket}-logs");
    let _ = c.create_bucket().bucket(&target).send().await;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"logging.s3.amazonaws.com"}},"Action":"s3:PutObject","Resource":"arn:aws:s3:::{target}/*"}}]}}"#
    );
    c.put_bucket_policy()
        .bucket(&target)
        .policy(policy)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "PutBucketPolicy: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
    let enabled = LoggingEnabled::builder()
        .target_bucket(&target)
        .target_prefix(format!("{bucket}/"))
        .build()?;
    c.put_bucket_logging()
        .bucket(bucket)
        .bucket_logging_status(
            BucketLoggingStatus::builder()
                .logging_enabled(enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "PutBucketLogging: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}

fn sdk_client(endpoint: &str, creds: &Creds) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation, StalledStreamProtectionConfig, retry::RetryConfig,
    };
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(creds.region.clone()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            creds.access_key.clone(),
            creds.secret_key.clone(),
            None,
            None,
            "lakegate-bench",
        ))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .retry_config(RetryConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Extract key count and continuation token from a ListObjectsV2 response
/// without a full XML parse (the benchmark only needs these two things).
fn parse_list(xml: &str) -> ListPage {
    let keys = xml.matches("<Key>").count();
    let truncated = between(xml, "<IsTruncated>", "</IsTruncated>")
        .map(|v| v.trim() == "true")
        .unwrap_or(false);
    let next_token = if truncated {
        between(xml, "<NextContinuationToken>", "</NextContinuationToken>").map(xml_unescape)
    } else {
        None
    };
    ListPage { keys, next_token }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let end = s[start..].find(close)? + start;
    Some(&s[start..end])
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#xD;", "\r")
        .replace("&#xA;", "\n")
        .replace("&amp;", "&")
}

pub struct RawClient {
    http: HyperClient<HttpConnector, PatternBody>,
    /// `http://host:port`
    base: String,
    host: String,
    signer: Signer,
}

pub struct RawResponse {
    status: StatusCode,
    body: hyper::body::Incoming,
}

impl RawResponse {
    async fn collect_text(self) -> Result<(StatusCode, String)> {
        let b = self.body.collect().await.context("reading response")?;
        Ok((
            self.status,
            String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        ))
    }

    async fn drain(mut self) -> Result<u64> {
        let mut n = 0u64;
        while let Some(frame) = self.body.frame().await {
            if let Ok(data) = frame.context("reading response body")?.into_data() {
                n += data.len() as u64;
            }
        }
        Ok(n)
    }
}

impl RawClient {
    pub fn new(endpoint: &str, creds: &Creds) -> Result<Self> {
        let uri: http::Uri = endpoint.parse().context("parsing endpoint")?;
        if uri.scheme_str() != Some("http") {
            bail!("the raw client only speaks plain http (got {endpoint}); use --client sdk");
        }
        let host = uri
            .authority()
            .context("endpoint has no host")?
            .as_str()
            .to_string();
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        conn.set_keepalive(Some(Duration::from_secs(60)));
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(conn);
        Ok(Self {
            http,
            base: format!("http://{host}"),
            host,
            signer: Signer::new(&creds.access_key, &creds.secret_key, &creds.region),
        })
    }

    /// A signed request without a body; returns the status and the answer as text.
    pub async fn send_text(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<(StatusCode, String)> {
        self.send(method, path, query, None)
            .await?
            .collect_text()
            .await
    }

    /// GET `bytes=first-last` of `bucket/key`, drained; returns the body's length.
    pub async fn get_range(&self, bucket: &str, key: &str, first: u64, last: u64) -> Result<u64> {
        let range = format!("bytes={first}-{last}");
        let resp = self
            .send_with(
                Method::GET,
                &format!("/{bucket}/{key}"),
                &[],
                None,
                &[("range", &range)],
            )
            .await?;
        if resp.status != StatusCode::PARTIAL_CONTENT {
            let (status, text) = resp.collect_text().await?;
            bail!("GetObject {key} {range}: HTTP {status}: {}", snippet(&text));
        }
        resp.drain().await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<PatternBody>,
    ) -> Result<RawResponse> {
        self.send_with(method, path, query, body, &[]).await
    }

    /// [`Self::send`] with unsigned extra headers (e.g. `range`).
    async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<PatternBody>,
        extra_headers: &[(&str, &str)],
    ) -> Result<RawResponse> {
        let body = body.unwrap_or_else(|| PatternBody::new(0, 0));
        let len = body.len();
        let payload_hash = if len == 0 {
            sigv4::EMPTY_SHA256.to_string()
        } else if let Some(b) = body.as_single_chunk() {
            sigv4::sha256_hex(&b)
        } else {
            sigv4::UNSIGNED_PAYLOAD.to_string()
        };
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let uri_path = sigv4::encode_path(path);
        let query = sigv4::canonical_query(query);
        let auth = self.signer.authorization(
            method.as_str(),
            &uri_path,
            &query,
            &[
                ("host", &self.host),
                ("x-amz-content-sha256", &payload_hash),
                ("x-amz-date", &amz_date),
            ],
            &payload_hash,
            &amz_date,
        );
        let uri = if query.is_empty() {
            format!("{}{uri_path}", self.base)
        } else {
            format!("{}{uri_path}?{query}", self.base)
        };
        let mut req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("host", &self.host)
            .header("x-amz-content-sha256", &payload_hash)
            .header("x-amz-date", &amz_date)
            .header("authorization", auth);
        if method == Method::PUT || method == Method::POST {
            req = req.header("content-length", len);
        }
        for (name, value) in extra_headers {
            req = req.header(*name, *value);
        }
        let req = req.body(body)?;
        let resp = self
            .http
            .request(req)
            .await
            .with_context(|| format!("{method} {path}"))?;
        let (parts, body) = resp.into_parts();
        Ok(RawResponse {
            status: parts.status,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parsing() {
        let xml = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key></Contents>\
                   <Contents><Key>b</Key></Contents><NextContinuationToken>x&amp;y</NextContinuationToken></ListBucketResult>";
        let p = parse_list(xml);
        assert_eq!(p.keys, 2);
        assert_eq!(p.next_token.as_deref(), Some("x&y"));
        let p = parse_list("<IsTruncated>false</IsTruncated><Key>a</Key>");
        assert_eq!(p.keys, 1);
        assert!(p.next_token.is_none());
    }
}
