//! One resource at a time: list (with `where`, `limit`, `offset`), get,
//! create, replace and delete. A resource's `ETag` is its content
//! fingerprint; `If-Match` on a replace or delete is checked in the same
//! transaction as the write (412 when it no longer matches).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::super::super::AppState;
use super::super::super::auth::Caller;
use super::super::super::error::{ApiError, ApiResult};
use super::super::super::extract;
use super::super::super::store::Kv;
use super::{key_of, kind_of, need, slug};
use crate::hub::NewResource;
use crate::hub_access::HubAccess;
use crate::hub_access::wire::WireResource;
use crate::model::ResourceKey;

/// `resource` as JSON with its `ETag`.
fn with_etag(wire: WireResource, status: StatusCode) -> Response {
    let tag = HeaderValue::from_str(&format!("\"{}\"", wire.fingerprint)).ok();
    let mut response = (status, Json(wire)).into_response();
    if let Some(tag) = tag {
        response.headers_mut().insert(ETAG, tag);
    }
    response
}

/// The key `/{kinds}/{slug}` or `/{kinds}/{space}/{slug}` names.
fn path_key(segments: &[String]) -> ApiResult<ResourceKey> {
    match segments {
        [kinds, slug_text] => key_of(kinds, None, slug_text),
        [kinds, space, slug_text] => key_of(kinds, Some(space), slug_text),
        _ => Err(ApiError::not_found("no such endpoint")),
    }
}

/// The query of a listing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    space: Option<String>,
    #[serde(rename = "where")]
    where_: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /api/v1/hub/{kinds}`.
pub async fn list<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(kinds): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<WireResource>>> {
    need(&caller)?;
    let kind = kind_of(&kinds)?;
    let query: ListQuery = extract::query(raw.as_deref())?;
    let limit = query.limit.unwrap_or(usize::MAX);
    let offset = query.offset.unwrap_or(0);
    if let Some(space) = &query.space {
        slug(space, "space")?;
    }
    if query.where_.as_ref().is_some_and(|w| w.len() > 4096) {
        return Err(ApiError::bad_request("where is at most 4096 bytes"));
    }
    let resources = state
        .hub
        .read(move |hub| hub.list(kind, query.space.as_deref(), query.where_.as_deref()))
        .await?;
    Ok(Json(
        resources
            .iter()
            .skip(offset)
            .take(limit)
            .map(|r| WireResource::of(r, None))
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GetQuery {
    data: Option<bool>,
}

/// `GET` a resource (`?data=true`: with its data, base64).
pub async fn get<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(segments): Path<Vec<String>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    need(&caller)?;
    let key = path_key(&segments)?;
    let query: GetQuery = extract::query(raw.as_deref())?;
    let with_data = query.data.unwrap_or(false);
    let fetched = state.hub.read(move |hub| hub.get(&key, with_data)).await?;
    Ok(with_etag(
        WireResource::of(&fetched.resource, fetched.data.as_deref()),
        StatusCode::OK,
    ))
}

/// The content a body describes, checked against the path's key.
fn body_resource(body: &Bytes, key: Option<&ResourceKey>) -> ApiResult<NewResource> {
    let wire: WireResource = extract::json(body)?;
    let new = wire.into_new().map_err(ApiError::bad_request)?;
    // The same rules as the path's, so a body cannot name what a path may not.
    key_of(
        new.key.kind.plural(),
        (!new.key.space.is_empty()).then_some(new.key.space.as_str()),
        &new.key.slug,
    )?;
    if let Some(key) = key
        && &new.key != key
    {
        return Err(ApiError::bad_request(format!(
            "the body describes {}, but the path names {key}",
            new.key
        )));
    }
    Ok(new)
}

/// `POST /api/v1/hub/{kinds}`: 201.
pub async fn create<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(kinds): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    need(&caller)?;
    let kind = kind_of(&kinds)?;
    let new = body_resource(&body, None)?;
    if new.key.kind != kind {
        return Err(ApiError::bad_request(format!(
            "the body describes a {}, but the path is /api/v1/hub/{}",
            new.key.kind.name(),
            kind.plural()
        )));
    }
    let created = state.hub.write(move |hub| hub.create(&new)).await?;
    Ok(with_etag(
        WireResource::of(&created, None),
        StatusCode::CREATED,
    ))
}

/// The fingerprint `If-Match` names (`*` or none: no condition).
fn if_match(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("If-Match is not text"))?
        .trim();
    if text == "*" {
        return Ok(None);
    }
    Ok(Some(
        text.trim_start_matches("W/").trim_matches('"').to_string(),
    ))
}

/// `PUT` a resource: replaces its content.
pub async fn put<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(segments): Path<Vec<String>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    need(&caller)?;
    let key = path_key(&segments)?;
    let expected = if_match(&headers)?;
    let new = body_resource(&body, Some(&key))?;
    let (updated, _) = state
        .hub
        .write(move |hub| {
            let mut replace = |current: &mut NewResource| -> anyhow::Result<()> {
                current.details = new.details.clone();
                current.refs = new.refs.clone();
                current.data = new.data.clone();
                Ok(())
            };
            hub.update_if(&key, expected.as_deref(), &mut replace)
        })
        .await?;
    Ok(with_etag(WireResource::of(&updated, None), StatusCode::OK))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    recursive: Option<bool>,
}

/// `DELETE` a resource (`?recursive=true`: a space with everything in it).
pub async fn delete<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(segments): Path<Vec<String>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<serde_json::Value>> {
    need(&caller)?;
    let key = path_key(&segments)?;
    let query: DeleteQuery = extract::query(raw.as_deref())?;
    let recursive = query.recursive.unwrap_or(false);
    let expected = if_match(&headers)?;
    let deleted = state
        .hub
        .write(move |hub| hub.delete_if(&key, recursive, expected.as_deref()))
        .await?;
    let keys: Vec<serde_json::Value> = deleted
        .iter()
        .map(|k| serde_json::json!({"kind": k.kind.name(), "space": k.space, "slug": k.slug}))
        .collect();
    Ok(Json(serde_json::json!({ "deleted": keys })))
}
