//! A plan as people and scripts see it ([`PlanReport`]): every change with
//! its unified diffs, the external references and where they resolve, what
//! was dropped, merge conflicts and counts. `pkg load`, `pkg diff` and the
//! server's hub API all report this shape, so a remote plan prints exactly
//! like a local one.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::PackageError;
use super::diff::diff_step;
use super::load::LoadOptions;
use super::plan::{Action, OnConflict, Plan, PlanCounts, ResolvedRef};
use super::read::Package;
use super::remap::ExternalMode;
use crate::model::fingerprint::sha256_digest;

/// One resource in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReport {
    /// What the load does with it.
    pub action: Action,
    /// Its kind.
    pub kind: String,
    /// Its space (empty for a space).
    pub space: String,
    /// Its slug.
    pub slug: String,
    /// The unified diff of its details, hub to package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_diff: Option<String>,
    /// The unified diff of its data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_diff: Option<String>,
}

/// A reference the package does not hold, as the plan resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefReport {
    /// The resource holding the reference.
    pub from: String,
    /// The manifest key of the field.
    pub field: String,
    /// The reference as the package writes it.
    pub to: String,
    /// The hub resource it resolves to.
    pub resolves_to: String,
}

impl RefReport {
    fn of(r: &ResolvedRef) -> RefReport {
        RefReport {
            from: r.from.to_string(),
            field: r.field.manifest_key().to_string(),
            to: r.written.to_string(),
            resolves_to: r.resolved.to_string(),
        }
    }
}

/// A value changed both in the hub and in the package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeConflictReport {
    /// The resource.
    pub resource: String,
    /// The path of the value.
    pub path: String,
    /// The base's value.
    pub base: String,
    /// The hub's value.
    pub hub: String,
    /// The package's value.
    pub package: String,
}

/// A printed plan or load result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReport {
    /// The source as recorded.
    pub source: String,
    /// The package digest.
    pub digest: String,
    /// The prefix (empty for none).
    pub prefix: String,
    /// The conflict policy.
    pub on_conflict: OnConflict,
    /// What `--prefix` does to external references.
    pub external_mode: ExternalMode,
    /// External references and the hub resource each resolves to.
    pub external: Vec<RefReport>,
    /// References dropped as cub drops them.
    pub dropped: Vec<RefReport>,
    /// Warnings (one per dropped reference).
    pub warnings: Vec<String>,
    /// Values changed on both sides (`--on-conflict merge`).
    pub merge_conflicts: Vec<MergeConflictReport>,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The history entry of a load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<i64>,
    /// What the plan does, counted.
    pub counts: PlanCounts,
    /// Every resource (empty in a summary).
    pub changes: Vec<ChangeReport>,
    /// Why loading this plan would be refused, if it would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// How much a report says about each resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Counts only: no per-resource list (a load may hold 100,000 resources).
    Summary,
    /// Every resource and its action.
    Changes,
    /// Every resource, with unified diffs of what changes.
    Diffs,
}

impl PlanReport {
    /// Builds the report of `plan`, reading the hub through `conn` for the
    /// diffs.
    pub fn build(
        conn: &Connection,
        package: &Package,
        options: &LoadOptions,
        plan: &Plan,
        detail: Detail,
        dry_run: bool,
    ) -> Result<PlanReport, PackageError> {
        let with_diffs = detail == Detail::Diffs;
        let listed = if detail == Detail::Summary {
            &[][..]
        } else {
            &plan.steps[..]
        };
        let mut changes = Vec::with_capacity(listed.len());
        for step in listed {
            let (details_diff, data_diff) = if with_diffs
                && matches!(
                    step.action,
                    Action::Update | Action::Merge | Action::Conflict | Action::Skip
                ) {
                let diff = diff_step(conn, package, plan, step)?;
                (diff.details, diff.data)
            } else {
                (None, None)
            };
            let key = plan.key(package, step);
            changes.push(ChangeReport {
                action: step.action,
                kind: key.kind.name().to_string(),
                space: key.space,
                slug: key.slug,
                details_diff,
                data_diff,
            });
        }
        Ok(PlanReport {
            source: options.source.clone(),
            digest: package.digest.clone(),
            prefix: plan.prefix().unwrap_or_default().to_string(),
            on_conflict: options.plan.on_conflict,
            external_mode: options.plan.external,
            external: plan.external.iter().map(RefReport::of).collect(),
            dropped: plan.dropped.iter().map(RefReport::of).collect(),
            warnings: plan.warnings(),
            merge_conflicts: plan
                .merge_conflicts
                .iter()
                .map(|c| MergeConflictReport {
                    resource: c.key.to_string(),
                    path: c.path.clone(),
                    base: c.base.clone(),
                    hub: c.local.clone(),
                    package: c.upstream.clone(),
                })
                .collect(),
            dry_run,
            history_id: None,
            counts: plan.counts,
            changes,
            refusal: plan.refusal(package).map(|e| e.to_string()),
        })
    }

    /// Whether the plan changes nothing.
    pub fn is_noop(&self) -> bool {
        self.counts.create == 0 && self.counts.update == 0 && self.counts.merge == 0
    }

    /// A digest of what the plan does (each resource and its action), so
    /// that a load can refuse when the hub changed since the plan was shown.
    /// Equal to [`plan_fingerprint`] of the plan it reports.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        for c in &self.changes {
            fingerprint_line(&mut text, c.action, &c.kind, &c.space, &c.slug);
        }
        sha256_digest(text.as_bytes())
    }
}

fn fingerprint_line(text: &mut String, action: Action, kind: &str, space: &str, slug: &str) {
    use std::fmt::Write;
    let _ = writeln!(text, "{}\t{kind}\t{space}\t{slug}", action.as_str());
}

/// The fingerprint of `plan` (see [`PlanReport::fingerprint`]).
pub fn plan_fingerprint(package: &Package, plan: &Plan) -> String {
    let mut text = String::new();
    for step in &plan.steps {
        let key = plan.key(package, step);
        fingerprint_line(
            &mut text,
            step.action,
            key.kind.name(),
            &key.space,
            &key.slug,
        );
    }
    sha256_digest(text.as_bytes())
}
