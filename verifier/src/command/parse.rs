//! Steps 1 and 2 of §11.3: bytes to an envelope, the envelope to a [`LockCommand`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::key::{ENVELOPE_PREFIX, ENVELOPE_SUFFIX, SIGNATURE_INFIX};
use super::{CommandError, LockCommand, MAX_SIGNED_COMMAND, MEMBERS};
use crate::jcs;
use crate::node::MAX_ID_BYTES;
use crate::time::UtcTime;

/// Step 1: the envelope is canonical and has exactly its two members. Returns the
/// command's bytes exactly as received, its value, and the signature.
pub(super) fn parse_envelope(bytes: &[u8]) -> Result<(&[u8], Value, [u8; 64]), CommandError> {
    let envelope_err = |reason| CommandError::Envelope { reason };
    if bytes.len() > MAX_SIGNED_COMMAND {
        return Err(CommandError::TooLarge {
            len: bytes.len(),
            limit: MAX_SIGNED_COMMAND,
        });
    }
    let value = jcs::check_canonical(bytes).map_err(CommandError::Encoding)?;
    let Value::Object(mut members) = value else {
        return Err(envelope_err("not a JSON object"));
    };
    if members.len() != 2 {
        return Err(envelope_err("must have exactly `command` and `signature`"));
    }
    let command = members
        .remove("command")
        .filter(Value::is_object)
        .ok_or(envelope_err("`command` must be an object"))?;
    let Some(Value::String(signature_b64)) = members.remove("signature") else {
        return Err(envelope_err("`signature` must be a string"));
    };
    let signature = decode_signature(&signature_b64).ok_or(envelope_err(
        "`signature` must be canonical base64 of 64 bytes",
    ))?;
    // The envelope is canonical with exactly these members, so the command's canonical
    // bytes sit verbatim between the fixed prefix and the signature member.
    let suffix_len = SIGNATURE_INFIX.len() + signature_b64.len() + ENVELOPE_SUFFIX.len();
    let command_bytes = bytes
        .get(ENVELOPE_PREFIX.len()..bytes.len().saturating_sub(suffix_len))
        .ok_or(envelope_err("truncated"))?;
    Ok((command_bytes, command, signature))
}

fn decode_signature(text: &str) -> Option<[u8; 64]> {
    let bytes = STANDARD.decode(text).ok()?;
    if STANDARD.encode(&bytes) != text {
        return None;
    }
    bytes.try_into().ok()
}

/// Step 2: exactly the nine members, each well formed.
pub(super) fn parse_command(value: &Value) -> Result<LockCommand, CommandError> {
    let members = value
        .as_object()
        .ok_or_else(|| member_err("command", "not an object"))?;
    if let Some(name) = members.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(member_err(name, "unknown member"));
    }
    let command = LockCommand {
        command_id: identifier(members, "command_id")?,
        org: identifier(members, "org")?,
        device_id: identifier(members, "device_id")?,
        subject: identifier(members, "subject")?,
        action: identifier(members, "action")?,
        issued_at: time(members, "issued_at")?,
        expires_at: time(members, "expires_at")?,
        nonce: nonce(members)?,
        case_id: identifier(members, "case_id")?,
    };
    crate::node::check_org(&command.org)
        .map_err(|_| member_err("org", "not an organisation id"))?;
    if command.expires_at < command.issued_at {
        return Err(CommandError::Window {
            issued_at: command.issued_at,
            expires_at: command.expires_at,
        });
    }
    Ok(command)
}

fn member_err(member: &str, reason: &'static str) -> CommandError {
    CommandError::Member {
        member: member.to_owned(),
        reason,
    }
}

fn string<'a>(members: &'a Map<String, Value>, name: &str) -> Result<&'a str, CommandError> {
    match members.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(member_err(name, "must be a string")),
        None => Err(member_err(name, "missing")),
    }
}

fn identifier(members: &Map<String, Value>, name: &str) -> Result<String, CommandError> {
    let s = string(members, name)?;
    if s.is_empty() || s.len() > MAX_ID_BYTES || s.chars().any(char::is_control) {
        return Err(member_err(
            name,
            "must be 1–256 bytes without control characters",
        ));
    }
    Ok(s.to_owned())
}

fn time(members: &Map<String, Value>, name: &str) -> Result<UtcTime, CommandError> {
    UtcTime::parse_rfc3339(string(members, name)?)
        .map_err(|_| member_err(name, "not a UTC time (RFC 3339, `Z`)"))
}

fn nonce(members: &Map<String, Value>) -> Result<[u8; 16], CommandError> {
    let text = string(members, "nonce")?;
    let bad = || member_err("nonce", "must be 32 lower-case hex digits");
    if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad());
    }
    let bytes = hex::decode(text).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}
