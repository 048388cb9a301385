//! OpenAI Admin API (`openai/openai-openapi`, security scheme `AdminApiKeyAuth`).
//!
//! Order, as `vendor-api/integrations.md` §4 gives it: for each (non-archived) project,
//! delete the leaver's project API keys — listed with `owner_project_access=any`, since
//! the default membership-based visibility hides enabled keys of owners who lost
//! project access — and remove the project membership; delete admin keys they own;
//! cancel pending invites for their email; remove the org user last. Keys are matched
//! by owner user id *or* email, so a re-run after the user is gone still finds keys
//! that someone else's earlier removal left enabled.
//!
//! Lists: `limit` ≤ 100, `after=<last_id>` while `has_more`.

use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::cursor::Cursor;
use super::http::{self, Auth, Reply, Transport};
use super::invites::{self, Invite};
use super::{
    Action, ActionOutcome, Leaver, Provider, ProviderConfig, ProviderError, ProviderKind,
    Revocation, RevokeFuture, Secret,
};
use super::{ActionJournal, Actions};

/// Lists: `limit` ≤ 100, `after=<last_id>`.
const CURSOR: Cursor = Cursor {
    provider: "OpenAI",
    param: "after",
    limit: "100",
};

/// The OpenAI Admin API client.
pub(crate) struct OpenAi {
    http: Transport,
    base: Url,
    admin_key: Secret,
}

#[derive(Deserialize)]
struct OrgUser {
    id: String,
    email: Option<String>,
}

#[derive(Deserialize)]
struct Project {
    id: String,
}

#[derive(Deserialize)]
struct ProjectKey {
    id: String,
    owner: Option<ProjectKeyOwner>,
}

#[derive(Deserialize)]
struct ProjectKeyOwner {
    #[serde(rename = "type")]
    kind: Option<String>,
    user: Option<ProjectKeyUser>,
}

#[derive(Deserialize)]
struct ProjectKeyUser {
    id: String,
    email: Option<String>,
}

#[derive(Deserialize)]
struct AdminKey {
    id: String,
    redacted_value: Option<String>,
    owner: Option<AdminKeyOwner>,
}

#[derive(Deserialize)]
struct AdminKeyOwner {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl OpenAi {
    pub(crate) fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let base = http::base_url(&config.base_url, "OpenAI")?;
        let auth = Auth::Bearer(config.credential.clone());
        Ok(OpenAi {
            http: Transport::new(ProviderKind::OpenAi, auth, config.retry)?,
            base,
            admin_key: config.credential,
        })
    }

    async fn run(
        &self,
        leaver: &Leaver,
        journal: &dyn ActionJournal,
    ) -> Result<Revocation, ProviderError> {
        let email = leaver.email.trim();
        let (user, lookup) = self.find_user(email).await?;
        let user_id = user.as_ref().map(|u| u.id.as_str());
        let mut actions = Actions::new(journal);
        for project in self
            .list::<Project>(&["organization", "projects"], &[], "list projects")
            .await?
        {
            self.revoke_project(&project.id, user_id, email, &mut actions)
                .await?;
        }
        let mut own_key = None;
        if let Some(user_id) = user_id {
            own_key = self.delete_admin_keys(user_id, &mut actions).await?;
        }
        self.cancel_invites(email, &mut actions).await?;
        match user_id {
            Some(id) => {
                let url = self.url(&["organization", "users", id], &[]);
                let reply = self
                    .http
                    .send(Method::DELETE, url, None, "DELETE org user")
                    .await
                    .map_err(refused("remove the org user"))?;
                actions
                    .push(Action::deleted("remove_org_user", id, &reply))
                    .await;
            }
            None => {
                actions
                    .push(Action::confirmed(
                        "remove_org_user",
                        email,
                        ActionOutcome::AlreadyGone,
                        &lookup,
                    ))
                    .await
            }
        }
        if let Some(key_id) = own_key {
            actions
                .push(self.delete_own_admin_key(&key_id).await?)
                .await;
        }
        Ok(Revocation {
            provider: ProviderKind::OpenAi,
            actions: actions.into_vec(),
            user_found: user.is_some(),
        })
    }

