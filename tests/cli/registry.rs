//! `pkg serve` as a package registry, driven over real HTTP and through the
//! real CLI (`pkg remote`, `pkg publish --registry`, `pkg search`,
//! `pkg load --registry`), on SQLite and on a real etcd.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::Env;
use crate::pkg_server::{
    Etcd, PkgServer, Reply, blob_files, change_content, create_token, edit_manifest, eventually,
    file_in_archive, forged_token, make_package, pack, package_archive, read_reply, revoke_token,
    sha256, sqlite_store, store_rows, tar_gz, validate,
};
use crate::servers::HttpServer;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A fresh environment with a server on `sqlite:<root>/srv.db`.
fn sqlite_server(extra: &[&str]) -> (Env, PkgServer) {
    let env = Env::new();
    let store = sqlite_store(&env);
    let server = PkgServer::start(&env, &store, extra);
    (env, server)
}

/// The server's SQLite file.
fn db(env: &Env) -> std::path::PathBuf {
    env.path("srv.db")
}

/// The default blob directory beside the SQLite file.
fn blobs(env: &Env) -> std::path::PathBuf {
    env.path("srv.db.blobs")
}

/// A token at `level` in the server's store.
fn token(env: &Env, server: &PkgServer, level: u8, name: &str) -> String {
    create_token(env, server.store(), level, name).0
}

/// Asserts `reply` has `status`, with the body in the message.
#[track_caller]
fn expect(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
}

/// Publishes and asserts the status.
#[track_caller]
fn publish_ok(server: &PkgServer, archive: &[u8], token: &str, status: u16) -> Value {
    let reply = server.publish(archive, Some(token));
    expect(&reply, status, "publish");
    reply.json()
}

/// The package names of a list or search answer.
fn names(list: &Value) -> Vec<String> {
    list["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no packages in {list}"))
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_string())
        .collect()
}

/// The versions in a versions answer (or a detail's `versions`).
fn version_list(versions: &Value) -> Vec<String> {
    versions
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {versions}"))
        .iter()
        .map(|v| v["version"].as_str().expect("version").to_string())
        .collect()
}

/// `(action, version)` of every action in an actions answer.
/// One `(action, version)` per event: a record with a `count` (downloads
/// counted together per write batch) stands for that many.
fn action_list(actions: &Value) -> Vec<(String, String)> {
    actions
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {actions}"))
        .iter()
        .flat_map(|a| {
            let count = a["count"].as_u64().unwrap_or(1) as usize;
            std::iter::repeat_n(
                (
                    a["action"].as_str().expect("action").to_string(),
                    a["version"].as_str().unwrap_or("").to_string(),
                ),
                count,
            )
        })
        .collect()
}

/// The `packageId`s of the index.
fn index_ids(server: &PkgServer, token: Option<&str>) -> Vec<String> {
    let index = server.get_json("/api/packages/index", token);
    index
        .as_array()
        .unwrap_or_else(|| panic!("index is not an array: {index}"))
        .iter()
        .map(|e| e["packageId"].as_str().expect("packageId").to_string())
        .collect()
}

/// `pkg history -o json`'s newest entry's source.
fn newest_history_source(env: &Env) -> String {
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).expect("json");
    history[0]["source"]
        .as_str()
        .unwrap_or_else(|| panic!("no source in {history}"))
        .to_string()
}

/// A port nothing listens on (bound, then released).
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Points the CLI's config (and so its credentials) at `<root>/conf/`.
fn use_config(env: &Env) -> std::path::PathBuf {
    let config = env.path("conf/config.toml");
    env.set_var("PKG_CONFIG", config.to_str().expect("utf-8"));
    config
}

/// `pkg remote login NAME` with the token on stdin.
fn login(env: &Env, remote: &str, token: &str) {
    let out = env
        .pkg(["remote", "login", remote])
        .write_stdin(format!("{token}\n"))
        .output()
        .expect("run pkg");
    assert!(
        out.status.success(),
        "remote login failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// Publishing and reading
// ---------------------------------------------------------------------------

#[test]
fn publish_repeat_is_idempotent_and_other_content_conflicts() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let bob = token(&env, &server, 2, "bob");
    let a = package_archive(&env, "alpha-a", "alpha", "1.0.0", None);

    let first = publish_ok(&server, &a, &alice, 201);
    assert_eq!(first["name"], "alpha");
    assert_eq!(first["version"], "1.0.0");
    assert_eq!(first["created"], true);
    assert_eq!(first["archive_digest"], sha256(&a).as_str());
    assert!(
        first["package_digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:") && d.len() == 71),
        "{first}"
    );

    // The same bytes again, by anyone at level 2: 200, nothing new.
    let again = publish_ok(&server, &a, &bob, 200);
    assert_eq!(again["created"], false);
    assert_eq!(again["archive_digest"], first["archive_digest"]);
    assert_eq!(again["package_digest"], first["package_digest"]);
    // `pkg pack` is deterministic: packing the same directory again gives
    // the same archive, so a CI re-run is a repeat too.
    let repacked = pack(&env, &env.path("alpha-a"));
    assert_eq!(repacked, a);
    publish_ok(&server, &repacked, &alice, 200);

    // Other content under the same name@version: 409, and nothing changes.
    let dir_b = make_package(&env, "alpha-b", "alpha", "1.0.0", None);
    change_content(&dir_b, "other content");
    validate(&env, &dir_b);
    let b = pack(&env, &dir_b);
    assert_ne!(a, b);
    let before = store_rows(&db(&env), "registry/");
    let detail_before = server.get_json("/api/v1/packages/alpha", None);
    let conflict = server.publish(&b, Some(&bob));
    expect(&conflict, 409, "other content");
    let message = conflict.error();
    assert!(
        message.contains("alpha@1.0.0") && message.contains("already published"),
        "{message}"
    );
    assert_eq!(
        store_rows(&db(&env), "registry/"),
        before,
        "a refused publish changed the registry's records"
    );
    assert_eq!(
        server.get_json("/api/v1/packages/alpha", None),
        detail_before
    );
    let download = server.get("/api/v1/packages/alpha/1.0.0/download", None);
    expect(&download, 200, "download");
    assert!(
        download.body == a,
        "the download is no longer the first archive"
    );

    // One version, published once, by alice.
    let versions = server.get_json("/api/v1/packages/alpha/versions", None);
    assert_eq!(version_list(&versions), ["1.0.0"]);
    assert_eq!(versions[0]["published_by"], "alice");
    assert_eq!(versions[0]["archive_digest"], sha256(&a).as_str());
    let actions = server.get_json("/api/v1/packages/alpha/actions", None);
    assert_eq!(
        action_list(&actions),
        [("publish".to_string(), "1.0.0".to_string())]
    );
}

#[test]
fn rejected_publish_leaves_no_blob_behind() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let a = package_archive(&env, "alpha-a", "alpha", "1.0.0", None);
    publish_ok(&server, &a, &alice, 201);
    let stored = blob_files(&blobs(&env));
    assert_eq!(
        stored.len(),
        2,
        "one archive and one manifest blob: {stored:?}"
    );

    let dir_b = make_package(&env, "alpha-b", "alpha", "1.0.0", None);
    change_content(&dir_b, "other content");
    let b = pack(&env, &dir_b);
    expect(&server.publish(&b, Some(&alice)), 409, "conflict");
    assert_eq!(
        blob_files(&blobs(&env)),
        stored,
        "a 409 publish left the refused archive's blobs in the blob directory"
    );
    let leftovers: Vec<_> = std::fs::read_dir(blobs(&env).join("tmp"))
        .expect("read blob tmp")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn list_detail_versions_manifest_and_download_match_the_archive() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let a10 = package_archive(&env, "alpha-10", "alpha", "1.0.0", None);
    let a11 = package_archive(&env, "alpha-11", "alpha", "1.1.0", None);
    let p10 = publish_ok(&server, &a10, &alice, 201);
    publish_ok(&server, &a11, &alice, 201);

    let list = server.get_json("/api/v1/packages", None);
    assert_eq!(list["total"], 1, "{list}");
    let row = &list["packages"][0];
    assert_eq!(row["name"], "alpha");
    assert_eq!(row["latest"], "1.1.0");
    assert_eq!(row["versions"], 2);
    assert_eq!(row["status"], "active");
    assert_eq!(
        row["description"],
        "Detects drift between ConfigHub units and live clusters"
    );

    let detail = server.get_json("/api/v1/packages/alpha", None);
    assert_eq!(detail["name"], "alpha");
    assert_eq!(version_list(&detail["versions"]), ["1.0.0", "1.1.0"]);
    let v10 = &detail["versions"][0];
    assert_eq!(v10["archive_digest"], sha256(&a10).as_str());
    assert_eq!(v10["size"], a10.len());
    assert_eq!(v10["archive_format"], "tar.gz");
    assert_eq!(v10["min_level"], 1);
    assert_eq!(v10["yanked"], false);
    assert_eq!(v10["published_by"], "alice");
    assert_eq!(v10["package_digest"], p10["package_digest"]);
    assert_eq!(
        action_list(&detail["recent_actions"]),
        [
            ("publish".to_string(), "1.1.0".to_string()),
            ("publish".to_string(), "1.0.0".to_string())
        ],
        "newest first"
    );
    let versions = server.get_json("/api/v1/packages/alpha/versions", None);
    assert_eq!(versions, detail["versions"]);

    // The manifest is the archive's manifest.json, byte for byte.
    let manifest = server.get("/api/v1/packages/alpha/1.0.0", None);
    expect(&manifest, 200, "manifest");
    assert_eq!(manifest.header("content-type"), Some("application/json"));
    let packed_manifest = file_in_archive(&a10, "manifest.json").expect("manifest in archive");
    assert!(manifest.body == packed_manifest, "manifest bytes differ");
    assert_eq!(v10["manifest_digest"], sha256(&manifest.body).as_str());
    let m: Value = manifest.json();
    assert_eq!(
        (m["name"].clone(), m["version"].clone()),
        (json!("alpha"), json!("1.0.0"))
    );

    // Downloads are the published bytes, with the archive digest as ETag.
    for (version, archive) in [("1.0.0", &a10), ("1.1.0", &a11)] {
        let got = server.get(&format!("/api/v1/packages/alpha/{version}/download"), None);
        expect(&got, 200, "download");
        assert!(&got.body == archive, "{version}: download differs");
        assert_eq!(got.header("content-type"), Some("application/gzip"));
        let etag = format!("\"{}\"", sha256(archive));
        assert_eq!(got.header("etag"), Some(etag.as_str()));
        assert!(
            got.header("cache-control")
                .is_some_and(|c| c.contains("immutable")),
            "{:?}",
            got.headers
        );
    }

    // Conditional downloads.
    let url = "/api/v1/packages/alpha/1.0.0/download";
    let etag = format!("\"{}\"", sha256(&a10));
    let conditional = |value: &str| {
        crate::pkg_server::call(
            "GET",
            &format!("{}{url}", server.url()),
            &[("If-None-Match", value)],
            None,
        )
    };
    let cached = conditional(&etag);
    expect(&cached, 304, "If-None-Match with the ETag");
    assert!(cached.body.is_empty(), "a 304 has no body");
    assert_eq!(cached.header("etag"), Some(etag.as_str()));
    expect(&conditional(&format!("W/{etag}")), 304, "weak ETag");
    expect(
        &conditional(&format!("\"x\", {etag}")),
        304,
        "ETag in a list",
    );
    expect(&conditional("*"), 304, "*");
    let other = conditional(&format!("\"{}\"", sha256(&a11)));
    expect(&other, 200, "another version's ETag");
    assert!(other.body == a10);

    // Missing things are 404 with a JSON error.
    for path in [
        "/api/v1/packages/nope",
        "/api/v1/packages/nope/versions",
        "/api/v1/packages/nope/1.0.0",
        "/api/v1/packages/nope/1.0.0/download",
        "/api/v1/packages/alpha/9.9.9",
        "/api/v1/packages/alpha/9.9.9/download",
        "/api/v1/nothing-here",
    ] {
        let reply = server.get(path, None);
        expect(&reply, 404, path);
        reply.error();
    }
}

