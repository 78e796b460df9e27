//! Deployments as durable jobs: [`environments`] (where deployments go),
//! [`deployments`] and [`jobs`] (the API), [`records`] (how they are kept
//! in the store), [`package`] (resolving and reading what is deployed),
//! [`apply`] (one environment's load or rollback), [`run`] (a whole job)
//! and [`worker`] (the per-replica queue runner). The shapes exchanged
//! with the CLI live in `crate::deploy`.

pub mod apply;
pub mod deployments;
pub mod environments;
pub mod jobs;
pub mod package;
pub mod records;
pub mod run;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};

use super::AppState;
use super::store::Kv;
use crate::deploy::Environment;

/// What the deployment side of the server shares.
pub struct DeployContext {
    /// The config file's environments.
    pub environments: Vec<Environment>,
    /// Where environment token files are.
    pub secrets_dir: Option<PathBuf>,
    /// How long a claim on a job lasts without renewal.
    pub lease: Duration,
    /// This replica's id (a claim's owner).
    pub replica: String,
    /// Wakes the worker when a job is queued.
    pub wake: tokio::sync::Notify,
}

impl DeployContext {
    /// The context for these settings, with a new replica id.
    pub fn new(
        environments: Vec<Environment>,
        secrets_dir: Option<PathBuf>,
        lease: Duration,
    ) -> DeployContext {
        DeployContext {
            environments,
            secrets_dir,
            lease,
            replica: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            wake: tokio::sync::Notify::new(),
        }
    }
}

/// The deployment routes.
pub fn routes<K: Kv>() -> Router<Arc<AppState<K>>> {
    Router::new()
        .route(
            "/api/v1/environments",
            get(environments::list::<K>).post(environments::add::<K>),
        )
        .route(
            "/api/v1/environments/{name}",
            delete(environments::remove::<K>),
        )
        .route(
            "/api/v1/deployments",
            get(deployments::list::<K>).post(deployments::create::<K>),
        )
        .route("/api/v1/deployments/{id}", get(deployments::show::<K>))
        .route(
            "/api/v1/deployments/{id}/rollback",
            post(deployments::rollback::<K>),
        )
        .route("/api/v1/jobs", get(jobs::list::<K>))
        .route("/api/v1/jobs/{id}", get(jobs::show::<K>))
        .route("/api/v1/jobs/{id}/cancel", post(jobs::cancel::<K>))
}
