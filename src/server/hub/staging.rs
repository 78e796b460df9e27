//! Uploads a plan keeps for the apply that follows it, so that a client
//! sends (and the server unpacks) a package once: `plan?stage=true`
//! answers with an upload id (`x-pkg-upload`), `apply?upload=ID` takes it.
//! An upload is a package in memory; it lives [`STAGED_FOR`] at most, on
//! the replica that received it only, and the oldest go first beyond
//! [`MAX_STAGED`] uploads or [`MAX_STAGED_BYTES`]. A client that gets 404
//! sends the archive again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::package::read::{Package, PackageFiles};

/// How long a staged upload is kept.
pub const STAGED_FOR: Duration = Duration::from_secs(600);
/// The most uploads kept at once (the oldest go first).
pub const MAX_STAGED: usize = 16;
/// The most bytes of package files kept at once (the oldest go first; a
/// larger package is not kept).
pub const MAX_STAGED_BYTES: u64 = 512 << 20;

/// One staged upload.
struct Staged {
    package: Package,
    bytes: u64,
    at: Instant,
    owner: String,
}

/// The staged uploads.
#[derive(Default)]
pub struct Staging {
    uploads: Mutex<HashMap<String, Staged>>,
}

impl Staging {
    /// Keeps `package` (an upload in memory) for `owner`; returns its id,
    /// or `None` when it is not kept.
    pub fn put(&self, package: Package, owner: &str) -> Option<String> {
        let bytes = match &package.files {
            PackageFiles::Memory(tree) => tree.total_bytes(),
            PackageFiles::Dir => return None,
        };
        if bytes > MAX_STAGED_BYTES {
            return None;
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut uploads = self.uploads.lock().ok()?;
        uploads.retain(|_, s| s.at.elapsed() < STAGED_FOR);
        while uploads.len() >= MAX_STAGED
            || uploads.values().map(|s| s.bytes).sum::<u64>() + bytes > MAX_STAGED_BYTES
        {
            let oldest = uploads
                .iter()
                .min_by_key(|(_, s)| s.at)
                .map(|(k, _)| k.clone())?;
            uploads.remove(&oldest);
        }
        let staged = Staged {
            package,
            bytes,
            at: Instant::now(),
            owner: owner.to_string(),
        };
        uploads.insert(id.clone(), staged);
        Some(id)
    }

    /// Takes the upload `id` staged by `owner`.
    pub fn take(&self, id: &str, owner: &str) -> Option<Package> {
        let mut uploads = self.uploads.lock().ok()?;
        match uploads.get(id) {
            Some(s) if s.owner == owner && s.at.elapsed() < STAGED_FOR => {
                uploads.remove(id).map(|s| s.package)
            }
            _ => None,
        }
    }
}