#[test]
fn search_ranks_matches_and_the_index_lists_every_version() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    for (dir, name) in [
        ("p-beta", "beta"),
        ("p-my-alpha", "my-alpha"),
        ("p-alpha-tools", "alpha-tools"),
        ("p-alpha", "alpha"),
    ] {
        let path = make_package(&env, dir, name, "1.0.0", None);
        if name == "beta" {
            edit_manifest(&path, |m| m["description"] = "Companion of ALPHA".into());
        }
        publish_ok(&server, &pack(&env, &path), &alice, 201);
    }
    let alpha2 = package_archive(&env, "p-alpha-2", "alpha", "2.0.0-rc.1", None);
    publish_ok(&server, &alpha2, &alice, 201);

    // Exact name, then name prefix, then name substring, then description.
    let hits = server.get_json("/api/v1/packages/search?q=alpha", None);
    assert_eq!(names(&hits), ["alpha", "alpha-tools", "my-alpha", "beta"]);
    assert_eq!(hits["total"], 4);
    // A stable version is preferred over a prerelease as `latest`.
    assert_eq!(hits["packages"][0]["latest"], "1.0.0");
    let upper = server.get_json("/api/v1/packages/search?q=ALPHA", None);
    assert_eq!(names(&upper), names(&hits), "search ignores case");
    let page = server.get_json("/api/v1/packages/search?q=alpha&limit=2&offset=1", None);
    assert_eq!(names(&page), ["alpha-tools", "my-alpha"]);
    assert_eq!(page["total"], 4);
    let drift = server.get_json("/api/v1/packages/search?q=drift%20between", None);
    assert_eq!(names(&drift), ["alpha", "alpha-tools", "my-alpha"]);
    let none = server.get_json("/api/v1/packages/search?q=zzz", None);
    assert_eq!((names(&none).len(), none["total"].clone()), (0, json!(0)));
    for bad in [
        "",
        "?q=",
        "?q=%20%20",
        "?q=x&limit=0",
        "?q=x&limit=abc",
        "?q=x&bogus=1",
    ] {
        let reply = server.get(&format!("/api/v1/packages/search{bad}"), None);
        expect(&reply, 400, bad);
        reply.error();
    }

    let index = server.get_json("/api/packages/index", None);
    let mut ids = index_ids(&server, None);
    ids.sort();
    assert_eq!(
        ids,
        [
            "alpha-tools@1.0.0",
            "alpha@1.0.0",
            "alpha@2.0.0-rc.1",
            "beta@1.0.0",
            "my-alpha@1.0.0"
        ]
    );
    let entry = index
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["packageId"] == "beta@1.0.0")
        .expect("beta in index");
    assert!(
        entry["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{entry}"
    );
    assert!(entry["description"].is_string(), "{entry}");
    let mut entry = entry.clone();
    let fields = entry.as_object_mut().expect("object");
    fields.remove("digest");
    fields.remove("description");
    assert_eq!(
        entry,
        json!({"packageId": "beta@1.0.0", "name": "beta", "version": "1.0.0", "minLevel": 1, "dependencies": {}})
    );
}

#[test]
fn patch_metadata_and_filter_the_list() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let admin = token(&env, &server, 4, "admin");
    for (dir, name) in [("pa", "alpha"), ("pt", "alpha-tools"), ("pb", "beta")] {
        publish_ok(
            &server,
            &package_archive(&env, dir, name, "1.0.0", None),
            &alice,
            201,
        );
    }
    let patch = |name: &str, body: Value, who: &str| {
        server.call(
            "PATCH",
            &format!("/api/v1/packages/{name}"),
            Some(who),
            Some(body.to_string().as_bytes()),
        )
    };
    let reply = patch(
        "alpha",
        json!({"description": "Core alpha", "labels": {"team": "core", "tier": "gold"}}),
        &admin,
    );
    expect(&reply, 200, "patch alpha");
    let patched = reply.json();
    assert_eq!(patched["labels"], json!({"team": "core", "tier": "gold"}));
    assert_eq!(patched["description"], "Core alpha");
    expect(
        &patch(
            "beta",
            json!({"labels": {"team": "web"}, "status": "archived"}),
            &admin,
        ),
        200,
        "patch beta",
    );
    // Labels are replaced as a whole.
    expect(
        &patch("alpha-tools", json!({"labels": {"team": "core"}}), &admin),
        200,
        "patch alpha-tools",
    );
    expect(
        &patch("alpha-tools", json!({"labels": {"owner": "ops"}}), &admin),
        200,
        "patch alpha-tools again",
    );
    let detail = server.get_json("/api/v1/packages/alpha-tools", None);
    assert_eq!(detail["labels"], json!({"owner": "ops"}));
    // A patch without labels keeps them.
    expect(
        &patch("alpha", json!({"description": "Core alpha v2"}), &admin),
        200,
        "description only",
    );
    let detail = server.get_json("/api/v1/packages/alpha", None);
    assert_eq!(detail["labels"], json!({"team": "core", "tier": "gold"}));
    assert_eq!(detail["description"], "Core alpha v2");

    let list = |query: &str| names(&server.get_json(&format!("/api/v1/packages{query}"), None));
    assert_eq!(list(""), ["alpha", "alpha-tools", "beta"]);
    assert_eq!(list("?prefix=alpha"), ["alpha", "alpha-tools"]);
    assert_eq!(list("?prefix=alpha-"), ["alpha-tools"]);
    assert_eq!(list("?prefix=zzz"), Vec::<String>::new());
    assert_eq!(list("?label=team=core"), ["alpha"]);
    assert_eq!(list("?label=team"), ["alpha", "beta"]);
    assert_eq!(list("?label=team=web"), ["beta"]);
    assert_eq!(list("?label=owner"), ["alpha-tools"]);
    assert_eq!(list("?status=archived"), ["beta"]);
    assert_eq!(list("?status=active"), ["alpha", "alpha-tools"]);
    assert_eq!(list("?status=active&label=team"), ["alpha"]);
    assert_eq!(list("?prefix=alpha&limit=1&offset=1"), ["alpha-tools"]);
    let paged = server.get_json("/api/v1/packages?limit=1", None);
    assert_eq!((names(&paged).len(), paged["total"].clone()), (1, json!(3)));
    for bad in [
        "?status=deleted",
        "?limit=0",
        "?limit=1001",
        "?offset=-1",
        "?colour=red",
    ] {
        let reply = server.get(&format!("/api/v1/packages{bad}"), None);
        expect(&reply, 400, bad);
        reply.error();
    }

    // An archived package takes no new version until it is active again.
    let beta2 = package_archive(&env, "pb2", "beta", "2.0.0", None);
    let refused = server.publish(&beta2, Some(&alice));
    expect(&refused, 409, "publish to an archived package");
    assert!(refused.error().contains("archived"));
    let versions = server.get_json("/api/v1/packages/beta/versions", None);
    assert_eq!(version_list(&versions), ["1.0.0"]);
    expect(
        &patch("beta", json!({"status": "active"}), &admin),
        200,
        "unarchive",
    );
    publish_ok(&server, &beta2, &alice, 201);

    // Patching needs level 4 and an existing package.
    let low = patch("alpha", json!({"description": "nope"}), &alice);
    expect(&low, 403, "level 2 patch");
    low.error();
    expect(
        &patch("missing", json!({"description": "x"}), &admin),
        404,
        "patch missing",
    );
    assert_eq!(
        server.get_json("/api/v1/packages/alpha", None)["description"],
        "Core alpha v2"
    );
    let actions = action_list(&server.get_json("/api/v1/packages/alpha/actions", None));
    assert_eq!(
        actions.iter().filter(|(a, _)| a == "update").count(),
        2,
        "{actions:?}"
    );
}

