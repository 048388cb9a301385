//! Checkpoints (advanced by compare-and-swap on the log head) and their timestamps.

use custody_verifier::merkle::Hash;
use custody_verifier::time::UtcTime;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;

use super::{Store, db, get, hash_from, int, now_us, time_from_parts, time_from_us, uint};
use crate::LedgerError;
use crate::model::{StoredCheckpoint, StoredTimestamp};
use crate::stamps::StampingStatus;

/// A signed checkpoint to store if the log head still says `previous_size`.
#[derive(Debug)]
pub(crate) struct CheckpointInsert<'a> {
    /// The organisation.
    pub org: &'a str,
    /// The latest checkpoint size the signer saw.
    pub previous_size: u64,
    /// The new size.
    pub size: u64,
    /// The new root.
    pub root: Hash,
    /// The signed note.
    pub note: &'a [u8],
}

fn checkpoint_from_row(row: &AnyRow) -> Result<StoredCheckpoint, LedgerError> {
    Ok(StoredCheckpoint {
        org: get(row, 0)?,
        size: uint(get(row, 1)?),
        root: hash_from(get(row, 2)?, "checkpoint root")?,
        note: get(row, 3)?,
        created_at: time_from_us(get(row, 4)?),
    })
}

const CHECKPOINT_COLUMNS: &str = "org, size, root, note, created_at_us";

