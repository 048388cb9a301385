//! Provider revocation against local fake servers that follow the documented wire
//! formats (`tests/fakes/`). Call counters show each side effect happened once, and
//! that a second run performs none.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fakes;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use custody_pipeline::providers::{
    Action, ActionJournal, ActionOutcome, AzureSettings, EntraApp, JournalFuture, Leaver,
    NoJournal, ProviderConfig, ProviderError, RetryPolicy, Revocation, Secret, build,
};
use fakes::{Fault, anthropic as ant, azure as az, openai as oai};

const OPENAI_KEY: &str = "sk-admin-OPENAI-SECRET-0123-def";
const ANTHROPIC_KEY: &str = "sk-ant-admin01-ANTHROPIC-SECRET";
const ARM_TOKEN: &str = "eyJ-ARM-SECRET-TOKEN";
const GRAPH_TOKEN: &str = "eyJ-GRAPH-SECRET-TOKEN";
const PRINCIPAL: &str = "ce2ce14e-85d7-4629-bdbc-454d0519d987";

fn fast() -> RetryPolicy {
    RetryPolicy {
        request_timeout: Duration::from_millis(1500),
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    }
}

fn leaver() -> Leaver {
    Leaver {
        email: "Leaver@Example.com".into(),
        display_name: Some("Lee Leaver".into()),
        azure_principal_id: Some(PRINCIPAL.into()),
    }
}

/// A journal that keeps what it is told, to compare with what the revocation returned.
#[derive(Default)]
struct Kept(Mutex<Vec<Action>>);

impl ActionJournal for Kept {
    fn performed<'a>(&'a self, action: &'a Action) -> JournalFuture<'a> {
        self.0.lock().unwrap().push(action.clone());
        Box::pin(std::future::ready(()))
    }
}

impl Kept {
    fn actions(&self) -> Vec<Action> {
        self.0.lock().unwrap().clone()
    }
}

/// Every action that changed something was journaled, in order, and nothing else was.
fn journaled_exactly_the_changes(kept: &Kept, revocation: &Revocation) {
    let changes: Vec<Action> = revocation
        .actions
        .iter()
        .filter(|a| a.outcome != ActionOutcome::AlreadyGone)
        .cloned()
        .collect();
    assert!(!changes.is_empty());
    assert_eq!(kept.actions(), changes);
}

fn count(revocation: &Revocation, action: &str, outcome: ActionOutcome) -> usize {
    revocation
        .actions
        .iter()
        .filter(|a| a.action == action && a.outcome == outcome)
        .count()
}

// ---------------------------------------------------------------- OpenAI

const U_DEL: &str = "/v1/organization/users/{user_id}";
const KEY_DEL: &str = "/v1/organization/projects/{project_id}/api_keys/{key_id}";
const MEMBER: &str = "/v1/organization/projects/{project_id}/users/{user_id}";
const ADMIN_DEL: &str = "/v1/organization/admin_api_keys/{key_id}";
const INVITE_DEL: &str = "/v1/organization/invites/{invite_id}";
const PROJECTS: &str = "/v1/organization/projects";

fn openai_org() -> oai::OrgState {
    let user = |id: &str, email: &str| oai::User {
        id: id.into(),
        email: email.into(),
        role: "reader".into(),
    };
    let project = |id: &str, archived: bool, members: &[&str]| oai::Project {
        id: id.into(),
        archived,
        members: members.iter().map(|m| m.to_string()).collect(),
    };
    let key = |id: &str, project: &str, owner: Option<(&str, &str)>| oai::ProjectKey {
        id: id.into(),
        project: project.into(),
        owner: owner.map(|(i, e)| (i.into(), e.into())),
    };
    let lee = Some(("user_lee", "leaver@example.com"));
    let other = Some(("user_b", "b@example.com"));
    oai::OrgState {
        users: vec![
            user("user_a", "a@example.com"),
            user("user_b", "b@example.com"),
            user("user_lee", "leaver@example.com"),
            user("user_z", "z@example.com"),
        ],
        projects: vec![
            project("proj_1", false, &["user_lee", "user_b"]),
            project("proj_2", false, &["user_b"]),
            project("proj_3", false, &["user_lee"]),
            project("proj_4", true, &["user_lee"]),
            project("proj_5", false, &["user_lee", "user_a"]),
        ],
        project_keys: vec![
            key("key_1a", "proj_1", lee),
            key("key_1b", "proj_1", other),
            key("key_1c", "proj_1", lee),
            key("key_1d", "proj_1", None),
            // Not a member of proj_2 any more: hidden without owner_project_access=any.
            key("key_2a", "proj_2", lee),
            key("key_3a", "proj_3", lee),
            key("key_5a", "proj_5", other),
        ],
        admin_keys: vec![
            oai::AdminKey {
                id: "akey_1".into(),
                owner: "user_lee".into(),
                redacted_value: "sk-admin...aaa".into(),
            },
            oai::AdminKey {
                id: "akey_2".into(),
                owner: "user_a".into(),
                redacted_value: "sk-admin...def".into(),
            },
            oai::AdminKey {
                id: "akey_3".into(),
                owner: "user_lee".into(),
                redacted_value: "sk-admin...bbb".into(),
            },
        ],
        invites: vec![
            oai::Invite {
                id: "inv_1".into(),
                email: "LEAVER@example.com".into(),
                status: "pending".into(),
            },
            oai::Invite {
                id: "inv_2".into(),
                email: "leaver@example.com".into(),
                status: "accepted".into(),
            },
            oai::Invite {
                id: "inv_3".into(),
                email: "b@example.com".into(),
                status: "pending".into(),
            },
        ],
        page_cap: 2,
    }
}

