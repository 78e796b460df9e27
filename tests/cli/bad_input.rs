//! Bad packages and arguments: each gets a clear error, a non-zero exit, and
//! leaves the hub exactly as it was.

use std::path::{Path, PathBuf};

use crate::common::{Env, read_json, write_json};

/// A hub with something in it, and a fresh copy of cub-full to break.
fn setup() -> (Env, PathBuf, String) {
    let env = Env::new();
    let basic = env.fixture("cub-basic");
    env.ok(["load", basic.to_str().unwrap()]);
    let full = env.fixture("cub-full");
    let before = env.hub_state();
    (env, full, before)
}

fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut json = read_json(&path);
    f(&mut json);
    write_json(&path, &json);
}

/// Loading `dir` fails with a message containing every needle, and the hub is unchanged.
fn load_fails(env: &Env, dir: &Path, before: &str, needles: &[&str]) -> String {
    let err = env.fails(["load", dir.to_str().unwrap(), "--prefix", "x"]);
    for needle in needles {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(env.hub_state(), before, "the hub changed");
    let err2 = env.fails(["diff", dir.to_str().unwrap(), "--prefix", "x"]);
    assert_eq!(
        err.lines().next(),
        err2.lines().next(),
        "diff reports the same problem"
    );
    err
}

#[test]
fn malformed_manifest() {
    let (env, full, before) = setup();
    std::fs::write(full.join("manifest.json"), "{\"spaces\": [").unwrap();
    let err = load_fails(&env, &full, &before, &["manifest.json: is truncated"]);
    insta::assert_snapshot!(env.filter(&err));
    std::fs::write(full.join("manifest.json"), "[1, 2]").unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["manifest.json: must be a JSON object"],
    );
    std::fs::write(full.join("manifest.json"), "{\"spaces\": {\"slug\": 1}}").unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["manifest.json: spaces: must be an array"],
    );
    std::fs::write(full.join("manifest.json"), b"\xff\xfe{}").unwrap();
    load_fails(&env, &full, &before, &["manifest.json: is not valid JSON"]);
}

#[test]
fn missing_manifest() {
    let (env, full, before) = setup();
    std::fs::remove_file(full.join("manifest.json")).unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["manifest.json: is missing: this directory is not a package"],
    );
    let err = env.fails(["load", env.path("no-such-dir").to_str().unwrap()]);
    assert!(err.contains("is not a package directory"), "{err}");
    assert_eq!(env.hub_state(), before);
}

#[test]
fn locations_that_leave_the_package() {
    let (env, full, before) = setup();
    for (loc, needle) in [
        (
            "/units/../../../etc/passwd",
            "has a `.` or `..` component and could leave the package",
        ),
        ("units/shop/api.json", "must start with `/`"),
        ("//etc/passwd", "has an empty component"),
        ("/C:/Windows/win.ini", "contains `:`"),
        ("/units\\shop\\api.json", "contains a backslash"),
    ] {
        edit_manifest(&full, |m| m["units"][0]["details_loc"] = loc.into());
        load_fails(&env, &full, &before, &["units[0].details_loc", needle]);
    }
}

#[test]
fn symlink_out_of_the_package() {
    let (env, full, before) = setup();
    let secret = env.write("secret.txt", "password=hunter2\n");
    let data = full.join("units/shop/settings.data.properties");
    std::fs::remove_file(&data).unwrap();
    std::os::unix::fs::symlink(&secret, &data).unwrap();
    let err = load_fails(
        &env,
        &full,
        &before,
        &["/units/shop/settings.data.properties: points through a symlink out of the package"],
    );
    assert!(!err.contains("hunter2"));
    // A symlinked directory on the way counts too.
    let (env, full, before) = setup();
    let outside = env.path("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::rename(full.join("units/shop"), outside.join("shop")).unwrap();
    std::os::unix::fs::symlink(outside.join("shop"), full.join("units/shop")).unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["points through a symlink out of the package"],
    );
}

#[test]
fn missing_file() {
    let (env, full, before) = setup();
    std::fs::remove_file(full.join("units/shop/db.data.yaml")).unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["/units/shop/db.data.yaml: file does not exist"],
    );
}

