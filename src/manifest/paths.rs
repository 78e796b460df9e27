//! Package paths: the `*_loc` values of a manifest and the keys of its
//! digests. A path must start with `/`, name a file inside the package root
//! and never leave it: no `..`, no `.`, no empty, drive-letter or backslash
//! components, and no symlink that resolves outside the root.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::model::slug::escape;

/// The longest package path accepted.
pub const MAX_PATH_LEN: usize = 1024;

/// Checks the syntax of a package path and returns its components.
pub fn check_syntax(loc: &str) -> Result<Vec<&str>, String> {
    let Some(rest) = loc.strip_prefix('/') else {
        return Err(format!(
            "`{}` must start with `/` (paths are relative to the package root)",
            escape(loc)
        ));
    };
    if loc.len() > MAX_PATH_LEN {
        return Err(format!(
            "path is {} bytes long; the limit is {MAX_PATH_LEN}",
            loc.len()
        ));
    }
    if rest.is_empty() {
        return Err("`/` names the package root, not a file".into());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    for part in &parts {
        let bad = match *part {
            "" => Some("has an empty component (`//` or a trailing `/`)"),
            "." | ".." => Some("has a `.` or `..` component and could leave the package"),
            p if p.contains('\\') => Some("contains a backslash"),
            p if p.contains(':') => Some("contains `:` (a drive letter or stream name)"),
            p if p.chars().any(char::is_control) => Some("contains a control character"),
            p if p.len() > 255 => Some("has a component longer than 255 bytes"),
            _ => None,
        };
        if let Some(why) = bad {
            return Err(format!("`{}` {why}", escape(loc)));
        }
    }
    Ok(parts)
}

/// Resolves `loc` under the canonical package `root` and checks that the
/// result is a regular file inside the root (symlinks are followed but may not
/// lead out).
pub fn resolve(root: &Path, loc: &str) -> Result<PathBuf, String> {
    Resolver::new(root).resolve(loc)
}

/// Resolves many package paths under one root, remembering which
/// directories are plain (no symlink between them and the root) so that each
/// file costs one `lstat` unless a symlink is involved.
#[derive(Debug)]
pub struct Resolver {
    root: PathBuf,
    plain_dirs: Mutex<HashMap<String, bool>>,
}

impl Resolver {
    /// A resolver for the canonical package `root`.
    pub fn new(root: &Path) -> Resolver {
        Resolver {
            root: root.to_path_buf(),
            plain_dirs: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the directory `root/parts...` (package path `parent`) is a real
    /// directory reached without any symlink. Cached per directory.
    fn is_plain_dir(&self, parent: &str, parts: &[&str]) -> bool {
        if parts.is_empty() {
            return true;
        }
        if let Some(known) = self
            .plain_dirs
            .lock()
            .ok()
            .and_then(|m| m.get(parent).copied())
        {
            return known;
        }
        let mut path = self.root.clone();
        let mut plain = true;
        for part in parts {
            path.push(part);
            if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_dir()) {
                plain = false;
                break;
            }
        }
        if let Ok(mut map) = self.plain_dirs.lock() {
            map.insert(parent.to_string(), plain);
        }
        plain
    }

    /// Resolves `loc` (see [`resolve`]).
    pub fn resolve(&self, loc: &str) -> Result<PathBuf, String> {
        let parts = check_syntax(loc)?;
        let mut path = self.root.clone();
        path.extend(&parts);
        let meta = std::fs::symlink_metadata(&path).map_err(not_found)?;
        let parent = &loc[..loc.rfind('/').unwrap_or(0)];
        if meta.file_type().is_file() && self.is_plain_dir(parent, &parts[..parts.len() - 1]) {
            return Ok(path);
        }
        follow(&self.root, &path)
    }

    /// The regular file `loc` names and its metadata, when it is reached
    /// without any symlink (one `lstat` per file once its directory is
    /// known); `None` for anything else.
    pub fn plain_file(&self, loc: &str) -> Option<(PathBuf, std::fs::Metadata)> {
        let parts = check_syntax(loc).ok()?;
        let mut path = self.root.clone();
        path.extend(&parts);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let parent = &loc[..loc.rfind('/').unwrap_or(0)];
        (meta.file_type().is_file() && self.is_plain_dir(parent, &parts[..parts.len() - 1]))
            .then_some((path, meta))
    }

    /// Opens the regular file `loc` names, with the checks of [`resolve`]:
    /// one `open` and one `fstat` per file when no symlink is involved, and
    /// never blocking on a FIFO.
    pub fn open(&self, loc: &str) -> Result<std::fs::File, String> {
        let parts = check_syntax(loc)?;
        let mut path = self.root.clone();
        path.extend(&parts);
        let parent = &loc[..loc.rfind('/').unwrap_or(0)];
        if self.is_plain_dir(parent, &parts[..parts.len() - 1]) {
            match open_file(&path, true) {
                Ok(file) => return regular(file),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found(e)),
                // A symlink (ELOOP under O_NOFOLLOW): take the slow path.
                Err(e) if e.raw_os_error() == Some(ELOOP) => {}
                Err(e) => return Err(format!("cannot read: {e}")),
            }
        }
        std::fs::symlink_metadata(&path).map_err(not_found)?;
        let real = follow(&self.root, &path)?;
        regular(open_file(&real, false).map_err(|e| format!("cannot read: {e}"))?)
    }
}

#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

/// Opens `path` for reading without blocking on a FIFO and, with
/// `no_follow`, refusing a symlink in the last component.
pub fn open_file(path: &Path, no_follow: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        const O_NOFOLLOW: i32 = 0o400_000;
        options.custom_flags(O_NONBLOCK | if no_follow { O_NOFOLLOW } else { 0 });
    }
    #[cfg(not(target_os = "linux"))]
    if no_follow && std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(std::io::Error::from_raw_os_error(ELOOP));
    }
    options.open(path)
}

