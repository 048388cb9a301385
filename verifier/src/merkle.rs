//! The organisation log's Merkle tree: RFC 6962 / RFC 9162 hashing, inclusion and
//! consistency proofs, and the compact range the ledger keeps to append in O(log n).
//!
//! Leaf and interior hashes are domain-separated by a one-byte prefix (RFC 9162 §2.1.1),
//! so a leaf can never be passed off as an interior node or the other way round.
//! Proof generation and verification follow RFC 9162 §2.1.3 and §2.1.4; the edge cases
//! (equal sizes, the empty tree) follow the transparency-dev vectors, see
//! [`verify_consistency`].

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The most leaves a [`CompactRange`] accepts from stored state: 2^63 − 1, the largest
/// index the ledger's signed 64-bit columns hold. A larger size is corruption, and the
/// cap keeps [`CompactRange::append`] from ever overflowing its counter.
pub const MAX_TREE_SIZE: u64 = (1 << 63) - 1;

/// Why a proof, a root or a compact range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The size of the tree.
        tree_size: u64,
    },
    /// A consistency check from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizeDecreased {
        /// The size of the older tree.
        old_size: u64,
        /// The size of the newer tree.
        new_size: u64,
    },
    /// A consistency check from the empty tree to a non-empty one, which proves nothing.
    #[error("a consistency proof from the empty tree to size {new_size} is meaningless")]
    EmptyOldTree {
        /// The size of the newer tree.
        new_size: u64,
    },
    /// The proof does not have the number of hashes its index and sizes call for.
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength {
        /// The length the index and sizes call for.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// The root recomputed from the proof differs from the root checked against.
    #[error(
        "root of the tree of size {tree_size} should be {}, proof gives {}",
        hex::encode(.expected),
        hex::encode(.actual)
    )]
    RootMismatch {
        /// The size of the tree whose root failed.
        tree_size: u64,
        /// The root the caller holds (from a checkpoint, or the other root).
        expected: Hash,
        /// The root the proof leads to.
        actual: Hash,
    },
    /// A frontier whose number of hashes is not the popcount of its size.
    #[error("a compact range of {size} leaves has {expected} hashes, got {actual}")]
    FrontierLength {
        /// The tree size claimed.
        size: u64,
        /// popcount(size).
        expected: usize,
        /// The number of hashes received.
        actual: usize,
    },
    /// A compact range larger than [`MAX_TREE_SIZE`].
    #[error("tree size {size} is above the limit {limit}")]
    TreeTooLarge {
        /// The tree size claimed.
        size: u64,
        /// [`MAX_TREE_SIZE`].
        limit: u64,
    },
}

/// The hash of a leaf: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The root of the tree whose leaf hashes are `leaves` (RFC 9162 §2.1.1 MTH), in O(n)
/// hashing and O(log n) memory.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for leaf in leaves {
        range.append(*leaf);
    }
    range.root()
}

