//! Several checked packages as one, so that a package and its resolved
//! dependencies load in ONE transaction with one plan: every resource of
//! every part, its files copied into memory under `/<part number>/...`,
//! references between the parts resolved like references inside one
//! package. A resource two parts both hold must be the same (details, data
//! and references); otherwise the combination is refused, naming both.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::PackageError;
use super::read::{Item, Package, built_memory_package};
use crate::manifest::types::{Digests, FORMAT_VERSION};
use crate::manifest::write::write_manifest;
use crate::manifest::{Entry, MANIFEST_FILE, Manifest};
use crate::model::ResourceKey;
use crate::model::fingerprint::{hex, sha256, sha256_digest};
use crate::progress::NoProgress;
use crate::safe_tree::MemoryTree;

/// `parts` (a label such as `base@1.1.0` and the package), dependencies
/// first, as one package named after the last part.
pub fn combine(parts: &[(String, &Package)]) -> Result<Package, PackageError> {
    let mut tree = MemoryTree::default();
    let mut entries: Vec<Entry> = Vec::new();
    let mut digests: Vec<(Box<str>, [u8; 32])> = Vec::new();
    let mut owner: BTreeMap<ResourceKey, (String, &Item)> = BTreeMap::new();
    for (n, (label, package)) in parts.iter().enumerate() {
        for item in &package.items {
            if let Some((first, other)) = owner.get(&item.key) {
                let same = other.details_digest == item.details_digest
                    && other.data_digest == item.data_digest
                    && other.refs == item.refs;
                if same {
                    continue;
                }
                return Err(PackageError::Other(format!(
                    "{} is in both {first} and {label} with different content; they cannot be loaded together",
                    item.key
                )));
            }
            owner.insert(item.key.clone(), (label.clone(), item));
            let mut copy = |loc: &str| -> Result<String, PackageError> {
                let bytes = package
                    .read_file(loc)
                    .map_err(|e| PackageError::Other(format!("{label}: cannot read {loc}: {e}")))?;
                let new_loc = format!("/{n}{loc}");
                let digest = sha256(&bytes);
                digests.push((new_loc.clone().into_boxed_str(), digest));
                tree.insert(new_loc[1..].to_string(), bytes.into_owned());
                Ok(new_loc)
            };
            let details_loc = copy(&item.details_loc)?;
            let unit_data_loc = item.data_loc.as_deref().map(&mut copy).transpose()?;
            entries.push(Entry {
                key: item.key.clone(),
                details_loc,
                unit_data_loc,
                refs: item.refs.clone(),
            });
        }
    }
    let last = parts.last().map(|(_, p)| &p.manifest);
    let mut manifest = Manifest {
        format: Some(FORMAT_VERSION),
        name: last.and_then(|m| m.name.clone()),
        version: last.and_then(|m| m.version.clone()),
        description: last.and_then(|m| m.description.clone()),
        entries,
        ..Manifest::default()
    };
    // A real manifest.json with every file's digest (it pins every part),
    // so that the combination packs and travels like any package.
    let mut bytes = Vec::new();
    let mut listed = digests
        .iter()
        .map(|(loc, d)| (loc.to_string(), format!("sha256:{}", hex(d))));
    write_manifest(&mut bytes, &manifest, Some(&mut listed))
        .map_err(|e| PackageError::Other(format!("cannot write the combined manifest: {e}")))?;
    manifest.digests = Some(Digests::new(digests));
    let digest = sha256_digest(&bytes);
    tree.insert(MANIFEST_FILE.to_string(), bytes);
    built_memory_package(
        tree,
        manifest,
        digest,
        Path::new("the resolved packages"),
        &NoProgress,
    )
}
