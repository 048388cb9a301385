//! Proof files in the c2sp.org/tlog-proof@v1 format: one entry's index and inclusion
//! proof, and the signed checkpoint they lead to, in one offline-verifiable text file.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional, unauthenticated)
//! index <decimal>
//! <base64 hash>             (zero or more, from the leaf's sibling up)
//!
//! <signed checkpoint note, verbatim>
//! ```
//!
//! Parsing is strict, so that [`TlogProof::format`] gives back the parsed bytes exactly.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{
    self, CheckpointError, MAX_NOTE_SIZE, NoteVerifierKey, VerifiedCheckpoint, decode_base64,
    parse_decimal,
};
use crate::merkle::{self, Hash, MerkleError};

/// The first line of every proof file.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The most proof hashes accepted: a tree of up to 2^64 leaves needs no more.
pub const MAX_PROOF_HASHES: usize = 64;
/// The largest proof file accepted: a checkpoint's limit plus 128 KiB for the header,
/// the extra data, the index and the hashes.
pub const MAX_PROOF_SIZE: usize = MAX_NOTE_SIZE + (128 << 10);

/// Why a proof file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// The file is over [`MAX_PROOF_SIZE`].
    #[error("proof file is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// [`MAX_PROOF_SIZE`].
        limit: usize,
    },
    /// The first line is not [`HEADER`].
    #[error("first line is not {HEADER}")]
    MissingHeader,
    /// An `extra` line whose data is not canonical padded base64.
    #[error("line {line}: extra data is not canonical base64")]
    InvalidExtra {
        /// 1-based line number.
        line: usize,
    },
    /// No `index` line, or an index that is not canonical decimal.
    #[error("line {line}: expected `index <canonical decimal>`")]
    InvalidIndex {
        /// 1-based line number.
        line: usize,
    },
    /// A proof line that is not the canonical padded base64 of 32 bytes.
    #[error("line {line}: not the canonical base64 of a 32-byte hash")]
    InvalidHash {
        /// 1-based line number.
        line: usize,
    },
    /// More than [`MAX_PROOF_HASHES`] proof lines.
    #[error("more than {limit} proof hashes")]
    TooManyHashes {
        /// [`MAX_PROOF_HASHES`].
        limit: usize,
    },
    /// No blank line after the proof hashes, or a line without its newline.
    #[error("no blank line and checkpoint after the proof hashes")]
    MissingCheckpoint,
    /// The embedded checkpoint does not parse, or does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error("inclusion proof: {0}")]
    Inclusion(#[from] MerkleError),
}

/// A parsed proof file. Parsing checks its syntax, including the checkpoint note's;
/// [`TlogProof::verify`] checks signatures and the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data: never trust it.
    pub extra: Option<Vec<u8>>,
    /// The entry's zero-based index in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to a child of the root.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, byte for byte as it follows the blank line.
    pub checkpoint: Vec<u8>,
}

/// Parses a proof file strictly: the header, an optional `extra` line, `index N` in
/// canonical decimal, up to [`MAX_PROOF_HASHES`] canonical base64 hashes, a blank line,
/// and a signed note that [`checkpoint::parse_signed_note`] accepts.
///
/// # Errors
/// The first rule broken, as a [`TlogProofError`].
pub fn parse(bytes: &[u8]) -> Result<TlogProof, TlogProofError> {
    if bytes.len() > MAX_PROOF_SIZE {
        return Err(TlogProofError::TooLarge {
            size: bytes.len(),
            limit: MAX_PROOF_SIZE,
        });
    }
    let mut lines = Lines {
        rest: bytes,
        number: 0,
    };
    if lines.next() != Some(HEADER.as_bytes()) {
        return Err(TlogProofError::MissingHeader);
    }
    let mut line = lines.next();
    let extra = match line.and_then(|l| l.strip_prefix(b"extra ")) {
        Some(encoded) => {
            let invalid = TlogProofError::InvalidExtra { line: lines.number };
            line = lines.next();
            Some(decode_base64_bytes(encoded).ok_or(invalid)?)
        }
        None => None,
    };
    let index = line
        .and_then(|l| l.strip_prefix(b"index "))
        .and_then(|digits| parse_decimal(std::str::from_utf8(digits).ok()?))
        .ok_or(TlogProofError::InvalidIndex { line: lines.number })?;
    let hashes = parse_hashes(&mut lines)?;
    checkpoint::parse_signed_note(lines.rest)?;
    Ok(TlogProof {
        extra,
        index,
        hashes,
        checkpoint: lines.rest.to_vec(),
    })
}

