//! [`HttpTsa`]: RFC 3161 over HTTP (RFC 3161 §3.4): POST the DER request as
//! `application/timestamp-query`, read an `application/timestamp-reply` body.
//!
//! Every exchange is bounded: a connect timeout, a total timeout (headers and body), a
//! size limit on the body, no redirects (a redirected POST would silently become a GET).

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};

use super::{StampFuture, TimeStampReq, TimestampAuthority, TsaError};

/// DigiCert's public RFC 3161 endpoint, the production default.
pub const DIGICERT_URL: &str = "http://timestamp.digicert.com";

const QUERY_TYPE: &str = "application/timestamp-query";
const REPLY_TYPE: &str = "application/timestamp-reply";

/// Where a TSA is and how long to wait for it.
#[derive(Clone, Debug)]
pub struct HttpTsaConfig {
    /// The name tokens are stored under (e.g. `digicert`).
    pub name: String,
    /// The TSA's URL (`http` or `https`).
    pub url: String,
    /// Limit for establishing the connection (default 5 s).
    pub connect_timeout: Duration,
    /// Limit for the whole exchange, body included (default 10 s).
    pub timeout: Duration,
    /// The largest answer accepted, in bytes (default 256 KiB; a DigiCert response with
    /// three certificates is about 7 KiB).
    pub max_response_bytes: usize,
}

impl HttpTsaConfig {
    /// A TSA at `url` with the default limits.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_response_bytes: 256 * 1024,
        }
    }

    /// DigiCert's public TSA ([`DIGICERT_URL`]) under the name `digicert`.
    pub fn digicert() -> Self {
        Self::new("digicert", DIGICERT_URL)
    }
}

/// An RFC 3161 TSA reached over HTTP.
#[derive(Clone, Debug)]
pub struct HttpTsa {
    config: HttpTsaConfig,
    client: reqwest::Client,
}

impl HttpTsa {
    /// A client for the TSA `config` describes.
    pub fn new(config: HttpTsaConfig) -> Result<Self, TsaError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("custody-ledger/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TsaError::Transport {
                reason: describe(&e),
            })?;
        Ok(Self { config, client })
    }

    /// The configuration.
    pub fn config(&self) -> &HttpTsaConfig {
        &self.config
    }

    async fn exchange(&self, request: TimeStampReq) -> Result<Vec<u8>, TsaError> {
        let mut response = self
            .client
            .post(&self.config.url)
            .header(CONTENT_TYPE, QUERY_TYPE)
            .body(request.to_der())
            .send()
            .await
            .map_err(|e| self.classify(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(TsaError::HttpStatus {
                status: status.as_u16(),
            });
        }
        check_content_type(response.headers().get(CONTENT_TYPE))?;
        let limit = self.config.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(TsaError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(TsaError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn classify(&self, error: &reqwest::Error) -> TsaError {
        if error.is_timeout() {
            TsaError::Timeout {
                after: self.config.timeout,
            }
        } else if error.is_connect() {
            TsaError::Connect {
                reason: describe(error),
            }
        } else {
            TsaError::Transport {
                reason: describe(error),
            }
        }
    }
}

impl TimestampAuthority for HttpTsa {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn stamp(&self, request: TimeStampReq) -> StampFuture<'_> {
        Box::pin(self.exchange(request))
    }
}

fn check_content_type(value: Option<&HeaderValue>) -> Result<(), TsaError> {
    let actual = value.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = actual
        .as_deref()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(e) if e.eq_ignore_ascii_case(REPLY_TYPE) => Ok(()),
        _ => Err(TsaError::ContentType { actual }),
    }
}

/// The error and its sources on one line (reqwest's Display alone hides the cause).
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn content_type_must_be_timestamp_reply() {
        let ok = [
            "application/timestamp-reply",
            "Application/Timestamp-Reply; charset=x",
        ];
        for value in ok {
            assert!(check_content_type(Some(&HeaderValue::from_static(value))).is_ok());
        }
        let bad = ["text/html", "application/timestamp-query", ""];
        for value in bad {
            let err = check_content_type(Some(&HeaderValue::from_static(value))).unwrap_err();
            assert!(matches!(err, TsaError::ContentType { .. }), "{value}");
        }
        assert!(check_content_type(None).is_err());
    }

    #[test]
    fn digicert_is_the_production_default() {
        let config = HttpTsaConfig::digicert();
        assert_eq!(config.url, "http://timestamp.digicert.com");
        assert_eq!(config.connect_timeout, Duration::from_secs(5));
        assert_eq!(config.timeout, Duration::from_secs(10));
    }
}