async fn openai(
    state: oai::OrgState,
    key: &str,
) -> (
    oai::Fake,
    std::sync::Arc<dyn custody_pipeline::providers::Provider>,
) {
    let fake = oai::start(state, OPENAI_KEY).await;
    let mut config = ProviderConfig::openai(fake.base_url.clone(), Secret::new(key));
    config.retry = fast();
    (fake, build(config).unwrap())
}

#[tokio::test]
async fn openai_full_revocation_each_side_effect_once() {
    let (fake, provider) = openai(openai_org(), OPENAI_KEY).await;
    let kept = Kept::default();
    let done = provider.revoke(&leaver(), &kept).await.unwrap();
    journaled_exactly_the_changes(&kept, &done);

    assert!(done.user_found);
    assert_eq!(
        count(&done, "delete_project_api_key", ActionOutcome::Done),
        4
    );
    assert_eq!(count(&done, "remove_project_user", ActionOutcome::Done), 3);
    assert_eq!(count(&done, "delete_admin_api_key", ActionOutcome::Done), 2);
    assert_eq!(count(&done, "delete_invite", ActionOutcome::Done), 1);
    assert_eq!(count(&done, "remove_org_user", ActionOutcome::Done), 1);
    assert_eq!(done.actions.last().unwrap().action, "remove_org_user");
    assert!(
        done.actions
            .iter()
            .all(|a| a.request_id.is_some() && a.http_status == 200)
    );

    let c = &fake.control;
    assert_eq!(c.served("DELETE", KEY_DEL), 4);
    assert_eq!(c.served("DELETE", MEMBER), 3);
    assert_eq!(c.served("DELETE", ADMIN_DEL), 2);
    assert_eq!(c.served("DELETE", INVITE_DEL), 1);
    assert_eq!(c.served("DELETE", U_DEL), 1);
    assert_eq!(c.served_writes(), 11);
    assert_eq!(c.calls("GET", PROJECTS), 2, "4 active projects, 2 per page");

    {
        let org = fake.state.lock().unwrap();
        let keys: Vec<&str> = org.project_keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(keys, ["key_1b", "key_1d", "key_5a"]);
        assert_eq!(org.admin_keys.len(), 1);
        assert!(org.users.iter().all(|u| u.id != "user_lee"));
        let invites: Vec<&str> = org.invites.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(invites, ["inv_2", "inv_3"]);
    }

    // The evidence serialises.
    let body = serde_json::to_value(&done).unwrap();
    assert_eq!(body["provider"], "openai");
    assert_eq!(body["actions"][0]["outcome"], "done");

    // A second run finds nothing to do and performs no side effect.
    let again = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert!(!again.user_found);
    assert_eq!(again.actions.len(), 1);
    assert_eq!(again.actions[0].action, "remove_org_user");
    assert_eq!(again.actions[0].outcome, ActionOutcome::AlreadyGone);
    assert_eq!(fake.control.served_writes(), 11);
}

#[tokio::test]
async fn openai_key_of_a_departed_user_is_still_found_by_email() {
    let mut org = openai_org();
    org.users.retain(|u| u.id != "user_lee");
    let (fake, provider) = openai(org, OPENAI_KEY).await;
    let done = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert!(!done.user_found);
    assert_eq!(
        count(&done, "delete_project_api_key", ActionOutcome::Done),
        4
    );
    assert_eq!(fake.control.served("DELETE", U_DEL), 0);
}

#[tokio::test]
async fn openai_honours_retry_after_then_succeeds() {
    let (fake, provider) = openai(openai_org(), OPENAI_KEY).await;
    fake.control
        .inject(Some("DELETE"), Some(U_DEL), Fault::RateLimited("1"), 2);
    let started = Instant::now();
    let done = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited Retry-After twice"
    );
    assert_eq!(count(&done, "remove_org_user", ActionOutcome::Done), 1);
    assert_eq!(fake.control.calls("DELETE", U_DEL), 3);
    assert_eq!(fake.control.served("DELETE", U_DEL), 1);
}

#[tokio::test]
async fn openai_long_retry_after_is_handed_to_the_engine() {
    let (fake, provider) = openai(openai_org(), OPENAI_KEY).await;
    fake.control
        .inject(None, None, Fault::RateLimited("120"), 1);
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    assert_eq!(
        error,
        ProviderError::Retryable {
            reason: "OpenAI list users: HTTP 429: rate limited".into(),
            retry_after: Some(Duration::from_secs(120)),
        }
    );
    assert_eq!(fake.control.total_calls(), 1);
}

