//! The deployments API: `POST /api/v1/deployments` (level 4) checks the
//! request, resolves the version and its dependencies, refuses unknown
//! environments before anything runs, and queues the job (202);
//! `GET /api/v1/deployments[?env=&status=&package=]` and `/{id}` (level 2)
//! read the records, with the later deployments that superseded each; and
//! `POST /api/v1/deployments/{id}/rollback` (level 4) queues a rollback.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::super::error::{ApiError, ApiResult};
use super::super::extract;
use super::super::registry::read::visible;
use super::super::registry::records::{self as registry_records, Change};
use super::super::store::Kv;
use super::records::{self, DEPLOYMENTS, new_id, now_ms};
use crate::deploy::deployment::{DEFAULT_RETRIES, MAX_RETRIES, RollbackRecord};
use crate::deploy::duration::parse_time;
use crate::deploy::{
    DeployRequest, Deployment, DeploymentStatus, EnvOutcome, EnvStatus, Job, JobKind, JobStatus,
    Queued, RollbackRequest,
};
use crate::registry::Level;

fn job_for(deployment: &str, kind: JobKind, by: &str, run_at_ms: i64, timeout: Option<u64>) -> Job {
    let now = now_ms();
    Job {
        id: new_id("job"),
        kind,
        deployment: deployment.to_string(),
        status: if run_at_ms > now {
            JobStatus::Pending
        } else {
            JobStatus::Queued
        },
        run_at: rfc3339_ms(run_at_ms),
        run_at_ms,
        timeout_seconds: timeout,
        created_by: by.to_string(),
        created_at: crate::time::now_rfc3339_ms(),
        started_at: None,
        finished_at: None,
        attempts: 0,
        lease: None,
        cancel_requested: false,
        error: None,
    }
}

fn rfc3339_ms(ms: i64) -> String {
    crate::time::format_rfc3339(ms.div_euclid(1000))
}

/// `POST /api/v1/deployments`.
pub async fn create<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(Level::ADMIN, "deploying")?;
    let request: DeployRequest = extract::json(&body)?;
    let name = extract::name(&request.package)?;
    let requirement = semver::VersionReq::parse(&request.requirement).map_err(|e| {
        ApiError::bad_request(format!(
            "requirement `{}` is not a semver requirement: {e}",
            request.requirement
        ))
    })?;
    if !matches!(
        request.on_conflict.as_str(),
        "fail" | "skip" | "update" | "merge"
    ) {
        return Err(ApiError::bad_request(format!(
            "on_conflict `{}` must be fail, skip, update or merge",
            request.on_conflict
        )));
    }
    let retries = request.retries.unwrap_or(DEFAULT_RETRIES);
    if retries > MAX_RETRIES {
        return Err(ApiError::bad_request(format!(
            "retries {retries} is more than {MAX_RETRIES}"
        )));
    }
    if request.timeout_seconds == Some(0) {
        return Err(ApiError::bad_request("timeout_seconds must be positive"));
    }
    let run_at_ms = match &request.at {
        Some(at) => parse_time(at).map_err(ApiError::bad_request)?,
        None => now_ms(),
    };
    if request.environments.is_empty() {
        return Err(ApiError::bad_request("name at least one environment"));
    }
    let known = super::environments::all(&state).await?;
    let mut seen = std::collections::BTreeSet::new();
    for env in &request.environments {
        if !seen.insert(env.as_str()) {
            return Err(ApiError::bad_request(format!(
                "environment `{env}` is named twice"
            )));
        }
        if !known.iter().any(|(e, _)| &e.name == env) {
            let names: Vec<&str> = known.iter().map(|(e, _)| e.name.as_str()).collect();
            let shown: String = env.chars().take(64).collect();
            return Err(ApiError::bad_request(format!(
                "unknown environment `{shown}`; the server knows {}",
                if names.is_empty() {
                    "none (add one with `pkg deploy env add`)".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
    }
    let resolution = super::package::resolve_request(&state, &caller, &name, &requirement).await?;
    let root = resolution
        .packages
        .get(&name)
        .ok_or_else(|| ApiError::internal("the resolution lost the requested package"))?;
    let packages: Vec<String> = resolution
        .load_order()
        .iter()
        .map(|r| format!("{}@{}", r.entry.name, r.entry.version))
        .collect();
    let id = new_id("dep");
    let job = job_for(
        &id,
        JobKind::Deploy,
        &caller.name,
        run_at_ms,
        request.timeout_seconds,
    );
    let deployment = Deployment {
        id: id.clone(),
        job: job.id.clone(),
        package: name.clone(),
        version: root.entry.version.to_string(),
        requirement: request.requirement.clone(),
        digest: root.entry.digest.clone(),
        packages,
        on_conflict: request.on_conflict.clone(),
        dry_run: request.dry_run,
        rollback_on_partial: request.rollback_on_partial,
        retries,
        stop_on_error: request.stop_on_error,
        environments: request
            .environments
            .iter()
            .map(|e| EnvOutcome::pending(e))
            .collect(),
        status: DeploymentStatus::Pending,
        error: None,
        created_by: caller.name.clone(),
        created_at: crate::time::now_rfc3339_ms(),
        run_at: job.run_at.clone(),
        started_at: None,
        finished_at: None,
        duration_ms: None,
        rollback: None,
        superseded_by: Vec::new(),
    };
    records::create(&state.kv, &deployment, &job).await?;
    state.deploy.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Queued { deployment, job })).into_response())
}

/// The query of `GET /api/v1/deployments`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    env: Option<String>,
    status: Option<String>,
    package: Option<String>,
    limit: Option<usize>,
}

