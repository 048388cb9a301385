//! Why a lock command was refused: one variant per failure, named by its step.

use crate::checkpoint::CheckpointError;
use crate::jcs::JcsError;
use crate::time::UtcTime;

/// Why a command was refused; the variant names the step of §11.3 that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Step 1: the signed command is over [`MAX_SIGNED_COMMAND`](super::MAX_SIGNED_COMMAND).
    #[error("signed command is {len} bytes, over the limit of {limit}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Step 1: not canonical JSON (or a command that cannot be encoded).
    #[error("signed command is not canonical JSON: {0}")]
    Encoding(#[source] JcsError),
    /// Step 1: the envelope is not `{"command":{…},"signature":"<base64 of 64 bytes>"}`.
    #[error("signed command envelope: {reason}")]
    Envelope {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Step 2: a member of the command is missing, unknown or malformed.
    #[error("command member `{member}`: {reason}")]
    Member {
        /// The member's name.
        member: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Step 2: `expires_at` is before `issued_at`.
    #[error("command expires at {expires_at}, before it was issued at {issued_at}")]
    Window {
        /// When it says it was issued.
        issued_at: UtcTime,
        /// When it says it expires.
        expires_at: UtcTime,
    },
    /// Step 3: the signature does not verify under the trusted command key.
    #[error("signature does not verify under command key {key}")]
    BadSignature {
        /// The trusted key's name.
        key: String,
    },
    /// Step 4: an action this version does not implement.
    #[error("unsupported action `{action}` (only `lock`)")]
    UnsupportedAction {
        /// The action named.
        action: String,
    },
    /// Step 5: the command is addressed to another device.
    #[error("command is for device {actual}, not this device ({expected})")]
    WrongDevice {
        /// This device.
        expected: String,
        /// The device the command names.
        actual: String,
    },
    /// Step 6: issued further in the future than the allowed clock skew.
    #[error("command issued at {issued_at}, after now ({now}) plus {skew_seconds} s of skew")]
    NotYetValid {
        /// When it says it was issued.
        issued_at: UtcTime,
        /// The caller's clock.
        now: UtcTime,
        /// The allowed skew.
        skew_seconds: u32,
    },
    /// Step 6: `now` is after `expires_at`.
    #[error("command expired at {expires_at} (now {now})")]
    Expired {
        /// When it expired.
        expires_at: UtcTime,
        /// The caller's clock.
        now: UtcTime,
    },
    /// Step 7: the caller has seen this command id or nonce before.
    #[error("command {command_id} replayed: its {seen} was seen before")]
    Replayed {
        /// The command's id.
        command_id: String,
        /// Which identifier was seen: `command_id` or `nonce`.
        seen: &'static str,
    },
    /// A command verifier key (or a signer's name) is invalid.
    #[error("command key: {0}")]
    Key(#[source] CheckpointError),
}
