//! `GET audit[?limit=N][&cursor=C][&before=MS][&principal=AK][&bucket=B][&operation=OP]
//! [&status=S]`: the newest entries of the audit trail's file (and its rotations), filtered,
//! newest first: `{"entries": [AuditEntry], "next": cursor | null, "partial": bool}`; the next
//! page is asked with `cursor=<next>`. `404` when the server keeps no audit file
//! (`--audit-log`).

use axum::body::Body;
use http::Response;
use serde_json::json;

use super::{AdminApi, AdminError, AdminResult, Query, ok};
use crate::audit::read::{Cursor, Filter};

pub async fn read(api: &AdminApi, query: &Query) -> AdminResult<Response<Body>> {
    let number = |name: &str| -> AdminResult<Option<u64>> {
        query
            .get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    AdminError::bad_request(format!("{name}: expected a number, got {v:?}"))
                })
            })
            .transpose()
    };
    let filter = Filter {
        limit: number("limit")?.unwrap_or(200).clamp(1, 1000) as usize,
        before: number("before")?,
        principal: query.get("principal").map(String::from),
        bucket: query.get("bucket").map(String::from),
        operation: query.get("operation").map(String::from),
        status: query.get("status").map(String::from),
    };
    let cursor = match query.get("cursor") {
        None => None,
        Some(c) => Some(Cursor::parse(c).ok_or_else(|| {
            AdminError::bad_request(format!("cursor: expected the `next` of a page, got {c:?}"))
        })?),
    };
    let audit = api.audit.clone();
    let page = tokio::task::spawn_blocking(move || audit.tail(&filter, cursor))
        .await
        .map_err(|_| AdminError::internal("reading the audit trail failed"))?;
    match page {
        None => Err(AdminError::not_found(
            "this server keeps no audit file (start it with --audit-log FILE)",
        )),
        Some(Err(e)) => Err(AdminError::internal(format!(
            "cannot read the audit trail: {e}"
        ))),
        Some(Ok(page)) => ok(json!(page)),
    }
}
