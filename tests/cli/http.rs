//! cub-style HTTP sources and archives at URLs, against a real HTTP server
//! on 127.0.0.1: parallel downloads, digests, and hostile servers (wrong
//! digests, endless bodies, unsafe paths in the manifest, errors).

use std::path::Path;

use serde_json::Value;

use crate::common::{Env, read_json, write_json};
use crate::servers::HttpServer;

/// Serves package `dir` under `/pkgs/<name>/` and returns its URL.
fn serve(server: &HttpServer, dir: &Path, name: &str) -> String {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            server.put_file(
                &format!("pkgs/{name}/{rel}"),
                &std::fs::read(entry.path()).unwrap(),
            );
        }
    }
    format!("{}/pkgs/{name}", server.url())
}

/// A package with digests, written by `pkg create` from a loaded fixture.
fn digested_package(env: &Env) -> std::path::PathBuf {
    env.ok(["load", &env.fixture("cub-full").display().to_string()]);
    let out = env.path("created");
    env.ok(["create", &out.display().to_string(), "--version", "1.0.0"]);
    out
}

#[test]
fn a_cub_style_url_loads_like_the_directory() {
    let env = Env::new();
    let server = HttpServer::start(&env.path("srv"));
    let dir = env.fixture("cub-full");
    let url = serve(&server, &dir, "full");
    let local: Value =
        serde_json::from_str(&env.ok(["inspect", &dir.display().to_string(), "-o", "json"]))
            .unwrap();
    let remote: Value = serde_json::from_str(&env.ok(["inspect", &url, "-o", "json"])).unwrap();
    assert_eq!(local["digest"], remote["digest"]);
    assert_eq!(local["units"], remote["units"]);
    let via_manifest: Value =
        serde_json::from_str(&env.ok(["inspect", &format!("{url}/manifest.json"), "-o", "json"]))
            .unwrap();
    assert_eq!(via_manifest["digest"], local["digest"]);
    let out = env.ok(["load", &format!("{url}/"), "--prefix", "web"]);
    assert!(out.contains("Loaded"), "{out}");
    let history: Vec<Value> = serde_json::from_str(&env.ok(["history", "-o", "json"])).unwrap();
    assert_eq!(history[0]["source"].as_str(), Some(url.as_str()));
    // manifest.json first, then every named file once.
    let gets: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    let manifest_gets = gets
        .iter()
        .filter(|p| p.ends_with("/manifest.json"))
        .count();
    assert_eq!(manifest_gets, 3, "{gets:?}");
    assert!(env.tmp_entries().is_empty(), "{:?}", env.tmp_entries());
}

#[test]
fn digests_are_verified_and_bad_servers_change_nothing() {
    let env = Env::new();
    let server = HttpServer::start(&env.path("srv"));
    let dir = digested_package(&env);
    let before = env.hub_state();

    // A file that does not match its digest.
    let url = serve(&server, &dir, "tampered");
    let data = read_json(&dir.join("manifest.json"))["units"][0]["unit_data_loc"]
        .as_str()
        .unwrap()
        .to_string();
    server.put_file(&format!("pkgs/tampered{data}"), b"tampered: true\n");
    let err = env.fails(["load", &url, "--prefix", "x"]);
    assert!(err.contains("digest mismatch"), "{err}");

    // A file the server does not have.
    let url = serve(&server, &dir, "missing");
    std::fs::remove_file(server.files_dir().join(format!("pkgs/missing{data}"))).unwrap();
    let err = env.fails(["load", &url, "--prefix", "x"]);
    assert!(err.contains("404"), "{err}");

    // A file that never ends.
    let url = serve(&server, &dir, "endless");
    server.endless(&format!("/pkgs/endless{data}"));
    let err = env.fails(["load", &url, "--prefix", "x"]);
    assert!(err.contains("larger than"), "{err}");

    // No manifest at all, or not JSON.
    let err = env.fails(["load", &format!("{}/pkgs/nothing", server.url())]);
    assert!(err.contains("404"), "{err}");
    server.put_file("pkgs/html/manifest.json", b"<html>hello</html>");
    let err = env.fails(["load", &format!("{}/pkgs/html", server.url())]);
    assert!(err.contains("not a usable manifest"), "{err}");
    assert_eq!(env.hub_state(), before);
    assert!(env.tmp_entries().is_empty(), "{:?}", env.tmp_entries());
}

#[test]
fn unsafe_manifest_paths_are_refused_before_any_request() {
    let env = Env::new();
    let server = HttpServer::start(&env.path("srv"));
    let dir = env.fixture("cub-basic");
    for (name, loc) in [
        ("dotdot", "/../../etc/passwd"),
        ("empty", "//etc/passwd"),
        ("backslash", "/units\\..\\x.json"),
        ("drive", "/C:/x.json"),
    ] {
        let mut manifest = read_json(&dir.join("manifest.json"));
        manifest["units"][0]["details_loc"] = Value::String(loc.into());
        write_json(&dir.join("manifest.json"), &manifest);
        let url = serve(&server, &dir, name);
        server.clear_requests();
        let err = env.fails(["inspect", &url]);
        assert!(err.contains("path"), "{name}: {err}");
        let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
        assert_eq!(
            paths.len(),
            1,
            "{name}: only the manifest may be fetched: {paths:?}"
        );
    }
}

#[test]
fn archives_load_from_urls_and_redirects_are_bounded() {
    let env = Env::new();
    let server = HttpServer::start(&env.path("srv"));
    let dir = env.fixture("cub-full");
    for name in ["full.tar.gz", "full.zip"] {
        let archive = env.path(name);
        env.ok([
            "pack",
            &dir.display().to_string(),
            "-o",
            &archive.display().to_string(),
        ]);
        let url = server.put_file(name, &std::fs::read(&archive).unwrap());
        let out: Value = serde_json::from_str(&env.ok(["inspect", &url, "-o", "json"])).unwrap();
        assert!(out["counts"]["units"].as_u64().unwrap_or(0) > 0, "{out}");
    }
    // A redirect loop ends with an error.
    server.redirect("/loop/", &format!("{}/loop/", server.url()));
    let err = env.fails(["inspect", &format!("{}/loop/x.tar.gz", server.url())]);
    assert!(err.contains("redirects"), "{err}");
    // A redirect to another scheme is refused.
    server.redirect("/ftp/", "ftp://127.0.0.1/");
    let err = env.fails(["inspect", &format!("{}/ftp/x.tar.gz", server.url())]);
    assert!(err.contains("scheme"), "{err}");
    // An archive URL that serves garbage.
    server.put_file("garbage.tar.gz", b"this is not gzip");
    let err = env.fails(["inspect", &format!("{}/garbage.tar.gz", server.url())]);
    assert!(
        err.contains("garbage.tar.gz") || err.contains("gzip"),
        "{err}"
    );
    // --offline forbids HTTP.
    let err = env.fails([
        "--offline",
        "inspect",
        &format!("{}/full.zip", server.url()),
    ]);
    assert!(err.contains("--offline"), "{err}");
    assert!(env.tmp_entries().is_empty(), "{:?}", env.tmp_entries());
}
