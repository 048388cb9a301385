//! Fake Anthropic Admin API (platform.claude.com Admin API shapes; samples
//! `anthropic-*.json`). Keys survive their user's removal; admins cannot be removed.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Control, Gate, page, param};

type Q = Query<Vec<(String, String)>>;

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: String,
}

#[derive(Clone, Debug)]
pub struct Workspace {
    pub id: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: String,
    pub status: String,
    pub created_by: Option<String>,
    pub principal: Option<String>,
    pub workspace_id: String,
}

#[derive(Clone, Debug)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub status: String,
}

#[derive(Debug, Default)]
pub struct OrgState {
    pub users: Vec<User>,
    pub workspaces: Vec<Workspace>,
    pub api_keys: Vec<ApiKey>,
    pub invites: Vec<Invite>,
    pub page_cap: usize,
}

type Org = Arc<Mutex<OrgState>>;

pub struct Fake {
    pub control: Arc<Control>,
    pub state: Org,
    pub base_url: String,
}

/// Start the fake; it accepts `x-api-key: <admin_key>` with `anthropic-version: 2023-06-01`.
pub async fn start(state: OrgState, admin_key: &'static str) -> Fake {
    let state = Arc::new(Mutex::new(state));
    let control = Arc::new(Control::default());
    let router = Router::new()
        .route("/v1/organizations/users", get(list_users))
        .route(
            "/v1/organizations/users/{user_id}",
            axum::routing::delete(delete_user),
        )
        .route("/v1/organizations/workspaces", get(list_workspaces))
        .route(
            "/v1/organizations/workspaces/{workspace_id}/members/{user_id}",
            get(get_member).delete(delete_member),
        )
        .route("/v1/organizations/api_keys", get(list_keys))
        .route("/v1/organizations/api_keys/{api_key_id}", post(update_key))
        .route("/v1/organizations/invites", get(list_invites))
        .route(
            "/v1/organizations/invites/{invite_id}",
            axum::routing::delete(delete_invite),
        )
        .with_state(state.clone());
    let gate = Gate {
        control: control.clone(),
        authenticate: Arc::new(move |_path: &str, headers: &HeaderMap| {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            if header("anthropic-version") != Some("2023-06-01") {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "anthropic-version header is required".into(),
                ));
            }
            match header("x-api-key") {
                Some(k) if k == admin_key => Ok(()),
                _ => Err((StatusCode::UNAUTHORIZED, "invalid x-api-key".into())),
            }
        }),
        error_body,
        request_id_header: "request-id",
    };
    let addr = super::serve(router, gate).await;
    Fake {
        control,
        state,
        base_url: format!("http://{addr}"),
    }
}

