//! Shared fixtures of the ledger's API tests: a ledger on either engine, nodes, and a
//! local RFC 3161 TSA (`openssl ts -reply` with the test TSA of `testdata/tsa`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod postgres;

use std::time::Duration;

use custody_ledger::{Ledger, LedgerConfig, NewNode, PendingStamp};
use custody_verifier::node::ParentRef;
use custody_verifier::time::UtcTime;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub const ORG: &str = "acme";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs an `async fn(Db)` as two tests, `sqlite` and `postgres`, in a module named after it.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Db::Postgres).await
            }
        }
    )*};
}

/// A ledger over a fresh database, with its data directory.
pub struct TestLedger {
    pub ledger: Ledger,
    pub config: LedgerConfig,
    pub db: Db,
    /// The PostgreSQL database name (empty on SQLite).
    pub pg_database: String,
    pub dir: tempfile::TempDir,
}

impl TestLedger {
    pub async fn new(db: Db) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_database) = match db {
            Db::Sqlite => (
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("ledger.db").display()
                ),
                String::new(),
            ),
            Db::Postgres => {
                let server = postgres::shared();
                let name = server.create_database().await;
                (server.url(&name), name)
            }
        };
        let mut config = LedgerConfig::new(url, dir.path());
        config.origin_host = "custody.test".into();
        config.max_connections = 4;
        let ledger = Ledger::open(config.clone()).await.unwrap();
        Self {
            ledger,
            config,
            db,
            pg_database,
            dir,
        }
    }

    /// A second, independent ledger (own pool and caches) on the same database and keys.
    pub async fn another(&self) -> Ledger {
        Ledger::open(self.config.clone()).await.unwrap()
    }

    /// Creates the test organisation.
    pub async fn with_org(db: Db) -> Self {
        let this = Self::new(db).await;
        this.ledger.create_org(ORG).await.unwrap();
        this
    }
}

pub fn base_time() -> UtcTime {
    UtcTime::parse_rfc3339("2025-06-01T09:00:00Z").unwrap()
}

/// A node of `case_id` recorded `second` seconds after the base time.
pub fn node(kind: &str, case_id: Option<&str>, parents: &[ParentRef], second: i64) -> NewNode {
    NewNode {
        kind: kind.into(),
        case_id: case_id.map(Into::into),
        subject: Some("emp-1042".into()),
        parents: parents.to_vec(),
        recorded_at: base_time().offset_seconds(second),
        body: body(json!({"step": second})),
        idempotency_key: None,
    }
}

pub fn body(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

#[path = "../../../verifier/tests/support/local_tsa.rs"]
mod local_tsa;

#[allow(unused_imports)] // each test binary uses a subset
pub use local_tsa::{LocalTsa, stamp_with_time, testdata, tsa_anchors};

/// Stamping a ledger's pending checkpoints with the local test TSA.
#[allow(async_fn_in_trait)]
pub trait StampPending {
    /// Stamps every pending checkpoint, as the stamper would.
    async fn stamp_pending(&self, ledger: &Ledger) -> Vec<PendingStamp>;
}

impl StampPending for LocalTsa {
    async fn stamp_pending(&self, ledger: &Ledger) -> Vec<PendingStamp> {
        let pending = ledger.unstamped_checkpoints(1000).await.unwrap();
        for stamp in &pending {
            let digest: [u8; 32] = Sha256::digest(&stamp.note_text).into();
            let (token, gen_time) = stamp_with_time(self, &digest);
            ledger
                .record_timestamp(
                    &stamp.org,
                    stamp.size,
                    "local-openssl",
                    &token,
                    gen_time,
                    None,
                )
                .await
                .unwrap();
        }
        pending
    }
}

/// Waits up to `timeout` for `check` to hold.
pub async fn eventually(timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
