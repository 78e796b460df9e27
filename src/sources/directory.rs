//! A directory source: each sub-directory holding manifest.json, and each
//! package archive (`.tar.gz`, `.tgz`, `.zip`), is one package version.
//! Every package is read and checked (digests verified) to be indexed; one
//! that is not a valid package with a name and a semver version is left
//! out with a warning.

use std::path::Path;

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

/// The index of the directory source `source`.
pub fn index(source: &Source) -> Result<SourceIndex, String> {
    let dir = Path::new(&source.location);
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    let mut out = SourceIndex::default();
    for path in paths {
        let shown = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let package = match read(&path) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                out.warnings.push(format!("`{shown}` is left out: {e}"));
                continue;
            }
        };
        let manifest = &package.manifest;
        let (Some(name), Some(version)) = (&manifest.name, &manifest.version) else {
            out.warnings.push(format!(
                "`{shown}` is left out: its manifest has no `name` and `version`"
            ));
            continue;
        };
        let Ok(version) = semver::Version::parse(version) else {
            out.warnings.push(format!(
                "`{shown}` is left out: version `{version}` is not semver (MAJOR.MINOR.PATCH)"
            ));
            continue;
        };
        out.entries.push(IndexEntry {
            source: source.name.clone(),
            name: name.clone(),
            version,
            min_level: manifest.min_level.unwrap_or(1),
            dependencies: manifest.dependencies.clone(),
            digest: package.digest.clone(),
            description: manifest.description.clone().unwrap_or_default(),
            locator: path.to_string_lossy().into_owned(),
        });
    }
    Ok(out)
}
