//! The audit webhook: JSON lines POSTed in batches as `application/x-ndjson`.
//!
//! The task gathers up to [`MAX_BATCH`] lines, or what arrived within [`BATCH_WAIT`] of the
//! first, and posts them in one request (with `Authorization: Bearer <token>` when a token is
//! configured; the token is never logged). Any 2xx answer accepts the batch; anything else (an
//! error status, a refused connection, no answer within [`POST_TIMEOUT`]) is retried
//! [`RETRIES`] times with a doubling backoff, and then the batch is dropped and its lines counted
//! in `webhook_failed`. Batches go one at a time, so while the webhook is down, lines pile up in
//! the task's bounded queue, and past its capacity the writer drops them for the webhook (the
//! file sink does not wait).
//!
//! At shutdown the task posts what is queued without retries, for at most [`SHUTDOWN_GRACE`];
//! batches left after that are counted as failed.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{AuditError, Counters};

/// Lines per request at most.
pub const MAX_BATCH: usize = 100;
/// How long a batch waits for more lines after its first.
pub const BATCH_WAIT: Duration = Duration::from_secs(1);
/// Retries of a failed post before its batch is dropped.
pub const RETRIES: u32 = 3;
/// The wait before the first retry (doubled for each next one).
pub const RETRY_BACKOFF: Duration = Duration::from_millis(500);
/// One post, from connecting to the end of the answer.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// After shutdown, how long queued batches are still posted.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// An answer's body is read up to this size (so the connection can be reused), then ignored.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The timings the tests shorten.
#[derive(Debug, Clone, Copy)]
pub(super) struct WebhookTuning {
    pub(super) batch_wait: Duration,
    pub(super) retry_backoff: Duration,
}

impl Default for WebhookTuning {
    fn default() -> Self {
        WebhookTuning {
            batch_wait: BATCH_WAIT,
            retry_backoff: RETRY_BACKOFF,
        }
    }
}

/// The webhook sink.
pub(super) struct Webhook {
    uri: Uri,
    /// The URL as logged: without its query.
    shown: String,
    /// `Bearer <token>`, marked sensitive.
    authorization: Option<HeaderValue>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    counters: Arc<Counters>,
    tuning: WebhookTuning,
}

impl Webhook {
    /// Checks the URL and the token, and builds the client (TLS checked against the system's
    /// CAs for an `https` URL).
    pub(super) fn new(
        url: &str,
        token: Option<&str>,
        counters: Arc<Counters>,
        tuning: WebhookTuning,
    ) -> Result<Webhook, AuditError> {
        let (uri, shown) = parse_url(url)?;
        let authorization = match token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| AuditError::WebhookToken)?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(https)?)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Webhook {
            uri,
            shown,
            authorization,
            client,
            counters,
            tuning,
        })
    }

    /// Posts the lines from `queue` in batches until it closes (the writer has exited).
    pub(super) async fn run(
        self,
        mut queue: mpsc::Receiver<Bytes>,
        shutdown: watch::Receiver<bool>,
    ) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        // When shutdown was first seen: posting stops SHUTDOWN_GRACE later.
        let mut stopping_since: Option<Instant> = None;
        loop {
            if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
                break;
            }
            let deadline = Instant::now() + self.tuning.batch_wait;
            while batch.len() < MAX_BATCH {
                let more = MAX_BATCH - batch.len();
                match tokio::time::timeout_at(deadline, queue.recv_many(&mut batch, more)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            if *shutdown.borrow() && stopping_since.is_none() {
                stopping_since = Some(Instant::now());
            }
            match stopping_since {
                Some(since) if since.elapsed() >= SHUTDOWN_GRACE => {
                    Counters::add(&self.counters.webhook_failed, batch.len() as u64);
                }
                _ => self.deliver(&batch, &shutdown).await,
            }
            batch.clear();
        }
    }

    /// Posts one batch, retrying (unless shutting down); counts the outcome.
    async fn deliver(&self, lines: &[Bytes], shutdown: &watch::Receiver<bool>) {
        let count = lines.len() as u64;
        let mut body = BytesMut::with_capacity(lines.iter().map(Bytes::len).sum());
        for line in lines {
            body.extend_from_slice(line);
        }
        let body = body.freeze();
        let mut backoff = self.tuning.retry_backoff;
        let mut attempt = 0;
        let error = loop {
            match self.post(body.clone()).await {
                Ok(()) => {
                    Counters::add(&self.counters.webhook_sent, count);
                    return;
                }
                Err(e) if attempt >= RETRIES || *shutdown.borrow() => break e,
                Err(e) => {
                    tracing::debug!(url = %self.shown, error = %e, attempt, "audit webhook post failed, retrying");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        };
        Counters::add(&self.counters.webhook_failed, count);
        tracing::warn!(
            url = %self.shown,
            error = %error,
            entries = count,
            "the audit webhook did not take a batch: its entries are dropped"
        );
    }

    /// One POST: `Ok` on a 2xx answer.
    async fn post(&self, body: Bytes) -> Result<(), String> {
        let mut request = http::Request::post(self.uri.clone())
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        if let Some(authorization) = &self.authorization {
            request
                .headers_mut()
                .insert(AUTHORIZATION, authorization.clone());
        }
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| error_chain(&e))?;
            let status = response.status();
            // Read (a bounded part of) the answer so the connection can be reused.
            let _ = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("answered {status}"))
            }
        };
        tokio::time::timeout(POST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", POST_TIMEOUT.as_secs())))
    }
}

