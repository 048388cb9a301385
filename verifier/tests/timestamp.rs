//! RFC 3161 verification against tokens from the local openssl test TSA (`testdata/tsa/`,
//! made by `testdata/tsa/regen.sh`): positives verify, each negative fails with the
//! error of its step, and no input makes the verifier panic.

use custody_verifier::time::UtcTime;
use custody_verifier::timestamp::{
    EkuProblem, Imprint, TimestampError, TimestampOptions, TrustAnchors, ValidationTime,
    VerifiedTimestamp, verify_timestamp,
};
use custody_verifier::x509::{self, Certificate};
use proptest::prelude::*;
use sha2::Digest as _;

const DATA: &[u8] = include_bytes!("../../testdata/tsa/data.txt");
const ROOTS: &[u8] = include_bytes!("../../testdata/tsa/root-ca.pem");
const ROOT_EC: &[u8] = include_bytes!("../../testdata/tsa/root-ec.crt");
const ROOT_RSA: &[u8] = include_bytes!("../../testdata/tsa/root-rsa.crt");
const TSA_EC: &[u8] = include_bytes!("../../testdata/tsa/tsa-ec.crt");
const EC_TSR: &[u8] = include_bytes!("../../testdata/tsa/ec.tsr");
const EC_TST: &[u8] = include_bytes!("../../testdata/tsa/ec.tst");
const EC_NOCERT_TSR: &[u8] = include_bytes!("../../testdata/tsa/ec-nocert.tsr");
const EC_SHA1_TSR: &[u8] = include_bytes!("../../testdata/tsa/ec-sha1.tsr");
const RSA_CHAIN_TSR: &[u8] = include_bytes!("../../testdata/tsa/rsa-chain.tsr");
const RSA_CHAIN_TST: &[u8] = include_bytes!("../../testdata/tsa/rsa-chain.tst");
const NONCRITICAL_TST: &[u8] = include_bytes!("../../testdata/tsa/noncritical-eku.tst");

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";

fn anchors(pem: &[u8]) -> TrustAnchors {
    TrustAnchors::from_pem(pem).expect("anchors")
}

fn verify(
    token: &[u8],
    untrusted: &[Certificate],
    options: &TimestampOptions,
) -> Result<VerifiedTimestamp, TimestampError> {
    verify_timestamp(
        token,
        Imprint::Data(DATA),
        &anchors(ROOTS),
        untrusted,
        options,
    )
}

fn verify_default(token: &[u8]) -> Result<VerifiedTimestamp, TimestampError> {
    verify(token, &[], &TimestampOptions::default())
}

#[test]
fn ecdsa_token_and_response_verify() {
    for input in [EC_TSR, EC_TST] {
        let verified = verify_default(input).expect("ec token verifies");
        assert_eq!(verified.policy(), POLICY);
        assert_eq!(verified.hash_algorithm(), "sha256");
        assert_eq!(verified.imprint(), &sha2::Sha256::digest(DATA)[..]);
        assert_eq!(verified.signature_algorithm(), "ecdsa-with-SHA256");
        assert_eq!(
            verified.signer_subject(),
            "CN=Custody Test TSA (ECDSA P-256), O=Custody Test, C=ZZ"
        );
        assert_eq!(verified.chain().len(), 2);
        assert_eq!(
            verified.accuracy().map(|a| (a.seconds, a.millis)),
            Some((1, 500))
        );
        assert!(verified.ordering() && verified.nonce().is_some() && !verified.sha1_imprint());
        let (from, to) = verified.validated_at();
        assert!(from < verified.gen_time() && verified.gen_time() < to);
    }
}

