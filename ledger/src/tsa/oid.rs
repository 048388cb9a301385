//! Object identifiers (content octets) the TSA client and the development TSA write.

/// id-sha256 (2.16.840.1.101.3.4.2.1).
pub(crate) const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// id-signedData (1.2.840.113549.1.7.2).
pub(crate) const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// id-ct-TSTInfo (1.2.840.113549.1.9.16.1.4).
pub(crate) const CT_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
/// id-contentType (1.2.840.113549.1.9.3).
pub(crate) const CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
/// id-messageDigest (1.2.840.113549.1.9.4).
pub(crate) const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
/// id-aa-signingCertificateV2 (1.2.840.113549.1.9.16.2.47).
pub(crate) const SIGNING_CERTIFICATE_V2: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
];
/// ecdsa-with-SHA256 (1.2.840.10045.4.3.2).
pub(crate) const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// id-ecPublicKey (1.2.840.10045.2.1).
pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 / secp256r1 (1.2.840.10045.3.1.7).
pub(crate) const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// id-at-commonName (2.5.4.3).
pub(crate) const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// id-at-organizationName (2.5.4.10).
pub(crate) const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
/// id-at-organizationalUnitName (2.5.4.11).
pub(crate) const ORGANIZATIONAL_UNIT: &[u8] = &[0x55, 0x04, 0x0b];
/// id-ce-subjectKeyIdentifier (2.5.29.14).
pub(crate) const SUBJECT_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x0e];
/// id-ce-keyUsage (2.5.29.15).
pub(crate) const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
/// id-ce-basicConstraints (2.5.29.19).
pub(crate) const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// id-ce-authorityKeyIdentifier (2.5.29.35).
pub(crate) const AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x23];
/// id-ce-extKeyUsage (2.5.29.37).
pub(crate) const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
/// id-kp-timeStamping (1.3.6.1.5.5.7.3.8).
pub(crate) const KP_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use crate::tsa::der::oid_from_dotted;

    #[test]
    fn constants_match_their_dotted_names() {
        let table: [(&[u8], &str); 18] = [
            (SHA256, "2.16.840.1.101.3.4.2.1"),
            (SIGNED_DATA, "1.2.840.113549.1.7.2"),
            (CT_TST_INFO, "1.2.840.113549.1.9.16.1.4"),
            (CONTENT_TYPE, "1.2.840.113549.1.9.3"),
            (MESSAGE_DIGEST, "1.2.840.113549.1.9.4"),
            (SIGNING_CERTIFICATE_V2, "1.2.840.113549.1.9.16.2.47"),
            (ECDSA_WITH_SHA256, "1.2.840.10045.4.3.2"),
            (EC_PUBLIC_KEY, "1.2.840.10045.2.1"),
            (PRIME256V1, "1.2.840.10045.3.1.7"),
            (COMMON_NAME, "2.5.4.3"),
            (ORGANIZATION, "2.5.4.10"),
            (ORGANIZATIONAL_UNIT, "2.5.4.11"),
            (SUBJECT_KEY_IDENTIFIER, "2.5.29.14"),
            (KEY_USAGE, "2.5.29.15"),
            (BASIC_CONSTRAINTS, "2.5.29.19"),
            (AUTHORITY_KEY_IDENTIFIER, "2.5.29.35"),
            (EXT_KEY_USAGE, "2.5.29.37"),
            (KP_TIME_STAMPING, "1.3.6.1.5.5.7.3.8"),
        ];
        for (bytes, dotted) in table {
            assert_eq!(oid_from_dotted(dotted).unwrap(), bytes, "{dotted}");
        }
    }
}
