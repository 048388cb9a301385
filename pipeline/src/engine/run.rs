//! The workers: claim due steps, perform them, record their outcomes as custody nodes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use custody_ledger::{NewNode, StoredNode};
use custody_verifier::node::ParentRef;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::plan::Step;
use super::record::{Pending, settle};
use super::store::{self, CaseRow, Claim};
use super::{Engine, EngineError, object};
use crate::directory::{self, EmployeeStatus};
use crate::providers::{self, Action, ActionJournal, JournalFuture, Leaver, ProviderError};

/// How many steps one round claims.
const BATCH: i64 = 64;
/// The longest wait between rounds when nothing wakes the workers.
const IDLE: Duration = Duration::from_millis(500);
/// After this many failed attempts a step that keeps failing needs a person.
const MAX_ATTEMPTS: i64 = 12;

/// What performing a step came to.
enum Outcome {
    /// Record this node: the step is done.
    Done {
        body: Value,
        parents: Vec<ParentRef>,
    },
    /// Try again later, no sooner than `after`.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Only a person can make this step succeed.
    Attention { reason: String },
}

/// A running engine: the claim loop and the recorder. Dropping it stops both at once;
/// [`EngineTask::shutdown`] lets the steps in flight finish first.
pub struct EngineTask {
    engine: Engine,
    stop: watch::Sender<bool>,
    claims: Option<JoinHandle<()>>,
}

impl EngineTask {
    /// Stops claiming, then waits (up to 30 s) for the steps in flight to finish and be
    /// recorded; any still running are taken over by another process once their lease
    /// runs out.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.claims.take() {
            let _ = task.await;
        }
        let all = u32::try_from(super::WORKER_SLOTS).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(
            Duration::from_secs(30),
            self.engine.inner.slots.acquire_many(all),
        )
        .await;
        // Every step in flight has had its answer; what the API still hands the
        // recorder from now on is refused as the engine stopping, never half-recorded.
        self.stop_recorder();
    }

    fn stop_recorder(&self) {
        let running = self.engine.inner.recorder_task.lock().ok();
        if let Some(task) = running.and_then(|mut task| task.take()) {
            task.abort();
        }
    }
}

impl Drop for EngineTask {
    fn drop(&mut self) {
        if let Some(task) = self.claims.take() {
            task.abort();
        }
        self.stop_recorder();
    }
}

impl Engine {
    /// Starts the claim loop (and the recorder, if nothing has started it yet).
    pub fn spawn(&self) -> EngineTask {
        self.start_recorder();
        let engine = self.clone();
        let (stop, mut stopped) = watch::channel(false);
        let claims = tokio::spawn(async move {
            loop {
                let worked = match engine.run_once().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(error = %e, "engine round failed");
                        0
                    }
                };
                if worked > 0 {
                    continue;
                }
                tokio::select! {
                    _ = engine.inner.wake.notified() => {}
                    _ = tokio::time::sleep(IDLE) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        EngineTask {
            engine: self.clone(),
            stop,
            claims: Some(claims),
        }
    }

    /// Claims as many due steps as there are free worker slots and starts them; returns
    /// how many it started. A slow provider holds only its own slot, never the others.
    async fn run_once(&self) -> Result<usize, EngineError> {
        let free = self.inner.slots.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let limit = i64::try_from(free).unwrap_or(BATCH).min(BATCH);
        let claims = store::claim(
            &self.inner.db,
            &self.inner.owner,
            crate::clock::now_us(),
            self.inner.lease,
            limit,
        )
        .await?;
        let started = claims.len();
        for claim in claims {
            let Ok(slot) = self.inner.slots.clone().try_acquire_owned() else {
                // Unreachable while one loop claims; the lease returns the step otherwise.
                break;
            };
            let engine = self.clone();
            tokio::spawn(async move {
                if let Err(e) = engine.handle_leased(&claim).await {
                    tracing::warn!(case = %claim.case_id, step = %claim.step, error = %e, "step failed; it will be retried");
                }
                drop(slot);
                engine.wake();
            });
        }
        Ok(started)
    }

    /// Performs a claimed step while renewing its lease; if the lease is lost (another
    /// process took the step over), the step is abandoned at once, mid-call if need be.
    async fn handle_leased(&self, claim: &Claim) -> Result<(), EngineError> {
        let work = self.handle(claim);
        tokio::pin!(work);
        let mut beat = tokio::time::interval((self.inner.lease / 3).max(Duration::from_millis(1)));
        beat.tick().await;
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = beat.tick() => {
                    let held = store::extend_lease(&self.inner.db, &self.inner.owner, claim, crate::clock::now_us(), self.inner.lease).await?;
                    if !held {
                        tracing::warn!(case = %claim.case_id, step = %claim.step, "lease lost; abandoning the step");
                        return Ok(());
                    }
                }
            }
        }
    }