impl TlogProof {
    /// The proof file's bytes; [`parse`] gives back `self` for every proof of at most
    /// [`MAX_PROOF_HASHES`] hashes with a well-formed checkpoint note.
    pub fn format(&self) -> Vec<u8> {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.hashes {
            out.push_str(&STANDARD.encode(hash));
            out.push('\n');
        }
        out.push('\n');
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Verifies that `leaf` is the entry at [`TlogProof::index`] of the log whose
    /// checkpoint this file carries: (1) the checkpoint's signatures against `keys`, as
    /// [`checkpoint::verify_checkpoint`]; (2) the inclusion proof against its size and root.
    ///
    /// # Errors
    /// [`TlogProofError::Checkpoint`] for step 1, [`TlogProofError::Inclusion`] for step 2.
    pub fn verify(
        &self,
        leaf: &Hash,
        keys: &[NoteVerifierKey],
    ) -> Result<VerifiedCheckpoint, TlogProofError> {
        // Step 1: a trusted log key signed the checkpoint.
        let verified = checkpoint::verify_checkpoint(&self.checkpoint, keys)?;
        // Step 2: the proof leads from the leaf to that checkpoint's root.
        let signed = verified.checkpoint();
        merkle::verify_inclusion(leaf, self.index, signed.size, &self.hashes, &signed.root)?;
        Ok(verified)
    }
}

/// The hash lines up to and including the blank line.
fn parse_hashes(lines: &mut Lines<'_>) -> Result<Vec<Hash>, TlogProofError> {
    let mut hashes = Vec::new();
    loop {
        match lines.next() {
            None => return Err(TlogProofError::MissingCheckpoint),
            Some(b"") => return Ok(hashes),
            Some(_) if hashes.len() == MAX_PROOF_HASHES => {
                return Err(TlogProofError::TooManyHashes {
                    limit: MAX_PROOF_HASHES,
                });
            }
            Some(line) => {
                let hash = decode_base64_bytes(line).and_then(|b| Hash::try_from(b).ok());
                hashes.push(hash.ok_or(TlogProofError::InvalidHash { line: lines.number })?);
            }
        }
    }
}

/// Canonical base64 ([`decode_base64`]) of a line that must be ASCII.
fn decode_base64_bytes(line: &[u8]) -> Option<Vec<u8>> {
    decode_base64(std::str::from_utf8(line).ok()?)
}

/// Newline-terminated lines from the front of a file, counted from 1.
struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
}

