//! Running a claimed job: a deployment (every environment at once, or one
//! at a time with `stop_on_error`, each tried again with backoff, then the
//! succeeded ones rolled back after a partial failure when asked) or the
//! rollback of one. Every step is written to the deployment record as it
//! happens, so a replica taking the job over continues where it stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::super::AppState;
use super::super::registry::records::{self as registry_records, Change};
use super::super::store::{Expect, Kv};
use super::apply;
use super::environments;
use super::records::{self, LAST, now_ms};
use crate::deploy::deployment::BACKOFF_MS;
use crate::deploy::environment::LastDeployment;
use crate::deploy::{
    Deployment, DeploymentStatus, EnvOutcome, EnvStatus, Environment, Job, JobKind,
};
use crate::hub_access::AccessError;
use crate::loaders::archive::ArchiveFormat;
use crate::package::pack::{TRANSFER_LEVEL, pack_to_vec};
use crate::package::plan::OnConflict;
use crate::package::read::Package;
use crate::registry::types::{ActionKind, DeploymentAction};

/// Why a run did not finish.
#[derive(Debug)]
pub enum RunError {
    /// A cancel was asked.
    Cancelled,
    /// It could not go on.
    Failed(String),
}

impl From<super::super::error::ApiError> for RunError {
    fn from(e: super::super::error::ApiError) -> RunError {
        RunError::Failed(e.message)
    }
}

/// Runs `job` to its end.
pub async fn execute<K: Kv>(
    state: &Arc<AppState<K>>,
    job: &Job,
    cancel: &Arc<AtomicBool>,
) -> Result<(), RunError> {
    match job.kind {
        JobKind::Deploy => deploy(state, job, cancel).await,
        JobKind::Rollback => roll_back(state, job, cancel).await,
    }
}

fn on_conflict(text: &str) -> OnConflict {
    match text {
        "skip" => OnConflict::Skip,
        "update" => OnConflict::Update,
        "merge" => OnConflict::Merge,
        _ => OnConflict::Fail,
    }
}

/// Changes `id`'s record (a missing record is an error).
async fn change<K: Kv>(
    state: &AppState<K>,
    id: &str,
    mut f: impl FnMut(&mut Deployment),
) -> Result<Deployment, RunError> {
    records::update_deployment(&state.kv, id, |d| {
        f(d);
        Ok(Change::Write(d.clone()))
    })
    .await?
    .ok_or_else(|| RunError::Failed(format!("deployment `{id}` is gone")))
}

/// Changes environment `name` of deployment `id`.
async fn change_env<K: Kv>(
    state: &AppState<K>,
    id: &str,
    name: &str,
    mut f: impl FnMut(&mut EnvOutcome),
) -> Result<Deployment, RunError> {
    change(state, id, |d| {
        if let Some(e) = d.environments.iter_mut().find(|e| e.name == name) {
            f(e);
        }
    })
    .await
}