#[test]
fn rsa_token_with_intermediate_and_embedded_root_verifies() {
    for input in [RSA_CHAIN_TSR, RSA_CHAIN_TST] {
        let verified = verify_default(input).expect("rsa token verifies");
        assert_eq!(verified.hash_algorithm(), "sha512");
        assert_eq!(verified.signature_algorithm(), "sha512WithRSAEncryption");
        assert_eq!(verified.signer_key(), "rsa-3072");
        assert_eq!(
            verified.chain(),
            [
                "CN=Custody Test TSA (RSA 3072), O=Custody Test, C=ZZ",
                "CN=Custody Test TSA CA (RSA 4096), O=Custody Test, C=ZZ",
                "CN=Custody Test Root (RSA 4096), O=Custody Test, C=ZZ",
            ]
        );
    }
}

#[test]
fn digest_imprint_is_compared_as_given() {
    let digest = sha2::Sha256::digest(DATA);
    let ok = verify_timestamp(
        EC_TST,
        Imprint::Digest(&digest),
        &anchors(ROOTS),
        &[],
        &TimestampOptions::default(),
    );
    assert!(ok.is_ok());
    let short = verify_timestamp(
        EC_TST,
        Imprint::Digest(&digest[1..]),
        &anchors(ROOTS),
        &[],
        &TimestampOptions::default(),
    );
    assert!(matches!(short, Err(TimestampError::ImprintMismatch { .. })));
}

#[test]
fn other_data_is_an_imprint_mismatch() {
    let result = verify_timestamp(
        EC_TST,
        Imprint::Data(b"other"),
        &anchors(ROOTS),
        &[],
        &TimestampOptions::default(),
    );
    let Err(TimestampError::ImprintMismatch {
        algorithm,
        expected,
        actual,
    }) = result
    else {
        panic!("expected ImprintMismatch, got {result:?}");
    };
    assert_eq!(
        (algorithm, actual),
        ("sha256", hex::encode(sha2::Sha256::digest(DATA)))
    );
    assert_eq!(expected, hex::encode(sha2::Sha256::digest(b"other")));
}

#[test]
fn a_changed_tstinfo_byte_breaks_the_message_digest() {
    let verified = verify_default(EC_TST).expect("baseline");
    let nonce = verified.nonce().expect("nonce");
    let mut token = EC_TST.to_vec();
    let at = token
        .windows(nonce.len())
        .position(|w| w == nonce)
        .expect("nonce in token");
    token[at] ^= 0x01;
    let error = verify_default(&token).expect_err("changed TSTInfo");
    assert!(
        matches!(error, TimestampError::MessageDigestMismatch { .. }),
        "{error}"
    );
    assert_eq!(error.step(), 4);
}

#[test]
fn a_changed_signature_byte_fails_the_signature() {
    for input in [EC_TST, RSA_CHAIN_TST] {
        let mut token = input.to_vec();
        if let Some(last) = token.last_mut() {
            *last ^= 0x01;
        }
        let error = verify_default(&token).expect_err("changed signature");
        assert!(matches!(error, TimestampError::Signature { .. }), "{error}");
        assert!(!error.is_malformed());
    }
}

#[test]
fn wrong_anchor_has_no_chain() {
    let result = verify_timestamp(
        EC_TST,
        Imprint::Data(DATA),
        &anchors(ROOT_RSA),
        &[],
        &TimestampOptions::default(),
    );
    let Err(TimestampError::NoChain { subject, .. }) = result else {
        panic!("expected NoChain, got {result:?}")
    };
    assert_eq!(
        subject,
        "CN=Custody Test TSA (ECDSA P-256), O=Custody Test, C=ZZ"
    );
    let rsa = verify_timestamp(
        RSA_CHAIN_TST,
        Imprint::Data(DATA),
        &anchors(ROOT_EC),
        &[],
        &TimestampOptions::default(),
    );
    assert!(
        matches!(rsa, Err(TimestampError::NoChain { .. })),
        "{rsa:?}"
    );
}

