//! Device lock commands: what the service signs and every device agent checks offline.
//!
//! A [`LockCommand`] is a JSON object of exactly nine members, encoded by RFC 8785
//! ([`crate::jcs`]). The service signs
//!
//! ```text
//! "custody/lock-command/v1\n" ‖ canonical command bytes
//! ```
//!
//! with its Ed25519 command key and sends the canonical envelope
//! `{"command":{…},"signature":"<base64>"}` ([`SignedCommand`]). An agent passes the
//! envelope's bytes, as received, to [`verify_command`] with the key it trusts, its own
//! clock reading and its memory of commands already seen; only a command that passes
//! every step becomes a [`VerifiedCommand`]. `schemas/evidence-format.md` §11 is the
//! normative text.

mod error;
mod key;
mod parse;

use serde_json::Value;

pub use error::CommandError;
pub use key::{CommandSigner, CommandVerifierKey, SignedCommand};
use parse::{parse_command, parse_envelope};

use crate::jcs;
use crate::time::UtcTime;

/// What the signature covers, before the command's canonical bytes.
pub const SIGNING_CONTEXT: &[u8] = b"custody/lock-command/v1\n";

/// The largest signed command accepted, in bytes.
pub const MAX_SIGNED_COMMAND: usize = 8 * 1024;

/// The only action of version 1.
pub const ACTION_LOCK: &str = "lock";

const MEMBERS: [&str; 9] = [
    "action",
    "case_id",
    "command_id",
    "device_id",
    "expires_at",
    "issued_at",
    "nonce",
    "org",
    "subject",
];

/// One lock command, addressed to one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockCommand {
    /// Unique per command (the service uses a random id).
    pub command_id: String,
    /// The organisation the device and the employee belong to.
    pub org: String,
    /// The device that must act on it; any other device refuses it.
    pub device_id: String,
    /// The employee id the lock is about.
    pub subject: String,
    /// What to do: [`ACTION_LOCK`].
    pub action: String,
    /// When the service signed it.
    pub issued_at: UtcTime,
    /// After this instant the command is refused.
    pub expires_at: UtcTime,
    /// 16 random bytes: a device never acts twice on the same nonce.
    pub nonce: [u8; 16],
    /// The offboarding case the command belongs to.
    pub case_id: String,
}

impl LockCommand {
    /// The command as a JSON object (members as in `evidence-format.md` §11.1).
    pub fn to_value(&self) -> Value {
        serde_json::json!({
            "action": self.action,
            "case_id": self.case_id,
            "command_id": self.command_id,
            "device_id": self.device_id,
            "expires_at": self.expires_at.to_string(),
            "issued_at": self.issued_at.to_string(),
            "nonce": hex::encode(self.nonce),
            "org": self.org,
            "subject": self.subject,
        })
    }

    /// The RFC 8785 encoding of [`Self::to_value`]: the bytes the signature covers,
    /// after [`SIGNING_CONTEXT`].
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, CommandError> {
        jcs::canonicalize(&self.to_value()).map_err(CommandError::Encoding)
    }

    /// The nonce in lower-case hex, as the command spells it.
    pub fn nonce_hex(&self) -> String {
        hex::encode(self.nonce)
    }
}

/// A command that passed every step of [`verify_command`]; only this module builds one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCommand {
    command: LockCommand,
}

impl VerifiedCommand {
    /// The verified command.
    pub fn command(&self) -> &LockCommand {
        &self.command
    }

    /// The verified command, consumed.
    pub fn into_command(self) -> LockCommand {
        self.command
    }
}

/// What a device expects of a command: its own id, its clock, and the skew it allows.
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    /// This device's id; a command for another device is refused.
    pub device_id: &'a str,
    /// The device's clock reading (the verifier never reads a clock).
    pub now: UtcTime,
    /// How far in the future `issued_at` may be (service and device clocks differ).
    pub skew_seconds: u32,
}

