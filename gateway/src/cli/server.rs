//! `lakegate server`: the server's flags, turned into a [`ServerConfig`]; starts the gateway,
//! prints the ready line, and shuts down gracefully on SIGTERM or Ctrl-C.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::app::{Server, ServerConfig, root_password_is_weak};
use crate::net::ConnectionLimits;
use crate::store::StoreOptions;

use super::CliError;
use super::connection::{RootCredentialArgs, Side};

#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Where objects and metadata live.
    #[arg(default_value = "./data", env = "LAKEGATE_DATA_DIR")]
    data_dir: PathBuf,
    /// S3 API listen address [default: :9000, all interfaces; 127.0.0.1:9000 while the root
    /// password is weak].
    #[arg(long, env = "LAKEGATE_ADDRESS")]
    address: Option<String>,
    /// Web console listen address [default: :9001, all interfaces; 127.0.0.1:9001 while the
    /// root password is weak].
    #[arg(long, env = "LAKEGATE_CONSOLE_ADDRESS")]
    console_address: Option<String>,
    #[command(flatten)]
    root: RootCredentialArgs,
    /// Serve non-loopback addresses even though the root password is the default admin123 or
    /// shorter than 8 characters. Without it such a start is refused.
    #[arg(long, env = "LAKEGATE_INSECURE_DEFAULT_CREDENTIALS")]
    insecure_default_credentials: bool,
    /// The most connections open at once, per port [default: from the open-files limit, at
    /// most 16384]. Connections over the cap get 503 SlowDown and are closed.
    #[arg(long, env = "LAKEGATE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// The most connections open at once from one client address, per port [default: a
    /// quarter of --max-connections].
    #[arg(long, env = "LAKEGATE_MAX_CONNECTIONS_PER_CLIENT")]
    max_connections_per_client: Option<usize>,
    /// A new connection must send a whole request head within this time.
    #[arg(long, default_value = "30s", value_parser = parse_interval, env = "LAKEGATE_FIRST_REQUEST_TIMEOUT")]
    first_request_timeout: Duration,
    /// A request head must complete within this time of its first byte.
    #[arg(long, default_value = "30s", value_parser = parse_interval, env = "LAKEGATE_HEADER_READ_TIMEOUT")]
    header_read_timeout: Duration,
    /// A connection (HTTP/1.1 keep-alive or HTTP/2) with no request in flight is closed after
    /// this time.
    #[arg(long, default_value = "60s", value_parser = parse_interval, env = "LAKEGATE_IDLE_TIMEOUT")]
    idle_timeout: Duration,
    /// A request body that delivers no bytes for this long fails with RequestTimeout.
    #[arg(long, default_value = "60s", value_parser = parse_interval, env = "LAKEGATE_BODY_READ_TIMEOUT")]
    body_read_timeout: Duration,
    /// A response the client stops reading for this long closes the connection.
    #[arg(long, default_value = "60s", value_parser = parse_interval, env = "LAKEGATE_SEND_TIMEOUT")]
    send_timeout: Duration,
    /// Base domain(s) for virtual-host-style requests (`<bucket>.<domain>`); comma-separated.
    #[arg(
        long,
        default_value = "localhost",
        env = "LAKEGATE_DOMAIN",
        value_delimiter = ','
    )]
    domain: Vec<String>,
    /// The region the server answers for.
    #[arg(long, default_value = "us-east-1", env = "LAKEGATE_REGION")]
    region: String,
    /// The account's display name in ACLs and object owners [default: the root user].
    #[arg(long, env = "LAKEGATE_ROOT_DISPLAY_NAME")]
    root_display_name: Option<String>,
    /// Objects up to this many bytes are stored inline with their metadata (one fsync for both).
    #[arg(long, default_value_t = 16 * 1024, env = "LAKEGATE_INLINE_THRESHOLD")]
    inline_threshold: usize,
    /// Memory for the metadata page cache (redb), in MiB: metadata and inline objects.
    #[arg(long, default_value_t = 256, env = "LAKEGATE_METADATA_CACHE_MIB")]
    metadata_cache_mib: usize,
    /// Directory of policy bindings (`*.toml`) and their plugins; watched for changes. Its
    /// bindings add to the default bindings built into the binary and override the default for
    /// the same bucket and kind.
    #[arg(long, default_value = "./policies", env = "LAKEGATE_POLICIES")]
    policies: PathBuf,
    /// Serve none of the default bindings built into the binary (the medallion buckets'
    /// retention, lifecycle and backup); only the policies directory's.
    #[arg(long, env = "LAKEGATE_NO_DEFAULT_BINDINGS")]
    no_default_bindings: bool,
    /// Start a fresh data directory empty, without the medallion buckets (bronze, silver, gold,
    /// mlflow).
    #[arg(long, env = "LAKEGATE_NO_DEFAULT_BUCKETS")]
    no_default_buckets: bool,
    /// Let the root user move the data plane's clock through the admin API. For end-to-end
    /// tests of time-based policies; never in production.
    #[arg(long, hide = true, env = "LAKEGATE_UNSAFE_ADJUSTABLE_CLOCK")]
    unsafe_adjustable_clock: bool,
    /// How often lifecycle policies are applied to every bucket that has one (e.g. 1h, 30m,
    /// 1d; the first scan runs a minute after start).
    #[arg(long, default_value = "1h", value_parser = parse_interval, env = "LAKEGATE_LIFECYCLE_INTERVAL")]
    lifecycle_interval: Duration,
    /// How long server access log records (PutBucketLogging) gather before they are delivered
    /// as one object into the target bucket: the first record after this long delivers the
    /// batch, and a quiet bucket's batch goes after 12 times this (e.g. 5m, 30s).
    #[arg(long, default_value = "5m", value_parser = parse_interval, env = "LAKEGATE_ACCESS_LOG_INTERVAL")]
    access_log_interval: Duration,
    /// The KMS master key for SSE-S3 and SSE-KMS, as `name:base64-of-32-bytes` (also read from
    /// MinIO's MINIO_KMS_SECRET_KEY). It is the default key; `--kms-keys` adds more.
    #[arg(long, env = "LAKEGATE_KMS_SECRET_KEY", hide_env_values = true)]
    kms_secret_key: Option<String>,
    /// A file of KMS master keys, one `name:base64-of-32-bytes` per line (`#` comments); a
    /// name repeated on a later line is a new version of that key (rotation: new objects use
    /// the newest version, `lakegate admin kms rewrap` moves stored ones to it, then the old
    /// line may become `name:retired`).
    #[arg(long, env = "LAKEGATE_KMS_KEYS")]
    kms_keys: Option<PathBuf>,
    /// Accept SSE-C (customer-provided keys) over plain HTTP: only where TLS ends in a proxy in
    /// front of the gateway. Without it, SSE-C requests over HTTP are refused.
    #[arg(long, env = "LAKEGATE_SSE_C_OVER_HTTP")]
    sse_c_over_http: bool,
    /// Serve TLS on both ports with the certificates in DIR: `public.crt` and `private.key`,
    /// more in a sub-directory per domain (chosen by SNI), `CAs/` ignored by the server. Files
    /// are reloaded when they change and on SIGHUP. Without it, plain HTTP. `lakegate certs
    /// generate` makes a self-signed pair for local use.
    #[arg(long, value_name = "DIR", env = "LAKEGATE_CERTS_DIR")]
    certs_dir: Option<PathBuf>,
    /// Where backups go: `fs:///abs/path` or a directory path [default: DATA_DIR/backups].
    /// That shares the data's disk: in production, point it at another disk (or an `s3://`
    /// target).
    #[arg(long, env = "LAKEGATE_BACKUP_TARGET")]
    backup_target: Option<String>,
    /// Request accounting and the Prometheus endpoints under /minio/v2/metrics/. `off` saves
    /// their (small) cost; the endpoints then answer 404. Scrapes need a bearer token
    /// (`lakegate admin prometheus generate`) unless LAKEGATE_PROMETHEUS_AUTH_TYPE=public (or
    /// MINIO_PROMETHEUS_AUTH_TYPE=public).
    #[arg(long, default_value = "on", value_parser = ["on", "off"], env = "LAKEGATE_METRICS")]
    metrics: String,
    /// How often the usage scanner counts what every bucket holds (the usage, object-size and
    /// version series of the metrics).
    #[arg(long, default_value = "2m", value_parser = parse_interval, env = "LAKEGATE_USAGE_INTERVAL")]
    usage_interval: Duration,
    /// Write the audit trail to FILE: one JSON line per mutating S3 request and per admin
    /// change (created 0600; rotated at --audit-log-max-size, --audit-log-keep files kept).
    #[arg(long, value_name = "FILE", env = "LAKEGATE_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// Rotate the audit file when it would grow past this many MiB.
    #[arg(long, default_value_t = 100, env = "LAKEGATE_AUDIT_LOG_MAX_SIZE_MIB")]
    audit_log_max_size_mib: u64,
    /// Rotated audit files kept (FILE.1 is the newest).
    #[arg(long, default_value_t = 5, env = "LAKEGATE_AUDIT_LOG_KEEP")]
    audit_log_keep: usize,
    /// Also POST the audit trail, in batches of JSON lines, to this http(s) URL.
    #[arg(long, value_name = "URL", env = "LAKEGATE_AUDIT_WEBHOOK")]
    audit_webhook: Option<String>,
    /// A bearer token for the audit webhook (`Authorization: Bearer ...`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LAKEGATE_AUDIT_WEBHOOK_TOKEN",
        hide_env_values = true
    )]
    audit_webhook_token: Option<String>,
    /// Audit entries queued at most; past that they are dropped (and counted), never waited
    /// for.
    #[arg(long, default_value_t = 10_000, env = "LAKEGATE_AUDIT_QUEUE")]
    audit_queue: usize,
    /// A console session ends this long after its login.
    #[arg(long, default_value = "12h", value_parser = parse_interval, env = "LAKEGATE_CONSOLE_SESSION_TTL")]
    console_session_ttl: Duration,
    /// A console session ends after this long without a request.
    #[arg(long, default_value = "1h", value_parser = parse_interval, env = "LAKEGATE_CONSOLE_SESSION_IDLE")]
    console_session_idle: Duration,
    /// The base URL of the console's share links (presigned GETs on the S3 port), e.g.
    /// `https://lake.example.com:9000`; default: the host the browser used for the console,
    /// with the S3 port.
    #[arg(long, value_name = "URL", env = "LAKEGATE_CONSOLE_S3_URL")]
    console_s3_url: Option<String>,
}

