//! One error type for every handler: a status code and a stable JSON body
//! `{"error": {"code": "...", "message": "..."}}`. Internal failures are logged with
//! their cause and answered generically.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::{AuthError, Role};

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no valid token.
    #[error("{0}")]
    Unauthenticated(AuthError),
    /// 403: the token's role may not do this.
    #[error("the {} role may not do this", .role.as_str())]
    Forbidden {
        /// The caller's role.
        role: Role,
    },
    /// 404: nothing there (in the caller's organisation).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// 400: the request is malformed or refers to something invalid.
    #[error("{message}")]
    BadRequest {
        /// What is wrong, for the caller.
        message: String,
    },
    /// 409: the request conflicts with the ledger's state (e.g. nothing stamped yet).
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
    },
    /// 500: logged in full, answered generically.
    #[error("internal error")]
    Internal {
        /// The cause, for the log only.
        cause: String,
    },
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// A 500 whose cause is logged, not returned.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal {
            cause: cause.to_string(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Database(cause) => ApiError::internal(cause),
            other => ApiError::Unauthenticated(other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal { cause } = &self {
            tracing::error!(%cause, "request failed");
        }
        let body = serde_json::json!({"error": {"code": code, "message": self.to_string()}});
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
