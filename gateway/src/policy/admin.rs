//! The policy admin API, on the S3 port under [`PREFIX`] (path-style only).
//!
//! Every request must be SigV4- (or SigV2-) signed by the root credentials; anything else is
//! answered `403 AccessDenied` as S3 XML. Answers are JSON.
//!
//! | request | does |
//! |---|---|
//! | `GET /lakegate/admin/v1/policies` | `{"dir", "bindings": [BindingStatus...]}` |
//! | `GET /lakegate/admin/v1/bindings/{name}.toml` | one binding's status |
//! | `PUT /lakegate/admin/v1/plugins/{name}.wasm` | validate (`engine.check`), write `<dir>/plugins/{name}.wasm` atomically, reload the bindings using it |
//! | `PUT /lakegate/admin/v1/bindings/{name}.toml` | validate (parse, plugin location), write `<dir>/{name}.toml` atomically, load it; answers its state (200 active, 422 failed; 400 refused, nothing written) |
//! | `DELETE /lakegate/admin/v1/bindings/{name}.toml` | remove the file and unbind |
//! | `/lakegate/admin/v1/backup/...`, `/lakegate/admin/v1/jobs/...` | backups: see [`crate::backup::admin`] |
//! | `GET /lakegate/admin/v1/lifecycle/{bucket}` | `{"last": ScanReport, "running": ScanReport}` |
//! | `POST /lakegate/admin/v1/lifecycle/{bucket}/run[?dry_run=true]` | scans now (a dry run changes nothing); answers the `ScanReport` (404 without a lifecycle policy, 409 while one runs) |
//! | `GET /lakegate/admin/v1/clock` | the data plane's time: `{"now_ms", "offset_ms", "adjustable"}` |
//! | `PUT /lakegate/admin/v1/clock` | `{"offset_ms": N}` moves it (only with `--unsafe-adjustable-clock`; 409 otherwise) |
//!
//! Names are `[A-Za-z0-9._-]+`, never starting with a dot, so nothing escapes the policies
//! directory.
//!
//! A binding upload is refused (`400`, `{"error": ...}`, nothing written) if it does not parse,
//! or if its `plugin` is not `builtin:<name>` or a file inside the policies directory: an
//! absolute path or one with `..` (refused without looking at the file system), a symlink
//! resolving outside the directory, something other than a regular file (a FIFO, a device), or
//! a file over 64 MiB (see [`bindings`]). A plugin that does not exist yet is accepted: the
//! binding is written and reported failed (`422`) until the plugin appears. These checks never
//! open the plugin and run without the registry's reload lock, and the load that follows reads
//! it non-blocking and capped, so no upload can hang the ones behind it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use axum::body::Body;
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;

use super::bindings;
use super::registry::ReloadOutcome;
use crate::auth::{self, RequestBody};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::{S3Response, S3State, response};

/// The reserved path prefix of the admin API.
pub const PREFIX: &str = "/lakegate/admin/v1/";

/// Largest plugin upload (the same cap as for any plugin file a binding names).
pub const MAX_PLUGIN_BYTES: usize = bindings::MAX_PLUGIN_BYTES as usize;
/// Largest binding upload.
pub const MAX_BINDING_BYTES: usize = bindings::MAX_BINDING_BYTES as usize;

/// Whether a request is for the admin API (path-style requests under [`PREFIX`]).
pub fn is_admin_path(path: &str, vhost_bucket: Option<&str>) -> bool {
    vhost_bucket.is_none() && path.starts_with(PREFIX)
}

fn json_response(status: StatusCode, value: serde_json::Value) -> S3Response {
    let mut body = serde_json::to_string_pretty(&value).unwrap_or_default();
    body.push('\n');
    let mut r = response(status, Body::from(body));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn json_error(status: StatusCode, message: impl Into<String>) -> S3Response {
    json_response(status, json!({ "error": message.into() }))
}

fn access_denied() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        "The policy admin API requires a request signed by the root credentials.",
    )
}

