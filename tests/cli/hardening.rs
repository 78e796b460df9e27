//! Hostile hub content and every package cub writes: `create` stays inside
//! its directory whatever the hub holds, toolchain types are checked where
//! they enter, cub's dangling references load with warnings (or not at all
//! under `--strict`), binary unit data survives byte for byte, and Go's JSON
//! quirks load.

use std::path::Path;

use crate::common::{Env, read_json};

/// A hub with space `s1` and unit `s1/u1`.
fn hub_with_unit(env: &Env) {
    env.write("d.yaml", "a: 1\n");
    env.ok(["space", "create", "s1"]);
    env.ok(["unit", "create", "--space", "s1", "--file", "d.yaml", "u1"]);
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn hostile_toolchain_types_are_refused_where_they_enter() {
    let env = Env::new();
    hub_with_unit(&env);
    let before = env.hub_state();
    for bad in [
        "Kubernetes/../../../../tmp/x",
        "/etc/passwd",
        "Kubernetes/a\\b",
        "Kubernetes/YAML\nevil",
        "Kubernetes/..",
    ] {
        let err = env.fails([
            "unit",
            "create",
            "--space",
            "s1",
            "--file",
            "d.yaml",
            "--toolchain",
            bad,
            "u2",
        ]);
        assert!(
            err.contains("unit s1/u2: ToolchainType `"),
            "{bad:?}: {err}"
        );
        let err = env.fails(["unit", "update", "--space", "s1", "u1", "--toolchain", bad]);
        assert!(
            err.contains("unit s1/u1: ToolchainType `"),
            "{bad:?}: {err}"
        );
        assert!(
            !err.contains("evil\n"),
            "control characters are escaped: {err}"
        );
        assert_eq!(env.hub_state(), before, "{bad:?} changed the hub");
    }
    // cub's rule: the second `/` field, lowercased, never a directory.
    env.ok([
        "unit",
        "update",
        "--space",
        "s1",
        "u1",
        "--toolchain",
        "Foo/Bar/Baz",
    ]);
    env.ok(["create", "out"]);
    assert!(env.path("out/units/s1/u1.data.bar").is_file());
}

#[test]
fn hostile_toolchain_types_in_a_package_are_refused_by_validate_and_load() {
    let env = Env::new();
    let full = env.fixture("cub-full");
    for (bad, needle) in [
        ("Kubernetes/YAML\u{0}", "ToolchainType `Kubernetes/YAML\\0`"),
        ("C:\\x", "ToolchainType `C:\\x`"),
        (
            "Kubernetes/../../../../tmp/x",
            "ToolchainType `Kubernetes/../../../../tmp/x`",
        ),
    ] {
        let details = serde_json::json!({"Slug": "api", "ToolchainType": bad});
        std::fs::write(full.join("units/shop/api.json"), details.to_string()).unwrap();
        for command in ["validate", "load"] {
            let out = env.pkg([command, full.to_str().unwrap()]).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{command} {bad:?}");
            let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
            assert!(text.contains("/units/shop/api.json: "), "{text}");
            assert!(text.contains(needle), "{command} {bad:?}: {text}");
        }
        assert_eq!(env.hub_state(), "no hub");
    }
}

#[test]
fn create_stays_inside_its_directory_whatever_the_hub_holds() {
    let outside = tempfile::tempdir().unwrap();
    let escape = outside.path().join("x");
    for poison in [
        // Edited behind pkg's back: the checks at entry never saw these.
        format!(
            "UPDATE resources SET details = json_set(details, '$.ToolchainType', 'Kubernetes/../../../..{}') WHERE kind = 'unit'",
            escape.display()
        ),
        "UPDATE resources SET details = json_set(details, '$.ToolchainType', 'Kubernetes/a\\b') WHERE kind = 'unit'".to_string(),
        "UPDATE resources SET details = json_set(details, '$.ToolchainType', 'K/' || char(10) || 'x') WHERE kind = 'unit'".to_string(),
        "UPDATE resources SET slug = '../../../x' WHERE kind = 'unit'".to_string(),
        "UPDATE resources SET space = '/tmp' WHERE kind = 'unit'".to_string(),
    ] {
        let env = Env::new();
        hub_with_unit(&env);
        rusqlite::Connection::open(env.hub())
            .unwrap()
            .execute_batch(&poison)
            .unwrap();
        let before = env.hub_state();
        let err = env.fails(["create", "out"]);
        assert!(err.contains("unit "), "the error names the unit: {err}");
        assert!(
            err.contains("ToolchainType") || err.contains("cannot be written to a package"),
            "{poison}: {err}"
        );
        assert!(!env.path("out").exists(), "{poison}: nothing is created");
        assert!(
            files_under(outside.path()).is_empty(),
            "{poison}: wrote outside: {:?}",
            files_under(outside.path())
        );
        let leftovers: Vec<_> = std::fs::read_dir(env.root())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("pkg-tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert_eq!(env.hub_state(), before, "create records nothing on failure");
    }
}

#[test]
fn cub_dangling_references_load_with_warnings_or_not_at_all_when_strict() {
    let env = Env::new();
    let dedup = env.fixture("cub-dedup");
    let dir = dedup.to_str().unwrap();
    let dropped = [
        "unit x-team-b/web target -> target x-team-b/k8s",
        "view x-team-a/by-app filter_slug -> filter x-team-a/web-units",
        "invocation x-team-b/run worker_slug -> worker x-team-b/ghost",
    ];

    let validate = env.ok(["validate", dir]);
    assert!(
        validate
            .contains("note: unit team-b/web target -> target team-b/k8s is not in the package"),
        "{validate}"
    );

    // --strict: every warning is an error, and nothing is written.
    for command in ["load", "diff"] {
        let err = env.fails([command, dir, "--prefix", "x", "--strict"]);
        for needle in dropped {
            assert!(err.contains(needle), "{command}: {needle}\n{err}");
        }
        assert!(err.contains("(--strict)"), "{err}");
    }
    assert!(env.hub_state().is_empty(), "{}", env.hub_state());

    // The plan shows the warnings, and so does stderr.
    let out = env.pkg(["diff", dir, "--prefix", "x"]).output().unwrap();
    assert!(out.status.success());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    for needle in dropped {
        assert!(stdout.contains(&format!("warning: {needle}")), "{stdout}");
        assert!(stderr.contains(&format!("warning: {needle}")), "{stderr}");
    }
    let plan = env.ok(["diff", dir, "--prefix", "x", "-o", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan["warnings"].as_array().unwrap().len(), 3);
    assert_eq!(plan["dropped"][0]["field"], "target");

    // The load drops them as cub does, says so, and records it.
    let out = env.pkg(["load", dir, "--prefix", "x"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in dropped {
        assert!(stderr.contains(&format!("warning: {needle}")), "{stderr}");
    }
    let unit = env.ok(["unit", "get", "--space", "x-team-b", "web", "-o", "json"]);
    assert!(!unit.contains("\"Target\""), "{unit}");
    let unit = env.ok(["unit", "get", "--space", "x-team-a", "web", "-o", "json"]);
    assert!(unit.contains("\"Target\": \"x-team-a/k8s\""), "{unit}");
    let history = env.ok(["history", "-o", "json"]);
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let warnings = history[0]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 3, "{history}");
    assert!(warnings[0].as_str().unwrap().contains(dropped[0]));

    // A re-load finds everything in place and changes nothing.
    let again = env.ok(["load", dir, "--prefix", "x"]);
    assert!(again.contains("No changes"), "{again}");
}

#[test]
fn binary_unit_data_survives_byte_for_byte() {
    let env = Env::new();
    let dedup = env.fixture("cub-dedup");
    let original = std::fs::read(dedup.join("units/team-b/blob.data.properties")).unwrap();
    assert!(
        std::str::from_utf8(&original).is_err(),
        "the fixture is binary"
    );
    env.ok(["load", dedup.to_str().unwrap()]);
    let out = env
        .pkg(["unit", "get", "--space", "team-b", "blob", "--data"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, original, "unit get --data prints the bytes");
    let json = env.ok(["unit", "get", "--space", "team-b", "blob", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["DataEncoding"], "base64");

    env.ok(["create", "out"]);
    assert_eq!(
        std::fs::read(env.path("out/units/team-b/blob.data.properties")).unwrap(),
        original,
        "create writes the bytes back"
    );
    env.ok(["validate", "out"]);

    // A changed binary file: the plan says so instead of printing bytes.
    let mut changed = original.clone();
    changed.extend_from_slice(b"\xff\x00more\n");
    std::fs::write(dedup.join("units/team-b/blob.data.properties"), &changed).unwrap();
    let plan = env.ok(["diff", dedup.to_str().unwrap(), "--on-conflict", "update"]);
    assert!(
        plan.contains("binary data differs: hub: unit team-b/blob (30 bytes) and package: /units/team-b/blob.data.properties (37 bytes)"),
        "{plan}"
    );
    env.ok(["load", dedup.to_str().unwrap(), "--on-conflict", "update"]);
    let out = env
        .pkg(["unit", "get", "--space", "team-b", "blob", "--data"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, changed);

    // unit create takes binary data too, as cub reads files as bytes.
    env.write("bin.dat", b"\x89PNG\r\n\x1a\n\x00\xff");
    env.ok([
        "unit",
        "create",
        "--space",
        "team-b",
        "--file",
        "bin.dat",
        "--toolchain",
        "AppConfig/Binary",
        "png",
    ]);
    let out = env
        .pkg(["unit", "get", "--space", "team-b", "png", "--data"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"\x89PNG\r\n\x1a\n\x00\xff");
}

#[test]
fn go_json_quirks_load() {
    let env = Env::new();
    let dedup = env.fixture("cub-dedup");
    let manifest = std::fs::read(dedup.join("manifest.json")).unwrap();
    assert_ne!(
        manifest.last(),
        Some(&b'\n'),
        "Go writes no trailing newline"
    );
    let details = std::fs::read_to_string(dedup.join("units/team-a/web.json")).unwrap();
    for quirk in [
        "\\u003c",
        "\\u003e",
        "\\u0026",
        "\"00000000-0000-0000-0000-000000000000\"",
        "\"0001-01-01T00:00:00Z\"",
        "null",
    ] {
        assert!(details.contains(quirk), "fixture lacks {quirk}");
    }
    env.ok(["load", dedup.to_str().unwrap()]);
    let unit = env.ok(["unit", "get", "--space", "team-a", "web", "-o", "json"]);
    let unit: serde_json::Value = serde_json::from_str(&unit).unwrap();
    assert_eq!(unit["DisplayName"], "Web <A>");
    assert_eq!(unit["Labels"]["expr"], "a<b && c>d");
    // Go's zero UUIDs, zeroed times and pruned IDs are hub-owned: dropped.
    for key in ["TargetID", "SpaceID", "OrganizationID", "EntityType"] {
        assert!(unit.get(key).is_none(), "{key} kept: {unit}");
    }
    assert_ne!(
        unit["CreatedAt"], "0001-01-01T00:00:00Z",
        "the hub's own time"
    );
    assert!(
        unit.get("ApprovedBy").is_none(),
        "top-level nulls are dropped"
    );
    let space = env.ok(["space", "get", "team-a", "-o", "json"]);
    assert!(space.contains("team <team-a> & co"), "{space}");

    // pkg's own package of it is canonical and loads back.
    env.ok(["create", "out"]);
    let written = read_json(&env.path("out/units/team-a/web.json"));
    assert!(written.get("CreatedAt").is_none(), "{written}");
    assert!(written.get("UnitID").is_none(), "{written}");
    env.ok(["validate", "out"]);
}

/// A hub where app `drift-detector` links to `shared-infra/redis`.
fn hub_with_external_link(env: &Env) {
    env.write("d.yaml", "a: 1\n");
    for space in ["shared-infra", "drift-detector"] {
        env.ok(["space", "create", space]);
    }
    env.ok([
        "unit",
        "create",
        "--space",
        "shared-infra",
        "--file",
        "d.yaml",
        "redis",
    ]);
    env.ok([
        "unit",
        "create",
        "--space",
        "drift-detector",
        "--file",
        "d.yaml",
        "app",
    ]);
    env.ok([
        "link",
        "create",
        "--space",
        "drift-detector",
        "--from",
        "app",
        "--to",
        "shared-infra/redis",
        "app-to-redis",
    ]);
}

/// The staging copy of the app's link, as JSON.
fn staging_link(env: &Env) -> String {
    env.ok([
        "link",
        "get",
        "--space",
        "staging-drift-detector",
        "app-to-redis",
        "-o",
        "json",
    ])
}

#[test]
fn external_references_keep_their_space_under_a_prefix() {
    let env = Env::new();
    hub_with_external_link(&env);
    let out = env
        .pkg(["create", "pkg", "--space", "drift-detector"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "external reference link drift-detector/app-to-redis to_unit -> unit shared-infra/redis"
        ),
        "{stderr}"
    );
    let json = env.ok(["create", "pkg2", "--space", "drift-detector", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["external"][0]["to"], "unit shared-infra/redis");
    assert_eq!(json["external"][0]["field"], "to_unit");
    let inspect = env.ok(["inspect", "pkg", "-o", "json"]);
    assert!(inspect.contains("shared-infra/redis"), "{inspect}");
    let validate = env.ok(["validate", "pkg"]);
    assert!(
        validate.contains("note: external reference link drift-detector/app-to-redis to_unit -> unit shared-infra/redis"),
        "{validate}"
    );

    // Cloned into staging: the link still points at the shared redis.
    let plan = env.ok(["diff", "pkg", "--prefix", "staging"]);
    assert!(
        plan.contains("link staging-drift-detector/app-to-redis to_unit -> unit shared-infra/redis (in the hub)"),
        "{plan}"
    );
    env.ok(["load", "pkg", "--prefix", "staging"]);
    let link = staging_link(&env);
    assert!(
        link.contains("\"ToUnit\": \"shared-infra/redis\""),
        "{link}"
    );
    assert!(
        link.contains("\"FromUnit\": \"staging-drift-detector/app\""),
        "{link}"
    );

    // cub's blind prefixing on request: staging-shared-infra does not exist.
    let before = env.hub_state();
    let err = env.fails(["load", "pkg", "--prefix", "qa", "--external", "prefix"]);
    assert!(
        err.contains(
            "refers to unit qa-shared-infra/redis, which is neither in the package nor in the hub"
        ),
        "{err}"
    );
    assert_eq!(env.hub_state(), before);

    // Into a hub without shared-infra: refused, listing each missing one.
    let other = Env::new();
    let pkg = env.path("pkg");
    let err = other.fails(["load", pkg.to_str().unwrap(), "--prefix", "staging"]);
    assert!(err.contains("link staging-drift-detector/app-to-redis to_unit -> unit shared-infra/redis: external reference not found in the hub"), "{err}");
    assert!(err.contains("--closure"), "{err}");
    assert!(other.hub_state().is_empty());

    // --closure makes the package self-contained: it loads anywhere.
    let out = env
        .pkg(["create", "closed", "--space", "drift-detector", "--closure"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("external"));
    let closed = env.path("closed");
    assert!(closed.join("units/shared-infra/redis.json").is_file());
    assert!(closed.join("spaces/shared-infra.json").is_file());
    let validate = env.ok(["validate", "closed"]);
    assert!(!validate.contains("external"), "{validate}");
    other.ok(["load", closed.to_str().unwrap(), "--prefix", "staging"]);
    let link = staging_link(&other);
    assert!(
        link.contains("\"ToUnit\": \"staging-shared-infra/redis\""),
        "{link}"
    );
}

const DEPLOY_V1: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: app\n        image: web:1\n      - name: proxy\n        image: proxy:1\n";

/// Writes release `version` of package `rel` from the publisher's hub
/// `publisher`, after `edit` changed it.
fn release(publisher: &Env, version: &str, data: &str, labels: &[&str]) -> std::path::PathBuf {
    publisher.write("deploy.yaml", data);
    publisher.write("app.properties", "a=1\nb=2\nc=3\nd=4\n");
    if !publisher.hub().exists() {
        publisher.ok(["space", "create", "shop"]);
        publisher.ok([
            "unit",
            "create",
            "--space",
            "shop",
            "--file",
            "deploy.yaml",
            "web",
        ]);
        publisher.ok([
            "unit",
            "create",
            "--space",
            "shop",
            "--file",
            "app.properties",
            "--toolchain",
            "AppConfig/Properties",
            "props",
        ]);
    }
    let mut args = vec![
        "unit",
        "update",
        "--space",
        "shop",
        "web",
        "--file",
        "deploy.yaml",
    ];
    for label in labels {
        args.extend(["--label", label]);
    }
    publisher.ok(args);
    let dir = format!("rel-{version}");
    publisher.ok(["create", &dir, "--version", version]);
    publisher.path(&dir)
}

#[test]
fn merge_keeps_local_edits_and_takes_the_release() {
    let publisher = Env::new();
    let v1 = release(&publisher, "1.0.0", DEPLOY_V1, &["tier=web"]);
    let env = Env::new();
    env.ok(["load", v1.to_str().unwrap()]);

    // Local edits: a label, the replica count, a properties line.
    env.write(
        "local.yaml",
        DEPLOY_V1.replace("replicas: 2", "replicas: 5"),
    );
    env.ok([
        "unit",
        "update",
        "--space",
        "shop",
        "web",
        "--file",
        "local.yaml",
        "--label",
        "team=ops",
    ]);
    env.write("local.properties", "a=1\nb=local\nc=3\nd=4\n");
    env.ok([
        "unit",
        "update",
        "--space",
        "shop",
        "props",
        "--file",
        "local.properties",
    ]);

    // The next release: a new image, another label, a properties line.
    let v2 = release(
        &publisher,
        "1.1.0",
        &DEPLOY_V1.replace("image: web:1", "image: web:2"),
        &["tier=frontend"],
    );
    std::fs::write(
        v2.join("units/shop/props.data.properties"),
        "a=1\nb=2\nc=3\nd=up\n",
    )
    .unwrap();
    let manifest = std::fs::read_to_string(v2.join("manifest.json")).unwrap();
    let old_digest = manifest
        .split("\"/units/shop/props.data.properties\": \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let new_digest = format!("sha256:{}", sha256_hex(b"a=1\nb=2\nc=3\nd=up\n"));
    std::fs::write(
        v2.join("manifest.json"),
        manifest.replace(&old_digest, &new_digest),
    )
    .unwrap();

    // fail and update lose one side; the plan under merge shows the merged diff.
    let err = env.fails(["load", v2.to_str().unwrap()]);
    assert!(err.contains("already exist"), "{err}");
    let plan = env.ok(["diff", v2.to_str().unwrap(), "--on-conflict", "merge"]);
    assert!(
        plan.lines()
            .any(|l| l.split_whitespace().eq(["merge", "unit", "shop", "web"])),
        "{plan}"
    );
    assert!(plan.contains("+        image: web:2"), "{plan}");
    assert!(plan.contains("to merge"), "{plan}");
    let before = env.resources_state();
    let out = env.ok(["load", v2.to_str().unwrap(), "--on-conflict", "merge"]);
    assert!(out.contains("2 merged"), "{out}");
    let data = env.ok(["unit", "get", "--space", "shop", "web", "--data"]);
    assert!(
        data.contains("replicas: 5")
            && data.contains("image: web:2")
            && data.contains("image: proxy:1"),
        "{data}"
    );
    let unit = env.ok(["unit", "get", "--space", "shop", "web", "-o", "json"]);
    assert!(
        unit.contains("\"team\": \"ops\"") && unit.contains("\"tier\": \"frontend\""),
        "{unit}"
    );
    let props = env.ok(["unit", "get", "--space", "shop", "props", "--data"]);
    assert_eq!(props, "a=1\nb=local\nc=3\nd=up\n");
    let history = env.ok(["history", "-o", "json"]);
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history[0]["merged"], 2);
    assert_eq!(history[0]["on_conflict"], "merge");

    // Loading the same release again changes nothing: the hub has it all.
    let again = env.ok(["load", v2.to_str().unwrap(), "--on-conflict", "merge"]);
    assert!(again.contains("No changes"), "{again}");

    // A value changed on both sides refuses the whole load.
    let v3 = release(
        &publisher,
        "1.2.0",
        &DEPLOY_V1
            .replace("image: web:1", "image: web:2")
            .replace("replicas: 2", "replicas: 3"),
        &["tier=frontend"],
    );
    let state = env.hub_state();
    let err = env.fails(["load", v3.to_str().unwrap(), "--on-conflict", "merge"]);
    assert!(
        err.contains("unit shop/web data spec.replicas: base 2, hub 5, package 3"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(env.hub_state(), state);
    let plan = env.ok([
        "diff",
        v3.to_str().unwrap(),
        "--on-conflict",
        "merge",
        "-o",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan["merge_conflicts"][0]["path"], "data spec.replicas");
    assert_eq!(plan["merge_conflicts"][0]["hub"], "5");

    // Rollback undoes the merge, base included.
    let id = history[0]["id"].to_string();
    env.ok(["rollback", &id]);
    assert_eq!(
        env.resources_state(),
        before,
        "rows and bases as before the merge"
    );
    let data = env.ok(["unit", "get", "--space", "shop", "web", "--data"]);
    assert!(
        data.contains("replicas: 5") && data.contains("image: web:1"),
        "{data}"
    );
    let out = env.ok(["load", v2.to_str().unwrap(), "--on-conflict", "merge"]);
    assert!(
        out.contains("2 merged"),
        "the base came back with the rollback: {out}"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn link_dest_links_unchanged_files_and_stays_byte_identical() {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    let full = env.fixture("cub-full");
    env.ok(["load", full.to_str().unwrap()]);
    env.ok(["create", "day1", "--name", "backup"]);
    env.ok(["create", "plain", "--name", "backup"]);
    let out = env.ok(["create", "day2", "--name", "backup", "--link-dest", "day1"]);
    assert!(out.contains("hard-linked from day1"), "{out}");
    let files = files_under(&env.path("day1"));
    assert_eq!(files, files_under(&env.path("day2")));
    let ino = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().ino();
    for file in &files {
        assert!(
            std::fs::read(env.path("day2").join(file)).unwrap()
                == std::fs::read(env.path("plain").join(file)).unwrap(),
            "{file}: byte-identical to a plain create"
        );
        // Same hub, same options: every file is linked, the manifest too.
        assert_eq!(
            ino(env.path("day1").join(file)),
            ino(env.path("day2").join(file)),
            "{file}"
        );
    }
    // Another name: only the manifest differs, and only it is written.
    let json = env.ok(["create", "day2b", "--link-dest", "day1", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["linked"], files.len() - 1);
    assert_ne!(
        ino(env.path("day1/manifest.json")),
        ino(env.path("day2b/manifest.json"))
    );

    // A file of PREV changed behind pkg's back (same size) is compared, not trusted.
    let api = "units/shop/api.json";
    let mut tampered = std::fs::read(env.path("day1").join(api)).unwrap();
    tampered[5] ^= 1;
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::remove_file(env.path("day1").join(api)).unwrap();
    std::fs::write(env.path("day1").join(api), &tampered).unwrap();
    env.ok(["create", "day2c", "--name", "backup", "--link-dest", "day1"]);
    assert!(
        std::fs::read(env.path("day2c").join(api)).unwrap()
            == std::fs::read(env.path("plain").join(api)).unwrap(),
        "the tampered file is not linked"
    );
    assert_ne!(
        ino(env.path("day1").join(api)),
        ino(env.path("day2c").join(api))
    );
    env.ok(["validate", "day2c"]);

    // A changed unit is written, not linked; day1 is left as it was.
    env.write("new.yaml", "changed: true\n");
    env.ok([
        "unit", "update", "--space", "shop", "api", "--file", "new.yaml",
    ]);
    env.ok(["create", "day3", "--link-dest", "day2"]);
    let data = "units/shop/api.data.yaml";
    assert_ne!(
        ino(env.path("day2").join(data)),
        ino(env.path("day3").join(data))
    );
    assert_eq!(
        std::fs::read_to_string(env.path("day3").join(data)).unwrap(),
        "changed: true\n"
    );
    assert_ne!(
        std::fs::read_to_string(env.path("day2").join(data)).unwrap(),
        "changed: true\n"
    );
    env.ok(["validate", "day3"]);

    // --created-at hub: an unchanged hub gives the same package whenever it runs.
    let mut at = Vec::new();
    for (epoch, dir) in [("1700000000", "at1"), ("1800000000", "at2")] {
        env.set_var("SOURCE_DATE_EPOCH", epoch);
        env.ok(["create", dir, "--name", "backup", "--created-at", "hub"]);
        at.push(std::fs::read(env.path(dir).join("manifest.json")).unwrap());
    }
    assert!(at[0] == at[1], "created_at follows the hub, not the clock");
    env.set_var("SOURCE_DATE_EPOCH", "1700000000");

    // A bad --link-dest is refused before anything is written.
    let err = env.fails(["create", "day4", "--link-dest", "nowhere"]);
    assert!(err.contains("--link-dest"), "{err}");
    let err = env.fails(["create", "day4", "--link-dest", "day1/manifest.json"]);
    assert!(err.contains("is not a directory"), "{err}");
    assert!(!env.path("day4").exists());
}

#[test]
fn a_release_that_matches_a_local_edit_becomes_the_base() {
    let publisher = Env::new();
    let v1 = release(&publisher, "1.0.0", DEPLOY_V1, &["tier=web"]);
    let env = Env::new();
    env.ok(["load", v1.to_str().unwrap()]);
    // The hub makes the change the next release makes.
    env.ok([
        "unit",
        "update",
        "--space",
        "shop",
        "web",
        "--label",
        "tier=frontend",
    ]);
    let v2 = release(&publisher, "2.0.0", DEPLOY_V1, &["tier=frontend"]);
    let out = env.ok(["load", v2.to_str().unwrap(), "--on-conflict", "merge"]);
    assert!(out.contains("No changes"), "{out}");
    // So the release after that is a plain upgrade, not a conflict.
    let v3 = release(&publisher, "3.0.0", DEPLOY_V1, &["tier=api"]);
    let out = env.ok(["load", v3.to_str().unwrap(), "--on-conflict", "merge"]);
    assert!(out.contains("1 updated"), "{out}");
    let unit = env.ok(["unit", "get", "--space", "shop", "web", "-o", "json"]);
    assert!(unit.contains("\"tier\": \"api\""), "{unit}");
}
