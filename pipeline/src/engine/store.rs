//! The engine's work queue in the service database: cases, their steps, and leases.
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL lets several processes share the queue without
//! two of them claiming one step; SQLite serves one process.

use std::time::Duration;

use custody_verifier::merkle::Hash;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::plan::{PlannedStep, Step};
use crate::db::{Database, Engine as DbEngine};

/// A case as the queue keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    /// The case id.
    pub case_id: String,
    /// The employee.
    pub employee_id: String,
    /// What started it (`manual`, `okta`, …).
    pub source: String,
    /// The trigger node's index.
    pub trigger_index: u64,
    /// The trigger node's leaf hash.
    pub trigger_hash: Hash,
    /// 0 open, 1 completed, 2 overridden.
    pub closed: i64,
}

/// A step of a case as the queue keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRow {
    /// The step's name.
    pub step: String,
    /// `pending`, `done` or `needs_attention`.
    pub status: String,
    /// How many times it was claimed.
    pub attempts: i64,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// The node that records it, once done.
    pub node_index: Option<u64>,
}

/// A step claimed by this process until its lease ends.
#[derive(Clone, Debug)]
pub struct Claim {
    /// The organisation.
    pub org: String,
    /// The case.
    pub case_id: String,
    /// The step.
    pub step: Step,
    /// Claims so far, this one included.
    pub attempts: i64,
}

/// Case closed states.
pub const OPEN: i64 = 0;
/// Every step done.
pub const COMPLETED: i64 = 1;
/// Reversed by an admin override.
pub const OVERRIDDEN: i64 = 2;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn case_from_row(row: &AnyRow) -> Result<CaseRow, sqlx::Error> {
    let hash: Vec<u8> = row.try_get(4)?;
    Ok(CaseRow {
        case_id: row.try_get(0)?,
        employee_id: row.try_get(1)?,
        source: row.try_get(2)?,
        trigger_index: u64::try_from(row.try_get::<i64, _>(3)?).unwrap_or_default(),
        trigger_hash: hash.try_into().unwrap_or([0; 32]),
        closed: row.try_get(5)?,
    })
}

const CASE_COLUMNS: &str = "case_id, employee_id, source, trigger_index, trigger_hash, closed";

