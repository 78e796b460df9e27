//! Planning a load: apply the prefix, resolve every reference against the
//! package and the hub, and decide per resource whether the load creates,
//! updates, leaves alone, skips or conflicts with it. Planning only reads.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::error::PackageError;
use super::merge::{Conflict, DataFormat, Side, merge};
use super::read::{Item, OutsideRef, Package};
use super::remap::{ExternalMode, Remap};
use crate::hub::store;
use crate::model::details::str_field;
use crate::model::fingerprint::{content_fingerprint, digest_text};
use crate::model::slug::prefixed_space;
use crate::model::toolchain::data_suffix;
use crate::model::{RefField, Reference, ResourceKey, validate_slug};

/// How to plan a load: the renaming and what to do with differences.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// The prefix for the package's spaces (`P-<space>`).
    pub prefix: Option<String>,
    /// What the prefix does to external references.
    pub external: ExternalMode,
    /// What to do with resources that differ in the hub.
    pub on_conflict: OnConflict,
    /// Refuse references cub would drop instead of dropping them.
    pub strict: bool,
}

/// What a load does with resources that exist in the hub with other content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Refuse the whole load (the default).
    #[default]
    Fail,
    /// Keep the hub's version.
    Skip,
    /// Overwrite with the package's version.
    Update,
    /// Merge three ways over what the last load wrote; refuse the load on
    /// a value changed on both sides.
    Merge,
}

impl OnConflict {
    /// The policy's name.
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Fail => "fail",
            OnConflict::Skip => "skip",
            OnConflict::Update => "update",
            OnConflict::Merge => "merge",
        }
    }
}

/// What the load does with one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not in the hub: created.
    Create,
    /// In the hub with other content: overwritten (`--on-conflict update`,
    /// or a merge where only the package changed).
    Update,
    /// Changed in the hub and in the package: merged three ways
    /// (`--on-conflict merge`).
    Merge,
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
            Action::Merge => "merge",
            Action::Unchanged => "unchanged",
            Action::Skip => "skip",
            Action::Conflict => "conflict",
        }
    }

    /// Whether the load writes the resource.
    pub fn writes(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Merge)
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCounts {
    /// Created.
    pub create: u64,
    /// Updated.
    pub update: u64,
    /// Merged.
    pub merge: u64,
    /// Unchanged.
    pub unchanged: u64,
    /// Skipped.
    pub skip: u64,
    /// Conflicting.
    pub conflict: u64,
}

/// A reference the package does not resolve itself, as the plan resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRef {
    /// The resource holding it, as the hub will name it.
    pub from: ResourceKey,
    /// The field (`target`, `to_unit`, ...).
    pub field: RefField,
    /// What the package wrote.
    pub written: ResourceKey,
    /// What it resolves to in the hub.
    pub resolved: ResourceKey,
}

impl ResolvedRef {
    /// `unit staging-app/web to_unit -> unit shared-infra/redis`.
    pub fn line(&self) -> String {
        format!(
            "{} {} -> {}",
            self.from,
            self.field.manifest_key(),
            self.resolved
        )
    }

    /// The warning a dropped reference gives.
    pub fn dropped_warning(&self) -> String {
        format!(
            "{} {} -> {} is neither in the package nor in the hub; loading {} without it (as cub does)",
            self.from,
            self.field.manifest_key(),
            self.resolved,
            self.from
        )
    }
}

/// A whole load plan, in load order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// How the package's names map to the hub's.
    pub remap: Remap,
    /// One step per package resource.
    pub steps: Vec<Step>,
    /// Totals per action.
    pub counts: PlanCounts,
    /// External references (into spaces the package does not contain) and
    /// the hub resource each resolves to.
    pub external: Vec<ResolvedRef>,
    /// References that resolve nowhere and are dropped, as cub drops them.
    pub dropped: Vec<ResolvedRef>,
    /// `(item, field)` of every dropped reference.
    dropped_set: HashSet<(usize, RefField)>,
    /// The merged content of every `merge` step, by item.
    pub merged: HashMap<usize, Side>,
    /// Values changed on both sides (`--on-conflict merge`): the load is refused.
    pub merge_conflicts: Vec<Conflict>,
    /// Unchanged items whose package content the load records as the
    /// resource's merge base without writing the resource.
    pub rebase: Vec<usize>,
}

