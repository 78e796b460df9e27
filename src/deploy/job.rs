//! A job of the server's durable queue: what it runs (a deployment or its
//! rollback), when it may start, how long it may take, and who holds it.

use serde::{Deserialize, Serialize};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    /// Scheduled for later (`--at`).
    Pending,
    /// Ready to run.
    Queued,
    /// A replica holds it and runs it.
    Processing,
    /// Ran to the end (its deployment says how it went).
    Completed,
    /// Could not run to the end.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Ran out of time (`--timeout`).
    Timeout,
    /// Its runner stopped (a replica died) or failed for a reason that may
    /// pass; it runs again.
    Retry,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 8] = [
        JobStatus::Pending,
        JobStatus::Queued,
        JobStatus::Processing,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
        JobStatus::Timeout,
        JobStatus::Retry,
    ];

    /// Whether it will not run again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled | JobStatus::Timeout
        )
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Queued => "queued",
            JobStatus::Processing => "processing",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Timeout => "timeout",
            JobStatus::Retry => "retry",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// Applies a deployment to its environments.
    Deploy,
    /// Rolls a deployment back in its environments.
    Rollback,
}

/// A claim on a job: which replica runs it, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The replica.
    pub owner: String,
    /// Milliseconds since the Unix epoch; another replica may take the job
    /// over after this.
    pub until_ms: i64,
}

/// A queued job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// What it runs.
    pub kind: JobKind,
    /// The deployment it runs for.
    pub deployment: String,
    /// Where it stands.
    pub status: JobStatus,
    /// Not before this (RFC 3339).
    pub run_at: String,
    /// Not before this, in milliseconds since the Unix epoch.
    pub run_at_ms: i64,
    /// The longest a run may take, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// The token name that asked.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When the current or last run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Runs started (more than one when a replica took it over).
    #[serde(default)]
    pub attempts: u32,
    /// Who holds it while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// A cancel was asked while it ran: it stops before its next step.
    #[serde(default)]
    pub cancel_requested: bool,
    /// Why it failed, timed out or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        assert!(JobStatus::Timeout.is_final());
        assert!(!JobStatus::Retry.is_final());
        assert_eq!(JobStatus::parse("done"), None);
    }
}
