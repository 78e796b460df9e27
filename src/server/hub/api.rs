//! The hub API under `/api/v1/hub/`: list, get, create, update (with
//! `If-Match`, 412 on a mismatch) and delete any resource kind; plan and
//! apply a package (the apply is one transaction, 409 with the list on a
//! conflict); history and rollback; and export a selection as a package
//! archive (what `pkg sync pull` loads). Reading and writing the hub needs
//! level 2.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::super::error::{ApiError, ApiResult};
use super::super::extract;
use super::super::store::Kv;
use super::super::upload::unpack;
use crate::hub::NewResource;
use crate::hub_access::wire::{WireResource, kind_named};
use crate::hub_access::{AccessError, HubAccess};
use crate::loaders::archive::ArchiveFormat;
use crate::model::fingerprint::content_fingerprint;
use crate::model::slug::validate_slug;
use crate::model::{ResourceKey, ResourceKind};
use crate::package::load::LoadOptions;
use crate::package::plan::{OnConflict, PlanOptions, check_prefix};
use crate::package::remap::ExternalMode;
use crate::progress::NoProgress;
use crate::registry::Level;

/// The hub routes.
pub fn routes<K: Kv>() -> Router<Arc<AppState<K>>> {
    Router::new()
        .route("/api/v1/hub/plan", post(plan::<K>))
        .route("/api/v1/hub/apply", post(apply::<K>))
        .route("/api/v1/hub/compare", post(compare::<K>))
        .route("/api/v1/hub/export", get(export::<K>))
        .route("/api/v1/hub/history", get(history::<K>))
        .route("/api/v1/hub/history/{id}/rollback", post(rollback::<K>))
        .route("/api/v1/hub/{kinds}", get(list::<K>).post(create::<K>))
        .route(
            "/api/v1/hub/{kinds}/{slug}",
            get(get_space::<K>)
                .put(put_space::<K>)
                .delete(delete_space::<K>),
        )
        .route(
            "/api/v1/hub/{kinds}/{space}/{slug}",
            get(get_scoped::<K>)
                .put(put_scoped::<K>)
                .delete(delete_scoped::<K>),
        )
}

fn need(caller: &Caller) -> ApiResult<()> {
    caller.require(Level::USER, "using the hub")
}

fn kind_of(segment: &str) -> ApiResult<ResourceKind> {
    kind_named(segment).ok_or_else(|| {
        ApiError::not_found(format!(
            "`{}` is not a resource kind (spaces, units, links, filters, workers, targets, views, ...)",
            segment.chars().take(40).collect::<String>()
        ))
    })
}

fn slug(text: &str, what: &str) -> ApiResult<String> {
    validate_slug(text).map_err(|e| ApiError::bad_request(format!("{what}: {e}")))?;
    Ok(text.to_string())
}

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

fn etag(fingerprint: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{fingerprint}\"")).ok()
}

