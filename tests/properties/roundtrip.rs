//! Property 1: `pkg create`, then `pkg load` into an empty hub, then
//! `pkg create` again with the same options gives a byte-identical package:
//! every file (manifest.json, details, data), byte for byte, and the same
//! directory tree.
//!
//! Generated: a world of spaces, workers, targets, units (all toolchains,
//! every kind of data), links, filters and views with hostile text and
//! nested JSON in their details; and the `pkg create` options: every space
//! or a subset (`--space`), optionally a `--where` on units, always
//! `--closure` (so that the package loads into an empty hub) and a fixed
//! `SOURCE_DATE_EPOCH` (so that `created_at` is reproducible, as
//! documented).

use proptest::prelude::*;
use proptest::sample::Index;

use pkg::filter::WhereFilter;
use pkg::model::ResourceKind;
use pkg::package::OnConflict;

use crate::support::{TempHub, config, init, tree, tree_diff, whole_package};
use crate::world::{World, world};

/// `--where` expressions for `pkg create` that depend on content only
/// (not on IDs or timestamps, which a load does not carry over).
const WHERES: &[&str] = &[
    "Labels.app = 'web'",
    "Labels.tier IN ('prod', 'Prod') AND Slug LIKE '%a%'",
    "ToolchainType = 'Kubernetes/YAML'",
    "DisplayName IS NOT NULL",
    "Slug ~ '^[a-c]'",
];

fn check(world: &World, spaces: &[Index], where_: Option<&str>) -> Result<(), TestCaseError> {
    let mut source = TempHub::new();
    world.materialize(&mut source.hub);
    let mut options = whole_package();
    let all_spaces = world.keys(ResourceKind::Space);
    options.spaces = spaces
        .iter()
        .map(|i| all_spaces[i.index(all_spaces.len())].slug.clone())
        .collect();
    options.filter =
        where_.map(|w| WhereFilter::parse(w, ResourceKind::Unit).expect("valid --where"));
    let (first_dir, first) = source.create("first", &options);

    let mut copy = TempHub::new();
    if let Err(e) = copy.load(&first, OnConflict::Fail) {
        return Err(TestCaseError::fail(format!(
            "the package does not load into an empty hub: {e}"
        )));
    }
    let (second_dir, _) = copy.create("second", &options);

    let (a, b) = (tree(&first_dir), tree(&second_dir));
    prop_assert!(a == b, "the packages differ: {}", tree_diff(&a, &b));
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    /// create → load into an empty hub → create gives the same bytes.
    #[test]
    fn create_load_create_is_byte_identical(
        world in world(6),
        spaces in prop::collection::vec(any::<Index>(), 0..3),
        where_ in prop::option::weighted(0.25, prop::sample::select(WHERES)),
    ) {
        init();
        check(&world, &spaces, where_)?;
    }
}
