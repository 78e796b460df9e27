//! Progress reporting for long operations. The library reports through this
//! trait and never draws anything; the command layer decides whether and how
//! to show it (a progress bar on a terminal, nothing in a pipe).

/// Receives progress from a long operation. Implementations must be cheap:
/// `advance` is called once per file.
pub trait Progress: Sync {
    /// A new phase starts, with `total` steps (0 when unknown).
    fn phase(&self, name: &str, total: u64);
    /// `n` more steps of the current phase are done.
    fn advance(&self, n: u64);
    /// The operation is over; clear whatever was shown.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _name: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}
