//! A package that passed every check: its resources (items), the
//! references that leave it, where its files are (a directory or memory),
//! and reading a file again for a load (checked against the digest
//! validation saw). `read` builds it; this module owns what it is.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::error::PackageError;
use crate::manifest::environment::Environment;
use crate::manifest::limits::{MAX_FILE_BYTES, read_capped};
use crate::manifest::paths::check_syntax;
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::model::details::{canonicalize, to_canonical_json};
use crate::model::fingerprint::{RawDigest, digest_text, sha256};
use crate::model::{Details, RefField, Reference, ResourceKey};
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
    /// What the read says of its manifest, for holding a signature of the
    /// directory against it ([`crate::signing::Signer::vouches_for`]).
    pub fn signed_view(&self) -> crate::signing::ReadManifest<'_> {
        crate::signing::ReadManifest {
            digest: &self.manifest_digest,
            has_digests: self.has_digests,
            name: self.manifest.name.as_deref(),
            version: self.manifest.version.as_deref(),
        }
    }

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
pub(super) fn memory_file<'a>(tree: &'a MemoryTree, loc: &str) -> Result<&'a [u8], String> {
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

/// Files under `root` that neither `named` nor the manifest's digests name,
/// sorted (the package's extras: README, LICENSE, leftovers).
pub(super) fn unlisted_files<'a>(
    root: &Path,
    files: &PackageFiles,
    manifest: &'a Manifest,
    named: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let mut named: HashSet<&str> = named.collect();
    let manifest_loc = format!("/{MANIFEST_FILE}");
    named.insert(&manifest_loc);
    // The signature checks itself against the manifest; packs carry it.
    let signature_loc = format!("/{}", crate::signing::SIGNATURE_FILE);
    named.insert(&signature_loc);
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