/// The URL, checked: `http` or `https`, a host, no credentials in it (the token is for that);
/// and how it is shown in logs and errors (without its query).
fn parse_url(url: &str) -> Result<(Uri, String), AuditError> {
    let shown_of = |url: &str| {
        let url = url.split(['?', '#']).next().unwrap_or_default();
        match url.split_once("://") {
            // Whatever precedes an `@` in the authority is not shown.
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority.rsplit('@').next().unwrap_or_default();
                format!("{scheme}://{host}{path}")
            }
            None => url.to_string(),
        }
    };
    let err = |reason| AuditError::WebhookUrl {
        url: shown_of(url),
        reason,
    };
    let uri: Uri = url.parse().map_err(|_| err("not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(err("the scheme must be http or https")),
    }
    let Some(authority) = uri.authority() else {
        return Err(err("no host"));
    };
    if authority.as_str().contains('@') {
        return Err(err(
            "credentials in the URL are not supported (use the token)",
        ));
    }
    if authority.host().is_empty() {
        return Err(err("no host"));
    }
    let shown = shown_of(url);
    Ok((uri, shown))
}

/// TLS with the system's CAs (loaded for an `https` webhook only; none found is a warning, and
/// then the webhook's certificate cannot be verified).
fn tls_config(https: bool) -> Result<rustls::ClientConfig, AuditError> {
    let mut roots = rustls::RootCertStore::empty();
    if https {
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            let errors: Vec<String> = native.errors.iter().map(|e| e.to_string()).collect();
            tracing::warn!(
                errors = ?errors,
                "no system CA certificates could be loaded: the audit webhook's certificate cannot be verified"
            );
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AuditError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `e` and its sources, `: `-separated (hyper's errors say little on their own).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_shown_without_secrets() {
        let (uri, shown) = parse_url("https://siem.example:8443/in?key=secret").unwrap();
        assert_eq!(uri.host(), Some("siem.example"));
        assert_eq!(shown, "https://siem.example:8443/in");
        for (url, reason) in [
            ("ftp://x/", "scheme"),
            ("siem.example:80", "scheme"),
            ("http://user:pw@siem.example/", "credentials"),
            ("not a url", "URL"),
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(e.contains(reason), "{url}: {e}");
            assert!(!e.contains("pw@") && !e.contains("secret"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_token_that_is_no_header_value_is_refused_without_being_shown() {
        let counters = Arc::new(Counters::default());
        let e = Webhook::new(
            "http://127.0.0.1:1/",
            Some("bad\ntoken"),
            counters,
            WebhookTuning::default(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(!e.contains("token\n") && !e.contains("bad"), "{e}");
    }
}