#[test]
fn validation_at_a_later_or_earlier_instant_fails() {
    for text in ["2100-01-01T00:00:00Z", "2000-01-01T00:00:00Z"] {
        let at = UtcTime::parse_rfc3339(text).expect("time");
        let options = TimestampOptions {
            validation_time: ValidationTime::At(at),
            ..TimestampOptions::default()
        };
        let result = verify(EC_TST, &[], &options);
        let Err(TimestampError::NotValidAt { at: checked, .. }) = result else {
            panic!("expected NotValidAt, got {result:?}")
        };
        assert_eq!(checked, at);
    }
    let gen_time = verify_default(EC_TST).expect("baseline").gen_time();
    let options = TimestampOptions {
        validation_time: ValidationTime::At(gen_time),
        ..TimestampOptions::default()
    };
    assert!(verify(EC_TST, &[], &options).is_ok());
}

#[test]
fn a_token_without_certificates_needs_the_signer_out_of_band() {
    let missing = verify_default(EC_NOCERT_TSR).expect_err("no signer certificate");
    assert!(
        matches!(missing, TimestampError::SignerNotFound { .. }),
        "{missing}"
    );
    let untrusted = x509::parse_pem_certificates(TSA_EC).expect("tsa cert");
    assert!(verify(EC_NOCERT_TSR, &untrusted, &TimestampOptions::default()).is_ok());
}

