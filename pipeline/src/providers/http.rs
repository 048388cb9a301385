//! The one HTTP path every provider client uses: authentication headers (marked
//! sensitive), per-request timeout, and the retry loop of [`RetryPolicy`]. It turns
//! HTTP answers into [`Reply`] (2xx and 404) or a [`ProviderError`].

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::retry::{Attempt, RetryPolicy, parse_retry_after};
use super::{ProviderError, ProviderKind, Secret};

/// How requests authenticate.
pub(crate) enum Auth {
    /// `Authorization: Bearer <secret>` (OpenAI admin key, ARM and Graph tokens).
    Bearer(Secret),
    /// `x-api-key: <secret>` and `anthropic-version: 2023-06-01`.
    AnthropicAdminKey(Secret),
}

/// The `anthropic-version` every Admin API request carries.
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A successful (2xx) or not-found (404) answer.
#[derive(Debug)]
pub(crate) struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body as received.
    pub body: Vec<u8>,
    /// The provider's request id, if it sent one.
    pub request_id: Option<String>,
}

impl Reply {
    /// Whether the object was not there (404).
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND.as_u16()
    }

    /// The body as `T`; a 404 or a body that does not parse is a protocol error.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, ProviderError> {
        if self.is_not_found() {
            return Err(ProviderError::protocol(format!("{what}: HTTP 404")));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ProviderError::protocol(format!("{what}: unreadable body: {e}")))
    }
}

/// An authenticated HTTP client for one provider (or, for Azure, one of its two APIs).
pub(crate) struct Transport {
    client: reqwest::Client,
    provider: ProviderKind,
    auth: Auth,
    policy: RetryPolicy,
}

/// The one HTTP client of the process, shared by every provider: its connection pool
/// and TLS roots are built once, not per step. Redirects are not followed, so a
/// credential is never sent anywhere but the configured host; timeouts are per request.
/// The Entra token endpoint (a form, no bearer) uses it directly.
pub(crate) fn shared_client() -> Result<reqwest::Client, ProviderError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ProviderError::attention(format!("HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

impl Transport {
    /// A transport over the shared client, with the policy's per-request timeout.
    pub fn new(
        provider: ProviderKind,
        auth: Auth,
        policy: RetryPolicy,
    ) -> Result<Self, ProviderError> {
        Ok(Transport {
            client: shared_client()?,
            provider,
            auth,
            policy,
        })
    }

    /// Send one request, retrying transient failures. `what` names the operation in
    /// errors and logs (e.g. `DELETE project API key`).
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<Reply, ProviderError> {
        let label = format!("{} {what}", self.provider.display_name());
        self.policy
            .run(&label, || {
                self.attempt(method.clone(), url.clone(), body, what)
            })
            .await
    }

    async fn attempt(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Attempt<Reply> {
        let provider = self.provider.display_name();
        let mut request = self
            .client
            .request(method, url)
            .timeout(self.policy.request_timeout)
            .headers(self.headers());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return transport_failure(&format!("{provider} {what}"), e),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(e) => return transport_failure(&format!("{provider} {what}"), e),
        };
        let request_id = request_id(&headers);
        tracing::debug!(
            provider,
            what,
            status = status.as_u16(),
            ?request_id,
            "provider answered"
        );
        classify(provider, what, status, &headers, body, request_id)
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let (name, value) = match &self.auth {
            Auth::Bearer(secret) => ("authorization", format!("Bearer {}", secret.expose())),
            Auth::AnthropicAdminKey(secret) => {
                headers.insert(
                    "anthropic-version",
                    HeaderValue::from_static(ANTHROPIC_VERSION),
                );
                ("x-api-key", secret.expose().to_owned())
            }
        };
        // A credential with bytes a header cannot carry is sent as nothing, and the
        // provider's 401 reports it as rejected.
        if let Ok(mut value) = HeaderValue::from_str(&value) {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        headers
    }
}

/// Map one HTTP answer to a reply, a final error or a transient failure.
fn classify(
    provider: &str,
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: Vec<u8>,
    request_id: Option<String>,
) -> Attempt<Reply> {
    let code = status.as_u16();
    if status.is_success() || status == StatusCode::NOT_FOUND {
        return Attempt::Final(Ok(Reply {
            status: code,
            body,
            request_id,
        }));
    }
    let message = provider_message(&body);
    let reason = format!("{provider} {what}: HTTP {code}{message}");
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Attempt::Final(Err(ProviderError::attention(format!(
                "credentials rejected by {provider} (HTTP {code} on {what}){message}"
            ))))
        }
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => Attempt::Transient {
            reason,
            retry_after: retry_after(headers),
        },
        s if s.is_server_error() => Attempt::Transient {
            reason,
            retry_after: retry_after(headers),
        },
        _ => Attempt::Final(Err(ProviderError::protocol(reason))),
    }
}

/// A request that got no answer: worth another attempt. `what` names it in the reason.
pub(crate) fn transport_failure<T>(what: &str, error: reqwest::Error) -> Attempt<T> {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    Attempt::Transient {
        reason: format!("{what}: {kind}: {}", error.without_url()),
        retry_after: None,
    }
}

/// The answer's `Retry-After`, if it has one that parses.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-request-id", "request-id", "x-ms-request-id"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::to_owned)
}