#[tokio::test]
async fn openai_persistent_500_is_retryable_after_bounded_attempts() {
    let (fake, provider) = openai(openai_org(), OPENAI_KEY).await;
    fake.control
        .inject(Some("GET"), Some(PROJECTS), Fault::ServerError, 100);
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    assert!(
        matches!(
            error,
            ProviderError::Retryable {
                retry_after: None,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("HTTP 500"), "{error}");
    assert_eq!(fake.control.calls("GET", PROJECTS), 4);
    assert_eq!(fake.control.served_writes(), 0);
}

#[tokio::test]
async fn openai_hung_request_times_out_and_is_retried() {
    let (fake, provider) = openai(openai_org(), OPENAI_KEY).await;
    fake.control.inject(
        Some("GET"),
        Some(PROJECTS),
        Fault::Hang(Duration::from_secs(10)),
        1,
    );
    let done = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert_eq!(count(&done, "remove_org_user", ActionOutcome::Done), 1);
    assert_eq!(
        fake.control.calls("GET", PROJECTS),
        3,
        "one hung, then two pages"
    );
}

#[tokio::test]
async fn openai_rejected_key_needs_attention_and_is_never_shown() {
    let wrong = "sk-admin-WRONG-SECRET-value";
    let (fake, provider) = openai(openai_org(), wrong).await;
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    assert!(matches!(error, ProviderError::NeedsAttention { .. }));
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("credentials rejected by OpenAI (HTTP 401"),
        "{shown}"
    );
    assert!(
        !shown.contains("WRONG-SECRET") && !shown.contains("OPENAI-SECRET"),
        "{shown}"
    );
    assert_eq!(fake.control.total_calls(), 1, "no retry on 401");
}

#[tokio::test]
async fn openai_own_admin_key_goes_last() {
    let mut org = openai_org();
    org.admin_keys[0].redacted_value = "sk-admin...def".into();
    let (fake, provider) = openai(org, OPENAI_KEY).await;
    let done = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    let last = done.actions.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.target.as_str()),
        ("delete_admin_api_key", "akey_1")
    );
    // Removing the user took their admin keys with it: the late delete finds it gone.
    assert_eq!(last.outcome, ActionOutcome::AlreadyGone);
    assert_eq!(fake.control.served("DELETE", U_DEL), 1);
}

// ---------------------------------------------------------------- Anthropic

const A_KEY_UPDATE: &str = "/v1/organizations/api_keys/{api_key_id}";
const A_MEMBER: &str = "/v1/organizations/workspaces/{workspace_id}/members/{user_id}";
const A_USER_DEL: &str = "/v1/organizations/users/{user_id}";
const A_INVITE_DEL: &str = "/v1/organizations/invites/{invite_id}";

fn anthropic_org(leaver_role: &str) -> ant::OrgState {
    let user = |id: &str, email: &str, role: &str| ant::User {
        id: id.into(),
        email: email.into(),
        role: role.into(),
    };
    let ws = |id: &str, members: &[&str]| ant::Workspace {
        id: id.into(),
        members: members.iter().map(|m| m.to_string()).collect(),
    };
    let key =
        |id: &str, status: &str, created_by: Option<&str>, principal: Option<&str>| ant::ApiKey {
            id: id.into(),
            status: status.into(),
            created_by: created_by.map(Into::into),
            principal: principal.map(Into::into),
            workspace_id: "wrkspc_1".into(),
        };
    ant::OrgState {
        users: vec![
            user("user_01a", "a@example.com", "developer"),
            user("user_01lee", "leaver@example.com", leaver_role),
        ],
        workspaces: vec![
            ws("wrkspc_1", &["user_01lee", "user_01a"]),
            ws("wrkspc_2", &["user_01a"]),
            ws("wrkspc_3", &["user_01lee"]),
            ws("wrkspc_4", &[]),
            ws("wrkspc_5", &["user_01lee"]),
        ],
        api_keys: vec![
            key("apikey_1", "active", Some("user_01lee"), Some("user_01lee")),
            key("apikey_2", "active", Some("user_01a"), Some("user_01a")),
            // Legacy key: no creator, bound to the leaver.
            key("apikey_3", "active", None, Some("user_01lee")),
            key("apikey_4", "inactive", Some("user_01lee"), None),
            key("apikey_5", "active", Some("user_01lee"), None),
        ],
        invites: vec![
            ant::Invite {
                id: "invite_1".into(),
                email: "leaver@example.com".into(),
                status: "pending".into(),
            },
            ant::Invite {
                id: "invite_2".into(),
                email: "leaver@example.com".into(),
                status: "expired".into(),
            },
        ],
        page_cap: 2,
    }
}

async fn anthropic(
    state: ant::OrgState,
    key: &str,
) -> (
    ant::Fake,
    std::sync::Arc<dyn custody_pipeline::providers::Provider>,
) {
    let fake = ant::start(state, ANTHROPIC_KEY).await;
    let mut config = ProviderConfig::anthropic(fake.base_url.clone(), Secret::new(key));
    config.retry = fast();
    (fake, build(config).unwrap())
}

