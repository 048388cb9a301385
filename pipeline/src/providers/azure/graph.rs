//! The Microsoft Graph side of an Azure revocation: taking the user out of the groups
//! that grant access, and (optionally) revoking their sign-in sessions and disabling
//! their Entra account.

use std::collections::BTreeSet;

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::json;

use super::{AzureOpenAi, outcome_of};
use crate::providers::http::{self, Transport};
use crate::providers::{Action, ActionOutcome, Actions, ProviderError};

/// Most group ids one Graph `checkMemberGroups` request takes.
const CHECK_GROUPS_MAX: usize = 20;

#[derive(Deserialize)]
struct GraphUser {
    #[serde(rename = "accountEnabled")]
    account_enabled: Option<bool>,
}

/// Graph's answer to `checkMemberGroups`: the group ids the object is in.
#[derive(Deserialize)]
struct GroupIds {
    value: Vec<String>,
}

impl AzureOpenAi {
    /// Take the principal out of each group: how many memberships were removed now.
    /// What is left for a person (nested memberships, groups Entra will not change) is
    /// added to `problems`.
    pub(super) async fn leave_groups(
        &self,
        graph: &Transport,
        base: &Url,
        principal: &str,
        groups: &[&str],
        actions: &mut Actions<'_>,
        problems: &mut Vec<String>,
    ) -> Result<usize, ProviderError> {
        let mut removed = 0;
        let mut not_members = Vec::new();
        for &group in groups {
            let segments = ["v1.0", "groups", group, "members", principal, "$ref"];
            let url = http::endpoint(base, &segments, &[]);
            let target = format!("{group}/{principal}");
            match graph
                .send(Method::DELETE, url, None, "remove group member")
                .await
            {
                Ok(reply) if reply.is_not_found() => not_members.push((group, reply)),
                Ok(reply) => {
                    removed += 1;
                    let action = Action::deleted("remove_group_member", target, &reply);
                    actions.push(action).await;
                }
                Err(ProviderError::Protocol { reason }) => problems.push(format!(
                    "Entra did not take it out of group {group} ({reason}); the members of a \
                     dynamic or on-premises-synced group are changed at their source"
                )),
                Err(e) => return Err(e),
            }
        }
        if not_members.is_empty() {
            return Ok(removed);
        }
        let ids: Vec<&str> = not_members.iter().map(|(group, _)| *group).collect();
        let still_in = self.member_of(graph, base, principal, &ids).await?;
        let mut nested = Vec::new();
        for (group, reply) in not_members {
            if still_in.contains(&group.to_ascii_lowercase()) {
                nested.push(group);
            } else {
                let target = format!("{group}/{principal}");
                let action = Action::deleted("remove_group_member", target, &reply);
                actions.push(action).await;
            }
        }
        if !nested.is_empty() {
            problems.push(format!(
                "it is in group(s) [{}] through another group (nested membership): take it \
                 out of the group that is a member of them",
                nested.join(", ")
            ));
        }
        Ok(removed)
    }

    /// Which of `groups` the principal is in, directly or through other groups, as
    /// lower-case ids (none if Graph does not know the principal).
    async fn member_of(
        &self,
        graph: &Transport,
        base: &Url,
        principal: &str,
        groups: &[&str],
    ) -> Result<BTreeSet<String>, ProviderError> {
        let url = http::endpoint(
            base,
            &["v1.0", "users", principal, "checkMemberGroups"],
            &[],
        );
        let mut found = BTreeSet::new();
        for chunk in groups.chunks(CHECK_GROUPS_MAX) {
            let body = json!({ "groupIds": chunk });
            let reply = graph
                .send(Method::POST, url.clone(), Some(&body), "checkMemberGroups")
                .await?;
            if reply.is_not_found() {
                return Ok(BTreeSet::new());
            }
            let ids: GroupIds = reply.json("Graph checkMemberGroups")?;
            found.extend(ids.value.iter().map(|id| id.to_ascii_lowercase()));
        }
        Ok(found)
    }

    /// Revoke sessions and disable the account as configured; whether the Entra user
    /// exists.
    pub(super) async fn entra(
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
}
