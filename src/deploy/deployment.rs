//! A deployment: one package version (its dependencies included) applied
//! to several environments, one atomic apply each, with its request, its
//! per-environment outcome and its overall status.

use serde::{Deserialize, Serialize};

/// How many times a failed environment is tried again by default.
pub const DEFAULT_RETRIES: u32 = 2;
/// The most retries a request may ask for.
pub const MAX_RETRIES: u32 = 10;
/// The backoff unit: attempt N waits N times this before trying again.
pub const BACKOFF_MS: u64 = 200;

/// `POST /api/v1/deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// The package name.
    pub package: String,
    /// A semver requirement (`*` for the newest).
    #[serde(default = "any_version")]
    pub requirement: String,
    /// The environments, by name (at least one).
    pub environments: Vec<String>,
    /// `fail`, `skip`, `update` or `merge`.
    #[serde(default = "fail")]
    pub on_conflict: String,
    /// Plan every environment, change none.
    #[serde(default)]
    pub dry_run: bool,
    /// When some environments fail, roll back those that succeeded.
    #[serde(default)]
    pub rollback_on_partial: bool,
    /// Tries after a failed one, per environment.
    #[serde(default)]
    pub retries: Option<u32>,
    /// Stop at the first environment that fails (they run one at a time).
    #[serde(default)]
    pub stop_on_error: bool,
    /// Run no earlier than this (RFC 3339).
    #[serde(default)]
    pub at: Option<String>,
    /// The longest the job may run, in seconds.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

fn any_version() -> String {
    "*".into()
}

fn fail() -> String {
    "fail".into()
}

/// What queuing a deployment or a rollback answers (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The deployment.
    pub deployment: Deployment,
    /// The job that runs it.
    pub job: super::Job,
}

/// `POST /api/v1/deployments/{id}/rollback`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// Roll back even when later deployments superseded it.
    #[serde(default)]
    pub force: bool,
}

/// How a deployment went as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeploymentStatus {
    /// Waiting for its job to run.
    Pending,
    /// Running.
    Deploying,
    /// Every environment succeeded.
    Succeeded,
    /// No environment succeeded.
    Failed,
    /// Some succeeded, some failed.
    Partial,
    /// Rolled back: after a partial failure (`--rollback-on-partial`) or
    /// by `pkg deploy rollback`.
    RolledBack,
    /// Cancelled before it ran.
    Cancelled,
}

impl DeploymentStatus {
    /// Whether it will not change any more (short of a rollback).
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            DeploymentStatus::Pending | DeploymentStatus::Deploying
        )
    }

    /// The name (`rolled-back`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Pending => "pending",
            DeploymentStatus::Deploying => "deploying",
            DeploymentStatus::Succeeded => "succeeded",
            DeploymentStatus::Failed => "failed",
            DeploymentStatus::Partial => "partial",
            DeploymentStatus::RolledBack => "rolled-back",
            DeploymentStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<DeploymentStatus> {
        [
            DeploymentStatus::Pending,
            DeploymentStatus::Deploying,
            DeploymentStatus::Succeeded,
            DeploymentStatus::Failed,
            DeploymentStatus::Partial,
            DeploymentStatus::RolledBack,
            DeploymentStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// How a deployment went in one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvStatus {
    /// Not started.
    Pending,
    /// Being applied.
    Deploying,
    /// Applied (or, in a dry run, planned).
    Succeeded,
    /// Every try failed.
    Failed,
    /// Applied, then rolled back.
    RolledBack,
}

impl EnvStatus {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvStatus::Pending => "pending",
            EnvStatus::Deploying => "deploying",
            EnvStatus::Succeeded => "succeeded",
            EnvStatus::Failed => "failed",
            EnvStatus::RolledBack => "rolled-back",
        }
    }
}

/// What a plan or load counted in one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvCounts {
    /// Resources created (or to create, in a dry run).
    pub created: u64,
    /// Resources updated or merged.
    pub updated: u64,
    /// Resources already as the package has them.
    pub unchanged: u64,
    /// Conflicting resources left as they were.
    pub skipped: u64,
}

