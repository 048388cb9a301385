//! RFC 3161 timestamp tokens: parsed from the bytes as received, then checked in numbered
//! steps ([`STEPS`]); success is a [`VerifiedTimestamp`], which only this module can build.
//!
//! The steps follow the conformance notes (`shared/conformance/tsa/NOTES.md` §5):
//!
//! 1. structure: TimeStampResp status granted/grantedWithMods (when a response is given),
//!    ContentInfo = signedData, exactly one SignerInfo, eContentType id-ct-TSTInfo with
//!    eContent present, versions (SignedData 3–5, SignerInfo 1 or 3 by sid, TSTInfo 1);
//! 2. message imprint: algorithm SHA-1/256/384/512 with NULL or absent parameters (SHA-1
//!    only while [`TimestampOptions::allow_sha1_imprint`]), equal to the data's digest;
//! 3. signer certificate found by sid (issuerAndSerialNumber or subjectKeyIdentifier)
//!    among the embedded and out-of-band certificates, in any order;
//! 4. signer digest SHA-256/384/512; signed attributes contentType = id-ct-TSTInfo and
//!    messageDigest = digest(eContent);
//! 5. signature over the signed attributes as received (tag retagged to SET OF): RSA
//!    PKCS#1 v1.5 2048–4096 bits or ECDSA P-256/P-384, with the SignerInfo's digest;
//! 6. ESS signingCertificate(V2) bound to the signer certificate;
//! 7. signer profile: critical EKU with only id-kp-timeStamping, keyUsage at most
//!    digitalSignature + nonRepudiation, not a CA;
//! 8. chain to a trust anchor, every certificate valid at the validation time (by default
//!    genTime ± accuracy: a TSA's word is checked against its certificate as it was when
//!    it spoke; the token and chain stay archived);
//! 9. TSTInfo.tsa (if present) names the signer; nonce and policy when the options ask;
//! 10. the report: [`VerifiedTimestamp`].

mod chain;
mod error;
mod ess;
mod oid;
mod signer;
mod token;
mod tst_info;

pub use chain::{MAX_CHAIN_LENGTH, TrustAnchors};
pub use error::{EkuProblem, TimestampError};
pub use tst_info::Accuracy;

use crate::der::tag;
use crate::time::UtcTime;
use crate::x509::{self, Certificate, DigestAlgorithm};
use tst_info::TstInfo;

/// The numbered verification steps, as reports print them (index 0 is step 1).
pub const STEPS: [&str; 10] = [
    "token structure (status, SignedData, one SignerInfo, TSTInfo v1)",
    "message imprint",
    "signer certificate found by sid",
    "contentType and messageDigest signed attributes",
    "signature over the signed attributes",
    "ESS signingCertificate(V2) bound to the signer",
    "signer certificate profile (critical EKU timeStamping only, keyUsage, not a CA)",
    "certificate chain to a trust anchor, valid at the validation time",
    "TSA name, nonce and policy",
    "report",
];

/// What the token must be a timestamp of.
#[derive(Clone, Copy, Debug)]
pub enum Imprint<'a> {
    /// The stamped bytes; hashed with the TSTInfo's hash algorithm.
    Data(&'a [u8]),
    /// The digest itself; compared byte for byte with the token's hashedMessage.
    Digest(&'a [u8]),
}

/// The instant the certificate chain must be valid at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValidationTime {
    /// genTime, widened by the token's accuracy (the default; RFC 3161 intent).
    #[default]
    GenTime,
    /// A caller-given instant (e.g. "now" as the caller knows it, for a current-time check).
    At(UtcTime),
}

/// Choices for [`verify_timestamp`]; the default suits archived tokens of a known TSA.
#[derive(Clone, Debug)]
pub struct TimestampOptions {
    /// When the chain must be valid (default: genTime).
    pub validation_time: ValidationTime,
    /// Accept SHA-1 message imprints (default true: real DigiCert Authenticode tokens use
    /// them; the report says so in [`VerifiedTimestamp::sha1_imprint`]).
    pub allow_sha1_imprint: bool,
    /// The nonce the request carried, as big-endian unsigned bytes; checked when set.
    pub expected_nonce: Option<Vec<u8>>,
    /// The policy OID (dotted) the TSA must have used; checked when set.
    pub expected_policy: Option<String>,
}

impl Default for TimestampOptions {
    fn default() -> Self {
        Self {
            validation_time: ValidationTime::GenTime,
            allow_sha1_imprint: true,
            expected_nonce: None,
            expected_policy: None,
        }
    }
}

