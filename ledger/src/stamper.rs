//! The background task that takes RFC 3161 tokens over checkpoints.
//!
//! One worker per configured TSA reads the checkpoints still waiting for a token from
//! its TSA ([`Ledger::unstamped_checkpoints_by`], oldest first), asks its TSA for a token over
//! SHA-256(note text), keeps it only if `custody-verifier` accepts it against that TSA's
//! roots ([`request_token`]), and stores it ([`Ledger::record_timestamp`]). It wakes on
//! the ledger's checkpoint signal, and polls as well for checkpoints of other processes.
//!
//! Nothing here blocks an append: the stamper only reads pending work and inserts tokens.
//! Each worker has its own exponential backoff with jitter (250 ms doubling to 60 s by
//! default), its own per-request timeout and bounded concurrency, so a TSA that is down,
//! slow or wrong never holds up another; when it comes back its worker catches up.
//!
//! With several TSAs, each one covers every log by itself: a checkpoint stays pending
//! for a TSA until a token from that TSA covers it, whatever the others did, so no
//! node's proven time rests on a single TSA. A TSA back from an outage asks for one
//! token per log (over its newest checkpoint), not one per checkpoint it missed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use custody_verifier::time::UtcTime;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::Ledger;
use crate::stamps::PendingStamp;
use crate::tsa::{TimestampAuthority, TsaError, TsaTrust, request_token};

/// How the stamper paces itself.
#[derive(Clone, Debug)]
pub struct StamperConfig {
    /// Pending checkpoints read per round (default 32).
    pub batch: usize,
    /// Requests in flight at once per TSA (default 4).
    pub concurrency: usize,
    /// Limit for one request, on top of the authority's own timeouts (default 15 s).
    pub request_timeout: Duration,
    /// The first retry delay after a failed round (default 250 ms).
    pub initial_backoff: Duration,
    /// The longest retry delay (default 60 s).
    pub max_backoff: Duration,
    /// How often to look for pending work without a signal (checkpoints of other
    /// processes; default 2 s).
    pub poll_interval: Duration,
}

