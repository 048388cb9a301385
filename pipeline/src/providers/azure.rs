//! Azure OpenAI: per-user access is Entra ID plus Azure RBAC (the account keys are
//! shared, so regenerating them is not per-user revocation).
//!
//! For each configured scope, list the principal's role assignments
//! (`$filter=principalId eq '{id}'`, which returns assignments at, above or below the
//! scope; `nextLink` followed, only on the ARM host) and delete those at or below a
//! configured scope (`200` deleted, `204` nothing there). An assignment *above* every
//! configured scope still grants access and is not ours to touch: the call ends in
//! [`ProviderError::NeedsAttention`] naming it. Optionally, on Microsoft Graph:
//! `POST /v1.0/users/{id}/revokeSignInSessions`, then `PATCH /v1.0/users/{id}`
//! `{"accountEnabled": false}`; sessions are revoked first, so a disabled account on
//! a re-run shows both were done. (Revoking sessions without disabling the account
//! cannot tell a re-run from a first run and revokes again, which is harmless.)

use std::collections::BTreeMap;

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::json;

use super::http::{self, Auth, Reply, Transport};
use super::{
    Action, ActionOutcome, AzureSettings, Leaver, Provider, ProviderConfig, ProviderError,
    ProviderKind, Revocation, RevokeFuture,
};
use super::{ActionJournal, Actions};

/// Microsoft.Authorization role assignments API version.
const API_VERSION: &str = "2022-04-01";
const MAX_PAGES: usize = 10_000;

/// The Azure OpenAI (ARM + Graph) client.
pub(crate) struct AzureOpenAi {
    arm: Transport,
    arm_base: Url,
    graph: Option<(Transport, Url)>,
    scopes: Vec<String>,
    settings: AzureSettings,
}

#[derive(Deserialize)]
struct AssignmentPage {
    value: Vec<Assignment>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct Assignment {
    id: String,
    properties: AssignmentProperties,
}

#[derive(Deserialize)]
struct AssignmentProperties {
    scope: String,
}

#[derive(Deserialize)]
struct GraphUser {
    #[serde(rename = "accountEnabled")]
    account_enabled: Option<bool>,
}

impl AzureOpenAi {
    pub(crate) fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let arm_base = http::base_url(&config.base_url, "Azure Resource Manager")?;
        let settings = config.azure;
        let scopes: Vec<String> = settings.scopes.iter().map(|s| normalise_scope(s)).collect();
        if scopes.is_empty() || scopes.iter().any(|s| s.len() < 2) {
            return Err(ProviderError::attention(
                "Azure OpenAI needs at least one scope (a subscription, resource group or account resource id)",
            ));
        }
        let graph = if settings.disable_entra_account || settings.revoke_sessions {
            let Some(token) = settings.graph_credential.clone() else {
                return Err(ProviderError::attention(
                    "disabling the Entra account or revoking sessions needs a Microsoft Graph token",
                ));
            };
            let base = http::base_url(&settings.graph_base_url, "Microsoft Graph")?;
            Some((
                Transport::new(ProviderKind::AzureOpenAi, Auth::Bearer(token), config.retry)?,
                base,
            ))
        } else {
            None
        };
        Ok(AzureOpenAi {
            arm: Transport::new(
                ProviderKind::AzureOpenAi,
                Auth::Bearer(config.credential),
                config.retry,
            )?,
            arm_base,
            graph,
            scopes,
            settings,
        })
    }