fn with_etag(wire: WireResource, status: StatusCode) -> Response {
    let tag = etag(&wire.fingerprint);
    let mut response = (status, Json(wire)).into_response();
    if let Some(tag) = tag {
        response.headers_mut().insert(ETAG, tag);
    }
    response
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

async fn list<K: Kv>(
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

async fn get_key<K: Kv>(
    state: &AppState<K>,
    key: ResourceKey,
    raw: Option<String>,
) -> ApiResult<Response> {
    let query: GetQuery = extract::query(raw.as_deref())?;
    let with_data = query.data.unwrap_or(false);
    let fetched = state.hub.read(move |hub| hub.get(&key, with_data)).await?;
    Ok(with_etag(
        WireResource::of(&fetched.resource, fetched.data.as_deref()),
        StatusCode::OK,
    ))
}

async fn get_space<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((kinds, slug_text)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    need(&caller)?;
    get_key(&state, key_of(&kinds, None, &slug_text)?, raw).await
}

async fn get_scoped<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((kinds, space, slug_text)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    need(&caller)?;
    get_key(&state, key_of(&kinds, Some(&space), &slug_text)?, raw).await
}

fn body_resource(body: &Bytes, key: Option<&ResourceKey>) -> ApiResult<NewResource> {
    let wire: WireResource = extract::json(body)?;
    let new = wire.into_new().map_err(ApiError::bad_request)?;
    validate_slug(&new.key.slug).map_err(|e| ApiError::bad_request(format!("slug: {e}")))?;
    if new.key.kind != ResourceKind::Space {
        validate_slug(&new.key.space).map_err(|e| ApiError::bad_request(format!("space: {e}")))?;
    }
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

async fn create<K: Kv>(
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

/// The fingerprint `If-Match` names, if any.
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

async fn put_key<K: Kv>(
    state: &AppState<K>,
    key: ResourceKey,
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<Response> {
    let expected = if_match(headers)?;
    let new = body_resource(body, Some(&key))?;
    let (updated, _) = state
        .hub
        .write(move |hub| {
            let mut change = |current: &mut NewResource| -> anyhow::Result<()> {
                if let Some(expected) = &expected {
                    let data_digest = current
                        .data
                        .as_deref()
                        .map(crate::model::fingerprint::sha256_digest);
                    let details = crate::model::details::to_canonical_json(&current.details);
                    let now = content_fingerprint(&details, &current.refs, data_digest.as_deref());
                    if &now != expected {
                        return Err(anyhow::Error::new(StaleMarker));
                    }
                }
                current.details = new.details.clone();
                current.refs = new.refs.clone();
                current.data = new.data.clone();
                Ok(())
            };
            hub.update(&key, &mut change).map_err(|e| match e {
                AccessError::Change(inner) if inner.is::<StaleMarker>() => {
                    AccessError::Stale(key.clone())
                }
                other => other,
            })
        })
        .await?;
    Ok(with_etag(WireResource::of(&updated, None), StatusCode::OK))
}

/// The `If-Match` check failed inside the update's transaction.
#[derive(Debug)]
struct StaleMarker;

impl std::fmt::Display for StaleMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("If-Match does not match")
    }
}

impl std::error::Error for StaleMarker {}

async fn put_space<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((kinds, slug_text)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    need(&caller)?;
    put_key(&state, key_of(&kinds, None, &slug_text)?, &headers, &body).await
}

async fn put_scoped<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((kinds, space, slug_text)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    need(&caller)?;
    put_key(
        &state,
        key_of(&kinds, Some(&space), &slug_text)?,
        &headers,
        &body,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    recursive: Option<bool>,
}

async fn delete_key<K: Kv>(
    state: &AppState<K>,
    key: ResourceKey,
    headers: &HeaderMap,
    raw: Option<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let query: DeleteQuery = extract::query(raw.as_deref())?;
    let recursive = query.recursive.unwrap_or(false);
    let expected = if_match(headers)?;
    let deleted = state
        .hub
        .write(move |hub| {
            if let Some(expected) = &expected {
                let current = hub.get(&key, false)?;
                if &current.resource.fingerprint != expected {
                    return Err(AccessError::Stale(key.clone()));
                }
            }
            hub.delete(&key, recursive)
        })
        .await?;
    let keys: Vec<serde_json::Value> = deleted
        .iter()
        .map(|k| serde_json::json!({"kind": k.kind.name(), "space": k.space, "slug": k.slug}))
        .collect();
    Ok(Json(serde_json::json!({ "deleted": keys })))
}

async fn delete_space<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((kinds, slug_text)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<serde_json::Value>> {
    need(&caller)?;
    delete_key(&state, key_of(&kinds, None, &slug_text)?, &headers, raw).await
}

async fn delete_scoped<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((kinds, space, slug_text)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<serde_json::Value>> {
    need(&caller)?;
    delete_key(
        &state,
        key_of(&kinds, Some(&space), &slug_text)?,
        &headers,
        raw,
    )
    .await
}

/// The query of plan and apply: the load options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadQuery {
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

async fn plan<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    need(&caller)?;
    let query: LoadQuery = extract::query(raw.as_deref())?;
    let options = load_options(&query)?;
    let diffs = query.diffs.unwrap_or(false);
    let temp = state.blobs.temp_dir();
    let (report, upload) = state
        .hub
        .read(move |hub| {
            let upload = unpack(&temp, &crate::scratch::dir(), &body)
                .map_err(|e| AccessError::Change(anyhow::anyhow!(e.message)))?;
            let report = hub.plan(&upload.package, &options, diffs)?;
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

async fn apply<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Json<crate::hub_access::LoadReport>> {
    need(&caller)?;
    let query: LoadQuery = extract::query(raw.as_deref())?;
    let options = load_options(&query)?;
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
    let temp = state.blobs.temp_dir();
    let report = state
        .hub
        .write(move |hub| {
            let upload = match staged {
                Some(upload) => upload,
                None => unpack(&temp, &crate::scratch::dir(), &body)
                    .map_err(|e| AccessError::Change(anyhow::anyhow!(e.message)))?,
            };
            hub.load(
                &upload.package,
                &options,
                expect.as_deref(),
                detail,
                &NoProgress,
            )
        })
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

/// `POST /api/v1/hub/compare`: whether the hub holds every resource as a
/// load of the same files wrote it (`{"current": true}`): a sync's cheap
/// "no changes" check.
async fn compare<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    need(&caller)?;
    let request: CompareBody = extract::json(&body)?;
    let mut expected = Vec::with_capacity(request.items.len());
    for item in request.items {
        let kind = kind_of(&item.kind)?;
        let key = if kind == ResourceKind::Space {
            ResourceKey::space(&slug(&item.slug, "slug")?)
        } else {
            ResourceKey::new(
                kind,
                &slug(&item.space, "space")?,
                &slug(&item.slug, "slug")?,
            )
        };
        expected.push((key, item.source));
    }
    let current = state
        .hub
        .read(move |hub| hub.sources_current(&expected))
        .await?;
    Ok(Json(serde_json::json!({ "current": current })))
}

async fn history<K: Kv>(
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

async fn rollback<K: Kv>(
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

/// The query of an export.
#[derive(Debug, Default, Deserialize)]
struct ExportQuery {
    #[serde(default)]
    space: Vec<String>,
    #[serde(rename = "where")]
    where_: Option<String>,
}

async fn export<K: Kv>(
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
    let temp = state.blobs.temp_dir();
    let bytes = state
        .hub
        .write(move |hub| {
            let fail =
                |e: std::io::Error| AccessError::Change(anyhow::anyhow!("cannot export: {e}"));
            let dir = tempfile::tempdir_in(&temp).map_err(fail)?;
            let package_dir = dir.path().join("package");
            let options = crate::package::export::CreateOptions {
                spaces: query.space.clone(),
                filter,
                name: Some("sync".into()),
                created_at_from_hub: true,
                unrecorded: true,
                ..Default::default()
            };
            crate::package::export::create(hub.hub_mut(), &package_dir, &options, &NoProgress)?;
            let archive = dir.path().join("package.tar.gz");
            crate::package::pack::pack(&package_dir, &archive, ArchiveFormat::TarGz, &NoProgress)?;
            std::fs::read(&archive).map_err(fail)
        })
        .await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/gzip"))],
        Body::from(bytes),
    )
        .into_response())
}