pub fn error_body(status: StatusCode, message: &str) -> Value {
    let kind = match status.as_u16() {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

fn fail(status: StatusCode, message: &str) -> Response {
    (status, Json(error_body(status, message))).into_response()
}

fn list<T: Clone>(
    items: &[T],
    id: impl Fn(&T) -> &str,
    q: &[(String, String)],
    cap: usize,
    f: impl Fn(&T) -> Value,
) -> Response {
    let limit = param(q, "limit").and_then(|l| l.parse().ok());
    let (data, has_more) = page(items, &id, param(q, "after_id"), limit, cap);
    Json(json!({
        "data": data.iter().map(f).collect::<Vec<_>>(),
        "first_id": data.first().map(|i| id(i).to_owned()),
        "last_id": data.last().map(|i| id(i).to_owned()),
        "has_more": has_more,
    }))
    .into_response()
}

async fn list_users(State(org): State<Org>, Query(q): Q) -> Response {
    let org = org.lock().unwrap();
    let email = param(&q, "email");
    let users: Vec<User> = org
        .users
        .iter()
        .filter(|u| email.is_none_or(|e| e.eq_ignore_ascii_case(&u.email)))
        .cloned()
        .collect();
    list(
        &users,
        |u| &u.id,
        &q,
        org.page_cap,
        |u| {
            json!({"id": u.id, "added_at": "2024-10-30T23:58:27.427722Z", "email": u.email,
               "name": u.id, "role": u.role, "type": "user"})
        },
    )
}

async fn delete_user(State(org): State<Org>, Path(user_id): Path<String>) -> Response {
    let mut org = org.lock().unwrap();
    let Some(index) = org.users.iter().position(|u| u.id == user_id) else {
        return fail(StatusCode::NOT_FOUND, "User not found");
    };
    if org.users[index].role == "admin" {
        return fail(
            StatusCode::BAD_REQUEST,
            "Admins cannot be removed through the API",
        );
    }
    org.users.remove(index);
    for workspace in &mut org.workspaces {
        workspace.members.retain(|m| *m != user_id);
    }
    Json(json!({"id": user_id, "type": "user_deleted"})).into_response()
}

async fn list_workspaces(State(org): State<Org>, Query(q): Q) -> Response {
    let org = org.lock().unwrap();
    list(
        &org.workspaces,
        |w| &w.id,
        &q,
        org.page_cap,
        |w| {
            json!({"id": w.id, "type": "workspace", "name": w.id, "created_at": "2024-10-30T23:58:27.427722Z",
               "archived_at": null, "display_color": "#6C5BB9"})
        },
    )
}

async fn get_member(
    State(org): State<Org>,
    Path((workspace_id, user_id)): Path<(String, String)>,
) -> Response {
    let org = org.lock().unwrap();
    if org
        .workspaces
        .iter()
        .any(|w| w.id == workspace_id && w.members.contains(&user_id))
    {
        Json(
            json!({"type": "workspace_member", "user_id": user_id, "workspace_id": workspace_id,
                    "workspace_role": "workspace_developer"}),
        )
        .into_response()
    } else {
        fail(StatusCode::NOT_FOUND, "Workspace member not found")
    }
}

async fn delete_member(
    State(org): State<Org>,
    Path((workspace_id, user_id)): Path<(String, String)>,
) -> Response {
    let mut org = org.lock().unwrap();
    let Some(workspace) = org.workspaces.iter_mut().find(|w| w.id == workspace_id) else {
        return fail(StatusCode::NOT_FOUND, "Workspace not found");
    };
    let before = workspace.members.len();
    workspace.members.retain(|m| *m != user_id);
    if workspace.members.len() == before {
        return fail(StatusCode::NOT_FOUND, "Workspace member not found");
    }
    Json(json!({"type": "workspace_member_deleted", "user_id": user_id, "workspace_id": workspace_id})).into_response()
}

fn key_json(k: &ApiKey) -> Value {
    json!({
        "id": k.id, "created_at": "2024-10-30T23:58:27.427722Z",
        "created_by": k.created_by.as_ref().map(|id| json!({"id": id, "type": "user"})),
        "expires_at": null, "name": k.id, "partial_key_hint": "sk-ant-api03-R2D...igAA",
        "principal": k.principal.as_ref().map(|id| json!({"type": "user_actor", "user_id": id})),
        "scope": {"type": "workspace", "workspace_id": k.workspace_id},
        "status": k.status, "type": "api_key", "workspace_id": k.workspace_id,
    })
}

async fn list_keys(State(org): State<Org>, Query(q): Q) -> Response {
    let org = org.lock().unwrap();
    let status = param(&q, "status");
    let creator = param(&q, "created_by_user_id");
    let workspace = param(&q, "workspace_id");
    let keys: Vec<ApiKey> = org
        .api_keys
        .iter()
        .filter(|k| status.is_none_or(|s| s == k.status))
        .filter(|k| creator.is_none_or(|c| k.created_by.as_deref() == Some(c)))
        .filter(|k| workspace.is_none_or(|w| w == k.workspace_id))
        .cloned()
        .collect();
    list(&keys, |k| &k.id, &q, org.page_cap, key_json)
}

async fn update_key(
    State(org): State<Org>,
    Path(key_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut org = org.lock().unwrap();
    let Some(key) = org.api_keys.iter_mut().find(|k| k.id == key_id) else {
        return fail(StatusCode::NOT_FOUND, "API key not found");
    };
    match body.get("status").and_then(Value::as_str) {
        Some(s @ ("active" | "inactive" | "archived")) => key.status = s.to_owned(),
        Some(_) => return fail(StatusCode::BAD_REQUEST, "invalid status"),
        None => {}
    }
    Json(key_json(key)).into_response()
}

async fn list_invites(State(org): State<Org>, Query(q): Q) -> Response {
    let org = org.lock().unwrap();
    list(
        &org.invites,
        |i| &i.id,
        &q,
        org.page_cap,
        |i| {
            json!({"id": i.id, "type": "invite", "email": i.email, "role": "user", "status": i.status,
               "invited_at": "2024-10-30T23:58:27.427722Z", "expires_at": "2024-11-20T23:58:27.427722Z"})
        },
    )
}

async fn delete_invite(State(org): State<Org>, Path(invite_id): Path<String>) -> Response {
    let mut org = org.lock().unwrap();
    let before = org.invites.len();
    org.invites.retain(|i| i.id != invite_id);
    if org.invites.len() == before {
        return fail(StatusCode::NOT_FOUND, "Invite not found");
    }
    Json(json!({"id": invite_id, "type": "invite_deleted"})).into_response()
}
