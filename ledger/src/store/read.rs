//! Reads: log heads, nodes, subtree hashes, organisations.

use std::collections::BTreeSet;

use custody_verifier::merkle::Hash;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Executor};

use super::{Engine, Store, db, get, hash_from, int, time_from_parts, time_from_us, uint};
use crate::LedgerError;
use crate::model::{NodeFilter, OrgInfo, StoredNode};
use crate::tree::{Fetched, SubtreeId};

/// An organisation's log head: how many nodes, and the size of the latest checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// The log's size (the next node's index).
    pub next_index: u64,
    /// The latest checkpoint's size (0 before the first).
    pub checkpoint_size: u64,
}

const NODE_COLUMNS: &str = "idx, leaf_hash, bytes, kind, case_id, subject, recorded_at_s, \
                            recorded_at_ns, idempotency_key, appended_at_us";

fn node_from_row(row: &AnyRow) -> Result<StoredNode, LedgerError> {
    let recorded_s: i64 = get(row, 6)?;
    let recorded_ns: i64 = get(row, 7)?;
    Ok(StoredNode {
        index: uint(get(row, 0)?),
        leaf_hash: hash_from(get(row, 1)?, "leaf hash")?,
        bytes: get(row, 2)?,
        kind: get(row, 3)?,
        case_id: get(row, 4)?,
        subject: get(row, 5)?,
        recorded_at: time_from_parts(recorded_s, recorded_ns),
        idempotency_key: get(row, 8)?,
        appended_at: time_from_us(get(row, 9)?),
    })
}

/// Reads `org`'s head through `executor`; with `lock` on PostgreSQL, locks the row until
/// the transaction ends (SQLite's `BEGIN IMMEDIATE` already holds the write lock).
pub(crate) async fn head<'e, E>(
    executor: E,
    engine: Engine,
    org: &str,
    lock: bool,
) -> Result<Head, LedgerError>
where
    E: Executor<'e, Database = sqlx::Any>,
{
    let sql = if lock && engine == Engine::Postgres {
        "SELECT next_index, checkpoint_size FROM log_heads WHERE org = $1 FOR UPDATE"
    } else {
        "SELECT next_index, checkpoint_size FROM log_heads WHERE org = $1"
    };
    let row = sqlx::query(sql)
        .bind(org)
        .fetch_optional(executor)
        .await
        .map_err(db("read log head"))?
        .ok_or_else(|| LedgerError::UnknownOrg { org: org.into() })?;
    Ok(Head {
        next_index: uint(get(&row, 0)?),
        checkpoint_size: uint(get(&row, 1)?),
    })
}

/// Fetches stored subtree hashes, reporting none missing here (the caller checks).
pub(crate) async fn subtrees<'e, E>(
    executor: E,
    org: &str,
    ids: &BTreeSet<SubtreeId>,
) -> Result<Fetched, LedgerError>
where
    E: Executor<'e, Database = sqlx::Any>,
{
    let mut fetched = Fetched::default();
    if ids.is_empty() {
        return Ok(fetched);
    }
    // `org = $1` inside every term lets both engines answer each term from the primary
    // key (SQLite's OR optimisation needs each term indexable on its own).
    let mut sql = String::from("SELECT level, idx, hash FROM tree_hashes WHERE ");
    for n in 0..ids.len() {
        if n > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(&format!(
            "(org = $1 AND level = ${} AND idx = ${})",
            2 * n + 2,
            2 * n + 3
        ));
    }
    // Only placeholders are formatted into the statement.
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org);
    for id in ids {
        query = query.bind(i64::from(id.level)).bind(int(id.index));
    }
    let rows = query
        .fetch_all(executor)
        .await
        .map_err(db("read subtree hashes"))?;
    for row in &rows {
        let level: i64 = get(row, 0)?;
        let id = SubtreeId {
            level: u32::try_from(level).unwrap_or(u32::MAX),
            index: uint(get(row, 1)?),
        };
        fetched
            .hashes
            .insert(id, hash_from(get(row, 2)?, "subtree hash")?);
    }
    Ok(fetched)
}

impl Store {
    /// `org`'s head, unlocked.
    pub(crate) async fn head(&self, org: &str) -> Result<Head, LedgerError> {
        head(self.pool(), self.engine(), org, false).await
    }

    /// Stored subtree hashes by id.
    pub(crate) async fn subtrees(
        &self,
        org: &str,
        ids: &BTreeSet<SubtreeId>,
    ) -> Result<Fetched, LedgerError> {
        subtrees(self.pool(), org, ids).await
    }

