//! Reading a package directory and checking all of it before anything is
//! written: the manifest, every file it names (inside the root, present,
//! within size limits, matching its digest), every details file (UTF-8 JSON
//! object), every unit data file (any bytes), and references inside the package.
//! Every problem is collected; files no entry names are listed, never read.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::details_check::details_shape;
use super::error::{PackageError, Report};
use super::parallel::parallel_map;
use crate::manifest::environment::{Environment, parse_environments};
use crate::manifest::limits::{MAX_FILE_BYTES, MAX_MANIFEST_BYTES, read_capped, read_file_capped};
use crate::manifest::parse::parse_manifest_owned;
use crate::manifest::paths::{Resolver, check_syntax};
use crate::manifest::types::Digests;
use crate::manifest::{Entry, MANIFEST_FILE, Manifest, Problem};
use crate::model::details::{canonicalize, to_canonical_json};
use crate::model::fingerprint::{RawDigest, digest_text, sha256, sha256_digest};
use crate::model::toolchain::check_unit_toolchain;
use crate::model::{Details, RefField, Reference, ResourceKey, ResourceKind};
use crate::progress::Progress;
use crate::safe_tree::MemoryTree;

/// One resource of a checked package.
#[derive(Debug, Clone)]
pub struct Item {
    /// Kind, space and slug, as written in the package.
    pub key: ResourceKey,
    /// References, as written in the package.
    pub refs: Vec<Reference>,
    /// Package path of the details file.
    pub details_loc: String,
    /// Package path of the data file (units).
    pub data_loc: Option<String>,
    /// sha256 of the details file's bytes.
    pub details_digest: RawDigest,
    /// sha256 of the data (units).
    pub data_digest: Option<RawDigest>,
}

impl Item {
    /// `sha256:` text of the data digest (units).
    pub fn data_digest_text(&self) -> Option<String> {
        self.data_digest.as_ref().map(digest_text)
    }
}

/// A reference from a package resource to something the package does not
/// hold: another resource, or (`field` `None`) the resource's own space.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OutsideRef {
    /// The resource holding the reference, as written in the package.
    pub from: ResourceKey,
    /// The field, or `None` for the space the resource lives in.
    pub field: Option<RefField>,
    /// What it points at, as written in the package.
    pub to: ResourceKey,
}

impl OutsideRef {
    /// `unit shop/api to_unit -> unit shared/redis` (control characters escaped).
    pub fn line(&self) -> String {
        let field = self.field.map_or("space", RefField::manifest_key);
        format!("{} {field} -> {}", self.from, self.to)
    }
}

/// Where a package's files are.
#[derive(Debug, Clone)]
pub enum PackageFiles {
    /// In the directory [`Package::root`], read again (and checked against
    /// the digests validation saw) when a load needs them.
    Dir,
    /// An archive unpacked in memory ([`read_memory_package`]): checked
    /// once, and unable to change afterwards. [`Package::root`] is then
    /// only the name messages give it.
    Memory(Arc<MemoryTree>),
}

/// A package that passed every check that does not need a hub.
#[derive(Debug, Clone)]
pub struct Package {
    /// The canonical package root (for a package in memory, its name).
    pub root: PathBuf,
    /// Where its files are.
    pub files: PackageFiles,
    /// The manifest's metadata (its entries are in `items`).
    pub manifest: Manifest,
    /// The package digest: `sha256:` of manifest.json's bytes when the
    /// manifest has `digests` (which cover every file), else the digest of
    /// the manifest's digest and every file's digest (see docs/format.md).
    pub digest: String,
    /// `sha256:` of manifest.json's bytes.
    pub manifest_digest: String,
    /// Every resource, in load order (kind, then space and slug).
    pub items: Vec<Item>,
    /// The spaces the package contains: those it has an entry for and those
    /// its resources live in. `--prefix` renames exactly these.
    pub spaces: BTreeSet<String>,
    /// References (and spaces of resources) that point at something the
    /// package does not hold, sorted.
    pub outside: Vec<OutsideRef>,
    /// Whether the manifest had `digests` (all verified). The map itself is
    /// not kept: each item holds its own raw digests.
    pub has_digests: bool,
    /// Digested files no entry names (verified too; not unlisted).
    pub extra_digested: Vec<String>,
    /// The Python environments the package carries (their files are
    /// checked like any other).
    pub environments: Vec<Environment>,
    /// Environment files the manifest has no digest for (a manifest without
    /// `digests`), with the digest validation computed.
    pub environment_digests: Vec<(String, RawDigest)>,
}

