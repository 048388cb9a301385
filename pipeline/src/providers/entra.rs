//! Tokens from the Microsoft identity platform with the OAuth 2.0 client-credentials
//! grant (RFC 6749 §4.4): the Entra app signs in with its client secret and gets a
//! bearer token for one audience (Azure Resource Manager or Microsoft Graph).
//!
//! `POST {login}/{tenant}/oauth2/v2.0/token`, form-encoded `grant_type=client_credentials`,
//! `client_id`, `client_secret` and `scope={resource}/.default`, answers
//! `200 {"token_type": "Bearer", "expires_in": …, "access_token": …}`; errors are
//! `{"error": …, "error_description": "AADSTS…", "error_codes": […], …}` with `400` or
//! `401`. A refused request (a wrong or expired secret is `invalid_client`, an unknown
//! app `unauthorized_client`) is [`ProviderError::NeedsAttention`]; `408`, `429`, `5xx`,
//! `temporarily_unavailable` and transport failures are retried like every other
//! provider call ([`RetryPolicy`]), then [`ProviderError::Retryable`].
//!
//! Tokens are kept in memory and reused until 5 minutes before they expire, so a burst
//! of lockouts signs in once per app and audience ([`REUSE_MARGIN`]).
//!
//! The client secret and the tokens are [`Secret`]s. Errors quote Entra's error code
//! and the first line of its description, never the form that was sent, and the secret
//! is cut out of them should Entra ever echo it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::http;
use super::retry::{Attempt, RetryPolicy};
use super::{EntraApp, ProviderError, Secret};

/// Who a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Audience {
    /// Azure Resource Manager: role assignments.
    ResourceManager,
    /// Microsoft Graph: users and group memberships.
    Graph,
}

impl Audience {
    /// The `scope` of the token request: the resource's app permissions.
    fn scope(self) -> &'static str {
        match self {
            Audience::ResourceManager => "https://management.azure.com/.default",
            Audience::Graph => "https://graph.microsoft.com/.default",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Audience::ResourceManager => "Azure Resource Manager",
            Audience::Graph => "Microsoft Graph",
        }
    }
}

/// Gets tokens for one Entra app.
pub(crate) struct TokenClient {
    client: reqwest::Client,
    token_url: Url,
    client_id: String,
    client_secret: Secret,
    policy: RetryPolicy,
}

/// A token answer. No `Debug`: it holds the token until it becomes a [`Secret`].
#[derive(Deserialize)]
struct TokenAnswer {
    token_type: String,
    access_token: String,
    /// Seconds the token is valid for.
    expires_in: Option<u64>,
}

/// A token and how long Entra says it lives.
struct Issued {
    token: Secret,
    lifetime: Option<Duration>,
}

/// A token is reused until this long before it expires (it must outlive the revocation
/// that uses it, retries included).
const REUSE_MARGIN: Duration = Duration::from_secs(300);

/// Issued tokens by token URL, client id, SHA-256 of the client secret and audience:
/// reused across revocations until [`REUSE_MARGIN`] before they expire, so a burst of
/// lockouts asks Entra once per app and audience rather than once per case (Entra
/// throttles token requests). A rotated secret is a new key. Each key has its own lock,
/// so concurrent revocations wait for one request instead of each sending theirs.
type CacheKey = (String, String, [u8; 32], Audience);

/// A cached token and when it stops being reused.
struct Cached {
    token: Secret,
    until: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

static CACHE: LazyLock<Mutex<HashMap<CacheKey, Slot>>> = LazyLock::new(Mutex::default);

/// An error answer.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenClient {
    /// A client for `app`; its ids are checked and its login URL parsed here.
    pub(crate) fn new(
        app: &EntraApp,
        client_secret: Secret,
        policy: RetryPolicy,
    ) -> Result<Self, ProviderError> {
        app.check().map_err(ProviderError::attention)?;
        if client_secret.expose().is_empty() {
            return Err(ProviderError::attention(
                "the Entra app's client secret is empty",
            ));
        }
        let base = http::base_url(&app.login_base_url, "Microsoft identity platform")?;
        let token_url = http::endpoint(&base, &[&app.tenant_id, "oauth2", "v2.0", "token"], &[]);
        Ok(TokenClient {
            client: http::shared_client()?,
            token_url,
            client_id: app.client_id.clone(),
            client_secret,
            policy,
        })
    }

