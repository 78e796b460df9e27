//! A package artifact in an OCI registry (`oci://HOST/REPO:VERSION`,
//! `@sha256:DIGEST`, or no tag for the highest semver tag): pulled, every
//! blob checked against its digest, the archive extracted like any other
//! (through the safe tree writer and its limits), and the signature layer
//! placed beside the manifest. The manifest digest is the revision a lock
//! file pins.

use std::io::Write as _;

use super::archive::{ArchiveFormat, extract};
use super::{Fetched, Source, SourceError};
use crate::oci::{OciClient, OciError, OciRef, version_of_tag};
use crate::progress::Progress;
use crate::safe_tree::Limits;
use crate::signing::{Asked, SIGNATURE_FILE};
use crate::source_settings::SourceSettings;

/// An OCI source.
#[derive(Debug, Clone)]
pub struct OciSource {
    reference: OciRef,
    settings: SourceSettings,
}

impl OciSource {
    /// The package `reference` names.
    pub fn new(reference: OciRef, settings: SourceSettings) -> OciSource {
        OciSource {
            reference,
            settings,
        }
    }
}

/// The highest semver tag of `reference`'s repository: the highest
/// release, or the highest pre-release when there is no release (as a
/// `*` requirement chooses).
pub fn highest_tag(client: &OciClient, reference: &OciRef) -> Result<String, OciError> {
    client
        .tags(reference)?
        .into_iter()
        .filter_map(|t| version_of_tag(&t).map(|v| (v, t)))
        .max_by(|a, b| {
            (a.0.pre.is_empty(), &a.0)
                .cmp(&(b.0.pre.is_empty(), &b.0))
                // `1.0.0` before `v1.0.0` for the same version.
                .then_with(|| b.1.len().cmp(&a.1.len()))
        })
        .map(|(_, t)| t)
        .ok_or_else(|| OciError::NotAPackage {
            reference: reference.to_string(),
            reason: "the repository has no semver tag; name a version (oci://HOST/REPO:1.2.3)"
                .into(),
        })
}

impl Source for OciSource {
    fn fetch(&self, progress: &dyn Progress) -> Result<Fetched, SourceError> {
        if self.settings.offline {
            return Err(SourceError::BadRemotePackage {
                url: self.reference.to_string(),
                reason: "--offline: OCI registries are not reached".into(),
            });
        }
        let client = OciClient::new(&self.reference, self.settings.oci_plain_http)?;
        let mut reference = self.reference.clone();
        if reference.tag.is_none() && reference.digest.is_none() {
            reference = reference.with_tag(&highest_tag(&client, &reference)?);
        }
        progress.phase("downloading", 0);
        let pulled = client.pull(&reference)?;
        let bad = |reason: String| SourceError::BadRemotePackage {
            url: reference.to_string(),
            reason,
        };
        let mut file = tempfile::Builder::new()
            .prefix(".pkg-oci-")
            .tempfile()
            .map_err(|e| bad(format!("cannot create a temporary file: {e}")))?;
        file.write_all(&pulled.archive)
            .and_then(|()| file.flush())
            .map_err(|e| bad(format!("cannot write the archive: {e}")))?;
        progress.phase("extracting", 0);
        let extracted = extract(file.path(), ArchiveFormat::TarGz, Limits::default())?;
        drop(file);
        if let Some(signature) = &pulled.signature {
            let path = extracted.root.join(SIGNATURE_FILE);
            match std::fs::read(&path) {
                Ok(inside) if &inside != signature => {
                    return Err(bad(format!(
                        "the signature layer differs from the archive's {SIGNATURE_FILE}; nothing was loaded"
                    )));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::write(&path, signature)
                        .map_err(|e| bad(format!("cannot write the signature: {e}")))?;
                }
                Err(e) => return Err(bad(format!("cannot read {SIGNATURE_FILE}: {e}"))),
            }
        }
        let pinned = reference.with_digest(&pulled.manifest_digest);
        // A semver tag asks for that version: a signed package behind
        // `:2.0.1` must be 2.0.1, not an older signed release pushed there.
        let asked = reference
            .tag
            .as_deref()
            .and_then(version_of_tag)
            .map(|v| Asked::version(&v.to_string()))
            .unwrap_or_default();
        Ok(Fetched {
            dir: extracted.root,
            origin: pinned.to_string(),
            commit: Some(pulled.manifest_digest),
            temp: Some(extracted.dir),
            asked,
        })
    }
}