#[test]
fn yank_hides_versions_and_load_picks_the_highest_unyanked() {
    let (env, server) = sqlite_server(&[]);
    use_config(&env);
    let alice = token(&env, &server, 2, "alice");
    let admin = token(&env, &server, 4, "admin");
    let mut archives = Vec::new();
    for version in ["1.0.0", "1.1.0", "1.2.0", "2.0.0"] {
        let archive = package_archive(&env, &format!("g-{version}"), "gamma", version, None);
        publish_ok(&server, &archive, &alice, 201);
        archives.push(archive);
    }
    env.ok(["remote", "add", "reg", &server.url()]);

    let yank = |version: &str| {
        server.call(
            "DELETE",
            &format!("/api/v1/packages/gamma/{version}"),
            Some(&admin),
            None,
        )
    };
    let unyank = |version: &str| {
        server.call(
            "POST",
            &format!("/api/v1/packages/gamma/{version}/unyank"),
            Some(&admin),
            None,
        )
    };
    let yanked = yank("1.2.0");
    expect(&yanked, 200, "yank");
    assert_eq!(yanked.json()["version"], "1.2.0");
    assert_eq!(yanked.json()["yanked"], true);
    // Yanking again changes nothing (and records nothing).
    expect(&yank("1.2.0"), 200, "yank again");
    expect(&yank("9.9.9"), 404, "yank a missing version");

    let versions = server.get_json("/api/v1/packages/gamma/versions", None);
    assert_eq!(version_list(&versions), ["1.0.0", "1.1.0", "2.0.0"]);
    let all = server.get_json("/api/v1/packages/gamma/versions?yanked=true", None);
    assert_eq!(version_list(&all), ["1.0.0", "1.1.0", "1.2.0", "2.0.0"]);
    assert_eq!(all[2]["yanked"], true);
    let detail = server.get_json("/api/v1/packages/gamma", None);
    assert_eq!(
        version_list(&detail["versions"]),
        ["1.0.0", "1.1.0", "2.0.0"]
    );
    let ids = index_ids(&server, None);
    assert!(!ids.contains(&"gamma@1.2.0".to_string()), "{ids:?}");
    assert!(ids.contains(&"gamma@1.1.0".to_string()), "{ids:?}");
    // Still there by exact version.
    let exact = server.get("/api/v1/packages/gamma/1.2.0/download", None);
    expect(&exact, 200, "download of a yanked version");
    assert!(exact.body == archives[2]);
    expect(
        &server.get("/api/v1/packages/gamma/1.2.0", None),
        200,
        "manifest of a yanked version",
    );

    // The CLI resolves ^1 to 1.1.0 (1.2.0 is yanked), and =1.2.0 still loads.
    env.ok(["load", "gamma@^1", "--registry", "reg", "--prefix", "p1"]);
    assert_eq!(newest_history_source(&env), "registry:reg/gamma@1.1.0");
    env.ok([
        "load",
        "gamma@=1.2.0",
        "--registry",
        "reg",
        "--prefix",
        "p2",
    ]);
    assert_eq!(newest_history_source(&env), "registry:reg/gamma@1.2.0");
    env.ok(["load", "gamma", "--registry", "reg", "--prefix", "p3"]);
    assert_eq!(newest_history_source(&env), "registry:reg/gamma@2.0.0");
    let units: Value = serde_json::from_str(&env.ok([
        "unit",
        "list",
        "--space",
        "p1-drift-detector",
        "-o",
        "json",
    ]))
    .expect("json");
    assert_eq!(units.as_array().map(Vec::len), Some(3), "{units}");

    // Yanking the newest moves `latest` down.
    expect(&yank("2.0.0"), 200, "yank 2.0.0");
    let list = server.get_json("/api/v1/packages", None);
    assert_eq!(list["packages"][0]["latest"], "1.1.0", "{list}");
    assert_eq!(list["packages"][0]["versions"], 2, "{list}");
    env.fails(["load", "gamma@^2", "--registry", "reg", "--prefix", "p4"]);

    // Unyanking restores 1.2.0 everywhere.
    let back = unyank("1.2.0");
    expect(&back, 200, "unyank");
    assert_eq!(back.json()["yanked"], false);
    expect(&unyank("1.2.0"), 200, "unyank again");
    let versions = server.get_json("/api/v1/packages/gamma/versions", None);
    assert_eq!(version_list(&versions), ["1.0.0", "1.1.0", "1.2.0"]);
    assert!(index_ids(&server, None).contains(&"gamma@1.2.0".to_string()));
    assert_eq!(
        server.get_json("/api/v1/packages", None)["packages"][0]["latest"],
        "1.2.0"
    );
    env.ok(["load", "gamma@^1", "--registry", "reg", "--prefix", "p5"]);
    assert_eq!(newest_history_source(&env), "registry:reg/gamma@1.2.0");

    // The actions: every publish, each yank and unyank once, and the
    // downloads (written in batches, so poll).
    let actions = eventually(Duration::from_secs(5), || {
        let actions = action_list(&server.get_json("/api/v1/packages/gamma/actions", None));
        actions
            .iter()
            .filter(|(a, _)| a == "download")
            .count()
            .ge(&5)
            .then_some(actions)
    })
    .unwrap_or_else(|| {
        panic!(
            "download events never showed: {}",
            server.get("/api/v1/packages/gamma/actions", None).text()
        )
    });
    let count = |action: &str, version: &str| {
        actions
            .iter()
            .filter(|(a, v)| a == action && v == version)
            .count()
    };
    for version in ["1.0.0", "1.1.0", "1.2.0", "2.0.0"] {
        assert_eq!(count("publish", version), 1, "{actions:?}");
    }
    assert_eq!(count("yank", "1.2.0"), 1, "{actions:?}");
    assert_eq!(count("yank", "2.0.0"), 1, "{actions:?}");
    assert_eq!(count("unyank", "1.2.0"), 1, "{actions:?}");
    assert_eq!(count("download", "1.1.0"), 1, "{actions:?}");
    assert_eq!(count("download", "1.2.0"), 3, "{actions:?}");
    assert_eq!(count("download", "2.0.0"), 1, "{actions:?}");
    assert_eq!(actions[0].0, "download", "newest first: {actions:?}");
}

// ---------------------------------------------------------------------------
// Authentication and levels
// ---------------------------------------------------------------------------

/// Tokens at every level, a forged one and a revoked one.
struct Tokens {
    level: Vec<String>,
    forged: String,
    revoked: String,
}

impl Tokens {
    fn new(env: &Env, server: &PkgServer) -> Tokens {
        let mut level = vec![String::new()];
        for n in 1..=6u8 {
            level.push(token(env, server, n, &format!("level{n}")));
        }
        let (revoked, id) = create_token(env, server.store(), 6, "gone");
        revoke_token(env, server.store(), &id);
        Tokens {
            level,
            forged: forged_token(),
            revoked,
        }
    }

    fn at(&self, n: u8) -> &str {
        &self.level[usize::from(n)]
    }
}

/// One request header.
type Header<'a> = (&'a str, &'a str);

/// Tries `call` with no token, a token one level too low, a forged token,
/// a revoked token and a malformed header, expecting 403, 403, 401, 401 and
/// 401 with JSON errors; `unchanged` must hold after each refusal.
fn refused(
    what: &str,
    needed: u8,
    tokens: &Tokens,
    call: &dyn Fn(&[Header]) -> Reply,
    unchanged: &dyn Fn(),
) {
    let bearer = |t: &str| format!("Bearer {t}");
    let low = bearer(tokens.at(needed - 1));
    let forged = bearer(&tokens.forged);
    let revoked = bearer(&tokens.revoked);
    let long = bearer(&"a".repeat(300));
    let cases: Vec<(&str, Vec<Header>, u16)> = vec![
        ("no token", vec![], 403),
        ("level too low", vec![("Authorization", &low)], 403),
        ("forged token", vec![("Authorization", &forged)], 401),
        ("revoked token", vec![("Authorization", &revoked)], 401),
        ("basic auth", vec![("Authorization", "Basic YTpi")], 401),
        ("over-long token", vec![("Authorization", &long)], 401),
    ];
    for (case, headers, status) in cases {
        let reply = call(&headers);
        assert_eq!(reply.status, status, "{what} with {case}: {}", reply.text());
        let message = reply.error();
        if status == 403 {
            assert!(
                message.contains(&format!("needs level {needed}")),
                "{what}: {message}"
            );
        }
        unchanged();
    }
}

#[test]
fn auth_matrix_for_write_and_admin_endpoints() {
    let (env, server) = sqlite_server(&[]);
    let tokens = Tokens::new(&env, &server);
    let archive = package_archive(&env, "alpha", "alpha", "1.0.0", None);
    let with = |method: &'static str, path: String, body: Option<Vec<u8>>| {
        let url = format!("{}{path}", server.url());
        move |headers: &[(&str, &str)]| {
            crate::pkg_server::call(method, &url, headers, body.as_deref())
        }
    };
    let auth = |t: &str| format!("Bearer {t}");

    // Publish: level 2.
    let publish = with("POST", "/api/v1/packages".into(), Some(archive.clone()));
    refused("publish", 2, &tokens, &publish, &|| {
        assert_eq!(server.get_json("/api/v1/packages", None)["total"], 0);
    });
    expect(
        &publish(&[("Authorization", &auth(tokens.at(2)))]),
        201,
        "publish at level 2",
    );
    expect(
        &publish(&[("Authorization", &auth(tokens.at(6)))]),
        200,
        "publish at level 6",
    );

    // Metadata: level 4.
    let body = json!({"description": "patched"}).to_string().into_bytes();
    let patch = with("PATCH", "/api/v1/packages/alpha".into(), Some(body));
    let description = || server.get_json("/api/v1/packages/alpha", None)["description"].clone();
    let original = description();
    refused("patch", 4, &tokens, &patch, &|| {
        assert_eq!(description(), original);
    });
    expect(
        &patch(&[("Authorization", &auth(tokens.at(4)))]),
        200,
        "patch at level 4",
    );
    assert_eq!(description(), "patched");

    // Yank and unyank: level 4.
    let visible = || version_list(&server.get_json("/api/v1/packages/alpha/versions", None));
    let yank = with("DELETE", "/api/v1/packages/alpha/1.0.0".into(), None);
    refused("yank", 4, &tokens, &yank, &|| {
        assert_eq!(visible(), ["1.0.0"])
    });
    expect(
        &yank(&[("Authorization", &auth(tokens.at(4)))]),
        200,
        "yank at level 4",
    );
    assert!(visible().is_empty());
    let unyank = with("POST", "/api/v1/packages/alpha/1.0.0/unyank".into(), None);
    refused("unyank", 4, &tokens, &unyank, &|| {
        assert!(visible().is_empty())
    });
    expect(
        &unyank(&[("Authorization", &auth(tokens.at(5)))]),
        200,
        "unyank at level 5",
    );
    assert_eq!(visible(), ["1.0.0"]);

    // The audit log: level 5.
    let audit = with("GET", "/api/v1/audit".into(), None);
    refused("audit", 5, &tokens, &audit, &|| {});
    let log = audit(&[("Authorization", &auth(tokens.at(5)))]);
    expect(&log, 200, "audit at level 5");
    assert!(log.json().as_array().is_some_and(|a| !a.is_empty()));

    // Tokens: level 6.
    let token_count = || {
        let reply = server.get("/api/v1/tokens", Some(tokens.at(6)));
        expect(&reply, 200, "token list");
        reply.json().as_array().expect("array").len()
    };
    let count = token_count();
    assert_eq!(count, 7, "six levels and the revoked one");
    let list = with("GET", "/api/v1/tokens".into(), None);
    refused("token list", 6, &tokens, &list, &|| {});
    let listed = list(&[("Authorization", &auth(tokens.at(6)))]);
    expect(&listed, 200, "token list at level 6");
    let text = listed.text();
    for t in &tokens.level[1..] {
        assert!(!text.contains(t.as_str()), "the list shows a token");
    }
    assert!(!text.contains("pkg_"), "the list shows a token: {text}");
    let revoked_entry = listed
        .json()
        .as_array()
        .expect("array")
        .iter()
        .find(|t| t["name"] == "gone")
        .cloned()
        .expect("revoked token listed");
    assert_eq!(revoked_entry["revoked"], true);

    let body = json!({"name": "ci", "level": 2}).to_string().into_bytes();
    let create = with("POST", "/api/v1/tokens".into(), Some(body));
    refused("token create", 6, &tokens, &create, &|| {
        assert_eq!(token_count(), count);
    });
    let created = create(&[("Authorization", &auth(tokens.at(6)))]);
    expect(&created, 201, "token create at level 6");
    let created = created.json();
    let ci = created["token"].as_str().expect("token").to_string();
    let ci_id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["level"], 2);
    assert_eq!(token_count(), count + 1);
    // The new token works at its level.
    expect(
        &server.publish(&archive, Some(&ci)),
        200,
        "publish with the new token",
    );
    expect(
        &server.call("PATCH", "/api/v1/packages/alpha", Some(&ci), Some(b"{}")),
        403,
        "patch with the new level-2 token",
    );

    let revoke = with("DELETE", format!("/api/v1/tokens/{ci_id}"), None);
    refused("token revoke", 6, &tokens, &revoke, &|| {
        expect(
            &server.get("/api/v1/packages", Some(&ci)),
            200,
            "the token still works",
        );
    });
    let done = revoke(&[("Authorization", &auth(tokens.at(6)))]);
    expect(&done, 200, "revoke at level 6");
    assert_eq!(done.json()["revoked"], true);
    let after = server.get("/api/v1/packages", Some(&ci));
    expect(&after, 401, "a revoked token reads nothing");
    after.error();
    expect(
        &server.call(
            "DELETE",
            "/api/v1/tokens/ffffffffffff",
            Some(tokens.at(6)),
            None,
        ),
        404,
        "revoke an unknown id",
    );
    expect(
        &server.call("DELETE", "/api/v1/tokens/xyz", Some(tokens.at(6)), None),
        400,
        "revoke a malformed id",
    );

    // Forged and revoked tokens are refused for reads too; no token reads.
    for bad in [&tokens.forged, &tokens.revoked] {
        for path in [
            "/api/v1/packages",
            "/api/v1/packages/alpha",
            "/api/packages/index",
        ] {
            let reply = server.get(path, Some(bad));
            expect(&reply, 401, path);
            reply.error();
        }
    }
    expect(
        &server.get("/api/v1/packages/alpha", None),
        200,
        "anonymous read",
    );
}

