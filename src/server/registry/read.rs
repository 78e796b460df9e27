//! The registry's read endpoints: list, search, detail, versions, a
//! version's manifest, download (with an ETag), actions and the index. A
//! version above the caller's level is invisible: a package with no version
//! the caller may read answers 404, exactly like a missing one.

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::super::cache::PackageEntry;
use super::super::error::{ApiError, ApiResult};
use super::super::extract;
use super::super::store::Kv;
use super::records;
use crate::registry::types::{
    ActionKind, ActionRecord, IndexEntry, PackageDetail, PackageList, PackageRecord, PackageStatus,
    PackageSummary, VersionRecord,
};

/// How many actions a package's detail shows.
const RECENT_ACTIONS: usize = 20;

/// `package` as `caller` may see it: only versions at or below the
/// caller's level (and, unless `yanked`, not yanked). `None` when the
/// caller may see no version at all.
pub fn visible(package: &PackageRecord, caller: &Caller, yanked: bool) -> Option<PackageRecord> {
    let level = caller.level.get();
    if !package.versions.iter().any(|v| v.min_level <= level) && !package.versions.is_empty() {
        return None;
    }
    let mut shown = package.clone();
    shown
        .versions
        .retain(|v| v.min_level <= level && (yanked || !v.yanked));
    Some(shown)
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("package `{name}` not found"))
}

/// How many actions a cached entry keeps.
const KEPT_ACTIONS: usize = 100;

/// The package `name` as the store has it, from the read cache when fresh.
async fn entry<K: Kv>(state: &AppState<K>, name: &str) -> ApiResult<Arc<PackageEntry>> {
    match state.cache.get(name) {
        Some(entry) => Ok(entry),
        None => load_entry(state, name).await,
    }
}

/// [`entry`], with actions at most [`super::super::cache::ACTIONS_MAX_AGE`] old (one caller
/// reads them again; the others meanwhile see the entry as it is).
async fn entry_with_actions<K: Kv>(
    state: &AppState<K>,
    name: &str,
) -> ApiResult<Arc<PackageEntry>> {
    match state.cache.get(name) {
        Some(entry) if !entry.claim_refresh() => Ok(entry),
        _ => load_entry(state, name).await,
    }
}

async fn load_entry<K: Kv>(state: &AppState<K>, name: &str) -> ApiResult<Arc<PackageEntry>> {
    let generation = state.cache.generation();
    let record = records::package(&state.kv, name).await?.map(|(r, _)| r);
    let actions = match record {
        Some(_) => records::actions(&state.kv, name, KEPT_ACTIONS).await?,
        None => Vec::new(),
    };
    Ok(state.cache.put(name, record, actions, generation))
}

/// The package `name` as `caller` may see it, or 404.
async fn readable<K: Kv>(
    state: &AppState<K>,
    caller: &Caller,
    name: &str,
    yanked: bool,
) -> ApiResult<PackageRecord> {
    let entry = entry(state, name).await?;
    let package = entry.record.as_ref().ok_or_else(|| not_found(name))?;
    visible(package, caller, yanked).ok_or_else(|| not_found(name))
}

/// The version `version` of `name` (yanked ones too: they stay
/// downloadable by exact version), or 404.
async fn readable_version<K: Kv>(
    state: &AppState<K>,
    caller: &Caller,
    name: &str,
    version: &str,
) -> ApiResult<VersionRecord> {
    let package = readable(state, caller, name, true).await?;
    package
        .version(version)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("package `{name}` has no version `{version}`")))
}

fn summary(package: &PackageRecord, level: u8) -> PackageSummary {
    PackageSummary {
        name: package.name.clone(),
        description: package.description.clone(),
        labels: package.labels.clone(),
        status: package.status,
        latest: package.latest(level).map(|v| v.version.clone()),
        versions: package.versions.len(),
        updated_at: package.updated_at.clone(),
    }
}

