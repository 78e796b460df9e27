//! A repository's refs (listed from the remote, or from the cache when
//! offline) and the resolution of a [`RefQuery`] against them: tags before
//! branches as git does, full commit ids, the highest release tag matching a
//! semver requirement, and the split of a GitHub `/tree/REF/PATH` at a ref
//! that exists (branch names may contain `/`).

use std::collections::BTreeMap;

use git2::{Direction, Oid, Remote};
use semver::Version;

use super::GitError;
use super::auth::callbacks;
use super::ref_query::RefQuery;
use crate::progress::NoProgress;
use crate::source_settings::SourceSettings;

/// The refs of a repository.
#[derive(Debug, Clone, Default)]
pub struct RemoteRefs {
    /// What `HEAD` points at (`refs/heads/main`), if known.
    pub head: Option<String>,
    /// Full ref name to the commit it (or its peeled tag) points at.
    pub refs: BTreeMap<String, Oid>,
    /// Full ref name to the object it names directly (a tag object for
    /// annotated tags).
    pub direct: BTreeMap<String, Oid>,
}

/// A release tag: `vX.Y.Z` or `PREFIX/vX.Y.Z`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The tag name (without `refs/tags/`).
    pub tag: String,
    /// `PREFIX` of `PREFIX/vX.Y.Z` (empty for `vX.Y.Z`).
    pub prefix: String,
    /// The version.
    pub version: Version,
    /// The commit.
    pub commit: Oid,
}

/// What a query resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The full ref name (`refs/tags/v1.2.0`), or `None` for a bare commit id.
    pub refname: Option<String>,
    /// The commit.
    pub commit: Oid,
    /// The package path, when the query carried one (`/tree/REF/PATH`).
    pub path: Option<String>,
}

impl Resolved {
    /// The ref as a user writes it (`main`, `v1.2.0`, or the commit id).
    pub fn short_name(&self) -> String {
        match &self.refname {
            Some(name) => short_ref(name).to_string(),
            None => self.commit.to_string(),
        }
    }
}

/// `refs/heads/x` and `refs/tags/x` → `x`.
pub fn short_ref(name: &str) -> &str {
    name.strip_prefix("refs/heads/")
        .or_else(|| name.strip_prefix("refs/tags/"))
        .unwrap_or(name)
}

/// Lists the refs of the remote repository at `url` (one connection; no
/// objects are transferred).
pub fn list_remote(url: &str, settings: &SourceSettings) -> Result<RemoteRefs, GitError> {
    let mut remote = Remote::create_detached(url).map_err(|e| GitError::remote(url, &e))?;
    let progress = NoProgress;
    let connection = remote
        .connect_auth(Direction::Fetch, Some(callbacks(settings, &progress)), None)
        .map_err(|e| GitError::remote(url, &e))?;
    let mut refs = RemoteRefs::default();
    let mut peeled = BTreeMap::new();
    for head in connection.list().map_err(|e| GitError::remote(url, &e))? {
        let name = head.name();
        if name == "HEAD" {
            refs.head = head.symref_target().map(str::to_string);
            continue;
        }
        if let Some(tag) = name.strip_suffix("^{}") {
            peeled.insert(tag.to_string(), head.oid());
        } else if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
            refs.direct.insert(name.to_string(), head.oid());
        }
    }
    if refs.head.is_none() {
        refs.head = connection
            .default_branch()
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_string));
    }
    refs.refs = refs
        .direct
        .iter()
        .map(|(name, oid)| (name.clone(), *peeled.get(name).unwrap_or(oid)))
        .collect();
    Ok(refs)
}

/// A release-like ref name's package prefix and version: a release tag
/// (below), or the same without the `v` (`1.2.0`, `NAME/1.2.0`).
pub fn release_ref(name: &str) -> Option<(&str, Version)> {
    let (prefix, version) = match name.rsplit_once('/') {
        Some((prefix, v)) => (prefix, v),
        None => ("", name),
    };
    let version = Version::parse(version.strip_prefix('v').unwrap_or(version)).ok()?;
    Some((prefix, version))
}

/// A release tag's package prefix (empty for `vX.Y.Z`) and version:
/// `vX.Y.Z` or `PREFIX/vX.Y.Z`; `None` for any other tag.
pub fn release_tag(tag: &str) -> Option<(&str, Version)> {
    let last = tag.rsplit('/').next().unwrap_or(tag);
    last.starts_with('v').then(|| release_ref(tag)).flatten()
}

