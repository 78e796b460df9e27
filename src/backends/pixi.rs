//! The pixi backend: a pixi.toml (or pyproject.toml with `[tool.pixi]`)
//! workspace with pixi.lock, driven by the real `pixi` binary. Both the old
//! CLI (pixi 0.15, `[project]` table, no `pixi update`: an update re-solves
//! from scratch) and the current one (`[workspace]`, `pixi update --json`)
//! are supported; which one is installed is read from `pixi --version`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use semver::Version;
use serde::Deserialize;

use super::lock::EnvLock;
use super::manifest::{self, check_spec};
use super::runner::{OutputSink, ToolCommand, ToolOutput, run};
use super::{Backend, BackendError, BackendKind, EnvManifest, InitOptions, InstalledPackage};

/// The first pixi with `pixi update`.
pub const FIRST_WITH_UPDATE: Version = Version::new(0, 21, 0);

/// A pixi workspace.
pub struct Pixi {
    binary: PathBuf,
    dir: PathBuf,
    sink: Arc<dyn OutputSink>,
    version: OnceLock<Version>,
}

impl Pixi {
    /// The workspace in `dir`, driven by `binary`.
    pub fn new(binary: PathBuf, dir: PathBuf, sink: Arc<dyn OutputSink>) -> Pixi {
        Pixi {
            binary,
            dir,
            sink,
            version: OnceLock::new(),
        }
    }

    fn command(&self) -> ToolCommand {
        ToolCommand::new("pixi", self.binary.clone(), self.dir.clone())
    }

    fn run(&self, command: ToolCommand) -> Result<ToolOutput, BackendError> {
        run(&command, &self.sink)
    }

    /// The installed pixi's version (`pixi --version` prints `pixi X.Y.Z`).
    pub fn version(&self) -> Result<Version, BackendError> {
        if let Some(v) = self.version.get() {
            return Ok(v.clone());
        }
        let command = self.command().args(["--version"]).capture();
        let shown = command.display();
        let out = self.run(command)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text
            .split_whitespace()
            .find_map(|word| Version::parse(word.trim_start_matches('v')).ok())
            .ok_or_else(|| BackendError::BadOutput {
                command: shown,
                reason: format!("no version in `{}`", text.trim()),
            })?;
        Ok(self.version.get_or_init(|| version).clone())
    }

    /// The manifest file: pixi.toml, else pyproject.toml.
    fn manifest_path(&self) -> PathBuf {
        let pixi = self.dir.join("pixi.toml");
        if pixi.is_file() {
            pixi
        } else {
            self.dir.join("pyproject.toml")
        }
    }

    /// Checks the directory holds a pixi workspace and locks it; returns the
    /// manifest path.
    fn open(&self) -> Result<(EnvLock, PathBuf), BackendError> {
        let path = self.manifest_path();
        if !path.is_file() || manifest::detect(&self.dir)? != BackendKind::Pixi {
            return Err(BackendError::NotAnEnvironment {
                dir: self.dir.clone(),
                reason: "it has no pixi.toml (nor a pyproject.toml with [tool.pixi]); create one with `pkg env init DIR --backend pixi`".into(),
            });
        }
        Ok((EnvLock::acquire(&self.dir)?, path))
    }

    fn with_manifest(&self, path: &Path, args: &[&str]) -> ToolCommand {
        self.command()
            .args(args.iter().copied())
            .args(["--manifest-path"])
            .args([path.as_os_str()])
    }
}