/// A token that passed every step, with what it asserts and who asserted it.
#[derive(Clone, Debug)]
pub struct VerifiedTimestamp {
    gen_time: UtcTime,
    policy: String,
    serial_hex: String,
    hash_algorithm: &'static str,
    imprint: Vec<u8>,
    nonce: Option<Vec<u8>>,
    accuracy: Option<Accuracy>,
    ordering: bool,
    signer_subject: String,
    signer_serial_hex: String,
    signer_key: String,
    signer_digest_algorithm: &'static str,
    signature_algorithm: &'static str,
    chain: Vec<String>,
    sha1_imprint: bool,
    validated_from: UtcTime,
    validated_to: UtcTime,
}

impl VerifiedTimestamp {
    /// The TSA's genTime.
    pub fn gen_time(&self) -> UtcTime {
        self.gen_time
    }
    /// The TSA policy OID, dotted.
    pub fn policy(&self) -> &str {
        &self.policy
    }
    /// The TSTInfo serialNumber, lower-case hex of the INTEGER content.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }
    /// The imprint's hash algorithm: `sha1`, `sha256`, `sha384` or `sha512`.
    pub fn hash_algorithm(&self) -> &'static str {
        self.hash_algorithm
    }
    /// The token's hashedMessage.
    pub fn imprint(&self) -> &[u8] {
        &self.imprint
    }
    /// The nonce (INTEGER content octets), if the token has one.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.nonce.as_deref()
    }
    /// The accuracy, if the token states one.
    pub fn accuracy(&self) -> Option<Accuracy> {
        self.accuracy
    }
    /// The ordering flag.
    pub fn ordering(&self) -> bool {
        self.ordering
    }
    /// The signer certificate's subject (one line).
    pub fn signer_subject(&self) -> &str {
        &self.signer_subject
    }
    /// The signer certificate's serial number, hex.
    pub fn signer_serial_hex(&self) -> &str {
        &self.signer_serial_hex
    }
    /// The signer's key, e.g. `rsa-4096` or `ecdsa-p256`.
    pub fn signer_key(&self) -> &str {
        &self.signer_key
    }
    /// The SignerInfo's digest algorithm, e.g. `sha512`.
    pub fn signer_digest_algorithm(&self) -> &'static str {
        self.signer_digest_algorithm
    }
    /// The signature scheme, e.g. `sha512WithRSAEncryption` or `ecdsa-with-SHA256`.
    pub fn signature_algorithm(&self) -> &'static str {
        self.signature_algorithm
    }
    /// Subjects from the signer to the trust anchor (inclusive).
    pub fn chain(&self) -> &[String] {
        &self.chain
    }
    /// Whether the imprint is SHA-1 (accepted only because the options allow it).
    pub fn sha1_imprint(&self) -> bool {
        self.sha1_imprint
    }
    /// The window every certificate of the chain was valid over (equal ends for `At`).
    pub fn validated_at(&self) -> (UtcTime, UtcTime) {
        (self.validated_from, self.validated_to)
    }
}

/// Verifies a TimeStampResp or a bare TimeStampToken (DER) against the data or digest it
/// should stamp, a set of trust anchors, and optional out-of-band certificates.
pub fn verify_timestamp(
    input: &[u8],
    imprint: Imprint<'_>,
    anchors: &TrustAnchors,
    untrusted: &[Certificate],
    options: &TimestampOptions,
) -> Result<VerifiedTimestamp, TimestampError> {
    // Step 1.
    let token = token::parse(input)?;
    let tst = &token.tst_info;
    // Step 2.
    let hash = check_imprint(tst, imprint, options)?;
    // Step 3.
    let pool: Vec<&Certificate> = token.certificates.iter().chain(untrusted).collect();
    let signer = signer::find(&token.signer.sid, &pool)?;
    // Step 4.
    let digest = signer::digest_algorithm(&token)?;
    signer::check_attributes(&token, digest)?;
    // Step 5.
    let scheme = signer::check_signature(&token.signer, digest, signer)?;
    // Step 6.
    ess::check(&token.signer, signer)?;
    // Step 7.
    chain::check_signer_profile(signer)?;
    // Step 8.
    let window = validation_window(tst, options.validation_time);
    let path = chain::build(signer, &pool, anchors, window)?;
    // Step 9.
    check_tsa_name(tst, signer)?;
    check_requested(tst, options)?;
    // Step 10.
    Ok(VerifiedTimestamp {
        gen_time: tst.gen_time,
        policy: tst.policy.to_string(),
        serial_hex: hex::encode(tst.serial_number),
        hash_algorithm: hash.name(),
        imprint: tst.message_imprint.hashed_message.to_vec(),
        nonce: tst.nonce.map(<[u8]>::to_vec),
        accuracy: tst.accuracy,
        ordering: tst.ordering,
        signer_subject: signer.subject().to_owned(),
        signer_serial_hex: signer.serial_hex(),
        signer_key: signer
            .public_key()
            .map(x509::PublicKey::describe)
            .unwrap_or_default(),
        signer_digest_algorithm: digest.name(),
        signature_algorithm: scheme.name(),
        chain: path.iter().map(|c| c.subject().to_owned()).collect(),
        sha1_imprint: hash == DigestAlgorithm::Sha1,
        validated_from: window.earliest,
        validated_to: window.latest,
    })
}

