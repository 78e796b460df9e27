//! An OCI source: `oci://HOST/PREFIX`, whose repositories `PREFIX/NAME`
//! each hold the versions of package NAME as semver tags. The index reads
//! the registry's catalog, each repository's tags and each tag's manifest
//! annotations (name, version, digest, dependencies, `min_level`), never
//! an archive. Each entry's locator pins the manifest digest, so a fetch
//! reads exactly what the index listed.

use std::collections::BTreeMap;

use super::{IndexEntry, Source, SourceIndex};
use crate::model::slug::validate_slug;
use crate::oci::{self, OciClient, OciRef, version_of_tag};
use crate::source_settings::SourceSettings;

/// The source's registry and repository prefix.
fn location(source: &Source) -> Result<OciRef, String> {
    let reference = OciRef::parse(&source.location).map_err(|e| e.to_string())?;
    if reference.tag.is_some() || reference.digest.is_some() {
        return Err(format!(
            "`{}` names a tag or digest; an OCI source is oci://HOST/PREFIX",
            source.location
        ));
    }
    Ok(reference)
}

/// Checks an OCI source location (`oci://HOST/PREFIX`, no tag or digest).
pub fn check_location(text: &str) -> Result<(), String> {
    let reference = OciRef::parse(text).map_err(|e| e.to_string())?;
    if reference.tag.is_some() || reference.digest.is_some() {
        return Err(format!(
            "`{text}` names a tag or digest; an OCI source is oci://HOST/PREFIX, whose repositories PREFIX/NAME hold the packages"
        ));
    }
    Ok(())
}

/// The index of the OCI source `source`.
pub fn index(source: &Source, settings: &SourceSettings) -> Result<SourceIndex, String> {
    if settings.offline {
        return Err("--offline: OCI registries are not reached".into());
    }
    let base = location(source)?;
    let client = OciClient::new(&base, settings.oci_plain_http).map_err(|e| e.to_string())?;
    let prefix = format!("{}/", base.repository);
    let mut out = SourceIndex::default();
    for repository in client.repositories(&base).map_err(|e| e.to_string())? {
        let Some(name) = repository.strip_prefix(&prefix) else {
            continue;
        };
        if validate_slug(name).is_err() {
            out.warnings.push(format!(
                "repository `{repository}` is left out: `{name}` is not a package name"
            ));
            continue;
        }
        let repo = OciRef {
            repository: repository.clone(),
            ..base.clone()
        };
        let tags = client.tags(&repo).map_err(|e| e.to_string())?;
        // One tag per version: `1.0.0` rather than `v1.0.0` when both are
        // there (the same version twice would be two index entries).
        let mut by_version: BTreeMap<semver::Version, String> = BTreeMap::new();
        for tag in tags {
            let Some(version) = version_of_tag(&tag) else {
                continue;
            };
            match by_version.get(&version) {
                Some(kept) if kept.len() <= tag.len() => {}
                _ => {
                    by_version.insert(version, tag);
                }
            }
        }
        for (version, tag) in by_version {
            let tagged = repo.with_tag(&tag);
            match entry(&client, source, &tagged, name, &version) {
                Ok(entry) => out.entries.push(entry),
                Err(reason) => out
                    .warnings
                    .push(format!("`{tagged}` is left out: {reason}")),
            }
        }
    }
    Ok(out)
}

fn entry(
    client: &OciClient,
    source: &Source,
    tagged: &OciRef,
    name: &str,
    version: &semver::Version,
) -> Result<IndexEntry, String> {
    let (manifest, digest) = client.manifest(tagged).map_err(|e| e.to_string())?;
    let annotations = manifest.annotations.unwrap_or_default();
    let said = |key: &str| annotations.get(key).map(String::as_str);
    if said(oci::ANNOTATION_NAME) != Some(name) {
        return Err(format!(
            "its manifest names package `{}`, not `{name}`",
            said(oci::ANNOTATION_NAME).unwrap_or("")
        ));
    }
    if said(oci::ANNOTATION_VERSION) != Some(version.to_string().as_str()) {
        return Err(format!(
            "its manifest names version `{}`, not {version}",
            said(oci::ANNOTATION_VERSION).unwrap_or("")
        ));
    }
    let dependencies: BTreeMap<String, String> = match said(oci::ANNOTATION_DEPENDENCIES) {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| format!("its dependencies annotation is not a JSON object: {e}"))?,
        None => BTreeMap::new(),
    };
    let min_level = match said(oci::ANNOTATION_MIN_LEVEL) {
        Some(text) => text
            .parse::<u8>()
            .ok()
            .filter(|l| (1..=6).contains(l))
            .ok_or_else(|| format!("its min-level `{text}` is not 1-6"))?,
        None => 1,
    };
    Ok(IndexEntry {
        source: source.name.clone(),
        name: name.to_string(),
        version: version.clone(),
        min_level,
        dependencies,
        digest: said(oci::ANNOTATION_DIGEST).unwrap_or_default().to_string(),
        description: said(oci::ANNOTATION_DESCRIPTION)
            .unwrap_or_default()
            .to_string(),
        locator: tagged.with_digest(&digest).to_string(),
    })
}

/// The manifest digest an OCI entry's locator pins.
pub fn manifest_of(entry: &IndexEntry) -> Option<&str> {
    entry.locator.rsplit_once('@').map(|(_, d)| d)
}
