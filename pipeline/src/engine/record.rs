//! The recorder: group commit of the engine's nodes.
//!
//! Whoever has a node for the ledger — the API starting a case, a worker finishing a
//! step, a provider step journaling an action — hands it to the recorder. The recorder
//! takes everything that is waiting, appends each organisation's nodes to the ledger in
//! one transaction and marks the steps they finish done in one more, then answers. While
//! one group commits, the next one gathers, so a burst costs a few commits rather than
//! two per node; a lone node is recorded at once. A group's steps are marked done while
//! the next group is appended.
//!
//! Nothing is acknowledged before it is committed: a caller learns its node's index only
//! after both transactions. A crash between them leaves a node whose step is still
//! pending; the next claim finds the node and marks the step done without repeating it.

use std::collections::BTreeMap;

use custody_ledger::{Appended, NewNode};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::store::{self, Claim};
use super::{Engine, EngineError};

/// The most nodes one group commit records.
const MAX_GROUP: usize = 512;

/// A node waiting to be recorded.
pub(super) struct Entry {
    /// The organisation whose log the node joins.
    org: String,
    /// The node.
    node: NewNode,
    /// The step it finishes, if it does: marked done once the node is committed.
    finishes: Option<Claim>,
    /// Where the outcome goes, once everything is committed.
    reply: oneshot::Sender<Result<Appended, EngineError>>,
}

/// The outcome of a node handed to the recorder, once committed.
pub(super) type Pending = oneshot::Receiver<Result<Appended, EngineError>>;

/// The receiving end of the recorder's channel, until the recorder starts.
pub(super) type Inbox = mpsc::UnboundedReceiver<Entry>;

impl Engine {
    /// Appends a node to `org`'s log through the recorder and waits until it is committed.
    pub(super) async fn record(&self, org: &str, node: NewNode) -> Result<Appended, EngineError> {
        settle(self.enqueue(org, node, None)).await
    }

    /// Records the node that finishes a claimed step and waits until it is committed
    /// and the step is marked done.
    pub(super) async fn record_step(
        &self,
        claim: &Claim,
        node: NewNode,
    ) -> Result<Appended, EngineError> {
        settle(self.enqueue(&claim.org, node, Some(claim.clone()))).await
    }

    /// Hands a node for `org`'s log to the recorder without waiting; the receiver gets
    /// the outcome once it is committed. Nodes handed over in order are appended in order.
    pub(super) fn record_later(&self, org: &str, node: NewNode) -> Pending {
        self.enqueue(org, node, None)
    }

    fn enqueue(&self, org: &str, node: NewNode, finishes: Option<Claim>) -> Pending {
        self.start_recorder();
        let (reply, answer) = oneshot::channel();
        let entry = Entry {
            org: org.to_owned(),
            node,
            finishes,
            reply,
        };
        // If the recorder is gone, the entry (and its reply) is dropped here, and the
        // receiver reports the engine stopped.
        let _ = self.inner.recorder.send(entry);
        answer
    }

    /// Starts the recorder on first use; it runs until [`super::EngineTask`] stops it or
    /// the process ends.
    pub(super) fn start_recorder(&self) {
        let Ok(mut inbox) = self.inner.inbox.lock() else {
            return;
        };
        if let Some(inbox) = inbox.take() {
            let task = tokio::spawn(self.clone().record_loop(inbox));
            if let Ok(mut slot) = self.inner.recorder_task.lock() {
                *slot = Some(task);
            }
        }
    }

    /// The recorder's loop. Each turn appends one group's nodes; marking its steps done
    /// runs while the next group is appended, one group at a time, so the ledger and the
    /// service database work side by side.
    async fn record_loop(self, mut inbox: Inbox) {
        let mut completing: Option<JoinHandle<()>> = None;
        while let Some(first) = inbox.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match inbox.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            let appended = self.append_group(group).await;
            if let Some(previous) = completing.take() {
                let _ = previous.await;
            }
            let engine = self.clone();
            completing = Some(tokio::spawn(async move {
                engine.complete_group(appended).await;
            }));
        }
    }

    /// Appends a group's nodes, one ledger transaction per organisation (or, if that
    /// fails, one per node, so one bad node cannot hold back the others). Entries that
    /// finish no step are answered at once; the others wait for [`Self::complete_group`].
    async fn append_group(&self, group: Vec<Entry>) -> Vec<(Entry, Appended)> {
        let mut by_org: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for entry in group {
            by_org.entry(entry.org.clone()).or_default().push(entry);
        }
        let mut finishing = Vec::new();
        for (org, group) in by_org {
            let results = self.append_org(&org, &group).await;
            for (entry, result) in group.into_iter().zip(results) {
                match result {
                    Ok(appended) if entry.finishes.is_some() => finishing.push((entry, appended)),
                    // A caller that stopped waiting (a worker whose lease was lost) needs
                    // no answer.
                    other => {
                        let _ = entry.reply.send(other);
                    }
                }
            }
        }
        finishing
    }

    async fn append_org(&self, org: &str, group: &[Entry]) -> Vec<Result<Appended, EngineError>> {
        let nodes: Vec<NewNode> = group.iter().map(|e| e.node.clone()).collect();
        match self.inner.ledger.append_batch(org, nodes).await {
            Ok(appended) if appended.len() == group.len() => appended.into_iter().map(Ok).collect(),
            _ => {
                let mut each = Vec::with_capacity(group.len());
                for entry in group {
                    let one = self.inner.ledger.append(org, entry.node.clone()).await;
                    each.push(one.map_err(EngineError::from));
                }
                each
            }
        }
    }

    /// Marks the steps whose nodes were appended done, in one service transaction (or,
    /// if that fails, one per step), then answers their workers.
    async fn complete_group(&self, finishing: Vec<(Entry, Appended)>) {
        let steps: Vec<(&Claim, u64)> = finishing
            .iter()
            .filter_map(|(entry, appended)| Some((entry.finishes.as_ref()?, appended.index)))
            .collect();
        let db = &self.inner.db;
        let owner = &self.inner.owner;
        let together = match store::complete_many(db, owner, &steps).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, steps = steps.len(), "group completion failed; completing one by one");
                false
            }
        };
        for (entry, appended) in finishing {
            let result = match &entry.finishes {
                Some(claim) if !together => store::complete(db, owner, claim, appended.index)
                    .await
                    .map(|_| appended)
                    .map_err(EngineError::from),
                _ => Ok(appended),
            };
            let _ = entry.reply.send(result);
        }
    }
}

/// Waits for a node handed to the recorder.
pub(super) async fn settle(pending: Pending) -> Result<Appended, EngineError> {
    pending.await.unwrap_or(Err(EngineError::Stopped))
}
