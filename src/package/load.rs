//! Loading a checked package into the hub: plan under the write lock, refuse
//! on conflicts (policy `fail`), then write every change and the history
//! entry in ONE transaction, so that a failure or a kill leaves the hub
//! exactly as it was.

use super::error::PackageError;
use super::plan::{Action, Plan, PlanOptions, Step, plan, source_fingerprint};
use super::read::{Item, Package};
use crate::hub::Hub;
use crate::hub::history::{self, Counts, NewEntry};
use crate::hub::store::{self, RowContent};
use crate::model::details::to_canonical_json;
use crate::model::fingerprint::{content_fingerprint, sha256_digest};
use crate::model::{Reference, ResourceKey};
use crate::progress::Progress;

/// How to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The renaming, the conflict policy and `--strict`.
    pub plan: PlanOptions,
    /// The source as the user gave it, for the history.
    pub source: String,
    /// The git commit the package was read from, for the history.
    pub commit: Option<String>,
    /// Refuse the load unless its plan has this fingerprint
    /// ([`crate::package::report::plan_fingerprint`]): the plan that was shown.
    pub expect_plan: Option<String>,
}

/// What a load did.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// The plan that was carried out.
    pub plan: Plan,
    /// The history entry recording the load.
    pub entry_id: i64,
    /// What changed.
    pub counts: Counts,
}

/// What the package brings for one resource, in the form a row stores.
struct Upstream {
    details: String,
    data: Option<Vec<u8>>,
    data_digest: Option<String>,
    fingerprint: String,
    source: String,
}

impl Upstream {
    /// Reads `item` again (checking its digests) as hub resource `key` with `refs`.
    fn read(
        package: &Package,
        item: &Item,
        key: &ResourceKey,
        refs: &[Reference],
    ) -> Result<Upstream, PackageError> {
        let data_digest = item.data_digest_text();
        let details = package.read_details(item, &key.slug)?;
        let data = match &item.data_loc {
            Some(_) => Some(package.read_data(item)?),
            None => None,
        };
        Ok(Upstream {
            fingerprint: content_fingerprint(&details, refs, data_digest.as_deref()),
            source: source_fingerprint(item, refs),
            details,
            data,
            data_digest,
        })
    }

    /// The row content (a load's: it is also the resource's merge base).
    fn content<'a>(&'a self, key: &'a ResourceKey, refs: &'a [Reference]) -> RowContent<'a> {
        RowContent {
            key,
            details_json: &self.details,
            refs,
            data: self.data.as_deref(),
            data_digest: self.data_digest.as_deref(),
            fingerprint: &self.fingerprint,
            source_fingerprint: Some(&self.source),
            base_fingerprint: Some(&self.fingerprint),
        }
    }
}

/// Plans the load without writing anything (`pkg diff`, `load --dry-run`).
/// Run it in a read transaction ([`Hub::read`]) shared with whatever shows
/// the plan, so that both see the same hub.
pub fn dry_run(
    conn: &rusqlite::Connection,
    package: &Package,
    options: &LoadOptions,
) -> Result<Plan, PackageError> {
    plan(conn, package, &options.plan)
}

/// Loads `package` into `hub` in one transaction and records it.
pub fn load(
    hub: &mut Hub,
    package: &Package,
    options: &LoadOptions,
    progress: &dyn Progress,
) -> Result<LoadOutcome, PackageError> {
    progress.phase("planning", package.items.len() as u64);
    let tx = hub.write()?;
    let plan = plan(&tx, package, &options.plan)?;
    if let Some(refusal) = plan.refusal(package) {
        return Err(refusal);
    }
    if let Some(expected) = &options.expect_plan {
        let actual = super::report::plan_fingerprint(package, &plan);
        if &actual != expected {
            return Err(PackageError::PlanChanged {
                expected: expected.clone(),
                actual,
            });
        }
    }
    let now = crate::time::now_rfc3339();
    let entry_id = history::record(
        &tx,
        history::Action::Load,
        &NewEntry {
            source: options.source.clone(),
            digest: package.digest.clone(),
            commit: options.commit.clone(),
            prefix: plan.prefix().unwrap_or_default().to_string(),
            on_conflict: options.plan.on_conflict.as_str().to_string(),
            name: package.manifest.name.clone().unwrap_or_default(),
            version: package.manifest.version.clone().unwrap_or_default(),
            reverts: None,
            warnings: plan.warnings(),
        },
        &now,
    )?;
    let writes = plan.counts.create + plan.counts.update + plan.counts.merge;
    progress.phase("writing", writes);
    for (seq, step) in (0_i64..).zip(plan.steps.iter().filter(|s| s.action.writes())) {
        let item = &package.items[step.item];
        let key = plan.key(package, step);
        let refs = plan.refs(package, step);
        let upstream = Upstream::read(package, item, &key, &refs)?;
        let content = upstream.content(&key, &refs);
        let fingerprint = upstream.fingerprint.clone();
        if let Some(merged) = plan.merged.get(&step.item) {
            // The hub gets the merge; the package content becomes the base.
            let merged_details = to_canonical_json(&merged.details);
            let merged_digest = merged.data.as_deref().map(sha256_digest);
            let merged_fingerprint =
                content_fingerprint(&merged_details, &merged.refs, merged_digest.as_deref());
            history::record_change(&tx, entry_id, seq, &key, Some(&merged_fingerprint))?;
            store::save_base(&tx, &content)?;
            store::update(
                &tx,
                &RowContent {
                    key: &key,
                    details_json: &merged_details,
                    refs: &merged.refs,
                    data: merged.data.as_deref(),
                    data_digest: merged_digest.as_deref(),
                    fingerprint: &merged_fingerprint,
                    source_fingerprint: None,
                    base_fingerprint: Some(&fingerprint),
                },
                &now,
            )?;
        } else if step.action == Action::Create {
            history::record_creation(&tx, entry_id, seq, &key, Some(&fingerprint))?;
            store::insert(&tx, &content, &store::new_id(), &now)?;
        } else {
            history::record_change(&tx, entry_id, seq, &key, Some(&fingerprint))?;
            store::clear_base(&tx, &key)?;
            store::update(&tx, &content, &now)?;
        }
        progress.advance(1);
    }
    for (seq, &index) in (i64::try_from(writes).unwrap_or(i64::MAX)..).zip(&plan.rebase) {
        let step = Step {
            item: index,
            action: Action::Unchanged,
        };
        let key = plan.key(package, &step);
        let refs = plan.refs(package, &step);
        let upstream = Upstream::read(package, &package.items[index], &key, &refs)?;
        // The content stays; only the merge base changes. Recorded like a
        // change (prior row and base, the same fingerprint after), so
        // that a rollback restores the base too.
        let current = store::fingerprint(&tx, &key)?;
        history::record_change(&tx, entry_id, seq, &key, current.as_deref())?;
        store::rebase(&tx, &upstream.content(&key, &refs))?;
    }
    let counts = Counts {
        created: plan.counts.create,
        updated: plan.counts.update,
        unchanged: plan.counts.unchanged,
        skipped: plan.counts.skip,
        deleted: 0,
        merged: plan.counts.merge,
    };
    history::set_counts(&tx, entry_id, &counts)?;
    progress.phase("committing", 0);
    tx.commit().map_err(crate::hub::HubError::from)?;
    progress.finish();
    Ok(LoadOutcome {
        plan,
        entry_id,
        counts,
    })
}