/// Creates the case and its steps inside the caller's transaction, once: a second call
/// with the same id changes nothing and returns false. Three statements whatever the
/// plan's size: the case, its steps, their edges.
pub async fn create_case(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    case: &CaseRow,
    plan: &[PlannedStep],
    now_us: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO cases (org, case_id, employee_id, source, trigger_index, trigger_hash, created_at_us, closed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT (org, case_id) DO NOTHING",
    )
    .bind(org)
    .bind(&case.case_id)
    .bind(&case.employee_id)
    .bind(&case.source)
    .bind(to_i64(case.trigger_index))
    .bind(case.trigger_hash.to_vec())
    .bind(now_us)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !inserted || plan.is_empty() {
        return Ok(inserted);
    }
    // Each row binds its step name and prerequisite count ($4, $5, $6, $7, …); the
    // organisation, case and due time are shared.
    let rows: Vec<String> = (0..plan.len())
        .map(|i| format!("($1, $2, ${}, 'pending', ${}, 0, $3)", 4 + 2 * i, 5 + 2 * i))
        .collect();
    let sql = format!(
        "INSERT INTO case_steps (org, case_id, step, status, waiting_on, attempts, next_attempt_us) VALUES {}",
        rows.join(", ")
    );
    let mut steps = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(&case.case_id)
        .bind(now_us);
    for planned in plan {
        steps = steps
            .bind(planned.step.name())
            .bind(i64::try_from(planned.after.len()).unwrap_or(i64::MAX));
    }
    steps.execute(&mut *conn).await?;
    let edges: Vec<(String, String)> = plan
        .iter()
        .flat_map(|p| p.after.iter().map(|b| (b.name(), p.step.name())))
        .collect();
    if !edges.is_empty() {
        let rows: Vec<String> = (0..edges.len())
            .map(|i| format!("($1, $2, ${}, ${})", 3 + 2 * i, 4 + 2 * i))
            .collect();
        let sql = format!(
            "INSERT INTO case_step_edges (org, case_id, step, then_step) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(&case.case_id);
        for (before, then) in edges {
            query = query.bind(before).bind(then);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(true)
}

/// Claims up to `limit` due steps for `owner` until `now + lease`.
pub async fn claim(
    db: &Database,
    owner: &str,
    now_us: i64,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Claim>, sqlx::Error> {
    let lock = if db.engine() == DbEngine::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE case_steps SET lease_owner = $1, lease_until_us = $2, attempts = attempts + 1 \
         WHERE (org, case_id, step) IN (\
            SELECT org, case_id, step FROM case_steps \
            WHERE status = 'pending' AND waiting_on = 0 AND next_attempt_us <= $3 \
              AND (lease_until_us IS NULL OR lease_until_us < $3) \
            ORDER BY next_attempt_us LIMIT $4{lock}) \
         RETURNING org, case_id, step, attempts"
    );
    let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(now_us.saturating_add(lease_us))
        .bind(now_us)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    let mut claims = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get(2)?;
        if let Some(step) = Step::parse(&name) {
            claims.push(Claim {
                org: row.try_get(0)?,
                case_id: row.try_get(1)?,
                step,
                attempts: row.try_get(3)?,
            });
        }
    }
    Ok(claims)
}

/// Marks a claimed step done (recorded by node `node_index`) and unblocks the steps that
/// wait for it. Does nothing if this process no longer holds the claim.
pub async fn complete(
    db: &Database,
    owner: &str,
    claim: &Claim,
    node_index: u64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let done = complete_in(&mut tx, owner, claim, node_index).await?;
    tx.commit().await?;
    Ok(done)
}

/// [`complete`] for many steps in one transaction: all or none.
pub async fn complete_many(
    db: &Database,
    owner: &str,
    steps: &[(&Claim, u64)],
) -> Result<(), sqlx::Error> {
    if steps.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    for (claim, node_index) in steps {
        complete_in(&mut tx, owner, claim, *node_index).await?;
    }
    tx.commit().await
}

async fn complete_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    owner: &str,
    claim: &Claim,
    node_index: u64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE case_steps SET status = 'done', node_index = $1, lease_owner = NULL, lease_until_us = NULL, last_error = NULL \
         WHERE org = $2 AND case_id = $3 AND step = $4 AND status = 'pending' AND lease_owner = $5",
    )
    .bind(to_i64(node_index))
    .bind(&claim.org)
    .bind(&claim.case_id)
    .bind(claim.step.name())
    .bind(owner)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if done {
        sqlx::query(
            "UPDATE case_steps SET waiting_on = waiting_on - 1 WHERE org = $1 AND case_id = $2 AND step IN \
             (SELECT then_step FROM case_step_edges WHERE org = $1 AND case_id = $2 AND step = $3)",
        )
        .bind(&claim.org)
        .bind(&claim.case_id)
        .bind(claim.step.name())
        .execute(&mut **tx)
        .await?;
    }
    Ok(done)
}

/// Extends this process's lease on a claimed step; false if it no longer holds it.
pub async fn extend_lease(
    db: &Database,
    owner: &str,
    claim: &Claim,
    now_us: i64,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    let held = sqlx::query(
        "UPDATE case_steps SET lease_until_us = $1 \
         WHERE org = $2 AND case_id = $3 AND step = $4 AND lease_owner = $5 AND status = 'pending'",
    )
    .bind(now_us.saturating_add(lease_us))
    .bind(&claim.org)
    .bind(&claim.case_id)
    .bind(claim.step.name())
    .bind(owner)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(held == 1)
}