#[test]
fn expired_tokens_are_refused() {
    let (env, server) = sqlite_server(&[]);
    let out = env.ok([
        "serve",
        "token",
        "create",
        "--store",
        server.store(),
        "--level",
        "6",
        "--name",
        "temp",
        "--expires",
        "1",
        "-o",
        "json",
    ]);
    let created: Value = serde_json::from_str(&out).expect("json");
    let temp = created["token"].as_str().expect("token").to_string();
    assert!(created["expires_at"].is_string(), "{created}");
    expect(
        &server.get("/api/v1/tokens", Some(&temp)),
        200,
        "before it expires",
    );

    // Let it expire: move its expiry into the past in the store.
    let key = format!(
        "tokens/{}",
        sha256(temp.as_bytes()).trim_start_matches("sha256:")
    );
    let conn = rusqlite::Connection::open(db(&env)).expect("open store");
    let value: Vec<u8> = conn
        .query_row("SELECT value FROM server_kv WHERE key = ?1", [&key], |r| {
            r.get(0)
        })
        .expect("the token's record is stored under the hash of the token");
    let mut record: Value = serde_json::from_slice(&value).expect("record JSON");
    assert!(
        !String::from_utf8_lossy(&value).contains(&temp),
        "the store holds the token itself"
    );
    record["expires_at"] = "2020-01-01T00:00:00Z".into();
    conn.execute(
        "UPDATE server_kv SET value = ?1 WHERE key = ?2",
        rusqlite::params![serde_json::to_vec(&record).expect("json"), key],
    )
    .expect("update");
    drop(conn);

    for (method, path) in [
        ("GET", "/api/v1/tokens"),
        ("GET", "/api/v1/packages"),
        ("POST", "/api/v1/packages"),
    ] {
        let reply = server.call(method, path, Some(&temp), Some(b"x"));
        expect(&reply, 401, path);
        assert!(reply.error().contains("expired"), "{}", reply.text());
    }
}

/// A server with `secret@1.0.0` (min_level 3), `mixed@1.0.0` (public) and
/// `mixed@2.0.0` (min_level 5), all published (and mixed@2.0.0 downloaded)
/// by a level-6 token; returns the environment, the server, that token and
/// the `secret` archive.
fn hidden_packages() -> (Env, PkgServer, String, Vec<u8>) {
    let (env, server) = sqlite_server(&[]);
    let publisher = token(&env, &server, 6, "publisher");
    let secret = package_archive(&env, "secret", "secret", "1.0.0", Some(3));
    publish_ok(&server, &secret, &publisher, 201);
    let m1 = package_archive(&env, "mixed-1", "mixed", "1.0.0", None);
    let m2 = package_archive(&env, "mixed-2", "mixed", "2.0.0", Some(5));
    publish_ok(&server, &m1, &publisher, 201);
    publish_ok(&server, &m2, &publisher, 201);
    expect(
        &server.get("/api/v1/packages/mixed/2.0.0/download", Some(&publisher)),
        200,
        "download",
    );
    (env, server, publisher, secret)
}

#[test]
fn min_level_hides_packages_and_versions_from_lower_levels() {
    let (env, server, publisher, secret) = hidden_packages();
    let l2 = token(&env, &server, 2, "user");
    let l3 = token(&env, &server, 3, "moderator");
    let l4 = token(&env, &server, 4, "admin");

    // Level 1 and 2 see `secret` exactly as a package that does not exist.
    let paths = |name: &str| {
        [
            format!("/api/v1/packages/{name}"),
            format!("/api/v1/packages/{name}/versions"),
            format!("/api/v1/packages/{name}/versions?yanked=true"),
            format!("/api/v1/packages/{name}/actions"),
            format!("/api/v1/packages/{name}/1.0.0"),
            format!("/api/v1/packages/{name}/1.0.0/download"),
        ]
    };
    for caller in [None, Some(l2.as_str())] {
        for (hidden, missing) in paths("secret").iter().zip(paths("absent")) {
            let got = server.get(hidden, caller);
            let like = server.get(&missing, caller);
            expect(&got, 404, hidden);
            assert_eq!(
                got.error().replace("secret", "NAME"),
                like.error().replace("absent", "NAME"),
                "{hidden} differs from a missing package"
            );
        }
        let list = server.get_json("/api/v1/packages", caller);
        assert_eq!(names(&list), ["mixed"], "{caller:?}");
        assert_eq!(list["total"], 1);
        let hits = server.get_json("/api/v1/packages/search?q=secret", caller);
        assert_eq!(hits["total"], 0, "{caller:?}: {hits}");
        let ids = index_ids(&server, caller);
        assert_eq!(ids, ["mixed@1.0.0"], "{caller:?}");
    }
    // Level 3 and above see it.
    for caller in [&l3, &l4, &publisher] {
        for path in paths("secret") {
            expect(&server.get(&path, Some(caller)), 200, &path);
        }
        let got = server.get("/api/v1/packages/secret/1.0.0/download", Some(caller));
        assert!(got.body == secret);
        assert!(index_ids(&server, Some(caller)).contains(&"secret@1.0.0".to_string()));
        let hits = server.get_json("/api/v1/packages/search?q=secret", Some(caller));
        assert_eq!(names(&hits), ["secret"]);
    }

    // A package with a hidden version shows only the versions a caller may read.
    for caller in [None, Some(l2.as_str()), Some(l4.as_str())] {
        let detail = server.get_json("/api/v1/packages/mixed", caller);
        assert_eq!(version_list(&detail["versions"]), ["1.0.0"], "{caller:?}");
        let versions = server.get_json("/api/v1/packages/mixed/versions?yanked=true", caller);
        assert_eq!(version_list(&versions), ["1.0.0"], "{caller:?}");
        let list = server.get_json("/api/v1/packages?prefix=mixed", caller);
        assert_eq!(list["packages"][0]["latest"], "1.0.0", "{caller:?}");
        assert_eq!(list["packages"][0]["versions"], 1, "{caller:?}");
        let ids = index_ids(&server, caller);
        assert!(
            ids.contains(&"mixed@1.0.0".to_string()) && !ids.contains(&"mixed@2.0.0".to_string()),
            "{caller:?}: {ids:?}"
        );
        for path in [
            "/api/v1/packages/mixed/2.0.0",
            "/api/v1/packages/mixed/2.0.0/download",
        ] {
            let got = server.get(path, caller);
            let like = server.get(&path.replace("2.0.0", "3.0.0"), caller);
            expect(&got, 404, path);
            assert_eq!(
                got.error().replace("2.0.0", "V"),
                like.error().replace("3.0.0", "V"),
                "{path} differs from a missing version"
            );
        }
    }
    let detail = server.get_json("/api/v1/packages/mixed", Some(&publisher));
    assert_eq!(version_list(&detail["versions"]), ["1.0.0", "2.0.0"]);
    let list = server.get_json("/api/v1/packages?prefix=mixed", Some(&publisher));
    assert_eq!(list["packages"][0]["latest"], "2.0.0");

    // A level-4 admin may patch a package it can see (level 4 >= 3), not
    // one above its level.
    let patch = |name: &str, who: &str| {
        server.call(
            "PATCH",
            &format!("/api/v1/packages/{name}"),
            Some(who),
            Some(b"{\"description\":\"x\"}"),
        )
    };
    expect(&patch("secret", &l4), 200, "patch a package at level 3");
    let top = package_archive(&env, "top", "top", "1.0.0", Some(5));
    publish_ok(&server, &top, &publisher, 201);
    let refused = patch("top", &l4);
    expect(&refused, 404, "patch a package above the caller's level");
    assert_eq!(refused.error(), "package `top` not found");
    assert_ne!(
        server.get_json("/api/v1/packages/top", Some(&publisher))["description"],
        "x"
    );
}

