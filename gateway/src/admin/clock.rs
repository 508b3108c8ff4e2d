//! The data plane's clock: `GET clock` shows it; `PUT clock` with `{"offset_ms": N}` moves it,
//! when the server runs with `--unsafe-adjustable-clock` (`409` otherwise). See [`crate::clock`].

use axum::body::Body;
use http::{Method, Response};
use serde_json::json;

use super::{AdminApi, AdminError, AdminResult, ok, read_body};
use crate::auth::RequestBody;

/// `GET|PUT clock`.
pub async fn clock(
    api: &AdminApi,
    method: &Method,
    body: RequestBody,
) -> AdminResult<Response<Body>> {
    if method == Method::PUT {
        let data = read_body(body, 4096).await?;
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct SetClock {
            offset_ms: i64,
        }
        let set: SetClock = serde_json::from_slice(&data).map_err(|e| {
            AdminError::bad_request(format!("expected {{\"offset_ms\": <integer>}}: {e}"))
        })?;
        api.clock
            .set_offset(set.offset_ms)
            .map_err(|e| AdminError::conflict(e.to_string()))?;
        tracing::warn!(
            offset_ms = set.offset_ms,
            "the data plane's clock was moved"
        );
    }
    ok(json!({
        "now_ms": api.clock.now(),
        "offset_ms": api.clock.offset(),
        "adjustable": api.clock.is_adjustable(),
    }))
}
