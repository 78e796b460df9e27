//! The server hub's history and rollback.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::{Extension, Json};
use serde::Deserialize;

use super::super::super::AppState;
use super::super::super::auth::Caller;
use super::super::super::error::ApiResult;
use super::super::super::extract;
use super::super::super::store::Kv;
use super::need;
use crate::hub_access::HubAccess;

/// `GET /api/v1/hub/history`: newest first.
pub async fn history<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<crate::hub::history::HistoryEntry>>> {
    need(&caller)?;
    Ok(Json(state.hub.read(|hub| hub.history()).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackQuery {
    force: Option<bool>,
}

/// `POST /api/v1/hub/history/{id}/rollback`.
pub async fn rollback<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<crate::hub_access::RollbackReport>> {
    need(&caller)?;
    let query: RollbackQuery = extract::query(raw.as_deref())?;
    let force = query.force.unwrap_or(false);
    Ok(Json(
        state.hub.write(move |hub| hub.rollback(id, force)).await?,
    ))
}
