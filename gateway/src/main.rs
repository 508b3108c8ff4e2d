//! The `lakegate` binary.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lakegate::auth::Credentials;
use lakegate::server::{ConnectionLimits, Server, ServerConfig, root_password_is_weak};
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
    ///
    /// Policy bindings (`*.toml`) are read from the policies directory, which is watched: a
    /// changed binding or plugin is reloaded, a deleted binding unbinds. They can also be managed
    /// through the admin API under /lakegate/admin/v1/ (root credentials only).
    Server(ServerArgs),
    /// Work with policy plugins and their snapshot suites.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Back up and restore buckets through a running gateway (its admin API, as root).
    ///
    /// The gateway is reached at --endpoint (env LAKEGATE_ENDPOINT, default
    /// http://127.0.0.1:9000) with the root credentials from LAKEGATE_ROOT_USER /
    /// LAKEGATE_ROOT_PASSWORD (or MINIO_ROOT_*, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
    #[command(subcommand)]
    Backup(lakegate::backup::cli::BackupCommand),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Run snapshot suites: every `*.suite.toml` under DIR, each against its `<name>.snap`.
    ///
    /// Each suite loads its plugin through the real policy host, feeds it the suite's fixed
    /// scenario (objects, uploads, events) at the suite's fixed `now`, and renders the decisions.
    /// Prints `ok` or `FAILED` per suite, with a unified diff of the stored snapshot against the
    /// new rendering; exits with status 1 if any suite failed. `--bless` writes the new
    /// renderings as the snapshots instead.
    Test(PolicyTestArgs),
    /// Load a plugin component and print which policy worlds it implements.
    ///
    /// Exits with status 1 (and the error) for a file that is not a WebAssembly component, that
    /// does not compile or link against the sandbox, or that implements none of the
    /// `lakegate:policy` worlds (retention, lifecycle, backup).
    Check(PolicyCheckArgs),
    /// Show what the bucket's lifecycle policy would do right now, without doing it.
    ///
    /// Asks a running gateway (`--endpoint`, root credentials from the environment) to evaluate
    /// every version and incomplete upload of the bucket with its lifecycle plugin, and prints
    /// each decision that is not "keep" (as a table, or the whole report with `--json`), with
    /// what object lock would say about it.
    DryRun(PolicyDryRunArgs),
}

/// Where the running gateway is, for commands that use its admin API.
#[derive(clap::Args, Clone)]
pub struct GatewayArgs {
    /// The gateway's S3 endpoint.
    #[arg(
        long,
        default_value = "http://127.0.0.1:9000",
        env = "LAKEGATE_ENDPOINT"
    )]
    pub endpoint: String,
    /// The region requests are signed for.
    #[arg(long, default_value = "us-east-1", env = "LAKEGATE_REGION")]
    pub region: String,
}

impl GatewayArgs {
    /// A client signed with the root credentials (LAKEGATE_ROOT_USER/PASSWORD, MINIO_ROOT_*,
    /// or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; else the defaults).
    pub fn client(&self) -> anyhow::Result<lakegate::admin_client::AdminClient> {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        let user = var(&["LAKEGATE_ROOT_USER", "MINIO_ROOT_USER", "AWS_ACCESS_KEY_ID"])
            .unwrap_or_else(|| DEFAULT_USER.into());
        let password = var(&[
            "LAKEGATE_ROOT_PASSWORD",
            "MINIO_ROOT_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
        ])
        .unwrap_or_else(|| DEFAULT_PASSWORD.into());
        Ok(lakegate::admin_client::AdminClient::new(
            &self.endpoint,
            &user,
            &password,
            &self.region,
        )?)
    }
}

#[derive(clap::Args)]
struct PolicyDryRunArgs {
    /// The bucket.
    #[arg(long)]
    bucket: String,
    /// Print the whole report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    gateway: GatewayArgs,
}

#[derive(clap::Args)]
struct PolicyTestArgs {
    /// A directory searched recursively for `*.suite.toml` files, or one suite file.
    #[arg(default_value = "./policies", env = "LAKEGATE_POLICIES")]
    dir: PathBuf,
    /// Write the new renderings as the snapshots (accept all changes).
    #[arg(long)]
    bless: bool,
}

#[derive(clap::Args)]
struct PolicyCheckArgs {
    /// The plugin component (`.wasm`).
    plugin: PathBuf,
}

