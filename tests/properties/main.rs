//! Property tests (proptest) of the invariants users rely on, driven
//! through the library in-process with hubs in temporary directories,
//! exactly as the commands drive it:
//!
//! 1. [`roundtrip`]: create → load into an empty hub → create gives a
//!    byte-identical package.
//! 2. [`rollback`]: load → rollback restores the hub exactly, also over a
//!    hub with local edits and conflicts the load updates or merges.
//! 3. [`merge`]: a three-way merge with no local edits equals
//!    `--on-conflict update`.
//! 4. [`where_order`]: a where-expression's result does not depend on the
//!    order of its AND clauses.
//!
//! Each property runs a modest number of cases by default (see
//! [`support::config`]); `PROPTEST_CASES=2000 cargo test --test properties`
//! runs deeper. docs/testing.md has the numbers.

mod merge;
mod regressions;
mod rollback;
mod roundtrip;
mod support;
mod where_order;
mod world;
