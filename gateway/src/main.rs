//! The `lakegate` binary.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lakegate::auth::Credentials;
use lakegate::server::{Server, ServerConfig};
use lakegate::store::StoreOptions;

const DEFAULT_USER: &str = "admin";
const DEFAULT_PASSWORD: &str = "admin123";

/// lakegate: S3-compatible object storage for Medallion data lakes, with per-bucket retention,
/// lifecycle and backup policies as sandboxed WebAssembly plugins.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: the S3 API and the web console.
    ///
    /// Root credentials come from LAKEGATE_ROOT_USER / LAKEGATE_ROOT_PASSWORD (MINIO_ROOT_USER /
    /// MINIO_ROOT_PASSWORD are accepted too); without them the defaults admin / admin123 are used,
    /// with a warning. A fresh DATA_DIR starts with the buckets bronze, silver, gold and mlflow.
    /// Once both ports are bound, one line is printed on stdout:
    /// `lakegate ready s3=http://ADDR console=http://ADDR`. SIGTERM or Ctrl-C shut down gracefully.
    Server(ServerArgs),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Where objects and metadata live.
    #[arg(default_value = "./data", env = "LAKEGATE_DATA_DIR")]
    data_dir: PathBuf,
    /// S3 API listen address.
    #[arg(long, default_value = ":9000", env = "LAKEGATE_ADDRESS")]
    address: String,
    /// Web console listen address.
    #[arg(long, default_value = ":9001", env = "LAKEGATE_CONSOLE_ADDRESS")]
    console_address: String,
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
    /// Objects up to this many bytes are stored inline with their metadata (one fsync for both).
    #[arg(long, default_value_t = 16 * 1024, env = "LAKEGATE_INLINE_THRESHOLD")]
    inline_threshold: usize,
}

/// `:9000` means all interfaces, as in MinIO's flags.
fn listen_address(a: &str) -> String {
    if a.starts_with(':') {
        format!("0.0.0.0{a}")
    } else {
        a.to_string()
    }
}

fn root_credentials() -> Credentials {
    let var = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
    };
    let user = var(["LAKEGATE_ROOT_USER", "MINIO_ROOT_USER"]);
    let password = var(["LAKEGATE_ROOT_PASSWORD", "MINIO_ROOT_PASSWORD"]);
    if user.is_none() || password.is_none() {
        tracing::warn!(
            "!!! USING THE DEFAULT ROOT CREDENTIALS (admin / admin123). Anyone who can reach this server can read and \
             delete everything. Set LAKEGATE_ROOT_USER and LAKEGATE_ROOT_PASSWORD. !!!"
        );
    }
    Credentials {
        access_key: user.unwrap_or_else(|| DEFAULT_USER.to_string()),
        secret_key: password.unwrap_or_else(|| DEFAULT_PASSWORD.to_string()),
    }
}

async fn run_server(args: ServerArgs) -> anyhow::Result<()> {
    let config = ServerConfig {
        data_dir: args.data_dir,
        address: listen_address(&args.address),
        console_address: listen_address(&args.console_address),
        root: root_credentials(),
        domains: args.domain,
        region: args.region,
        store: StoreOptions {
            inline_threshold: args.inline_threshold,
        },
    };
    let server = Server::start(config).await.context("starting lakegate")?;
    tracing::info!(s3 = %server.s3_addr, console = %server.console_addr, "lakegate is serving");
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "lakegate ready s3=http://{} console=http://{}",
            server.s3_addr, server.console_addr
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

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAKEGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Server(args) => runtime.block_on(run_server(args)),
    }
}
