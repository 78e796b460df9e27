//! A git source: a repository of releases. Each tag `vX.Y.Z` is a version
//! of the package at the location's path; each tag `NAME/vX.Y.Z` is a
//! version of the package in the sub-directory NAME (several packages in
//! one repository). Indexing reads every release's manifest through the
//! git cache (a release already cached costs no fetch), so the index is
//! cached like a registry's. An entry's locator pins the tag's commit.

use super::{IndexEntry, Source, SourceIndex};
use crate::git::ref_query::RefQuery;
use crate::git::refs::list_remote;
use crate::loaders::git_source::GitSource;
use crate::loaders::spec::GitSpec;
use crate::loaders::{self, Fetched, Source as _, SourceSpec};
use crate::package::read::read_package;
use crate::progress::{NoProgress, Progress};
use crate::source_settings::SourceSettings;

/// The repository and path `source` names.
fn spec(source: &Source, settings: &SourceSettings) -> Result<GitSpec, String> {
    match loaders::parse(&source.location, settings).map_err(|e| e.to_string())? {
        SourceSpec::Git(spec) => Ok(spec),
        _ => Err(format!("`{}` is not a git repository", source.location)),
    }
}

/// `REPO//PATH@COMMIT`: what [`fetch`] reads back.
fn locator(repo: &str, path: &str, commit: &str) -> String {
    format!("{repo}//{path}@{commit}")
}

/// The repository, path and commit of a locator.
pub fn parse_locator(locator: &str) -> Option<(&str, &str, &str)> {
    let (rest, commit) = locator.rsplit_once('@')?;
    let (repo, path) = rest.rsplit_once("//")?;
    Some((repo, path, commit))
}

/// The commit an entry's locator pins, for a git source's entry.
pub fn commit_of(entry: &IndexEntry) -> Option<&str> {
    parse_locator(&entry.locator).map(|(_, _, c)| c)
}

/// Fetches the package a locator names (its commit, through the cache).
pub fn fetch(
    locator: &str,
    settings: &SourceSettings,
    progress: &dyn Progress,
) -> Result<Fetched, String> {
    let (repo, path, commit) =
        parse_locator(locator).ok_or_else(|| format!("`{locator}` is not a git source locator"))?;
    let spec = GitSpec {
        repo: repo.to_string(),
        path: path.to_string(),
        reference: RefQuery::Named(commit.to_string()),
    };
    GitSource::new(spec, settings.clone())
        .fetch(progress)
        .map_err(|e| e.to_string())
}

/// The index of the git source `source`: every release tag's package.
pub fn index(source: &Source, settings: &SourceSettings) -> Result<SourceIndex, String> {
    let spec = spec(source, settings)?;
    let refs = list_remote(&spec.repo, settings).map_err(|e| e.to_string())?;
    let mut out = SourceIndex::default();
    for release in refs.releases() {
        if release.prefix.contains('@') {
            out.warnings.push(format!(
                "tag `{}` is left out: its name holds `@`",
                release.tag
            ));
            continue;
        }
        let path = match (spec.path.as_str(), release.prefix.as_str()) {
            (base, "") => base.to_string(),
            ("", prefix) => prefix.to_string(),
            (base, prefix) => format!("{base}/{prefix}"),
        };
        let commit = release.commit.to_string();
        let at = locator(&spec.repo, &path, &commit);
        let package = fetch(&at, settings, &NoProgress)
            .and_then(|f| read_package(&f.dir, &NoProgress).map_err(|e| e.to_string()));
        let package = match package {
            Ok(p) => p,
            Err(e) => {
                out.warnings
                    .push(format!("tag `{}` is left out: {e}", release.tag));
                continue;
            }
        };
        let manifest = &package.manifest;
        let name = match (&manifest.name, release.prefix.as_str()) {
            (Some(n), prefix) if prefix.is_empty() || n == prefix => n.clone(),
            (Some(n), prefix) => {
                out.warnings.push(format!(
                    "tag `{}` is left out: it names package `{prefix}`, the manifest says `{n}`",
                    release.tag
                ));
                continue;
            }
            (None, prefix) if !prefix.is_empty() => prefix.to_string(),
            (None, _) => {
                out.warnings.push(format!(
                    "tag `{}` is left out: its manifest has no `name`",
                    release.tag
                ));
                continue;
            }
        };
        if let Some(v) = &manifest.version
            && semver::Version::parse(v).ok().as_ref() != Some(&release.version)
        {
            out.warnings.push(format!(
                "tag `{}` is left out: its manifest says version `{v}`",
                release.tag
            ));
            continue;
        }
        out.entries.push(IndexEntry {
            source: source.name.clone(),
            name,
            version: release.version.clone(),
            min_level: manifest.min_level.unwrap_or(1),
            dependencies: manifest.dependencies.clone(),
            digest: package.digest.clone(),
            description: manifest.description.clone().unwrap_or_default(),
            locator: at,
        });
    }
    Ok(out)
}
