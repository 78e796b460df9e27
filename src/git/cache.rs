//! The git cache: one bare repository per repository URL under
//! `<cache>/git/`, filled by shallow, single-ref fetches. A commit already
//! in the cache is never fetched again. The refs seen at the last contact
//! are kept under `refs/pkg/` so that `--offline` can resolve branches, tags
//! and semver requirements without the network. An exclusive lock file per
//! repository serialises concurrent `pkg` processes.

use std::fs::File;
use std::path::{Path, PathBuf};

use git2::{AutotagOption, FetchOptions, Oid, Repository};

use super::GitError;
use super::auth::callbacks;
use super::checkout::write_subtree;
use super::refs::RemoteRefs;
use crate::model::fingerprint::{hex, sha256};
use crate::progress::Progress;
use crate::safe_tree::{Limits, TreeWriter};
use crate::source_settings::SourceSettings;

/// Where the cache keeps the remote's refs.
const PKG_REFS: &str = "refs/pkg/";

/// A cached bare repository, locked for this process while it lives.
pub struct CacheRepo {
    /// The repository.
    pub repo: Repository,
    /// The repository URL it caches.
    pub url: String,
    dir: PathBuf,
    _lock: File,
}

impl CacheRepo {
    /// Opens (creating when missing) the cache repository for `url` and
    /// takes its lock (waiting for another `pkg` that holds it).
    pub fn open(settings: &SourceSettings, url: &str) -> Result<CacheRepo, GitError> {
        let root = settings.git_cache();
        let dir = root.join(cache_name(url));
        let cache_err = |message: String| GitError::Cache {
            path: dir.display().to_string(),
            message,
        };
        std::fs::create_dir_all(&root).map_err(|e| cache_err(e.to_string()))?;
        let lock_path = dir.with_extension("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| cache_err(format!("lock file: {e}")))?;
        lock.lock().map_err(|e| cache_err(format!("lock: {e}")))?;
        let repo = match Repository::open_bare(&dir) {
            Ok(repo) => repo,
            Err(_) => {
                // A missing or half-created repository (killed while being
                // created) is made afresh.
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).map_err(|e| cache_err(e.to_string()))?;
                }
                Repository::init_bare(&dir)?
            }
        };
        Ok(CacheRepo {
            repo,
            url: url.to_string(),
            dir,
            _lock: lock,
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether commit `oid` (and so its whole tree) is in the cache.
    pub fn has_commit(&self, oid: Oid) -> bool {
        self.repo.find_commit(oid).and_then(|c| c.tree()).is_ok()
    }

    /// Fetches `commit` with depth 1: by ref name when `refname` is given,
    /// else by id. A server that refuses unadvertised ids (the git protocol
    /// v0 default) gets a second, full fetch of its branches and tags.
    pub fn fetch(
        &self,
        settings: &SourceSettings,
        refname: Option<&str>,
        commit: Oid,
        progress: &dyn Progress,
    ) -> Result<(), GitError> {
        let local = match refname {
            Some(name) => format!("{PKG_REFS}{}", name.trim_start_matches("refs/")),
            None => format!("{PKG_REFS}commits/{commit}"),
        };
        let source = refname.map_or_else(|| commit.to_string(), str::to_string);
        let refspec = format!("+{source}:{local}");
        // libgit2's local transport cannot fetch shallowly; it copies
        // objects from the disk anyway.
        let depth = (!self.url.starts_with("file:")).then_some(1);
        match self.fetch_refspecs(settings, &[&refspec], depth, progress) {
            Err(_) if refname.is_none() => {
                let all = [
                    "+refs/heads/*:refs/pkg/heads/*",
                    "+refs/tags/*:refs/pkg/tags/*",
                ];
                let unshallow = self.repo.is_shallow().then_some(i32::MAX);
                self.fetch_refspecs(settings, &all, unshallow, progress)?;
            }
            other => other?,
        }
        if !self.has_commit(commit) {
            return Err(GitError::Remote {
                url: self.url.clone(),
                message: format!(
                    "the fetch of {source} did not bring commit {commit} (the ref moved while fetching, or no branch or tag holds that commit)"
                ),
            });
        }
        Ok(())
    }

    fn fetch_refspecs(
        &self,
        settings: &SourceSettings,
        refspecs: &[&str],
        depth: Option<i32>,
        progress: &dyn Progress,
    ) -> Result<(), GitError> {
        let mut remote = self
            .repo
            .remote_anonymous(&self.url)
            .map_err(|e| GitError::remote(&self.url, &e))?;
        let mut options = FetchOptions::new();
        options
            .remote_callbacks(callbacks(settings, progress))
            .download_tags(AutotagOption::None)
            .update_fetchhead(false);
        if let Some(depth) = depth {
            options.depth(depth);
        }
        remote
            .fetch(refspecs, Some(&mut options), None)
            .map_err(|e| GitError::remote(&self.url, &e))
    }

    /// The package directory `path` of `commit`, written out once into
    /// `<cache>/checkouts/` (through a temporary directory renamed into
    /// place) and reused by every later load of the same commit and path.
    pub fn checkout(
        &self,
        settings: &SourceSettings,
        commit: Oid,
        path: &str,
    ) -> Result<PathBuf, GitError> {
        let parent = settings
            .cache_dir
            .join("checkouts")
            .join(cache_name(&self.url));
        let name = format!("{commit}-{}", &hex(&sha256(path.as_bytes()))[..12]);
        let target = parent.join(name);
        if target.is_dir() {
            return Ok(target);
        }
        let cache_err = |message: String| GitError::Cache {
            path: parent.display().to_string(),
            message,
        };
        std::fs::create_dir_all(&parent).map_err(|e| cache_err(e.to_string()))?;
        let writer = TreeWriter::new_in(&parent, Limits::default())?;
        let tree = write_subtree(&self.repo, &self.url, commit, path, writer)?;
        let written = tree.keep();
        if let Err(e) = std::fs::rename(&written, &target) {
            let _ = std::fs::remove_dir_all(&written);
            if !target.is_dir() {
                return Err(cache_err(format!(
                    "cannot rename the checkout into place: {e}"
                )));
            }
        }
        Ok(target)
    }

    /// Remembers the remote's refs under `refs/pkg/` for offline use.
    pub fn remember(&self, refs: &RemoteRefs) -> Result<(), GitError> {
        for (name, oid) in &refs.refs {
            if !self.has_commit(*oid) {
                continue;
            }
            let local = format!("{PKG_REFS}{}", name.trim_start_matches("refs/"));
            // Most loads see the refs of the last one: write only changes.
            if self.repo.refname_to_id(&local).ok() != Some(*oid) {
                self.repo.reference(&local, *oid, true, "pkg: remote ref")?;
            }
        }
        if let Some(head) = &refs.head {
            let target = format!("{PKG_REFS}{}", head.trim_start_matches("refs/"));
            self.repo.reference_symbolic(
                &format!("{PKG_REFS}HEAD"),
                &target,
                true,
                "pkg: remote HEAD",
            )?;
        }
        Ok(())
    }

    /// The refs remembered from earlier contacts, for `--offline`.
    /// The remote refs remembered for `url`, for `--offline`; a repository
    /// never fetched is an error that says so.
    pub fn remembered_offline(&self, url: &str) -> Result<RemoteRefs, GitError> {
        let refs = self.remembered()?;
        if refs.refs.is_empty() {
            return Err(GitError::Offline(format!(
                "`{url}` is not in the cache; load it once online"
            )));
        }
        Ok(refs)
    }

    /// The remote refs remembered by the last online fetch (none when the
    /// repository was never fetched).
    pub fn remembered(&self) -> Result<RemoteRefs, GitError> {
        let mut refs = RemoteRefs::default();
        for reference in self.repo.references_glob(&format!("{PKG_REFS}*"))? {
            let reference = reference?;
            let Ok(name) = reference.name() else { continue };
            let remote_name = format!("refs/{}", &name[PKG_REFS.len()..]);
            if remote_name == "refs/HEAD" {
                refs.head = reference
                    .symbolic_target()
                    .ok()
                    .flatten()
                    .map(|t| format!("refs/{}", t.trim_start_matches(PKG_REFS)));
                continue;
            }
            if remote_name.starts_with("refs/commits/") {
                continue;
            }
            if let Ok(commit) = reference.peel_to_commit() {
                refs.refs.insert(remote_name.clone(), commit.id());
                refs.direct
                    .insert(remote_name, reference.target().unwrap_or(commit.id()));
            }
        }
        Ok(refs)
    }
}

/// The cache directory name for a URL: readable tail plus a hash of the
/// whole URL, so different URLs never share a repository.
pub fn cache_name(url: &str) -> String {
    let tail: String = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    let digest = hex(&sha256(url.as_bytes()));
    format!("{}-{}", tail.trim_start_matches('.'), &digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_are_distinct_and_safe() {
        let a = cache_name("https://github.com/acme/packages.git");
        let b = cache_name("https://github.com/other/packages.git");
        assert!(a.starts_with("packages-"), "{a}");
        assert_ne!(a, b);
        assert!(!cache_name("file:///../../..").contains('/'));
        assert!(!cache_name("https://h/..").starts_with('.'));
    }
}
