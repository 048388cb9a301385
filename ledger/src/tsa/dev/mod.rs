//! [`DevTsa`]: the built-in development TSA of the embedded default (`custody serve` on a
//! fresh machine). It issues real RFC 3161 tokens, signed with a P-256 key whose
//! certificate chains to a root of its own, written to the data directory as
//! [`DEV_TSA_ROOT_FILE`]. Its policy is [`DEVELOPMENT_TSA_POLICY`] and every subject name
//! says "DEVELOPMENT ONLY – untrusted": its tokens verify only for an auditor who passes
//! that root as an anchor, and every report marks them development-only.
//!
//! Unlike the verifier, the development TSA reads the system clock: genTime is "now".

mod cert;
mod files;
mod token;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use custody_verifier::bundle::DEVELOPMENT_TSA_POLICY;
use custody_verifier::time::UtcTime;
use custody_verifier::timestamp::TrustAnchors;
use custody_verifier::x509::Certificate;
use p256::ecdsa::SigningKey;

use super::der;
use super::{
    DevTsaError, StampFuture, TimeStampReq, TimestampAuthority, TsaError, TsaTrust,
    granted_response,
};

/// The development root certificate (PEM) in the data directory; give it to
/// `custody-verify` as an anchor to accept development tokens.
pub const DEV_TSA_ROOT_FILE: &str = "dev-tsa-root.pem";
const ROOT_KEY_FILE: &str = "dev-tsa-root.key";
const TSA_CERT_FILE: &str = "dev-tsa.pem";
const TSA_KEY_FILE: &str = "dev-tsa.key";
const FILES: [&str; 4] = [
    DEV_TSA_ROOT_FILE,
    ROOT_KEY_FILE,
    TSA_CERT_FILE,
    TSA_KEY_FILE,
];

/// The development TSA: keys and certificates loaded from (or created in) a data directory.
pub struct DevTsa {
    key: SigningKey,
    certificate: Certificate,
    root: Certificate,
    root_pem: Vec<u8>,
    policy: Vec<u8>,
}

impl fmt::Debug for DevTsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevTsa")
            .field("certificate", &self.certificate.subject())
            .field("root", &self.root.subject())
            .finish_non_exhaustive()
    }
}

impl DevTsa {
    /// The name its tokens are stored under.
    pub const NAME: &'static str = "dev";

    /// Loads the development TSA from `data_dir`, or creates it there on first start
    /// (a new root and TSA key pair; keys written with mode 0600).
    pub fn open(data_dir: &Path) -> Result<Self, DevTsaError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DevTsaError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let present: Vec<bool> = FILES.iter().map(|f| data_dir.join(f).exists()).collect();
        if present.iter().all(|p| *p) {
            Self::load(data_dir)
        } else if let Some(missing) = FILES.iter().zip(&present).find(|(_, p)| !**p) {
            if present.iter().any(|p| *p) {
                return Err(DevTsaError::Incomplete {
                    dir: data_dir.to_owned(),
                    missing: missing.0,
                });
            }
            Self::create(data_dir)
        } else {
            Self::create(data_dir)
        }
    }

    fn load(dir: &Path) -> Result<Self, DevTsaError> {
        let (root, root_pem) = files::read_certificate(&dir.join(DEV_TSA_ROOT_FILE))?;
        let root_key = files::read_key(&dir.join(ROOT_KEY_FILE))?;
        let (certificate, _) = files::read_certificate(&dir.join(TSA_CERT_FILE))?;
        let key = files::read_key(&dir.join(TSA_KEY_FILE))?;
        check_pair(&dir.join(DEV_TSA_ROOT_FILE), &root, &root_key)?;
        check_pair(&dir.join(TSA_CERT_FILE), &certificate, &key)?;
        if certificate.verify_issued_by(&root).is_err() {
            return Err(DevTsaError::Certificate {
                path: dir.join(TSA_CERT_FILE),
                reason: format!("not issued by {DEV_TSA_ROOT_FILE}"),
            });
        }
        Ok(Self::assemble(key, certificate, root, root_pem))
    }

    fn create(dir: &Path) -> Result<Self, DevTsaError> {
        let random = |e: getrandom::Error| DevTsaError::Random {
            reason: e.to_string(),
        };
        let root_key = new_key().map_err(random)?;
        let key = new_key().map_err(random)?;
        let now = system_now();
        let root_id = cert::key_id(root_key.verifying_key());
        let root_name = cert::name(cert::ROOT_CN);
        let mut spec = cert::CertificateSpec {
            serial: random_serial().map_err(random)?,
            cn: cert::ROOT_CN,
            issuer: &root_name,
            authority_key_id: &root_id,
            subject_key: root_key.verifying_key(),
            now,
            ca: true,
        };
        let root_der = cert::issue(&spec, &root_key);
        spec.serial = random_serial().map_err(random)?;
        spec.cn = cert::TSA_CN;
        spec.subject_key = key.verifying_key();
        spec.ca = false;
        let tsa_der = cert::issue(&spec, &root_key);
        let parse =
            |der: &[u8]| Certificate::from_der(der).map_err(|source| DevTsaError::Built { source });
        let (root, certificate) = (parse(&root_der)?, parse(&tsa_der)?);

        files::write_key(&dir.join(ROOT_KEY_FILE), &root_key)?;
        files::write_key(&dir.join(TSA_KEY_FILE), &key)?;
        files::write_certificate(&dir.join(TSA_CERT_FILE), &tsa_der)?;
        files::write_certificate(&dir.join(DEV_TSA_ROOT_FILE), &root_der)?;
        tracing::info!(
            root = %dir.join(DEV_TSA_ROOT_FILE).display(),
            "created the development TSA (DEVELOPMENT ONLY – untrusted)"
        );
        let root_pem = files::pem("CERTIFICATE", &root_der).into_bytes();
        Ok(Self::assemble(key, certificate, root, root_pem))
    }

    fn assemble(
        key: SigningKey,
        certificate: Certificate,
        root: Certificate,
        root_pem: Vec<u8>,
    ) -> Self {
        Self {
            key,
            certificate,
            root,
            root_pem,
            policy: der::oid_from_dotted(DEVELOPMENT_TSA_POLICY).unwrap_or_default(),
        }
    }

    /// The root certificate, PEM (the content of [`DEV_TSA_ROOT_FILE`]).
    pub fn root_pem(&self) -> &[u8] {
        &self.root_pem
    }

    /// The root certificate.
    pub fn root(&self) -> &Certificate {
        &self.root
    }

    /// The TSA (signer) certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The trust this TSA's tokens are accepted under: its own root, its policy.
    pub fn trust(&self) -> TsaTrust {
        TsaTrust {
            anchors: TrustAnchors::from_certificates(vec![self.root.clone()]),
            untrusted: Vec::new(),
            expected_policy: Some(DEVELOPMENT_TSA_POLICY.to_owned()),
        }
    }

    /// Answers `request` with a granted TimeStampResp, genTime = the system clock.
    pub fn issue(&self, request: &TimeStampReq) -> Result<Vec<u8>, TsaError> {
        self.issue_at(request, system_now())
    }

    /// Answers `request` with a granted TimeStampResp with the given genTime.
    pub fn issue_at(&self, request: &TimeStampReq, gen_time: UtcTime) -> Result<Vec<u8>, TsaError> {
        let serial = random_serial().map_err(|e| TsaError::DevTsa {
            reason: format!("no randomness for the serial: {e}"),
        })?;
        let tst_info = token::tst_info(
            request,
            &token::TstFields {
                policy: &self.policy,
                serial: &serial,
                gen_time,
                tsa_name: self.certificate.subject_der(),
            },
        );
        let signer = token::TokenSigner {
            key: &self.key,
            certificate: self.certificate.raw(),
            issuer: self.certificate.issuer_der(),
            serial: self.certificate.serial(),
        };
        let token = token::signed_token(&tst_info, &signer, request.cert_req());
        Ok(granted_response(&token))
    }
}