    /// The node at `index`.
    pub(crate) async fn node(
        &self,
        org: &str,
        index: u64,
    ) -> Result<Option<StoredNode>, LedgerError> {
        let sql = format!("SELECT {NODE_COLUMNS} FROM nodes WHERE org = $1 AND idx = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org)
            .bind(int(index))
            .fetch_optional(self.pool())
            .await
            .map_err(db("read node"))?;
        row.as_ref().map(node_from_row).transpose()
    }

    /// The earliest node with leaf hash `hash`.
    pub(crate) async fn node_by_hash(
        &self,
        org: &str,
        hash: &Hash,
    ) -> Result<Option<StoredNode>, LedgerError> {
        let sql = format!(
            "SELECT {NODE_COLUMNS} FROM nodes WHERE org = $1 AND leaf_hash = $2 ORDER BY idx LIMIT 1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org)
            .bind(hash.to_vec())
            .fetch_optional(self.pool())
            .await
            .map_err(db("read node by hash"))?;
        row.as_ref().map(node_from_row).transpose()
    }

    /// The nodes of `case_id` and all their ancestors, by index.
    pub(crate) async fn case_closure(
        &self,
        org: &str,
        case_id: &str,
    ) -> Result<Vec<StoredNode>, LedgerError> {
        let sql = format!(
            "WITH RECURSIVE closure(idx) AS ( \
               SELECT idx FROM nodes WHERE org = $1 AND case_id = $2 \
               UNION SELECT p.parent FROM node_parents p JOIN closure c \
                 ON p.org = $1 AND p.child = c.idx) \
             SELECT {NODE_COLUMNS} FROM nodes WHERE org = $1 \
               AND idx IN (SELECT idx FROM closure) ORDER BY idx"
        );
        self.fetch_nodes(
            sqlx::query(AssertSqlSafe(sql)).bind(org).bind(case_id),
            "read case",
        )
        .await
    }

    /// Node `index` and all its descendants, by index.
    pub(crate) async fn descendants(
        &self,
        org: &str,
        index: u64,
    ) -> Result<Vec<StoredNode>, LedgerError> {
        let sql = format!(
            "WITH RECURSIVE below(idx) AS ( \
               SELECT idx FROM nodes WHERE org = $1 AND idx = $2 \
               UNION SELECT p.child FROM node_parents p JOIN below b \
                 ON p.org = $1 AND p.parent = b.idx) \
             SELECT {NODE_COLUMNS} FROM nodes WHERE org = $1 \
               AND idx IN (SELECT idx FROM below) ORDER BY idx"
        );
        let query = sqlx::query(AssertSqlSafe(sql)).bind(org).bind(int(index));
        self.fetch_nodes(query, "read descendants").await
    }

    /// Node `index` and all its ancestors, by index.
    pub(crate) async fn ancestors(
        &self,
        org: &str,
        index: u64,
    ) -> Result<Vec<StoredNode>, LedgerError> {
        let sql = format!(
            "WITH RECURSIVE above(idx) AS ( \
               SELECT idx FROM nodes WHERE org = $1 AND idx = $2 \
               UNION SELECT p.parent FROM node_parents p JOIN above a \
                 ON p.org = $1 AND p.child = a.idx) \
             SELECT {NODE_COLUMNS} FROM nodes WHERE org = $1 \
               AND idx IN (SELECT idx FROM above) ORDER BY idx"
        );
        let query = sqlx::query(AssertSqlSafe(sql)).bind(org).bind(int(index));
        self.fetch_nodes(query, "read ancestors").await
    }

    /// One page of nodes matching `filter`.
    pub(crate) async fn nodes(
        &self,
        org: &str,
        filter: &NodeFilter,
    ) -> Result<Vec<StoredNode>, LedgerError> {
        let sql = format!(
            "SELECT {NODE_COLUMNS} FROM nodes WHERE org = $1 \
               AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR subject = $3) \
               AND ($4 IS NULL OR recorded_at_s > $4 OR (recorded_at_s = $4 AND recorded_at_ns >= $5)) \
               AND ($6 IS NULL OR recorded_at_s < $6 OR (recorded_at_s = $6 AND recorded_at_ns < $7)) \
               AND idx > $8 ORDER BY idx LIMIT $9"
        );
        let from = filter.recorded_from;
        let before = filter.recorded_before;
        let query = sqlx::query(AssertSqlSafe(sql))
            .bind(org)
            .bind(filter.kind.clone())
            .bind(filter.subject.clone())
            .bind(from.map(|t| t.unix_seconds()))
            .bind(from.map_or(0, |t| i64::from(t.subsec_nanos())))
            .bind(before.map(|t| t.unix_seconds()))
            .bind(before.map_or(0, |t| i64::from(t.subsec_nanos())))
            .bind(filter.after_index.map_or(-1, int))
            .bind(i64::from(filter.page_size()));
        self.fetch_nodes(query, "list nodes").await
    }

    async fn fetch_nodes<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
        operation: &'static str,
    ) -> Result<Vec<StoredNode>, LedgerError> {
        let rows = query.fetch_all(self.pool()).await.map_err(db(operation))?;
        rows.iter().map(node_from_row).collect()
    }

    /// The organisation's log, if it exists.
    pub(crate) async fn org(&self, org: &str) -> Result<Option<OrgInfo>, LedgerError> {
        let row = sqlx::query("SELECT org, origin, vkey FROM orgs WHERE org = $1")
            .bind(org)
            .fetch_optional(self.pool())
            .await
            .map_err(db("read organisation"))?;
        row.map(|row| {
            Ok(OrgInfo {
                org: get(&row, 0)?,
                origin: get(&row, 1)?,
                vkey: get(&row, 2)?,
            })
        })
        .transpose()
    }

    /// Every organisation id.
    pub(crate) async fn org_ids(&self) -> Result<Vec<String>, LedgerError> {
        let rows = sqlx::query("SELECT org FROM orgs ORDER BY org")
            .fetch_all(self.pool())
            .await
            .map_err(db("list organisations"))?;
        rows.iter().map(|row| get(row, 0)).collect()
    }

    /// Inserts an organisation and its empty log head; false if it already exists.
    pub(crate) async fn insert_org(
        &self,
        info: &OrgInfo,
        now_us: i64,
    ) -> Result<bool, LedgerError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO orgs (org, origin, vkey, created_at_us) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&info.org)
        .bind(&info.origin)
        .bind(&info.vkey)
        .bind(now_us)
        .execute(&mut *tx)
        .await
        .map_err(db("create organisation"))?
        .rows_affected();
        if inserted == 1 {
            sqlx::query(
                "INSERT INTO log_heads (org, next_index, checkpoint_size) VALUES ($1, 0, 0)",
            )
            .bind(&info.org)
            .execute(&mut *tx)
            .await
            .map_err(db("create log head"))?;
        }
        tx.commit().await.map_err(db("commit organisation"))?;
        Ok(inserted == 1)
    }
}