    async fn handle(&self, claim: &Claim) -> Result<(), EngineError> {
        let db = &self.inner.db;
        let case = store::case(db, &claim.org, &claim.case_id)
            .await?
            .ok_or_else(|| EngineError::UnknownCase {
                case_id: claim.case_id.clone(),
            })?;
        let key = format!("{}/{}", claim.case_id, claim.step);
        // Only an earlier claim can have recorded this step, so a first claim skips the
        // look-up; completion reads the case's nodes to name them as its parents.
        let recorded = if claim.attempts > 1 || claim.step == Step::Complete {
            self.inner
                .ledger
                .case_nodes(&claim.org, &claim.case_id)
                .await?
        } else {
            Vec::new()
        };
        // The ledger is the source of truth: a step whose node exists is done.
        if let Some(node) = recorded
            .iter()
            .find(|n| n.idempotency_key.as_deref() == Some(key.as_str()))
        {
            store::complete(db, &self.inner.owner, claim, node.index).await?;
            return Ok(());
        }
        if case.closed == store::OVERRIDDEN {
            return Ok(store::needs_attention(
                db,
                &self.inner.owner,
                claim,
                "the case was overridden by an admin",
            )
            .await?);
        }
        match self.perform(claim, &case, &recorded).await? {
            Outcome::Done { body, parents } => {
                let mut body = object(body);
                // A step resumed after a crash finds some work already done ("already gone");
                // the attempt number says so in the evidence.
                body.insert("attempt".into(), Value::from(claim.attempts));
                let node = NewNode {
                    kind: claim.step.node_kind().into(),
                    case_id: Some(claim.case_id.clone()),
                    subject: Some(case.employee_id.clone()),
                    parents,
                    recorded_at: crate::clock::now(),
                    body,
                    idempotency_key: Some(key),
                };
                self.record_step(claim, node).await?;
                self.wake();
            }
            Outcome::Retry { reason, after } if claim.attempts < MAX_ATTEMPTS => {
                let wait = after.unwrap_or_default().max(backoff(claim.attempts));
                let next = crate::clock::now_us()
                    .saturating_add(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX));
                store::retry_later(db, &self.inner.owner, claim, next, &reason).await?;
            }
            Outcome::Retry { reason, .. } => {
                let reason = format!("gave up after {} attempts: {reason}", claim.attempts);
                self.park(claim, &case, &reason).await?;
            }
            Outcome::Attention { reason } => self.park(claim, &case, &reason).await?,
        }
        Ok(())
    }

    /// Records that a step needs a person (a custody node, never a silent skip). Its
    /// parents are the trigger and whatever the step did get done: the provider actions
    /// journaled by this and earlier attempts.
    async fn park(&self, claim: &Claim, case: &CaseRow, reason: &str) -> Result<(), EngineError> {
        let recorded = self
            .inner
            .ledger
            .case_nodes(&claim.org, &claim.case_id)
            .await?;
        let mut parents = journaled_actions(claim, &recorded);
        parents.push(ParentRef {
            index: case.trigger_index,
            hash: case.trigger_hash,
        });
        parents.sort();
        let node = NewNode {
            kind: "step_needs_attention".into(),
            case_id: Some(claim.case_id.clone()),
            subject: Some(case.employee_id.clone()),
            parents,
            recorded_at: crate::clock::now(),
            body: object(
                json!({"step": claim.step.name(), "reason": reason, "attempts": claim.attempts}),
            ),
            idempotency_key: Some(format!(
                "{}/{}/attention/{}",
                claim.case_id, claim.step, claim.attempts
            )),
        };
        self.record(&claim.org, node).await?;
        store::needs_attention(&self.inner.db, &self.inner.owner, claim, reason).await?;
        Ok(())
    }

    async fn perform(
        &self,
        claim: &Claim,
        case: &CaseRow,
        recorded: &[StoredNode],
    ) -> Result<Outcome, EngineError> {
        let trigger = vec![ParentRef {
            index: case.trigger_index,
            hash: case.trigger_hash,
        }];
        let db = &self.inner.db;
        let Some(employee) = directory::employee(db, &claim.org, &case.employee_id).await? else {
            return Ok(Outcome::Attention {
                reason: format!(
                    "employee {} is no longer in the directory",
                    case.employee_id
                ),
            });
        };
        Ok(match &claim.step {
            Step::RevokeProvider(id) => {
                let Some(config) =
                    directory::provider_config(db, &self.inner.key, &claim.org, id).await?
                else {
                    return Ok(Outcome::Attention {
                        reason: format!("provider {id} is no longer connected"),
                    });
                };
                let leaver = Leaver {
                    email: employee.email.clone(),
                    display_name: employee.display_name.clone(),
                    azure_principal_id: employee.azure_principal_id.clone(),
                };
                let journal = StepJournal::new(self, claim, case, id, recorded);
                let revoked = match providers::build(config) {
                    Ok(provider) => provider.revoke(&leaver, &journal).await,
                    Err(e) => Err(e),
                };
                let actions = journal.settle().await;
                match revoked {
                    Ok(revocation) => {
                        let journaled = actions.len();
                        let mut parents = actions;
                        parents.extend(trigger);
                        parents.sort();
                        Outcome::Done {
                            body: json!({"provider_id": id, "revocation": revocation, "journaled_actions": journaled}),
                            parents,
                        }
                    }
                    Err(ProviderError::Retryable {
                        reason,
                        retry_after,
                    }) => Outcome::Retry {
                        reason,
                        after: retry_after,
                    },
                    Err(ProviderError::NeedsAttention { reason }) => Outcome::Attention { reason },
                    Err(other) => Outcome::Retry {
                        reason: other.to_string(),
                        after: None,
                    },
                }
            }
            Step::LockDevices => {
                match self
                    .inner
                    .devices
                    .queue_lock(&claim.org, &case.employee_id, &claim.case_id)
                    .await
                {
                    Ok(records) => {
                        let commands: Vec<Value> = records
                            .iter()
                            .map(|r| Value::Object(r.sent_body()))
                            .collect();
                        Outcome::Done {
                            body: json!({"devices": commands.len(), "commands": commands}),
                            parents: trigger,
                        }
                    }
                    Err(e) => Outcome::Retry {
                        reason: e.to_string(),
                        after: None,
                    },
                }
            }
            Step::InvalidateSessions => {
                match crate::auth::revoke_owned(db, &claim.org, &employee.email).await {
                    Ok(revoked) => Outcome::Done {
                        body: json!({"api_tokens_revoked": revoked}),
                        parents: trigger,
                    },
                    Err(e) => Outcome::Retry {
                        reason: e.to_string(),
                        after: None,
                    },
                }
            }
            Step::Complete => {
                // Closed before the node is written, so that whoever sees the
                // `case_completed` node also sees the employee locked.
                let mut tx = db.pool().begin().await?;
                store::close_case(&mut tx, &claim.org, &claim.case_id, store::COMPLETED).await?;
                directory::set_status_in(
                    &mut tx,
                    &claim.org,
                    &case.employee_id,
                    EmployeeStatus::Locked,
                )
                .await?;
                tx.commit().await?;
                let mut parents: Vec<ParentRef> = recorded
                    .iter()
                    .filter(|n| {
                        n.index != case.trigger_index
                            && !matches!(n.kind.as_str(), "step_needs_attention" | ACTION_KIND)
                    })
                    .map(|n| ParentRef {
                        index: n.index,
                        hash: n.leaf_hash,
                    })
                    .collect();
                parents.extend(trigger);
                parents.sort();
                parents.dedup();
                Outcome::Done {
                    body: json!({"steps": parents.len()}),
                    parents,
                }
            }
        })
    }
}