impl Backend for Pixi {
    fn kind(&self) -> BackendKind {
        BackendKind::Pixi
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn init(&self, options: &InitOptions) -> Result<(), BackendError> {
        if self.dir.join("pixi.toml").exists() || self.dir.join("pyproject.toml").exists() {
            return Err(BackendError::NotAnEnvironment {
                dir: self.dir.clone(),
                reason: "it already holds a manifest; nothing was changed".into(),
            });
        }
        let _lock = EnvLock::create(&self.dir)?;
        let mut command = self.command().args(["init"]);
        for channel in &options.channels {
            command = command.args(["--channel", channel]);
        }
        self.run(command.args(["."]))?;
        let path = self.dir.join("pixi.toml");
        if options.name.is_some() || options.python.is_some() {
            let text = std::fs::read_to_string(&path).map_err(|source| BackendError::Io {
                action: "cannot read",
                path: path.clone(),
                source,
            })?;
            let text = edit_manifest(&text, options.name.as_deref(), options.python.as_deref());
            std::fs::write(&path, text).map_err(|source| BackendError::Io {
                action: "cannot write",
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn add(&self, specs: &[String]) -> Result<(), BackendError> {
        for spec in specs {
            check_spec(BackendKind::Pixi, spec)?;
        }
        let (_lock, path) = self.open()?;
        self.run(self.with_manifest(&path, &["add"]).args(["--"]).args(specs))?;
        Ok(())
    }

    fn remove(&self, names: &[String]) -> Result<(), BackendError> {
        for name in names {
            check_spec(BackendKind::Pixi, name)?;
        }
        let (_lock, path) = self.open()?;
        self.run(
            self.with_manifest(&path, &["remove"])
                .args(["--"])
                .args(names),
        )?;
        Ok(())
    }

    fn list(&self) -> Result<Vec<InstalledPackage>, BackendError> {
        let (_lock, path) = self.open()?;
        let command = self.with_manifest(&path, &["list", "--json"]).capture();
        let shown = command.display();
        let out = self.run(command)?;
        // pixi 0.15 prints nothing (not `[]`) for an empty environment.
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let listed: Vec<PixiEntry> =
            serde_json::from_slice(&out.stdout).map_err(|e| BackendError::BadOutput {
                command: shown,
                reason: e.to_string(),
            })?;
        let mut packages: Vec<InstalledPackage> = listed
            .into_iter()
            .map(|p| InstalledPackage {
                source: p.url.or(p.source).or(p.kind).unwrap_or_default(),
                name: p.name,
                version: p.version,
            })
            .collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(packages)
    }

    fn update(&self, names: &[String]) -> Result<(), BackendError> {
        for name in names {
            check_spec(BackendKind::Pixi, name)?;
        }
        if self.version()? >= FIRST_WITH_UPDATE {
            let (_lock, path) = self.open()?;
            self.run(self.with_manifest(&path, &["update", "--json"]).args(names))?;
            return Ok(());
        }
        // No `pixi update`: re-solve from scratch within the manifest's
        // constraints (every package, named or not), keeping the old lock
        // to put back if that fails.
        let (_lock, path) = self.open()?;
        let lock = self.dir.join("pixi.lock");
        let kept = self.dir.join(".pixi.lock.pkg-previous");
        let had_lock = lock.is_file();
        if had_lock {
            std::fs::rename(&lock, &kept).map_err(|source| BackendError::Io {
                action: "cannot move aside",
                path: lock.clone(),
                source,
            })?;
        }
        match self.run(self.with_manifest(&path, &["install"])) {
            Ok(_) => {
                if had_lock {
                    let _ = std::fs::remove_file(&kept);
                }
                Ok(())
            }
            Err(e) => {
                if had_lock {
                    let _ = std::fs::rename(&kept, &lock);
                }
                Err(e)
            }
        }
    }

    fn manifest(&self) -> Result<EnvManifest, BackendError> {
        manifest::parse_dir(&self.dir, BackendKind::Pixi)
    }

    fn sync(&self, frozen: bool) -> Result<(), BackendError> {
        let (_lock, path) = self.open()?;
        if frozen && !self.dir.join("pixi.lock").is_file() {
            return Err(BackendError::NotAnEnvironment {
                dir: self.dir.clone(),
                reason: "--frozen needs pixi.lock, and there is none; run `pkg env sync` without --frozen to create it".into(),
            });
        }
        let args: &[&str] = if frozen {
            &["install", "--frozen"]
        } else {
            &["install"]
        };
        self.run(self.with_manifest(&path, args))?;
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct PixiEntry {
    name: String,
    version: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// Sets the workspace name and adds a `python` dependency in a manifest
/// `pixi init` wrote, editing lines so the file keeps its layout.
fn edit_manifest(text: &str, name: Option<&str>, python: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut table = String::new();
    let mut named = false;
    let mut python_added = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = trimmed.trim_matches(['[', ']']).trim().to_string();
        }
        if let Some(name) = name
            && !named
            && matches!(table.as_str(), "project" | "workspace")
            && trimmed.starts_with("name")
            && trimmed[4..].trim_start().starts_with('=')
        {
            out.push_str(&format!("name = {}\n", toml_string(name)));
            named = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if let Some(python) = python
            && !python_added
            && trimmed == "[dependencies]"
        {
            out.push_str(&format!("python = {}\n", toml_string(python)));
            python_added = true;
        }
    }
    if let Some(python) = python
        && !python_added
    {
        out.push_str(&format!(
            "\n[dependencies]\npython = {}\n",
            toml_string(python)
        ));
    }
    out
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_edits_keep_the_layout() {
        let text = "[project]\nname = \"dir\"\nchannels = [\"c\"]\n\n[tasks]\n\n[dependencies]\n";
        let edited = edit_manifest(text, Some("app"), Some("3.11.*"));
        assert_eq!(
            edited,
            "[project]\nname = \"app\"\nchannels = [\"c\"]\n\n[tasks]\n\n[dependencies]\npython = \"3.11.*\"\n"
        );
        let no_deps = edit_manifest("[workspace]\nname = \"x\"\n", None, Some(">=3.10"));
        assert!(
            no_deps.ends_with("[dependencies]\npython = \">=3.10\"\n"),
            "{no_deps}"
        );
        assert_eq!(edit_manifest(text, None, None), text);
    }
}