#[tokio::test]
async fn anthropic_full_revocation_each_side_effect_once() {
    let (fake, provider) = anthropic(anthropic_org("developer"), ANTHROPIC_KEY).await;
    let kept = Kept::default();
    let done = provider.revoke(&leaver(), &kept).await.unwrap();
    journaled_exactly_the_changes(&kept, &done);
    assert!(done.user_found);
    assert_eq!(
        count(&done, "deactivate_api_key", ActionOutcome::Disabled),
        3
    );
    assert_eq!(
        count(&done, "remove_workspace_member", ActionOutcome::Done),
        3
    );
    assert_eq!(count(&done, "delete_invite", ActionOutcome::Done), 1);
    assert_eq!(count(&done, "remove_org_user", ActionOutcome::Done), 1);

    let c = &fake.control;
    assert_eq!(c.served("POST", A_KEY_UPDATE), 3);
    assert_eq!(c.served("DELETE", A_MEMBER), 3);
    assert_eq!(c.served("DELETE", A_INVITE_DEL), 1);
    assert_eq!(c.served("DELETE", A_USER_DEL), 1);
    assert_eq!(c.served_writes(), 8);
    assert_eq!(
        c.calls("GET", "/v1/organizations/workspaces"),
        3,
        "5 workspaces, 2 per page"
    );

    {
        let org = fake.state.lock().unwrap();
        let statuses: Vec<(&str, &str)> = org
            .api_keys
            .iter()
            .map(|k| (k.id.as_str(), k.status.as_str()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("apikey_1", "inactive"),
                ("apikey_2", "active"),
                ("apikey_3", "inactive"),
                ("apikey_4", "inactive"),
                ("apikey_5", "inactive")
            ]
        );
        assert!(org.users.iter().all(|u| u.id != "user_01lee"));
    }

    let again = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert!(!again.user_found);
    assert_eq!(
        count(&again, "remove_org_user", ActionOutcome::AlreadyGone),
        1
    );
    assert_eq!(fake.control.served_writes(), 8);
}

#[tokio::test]
async fn anthropic_admin_leaver_needs_a_person_after_keys_are_disabled() {
    let (fake, provider) = anthropic(anthropic_org("admin"), ANTHROPIC_KEY).await;
    let kept = Kept::default();
    let error = provider.revoke(&leaver(), &kept).await.unwrap_err();
    // What was done before the step stopped for a person is journaled all the same.
    let disabled = kept.actions();
    assert_eq!(disabled.len(), 3);
    assert!(
        disabled
            .iter()
            .all(|a| a.action == "deactivate_api_key" && a.outcome == ActionOutcome::Disabled)
    );
    let ProviderError::NeedsAttention { reason } = &error else {
        panic!("{error}");
    };
    assert!(
        reason.contains("admin role") && reason.contains("3 API key(s) were set inactive"),
        "{reason}"
    );
    let c = &fake.control;
    assert_eq!(
        c.served("POST", A_KEY_UPDATE),
        3,
        "keys survive removal: disabled first"
    );
    assert_eq!(c.calls("DELETE", A_USER_DEL), 0);
    assert_eq!(c.calls("DELETE", A_MEMBER), 0);
    assert!(
        fake.state
            .lock()
            .unwrap()
            .users
            .iter()
            .any(|u| u.id == "user_01lee")
    );

    // Running the step again changes nothing and still asks for a person.
    let again = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    assert!(matches!(again, ProviderError::NeedsAttention { .. }));
    assert_eq!(fake.control.served_writes(), 3);
}

#[tokio::test]
async fn anthropic_rejected_key_needs_attention() {
    let (_fake, provider) =
        anthropic(anthropic_org("developer"), "sk-ant-admin01-WRONG-SECRET").await;
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("credentials rejected by Anthropic (HTTP 401"),
        "{shown}"
    );
    assert!(!shown.contains("WRONG-SECRET"), "{shown}");
}

#[tokio::test]
async fn anthropic_5xx_then_success() {
    let (fake, provider) = anthropic(anthropic_org("developer"), ANTHROPIC_KEY).await;
    fake.control
        .inject(Some("POST"), Some(A_KEY_UPDATE), Fault::ServerError, 2);
    let done = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert_eq!(
        count(&done, "deactivate_api_key", ActionOutcome::Disabled),
        3
    );
    assert_eq!(fake.control.calls("POST", A_KEY_UPDATE), 5);
    assert_eq!(fake.control.served("POST", A_KEY_UPDATE), 3);
}

// ---------------------------------------------------------------- Azure

const SUB_A: &str = "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2";
const SUB_B: &str = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333";

fn account_b() -> String {
    format!("{SUB_B}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai-prod")
}

fn tenant() -> az::TenantState {
    let assignment = |name: &str, scope: &str, principal: &str| az::Assignment {
        name: name.into(),
        scope: scope.into(),
        principal_id: principal.into(),
    };
    let rg_a = format!("{SUB_A}/resourceGroups/rg-ai");
    az::TenantState {
        assignments: vec![
            assignment("ra-1", SUB_A, PRINCIPAL),
            assignment("ra-2", &rg_a, PRINCIPAL),
            assignment(
                "ra-3",
                &format!("{rg_a}/providers/Microsoft.CognitiveServices/accounts/oai-dev"),
                PRINCIPAL,
            ),
            assignment("ra-4", &rg_a, PRINCIPAL),
            assignment("ra-5", &rg_a, PRINCIPAL),
            assignment("ra-6", &account_b(), PRINCIPAL),
            assignment("ra-other", &rg_a, "11111111-2222-3333-4444-555555555555"),
        ],
        users: vec![az::EntraUser {
            id: PRINCIPAL.into(),
            account_enabled: true,
            sessions_revoked: 0,
        }],
        page_cap: 2,
        ..az::TenantState::default()
    }
}