/// The KMS master keys from `--kms-secret-key` (or MinIO's `MINIO_KMS_SECRET_KEY`) and
/// `--kms-keys`: the single key first (the default key), then the file's.
fn kms_keys(
    secret: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<Vec<(String, [u8; 32])>, CliError> {
    let minio = std::env::var("MINIO_KMS_SECRET_KEY").ok();
    let mut keys = Vec::new();
    if let Some(spec) = secret.or(minio.as_deref()) {
        keys.push(crate::crypto::kms::parse_key_spec(spec).map_err(CliError::Kms)?);
    }
    if let Some(path) = file {
        keys.extend(crate::crypto::Keyring::read_file(path).map_err(CliError::Kms)?);
    }
    Ok(keys)
}

/// `90s`, `30m`, `1h`, `1d` (or plain seconds).
pub(super) fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("expected e.g. 30m or 1h, got {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("unknown unit {unit:?} (use s, m, h or d)")),
    };
    if secs == 0 {
        return Err("must be at least 1s".into());
    }
    Ok(Duration::from_secs(secs))
}

/// `:9000` means all interfaces, as in MinIO's flags.
fn listen_address(a: &str) -> String {
    if a.starts_with(':') {
        format!("0.0.0.0{a}")
    } else {
        a.to_string()
    }
}