#[test]
fn non_critical_eku_is_refused_at_step_7() {
    let error = verify_default(NONCRITICAL_TST).expect_err("non-critical EKU");
    assert!(
        matches!(
            &error,
            TimestampError::SignerExtendedKeyUsage {
                problem: EkuProblem::NotCritical,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.step(), 7);
}

#[test]
fn sha1_imprint_is_reported_and_can_be_refused() {
    let verified = verify_default(EC_SHA1_TSR).expect("sha1 imprint allowed by default");
    assert!(verified.sha1_imprint());
    assert_eq!(verified.hash_algorithm(), "sha1");
    let strict = TimestampOptions {
        allow_sha1_imprint: false,
        ..TimestampOptions::default()
    };
    assert!(matches!(
        verify(EC_SHA1_TSR, &[], &strict),
        Err(TimestampError::Sha1ImprintRefused)
    ));
}

#[test]
fn nonce_and_policy_are_checked_when_asked() {
    let nonce = verify_default(EC_TST)
        .expect("baseline")
        .nonce()
        .expect("nonce")
        .to_vec();
    let good = TimestampOptions {
        expected_nonce: Some(nonce.clone()),
        expected_policy: Some(POLICY.to_owned()),
        ..TimestampOptions::default()
    };
    assert!(verify(EC_TST, &[], &good).is_ok());
    let mut other = nonce;
    other[0] ^= 0x40;
    let wrong_nonce = TimestampOptions {
        expected_nonce: Some(other),
        ..TimestampOptions::default()
    };
    assert!(matches!(
        verify(EC_TST, &[], &wrong_nonce),
        Err(TimestampError::NonceMismatch { .. })
    ));
    let wrong_policy = TimestampOptions {
        expected_policy: Some("1.2.3.4.1".to_owned()),
        ..TimestampOptions::default()
    };
    assert!(matches!(
        verify(EC_TST, &[], &wrong_policy),
        Err(TimestampError::PolicyMismatch { .. })
    ));
}

/// Offset of the PKIStatus value in a response whose PKIStatusInfo holds only the status.
fn status_offset(response: &[u8]) -> usize {
    let header = if response[1] & 0x80 == 0 {
        2
    } else {
        2 + usize::from(response[1] & 0x7f)
    };
    assert_eq!(&response[header..header + 4], [0x30, 0x03, 0x02, 0x01]);
    header + 4
}

#[test]
fn response_status_is_checked() {
    let at = status_offset(EC_TSR);
    let mut response = EC_TSR.to_vec();
    response[at] = 2;
    let error = verify_default(&response).expect_err("rejection");
    assert!(
        matches!(error, TimestampError::NotGranted { status: 2, .. }),
        "{error}"
    );
    response[at] = 1;
    assert!(
        verify_default(&response).is_ok(),
        "grantedWithMods is accepted"
    );
}

#[test]
fn garbage_is_malformed() {
    for input in [
        &b""[..],
        b"\x30\x00",
        b"not der",
        &EC_TST[..EC_TST.len() - 1],
    ] {
        let error = verify_default(input).expect_err("garbage");
        assert!(error.is_malformed(), "{error}");
        assert_eq!(error.step(), 1);
    }
    assert!(matches!(
        TrustAnchors::from_pem(b"no pem"),
        Err(TimestampError::Certificates { .. })
    ));
}

/// The byte ranges of a token where a change may still verify: the embedded root of the RSA
/// token (never used: the chain stops at the intermediate, which the anchor signed), and
/// the last octet of SignerInfo.signatureAlgorithm when it becomes sha512WithRSAEncryption,
/// which with digestAlgorithm SHA-512 means the same as rsaEncryption.
struct Unchecked {
    ranges: Vec<std::ops::Range<usize>>,
    equivalent: Option<(usize, u8)>,
}

fn unchecked_areas(token: &[u8]) -> Unchecked {
    let root = x509::parse_pem_certificates(ROOT_RSA).expect("root");
    let root_der = root[0].raw();
    let ranges = token
        .windows(root_der.len())
        .position(|w| w == root_der)
        .map(|start| start..start + root_der.len())
        .into_iter()
        .collect();
    // rsaEncryption AlgorithmIdentifier (OID and NULL) right before the signature OCTET STRING.
    let rsa_encryption = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04,
    ];
    let equivalent = token
        .windows(rsa_encryption.len())
        .rposition(|w| w == rsa_encryption)
        .map(|at| (at + 10, 0x0d));
    Unchecked { ranges, equivalent }
}

fn may_verify(allowed: &Unchecked, position: usize, value: u8) -> bool {
    allowed.ranges.iter().any(|r| r.contains(&position))
        || allowed.equivalent == Some((position, value))
}

#[test]
fn every_single_bit_flip_of_the_ecdsa_token_fails() {
    for position in 0..EC_TST.len() {
        let mut token = EC_TST.to_vec();
        token[position] ^= 0x01;
        assert!(
            verify_default(&token).is_err(),
            "flip at {position} still verifies"
        );
    }
}

#[test]
fn the_rsa_token_has_exactly_the_expected_unchecked_areas() {
    let allowed = unchecked_areas(RSA_CHAIN_TST);
    assert_eq!(allowed.ranges.len(), 1, "the embedded root is found");
    let (position, value) = allowed.equivalent.expect("rsaEncryption found");
    let mut token = RSA_CHAIN_TST.to_vec();
    token[position] = value;
    assert!(
        verify_default(&token).is_ok(),
        "sha512WithRSAEncryption is equivalent here"
    );
    token[position] = 0x0b;
    assert!(matches!(
        verify_default(&token),
        Err(TimestampError::SignatureAlgorithm { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = verify_default(&bytes);
    }

    #[test]
    fn single_byte_mutations_fail_unless_unchecked(
        which in 0usize..3,
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let original = [EC_TST, EC_TSR, RSA_CHAIN_TST][which];
        let position = position.index(original.len());
        prop_assume!(original[position] != value);
        let mut token = original.to_vec();
        token[position] = value;
        let mut allowed = unchecked_areas(original);
        if which == 1 {
            // grantedWithMods is as good as granted.
            allowed.equivalent = Some((status_offset(EC_TSR), 1));
        }
        if verify_default(&token).is_ok() {
            prop_assert!(may_verify(&allowed, position, value), "byte {position} := {value:#04x} still verifies");
        }
    }

    #[test]
    fn truncations_and_extensions_never_verify(cut in any::<prop::sample::Index>(), extra in any::<u8>()) {
        let cut = cut.index(EC_TST.len());
        prop_assert!(verify_default(&EC_TST[..cut]).is_err());
        let mut longer = EC_TST.to_vec();
        longer.push(extra);
        prop_assert!(verify_default(&longer).is_err());
    }
}
