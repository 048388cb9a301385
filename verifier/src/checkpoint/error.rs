//! Why a note, a key or a checkpoint was refused, down to the faulty part.

use std::fmt;

#[cfg(doc)] // Named only by the doc links.
use super::{
    Checkpoint, MAX_KEY_NAME, MAX_NOTE_SIZE, MAX_NOTE_TEXT, MAX_SIGNATURE_LINE, MAX_SIGNATURES,
};

/// Why a note, a key or a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The note, its text or a signature line is over its size limit.
    #[error("{part} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Which part.
        part: NotePart,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The note is not UTF-8.
    #[error("note is not UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first byte that is not UTF-8.
        offset: usize,
    },
    /// A control character other than newline, such as the CR of a CRLF.
    #[error("control character {byte:#04x} at offset {offset}")]
    ControlCharacter {
        /// Its byte offset.
        offset: usize,
        /// The character.
        byte: u8,
    },
    /// The note or text does not end with a newline.
    #[error("does not end with a newline")]
    MissingFinalNewline,
    /// No blank line separates the text from the signatures.
    #[error("note has no blank line before its signatures")]
    MissingSignatureBlock,
    /// Nothing follows the blank line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("note has {count} signature lines, over the limit of {limit}")]
    TooManySignatures {
        /// Lines found.
        count: usize,
        /// [`MAX_SIGNATURES`].
        limit: usize,
    },
    /// A signature line that does not parse.
    #[error("note line {line}: {fault}")]
    MalformedSignature {
        /// 1-based line number in the note.
        line: usize,
        /// What is wrong with it.
        fault: SignatureFault,
    },
    /// Two signature lines with the same key name and key hash.
    #[error("two signatures by key {name} ({key_hash:08x})")]
    DuplicateSignature {
        /// The key name.
        name: String,
        /// The key hash.
        key_hash: u32,
    },
    /// A key name that is empty, longer than [`MAX_KEY_NAME`], or holds a space, a `+`
    /// or a control character.
    #[error("key name {name:?} is empty, too long, or holds a space, a plus or a control")]
    InvalidKeyName {
        /// The name (at most 64 characters of it).
        name: String,
    },
    /// A verifier key string that does not parse.
    #[error("verifier key: {fault}")]
    InvalidVerifierKey {
        /// What is wrong with it.
        fault: VerifierKeyFault,
    },
    /// A signature line of a trusted key that does not verify over the note text.
    #[error("signature by trusted key {name} ({key_hash:08x}) does not verify")]
    SignatureInvalid {
        /// The key name.
        name: String,
        /// The key hash.
        key_hash: u32,
    },
    /// No signature line belongs to a trusted key.
    #[error("no signature by a trusted key")]
    NoTrustedSignature,
    /// Trusted keys signed, but none named after the checkpoint's origin.
    #[error("checkpoint of origin {origin:?} is not signed by a trusted key of that name")]
    OriginNotSigned {
        /// The checkpoint's origin (at most 64 characters of it).
        origin: String,
    },
    /// A checkpoint text of fewer than three lines.
    #[error("checkpoint text has {count} lines, needs at least 3")]
    TooFewLines {
        /// Lines found.
        count: usize,
    },
    /// An empty line in a checkpoint text.
    #[error("checkpoint line {line} is empty")]
    EmptyLine {
        /// 1-based line number.
        line: usize,
    },
    /// A tree size that is not canonical decimal (no sign, no leading zero) or not a u64.
    #[error("tree size {text:?} is not a canonical decimal u64")]
    InvalidTreeSize {
        /// The line (at most 64 characters of it).
        text: String,
    },
    /// A root hash that is not the canonical padded base64 of 32 bytes.
    #[error("root hash {text:?} is not the canonical base64 of 32 bytes")]
    InvalidRootHash {
        /// The line (at most 64 characters of it).
        text: String,
    },
    /// A [`Checkpoint`] origin that is empty or holds a control character or newline.
    #[error("origin is empty or holds a control character")]
    InvalidOrigin,
    /// A [`Checkpoint`] extension line that is empty or holds a control character.
    #[error("extension line {index} is empty or holds a control character")]
    InvalidExtension {
        /// 0-based position in [`Checkpoint::extensions`].
        index: usize,
    },
}

/// The part of a note a size limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotePart {
    /// The whole note ([`MAX_NOTE_SIZE`]).
    Note,
    /// The signed text ([`MAX_NOTE_TEXT`]).
    Text,
    /// One signature line ([`MAX_SIGNATURE_LINE`]).
    SignatureLine,
}

impl fmt::Display for NotePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotePart::Note => "note",
            NotePart::Text => "note text",
            NotePart::SignatureLine => "signature line",
        })
    }
}

/// What is wrong with a signature line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureFault {
    /// It does not start with an em dash and a space.
    #[error("does not start with \"\u{2014} \"")]
    MissingDash,
    /// No space separates the key name from the signature.
    #[error("no space between key name and signature")]
    MissingSpace,
    /// The key name is empty, too long, or holds a space or a `+`.
    #[error("invalid key name")]
    InvalidKeyName,
    /// The signature is not canonical padded standard base64.
    #[error("signature is not canonical base64")]
    InvalidBase64,
    /// The signature has no bytes after the 4-byte key hash.
    #[error("signature is {len} bytes, shorter than a key hash and a signature")]
    TooShort {
        /// Decoded length.
        len: usize,
    },
}

/// What is wrong with a verifier key string `<name>+<hex8 key hash>+<base64(0x01 ‖ key)>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierKeyFault {
    /// Fewer than three `+`-separated fields.
    #[error("not <name>+<hash>+<key>")]
    Syntax,
    /// The key hash is not 8 lowercase hex digits.
    #[error("key hash is not 8 lowercase hex digits")]
    KeyHashSyntax,
    /// The key is not canonical padded standard base64.
    #[error("key is not canonical base64")]
    Base64,
    /// A signature type other than Ed25519 (0x01).
    #[error("signature type {id:#04x} is not Ed25519 (0x01)")]
    UnsupportedType {
        /// The type byte.
        id: u8,
    },
    /// An Ed25519 public key that is not 32 bytes.
    #[error("public key is {len} bytes, not 32")]
    KeyLength {
        /// Its length.
        len: usize,
    },
    /// 32 bytes that are not a canonical encoding of a curve point.
    #[error("public key is not a canonical Ed25519 point")]
    InvalidPoint,
    /// A small-order public key, for which signatures mean nothing.
    #[error("public key has small order")]
    WeakKey,
    /// The key hash written differs from the one the name and key give.
    #[error("key hash is {written:08x}, the name and key give {computed:08x}")]
    KeyHashMismatch {
        /// The key hash in the string.
        written: u32,
        /// The first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key).
        computed: u32,
    },
}
