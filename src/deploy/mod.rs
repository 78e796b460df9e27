//! Deployments: one package version rolled out to several environments
//! (hubs) by a registry server, as durable jobs. This module owns the
//! shapes the server and the CLI exchange: [`environment`] (where a
//! deployment goes), [`deployment`] (what was asked and what happened in
//! each environment), [`job`] (the queue entry that runs it) and
//! [`duration`] (`30s`, `5m` in flags). The server runs them
//! (`server::deploy`); the CLI asks and shows (`commands::deploy`).

pub mod client;
pub mod deployment;
pub mod duration;
pub mod environment;
pub mod job;

pub use self::deployment::{
    DeployRequest, Deployment, DeploymentStatus, EnvOutcome, EnvStatus, Queued, RollbackRequest,
};
pub use self::environment::{Environment, EnvironmentView};
pub use self::job::{Job, JobKind, JobStatus};
