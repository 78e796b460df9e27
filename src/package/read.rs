//! Reading a package directory and checking all of it before anything is
//! written: the manifest, every file it names (inside the root, present,
//! within size limits, matching its digest), every details file (UTF-8 JSON
//! object), every unit data file (any bytes), and references inside the package.
//! Every problem is collected; files no entry names are listed, never read.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::details_check::details_shape;
use super::error::{PackageError, Report};
use super::parallel::parallel_map;
use crate::manifest::environment::parse_environments;
use crate::manifest::limits::{
    MAX_FILE_BYTES, MAX_MANIFEST_BYTES, MAX_TABLE_FILE_BYTES, read_capped, read_file_capped,
};
use crate::manifest::parse::parse_manifest_owned;
use crate::manifest::paths::Resolver;
use crate::manifest::types::Digests;
use crate::manifest::{Entry, MANIFEST_FILE, Manifest, Problem};
use crate::model::fingerprint::{RawDigest, digest_text, sha256, sha256_digest};
use crate::model::toolchain::check_unit_toolchain;
use crate::model::{Details, ResourceKey, ResourceKind};
use crate::progress::Progress;
use crate::safe_tree::MemoryTree;

pub use super::checked::{Item, OutsideRef, Package, PackageFiles, canonical_details};
use super::checked::{memory_file, unlisted_files};

/// Where validation reads a package's files from.
enum FileReader<'a> {
    Dir(Resolver),
    Memory(&'a MemoryTree),
}

impl FileReader<'_> {
    /// The digest of `loc` (at most `cap` bytes), hashed as it streams.
    fn digest(&self, loc: &str, cap: u64) -> Result<RawDigest, String> {
        match self {
            FileReader::Dir(resolver) => {
                use sha2::Digest as _;
                use std::io::Read as _;
                let file = resolver.open(loc)?;
                let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
                if !meta.is_file() {
                    return Err("is not a regular file".into());
                }
                if meta.len() > cap {
                    return Err(format!("is {} bytes; the limit is {cap}", meta.len()));
                }
                let mut hash = sha2::Sha256::new();
                let mut reader = file.take(cap + 1);
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = reader
                        .read(&mut buf)
                        .map_err(|e| format!("cannot read: {e}"))?;
                    if n == 0 {
                        break;
                    }
                    hash.update(&buf[..n]);
                }
                Ok(hash.finalize().into())
            }
            FileReader::Memory(tree) => memory_file(tree, loc).map(sha256),
        }
    }

    fn read(&self, loc: &str) -> Result<Cow<'_, [u8]>, String> {
        match self {
            FileReader::Dir(resolver) => resolver
                .open(loc)
                .and_then(|f| read_file_capped(f, MAX_FILE_BYTES))
                .map(Cow::Owned),
            FileReader::Memory(tree) => memory_file(tree, loc).map(Cow::Borrowed),
        }
    }
}

/// What checking one entry's files produced.
struct Checked {
    details_digest: Option<RawDigest>,
    data_digest: Option<RawDigest>,
    problems: Vec<Problem>,
}

/// Opens, reads and (when the manifest has digests) verifies one file.
/// Returns its bytes and their digest.
fn check_file<'a>(
    root: &'a FileReader<'_>,
    manifest: &Manifest,
    loc: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Cow<'a, [u8]>, RawDigest)> {
    let bytes = match root.read(loc) {
        Ok(bytes) => bytes,
        Err(e) => {
            problems.push(Problem::new(loc, "", e));
            return None;
        }
    };
    let raw = sha256(&bytes);
    if let Some(digests) = &manifest.digests {
        match digests.get(loc) {
            None => problems.push(Problem::new(
                loc,
                "",
                "has no digest in manifest.json `digests`",
            )),
            Some(expected) if *expected != raw => {
                problems.push(Problem::new(
                    loc,
                    "",
                    format!(
                        "digest mismatch: manifest says {}, file has {}",
                        digest_text(expected),
                        digest_text(&raw)
                    ),
                ));
                return None;
            }
            Some(_) => {}
        }
    }
    Some((bytes, raw))
}

/// Where a database package's table data lives (large files, streamed).
const TABLES_PREFIX: &str = "/tables/";

