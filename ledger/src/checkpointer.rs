//! The background task that checkpoints every organisation's log at most once per
//! interval, and only when it grew.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::Ledger;

/// A running checkpointer. Dropping it stops the task; [`Checkpointer::shutdown`] waits
/// for a round in progress to finish.
#[derive(Debug)]
pub struct Checkpointer {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing every `ledger.config().checkpoint_interval`.
    pub fn spawn(ledger: Ledger) -> Self {
        let interval = ledger.config().checkpoint_interval;
        Self::spawn_every(ledger, interval)
    }

    /// Starts checkpointing every `interval` (at least 1 ms).
    pub fn spawn_every(ledger: Ledger, interval: Duration) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => round(&ledger).await,
                    _ = stopped.changed() => break,
                }
            }
        });
        Self {
            stop,
            task: Some(task),
        }
    }

    /// Stops the task after its current round.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// One round: a checkpoint for each organisation whose log grew.
async fn round(ledger: &Ledger) {
    let orgs = match ledger.orgs().await {
        Ok(orgs) => orgs,
        Err(error) => {
            tracing::warn!(%error, "checkpointer cannot list organisations");
            return;
        }
    };
    for org in orgs {
        if let Err(error) = ledger.checkpoint(&org).await {
            tracing::warn!(org, %error, "checkpoint failed; retrying next round");
        }
    }
}
