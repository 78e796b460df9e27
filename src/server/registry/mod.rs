//! The registry API under `/api/v1/packages` (and the index at
//! `/api/packages/index`): publish, list, search, detail, versions,
//! manifests, downloads, signatures, metadata, yank and actions.

pub mod publish;
pub mod read;
pub mod records;
pub mod write;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;
use super::store::Kv;

/// The registry's routes.
pub fn routes<K: Kv>() -> Router<Arc<AppState<K>>> {
    Router::new()
        .route(
            "/api/v1/packages",
            get(read::list::<K>).post(write::publish::<K>),
        )
        .route("/api/v1/packages/search", get(read::search::<K>))
        .route(
            "/api/v1/packages/{name}",
            get(read::detail::<K>).patch(write::patch::<K>),
        )
        .route("/api/v1/packages/{name}/versions", get(read::versions::<K>))
        .route("/api/v1/packages/{name}/actions", get(read::actions::<K>))
        .route(
            "/api/v1/packages/{name}/{version}",
            get(read::manifest::<K>).delete(write::yank::<K>),
        )
        .route(
            "/api/v1/packages/{name}/{version}/download",
            get(read::download::<K>),
        )
        .route(
            "/api/v1/packages/{name}/{version}/signature",
            get(read::signature::<K>),
        )
        .route(
            "/api/v1/packages/{name}/{version}/unyank",
            post(write::unyank::<K>),
        )
        .route("/api/packages/index", get(read::index::<K>))
}
