//! pkg's config file (`$PKG_CONFIG`, else `~/.config/pkg/config.toml`):
//! reading it whole, and editing one table of it in place (comments and
//! the other tables kept). Each section's meaning belongs to its user:
//! `[backends]` to `backends`, `[serve]` to `server`, `[remotes.NAME]` to
//! `remote`, `[[sources]]` and `[index]` to `sources`, `[trust]` to `signing`. This module imports
//! nothing of pkg's own.
//!
//! ```toml
//! [backends]
//! default = "uv"
//!
//! [serve]
//! addr = "127.0.0.1:8080"
//! store = "sqlite:/var/lib/pkg/server.db"
//!
//! [remotes.team]
//! url = "https://pkg.example.com"
//! token_env = "TEAM_PKG_TOKEN"
//!
//! [index]
//! conflict = "priority"
//!
//! [[sources]]
//! name = "vetted"
//! location = "/srv/packages"
//! priority = 10
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The config file's contents that pkg reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[backends]`.
    #[serde(default)]
    pub backends: BackendsSection,
    /// `[serve]`.
    #[serde(default)]
    pub serve: ServeSection,
    /// `[remotes.NAME]`.
    #[serde(default)]
    pub remotes: BTreeMap<String, RemoteSection>,
    /// `[[sources]]`, in the file's order.
    #[serde(default)]
    pub sources: Vec<SourceSection>,
    /// `[index]`: how the sources' indexes merge.
    #[serde(default)]
    pub index: IndexSection,
    /// `[trust]`: the keys a loaded package must be signed by.
    #[serde(default)]
    pub trust: TrustSection,
}

/// `[trust]`: with keys, `pkg load` refuses a package no key signed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSection {
    /// Public keys: minisign `.pub` files or the keys themselves (`RW...`).
    #[serde(default)]
    pub keys: Vec<String>,
}

/// `[[sources]]`: a place packages are looked up in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// The source's name.
    pub name: String,
    /// A directory, a `pkg serve` URL, or a git repository.
    pub location: String,
    /// Lower numbers win under the `priority` strategy (default 100).
    pub priority: Option<i64>,
    /// The environment variable holding a registry's token.
    pub token_env: Option<String>,
    /// Whether the source is used (default true).
    pub enabled: Option<bool>,
    /// Public keys (minisign `.pub` files or `RW...` keys): a package from
    /// this source must be signed by one of them, or it is refused.
    #[serde(default)]
    pub require_signature: Vec<String>,
}

/// `[index]`: the merged index's settings (flags win).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSection {
    /// `priority`, `latest-version`, `local-first` or `remote-first`.
    pub conflict: Option<String>,
    /// Seconds a remote source's cached index stays fresh.
    pub ttl: Option<u64>,
}

/// `[backends]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendsSection {
    /// The default backend name.
    pub default: Option<String>,
    /// The uv binary.
    pub uv: Option<PathBuf>,
    /// The pixi binary.
    pub pixi: Option<PathBuf>,
}

/// `[serve]`: `pkg serve`'s settings (flags and `PKG_SERVE_*` win).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// The listen address.
    pub addr: Option<String>,
    /// `sqlite:PATH` or `etcd:URL[,URL...]`.
    pub store: Option<String>,
    /// The blob directory.
    pub blobs: Option<PathBuf>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    /// The largest request body in bytes.
    pub max_body: Option<u64>,
    /// Seconds a whole request may take.
    pub request_timeout: Option<u64>,
    /// Seconds a client may take to send its request headers.
    pub header_timeout: Option<u64>,
    /// The directory environment token files are read from.
    pub secrets_dir: Option<PathBuf>,
    /// Seconds a replica holds a job before another may take it over.
    pub job_lease: Option<u64>,
    /// `[[serve.environments]]`: hubs deployments go to.
    #[serde(default)]
    pub environments: Vec<crate::deploy::Environment>,
}

/// `[remotes.NAME]`: a `pkg serve` the CLI talks to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteSection {
    /// The server's base URL.
    pub url: String,
    /// The environment variable holding the token (else the credentials file).
    pub token_env: Option<String>,
}

/// Why the config file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("config file {}: {reason}", path.display())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// The config file's path: `$PKG_CONFIG`, else `<config dir>/pkg/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    match std::env::var_os("PKG_CONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::config_dir().map(|d| d.join("pkg").join("config.toml")),
    }
}

/// Reads the config file (an absent file is an empty config).
pub fn load() -> Result<Config, ConfigError> {
    let Some(path) = config_path() else {
        return Ok(Config::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => {
            return Err(ConfigError {
                path,
                reason: e.to_string(),
            });
        }
    };
    toml::from_str(&text).map_err(|e| ConfigError {
        path,
        reason: e.to_string().trim().to_string(),
    })
}

/// Rewrites `path` (a TOML file, absent meaning empty) through `edit`,
/// keeping everything `edit` leaves alone, and writing atomically with
/// `mode` on a new file.
pub fn edit_toml(
    path: &Path,
    mode: u32,
    edit: impl FnOnce(&mut toml_edit::DocumentMut) -> Result<(), String>,
) -> Result<(), ConfigError> {
    let fail = |reason: String| ConfigError {
        path: path.to_path_buf(),
        reason,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(fail(e.to_string())),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| fail(e.to_string().trim().to_string()))?;
    edit(&mut doc).map_err(fail)?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| fail(e.to_string()))?;
    let mut temp = tempfile::NamedTempFile::new_in(&parent).map_err(|e| fail(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| fail(e.to_string()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    use std::io::Write;
    temp.write_all(doc.to_string().as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| fail(e.to_string()))?;
    temp.persist(path).map_err(|e| fail(e.error.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_section() {
        let config: Config = toml::from_str(
            "[backends]\ndefault='uv'\n[serve]\naddr='127.0.0.1:1'\n[remotes.team]\nurl='http://x'\n",
        )
        .unwrap_or_default();
        assert_eq!(config.serve.addr.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(config.remotes["team"].url, "http://x");
        assert!(toml::from_str::<Config>("[serve]\nport=1\n").is_err());
    }

    #[test]
    fn edits_keep_comments() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "# mine\n[backends]\ndefault = 'uv'\n")?;
        edit_toml(&path, 0o644, |doc| {
            doc["remotes"]["team"]["url"] = toml_edit::value("http://x");
            Ok(())
        })?;
        let text = std::fs::read_to_string(&path)?;
        assert!(text.contains("# mine"), "{text}");
        assert!(text.contains("url = \"http://x\""), "{text}");
        Ok(())
    }
}
