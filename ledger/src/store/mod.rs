//! The one module that speaks SQL (sqlx, through its `Any` driver so that one set of
//! statements serves both engines; `$n` placeholders work on SQLite and PostgreSQL).
//!
//! Where the engines differ: migrations (one folder each), connection setup (SQLite:
//! WAL, `synchronous=FULL`, foreign keys, busy timeout), and how a writer serialises
//! with others (SQLite `BEGIN IMMEDIATE`; PostgreSQL `SELECT … FOR UPDATE` on the
//! organisation's `log_heads` row). Evidence rows are only ever inserted.

mod admin;
mod append;
mod checkpoints;
mod read;

use std::time::{SystemTime, UNIX_EPOCH};

use custody_verifier::merkle::Hash;
use custody_verifier::time::UtcTime;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row, Transaction};

use crate::{LedgerConfig, LedgerError};

pub(crate) use append::FrontierCache;
pub(crate) use checkpoints::CheckpointInsert;
pub(crate) use read::{head, subtrees};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database engine behind a [`crate::Ledger`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// SQLite (embedded; WAL, `synchronous=FULL`).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection pool and its engine.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: AnyPool,
    engine: Engine,
}

pub(crate) type Tx = Transaction<'static, sqlx::Any>;

/// Wraps a driver error with what the ledger was doing.
pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> LedgerError {
    move |e| LedgerError::Database {
        operation,
        source: Box::new(e),
    }
}

impl Store {
    /// Connects, prepares each connection, and migrates (or checks migrations).
    pub(crate) async fn open(config: &LedgerConfig) -> Result<Self, LedgerError> {
        sqlx::any::install_default_drivers();
        let url = config.database_url.as_str();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            return Err(LedgerError::Config {
                reason: "database_url must start with sqlite: or postgres:".into(),
            });
        };
        let mut options = AnyPoolOptions::new().max_connections(config.max_connections.max(1));
        if engine == Engine::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 30000").await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await.map_err(db("connect"))?;
        let store = Self { pool, engine };
        store.migrate(config.run_migrations).await?;
        Ok(store)
    }

    fn migrator(&self) -> &'static Migrator {
        match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    async fn migrate(&self, run: bool) -> Result<(), LedgerError> {
        if run {
            return self
                .migrator()
                .run(&self.pool)
                .await
                .map_err(|e| LedgerError::Database {
                    operation: "migrate",
                    source: Box::new(e),
                });
        }
        let applied: Vec<i64> = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
            .map_err(db("check migrations"))?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(db("check migrations"))?;
        match self
            .migrator()
            .iter()
            .find(|m| !applied.contains(&m.version))
        {
            Some(missing) => Err(LedgerError::Config {
                reason: format!(
                    "migration {} ({}) has not been applied; run the ledger once with migrations enabled",
                    missing.version, missing.description
                ),
            }),
            None => Ok(()),
        }
    }

    /// The engine.
    pub(crate) fn engine(&self) -> Engine {
        self.engine
    }

    /// The pool (for reads).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that may write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading a read lock.
    pub(crate) async fn begin_write(&self) -> Result<Tx, LedgerError> {
        match self.engine {
            Engine::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Engine::Postgres => self.pool.begin().await,
        }
        .map_err(db("begin"))
    }

    /// Closes the pool.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// The ledger host's clock, in microseconds since the epoch (bookkeeping, not evidence).
pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Microseconds since the epoch as a [`UtcTime`].
pub(crate) fn time_from_us(us: i64) -> UtcTime {
    let nanos = (us.rem_euclid(1_000_000) * 1000) as u32;
    UtcTime::from_unix(us.div_euclid(1_000_000), nanos).unwrap_or(UtcTime::EPOCH)
}

/// Seconds and nanoseconds (as stored) as a [`UtcTime`].
pub(crate) fn time_from_parts(secs: i64, nanos: i64) -> UtcTime {
    let nanos = u32::try_from(nanos).unwrap_or(0);
    UtcTime::from_unix(secs, nanos).unwrap_or(UtcTime::EPOCH)
}

pub(crate) fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(crate) fn hash_from(bytes: Vec<u8>, what: &str) -> Result<Hash, LedgerError> {
    Hash::try_from(bytes).map_err(|_| LedgerError::Corrupt {
        what: format!("{what} is not 32 bytes"),
    })
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, column: usize) -> Result<T, LedgerError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(db("decode row"))
}
