//! Anthropic Admin API (`platform.claude.com/docs/en/manage-claude/admin-api`).
//!
//! API keys belong to the organisation, not the user, and survive the user's removal,
//! so they are set `inactive` first: every active key whose `created_by.id` or
//! `principal.user_id` is the leaver (legacy keys may have no `created_by`). Then
//! workspace memberships, pending invites, and the org user. Admins cannot be removed
//! through the API: after their keys are disabled the call ends in
//! [`ProviderError::NeedsAttention`].
//!
//! Headers `x-api-key` and `anthropic-version: 2023-06-01`. Lists: `limit` ≤ 1000,
//! `after_id=<last_id>` while `has_more`.

use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::cursor::Cursor;
use super::http::{self, Auth, Reply, Transport};
use super::invites::{self, Invite};
use super::{
    Action, ActionOutcome, Leaver, Provider, ProviderConfig, ProviderError, ProviderKind,
    Revocation, RevokeFuture,
};
use super::{ActionJournal, Actions};

/// Lists: `limit` ≤ 1000, `after_id=<last_id>`.
const CURSOR: Cursor = Cursor {
    provider: "Anthropic",
    param: "after_id",
    limit: "1000",
};
/// Roles the Admin API cannot remove (Console `admin`; Enterprise owners).
const UNREMOVABLE_ROLES: [&str; 3] = ["admin", "owner", "primary_owner"];

/// The Anthropic Admin API client.
pub(crate) struct Anthropic {
    http: Transport,
    base: Url,
}

#[derive(Deserialize)]
struct User {
    id: String,
    email: String,
    role: String,
}

#[derive(Deserialize)]
struct Workspace {
    id: String,
}

#[derive(Deserialize)]
struct ApiKey {
    id: String,
    created_by: Option<Actor>,
    principal: Option<Principal>,
}

#[derive(Deserialize)]
struct Actor {
    id: String,
}

#[derive(Deserialize)]
struct Principal {
    user_id: Option<String>,
}