impl TimestampAuthority for DevTsa {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn stamp(&self, request: TimeStampReq) -> StampFuture<'_> {
        Box::pin(async move { self.issue(&request) })
    }
}

/// A certificate belongs to a key when its public key is the key's.
fn check_pair(path: &Path, certificate: &Certificate, key: &SigningKey) -> Result<(), DevTsaError> {
    let point = key.verifying_key().to_encoded_point(false);
    if certificate.subject_public_key_info().key == point.as_bytes() {
        Ok(())
    } else {
        Err(DevTsaError::Certificate {
            path: PathBuf::from(path),
            reason: "the certificate is not for the stored key".to_owned(),
        })
    }
}

fn new_key() -> Result<SigningKey, getrandom::Error> {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)?;
        // Out of range (zero or ≥ n) with probability about 2^-32: draw again.
        if let Ok(key) = SigningKey::from_bytes(&bytes.into()) {
            return Ok(key);
        }
    }
}

/// A positive 127-bit random serial number.
fn random_serial() -> Result<[u8; 16], getrandom::Error> {
    let mut serial = [0u8; 16];
    getrandom::getrandom(&mut serial)?;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    Ok(serial)
}

/// The system clock as a [`UtcTime`] (the epoch if the clock is before 1970).
fn system_now() -> UtcTime {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    UtcTime::from_unix(secs, since.subsec_nanos()).unwrap_or(UtcTime::EPOCH)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;
    use custody_verifier::timestamp::{Imprint, TimestampOptions, verify_timestamp};

    #[test]
    fn a_token_verifies_against_its_own_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let tsa = DevTsa::open(dir.path()).unwrap();
        let request = TimeStampReq::with_nonce([5; 32], 42);
        let response = tsa.issue(&request).unwrap();
        let accepted = tsa
            .trust()
            .accept(&response, &[5; 32], &request.nonce_bytes())
            .unwrap();
        assert_eq!(accepted.policy, DEVELOPMENT_TSA_POLICY);
        assert!(accepted.tsa_subject.contains("DEVELOPMENT ONLY"));
        let report = verify_timestamp(
            &accepted.token_der,
            Imprint::Digest(&[5; 32]),
            &tsa.trust().anchors,
            &[],
            &TimestampOptions::default(),
        )
        .unwrap();
        assert_eq!(report.chain().len(), 2);
    }
}
