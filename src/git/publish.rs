//! Publishing a package to a git repository: fetch the branch (whole, into
//! a temporary bare repository), replace the package sub-directory with the
//! package's files, commit, create the annotated release tag, and push the
//! branch, then the tag. Refuses a tag that already exists; pushes nothing
//! on `dry_run`.

use std::cell::RefCell;
use std::path::Path;

use git2::{
    AutotagOption, FetchOptions, ObjectType, Oid, PushOptions, Repository, Signature, Tree,
};

use super::GitError;
use super::auth::callbacks;
use super::ref_query::check_ref_name;
use super::refs::list_remote;
use crate::manifest::limits::{MAX_FILE_BYTES, read_file_capped};
use crate::manifest::paths::open_file;
use crate::progress::Progress;
use crate::source_settings::SourceSettings;

/// What to publish where.
#[derive(Debug, Clone)]
pub struct PublishRequest<'a> {
    /// The package root.
    pub root: &'a Path,
    /// The package's files as package paths (`/manifest.json`, ...).
    pub files: &'a [String],
    /// The repository URL.
    pub repo: &'a str,
    /// The sub-directory the package goes to (`""`: the repository root).
    pub path: &'a str,
    /// The branch to commit to.
    pub branch: &'a str,
    /// The release tag to create.
    pub tag: &'a str,
    /// The commit and tag message.
    pub message: &'a str,
    /// Do everything but push.
    pub dry_run: bool,
}

/// What a publish did (or would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PublishOutcome {
    /// The repository URL.
    pub repo: String,
    /// The branch.
    pub branch: String,
    /// The tag.
    pub tag: String,
    /// The commit the tag points at.
    pub commit: String,
    /// The branch's previous tip (`None` for a new branch).
    pub parent: Option<String>,
    /// Whether a new commit was made (`false`: the branch already held
    /// exactly this package there, and the tag points at its tip).
    pub committed: bool,
    /// Files in the package.
    pub files: usize,
    /// Whether anything was pushed.
    pub pushed: bool,
}

/// Publishes per `request`.
pub fn publish(
    settings: &SourceSettings,
    request: &PublishRequest<'_>,
    progress: &dyn Progress,
) -> Result<PublishOutcome, GitError> {
    let url = request.repo;
    check_ref_name(request.branch).map_err(GitError::Publish)?;
    check_ref_name(request.tag).map_err(GitError::Publish)?;
    progress.phase("listing refs", 0);
    let refs = list_remote(url, settings)?;
    let tag_ref = format!("refs/tags/{}", request.tag);
    if let Some(existing) = refs.direct.get(&tag_ref) {
        return Err(GitError::Publish(format!(
            "tag `{}` already exists in `{url}` (at {}); a release is never overwritten, bump `version` in manifest.json",
            request.tag,
            refs.refs.get(&tag_ref).unwrap_or(existing)
        )));
    }
    let branch_ref = format!("refs/heads/{}", request.branch);
    let work = tempfile::Builder::new()
        .prefix(".pkg-publish-")
        .tempdir()
        .map_err(|e| GitError::Publish(format!("cannot create a temporary repository: {e}")))?;
    let repo = Repository::init_bare(work.path())?;
    let parent = match refs.refs.get(&branch_ref) {
        Some(tip) => {
            progress.phase("fetching", 0);
            let mut remote = repo
                .remote_anonymous(url)
                .map_err(|e| GitError::remote(url, &e))?;
            let mut options = FetchOptions::new();
            options
                .remote_callbacks(callbacks(settings, progress))
                .download_tags(AutotagOption::None)
                .update_fetchhead(false);
            let refspec = format!("+{branch_ref}:{branch_ref}");
            remote
                .fetch(&[refspec.as_str()], Some(&mut options), None)
                .map_err(|e| GitError::remote(url, &e))?;
            Some(repo.find_commit(*tip)?)
        }
        None => None,
    };
    let base_tree = parent.as_ref().map(|c| c.tree()).transpose()?;
    let package_tree = package_tree(&repo, request)?;
    let components: Vec<&str> = request.path.split('/').filter(|c| !c.is_empty()).collect();
    let new_tree = replace_at(&repo, base_tree.as_ref(), &components, package_tree)?;
    let signature = signature(&repo)?;
    let (commit, committed) = match (&parent, &base_tree) {
        (Some(p), Some(t)) if t.id() == new_tree => (p.id(), false),
        _ => {
            let tree = repo.find_tree(new_tree)?;
            let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
            let id = repo.commit(
                None,
                &signature,
                &signature,
                request.message,
                &tree,
                &parents,
            )?;
            (id, true)
        }
    };
    repo.reference(&branch_ref, commit, true, "pkg publish")?;
    let target = repo.find_object(commit, Some(ObjectType::Commit))?;
    repo.tag(request.tag, &target, &signature, request.message, false)?;
    let mut outcome = PublishOutcome {
        repo: url.to_string(),
        branch: request.branch.to_string(),
        tag: request.tag.to_string(),
        commit: commit.to_string(),
        parent: parent.as_ref().map(|p| p.id().to_string()),
        committed,
        files: request.files.len(),
        pushed: false,
    };
    if request.dry_run {
        return Ok(outcome);
    }
    progress.phase("pushing", 0);
    // The branch first: if it moved meanwhile the push is refused and no
    // tag points at a commit that is on no branch.
    push(&repo, settings, url, &[&branch_ref], progress)?;
    push(&repo, settings, url, &[&tag_ref], progress)?;
    outcome.pushed = true;
    Ok(outcome)
}

