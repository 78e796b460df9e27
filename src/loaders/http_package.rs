//! A cub-style package served over HTTP: GET `manifest.json` at the root
//! URL, then every file it names (details, data, digested files), several at
//! a time, into a temporary tree. Paths are checked before any request is
//! made; digests are verified when the package is read.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;

use url::Url;

use super::http::{HttpClient, HttpError};
use super::{Fetched, Source, SourceError};
use crate::manifest::limits::{MAX_FILE_BYTES, MAX_MANIFEST_BYTES};
use crate::manifest::parse::parse_manifest;
use crate::manifest::paths::check_syntax;
use crate::manifest::types::MANIFEST_FILE;
use crate::progress::Progress;
use crate::safe_tree::{Limits, TreeWriter};
use crate::source_settings::SourceSettings;

/// How many files are downloaded at once.
pub const PARALLEL_DOWNLOADS: usize = 8;

/// A package root URL.
#[derive(Debug, Clone)]
pub struct HttpPackage {
    root: Url,
    settings: SourceSettings,
}

impl HttpPackage {
    /// The package whose `manifest.json` is at `url` + `/manifest.json`.
    pub fn new(url: Url, settings: SourceSettings) -> HttpPackage {
        let mut root = url;
        if let Ok(mut segments) = root.path_segments_mut() {
            segments.pop_if_empty();
        }
        // `URL/manifest.json` names the same package as `URL`.
        if root.path().ends_with(&format!("/{MANIFEST_FILE}"))
            && let Ok(mut segments) = root.path_segments_mut()
        {
            segments.pop();
        }
        HttpPackage { root, settings }
    }

    /// The URL of package path `loc` (`/units/a.json`), each segment encoded.
    fn url_of(&self, loc: &str) -> Url {
        let mut url = self.root.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend(loc.trim_start_matches('/').split('/'));
        }
        url
    }
}

impl Source for HttpPackage {
    fn fetch(&self, progress: &dyn Progress) -> Result<Fetched, SourceError> {
        let client = HttpClient::new(&self.settings)?;
        let manifest_url = self.url_of(MANIFEST_FILE);
        progress.phase("downloading manifest", 0);
        let bytes = client.get_bytes(&manifest_url, MAX_MANIFEST_BYTES)?;
        let bad = |reason: String| SourceError::BadRemotePackage {
            url: manifest_url.to_string(),
            reason,
        };
        let (manifest, problems) = parse_manifest(&bytes);
        let Some(manifest) = manifest else {
            let first = problems
                .first()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "not a manifest".into());
            return Err(bad(format!("not a usable manifest: {first}")));
        };
        let mut locs: BTreeSet<String> = manifest.named_paths().map(str::to_string).collect();
        locs.extend(manifest.rejected_locs.iter().cloned());
        if let Some(digests) = &manifest.digests {
            locs.extend(digests.paths().map(str::to_string));
        }
        for loc in &locs {
            check_syntax(loc).map_err(|e| bad(format!("path `{loc}`: {e}")))?;
        }
        locs.remove(&format!("/{MANIFEST_FILE}"));
        let mut writer = TreeWriter::new(Limits::default())?;
        writer.add_file(MANIFEST_FILE, &mut bytes.as_slice())?;
        drop(bytes);
        let locs: Vec<String> = locs.into_iter().collect();
        progress.phase("downloading", locs.len() as u64);
        download_all(&client, self, &locs, &mut writer, progress)?;
        let temp = writer.finish();
        Ok(Fetched {
            dir: temp.path().to_path_buf(),
            origin: self.root.to_string(),
            commit: None,
            temp: Some(temp),
            asked: crate::signing::Asked::nothing(),
        })
    }
}

/// Downloads `locs` with [`PARALLEL_DOWNLOADS`] threads; the calling thread
/// writes the files. The first failure stops the others.
fn download_all(
    client: &HttpClient,
    package: &HttpPackage,
    locs: &[String],
    writer: &mut TreeWriter,
    progress: &dyn Progress,
) -> Result<(), SourceError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (sender, receiver) =
        sync_channel::<(usize, Result<Vec<u8>, HttpError>)>(PARALLEL_DOWNLOADS * 2);
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_DOWNLOADS.min(locs.len()) {
            let sender = sender.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(loc) = locs.get(i) else { break };
                    let result = client.get_bytes(&package.url_of(loc), MAX_FILE_BYTES);
                    if sender.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut outcome = Ok(());
        for (i, result) in receiver {
            if outcome.is_err() {
                continue;
            }
            outcome = result.map_err(SourceError::from).and_then(|bytes| {
                writer
                    .add_file(locs[i].trim_start_matches('/'), &mut bytes.as_slice())
                    .map(|_| ())
                    .map_err(SourceError::from)
            });
            if outcome.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            progress.advance(1);
        }
        outcome
    })
}