#[test]
fn actions_do_not_reveal_versions_above_the_callers_level() {
    let (env, server, _publisher, _secret) = hidden_packages();
    let l2 = token(&env, &server, 2, "user");
    let l4 = token(&env, &server, 4, "admin");
    let mut leaks = Vec::new();
    for caller in [None, Some(l2.as_str()), Some(l4.as_str())] {
        // mixed@2.0.0 needs level 5: these callers get 404 for it...
        expect(
            &server.get("/api/v1/packages/mixed/2.0.0", caller),
            404,
            "hidden version",
        );
        // ...so neither the actions nor the detail's recent actions may
        // name it (its publish and download events).
        let actions = server.get_json("/api/v1/packages/mixed/actions", caller);
        if action_list(&actions).iter().any(|(_, v)| v == "2.0.0") {
            leaks.push(format!(
                "GET /api/v1/packages/mixed/actions as {caller:?}: {actions}"
            ));
        }
        let detail = server.get_json("/api/v1/packages/mixed", caller);
        if action_list(&detail["recent_actions"])
            .iter()
            .any(|(_, v)| v == "2.0.0")
        {
            leaks.push(format!(
                "GET /api/v1/packages/mixed recent_actions as {caller:?}: {}",
                detail["recent_actions"]
            ));
        }
    }
    assert!(
        leaks.is_empty(),
        "the hidden version 2.0.0 (min_level 5) shows in:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn publish_conflicts_do_not_reveal_hidden_versions() {
    let (env, server, publisher, secret) = hidden_packages();
    let l2 = token(&env, &server, 2, "user");
    let hidden = server.get_json("/api/v1/packages/secret/versions", Some(&publisher));
    let package_digest = hidden[0]["package_digest"].as_str().expect("digest");
    let archive_digest = sha256(&secret);

    // A level-2 caller (who gets 404 for secret@1.0.0) publishes other
    // content under that name and version.
    let dir = make_package(&env, "secret-other", "secret", "1.0.0", None);
    change_content(&dir, "someone else's");
    let reply = server.publish(&pack(&env, &dir), Some(&l2));
    assert_ne!(reply.status, 201, "{}", reply.text());
    assert!(reply.status < 500, "{}", reply.text());
    let text = reply.text();
    assert!(
        !text.contains(package_digest) && !text.contains(&archive_digest),
        "POST /api/v1/packages of secret@1.0.0 by a level-2 token reveals the digest of the \
         hidden version (min_level 3): {} {text}",
        reply.status
    );
    // And the hidden version is untouched.
    let got = server.get("/api/v1/packages/secret/1.0.0/download", Some(&publisher));
    assert!(got.body == secret);
}

#[test]
fn admins_cannot_yank_versions_above_their_level() {
    let (env, server, publisher, _secret) = hidden_packages();
    let l4 = token(&env, &server, 4, "admin");
    // mixed@2.0.0 needs level 5: to a level-4 admin it does not exist.
    let missing = server.call("DELETE", "/api/v1/packages/mixed/3.0.0", Some(&l4), None);
    expect(&missing, 404, "yank a missing version");
    let yank = server.call("DELETE", "/api/v1/packages/mixed/2.0.0", Some(&l4), None);
    let all = server.get_json(
        "/api/v1/packages/mixed/versions?yanked=true",
        Some(&publisher),
    );
    assert_eq!(
        (yank.status, all[1]["yanked"].clone()),
        (404, json!(false)),
        "DELETE /api/v1/packages/mixed/2.0.0 (min_level 5) by a level-4 token should be 404 \
         like a missing version and yank nothing; it answered {} {}",
        yank.status,
        yank.text()
    );
    let unyank = server.call(
        "POST",
        "/api/v1/packages/mixed/2.0.0/unyank",
        Some(&l4),
        None,
    );
    expect(&unyank, 404, "unyank a version above the caller's level");
}

#[test]
fn audit_log_records_every_write_and_who_made_it() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let admin = token(&env, &server, 4, "admin");
    let auditor = token(&env, &server, 5, "auditor");
    let archive = package_archive(&env, "alpha", "alpha", "1.0.0", None);

    expect(&server.publish(&archive, Some(&alice)), 201, "publish");
    expect(&server.publish(&archive, None), 403, "anonymous publish");
    expect(
        &server.publish(&archive, Some(&forged_token())),
        401,
        "forged publish",
    );
    expect(
        &server.call(
            "PATCH",
            "/api/v1/packages/alpha",
            Some(&admin),
            Some(b"{\"labels\":{\"a\":\"b\"}}"),
        ),
        200,
        "patch",
    );
    let yank = server.call("DELETE", "/api/v1/packages/alpha/1.0.0", Some(&admin), None);
    expect(&yank, 200, "yank");
    // Reads are not audited.
    server.get_json("/api/v1/packages", Some(&alice));
    server.get_json("/api/v1/packages/alpha", Some(&admin));

    expect(
        &server.get("/api/v1/audit", Some(&admin)),
        403,
        "audit at level 4",
    );
    let log = server.get_json("/api/v1/audit", Some(&auditor));
    let entries: Vec<(String, String, u64)> = log
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["who"].as_str().expect("who").to_string(),
                e["what"].as_str().expect("what").to_string(),
                e["status"].as_u64().expect("status"),
            )
        })
        .collect();
    let expected: Vec<(String, String, u64)> = [
        ("admin", "DELETE /api/v1/packages/alpha/1.0.0", 200),
        ("admin", "PATCH /api/v1/packages/alpha", 200),
        ("invalid token", "POST /api/v1/packages", 401),
        ("anonymous", "POST /api/v1/packages", 403),
        ("alice", "POST /api/v1/packages", 201),
    ]
    .iter()
    .map(|(w, x, s)| (w.to_string(), x.to_string(), *s))
    .collect();
    assert_eq!(entries, expected, "newest first, writes only");
    let newest = &log[0];
    assert_eq!(
        newest["request_id"].as_str(),
        yank.header("x-request-id"),
        "the audit entry carries the request id"
    );
    assert!(
        newest["at"].as_str().is_some_and(|t| regex::Regex::new(
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
        )
        .expect("regex")
        .is_match(t)),
        "{newest}"
    );
    let one = server.get_json("/api/v1/audit?limit=1", Some(&auditor));
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    expect(
        &server.get("/api/v1/audit?limit=0", Some(&auditor)),
        400,
        "limit 0",
    );
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

/// A package dir whose manifest is edited by `edit`, archived with
/// [`tar_gz`] (so `pkg pack` cannot refuse it first).
fn hand_made(env: &Env, dir: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let path = make_package(env, dir, "placeholder", "1.0.0", None);
    edit_manifest(&path, edit);
    tar_gz(&path)
}

#[test]
fn invalid_packages_are_refused_with_400_and_nothing_stored() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");

    // A hand-made archive of a good package is accepted (the check below
    // is about the packages, not the archive tool).
    let good = hand_made(&env, "good", |m| m["name"] = "good".into());
    publish_ok(&server, &good, &alice, 201);
    let longest = hand_made(&env, "longest", |m| m["name"] = "a".repeat(64).into());
    publish_ok(&server, &longest, &alice, 201);
    let rows = store_rows(&db(&env), "registry/");
    let files = blob_files(&blobs(&env));

    let mut bad: Vec<(&str, Vec<u8>)> = vec![
        (
            "name of 65 bytes",
            hand_made(&env, "b1", |m| m["name"] = "a".repeat(65).into()),
        ),
        (
            "name with ..",
            hand_made(&env, "b2", |m| m["name"] = "../evil".into()),
        ),
        (
            "name with a slash",
            hand_made(&env, "b3", |m| m["name"] = "a/b".into()),
        ),
        (
            "name with %2F",
            hand_made(&env, "b4", |m| m["name"] = "a%2Fb".into()),
        ),
        (
            "upper-case name",
            hand_made(&env, "b5", |m| m["name"] = "Alpha".into()),
        ),
        (
            "reserved name",
            hand_made(&env, "b6", |m| m["name"] = "search".into()),
        ),
        (
            "reserved name",
            hand_made(&env, "b7", |m| m["name"] = "index".into()),
        ),
        (
            "empty name",
            hand_made(&env, "b8", |m| m["name"] = "".into()),
        ),
        (
            "no name",
            hand_made(&env, "b9", |m| {
                m.as_object_mut().expect("object").remove("name");
            }),
        ),
        (
            "version not semver",
            hand_made(&env, "b10", |m| m["version"] = "1.0".into()),
        ),
        (
            "no version",
            hand_made(&env, "b11", |m| {
                m.as_object_mut().expect("object").remove("version");
            }),
        ),
        (
            "no digests",
            hand_made(&env, "b12", |m| {
                m["name"] = "nodigests".into();
                m.as_object_mut().expect("object").remove("digests");
            }),
        ),
        (
            "a digest of other bytes",
            hand_made(&env, "b13", |m| {
                m["name"] = "tampered".into();
                m["digests"][crate::pkg_server::CHANGED_FILE] =
                    format!("sha256:{}", "0".repeat(64)).into();
            }),
        ),
        ("not an archive", b"hello, this is not a package".to_vec()),
        ("empty body", Vec::new()),
        ("truncated archive", good[..good.len() / 2].to_vec()),
    ];
    // A file changed after its digest was written.
    let tampered = make_package(&env, "b14", "tampered2", "1.0.0", None);
    let file = tampered.join(crate::pkg_server::CHANGED_FILE.trim_start_matches('/'));
    let mut data = std::fs::read(&file).expect("read");
    data.extend_from_slice(b"# sneaked in\n");
    std::fs::write(&file, data).expect("write");
    bad.push(("a file that does not match its digest", tar_gz(&tampered)));

    for (what, body) in &bad {
        let reply = server.publish(body, Some(&alice));
        expect(&reply, 400, what);
        reply.error();
    }
    assert_eq!(
        store_rows(&db(&env), "registry/"),
        rows,
        "something was stored"
    );
    assert_eq!(blob_files(&blobs(&env)), files, "a blob was stored");
    let list = server.get_json("/api/v1/packages", None);
    assert_eq!(list["total"], 2, "{list}");
    for name in ["tampered", "tampered2", "nodigests"] {
        expect(
            &server.get(&format!("/api/v1/packages/{name}"), None),
            404,
            name,
        );
    }
}

