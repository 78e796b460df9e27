//! `pkg load`, `pkg diff`, `pkg validate`, `pkg inspect` on real package layouts.

use crate::common::{Env, read_json};

#[test]
fn loads_cub_packages_with_a_prefix() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    insta::assert_snapshot!(env.run_snapshot([
        "load",
        full.to_str().unwrap(),
        "--prefix",
        "staging"
    ]));
    insta::assert_snapshot!(env.run_snapshot(["unit", "list"]));
    let targets = env.ok(["target", "list", "-o", "json"]);
    assert!(
        targets.contains("\"Worker\": \"staging-platform/cluster-worker\""),
        "{targets}"
    );
    let links: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(["link", "list", "-o", "json"])).unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0]["FromUnit"], "staging-shop/api");
    assert_eq!(links[0]["ToUnit"], "staging-shop/db");
    let views = env.ok(["view", "list", "-o", "json"]);
    assert!(
        views.contains("\"Filter\": \"staging-shop/deployments\""),
        "{views}"
    );
    // A space's own Slug field carries the prefix too (also in JSON output
    // and in packages created from this hub).
    let spaces = env.ok(["space", "list", "-o", "json"]);
    assert!(spaces.contains("\"Slug\": \"staging-shop\""), "{spaces}");
    assert!(!spaces.contains("\"Slug\": \"shop\""), "{spaces}");
    let filters = env.ok(["filter", "list", "-o", "json"]);
    assert!(
        filters.contains("\"FromSpace\": \"staging-shop\""),
        "{filters}"
    );
    // The properties unit kept its bytes exactly.
    let data = env.ok(["unit", "get", "staging-shop/settings", "--data"]);
    let original =
        std::fs::read_to_string(full.join("units/shop/settings.data.properties")).unwrap();
    assert_eq!(data, original);

    for fixture in ["cub-basic", "cub-properties-only"] {
        let dir = env.fixture(fixture);
        env.ok(["load", dir.to_str().unwrap()]);
    }
    assert_eq!(env.count("unit"), 4 + 3 + 1);
}

#[test]
fn second_load_with_update_changes_nothing_and_says_so() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    let src = full.to_str().unwrap();
    env.ok(["load", src, "--prefix", "p"]);
    let state = env.ok(["unit", "list", "-o", "json"]);
    let out = env.ok(["load", src, "--prefix", "p", "--on-conflict", "update"]);
    assert!(
        out.starts_with("No changes: all 13 resources are already in the hub"),
        "{out}"
    );
    assert_eq!(env.ok(["unit", "list", "-o", "json"]), state);
    // Without update, an unchanged package loads fine too.
    let out = env.ok(["load", src, "--prefix", "p"]);
    assert!(out.starts_with("No changes"), "{out}");
}

#[test]
fn conflicts_fail_skip_or_update() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    let src = full.to_str().unwrap();
    env.ok(["load", src]);
    std::fs::write(
        full.join("units/shop/api.data.yaml"),
        "apiVersion: v1\nkind: ConfigMap\n",
    )
    .unwrap();
    let before = env.hub_state();
    let err = env.fails(["load", src]);
    assert!(
        err.contains("1 resource already exists in the hub with different content"),
        "{err}"
    );
    assert!(err.contains("unit shop/api"), "{err}");
    assert_eq!(env.hub_state(), before, "a failed load must not write");

    let out = env.ok(["load", src, "--on-conflict", "skip"]);
    assert!(out.contains("12 resources unchanged, 1 skipped"), "{out}");
    assert_ne!(
        env.ok(["unit", "get", "shop/api", "--data"]),
        "apiVersion: v1\nkind: ConfigMap\n"
    );

    let out = env.ok(["load", src, "--on-conflict", "update"]);
    assert!(out.contains("1 updated"), "{out}");
    assert_eq!(
        env.ok(["unit", "get", "shop/api", "--data"]),
        "apiVersion: v1\nkind: ConfigMap\n"
    );
}

