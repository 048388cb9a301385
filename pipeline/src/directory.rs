//! An organisation's employees and connected providers, as the service keeps them.
//! Admin credentials are sealed at rest ([`crate::sealing`]) and never read back out
//! through the API.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Database;
use crate::providers::{
    AzureSettings, EntraApp, GRAPH_BASE_URL, LOGIN_BASE_URL, ProviderConfig, ProviderKind, Secret,
};
use crate::sealing::{SealingError, SealingKey};

/// An employee's offboarding status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmployeeStatus {
    /// Has access.
    Active,
    /// A case is running.
    Offboarding,
    /// Every step of the case is done.
    Locked,
}

impl EmployeeStatus {
    fn as_str(self) -> &'static str {
        match self {
            EmployeeStatus::Active => "active",
            EmployeeStatus::Offboarding => "offboarding",
            EmployeeStatus::Locked => "locked",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "offboarding" => EmployeeStatus::Offboarding,
            "locked" => EmployeeStatus::Locked,
            _ => EmployeeStatus::Active,
        }
    }
}

/// An employee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    /// The HRIS / IdP employee id (the `subject` of custody nodes).
    pub id: String,
    /// Work email; providers find the user by it.
    pub email: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Entra ID object id, for Azure role assignments.
    pub azure_principal_id: Option<String>,
    /// Offboarding status.
    pub status: EmployeeStatus,
}

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A sealed credential could not be sealed or opened.
    #[error(transparent)]
    Sealing(#[from] SealingError),
    /// A stored provider row is unreadable.
    #[error("provider `{id}`: {reason}")]
    BadProvider {
        /// The provider id.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

fn employee_from_row(row: &sqlx::any::AnyRow) -> Result<Employee, sqlx::Error> {
    Ok(Employee {
        id: row.try_get(0)?,
        email: row.try_get(1)?,
        display_name: row.try_get(2)?,
        azure_principal_id: row.try_get(3)?,
        status: EmployeeStatus::parse(&row.try_get::<String, _>(4)?),
    })
}

const EMPLOYEE_COLUMNS: &str = "employee_id, email, display_name, azure_principal_id, status";

/// Adds or updates an employee (the status of an existing one is kept).
pub async fn put_employee(db: &Database, org: &str, e: &Employee) -> Result<(), DirectoryError> {
    sqlx::query(
        "INSERT INTO employees (org, employee_id, email, display_name, azure_principal_id, status) \
         VALUES ($1, $2, $3, $4, $5, 'active') \
         ON CONFLICT (org, employee_id) DO UPDATE SET email = excluded.email, \
         display_name = excluded.display_name, azure_principal_id = excluded.azure_principal_id",
    )
    .bind(org)
    .bind(&e.id)
    .bind(e.email.to_lowercase())
    .bind(e.display_name.as_deref())
    .bind(e.azure_principal_id.as_deref())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The employee with `email` (case-insensitive).
pub async fn employee_by_email(
    db: &Database,
    org: &str,
    email: &str,
) -> Result<Option<Employee>, DirectoryError> {
    let sql = format!("SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE org = $1 AND email = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(email.to_lowercase())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.as_ref().map(employee_from_row).transpose()?)
}

/// The employee with `id`.
pub async fn employee(
    db: &Database,
    org: &str,
    id: &str,
) -> Result<Option<Employee>, DirectoryError> {
    let sql =
        format!("SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE org = $1 AND employee_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.as_ref().map(employee_from_row).transpose()?)
}

/// Every employee of `org`, by id.
pub async fn employees(db: &Database, org: &str) -> Result<Vec<Employee>, DirectoryError> {
    let sql =
        format!("SELECT {EMPLOYEE_COLUMNS} FROM employees WHERE org = $1 ORDER BY employee_id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .iter()
        .map(employee_from_row)
        .collect::<Result<_, _>>()?)
}

/// Sets an employee's status.
pub async fn set_status(
    db: &Database,
    org: &str,
    id: &str,
    status: EmployeeStatus,
) -> Result<(), DirectoryError> {
    let mut conn = db.pool().acquire().await?;
    set_status_in(&mut conn, org, id, status).await
}

/// [`set_status`] on a connection the caller holds, for example inside its transaction.
pub async fn set_status_in(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    id: &str,
    status: EmployeeStatus,
) -> Result<(), DirectoryError> {
    sqlx::query("UPDATE employees SET status = $1 WHERE org = $2 AND employee_id = $3")
        .bind(status.as_str())
        .bind(org)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A connected provider as the API shows it: never its credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// The organisation's name for it (`openai`, `azure-eu`, …).
    pub id: String,
    /// Which provider.
    pub kind: ProviderKind,
    /// API base URL.
    pub base_url: String,
    /// Non-secret settings (Azure scopes and options).
    pub settings: ProviderSettings,
}

/// Non-secret provider settings (Azure only, for now).
///
/// An Azure provider signs in as an Entra app when `tenant_id` and `client_id` are set
/// (client credentials; its credential is then the app's client secret). Without them
/// its credential is a static ARM bearer token, which expires after about an hour: that
/// mode is for short-lived testing only. (The client-credential fields are left out of
/// the stored JSON when unset, so rows of other providers read as before.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// ARM scopes whose role assignments are removed.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Microsoft Graph base URL.
    #[serde(default)]
    pub graph_base_url: Option<String>,
    /// Directory (tenant) id of the Entra app (a GUID or the tenant's domain name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Application (client) id of the Entra app (a GUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Microsoft identity platform base URL (default [`LOGIN_BASE_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_base_url: Option<String>,
    /// Disable the Entra account.
    #[serde(default)]
    pub disable_entra_account: bool,
    /// Revoke the user's Entra sign-in sessions.
    #[serde(default)]
    pub revoke_sessions: bool,
}

impl ProviderSettings {
    /// The Entra app to sign in as: `None` without `tenant_id` and `client_id` (static
    /// tokens); the reason if only one is set, an id has the wrong shape, or
    /// `login_base_url` is set without them.
    pub fn entra_app(&self) -> Result<Option<EntraApp>, String> {
        match (&self.tenant_id, &self.client_id) {
            (Some(tenant_id), Some(client_id)) => {
                let app = EntraApp {
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    login_base_url: self
                        .login_base_url
                        .clone()
                        .unwrap_or_else(|| LOGIN_BASE_URL.into()),
                };
                app.check()?;
                Ok(Some(app))
            }
            (None, None) if self.login_base_url.is_some() => Err(
                "login_base_url is only used with client credentials (tenant_id and client_id)"
                    .into(),
            ),
            (None, None) => Ok(None),
            _ => Err("client credentials need both tenant_id and client_id".into()),
        }
    }

    /// The Azure client settings these make, with the static Graph token if any.
    fn azure(self, graph_credential: Option<Secret>) -> Result<AzureSettings, String> {
        Ok(AzureSettings {
            app: self.entra_app()?,
            scopes: self.scopes,
            graph_base_url: self.graph_base_url.unwrap_or_else(|| GRAPH_BASE_URL.into()),
            graph_credential,
            disable_entra_account: self.disable_entra_account,
            revoke_sessions: self.revoke_sessions,
        })
    }
}

/// The sealed part of a provider: its credentials.
#[derive(Serialize, Deserialize)]
struct Credentials {
    credential: String,
    graph_credential: Option<String>,
}

/// Connects (or reconnects) a provider; the credentials are sealed before storage.
pub async fn put_provider(
    db: &Database,
    key: &SealingKey,
    org: &str,
    info: &ProviderInfo,
    credential: &Secret,
    graph_credential: Option<&Secret>,
) -> Result<(), DirectoryError> {
    let creds = Credentials {
        credential: credential.expose().to_owned(),
        graph_credential: graph_credential.map(|s| s.expose().to_owned()),
    };
    let plain = serde_json::to_vec(&creds).map_err(|e| bad(&info.id, e))?;
    let sealed = key.seal(&format!("{org}/{}", info.id), &plain)?;
    let settings = serde_json::to_string(&info.settings).map_err(|e| bad(&info.id, e))?;
    sqlx::query(
        "INSERT INTO providers (org, provider_id, kind, base_url, settings, credential_sealed) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (org, provider_id) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url, \
         settings = excluded.settings, credential_sealed = excluded.credential_sealed",
    )
    .bind(org)
    .bind(&info.id)
    .bind(kind_name(info.kind))
    .bind(&info.base_url)
    .bind(settings)
    .bind(sealed)
    .execute(db.pool())
    .await?;
    Ok(())
}

fn bad(id: &str, e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::BadProvider {
        id: id.to_owned(),
        reason: e.to_string(),
    }
}

fn kind_name(kind: ProviderKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn provider_from_row(row: &sqlx::any::AnyRow) -> Result<(ProviderInfo, Vec<u8>), DirectoryError> {
    let id: String = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let kind: ProviderKind =
        serde_json::from_value(serde_json::Value::String(kind)).map_err(|e| bad(&id, e))?;
    let settings: String = row.try_get(3)?;
    let settings = serde_json::from_str(&settings).map_err(|e| bad(&id, e))?;
    let info = ProviderInfo {
        id,
        kind,
        base_url: row.try_get(2)?,
        settings,
    };
    Ok((info, row.try_get(4)?))
}

/// Disconnects provider `id` of `org`: its sealed credentials are deleted, and later
/// lockouts no longer revoke there. False if `org` has no such provider.
pub async fn remove_provider(db: &Database, org: &str, id: &str) -> Result<bool, DirectoryError> {
    let done = sqlx::query("DELETE FROM providers WHERE org = $1 AND provider_id = $2")
        .bind(org)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Every connected provider of `org` (without credentials), by id.
pub async fn providers(db: &Database, org: &str) -> Result<Vec<ProviderInfo>, DirectoryError> {
    let rows = sqlx::query(
        "SELECT provider_id, kind, base_url, settings, credential_sealed FROM providers WHERE org = $1 ORDER BY provider_id",
    )
    .bind(org)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| provider_from_row(r).map(|(info, _)| info))
        .collect()
}

/// The client configuration of provider `id`, with its credentials unsealed.
pub async fn provider_config(
    db: &Database,
    key: &SealingKey,
    org: &str,
    id: &str,
) -> Result<Option<ProviderConfig>, DirectoryError> {
    let row = sqlx::query(
        "SELECT provider_id, kind, base_url, settings, credential_sealed FROM providers WHERE org = $1 AND provider_id = $2",
    )
    .bind(org)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (info, sealed) = provider_from_row(&row)?;
    let plain = key.open(&format!("{org}/{id}"), &sealed)?;
    let creds: Credentials = serde_json::from_slice(&plain).map_err(|e| bad(id, e))?;
    let credential = Secret::new(creds.credential);
    Ok(Some(match info.kind {
        ProviderKind::OpenAi => ProviderConfig::openai(info.base_url, credential),
        ProviderKind::Anthropic => ProviderConfig::anthropic(info.base_url, credential),
        ProviderKind::AzureOpenAi => {
            let graph = creds.graph_credential.map(Secret::new);
            let azure = info.settings.azure(graph).map_err(|e| bad(id, e))?;
            match azure.app.clone() {
                Some(app) => {
                    ProviderConfig::azure_openai_app(info.base_url, app, credential, azure)
                }
                None => ProviderConfig::azure_openai(info.base_url, credential, azure),
            }
        }
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CLIENT: &str = "ce2ce14e-85d7-4629-bdbc-454d0519d987";

    fn settings(json: serde_json::Value) -> ProviderSettings {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn tenant_and_client_ids_choose_client_credentials() {
        let app = settings(serde_json::json!({"tenant_id": TENANT, "client_id": CLIENT}))
            .entra_app()
            .unwrap()
            .unwrap();
        assert_eq!(app, EntraApp::new(TENANT, CLIENT));
        assert_eq!(app.login_base_url, LOGIN_BASE_URL);
        let local = settings(serde_json::json!({
            "tenant_id": "contoso.onmicrosoft.com", "client_id": CLIENT,
            "login_base_url": "http://127.0.0.1:9"
        }));
        let azure = local.azure(None).unwrap();
        assert_eq!(azure.app.unwrap().login_base_url, "http://127.0.0.1:9");
        assert_eq!(azure.graph_base_url, GRAPH_BASE_URL);
        assert_eq!(
            settings(serde_json::json!({"scopes": ["/subscriptions/x"]})).entra_app(),
            Ok(None)
        );
    }

    #[test]
    fn half_or_malformed_client_credentials_are_refused() {
        let table = [
            serde_json::json!({"tenant_id": TENANT}),
            serde_json::json!({"client_id": CLIENT}),
            serde_json::json!({"login_base_url": "http://127.0.0.1:9"}),
            serde_json::json!({"tenant_id": "common", "client_id": CLIENT}),
            serde_json::json!({"tenant_id": TENANT, "client_id": "my-app"}),
        ];
        for json in table {
            assert!(settings(json.clone()).entra_app().is_err(), "{json}");
        }
        let unknown: Result<ProviderSettings, _> =
            serde_json::from_value(serde_json::json!({"client_secret": "s"}));
        assert!(unknown.is_err(), "secrets are not settings");
    }
}
