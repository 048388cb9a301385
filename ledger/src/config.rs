//! How a [`crate::Ledger`] is opened. Built by the binary from its own configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The ledger's settings.
#[derive(Clone, Debug)]
pub struct LedgerConfig {
    /// `sqlite://path?mode=rwc` (WAL, `synchronous=FULL`) or `postgres://…`.
    pub database_url: String,
    /// Where organisations' log keys are kept (`<data_dir>/keys/<org>.seed`).
    pub data_dir: PathBuf,
    /// The ledger's public host name: logs are named `<host>/custody/<org>`.
    pub origin_host: String,
    /// The shortest time between two checkpoints of one organisation.
    pub checkpoint_interval: Duration,
    /// Key files to use instead of `<data_dir>/keys/<org>.seed`, by organisation. Each
    /// holds a raw 32-byte Ed25519 seed (RFC 8032 private key).
    pub key_files: BTreeMap<String, PathBuf>,
    /// Run pending migrations on open. A service role without DDL rights sets this to
    /// false; open then checks that every migration has been applied.
    pub run_migrations: bool,
    /// The most database connections in the pool.
    pub max_connections: u32,
}

impl LedgerConfig {
    /// Defaults for `database_url` and `data_dir`: origin host `localhost`, checkpoints
    /// at most every second, migrations run on open, 8 connections.
    pub fn new(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            database_url: database_url.into(),
            data_dir: data_dir.into(),
            origin_host: "localhost".into(),
            checkpoint_interval: Duration::from_secs(1),
            key_files: BTreeMap::new(),
            run_migrations: true,
            max_connections: 8,
        }
    }

    /// The embedded default: `<data_dir>/ledger.db` (SQLite).
    pub fn sqlite_in(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let url = format!("sqlite://{}?mode=rwc", data_dir.join("ledger.db").display());
        Self::new(url, data_dir)
    }

    /// The origin of `org`'s log.
    pub fn origin(&self, org: &str) -> String {
        format!("{}/custody/{org}", self.origin_host)
    }
}
