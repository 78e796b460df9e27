//! An environment: a hub a registry server deploys into, by name. Its URL
//! is a `pkg serve` server (or `self`, the deploying server's own hub),
//! its token comes from an environment variable or a file on the server,
//! and an optional prefix applies to everything deployed there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::slug::validate_slug;

/// The URL naming the deploying server's own hub.
pub const SELF_HUB: &str = "self";

/// Environment variables an environment added through the API may read
/// its token from start with this (so that an API caller cannot make the
/// server send another of its secrets to a URL of their choosing).
pub const API_TOKEN_ENV_PREFIX: &str = "PKG_DEPLOY_";

/// A hub to deploy into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Its name (a slug).
    pub name: String,
    /// The hub's server (`http(s)://...`), or `self`.
    pub url: String,
    /// The server's environment variable holding the hub's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file on the server holding the hub's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
    /// The prefix every deployment here loads under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Labels, key → value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Environment {
    /// Whether this is the deploying server's own hub.
    pub fn is_self(&self) -> bool {
        self.url == SELF_HUB
    }

    /// Checks the name, URL, prefix, token source and labels.
    pub fn check(&self) -> Result<(), String> {
        validate_slug(&self.name).map_err(|e| format!("environment name `{}`: {e}", self.name))?;
        if !self.is_self() {
            let url = url::Url::parse(&self.url).map_err(|e| {
                format!(
                    "environment `{}`: url `{}` is not a URL ({e}); give http(s)://HOST:PORT or `self`",
                    self.name, self.url
                )
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!(
                    "environment `{}`: url `{}` must be http(s)://HOST[:PORT] or `self`",
                    self.name, self.url
                ));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(format!(
                    "environment `{}`: put credentials in token_env or token_file, not in the URL",
                    self.name
                ));
            }
        }
        if let Some(prefix) = &self.prefix {
            validate_slug(prefix)
                .map_err(|e| format!("environment `{}`: prefix `{prefix}`: {e}", self.name))?;
        }
        if self.token_env.is_some() && self.token_file.is_some() {
            return Err(format!(
                "environment `{}`: give token_env or token_file, not both",
                self.name
            ));
        }
        if let Some(var) = &self.token_env
            && (var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(format!(
                "environment `{}`: token_env `{var}` is not an environment variable name",
                self.name
            ));
        }
        for (key, value) in &self.labels {
            if key.is_empty() || key.len() > 63 || value.len() > 253 {
                return Err(format!(
                    "environment `{}`: label `{key}` must have a key of 1-63 characters and a value of at most 253",
                    self.name
                ));
            }
        }
        Ok(())
    }

    /// The stricter rules for an environment added through the API: a
    /// token variable must start with [`API_TOKEN_ENV_PREFIX`], and a token
    /// file must be a plain name inside the server's secrets directory.
    pub fn check_from_api(&self) -> Result<(), String> {
        self.check()?;
        if let Some(var) = &self.token_env
            && !var.starts_with(API_TOKEN_ENV_PREFIX)
        {
            return Err(format!(
                "environment `{}`: token_env `{var}` must start with {API_TOKEN_ENV_PREFIX} (the server only lends those to environments added through the API; others go in [[serve.environments]])",
                self.name
            ));
        }
        if let Some(file) = &self.token_file
            && (file.is_empty()
                || file.contains('/')
                || file.contains('\\')
                || file.starts_with('.'))
        {
            return Err(format!(
                "environment `{}`: token_file `{file}` must be a file name inside the server's secrets directory (--secrets-dir)",
                self.name
            ));
        }
        Ok(())
    }
}

/// The last deployment into an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastDeployment {
    /// The deployment.
    pub id: String,
    /// `name@version`.
    pub package: String,
    /// How it went there.
    pub status: String,
    /// When it finished there (RFC 3339).
    pub at: String,
}

/// An environment as `GET /api/v1/environments` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentView {
    /// The environment.
    #[serde(flatten)]
    pub environment: Environment,
    /// `config` (`[[serve.environments]]`) or `api`.
    pub origin: String,
    /// Whether its hub answered just now.
    pub healthy: bool,
    /// `ok`, or why it did not answer.
    pub health: String,
    /// The last deployment into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deployment: Option<LastDeployment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(url: &str) -> Environment {
        Environment {
            name: "prod-east".into(),
            url: url.into(),
            token_env: None,
            token_file: None,
            prefix: None,
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn environments_are_checked() {
        assert!(env("http://127.0.0.1:8080").check().is_ok());
        assert!(env("self").check().is_ok());
        assert!(env("ftp://x").check().is_err());
        assert!(env("not a url").check().is_err());
        assert!(env("http://u:p@host").check().is_err());
        let mut e = env("self");
        e.name = "Bad Name".into();
        assert!(e.check().is_err());
        let mut e = env("self");
        e.prefix = Some("../x".into());
        assert!(e.check().is_err());
        let mut e = env("http://h");
        e.token_env = Some("AWS_SECRET_ACCESS_KEY".into());
        assert!(e.check().is_ok());
        let err = e.check_from_api().unwrap_err();
        assert!(err.contains("PKG_DEPLOY_"), "{err}");
        e.token_env = Some("PKG_DEPLOY_EAST".into());
        assert!(e.check_from_api().is_ok());
        e.token_env = None;
        e.token_file = Some("../etc/shadow".into());
        assert!(e.check_from_api().is_err());
        e.token_file = Some("east.token".into());
        assert!(e.check_from_api().is_ok());
    }
}
