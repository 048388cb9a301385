//! Azure OpenAI: per-user access is Entra ID plus Azure RBAC (the account keys are
//! shared, so regenerating them is not per-user revocation).
//!
//! Sign-in: with an Entra app (client credentials), each revocation first gets an ARM
//! token, and a Graph token when it needs Graph, from the Microsoft identity platform
//! or, while it has more than 5 minutes left, from the process's cache
//! ([`super::entra`]). The static-token mode, for short-lived testing only, uses the
//! configured tokens as they are.
//!
//! For each configured scope, list the role assignments that apply to the principal
//! (`$filter=assignedTo('{id}')`: its own and those of every group it is in, nested
//! groups included, at, above or below the scope; `nextLink` followed, only on the ARM
//! host). Of those at or below a configured scope:
//! - the principal's own are deleted (`200` deleted, `204` nothing there);
//! - a group's is never deleted, which would take everyone else's access: the user is
//!   taken out of the group instead, with Graph `DELETE
//!   /v1.0/groups/{gid}/members/{uid}/$ref` (`204`; `404` not a member). A `404` for a
//!   group Graph's transitive `checkMemberGroups` still finds the user in means the
//!   membership runs through a nested group, which needs a person.
//!
//! An assignment *above* every configured scope still grants access and is not ours to
//! touch. It, a group grant while Graph is not configured, a nested membership and a
//! group Entra will not change (dynamic or synced) end the call in
//! [`ProviderError::NeedsAttention`] naming them, after everything else was done.
//! Optionally, on Microsoft Graph: `POST /v1.0/users/{id}/revokeSignInSessions`, then
//! `PATCH /v1.0/users/{id}` `{"accountEnabled": false}`; sessions are revoked first, so
//! a disabled account on a re-run shows both were done. (Revoking sessions without
//! disabling the account cannot tell a re-run from a first run and revokes again,
//! which is harmless.)

use std::collections::BTreeMap;

use reqwest::{Method, Url};
use serde::Deserialize;

use super::config::is_guid;
use super::entra::{Audience, TokenClient};
use super::http::{self, Auth, Reply, Transport};
use super::{
    Action, ActionOutcome, AzureSettings, Leaver, Provider, ProviderConfig, ProviderError,
    ProviderKind, RetryPolicy, Revocation, RevokeFuture, Secret,
};
use super::{ActionJournal, Actions};

mod grants;
mod graph;

use grants::Grants;

/// Microsoft.Authorization role assignments API version.
const API_VERSION: &str = "2022-04-01";
/// Pages of role assignments followed per scope before the answer is deemed broken.
const MAX_PAGES: usize = 10_000;

/// The Azure OpenAI (ARM + Graph) client.
pub(crate) struct AzureOpenAi {
    arm_base: Url,
    /// Graph's base URL, when a Graph token can be had.
    graph_base: Option<Url>,
    tokens: Tokens,
    retry: RetryPolicy,
    scopes: Vec<String>,
    settings: AzureSettings,
}