fn regular(file: std::fs::File) -> Result<std::fs::File, String> {
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if meta.is_file() {
        Ok(file)
    } else {
        Err("is not a regular file".into())
    }
}

fn not_found(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "file does not exist".to_string()
    } else {
        format!("cannot read: {e}")
    }
}

/// The slow path: follows symlinks and checks where they lead.
fn follow(root: &Path, path: &Path) -> Result<PathBuf, String> {
    let real = std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "is a symlink to a file that does not exist".to_string(),
        _ => format!("cannot resolve: {e}"),
    })?;
    if !is_within(root, &real) {
        return Err("points through a symlink out of the package".into());
    }
    let meta = std::fs::metadata(&real).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    Ok(real)
}

/// Whether `path` lies inside `root`, comparing whole components (so that
/// `/pkgs-evil/x` is not inside `/pkgs`).
pub fn is_within(root: &Path, path: &Path) -> bool {
    path.starts_with(root)
        && !path
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_rules() {
        assert_eq!(
            check_syntax("/units/a/b.json"),
            Ok(vec!["units", "a", "b.json"])
        );
        for bad in [
            "units/a.json",
            "/",
            "/units//a.json",
            "/units/../x",
            "/./x",
            "/units/a\\b",
            "/C:/x",
            "/units/a\nb",
            "/x/",
        ] {
            assert!(check_syntax(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn within_compares_components() {
        assert!(is_within(Path::new("/p/pkgs"), Path::new("/p/pkgs/x")));
        assert!(!is_within(
            Path::new("/p/pkgs"),
            Path::new("/p/pkgs-evil/x")
        ));
    }

    #[test]
    fn resolve_refuses_symlinks_out_of_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pkg");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).unwrap();
        std::fs::write(root.join("ok"), "y").unwrap();
        std::os::unix::fs::symlink("ok", root.join("inner")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        assert!(
            resolve(&root, "/link")
                .unwrap_err()
                .contains("out of the package")
        );
        assert!(resolve(&root, "/ok").is_ok());
        assert!(resolve(&root, "/inner").is_ok());
        assert_eq!(
            resolve(&root, "/missing").unwrap_err(),
            "file does not exist"
        );
    }
}
