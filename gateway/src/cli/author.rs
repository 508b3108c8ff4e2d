//! `lakegate policy build|deploy|dev`: the inner loop of a plugin crate (as `lakegate policy
//! new` writes one: `Cargo.toml`, `src/`, and `policy/` with the binding and its suites).
//!
//! - `build`: `cargo build --release --target wasm32-wasip2`, the component copied to
//!   `policy/plugins/`, checked (which worlds it implements), then the suites of `policy/` run as
//!   `lakegate policy test` runs them (a suite without a snapshot gets its first one).
//! - `deploy`: build; upload the component as `plugins/<name>-<sha256 prefix>.wasm` (a new file
//!   no binding uses yet, so nothing reloads); ask the gateway for a preview of the binding
//!   rewritten to use it (`POST policies/preview`: what serves now, the gate, the decisions that
//!   change); confirm; `PUT bindings/<binding>.toml`, which the gateway gates again before it
//!   swaps.
//! - `dev`: watch the crate and run build + deploy `--yes` after every change.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::policy::PolicyEngine;
use crate::policy::bindings::{self, BindingError};
use crate::policy::types::PolicyKind;
use crate::s3::list::url_encode;

use super::CliError;
use super::admin_client::{AdminClient, AdminClientError, error_chain};
use super::connection::GatewayArgs;
use super::policy::{Bless, check_component, resolve_at, run_suites};

/// The target plugins are built for.
const TARGET: &str = "wasm32-wasip2";
/// `dev`: how long the crate must be quiet after a change before a round starts.
const DEBOUNCE: Duration = Duration::from_millis(300);
/// The most changed decisions `deploy` prints.
const MAX_ROWS: usize = 50;
/// The widest a column of the decision table gets.
const MAX_COLUMN: usize = 60;

#[derive(clap::Args, Debug)]
pub struct PolicyBuildArgs {
    /// The plugin crate [default: the nearest directory from the current one up with Cargo.toml
    /// and policy/].
    #[arg(long = "crate", value_name = "DIR")]
    krate: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct PolicyDeployArgs {
    /// The plugin crate [default: the nearest directory from the current one up with Cargo.toml
    /// and policy/].
    #[arg(long = "crate", value_name = "DIR")]
    krate: Option<PathBuf>,
    /// Bind this bucket instead of the binding's.
    #[arg(long)]
    bucket: Option<String>,
    /// The binding to deploy, in policy/ [default: the only *.toml there that is not a suite].
    #[arg(long, value_name = "FILE")]
    binding: Option<PathBuf>,
    /// Preview the decisions as of this time: RFC 3339, `YYYY-MM-DD`, ms since the epoch, or
    /// `+N` with `d`, `h` or `m` from now (`+30d`). Only the preview; the gateway's clock is
    /// not touched.
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// Activate without asking (required when stdin is not a terminal).
    #[arg(long)]
    yes: bool,
    /// Deploy even if local suites fail (the gateway's own gate still applies).
    #[arg(long)]
    force: bool,
    /// Deploy the component already in policy/plugins/ instead of building first.
    #[arg(long)]
    no_build: bool,
    #[command(flatten)]
    gateway: GatewayArgs,
}

#[derive(clap::Args, Debug)]
pub struct PolicyDevArgs {
    /// The bucket to bind on every round.
    #[arg(long)]
    bucket: String,
    /// The plugin crate [default: the nearest directory from the current one up with Cargo.toml
    /// and policy/].
    #[arg(long = "crate", value_name = "DIR")]
    krate: Option<PathBuf>,
    /// The binding to deploy, in policy/ [default: the only *.toml there that is not a suite].
    #[arg(long, value_name = "FILE")]
    binding: Option<PathBuf>,
    #[command(flatten)]
    gateway: GatewayArgs,
}

/// `lakegate policy build`: returns whether the build, the check and every suite passed.
pub fn run_build(
    args: &PolicyBuildArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<bool, CliError> {
    let dir = crate_dir(args.krate.as_deref())?;
    Ok(runtime
        .block_on(build(&dir))?
        .is_some_and(|built| built.suites_passed))
}

/// `lakegate policy deploy`: returns whether the new version serves.
pub fn run_deploy(
    args: &PolicyDeployArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<bool, CliError> {
    let dir = crate_dir(args.krate.as_deref())?;
    let opts = DeployOptions {
        dir: &dir,
        bucket: args.bucket.as_deref(),
        binding: args.binding.as_deref(),
        at: args.at.as_deref(),
        yes: args.yes,
        force: args.force,
        build: !args.no_build,
    };
    runtime.block_on(async {
        let client = args.gateway.client().map_err(CliError::Admin)?;
        deploy(&opts, &client, &args.gateway.endpoint).await
    })
}

/// `lakegate policy dev`: runs until Ctrl-C (then returns `true`).
pub fn run_dev(args: &PolicyDevArgs, runtime: &tokio::runtime::Runtime) -> Result<bool, CliError> {
    let dir = crate_dir(args.krate.as_deref())?;
    // Watched paths come back as given: one absolute form for the watches and the filter.
    let dir = std::fs::canonicalize(&dir).map_err(|source| CliError::Read {
        path: dir.clone(),
        source,
    })?;
    runtime.block_on(dev(args, &dir))
}

/// Writes one line to stdout.
fn say(line: impl Display) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// `path` relative to the current directory when it lies under it (shorter to print, and it
/// still names the same file).
fn relative_to_cwd(path: PathBuf) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => match path.strip_prefix(&cwd) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
            _ => path,
        },
        Err(_) => path,
    }
}

