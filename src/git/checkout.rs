//! Writes one directory of a cached commit into a fresh temporary tree:
//! only that directory's blobs are read, symlinks and submodules are refused
//! (a checkout never creates a link that could point at a secret), and the
//! [`TreeWriter`] limits apply.

use std::path::Path;

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::GitError;
use crate::safe_tree::TreeWriter;

/// Writes directory `path` (`""` for the root) of `commit` with `writer`
/// and returns the finished temporary tree.
pub fn write_subtree(
    repo: &Repository,
    url: &str,
    commit: Oid,
    path: &str,
    mut writer: TreeWriter,
) -> Result<tempfile::TempDir, GitError> {
    let bad_path = |reason: String| GitError::BadPath {
        url: url.to_string(),
        commit: commit.to_string(),
        path: path.to_string(),
        reason,
    };
    let root = repo.find_commit(commit)?.tree()?;
    let tree = if path.is_empty() {
        root
    } else {
        let entry = root
            .get_path(Path::new(path))
            .map_err(|_| bad_path(format!("no such directory{}", directories_hint(&root))))?;
        if entry.kind() != Some(ObjectType::Tree) {
            return Err(bad_path("it is not a directory".into()));
        }
        repo.find_tree(entry.id())?
    };
    let odb = repo.odb()?;
    let mut failure: Option<GitError> = None;
    let forbidden = |name: String, what: &str| GitError::Forbidden {
        url: url.to_string(),
        path: name,
        what: what.to_string(),
    };
    tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        let Ok(name) = entry.name() else {
            failure = Some(forbidden(
                format!("{parent}{}", String::from_utf8_lossy(entry.name_bytes())),
                "named with bytes that are not UTF-8",
            ));
            return TreeWalkResult::Abort;
        };
        let rel = format!("{parent}{name}");
        let result = match entry.filemode() {
            0o040000 => writer.add_dir(&rel).map_err(GitError::from),
            0o100644 | 0o100755 | 0o100664 => add_blob(&odb, &mut writer, &rel, entry.id()),
            0o120000 => Err(forbidden(rel, "a symbolic link")),
            0o160000 => Err(forbidden(rel, "a submodule")),
            mode => Err(forbidden(rel, &format!("an entry of mode {mode:o}"))),
        };
        match result {
            Ok(()) => TreeWalkResult::Ok,
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    })
    .or_else(|e| if failure.is_some() { Ok(()) } else { Err(e) })?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(writer.finish())
}

fn add_blob(
    odb: &git2::Odb<'_>,
    writer: &mut TreeWriter,
    rel: &str,
    id: Oid,
) -> Result<(), GitError> {
    let (size, _) = odb.read_header(id)?;
    writer.check_declared(rel, size as u64)?;
    let object = odb.read(id)?;
    let mut bytes: &[u8] = object.data();
    writer.add_file(rel, &mut bytes)?;
    Ok(())
}

fn directories_hint(tree: &git2::Tree<'_>) -> String {
    let dirs: Vec<String> = tree
        .iter()
        .filter(|e| e.kind() == Some(ObjectType::Tree))
        .filter_map(|e| e.name().ok().map(str::to_string))
        .take(10)
        .collect();
    if dirs.is_empty() {
        String::new()
    } else {
        format!("; top-level directories: {}", dirs.join(", "))
    }
}
