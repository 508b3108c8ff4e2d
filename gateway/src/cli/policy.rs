//! `lakegate policy test|check|dry-run|status`: the snapshot suites and plugin checks run
//! offline (through the real policy host, no gateway needed); the dry run and the status ask a
//! running gateway through its admin API (signed by the CLI: no author signs a request).
//!
//! The authoring commands live beside: `new` in [`super::scaffold`], `build`, `deploy` and `dev`
//! in [`super::author`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use crate::policy::PolicyEngine;
use crate::policy::types::PolicyKind;

use super::CliError;
use super::author::{PolicyBuildArgs, PolicyDeployArgs, PolicyDevArgs};
use super::connection::GatewayArgs;
use super::scaffold::PolicyNewArgs;

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Run snapshot suites: every `*.suite.toml` under DIR, each against its `<name>.snap`.
    ///
    /// Each suite loads its plugin through the real policy host, feeds it the suite's fixed
    /// scenario (objects, uploads, events) at the suite's fixed `now`, and renders the decisions.
    /// Prints `ok` or `FAILED` per suite, with a unified diff of the stored snapshot against the
    /// new rendering; exits with status 1 if any suite failed. `--bless` writes the new
    /// renderings as the snapshots instead. A suite whose plugin is older than the sources of
    /// the crate that builds it (`Cargo.toml`, `src/**/*.rs`) gets a warning on stderr.
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
    /// Create a plugin crate: a policy of the given kind that compiles, its binding, a suite,
    /// and the SDK vendored from this gateway.
    ///
    /// Writes NAME/ (or --dir): Cargo.toml, src/lib.rs (the policy and native unit tests),
    /// policy/NAME.toml (the binding, for --bucket), policy/NAME.suite.toml, README.md and
    /// vendor/lakegate-sdk/. Refuses a directory that exists and is not empty.
    New(PolicyNewArgs),
    /// Compile the plugin crate to a component, check it, and run its suites.
    ///
    /// Runs `cargo build --release --target wasm32-wasip2` in the crate (the nearest directory
    /// from here up with Cargo.toml and policy/, or --crate), copies the component to
    /// policy/plugins/, checks which worlds it implements, and runs the suites in policy/ as
    /// `test` does; a suite without a snapshot gets its first one written. Exits with status 1
    /// if the build, the check or a suite fails.
    Build(PolicyBuildArgs),
    /// Build, upload and activate the plugin crate's binding on a running gateway.
    ///
    /// Builds (unless --no-build) and refuses failing suites (unless --force); uploads the
    /// component under a hash-named file (plugins/NAME-<sha256 prefix>.wasm); asks the gateway
    /// for a preview (what serves now, the gate the candidate must pass, the decisions that
    /// would change); asks for confirmation (unless --yes; without a terminal --yes is
    /// required); then installs the binding, pointing at the uploaded file. Exits with status 1
    /// if anything refuses it: the gateway keeps serving the previous version.
    Deploy(PolicyDeployArgs),
    /// Rebuild and redeploy the plugin crate on every change, with the preview of each round.
    ///
    /// Watches src/, Cargo.toml and the policy/*.toml files of the crate; each change (after a
    /// 300 ms quiet period), and once at the start: build, suites, deploy --yes to --bucket.
    /// Failures are printed and the watch goes on; Ctrl-C stops it.
    Dev(PolicyDevArgs),
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
        PolicyCommand::New(args) => {
            super::scaffold::run_new(&args)?;
            true
        }
        PolicyCommand::Build(args) => super::author::run_build(&args, runtime)?,
        PolicyCommand::Deploy(args) => super::author::run_deploy(&args, runtime)?,
        PolicyCommand::Dev(args) => super::author::run_dev(&args, runtime)?,
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--at`: `+N{d,h,m}` from now becomes ms since the epoch; anything else goes to the gateway
/// as written (it reads RFC 3339, `YYYY-MM-DD` and ms).
pub(super) fn resolve_at(at: &str, now: chrono::DateTime<chrono::Utc>) -> Result<String, CliError> {
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
    // What the gate refused and what rolled back, below the table.
    for b in answer["bindings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if args
            .bucket
            .as_deref()
            .is_some_and(|want| b["bucket"] != want)
        {
            continue;
        }
        let file = b["file"].as_str().unwrap_or("?");
        let short = |v: &serde_json::Value| {
            let h = v.as_str().unwrap_or("-");
            h[..h.len().min(12)].to_string()
        };
        if !b["refused_hash"].is_null() {
            writeln!(
                out,
                "{file}: the gate refused {} (the serving version stays): {}",
                short(&b["refused_hash"]),
                b["error"].as_str().unwrap_or("-")
            )?;
        }
        let rb = &b["rolled_back"];
        if !rb.is_null() {
            writeln!(
                out,
                "{file}: rolled back from {} to {} at {}: {}",
                short(&rb["from"]),
                short(&rb["to"]),
                rb["at"].as_str().unwrap_or("?"),
                rb["reason"].as_str().unwrap_or("-")
            )?;
        }
    }
    Ok(())
}

/// `lakegate policy test`: returns whether every suite passed.
fn test(args: &PolicyTestArgs) -> Result<bool, CliError> {
    let files = crate::policy::suite::find_suites(&args.dir).map_err(|source| CliError::Read {
        path: args.dir.clone(),
        source,
    })?;
    let mut out = std::io::stdout().lock();
    if files.is_empty() {
        writeln!(out, "no *.suite.toml files under {}", args.dir.display())?;
        return Ok(true);
    }
    let engine = PolicyEngine::new(None).map_err(CliError::Engine)?;
    let bless = if args.bless { Bless::All } else { Bless::Never };
    let run = run_suites(&engine, &files, bless, &mut out)?;
    Ok(run.failed == 0)
}

/// Which snapshots [`run_suites`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bless {
    /// None: a missing or different snapshot fails the suite.
    Never,
    /// Only missing ones (a plugin crate's first build), and only renderings without a failed
    /// call; a different snapshot still fails the suite.
    Missing,
    /// Every missing or different one (`--bless`).
    All,
}

/// How a run of suites went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct SuitesRun {
    pub passed: usize,
    pub failed: usize,
    /// Snapshots written.
    pub blessed: usize,
}

/// Runs suite `files` against their snapshots as `lakegate policy test` does: one line per
/// suite on `out` (`ok`, `blessed`, `wrote first snapshot`, `FAILED`) with its diff, then the
/// counts. Before each suite, warns (on stderr) when its plugin is older than the sources of
/// the crate that builds it.
pub(super) fn run_suites(
    engine: &PolicyEngine,
    files: &[PathBuf],
    bless: Bless,
    out: &mut dyn Write,
) -> Result<SuitesRun, CliError> {
    use crate::policy::suite::{self, Outcome};
    let mut run = SuitesRun::default();
    for file in files {
        let shown = file.display();
        let loaded = suite::load(file).ok();
        if let Some(s) = &loaded
            && let Some(warning) = stale_plugin_warning(s)
        {
            out.flush()?;
            eprintln!("{warning}");
        }
        let first =
            bless == Bless::Missing && loaded.as_ref().is_some_and(|s| !s.snapshot_path().exists());
        let (_, mut outcome) = suite::check(engine, file, bless == Bless::All);
        // A first snapshot records decisions, never a failed call.
        let write_first =
            first && matches!(&outcome, Outcome::Missing { actual } if !has_failed_call(actual));
        if write_first {
            outcome = suite::check(engine, file, true).1;
        }
        match &outcome {
            Outcome::Ok => writeln!(out, "ok       {shown}")?,
            Outcome::Blessed { diff } if first => {
                let snap = loaded
                    .as_ref()
                    .map(|s| s.snapshot_path().display().to_string())
                    .unwrap_or_default();
                writeln!(out, "wrote first snapshot {snap}")?;
                write!(out, "{diff}")?;
            }
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
            Outcome::Missing { actual } if first => {
                writeln!(
                    out,
                    "FAILED   {shown}: no snapshot yet, and a plugin call failed (nothing written):"
                )?;
                for line in actual.lines() {
                    writeln!(out, "+{line}")?;
                }
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
            Outcome::Ok => run.passed += 1,
            Outcome::Blessed { .. } => run.blessed += 1,
            _ => run.failed += 1,
        }
    }
    let blessed = match bless {
        Bless::All => format!(", {} blessed", run.blessed),
        Bless::Missing if run.blessed > 0 => {
            format!(", {} first snapshots written", run.blessed)
        }
        _ => String::new(),
    };
    writeln!(
        out,
        "\n{} suites: {} ok, {} failed{blessed}",
        files.len(),
        run.passed,
        run.failed
    )?;
    out.flush()?;
    Ok(run)
}

/// Whether a suite's rendering records a failed plugin call (`error: ...`).
fn has_failed_call(rendered: &str) -> bool {
    rendered
        .lines()
        .any(|l| l.trim_start().starts_with("error:") || l.contains(" -> error: "))
}

/// `warning: plugins/X.wasm is older than src/lib.rs; run lakegate policy build`, when the
/// suite's plugin file is built by a crate (the nearest directory with `Cargo.toml` and `src/`
/// above the plugin, else above the suite) whose `Cargo.toml` or `src/**/*.rs` changed after
/// the plugin was written.
fn stale_plugin_warning(suite: &crate::policy::suite::Suite) -> Option<String> {
    fn is_crate(dir: &Path) -> bool {
        dir.join("Cargo.toml").is_file() && dir.join("src").is_dir()
    }
    fn relative(path: &Path, base: &Path) -> PathBuf {
        path.strip_prefix(base)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }
    if crate::policy::builtin::marker_name(&suite.plugin).is_some() {
        return None;
    }
    let built = std::fs::metadata(&suite.plugin).ok()?.modified().ok()?;
    let krate = suite
        .plugin
        .ancestors()
        .skip(1)
        .find(|d| is_crate(d))
        .or_else(|| suite.file.ancestors().skip(1).find(|d| is_crate(d)))?;
    let (newest, changed) = newest_source(krate)?;
    if changed <= built {
        return None;
    }
    let suite_dir = suite.file.parent().unwrap_or(Path::new(""));
    Some(format!(
        "warning: {} is older than {}; run lakegate policy build",
        relative(&suite.plugin, suite_dir).display(),
        relative(&newest, krate).display()
    ))
}

/// The most recently modified of a crate's `Cargo.toml` and `src/**/*.rs`, and when.
fn newest_source(krate: &Path) -> Option<(PathBuf, SystemTime)> {
    fn mtime(path: &Path) -> Option<SystemTime> {
        std::fs::metadata(path).and_then(|m| m.modified()).ok()
    }
    let manifest = krate.join("Cargo.toml");
    let mut newest = mtime(&manifest).map(|t| (manifest, t));
    let mut stack = vec![krate.join("src")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            match entry.file_type() {
                Ok(t) if t.is_dir() && !hidden => stack.push(path),
                Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "rs") => {
                    if let Some(t) = mtime(&path)
                        && newest.as_ref().is_none_or(|(_, n)| t > *n)
                    {
                        newest = Some((path, t));
                    }
                }
                _ => {}
            }
        }
    }
    newest
}

/// `lakegate policy check`: returns whether the file is a usable plugin.
fn check(args: &PolicyCheckArgs) -> Result<bool, CliError> {
    let wasm = std::fs::read(&args.plugin).map_err(|source| CliError::Read {
        path: args.plugin.clone(),
        source,
    })?;
    let engine = PolicyEngine::new(None).map_err(CliError::Engine)?;
    let shown = args.plugin.display().to_string();
    let Some(worlds) = check_component(&engine, &wasm, &shown) else {
        return Ok(false);
    };
    let names: Vec<&str> = worlds.iter().map(|w| w.as_str()).collect();
    println!(
        "{shown}: implements {} (sha256 {})",
        names.join(", "),
        PolicyEngine::hash(&wasm)
    );
    Ok(true)
}

/// Which policy worlds component `wasm` implements; `None` (with the reason on stderr, for
/// `shown`) if it implements none or cannot be used at all.
pub(super) fn check_component(
    engine: &PolicyEngine,
    wasm: &[u8],
    shown: &str,
) -> Option<Vec<PolicyKind>> {
    match engine.check(wasm) {
        Ok(worlds) if worlds.is_empty() => {
            eprintln!(
                "{shown}: the component implements none of the lakegate:policy worlds (retention, lifecycle, backup)"
            );
            None
        }
        Ok(worlds) => Some(worlds),
        Err(e) => {
            eprintln!("{shown}: {e}");
            None
        }
    }
}
