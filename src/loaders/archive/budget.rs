//! Counting the bytes actually decompressed against the budget.

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

/// Counts decompressed bytes across a whole archive.
#[derive(Debug, Clone)]
pub(super) struct Counter {
    pub(super) read: Rc<Cell<u64>>,
    pub(super) exceeded: Rc<Cell<bool>>,
    pub(super) limit: u64,
}

impl Counter {
    pub(super) fn new(limit: u64) -> Counter {
        Counter {
            read: Rc::new(Cell::new(0)),
            exceeded: Rc::new(Cell::new(false)),
            limit,
        }
    }

    pub(super) fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.read.get())
    }

    pub(super) fn wrap<R: Read>(&self, inner: R) -> Counted<R> {
        Counted {
            inner,
            counter: self.clone(),
        }
    }
}

/// A reader that fails once more than the counter's limit has been read
/// through all its wrappers together.
pub(super) struct Counted<R> {
    pub(super) inner: R,
    pub(super) counter: Counter,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.counter.read.get().saturating_add(n as u64);
        self.counter.read.set(total);
        if total > self.counter.limit {
            self.counter.exceeded.set(true);
            return Err(std::io::Error::other(format!(
                "more than {} bytes decompressed",
                self.counter.limit
            )));
        }
        Ok(n)
    }
}
