//! The device tables (migration `0002_devices.sql`): every query the devices module runs.
//!
//! Each statement is written once with `$n` placeholders, which both engines accept.

use sqlx::Row as _;

use crate::db::Database;

/// `SELECT <device columns> FROM devices <rest> ORDER BY enrolled_at, device_id`.
macro_rules! select_devices {
    ($rest:literal) => {
        concat!(
            "SELECT device_id, subject, name, enrolled_at, revoked_at FROM devices ",
            $rest,
            " ORDER BY enrolled_at, device_id"
        )
    };
}

/// One row of `device_commands`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommandRow {
    pub command_id: String,
    pub org: String,
    pub device_id: String,
    pub subject: String,
    pub case_id: String,
    pub signed_command: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub status: String,
    pub detail: Option<String>,
}

/// `SELECT <every command column> FROM device_commands <rest>`, as a static string.
macro_rules! select_commands {
    ($rest:literal) => {
        concat!(
            "SELECT command_id, org, device_id, subject, case_id, signed_command, issued_at, ",
            "expires_at, status, detail FROM device_commands ",
            $rest
        )
    };
}

type CommandTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
);

fn command_row(t: CommandTuple) -> CommandRow {
    CommandRow {
        command_id: t.0,
        org: t.1,
        device_id: t.2,
        subject: t.3,
        case_id: t.4,
        signed_command: t.5,
        issued_at: t.6,
        expires_at: t.7,
        status: t.8,
        detail: t.9,
    }
}

/// An enrolled device, as the admin API lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    /// The device's id.
    pub device_id: String,
    /// The employee it belongs to.
    pub subject: String,
    /// The name given at enrollment.
    pub name: String,
    /// When it enrolled (Unix seconds).
    pub enrolled_at: i64,
    /// Whether its credential was revoked.
    pub revoked: bool,
}

pub(crate) async fn insert_enrollment_token(
    db: &Database,
    hash: &[u8],
    (org, subject, created_by): (&str, &str, &str),
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO device_enrollment_tokens \
         (token_hash, org, subject, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash)
    .bind(org)
    .bind(subject)
    .bind(created_by)
    .bind(now)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Marks the token used and inserts the device, in one transaction; `None` when the
/// token is unknown, used or expired. Returns the device's (org, subject).
pub(crate) async fn redeem_enrollment(
    db: &Database,
    token_hash: &[u8],
    now: i64,
    (device_id, name, credential_hash): (&str, &str, &[u8]),
) -> Result<Option<(String, String)>, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let row: Option<(String, String)> = sqlx::query_as(
        "UPDATE device_enrollment_tokens SET used_at = $1, device_id = $2 \
         WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $4 \
         RETURNING org, subject",
    )
    .bind(now)
    .bind(device_id)
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((org, subject)) = row else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO devices (device_id, org, subject, name, credential_hash, enrolled_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(device_id)
    .bind(&org)
    .bind(&subject)
    .bind(name)
    .bind(credential_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((org, subject)))
}

/// Revokes `org`'s device `device_id` at `now` (Unix seconds); false if it has no such
/// device that is still active.
pub(crate) async fn revoke_device(
    db: &Database,
    org: &str,
    device_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE devices SET revoked_at = $1 WHERE org = $2 AND device_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(org)
    .bind(device_id)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The (device id, org, subject) of an active credential.
pub(crate) async fn device_by_credential(
    db: &Database,
    hash: &[u8],
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT device_id, org, subject FROM devices \
         WHERE credential_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(db.pool())
    .await
}

/// The enrolled devices of `org`, optionally only `subject`'s, oldest first.
pub(crate) async fn devices(
    db: &Database,
    org: &str,
    subject: Option<&str>,
) -> Result<Vec<DeviceInfo>, sqlx::Error> {
    let rows = match subject {
        Some(subject) => {
            sqlx::query(select_devices!("WHERE org = $1 AND subject = $2"))
                .bind(org)
                .bind(subject)
                .fetch_all(db.pool())
                .await?
        }
        None => {
            sqlx::query(select_devices!("WHERE org = $1"))
                .bind(org)
                .fetch_all(db.pool())
                .await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(DeviceInfo {
                device_id: row.try_get(0)?,
                subject: row.try_get(1)?,
                name: row.try_get(2)?,
                enrolled_at: row.try_get(3)?,
                revoked: row.try_get::<Option<i64>, _>(4)?.is_some(),
            })
        })
        .collect()
}

/// Inserts a command unless (case, device) already has one; true when inserted.
pub(crate) async fn insert_command(db: &Database, row: &CommandRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO device_commands (command_id, org, device_id, subject, case_id, \
         signed_command, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (case_id, device_id) DO NOTHING",
    )
    .bind(&row.command_id)
    .bind(&row.org)
    .bind(&row.device_id)
    .bind(&row.subject)
    .bind(&row.case_id)
    .bind(&row.signed_command)
    .bind(row.issued_at)
    .bind(row.expires_at)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The command of (case, device), if one was queued.
pub(crate) async fn command_for(
    db: &Database,
    case_id: &str,
    device_id: &str,
) -> Result<Option<CommandRow>, sqlx::Error> {
    let row: Option<CommandTuple> =
        sqlx::query_as(select_commands!("WHERE case_id = $1 AND device_id = $2"))
            .bind(case_id)
            .bind(device_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(command_row))
}

/// A device's command by id.
pub(crate) async fn device_command(
    db: &Database,
    device_id: &str,
    command_id: &str,
) -> Result<Option<CommandRow>, sqlx::Error> {
    let row: Option<CommandTuple> =
        sqlx::query_as(select_commands!("WHERE device_id = $1 AND command_id = $2"))
            .bind(device_id)
            .bind(command_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(command_row))
}

/// Every command of a case in `org`, by issue time.
pub(crate) async fn case_commands(
    db: &Database,
    org: &str,
    case_id: &str,
) -> Result<Vec<CommandRow>, sqlx::Error> {
    let rows: Vec<CommandTuple> = sqlx::query_as(select_commands!(
        "WHERE org = $1 AND case_id = $2 ORDER BY issued_at, command_id"
    ))
    .bind(org)
    .bind(case_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(command_row).collect())
}

/// A device's unacknowledged commands (id, signed envelope), oldest first.
pub(crate) async fn pending_commands(
    db: &Database,
    device_id: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT command_id, signed_command FROM device_commands \
         WHERE device_id = $1 AND status = 'pending' \
         ORDER BY issued_at, command_id LIMIT $2",
    )
    .bind(device_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await
}

/// Records the first acknowledgement of a pending command; true when this call did.
pub(crate) async fn acknowledge(
    db: &Database,
    (device_id, command_id): (&str, &str),
    status: &str,
    detail: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE device_commands SET status = $1, detail = $2, acked_at = $3 \
         WHERE device_id = $4 AND command_id = $5 AND status = 'pending'",
    )
    .bind(status)
    .bind(detail)
    .bind(now)
    .bind(device_id)
    .bind(command_id)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}
