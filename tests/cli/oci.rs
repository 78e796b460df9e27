//! OCI distribution against a real registry (Debian's `docker-registry`,
//! the CNCF distribution registry 2.8, filesystem storage, plain HTTP on a
//! free loopback port): `pkg push`, `pkg load` by tag and by digest,
//! `pkg versions`, the lock pinning the manifest digest, an OCI registry
//! as a package source, and refusals: a tampered blob, a moved tag, a tag
//! that is not the version, plain HTTP to a remote host; credentials from
//! the environment or the docker config (the registry with htpasswd basic
//! auth), and never sent to another host.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::Env;
use crate::pkg_server::{change_content, make_package};

/// A throw-away registry; killed on drop.
struct Registry {
    child: Child,
    port: u16,
    data: PathBuf,
}

impl Registry {
    fn start(env: &Env) -> Registry {
        Registry::start_with(env, "registry", None)
    }

    /// A registry named `name` (its files under the test's directory),
    /// with basic auth from `htpasswd` lines when given.
    fn start_with(env: &Env, name: &str, htpasswd: Option<&str>) -> Registry {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let data = env.path(&format!("{name}-data"));
        let auth = match htpasswd {
            Some(lines) => {
                let file = env.write(&format!("{name}.htpasswd"), lines);
                format!(
                    "auth:\n  htpasswd:\n    realm: pkg-test\n    path: {}\n",
                    file.display()
                )
            }
            None => String::new(),
        };
        let config = env.write(
            &format!("{name}.yml"),
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n{auth}http:\n  addr: 127.0.0.1:{port}\n",
                data.display()
            ),
        );
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is not installed (apt-get install docker-registry)");
        let registry = Registry { child, port, data };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "the registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    fn url(&self, repo: &str) -> String {
        format!("oci://127.0.0.1:{}/{repo}", self.port)
    }

    /// The HTTP URL of manifest `tag` of `repo`.
    fn manifest_url(&self, repo: &str, tag: &str) -> String {
        format!("http://127.0.0.1:{}/v2/{repo}/manifests/{tag}", self.port)
    }

    /// The file holding the blob `digest` in the registry's storage.
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.data
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Adds source `reg`, the registry's `team` namespace, requiring
/// signatures by `public`.
fn require_signed_source(env: &Env, registry: &Registry, public: &str) {
    env.ok([
        "source",
        "add",
        "reg",
        &registry.url("team"),
        "--require-signature",
        public,
    ]);
}

/// An environment with its own config file and plain HTTP allowed, and a
/// registry.
fn env_with_registry() -> (Env, Registry) {
    let env = Env::new();
    env.set_var("PKG_CONFIG", env.path("conf/config.toml").to_str().unwrap());
    env.set_var("PKG_OCI_INSECURE", "1");
    let registry = Registry::start(&env);
    (env, registry)
}

fn keys(env: &Env) -> (String, String) {
    let dir = env.path("keys");
    env.ok(["key", "generate", "--out", dir.to_str().unwrap()]);
    (
        dir.join("pkg.pub").to_str().unwrap().to_string(),
        dir.join("pkg.key").to_str().unwrap().to_string(),
    )
}

fn push(env: &Env, dir: &Path, to: &str) -> Value {
    serde_json::from_str(&env.ok([
        "push",
        dir.to_str().unwrap(),
        to,
        "--plain-http",
        "-o",
        "json",
    ]))
    .unwrap()
}

