//! The recorder: group commit of finished steps.
//!
//! A worker that finishes a step hands its node to the recorder and waits. The recorder
//! takes everything that is waiting, appends each organisation's nodes to the ledger in
//! one transaction and marks all their steps done in one more, then answers every
//! worker. While one group commits, the next one gathers, so a burst of steps costs a
//! few commits rather than two per step; a lone step is recorded at once.
//!
//! Nothing is acknowledged before it is committed: a worker learns its step is done
//! only after both transactions. A crash between them leaves a node whose step is still
//! pending; the next claim finds the node and marks the step done without repeating it.

use std::collections::BTreeMap;

use custody_ledger::NewNode;
use tokio::sync::{mpsc, oneshot};

use super::store::{self, Claim};
use super::{Engine, EngineError};

/// The most steps one group commit records.
const MAX_GROUP: usize = 512;

/// A finished step waiting to be recorded.
pub(super) struct Finished {
    /// The claim the step was performed under.
    pub claim: Claim,
    /// The node that records its outcome.
    pub node: NewNode,
    /// Where the outcome goes: the node's index once the step is marked done.
    pub reply: oneshot::Sender<Result<u64, EngineError>>,
}

/// The receiving end, taken by [`Engine::spawn`].
pub(super) type Inbox = mpsc::UnboundedReceiver<Finished>;

impl Engine {
    /// Records a finished step and waits until its node is committed and the step is
    /// marked done; the node's index.
    pub(super) async fn record(&self, claim: &Claim, node: NewNode) -> Result<u64, EngineError> {
        let (reply, answer) = oneshot::channel();
        let finished = Finished {
            claim: claim.clone(),
            node,
            reply,
        };
        if self.inner.recorder.send(finished).is_err() {
            return Err(EngineError::Stopped);
        }
        answer.await.unwrap_or(Err(EngineError::Stopped))
    }

    /// The recorder's loop: one group commit per turn, until every sender is gone.
    pub(super) async fn record_loop(self, mut inbox: Inbox) {
        while let Some(first) = inbox.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match inbox.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            self.commit_group(group).await;
        }
    }

    async fn commit_group(&self, group: Vec<Finished>) {
        let mut by_org: BTreeMap<String, Vec<Finished>> = BTreeMap::new();
        for finished in group {
            by_org
                .entry(finished.claim.org.clone())
                .or_default()
                .push(finished);
        }
        for (org, group) in by_org {
            let results = self.commit_org(&org, &group).await;
            for (finished, result) in group.into_iter().zip(results) {
                // A worker that stopped waiting (its lease was lost) needs no answer.
                let _ = finished.reply.send(result);
            }
        }
    }

    /// Records one organisation's finished steps: the nodes in one ledger transaction,
    /// the steps in one service transaction. If a shared transaction fails, each step is
    /// tried on its own, so one bad step cannot hold back the others.
    async fn commit_org(&self, org: &str, group: &[Finished]) -> Vec<Result<u64, EngineError>> {
        let nodes: Vec<NewNode> = group.iter().map(|f| f.node.clone()).collect();
        let indices: Vec<Result<u64, EngineError>> =
            match self.inner.ledger.append_batch(org, nodes).await {
                Ok(appended) if appended.len() == group.len() => {
                    appended.into_iter().map(|a| Ok(a.index)).collect()
                }
                _ => {
                    let mut each = Vec::with_capacity(group.len());
                    for finished in group {
                        let appended = self.inner.ledger.append(org, finished.node.clone()).await;
                        each.push(appended.map(|a| a.index).map_err(EngineError::from));
                    }
                    each
                }
            };
        let done: Vec<(&Claim, u64)> = group
            .iter()
            .zip(&indices)
            .filter_map(|(f, index)| index.as_ref().ok().map(|i| (&f.claim, *i)))
            .collect();
        let db = &self.inner.db;
        let owner = &self.inner.owner;
        let completed = match store::complete_many(db, owner, &done).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, steps = done.len(), "group completion failed; completing one by one");
                Err(())
            }
        };
        let mut results = Vec::with_capacity(group.len());
        for (finished, index) in group.iter().zip(indices) {
            let result = match (index, completed) {
                (Ok(index), Ok(())) => Ok(index),
                (Ok(index), Err(())) => store::complete(db, owner, &finished.claim, index)
                    .await
                    .map(|_| index)
                    .map_err(EngineError::from),
                (Err(e), _) => Err(e),
            };
            results.push(result);
        }
        results
    }
}