/// The kind of the node that journals one provider action.
const ACTION_KIND: &str = "provider_action";

/// The `provider_action` nodes journaled for `claim`'s step by any attempt, among the
/// case's `recorded` nodes.
fn journaled_actions(claim: &Claim, recorded: &[StoredNode]) -> Vec<ParentRef> {
    let prefix = format!("{}/{}/action/", claim.case_id, claim.step);
    recorded
        .iter()
        .filter(|n| {
            n.kind == ACTION_KIND
                && n.idempotency_key
                    .as_deref()
                    .is_some_and(|k| k.starts_with(&prefix))
        })
        .map(|n| ParentRef {
            index: n.index,
            hash: n.leaf_hash,
        })
        .collect()
}

/// The journal of one provider step: each action that changed something at the provider
/// becomes a `provider_action` node of the case. The node goes to the recorder the
/// moment the provider confirms the action, without holding up the next call; the
/// step's final node (or its `step_needs_attention` node) waits for all of them and
/// names every one, from this attempt and from earlier ones cut short, as parents. A
/// crash can thus lose only confirmations that arrived within one group commit of it.
struct StepJournal<'a> {
    engine: &'a Engine,
    claim: &'a Claim,
    case: &'a CaseRow,
    provider_id: &'a str,
    /// Earlier attempts' action nodes.
    earlier: Vec<ParentRef>,
    /// This attempt's, on their way to the ledger.
    pending: Mutex<Vec<Pending>>,
    /// This attempt's next sequence number.
    next: AtomicU64,
}