/// Where the bearer tokens come from.
enum Tokens {
    /// Configured tokens, used as they are (testing only: they expire).
    Static { arm: Secret, graph: Option<Secret> },
    /// Obtained with the Entra app's client credentials (cached while they last).
    App(TokenClient),
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
    #[serde(rename = "principalId")]
    principal_id: Option<String>,
    #[serde(rename = "principalType")]
    principal_type: Option<String>,
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
        let tokens = match &settings.app {
            Some(app) => Tokens::App(TokenClient::new(app, config.credential, config.retry)?),
            None => Tokens::Static {
                arm: config.credential,
                graph: settings.graph_credential.clone(),
            },
        };
        let graph_reachable = match &tokens {
            Tokens::App(_) => true,
            Tokens::Static { graph, .. } => graph.is_some(),
        };
        if (settings.disable_entra_account || settings.revoke_sessions) && !graph_reachable {
            return Err(ProviderError::attention(
                "disabling the Entra account or revoking sessions needs Microsoft Graph: \
                 connect an Entra app (client credentials) or give a Graph token",
            ));
        }
        let graph_base = if graph_reachable {
            Some(http::base_url(&settings.graph_base_url, "Microsoft Graph")?)
        } else {
            None
        };
        Ok(AzureOpenAi {
            arm_base,
            graph_base,
            tokens,
            retry: config.retry,
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
        let arm = self.arm().await?;
        let mut actions = Actions::new(journal);
        let found = self.find(&arm, principal, &mut actions).await?;
        let user_found = !found.is_empty();
        let grants = Grants::sort(found, principal, &self.scopes);
        self.delete_direct(&arm, &grants.direct, &mut actions)
            .await?;
        let mut problems = grants.problems();
        let entra_on = self.settings.disable_entra_account || self.settings.revoke_sessions;
        let graph = if entra_on || !grants.groups.is_empty() {
            self.graph().await?
        } else {
            None
        };
        let groups: Vec<&str> = grants.groups.values().map(String::as_str).collect();
        let left = match &graph {
            _ if groups.is_empty() => 0,
            Some((graph, base)) => {
                self.leave_groups(graph, base, principal, &groups, &mut actions, &mut problems)
                    .await?
            }
            None => {
                problems.push(format!(
                    "it holds access through group(s) [{}] within the configured scopes, and \
                     taking it out of a group needs Microsoft Graph, which is not configured",
                    groups.join(", ")
                ));
                0
            }
        };
        let entra_found = match &graph {
            Some((graph, base)) if entra_on => {
                self.entra(graph, base, principal, &mut actions).await?
            }
            _ => false,
        };
        if !problems.is_empty() {
            return Err(ProviderError::attention(format!(
                "Azure principal {principal} keeps access: {}; {} role assignment(s) within \
                 scope were deleted and {left} group membership(s) removed",
                problems.join("; "),
                grants.direct.len(),
            )));
        }
        Ok(Revocation {
            provider: ProviderKind::AzureOpenAi,
            actions: actions.into_vec(),
            user_found: user_found || entra_found,
        })
    }

    /// Every assignment that applies to the principal in the configured scopes, once
    /// each; a scope with none is reported as such.
    async fn find(
        &self,
        arm: &Transport,
        principal: &str,
        actions: &mut Actions<'_>,
    ) -> Result<Vec<Assignment>, ProviderError> {
        let mut found: BTreeMap<String, Assignment> = BTreeMap::new();
        for scope in &self.scopes {
            let (assignments, last) = self.list_assignments(arm, scope, principal).await?;
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
        Ok(found.into_values().collect())
    }

    /// Delete the principal's own assignments.
    async fn delete_direct(
        &self,
        arm: &Transport,
        assignments: &[Assignment],
        actions: &mut Actions<'_>,
    ) -> Result<(), ProviderError> {
        for assignment in assignments {
            let url = self.arm_url(&assignment.id, &[]);
            let reply = arm
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
        Ok(())
    }

    /// An ARM transport with a token of this revocation.
    async fn arm(&self) -> Result<Transport, ProviderError> {
        let token = match &self.tokens {
            Tokens::Static { arm, .. } => arm.clone(),
            Tokens::App(client) => client.token(Audience::ResourceManager).await?,
        };
        self.transport(token)
    }

    /// A Graph transport with a token of this revocation, if Graph is configured.
    async fn graph(&self) -> Result<Option<(Transport, &Url)>, ProviderError> {
        let Some(base) = &self.graph_base else {
            return Ok(None);
        };
        let token = match &self.tokens {
            Tokens::Static { graph: None, .. } => return Ok(None),
            Tokens::Static {
                graph: Some(token), ..
            } => token.clone(),
            Tokens::App(client) => client.token(Audience::Graph).await?,
        };
        Ok(Some((self.transport(token)?, base)))
    }

    fn transport(&self, token: Secret) -> Result<Transport, ProviderError> {
        Transport::new(ProviderKind::AzureOpenAi, Auth::Bearer(token), self.retry)
    }

    /// Every assignment that applies to the principal at `scope`, its groups' included,
    /// and the last page's reply as evidence.
    async fn list_assignments(
        &self,
        arm: &Transport,
        scope: &str,
        principal: &str,
    ) -> Result<(Vec<Assignment>, Reply), ProviderError> {
        let filter = format!("assignedTo('{principal}')");
        let segments = [scope, "providers/Microsoft.Authorization/roleAssignments"];
        let mut url = http::endpoint(&self.arm_base, &segments, &[]);
        // OData wants `%20`, not the form encoding's `+`, between filter words.
        url.set_query(Some(&format!(
            "api-version={API_VERSION}&$filter={}",
            http::encode_component(&filter)
        )));
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let reply = arm
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
    if !is_guid(id) {
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
    use serde_json::json;

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
