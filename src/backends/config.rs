//! The `[backends]` section of pkg's config file
//! (`$PKG_CONFIG`, else `~/.config/pkg/config.toml`) and where the tools'
//! binaries are: `PKG_UV` / `PKG_PIXI`, else the config, else `PATH`.
//!
//! ```toml
//! [backends]
//! default = "uv"            # the backend `pkg env init` uses without --backend
//! uv = "/opt/uv/bin/uv"
//! pixi = "/opt/pixi/bin/pixi"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{BackendError, BackendKind};

/// The config file's contents that pkg reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[backends]`.
    #[serde(default)]
    pub backends: BackendsConfig,
}

/// `[backends]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendsConfig {
    /// The default backend name.
    pub default: Option<String>,
    /// The uv binary.
    pub uv: Option<PathBuf>,
    /// The pixi binary.
    pub pixi: Option<PathBuf>,
}

/// The config file's path: `$PKG_CONFIG`, else `<config dir>/pkg/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    match std::env::var_os("PKG_CONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::config_dir().map(|d| d.join("pkg").join("config.toml")),
    }
}

/// Reads the config file (an absent file is an empty config).
pub fn load() -> Result<Config, BackendError> {
    let Some(path) = config_path() else {
        return Ok(Config::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => {
            return Err(BackendError::BadConfig {
                path,
                reason: e.to_string(),
            });
        }
    };
    toml::from_str(&text).map_err(|e| BackendError::BadConfig {
        path,
        reason: e.to_string().trim().to_string(),
    })
}

/// The default backend: the config's `default`, else uv.
pub fn default_backend() -> Result<BackendKind, BackendError> {
    match load()?.backends.default {
        Some(name) => BackendKind::parse(&name),
        None => Ok(BackendKind::Uv),
    }
}

/// The binary for `kind`: `PKG_UV`/`PKG_PIXI`, else the config, else the
/// first match on `PATH`. A missing binary is an error that says how to
/// install it.
pub fn binary(kind: BackendKind) -> Result<PathBuf, BackendError> {
    let (var, tool) = match kind {
        BackendKind::Uv => ("PKG_UV", "uv"),
        BackendKind::Pixi => ("PKG_PIXI", "pixi"),
    };
    let configured = match std::env::var_os(var) {
        Some(p) if !p.is_empty() => Some((PathBuf::from(p), var.to_string())),
        _ => {
            let config = load()?;
            let path = match kind {
                BackendKind::Uv => config.backends.uv,
                BackendKind::Pixi => config.backends.pixi,
            };
            path.map(|p| (p, format!("[backends] {tool} in the config file")))
        }
    };
    if let Some((path, from)) = configured {
        if is_executable(&path) {
            return Ok(path);
        }
        return Err(BackendError::MissingBinary {
            tool,
            looked_for: path.display().to_string(),
            hint: format!("{from} names a file that is not an executable; fix it or unset it"),
        });
    }
    if let Some(found) = search_path(tool) {
        return Ok(found);
    }
    Err(BackendError::MissingBinary {
        tool,
        looked_for: format!("{tool} on PATH"),
        hint: install_hint(kind),
    })
}

fn install_hint(kind: BackendKind) -> String {
    match kind {
        BackendKind::Uv => "install it with `pip install uv` (or `curl -LsSf https://astral.sh/uv/install.sh | sh`), or set PKG_UV to its path".into(),
        BackendKind::Pixi => "install it from https://pixi.sh (`curl -fsSL https://pixi.sh/install.sh | sh`), or set PKG_PIXI to its path".into(),
    }
}

fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