    /// A token for `audience`: a cached one with at least [`REUSE_MARGIN`] left, or a
    /// new one, retrying transient failures.
    pub(crate) async fn token(&self, audience: Audience) -> Result<Secret, ProviderError> {
        let slot = self.slot(audience);
        let mut cached = slot.lock().await;
        if let Some(cached) = cached.as_ref().filter(|c| c.until > Instant::now()) {
            return Ok(cached.token.clone());
        }
        let what = format!("Entra token for {}", audience.name());
        let issued = self.policy.run(&what, || self.attempt(audience)).await?;
        *cached = issued
            .lifetime
            .and_then(|lifetime| lifetime.checked_sub(REUSE_MARGIN))
            .filter(|reuse| !reuse.is_zero())
            .map(|reuse| Cached {
                token: issued.token.clone(),
                until: Instant::now() + reuse,
            });
        Ok(issued.token)
    }

    fn slot(&self, audience: Audience) -> Slot {
        let secret: [u8; 32] = Sha256::digest(self.client_secret.expose()).into();
        let key = (
            self.token_url.to_string(),
            self.client_id.clone(),
            secret,
            audience,
        );
        // A poisoned map only means another thread panicked mid-insert; the map is
        // still a valid cache.
        let mut cache = CACHE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.entry(key).or_default().clone()
    }

