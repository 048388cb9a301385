//! The append transaction: lock the head, validate and encode, write the nodes, their
//! parent edges and every subtree they complete, advance the head, commit.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use custody_verifier::merkle::Hash;
use custody_verifier::node::{EncodedNode, Node};
use sqlx::AssertSqlSafe;

use super::{Engine, Store, Tx, db, get, hash_from, head, int, now_us, subtrees, uint};
use crate::LedgerError;
use crate::error::AppendError;
use crate::model::{Appended, NewNode};
use crate::tree::{Frontier, SubtreeId, frontier_ids};

/// Rows per multi-row INSERT (well under both engines' bind-parameter limits).
const CHUNK: usize = 500;

/// The last known frontier of each organisation's log, reused while the log head says
/// no other process appended since.
#[derive(Debug, Default)]
pub(crate) struct FrontierCache(Mutex<HashMap<String, Frontier>>);

impl FrontierCache {
    fn get(&self, org: &str, size: u64) -> Option<Frontier> {
        let map = self.0.lock().ok()?;
        map.get(org).filter(|f| f.size() == size).cloned()
    }

    fn put(&self, org: &str, frontier: Frontier) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(org.to_owned(), frontier);
        }
    }
}

/// A node accepted in this transaction, not yet written.
struct Pending {
    encoded: EncodedNode,
    index: u64,
    key: Option<String>,
}

/// What one transaction will write.
struct Batch {
    start: u64,
    frontier: Frontier,
    nodes: Vec<Pending>,
    subtrees: Vec<(SubtreeId, Hash)>,
    keys: HashMap<String, Appended>,
}

impl Batch {
    fn next_index(&self) -> u64 {
        self.start + self.nodes.len() as u64
    }

    fn leaf(&self, index: u64) -> Option<Hash> {
        let offset = usize::try_from(index.checked_sub(self.start)?).ok()?;
        self.nodes.get(offset).map(|p| p.encoded.leaf_hash())
    }

    fn push(&mut self, encoded: EncodedNode, key: Option<String>) -> Appended {
        let index = self.next_index();
        let appended = Appended {
            index,
            leaf_hash: encoded.leaf_hash(),
            duplicate: false,
        };
        self.subtrees
            .extend(self.frontier.append(encoded.leaf_hash()));
        if let Some(key) = &key {
            let duplicate = Appended {
                duplicate: true,
                ..appended
            };
            self.keys.insert(key.clone(), duplicate);
        }
        self.nodes.push(Pending {
            encoded,
            index,
            key,
        });
        appended
    }
}

impl Store {
    /// Appends `nodes` to `org`'s log in one transaction; returns after it committed.
    pub(crate) async fn append(
        &self,
        org: &str,
        nodes: Vec<NewNode>,
        cache: &FrontierCache,
    ) -> Result<Vec<Appended>, LedgerError> {
        let mut tx = self.begin_write().await?;
        let log = head(&mut *tx, self.engine(), org, true).await?;
        let frontier = match cache.get(org, log.next_index) {
            Some(frontier) => frontier,
            None => load_frontier(&mut tx, org, log.next_index).await?,
        };
        let mut batch = Batch {
            start: log.next_index,
            frontier,
            nodes: Vec::with_capacity(nodes.len()),
            subtrees: Vec::new(),
            keys: HashMap::new(),
        };
        let known = prefetch(&mut tx, self.engine(), org, &nodes, log.next_index).await?;
        let mut results = Vec::with_capacity(nodes.len());
        for (position, new) in nodes.into_iter().enumerate() {
            results.push(accept(&known, org, &mut batch, position, new)?);
        }
        if batch.nodes.is_empty() {
            tx.rollback().await.map_err(db("rollback"))?;
            return Ok(results);
        }
        write_batch(&mut tx, self.engine(), org, &batch).await?;
        sqlx::query("UPDATE log_heads SET next_index = $2 WHERE org = $1")
            .bind(org)
            .bind(int(batch.next_index()))
            .execute(&mut *tx)
            .await
            .map_err(db("advance log head"))?;
        tx.commit().await.map_err(db("commit append"))?;
        cache.put(org, batch.frontier);
        Ok(results)
    }
}

