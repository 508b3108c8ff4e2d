//! `lakegate policy test|check|dry-run|status`: the snapshot suites and plugin checks run
//! offline (through the real policy host, no gateway needed); the dry run and the status ask a
//! running gateway through its admin API (signed by the CLI: no author signs a request).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::policy::PolicyEngine;

use super::CliError;
use super::connection::GatewayArgs;

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
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
    /// Asks a running gateway (`--endpoint`, root credentials from the flags or the environment)
    /// to evaluate every version and incomplete upload of the bucket with its lifecycle plugin, and prints
    /// each decision that is not "keep" (as a table, or the whole report with `--json`), with
    /// what object lock would say about it.
    DryRun(PolicyDryRunArgs),
    /// Every policy binding of a running gateway: bucket, kind, state, serving plugin hash,
    /// calls, failures and the last error (`list` is the same).
    #[command(alias = "list")]
    Status(PolicyStatusArgs),
}

#[derive(clap::Args, Debug)]
pub struct PolicyStatusArgs {
    /// Only this bucket's bindings.
    #[arg(long)]
    bucket: Option<String>,
    /// Print the gateway's answer as JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    gateway: GatewayArgs,
}

#[derive(clap::Args, Debug)]
pub struct PolicyDryRunArgs {
    /// The bucket.
    #[arg(long)]
    bucket: String,
    /// Decide as if it were this time: RFC 3339, `YYYY-MM-DD`, ms since the epoch, or `+N`
    /// with `d`, `h` or `m` from now (`+30d`). The gateway's clock and scanner are not touched.
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// Print the whole report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    gateway: GatewayArgs,
}

#[derive(clap::Args, Debug)]
pub struct PolicyTestArgs {
    /// A directory searched recursively for `*.suite.toml` files, or one suite file.
    #[arg(default_value = "./policies", env = "LAKEGATE_POLICIES")]
    dir: PathBuf,
    /// Write the new renderings as the snapshots (accept all changes).
    #[arg(long)]
    bless: bool,
}

#[derive(clap::Args, Debug)]
pub struct PolicyCheckArgs {
    /// The plugin component (`.wasm`).
    plugin: PathBuf,
}