/// Builds the package's tree from its files.
fn package_tree(repo: &Repository, request: &PublishRequest<'_>) -> Result<Oid, GitError> {
    let mut root = Dir::default();
    for loc in request.files {
        let mut path = request.root.to_path_buf();
        path.extend(loc.trim_start_matches('/').split('/'));
        let file = open_file(&path, true)
            .map_err(|e| GitError::Publish(format!("cannot read `{}`: {e}", path.display())))?;
        let bytes = read_file_capped(file, MAX_FILE_BYTES)
            .map_err(|e| GitError::Publish(format!("cannot read `{}`: {e}", path.display())))?;
        let blob = repo.blob(&bytes)?;
        let parts: Vec<&str> = loc.trim_start_matches('/').split('/').collect();
        root.insert(&parts, blob);
    }
    root.write(repo)
}

/// A directory being assembled: file blobs and sub-directories by name.
#[derive(Default)]
struct Dir {
    files: Vec<(String, Oid)>,
    dirs: Vec<(String, Dir)>,
}

impl Dir {
    fn insert(&mut self, parts: &[&str], blob: Oid) {
        match parts {
            [] => {}
            [name] => self.files.push((name.to_string(), blob)),
            [name, rest @ ..] => {
                let index = match self.dirs.iter().position(|(n, _)| n == name) {
                    Some(i) => i,
                    None => {
                        self.dirs.push((name.to_string(), Dir::default()));
                        self.dirs.len() - 1
                    }
                };
                self.dirs[index].1.insert(rest, blob);
            }
        }
    }

    fn write(&self, repo: &Repository) -> Result<Oid, GitError> {
        let mut builder = repo.treebuilder(None)?;
        for (name, blob) in &self.files {
            builder.insert(name, *blob, 0o100644)?;
        }
        for (name, dir) in &self.dirs {
            builder.insert(name, dir.write(repo)?, 0o040000)?;
        }
        Ok(builder.write()?)
    }
}

/// `base` with the entry at `components` replaced by tree `new`.
fn replace_at(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    components: &[&str],
    new: Oid,
) -> Result<Oid, GitError> {
    let Some((first, rest)) = components.split_first() else {
        return Ok(new);
    };
    let child = match base.and_then(|t| t.get_name(first)) {
        Some(entry) if entry.kind() == Some(ObjectType::Tree) => Some(repo.find_tree(entry.id())?),
        _ => None,
    };
    let replaced = replace_at(repo, child.as_ref(), rest, new)?;
    let mut builder = repo.treebuilder(base)?;
    builder.insert(first, replaced, 0o040000)?;
    Ok(builder.write()?)
}

/// The author: `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`, else git's config,
/// else `pkg <pkg@localhost>`.
fn signature(repo: &Repository) -> Result<Signature<'static>, GitError> {
    let name = std::env::var("GIT_AUTHOR_NAME")
        .ok()
        .filter(|v| !v.is_empty());
    let email = std::env::var("GIT_AUTHOR_EMAIL")
        .ok()
        .filter(|v| !v.is_empty());
    if let (Some(name), Some(email)) = (&name, &email) {
        return Ok(Signature::now(name, email)?);
    }
    if let Ok(signature) = repo.signature() {
        return Ok(signature);
    }
    Ok(Signature::now(
        name.as_deref().unwrap_or("pkg"),
        email.as_deref().unwrap_or("pkg@localhost"),
    )?)
}

/// Pushes `refs` (same names on both sides); any rejected ref is an error.
fn push(
    repo: &Repository,
    settings: &SourceSettings,
    url: &str,
    refs: &[&str],
    progress: &dyn Progress,
) -> Result<(), GitError> {
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(|e| GitError::remote(url, &e))?;
    let rejected = RefCell::new(Vec::new());
    let mut cbs = callbacks(settings, progress);
    cbs.push_update_reference(|name, status| {
        if let Some(status) = status {
            rejected.borrow_mut().push(format!("{name}: {status}"));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(cbs);
    let specs: Vec<String> = refs.iter().map(|r| format!("{r}:{r}")).collect();
    remote
        .push(&specs, Some(&mut options))
        .map_err(|e| GitError::remote(url, &e))?;
    let rejected = rejected.borrow().clone();
    if !rejected.is_empty() {
        return Err(GitError::Publish(format!(
            "`{url}` refused the push ({}); if the branch moved meanwhile, run publish again",
            rejected.join("; ")
        )));
    }
    Ok(())
}
