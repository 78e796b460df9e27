//! Uploads a plan keeps for the apply that follows it, so that a client
//! sends (and the server unpacks) a package once: `plan?stage=true`
//! answers with an upload id (`x-pkg-upload`), `apply?upload=ID` takes it.
//! An upload lives [`STAGED_FOR`] at most, and on the replica that received
//! it only; a client that gets 404 sends the archive again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::super::upload::Upload;

/// How long a staged upload is kept.
pub const STAGED_FOR: Duration = Duration::from_secs(600);
/// The most uploads kept at once (the oldest go first).
const MAX_STAGED: usize = 16;

/// The staged uploads.
#[derive(Default)]
pub struct Staging {
    uploads: Mutex<HashMap<String, (Upload, Instant, String)>>,
}

impl Staging {
    /// Keeps `upload` for `owner`; returns its id.
    pub fn put(&self, upload: Upload, owner: &str) -> Option<String> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut uploads = self.uploads.lock().ok()?;
        uploads.retain(|_, (_, at, _)| at.elapsed() < STAGED_FOR);
        while uploads.len() >= MAX_STAGED {
            let oldest = uploads
                .iter()
                .min_by_key(|(_, (_, at, _))| *at)
                .map(|(k, _)| k.clone())?;
            uploads.remove(&oldest);
        }
        uploads.insert(id.clone(), (upload, Instant::now(), owner.to_string()));
        Some(id)
    }

    /// Takes the upload `id` staged by `owner`.
    pub fn take(&self, id: &str, owner: &str) -> Option<Upload> {
        let mut uploads = self.uploads.lock().ok()?;
        match uploads.get(id) {
            Some((_, at, who)) if who == owner && at.elapsed() < STAGED_FOR => {
                uploads.remove(id).map(|(u, _, _)| u)
            }
            _ => None,
        }
    }
}