/// The inclusion proof of the leaf at `index` (RFC 9162 §2.1.3.1), from the leaf's
/// sibling up to a child of the root.
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] if `index` is not below `leaves.len()`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, MerkleError> {
    let tree_size = len_u64(leaves);
    let out_of_range = MerkleError::IndexOutOfRange { index, tree_size };
    let mut m = usize::try_from(index).map_err(|_| out_of_range.clone())?;
    if m >= leaves.len() {
        return Err(out_of_range);
    }
    let mut range = leaves;
    let mut path = Vec::new();
    while let Some((left, right)) = range.split_at_checked(split_point(range.len())) {
        if m < left.len() {
            path.push(root_from_leaves(right));
            range = left;
        } else {
            path.push(root_from_leaves(left));
            m -= left.len();
            range = right;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof from the tree's first `old_size` leaves to all of `leaves`
/// (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or equals `leaves.len()`.
///
/// # Errors
/// [`MerkleError::SizeDecreased`] if `old_size` exceeds `leaves.len()`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, MerkleError> {
    let new_size = len_u64(leaves);
    let too_large = MerkleError::SizeDecreased { old_size, new_size };
    let mut m = usize::try_from(old_size).map_err(|_| too_large.clone())?;
    if m > leaves.len() {
        return Err(too_large);
    }
    if m == 0 || m == leaves.len() {
        return Ok(Vec::new());
    }
    let mut range = leaves;
    let mut proof = Vec::new();
    let mut whole_old_tree = true;
    while m < range.len() {
        let Some((left, right)) = range.split_at_checked(split_point(range.len())) else {
            break;
        };
        if m <= left.len() {
            proof.push(root_from_leaves(right));
            range = left;
        } else {
            proof.push(root_from_leaves(left));
            m -= left.len();
            range = right;
            whole_old_tree = false;
        }
    }
    if !whole_old_tree {
        proof.push(root_from_leaves(range));
    }
    proof.reverse();
    Ok(proof)
}

/// Checks that `leaf` is the leaf at `index` of the tree of size `tree_size` whose root
/// is `root` (RFC 9162 §2.1.3.2).
///
/// The proof binds the leaf, its index and the root; it does not bind the size on its
/// own (the proof of leaf 0 in a 3-leaf tree also leads to that tree's root when read
/// with size 4). Take `tree_size` and `root` from the same verified checkpoint.
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`], [`MerkleError::WrongProofLength`], or
/// [`MerkleError::RootMismatch`] when the proof leads to another root.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= tree_size {
        return Err(MerkleError::IndexOutOfRange { index, tree_size });
    }
    let expected = path_len(index, tree_size - 1);
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = *leaf;
    for p in proof {
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            (fn_, sn) = skip_left_edges(fn_, sn);
        } else {
            r = node_hash(&r, p);
        }
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    check_root(tree_size, root, r)
}

/// Checks that the tree of size `size2` and root `root2` extends the tree of size `size1`
/// and root `root1` (RFC 9162 §2.1.4.2).
///
/// Edge cases, as the transparency-dev vectors expect: equal sizes need an empty proof
/// and equal roots, and a size-0 tree's root must be [`empty_root`]; a proof from the
/// empty tree to a larger one is refused as meaningless ([`MerkleError::EmptyOldTree`]):
/// every tree extends the empty tree, so there is nothing to check. As with
/// [`verify_inclusion`], each size must come from the same checkpoint as its root.
///
/// # Errors
/// [`MerkleError::SizeDecreased`], [`MerkleError::EmptyOldTree`],
/// [`MerkleError::WrongProofLength`], or [`MerkleError::RootMismatch`] naming the size
/// whose root failed.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if size1 > size2 {
        return Err(MerkleError::SizeDecreased {
            old_size: size1,
            new_size: size2,
        });
    }
    if size1 == size2 {
        return verify_same_size(size1, root1, root2, proof);
    }
    if size1 == 0 {
        return Err(MerkleError::EmptyOldTree { new_size: size2 });
    }
    let expected = consistency_proof_len(size1, size2);
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    // Step 2: when the old tree is a perfect subtree, its root is the proof's first node.
    let (seed, rest) = match (size1.is_power_of_two(), proof.split_first()) {
        (true, _) => (root1, proof),
        (false, Some((first, rest))) => (first, rest),
        (false, None) => {
            return Err(MerkleError::WrongProofLength {
                expected,
                actual: 0,
            });
        }
    };
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            (fn_, sn) = skip_left_edges(fn_, sn);
        } else {
            sr = node_hash(&sr, c);
        }
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    check_root(size1, root1, fr)?;
    check_root(size2, root2, sr)
}

/// The perfect-subtree roots of a tree prefix [0, size), largest (leftmost) first: all a
/// log needs to append a leaf and compute its new root without the earlier leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The compact range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a compact range from its size and its perfect-subtree roots, left to right.
    ///
    /// # Errors
    /// [`MerkleError::TreeTooLarge`] above [`MAX_TREE_SIZE`], and
    /// [`MerkleError::FrontierLength`] unless there are popcount(`size`) hashes.
    pub fn from_frontier(size: u64, hashes: Vec<Hash>) -> Result<Self, MerkleError> {
        if size > MAX_TREE_SIZE {
            return Err(MerkleError::TreeTooLarge {
                size,
                limit: MAX_TREE_SIZE,
            });
        }
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(MerkleError::FrontierLength {
                size,
                expected,
                actual: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// Appends one leaf hash, merging the perfect subtrees it completes.
    pub fn append(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let Some(left) = self.hashes.pop() else { break };
            carry = node_hash(&left, &carry);
            size >>= 1;
        }
        self.hashes.push(carry);
        // Cannot overflow: sizes start at or below MAX_TREE_SIZE, 2^63 appends away.
        self.size += 1;
    }

    /// The number of leaves in the range.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree [0, size): the subtree roots folded from the right.
    pub fn root(&self) -> Hash {
        let mut rev = self.hashes.iter().rev();
        match rev.next() {
            None => empty_root(),
            Some(last) => rev.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// The perfect-subtree roots, largest (leftmost) first.
    pub fn frontier(&self) -> &[Hash] {
        &self.hashes
    }
}

fn verify_same_size(
    size: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if !proof.is_empty() {
        return Err(MerkleError::WrongProofLength {
            expected: 0,
            actual: proof.len(),
        });
    }
    if size == 0 {
        check_root(0, &empty_root(), *root1)?;
    }
    check_root(size, root2, *root1)
}

fn check_root(tree_size: u64, expected: &Hash, actual: Hash) -> Result<(), MerkleError> {
    if *expected == actual {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch {
            tree_size,
            expected: *expected,
            actual,
        })
    }
}

/// RFC 9162's "right-shift fn and sn equally until LSB(fn) is set or fn is 0".
fn skip_left_edges(mut fn_: u64, mut sn: u64) -> (u64, u64) {
    while fn_ & 1 == 0 && fn_ != 0 {
        (fn_, sn) = (fn_ >> 1, sn >> 1);
    }
    (fn_, sn)
}

/// The number of hashes on the path from node `index` to the root of a tree whose last
/// node is `last`: the levels where the two paths differ, plus the left siblings above.
fn path_len(index: u64, last: u64) -> usize {
    let inner = u64::BITS - (index ^ last).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The length of a consistency proof between `0 < size1 < size2`: the inclusion path of
/// the old tree's last leaf, less the levels inside the old tree's rightmost perfect
/// subtree, plus that subtree's root unless it is the whole old tree.
fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    let shift = size1.trailing_zeros() as usize;
    let seed = usize::from(!size1.is_power_of_two());
    path_len(size1 - 1, size2 - 1) - shift + seed
}

/// The size of the left subtree of a tree of `n` leaves: the largest power of two below
/// `n` (RFC 9162 §2.1.1's k). A tree of fewer than two leaves does not split: the result
/// is then out of range, so `split_at_checked` yields `None`.
fn split_point(n: usize) -> usize {
    if n < 2 {
        return usize::MAX;
    }
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn len_u64(leaves: &[Hash]) -> u64 {
    u64::try_from(leaves.len()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The leaves of the 8-leaf reference tree of RFC 6962's original implementation
    /// (certificate-transparency `merkle_tree_test`).
    const REFERENCE_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// The roots of the reference tree's prefixes of size 0 to 8.
    const REFERENCE_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn h(hex_text: &str) -> Hash {
        hex::decode(hex_text).unwrap().try_into().unwrap()
    }

    fn reference_leaves() -> Vec<Hash> {
        REFERENCE_LEAVES
            .iter()
            .map(|l| leaf_hash(&hex::decode(l).unwrap()))
            .collect()
    }

    /// MTH as RFC 9162 §2.1.1 writes it, recursively: the oracle for the iterative code.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves {
            [] => empty_root(),
            [leaf] => *leaf,
            _ => {
                let k = 1 << (usize::BITS - 1 - (leaves.len() - 1).leading_zeros());
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn make_leaves(n: usize, salt: u8) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&[&[salt][..], &i.to_be_bytes()].concat()))
            .collect()
    }

    fn flip(hash: &Hash, bit: usize) -> Hash {
        let mut out = *hash;
        out[bit / 8 % 32] ^= 1 << (bit % 8);
        out
    }

    #[test]
    fn reference_tree_roots() {
        let leaves = reference_leaves();
        for (size, want) in REFERENCE_ROOTS.iter().enumerate() {
            assert_eq!(root_from_leaves(&leaves[..size]), h(want), "size {size}");
        }
    }

    #[test]
    fn reference_tree_inclusion_proofs() {
        let leaves = reference_leaves();
        let cases: [(u64, usize, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            let proof = inclusion_proof(&leaves[..size], index).unwrap();
            assert_eq!(proof, want, "leaf {index} of {size}");
            let root = h(REFERENCE_ROOTS[size]);
            let leaf = &leaves[index as usize];
            assert_eq!(
                verify_inclusion(leaf, index, size as u64, &proof, &root),
                Ok(())
            );
        }
    }

    #[test]
    fn reference_tree_consistency_proofs() {
        let leaves = reference_leaves();
        let cases: [(usize, usize, &[&str]); 3] = [
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (size1, size2, want) in cases {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            let proof = consistency_proof(&leaves[..size2], size1 as u64).unwrap();
            assert_eq!(proof, want, "{size1} -> {size2}");
            let (root1, root2) = (h(REFERENCE_ROOTS[size1]), h(REFERENCE_ROOTS[size2]));
            let verdict = verify_consistency(size1 as u64, size2 as u64, &root1, &root2, &proof);
            assert_eq!(verdict, Ok(()));
        }
    }

    #[test]
    fn edge_cases_are_typed() {
        let (e, x) = (empty_root(), [7; 32]);
        let cases: [(Result<(), MerkleError>, Result<(), MerkleError>); 8] = [
            (
                verify_inclusion(&x, 0, 0, &[], &e),
                Err(MerkleError::IndexOutOfRange {
                    index: 0,
                    tree_size: 0,
                }),
            ),
            (
                verify_inclusion(&x, 0, 1, &[x], &x),
                Err(MerkleError::WrongProofLength {
                    expected: 0,
                    actual: 1,
                }),
            ),
            (verify_consistency(0, 0, &e, &e, &[]), Ok(())),
            (
                verify_consistency(0, 0, &x, &x, &[]),
                Err(MerkleError::RootMismatch {
                    tree_size: 0,
                    expected: e,
                    actual: x,
                }),
            ),
            (verify_consistency(1, 1, &x, &x, &[]), Ok(())),
            (
                verify_consistency(0, 3, &e, &x, &[]),
                Err(MerkleError::EmptyOldTree { new_size: 3 }),
            ),
            (
                verify_consistency(2, 1, &x, &x, &[]),
                Err(MerkleError::SizeDecreased {
                    old_size: 2,
                    new_size: 1,
                }),
            ),
            (
                verify_consistency(1, 2, &x, &x, &[]),
                Err(MerkleError::WrongProofLength {
                    expected: 1,
                    actual: 0,
                }),
            ),
        ];
        for (i, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, want, "case {i}");
        }
        assert_eq!(
            inclusion_proof(&[x], 1),
            Err(MerkleError::IndexOutOfRange {
                index: 1,
                tree_size: 1
            })
        );
        assert_eq!(
            consistency_proof(&[x], 2),
            Err(MerkleError::SizeDecreased {
                old_size: 2,
                new_size: 1
            })
        );
        assert_eq!(consistency_proof(&[x, x], 0), Ok(vec![]));
    }

    #[test]
    fn frontier_is_checked() {
        let cases = [
            (0, 0, true),
            (5, 2, true),
            (5, 1, false),
            (8, 1, true),
            (8, 2, false),
            (MAX_TREE_SIZE, 63, true),
        ];
        for (size, count, ok) in cases {
            let got = CompactRange::from_frontier(size, vec![[0; 32]; count]);
            assert_eq!(got.is_ok(), ok, "size {size}, {count} hashes");
        }
        assert_eq!(
            CompactRange::from_frontier(MAX_TREE_SIZE + 1, vec![[0; 32]]),
            Err(MerkleError::TreeTooLarge {
                size: MAX_TREE_SIZE + 1,
                limit: MAX_TREE_SIZE
            })
        );
    }

    #[test]
    fn large_root_matches_recursive_definition() {
        // Not a power of two, and deep enough to exercise every carry in `append`.
        let leaves = make_leaves(100_003, 0);
        assert_eq!(root_from_leaves(&leaves), mth(&leaves));
    }

    proptest! {
        #[test]
        fn compact_range_matches_every_prefix(n in 0usize..70, salt: u8) {
            let leaves = make_leaves(n, salt);
            let mut range = CompactRange::new();
            prop_assert_eq!(range.root(), mth(&[]));
            for (i, leaf) in leaves.iter().enumerate() {
                range.append(*leaf);
                prop_assert_eq!(range.size(), i as u64 + 1);
                prop_assert_eq!(range.root(), mth(&leaves[..=i]));
                prop_assert_eq!(root_from_leaves(&leaves[..=i]), range.root());
                let rebuilt = CompactRange::from_frontier(range.size(), range.frontier().to_vec());
                prop_assert_eq!(rebuilt, Ok(range.clone()));
            }
        }

        #[test]
        fn inclusion_proofs_verify_and_tampering_fails(
            n in 1usize..130, index in any::<prop::sample::Index>(), bit in 0usize..256,
            other in any::<prop::sample::Index>(), salt: u8,
        ) {
            let leaves = make_leaves(n, salt);
            let i = index.index(n);
            let (size, idx) = (n as u64, i as u64);
            let root = mth(&leaves);
            let proof = inclusion_proof(&leaves, idx).unwrap();
            let leaf = leaves[i];
            prop_assert_eq!(verify_inclusion(&leaf, idx, size, &proof, &root), Ok(()));

            let (bad_leaf, bad_root) = (flip(&leaf, bit), flip(&root, bit));
            prop_assert!(verify_inclusion(&bad_leaf, idx, size, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, idx, size, &proof, &bad_root).is_err());
            for k in 0..proof.len() {
                let mut bad = proof.clone();
                bad[k] = flip(&bad[k], bit);
                prop_assert!(verify_inclusion(&leaf, idx, size, &bad, &root).is_err());
            }
            let j = other.index(n + 8) as u64;
            if j != idx {
                prop_assert!(verify_inclusion(&leaf, j, size, &proof, &root).is_err());
            }
            // Nor in the tree of another size: sizes and roots come in pairs from
            // checkpoints, so the other size is checked with its own root.
            let m = other.index(2 * n + 2) + 1;
            if m != n && i < m {
                let other_root = mth(&make_leaves(m, salt));
                let verdict = verify_inclusion(&leaf, idx, m as u64, &proof, &other_root);
                prop_assert!(verdict.is_err());
            }
        }

        #[test]
        fn consistency_proofs_verify_and_tampering_fails(
            n2 in 1usize..130, n1 in any::<prop::sample::Index>(), bit in 0usize..256,
            other in any::<prop::sample::Index>(), salt: u8,
        ) {
            let leaves = make_leaves(n2, salt);
            let n1 = n1.index(n2) + 1;
            let (s1, s2) = (n1 as u64, n2 as u64);
            let (root1, root2) = (mth(&leaves[..n1]), mth(&leaves));
            let proof = consistency_proof(&leaves, s1).unwrap();
            prop_assert_eq!(verify_consistency(s1, s2, &root1, &root2, &proof), Ok(()));

            prop_assert!(verify_consistency(s1, s2, &flip(&root1, bit), &root2, &proof).is_err());
            prop_assert!(verify_consistency(s1, s2, &root1, &flip(&root2, bit), &proof).is_err());
            for k in 0..proof.len() {
                let mut bad = proof.clone();
                bad[k] = flip(&bad[k], bit);
                prop_assert!(verify_consistency(s1, s2, &root1, &root2, &bad).is_err());
            }
            // Nor between trees of other sizes: sizes and roots come in pairs from
            // checkpoints, so the wrong size is checked with that size's own root.
            let wrong1 = other.index(n2 + 1);
            if wrong1 != n1 {
                let wrong_root1 = mth(&leaves[..wrong1]);
                let verdict = verify_consistency(wrong1 as u64, s2, &wrong_root1, &root2, &proof);
                prop_assert!(verdict.is_err());
            }
            let wrong2 = other.index(2 * n2 + 2) + 1;
            if wrong2 != n2 {
                let wrong_root2 = mth(&make_leaves(wrong2, salt));
                let verdict = verify_consistency(s1, wrong2 as u64, &root1, &wrong_root2, &proof);
                prop_assert!(verdict.is_err());
            }
        }
    }
}
