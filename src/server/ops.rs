//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the
//! store answers too) and `/metrics` (Prometheus text format).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::store::Kv;

/// The operations routes.
pub fn routes<K: Kv>() -> Router<Arc<AppState<K>>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<K>))
        .route("/metrics", get(metrics::<K>))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
) -> ApiResult<Json<serde_json::Value>> {
    state
        .kv
        .ping()
        .await
        .map_err(|e| ApiError::unavailable(format!("the store does not answer: {e}")))?;
    Ok(Json(
        serde_json::json!({ "status": "ready", "store": state.kv.kind() }),
    ))
}

async fn metrics<K: Kv>(State(state): State<Arc<AppState<K>>>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.encode(),
    )
}