    async fn run(
        &self,
        leaver: &Leaver,
        journal: &dyn ActionJournal,
    ) -> Result<Revocation, ProviderError> {
        let principal = principal_id(leaver)?;
        let mut actions = Actions::new(journal);
        let mut found: BTreeMap<String, Assignment> = BTreeMap::new();
        for scope in &self.scopes {
            let (assignments, last) = self.list_assignments(scope, principal).await?;
            if assignments.is_empty() {
                actions
                    .push(Action::confirmed(
                        "delete_role_assignment",
                        scope.as_str(),
                        ActionOutcome::AlreadyGone,
                        &last,
                    ))
                    .await;
            }
            for a in assignments {
                found.entry(a.id.to_ascii_lowercase()).or_insert(a);
            }
        }
        let user_found = !found.is_empty();
        let (ours, above): (Vec<Assignment>, Vec<Assignment>) = found
            .into_values()
            .partition(|a| self.scopes.iter().any(|s| within(&a.properties.scope, s)));
        for assignment in &ours {
            let url = self.arm_url(&assignment.id, &[]);
            let reply = self
                .arm
                .send(Method::DELETE, url, None, "DELETE role assignment")
                .await?;
            let outcome = if reply.status == 200 {
                ActionOutcome::Done
            } else {
                ActionOutcome::AlreadyGone
            };
            actions
                .push(Action::confirmed(
                    "delete_role_assignment",
                    assignment.id.as_str(),
                    outcome,
                    &reply,
                ))
                .await;
        }
        let entra_found = match &self.graph {
            Some((graph, base)) => self.entra(graph, base, principal, &mut actions).await?,
            None => false,
        };
        if !above.is_empty() {
            let ids: Vec<&str> = above.iter().map(|a| a.id.as_str()).collect();
            return Err(ProviderError::attention(format!(
                "Azure principal {principal} keeps {} role assignment(s) above the configured scopes, \
                 which still grant access: [{}]; {} assignment(s) within scope were removed",
                ids.len(),
                ids.join(", "),
                ours.len()
            )));
        }
        Ok(Revocation {
            provider: ProviderKind::AzureOpenAi,
            actions: actions.into_vec(),
            user_found: user_found || entra_found,
        })
    }

    /// Every assignment of the principal that applies to `scope`, and the last page's
    /// reply as evidence.
    async fn list_assignments(
        &self,
        scope: &str,
        principal: &str,
    ) -> Result<(Vec<Assignment>, Reply), ProviderError> {
        let filter = format!("principalId eq '{principal}'");
        let segments = [scope, "providers/Microsoft.Authorization/roleAssignments"];
        let mut url = http::endpoint(&self.arm_base, &segments, &[]);
        // OData wants `%20`, not the form encoding's `+`, between filter words.
        url.set_query(Some(&format!(
            "api-version={API_VERSION}&$filter={}",
            http::encode_component(&filter)
        )));
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = self
                .arm
                .send(Method::GET, url, None, "list role assignments")
                .await?;
            let page: AssignmentPage = reply.json("Azure list role assignments")?;
            items.extend(page.value);
            match page.next_link.filter(|l| !l.is_empty()) {
                None => return Ok((items, reply)),
                Some(link) => url = self.same_origin(&link)?,
            }
        }
        Err(ProviderError::protocol(
            "Azure list role assignments: too many pages",
        ))
    }

    /// A `nextLink`, accepted only on the configured ARM origin: the bearer token is
    /// never sent elsewhere.
    fn same_origin(&self, link: &str) -> Result<Url, ProviderError> {
        let url = Url::parse(link)
            .map_err(|e| ProviderError::protocol(format!("Azure nextLink does not parse: {e}")))?;
        if url.origin() != self.arm_base.origin() {
            return Err(ProviderError::protocol(format!(
                "Azure nextLink points to another host ({})",
                url.host_str().unwrap_or("?")
            )));
        }
        Ok(url)
    }

    /// Revoke sessions and disable the account as configured; whether the Entra user
    /// exists.
    async fn entra(
        &self,
        graph: &Transport,
        base: &Url,
        principal: &str,
        actions: &mut Actions<'_>,
    ) -> Result<bool, ProviderError> {
        let user_url = http::endpoint(base, &["v1.0", "users", principal], &[]);
        let mut select = user_url.clone();
        select.set_query(Some("$select=id,accountEnabled"));
        let lookup = graph
            .send(Method::GET, select, None, "GET Entra user")
            .await?;
        let s = &self.settings;
        let gone = |action: &str| {
            Action::confirmed(action, principal, ActionOutcome::AlreadyGone, &lookup)
        };
        if lookup.is_not_found() {
            for (on, action) in [
                (s.revoke_sessions, "revoke_sign_in_sessions"),
                (s.disable_entra_account, "disable_entra_account"),
            ] {
                if on {
                    actions.push(gone(action)).await;
                }
            }
            return Ok(false);
        }
        let user: GraphUser = lookup.json("Graph GET user")?;
        let already_disabled = user.account_enabled == Some(false);
        if s.revoke_sessions {
            if already_disabled && s.disable_entra_account {
                actions.push(gone("revoke_sign_in_sessions")).await;
            } else {
                let url = http::endpoint(
                    base,
                    &["v1.0", "users", principal, "revokeSignInSessions"],
                    &[],
                );
                let reply = graph
                    .send(Method::POST, url, None, "revokeSignInSessions")
                    .await?;
                actions
                    .push(Action::confirmed(
                        "revoke_sign_in_sessions",
                        principal,
                        outcome_of(&reply, ActionOutcome::Done),
                        &reply,
                    ))
                    .await;
            }
        }
        if s.disable_entra_account {
            if already_disabled {
                actions.push(gone("disable_entra_account")).await;
            } else {
                let body = json!({ "accountEnabled": false });
                let reply = graph
                    .send(Method::PATCH, user_url, Some(&body), "PATCH Entra user")
                    .await?;
                actions
                    .push(Action::confirmed(
                        "disable_entra_account",
                        principal,
                        outcome_of(&reply, ActionOutcome::Disabled),
                        &reply,
                    ))
                    .await;
            }
        }
        Ok(true)
    }

    fn arm_url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut q = vec![("api-version", API_VERSION)];
        q.extend_from_slice(query);
        http::endpoint(&self.arm_base, &[path], &q)
    }
}

