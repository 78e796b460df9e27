//! An uploaded package archive, unpacked for reading: written to a
//! temporary file on the blobs' file system, extracted under the archive
//! limits, and read (every digest verified). Runs on a blocking thread.

use std::io::Write;
use std::path::Path;

use super::error::ApiError;
use crate::loaders::archive::{self, ArchiveFormat, Extracted};
use crate::package::read::{Package, read_package};
use crate::progress::NoProgress;
use crate::safe_tree::Limits;

/// An unpacked upload; the files live as long as this.
pub struct Upload {
    /// The temporary file holding the archive as sent.
    pub file: tempfile::NamedTempFile,
    /// The archive's format.
    pub format: ArchiveFormat,
    /// The extracted tree.
    pub extracted: Extracted,
    /// The package, checked.
    pub package: Package,
}

/// Unpacks `body` (a `pkg pack` archive): the archive file in `temp_dir`,
/// the tree under `tree_parent` (the blob directory's disk for a publish;
/// a scratch directory, [`crate::scratch`], for a hub transfer that is read
/// at once).
pub fn unpack(temp_dir: &Path, tree_parent: &Path, body: &[u8]) -> Result<Upload, ApiError> {
    let format = ArchiveFormat::sniff(body).ok_or_else(|| {
        ApiError::bad_request(
            "the body is not a package archive: send the .tar.gz or .zip that `pkg pack` writes",
        )
    })?;
    let io = |what: &str, e: std::io::Error| ApiError::internal(format!("{what}: {e}"));
    let mut file = tempfile::NamedTempFile::new_in(temp_dir)
        .map_err(|e| io("cannot create an upload file", e))?;
    file.write_all(body)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| io("cannot write the upload", e))?;
    let extracted = archive::extract_in(file.path(), format, Limits::default(), tree_parent)
        .map_err(|e| ApiError::bad_request(format!("the archive was refused: {e}")))?;
    let package = read_package(&extracted.root, &NoProgress)
        .map_err(|e| ApiError::bad_request(format!("the package does not validate: {e}")))?;
    Ok(Upload {
        file,
        format,
        extracted,
        package,
    })
}