async fn azure(
    state: az::TenantState,
    scopes: Vec<String>,
) -> (
    az::Fake,
    std::sync::Arc<dyn custody_pipeline::providers::Provider>,
) {
    let fake = az::start(state, ARM_TOKEN, GRAPH_TOKEN).await;
    let settings = AzureSettings {
        scopes,
        graph_base_url: fake.base_url.clone(),
        graph_credential: Some(Secret::new(GRAPH_TOKEN)),
        disable_entra_account: true,
        revoke_sessions: true,
        ..AzureSettings::default()
    };
    let mut config =
        ProviderConfig::azure_openai(fake.base_url.clone(), Secret::new(ARM_TOKEN), settings);
    config.retry = fast();
    (fake, build(config).unwrap())
}

fn ra_list(scope: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments")
}

#[tokio::test]
async fn azure_full_revocation_follows_next_link_and_is_idempotent() {
    let (fake, provider) = azure(tenant(), vec![SUB_A.into(), account_b()]).await;
    let kept = Kept::default();
    let done = provider.revoke(&leaver(), &kept).await.unwrap();
    journaled_exactly_the_changes(&kept, &done);
    assert!(done.user_found);
    assert_eq!(
        count(&done, "delete_role_assignment", ActionOutcome::Done),
        6
    );
    assert_eq!(
        count(&done, "revoke_sign_in_sessions", ActionOutcome::Done),
        1
    );
    assert_eq!(
        count(&done, "disable_entra_account", ActionOutcome::Disabled),
        1
    );
    assert!(done.actions.iter().all(|a| a.request_id.is_some()));

    let c = &fake.control;
    assert_eq!(
        c.calls("GET", &ra_list(az::SUB)),
        3,
        "5 assignments, 2 per page, nextLink followed"
    );
    let deletes: u32 = [az::SUB, az::RG, az::ACCOUNT]
        .iter()
        .map(|s| c.served("DELETE", &format!("{}/{{name}}", ra_list(s))))
        .sum();
    assert_eq!(deletes, 6);
    assert_eq!(c.served("POST", "/v1.0/users/{id}/revokeSignInSessions"), 1);
    assert_eq!(c.served("PATCH", "/v1.0/users/{id}"), 1);
    {
        let t = fake.state.lock().unwrap();
        let left: Vec<&str> = t.assignments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(left, ["ra-other"]);
        assert!(!t.users[0].account_enabled);
        assert_eq!(t.users[0].sessions_revoked, 1);
    }

    let again = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert_eq!(fake.control.served_writes(), 8, "no second side effect");
    assert!(
        again
            .actions
            .iter()
            .all(|a| a.outcome == ActionOutcome::AlreadyGone),
        "{again:?}"
    );
    assert_eq!(
        count(&again, "delete_role_assignment", ActionOutcome::AlreadyGone),
        2,
        "one per scope"
    );
}

#[tokio::test]
async fn azure_grant_above_the_scopes_needs_attention() {
    let mut t = tenant();
    t.assignments.push(az::Assignment {
        name: "ra-sub-b".into(),
        scope: SUB_B.into(),
        principal_id: PRINCIPAL.into(),
    });
    let (fake, provider) = azure(t, vec![account_b()]).await;
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    let ProviderError::NeedsAttention { reason } = &error else {
        panic!("{error}");
    };
    assert!(reason.contains("above the configured scopes"), "{reason}");
    assert!(reason.contains("roleAssignments/ra-sub-b"), "{reason}");
    let names: Vec<String> = fake
        .state
        .lock()
        .unwrap()
        .assignments
        .iter()
        .map(|a| a.name.clone())
        .collect();
    assert!(
        !names.contains(&"ra-6".to_string()),
        "the in-scope grant was removed"
    );
    assert!(
        names.contains(&"ra-sub-b".to_string()),
        "the broader grant is not ours to remove"
    );
}

#[tokio::test]
async fn azure_next_link_to_another_host_is_refused() {
    let mut t = tenant();
    t.foreign_next_link = Some("http://attacker.invalid".into());
    let (fake, provider) = azure(t, vec![SUB_A.into()]).await;
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    assert!(matches!(error, ProviderError::Protocol { .. }), "{error}");
    assert_eq!(fake.control.served_writes(), 0);
}

#[tokio::test]
async fn azure_rejected_token_and_missing_principal_need_attention() {
    let fake = az::start(tenant(), ARM_TOKEN, GRAPH_TOKEN).await;
    let settings = AzureSettings {
        scopes: vec![SUB_A.into()],
        ..AzureSettings::default()
    };
    let config = ProviderConfig::azure_openai(
        fake.base_url.clone(),
        Secret::new("eyJ-STALE-SECRET"),
        settings,
    );
    let shown = format!("{config:?}");
    assert!(!shown.contains("STALE-SECRET"), "{shown}");
    let provider = build(config).unwrap();
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(
        shown.contains("credentials rejected by Azure (HTTP 401"),
        "{shown}"
    );
    assert!(!shown.contains("STALE-SECRET"), "{shown}");

    let no_id = Leaver {
        azure_principal_id: None,
        ..leaver()
    };
    let error = provider.revoke(&no_id, &NoJournal).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::NeedsAttention { .. }),
        "{error}"
    );
}