#[test]
fn hostile_path_parameters_are_4xx_and_touch_nothing() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let admin = token(&env, &server, 6, "root");
    let archive = package_archive(&env, "alpha", "alpha", "1.0.0", None);
    publish_ok(&server, &archive, &alice, 201);
    let rows = store_rows(&db(&env), "registry/");
    let files = blob_files(&blobs(&env));
    let long = "a".repeat(65);

    let names = [
        long.as_str(),
        "..",
        "%2e%2e",
        "..%2F..%2Fetc",
        "alpha%2F1.0.0",
        "a%2Fb",
        "%2Fetc%2Fpasswd",
        "Alpha",
        "%FF%FE",
        "alpha%00",
        "search%2F..",
    ];
    let versions = [
        "..",
        "%2e%2e",
        "1.0.0%2F..",
        "..%2F..%2Fsecret",
        "1.0",
        "%FF",
    ];
    let mut requests: Vec<(&str, String, Option<Vec<u8>>)> = Vec::new();
    let patch_body = br#"{"description":"owned"}"#.to_vec();
    for name in names {
        requests.push(("GET", format!("/api/v1/packages/{name}"), None));
        requests.push(("GET", format!("/api/v1/packages/{name}/versions"), None));
        requests.push(("GET", format!("/api/v1/packages/{name}/actions"), None));
        requests.push(("GET", format!("/api/v1/packages/{name}/1.0.0"), None));
        requests.push((
            "GET",
            format!("/api/v1/packages/{name}/1.0.0/download"),
            None,
        ));
        requests.push((
            "PATCH",
            format!("/api/v1/packages/{name}"),
            Some(patch_body.clone()),
        ));
        requests.push(("DELETE", format!("/api/v1/packages/{name}/1.0.0"), None));
        requests.push((
            "POST",
            format!("/api/v1/packages/{name}/1.0.0/unyank"),
            None,
        ));
    }
    for version in versions {
        requests.push(("GET", format!("/api/v1/packages/alpha/{version}"), None));
        requests.push((
            "GET",
            format!("/api/v1/packages/alpha/{version}/download"),
            None,
        ));
        requests.push(("DELETE", format!("/api/v1/packages/alpha/{version}"), None));
        requests.push((
            "POST",
            format!("/api/v1/packages/alpha/{version}/unyank"),
            None,
        ));
    }
    for raw in [
        "/api/v1/packages/../../../etc/passwd",
        "/api/v1/packages/alpha/../../../../etc/passwd",
        "/api/v1/packages/alpha/1.0.0/download/../../../../secret",
        "/api/v1/packages//1.0.0/download",
        "/api/v1/tokens/..%2F..",
    ] {
        requests.push(("GET", raw.to_string(), None));
        requests.push(("DELETE", raw.to_string(), None));
    }

    for (method, path, body) in &requests {
        let reply = server.call(method, path, Some(&admin), body.as_deref());
        assert!(
            (400..500).contains(&reply.status),
            "{method} {path}: {} {}",
            reply.status,
            reply.text()
        );
        reply.error();
    }
    assert_eq!(
        store_rows(&db(&env), "registry/"),
        rows,
        "something was stored"
    );
    assert_eq!(blob_files(&blobs(&env)), files, "a blob was stored");
    let detail = server.get_json("/api/v1/packages/alpha", None);
    assert_eq!(
        detail["description"],
        "Detects drift between ConfigHub units and live clusters"
    );
    assert_eq!(version_list(&detail["versions"]), ["1.0.0"]);
    // Over-long names in particular are a 400 with the reason.
    let reply = server.get(&format!("/api/v1/packages/{long}"), None);
    expect(&reply, 400, "65-byte name");
    assert!(reply.error().contains("longer than 64"), "{}", reply.text());
}

#[test]
fn malformed_json_bodies_are_400() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let root = token(&env, &server, 6, "root");
    publish_ok(
        &server,
        &package_archive(&env, "alpha", "alpha", "1.0.0", None),
        &alice,
        201,
    );
    let detail = server.get_json("/api/v1/packages/alpha", None);
    let long_description = json!({ "description": "x".repeat(5000) }).to_string();
    let many_labels = json!({
        "labels": (0..65).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()
    })
    .to_string();
    let mut offenders = Vec::new();
    let mut send = |method: &str, path: &str, body: &str| {
        let reply = server.call(method, path, Some(&root), Some(body.as_bytes()));
        if reply.status == 400 {
            reply.error();
        } else {
            offenders.push(format!(
                "{method} {path} with body {body:?}: {} {}",
                reply.status,
                reply.text()
            ));
        }
    };

    // Objects of the wrong shape, and what is not JSON at all.
    for body in [
        "",
        "{not json",
        "null",
        r#"{"labels": "team=core"}"#,
        r#"{"labels": {"team": 1}}"#,
        r#"{"labels": {"a=b": "c"}}"#,
        r#"{"labels": {"": "c"}}"#,
        r#"{"status": "deleted"}"#,
        r#"{"status": "ARCHIVED"}"#,
        r#"{"bogus": true}"#,
        r#"{"description": 42}"#,
        long_description.as_str(),
        many_labels.as_str(),
    ] {
        send("PATCH", "/api/v1/packages/alpha", body);
    }
    let tokens_before = server.get_json("/api/v1/tokens", Some(&root));
    for body in [
        "{",
        r#"{"name": "x"}"#,
        r#"{"name": "x", "level": 0}"#,
        r#"{"name": "x", "level": 7}"#,
        r#"{"name": "x", "level": "admin"}"#,
        r#"{"name": "", "level": 2}"#,
        r#"{"name": "x", "level": 2, "extra": 1}"#,
    ] {
        send("POST", "/api/v1/tokens", body);
    }
    // JSON that is not an object at all: a PATCH body or a new token is an
    // object, so an array, a string or a number is a 400 too.
    for body in ["[]", r#"["replaced by an array"]"#, r#""text""#, "42"] {
        send("PATCH", "/api/v1/packages/alpha", body);
    }
    for body in [r#"["from-an-array", 2, null]"#, "[]"] {
        send("POST", "/api/v1/tokens", body);
    }

    // Unknown routes and methods are JSON errors too.
    let reply = server.call("PUT", "/api/v1/packages/alpha", Some(&root), Some(b"{}"));
    expect(&reply, 405, "PUT");
    reply.error();
    let reply = server.get("/api/v2/packages", None);
    expect(&reply, 404, "unknown route");
    reply.error();

    assert!(
        offenders.is_empty(),
        "bodies that should be 400:\n{}",
        offenders.join("\n")
    );
    // Nothing changed, and no update was recorded.
    let mut after = server.get_json("/api/v1/packages/alpha", None);
    after["recent_actions"] = detail["recent_actions"].clone();
    assert_eq!(after, detail, "a refused patch changed the package");
    assert!(
        action_list(&server.get_json("/api/v1/packages/alpha/actions", None))
            .iter()
            .all(|(a, _)| a != "update")
    );
    assert_eq!(
        server.get_json("/api/v1/tokens", Some(&root)),
        tokens_before
    );
}

#[test]
fn oversized_bodies_are_413() {
    let (env, server) = sqlite_server(&["--max-body", "1000"]);
    let alice = token(&env, &server, 2, "alice");
    let archive = package_archive(&env, "alpha", "alpha", "1.0.0", None);
    assert!(
        archive.len() > 1000,
        "the archive is {} bytes",
        archive.len()
    );

    let reply = server.publish(&archive, Some(&alice));
    expect(&reply, 413, "publish over --max-body");
    assert!(reply.error().contains("larger"), "{}", reply.text());

    // The same without a Content-Length (chunked): still 413.
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut request = format!(
        "POST /api/v1/packages HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {alice}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr()
    )
    .into_bytes();
    for chunk in archive.chunks(300) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let _ = stream.write_all(&request);
    let reply = read_reply(&mut stream, false).expect("a response to the chunked upload");
    expect(&reply, 413, "chunked publish over --max-body");
    reply.error();

    // A PATCH body over the limit too.
    let admin = token(&env, &server, 4, "admin");
    let big = json!({"description": "x".repeat(2000)}).to_string();
    let reply = server.call(
        "PATCH",
        "/api/v1/packages/alpha",
        Some(&admin),
        Some(big.as_bytes()),
    );
    expect(&reply, 413, "patch over --max-body");
    reply.error();

    // Small bodies still get through to the checks.
    expect(
        &server.publish(b"not an archive", Some(&alice)),
        400,
        "small body",
    );
    let list = server.get_json("/api/v1/packages", None);
    assert_eq!(list["total"], 0, "{list}");
    assert!(blob_files(&blobs(&env)).is_empty());
}

/// Sends `prefix` at once, then `trickle` one byte per second, until the
/// server closes the connection or answers; returns how long that took
/// (from the first byte) and what the server sent.
fn trickle(addr: &str, prefix: &[u8], trickle: &[u8]) -> (Duration, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(1000)))
        .expect("timeout");
    let start = Instant::now();
    let mut got = Vec::new();
    if stream.write_all(prefix).is_err() {
        return (start.elapsed(), got);
    }
    let mut buf = [0u8; 4096];
    for byte in trickle {
        if stream.write_all(&[*byte]).is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => return (start.elapsed(), got),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                return (start.elapsed(), got);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (start.elapsed(), got),
        }
    }
    (start.elapsed(), got)
}

#[test]
fn slow_clients_are_cut_off_and_others_still_served() {
    let (env, server) = sqlite_server(&["--header-timeout", "2", "--request-timeout", "2"]);
    let alice = token(&env, &server, 2, "alice");
    let addr = server.addr();
    let long_line = format!(
        "GET /healthz?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(60)
    );
    let body_head = format!(
        "POST /api/v1/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
    );
    let slow_body = vec![b'x'; 60];
    std::thread::scope(|scope| {
        // Three clients trickling a request line, one trickling headers,
        // one trickling a body.
        let mut header_clients = Vec::new();
        for _ in 0..3 {
            header_clients.push(scope.spawn(|| trickle(&addr, b"", long_line.as_bytes())));
        }
        header_clients.push(scope.spawn(|| {
            trickle(
                &addr,
                b"GET /healthz HTTP/1.1\r\n",
                format!("X-Slow: {}\r\n\r\n", "b".repeat(60)).as_bytes(),
            )
        }));
        let body_client = scope.spawn(|| trickle(&addr, body_head.as_bytes(), &slow_body));

        // Meanwhile others are answered promptly.
        std::thread::sleep(Duration::from_millis(500));
        for _ in 0..5 {
            let start = Instant::now();
            let reply = server.get("/healthz", None);
            expect(&reply, 200, "healthz during slow clients");
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "healthz took {:?} while slow clients were connected",
                start.elapsed()
            );
            std::thread::sleep(Duration::from_millis(300));
        }

        for client in header_clients {
            let (took, got) = client.join().expect("slow client");
            assert!(
                took < Duration::from_secs(5),
                "a client trickling its request head was connected for {took:?} (--header-timeout 2)"
            );
            let text = String::from_utf8_lossy(&got);
            assert!(
                !text.starts_with("HTTP/1.1 200"),
                "a trickled request was served: {text}"
            );
        }
        let (took, got) = body_client.join().expect("slow body client");
        assert!(
            took < Duration::from_secs(5),
            "a client trickling its body was connected for {took:?} (--request-timeout 2)"
        );
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.starts_with("HTTP/1.1 408"),
            "a slow body should get 408: {text:?}"
        );
        assert!(text.contains("\"error\""), "408 is a JSON error: {text}");
    });
    expect(
        &server.get("/healthz", None),
        200,
        "healthz after slow clients",
    );
    let list = server.get_json("/api/v1/packages", None);
    assert_eq!(list["total"], 0);
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

