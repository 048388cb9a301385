//! Provider revocation: take a leaver out of OpenAI, Anthropic and Azure OpenAI through
//! their admin APIs.
//!
//! Contract of [`Provider::revoke`], which the offboarding engine relies on:
//! - **Idempotent.** Every destructive call is preceded by a read that shows it is
//!   still needed, so re-running a finished revocation performs no second action the
//!   provider would see; it reports what it found as [`ActionOutcome::AlreadyGone`].
//!   A `404` on a delete is also `AlreadyGone` (someone got there first).
//! - **Retries inside one call.** Timeouts, `429` and `5xx` are retried with
//!   exponential backoff and jitter, honouring `Retry-After`, a bounded number of
//!   times ([`RetryPolicy`]); then [`ProviderError::Retryable`] carries the last
//!   `Retry-After` so the engine can reschedule the step.
//! - **Never silently skipped.** Rejected credentials and leavers the API cannot
//!   remove (an Anthropic admin, an Azure grant above the configured scopes or held
//!   through a nested group) are [`ProviderError::NeedsAttention`] with the reason.
//! - **Every change journaled.** Each action that changed something is reported to the
//!   [`ActionJournal`] as soon as the provider confirms it.
//! - **Secrets stay secret.** Credentials are [`Secret`]s: never in `Debug`, logs or
//!   error messages.
//!
//! The [`Revocation`] a call returns serialises to the custody node body: every action
//! with the provider's HTTP status and request id as evidence.

mod anthropic;
mod azure;
mod config;
mod cursor;
mod entra;
mod error;
mod http;
mod invites;
mod openai;
mod retry;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use config::{
    ANTHROPIC_BASE_URL, ARM_BASE_URL, AzureSettings, EntraApp, GRAPH_BASE_URL, LOGIN_BASE_URL,
    OPENAI_BASE_URL, ProviderConfig, Secret,
};
pub use error::ProviderError;
pub use retry::RetryPolicy;

/// A connected LLM provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI organisation, through the Admin API (`sk-admin-…` key).
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic organisation, through the Admin API (`sk-ant-admin…` key).
    Anthropic,
    /// Azure OpenAI resources, through Azure RBAC (ARM) and optionally Microsoft Graph.
    #[serde(rename = "azure_openai")]
    AzureOpenAi,
}

impl ProviderKind {
    /// The provider's name for people ("OpenAI", "Anthropic", "Azure").
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "OpenAI",
            ProviderKind::Anthropic => "Anthropic",
            ProviderKind::AzureOpenAi => "Azure",
        }
    }
}

/// The person being offboarded, as the providers know them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaver {
    /// Email address; OpenAI and Anthropic users are found by it (case-insensitively).
    pub email: String,
    /// Display name, for evidence only.
    pub display_name: Option<String>,
    /// Entra ID object id; required for Azure (role assignments are by principal id).
    pub azure_principal_id: Option<String>,
}

/// What one provider did for one leaver: the body of the "provider revoked" node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Which provider.
    pub provider: ProviderKind,
    /// Every action, in the order performed (or found already done).
    pub actions: Vec<Action>,
    /// Whether the leaver still existed at the provider when this call started.
    pub user_found: bool,
}

/// One step of a revocation, with the provider's confirmation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// What was done, e.g. `delete_project_api_key`, `deactivate_api_key`,
    /// `delete_role_assignment`.
    pub action: String,
    /// The provider's ids of what it was done to (e.g. `proj_abc/key_abc`).
    pub target: String,
    /// How it ended.
    pub outcome: ActionOutcome,
    /// HTTP status of the provider's answer that confirms the outcome.
    pub http_status: u16,
    /// The provider's request id (`x-request-id`, `request-id` or `x-ms-request-id`).
    pub request_id: Option<String>,
}

/// How an [`Action`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionOutcome {
    /// Performed now: deleted or removed.
    Done,
    /// Nothing to do: already deleted, removed or disabled (found so, or a `404`).
    AlreadyGone,
    /// Performed now: the object survives but is disabled (an Anthropic key set
    /// `inactive`, an Entra account with `accountEnabled: false`).
    Disabled,
}

/// The boxed future [`Provider::revoke`] returns.
pub type RevokeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Revocation, ProviderError>> + Send + 'a>>;

