//! Object identifiers of X.509 and of the algorithms this verifier knows, as DER content
//! octets (compared byte for byte; [`crate::der::dotted`] prints them).

/// `1.3.14.3.2.26` id-sha1
pub(crate) const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// `2.16.840.1.101.3.4.2.1` id-sha256
pub(crate) const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// `2.16.840.1.101.3.4.2.2` id-sha384
pub(crate) const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
/// `2.16.840.1.101.3.4.2.3` id-sha512
pub(crate) const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
/// `1.2.840.113549.1.1.1` rsaEncryption
pub(crate) const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `1.2.840.113549.1.1.11` sha256WithRSAEncryption
pub(crate) const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// `1.2.840.113549.1.1.12` sha384WithRSAEncryption
pub(crate) const SHA384_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
/// `1.2.840.113549.1.1.13` sha512WithRSAEncryption
pub(crate) const SHA512_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
/// `1.2.840.10045.2.1` id-ecPublicKey
pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `1.2.840.10045.3.1.7` secp256r1 (P-256)
pub(crate) const SECP256R1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `1.3.132.0.34` secp384r1 (P-384)
pub(crate) const SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// `1.2.840.10045.4.3.2` ecdsa-with-SHA256
pub(crate) const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// `1.2.840.10045.4.3.3` ecdsa-with-SHA384
pub(crate) const ECDSA_WITH_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
/// `1.2.840.10045.4.3.4` ecdsa-with-SHA512
pub(crate) const ECDSA_WITH_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
/// `2.5.29.14` id-ce-subjectKeyIdentifier
pub(crate) const CE_SUBJECT_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x0e];
/// `2.5.29.15` id-ce-keyUsage
pub(crate) const CE_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
/// `2.5.29.17` id-ce-subjectAltName
pub(crate) const CE_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// `2.5.29.19` id-ce-basicConstraints
pub(crate) const CE_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// `2.5.29.37` id-ce-extKeyUsage
pub(crate) const CE_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
/// `1.3.6.1.5.5.7.3.8` id-kp-timeStamping
pub(crate) const KP_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
/// `2.5.29.37.0` anyExtendedKeyUsage
pub(crate) const ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
/// `2.5.4.3` id-at-commonName
pub(crate) const AT_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// `2.5.4.6` id-at-countryName
pub(crate) const AT_COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
/// `2.5.4.10` id-at-organizationName
pub(crate) const AT_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
/// `2.5.4.11` id-at-organizationalUnitName
pub(crate) const AT_ORGANIZATIONAL_UNIT: &[u8] = &[0x55, 0x04, 0x0b];