/// Verifies `loc` against its digest without holding it (a table's data).
fn check_streamed(
    root: &FileReader<'_>,
    digests: &Digests,
    loc: &str,
    problems: &mut Vec<Problem>,
) {
    let raw = match root.digest(loc, MAX_TABLE_FILE_BYTES) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(Problem::new(loc, "", e));
            return;
        }
    };
    if let Some(expected) = digests.get(loc)
        && *expected != raw
    {
        problems.push(Problem::new(
            loc,
            "",
            format!(
                "digest mismatch: manifest says {}, file has {}",
                digest_text(expected),
                digest_text(&raw)
            ),
        ));
    }
}

/// Checks that `bytes` are details a load can store, with the very parse
/// the load does (so `validate` and `diff` report what `load` would hit, in
/// the same words): UTF-8, a JSON object within serde_json's limits (numbers
/// in range, nesting at most 128 deep), and for a unit a safe `ToolchainType`.
fn check_details(bytes: &[u8], key: &ResourceKey) -> Result<(), String> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(format!("is not valid UTF-8 (byte {})", e.valid_up_to()));
    }
    let shape = details_shape(bytes).map_err(|e| format!("is not valid JSON: {e}"))?;
    if !shape.is_object {
        return Err("must hold a JSON object".into());
    }
    if key.kind == ResourceKind::Unit
        && let Some(toolchain) = shape.toolchain
    {
        let details = Details::from_iter([("ToolchainType".to_string(), toolchain)]);
        check_unit_toolchain(&details).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn check_entry(
    root: &FileReader<'_>,
    manifest: &Manifest,
    entry: &Entry,
    trusted: bool,
) -> Checked {
    if trusted
        && let Some(digests) = &manifest.digests
        && let Some(details) = digests.get(&entry.details_loc)
    {
        let data = entry.unit_data_loc.as_deref().map(|loc| digests.get(loc));
        if data.is_none_or(|d| d.is_some()) {
            return Checked {
                details_digest: Some(*details),
                data_digest: data.flatten().copied(),
                problems: Vec::new(),
            };
        }
    }
    let mut problems = Vec::new();
    let details_digest = check_file(root, manifest, &entry.details_loc, &mut problems).and_then(
        |(bytes, digest)| match check_details(&bytes, &entry.key) {
            Ok(()) => Some(digest),
            Err(e) => {
                problems.push(Problem::new(&entry.details_loc, "", e));
                None
            }
        },
    );
    // Unit data is bytes, as cub reads it: any encoding loads.
    let data_digest = entry
        .unit_data_loc
        .as_deref()
        .and_then(|loc| check_file(root, manifest, loc, &mut problems).map(|(_, digest)| digest));
    Checked {
        details_digest,
        data_digest,
        problems,
    }
}

/// Reads and checks the package at `dir` without touching a hub. On success
/// returns the package (with its unlisted files and external references); on
/// any problem, [`PackageError::Invalid`] with every problem found.
pub fn read_package(dir: &Path, progress: &dyn Progress) -> Result<Package, PackageError> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| PackageError::io("cannot open package directory", dir, e))?;
    if !meta.is_dir() {
        return Err(PackageError::Other(format!(
            "`{}` is not a directory; a package is a directory holding manifest.json",
            dir.display()
        )));
    }
    let root = std::fs::canonicalize(dir)
        .map_err(|e| PackageError::io("cannot open package directory", dir, e))?;
    progress.phase("reading manifest", 0);
    let manifest_path = root.join(MANIFEST_FILE);
    let manifest_meta = std::fs::symlink_metadata(&manifest_path);
    let manifest_bytes = match manifest_meta {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(manifest_problem(
                &root,
                "is missing: this directory is not a package",
            ));
        }
        Ok(m) if !m.is_file() => {
            return Err(manifest_problem(&root, "is not a regular file"));
        }
        _ => read_capped(&manifest_path, MAX_MANIFEST_BYTES)
            .map_err(|e| manifest_problem(&root, e))?,
    };
    let reader = FileReader::Dir(Resolver::new(&root));
    check_package(
        root,
        PackageFiles::Dir,
        &reader,
        manifest_bytes,
        progress,
        false,
    )
}

