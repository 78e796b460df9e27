//! Python environment managers behind one [`Backend`] trait:
//! [`uv`] and [`pixi`] run the real binaries, stream their output, stop them
//! on Ctrl-C or a timeout, and read their JSON output where they offer it.
//! [`manifest`] parses the environments' manifests (pixi.toml, pyproject.toml)
//! without running anything; [`detect`] tells which backend a directory uses.
//!
//! Backends are a leaf: they know nothing of packages, sources or the hub.
//! Installing the environments a package carries is package work
//! (`package::environments`).

pub mod config;
pub mod error;
pub mod lock;
pub mod manifest;
pub mod pixi;
pub mod runner;
pub mod uv;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub use error::BackendError;
pub use manifest::{Dependency, DependencyKind, EnvManifest};
pub use runner::{OutputSink, Silent};

/// The backends pkg drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// astral-sh/uv: pyproject.toml + uv.lock.
    Uv,
    /// prefix-dev/pixi: pixi.toml (or `[tool.pixi]` in pyproject.toml) + pixi.lock.
    Pixi,
}

impl BackendKind {
    /// The name users write (`uv`, `pixi`).
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Uv => "uv",
            BackendKind::Pixi => "pixi",
        }
    }

    /// Parses a backend name.
    pub fn parse(name: &str) -> Result<BackendKind, BackendError> {
        match name {
            "uv" => Ok(BackendKind::Uv),
            "pixi" => Ok(BackendKind::Pixi),
            other => Err(BackendError::UnknownBackend(other.to_string())),
        }
    }

    /// The lock file the backend writes.
    pub fn lock_file(self) -> &'static str {
        match self {
            BackendKind::Uv => "uv.lock",
            BackendKind::Pixi => "pixi.lock",
        }
    }
}

/// One installed package, as the tool lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPackage {
    /// The package name.
    pub name: String,
    /// The installed version.
    pub version: String,
    /// Where it came from: an index URL, a channel, a file or a path.
    pub source: String,
}

/// What `init` writes.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The project name (default: the directory's name).
    pub name: Option<String>,
    /// The Python version requirement (uv: `requires-python`; pixi: a
    /// `python` dependency).
    pub python: Option<String>,
    /// Conda channels (pixi only).
    pub channels: Vec<String>,
}

/// An environment manager.
pub trait Backend {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;
    /// The environment directory.
    fn dir(&self) -> &Path;
    /// Creates a project in the (empty or missing) directory.
    fn init(&self, options: &InitOptions) -> Result<(), BackendError>;
    /// Adds dependencies (with version specifiers) and installs them.
    fn add(&self, specs: &[String]) -> Result<(), BackendError>;
    /// Removes dependencies.
    fn remove(&self, names: &[String]) -> Result<(), BackendError>;
    /// The installed packages.
    fn list(&self) -> Result<Vec<InstalledPackage>, BackendError>;
    /// Updates the named packages (all when empty) within the manifest's
    /// constraints.
    fn update(&self, names: &[String]) -> Result<(), BackendError>;
    /// The parsed manifest.
    fn manifest(&self) -> Result<EnvManifest, BackendError>;
    /// Installs exactly what the lock file says; `frozen` refuses to touch
    /// the lock file (it must exist and is not re-resolved).
    fn sync(&self, frozen: bool) -> Result<(), BackendError>;
}

/// Runs `backend.init`; when it fails and the environment directory did
/// not exist before, the directory is removed again (no half-made
/// environment is left behind).
pub fn init(backend: &dyn Backend, options: &InitOptions) -> Result<(), BackendError> {
    let existed = backend.dir().exists();
    let result = backend.init(options);
    if result.is_err() && !existed {
        let _ = std::fs::remove_dir_all(backend.dir());
    }
    result
}

/// Which backend `dir` uses: pixi.toml or a `[tool.pixi]` table means pixi;
/// a pyproject.toml with uv.lock or a `[tool.uv]` table means uv.
pub fn detect(dir: &Path) -> Result<BackendKind, BackendError> {
    manifest::detect(dir)
}

/// A backend of `kind` for the environment in `dir`, using the binary
/// `PKG_UV`/`PKG_PIXI`, the config or `PATH` names; the tool's output goes
/// to `sink`.
pub fn open(
    kind: BackendKind,
    dir: &Path,
    sink: Arc<dyn OutputSink>,
) -> Result<Box<dyn Backend>, BackendError> {
    let binary = config::binary(kind)?;
    // The tools run in the directory and are also given paths inside it.
    let dir = std::path::absolute(dir).map_err(|source| BackendError::Io {
        action: "cannot resolve",
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(match kind {
        BackendKind::Uv => Box::new(uv::Uv::new(binary, dir, sink)),
        BackendKind::Pixi => Box::new(pixi::Pixi::new(binary, dir, sink)),
    })
}

/// The files of an environment that a package carries: the manifest and
/// the lock file, as names relative to the environment directory.
pub fn carried_files(kind: BackendKind, dir: &Path) -> Result<Vec<PathBuf>, BackendError> {
    manifest::carried_files(kind, dir)
}
