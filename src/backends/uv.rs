//! The uv backend: a pyproject.toml project with uv.lock, driven by the
//! real `uv` binary. Lists come from `uv pip list --format json` against the
//! project's own `.venv` (never the system Python), with each package's
//! source read from uv.lock.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::lock::EnvLock;
use super::manifest::{self, check_spec, normalise as normalize};
use super::runner::{OutputSink, ToolCommand, ToolOutput, run};
use super::{Backend, BackendError, BackendKind, EnvManifest, InitOptions, InstalledPackage};

/// A uv project.
pub struct Uv {
    binary: PathBuf,
    dir: PathBuf,
    sink: Arc<dyn OutputSink>,
}

impl Uv {
    /// The project in `dir`, driven by `binary`.
    pub fn new(binary: PathBuf, dir: PathBuf, sink: Arc<dyn OutputSink>) -> Uv {
        Uv { binary, dir, sink }
    }

    fn command(&self) -> ToolCommand {
        ToolCommand::new("uv", self.binary.clone(), self.dir.clone())
    }

    fn run(&self, command: ToolCommand) -> Result<ToolOutput, BackendError> {
        run(&command, &self.sink)
    }

    /// Checks the directory holds a project and locks it.
    fn open(&self) -> Result<EnvLock, BackendError> {
        if !self.dir.join("pyproject.toml").is_file() {
            return Err(BackendError::NotAnEnvironment {
                dir: self.dir.clone(),
                reason: "it has no pyproject.toml; create one with `pkg env init DIR --backend uv`"
                    .into(),
            });
        }
        EnvLock::acquire(&self.dir)
    }
}

impl Backend for Uv {
    fn kind(&self) -> BackendKind {
        BackendKind::Uv
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn init(&self, options: &InitOptions) -> Result<(), BackendError> {
        if self.dir.join("pyproject.toml").exists() {
            return Err(BackendError::NotAnEnvironment {
                dir: self.dir.clone(),
                reason: "it already holds a pyproject.toml; nothing was changed".into(),
            });
        }
        if !options.channels.is_empty() {
            return Err(BackendError::InvalidSpec {
                spec: options.channels.join(", "),
                reason: "channels are a pixi setting; uv reads packages from Python indexes".into(),
            });
        }
        let _lock = EnvLock::create(&self.dir)?;
        let mut command = self.command().args([
            "init",
            "--bare",
            "--vcs",
            "none",
            "--author-from",
            "none",
            "--no-pin-python",
        ]);
        if let Some(name) = &options.name {
            command = command.args(["--name", name]);
        }
        if let Some(python) = &options.python {
            command = command.args(["--python", python]);
        }
        self.run(command.args(["."]))?;
        Ok(())
    }

    fn add(&self, specs: &[String]) -> Result<(), BackendError> {
        for spec in specs {
            check_spec(BackendKind::Uv, spec)?;
        }
        let _lock = self.open()?;
        self.run(self.command().args(["add", "--"]).args(specs))?;
        Ok(())
    }

    fn remove(&self, names: &[String]) -> Result<(), BackendError> {
        for name in names {
            check_spec(BackendKind::Uv, name)?;
        }
        let _lock = self.open()?;
        self.run(self.command().args(["remove", "--"]).args(names))?;
        Ok(())
    }

    fn list(&self) -> Result<Vec<InstalledPackage>, BackendError> {
        let _lock = self.open()?;
        let venv = self.dir.join(".venv");
        if !venv.is_dir() {
            return Ok(Vec::new());
        }
        let venv = std::fs::canonicalize(&venv).map_err(|source| BackendError::Io {
            action: "cannot read",
            path: venv.clone(),
            source,
        })?;
        let command = self
            .command()
            .args(["pip", "list", "--format", "json", "--python"])
            .args([venv.as_os_str()])
            .capture();
        let shown = command.display();
        let output = self.run(command)?;
        let listed: Vec<PipEntry> =
            serde_json::from_slice(&output.stdout).map_err(|e| BackendError::BadOutput {
                command: shown,
                reason: e.to_string(),
            })?;
        let sources = lock_sources(&self.dir.join("uv.lock"));
        let mut packages: Vec<InstalledPackage> = listed
            .into_iter()
            .map(|p| InstalledPackage {
                source: sources
                    .get(&normalize(&p.name))
                    .cloned()
                    .unwrap_or_default(),
                name: p.name,
                version: p.version,
            })
            .collect();
        packages.sort_by_key(|p| normalize(&p.name));
        Ok(packages)
    }

    fn update(&self, names: &[String]) -> Result<(), BackendError> {
        for name in names {
            check_spec(BackendKind::Uv, name)?;
        }
        let _lock = self.open()?;
        let mut command = self.command().args(["lock"]);
        if names.is_empty() {
            command = command.args(["--upgrade"]);
        }
        for name in names {
            command = command.args(["--upgrade-package", name]);
        }
        self.run(command)?;
        self.run(self.command().args(["sync"]))?;
        Ok(())
    }

    fn manifest(&self) -> Result<EnvManifest, BackendError> {
        manifest::parse_dir(&self.dir, BackendKind::Uv)
    }

    fn sync(&self, frozen: bool) -> Result<(), BackendError> {
        let _lock = self.open()?;
        if frozen && !self.dir.join("uv.lock").is_file() {
            return Err(BackendError::NotAnEnvironment {
                dir: self.dir.clone(),
                reason: "--frozen needs uv.lock, and there is none; run `pkg env sync` without --frozen to create it".into(),
            });
        }
        let mut command = self.command().args(["sync"]);
        if frozen {
            command = command.args(["--frozen"]);
        }
        self.run(command)?;
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct PipEntry {
    name: String,
    version: String,
}

#[derive(Debug, Deserialize)]
struct UvLockFile {
    #[serde(default)]
    package: Vec<UvLockPackage>,
}

#[derive(Debug, Deserialize)]
struct UvLockPackage {
    name: String,
    #[serde(default)]
    source: Option<toml::Table>,
}

/// Package name → where uv.lock says it comes from (`registry: URL`,
/// `path: ...`, ...). Empty when there is no readable lock.
fn lock_sources(path: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    let Ok(lock) = toml::from_str::<UvLockFile>(&text) else {
        return HashMap::new();
    };
    lock.package
        .into_iter()
        .filter_map(|p| {
            let (kind, value) = p.source?.into_iter().next()?;
            let value = match value {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            Some((normalize(&p.name), format!("{kind}: {value}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_like_pep_503() {
        assert_eq!(normalize("Foo_Bar.baz"), "foo-bar-baz");
        assert_eq!(normalize("a--b"), "a-b");
    }

    #[test]
    fn sources_come_from_uv_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("uv.lock");
        std::fs::write(
            &path,
            "version = 1\n[[package]]\nname = \"Alpha_Pkg\"\nversion = \"1.0.0\"\nsource = { registry = \"wheels\" }\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n",
        )
        .unwrap();
        let sources = lock_sources(&path);
        assert_eq!(sources["alpha-pkg"], "registry: wheels");
        assert_eq!(sources["app"], "virtual: .");
        assert!(lock_sources(&dir.path().join("missing")).is_empty());
    }
}
