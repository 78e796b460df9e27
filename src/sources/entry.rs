//! One version of one package as a source's index lists it.

use std::collections::BTreeMap;

use serde::Serialize;

/// A package version a source holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexEntry {
    /// The source holding it.
    pub source: String,
    /// The package name.
    pub name: String,
    /// The version.
    #[serde(serialize_with = "as_text")]
    pub version: semver::Version,
    /// The lowest level that may read it (1-6).
    pub min_level: u8,
    /// Package name → semver requirement.
    pub dependencies: BTreeMap<String, String>,
    /// The package digest (`sha256:...`), when the source knows it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub digest: String,
    /// The description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the source keeps it: a directory source's sub-directory or
    /// archive, a registry's `name@version`.
    pub locator: String,
}

fn as_text<S: serde::Serializer>(v: &semver::Version, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}