    /// The org user with this email, and the reply of the last list page as evidence
    /// when there is none. `emails` narrows the list where honoured; the match is
    /// checked here either way.
    async fn find_user(&self, email: &str) -> Result<(Option<OrgUser>, Reply), ProviderError> {
        let matches = |u: &OrgUser| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        };
        let url = |q: &[(&str, &str)]| {
            let mut query = vec![("emails", email)];
            query.extend_from_slice(q);
            self.url(&["organization", "users"], &query)
        };
        let (users, reply) = CURSOR
            .list_until(&self.http, "list users", url, matches)
            .await?;
        Ok((users.into_iter().find(|u| matches(u)), reply))
    }

    async fn revoke_project(
        &self,
        project: &str,
        user_id: Option<&str>,
        email: &str,
        actions: &mut Actions<'_>,
    ) -> Result<(), ProviderError> {
        let keys: Vec<ProjectKey> = self
            .list(
                &["organization", "projects", project, "api_keys"],
                &[("owner_project_access", "any")],
                "list project API keys",
            )
            .await?;
        for key in keys.iter().filter(|k| owned_by(k, user_id, email)) {
            let url = self.url(
                &["organization", "projects", project, "api_keys", &key.id],
                &[],
            );
            let reply = self
                .http
                .send(Method::DELETE, url, None, "DELETE project API key")
                .await?;
            actions
                .push(Action::deleted(
                    "delete_project_api_key",
                    format!("{project}/{}", key.id),
                    &reply,
                ))
                .await;
        }
        let Some(user_id) = user_id else {
            return Ok(());
        };
        let member = self.url(
            &["organization", "projects", project, "users", user_id],
            &[],
        );
        let found = self
            .http
            .send(Method::GET, member.clone(), None, "GET project user")
            .await?;
        if !found.is_not_found() {
            let reply = self
                .http
                .send(Method::DELETE, member, None, "DELETE project user")
                .await?;
            actions
                .push(Action::deleted(
                    "remove_project_user",
                    format!("{project}/{user_id}"),
                    &reply,
                ))
                .await;
        }
        Ok(())
    }

    /// Delete the admin keys the user owns, except the one this client authenticates
    /// with, whose id is returned so it goes last.
    async fn delete_admin_keys(
        &self,
        user_id: &str,
        actions: &mut Actions<'_>,
    ) -> Result<Option<String>, ProviderError> {
        let keys: Vec<AdminKey> = self
            .list(
                &["organization", "admin_api_keys"],
                &[],
                "list admin API keys",
            )
            .await?;
        let mut own = None;
        for key in keys.iter().filter(|k| {
            k.owner.as_ref().is_some_and(|o| {
                o.id.as_deref() == Some(user_id) && o.kind.as_deref().unwrap_or("user") == "user"
            })
        }) {
            if key
                .redacted_value
                .as_deref()
                .is_some_and(|r| redacted_matches(r, self.admin_key.expose()))
            {
                own = Some(key.id.clone());
                continue;
            }
            let url = self.url(&["organization", "admin_api_keys", &key.id], &[]);
            let reply = self
                .http
                .send(Method::DELETE, url, None, "DELETE admin API key")
                .await?;
            actions
                .push(Action::deleted(
                    "delete_admin_api_key",
                    key.id.as_str(),
                    &reply,
                ))
                .await;
        }
        Ok(own)
    }

    /// The leaver owned the admin key this client uses: delete it after everything
    /// else. Removing the user may already have invalidated it; a 401 then confirms
    /// it is gone.
    async fn delete_own_admin_key(&self, key_id: &str) -> Result<Action, ProviderError> {
        let url = self.url(&["organization", "admin_api_keys", key_id], &[]);
        match self
            .http
            .send(Method::DELETE, url, None, "DELETE admin API key")
            .await
        {
            Ok(reply) => Ok(Action::deleted("delete_admin_api_key", key_id, &reply)),
            Err(ProviderError::NeedsAttention { .. }) => Ok(Action {
                action: "delete_admin_api_key".into(),
                target: key_id.into(),
                outcome: ActionOutcome::AlreadyGone,
                http_status: 401,
                request_id: None,
            }),
            Err(e) => Err(e),
        }
    }

    async fn cancel_invites(
        &self,
        email: &str,
        actions: &mut Actions<'_>,
    ) -> Result<(), ProviderError> {
        let invites: Vec<Invite> = self
            .list(&["organization", "invites"], &[], "list invites")
            .await?;
        let url = |id: &str| self.url(&["organization", "invites", id], &[]);
        invites::cancel_pending(&self.http, &invites, email, url, actions).await
    }

    /// Every item of a paginated list.
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

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        http::endpoint(&self.base, segments, query)
    }
}

