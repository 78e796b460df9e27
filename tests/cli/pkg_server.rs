//! The real `pkg serve` (and a real etcd) for the registry tests.
//!
//! - [`PkgServer`]: the `pkg` binary serving a registry on a free loopback
//!   port, started in a test's [`Env`] (so its config, hub and data dirs are
//!   the test's own), its stderr kept in a buffer for failure messages;
//!   stopped with SIGTERM by [`PkgServer::stop`], killed on drop.
//! - [`Etcd`]: the real `etcd` binary on free loopback ports in a temporary
//!   directory, killed on drop.
//! - [`call`]: a tiny HTTP/1.1 client (one request per connection) with a
//!   method, headers and a body, answering status, headers and body.
//! - Package helpers: [`make_package`] (a copy of
//!   `examples/drift-detector` under another name, version or `min_level`),
//!   [`change_content`] (other content, digests kept valid), [`pack`] and
//!   [`tar_gz`] (an archive of any directory, for archives `pkg pack`
//!   refuses to write).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::common::{Env, copy_dir, read_json, write_json};
use crate::servers::parse_response;

/// How long a server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped server may take to exit (its grace period is 30 s).
const STOP_TIMEOUT: Duration = Duration::from_secs(45);
/// The line `pkg serve` prints once it listens.
const LISTENING: &str = "pkg serve: listening on ";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// pkg serve
// ---------------------------------------------------------------------------

/// A running `pkg serve`.
pub struct PkgServer {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    url: String,
    /// `--store` as given.
    store: String,
    /// Everything the server wrote on stderr so far.
    stderr: Arc<Mutex<String>>,
    drainer: Option<JoinHandle<()>>,
}

impl PkgServer {
    /// Starts `pkg serve --addr 127.0.0.1:0 --store STORE EXTRA...` in
    /// `env` and waits (up to 30 s) for its listening line; panics with
    /// what it wrote on stderr when it exits or does not listen in time.
    pub fn start(env: &Env, store: &str, extra_args: &[&str]) -> PkgServer {
        PkgServer::start_at(env, "127.0.0.1:0", store, extra_args)
    }

    /// [`PkgServer::start`] listening on `addr`.
    pub fn start_at(env: &Env, addr: &str, store: &str, extra_args: &[&str]) -> PkgServer {
        let mut args = vec!["serve", "--addr", addr, "--store", store];
        args.extend_from_slice(extra_args);
        let mut child = env
            .spawnable(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pkg serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let pipe = child.stderr.take().expect("stderr pipe");
        let buffer = stderr.clone();
        let drainer = thread::Builder::new()
            .name("pkg-serve-stderr".into())
            .spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = String::from_utf8_lossy(&line).into_owned();
                            if let Some(i) = text.find(LISTENING) {
                                let url = text[i + LISTENING.len()..].trim().to_string();
                                let _ = tx.send(url);
                            }
                            lock(&buffer).push_str(&text);
                        }
                    }
                }
            })
            .expect("spawn stderr thread");
        let deadline = Instant::now() + START_TIMEOUT;
        let url = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("wait pkg serve");
                    let _ = drainer.join();
                    panic!(
                        "pkg serve {args:?} exited ({status}) before listening; stderr:\n{}",
                        lock(&stderr)
                    );
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = drainer.join();
                if let Ok(url) = rx.try_recv() {
                    panic!("pkg serve exited ({status}) right after listening on {url}");
                }
                panic!(
                    "pkg serve {args:?} exited ({status}) before listening; stderr:\n{}",
                    lock(&stderr)
                );
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                let _ = drainer.join();
                panic!(
                    "pkg serve {args:?} did not print its listening line in {START_TIMEOUT:?}; stderr:\n{}",
                    lock(&stderr)
                );
            }
        };
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected listening URL `{url}`"
        );
        PkgServer {
            child: Some(child),
            url,
            store: store.to_string(),
            stderr,
            drainer: Some(drainer),
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// `http://127.0.0.1:PORT/api/v1` (no trailing slash).
    pub fn base(&self) -> String {
        format!("{}/api/v1", self.url)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// The `--store` it was started with.
    pub fn store(&self) -> &str {
        &self.store
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        lock(&self.stderr).clone()
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid");
        // SAFETY: kill(2) with the pid of our own child, which is not yet reaped.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Whether the process has exited (without reaping it twice).
    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            None => true,
            Some(c) => c.try_wait().expect("try_wait").is_some(),
        }
    }

    /// Stops the server with SIGTERM and returns its exit status (panics
    /// when it does not exit within 45 s).
    pub fn stop(&mut self) -> ExitStatus {
        self.stop_with(libc::SIGTERM)
    }

    /// Stops the server with `signal` and returns its exit status.
    pub fn stop_with(&mut self, signal: libc::c_int) -> ExitStatus {
        self.signal(signal);
        self.wait_exit()
    }

    /// Waits (up to 45 s) for the server to exit, after a signal sent with
    /// [`PkgServer::signal`]; returns its exit status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "pkg serve did not exit within {STOP_TIMEOUT:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        if let Some(d) = self.drainer.take() {
            let _ = d.join();
        }
        status
    }

    /// `METHOD /path` with an optional bearer token and body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        call(method, &format!("{}{path}", self.url), &headers, body)
    }

    /// `GET /path` with an optional bearer token.
    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, None)
    }

    /// `GET /path`, asserting 200 and a JSON body.
    pub fn get_json(&self, path: &str, token: Option<&str>) -> serde_json::Value {
        let reply = self.get(path, token);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
        reply.json()
    }

    /// `POST /api/v1/packages` with `archive`.
    pub fn publish(&self, archive: &[u8], token: Option<&str>) -> Reply {
        self.call("POST", "/api/v1/packages", token, Some(archive))
    }
}

