//! `/v1/employees` and `/v1/providers` (admin): who can be offboarded, and the LLM
//! providers access is revoked at. Provider credentials are write-only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
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
        .route("/providers/{id}", delete(remove_provider))
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
    let client_credentials =
        check_sign_in(&body).map_err(|message| ApiError::BadRequest { message })?;
    if body.kind == ProviderKind::AzureOpenAi && !client_credentials {
        tracing::warn!(
            provider = %body.id,
            "Azure provider connected with a static bearer token, which expires within about \
             an hour; connect an Entra app (tenant_id, client_id and its client secret) instead"
        );
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

/// How the provider signs in, checked: `true` for an Azure Entra app (client
/// credentials, the credential being its client secret), `false` for a plain
/// credential; the reason for a 400 if the body mixes the two.
fn check_sign_in(body: &ProviderBody) -> Result<bool, String> {
    let s = &body.settings;
    let app_fields = s.tenant_id.is_some() || s.client_id.is_some() || s.login_base_url.is_some();
    if body.kind != ProviderKind::AzureOpenAi {
        if app_fields || body.graph_credential.is_some() {
            return Err(
                "tenant_id, client_id, login_base_url and graph_credential are Azure OpenAI settings"
                    .into(),
            );
        }
        return Ok(false);
    }
    if s.entra_app()?.is_none() {
        return Ok(false);
    }
    if body.graph_credential.is_some() {
        let message = "with client credentials (tenant_id and client_id) the Graph token \
                       is obtained with the app's client secret: leave graph_credential out";
        return Err(message.into());
    }
    Ok(true)
}

fn default_base_url(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::OpenAi => crate::providers::OPENAI_BASE_URL,
        ProviderKind::Anthropic => crate::providers::ANTHROPIC_BASE_URL,
        ProviderKind::AzureOpenAi => crate::providers::ARM_BASE_URL,
    }
}

/// `DELETE /providers/{id}`: disconnect a provider. Its credentials are deleted; cases
/// already under way that still have to revoke there stop for a person, never skip it.
async fn remove_provider(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    if !directory::remove_provider(&state.db, &principal.org, &id).await? {
        return Err(ApiError::NotFound {
            what: format!("provider {id}"),
        });
    }
    tracing::info!(org = %principal.org, by = %principal.token_name, provider = %id, "provider disconnected");
    Ok(Json(json!({ "id": id, "connected": false })))
}

async fn list_providers(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let providers = directory::providers(&state.db, &principal.org).await?;
    Ok(Json(json!({"providers": providers})))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CLIENT: &str = "ce2ce14e-85d7-4629-bdbc-454d0519d987";

    fn sign_in(body: Value) -> Result<bool, String> {
        let body: ProviderBody = serde_json::from_value(body).unwrap();
        check_sign_in(&body)
    }

    #[test]
    fn client_credentials_are_checked() {
        let azure = |settings: Value, graph: Option<&str>| {
            json!({"id": "azure", "kind": "azure_openai", "credential": "client-secret",
                   "graph_credential": graph, "settings": settings})
        };
        let table = [
            (
                azure(json!({"tenant_id": TENANT, "client_id": CLIENT}), None),
                Ok(true),
            ),
            (
                azure(
                    json!({"tenant_id": "contoso.onmicrosoft.com", "client_id": CLIENT}),
                    None,
                ),
                Ok(true),
            ),
            (
                azure(json!({"scopes": ["/subscriptions/x"]}), Some("eyJ")),
                Ok(false),
            ),
            (
                azure(json!({"tenant_id": TENANT}), None),
                Err("both tenant_id and client_id"),
            ),
            (
                azure(json!({"client_id": CLIENT}), None),
                Err("both tenant_id and client_id"),
            ),
            (
                azure(json!({"tenant_id": TENANT, "client_id": "app"}), None),
                Err("GUID"),
            ),
            (
                azure(json!({"tenant_id": "x y", "client_id": CLIENT}), None),
                Err("domain name"),
            ),
            (
                azure(
                    json!({"tenant_id": TENANT, "client_id": CLIENT}),
                    Some("eyJ"),
                ),
                Err("leave graph_credential out"),
            ),
            (
                json!({"id": "o", "kind": "openai", "credential": "k",
                       "settings": {"tenant_id": TENANT, "client_id": CLIENT}}),
                Err("Azure OpenAI settings"),
            ),
            (
                json!({"id": "o", "kind": "openai", "credential": "k"}),
                Ok(false),
            ),
        ];
        for (body, expected) in table {
            let got = sign_in(body.clone());
            match expected {
                Ok(mode) => assert_eq!(got, Ok(mode), "{body}"),
                Err(words) => {
                    let message = got.unwrap_err();
                    assert!(message.contains(words), "{body}: {message}");
                }
            }
        }
    }
}
