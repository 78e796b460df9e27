//! Three sources at once: a directory, a `pkg serve` registry on 127.0.0.1
//! and a git repository on the loopback git server, holding overlapping
//! names and versions (1.9.0 and 1.10.0 among them). Every conflict
//! strategy, a yanked version skipped, resolution across the three, and an
//! impossible requirement explained.

use serde_json::Value;

use crate::common::Env;
use crate::pkg_server::{example, make_package, sqlite_store, team_remote};
use crate::servers::{HttpServer, RepoBuilder};
use crate::sources::set_release;

/// The chosen `source version` of `pkg versions base EXTRA...`.
fn chosen_base(env: &Env, extra: &[&str]) -> String {
    let mut args = vec!["versions", "base", "-o", "json"];
    args.extend_from_slice(extra);
    let v: Value = serde_json::from_str(&env.ok(args)).expect("versions JSON");
    let e = &v["chosen"]["entry"];
    format!(
        "{} {}",
        e["source"].as_str().unwrap_or(""),
        e["version"].as_str().unwrap_or("")
    )
}

#[test]
fn three_sources_merge_and_resolve_together() {
    let env = Env::new();
    // The directory (priority 10): base 1.9.0.
    make_package(&env, "vetted/base-1.9.0", "base", "1.9.0", None);
    // The registry (priority 20): base 1.10.0 and 1.11.0, web 1.0.0.
    let store = sqlite_store(&env);
    let (server, token) = team_remote(&env, &store, 6, "ci", &[]);
    for (name, version, deps) in [
        ("base", "1.10.0", vec![]),
        ("base", "1.11.0", vec![]),
        ("web", "1.0.0", vec![("base", "^1")]),
    ] {
        let path = make_package(&env, &format!("pub/{name}-{version}"), name, version, None);
        set_release(&path, name, version, &deps);
        env.ok(["publish", path.to_str().unwrap(), "--registry", "team"]);
    }
    // The git repository (priority 30): base 1.0.0, app 2.0.0 and 3.0.0.
    let git = HttpServer::start(&env.path("srv"));
    let repo = RepoBuilder::new(&git.git_root().join("acme/releases.git"));
    repo.copy_dir(&example(), "app");
    repo.copy_dir(&example(), "base");
    set_release(&repo.work.join("base"), "base", "1.0.0", &[]);
    set_release(
        &repo.work.join("app"),
        "app",
        "2.0.0",
        &[("web", "^1"), ("base", "^1.9")],
    );
    repo.commit("app 2.0.0, base 1.0.0");
    repo.tag("app/v2.0.0");
    repo.tag("base/v1.0.0");
    set_release(
        &repo.work.join("app"),
        "app",
        "3.0.0",
        &[("web", "^1"), ("base", "^2")],
    );
    repo.commit("app 3.0.0");
    repo.tag("app/v3.0.0");
    repo.push();

    let vetted = env.path("vetted");
    let git_location = format!("git+{}/acme/releases.git", git.url());
    for (name, location, priority) in [
        ("vetted", vetted.to_str().unwrap(), "10"),
        ("team", server.url().as_str(), "20"),
        ("rel", git_location.as_str(), "30"),
    ] {
        let mut args = vec!["source", "add", name, location, "--priority", priority];
        if name == "team" {
            args.extend(["--token-env", "TEAM_TOKEN"]);
        }
        env.ok(args);
    }
    let list: Value = serde_json::from_str(&env.ok(["source", "list", "-o", "json"])).unwrap();
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["directory", "registry", "git"], "{list}");

    // Versions per source, and each strategy's pick of base.
    let versions = env.ok(["versions", "base"]);
    assert!(versions.contains("vetted: 1.9.0\n"), "{versions}");
    assert!(versions.contains("team: 1.10.0 1.11.0\n"), "{versions}");
    assert!(versions.contains("rel: 1.0.0\n"), "{versions}");
    assert_eq!(chosen_base(&env, &[]), "vetted 1.9.0");
    assert_eq!(
        chosen_base(&env, &["--conflict", "latest-version"]),
        "team 1.11.0",
        "semver: 1.11.0 > 1.10.0 > 1.9.0"
    );
    assert_eq!(
        chosen_base(&env, &["--conflict", "local-first"]),
        "vetted 1.9.0"
    );
    assert_eq!(
        chosen_base(&env, &["--conflict", "remote-first"]),
        "team 1.11.0",
        "the remote source with the best priority"
    );
    assert_eq!(chosen_base(&env, &["--source", "rel"]), "rel 1.0.0");
    let found = env.ok(["search", "base", "-o", "json"]);
    let found: Value = serde_json::from_str(&found).unwrap();
    let hits: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}@{}",
                e["source"].as_str().unwrap(),
                e["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(hits, ["vetted@1.9.0", "team@1.11.0", "rel@1.0.0"]);

    // base 1.11.0 is yanked: the next fetch of the index drops it, and
    // resolution skips it.
    let yanked = server.call("DELETE", "/api/v1/packages/base/1.11.0", Some(&token), None);
    assert_eq!(yanked.status, 200, "{}", yanked.text());
    assert_eq!(
        chosen_base(&env, &["--conflict", "latest-version", "--refresh"]),
        "team 1.10.0"
    );
    let tree = env.ok(["tree", "app@^2", "--conflict", "latest-version"]);
    assert_eq!(
        tree,
        "app 2.0.0 (rel)\n├── base 1.10.0 (team)\n└── web 1.0.0 (team)\n    └── base 1.10.0 (team)\n"
    );
    // Under priority, the directory's base 1.9.0 meets app's ^1.9.
    let tree = env.ok(["tree", "app@^2"]);
    assert!(tree.contains("├── base 1.9.0 (vetted)"), "{tree}");

    // app 3.0.0 needs base ^2, which no source has, and web needs ^1:
    // the resolver backs off to app 2.0.0 unless 3 is asked for, and then
    // explains.
    assert!(env.ok(["tree", "app"]).starts_with("app 2.0.0 (rel)"));
    let err = env.fails(["tree", "app@^3"]);
    assert!(err.contains("app 3.0.0 needs base ^2"), "{err}");
    assert!(
        err.contains("the sources hold base 1.0.0, 1.9.0, 1.10.0"),
        "{err}"
    );

    // One load of the whole graph from the three sources, one history
    // entry naming each package, version, source and digest.
    let out = env
        .pkg([
            "load",
            "app@^2",
            "--prefix",
            "staging",
            "--conflict",
            "latest-version",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    let recorded = history[0]["source"].as_str().unwrap_or("");
    for part in [
        "base@1.10.0 from team (sha256:",
        "web@1.0.0 from team (sha256:",
        "app@2.0.0 from rel (sha256:",
    ] {
        assert!(recorded.contains(part), "{part} in {recorded}");
    }
}
