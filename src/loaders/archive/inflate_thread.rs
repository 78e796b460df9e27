//! Reading a tar.gz held in memory with the inflating on a second thread:
//! one thread inflates the gzip stream into a bounded queue of chunks while
//! the caller's thread parses the tar entries from it, so that on two cores
//! the two overlap. Errors and the checks of the end of the stream are the
//! single-threaded reader's, in the same words.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use flate2::bufread::GzDecoder;

use super::error::ArchiveError;
use super::extraction::Extraction;
use crate::safe_tree::TreeStorage;

/// Bytes per chunk handed over.
const CHUNK: usize = 256 << 10;
/// Chunks the inflating thread may be ahead (and past the decompression
/// limit before the reader stops it).
const AHEAD: usize = 16;

/// What the inflating thread hands over.
enum Inflated {
    /// The next bytes of the tar stream.
    Bytes(Vec<u8>),
    /// The gzip stream is damaged.
    Damaged(io::ErrorKind, String),
    /// Bytes follow the end of the gzip stream.
    Trailing,
}

/// Inflates `gz` into `tx` until the end of the stream, then checks that
/// nothing follows it. Stops when the reader hangs up.
fn inflate(gz: &[u8], tx: &SyncSender<Inflated>) {
    let mut decoder = GzDecoder::new(gz);
    loop {
        let mut chunk = vec![0_u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match decoder.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // What was inflated before the damage is read first,
                    // as from a reader that inflates as it goes.
                    chunk.truncate(filled);
                    if filled > 0 && tx.send(Inflated::Bytes(chunk)).is_err() {
                        return;
                    }
                    let _ = tx.send(Inflated::Damaged(e.kind(), e.to_string()));
                    return;
                }
            }
        }
        if filled == 0 {
            break;
        }
        chunk.truncate(filled);
        if tx.send(Inflated::Bytes(chunk)).is_err() {
            return;
        }
    }
    if !decoder.into_inner().is_empty() {
        let _ = tx.send(Inflated::Trailing);
    }
}

/// The tar stream, read from the inflating thread's queue.
struct Queue {
    rx: Receiver<Inflated>,
    chunk: Vec<u8>,
    at: usize,
    /// The error that ended the stream, given again on every later read.
    failed: Option<(io::ErrorKind, String)>,
    trailing: bool,
}

impl Read for Queue {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if let Some((kind, message)) = &self.failed {
                return Err(io::Error::new(*kind, message.clone()));
            }
            match self.rx.recv() {
                Ok(Inflated::Bytes(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Inflated::Damaged(kind, message)) => self.failed = Some((kind, message)),
                Ok(Inflated::Trailing) => {
                    self.trailing = true;
                    return Ok(0);
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl<S: TreeStorage> Extraction<'_, S> {
    /// [`Extraction::tar_gz`] of an archive in memory, inflating on another
    /// thread.
    pub(super) fn tar_gz_threaded(&mut self, gz: &[u8]) -> Result<(), ArchiveError> {
        std::thread::scope(|scope| {
            let (tx, rx) = sync_channel(AHEAD);
            scope.spawn(move || inflate(gz, &tx));
            let queue = Queue {
                rx,
                chunk: Vec::new(),
                at: 0,
                failed: None,
                trailing: false,
            };
            let mut tar = tar::Archive::new(self.counter.wrap(queue));
            // On an error the queue is dropped with `tar`, and the thread
            // stops at its next chunk.
            self.tar_entries(&mut tar)?;
            let mut rest = tar.into_inner();
            io::copy(&mut rest, &mut io::sink())
                .map_err(|e| self.corrupt(format!("the gzip stream is damaged: {e}")))?;
            if rest.inner.trailing {
                return Err(self.corrupt(
                    "there is data after the end of the gzip stream (a second gzip member or trailing garbage)",
                ));
            }
            Ok(())
        })
    }
}