impl Plan {
    /// The prefix applied to the package's spaces.
    pub fn prefix(&self) -> Option<&str> {
        self.remap.prefix.as_deref()
    }

    /// The key `step`'s resource has in the hub (prefix applied).
    pub fn key(&self, package: &Package, step: &Step) -> ResourceKey {
        self.remap.key(&package.items[step.item].key)
    }

    /// The references `step`'s resource has in the hub (renamed, dropped
    /// ones left out).
    pub fn refs(&self, package: &Package, step: &Step) -> Vec<Reference> {
        package.items[step.item]
            .refs
            .iter()
            .filter(|r| !self.dropped_set.contains(&(step.item, r.field)))
            .map(|r| self.remap.reference(r))
            .collect()
    }

    /// One warning per dropped reference.
    pub fn warnings(&self) -> Vec<String> {
        self.dropped
            .iter()
            .map(ResolvedRef::dropped_warning)
            .collect()
    }

    /// Whether the load would change nothing.
    pub fn is_noop(&self) -> bool {
        self.counts.create == 0 && self.counts.update == 0 && self.counts.merge == 0
    }

    /// Why a load of this plan would be refused, if it would: values
    /// changed on both sides (merge), else conflicting resources (fail).
    pub fn refusal(&self, package: &Package) -> Option<PackageError> {
        if !self.merge_conflicts.is_empty() {
            return Some(PackageError::MergeConflicts(self.merge_conflicts.clone()));
        }
        let conflicts = self.conflicts(package);
        (!conflicts.is_empty()).then_some(PackageError::Conflicts(conflicts))
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

/// Each resource's key in the hub and the source fingerprint a load of
/// `package` with `options` records for it (references renamed, none
/// dropped). When the hub holds exactly these, the load changes nothing.
pub fn expected_sources(package: &Package, options: &PlanOptions) -> Vec<(ResourceKey, String)> {
    let remap = Remap::new(&package.spaces, options.prefix.as_deref(), options.external);
    package
        .items
        .iter()
        .map(|item| {
            let refs: Vec<Reference> = item.refs.iter().map(|r| remap.reference(r)).collect();
            (remap.key(&item.key), source_fingerprint(item, &refs))
        })
        .collect()
}

/// Checks a load prefix: it must be a slug, and `P-<space>` must stay one.
pub fn check_prefix(prefix: Option<&str>) -> Result<(), PackageError> {
    if let Some(p) = prefix {
        validate_slug(p).map_err(|e| PackageError::Other(format!("invalid --prefix: {e}")))?;
    }
    Ok(())
}

/// Plans loading `package` into the hub behind `conn` as `options` say.
pub fn plan(
    conn: &Connection,
    package: &Package,
    options: &PlanOptions,
) -> Result<Plan, PackageError> {
    let prefix = options.prefix.as_deref();
    check_prefix(prefix)?;
    let mut problems = Vec::new();
    for space in &package.spaces {
        let remapped = prefixed_space(prefix, space);
        if let Err(e) = validate_slug(&remapped) {
            problems.push(format!("space `{space}` with the prefix: {e}"));
        }
    }
    if !problems.is_empty() {
        return Err(PackageError::Unresolved(problems));
    }
    let remap = Remap::new(&package.spaces, prefix, options.external);
    let mut plan = Plan {
        remap,
        ..Plan::default()
    };
    resolve_outside(conn, package, &mut plan, options.strict)?;

    for (index, item) in package.items.iter().enumerate() {
        let step = Step {
            item: index,
            action: Action::Create,
        };
        let key = plan.key(package, &step);
        let refs = plan.refs(package, &step);
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
                    // Same content from other files (or a local edit that
                    // matches the package): it becomes the merge base.
                    plan.rebase.push(index);
                    Action::Unchanged
                } else {
                    match options.on_conflict {
                        OnConflict::Fail => Action::Conflict,
                        OnConflict::Skip => Action::Skip,
                        OnConflict::Update => Action::Update,
                        OnConflict::Merge => {
                            plan_merge(conn, package, &mut plan, index, &key, refs, &details)?
                        }
                    }
                }
            }
        };
        let counter = match action {
            Action::Create => &mut plan.counts.create,
            Action::Update => &mut plan.counts.update,
            Action::Merge => &mut plan.counts.merge,
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

/// Merges item `index` (hub key `key`) three ways: the hub's content, the
/// package's, and the base the last load wrote. Returns the action: `update`
/// when only the package changed, `unchanged` when the hub already holds
/// the result, `merge` (the result kept in the plan), or `conflict`.
fn plan_merge(
    conn: &Connection,
    package: &Package,
    plan: &mut Plan,
    index: usize,
    key: &ResourceKey,
    refs: Vec<Reference>,
    details_json: &str,
) -> Result<Action, PackageError> {
    let item = &package.items[index];
    let details = match serde_json::from_str(details_json) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Err(PackageError::ChangedDuringLoad(item.details_loc.clone())),
    };
    let upstream = Side {
        data: match item.data_loc {
            Some(_) => Some(package.read_data(item)?),
            None => None,
        },
        details,
        refs,
    };
    let current = store::require(conn, key)?;
    let local = Side {
        data: if upstream.data.is_some() {
            Some(store::data(conn, key)?.unwrap_or_default())
        } else {
            None
        },
        details: current.details,
        refs: current.refs,
    };
    let base = store::base(conn, key)?.map(|b| Side {
        details: b.details,
        refs: b.refs,
        data: b.data,
    });
    let format = DataFormat::from_suffix(
        &data_suffix(str_field(&upstream.details, "ToolchainType")).unwrap_or_default(),
    );
    Ok(match merge(key, base.as_ref(), &local, &upstream, format) {
        Ok(merged) if merged == upstream => Action::Update,
        Ok(merged) if merged == local => {
            // The hub already holds the package's changes (and its own):
            // the package content becomes the base of the next merge.
            plan.rebase.push(index);
            Action::Unchanged
        }
        Ok(merged) => {
            plan.merged.insert(index, merged);
            Action::Merge
        }
        Err(conflicts) => {
            plan.merge_conflicts.extend(conflicts);
            Action::Conflict
        }
    })
}

/// Resolves every reference the package does not hold against the hub:
/// external ones must exist there; dangling ones into the package's own
/// spaces are kept when the hub has them, else dropped where cub drops
/// them (a unit's target, a view's filter, an invocation's worker) and
/// refused otherwise. `strict` refuses every dropped reference.
fn resolve_outside(
    conn: &Connection,
    package: &Package,
    plan: &mut Plan,
    strict: bool,
) -> Result<(), PackageError> {
    let mut missing = Vec::new();
    let index_of = |key: &ResourceKey| package.items.binary_search_by(|i| i.key.cmp(key)).ok();
    for outside in &package.outside {
        let OutsideRef { from, field, to } = outside;
        let hub_from = plan.remap.key(from);
        let Some(field) = *field else {
            // The resource's own space is not in the package: the hub must have it.
            let space = plan.remap.key(to);
            if !store::exists(conn, &space)? {
                missing.push(format!(
                    "{hub_from} lives in {space}, which is neither in the package nor in the hub"
                ));
            }
            continue;
        };
        let resolved = ResolvedRef {
            from: hub_from,
            field,
            written: to.clone(),
            resolved: plan.remap.target(to),
        };
        let external = plan.remap.external == ExternalMode::Keep && plan.remap.is_external(to);
        if store::exists(conn, &resolved.resolved)? {
            if external {
                plan.external.push(resolved);
            }
        } else if external {
            missing.push(format!(
                "{}: external reference not found in the hub",
                resolved.line()
            ));
        } else if field.is_droppable() && !strict {
            if let Some(item) = index_of(from) {
                plan.dropped_set.insert((item, field));
            }
            plan.dropped.push(resolved);
        } else if field.is_droppable() {
            missing.push(format!("{} (--strict)", resolved.dropped_warning()));
        } else {
            missing.push(format!(
                "{} refers to {}, which is neither in the package nor in the hub",
                resolved.from, resolved.resolved
            ));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        if package.external_refs().next().is_some() && plan.remap.external == ExternalMode::Keep {
            missing.push(
                "external references (into spaces the package does not contain) keep their space under --prefix: create them first, load with --external prefix, or make the package with `pkg create --closure`".into(),
            );
        }
        Err(PackageError::Unresolved(missing))
    }
}