/// Verifies a signed command as received, in the order of `evidence-format.md` §11.3:
/// 1 envelope, 2 command members, 3 signature, 4 action, 5 device, 6 validity window,
/// 7 replay. `seen` is asked about the command id and then the nonce (lower-case hex);
/// answering true for either refuses the command. The caller records both once it acts.
pub fn verify_command(
    bytes: &[u8],
    key: &CommandVerifierKey,
    expect: &Expectations<'_>,
    seen: &dyn Fn(&str) -> bool,
) -> Result<VerifiedCommand, CommandError> {
    let (command_bytes, value, signature) = parse_envelope(bytes)?;
    let command = parse_command(&value)?;
    if !key.verifies(command_bytes, &signature) {
        return Err(CommandError::BadSignature {
            key: key.name().to_owned(),
        });
    }
    if command.action != ACTION_LOCK {
        return Err(CommandError::UnsupportedAction {
            action: command.action,
        });
    }
    if command.device_id != expect.device_id {
        return Err(CommandError::WrongDevice {
            expected: expect.device_id.to_owned(),
            actual: command.device_id,
        });
    }
    check_window(&command, expect)?;
    for (name, id) in [
        ("command_id", command.command_id.clone()),
        ("nonce", command.nonce_hex()),
    ] {
        if seen(&id) {
            return Err(CommandError::Replayed {
                command_id: command.command_id,
                seen: name,
            });
        }
    }
    Ok(VerifiedCommand { command })
}

