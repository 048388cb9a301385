//! Fake Azure Resource Manager role assignments (api-version 2022-04-01; samples
//! `azure-role-assignment*.json`), Microsoft Graph users and groups, and the Microsoft
//! identity platform's token endpoint, on one server.
//!
//! ARM paths take an ARM token, `/v1.0/…` a Graph token: the static tokens given to
//! [`start`], or tokens the fake issued for that audience at
//! `POST /{tenant}/oauth2/v2.0/token` (client credentials, form-encoded). A token
//! issued for the other audience is refused with `401`, as Azure does.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
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

/// An Entra group; its members are user or group ids (groups nest).
#[derive(Clone, Debug, Default)]
pub struct Group {
    pub id: String,
    pub members: Vec<String>,
    /// A dynamic-membership group: Graph refuses to change its members by hand.
    pub dynamic: bool,
}

/// The app registration the token endpoint knows.
#[derive(Clone, Debug)]
pub struct App {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Who a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Arm,
    Graph,
}

pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

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
    /// Entra groups (their members may be groups).
    pub groups: Vec<Group>,
    /// The app the token endpoint issues tokens to; none: it issues nothing.
    pub app: Option<App>,
    /// Answer this many token requests with `503 temporarily_unavailable` first.
    pub token_outages: u32,
    /// Every token issued, with its audience.
    pub issued: Vec<(String, Audience)>,
    /// The `expires_in` of issued tokens, in seconds (default 3599, as Entra).
    pub token_lifetime: Option<u64>,
}

impl TenantState {
    /// How many tokens were issued for `audience`.
    pub fn issued(&self, audience: Audience) -> usize {
        self.issued.iter().filter(|(_, a)| *a == audience).count()
    }

    fn is_group(&self, id: &str) -> bool {
        self.groups.iter().any(|g| g.id.eq_ignore_ascii_case(id))
    }

    /// The groups `member` is in, directly or through other groups.
    fn groups_of(&self, member: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut frontier = vec![member.to_ascii_lowercase()];
        while let Some(m) = frontier.pop() {
            for g in &self.groups {
                let id = g.id.to_ascii_lowercase();
                if !found.contains(&id) && g.members.iter().any(|x| x.eq_ignore_ascii_case(&m)) {
                    found.push(id.clone());
                    frontier.push(id);
                }
            }
        }
        found
    }
}

type Tenant = Arc<Mutex<TenantState>>;

pub struct Fake {
    pub control: Arc<Control>,
    pub state: Tenant,
    pub base_url: String,
}