/// The first 12 hex digits of a SHA-256.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The plugin crate: `given`, else the nearest directory from the current one up that has a
/// `Cargo.toml` and a `policy/` directory.
fn crate_dir(given: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(dir) = given {
        if !dir.join("Cargo.toml").is_file() {
            return Err(CliError::Usage(format!(
                "--crate {}: no Cargo.toml there",
                dir.display()
            )));
        }
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|source| CliError::Read {
        path: PathBuf::from("."),
        source,
    })?;
    cwd.ancestors()
        .find(|d| d.join("Cargo.toml").is_file() && d.join("policy").is_dir())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no plugin crate here: no directory from {} up has a Cargo.toml and a policy/ directory (pass --crate DIR, or create one with lakegate policy new)",
                cwd.display()
            ))
        })
}

/// What [`build`] made.
struct Built {
    /// The component, in the crate's `policy/plugins/`.
    wasm: PathBuf,
    /// Its bytes.
    bytes: Vec<u8>,
    /// Whether every suite of `policy/` passed.
    suites_passed: bool,
}

/// Builds the crate in `dir`, copies the component to `policy/plugins/`, checks it and runs the
/// suites. `None` when cargo or the check failed (the reason is printed).
async fn build(dir: &Path) -> Result<Option<Built>, CliError> {
    let started = Instant::now();
    let Some(artifact) = cargo_build(dir).await? else {
        return Ok(None);
    };
    let secs = started.elapsed().as_secs_f64();
    let bytes = std::fs::read(&artifact).map_err(|source| CliError::Read {
        path: artifact.clone(),
        source,
    })?;
    let file_name = artifact
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let policy_dir = dir.join("policy");
    let wasm = policy_dir.join("plugins").join(&file_name);
    let write_err = |source| CliError::Write {
        path: wasm.clone(),
        source,
    };
    std::fs::create_dir_all(policy_dir.join("plugins")).map_err(write_err)?;
    crate::local_file::write(&wasm, &[&bytes], 0o644).map_err(write_err)?;
    // Compiling the component and running the suites is blocking CPU work for a moment. It runs
    // on the thread that called `block_on` (the command's own), not on a runtime worker.
    let engine = PolicyEngine::new(None).map_err(CliError::Engine)?;
    let shown = format!("plugins/{file_name}");
    let Some(worlds) = check_component(&engine, &bytes, &shown) else {
        say(format!(
            "FAILED   {shown}: not a usable policy component (see above)"
        ))?;
        return Ok(None);
    };
    let worlds: Vec<&str> = worlds.iter().map(|w| w.as_str()).collect();
    say(format!(
        "built {shown} sha256 {} ({} KiB) in {secs:.1}s, implements {}",
        short(&PolicyEngine::hash(&bytes)),
        bytes.len().div_ceil(1024),
        worlds.join(", ")
    ))?;
    let suites: Vec<PathBuf> = crate::policy::suite::find_suites(&policy_dir)
        .map_err(|source| CliError::Read {
            path: policy_dir.clone(),
            source,
        })?
        .into_iter()
        .map(relative_to_cwd)
        .collect();
    let suites_passed = if suites.is_empty() {
        say(format!("no *.suite.toml files in {}", policy_dir.display()))?;
        true
    } else {
        let mut out = std::io::stdout().lock();
        run_suites(&engine, &suites, Bless::Missing, &mut out)?.failed == 0
    };
    Ok(Some(Built {
        wasm,
        bytes,
        suites_passed,
    }))
}

