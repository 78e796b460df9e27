//! Package sources: `pkg source`, the merged index (`pkg index`, `pkg
//! versions NAME`, `pkg search`) over a directory of packages and a real
//! `pkg serve` registry holding overlapping names and versions, every
//! conflict strategy, `--level`, `--source`, a source that stops answering,
//! and the refusals of bad input.

use serde_json::Value;

use crate::common::Env;
use crate::pkg_server::{make_package, sqlite_store, team_remote};

/// The chosen source and version of `pkg versions app EXTRA...`.
fn chosen(env: &Env, extra: &[&str]) -> (String, String, String) {
    let mut args = vec!["versions", "app", "-o", "json"];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&env.ok(args)).expect("versions JSON");
    let c = &v["chosen"];
    (
        c["entry"]["source"].as_str().unwrap_or("").to_string(),
        c["entry"]["version"].as_str().unwrap_or("").to_string(),
        c["reason"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn sources_merge_a_directory_and_a_registry() {
    let env = Env::new();
    let store = sqlite_store(&env);
    let (mut server, _) = team_remote(&env, &store, 6, "ci", &[]);
    // The registry: app 1.10.0 and lib 1.0.0 (min_level 5).
    for (dir, name, version, level) in [
        ("pub/app", "app", "1.10.0", None),
        ("pub/lib", "lib", "1.0.0", Some(5)),
    ] {
        let path = make_package(&env, dir, name, version, level);
        env.ok(["publish", path.to_str().unwrap(), "--registry", "team"]);
    }
    // The directory: app 1.9.0 as a directory, app 1.0.0 as an archive, a
    // directory that is no package, and a package without a version.
    make_package(&env, "vetted/app-1.9.0", "app", "1.9.0", None);
    let old = make_package(&env, "build/app-1.0.0", "app", "1.0.0", None);
    env.ok([
        "pack",
        old.to_str().unwrap(),
        "-o",
        env.path("vetted/app-1.0.0.tar.gz").to_str().unwrap(),
    ]);
    std::fs::create_dir_all(env.path("vetted/notes")).unwrap();
    let unversioned = make_package(&env, "vetted/unversioned", "tool", "1.0.0", None);
    crate::pkg_server::edit_manifest(&unversioned, |m| {
        m.as_object_mut().unwrap().remove("version");
    });

    let vetted = env.path("vetted");
    env.ok([
        "source",
        "add",
        "vetted",
        vetted.to_str().unwrap(),
        "--priority",
        "10",
    ]);
    env.ok([
        "source",
        "add",
        "team",
        &server.url(),
        "--token-env",
        "TEAM_TOKEN",
        "--priority",
        "20",
    ]);
    let list: Value = serde_json::from_str(&env.ok(["source", "list", "-o", "json"])).unwrap();
    assert_eq!(list[0]["name"], "vetted");
    assert_eq!(list[0]["kind"], "directory");
    assert_eq!(list[0]["packages"], 2, "{list}");
    assert_eq!(list[1]["kind"], "registry");
    assert_eq!(list[1]["healthy"], true, "{list}");
    assert_eq!(list[1]["packages"], 2, "{list}");

    // Versions per source, and each strategy's pick.
    let out = env.pkg(["versions", "app"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("vetted: 1.0.0 1.9.0\n"), "{text}");
    assert!(text.contains("team: 1.10.0\n"), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unversioned") && stderr.contains("no `name` and `version`"),
        "the unversioned package is left out with a warning: {stderr}"
    );
    let (source, version, reason) = chosen(&env, &[]);
    assert_eq!((source.as_str(), version.as_str()), ("vetted", "1.9.0"));
    assert!(reason.contains("priority 10"), "{reason}");
    let (source, version, _) = chosen(&env, &["--conflict", "latest-version"]);
    assert_eq!(
        (source.as_str(), version.as_str()),
        ("team", "1.10.0"),
        "1.10.0 > 1.9.0"
    );
    assert_eq!(chosen(&env, &["--conflict", "remote-first"]).0, "team");
    assert_eq!(chosen(&env, &["--conflict", "local-first"]).0, "vetted");
    assert_eq!(chosen(&env, &["--source", "team"]).0, "team");
    // The config's strategy applies when no flag is given.
    let config = env.path("config/pkg/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("[index]\nconflict = \"latest-version\"\n\n{text}"),
    )
    .unwrap();
    assert_eq!(chosen(&env, &[]).0, "team");
    assert_eq!(chosen(&env, &["--conflict", "priority"]).0, "vetted");

    // The merged index, --level, search.
    let index: Value = serde_json::from_str(&env.ok(["index", "-o", "json"])).unwrap();
    let names: Vec<String> = index
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}@{}:{}",
                e["name"].as_str().unwrap(),
                e["version"].as_str().unwrap(),
                e["source"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "app@1.10.0:team",
            "app@1.9.0:vetted",
            "app@1.0.0:vetted",
            "lib@1.0.0:team"
        ]
    );
    assert!(index[0]["digest"].as_str().unwrap().starts_with("sha256:"));
    let hidden: Value =
        serde_json::from_str(&env.ok(["index", "--level", "3", "-o", "json"])).unwrap();
    assert!(
        hidden
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["name"] != "lib"),
        "min_level 5 is hidden at level 3: {hidden}"
    );
    let found = env.ok(["search", "lib"]);
    assert!(found.contains("lib") && !found.contains("app"), "{found}");

    // `pkg load NAME@REQ` resolves through the sources: the directory's
    // 1.9.0 under priority, the registry's 1.10.0 under latest-version.
    let out = env
        .pkg([
            "load",
            "app@^1",
            "--prefix",
            "staging",
            "--conflict",
            "priority",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Resolved app@^1 to app 1.9.0 from source `vetted`"),
        "{said}"
    );
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    let source_of = |h: &Value| h[0]["source"].as_str().unwrap_or("").to_string();
    assert!(
        source_of(&history).starts_with("source:vetted/app@1.9.0"),
        "{history}"
    );
    let out = env
        .pkg([
            "load",
            "app@^1",
            "--prefix",
            "edge",
            "--conflict",
            "latest-version",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    assert!(
        source_of(&history).starts_with("source:team/app@1.10.0 (registry:team/app@1.10.0)"),
        "{history}"
    );
    let err = env.fails(["load", "app@^7"]);
    assert!(
        err.contains("vetted: has 1.0.0, 1.9.0 but none matches ^7"),
        "{err}"
    );

    // A disabled source is not asked.
    env.ok(["source", "disable", "team"]);
    assert_eq!(chosen(&env, &["--conflict", "latest-version"]).0, "vetted");
    env.ok(["source", "enable", "team"]);

    // The registry stops. Its cached index (fresh for 5 minutes) answers
    // without it; --refresh asks, fails, and serves the cache as stale with
    // a warning; --offline uses the cache.
    server.stop();
    assert_eq!(chosen(&env, &["--conflict", "latest-version"]).0, "team");
    let out = env
        .pkg([
            "versions",
            "app",
            "--conflict",
            "latest-version",
            "--refresh",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("team: 1.10.0"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("source `team` did not answer")
            && stderr.contains("using its cached index"),
        "{stderr}"
    );
    let list: Value =
        serde_json::from_str(&env.ok(["source", "list", "--refresh", "-o", "json"])).unwrap();
    assert_eq!(list[1]["freshness"], "stale", "{list}");
    assert!(list[1]["index_age_seconds"].is_u64(), "{list}");
    assert_eq!(
        chosen(&env, &["--offline", "--conflict", "latest-version"]).0,
        "team"
    );
    // With no cache at all, the failing source is a warning and the
    // directory still answers.
    std::fs::remove_dir_all(env.path("cache")).unwrap();
    let out = env
        .pkg(["versions", "app", "--conflict", "latest-version"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("vetted: 1.0.0 1.9.0"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("team:"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("source `team` did not answer"), "{stderr}");
    // No source has it: the message says what each source said.
    let err = env.fails(["versions", "nosuch"]);
    assert!(err.contains("vetted: has no package `nosuch`"), "{err}");
    assert!(err.contains("team: failed:"), "{err}");
    let err = env.fails(["--offline", "versions", "nosuch"]);
    assert!(err.contains("no cached index"), "{err}");

    env.ok(["source", "remove", "team"]);
    let list: Value = serde_json::from_str(&env.ok(["source", "list", "-o", "json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn source_commands_refuse_bad_input_and_change_nothing() {
    let env = Env::new();
    let dir = env.path("pkgs");
    std::fs::create_dir_all(&dir).unwrap();
    env.ok(["source", "add", "local", dir.to_str().unwrap()]);
    let config = env.path("config/pkg/config.toml");
    let before = std::fs::read_to_string(&config).unwrap();
    for (args, says) in [
        (
            vec!["source", "add", "x", "/no/such/dir"],
            "neither a directory",
        ),
        (
            vec!["source", "add", "local", dir.to_str().unwrap()],
            "exists already",
        ),
        (
            vec!["source", "add", "Bad Name", dir.to_str().unwrap()],
            "invalid source name",
        ),
        (vec!["source", "add", "r", "http://[::1"], "not a valid URL"),
        (
            vec![
                "source",
                "add",
                "r",
                "http://127.0.0.1:1",
                "--token-env",
                "A-B",
            ],
            "environment variable name",
        ),
        (
            vec!["source", "remove", "nosuch"],
            "no source is named `nosuch`",
        ),
        (
            vec!["source", "enable", "nosuch"],
            "no source is named `nosuch`",
        ),
        (
            vec!["versions", "app", "--conflict", "bogus"],
            "not a strategy",
        ),
        (vec!["index", "--level", "9"], "9"),
        (
            vec!["index", "--source", "nosuch"],
            "no source is named `nosuch`",
        ),
    ] {
        // Usage errors exit 2, the others 1: both refuse.
        let out = env.pkg(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(
            std::fs::read_to_string(&config).unwrap(),
            before,
            "{args:?}"
        );
    }
    // A config file pkg cannot read is an error that names it.
    std::fs::write(&config, "[[sources]]\nname = \"x\"\n").unwrap();
    let err = env.fails(["source", "list"]);
    assert!(
        err.contains("config.toml") && err.contains("location"),
        "{err}"
    );
}

/// A package `name@version` in the directory `vetted/`, needing `deps`.
fn dep_package(env: &Env, name: &str, version: &str, deps: &[(&str, &str)]) {
    let path = make_package(
        env,
        &format!("vetted/{name}-{version}"),
        name,
        version,
        None,
    );
    set_release(&path, name, version, deps);
}

#[test]
fn tree_resolves_dependencies_across_versions() {
    let env = Env::new();
    dep_package(&env, "app", "2.0.0", &[("web", "^1"), ("base", "^1")]);
    dep_package(&env, "web", "1.0.0", &[("base", ">=1.1")]);
    dep_package(&env, "base", "1.0.0", &[]);
    dep_package(&env, "base", "1.1.0", &[]);
    dep_package(&env, "base", "2.0.0", &[]);
    dep_package(&env, "bad", "1.0.0", &[("base", "^3")]);
    dep_package(&env, "cyc-a", "1.0.0", &[("cyc-b", "^1")]);
    dep_package(&env, "cyc-b", "1.0.0", &[("cyc-a", "^1")]);
    env.ok([
        "source",
        "add",
        "vetted",
        env.path("vetted").to_str().unwrap(),
    ]);

    let tree = env.ok(["tree", "app@^2"]);
    assert_eq!(
        tree,
        "app 2.0.0 (vetted)\n├── base 1.1.0 (vetted)\n└── web 1.0.0 (vetted)\n    └── base 1.1.0 (vetted)\n",
        "a diamond resolves to one version of base"
    );
    let json: Value = serde_json::from_str(&env.ok(["tree", "app@^2", "-o", "json"])).unwrap();
    let names: Vec<&String> = json["packages"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["app", "base", "web"]);
    assert_eq!(json["packages"]["base"]["entry"]["version"], "1.1.0");

    let err = env.fails(["tree", "bad"]);
    assert!(
        err.contains("bad 1.0.0 needs base ^3, and no source"),
        "{err}"
    );
    assert!(
        err.contains("the sources hold base 1.0.0, 1.1.0, 2.0.0"),
        "{err}"
    );
    let err = env.fails(["tree", "cyc-a"]);
    assert!(
        err.contains("cycle") && err.contains("cyc-a -> cyc-b -> cyc-a"),
        "{err}"
    );
    let err = env.fails(["tree", "app@^9"]);
    assert!(err.contains("app ^9"), "{err}");
    let out = env.pkg(["tree", "app@not-a-req"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a semver requirement"));

    // `pkg load` of a package with dependencies loads the whole resolved
    // graph in one transaction, recorded in one history entry.
    let out = env
        .pkg(["load", "app@^2", "--prefix", "p1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("With its dependencies, loaded in the same transaction: base 1.1.0 (vetted), web 1.0.0 (vetted)"),
        "{said}"
    );
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    let recorded = history[0]["source"].as_str().unwrap_or("");
    assert!(
        recorded.starts_with("sources: base@1.1.0 from vetted (sha256:")
            && recorded.contains("web@1.0.0 from vetted")
            && recorded.contains("app@2.0.0 from vetted"),
        "{recorded}"
    );
    let spaces = env.ok(["space", "list", "-o", "json"]);
    assert!(spaces.contains("p1-drift-detector"), "{spaces}");
    // `pkg lock` pins the whole graph; `--locked` loads exactly it, even
    // when a newer base appears, and never re-resolves.
    env.ok(["lock", "app@^2"]);
    let lock = std::fs::read_to_string(env.path("pkg.lock")).unwrap();
    assert_eq!(lock.matches("[[package.resolved]]").count(), 3, "{lock}");
    assert!(
        lock.contains("name = \"base\"\nversion = \"1.1.0\"\nsource = \"vetted\""),
        "{lock}"
    );
    dep_package(&env, "base", "1.2.0", &[]);
    let out = env
        .pkg([
            "load",
            "app@^2",
            "--prefix",
            "p3",
            "--locked",
            "pkg.lock",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("pinned by the lock file"), "{said}");
    assert!(said.contains("base 1.1.0 (vetted)"), "{said}");
    let unlocked = env.ok(["tree", "app@^2"]);
    assert!(unlocked.contains("base 1.2.0"), "{unlocked}");
    // Two packages of the graph holding one resource with different
    // content cannot load together: nothing is written.
    crate::pkg_server::change_content(&env.path("vetted/base-1.1.0"), "other");
    let err = env.fails(["load", "app@^2", "--prefix", "p2", "--locked", "pkg.lock"]);
    assert!(
        err.contains("base 1.1.0 in source `vetted` has digest")
            && err.contains("the lock file has"),
        "{err}"
    );
    std::fs::remove_dir_all(env.path("vetted/base-1.2.0")).unwrap();
    let err = env.fails(["load", "app@^2", "--prefix", "p2"]);
    assert!(err.contains("with different content"), "{err}");
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
}

/// Sets `name`, `version` and `dependencies` in `dir/manifest.json`.
pub fn set_release(dir: &std::path::Path, name: &str, version: &str, deps: &[(&str, &str)]) {
    crate::pkg_server::edit_manifest(dir, |m| {
        m["name"] = name.into();
        m["version"] = version.into();
        let map: serde_json::Map<String, Value> = deps
            .iter()
            .map(|(n, r)| (n.to_string(), Value::from(*r)))
            .collect();
        m["dependencies"] = Value::Object(map);
    });
}

#[test]
fn a_git_source_indexes_release_tags_and_locks_commits() {
    use crate::servers::{HttpServer, RepoBuilder};
    let env = Env::new();
    let server = HttpServer::start(&env.path("srv"));
    let repo = RepoBuilder::new(&server.git_root().join("acme/releases.git"));
    // Two packages in one repository, tagged NAME/vX.Y.Z.
    repo.copy_dir(&crate::pkg_server::example(), "app");
    repo.copy_dir(&crate::pkg_server::example(), "base");
    set_release(&repo.work.join("app"), "app", "1.0.0", &[("base", "^1")]);
    set_release(&repo.work.join("base"), "base", "1.0.0", &[]);
    repo.commit("app 1.0.0, base 1.0.0");
    repo.tag("app/v1.0.0");
    repo.tag("base/v1.0.0");
    set_release(&repo.work.join("app"), "app", "1.1.0", &[("base", "^1")]);
    repo.commit("app 1.1.0");
    repo.tag("app/v1.1.0");
    // A tag whose manifest disagrees is left out with a warning.
    set_release(&repo.work.join("app"), "app", "1.1.9", &[]);
    repo.commit("mislabelled");
    repo.tag("app/v1.2.0");
    repo.push();
    let location = format!("git+{}/acme/releases.git", server.url());
    env.ok(["source", "add", "rel", &location]);
    let list: Value = serde_json::from_str(&env.ok(["source", "list", "-o", "json"])).unwrap();
    assert_eq!(list[0]["kind"], "git", "{list}");
    assert_eq!(list[0]["packages"], 3, "{list}");

    let out = env.pkg(["versions", "app"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("rel: 1.0.0 1.1.0\n"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tag `app/v1.2.0` is left out"),
        "{out:?}"
    );
    assert_eq!(
        env.ok(["tree", "app"]),
        "app 1.1.0 (rel)\n└── base 1.0.0 (rel)\n"
    );
    env.ok(["lock", "app"]);
    let lock = std::fs::read_to_string(env.path("pkg.lock")).unwrap();
    assert_eq!(lock.matches("commit = ").count(), 2, "{lock}");
    env.ok(["load", "app", "--prefix", "g", "--locked", "pkg.lock"]);
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    let recorded = history[0]["source"].as_str().unwrap_or("");
    assert!(
        recorded.starts_with("sources: base@1.0.0 from rel"),
        "{recorded}"
    );

    // The tag is moved to other content: the locked load refuses it.
    crate::pkg_server::change_content(&repo.work.join("app"), "moved");
    set_release(&repo.work.join("app"), "app", "1.1.0", &[("base", "^1")]);
    repo.commit("app 1.1.0 again");
    repo.git(["tag", "-f", "-a", "app/v1.1.0", "-m", "moved"]);
    repo.push();
    let err = env.fails([
        "load",
        "app",
        "--prefix",
        "g2",
        "--locked",
        "pkg.lock",
        "--refresh",
    ]);
    assert!(err.contains("tag moved"), "{err}");
}

#[test]
fn directory_sources_remember_unchanged_packages() {
    let env = Env::new();
    dep_package(&env, "app", "1.0.0", &[]);
    env.ok([
        "source",
        "add",
        "vetted",
        env.path("vetted").to_str().unwrap(),
    ]);
    assert!(env.ok(["versions", "app"]).contains("vetted: 1.0.0"));
    // A unit file changes behind the manifest's back: the remembered entry
    // still lists it, but a load reads the package again and refuses it.
    let file = env
        .path("vetted/app-1.0.0")
        .join(crate::pkg_server::CHANGED_FILE.trim_start_matches('/'));
    std::fs::write(&file, b"tampered: true\n").unwrap();
    assert!(env.ok(["versions", "app"]).contains("vetted: 1.0.0"));
    let err = env.fails(["load", "app"]);
    assert!(err.contains("digest mismatch"), "{err}");
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 0);
    // --refresh reads every package again: the tampered one is left out.
    let out = env.pkg(["versions", "app", "--refresh"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`app-1.0.0` is left out"), "{stderr}");
}
