//! The admin API's one error type: every refusal, including authentication failures, is a JSON
//! document `{"error": "<what went wrong>", "code": "<stable name>"}` with its HTTP status.

use axum::body::Body;
use http::{HeaderValue, Response, StatusCode};
use serde_json::json;

/// An admin request that failed; rendered by [`AdminError::into_response`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AdminError {
    pub status: StatusCode,
    /// A stable, machine-readable name (`AccessDenied`, `NotFound`, ...).
    pub code: &'static str,
    pub message: String,
    /// For `405`: the methods the route takes (the `Allow` header).
    pub allow: Option<&'static str>,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }

    /// The request is not signed by credentials allowed to administer this server.
    pub fn access_denied() -> AdminError {
        AdminError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Access denied: the request is not signed by a key allowed this action.",
        )
    }

    pub fn not_found(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    pub fn bad_request(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// Well-formed, but refused on its content (a plugin that does not check, a binding that
    /// does not load).
    pub fn unprocessable(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::UNPROCESSABLE_ENTITY, "Unprocessable", message)
    }

    pub fn conflict(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::CONFLICT, "Conflict", message)
    }

    pub fn method_not_allowed(allowed: &'static str) -> AdminError {
        AdminError {
            allow: Some(allowed),
            ..AdminError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "method not allowed",
            )
        }
    }

    /// A failure of the server itself (logged where it happens).
    pub fn internal(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }

    /// Any other status with its own code (e.g. a body that stalled: `400 RequestTimeout`).
    pub fn other(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError::new(status, code, message)
    }

    /// The JSON answer (no body for `HEAD`).
    pub fn into_response(self, is_head: bool) -> Response<Body> {
        let mut r = if is_head {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = self.status;
            r
        } else {
            super::json_response(
                self.status,
                json!({ "error": self.message, "code": self.code }),
            )
        };
        if let Some(allow) = self.allow {
            r.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static(allow));
        }
        r
    }
}

pub type AdminResult<T> = Result<T, AdminError>;