#[test]
fn digest_mismatch() {
    let (env, _, before) = setup();
    env.ok(["create", "made"]);
    let made = env.path("made");
    let before_after_create = env.hub_state();
    assert_ne!(
        before, before_after_create,
        "create is recorded in the history"
    );
    let data = made.join("units/app-dev/backend.data.yaml");
    let mut text = std::fs::read_to_string(&data).unwrap();
    text.push_str("# tampered\n");
    std::fs::write(&data, text).unwrap();
    let err = load_fails(
        &env,
        &made,
        &before_after_create,
        &["/units/app-dev/backend.data.yaml: digest mismatch: manifest says sha256:"],
    );
    insta::assert_snapshot!(env.filter(&err));
    // A digested package must digest every file it names.
    let made2 = env.path("made2");
    crate::common::copy_dir(&made, &made2);
    std::fs::write(
        made2.join("units/app-dev/backend.data.yaml"),
        std::fs::read(made.join("units/app-dev/frontend.data.yaml")).unwrap(),
    )
    .unwrap();
    edit_manifest(&made2, |m| {
        m["digests"]
            .as_object_mut()
            .unwrap()
            .remove("/units/app-dev/frontend.json");
    });
    load_fails(
        &env,
        &made2,
        &before_after_create,
        &["/units/app-dev/frontend.json: has no digest"],
    );
}

#[test]
fn dangling_references() {
    let (env, full, before) = setup();
    edit_manifest(&full, |m| {
        m["targets"][0]["worker"] = "platform/ghost".into()
    });
    load_fails(
        &env,
        &full,
        &before,
        &[
            "target x-platform/prod-cluster refers to worker x-platform/ghost, which is neither in the package nor in the hub",
        ],
    );
    let full = env.fixture("cub-full");
    let full2 = env.path("full2");
    std::fs::rename(&full, &full2).unwrap();
    edit_manifest(&full2, |m| m["links"][0]["to_unit"] = "shop/ghost".into());
    load_fails(
        &env,
        &full2,
        &before,
        &["link x-shop/api-to-db refers to unit x-shop/ghost"],
    );
    // A reference into a space the package does not contain is external:
    // it keeps its space under --prefix, and the hub (cub-basic) has it.
    edit_manifest(&full2, |m| {
        m["links"][0]["to_unit"] = "app-dev/backend".into()
    });
    let plan = env.ok(["diff", full2.to_str().unwrap(), "--prefix", "x"]);
    assert!(
        plan.contains("link x-shop/api-to-db to_unit -> unit app-dev/backend (in the hub)"),
        "{plan}"
    );
    // cub's blind prefixing is there on request, and refused here.
    let err = env.fails([
        "load",
        full2.to_str().unwrap(),
        "--prefix",
        "x",
        "--external",
        "prefix",
    ]);
    assert!(
        err.contains("link x-shop/api-to-db refers to unit x-app-dev/backend"),
        "{err}"
    );
    assert_eq!(env.hub_state(), before);
    env.ok(["load", full2.to_str().unwrap(), "--prefix", "x"]);
    let link = env.ok([
        "link",
        "get",
        "--space",
        "x-shop",
        "api-to-db",
        "-o",
        "json",
    ]);
    assert!(link.contains("\"ToUnit\": \"app-dev/backend\""), "{link}");
}

#[test]
fn duplicate_slugs() {
    let (env, full, before) = setup();
    edit_manifest(&full, |m| {
        let first = m["units"][0].clone();
        m["units"].as_array_mut().unwrap().push(first);
    });
    load_fails(
        &env,
        &full,
        &before,
        &["units[4].slug: duplicate unit: `shop/api` appears more than once"],
    );
}

#[test]
fn invalid_slugs() {
    let (env, full, before) = setup();
    edit_manifest(&full, |m| m["units"][0]["slug"] = "api/../x".into());
    load_fails(
        &env,
        &full,
        &before,
        &["units[0].slug: `api/../x` is not a valid slug"],
    );
    let long = "a".repeat(129);
    edit_manifest(&full, |m| m["units"][0]["slug"] = long.clone().into());
    load_fails(
        &env,
        &full,
        &before,
        &[
            "units[0].slug: slug `aaaa",
            "is 129 characters long; the limit is 128",
        ],
    );
    edit_manifest(&full, |m| m["units"][0]["slug"] = "-lead".into());
    load_fails(&env, &full, &before, &["is not a valid slug"]);
    // A prefix that makes space slugs too long or invalid is refused.
    let full = env.fixture("cub-full");
    let full3 = env.path("full3");
    std::fs::rename(&full, &full3).unwrap();
    let err = env.fails(["load", full3.to_str().unwrap(), "--prefix", "bad prefix"]);
    assert!(err.contains("invalid --prefix"), "{err}");
    let err = env.fails([
        "load",
        full3.to_str().unwrap(),
        "--prefix",
        &"p".repeat(125),
    ]);
    assert!(err.contains("with the prefix"), "{err}");
    assert_eq!(env.hub_state(), before);
}

