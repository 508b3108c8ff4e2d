//! `lakegate backup run|restore|status`: talks to a running gateway's admin API (SigV4-signed
//! as root), polls the job, and draws a progress bar on a terminal (plain lines otherwise).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use super::CliError;
use super::admin_client::{AdminClient, AdminClientError};
use super::connection::GatewayArgs;

#[derive(clap::Subcommand, Debug)]
pub enum BackupCommand {
    /// Run a full backup of a bucket now (through its backup binding) and wait for it.
    ///
    /// Shows a progress bar on a terminal, a line every 2 s otherwise. Exits 0 when every object was backed up, 1 when the run failed or some objects could
    /// not be copied (the errors are printed).
    Run(RunArgs),
    /// Restore a bucket from a generation of its backup.
    ///
    /// Makes the destination's current objects equal the backup (keys, bytes, metadata,
    /// tags); keys not in the backup are deleted (a delete marker in a versioned bucket).
    ///
    /// Exits 0 on success, 1 on failure (for example a backup file that does not match its
    /// manifest: that object is not restored; or a manifest not authenticated by this
    /// gateway's local.key: nothing is restored).
    Restore(RestoreArgs),
    /// Show a bucket's backup: binding, last run and restore, next run, generations.
    Status(StatusArgs),
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The bucket to back up.
    #[arg(long)]
    pub bucket: String,
    /// Start the run and print its job id without waiting.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backed-up bucket (its backup is read from the gateway's backup target).
    #[arg(long)]
    pub bucket: String,
    /// Restore into this bucket instead (created if missing).
    #[arg(long)]
    pub to: Option<String>,
    /// The generation to restore (default: the newest).
    #[arg(long)]
    pub at: Option<u64>,
    /// Start the restore and print its job id without waiting.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[arg(long)]
    pub bucket: String,
    /// Print the raw JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// Calls the admin API; returns the HTTP status and the JSON answer (`{"error": ..}` for
/// refusals), or an error if the gateway cannot be reached.
async fn call(
    admin: &AdminClient,
    method: &str,
    path: &str,
) -> Result<(u16, Value), AdminClientError> {
    match admin.call(method, path, Vec::new()).await {
        Ok(v) => Ok((200, v)),
        Err(AdminClientError::Status { status, message }) => {
            Ok((status, serde_json::json!({ "error": message })))
        }
        Err(e) => Err(e),
    }
}

fn error_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
    }
}

