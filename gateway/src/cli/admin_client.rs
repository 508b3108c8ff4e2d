//! A client for the gateway's admin API (`/lakegate/admin/v1/`), used by the CLI commands that
//! act on a running gateway (`lakegate policy dry-run`, `lakegate backup ...`). Requests are
//! SigV4-signed with the root credentials, exactly as the server verifies them.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4::SigningParams;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Errors talking to the admin API.
#[derive(Debug, thiserror::Error)]
pub enum AdminClientError {
    #[error("invalid endpoint {0:?} (expected http://host:port or https://host:port)")]
    Endpoint(String),
    #[error("cannot use the CA certificates in {path}: {message}")]
    CaCert { path: String, message: String },
    #[error("cannot sign the request: {0}")]
    Sign(String),
    #[error("cannot reach the gateway at {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
    #[error("the gateway answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the gateway answered something that is not JSON: {0}")]
    Json(String),
}

/// Where the gateway is and who we are.
#[derive(Debug, Clone)]
pub struct AdminClient {
    endpoint: String,
    access_key: String,
    secret_key: String,
    region: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl AdminClient {
    /// `endpoint` like `http://127.0.0.1:9000` or `https://gateway:9000`. An https endpoint's
    /// certificate is checked against the system's CAs and, if given, the PEM certificates in
    /// `ca_cert` (e.g. a self-signed gateway's `public.crt`).
    pub fn new(
        endpoint: &str,
        access_key: &str,
        secret_key: &str,
        region: &str,
        ca_cert: Option<&std::path::Path>,
    ) -> Result<Self, AdminClientError> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let ok = host_of(&endpoint).is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
        if !ok {
            return Err(AdminClientError::Endpoint(endpoint));
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(ca_cert)?)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(AdminClient {
            endpoint,
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            region: region.to_string(),
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
        })
    }

    /// Sends `method path_and_query` (relative to `/lakegate/admin/v1/`) with `body`, and
    /// returns the JSON answer; a non-2xx answer is an error carrying the server's message.
    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<serde_json::Value, AdminClientError> {
        let (status, bytes) = self.send(method, path_and_query, body).await?;
        let json: Result<serde_json::Value, _> = serde_json::from_slice(&bytes);
        if !status.is_success() {
            return Err(status_error(status, json.ok().as_ref(), &bytes));
        }
        json.map_err(|e| AdminClientError::Json(e.to_string()))
    }

    /// Like [`Self::call`], but an answer of any status whose body is JSON is returned with its
    /// status (`PUT bindings/…` answers 422 with the binding's status when it does not load).
    /// A non-2xx answer that is not JSON is still an [`AdminClientError::Status`].
    pub async fn call_with_status(
        &self,
        method: &str,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<(u16, serde_json::Value), AdminClientError> {
        let (status, bytes) = self.send(method, path_and_query, body).await?;
        match serde_json::from_slice(&bytes) {
            Ok(json) => Ok((status.as_u16(), json)),
            Err(e) if status.is_success() => Err(AdminClientError::Json(e.to_string())),
            Err(_) => Err(status_error(status, None, &bytes)),
        }
    }

    /// Signs and sends one request; returns the answer's status and body.
    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<(http::StatusCode, Bytes), AdminClientError> {
        let url = format!("{}/lakegate/admin/v1/{path_and_query}", self.endpoint);
        let host = host_of(&self.endpoint).unwrap_or_default().to_string();
        let identity =
            Credentials::new(&self.access_key, &self.secret_key, None, None, "lakegate").into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| AdminClientError::Sign(e.to_string()))?
            .into();
        let headers = [("host", host.as_str())];
        let signable = SignableRequest::new(
            method,
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| AdminClientError::Sign(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| AdminClientError::Sign(e.to_string()))?
            .into_parts();
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("host", &host)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| AdminClientError::Sign(e.to_string()))?;
        instructions.apply_to_request_http1x(&mut req);
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| AdminClientError::Connect {
                endpoint: self.endpoint.clone(),
                message: error_chain(&e),
            })?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| AdminClientError::Connect {
                endpoint: self.endpoint.clone(),
                message: e.to_string(),
            })?
            .to_bytes();
        Ok((status, bytes))
    }
}

/// The error for a non-2xx answer: the JSON body's `error` field, else the body itself.
fn status_error(
    status: http::StatusCode,
    json: Option<&serde_json::Value>,
    bytes: &[u8],
) -> AdminClientError {
    let message = match json {
        Some(v) => v
            .get("error")
            .and_then(|e| e.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        None => String::from_utf8_lossy(bytes).chars().take(500).collect(),
    };
    AdminClientError::Status {
        status: status.as_u16(),
        message,
    }
}

/// The `host:port` of an `http://` or `https://` endpoint.
fn host_of(endpoint: &str) -> Option<&str> {
    endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
}

/// TLS for https endpoints: the system's CAs plus those in `ca_cert`.
fn tls_config(ca_cert: Option<&std::path::Path>) -> Result<rustls::ClientConfig, AdminClientError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped: a CA file may still do.
    let _ = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_cert {
        let err = |message: String| AdminClientError::CaCert {
            path: path.display().to_string(),
            message,
        };
        let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| err(e.to_string()))?;
        if certs.is_empty() {
            return Err(err("no PEM certificate in it".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| err(e.to_string()))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AdminClientError::Sign(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `e` and its sources, `: `-separated (hyper's errors say little on their own).
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
