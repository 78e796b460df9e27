//! A selection of the server's hub as a package archive: what
//! `pkg sync pull` loads. Built in memory; nothing is recorded in the
//! history.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::super::super::AppState;
use super::super::super::auth::Caller;
use super::super::super::error::{ApiError, ApiResult};
use super::super::super::extract;
use super::super::super::store::Kv;
use super::{need, slug};
use crate::loaders::archive::ArchiveFormat;
use crate::model::ResourceKind;
use crate::package::export::{CreateOptions, export_package};
use crate::package::pack::{TRANSFER_LEVEL, pack_to_vec};
use crate::progress::NoProgress;

/// The query of an export: `space` may repeat.
#[derive(Debug, Default)]
struct ExportQuery {
    space: Vec<String>,
    where_: Option<String>,
}

/// `GET /api/v1/hub/export?space=&space=&where=`.
pub async fn export<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    need(&caller)?;
    let pairs: Vec<(String, String)> = extract::query(raw.as_deref())?;
    let mut query = ExportQuery::default();
    for (k, v) in pairs {
        match k.as_str() {
            "space" => query.space.push(slug(&v, "space")?),
            "where" => query.where_ = Some(v),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{other}` (space, where)"
                )));
            }
        }
    }
    let filter = query
        .where_
        .as_deref()
        .map(|w| crate::filter::WhereFilter::parse(w, ResourceKind::Unit))
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("invalid where expression: {e}")))?;
    let bytes = state
        .hub
        .read(move |hub| {
            let options = CreateOptions::for_sync(query.space.clone(), filter);
            let package = export_package(hub.hub_mut(), &options, &NoProgress)?;
            Ok(pack_to_vec(&package, ArchiveFormat::TarGz, TRANSFER_LEVEL)?)
        })
        .await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/gzip"))],
        Body::from(bytes),
    )
        .into_response())
}
