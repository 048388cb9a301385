//! Merkle math over stored perfect subtrees (pure; no I/O).
//!
//! The store keeps the hash of every complete, aligned perfect subtree of each log: level
//! 0 holds the leaf hashes, and subtree `(level, index)` covers leaves
//! `[index·2^level, (index+1)·2^level)`. Any root or RFC 9162 proof is a function of
//! O(log n) of them, found here by the RFC 9162 §2.1 recursion over leaf ranges. Callers
//! run a computation twice: once with [`Planner`] to learn which subtrees it reads, then
//! with the fetched hashes.

use std::collections::{BTreeSet, HashMap};

use custody_verifier::merkle::{Hash, node_hash};

/// A complete perfect subtree: leaves `[index << level, (index + 1) << level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubtreeId {
    /// Height above the leaves (0 for a leaf).
    pub level: u32,
    /// Position among the subtrees of that level.
    pub index: u64,
}

/// A source of stored subtree hashes.
pub trait Subtrees {
    /// The hash of `id`.
    fn get(&mut self, id: SubtreeId) -> Hash;
}

/// Records which subtrees a computation reads, answering with a dummy hash.
#[derive(Debug, Default)]
pub struct Planner {
    /// The subtrees read so far.
    pub needed: BTreeSet<SubtreeId>,
}

impl Subtrees for Planner {
    fn get(&mut self, id: SubtreeId) -> Hash {
        self.needed.insert(id);
        [0; 32]
    }
}

/// Fetched subtree hashes; a missing one reads as zeros and is reported by `missing`.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The hashes by subtree.
    pub hashes: HashMap<SubtreeId, Hash>,
    /// Subtrees asked for but absent.
    pub missing: Vec<SubtreeId>,
}

impl Subtrees for Fetched {
    fn get(&mut self, id: SubtreeId) -> Hash {
        match self.hashes.get(&id) {
            Some(hash) => *hash,
            None => {
                self.missing.push(id);
                [0; 32]
            }
        }
    }
}

/// The largest power of two strictly smaller than `n` (`n ≥ 2`).
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The RFC 6962 hash of leaves `[start, end)`, `start < end`.
pub fn range_hash(start: u64, end: u64, src: &mut dyn Subtrees) -> Hash {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = n.trailing_zeros();
        return src.get(SubtreeId {
            level,
            index: start >> level,
        });
    }
    let k = split_point(n);
    let left = range_hash(start, start + k, src);
    let right = range_hash(start + k, end, src);
    node_hash(&left, &right)
}

/// The root of the first `size` leaves (`size ≥ 1`).
pub fn root(size: u64, src: &mut dyn Subtrees) -> Hash {
    range_hash(0, size, src)
}

/// RFC 9162 `PATH(index, D[0:size])`, leaf's sibling first.
pub fn inclusion_proof(index: u64, size: u64, src: &mut dyn Subtrees) -> Vec<Hash> {
    let mut proof = Vec::new();
    path(index, 0, size, src, &mut proof);
    proof
}

fn path(m: u64, start: u64, end: u64, src: &mut dyn Subtrees, out: &mut Vec<Hash>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if m < k {
        path(m, start, start + k, src, out);
        out.push(range_hash(start + k, end, src));
    } else {
        path(m - k, start + k, end, src, out);
        out.push(range_hash(start, start + k, src));
    }
}

/// RFC 9162 `PROOF(old, D[0:new])` for `0 < old ≤ new`.
pub fn consistency_proof(old: u64, new: u64, src: &mut dyn Subtrees) -> Vec<Hash> {
    let mut proof = Vec::new();
    subproof(old, 0, new, true, src, &mut proof);
    proof
}

fn subproof(
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    src: &mut dyn Subtrees,
    out: &mut Vec<Hash>,
) {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(range_hash(start, end, src));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, start, start + k, whole, src, out);
        out.push(range_hash(start + k, end, src));
    } else {
        subproof(m - k, start + k, end, false, src, out);
        out.push(range_hash(start, start + k, src));
    }
}

/// The perfect subtrees whose roots make up the tree of `size` leaves, largest first.
pub fn frontier_ids(size: u64) -> Vec<SubtreeId> {
    let mut ids = Vec::new();
    let mut offset = 0u64;
    for level in (0..64u32).rev() {
        if size & (1 << level) != 0 {
            ids.push(SubtreeId {
                level,
                index: offset >> level,
            });
            offset += 1 << level;
        }
    }
    ids
}

/// The frontier of a log: what appending needs to compute the subtrees a leaf completes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// A frontier of `size` leaves from the hashes of [`frontier_ids`]`(size)`, in order;
    /// `None` if their number is wrong.
    pub fn new(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        (hashes.len() == size.count_ones() as usize).then_some(Self { size, hashes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf and returns every subtree it completes, the leaf itself first.
    pub fn append(&mut self, leaf: Hash) -> Vec<(SubtreeId, Hash)> {
        let mut index = self.size;
        let mut level = 0;
        let mut carry = leaf;
        let mut completed = vec![(SubtreeId { level, index }, carry)];
        while index & 1 == 1 {
            let Some(left) = self.hashes.pop() else { break };
            carry = node_hash(&left, &carry);
            level += 1;
            index >>= 1;
            completed.push((SubtreeId { level, index }, carry));
        }
        self.hashes.push(carry);
        self.size += 1;
        completed
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use custody_verifier::merkle::{self, leaf_hash};

    /// Every complete subtree of `leaves`, as a store would hold them.
    fn store(leaves: &[Hash]) -> Fetched {
        let mut frontier = Frontier::default();
        let mut fetched = Fetched::default();
        for leaf in leaves {
            fetched.hashes.extend(frontier.append(*leaf));
        }
        fetched
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn roots_and_proofs_match_the_verifier() {
        let all = leaves(70);
        let mut src = store(&all);
        for size in 1..=70u64 {
            let slice = &all[..size as usize];
            assert_eq!(root(size, &mut src), merkle::root_from_leaves(slice));
            for index in 0..size {
                let expected = merkle::inclusion_proof(slice, index).unwrap();
                assert_eq!(inclusion_proof(index, size, &mut src), expected);
            }
            for old in 1..=size {
                let expected = merkle::consistency_proof(slice, old).unwrap();
                assert_eq!(consistency_proof(old, size, &mut src), expected);
            }
        }
        assert!(src.missing.is_empty());
    }

    #[test]
    fn a_proof_reads_few_subtrees() {
        let mut planner = Planner::default();
        inclusion_proof(123_456, 1_000_000, &mut planner);
        assert!(planner.needed.len() <= 2 * 20, "{}", planner.needed.len());
    }

    #[test]
    fn frontier_ids_cover_the_tree() {
        assert_eq!(frontier_ids(0), vec![]);
        let ids = frontier_ids(13);
        let expected = [(3, 0), (2, 2), (0, 12)];
        let got: Vec<(u32, u64)> = ids.iter().map(|id| (id.level, id.index)).collect();
        assert_eq!(got, expected);
        let all = leaves(13);
        let src = store(&all);
        let hashes: Vec<Hash> = ids.iter().map(|id| src.hashes[id]).collect();
        let range = merkle::CompactRange::from_frontier(13, hashes).unwrap();
        assert_eq!(range.root(), merkle::root_from_leaves(&all));
    }
}
