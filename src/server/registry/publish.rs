//! Checking an uploaded archive before it is published: it must be a
//! `pkg pack` archive (tar.gz or zip) whose package validates, every digest
//! verified, with a name and a semver version. The archive, its manifest
//! and its signature (when signed) are then kept as blobs. Runs on a blocking thread.

use super::super::blobs::Blobs;
use super::super::error::ApiError;
use super::super::upload::{Upload, unpack};
use crate::registry::names::{check_name, check_version};
use crate::registry::types::VersionRecord;

/// A checked upload, its blobs written.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The package name.
    pub name: String,
    /// The version record (yanked false; who and when filled in by the caller).
    pub record: VersionRecord,
}

/// Checks `body` as a package archive and stores its blobs.
pub fn check_archive(blobs: &Blobs, body: &[u8]) -> Result<Checked, ApiError> {
    let io = |what: &str, e: std::io::Error| ApiError::internal(format!("{what}: {e}"));
    let Upload {
        file: temp,
        format,
        extracted,
        package,
    } = unpack(&blobs.temp_dir(), &blobs.temp_dir(), body)?;
    let manifest = &package.manifest;
    let name = manifest.name.clone().ok_or_else(|| {
        ApiError::bad_request("the package's manifest has no `name`; set one to publish it")
    })?;
    check_name(&name).map_err(ApiError::bad_request)?;
    let version = manifest.version.clone().ok_or_else(|| {
        ApiError::bad_request("the package's manifest has no `version`; set one to publish it")
    })?;
    check_version(&version).map_err(ApiError::bad_request)?;
    if !package.has_digests {
        return Err(ApiError::bad_request(
            "the package's manifest has no `digests`: publish what `pkg create` writes, so that every file is pinned",
        ));
    }
    let manifest_bytes = std::fs::read(extracted.root.join("manifest.json"))
        .map_err(|e| io("cannot read the extracted manifest", e))?;
    let manifest_digest = blobs
        .put(&manifest_bytes)
        .map_err(|e| io("cannot store the manifest", e))?;
    // The signature is kept as it came; the registry holds no keys, so it
    // records the key ID it names and loaders verify it with theirs.
    let signature = crate::signing::read_signature(&extracted.root)
        .map_err(|e| ApiError::bad_request(format!("the package's signature: {e}")))?;
    let (signature_digest, signer) = match signature {
        Some(text) => {
            let signer = crate::signing::claimed_key_id(&text)
                .map_err(|e| ApiError::bad_request(format!("the package's signature: {e}")))?;
            let digest = blobs
                .put(text.as_bytes())
                .map_err(|e| io("cannot store the signature", e))?;
            (Some(digest), Some(signer))
        }
        None => (None, None),
    };
    let archive_digest = format!("sha256:{:x}", <sha2::Sha256 as sha2::Digest>::digest(body));
    let path = blobs
        .path(&archive_digest)
        .ok_or_else(|| ApiError::internal("a digest out of shape"))?;
    if !path.is_file() {
        blobs
            .place(temp, &path)
            .map_err(|e| io("cannot store the archive", e))?;
    }
    Ok(Checked {
        name,
        record: VersionRecord {
            version,
            package_digest: package.digest.clone(),
            archive_digest,
            archive_format: format.extension().to_string(),
            size: body.len() as u64,
            manifest_digest,
            description: manifest.description.clone(),
            min_level: manifest.min_level.unwrap_or(1),
            dependencies: manifest.dependencies.clone(),
            yanked: false,
            published_at: String::new(),
            published_by: String::new(),
            signature_digest,
            signer,
        },
    })
}