/// Runs a `lakegate policy` command; the dry run on `runtime`.
pub fn run(cmd: PolicyCommand, runtime: &tokio::runtime::Runtime) -> Result<ExitCode, CliError> {
    let ok = match cmd {
        PolicyCommand::Test(args) => test(&args)?,
        PolicyCommand::Check(args) => check(&args)?,
        PolicyCommand::DryRun(args) => {
            runtime.block_on(dry_run(&args))?;
            true
        }
        PolicyCommand::Status(args) => {
            runtime.block_on(status(&args))?;
            true
        }
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--at`: `+N{d,h,m}` from now becomes ms since the epoch; anything else goes to the gateway
/// as written (it reads RFC 3339, `YYYY-MM-DD` and ms).
fn resolve_at(at: &str, now: chrono::DateTime<chrono::Utc>) -> Result<String, CliError> {
    let Some(rel) = at.strip_prefix('+') else {
        return Ok(at.to_string());
    };
    let (n, unit) = rel.split_at(rel.len().saturating_sub(1));
    let n: i64 = n
        .parse()
        .map_err(|_| CliError::Usage(format!("--at {at}: expected +N followed by d, h or m")))?;
    let d = match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "m" => chrono::Duration::minutes(n),
        _ => {
            return Err(CliError::Usage(format!(
                "--at {at}: expected +N followed by d, h or m"
            )));
        }
    };
    Ok((now + d).timestamp_millis().to_string())
}

/// `lakegate policy dry-run`.
async fn dry_run(args: &PolicyDryRunArgs) -> Result<(), CliError> {
    let client = args.gateway.client()?;
    let mut route = format!("lifecycle/{}/run?dry_run=true", args.bucket);
    if let Some(at) = &args.at {
        let at = resolve_at(at, chrono::Utc::now())?;
        route.push_str("&at=");
        route.push_str(&crate::s3::list::url_encode(&at));
    }
    let fail = |source| CliError::DryRun {
        bucket: args.bucket.clone(),
        source,
    };
    // What serves the bucket, from the same gateway (a failed reload is said loudly).
    let bindings = client.call("GET", "policies", Vec::new()).await.ok();
    let report = client
        .call("POST", &route, Vec::new())
        .await
        .map_err(fail)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    writeln!(out, "gateway: {} (POST {route})", args.gateway.endpoint)?;
    let serving = bindings.as_ref().and_then(|b| {
        b["bindings"]
            .as_array()?
            .iter()
            .find(|s| {
                s["bucket"] == args.bucket.as_str()
                    && s["kind"] == "lifecycle"
                    && s["state"] != "overridden"
            })
            .cloned()
    });
    if let Some(b) = &serving {
        let hash = b["plugin_hash"].as_str().unwrap_or("-");
        writeln!(
            out,
            "binding: {} ({}), plugin {} sha256 {}",
            b["file"].as_str().unwrap_or("?"),
            b["state"].as_str().unwrap_or("?"),
            b["plugin"].as_str().unwrap_or("?"),
            &hash[..hash.len().min(12)]
        )?;
        if b["state"] != "active" {
            writeln!(
                out,
                "WARNING: the binding is {}: {}{}",
                b["state"].as_str().unwrap_or("?"),
                b["error"].as_str().unwrap_or("no error recorded"),
                if b["serving"] == true {
                    " (the previous version serves)"
                } else {
                    ""
                }
            )?;
        }
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
    if let Some(errors) = report.get("errors").and_then(|e| e.as_array())
        && !errors.is_empty()
    {
        writeln!(out, "errors (plugin traps and refusals):")?;
        for e in errors {
            writeln!(out, "  {}", e.as_str().unwrap_or_default())?;
        }
    }
    Ok(())
}

/// `lakegate policy status`.
async fn status(args: &PolicyStatusArgs) -> Result<(), CliError> {
    let client = args.gateway.client()?;
    let answer = client
        .call("GET", "policies", Vec::new())
        .await
        .map_err(CliError::Admin)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
        return Ok(());
    }
    let rows: Vec<[String; 8]> = answer["bindings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|b| {
            args.bucket
                .as_deref()
                .is_none_or(|want| b["bucket"] == want)
        })
        .map(|b| {
            let s = |k: &str| b[k].as_str().unwrap_or("-").to_string();
            let n = |k: &str| b[k].as_u64().unwrap_or(0).to_string();
            let hash = s("plugin_hash");
            let error = b["error"]
                .as_str()
                .or(b["last_call_error"].as_str())
                .unwrap_or("")
                .to_string();
            [
                s("file"),
                s("bucket"),
                s("kind"),
                s("state"),
                hash[..hash.len().min(12)].to_string(),
                n("calls"),
                n("failures"),
                error,
            ]
        })
        .collect();
    let headers = [
        "FILE",
        "BUCKET",
        "KIND",
        "STATE",
        "HASH",
        "CALLS",
        "FAILURES",
        "LAST ERROR",
    ];
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count()).min(60);
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == cells.len() - 1 {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        l
    };
    writeln!(out, "gateway: {}", args.gateway.endpoint)?;
    writeln!(out, "{}", line(&headers.map(String::from)))?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    if rows.is_empty() {
        writeln!(out, "(no bindings)")?;
    }
    Ok(())
}

/// `lakegate policy test`: returns whether every suite passed.
fn test(args: &PolicyTestArgs) -> Result<bool, CliError> {
    use crate::policy::suite::{self, Outcome};
    let files = suite::find_suites(&args.dir).map_err(|source| CliError::Read {
        path: args.dir.clone(),
        source,
    })?;
    let mut out = std::io::stdout().lock();
    if files.is_empty() {
        writeln!(out, "no *.suite.toml files under {}", args.dir.display())?;
        return Ok(true);
    }
    let engine = PolicyEngine::new(None).map_err(CliError::Engine)?;
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
fn check(args: &PolicyCheckArgs) -> Result<bool, CliError> {
    let wasm = std::fs::read(&args.plugin).map_err(|source| CliError::Read {
        path: args.plugin.clone(),
        source,
    })?;
    let engine = PolicyEngine::new(None).map_err(CliError::Engine)?;
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
                PolicyEngine::hash(&wasm)
            );
            Ok(true)
        }
        Err(e) => {
            eprintln!("{shown}: {e}");
            Ok(false)
        }
    }
}
