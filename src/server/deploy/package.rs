//! What a deployment loads: the requested version and its dependencies,
//! resolved over the registry's own records (unyanked versions the caller
//! may read) with the same resolver as `pkg load NAME@REQ`, and read back
//! from the blobs, every digest checked, combined into one package.

use std::path::Path;

use semver::VersionReq;

use super::super::AppState;
use super::super::auth::Caller;
use super::super::error::{ApiError, ApiResult};
use super::super::registry::read::visible;
use super::super::registry::records;
use super::super::store::Kv;
use crate::loaders::archive::{self, ArchiveFormat};
use crate::package::combine::combine;
use crate::package::read::{Package, read_memory_package};
use crate::progress::NoProgress;
use crate::safe_tree::Limits;
use crate::sources::merged::SourceStatus;
use crate::sources::resolve::{Resolution, resolve};
use crate::sources::{Conflict, IndexEntry, MergedIndex, Source, SourceKind};

/// The name the registry's own index goes by in explanations.
const REGISTRY: &str = "registry";

/// Resolves `name` `requirement` over the registry as `caller` sees it.
pub async fn resolve_request<K: Kv>(
    state: &AppState<K>,
    caller: &Caller,
    name: &str,
    requirement: &VersionReq,
) -> ApiResult<Resolution> {
    let mut index = MergedIndex {
        statuses: vec![SourceStatus {
            source: Source {
                name: REGISTRY.into(),
                location: String::new(),
                kind: SourceKind::Registry,
                priority: 0,
                token_env: None,
                enabled: true,
                require_signature: Vec::new(),
            },
            packages: 0,
            error: None,
            freshness: None,
            age_seconds: None,
            warnings: Vec::new(),
        }],
        entries: Vec::new(),
    };
    for package in records::all_packages(&state.kv).await? {
        let Some(shown) = visible(&package, caller, false) else {
            continue;
        };
        for v in shown.versions {
            let Ok(version) = semver::Version::parse(&v.version) else {
                continue;
            };
            index.entries.push(IndexEntry {
                source: REGISTRY.into(),
                name: shown.name.clone(),
                version,
                min_level: v.min_level,
                dependencies: v.dependencies,
                digest: v.package_digest,
                description: String::new(),
                locator: format!("{}@{}", shown.name, v.version),
            });
        }
    }
    if !index.entries.iter().any(|e| e.name == name) {
        return Err(ApiError::not_found(format!("package `{name}` not found")));
    }
    resolve(
        &index,
        Conflict::Priority,
        &[(name.to_string(), requirement.clone())],
    )
    .map_err(|e| ApiError::conflict(format!("cannot deploy {name} {requirement}: {e}")))
}

/// Reads `packages` (`name@version`, dependencies first) from the blobs,
/// checks each against its recorded digest, and combines them.
pub async fn open<K: Kv>(state: &AppState<K>, packages: &[String]) -> Result<Package, String> {
    let mut archives = Vec::with_capacity(packages.len());
    for label in packages {
        let (name, version) = label
            .split_once('@')
            .ok_or_else(|| format!("`{label}` is not NAME@VERSION"))?;
        let record = records::package(&state.kv, name)
            .await
            .map_err(|e| e.message)?
            .and_then(|(p, _)| p.version(version).cloned())
            .ok_or_else(|| format!("{label} is no longer in the registry"))?;
        let format = if record.archive_format == "zip" {
            ArchiveFormat::Zip
        } else {
            ArchiveFormat::TarGz
        };
        archives.push((
            label.clone(),
            record.archive_digest,
            format,
            record.package_digest,
        ));
    }
    let blobs = state.blobs.clone();
    tokio::task::spawn_blocking(move || {
        let mut parts = Vec::with_capacity(archives.len());
        for (label, archive_digest, format, digest) in archives {
            let bytes = blobs
                .read(&archive_digest)
                .map_err(|e| format!("cannot read the archive of {label}: {e}"))?
                .ok_or_else(|| format!("the archive of {label} is missing from the blobs"))?;
            let tree =
                archive::extract_to_memory(&bytes, format, Limits::default(), Path::new(&label))
                    .map_err(|e| format!("{label}: {}", crate::error_text::with_causes(&e)))?;
            let package = read_memory_package(tree, Path::new(&label), &NoProgress, false)
                .map_err(|e| format!("{label}: {e}"))?;
            if !digest.is_empty() && package.digest != digest {
                return Err(format!(
                    "{label} has digest {}, not the {digest} it was published with",
                    package.digest
                ));
            }
            parts.push((label, package));
        }
        if parts.len() == 1 {
            return parts
                .pop()
                .map(|(_, p)| p)
                .ok_or_else(|| "no package".to_string());
        }
        let labelled: Vec<(String, &Package)> = parts.iter().map(|(l, p)| (l.clone(), p)).collect();
        combine(&labelled).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("reading the packages failed: {e}"))?
}
