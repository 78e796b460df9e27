//! The jobs API: `GET /api/v1/jobs[?status=]` and `/{id}` (level 2), and
//! `POST /api/v1/jobs/{id}/cancel` (level 4): a job that has not started
//! ends at once; a running one stops before its next step.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::{Extension, Json};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::super::error::{ApiError, ApiResult};
use super::super::extract;
use super::super::registry::records::Change;
use super::super::store::Kv;
use super::records::{self, JOBS};
use crate::deploy::{DeploymentStatus, Job, JobStatus};
use crate::registry::Level;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/jobs`: newest first.
pub async fn list<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<Job>>> {
    caller.require(Level::USER, "reading jobs")?;
    let query: ListQuery = extract::query(raw.as_deref())?;
    let (limit, _) = extract::page(query.limit, None)?;
    let status = match &query.status {
        Some(text) => Some(JobStatus::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status `{text}` must be one of {}",
                JobStatus::ALL.map(JobStatus::as_str).join(", ")
            ))
        })?),
        None => None,
    };
    let mut jobs: Vec<Job> = records::all(&state.kv, JOBS).await?;
    jobs.reverse();
    jobs.retain(|j| status.is_none_or(|s| j.status == s));
    jobs.truncate(limit);
    Ok(Json(jobs))
}

fn not_found(id: &str) -> ApiError {
    let shown: String = id.chars().take(64).collect();
    ApiError::not_found(format!("no job `{shown}`"))
}

/// `GET /api/v1/jobs/{id}`.
pub async fn show<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    caller.require(Level::USER, "reading jobs")?;
    records::job(&state.kv, &id)
        .await?
        .map(Json)
        .ok_or_else(|| not_found(&id))
}

/// `POST /api/v1/jobs/{id}/cancel`.
pub async fn cancel<K: Kv>(
    State(state): State<Arc<AppState<K>>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    caller.require(Level::ADMIN, "cancelling a job")?;
    let now = crate::time::now_rfc3339_ms();
    let by = caller.name.clone();
    let outcome = records::update_job(&state.kv, &id, |job| {
        if job.status.is_final() {
            return Ok(Change::Keep(Err(job.status)));
        }
        if job.status == JobStatus::Processing {
            job.cancel_requested = true;
        } else {
            job.status = JobStatus::Cancelled;
            job.finished_at = Some(now.clone());
            job.error = Some(format!("cancelled by {by}"));
        }
        Ok(Change::Write(Ok(job.clone())))
    })
    .await?
    .ok_or_else(|| not_found(&id))?;
    let job = outcome.map_err(|status| {
        ApiError::conflict(format!(
            "job `{id}` has ended ({}); there is nothing to cancel",
            status.as_str()
        ))
    })?;
    if job.status == JobStatus::Cancelled {
        let reason = format!("cancelled by {} before it ran", caller.name);
        records::update_deployment(&state.kv, &job.deployment, |d| {
            if d.status.is_final() {
                return Ok(Change::Keep(()));
            }
            d.status = DeploymentStatus::Cancelled;
            d.error = Some(reason.clone());
            d.finished_at = Some(now.clone());
            Ok(Change::Write(()))
        })
        .await?;
    }
    Ok(Json(job))
}
