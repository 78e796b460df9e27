//! Real servers on 127.0.0.1 for the tests: an HTTP file server and git.
//!
//! - [`HttpServer`]: a small threaded HTTP/1.1 server (keep-alive, chunked
//!   request bodies) that serves static files from `<root>/files/`, hands
//!   git smart-HTTP requests to the real `git http-backend` (repositories in
//!   `<root>/git-repos/`), and can redirect, demand a token, answer with a
//!   canned response or stream an endless body.
//! - [`GitDaemon`]: the real `git daemon` serving `git://` from a directory.
//! - [`RepoBuilder`]: builds repositories with history through the real git
//!   CLI and pushes them into a bare repository the servers can serve.
//! - [`git_cli`], [`git_ok`], [`http_get`], [`http_request`]: small clients
//!   for the tests themselves.
//!
//! Every git process runs with `GIT_CONFIG_NOSYSTEM=1`, an isolated global
//! config and a cleared environment, so the user's configuration can't
//! interfere.

#![allow(dead_code)]

use std::cell::Cell;
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How often blocked server threads wake up to check whether to stop.
const POLL: Duration = Duration::from_millis(100);
/// Longest request line or header line accepted.
const MAX_LINE: usize = 16 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 200;
/// Largest request body accepted (bigger bodies get `413`).
const MAX_BODY: usize = 512 * 1024 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------

/// One request as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target as sent, including any `?query`.
    pub path: String,
    /// Header names lowercased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Config {
    /// `(from_prefix, to_base)`.
    redirects: Vec<(String, String)>,
    /// `(path_prefix, token)`.
    tokens: Vec<(String, String)>,
    /// Exact paths with an endless body.
    endless: Vec<String>,
    /// `(path, status, body)`.
    canned: Vec<(String, u16, Vec<u8>)>,
}

