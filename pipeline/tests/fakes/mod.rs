//! Local fake provider servers that follow the documented wire formats closely enough
//! to exercise the revocation clients: paths, pagination, JSON shapes, auth headers.
//!
//! Every fake shares [`Control`]: it counts every call per (method, path template),
//! separately counts the calls that reached the handler ("served": authenticated and
//! not faulted — the side effects), and injects faults for the next N matching calls.

#![allow(dead_code, clippy::unwrap_used)] // Each test binary uses a subset.

pub mod anthropic;
pub mod azure;
pub mod openai;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A fault answered instead of the real handler.
#[derive(Clone, Debug)]
pub enum Fault {
    /// `429` with this `Retry-After` value.
    RateLimited(&'static str),
    /// `500`.
    ServerError,
    /// `401`, whatever the credentials.
    Unauthorized,
    /// Answer nothing for this long.
    Hang(Duration),
    /// Serve the call (its side effect happens), then hold the answer this long: the
    /// caller cannot tell whether it took effect.
    Stall(Duration),
}

#[derive(Debug)]
struct FaultRule {
    method: Option<String>,
    template: Option<String>,
    fault: Fault,
    remaining: u32,
}

/// Call counters and fault injection, shared by a fake's middleware and its test.
#[derive(Debug, Default)]
pub struct Control {
    calls: Mutex<BTreeMap<(String, String), u32>>,
    served: Mutex<BTreeMap<(String, String), u32>>,
    faults: Mutex<Vec<FaultRule>>,
}

impl Control {
    /// Calls received for `method` on `template` (e.g. `/v1/organization/users/{user_id}`).
    pub fn calls(&self, method: &str, template: &str) -> u32 {
        let key = (method.to_owned(), template.to_owned());
        self.calls.lock().unwrap().get(&key).copied().unwrap_or(0)
    }

    /// Calls that reached the handler (authenticated, not faulted).
    pub fn served(&self, method: &str, template: &str) -> u32 {
        let key = (method.to_owned(), template.to_owned());
        self.served.lock().unwrap().get(&key).copied().unwrap_or(0)
    }

    /// Served calls with a method other than GET: every side effect.
    pub fn served_writes(&self) -> u32 {
        let served = self.served.lock().unwrap();
        served
            .iter()
            .filter(|((m, _), _)| m != "GET")
            .map(|(_, n)| n)
            .sum()
    }

    /// Every call received.
    pub fn total_calls(&self) -> u32 {
        self.calls.lock().unwrap().values().sum()
    }

    /// Answer the next `times` calls matching `method` and `template` (None: any)
    /// with `fault`.
    pub fn inject(&self, method: Option<&str>, template: Option<&str>, fault: Fault, times: u32) {
        self.faults.lock().unwrap().push(FaultRule {
            method: method.map(str::to_owned),
            template: template.map(str::to_owned),
            fault,
            remaining: times,
        });
    }

    fn take_fault(&self, method: &str, template: &str) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap();
        let rule = faults.iter_mut().find(|r| {
            r.remaining > 0
                && r.method.as_deref().is_none_or(|m| m == method)
                && r.template.as_deref().is_none_or(|t| t == template)
        })?;
        rule.remaining -= 1;
        Some(rule.fault.clone())
    }

    fn count(map: &Mutex<BTreeMap<(String, String), u32>>, method: &str, template: &str) {
        *map.lock()
            .unwrap()
            .entry((method.to_owned(), template.to_owned()))
            .or_default() += 1;
    }
}

/// Checks a request's headers for a path: `Err((status, message))` to refuse it.
pub type Authenticate = dyn Fn(&str, &HeaderMap) -> Result<(), (StatusCode, String)> + Send + Sync;

/// How a fake authenticates and shapes its answers.
#[derive(Clone)]
pub struct Gate {
    /// The shared counters and faults.
    pub control: Arc<Control>,
    /// `Ok` if the headers authenticate this path, else the status and message.
    pub authenticate: Arc<Authenticate>,
    /// The provider's error body for a status and message.
    pub error_body: fn(StatusCode, &str) -> Value,
    /// Header carrying the request id.
    pub request_id_header: &'static str,
}

/// Count, fault, authenticate, then run the handler.
async fn gate(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let path = request.uri().path().to_owned();
    let control = &gate.control;
    Control::count(&control.calls, &method, &template);
    let n = control.total_calls();
    let mut response = match control.take_fault(&method, &template) {
        Some(Fault::RateLimited(after)) => {
            let mut r = error(&gate, StatusCode::TOO_MANY_REQUESTS, "rate limited");
            r.headers_mut()
                .insert("retry-after", HeaderValue::from_static(after));
            r
        }
        Some(Fault::ServerError) => error(&gate, StatusCode::INTERNAL_SERVER_ERROR, "boom"),
        Some(Fault::Unauthorized) => error(&gate, StatusCode::UNAUTHORIZED, "invalid key"),
        Some(Fault::Hang(d)) => {
            tokio::time::sleep(d).await;
            error(&gate, StatusCode::GATEWAY_TIMEOUT, "hung")
        }
        Some(Fault::Stall(d)) => {
            let response = serve_call(&gate, &path, &method, &template, request, next).await;
            tokio::time::sleep(d).await;
            response
        }
        None => serve_call(&gate, &path, &method, &template, request, next).await,
    };
    if let Ok(id) = HeaderValue::from_str(&format!("req_{n:06}")) {
        response.headers_mut().insert(gate.request_id_header, id);
    }
    response
}

/// Authenticate, then count the call as served and run the handler.
async fn serve_call(
    gate: &Gate,
    path: &str,
    method: &str,
    template: &str,
    request: Request,
    next: Next,
) -> Response {
    match (gate.authenticate)(path, request.headers()) {
        Err((status, message)) => error(gate, status, &message),
        Ok(()) => {
            Control::count(&gate.control.served, method, template);
            next.run(request).await
        }
    }
}

fn error(gate: &Gate, status: StatusCode, message: &str) -> Response {
    (status, axum::Json((gate.error_body)(status, message))).into_response()
}

/// Serve `router` behind the gate on 127.0.0.1:0; the bound address.
pub async fn serve(router: Router, gate: Gate) -> SocketAddr {
    let app = router.route_layer(middleware::from_fn_with_state(gate, self::gate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    addr
}

/// A cursor page over `items` (sorted by id): items after `after`, at most `limit`
/// capped at `cap`. Returns the page and whether more follow.
pub fn page<T: Clone>(
    items: &[T],
    id: impl Fn(&T) -> &str,
    after: Option<&str>,
    limit: Option<usize>,
    cap: usize,
) -> (Vec<T>, bool) {
    let start = match after {
        Some(after) => match items.iter().position(|i| id(i) == after) {
            Some(p) => p + 1,
            None => items.len(),
        },
        None => 0,
    };
    let size = limit.unwrap_or(20).clamp(1, cap);
    let rest = &items[start.min(items.len())..];
    let page: Vec<T> = rest.iter().take(size).cloned().collect();
    (page, rest.len() > size)
}

/// The first value of `name` in a decoded query.
pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
