//! Signed notes (c2sp.org/signed-note) and the log checkpoints they carry
//! (c2sp.org/tlog-checkpoint), signed with Ed25519 log keys.
//!
//! [`verify_checkpoint`] runs four steps, each with its own errors: (1) parse the note
//! strictly, (2) verify every signature line of a trusted key, (3) parse the checkpoint
//! text, (4) require a signature by a trusted key named after the checkpoint's origin.
//! Success is a [`VerifiedCheckpoint`], which only this module builds; it keeps the exact
//! signed bytes, over which RFC 3161 tokens are taken.
//!
//! Origin convention: a custody log's origin is `<host>/custody/<org_id>` and its key is
//! named after the origin. tlog-checkpoint says the log's key name SHOULD match the
//! origin; step 4 makes it a MUST here, so that a key trusted for one organisation's log
//! (or a witness key) cannot vouch for a checkpoint that claims another origin.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The largest note text accepted (1 MiB).
pub const MAX_NOTE_TEXT: usize = 1 << 20;
/// The most signature lines accepted in one note (the spec's floor is 16).
pub const MAX_SIGNATURES: usize = 100;
/// The longest signature line accepted (8 KiB: room for post-quantum signatures).
pub const MAX_SIGNATURE_LINE: usize = 8 << 10;
/// The longest key name accepted, in bytes.
pub const MAX_KEY_NAME: usize = 1024;
/// The largest whole note accepted: the text, the blank line and the signature lines.
pub const MAX_NOTE_SIZE: usize = MAX_NOTE_TEXT + 1 + MAX_SIGNATURES * (MAX_SIGNATURE_LINE + 1);

/// The signature type byte of Ed25519 in key hashes and verifier keys.
const ED25519: u8 = 0x01;
/// What starts every signature line: U+2014 EM DASH and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

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

/// A trusted Ed25519 note key: its name, key hash and public key.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifierKey {
    name: String,
    key_hash: u32,
    key: VerifyingKey,
}

impl NoteVerifierKey {
    /// The verifier key of `name` and a 32-byte Ed25519 public key.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidKeyName`], or [`CheckpointError::InvalidVerifierKey`]
    /// for a key that is not a canonical point or has small order.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        let key = ed25519_key(public_key).map_err(key_fault)?;
        Ok(Self {
            name: name.to_owned(),
            key_hash: key_hash(name, public_key),
            key,
        })
    }

    /// The key name, which for a custody log is its origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key hash: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), as a
    /// big-endian u32.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .is_ok_and(|sig| self.key.verify_strict(text.as_bytes(), &sig).is_ok())
    }
}

impl FromStr for NoteVerifierKey {
    type Err = CheckpointError;

    /// Parses `<name>+<hex8 key hash>+<base64(0x01 ‖ public key)>` and checks the hash.
    fn from_str(text: &str) -> Result<Self, CheckpointError> {
        let (name, rest) = text
            .split_once('+')
            .ok_or(key_fault(VerifierKeyFault::Syntax))?;
        let (hash_hex, key_b64) = rest
            .split_once('+')
            .ok_or(key_fault(VerifierKeyFault::Syntax))?;
        check_key_name(name)?;
        let written = parse_key_hash(hash_hex).ok_or(key_fault(VerifierKeyFault::KeyHashSyntax))?;
        let blob = decode_base64(key_b64).ok_or(key_fault(VerifierKeyFault::Base64))?;
        let public_key = match blob.split_first() {
            Some((&ED25519, key)) => key,
            Some((&id, _)) => return Err(key_fault(VerifierKeyFault::UnsupportedType { id })),
            None => return Err(key_fault(VerifierKeyFault::KeyLength { len: 0 })),
        };
        let public_key: [u8; 32] = public_key.try_into().map_err(|_| {
            key_fault(VerifierKeyFault::KeyLength {
                len: public_key.len(),
            })
        })?;
        let computed = key_hash(name, &public_key);
        if written != computed {
            return Err(key_fault(VerifierKeyFault::KeyHashMismatch {
                written,
                computed,
            }));
        }
        Self::new(name, &public_key)
    }
}

