//! Git and GitHub sources, the cache, `--offline`, tokens, lock files,
//! `pkg publish` and `pkg versions`, against real git servers on 127.0.0.1
//! (`git http-backend` behind the test HTTP server, and `git daemon`).

use std::path::Path;

use serde_json::Value;

use crate::common::{Env, copy_dir};
use crate::servers::{GitDaemon, HttpServer, RepoBuilder, SshServer, git_cli, git_ok};

/// A test environment with a GitHub stand-in holding `acme/packages`:
/// `main` has the cub-basic package at `packages/drift` (tagged v1.0.0,
/// then changed and tagged v1.2.0), branch `release/v2` changes it again
/// (tagged v2.0.0), and a `docs/` directory that no load needs.
struct World {
    env: Env,
    server: HttpServer,
    repo: RepoBuilder,
}

fn world() -> World {
    let env = Env::new();
    let server = HttpServer::start(&env.path("srv"));
    // The server maps /OWNER/REPO.git to its repositories: a GitHub stand-in.
    let repo = RepoBuilder::new(&server.git_root().join("acme/packages.git"));
    repo.write("README.md", b"# packages\n");
    repo.write("docs/big.txt", &vec![b'x'; 200_000]);
    repo.copy_dir(&env.fixture("cub-basic"), "packages/drift");
    set_version(&repo, "1.0.0");
    repo.commit("drift 1.0.0");
    repo.tag("v1.0.0");
    set_version(&repo, "1.2.0");
    repo.commit("drift 1.2.0");
    repo.tag("v1.2.0");
    repo.branch("release/v2");
    set_version(&repo, "2.0.0");
    repo.commit("drift 2.0.0");
    repo.tag("v2.0.0");
    repo.checkout("main");
    repo.push();
    env.set_var("PKG_GITHUB_URL", server.url());
    World { env, server, repo }
}

/// Sets the package's manifest version (and so its content).
fn set_version(repo: &RepoBuilder, version: &str) {
    set_manifest(
        &repo.work.join("packages/drift"),
        &[("name", "drift"), ("version", version)],
    );
}

