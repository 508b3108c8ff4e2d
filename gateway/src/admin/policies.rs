//! Policy routes: every binding's status, uploads of plugins and bindings, unbinding.
//!
//! Names are `[A-Za-z0-9._-]+`, never starting with a dot, so nothing escapes the policies
//! directory. A binding upload is refused (`400`, nothing written) if it does not parse, or if
//! its `plugin` is not `builtin:<name>` or a file inside the policies directory: an absolute path
//! or one with `..` (refused without looking at the file system), a symlink resolving outside
//! the directory, something other than a regular file (a FIFO, a device), or a file over 64 MiB
//! (see [`bindings`]). A plugin that does not exist yet is accepted: the binding is written and
//! reported failed (`422`) until the plugin appears. These checks never open the plugin and run
//! without the registry's reload lock, and the load that follows reads it non-blocking and
//! capped, so no upload can hang the ones behind it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::body::Body;
use http::{Method, Response, StatusCode};
use serde_json::json;

use super::{AdminApi, AdminError, AdminResult, json_response, ok, read_body};
use crate::auth::RequestBody;
use crate::policy::registry::ReloadOutcome;
use crate::policy::{PolicyEngine, bindings, builtin};

/// Largest plugin upload (the same cap as for any plugin file a binding names).
pub const MAX_PLUGIN_BYTES: usize = bindings::MAX_PLUGIN_BYTES as usize;
/// Largest binding upload.
pub const MAX_BINDING_BYTES: usize = bindings::MAX_BINDING_BYTES as usize;

/// The policies directory, or `404` when policies are off.
fn policies_dir(api: &AdminApi) -> AdminResult<PathBuf> {
    api.policies
        .dir()
        .map(Path::to_path_buf)
        .ok_or_else(|| AdminError::not_found("policies are disabled on this server"))
}

/// `GET policies`: `{"dir", "bindings": [BindingStatus...]}` (`dir` is null when only the
/// default bindings are served).
pub fn list(api: &AdminApi) -> AdminResult<Response<Body>> {
    if !api.policies.is_enabled() {
        return Err(AdminError::not_found(
            "policies are disabled on this server",
        ));
    }
    let dir = api.policies.dir().map(|d| d.display().to_string());
    ok(json!({ "dir": dir, "bindings": api.policies.statuses() }))
}

fn bad_name(name: &str, suffix: &str) -> AdminError {
    AdminError::bad_request(format!(
        "invalid name {name:?}: expected [A-Za-z0-9._-]+ (not starting with a dot) ending in {suffix}"
    ))
}

/// `GET|PUT|DELETE bindings/{name}.toml`.
pub async fn binding(
    api: &AdminApi,
    method: &Method,
    name: &str,
    body: RequestBody,
) -> AdminResult<Response<Body>> {
    let dir = policies_dir(api)?;
    let valid = name
        .strip_suffix(".toml")
        .is_some_and(bindings::is_safe_name)
        && bindings::is_binding_file(Path::new(name));
    if !valid {
        return Err(bad_name(name, ".toml (not .suite.toml)"));
    }
    let file = dir.join(name);
    match *method {
        Method::PUT => {
            let data = read_body(body, MAX_BINDING_BYTES).await?;
            put_binding(api, &file, &data).await
        }
        Method::DELETE => delete_binding(api, &file, name).await,
        _ => match api.policies.status(&file) {
            Some(s) => {
                let mut v = json!(s);
                // The file as written (comments included), for editors; ≤ the binding limit.
                let source = tokio::fs::read(&file)
                    .await
                    .ok()
                    .filter(|b| b.len() <= MAX_BINDING_BYTES)
                    .and_then(|b| String::from_utf8(b).ok());
                v["source"] = json!(source);
                ok(v)
            }
            None => Err(AdminError::not_found(format!("no binding {name}"))),
        },
    }
}

/// Writes on a blocking thread.
async fn write_file(path: PathBuf, data: Vec<u8>) -> AdminResult<()> {
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::local_file::write(&path, &[&data], 0o644)
    })
    .await
    .map_err(|e| AdminError::internal(format!("write of {shown} panicked: {e}")))?
    .map_err(|e| AdminError::internal(format!("cannot write {shown}: {e}")))
}