#[test]
fn push_load_versions_and_pin_by_digest() {
    let env = Env::new();
    let registry = Registry::start(&env);
    let (public, secret) = keys(&env);
    let v1 = make_package(&env, "v1", "app", "1.0.0", None);
    env.ok(["sign", v1.to_str().unwrap(), "--key", &secret]);
    let v2 = make_package(&env, "v2", "app", "1.1.0+build.7", None);
    let repo = registry.url("team/app");

    // Refusals before anything is sent.
    let err = env.fails([
        "push",
        v1.to_str().unwrap(),
        &format!("{repo}:9.9.9"),
        "--plain-http",
    ]);
    assert!(err.contains("is not the package's version 1.0.0"), "{err}");
    let err = env.fails([
        "push",
        v1.to_str().unwrap(),
        "oci://registry.example/app",
        "--plain-http",
    ]);
    assert!(err.contains("not a loopback address"), "{err}");
    let err = env.fails([
        "push",
        v1.to_str().unwrap(),
        &format!("{repo}:1.1.0+build.7"),
    ]);
    assert!(err.contains("write it as `1.1.0_build.7`"), "{err}");
    let long = make_package(
        &env,
        "long",
        "app",
        &format!("1.0.0+{}", "b".repeat(130)),
        None,
    );
    let err = env.fails(["push", long.to_str().unwrap(), &repo, "--plain-http"]);
    assert!(err.contains("OCI tags hold at most 128"), "{err}");
    // HTTPS is the default: the plain-HTTP registry is not reached.
    let err = env.fails(["push", v1.to_str().unwrap(), &repo]);
    assert!(err.contains("cannot push app@1.0.0"), "{err}");

    let first = push(&env, &v1, &format!("{repo}:1.0.0"));
    let again = push(&env, &v1, &repo);
    assert_eq!(
        first["digest"], again["digest"],
        "the same package pushes the same manifest"
    );
    // The layer is the very archive `pkg pack` writes.
    let packed = env.path("v1.tar.gz");
    env.ok(["pack", v1.to_str().unwrap(), "-f", packed.to_str().unwrap()]);
    let packed = std::fs::read(&packed).unwrap();
    let blobs = registry.data.join("docker/registry/v2/blobs/sha256");
    let layer_stored = std::fs::read_dir(&blobs).unwrap().any(|prefix| {
        std::fs::read_dir(prefix.unwrap().path())
            .unwrap()
            .any(|blob| {
                std::fs::read(blob.unwrap().path().join("data")).ok() == Some(packed.clone())
            })
    });
    assert!(
        layer_stored,
        "no blob in {} is the packed archive",
        blobs.display()
    );
    let second = push(&env, &v2, &repo);
    assert_eq!(second["reference"], format!("{repo}:1.1.0_build.7"));

    let versions: Value =
        serde_json::from_str(&env.ok(["versions", &repo, "--plain-http", "-o", "json"])).unwrap();
    assert_eq!(
        versions,
        serde_json::json!([
            {"tag": "1.1.0_build.7", "version": "1.1.0+build.7"},
            {"tag": "1.0.0", "version": "1.0.0"}
        ])
    );

    // By tag, verified; by digest; no tag = the highest version.
    let loader = Env::new();
    loader.set_var("PKG_OCI_INSECURE", "1");
    let out = loader
        .pkg(["load", &format!("{repo}:1.0.0"), "--verify-with", &public])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Signature verified"), "{said}");
    let history: Value = serde_json::from_str(&loader.ok(["history", "-o", "json"])).unwrap();
    let digest = first["digest"].as_str().unwrap();
    assert!(
        history[0]["source"]
            .as_str()
            .unwrap()
            .ends_with(&format!("@{digest}")),
        "{history}"
    );
    let by_digest = format!("{repo}@{digest}");
    let inspected: Value =
        serde_json::from_str(&loader.ok(["inspect", &by_digest, "-o", "json"])).unwrap();
    assert_eq!(inspected["version"], "1.0.0", "{inspected}");
    let newest: Value = serde_json::from_str(&loader.ok(["inspect", &repo, "-o", "json"])).unwrap();
    assert_eq!(newest["version"], "1.1.0+build.7", "{newest}");
    // A pre-release is not the highest version while a release exists.
    let rc = make_package(&env, "rc", "app", "2.0.0-rc.1", None);
    push(&env, &rc, &repo);
    let newest: Value = serde_json::from_str(&loader.ok(["inspect", &repo, "-o", "json"])).unwrap();
    assert_eq!(newest["version"], "1.1.0+build.7", "{newest}");
    // The unsigned version is refused where a signature is required.
    let before = loader.hub_state();
    let err = loader.fails(["load", &repo, "--prefix", "x", "--verify-with", &public]);
    assert!(err.contains("not signed"), "{err}");
    assert_eq!(loader.hub_state(), before);

    // The lock pins the manifest digest: the tag moved to other content is
    // refused.
    loader.ok(["lock", &format!("{repo}:1.0.0")]);
    let lock = std::fs::read_to_string(loader.path("pkg.lock")).unwrap();
    assert!(lock.contains(&format!("commit = \"{digest}\"")), "{lock}");
    change_content(&v1, "moved");
    std::fs::remove_file(v1.join("manifest.json.minisig")).unwrap();
    let moved = push(&env, &v1, &repo);
    assert_ne!(moved["digest"], first["digest"]);
    let before = loader.hub_state();
    let err = loader.fails([
        "load",
        &format!("{repo}:1.0.0"),
        "--prefix",
        "y",
        "--locked",
        "pkg.lock",
    ]);
    assert!(err.contains("was the tag moved?"), "{err}");
    assert_eq!(loader.hub_state(), before);
    // By digest, the original is still there.
    loader.ok([
        "load",
        &by_digest,
        "--prefix",
        "z",
        "--verify-with",
        &public,
    ]);
}