/// One environment of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvOutcome {
    /// The environment.
    pub name: String,
    /// How it went.
    pub status: EnvStatus,
    /// Tries made.
    #[serde(default)]
    pub attempts: u32,
    /// The history entry the load made in the environment's hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<i64>,
    /// The history entry its rollback made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_history_id: Option<i64>,
    /// What the load (or the dry run's plan) counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<EnvCounts>,
    /// Why the last try failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the first try started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

impl EnvOutcome {
    /// An environment not started yet.
    pub fn pending(name: &str) -> EnvOutcome {
        EnvOutcome {
            name: name.to_string(),
            status: EnvStatus::Pending,
            attempts: 0,
            history_id: None,
            rollback_history_id: None,
            counts: None,
            error: None,
            started_at: None,
            finished_at: None,
        }
    }
}

/// A rollback of a whole deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRecord {
    /// Who asked (`rollback-on-partial` when the deployment did itself).
    pub by: String,
    /// When it was asked (RFC 3339).
    pub at: String,
    /// The job running it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Why it was forced over later deployments, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced_over: Option<Vec<String>>,
}

/// A deployment as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Its id (sorts by creation time).
    pub id: String,
    /// The job that runs it.
    pub job: String,
    /// The package.
    pub package: String,
    /// The version resolved when it was asked for.
    pub version: String,
    /// The requirement asked for.
    pub requirement: String,
    /// The package digest.
    pub digest: String,
    /// Every package loaded (`name@version`, dependencies first).
    pub packages: Vec<String>,
    /// The conflict policy.
    pub on_conflict: String,
    /// Planned only.
    pub dry_run: bool,
    /// Roll back the succeeded environments when others fail.
    pub rollback_on_partial: bool,
    /// Tries after a failed one.
    pub retries: u32,
    /// One environment at a time, stopping at the first failure.
    pub stop_on_error: bool,
    /// Each environment.
    pub environments: Vec<EnvOutcome>,
    /// How it went.
    pub status: DeploymentStatus,
    /// Why it failed as a whole (a timeout, a cancel), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The token name that asked.
    pub created_by: String,
    /// When it was asked (RFC 3339).
    pub created_at: String,
    /// When it may start (RFC 3339).
    pub run_at: String,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// How long it ran, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Its rollback, once asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackRecord>,
    /// Later deployments of the same package that succeeded in one of its
    /// environments (computed when read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded_by: Vec<String>,
}

impl Deployment {
    /// The overall status its environments add up to.
    pub fn summed_status(&self) -> DeploymentStatus {
        let ok = self
            .environments
            .iter()
            .filter(|e| e.status == EnvStatus::Succeeded)
            .count();
        let rolled = self
            .environments
            .iter()
            .filter(|e| e.status == EnvStatus::RolledBack)
            .count();
        if rolled > 0 && ok == 0 {
            DeploymentStatus::RolledBack
        } else if ok == self.environments.len() {
            DeploymentStatus::Succeeded
        } else if ok == 0 {
            DeploymentStatus::Failed
        } else {
            DeploymentStatus::Partial
        }
    }

    /// `name@version`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.package, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_sum() {
        for s in [
            "pending",
            "deploying",
            "succeeded",
            "failed",
            "partial",
            "rolled-back",
            "cancelled",
        ] {
            assert_eq!(
                DeploymentStatus::parse(s).map(DeploymentStatus::as_str),
                Some(s)
            );
        }
        assert_eq!(DeploymentStatus::parse("done"), None);
        let request: DeployRequest =
            serde_json::from_str(r#"{"package":"app","environments":["a"]}"#).unwrap();
        assert_eq!(
            (request.requirement.as_str(), request.on_conflict.as_str()),
            ("*", "fail")
        );
        assert!(
            serde_json::from_str::<DeployRequest>(r#"{"package":"a","environments":[],"x":1}"#)
                .is_err()
        );
    }
}