/// Handles one admin request: authenticates (root only), then routes.
pub async fn handle(
    state: &S3State,
    parts: http::request::Parts,
    body: Body,
) -> S3Result<S3Response> {
    // Any authentication failure (unsigned, unknown key, bad signature) is AccessDenied here.
    let authenticated = auth::authenticate(
        &parts,
        None,
        &state.credentials,
        &state.region,
        SystemTime::now(),
    )
    .map_err(|e| {
        tracing::debug!(code = e.code.as_str(), "admin request refused");
        access_denied()
    })?;
    if authenticated.access_key != state.credentials.root().access_key {
        return Err(access_denied());
    }
    let mut body = RequestBody::new(body, authenticated.payload.clone(), &parts.headers)?
        .with_read_timeout(state.body_read_timeout);
    if &parts.uri.path()[PREFIX.len()..] == "clock" {
        return clock(state, &parts.method, &mut body).await;
    }
    if let Some(r) =
        crate::backup::admin::dispatch(state, &parts, &parts.uri.path()[PREFIX.len()..]).await
    {
        return Ok(r);
    }
    let registry = &state.policies;
    let Some(dir) = registry.dir().map(Path::to_path_buf) else {
        return Ok(json_error(
            StatusCode::NOT_FOUND,
            "policies are disabled on this server",
        ));
    };
    let rest = &parts.uri.path()[PREFIX.len()..];
    let method = &parts.method;
    match rest.split_once('/') {
        None if rest == "policies" => {
            if method != Method::GET && method != Method::HEAD {
                return Ok(method_not_allowed("GET"));
            }
            Ok(json_response(
                StatusCode::OK,
                json!({ "dir": dir.display().to_string(), "bindings": registry.statuses() }),
            ))
        }
        Some(("plugins", name)) => {
            let Some(stem) = name
                .strip_suffix(".wasm")
                .filter(|s| bindings::is_safe_name(s))
            else {
                return Ok(bad_name(name, ".wasm"));
            };
            if method != Method::PUT {
                return Ok(method_not_allowed("PUT"));
            }
            let data = body.read_to_end(MAX_PLUGIN_BYTES).await?;
            put_plugin(state, &dir, &format!("{stem}.wasm"), data.to_vec()).await
        }
        Some(("lifecycle", rest)) => lifecycle(state, method, parts.uri.query(), rest).await,
        Some(("bindings", name)) => {
            let valid = name
                .strip_suffix(".toml")
                .is_some_and(bindings::is_safe_name)
                && bindings::is_binding_file(Path::new(name));
            if !valid {
                return Ok(bad_name(name, ".toml (not .suite.toml)"));
            }
            let file = dir.join(name);
            match *method {
                Method::GET | Method::HEAD => Ok(match registry.status(&file) {
                    Some(s) => json_response(StatusCode::OK, json!(s)),
                    None => json_error(StatusCode::NOT_FOUND, format!("no binding {name}")),
                }),
                Method::PUT => {
                    let data = body.read_to_end(MAX_BINDING_BYTES).await?;
                    put_binding(state, &file, &data).await
                }
                Method::DELETE => delete_binding(state, &file, name).await,
                _ => Ok(method_not_allowed("GET, PUT, DELETE")),
            }
        }
        _ => Ok(json_error(
            StatusCode::NOT_FOUND,
            format!("no such admin endpoint: {}", parts.uri.path()),
        )),
    }
}