#[test]
fn an_oci_registry_is_a_package_source() {
    let (env, registry) = env_with_registry();
    let (public, secret) = keys(&env);
    let signed = make_package(&env, "a1", "app", "1.0.0", None);
    env.ok(["sign", signed.to_str().unwrap(), "--key", &secret]);
    let unsigned = make_package(&env, "a2", "app", "2.0.0", None);
    push(&env, &signed, &registry.url("team/app"));
    push(&env, &unsigned, &registry.url("team/app"));
    let elsewhere = make_package(&env, "o1", "other", "1.0.0", None);
    push(&env, &elsewhere, &registry.url("elsewhere/other"));

    require_signed_source(&env, &registry, &public);
    let versions = env.ok(["versions", "app"]);
    assert!(versions.contains("reg: 1.0.0 2.0.0"), "{versions}");
    let err = env.fails(["versions", "other"]);
    assert!(!err.is_empty());
    let before = env.hub_state();
    let err = env.fails(["load", "app"]);
    assert!(
        err.contains("source `reg` requires a signature") && err.contains("not signed"),
        "{err}"
    );
    assert_eq!(env.hub_state(), before);
    env.ok(["lock", "app@=1.0.0"]);
    let lock = std::fs::read_to_string(env.path("pkg.lock")).unwrap();
    assert!(
        lock.contains("commit = \"sha256:") && lock.contains("signer = "),
        "{lock}"
    );
    env.ok(["load", "app@=1.0.0", "--locked", "pkg.lock"]);
    assert_ne!(env.hub_state(), before);
}

#[test]
fn a_tampered_blob_is_refused() {
    let env = Env::new();
    env.set_var("PKG_OCI_INSECURE", "1");
    let registry = Registry::start(&env);
    let pkg = make_package(&env, "app", "app", "1.0.0", None);
    let repo = registry.url("team/app");
    push(&env, &pkg, &repo);
    // The package layer's digest, from the manifest.
    let manifest: Value =
        serde_json::from_slice(&get_manifest(&registry, "team/app", "1.0.0")).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let file = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();

    let before = env.hub_state();
    let err = env.fails(["load", &format!("{repo}:1.0.0")]);
    assert!(err.contains("does not match its digest"), "{err}");
    assert_eq!(env.hub_state(), before);
}

