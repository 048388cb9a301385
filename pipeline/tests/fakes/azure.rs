//! Fake Azure Resource Manager role assignments (api-version 2022-04-01; samples
//! `azure-role-assignment*.json`) and Microsoft Graph users, on one server: ARM paths
//! take the ARM token, `/v1.0/…` the Graph token.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Control, Gate, param};

type Q = Query<Vec<(String, String)>>;

const RA: &str = "providers/Microsoft.Authorization/roleAssignments";
/// Templates of the three scope levels the fake serves.
pub const SUB: &str = "/subscriptions/{sub}";
pub const RG: &str = "/subscriptions/{sub}/resourceGroups/{rg}";
pub const ACCOUNT: &str = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{account}";

#[derive(Clone, Debug)]
pub struct Assignment {
    pub name: String,
    pub scope: String,
    pub principal_id: String,
}

impl Assignment {
    pub fn id(&self) -> String {
        format!("{}/{RA}/{}", self.scope, self.name)
    }
}

#[derive(Clone, Debug)]
pub struct EntraUser {
    pub id: String,
    pub account_enabled: bool,
    pub sessions_revoked: u32,
}

#[derive(Debug, Default)]
pub struct TenantState {
    pub assignments: Vec<Assignment>,
    pub users: Vec<EntraUser>,
    pub page_cap: usize,
    /// The fake's own origin, for `nextLink`s.
    pub origin: String,
    /// Send this host in `nextLink` instead (to test that the client refuses it).
    pub foreign_next_link: Option<String>,
}

type Tenant = Arc<Mutex<TenantState>>;

pub struct Fake {
    pub control: Arc<Control>,
    pub state: Tenant,
    pub base_url: String,
}

/// Start the fake with its ARM and Graph bearer tokens.
pub async fn start(state: TenantState, arm_token: &'static str, graph_token: &'static str) -> Fake {
    let state = Arc::new(Mutex::new(state));
    let control = Arc::new(Control::default());
    let mut router = Router::new()
        .route("/v1.0/users/{id}", get(get_user).patch(patch_user))
        .route(
            "/v1.0/users/{id}/revokeSignInSessions",
            post(revoke_sessions),
        );
    for scope in [SUB, RG, ACCOUNT] {
        router = router
            .route(&format!("{scope}/{RA}"), get(list_assignments))
            .route(
                &format!("{scope}/{RA}/{{name}}"),
                axum::routing::delete(delete_assignment),
            );
    }
    let router = router.with_state(state.clone());
    let gate = Gate {
        control: control.clone(),
        authenticate: Arc::new(move |path: &str, headers: &HeaderMap| {
            let token = if path.starts_with("/v1.0/") {
                graph_token
            } else {
                arm_token
            };
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some(v) if v == format!("Bearer {token}") => Ok(()),
                _ => Err((
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationToken".into(),
                )),
            }
        }),
        error_body,
        request_id_header: "x-ms-request-id",
    };
    let addr = super::serve(router, gate).await;
    state.lock().unwrap().origin = format!("http://{addr}");
    Fake {
        control,
        state,
        base_url: format!("http://{addr}"),
    }
}

pub fn error_body(status: StatusCode, message: &str) -> Value {
    json!({"error": {"code": status.canonical_reason().unwrap_or("Error"), "message": message}})
}

fn fail(status: StatusCode, message: &str) -> Response {
    (status, Json(error_body(status, message))).into_response()
}

/// The scope part of an ARM path (everything before `/providers/Microsoft.Authorization`).
fn scope_of(uri: &Uri) -> String {
    let path = uri.path();
    path.split(&format!("/{RA}"))
        .next()
        .unwrap_or(path)
        .to_owned()
}

/// At, above or below: what `principalId eq` returns.
fn related(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

async fn list_assignments(State(tenant): State<Tenant>, uri: Uri, Query(q): Q) -> Response {
    if param(&q, "api-version") != Some("2022-04-01") {
        return fail(StatusCode::BAD_REQUEST, "MissingApiVersionParameter");
    }
    let Some(principal) = param(&q, "$filter")
        .and_then(|f| f.strip_prefix("principalId eq '"))
        .and_then(|f| f.strip_suffix('\''))
    else {
        return fail(
            StatusCode::BAD_REQUEST,
            "this fake only serves principalId filters",
        );
    };
    let tenant = tenant.lock().unwrap();
    let scope = scope_of(&uri);
    let matching: Vec<&Assignment> = tenant
        .assignments
        .iter()
        .filter(|a| a.principal_id == principal && related(&a.scope, &scope))
        .collect();
    let skip: usize = param(&q, "$skipToken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let cap = tenant.page_cap.max(1);
    let value: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(cap)
        .map(|a| assignment_json(a))
        .collect();
    let next = (skip + cap < matching.len()).then(|| {
        let origin = tenant.foreign_next_link.clone().unwrap_or_else(|| tenant.origin.clone());
        format!(
            "{origin}{}?api-version=2022-04-01&$filter=principalId%20eq%20%27{principal}%27&$skipToken={}",
            uri.path(),
            skip + cap
        )
    });
    let mut body = json!({ "value": value });
    if let Some(next) = next {
        body["nextLink"] = json!(next);
    }
    Json(body).into_response()
}

fn assignment_json(a: &Assignment) -> Value {
    json!({
        "properties": {
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
            "principalId": a.principal_id,
            "principalType": "User",
            "scope": a.scope,
        },
        "id": a.id(),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": a.name,
    })
}

async fn delete_assignment(
    State(tenant): State<Tenant>,
    uri: Uri,
    Path(params): Path<Vec<(String, String)>>,
    Query(q): Q,
) -> Response {
    if param(&q, "api-version") != Some("2022-04-01") {
        return fail(StatusCode::BAD_REQUEST, "MissingApiVersionParameter");
    }
    let name = params
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let scope = scope_of(&uri);
    let mut tenant = tenant.lock().unwrap();
    let found = tenant
        .assignments
        .iter()
        .position(|a| a.name == name && a.scope.eq_ignore_ascii_case(&scope));
    match found {
        Some(index) => Json(assignment_json(&tenant.assignments.remove(index))).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn get_user(State(tenant): State<Tenant>, Path(id): Path<String>) -> Response {
    let tenant = tenant.lock().unwrap();
    match tenant.users.iter().find(|u| u.id == id) {
        Some(u) => Json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,accountEnabled)/$entity",
            "id": u.id, "accountEnabled": u.account_enabled
        }))
        .into_response(),
        None => fail(StatusCode::NOT_FOUND, "Resource does not exist"),
    }
}

async fn patch_user(
    State(tenant): State<Tenant>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut tenant = tenant.lock().unwrap();
    let Some(user) = tenant.users.iter_mut().find(|u| u.id == id) else {
        return fail(StatusCode::NOT_FOUND, "Resource does not exist");
    };
    if let Some(enabled) = body.get("accountEnabled").and_then(Value::as_bool) {
        user.account_enabled = enabled;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn revoke_sessions(State(tenant): State<Tenant>, Path(id): Path<String>) -> Response {
    let mut tenant = tenant.lock().unwrap();
    let Some(user) = tenant.users.iter_mut().find(|u| u.id == id) else {
        return fail(StatusCode::NOT_FOUND, "Resource does not exist");
    };
    user.sessions_revoked += 1;
    Json(json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})).into_response()
}
