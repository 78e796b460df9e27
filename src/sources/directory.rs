//! A directory source: each sub-directory holding manifest.json, and each
//! package archive (`.tar.gz`, `.tgz`, `.zip`), is one package version.
//! Every package is read and checked (digests verified) to be indexed; one
//! that is not a valid package with a name and a semver version is left
//! out with a warning. What each path gave is remembered in the cache
//! directory with the path's stamp, so an unchanged package is not read
//! again.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cache::{StoredEntry, write_stored};
use super::{IndexEntry, Source, SourceIndex};
use crate::loaders::archive::{self, ArchiveFormat};
use crate::manifest::MANIFEST_FILE;
use crate::package::read::{Package, read_memory_package, read_package};
use crate::progress::NoProgress;
use crate::safe_tree::Limits;

/// Reads the package at `path` (a directory or an archive), if it is one.
fn read(path: &Path) -> Result<Option<Package>, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if path.is_dir() {
        if !path.join(MANIFEST_FILE).is_file() {
            return Ok(None);
        }
        return read_package(path, &NoProgress)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let Some(format) = ArchiveFormat::from_name(&name) else {
        return Ok(None);
    };
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let files = archive::extract_to_memory(&bytes, format, Limits::default(), path)
        .map_err(|e| crate::error_text::with_causes(&e))?;
    read_memory_package(files, path, &NoProgress, false)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// A package path as last read: its stamp and what it gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    path: String,
    stamp: [u64; 4],
    entry: Option<StoredEntry>,
    warning: Option<String>,
}

/// The remembered reads of a directory source.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Remembered {
    location: String,
    seen: Vec<Seen>,
}

/// What identifies the state of a package path without reading it: for a
/// directory, its manifest.json's modification time, size and inode; for
/// an archive, the file's. One `stat` each.
fn stamp(path: &Path, is_dir: bool) -> Option<[u64; 4]> {
    use std::os::unix::fs::MetadataExt;
    let meta = if is_dir {
        std::fs::symlink_metadata(path.join(MANIFEST_FILE)).ok()?
    } else {
        std::fs::symlink_metadata(path).ok()?
    };
    let time = u64::try_from(meta.mtime()).unwrap_or(0) * 1_000_000_000
        + u64::try_from(meta.mtime_nsec()).unwrap_or(0);
    Some([time, meta.size(), meta.ino(), u64::from(is_dir)])
}

fn remembered_path(cache_dir: &Path, source: &Source) -> std::path::PathBuf {
    let mut file = super::cache::path_for(cache_dir, source);
    file.set_file_name(format!(
        "dir-{}",
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    file
}

/// The index of the directory source `source`. A package whose stamp is
/// what it was at the last read (remembered under `cache_dir`) is not read
/// again (with `refresh`, every package is); a load still checks its
/// digest, so content changed without its manifest or directory changing
/// is refused then, not loaded.
pub fn index(source: &Source, cache_dir: &Path, refresh: bool) -> Result<SourceIndex, String> {
    let dir = Path::new(&source.location);
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
    let mut paths: Vec<(std::path::PathBuf, bool)> = entries
        .flatten()
        .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
        .collect();
    paths.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    let file = remembered_path(cache_dir, source);
    let before: Remembered = std::fs::read(&file)
        .ok()
        .and_then(|b| postcard::from_bytes(&b).ok())
        .filter(|r: &Remembered| !refresh && r.location == source.location)
        .unwrap_or_default();
    let mut before: std::collections::HashMap<String, Seen> = before
        .seen
        .into_iter()
        .map(|s| (s.path.clone(), s))
        .collect();
    let mut now = Remembered {
        location: source.location.clone(),
        seen: Vec::new(),
    };
    let mut out = SourceIndex::default();
    let mut changed = false;
    for (path, is_dir) in paths {
        let text = path.to_string_lossy().into_owned();
        let stamp = stamp(&path, is_dir);
        let remembered = before
            .remove(&text)
            .filter(|seen| Some(seen.stamp) == stamp);
        let seen = match remembered {
            Some(seen) => seen,
            None => {
                changed = true;
                let (entry, warning) = match index_one(source, &path) {
                    Ok(Some(entry)) => (Some(StoredEntry::of(&entry)), None),
                    Ok(None) => (None, None),
                    Err(w) => (None, Some(w)),
                };
                Seen {
                    path: text,
                    stamp: stamp.unwrap_or_default(),
                    entry,
                    warning,
                }
            }
        };
        if let Some(w) = &seen.warning {
            out.warnings.push(w.clone());
        }
        if let Some(entry) = seen
            .entry
            .as_ref()
            .and_then(|e| e.clone().entry(&source.name))
        {
            out.entries.push(entry);
        }
        if stamp.is_some() {
            now.seen.push(seen);
        }
    }
    // Rewritten only when a package changed, appeared or went away.
    if changed || !before.is_empty() {
        write_stored(&file, &now);
    }
    Ok(out)
}

/// Reads one package path: its entry, `None` when it is no package, or
/// why it is left out.
fn index_one(source: &Source, path: &Path) -> Result<Option<IndexEntry>, String> {
    let shown = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let package = match read(path) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("`{shown}` is left out: {e}")),
    };
    let manifest = &package.manifest;
    let (Some(name), Some(version)) = (&manifest.name, &manifest.version) else {
        return Err(format!(
            "`{shown}` is left out: its manifest has no `name` and `version`"
        ));
    };
    let Ok(version) = semver::Version::parse(version) else {
        return Err(format!(
            "`{shown}` is left out: version `{version}` is not semver (MAJOR.MINOR.PATCH)"
        ));
    };
    Ok(Some(IndexEntry {
        source: source.name.clone(),
        name: name.clone(),
        version,
        min_level: manifest.min_level.unwrap_or(1),
        dependencies: manifest.dependencies.clone(),
        digest: package.digest.clone(),
        description: manifest.description.clone().unwrap_or_default(),
        locator: path.to_string_lossy().into_owned(),
    }))
}
