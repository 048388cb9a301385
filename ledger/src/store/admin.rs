//! PostgreSQL administration: the service role that cannot change evidence.

use sqlx::{AssertSqlSafe, Executor};

use super::{Engine, Store, db};
use crate::LedgerError;

/// Evidence tables: the service may read and insert, never update, delete or truncate.
const EVIDENCE_TABLES: &str = "orgs, nodes, node_parents, tree_hashes, checkpoints, timestamps";
/// Bookkeeping tables the service must update (log heads) or delete from (the queue).
const BOOKKEEPING_TABLES: &str = "log_heads, pending_stamps";

impl Store {
    /// Creates (or re-grants) `role` as a login role with exactly the privileges the
    /// service needs. Run as the schema owner after migrations.
    pub(crate) async fn create_service_role(
        &self,
        role: &str,
        password: Option<&str>,
    ) -> Result<(), LedgerError> {
        if self.engine() != Engine::Postgres {
            return Err(LedgerError::Config {
                reason: "database roles exist only on PostgreSQL".into(),
            });
        }
        if role.is_empty()
            || role.len() > 63
            || !role
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(LedgerError::Config {
                reason: "a role name is 1-63 characters of [a-z0-9_]".into(),
            });
        }
        let password = match password {
            Some(p) => format!(" PASSWORD '{}'", p.replace('\'', "''")),
            None => String::new(),
        };
        // The role name is checked above; the password is quoted as a literal.
        let statements = [
            format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') \
                 THEN CREATE ROLE {role} LOGIN; END IF; END $$"
            ),
            format!("ALTER ROLE {role} LOGIN{password}"),
            format!("REVOKE ALL ON {EVIDENCE_TABLES}, {BOOKKEEPING_TABLES} FROM {role}"),
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!("GRANT SELECT, INSERT ON {EVIDENCE_TABLES} TO {role}"),
            format!("GRANT SELECT, INSERT, UPDATE ON log_heads TO {role}"),
            format!("GRANT SELECT, INSERT, DELETE ON pending_stamps TO {role}"),
            format!("GRANT SELECT ON _sqlx_migrations TO {role}"),
        ];
        let mut tx = self.pool().begin().await.map_err(db("begin"))?;
        for statement in statements {
            tx.execute(AssertSqlSafe(statement))
                .await
                .map_err(db("create service role"))?;
        }
        tx.commit().await.map_err(db("commit service role"))
    }
}