impl fmt::Display for NoteVerifierKey {
    /// The verifier key string, `<name>+<hex8 key hash>+<base64(0x01 ‖ public key)>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blob = [&[ED25519][..], self.key.as_bytes()].concat();
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_hash,
            STANDARD.encode(blob)
        )
    }
}

impl fmt::Debug for NoteVerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NoteVerifierKey")
            .field(&self.to_string())
            .finish()
    }
}

/// An Ed25519 note signing key. Its `Debug` shows the name and public key, never the seed.
pub struct NoteSigner {
    key: SigningKey,
    verifier: NoteVerifierKey,
}

impl NoteSigner {
    /// The signer of key name `name` with the RFC 8032 private key `seed`.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidKeyName`].
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, CheckpointError> {
        let key = SigningKey::from_bytes(&seed);
        let verifier = NoteVerifierKey::new(name, key.verifying_key().as_bytes())?;
        Ok(Self { key, verifier })
    }

    /// The key that verifies this signer's signatures.
    pub fn verifier_key(&self) -> NoteVerifierKey {
        self.verifier.clone()
    }

    /// Signs `text` and returns the signed note: the text, a blank line, one signature line.
    ///
    /// # Errors
    /// A text over [`MAX_NOTE_TEXT`], not ending in a newline, or holding a control
    /// character other than newline.
    pub fn sign_note(&self, text: &str) -> Result<String, CheckpointError> {
        check_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let blob = [
            &self.verifier.key_hash.to_be_bytes()[..],
            &signature.to_bytes(),
        ]
        .concat();
        let name = &self.verifier.name;
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{name} {}\n",
            STANDARD.encode(blob)
        ))
    }

    /// Signs a checkpoint: [`Checkpoint::to_note_text`], then [`NoteSigner::sign_note`].
    ///
    /// # Errors
    /// As [`Checkpoint::to_note_text`] and [`NoteSigner::sign_note`].
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
        self.sign_note(&checkpoint.to_note_text()?)
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

/// One signature line of a note, as written: not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_hash: u32,
    signature: Vec<u8>,
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
    text: String,
    signatures: Vec<NoteSignature>,
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

/// A checkpoint: the log's origin, tree size and root, and optional extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, `<host>/custody/<org_id>` for custody logs.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The RFC 6962 root of those leaves.
    pub root: Hash,
    /// Opaque extra lines, each non-empty (tlog-checkpoint does not recommend them).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, decimal size, base64 root, extension lines, each ending
    /// in a newline.
    ///
    /// # Errors
    /// [`CheckpointError::InvalidOrigin`] or [`CheckpointError::InvalidExtension`].
    pub fn to_note_text(&self) -> Result<String, CheckpointError> {
        if !is_checkpoint_line(&self.origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        if let Some(index) = self.extensions.iter().position(|e| !is_checkpoint_line(e)) {
            return Err(CheckpointError::InvalidExtension { index });
        }
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        check_text(&text)?;
        Ok(text)
    }

    /// Parses a checkpoint note text (unsigned; for signed bytes use
    /// [`verify_checkpoint`]).
    ///
    /// # Errors
    /// The text errors of [`NoteSigner::sign_note`], then [`CheckpointError::TooFewLines`],
    /// [`CheckpointError::EmptyLine`], [`CheckpointError::InvalidTreeSize`] or
    /// [`CheckpointError::InvalidRootHash`].
    pub fn from_note_text(text: &str) -> Result<Self, CheckpointError> {
        check_text(text)?;
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if let Some(i) = lines.iter().position(|line| line.is_empty()) {
            return Err(CheckpointError::EmptyLine { line: i + 1 });
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { count: lines.len() });
        };
        let size = parse_decimal(size).ok_or_else(|| CheckpointError::InvalidTreeSize {
            text: excerpt(size),
        })?;
        let root = decode_base64(root)
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or_else(|| CheckpointError::InvalidRootHash {
                text: excerpt(root),
            })?;
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        })
    }
}