/// `PUT plugins/{name}.wasm`: checks the component (`engine.check`), writes
/// `<dir>/plugins/{name}.wasm` atomically and reloads the bindings using it.
pub async fn put_plugin(
    api: &AdminApi,
    name: &str,
    body: RequestBody,
) -> AdminResult<Response<Body>> {
    let dir = policies_dir(api)?;
    let Some(stem) = name
        .strip_suffix(".wasm")
        .filter(|s| bindings::is_safe_name(s))
    else {
        return Err(bad_name(name, ".wasm"));
    };
    let name = format!("{stem}.wasm");
    let data = read_body(body, MAX_PLUGIN_BYTES).await?;
    let registry = &api.policies;
    let Some(engine) = registry.engine().cloned() else {
        return Err(AdminError::not_found("policies are disabled"));
    };
    let hash = PolicyEngine::hash(&data);
    let (checked, data) = tokio::task::spawn_blocking(move || (engine.check(&data), data))
        .await
        .map_err(|e| AdminError::internal(format!("plugin check panicked: {e}")))?;
    let worlds = match checked {
        Ok(w) if w.is_empty() => {
            return Err(AdminError::unprocessable(format!(
                "{name}: the component implements none of the lakegate:policy worlds (retention, lifecycle, backup)"
            )));
        }
        Ok(w) => w,
        Err(e) => return Err(AdminError::unprocessable(format!("{name}: {e}"))),
    };
    let path = dir.join("plugins").join(&name);
    write_file(path.clone(), data).await?;
    tracing::info!(plugin = %path.display(), hash = %hash, "policy plugin uploaded");
    registry.ensure_dir_watched();
    let changed: BTreeSet<PathBuf> = [path.clone()].into();
    registry.handle_changes(&changed).await;
    let affected: Vec<_> = registry
        .statuses()
        .into_iter()
        .filter(|s| s.plugin_path.as_deref() == Some(&*path.to_string_lossy()))
        .collect();
    ok(json!({
        "plugin": format!("plugins/{name}"),
        "hash": hash,
        "worlds": worlds,
        "bindings": affected,
    }))
}

/// `PUT bindings/{name}.toml`: validates (parse, plugin location), writes atomically, loads;
/// answers the binding's state (200 active, 422 failed; 400 refused, nothing written).
async fn put_binding(api: &AdminApi, file: &Path, data: &[u8]) -> AdminResult<Response<Body>> {
    let registry = &api.policies;
    let Ok(text) = std::str::from_utf8(data) else {
        return Err(AdminError::bad_request("the binding is not UTF-8 text"));
    };
    let name = file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let binding = match bindings::parse(file, text) {
        Ok(b) => b,
        Err(mut e) => {
            e.location = e.location.replacen(&file.display().to_string(), &name, 1);
            return Err(AdminError::bad_request(e.to_string()));
        }
    };
    // The plugin's location: lexically first (no file system access for absolute or `..`
    // paths), then what is there (stat only, on a blocking thread, no lock held).
    if let Err(e) = bindings::check_plugin_path(&binding.plugin_raw) {
        return Err(AdminError::bad_request(format!("{name}: plugin: {e}")));
    }
    if builtin::marker_name(&binding.plugin).is_none() {
        let (dir, plugin) = (
            file.parent().unwrap_or(Path::new(".")).to_path_buf(),
            binding.plugin.clone(),
        );
        let checked =
            tokio::task::spawn_blocking(move || bindings::check_plugin_file(&dir, &plugin))
                .await
                .map_err(|e| AdminError::internal(format!("plugin check panicked: {e}")))?;
        match checked {
            Ok(_) => {}
            // Not there yet: written, and reported failed until the plugin appears.
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                return Err(AdminError::bad_request(format!(
                    "{name}: plugin {:?} refused: {e}",
                    binding.plugin_raw
                )));
            }
        }
    }
    write_file(file.to_path_buf(), data.to_vec()).await?;
    registry.ensure_dir_watched();
    let outcome = registry.reload_file(file, true).await;
    // Refused by the gate while another version serves: the file goes back to what serves.
    if outcome == ReloadOutcome::Failed {
        registry.restore_serving_text(file).await;
    }
    let status = registry.status(file);
    let code = match (outcome, &status) {
        (ReloadOutcome::Loaded | ReloadOutcome::Unchanged, Some(s)) if s.state == "active" => {
            StatusCode::OK
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok(json_response(code, json!(status)))
}

/// `DELETE bindings/{name}.toml`: removes the file and unbinds.
async fn delete_binding(api: &AdminApi, file: &Path, name: &str) -> AdminResult<Response<Body>> {
    let registry = &api.policies;
    match std::fs::remove_file(file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if registry.status(file).is_none() {
                return Err(AdminError::not_found(format!("no binding {name}")));
            }
        }
        Err(e) => {
            return Err(AdminError::internal(format!(
                "cannot remove {}: {e}",
                file.display()
            )));
        }
    }
    registry.reload_file(file, true).await;
    ok(json!({ "deleted": name }))
}