#[test]
fn diff_and_dry_run_print_the_plan_and_write_nothing() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    let src = full.to_str().unwrap();
    insta::assert_snapshot!(
        "diff_empty_hub",
        env.run_snapshot(["diff", src, "--prefix", "dev"])
    );
    env.ok(["load", src, "--prefix", "dev"]);
    let data = full.join("units/shop/db.data.yaml");
    let text = std::fs::read_to_string(&data)
        .unwrap()
        .replace("replicas: 1", "replicas: 3");
    std::fs::write(&data, text).unwrap();
    let details = full.join("units/shop/db.json");
    let mut json = read_json(&details);
    json["Labels"]["tier"] = "storage".into();
    crate::common::write_json(&details, &json);

    let before = env.hub_state();
    insta::assert_snapshot!(
        "diff_changed",
        env.run_snapshot(["diff", src, "--prefix", "dev", "--on-conflict", "update"])
    );
    insta::assert_snapshot!(
        "dry_run_conflict",
        env.run_snapshot(["load", src, "--prefix", "dev", "--dry-run"])
    );
    let out = env.ok([
        "load",
        src,
        "--prefix",
        "dev",
        "--dry-run",
        "--on-conflict",
        "update",
        "-o",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["counts"]["update"], 1);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(env.hub_state(), before, "diff and dry-run must not write");
    // --exit-code reports pending changes.
    env.pkg([
        "diff",
        src,
        "--prefix",
        "dev",
        "--on-conflict",
        "update",
        "--exit-code",
    ])
    .assert()
    .code(1);
    env.pkg(["diff", src, "--prefix", "other", "--exit-code"])
        .assert()
        .code(1);
    env.ok(["load", src, "--prefix", "dev", "--on-conflict", "update"]);
    env.pkg(["diff", src, "--prefix", "dev", "--exit-code"])
        .assert()
        .code(0);
}

#[test]
fn validate_reports_all_problems_and_unlisted_files() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    insta::assert_snapshot!(
        "validate_ok",
        env.run_snapshot(["validate", full.to_str().unwrap()])
    );
    let manifest = full.join("manifest.json");
    let mut json = read_json(&manifest);
    json["units"][0]["slug"] = "Bad Slug".into();
    json["units"][1]["details_loc"] = "/units/../../etc/passwd".into();
    json["targets"][0]["worker"] = "platform".into();
    crate::common::write_json(&manifest, &json);
    std::fs::remove_file(full.join("units/shop/settings.data.properties")).unwrap();
    std::fs::write(full.join("units/shop/infra.json"), "{not json").unwrap();
    insta::assert_snapshot!(
        "validate_problems",
        env.run_snapshot(["validate", full.to_str().unwrap()])
    );
    let out = env
        .pkg(["validate", full.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert!(
        report["problems"].as_array().unwrap().len() >= 5,
        "{report}"
    );
    assert!(
        !env.hub().exists(),
        "validate must not create or touch a hub"
    );
}

#[test]
fn inspect_lists_kinds_units_and_label_columns() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    insta::assert_snapshot!(
        "inspect_labels",
        env.run_snapshot([
            "inspect",
            full.to_str().unwrap(),
            "--label-columns",
            "app,tier"
        ])
    );
    let out = env.ok(["inspect", full.to_str().unwrap(), "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["counts"]["units"], 4);
    assert_eq!(json["units"][0]["labels"]["app"], "shop");
    assert!(!env.hub().exists());
}

#[test]
fn digested_extra_files_are_verified_and_not_unlisted() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    env.ok(["load", full.to_str().unwrap()]);
    env.ok(["create", "made"]);
    let made = env.path("made");
    let extra = "[workspace]\nname = \"app\"\n";
    env.write("made/environments/app/pixi.toml", extra);
    let manifest = made.join("manifest.json");
    let mut json = read_json(&manifest);
    json["digests"]["/environments/app/pixi.toml"] =
        pkg::model::fingerprint::sha256_digest(extra.as_bytes()).into();
    crate::common::write_json(&manifest, &json);
    let out = env.ok(["validate", made.to_str().unwrap()]);
    assert!(
        !out.contains("pixi.toml"),
        "a digested file is not unlisted: {out}"
    );
    env.write("made/environments/app/pixi.toml", "tampered");
    let out = env
        .pkg(["validate", made.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("/environments/app/pixi.toml: digest mismatch"),
        "{stdout}"
    );
}

#[test]
fn no_progress_bars_or_colours_in_pipes() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    let out = env
        .pkg(["load", full.to_str().unwrap()])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .pkg(["diff", full.to_str().unwrap(), "--prefix", "x"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        !out.stdout.contains(&0x1b),
        "no escape codes off a terminal"
    );
}