#[test]
fn configurations_that_cannot_work_are_refused() {
    let no_scopes = ProviderConfig::azure_openai(
        "http://127.0.0.1:9",
        Secret::new("t"),
        AzureSettings::default(),
    );
    assert!(matches!(
        build(no_scopes),
        Err(ProviderError::NeedsAttention { .. })
    ));
    let no_graph = AzureSettings {
        scopes: vec![SUB_A.into()],
        revoke_sessions: true,
        ..AzureSettings::default()
    };
    let config = ProviderConfig::azure_openai("http://127.0.0.1:9", Secret::new("t"), no_graph);
    assert!(matches!(
        build(config),
        Err(ProviderError::NeedsAttention { .. })
    ));
    let bad_url = ProviderConfig::openai("not a url", Secret::new("sk-admin-SECRET"));
    let error = build(bad_url).err().unwrap();
    assert!(!error.to_string().contains("SECRET"));
}

// ------------------------------------------------ Azure: client credentials, groups

const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const CLIENT_SECRET: &str = "Qx8Q~CLIENT-SECRET-value.0123";
const TOKEN: &str = "/{tenant}/oauth2/v2.0/token";
const REMOVE_MEMBER: &str = "/v1.0/groups/{group}/members/{member}/$ref";
const GROUP: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f00000001";
const OTHER_GROUP: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f00000002";
const INNER_GROUP: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f00000003";
const COLLEAGUE: &str = "11111111-2222-3333-4444-555555555555";