/// `POST policies/preview?name=N.toml[&bucket=B][&at=T]`, body = a binding file's text: loads
/// the candidate apart, runs the gate and compares its decisions on the bucket's versions with
/// the serving version's (see [`crate::policy::registry::PolicyRegistry::preview`]). `name`
/// defaults to the file serving the binding's bucket and kind (else `preview.toml`); `bucket`,
/// when given, must be the binding's. `200` the preview; `400` a binding or plugin refused;
/// `422` a candidate that does not load.
pub async fn preview(
    api: &AdminApi,
    query: &super::Query,
    body: RequestBody,
) -> AdminResult<Response<Body>> {
    use crate::policy::registry::PreviewError;
    let dir = policies_dir(api)?;
    let data = read_body(body, MAX_BINDING_BYTES).await?;
    let Ok(text) = std::str::from_utf8(&data) else {
        return Err(AdminError::bad_request("the binding is not UTF-8 text"));
    };
    let at = query
        .get("at")
        .map(super::lifecycle::parse_time)
        .transpose()?;
    let probe = bindings::parse(&dir.join("preview.toml"), text)
        .map_err(|e| AdminError::bad_request(e.to_string()))?;
    if let Some(b) = query.get("bucket").filter(|b| *b != probe.bucket) {
        return Err(AdminError::bad_request(format!(
            "bucket={b} but the binding is for bucket {}",
            probe.bucket
        )));
    }
    let name = match query.get("name") {
        Some(n) => {
            let valid = n.strip_suffix(".toml").is_some_and(bindings::is_safe_name)
                && bindings::is_binding_file(Path::new(n));
            if !valid {
                return Err(bad_name(n, ".toml (not .suite.toml)"));
            }
            n.to_string()
        }
        None => api
            .policies
            .binding(&probe.bucket, probe.kind)
            .filter(|s| !crate::policy::defaults::is_default(&s.binding.file))
            .and_then(|s| {
                s.binding
                    .file
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "preview.toml".to_string()),
    };
    match api.policies.preview(&name, text, at).await {
        Ok(p) => ok(json!(p)),
        Err(PreviewError::Disabled) => {
            Err(AdminError::not_found(PreviewError::Disabled.to_string()))
        }
        Err(PreviewError::Invalid(m)) => Err(AdminError::bad_request(m)),
        Err(PreviewError::Load(m)) => Err(AdminError::unprocessable(m)),
    }
}

/// `GET policies/suites`: runs every snapshot suite (`*.suite.toml`) of the policies directory
/// against its snapshot, as `lakegate policy test` does (never blessing):
/// `{"dir", "suites": [{"suite", "outcome": "pass"|"fail"|"missing"|"error", "detail"}]}`;
/// `404` without a policies directory.
pub async fn suites(api: &AdminApi) -> AdminResult<Response<Body>> {
    let (Some(dir), Some(engine)) = (api.policies.dir(), api.policies.engine()) else {
        return Err(AdminError::not_found(
            "this server has no policies directory (--policies DIR)",
        ));
    };
    if !dir.is_dir() {
        return Err(AdminError::not_found(format!(
            "the policies directory {} does not exist",
            dir.display()
        )));
    }
    let dir = dir.to_path_buf();
    let engine = engine.clone();
    let shown_dir = dir.display().to_string();
    let results = tokio::task::spawn_blocking(move || -> Result<Vec<serde_json::Value>, String> {
        let files = crate::policy::suite::find_suites(&dir).map_err(|e| e.to_string())?;
        Ok(files
            .iter()
            .map(|file| {
                use crate::policy::suite::Outcome;
                let (_, outcome) = crate::policy::suite::check(&engine, file, false);
                let (word, detail) = match outcome {
                    Outcome::Ok | Outcome::Blessed { .. } => ("pass", String::new()),
                    Outcome::Changed { diff } => ("fail", diff),
                    Outcome::Missing { actual } => ("missing", actual),
                    Outcome::Error(e) => ("error", e.to_string()),
                };
                let name = file
                    .strip_prefix(&dir)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                json!({ "suite": name, "outcome": word, "detail": detail })
            })
            .collect())
    })
    .await
    .map_err(|_| AdminError::internal("running the suites failed"))?
    .map_err(|e| AdminError::internal(format!("cannot list the suites: {e}")))?;
    ok(json!({ "dir": shown_dir, "suites": results }))
}
