//! Signatures beyond one directory: a source's `require_signature`, the
//! signer a lock file pins, and signed packages published to a git
//! repository and to a `pkg serve` registry (which keeps and serves the
//! signature and names its key in the index). Every refusal leaves the hub
//! unchanged.

use serde_json::Value;

use crate::common::Env;
use crate::pkg_server::{edit_manifest, make_package, sqlite_store, team_remote};

/// A key pair in `<root>/<dir>`: (public key file, secret key file).
fn keys(env: &Env, dir: &str) -> (String, String) {
    let out = env.path(dir);
    env.ok(["key", "generate", "--out", out.to_str().unwrap()]);
    (
        out.join("pkg.pub").to_str().unwrap().to_string(),
        out.join("pkg.key").to_str().unwrap().to_string(),
    )
}

fn sign(env: &Env, dir: &std::path::Path, secret: &str) {
    env.ok(["sign", dir.to_str().unwrap(), "--key", secret]);
}

fn key_id(env: &Env, public: &str, signed: &std::path::Path) -> String {
    let out: Value = serde_json::from_str(&env.ok([
        "verify",
        signed.to_str().unwrap(),
        "--key",
        public,
        "-o",
        "json",
    ]))
    .unwrap();
    out["key_id"].as_str().unwrap().to_string()
}

/// `pkg lock SOURCE` with no key: it warns that nothing verified the
/// signature, and pins the key ID `id` it names, without a key.
fn lock_without_a_key(env: &Env, source: &str, id: &str) {
    let out = env.pkg(["lock", source]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no trusted key verified it") && stderr.contains(id),
        "{stderr}"
    );
    let lock = std::fs::read_to_string(env.path("pkg.lock")).unwrap();
    assert!(
        lock.contains(&format!("signer = \"{id}\"")) && !lock.contains("signer_key"),
        "{lock}"
    );
}

#[test]
fn a_source_requiring_signatures_refuses_unsigned_and_foreign_packages() {
    let env = Env::new();
    env.set_var("PKG_CONFIG", env.path("conf/config.toml").to_str().unwrap());
    let (public, secret) = keys(&env, "keys");
    let (_, stranger) = keys(&env, "stranger");
    // vetted/: app 1.0.0 unsigned, app 2.0.0 signed by a stranger, app
    // 3.0.0 signed by the required key, and app 4.0.0 signed but needing
    // lib, which is unsigned.
    make_package(&env, "vetted/app-1", "app", "1.0.0", None);
    let foreign = make_package(&env, "vetted/app-2", "app", "2.0.0", None);
    sign(&env, &foreign, &stranger);
    let good = make_package(&env, "vetted/app-3", "app", "3.0.0", None);
    sign(&env, &good, &secret);
    let needs_lib = make_package(&env, "vetted/app-4", "app", "4.0.0", None);
    edit_manifest(&needs_lib, |m| {
        m["dependencies"] = serde_json::json!({"lib": "^1"})
    });
    sign(&env, &needs_lib, &secret);
    make_package(&env, "vetted/lib-1", "lib", "1.0.0", None);

    // A bad key is refused and adds no source.
    let err = env.fails([
        "source",
        "add",
        "vetted",
        env.path("vetted").to_str().unwrap(),
        "--require-signature",
        "RWnot-a-key",
    ]);
    assert!(err.contains("--require-signature"), "{err}");
    assert!(
        !env.path("conf/config.toml").exists() || !env.ok(["source", "list"]).contains("vetted")
    );
    env.ok([
        "source",
        "add",
        "vetted",
        env.path("vetted").to_str().unwrap(),
        "--require-signature",
        &public,
    ]);
    let config = std::fs::read_to_string(env.path("conf/config.toml")).unwrap();
    assert!(config.contains("require_signature = [\"RW"), "{config}");

    let before = env.hub_state();
    for (request, why) in [
        ("app@=1.0.0", "not signed"),
        ("app@=2.0.0", "not by the trusted key"),
        ("app@=4.0.0", "lib@1.0.0"),
    ] {
        let err = env.fails(["load", request]);
        assert!(
            err.contains("source `vetted` requires a signature")
                && err.contains(why)
                && err.contains("nothing was loaded"),
            "{request}: {err}"
        );
        assert_eq!(env.hub_state(), before, "{request}");
    }
    let said = env.ok(["load", "app@=3.0.0"]);
    assert_ne!(env.hub_state(), before, "{said}");

    // The lock of a package from such a source pins its signer.
    env.ok(["lock", "app@=3.0.0"]);
    let lock = std::fs::read_to_string(env.path("pkg.lock")).unwrap();
    let id = key_id(&env, &public, &good);
    assert!(lock.contains(&format!("signer = \"{id}\"")), "{lock}");
}