#[test]
fn health_version_and_metrics() {
    let (env, server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    assert_eq!(server.get_json("/healthz", None), json!({"status": "ok"}));
    assert_eq!(
        server.get_json("/readyz", None),
        json!({"status": "ready", "store": "sqlite"})
    );
    assert_eq!(
        server.get_json("/api/v1/version", None),
        json!({"server": "pkg", "version": env!("CARGO_PKG_VERSION"), "store": "sqlite"})
    );
    publish_ok(
        &server,
        &package_archive(&env, "alpha", "alpha", "1.0.0", None),
        &alice,
        201,
    );
    server.get_json("/api/v1/packages/alpha", None);
    expect(&server.get("/api/v1/packages/nope", None), 404, "missing");
    let with_id = crate::pkg_server::call(
        "GET",
        &format!("{}/healthz", server.url()),
        &[("X-Request-Id", "trace-123_abc")],
        None,
    );
    assert_eq!(with_id.header("x-request-id"), Some("trace-123_abc"));
    let generated = crate::pkg_server::call(
        "GET",
        &format!("{}/healthz", server.url()),
        &[("X-Request-Id", "bad id with spaces")],
        None,
    );
    assert!(
        generated
            .header("x-request-id")
            .is_some_and(|id| id != "bad id with spaces" && !id.is_empty())
    );

    let metrics = server.get("/metrics", None);
    expect(&metrics, 200, "metrics");
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        metrics.headers
    );
    let text = metrics.text();
    let samples: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    assert!(!samples.is_empty());
    for line in &samples {
        assert!(line.starts_with("pkg_"), "a metric not named pkg_*: {line}");
    }
    let counted = |route: &str, status: &str| {
        samples.iter().any(|l| {
            l.starts_with("pkg_http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(counted("/api/v1/packages", "201"), "{text}");
    assert!(counted("/api/v1/packages/{name}", "200"), "{text}");
    assert!(counted("/api/v1/packages/{name}", "404"), "{text}");
    assert!(text.contains("pkg_http_request_duration_seconds"), "{text}");
    assert!(text.contains("pkg_store_duration_seconds"), "{text}");
}

#[test]
fn sigterm_stops_gracefully_and_keeps_queued_download_events() {
    let (env, mut server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let archive = package_archive(&env, "alpha", "alpha", "1.0.0", None);
    publish_ok(&server, &archive, &alice, 201);
    expect(
        &server.get("/api/v1/packages/alpha/1.0.0/download", None),
        200,
        "download",
    );
    // Stop at once: the download event is still queued.
    let addr = server.addr();
    let status = server.stop();
    assert_eq!(status.code(), Some(0), "exit after SIGTERM: {status}");
    assert!(server.stderr().contains("stopped"), "{}", server.stderr());
    assert!(
        TcpStream::connect(&addr).is_err(),
        "still listening after exit"
    );

    let mut again = PkgServer::start(&env, &sqlite_store(&env), &[]);
    let actions = action_list(&again.get_json("/api/v1/packages/alpha/actions", None));
    assert_eq!(
        actions,
        [
            ("download".to_string(), "1.0.0".to_string()),
            ("publish".to_string(), "1.0.0".to_string())
        ],
        "the queued download event was written at shutdown"
    );
    let download = again.get("/api/v1/packages/alpha/1.0.0/download", None);
    assert!(download.body == archive, "the archive survives a restart");
    let status = again.stop_with(libc::SIGINT);
    assert_eq!(status.code(), Some(0), "exit after SIGINT: {status}");
}

#[test]
fn sigterm_lets_an_in_flight_publish_finish() {
    let (env, mut server) = sqlite_server(&[]);
    let alice = token(&env, &server, 2, "alice");
    let archive = package_archive(&env, "alpha", "alpha", "1.0.0", None);
    let (first, rest) = archive.split_at(archive.len() / 2);

    // Half an upload is on the wire when the signal comes.
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "POST /api/v1/packages HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {alice}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr(),
        archive.len()
    );
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(first).expect("send half");
    std::thread::sleep(Duration::from_millis(500));
    server.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !server.has_exited(),
        "the server exited with a request in flight"
    );
    // No new connections are taken meanwhile.
    let refused = eventually(Duration::from_secs(5), || {
        TcpStream::connect(server.addr()).is_err().then_some(())
    });
    assert!(refused.is_some(), "still accepting after SIGTERM");

    // The rest of the upload arrives; the publish completes.
    stream.write_all(rest).expect("send the rest");
    let reply = read_reply(&mut stream, false).expect("a response to the in-flight publish");
    expect(&reply, 201, "in-flight publish");
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "exit after SIGTERM: {status}");

    let again = PkgServer::start(&env, &sqlite_store(&env), &[]);
    let download = again.get("/api/v1/packages/alpha/1.0.0/download", None);
    expect(&download, 200, "the in-flight publish was stored");
    assert!(download.body == archive);
}

// ---------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------

#[test]
fn cli_remote_add_list_login_and_remove() {
    let (env, server) = sqlite_server(&[]);
    let config = use_config(&env);
    let credentials = env.path("conf/credentials.toml");
    env.ok(["remote", "add", "main", &server.url()]);
    let dead = format!("http://127.0.0.1:{}", dead_port());
    env.ok(["remote", "add", "dead", &dead]);
    let text = std::fs::read_to_string(&config).expect("config file");
    assert!(text.contains("[remotes.main]"), "{text}");

    let list = |env: &Env| -> Vec<Value> {
        serde_json::from_str::<Value>(&env.ok(["remote", "list", "-o", "json"]))
            .expect("json")
            .as_array()
            .expect("array")
            .clone()
    };
    let remotes = list(&env);
    assert_eq!(remotes.len(), 2, "{remotes:?}");
    let main = remotes.iter().find(|r| r["name"] == "main").expect("main");
    assert_eq!(main["url"], format!("{}/", server.url()).as_str());
    assert_eq!(main["reachable"], true, "{main}");
    assert_eq!(main["server_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(main["store"], "sqlite");
    assert_eq!(main["token"], "none");
    let gone = remotes.iter().find(|r| r["name"] == "dead").expect("dead");
    assert_eq!(gone["reachable"], false, "{gone}");
    assert!(
        gone["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{gone}"
    );

    // login: the token goes to credentials.toml (0600), never the config.
    let (secret, _) = create_token(&env, server.store(), 2, "alice");
    login(&env, "main", &secret);
    let mode = std::fs::metadata(&credentials)
        .expect("credentials.toml")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "credentials mode {mode:o}");
    assert!(
        std::fs::read_to_string(&credentials)
            .expect("read")
            .contains(&secret)
    );
    assert!(
        !std::fs::read_to_string(&config)
            .expect("read")
            .contains(&secret)
    );
    let main = list(&env)
        .into_iter()
        .find(|r| r["name"] == "main")
        .expect("main");
    assert_eq!(main["token"], "stored");
    // A second login keeps the file private even if someone loosened it.
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (other, _) = create_token(&env, server.store(), 2, "alice2");
    login(&env, "main", &other);
    let mode = std::fs::metadata(&credentials)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "credentials mode after re-login {mode:o}"
    );
    let stored = std::fs::read_to_string(&credentials).expect("read");
    assert!(
        stored.contains(&other) && !stored.contains(&secret),
        "{stored}"
    );

    // Bad input.
    env.fails(["remote", "login", "nope"]);
    env.fails(["remote", "add", "x", "ftp://127.0.0.1/"]);
    env.fails(["remote", "add", "x", "http://user:pw@127.0.0.1/"]);
    env.fails(["remote", "add", "bad name", &server.url()]);

    // remove drops the remote and its token.
    env.ok(["remote", "remove", "main"]);
    let remotes = list(&env);
    assert_eq!(remotes.len(), 1);
    assert_eq!(remotes[0]["name"], "dead");
    assert!(
        !std::fs::read_to_string(&credentials)
            .expect("read")
            .contains(&other)
    );
    env.fails(["remote", "remove", "main"]);
}

#[test]
fn cli_publish_search_and_load_through_a_registry() {
    let (env, server) = sqlite_server(&[]);
    use_config(&env);
    env.ok(["remote", "add", "main", &server.url()]);
    let web1 = make_package(&env, "web-1", "web", "1.0.0", None);
    let web1_arg = web1.to_str().expect("utf-8");

    // No token: refused by the server, and the CLI says so.
    let stderr = env.fails(["publish", web1_arg, "--registry", "main"]);
    assert!(stderr.contains("403"), "{stderr}");
    assert_eq!(server.get_json("/api/v1/packages", None)["total"], 0);

    let (secret, _) = create_token(&env, server.store(), 2, "alice");
    login(&env, "main", &secret);
    let out: Value =
        serde_json::from_str(&env.ok(["publish", web1_arg, "--registry", "main", "-o", "json"]))
            .expect("json");
    assert_eq!(out["created"], true, "{out}");
    assert_eq!(out["name"], "web");
    assert_eq!(out["registry"], "main");
    let again: Value =
        serde_json::from_str(&env.ok(["publish", web1_arg, "--registry", "main", "-o", "json"]))
            .expect("json");
    assert_eq!(again["created"], false, "{again}");
    // What the CLI uploaded is what `pkg pack` writes.
    let download = server.get("/api/v1/packages/web/1.0.0/download", None);
    assert!(
        download.body == pack(&env, &web1),
        "the upload is not the packed archive"
    );

    let web2 = make_package(&env, "web-2", "web", "1.1.0", None);
    env.ok([
        "publish",
        web2.to_str().expect("utf-8"),
        "--registry",
        "main",
    ]);
    let other = make_package(&env, "other", "other-web", "0.1.0", None);
    env.ok([
        "publish",
        other.to_str().expect("utf-8"),
        "--registry",
        "main",
    ]);

    let hits: Value =
        serde_json::from_str(&env.ok(["search", "web", "--registry", "main", "-o", "json"]))
            .expect("json");
    assert_eq!(names(&hits), ["web", "other-web"]);
    assert_eq!(hits["packages"][0]["latest"], "1.1.0");
    let table = env.ok(["search", "web", "--registry", "main"]);
    assert!(table.contains("web") && table.contains("1.1.0"), "{table}");
    let none: Value =
        serde_json::from_str(&env.ok(["search", "zzz", "--registry", "main", "-o", "json"]))
            .expect("json");
    assert_eq!(none["total"], 0);

    env.ok(["load", "web@^1.0", "--registry", "main", "--prefix", "reg"]);
    let history: Value = serde_json::from_str(&env.ok(["history", "-o", "json"])).expect("json");
    assert_eq!(history[0]["source"], "registry:main/web@1.1.0", "{history}");
    let record = server.get_json("/api/v1/packages/web/versions", None);
    assert_eq!(history[0]["digest"], record[1]["package_digest"]);
    let units: Value = serde_json::from_str(&env.ok([
        "unit",
        "list",
        "--space",
        "reg-drift-detector",
        "-o",
        "json",
    ]))
    .expect("json");
    assert_eq!(units.as_array().map(Vec::len), Some(3), "{units}");
    env.ok([
        "load",
        "web@=1.0.0",
        "--registry",
        "main",
        "--prefix",
        "old",
    ]);
    assert_eq!(newest_history_source(&env), "registry:main/web@1.0.0");
    let stderr = env.fails(["load", "absent@1", "--registry", "main", "--prefix", "x"]);
    assert!(stderr.contains("absent"), "{stderr}");
    let stderr = env.fails(["load", "web@^3", "--registry", "main", "--prefix", "x"]);
    assert!(stderr.contains("1.1.0"), "lists what exists: {stderr}");
    env.fails(["load", "web@1", "--registry", "nope", "--prefix", "x"]);

    // A remote with --token-env reads its token from the environment.
    let (ci, _) = create_token(&env, server.store(), 2, "ci-bot");
    env.ok([
        "remote",
        "add",
        "ci",
        &server.url(),
        "--token-env",
        "PKG_CI_TOKEN",
    ]);
    env.set_var("PKG_CI_TOKEN", ci);
    let web3 = make_package(&env, "web-3", "web", "1.2.0", None);
    env.ok(["publish", web3.to_str().expect("utf-8"), "--registry", "ci"]);
    let versions = server.get_json("/api/v1/packages/web/versions", None);
    assert_eq!(versions[2]["version"], "1.2.0");
    assert_eq!(versions[2]["published_by"], "ci-bot");
}

#[test]
fn cli_sends_the_token_only_to_the_remotes_own_origin() {
    let (env, server) = sqlite_server(&[]);
    use_config(&env);
    let alice = token(&env, &server, 2, "alice");
    publish_ok(
        &server,
        &package_archive(&env, "web", "web", "1.0.0", None),
        &alice,
        201,
    );
    let forged = forged_token();

    // Straight at the registry, the forged token is refused (401)...
    env.ok(["remote", "add", "direct", &server.url()]);
    login(&env, "direct", &forged);
    let stderr = env.fails(["search", "web", "--registry", "direct"]);
    assert!(stderr.contains("401"), "{stderr}");

    // ...so a search through a front server that redirects to the registry
    // succeeds only if the token stayed behind.
    let front = HttpServer::start(&env.path("front"));
    front.redirect("/api/", &format!("{}/api/", server.url()));
    env.ok(["remote", "add", "front", &front.url()]);
    login(&env, "front", &forged);
    let hits: Value =
        serde_json::from_str(&env.ok(["search", "web", "--registry", "front", "-o", "json"]))
            .expect("json");
    assert_eq!(names(&hits), ["web"]);
    env.ok(["load", "web@1", "--registry", "front", "--prefix", "f"]);
    assert_eq!(newest_history_source(&env), "registry:front/web@1.0.0");
    let bearer = format!("Bearer {forged}");
    let requests = front.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(bearer.as_str()),
            "the remote's own origin gets the token: {r:?}"
        );
    }

    // And a recording server behind a redirect sees no Authorization.
    let back = HttpServer::start(&env.path("back"));
    back.respond(
        "/api/v1/packages/search",
        200,
        br#"{"packages": [], "total": 0}"#.to_vec(),
    );
    let front2 = HttpServer::start(&env.path("front2"));
    front2.redirect("/api/", &format!("{}/api/", back.url()));
    env.ok(["remote", "add", "front2", &front2.url()]);
    login(&env, "front2", &alice);
    env.ok(["search", "web", "--registry", "front2"]);
    let seen = back.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].path.starts_with("/api/v1/packages/search?"),
        "{seen:?}"
    );
    assert_eq!(
        seen[0].header("authorization"),
        None,
        "the token went to another origin: {seen:?}"
    );
    assert!(
        !format!("{seen:?}").contains(&alice),
        "the token leaked to another origin: {seen:?}"
    );
    assert_eq!(
        front2.requests()[0].header("authorization"),
        Some(format!("Bearer {alice}").as_str())
    );
}

