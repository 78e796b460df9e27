//! Where `pkg serve` keeps its state: a small key-value interface
//! ([`Kv`]) with compare-and-swap, implemented by SQLite ([`sqlite`]) on
//! one machine and by etcd ([`etcd`]) for several replicas. Everything the
//! server keeps (registry records, tokens, the audit log, download events)
//! is written once on top of it, so both stores behave the same.
//!
//! Keys are `/`-separated ASCII; a scan returns keys in byte order. Every
//! stored value has a revision that changes on each write, which is what a
//! compare-and-swap compares.

pub mod etcd;
pub mod sqlite;
mod url;

use std::future::Future;

pub use self::url::StoreUrl;

/// A stored value and its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The bytes.
    pub value: Vec<u8>,
    /// Changes on every write of the key.
    pub revision: i64,
}

/// What a conditional write expects of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The key must not exist.
    Absent,
    /// The key must hold this revision.
    Revision(i64),
    /// No condition.
    Any,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store URL is not one pkg knows.
    #[error("store `{0}`: {1}")]
    BadUrl(String, String),
    /// The store did not answer or refused.
    #[error("{0}")]
    Backend(String),
}

/// A key-value store with compare-and-swap.
pub trait Kv: Clone + Send + Sync + 'static {
    /// `sqlite` or `etcd`.
    fn kind(&self) -> &'static str;

    /// Answers when the store is reachable.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The value at `key`.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send;

    /// Writes `value` at `key` when the key is as `expect` says; false when it was not.
    fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Writes every pair unconditionally (append-only logs). Not atomic as
    /// a whole on etcd when it holds more than one transaction takes.
    fn put_many(
        &self,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes `key` when it is as `expect` says; false when it was not.
    fn delete(
        &self,
        key: &str,
        expect: Expect,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The keys written under `prefix` by anyone (another replica too)
    /// from now on, as they change; `None` when the store has no other
    /// writers to watch (SQLite: this process writes everything).
    fn watch(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError>> + Send;

    /// Up to `limit` keys under `prefix` in byte order, starting after
    /// `after` when given; `reverse` walks from the end.
    fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> impl Future<Output = Result<Vec<(String, Versioned)>, StoreError>> + Send;
}

/// Every key under `prefix`, in pages of 1,000.
pub async fn scan_all<K: Kv>(kv: &K, prefix: &str) -> Result<Vec<(String, Versioned)>, StoreError> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map(|(k, _): &(String, Versioned)| k.clone());
        let page = kv.scan(prefix, after.as_deref(), 1000, false).await?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

/// The first key after every key that starts with `prefix`.
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