impl RemoteRefs {
    /// The release tags, newest first. Tags that are not `vX.Y.Z` or
    /// `PREFIX/vX.Y.Z` are not releases.
    pub fn releases(&self) -> Vec<Release> {
        let mut releases: Vec<Release> = self
            .refs
            .iter()
            .filter_map(|(name, oid)| {
                let tag = name.strip_prefix("refs/tags/")?;
                let (prefix, version) = release_tag(tag)?;
                Some(Release {
                    tag: tag.to_string(),
                    prefix: prefix.to_string(),
                    version,
                    commit: *oid,
                })
            })
            .collect();
        releases.sort_by(|a, b| {
            b.version
                .cmp(&a.version)
                .then_with(|| a.prefix.cmp(&b.prefix))
        });
        releases
    }

    fn named(&self, name: &str) -> Option<(String, Oid)> {
        let candidates = if name.starts_with("refs/") {
            vec![name.to_string()]
        } else {
            vec![format!("refs/tags/{name}"), format!("refs/heads/{name}")]
        };
        candidates
            .into_iter()
            .find_map(|full| self.refs.get(&full).map(|oid| (full, *oid)))
    }

    /// Resolves `query` for the package at `path` of repository `url` (the
    /// URL only names things in messages).
    pub fn resolve(&self, query: &RefQuery, path: &str, url: &str) -> Result<Resolved, GitError> {
        match query {
            RefQuery::Default => {
                let head = self.head.clone().ok_or_else(|| GitError::RefNotFound {
                    url: url.to_string(),
                    reference: "HEAD".into(),
                    hint: "; the remote names no default branch, give one with @REF".into(),
                })?;
                let commit = *self.refs.get(&head).ok_or_else(|| GitError::RefNotFound {
                    url: url.to_string(),
                    reference: head.clone(),
                    hint: String::new(),
                })?;
                Ok(Resolved {
                    refname: Some(head),
                    commit,
                    path: None,
                })
            }
            RefQuery::Named(name) => {
                if let Some((refname, commit)) = self.named(name) {
                    return Ok(Resolved {
                        refname: Some(refname),
                        commit,
                        path: None,
                    });
                }
                if let Some(commit) = full_commit_id(name) {
                    return Ok(Resolved {
                        refname: None,
                        commit,
                        path: None,
                    });
                }
                Err(GitError::RefNotFound {
                    url: url.to_string(),
                    reference: name.clone(),
                    hint: self.hint(name),
                })
            }
            RefQuery::Semver(requirement) => {
                let releases = self.releases();
                let base = path.rsplit('/').next().unwrap_or_default();
                let scoped = !base.is_empty() && releases.iter().any(|r| r.prefix == base);
                let wanted = if scoped { base } else { "" };
                let candidates: Vec<&Release> =
                    releases.iter().filter(|r| r.prefix == wanted).collect();
                match candidates.iter().find(|r| requirement.matches(&r.version)) {
                    Some(release) => Ok(Resolved {
                        refname: Some(format!("refs/tags/{}", release.tag)),
                        commit: release.commit,
                        path: None,
                    }),
                    None => {
                        let versions: Vec<String> =
                            candidates.iter().take(8).map(|r| r.tag.clone()).collect();
                        Err(GitError::NoMatchingVersion {
                            url: url.to_string(),
                            requirement: requirement.to_string(),
                            found: if versions.is_empty() {
                                "; it has no vX.Y.Z tags".into()
                            } else {
                                format!("; it has {}", versions.join(", "))
                            },
                        })
                    }
                }
            }
            RefQuery::TreePath(text) => self.split_tree_path(text, url),
        }
    }

    /// Splits `REF/PATH` at the ref that exists; refuses when two splits do.
    fn split_tree_path(&self, text: &str, url: &str) -> Result<Resolved, GitError> {
        let parts: Vec<&str> = text.split('/').collect();
        let mut found = Vec::new();
        for i in 1..=parts.len() {
            let name = parts[..i].join("/");
            let rest = parts[i..].join("/");
            if let Some((refname, commit)) = self.named(&name) {
                found.push((name, refname, commit, rest));
            } else if i == 1
                && let Some(commit) = full_commit_id(&name)
            {
                found.push((name, String::new(), commit, rest));
            }
        }
        match found.len() {
            0 => Err(GitError::RefNotFound {
                url: url.to_string(),
                reference: parts.first().copied().unwrap_or_default().to_string(),
                hint: self.hint(text),
            }),
            1 => {
                let (_, refname, commit, rest) = found.remove(0);
                Ok(Resolved {
                    refname: (!refname.is_empty()).then_some(refname),
                    commit,
                    path: Some(rest),
                })
            }
            _ => Err(GitError::Ambiguous {
                url: url.to_string(),
                text: text.to_string(),
                candidates: found
                    .into_iter()
                    .map(|(name, ..)| format!("`{name}`"))
                    .collect(),
            }),
        }
    }