/// The raw manifest `tag` of `repo` in `registry`.
fn get_manifest(registry: &Registry, repo: &str, tag: &str) -> Vec<u8> {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
            &registry.manifest_url(repo, tag),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

/// Tags `bytes` (a manifest) as `tag` of `repo`, as anyone with push
/// access (but not the signing key) can.
fn put_manifest(registry: &Registry, repo: &str, tag: &str, bytes: &[u8]) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let out = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "--data-binary",
            &format!("@{}", file.path().display()),
            &registry.manifest_url(repo, tag),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_signed_package_behind_another_version_is_refused() {
    let (env, registry) = env_with_registry();
    let (public, secret) = keys(&env);
    let old = make_package(&env, "old", "app", "1.0.0", None);
    env.ok(["sign", old.to_str().unwrap(), "--key", &secret]);
    push(&env, &old, &registry.url("team/app"));

    // The signed 1.0.0, tagged 2.0.1 by someone without the key.
    let manifest = get_manifest(&registry, "team/app", "1.0.0");
    put_manifest(&registry, "team/app", "2.0.1", &manifest);
    let before = env.hub_state();
    let moved = format!("{}:2.0.1", registry.url("team/app"));
    let err = env.fails(["load", &moved, "--verify-with", &public]);
    assert!(
        err.contains("vouches for app@1.0.0, not for the version 2.0.1"),
        "{err}"
    );
    let err = env.fails(["verify", &moved, "--key", &public]);
    assert!(err.contains("vouches for app@1.0.0"), "{err}");
    assert_eq!(env.hub_state(), before);

    // Its annotations rewritten to say 2.0.1, so a source's index lists
    // it: a source that requires signatures refuses it, and so does one
    // that does not (the package says 1.0.0, the index 2.0.1).
    let mut lying: Value = serde_json::from_slice(&manifest).unwrap();
    let annotations = lying["annotations"].as_object_mut().unwrap();
    for value in annotations.values_mut() {
        if value == "1.0.0" {
            *value = Value::from("2.0.1");
        }
    }
    put_manifest(
        &registry,
        "team/app",
        "2.0.1",
        &serde_json::to_vec(&lying).unwrap(),
    );
    require_signed_source(&env, &registry, &public);
    let versions = env.ok(["versions", "app"]);
    assert!(versions.contains("2.0.1"), "{versions}");
    let err = env.fails(["load", "app@=2.0.1"]);
    assert!(
        err.contains("vouches for app@1.0.0, not for the version 2.0.1"),
        "{err}"
    );
    env.ok(["source", "remove", "reg"]);
    env.ok(["source", "add", "open", &registry.url("team")]);
    let err = env.fails(["load", "app@=2.0.1"]);
    assert!(err.contains("says version 1.0.0"), "{err}");
    assert_eq!(env.hub_state(), before);
    // The real 1.0.0 still loads.
    env.ok(["load", "app@=1.0.0"]);
    assert_ne!(env.hub_state(), before);
}

/// The registry's user, its password, and the htpasswd line for them (a
/// bcrypt hash made once with Python's `bcrypt`).
const USER: &str = "pkguser";
const PASSWORD: &str = "pkg-test-password";
const HTPASSWD: &str = "pkguser:$2b$05$LZvkz5XPC2chr0lexdFynu11Ngz7wTPUp4HZC1acUvY1RtKB1TFnO\n";
/// base64 of `pkguser:pkg-test-password` and of `pkguser:wrong`, as
/// `docker login` writes them in the docker config.
const DOCKER_AUTH: &str = "cGtndXNlcjpwa2ctdGVzdC1wYXNzd29yZA==";
const DOCKER_AUTH_WRONG: &str = "cGtndXNlcjp3cm9uZw==";

fn docker_config(env: &Env, auths: &[(String, &str)]) {
    let entries: serde_json::Map<String, Value> = auths
        .iter()
        .map(|(host, auth)| (host.clone(), serde_json::json!({ "auth": auth })))
        .collect();
    env.write(
        "docker/config.json",
        serde_json::json!({ "auths": entries }).to_string(),
    );
}

#[test]
fn credentials_come_from_the_environment_or_the_docker_config() {
    let env = Env::new();
    env.set_var("DOCKER_CONFIG", env.path("docker").to_str().unwrap());
    let locked = Registry::start_with(&env, "locked", Some(HTPASSWD));
    let host = format!("127.0.0.1:{}", locked.port);
    let repo = locked.url("team/app");
    let package = make_package(&env, "p", "app", "1.0.0", None);
    let dir = package.to_str().unwrap();

    // None: refused, saying what to set.
    let err = env.fails(["push", dir, &repo, "--plain-http"]);
    assert!(
        err.contains(&format!("registry {host} refused access")),
        "{err}"
    );
    assert!(
        err.contains("set PKG_OCI_USERNAME and PKG_OCI_PASSWORD"),
        "{err}"
    );
    // Wrong ones in the environment: refused, naming where they came from.
    env.set_var("PKG_OCI_USERNAME", USER);
    env.set_var("PKG_OCI_PASSWORD", "wrong");
    let err = env.fails(["push", dir, &repo, "--plain-http"]);
    assert!(
        err.contains("did not accept the credentials from PKG_OCI_USERNAME/PKG_OCI_PASSWORD"),
        "{err}"
    );
    // Half of them is a mistake, not anonymous access.
    env.set_var("PKG_OCI_PASSWORD", "");
    let err = env.fails(["push", dir, &repo, "--plain-http"]);
    assert!(err.contains("set both"), "{err}");
    // The right ones: pushed, listed and loaded.
    env.set_var("PKG_OCI_PASSWORD", PASSWORD);
    push(&env, &package, &repo);
    let versions = env.ok(["versions", &repo, "--plain-http", "-o", "json"]);
    assert!(versions.contains("\"1.0.0\""), "{versions}");

    // From the docker config: the entry for this host and port.
    let loader = Env::new();
    loader.set_var("DOCKER_CONFIG", loader.path("docker").to_str().unwrap());
    loader.set_var("PKG_OCI_INSECURE", "1");
    docker_config(&loader, &[(host.clone(), DOCKER_AUTH_WRONG)]);
    let before = loader.hub_state();
    let err = loader.fails(["load", &repo]);
    assert!(
        err.contains(&format!(
            "did not accept the credentials from the docker config's auth entry for {host}"
        )),
        "{err}"
    );
    assert_eq!(loader.hub_state(), before);
    // An entry for the same address on another port is not this registry's.
    docker_config(&loader, &[("127.0.0.1:1".to_string(), DOCKER_AUTH)]);
    let err = loader.fails(["load", &repo]);
    assert!(err.contains("needs credentials"), "{err}");
    docker_config(
        &loader,
        &[
            ("127.0.0.1:1".to_string(), DOCKER_AUTH_WRONG),
            (format!("http://{host}/v2/"), DOCKER_AUTH),
        ],
    );
    loader.ok(["load", &repo]);
    assert!(loader.count("unit") > 0);
}

/// A hand-written registry that records every request's head and answers
/// it with `answer(head, port)`: for what the real registry here cannot
/// show (what a client sends to a host it has no credentials for; the
/// bearer-token flow, which needs a token service).
fn recording_registry(
    answer: fn(&str, u16) -> String,
) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            record.lock().unwrap().push(head.clone());
            let _ = stream.write_all(answer(&head, port).as_bytes());
        }
    });
    (port, seen)
}

