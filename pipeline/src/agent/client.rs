//! The agent's HTTP calls to the custody service: enroll, fetch the command key, poll,
//! acknowledge. The device credential travels only in the `Authorization` header.

use std::time::Duration;

use custody_verifier::command::CommandVerifierKey;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::AgentError;

/// A command as the service delivers it.
#[derive(Clone, Debug, Deserialize)]
pub struct Delivered {
    /// The id the service files it under (to acknowledge it by).
    pub command_id: String,
    /// The signed envelope, verified as received.
    pub signed_command: String,
}

/// The service's answer to an enrollment.
#[derive(Deserialize)]
pub struct EnrollResponse {
    /// The new device's id.
    pub device_id: String,
    /// Its organisation.
    pub org: String,
    /// The employee it belongs to.
    pub subject: String,
    /// The device credential (kept only in the state file).
    pub device_credential: String,
}

/// How the service took an acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckReceipt {
    /// Recorded (or already recorded with the same status).
    Recorded,
    /// The command was already acknowledged with another status.
    Conflict,
}

/// A client of one custody service.
#[derive(Clone, Debug)]
pub struct ServiceClient {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct KeyResponse {
    verifier_key: String,
}

#[derive(Deserialize)]
struct PollResponse {
    commands: Vec<Delivered>,
}

impl ServiceClient {
    /// A client of the service at `base` (`http://host:port`).
    pub fn new(base: &str) -> Result<Self, AgentError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(AgentError::Http)?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// Redeems an enrollment token.
    pub async fn enroll(&self, token: &str, name: &str) -> Result<EnrollResponse, AgentError> {
        let response = self
            .http
            .post(format!("{}/v1/devices/enroll", self.base))
            .json(&json!({"enrollment_token": token, "name": name}))
            .timeout(Duration::from_secs(30))
            .send()
            .await?;
        Ok(expect_ok(response).await?.json().await?)
    }

    /// The service's command verifier key, from `/.well-known/custody-command-key`.
    pub async fn command_key(&self) -> Result<CommandVerifierKey, AgentError> {
        let response = self
            .http
            .get(format!("{}/.well-known/custody-command-key", self.base))
            .timeout(Duration::from_secs(30))
            .send()
            .await?;
        let key: KeyResponse = expect_ok(response).await?.json().await?;
        key.verifier_key.parse().map_err(AgentError::Key)
    }

    /// Long-polls for this device's commands, waiting up to `wait` on the server.
    pub async fn poll(
        &self,
        credential: &str,
        wait: Duration,
    ) -> Result<Vec<Delivered>, AgentError> {
        let response = self
            .http
            .get(format!(
                "{}/v1/device/commands?wait={}",
                self.base,
                wait.as_secs()
            ))
            .header("authorization", format!("Device {credential}"))
            .timeout(wait + Duration::from_secs(30))
            .send()
            .await?;
        let poll: PollResponse = expect_ok(response).await?.json().await?;
        Ok(poll.commands)
    }

    /// Acknowledges a command with `status` (`locked` or `failed`) and a detail.
    pub async fn ack(
        &self,
        credential: &str,
        command_id: &str,
        status: &str,
        detail: &str,
    ) -> Result<AckReceipt, AgentError> {
        let url = reqwest::Url::parse(&self.base)
            .and_then(|base| {
                base.join(&format!(
                    "v1/device/commands/{}/ack",
                    encode_segment(command_id)
                ))
            })
            .map_err(|e| AgentError::Url(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .header("authorization", format!("Device {credential}"))
            .json(&json!({"status": status, "detail": truncate(detail, 1024)}))
            .timeout(Duration::from_secs(30))
            .send()
            .await?;
        if response.status() == StatusCode::CONFLICT {
            return Ok(AckReceipt::Conflict);
        }
        expect_ok(response).await?;
        Ok(AckReceipt::Recorded)
    }
}

async fn expect_ok(response: reqwest::Response) -> Result<reqwest::Response, AgentError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(AgentError::Server {
        status: status.as_u16(),
        body: truncate(&body, 512).to_owned(),
    })
}

/// Percent-encodes everything but unreserved characters, for one path segment.
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_and_details_cut_on_boundaries() {
        assert_eq!(encode_segment("cmd_1a"), "cmd_1a");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