/// The later deployments of the same package among `others` that
/// succeeded in one of `d`'s environments.
fn superseding(d: &Deployment, others: &[Deployment]) -> Vec<String> {
    others
        .iter()
        .filter(|o| o.id > d.id && o.package == d.package && !o.dry_run)
        .filter(|o| {
            o.environments.iter().any(|e| {
                e.status == EnvStatus::Succeeded
                    && d.environments.iter().any(|mine| mine.name == e.name)
            })
        })
        .map(|o| o.id.clone())
        .collect()
}

/// Whether `caller` may see `package` (a `min_level` above the caller's
/// level hides its deployments, as it hides the package).
async fn readable<K: Kv>(state: &AppState<K>, caller: &Caller, package: &str) -> ApiResult<bool> {
    Ok(registry_records::package(&state.kv, package)
        .await?
        .is_some_and(|(record, _)| visible(&record, caller, true).is_some()))
}

/// The deployments (of `package` only, when given) `caller` may see,
/// oldest first, with `superseded_by` filled in.
async fn every<K: Kv>(
    state: &AppState<K>,
    caller: &Caller,
    package: Option<&str>,
) -> ApiResult<Vec<Deployment>> {
    let all: Vec<Deployment> = match package {
        Some(p) => records::of_package(&state.kv, p).await?,
        None => records::all(&state.kv, DEPLOYMENTS).await?,
    };
    let mut by_package: BTreeMap<String, Vec<Deployment>> = BTreeMap::new();
    for d in all {
        by_package.entry(d.package.clone()).or_default().push(d);
    }
    let mut out = Vec::new();
    for (package, group) in by_package {
        if !readable(state, caller, &package).await? {
            continue;
        }
        for d in &group {
            let mut d = d.clone();
            d.superseded_by = superseding(&d, &group);
            out.push(d);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// `GET /api/v1/deployments`.
pub async fn list<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<Deployment>>> {
    caller.require(Level::USER, "reading deployments")?;
    let query: ListQuery = extract::query(raw.as_deref())?;
    let (limit, _) = extract::page(query.limit, None)?;
    if let Some(status) = &query.status
        && DeploymentStatus::parse(status).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "status `{status}` must be pending, deploying, succeeded, failed, partial, rolled-back or cancelled"
        )));
    }
    let mut out: Vec<Deployment> = every(&state, &caller, query.package.as_deref())
        .await?
        .into_iter()
        .rev()
        .filter(|d| query.package.as_ref().is_none_or(|p| &d.package == p))
        .filter(|d| {
            query
                .env
                .as_ref()
                .is_none_or(|env| d.environments.iter().any(|e| &e.name == env))
        })
        .filter(|d| query.status.as_ref().is_none_or(|s| d.status.as_str() == s))
        .collect();
    out.truncate(limit);
    Ok(Json(out))
}

