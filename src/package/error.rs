//! Errors of package operations (create, read, plan, load), typed so that
//! commands can render a report or a conflict list.

use std::path::PathBuf;

use thiserror::Error;

use crate::hub::HubError;
use crate::manifest::Problem;
use crate::model::ResourceKey;

/// Everything that is wrong with a package, found in one pass.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// The problems; a valid package has none.
    pub problems: Vec<Problem>,
    /// Files in the package directory that no manifest entry names (never read).
    pub unlisted: Vec<String>,
    /// References into spaces the package does not contain (they keep their
    /// space under `--prefix` and must exist in the hub a load writes to).
    pub external: Vec<String>,
    /// References into the package's own spaces to resources it does not
    /// hold: a load keeps them when the hub has the resource, drops them
    /// with a warning where cub does, and refuses them otherwise.
    pub dangling: Vec<String>,
}

/// What can go wrong reading, planning, loading or creating a package.
#[derive(Debug, Error)]
pub enum PackageError {
    /// The package does not validate.
    #[error("package `{}` is invalid ({} problem{}):\n{}", .root.display(), .report.problems.len(), plural(.report.problems.len()), list_problems(.report))]
    Invalid {
        /// The package directory.
        root: PathBuf,
        /// Every problem.
        report: Report,
    },
    /// The package refers to resources that are neither in it nor in the hub.
    #[error("the package cannot be loaded here:\n{}", .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Unresolved(Vec<String>),
    /// Resources exist in the hub with other content and the policy is `fail`.
    #[error("{} resource{} already exist{} in the hub with different content:\n{}\nnothing was written; use --on-conflict update to overwrite them or --on-conflict skip to keep them",
        .0.len(), plural(.0.len()), if .0.len() == 1 { "s" } else { "" }, .0.iter().take(20).map(|k| format!("  {k}")).collect::<Vec<_>>().join("\n"))]
    Conflicts(Vec<ResourceKey>),
    /// `--on-conflict merge` found values changed on both sides.
    #[error("{} value{} changed both in the hub and in the package since the last load:\n{}{}\nnothing was written; change the hub or the package so that they agree, or use --on-conflict update (the package wins) or skip (the hub wins)",
        .0.len(), plural(.0.len()), .0.iter().take(50).map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n"),
        if .0.len() > 50 { format!("\n  ... and {} more", .0.len() - 50) } else { String::new() })]
    MergeConflicts(Vec<crate::package::merge::Conflict>),
    /// The hub changed between the plan that was shown and the load.
    #[error(
        "the hub changed since the plan was shown (plan {expected}, now {actual}); nothing was written, run the command again"
    )]
    PlanChanged {
        /// The fingerprint of the plan shown.
        expected: String,
        /// The fingerprint of the plan now.
        actual: String,
    },
    /// A file changed between validation and writing.
    #[error("`{0}` changed while the package was being loaded; nothing was written, try again")]
    ChangedDuringLoad(String),
    /// The output directory is not empty.
    #[error("`{}` exists and is not empty; use --force to replace it", .0.display())]
    NotEmpty(PathBuf),
    /// A file could not be read or written.
    #[error("{action} `{}`", .path.display())]
    Io {
        /// What was being done (`cannot write`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The hub failed.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// Anything else a user must fix, stated fully.
    #[error("{0}")]
    Other(String),
}

impl PackageError {
    /// An I/O error on `path`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> PackageError {
        PackageError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn list_problems(report: &Report) -> String {
    const SHOWN: usize = 50;
    let mut lines: Vec<String> = report
        .problems
        .iter()
        .take(SHOWN)
        .map(|p| format!("  {p}"))
        .collect();
    if report.problems.len() > SHOWN {
        lines.push(format!(
            "  ... and {} more (`pkg validate` lists them all)",
            report.problems.len() - SHOWN
        ));
    }
    lines.join("\n")
}