fn check_window(command: &LockCommand, expect: &Expectations<'_>) -> Result<(), CommandError> {
    let latest_issue = expect.now.offset_seconds(i64::from(expect.skew_seconds));
    if command.issued_at > latest_issue {
        return Err(CommandError::NotYetValid {
            issued_at: command.issued_at,
            now: expect.now,
            skew_seconds: expect.skew_seconds,
        });
    }
    if expect.now > command.expires_at {
        return Err(CommandError::Expired {
            expires_at: command.expires_at,
            now: expect.now,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NAME: &str = "api.test/custody/commands";

    fn at(text: &str) -> UtcTime {
        UtcTime::parse_rfc3339(text).unwrap()
    }

    fn signer() -> CommandSigner {
        CommandSigner::from_seed(NAME, [7; 32]).unwrap()
    }

    fn command() -> LockCommand {
        LockCommand {
            command_id: "cmd-1".into(),
            org: "acme".into(),
            device_id: "dev-1".into(),
            subject: "emp-7".into(),
            action: ACTION_LOCK.into(),
            issued_at: at("2026-03-01T10:00:00Z"),
            expires_at: at("2026-03-02T10:00:00Z"),
            nonce: [0xab; 16],
            case_id: "case-9".into(),
        }
    }

    fn expect(now: &str) -> Expectations<'static> {
        Expectations {
            device_id: "dev-1",
            now: at(now),
            skew_seconds: 300,
        }
    }

    fn verify(bytes: &[u8], now: &str, seen: &[&str]) -> Result<LockCommand, CommandError> {
        let key = signer().verifier_key().clone();
        let seen = |id: &str| seen.contains(&id);
        verify_command(bytes, &key, &expect(now), &seen).map(VerifiedCommand::into_command)
    }

    #[test]
    fn a_signed_command_verifies_and_round_trips() {
        let signed = signer().sign(&command()).unwrap();
        let text = signed.as_str();
        assert!(text.starts_with(r#"{"command":{"action":"lock","case_id":"case-9","#));
        assert_eq!(
            verify(text.as_bytes(), "2026-03-01T12:00:00Z", &[]),
            Ok(command())
        );
        // Up to the skew before issue and exactly at expiry are still valid.
        assert!(verify(text.as_bytes(), "2026-03-01T09:55:00Z", &[]).is_ok());
        assert!(verify(text.as_bytes(), "2026-03-02T10:00:00Z", &[]).is_ok());
    }

    /// (name, signed command, now, seen ids, expected refusal).
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a [&'a str],
        fn(&CommandError) -> bool,
    );

    #[test]
    fn refusals_name_their_step() {
        let good = signer().sign(&command()).unwrap().into_string();
        let forged = CommandSigner::from_seed(NAME, [8; 32])
            .unwrap()
            .sign(&command())
            .unwrap();
        let other_device = LockCommand {
            device_id: "dev-2".into(),
            ..command()
        };
        let other_device = signer().sign(&other_device).unwrap();
        let unlock = LockCommand {
            action: "unlock".into(),
            ..command()
        };
        let unlock = signer().sign(&unlock).unwrap();
        let tampered = good.replace("emp-7", "emp-8");
        let spaced = good.replacen(':', ": ", 1);
        let extra = good.replacen("{\"command\"", "{\"a\":1,\"command\"", 1);
        let now = "2026-03-01T12:00:00Z";
        let cases: &[Case] = &[
            ("forged", forged.as_str(), now, &[], |e| {
                matches!(e, CommandError::BadSignature { .. })
            }),
            ("tampered", &tampered, now, &[], |e| {
                matches!(e, CommandError::BadSignature { .. })
            }),
            ("other device", other_device.as_str(), now, &[], |e| {
                matches!(e, CommandError::WrongDevice { .. })
            }),
            ("unlock", unlock.as_str(), now, &[], |e| {
                matches!(e, CommandError::UnsupportedAction { .. })
            }),
            ("expired", &good, "2026-03-02T10:00:01Z", &[], |e| {
                matches!(e, CommandError::Expired { .. })
            }),
            ("future", &good, "2026-03-01T09:54:59Z", &[], |e| {
                matches!(e, CommandError::NotYetValid { .. })
            }),
            ("replayed id", &good, now, &["cmd-1"], |e| {
                matches!(
                    e,
                    CommandError::Replayed {
                        seen: "command_id",
                        ..
                    }
                )
            }),
            (
                "replayed nonce",
                &good,
                now,
                &["abababababababababababababababab"],
                |e| matches!(e, CommandError::Replayed { seen: "nonce", .. }),
            ),
            ("whitespace", &spaced, now, &[], |e| {
                matches!(e, CommandError::Encoding(_))
            }),
            ("extra member", &extra, now, &[], |e| {
                matches!(e, CommandError::Envelope { .. })
            }),
            ("not json", "lock", now, &[], |e| {
                matches!(e, CommandError::Encoding(_))
            }),
        ];
        for (name, bytes, now, seen, expected) in cases {
            let err = verify(bytes.as_bytes(), now, seen).unwrap_err();
            assert!(expected(&err), "{name}: {err}");
        }
        let huge = "x".repeat(MAX_SIGNED_COMMAND + 1);
        assert!(matches!(
            verify(huge.as_bytes(), now, &[]),
            Err(CommandError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_signer_refuses_commands_no_device_would_accept() {
        let backwards = LockCommand {
            expires_at: at("2026-03-01T09:00:00Z"),
            ..command()
        };
        assert!(matches!(
            signer().sign(&backwards),
            Err(CommandError::Window { .. })
        ));
        let bad_org = LockCommand {
            org: "Acme Corp".into(),
            ..command()
        };
        assert!(matches!(
            signer().sign(&bad_org),
            Err(CommandError::Member { .. })
        ));
        let empty = LockCommand {
            subject: String::new(),
            ..command()
        };
        assert!(matches!(
            signer().sign(&empty),
            Err(CommandError::Member { .. })
        ));
    }

    #[test]
    fn keys_print_and_parse_and_never_show_the_seed() {
        let key = signer().verifier_key().clone();
        let text = key.to_string();
        assert!(text.starts_with("api.test/custody/commands+"), "{text}");
        assert_eq!(text.parse::<CommandVerifierKey>().unwrap(), key);
        assert!(format!("{:?}", signer()).contains("<redacted>"));
        assert!(!format!("{:?}", signer()).contains(&hex::encode([7u8; 32])));
        assert!(
            "api.test+00000000+AQ=="
                .parse::<CommandVerifierKey>()
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = verify(&bytes, "2026-03-01T12:00:00Z", &[]);
        }

        #[test]
        fn every_single_byte_change_is_refused(index in 0usize..1000, byte in any::<u8>()) {
            let good = signer().sign(&command()).unwrap().into_string().into_bytes();
            let index = index % good.len();
            prop_assume!(good[index] != byte);
            let mut changed = good.clone();
            changed[index] = byte;
            prop_assert!(verify(&changed, "2026-03-01T12:00:00Z", &[]).is_err());
        }
    }
}