impl Provider for AzureOpenAi {
    fn kind(&self) -> ProviderKind {
        ProviderKind::AzureOpenAi
    }

    fn revoke<'a>(
        &'a self,
        leaver: &'a Leaver,
        journal: &'a dyn ActionJournal,
    ) -> RevokeFuture<'a> {
        Box::pin(self.run(leaver, journal))
    }
}

fn outcome_of(reply: &Reply, performed: ActionOutcome) -> ActionOutcome {
    if reply.is_not_found() {
        ActionOutcome::AlreadyGone
    } else {
        performed
    }
}

/// The leaver's Entra object id, checked to be a GUID (it goes into an OData filter).
fn principal_id(leaver: &Leaver) -> Result<&str, ProviderError> {
    let Some(id) = leaver.azure_principal_id.as_deref() else {
        return Err(ProviderError::attention(format!(
            "no Entra object id is known for {}; Azure role assignments are found by principal id",
            leaver.email
        )));
    };
    let is_guid = id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if !is_guid {
        return Err(ProviderError::attention(format!(
            "the Entra object id of {} is not a GUID",
            leaver.email
        )));
    }
    Ok(id)
}

/// `/subscriptions/x/` → `/subscriptions/x`.
fn normalise_scope(scope: &str) -> String {
    format!("/{}", scope.trim().trim_matches('/'))
}

/// Whether `scope` is `configured` or below it (ARM ids compare case-insensitively).
fn within(scope: &str, configured: &str) -> bool {
    let scope = normalise_scope(scope).to_ascii_lowercase();
    let configured = configured.to_ascii_lowercase();
    scope == configured || scope.starts_with(&format!("{configured}/"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn scopes_contain_their_descendants_only() {
        let sub = "/subscriptions/a925f2f7";
        let table = [
            ("/subscriptions/a925f2f7", true),
            ("/SUBSCRIPTIONS/A925F2F7/resourceGroups/rg", true),
            ("/subscriptions/a925f2f70", false),
            ("/", false),
            (
                "/providers/Microsoft.Management/managementGroups/root",
                false,
            ),
        ];
        for (scope, expected) in table {
            assert_eq!(within(scope, sub), expected, "{scope}");
        }
    }

    #[test]
    fn principal_ids_must_be_guids() {
        let leaver = |id: &str| Leaver {
            email: "a@e.com".into(),
            display_name: None,
            azure_principal_id: Some(id.into()),
        };
        assert!(principal_id(&leaver("ce2ce14e-85d7-4629-bdbc-454d0519d987")).is_ok());
        for bad in [
            "x' or principalId ne '1",
            "ce2ce14e85d74629bdbc454d0519d987",
            "",
        ] {
            assert!(principal_id(&leaver(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn documented_list_sample_parses() {
        let page: AssignmentPage = serde_json::from_value(json!({"value": [{
            "properties": {
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/0b5fe924-9a61-425c-96af-cfe6e287ca2d",
                "principalId": "ce2ce14e-85d7-4629-bdbc-454d0519d987",
                "principalType": "User",
                "scope": "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2"
            },
            "id": "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleAssignments/b0f43c54-e787-4862-89b1-a653fa9cf747",
            "type": "Microsoft.Authorization/roleAssignments",
            "name": "b0f43c54-e787-4862-89b1-a653fa9cf747"
        }]}))
        .unwrap();
        assert!(page.next_link.is_none());
        assert_eq!(
            page.value[0].properties.scope,
            "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2"
        );
    }
}
