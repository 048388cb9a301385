//! Queueing signed lock commands, delivering them to long-polling devices, and recording
//! their acknowledgements as custody nodes.

use custody_verifier::node::ParentRef;
use std::time::Duration;

use custody_ledger::{Ledger, NewNode};
use custody_verifier::command::{ACTION_LOCK, LockCommand};
use custody_verifier::time::UtcTime;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::enroll::DeviceIdentity;
use super::store::{self, CommandRow};
use super::{COMMAND_LIFETIME_SECONDS, DeviceError, Devices, check_identifier, secret};
use crate::clock;

/// The most commands one poll returns.
const POLL_BATCH: i64 = 100;

/// How often a waiting poll re-reads the table, for commands queued by another process.
const RECHECK: Duration = Duration::from_secs(5);

/// A queued command as the service keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCommandRecord {
    /// The command's id.
    pub command_id: String,
    /// Its organisation.
    pub org: String,
    /// The device it is for.
    pub device_id: String,
    /// The employee locked out.
    pub subject: String,
    /// The case it belongs to.
    pub case_id: String,
    /// The signed envelope, exactly as devices receive it.
    pub signed_command: String,
    /// When it was signed (Unix seconds).
    pub issued_at: i64,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// `pending`, `locked` or `failed`.
    pub status: String,
    /// The device's detail, once acknowledged.
    pub detail: Option<String>,
    /// True when this call queued it (false: it was queued before).
    pub newly_queued: bool,
}

impl SignedCommandRecord {
    fn from_row(row: CommandRow, newly_queued: bool) -> Self {
        Self {
            command_id: row.command_id,
            org: row.org,
            device_id: row.device_id,
            subject: row.subject,
            case_id: row.case_id,
            signed_command: row.signed_command,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            status: row.status,
            detail: row.detail,
            newly_queued,
        }
    }

    /// A body for the engine's `device_lock_sent` node: the device, the command id, the
    /// SHA-256 of the signed envelope and the envelope itself (so the bundle holds what
    /// was signed), and its expiry.
    pub fn sent_body(&self) -> Map<String, Value> {
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            self.signed_command.as_bytes(),
        ));
        let expires_at = UtcTime::from_unix(self.expires_at, 0).unwrap_or(UtcTime::EPOCH);
        let body = json!({
            "device_id": self.device_id,
            "command_id": self.command_id,
            "signed_command_sha256": sha256,
            "signed_command": self.signed_command,
            "expires_at": expires_at.to_string(),
        });
        match body {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// A command delivered to a polling device.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PendingCommand {
    /// The command's id (to acknowledge it by).
    pub command_id: String,
    /// The signed envelope; verify these exact bytes.
    pub signed_command: String,
}

/// What a device reports having done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckStatus {
    /// The device verified the command and locked.
    Locked,
    /// The device refused the command or could not lock.
    Failed,
}

impl AckStatus {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AckStatus::Locked => "locked",
            AckStatus::Failed => "failed",
        }
    }
}

/// A device's acknowledgement of one command.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Ack {
    /// What it did.
    pub status: AckStatus,
    /// Why, in the device's words (at most 1,024 bytes).
    #[serde(default)]
    pub detail: String,
}

/// A recorded acknowledgement and the custody node that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    /// The status recorded (the first acknowledgement's).
    pub status: String,
    /// The `device_lock_acknowledged` node's log index.
    pub ledger_index: u64,
    /// Its leaf hash, hex.
    pub leaf_hash: String,
}

impl Devices {
    /// Signs and queues a lock command for each of `subject`'s enrolled devices in `org`,
    /// valid for [`COMMAND_LIFETIME_SECONDS`], and wakes their long-polls. Idempotent per
    /// (case, device): a device that already has this case's command gets it back
    /// unchanged (`newly_queued` false). No enrolled device: an empty list.
    pub async fn queue_lock(
        &self,
        org: &str,
        subject: &str,
        case_id: &str,
    ) -> Result<Vec<SignedCommandRecord>, DeviceError> {
        check_identifier("case_id", case_id)?;
        let mut records = Vec::new();
        for device_id in self.active_device_ids(org, subject).await? {
            if let Some(row) = store::command_for(&self.db, case_id, &device_id).await? {
                records.push(SignedCommandRecord::from_row(row, false));
                continue;
            }
            let row = self.sign_for(org, subject, case_id, &device_id)?;
            let inserted = store::insert_command(&self.db, &row).await?;
            // A concurrent caller may have won the insert: read whichever row stands.
            let row = store::command_for(&self.db, case_id, &device_id)
                .await?
                .unwrap_or(row);
            if inserted {
                let _ = self.queued.send(device_id.clone());
            }
            records.push(SignedCommandRecord::from_row(row, inserted));
        }
        Ok(records)
    }

    fn sign_for(
        &self,
        org: &str,
        subject: &str,
        case_id: &str,
        device_id: &str,
    ) -> Result<CommandRow, DeviceError> {
        let now = clock::now_unix();
        let at = |secs| UtcTime::from_unix(secs, 0).unwrap_or(UtcTime::EPOCH);
        let command = LockCommand {
            command_id: secret::random_id("cmd_")?,
            org: org.to_owned(),
            device_id: device_id.to_owned(),
            subject: subject.to_owned(),
            action: ACTION_LOCK.to_owned(),
            issued_at: at(now),
            expires_at: at(now.saturating_add(COMMAND_LIFETIME_SECONDS)),
            nonce: secret::random::<16>()?,
            case_id: case_id.to_owned(),
        };
        let signed = self.signer.sign(&command)?;
        Ok(CommandRow {
            command_id: command.command_id,
            org: command.org,
            device_id: command.device_id,
            subject: command.subject,
            case_id: command.case_id,
            signed_command: signed.into_string(),
            issued_at: command.issued_at.unix_seconds(),
            expires_at: command.expires_at.unix_seconds(),
            status: "pending".to_owned(),
            detail: None,
        })
    }

