//! An uploaded package archive, unpacked for reading under the archive
//! limits and read (every digest verified). A publish keeps the archive,
//! so it is written to a temporary file on the blobs' file system and
//! extracted beside it ([`unpack`]); a hub transfer is read at once and
//! never touches a disk ([`read_transfer`]). Runs on a blocking thread.

use std::io::Write;
use std::path::Path;

use super::error::ApiError;
use crate::loaders::archive::{self, ArchiveError, ArchiveFormat, Extracted};
use crate::package::read::{Package, read_memory_package, read_package};
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

/// The format of an uploaded archive, or a 400.
fn format_of(body: &[u8]) -> Result<ArchiveFormat, ApiError> {
    ArchiveFormat::sniff(body).ok_or_else(|| {
        ApiError::bad_request(
            "the body is not a package archive: send the .tar.gz or .zip that `pkg pack` writes",
        )
    })
}

fn refused(e: ArchiveError) -> ApiError {
    ApiError::bad_request(format!(
        "the archive was refused: {}",
        crate::error_text::with_causes(&e)
    ))
}

fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("the package does not validate: {e}"))
}

/// The most bytes of files a hub transfer may unpack to (it is held in
/// memory; a publish, unpacked to disk, may hold the default 2 GiB).
pub const MAX_TRANSFER_BYTES: u64 = 1 << 30;

/// Reads `body` (a `pkg pack` archive carrying a package to the hub) in
/// memory, with the checks of an extraction to disk and at most
/// [`MAX_TRANSFER_BYTES`] of files.
pub fn read_transfer(body: &[u8]) -> Result<Package, ApiError> {
    let format = format_of(body)?;
    let label = Path::new("upload");
    let limits = Limits {
        max_total_bytes: MAX_TRANSFER_BYTES,
        ..Limits::default()
    };
    let files = archive::extract_to_memory(body, format, limits, label).map_err(refused)?;
    read_memory_package(files, label, &NoProgress, false).map_err(invalid)
}

/// Unpacks `body` (a `pkg pack` archive being published): the archive file
/// in `temp_dir`, the tree under `tree_parent` (both on the blob
/// directory's disk).
pub fn unpack(temp_dir: &Path, tree_parent: &Path, body: &[u8]) -> Result<Upload, ApiError> {
    let format = format_of(body)?;
    let io = |what: &str, e: std::io::Error| ApiError::internal(format!("{what}: {e}"));
    let mut file = tempfile::NamedTempFile::new_in(temp_dir)
        .map_err(|e| io("cannot create an upload file", e))?;
    file.write_all(body)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| io("cannot write the upload", e))?;
    let extracted = archive::extract_in(file.path(), format, Limits::default(), tree_parent)
        .map_err(refused)?;
    let package = read_package(&extracted.root, &NoProgress).map_err(invalid)?;
    Ok(Upload {
        file,
        format,
        extracted,
        package,
    })
}
