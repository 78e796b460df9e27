//! Serialises operations on one environment: an exclusive lock on
//! `.pkg-env.lock` in the environment directory, held for the whole
//! operation. Different environments have different lock files and run in
//! parallel.

use std::fs::File;
use std::path::Path;

use super::BackendError;

/// The lock file's name inside an environment directory.
pub const LOCK_FILE: &str = ".pkg-env.lock";

/// A held environment lock (released on drop).
#[derive(Debug)]
pub struct EnvLock {
    _file: File,
}

impl EnvLock {
    /// Creates `dir` (for `init`) and takes its lock.
    pub fn create(dir: &Path) -> Result<EnvLock, BackendError> {
        std::fs::create_dir_all(dir).map_err(|source| BackendError::Io {
            action: "cannot create",
            path: dir.to_path_buf(),
            source,
        })?;
        EnvLock::acquire(dir)
    }

    /// Waits for and takes the lock of the environment in `dir` (which
    /// must exist).
    pub fn acquire(dir: &Path) -> Result<EnvLock, BackendError> {
        let path = dir.join(LOCK_FILE);
        let io = |action, source| BackendError::Io {
            action,
            path: path.clone(),
            source,
        };
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io("cannot open the environment lock", e))?;
        file.lock().map_err(|e| io("cannot lock", e))?;
        Ok(EnvLock { _file: file })
    }
}