/// Runs cargo for the component; returns the `.wasm` it made, or `None` (reported) if the
/// build failed. cargo's stderr is passed through; dropping the future kills cargo.
async fn cargo_build(dir: &Path) -> Result<Option<PathBuf>, CliError> {
    // The cargo that runs us (`cargo run`), else the one on the PATH.
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = tokio::process::Command::new(&program);
    cmd.current_dir(dir)
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if std::io::stderr().is_terminal() {
        cmd.arg("--color=always");
    }
    let spawn_err = |source| CliError::Spawn {
        program: program.to_string_lossy().into_owned(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    // stderr (cargo's progress and the rendered diagnostics) goes to ours, watched for the
    // signs of a missing target.
    let diagnostics = async {
        let mut missing_target = false;
        if let Some(stderr) = stderr {
            for_each_line(stderr, |line| {
                eprintln!("{line}");
                missing_target |= mentions_missing_target(&strip_ansi(line));
            })
            .await;
        }
        missing_target
    };
    // stdout: cargo's JSON messages; the artifacts name the component.
    let messages = async {
        let mut artifact = None;
        if let Some(stdout) = stdout {
            for_each_line(stdout, |line| match serde_json::from_str::<Value>(line) {
                Ok(message) => {
                    if let Some(wasm) = wasm_artifact(&message) {
                        artifact = Some(wasm);
                    }
                }
                // Not JSON (a build script printing to stdout): show it.
                Err(_) => eprintln!("{line}"),
            })
            .await;
        }
        artifact
    };
    let (missing_target, artifact, status) = tokio::join!(diagnostics, messages, child.wait());
    let status = status.map_err(spawn_err)?;
    if !status.success() {
        if missing_target {
            eprintln!("run: rustup target add {TARGET}");
        }
        say(format!(
            "FAILED   cargo build --release --target {TARGET} in {} ({status})",
            dir.display()
        ))?;
        return Ok(None);
    }
    if artifact.is_none() {
        say(format!(
            "FAILED   cargo built no .wasm in {}: is crate-type = [\"cdylib\"] set in [lib] of Cargo.toml?",
            dir.display()
        ))?;
    }
    Ok(artifact)
}

/// Calls `f` with each line of `reader` (without its line end; invalid UTF-8 replaced) until
/// the end or a read error.
async fn for_each_line(reader: impl AsyncRead + Unpin, mut f: impl FnMut(&str)) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                f(line.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

/// The `.wasm` file of a `compiler-artifact` message for a cdylib.
fn wasm_artifact(message: &Value) -> Option<PathBuf> {
    if message["reason"].as_str() != Some("compiler-artifact") {
        return None;
    }
    let cdylib = message["target"]["kind"]
        .as_array()?
        .iter()
        .any(|k| k.as_str() == Some("cdylib"));
    if !cdylib {
        return None;
    }
    message["filenames"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|f| f.ends_with(".wasm"))
        .map(PathBuf::from)
}

/// Whether a line of cargo's or rustc's output says the target's standard library is missing.
fn mentions_missing_target(line: &str) -> bool {
    line.contains("target may not be installed")
        || line.contains("can't find crate for `core`")
        || line.contains("can't find crate for `std`")
}

/// `line` without ANSI escape sequences (colours): CSI sequences (`ESC [` parameters, then a
/// final byte from `@` to `~`) and two-character escapes.
fn strip_ansi(line: &str) -> String {
    enum State {
        Text,
        Escape,
        Csi,
    }
    let mut out = String::with_capacity(line.len());
    let mut state = State::Text;
    for c in line.chars() {
        state = match (state, c) {
            (State::Text, '\x1b') => State::Escape,
            (State::Text, c) => {
                out.push(c);
                State::Text
            }
            (State::Escape, '[') => State::Csi,
            (State::Escape, _) => State::Text,
            (State::Csi, c) if ('@'..='~').contains(&c) => State::Text,
            (State::Csi, _) => State::Csi,
        };
    }
    out
}

/// The binding to deploy: `given` (as a path, else relative to `policy_dir`), else the only
/// binding file in `policy_dir`.
fn find_binding(policy_dir: &Path, given: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(b) = given {
        return Ok(if b.is_file() {
            b.to_path_buf()
        } else {
            policy_dir.join(b)
        });
    }
    let found = bindings::scan(policy_dir).map_err(|source| CliError::Read {
        path: policy_dir.to_path_buf(),
        source,
    })?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(CliError::Usage(format!(
            "no binding (*.toml that is not a *.suite.toml) in {}",
            policy_dir.display()
        ))),
        many => {
            let names: Vec<String> = many
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            Err(CliError::Usage(format!(
                "{} bindings in {} ({}): pick one with --binding FILE",
                many.len(),
                policy_dir.display(),
                names.join(", ")
            )))
        }
    }
}

/// Binding `text` (of `file`) with its `plugin` value, and `bucket` if given, replaced; the
/// rest (comments, layout, tables) is kept as written. The result is parsed to prove it says
/// exactly that.
fn rewrite_binding(
    file: &Path,
    text: &str,
    plugin: &str,
    bucket: Option<&str>,
) -> Result<String, CliError> {
    #[derive(serde::Deserialize)]
    struct Values {
        plugin: toml::Spanned<String>,
        bucket: toml::Spanned<String>,
    }
    let values: Values = toml::from_str(text)
        .map_err(|e| CliError::Usage(BindingError::toml(file, text, &e).to_string()))?;
    let mut edits = vec![(values.plugin.span(), plugin)];
    if let Some(b) = bucket {
        edits.push((values.bucket.span(), b));
    }
    // Back to front, so that the earlier spans stay valid.
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_string();
    for (span, value) in edits {
        let Some(old) = out.get(span.clone()) else {
            return Err(CliError::Usage(format!(
                "{}: cannot locate the value to rewrite",
                file.display()
            )));
        };
        // The span of a string value holds its quotes; the new value is a basic string.
        let new = if old.starts_with(['"', '\'']) {
            format!("\"{value}\"")
        } else {
            value.to_string()
        };
        out.replace_range(span, &new);
    }
    let parsed = bindings::parse(file, &out)
        .map_err(|e| CliError::Usage(format!("{}: the rewritten binding: {e}", file.display())))?;
    if parsed.plugin_raw != plugin || bucket.is_some_and(|b| parsed.bucket != b) {
        return Err(CliError::Usage(format!(
            "{}: cannot rewrite its plugin (and bucket) line",
            file.display()
        )));
    }
    Ok(out)
}

/// What `deploy` does (the flags, or `dev`'s fixed choices).
struct DeployOptions<'a> {
    dir: &'a Path,
    bucket: Option<&'a str>,
    binding: Option<&'a Path>,
    at: Option<&'a str>,
    yes: bool,
    force: bool,
    build: bool,
}

/// Builds (unless told not to), uploads, previews, confirms and activates; returns whether the
/// new version serves. Refusals (a failed build or suite, the gate, the gateway) are printed as
/// `not deployed: ...` and return `false`.
async fn deploy(
    opts: &DeployOptions<'_>,
    client: &AdminClient,
    endpoint: &str,
) -> Result<bool, CliError> {
    let policy_dir = opts.dir.join("policy");
    let binding_file = find_binding(&policy_dir, opts.binding)?;
    let text = bindings::read_text(&binding_file)
        .map_err(|e| CliError::Usage(format!("{}: cannot read: {e}", binding_file.display())))?;
    let binding =
        bindings::parse(&binding_file, &text).map_err(|e| CliError::Usage(e.to_string()))?;
    let file_name = binding_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(b) = opts.bucket
        && crate::store::check_bucket_name(b).is_err()
    {
        return Err(CliError::Usage(format!(
            "--bucket {b:?} is not a valid bucket name"
        )));
    }
    let bucket = opts.bucket.unwrap_or(&binding.bucket).to_string();
    let kind = binding.kind;
    // Refused before anything is built or uploaded.
    if !opts.yes && !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "not a terminal: pass --yes to deploy without confirmation".into(),
        ));
    }

    // 1. The component.
    let (local, bytes) = if opts.build {
        let Some(built) = build(opts.dir).await? else {
            say("not deployed: the build failed")?;
            return Ok(false);
        };
        if !built.suites_passed {
            if !opts.force {
                say("suites failed; not deployed (--force to deploy anyway)")?;
                return Ok(false);
            }
            say("suites failed; deploying anyway (--force)")?;
        }
        (built.wasm, built.bytes)
    } else {
        if crate::policy::builtin::marker_name(&binding.plugin).is_some() {
            return Err(CliError::Usage(format!(
                "{file_name} uses the embedded plugin {}: nothing to upload",
                binding.plugin_raw
            )));
        }
        let bytes = std::fs::read(&binding.plugin).map_err(|source| CliError::Read {
            path: binding.plugin.clone(),
            source,
        })?;
        (binding.plugin.clone(), bytes)
    };
    let hash = PolicyEngine::hash(&bytes);
    let short_hash = short(&hash).to_string();

    // 2. Upload under a name of its own: no binding uses it yet, nothing reloads.
    let stem = local
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let upload_name = format!("{stem}-{short_hash}");
    if !bindings::is_safe_name(&upload_name) {
        return Err(CliError::Usage(format!(
            "{}: the plugin's file name may hold only letters, digits, '.', '_' and '-'",
            local.display()
        )));
    }
    let plugin = format!("plugins/{upload_name}.wasm");
    say(format!("gateway: {endpoint}"))?;
    if let Err(e) = client.call("PUT", &plugin, bytes).await {
        return refused(e, &format!("uploading {plugin}"));
    }
    say(format!("uploaded {plugin}"))?;

    // 3. The binding as it will be installed, and the gateway's preview of it.
    let candidate = rewrite_binding(&binding_file, &text, &plugin, opts.bucket)?;
    let mut route = format!(
        "policies/preview?name={}&bucket={}",
        url_encode(&file_name),
        url_encode(&bucket)
    );
    if let Some(at) = opts.at {
        let at = resolve_at(at, chrono::Utc::now())?;
        route.push_str("&at=");
        route.push_str(&url_encode(&at));
    }
    let preview = match client
        .call_with_status("POST", &route, candidate.clone().into_bytes())
        .await
    {
        Ok((200, preview)) => preview,
        Ok((status, answer)) => {
            say(format!(
                "not deployed: the gateway refused the preview ({status}): {}",
                answer["error"].as_str().unwrap_or("no reason given")
            ))?;
            return Ok(false);
        }
        Err(e) => return refused(e, "the preview"),
    };
    {
        let mut out = std::io::stdout().lock();
        print_preview(&preview, &bucket, kind, &mut out)?;
        out.flush()?;
    }
    if preview["gate"]["passed"].as_bool() != Some(true) {
        let why = preview["gate"]["refusal"]
            .as_str()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        say(format!("not deployed: the candidate failed the gate{why}"))?;
        if opts.force {
            say(
                "(--force does not apply: the gateway refuses to activate a candidate that fails its gate)",
            )?;
        }
        return Ok(false);
    }

    // 4. Confirmation.
    if !opts.yes && !confirm(&format!("activate {short_hash} on {bucket}? [y/N] "))? {
        say("not deployed: not confirmed")?;
        return Ok(false);
    }

    // 5. Activation: the gateway gates the binding again and swaps only if it passes.
    let (status, answer) = match client
        .call_with_status(
            "PUT",
            &format!("bindings/{file_name}"),
            candidate.into_bytes(),
        )
        .await
    {
        Ok(answer) => answer,
        Err(e) => return refused(e, &format!("installing bindings/{file_name}")),
    };
    let state = answer["state"].as_str().unwrap_or("unknown");
    let serving = answer["plugin_hash"].as_str().unwrap_or("");
    if status == 200 && state == "active" && serving == hash {
        let was = match preview["serving"]["plugin_hash"].as_str() {
            Some(h) => short(h).to_string(),
            None => "new".to_string(),
        };
        say(format!(
            "deployed {file_name}: {bucket} {kind} {short_hash} active (was {was})"
        ))?;
        return Ok(true);
    }
    let gate = if answer["refused_hash"].as_str() == Some(hash.as_str()) {
        "the candidate failed the gate: "
    } else {
        ""
    };
    let why = answer["error"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "the gateway answered {status}: state {state}, serving {}",
                if serving.is_empty() {
                    "nothing"
                } else {
                    short(serving)
                }
            )
        });
    say(format!("not deployed: {gate}{why}"))?;
    Ok(false)
}