impl Provider for OpenAi {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAi
    }

    fn revoke<'a>(
        &'a self,
        leaver: &'a Leaver,
        journal: &'a dyn ActionJournal,
    ) -> RevokeFuture<'a> {
        Box::pin(self.run(leaver, journal))
    }
}

fn owned_by(key: &ProjectKey, user_id: Option<&str>, email: &str) -> bool {
    let Some(owner) = &key.owner else {
        return false;
    };
    let Some(user) = owner
        .user
        .as_ref()
        .filter(|_| owner.kind.as_deref() != Some("service_account"))
    else {
        return false;
    };
    Some(user.id.as_str()) == user_id
        || user
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
}

/// A refusal (an unexpected 4xx) to remove someone needs a person, not a code change.
fn refused(what: &'static str) -> impl Fn(ProviderError) -> ProviderError {
    move |e| match e {
        ProviderError::Protocol { reason } => {
            ProviderError::attention(format!("OpenAI refused to {what}: {reason}"))
        }
        other => other,
    }
}

/// Whether a redacted key (`sk-admin...def`) is a redaction of `secret`.
fn redacted_matches(redacted: &str, secret: &str) -> bool {
    match redacted.split_once("...") {
        Some((head, tail)) => {
            !head.is_empty()
                && !tail.is_empty()
                && secret.len() >= head.len() + tail.len()
                && secret.starts_with(head)
                && secret.ends_with(tail)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redactions_match_only_their_key() {
        let table = [
            ("sk-admin...def", "sk-admin-abc-def", true),
            ("sk-admin...def", "sk-admin-abc-xyz", false),
            ("sk-admin...def", "sk-other-abc-def", false),
            ("sk-admin", "sk-admin-abc-def", false),
            ("...", "anything", false),
        ];
        for (redacted, secret, expected) in table {
            assert_eq!(redacted_matches(redacted, secret), expected, "{redacted}");
        }
    }

    #[test]
    fn keys_match_by_owner_id_or_email_never_service_accounts() {
        let key = |kind: &str, id: &str, email: &str| ProjectKey {
            id: "key".into(),
            owner: Some(ProjectKeyOwner {
                kind: Some(kind.into()),
                user: Some(ProjectKeyUser {
                    id: id.into(),
                    email: Some(email.into()),
                }),
            }),
        };
        assert!(owned_by(
            &key("user", "u1", "x@e.com"),
            Some("u1"),
            "a@e.com"
        ));
        assert!(owned_by(&key("user", "u2", "A@E.com"), None, "a@e.com"));
        assert!(!owned_by(
            &key("user", "u2", "b@e.com"),
            Some("u1"),
            "a@e.com"
        ));
        assert!(!owned_by(
            &key("service_account", "u1", "a@e.com"),
            Some("u1"),
            "a@e.com"
        ));
    }
}
