//! A background file writer: the caller prepares file contents (reading the
//! hub, formatting JSON, hashing) while another thread does the file-system
//! calls, so that CPU work and kernel work overlap. The queue is bounded, so
//! memory stays small however many files pass through. When linking from an
//! earlier package (`--link-dest`), the file-system side is the slower one:
//! a caller that finds the queue full links its batch itself instead of
//! waiting, so both cores link.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use super::error::PackageError;
use super::link_source::LinkSource;
use crate::model::fingerprint::RawDigest;

/// How many batches may wait to be written.
const QUEUE: usize = 16;
/// Files per batch: handing files over one by one would cost a thread wake-up each.
const BATCH_FILES: usize = 256;
/// Bytes per batch, at most (roughly).
const BATCH_BYTES: usize = 1 << 20;

/// A file to write: its path, its bytes, and (when an earlier package's
/// file at the same path may be linked instead) its package path and sha256.
type Job = Vec<(PathBuf, Vec<u8>, Option<(String, RawDigest)>)>;
type Failure = (&'static str, PathBuf, std::io::Error);

/// Writes files on a background thread, creating directories as needed.
/// With a link source (`--link-dest PREV`), a file whose bytes equal PREV's
/// file at the same package path is hard-linked to it instead of written.
pub struct FileSink {
    tx: Option<SyncSender<Job>>,
    worker: Option<JoinHandle<Result<u64, Failure>>>,
    batch: Job,
    batch_bytes: usize,
    /// Files linked by the writer thread and, when it helped, the caller.
    linked: u64,
    /// The earlier package, once the writer thread has read it.
    source: Arc<OnceLock<LinkSource>>,
    /// Directories the caller made when it stored a batch itself.
    own_dirs: HashSet<PathBuf>,
}

/// Makes the parent directory of every file of `files` (once per directory).
fn make_dirs(dirs: &mut HashSet<PathBuf>, files: &Job) -> Result<(), Failure> {
    for (path, _, _) in files {
        if let Some(parent) = path.parent().filter(|p| !dirs.contains(*p)) {
            std::fs::create_dir_all(parent)
                .map_err(|e| ("cannot create directory", parent.to_path_buf(), e))?;
            dirs.insert(parent.to_path_buf());
        }
    }
    Ok(())
}

/// Links (from `source`) or writes each file of `files`, whose directories
/// exist; returns how many it linked.
fn store_files(source: Option<&LinkSource>, files: Job) -> Result<u64, Failure> {
    let mut linked = 0;
    for (path, bytes, link) in files {
        if let (Some(source), Some((loc, digest))) = (source, &link)
            && source.link_if_same(loc, &bytes, digest, &path)
        {
            linked += 1;
            continue;
        }
        std::fs::write(&path, &bytes).map_err(|e| ("cannot write", path.clone(), e))?;
    }
    Ok(linked)
}

impl FileSink {
    /// Starts the writer thread. `link_root` is the canonical directory of
    /// an earlier package to hard-link unchanged files from
    /// ([`LinkSource::check`]); the thread reads it while the caller works.
    pub fn start(link_root: Option<PathBuf>) -> FileSink {
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let source = Arc::new(OnceLock::new());
        let shared = Arc::clone(&source);
        let worker = std::thread::spawn(move || {
            let source = link_root.map(|root| shared.get_or_init(|| LinkSource::load(root)));
            let mut dirs: HashSet<PathBuf> = HashSet::new();
            let mut linked = 0;
            for batch in rx {
                make_dirs(&mut dirs, &batch)?;
                linked += store_files(source, batch)?;
            }
            Ok(linked)
        });
        FileSink {
            tx: Some(tx),
            worker: Some(worker),
            batch: Vec::with_capacity(BATCH_FILES),
            batch_bytes: 0,
            linked: 0,
            source,
            own_dirs: HashSet::new(),
        }
    }

    /// The link source the writer read (known once [`FileSink::finish`] returned).
    pub fn link_source(&self) -> Option<&LinkSource> {
        self.source.get()
    }

    /// How many files were hard-linked (known once [`FileSink::finish`] returned).
    pub fn linked(&self) -> u64 {
        self.linked
    }

    /// Hands the current batch to the writer thread, or, when linking and
    /// the writer is behind, stores it here.
    fn flush(&mut self) -> Result<(), PackageError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_FILES));
        self.batch_bytes = 0;
        let Some(tx) = &self.tx else {
            return self.finish();
        };
        let batch = match (self.source.get(), tx.try_send(batch)) {
            (_, Ok(())) => return Ok(()),
            (_, Err(TrySendError::Disconnected(_))) => return self.finish(),
            (Some(source), Err(TrySendError::Full(batch))) => {
                let stored = make_dirs(&mut self.own_dirs, &batch)
                    .and_then(|()| store_files(Some(source), batch));
                return match stored {
                    Ok(linked) => {
                        self.linked += linked;
                        Ok(())
                    }
                    Err((action, path, source)) => Err(PackageError::io(action, path, source)),
                };
            }
            (None, Err(TrySendError::Full(batch))) => batch,
        };
        let sent = tx.send(batch).is_ok();
        if sent { Ok(()) } else { self.finish() }
    }

    /// Queues `bytes` to be written to `path`. Fails with the writer's error
    /// once the writer has stopped on one.
    pub fn write(&mut self, path: &Path, bytes: Vec<u8>) -> Result<(), PackageError> {
        self.write_or_link(path, bytes, None)
    }

    /// Queues `bytes` for `path`, to be hard-linked from the link source's
    /// file at package path `loc` when that file holds the same bytes
    /// (`link` is that path and the bytes' sha256).
    pub fn write_or_link(
        &mut self,
        path: &Path,
        bytes: Vec<u8>,
        link: Option<(String, RawDigest)>,
    ) -> Result<(), PackageError> {
        self.batch_bytes += bytes.len();
        self.batch.push((path.to_path_buf(), bytes, link));
        if self.batch.len() >= BATCH_FILES || self.batch_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Waits until every queued file is written; returns the first error.
    pub fn finish(&mut self) -> Result<(), PackageError> {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            if let Some(tx) = &self.tx {
                let _ = tx.send(batch);
            }
        }
        drop(self.tx.take());
        match self.worker.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(Ok(linked))) => {
                self.linked += linked;
                Ok(())
            }
            Some(Ok(Err((action, path, source)))) => Err(PackageError::io(action, path, source)),
            Some(Err(_)) => Err(PackageError::Other("the file writer thread failed".into())),
        }
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_only_identical_files() {
        let dir = tempfile::tempdir().unwrap();
        let prev = dir.path().join("prev");
        std::fs::create_dir_all(prev.join("d")).unwrap();
        std::fs::write(prev.join("d/same"), "x").unwrap();
        std::fs::write(prev.join("d/other"), "old").unwrap();
        let root = LinkSource::check(&prev).unwrap();
        let out = dir.path().join("out");
        let mut sink = FileSink::start(Some(root));
        for (name, bytes) in [("same", "x"), ("other", "new"), ("absent", "z")] {
            let digest = crate::model::fingerprint::sha256(bytes.as_bytes());
            sink.write_or_link(
                &out.join("d").join(name),
                bytes.into(),
                Some((format!("/d/{name}"), digest)),
            )
            .unwrap();
        }
        sink.finish().unwrap();
        assert_eq!(sink.linked(), 1);
        use std::os::unix::fs::MetadataExt;
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(ino(&out.join("d/same")), ino(&prev.join("d/same")));
        assert!(sink.link_source().is_some());
        assert_eq!(std::fs::read_to_string(out.join("d/other")).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(out.join("d/absent")).unwrap(), "z");
    }

    #[test]
    fn writes_files_and_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FileSink::start(None);
        for i in 0..100 {
            sink.write(&dir.path().join(format!("d{}/f{i}", i % 3)), vec![b'x'; i])
                .unwrap();
        }
        sink.finish().unwrap();
        assert_eq!(std::fs::read(dir.path().join("d1/f7")).unwrap().len(), 7);

        let mut sink = FileSink::start(None);
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let _ = sink.write(&dir.path().join("file/below"), vec![]);
        let err = sink.finish().unwrap_err().to_string();
        assert!(err.contains("cannot create directory"), "{err}");
    }
}
