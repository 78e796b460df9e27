//! A blocking client for a `pkg serve` registry. Redirects are followed by
//! hand (GET only, at most 10, never from https down to http) and the
//! token is attached to a request only when its URL has the remote's own
//! origin. Error answers (`{"error": ...}`) become [`RemoteError::Status`]
//! with the server's message. Uploads and downloads report progress.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::blocking::{Body, Client, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use url::Url;

use super::remotes::{self, Remote};
use crate::progress::Progress;
use crate::registry::types::{
    PackageDetail, PackageList, PublishResponse, ServerInfo, VersionRecord,
};

/// The most redirects one request follows.
const MAX_REDIRECTS: usize = 10;
/// The largest archive a download accepts.
pub const MAX_DOWNLOAD: u64 = 2 << 30;
/// The largest JSON answer read.
const MAX_JSON: u64 = 256 << 20;

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The remote's configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// The server answered with an error.
    #[error("{method} {url}: the server answered {status}: {message}")]
    Status {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The request could not be made or its answer read.
    #[error("{method} {url}: {message}")]
    Transport {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
}

impl RemoteError {
    /// The HTTP status, for an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            RemoteError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client for one remote. Clones share the connection pool.
#[derive(Clone)]
pub struct ServerClient {
    remote: Remote,
    token: Option<String>,
    http: Client,
}

fn error_text(error: &reqwest::Error) -> String {
    crate::error_text::with_causes(error)
}

impl ServerClient {
    /// A client for `remote` with its configured token.
    pub fn new(remote: Remote) -> Result<ServerClient, RemoteError> {
        let token = remotes::token(&remote)?;
        ServerClient::with_token(remote, token)
    }

    /// A client for `remote` sending `token`.
    pub fn with_token(remote: Remote, token: Option<String>) -> Result<ServerClient, RemoteError> {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| {
                RemoteError::Config(format!("cannot build an HTTP client: {}", error_text(&e)))
            })?;
        Ok(ServerClient {
            remote,
            token,
            http,
        })
    }

    /// The remote.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    fn url(&self, path: &str) -> Result<Url, RemoteError> {
        self.remote
            .url
            .join(path.trim_start_matches('/'))
            .map_err(|e| RemoteError::Config(format!("{path}: {e}")))
    }

    /// Sends one request, following GET redirects; the token goes only to
    /// the remote's own origin.
    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Body)>,
    ) -> Result<(Response, Url), RemoteError> {
        self.send_with(method, path, body, &[])
    }

    /// Sends one request with extra `headers`; see [`ServerClient::call_json`].
    fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Body)>,
        headers: &[(&'static str, String)],
    ) -> Result<(Response, Url), RemoteError> {
        let mut url = self.url(path)?;
        let mut body = body;
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self
                .http
                .request(method.clone(), url.as_str())
                .header(USER_AGENT, concat!("pkg/", env!("CARGO_PKG_VERSION")))
                .header(ACCEPT, "application/json, */*");
            if let Some(token) = &self.token
                && url.origin() == self.remote.url.origin()
            {
                request = request.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            if let Some((content_type, b)) = body.take() {
                request = request.header(CONTENT_TYPE, content_type).body(b);
            }
            let response = request.send().map_err(|e| RemoteError::Transport {
                method: method.to_string(),
                url: url.to_string(),
                message: error_text(&e),
            })?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                if method != Method::GET {
                    return Err(RemoteError::Transport {
                        method: method.to_string(),
                        url: url.to_string(),
                        message: format!(
                            "the server redirected ({status}); set the remote's URL to where it redirects"
                        ),
                    });
                }
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                url = crate::redirect::redirect_target(&url, &location).map_err(|reason| {
                    RemoteError::Transport {
                        method: method.to_string(),
                        url: url.to_string(),
                        message: reason,
                    }
                })?;
                continue;
            }
            if !status.is_success() && status != StatusCode::NOT_MODIFIED {
                return Err(status_error(&method, &url, response));
            }
            return Ok((response, url));
        }
        Err(RemoteError::Transport {
            method: method.to_string(),
            url: url.to_string(),
            message: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Body)>,
    ) -> Result<T, RemoteError> {
        self.call_json(method, path, body, &[])
    }

    /// Sends `method path` (relative to the remote's URL) with an optional
    /// body and extra headers, and reads the JSON answer.
    pub fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Body)>,
        headers: &[(&'static str, String)],
    ) -> Result<T, RemoteError> {
        Ok(self.call_json_headers(method, path, body, headers)?.0)
    }

    /// [`ServerClient::call_json`], with the answer's headers.
    pub fn call_json_headers<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Body)>,
        headers: &[(&'static str, String)],
    ) -> Result<(T, reqwest::header::HeaderMap), RemoteError> {
        let (response, url) = self.send_with(method.clone(), path, body, headers)?;
        let answer_headers = response.headers().clone();
        let mut bytes = Vec::new();
        response
            .take(MAX_JSON)
            .read_to_end(&mut bytes)
            .map_err(|e| RemoteError::Transport {
                method: method.to_string(),
                url: url.to_string(),
                message: e.to_string(),
            })?;
        serde_json::from_slice(&bytes)
            .map(|v| (v, answer_headers))
            .map_err(|e| RemoteError::Transport {
                method: method.to_string(),
                url: url.to_string(),
                message: format!(
                    "the answer is not what a pkg server sends ({e}); is this URL a pkg server?"
                ),
            })
    }

    /// Sends `method path` and reads the whole answer (at most
    /// [`MAX_DOWNLOAD`] bytes), reporting download progress.
    pub fn call_bytes(
        &self,
        method: Method,
        path: &str,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>, RemoteError> {
        let (response, url) = self.send(method.clone(), path, None)?;
        let mut out = Vec::new();
        read_body(response, &method, &url, &mut out, progress)?;
        Ok(out)
    }

    /// `GET /api/v1/version`.
    pub fn server_info(&self) -> Result<ServerInfo, RemoteError> {
        self.json(Method::GET, "api/v1/version", None)
    }

    /// `POST /api/v1/packages` with the archive `bytes`, reporting upload
    /// progress (the request runs on a scoped thread while this one
    /// reports the bytes sent).
    pub fn publish(
        &self,
        bytes: Vec<u8>,
        progress: &dyn Progress,
    ) -> Result<PublishResponse, RemoteError> {
        let len = bytes.len() as u64;
        progress.phase("uploading", len);
        let sent = Arc::new(AtomicU64::new(0));
        let reader = CountingReader {
            inner: std::io::Cursor::new(bytes),
            sent: sent.clone(),
        };
        let body = Body::sized(reader, len);
        let out = std::thread::scope(|scope| {
            let request = scope.spawn(|| {
                self.json(
                    Method::POST,
                    "api/v1/packages",
                    Some(("application/octet-stream", body)),
                )
            });
            let mut reported = 0;
            while !request.is_finished() {
                let now = sent.load(Ordering::Relaxed);
                progress.advance(now - reported);
                reported = now;
                std::thread::sleep(Duration::from_millis(50));
            }
            request.join().unwrap_or_else(|_| {
                Err(RemoteError::Transport {
                    method: "POST".into(),
                    url: self.remote.url.to_string(),
                    message: "the upload thread failed".into(),
                })
            })
        });
        progress.finish();
        out
    }

    /// `GET /api/v1/packages/search?q=`.
    pub fn search(&self, query: &str, limit: usize) -> Result<PackageList, RemoteError> {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", query)
            .append_pair("limit", &limit.to_string())
            .finish();
        self.json(Method::GET, &format!("api/v1/packages/search?{q}"), None)
    }

    /// `GET /api/v1/packages/{name}`.
    pub fn detail(&self, name: &str) -> Result<PackageDetail, RemoteError> {
        self.json(
            Method::GET,
            &format!("api/v1/packages/{}", segment(name)),
            None,
        )
    }

    /// `GET /api/v1/packages/{name}/versions` (unyanked).
    pub fn versions(&self, name: &str) -> Result<Vec<VersionRecord>, RemoteError> {
        self.versions_with_yanked(name, false)
    }

    /// `GET /api/v1/packages/{name}/versions`, yanked ones too when `yanked`.
    pub fn versions_with_yanked(
        &self,
        name: &str,
        yanked: bool,
    ) -> Result<Vec<VersionRecord>, RemoteError> {
        let query = if yanked { "?yanked=true" } else { "" };
        self.json(
            Method::GET,
            &format!("api/v1/packages/{}/versions{query}", segment(name)),
            None,
        )
    }

    /// Downloads `name@version` into `sink`, checking the archive against
    /// `digest` (`sha256:HEX`).
    pub fn download(
        &self,
        name: &str,
        version: &str,
        digest: &str,
        sink: &mut dyn Write,
        progress: &dyn Progress,
    ) -> Result<u64, RemoteError> {
        let path = format!(
            "api/v1/packages/{}/{}/download",
            segment(name),
            segment(version)
        );
        let (response, url) = self.send(Method::GET, &path, None)?;
        let (count, got) = read_body(response, &Method::GET, &url, sink, progress)?;
        if got != digest {
            return Err(RemoteError::Transport {
                method: "GET".into(),
                url: url.to_string(),
                message: format!(
                    "the archive's digest is {got}, but the registry lists {digest}; refusing it"
                ),
            });
        }
        Ok(count)
    }
}

/// Copies an answer's body into `sink` (at most [`MAX_DOWNLOAD`] bytes),
/// reporting progress; returns the byte count and the body's digest.
fn read_body(
    mut response: Response,
    method: &Method,
    url: &Url,
    sink: &mut dyn Write,
    progress: &dyn Progress,
) -> Result<(u64, String), RemoteError> {
    let fail = |message: String| RemoteError::Transport {
        method: method.to_string(),
        url: url.to_string(),
        message,
    };
    let too_large = || fail(format!("the answer is larger than {MAX_DOWNLOAD} bytes"));
    let total = response.content_length().unwrap_or(0);
    if total > MAX_DOWNLOAD {
        return Err(too_large());
    }
    progress.phase("downloading", total);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut count = 0u64;
    loop {
        let n = response
            .read(&mut buffer)
            .map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        count += n as u64;
        if count > MAX_DOWNLOAD {
            return Err(too_large());
        }
        hasher.update(&buffer[..n]);
        sink.write_all(&buffer[..n])
            .map_err(|e| fail(e.to_string()))?;
        progress.advance(n as u64);
    }
    progress.finish();
    Ok((count, format!("sha256:{:x}", hasher.finalize())))
}

/// Percent-encodes one path segment.
pub fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn status_error(method: &Method, url: &Url, response: Response) -> RemoteError {
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    let _ = response.take(64 * 1024).read_to_end(&mut bytes);
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&bytes)
                .trim()
                .chars()
                .take(200)
                .collect::<String>();
            if text.is_empty() {
                StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error")
                    .to_string()
            } else {
                text
            }
        });
    RemoteError::Status {
        method: method.to_string(),
        url: url.to_string(),
        status,
        message,
    }
}

/// Counts the bytes read into `sent`.
struct CountingReader<R> {
    inner: R,
    sent: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
