//! What sources read from the environment: the GitHub base URL
//! (`PKG_GITHUB_URL`), the token (`GITHUB_TOKEN` or `PKG_GIT_TOKEN`), the
//! cache directory (`PKG_CACHE_DIR`) and whether the network may be used.
//! The one rule for credentials lives here: a token goes to the configured
//! GitHub origin and nowhere else.
//!
//! This module owns [`SourceSettings`] and its errors. It sits below the
//! sources (`loaders`) and `git`, which both read it, and imports nothing of
//! pkg's own.

use std::net::IpAddr;
use std::path::PathBuf;

use url::Url;

/// The public GitHub, used when `PKG_GITHUB_URL` is not set.
pub const GITHUB_URL: &str = "https://github.com";

/// How sources reach the network and where they cache.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    /// Where `https://github.com/...` and `github:` sources are fetched from
    /// (`PKG_GITHUB_URL`; GitHub Enterprise, or a test server).
    pub github_base: Url,
    /// The token sent to `github_base` only.
    pub token: Option<String>,
    /// The cache root (git repositories live under `git/`).
    pub cache_dir: PathBuf,
    /// No network at all: git sources resolve from the cache only.
    pub offline: bool,
    /// Plain HTTP to OCI registries on loopback (`--plain-http`,
    /// `PKG_OCI_INSECURE=1`); HTTPS otherwise.
    pub oci_plain_http: bool,
}

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// `PKG_GITHUB_URL` is not a usable base URL.
    #[error("PKG_GITHUB_URL `{value}` is not an http(s) base URL: {reason}")]
    BadGithubUrl {
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// No cache directory could be found.
    #[error("no cache directory: set PKG_CACHE_DIR or HOME")]
    NoCacheDir,
}

impl SourceSettings {
    /// Reads the settings from the environment.
    pub fn from_env(offline: bool) -> Result<SourceSettings, SettingsError> {
        let value = std::env::var("PKG_GITHUB_URL").unwrap_or_else(|_| GITHUB_URL.to_string());
        let github_base = parse_base(&value)?;
        let token = ["PKG_GIT_TOKEN", "GITHUB_TOKEN"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .map(|t| t.trim().to_string())
            .find(|t| !t.is_empty());
        let cache_dir = match std::env::var_os("PKG_CACHE_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => dirs::cache_dir()
                .map(|d| d.join("pkg"))
                .ok_or(SettingsError::NoCacheDir)?,
        };
        Ok(SourceSettings {
            github_base,
            token,
            cache_dir,
            offline,
            oci_plain_http: false,
        })
    }

    /// Whether `url` is on the configured GitHub origin (scheme, host and
    /// port all equal).
    pub fn is_github_origin(&self, url: &Url) -> bool {
        url.origin() == self.github_base.origin()
    }

    /// The token to send to `url`: only to the configured GitHub origin, and
    /// over plain http only when that origin is a loopback address.
    pub fn token_for(&self, url: &Url) -> Option<&str> {
        let token = self.token.as_deref()?;
        if !self.is_github_origin(url) {
            return None;
        }
        (url.scheme() == "https" || is_loopback(url)).then_some(token)
    }

    /// [`SourceSettings::token_for`] for a URL given as text.
    pub fn token_for_str(&self, url: &str) -> Option<&str> {
        Url::parse(url).ok().and_then(|u| self.token_for(&u))
    }

    /// The git repository URL of GitHub repository `owner/repo`.
    pub fn github_repo_url(&self, owner: &str, repo: &str) -> String {
        let base = self.github_base.as_str().trim_end_matches('/');
        format!("{base}/{owner}/{repo}.git")
    }

    /// The directory git repositories are cached in.
    pub fn git_cache(&self) -> PathBuf {
        self.cache_dir.join("git")
    }
}

/// Whether the URL's host is a loopback address (`127.0.0.0/8`, `::1`,
/// `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn parse_base(value: &str) -> Result<Url, SettingsError> {
    let bad = |reason: &str| SettingsError::BadGithubUrl {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(value.trim_end_matches('/')).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(bad("the scheme must be https (or http)"));
    }
    if url.host().is_none() {
        return Err(bad("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "it must not hold credentials; set GITHUB_TOKEN instead",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base: &str, token: Option<&str>) -> SourceSettings {
        SourceSettings {
            github_base: parse_base(base).unwrap(),
            token: token.map(str::to_string),
            cache_dir: PathBuf::from("/nonexistent"),
            offline: false,
            oci_plain_http: false,
        }
    }

    #[test]
    fn token_goes_to_the_github_origin_only() {
        let s = settings("https://github.com", Some("T"));
        let ok = Url::parse("https://github.com/acme/x.git").unwrap();
        assert_eq!(s.token_for(&ok), Some("T"));
        for other in [
            "https://github.com.evil.example/acme/x.git",
            "https://evil.example/github.com/x.git",
            "http://github.com/acme/x.git",
            "https://github.com:444/acme/x.git",
            "https://api.github.com/acme/x.git",
            "https://github.com@evil.example/acme/x.git",
        ] {
            assert_eq!(s.token_for(&Url::parse(other).unwrap()), None, "{other}");
        }
    }

    #[test]
    fn plain_http_token_only_to_loopback() {
        let s = settings("http://127.0.0.1:8080", Some("T"));
        let url = Url::parse("http://127.0.0.1:8080/a/b.git").unwrap();
        assert_eq!(s.token_for(&url), Some("T"));
        let s = settings("http://ghe.example", Some("T"));
        let url = Url::parse("http://ghe.example/a/b.git").unwrap();
        assert_eq!(s.token_for(&url), None);
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for bad in [
            "ftp://x",
            "https://user:pw@x",
            "not a url",
            "https://x/?q=1",
        ] {
            assert!(parse_base(bad).is_err(), "{bad}");
        }
        assert_eq!(
            settings("https://ghe.example/", None).github_repo_url("o", "r"),
            "https://ghe.example/o/r.git"
        );
    }
}
