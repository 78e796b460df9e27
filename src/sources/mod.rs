//! Package sources: the places `pkg` looks packages up in by name (a
//! directory of packages, a `pkg serve` registry, a git repository of
//! releases), configured as `[[sources]]` in the config file, each with a
//! priority. Every source answers the same question, its index (name,
//! version, `min_level`, dependencies, digest), and the indexes merge into
//! one ([`merged`]), where a conflict strategy decides which source a name
//! comes from.
//!
//! This module owns the source list and its edits, the kinds, and the
//! index. It sits above `loaders`, `remote`, `package` and `config`, and
//! below `commands`.

use std::path::{Path, PathBuf};

use crate::config::{self, SourceSection};
use crate::model::slug::validate_slug;
use crate::signing::{self, trust::Trust};
use crate::source_settings::SourceSettings;

pub mod cache;
pub mod directory;
pub mod entry;
pub mod fetch;
pub mod git;
pub mod merged;
pub mod oci;
pub mod registry;
pub mod resolve;
pub mod wanted;

pub use self::entry::IndexEntry;
pub use self::merged::{Conflict, MergedIndex};
pub use self::wanted::Wanted;

/// The priority of a source added without one.
pub const DEFAULT_PRIORITY: i64 = 100;

/// What a source's location is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A local directory whose sub-directories or archives are packages.
    Directory,
    /// A `pkg serve` registry (an http or https URL).
    Registry,
    /// A git repository of releases (tags `vX.Y.Z` or `NAME/vX.Y.Z`).
    Git,
    /// An OCI registry (`oci://HOST/PREFIX`): repositories `PREFIX/NAME`
    /// with semver tags.
    Oci,
}

impl SourceKind {
    /// `directory`, `registry` or `git`.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Directory => "directory",
            SourceKind::Registry => "registry",
            SourceKind::Git => "git",
            SourceKind::Oci => "oci",
        }
    }

    /// Whether the source is on this machine (the `local-first` strategy).
    pub fn is_local(self) -> bool {
        self == SourceKind::Directory
    }
}

/// A configured source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Source {
    /// Its name.
    pub name: String,
    /// Where it is, as configured (a directory is stored absolute).
    pub location: String,
    /// What it is.
    pub kind: SourceKind,
    /// Lower wins under the `priority` strategy.
    pub priority: i64,
    /// The environment variable holding a registry's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Whether it is used.
    pub enabled: bool,
    /// The public keys one of which must have signed every package loaded
    /// from it (empty: no signature is required).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub require_signature: Vec<String>,
}