impl Package {
    /// Whether `to` lies in a space the package does not contain: an
    /// external reference (it keeps its space under `--prefix`).
    pub fn is_external(&self, to: &ResourceKey) -> bool {
        !self.spaces.contains(to.space_slug())
    }

    /// References into spaces the package does not contain.
    pub fn external_refs(&self) -> impl Iterator<Item = &OutsideRef> {
        self.outside
            .iter()
            .filter(|o| o.field.is_some() && self.is_external(&o.to))
    }

    /// References into the package's own spaces to resources it does not
    /// hold (cub's de-duplicated targets, a view whose filter is missing):
    /// a load keeps them when the hub has the resource, else drops the
    /// ones cub drops.
    pub fn dangling_refs(&self) -> impl Iterator<Item = &OutsideRef> {
        self.outside
            .iter()
            .filter(|o| o.field.is_some() && !self.is_external(&o.to))
    }

    /// Files in the package directory that no entry names (never read by a
    /// load; `pkg validate` lists them). Walks the whole tree.
    pub fn unlisted_files(&self) -> Vec<String> {
        let named = self
            .items
            .iter()
            .flat_map(|i| std::iter::once(i.details_loc.as_str()).chain(i.data_loc.as_deref()))
            .chain(self.extra_digested.iter().map(String::as_str))
            .chain(
                self.environments
                    .iter()
                    .flat_map(|e| e.files.iter().map(String::as_str)),
            );
        unlisted_files(&self.root, &self.files, &self.manifest, named)
    }

    /// Every file of the package as package paths (`/manifest.json`, then
    /// each file an entry names or the digests list), sorted and without
    /// duplicates: what `pack` and `publish` copy.
    pub fn files(&self) -> Vec<String> {
        let mut files: Vec<String> =
            std::iter::once(format!("/{}", crate::manifest::types::MANIFEST_FILE))
                .chain(
                    self.items.iter().flat_map(|i| {
                        std::iter::once(i.details_loc.clone()).chain(i.data_loc.clone())
                    }),
                )
                .chain(self.extra_digested.iter().cloned())
                .chain(
                    self.environments
                        .iter()
                        .flat_map(|e| e.files.iter().cloned()),
                )
                .collect();
        files.sort();
        files.dedup();
        files
    }

    /// The absolute path of package path `loc`.
    pub fn path_of(&self, loc: &str) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(loc.trim_start_matches('/').split('/'));
        path
    }

    /// The bytes of the file at package path `loc`, at most
    /// `MAX_FILE_BYTES`: read from the directory (following symlinks that
    /// stay inside the root, as validation did), or from memory.
    pub fn read_file(&self, loc: &str) -> Result<Cow<'_, [u8]>, String> {
        match &self.files {
            PackageFiles::Dir => read_capped(&self.path_of(loc), MAX_FILE_BYTES).map(Cow::Owned),
            PackageFiles::Memory(tree) => memory_file(tree, loc).map(Cow::Borrowed),
        }
    }

    /// The bytes of `loc` as validation saw them: a file in the directory
    /// must still have `digest` (else [`PackageError::ChangedDuringLoad`]);
    /// a file in memory cannot have changed.
    fn checked_file(
        &self,
        loc: &str,
        digest: Option<RawDigest>,
    ) -> Result<Cow<'_, [u8]>, PackageError> {
        let changed = || PackageError::ChangedDuringLoad(loc.to_string());
        let bytes = self.read_file(loc).map_err(|_| changed())?;
        if matches!(self.files, PackageFiles::Dir) && Some(sha256(&bytes)) != digest {
            return Err(changed());
        }
        Ok(bytes)
    }

    /// Reads the details file of `item` again, checks it still has the digest
    /// validation saw, and returns the canonical compact details JSON with
    /// `Slug` set to `slug` (the slug the resource gets: a space's slug
    /// carries the load's prefix).
    pub fn read_details(&self, item: &Item, slug: &str) -> Result<String, PackageError> {
        let bytes = self.checked_file(&item.details_loc, Some(item.details_digest))?;
        canonical_details(&bytes, slug)
            .map_err(|_| PackageError::ChangedDuringLoad(item.details_loc.clone()))
    }

    /// Reads the data file of `item` again, checking it still has the digest
    /// validation saw.
    pub fn read_data(&self, item: &Item) -> Result<Vec<u8>, PackageError> {
        let Some(loc) = &item.data_loc else {
            return Ok(Vec::new());
        };
        Ok(self.checked_file(loc, item.data_digest)?.into_owned())
    }
}