/// Sets top-level string fields of `dir/manifest.json`; returns the manifest.
fn set_manifest(dir: &Path, fields: &[(&str, &str)]) -> Value {
    let path = dir.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (key, value) in fields {
        manifest[*key] = Value::String(value.to_string());
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    manifest
}

fn inspect(env: &Env, source: &str) -> Value {
    serde_json::from_str(&env.ok(["inspect", source, "-o", "json"])).unwrap()
}

fn history(env: &Env) -> Vec<Value> {
    let out = env.ok(["history", "-o", "json"]);
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

fn git_fetches(server: &HttpServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains("git-upload-pack"))
        .count()
}

#[test]
fn github_tree_url_with_a_slash_branch_loads_the_sub_directory() {
    let w = world();
    let url = "https://github.com/acme/packages/tree/release/v2/packages/drift";
    let out = w.env.ok(["load", url, "--prefix", "staging"]);
    assert!(out.contains("Loaded"), "{out}");
    let spaces = w.env.ok(["space", "list", "-o", "json"]);
    assert!(spaces.contains("staging-app-dev"), "{spaces}");
    let entry = &history(&w.env)[0];
    let tip = git_ok(
        git_cli(w.repo.home())
            .arg("-C")
            .arg(&w.repo.bare)
            .args(["rev-parse", "release/v2"]),
    );
    assert_eq!(entry["commit"].as_str(), Some(tip.trim()));
    assert_eq!(entry["version"].as_str(), Some("2.0.0"));
    let source = entry["source"].as_str().unwrap();
    assert!(
        source.ends_with("/acme/packages.git//packages/drift@release/v2"),
        "{source}"
    );
    // Only the package directory was written out.
    assert!(w.env.tmp_entries().is_empty(), "{:?}", w.env.tmp_entries());
}

#[test]
fn refs_resolve_to_branches_tags_commits_and_semver() {
    let w = world();
    let v = |source: &str| {
        inspect(&w.env, source)["version"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(v("github:acme/packages/packages/drift"), "1.2.0");
    assert_eq!(v("github:acme/packages/packages/drift@v1.0.0"), "1.0.0");
    assert_eq!(v("github:acme/packages/packages/drift@^1"), "1.2.0");
    assert_eq!(v("github:acme/packages/packages/drift@~1.0"), "1.0.0");
    assert_eq!(v("github:acme/packages/packages/drift@>=1"), "2.0.0");
    assert_eq!(
        v("https://github.com/acme/packages/tree/v1.0.0/packages/drift"),
        "1.0.0"
    );
    let commit = w.repo.git(["rev-parse", "v1.0.0^{commit}"]);
    assert_eq!(
        v(&format!(
            "github:acme/packages/packages/drift@{}",
            commit.trim()
        )),
        "1.0.0"
    );
    let generic = format!(
        "git+{}/acme/packages.git//packages/drift?ref=release/v2",
        w.server.url()
    );
    assert_eq!(v(&generic), "2.0.0");

    let err = w
        .env
        .fails(["inspect", "github:acme/packages/packages/drift@^3"]);
    assert!(
        err.contains("no release tag") && err.contains("v2.0.0"),
        "{err}"
    );
    let err = w
        .env
        .fails(["inspect", "github:acme/packages/packages/drift@nope"]);
    assert!(err.contains("has no branch or tag `nope`"), "{err}");
    let err = w
        .env
        .fails(["inspect", "github:acme/packages/packages/missing@v1.0.0"]);
    assert!(
        err.contains("no such directory") && err.contains("packages"),
        "{err}"
    );
    let err = w.env.fails(["inspect", "github:acme/nothere/x"]);
    assert!(err.contains("nothere"), "{err}");
}

#[test]
fn versions_lists_release_tags_newest_first() {
    let w = world();
    let out = w.env.ok(["versions", "github:acme/packages", "-o", "json"]);
    let tags: Vec<String> = serde_json::from_str::<Vec<Value>>(&out)
        .unwrap()
        .iter()
        .map(|v| v["tag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tags, ["v2.0.0", "v1.2.0", "v1.0.0"]);
    let table = w.env.ok(["versions", "https://github.com/acme/packages"]);
    assert!(table.starts_with("TAG"), "{table}");
    let err = w.env.fails(["versions", "./somewhere"]);
    assert!(err.contains("not a git repository"), "{err}");
}

#[test]
fn a_second_load_of_the_same_commit_fetches_nothing_and_offline_needs_no_network() {
    let w = world();
    let source = "github:acme/packages/packages/drift@v1.2.0";
    w.env.ok(["load", source]);
    assert!(git_fetches(&w.server) >= 1);
    w.server.clear_requests();
    w.env.ok(["load", source, "--on-conflict", "update"]);
    // Only the ref listing: no pack negotiation.
    assert_eq!(git_fetches(&w.server), 0, "{:?}", w.server.requests());
    assert!(!w.server.requests().is_empty());
    w.server.clear_requests();
    let out = w.env.ok(["--offline", "inspect", source, "-o", "json"]);
    assert!(out.contains("1.2.0"));
    let out = w.env.ok([
        "--offline",
        "inspect",
        "github:acme/packages/packages/drift@^1",
        "-o",
        "json",
    ]);
    assert!(out.contains("1.2.0"));
    assert!(w.server.requests().is_empty(), "{:?}", w.server.requests());
    let err = w.env.fails(["--offline", "inspect", "github:acme/other/x"]);
    assert!(
        err.contains("offline") && err.contains("not in the cache"),
        "{err}"
    );
    // `versions` of a repository never fetched fails the same way (no empty table).
    let out = w
        .env
        .pkg(["--offline", "versions", "github:acme/other"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let versions_err = String::from_utf8_lossy(&out.stderr);
    assert!(
        versions_err.contains("offline") && versions_err.contains("not in the cache"),
        "{versions_err}"
    );
    let cached = w.env.ok(["--offline", "versions", "github:acme/packages"]);
    assert!(cached.contains("1.2.0"), "{cached}");
    let err = w.env.fails([
        "--offline",
        "inspect",
        "github:acme/packages/packages/drift@v1.0.0",
    ]);
    assert!(err.contains("offline"), "{err}");
    assert!(w.server.requests().is_empty());
}

#[test]
fn tokens_go_to_the_github_origin_only() {
    let w = world();
    w.server.require_token("/acme/packages", "s3cret");
    // Without a token the private repository is refused, with a hint.
    let err = w
        .env
        .fails(["inspect", "github:acme/packages/packages/drift"]);
    assert!(err.contains("GITHUB_TOKEN"), "{err}");
    w.env.set_var("GITHUB_TOKEN", "s3cret");
    w.env.ok(["inspect", "github:acme/packages/packages/drift"]);

    // Another host asking for credentials never gets the token, also when
    // the GitHub origin redirects there.
    let other = HttpServer::start(&w.env.path("other"));
    let other_repo = RepoBuilder::new(&other.git_root().join("evil/grab.git"));
    other_repo.copy_dir(&w.env.fixture("cub-basic"), "p");
    other_repo.commit("bait");
    other_repo.push();
    other.require_token("/evil", "anything");
    let err = w
        .env
        .fails(["inspect", &format!("git+{}/evil/grab.git//p", other.url())]);
    assert!(err.contains("credentials"), "{err}");
    w.server
        .redirect("/acme/moved", &format!("{}/evil/grab", other.url()));
    let err = w.env.fails(["inspect", "github:acme/moved/p"]);
    assert!(
        err.contains("credentials") || err.contains("redirect"),
        "{err}"
    );
    for request in other.requests() {
        assert_eq!(request.header("authorization"), None, "{request:?}");
    }
    assert!(!other.requests().is_empty());

    // HTTP sources: the token goes with requests to the GitHub origin, and
    // is dropped when that origin redirects to another host.
    let archive = w.env.path("drift.tar.gz");
    w.env.ok([
        "pack",
        &w.env.fixture("cub-full").display().to_string(),
        "-o",
        &archive.display().to_string(),
    ]);
    other.put_file("archive/drift.tar.gz", &std::fs::read(&archive).unwrap());
    w.server.redirect(
        "/acme/packages/archive/",
        &format!("{}/archive/", other.url()),
    );
    let other_before = other.requests().len();
    let out = w.env.ok([
        "inspect",
        "https://github.com/acme/packages/archive/drift.tar.gz",
        "-o",
        "json",
    ]);
    assert!(out.contains("units"), "{out}");
    let first = w
        .server
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.contains("/archive/"))
        .unwrap();
    assert_eq!(first.header("authorization"), Some("Bearer s3cret"));
    let followed = &other.requests()[other_before..];
    assert!(!followed.is_empty());
    assert!(
        followed.iter().all(|r| r.header("authorization").is_none()),
        "{followed:?}"
    );
}

#[test]
fn a_symlink_in_the_repository_is_refused() {
    let w = world();
    std::fs::write(w.env.path("secret.txt"), "top secret").unwrap();
    w.repo.checkout("main");
    w.repo
        .remove("packages/drift/units/app-dev/backend.data.yaml");
    w.repo.symlink(
        "packages/drift/units/app-dev/backend.data.yaml",
        &w.env.path("secret.txt").display().to_string(),
    );
    w.repo.commit("sneaky");
    w.repo.tag("v3.0.0");
    w.repo.push();
    let before = w.env.hub_state();
    let err = w
        .env
        .fails(["load", "github:acme/packages/packages/drift@v3.0.0"]);
    assert!(err.contains("symbolic link"), "{err}");
    assert!(err.contains("backend.data.yaml"), "{err}");
    assert_eq!(w.env.hub_state(), before);
    assert!(w.env.tmp_entries().is_empty(), "{:?}", w.env.tmp_entries());
    // Nothing half-written stays in the cache either.
    for entry in walkdir::WalkDir::new(w.env.path("cache/pkg/checkouts")) {
        let entry = entry.unwrap();
        assert!(
            !entry
                .file_name()
                .to_string_lossy()
                .starts_with(".pkg-fetch"),
            "{}",
            entry.path().display()
        );
    }
}

#[test]
fn locked_loads_refuse_a_moved_tag_and_changed_content() {
    let w = world();
    let source = "github:acme/packages/packages/drift@v1.0.0";
    let lock = w.env.path("pkg.lock");
    let out = w
        .env
        .ok(["lock", source, "--file", &lock.display().to_string()]);
    assert!(out.contains("Locked 1 source"), "{out}");
    let text = std::fs::read_to_string(&lock).unwrap();
    let commit = w.repo.git(["rev-parse", "v1.0.0^{commit}"]);
    assert!(text.contains(commit.trim()), "{text}");
    assert!(text.contains("digest = \"sha256:"), "{text}");

    // Unchanged: the locked load goes through.
    w.env.ok([
        "load",
        source,
        "--locked",
        &lock.display().to_string(),
        "--prefix",
        "a",
    ]);

    // The tag is moved to other content (as in the tj-actions incident).
    w.repo.checkout("v1.0.0");
    w.repo.write(
        "packages/drift/units/app-dev/backend.data.yaml",
        b"replicas: 99\n",
    );
    w.repo.commit("moved");
    w.repo.git(["tag", "-f", "-a", "v1.0.0", "-m", "moved"]);
    w.repo.push();
    let before = w.env.hub_state();
    let err = w.env.fails([
        "load",
        source,
        "--locked",
        &lock.display().to_string(),
        "--prefix",
        "b",
    ]);
    assert!(err.contains("tag moved"), "{err}");
    assert_eq!(w.env.hub_state(), before);
    // A source the lock does not name is refused before any fetch.
    let err = w.env.fails([
        "load",
        "github:acme/packages/packages/drift@v1.2.0",
        "--locked",
        &lock.display().to_string(),
    ]);
    assert!(err.contains("is not in lock file"), "{err}");
    // Local directories are pinned by digest.
    let dir = w.env.fixture("cub-full");
    let dir_arg = dir.display().to_string();
    w.env
        .ok(["lock", &dir_arg, "--file", &lock.display().to_string()]);
    let data = dir.join("units/shop/api.data.yaml");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes.extend_from_slice(b"# changed\n");
    std::fs::write(&data, bytes).unwrap();
    let err = w
        .env
        .fails(["load", &dir_arg, "--locked", &lock.display().to_string()]);
    assert!(err.contains("package digest"), "{err}");
    assert_eq!(w.env.hub_state(), before);
    let err = w.env.fails(["load", &dir_arg, "--locked", "missing.lock"]);
    assert!(err.contains("missing.lock"), "{err}");
}

#[test]
fn git_daemon_and_file_urls_work() {
    let w = world();
    let daemon = GitDaemon::start(w.server.git_root());
    let source = format!("{}/acme/packages.git//packages/drift@v1.2.0", daemon.url());
    assert_eq!(inspect(&w.env, &source)["version"], "1.2.0");
    let file = format!(
        "file://{}//packages/drift?ref=v1.0.0",
        w.repo.bare.display()
    );
    assert_eq!(inspect(&w.env, &file)["version"], "1.0.0");

    // A commit no ref points at (servers that refuse unadvertised ids make
    // pkg fetch the branches and tags instead).
    set_version(&w.repo, "1.3.0");
    let hidden = w.repo.commit("untagged");
    set_version(&w.repo, "1.4.0");
    w.repo.commit("tip");
    w.repo.push();
    for base in [daemon.url(), w.server.url()] {
        let source = format!("{base}/acme/packages.git//packages/drift@{hidden}");
        let source = if base.starts_with("http") {
            format!("git+{source}")
        } else {
            source
        };
        assert_eq!(inspect(&w.env, &source)["version"], "1.3.0", "{source}");
    }
}

#[test]
fn hostile_git_arguments_are_refused_before_git_runs() {
    let w = world();
    let pwned = w.env.path("PWNED");
    let before = w.env.hub_state();
    for arg in [
        format!("ext::sh -c touch% {}", pwned.display()),
        format!("git+ext::sh -c touch% {}", pwned.display()),
        "git+ssh://-oProxyCommand=touch%20PWNED/r.git".to_string(),
        format!(
            "git+{}/acme/packages.git@--upload-pack=touch",
            w.server.url()
        ),
        format!("git+{}/acme/packages.git//--upload-pa=x", w.server.url()),
        "github:acme/packages/../../etc".to_string(),
        "https://github.com@evil.example/acme/packages".to_string(),
        "https://github.com.evil.example/acme/packages".to_string(),
        "https://github.com/acme/%2e%2e/packages".to_string(),
        "git+http://git.example/acme/packages.git".to_string(),
        "git+ftp://git.example/acme/packages.git".to_string(),
    ] {
        let err = w.env.fails(["load", &arg]);
        assert!(
            err.contains("is not a source pkg will read"),
            "{arg}: {err}"
        );
    }
    assert!(!pwned.exists());
    assert_eq!(w.env.hub_state(), before);
    assert!(w.server.requests().is_empty(), "{:?}", w.server.requests());
}

/// A bare repository with one commit on `main`, for publishing into.
fn bare_target(env: &Env) -> RepoBuilder {
    let repo = RepoBuilder::new(&env.path("target/releases.git"));
    repo.write("README.md", b"releases\n");
    repo.write("other/keep.txt", b"kept\n");
    repo.commit("start");
    repo.push();
    repo
}

fn ls_remote(repo: &RepoBuilder) -> String {
    git_ok(git_cli(repo.home()).arg("ls-remote").arg(&repo.bare))
}

#[test]
fn publish_commits_tags_and_pushes_then_loads_back() {
    let env = Env::new();
    let target = bare_target(&env);
    let pkg = env.fixture("cub-full");
    let mut manifest = set_manifest(&pkg, &[("name", "drift"), ("version", "1.4.0")]);
    std::fs::write(pkg.join("notes.txt"), "not in the manifest").unwrap();
    let repo_url = format!("file://{}", target.bare.display());
    let pkg_arg = pkg.display().to_string();

    let before = ls_remote(&target);
    let out = env.ok([
        "publish",
        &pkg_arg,
        "--repo",
        &repo_url,
        "--path",
        "packages/drift",
        "--dry-run",
    ]);
    assert!(out.contains("Dry run") && out.contains("v1.4.0"), "{out}");
    assert_eq!(ls_remote(&target), before, "a dry run pushed something");

    let out = env.ok([
        "publish",
        &pkg_arg,
        "--repo",
        &repo_url,
        "--path",
        "packages/drift",
    ]);
    assert!(out.contains("Published v1.4.0"), "{out}");
    let refs = ls_remote(&target);
    assert!(refs.contains("refs/tags/v1.4.0"), "{refs}");
    let tag_type = git_ok(
        git_cli(target.home())
            .arg("-C")
            .arg(&target.bare)
            .args(["cat-file", "-t", "v1.4.0"]),
    );
    assert_eq!(tag_type.trim(), "tag", "the release tag must be annotated");
    let files = git_ok(git_cli(target.home()).arg("-C").arg(&target.bare).args([
        "ls-tree",
        "-r",
        "--name-only",
        "v1.4.0",
    ]));
    assert!(
        files.contains("other/keep.txt") && files.contains("packages/drift/manifest.json"),
        "{files}"
    );
    assert!(!files.contains("notes.txt"), "{files}");

    // What was published loads back with the same digest.
    let local = inspect(&env, &pkg_arg);
    let remote = inspect(&env, &format!("{repo_url}//packages/drift@v1.4.0"));
    assert_eq!(local["digest"], remote["digest"]);
    assert_eq!(
        local["digest"],
        inspect(&env, &format!("{repo_url}//packages/drift@^1"))["digest"]
    );

    // Refusals: the tag exists; no semver version; an invalid package.
    let err = env.fails([
        "publish",
        &pkg_arg,
        "--repo",
        &repo_url,
        "--path",
        "packages/drift",
    ]);
    assert!(err.contains("already exists"), "{err}");
    manifest["version"] = "latest".into();
    std::fs::write(
        pkg.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let err = env.fails(["publish", &pkg_arg, "--repo", &repo_url]);
    assert!(err.contains("not a semver version"), "{err}");
    manifest["version"] = "1.5.0".into();
    manifest["units"][0]["details_loc"] = "/units/missing.json".into();
    std::fs::write(
        pkg.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let err = env.fails(["publish", &pkg_arg, "--repo", &repo_url]);
    assert!(
        err.contains("refusing to publish") && err.contains("invalid"),
        "{err}"
    );
    assert_eq!(ls_remote(&target), refs);

    // --tag-prefix tags `<name>/v<version>`; over HTTP too.
    let server = HttpServer::start(&env.path("srv"));
    let http_repo = server.git_root().join("acme/rel.git");
    std::fs::create_dir_all(http_repo.parent().unwrap()).unwrap();
    copy_dir(&target.bare, &http_repo);
    let fresh = env.path("fresh");
    copy_dir(&env.fixture("cub-basic"), &fresh);
    set_manifest(&fresh, &[("name", "basic"), ("version", "0.3.0")]);
    let http_url = format!("{}/acme/rel.git", server.url());
    env.ok([
        "publish",
        &fresh.display().to_string(),
        "--repo",
        &format!("git+{http_url}"),
        "--path",
        "basic",
        "--tag-prefix",
    ]);
    let versions = env.ok(["versions", &format!("git+{http_url}"), "-o", "json"]);
    assert!(
        versions.contains("basic/v0.3.0") && versions.contains("v1.4.0"),
        "{versions}"
    );
    assert_eq!(
        inspect(&env, &format!("git+{http_url}//basic@^0.3"))["version"],
        "0.3.0"
    );
}

#[test]
fn publish_to_an_empty_repository_creates_the_branch() {
    let env = Env::new();
    let bare = env.path("empty.git");
    git_ok(
        git_cli(&env.path("home"))
            .args(["init", "-q", "--bare"])
            .arg(&bare),
    );
    let pkg = env.fixture("cub-basic");
    set_manifest(&pkg, &[("version", "0.1.0")]);
    let out = env.ok([
        "publish",
        &pkg.display().to_string(),
        "--repo",
        &bare.display().to_string(),
        "--branch",
        "releases",
    ]);
    assert!(out.contains("new branch"), "{out}");
    let refs = git_ok(git_cli(&env.path("home")).arg("ls-remote").arg(&bare));
    assert!(
        refs.contains("refs/heads/releases") && refs.contains("refs/tags/v0.1.0"),
        "{refs}"
    );
    assert!(Path::new(&bare).exists());
}

#[test]
fn ssh_sources_use_the_agent_and_check_the_host_key() {
    let w = world();
    let ssh = SshServer::start();
    let user = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
    let bare = std::fs::canonicalize(&w.repo.bare).unwrap();
    let source = format!(
        "git+ssh://{user}@127.0.0.1:{}{}//packages/drift@v1.2.0",
        ssh.port(),
        bare.display()
    );
    w.env
        .set_var("SSH_AUTH_SOCK", ssh.agent_socket().display().to_string());
    let known_hosts = w.env.path("home/.ssh/known_hosts");
    std::fs::create_dir_all(known_hosts.parent().unwrap()).unwrap();

    // An unknown host is refused, and so is a host whose key changed.
    let err = w.env.fails(["inspect", &source]);
    assert!(
        err.contains("hostkey") && err.contains("known_hosts"),
        "{err}"
    );
    let other = "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIYh9t3Tc0a5y8kJcBj1p2ukvMvD4PShh2o3oR4g2Jx9";
    let changed = ssh.known_hosts_line().replace(
        ssh.known_hosts_line().split_whitespace().nth(2).unwrap(),
        other.split_whitespace().nth(2).unwrap(),
    );
    std::fs::write(&known_hosts, changed).unwrap();
    let err = w.env.fails(["inspect", &source]);
    assert!(err.contains("hostkey"), "{err}");

    // Known host, key in the agent: it loads.
    std::fs::write(&known_hosts, ssh.known_hosts_line()).unwrap();
    assert_eq!(inspect(&w.env, &source)["version"], "1.2.0");
    // Without the agent there is no key to offer.
    w.env.set_var(
        "SSH_AUTH_SOCK",
        w.env.path("no-agent").display().to_string(),
    );
    let err = w
        .env
        .fails(["inspect", &source.replace("v1.2.0", "v1.0.0")]);
    assert!(
        err.contains("ssh agent") && err.contains("ssh-add"),
        "{err}"
    );
}

#[test]
fn concurrent_loads_share_the_cache_safely() {
    let w = world();
    let sources = [
        "github:acme/packages/packages/drift@v1.0.0",
        "github:acme/packages/packages/drift@v1.2.0",
        "github:acme/packages/packages/drift@v2.0.0",
        "github:acme/packages/packages/drift@v1.0.0",
    ];
    let children: Vec<_> = sources
        .iter()
        .map(|s| {
            w.env
                .spawnable(["inspect", s, "-o", "json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (source, child) in sources.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{source}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let want = source.rsplit("@v").next().unwrap();
        assert_eq!(json["version"], want, "{source}");
    }
}

#[test]
fn publish_to_the_github_origin_authenticates_with_the_token() {
    let w = world();
    w.server.require_token("/acme/packages", "s3cret");
    let pkg = w.env.fixture("cub-basic");
    set_manifest(&pkg, &[("name", "basic"), ("version", "5.0.0")]);
    let pkg_arg = pkg.display().to_string();
    let args = [
        "publish",
        &pkg_arg,
        "--repo",
        "https://github.com/acme/packages",
        "--path",
        "packages/basic",
    ];
    let err = w.env.fails(args);
    assert!(err.contains("GITHUB_TOKEN"), "{err}");
    w.env.set_var("GITHUB_TOKEN", "s3cret");
    let out = w.env.ok(args);
    assert!(out.contains("Published v5.0.0"), "{out}");
    let pushes: Vec<_> = w
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("git-receive-pack") && r.method == "POST")
        .collect();
    assert!(!pushes.is_empty());
    assert!(pushes.iter().all(|r| r.header("authorization").is_some()));
    let versions = w.env.ok(["versions", "github:acme/packages", "-o", "json"]);
    assert!(versions.contains("v5.0.0"), "{versions}");
    // The rest of the repository is untouched.
    assert_eq!(
        inspect(&w.env, "github:acme/packages/packages/drift@v5.0.0")["version"],
        "1.2.0"
    );
}
