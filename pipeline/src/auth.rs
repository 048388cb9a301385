//! API tokens: bearer secrets, each scoped to one organisation and one role.
//!
//! A token is `cust_` followed by 32 random bytes in base64url. Only its SHA-256 is
//! stored, so a database dump does not reveal usable tokens; the secret is shown once,
//! to whoever created it, and never logged ([`TokenSecret`]'s `Debug` is redacted).

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, SqlitePool};

use crate::db::Database;

/// What a token may do within its organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Security / IT admins: everything, including appends and token management.
    Admin,
    /// Legal: reads evidence and exports bundles.
    Legal,
    /// External auditors: read evidence, proofs and exports.
    Auditor,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Legal => "legal",
            Role::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "legal" => Ok(Role::Legal),
            "auditor" => Ok(Role::Auditor),
            other => Err(AuthError::UnknownRole {
                role: other.to_owned(),
            }),
        }
    }
}

/// Who a request acts as: the organisation and role of its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The organisation every read and write is confined to.
    pub org: String,
    /// The token's role.
    pub role: Role,
    /// The token's name (for audit, never the secret).
    pub token_name: String,
}

/// A freshly issued token secret. Shown once; its `Debug` and `Display` never print it.
pub struct TokenSecret(String);

impl TokenSecret {
    /// The secret itself, to hand to the person who asked for it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// Why a request could not be authenticated, or a token not issued.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header, or not a custody token.
    #[error("missing or malformed bearer token")]
    Missing,
    /// The token is unknown or revoked.
    #[error("unknown or revoked token")]
    Invalid,
    /// A role name that does not exist.
    #[error("unknown role `{role}` (admin, legal, auditor)")]
    UnknownRole {
        /// The name given.
        role: String,
    },
    /// The database failed.
    #[error("token store: {0}")]
    Database(#[from] sqlx::Error),
}

const PREFIX: &str = "cust_";

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Issues a token for `org` with `role`; returns the secret (shown once).
pub async fn issue(
    db: &Database,
    org: &str,
    role: Role,
    name: &str,
) -> Result<TokenSecret, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| AuthError::Database(sqlx::Error::Io(e.into())))?;
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let now = custody_verifier::time::UtcTime::from_unix(crate::clock::now_unix(), 0)
        .map(|t| t.to_string())
        .unwrap_or_default();
    match db {
        Database::Sqlite(pool) => {
            insert_sqlite(pool, &hash(&secret), org, role, name, &now).await?
        }
        Database::Postgres(pool) => insert_postgres(pool, &hash(&secret), org, role, name).await?,
    }
    Ok(TokenSecret(secret))
}

async fn insert_sqlite(
    pool: &SqlitePool,
    h: &[u8],
    org: &str,
    role: Role,
    name: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (token_hash, org, role, name, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(h)
    .bind(org)
    .bind(role.as_str())
    .bind(name)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ())
}

async fn insert_postgres(
    pool: &PgPool,
    h: &[u8],
    org: &str,
    role: Role,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO api_tokens (token_hash, org, role, name) VALUES ($1, $2, $3, $4)")
        .bind(h)
        .bind(org)
        .bind(role.as_str())
        .bind(name)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Resolves an `Authorization` header value to the principal it names.
pub async fn authenticate(db: &Database, header: Option<&str>) -> Result<Principal, AuthError> {
    let secret = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| s.starts_with(PREFIX) && s.len() < 128)
        .ok_or(AuthError::Missing)?;
    let h = hash(secret);
    let row: Option<(String, String, String)> = match db {
        Database::Sqlite(pool) => sqlx::query_as(
            "SELECT org, role, name FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        )
        .bind(&h)
        .fetch_optional(pool)
        .await?,
        Database::Postgres(pool) => sqlx::query_as(
            "SELECT org, role, name FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(&h)
        .fetch_optional(pool)
        .await?,
    };
    let (org, role, token_name) = row.ok_or(AuthError::Invalid)?;
    Ok(Principal {
        org,
        role: role.parse()?,
        token_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_printed() {
        let secret = TokenSecret("cust_supersecret".into());
        assert!(!format!("{secret:?}").contains("supersecret"));
    }

    #[test]
    fn roles_parse_and_print() {
        for role in [Role::Admin, Role::Legal, Role::Auditor] {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