/// The query of `GET /api/v1/packages`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    prefix: Option<String>,
    label: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /api/v1/packages`: packages by name, filtered by name prefix,
/// label (`key` or `key=value`) and status, paged.
pub async fn list<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<PackageList>> {
    let query: ListQuery = extract::query(raw.as_deref())?;
    let (limit, offset) = extract::page(query.limit, query.offset)?;
    let status = query
        .status
        .as_deref()
        .map(PackageStatus::parse)
        .transpose()
        .map_err(ApiError::bad_request)?;
    let label = query.label.as_deref().map(|l| match l.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (l.to_string(), None),
    });
    let level = caller.level.get();
    let matching: Vec<PackageSummary> = records::all_packages(&state.kv)
        .await?
        .iter()
        .filter(|p| {
            query
                .prefix
                .as_deref()
                .is_none_or(|pre| p.name.starts_with(pre))
        })
        .filter(|p| status.is_none_or(|s| p.status == s))
        .filter(|p| match &label {
            None => true,
            Some((k, None)) => p.labels.contains_key(k),
            Some((k, Some(v))) => p.labels.get(k) == Some(v),
        })
        .filter_map(|p| visible(p, &caller, false))
        .map(|p| summary(&p, level))
        .collect();
    let total = matching.len();
    let packages = matching.into_iter().skip(offset).take(limit).collect();
    Ok(Json(PackageList { packages, total }))
}

/// The query of `GET /api/v1/packages/search`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /api/v1/packages/search?q=`: names and descriptions containing
/// `q` (any case); an exact name first, then name prefixes, then the rest.
pub async fn search<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<PackageList>> {
    let query: SearchQuery = extract::query(raw.as_deref())?;
    let (limit, offset) = extract::page(query.limit, query.offset)?;
    let q = query.q.unwrap_or_default().trim().to_lowercase();
    if q.is_empty() || q.len() > 256 {
        return Err(ApiError::bad_request("q must be 1-256 characters"));
    }
    let level = caller.level.get();
    let mut hits: Vec<(u8, PackageSummary)> = records::all_packages(&state.kv)
        .await?
        .iter()
        .filter_map(|p| visible(p, &caller, false))
        .filter_map(|p| {
            let name = p.name.to_lowercase();
            let rank = if name == q {
                0
            } else if name.starts_with(&q) {
                1
            } else if name.contains(&q) {
                2
            } else if p.description.to_lowercase().contains(&q) {
                3
            } else {
                return None;
            };
            Some((rank, summary(&p, level)))
        })
        .collect();
    hits.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let total = hits.len();
    let packages = hits
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, s)| s)
        .collect();
    Ok(Json(PackageList { packages, total }))
}

/// `GET /api/v1/packages/{name}`: metadata, the versions the caller may
/// read (unyanked) and the recent actions. Rendered once per level while
/// the package is unchanged.
pub async fn detail<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let name = extract::name(&name)?;
    let entry = entry_with_actions(&state, &name).await?;
    let record = entry.record.as_ref().ok_or_else(|| not_found(&name))?;
    let all = visible(record, &caller, true).ok_or_else(|| not_found(&name))?;
    let slot = &entry.rendered[usize::from(caller.level.get().saturating_sub(1)).min(5)];
    let body = match slot.get() {
        Some(body) => body.clone(),
        None => {
            let package = visible(record, &caller, false).ok_or_else(|| not_found(&name))?;
            let recent_actions = visible_actions(&all, entry.actions.clone())
                .into_iter()
                .take(RECENT_ACTIONS)
                .collect();
            let bytes = serde_json::to_vec(&PackageDetail {
                package,
                recent_actions,
            })
            .map_err(|e| ApiError::internal(e.to_string()))?;
            slot.get_or_init(|| Bytes::from(bytes)).clone()
        }
    };
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        Body::from(body),
    )
        .into_response())
}

/// The query of `GET /api/v1/packages/{name}/versions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionsQuery {
    yanked: Option<bool>,
}

/// `GET /api/v1/packages/{name}/versions` (`?yanked=true` includes yanked ones).
pub async fn versions<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<VersionRecord>>> {
    let name = extract::name(&name)?;
    let query: VersionsQuery = extract::query(raw.as_deref())?;
    let package = readable(&state, &caller, &name, query.yanked.unwrap_or(false)).await?;
    Ok(Json(package.versions))
}

/// `GET /api/v1/packages/{name}/{version}`: the version's manifest.json.
pub async fn manifest<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Response> {
    let name = extract::name(&name)?;
    let version = extract::version(&version)?;
    let record = readable_version(&state, &caller, &name, &version).await?;
    let bytes = blob(&state, &record.manifest_digest).await?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        bytes,
    )
        .into_response())
}