impl Store {
    /// Stores a checkpoint if no other checkpoint was stored since `previous_size`
    /// (compare-and-swap on `log_heads.checkpoint_size`, in the same transaction as the
    /// insert). Returns false, writing nothing, when another signer won.
    pub(crate) async fn insert_checkpoint(
        &self,
        new: &CheckpointInsert<'_>,
    ) -> Result<Option<StoredCheckpoint>, LedgerError> {
        let mut tx = self.begin_write().await?;
        let swapped = sqlx::query(
            "UPDATE log_heads SET checkpoint_size = $3 \
             WHERE org = $1 AND checkpoint_size = $2 AND next_index >= $3",
        )
        .bind(new.org)
        .bind(int(new.previous_size))
        .bind(int(new.size))
        .execute(&mut *tx)
        .await
        .map_err(db("advance checkpoint"))?
        .rows_affected();
        if swapped != 1 {
            tx.rollback().await.map_err(db("rollback checkpoint"))?;
            return Ok(None);
        }
        let created = now_us();
        sqlx::query(
            "INSERT INTO checkpoints (org, size, root, note, created_at_us) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new.org)
        .bind(int(new.size))
        .bind(new.root.to_vec())
        .bind(new.note.to_vec())
        .bind(created)
        .execute(&mut *tx)
        .await
        .map_err(db("insert checkpoint"))?;
        sqlx::query("INSERT INTO pending_stamps (org, size, created_at_us) VALUES ($1, $2, $3)")
            .bind(new.org)
            .bind(int(new.size))
            .bind(created)
            .execute(&mut *tx)
            .await
            .map_err(db("queue checkpoint for stamping"))?;
        tx.commit().await.map_err(db("commit checkpoint"))?;
        Ok(Some(StoredCheckpoint {
            org: new.org.to_owned(),
            size: new.size,
            root: new.root,
            note: new.note.to_vec(),
            created_at: time_from_us(created),
        }))
    }

    /// The checkpoint of `size`.
    pub(crate) async fn checkpoint(
        &self,
        org: &str,
        size: u64,
    ) -> Result<Option<StoredCheckpoint>, LedgerError> {
        let sql =
            format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE org = $1 AND size = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(int(size))
            .fetch_optional(self.pool())
            .await
            .map_err(db("read checkpoint"))?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    /// The largest checkpoint.
    pub(crate) async fn latest_checkpoint(
        &self,
        org: &str,
    ) -> Result<Option<StoredCheckpoint>, LedgerError> {
        let sql = format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE org = $1 ORDER BY size DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .fetch_optional(self.pool())
            .await
            .map_err(db("read latest checkpoint"))?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    /// Every checkpoint of `org` (ascending), for audits and tests.
    pub(crate) async fn checkpoints(
        &self,
        org: &str,
    ) -> Result<Vec<StoredCheckpoint>, LedgerError> {
        let sql =
            format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE org = $1 ORDER BY size");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .fetch_all(self.pool())
            .await
            .map_err(db("list checkpoints"))?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// The smallest checkpoint size above `index` that has a token.
    pub(crate) async fn stamped_size_covering(
        &self,
        org: &str,
        index: u64,
    ) -> Result<Option<u64>, LedgerError> {
        let row = sqlx::query(
            "SELECT checkpoint_size FROM timestamps WHERE org = $1 AND checkpoint_size > $2 \
             ORDER BY checkpoint_size LIMIT 1",
        )
        .bind(org)
        .bind(int(index))
        .fetch_optional(self.pool())
        .await
        .map_err(db("find stamped checkpoint"))?;
        row.map(|row| get::<i64>(&row, 0).map(uint)).transpose()
    }

    /// For each TSA with a token over a checkpoint that includes node `index`, the
    /// smallest such checkpoint.
    pub(crate) async fn stamped_sizes_covering_by_tsa(
        &self,
        org: &str,
        index: u64,
    ) -> Result<Vec<u64>, LedgerError> {
        let rows = sqlx::query(
            "SELECT MIN(checkpoint_size) FROM timestamps WHERE org = $1 AND checkpoint_size > $2 \
             GROUP BY tsa",
        )
        .bind(org)
        .bind(int(index))
        .fetch_all(self.pool())
        .await
        .map_err(db("find each TSA's stamped checkpoint"))?;
        rows.iter()
            .map(|row| get::<i64>(row, 0).map(uint))
            .collect()
    }

    /// Stores a token over checkpoint `size` and takes the checkpoint off the queue.
    /// Storing the same token twice is a no-op.
    pub(crate) async fn insert_timestamp(
        &self,
        org: &str,
        size: u64,
        tsa: &str,
        token_der: &[u8],
        gen_time: UtcTime,
        certs_pem: Option<&[u8]>,
    ) -> Result<(), LedgerError> {
        let digest: [u8; 32] = Sha256::digest(token_der).into();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO timestamps (org, checkpoint_size, token_sha256, tsa, token, gen_time_s, \
             gen_time_ns, certs_pem, stored_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT DO NOTHING",
        )
        .bind(org)
        .bind(int(size))
        .bind(digest.to_vec())
        .bind(tsa)
        .bind(token_der.to_vec())
        .bind(gen_time.unix_seconds())
        .bind(i64::from(gen_time.subsec_nanos()))
        .bind(certs_pem.map(<[u8]>::to_vec))
        .bind(now_us())
        .execute(&mut *tx)
        .await
        .map_err(db("insert timestamp"))?;
        // A token over checkpoint `size` also covers every earlier checkpoint (they are
        // consistent prefixes of it), so none of them needs a token of its own any more.
        sqlx::query("DELETE FROM pending_stamps WHERE org = $1 AND size <= $2")
            .bind(org)
            .bind(int(size))
            .execute(&mut *tx)
            .await
            .map_err(db("dequeue stamped checkpoint"))?;
        tx.commit().await.map_err(db("commit timestamp"))
    }

    /// The tokens over checkpoint `size`, in the order they were stored.
    pub(crate) async fn timestamps(
        &self,
        org: &str,
        size: u64,
    ) -> Result<Vec<StoredTimestamp>, LedgerError> {
        let rows = sqlx::query(
            "SELECT org, checkpoint_size, tsa, token, gen_time_s, gen_time_ns, certs_pem, stored_at_us \
             FROM timestamps WHERE org = $1 AND checkpoint_size = $2 ORDER BY stored_at_us, token_sha256",
        )
        .bind(org)
        .bind(int(size))
        .fetch_all(self.pool())
        .await
        .map_err(db("read timestamps"))?;
        rows.iter()
            .map(|row| {
                Ok(StoredTimestamp {
                    org: get(row, 0)?,
                    checkpoint_size: uint(get(row, 1)?),
                    tsa: get(row, 2)?,
                    token_der: get(row, 3)?,
                    gen_time: time_from_parts(get(row, 4)?, get(row, 5)?),
                    certs_pem: get(row, 6)?,
                    stored_at: time_from_us(get(row, 7)?),
                })
            })
            .collect()
    }

    /// For each organisation with checkpoints waiting, its newest one (a token over it
    /// covers all the others), the longest-waiting organisation first. After a TSA
    /// outage this asks for one token per organisation, not one per missed checkpoint.
    pub(crate) async fn unstamped(
        &self,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>, LedgerError> {
        let rows = sqlx::query(
            "SELECT c.org, c.size, c.root, c.note, c.created_at_us FROM checkpoints c \
             JOIN (SELECT org, MAX(size) AS size, MIN(created_at_us) AS waiting_since \
                   FROM pending_stamps GROUP BY org) p \
             ON c.org = p.org AND c.size = p.size \
             ORDER BY p.waiting_since, p.org LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await
        .map_err(db("list unstamped checkpoints"))?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// For each organisation whose newest checkpoint no token of `tsa` covers yet, that
    /// checkpoint (a token over it covers every earlier one), the longest-waiting first.
    /// Each TSA thereby covers every log on its own, whatever the others did: a TSA back
    /// from an outage, or newly configured, asks for one token per log.
    pub(crate) async fn unstamped_by(
        &self,
        tsa: &str,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>, LedgerError> {
        let rows = sqlx::query(
            "SELECT c.org, c.size, c.root, c.note, c.created_at_us FROM log_heads h \
             JOIN checkpoints c ON c.org = h.org AND c.size = h.checkpoint_size \
             WHERE NOT EXISTS (SELECT 1 FROM timestamps t \
                 WHERE t.org = h.org AND t.tsa = $1 AND t.checkpoint_size >= h.checkpoint_size) \
             ORDER BY c.created_at_us, c.org LIMIT $2",
        )
        .bind(tsa)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await
        .map_err(db("list checkpoints a TSA has not stamped"))?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    /// How far stamping lags for `org`.
    pub(crate) async fn stamping_status(&self, org: &str) -> Result<StampingStatus, LedgerError> {
        let pending =
            sqlx::query("SELECT COUNT(*), MIN(created_at_us) FROM pending_stamps WHERE org = $1")
                .bind(org)
                .fetch_one(self.pool())
                .await
                .map_err(db("count unstamped checkpoints"))?;
        let stamped = sqlx::query("SELECT MAX(checkpoint_size) FROM timestamps WHERE org = $1")
            .bind(org)
            .fetch_one(self.pool())
            .await
            .map_err(db("read latest stamped checkpoint"))?;
        let oldest: Option<i64> = get(&pending, 1)?;
        let latest: Option<i64> = get(&stamped, 0)?;
        Ok(StampingStatus {
            unstamped: uint(get(&pending, 0)?),
            oldest_unstamped_created_at: oldest.map(time_from_us),
            latest_stamped_size: latest.map(uint),
        })
    }
}
