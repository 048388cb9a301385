//! The timestamping side of the store: which checkpoints still wait for an RFC 3161
//! token, and how far stamping lags behind the log.
//!
//! The stamper (`crate::tsa`) reads [`PendingStamp`]s from
//! [`Ledger::unstamped_checkpoints`](crate::Ledger::unstamped_checkpoints), asks its
//! TSAs for tokens over each note, verifies them, and stores them with
//! [`Ledger::record_timestamp`](crate::Ledger::record_timestamp). A checkpoint counts
//! as covered once it, or a later checkpoint of the same log, has a stored token: the
//! later checkpoint is consistent with it, so the token proves every node in it existed.

use custody_verifier::time::UtcTime;

/// A signed checkpoint that no stored timestamp token covers yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingStamp {
    /// The organisation whose log the checkpoint belongs to.
    pub org: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The exact signed note bytes, as stored (`VerifiedCheckpoint::note_text()`).
    /// The token's imprint is computed over these bytes, never over a re-encoding.
    pub note_text: Vec<u8>,
    /// When the ledger stored the checkpoint (the ledger host's clock).
    pub created_at: UtcTime,
}

/// How far timestamping lags behind one organisation's checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampingStatus {
    /// Number of checkpoints no stored token covers.
    pub unstamped: u64,
    /// When the oldest uncovered checkpoint was stored, if any.
    pub oldest_unstamped_created_at: Option<UtcTime>,
    /// The largest checkpoint size that has at least one token, if any.
    pub latest_stamped_size: Option<u64>,
}

use tokio::sync::watch;

use crate::{Ledger, LedgerError};

impl Ledger {
    /// What to stamp next: for each organisation with checkpoints not yet covered by a
    /// token, its newest checkpoint (a token over it covers every earlier one, which are
    /// consistent prefixes of it), the longest-waiting organisation first, at most `limit`.
    ///
    /// # Errors
    /// A database error, or a stored note that does not parse.
    pub async fn unstamped_checkpoints(
        &self,
        limit: usize,
    ) -> Result<Vec<PendingStamp>, LedgerError> {
        let checkpoints = self.inner.store.unstamped(limit).await?;
        checkpoints
            .into_iter()
            .map(|c| {
                Ok(PendingStamp {
                    note_text: c.note_text()?,
                    org: c.org,
                    size: c.size,
                    created_at: c.created_at,
                })
            })
            .collect()
    }

    /// What `tsa` should stamp next: for each organisation whose newest checkpoint no
    /// token from `tsa` covers, that checkpoint, the longest-waiting first, at most
    /// `limit`. Unlike [`Ledger::unstamped_checkpoints`], tokens from other TSAs do not
    /// count: every configured TSA covers every log, so the evidence never rests on one
    /// TSA alone. After an outage (or when a TSA is added) this is one checkpoint per log.
    ///
    /// # Errors
    /// A database error, or a stored note that does not parse.
    pub async fn unstamped_checkpoints_by(
        &self,
        tsa: &str,
        limit: usize,
    ) -> Result<Vec<PendingStamp>, LedgerError> {
        let checkpoints = self.inner.store.unstamped_by(tsa, limit).await?;
        checkpoints
            .into_iter()
            .map(|c| {
                Ok(PendingStamp {
                    note_text: c.note_text()?,
                    org: c.org,
                    size: c.size,
                    created_at: c.created_at,
                })
            })
            .collect()
    }

    /// Stores a verified token over checkpoint `size` of `org` (insert-only; storing the
    /// same token again is a no-op). The caller has verified it with `custody-verifier`.
    ///
    /// # Errors
    /// A database error (also for an unknown checkpoint).
    pub async fn record_timestamp(
        &self,
        org: &str,
        size: u64,
        tsa: &str,
        token_der: &[u8],
        gen_time: UtcTime,
        certs_pem: Option<&[u8]>,
    ) -> Result<(), LedgerError> {
        self.inner
            .store
            .insert_timestamp(org, size, tsa, token_der, gen_time, certs_pem)
            .await
    }

    /// How far stamping lags behind `org`'s checkpoints.
    ///
    /// # Errors
    /// A database error.
    pub async fn stamping_status(&self, org: &str) -> Result<StampingStatus, LedgerError> {
        self.inner.store.stamping_status(org).await
    }

    /// Changes whenever this `Ledger` (any clone) stores a new checkpoint: the value counts
    /// them. `changed().await` wakes within milliseconds. Checkpoints stored by another
    /// process do not signal here; poll [`Ledger::unstamped_checkpoints`] as well.
    pub fn checkpoint_signal(&self) -> watch::Receiver<u64> {
        self.inner.checkpoints.subscribe()
    }
}