/// The file at package path `loc` of an unpacked archive, with the checks
/// a directory read makes: the path's syntax and the size cap.
fn memory_file<'a>(tree: &'a MemoryTree, loc: &str) -> Result<&'a [u8], String> {
    check_syntax(loc)?;
    let bytes = tree
        .get(loc.trim_start_matches('/'))
        .ok_or_else(|| "file does not exist".to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "is {} bytes; the limit is {MAX_FILE_BYTES}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// Where validation reads a package's files from.
enum FileReader<'a> {
    Dir(Resolver),
    Memory(&'a MemoryTree),
}

impl FileReader<'_> {
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

/// Parses a details file into its JSON object.
fn parse_details(bytes: &[u8]) -> Result<Details, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("must hold a JSON object".into()),
        Err(e) => Err(format!("is not valid JSON: {e}")),
    }
}

/// Parses details file bytes into canonical compact JSON for `slug`.
pub fn canonical_details(bytes: &[u8], slug: &str) -> Result<String, String> {
    parse_details(bytes).map(|map| to_canonical_json(&canonicalize(map, slug)))
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
            return Err(invalid(
                &root,
                vec![Problem::new(
                    MANIFEST_FILE,
                    "",
                    "is missing: this directory is not a package",
                )],
            ));
        }
        Ok(m) if !m.is_file() => {
            return Err(invalid(
                &root,
                vec![Problem::new(MANIFEST_FILE, "", "is not a regular file")],
            ));
        }
        _ => read_capped(&manifest_path, MAX_MANIFEST_BYTES)
            .map_err(|e| invalid(&root, vec![Problem::new(MANIFEST_FILE, "", e)]))?,
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
            return Err(invalid(
                &root,
                vec![Problem::new(
                    MANIFEST_FILE,
                    "",
                    "is missing: this directory is not a package",
                )],
            ));
        }
        Some(bytes) if bytes.len() as u64 > MAX_MANIFEST_BYTES => {
            let why = format!(
                "is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                bytes.len()
            );
            return Err(invalid(&root, vec![Problem::new(MANIFEST_FILE, "", why)]));
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
            check_file(resolver, &manifest, loc, &mut problems);
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

/// Files under `root` that neither `named` nor the manifest's digests name,
/// sorted (the package's extras: README, LICENSE, leftovers).
fn unlisted_files<'a>(
    root: &Path,
    files: &PackageFiles,
    manifest: &'a Manifest,
    named: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let mut named: HashSet<&str> = named.collect();
    let manifest_loc = format!("/{MANIFEST_FILE}");
    named.insert(&manifest_loc);
    named.extend(manifest.rejected_locs.iter().map(String::as_str));
    let mut out = Vec::new();
    if let PackageFiles::Memory(tree) = files {
        out.extend(
            tree.paths()
                .map(|p| format!("/{p}"))
                .filter(|loc| !named.contains(loc.as_str())),
        );
        out.sort();
        return out;
    }
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .max_depth(64)
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_dir() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let loc = format!(
            "/{}",
            rel.to_string_lossy()
                .replace(std::path::MAIN_SEPARATOR, "/")
        );
        if !named.contains(loc.as_str()) {
            out.push(loc);
        }
    }
    out.sort();
    out
}