/// Runs a `lakegate backup` command; returns the process exit code.
pub async fn run(cmd: BackupCommand) -> Result<ExitCode, CliError> {
    match cmd {
        BackupCommand::Run(a) => {
            let admin = a.gateway.client()?;
            let (status, v) = call(&admin, "POST", &format!("backup/{}/run", a.bucket)).await?;
            start_and_follow(&admin, status, v, a.no_wait, "backup").await
        }
        BackupCommand::Restore(a) => {
            let admin = a.gateway.client()?;
            let mut q = Vec::new();
            if let Some(to) = &a.to {
                q.push(format!(
                    "to={}",
                    percent_encoding::utf8_percent_encode(to, percent_encoding::NON_ALPHANUMERIC)
                ));
            }
            if let Some(at) = a.at {
                q.push(format!("at={at}"));
            }
            let mut path = format!("backup/{}/restore", a.bucket);
            if !q.is_empty() {
                path = format!("{path}?{}", q.join("&"));
            }
            let (status, v) = call(&admin, "POST", &path).await?;
            start_and_follow(&admin, status, v, a.no_wait, "restore").await
        }
        BackupCommand::Status(a) => {
            let admin = a.gateway.client()?;
            let (status, v) = call(&admin, "GET", &format!("backup/{}", a.bucket)).await?;
            if status != 200 {
                eprintln!("error: {}", error_text(&v));
                return Ok(ExitCode::FAILURE);
            }
            if a.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_status(&v);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn start_and_follow(
    admin: &AdminClient,
    status: u16,
    v: Value,
    no_wait: bool,
    what: &str,
) -> Result<ExitCode, CliError> {
    if !(200..300).contains(&status) {
        eprintln!("error: {}", error_text(&v));
        return Ok(ExitCode::FAILURE);
    }
    let Some(id) = v["job"]["id"].as_u64() else {
        eprintln!("error: unexpected answer: {v}");
        return Ok(ExitCode::FAILURE);
    };
    if no_wait {
        println!("{what} job {id} started");
        return Ok(ExitCode::SUCCESS);
    }
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg:<12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    let mut last_line = std::time::Instant::now();
    let job = loop {
        let (status, job) = call(admin, "GET", &format!("jobs/{id}")).await?;
        if status != 200 {
            eprintln!("error: {}", error_text(&job));
            return Ok(ExitCode::FAILURE);
        }
        let p = &job["progress"];
        let (bd, bt) = (
            p["bytes_done"].as_u64().unwrap_or(0),
            p["bytes_total"].as_u64().unwrap_or(0),
        );
        let (od, ot) = (
            p["objects_done"].as_u64().unwrap_or(0),
            p["objects_total"].as_u64().unwrap_or(0),
        );
        let phase = p["phase"].as_str().unwrap_or("");
        let state = job["state"].as_str().unwrap_or("");
        if let Some(b) = &bar {
            b.set_length(bt);
            b.set_position(bd.min(bt));
            b.set_message(format!("{od}/{ot} {phase}"));
            b.tick();
        } else if last_line.elapsed() >= Duration::from_secs(2) && state == "running" {
            eprintln!("{what} job {id}: {phase}: {od}/{ot} objects, {bd}/{bt} bytes");
            last_line = std::time::Instant::now();
        }
        if state == "succeeded" || state == "failed" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let r = &job["report"];
    let n = |k: &str| r[k].as_u64().unwrap_or(0);
    if what == "backup" {
        println!(
            "backup of {}: generation {}{}; {} scanned, {} copied ({} bytes), {} deleted, {} unchanged, {} errors",
            job["bucket"].as_str().unwrap_or(""),
            n("generation"),
            if r["new_generation"].as_bool() == Some(true) {
                " (new)"
            } else {
                " (nothing changed)"
            },
            n("scanned"),
            n("copied"),
            n("bytes_copied"),
            n("deleted"),
            n("skipped_unchanged"),
            n("errors"),
        );
    } else {
        println!(
            "restore of {} into {} from generation {}: {} restored ({} bytes), {} unchanged, {} deleted, {} errors",
            r["bucket"].as_str().unwrap_or(""),
            r["to"].as_str().unwrap_or(""),
            n("generation"),
            n("restored"),
            n("bytes"),
            n("unchanged"),
            n("deleted"),
            n("errors"),
        );
    }
    for m in r["error_messages"].as_array().into_iter().flatten() {
        eprintln!("error: {}", m.as_str().unwrap_or(""));
    }
    Ok(if job["state"] == "succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_status(v: &Value) {
    println!("bucket:    {}", v["bucket"].as_str().unwrap_or(""));
    println!("target:    {}", v["target"].as_str().unwrap_or(""));
    match v["binding"].as_object() {
        Some(b) => println!(
            "binding:   {} ({}), settings {}",
            b.get("file").and_then(Value::as_str).unwrap_or(""),
            b.get("plugin").and_then(Value::as_str).unwrap_or(""),
            b.get("settings").cloned().unwrap_or_default()
        ),
        None => println!("binding:   none"),
    }
    if let Some(t) = v["next_scheduled_at"].as_str() {
        println!("next run:  {t}");
    }
    for (label, key) in [("last run", "last_run"), ("last restore", "last_restore")] {
        if v[key].is_object() {
            let r = &v[key];
            println!(
                "{label}: {} generation {}, outcome {}, errors {}",
                r["trigger"].as_str().or(r["to"].as_str()).unwrap_or(""),
                r["generation"],
                r["outcome"].as_str().unwrap_or(""),
                r["errors"]
            );
        }
    }
    println!("generations:");
    for g in v["generations"].as_array().into_iter().flatten() {
        println!(
            "  {:>6}  {:<8} {}  {} entries, {} bytes",
            g["generation"],
            g["kind"].as_str().unwrap_or(""),
            g["finished_at"].as_str().unwrap_or(""),
            g["entries"],
            g["bytes"]
        );
    }
}