/// A package refused for one problem with its manifest.json.
fn manifest_problem(root: &Path, why: impl Into<String>) -> PackageError {
    invalid(root, vec![Problem::new(MANIFEST_FILE, "", why.into())])
}

/// A package refused for `problems`.
fn invalid(root: &Path, problems: Vec<Problem>) -> PackageError {
    PackageError::Invalid {
        root: root.to_path_buf(),
        report: Report {
            problems,
            ..Report::default()
        },
    }
}

/// [`read_package`] of an archive unpacked in memory
/// ([`crate::loaders::archive::extract_to_memory`]): every file is read and
/// verified once, here; `label` names the package in messages. With
/// `trusted`, the package is one this process built itself (an export in
/// memory) and the manifest's digests are taken as they are.
pub fn read_memory_package(
    tree: MemoryTree,
    label: &Path,
    progress: &dyn Progress,
    trusted: bool,
) -> Result<Package, PackageError> {
    let root = label.to_path_buf();
    let manifest_bytes = match tree.get(MANIFEST_FILE) {
        None => {
            return Err(manifest_problem(
                &root,
                "is missing: this directory is not a package",
            ));
        }
        Some(bytes) if bytes.len() as u64 > MAX_MANIFEST_BYTES => {
            let why = format!(
                "is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                bytes.len()
            );
            return Err(manifest_problem(&root, why));
        }
        Some(bytes) => bytes.to_vec(),
    };
    let tree = Arc::new(tree);
    let reader = FileReader::Memory(&tree);
    check_package(
        root,
        PackageFiles::Memory(tree.clone()),
        &reader,
        manifest_bytes,
        progress,
        trusted,
    )
}

/// Parses the manifest and checks every file it names through `reader`.
fn check_package(
    root: PathBuf,
    files: PackageFiles,
    resolver: &FileReader<'_>,
    manifest_bytes: Vec<u8>,
    progress: &dyn Progress,
    trusted: bool,
) -> Result<Package, PackageError> {
    let digest = sha256_digest(&manifest_bytes);
    let (manifest, problems) = parse_manifest_owned(manifest_bytes);
    let Some(manifest) = manifest else {
        return Err(invalid(&root, problems));
    };
    check_manifest(
        root, files, resolver, manifest, digest, problems, progress, trusted,
    )
}

/// The package pkg has just built in memory (an export): `manifest` is the
/// one it wrote, with its `digests`, and `manifest_digest` that of the
/// bytes it wrote for it (the tree's manifest.json), so nothing is parsed
/// or hashed again.
pub fn built_memory_package(
    tree: MemoryTree,
    manifest: Manifest,
    manifest_digest: String,
    label: &Path,
    progress: &dyn Progress,
) -> Result<Package, PackageError> {
    let tree = Arc::new(tree);
    let reader = FileReader::Memory(&tree);
    check_manifest(
        label.to_path_buf(),
        PackageFiles::Memory(tree.clone()),
        &reader,
        manifest,
        manifest_digest,
        Vec::new(),
        progress,
        true,
    )
}