/// The listen address: the one given, else all interfaces on `port`, or loopback only while the
/// root password is weak (the defaults stay usable locally without facing the network).
fn default_listen_address(
    given: Option<&str>,
    port: u16,
    weak_root: bool,
    insecure: bool,
) -> String {
    match given {
        Some(a) => listen_address(a),
        None if weak_root && !insecure => {
            tracing::warn!(
                port,
                "listening on 127.0.0.1 only because the root password is weak; set \
                 LAKEGATE_ROOT_PASSWORD (or pass --insecure-default-credentials) to listen on all \
                 interfaces"
            );
            format!("127.0.0.1:{port}")
        }
        None => format!("0.0.0.0:{port}"),
    }
}

/// Runs `lakegate server` until SIGTERM or Ctrl-C.
pub async fn run(args: ServerArgs) -> Result<(), CliError> {
    let root = args.root.resolve(Side::Server);
    let weak = root_password_is_weak(&root);
    // However they were set (defaults, or the same values given explicitly).
    if weak {
        tracing::warn!(
            "!!! WEAK ROOT CREDENTIALS (the default admin / admin123, or a password shorter than 8 \
             characters). Anyone who can reach this server can read and delete everything. Set \
             LAKEGATE_ROOT_USER and LAKEGATE_ROOT_PASSWORD. !!!"
        );
    }
    let insecure = args.insecure_default_credentials;
    let fd_limit = crate::net::connection::raise_open_files_limit();
    let mut limits = ConnectionLimits::for_fd_limit(fd_limit);
    if let Some(n) = args.max_connections {
        limits.max_connections = n.max(1);
        limits.max_connections_per_client = (n / 4).max(1);
    }
    if let Some(n) = args.max_connections_per_client {
        limits.max_connections_per_client = n.max(1);
    }
    limits.first_request_timeout = args.first_request_timeout;
    limits.header_read_timeout = args.header_read_timeout;
    limits.idle_timeout = args.idle_timeout;
    limits.body_read_timeout = args.body_read_timeout;
    limits.send_timeout = args.send_timeout;
    tracing::info!(
        open_files = fd_limit,
        max_connections = limits.max_connections,
        max_connections_per_client = limits.max_connections_per_client,
        "connection limits"
    );
    let config = ServerConfig {
        data_dir: args.data_dir,
        address: default_listen_address(args.address.as_deref(), 9000, weak, insecure),
        console_address: default_listen_address(
            args.console_address.as_deref(),
            9001,
            weak,
            insecure,
        ),
        root,
        limits,
        allow_weak_root_credentials: insecure,
        domains: args.domain,
        region: args.region,
        root_display_name: args.root_display_name.unwrap_or_default(),
        store: StoreOptions {
            inline_threshold: args.inline_threshold,
            metadata_cache_bytes: args.metadata_cache_mib * 1024 * 1024,
        },
        policies_dir: Some(args.policies),
        default_bindings: !args.no_default_bindings,
        default_buckets: !args.no_default_buckets,
        adjustable_clock: args.unsafe_adjustable_clock,
        lifecycle_interval: args.lifecycle_interval,
        access_log_interval: args.access_log_interval,
        backup_target: args.backup_target,
        kms_keys: kms_keys(args.kms_secret_key.as_deref(), args.kms_keys.as_deref())?,
        sse_c_over_http: args.sse_c_over_http,
        certs_dir: args.certs_dir,
        metrics: args.metrics == "on",
        scrape_auth: crate::metrics::ScrapeAuth::from_env().map_err(CliError::Usage)?,
        usage_interval: args.usage_interval,
        audit: (args.audit_log.is_some() || args.audit_webhook.is_some()).then(|| {
            crate::audit::AuditConfig {
                file: args.audit_log,
                max_file_bytes: args.audit_log_max_size_mib.max(1) * 1024 * 1024,
                keep_files: args.audit_log_keep,
                webhook: args.audit_webhook,
                webhook_token: args.audit_webhook_token,
                queue_capacity: args.audit_queue.max(1),
            }
        }),
        console_session_ttl: args.console_session_ttl,
        console_session_idle: args.console_session_idle,
        console_s3_url: args.console_s3_url,
    };
    let server = Server::start(config).await.map_err(CliError::Start)?;
    tracing::info!(s3 = %server.s3_addr, console = %server.console_addr, "lakegate is serving");
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "lakegate ready s3={scheme}://{} console={scheme}://{}",
            server.s3_addr,
            server.console_addr,
            scheme = if server.tls { "https" } else { "http" }
        )?;
        out.flush()?;
    }
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    server.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_interval(" 1d "), Ok(Duration::from_secs(86_400)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("1w").is_err());
        assert!(parse_interval("h").is_err());
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(listen_address(":9000"), "0.0.0.0:9000");
        assert_eq!(listen_address("127.0.0.1:1"), "127.0.0.1:1");
        assert_eq!(
            default_listen_address(None, 9000, true, false),
            "127.0.0.1:9000"
        );
        assert_eq!(
            default_listen_address(None, 9000, true, true),
            "0.0.0.0:9000"
        );
        assert_eq!(
            default_listen_address(None, 9001, false, false),
            "0.0.0.0:9001"
        );
        assert_eq!(
            default_listen_address(Some(":1"), 9000, true, false),
            "0.0.0.0:1"
        );
    }
}
