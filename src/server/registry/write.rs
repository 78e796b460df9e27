//! The registry's write endpoints: publish (level 2), metadata updates,
//! yank and unyank (level 4). Every change to a package is a
//! compare-and-swap of its record, so replicas racing on one package
//! produce one winner and the loser sees the winner's result.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};

use super::super::AppState;
use super::super::auth::Caller;
use super::super::error::{ApiError, ApiResult};
use super::super::extract;
use super::super::store::Kv;
use super::publish::check_archive;
use super::read::visible;
use super::records::{self, Change};
use crate::registry::Level;
use crate::registry::types::{
    ActionKind, MetadataPatch, PackageRecord, PackageStatus, PublishResponse, VersionRecord,
};

/// `POST /api/v1/packages`: publishes the `pkg pack` archive in the body.
/// 201 for a new version, 200 for the same content again, 409 for other
/// content under a published name@version.
pub async fn publish<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<PublishResponse>)> {
    caller.require(Level::USER, "publishing")?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty: POST the archive `pkg pack` writes",
        ));
    }
    let blobs = state.blobs.clone();
    let checked = tokio::task::spawn_blocking(move || check_archive(&blobs, &body))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    let name = checked.name.clone();
    let now = crate::time::now_rfc3339();
    let mut record = checked.record;
    record.published_at = now.clone();
    record.published_by = caller.name.clone();
    let outcome = records::update(&state.kv, &name, |current| {
        publish_into(current, &name, &record, &now, &caller)
    })
    .await;
    let created = match outcome {
        Ok(created) => created,
        Err(e) => {
            // Remove the refused upload's blobs unless a version refers to them.
            let referenced: Vec<String> = match records::package(&state.kv, &name).await {
                Ok(Some((package, _))) => package
                    .versions
                    .iter()
                    .flat_map(|v| {
                        [v.archive_digest.clone(), v.manifest_digest.clone()]
                            .into_iter()
                            .chain(v.signature_digest.clone())
                    })
                    .collect(),
                Ok(None) => Vec::new(),
                Err(_) => return Err(e),
            };
            let blobs = state.blobs.clone();
            let digests: Vec<String> = [
                record.archive_digest.clone(),
                record.manifest_digest.clone(),
            ]
            .into_iter()
            .chain(record.signature_digest.clone())
            .filter(|d| !referenced.contains(d))
            .collect();
            let _ = tokio::task::spawn_blocking(move || {
                for digest in digests {
                    blobs.remove(&digest);
                }
            })
            .await;
            return Err(e);
        }
    };
    if created {
        let action = records::action(
            ActionKind::Publish,
            &name,
            Some(&record.version),
            &caller.name,
        );
        records::record_action(&state.kv, &action).await?;
    }
    state.cache.invalidate(&name);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(PublishResponse {
            name,
            version: record.version.clone(),
            package_digest: record.package_digest.clone(),
            archive_digest: record.archive_digest.clone(),
            created,
        }),
    ))
}

/// Adds `version` to `current` (a new package when absent); `Keep(false)`
/// for an identical repeat.
fn publish_into(
    current: Option<PackageRecord>,
    name: &str,
    version: &VersionRecord,
    now: &str,
    caller: &Caller,
) -> Result<Change<(PackageRecord, bool)>, ApiError> {
    let mut package = current.unwrap_or_else(|| PackageRecord {
        name: name.to_string(),
        description: String::new(),
        labels: Default::default(),
        status: PackageStatus::Active,
        created_at: now.to_string(),
        updated_at: now.to_string(),
        created_by: caller.name.clone(),
        versions: Vec::new(),
    });
    let level = caller.level.get();
    if let Some(existing) = package.version(&version.version)
        && existing.package_digest == version.package_digest
    {
        if existing.signature_digest == version.signature_digest {
            return Ok(Change::Keep((package, false)));
        }
        let was = match &existing.signer {
            Some(key) => format!("signed by key {key}"),
            None => "unsigned".to_string(),
        };
        return Err(ApiError::conflict(format!(
            "{name}@{} is already published with the same content, {was}, and a published version's signature cannot change; publish a new version",
            version.version
        )));
    }
    if visible(&package, caller, true).is_none() {
        return Err(ApiError::forbidden(format!(
            "`{}` (level {}) may not publish to package `{name}`",
            caller.name, caller.level
        )));
    }
    if let Some(existing) = package.version(&version.version) {
        let digest = if existing.min_level <= level {
            format!(" ({})", existing.package_digest)
        } else {
            String::new()
        };
        return Err(ApiError::conflict(format!(
            "{name}@{} is already published with other content{digest}; publish a new version",
            version.version
        )));
    }
    if package.status == PackageStatus::Archived {
        return Err(ApiError::conflict(format!(
            "package `{name}` is archived and takes no new versions; set its status to active first"
        )));
    }
    if let Some(description) = &version.description {
        package.description = description.clone();
    }
    package.updated_at = now.to_string();
    package.versions.push(version.clone());
    Ok(Change::Write((package, true)))
}

