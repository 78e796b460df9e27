//! The records a registry keeps and its API sends: a package with its
//! versions ([`PackageRecord`]), one published version ([`VersionRecord`]),
//! the events on a package ([`ActionRecord`]), list rows
//! ([`PackageSummary`]) and the index ([`IndexEntry`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Whether a package takes new versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageStatus {
    /// Takes new versions.
    #[default]
    Active,
    /// Read-only: its versions stay readable, publishes are refused.
    Archived,
}

impl PackageStatus {
    /// `active` or `archived`.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageStatus::Active => "active",
            PackageStatus::Archived => "archived",
        }
    }

    /// Parses `active` or `archived`.
    pub fn parse(text: &str) -> Result<PackageStatus, String> {
        match text {
            "active" => Ok(PackageStatus::Active),
            "archived" => Ok(PackageStatus::Archived),
            other => Err(format!("status `{other}` must be active or archived")),
        }
    }
}

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// The version (semver).
    pub version: String,
    /// The package digest (`sha256:` of manifest.json when it has digests).
    pub package_digest: String,
    /// `sha256:` of the archive as published; the download's ETag.
    pub archive_digest: String,
    /// `tar.gz` or `zip`.
    pub archive_format: String,
    /// The archive's size in bytes.
    pub size: u64,
    /// `sha256:` of manifest.json (where its bytes are kept).
    pub manifest_digest: String,
    /// The manifest's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The lowest level that may read this version (the manifest's `min_level`, default 1).
    pub min_level: u8,
    /// Package name → semver requirement.
    #[serde(default)]
    pub dependencies: BTreeMap<String, String>,
    /// Hidden from listings and resolution; still downloadable by exact version.
    #[serde(default)]
    pub yanked: bool,
    /// When it was published (RFC 3339).
    pub published_at: String,
    /// The token name that published it.
    pub published_by: String,
    /// `sha256:` of the package's signature file (`manifest.json.minisig`),
    /// when it was published signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_digest: Option<String>,
    /// The ID of the key the signature names (the registry holds no keys:
    /// loaders verify the signature with theirs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// A package: its metadata and every version, yanked ones included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    /// The package name.
    pub name: String,
    /// A description (the latest manifest's, until changed with PATCH).
    #[serde(default)]
    pub description: String,
    /// Labels, key → value.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Active or archived.
    #[serde(default)]
    pub status: PackageStatus,
    /// When the first version was published.
    pub created_at: String,
    /// When anything last changed.
    pub updated_at: String,
    /// The token name that published its first version.
    #[serde(default)]
    pub created_by: String,
    /// Every version, in publish order.
    #[serde(default)]
    pub versions: Vec<VersionRecord>,
}

impl PackageRecord {
    /// The version `version`, yanked or not.
    pub fn version(&self, version: &str) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The lowest `min_level` of the versions a listing shows (unyanked):
    /// a caller below it sees no version, so the package is hidden.
    pub fn min_level(&self) -> u8 {
        self.versions
            .iter()
            .filter(|v| !v.yanked)
            .map(|v| v.min_level)
            .min()
            .or_else(|| self.versions.iter().map(|v| v.min_level).min())
            .unwrap_or(1)
    }

    /// The highest unyanked version a caller at `level` may read (stable
    /// versions preferred over prereleases).
    pub fn latest(&self, level: u8) -> Option<&VersionRecord> {
        self.versions
            .iter()
            .filter(|v| !v.yanked && v.min_level <= level)
            .filter_map(|v| semver::Version::parse(&v.version).ok().map(|s| (s, v)))
            .max_by(|(a, _), (b, _)| (a.pre.is_empty(), a).cmp(&(b.pre.is_empty(), b)))
            .map(|(_, v)| v)
    }
}

/// A row of the package list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSummary {
    /// The package name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Active or archived.
    pub status: PackageStatus,
    /// The highest version the caller may read.
    pub latest: Option<String>,
    /// How many versions the caller may read.
    pub versions: usize,
    /// When anything last changed.
    pub updated_at: String,
}

/// One page of the package list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageList {
    /// The packages on this page, by name.
    pub packages: Vec<PackageSummary>,
    /// How many packages match, across all pages.
    pub total: usize,
}

/// The kinds of event recorded on a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// A version was published.
    Publish,
    /// A version was yanked.
    Yank,
    /// A yank was undone.
    Unyank,
    /// A version was downloaded.
    Download,
    /// The metadata changed.
    Update,
    /// A version was deployed to environments.
    Deploy,
    /// A deployment was rolled back.
    Rollback,
}

/// An event on a package: what, which version, who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// What happened.
    pub action: ActionKind,
    /// The package.
    pub name: String,
    /// The version, when the action concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The token name (`anonymous` without one).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// How many such events this record stands for (downloads by one
    /// caller of one version are counted together per write batch).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// For a deploy or rollback: how it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentAction>,
}

/// A deploy or rollback action: the deployment, how it went, when, and
/// what it changed where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentAction {
    /// The deployment.
    pub id: String,
    /// How it went (`succeeded`, `partial`, `rolled-back`, ...).
    pub status: String,
    /// When it started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// How long it ran, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Resources created, summed over the environments.
    pub created: u64,
    /// Resources updated.
    pub updated: u64,
    /// Resources unchanged.
    pub unchanged: u64,
    /// The environments, each with its status (`prod-east: succeeded`).
    pub environments: Vec<String>,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// A package's detail: metadata, visible versions and recent actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageDetail {
    /// The package and the versions the caller may read (yanked ones left out).
    #[serde(flatten)]
    pub package: PackageRecord,
    /// The newest actions, newest first.
    pub recent_actions: Vec<ActionRecord>,
}

/// What a publish answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishResponse {
    /// The package name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The package digest.
    pub package_digest: String,
    /// The archive digest (the download's ETag).
    pub archive_digest: String,
    /// False when the same content was already published (an idempotent repeat).
    pub created: bool,
}

/// One row of the index every caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    /// `name@version`.
    pub package_id: String,
    /// The package name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The lowest level that may read it.
    pub min_level: u8,
    /// Package name → semver requirement.
    pub dependencies: BTreeMap<String, String>,
    /// The package digest (`sha256:...`).
    #[serde(default)]
    pub digest: String,
    /// The package's description.
    #[serde(default)]
    pub description: String,
    /// The key ID of the version's signature; absent when it is unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// A metadata change (`PATCH /api/v1/packages/{name}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataPatch {
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New labels (replacing all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// A new status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PackageStatus>,
}

/// A token's public record (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// A short id (the first 12 hex digits of the token's hash), for revoking.
    pub id: String,
    /// Who the token is for.
    pub name: String,
    /// Its level.
    pub level: u8,
    /// When it was created.
    pub created_at: String,
    /// When it expires, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Whether it was revoked.
    #[serde(default)]
    pub revoked: bool,
}

/// One audit-log entry: a write, who made it, when and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// The token name (`anonymous` without one).
    pub who: String,
    /// The method and path.
    pub what: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The request id.
    pub request_id: String,
}

/// What `/api/v1/version` answers: which server this is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Always `pkg`.
    pub server: String,
    /// The server's version.
    pub version: String,
    /// `sqlite` or `etcd`.
    pub store: String,
}
