//! Fetching the package version the merged index chose, from its source:
//! a directory source's sub-directory or archive through the local
//! loaders, a registry's version by exact requirement (its download's
//! digest checked). The caller checks the package's digest against the
//! index's, so content that changed since the index was read is refused.

use super::resolve::Resolution;
use super::{IndexEntry, Source, SourceError, SourceKind};
use crate::loaders::registry_source::RegistrySource;
use crate::loaders::{self, Fetched, Source as _};
use crate::package::combine::combine;
use crate::package::read::{Package, read_package};
use crate::progress::Progress;
use crate::remote::ServerClient;
use crate::signing::trust::Trust;
use crate::signing::{Asked, Signer};
use crate::source_settings::SourceSettings;

/// Fetches `entry` from its source (one of `sources`).
pub fn fetch(
    entry: &IndexEntry,
    sources: &[Source],
    settings: &SourceSettings,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    fetch_with(entry, sources, settings, &mut Clients::default(), progress)
}

/// The registry clients made so far, by source: one per source, however
/// many packages a graph fetches from it.
#[derive(Default)]
struct Clients(std::collections::HashMap<String, ServerClient>);

fn fetch_with(
    entry: &IndexEntry,
    sources: &[Source],
    settings: &SourceSettings,
    clients: &mut Clients,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    let source = sources
        .iter()
        .find(|s| s.name == entry.source)
        .ok_or_else(|| SourceError::Unknown(entry.source.clone()))?;
    let unavailable = |reason: String| SourceError::Unavailable {
        source_name: source.name.clone(),
        reason,
    };
    let mut fetched = match source.kind {
        SourceKind::Directory | SourceKind::Oci => loaders::resolve(&entry.locator, settings)
            .and_then(|s| s.fetch(progress))
            .map_err(|e| unavailable(e.to_string()))?,
        SourceKind::Registry => {
            let client = match clients.0.get(&source.name) {
                Some(client) => client.clone(),
                None => {
                    let client = super::registry::client(source).map_err(unavailable)?;
                    clients.0.insert(source.name.clone(), client.clone());
                    client
                }
            };
            let spec = format!("{}@={}", entry.name, entry.version);
            RegistrySource::with_client(&spec, &source.name, client)
                .and_then(|s| s.fetch(progress))
                .map_err(|e| unavailable(e.to_string()))?
        }
        SourceKind::Git => {
            super::git::fetch(&entry.locator, settings, progress).map_err(unavailable)?
        }
    };
    fetched.origin = format!(
        "source:{}/{}@{} ({})",
        source.name, entry.name, entry.version, fetched.origin
    );
    Ok(fetched)
}

/// A resolved graph fetched and checked, as one package.
pub struct OpenedGraph {
    /// Who signed each package that had to be signed, by package name.
    pub signers: std::collections::BTreeMap<String, Signer>,
    /// Who signed each signed package, by package name: its verified
    /// signer's key ID, else the one its signature names unverified (what
    /// a lock file pins when no key verified it).
    pub claimed: std::collections::BTreeMap<String, String>,
    /// The package, or (with dependencies) every package combined, to load
    /// in one transaction.
    pub package: Package,
    /// The fetched package a lone package is read from (its files live as
    /// long as this); `None` for a combination, which is in memory.
    pub fetched: Option<Fetched>,
    /// What the history records: every package, version, source and digest.
    pub origin: String,
}

/// Fetches every package of `resolution` (dependencies first), checks each
/// against the digest its index lists and its signature against its
/// source's `require_signature` keys and `trust_for(entry)` (failing
/// closed, before anything is combined), and combines them when there is
/// more than one.
pub fn open_graph(
    resolution: &Resolution,
    sources: &[Source],
    settings: &SourceSettings,
    trust_for: &dyn Fn(&IndexEntry) -> Result<Trust, SourceError>,
    progress: &dyn Progress,
) -> Result<OpenedGraph, SourceError> {
    let mut parts: Vec<(String, Package, Fetched)> = Vec::new();
    let mut signers = std::collections::BTreeMap::new();
    let mut claimed = std::collections::BTreeMap::new();
    let mut clients = Clients::default();
    for resolved in resolution.load_order() {
        let entry = &resolved.entry;
        let source = sources
            .iter()
            .find(|s| s.name == entry.source)
            .ok_or_else(|| SourceError::Unknown(entry.source.clone()))?;
        let trust = source.trust()?.and(&trust_for(entry)?);
        let fetched = fetch_with(entry, sources, settings, &mut clients, progress)?;
        let label = format!("{}@{}", entry.name, entry.version);
        if !trust.is_empty() {
            progress.phase("verifying signature", 0);
        }
        let refused = |e: &dyn std::fmt::Display| SourceError::Unavailable {
            source_name: entry.source.clone(),
            reason: format!("{label}: {e}; nothing was loaded"),
        };
        let asked = Asked::package(&entry.name, &entry.version.to_string());
        let signer = trust.check(&fetched.dir).map_err(|e| refused(&e))?;
        let package =
            read_package(&fetched.dir, progress).map_err(|e| SourceError::Unavailable {
                source_name: entry.source.clone(),
                reason: format!("{label}: {e}"),
            })?;
        // Who signed: the verified signer, else (for a lock file to pin)
        // the key ID an unverified signature names.
        let id = match &signer {
            Some(signer) => Some(signer.key_id.clone()),
            None => crate::signing::claimed_signer(&fetched.dir).ok().flatten(),
        };
        if let Some(id) = id {
            claimed.insert(entry.name.clone(), id);
        }
        if let Some(signer) = signer {
            signer
                .vouches_for(&package.signed_view(), &asked)
                .map_err(|e| refused(&e))?;
            signers.insert(entry.name.clone(), signer);
        }
        // The index and the package must agree on what it is: an index
        // (a registry's, OCI annotations) listing an old release under a
        // new version is refused, signed or not.
        if let Some(stated) = &package.manifest.version
            && semver::Version::parse(stated).ok().as_ref() != Some(&entry.version)
        {
            return Err(refused(&format!(
                "the package says version {stated}, but its source's index lists it as {}",
                entry.version
            )));
        }
        if !entry.digest.is_empty() && entry.digest != package.digest {
            return Err(SourceError::Unavailable {
                source_name: entry.source.clone(),
                reason: format!(
                    "{label} has digest {}, not the {} its index lists: it changed since the index was read; run again with --refresh",
                    package.digest, entry.digest
                ),
            });
        }
        parts.push((label, package, fetched));
    }
    if parts.len() == 1
        && let Some((_, package, fetched)) = parts.pop()
    {
        let origin = fetched.origin.clone();
        return Ok(OpenedGraph {
            signers,
            claimed,
            package,
            fetched: Some(fetched),
            origin,
        });
    }
    let origin = format!(
        "sources: {}",
        resolution
            .load_order()
            .iter()
            .map(|r| format!(
                "{}@{} from {} ({})",
                r.entry.name, r.entry.version, r.entry.source, r.entry.digest
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let labelled: Vec<(String, &Package)> = parts.iter().map(|(l, p, _)| (l.clone(), p)).collect();
    let package = combine(&labelled).map_err(|e| SourceError::Invalid(e.to_string()))?;
    Ok(OpenedGraph {
        signers,
        claimed,
        package,
        fetched: None,
        origin,
    })
}
