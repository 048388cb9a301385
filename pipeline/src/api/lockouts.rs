//! `/v1/lockouts` (the "Lock Out" button) and `/v1/hris/sync-log` (what happened to
//! each departure, read from the ledger).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::collections::HashMap;

use custody_ledger::{NodeFilter, StoredNode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, json_body};
use crate::auth::{Principal, Role};
use crate::directory;
use crate::engine::EngineError;
use crate::engine::store::{self, CaseRow};

/// The lockout and sync-log routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/lockouts", post(lock_out).get(list_cases))
        .route("/lockouts/{case_id}", get(case_timeline))
        .route("/lockouts/{case_id}/override", post(override_case))
        .route("/hris/sync-log", get(list_cases))
        .route("/hris/sync-log/{case_id}", get(case_timeline))
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::UnknownCase { .. } => ApiError::NotFound {
                what: e.to_string(),
            },
            EngineError::Ledger(inner) => inner.into(),
            other => ApiError::internal(other),
        }
    }
}

/// The body of `POST /lockouts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockoutBody {
    email: String,
    /// Must be `true`: a lockout is irreversible except by an admin override.
    confirm: bool,
    reason: Option<String>,
}

async fn lock_out(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<LockoutBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(&[Role::Admin])?;
    let body = json_body(body)?;
    if !body.confirm {
        return Err(ApiError::BadRequest {
            message: "a lockout needs \"confirm\": true; nothing was done".into(),
        });
    }
    let employee = directory::employee_by_email(&state.db, &principal.org, &body.email)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("employee {}", body.email),
        })?;
    let reason = body.reason.unwrap_or_default();
    let lockout = state
        .engine
        .lock_out(&principal.org, &employee, &principal.token_name, &reason)
        .await?;
    let status = if lockout.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let case = store::case(&state.db, &principal.org, &lockout.case_id).await?;
    let summary = match case {
        Some(case) => summarize(&state, &principal.org, &case).await?,
        None => json!({"case_id": lockout.case_id}),
    };
    Ok((status, Json(summary)))
}

/// The body of `POST /lockouts/{id}/override`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    reason: String,
    confirm: bool,
}

async fn override_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(case_id): Path<String>,
    body: Result<Json<OverrideBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin])?;
    let body = json_body(body)?;
    if !body.confirm || body.reason.trim().is_empty() {
        return Err(ApiError::BadRequest {
            message: "an override needs a reason and \"confirm\": true; nothing was done".into(),
        });
    }
    let index = state
        .engine
        .override_case(
            &principal.org,
            &case_id,
            &principal.token_name,
            &body.reason,
        )
        .await?;
    Ok(Json(
        json!({"case_id": case_id, "override_node": index, "status": "overridden"}),
    ))
}

async fn list_cases(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin, Role::Legal, Role::Auditor])?;
    let org = principal.org.as_str();
    let listings = store::listings(&state.db, org).await?;
    // Three scans of the ledger by kind, however many cases there are.
    let triggers =
        recorded_by_case(&state, org, &["lockout_requested", "termination_detected"]).await?;
    let completed = recorded_by_case(&state, org, &["case_completed"]).await?;
    let overridden = recorded_by_case(&state, org, &["admin_override"]).await?;
    let cases: Vec<Value> = listings
        .iter()
        .map(|l| {
            let id = &l.case.case_id;
            let status = derive_status(
                overridden.contains_key(id),
                completed.contains_key(id),
                l.needs_attention,
            );
            line(&l.case, l.email.clone(), triggers.get(id).cloned(), status)
        })
        .collect();
    Ok(Json(json!({"cases": cases})))
}

/// For each case with a node of one of `kinds`, the first such node's `recorded_at`.
async fn recorded_by_case(
    state: &AppState,
    org: &str,
    kinds: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut found = HashMap::new();
    for kind in kinds {
        let mut filter = NodeFilter {
            kind: Some((*kind).to_owned()),
            ..NodeFilter::default()
        };
        loop {
            let page = state.ledger.nodes(org, &filter).await?;
            for node in &page {
                if let Some(case_id) = &node.case_id {
                    found
                        .entry(case_id.clone())
                        .or_insert_with(|| node.recorded_at.to_string());
                }
            }
            if page.len() < filter.page_size() as usize {
                break;
            }
            filter.after_index = page.last().map(|n| n.index);
        }
    }
    Ok(found)
}

/// A case's status, from its nodes: overridden, completed, waiting for a person, or running.
fn derive_status(overridden: bool, completed: bool, needs_attention: bool) -> &'static str {
    if overridden {
        "overridden"
    } else if completed {
        "completed"
    } else if needs_attention {
        "needs_attention"
    } else {
        "in_progress"
    }
}

fn line(
    case: &CaseRow,
    email: Option<String>,
    termination_date: Option<String>,
    status: &str,
) -> Value {
    json!({
        "case_id": case.case_id,
        "employee_id": case.employee_id,
        "email": email,
        "source": case.source,
        "termination_date": termination_date,
        "status": status,
    })
}

async fn case_timeline(
    State(state): State<AppState>,
    principal: Principal,
    Path(case_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(&[Role::Admin, Role::Legal, Role::Auditor])?;
    let case = store::case(&state.db, &principal.org, &case_id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: format!("case {case_id}"),
        })?;
    let mut summary = summarize(&state, &principal.org, &case).await?;
    let nodes = state.ledger.case_nodes(&principal.org, &case_id).await?;
    summary["timeline"] = Value::Array(
        nodes
            .iter()
            .filter(|n| n.case_id.as_deref() == Some(case_id.as_str()))
            .map(event)
            .collect(),
    );
    let steps = store::steps(&state.db, &principal.org, &case_id).await?;
    summary["steps"] = Value::Array(
        steps
            .iter()
            .map(|s| json!({"step": s.step, "status": s.status, "attempts": s.attempts, "last_error": s.last_error, "node_index": s.node_index}))
            .collect(),
    );
    Ok(Json(summary))
}

fn event(node: &StoredNode) -> Value {
    let body: Value = serde_json::from_slice::<Value>(&node.bytes)
        .map(|v| v["body"].clone())
        .unwrap_or(Value::Null);
    json!({
        "index": node.index,
        "kind": node.kind,
        "recorded_at": node.recorded_at.to_string(),
        "leaf_hash": hex::encode(node.leaf_hash),
        "body": body,
    })
}

/// A case's line in the sync log; its status is derived from the ledger's nodes.
async fn summarize(state: &AppState, org: &str, case: &CaseRow) -> Result<Value, ApiError> {
    let nodes = state.ledger.case_nodes(org, &case.case_id).await?;
    let mine = |kind: &str| {
        nodes
            .iter()
            .any(|n| n.kind == kind && n.case_id.as_deref() == Some(case.case_id.as_str()))
    };
    let steps = store::steps(&state.db, org, &case.case_id).await?;
    let attention = steps.iter().any(|s| s.status == "needs_attention");
    let status = derive_status(mine("admin_override"), mine("case_completed"), attention);
    let trigger = nodes
        .iter()
        .find(|n| n.index == case.trigger_index)
        .map(|t| t.recorded_at.to_string());
    let employee = directory::employee(&state.db, org, &case.employee_id).await?;
    Ok(line(case, employee.map(|e| e.email), trigger, status))
}