async fn deploy<K: Kv>(
    state: &Arc<AppState<K>>,
    job: &Job,
    cancel: &Arc<AtomicBool>,
) -> Result<(), RunError> {
    let id = job.deployment.clone();
    let Some(deployment) = records::deployment(&state.kv, &id).await? else {
        return Err(RunError::Failed(format!("deployment `{id}` is gone")));
    };
    if deployment.status.is_final() {
        return Ok(());
    }
    let started = crate::time::now_rfc3339_ms();
    let deployment = change(state, &id, |d| {
        d.status = DeploymentStatus::Deploying;
        d.started_at.get_or_insert_with(|| started.clone());
    })
    .await?;
    let package = Arc::new(
        super::package::open(state, &deployment.packages)
            .await
            .map_err(RunError::Failed)?,
    );
    // Environments a run before this one left in flight may have been
    // applied: look at their history first.
    let todo: Vec<(String, bool)> = deployment
        .environments
        .iter()
        .filter(|e| matches!(e.status, EnvStatus::Pending | EnvStatus::Deploying))
        .map(|e| {
            (
                e.name.clone(),
                e.status == EnvStatus::Deploying || e.attempts > 0,
            )
        })
        .collect();
    // Packed once for every remote hub (each apply sends the same archive).
    let archive = {
        let package = package.clone();
        tokio::task::spawn_blocking(move || {
            pack_to_vec(&package, ArchiveFormat::TarGz, TRANSFER_LEVEL).map(Arc::new)
        })
        .await
        .map_err(|e| RunError::Failed(format!("packing the package failed: {e}")))?
        .map_err(|e| RunError::Failed(format!("cannot pack the package: {e}")))?
    };
    let context = EnvRun {
        deployment: id.clone(),
        label: deployment.label(),
        package,
        archive,
        on_conflict: on_conflict(&deployment.on_conflict),
        dry_run: deployment.dry_run,
        retries: deployment.retries,
    };
    if deployment.stop_on_error {
        for (name, look_first) in todo {
            if cancel.load(Ordering::Relaxed) {
                return Err(RunError::Cancelled);
            }
            if !run_env(state, &context, &name, look_first, cancel).await? {
                break;
            }
        }
    } else {
        let mut running = tokio::task::JoinSet::new();
        for (name, look_first) in todo {
            let (state, context, cancel) = (state.clone(), context.clone(), cancel.clone());
            running
                .spawn(async move { run_env(&state, &context, &name, look_first, &cancel).await });
        }
        while let Some(done) = running.join_next().await {
            done.map_err(|e| RunError::Failed(format!("an environment's run failed: {e}")))??;
        }
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(RunError::Cancelled);
    }
    let mut deployment = records::deployment(&state.kv, &id)
        .await?
        .ok_or_else(|| RunError::Failed(format!("deployment `{id}` is gone")))?;
    if !deployment.dry_run
        && deployment.rollback_on_partial
        && deployment.summed_status() == DeploymentStatus::Partial
    {
        let at = crate::time::now_rfc3339_ms();
        change(state, &id, |d| {
            d.rollback = Some(crate::deploy::deployment::RollbackRecord {
                by: "rollback-on-partial".into(),
                at: at.clone(),
                job: Some(job.id.clone()),
                forced_over: None,
            });
        })
        .await?;
        roll_back_envs(state, &id).await?;
        deployment = records::deployment(&state.kv, &id)
            .await?
            .ok_or_else(|| RunError::Failed(format!("deployment `{id}` is gone")))?;
    }
    let finished = finish(state, &deployment, None).await?;
    record_action(state, &finished, ActionKind::Deploy).await;
    Ok(())
}

/// Sets the final status, end time and duration of `deployment`.
pub async fn finish<K: Kv>(
    state: &AppState<K>,
    deployment: &Deployment,
    error: Option<String>,
) -> Result<Deployment, RunError> {
    let now = crate::time::now_rfc3339_ms();
    let now_ms = now_ms();
    change(state, &deployment.id, |d| {
        let ran_any = d.environments.iter().any(|e| e.attempts > 0);
        d.status = if d.rollback.is_some()
            && !d
                .environments
                .iter()
                .any(|e| e.status == EnvStatus::Succeeded)
        {
            DeploymentStatus::RolledBack
        } else if !ran_any && error.is_some() && d.started_at.is_none() {
            DeploymentStatus::Cancelled
        } else {
            d.summed_status()
        };
        if error.is_some() {
            d.error = error.clone();
        }
        d.finished_at = Some(now.clone());
        d.duration_ms = d
            .started_at
            .as_deref()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            .map(|s| u64::try_from(now_ms - s.as_millisecond()).unwrap_or(0));
    })
    .await
}

/// What every environment of one deployment run shares.
#[derive(Clone)]
struct EnvRun {
    deployment: String,
    label: String,
    package: Arc<Package>,
    /// The package's transfer archive.
    archive: Arc<Vec<u8>>,
    on_conflict: OnConflict,
    dry_run: bool,
    retries: u32,
}

