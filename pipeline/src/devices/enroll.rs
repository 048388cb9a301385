//! Enrollment: one-time tokens for an employee, redeemed by a device for its credential;
//! and authenticating a device by that credential.

use custody_verifier::time::UtcTime;

use super::secret::{self, DeviceSecret};
use super::{DeviceError, DeviceInfo, Devices, check_identifier, store};
use crate::clock;

/// The shortest and longest lifetime of an enrollment token.
const TOKEN_LIFETIME: std::ops::RangeInclusive<i64> = 60..=30 * 24 * 3600;

/// A new enrollment token. The secret is shown once, to the admin who asked.
#[derive(Debug)]
pub struct EnrollmentToken {
    /// The one-time secret (`cenr_…`); only its SHA-256 is stored.
    pub secret: DeviceSecret,
    /// The employee the device will belong to.
    pub subject: String,
    /// When the token stops working if unused.
    pub expires_at: UtcTime,
}

/// A newly enrolled device and its credential (shown once, to the device).
#[derive(Debug)]
pub struct Enrolled {
    /// The device's id, which its commands name.
    pub device_id: String,
    /// Its organisation.
    pub org: String,
    /// The employee it belongs to.
    pub subject: String,
    /// The device credential (`cdev_…`) for `Authorization: Device …`.
    pub credential: DeviceSecret,
}

/// The device a request acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// Its id.
    pub device_id: String,
    /// Its organisation: the only one whose commands it can see.
    pub org: String,
    /// The employee it belongs to.
    pub subject: String,
}

impl Devices {
    /// Issues a one-time enrollment token for `subject` in `org`, valid for
    /// `expires_in_seconds` (60 s to 30 days). `created_by` names the admin's token.
    pub async fn create_enrollment_token(
        &self,
        org: &str,
        subject: &str,
        created_by: &str,
        expires_in_seconds: i64,
    ) -> Result<EnrollmentToken, DeviceError> {
        check_identifier("subject", subject)?;
        if !TOKEN_LIFETIME.contains(&expires_in_seconds) {
            return Err(DeviceError::Invalid {
                field: "expires_in_seconds",
                reason: "must be between 60 and 2592000 (30 days)",
            });
        }
        let secret = DeviceSecret::generate(secret::ENROLLMENT_PREFIX)?;
        let now = clock::now_unix();
        let expires_at = now.saturating_add(expires_in_seconds);
        store::insert_enrollment_token(
            &self.db,
            &secret.digest(),
            (org, subject, created_by),
            now,
            expires_at,
        )
        .await?;
        Ok(EnrollmentToken {
            secret,
            subject: subject.to_owned(),
            expires_at: UtcTime::from_unix(expires_at, 0).unwrap_or(UtcTime::EPOCH),
        })
    }

    /// Redeems an enrollment token (once) for a new device named `name`.
    pub async fn enroll(&self, token: &str, name: &str) -> Result<Enrolled, DeviceError> {
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(DeviceError::Invalid {
                field: "name",
                reason: "must be 1–128 bytes without control characters",
            });
        }
        if !token.starts_with(secret::ENROLLMENT_PREFIX) || token.len() > 128 {
            return Err(DeviceError::EnrollmentRefused);
        }
        let device_id = secret::random_id("dev_")?;
        let credential = DeviceSecret::generate(secret::CREDENTIAL_PREFIX)?;
        let redeemed = store::redeem_enrollment(
            &self.db,
            &secret::digest(token),
            clock::now_unix(),
            (&device_id, name, &credential.digest()),
        )
        .await?;
        let (org, subject) = redeemed.ok_or(DeviceError::EnrollmentRefused)?;
        tracing::info!(%org, %device_id, "device enrolled");
        Ok(Enrolled {
            device_id,
            org,
            subject,
            credential,
        })
    }

    /// The device an `Authorization: Device <credential>` credential belongs to.
    pub async fn authenticate(&self, credential: &str) -> Result<DeviceIdentity, DeviceError> {
        if !credential.starts_with(secret::CREDENTIAL_PREFIX) || credential.len() > 128 {
            return Err(DeviceError::UnknownCredential);
        }
        let row = store::device_by_credential(&self.db, &secret::digest(credential)).await?;
        let (device_id, org, subject) = row.ok_or(DeviceError::UnknownCredential)?;
        Ok(DeviceIdentity {
            device_id,
            org,
            subject,
        })
    }

    /// Revokes `org`'s device `device_id`: its credential stops working at once and no
    /// further lock command is queued for it. False if `org` has no such active device.
    pub async fn revoke(&self, org: &str, device_id: &str) -> Result<bool, DeviceError> {
        let revoked =
            store::revoke_device(&self.db, org, device_id, crate::clock::now_unix()).await?;
        if revoked {
            tracing::info!(%org, %device_id, "device revoked");
        }
        Ok(revoked)
    }

    /// The devices enrolled in `org`, optionally only `subject`'s.
    pub async fn list(
        &self,
        org: &str,
        subject: Option<&str>,
    ) -> Result<Vec<DeviceInfo>, DeviceError> {
        Ok(store::devices(&self.db, org, subject).await?)
    }

    /// The ids of `subject`'s active devices in `org`.
    pub(super) async fn active_device_ids(
        &self,
        org: &str,
        subject: &str,
    ) -> Result<Vec<String>, DeviceError> {
        let devices = store::devices(&self.db, org, Some(subject)).await?;
        Ok(devices
            .into_iter()
            .filter(|d| !d.revoked)
            .map(|d| d.device_id)
            .collect())
    }
}
