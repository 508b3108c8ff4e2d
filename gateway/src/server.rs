//! Sockets and lifecycle: binds the S3 and console ports, serves connections with hyper
//! (TCP_NODELAY on every socket: headers and small bodies must not wait for delayed ACKs), and
//! shuts down gracefully (stop accepting, let in-flight requests finish).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{CredentialStore, Credentials};
use crate::clock::Clock;
use crate::policy::registry::PolicyRegistry;
use crate::policy::scanner::LifecycleScanner;
use crate::policy::{PolicyEngine, PolicyError};
use crate::s3::{self, S3State};
use crate::store::{Store, StoreError, StoreOptions};

/// The buckets a fresh data directory starts with (the Medallion layers and MLflow).
pub const DEFAULT_BUCKETS: [&str; 4] = ["bronze", "silver", "gold", "mlflow"];

/// The first lifecycle scan runs this long after start (then every `lifecycle_interval`).
const LIFECYCLE_FIRST_SCAN: Duration = Duration::from_secs(60);

/// How long in-flight requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Everything `lakegate server` is configured with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub address: String,
    pub console_address: String,
    pub root: Credentials,
    /// Base domains for virtual-host-style requests.
    pub domains: Vec<String>,
    pub region: String,
    pub store: StoreOptions,
    /// The policy bindings directory (watched for changes); `None` disables policies.
    pub policies_dir: Option<PathBuf>,
    /// Let the admin API move the data plane's clock (end-to-end tests only).
    pub adjustable_clock: bool,
    /// How often the lifecycle scanner runs over every bucket with a lifecycle binding.
    pub lifecycle_interval: Duration,
    /// Where backups go (`fs:///path` or a path); `None`: `<data-dir>-backups` beside the data
    /// directory.
    pub backup_target: Option<String>,
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
}

/// A running gateway.
pub struct Server {
    pub s3_addr: SocketAddr,
    pub console_addr: SocketAddr,
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
        if first_start {
            for b in DEFAULT_BUCKETS {
                match store
                    .create_bucket(b, &config.region, true, clock.now())
                    .await
                {
                    Ok(_) | Err(StoreError::BucketExists) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            tracing::info!(buckets = ?DEFAULT_BUCKETS, "first start: created the default buckets");
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
        // Policies: compiled components are cached under the data directory; every binding is
        // loaded before the server reports ready, then the watcher takes over.
        let policies = match &config.policies_dir {
            Some(dir) => {
                let engine = PolicyEngine::new(Some(config.data_dir.join("plugin-cache")))?;
                let registry = Arc::new(PolicyRegistry::new(dir, engine));
                registry.reload_all().await;
                registry
            }
            None => Arc::new(PolicyRegistry::disabled()),
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
        let backup = crate::backup::BackupService::new(
            store.clone(),
            policies.clone(),
            clock.clone(),
            backup_target,
            local_key,
            config.region.clone(),
        );
        let state = Arc::new(
            S3State::new(
                store.clone(),
                CredentialStore::new(config.root.clone()),
                config.domains.clone(),
                config.region.clone(),
            )
            .with_policies(policies.clone())
            .with_clock(clock.clone())
            .with_lifecycle(scanner.clone())
            .with_backup(backup.clone()),
        );
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(serve_s3(s3_listener, state, rx.clone())),
            tokio::spawn(serve_console(console_listener, store.clone(), rx)),
            tokio::spawn(sweep_periodically(store.clone(), shutdown.subscribe())),
        ];
        tasks.extend(policies.start_watcher(shutdown.subscribe()));
        tasks.extend(backup.start(shutdown.subscribe()));
        if config.policies_dir.is_some() {
            tasks.push(scanner.start(
                LIFECYCLE_FIRST_SCAN.min(config.lifecycle_interval),
                config.lifecycle_interval,
                shutdown.subscribe(),
            ));
        }
        Ok(Server {
            s3_addr,
            console_addr,
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

async fn serve_s3(listener: TcpListener, state: Arc<S3State>, mut shutdown: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(60))
        .max_buf_size(256 * 1024);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // E.g. out of file descriptors: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(s3::handle(state, req.map(Body::new)).await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("grace period over; closing remaining connections"),
    }
}

async fn serve_console(
    listener: TcpListener,
    store: Arc<Store>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = crate::console::router(store);
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = shutdown.changed().await;
    });
    if let Err(e) = serve.await {
        tracing::warn!(error = %e, "console server stopped");
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