struct Shared {
    files: PathBuf,
    git_root: PathBuf,
    stop: AtomicBool,
    config: Mutex<Config>,
    requests: Mutex<Vec<Request>>,
    /// Connection threads still running.
    active: Mutex<usize>,
    idle: Condvar,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Counts a connection thread as active while alive.
struct ActiveGuard(Arc<Shared>);

impl ActiveGuard {
    fn new(shared: &Arc<Shared>) -> ActiveGuard {
        *lock(&shared.active) += 1;
        ActiveGuard(shared.clone())
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let mut n = lock(&self.0.active);
        *n = n.saturating_sub(1);
        self.0.idle.notify_all();
    }
}

/// A threaded HTTP/1.1 server on `127.0.0.1`, stopped on drop.
///
/// Routing, in order: [`redirect`](HttpServer::redirect)s,
/// [`require_token`](HttpServer::require_token),
/// [`endless`](HttpServer::endless) and [`respond`](HttpServer::respond)
/// paths, git (`/git/...`, or `/OWNER/REPO[.git]/...` when
/// `<root>/git-repos/OWNER/REPO.git` exists) through `git http-backend`,
/// and finally static files from `<root>/files/`.
pub struct HttpServer {
    addr: SocketAddr,
    root: PathBuf,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Starts a server for `root` (creates `<root>/files` and
    /// `<root>/git-repos`) on a free port.
    pub fn start(root: &Path) -> HttpServer {
        let root = std::path::absolute(root).expect("absolute root");
        let files = root.join("files");
        let git_root = root.join("git-repos");
        std::fs::create_dir_all(&files).expect("create files dir");
        std::fs::create_dir_all(&git_root).expect("create git-repos dir");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            files,
            git_root,
            stop: AtomicBool::new(false),
            config: Mutex::new(Config::default()),
            requests: Mutex::new(Vec::new()),
            active: Mutex::new(0),
            idle: Condvar::new(),
        });
        let for_thread = shared.clone();
        let acceptor = thread::Builder::new()
            .name("http-accept".into())
            .spawn(move || accept_loop(listener, for_thread))
            .expect("spawn accept thread");
        HttpServer {
            addr,
            root,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`, for a raw `TcpStream::connect`.
    pub fn addr_string(&self) -> String {
        self.addr.to_string()
    }

    /// The root given to [`HttpServer::start`] (made absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/files`: served as static files.
    pub fn files_dir(&self) -> &Path {
        &self.shared.files
    }

    /// `<root>/git-repos`: the git project root.
    pub fn git_root(&self) -> &Path {
        &self.shared.git_root
    }

    /// Writes a static file at `<root>/files/<rel>` and returns its URL.
    pub fn put_file(&self, rel: &str, bytes: &[u8]) -> String {
        let rel = rel.trim_start_matches('/');
        let path = self.shared.files.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, bytes).expect("write static file");
        format!("{}/{rel}", self.url())
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Requests whose path starts with `from_prefix` get `302 Found` with
    /// `Location: to_base + rest` (`rest` is the path after the prefix,
    /// query included). `to_base` may be a path or a full URL.
    pub fn redirect(&self, from_prefix: &str, to_base: &str) {
        lock(&self.shared.config)
            .redirects
            .push((from_prefix.to_string(), to_base.to_string()));
    }

    /// Requests under `path_prefix` need `Authorization: Bearer <token>` or
    /// Basic auth with password `<token>` (any user); otherwise `401` with
    /// `WWW-Authenticate: Basic realm="test"`.
    pub fn require_token(&self, path_prefix: &str, token: &str) {
        lock(&self.shared.config)
            .tokens
            .push((path_prefix.to_string(), token.to_string()));
    }

    /// `path` (exactly, with or without its query) answers `200` with a body
    /// that never ends (no length, `Connection: close`): the server writes
    /// until the client hangs up or the server is dropped.
    pub fn endless(&self, path: &str) {
        lock(&self.shared.config).endless.push(path.to_string());
    }

    /// `path` (exactly, with or without its query) answers `status` with
    /// `body`. A later call for the same path replaces the earlier one.
    pub fn respond(&self, path: &str, status: u16, body: Vec<u8>) {
        let mut config = lock(&self.shared.config);
        config.canned.retain(|(p, _, _)| p != path);
        config.canned.push((path.to_string(), status, body));
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        // Connection threads notice the flag within `POLL`; a CGI child may
        // need a moment to finish.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut active = lock(&self.shared.active);
        while *active > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            active = self
                .shared
                .idle
                .wait_timeout(active, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let stream = match conn {
            Ok(stream) => stream,
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let guard = ActiveGuard::new(&shared);
        let spawned = thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || {
                let shared = guard.0.clone();
                let _ = serve_connection(&shared, stream);
                drop(guard);
            });
        // If the spawn failed the closure (and the guard) was dropped.
        let _ = spawned;
    }
}

/// A client connection with its own read buffer; reads and writes wake up
/// every `POLL` to check the stop flag.
struct Conn<'a> {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    shared: &'a Shared,
    peer: String,
}

fn stopped() -> io::Error {
    io::Error::other("server stopping")
}

fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

impl Conn<'_> {
    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut tmp = [0u8; 64 * 1024];
        loop {
            if self.shared.stopping() {
                return Err(stopped());
            }
            match self.stream.read(&mut tmp) {
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return Ok(n);
                }
                Err(e) if is_retry(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// One line without its `\r\n`; `None` at a clean end of stream.
    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.buf[self.start..].iter().position(|&b| b == b'\n') {
                let mut line = self.buf[self.start..self.start + i].to_vec();
                self.start += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            if self.buffered() > MAX_LINE {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }
            if self.fill()? == 0 {
                return if self.buffered() == 0 {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
        }
    }

    fn read_exact_into(&mut self, n: usize, out: &mut Vec<u8>) -> io::Result<()> {
        while self.buffered() < n {
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        out.extend_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(())
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
            let line = String::from_utf8_lossy(&line);
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers up to the empty line.
                loop {
                    let trailer = self.read_line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
                    if trailer.is_empty() {
                        return Ok(body);
                    }
                }
            }
            if body.len() + size > MAX_BODY {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
            }
            self.read_exact_into(size, &mut body)?;
            let end = self.read_line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
            if !end.is_empty() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad chunk end"));
            }
        }
    }

    /// Writes all of `data`, giving up when the server stops.
    fn send(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.shared.stopping() {
                return Err(stopped());
            }
            match self.stream.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if is_retry(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A complete response with a `Content-Length` body.
    fn respond(
        &mut self,
        status: u16,
        headers: &[(&str, String)],
        body: &[u8],
        head: bool,
        close: bool,
    ) -> io::Result<()> {
        let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        if close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if !head {
            bytes.extend_from_slice(body);
        }
        self.send(&bytes)
    }

    fn error(&mut self, status: u16, close: bool) -> io::Result<()> {
        let body = format!("{status} {}\n", reason(status));
        self.respond(
            status,
            &[("Content-Type", "text/plain".to_string())],
            body.as_bytes(),
            false,
            close,
        )
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

fn serve_connection(shared: &Shared, stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(POLL))?;
    let _ = stream.set_nodelay(true);
    let peer = stream
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into());
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        start: 0,
        shared,
        peer,
    };
    let result = serve_requests(&mut conn);
    let _ = conn.stream.shutdown(Shutdown::Write);
    result
}

fn serve_requests(conn: &mut Conn) -> io::Result<()> {
    loop {
        let line = match conn.read_line() {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let _ = conn.error(400, true);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if line.is_empty() {
            continue; // stray CRLF between requests
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [method, target, version] = parts[..] else {
            let _ = conn.error(400, true);
            return Ok(());
        };
        if !version.starts_with("HTTP/1.") {
            let _ = conn.error(505, true);
            return Ok(());
        }
        let mut headers = Vec::new();
        loop {
            let Some(h) = conn.read_line()? else {
                return Ok(());
            };
            if h.is_empty() {
                break;
            }
            let h = String::from_utf8_lossy(&h).into_owned();
            let Some((name, value)) = h.split_once(':') else {
                let _ = conn.error(400, true);
                return Ok(());
            };
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            if headers.len() > MAX_HEADERS {
                let _ = conn.error(400, true);
                return Ok(());
            }
        }
        let req = Request {
            method: method.to_string(),
            path: target.to_string(),
            headers,
        };
        lock(&conn.shared.requests).push(req.clone());

        let http10 = version == "HTTP/1.0";
        let wants_close = req
            .header("connection")
            .is_some_and(|c| c.to_ascii_lowercase().contains("close"));
        let close = http10 || wants_close;

        // The body, de-chunked.
        let chunked = req
            .header("transfer-encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
        let length = match req.header("content-length") {
            Some(v) if !chunked => match v.parse::<usize>() {
                Ok(n) if n <= MAX_BODY => Some(n),
                Ok(_) => {
                    let _ = conn.error(413, true);
                    return Ok(());
                }
                Err(_) => {
                    let _ = conn.error(400, true);
                    return Ok(());
                }
            },
            _ => None,
        };
        let expects_continue = req
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"));
        if expects_continue && !http10 && (chunked || length.is_some_and(|n| n > 0)) {
            conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let body = if chunked {
            match conn.read_chunked() {
                Ok(body) => body,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    let _ = conn.error(400, true);
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        } else if let Some(n) = length {
            let mut body = Vec::with_capacity(n.min(1 << 20));
            conn.read_exact_into(n, &mut body)?;
            body
        } else {
            Vec::new()
        };

        let keep = route(conn, &req, &body, close)?;
        if close || !keep {
            return Ok(());
        }
    }
}

/// `(path, query)` of a request target.
fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

/// Answers one request; `Ok(false)` when the connection must close.
fn route(conn: &mut Conn, req: &Request, body: &[u8], close: bool) -> io::Result<bool> {
    let shared = conn.shared;
    let (path, query) = split_target(&req.path);
    let head = req.method == "HEAD";

    // 1. Redirects.
    let location = {
        let config = lock(&shared.config);
        config
            .redirects
            .iter()
            .find(|(from, _)| req.path.starts_with(from.as_str()))
            .map(|(from, to)| format!("{to}{}", &req.path[from.len()..]))
    };
    if let Some(location) = location {
        conn.respond(302, &[("Location", location)], b"", head, close)?;
        return Ok(true);
    }

    // 2. Tokens.
    let tokens: Vec<String> = lock(&shared.config)
        .tokens
        .iter()
        .filter(|(prefix, _)| req.path.starts_with(prefix.as_str()))
        .map(|(_, token)| token.clone())
        .collect();
    let mut user = "test".to_string();
    if !tokens.is_empty() {
        match authorized_user(req, &tokens) {
            Some(u) => user = u,
            None => {
                conn.respond(
                    401,
                    &[
                        ("WWW-Authenticate", "Basic realm=\"test\"".to_string()),
                        ("Content-Type", "text/plain".to_string()),
                    ],
                    b"401 Unauthorized\n",
                    head,
                    close,
                )?;
                return Ok(true);
            }
        }
    }

    // 3. Endless bodies and canned responses.
    let matches = |p: &str| p == req.path || p == path;
    let endless = lock(&shared.config).endless.iter().any(|p| matches(p));
    if endless {
        stream_endless(conn, head)?;
        return Ok(false);
    }
    let canned = lock(&shared.config)
        .canned
        .iter()
        .find(|(p, _, _)| matches(p))
        .map(|(_, status, body)| (*status, body.clone()));
    if let Some((status, canned_body)) = canned {
        conn.respond(
            status,
            &[("Content-Type", "application/octet-stream".to_string())],
            &canned_body,
            head,
            close,
        )?;
        return Ok(true);
    }

    // 4. Git through `git http-backend`.
    if let Some(path_info) = git_path_info(shared, path) {
        return run_cgi(conn, req, body, &path_info, query, &user, close);
    }

    // 5. Static files.
    serve_file(conn, req, path, close)?;
    Ok(true)
}

/// The user name when the request carries one of `tokens`.
fn authorized_user(req: &Request, tokens: &[String]) -> Option<String> {
    let auth = req.header("authorization")?.trim();
    let (scheme, value) = auth.split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return tokens
            .iter()
            .any(|t| t == value)
            .then(|| "token".to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_decode(value)?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        if tokens.iter().any(|t| t == password) {
            return Some(if user.is_empty() { "token" } else { user }.to_string());
        }
    }
    None
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim().trim_end_matches('=');
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s.as_bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The CGI `PATH_INFO` when `path` is a git request.
fn git_path_info(shared: &Shared, path: &str) -> Option<String> {
    let decoded = String::from_utf8_lossy(&percent_decode(path)).into_owned();
    if let Some(rest) = decoded.strip_prefix("/git/") {
        return Some(format!("/{rest}"));
    }
    // GitHub style: /OWNER/REPO[.git]/rest when the bare repo exists.
    let mut segments = decoded.trim_start_matches('/').splitn(3, '/');
    let owner = segments.next()?;
    let repo = segments.next()?;
    let rest = segments.next().unwrap_or("");
    let bad = |s: &str| s.is_empty() || s.starts_with('.') || s.contains('\\') || s.contains('\0');
    if bad(owner) || bad(repo) {
        return None;
    }
    let repo_git = if repo.ends_with(".git") {
        repo.to_string()
    } else {
        format!("{repo}.git")
    };
    let dir = shared.git_root.join(owner).join(&repo_git);
    if dir.join("HEAD").is_file() && dir.join("objects").is_dir() {
        Some(format!("/{owner}/{repo_git}/{rest}"))
    } else {
        None
    }
}

/// Runs `git http-backend` for one request and streams its answer.
fn run_cgi(
    conn: &mut Conn,
    req: &Request,
    body: &[u8],
    path_info: &str,
    query: &str,
    user: &str,
    close: bool,
) -> io::Result<bool> {
    let shared = conn.shared;
    let head = req.method == "HEAD";
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &shared.git_root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &shared.git_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("SERVER_SOFTWARE", "pkg-test-server")
        .env("SERVER_NAME", "127.0.0.1")
        .env("REQUEST_METHOD", &req.method)
        .env("PATH_INFO", path_info)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", &conn.peer)
        .env("REMOTE_USER", user)
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ct) = req.header("content-type") {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(proto) = req.header("git-protocol") {
        cmd.env("GIT_PROTOCOL", proto);
    }
    for (name, value) in &req.headers {
        let skip = matches!(
            name.as_str(),
            "content-type"
                | "content-length"
                | "transfer-encoding"
                | "authorization"
                | "connection"
        );
        if skip || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            continue;
        }
        let var = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        cmd.env(var, value);
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("test http server: cannot run git http-backend: {e}");
            conn.error(500, close)?;
            return Ok(true);
        }
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let input = body.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let result = forward_cgi_output(conn, &mut child, head, close);
    // Make sure the child ends even when the client went away.
    if result.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let _ = writer.join();
    if let Ok(text) = errors.join()
        && !text.is_empty()
    {
        eprintln!(
            "git http-backend ({} {}): {}",
            req.method,
            req.path,
            String::from_utf8_lossy(&text).trim_end()
        );
    }
    result
}

fn forward_cgi_output(
    conn: &mut Conn,
    child: &mut Child,
    head: bool,
    close: bool,
) -> io::Result<bool> {
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut status = 200u16;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut length: Option<u64> = None;
    let mut complete = false;
    loop {
        let mut line = Vec::new();
        if out.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        if line.is_empty() {
            complete = true;
            break;
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(500);
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("connection")
        {
            // Ours to decide.
        } else {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    if !complete {
        conn.error(502, close)?;
        return Ok(true);
    }

    let mut head_text = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in &headers {
        head_text.push_str(&format!("{name}: {value}\r\n"));
    }
    // Framing: the CGI's length, else chunked, else close-delimited.
    let chunked = length.is_none() && !close && !head;
    match length {
        Some(n) => head_text.push_str(&format!("Content-Length: {n}\r\n")),
        None if head => head_text.push_str("Content-Length: 0\r\n"),
        None if chunked => head_text.push_str("Transfer-Encoding: chunked\r\n"),
        None => {}
    }
    if close || (length.is_none() && !chunked && !head) {
        head_text.push_str("Connection: close\r\n");
    }
    head_text.push_str("\r\n");
    conn.send(head_text.as_bytes())?;

    let mut buf = vec![0u8; 64 * 1024];
    if head {
        while out.read(&mut buf)? > 0 {}
        return Ok(true);
    }
    let mut sent: u64 = 0;
    loop {
        let n = match out.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        if chunked {
            let mut chunk = format!("{n:x}\r\n").into_bytes();
            chunk.extend_from_slice(&buf[..n]);
            chunk.extend_from_slice(b"\r\n");
            conn.send(&chunk)?;
        } else if let Some(limit) = length {
            let room = limit.saturating_sub(sent).min(n as u64) as usize;
            conn.send(&buf[..room])?;
            sent += room as u64;
        } else {
            conn.send(&buf[..n])?;
        }
    }
    if chunked {
        conn.send(b"0\r\n\r\n")?;
        return Ok(true);
    }
    match length {
        Some(limit) => Ok(sent == limit),
        None => Ok(false),
    }
}

fn stream_endless(conn: &mut Conn, head: bool) -> io::Result<()> {
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
    )?;
    if head {
        return Ok(());
    }
    let block: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    loop {
        conn.send(&block)?;
    }
}

fn serve_file(conn: &mut Conn, req: &Request, path: &str, close: bool) -> io::Result<()> {
    let head = req.method == "HEAD";
    if req.method != "GET" && !head {
        return conn.respond(
            405,
            &[("Allow", "GET, HEAD".to_string())],
            b"405 Method Not Allowed\n",
            false,
            close,
        );
    }
    let Some(file) = static_file(&conn.shared.files, path) else {
        return conn.error(404, close);
    };
    match std::fs::read(&file) {
        Ok(bytes) => conn.respond(
            200,
            &[("Content-Type", "application/octet-stream".to_string())],
            &bytes,
            head,
            close,
        ),
        Err(_) => conn.error(404, close),
    }
}

/// The file under `files` that `path` names, if it is a regular file inside.
fn static_file(files: &Path, path: &str) -> Option<PathBuf> {
    let mut full = files.to_path_buf();
    for segment in path.split('/') {
        if segment.is_empty() {
            continue;
        }
        let decoded = percent_decode(segment);
        if decoded == b"."
            || decoded == b".."
            || decoded.iter().any(|&b| b == b'/' || b == b'\\' || b == 0)
        {
            return None;
        }
        full.push(OsStr::from_bytes(&decoded));
    }
    let base = files.canonicalize().ok()?;
    let real = full.canonicalize().ok()?;
    (real.starts_with(&base) && real.is_file()).then_some(real)
}

// ---------------------------------------------------------------------------
// git daemon
// ---------------------------------------------------------------------------

/// The real `git daemon` serving `git://127.0.0.1:PORT/<path under base>`
/// (export-all, receive-pack enabled); killed on drop.
pub struct GitDaemon {
    child: Child,
    port: u16,
    base: PathBuf,
}

impl GitDaemon {
    /// Starts `git daemon` for repositories under `base` and waits until it
    /// accepts connections.
    pub fn start(base: &Path) -> GitDaemon {
        std::fs::create_dir_all(base).expect("create daemon base");
        let base = base.canonicalize().expect("canonical daemon base");
        let (child, port) = start_listening(
            "git daemon",
            |port| {
                // The daemon binary itself: `git daemon` would run it as a
                // child that outlives a kill of `git`.
                Command::new(git_exec_path().join("git-daemon"))
                    .arg("--reuseaddr")
                    .arg("--export-all")
                    .arg("--informative-errors")
                    .arg(format!("--base-path={}", base.display()))
                    .arg("--listen=127.0.0.1")
                    .arg(format!("--port={port}"))
                    .arg("--enable=receive-pack")
                    .arg(&base)
                    .env_clear()
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .env("HOME", &base)
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .env("GIT_CONFIG_GLOBAL", "/dev/null")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn git daemon")
            },
            String::new,
        );
        GitDaemon { child, port, base }
    }

    /// `git://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("git://127.0.0.1:{}", self.port)
    }

    /// The port the daemon listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The served directory (canonical).
    pub fn base(&self) -> &Path {
        &self.base
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real OpenSSH server on 127.0.0.1 (Debian's `openssh-server`, which the
/// README's test command installs) with its own host key, plus an
/// `ssh-agent` holding the one key it accepts. Both stop on drop.
pub struct SshServer {
    sshd: Child,
    agent: KillOnDrop,
    port: u16,
    dir: TempDir,
}

impl SshServer {
    /// Starts sshd and the agent; panics with the reason when it cannot.
    pub fn start() -> SshServer {
        let dir = tempfile::Builder::new()
            .prefix("pkg-test-sshd-")
            .tempdir()
            .expect("temp dir");
        let path = |name: &str| dir.path().join(name);
        for key in ["host_key", "client_key"] {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(path(key))
                .output()
                .expect("ssh-keygen must be installed (openssh-client)");
            assert!(out.status.success(), "ssh-keygen: {out:?}");
        }
        std::fs::copy(path("client_key.pub"), path("authorized_keys")).expect("authorized_keys");
        // sshd refuses to start without its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let sshd_bin = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("sshd is not installed: scripts/test.sh installs openssh-server");
        let agent_sock = path("agent.sock");
        let agent = KillOnDrop(
            Command::new("ssh-agent")
                .arg("-D")
                .arg("-a")
                .arg(&agent_sock)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("ssh-agent"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !agent_sock.exists() {
            assert!(Instant::now() < deadline, "ssh-agent did not start");
            thread::sleep(Duration::from_millis(20));
        }
        let out = Command::new("ssh-add")
            .arg("-q")
            .arg(path("client_key"))
            .env("SSH_AUTH_SOCK", &agent_sock)
            .output()
            .expect("ssh-add");
        assert!(out.status.success(), "ssh-add: {out:?}");
        let (sshd, port) = start_listening(
            "sshd",
            |port| {
                let config = format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\nUsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nPubkeyAuthentication yes\n",
                    path("host_key").display(),
                    path("authorized_keys").display(),
                    path("sshd.pid").display()
                );
                std::fs::write(path("sshd_config"), config).expect("sshd_config");
                Command::new(sshd_bin)
                    .args(["-D", "-e", "-f"])
                    .arg(path("sshd_config"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(path("sshd.log")).expect("log"))
                    .spawn()
                    .expect("spawn sshd")
            },
            || std::fs::read_to_string(path("sshd.log")).unwrap_or_default(),
        );
        SshServer {
            sshd,
            agent,
            port,
            dir,
        }
    }

    /// The port sshd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `SSH_AUTH_SOCK` of the agent holding the accepted key.
    pub fn agent_socket(&self) -> PathBuf {
        self.dir.path().join("agent.sock")
    }

    /// The `known_hosts` line for this server.
    pub fn known_hosts_line(&self) -> String {
        let key = std::fs::read_to_string(self.dir.path().join("host_key.pub")).expect("host key");
        let mut parts = key.split_whitespace();
        format!(
            "[127.0.0.1]:{} {} {}\n",
            self.port,
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default()
        )
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
    }
}

/// `git --exec-path`: where git's own programs live.
fn git_exec_path() -> PathBuf {
    let out = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("git must be installed");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Starts a server with `spawn(port)` on a free port and waits until it
/// accepts connections, trying up to five ports; panics with `log()` when
/// it cannot.
fn start_listening(
    what: &str,
    mut spawn: impl FnMut(u16) -> Child,
    log: impl Fn() -> String,
) -> (Child, u16) {
    let mut last_error = String::new();
    for _attempt in 0..5 {
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").expect("bind probe");
            probe.local_addr().expect("probe addr").port()
        };
        let mut child = spawn(port);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                last_error = format!("{what} exited with {status} (port {port}): {}", log());
                break;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return (child, port);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                last_error = format!("{what} did not listen on port {port} in 10 s");
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("cannot start {what}: {last_error}");
}

/// A child process killed and reaped on drop (also when a test panics).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------------
// Repository builder and git CLI helpers
// ---------------------------------------------------------------------------

/// The first commit's time (2023-11-14T22:13:20Z); every commit or
/// annotated tag advances the clock by a minute, so histories are
/// deterministic (same steps, same shas).
const EPOCH: u64 = 1_700_000_000;

/// A `git` command with an isolated environment: no system config, global
/// config at `<home>/.gitconfig`, no prompts, fixed identity.
pub fn git_cli(home: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .args([
            "-c",
            "core.autocrlf=false",
            "-c",
            "core.symlinks=true",
            "-c",
            "commit.gpgSign=false",
            "-c",
            "tag.gpgSign=false",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
            "-c",
            "protocol.version=2",
        ]);
    cmd
}

/// Runs `cmd`, panics with its stderr unless it succeeds; returns stdout.
pub fn git_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run git");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds history in a work tree with the real git CLI and pushes it to a
/// bare repository.
pub struct RepoBuilder {
    /// The work tree (a temp dir, removed on drop).
    pub work: PathBuf,
    /// The bare repository (kept).
    pub bare: PathBuf,
    tmp: TempDir,
    home: PathBuf,
    clock: Cell<u64>,
}

impl RepoBuilder {
    /// Creates a bare repository at `bare_path` (`main` as HEAD) and an
    /// empty work tree with the bare repository as `origin`.
    pub fn new(bare_path: &Path) -> RepoBuilder {
        let bare = std::path::absolute(bare_path).expect("absolute bare path");
        std::fs::create_dir_all(bare.parent().expect("bare parent")).expect("mkdir");
        let tmp = tempfile::Builder::new()
            .prefix("pkg-test-repo-")
            .tempdir()
            .expect("temp dir");
        let home = tmp.path().join("home");
        let work = tmp.path().join("work");
        std::fs::create_dir_all(&home).expect("mkdir home");
        git_ok(
            git_cli(&home)
                .current_dir(tmp.path())
                .args(["init", "-q", "--bare", "-b", "main"])
                .arg(&bare),
        );
        git_ok(
            git_cli(&home)
                .current_dir(tmp.path())
                .args(["init", "-q", "-b", "main"])
                .arg(&work),
        );
        let builder = RepoBuilder {
            work,
            bare,
            tmp,
            home,
            clock: Cell::new(EPOCH),
        };
        let bare = builder.bare.display().to_string();
        builder.git(["remote", "add", "origin", bare.as_str()]);
        builder
    }

    /// Runs git in the work tree; panics on failure; returns stdout.
    pub fn git<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let date = format!("{} +0000", self.clock.get());
        git_ok(
            git_cli(&self.home)
                .current_dir(&self.work)
                .env("GIT_AUTHOR_DATE", &date)
                .env("GIT_COMMITTER_DATE", &date)
                .args(args),
        )
    }

    fn tick(&self) {
        self.clock.set(self.clock.get() + 60);
    }

    fn path(&self, rel: &str) -> PathBuf {
        let rel = Path::new(rel);
        assert!(
            rel.is_relative(),
            "path must be relative: {}",
            rel.display()
        );
        self.work.join(rel)
    }

    /// Writes a file (creating parents; replacing a symlink there).
    pub fn write(&self, rel: &str, bytes: &[u8]) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        remove_if_link(&path);
        std::fs::write(&path, bytes).expect("write");
    }

    /// Copies the directory `src` (files, dirs, symlinks; no `.git`) to
    /// `rel` in the work tree, replacing what was there. `rel` = `""` or
    /// `"."` replaces the whole tree (but not `.git`).
    pub fn copy_dir(&self, src: &Path, rel: &str) {
        let dst = if rel.is_empty() || rel == "." {
            for entry in std::fs::read_dir(&self.work).expect("read work") {
                let entry = entry.expect("entry");
                if entry.file_name() != ".git" {
                    remove_path(&entry.path());
                }
            }
            self.work.clone()
        } else {
            let dst = self.path(rel);
            if dst.symlink_metadata().is_ok() {
                remove_path(&dst);
            }
            dst
        };
        copy_tree(src, &dst);
    }

    /// Removes a file, symlink or directory from the work tree.
    pub fn remove(&self, rel: &str) {
        remove_path(&self.path(rel));
    }

    /// Creates a symlink at `rel` pointing at `target` (as written).
    pub fn symlink(&self, rel: &str, target: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        if path.symlink_metadata().is_ok() {
            remove_path(&path);
        }
        std::os::unix::fs::symlink(target, &path).expect("symlink");
    }

    /// `git add -A` and commit (empty commits allowed); returns the full sha.
    pub fn commit(&self, message: &str) -> String {
        self.git(["add", "-A"]);
        self.git([
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
        ]);
        self.tick();
        self.head()
    }

    /// Creates branch `name` at HEAD and checks it out.
    pub fn branch(&self, name: &str) {
        self.git(["checkout", "-q", "-b", name]);
    }

    /// Checks out a branch, tag or commit.
    pub fn checkout(&self, name: &str) {
        self.git(["checkout", "-q", name]);
    }

    /// An annotated tag at HEAD; returns its name.
    pub fn tag(&self, name: &str) -> String {
        self.git(["tag", "-a", name, "-m", name]);
        self.tick();
        name.to_string()
    }

    /// A lightweight tag at HEAD; returns its name.
    pub fn lightweight_tag(&self, name: &str) -> String {
        self.git(["tag", name]);
        name.to_string()
    }

    /// Force-pushes all branches and all tags to the bare repository.
    pub fn push(&self) {
        self.git(["push", "-q", "--force", "--all", "origin"]);
        self.git(["push", "-q", "--force", "--tags", "origin"]);
    }

    /// The full sha of HEAD.
    pub fn head(&self) -> String {
        self.git(["rev-parse", "HEAD"]).trim().to_string()
    }

    /// The home dir this builder's git runs with.
    pub fn home(&self) -> &Path {
        &self.home
    }
}

fn remove_if_link(path: &Path) {
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        std::fs::remove_file(path).expect("remove symlink");
    }
}

fn remove_path(path: &Path) {
    let meta = path
        .symlink_metadata()
        .unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    if meta.is_dir() {
        std::fs::remove_dir_all(path).expect("remove dir");
    } else {
        std::fs::remove_file(path).expect("remove file");
    }
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let entry = entry.expect("entry");
        if entry.file_name() == ".git" {
            continue;
        }
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            let target = std::fs::read_link(&from).expect("read link");
            std::os::unix::fs::symlink(target, &to).expect("symlink");
        } else if kind.is_dir() {
            copy_tree(&from, &to);
        } else {
            std::fs::copy(&from, &to).expect("copy");
        }
    }
}

// ---------------------------------------------------------------------------
// A tiny HTTP client for tests
// ---------------------------------------------------------------------------

/// A response read by [`http_request`].
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    /// De-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET url`.
pub fn http_get(url: &str) -> HttpResponse {
    http_request("GET", url, &[])
}

/// Sends one request over a fresh connection (`Connection: close`) with the
/// path exactly as written in `url` (no normalisation, so `..` goes out
/// as is). Only `http://host:port/path` URLs.
pub fn http_request(method: &str, url: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let rest = url.strip_prefix("http://").expect("http:// URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut text =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse_response(&raw, method == "HEAD")
}

/// Parses one complete response (as read until close).
pub fn parse_response(raw: &[u8], head: bool) -> HttpResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of response head");
    let text = String::from_utf8_lossy(&raw[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut response = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &raw[end + 4..];
    if head {
        return response;
    }
    if response
        .header("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        let mut rest = rest;
        loop {
            let i = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size");
            let size_text = String::from_utf8_lossy(&rest[..i]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .expect("chunk size hex");
            rest = &rest[i + 2..];
            if size == 0 {
                break;
            }
            response.body.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
    } else if let Some(n) = response.header("content-length") {
        let n: usize = n.parse().expect("content-length");
        response.body = rest[..n].to_vec();
    } else {
        response.body = rest.to_vec();
    }
    response
}

// ---------------------------------------------------------------------------
// Tests of the servers themselves
// ---------------------------------------------------------------------------

/// Deterministic incompressible bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A server, a repo `acme/packages.git` with a tag, and a home for the CLI.
fn setup() -> (TempDir, HttpServer, RepoBuilder, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("pkg-test-servers-")
        .tempdir()
        .expect("temp dir");
    let server = HttpServer::start(dir.path());
    let repo = RepoBuilder::new(&server.git_root().join("acme/packages.git"));
    repo.write("README.md", b"hello\n");
    repo.write("pkg/manifest.yaml", b"name: demo\n");
    repo.commit("first");
    repo.tag("v1.0.0");
    repo.push();
    let home = dir.path().join("cli-home");
    std::fs::create_dir_all(&home).expect("mkdir home");
    (dir, server, repo, home)
}

fn ls_remote(home: &Path, url: &str) -> String {
    git_ok(git_cli(home).args(["ls-remote", url]))
}

#[test]
fn http_ls_remote_lists_refs() {
    let (_dir, server, repo, home) = setup();
    let head = repo.head();
    let tag = repo.git(["rev-parse", "v1.0.0"]).trim().to_string();
    assert_ne!(tag, head, "annotated tag object");
    for path in [
        "/git/acme/packages.git",
        "/acme/packages.git",
        "/acme/packages",
    ] {
        let refs = ls_remote(&home, &format!("{}{path}", server.url()));
        assert!(
            refs.contains(&format!("{head}\trefs/heads/main")),
            "{path}: {refs}"
        );
        assert!(
            refs.contains(&format!("{tag}\trefs/tags/v1.0.0\n")),
            "{path}: {refs}"
        );
        assert!(
            refs.contains(&format!("{head}\trefs/tags/v1.0.0^{{}}")),
            "{path}: {refs}"
        );
    }
    // Unknown repositories are not found.
    let out = git_cli(&home)
        .args(["ls-remote", &format!("{}/git/acme/nope.git", server.url())])
        .output()
        .expect("run git");
    assert!(!out.status.success());
}

#[test]
fn http_clone_and_chunked_push() {
    let (dir, server, repo, home) = setup();
    let big = noise(1, 3 << 20);
    repo.write("blobs/big.bin", &big);
    repo.write("blobs/small.bin", &noise(2, 100_000));
    let sha = repo.commit("big");
    repo.push();

    let clone = dir.path().join("clone");
    git_ok(git_cli(&home).args([
        "clone",
        "-q",
        &format!("{}/git/acme/packages.git", server.url()),
        clone.to_str().expect("utf-8"),
    ]));
    assert_eq!(
        std::fs::read(clone.join("blobs/big.bin")).expect("read"),
        big
    );
    let cloned = git_ok(
        git_cli(&home)
            .current_dir(&clone)
            .args(["rev-parse", "HEAD"]),
    );
    assert_eq!(cloned.trim(), sha);

    // A push bigger than http.postBuffer goes out chunked.
    std::fs::write(clone.join("blobs/more.bin"), noise(3, 2 << 20)).expect("write");
    git_ok(git_cli(&home).current_dir(&clone).args(["add", "-A"]));
    git_ok(
        git_cli(&home)
            .current_dir(&clone)
            .args(["commit", "-q", "-m", "more"]),
    );
    server.clear_requests();
    git_ok(
        git_cli(&home)
            .current_dir(&clone)
            .args(["push", "-q", "origin", "main"]),
    );
    let pushed = git_ok(
        git_cli(&home)
            .current_dir(&clone)
            .args(["rev-parse", "HEAD"]),
    );
    let bare = git_ok(
        git_cli(&home)
            .current_dir(&repo.bare)
            .args(["rev-parse", "main"]),
    );
    assert_eq!(bare.trim(), pushed.trim());
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.method == "POST"
            && r.path.ends_with("/git-receive-pack")
            && r.header("transfer-encoding") == Some("chunked")),
        "{requests:#?}"
    );
}

#[test]
fn git_daemon_serves_repos() {
    let (_dir, server, repo, home) = setup();
    let daemon = GitDaemon::start(server.git_root());
    let refs = ls_remote(&home, &format!("{}/acme/packages.git", daemon.url()));
    assert!(
        refs.contains(&format!("{}\trefs/heads/main", repo.head())),
        "{refs}"
    );
    assert!(refs.contains("refs/tags/v1.0.0"), "{refs}");
    let clone = server.root().join("daemon-clone");
    git_ok(git_cli(&home).args([
        "clone",
        "-q",
        &format!("{}/acme/packages.git", daemon.url()),
        clone.to_str().expect("utf-8"),
    ]));
    assert_eq!(
        std::fs::read(clone.join("pkg/manifest.yaml")).expect("read"),
        b"name: demo\n"
    );
}

#[test]
fn static_files_and_hostile_paths() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = HttpServer::start(dir.path());
    let bytes = noise(4, 200_000);
    let url = server.put_file("pkgs/demo-1.0.tar.gz", &bytes);
    std::fs::write(dir.path().join("secret"), b"secret").expect("write");

    let got = http_get(&url);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, bytes);
    let head = http_request("HEAD", &url, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("200000"));
    assert!(head.body.is_empty());

    let base = server.url();
    for path in [
        "/pkgs/missing.tar.gz",
        "/pkgs",
        "/pkgs/",
        "/../secret",
        "/pkgs/../../secret",
        "/pkgs/%2e%2e/%2e%2e/secret",
        "/..%2fsecret",
    ] {
        assert_eq!(http_get(&format!("{base}{path}")).status, 404, "{path}");
    }
    assert_eq!(http_request("DELETE", &url, &[]).status, 405);

    // Keep-alive: two requests on one connection; a bad one then closes it.
    let mut stream = TcpStream::connect(server.addr_string()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let req = "GET /pkgs/demo-1.0.tar.gz HTTP/1.1\r\nHost: x\r\n\r\n\
               POST /pkgs/demo-1.0.tar.gz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
               3\r\nabc\r\n0\r\n\r\n\
               garbage\r\n\r\n";
    stream.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{}", &text[..100]);
    assert!(text.contains("HTTP/1.1 405 Method Not Allowed\r\n"));
    assert!(text.contains("HTTP/1.1 400 Bad Request\r\n"));
    let requests = server.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods.last(), Some(&"POST"));
}

#[test]
fn redirects_tokens_and_request_log() {
    let (_dir, server, repo, home) = setup();
    server.put_file("a.bin", b"abc");
    server.redirect("/old/", "/");
    server.redirect("/moved/", &format!("{}/git/", server.url()));
    server.require_token("/git/acme/packages.git", "s3cret");

    let got = http_get(&format!("{}/old/a.bin?x=1", server.url()));
    assert_eq!(got.status, 302);
    assert_eq!(got.header("location"), Some("/a.bin?x=1"));

    // Token protection.
    let url = format!("{}/git/acme/packages.git", server.url());
    let denied = http_get(&format!("{url}/info/refs?service=git-upload-pack"));
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.header("www-authenticate"),
        Some("Basic realm=\"test\"")
    );
    let out = git_cli(&home)
        .args(["ls-remote", &url])
        .output()
        .expect("git");
    assert!(!out.status.success(), "no token must fail");
    let bearer = git_ok(git_cli(&home).args([
        "-c",
        "http.extraHeader=Authorization: Bearer s3cret",
        "ls-remote",
        &url,
    ]));
    assert!(bearer.contains(&repo.head()), "{bearer}");
    let basic_url = url.replace("http://", "http://anyone:s3cret@");
    let basic = git_ok(git_cli(&home).args(["ls-remote", &basic_url]));
    assert!(basic.contains(&repo.head()), "{basic}");
    let wrong = http_request(
        "GET",
        &format!("{url}/info/refs?service=git-upload-pack"),
        &[(
            "Authorization",
            &format!("Basic {}", base64_encode(b"x:wrong")),
        )],
    );
    assert_eq!(wrong.status, 401);

    // Redirect to another base, followed by git (GitHub-style path still open).
    server.clear_requests();
    let moved = format!("{}/moved/acme/packages.git", server.url());
    let out = git_cli(&home)
        .args(["ls-remote", &moved])
        .output()
        .expect("git");
    assert!(!out.status.success(), "redirect target needs the token");
    let refs = git_ok(git_cli(&home).args([
        "-c",
        "http.extraHeader=Authorization: Bearer s3cret",
        "ls-remote",
        &moved,
    ]));
    assert!(refs.contains(&repo.head()), "{refs}");

    // The log.
    let requests = server.requests();
    let first = &requests[0];
    assert_eq!(first.method, "GET");
    assert_eq!(
        first.path,
        "/moved/acme/packages.git/info/refs?service=git-upload-pack"
    );
    assert!(
        first
            .header("User-Agent")
            .is_some_and(|ua| ua.starts_with("git/"))
    );
    assert_eq!(first.header("git-protocol"), Some("version=2"));
    assert!(
        requests
            .iter()
            .any(|r| r.header("authorization") == Some("Bearer s3cret")
                && r.path == "/git/acme/packages.git/info/refs?service=git-upload-pack")
    );
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[test]
fn canned_and_endless_responses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = HttpServer::start(dir.path());
    server.respond("/broken.tar.gz", 500, b"boom".to_vec());
    server.respond("/teapot", 418, Vec::new());
    server.endless("/huge.tar.gz");

    let got = http_get(&format!("{}/broken.tar.gz?v=2", server.url()));
    assert_eq!((got.status, got.body.as_slice()), (500, &b"boom"[..]));
    assert_eq!(http_get(&format!("{}/teapot", server.url())).status, 418);

    let mut stream = TcpStream::connect(server.addr_string()).expect("connect");
    stream
        .write_all(b"GET /huge.tar.gz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    while total < 8 << 20 {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "endless body ended");
        total += n;
    }
    // A second endless connection left unread must not keep the server alive.
    let mut idle = TcpStream::connect(server.addr_string()).expect("connect");
    idle.write_all(b"GET /huge.tar.gz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(stream);
    drop(idle);
}

#[test]
fn repo_builder_history_is_deterministic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).expect("mkdir");
    std::fs::write(src.join("sub/a.yaml"), b"a: 1\n").expect("write");
    std::os::unix::fs::symlink("sub/a.yaml", src.join("link")).expect("symlink");

    let build = |name: &str| {
        let repo = RepoBuilder::new(&dir.path().join(name));
        repo.copy_dir(&src, "pkg");
        let first = repo.commit("first");
        repo.branch("feature/x");
        repo.write("pkg/b.yaml", b"b: 2\n");
        repo.symlink("pkg/escape", "../../etc/passwd");
        repo.remove("pkg/link");
        let second = repo.commit("second");
        repo.tag("v2");
        repo.lightweight_tag("light");
        repo.checkout("main");
        assert_eq!(repo.head(), first);
        assert!(!repo.work.join("pkg/b.yaml").exists());
        repo.copy_dir(&src, "");
        let third = repo.commit("third");
        repo.push();
        (repo, [first, second, third])
    };
    let (one, shas_one) = build("one.git");
    let (_two, shas_two) = build("two.git");
    assert_eq!(shas_one, shas_two);

    let home = dir.path().join("home");
    let bare = |args: &[&str]| git_ok(git_cli(&home).current_dir(&one.bare).args(args));
    assert_eq!(bare(&["rev-parse", "main"]).trim(), shas_one[2]);
    assert_eq!(bare(&["rev-parse", "feature/x"]).trim(), shas_one[1]);
    assert_eq!(bare(&["rev-parse", "light"]).trim(), shas_one[1]);
    assert_eq!(bare(&["rev-parse", "v2^{commit}"]).trim(), shas_one[1]);
    assert_eq!(bare(&["cat-file", "-t", "v2"]).trim(), "tag");
    assert_eq!(bare(&["symbolic-ref", "HEAD"]).trim(), "refs/heads/main");
    let tree = bare(&["ls-tree", "-r", "feature/x"]);
    assert!(tree.contains("120000 blob"), "{tree}");
    assert!(
        tree.contains("\tpkg/escape\n") && !tree.contains("pkg/link"),
        "{tree}"
    );
    let tree = bare(&["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(
        tree, "link\nsub/a.yaml\n",
        "copy_dir to \"\" replaces the tree"
    );
}
