//! `pkg create`: selection, layout, digests, determinism and atomicity.

use crate::common::{Env, read_json};

fn load_full(env: &Env) {
    let full = env.fixture("cub-full");
    env.ok(["load", full.to_str().unwrap()]);
}

#[test]
fn round_trip_is_byte_identical_and_loads_back() {
    let env = Env::new();
    load_full(&env);
    for out in ["out1", "out2"] {
        env.ok([
            "create",
            out,
            "--version",
            "1.0.0",
            "--name",
            "shop",
            "--description",
            "the shop",
        ]);
    }
    assert_dirs_equal(&env.path("out1"), &env.path("out2"));

    let manifest = read_json(&env.path("out1/manifest.json"));
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["version"], "1.0.0");
    assert_eq!(manifest["created_at"], "2023-11-14T22:13:20Z");
    let digests = manifest["digests"].as_object().unwrap();
    assert_eq!(digests.len(), 2 + 1 + 1 + 4 * 2 + 2 + 1 + 1 + 1);
    assert!(digests.contains_key("/units/shop/settings.data.properties"));
    insta::assert_snapshot!(
        "created_manifest",
        std::fs::read_to_string(env.path("out1/manifest.json")).unwrap()
    );
    insta::assert_snapshot!(
        "created_unit_details",
        std::fs::read_to_string(env.path("out1/units/shop/api.json")).unwrap()
    );

    // Into a second hub under a prefix, then out again: same content.
    let other = Env::new();
    other.ok([
        "load",
        env.path("out1").to_str().unwrap(),
        "--prefix",
        "copy",
    ]);
    assert_eq!(other.count("unit"), 4);
    other.ok([
        "create",
        "back",
        "--space",
        "copy-shop",
        "--version",
        "1.0.0",
        "--name",
        "shop",
        "--description",
        "the shop",
    ]);
    let back = std::fs::read_to_string(other.path("back/units/copy-shop/api.data.yaml")).unwrap();
    let orig = std::fs::read_to_string(env.path("out1/units/shop/api.data.yaml")).unwrap();
    assert_eq!(back, orig);
}

#[test]
fn selects_by_space_and_where() {
    let env = Env::new();
    load_full(&env);
    let basic = env.fixture("cub-basic");
    env.ok(["load", basic.to_str().unwrap()]);
    env.ok([
        "create",
        "only-backend",
        "--where",
        "Labels.tier = 'backend'",
    ]);
    let m = read_json(&env.path("only-backend/manifest.json"));
    let units: Vec<&str> = m["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["slug"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["backend", "api"]);
    // The target and worker of api come along, with their space.
    let spaces: Vec<&str> = m["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert!(
        spaces.contains(&"platform") && spaces.contains(&"shop"),
        "{spaces:?}"
    );
    assert_eq!(m["targets"].as_array().unwrap().len(), 2);
    assert_eq!(m["workers"].as_array().unwrap().len(), 2);

    env.ok(["create", "basic-only", "--space", "app-dev"]);
    let m = read_json(&env.path("basic-only/manifest.json"));
    assert_eq!(m["units"].as_array().unwrap().len(), 3);
    assert_eq!(m["links"].as_array().unwrap().len(), 0);
    // Outgoing links of selected units only.
    env.ok(["create", "api-only", "--where", "Slug = 'api'"]);
    let m = read_json(&env.path("api-only/manifest.json"));
    assert_eq!(m["links"].as_array().unwrap().len(), 2);
    assert_eq!(m["filters"].as_array().unwrap().len(), 1);
    assert_eq!(m["views"].as_array().unwrap().len(), 1);
}

#[test]
fn refuses_non_empty_destination_unless_forced() {
    let env = Env::new();
    load_full(&env);
    env.write("out/keep.txt", "mine");
    let err = env.fails(["create", "out"]);
    assert!(
        err.contains("exists and is not empty; use --force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(env.path("out/keep.txt")).unwrap(),
        "mine"
    );
    env.ok(["create", "out", "--force"]);
    assert!(env.path("out/manifest.json").exists());
    assert!(!env.path("out/keep.txt").exists());
    // An empty directory is fine.
    std::fs::create_dir(env.path("empty")).unwrap();
    env.ok(["create", "empty"]);
    assert!(env.path("empty/manifest.json").exists());
    // Nothing is left beside the destination.
    let leftovers: Vec<_> = std::fs::read_dir(env.root())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("pkg-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn bad_create_arguments_fail_cleanly() {
    let env = Env::new();
    load_full(&env);
    let err = env.fails(["create", "x", "--space", "missing"]);
    assert!(err.contains("space missing does not exist"), "{err}");
    let err = env.fails(["create", "x", "--version", "one"]);
    assert!(err.contains("is not a semver version"), "{err}");
    let err = env.fails(["create", "x", "--where", "Nope = 'a'"]);
    assert!(err.contains("unknown attribute `Nope`"), "{err}");
    assert!(!env.path("x").exists());
}

fn assert_dirs_equal(a: &std::path::Path, b: &std::path::Path) {
    let files = |root: &std::path::Path| {
        let mut v: Vec<_> = walkdir::WalkDir::new(root)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().strip_prefix(root).unwrap().to_path_buf())
            .collect();
        v.sort();
        v
    };
    let (fa, fb) = (files(a), files(b));
    assert_eq!(fa, fb);
    for f in fa {
        assert_eq!(
            std::fs::read(a.join(&f)).unwrap(),
            std::fs::read(b.join(&f)).unwrap(),
            "{}",
            f.display()
        );
    }
}
