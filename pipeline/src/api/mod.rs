//! The HTTP API: per-resource routers over one [`AppState`], one [`ApiError`].
//!
//! Every route under `/v1` authenticates with a bearer token scoped to one organisation
//! and a role; handlers only ever see that organisation's data. `schemas/openapi.yaml`
//! describes every route.

mod error;
pub mod ledger;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};

pub use error::ApiError;

use crate::auth::{self, Principal, Role};
use crate::db::Database;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The evidence ledger.
    pub ledger: custody_ledger::Ledger,
    /// The service's own tables (API tokens).
    pub db: Database,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .nest("/v1/ledger", ledger::router())
        .with_state(state)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        auth::authenticate(&state.db, header)
            .await
            .map_err(ApiError::from)
    }
}

impl Principal {
    /// Fails with 403 unless the principal has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden { role: self.role })
        }
    }
}
