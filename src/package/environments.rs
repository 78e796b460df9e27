//! `pkg load --with-envs DEST`: the environments a package carries are
//! copied to `DEST/NAME/` and installed exactly from their lock files
//! (`sync --frozen`). An environment directory that already holds other
//! files of the same names is refused, never overwritten. This is package
//! work: it drives [`crate::backends`], which knows nothing of packages.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::Package;
use super::read::PackageFiles;
use crate::backends::{BackendError, BackendKind, OutputSink, open};
use crate::manifest::environment::Environment;
use crate::manifest::limits::{MAX_FILE_BYTES, read_file_capped};
use crate::manifest::paths::open_file;

/// One environment that was materialised.
#[derive(Debug, Clone, Serialize)]
pub struct Materialised {
    /// The environment's name.
    pub name: String,
    /// Its backend.
    pub backend: BackendKind,
    /// Where it is now.
    pub dir: PathBuf,
}

/// Checks that every environment of `package` can go to `dest` (known
/// backend, no conflicting files there), without writing anything.
pub fn check(package: &Package, dest: &Path) -> Result<(), BackendError> {
    for env in &package.environments {
        BackendKind::parse(&env.backend)?;
        let target = dest.join(&env.name);
        for file in &env.files {
            let existing = target.join(env.relative(file));
            if existing.exists() && read(&existing)? != package_file(package, file)? {
                return Err(BackendError::NotAnEnvironment {
                    dir: target.clone(),
                    reason: format!(
                        "it already holds a different `{}`; remove it or pass another --with-envs directory",
                        env.relative(file)
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Copies each environment to `dest/NAME` and installs it from its lock
/// file.
pub fn materialise(
    package: &Package,
    dest: &Path,
    sink: Arc<dyn OutputSink>,
) -> Result<Vec<Materialised>, BackendError> {
    check(package, dest)?;
    let mut done = Vec::new();
    for env in &package.environments {
        let kind = BackendKind::parse(&env.backend)?;
        let target = dest.join(&env.name);
        let existed = target.exists();
        let result = install(package, env, kind, &target, sink.clone());
        if result.is_err() && !existed {
            // Leave no half-made environment behind (one pkg created).
            let _ = std::fs::remove_dir_all(&target);
        }
        result?;
        done.push(Materialised {
            name: env.name.clone(),
            backend: kind,
            dir: target,
        });
    }
    Ok(done)
}

/// Copies `env`'s files to `target` and installs it from its lock file.
fn install(
    package: &Package,
    env: &Environment,
    kind: BackendKind,
    target: &Path,
    sink: Arc<dyn OutputSink>,
) -> Result<(), BackendError> {
    std::fs::create_dir_all(target).map_err(|source| BackendError::Io {
        action: "cannot create",
        path: target.to_path_buf(),
        source,
    })?;
    for file in &env.files {
        let bytes = package_file(package, file)?;
        write_atomic(&target.join(env.relative(file)), &bytes)?;
    }
    open(kind, target, sink)?.sync(true)
}

/// The file `loc` of `package`: from its directory without following a
/// symlink, or from memory.
fn package_file(package: &Package, loc: &str) -> Result<Vec<u8>, BackendError> {
    match &package.files {
        PackageFiles::Dir => read(&package.path_of(loc)),
        PackageFiles::Memory(_) => package
            .read_file(loc)
            .map(std::borrow::Cow::into_owned)
            .map_err(|e| BackendError::Io {
                action: "cannot read",
                path: package.path_of(loc),
                source: std::io::Error::other(e),
            }),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, BackendError> {
    let file = open_file(path, true).map_err(|source| BackendError::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })?;
    read_file_capped(file, MAX_FILE_BYTES).map_err(|e| BackendError::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BackendError> {
    let io = |source| BackendError::Io {
        action: "cannot write",
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".pkg-env-")
        .tempfile_in(dir)
        .map_err(io)?;
    std::io::Write::write_all(&mut temp, bytes).map_err(io)?;
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
