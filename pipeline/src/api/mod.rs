//! The HTTP API: per-resource routers over one [`AppState`], one [`ApiError`].
//!
//! Every route under `/v1` authenticates with a bearer token scoped to one organisation
//! and a role; handlers only ever see that organisation's data. `schemas/openapi.yaml`
//! describes every route.

mod devices;
mod directory;
mod error;
pub mod ledger;
mod lockouts;
mod tokens;

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
    /// The service's own tables (tokens, employees, providers, the engine's queue).
    pub db: Database,
    /// The offboarding engine.
    pub engine: crate::engine::Engine,
    /// Seals provider credentials at rest.
    pub sealing_key: crate::sealing::SealingKey,
    /// Device enrollment, signed lock commands and their acknowledgements.
    pub devices: crate::devices::Devices,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .nest("/v1/ledger", ledger::router())
        .merge(devices::router())
        .nest(
            "/v1",
            directory::router()
                .merge(lockouts::router())
                .merge(tokens::router()),
        )
        .with_state(state)
}

/// The body of a JSON request, or a 400 that says what is wrong with it.
pub(crate) fn json_body<T>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    body.map(|Json(value)| value)
        .map_err(|e| ApiError::BadRequest {
            message: e.body_text(),
        })
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