/// The deployment `id` as `caller` may read it now, or 404.
async fn one<K: Kv>(state: &AppState<K>, caller: &Caller, id: &str) -> ApiResult<Deployment> {
    let shown: String = id.chars().take(64).collect();
    let missing = || ApiError::not_found(format!("no deployment `{shown}`"));
    let mut d = records::deployment(&state.kv, id)
        .await?
        .ok_or_else(missing)?;
    if !readable(state, caller, &d.package).await? {
        return Err(missing());
    }
    let others = records::of_package(&state.kv, &d.package).await?;
    d.superseded_by = superseding(&d, &others);
    Ok(d)
}

/// `GET /api/v1/deployments/{id}`.
pub async fn show<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Deployment>> {
    caller.require(Level::USER, "reading deployments")?;
    Ok(Json(one(&state, &caller, &id).await?))
}

/// `POST /api/v1/deployments/{id}/rollback`.
pub async fn rollback<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(Level::ADMIN, "rolling back a deployment")?;
    let request: RollbackRequest = if body.is_empty() {
        RollbackRequest::default()
    } else {
        extract::json(&body)?
    };
    let current = one(&state, &caller, &id).await?;
    if !current.status.is_final() {
        return Err(ApiError::conflict(format!(
            "deployment `{id}` is still {}; wait for it or cancel its job {}",
            current.status.as_str(),
            current.job
        )));
    }
    if current.dry_run {
        return Err(ApiError::conflict(format!(
            "deployment `{id}` was a dry run: it changed nothing to roll back"
        )));
    }
    if current.rollback.is_some() || current.status == DeploymentStatus::RolledBack {
        return Err(ApiError::conflict(format!(
            "deployment `{id}` was already rolled back"
        )));
    }
    if !current
        .environments
        .iter()
        .any(|e| e.status == EnvStatus::Succeeded && e.history_id.is_some())
    {
        return Err(ApiError::conflict(format!(
            "deployment `{id}` changed no environment: nothing to roll back"
        )));
    }
    if !current.superseded_by.is_empty() && !request.force {
        return Err(ApiError::conflict(format!(
            "deployment `{id}` was superseded by {}: rolling it back would undo what they rely on; roll them back first, or pass force",
            current.superseded_by.join(", ")
        )));
    }
    let job = job_for(&id, JobKind::Rollback, &caller.name, now_ms(), None);
    let record = RollbackRecord {
        by: caller.name.clone(),
        at: crate::time::now_rfc3339_ms(),
        job: Some(job.id.clone()),
        forced_over: (!current.superseded_by.is_empty()).then(|| current.superseded_by.clone()),
    };
    let claimed = records::update_deployment(&state.kv, &id, |d| {
        if d.rollback.is_some() {
            return Ok(Change::Keep(false));
        }
        d.rollback = Some(record.clone());
        Ok(Change::Write(true))
    })
    .await?;
    if claimed != Some(true) {
        return Err(ApiError::conflict(format!(
            "deployment `{id}` was already rolled back"
        )));
    }
    records::add_job(&state.kv, &job).await?;
    state.deploy.wake.notify_one();
    let deployment = one(&state, &caller, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { deployment, job })).into_response())
}