/// One connected provider, able to revoke a leaver's access. See the module docs for
/// the contract.
pub trait Provider: Send + Sync {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;
    /// Revoke every access the leaver has at this provider, reporting each action that
    /// changed something to `journal` as soon as the provider confirmed it.
    fn revoke<'a>(&'a self, leaver: &'a Leaver, journal: &'a dyn ActionJournal)
    -> RevokeFuture<'a>;
}

/// The boxed future [`ActionJournal::performed`] returns.
pub type JournalFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where a revocation reports each action that changed something at the provider
/// (outcome [`ActionOutcome::Done`] or [`ActionOutcome::Disabled`]), before it goes on
/// to the next one. A revocation cut short (a crash, a step that needs a person, a
/// provider that stops answering) thereby still leaves the provider's confirmation of
/// everything it did; the next attempt finds those objects gone and says so.
pub trait ActionJournal: Send + Sync {
    /// Records `action`; returns once it is kept (or, if keeping it failed, after
    /// saying so in the log: the revocation itself goes on).
    fn performed<'a>(&'a self, action: &'a Action) -> JournalFuture<'a>;
}

/// A journal that keeps nothing, for a revocation whose result alone is wanted.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoJournal;

impl ActionJournal for NoJournal {
    fn performed<'a>(&'a self, _action: &'a Action) -> JournalFuture<'a> {
        Box::pin(std::future::ready(()))
    }
}

/// The actions of one revocation, in order, each reported to the journal as it is added.
pub(crate) struct Actions<'a> {
    list: Vec<Action>,
    journal: &'a dyn ActionJournal,
}

impl<'a> Actions<'a> {
    pub(crate) fn new(journal: &'a dyn ActionJournal) -> Self {
        Actions {
            list: Vec::new(),
            journal,
        }
    }

    /// Adds `action`; one that changed something is journaled first.
    pub(crate) async fn push(&mut self, action: Action) {
        if action.outcome != ActionOutcome::AlreadyGone {
            self.journal.performed(&action).await;
        }
        self.list.push(action);
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Action> {
        self.list.iter()
    }

    pub(crate) fn into_vec(self) -> Vec<Action> {
        self.list
    }
}

/// Build the client for one connected provider.
///
/// Fails with [`ProviderError::NeedsAttention`] when the configuration cannot work
/// (a base URL that does not parse, Azure without scopes).
pub fn build(config: ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
    Ok(match config.kind {
        ProviderKind::OpenAi => Arc::new(openai::OpenAi::new(config)?),
        ProviderKind::Anthropic => Arc::new(anthropic::Anthropic::new(config)?),
        ProviderKind::AzureOpenAi => Arc::new(azure::AzureOpenAi::new(config)?),
    })
}

impl Action {
    /// An action confirmed by `reply` (its status and request id).
    pub(crate) fn confirmed(
        action: &str,
        target: impl Into<String>,
        outcome: ActionOutcome,
        reply: &http::Reply,
    ) -> Self {
        Action {
            action: action.to_owned(),
            target: target.into(),
            outcome,
            http_status: reply.status,
            request_id: reply.request_id.clone(),
        }
    }
}

impl Action {
    /// `Done` for a delete (or removal) the reply confirms, `AlreadyGone` for its 404.
    pub(crate) fn deleted(action: &str, target: impl Into<String>, reply: &http::Reply) -> Self {
        let outcome = if reply.is_not_found() {
            ActionOutcome::AlreadyGone
        } else {
            ActionOutcome::Done
        };
        Action::confirmed(action, target, outcome, reply)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_to_their_stable_names() {
        for (kind, name) in [
            (ProviderKind::OpenAi, "\"openai\""),
            (ProviderKind::Anthropic, "\"anthropic\""),
            (ProviderKind::AzureOpenAi, "\"azure_openai\""),
        ] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), name);
            assert_eq!(serde_json::from_str::<ProviderKind>(name).unwrap(), kind);
        }
    }

    #[test]
    fn outcomes_serialise_snake_case() {
        assert_eq!(
            serde_json::to_string(&ActionOutcome::AlreadyGone).unwrap(),
            "\"already_gone\""
        );
    }
}
