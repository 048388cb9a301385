//! `custody-verify bundle PATH --log-key … --tsa-roots FILE [--json]`.

use std::path::PathBuf;

use custody_verifier::bundle::{self, BundleFiles, Progress, VerifiedBundle, VerifyOptions};
use custody_verifier::checkpoint::NoteVerifierKey;
use custody_verifier::error::Error;
use custody_verifier::time::UtcTime;
use custody_verifier::timestamp::{TimestampOptions, TrustAnchors, ValidationTime};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::Outcome;

/// The names of the numbered steps, as reports print them.
const STEPS: [&str; 7] = [
    "inventory",
    "node encoding",
    "DAG",
    "checkpoint signatures",
    "log",
    "timestamps",
    "snapshot PDFs",
];

/// Arguments of `custody-verify bundle`.
#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    /// The bundle: a directory, or a tar file of one.
    #[arg(value_name = "PATH")]
    path: PathBuf,
    /// A log key the checkpoints must be signed with, as a C2SP note verifier key
    /// (`<name>+<hash>+<base64 key>`). Repeat for several.
    #[arg(long = "log-key", value_name = "VKEY")]
    log_keys: Vec<String>,
    /// A file with log keys, one verifier key per line.
    #[arg(long, value_name = "FILE")]
    log_key_file: Option<PathBuf>,
    /// The TSA trust anchors (PEM certificates) tokens must chain to.
    #[arg(long, value_name = "FILE")]
    tsa_roots: PathBuf,
    /// Check TSA certificate validity at this instant (RFC 3339) instead of at each
    /// token's genTime.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// How many seconds a node's claimed `recorded_at` may be after its proven time.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    max_clock_skew: u64,
    /// Fail when a snapshot node's PDF is not in the bundle.
    #[arg(long)]
    require_pdfs: bool,
    /// Refuse SHA-1 message imprints in tokens.
    #[arg(long)]
    no_sha1_imprints: bool,
    /// Accept nodes that no timestamped checkpoint covers (they are listed). Weakens the
    /// guarantee that every node's time is proven.
    #[arg(long)]
    danger_allow_unstamped: bool,
    /// Threads for node decoding (default: the machine's parallelism).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Print a JSON report on stdout instead of the human one.
    #[arg(long)]
    json: bool,
}

/// Reads the trust inputs and the bundle, verifies, and prints the report.
pub fn run(args: &BundleArgs) -> Outcome {
    let inputs = match Inputs::load(args) {
        Ok(inputs) => inputs,
        Err(message) => return print_unusable(args.json, &message),
    };
    let files = match BundleFiles::open(&args.path) {
        Ok(files) => files,
        Err(e) => return print_unusable(args.json, &e.to_string()),
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("[{msg}] {bar:40} {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(format!("{} {}", p.step, p.name));
    };
    let options = VerifyOptions {
        log_keys: &inputs.keys,
        tsa_anchors: &inputs.anchors,
        timestamp: &inputs.timestamp,
        max_clock_skew_seconds: args.max_clock_skew,
        require_pdfs: args.require_pdfs,
        danger_allow_unstamped: args.danger_allow_unstamped,
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        progress: Some(&progress),
    };
    let result = bundle::verify(&files, &options);
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            if args.json {
                println!("{}", json!({"verdict": "verified", "report": report}));
            } else {
                print_verified(args, files.len(), &report);
            }
            Outcome::Verified
        }
        Err(e) => print_failure(args, &e),
    }
}

/// The trust inputs, read before the bundle.
struct Inputs {
    keys: Vec<NoteVerifierKey>,
    anchors: TrustAnchors,
    timestamp: TimestampOptions,
}