/// Asserts the recording registry saw requests, none with credentials.
fn assert_no_credentials_sent(requests: &[String]) {
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| !r.to_ascii_lowercase().contains("authorization:")),
        "{requests:?}"
    );
}

/// An HTTP response with `status`, extra `headers` lines and a JSON `body`.
fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nDocker-Distribution-Api-Version: registry/2.0\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// 401 with a basic-auth challenge, whatever is asked.
fn basic_challenge(_head: &str, _port: u16) -> String {
    response(
        "401 Unauthorized",
        "WWW-Authenticate: Basic realm=\"rec\"\r\n",
        "",
    )
}

/// The token flow: `/v2/` challenges for a bearer token from `/token`, which
/// gives `tok-123` for the basic credentials of USER / PASSWORD; the tags
/// of `team/app` are listed with that token only.
fn token_registry(head: &str, port: u16) -> String {
    let lower = head.to_ascii_lowercase();
    let challenge = format!(
        "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"rec\"\r\n"
    );
    if head.starts_with("GET /token") {
        return if lower.contains(&format!(
            "authorization: basic {}",
            DOCKER_AUTH.to_ascii_lowercase()
        )) {
            response("200 OK", "", r#"{"token":"tok-123"}"#)
        } else {
            response("401 Unauthorized", "", r#"{"errors":[]}"#)
        };
    }
    if head.starts_with("GET /v2/team/app/tags/list")
        && lower.contains("authorization: bearer tok-123")
    {
        return response(
            "200 OK",
            "",
            r#"{"name":"team/app","tags":["0.9.0","1.0.0","latest"]}"#,
        );
    }
    response("401 Unauthorized", &challenge, r#"{"errors":[]}"#)
}

/// An environment with USER / PASSWORD in `PKG_OCI_USERNAME` and
/// `PKG_OCI_PASSWORD`, an empty docker config and plain HTTP allowed.
fn credentialed_env() -> Env {
    let env = Env::new();
    env.set_var("DOCKER_CONFIG", env.path("docker").to_str().unwrap());
    env.set_var("PKG_OCI_INSECURE", "1");
    env.set_var("PKG_OCI_USERNAME", USER);
    env.set_var("PKG_OCI_PASSWORD", PASSWORD);
    env
}

#[test]
fn bearer_tokens_are_fetched_with_the_credentials() {
    let (port, seen) = recording_registry(token_registry);
    let repo = format!("oci://127.0.0.1:{port}/team/app");
    let env = credentialed_env();
    let versions: Value = serde_json::from_str(&env.ok(["versions", &repo, "-o", "json"])).unwrap();
    assert_eq!(
        versions,
        serde_json::json!([
            {"tag": "1.0.0", "version": "1.0.0"},
            {"tag": "0.9.0", "version": "0.9.0"}
        ])
    );
    let requests = seen.lock().unwrap().clone();
    let token = requests
        .iter()
        .find(|r| r.starts_with("GET /token"))
        .expect("a token request");
    assert!(
        token.contains("scope=repository%3Ateam%2Fapp%3Apull"),
        "{token}"
    );
    // The password went to the token service only, never with a registry call.
    assert!(
        requests
            .iter()
            .filter(|r| r.starts_with("GET /v2/"))
            .all(|r| !r.to_ascii_lowercase().contains("authorization: basic")),
        "{requests:?}"
    );
    // Wrong credentials: the token service refuses, and pkg says so.
    env.set_var("PKG_OCI_PASSWORD", "wrong");
    let err = env.fails(["versions", &repo]);
    assert!(
        err.contains("did not accept the credentials from PKG_OCI_USERNAME/PKG_OCI_PASSWORD"),
        "{err}"
    );
}

#[test]
fn credentials_go_only_to_their_registry() {
    let (port, seen) = recording_registry(basic_challenge);
    let other = format!("oci://127.0.0.1:{port}/team/app");
    let env = Env::new();
    env.set_var("DOCKER_CONFIG", env.path("docker").to_str().unwrap());
    env.set_var("PKG_OCI_INSECURE", "1");
    // The docker config holds credentials for another registry: none is sent.
    docker_config(&env, &[("127.0.0.1:1".to_string(), DOCKER_AUTH)]);
    let err = env.fails(["versions", &other]);
    assert!(err.contains("needs credentials"), "{err}");
    assert_no_credentials_sent(&seen.lock().unwrap());
    // With an entry for this one, they are sent (so the check above can fail).
    docker_config(&env, &[(format!("127.0.0.1:{port}"), DOCKER_AUTH)]);
    env.fails(["versions", &other]);
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.to_ascii_lowercase().contains(&format!(
                "authorization: basic {}",
                DOCKER_AUTH.to_ascii_lowercase()
            ))),
        "{requests:?}"
    );
}

#[test]
fn environment_credentials_can_be_kept_to_one_registry() {
    let (port, seen) = recording_registry(basic_challenge);
    let repo = format!("oci://127.0.0.1:{port}/team/app");
    let env = credentialed_env();
    // PKG_OCI_REGISTRY names another registry: nothing is sent here.
    env.set_var("PKG_OCI_REGISTRY", "127.0.0.1:1");
    let err = env.fails(["versions", &repo]);
    assert!(err.contains("needs credentials"), "{err}");
    assert_no_credentials_sent(&seen.lock().unwrap());
    // Naming this one, they are sent.
    env.set_var("PKG_OCI_REGISTRY", format!("127.0.0.1:{port}"));
    let err = env.fails(["versions", &repo]);
    assert!(err.contains("PKG_OCI_USERNAME"), "{err}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|r| r.to_ascii_lowercase().contains("authorization: basic")),
        "no credentials were sent"
    );
}

/// Challenges for a token service on another host over plain HTTP.
fn cleartext_token_registry(_head: &str, _port: u16) -> String {
    response(
        "401 Unauthorized",
        "WWW-Authenticate: Bearer realm=\"http://203.0.113.7/token\",service=\"rec\"\r\n",
        r#"{"errors":[]}"#,
    )
}

#[test]
fn credentials_never_go_to_a_cleartext_token_service() {
    let (port, seen) = recording_registry(cleartext_token_registry);
    let repo = format!("oci://127.0.0.1:{port}/team/app");
    let env = credentialed_env();
    let err = env.fails(["versions", &repo]);
    assert!(
        err.contains("sends clients to the token service http://203.0.113.7/token over plain HTTP"),
        "{err}"
    );
    assert_no_credentials_sent(&seen.lock().unwrap());

    // Hidden behind a Basic challenge in the same header: still seen.
    let (port, seen) = recording_registry(|_, _| {
        response(
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"r\", Bearer realm=\"http://203.0.113.7/t\"\r\n",
            r#"{"errors":[]}"#,
        )
    });
    let err = env.fails(["versions", &format!("oci://127.0.0.1:{port}/team/app")]);
    assert!(err.contains("token service http://203.0.113.7/t"), "{err}");
    assert_no_credentials_sent(&seen.lock().unwrap());
}

/// A registry that ignores `last`: every page of tags is the same full
/// page of 1000 (`1.0.000` to `1.0.999` sorted as text, as registries do).
fn ignores_last(head: &str, _port: u16) -> String {
    if head.contains("/tags/list") {
        let mut tags: Vec<String> = (0..1000).map(|i| format!("1.0.{i}")).collect();
        tags.sort();
        let body = serde_json::json!({"name": "team/app", "tags": tags}).to_string();
        return response("200 OK", "", &body);
    }
    response("200 OK", "", "{}")
}

/// A registry that pages properly: 2,500 tags, 1000 a page after `last`
/// (100 a page for `team/capped`, as registries that cap `n` do).
fn pages_properly(head: &str, _port: u16) -> String {
    if head.contains("/tags/list") {
        let mut tags: Vec<String> = (0..2500).map(|i| format!("2.0.{i}")).collect();
        tags.sort();
        let line = head.lines().next().unwrap_or_default();
        let after = line
            .split(['?', '&', ' '])
            .find_map(|p| p.strip_prefix("last="))
            .map(str::to_string);
        let start = after
            .and_then(|a| tags.iter().position(|t| *t == a))
            .map_or(0, |i| i + 1);
        let size = if head.contains("/team/capped/") {
            100
        } else {
            1000
        };
        let page: Vec<&String> = tags.iter().skip(start).take(size).collect();
        let body = serde_json::json!({"name": "team/app", "tags": page}).to_string();
        return response("200 OK", "", &body);
    }
    response("200 OK", "", "{}")
}

/// How many tag-list requests the recording registry saw.
fn tag_list_requests(seen: &std::sync::Mutex<Vec<String>>) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|r| r.contains("/tags/list"))
        .count()
}

