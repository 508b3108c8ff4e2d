//! Backup routes: the target and its buckets, a bucket's backup status, runs and restores
//! (started as jobs; `wait=true` answers when the job ends), and the jobs themselves.

use axum::body::Body;
use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{AdminApi, AdminError, AdminResult, Query, check_bucket, json_response, ok};
use crate::backup::{BackupError, Job, Plan};

fn refusal(e: BackupError) -> AdminError {
    match e {
        BackupError::NoBinding(_)
        | BackupError::NoBackup(_)
        | BackupError::NoSuchGeneration { .. } => AdminError::not_found(e.to_string()),
        _ => AdminError::internal(e.to_string()),
    }
}

/// `GET backup`: `{"target", "buckets": [...]}`.
pub async fn list(api: &AdminApi) -> AdminResult<Response<Body>> {
    let buckets = api.backup.buckets().await.map_err(refusal)?;
    ok(json!({ "target": api.backup.target().url(), "buckets": buckets }))
}

/// `GET backup/{bucket}`: binding, jobs, last run and restore, next scheduled run, generations.
pub async fn status(api: &AdminApi, bucket: &str) -> AdminResult<Response<Body>> {
    check_bucket(bucket)?;
    ok(api.backup.status(bucket).await.map_err(refusal)?)
}

/// `POST backup/{bucket}/run[?wait=true]`: a full run.
pub async fn run(api: &AdminApi, bucket: &str, wait: bool) -> AdminResult<Response<Body>> {
    check_bucket(bucket)?;
    let job = api
        .backup
        .run(bucket, "manual", Plan::Full)
        .map_err(refusal)?;
    answer(job, wait).await
}

/// `POST backup/{bucket}/restore[?to=B][&at=GEN][&prefix=P][&wait=true]`: a restore into `to`
/// (default: the bucket itself) from generation `at` (default: the newest), of the keys under
/// `prefix` (default: every key; keys outside it are left alone).
pub async fn restore(api: &AdminApi, bucket: &str, query: &Query) -> AdminResult<Response<Body>> {
    check_bucket(bucket)?;
    let to = query.get("to");
    if let Some(to) = to {
        check_bucket(to).map_err(|_| {
            AdminError::bad_request(format!("invalid destination bucket name {to:?}"))
        })?;
    }
    let at = match query.get("at") {
        None => None,
        Some(a) => Some(a.parse::<u64>().map_err(|_| {
            AdminError::bad_request(format!("at: expected a generation number, got {a:?}"))
        })?),
    };
    let prefix = query.get("prefix").unwrap_or_default();
    if prefix.len() > 1024 {
        return Err(AdminError::bad_request("prefix: longer than 1024 bytes"));
    }
    let wait = query.flag("wait")?;
    let job = api
        .backup
        .restore(bucket, to, at, prefix)
        .map_err(refusal)?;
    answer(job, wait).await
}

/// `202 {"job"}` at once, or with `wait` the finished job: `200` if it succeeded, `500` if not.
async fn answer(job: std::sync::Arc<Job>, wait: bool) -> AdminResult<Response<Body>> {
    if !wait {
        return Ok(json_response(
            StatusCode::ACCEPTED,
            json!({ "job": job.to_json() }),
        ));
    }
    job.wait().await;
    let v = job.to_json();
    let code = if v["state"] == "succeeded" {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    Ok(json_response(code, json!({ "job": v })))
}

/// `GET jobs`: recent jobs.
pub fn jobs(api: &AdminApi) -> AdminResult<Response<Body>> {
    let jobs: Vec<Value> = api.backup.jobs().iter().map(|j| j.to_json()).collect();
    ok(json!({ "jobs": jobs }))
}

/// `GET jobs/{id}`: one job's state, progress and report.
pub fn job(api: &AdminApi, id: &str) -> AdminResult<Response<Body>> {
    match id.parse::<u64>().ok().and_then(|id| api.backup.job(id)) {
        Some(job) => ok(job.to_json()),
        None => Err(AdminError::not_found(format!("no job {id}"))),
    }
}
