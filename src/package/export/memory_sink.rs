//! The in-memory counterpart of the background file writer: an export
//! built in memory hands each file to another thread, which hashes it and
//! keeps it, so that reading the hub and formatting JSON overlap with
//! hashing. Files travel in batches over a bounded queue.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::package::error::PackageError;
use crate::safe_tree::MemoryTree;

/// How many batches may wait.
const QUEUE: usize = 16;
/// Files per batch.
const BATCH_FILES: usize = 256;

/// Files to keep: package path, relative path, bytes.
type Batch = Vec<(String, String, Vec<u8>)>;
/// What the thread hands back: the files and each package path's sha256.
type Kept = (MemoryTree, Vec<(String, [u8; 32])>);

/// Hashes and keeps files on a background thread.
pub(super) struct MemorySink {
    tx: Option<SyncSender<Batch>>,
    worker: Option<JoinHandle<Kept>>,
    batch: Batch,
}

impl MemorySink {
    /// Starts the thread.
    pub(super) fn start() -> MemorySink {
        let (tx, rx) = sync_channel::<Batch>(QUEUE);
        let worker = std::thread::Builder::new()
            .name("pkg-export".into())
            .spawn(move || {
                let mut tree = MemoryTree::default();
                let mut digests = Vec::new();
                for batch in rx {
                    for (loc, rel, bytes) in batch {
                        digests.push((loc, Sha256::digest(&bytes).into()));
                        tree.insert(rel, bytes);
                    }
                }
                (tree, digests)
            });
        match worker {
            Ok(worker) => MemorySink {
                tx: Some(tx),
                worker: Some(worker),
                batch: Vec::with_capacity(BATCH_FILES),
            },
            // No thread: `finish` keeps the files on the caller's thread.
            Err(_) => MemorySink {
                tx: None,
                worker: None,
                batch: Vec::new(),
            },
        }
    }

    /// Keeps `bytes` at package path `loc` (relative path `rel`).
    pub(super) fn write(&mut self, loc: String, rel: String, bytes: Vec<u8>) {
        self.batch.push((loc, rel, bytes));
        if self.batch.len() >= BATCH_FILES
            && let Some(tx) = &self.tx
        {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_FILES));
            if let Err(failed) = tx.send(batch) {
                // The thread is gone: keep the files for `finish`.
                self.batch = failed.0;
                self.tx = None;
            }
        }
    }

    /// Waits for the thread and returns every file and its digest (in the
    /// order written).
    pub(super) fn finish(mut self) -> Result<Kept, PackageError> {
        let rest = std::mem::take(&mut self.batch);
        let rest = match self.tx.take() {
            Some(tx) => match tx.send(rest) {
                Ok(()) => Vec::new(),
                Err(failed) => failed.0,
            },
            None => rest,
        };
        let (mut tree, mut digests) = match self.worker.take() {
            Some(worker) => worker
                .join()
                .map_err(|_| PackageError::Other("the export's hashing thread failed".into()))?,
            None => (MemoryTree::default(), Vec::new()),
        };
        for (loc, rel, bytes) in rest {
            digests.push((loc, Sha256::digest(&bytes).into()));
            tree.insert(rel, bytes);
        }
        Ok((tree, digests))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_file_with_its_digest() {
        let mut sink = MemorySink::start();
        for i in 0..1000 {
            sink.write(
                format!("/d/{i}"),
                format!("d/{i}"),
                i.to_string().into_bytes(),
            );
        }
        let (tree, digests) = sink.finish().unwrap();
        assert_eq!(tree.len(), 1000);
        assert_eq!(digests.len(), 1000);
        assert_eq!(tree.get("d/999"), Some(&b"999"[..]));
        let expected: [u8; 32] = Sha256::digest(b"7").into();
        assert_eq!(digests[7], ("/d/7".to_string(), expected));
    }
}
