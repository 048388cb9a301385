//! [`Ledger`]: the handle the service holds. Cheap to clone; every clone shares one pool,
//! one key cache and one checkpoint signal.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use custody_verifier::checkpoint::{NoteSigner, NoteVerifierKey};
use custody_verifier::merkle::Hash;
use custody_verifier::node::check_org;
use tokio::sync::watch;

use crate::error::{AppendError, KeyError};
use crate::keys::load_signer;
use crate::model::{Appended, NewNode, NodeFilter, OrgInfo, StoredNode};
use crate::store::{Engine, FrontierCache, Store, now_us};
use crate::{LedgerConfig, LedgerError};

/// The custody ledger: an append-only store of custody nodes in one Merkle log per
/// organisation, with signed checkpoints and their timestamps.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) config: LedgerConfig,
    signers: RwLock<HashMap<String, Arc<NoteSigner>>>,
    frontiers: FrontierCache,
    pub(crate) checkpoints: watch::Sender<u64>,
}

impl Ledger {
    /// Connects to the database of `config`, runs (or checks) its migrations.
    ///
    /// # Errors
    /// [`LedgerError::Config`] for an unknown URL scheme or missing migrations;
    /// [`LedgerError::Database`] when the database cannot be reached or migrated.
    pub async fn open(config: LedgerConfig) -> Result<Self, LedgerError> {
        let store = Store::open(&config).await?;
        let (checkpoints, _) = watch::channel(0);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config,
                signers: RwLock::new(HashMap::new()),
                frontiers: FrontierCache::default(),
                checkpoints,
            }),
        })
    }

    /// The database engine in use.
    pub fn engine(&self) -> Engine {
        self.inner.store.engine()
    }

    /// The configuration the ledger was opened with.
    pub fn config(&self) -> &LedgerConfig {
        &self.inner.config
    }

    /// Closes the connection pool; later calls fail.
    pub async fn close(&self) {
        self.inner.store.close().await;
    }

    /// Creates `org`'s log, generating its key (`<data_dir>/keys/<org>.seed`, mode 0600)
    /// unless a key file exists or is configured. Idempotent: for an existing log, checks
    /// that the key file still holds the key the log was created with.
    ///
    /// # Errors
    /// [`AppendError::InvalidOrg`], [`LedgerError::Key`] (unreadable key, or
    /// [`KeyError::Mismatch`]), [`LedgerError::Database`].
    pub async fn create_org(&self, org: &str) -> Result<OrgInfo, LedgerError> {
        check_org(org).map_err(|source| AppendError::InvalidOrg {
            org: org.into(),
            source,
        })?;
        let signer = load_signer(&self.inner.config, org, true)?;
        let info = OrgInfo {
            org: org.to_owned(),
            origin: self.inner.config.origin(org),
            vkey: signer.verifier_key().to_string(),
        };
        if !self.inner.store.insert_org(&info, now_us()).await? {
            return self.checked_signer(org).await.and(self.org_info(org).await);
        }
        tracing::info!(org, origin = %info.origin, vkey = %info.vkey, "created organisation log");
        self.cache_signer(org, signer);
        Ok(info)
    }

    /// The organisation's log.
    ///
    /// # Errors
    /// [`LedgerError::UnknownOrg`], [`LedgerError::Database`].
    pub async fn org_info(&self, org: &str) -> Result<OrgInfo, LedgerError> {
        self.inner
            .store
            .org(org)
            .await?
            .ok_or_else(|| LedgerError::UnknownOrg { org: org.into() })
    }

    /// Every organisation with a log.
    ///
    /// # Errors
    /// [`LedgerError::Database`].
    pub async fn orgs(&self) -> Result<Vec<String>, LedgerError> {
        self.inner.store.org_ids().await
    }

    /// The key auditors use to verify `org`'s checkpoints.
    ///
    /// # Errors
    /// As [`Ledger::org_info`], and a stored key that does not parse.
    pub async fn verifier_key(&self, org: &str) -> Result<NoteVerifierKey, LedgerError> {
        Ok(self.org_info(org).await?.vkey.parse()?)
    }

    fn cache_signer(&self, org: &str, signer: NoteSigner) -> Arc<NoteSigner> {
        let signer = Arc::new(signer);
        if let Ok(mut map) = self.inner.signers.write() {
            map.insert(org.to_owned(), signer.clone());
        }
        signer
    }

    /// `org`'s signer, loaded once and checked against the key its log was created with.
    pub(crate) async fn checked_signer(&self, org: &str) -> Result<Arc<NoteSigner>, LedgerError> {
        if let Some(signer) = self
            .inner
            .signers
            .read()
            .ok()
            .and_then(|m| m.get(org).cloned())
        {
            return Ok(signer);
        }
        let info = self.org_info(org).await?;
        let signer = load_signer(&self.inner.config, org, false)?;
        let loaded = signer.verifier_key().to_string();
        if loaded != info.vkey {
            return Err(KeyError::Mismatch {
                org: org.into(),
                stored: info.vkey,
                loaded,
            }
            .into());
        }
        Ok(self.cache_signer(org, signer))
    }

    /// Appends one node to `org`'s log; returns once it is durably committed. A repeated
    /// idempotency key returns the earlier node with `duplicate` set.
    ///
    /// # Errors
    /// [`LedgerError::UnknownOrg`], [`LedgerError::Append`] (invalid node, unknown
    /// parent, parent hash mismatch), [`LedgerError::Database`]. Nothing is written.
    pub async fn append(&self, org: &str, node: NewNode) -> Result<Appended, LedgerError> {
        let mut appended = self.append_batch(org, vec![node]).await?;
        appended.pop().ok_or_else(|| LedgerError::Corrupt {
            what: "an append of one node returned no result".into(),
        })
    }

    /// Appends nodes in order, in one transaction: all or none. A node may name earlier
    /// nodes of the same batch as parents; a repeated idempotency key (also within the
    /// batch) returns the earlier node. Results are in submission order.
    ///
    /// # Errors
    /// As [`Ledger::append`]; `position` in [`AppendError`] names the refused node.
    pub async fn append_batch(
        &self,
        org: &str,
        nodes: Vec<NewNode>,
    ) -> Result<Vec<Appended>, LedgerError> {
        self.inner
            .store
            .append(org, nodes, &self.inner.frontiers)
            .await
    }

    /// The number of nodes in `org`'s log.
    ///
    /// # Errors
    /// [`LedgerError::UnknownOrg`], [`LedgerError::Database`].
    pub async fn size(&self, org: &str) -> Result<u64, LedgerError> {
        Ok(self.inner.store.head(org).await?.next_index)
    }

    /// The node at `index`.
    ///
    /// # Errors
    /// [`LedgerError::Database`].
    pub async fn node(&self, org: &str, index: u64) -> Result<Option<StoredNode>, LedgerError> {
        self.inner.store.node(org, index).await
    }

    /// The earliest node whose leaf hash is `hash` (identical nodes may repeat in a log).
    ///
    /// # Errors
    /// [`LedgerError::Database`].
    pub async fn node_by_hash(
        &self,
        org: &str,
        hash: &Hash,
    ) -> Result<Option<StoredNode>, LedgerError> {
        self.inner.store.node_by_hash(org, hash).await
    }

    /// A case's sub-DAG: every node of `case_id` and all their ancestors, by index.
    ///
    /// # Errors
    /// [`LedgerError::Database`].
    pub async fn case_nodes(
        &self,
        org: &str,
        case_id: &str,
    ) -> Result<Vec<StoredNode>, LedgerError> {
        self.inner.store.case_closure(org, case_id).await
    }

    /// Node `index` and all its ancestors, by index.
    ///
    /// # Errors
    /// [`LedgerError::Database`].
    pub async fn ancestors(&self, org: &str, index: u64) -> Result<Vec<StoredNode>, LedgerError> {
        self.inner.store.ancestors(org, index).await
    }

    /// Node `index` and all its descendants, by index.
    ///
    /// # Errors
    /// [`LedgerError::Database`].
    pub async fn descendants(&self, org: &str, index: u64) -> Result<Vec<StoredNode>, LedgerError> {
        self.inner.store.descendants(org, index).await
    }

    /// One page of nodes by kind, subject and recording time (see [`NodeFilter`]).
    ///
    /// # Errors
    /// [`LedgerError::Database`].
    pub async fn nodes(
        &self,
        org: &str,
        filter: &NodeFilter,
    ) -> Result<Vec<StoredNode>, LedgerError> {
        self.inner.store.nodes(org, filter).await
    }

    /// Creates (or re-grants) a PostgreSQL login role for the service: SELECT and INSERT
    /// on evidence tables, no UPDATE, DELETE or TRUNCATE; UPDATE on `log_heads`, DELETE on
    /// the stamping queue. Run as the schema owner; the service then connects as `role`
    /// with `run_migrations: false`.
    ///
    /// # Errors
    /// [`LedgerError::Config`] on SQLite or for a name outside `[a-z0-9_]{1,63}`.
    pub async fn create_service_role(
        &self,
        role: &str,
        password: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.inner.store.create_service_role(role, password).await
    }
}
