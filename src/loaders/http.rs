//! HTTP GETs for sources: redirects followed by hand (at most
//! [`MAX_REDIRECTS`], never from https down to http), the token attached
//! per request only when that request's URL is the configured GitHub
//! origin, every body capped, and a stalled server cut off by a timeout.

use std::io::{Read, Write};
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header::{AUTHORIZATION, LOCATION, USER_AGENT};
use url::Url;

use crate::source_settings::SourceSettings;

/// The most redirects one GET follows.
pub const MAX_REDIRECTS: usize = 10;

/// How long a connection, or any single read, may stall.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a GET failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server answered with an error status.
    #[error("GET {url}: the server answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than allowed.
    #[error("GET {url}: the response is larger than {limit} bytes; refusing it")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// A redirect was refused.
    #[error("GET {url}: {reason}")]
    Redirect {
        /// The URL that redirected.
        url: String,
        /// Why it was not followed.
        reason: String,
    },
    /// The request could not be made or the body not read.
    #[error("GET {url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// `--offline` forbids the network.
    #[error("GET {url}: --offline forbids network access; use a local path or a cached git source")]
    Offline {
        /// The URL.
        url: String,
    },
}

/// A client for source downloads.
pub struct HttpClient {
    client: Client,
    settings: SourceSettings,
}

impl HttpClient {
    /// A client with these settings.
    pub fn new(settings: &SourceSettings) -> Result<HttpClient, HttpError> {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| HttpError::Transport {
                url: String::new(),
                message: error_text(&e),
            })?;
        Ok(HttpClient {
            client,
            settings: settings.clone(),
        })
    }

    /// GETs `url` into `sink`, refusing bodies over `cap` bytes. Returns
    /// the byte count and the final URL (after redirects).
    pub fn get_to(
        &self,
        url: &Url,
        cap: u64,
        sink: &mut dyn Write,
    ) -> Result<(u64, Url), HttpError> {
        if self.settings.offline {
            return Err(HttpError::Offline {
                url: url.to_string(),
            });
        }
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self
                .client
                .get(current.as_str())
                .header(USER_AGENT, concat!("pkg/", env!("CARGO_PKG_VERSION")));
            if let Some(token) = self.settings.token_for(&current) {
                request = request.header(AUTHORIZATION, format!("Bearer {token}"));
            }
            let mut response = request.send().map_err(|e| HttpError::Transport {
                url: current.to_string(),
                message: error_text(&e),
            })?;
            let status = response.status();
            if status.is_redirection() {
                current = self.next_location(&current, &response)?;
                continue;
            }
            if !status.is_success() {
                return Err(HttpError::Status {
                    url: current.to_string(),
                    status: status.as_u16(),
                });
            }
            if response.content_length().is_some_and(|n| n > cap) {
                return Err(HttpError::TooLarge {
                    url: current.to_string(),
                    limit: cap,
                });
            }
            let copied = copy_capped(&mut response, sink, cap).map_err(|e| match e {
                CopyError::TooLarge => HttpError::TooLarge {
                    url: current.to_string(),
                    limit: cap,
                },
                CopyError::Io(e) => HttpError::Transport {
                    url: current.to_string(),
                    message: e.to_string(),
                },
            })?;
            return Ok((copied, current));
        }
        Err(HttpError::Redirect {
            url: url.to_string(),
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    /// GETs `url` into memory (at most `cap` bytes).
    pub fn get_bytes(&self, url: &Url, cap: u64) -> Result<Vec<u8>, HttpError> {
        let mut bytes = Vec::new();
        self.get_to(url, cap, &mut bytes)?;
        Ok(bytes)
    }

    fn next_location(
        &self,
        current: &Url,
        response: &reqwest::blocking::Response,
    ) -> Result<Url, HttpError> {
        let refuse = |reason: String| HttpError::Redirect {
            url: current.to_string(),
            reason,
        };
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| refuse("a redirect without a usable Location header".into()))?;
        redirect_target(current, location).map_err(refuse)
    }
}

pub use crate::redirect::redirect_target;

enum CopyError {
    TooLarge,
    Io(std::io::Error),
}

fn copy_capped(reader: &mut dyn Read, sink: &mut dyn Write, cap: u64) -> Result<u64, CopyError> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Io(e)),
        };
        total += n as u64;
        if total > cap {
            return Err(CopyError::TooLarge);
        }
        sink.write_all(&buffer[..n]).map_err(CopyError::Io)?;
    }
}

/// reqwest's error with its causes, on one line.
fn error_text(error: &reqwest::Error) -> String {
    crate::error_text::with_causes(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_never_step_down_to_http() {
        let https = Url::parse("https://github.com/a/b.tar.gz").unwrap();
        let http = Url::parse("http://127.0.0.1:1/a").unwrap();
        assert_eq!(
            redirect_target(&https, "/c").unwrap().as_str(),
            "https://github.com/c"
        );
        assert!(redirect_target(&https, "https://codeload.example/x").is_ok());
        let down = redirect_target(&https, "http://evil.example/x").unwrap_err();
        assert!(down.contains("down to plain http"), "{down}");
        assert!(redirect_target(&http, "https://x.example/").is_ok());
        assert!(redirect_target(&http, "file:///etc/passwd").is_err());
        assert!(redirect_target(&http, "ftp://x/").is_err());
    }
}
