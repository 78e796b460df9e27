//! Remotes: `[remotes.NAME]` in the config file (a URL and optionally the
//! environment variable holding the token), and tokens stored by
//! `pkg remote login` in a credentials file readable only by the user
//! (`credentials.toml` beside the config file, mode 0600, as cargo does).

use std::path::PathBuf;

use url::Url;

use super::client::RemoteError;
use crate::config::{self, RemoteSection};

/// A configured remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Its name.
    pub name: String,
    /// The server's base URL.
    pub url: Url,
    /// The environment variable holding the token, if configured.
    pub token_env: Option<String>,
}

fn bad(reason: impl Into<String>) -> RemoteError {
    RemoteError::Config(reason.into())
}

/// Checks a remote name: 1-64 letters, digits, `-` and `_`.
pub fn check_name(name: &str) -> Result<(), RemoteError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "remote name `{}` must be 1-64 letters, digits, `-` or `_`",
            name.chars()
                .take(64)
                .flat_map(char::escape_default)
                .collect::<String>()
        )))
    }
}

/// Parses a server base URL: http(s), no credentials, query or fragment.
pub fn parse_url(text: &str) -> Result<Url, RemoteError> {
    let mut url = Url::parse(text.trim()).map_err(|e| {
        bad(format!(
            "`{text}` is not a URL ({e}); give e.g. https://pkg.example.com"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad(format!("`{text}` is not an http(s) URL")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(format!(
            "`{text}` holds credentials; use `pkg remote login` or --token-env instead"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!("`{text}` must not have a query or fragment")));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn from_section(name: &str, section: &RemoteSection) -> Result<Remote, RemoteError> {
    Ok(Remote {
        name: name.to_string(),
        url: parse_url(&section.url).map_err(|e| bad(format!("[remotes.{name}] url: {e}")))?,
        token_env: section.token_env.clone(),
    })
}

/// Every configured remote, by name.
pub fn list() -> Result<Vec<Remote>, RemoteError> {
    let config = config::load().map_err(|e| bad(e.to_string()))?;
    config
        .remotes
        .iter()
        .map(|(name, section)| from_section(name, section))
        .collect()
}

/// The remote `name`.
pub fn get(name: &str) -> Result<Remote, RemoteError> {
    let config = config::load().map_err(|e| bad(e.to_string()))?;
    match config.remotes.get(name) {
        Some(section) => from_section(name, section),
        None => {
            let known: Vec<&str> = config.remotes.keys().map(String::as_str).collect();
            Err(bad(format!(
                "no remote named `{name}` ({}); add one with `pkg remote add {name} URL`",
                if known.is_empty() {
                    "none is configured".to_string()
                } else {
                    format!("known: {}", known.join(", "))
                }
            )))
        }
    }
}

/// The `[remotes]` table of `doc` (created, implicit, when absent).
fn remotes_table(doc: &mut toml_edit::DocumentMut) -> Result<&mut toml_edit::Table, String> {
    doc.entry("remotes")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| "`remotes` is not a table".to_string())
}

fn config_file() -> Result<PathBuf, RemoteError> {
    config::config_path().ok_or_else(|| bad("no config directory: set PKG_CONFIG or HOME"))
}

/// Adds (or replaces) remote `name`.
pub fn add(name: &str, url: &str, token_env: Option<&str>) -> Result<Remote, RemoteError> {
    check_name(name)?;
    let parsed = parse_url(url)?;
    if let Some(var) = token_env
        && (var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(bad(format!(
            "--token-env `{var}` is not an environment variable name"
        )));
    }
    config::edit_toml(&config_file()?, 0o644, |doc| {
        let remotes = remotes_table(doc)?;
        let mut table = toml_edit::Table::new();
        table["url"] = toml_edit::value(parsed.as_str());
        if let Some(var) = token_env {
            table["token_env"] = toml_edit::value(var);
        }
        remotes.insert(name, toml_edit::Item::Table(table));
        Ok(())
    })
    .map_err(|e| bad(e.to_string()))?;
    Ok(Remote {
        name: name.to_string(),
        url: parsed,
        token_env: token_env.map(str::to_string),
    })
}

/// Removes remote `name` and its stored token.
pub fn remove(name: &str) -> Result<(), RemoteError> {
    get(name)?;
    config::edit_toml(&config_file()?, 0o644, |doc| {
        if let Some(remotes) = doc.get_mut("remotes").and_then(|r| r.as_table_mut()) {
            remotes.remove(name);
        }
        Ok(())
    })
    .map_err(|e| bad(e.to_string()))?;
    let credentials = credentials_path()?;
    if credentials.exists() {
        edit_credentials(&credentials, name, None)?;
    }
    Ok(())
}

/// The credentials file: `credentials.toml` beside the config file.
pub fn credentials_path() -> Result<PathBuf, RemoteError> {
    Ok(config_file()?.with_file_name("credentials.toml"))
}

fn edit_credentials(path: &PathBuf, name: &str, token: Option<&str>) -> Result<(), RemoteError> {
    config::edit_toml(path, 0o600, |doc| {
        let remotes = remotes_table(doc)?;
        match token {
            Some(token) => {
                let mut table = toml_edit::Table::new();
                table["token"] = toml_edit::value(token);
                remotes.insert(name, toml_edit::Item::Table(table));
            }
            None => {
                remotes.remove(name);
            }
        }
        Ok(())
    })
    .map_err(|e| bad(e.to_string()))?;
    // An existing file keeps its mode through the rename of a new one, so
    // set it again: the file holds secrets.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// Stores `token` for remote `name` in the credentials file (mode 0600).
pub fn login(name: &str, token: &str) -> Result<PathBuf, RemoteError> {
    get(name)?;
    let token = token.trim();
    if token.is_empty() || token.len() > 256 || token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad(
            "the token is empty or not a token (no spaces or control characters)",
        ));
    }
    let path = credentials_path()?;
    edit_credentials(&path, name, Some(token))?;
    Ok(path)
}

/// The token for `remote`: its `token_env` variable when set, else the
/// credentials file.
pub fn token(remote: &Remote) -> Result<Option<String>, RemoteError> {
    if let Some(var) = &remote.token_env
        && let Ok(value) = std::env::var(var)
        && !value.trim().is_empty()
    {
        return Ok(Some(value.trim().to_string()));
    }
    let path = credentials_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(format!("{}: {e}", path.display()))),
    };
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| bad(format!("{}: {}", path.display(), e.to_string().trim())))?;
    Ok(doc
        .get("remotes")
        .and_then(|r| r.get(&remote.name))
        .and_then(|r| r.get("token"))
        .and_then(|t| t.as_str())
        .map(str::to_string))
}
