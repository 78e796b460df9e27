//! Where a package is written: the destination must be absent or empty (or
//! replaced with `--force`); the package is built in a temporary directory
//! beside it and renamed into place, and leftovers of killed runs are removed.

use std::path::{Path, PathBuf};

use crate::package::error::PackageError;

/// Removes the temporary directory unless the package was moved into place.
pub(super) struct TempDir {
    pub(super) path: PathBuf,
    pub(super) keep: bool,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

pub(super) fn check_destination(dir: &Path, force: bool) -> Result<(), PackageError> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(PackageError::io("cannot inspect", dir, e)),
        Ok(meta) if !meta.is_dir() => Err(PackageError::Other(format!(
            "`{}` exists and is not a directory",
            dir.display()
        ))),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(dir).map_err(|e| PackageError::io("cannot read", dir, e))?;
            if entries.next().is_some() && !force {
                return Err(PackageError::NotEmpty(dir.to_path_buf()));
            }
            Ok(())
        }
    }
}

/// Removes leftovers of earlier `create` runs into the same destination that
/// were killed before they finished (their process is gone).
pub(super) fn remove_stale_temps(parent: &Path, name: &str) {
    let prefix = format!(".{name}.pkg-tmp-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Renames the finished temporary directory to `dir`, replacing an empty or
/// (when forced) existing directory.
pub(super) fn move_into_place(temp: &Path, dir: &Path, force: bool) -> Result<(), PackageError> {
    match std::fs::rename(temp, dir) {
        Ok(()) => return Ok(()),
        // Another process filled `dir` since it was checked.
        Err(_) if !force => return Err(PackageError::NotEmpty(dir.to_path_buf())),
        Err(_) => {}
    }
    // `dir` exists and is not empty, and --force replaces it.
    let old = dir.with_file_name(format!(
        ".{}.pkg-old-{}",
        dir.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::rename(dir, &old).map_err(|e| PackageError::io("cannot move aside", dir, e))?;
    if let Err(e) = std::fs::rename(temp, dir) {
        let _ = std::fs::rename(&old, dir);
        return Err(PackageError::io("cannot move package into", dir, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