impl Source {
    /// The signature requirement of packages from this source (none when
    /// it requires no signature).
    pub fn trust(&self) -> Result<Trust, SourceError> {
        let keys = self
            .require_signature
            .iter()
            .map(|k| {
                signing::read_public_key(k).map_err(|e| {
                    SourceError::Invalid(format!(
                        "source `{}`: require_signature key `{k}`: {e}",
                        self.name
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Trust::none().require(format!("source `{}` requires a signature", self.name), keys))
    }
}

/// Why a source could not be used or changed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The config file is unusable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// No source has this name.
    #[error("no source is named `{0}`; `pkg source list` shows them")]
    Unknown(String),
    /// A source of this name exists.
    #[error("a source named `{0}` exists already; remove it first or pick another name")]
    Exists(String),
    /// The location or a setting is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The source could not answer.
    #[error("source `{source_name}`: {reason}")]
    Unavailable {
        /// The source.
        source_name: String,
        /// What went wrong.
        reason: String,
    },
}

/// The kind `location` names: an http(s) URL is a registry; a git source
/// form (`github:`, `git+`, a GitHub URL, `.git`) is a git repository; an
/// existing directory is a directory source.
pub fn kind_of(location: &str) -> Result<SourceKind, SourceError> {
    let lower = location.to_ascii_lowercase();
    let gitish = lower.starts_with("github:")
        || lower.starts_with("git+")
        || lower.starts_with("git@")
        || lower.starts_with("ssh://")
        || lower.starts_with("git://")
        || lower.starts_with("file://")
        || lower.starts_with("https://github.com/")
        || lower.trim_end_matches('/').ends_with(".git");
    if gitish {
        return Ok(SourceKind::Git);
    }
    if lower.starts_with("oci://") {
        oci::check_location(location).map_err(SourceError::Invalid)?;
        return Ok(SourceKind::Oci);
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        url::Url::parse(location)
            .map_err(|e| SourceError::Invalid(format!("`{location}` is not a valid URL: {e}")))?;
        return Ok(SourceKind::Registry);
    }
    let path = Path::new(location);
    if path.is_dir() {
        return Ok(SourceKind::Directory);
    }
    Err(SourceError::Invalid(format!(
        "`{location}` is neither a directory, nor a registry URL (http:// or https://), nor a git repository (github:OWNER/REPO, git+https://HOST/REPO.git, a GitHub URL), nor an OCI registry (oci://HOST/PREFIX)"
    )))
}

fn from_section(section: &SourceSection) -> Result<Source, SourceError> {
    let kind = kind_of(&section.location).or_else(|e| {
        // A directory that has gone away is still a directory source: it
        // fails when asked, it is not unreadable config.
        if Path::new(&section.location).is_absolute() {
            Ok(SourceKind::Directory)
        } else {
            Err(e)
        }
    })?;
    Ok(Source {
        name: section.name.clone(),
        location: section.location.clone(),
        kind,
        priority: section.priority.unwrap_or(DEFAULT_PRIORITY),
        token_env: section.token_env.clone(),
        enabled: section.enabled.unwrap_or(true),
        require_signature: section.require_signature.clone(),
    })
}

/// Every configured source, in the config file's order.
pub fn list() -> Result<Vec<Source>, SourceError> {
    config::load()?
        .sources
        .iter()
        .map(|s| {
            from_section(s).map_err(|e| SourceError::Invalid(format!("source `{}`: {e}", s.name)))
        })
        .collect()
}

fn config_file() -> Result<PathBuf, SourceError> {
    config::config_path().ok_or_else(|| {
        SourceError::Invalid(
            "no config directory is known: set PKG_CONFIG to the config file's path".into(),
        )
    })
}

/// Adds a source; a directory location is stored absolute, and each key
/// of `require_signature` (a `.pub` file or an `RW...` key) as the key
/// itself.
pub fn add(
    name: &str,
    location: &str,
    priority: Option<i64>,
    token_env: Option<&str>,
    require_signature: &[String],
) -> Result<Source, SourceError> {
    validate_slug(name).map_err(|e| SourceError::Invalid(format!("invalid source name: {e}")))?;
    let kind = kind_of(location)?;
    let location = if kind == SourceKind::Directory {
        std::fs::canonicalize(location)
            .map_err(|e| SourceError::Invalid(format!("cannot use `{location}`: {e}")))?
            .to_string_lossy()
            .into_owned()
    } else {
        location.to_string()
    };
    if let Some(var) = token_env
        && (var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(SourceError::Invalid(format!(
            "--token-env `{var}` must be an environment variable name (letters, digits, `_`)"
        )));
    }
    let require_signature = require_signature
        .iter()
        .map(|k| {
            signing::read_public_key(k)
                .map(|pk| signing::public_key_text(&pk))
                .map_err(|e| SourceError::Invalid(format!("--require-signature: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if list()?.iter().any(|s| s.name == name) {
        return Err(SourceError::Exists(name.to_string()));
    }
    let source = Source {
        name: name.to_string(),
        location,
        kind,
        priority: priority.unwrap_or(DEFAULT_PRIORITY),
        token_env: token_env.map(str::to_string),
        enabled: true,
        require_signature,
    };
    config::edit_toml(&config_file()?, 0o644, |doc| {
        let sources = doc
            .entry("sources")
            .or_insert(toml_edit::Item::ArrayOfTables(
                toml_edit::ArrayOfTables::new(),
            ))
            .as_array_of_tables_mut()
            .ok_or("`sources` is not an array of tables ([[sources]])")?;
        let mut table = toml_edit::Table::new();
        table["name"] = toml_edit::value(source.name.clone());
        table["location"] = toml_edit::value(source.location.clone());
        table["priority"] = toml_edit::value(source.priority);
        if let Some(var) = &source.token_env {
            table["token_env"] = toml_edit::value(var.clone());
        }
        if !source.require_signature.is_empty() {
            table["require_signature"] = toml_edit::value(
                source
                    .require_signature
                    .iter()
                    .collect::<toml_edit::Array>(),
            );
        }
        sources.push(table);
        Ok(())
    })?;
    Ok(source)
}

/// Edits the `[[sources]]` entry named `name` with `edit`, which returns
/// whether to keep it.
fn edit_entry(name: &str, edit: impl Fn(&mut toml_edit::Table) -> bool) -> Result<(), SourceError> {
    if !list()?.iter().any(|s| s.name == name) {
        return Err(SourceError::Unknown(name.to_string()));
    }
    config::edit_toml(&config_file()?, 0o644, |doc| {
        let sources = doc
            .get_mut("sources")
            .and_then(toml_edit::Item::as_array_of_tables_mut)
            .ok_or("`sources` is not an array of tables ([[sources]])")?;
        let keep: Vec<bool> = sources
            .iter_mut()
            .map(|table| {
                let named = table.get("name").and_then(toml_edit::Item::as_str) == Some(name);
                !named || edit(table)
            })
            .collect();
        let mut kept = keep.into_iter();
        sources.retain(|_| kept.next().unwrap_or(true));
        Ok(())
    })?;
    Ok(())
}

/// Removes the source `name`.
pub fn remove(name: &str) -> Result<(), SourceError> {
    edit_entry(name, |_| false)
}

/// Enables or disables the source `name`.
pub fn set_enabled(name: &str, enabled: bool) -> Result<(), SourceError> {
    edit_entry(name, |table| {
        if enabled {
            table.remove("enabled");
        } else {
            table["enabled"] = toml_edit::value(false);
        }
        true
    })
}

/// The freshness of cached indexes configured in `[index] ttl` (seconds),
/// else [`cache::DEFAULT_TTL`].
pub fn configured_ttl() -> Result<std::time::Duration, SourceError> {
    Ok(config::load()?
        .index
        .ttl
        .map_or(cache::DEFAULT_TTL, std::time::Duration::from_secs))
}

/// The conflict strategy configured in `[index]`, if any.
pub fn configured_conflict() -> Result<Option<Conflict>, SourceError> {
    config::load()?
        .index
        .conflict
        .as_deref()
        .map(|c| {
            c.parse()
                .map_err(|e: String| SourceError::Invalid(format!("[index] conflict: {e}")))
        })
        .transpose()
}

/// What a source's index holds.
#[derive(Debug, Clone, Default)]
pub struct SourceIndex {
    /// Every package version it holds.
    pub entries: Vec<IndexEntry>,
    /// What it left out, and why.
    pub warnings: Vec<String>,
    /// Versions it holds that the command did not want (not in `entries`).
    pub unwanted: usize,
}

impl SourceIndex {
    /// How many package versions the source holds.
    pub fn listed(&self) -> usize {
        self.entries.len() + self.unwanted
    }

    /// Keeps only the entries `wanted`.
    pub fn keep(mut self, wanted: &Wanted) -> SourceIndex {
        let before = self.entries.len();
        self.entries
            .retain(|e| wanted.accepts(&e.name, &e.description));
        self.unwanted += before - self.entries.len();
        self
    }
}

/// The revision an entry's locator pins: the OCI manifest digest of an
/// `oci://` locator, else the git commit of a git one.
pub fn revision_of(entry: &IndexEntry) -> Option<&str> {
    if entry.locator.starts_with("oci://") {
        oci::manifest_of(entry)
    } else {
        git::commit_of(entry)
    }
}

/// Reads the index of `source` (a directory source's unchanged packages
/// from memory unless `refresh`), keeping the entries `wanted`.
pub fn index_of(
    source: &Source,
    settings: &SourceSettings,
    refresh: bool,
    wanted: &Wanted,
) -> Result<SourceIndex, SourceError> {
    let unavailable = |reason: String| SourceError::Unavailable {
        source_name: source.name.clone(),
        reason,
    };
    match source.kind {
        SourceKind::Directory => {
            directory::index(source, &settings.cache_dir, refresh, wanted).map_err(unavailable)
        }
        SourceKind::Registry => registry::index(source)
            .map(|i| i.keep(wanted))
            .map_err(unavailable),
        SourceKind::Git => git::index(source, settings)
            .map(|i| i.keep(wanted))
            .map_err(unavailable),
        SourceKind::Oci => oci::index(source, settings)
            .map(|i| i.keep(wanted))
            .map_err(unavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_from_locations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_string_lossy().into_owned();
        assert_eq!(kind_of(&path).unwrap(), SourceKind::Directory);
        assert_eq!(
            kind_of("http://127.0.0.1:8080").unwrap(),
            SourceKind::Registry
        );
        assert_eq!(
            kind_of("https://pkg.example.com/").unwrap(),
            SourceKind::Registry
        );
        for git in [
            "github:acme/releases",
            "git+https://git.example.com/r.git",
            "https://github.com/acme/releases",
            "https://git.example.com/r.git",
        ] {
            assert_eq!(kind_of(git).unwrap(), SourceKind::Git, "{git}");
        }
        let err = kind_of("/no/such/dir").unwrap_err().to_string();
        assert!(err.contains("neither a directory"), "{err}");
    }
}
