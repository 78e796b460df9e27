//! Focused regression tests for what the properties found, each a fixed
//! case of one property.

use serde_json::json;

use pkg::hub::NewResource;
use pkg::hub_access::HubAccess;
use pkg::model::{Details, ResourceKey, ResourceKind};
use pkg::package::OnConflict;

use crate::support::{TempHub, init, tree, tree_diff, whole_package};

fn details(value: serde_json::Value) -> Details {
    match value {
        serde_json::Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn space_and_unit(hub: &mut TempHub, unit_details: serde_json::Value) {
    for new in [
        NewResource {
            key: ResourceKey::space("s"),
            details: details(json!({"Slug": "s"})),
            refs: vec![],
            data: None,
        },
        NewResource {
            key: ResourceKey::new(ResourceKind::Unit, "s", "u"),
            details: details(unit_details),
            refs: vec![],
            data: Some(b"a: 1\n".to_vec()),
        },
    ] {
        hub.hub.create(&new).expect("create");
    }
}

fn base_fingerprint(hub: &mut TempHub) -> Option<String> {
    hub.hub
        .hub_mut()
        .conn()
        .query_row(
            "SELECT base_fingerprint FROM resources WHERE kind = 'unit'",
            [],
            |r| r.get(0),
        )
        .expect("the unit")
}

/// A load that finds the package's content already in the hub (made by
/// hand) writes nothing but makes that content the resource's merge base;
/// its rollback must put the prior base back (property 2), and must not
/// be refused, nor undo anything, when the resource was edited since.
#[test]
fn rollback_restores_a_base_the_load_only_rebased() {
    init();
    let mut source = TempHub::new();
    space_and_unit(&mut source, json!({"Slug": "u", "Labels": {"app": "web"}}));
    let (_, package) = source.create("p", &whole_package());

    let mut hub = TempHub::new();
    space_and_unit(&mut hub, json!({"Slug": "u", "Labels": {"app": "web"}}));
    let before = hub.dump(false);
    assert_eq!(base_fingerprint(&mut hub), None);
    let report = hub.load(&package, OnConflict::Fail).expect("load");
    assert_eq!(report.counts.unchanged, 2);
    assert!(
        base_fingerprint(&mut hub).is_some(),
        "the load rebased the unit"
    );
    hub.hub.rollback(report.entry_id, false).expect("rollback");
    let after = hub.dump(false);
    assert!(after == before, "{}", before.diff(&after));

    // Edited after the load: the rollback still only restores the base.
    let report = hub.load(&package, OnConflict::Fail).expect("load again");
    let key = ResourceKey::new(ResourceKind::Unit, "s", "u");
    hub.hub
        .update(&key, &mut |new| {
            new.data = Some(b"a: 2\n".to_vec());
            Ok(())
        })
        .expect("edit");
    let rollback = hub.hub.rollback(report.entry_id, false).expect("rollback");
    assert_eq!(
        rollback.counts.updated + rollback.counts.created + rollback.counts.deleted,
        0
    );
    assert_eq!(base_fingerprint(&mut hub), None);
    let data = hub.hub.get(&key, true).expect("get").data;
    assert_eq!(data.as_deref(), Some(&b"a: 2\n"[..]), "the edit is kept");
}

/// A float in details must survive hub → package → hub → package exactly
/// (property 1): serde_json parses floats exactly only with its
/// `float_roundtrip` feature.
#[test]
fn floats_survive_create_load_create() {
    init();
    let mut source = TempHub::new();
    space_and_unit(
        &mut source,
        json!({"Slug": "u", "Spec": [-3.401235911691622e-180, 0.1, 5e-324]}),
    );
    let (first_dir, first) = source.create("first", &whole_package());
    let mut copy = TempHub::new();
    copy.load(&first, OnConflict::Fail).expect("load");
    let (second_dir, _) = copy.create("second", &whole_package());
    let (a, b) = (tree(&first_dir), tree(&second_dir));
    assert!(a == b, "{}", tree_diff(&a, &b));
}