#[test]
fn the_lock_pins_the_signer_and_locked_refuses_another_key() {
    let env = Env::new();
    let (public, secret) = keys(&env, "keys");
    let (_, other) = keys(&env, "other");
    let pkg = make_package(&env, "app", "app", "1.0.0", None);
    sign(&env, &pkg, &secret);
    let arg = pkg.to_str().unwrap();

    let id = key_id(&env, &public, &pkg);
    // Without a key, a signed package is locked with a warning, pinning the
    // key ID its signature names but not the key.
    lock_without_a_key(&env, arg, &id);
    // --locked then refuses the same content signed by another key, or
    // unsigned, and loads it signed by the pinned ID.
    let before = env.hub_state();
    sign(&env, &pkg, &other);
    let err = env.fails(["load", arg, "--locked", "pkg.lock"]);
    assert!(err.contains("pins") && err.contains(&id), "{err}");
    std::fs::remove_file(pkg.join("manifest.json.minisig")).unwrap();
    let err = env.fails(["load", arg, "--locked", "pkg.lock"]);
    assert!(err.contains("not signed"), "{err}");
    assert_eq!(env.hub_state(), before);
    sign(&env, &pkg, &secret);

    // With --verify-with, the signer and its key are pinned.
    let said = env.ok(["lock", arg, "--verify-with", &public]);
    assert!(said.contains(&id), "{said}");
    let lock = std::fs::read_to_string(env.path("pkg.lock")).unwrap();
    assert!(
        lock.contains(&format!("signer = \"{id}\"")) && lock.contains("signer_key = \"RW"),
        "{lock}"
    );

    // Same content signed by another key: --locked refuses it.
    let before = env.hub_state();
    sign(&env, &pkg, &other);
    let err = env.fails(["load", arg, "--locked", "pkg.lock"]);
    assert!(
        err.contains("pins") && err.contains(&id) && err.contains("nothing was loaded"),
        "{err}"
    );
    // The signature removed: refused too (fail closed).
    std::fs::remove_file(pkg.join("manifest.json.minisig")).unwrap();
    let err = env.fails(["load", arg, "--locked", "pkg.lock"]);
    assert!(err.contains("not signed"), "{err}");
    assert_eq!(env.hub_state(), before);
    // Signed again by the pinned key: loads.
    sign(&env, &pkg, &secret);
    env.ok(["load", arg, "--locked", "pkg.lock"]);
    assert_ne!(env.hub_state(), before);
}

#[test]
fn a_resolved_graph_locked_without_a_key_pins_the_signers_id() {
    let env = Env::new();
    env.set_var("PKG_CONFIG", env.path("conf/config.toml").to_str().unwrap());
    let (public, secret) = keys(&env, "keys");
    let (_, other) = keys(&env, "other");
    let app = make_package(&env, "shelf/app-1", "app", "1.0.0", None);
    sign(&env, &app, &secret);
    let id = key_id(&env, &public, &app);
    env.ok([
        "source",
        "add",
        "shelf",
        env.path("shelf").to_str().unwrap(),
    ]);
    lock_without_a_key(&env, "app@=1.0.0", &id);
    let before = env.hub_state();
    sign(&env, &app, &other);
    let err = env.fails(["load", "app@=1.0.0", "--locked", "pkg.lock"]);
    assert!(err.contains("pins") && err.contains(&id), "{err}");
    assert_eq!(env.hub_state(), before);
    sign(&env, &app, &secret);
    env.ok(["load", "app@=1.0.0", "--locked", "pkg.lock"]);
    assert_ne!(env.hub_state(), before);
}

#[test]
fn every_package_of_a_graph_locked_without_a_key_pins_its_signers_id() {
    let env = Env::new();
    env.set_var("PKG_CONFIG", env.path("conf/config.toml").to_str().unwrap());
    let (public, secret) = keys(&env, "keys");
    let (_, other) = keys(&env, "other");
    let app = make_package(&env, "shelf/app-1", "app", "1.0.0", None);
    edit_manifest(&app, |m| {
        m["dependencies"] = serde_json::json!({"lib": "^1"})
    });
    sign(&env, &app, &secret);
    let lib = make_package(&env, "shelf/lib-1", "lib", "1.0.0", None);
    sign(&env, &lib, &secret);
    let id = key_id(&env, &public, &lib);
    env.ok([
        "source",
        "add",
        "shelf",
        env.path("shelf").to_str().unwrap(),
    ]);
    env.ok(["lock", "app@=1.0.0"]);
    let lock = std::fs::read_to_string(env.path("pkg.lock")).unwrap();
    assert_eq!(
        lock.matches(&format!("signer = \"{id}\"")).count(),
        2,
        "both resolved packages pin the signer: {lock}"
    );
    let before = env.hub_state();
    sign(&env, &lib, &other);
    let err = env.fails(["load", "app@=1.0.0", "--locked", "pkg.lock"]);
    assert!(err.contains("lib@1.0.0") && err.contains(&id), "{err}");
    assert_eq!(env.hub_state(), before);
}