/// Checks every file `manifest` names through `resolver`; `problems` holds
/// what parsing the manifest found.
#[allow(clippy::too_many_arguments)]
fn check_manifest(
    root: PathBuf,
    files: PackageFiles,
    resolver: &FileReader<'_>,
    mut manifest: Manifest,
    digest: String,
    mut problems: Vec<Problem>,
    progress: &dyn Progress,
    trusted: bool,
) -> Result<Package, PackageError> {
    progress.phase("checking", manifest.entries.len() as u64);
    let checked = parallel_map(&manifest.entries, |entry| {
        let c = check_entry(resolver, &manifest, entry, trusted);
        progress.advance(1);
        c
    });

    // Digested files that no entry names (environments, extras) must match too.
    let mut extra_digested = Vec::new();
    if let Some(digests) = &manifest.digests {
        let named: HashSet<&str> = manifest.named_paths().collect();
        for loc in digests.paths().filter(|l| !named.contains(l)) {
            if loc.starts_with(TABLES_PREFIX) {
                check_streamed(resolver, digests, loc, &mut problems);
            } else {
                check_file(resolver, &manifest, loc, &mut problems);
            }
            extra_digested.push(loc.to_string());
        }
    }
    // Environment files the digests do not cover must at least be there;
    // their digests count in the package digest and pin them for `pack`.
    let (environments, _) = parse_environments(&manifest.environments);
    let mut environment_digests = Vec::new();
    for env in &environments {
        for loc in env.files.iter().filter(|l| !extra_digested.contains(l)) {
            if let Some((_, digest)) = check_file(resolver, &manifest, loc, &mut problems) {
                environment_digests.push((loc.clone(), digest));
            }
        }
    }
    // Every file is verified; the items keep their own raw digests. The map
    // is kept only to report unlisted files when the package is invalid.
    let has_digests = manifest.digests.is_some();
    let valid = problems.is_empty() && checked.iter().all(|c| c.problems.is_empty());
    let digests = if valid { None } else { manifest.digests.take() };
    manifest.digests = None;

    let entries = std::mem::take(&mut manifest.entries);
    let mut failed_locs: Vec<String> = Vec::new();
    let mut outside = BTreeSet::new();
    let spaces: BTreeSet<String> = entries
        .iter()
        .map(|e| e.key.space_slug().to_string())
        .collect();
    {
        let keys: HashSet<&ResourceKey> = entries.iter().map(|e| &e.key).collect();
        for entry in &entries {
            let space = entry.key.space_key();
            if entry.key.kind.is_space_scoped() && !keys.contains(&space) {
                outside.insert(OutsideRef {
                    from: entry.key.clone(),
                    field: None,
                    to: space,
                });
            }
            for reference in &entry.refs {
                if !keys.contains(&reference.to) {
                    outside.insert(OutsideRef {
                        from: entry.key.clone(),
                        field: Some(reference.field),
                        to: reference.to.clone(),
                    });
                }
            }
        }
    }
    let mut items = Vec::with_capacity(entries.len());
    for (entry, check) in entries.into_iter().zip(checked) {
        problems.extend(check.problems);
        if check.details_digest.is_none() {
            failed_locs.extend(std::iter::once(entry.details_loc).chain(entry.unit_data_loc));
            continue;
        }
        if let Some(details_digest) = check.details_digest {
            items.push(Item {
                key: entry.key,
                refs: entry.refs,
                details_loc: entry.details_loc,
                data_loc: entry.unit_data_loc,
                details_digest,
                data_digest: check.data_digest,
            });
        }
    }
    if !problems.is_empty() {
        let named = items
            .iter()
            .flat_map(|i| std::iter::once(i.details_loc.as_str()).chain(i.data_loc.as_deref()))
            .chain(failed_locs.iter().map(String::as_str));
        let named = named.chain(digests.iter().flat_map(Digests::paths));
        let unlisted = unlisted_files(&root, &files, &manifest, named);
        return Err(PackageError::Invalid {
            root,
            report: Report {
                problems,
                unlisted,
                ..Report::default()
            },
        });
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));
    let package_digest = if has_digests {
        digest.clone()
    } else {
        content_digest(&digest, &items, &environment_digests)
    };
    Ok(Package {
        root,
        files,
        manifest,
        digest: package_digest,
        manifest_digest: digest,
        items,
        spaces,
        outside: outside.into_iter().collect(),
        has_digests,
        extra_digested,
        environments,
        environment_digests,
    })
}

/// The digest of a package whose manifest has no `digests`: sha256 over
/// the manifest's digest and one `PATH DIGEST` line per file, sorted by
/// path, so that it covers every byte a load reads.
fn content_digest(manifest_digest: &str, items: &[Item], others: &[(String, RawDigest)]) -> String {
    let mut lines: Vec<String> = items
        .iter()
        .flat_map(|i| {
            std::iter::once(format!(
                "{} {}",
                i.details_loc,
                digest_text(&i.details_digest)
            ))
            .chain(
                i.data_loc
                    .iter()
                    .zip(&i.data_digest)
                    .map(|(loc, d)| format!("{loc} {}", digest_text(d))),
            )
        })
        .chain(
            others
                .iter()
                .map(|(loc, d)| format!("{loc} {}", digest_text(d))),
        )
        .collect();
    lines.sort();
    let mut text = format!("pkg-content-v1\n/manifest.json {manifest_digest}\n");
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    sha256_digest(text.as_bytes())
}
