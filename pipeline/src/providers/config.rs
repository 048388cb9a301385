//! What a provider client is built from: where the API is, the admin credential, and
//! (for Azure) which scopes to clean and whether to touch the Entra account.

use std::fmt;

use super::ProviderKind;
use super::retry::RetryPolicy;

/// OpenAI Admin API base (paths such as `/organization/users` are appended).
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Anthropic API base (paths such as `/v1/organizations/users` are appended).
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// Azure Resource Manager base (scopes such as `/subscriptions/…` are appended).
pub const ARM_BASE_URL: &str = "https://management.azure.com";
/// Microsoft Graph base (paths such as `/v1.0/users/{id}` are appended).
pub const GRAPH_BASE_URL: &str = "https://graph.microsoft.com";

/// An admin credential. Its `Debug` and `Display` print `<redacted>`; the value is
/// only reachable through [`Secret::expose`], which the HTTP layer calls to set a
/// (sensitive-marked) header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself. Never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Azure-only settings. Role assignments are removed through ARM with the
/// [`ProviderConfig::credential`] (a bearer token for `https://management.azure.com`);
/// the Entra account is handled through Microsoft Graph with its own token, because
/// an Azure AD token is issued for one audience.
#[derive(Clone, Debug, Default)]
pub struct AzureSettings {
    /// ARM scopes to clean, e.g. `/subscriptions/{sub}`,
    /// `/subscriptions/{sub}/resourceGroups/{rg}` or the Azure OpenAI account's
    /// resource id. Assignments at or below one of them are deleted.
    pub scopes: Vec<String>,
    /// Microsoft Graph base URL ([`GRAPH_BASE_URL`] in production).
    pub graph_base_url: String,
    /// Bearer token for Graph (`User.ReadWrite.All` / `User.RevokeSessions.All`);
    /// required when either Entra option below is on.
    pub graph_credential: Option<Secret>,
    /// Also set `accountEnabled: false` on the Entra user.
    pub disable_entra_account: bool,
    /// Also revoke the user's sign-in sessions (refresh tokens).
    pub revoke_sessions: bool,
}

/// Everything needed to build one provider client with [`super::build`].
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Which provider.
    pub kind: ProviderKind,
    /// API base URL: [`OPENAI_BASE_URL`], [`ANTHROPIC_BASE_URL`] or [`ARM_BASE_URL`]
    /// in production; a local server in tests.
    pub base_url: String,
    /// The admin credential: an OpenAI org-level admin key, an Anthropic Admin API
    /// key, or an ARM bearer token.
    pub credential: Secret,
    /// Azure-only settings (ignored for the other providers).
    pub azure: AzureSettings,
    /// Timeouts and retries inside one `revoke` call.
    pub retry: RetryPolicy,
}

impl ProviderConfig {
    /// OpenAI Admin API with an organisation admin key.
    pub fn openai(base_url: impl Into<String>, admin_key: Secret) -> Self {
        Self::new(ProviderKind::OpenAi, base_url.into(), admin_key)
    }

    /// Anthropic Admin API with an Admin API key.
    pub fn anthropic(base_url: impl Into<String>, admin_key: Secret) -> Self {
        Self::new(ProviderKind::Anthropic, base_url.into(), admin_key)
    }

    /// Azure OpenAI: ARM at `base_url` with a tenant-scoped bearer token.
    pub fn azure_openai(
        base_url: impl Into<String>,
        arm_token: Secret,
        azure: AzureSettings,
    ) -> Self {
        ProviderConfig {
            azure,
            ..Self::new(ProviderKind::AzureOpenAi, base_url.into(), arm_token)
        }
    }

    fn new(kind: ProviderKind, base_url: String, credential: Secret) -> Self {
        ProviderConfig {
            kind,
            base_url,
            credential,
            azure: AzureSettings::default(),
            retry: RetryPolicy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format() {
        let secret = Secret::new("sk-admin-very-secret");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        let config = ProviderConfig::openai(OPENAI_BASE_URL, secret.clone());
        assert!(!format!("{config:?}").contains("very-secret"));
        assert_eq!(secret.expose(), "sk-admin-very-secret");
    }
}