// ---------------------------------------------------------------------------
// etcd
// ---------------------------------------------------------------------------

#[test]
fn etcd_store_publish_list_download_and_yank() {
    let etcd = Etcd::start();
    let env = Env::new();
    let blob_dir = env.path("shared-blobs");
    let blob_arg = blob_dir.to_str().expect("utf-8").to_string();
    let store = etcd.store();
    let mut server = PkgServer::start(&env, &store, &["--blobs", &blob_arg]);
    let (alice, _) = create_token(&env, &store, 2, "alice");
    let (admin, _) = create_token(&env, &store, 4, "admin");
    assert_eq!(
        server.get_json("/readyz", None),
        json!({"status": "ready", "store": "etcd"})
    );
    assert_eq!(server.get_json("/api/v1/version", None)["store"], "etcd");

    let a = package_archive(&env, "alpha-1", "alpha", "1.0.0", None);
    let a2 = package_archive(&env, "alpha-2", "alpha", "2.0.0", None);
    let b = package_archive(&env, "beta", "beta", "1.0.0", None);
    assert_eq!(publish_ok(&server, &a, &alice, 201)["created"], true);
    assert_eq!(publish_ok(&server, &a, &alice, 200)["created"], false);
    publish_ok(&server, &a2, &alice, 201);
    publish_ok(&server, &b, &alice, 201);
    let other = make_package(&env, "alpha-x", "alpha", "1.0.0", None);
    change_content(&other, "x");
    expect(
        &server.publish(&pack(&env, &other), Some(&alice)),
        409,
        "conflict",
    );

    let list = server.get_json("/api/v1/packages", None);
    assert_eq!(names(&list), ["alpha", "beta"]);
    assert_eq!(list["packages"][0]["latest"], "2.0.0");
    assert_eq!(
        names(&server.get_json("/api/v1/packages?prefix=be", None)),
        ["beta"]
    );
    let download = server.get("/api/v1/packages/alpha/1.0.0/download", None);
    assert!(download.body == a, "etcd download differs");
    assert!(blob_dir.join("sha256").is_dir(), "blobs go to --blobs");
    expect(
        &server.call("DELETE", "/api/v1/packages/alpha/2.0.0", Some(&admin), None),
        200,
        "yank",
    );
    assert_eq!(
        version_list(&server.get_json("/api/v1/packages/alpha/versions", None)),
        ["1.0.0"]
    );
    let mut ids = index_ids(&server, None);
    ids.sort();
    assert_eq!(ids, ["alpha@1.0.0", "beta@1.0.0"]);
    let actions = eventually(Duration::from_secs(5), || {
        let actions = action_list(&server.get_json("/api/v1/packages/alpha/actions", None));
        actions
            .iter()
            .any(|(a, _)| a == "download")
            .then_some(actions)
    })
    .expect("the download event shows");
    assert_eq!(actions.iter().filter(|(a, _)| a == "publish").count(), 2);
    assert_eq!(actions.iter().filter(|(a, _)| a == "yank").count(), 1);

    // Tokens listed from etcd; state survives a restart.
    let tokens: Value =
        serde_json::from_str(&env.ok(["serve", "token", "list", "--store", &store, "-o", "json"]))
            .expect("json");
    assert_eq!(tokens.as_array().map(Vec::len), Some(2), "{tokens}");
    let status = server.stop();
    assert_eq!(status.code(), Some(0), "{status}");
    let again = PkgServer::start(&env, &store, &["--blobs", &blob_arg]);
    assert_eq!(
        names(&again.get_json("/api/v1/packages", None)),
        ["alpha", "beta"]
    );
    let download = again.get("/api/v1/packages/beta/1.0.0/download", None);
    assert!(download.body == b);
    // etcd without --blobs is refused at start.
    let out = env
        .pkg(["serve", "--addr", "127.0.0.1:0", "--store", &store])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run pkg serve");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--blobs"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(etcd);
}

#[test]
fn etcd_replicas_racing_on_one_version_agree_on_one_winner() {
    let etcd = Etcd::start();
    let env = Env::new();
    let blob_arg = env
        .path("shared-blobs")
        .to_str()
        .expect("utf-8")
        .to_string();
    let store = etcd.store();
    let one = PkgServer::start(&env, &store, &["--blobs", &blob_arg]);
    let two = PkgServer::start(&env, &store, &["--blobs", &blob_arg]);
    let (alice, _) = create_token(&env, &store, 2, "alice");
    let (bob, _) = create_token(&env, &store, 2, "bob");

    let race = |a: &[u8], b: &[u8]| -> (u16, u16) {
        let barrier = Barrier::new(2);
        std::thread::scope(|scope| {
            let first = scope.spawn(|| {
                barrier.wait();
                one.publish(a, Some(&alice))
            });
            let second = scope.spawn(|| {
                barrier.wait();
                two.publish(b, Some(&bob))
            });
            let (x, y) = (
                first.join().expect("thread"),
                second.join().expect("thread"),
            );
            for r in [&x, &y] {
                assert!(
                    [200, 201, 409].contains(&r.status),
                    "race answer {}: {}",
                    r.status,
                    r.text()
                );
            }
            (x.status, y.status)
        })
    };

    for round in 0..6 {
        let version = format!("1.0.{round}");
        let dir_a = make_package(&env, &format!("a{round}"), "race", &version, None);
        change_content(&dir_a, &format!("a{round}"));
        let dir_b = make_package(&env, &format!("b{round}"), "race", &version, None);
        change_content(&dir_b, &format!("b{round}"));
        let (a, b) = (pack(&env, &dir_a), pack(&env, &dir_b));
        assert_ne!(a, b);
        let (sa, sb) = race(&a, &b);
        let mut statuses = [sa, sb];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "round {round}: {sa} and {sb}");
        let winner = if sa == 201 { &a } else { &b };
        let by = if sa == 201 { "alice" } else { "bob" };
        for server in [&one, &two] {
            let got = server.get(&format!("/api/v1/packages/race/{version}/download"), None);
            expect(&got, 200, "download the winner");
            assert!(
                &got.body == winner,
                "round {round}: a replica serves the loser"
            );
            let versions = server.get_json("/api/v1/packages/race/versions", None);
            let record = versions
                .as_array()
                .expect("array")
                .iter()
                .find(|v| v["version"] == version.as_str())
                .cloned()
                .expect("version listed");
            assert_eq!(record["archive_digest"], sha256(winner).as_str());
            assert_eq!(record["published_by"], by);
        }
        assert_eq!(
            one.get_json("/api/v1/packages/race/versions", None),
            two.get_json("/api/v1/packages/race/versions", None)
        );
    }

    // The same content from both: one 201, one 200.
    let same = package_archive(&env, "same", "race", "2.0.0", None);
    let (sa, sb) = race(&same, &same);
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses, [200, 201]);

    // Every version was published exactly once, by the replicas together.
    let actions = action_list(&one.get_json("/api/v1/packages/race/actions", None));
    let publishes: Vec<&String> = actions
        .iter()
        .filter(|(a, _)| a == "publish")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(publishes.len(), 7, "{actions:?}");
    let list_one = one.get_json("/api/v1/packages", None);
    let list_two = two.get_json("/api/v1/packages", None);
    assert_eq!(list_one, list_two);
    assert_eq!(list_one["packages"][0]["versions"], 7);
}
