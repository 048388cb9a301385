//! The Merkle log of each organisation: roots and proofs from stored subtree hashes,
//! and signed checkpoints.

use custody_verifier::checkpoint::Checkpoint;
use custody_verifier::merkle::{Hash, empty_root};
use custody_verifier::tlog_proof::TlogProof;

use crate::error::RangeError;
use crate::model::{StoredCheckpoint, StoredTimestamp};
use crate::store::CheckpointInsert;
use crate::tree::{self, Planner, Subtrees};
use crate::{Ledger, LedgerError};

impl Ledger {
    /// Runs a pure computation over `org`'s stored subtrees: once to learn which it
    /// reads, then over exactly those, fetched in one query.
    async fn over_subtrees<T>(
        &self,
        org: &str,
        compute: impl Fn(&mut dyn Subtrees) -> T,
    ) -> Result<T, LedgerError> {
        let mut planner = Planner::default();
        compute(&mut planner);
        let mut fetched = self.inner.store.subtrees(org, &planner.needed).await?;
        let result = compute(&mut fetched);
        match fetched.missing.first() {
            Some(id) => Err(LedgerError::Corrupt {
                what: format!("subtree ({}, {}) of `{org}` is missing", id.level, id.index),
            }),
            None => Ok(result),
        }
    }

    async fn check_size(&self, org: &str, size: u64) -> Result<(), LedgerError> {
        let log_size = self.size(org).await?;
        if size > log_size {
            return Err(RangeError::SizeBeyondLog { size, log_size }.into());
        }
        Ok(())
    }

    /// The root of `org`'s log at `size` (the empty-tree root at 0).
    ///
    /// # Errors
    /// [`RangeError::SizeBeyondLog`], [`LedgerError::UnknownOrg`], a database error.
    pub async fn root(&self, org: &str, size: u64) -> Result<Hash, LedgerError> {
        self.check_size(org, size).await?;
        if size == 0 {
            return Ok(empty_root());
        }
        self.over_subtrees(org, |src| tree::root(size, src)).await
    }

    /// The RFC 9162 inclusion proof of leaf `index` in the tree of `size`.
    ///
    /// # Errors
    /// [`RangeError`], [`LedgerError::UnknownOrg`], a database error.
    pub async fn inclusion_proof(
        &self,
        org: &str,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        if index >= size {
            return Err(RangeError::IndexOutsideTree { index, size }.into());
        }
        self.check_size(org, size).await?;
        self.over_subtrees(org, |src| tree::inclusion_proof(index, size, src))
            .await
    }

    /// The RFC 9162 consistency proof from size `old` to size `new` (`0 < old ≤ new`).
    ///
    /// # Errors
    /// [`RangeError`], [`LedgerError::UnknownOrg`], a database error.
    pub async fn consistency_proof(
        &self,
        org: &str,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        if old == 0 || old > new {
            return Err(RangeError::BadConsistencySizes { old, new }.into());
        }
        self.check_size(org, new).await?;
        self.over_subtrees(org, |src| tree::consistency_proof(old, new, src))
            .await
    }

    /// The roots of the perfect subtrees of the tree of `size`, largest first (a bundle's
    /// frontier file).
    ///
    /// # Errors
    /// [`RangeError::SizeBeyondLog`], [`LedgerError::UnknownOrg`], a database error.
    pub async fn frontier(&self, org: &str, size: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(org, size).await?;
        let ids = tree::frontier_ids(size);
        self.over_subtrees(org, |src| ids.iter().map(|id| src.get(*id)).collect())
            .await
    }

    /// Node `index`'s C2SP tlog-proof to checkpoint `size`.
    ///
    /// # Errors
    /// [`LedgerError::NotFound`] without such a checkpoint; as [`Ledger::inclusion_proof`].
    pub async fn tlog_proof(
        &self,
        org: &str,
        index: u64,
        size: u64,
    ) -> Result<TlogProof, LedgerError> {
        let checkpoint =
            self.checkpoint_at(org, size)
                .await?
                .ok_or_else(|| LedgerError::NotFound {
                    what: format!("checkpoint {size} of `{org}`"),
                })?;
        Ok(TlogProof {
            extra: None,
            index,
            hashes: self.inclusion_proof(org, index, size).await?,
            checkpoint: checkpoint.note,
        })
    }

    /// Signs and stores a checkpoint of `org`'s whole log if it grew since the last one.
    /// Returns `None` when it did not grow, or when another process stored a checkpoint
    /// first (the compare-and-swap on the log head makes a fork impossible: at most one
    /// checkpoint per size, each of the one stored log).
    ///
    /// # Errors
    /// [`LedgerError::UnknownOrg`], [`LedgerError::Key`], a database error.
    pub async fn checkpoint(&self, org: &str) -> Result<Option<StoredCheckpoint>, LedgerError> {
        let head = self.inner.store.head(org).await?;
        if head.next_index <= head.checkpoint_size {
            return Ok(None);
        }
        let size = head.next_index;
        let root = self.over_subtrees(org, |src| tree::root(size, src)).await?;
        let signer = self.checked_signer(org).await?;
        let note = signer.sign_checkpoint(&Checkpoint {
            origin: signer.verifier_key().name().to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })?;
        let stored = self
            .inner
            .store
            .insert_checkpoint(&CheckpointInsert {
                org,
                previous_size: head.checkpoint_size,
                size,
                root,
                note: note.as_bytes(),
            })
            .await?;
        if stored.is_some() {
            self.inner.checkpoints.send_modify(|count| *count += 1);
            tracing::debug!(org, size, "signed checkpoint");
        }
        Ok(stored)
    }

    /// The latest checkpoint of `org`.
    ///
    /// # Errors
    /// A database error.
    pub async fn latest_checkpoint(
        &self,
        org: &str,
    ) -> Result<Option<StoredCheckpoint>, LedgerError> {
        self.inner.store.latest_checkpoint(org).await
    }

    /// The checkpoint of `size`.
    ///
    /// # Errors
    /// A database error.
    pub async fn checkpoint_at(
        &self,
        org: &str,
        size: u64,
    ) -> Result<Option<StoredCheckpoint>, LedgerError> {
        self.inner.store.checkpoint(org, size).await
    }

    /// Every checkpoint of `org`, by size.
    ///
    /// # Errors
    /// A database error.
    pub async fn checkpoints(&self, org: &str) -> Result<Vec<StoredCheckpoint>, LedgerError> {
        self.inner.store.checkpoints(org).await
    }

    /// The timestamp tokens over checkpoint `size`, in the order they were stored.
    ///
    /// # Errors
    /// A database error.
    pub async fn timestamps(
        &self,
        org: &str,
        size: u64,
    ) -> Result<Vec<StoredTimestamp>, LedgerError> {
        self.inner.store.timestamps(org, size).await
    }
}
