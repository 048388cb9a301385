//! `/v1/tokens`: an organisation's API tokens, managed by its admins. A token is issued
//! for one role (and, optionally, one employee, whose lockout revokes it); its secret is
//! in the answer that issues it and nowhere else — only its SHA-256 is stored. Lists show
//! ids, names and roles, never secrets.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, json_body};
use crate::auth::{self, Principal, Role};

/// The token routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/tokens", post(issue).get(list))
        .route("/tokens/{id}", delete(revoke))
}

/// The body of `POST /tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    name: String,
    role: Role,
    owner_email: Option<String>,
}

async fn issue(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<IssueBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(&[Role::Admin])?;
    let body = json_body(body)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest {
            message: "a token needs a name of 1 to 100 printable characters".into(),
        });
    }
    let owner = body.owner_email.as_deref().map(str::trim);
    if owner.is_some_and(|email| !email.contains('@')) {
        return Err(ApiError::BadRequest {
            message: "owner_email must be an email address".into(),
        });
    }
    let secret = auth::issue_owned(&state.db, &principal.org, body.role, name, owner).await?;
    tracing::info!(org = %principal.org, by = %principal.token_name, name, role = body.role.as_str(), "API token issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": secret.id(),
            "name": name,
            "role": body.role,
            "owner_email": owner,
            "token": secret.expose(),
        })),
    ))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let tokens = auth::tokens(&state.db, &principal.org).await?;
    Ok(Json(json!({ "tokens": tokens })))
}

async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    if id == principal.token_id {
        return Err(ApiError::Conflict {
            message: "a token cannot revoke itself; use another admin token".into(),
        });
    }
    if !auth::revoke(&state.db, &principal.org, &id).await? {
        return Err(ApiError::NotFound {
            what: format!("valid token {id}"),
        });
    }
    tracing::info!(org = %principal.org, by = %principal.token_name, token = %id, "API token revoked");
    Ok(Json(json!({ "id": id, "revoked": true })))
}
