//! A package in a git repository (GitHub or any git URL): list the remote's
//! refs (or, `--offline`, the cache's), resolve the ref, fetch the commit
//! shallowly into the cache unless it is already there, and write only the
//! package directory out of it.

use super::spec::GitSpec;
use super::{Fetched, Source, SourceError};
use crate::git::GitError;
use crate::git::cache::CacheRepo;
use crate::git::ref_query::RefQuery;
use crate::git::refs::{Resolved, full_commit_id, list_remote, release_ref, short_ref};
use crate::progress::Progress;
use crate::signing::Asked;
use crate::source_settings::SourceSettings;

/// A package directory at a ref of a git repository.
#[derive(Debug, Clone)]
pub struct GitSource {
    spec: GitSpec,
    settings: SourceSettings,
}

impl GitSource {
    /// The source for `spec`.
    pub fn new(spec: GitSpec, settings: SourceSettings) -> GitSource {
        GitSource { spec, settings }
    }

    /// Resolves the ref to a commit, fetching it into the cache when needed.
    /// Returns the cache (still locked) and the resolution.
    pub fn resolve(&self, progress: &dyn Progress) -> Result<(CacheRepo, Resolved), GitError> {
        let url = &self.spec.repo;
        let cache = CacheRepo::open(&self.settings, url)?;
        if self.settings.offline {
            let resolved = self.resolve_offline(&cache)?;
            return Ok((cache, resolved));
        }
        progress.phase("listing refs", 0);
        let refs = list_remote(url, &self.settings)?;
        let resolved = refs.resolve(&self.spec.reference, &self.spec.path, url)?;
        if !cache.has_commit(resolved.commit) {
            progress.phase("fetching", 0);
            cache.fetch(
                &self.settings,
                resolved.refname.as_deref(),
                resolved.commit,
                progress,
            )?;
        }
        cache.remember(&refs)?;
        Ok((cache, resolved))
    }

    fn resolve_offline(&self, cache: &CacheRepo) -> Result<Resolved, GitError> {
        let url = &self.spec.repo;
        if let RefQuery::Named(name) = &self.spec.reference
            && let Some(commit) = full_commit_id(name)
        {
            if cache.has_commit(commit) {
                return Ok(Resolved {
                    refname: None,
                    commit,
                    path: None,
                });
            }
            return Err(GitError::Offline(format!(
                "commit {commit} of `{url}` is not in the cache; load it once online"
            )));
        }
        let refs = cache.remembered_offline(url)?;
        refs.resolve(&self.spec.reference, &self.spec.path, url)
            .map_err(|e| GitError::Offline(format!("{e} (as of the last online fetch)")))
    }

    /// The version the reference asks for, which a signed package must
    /// state (so a tag moved onto an older signed release is refused): a
    /// release-like ref (`v1.2.0`, `1.2.0`, `NAME/v1.2.0`) as the user wrote
    /// it, whether it turned out to be a tag or a branch, or the tag a
    /// semver requirement chose. A plain `v1.2.0` over a package in a
    /// sub-directory is the repository's version, not the package's, and
    /// asks for nothing (pin such loads by commit, or tag `NAME/vX.Y.Z`).
    fn asked(&self, resolved: &Resolved, path: &str) -> Asked {
        let written = match &self.spec.reference {
            RefQuery::Named(name) => Some(short_ref(name).to_string()),
            RefQuery::Semver(_) | RefQuery::TreePath(_) => resolved
                .refname
                .as_deref()
                .map(|r| short_ref(r).to_string()),
            RefQuery::Default => None,
        };
        written
            .as_deref()
            .and_then(release_ref)
            .filter(|(prefix, _)| !prefix.is_empty() || path.trim_matches('/').is_empty())
            .map(|(_, version)| Asked::version(&version.to_string()))
            .unwrap_or_default()
    }

    /// The origin text for the history: `URL//PATH@REF`.
    fn origin(&self, path: &str, resolved: &Resolved) -> String {
        let mut origin = self.spec.repo.clone();
        if !path.is_empty() {
            origin.push_str("//");
            origin.push_str(path);
        }
        origin.push('@');
        origin.push_str(&resolved.short_name());
        origin
    }
}

impl Source for GitSource {
    fn fetch(&self, progress: &dyn Progress) -> Result<Fetched, SourceError> {
        let (cache, resolved) = self.resolve(progress)?;
        let path = resolved
            .path
            .clone()
            .unwrap_or_else(|| self.spec.path.clone());
        progress.phase("checking out", 0);
        let dir = cache.checkout(&self.settings, resolved.commit, &path)?;
        drop(cache);
        let asked = self.asked(&resolved, &path);
        Ok(Fetched {
            dir,
            origin: self.origin(&path, &resolved),
            commit: Some(resolved.commit.to_string()),
            temp: None,
            asked,
        })
    }
}
