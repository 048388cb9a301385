//! The service's own tables (API tokens, employees, providers, the engine's work queue),
//! in the same database as the ledger, through one `sqlx::AnyPool` with `$n` placeholders.
//!
//! The ledger owns the evidence tables and their migrations; the service records its own
//! migrations in a separate table, so the two sets never interfere.

use std::time::Duration;

use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

/// Where the service records which of its migrations ran.
const MIGRATIONS_TABLE: &str = "_custody_service_migrations";

/// Which engine a [`Database`] talks to (SQL differs in a few places).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: one process.
    Sqlite,
    /// Production: several processes share work with row locks.
    Postgres,
}

/// A connection pool to the service database.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    engine: Engine,
}

impl Database {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and applies the service's migrations.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        };
        let options = AnyPoolOptions::new().max_connections(8).after_connect(move |conn, _| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    conn.execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON").await?;
                }
                Ok(())
            })
        });
        let pool = options
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        let mut migrator = match engine {
            Engine::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Engine::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&pool).await?;
        Ok(Self { pool, engine })
    }

    /// The pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }
}