/// `GET /api/v1/packages/{name}/{version}/signature`: the version's
/// `manifest.json.minisig` (minisign's text format); 404 when it was
/// published unsigned.
pub async fn signature<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Response> {
    let name = extract::name(&name)?;
    let version = extract::version(&version)?;
    let record = readable_version(&state, &caller, &name, &version).await?;
    let Some(digest) = &record.signature_digest else {
        return Err(ApiError::not_found(format!(
            "{name}@{version} was published without a signature"
        )));
    };
    let bytes = blob(&state, digest).await?;
    Ok((
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        bytes,
    )
        .into_response())
}

async fn blob<K: Kv>(state: &AppState<K>, digest: &str) -> ApiResult<Bytes> {
    if let Some(bytes) = state.cache.blob(digest) {
        return Ok(bytes);
    }
    let blobs = state.blobs.clone();
    let wanted = digest.to_string();
    let found = tokio::task::spawn_blocking(move || blobs.read(&wanted))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(format!("cannot read a blob: {e}")))?;
    let bytes = Bytes::from(found.ok_or_else(|| {
        ApiError::internal(format!("blob {digest} is missing from the blob directory"))
    })?);
    state.cache.put_blob(digest, bytes.clone());
    Ok(bytes)
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// `GET /api/v1/packages/{name}/{version}/download`: the archive, with the
/// archive digest as ETag; 304 when `If-None-Match` has it.
pub async fn download<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let name = extract::name(&name)?;
    let version = extract::version(&version)?;
    let record = readable_version(&state, &caller, &name, &version).await?;
    let etag = format!("\"{}\"", record.archive_digest);
    let etag_header =
        HeaderValue::from_str(&etag).map_err(|e| ApiError::internal(e.to_string()))?;
    let immutable = HeaderValue::from_static("public, max-age=31536000, immutable");
    if not_modified(&headers, &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(ETAG, etag_header), (CACHE_CONTROL, immutable)],
        )
            .into_response());
    }
    let bytes = blob(&state, &record.archive_digest).await?;
    state.events.push(records::action(
        ActionKind::Download,
        &name,
        Some(&version),
        &caller.name,
    ));
    let content_type = if record.archive_format == "zip" {
        "application/zip"
    } else {
        "application/gzip"
    };
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (ETAG, etag_header),
            (CACHE_CONTROL, immutable),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// The query of `GET /api/v1/packages/{name}/actions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionsQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/packages/{name}/actions`: publish, yank and download
/// events, newest first.
pub async fn actions<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<ActionRecord>>> {
    let name = extract::name(&name)?;
    let query: ActionsQuery = extract::query(raw.as_deref())?;
    let (limit, _) = extract::page(query.limit, None)?;
    let package = readable(&state, &caller, &name, true).await?;
    if limit <= RECENT_ACTIONS {
        let cached = entry_with_actions(&state, &name).await?;
        let mut shown = visible_actions(&package, cached.actions.clone());
        if shown.len() >= limit || cached.actions.len() < KEPT_ACTIONS {
            shown.truncate(limit);
            return Ok(Json(shown));
        }
    }
    // Read more than asked when some are hidden, a page at a time.
    let mut want = limit;
    let mut shown;
    loop {
        let page = records::actions(&state.kv, &name, want).await?;
        let exhausted = page.len() < want;
        shown = visible_actions(&package, page);
        if shown.len() >= limit || exhausted || want >= 100_000 {
            break;
        }
        want *= 4;
    }
    shown.truncate(limit);
    Ok(Json(shown))
}

/// The actions on versions `package` shows (it holds the versions the
/// caller may read), and those on the package itself.
fn visible_actions(package: &PackageRecord, actions: Vec<ActionRecord>) -> Vec<ActionRecord> {
    actions
        .into_iter()
        .filter(|a| {
            a.version
                .as_deref()
                .is_none_or(|v| package.version(v).is_some())
        })
        .collect()
}

/// `GET /api/packages/index`: every version the caller may read, unyanked.
pub async fn index<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Vec<IndexEntry>>> {
    let mut out = Vec::new();
    for package in records::all_packages(&state.kv).await? {
        let Some(shown) = visible(&package, &caller, false) else {
            continue;
        };
        out.extend(shown.versions.into_iter().map(|v| IndexEntry {
            package_id: format!("{}@{}", shown.name, v.version),
            name: shown.name.clone(),
            version: v.version,
            min_level: v.min_level,
            dependencies: v.dependencies,
            digest: v.package_digest,
            description: v.description.unwrap_or_else(|| shown.description.clone()),
            signer: v.signer,
        }));
    }
    Ok(Json(out))
}
