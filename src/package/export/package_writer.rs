//! Writing the package's files: every path checked with the load's
//! containment rule, every digest recorded, files handed to the background
//! writer, and manifest.json streamed (or linked from `--link-dest`).

use std::path::{Path, PathBuf};

use std::io::Write;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::memory_sink::MemorySink;
use crate::hub::HubResource;
use crate::manifest::paths::check_syntax;
use crate::manifest::types::parse_digest;
use crate::manifest::write::write_manifest;
use crate::manifest::{Entry, MANIFEST_FILE, Manifest};
use crate::model::fingerprint::hex;
use crate::model::validate_slug;
use crate::model::{ResourceKey, ResourceKind};
use crate::package::error::PackageError;
use crate::package::file_sink::FileSink;
use crate::package::link_source::LinkSource;

/// Where the package's files go.
pub(super) enum Output {
    /// Under a temporary root, through the background writer.
    Dir {
        root: PathBuf,
        /// Whether files may be hard-linked from `--link-dest`.
        linking: bool,
        sink: FileSink,
    },
    /// Into memory (an export that is sent at once), hashed on another
    /// thread: the digests come from [`MemorySink::finish`].
    Memory(MemorySink),
}

/// Writes the package's files and records their digests.
pub(super) struct Writer {
    /// The digests of the files written to a directory.
    pub(super) digests: Vec<(String, [u8; 32])>,
    pub(super) out: Output,
}

impl Writer {
    /// Writes `bytes` at package path `loc`, which must pass the same
    /// containment rule a load applies (the hub's content is untrusted).
    pub(super) fn write(&mut self, loc: &str, bytes: Vec<u8>) -> Result<(), PackageError> {
        let parts = check_syntax(loc).map_err(|e| {
            PackageError::Other(format!("refusing to write outside the package: {e}"))
        })?;
        match &mut self.out {
            Output::Dir {
                root,
                linking,
                sink,
            } => {
                let digest: [u8; 32] = Sha256::digest(&bytes).into();
                self.digests.push((loc.to_string(), digest));
                let mut path = root.clone();
                path.extend(parts);
                let link = linking.then(|| (loc.to_string(), digest));
                sink.write_or_link(&path, bytes, link)
            }
            Output::Memory(sink) => {
                sink.write(loc.to_string(), parts.join("/"), bytes);
                Ok(())
            }
        }
    }

    pub(super) fn write_details(&mut self, resource: &HubResource) -> Result<Entry, PackageError> {
        let key = &resource.key;
        check_key_slugs(key)?;
        let loc = if key.kind == ResourceKind::Space {
            format!("/spaces/{}.json", key.slug)
        } else {
            format!("/{}/{}/{}.json", key.kind.plural(), key.space, key.slug)
        };
        let mut text = serde_json::to_string_pretty(&Value::Object(resource.details.clone()))
            .unwrap_or_default();
        text.push('\n');
        self.write(&loc, text.into_bytes())?;
        Ok(Entry {
            key: key.clone(),
            details_loc: loc,
            unit_data_loc: None,
            refs: resource.refs.clone(),
        })
    }
}

/// Refuses a key whose space or slug is not a valid slug (a hub edited
/// behind pkg's back): such names become paths in the package.
pub(super) fn check_key_slugs(key: &ResourceKey) -> Result<(), PackageError> {
    for slug in [key.space_slug(), &key.slug] {
        validate_slug(slug).map_err(|e| {
            PackageError::Other(format!(
                "the hub holds {key}, which cannot be written to a package: {e}"
            ))
        })?;
    }
    Ok(())
}

/// A writer that hashes what passes through it.
pub(super) struct Hashing<W: Write> {
    pub(super) inner: W,
    pub(super) hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The digest manifest.json would have, computed without writing it.
pub(super) fn manifest_digest(
    manifest: &Manifest,
    digests: &[(String, [u8; 32])],
) -> std::io::Result<String> {
    let mut out = Hashing {
        inner: std::io::sink(),
        hasher: Sha256::new(),
    };
    write_manifest_entries(&mut out, manifest, digests)?;
    Ok(format!("sha256:{}", hex(&out.hasher.finalize())))
}

/// Writes manifest.json with `digests` as its `digests` key.
pub(super) fn write_manifest_entries(
    out: &mut impl Write,
    manifest: &Manifest,
    digests: &[(String, [u8; 32])],
) -> std::io::Result<()> {
    let mut iter = digests
        .iter()
        .map(|(loc, d)| (loc.clone(), format!("sha256:{}", hex(d))));
    write_manifest(out, manifest, Some(&mut iter))
}

/// Streams manifest.json to `path` (never the whole text in memory) and
/// returns its digest.
pub(super) fn write_manifest_file(
    path: &Path,
    manifest: &Manifest,
    digests: &[(String, [u8; 32])],
) -> std::io::Result<String> {
    let file = std::fs::File::create(path)?;
    let mut out = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 16, file),
        hasher: Sha256::new(),
    };
    write_manifest_entries(&mut out, manifest, digests)?;
    out.flush()?;
    Ok(format!("sha256:{}", hex(&out.hasher.finalize())))
}

/// Hard-links PREV's manifest to `path` when it has `digest`, the digest of
/// the manifest this package would write (an unchanged hub, same options).
pub(super) fn link_manifest(source: &LinkSource, digest: &str, path: &Path) -> bool {
    parse_digest(digest).is_some_and(|d| source.manifest_is(&d))
        && std::fs::hard_link(source.root().join(MANIFEST_FILE), path).is_ok()
}
