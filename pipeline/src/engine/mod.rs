//! The offboarding engine: a durable state machine over custody cases.
//!
//! A case starts with a trigger node in the ledger and a row per planned step in the
//! service database ([`store`]). Workers claim due steps under a lease, perform them, and
//! record each outcome as a custody node whose idempotency key is `<case>/<step>`; a step
//! is done exactly when that node exists, so after a crash a step whose node was written
//! is marked done without being performed again, and every other step is simply claimed
//! again when its lease runs out. Provider calls are idempotent (404 is "already gone"),
//! so a step interrupted halfway is finished, not repeated, by the next attempt.

pub mod plan;
mod record;
mod run;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use custody_ledger::{Ledger, LedgerError, NewNode};
use serde_json::json;
use tokio::sync::{Notify, Semaphore, mpsc};

/// How many steps one process performs at once.
const WORKER_SLOTS: usize = 128;

use crate::db::Database;
use crate::devices::Devices;
use crate::directory::{self, DirectoryError, Employee, EmployeeStatus};
use crate::sealing::SealingKey;
use store::CaseRow;

pub use run::EngineTask;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The ledger refused or failed.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// The service database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Employees or providers could not be read.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The engine was shut down before the step was recorded.
    #[error("the engine is shutting down")]
    Stopped,
    /// No such case in the organisation.
    #[error("case `{case_id}` not found")]
    UnknownCase {
        /// The case id.
        case_id: String,
    },
}

/// The engine, shared by the API (which starts cases) and the workers (which run them).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    ledger: Ledger,
    db: Database,
    key: SealingKey,
    devices: Devices,
    owner: String,
    lease: Duration,
    wake: Notify,
    /// Steps in flight at once in this process.
    slots: Arc<Semaphore>,
    /// Nodes on their way to the recorder.
    recorder: mpsc::UnboundedSender<record::Entry>,
    /// The recorder's end of that channel, until the recorder starts.
    inbox: std::sync::Mutex<Option<record::Inbox>>,
    /// The running recorder, stopped by [`EngineTask`].
    recorder_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The result of a lockout request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// The case.
    pub case_id: String,
    /// False when the employee was already locked out (or being locked out): the
    /// existing case is returned and nothing new happens.
    pub created: bool,
}

impl Engine {
    /// An engine over `ledger` and `db`, opening provider credentials with `key` and
    /// sending lock commands through `devices`; a claimed step is held for `lease`.
    pub fn new(
        ledger: Ledger,
        db: Database,
        key: SealingKey,
        devices: Devices,
        lease: Duration,
    ) -> Self {
        let mut id = [0u8; 8];
        let _ = getrandom::getrandom(&mut id);
        let (recorder, inbox) = mpsc::unbounded_channel();
        let inner = Inner {
            ledger,
            db,
            key,
            devices,
            owner: format!("worker-{}-{}", std::process::id(), hex::encode(id)),
            lease,
            wake: Notify::new(),
            slots: Arc::new(Semaphore::new(WORKER_SLOTS)),
            recorder,
            inbox: std::sync::Mutex::new(Some(inbox)),
            recorder_task: std::sync::Mutex::new(None),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Starts a lockout of `employee`, or returns the case that already locks them out.
    /// The trigger node records who asked and why; manual lockouts revoke access first.
    pub async fn lock_out(
        &self,
        org: &str,
        employee: &Employee,
        requested_by: &str,
        reason: &str,
    ) -> Result<Lockout, EngineError> {
        let db = &self.inner.db;
        let previous = store::cases_of(db, org, &employee.id).await?;
        if let Some(existing) = previous.iter().find(|c| c.closed != store::OVERRIDDEN) {
            return Ok(Lockout {
                case_id: existing.case_id.clone(),
                created: false,
            });
        }
        let case_id = format!("lockout-{}-{}", employee.id, previous.len() + 1);
        let trigger = NewNode {
            kind: "lockout_requested".into(),
            case_id: Some(case_id.clone()),
            subject: Some(employee.id.clone()),
            parents: vec![],
            recorded_at: crate::clock::now(),
            body: object(
                json!({"source": "manual", "requested_by": requested_by, "email": employee.email, "reason": reason}),
            ),
            idempotency_key: Some(format!("{case_id}/trigger")),
        };
        let appended = self.record(org, trigger).await?;
        let providers: Vec<String> = directory::providers(db, org)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let row = CaseRow {
            case_id: case_id.clone(),
            employee_id: employee.id.clone(),
            source: "manual".into(),
            trigger_index: appended.index,
            trigger_hash: appended.leaf_hash,
            closed: store::OPEN,
        };
        // The case, its steps and the employee's new status commit together.
        let mut tx = db.pool().begin().await?;
        let created = store::create_case(
            &mut tx,
            org,
            &row,
            &plan::lockout(&providers),
            crate::clock::now_us(),
        )
        .await?;
        directory::set_status_in(&mut tx, org, &employee.id, EmployeeStatus::Offboarding).await?;
        tx.commit().await?;
        self.inner.wake.notify_one();
        Ok(Lockout { case_id, created })
    }

    /// Reverses a lockout: records who and why as an `admin_override` node of the case,
    /// stops its remaining steps and restores the employee's status.
    pub async fn override_case(
        &self,
        org: &str,
        case_id: &str,
        by: &str,
        reason: &str,
    ) -> Result<u64, EngineError> {
        let db = &self.inner.db;
        let case =
            store::case(db, org, case_id)
                .await?
                .ok_or_else(|| EngineError::UnknownCase {
                    case_id: case_id.into(),
                })?;
        let node = NewNode {
            kind: "admin_override".into(),
            case_id: Some(case_id.into()),
            subject: Some(case.employee_id.clone()),
            parents: vec![custody_verifier::node::ParentRef {
                index: case.trigger_index,
                hash: case.trigger_hash,
            }],
            recorded_at: crate::clock::now(),
            body: object(json!({"overridden_by": by, "reason": reason})),
            idempotency_key: Some(format!("{case_id}/override")),
        };
        let appended = self.record(org, node).await?;
        let mut tx = db.pool().begin().await?;
        store::close_case(&mut tx, org, case_id, store::OVERRIDDEN).await?;
        directory::set_status_in(&mut tx, org, &case.employee_id, EmployeeStatus::Active).await?;
        tx.commit().await?;
        Ok(appended.index)
    }

    /// Wakes the workers (a case was created or a step became due).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    /// The service database.
    pub fn db(&self) -> &Database {
        &self.inner.db
    }
}

/// A JSON object literal as a node body.
fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}
