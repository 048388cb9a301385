//! Digests, public keys and the signature schemes that certificates and CMS SignerInfos
//! use: RSA PKCS#1 v1.5 (2048–4096 bits) and ECDSA on P-256 and P-384.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use sha1::Digest as _;

use std::sync::OnceLock;

use super::montgomery::Modulus;
use super::oid;
use crate::der::{self, Tlv, tag};

/// The digest algorithms this verifier computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-1 (only for message imprints and ESSCertID v1, never for signatures).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm an `AlgorithmIdentifier` OID (content octets) names, if known.
    pub(crate) fn from_oid(oid_bytes: &[u8]) -> Option<Self> {
        match oid_bytes {
            oid::SHA1 => Some(Self::Sha1),
            oid::SHA256 => Some(Self::Sha256),
            oid::SHA384 => Some(Self::Sha384),
            oid::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The lower-case name used in reports: `sha1`, `sha256`, `sha384`, `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The DER `DigestInfo` prefix PKCS#1 v1.5 puts before the digest (RFC 8017 §9.2).
    fn pkcs1_prefix(self) -> &'static [u8] {
        match self {
            Self::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
            Self::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Self::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Self::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// A signature scheme: the key type and the digest signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 over the given digest.
    RsaPkcs1v15(DigestAlgorithm),
    /// ECDSA over the given digest (any supported curve).
    Ecdsa(DigestAlgorithm),
}

impl SignatureScheme {
    /// The scheme a certificate's `signatureAlgorithm` OID names (SHA-1 is refused).
    pub(crate) fn from_signature_oid(oid_bytes: &[u8]) -> Option<Self> {
        use DigestAlgorithm::{Sha256, Sha384, Sha512};
        match oid_bytes {
            oid::SHA256_WITH_RSA => Some(Self::RsaPkcs1v15(Sha256)),
            oid::SHA384_WITH_RSA => Some(Self::RsaPkcs1v15(Sha384)),
            oid::SHA512_WITH_RSA => Some(Self::RsaPkcs1v15(Sha512)),
            oid::ECDSA_WITH_SHA256 => Some(Self::Ecdsa(Sha256)),
            oid::ECDSA_WITH_SHA384 => Some(Self::Ecdsa(Sha384)),
            oid::ECDSA_WITH_SHA512 => Some(Self::Ecdsa(Sha512)),
            _ => None,
        }
    }

    /// The conventional name, e.g. `sha256WithRSAEncryption` or `ecdsa-with-SHA384`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaPkcs1v15(DigestAlgorithm::Sha1) => "sha1WithRSAEncryption",
            Self::RsaPkcs1v15(DigestAlgorithm::Sha256) => "sha256WithRSAEncryption",
            Self::RsaPkcs1v15(DigestAlgorithm::Sha384) => "sha384WithRSAEncryption",
            Self::RsaPkcs1v15(DigestAlgorithm::Sha512) => "sha512WithRSAEncryption",
            Self::Ecdsa(DigestAlgorithm::Sha1) => "ecdsa-with-SHA1",
            Self::Ecdsa(DigestAlgorithm::Sha256) => "ecdsa-with-SHA256",
            Self::Ecdsa(DigestAlgorithm::Sha384) => "ecdsa-with-SHA384",
            Self::Ecdsa(DigestAlgorithm::Sha512) => "ecdsa-with-SHA512",
        }
    }

    /// The digest this scheme signs.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Self::RsaPkcs1v15(d) | Self::Ecdsa(d) => d,
        }
    }
}

/// Why a SubjectPublicKeyInfo is not a key this verifier can use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Neither rsaEncryption nor id-ecPublicKey.
    #[error("unsupported public key algorithm {oid}")]
    UnsupportedAlgorithm {
        /// The algorithm OID, dotted.
        oid: String,
    },
    /// An EC key on a curve other than P-256 or P-384 (or without a named curve).
    #[error("unsupported elliptic curve {curve}")]
    UnsupportedCurve {
        /// The curve OID, dotted, or `none`.
        curve: String,
    },
    /// An RSA modulus outside 2048–4096 bits.
    #[error("RSA key of {bits} bits is outside the accepted 2048–4096")]
    RsaSize {
        /// The modulus size.
        bits: usize,
    },
    /// The key bytes do not decode.
    #[error("malformed {algorithm} public key")]
    Malformed {
        /// `rsa` or `ec`.
        algorithm: &'static str,
    },
}

/// Why a signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature algorithm is not one this verifier accepts.
    #[error("unsupported signature algorithm {oid}")]
    UnsupportedAlgorithm {
        /// The algorithm OID, dotted.
        oid: String,
    },
    /// The signing certificate's key cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// An RSA scheme with an EC key or the other way round.
    #[error("{scheme} cannot be verified with a {key} key")]
    KeyMismatch {
        /// The scheme's name.
        scheme: &'static str,
        /// The key, e.g. `ecdsa-p256`.
        key: String,
    },
    /// The signature value is not a well-formed signature for the key.
    #[error("malformed signature value")]
    MalformedSignature,
    /// The mathematics said no.
    #[error("signature does not verify")]
    Invalid,
}

/// An RSA public key (2048–4096 bits), with its Montgomery constants computed on first use.
#[derive(Clone, Debug)]
pub struct RsaKey {
    key: RsaPublicKey,
    modulus: OnceLock<Option<Modulus>>,
}

impl RsaKey {
    /// The key as the `rsa` crate holds it.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.key
    }

    fn modulus(&self) -> Option<&Modulus> {
        self.modulus
            .get_or_init(|| Modulus::new(self.key.n()))
            .as_ref()
    }
}

/// A public key this verifier can verify with.
#[derive(Clone, Debug)]
pub enum PublicKey {
    /// An RSA key (2048–4096 bits).
    Rsa(RsaKey),
    /// An ECDSA key on P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// An ECDSA key on P-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Decodes a SubjectPublicKeyInfo's algorithm, parameters and key bits.
    pub(crate) fn from_spki(
        algorithm: &[u8],
        parameters: Option<Tlv<'_>>,
        key: &[u8],
    ) -> Result<Self, KeyError> {
        match algorithm {
            oid::RSA_ENCRYPTION => rsa_key(key),
            oid::EC_PUBLIC_KEY => {
                let curve = parameters.and_then(|p| p.oid().ok()).map(|o| o.as_bytes());
                let malformed = KeyError::Malformed { algorithm: "ec" };
                match curve {
                    Some(oid::SECP256R1) => p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                        .map(Self::P256)
                        .map_err(|_| malformed),
                    Some(oid::SECP384R1) => p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                        .map(Self::P384)
                        .map_err(|_| malformed),
                    other => Err(KeyError::UnsupportedCurve {
                        curve: other.map_or("none".to_owned(), der::dotted),
                    }),
                }
            }
            other => Err(KeyError::UnsupportedAlgorithm {
                oid: der::dotted(other),
            }),
        }
    }

    /// A short description for reports: `rsa-4096`, `ecdsa-p256`, `ecdsa-p384`.
    pub fn describe(&self) -> String {
        match self {
            Self::Rsa(key) => format!("rsa-{}", key.key.n().bits()),
            Self::P256(_) => "ecdsa-p256".to_owned(),
            Self::P384(_) => "ecdsa-p384".to_owned(),
        }
    }

    /// Verifies `signature` over an already computed `digest` with the given scheme.
    pub(crate) fn verify_digest(
        &self,
        scheme: SignatureScheme,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        match (self, scheme) {
            (Self::Rsa(key), SignatureScheme::RsaPkcs1v15(alg)) => {
                verify_pkcs1v15(key, alg, digest, signature)
            }
            (Self::P256(key), SignatureScheme::Ecdsa(_)) => {
                let sig = ecdsa_signature::<32>(signature).and_then(|rs| {
                    p256::ecdsa::Signature::from_slice(&rs)
                        .map_err(|_| SignatureError::MalformedSignature)
                })?;
                key.verify_prehash(digest, &sig)
                    .map_err(|_| SignatureError::Invalid)
            }
            (Self::P384(key), SignatureScheme::Ecdsa(_)) => {
                let sig = ecdsa_signature::<48>(signature).and_then(|rs| {
                    p384::ecdsa::Signature::from_slice(&rs)
                        .map_err(|_| SignatureError::MalformedSignature)
                })?;
                key.verify_prehash(digest, &sig)
                    .map_err(|_| SignatureError::Invalid)
            }
            (key, scheme) => Err(SignatureError::KeyMismatch {
                scheme: scheme.name(),
                key: key.describe(),
            }),
        }
    }
}

/// RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2): the public operation (see
/// [`super::montgomery`]), then a byte comparison with the one valid encoding
/// `00 01 FF…FF 00 DigestInfo(digest)` (at least 8 octets of FF).
fn verify_pkcs1v15(
    key: &RsaKey,
    digest_algorithm: DigestAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let size = key.key.size();
    let prefix = digest_algorithm.pkcs1_prefix();
    let padding = size
        .checked_sub(3 + prefix.len() + digest.len())
        .filter(|p| *p >= 8);
    let (Some(padding), true) = (padding, signature.len() == size) else {
        return Err(SignatureError::MalformedSignature);
    };
    let modulus = key
        .modulus()
        .ok_or(SignatureError::Key(KeyError::Malformed {
            algorithm: "rsa",
        }))?;
    let encoded = modulus
        .power(signature, &key.key.e().to_bytes_be())
        .ok_or(SignatureError::MalformedSignature)?;
    let mut expected = Vec::with_capacity(size);
    expected.extend([0x00, 0x01]);
    expected.resize(2 + padding, 0xff);
    expected.push(0x00);
    expected.extend(prefix);
    expected.extend(digest);
    if encoded == expected {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// Decodes `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_key(key: &[u8]) -> Result<PublicKey, KeyError> {
    let malformed = KeyError::Malformed { algorithm: "rsa" };
    let parse = || -> Result<(BigUint, BigUint), der::DerError> {
        let seq = der::parse_single(key, tag::SEQUENCE)?;
        let mut fields = seq.reader();
        let n = fields.read(tag::INTEGER)?.integer_bytes()?;
        let e = fields.read(tag::INTEGER)?.integer_bytes()?;
        fields.finish()?;
        Ok((BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)))
    };
    let (n, e) = parse().map_err(|_| malformed.clone())?;
    let bits = n.bits();
    if !(2048..=4096).contains(&bits) {
        return Err(KeyError::RsaSize { bits });
    }
    RsaPublicKey::new(n, e)
        .map(|key| {
            PublicKey::Rsa(RsaKey {
                key,
                modulus: OnceLock::new(),
            })
        })
        .map_err(|_| malformed)
}

/// Decodes `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` into fixed-width `r || s`.
fn ecdsa_signature<const N: usize>(signature: &[u8]) -> Result<Vec<u8>, SignatureError> {
    let parse = || -> Result<Vec<u8>, der::DerError> {
        let seq = der::parse_single(signature, tag::SEQUENCE)?;
        let mut fields = seq.reader();
        let r = fields.read(tag::INTEGER)?.integer_bytes()?;
        let s = fields.read(tag::INTEGER)?.integer_bytes()?;
        fields.finish()?;
        let mut out = vec![0u8; 2 * N];
        for (value, half) in [(r, 0), (s, N)] {
            let value = value.strip_prefix(&[0]).unwrap_or(value);
            let start = (half + N)
                .checked_sub(value.len())
                .filter(|start| *start >= half);
            let slot = start.and_then(|start| out.get_mut(start..half + N));
            match slot {
                Some(slot) => slot.copy_from_slice(value),
                None => {
                    return Err(der::DerError::InvalidValue {
                        kind: "ECDSA scalar",
                        offset: 0,
                    });
                }
            }
        }
        Ok(out)
    };
    parse().map_err(|_| SignatureError::MalformedSignature)
}
