//! `custody-verify timestamp`: checks one RFC 3161 token or TimeStampResp, like
//! `openssl ts -verify`, but with the chain checked at genTime unless `--at` says otherwise.
//!
//! Prints a human report (or JSON with `--json`): what the token asserts, who signed it,
//! the chain, and each numbered step; on failure, the failing step and its evidence.
//! Exit codes: 0 verified, 1 a check failed, 2 unusable input (unreadable file, bad hex or
//! time, certificates that do not parse, bytes that are not a token).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use custody_verifier::time::UtcTime;
use custody_verifier::timestamp::{
    self, Imprint, STEPS, TimestampError, TimestampOptions, TrustAnchors, ValidationTime,
    VerifiedTimestamp,
};
use custody_verifier::x509;
use serde_json::{Value, json};

use super::Outcome;

/// Arguments of `custody-verify timestamp`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("imprint").required(true).args(["data", "digest"])))]
#[command(group(clap::ArgGroup::new("when").args(["at_gen_time", "at"])))]
pub struct TimestampArgs {
    /// The timestamp token (CMS ContentInfo) or TimeStampResp, DER.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// The stamped data; hashed with the token's hash algorithm.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The stamped digest, hex; compared with the token's imprint.
    #[arg(long, value_name = "HEX")]
    pub digest: Option<String>,
    /// Trust anchors: one or more PEM certificates.
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,
    /// Out-of-band certificates (PEM) to find the signer and intermediates in; not trusted.
    #[arg(long, value_name = "FILE")]
    pub untrusted: Option<PathBuf>,
    /// Check the chain's validity at genTime ± accuracy (the default).
    #[arg(long)]
    pub at_gen_time: bool,
    /// Check the chain's validity at this instant instead (RFC 3339, UTC, e.g. 2026-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Everything read from the command line and the files, ready to verify.
struct Inputs {
    token: Vec<u8>,
    data: Option<Vec<u8>>,
    digest: Option<Vec<u8>>,
    anchors: TrustAnchors,
    untrusted: Vec<x509::Certificate>,
    options: TimestampOptions,
}

/// Runs the subcommand; see the module documentation for the exit codes.
pub fn run(args: &TimestampArgs) -> Outcome {
    let inputs = match read_inputs(args) {
        Ok(inputs) => inputs,
        Err(reason) => return unusable(args, &reason),
    };
    let imprint = match (&inputs.data, &inputs.digest) {
        (Some(data), _) => Imprint::Data(data),
        (None, Some(digest)) => Imprint::Digest(digest),
        (None, None) => return unusable(args, "give --data FILE or --digest HEX"),
    };
    match timestamp::verify_timestamp(
        &inputs.token,
        imprint,
        &inputs.anchors,
        &inputs.untrusted,
        &inputs.options,
    ) {
        Ok(verified) => {
            print_report(args, &verified_json(&verified, &inputs.options), || {
                verified_text(&verified)
            });
            Outcome::Verified
        }
        Err(error) => {
            print_report(args, &failure_json(&error), || failure_text(&error));
            if error.is_malformed() {
                Outcome::Unusable
            } else {
                Outcome::Failed
            }
        }
    }
}

fn read_inputs(args: &TimestampArgs) -> Result<Inputs, String> {
    let token = read_file(&args.input)?;
    let data = args.data.as_deref().map(read_file).transpose()?;
    let digest = args
        .digest
        .as_deref()
        .map(|text| hex::decode(text.trim()).map_err(|e| format!("--digest is not hex: {e}")))
        .transpose()?;
    let anchors = TrustAnchors::from_pem(&read_file(&args.ca)?)
        .map_err(|e| format!("{}: {e}", args.ca.display()))?;
    let untrusted = match &args.untrusted {
        Some(path) => x509::parse_pem_certificates(&read_file(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => Vec::new(),
    };
    let validation_time = match &args.at {
        Some(text) => {
            ValidationTime::At(UtcTime::parse_rfc3339(text).map_err(|e| format!("--at: {e}"))?)
        }
        None => ValidationTime::GenTime,
    };
    let options = TimestampOptions {
        validation_time,
        ..TimestampOptions::default()
    };
    Ok(Inputs {
        token,
        data,
        digest,
        anchors,
        untrusted,
        options,
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn unusable(args: &TimestampArgs, reason: &str) -> Outcome {
    if args.json {
        println!(
            "{}",
            json!({ "verified": false, "unusable": true, "error": reason })
        );
    } else {
        eprintln!("custody-verify timestamp: {reason}");
    }
    Outcome::Unusable
}

fn print_report(args: &TimestampArgs, json_report: &Value, text: impl FnOnce() -> String) {
    if args.json {
        println!("{json_report:#}");
    } else {
        print!("{}", text());
    }
}

fn steps_json(passed_before: usize) -> Vec<Value> {
    STEPS
        .iter()
        .enumerate()
        .map(|(i, name)| json!({ "step": i + 1, "name": name, "passed": i < passed_before }))
        .collect()
}

fn verified_json(v: &VerifiedTimestamp, options: &TimestampOptions) -> Value {
    let (from, to) = v.validated_at();
    let mode = match options.validation_time {
        ValidationTime::GenTime => "gen_time",
        ValidationTime::At(_) => "at",
    };
    json!({
        "verified": true,
        "gen_time": v.gen_time().to_string(),
        "policy": v.policy(),
        "serial": v.serial_hex(),
        "hash_algorithm": v.hash_algorithm(),
        "imprint": hex::encode(v.imprint()),
        "sha1_imprint": v.sha1_imprint(),
        "nonce": v.nonce().map(hex::encode),
        "accuracy": v.accuracy().map(|a| json!({ "seconds": a.seconds, "millis": a.millis, "micros": a.micros })),
        "ordering": v.ordering(),
        "signer": { "subject": v.signer_subject(), "serial": v.signer_serial_hex(), "key": v.signer_key() },
        "signer_digest_algorithm": v.signer_digest_algorithm(),
        "signature_algorithm": v.signature_algorithm(),
        "chain": v.chain(),
        "validation": { "mode": mode, "from": from.to_string(), "to": to.to_string() },
        "steps": steps_json(STEPS.len()),
    })
}

fn failure_json(error: &TimestampError) -> Value {
    let step = usize::from(error.step());
    json!({
        "verified": false,
        "unusable": error.is_malformed(),
        "step": step,
        "step_name": step.checked_sub(1).and_then(|i| STEPS.get(i)),
        "kind": error_kind(error),
        "error": error.to_string(),
        "steps": steps_json(step.saturating_sub(1)),
    })
}

/// The variant's name, e.g. `ImprintMismatch`.
fn error_kind(error: &TimestampError) -> String {
    let debug = format!("{error:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn verified_text(v: &VerifiedTimestamp) -> String {
    let mut out = String::from("RFC 3161 timestamp: VERIFIED\n");
    let (from, to) = v.validated_at();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "  {label:<14}{value}");
    };
    line("genTime", &v.gen_time().to_string());
    line("policy", v.policy());
    line("serial", &format!("0x{}", v.serial_hex()));
    let sha1_note = if v.sha1_imprint() {
        " (SHA-1, accepted by policy)"
    } else {
        ""
    };
    line(
        "imprint",
        &format!(
            "{} {}{sha1_note}",
            v.hash_algorithm(),
            hex::encode(v.imprint())
        ),
    );
    line(
        "nonce",
        &v.nonce()
            .map_or_else(|| "none".to_owned(), |n| format!("0x{}", hex::encode(n))),
    );
    line(
        "accuracy",
        &v.accuracy()
            .map_or_else(|| "not stated".to_owned(), |a| a.to_string()),
    );
    line("TSA signer", v.signer_subject());
    line(
        "signature",
        &format!(
            "{} with {} key, digest {}",
            v.signature_algorithm(),
            v.signer_key(),
            v.signer_digest_algorithm()
        ),
    );
    line("chain", &v.chain().join("\n                -> "));
    let window = if from == to {
        from.to_string()
    } else {
        format!("{from} .. {to}")
    };
    line("valid at", &window);
    out.push_str("  steps\n");
    for (i, name) in STEPS.iter().enumerate() {
        let _ = writeln!(out, "    {:>2} ok    {name}", i + 1);
    }
    out
}

fn failure_text(error: &TimestampError) -> String {
    let step = usize::from(error.step());
    let verdict = if error.is_malformed() {
        "UNUSABLE INPUT"
    } else {
        "FAILED"
    };
    let mut out = format!("RFC 3161 timestamp: {verdict}\n");
    for (i, name) in STEPS.iter().enumerate() {
        let status = match (i + 1).cmp(&step) {
            std::cmp::Ordering::Less => "ok",
            std::cmp::Ordering::Equal => "FAIL",
            std::cmp::Ordering::Greater => "-",
        };
        let _ = writeln!(out, "    {:>2} {status:<5} {name}", i + 1);
    }
    let _ = writeln!(out, "  error: {error}");
    out
}