/// `PATCH /api/v1/packages/{name}`: description, labels, status (level 4).
pub async fn patch<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<PackageRecord>> {
    let name = extract::name(&name)?;
    caller.require(Level::ADMIN, "changing package metadata")?;
    let change: MetadataPatch = extract::json(&body)?;
    if let Some(d) = &change.description
        && d.len() > 4096
    {
        return Err(ApiError::bad_request("a description is at most 4096 bytes"));
    }
    if let Some(labels) = &change.labels
        && (labels.len() > 64
            || labels
                .iter()
                .any(|(k, v)| k.is_empty() || k.len() > 128 || v.len() > 256 || k.contains('=')))
    {
        return Err(ApiError::bad_request(
            "labels: at most 64, keys 1-128 bytes without `=`, values at most 256 bytes",
        ));
    }
    let now = crate::time::now_rfc3339();
    let updated = records::update(&state.kv, &name, |current| {
        let mut package = current
            .and_then(|p| visible(&p, &caller, true).map(|_| p))
            .ok_or_else(|| ApiError::not_found(format!("package `{name}` not found")))?;
        if let Some(d) = &change.description {
            package.description = d.clone();
        }
        if let Some(l) = &change.labels {
            package.labels = l.clone();
        }
        if let Some(s) = change.status {
            package.status = s;
        }
        package.updated_at = now.clone();
        Ok(Change::Write((package.clone(), package)))
    })
    .await?;
    let action = records::action(ActionKind::Update, &name, None, &caller.name);
    records::record_action(&state.kv, &action).await?;
    state.cache.invalidate(&name);
    Ok(Json(updated))
}

/// `DELETE /api/v1/packages/{name}/{version}`: yanks the version (level 4).
pub async fn yank<K: Kv>(
    state: State<Arc<AppState<K>>>,
    caller: Extension<Caller>,
    path: Path<(String, String)>,
) -> ApiResult<Json<VersionRecord>> {
    set_yanked(state, caller, path, true).await
}

/// `POST /api/v1/packages/{name}/{version}/unyank`: undoes a yank (level 4).
pub async fn unyank<K: Kv>(
    state: State<Arc<AppState<K>>>,
    caller: Extension<Caller>,
    path: Path<(String, String)>,
) -> ApiResult<Json<VersionRecord>> {
    set_yanked(state, caller, path, false).await
}

async fn set_yanked<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path((name, version)): Path<(String, String)>,
    yanked: bool,
) -> ApiResult<Json<VersionRecord>> {
    let name = extract::name(&name)?;
    let version = extract::version(&version)?;
    caller.require(Level::ADMIN, if yanked { "yanking" } else { "unyanking" })?;
    let now = crate::time::now_rfc3339();
    let (record, changed) = records::update(&state.kv, &name, |current| {
        let mut package = current
            .and_then(|p| visible(&p, &caller, true).map(|_| p))
            .ok_or_else(|| ApiError::not_found(format!("package `{name}` not found")))?;
        let level = caller.level.get();
        let Some(found) = package
            .versions
            .iter_mut()
            .find(|v| v.version == version && v.min_level <= level)
        else {
            return Err(ApiError::not_found(format!(
                "package `{name}` has no version `{version}`"
            )));
        };
        if found.yanked == yanked {
            let same = found.clone();
            return Ok(Change::Keep((package, (same, false))));
        }
        found.yanked = yanked;
        let answer = found.clone();
        package.updated_at = now.clone();
        Ok(Change::Write((package, (answer, true))))
    })
    .await?;
    if changed {
        let kind = if yanked {
            ActionKind::Yank
        } else {
            ActionKind::Unyank
        };
        let action = records::action(kind, &name, Some(&version), &caller.name);
        records::record_action(&state.kv, &action).await?;
    }
    state.cache.invalidate(&name);
    Ok(Json(record))
}
