//! Where pkg puts short-lived trees it writes and reads back at once (a
//! package a sync exports, an upload the server unpacks): `$TMPDIR` when
//! it is set, else `/dev/shm` when it is a writable directory (memory:
//! creating tens of thousands of small files there costs little), else the
//! system's temporary directory. Imports nothing of pkg's own.

use std::path::PathBuf;

/// The directory to create scratch trees in.
pub fn dir() -> PathBuf {
    if let Some(tmp) = std::env::var_os("TMPDIR").filter(|t| !t.is_empty()) {
        return PathBuf::from(tmp);
    }
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() && tempfile::tempdir_in(&shm).is_ok() {
        return shm;
    }
    std::env::temp_dir()
}

/// A new scratch directory (removed when dropped).
pub fn tempdir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix(".pkg-").tempdir_in(dir())
}
