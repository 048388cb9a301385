//! Device routes (`evidence-format.md` §11):
//!
//! - `GET /.well-known/custody-command-key`: the command verifier key (no authentication);
//! - `POST /v1/devices/enrollment-tokens`, `GET /v1/devices`: admins (bearer token);
//! - `POST /v1/devices/enroll`: a device redeems its one-time enrollment token;
//! - `GET /v1/device/commands`, `POST /v1/device/commands/{command_id}/ack`: an enrolled
//!   device, with `Authorization: Device <credential>`; it sees only its own commands.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use custody_verifier::command::SIGNING_CONTEXT;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::auth::{AuthError, Principal, Role};
use crate::devices::{Ack, DeviceError, DeviceIdentity, MAX_WAIT_SECONDS};

/// The device routes, with their full paths.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/custody-command-key", get(command_key))
        .route("/v1/devices", get(list_devices))
        .route("/v1/devices/{device_id}", delete(revoke_device))
        .route(
            "/v1/devices/enrollment-tokens",
            post(create_enrollment_token),
        )
        .route("/v1/devices/enroll", post(enroll))
        .route("/v1/device/commands", get(poll_commands))
        .route("/v1/device/commands/{command_id}/ack", post(acknowledge))
}

impl From<DeviceError> for ApiError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Invalid { .. } => ApiError::BadRequest {
                message: e.to_string(),
            },
            DeviceError::EnrollmentRefused | DeviceError::UnknownCredential => {
                ApiError::Unauthenticated(AuthError::Invalid)
            }
            DeviceError::CommandNotFound { .. } => ApiError::NotFound {
                what: e.to_string(),
            },
            DeviceError::AlreadyAcknowledged { .. } => ApiError::Conflict {
                message: e.to_string(),
            },
            DeviceError::Ledger(inner) => inner.into(),
            other => ApiError::internal(other),
        }
    }
}

/// The device a request authenticates as, from `Authorization: Device <credential>`.
impl FromRequestParts<AppState> for DeviceIdentity {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let credential = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Device "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated(AuthError::Missing))?;
        Ok(state.devices.authenticate(credential).await?)
    }
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value)
        .map_err(|e| ApiError::BadRequest {
            message: e.body_text(),
        })
}

/// `GET /.well-known/custody-command-key`.
async fn command_key(State(state): State<AppState>) -> Json<Value> {
    let key = state.devices.verifier_key();
    let context = String::from_utf8_lossy(SIGNING_CONTEXT);
    Json(json!({
        "verifier_key": key.to_string(),
        "algorithm": "ed25519",
        "signing_context": context.trim_end(),
    }))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    subject: Option<String>,
}

/// `GET /v1/devices[?subject=…]`: the organisation's enrolled devices (admins).
async fn list_devices(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let devices = state
        .devices
        .list(&principal.org, query.subject.as_deref())
        .await?;
    Ok(Json(json!({ "devices": devices })))
}

/// `DELETE /v1/devices/{device_id}`: revoke a device (lost, replaced, or no longer
/// the employee's; admins). Its credential stops working at once.
async fn revoke_device(
    State(state): State<AppState>,
    principal: Principal,
    Path(device_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    if !state.devices.revoke(&principal.org, &device_id).await? {
        return Err(ApiError::NotFound {
            what: format!("active device {device_id}"),
        });
    }
    Ok(Json(json!({ "device_id": device_id, "revoked": true })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    subject: String,
    #[serde(default = "default_token_lifetime")]
    expires_in_seconds: i64,
}

fn default_token_lifetime() -> i64 {
    24 * 3600
}

/// `POST /v1/devices/enrollment-tokens`: a one-time enrollment token (shown once).
async fn create_enrollment_token(
    State(state): State<AppState>,
    principal: Principal,
    request: Result<Json<TokenBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(&[Role::Admin])?;
    let request = body(request)?;
    let token = state
        .devices
        .create_enrollment_token(
            &principal.org,
            &request.subject,
            &principal.token_name,
            request.expires_in_seconds,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "enrollment_token": token.secret.expose(),
            "subject": token.subject,
            "expires_at": token.expires_at.to_string(),
        })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollBody {
    enrollment_token: String,
    name: String,
}

/// `POST /v1/devices/enroll`: redeems an enrollment token for a device credential.
async fn enroll(
    State(state): State<AppState>,
    request: Result<Json<EnrollBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request = body(request)?;
    let enrolled = state
        .devices
        .enroll(&request.enrollment_token, &request.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "device_id": enrolled.device_id,
            "org": enrolled.org,
            "subject": enrolled.subject,
            "device_credential": enrolled.credential.expose(),
        })),
    ))
}

#[derive(Debug, Deserialize)]
struct PollQuery {
    #[serde(default)]
    wait: u64,
}

/// `GET /v1/device/commands[?wait=SECONDS]`: the device's unacknowledged commands,
/// waiting up to `wait` seconds (at most 60) for one to be queued.
async fn poll_commands(
    State(state): State<AppState>,
    device: DeviceIdentity,
    Query(query): Query<PollQuery>,
) -> Result<Json<Value>, ApiError> {
    let wait = Duration::from_secs(query.wait.min(MAX_WAIT_SECONDS));
    let commands = state.devices.wait_for_commands(&device, wait).await?;
    Ok(Json(json!({ "commands": commands })))
}

/// `POST /v1/device/commands/{command_id}/ack`: the device reports what it did; the
/// acknowledgement is appended to the ledger before this answers.
async fn acknowledge(
    State(state): State<AppState>,
    device: DeviceIdentity,
    Path(command_id): Path<String>,
    request: Result<Json<Ack>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let ack = body(request)?;
    let recorded = state
        .devices
        .acknowledge(&state.ledger, &device, &command_id, &ack)
        .await?;
    Ok(Json(json!({
        "command_id": command_id,
        "status": recorded.status,
        "ledger_index": recorded.ledger_index,
        "leaf_hash": recorded.leaf_hash,
    })))
}
