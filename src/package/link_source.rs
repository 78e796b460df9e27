//! `pkg create --link-dest PREV`: an earlier package whose files are
//! hard-linked into the new one wherever their bytes are the same (rsync's
//! `--link-dest`), so a dated backup of an unchanged hub costs almost no
//! space.
//!
//! A PREV file is linked only when it holds exactly the bytes the new file
//! would hold. That is known without reading it when PREV's manifest.json
//! lists the same sha256 for that path, the file (a regular file inside
//! PREV, reached without symlinks) has the same size, and it was not
//! modified after PREV's manifest.json was written (as rsync trusts size
//! and modification time). Otherwise the file is read and compared byte for
//! byte. Any doubt means the file is written instead.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::error::PackageError;
use crate::manifest::MANIFEST_FILE;
use crate::manifest::limits::{MAX_MANIFEST_BYTES, read_capped};
use crate::manifest::paths::Resolver;
use crate::manifest::types::parse_digest;
use crate::model::fingerprint::{RawDigest, sha256};

/// An earlier package to link unchanged files from.
#[derive(Debug)]
pub struct LinkSource {
    /// The canonical package directory.
    root: PathBuf,
    resolver: Resolver,
    /// PREV's `digests` (empty when its manifest has none or is unreadable).
    digests: HashMap<String, RawDigest>,
    /// sha256 of PREV's manifest.json, when it could be read.
    manifest_digest: Option<RawDigest>,
    /// When PREV's manifest.json was last modified.
    manifest_mtime: Option<SystemTime>,
}

impl LinkSource {
    /// Opens `prev`, which must be an existing directory (see
    /// [`LinkSource::check`] and [`LinkSource::load`]).
    pub fn open(prev: &Path) -> Result<LinkSource, PackageError> {
        Ok(LinkSource::load(LinkSource::check(prev)?))
    }

    /// Checks that `prev` is an existing directory and returns its
    /// canonical path (cheap: run it before any work).
    pub fn check(prev: &Path) -> Result<PathBuf, PackageError> {
        let meta = std::fs::metadata(prev)
            .map_err(|e| PackageError::io("cannot use --link-dest", prev, e))?;
        if !meta.is_dir() {
            return Err(PackageError::Other(format!(
                "--link-dest `{}` is not a directory (give an earlier package's directory)",
                prev.display()
            )));
        }
        std::fs::canonicalize(prev).map_err(|e| PackageError::io("cannot use --link-dest", prev, e))
    }

    /// Reads the package at the canonical `root` for its manifest's digests.
    /// A package without a manifest (or with a damaged one) still works, by
    /// comparing bytes.
    pub fn load(root: PathBuf) -> LinkSource {
        let manifest = root.join(MANIFEST_FILE);
        let manifest_meta = std::fs::symlink_metadata(&manifest)
            .ok()
            .filter(|m| m.is_file());
        let bytes = manifest_meta
            .as_ref()
            .and_then(|_| read_capped(&manifest, MAX_MANIFEST_BYTES).ok());
        let digests = bytes
            .as_deref()
            .and_then(|b| serde_json::from_slice::<DigestsOnly>(b).ok())
            .map(|d| d.digests.0)
            .unwrap_or_default();
        LinkSource {
            resolver: Resolver::new(&root),
            manifest_digest: bytes.as_deref().map(sha256),
            manifest_mtime: manifest_meta.and_then(|m| m.modified().ok()),
            digests,
            root,
        }
    }

    /// The package directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether PREV's manifest.json has exactly `digest`.
    pub fn manifest_is(&self, digest: &RawDigest) -> bool {
        self.manifest_digest.as_ref() == Some(digest)
    }

    /// Hard-links `target` to PREV's file at package path `loc` when that
    /// file holds `bytes` (whose sha256 is `digest`). Returns whether it did.
    pub fn link_if_same(&self, loc: &str, bytes: &[u8], digest: &RawDigest, target: &Path) -> bool {
        let Some((prev, meta)) = self.resolver.plain_file(loc) else {
            return false;
        };
        if meta.len() != bytes.len() as u64 {
            return false;
        }
        let listed = self.digests.get(loc) == Some(digest);
        let untouched = match (meta.modified(), self.manifest_mtime) {
            (Ok(file), Some(manifest)) => file <= manifest,
            _ => false,
        };
        let same = (listed && untouched) || same_bytes(&prev, bytes);
        same && std::fs::hard_link(&prev, target).is_ok()
    }
}

/// Whether the regular file at `path` holds exactly `bytes`.
fn same_bytes(path: &Path, bytes: &[u8]) -> bool {
    let Ok(mut file) = crate::manifest::paths::open_file(path, true) else {
        return false;
    };
    let mut old = Vec::with_capacity(bytes.len() + 1);
    let cap = bytes.len() as u64 + 1;
    (&mut file).take(cap).read_to_end(&mut old).is_ok() && old == bytes
}

/// The `digests` of a manifest, every other key skipped unparsed.
#[derive(Deserialize)]
struct DigestsOnly {
    #[serde(default)]
    digests: DigestMap,
}

/// `digests` read straight into raw digests (entries that do not parse
/// are left out: those files are compared byte for byte).
#[derive(Default)]
struct DigestMap(HashMap<String, RawDigest>);

impl<'de> Deserialize<'de> for DigestMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = DigestMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of package paths to sha256 digests")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DigestMap, A::Error> {
                let mut out = HashMap::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(loc) = map.next_key::<String>()? {
                    if let serde_json::Value::String(text) = map.next_value()?
                        && let Some(digest) = parse_digest(&text)
                    {
                        out.insert(loc, digest);
                    }
                }
                Ok(DigestMap(out))
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_text(bytes: &[u8]) -> String {
        crate::model::fingerprint::sha256_digest(bytes)
    }

    #[test]
    fn links_listed_untouched_files_and_compares_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let prev = dir.path().join("prev");
        std::fs::create_dir_all(prev.join("d")).unwrap();
        for (name, text) in [("listed", "x"), ("unlisted", "y"), ("changed", "z")] {
            std::fs::write(prev.join("d").join(name), text).unwrap();
        }
        std::os::unix::fs::symlink("/etc/hostname", prev.join("d/link")).unwrap();
        let manifest = serde_json::json!({
            "spaces": [],
            "digests": {
                "/d/listed": digest_text(b"x"),
                "/d/changed": digest_text(b"z"),
                "/d/link": digest_text(b"w"),
            }
        });
        std::fs::write(prev.join(MANIFEST_FILE), manifest.to_string()).unwrap();
        // Tampered after the manifest was written (same size, other bytes).
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(prev.join("d/changed"), "Z").unwrap();
        let source = LinkSource::open(&prev).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let link = |name: &str, bytes: &[u8]| {
            source.link_if_same(
                &format!("/d/{name}"),
                bytes,
                &sha256(bytes),
                &out.join(name),
            )
        };
        assert!(link("listed", b"x"));
        assert!(link("unlisted", b"y"), "compared byte for byte");
        assert!(!link("unlisted2", b"y"), "absent");
        assert!(
            !link("changed", b"z"),
            "modified after the manifest: compared, differs"
        );
        assert!(!link("link", b"w"), "a symlink is never linked");
        assert!(!link("listed", b"xx"), "another size");
        assert!(source.manifest_is(&sha256(manifest.to_string().as_bytes())));
    }

    #[test]
    fn a_directory_is_required() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let err = LinkSource::open(&dir.path().join("f"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a directory"), "{err}");
        assert!(LinkSource::open(&dir.path().join("missing")).is_err());
    }
}
