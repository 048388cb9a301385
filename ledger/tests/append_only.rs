//! Append-only enforcement below the code: triggers on both engines refuse UPDATE and
//! DELETE of evidence rows; on PostgreSQL the service role lacks the privileges too.
//!
//! The database owner (a PostgreSQL superuser, or whoever can write the SQLite file) can
//! still drop triggers; against them the defence is the verifier: hashes, signed
//! checkpoints and RFC 3161 tokens make any change detectable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sqlx::Connection;
use support::{Db, LocalTsa, ORG, StampPending, TestLedger, node};

both_engines!(triggers_refuse_update_and_delete_of_evidence);

/// Raw statements against every evidence table, each of which must be refused.
const TAMPERING: &[&str] = &[
    "UPDATE orgs SET vkey = 'x'",
    "DELETE FROM orgs",
    "UPDATE nodes SET kind = 'forged'",
    "DELETE FROM nodes WHERE idx = 1",
    "UPDATE node_parents SET parent = 0",
    "DELETE FROM node_parents",
    "UPDATE tree_hashes SET hash = hash",
    "DELETE FROM tree_hashes",
    "UPDATE checkpoints SET note = note",
    "DELETE FROM checkpoints",
    "UPDATE timestamps SET tsa = 'forged'",
    "DELETE FROM timestamps",
];

async fn populated(db: Db) -> TestLedger {
    let t = TestLedger::with_org(db).await;
    let root = t
        .ledger
        .append(ORG, node("termination_detected", Some("c-1"), &[], 0))
        .await
        .unwrap();
    t.ledger
        .append(
            ORG,
            node("lockout_requested", Some("c-1"), &[root.parent_ref()], 1),
        )
        .await
        .unwrap();
    t.ledger.checkpoint(ORG).await.unwrap().unwrap();
    LocalTsa::start().stamp_pending(&t.ledger).await;
    t
}

async fn try_raw(db: Db, url: &str, sql: &str) -> Result<u64, String> {
    let result = match db {
        Db::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected())
        }
        Db::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected())
        }
    };
    result.map_err(|e| e.to_string())
}

async fn triggers_refuse_update_and_delete_of_evidence(db: Db) {
    let t = populated(db).await;
    for sql in TAMPERING {
        let err = try_raw(db, &t.config.database_url, sql)
            .await
            .expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    if db == Db::Postgres {
        for table in [
            "orgs",
            "nodes",
            "node_parents",
            "tree_hashes",
            "checkpoints",
            "timestamps",
        ] {
            let sql = format!("TRUNCATE {table} CASCADE");
            let err = try_raw(db, &t.config.database_url, &sql)
                .await
                .expect_err(&sql);
            assert!(err.contains("append-only"), "{sql}: {err}");
        }
    }
    assert_eq!(t.ledger.size(ORG).await.unwrap(), 2);
    assert_eq!(
        t.ledger.node(ORG, 1).await.unwrap().unwrap().kind,
        "lockout_requested"
    );
}

/// The service role cannot change evidence even where the owner disabled the triggers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_service_role_has_no_update_or_delete_privilege() {
    let t = populated(Db::Postgres).await;
    let role = format!("custody_service_{}", std::process::id());
    t.ledger.create_service_role(&role, None).await.unwrap();
    let server = support::postgres::shared();
    // The owner disables every user trigger: only privileges stand in the way now.
    let mut owner = sqlx::PgConnection::connect(&t.config.database_url)
        .await
        .unwrap();
    for table in [
        "orgs",
        "nodes",
        "node_parents",
        "tree_hashes",
        "checkpoints",
        "timestamps",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {table} DISABLE TRIGGER USER"
        )))
        .execute(&mut owner)
        .await
        .unwrap();
    }
    let service_url = server.url_as(&role, &t.pg_database);
    for sql in TAMPERING {
        let err = try_raw(Db::Postgres, &service_url, sql)
            .await
            .expect_err(sql);
        assert!(err.contains("permission denied"), "{sql}: {err}");
    }
    let err = try_raw(Db::Postgres, &service_url, "TRUNCATE nodes CASCADE")
        .await
        .unwrap_err();
    assert!(err.contains("permission denied"), "{err}");
    // The service itself works as that role, without DDL rights.
    let mut config = t.config.clone();
    config.database_url = service_url;
    config.run_migrations = false;
    let service = custody_ledger::Ledger::open(config).await.unwrap();
    let appended = service
        .append(ORG, node("sessions_invalidated", Some("c-1"), &[], 2))
        .await
        .unwrap();
    assert_eq!(appended.index, 2);
    let checkpoint = service.checkpoint(ORG).await.unwrap().unwrap();
    assert_eq!(checkpoint.size, 3);
    LocalTsa::start().stamp_pending(&service).await;
    assert_eq!(service.stamping_status(ORG).await.unwrap().unstamped, 0);
}

#[tokio::test]
async fn service_roles_exist_only_on_postgres() {
    let t = TestLedger::new(Db::Sqlite).await;
    assert!(matches!(
        t.ledger.create_service_role("svc", None).await,
        Err(custody_ledger::LedgerError::Config { .. })
    ));
}
