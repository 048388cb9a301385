//! Signed notes (c2sp.org/signed-note): a text, a blank line, and signature lines, parsed
//! strictly and verified by nothing here.

use std::collections::BTreeSet;

use super::key::is_key_name;
use super::{CheckpointError, NotePart, SignatureFault, decode_base64};

/// The largest note text accepted (1 MiB).
pub const MAX_NOTE_TEXT: usize = 1 << 20;
/// The most signature lines accepted in one note (the spec's floor is 16).
pub const MAX_SIGNATURES: usize = 100;
/// The longest signature line accepted (8 KiB: room for post-quantum signatures).
pub const MAX_SIGNATURE_LINE: usize = 8 << 10;
/// The largest whole note accepted: the text, the blank line and the signature lines.
pub const MAX_NOTE_SIZE: usize = MAX_NOTE_TEXT + 1 + MAX_SIGNATURES * (MAX_SIGNATURE_LINE + 1);

/// What starts every signature line: U+2014 EM DASH and a space.
pub(super) const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// One signature line of a note, as written: not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub(super) name: String,
    pub(super) key_hash: u32,
    pub(super) signature: Vec<u8>,
}

impl NoteSignature {
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash (the first four bytes of the decoded signature, big-endian).
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The signature bytes after the key hash.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

/// A note that parsed: its exact text and its signature lines, none of them verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    pub(super) text: String,
    pub(super) signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// The text, byte for byte as signed, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines in note order, known keys or not.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }
}

