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

use crate::db::{Database, Engine as DbEngine};

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
    /// The token's id (see [`token_id`]).
    pub token_id: String,
}

/// A freshly issued token secret. Shown once; its `Debug` and `Display` never print it.
pub struct TokenSecret(String);

impl TokenSecret {
    /// The token's id: what lists show and revocation takes, never enough to use it.
    pub fn id(&self) -> String {
        token_id(&hash(&self.0))
    }

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

/// Issues a token for `org` with `role`, optionally owned by an employee (whose
/// sessions an offboarding invalidates); returns the secret (shown once).
pub async fn issue(
    db: &Database,
    org: &str,
    role: Role,
    name: &str,
) -> Result<TokenSecret, AuthError> {
    issue_owned(db, org, role, name, None).await
}

/// As [`issue`], recording the employee email that owns the token.
pub async fn issue_owned(
    db: &Database,
    org: &str,
    role: Role,
    name: &str,
    owner_email: Option<&str>,
) -> Result<TokenSecret, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| AuthError::Database(sqlx::Error::Io(e.into())))?;
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    sqlx::query(
        "INSERT INTO api_tokens (token_hash, org, role, name, created_at, owner_email) \
         VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP, $5)",
    )
    .bind(hash(&secret))
    .bind(org)
    .bind(role.as_str())
    .bind(name)
    .bind(owner_email)
    .execute(db.pool())
    .await?;
    Ok(TokenSecret(secret))
}

/// Revokes every live token of `org` owned by `owner_email`; returns how many.
pub async fn revoke_owned(db: &Database, org: &str, owner_email: &str) -> Result<u64, AuthError> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP \
         WHERE org = $1 AND owner_email = $2 AND revoked_at IS NULL",
    )
    .bind(org)
    .bind(owner_email)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected())
}

/// Resolves an `Authorization` header value to the principal it names.
/// A token's id: the first 8 bytes of its stored SHA-256, in hex. It names the token
/// in lists and revocations; the secret cannot be recovered from it.
pub fn token_id(hash: &[u8]) -> String {
    hex::encode(&hash[..hash.len().min(8)])
}

/// A token as an admin sees it: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// See [`token_id`].
    pub id: String,
    /// The name it was issued under.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The employee it belongs to, if any: invalidating their sessions revokes it.
    pub owner_email: Option<String>,
    /// When it was issued (RFC 3339, UTC).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// A row of `api_tokens` as [`tokens`] reads it: hash, name, role, owner, issued, revoked.
type TokenRow = (
    Vec<u8>,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

/// Every token of `org`, oldest first.
pub async fn tokens(db: &Database, org: &str) -> Result<Vec<TokenInfo>, AuthError> {
    let rfc3339 = |column: &str| match db.engine() {
        DbEngine::Postgres => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
        }
        DbEngine::Sqlite => format!("strftime('%Y-%m-%dT%H:%M:%SZ', {column})"),
    };
    let sql = format!(
        "SELECT token_hash, name, role, owner_email, {}, {} FROM api_tokens WHERE org = $1 \
         ORDER BY created_at, name",
        rfc3339("created_at"),
        rfc3339("revoked_at")
    );
    let rows: Vec<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter()
        .map(|(hash, name, role, owner_email, created_at, revoked_at)| {
            Ok(TokenInfo {
                id: token_id(&hash),
                name,
                role: role.parse()?,
                owner_email,
                created_at,
                revoked_at,
            })
        })
        .collect()
}

/// Revokes `org`'s token `id`; false if it has no such token that is still valid.
pub async fn revoke(db: &Database, org: &str, id: &str) -> Result<bool, AuthError> {
    let hashes: Vec<(Vec<u8>,)> =
        sqlx::query_as("SELECT token_hash FROM api_tokens WHERE org = $1 AND revoked_at IS NULL")
            .bind(org)
            .fetch_all(db.pool())
            .await?;
    let Some((hash,)) = hashes.into_iter().find(|(h,)| token_id(h) == id) else {
        return Ok(false);
    };
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP \
         WHERE org = $1 AND token_hash = $2 AND revoked_at IS NULL",
    )
    .bind(org)
    .bind(hash)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn authenticate(db: &Database, header: Option<&str>) -> Result<Principal, AuthError> {
    let secret = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| s.starts_with(PREFIX) && s.len() < 128)
        .ok_or(AuthError::Missing)?;
    let hashed = hash(secret);
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT org, role, name FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(&hashed)
    .fetch_optional(db.pool())
    .await?;
    let (org, role, token_name) = row.ok_or(AuthError::Invalid)?;
    Ok(Principal {
        org,
        role: role.parse()?,
        token_name,
        token_id: token_id(&hashed),
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