    fn hint(&self, name: &str) -> String {
        if name.len() >= 4 && name.len() < 40 && name.chars().all(|c| c.is_ascii_hexdigit()) {
            return "; abbreviated commit ids are not supported, give all 40 hex digits".into();
        }
        let mut names: Vec<&str> = self.refs.keys().map(|n| short_ref(n)).collect();
        names.truncate(10);
        if names.is_empty() {
            "; the repository has no branches or tags".into()
        } else {
            format!("; it has {}", names.join(", "))
        }
    }
}

/// A full (40 or 64 hex digit) commit id.
pub fn full_commit_id(text: &str) -> Option<Oid> {
    let hex = (text.len() == 40 || text.len() == 64) && text.chars().all(|c| c.is_ascii_hexdigit());
    if hex { Oid::from_str(text).ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    fn refs() -> RemoteRefs {
        let mut refs = RemoteRefs {
            head: Some("refs/heads/main".into()),
            ..RemoteRefs::default()
        };
        for (name, n) in [
            ("refs/heads/main", 1),
            ("refs/heads/release/v2", 2),
            ("refs/heads/release", 3),
            ("refs/heads/feature/x/y", 4),
            ("refs/tags/v1.0.0", 5),
            ("refs/tags/v1.2.0", 6),
            ("refs/tags/v1.3.0-rc.1", 7),
            ("refs/tags/v2.0.0", 8),
            ("refs/tags/drift/v0.9.0", 9),
            ("refs/tags/not-a-release", 10),
            ("refs/tags/main", 11),
        ] {
            refs.refs.insert(name.into(), oid(n));
        }
        refs
    }

    fn resolve(query: RefQuery, path: &str) -> Result<Resolved, GitError> {
        refs().resolve(&query, path, "u")
    }

    #[test]
    fn named_refs_prefer_tags_like_git() {
        let r = resolve(RefQuery::Named("main".into()), "").unwrap();
        assert_eq!(r.refname.as_deref(), Some("refs/tags/main"));
        let r = resolve(RefQuery::Named("refs/heads/main".into()), "").unwrap();
        assert_eq!(r.commit, oid(1));
        let r = resolve(RefQuery::Default, "").unwrap();
        assert_eq!(r.commit, oid(1));
        let commit = "0303030303030303030303030303030303030303";
        let r = resolve(RefQuery::Named(commit.into()), "").unwrap();
        assert_eq!((r.refname, r.commit), (None, oid(3)));
        let e = resolve(RefQuery::Named("abc1234".into()), "").unwrap_err();
        assert!(e.to_string().contains("40 hex digits"), "{e}");
        let e = resolve(RefQuery::Named("nope".into()), "").unwrap_err();
        assert!(e.to_string().contains("it has"), "{e}");
    }

    #[test]
    fn semver_picks_the_highest_match() {
        let req = |s: &str| RefQuery::Semver(semver::VersionReq::parse(s).unwrap());
        assert_eq!(resolve(req("^1.0"), "").unwrap().commit, oid(6));
        assert_eq!(resolve(req("^1.0"), "apps/x").unwrap().commit, oid(6));
        assert_eq!(resolve(req(">=1"), "").unwrap().commit, oid(8));
        assert_eq!(resolve(req("~1.0"), "").unwrap().commit, oid(5));
        // Package-scoped tags win when the path's last directory has them.
        assert_eq!(resolve(req("^0.9"), "pkgs/drift").unwrap().commit, oid(9));
        let e = resolve(req("^3"), "").unwrap_err().to_string();
        assert!(e.contains("v2.0.0"), "{e}");
        let names: Vec<String> = refs().releases().into_iter().map(|r| r.tag).collect();
        assert_eq!(
            names,
            ["v2.0.0", "v1.3.0-rc.1", "v1.2.0", "v1.0.0", "drift/v0.9.0"]
        );
    }

    #[test]
    fn tree_paths_split_at_an_existing_ref() {
        let r = resolve(RefQuery::TreePath("feature/x/y/pkgs/app".into()), "").unwrap();
        assert_eq!(r.commit, oid(4));
        assert_eq!(r.path.as_deref(), Some("pkgs/app"));
        let r = resolve(RefQuery::TreePath("v1.0.0".into()), "").unwrap();
        assert_eq!(r.path.as_deref(), Some(""));
        let e = resolve(RefQuery::TreePath("release/v2/app".into()), "").unwrap_err();
        assert!(matches!(e, GitError::Ambiguous { .. }), "{e}");
        let e = resolve(RefQuery::TreePath("nope/app".into()), "").unwrap_err();
        assert!(matches!(e, GitError::RefNotFound { .. }), "{e}");
    }
}
