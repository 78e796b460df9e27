//! Property 2: `pkg load` then `pkg rollback` restores the hub exactly:
//! every column of every resource row (IDs, versions, timestamps, data,
//! source fingerprints, merge bases) and every stored merge base. A load
//! the hub refuses (conflicts, merge conflicts) changes nothing at all.
//! And rolling the rollback back restores exactly what the load wrote.
//!
//! Generated: a world (version 1) and its next version (edits, deletions,
//! additions); the hub gets version 1 by a load, then local edits as
//! `pkg <kind> update|create` make them (labels, display names, other
//! keys, data lines; sometimes the very change version 2 brings, sometimes
//! a resource version 2 adds, created by hand first), and then version 2 is
//! loaded with a random `--on-conflict` (fail, skip, update, merge), so
//! that the load creates, updates, merges, skips, rebases and refuses.

use proptest::prelude::*;
use proptest::sample::Index;

use pkg::hub_access::HubAccess;
use pkg::model::ResourceKind;
use pkg::model::details::canonicalize;
use pkg::package::OnConflict;

use crate::support::{Releases, TempHub, config, init};
use crate::world::{Edit, Mutation, World, edit, mutation, world};

/// A change made by hand between the two loads.
#[derive(Debug, Clone)]
pub enum LocalEdit {
    /// `pkg <kind> update` of a resource the hub holds.
    Update(Index, Edit),
    /// An update that makes a resource what version 2 has (when it has it).
    PreApply(Index),
    /// `pkg <kind> create` of a resource only version 2 has.
    CreateAhead(Index),
}

pub fn local_edit() -> impl Strategy<Value = LocalEdit> {
    prop_oneof![
        4 => (any::<Index>(), edit()).prop_map(|(i, e)| LocalEdit::Update(i, e)),
        1 => any::<Index>().prop_map(LocalEdit::PreApply),
        1 => any::<Index>().prop_map(LocalEdit::CreateAhead),
    ]
}

/// Every key the hub holds, in load order.
pub fn hub_keys(hub: &mut TempHub) -> Vec<pkg::model::ResourceKey> {
    let mut keys = Vec::new();
    for kind in ResourceKind::ALL {
        for r in hub.hub.list(kind, None, None).expect("list") {
            keys.push(r.key);
        }
    }
    keys
}

/// Applies `edits` to `hub` as the resource commands would; a command that
/// the hub refuses (a reference that does not exist yet) changes nothing.
pub fn apply_local_edits(hub: &mut TempHub, next: &World, edits: &[LocalEdit]) {
    for local in edits {
        let keys = hub_keys(hub);
        match local {
            LocalEdit::Update(i, edit) => {
                let key = keys[i.index(keys.len())].clone();
                let slug = key.slug.clone();
                hub.hub
                    .update(&key, &mut |new| {
                        edit.apply(&mut new.details, &mut new.data);
                        new.details = canonicalize(std::mem::take(&mut new.details), &slug);
                        Ok(())
                    })
                    .expect("a local edit applies");
            }
            LocalEdit::PreApply(i) => {
                let key = keys[i.index(keys.len())].clone();
                if let Some(res) = next.resources.get(&key) {
                    let _ = hub.hub.update(&key, &mut |new| {
                        new.details = res.details.clone();
                        new.refs = res.refs.clone();
                        new.data = res.data.clone();
                        Ok(())
                    });
                }
            }
            LocalEdit::CreateAhead(i) => {
                let ahead: Vec<_> = next
                    .resources
                    .values()
                    .filter(|r| !keys.contains(&r.key))
                    .collect();
                if !ahead.is_empty() {
                    let _ = hub.hub.create(&ahead[i.index(ahead.len())].new_resource());
                }
            }
        }
    }
}

pub const POLICIES: &[OnConflict] = &[
    OnConflict::Fail,
    OnConflict::Skip,
    OnConflict::Update,
    OnConflict::Update,
    OnConflict::Merge,
    OnConflict::Merge,
    OnConflict::Merge,
];

fn check(
    v1: &World,
    change: &Mutation,
    edits: &[LocalEdit],
    policy: OnConflict,
) -> Result<(), TestCaseError> {
    let releases = Releases::of(v1, change);
    let (p1, p2) = (&releases.p1, &releases.p2);

    let mut hub = TempHub::new();
    hub.load(p1, OnConflict::Fail)
        .expect("version 1 loads into an empty hub");
    apply_local_edits(&mut hub, &releases.v2, edits);
    let before = hub.dump(false);

    let report = match hub.load(p2, policy) {
        Ok(report) => report,
        Err(refused) => {
            let after = hub.dump(false);
            prop_assert!(
                after == before,
                "a refused load ({refused}) changed the hub:\n{}",
                before.diff(&after)
            );
            return Ok(());
        }
    };
    let loaded = hub.dump(false);

    let rollback = hub
        .hub
        .rollback(report.entry_id, false)
        .map_err(|e| TestCaseError::fail(format!("rollback refused: {e}")))?;
    let after = hub.dump(false);
    prop_assert!(
        after == before,
        "rollback of a {} load ({:?}) left the hub different:\n{}",
        policy.as_str(),
        report.counts,
        before.diff(&after)
    );

    hub.hub
        .rollback(rollback.history_id, false)
        .map_err(|e| TestCaseError::fail(format!("rollback of the rollback refused: {e}")))?;
    let again = hub.dump(false);
    prop_assert!(
        again == loaded,
        "rolling the rollback back does not restore what the load wrote:\n{}",
        loaded.diff(&again)
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    /// load → rollback is the identity on the hub; a refused load writes nothing.
    #[test]
    fn rollback_restores_the_hub_exactly(
        v1 in world(5),
        change in mutation(),
        edits in prop::collection::vec(local_edit(), 0..5),
        policy in prop::sample::select(POLICIES),
    ) {
        init();
        check(&v1, &change, &edits, policy)?;
    }
}
