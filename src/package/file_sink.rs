//! A background file writer: the caller prepares file contents (reading the
//! hub, formatting JSON, hashing) while another thread does the file-system
//! calls, so that CPU work and kernel work overlap. The queue is bounded, so
//! memory stays small however many files pass through.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::error::PackageError;
use crate::manifest::paths::Resolver;

/// How many batches may wait to be written.
const QUEUE: usize = 16;
/// Files per batch: handing files over one by one would cost a thread wake-up each.
const BATCH_FILES: usize = 256;
/// Bytes per batch, at most (roughly).
const BATCH_BYTES: usize = 1 << 20;

/// A file to write: its path, its bytes, and its package path when an
/// earlier package's file at the same path may be linked instead.
type Job = Vec<(PathBuf, Vec<u8>, Option<String>)>;
type Failure = (&'static str, PathBuf, std::io::Error);

/// Writes files on a background thread, creating directories as needed.
/// With a link source (`--link-dest PREV`), a file whose bytes equal PREV's
/// file at the same package path is hard-linked to it instead of written.
pub struct FileSink {
    tx: Option<SyncSender<Job>>,
    worker: Option<JoinHandle<Result<u64, Failure>>>,
    batch: Job,
    batch_bytes: usize,
    linked: u64,
}

/// Hard-links `target` to `loc` under the link source when that file holds
/// exactly `bytes`. Any doubt (missing, different, a symlink out of the
/// source, another file system) means no link: the caller writes instead.
fn link_if_same(source: &Resolver, loc: &str, bytes: &[u8], target: &Path) -> bool {
    let Ok(prev) = source.resolve(loc) else {
        return false;
    };
    let same_len = std::fs::metadata(&prev).is_ok_and(|m| m.len() == bytes.len() as u64);
    same_len
        && std::fs::read(&prev).is_ok_and(|old| old == bytes)
        && std::fs::hard_link(&prev, target).is_ok()
}

impl FileSink {
    /// Starts the writer thread; `link_source` is the canonical directory
    /// of an earlier package to hard-link unchanged files from.
    pub fn start(link_source: Option<PathBuf>) -> FileSink {
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let worker = std::thread::spawn(move || {
            let source = link_source.as_deref().map(Resolver::new);
            let mut dirs: HashSet<PathBuf> = HashSet::new();
            let mut linked = 0;
            for batch in rx {
                for (path, bytes, loc) in batch {
                    if let Some(parent) = path.parent().filter(|p| !dirs.contains(*p)) {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| ("cannot create directory", parent.to_path_buf(), e))?;
                        dirs.insert(parent.to_path_buf());
                    }
                    if let (Some(source), Some(loc)) = (&source, &loc)
                        && link_if_same(source, loc, &bytes, &path)
                    {
                        linked += 1;
                        continue;
                    }
                    std::fs::write(&path, &bytes).map_err(|e| ("cannot write", path.clone(), e))?;
                }
            }
            Ok(linked)
        });
        FileSink {
            tx: Some(tx),
            worker: Some(worker),
            batch: Vec::with_capacity(BATCH_FILES),
            batch_bytes: 0,
            linked: 0,
        }
    }

    /// How many files were hard-linked (known once [`FileSink::finish`] returned).
    pub fn linked(&self) -> u64 {
        self.linked
    }

    /// Hands the current batch to the writer thread.
    fn flush(&mut self) -> Result<(), PackageError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_FILES));
        self.batch_bytes = 0;
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(batch).is_ok());
        if sent { Ok(()) } else { self.finish() }
    }

    /// Queues `bytes` to be written to `path`. Fails with the writer's error
    /// once the writer has stopped on one.
    pub fn write(&mut self, path: &Path, bytes: Vec<u8>) -> Result<(), PackageError> {
        self.write_or_link(path, bytes, None)
    }

    /// Queues `bytes` for `path`, to be hard-linked from the link source's
    /// file at package path `loc` when that file holds the same bytes.
    pub fn write_or_link(
        &mut self,
        path: &Path,
        bytes: Vec<u8>,
        loc: Option<String>,
    ) -> Result<(), PackageError> {
        self.batch_bytes += bytes.len();
        self.batch.push((path.to_path_buf(), bytes, loc));
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
                self.linked = linked;
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
        std::os::unix::fs::symlink("/etc/hostname", prev.join("d/link")).unwrap();
        let prev = std::fs::canonicalize(&prev).unwrap();
        let out = dir.path().join("out");
        let mut sink = FileSink::start(Some(prev.clone()));
        for (name, bytes) in [
            ("same", "x"),
            ("other", "new"),
            ("link", "y"),
            ("absent", "z"),
        ] {
            sink.write_or_link(
                &out.join("d").join(name),
                bytes.into(),
                Some(format!("/d/{name}")),
            )
            .unwrap();
        }
        sink.finish().unwrap();
        assert_eq!(sink.linked(), 1);
        use std::os::unix::fs::MetadataExt;
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(ino(&out.join("d/same")), ino(&prev.join("d/same")));
        assert_ne!(ino(&out.join("d/other")), ino(&prev.join("d/other")));
        assert_eq!(std::fs::read_to_string(out.join("d/other")).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(out.join("d/link")).unwrap(), "y");
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
