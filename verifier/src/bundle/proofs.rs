//! Step 4 of bundle verification: the log. Roots are recomputed from the nodes (org
//! scope) or each node's inclusion proof is checked (case scope), and every pair of
//! consecutive checkpoints must be consistent.

use std::collections::{BTreeMap, HashMap};

use super::layout::{BundlePath, decode_hashes};
use super::manifest::Scope;
use super::verify::Inventory;
use super::{BundleError, BundleFiles, LinkError};
use crate::checkpoint::VerifiedCheckpoint;
use crate::dag::Placed;
use crate::error::Error;
use crate::merkle::{self, CompactRange, Hash};
use crate::tlog_proof;

/// Step 4: recompute roots (org scope) or check inclusion proofs (case scope), and the
/// consistency of every pair of consecutive checkpoints.
pub(super) fn check_log(
    files: &BundleFiles,
    inventory: &Inventory,
    placed: &[Placed<'_>],
    checkpoints: &BTreeMap<u64, VerifiedCheckpoint>,
) -> Result<(), Error> {
    match inventory.manifest.scope {
        Scope::Case { .. } => check_inclusion_proofs(files, inventory, placed, checkpoints)?,
        Scope::Org { from_size, to_size } => {
            check_org_range(files, inventory, placed, checkpoints, from_size, to_size)?
        }
    }
    check_consistency(files, inventory, checkpoints)
}

fn root_of(checkpoints: &BTreeMap<u64, VerifiedCheckpoint>, size: u64) -> Result<Hash, Error> {
    checkpoints
        .get(&size)
        .map(|c| c.checkpoint().root)
        .ok_or_else(|| LinkError::CheckpointMissing { size }.into())
}

fn check_inclusion_proofs(
    files: &BundleFiles,
    inventory: &Inventory,
    placed: &[Placed<'_>],
    checkpoints: &BTreeMap<u64, VerifiedCheckpoint>,
) -> Result<(), Error> {
    let by_bytes: HashMap<&[u8], u64> = checkpoints
        .keys()
        .filter_map(|size| {
            files
                .get(&BundlePath::Checkpoint(*size).path())
                .map(|b| (b, *size))
        })
        .collect();
    for path in &inventory.paths {
        if let BundlePath::Proof(index) = path
            && placed.binary_search_by_key(index, |p| p.index).is_err()
        {
            return Err(LinkError::ProofWithoutNode { index: *index }.into());
        }
    }
    for node in placed {
        let file = BundlePath::Proof(node.index).path();
        let bytes = files
            .get(&file)
            .ok_or(LinkError::ProofMissing { index: node.index })?;
        let proof = tlog_proof::parse(bytes).map_err(|source| Error::Proof {
            file: file.clone(),
            source,
        })?;
        if proof.index != node.index {
            return Err(LinkError::ProofIndexMismatch {
                file_index: node.index,
                proof_index: proof.index,
            }
            .into());
        }
        let size = *by_bytes
            .get(proof.checkpoint.as_slice())
            .ok_or(LinkError::ProofCheckpointNotInBundle { index: node.index })?;
        let root = root_of(checkpoints, size)?;
        merkle::verify_inclusion(
            &node.node.leaf_hash(),
            node.index,
            size,
            &proof.hashes,
            &root,
        )
        .map_err(|source| Error::Merkle { file, source })?;
    }
    Ok(())
}

fn check_org_range(
    files: &BundleFiles,
    inventory: &Inventory,
    placed: &[Placed<'_>],
    checkpoints: &BTreeMap<u64, VerifiedCheckpoint>,
    from_size: u64,
    to_size: u64,
) -> Result<(), Error> {
    if let Some(stray) = checkpoints
        .keys()
        .find(|s| **s < from_size || **s > to_size)
    {
        return Err(LinkError::Stray {
            path: BundlePath::Checkpoint(*stray).path(),
        }
        .into());
    }
    for path in &inventory.paths {
        if let BundlePath::Frontier(size) = path
            && (*size != from_size || from_size == 0)
        {
            return Err(LinkError::Stray { path: path.path() }.into());
        }
    }
    let mut range = if from_size == 0 {
        CompactRange::new()
    } else {
        let file = BundlePath::Frontier(from_size).path();
        let bytes = files
            .get(&file)
            .ok_or_else(|| BundleError::MissingFile { path: file.clone() })?;
        let hashes =
            decode_hashes(bytes).ok_or_else(|| BundleError::HashList { path: file.clone() })?;
        let range = CompactRange::from_frontier(from_size, hashes)
            .map_err(|source| Error::Merkle { file, source })?;
        let expected = root_of(checkpoints, from_size)?;
        if range.root() != expected {
            return Err(LinkError::RootMismatch {
                size: from_size,
                expected,
                actual: range.root(),
            }
            .into());
        }
        range
    };
    root_of(checkpoints, to_size)?;
    for node in placed {
        range.append(node.node.leaf_hash());
        if let Some(checkpoint) = checkpoints.get(&range.size()) {
            let expected = checkpoint.checkpoint().root;
            let actual = range.root();
            if actual != expected {
                return Err(LinkError::RootMismatch {
                    size: range.size(),
                    expected,
                    actual,
                }
                .into());
            }
        }
    }
    Ok(())
}

/// Every consistency file joins two checkpoints of the bundle and verifies; in a case
/// bundle, every pair of consecutive checkpoints has one.
fn check_consistency(
    files: &BundleFiles,
    inventory: &Inventory,
    checkpoints: &BTreeMap<u64, VerifiedCheckpoint>,
) -> Result<(), Error> {
    for path in &inventory.paths {
        if let BundlePath::Consistency(from, to) = *path {
            let file = path.path();
            let (Some(old), Some(new)) = (checkpoints.get(&from), checkpoints.get(&to)) else {
                return Err(LinkError::Stray { path: file }.into());
            };
            let bytes = files.get(&file).unwrap_or_default();
            let proof =
                decode_hashes(bytes).ok_or_else(|| BundleError::HashList { path: file.clone() })?;
            merkle::verify_consistency(
                from,
                to,
                &old.checkpoint().root,
                &new.checkpoint().root,
                &proof,
            )
            .map_err(|source| Error::Merkle { file, source })?;
        }
    }
    if let Scope::Case { .. } = inventory.manifest.scope {
        let sizes: Vec<u64> = checkpoints.keys().copied().collect();
        for pair in sizes.windows(2) {
            if let [from, to] = *pair
                && !inventory.paths.contains(&BundlePath::Consistency(from, to))
            {
                return Err(LinkError::ConsistencyMissing { from, to }.into());
            }
        }
    }
    Ok(())
}
