//! The job queue's worker, one per replica: it scans the open jobs, claims
//! each runnable one with a compare-and-swap that sets a lease (this
//! replica, until a time), renews the lease while the job runs, and ends
//! the job as completed, failed, cancelled or timeout. A job whose lease
//! ran out (its replica died) is taken over by whichever replica claims it
//! first; the deployment record says what was done, and an environment in
//! flight is looked up in its hub's history before it is applied again.
//! The compare-and-swap is what makes a job run once: on SQLite one
//! process owns the file, on etcd it is a transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::super::AppState;
use super::super::registry::records::Change;
use super::super::store::Kv;
use super::records::{self, now_ms};
use super::run::{self, RunError};
use crate::deploy::job::Lease;
use crate::deploy::{DeploymentStatus, Job, JobStatus};

/// How often the open jobs are scanned when nothing wakes the worker.
const POLL: Duration = Duration::from_millis(200);
/// The most jobs one replica runs at once.
const MAX_RUNNING: usize = 16;

/// Scans and runs jobs until `stop` turns true; then stops the jobs it
/// runs and hands them back to the queue (`retry`, no lease), so that the
/// next replica to scan, or this server restarted, goes on with them at
/// once.
pub async fn work<K: Kv>(state: Arc<AppState<K>>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let running = Arc::new(tokio::sync::Semaphore::new(MAX_RUNNING));
    let mut tasks: tokio::task::JoinSet<String> = tokio::task::JoinSet::new();
    let mut held: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    loop {
        while let Some(done) = tasks.try_join_next() {
            if let Ok(id) = done {
                held.remove(&id);
            }
        }
        if *stop.borrow() {
            break;
        }
        match records::open_jobs(&state.kv).await {
            Ok(ids) => {
                for id in ids {
                    if held.contains(&id) {
                        continue;
                    }
                    let Ok(permit) = running.clone().try_acquire_owned() else {
                        break;
                    };
                    match claim(&state, &id).await {
                        Ok(Some(job)) => {
                            let state = state.clone();
                            held.insert(id.clone());
                            tasks.spawn(async move {
                                run_claimed(&state, job).await;
                                drop(permit);
                                id
                            });
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(job = %id, error = %e, "cannot claim a job"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e.message, "cannot scan the job queue"),
        }
        tokio::select! {
            () = state.deploy.wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
    tasks.abort_all();
    while let Some(done) = tasks.join_next().await {
        if let Ok(id) = done {
            held.remove(&id);
        }
    }
    for id in held {
        release(&state, &id).await;
    }
}

/// Hands job `id`, which this replica was running, back to the queue.
async fn release<K: Kv>(state: &AppState<K>, id: &str) {
    let replica = state.deploy.replica.clone();
    let released = records::update_job(&state.kv, id, |job| {
        let mine = job.lease.as_ref().is_some_and(|l| l.owner == replica);
        if !mine || job.status != JobStatus::Processing {
            return Ok(Change::Keep(false));
        }
        job.status = JobStatus::Retry;
        job.lease = None;
        job.run_at_ms = now_ms();
        Ok(Change::Write(true))
    })
    .await;
    match released {
        Ok(Some(true)) => tracing::info!(job = %id, "stopping: the job goes back to the queue"),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(job = %id, error = %e.message, "cannot hand a job back; it is taken over when its lease runs out")
        }
    }
}

/// Claims job `id` for this replica when it may run now: `Some(job)` as
/// claimed, `None` when it is not runnable or another replica won.
async fn claim<K: Kv>(state: &AppState<K>, id: &str) -> Result<Option<Job>, String> {
    let now = now_ms();
    let lease_ms = i64::try_from(state.deploy.lease.as_millis()).unwrap_or(30_000);
    let replica = state.deploy.replica.clone();
    let started = crate::time::now_rfc3339_ms();
    let claimed = records::update_job(&state.kv, id, |job| {
        let runnable = match job.status {
            JobStatus::Pending | JobStatus::Queued | JobStatus::Retry => {
                job.run_at_ms <= now && !job.cancel_requested
            }
            JobStatus::Processing => job.lease.as_ref().is_none_or(|l| l.until_ms < now),
            _ => false,
        };
        if !runnable {
            return Ok(Change::Keep(None));
        }
        if job.status == JobStatus::Processing {
            tracing::info!(job = %job.id, "taking over a job whose lease ran out");
        }
        job.status = JobStatus::Processing;
        job.lease = Some(Lease {
            owner: replica.clone(),
            until_ms: now + lease_ms,
        });
        job.attempts += 1;
        job.started_at = Some(started.clone());
        Ok(Change::Write(Some(job.clone())))
    })
    .await
    .map_err(|e| e.message)?;
    Ok(claimed.flatten())
}

/// Renews the lease of `job` every third of it, and raises `cancel` when a
/// cancel is asked or the lease was lost, until `done`.
async fn keep_lease<K: Kv>(
    state: Arc<AppState<K>>,
    job: String,
    cancel: Arc<AtomicBool>,
    done: Arc<tokio::sync::Notify>,
) {
    let lease = state.deploy.lease;
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(30_000);
    let replica = state.deploy.replica.clone();
    loop {
        tokio::select! {
            () = done.notified() => return,
            () = tokio::time::sleep(lease / 3) => {}
        }
        let renewed = records::update_job(&state.kv, &job, |j| {
            if j.cancel_requested {
                cancel.store(true, Ordering::Relaxed);
            }
            match &mut j.lease {
                Some(l) if l.owner == replica && j.status == JobStatus::Processing => {
                    l.until_ms = now_ms() + lease_ms;
                    Ok(Change::Write(true))
                }
                _ => Ok(Change::Keep(false)),
            }
        })
        .await;
        if !matches!(renewed, Ok(Some(true))) {
            tracing::warn!(job = %job, "lost the job's lease; stopping it");
            cancel.store(true, Ordering::Relaxed);
            return;
        }
    }
}

/// Runs a claimed job within its timeout and records how it ended.
async fn run_claimed<K: Kv>(state: &Arc<AppState<K>>, job: Job) {
    let cancel = Arc::new(AtomicBool::new(false));
    let done = Arc::new(tokio::sync::Notify::new());
    let work = async {
        let outcome = match job.timeout_seconds {
            Some(seconds) => tokio::time::timeout(
                Duration::from_secs(seconds),
                run::execute(state, &job, &cancel),
            )
            .await
            .ok(),
            None => Some(run::execute(state, &job, &cancel).await),
        };
        done.notify_one();
        outcome
    };
    // In this task: aborting the task stops both.
    let (outcome, ()) = tokio::join!(
        work,
        keep_lease(state.clone(), job.id.clone(), cancel.clone(), done.clone())
    );
    let (status, error) = match outcome {
        Some(Ok(())) => (JobStatus::Completed, None),
        Some(Err(RunError::Cancelled)) => (JobStatus::Cancelled, Some("cancelled".to_string())),
        Some(Err(RunError::Failed(e))) => (JobStatus::Failed, Some(e)),
        None => (
            JobStatus::Timeout,
            Some(format!(
                "ran longer than its timeout of {}s",
                job.timeout_seconds.unwrap_or(0)
            )),
        ),
    };
    // A deployment a run left unfinished ends with the job.
    if status != JobStatus::Completed
        && let Ok(Some(deployment)) = records::deployment(&state.kv, &job.deployment).await
        && !deployment.status.is_final()
    {
        let reason = error.clone().unwrap_or_default();
        let left = reason.clone();
        let _ = records::update_deployment(&state.kv, &deployment.id, |d| {
            for e in &mut d.environments {
                if e.status == crate::deploy::EnvStatus::Deploying {
                    e.status = crate::deploy::EnvStatus::Failed;
                    e.error = Some(format!(
                        "{left}; an apply in flight may still complete in the hub: see its history"
                    ));
                }
            }
            Ok(Change::Write(()))
        })
        .await;
        if let Ok(Some(d)) = records::deployment(&state.kv, &deployment.id).await {
            let finished = run::finish(state, &d, Some(reason)).await;
            if let Ok(finished) = finished {
                if status == JobStatus::Cancelled && finished.started_at.is_some() {
                    tracing::info!(deployment = %finished.id, "cancelled while running");
                }
                if finished.status != DeploymentStatus::Cancelled {
                    run::record_action(
                        state,
                        &finished,
                        crate::registry::types::ActionKind::Deploy,
                    )
                    .await;
                }
            }
        }
    }
    let finished_at = crate::time::now_rfc3339_ms();
    let replica = state.deploy.replica.clone();
    let ended = records::update_job(&state.kv, &job.id, |j| {
        if j.lease.as_ref().is_some_and(|l| l.owner != replica) {
            // Another replica took it over: its run records the end.
            return Ok(Change::Keep(()));
        }
        j.status = status;
        j.error = error.clone();
        j.finished_at = Some(finished_at.clone());
        j.lease = None;
        Ok(Change::Write(()))
    })
    .await;
    if let Err(e) = ended {
        tracing::warn!(job = %job.id, error = %e.message, "cannot record the end of a job");
    }
}
