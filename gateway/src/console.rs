//! The operator console on its own port. Today: a status page and its JSON, and health checks.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Json};
use axum::routing::get;

use crate::s3::error::xml_escape;
use crate::store::Store;

pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/status", get(status))
        .route("/minio/health/live", get(|| async { "ok" }))
        .with_state(store)
}

#[derive(serde::Serialize)]
struct BucketStatus {
    name: String,
    region: String,
    versioning: String,
    object_lock: bool,
}

#[derive(serde::Serialize)]
struct Status {
    version: &'static str,
    buckets: Vec<BucketStatus>,
}

fn collect(store: &Store) -> Result<Status, crate::store::StoreError> {
    Ok(Status {
        version: env!("CARGO_PKG_VERSION"),
        buckets: store
            .list_buckets()?
            .into_iter()
            .map(|b| BucketStatus {
                name: b.name,
                region: b.region,
                versioning: format!("{:?}", b.versioning),
                object_lock: b.object_lock_enabled,
            })
            .collect(),
    })
}

async fn status(State(store): State<Arc<Store>>) -> impl IntoResponse {
    match collect(&store) {
        Ok(s) => Json(s).into_response(),
        Err(e) => (http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn index(State(store): State<Arc<Store>>) -> impl IntoResponse {
    let Ok(s) = collect(&store) else {
        return Html("<h1>lakegate</h1><p>status unavailable</p>".to_string());
    };
    let mut rows = String::new();
    for b in &s.buckets {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            xml_escape(&b.name),
            xml_escape(&b.region),
            xml_escape(&b.versioning),
            if b.object_lock { "enabled" } else { "-" }
        ));
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>lakegate</title></head><body>\
         <h1>lakegate {}</h1><table><tr><th>bucket</th><th>region</th><th>versioning</th><th>object lock</th></tr>{rows}</table>\
         </body></html>",
        s.version
    ))
}
