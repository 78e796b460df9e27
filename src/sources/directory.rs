//! A directory source: each sub-directory holding manifest.json, and each
//! package archive (`.tar.gz`, `.tgz`, `.zip`), is one package version.
//! Every package is read and checked (digests verified) to be indexed; one
//! that is not a valid package with a name and a semver version is left
//! out with a warning. What each path gave is remembered in the cache
//! directory with the path's stamp, so an unchanged package is not read
//! again.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cache::{StoredEntry, take_wanted, write_stored};
use super::{IndexEntry, Source, SourceIndex, Wanted};
use crate::loaders::archive::{self, ArchiveFormat};
use crate::manifest::MANIFEST_FILE;
use crate::package::parallel::parallel_map;
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

/// A package path as last read: its stamp and what it gave (borrowed from
/// the remembered file's bytes, or from a package read just now).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen<'a> {
    path: &'a str,
    stamp: [u64; 4],
    #[serde(borrow)]
    entry: Option<StoredEntry<'a>>,
    warning: Option<&'a str>,
}

/// The remembered reads of a directory source.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Remembered<'a> {
    location: &'a str,
    #[serde(borrow)]
    seen: Vec<Seen<'a>>,
}

/// A package path read just now.
struct Read {
    path: String,
    stamp: Option<[u64; 4]>,
    entry: Option<IndexEntry>,
    warning: Option<String>,
}

impl Read {
    fn seen(&self) -> Option<Seen<'_>> {
        Some(Seen {
            path: &self.path,
            stamp: self.stamp?,
            entry: self.entry.as_ref().map(StoredEntry::of),
            warning: self.warning.as_deref(),
        })
    }
}

/// Each package path of a directory, as remembered or as read just now.
enum PathState<'a> {
    Remembered(Seen<'a>),
    Read(Read),
}

/// What identifies the state of a package path without reading it: for a
/// directory, its manifest.json's modification time, size and inode; for
/// an archive, the file's. One `stat` each, relative to the source
/// directory `dir` (a short path walk: a warm index stats thousands).
fn stamp(dir: &std::fs::File, name: &std::ffi::OsStr, is_dir: bool) -> Option<[u64; 4]> {
    use rustix::fs::{AtFlags, statat};
    let stat = if is_dir {
        statat(
            dir,
            Path::new(name).join(MANIFEST_FILE),
            AtFlags::SYMLINK_NOFOLLOW,
        )
    } else {
        statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
    }
    .ok()?;
    #[allow(clippy::useless_conversion)] // the field types differ per target
    let (secs, nanos, size, inode) = (
        u64::try_from(stat.st_mtime).unwrap_or(0),
        u64::try_from(stat.st_mtime_nsec).unwrap_or(0),
        u64::try_from(stat.st_size).unwrap_or(0),
        u64::try_from(stat.st_ino).unwrap_or(0),
    );
    Some([secs * 1_000_000_000 + nanos, size, inode, u64::from(is_dir)])
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

/// The index of the directory source `source` (its entries `wanted`). A
/// package whose stamp is what it was at the last read (remembered under
/// `cache_dir`) is not read again (with `refresh`, every package is); a
/// load still checks its digest, so content changed without its manifest
/// or directory changing is refused then, not loaded.
pub fn index(
    source: &Source,
    cache_dir: &Path,
    refresh: bool,
    wanted: &Wanted,
) -> Result<SourceIndex, String> {
    let dir = Path::new(&source.location);
    let cannot = |e: std::io::Error| format!("cannot read the directory {}: {e}", dir.display());
    let entries = std::fs::read_dir(dir).map_err(cannot)?;
    let handle = std::fs::File::open(dir).map_err(cannot)?;
    let mut paths: Vec<(std::path::PathBuf, bool)> = entries
        .flatten()
        .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
        .collect();
    paths.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    let file = remembered_path(cache_dir, source);
    let bytes = if refresh {
        Vec::new()
    } else {
        std::fs::read(&file).unwrap_or_default()
    };
    let before: Remembered = postcard::from_bytes(&bytes)
        .ok()
        .filter(|r: &Remembered| r.location == source.location)
        .unwrap_or_default();
    let mut before: std::collections::HashMap<&str, Seen> =
        before.seen.into_iter().map(|s| (s.path, s)).collect();
    let mut states = Vec::with_capacity(paths.len());
    let mut changed = false;
    // Thousands of stats: on every core.
    let stamps = parallel_map(&paths, |(path, is_dir)| {
        path.file_name()
            .and_then(|name| stamp(&handle, name, *is_dir))
    });
    for ((path, _), stamp) in paths.into_iter().zip(stamps) {
        let text = path.to_string_lossy();
        let remembered = before
            .remove(text.as_ref())
            .filter(|seen| Some(seen.stamp) == stamp);
        states.push(match remembered {
            Some(seen) => PathState::Remembered(seen),
            None => {
                changed = true;
                let (entry, warning) = match index_one(source, &path) {
                    Ok(entry) => (entry, None),
                    Err(w) => (None, Some(w)),
                };
                PathState::Read(Read {
                    path: text.into_owned(),
                    stamp,
                    entry,
                    warning,
                })
            }
        });
    }
    // Rewritten only when a package changed, appeared or went away.
    if changed || !before.is_empty() {
        let now = Remembered {
            location: &source.location,
            seen: states
                .iter()
                .filter_map(|state| match state {
                    PathState::Remembered(seen) => Some(seen.clone()),
                    PathState::Read(read) => read.seen(),
                })
                .collect(),
        };
        write_stored(&file, &now);
    }
    let mut out = SourceIndex::default();
    for state in states {
        match state {
            PathState::Remembered(seen) => {
                out.warnings.extend(seen.warning.map(str::to_string));
                take_wanted(seen.entry.as_ref(), &source.name, wanted, &mut out);
            }
            PathState::Read(read) => {
                out.warnings.extend(read.warning);
                match read.entry {
                    Some(e) if wanted.accepts(&e.name, &e.description) => out.entries.push(e),
                    Some(_) => out.unwanted += 1,
                    None => {}
                }
            }
        }
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