impl<'a> StepJournal<'a> {
    fn new(
        engine: &'a Engine,
        claim: &'a Claim,
        case: &'a CaseRow,
        provider_id: &'a str,
        recorded: &[StoredNode],
    ) -> Self {
        let earlier = journaled_actions(claim, recorded);
        StepJournal {
            engine,
            claim,
            case,
            provider_id,
            earlier,
            pending: Mutex::new(Vec::new()),
            next: AtomicU64::new(1),
        }
    }

    /// Every action node of the step, once this attempt's are committed. One that could
    /// not be recorded is left out (and logged): the action stands, and its confirmation
    /// is in the step's own node when the step finishes in this attempt.
    async fn settle(self) -> Vec<ParentRef> {
        let pending = self.pending.into_inner().unwrap_or_default();
        let mut nodes = self.earlier;
        for answer in pending {
            match settle(answer).await {
                Ok(appended) => nodes.push(ParentRef {
                    index: appended.index,
                    hash: appended.leaf_hash,
                }),
                Err(e) => tracing::warn!(
                    case = %self.claim.case_id, step = %self.claim.step, error = %e,
                    "could not journal a provider action"
                ),
            }
        }
        nodes
    }
}

impl ActionJournal for StepJournal<'_> {
    fn performed<'b>(&'b self, action: &'b Action) -> JournalFuture<'b> {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let (claim, case) = (self.claim, self.case);
        let node = NewNode {
            kind: ACTION_KIND.into(),
            case_id: Some(claim.case_id.clone()),
            subject: Some(case.employee_id.clone()),
            parents: vec![ParentRef {
                index: case.trigger_index,
                hash: case.trigger_hash,
            }],
            recorded_at: crate::clock::now(),
            body: object(json!({
                "provider_id": self.provider_id,
                "step": claim.step.name(),
                "attempt": claim.attempts,
                "seq": seq,
                "action": action,
            })),
            idempotency_key: Some(format!(
                "{}/{}/action/{}/{seq}",
                claim.case_id, claim.step, claim.attempts
            )),
        };
        let answer = self.engine.record_later(&claim.org, node);
        if let Ok(mut pending) = self.pending.lock() {
            pending.push(answer);
        }
        Box::pin(std::future::ready(()))
    }
}

/// Exponential backoff with jitter: about 1 s, 2 s, 4 s, … up to 5 minutes.
fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 9) - 1).unwrap_or(0);
    let base = Duration::from_secs(1) * 2u32.pow(exp);
    let mut jitter = [0u8; 2];
    let _ = getrandom::getrandom(&mut jitter);
    let jitter = Duration::from_millis(u64::from(u16::from_le_bytes(jitter)) % 1000);
    (base + jitter).min(Duration::from_secs(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) < Duration::from_secs(2));
        assert!(backoff(4) >= Duration::from_secs(8));
        assert!(backoff(100) <= Duration::from_secs(300));
    }
}
