//! The application: its state ([`AppState`]: the store, identities, policies, the clock, the
//! lifecycle scanner and the backup service, each created once) and its wiring ([`Server`]:
//! opens the data directory, creates the default buckets on first start, binds the S3 and
//! console ports, builds the routers over the state — the S3 API, the admin API and the health
//! checks on one port ([`crate::net::Dispatch`]), the console on the other — starts the
//! background tasks, and shuts it all down gracefully).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::AdminApi;
use crate::audit::AuditLog;
use crate::auth::{CredentialStore, Credentials};
use crate::backup::BackupService;
use crate::clock::Clock;
use crate::iam::{BucketPolicies, Identities};
use crate::lifecycle::LifecycleScanner;
use crate::metrics::MetricsApi;
use crate::metrics::usage::UsageScanner;
use crate::net::{ConnectionLimits, Dispatch, connection};
use crate::policy::registry::PolicyRegistry;
use crate::policy::{PolicyEngine, PolicyError};
use crate::s3::S3Api;
use crate::s3::access_log::AccessLog;
use crate::s3::stats::RequestStats;
use crate::store::{Store, StoreError, StoreOptions};

/// The buckets a fresh data directory starts with (the Medallion layers and MLflow).
pub const DEFAULT_BUCKETS: [&str; 4] = ["bronze", "silver", "gold", "mlflow"];

/// The first lifecycle scan runs this long after start (then every `lifecycle_interval`).
const LIFECYCLE_FIRST_SCAN: Duration = Duration::from_secs(60);