#[test]
fn invalid_details() {
    let (env, full, before) = setup();
    std::fs::write(full.join("units/shop/api.json"), b"{\"Slug\": \"api\xff\"}").unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["/units/shop/api.json: is not valid UTF-8"],
    );
    std::fs::write(full.join("units/shop/api.json"), "Slug: api\n").unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["/units/shop/api.json: is not valid JSON"],
    );
    std::fs::write(full.join("units/shop/api.json"), "[\"api\"]").unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["/units/shop/api.json: must hold a JSON object"],
    );
    // What load's parser refuses, validate and diff refuse in the same words.
    for (text, needle) in [
        (
            "{\"Slug\": \"api\", \"Replicas\": 1e400}",
            "number out of range",
        ),
        (
            &format!(
                "{{\"Slug\": \"api\", \"Deep\": {}{}}}",
                "[".repeat(200),
                "]".repeat(200)
            ),
            "recursion limit exceeded",
        ),
        (
            "{\"Slug\": \"api\", \"ToolchainType\": \"Kubernetes/../../../tmp/x\"}",
            "ToolchainType `Kubernetes/../../../tmp/x` has a field that does not start with a letter or digit",
        ),
        (
            "{\"Slug\": \"api\", \"ToolchainType\": 7}",
            "ToolchainType `7` is not a string",
        ),
    ] {
        std::fs::write(full.join("units/shop/api.json"), text).unwrap();
        let err = load_fails(&env, &full, &before, &["/units/shop/api.json: ", needle]);
        assert!(!err.contains("changed while"), "{err}");
        let report = env
            .pkg(["validate", full.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(report.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&report.stdout);
        assert!(
            stdout.contains(needle),
            "validate must say {needle:?}:\n{stdout}"
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let (env, full, before) = setup();
    edit_manifest(&full, |m| {
        m["units"][0]["slug"] = "bad slug".into();
        m["spaces"][0]["details_loc"] = "/../x".into();
    });
    std::fs::remove_file(full.join("units/shop/db.data.yaml")).unwrap();
    let err = load_fails(
        &env,
        &full,
        &before,
        &[
            "(3 problems)",
            "bad slug",
            "/../x",
            "db.data.yaml: file does not exist",
        ],
    );
    insta::assert_snapshot!(env.filter(&err));
}

#[test]
fn where_with_unknown_attribute() {
    let (env, _, before) = setup();
    let err = env.fails([
        "unit",
        "list",
        "--where",
        "Labels.app = 'x' AND Owner = 'me'",
    ]);
    assert!(err.contains("unknown attribute `Owner` for unit"), "{err}");
    assert!(err.contains("column 22"), "{err}");
    let err = env.fails(["create", "out", "--where", "Owner = 'me'"]);
    assert!(err.contains("unknown attribute `Owner`"), "{err}");
    assert!(!env.path("out").exists());
    assert_eq!(env.hub_state(), before);
}

#[test]
fn fifo_and_directory_in_place_of_a_file() {
    let (env, full, before) = setup();
    let data = full.join("units/shop/db.data.yaml");
    std::fs::remove_file(&data).unwrap();
    std::fs::create_dir(&data).unwrap();
    load_fails(
        &env,
        &full,
        &before,
        &["/units/shop/db.data.yaml: is not a regular file"],
    );
    std::fs::remove_dir(&data).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    load_fails(
        &env,
        &full,
        &before,
        &["/units/shop/db.data.yaml: is not a regular file"],
    );
}

#[test]
fn unreachable_or_missing_sources_fail_cleanly() {
    let env = Env::new();
    for (src, needle) in [
        ("missing.tar.gz", "cannot read `missing.tar.gz`"),
        ("missing-dir", "is not a package directory"),
        (
            "http://127.0.0.1:1/pkg",
            "GET http://127.0.0.1:1/pkg/manifest.json",
        ),
        (
            "http://127.0.0.1:1/pkg.zip",
            "GET http://127.0.0.1:1/pkg.zip",
        ),
        (
            "git+http://127.0.0.1:1/r.git",
            "git remote `http://127.0.0.1:1/r.git`",
        ),
    ] {
        let err = env.fails(["load", src]);
        assert!(err.contains(needle), "{src}: {err}");
    }
    assert!(!env.hub().exists() || env.count("unit") == 0);
    assert!(env.tmp_entries().is_empty(), "{:?}", env.tmp_entries());
}