    async fn attempt(&self, audience: Audience) -> Attempt<Issued> {
        let what = format!("Entra token for {}", audience.name());
        let response = self
            .client
            .post(self.token_url.clone())
            .timeout(self.policy.request_timeout)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(self.form(audience))
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) => return http::transport_failure(&what, e),
        };
        let status = response.status();
        let retry_after = http::retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return http::transport_failure(&what, e),
        };
        tracing::debug!(
            audience = audience.name(),
            status = status.as_u16(),
            "Entra answered"
        );
        classify(&what, status, &body, retry_after, &self.client_secret)
    }

    /// The form body. It holds the client secret: it goes to the token URL only.
    fn form(&self, audience: Audience) -> String {
        [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("scope", audience.scope()),
        ]
        .iter()
        .map(|(name, value)| format!("{name}={}", http::encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Map the token endpoint's answer to a token, a final error or a transient failure.
fn classify(
    what: &str,
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
    secret: &Secret,
) -> Attempt<Issued> {
    let code = status.as_u16();
    if status.is_success() {
        return Attempt::Final(token_from(what, body));
    }
    let refusal: Option<ErrorAnswer> = serde_json::from_slice(body).ok();
    let detail = match &refusal {
        Some(e) => format!(" {}: {}", e.error, first_line(&e.error_description, secret)),
        None => String::new(),
    };
    let reason = format!("{what}: HTTP {code}{detail}");
    let transient = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT
    ) || status.is_server_error()
        || refusal
            .as_ref()
            .is_some_and(|e| e.error == "temporarily_unavailable");
    if transient {
        return Attempt::Transient {
            reason,
            retry_after,
        };
    }
    let rejected = matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    );
    Attempt::Final(Err(if rejected {
        ProviderError::attention(format!(
            "Entra refused the app's sign-in (HTTP {code} on the {what}){}; check the \
             tenant id, client id and client secret, and that the secret has not expired",
            if detail.is_empty() {
                String::new()
            } else {
                format!(":{detail}")
            }
        ))
    } else {
        ProviderError::protocol(reason)
    }))
}

/// The bearer token of a `200` answer.
fn token_from(what: &str, body: &[u8]) -> Result<Issued, ProviderError> {
    // Only the error's position is quoted: serde's message could quote the body.
    let answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| {
        ProviderError::protocol(format!(
            "{what}: unreadable answer (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if !answer.token_type.eq_ignore_ascii_case("bearer") || answer.access_token.is_empty() {
        return Err(ProviderError::protocol(format!(
            "{what}: expected a bearer token, got token_type {:?}",
            answer.token_type.chars().take(20).collect::<String>()
        )));
    }
    Ok(Issued {
        token: Secret::new(answer.access_token),
        lifetime: answer.expires_in.map(Duration::from_secs),
    })
}

/// The first line of an `error_description` (the rest are trace and correlation ids
/// and a timestamp), at most 300 characters, with the secret cut out.
fn first_line(description: &str, secret: &Secret) -> String {
    let line = description.lines().next().unwrap_or_default();
    let line: String = line.chars().take(300).collect();
    if secret.expose().is_empty() {
        line
    } else {
        line.replace(secret.expose(), "<redacted>")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    const SECRET: &str = "Qx8Q~not-for-anyone";

    fn outcome(status: u16, body: &str) -> &'static str {
        let status = StatusCode::from_u16(status).unwrap();
        let secret = Secret::new(SECRET);
        match classify("Entra token", status, body.as_bytes(), None, &secret) {
            Attempt::Final(Ok(_)) => "token",
            Attempt::Final(Err(ProviderError::NeedsAttention { .. })) => "attention",
            Attempt::Final(Err(_)) => "protocol",
            Attempt::Transient { .. } => "transient",
        }
    }

    #[test]
    fn answers_classify() {
        let token = r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0"}"#;
        let refused = |error: &str| {
            format!(r#"{{"error":"{error}","error_description":"AADSTS0: x\r\nTrace ID: 1"}}"#)
        };
        let table = [
            (200, token.to_owned(), "token"),
            (
                200,
                r#"{"token_type":"pop","access_token":"x"}"#.into(),
                "protocol",
            ),
            (
                200,
                r#"{"token_type":"Bearer","access_token":""}"#.into(),
                "protocol",
            ),
            (200, "<html>".into(), "protocol"),
            (401, refused("invalid_client"), "attention"),
            (400, refused("invalid_client"), "attention"),
            (400, refused("unauthorized_client"), "attention"),
            (400, refused("invalid_scope"), "attention"),
            (400, refused("temporarily_unavailable"), "transient"),
            (429, String::new(), "transient"),
            (503, refused("temporarily_unavailable"), "transient"),
            (500, "<html>".into(), "transient"),
            (404, String::new(), "protocol"),
        ];
        for (status, body, expected) in table {
            assert_eq!(outcome(status, &body), expected, "{status} {body}");
        }
    }

    #[test]
    fn refusals_quote_entra_but_never_the_secret() {
        let body = format!(
            r#"{{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: {SECRET}.\r\nTrace ID: 0b1f\r\nCorrelation ID: 11\r\nTimestamp: 2026-01-01 00:00:00Z","error_codes":[7000215]}}"#
        );
        let secret = Secret::new(SECRET);
        let Attempt::Final(Err(error)) = classify(
            "Entra token for Microsoft Graph",
            StatusCode::UNAUTHORIZED,
            body.as_bytes(),
            None,
            &secret,
        ) else {
            panic!("not a final error");
        };
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("invalid_client: AADSTS7000215"), "{shown}");
        assert!(shown.contains("HTTP 401"), "{shown}");
        assert!(!shown.contains("Trace ID"), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn unreadable_tokens_are_not_quoted() {
        let error = token_from("t", br#"{"token_type":"Bearer","access_token":7}"#)
            .err()
            .unwrap();
        assert!(matches!(error, ProviderError::Protocol { .. }));
        let shown = format!("{error}");
        assert!(shown.contains("line 1"), "{shown}");
    }

    #[test]
    fn forms_are_encoded_and_go_to_the_tenant() {
        let app = EntraApp {
            login_base_url: "http://127.0.0.1:9/".into(),
            ..EntraApp::new(
                "contoso.onmicrosoft.com",
                "ce2ce14e-85d7-4629-bdbc-454d0519d987",
            )
        };
        let client =
            TokenClient::new(&app, Secret::new("a+b&c=d~"), RetryPolicy::default()).unwrap();
        assert_eq!(
            client.token_url.as_str(),
            "http://127.0.0.1:9/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            client.form(Audience::ResourceManager),
            "grant_type=client_credentials&client_id=ce2ce14e-85d7-4629-bdbc-454d0519d987\
             &client_secret=a%2Bb%26c%3Dd~&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
        );
        let bad = EntraApp::new("common", "ce2ce14e-85d7-4629-bdbc-454d0519d987");
        assert!(matches!(
            TokenClient::new(&bad, Secret::new("s"), RetryPolicy::default()),
            Err(ProviderError::NeedsAttention { .. })
        ));
    }
}