/// Step 2: the imprint's algorithm is allowed and its hashedMessage is the expected digest.
fn check_imprint(
    tst: &TstInfo<'_>,
    imprint: Imprint<'_>,
    options: &TimestampOptions,
) -> Result<DigestAlgorithm, TimestampError> {
    let algorithm = &tst.message_imprint.hash_algorithm;
    let hash = DigestAlgorithm::from_oid(algorithm.oid.as_bytes()).ok_or_else(|| {
        TimestampError::UnsupportedDigest {
            step: 2,
            usage: "messageImprint",
            oid: algorithm.oid.to_string(),
        }
    })?;
    if !algorithm.has_null_or_absent_parameters() {
        return Err(TimestampError::AlgorithmParameters {
            step: 2,
            usage: "messageImprint",
            oid: algorithm.oid.to_string(),
        });
    }
    if hash == DigestAlgorithm::Sha1 && !options.allow_sha1_imprint {
        return Err(TimestampError::Sha1ImprintRefused);
    }
    let expected = match imprint {
        Imprint::Data(data) => hash.digest(data),
        Imprint::Digest(digest) => digest.to_vec(),
    };
    let actual = tst.message_imprint.hashed_message;
    if expected != actual {
        return Err(TimestampError::ImprintMismatch {
            algorithm: hash.name(),
            expected: hex::encode(expected),
            actual: hex::encode(actual),
        });
    }
    Ok(hash)
}

/// genTime ± accuracy, or the caller's instant.
fn validation_window(tst: &TstInfo<'_>, validation_time: ValidationTime) -> chain::Window {
    match validation_time {
        ValidationTime::At(at) => chain::Window {
            earliest: at,
            latest: at,
        },
        ValidationTime::GenTime => {
            let spread = tst
                .accuracy
                .map_or(0, |a| i128::try_from(a.as_nanos()).unwrap_or(i128::MAX));
            chain::Window {
                earliest: shift(tst.gen_time, -spread),
                latest: shift(tst.gen_time, spread),
            }
        }
    }
}

/// `time` moved by `nanos` nanoseconds, saturating.
fn shift(time: UtcTime, nanos: i128) -> UtcTime {
    let total = i128::from(time.unix_seconds()) * 1_000_000_000 + i128::from(time.subsec_nanos());
    let moved = total.saturating_add(nanos);
    let secs = i64::try_from(moved.div_euclid(1_000_000_000)).unwrap_or(if moved < 0 {
        i64::MIN
    } else {
        i64::MAX
    });
    let sub = u32::try_from(moved.rem_euclid(1_000_000_000)).unwrap_or(0);
    UtcTime::from_unix(secs, sub).unwrap_or(time)
}

/// Step 9, always: a present TSTInfo.tsa must name the signer — its subject as a
/// directoryName (byte-equal DER), or any other GeneralName byte-equal to a subjectAltName entry.
fn check_tsa_name(tst: &TstInfo<'_>, signer: &Certificate) -> Result<(), TimestampError> {
    let Some(tsa) = tst.tsa else { return Ok(()) };
    let directory_name = (tsa.tag == tag::context_constructed(4))
        .then(|| {
            let mut inner = tsa.reader();
            inner.read(tag::SEQUENCE).ok().filter(|_| inner.is_empty())
        })
        .flatten();
    let matches = match directory_name {
        Some(name) => name.raw == signer.subject_der(),
        None => signer.subject_alt_names_der().is_some_and(|names| {
            let mut reader = crate::der::Reader::new(names);
            std::iter::from_fn(|| reader.read_any().ok()).any(|n| n.raw == tsa.raw)
        }),
    };
    if matches {
        return Ok(());
    }
    let rendered = directory_name
        .and_then(|n| x509::render_name(n).ok())
        .unwrap_or_else(|| hex::encode(tsa.raw));
    Err(TimestampError::TsaNameMismatch {
        tsa: rendered,
        signer: signer.subject().to_owned(),
    })
}

/// Step 9, when asked: nonce (compared as unsigned integers) and policy OID.
fn check_requested(tst: &TstInfo<'_>, options: &TimestampOptions) -> Result<(), TimestampError> {
    if let Some(expected) = &options.expected_nonce {
        let trim = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|x| *x == 0).collect() };
        if tst.nonce.map(trim) != Some(trim(expected)) {
            return Err(TimestampError::NonceMismatch {
                expected: hex::encode(expected),
                actual: tst.nonce.map(hex::encode),
            });
        }
    }
    if let Some(expected) = &options.expected_policy {
        let actual = tst.policy.to_string();
        if *expected != actual {
            return Err(TimestampError::PolicyMismatch {
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(())
}
