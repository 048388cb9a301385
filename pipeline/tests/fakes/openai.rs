//! Fake OpenAI Admin API (`openai/openai-openapi` shapes; samples `openai-*.json`).
//! Project API key lists apply membership-based visibility unless
//! `owner_project_access=any`, as the real API documents.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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
pub struct Project {
    pub id: String,
    pub archived: bool,
    pub members: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ProjectKey {
    pub id: String,
    pub project: String,
    /// The owning user (id, email), or None for a service-account key.
    pub owner: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct AdminKey {
    pub id: String,
    pub owner: String,
    pub redacted_value: String,
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
    pub projects: Vec<Project>,
    pub project_keys: Vec<ProjectKey>,
    pub admin_keys: Vec<AdminKey>,
    pub invites: Vec<Invite>,
    /// Largest page served, whatever `limit` asks.
    pub page_cap: usize,
}

type Org = Arc<Mutex<OrgState>>;

pub struct Fake {
    pub control: Arc<Control>,
    pub state: Org,
    pub base_url: String,
}

/// Start the fake; it accepts `Authorization: Bearer <admin_key>`.
pub async fn start(state: OrgState, admin_key: &'static str) -> Fake {
    let state = Arc::new(Mutex::new(state));
    let control = Arc::new(Control::default());
    let router = Router::new()
        .route("/v1/organization/users", get(list_users))
        .route(
            "/v1/organization/users/{user_id}",
            axum::routing::delete(delete_user),
        )
        .route("/v1/organization/projects", get(list_projects))
        .route(
            "/v1/organization/projects/{project_id}/api_keys",
            get(list_keys),
        )
        .route(
            "/v1/organization/projects/{project_id}/api_keys/{key_id}",
            axum::routing::delete(delete_key),
        )
        .route(
            "/v1/organization/projects/{project_id}/users/{user_id}",
            get(get_member).delete(delete_member),
        )
        .route("/v1/organization/admin_api_keys", get(list_admin_keys))
        .route(
            "/v1/organization/admin_api_keys/{key_id}",
            axum::routing::delete(delete_admin_key),
        )
        .route("/v1/organization/invites", get(list_invites))
        .route(
            "/v1/organization/invites/{invite_id}",
            axum::routing::delete(delete_invite),
        )
        .with_state(state.clone());
    let expected = format!("Bearer {admin_key}");
    let gate = Gate {
        control: control.clone(),
        authenticate: Arc::new(move |_path: &str, headers: &HeaderMap| {
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some(v) if v == expected => Ok(()),
                _ => Err((
                    StatusCode::UNAUTHORIZED,
                    "Incorrect API key provided".into(),
                )),
            }
        }),
        error_body,
        request_id_header: "x-request-id",
    };
    let addr = super::serve(router, gate).await;
    Fake {
        control,
        state,
        base_url: format!("http://{addr}/v1"),
    }
}

pub fn error_body(status: StatusCode, message: &str) -> Value {
    let kind = if status == StatusCode::NOT_FOUND {
        "not_found_error"
    } else {
        "invalid_request_error"
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
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
) -> Json<Value> {
    let limit = param(q, "limit").and_then(|l| l.parse().ok());
    let (data, has_more) = page(items, &id, param(q, "after"), limit, cap);
    Json(json!({
        "object": "list",
        "data": data.iter().map(f).collect::<Vec<_>>(),
        "first_id": data.first().map(|i| id(i).to_owned()),
        "last_id": data.last().map(|i| id(i).to_owned()),
        "has_more": has_more,
    }))
}

fn user_json(u: &User) -> Value {
    json!({"object": "organization.user", "id": u.id, "name": u.id, "email": u.email, "role": u.role, "added_at": 1711471533})
}

async fn list_users(State(org): State<Org>, Query(q): Q) -> Json<Value> {
    let org = org.lock().unwrap();
    let emails: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "emails" || k == "emails[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let users: Vec<User> = org
        .users
        .iter()
        .filter(|u| emails.is_empty() || emails.iter().any(|e| e.eq_ignore_ascii_case(&u.email)))
        .cloned()
        .collect();
    list(&users, |u| &u.id, &q, org.page_cap, user_json)
}

async fn delete_user(State(org): State<Org>, Path(user_id): Path<String>) -> Response {
    let mut org = org.lock().unwrap();
    let before = org.users.len();
    org.users.retain(|u| u.id != user_id);
    if org.users.len() == before {
        return fail(StatusCode::NOT_FOUND, "No such user");
    }
    for project in &mut org.projects {
        project.members.retain(|m| *m != user_id);
    }
    // Admin keys die with their owner; project keys stay (owner access "inactive").
    org.admin_keys.retain(|k| k.owner != user_id);
    Json(json!({"object": "organization.user.deleted", "id": user_id, "deleted": true}))
        .into_response()
}

async fn list_projects(State(org): State<Org>, Query(q): Q) -> Json<Value> {
    let org = org.lock().unwrap();
    let archived = param(&q, "include_archived") == Some("true");
    let projects: Vec<Project> = org
        .projects
        .iter()
        .filter(|p| archived || !p.archived)
        .cloned()
        .collect();
    list(
        &projects,
        |p| &p.id,
        &q,
        org.page_cap,
        |p| {
            json!({"id": p.id, "object": "organization.project", "name": p.id, "created_at": 1711471533,
               "archived_at": if p.archived { json!(1711471534) } else { Value::Null },
               "status": if p.archived { "archived" } else { "active" }})
        },
    )
}

async fn list_keys(
    State(org): State<Org>,
    Path(project_id): Path<String>,
    Query(q): Q,
) -> Response {
    let org = org.lock().unwrap();
    let Some(project) = org.projects.iter().find(|p| p.id == project_id) else {
        return fail(StatusCode::NOT_FOUND, "No such project");
    };
    let access = |k: &ProjectKey| match &k.owner {
        Some((id, _)) if project.members.contains(id) => "active",
        Some(_) => "inactive",
        None => "active",
    };
    let wanted = param(&q, "owner_project_access");
    let keys: Vec<ProjectKey> = org
        .project_keys
        .iter()
        .filter(|k| k.project == project_id)
        .filter(|k| match wanted {
            Some("any") => true,
            Some(w) => access(k) == w,
            // Membership-based visibility: may exclude enabled keys.
            None => access(k) == "active",
        })
        .cloned()
        .collect();
    list(&keys, |k| &k.id, &q, org.page_cap, |k| {
        let owner = match &k.owner {
            Some((id, email)) => json!({"type": "user", "user": {"id": id, "name": id, "email": email, "role": "member", "created_at": 1711471533}}),
            None => json!({"type": "service_account", "service_account": {"id": "svc_acct_abc", "name": "svc", "role": "member", "created_at": 1711471533}}),
        };
        json!({"object": "organization.project.api_key", "redacted_value": "sk-abc...def", "name": k.id,
               "created_at": 1711471533, "last_used_at": 1711471534, "id": k.id,
               "owner_project_access": access(k), "owner": owner})
    })
    .into_response()
}

async fn delete_key(
    State(org): State<Org>,
    Path((project_id, key_id)): Path<(String, String)>,
) -> Response {
    let mut org = org.lock().unwrap();
    let Some(index) = org
        .project_keys
        .iter()
        .position(|k| k.id == key_id && k.project == project_id)
    else {
        return fail(StatusCode::NOT_FOUND, "No such API key");
    };
    if org.project_keys[index].owner.is_none() {
        return fail(
            StatusCode::BAD_REQUEST,
            "Service account keys cannot be deleted here",
        );
    }
    org.project_keys.remove(index);
    Json(json!({"object": "organization.project.api_key.deleted", "id": key_id, "deleted": true}))
        .into_response()
}

async fn get_member(
    State(org): State<Org>,
    Path((project_id, user_id)): Path<(String, String)>,
) -> Response {
    let org = org.lock().unwrap();
    let member = org
        .projects
        .iter()
        .any(|p| p.id == project_id && p.members.contains(&user_id));
    match org
        .users
        .iter()
        .find(|u| u.id == user_id)
        .filter(|_| member)
    {
        Some(u) => Json(
            json!({"object": "organization.project.user", "id": u.id, "name": u.id,
                               "email": u.email, "role": "member", "added_at": 1711471533}),
        )
        .into_response(),
        None => fail(StatusCode::NOT_FOUND, "No such project user"),
    }
}

async fn delete_member(
    State(org): State<Org>,
    Path((project_id, user_id)): Path<(String, String)>,
) -> Response {
    let mut org = org.lock().unwrap();
    let Some(project) = org.projects.iter_mut().find(|p| p.id == project_id) else {
        return fail(StatusCode::NOT_FOUND, "No such project");
    };
    if project.archived {
        return fail(StatusCode::BAD_REQUEST, "Project is archived");
    }
    let before = project.members.len();
    project.members.retain(|m| *m != user_id);
    if project.members.len() == before {
        return fail(StatusCode::NOT_FOUND, "No such project user");
    }
    Json(json!({"object": "organization.project.user.deleted", "id": user_id, "deleted": true}))
        .into_response()
}

async fn list_admin_keys(State(org): State<Org>, Query(q): Q) -> Json<Value> {
    let org = org.lock().unwrap();
    list(
        &org.admin_keys,
        |k| &k.id,
        &q,
        org.page_cap,
        |k| {
            json!({"object": "organization.admin_api_key", "id": k.id, "name": k.id,
               "redacted_value": k.redacted_value, "created_at": 1711471533,
               "last_used_at": 1711471534,
               "owner": {"type": "user", "object": "organization.user", "id": k.owner,
                         "name": k.owner, "created_at": 1711471533, "role": "owner"}})
        },
    )
}

async fn delete_admin_key(State(org): State<Org>, Path(key_id): Path<String>) -> Response {
    let mut org = org.lock().unwrap();
    let before = org.admin_keys.len();
    org.admin_keys.retain(|k| k.id != key_id);
    if org.admin_keys.len() == before {
        return fail(StatusCode::NOT_FOUND, "No such admin API key");
    }
    Json(json!({"id": key_id, "object": "organization.admin_api_key.deleted", "deleted": true}))
        .into_response()
}

async fn list_invites(State(org): State<Org>, Query(q): Q) -> Json<Value> {
    let org = org.lock().unwrap();
    list(
        &org.invites,
        |i| &i.id,
        &q,
        org.page_cap,
        |i| {
            json!({"object": "organization.invite", "id": i.id, "email": i.email, "role": "reader",
               "status": i.status, "invited_at": 1711471533, "expires_at": 1711471533,
               "accepted_at": null, "projects": []})
        },
    )
}

async fn delete_invite(State(org): State<Org>, Path(invite_id): Path<String>) -> Response {
    let mut org = org.lock().unwrap();
    let Some(index) = org.invites.iter().position(|i| i.id == invite_id) else {
        return fail(StatusCode::NOT_FOUND, "No such invite");
    };
    if org.invites[index].status == "accepted" {
        return fail(
            StatusCode::BAD_REQUEST,
            "Accepted invites cannot be deleted",
        );
    }
    org.invites.remove(index);
    Json(json!({"object": "organization.invite.deleted", "id": invite_id, "deleted": true}))
        .into_response()
}
