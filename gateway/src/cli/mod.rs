//! The command line: one module per command, over the layers below.
//!
//! - [`server`]: `lakegate server`, the gateway itself;
//! - [`policy`]: `lakegate policy test|check|dry-run|status`, with [`scaffold`] (`new`) and
//!   [`author`] (`build`, `deploy`, `dev`);
//! - [`backup`]: `lakegate backup run|restore|status`;
//! - [`admin`]: `lakegate admin user|group|policy|accesskey`;
//! - [`presign`]: `lakegate presign get|put|post`, signed URLs and browser upload forms;
//! - [`connection`]: the root credentials (one lookup for the server and every client command)
//!   and the endpoint of a running gateway; [`admin_client`]: the SigV4-signed client of its
//!   admin API that the client commands use.
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`run`].

pub mod admin;
pub mod admin_client;
pub mod author;
pub mod backup;
pub mod certs;
pub mod connection;
pub mod policy;
pub mod presign;
pub mod scaffold;
pub mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::ServerError;
use crate::policy::PolicyError;
use admin_client::AdminClientError;

/// lakegate: S3-compatible object storage for Medallion data lakes, with per-bucket retention,
/// lifecycle and backup policies as sandboxed WebAssembly plugins.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Log lines as text (colours only on a terminal) or as JSON objects, one per line.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"], env = "LAKEGATE_LOG_FORMAT")]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gateway: the S3 API and the web console.
    ///
    /// Root credentials come from --root-user / --root-password, else LAKEGATE_ROOT_USER /
    /// LAKEGATE_ROOT_PASSWORD (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD are accepted too); without
    /// them the defaults admin / admin123 are used, with a warning. A fresh DATA_DIR starts with
    /// the buckets bronze, silver, gold and mlflow (unless --no-default-buckets). Once both ports are bound, one line is
    /// printed on stdout: `lakegate ready s3=http://ADDR console=http://ADDR` (https with
    /// --certs-dir). SIGTERM or
    /// Ctrl-C shut down gracefully.
    ///
    /// Policy bindings (`*.toml`) are read from the policies directory, which is watched: a
    /// changed binding or plugin is reloaded, a deleted binding unbinds. They can also be managed
    /// through the admin API under /lakegate/admin/v1/ (root credentials only).
    Server(Box<server::ServerArgs>),
    /// Work with policy plugins and their snapshot suites.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Back up and restore buckets through a running gateway (its admin API, as root).
    ///
    /// The gateway is reached at --endpoint (env LAKEGATE_ENDPOINT, default
    /// http://127.0.0.1:9000) with the root credentials from --root-user / --root-password, else
    /// LAKEGATE_ROOT_USER / LAKEGATE_ROOT_PASSWORD (or MINIO_ROOT_*, or AWS_ACCESS_KEY_ID /
    /// AWS_SECRET_ACCESS_KEY).
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Manage users, groups, policies and access keys of a running gateway (its admin API, as
    /// root; endpoint and credentials as for `backup`). `--json` prints the API's answer.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Sign URLs and browser upload forms offline with an access key (credentials and
    /// endpoint as for `backup`): `get`/`put` print a presigned URL for one object, `post` a
    /// POST Object form (JSON, or an HTML page with --html).
    #[command(subcommand)]
    Presign(presign::PresignCommand),
    /// Certificates for TLS: `generate` makes a self-signed pair for local use.
    #[command(subcommand)]
    Certs(certs::CertsCommand),
}

/// Why a command could not run (a command's own failures, such as a failed suite, are its exit
/// status instead).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("starting the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("starting lakegate")]
    Start(#[source] ServerError),
    #[error("starting the policy engine")]
    Engine(#[source] PolicyError),
    #[error("the KMS keys")]
    Kms(#[source] crate::crypto::KmsError),
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A program the command runs (cargo) could not be started.
    #[error("cannot run {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// `lakegate policy dev` cannot watch the plugin crate.
    #[error("cannot watch {}", path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    #[error("dry run of bucket {bucket}")]
    DryRun {
        bucket: String,
        #[source]
        source: AdminClientError,
    },
    #[error(transparent)]
    Admin(#[from] AdminClientError),
    /// An argument the command cannot use (a file that is not JSON, a bad time).
    #[error("{0}")]
    Usage(String),
    /// Writing the command's output failed.
    #[error(transparent)]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Runs the command; returns the process's exit status.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    // The server logs its progress; the other commands print their own report, so only their
    // warnings and errors are logged.
    let default_level = match cli.command {
        Command::Server(_) => "info",
        Command::Policy(_)
        | Command::Backup(_)
        | Command::Admin(_)
        | Command::Presign(_)
        | Command::Certs(_) => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKEGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if cli.log_format == "json" {
        // One JSON object per line, with the span fields (the request id) of each event.
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        // Colours only on a terminal: a log file or journald gets plain `key=value` text.
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    match cli.command {
        Command::Server(args) => {
            runtime.block_on(server::run(*args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(cmd) => policy::run(cmd, &runtime),
        Command::Backup(cmd) => runtime.block_on(backup::run(cmd)),
        Command::Admin(cmd) => runtime.block_on(admin::run(cmd)),
        Command::Presign(cmd) => presign::run(cmd),
        Command::Certs(cmd) => certs::run(cmd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