/// A gateway's refusal (`not deployed: ...`, `false`); anything else (unreachable, bad
/// credentials' transport) is an error.
fn refused(e: AdminClientError, what: &str) -> Result<bool, CliError> {
    match e {
        AdminClientError::Status { status, message } => {
            say(format!(
                "not deployed: {what}: the gateway answered {status}: {message}"
            ))?;
            Ok(false)
        }
        other => Err(CliError::Admin(other)),
    }
}

/// Asks `question` on the terminal; whether the answer is yes.
fn confirm(question: &str) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "not a terminal: pass --yes to deploy without confirmation".into(),
        ));
    }
    let mut out = std::io::stdout().lock();
    write!(out, "{question}")?;
    out.flush()?;
    drop(out);
    // Blocks the thread that called `block_on` (the command's own) until the user answers.
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Prints a `POST policies/preview` answer: what serves, the candidate, the gate, and the
/// decisions that change.
fn print_preview(
    p: &Value,
    bucket: &str,
    kind: PolicyKind,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    match p.get("serving").filter(|s| !s.is_null()) {
        Some(s) => writeln!(
            out,
            "serving: {} {} {}",
            text(&s["file"]),
            short(s["plugin_hash"].as_str().unwrap_or("-")),
            text(&s["state"])
        )?,
        None => writeln!(out, "serving: nothing for {bucket} {kind}")?,
    }
    writeln!(
        out,
        "candidate: {}",
        short(p["candidate"]["plugin_hash"].as_str().unwrap_or("-"))
    )?;
    let gate = &p["gate"];
    let suites = gate["suites"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let count = |outcome: &str| suites.iter().filter(|s| s["outcome"] == outcome).count();
    let mut suites_text = format!("suites {} passed", count("pass"));
    for outcome in ["changed", "missing", "error"] {
        let n = count(outcome);
        if n > 0 {
            suites_text.push_str(&format!(", {n} {outcome}"));
        }
    }
    let canary = &gate["canary"];
    let canary_text = match (canary["error"].as_str(), canary["skipped"].as_str()) {
        (Some(e), _) => format!("REFUSED: {e}"),
        (None, Some(why)) => format!("skipped ({why})"),
        (None, None) => "ok".to_string(),
    };
    writeln!(
        out,
        "gate: {suites_text} / canary sampled {} objects: {canary_text}",
        canary["sampled"].as_u64().unwrap_or(0)
    )?;
    for s in suites.iter().filter(|s| s["outcome"] != "pass") {
        let detail = s["detail"].as_str().unwrap_or("");
        writeln!(
            out,
            "  {} {}{}{detail}",
            text(&s["outcome"]),
            text(&s["suite"]),
            if detail.is_empty() { "" } else { ": " }
        )?;
    }
    let changes = p["changes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let summary = &p["summary"];
    writeln!(
        out,
        "decisions that change ({} of {} evaluated):{}",
        summary["changed"].as_u64().unwrap_or(changes.len() as u64),
        summary["evaluated"].as_u64().unwrap_or(0),
        if changes.is_empty() { " none" } else { "" }
    )?;
    if !changes.is_empty() {
        let rows: Vec<[String; 3]> = changes
            .iter()
            .take(MAX_ROWS)
            .map(|c| {
                [
                    text(&c["key"]),
                    text(&c["version_id"]),
                    format!("{} -> {}", text(&c["serving"]), text(&c["candidate"])),
                ]
            })
            .collect();
        let headers = ["KEY", "VERSION", "SERVING -> CANDIDATE"];
        let mut widths = headers.map(str::len);
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count()).min(MAX_COLUMN);
            }
        }
        writeln!(
            out,
            "{:<w0$}  {:<w1$}  {}",
            headers[0],
            headers[1],
            headers[2],
            w0 = widths[0],
            w1 = widths[1]
        )?;
        for [key, version, change] in &rows {
            writeln!(
                out,
                "{key:<w0$}  {version:<w1$}  {change}",
                w0 = widths[0],
                w1 = widths[1]
            )?;
        }
        if changes.len() > MAX_ROWS {
            writeln!(out, "... {} more", changes.len() - MAX_ROWS)?;
        }
        if p["changes_truncated"].as_bool() == Some(true) {
            writeln!(
                out,
                "... (the gateway lists the first {}; the counts are complete)",
                changes.len()
            )?;
        }
    }
    if let Some(note) = p["note"].as_str() {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

/// `lakegate policy dev`: a round at the start and after every change, until Ctrl-C.
async fn dev(args: &PolicyDevArgs, dir: &Path) -> Result<bool, CliError> {
    use notify::{RecursiveMode, Watcher};
    let client = args.gateway.client()?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(move |ev| {
        let _ = tx.send(ev);
    })
    .map_err(|source| CliError::Watch {
        path: dir.to_path_buf(),
        source,
    })?;
    // The crate's top level (for Cargo.toml: editors replace files, so the file itself is not
    // watched), src/ and policy/ (not policy/plugins/, which the build writes).
    for (path, mode) in [
        (dir.to_path_buf(), RecursiveMode::NonRecursive),
        (dir.join("src"), RecursiveMode::Recursive),
        (dir.join("policy"), RecursiveMode::NonRecursive),
    ] {
        watcher
            .watch(&path, mode)
            .map_err(|source| CliError::Watch { path, source })?;
    }
    let opts = DeployOptions {
        dir,
        bucket: Some(args.bucket.as_str()),
        binding: args.binding.as_deref(),
        at: None,
        yes: true,
        force: false,
        build: true,
    };
    let endpoint = args.gateway.endpoint.as_str();
    say(format!("watching {} (Ctrl-C to stop)", dir.display()))?;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        // A round; Ctrl-C drops it (and with it cargo).
        tokio::select! {
            _ = &mut ctrl_c => break,
            round = deploy(&opts, &client, endpoint) => {
                if let Err(e) = round {
                    eprintln!("error: {}", error_chain(&e));
                }
            }
        }
        say(format!(
            "watching {} for changes (Ctrl-C to stop)",
            dir.display()
        ))?;
        // A change to a source, a manifest or a binding or suite ...
        let changed = loop {
            tokio::select! {
                _ = &mut ctrl_c => return Ok(true),
                ev = rx.recv() => match ev {
                    Some(ev) => {
                        if let Some(path) = relevant_change(dir, &ev) {
                            break path;
                        }
                    }
                    None => return Ok(true),
                },
            }
        };
        // ... then a quiet period.
        loop {
            tokio::select! {
                _ = &mut ctrl_c => return Ok(true),
                ev = tokio::time::timeout(DEBOUNCE, rx.recv()) => match ev {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                },
            }
        }
        say(format!("changed: {}", changed.display()))?;
    }
    Ok(true)
}