#[derive(clap::Args)]
struct ServerArgs {
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
    first_request_timeout: std::time::Duration,
    /// A request head must complete within this time of its first byte.
    #[arg(long, default_value = "30s", value_parser = parse_interval, env = "LAKEGATE_HEADER_READ_TIMEOUT")]
    header_read_timeout: std::time::Duration,
    /// A connection (HTTP/1.1 keep-alive or HTTP/2) with no request in flight is closed after
    /// this time.
    #[arg(long, default_value = "60s", value_parser = parse_interval, env = "LAKEGATE_IDLE_TIMEOUT")]
    idle_timeout: std::time::Duration,
    /// A request body that delivers no bytes for this long fails with RequestTimeout.
    #[arg(long, default_value = "60s", value_parser = parse_interval, env = "LAKEGATE_BODY_READ_TIMEOUT")]
    body_read_timeout: std::time::Duration,
    /// A response the client stops reading for this long closes the connection.
    #[arg(long, default_value = "60s", value_parser = parse_interval, env = "LAKEGATE_SEND_TIMEOUT")]
    send_timeout: std::time::Duration,
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
    /// Memory for the metadata page cache (redb), in MiB: metadata and inline objects.
    #[arg(long, default_value_t = 256, env = "LAKEGATE_METADATA_CACHE_MIB")]
    metadata_cache_mib: usize,
    /// Directory of policy bindings (`*.toml`) and their plugins; watched for changes.
    #[arg(long, default_value = "./policies", env = "LAKEGATE_POLICIES")]
    policies: PathBuf,
    /// Let the root user move the data plane's clock through the admin API. For end-to-end
    /// tests of time-based policies; never in production.
    #[arg(long, hide = true, env = "LAKEGATE_UNSAFE_ADJUSTABLE_CLOCK")]
    unsafe_adjustable_clock: bool,
    /// How often lifecycle policies are applied to every bucket that has one (e.g. 1h, 30m,
    /// 1d; the first scan runs a minute after start).
    #[arg(long, default_value = "1h", value_parser = parse_interval, env = "LAKEGATE_LIFECYCLE_INTERVAL")]
    lifecycle_interval: std::time::Duration,
    /// Where backups go: `fs:///abs/path` or a directory path (default: DATA_DIR's sibling
    /// `<name>-backups`, e.g. ./data-backups).
    #[arg(long, env = "LAKEGATE_BACKUP_TARGET")]
    backup_target: Option<String>,
}

/// `90s`, `30m`, `1h`, `1d` (or plain seconds).
fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("expected e.g. 30m or 1h, got {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("unknown unit {unit:?} (use s, m, h or d)")),
    };
    if secs == 0 {
        return Err("must be at least 1s".into());
    }
    Ok(std::time::Duration::from_secs(secs))
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
    let root = Credentials {
        access_key: user.unwrap_or_else(|| DEFAULT_USER.to_string()),
        secret_key: password.unwrap_or_else(|| DEFAULT_PASSWORD.to_string()),
    };
    // However they were set (defaults, or the same values given explicitly).
    if root_password_is_weak(&root) {
        tracing::warn!(
            "!!! WEAK ROOT CREDENTIALS (the default admin / admin123, or a password shorter than 8 \
             characters). Anyone who can reach this server can read and delete everything. Set \
             LAKEGATE_ROOT_USER and LAKEGATE_ROOT_PASSWORD. !!!"
        );
    }
    root
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

async fn run_server(args: ServerArgs) -> anyhow::Result<()> {
    let root = root_credentials();
    let weak = root_password_is_weak(&root);
    let insecure = args.insecure_default_credentials;
    let fd_limit = lakegate::server::connection::raise_open_files_limit();
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
        store: StoreOptions {
            inline_threshold: args.inline_threshold,
            metadata_cache_bytes: args.metadata_cache_mib * 1024 * 1024,
        },
        policies_dir: Some(args.policies),
        adjustable_clock: args.unsafe_adjustable_clock,
        lifecycle_interval: args.lifecycle_interval,
        backup_target: args.backup_target,
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
    let cli = Cli::parse();
    // The policy commands print their own report; only warnings and errors are logged.
    let default_level = match cli.command {
        Command::Server(_) => "info",
        Command::Policy(_) | Command::Backup(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LAKEGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Server(args) => runtime.block_on(run_server(args)),
        Command::Policy(PolicyCommand::Test(args)) => {
            let ok = policy_test(&args)?;
            std::process::exit(if ok { 0 } else { 1 });
        }
        Command::Policy(PolicyCommand::Check(args)) => {
            let ok = policy_check(&args)?;
            std::process::exit(if ok { 0 } else { 1 });
        }
        Command::Policy(PolicyCommand::DryRun(args)) => runtime.block_on(policy_dry_run(&args)),
        Command::Backup(cmd) => {
            let code = runtime.block_on(lakegate::backup::cli::main(cmd))?;
            std::process::exit(code);
        }
    }
}

/// `lakegate policy dry-run`.
async fn policy_dry_run(args: &PolicyDryRunArgs) -> anyhow::Result<()> {
    let client = args.gateway.client()?;
    let report = client
        .call(
            "POST",
            &format!("lifecycle/{}/run?dry_run=true", args.bucket),
            Vec::new(),
        )
        .await
        .with_context(|| format!("dry run of bucket {}", args.bucket))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    let n = |k: &str| report.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    let actions = report
        .get("actions")
        .and_then(|a| a.as_array())
        .cloned()
        .unwrap_or_default();
    let rows: Vec<[String; 4]> = actions
        .iter()
        .map(|a| [s(a, "action"), s(a, "key"), s(a, "id"), s(a, "outcome")])
        .collect();
    let headers = ["ACTION", "KEY", "VERSION/UPLOAD", "OUTCOME"];
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count()).min(80);
        }
    }
    let line = |cells: [&str; 4]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == 3 {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        l
    };
    writeln!(
        out,
        "lifecycle dry run of {} with {} at {}",
        args.bucket,
        s(&report, "policy"),
        chrono::DateTime::from_timestamp_millis(
            report.get("now_ms").and_then(|v| v.as_i64()).unwrap_or(0)
        )
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
    )?;
    if rows.is_empty() {
        writeln!(out, "nothing to do")?;
    } else {
        writeln!(out, "{}", line(headers))?;
        for r in &rows {
            writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3]]))?;
        }
        if report.get("actions_truncated").and_then(|v| v.as_bool()) == Some(true) {
            writeln!(out, "... (list truncated; the counts below are complete)")?;
        }
    }
    writeln!(
        out,
        "scanned {} versions and {} uploads: keep {}, expire {}, expire-noncurrent {}, remove delete markers {}, abort uploads {}, refused by object lock {}, invalid {}, plugin failures {}",
        n("versions_scanned"),
        n("uploads_scanned"),
        n("kept"),
        n("expired"),
        n("noncurrent_deleted"),
        n("delete_markers_removed"),
        n("uploads_aborted"),
        n("locked"),
        n("refused"),
        n("plugin_failures"),
    )?;
    Ok(())
}