/// `GET /lifecycle/{bucket}`: the last scan's report and a running scan's progress;
/// `POST /lifecycle/{bucket}/run[?dry_run=true]`: scans now and answers the report.
async fn lifecycle(
    state: &S3State,
    method: &Method,
    query: Option<&str>,
    rest: &str,
) -> S3Result<S3Response> {
    use super::scanner::ScanError;
    let Some(scanner) = &state.lifecycle else {
        return Ok(json_error(
            StatusCode::NOT_FOUND,
            "lifecycle scans are off on this server",
        ));
    };
    let (bucket, action) = match rest.split_once('/') {
        Some((b, a)) => (b, Some(a)),
        None => (rest, None),
    };
    if crate::s3::router::check_bucket_name(bucket).is_err() {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            format!("invalid bucket name {bucket:?}"),
        ));
    }
    match (action, method) {
        (None, &Method::GET) => {
            if state.store.bucket(bucket).is_err() {
                return Ok(json_error(
                    StatusCode::NOT_FOUND,
                    format!("no bucket {bucket}"),
                ));
            }
            let (last, running) = scanner.status(bucket);
            Ok(json_response(
                StatusCode::OK,
                json!({ "bucket": bucket, "last": last, "running": running }),
            ))
        }
        (Some("run"), &Method::POST) => {
            let dry_run = query.is_some_and(|q| {
                q.split('&')
                    .any(|p| p == "dry_run=true" || p == "dry_run=1" || p == "dry_run")
            });
            match scanner.scan(bucket, dry_run).await {
                Ok(report) => Ok(json_response(StatusCode::OK, json!(report))),
                Err(e @ ScanError::NoPolicy(_)) => {
                    Ok(json_error(StatusCode::NOT_FOUND, e.to_string()))
                }
                Err(e @ ScanError::Busy(_)) => Ok(json_error(StatusCode::CONFLICT, e.to_string())),
                Err(ScanError::Store(crate::store::StoreError::NoSuchBucket)) => Ok(json_error(
                    StatusCode::NOT_FOUND,
                    format!("no bucket {bucket}"),
                )),
                Err(e) => Ok(json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
            }
        }
        (None, _) => Ok(method_not_allowed("GET")),
        (Some("run"), _) => Ok(method_not_allowed("POST")),
        _ => Ok(json_error(
            StatusCode::NOT_FOUND,
            format!("no such admin endpoint: lifecycle/{rest}"),
        )),
    }
}

/// `GET /clock`: the data plane's time; `PUT /clock` with `{"offset_ms": N}`: moves it, when the
/// server runs with `--unsafe-adjustable-clock` (409 otherwise).
async fn clock(state: &S3State, method: &Method, body: &mut RequestBody) -> S3Result<S3Response> {
    let show = |status| {
        json_response(
            status,
            json!({
                "now_ms": state.clock.now(),
                "offset_ms": state.clock.offset(),
                "adjustable": state.clock.is_adjustable(),
            }),
        )
    };
    match *method {
        Method::GET | Method::HEAD => Ok(show(StatusCode::OK)),
        Method::PUT => {
            let data = body.read_to_end(4096).await?;
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct SetClock {
                offset_ms: i64,
            }
            let set: SetClock = match serde_json::from_slice(&data) {
                Ok(s) => s,
                Err(e) => {
                    return Ok(json_error(
                        StatusCode::BAD_REQUEST,
                        format!("expected {{\"offset_ms\": <integer>}}: {e}"),
                    ));
                }
            };
            match state.clock.set_offset(set.offset_ms) {
                Ok(()) => {
                    tracing::warn!(
                        offset_ms = set.offset_ms,
                        "the data plane's clock was moved"
                    );
                    Ok(show(StatusCode::OK))
                }
                Err(e) => Ok(json_error(StatusCode::CONFLICT, e.to_string())),
            }
        }
        _ => Ok(method_not_allowed("GET, PUT")),
    }
}

fn method_not_allowed(allowed: &'static str) -> S3Response {
    let mut r = json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allowed));
    r
}

fn bad_name(name: &str, suffix: &str) -> S3Response {
    json_error(
        StatusCode::BAD_REQUEST,
        format!(
            "invalid name {name:?}: expected [A-Za-z0-9._-]+ (not starting with a dot) ending in {suffix}"
        ),
    )
}

/// Writes `data` to `path` atomically: a hidden temporary file in the same directory, fsynced,
/// then renamed over the target.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{:016x}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        uuid::Uuid::new_v4().as_u128() as u64
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