#[test]
fn registry_publishes_keep_serve_and_index_the_signature() {
    let env = Env::new();
    env.set_var("PKG_CONFIG", env.path("conf/config.toml").to_str().unwrap());
    let store = sqlite_store(&env);
    let (server, token) = team_remote(&env, &store, 6, "ci", &[]);
    let (public, secret) = keys(&env, "keys");
    let signed = make_package(&env, "signed", "shop", "1.0.0", None);
    sign(&env, &signed, &secret);
    let id = key_id(&env, &public, &signed);
    let plain = make_package(&env, "plain", "shop", "1.1.0", None);
    env.ok(["publish", signed.to_str().unwrap(), "--registry", "team"]);
    env.ok(["publish", plain.to_str().unwrap(), "--registry", "team"]);

    let served = server.get("/api/v1/packages/shop/1.0.0/signature", Some(&token));
    assert_eq!(served.status, 200, "{}", served.text());
    assert_eq!(
        served.body,
        std::fs::read(signed.join("manifest.json.minisig")).unwrap()
    );
    let unsigned = server.get("/api/v1/packages/shop/1.1.0/signature", Some(&token));
    assert_eq!(unsigned.status, 404, "{}", unsigned.text());
    assert!(unsigned.text().contains("without a signature"));
    let index = server.get_json("/api/packages/index", Some(&token));
    let signer = |version: &str| {
        index
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["version"] == version)
            .map(|e| e["signer"].clone())
            .unwrap()
    };
    assert_eq!(signer("1.0.0"), Value::from(id.clone()), "{index}");
    assert_eq!(signer("1.1.0"), Value::Null, "{index}");

    // The same content again without its signature: refused (409).
    let copy = env.path("copy");
    crate::common::copy_dir(&signed, &copy);
    std::fs::remove_file(copy.join("manifest.json.minisig")).unwrap();
    let err = env.fails(["publish", copy.to_str().unwrap(), "--registry", "team"]);
    assert!(err.contains("signature cannot change"), "{err}");

    // Loaded through a registry source that requires the key: the signed
    // version loads, the unsigned one is refused.
    env.ok([
        "source",
        "add",
        "team",
        &server.url(),
        "--token-env",
        "TEAM_TOKEN",
        "--require-signature",
        &public,
    ]);
    let before = env.hub_state();
    let err = env.fails(["load", "shop@=1.1.0"]);
    assert!(err.contains("not signed"), "{err}");
    assert_eq!(env.hub_state(), before);
    env.ok(["load", "shop@=1.0.0"]);
    assert_ne!(env.hub_state(), before);
}

#[test]
fn git_publishes_carry_the_signature() {
    let env = Env::new();
    let bare = env.path("releases.git");
    let init = std::process::Command::new("git")
        .args(["init", "--bare", "-q", "-b", "main"])
        .arg(&bare)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let (public, secret) = keys(&env, "keys");
    let pkg = make_package(&env, "app", "app", "1.2.0", None);
    sign(&env, &pkg, &secret);
    let repo = format!("file://{}", bare.display());
    env.ok(["publish", pkg.to_str().unwrap(), "--repo", &repo]);
    let files = std::process::Command::new("git")
        .arg("-C")
        .arg(&bare)
        .args(["ls-tree", "-r", "--name-only", "v1.2.0"])
        .output()
        .unwrap();
    let files = String::from_utf8_lossy(&files.stdout);
    assert!(files.contains("manifest.json.minisig"), "{files}");
    let source = format!("git+{repo}@v1.2.0");
    let said = env.ok(["verify", &source, "--key", &public]);
    assert!(said.contains("app@1.2.0"), "{said}");
    let before = env.hub_state();
    // A release tag moved onto the signed 1.2.0 (as the tj-actions tags
    // were moved) is refused: the signature vouches for 1.2.0 only.
    let moved = std::process::Command::new("git")
        .arg("-C")
        .arg(&bare)
        .args(["tag", "v1.3.1", "v1.2.0"])
        .output()
        .unwrap();
    assert!(moved.status.success(), "{moved:?}");
    let err = env.fails([
        "load",
        &format!("git+{repo}@v1.3.1"),
        "--verify-with",
        &public,
    ]);
    assert!(
        err.contains("vouches for app@1.2.0, not for the version 1.3.1"),
        "{err}"
    );
    // The same through a branch named like a release, or a tag without
    // the `v`: what the user asked for is held against the signature.
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&bare)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    git(&["branch", "v1.4.0", "v1.2.0"]);
    git(&["tag", "1.5.0", "v1.2.0"]);
    for moved in ["v1.4.0", "1.5.0"] {
        let err = env.fails([
            "load",
            &format!("git+{repo}@{moved}"),
            "--verify-with",
            &public,
        ]);
        assert!(err.contains("vouches for app@1.2.0"), "{moved}: {err}");
    }
    assert_eq!(env.hub_state(), before);
    env.ok(["load", &source, "--verify-with", &public]);
    assert_ne!(env.hub_state(), before);
}