/// The changed path of `ev` that calls for a round (relative to the crate), if any: a `.rs`
/// file under `src/`, `Cargo.toml`, a `*.toml` directly in `policy/`. Hidden files (editor
/// swap files) and reads are ignored; a watcher error counts as a change.
fn relevant_change(dir: &Path, ev: &notify::Result<notify::Event>) -> Option<PathBuf> {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode};
    let ev = match ev {
        Ok(ev) => ev,
        Err(_) => return Some(dir.to_path_buf()),
    };
    if let EventKind::Access(access) = &ev.kind
        && *access != AccessKind::Close(AccessMode::Write)
    {
        return None;
    }
    let src = dir.join("src");
    let policy = dir.join("policy");
    ev.paths
        .iter()
        .find(|p| {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                return false;
            };
            if name.starts_with('.') {
                return false;
            }
            if p.starts_with(&src) {
                return name.ends_with(".rs");
            }
            match p.parent() {
                Some(parent) if parent == dir => name == "Cargo.toml",
                Some(parent) if parent == policy.as_path() => name.ends_with(".toml"),
                _ => false,
            }
        })
        .map(|p| p.strip_prefix(dir).unwrap_or(p.as_path()).to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BINDING: &str = r#"# ttl: expire tmp/ after a day.
bucket = "bronze"   # the bucket
kind = "lifecycle"
# plugin = "not this one"
plugin = "plugins/ttl.wasm"   # the local build

[config]
prefix = "tmp/"
plugin = "a config field, not the binding's plugin"
days = 1
"#;

    #[test]
    fn rewrites_the_plugin_and_bucket_values_only() {
        let file = Path::new("/p/ttl.toml");
        let out = rewrite_binding(file, BINDING, "plugins/ttl-0123456789ab.wasm", None).unwrap();
        assert_eq!(
            out,
            BINDING.replace(
                "plugin = \"plugins/ttl.wasm\"",
                "plugin = \"plugins/ttl-0123456789ab.wasm\""
            )
        );
        let out = rewrite_binding(
            file,
            BINDING,
            "plugins/ttl-0123456789ab.wasm",
            Some("silver"),
        )
        .unwrap();
        let b = bindings::parse(file, &out).unwrap();
        assert_eq!(
            (b.bucket.as_str(), b.plugin_raw.as_str()),
            ("silver", "plugins/ttl-0123456789ab.wasm")
        );
        assert!(
            out.contains("bucket = \"silver\"   # the bucket\n"),
            "{out}"
        );
        assert!(out.contains("# plugin = \"not this one\"\n"), "{out}");
        assert!(
            out.contains("plugin = \"a config field, not the binding's plugin\""),
            "{out}"
        );
        // Literal strings too.
        let literal = BINDING.replace("\"plugins/ttl.wasm\"", "'plugins/ttl.wasm'");
        let out = rewrite_binding(file, &literal, "plugins/x-1.wasm", None).unwrap();
        let b = bindings::parse(file, &out).unwrap();
        assert_eq!(b.plugin_raw, "plugins/x-1.wasm");
        assert!(
            out.contains("x-1.wasm'   # the local build\n")
                || out.contains("x-1.wasm\"   # the local build\n"),
            "{out}"
        );
        // Not a binding: the parser's error.
        let e = rewrite_binding(file, "bucket = \"b\"\n", "plugins/x.wasm", None).unwrap_err();
        assert!(e.to_string().contains("plugin"), "{e}");
    }

    #[test]
    fn finds_the_wasm_artifact_in_cargo_messages() {
        let artifact: Value = serde_json::json!({
            "reason": "compiler-artifact",
            "target": {"kind": ["cdylib"], "name": "ttl"},
            "filenames": ["/t/wasm32-wasip2/release/ttl.wasm"],
        });
        assert_eq!(
            wasm_artifact(&artifact),
            Some(PathBuf::from("/t/wasm32-wasip2/release/ttl.wasm"))
        );
        let dependency = serde_json::json!({
            "reason": "compiler-artifact",
            "target": {"kind": ["lib"], "name": "serde"},
            "filenames": ["/t/wasm32-wasip2/release/deps/libserde.rlib"],
        });
        assert_eq!(wasm_artifact(&dependency), None);
        let finished = serde_json::json!({"reason": "build-finished", "success": true});
        assert_eq!(wasm_artifact(&finished), None);
    }

    #[test]
    fn recognizes_a_missing_target() {
        let line = "\x1b[0m\x1b[1m\x1b[38;5;9merror[E0463]\x1b[0m\x1b[0m\x1b[1m: can't find crate for `core`\x1b[0m";
        assert_eq!(
            strip_ansi(line),
            "error[E0463]: can't find crate for `core`"
        );
        assert!(mentions_missing_target(&strip_ansi(line)));
        assert!(mentions_missing_target(
            "  = note: the `wasm32-wasip2` target may not be installed"
        ));
        assert!(!mentions_missing_target("error[E0308]: mismatched types"));
    }

    #[test]
    fn finds_the_one_binding() {
        let dir = std::env::temp_dir().join(format!("lakegate-author-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(find_binding(&dir, None).is_err());
        std::fs::write(dir.join("ttl.toml"), BINDING).unwrap();
        std::fs::write(dir.join("ttl.suite.toml"), "").unwrap();
        assert_eq!(find_binding(&dir, None).unwrap(), dir.join("ttl.toml"));
        std::fs::write(dir.join("other.toml"), BINDING).unwrap();
        let e = find_binding(&dir, None).unwrap_err();
        assert!(e.to_string().contains("--binding"), "{e}");
        assert_eq!(
            find_binding(&dir, Some(Path::new("other.toml"))).unwrap(),
            dir.join("other.toml")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn watches_sources_manifest_and_bindings_only() {
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
        use notify::{Event, EventKind};
        let dir = Path::new("/c");
        let modified = |p: &str| -> notify::Result<Event> {
            Ok(Event::new(EventKind::Modify(ModifyKind::Any)).add_path(PathBuf::from(p)))
        };
        for (path, relevant) in [
            ("/c/src/lib.rs", true),
            ("/c/src/rules/mod.rs", true),
            ("/c/Cargo.toml", true),
            ("/c/policy/ttl.toml", true),
            ("/c/policy/ttl.suite.toml", true),
            ("/c/policy/ttl.snap", false),
            ("/c/policy/plugins/ttl.wasm", false),
            ("/c/Cargo.lock", false),
            ("/c/target/release/ttl.wasm", false),
            ("/c/src/.lib.rs.swp", false),
            ("/c/README.md", false),
        ] {
            assert_eq!(
                relevant_change(dir, &modified(path)).is_some(),
                relevant,
                "{path}"
            );
        }
        assert_eq!(
            relevant_change(dir, &modified("/c/src/lib.rs")),
            Some(PathBuf::from("src/lib.rs"))
        );
        let read: notify::Result<Event> = Ok(Event::new(EventKind::Access(AccessKind::Open(
            notify::event::AccessMode::Any,
        )))
        .add_path(PathBuf::from("/c/src/lib.rs")));
        assert_eq!(relevant_change(dir, &read), None);
        let saved: notify::Result<Event> = Ok(Event::new(EventKind::Access(AccessKind::Close(
            AccessMode::Write,
        )))
        .add_path(PathBuf::from("/c/src/lib.rs")));
        assert!(relevant_change(dir, &saved).is_some());
        let created: notify::Result<Event> = Ok(Event::new(EventKind::Create(CreateKind::File))
            .add_path(PathBuf::from("/c/src/new.rs")));
        assert!(relevant_change(dir, &created).is_some());
    }
}