/// Applies (or plans) the package in environment `name`, trying again
/// with backoff; true when it succeeded.
async fn run_env<K: Kv>(
    state: &Arc<AppState<K>>,
    run: &EnvRun,
    name: &str,
    look_first: bool,
    cancel: &AtomicBool,
) -> Result<bool, RunError> {
    let started = crate::time::now_rfc3339_ms();
    let before = change_env(state, &run.deployment, name, |e| {
        e.status = EnvStatus::Deploying;
        e.started_at.get_or_insert_with(|| started.clone());
    })
    .await?;
    let earlier = before
        .environments
        .iter()
        .find(|e| e.name == name)
        .map_or(0, |e| e.attempts);
    let environment = environments::find(state, name).await?;
    let mut outcome: Result<(Option<i64>, crate::deploy::deployment::EnvCounts), String> =
        Err(format!("environment `{name}` no longer exists"));
    let mut attempts = 0;
    if let Some(environment) = &environment {
        let marker = apply::marker(&run.deployment, &run.label);
        for attempt in 0..=run.retries {
            if cancel.load(Ordering::Relaxed) {
                outcome = Err("cancelled".into());
                break;
            }
            attempts += 1;
            outcome = apply_in(state, environment, run, &marker, look_first || attempt > 0).await;
            match &outcome {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(deployment = %run.deployment, environment = %name, attempt = attempt + 1, error = %e, "an environment failed");
                    if attempt < run.retries {
                        // Shown while it waits to try again.
                        let (error, made) = (e.clone(), earlier + attempts);
                        change_env(state, &run.deployment, name, |env| {
                            env.attempts = made;
                            env.error = Some(error.clone());
                        })
                        .await?;
                        tokio::time::sleep(Duration::from_millis(
                            BACKOFF_MS * u64::from(attempt + 1),
                        ))
                        .await;
                    }
                }
            }
        }
    }
    let finished = crate::time::now_rfc3339_ms();
    let ok = outcome.is_ok();
    change_env(state, &run.deployment, name, |e| {
        e.attempts = earlier + attempts;
        e.finished_at = Some(finished.clone());
        match &outcome {
            Ok((history_id, counts)) => {
                e.status = EnvStatus::Succeeded;
                e.history_id = *history_id;
                e.counts = Some(counts.clone());
                e.error = None;
            }
            Err(error) => {
                e.status = EnvStatus::Failed;
                e.error = Some(error.clone());
            }
        }
    })
    .await?;
    if !run.dry_run {
        let last = LastDeployment {
            id: run.deployment.clone(),
            package: run.label.clone(),
            status: if ok { "succeeded" } else { "failed" }.into(),
            at: finished,
        };
        let _ = records::put(&state.kv, &format!("{LAST}{name}"), &last, Expect::Any).await;
    }
    Ok(ok)
}

/// One try in `environment`: on a blocking thread for a remote hub, in
/// the server's hub for `self`.
async fn apply_in<K: Kv>(
    state: &AppState<K>,
    environment: &Environment,
    run: &EnvRun,
    marker: &str,
    look_first: bool,
) -> Result<(Option<i64>, crate::deploy::deployment::EnvCounts), String> {
    let options = apply::options(environment, run.on_conflict, marker);
    let package = run.package.clone();
    let dry_run = run.dry_run;
    if environment.is_self() {
        let work = move |hub: &mut crate::hub_access::local::LocalHub| {
            Ok::<_, AccessError>(apply::apply(hub, &package, &options, dry_run, look_first))
        };
        let answer = if dry_run {
            state.hub.read(work).await
        } else {
            state.hub.write(work).await
        };
        return answer.map_err(|e| e.message)?;
    }
    let token = environments::token(environment, state.deploy.secrets_dir.as_deref())?;
    let environment = environment.clone();
    let archive = run.archive.clone();
    tokio::task::spawn_blocking(move || {
        let mut hub =
            apply::remote_hub(&environment, token)?.with_archive(&package.digest, archive);
        apply::apply(&mut hub, &package, &options, dry_run, look_first)
    })
    .await
    .map_err(|e| format!("the apply failed: {e}"))?
}

