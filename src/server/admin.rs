//! Administration endpoints: tokens (level 6), the audit log (level 5)
//! and what server this is (anyone).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::{self, Caller};
use super::error::{ApiError, ApiResult};
use super::extract;
use super::registry::records::event_suffix;
use super::store::{Expect, Kv};
use crate::registry::Level;
use crate::registry::types::{AuditEntry, ServerInfo, TokenInfo};

const AUDIT: &str = "audit/";

/// The administration routes.
pub fn routes<K: Kv>() -> Router<Arc<AppState<K>>> {
    Router::new()
        .route("/api/v1/version", get(version::<K>))
        .route("/api/v1/audit", get(audit::<K>))
        .route(
            "/api/v1/tokens",
            get(list_tokens::<K>).post(create_token::<K>),
        )
        .route("/api/v1/tokens/{id}", delete(revoke_token::<K>))
}

async fn version<K: Kv>(State(state): State<Arc<AppState<K>>>) -> Json<ServerInfo> {
    Json(ServerInfo {
        server: "pkg".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        store: state.kv.kind().into(),
    })
}

/// Appends an audit entry.
pub async fn record<K: Kv>(kv: &K, entry: &AuditEntry) -> Result<(), ApiError> {
    let value = serde_json::to_vec(entry).map_err(|e| ApiError::internal(e.to_string()))?;
    kv.put(&format!("{AUDIT}{}", event_suffix()), value, Expect::Any)
        .await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<usize>,
}

async fn audit<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    caller.require(Level::OWNER, "reading the audit log")?;
    let query: AuditQuery = extract::query(raw.as_deref())?;
    let (limit, _) = extract::page(query.limit, None)?;
    let page = state.kv.scan(AUDIT, None, limit, false).await?;
    Ok(Json(
        page.iter()
            .filter_map(|(_, v)| serde_json::from_slice(&v.value).ok())
            .collect(),
    ))
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    level: u8,
    expires_days: Option<u32>,
}

/// What `POST /api/v1/tokens` answers: the token, shown once.
#[derive(Debug, serde::Serialize)]
struct CreatedToken {
    token: String,
    #[serde(flatten)]
    info: TokenInfo,
}

async fn create_token<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    caller.require(Level::SUPERADMIN, "managing tokens")?;
    let new: NewToken = extract::json(&body)?;
    let level = Level::new(new.level)
        .ok_or_else(|| ApiError::bad_request(format!("level {} is not 1-6", new.level)))?;
    let (token, info) = auth::create_token(&state.kv, &new.name, level, new.expires_days).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, info })))
}

async fn list_tokens<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    caller.require(Level::SUPERADMIN, "managing tokens")?;
    Ok(Json(auth::list_tokens(&state.kv).await?))
}

async fn revoke_token<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenInfo>> {
    caller.require(Level::SUPERADMIN, "managing tokens")?;
    Ok(Json(auth::revoke_token(&state.kv, &id).await?))
}
