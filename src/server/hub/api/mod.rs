//! The hub API under `/api/v1/hub/`, level 2 for everything:
//! [`resources`] (list, get, create, replace with `If-Match`, delete),
//! [`loads`] (plan, apply, the sync's compare), [`history`] (history and
//! rollback) and [`export`] (a selection as a package archive). This file
//! holds the routes and the path rules they share.

mod export;
mod history;
mod loads;
mod resources;

/// The request decoding of plan, apply and compare, shared with the fuzz
/// targets that drive it without a server.
pub(crate) use loads::{decode_compare, decode_load_query};

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::super::AppState;
use super::super::auth::Caller;
use super::super::error::{ApiError, ApiResult};
use super::super::store::Kv;
use crate::hub_access::wire::kind_named;
use crate::model::slug::validate_slug;
use crate::model::{ResourceKey, ResourceKind};
use crate::registry::Level;

/// The hub routes.
pub fn routes<K: Kv>() -> Router<Arc<AppState<K>>> {
    Router::new()
        .route("/api/v1/hub/plan", post(loads::plan::<K>))
        .route("/api/v1/hub/apply", post(loads::apply::<K>))
        .route("/api/v1/hub/compare", post(loads::compare::<K>))
        .route("/api/v1/hub/export", get(export::export::<K>))
        .route("/api/v1/hub/history", get(history::history::<K>))
        .route(
            "/api/v1/hub/history/{id}/rollback",
            post(history::rollback::<K>),
        )
        .route(
            "/api/v1/hub/{kinds}",
            get(resources::list::<K>).post(resources::create::<K>),
        )
        .route(
            "/api/v1/hub/{kinds}/{slug}",
            get(resources::get::<K>)
                .put(resources::put::<K>)
                .delete(resources::delete::<K>),
        )
        .route(
            "/api/v1/hub/{kinds}/{space}/{slug}",
            get(resources::get::<K>)
                .put(resources::put::<K>)
                .delete(resources::delete::<K>),
        )
}

/// Refuses a caller below level 2.
fn need(caller: &Caller) -> ApiResult<()> {
    caller.require(Level::USER, "using the hub")
}

/// The kind a path segment (`units`) or a name (`unit`) names, or 404.
fn kind_of(segment: &str) -> ApiResult<ResourceKind> {
    kind_named(segment).ok_or_else(|| {
        ApiError::not_found(format!(
            "`{}` is not a resource kind (spaces, units, links, filters, workers, targets, views, ...)",
            segment.chars().take(40).collect::<String>()
        ))
    })
}

/// Checks a slug from a path or a body; `what` names it in the message.
fn slug(text: &str, what: &str) -> ApiResult<String> {
    validate_slug(text).map_err(|e| ApiError::bad_request(format!("{what}: {e}")))?;
    Ok(text.to_string())
}

/// The key `kinds`, `space` (none for a space) and `slug` name.
fn key_of(kinds: &str, space: Option<&str>, slug_text: &str) -> ApiResult<ResourceKey> {
    let kind = kind_of(kinds)?;
    let slug_text = slug(slug_text, "slug")?;
    match (kind == ResourceKind::Space, space) {
        (true, None) => Ok(ResourceKey::space(&slug_text)),
        (false, Some(space)) => Ok(ResourceKey::new(kind, &slug(space, "space")?, &slug_text)),
        (true, Some(_)) => Err(ApiError::not_found(
            "a space is addressed as /api/v1/hub/spaces/{slug}",
        )),
        (false, None) => Err(ApiError::not_found(format!(
            "a {} is addressed as /api/v1/hub/{}/{{space}}/{{slug}}",
            kind.name(),
            kind.plural()
        ))),
    }
}
