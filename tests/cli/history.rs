//! `pkg history` and `pkg rollback`.

use crate::common::Env;

#[test]
fn history_json_has_the_promised_fields() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    env.ok(["load", full.to_str().unwrap(), "--prefix", "a"]);
    env.ok(["create", "out"]);
    let out = env.ok(["history", "-o", "json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["action"], "create", "newest first");
    let load = &entries[1];
    assert_eq!(load["action"], "load");
    assert_eq!(load["prefix"], "a");
    assert_eq!(load["created"], 13);
    assert_eq!(load["updated"], 0);
    assert_eq!(load["unchanged"], 0);
    assert!(load["source"].as_str().unwrap().ends_with("cub-full"));
    assert!(load["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(load["id"].is_i64());
    let time = load["time"].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            .unwrap()
            .is_match(time),
        "{time}"
    );
    insta::assert_snapshot!(env.run_snapshot(["history"]));
}

#[test]
fn rollback_restores_the_state_before_the_load() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    let src = full.to_str().unwrap();
    env.ok(["load", src]);
    let after_first = env.ok(["unit", "list", "-o", "json"]);
    let data_before = env.ok(["unit", "get", "shop/api", "--data"]);
    std::fs::write(full.join("units/shop/api.data.yaml"), "changed: true\n").unwrap();
    let basic = env.fixture("cub-basic");
    env.ok(["load", basic.to_str().unwrap()]);
    env.ok(["load", src, "--on-conflict", "update"]);
    assert_eq!(
        env.ok(["unit", "get", "shop/api", "--data"]),
        "changed: true\n"
    );

    // Undo the update: the old data, ID and version come back.
    let out = env.ok(["rollback", "3"]);
    assert!(out.contains("Rolled back entry 3"), "{out}");
    assert_eq!(env.ok(["unit", "get", "shop/api", "--data"]), data_before);
    assert_eq!(
        env.ok(["unit", "list", "--space", "shop", "-o", "json"]),
        after_first
    );

    // Undo the creation of cub-basic: its resources go away.
    env.ok(["rollback", "2"]);
    assert_eq!(env.count("unit"), 4);
    let err = env.fails(["rollback", "2"]);
    assert!(err.contains("already rolled back by entry 5"), "{err}");
    // A rollback is itself recorded and can be rolled back.
    env.ok(["rollback", "5"]);
    assert_eq!(env.count("unit"), 7);
    let history = env.ok(["history", "-o", "json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_str(&history).unwrap();
    assert_eq!(entries[0]["action"], "rollback");
    assert_eq!(entries[0]["reverts"], 5);
}

#[test]
fn rollback_refuses_when_resources_changed_since() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    env.ok(["load", full.to_str().unwrap()]);
    env.ok(["unit", "update", "shop/api", "--label", "touched=yes"]);
    let before = env.hub_state();
    let err = env.fails(["rollback", "1"]);
    assert!(
        err.contains("cannot roll back entry 1: 1 changed since then (unit shop/api)"),
        "{err}"
    );
    assert_eq!(env.hub_state(), before);
    // A resource created in a loaded space after the load keeps the space alive.
    env.ok(["unit", "create", "--space", "shop", "extra"]);
    let before = env.hub_state();
    let err = env.fails(["rollback", "1", "--force"]);
    assert!(
        err.contains("space shop is still used by unit shop/extra"),
        "{err}"
    );
    assert_eq!(env.hub_state(), before);
    env.ok(["unit", "delete", "shop/extra"]);
    env.ok(["rollback", "1", "--force"]);
    assert_eq!(env.count("unit"), 0);
    assert_eq!(env.count("space"), 0);
}

#[test]
fn rollback_of_unknown_or_create_entries_fails() {
    let env = Env::new();
    let err = env.fails(["rollback", "42"]);
    assert!(err.contains("history entry 42 does not exist"), "{err}");
    let full = env.fixture("cub-full");
    env.ok(["load", full.to_str().unwrap()]);
    env.ok(["create", "out"]);
    let err = env.fails(["rollback", "2"]);
    assert!(
        err.contains("`create` writes a package and does not change the hub"),
        "{err}"
    );
}
