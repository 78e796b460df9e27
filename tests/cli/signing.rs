//! `pkg key generate`, `pkg sign` and `pkg verify`, and their
//! compatibility both ways with the minisign CLI (Debian's `minisign`):
//! a package signed by one verifies with the other; a tampered file, a
//! changed manifest, a signature of another version, a wrong key and a
//! missing signature are each refused with a clear message.

use std::process::Command;

use crate::common::Env;

/// A package with digests, `shop@VERSION`, in `dir`.
fn package(env: &Env, dir: &str, version: &str) -> String {
    let db = env.path("shop.db");
    if !db.exists() {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(
                "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
                 INSERT INTO items VALUES (1, 'a'), (2, 'b');",
            )
            .unwrap();
    }
    let out = env.path(dir);
    let out = out.to_str().unwrap().to_string();
    env.ok([
        "db",
        "create",
        &out,
        "--db",
        &format!("sqlite:{}", db.display()),
        "--table",
        "items",
        "--name",
        "shop",
        "--version",
        version,
    ]);
    out
}

fn minisign(args: &[&str]) -> std::process::Output {
    Command::new("minisign")
        .args(args)
        .output()
        .expect("minisign is not installed (apt-get install minisign)")
}

/// An unencrypted key pair made by the minisign CLI (`-G -W`) in `dir`:
/// (public, secret).
fn minisign_keys(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (public, secret) = (dir.join("m.pub"), dir.join("m.key"));
    let out = minisign(&[
        "-G",
        "-W",
        "-p",
        public.to_str().unwrap(),
        "-s",
        secret.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    (public, secret)
}

/// Signs the package in `dir` with the minisign CLI and `secret`, with
/// `extra` flags (`-t COMMENT`, `-l`).
fn minisign_sign(secret: &std::path::Path, dir: &str, extra: &[&str]) {
    let (manifest, signature) = (
        format!("{dir}/manifest.json"),
        format!("{dir}/manifest.json.minisig"),
    );
    let mut args = vec![
        "-S",
        "-s",
        secret.to_str().unwrap(),
        "-m",
        &manifest,
        "-x",
        &signature,
    ];
    args.extend_from_slice(extra);
    let out = minisign(&args);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn packages_signed_by_pkg_or_minisign_verify_with_either() {
    let env = Env::new();
    let keys = env.path("keys");
    let made = env.ok([
        "key",
        "generate",
        "--out",
        keys.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let made: serde_json::Value = serde_json::from_str(&made).unwrap();
    let key_id = made["key_id"].as_str().unwrap().to_string();
    let public = keys.join("pkg.pub");
    let secret = keys.join("pkg.key");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = env.fails(["key", "generate", "--out", keys.to_str().unwrap()]);
    assert!(again.contains("--force"), "{again}");

    let pkg = package(&env, "pkg", "1.0.0");
    env.ok(["sign", &pkg, "--key", secret.to_str().unwrap()]);
    let said = env.ok(["verify", &pkg, "--key", public.to_str().unwrap()]);
    let said = format!(
        "{said}{}",
        env.ok([
            "verify",
            &pkg,
            "--key",
            public.to_str().unwrap(),
            "-o",
            "json"
        ])
    );
    assert!(
        said.contains(&key_id) && said.contains("shop@1.0.0"),
        "{said}"
    );
    // inspect names the key the signature claims, and says it did not check it.
    let shown = env.ok(["inspect", &pkg]);
    assert!(
        shown.contains(&format!("Signature: key {key_id} (not verified")),
        "{shown}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(["inspect", &pkg, "-o", "json"])).unwrap();
    assert_eq!(
        shown["signature"],
        serde_json::json!({"key_id": key_id, "verified": false})
    );
    let unsigned = package(&env, "unsigned", "1.0.0");
    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(["inspect", &unsigned, "-o", "json"])).unwrap();
    assert!(shown.get("signature").is_none(), "{shown}");

    // pkg's signature verifies with the minisign CLI.
    let manifest = format!("{pkg}/manifest.json");
    let signature = format!("{pkg}/manifest.json.minisig");
    let out = minisign(&[
        "-V",
        "-p",
        public.to_str().unwrap(),
        "-m",
        &manifest,
        "-x",
        &signature,
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("shop@1.0.0"),
        "{out:?}"
    );

    // A key pair and a signature made by the minisign CLI, with its own
    // trusted comment, verify with pkg.
    let theirs = env.path("theirs");
    let (mpub, msec) = minisign_keys(&theirs);
    let other = package(&env, "other", "1.0.0");
    minisign_sign(&msec, &other, &["-t", "made by hand"]);
    let said = env.ok(["verify", &other, "--key", mpub.to_str().unwrap()]);
    assert!(said.contains("made by hand"), "{said}");
    // So does a legacy (not prehashed, `-l`) minisign signature, and a
    // legacy signature of another manifest still fails.
    let legacy = |dir: &str| minisign_sign(&msec, dir, &["-l"]);
    legacy(&other);
    env.ok(["verify", &other, "--key", mpub.to_str().unwrap()]);
    let elsewhere = package(&env, "elsewhere", "2.0.0");
    legacy(&elsewhere);
    std::fs::copy(
        format!("{elsewhere}/manifest.json.minisig"),
        format!("{other}/manifest.json.minisig"),
    )
    .unwrap();
    let err = env.fails(["verify", &other, "--key", mpub.to_str().unwrap()]);
    assert!(err.contains("does not match"), "{err}");
    // pkg signs with the minisign CLI's (unencrypted) key too, and a
    // password set for some encrypted key does not get in the way of
    // unencrypted ones.
    env.set_var("PKG_SIGNING_PASSWORD", "for-another-key");
    env.ok(["sign", &other, "--key", msec.to_str().unwrap()]);
    env.ok(["verify", &other, "--key", mpub.to_str().unwrap()]);
    env.ok(["sign", &pkg, "--key", secret.to_str().unwrap()]);
    // An encrypted minisign key opens with its password only.
    let (epub, esec) = (theirs.join("e.pub"), theirs.join("e.key"));
    let mut child = Command::new("minisign")
        .args([
            "-G",
            "-p",
            epub.to_str().unwrap(),
            "-s",
            esec.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"open-sesame\nopen-sesame\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let err = env.fails(["sign", &other, "--key", esec.to_str().unwrap()]);
    assert!(
        err.contains("Wrong password") && err.contains("PKG_SIGNING_PASSWORD"),
        "{err}"
    );
    env.set_var("PKG_SIGNING_PASSWORD", "open-sesame");
    env.ok(["sign", &other, "--key", esec.to_str().unwrap()]);
    env.ok(["verify", &other, "--key", epub.to_str().unwrap()]);

    // A wrong key is refused, naming both keys.
    let err = env.fails(["verify", &pkg, "--key", mpub.to_str().unwrap()]);
    assert!(
        err.contains(&key_id) && err.contains("not by the trusted key"),
        "{err}"
    );
}

#[test]
fn tampered_swapped_and_missing_signatures_are_refused() {
    let env = Env::new();
    let keys = env.path("keys");
    env.ok(["key", "generate", "--out", keys.to_str().unwrap()]);
    let public = keys.join("pkg.pub");
    let public = public.to_str().unwrap();
    let secret = keys.join("pkg.key");
    let secret = secret.to_str().unwrap();
    let one = package(&env, "one", "1.0.0");
    let two = package(&env, "two", "2.0.0");

    // Missing.
    let err = env.fails(["verify", &one, "--key", public]);
    assert!(err.contains("not signed"), "{err}");

    env.ok(["sign", &one, "--key", secret]);
    env.ok(["sign", &two, "--key", secret]);
    // Swapped: 2.0.0's valid signature beside 1.0.0's manifest.
    let swapped = env.path("swapped");
    crate::common::copy_dir(std::path::Path::new(&one), &swapped);
    std::fs::copy(
        format!("{two}/manifest.json.minisig"),
        swapped.join("manifest.json.minisig"),
    )
    .unwrap();
    let err = env.fails(["verify", swapped.to_str().unwrap(), "--key", public]);
    assert!(err.contains("signature does not match"), "{err}");

    // A tampered data file fails its digest.
    let tampered = env.path("tampered");
    crate::common::copy_dir(std::path::Path::new(&one), &tampered);
    std::fs::write(
        tampered.join("tables/items.jsonl"),
        "{\"id\":1,\"name\":\"evil\"}\n",
    )
    .unwrap();
    let err = env.fails(["verify", tampered.to_str().unwrap(), "--key", public]);
    assert!(err.contains("digest mismatch"), "{err}");

    // A changed manifest (another version) fails the signature.
    let edited = env.path("edited");
    crate::common::copy_dir(std::path::Path::new(&one), &edited);
    let text = std::fs::read_to_string(edited.join("manifest.json")).unwrap();
    std::fs::write(edited.join("manifest.json"), text.replace("1.0.0", "1.0.1")).unwrap();
    let err = env.fails(["verify", edited.to_str().unwrap(), "--key", public]);
    assert!(err.contains("signature does not match"), "{err}");

    // A manifest without digests cannot be signed.
    let bare = env.path("bare");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(
        bare.join("manifest.json"),
        "{\"name\":\"bare\",\"version\":\"1.0.0\"}",
    )
    .unwrap();
    let err = env.fails(["sign", bare.to_str().unwrap(), "--key", secret]);
    assert!(err.contains("no digests"), "{err}");
    assert!(!bare.join("manifest.json.minisig").exists());

    // Nor can something that is not a manifest: said, nothing written.
    let broken = env.path("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("manifest.json"),
        "{\"name\": 5, \"digests\": {}}",
    )
    .unwrap();
    let err = env.fails(["sign", broken.to_str().unwrap(), "--key", secret]);
    assert!(err.contains("not a package manifest"), "{err}");
    assert!(err.contains("expected a string"), "{err}");
    assert!(!broken.join("manifest.json.minisig").exists());
    // A manifest.json that is no regular file is not read.
    let odd = env.path("odd");
    std::fs::create_dir_all(odd.join("manifest.json")).unwrap();
    let err = env.fails(["sign", odd.to_str().unwrap(), "--key", secret]);
    assert!(err.contains("not a regular file"), "{err}");
    assert!(!odd.join("manifest.json.minisig").exists());
}

#[test]
fn load_verify_with_fails_closed_before_writing() {
    let maker = Env::new();
    let basic = maker.fixture("cub-basic");
    maker.ok(["load", basic.to_str().unwrap()]);
    maker.ok(["create", "made"]);
    let made = maker.path("made");
    let made = made.to_str().unwrap();
    let keys = maker.path("keys");
    maker.ok(["key", "generate", "--out", keys.to_str().unwrap()]);
    let public = keys.join("pkg.pub");
    let public = public.to_str().unwrap();
    let unsigned = maker.path("unsigned");
    crate::common::copy_dir(std::path::Path::new(made), &unsigned);
    maker.ok([
        "sign",
        made,
        "--key",
        keys.join("pkg.key").to_str().unwrap(),
    ]);
    let strangers = maker.path("strangers");
    maker.ok(["key", "generate", "--out", strangers.to_str().unwrap()]);

    let loader = Env::new();
    let before = loader.hub_state();
    // Unsigned: refused, nothing written.
    let err = loader.fails(["load", unsigned.to_str().unwrap(), "--verify-with", public]);
    assert!(
        err.contains("not signed") && err.contains("nothing was loaded"),
        "{err}"
    );
    // Signed by another key: refused, nothing written.
    let other = strangers.join("pkg.pub");
    let err = loader.fails(["load", made, "--verify-with", other.to_str().unwrap()]);
    assert!(err.contains("not by the trusted key"), "{err}");
    assert_eq!(loader.hub_state(), before);
    // A manifest without digests, signed outside pkg (`minisign -S`): the
    // signature pins none of the files, so it is refused like no signature.
    let undigested = maker.path("undigested");
    crate::common::copy_dir(std::path::Path::new(made), &undigested);
    let manifest = undigested.join("manifest.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    value.as_object_mut().unwrap().remove("digests");
    std::fs::write(&manifest, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let (mpub, msec) = minisign_keys(&maker.path("theirs"));
    minisign_sign(&msec, undigested.to_str().unwrap(), &[]);
    let undigested = undigested.to_str().unwrap();
    let mpub = mpub.to_str().unwrap();
    let err = loader.fails(["load", undigested, "--verify-with", mpub]);
    assert!(
        err.contains("has no digests") && err.contains("nothing was loaded"),
        "{err}"
    );
    let err = loader.fails(["verify", undigested, "--key", mpub]);
    assert!(err.contains("has no digests"), "{err}");
    assert_eq!(loader.hub_state(), before);
    // Signed by the trusted key: loaded.
    let said = loader.ok(["load", made, "--verify-with", public]);
    assert_ne!(loader.hub_state(), before, "{said}");
}

#[test]
fn archives_carry_the_signature() {
    let env = Env::new();
    let keys = env.path("keys");
    env.ok(["key", "generate", "--out", keys.to_str().unwrap()]);
    let public = keys.join("pkg.pub");
    let pkg = package(&env, "pkg", "1.0.0");
    env.ok([
        "sign",
        &pkg,
        "--key",
        keys.join("pkg.key").to_str().unwrap(),
    ]);
    for archive in ["shop.tar.gz", "shop.zip"] {
        let out = env.path(archive);
        env.ok(["pack", &pkg, "-o", out.to_str().unwrap()]);
        let said = env.ok([
            "verify",
            out.to_str().unwrap(),
            "--key",
            public.to_str().unwrap(),
        ]);
        assert!(said.contains("shop@1.0.0"), "{archive}: {said}");
    }
    // Packing twice gives the same bytes, signature included.
    let again = env.path("again.tar.gz");
    env.ok(["pack", &pkg, "-o", again.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(env.path("shop.tar.gz")).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

#[test]
fn trust_keys_in_the_config_make_every_load_verify() {
    let maker = Env::new();
    let basic = maker.fixture("cub-basic");
    maker.ok(["load", basic.to_str().unwrap()]);
    maker.ok(["create", "made"]);
    let made = maker.path("made");
    let unsigned = maker.path("unsigned");
    crate::common::copy_dir(&made, &unsigned);
    let keys = maker.path("keys");
    maker.ok(["key", "generate", "--out", keys.to_str().unwrap()]);
    maker.ok([
        "sign",
        made.to_str().unwrap(),
        "--key",
        keys.join("pkg.key").to_str().unwrap(),
    ]);

    let loader = Env::new();
    let config = loader.write(
        "config.toml",
        format!(
            "[trust]\nkeys = [{:?}]\n",
            keys.join("pkg.pub").to_str().unwrap()
        ),
    );
    loader.set_var("PKG_CONFIG", config.to_str().unwrap());
    let before = loader.hub_state();
    let err = loader.fails(["load", unsigned.to_str().unwrap()]);
    assert!(
        err.contains("not signed") && err.contains("nothing was loaded"),
        "{err}"
    );
    assert_eq!(loader.hub_state(), before);
    loader.ok(["load", made.to_str().unwrap()]);
    assert_ne!(loader.hub_state(), before);
}