/// Start the fake with its static ARM and Graph bearer tokens (also accepted: the
/// tokens it issues to `state.app`).
pub async fn start(state: TenantState, arm_token: &'static str, graph_token: &'static str) -> Fake {
    let state = Arc::new(Mutex::new(state));
    let control = Arc::new(Control::default());
    let mut router = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(issue_token))
        .route("/v1.0/users/{id}", get(get_user).patch(patch_user))
        .route(
            "/v1.0/users/{id}/revokeSignInSessions",
            post(revoke_sessions),
        )
        .route(
            "/v1.0/users/{id}/checkMemberGroups",
            post(check_member_groups),
        )
        .route(
            "/v1.0/groups/{group}/members/{member}/$ref",
            delete(remove_member),
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
    let tenant = state.clone();
    let gate = Gate {
        control: control.clone(),
        authenticate: Arc::new(move |path: &str, headers: &HeaderMap| {
            if path.ends_with("/oauth2/v2.0/token") {
                return Ok(()); // The client authenticates in the form.
            }
            let (audience, static_token) = if path.starts_with("/v1.0/") {
                (Audience::Graph, graph_token)
            } else {
                (Audience::Arm, arm_token)
            };
            let presented = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            let issued = tenant
                .lock()
                .unwrap()
                .issued
                .iter()
                .any(|(token, a)| token == presented && *a == audience);
            if !presented.is_empty() && (presented == static_token || issued) {
                Ok(())
            } else {
                Err((
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationToken".into(),
                ))
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

/// At, above or below: what `principalId eq` and `assignedTo` return.
fn related(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

async fn list_assignments(State(tenant): State<Tenant>, uri: Uri, Query(q): Q) -> Response {
    if param(&q, "api-version") != Some("2022-04-01") {
        return fail(StatusCode::BAD_REQUEST, "MissingApiVersionParameter");
    }
    let filter = param(&q, "$filter").unwrap_or_default().to_owned();
    let tenant = tenant.lock().unwrap();
    // `principalId eq '{id}'`: that principal's own; `assignedTo('{id}')`: also those of
    // every group it is in, nested groups included.
    let holders: Vec<String> = if let Some(id) = quoted(&filter, "principalId eq '", "'") {
        vec![id.to_ascii_lowercase()]
    } else if let Some(id) = quoted(&filter, "assignedTo('", "')") {
        let mut holders = tenant.groups_of(id);
        holders.push(id.to_ascii_lowercase());
        holders
    } else {
        return fail(
            StatusCode::BAD_REQUEST,
            "this fake serves principalId and assignedTo filters",
        );
    };
    let scope = scope_of(&uri);
    let matching: Vec<&Assignment> = tenant
        .assignments
        .iter()
        .filter(|a| holders.contains(&a.principal_id.to_ascii_lowercase()))
        .filter(|a| related(&a.scope, &scope))
        .collect();
    let skip: usize = param(&q, "$skipToken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let cap = tenant.page_cap.max(1);
    let value: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(cap)
        .map(|a| assignment_json(a, tenant.is_group(&a.principal_id)))
        .collect();
    let next = (skip + cap < matching.len()).then(|| {
        let origin = tenant
            .foreign_next_link
            .clone()
            .unwrap_or_else(|| tenant.origin.clone());
        format!(
            "{origin}{}?api-version=2022-04-01&$filter={}&$skipToken={}",
            uri.path(),
            encode(&filter),
            skip + cap
        )
    });
    let mut body = json!({ "value": value });
    if let Some(next) = next {
        body["nextLink"] = json!(next);
    }
    Json(body).into_response()
}

/// `id` in `filter` = `{prefix}{id}{suffix}`.
fn quoted<'a>(filter: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    filter.strip_prefix(prefix)?.strip_suffix(suffix)
}

/// Percent-encode everything but RFC 3986 unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn assignment_json(a: &Assignment, group: bool) -> Value {
    json!({
        "properties": {
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
            "principalId": a.principal_id,
            "principalType": if group { "Group" } else { "User" },
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
        Some(index) => {
            let removed = tenant.assignments.remove(index);
            Json(assignment_json(
                &removed,
                tenant.is_group(&removed.principal_id),
            ))
            .into_response()
        }
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

/// An identity platform error answer (`{"error", "error_description", "error_codes", …}`).
fn refuse(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description}\r\nTrace ID: 0b1f6471-1bf0-4dda-aec3-0000000000aa\r\n\
             Correlation ID: 0b1f6471-1bf0-4dda-aec3-0000000000bb\r\nTimestamp: 2026-01-01 00:00:00Z"
        ),
        "error_codes": [code],
        "timestamp": "2026-01-01 00:00:00Z",
        "trace_id": "0b1f6471-1bf0-4dda-aec3-0000000000aa",
        "correlation_id": "0b1f6471-1bf0-4dda-aec3-0000000000bb",
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, Json(body)).into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token` with the client-credentials grant: a random
/// opaque token for the scope's audience.
async fn issue_token(
    State(tenant): State<Tenant>,
    Path(tenant_id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let mut tenant = tenant.lock().unwrap();
    if tenant.token_outages > 0 {
        tenant.token_outages -= 1;
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            50196,
            "The server is temporarily too busy to handle the request.",
        );
    }
    let Some(app) = tenant.app.clone().filter(|a| a.tenant_id == tenant_id) else {
        let message = format!("Tenant '{tenant_id}' not found.");
        return refuse(StatusCode::BAD_REQUEST, "invalid_request", 90002, &message);
    };
    if param(&form, "grant_type") != Some("client_credentials") {
        let message = "The provided value for the input parameter 'grant_type' is not valid.";
        return refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            message,
        );
    }
    let client_id = param(&form, "client_id").unwrap_or_default();
    if client_id != app.client_id {
        let message = format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant_id}'."
        );
        return refuse(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &message,
        );
    }
    if param(&form, "client_secret") != Some(app.client_secret.as_str()) {
        let message = format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the \
             client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        );
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &message,
        );
    }
    let audience = match param(&form, "scope") {
        Some(ARM_SCOPE) => Audience::Arm,
        Some(GRAPH_SCOPE) => Audience::Graph,
        _ => {
            let message = "The provided value for the input parameter 'scope' is not valid.";
            return refuse(StatusCode::BAD_REQUEST, "invalid_scope", 70011, message);
        }
    };
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).unwrap();
    let token = hex::encode(bytes);
    tenant.issued.push((token.clone(), audience));
    let lifetime = tenant.token_lifetime.unwrap_or(3599);
    Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }))
    .into_response()
}

/// `POST /v1.0/users/{id}/checkMemberGroups`: which of `groupIds` the user is in,
/// directly or through other groups (at most 20 ids).
async fn check_member_groups(
    State(tenant): State<Tenant>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let tenant = tenant.lock().unwrap();
    if !tenant.users.iter().any(|u| u.id == id) {
        return fail(StatusCode::NOT_FOUND, "Resource does not exist");
    }
    let Some(asked) = body.get("groupIds").and_then(Value::as_array) else {
        return fail(StatusCode::BAD_REQUEST, "groupIds is required");
    };
    if asked.len() > 20 {
        return fail(StatusCode::BAD_REQUEST, "at most 20 groupIds");
    }
    let member_of = tenant.groups_of(&id);
    let value: Vec<&Value> = asked
        .iter()
        .filter(|g| {
            g.as_str()
                .is_some_and(|g| member_of.contains(&g.to_ascii_lowercase()))
        })
        .collect();
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
        "value": value,
    }))
    .into_response()
}

/// `DELETE /v1.0/groups/{group}/members/{member}/$ref`: `204`, or `404` if the group
/// does not exist or `member` is not a direct member of it.
async fn remove_member(
    State(tenant): State<Tenant>,
    Path((group, member)): Path<(String, String)>,
) -> Response {
    let mut tenant = tenant.lock().unwrap();
    let dynamic = tenant
        .groups
        .iter()
        .any(|g| g.id.eq_ignore_ascii_case(&group) && g.dynamic);
    if dynamic {
        return fail(
            StatusCode::BAD_REQUEST,
            "Insufficient privileges to complete the operation: members of a dynamic membership group cannot be changed.",
        );
    }
    let found = tenant
        .groups
        .iter_mut()
        .find(|g| g.id.eq_ignore_ascii_case(&group))
        .and_then(|g| {
            let at = g
                .members
                .iter()
                .position(|m| m.eq_ignore_ascii_case(&member))?;
            Some(g.members.remove(at))
        });
    match found {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => fail(
            StatusCode::NOT_FOUND,
            &format!(
                "Resource '{group}' does not exist or one of its queried reference-property objects are not present."
            ),
        ),
    }
}