/// Releases a claim to be retried at `next_us`, recording why it failed.
pub async fn retry_later(
    db: &Database,
    owner: &str,
    claim: &Claim,
    next_us: i64,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_steps SET next_attempt_us = $1, last_error = $2, lease_owner = NULL, lease_until_us = NULL \
         WHERE org = $3 AND case_id = $4 AND step = $5 AND lease_owner = $6",
    )
    .bind(next_us)
    .bind(error)
    .bind(&claim.org)
    .bind(&claim.case_id)
    .bind(claim.step.name())
    .bind(owner)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Parks a claimed step until a person acts, recording why.
pub async fn needs_attention(
    db: &Database,
    owner: &str,
    claim: &Claim,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE case_steps SET status = 'needs_attention', last_error = $1, lease_owner = NULL, lease_until_us = NULL \
         WHERE org = $2 AND case_id = $3 AND step = $4 AND lease_owner = $5",
    )
    .bind(reason)
    .bind(&claim.org)
    .bind(&claim.case_id)
    .bind(claim.step.name())
    .bind(owner)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Sets a case's closed state.
pub async fn close_case(
    conn: &mut sqlx::AnyConnection,
    org: &str,
    case_id: &str,
    closed: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET closed = $1 WHERE org = $2 AND case_id = $3")
        .bind(closed)
        .bind(org)
        .bind(case_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One case.
pub async fn case(db: &Database, org: &str, case_id: &str) -> Result<Option<CaseRow>, sqlx::Error> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE org = $1 AND case_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(case_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(case_from_row).transpose()
}

/// The employee's cases, newest first.
pub async fn cases_of(
    db: &Database,
    org: &str,
    employee_id: &str,
) -> Result<Vec<CaseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE org = $1 AND employee_id = $2 ORDER BY created_at_us DESC, case_id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(employee_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(case_from_row).collect()
}

/// Every case of `org`, newest first.
pub async fn cases(db: &Database, org: &str) -> Result<Vec<CaseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE org = $1 ORDER BY created_at_us DESC, case_id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(case_from_row).collect()
}

/// A case's line in a listing: the case, its employee's email, and whether a step
/// waits for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseListing {
    /// The case.
    pub case: CaseRow,
    /// The employee's email, if the employee is still in the directory.
    pub email: Option<String>,
    /// Whether any step is parked for a person.
    pub needs_attention: bool,
}

/// Every case of `org`, newest first, in one query.
pub async fn listings(db: &Database, org: &str) -> Result<Vec<CaseListing>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.case_id, c.employee_id, c.source, c.trigger_index, c.trigger_hash, c.closed, e.email, \
           (SELECT COUNT(*) FROM case_steps s WHERE s.org = c.org AND s.case_id = c.case_id \
              AND s.status = 'needs_attention') \
         FROM cases c LEFT JOIN employees e ON e.org = c.org AND e.employee_id = c.employee_id \
         WHERE c.org = $1 ORDER BY c.created_at_us DESC, c.case_id DESC",
    )
    .bind(org)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(CaseListing {
                case: case_from_row(row)?,
                email: row.try_get(6)?,
                needs_attention: row.try_get::<i64, _>(7)? > 0,
            })
        })
        .collect()
}

/// The steps of a case, by name.
pub async fn steps(db: &Database, org: &str, case_id: &str) -> Result<Vec<StepRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT step, status, attempts, last_error, node_index FROM case_steps WHERE org = $1 AND case_id = $2 ORDER BY step",
    )
    .bind(org)
    .bind(case_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StepRow {
                step: row.try_get(0)?,
                status: row.try_get(1)?,
                attempts: row.try_get(2)?,
                last_error: row.try_get(3)?,
                node_index: row
                    .try_get::<Option<i64>, _>(4)?
                    .and_then(|i| u64::try_from(i).ok()),
            })
        })
        .collect()
}
