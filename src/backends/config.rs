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

use super::{BackendError, BackendKind};

/// Reads the config file (an absent file is an empty config).
pub fn load() -> Result<crate::config::Config, BackendError> {
    crate::config::load().map_err(|e| BackendError::BadConfig {
        path: e.path,
        reason: e.reason,
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