/// What the database already holds that a batch refers to: earlier nodes by
/// idempotency key, and the leaf hashes of parents below the batch.
#[derive(Default)]
struct Known {
    by_key: HashMap<String, Appended>,
    leaves: HashMap<u64, Hash>,
}

/// Placeholder number `n` (from 1), bound in order. SQLite gets anonymous `?`: sqlx
/// resolves a numbered SQLite parameter by name, a linear search per parameter that makes
/// a statement of thousands of parameters quadratic.
fn placeholder(engine: Engine, n: usize) -> String {
    match engine {
        Engine::Sqlite => "?".into(),
        Engine::Postgres => format!("${n}"),
    }
}

/// Placeholders `first, first+1, …` for `count` values.
fn placeholders(engine: Engine, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| placeholder(engine, n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks up, in a few queries, every idempotency key and stored parent the batch names.
async fn prefetch(
    tx: &mut Tx,
    engine: Engine,
    org: &str,
    nodes: &[NewNode],
    start: u64,
) -> Result<Known, LedgerError> {
    let mut known = Known::default();
    let keys: BTreeSet<&str> = nodes
        .iter()
        .filter_map(|n| n.idempotency_key.as_deref())
        .collect();
    let keys: Vec<&str> = keys.into_iter().collect();
    for chunk in keys.chunks(CHUNK) {
        let sql = format!(
            "SELECT idempotency_key, idx, leaf_hash FROM nodes \
             WHERE org = {} AND idempotency_key IN ({})",
            placeholder(engine, 1),
            placeholders(engine, 2, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org);
        for key in chunk {
            query = query.bind(*key);
        }
        for row in query
            .fetch_all(&mut **tx)
            .await
            .map_err(db("find idempotency keys"))?
        {
            let earlier = Appended {
                index: uint(get(&row, 1)?),
                leaf_hash: hash_from(get(&row, 2)?, "leaf hash")?,
                duplicate: true,
            };
            known.by_key.insert(get(&row, 0)?, earlier);
        }
    }
    let parents: BTreeSet<u64> = nodes
        .iter()
        .flat_map(|n| n.parents.iter().map(|p| p.index))
        .filter(|index| *index < start)
        .collect();
    let parents: Vec<u64> = parents.into_iter().collect();
    for chunk in parents.chunks(CHUNK) {
        let sql = format!(
            "SELECT idx, leaf_hash FROM nodes WHERE org = {} AND idx IN ({})",
            placeholder(engine, 1),
            placeholders(engine, 2, chunk.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(org);
        for index in chunk {
            query = query.bind(int(*index));
        }
        for row in query
            .fetch_all(&mut **tx)
            .await
            .map_err(db("read parents"))?
        {
            known
                .leaves
                .insert(uint(get(&row, 0)?), hash_from(get(&row, 1)?, "leaf hash")?);
        }
    }
    Ok(known)
}

/// Validates one submitted node and adds it to the batch, or finds its earlier copy.
fn accept(
    known: &Known,
    org: &str,
    batch: &mut Batch,
    position: usize,
    new: NewNode,
) -> Result<Appended, LedgerError> {
    if let Some(key) = &new.idempotency_key
        && let Some(earlier) = batch.keys.get(key).or_else(|| known.by_key.get(key))
    {
        return Ok(*earlier);
    }
    let node = Node {
        org: org.to_owned(),
        kind: new.kind,
        case_id: new.case_id,
        subject: new.subject,
        parents: new.parents,
        recorded_at: new.recorded_at,
        body: new.body,
    };
    let encoded = node
        .encode()
        .map_err(|source| AppendError::InvalidNode { position, source })?;
    for parent in &encoded.node().parents {
        let stored = if parent.index >= batch.start {
            batch.leaf(parent.index)
        } else {
            known.leaves.get(&parent.index).copied()
        };
        let stored = stored.ok_or(AppendError::UnknownParent {
            position,
            parent_index: parent.index,
            log_size: batch.next_index(),
        })?;
        if stored != parent.hash {
            return Err(AppendError::ParentHashMismatch {
                position,
                parent_index: parent.index,
                listed: parent.hash,
                stored,
            }
            .into());
        }
    }
    Ok(batch.push(encoded, new.idempotency_key))
}

async fn load_frontier(tx: &mut Tx, org: &str, size: u64) -> Result<Frontier, LedgerError> {
    let ids = frontier_ids(size);
    let wanted: BTreeSet<SubtreeId> = ids.iter().copied().collect();
    let fetched = subtrees(&mut **tx, org, &wanted).await?;
    let hashes = ids
        .iter()
        .map(|id| {
            fetched
                .hashes
                .get(id)
                .copied()
                .ok_or_else(|| LedgerError::Corrupt {
                    what: format!("subtree ({}, {}) of `{org}` is missing", id.level, id.index),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Frontier::new(size, hashes).ok_or_else(|| LedgerError::Corrupt {
        what: format!("frontier of `{org}` at size {size}"),
    })
}

/// `prefix` followed by `rows` tuples of `columns` placeholders.
fn values_sql(engine: Engine, prefix: &str, rows: usize, columns: usize) -> String {
    let mut sql = String::from(prefix);
    for row in 0..rows {
        sql.push_str(if row == 0 { " VALUES (" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&placeholder(engine, row * columns + column + 1));
        }
        sql.push(')');
    }
    sql
}

async fn write_batch(
    tx: &mut Tx,
    engine: Engine,
    org: &str,
    batch: &Batch,
) -> Result<(), LedgerError> {
    let appended_at = now_us();
    for chunk in batch.nodes.chunks(CHUNK) {
        let sql = values_sql(
            engine,
            "INSERT INTO nodes (org, idx, leaf_hash, bytes, kind, case_id, subject, \
             recorded_at_s, recorded_at_ns, idempotency_key, appended_at_us)",
            chunk.len(),
            11,
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for pending in chunk {
            let node = pending.encoded.node();
            insert = insert
                .bind(org)
                .bind(int(pending.index))
                .bind(pending.encoded.leaf_hash().to_vec())
                .bind(pending.encoded.bytes())
                .bind(node.kind.as_str())
                .bind(node.case_id.as_deref())
                .bind(node.subject.as_deref())
                .bind(node.recorded_at.unix_seconds())
                .bind(i64::from(node.recorded_at.subsec_nanos()))
                .bind(pending.key.as_deref())
                .bind(appended_at);
        }
        insert
            .execute(&mut **tx)
            .await
            .map_err(db("insert nodes"))?;
    }
    let edges: Vec<(u64, u64)> = batch
        .nodes
        .iter()
        .flat_map(|p| {
            p.encoded
                .node()
                .parents
                .iter()
                .map(move |parent| (p.index, parent.index))
        })
        .collect();
    for chunk in edges.chunks(CHUNK) {
        let sql = values_sql(
            engine,
            "INSERT INTO node_parents (org, child, parent)",
            chunk.len(),
            3,
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for (child, parent) in chunk {
            insert = insert.bind(org).bind(int(*child)).bind(int(*parent));
        }
        insert
            .execute(&mut **tx)
            .await
            .map_err(db("insert parent edges"))?;
    }
    for chunk in batch.subtrees.chunks(CHUNK) {
        let sql = values_sql(
            engine,
            "INSERT INTO tree_hashes (org, level, idx, hash)",
            chunk.len(),
            4,
        );
        let mut insert = sqlx::query(AssertSqlSafe(sql));
        for (id, hash) in chunk {
            insert = insert
                .bind(org)
                .bind(i64::from(id.level))
                .bind(int(id.index))
                .bind(hash.to_vec());
        }
        insert
            .execute(&mut **tx)
            .await
            .map_err(db("insert subtree hashes"))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::{Engine, values_sql};

    #[test]
    fn placeholders_are_numbered_across_rows() {
        assert_eq!(
            values_sql(Engine::Sqlite, "INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            values_sql(Engine::Postgres, "INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