impl Drop for PkgServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(d) = self.drainer.take() {
            let _ = d.join();
        }
    }
}

/// `sqlite:<root>/srv.db`, the store most tests use.
pub fn sqlite_store(env: &Env) -> String {
    format!("sqlite:{}", env.path("srv.db").display())
}

/// A server on `store` (started with `extra` arguments), a token of
/// `level` for `user` in `TEAM_TOKEN`, and the remote `team` configured
/// with it; returns the server and the token.
pub fn team_remote(
    env: &Env,
    store: &str,
    level: u8,
    user: &str,
    extra: &[&str],
) -> (PkgServer, String) {
    let server = PkgServer::start(env, store, extra);
    let (token, _) = create_token(env, store, level, user);
    env.set_var("TEAM_TOKEN", token.clone());
    env.ok([
        "remote",
        "add",
        "team",
        &server.url(),
        "--token-env",
        "TEAM_TOKEN",
    ]);
    (server, token)
}

/// Creates a token with `pkg serve token create` straight in `store`;
/// returns the token and its id.
pub fn create_token(env: &Env, store: &str, level: u8, name: &str) -> (String, String) {
    let out = env.ok([
        "serve",
        "token",
        "create",
        "--store",
        store,
        "--level",
        &level.to_string(),
        "--name",
        name,
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("token JSON");
    let token = v["token"].as_str().expect("token").to_string();
    assert!(
        token.starts_with("pkg_") && token.len() == 68,
        "token shape: {token}"
    );
    assert_eq!(v["level"], level, "{out}");
    assert_eq!(v["name"], name, "{out}");
    (token, v["id"].as_str().expect("id").to_string())
}

/// Revokes the token `id` with `pkg serve token revoke`.
pub fn revoke_token(env: &Env, store: &str, id: &str) {
    env.ok(["serve", "token", "revoke", id, "--store", store]);
}

/// A token of the right shape that no server issued.
pub fn forged_token() -> String {
    format!("pkg_{}", "0123456789abcdef".repeat(4))
}

// ---------------------------------------------------------------------------
// etcd
// ---------------------------------------------------------------------------

/// A single-member etcd on free loopback ports, killed on drop.
pub struct Etcd {
    child: Child,
    client_port: u16,
    dir: TempDir,
}

/// Three distinct free ports (bound at once, then released).
fn free_ports() -> [u16; 3] {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    let c = TcpListener::bind("127.0.0.1:0").expect("bind");
    [a, b, c].map(|l| l.local_addr().expect("addr").port())
}

impl Etcd {
    /// Starts etcd and waits (up to 30 s) until `GET /health` says healthy.
    /// Panics when the `etcd` binary is missing: install Debian's
    /// `etcd-server` package.
    pub fn start() -> Etcd {
        match Command::new("etcd").arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`etcd --version` failed ({}): {}; install etcd with `apt-get install etcd-server` (Debian package etcd-server)",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => panic!(
                "the etcd tests need the real `etcd` binary on PATH ({e}); install it with `apt-get install etcd-server` (Debian package etcd-server)"
            ),
        }
        let mut last = String::new();
        for _attempt in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("pkg-test-etcd-")
                .tempdir()
                .expect("temp dir");
            let [cp, pp, mp] = free_ports();
            let log = std::fs::File::create(dir.path().join("etcd.log")).expect("log file");
            let client = format!("http://127.0.0.1:{cp}");
            let peer = format!("http://127.0.0.1:{pp}");
            let mut child = Command::new("etcd")
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .args(["--name", "default", "--data-dir"])
                .arg(dir.path().join("data"))
                .args(["--listen-client-urls", &client])
                .args(["--advertise-client-urls", &client])
                .args(["--listen-peer-urls", &peer])
                .args(["--initial-advertise-peer-urls", &peer])
                .args(["--initial-cluster", &format!("default={peer}")])
                .args(["--listen-metrics-urls", &format!("http://127.0.0.1:{mp}")])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log"))
                .stderr(log)
                .spawn()
                .expect("spawn etcd");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!(
                        "etcd exited with {status}:\n{}",
                        std::fs::read_to_string(dir.path().join("etcd.log")).unwrap_or_default()
                    );
                    break;
                }
                if let Some(reply) = try_call("GET", &format!("{client}/health"), &[], None)
                    && reply.status == 200
                    && reply
                        .text()
                        .replace(' ', "")
                        .contains("\"health\":\"true\"")
                {
                    return Etcd {
                        child,
                        client_port: cp,
                        dir,
                    };
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = format!(
                        "etcd was not healthy within 30 s:\n{}",
                        std::fs::read_to_string(dir.path().join("etcd.log")).unwrap_or_default()
                    );
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("cannot start etcd: {last}");
    }

    /// `127.0.0.1:PORT`, the client endpoint.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// `etcd:127.0.0.1:PORT`, a `--store` for `pkg serve`.
    pub fn store(&self) -> String {
        format!("etcd:{}", self.endpoint())
    }

    /// What etcd logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// HTTP client
// ---------------------------------------------------------------------------

/// A response.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    /// De-chunked.
    pub body: Vec<u8>,
}