async fn put_plugin(
    state: &S3State,
    dir: &Path,
    name: &str,
    data: Vec<u8>,
) -> S3Result<S3Response> {
    let registry = &state.policies;
    let Some(engine) = registry.engine().cloned() else {
        return Ok(json_error(StatusCode::NOT_FOUND, "policies are disabled"));
    };
    let hash = super::PolicyEngine::hash(&data);
    let (checked, data) = tokio::task::spawn_blocking(move || (engine.check(&data), data))
        .await
        .map_err(|e| S3Error::internal(format!("plugin check panicked: {e}")))?;
    let worlds = match checked {
        Ok(w) if w.is_empty() => {
            return Ok(json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{name}: the component implements none of the lakegate:policy worlds (retention, lifecycle, backup)"
                ),
            ));
        }
        Ok(w) => w,
        Err(e) => {
            return Ok(json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{name}: {e}"),
            ));
        }
    };
    let path = dir.join("plugins").join(name);
    let target = path.clone();
    tokio::task::spawn_blocking(move || write_atomic(&target, &data))
        .await
        .map_err(|e| S3Error::internal(format!("plugin write panicked: {e}")))?
        .map_err(|e| S3Error::internal(format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(plugin = %path.display(), hash = %hash, "policy plugin uploaded");
    registry.ensure_dir_watched();
    let changed: BTreeSet<PathBuf> = [path.clone()].into();
    registry.handle_changes(&changed).await;
    let affected: Vec<_> = registry
        .statuses()
        .into_iter()
        .filter(|s| s.plugin_path.as_deref() == Some(&*path.to_string_lossy()))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({
            "plugin": format!("plugins/{name}"),
            "hash": hash,
            "worlds": worlds,
            "bindings": affected,
        }),
    ))
}

async fn put_binding(state: &S3State, file: &Path, data: &[u8]) -> S3Result<S3Response> {
    let registry = &state.policies;
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "the binding is not UTF-8 text",
        ));
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
            return Ok(json_error(StatusCode::BAD_REQUEST, e.to_string()));
        }
    };
    // The plugin's location: lexically first (no file system access for absolute or `..`
    // paths), then what is there (stat only, on a blocking thread, no lock held).
    if let Err(e) = bindings::check_plugin_path(&binding.plugin_raw) {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            format!("{name}: plugin: {e}"),
        ));
    }
    if super::builtin::marker_name(&binding.plugin).is_none() {
        let (dir, plugin) = (
            file.parent().unwrap_or(Path::new(".")).to_path_buf(),
            binding.plugin.clone(),
        );
        let checked =
            tokio::task::spawn_blocking(move || bindings::check_plugin_file(&dir, &plugin))
                .await
                .map_err(|e| S3Error::internal(format!("plugin check panicked: {e}")))?;
        match checked {
            Ok(_) => {}
            // Not there yet: written, and reported failed until the plugin appears.
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                return Ok(json_error(
                    StatusCode::BAD_REQUEST,
                    format!("{name}: plugin {:?} refused: {e}", binding.plugin_raw),
                ));
            }
        }
    }
    let target = file.to_path_buf();
    let bytes = data.to_vec();
    tokio::task::spawn_blocking(move || write_atomic(&target, &bytes))
        .await
        .map_err(|e| S3Error::internal(format!("binding write panicked: {e}")))?
        .map_err(|e| S3Error::internal(format!("cannot write {}: {e}", file.display())))?;
    registry.ensure_dir_watched();
    let outcome = registry.reload_file(file, true).await;
    let status = registry.status(file);
    let code = match (outcome, &status) {
        (ReloadOutcome::Loaded | ReloadOutcome::Unchanged, Some(s)) if s.state == "active" => {
            StatusCode::OK
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok(json_response(code, json!(status)))
}

async fn delete_binding(state: &S3State, file: &Path, name: &str) -> S3Result<S3Response> {
    let registry = &state.policies;
    match std::fs::remove_file(file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if registry.status(file).is_none() {
                return Ok(json_error(
                    StatusCode::NOT_FOUND,
                    format!("no binding {name}"),
                ));
            }
        }
        Err(e) => {
            return Err(S3Error::internal(format!(
                "cannot remove {}: {e}",
                file.display()
            )));
        }
    }
    registry.reload_file(file, true).await;
    Ok(json_response(StatusCode::OK, json!({ "deleted": name })))
}