impl<'a> Lines<'a> {
    /// The next line without its newline; `None` (consuming nothing) when no newline
    /// follows. The line number advances either way.
    fn next(&mut self) -> Option<&'a [u8]> {
        self.number += 1;
        let end = self.rest.iter().position(|b| *b == b'\n')?;
        let (line, rest) = self.rest.split_at_checked(end)?;
        self.rest = rest.get(1..)?;
        Some(line)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, NoteSigner};
    use crate::merkle::{inclusion_proof, leaf_hash, root_from_leaves};
    use proptest::prelude::*;

    const ORIGIN: &str = "log.example.com/custody/acme";

    fn signer() -> NoteSigner {
        NoteSigner::from_seed(ORIGIN, [0x42; 32]).unwrap()
    }

    fn leaves() -> Vec<Hash> {
        (0..5u8).map(|i| leaf_hash(&[i])).collect()
    }

    fn signed_checkpoint(size: u64, root: Hash) -> Vec<u8> {
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
            extensions: vec![],
        };
        signer().sign_checkpoint(&checkpoint).unwrap().into_bytes()
    }

    fn proof_of(index: u64) -> TlogProof {
        let leaves = leaves();
        TlogProof {
            extra: Some(b"case 42".to_vec()),
            index,
            hashes: inclusion_proof(&leaves, index).unwrap(),
            checkpoint: signed_checkpoint(5, root_from_leaves(&leaves)),
        }
    }

    #[test]
    fn proofs_round_trip_and_verify() {
        let keys = [signer().verifier_key()];
        for index in 0..5 {
            let mut proof = proof_of(index);
            if index % 2 == 0 {
                proof.extra = None;
            }
            let bytes = proof.format();
            assert_eq!(parse(&bytes), Ok(proof.clone()));
            let verified = proof.verify(&leaves()[index as usize], &keys).unwrap();
            assert_eq!(verified.checkpoint().size, 5);
            assert_eq!(
                verified.note_text(),
                &proof.checkpoint[..verified.note_text().len()]
            );
        }
    }

    #[test]
    fn verification_failures_are_typed() {
        let proof = proof_of(3);
        let leaf = leaves()[3];
        let keys = [signer().verifier_key()];
        let stranger = NoteSigner::from_seed(ORIGIN, [9; 32])
            .unwrap()
            .verifier_key();
        let wrong_leaf = proof.verify(&leaves()[2], &keys);
        assert!(matches!(
            wrong_leaf,
            Err(TlogProofError::Inclusion(MerkleError::RootMismatch { .. }))
        ));
        let moved = TlogProof {
            index: 2,
            ..proof.clone()
        };
        assert!(matches!(
            moved.verify(&leaf, &keys),
            Err(TlogProofError::Inclusion(_))
        ));
        let beyond = TlogProof {
            index: 5,
            ..proof.clone()
        };
        assert_eq!(
            beyond.verify(&leaf, &keys),
            Err(TlogProofError::Inclusion(MerkleError::IndexOutOfRange {
                index: 5,
                tree_size: 5
            }))
        );
        assert_eq!(
            proof.verify(&leaf, &[stranger]),
            Err(TlogProofError::Checkpoint(
                CheckpointError::NoTrustedSignature
            ))
        );
    }

    #[test]
    fn parsing_is_strict() {
        use TlogProofError as E;
        let good = String::from_utf8(proof_of(3).format()).unwrap();
        let first = STANDARD.encode(proof_of(3).hashes[0]);
        let (short, spaced) = (STANDARD.encode([7; 31]), format!("{first} "));
        // Each case edits the first occurrence of a pattern in a good proof file.
        let edits = [
            ("CRLF", "\n", "\r\n", E::MissingHeader),
            ("other version", "@v1", "@v2", E::MissingHeader),
            ("unpadded extra", "Mg==", "Mg", E::InvalidExtra { line: 2 }),
            (
                "space after extra",
                "==\n",
                "== \n",
                E::InvalidExtra { line: 2 },
            ),
            (
                "extra without space",
                "extra ",
                "extra",
                E::InvalidIndex { line: 2 },
            ),
            ("no index", "index 3\n", "", E::InvalidIndex { line: 3 }),
            (
                "leading zero",
                "index 3",
                "index 03",
                E::InvalidIndex { line: 3 },
            ),
            (
                "plus sign",
                "index 3",
                "index +3",
                E::InvalidIndex { line: 3 },
            ),
            (
                "two spaces",
                "index 3",
                "index  3",
                E::InvalidIndex { line: 3 },
            ),
            ("short hash", &first, &short, E::InvalidHash { line: 4 }),
            (
                "space after hash",
                &first,
                &spaced,
                E::InvalidHash { line: 4 },
            ),
        ];
        for (name, from, to, want) in edits {
            assert_eq!(
                parse(good.replacen(from, to, 1).as_bytes()),
                Err(want),
                "{name}"
            );
        }
        let note = String::from_utf8(signed_checkpoint(1, [0; 32])).unwrap();
        let hashes = format!("{}\n", STANDARD.encode([7; 32])).repeat(MAX_PROOF_HASHES + 1);
        let too_many = format!("{HEADER}\nindex 0\n{hashes}\n{note}");
        let oversized = "a".repeat(MAX_PROOF_SIZE + 1);
        let (size, limit) = (MAX_PROOF_SIZE + 1, MAX_PROOF_SIZE);
        let cases = [
            ("empty", String::new(), E::MissingHeader),
            (
                "no blank line",
                format!("{HEADER}\nindex 0\n"),
                E::MissingCheckpoint,
            ),
            (
                "no note",
                format!("{HEADER}\nindex 0\n\n"),
                CheckpointError::MissingFinalNewline.into(),
            ),
            (
                "trailing data",
                format!("{good}x"),
                CheckpointError::MissingFinalNewline.into(),
            ),
            (
                "too many hashes",
                too_many,
                E::TooManyHashes {
                    limit: MAX_PROOF_HASHES,
                },
            ),
            ("oversized", oversized, E::TooLarge { size, limit }),
        ];
        for (name, text, want) in cases {
            assert_eq!(parse(text.as_bytes()), Err(want), "{name}");
        }
        let mut not_utf8 = good.into_bytes();
        not_utf8[HEADER.len() + 40] = 0xff;
        assert_eq!(parse(&not_utf8), Err(E::InvalidHash { line: 4 }));
    }

    /// The worked example of `schemas/log-and-checkpoints.md`, as the code makes
    /// it: the blocks that document must hold verbatim.
    fn spec_example() -> Vec<String> {
        let origin = "log.example.com/custody/acme";
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let signer = NoteSigner::from_seed(origin, seed).unwrap();
        let key = signer.verifier_key();
        let data = ["example leaf 0", "example leaf 1", "example leaf 2"];
        let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d.as_bytes())).collect();
        let root = root_from_leaves(&leaves);
        let hex_lines = |hashes: Vec<Hash>| -> String {
            hashes
                .iter()
                .map(|h| format!("  {}\n", hex::encode(h)))
                .collect()
        };
        let rows = [
            ("seed (RFC 8032 private key)", hex::encode(seed)),
            ("public key", hex::encode(key.public_key())),
            ("key hash", format!("{:08x}", key.key_hash())),
            ("leaf_hash(\"example leaf 0\")", hex::encode(leaves[0])),
            ("leaf_hash(\"example leaf 1\")", hex::encode(leaves[1])),
            ("leaf_hash(\"example leaf 2\")", hex::encode(leaves[2])),
            (
                "root of size 1",
                hex::encode(root_from_leaves(&leaves[..1])),
            ),
            ("root of size 3", hex::encode(root)),
        ];
        let mut values: String = rows.iter().map(|(k, v)| format!("{k:<29}{v}\n")).collect();
        values.push_str("inclusion proof of leaf 1 in size 3:\n");
        values.push_str(&hex_lines(inclusion_proof(&leaves, 1).unwrap()));
        values.push_str("consistency proof from size 1 to size 3:\n");
        values.push_str(&hex_lines(
            crate::merkle::consistency_proof(&leaves, 1).unwrap(),
        ));
        let checkpoint = Checkpoint {
            origin: origin.into(),
            size: 3,
            root,
            extensions: vec![],
        };
        let note = signer.sign_checkpoint(&checkpoint).unwrap();
        let proof = TlogProof {
            extra: None,
            index: 1,
            hashes: inclusion_proof(&leaves, 1).unwrap(),
            checkpoint: note.clone().into_bytes(),
        };
        assert!(proof.verify(&leaves[1], std::slice::from_ref(&key)).is_ok());
        let file = String::from_utf8(proof.format()).unwrap();
        [values, format!("{key}\n"), note, file]
            .into_iter()
            .map(|block| format!("```text\n{block}```\n"))
            .collect()
    }

    #[test]
    fn spec_example_matches_the_code() {
        let spec = include_str!("../../schemas/log-and-checkpoints.md");
        for block in spec_example() {
            assert!(
                spec.contains(&block),
                "the spec lacks, byte for byte:\n{block}"
            );
        }
    }

    fn arbitrary_proof() -> impl Strategy<Value = TlogProof> {
        let extra = prop::option::of(prop::collection::vec(any::<u8>(), 0..40));
        let hashes = prop::collection::vec(any::<Hash>(), 0..=MAX_PROOF_HASHES);
        (extra, any::<u64>(), hashes, any::<u64>(), any::<Hash>()).prop_map(
            |(extra, index, hashes, size, root)| TlogProof {
                extra,
                index,
                hashes,
                checkpoint: signed_checkpoint(size, root),
            },
        )
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(proof in arbitrary_proof()) {
            prop_assert_eq!(parse(&proof.format()), Ok(proof));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(proof) = parse(&bytes) {
                prop_assert_eq!(proof.format(), bytes);
            }
        }

        #[test]
        fn edited_proofs_never_panic_and_round_trip(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = proof_of(1).format();
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            if let Ok(proof) = parse(&bytes) {
                prop_assert_eq!(proof.format(), bytes);
            }
        }
    }
}
