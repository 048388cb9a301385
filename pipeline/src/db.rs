//! The service's own tables (API tokens), in the same database as the ledger.
//!
//! The ledger owns the evidence tables and their migrations; the service records its own
//! migrations in a separate table, so the two sets never interfere.

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Where the service records which of its migrations ran.
const MIGRATIONS_TABLE: &str = "_custody_service_migrations";

/// A connection pool to the service database, on either engine.
#[derive(Clone, Debug)]
pub enum Database {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// The production engine.
    Postgres(PgPool),
}

impl Database {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and applies the service's migrations.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
            let mut migrator = sqlx::migrate!("./migrations/postgres");
            migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
            migrator.run(&pool).await?;
            Ok(Database::Postgres(pool))
        } else {
            let options: SqliteConnectOptions = url.parse()?;
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(std::time::Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?;
            let mut migrator = sqlx::migrate!("./migrations/sqlite");
            migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
            migrator.run(&pool).await?;
            Ok(Database::Sqlite(pool))
        }
    }
}