impl Inputs {
    fn load(args: &BundleArgs) -> Result<Self, String> {
        let mut texts = args.log_keys.clone();
        if let Some(file) = &args.log_key_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            texts.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        }
        if texts.is_empty() {
            return Err("no log key: pass --log-key VKEY or --log-key-file FILE".into());
        }
        let keys = texts
            .iter()
            .map(|t| {
                t.parse::<NoteVerifierKey>()
                    .map_err(|e| format!("log key `{t}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let pem = std::fs::read(&args.tsa_roots)
            .map_err(|e| format!("cannot read {}: {e}", args.tsa_roots.display()))?;
        let anchors = TrustAnchors::from_pem(&pem)
            .map_err(|e| format!("{}: {e}", args.tsa_roots.display()))?;
        if anchors.is_empty() {
            return Err(format!("{}: no certificate", args.tsa_roots.display()));
        }
        let validation_time = match &args.at {
            Some(text) => {
                ValidationTime::At(UtcTime::parse_rfc3339(text).map_err(|e| format!("--at: {e}"))?)
            }
            None => ValidationTime::GenTime,
        };
        let timestamp = TimestampOptions {
            validation_time,
            allow_sha1_imprint: !args.no_sha1_imprints,
            ..TimestampOptions::default()
        };
        Ok(Self {
            keys,
            anchors,
            timestamp,
        })
    }
}

fn print_unusable(json: bool, message: &str) -> Outcome {
    if json {
        println!(
            "{}",
            json!({"verdict": "unusable", "error": {"message": message}})
        );
    } else {
        eprintln!("custody-verify: {message}");
    }
    Outcome::Unusable
}

fn print_failure(args: &BundleArgs, error: &Error) -> Outcome {
    let step = usize::from(error.step());
    let name = STEPS.get(step).copied().unwrap_or("?");
    let verdict = if error.is_unusable() {
        "unusable"
    } else {
        "failed"
    };
    if args.json {
        let detail = format!("{error:?}");
        println!(
            "{}",
            json!({"verdict": verdict, "error": {"step": step, "step_name": name, "message": error.to_string(), "detail": detail}})
        );
    } else {
        println!("bundle {}", args.path.display());
        for (i, passed) in STEPS.iter().enumerate().take(step) {
            println!("  [{i}] {passed:<22} ok");
        }
        println!("  [{step}] {name:<22} FAILED");
        println!("      {error}");
        println!("{}: step {step} ({name})", verdict.to_uppercase());
    }
    if error.is_unusable() {
        Outcome::Unusable
    } else {
        Outcome::Failed
    }
}

fn print_verified(args: &BundleArgs, file_count: usize, report: &VerifiedBundle) {
    let scope = match &report.scope {
        bundle::Scope::Case { case_id } => format!("case {case_id}"),
        bundle::Scope::Org { from_size, to_size } => {
            format!("organisation log, tree sizes {from_size}..{to_size}")
        }
    };
    let signers: std::collections::BTreeSet<&str> = report
        .checkpoints
        .iter()
        .flat_map(|c| c.signed_by.iter().map(String::as_str))
        .collect();
    let tsas: std::collections::BTreeSet<&str> =
        report.tokens.iter().map(|t| t.tsa.as_str()).collect();
    let pdfs_in = report.pdfs.iter().filter(|p| p.included).count();
    println!("bundle {}", args.path.display());
    println!("  org {} · log {} · {scope}", report.org, report.origin);
    println!(
        "  exported {} by {} (claimed by the exporter, not verified)",
        report.exported_at_claim, report.exporter_claim
    );
    let lines = [
        format!("{file_count} files, all listed, digests match"),
        format!("{} nodes canonical", report.node_count),
        format!(
            "{} parent links checked, {} before the range",
            report.edges_checked, report.edges_before_range
        ),
        format!(
            "{} checkpoint(s) signed by {}",
            report.checkpoints.len(),
            signers.into_iter().collect::<Vec<_>>().join(", ")
        ),
        "roots, inclusion and consistency proofs verified".to_owned(),
        format!(
            "{} token(s) from {}",
            report.tokens.len(),
            tsas.into_iter().collect::<Vec<_>>().join(", ")
        ),
        format!(
            "{} snapshot record(s), {pdfs_in} PDF(s) included and matching",
            report.pdfs.len()
        ),
    ];
    for (i, (name, line)) in STEPS.iter().zip(lines).enumerate() {
        println!("  [{i}] {name:<22} ok  {line}");
    }
    if let Some((first, last)) = &report.stamped_range {
        println!("  nodes proven to exist by {first} … {last}");
    }
    for node in &report.node_times {
        println!(
            "    #{:<6} {:<28} recorded {}  proven by {}",
            node.index,
            node.kind,
            node.recorded_at,
            node.stamped_at.as_deref().unwrap_or("(unstamped)")
        );
    }
    for pdf in report.pdfs.iter().filter(|p| !p.included) {
        println!(
            "  note: snapshot PDF of node {} ({}) is not in the bundle",
            pdf.index, pdf.object_key
        );
    }
    if !report.unstamped_nodes.is_empty() {
        println!(
            "  WARNING: {} nodes have no timestamp (--danger-allow-unstamped)",
            report.unstamped_nodes.len()
        );
    }
    if report.development_tsa {
        println!(
            "  WARNING: timestamps come from the custody DEVELOPMENT TSA: untrusted, for testing only"
        );
    }
    println!("VERIFIED");
}