impl Reply {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// The `error` of a JSON error body; panics unless the body is
    /// `{"error": "<non-empty text>"}` with a JSON content type.
    pub fn error(&self) -> String {
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "status {}: error is not JSON: {:?} {}",
            self.status,
            self.header("content-type"),
            self.text()
        );
        let v = self.json();
        let message = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("status {}: no `error` in {v}", self.status));
        assert!(!message.is_empty(), "empty error message");
        message.to_string()
    }
}

/// Sends one request over a fresh connection (`Connection: close`), the
/// path exactly as written in `url` (`..` and `%2F` go out as they are).
/// A body gets a `Content-Length`. A server that answers before reading the
/// whole body and closes is fine: the answer is still read.
pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
    try_call(method, url, headers, body)
        .unwrap_or_else(|| panic!("{method} {url}: no HTTP response"))
}

/// [`call`], `None` when no connection or no response head.
pub fn try_call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Option<Reply> {
    let rest = url.strip_prefix("http://").expect("http:// URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = authority.parse().expect("IP:PORT authority");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if let Some(body) = body {
        bytes.extend_from_slice(body);
    }
    // The server may answer (413) and close before reading it all.
    let _ = stream.write_all(&bytes);
    read_reply(&mut stream, method == "HEAD")
}

/// Reads a whole response until the server closes; `None` without a
/// response head.
pub fn read_reply(stream: &mut TcpStream, head_only: bool) -> Option<Reply> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let r = parse_response(&raw, head_only);
    Some(Reply {
        status: r.status,
        headers: r.headers,
        body: r.body,
    })
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `within`.
pub fn eventually<T>(within: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// Packages
// ---------------------------------------------------------------------------

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The example package the registry tests publish.
pub fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/drift-detector")
}