fn app_tenant() -> az::TenantState {
    az::TenantState {
        app: Some(az::App {
            tenant_id: TENANT_ID.into(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        ..tenant()
    }
}

/// A client signing in as the fake's app with `secret`, both Entra options on.
fn app_config(fake: &az::Fake, secret: &str, scopes: Vec<String>) -> ProviderConfig {
    let app = EntraApp {
        login_base_url: fake.base_url.clone(),
        ..EntraApp::new(TENANT_ID, CLIENT_ID)
    };
    let settings = AzureSettings {
        scopes,
        graph_base_url: fake.base_url.clone(),
        disable_entra_account: true,
        revoke_sessions: true,
        ..AzureSettings::default()
    };
    let mut config =
        ProviderConfig::azure_openai_app(fake.base_url.clone(), app, Secret::new(secret), settings);
    config.retry = fast();
    config
}

/// Served calls that changed something at Azure (token requests change nothing).
fn side_effects(fake: &az::Fake) -> u32 {
    fake.control.served_writes() - fake.control.served("POST", TOKEN)
}

fn issued(fake: &az::Fake, audience: az::Audience) -> usize {
    fake.state.lock().unwrap().issued(audience)
}

/// `tenant()` plus a group holding the leaver and a colleague, with two in-scope
/// assignments of its own, and a group the leaver is not in.
fn group_tenant() -> az::TenantState {
    let mut t = app_tenant();
    let rg_a = format!("{SUB_A}/resourceGroups/rg-ai");
    let assignment = |name: &str, scope: &str, principal: &str| az::Assignment {
        name: name.into(),
        scope: scope.into(),
        principal_id: principal.into(),
    };
    t.assignments.extend([
        assignment("ra-group", &rg_a, GROUP),
        assignment(
            "ra-group-dev",
            &format!("{rg_a}/providers/Microsoft.CognitiveServices/accounts/oai-dev"),
            GROUP,
        ),
        assignment("ra-other-group", &rg_a, OTHER_GROUP),
    ]);
    t.groups = vec![
        az::Group {
            id: GROUP.into(),
            members: vec![COLLEAGUE.into(), PRINCIPAL.into()],
            ..az::Group::default()
        },
        az::Group {
            id: OTHER_GROUP.into(),
            members: vec![COLLEAGUE.into()],
            ..az::Group::default()
        },
    ];
    t
}

fn assignment_names(fake: &az::Fake) -> Vec<String> {
    let t = fake.state.lock().unwrap();
    t.assignments.iter().map(|a| a.name.clone()).collect()
}

#[tokio::test]
async fn azure_client_credentials_fetch_tokens_and_revoke_once() {
    let fake = az::start(app_tenant(), ARM_TOKEN, GRAPH_TOKEN).await;
    let config = app_config(&fake, CLIENT_SECRET, vec![SUB_A.into(), account_b()]);
    let provider = build(config).unwrap();
    let kept = Kept::default();
    let done = provider.revoke(&leaver(), &kept).await.unwrap();
    journaled_exactly_the_changes(&kept, &done);
    assert_eq!(
        count(&done, "delete_role_assignment", ActionOutcome::Done),
        6
    );
    assert_eq!(
        count(&done, "revoke_sign_in_sessions", ActionOutcome::Done),
        1
    );
    assert_eq!(
        count(&done, "disable_entra_account", ActionOutcome::Disabled),
        1
    );
    assert_eq!(
        issued(&fake, az::Audience::Arm),
        1,
        "one ARM token per revocation"
    );
    assert_eq!(
        issued(&fake, az::Audience::Graph),
        1,
        "one Graph token per revocation"
    );
    assert_eq!(
        side_effects(&fake),
        8,
        "6 deletes, revoke sessions, disable"
    );
    assert_eq!(assignment_names(&fake), ["ra-other"]);

    let again = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert!(
        again
            .actions
            .iter()
            .all(|a| a.outcome == ActionOutcome::AlreadyGone),
        "{again:?}"
    );
    assert_eq!(side_effects(&fake), 8, "no second side effect");
    assert_eq!(
        issued(&fake, az::Audience::Arm),
        1,
        "the tokens are reused while they have more than 5 minutes left"
    );
    assert_eq!(fake.control.calls("POST", TOKEN), 2);
}

#[tokio::test]
async fn azure_tokens_about_to_expire_are_not_reused() {
    // Tokens that live 5 minutes or less are never reused: each revocation signs in.
    let tenant = az::TenantState {
        token_lifetime: Some(300),
        ..group_tenant()
    };
    let fake = az::start(tenant, ARM_TOKEN, GRAPH_TOKEN).await;
    let provider = build(app_config(&fake, CLIENT_SECRET, vec![SUB_A.into()])).unwrap();
    provider.revoke(&leaver(), &NoJournal).await.unwrap();
    provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert_eq!(issued(&fake, az::Audience::Arm), 2);
    assert_eq!(issued(&fake, az::Audience::Graph), 2);

    // Another client with a different secret for the same app never gets the cached
    // tokens of the first: a wrong secret is refused, not served from the cache.
    let fake = az::start(group_tenant(), ARM_TOKEN, GRAPH_TOKEN).await;
    let good = build(app_config(&fake, CLIENT_SECRET, vec![SUB_A.into()])).unwrap();
    good.revoke(&leaver(), &NoJournal).await.unwrap();
    let wrong = build(app_config(&fake, "not-the-secret", vec![SUB_A.into()])).unwrap();
    let error = wrong.revoke(&leaver(), &NoJournal).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::NeedsAttention { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn azure_wrong_client_secret_needs_attention_and_stays_secret() {
    let fake = az::start(app_tenant(), ARM_TOKEN, GRAPH_TOKEN).await;
    let wrong = "Qx8Q~WRONG-SECRET-value.9876";
    let config = app_config(&fake, wrong, vec![SUB_A.into()]);
    let shown = format!("{config:?}");
    assert!(shown.contains(CLIENT_ID), "{shown}");
    assert!(!shown.contains("WRONG-SECRET"), "{shown}");
    let provider = build(config).unwrap();
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    let ProviderError::NeedsAttention { reason } = &error else {
        panic!("{error}");
    };
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert!(reason.contains("invalid_client: AADSTS7000215"), "{reason}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("WRONG-SECRET"), "{shown}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert_eq!(
        fake.control.calls("POST", TOKEN),
        1,
        "a refusal is not retried"
    );
    assert_eq!(
        fake.control.total_calls(),
        1,
        "nothing reached ARM or Graph"
    );
    assert_eq!(issued(&fake, az::Audience::Arm), 0);

    // An app the tenant does not know is refused the same way.
    let mut config = app_config(&fake, CLIENT_SECRET, vec![SUB_A.into()]);
    let app = config.azure.app.as_mut().unwrap();
    app.client_id = "0b1f6471-1bf0-4dda-aec3-000000000000".into();
    let error = build(config)
        .unwrap()
        .revoke(&leaver(), &NoJournal)
        .await
        .unwrap_err();
    let shown = error.to_string();
    assert!(
        shown.contains("unauthorized_client: AADSTS700016"),
        "{shown}"
    );
    assert!(matches!(error, ProviderError::NeedsAttention { .. }));
}

#[tokio::test]
async fn azure_token_endpoint_503_then_success_is_retried() {
    let mut t = app_tenant();
    t.token_outages = 2;
    // Tokens too short-lived to reuse, so the second revocation signs in again.
    t.token_lifetime = Some(300);
    let fake = az::start(t, ARM_TOKEN, GRAPH_TOKEN).await;
    let provider = build(app_config(&fake, CLIENT_SECRET, vec![SUB_A.into()])).unwrap();
    let done = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert_eq!(
        count(&done, "delete_role_assignment", ActionOutcome::Done),
        5
    );
    assert_eq!(
        fake.control.calls("POST", TOKEN),
        4,
        "2 outages, then ARM and Graph"
    );
    assert_eq!(issued(&fake, az::Audience::Arm), 1);

    // An endpoint that stays down hands the step back to be rescheduled.
    fake.state.lock().unwrap().token_outages = 100;
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains("temporarily_unavailable"),
        "{error}"
    );
    assert_eq!(
        fake.control.calls("POST", TOKEN),
        8,
        "fast() makes 4 attempts"
    );
}

#[tokio::test]
async fn azure_group_grant_is_removed_by_leaving_the_group() {
    let fake = az::start(group_tenant(), ARM_TOKEN, GRAPH_TOKEN).await;
    let provider = build(app_config(
        &fake,
        CLIENT_SECRET,
        vec![SUB_A.into(), account_b()],
    ))
    .unwrap();
    let kept = Kept::default();
    let done = provider.revoke(&leaver(), &kept).await.unwrap();
    journaled_exactly_the_changes(&kept, &done);
    assert_eq!(
        count(&done, "delete_role_assignment", ActionOutcome::Done),
        6
    );
    assert_eq!(count(&done, "remove_group_member", ActionOutcome::Done), 1);
    let removal = done
        .actions
        .iter()
        .find(|a| a.action == "remove_group_member")
        .unwrap();
    assert_eq!(removal.target, format!("{GROUP}/{PRINCIPAL}"));
    assert_eq!(removal.http_status, 204);
    assert!(removal.request_id.is_some());
    assert_eq!(
        fake.control.served("DELETE", REMOVE_MEMBER),
        1,
        "two assignments of one group: one removal"
    );
    assert_eq!(
        side_effects(&fake),
        9,
        "6 deletes, 1 removal, revoke, disable"
    );
    {
        let t = fake.state.lock().unwrap();
        assert_eq!(t.groups[0].members, [COLLEAGUE], "the colleague stays");
        assert_eq!(t.groups[1].members, [COLLEAGUE]);
    }
    assert_eq!(
        assignment_names(&fake),
        ["ra-other", "ra-group", "ra-group-dev", "ra-other-group"],
        "the groups' own assignments are untouched"
    );

    let again = provider.revoke(&leaver(), &NoJournal).await.unwrap();
    assert!(
        again
            .actions
            .iter()
            .all(|a| a.outcome == ActionOutcome::AlreadyGone),
        "{again:?}"
    );
    assert_eq!(side_effects(&fake), 9, "no second side effect");
    assert_eq!(fake.control.calls("DELETE", REMOVE_MEMBER), 1);
}

#[tokio::test]
async fn azure_group_grant_without_graph_needs_attention() {
    let fake = az::start(group_tenant(), ARM_TOKEN, GRAPH_TOKEN).await;
    let settings = AzureSettings {
        scopes: vec![SUB_A.into()],
        ..AzureSettings::default()
    };
    let mut config =
        ProviderConfig::azure_openai(fake.base_url.clone(), Secret::new(ARM_TOKEN), settings);
    config.retry = fast();
    let kept = Kept::default();
    let error = build(config)
        .unwrap()
        .revoke(&leaver(), &kept)
        .await
        .unwrap_err();
    let ProviderError::NeedsAttention { reason } = &error else {
        panic!("{error}");
    };
    assert!(reason.contains(GROUP), "names the group: {reason}");
    assert!(reason.contains("Microsoft Graph"), "{reason}");
    assert!(!reason.contains(OTHER_GROUP), "{reason}");
    assert_eq!(
        kept.actions().len(),
        5,
        "the direct grants were still deleted"
    );
    assert_eq!(fake.control.calls("DELETE", REMOVE_MEMBER), 0);
    let names = assignment_names(&fake);
    assert!(names.contains(&"ra-group".to_string()), "{names:?}");
    let t = fake.state.lock().unwrap();
    assert_eq!(
        t.groups[0].members,
        [COLLEAGUE, PRINCIPAL],
        "still a member"
    );
}

#[tokio::test]
async fn azure_grant_through_a_nested_group_needs_attention() {
    let mut t = group_tenant();
    // The leaver is in INNER_GROUP, which is a member of GROUP (no longer directly).
    t.groups[0].members = vec![COLLEAGUE.into(), INNER_GROUP.into()];
    t.groups.push(az::Group {
        id: INNER_GROUP.into(),
        members: vec![PRINCIPAL.into()],
        ..az::Group::default()
    });
    let fake = az::start(t, ARM_TOKEN, GRAPH_TOKEN).await;
    let provider = build(app_config(&fake, CLIENT_SECRET, vec![SUB_A.into()])).unwrap();
    let error = provider.revoke(&leaver(), &NoJournal).await.unwrap_err();
    let ProviderError::NeedsAttention { reason } = &error else {
        panic!("{error}");
    };
    assert!(reason.contains(GROUP), "{reason}");
    assert!(reason.contains("nested"), "{reason}");
    assert_eq!(
        fake.control.served("DELETE", REMOVE_MEMBER),
        1,
        "tried, 404"
    );
    assert_eq!(
        fake.control
            .served("POST", "/v1.0/users/{id}/checkMemberGroups"),
        1
    );
    let t = fake.state.lock().unwrap();
    assert_eq!(t.groups[0].members, [COLLEAGUE, INNER_GROUP]);
    assert_eq!(t.groups[2].members, [PRINCIPAL]);
    assert!(t.assignments.iter().any(|a| a.name == "ra-group"));
}

#[tokio::test]
async fn azure_dynamic_group_that_graph_will_not_change_needs_attention() {
    let mut t = group_tenant();
    t.groups[0].dynamic = true;
    let fake = az::start(t, ARM_TOKEN, GRAPH_TOKEN).await;
    let provider = build(app_config(&fake, CLIENT_SECRET, vec![SUB_A.into()])).unwrap();
    let kept = Kept::default();
    let error = provider.revoke(&leaver(), &kept).await.unwrap_err();
    let ProviderError::NeedsAttention { reason } = &error else {
        panic!("{error}");
    };
    assert!(
        reason.contains(GROUP) && reason.contains("dynamic"),
        "{reason}"
    );
    // Everything else was still done, and journaled, before the step stopped.
    assert!(
        kept.actions()
            .iter()
            .any(|a| a.action == "delete_role_assignment")
    );
    let t = fake.state.lock().unwrap();
    assert_eq!(
        t.groups[0].members,
        [COLLEAGUE, PRINCIPAL],
        "still a member"
    );
    assert!(
        t.assignments.iter().any(|a| a.name == "ra-group"),
        "the group's own assignment is untouched"
    );
}
