//! The middleware every request passes: a request id (`x-request-id`, kept
//! from the client when it is sane), the caller (from the bearer token;
//! 401 for a bad one), a tracing span, metrics, errors turned into JSON,
//! and an audit-log entry for every write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::AppState;
use super::admin;
use super::auth;
use super::metrics::{RequestLabels, RouteLabels};
use super::store::Kv;
use crate::registry::types::AuditEntry;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
        .unwrap_or_else(new_request_id)
}

/// A new request id: this process's random prefix and a counter (no
/// system call per request).
fn new_request_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_string());
    format!("{prefix}{:08x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The middleware.
pub async fn observe<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let id = request_id(&request);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().clone();
    let path: String = request.uri().path().chars().take(512).collect();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let (response, who) = match auth::caller(&state.kv, request.headers()).await {
        Ok(caller) => {
            let who = caller.name.clone();
            request.extensions_mut().insert(caller);
            (next.run(request).instrument(span.clone()).await, who)
        }
        Err(e) => (e.into_response(), "invalid token".to_string()),
    };
    let mut response = json_errors(response).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    let elapsed = start.elapsed();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.to_string(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(elapsed.as_secs_f64());
    let is_read = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !is_read {
        let entry = AuditEntry {
            at: crate::time::now_rfc3339(),
            who,
            what: format!("{method} {path}"),
            status,
            request_id: id,
        };
        if let Err(e) = admin::record(&state.kv, &entry).await {
            tracing::warn!(parent: &span, error = %e.message, "cannot write the audit log");
        }
    }
    // Writes and errors at info; successful reads (the bulk) at debug.
    let ms = elapsed.as_secs_f64() * 1000.0;
    if is_read && status < 400 {
        tracing::debug!(parent: &span, status, elapsed_ms = ms, "answered");
    } else {
        tracing::info!(parent: &span, status, elapsed_ms = ms, "answered");
    }
    response
}

/// Turns an error response that is not JSON (an extractor's rejection, a
/// body over the limit, a timeout, an unknown route) into `{"error": ...}`.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = match (text.is_empty(), status) {
        (_, StatusCode::PAYLOAD_TOO_LARGE) => {
            "the request body is larger than the server accepts (--max-body)".to_string()
        }
        (_, StatusCode::REQUEST_TIMEOUT) => {
            "the request took too long (a slow client); send it faster".to_string()
        }
        (true, StatusCode::NOT_FOUND) => "no such endpoint".to_string(),
        (true, StatusCode::METHOD_NOT_ALLOWED) => {
            "this endpoint does not take that method".to_string()
        }
        (true, _) => status.canonical_reason().unwrap_or("error").to_string(),
        (false, _) => text,
    };
    let mut out = (status, Json(serde_json::json!({ "error": message }))).into_response();
    for (name, value) in parts.headers.iter() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
