//! What a provider client is built from: where the API is, the admin credential, and
//! (for Azure) how to sign in, which scopes to clean and whether to touch the Entra
//! account.

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
/// Microsoft identity platform base (`/{tenant}/oauth2/v2.0/token` is appended).
pub const LOGIN_BASE_URL: &str = "https://login.microsoftonline.com";

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

/// Azure-only settings. Role assignments are removed through ARM; the Entra account
/// and group memberships are handled through Microsoft Graph. An Entra token is issued
/// for one audience, so the two APIs take different tokens.
///
/// With [`AzureSettings::app`] set (client credentials, the mode to use), both tokens
/// are obtained from the Microsoft identity platform with the client secret held in
/// [`ProviderConfig::credential`], and reused while they have more than 5 minutes left. Without it, the credential
/// *is* an ARM bearer token and [`AzureSettings::graph_credential`] a Graph one: such
/// tokens expire after about an hour, so that mode is for short-lived testing only.
#[derive(Clone, Debug)]
pub struct AzureSettings {
    /// ARM scopes to clean, e.g. `/subscriptions/{sub}`,
    /// `/subscriptions/{sub}/resourceGroups/{rg}` or the Azure OpenAI account's
    /// resource id. Assignments at or below one of them are deleted; grants held
    /// through a group there are removed by taking the user out of the group.
    pub scopes: Vec<String>,
    /// Microsoft Graph base URL ([`GRAPH_BASE_URL`] in production).
    pub graph_base_url: String,
    /// The Entra app registration to sign in as (client credentials). `None`: static
    /// tokens, for short-lived testing only.
    pub app: Option<EntraApp>,
    /// Static-token mode only (ignored with [`AzureSettings::app`]): a bearer token for
    /// Graph (`User.ReadWrite.All`, `User.RevokeSessions.All`,
    /// `GroupMember.ReadWrite.All`); required when either Entra option below is on,
    /// and to remove grants held through groups.
    pub graph_credential: Option<Secret>,
    /// Also set `accountEnabled: false` on the Entra user.
    pub disable_entra_account: bool,
    /// Also revoke the user's sign-in sessions (refresh tokens).
    pub revoke_sessions: bool,
}

impl Default for AzureSettings {
    fn default() -> Self {
        AzureSettings {
            scopes: Vec::new(),
            graph_base_url: GRAPH_BASE_URL.to_owned(),
            app: None,
            graph_credential: None,
            disable_entra_account: false,
            revoke_sessions: false,
        }
    }
}

/// An Entra app registration that signs in with the OAuth 2.0 client-credentials
/// grant. Its ids are not secret; its client secret is the provider credential.
///
/// The app needs the ARM role to delete role assignments at the configured scopes
/// (e.g. User Access Administrator) and, for group-held grants and the Entra options,
/// the Graph application permissions `GroupMember.ReadWrite.All`,
/// `User.ReadWrite.All` and `User.RevokeSessions.All`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntraApp {
    /// Directory (tenant) id: a GUID or a verified domain such as
    /// `contoso.onmicrosoft.com`.
    pub tenant_id: String,
    /// Application (client) id: a GUID.
    pub client_id: String,
    /// Microsoft identity platform base URL ([`LOGIN_BASE_URL`] in production).
    pub login_base_url: String,
}

impl EntraApp {
    /// An app registration in `tenant_id` at the public Microsoft identity platform.
    pub fn new(tenant_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        EntraApp {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            login_base_url: LOGIN_BASE_URL.to_owned(),
        }
    }

    /// Whether the ids have the shape Entra gives them; the reason if not. (They go
    /// into the token URL and form, so nothing else is let through.)
    pub fn check(&self) -> Result<(), String> {
        if !is_guid(&self.tenant_id) && !is_domain_name(&self.tenant_id) {
            return Err(
                "tenant_id must be the directory (tenant) id, a GUID, or a domain name of \
                 the tenant such as contoso.onmicrosoft.com"
                    .into(),
            );
        }
        if !is_guid(&self.client_id) {
            return Err("client_id must be the application (client) id, a GUID".into());
        }
        Ok(())
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits.
pub(crate) fn is_guid(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A DNS name of two or more labels (`contoso.onmicrosoft.com`): letters, digits and
/// inner hyphens, each label 1 to 63 characters, 253 in all.
fn is_domain_name(name: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    name.len() <= 253 && name.split('.').count() >= 2 && name.split('.').all(label_ok)
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
    /// key, or for Azure the client secret of [`AzureSettings::app`] (or, in the
    /// static-token mode for testing, an ARM bearer token).
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

    /// Azure OpenAI signing in as an Entra app with its client secret: ARM at
    /// `base_url`, tokens from the Microsoft identity platform.
    /// `azure.app` is set to `app`.
    pub fn azure_openai_app(
        base_url: impl Into<String>,
        app: EntraApp,
        client_secret: Secret,
        azure: AzureSettings,
    ) -> Self {
        let azure = AzureSettings {
            app: Some(app),
            ..azure
        };
        ProviderConfig {
            azure,
            ..Self::new(ProviderKind::AzureOpenAi, base_url.into(), client_secret)
        }
    }

    /// Azure OpenAI with a static ARM bearer token (and `azure.graph_credential`).
    /// Entra tokens expire after about an hour, so this is for short-lived testing
    /// only: connections that must keep working use [`ProviderConfig::azure_openai_app`].
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

    #[test]
    fn entra_ids_are_checked() {
        let guid = "ce2ce14e-85d7-4629-bdbc-454d0519d987";
        let table = [
            (guid, guid, true),
            ("contoso.onmicrosoft.com", guid, true),
            ("CONTOSO.com", guid, true),
            (guid, "contoso.onmicrosoft.com", false),
            ("common", guid, false),
            ("contoso.com/../x", guid, false),
            ("-contoso.com", guid, false),
            ("contoso..com", guid, false),
            ("", guid, false),
            (guid, "ce2ce14e85d74629bdbc454d0519d987", false),
            (guid, "ce2ce14e-85d7-4629-bdbc-454d0519d98g", false),
        ];
        for (tenant, client, ok) in table {
            let app = EntraApp::new(tenant, client);
            assert_eq!(app.check().is_ok(), ok, "{tenant} {client}");
        }
    }

    #[test]
    fn app_configs_keep_the_client_secret_secret() {
        let app = EntraApp::new(
            "contoso.onmicrosoft.com",
            "ce2ce14e-85d7-4629-bdbc-454d0519d987",
        );
        let config = ProviderConfig::azure_openai_app(
            ARM_BASE_URL,
            app.clone(),
            Secret::new("Qx8Q~client-secret-value"),
            AzureSettings::default(),
        );
        assert_eq!(config.azure.app, Some(app));
        assert_eq!(config.azure.graph_base_url, GRAPH_BASE_URL);
        let shown = format!("{config:?}");
        assert!(shown.contains("contoso.onmicrosoft.com"), "{shown}");
        assert!(!shown.contains("client-secret-value"), "{shown}");
    }
}