/// Rolls back every succeeded environment of deployment `id`.
async fn roll_back_envs<K: Kv>(state: &AppState<K>, id: &str) -> Result<(), RunError> {
    let Some(deployment) = records::deployment(&state.kv, id).await? else {
        return Err(RunError::Failed(format!("deployment `{id}` is gone")));
    };
    for env in &deployment.environments {
        let (EnvStatus::Succeeded, Some(history_id)) = (env.status, env.history_id) else {
            continue;
        };
        let outcome = match environments::find(state, &env.name).await? {
            None => Err(format!("environment `{}` no longer exists", env.name)),
            Some(environment) if environment.is_self() => state
                .hub
                .write(move |hub| Ok::<_, AccessError>(apply::rollback(hub, history_id)))
                .await
                .map_err(|e| e.message)
                .and_then(|r| r),
            Some(environment) => {
                let token = environments::token(&environment, state.deploy.secrets_dir.as_deref());
                tokio::task::spawn_blocking(move || {
                    let mut hub = apply::remote_hub(&environment, token?)?;
                    apply::rollback(&mut hub, history_id)
                })
                .await
                .map_err(|e| format!("the rollback failed: {e}"))
                .and_then(|r| r)
            }
        };
        change_env(state, id, &env.name, |e| match &outcome {
            Ok(rollback_id) => {
                e.status = EnvStatus::RolledBack;
                e.rollback_history_id = Some(*rollback_id);
                e.error = None;
            }
            Err(error) => e.error = Some(format!("rollback failed: {error}")),
        })
        .await?;
    }
    Ok(())
}

async fn roll_back<K: Kv>(
    state: &Arc<AppState<K>>,
    job: &Job,
    cancel: &AtomicBool,
) -> Result<(), RunError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(RunError::Cancelled);
    }
    roll_back_envs(state, &job.deployment).await?;
    let deployment = records::deployment(&state.kv, &job.deployment)
        .await?
        .ok_or_else(|| RunError::Failed(format!("deployment `{}` is gone", job.deployment)))?;
    let failed: Vec<&str> = deployment
        .environments
        .iter()
        .filter(|e| e.status == EnvStatus::Succeeded)
        .map(|e| e.name.as_str())
        .collect();
    let status = if failed.is_empty() {
        DeploymentStatus::RolledBack
    } else {
        deployment.summed_status()
    };
    let error =
        (!failed.is_empty()).then(|| format!("the rollback failed in {}", failed.join(", ")));
    let done = change(state, &job.deployment, |d| {
        d.status = status;
        if error.is_some() {
            d.error = error.clone();
        }
    })
    .await?;
    record_action(state, &done, ActionKind::Rollback).await;
    match error {
        Some(e) => Err(RunError::Failed(e)),
        None => Ok(()),
    }
}

/// Records a deploy or rollback action on the package (best effort).
pub async fn record_action<K: Kv>(state: &AppState<K>, d: &Deployment, kind: ActionKind) {
    let by = match kind {
        ActionKind::Rollback => d
            .rollback
            .as_ref()
            .map_or(d.created_by.as_str(), |r| r.by.as_str()),
        _ => d.created_by.as_str(),
    };
    let mut action = registry_records::action(kind, &d.package, Some(&d.version), by);
    let sum = |f: fn(&crate::deploy::deployment::EnvCounts) -> u64| {
        d.environments
            .iter()
            .filter_map(|e| e.counts.as_ref())
            .map(f)
            .sum()
    };
    action.deployment = Some(DeploymentAction {
        id: d.id.clone(),
        status: d.status.as_str().into(),
        started_at: d.started_at.clone(),
        finished_at: d.finished_at.clone(),
        duration_ms: d.duration_ms,
        created: sum(|c| c.created),
        updated: sum(|c| c.updated),
        unchanged: sum(|c| c.unchanged),
        environments: d
            .environments
            .iter()
            .map(|e| format!("{}: {}", e.name, e.status.as_str()))
            .collect(),
    });
    if let Err(e) = registry_records::record_action(&state.kv, &action).await {
        tracing::warn!(error = %e.message, "cannot record the deployment action");
    }
    state.cache.invalidate(&d.package);
}
