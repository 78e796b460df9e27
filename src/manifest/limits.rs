//! How large the files of a package may be, and the capped reader that
//! enforces it: [`MAX_MANIFEST_BYTES`] for manifest.json, [`MAX_FILE_BYTES`]
//! for every other file, and [`read_capped`]/[`read_file_capped`], which
//! never read more than the limit allows. Reading packages, sources, git
//! and environments all use these, so they live with the format.

use std::io::Read;
use std::path::Path;

/// The largest manifest.json accepted.
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;
/// The largest details or data file accepted.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The largest data file of a database package's table (`/tables/...`):
/// these are hashed as they stream, never held whole.
pub const MAX_TABLE_FILE_BYTES: u64 = 64 << 30;

/// Reads at most `cap` bytes of the regular file at `path`; a larger file is an error.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let file = super::paths::open_file(path, false).map_err(|e| format!("cannot read: {e}"))?;
    read_file_capped(file, cap)
}

/// Reads at most `cap` bytes of an open regular file; a larger file is an error.
pub fn read_file_capped(file: std::fs::File, cap: u64) -> Result<Vec<u8>, String> {
    let meta = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    let len = meta.len();
    if len > cap {
        return Err(format!("is {len} bytes; the limit is {cap}"));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > cap {
        return Err(format!("is larger than the limit of {cap} bytes"));
    }
    Ok(bytes)
}
