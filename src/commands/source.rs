//! Opening a source for a command: the settings from the environment and
//! `--offline`, fetching, reading the package, and the `--locked` check.
//! Owns [`SourceArgs`], the argument of `pkg validate`.

use std::path::Path;

use anyhow::{Context as _, Result};
use clap::Args;

use super::Context;
use crate::loaders::lock::LockFile;
use crate::loaders::{self, Fetched, Source};
use crate::model::slug::escape;
use crate::package::{Package, read_package};
use crate::progress::Progress;
use crate::source_settings::SourceSettings;

/// A package source.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The package: a directory, an archive (.tar.gz, .tgz, .zip), an http(s) URL, a GitHub URL, github:OWNER/REPO/PATH@REF, or git+https://HOST/REPO.git//PATH@REF
    pub source: String,
}

/// A fetched and checked package. The fetched directory (a temporary one
/// for remote sources) lives as long as this.
pub struct Opened {
    /// The package.
    pub package: Package,
    /// Where it came from; holds the temporary directory.
    pub fetched: Fetched,
}

impl Context {
    /// The source settings: environment plus `--offline`.
    pub fn source_settings(&self) -> Result<SourceSettings> {
        Ok(SourceSettings::from_env(self.offline)?)
    }

    /// Fetches `source` (without reading the package).
    pub fn fetch(&self, source: &str, progress: &dyn Progress) -> Result<Fetched> {
        let settings = self.source_settings()?;
        let fetched = loaders::resolve(source, &settings)?
            .fetch(progress)
            .with_context(|| format!("cannot load `{}`", crate::model::slug::escape(source)))?;
        Ok(fetched)
    }

    /// Fetches `NAME@REQ` from the registry remote `registry`.
    pub fn fetch_from_registry(
        &self,
        spec: &str,
        registry: &str,
        progress: &dyn Progress,
    ) -> Result<Fetched> {
        let source = crate::loaders::registry_source::RegistrySource::new(spec, registry)?;
        source
            .fetch(progress)
            .with_context(|| format!("cannot load `{}` from registry `{registry}`", escape(spec)))
    }

    /// Fetches and reads `source`; with `locked`, refuses content that
    /// differs from the lock file's entry for it.
    pub fn open(
        &self,
        source: &str,
        locked: Option<&Path>,
        progress: &dyn Progress,
    ) -> Result<Opened> {
        self.open_from(source, None, locked, progress)
    }

    /// As [`Context::open`], from the registry remote `registry` when given
    /// (`source` is then `NAME[@REQ]`).
    pub fn open_from(
        &self,
        source: &str,
        registry: Option<&str>,
        locked: Option<&Path>,
        progress: &dyn Progress,
    ) -> Result<Opened> {
        let lock = locked.map(LockFile::read).transpose()?;
        if let (Some(lock), Some(path)) = (&lock, locked) {
            // An unpinned source is refused before any network access.
            lock.entry(path, source)?;
        }
        let fetched = match registry {
            Some(registry) => self.fetch_from_registry(source, registry, progress)?,
            None => self.fetch(source, progress)?,
        };
        let package = read_package(&fetched.dir, progress)?;
        if let (Some(lock), Some(path)) = (&lock, locked) {
            lock.check(path, source, fetched.commit.as_deref(), &package.digest)?;
        }
        Ok(Opened { package, fetched })
    }
}
