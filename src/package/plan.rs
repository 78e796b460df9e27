//! Planning a load: apply the prefix, resolve every reference against the
//! package and the hub, and decide per resource whether the load creates,
//! updates, leaves alone, skips or conflicts with it. Planning only reads.

use rusqlite::Connection;
use serde::Serialize;

use super::error::PackageError;
use super::read::{Item, Package};
use crate::hub::store;
use crate::model::fingerprint::{content_fingerprint, digest_text};
use crate::model::slug::prefixed_space;
use crate::model::{Reference, ResourceKey, validate_slug};

/// What a load does with resources that exist in the hub with other content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Refuse the whole load (the default).
    #[default]
    Fail,
    /// Keep the hub's version.
    Skip,
    /// Overwrite with the package's version.
    Update,
}

impl OnConflict {
    /// The policy's name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Fail => "fail",
            OnConflict::Skip => "skip",
            OnConflict::Update => "update",
        }
    }
}

/// What the load does with one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not in the hub: created.
    Create,
    /// In the hub with other content: overwritten (`--on-conflict update`).
    Update,
    /// In the hub with the same content: nothing to do.
    Unchanged,
    /// In the hub with other content: kept (`--on-conflict skip`).
    Skip,
    /// In the hub with other content: the load fails (`--on-conflict fail`).
    Conflict,
}

impl Action {
    /// The action's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Skip => "skip",
            Action::Conflict => "conflict",
        }
    }

    /// Whether the load writes the resource.
    pub fn writes(self) -> bool {
        matches!(self, Action::Create | Action::Update)
    }
}

/// The plan for one resource. Kept small (a load may plan 100,000): the
/// key and references in the hub are derived on demand, see [`Plan::key`].
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Index into [`Package::items`].
    pub item: usize,
    /// What happens to it.
    pub action: Action,
}

/// How many resources get each action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    /// Created.
    pub create: u64,
    /// Updated.
    pub update: u64,
    /// Unchanged.
    pub unchanged: u64,
    /// Skipped.
    pub skip: u64,
    /// Conflicting.
    pub conflict: u64,
}

/// A whole load plan, in load order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The prefix applied to space slugs.
    pub prefix: Option<String>,
    /// One step per package resource.
    pub steps: Vec<Step>,
    /// Totals per action.
    pub counts: PlanCounts,
}

impl Plan {
    /// The key `step`'s resource has in the hub (prefix applied).
    pub fn key(&self, package: &Package, step: &Step) -> ResourceKey {
        package.items[step.item]
            .key
            .with_prefix(self.prefix.as_deref())
    }

    /// The references `step`'s resource has in the hub (prefix applied).
    pub fn refs(&self, package: &Package, step: &Step) -> Vec<Reference> {
        package.items[step.item]
            .refs
            .iter()
            .map(|r| r.with_prefix(self.prefix.as_deref()))
            .collect()
    }

    /// Whether the load would change nothing.
    pub fn is_noop(&self) -> bool {
        self.counts.create == 0 && self.counts.update == 0
    }

    /// The keys of conflicting resources.
    pub fn conflicts(&self, package: &Package) -> Vec<ResourceKey> {
        self.steps
            .iter()
            .filter(|s| s.action == Action::Conflict)
            .map(|s| self.key(package, s))
            .collect()
    }
}

/// The fingerprint of the package files behind `item` with references
/// `refs`: equal fingerprints mean byte-identical details and data.
pub fn source_fingerprint(item: &Item, refs: &[Reference]) -> String {
    content_fingerprint(
        &digest_text(&item.details_digest),
        refs,
        item.data_digest_text().as_deref(),
    )
}

/// Checks a load prefix: it must be a slug, and `P-<space>` must stay one.
pub fn check_prefix(prefix: Option<&str>) -> Result<(), PackageError> {
    if let Some(p) = prefix {
        validate_slug(p).map_err(|e| PackageError::Other(format!("invalid --prefix: {e}")))?;
    }
    Ok(())
}

/// Plans loading `package` into the hub behind `conn` with `prefix` and `on_conflict`.
pub fn plan(
    conn: &Connection,
    package: &Package,
    prefix: Option<&str>,
    on_conflict: OnConflict,
) -> Result<Plan, PackageError> {
    check_prefix(prefix)?;
    let mut problems = Vec::new();
    let mut checked_spaces = std::collections::HashSet::new();
    for item in &package.items {
        let space = item.key.space_slug();
        if checked_spaces.insert(space) {
            let remapped = prefixed_space(prefix, space);
            if let Err(e) = validate_slug(&remapped) {
                problems.push(format!("space `{space}` with the prefix: {e}"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(PackageError::Unresolved(problems));
    }
    for (from, to) in &package.external {
        let to = to.with_prefix(prefix);
        if !store::exists(conn, &to)? {
            let from = from.with_prefix(prefix);
            problems.push(format!(
                "{from} refers to {to}, which is neither in the package nor in the hub"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(PackageError::Unresolved(problems));
    }

    let mut plan = Plan {
        prefix: prefix.map(str::to_string),
        ..Plan::default()
    };
    for (index, item) in package.items.iter().enumerate() {
        let key = item.key.with_prefix(prefix);
        let refs: Vec<Reference> = item.refs.iter().map(|r| r.with_prefix(prefix)).collect();
        let action = match store::fingerprints(conn, &key)? {
            None => Action::Create,
            // The same package files as the last load wrote: no need to parse them.
            Some((_, Some(source))) if source == source_fingerprint(item, &refs) => {
                Action::Unchanged
            }
            Some((existing, _)) => {
                let details = package.read_details(item, &key.slug)?;
                if existing
                    == content_fingerprint(&details, &refs, item.data_digest_text().as_deref())
                {
                    Action::Unchanged
                } else {
                    match on_conflict {
                        OnConflict::Fail => Action::Conflict,
                        OnConflict::Skip => Action::Skip,
                        OnConflict::Update => Action::Update,
                    }
                }
            }
        };
        let counter = match action {
            Action::Create => &mut plan.counts.create,
            Action::Update => &mut plan.counts.update,
            Action::Unchanged => &mut plan.counts.unchanged,
            Action::Skip => &mut plan.counts.skip,
            Action::Conflict => &mut plan.counts.conflict,
        };
        *counter += 1;
        plan.steps.push(Step {
            item: index,
            action,
        });
    }
    Ok(plan)
}