/// Parses a signed note strictly: UTF-8, no control character but newline, a final
/// newline, a text of at most [`MAX_NOTE_TEXT`] bytes, then after the last blank line
/// 1 to [`MAX_SIGNATURES`] well-formed, distinct signature lines. Verifies nothing.
///
/// # Errors
/// The first rule broken, as a [`CheckpointError`].
pub fn parse_signed_note(bytes: &[u8]) -> Result<SignedNote, CheckpointError> {
    check_size(NotePart::Note, bytes.len(), MAX_NOTE_SIZE)?;
    let note = std::str::from_utf8(bytes).map_err(|e| CheckpointError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    check_characters(note)?;
    if !note.ends_with('\n') {
        return Err(CheckpointError::MissingFinalNewline);
    }
    let blank = note
        .rfind("\n\n")
        .ok_or(CheckpointError::MissingSignatureBlock)?;
    let (text, rest) = note
        .split_at_checked(blank + 1)
        .ok_or(CheckpointError::MissingSignatureBlock)?;
    check_size(NotePart::Text, text.len(), MAX_NOTE_TEXT)?;
    let block = rest
        .strip_prefix('\n')
        .ok_or(CheckpointError::MissingSignatureBlock)?;
    let block = block
        .strip_suffix('\n')
        .ok_or(CheckpointError::NoSignatures)?;
    let count = block.split('\n').count();
    if count > MAX_SIGNATURES {
        return Err(CheckpointError::TooManySignatures {
            count,
            limit: MAX_SIGNATURES,
        });
    }
    let first_line = text.matches('\n').count() + 2;
    let mut seen = BTreeSet::new();
    let mut signatures = Vec::with_capacity(count);
    for (i, line) in block.split('\n').enumerate() {
        let signature = parse_signature_line(line, first_line + i)?;
        if !seen.insert((signature.name.clone(), signature.key_hash)) {
            let NoteSignature { name, key_hash, .. } = signature;
            return Err(CheckpointError::DuplicateSignature { name, key_hash });
        }
        signatures.push(signature);
    }
    Ok(SignedNote {
        text: text.to_owned(),
        signatures,
    })
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, CheckpointError> {
    let fault = |fault| CheckpointError::MalformedSignature {
        line: number,
        fault,
    };
    check_size(NotePart::SignatureLine, line.len(), MAX_SIGNATURE_LINE)?;
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(fault(SignatureFault::MissingDash))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or(fault(SignatureFault::MissingSpace))?;
    if !is_key_name(name) {
        return Err(fault(SignatureFault::InvalidKeyName));
    }
    let blob = decode_base64(encoded).ok_or(fault(SignatureFault::InvalidBase64))?;
    match blob.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => Ok(NoteSignature {
            name: name.to_owned(),
            key_hash: u32::from_be_bytes(*id),
            signature: signature.to_vec(),
        }),
        _ => Err(fault(SignatureFault::TooShort { len: blob.len() })),
    }
}

/// The rules every note text obeys: size, final newline, no control character but `\n`.
pub(super) fn check_text(text: &str) -> Result<(), CheckpointError> {
    check_size(NotePart::Text, text.len(), MAX_NOTE_TEXT)?;
    check_characters(text)?;
    if !text.ends_with('\n') {
        return Err(CheckpointError::MissingFinalNewline);
    }
    Ok(())
}

fn check_characters(text: &str) -> Result<(), CheckpointError> {
    match text
        .bytes()
        .enumerate()
        .find(|(_, b)| *b < 0x20 && *b != b'\n')
    {
        Some((offset, byte)) => Err(CheckpointError::ControlCharacter { offset, byte }),
        None => Ok(()),
    }
}

fn check_size(part: NotePart, size: usize, limit: usize) -> Result<(), CheckpointError> {
    if size > limit {
        return Err(CheckpointError::TooLarge { part, size, limit });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use crate::checkpoint::tests::{ORIGIN, checkpoint, last_line, signed, signer, witness};
    use crate::checkpoint::{NoteSigner, verify_checkpoint};

    use CheckpointError as E;

    #[test]
    fn malformed_or_untrusted_notes_give_typed_errors() {
        let good = signed();
        let sig = last_line(&good).to_owned();
        let keys = [signer().verifier_key()];
        let log = signer().verifier_key();
        let bad_sig = E::SignatureInvalid {
            name: ORIGIN.into(),
            key_hash: log.key_hash(),
        };
        let many: String = (0..=MAX_SIGNATURES)
            .map(|i| format!("\u{2014} k{i} AAAAAAA=\n"))
            .collect();
        let line = |fault| E::MalformedSignature { line: 5, fault };
        let cases: Vec<(&str, Vec<u8>, E)> = vec![
            (
                "missing final newline",
                good.trim_end().into(),
                E::MissingFinalNewline,
            ),
            (
                "trailing bytes",
                format!("{good}x").into(),
                E::MissingFinalNewline,
            ),
            (
                "trailing line",
                format!("{good}x\n").into(),
                E::MalformedSignature {
                    line: 6,
                    fault: SignatureFault::MissingDash,
                },
            ),
            (
                "CRLF",
                good.replace('\n', "\r\n").into(),
                E::ControlCharacter {
                    offset: ORIGIN.len(),
                    byte: b'\r',
                },
            ),
            (
                "tab",
                good.replacen("custody", "cus\ttody", 1).into(),
                E::ControlCharacter {
                    offset: 19,
                    byte: b'\t',
                },
            ),
            (
                "not UTF-8",
                [b"\xff", good.as_bytes()].concat(),
                E::NotUtf8 { offset: 0 },
            ),
            (
                "no blank line",
                good.replacen("\n\n", "\n", 1).into(),
                E::MissingSignatureBlock,
            ),
            (
                "blank line after",
                format!("{good}\n").into(),
                E::NoSignatures,
            ),
            (
                "extra blank line",
                good.replacen("\n\n", "\n\n\n", 1).into(),
                bad_sig.clone(),
            ),
            (
                "tampered size",
                good.replacen("\n3\n", "\n4\n", 1).into(),
                bad_sig.clone(),
            ),
            (
                "duplicate",
                format!("{good}{sig}\n").into(),
                E::DuplicateSignature {
                    name: ORIGIN.into(),
                    key_hash: log.key_hash(),
                },
            ),
            (
                "too many",
                format!("a\n\n{many}").into(),
                E::TooManySignatures {
                    count: MAX_SIGNATURES + 1,
                    limit: MAX_SIGNATURES,
                },
            ),
            (
                "no dash",
                good.replacen('\u{2014}', "-", 1).into(),
                line(SignatureFault::MissingDash),
            ),
            (
                "no space",
                good.replacen(&format!("{ORIGIN} "), ORIGIN, 1).into(),
                line(SignatureFault::MissingSpace),
            ),
            (
                "plus in name",
                good.replacen("log.", "log+", 2).into(),
                line(SignatureFault::InvalidKeyName),
            ),
            (
                "short",
                "a\n\n\u{2014} k AAAA\n".into(),
                E::MalformedSignature {
                    line: 3,
                    fault: SignatureFault::TooShort { len: 3 },
                },
            ),
            (
                "unpadded",
                format!("{}\n", good.trim_end().trim_end_matches('=')).into(),
                line(SignatureFault::InvalidBase64),
            ),
            (
                "oversized",
                vec![b'a'; MAX_NOTE_SIZE + 1],
                E::TooLarge {
                    part: NotePart::Note,
                    size: MAX_NOTE_SIZE + 1,
                    limit: MAX_NOTE_SIZE,
                },
            ),
            (
                "witness only",
                witness().sign_checkpoint(&checkpoint()).unwrap().into(),
                E::NoTrustedSignature,
            ),
        ];
        for (name, note, want) in cases {
            assert_eq!(verify_checkpoint(&note, &keys).unwrap_err(), want, "{name}");
        }
        let wrong_key = NoteSigner::from_seed(ORIGIN, [0x43; 32])
            .unwrap()
            .verifier_key();
        assert_eq!(
            verify_checkpoint(good.as_bytes(), &[wrong_key]),
            Err(E::NoTrustedSignature)
        );
        let by_witness = witness().sign_checkpoint(&checkpoint()).unwrap();
        let err = verify_checkpoint(by_witness.as_bytes(), &[witness().verifier_key()]);
        assert_eq!(
            err,
            Err(E::OriginNotSigned {
                origin: ORIGIN.into()
            })
        );
    }
}
