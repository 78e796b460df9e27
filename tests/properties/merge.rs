//! Property 3: a three-way merge with no local edits equals
//! `--on-conflict update`. Version 1 of a package is loaded into two empty
//! hubs; version 2 (edits, deletions and additions relative to version 1)
//! is loaded into one with `--on-conflict merge` and into the other with
//! `--on-conflict update`. Both loads succeed and the two hubs hold the
//! same content: every column of every resource except IDs and timestamps
//! (which no two hubs share), and the same stored merge bases.

use proptest::prelude::*;

use pkg::package::OnConflict;

use crate::support::{Releases, TempHub, config, init};
use crate::world::{Mutation, World, mutation, world};

fn check(v1: &World, change: &Mutation) -> Result<(), TestCaseError> {
    let releases = Releases::of(v1, change);
    let (p1, p2) = (&releases.p1, &releases.p2);

    let mut merged = TempHub::new();
    let mut updated = TempHub::new();
    for hub in [&mut merged, &mut updated] {
        hub.load(p1, OnConflict::Fail)
            .expect("version 1 loads into an empty hub");
    }
    let by_merge = merged
        .load(p2, OnConflict::Merge)
        .map_err(|e| TestCaseError::fail(format!("the merge load failed: {e}")))?;
    let by_update = updated
        .load(p2, OnConflict::Update)
        .map_err(|e| TestCaseError::fail(format!("the update load failed: {e}")))?;
    let (a, b) = (merged.dump(true), updated.dump(true));
    prop_assert!(
        a == b,
        "merge ({:?}) and update ({:?}) give different hubs:\n{}",
        by_merge.counts,
        by_update.counts,
        b.diff(&a)
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    /// With no local edits, `--on-conflict merge` writes what `update` writes.
    #[test]
    fn merge_without_local_edits_is_update(v1 in world(5), change in mutation()) {
        init();
        check(&v1, &change)?;
    }
}