/// Everything `lakegate server` is configured with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub address: String,
    pub console_address: String,
    pub root: Credentials,
    /// The account's display name in ACLs and owners (empty: the root access key).
    pub root_display_name: String,
    /// Base domains for virtual-host-style requests.
    pub domains: Vec<String>,
    pub region: String,
    pub store: StoreOptions,
    /// The policy bindings directory (watched for changes), if any.
    pub policies_dir: Option<PathBuf>,
    /// Serve the default bindings embedded in the binary (a file in `policies_dir` for the same
    /// bucket and kind overrides one).
    pub default_bindings: bool,
    /// Create the medallion buckets ([`DEFAULT_BUCKETS`]) in a fresh data directory.
    pub default_buckets: bool,
    /// Let the admin API move the data plane's clock (end-to-end tests only).
    pub adjustable_clock: bool,
    /// How often the lifecycle scanner runs over every bucket with a lifecycle binding.
    pub lifecycle_interval: Duration,
    /// How long server access log records gather before they are delivered as one object.
    pub access_log_interval: Duration,
    /// Where backups go (`fs:///path` or a path); `None`: `backups/` inside the data directory.
    pub backup_target: Option<String>,
    /// Connection caps and timeouts, on both ports.
    pub limits: ConnectionLimits,
    /// Serve on non-loopback addresses even with a weak root password (see
    /// [`root_password_is_weak`]); without it such a start fails.
    pub allow_weak_root_credentials: bool,
    /// The KMS's master keys, in order (the first is the default key; a repeated name adds a
    /// version). Empty: SSE-S3 and SSE-KMS are refused.
    pub kms_keys: Vec<(String, [u8; 32])>,
    /// SSE-C keys may travel over plain HTTP (TLS ends in a proxy in front of the gateway).
    pub sse_c_over_http: bool,
    /// The certificates directory ([`crate::net::tls`]): both ports serve TLS. `None`: plain
    /// HTTP.
    pub certs_dir: Option<PathBuf>,
    /// Request accounting and the metrics endpoints (`--metrics off` turns both off).
    pub metrics: bool,
    /// How scrapes of the metrics endpoints are authenticated.
    pub scrape_auth: crate::metrics::ScrapeAuth,
    /// How often the usage scanner counts what every bucket holds.
    pub usage_interval: Duration,
    /// The audit trail's sinks; `None`: no audit trail.
    pub audit: Option<crate::audit::AuditConfig>,
    /// A console session ends this long after its login.
    pub console_session_ttl: Duration,
    /// A console session ends after this long without a request.
    pub console_session_idle: Duration,
    /// The base URL of the console's share links (default: the console's host, S3 port).
    pub console_s3_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot open the data directory: {0}")]
    Store(#[from] StoreError),
    #[error("cannot start the policy engine: {0}")]
    Policy(#[from] PolicyError),
    #[error("cannot open the backup target: {0}")]
    Backup(#[from] crate::backup::BackupError),
    #[error(transparent)]
    LocalKey(#[from] crate::local_key::LocalKeyError),
    #[error("cannot load the identities: {0}")]
    Identities(#[from] crate::iam::IamError),
    #[error("no random bytes from the operating system")]
    Random,
    #[error("the KMS keys: {0}")]
    Kms(crate::crypto::KmsError),
    #[error("TLS certificates: {0}")]
    Tls(#[from] crate::net::tls::TlsError),
    #[error("the audit log: {0}")]
    Audit(#[from] crate::audit::AuditError),
    #[error(
        "refusing to listen on {address} (not a loopback address) with a weak root password \
         (the default admin123, or shorter than {MIN_ROOT_PASSWORD_LEN} characters): anyone who \
         can reach it could read and delete everything. Set LAKEGATE_ROOT_USER and \
         LAKEGATE_ROOT_PASSWORD, listen on 127.0.0.1, or pass --insecure-default-credentials"
    )]
    WeakRootCredentials { address: SocketAddr },
}

/// The root user every fresh install knows.
pub const DEFAULT_ROOT_USER: &str = "admin";
/// The root password every fresh install knows.
pub const DEFAULT_ROOT_PASSWORD: &str = "admin123";
/// The shortest root password accepted on a non-loopback address.
pub const MIN_ROOT_PASSWORD_LEN: usize = 8;

/// Default passwords every reader of the docs knows (lakegate's and MinIO's).
const WELL_KNOWN_PASSWORDS: [&str; 2] = [DEFAULT_ROOT_PASSWORD, "minioadmin"];

/// Whether the root password is a well-known default or too short to face a network.
pub fn root_password_is_weak(root: &Credentials) -> bool {
    WELL_KNOWN_PASSWORDS.contains(&root.secret_key.as_str())
        || root.secret_key.chars().count() < MIN_ROOT_PASSWORD_LEN
}

/// Whether serving `addr` exposes weak root credentials to the network: `Ok(true)` when it does
/// and the operator allowed it, an error when it does and they did not.
pub fn check_exposure(addr: SocketAddr, weak: bool, allowed: bool) -> Result<bool, ServerError> {
    if !weak || addr.ip().is_loopback() {
        return Ok(false);
    }
    if allowed {
        Ok(true)
    } else {
        Err(ServerError::WeakRootCredentials { address: addr })
    }
}

/// The application's state: everything the APIs work on, created once at start.
pub struct AppState {
    pub store: Arc<Store>,
    /// The access keys requests may be signed with.
    pub credentials: CredentialStore,
    /// Users, groups, policies and access keys.
    pub identities: Arc<Identities>,
    /// Buckets' policies.
    pub bucket_policies: Arc<BucketPolicies>,
    /// The region this server answers for.
    pub region: String,
    /// Base domains for virtual-host-style requests.
    pub domains: Vec<String>,
    pub policies: Arc<PolicyRegistry>,
    /// "Now" for the data plane (see [`crate::clock`]).
    pub clock: Arc<Clock>,
    pub lifecycle: Arc<LifecycleScanner>,
    pub backup: Arc<BackupService>,
    /// A request body that delivers no bytes for this long fails with `RequestTimeout`.
    pub body_read_timeout: Duration,
    /// Server access logging.
    pub access_log: Arc<AccessLog>,
    /// Server-side encryption: the KMS and the SSE-C transport rule.
    pub encryption: crate::s3::encryption::Encryption,
    /// Request accounting (the metrics endpoints read it).
    pub requests: Arc<RequestStats>,
    /// The audit trail.
    pub audit: Arc<AuditLog>,
}

impl AppState {
    /// The S3 API's share.
    pub fn s3_api(&self) -> S3Api {
        S3Api {
            store: self.store.clone(),
            credentials: self.credentials.clone(),
            identities: self.identities.clone(),
            bucket_policies: self.bucket_policies.clone(),
            domains: self.domains.clone(),
            region: self.region.clone(),
            policies: self.policies.clone(),
            clock: self.clock.clone(),
            lifecycle: self.lifecycle.clone(),
            body_read_timeout: self.body_read_timeout,
            access_log: self.access_log.clone(),
            encryption: self.encryption.clone(),
            stats: self.requests.clone(),
            audit: self.audit.clone(),
        }
    }

    /// STS's share.
    pub fn sts_api(&self) -> crate::sts::StsApi {
        crate::sts::StsApi {
            credentials: self.credentials.clone(),
            identities: self.identities.clone(),
            region: self.region.clone(),
            clock: self.clock.clone(),
            body_read_timeout: self.body_read_timeout,
        }
    }

    /// The admin API's share.
    pub fn admin_api(&self) -> AdminApi {
        AdminApi {
            store: self.store.clone(),
            credentials: self.credentials.clone(),
            identities: self.identities.clone(),
            region: self.region.clone(),
            policies: self.policies.clone(),
            clock: self.clock.clone(),
            lifecycle: self.lifecycle.clone(),
            backup: self.backup.clone(),
            encryption: self.encryption.clone(),
            body_read_timeout: self.body_read_timeout,
            audit: self.audit.clone(),
        }
    }

    /// The metrics endpoints' share.
    pub fn metrics_api(
        &self,
        config: &ServerConfig,
        usage: Arc<UsageScanner>,
        server: String,
    ) -> MetricsApi {
        MetricsApi {
            store: self.store.clone(),
            requests: self.requests.clone(),
            policies: self.policies.clone(),
            lifecycle: self.lifecycle.clone(),
            backup: self.backup.clone(),
            kms: self.encryption.kms.clone(),
            audit: self.audit.clone(),
            usage,
            credentials: self.credentials.clone(),
            identities: self.identities.clone(),
            auth: config.scrape_auth,
            server,
            enabled: config.metrics,
        }
    }
}

/// The file of the KMS master key generated on a first start without KMS configuration:
/// beside the data directory (not inside it, so a copy of the data alone does not carry its key).
pub fn generated_kms_key_file(data_dir: &std::path::Path) -> PathBuf {
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    data_dir.with_file_name(format!("{name}.kms-key"))
}

/// The KMS master keys: the configured ones; else the generated key file's (made on the first
/// start of a data directory with the default buckets, mode 0600). None: no KMS.
fn kms_keys(
    config: &ServerConfig,
    first_start: bool,
) -> Result<Vec<(String, [u8; 32])>, ServerError> {
    if !config.kms_keys.is_empty() {
        return Ok(config.kms_keys.clone());
    }
    let path = generated_kms_key_file(&config.data_dir);
    if path.exists() {
        return crate::crypto::Keyring::read_file(&path).map_err(ServerError::Kms);
    }
    if !(first_start && config.default_buckets) {
        return Ok(Vec::new());
    }
    match crate::crypto::Keyring::create_file(&path, "lakegate-default") {
        Ok(entry) => {
            tracing::warn!(
                file = %path.display(),
                "first start: generated the KMS master key that encrypts the medallion buckets. \
                 BACK IT UP with the data: without it, encrypted objects cannot be read"
            );
            Ok(vec![entry])
        }
        Err(e) => {
            tracing::warn!(error = %e, "no KMS master key could be generated: the default buckets are not encrypted");
            Ok(Vec::new())
        }
    }
}

/// A running gateway.
pub struct Server {
    pub s3_addr: SocketAddr,
    pub console_addr: SocketAddr,
    /// Both ports serve TLS.
    pub tls: bool,
    pub store: Arc<Store>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Opens the store, creates the default buckets on first start, binds both ports and starts
    /// serving.
    pub async fn start(config: ServerConfig) -> Result<Server, ServerError> {
        let clock = Arc::new(if config.adjustable_clock {
            tracing::warn!(
                "the data plane's clock is adjustable through the admin API (--unsafe-adjustable-clock): for tests only"
            );
            Clock::adjustable()
        } else {
            Clock::system()
        });
        let first_start = !config.data_dir.join("meta.redb").exists();
        let store = Store::open(&config.data_dir, config.store.clone()).await?;
        let local_key = crate::local_key::LocalKey::load_or_create(&config.data_dir)?;
        let kms_keys = kms_keys(&config, first_start)?;
        // Certificates are checked before anything is served: a broken file stops the start.
        let certs = match &config.certs_dir {
            Some(dir) => Some(crate::net::tls::CertsDir::load(dir)?),
            None => None,
        };
        let tls_acceptor = match &certs {
            Some(c) => Some(tokio_rustls::TlsAcceptor::from(c.server_config()?)),
            None => None,
        };
        if first_start && config.default_buckets {
            for b in DEFAULT_BUCKETS {
                match store
                    .create_bucket(b, &config.region, true, clock.now())
                    .await
                {
                    Ok(_) | Err(StoreError::BucketExists) => {}
                    Err(e) => return Err(e.into()),
                }
                // With a KMS, the medallion buckets encrypt what they hold (SSE-S3) by default.
                if !kms_keys.is_empty() {
                    store
                        .set_s3_encryption(
                            b,
                            Some(crate::store::S3EncryptionConfig {
                                mode: crate::store::SseMode::S3,
                                kms_key: None,
                                bucket_key_enabled: false,
                            }),
                        )
                        .await?;
                }
            }
            tracing::info!(
                buckets = ?DEFAULT_BUCKETS,
                encrypted = !kms_keys.is_empty(),
                "first start: created the default buckets"
            );
        }
        // Weak credentials never face the network unasked: checked on the resolved addresses
        // before anything is bound, and again on the bound ones below.
        let weak = root_password_is_weak(&config.root);
        for address in [&config.address, &config.console_address] {
            let resolved = tokio::net::lookup_host(address.as_str())
                .await
                .map_err(|source| ServerError::Bind {
                    address: address.clone(),
                    source,
                })?;
            for addr in resolved {
                check_exposure(addr, weak, config.allow_weak_root_credentials)?;
            }
        }
        let bind = |address: String| async move {
            TcpListener::bind(&address)
                .await
                .map_err(|source| ServerError::Bind { address, source })
        };
        let s3_listener = bind(config.address.clone()).await?;
        let console_listener = bind(config.console_address.clone()).await?;
        let s3_addr = s3_listener
            .local_addr()
            .map_err(|source| ServerError::Bind {
                address: config.address.clone(),
                source,
            })?;
        let console_addr = console_listener
            .local_addr()
            .map_err(|source| ServerError::Bind {
                address: config.console_address.clone(),
                source,
            })?;
        for addr in [s3_addr, console_addr] {
            if check_exposure(addr, weak, config.allow_weak_root_credentials)? {
                tracing::warn!(
                    %addr,
                    "!!! serving a non-loopback address with a weak root password \
                     (--insecure-default-credentials): anyone who can reach it can read and \
                     delete everything !!!"
                );
            }
        }
        // Policies: compiled components are cached under the data directory; every binding is
        // loaded before the server reports ready, then the watcher takes over.
        let policies = if config.policies_dir.is_some() || config.default_bindings {
            let engine = PolicyEngine::new(Some(crate::policy::DiskCache::new(
                config.data_dir.join("plugin-cache"),
                local_key.clone(),
            )))?;
            let registry = Arc::new(PolicyRegistry::new(
                config.policies_dir.as_deref(),
                config.default_bindings,
                engine,
            ));
            // The reload gate's canary decides on the bucket's real versions.
            registry.set_live_data(crate::policy::gate::LiveData {
                store: store.clone(),
                clock: clock.clone(),
            });
            registry.reload_all().await;
            registry.log_active();
            registry
        } else {
            Arc::new(PolicyRegistry::disabled())
        };
        let scanner = Arc::new(LifecycleScanner::new(
            store.clone(),
            policies.clone(),
            clock.clone(),
        ));
        let backup_target = match &config.backup_target {
            Some(url) => crate::backup::Target::parse(url)?,
            None => {
                crate::backup::Target::dir(&crate::backup::target::default_dir(&config.data_dir))?
            }
        };
        tracing::info!(target = %backup_target.url(), "backup target");
        let identities = Arc::new(
            Identities::load(
                store.clone(),
                local_key.clone(),
                config.root.access_key.clone(),
                config.root.secret_key.clone(),
            )?
            .with_root_display_name(&config.root_display_name),
        );
        let backup = BackupService::new(
            store.clone(),
            policies.clone(),
            clock.clone(),
            backup_target,
            local_key,
            config.region.clone(),
        );
        let access_log = Arc::new(AccessLog::new(
            store.clone(),
            policies.clone(),
            config.access_log_interval,
        ));
        let (shutdown, rx) = watch::channel(false);
        let (audit, audit_tasks) = match &config.audit {
            Some(c) => AuditLog::start(c.clone(), shutdown.subscribe())?,
            None => (AuditLog::disabled(), Vec::new()),
        };
        let app = AppState {
            store: store.clone(),
            credentials: CredentialStore::from_identities(identities.clone(), clock.clone()),
            identities,
            bucket_policies: Arc::new(BucketPolicies::new(store.clone())),
            region: config.region.clone(),
            domains: config.domains.clone(),
            policies: policies.clone(),
            clock,
            lifecycle: scanner.clone(),
            backup: backup.clone(),
            body_read_timeout: config.limits.body_read_timeout,
            access_log: access_log.clone(),
            encryption: crate::s3::encryption::Encryption {
                kms: crate::crypto::Keyring::new(kms_keys)
                    .map(|k| Arc::new(k) as Arc<dyn crate::crypto::Kms>),
                // Customer keys travel in headers: only over TLS, unless a proxy in front ends it.
                customer_keys_allowed: certs.is_some() || config.sse_c_over_http,
            },
            requests: Arc::new(RequestStats::new(config.metrics)),
            audit: audit.clone(),
        };
        policies.set_audit(audit);
        let limits = Arc::new(config.limits.clone());
        let usage = Arc::new(UsageScanner::new(store.clone()));
        let s3_api = Arc::new(app.s3_api());
        let admin_api = Arc::new(app.admin_api());
        let metrics_api = Arc::new(app.metrics_api(&config, usage.clone(), s3_addr.to_string()));
        let dispatch = Arc::new(Dispatch::new(
            s3_api.clone(),
            admin_api.clone(),
            Arc::new(app.sts_api()),
            metrics_api.clone(),
        ));
        let s3_handler = move |req| dispatch.clone().handle(req);
        let console = Arc::new(
            crate::console::Console::new(
                s3_api,
                admin_api,
                metrics_api,
                crate::console::ConsoleSettings {
                    tls: certs.is_some(),
                    session_ttl: config.console_session_ttl,
                    session_idle: config.console_session_idle,
                    lifecycle_interval: policies.is_enabled().then_some(config.lifecycle_interval),
                    s3_port: s3_addr.port(),
                    share_base: config.console_s3_url.clone(),
                },
            )
            .map_err(|_| ServerError::Random)?,
        );
        let console_sampler = console.start_sampler(shutdown.subscribe());
        let console = crate::console::router(console);
        let console_body_timeout = config.limits.body_read_timeout;
        let console_handler = move |req| {
            let console = console.clone();
            let req = connection::with_body_read_timeout(req, console_body_timeout);
            async move {
                match tower::ServiceExt::oneshot(console, req).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                }
            }
        };
        let mut tasks = vec![
            tokio::spawn(connection::serve(
                s3_listener,
                "s3",
                limits.clone(),
                tls_acceptor.clone(),
                s3_handler,
                rx.clone(),
            )),
            tokio::spawn(connection::serve(
                console_listener,
                "console",
                Arc::new(limits.for_console()),
                tls_acceptor,
                console_handler,
                rx,
            )),
            tokio::spawn(sweep_periodically(store.clone(), shutdown.subscribe())),
        ];
        tasks.push(access_log.start(shutdown.subscribe()));
        tasks.push(console_sampler);
        tasks.extend(audit_tasks);
        if config.metrics {
            tasks.push(usage.start(config.usage_interval, shutdown.subscribe()));
        }
        if let Some(certs) = &certs {
            tasks.push(certs.clone().watch(shutdown.subscribe()));
        }
        tasks.extend(policies.start_watcher(shutdown.subscribe()));
        tasks.extend(policies.start_rollback_task(shutdown.subscribe()));
        tasks.extend(backup.start(shutdown.subscribe()));
        if policies.is_enabled() {
            tasks.push(scanner.start(
                LIFECYCLE_FIRST_SCAN.min(config.lifecycle_interval),
                config.lifecycle_interval,
                shutdown.subscribe(),
            ));
        }
        Ok(Server {
            s3_addr,
            console_addr,
            tls: certs.is_some(),
            store,
            shutdown,
            tasks,
        })
    }

    /// Stops accepting connections and waits for in-flight requests (up to a grace period).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Sweeps blobs orphaned while the server runs (e.g. a client vanished mid-upload and its
/// cleanup failed), leaving anything touched in the last hour alone.
async fn sweep_periodically(store: Arc<Store>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {
                match store.sweep_orphans(Some(Duration::from_secs(3600))).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(blobs = n, "swept orphan blobs"),
                    Err(e) => tracing::warn!(error = %e, "orphan sweep failed"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(password: &str) -> Credentials {
        Credentials {
            access_key: "ops".into(),
            secret_key: password.into(),
        }
    }

    #[test]
    fn weak_passwords() {
        for weak in ["admin123", "minioadmin", "short", ""] {
            assert!(root_password_is_weak(&root(weak)), "{weak}");
        }
        assert!(!root_password_is_weak(&root("a-long-enough-secret")));
    }

    #[test]
    fn exposure_of_weak_credentials() {
        let any: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        let lan: SocketAddr = "192.168.1.10:9000".parse().unwrap();
        let v6: SocketAddr = "[::]:9000".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let lo6: SocketAddr = "[::1]:9000".parse().unwrap();
        for addr in [any, lan, v6] {
            assert!(matches!(
                check_exposure(addr, true, false),
                Err(ServerError::WeakRootCredentials { .. })
            ));
            assert!(check_exposure(addr, true, true).unwrap());
            assert!(!check_exposure(addr, false, false).unwrap());
        }
        for addr in [lo, lo6] {
            assert!(!check_exposure(addr, true, false).unwrap());
        }
    }
}