/// A checkpoint whose note carries a valid signature by a trusted key named after its
/// origin, and no failing signature by a trusted key. Only [`verify_checkpoint`] builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note_text: String,
    signed_by: Vec<NoteVerifierKey>,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The exact signed bytes: the note text, final newline included.
    pub fn note_text(&self) -> &[u8] {
        self.note_text.as_bytes()
    }

    /// The trusted keys whose signatures verified, in note order.
    pub fn signed_by(&self) -> &[NoteVerifierKey] {
        &self.signed_by
    }

    /// SHA-256 of [`VerifiedCheckpoint::note_text`]: the message imprint of the RFC 3161
    /// tokens taken over this checkpoint.
    pub fn note_text_digest(&self) -> [u8; 32] {
        Sha256::digest(self.note_text.as_bytes()).into()
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

/// Verifies a signed checkpoint against trusted log keys, in four steps (see the module
/// documentation). Signatures by keys not in `keys` are ignored, as the spec requires.
///
/// # Errors
/// Step 1: any [`parse_signed_note`] error. Step 2:
/// [`CheckpointError::SignatureInvalid`] for a trusted key whose signature fails (the
/// whole note is refused), [`CheckpointError::NoTrustedSignature`]. Step 3: the
/// [`Checkpoint::from_note_text`] errors. Step 4: [`CheckpointError::OriginNotSigned`].
pub fn verify_checkpoint(
    bytes: &[u8],
    keys: &[NoteVerifierKey],
) -> Result<VerifiedCheckpoint, CheckpointError> {
    // Step 1: the note's syntax.
    let note = parse_signed_note(bytes)?;
    // Step 2: every signature of a trusted key verifies, and there is one.
    let signed_by = verify_signatures(&note, keys)?;
    // Step 3: the checkpoint text, read only once a trusted key vouched for it.
    let checkpoint = Checkpoint::from_note_text(&note.text)?;
    // Step 4: the log itself signed: a trusted key named after the origin.
    if !signed_by.iter().any(|key| key.name == checkpoint.origin) {
        return Err(CheckpointError::OriginNotSigned {
            origin: excerpt(&checkpoint.origin),
        });
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note_text: note.text,
        signed_by,
    })
}

fn verify_signatures(
    note: &SignedNote,
    keys: &[NoteVerifierKey],
) -> Result<Vec<NoteVerifierKey>, CheckpointError> {
    let mut signed_by = Vec::new();
    for sig in &note.signatures {
        let mut candidates = keys
            .iter()
            .filter(|k| k.name == sig.name && k.key_hash == sig.key_hash)
            .peekable();
        if candidates.peek().is_none() {
            continue;
        }
        match candidates.find(|k| k.verifies(&note.text, &sig.signature)) {
            Some(key) => signed_by.push(key.clone()),
            None => {
                let (name, key_hash) = (sig.name.clone(), sig.key_hash);
                return Err(CheckpointError::SignatureInvalid { name, key_hash });
            }
        }
    }
    if signed_by.is_empty() {
        return Err(CheckpointError::NoTrustedSignature);
    }
    Ok(signed_by)
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
fn check_text(text: &str) -> Result<(), CheckpointError> {
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

fn is_checkpoint_line(line: &str) -> bool {
    !line.is_empty() && !line.bytes().any(|b| b < 0x20)
}

/// signed-note: key names are non-empty and hold no Unicode space and no `+`; we also
/// refuse control characters, which no note may hold, and names over [`MAX_KEY_NAME`].
fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KEY_NAME
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c < ' ' || c == '+')
}

fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if is_key_name(name) {
        Ok(())
    } else {
        Err(CheckpointError::InvalidKeyName {
            name: excerpt(name),
        })
    }
}

fn key_fault(fault: VerifierKeyFault) -> CheckpointError {
    CheckpointError::InvalidVerifierKey { fault }
}

