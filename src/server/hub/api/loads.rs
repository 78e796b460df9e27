//! Loading a package into the server's hub: plan it (`?stage=true` keeps
//! the unpacked upload for the apply), apply it in one transaction (from
//! the body or a staged upload, refused when the plan changed since it was
//! shown), and the cheap check a sync makes first (compare).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::super::super::AppState;
use super::super::super::auth::Caller;
use super::super::super::error::{ApiError, ApiResult};
use super::super::super::extract;
use super::super::super::store::Kv;
use super::super::super::upload::read_transfer;
use super::{key_of, need};
use crate::hub_access::HubAccess;
use crate::model::ResourceKey;
use crate::package::load::LoadOptions;
use crate::package::plan::{OnConflict, PlanOptions, check_prefix};
use crate::package::read::Package;
use crate::package::remap::ExternalMode;
use crate::progress::NoProgress;

/// The query of plan and apply: the load options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoadQuery {
    prefix: Option<String>,
    on_conflict: Option<String>,
    external: Option<String>,
    strict: Option<bool>,
    source: Option<String>,
    commit: Option<String>,
    diffs: Option<bool>,
    detail: Option<bool>,
    expect: Option<String>,
    stage: Option<bool>,
    upload: Option<String>,
}

fn load_options(query: &LoadQuery) -> ApiResult<LoadOptions> {
    let prefix = query.prefix.clone().filter(|p| !p.is_empty());
    check_prefix(prefix.as_deref()).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let on_conflict = match query.on_conflict.as_deref().unwrap_or("fail") {
        "fail" => OnConflict::Fail,
        "skip" => OnConflict::Skip,
        "update" => OnConflict::Update,
        "merge" => OnConflict::Merge,
        other => {
            return Err(ApiError::bad_request(format!(
                "on_conflict `{other}` must be fail, skip, update or merge"
            )));
        }
    };
    let external = match query.external.as_deref().unwrap_or("keep") {
        "keep" => ExternalMode::Keep,
        "prefix" => ExternalMode::Prefix,
        other => {
            return Err(ApiError::bad_request(format!(
                "external `{other}` must be keep or prefix"
            )));
        }
    };
    let source: String = query
        .source
        .clone()
        .unwrap_or_else(|| "upload".into())
        .chars()
        .filter(|c| !c.is_control())
        .take(1024)
        .collect();
    Ok(LoadOptions {
        plan: PlanOptions {
            prefix,
            on_conflict,
            external,
            strict: query.strict.unwrap_or(false),
        },
        source,
        commit: query.commit.clone().map(|c| c.chars().take(64).collect()),
        expect_plan: None,
    })
}

/// Decodes the query string of a plan or apply request (absent is empty):
/// the query itself and the load options it asks for, or a 400. The
/// handlers call this before reading the body; the fuzzer calls it too.
pub(crate) fn decode_load_query(raw: Option<&str>) -> ApiResult<(LoadQuery, LoadOptions)> {
    let query: LoadQuery = extract::query(raw)?;
    let options = load_options(&query)?;
    Ok((query, options))
}

/// Reads the package archive `body` in memory on a blocking thread, once
/// a transfer permit is free.
async fn transfer<K: Kv>(state: &AppState<K>, body: Bytes) -> ApiResult<Package> {
    let _permit = state
        .transfers
        .acquire()
        .await
        .map_err(|e| ApiError::internal(format!("the server is stopping: {e}")))?;
    tokio::task::spawn_blocking(move || read_transfer(&body))
        .await
        .map_err(|e| ApiError::internal(format!("reading the upload failed: {e}")))?
}

/// `POST /api/v1/hub/plan`.
pub async fn plan<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    need(&caller)?;
    let (query, options) = decode_load_query(raw.as_deref())?;
    let diffs = query.diffs.unwrap_or(false);
    let upload = transfer(&state, body).await?;
    let (report, upload) = state
        .hub
        .read(move |hub| {
            let report = hub.plan(&upload, &options, diffs)?;
            Ok((report, upload))
        })
        .await?;
    let mut response = Json(report).into_response();
    if query.stage.unwrap_or(false)
        && let Some(id) = state.staging.put(upload, &caller.name)
        && let Ok(value) = HeaderValue::from_str(&id)
    {
        response.headers_mut().insert("x-pkg-upload", value);
    }
    Ok(response)
}

/// `POST /api/v1/hub/apply`.
pub async fn apply<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Json<crate::hub_access::LoadReport>> {
    need(&caller)?;
    let (query, options) = decode_load_query(raw.as_deref())?;
    let detail = query.detail.unwrap_or(false);
    let expect = query.expect.clone();
    let staged = match &query.upload {
        Some(id) => {
            if !body.is_empty() {
                return Err(ApiError::bad_request(
                    "send either an archive or upload=ID, not both",
                ));
            }
            Some(state.staging.take(id, &caller.name).ok_or_else(|| {
                ApiError::not_found(format!(
                    "staged upload `{}` not found: it expired or was staged on another replica; send the archive",
                    id.chars().take(64).collect::<String>()
                ))
            })?)
        }
        None => None,
    };
    // Unpacked before the write starts: on etcd the write holds the
    // cluster's lock.
    let upload = match staged {
        Some(upload) => upload,
        None => transfer(&state, body).await?,
    };
    let report = state
        .hub
        .write(move |hub| hub.load(&upload, &options, expect.as_deref(), detail, &NoProgress))
        .await?;
    Ok(Json(report))
}

/// The body of `POST /api/v1/hub/compare`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareBody {
    items: Vec<CompareItem>,
}

/// One resource and the source fingerprint a load would record for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareItem {
    kind: String,
    #[serde(default)]
    space: String,
    slug: String,
    source: String,
}

/// Decodes the body of a compare request into the resources it names, each
/// with the source fingerprint expected, or a 400/404 for a bad body, kind
/// or slug. The handler calls this; the fuzzer calls it too.
pub(crate) fn decode_compare(body: &Bytes) -> ApiResult<Vec<(ResourceKey, String)>> {
    let request: CompareBody = extract::json(body)?;
    let mut expected = Vec::with_capacity(request.items.len());
    for item in request.items {
        let space = (!item.space.is_empty()).then_some(item.space.as_str());
        expected.push((key_of(&item.kind, space, &item.slug)?, item.source));
    }
    Ok(expected)
}

/// `POST /api/v1/hub/compare`: whether the hub holds every resource as a
/// load of the same files wrote it (`{"current": true}`): a sync's cheap
/// "no changes" check.
pub async fn compare<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    need(&caller)?;
    let expected = decode_compare(&body)?;
    let current = state
        .hub
        .read(move |hub| hub.sources_current(&expected))
        .await?;
    Ok(Json(serde_json::json!({ "current": current })))
}
