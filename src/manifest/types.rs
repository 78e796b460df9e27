//! The manifest of package format v1: the entries `cub` writes (one array
//! per kind) and pkg's extra top-level keys.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::fingerprint::RawDigest;
use crate::model::{RefField, Reference, ResourceKey, ResourceKind};

/// The package format version this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// The manifest's file name at the package root.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The `digests` key: package path → sha256 of the file, kept compact and
/// sorted by path (a package may name 200,000 files).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    entries: Vec<(Box<str>, RawDigest)>,
}

impl Digests {
    /// Digests from pairs in any order; for a path given twice the last wins.
    pub fn new(mut entries: Vec<(Box<str>, RawDigest)>) -> Digests {
        entries.reverse();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        Digests { entries }
    }

    /// The digest recorded for `path`.
    pub fn get(&self, path: &str) -> Option<&RawDigest> {
        self.entries
            .binary_search_by(|(p, _)| (**p).cmp(path))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// Every path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(p, _)| &**p)
    }

    /// Every `(path, digest)`, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawDigest)> {
        self.entries.iter().map(|(p, d)| (&**p, d))
    }

    /// How many files have a digest.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no file has a digest.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Parses `sha256:` followed by 64 lower-case hex digits.
pub fn parse_digest(text: &str) -> Option<RawDigest> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0_u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let digit = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        };
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// One manifest entry: a resource, where its files are, what it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Kind, space and slug (as written in the package, before any prefix).
    pub key: ResourceKey,
    /// Package path of the details file.
    pub details_loc: String,
    /// Package path of the unit data file (units only).
    pub unit_data_loc: Option<String>,
    /// References, in the kind's field order.
    pub refs: Vec<Reference>,
}

/// A parsed manifest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    /// `format` (pkg); `None` in a cub package.
    pub format: Option<u64>,
    /// `name` (pkg).
    pub name: Option<String>,
    /// `version` (pkg, semver).
    pub version: Option<String>,
    /// `description` (pkg).
    pub description: Option<String>,
    /// `created_at` (pkg, RFC 3339).
    pub created_at: Option<String>,
    /// `dependencies` (pkg): package name → semver requirement.
    pub dependencies: BTreeMap<String, String>,
    /// `environments` (pkg), kept as written.
    pub environments: Vec<Value>,
    /// `tables` (pkg, database packages), kept as written.
    pub tables: Vec<Value>,
    /// `min_level` (pkg, 1-6).
    pub min_level: Option<u8>,
    /// `digests` (pkg): package path → sha256; `None` in a cub package.
    pub digests: Option<Digests>,
    /// Every entry, in manifest order within each kind, kinds in load order.
    pub entries: Vec<Entry>,
    /// Package paths named by entries that were rejected (never written;
    /// kept so that validation does not report their files as unlisted).
    pub rejected_locs: Vec<String>,
}

impl Manifest {
    /// The entries of one kind.
    pub fn entries_of(&self, kind: ResourceKind) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.key.kind == kind)
    }

    /// Every package path an entry names (details and data files).
    pub fn named_paths(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .flat_map(|e| std::iter::once(e.details_loc.as_str()).chain(e.unit_data_loc.as_deref()))
    }
}

/// The manifest key of the reference `field` and whether `cub` omits it when empty.
pub fn ref_key(field: RefField) -> (&'static str, bool) {
    let omit_empty = matches!(
        field,
        RefField::Filter | RefField::FromSpace | RefField::InvocationWorker
    );
    (field.manifest_key(), omit_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_and_look_up() {
        let hex = "ab".repeat(32);
        let d = parse_digest(&format!("sha256:{hex}")).unwrap();
        assert_eq!(d, [0xab; 32]);
        for bad in [
            "sha256:AB",
            "md5:00",
            &format!("sha256:{}", "g".repeat(64)),
            &hex,
        ] {
            assert_eq!(parse_digest(bad), None, "{bad}");
        }
        let digests = Digests::new(vec![
            ("/b".into(), [1; 32]),
            ("/a".into(), [2; 32]),
            ("/b".into(), [3; 32]),
        ]);
        assert_eq!(digests.len(), 2);
        assert_eq!(digests.get("/b"), Some(&[3; 32]), "the last duplicate wins");
        assert_eq!(digests.paths().collect::<Vec<_>>(), ["/a", "/b"]);
        assert_eq!(digests.get("/c"), None);
    }
}