impl Anthropic {
    pub(crate) fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let base = http::base_url(&config.base_url, "Anthropic")?;
        let auth = Auth::AnthropicAdminKey(config.credential);
        Ok(Anthropic {
            http: Transport::new(ProviderKind::Anthropic, auth, config.retry)?,
            base,
        })
    }

    async fn run(
        &self,
        leaver: &Leaver,
        journal: &dyn ActionJournal,
    ) -> Result<Revocation, ProviderError> {
        let email = leaver.email.trim();
        let (user, lookup) = self.find_user(email).await?;
        let mut actions = Actions::new(journal);
        let Some(user) = user else {
            self.cancel_invites(email, &mut actions).await?;
            actions
                .push(Action::confirmed(
                    "remove_org_user",
                    email,
                    ActionOutcome::AlreadyGone,
                    &lookup,
                ))
                .await;
            return Ok(revocation(actions, false));
        };
        self.deactivate_keys(&user.id, &mut actions).await?;
        if UNREMOVABLE_ROLES.contains(&user.role.as_str()) {
            let disabled: Vec<&str> = actions.iter().map(|a| a.target.as_str()).collect();
            return Err(ProviderError::attention(format!(
                "Anthropic user {} has the {} role, which the Admin API cannot remove; \
                 {} API key(s) were set inactive [{}]; remove the user (or change their \
                 role) in the Console, then run this step again",
                user.id,
                user.role,
                disabled.len(),
                disabled.join(", ")
            )));
        }
        for workspace in self
            .list::<Workspace>(&["workspaces"], &[], "list workspaces")
            .await?
        {
            self.remove_membership(&workspace.id, &user.id, &mut actions)
                .await?;
        }
        self.cancel_invites(email, &mut actions).await?;
        let url = self.url(&["users", &user.id], &[]);
        let reply = self
            .http
            .send(Method::DELETE, url, None, "DELETE user")
            .await
            .map_err(|e| match e {
                ProviderError::Protocol { reason } => ProviderError::attention(format!(
                    "Anthropic refused to remove user {}: {reason}",
                    user.id
                )),
                other => other,
            })?;
        actions
            .push(Action::deleted("remove_org_user", user.id.as_str(), &reply))
            .await;
        Ok(revocation(actions, true))
    }

    async fn find_user(&self, email: &str) -> Result<(Option<User>, Reply), ProviderError> {
        let matches = |u: &User| u.email.eq_ignore_ascii_case(email);
        let url = |q: &[(&str, &str)]| {
            let mut query = vec![("email", email)];
            query.extend_from_slice(q);
            self.url(&["users"], &query)
        };
        let (users, reply) = CURSOR
            .list_until(&self.http, "list users", url, matches)
            .await?;
        Ok((users.into_iter().find(|u| matches(u)), reply))
    }

    async fn deactivate_keys(
        &self,
        user_id: &str,
        actions: &mut Actions<'_>,
    ) -> Result<(), ProviderError> {
        let keys: Vec<ApiKey> = self
            .list(&["api_keys"], &[("status", "active")], "list API keys")
            .await?;
        let body = json!({ "status": "inactive" });
        for key in keys.iter().filter(|k| bound_to(k, user_id)) {
            let url = self.url(&["api_keys", &key.id], &[]);
            let reply = self
                .http
                .send(Method::POST, url, Some(&body), "update API key")
                .await?;
            let outcome = if reply.is_not_found() {
                ActionOutcome::AlreadyGone
            } else {
                ActionOutcome::Disabled
            };
            actions
                .push(Action::confirmed(
                    "deactivate_api_key",
                    key.id.as_str(),
                    outcome,
                    &reply,
                ))
                .await;
        }
        Ok(())
    }

    async fn remove_membership(
        &self,
        workspace: &str,
        user_id: &str,
        actions: &mut Actions<'_>,
    ) -> Result<(), ProviderError> {
        let url = self.url(&["workspaces", workspace, "members", user_id], &[]);
        let found = self
            .http
            .send(Method::GET, url.clone(), None, "get workspace member")
            .await?;
        if found.is_not_found() {
            return Ok(());
        }
        let reply = self
            .http
            .send(Method::DELETE, url, None, "DELETE workspace member")
            .await?;
        actions
            .push(Action::deleted(
                "remove_workspace_member",
                format!("{workspace}/{user_id}"),
                &reply,
            ))
            .await;
        Ok(())
    }

    async fn cancel_invites(
        &self,
        email: &str,
        actions: &mut Actions<'_>,
    ) -> Result<(), ProviderError> {
        let invites: Vec<Invite> = self.list(&["invites"], &[], "list invites").await?;
        let url = |id: &str| self.url(&["invites", id], &[]);
        invites::cancel_pending(&self.http, &invites, email, url, actions).await
    }

    async fn list<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Vec<T>, ProviderError> {
        let url = |q: &[(&str, &str)]| {
            let mut all = query.to_vec();
            all.extend_from_slice(q);
            self.url(segments, &all)
        };
        CURSOR.list_all(&self.http, what, url).await
    }

    /// `/v1/organizations/<segments>`.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut path = vec!["v1", "organizations"];
        path.extend_from_slice(segments);
        http::endpoint(&self.base, &path, query)
    }
}

impl Provider for Anthropic {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn revoke<'a>(
        &'a self,
        leaver: &'a Leaver,
        journal: &'a dyn ActionJournal,
    ) -> RevokeFuture<'a> {
        Box::pin(self.run(leaver, journal))
    }
}

fn revocation(actions: Actions<'_>, user_found: bool) -> Revocation {
    Revocation {
        provider: ProviderKind::Anthropic,
        actions: actions.into_vec(),
        user_found,
    }
}

/// Whether the key was created by, or acts as, the user.
fn bound_to(key: &ApiKey, user_id: &str) -> bool {
    key.created_by.as_ref().is_some_and(|a| a.id == user_id)
        || key
            .principal
            .as_ref()
            .and_then(|p| p.user_id.as_deref())
            .is_some_and(|id| id == user_id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn keys_bind_by_creator_or_principal() {
        // The documented List API Keys sample, trimmed to the fields read here.
        let documented: ApiKey = serde_json::from_value(json!({
            "id": "apikey_01Rj2N8SVvo6BePZj99NhmiT",
            "created_by": {"id": "user_01WCz1FkmYMm4gnmykNKUu3Q", "type": "user"},
            "principal": {"type": "user_actor", "user_id": "user_01WCz1FkmYMm4gnmykNKUu3Q"},
            "status": "active", "type": "api_key"
        }))
        .unwrap();
        assert!(bound_to(&documented, "user_01WCz1FkmYMm4gnmykNKUu3Q"));
        assert!(!bound_to(&documented, "user_other"));
        let legacy: ApiKey = serde_json::from_value(json!({
            "id": "k", "created_by": null,
            "principal": {"type": "user_actor", "user_id": "u1"}
        }))
        .unwrap();
        assert!(bound_to(&legacy, "u1"));
    }
}