/// `lakegate policy test`: returns whether every suite passed.
fn policy_test(args: &PolicyTestArgs) -> anyhow::Result<bool> {
    use lakegate::policy::suite::{self, Outcome};
    let files = suite::find_suites(&args.dir)
        .with_context(|| format!("cannot read {}", args.dir.display()))?;
    let mut out = std::io::stdout().lock();
    if files.is_empty() {
        writeln!(out, "no *.suite.toml files under {}", args.dir.display())?;
        return Ok(true);
    }
    let engine = lakegate::policy::PolicyEngine::new(None).context("starting the policy engine")?;
    let (mut passed, mut failed, mut blessed) = (0, 0, 0);
    for file in &files {
        let shown = file.display();
        let (_, outcome) = suite::check(&engine, file, args.bless);
        match &outcome {
            Outcome::Ok => writeln!(out, "ok       {shown}")?,
            Outcome::Blessed { diff } => {
                writeln!(out, "blessed  {shown}")?;
                write!(out, "{diff}")?;
            }
            Outcome::Changed { diff } => {
                writeln!(
                    out,
                    "FAILED   {shown}: the decisions differ from the snapshot"
                )?;
                write!(out, "{diff}")?;
            }
            Outcome::Missing { actual } => {
                writeln!(
                    out,
                    "FAILED   {shown}: no snapshot yet (run with --bless to accept):"
                )?;
                for line in actual.lines() {
                    writeln!(out, "+{line}")?;
                }
            }
            Outcome::Error(e) => writeln!(out, "FAILED   {shown}: {e}")?,
        }
        match outcome {
            Outcome::Ok => passed += 1,
            Outcome::Blessed { .. } => blessed += 1,
            _ => failed += 1,
        }
    }
    writeln!(
        out,
        "\n{} suites: {passed} ok, {failed} failed{}",
        files.len(),
        if args.bless {
            format!(", {blessed} blessed")
        } else {
            String::new()
        }
    )?;
    out.flush()?;
    Ok(failed == 0)
}

/// `lakegate policy check`: returns whether the file is a usable plugin.
fn policy_check(args: &PolicyCheckArgs) -> anyhow::Result<bool> {
    let wasm = std::fs::read(&args.plugin)
        .with_context(|| format!("cannot read {}", args.plugin.display()))?;
    let engine = lakegate::policy::PolicyEngine::new(None).context("starting the policy engine")?;
    let shown = args.plugin.display();
    match engine.check(&wasm) {
        Ok(worlds) if worlds.is_empty() => {
            eprintln!(
                "{shown}: the component implements none of the lakegate:policy worlds (retention, lifecycle, backup)"
            );
            Ok(false)
        }
        Ok(worlds) => {
            let names: Vec<&str> = worlds.iter().map(|w| w.as_str()).collect();
            println!(
                "{shown}: implements {} (sha256 {})",
                names.join(", "),
                lakegate::policy::PolicyEngine::hash(&wasm)
            );
            Ok(true)
        }
        Err(e) => {
            eprintln!("{shown}: {e}");
            Ok(false)
        }
    }
}
