//! A background file writer: the caller prepares file contents (reading the
//! hub, formatting JSON, hashing) while another thread does the file-system
//! calls, so that CPU work and kernel work overlap. The queue is bounded, so
//! memory stays small however many files pass through.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::error::PackageError;

/// How many batches may wait to be written.
const QUEUE: usize = 16;
/// Files per batch: handing files over one by one would cost a thread wake-up each.
const BATCH_FILES: usize = 256;
/// Bytes per batch, at most (roughly).
const BATCH_BYTES: usize = 1 << 20;

type Job = Vec<(PathBuf, Vec<u8>)>;
type Failure = (&'static str, PathBuf, std::io::Error);

/// Writes files on a background thread, creating directories as needed.
pub struct FileSink {
    tx: Option<SyncSender<Job>>,
    worker: Option<JoinHandle<Result<(), Failure>>>,
    batch: Job,
    batch_bytes: usize,
}

impl FileSink {
    /// Starts the writer thread.
    pub fn start() -> FileSink {
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let worker = std::thread::spawn(move || {
            let mut dirs: HashSet<PathBuf> = HashSet::new();
            for batch in rx {
                for (path, bytes) in batch {
                    if let Some(parent) = path.parent().filter(|p| !dirs.contains(*p)) {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| ("cannot create directory", parent.to_path_buf(), e))?;
                        dirs.insert(parent.to_path_buf());
                    }
                    std::fs::write(&path, &bytes).map_err(|e| ("cannot write", path.clone(), e))?;
                }
            }
            Ok(())
        });
        FileSink {
            tx: Some(tx),
            worker: Some(worker),
            batch: Vec::with_capacity(BATCH_FILES),
            batch_bytes: 0,
        }
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
        self.batch_bytes += bytes.len();
        self.batch.push((path.to_path_buf(), bytes));
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
            None | Some(Ok(Ok(()))) => Ok(()),
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
    fn writes_files_and_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FileSink::start();
        for i in 0..100 {
            sink.write(&dir.path().join(format!("d{}/f{i}", i % 3)), vec![b'x'; i])
                .unwrap();
        }
        sink.finish().unwrap();
        assert_eq!(std::fs::read(dir.path().join("d1/f7")).unwrap().len(), 7);

        let mut sink = FileSink::start();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let _ = sink.write(&dir.path().join("file/below"), vec![]);
        let err = sink.finish().unwrap_err().to_string();
        assert!(err.contains("cannot create directory"), "{err}");
    }
}