/// `: <message>` from the provider's error body (`{"error": {"message": …}}` in all
/// four APIs), cut to 200 characters; empty if there is none.
fn provider_message(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message"))
        .and_then(|m| m.as_str());
    match message {
        Some(m) => format!(": {}", m.chars().take(200).collect::<String>()),
        None => String::new(),
    }
}

/// `base` with `segments` appended (each percent-encoded) and `query` set.
pub(crate) fn endpoint(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(
            segments
                .iter()
                .flat_map(|s| s.split('/'))
                .filter(|s| !s.is_empty()),
        );
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

/// Percent-encode a query component: everything but RFC 3986 unreserved characters.
pub(crate) fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Parse a configured base URL; only `http` and `https` are accepted.
pub(crate) fn base_url(raw: &str, what: &str) -> Result<Url, ProviderError> {
    let url = Url::parse(raw.trim_end_matches('/'))
        .map_err(|e| ProviderError::attention(format!("{what} base URL does not parse: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(ProviderError::attention(format!(
            "{what} base URL must be http(s)"
        )));
    }
    Ok(url)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap: a panic is a failed test.
mod tests {
    use super::*;

    #[test]
    fn endpoints_append_and_encode_segments() {
        let base = base_url("http://127.0.0.1:9/v1/", "test").unwrap();
        let url = endpoint(
            &base,
            &["organization", "projects", "p 1"],
            &[("after", "a&b")],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/v1/organization/projects/p%201?after=a%26b"
        );
        let arm = base_url("https://management.azure.com", "ARM").unwrap();
        let url = endpoint(&arm, &["/subscriptions/s/resourceGroups/r"], &[]);
        assert_eq!(url.path(), "/subscriptions/s/resourceGroups/r");
    }

    #[test]
    fn components_encode_spaces_as_percent_20() {
        assert_eq!(
            encode_component("principalId eq 'ab-1'"),
            "principalId%20eq%20%27ab-1%27"
        );
    }

    #[test]
    fn statuses_classify() {
        let headers = HeaderMap::new();
        let table = [
            (200, "reply"),
            (204, "reply"),
            (404, "reply"),
            (401, "attention"),
            (403, "attention"),
            (429, "transient"),
            (500, "transient"),
            (503, "transient"),
            (400, "protocol"),
            (409, "protocol"),
        ];
        for (code, expected) in table {
            let status = StatusCode::from_u16(code).unwrap();
            let got = match classify("X", "op", status, &headers, Vec::new(), None) {
                Attempt::Final(Ok(_)) => "reply",
                Attempt::Final(Err(ProviderError::NeedsAttention { .. })) => "attention",
                Attempt::Final(Err(_)) => "protocol",
                Attempt::Transient { .. } => "transient",
            };
            assert_eq!(got, expected, "{code}");
        }
    }

    #[test]
    fn provider_messages_are_quoted_and_cut() {
        let body = br#"{"type":"error","error":{"type":"x","message":"no such thing"}}"#;
        assert_eq!(provider_message(body), ": no such thing");
        assert_eq!(provider_message(b"<html>"), "");
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "a".repeat(500));
        assert_eq!(provider_message(long.as_bytes()).len(), 202);
    }
}
