//! The manifest of package format v1: the entries `cub` writes (one array
//! per kind) and pkg's extra top-level keys.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{RefField, Reference, ResourceKey, ResourceKind};

/// The package format version this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// The manifest's file name at the package root.
pub const MANIFEST_FILE: &str = "manifest.json";

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
    /// `min_level` (pkg, 1-6).
    pub min_level: Option<u8>,
    /// `digests` (pkg): package path → `sha256:<hex>`; `None` in a cub package.
    pub digests: Option<BTreeMap<String, String>>,
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
