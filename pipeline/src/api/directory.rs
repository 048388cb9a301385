//! `/v1/employees` and `/v1/providers` (admin): who can be offboarded, and the LLM
//! providers access is revoked at. Provider credentials are write-only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, json_body};
use crate::auth::{Principal, Role};
use crate::directory::{self, Employee, EmployeeStatus, ProviderInfo, ProviderSettings};
use crate::providers::{ProviderKind, Secret};

/// The directory routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/employees", get(list_employees).post(put_employee))
        .route("/providers", get(list_providers).post(put_provider))
}

impl From<directory::DirectoryError> for ApiError {
    fn from(e: directory::DirectoryError) -> Self {
        ApiError::internal(e)
    }
}

/// The body of `POST /employees`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmployeeBody {
    id: String,
    email: String,
    display_name: Option<String>,
    azure_principal_id: Option<String>,
}

async fn put_employee(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<EmployeeBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(&[Role::Admin])?;
    let body = json_body(body)?;
    if body.id.is_empty()
        || body.id.len() > 256
        || body.id.chars().any(char::is_control)
        || !body.email.contains('@')
    {
        return Err(ApiError::BadRequest {
            message: "an employee needs an id and an email address".into(),
        });
    }
    let employee = Employee {
        id: body.id,
        email: body.email,
        display_name: body.display_name,
        azure_principal_id: body.azure_principal_id,
        status: EmployeeStatus::Active,
    };
    directory::put_employee(&state.db, &principal.org, &employee).await?;
    let stored = directory::employee(&state.db, &principal.org, &employee.id).await?;
    Ok((StatusCode::CREATED, Json(json!(stored))))
}

async fn list_employees(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin, Role::Legal])?;
    let employees = directory::employees(&state.db, &principal.org).await?;
    Ok(Json(json!({"employees": employees})))
}

/// The body of `POST /providers`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderBody {
    id: String,
    kind: ProviderKind,
    base_url: Option<String>,
    credential: String,
    graph_credential: Option<String>,
    #[serde(default)]
    settings: ProviderSettings,
}

async fn put_provider(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<ProviderBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(&[Role::Admin])?;
    let body = json_body(body)?;
    let id_ok = !body.id.is_empty()
        && body.id.len() <= 64
        && body
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok || body.credential.is_empty() {
        return Err(ApiError::BadRequest {
            message: "a provider needs an id ([A-Za-z0-9_-]{1,64}) and a credential".into(),
        });
    }
    let base_url = body
        .base_url
        .unwrap_or_else(|| default_base_url(body.kind).into());
    let info = ProviderInfo {
        id: body.id,
        kind: body.kind,
        base_url,
        settings: body.settings,
    };
    let credential = Secret::new(body.credential);
    let graph = body.graph_credential.map(Secret::new);
    directory::put_provider(
        &state.db,
        &state.sealing_key,
        &principal.org,
        &info,
        &credential,
        graph.as_ref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!(info))))
}

fn default_base_url(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::OpenAi => crate::providers::OPENAI_BASE_URL,
        ProviderKind::Anthropic => crate::providers::ANTHROPIC_BASE_URL,
        ProviderKind::AzureOpenAi => crate::providers::ARM_BASE_URL,
    }
}

async fn list_providers(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let providers = directory::providers(&state.db, &principal.org).await?;
    Ok(Json(json!({"providers": providers})))
}