/// How many versions `pkg versions -o json` lists for `repo` on the
/// recording registry at `port`.
fn versions_listed(env: &Env, port: u16, repo: &str) -> usize {
    let said = env.ok([
        "versions",
        &format!("oci://127.0.0.1:{port}/{repo}"),
        "-o",
        "json",
    ]);
    let listed: Value = serde_json::from_str(&said).unwrap();
    listed.as_array().map_or(0, Vec::len)
}

#[test]
fn a_registry_that_ignores_paging_does_not_loop() {
    let (port, seen) = recording_registry(ignores_last);
    let env = Env::new();
    env.set_var("PKG_OCI_INSECURE", "1");
    let said = env.ok(["versions", &format!("oci://127.0.0.1:{port}/team/app")]);
    assert!(said.contains("1.0.999") && said.contains("1.0.0"), "{said}");
    let pages = tag_list_requests(&seen);
    assert_eq!(
        pages, 2,
        "the second page did not advance, so listing stops"
    );

    // A registry that honours `last`: every page is read.
    let (port, seen) = recording_registry(pages_properly);
    assert_eq!(versions_listed(&env, port, "team/app"), 2500);
    let pages = tag_list_requests(&seen);
    assert_eq!(pages, 4, "three pages and the empty one after them");
    // One that caps pages at 100: still every tag.
    assert_eq!(versions_listed(&env, port, "team/capped"), 2500);
}
