//! Step 5 of bundle verification: every RFC 3161 token over its checkpoint, and every
//! node's proven time.

use std::collections::BTreeMap;

use super::layout::BundlePath;
use super::report::TokenReport;
use super::verify::{Inventory, VerifyOptions, report};
use super::{BundleFiles, DEVELOPMENT_TSA_POLICY, LinkError};
use crate::checkpoint::VerifiedCheckpoint;
use crate::dag::Placed;
use crate::error::Error;
use crate::time::UtcTime;
use crate::timestamp::{self, Imprint};
use crate::x509;

/// A node's proven time and the checkpoint that proves it, if any.
pub(super) type ProvenTime = Option<(UtcTime, u64)>;

/// A verified token and the checkpoint it stamps.
pub(super) struct StampedCheckpoint {
    pub(super) size: u64,
    pub(super) gen_time: UtcTime,
    pub(super) report: TokenReport,
}

/// Step 5, first half: every token verifies over its checkpoint's note text.
pub(super) fn verify_tokens(
    files: &BundleFiles,
    inventory: &Inventory,
    checkpoints: &BTreeMap<u64, VerifiedCheckpoint>,
    options: &VerifyOptions<'_>,
) -> Result<Vec<StampedCheckpoint>, Error> {
    let tokens: Vec<(u64, u32)> = inventory
        .paths
        .iter()
        .filter_map(|p| {
            if let BundlePath::Token(s, n) = p {
                Some((*s, *n))
            } else {
                None
            }
        })
        .collect();
    for path in &inventory.paths {
        if let BundlePath::TokenCerts(size, n) = *path
            && !tokens.contains(&(size, n))
        {
            return Err(LinkError::OrphanTimestamp { path: path.path() }.into());
        }
    }
    let mut stamped = Vec::with_capacity(tokens.len());
    for (i, (size, n)) in tokens.iter().copied().enumerate() {
        report(options, 5, "timestamps", i as u64, tokens.len() as u64);
        let file = BundlePath::Token(size, n).path();
        let checkpoint = checkpoints
            .get(&size)
            .ok_or_else(|| LinkError::OrphanTimestamp { path: file.clone() })?;
        let untrusted = match files.get(&BundlePath::TokenCerts(size, n).path()) {
            Some(pem) => x509::parse_pem_certificates(pem).map_err(|e| Error::Timestamp {
                file: file.clone(),
                source: e.into(),
            })?,
            None => Vec::new(),
        };
        let digest = checkpoint.note_text_digest();
        let token = files.get(&file).unwrap_or_default();
        let verified = timestamp::verify_timestamp(
            token,
            Imprint::Digest(&digest),
            options.tsa_anchors,
            &untrusted,
            options.timestamp,
        )
        .map_err(|source| Error::Timestamp {
            file: file.clone(),
            source,
        })?;
        let policy = verified.policy().to_owned();
        stamped.push(StampedCheckpoint {
            size,
            gen_time: verified.gen_time(),
            report: TokenReport {
                file,
                checkpoint_size: size,
                gen_time: verified.gen_time().to_string(),
                development: policy == DEVELOPMENT_TSA_POLICY,
                policy,
                tsa: verified.signer_subject().to_owned(),
                chain: verified.chain().to_vec(),
            },
        });
    }
    report(
        options,
        5,
        "timestamps",
        tokens.len() as u64,
        tokens.len() as u64,
    );
    Ok(stamped)
}

/// Step 5, second half: each node's proven time is the earliest genTime of a token over a
/// checkpoint that includes it (size > index; the checkpoints are consistent, so a node in
/// one is in every later one), and its claimed time may not be later than that.
pub(super) fn prove_node_times(
    placed: &[Placed<'_>],
    stamped: &[StampedCheckpoint],
    options: &VerifyOptions<'_>,
) -> Result<(Vec<ProvenTime>, Vec<u64>), Error> {
    // Earliest time per checkpoint, then a suffix minimum over sizes.
    let mut per_size: BTreeMap<u64, UtcTime> = BTreeMap::new();
    for s in stamped {
        per_size
            .entry(s.size)
            .and_modify(|t| *t = (*t).min(s.gen_time))
            .or_insert(s.gen_time);
    }
    let sizes: Vec<(u64, UtcTime)> = per_size.into_iter().collect();
    let mut suffix: Vec<(UtcTime, u64)> = Vec::with_capacity(sizes.len());
    for &(size, time) in sizes.iter().rev() {
        let best = match suffix.last() {
            // On a tie the smaller checkpoint wins: it is the tighter proof.
            Some(&(t, s)) if t < time => (t, s),
            _ => (time, size),
        };
        suffix.push(best);
    }
    suffix.reverse();
    let skew = i64::try_from(options.max_clock_skew_seconds).unwrap_or(i64::MAX);
    let mut times = Vec::with_capacity(placed.len());
    let mut unstamped = Vec::new();
    for node in placed {
        let first = sizes.partition_point(|(size, _)| *size <= node.index);
        let proven = suffix.get(first).copied();
        match proven {
            Some((stamped_at, _)) => {
                let recorded_at = node.node.node().recorded_at;
                if recorded_at > stamped_at.offset_seconds(skew) {
                    return Err(LinkError::RecordedAfterStamp {
                        index: node.index,
                        recorded_at,
                        stamped_at,
                        skew_seconds: options.max_clock_skew_seconds,
                    }
                    .into());
                }
            }
            None if options.danger_allow_unstamped => unstamped.push(node.index),
            None => return Err(LinkError::Unstamped { index: node.index }.into()),
        }
        times.push(proven);
    }
    Ok((times, unstamped))
}