/// A public key that is a canonical point encoding and not of small order.
fn ed25519_key(bytes: &[u8; 32]) -> Result<VerifyingKey, VerifierKeyFault> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| VerifierKeyFault::InvalidPoint)?;
    if key.to_edwards().compress().to_bytes() != *bytes {
        return Err(VerifierKeyFault::InvalidPoint);
    }
    if key.is_weak() {
        return Err(VerifierKeyFault::WeakKey);
    }
    Ok(key)
}

/// The first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), as a big-endian u32.
fn key_hash(name: &str, public_key: &[u8; 32]) -> u32 {
    let digest: [u8; 32] = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ED25519])
        .chain_update(public_key)
        .finalize()
        .into();
    let [a, b, c, d, ..] = digest;
    u32::from_be_bytes([a, b, c, d])
}

fn parse_key_hash(hex_text: &str) -> Option<u32> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if hex_text.len() != 8 || !hex_text.bytes().all(lower_hex) {
        return None;
    }
    u32::from_str_radix(hex_text, 16).ok()
}

/// Decodes canonical padded standard base64 (RFC 4648 §4): the only spelling of its bytes.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(text).ok()?;
    (STANDARD.encode(&bytes) == text).then_some(bytes)
}

/// Parses canonical ASCII decimal: digits only, no leading zero unless the value is 0.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// At most 64 characters of an offending value, for an error.
fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use CheckpointError as E;

    const ORIGIN: &str = "log.example.com/custody/acme";

    fn signer() -> NoteSigner {
        NoteSigner::from_seed(ORIGIN, [0x42; 32]).unwrap()
    }

    fn witness() -> NoteSigner {
        NoteSigner::from_seed("witness.example.com", [0x07; 32]).unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size: 3,
            root: [0xab; 32],
            extensions: vec![],
        }
    }

    fn signed() -> String {
        signer().sign_checkpoint(&checkpoint()).unwrap()
    }

    fn last_line(note: &str) -> &str {
        note.lines().last().unwrap()
    }

    #[test]
    fn signs_and_verifies_like_go_sumdb_note() {
        // The example of golang.org/x/mod/sumdb/note's package documentation: private key
        // PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz.
        let seed = hex::decode("810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173");
        let signer = NoteSigner::from_seed("PeterNeumann", seed.unwrap().try_into().unwrap());
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let signer = signer.unwrap();
        assert_eq!(signer.verifier_key().to_string(), vkey);
        assert_eq!(
            vkey.parse::<NoteVerifierKey>().unwrap(),
            signer.verifier_key()
        );
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let note = format!(
            "{text}\n\u{2014} PeterNeumann \
             x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUg\
             YN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        assert_eq!(signer.sign_note(text).unwrap(), note);
        let parsed = parse_signed_note(note.as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed.signatures()[0].name(), "PeterNeumann");
        assert_eq!(parsed.signatures()[0].key_hash(), 0xc74f20a3);
        assert_eq!(parsed.signatures()[0].signature().len(), 64);
    }

    #[test]
    fn signed_checkpoints_round_trip() {
        let keys = [witness().verifier_key(), signer().verifier_key()];
        for extensions in [
            vec![],
            vec!["one extension".to_owned(), "another".to_owned()],
        ] {
            let checkpoint = Checkpoint {
                extensions,
                ..checkpoint()
            };
            let note = signer().sign_checkpoint(&checkpoint).unwrap();
            let verified = verify_checkpoint(note.as_bytes(), &keys).unwrap();
            let text = checkpoint.to_note_text().unwrap();
            assert_eq!(verified.checkpoint(), &checkpoint);
            assert_eq!(verified.note_text(), text.as_bytes());
            assert_eq!(
                verified.note_text_digest(),
                <[u8; 32]>::from(Sha256::digest(&text))
            );
            assert_eq!(verified.signed_by(), &[signer().verifier_key()]);
            assert_eq!(Checkpoint::from_note_text(&text), Ok(checkpoint));
        }
    }

    #[test]
    fn untrusted_signatures_are_kept_and_ignored() {
        let text = checkpoint().to_note_text().unwrap();
        let other = witness().sign_note("another text\n").unwrap();
        let note = format!("{}{}\n", signed(), last_line(&other));
        let parsed = parse_signed_note(note.as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed.signatures().len(), 2);
        assert!(verify_checkpoint(note.as_bytes(), &[signer().verifier_key()]).is_ok());
        let both = [signer().verifier_key(), witness().verifier_key()];
        let err = verify_checkpoint(note.as_bytes(), &both).unwrap_err();
        let key_hash = witness().verifier_key().key_hash();
        assert_eq!(
            err,
            E::SignatureInvalid {
                name: "witness.example.com".into(),
                key_hash
            }
        );
    }

    #[test]
    fn every_single_byte_change_is_rejected() {
        let note = signed().into_bytes();
        let keys = [signer().verifier_key()];
        for i in 0..note.len() {
            for delta in [0x01, 0x20, 0x80] {
                let mut bad = note.clone();
                bad[i] ^= delta;
                assert!(
                    verify_checkpoint(&bad, &keys).is_err(),
                    "byte {i} ^ {delta:#04x}"
                );
            }
            let mut removed = note.clone();
            removed.remove(i);
            assert!(
                verify_checkpoint(&removed, &keys).is_err(),
                "byte {i} removed"
            );
            let mut inserted = note.clone();
            inserted.insert(i, b'A');
            assert!(
                verify_checkpoint(&inserted, &keys).is_err(),
                "A inserted at {i}"
            );
        }
    }

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

    #[test]
    fn checkpoint_text_is_strict() {
        let root = STANDARD.encode([0xab; 32]);
        let cases = [
            (format!("{ORIGIN}\n3\n"), E::TooFewLines { count: 2 }),
            (format!("{ORIGIN}\n3\n{root}\n\n"), E::EmptyLine { line: 4 }),
            (format!("\n3\n{root}\n"), E::EmptyLine { line: 1 }),
            (
                format!("{ORIGIN}\n03\n{root}\n"),
                E::InvalidTreeSize { text: "03".into() },
            ),
            (
                format!("{ORIGIN}\n+3\n{root}\n"),
                E::InvalidTreeSize { text: "+3".into() },
            ),
            (
                format!("{ORIGIN}\n 3\n{root}\n"),
                E::InvalidTreeSize { text: " 3".into() },
            ),
            (
                format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
                E::InvalidTreeSize {
                    text: "18446744073709551616".into(),
                },
            ),
            (
                format!("{ORIGIN}\n3\n{}\n", STANDARD.encode([1; 31])),
                E::InvalidRootHash {
                    text: STANDARD.encode([1; 31]),
                },
            ),
            (
                format!("{ORIGIN}\n3\n{}B=\n", &root[..42]),
                E::InvalidRootHash {
                    text: format!("{}B=", &root[..42]),
                },
            ),
        ];
        let keys = [signer().verifier_key()];
        for (text, want) in cases {
            let note = signer().sign_note(&text).unwrap();
            assert_eq!(
                verify_checkpoint(note.as_bytes(), &keys),
                Err(want),
                "{text:?}"
            );
        }
        let max = format!("{ORIGIN}\n18446744073709551615\n{root}\n");
        assert_eq!(
            Checkpoint::from_note_text(&max).map(|c| c.size),
            Ok(u64::MAX)
        );
    }

    #[test]
    fn builders_refuse_what_would_not_parse() {
        let cases = [
            (
                Checkpoint {
                    origin: String::new(),
                    ..checkpoint()
                },
                E::InvalidOrigin,
            ),
            (
                Checkpoint {
                    origin: "a\nb".into(),
                    ..checkpoint()
                },
                E::InvalidOrigin,
            ),
            (
                Checkpoint {
                    extensions: vec!["x".into(), String::new()],
                    ..checkpoint()
                },
                E::InvalidExtension { index: 1 },
            ),
            (
                Checkpoint {
                    extensions: vec!["x\ry".into()],
                    ..checkpoint()
                },
                E::InvalidExtension { index: 0 },
            ),
        ];
        for (checkpoint, want) in cases {
            assert_eq!(checkpoint.to_note_text(), Err(want));
        }
        for (text, want) in [
            ("no newline", E::MissingFinalNewline),
            (
                "a\rb\n",
                E::ControlCharacter {
                    offset: 1,
                    byte: b'\r',
                },
            ),
        ] {
            assert_eq!(signer().sign_note(text), Err(want));
        }
        for name in ["", "a b", "a+b", "a\u{2003}b", "a\tb"] {
            let err = NoteSigner::from_seed(name, [1; 32]).unwrap_err();
            assert_eq!(err, E::InvalidKeyName { name: name.into() });
        }
    }

    #[test]
    fn verifier_keys_are_strict() {
        let vkey = signer().verifier_key().to_string();
        assert_eq!(vkey.parse::<NoteVerifierKey>().unwrap().to_string(), vkey);
        // Every proper substring and every one-byte increment is refused.
        for i in 0..=vkey.len() {
            for j in i + 1..=vkey.len() {
                if (i, j) != (0, vkey.len()) {
                    let part = vkey.get(i..j).unwrap_or("");
                    assert!(part.parse::<NoteVerifierKey>().is_err(), "{part}");
                }
            }
        }
        for i in 0..vkey.len() {
            let mut bytes = vkey.clone().into_bytes();
            bytes[i] = bytes[i].wrapping_add(1);
            if let Ok(text) = String::from_utf8(bytes) {
                assert!(text.parse::<NoteVerifierKey>().is_err(), "{text}");
            }
        }
        let public = signer().verifier_key().public_key();
        let encode = |prefix: &[u8]| STANDARD.encode([prefix, &public[..]].concat());
        let hash = format!("{:08x}", signer().verifier_key().key_hash());
        let fault = |fault| Err(E::InvalidVerifierKey { fault });
        let cases = [
            (format!("{ORIGIN}+{hash}"), fault(VerifierKeyFault::Syntax)),
            (
                format!("{ORIGIN}+{}+{}", hash.to_uppercase(), encode(&[1])),
                fault(VerifierKeyFault::KeyHashSyntax),
            ),
            (
                format!("{ORIGIN}+{hash}+{}", encode(&[2])),
                fault(VerifierKeyFault::UnsupportedType { id: 2 }),
            ),
            (
                format!("{ORIGIN}+{hash}+{}", encode(&[1, 0])),
                fault(VerifierKeyFault::KeyLength { len: 33 }),
            ),
            (
                format!("{ORIGIN}+00000000+{}", encode(&[1])),
                fault(VerifierKeyFault::KeyHashMismatch {
                    written: 0,
                    computed: signer().verifier_key().key_hash(),
                }),
            ),
            (
                format!("a b+{hash}+{}", encode(&[1])),
                Err(E::InvalidKeyName { name: "a b".into() }),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<NoteVerifierKey>(), want, "{text}");
        }
        // The identity point has small order; y = 2^255 - 1 is not a canonical encoding.
        let mut identity = [0; 32];
        identity[0] = 1;
        assert_eq!(
            NoteVerifierKey::new("k", &identity),
            fault(VerifierKeyFault::WeakKey)
        );
        let mut non_canonical = [0xff; 32];
        non_canonical[31] = 0x7f;
        assert_eq!(
            NoteVerifierKey::new("k", &non_canonical),
            fault(VerifierKeyFault::InvalidPoint)
        );
    }

    #[test]
    fn signer_debug_hides_the_seed() {
        let shown = format!("{:?}", signer());
        assert!(
            shown.contains(&signer().verifier_key().to_string()),
            "{shown}"
        );
        assert!(
            !shown.contains("4242") && !shown.contains("66, 66"),
            "{shown}"
        );
        assert!(
            !shown.contains(&STANDARD.encode([0x42; 32])[..16]),
            "{shown}"
        );
    }
}