/// Copies `examples/drift-detector` to `<root>/<dir>` and sets
/// manifest.json's `name`, `version` and (when given) `min_level`; the
/// digests stay valid (they cover the files, not the manifest).
pub fn make_package(
    env: &Env,
    dir: &str,
    name: &str,
    version: &str,
    min_level: Option<u8>,
) -> PathBuf {
    let path = env.path(dir);
    assert!(!path.exists(), "{} exists", path.display());
    copy_dir(&example(), &path);
    edit_manifest(&path, |m| {
        m["name"] = name.into();
        m["version"] = version.into();
        if let Some(level) = min_level {
            m["min_level"] = level.into();
        }
    });
    path
}

/// Edits `<dir>/manifest.json`.
pub fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let file = dir.join("manifest.json");
    let mut manifest = read_json(&file);
    edit(&mut manifest);
    write_json(&file, &manifest);
}

/// The unit data file [`change_content`] edits.
pub const CHANGED_FILE: &str = "/units/drift-detector/configmap.data.yaml";

/// Gives the package other content: appends a comment with `marker` to a
/// unit's data and updates its digest, so the package stays valid.
pub fn change_content(dir: &Path, marker: &str) {
    let file = dir.join(CHANGED_FILE.trim_start_matches('/'));
    let mut data = std::fs::read(&file).expect("read unit data");
    data.extend_from_slice(format!("# {marker}\n").as_bytes());
    std::fs::write(&file, &data).expect("write unit data");
    edit_manifest(dir, |m| {
        m["digests"][CHANGED_FILE] = sha256(&data).into();
    });
}

/// `pkg validate DIR` must pass.
pub fn validate(env: &Env, dir: &Path) {
    env.ok(["validate", dir.to_str().expect("utf-8")]);
}

/// `pkg pack DIR -o <root>/<dir name>.tar.gz`; returns the archive's bytes.
pub fn pack(env: &Env, dir: &Path) -> Vec<u8> {
    let name = dir.file_name().expect("dir name").to_string_lossy();
    let out = env.path(&format!("{name}.tar.gz"));
    env.ok([
        "pack",
        dir.to_str().expect("utf-8"),
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    std::fs::read(&out).expect("read archive")
}

/// [`make_package`], checked with `pkg validate`, and packed.
pub fn package_archive(
    env: &Env,
    dir: &str,
    name: &str,
    version: &str,
    min_level: Option<u8>,
) -> Vec<u8> {
    let path = make_package(env, dir, name, version, min_level);
    validate(env, &path);
    pack(env, &path)
}

/// A tar.gz of everything under `dir` (paths relative to it), whatever it
/// holds: for archives `pkg pack` would refuse to write.
pub fn tar_gz(dir: &Path) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(dir).expect("prefix");
        if rel.as_os_str().is_empty() {
            continue;
        }
        if entry.file_type().is_dir() {
            builder.append_dir(rel, entry.path()).expect("tar dir");
        } else {
            builder
                .append_path_with_name(entry.path(), rel)
                .expect("tar file");
        }
    }
    builder
        .into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip")
}

/// The bytes of `path` inside a tar.gz archive.
pub fn file_in_archive(archive: &[u8], path: &str) -> Option<Vec<u8>> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        if name.trim_start_matches("./") == path {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read entry");
            return Some(bytes);
        }
    }
    None
}

/// Every `key = hex(value)` row of a SQLite store under `prefix`, sorted:
/// a fingerprint of what the server has stored.
pub fn store_rows(db: &Path, prefix: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open store");
    let mut stmt = conn
        .prepare("SELECT key, hex(value) FROM server_kv WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")
        .expect("prepare");
    stmt.query_map([prefix], |r| {
        Ok(format!(
            "{} = {}",
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?
        ))
    })
    .expect("query")
    .map(|r| r.expect("row"))
    .collect()
}

/// Every file under a blob directory (relative paths, sorted), leaving out
/// its `tmp/` directory.
pub fn blob_files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk blobs"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .into_owned()
        })
        .filter(|p| !p.starts_with("tmp/"))
        .collect();
    out.sort();
    out
}
