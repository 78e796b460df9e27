//! Where a package is written: the destination must be absent or empty (or
//! replaced with `--force`); the package is built in a temporary directory
//! beside it and renamed into place ([`Staged`]), and leftovers of killed
//! runs are removed.

use std::path::{Path, PathBuf};

use crate::package::error::PackageError;

/// Removes the temporary directory unless the package was moved into place.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn check_destination(dir: &Path, force: bool) -> Result<(), PackageError> {
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

/// A package being written: a temporary directory beside its destination,
/// renamed into place by [`Staged::finish`] and removed when dropped
/// unfinished.
pub struct Staged {
    temp: TempDir,
    dir: PathBuf,
    force: bool,
}

impl Staged {
    /// Checks `dir` (absent, empty, or replaced with `force`) and creates
    /// the temporary directory beside it.
    pub fn start(dir: &Path, force: bool) -> Result<Staged, PackageError> {
        check_destination(dir, force)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .filter(|n| n != "." && n != "..")
            .ok_or_else(|| {
                PackageError::Other(format!(
                    "`{}` does not name a directory to create",
                    dir.display()
                ))
            })?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .map_err(|e| PackageError::io("cannot create directory", &parent, e))?;
        remove_stale_temps(&parent, &name);
        let random = uuid::Uuid::new_v4().simple().to_string();
        let temp = TempDir {
            path: parent.join(format!(
                ".{name}.pkg-tmp-{}-{}",
                std::process::id(),
                &random[..8]
            )),
            keep: false,
        };
        std::fs::create_dir(&temp.path)
            .map_err(|e| PackageError::io("cannot create directory", &temp.path, e))?;
        Ok(Staged {
            temp,
            dir: dir.to_path_buf(),
            force,
        })
    }

    /// The temporary directory to write into.
    pub fn path(&self) -> &Path {
        &self.temp.path
    }

    /// Moves the finished package into place.
    pub fn finish(mut self) -> Result<(), PackageError> {
        move_into_place(&self.temp.path, &self.dir, self.force)?;
        self.temp.keep = true;
        Ok(())
    }
}

/// Removes leftovers of earlier `create` runs into the same destination that
/// were killed before they finished (their process is gone).
fn remove_stale_temps(parent: &Path, name: &str) {
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
fn move_into_place(temp: &Path, dir: &Path, force: bool) -> Result<(), PackageError> {
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