impl Default for StamperConfig {
    fn default() -> Self {
        Self {
            batch: 32,
            concurrency: 4,
            request_timeout: Duration::from_secs(15),
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(60),
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// One configured TSA: who to ask, what to trust, what to archive beside its tokens.
#[derive(Clone)]
pub struct StampingTsa {
    /// The peer.
    pub authority: Arc<dyn TimestampAuthority>,
    /// The roots (and pinned policy, out-of-band certificates) its tokens must satisfy.
    pub trust: TsaTrust,
    /// Certificates stored beside every token (PEM), e.g. intermediates the TSA does not
    /// embed; `None` when its tokens carry their chain.
    pub certs_pem: Option<Vec<u8>>,
}

/// A TSA's counters since the stamper started, for status pages and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsaCounters {
    /// The TSA's name.
    pub name: String,
    /// Tokens verified and stored.
    pub stamped: u64,
    /// Answers refused (rejected status, malformed, failed verification): never stored.
    pub refused: u64,
    /// Requests that got no usable answer (timeout, connection, HTTP status) or whose
    /// token could not be stored.
    pub failures: u64,
    /// The most recent refusal or failure, if any.
    pub last_error: Option<String>,
    /// The genTime of the most recent stored token.
    pub last_gen_time: Option<UtcTime>,
}

/// Shared, cloneable view of the counters of every TSA.
#[derive(Clone, Debug, Default)]
pub struct StamperStatus {
    tsas: Arc<Vec<Mutex<TsaCounters>>>,
}

impl StamperStatus {
    /// A snapshot, in configuration order.
    pub fn snapshot(&self) -> Vec<TsaCounters> {
        self.tsas
            .iter()
            .map(|c| c.lock().map(|c| c.clone()).unwrap_or_default())
            .collect()
    }

    fn update(&self, index: usize, change: impl FnOnce(&mut TsaCounters)) {
        if let Some(Ok(mut counters)) = self.tsas.get(index).map(Mutex::lock) {
            change(&mut counters);
        }
    }
}

/// A running stamper. Dropping it stops the workers; [`Stamper::shutdown`] waits for them.
#[derive(Debug)]
pub struct Stamper {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    status: StamperStatus,
}

impl Stamper {
    /// Starts one worker per TSA on the current tokio runtime.
    pub fn spawn(ledger: Ledger, tsas: Vec<StampingTsa>, config: StamperConfig) -> Self {
        let (stop, stopped) = watch::channel(false);
        let status = StamperStatus {
            tsas: Arc::new(
                tsas.iter()
                    .map(|t| {
                        Mutex::new(TsaCounters {
                            name: t.authority.name().to_owned(),
                            ..TsaCounters::default()
                        })
                    })
                    .collect(),
            ),
        };
        let tasks = tsas
            .into_iter()
            .enumerate()
            .map(|(index, tsa)| {
                let worker = Worker {
                    ledger: ledger.clone(),
                    tsa: Arc::new(tsa),
                    config: config.clone(),
                    status: status.clone(),
                    index,
                };
                tokio::spawn(worker.run(stopped.clone()))
            })
            .collect();
        Self {
            stop,
            tasks,
            status,
        }
    }

    /// The counters, shareable with a status endpoint.
    pub fn status(&self) -> StamperStatus {
        self.status.clone()
    }

    /// Stops the workers (a request in flight is abandoned; its checkpoint stays pending).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Stamper {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What a round found.
enum Round {
    /// Nothing pending: wait for a signal or the poll interval.
    Idle,
    /// Every request succeeded: look again at once.
    Progress,
    /// Something failed: back off.
    Failed,
}

struct Worker {
    ledger: Ledger,
    tsa: Arc<StampingTsa>,
    config: StamperConfig,
    status: StamperStatus,
    index: usize,
}

impl Worker {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut signal = self.ledger.checkpoint_signal();
        let mut backoff = Backoff::new(self.config.initial_backoff, self.config.max_backoff);
        loop {
            let round = tokio::select! {
                round = self.round() => round,
                _ = stopped.changed() => break,
            };
            let wait = match round {
                Round::Progress => {
                    backoff.reset();
                    continue;
                }
                Round::Idle => {
                    backoff.reset();
                    self.config.poll_interval
                }
                Round::Failed => backoff.next_delay(),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                // A new checkpoint ends an idle wait, never a backoff.
                Ok(()) = signal.changed(), if matches!(round, Round::Idle) => {}
                _ = stopped.changed() => break,
            }
        }
    }

    /// Reads pending checkpoints and stamps them, `concurrency` at a time.
    async fn round(&self) -> Round {
        let name = self.tsa.authority.name();
        let pending = match self
            .ledger
            .unstamped_checkpoints_by(name, self.config.batch)
            .await
        {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(tsa = name, %error, "cannot read pending checkpoints");
                return Round::Failed;
            }
        };
        if pending.is_empty() {
            return Round::Idle;
        }
        for chunk in pending.chunks(self.config.concurrency.max(1)) {
            let mut requests = JoinSet::new();
            for checkpoint in chunk {
                requests.spawn(stamp_one(
                    self.ledger.clone(),
                    self.tsa.clone(),
                    checkpoint.clone(),
                    self.config.request_timeout,
                ));
            }
            let mut failed = false;
            while let Some(outcome) = requests.join_next().await {
                failed |= !self
                    .count(outcome.unwrap_or(Outcome::Failed("stamping task panicked".to_owned())));
            }
            if failed {
                return Round::Failed;
            }
        }
        Round::Progress
    }

    /// Updates the counters; true for a stored token.
    fn count(&self, outcome: Outcome) -> bool {
        let name = self.tsa.authority.name();
        match outcome {
            Outcome::Stored(gen_time) => {
                self.status.update(self.index, |c| {
                    c.stamped += 1;
                    c.last_gen_time = Some(gen_time);
                });
                true
            }
            Outcome::Refused(reason) => {
                tracing::warn!(tsa = name, %reason, "timestamp refused");
                self.status.update(self.index, |c| {
                    c.refused += 1;
                    c.last_error = Some(reason);
                });
                false
            }
            Outcome::Failed(reason) => {
                tracing::warn!(tsa = name, %reason, "timestamp request failed; will retry");
                self.status.update(self.index, |c| {
                    c.failures += 1;
                    c.last_error = Some(reason);
                });
                false
            }
        }
    }
}

enum Outcome {
    Stored(UtcTime),
    Refused(String),
    Failed(String),
}

/// Requests, verifies and stores one token over `checkpoint`.
async fn stamp_one(
    ledger: Ledger,
    tsa: Arc<StampingTsa>,
    checkpoint: PendingStamp,
    timeout: Duration,
) -> Outcome {
    let digest: [u8; 32] = Sha256::digest(&checkpoint.note_text).into();
    let request = request_token(tsa.authority.as_ref(), &tsa.trust, digest);
    let token = match tokio::time::timeout(timeout, request).await {
        Err(_) => return Outcome::Failed(TsaError::Timeout { after: timeout }.to_string()),
        Ok(Err(error)) if error.is_refusal() => return Outcome::Refused(error.to_string()),
        Ok(Err(error)) => return Outcome::Failed(error.to_string()),
        Ok(Ok(token)) => token,
    };
    let stored = ledger
        .record_timestamp(
            &checkpoint.org,
            checkpoint.size,
            tsa.authority.name(),
            &token.token_der,
            token.gen_time,
            tsa.certs_pem.as_deref(),
        )
        .await;
    match stored {
        Ok(()) => {
            tracing::debug!(
                tsa = tsa.authority.name(),
                org = checkpoint.org,
                size = checkpoint.size,
                gen_time = %token.gen_time,
                "checkpoint stamped"
            );
            Outcome::Stored(token.gen_time)
        }
        Err(error) => Outcome::Failed(format!("storing the token: {error}")),
    }
}

/// Exponential backoff with equal jitter: the n-th delay is uniform in
/// [d/2, d) for d = initial · 2ⁿ, capped at `max`.
#[derive(Clone, Debug)]
struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            current: initial,
        }
    }

    fn reset(&mut self) {
        self.current = self.initial;
    }

    fn next_delay(&mut self) -> Duration {
        let base = self.current.min(self.max);
        self.current = base.saturating_mul(2).min(self.max);
        let mut random = [0u8; 8];
        let fraction = match getrandom::getrandom(&mut random) {
            Ok(()) => (u64::from_be_bytes(random) >> 11) as f64 / (1u64 << 53) as f64,
            Err(_) => 0.5,
        };
        base / 2 + base.mul_f64(fraction / 2.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(60));
        let mut bases = Vec::new();
        for _ in 0..12 {
            let base = backoff.current;
            let delay = backoff.next_delay();
            assert!(delay >= base / 2 && delay <= base, "{delay:?} for {base:?}");
            bases.push(base.as_millis());
        }
        assert_eq!(&bases[..5], &[250, 500, 1000, 2000, 4000]);
        assert_eq!(bases[9..], [60_000, 60_000, 60_000]);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(250));
    }
}