    /// Stores an already signed command row as given. For tests and tools that need to
    /// put a specific (even invalid) command in front of a device; the service itself
    /// only queues through [`Self::queue_lock`].
    #[doc(hidden)]
    pub async fn danger_insert_signed(
        &self,
        record: &SignedCommandRecord,
    ) -> Result<bool, DeviceError> {
        let row = CommandRow {
            command_id: record.command_id.clone(),
            org: record.org.clone(),
            device_id: record.device_id.clone(),
            subject: record.subject.clone(),
            case_id: record.case_id.clone(),
            signed_command: record.signed_command.clone(),
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            status: "pending".to_owned(),
            detail: None,
        };
        let inserted = store::insert_command(&self.db, &row).await?;
        if inserted {
            let _ = self.queued.send(row.device_id);
        }
        Ok(inserted)
    }

    /// Every command queued for a case in `org`, with its acknowledgement status.
    pub async fn case_commands(
        &self,
        org: &str,
        case_id: &str,
    ) -> Result<Vec<SignedCommandRecord>, DeviceError> {
        let rows = store::case_commands(&self.db, org, case_id).await?;
        Ok(rows
            .into_iter()
            .map(|row| SignedCommandRecord::from_row(row, false))
            .collect())
    }

    /// The device's unacknowledged commands; when there are none, waits up to `wait`
    /// (capped at [`super::MAX_WAIT_SECONDS`]) and answers as soon as one is queued.
    pub async fn wait_for_commands(
        &self,
        device: &DeviceIdentity,
        wait: Duration,
    ) -> Result<Vec<PendingCommand>, DeviceError> {
        let deadline = Instant::now() + wait.min(Duration::from_secs(super::MAX_WAIT_SECONDS));
        // Subscribe before reading, so a command queued in between still wakes us.
        let mut queued = self.queued.subscribe();
        loop {
            let pending = store::pending_commands(&self.db, &device.device_id, POLL_BATCH).await?;
            let now = Instant::now();
            if !pending.is_empty() || now >= deadline {
                return Ok(pending
                    .into_iter()
                    .map(|(command_id, signed_command)| PendingCommand {
                        command_id,
                        signed_command,
                    })
                    .collect());
            }
            let nap = (deadline - now).min(RECHECK);
            let _ = tokio::time::timeout(nap, async {
                loop {
                    match queued.recv().await {
                        Ok(id) if id == device.device_id => return,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => return,
                        Err(RecvError::Closed) => std::future::pending::<()>().await,
                    }
                }
            })
            .await;
        }
    }

    /// Records a device's acknowledgement of its command and appends the
    /// `device_lock_acknowledged` node (idempotency key `ack/<command id>`). The first
    /// acknowledgement wins: repeating it is harmless, contradicting it is refused.
    pub async fn acknowledge(
        &self,
        ledger: &Ledger,
        device: &DeviceIdentity,
        command_id: &str,
        ack: &Ack,
    ) -> Result<Acknowledged, DeviceError> {
        if ack.detail.len() > 1024 {
            return Err(DeviceError::Invalid {
                field: "detail",
                reason: "at most 1024 bytes",
            });
        }
        let ids = (device.device_id.as_str(), command_id);
        let now = clock::now_unix();
        store::acknowledge(&self.db, ids, ack.status.as_str(), &ack.detail, now).await?;
        let row = store::device_command(&self.db, &device.device_id, command_id)
            .await?
            .ok_or_else(|| DeviceError::CommandNotFound {
                command_id: command_id.to_owned(),
            })?;
        if row.status != ack.status.as_str() {
            return Err(DeviceError::AlreadyAcknowledged {
                command_id: command_id.to_owned(),
                status: row.status,
            });
        }
        // The acknowledgement belongs to the case's sub-DAG: its parent is the case's
        // trigger (which exists before any command is queued; the engine's
        // `device_lock_sent` node may still be on its way when a fast device answers).
        let trigger = crate::engine::store::case(&self.db, &row.org, &row.case_id)
            .await?
            .map(|case| ParentRef {
                index: case.trigger_index,
                hash: case.trigger_hash,
            });
        let appended = ledger.append(&row.org, ack_node(&row, trigger)).await?;
        Ok(Acknowledged {
            status: row.status,
            ledger_index: appended.index,
            leaf_hash: hex::encode(appended.leaf_hash),
        })
    }
}

/// The `device_lock_acknowledged` node of an acknowledged row, child of the case's
/// trigger when the case is known.
fn ack_node(row: &CommandRow, trigger: Option<ParentRef>) -> NewNode {
    let body = json!({
        "device_id": row.device_id,
        "command_id": row.command_id,
        "status": row.status,
        "detail": row.detail.clone().unwrap_or_default(),
    });
    NewNode {
        kind: "device_lock_acknowledged".to_owned(),
        case_id: Some(row.case_id.clone()),
        subject: Some(row.subject.clone()),
        parents: trigger.into_iter().collect(),
        recorded_at: clock::now(),
        body: match body {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        idempotency_key: Some(format!("ack/{}", row.command_id)),
    }
}
