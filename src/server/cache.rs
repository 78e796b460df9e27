//! What the read endpoints keep in memory: package records with their
//! newest actions (and their rendered detail per level), and hot blobs.
//!
//! A package entry is dropped when this process changes the package, when
//! the store reports another replica's change to its record (etcd watch),
//! and in any case after [`MAX_AGE`]; its actions are read again after
//! [`ACTIONS_MAX_AGE`] by the detail and actions endpoints. A read that raced with
//! an invalidation does not store what it read (a generation counter), so a
//! reader never brings back what a writer just replaced. Blobs are
//! content-addressed and never change: they are only evicted, oldest first,
//! past [`BLOB_BUDGET`] bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::registry::types::{ActionRecord, PackageRecord};

/// The longest a package entry is served without a store read (a safety
/// net: changes invalidate entries as they happen).
pub const MAX_AGE: Duration = Duration::from_secs(30);
/// The longest the actions of an entry are shown without a store read:
/// events (downloads) do not invalidate entries, so that a busy package
/// is not read again on every batch of downloads.
pub const ACTIONS_MAX_AGE: Duration = Duration::from_secs(2);
/// The most blob bytes kept in memory.
pub const BLOB_BUDGET: usize = 64 << 20;
/// The largest blob kept in memory.
const BLOB_MAX: usize = 8 << 20;

/// A package as read from the store.
pub struct PackageEntry {
    /// The record, `None` when the package does not exist.
    pub record: Option<PackageRecord>,
    /// Its newest actions, newest first.
    pub actions: Vec<ActionRecord>,
    /// The detail rendered for levels 1-6.
    pub rendered: [OnceLock<Bytes>; 6],
    at: Instant,
    refreshing: AtomicBool,
}

impl PackageEntry {
    /// Whether its actions should be read again; true for one caller only
    /// (the others keep using this entry meanwhile).
    pub fn claim_refresh(&self) -> bool {
        self.at.elapsed() >= ACTIONS_MAX_AGE
            && self
                .refreshing
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }
}

/// The cache.
#[derive(Default)]
pub struct ReadCache {
    packages: RwLock<HashMap<String, Arc<PackageEntry>>>,
    generation: AtomicU64,
    blobs: Mutex<BlobLru>,
}

#[derive(Default)]
struct BlobLru {
    map: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
}

impl ReadCache {
    /// An empty cache.
    pub fn new() -> ReadCache {
        ReadCache::default()
    }

    /// The generation to pass to [`ReadCache::put`] after a store read.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The fresh entry for `name`, if any.
    pub fn get(&self, name: &str) -> Option<Arc<PackageEntry>> {
        let packages = self.packages.read().ok()?;
        packages
            .get(name)
            .filter(|e| e.at.elapsed() < MAX_AGE)
            .cloned()
    }

    /// Keeps what was read for `name` at `generation` (unless something was
    /// invalidated since) and returns it.
    pub fn put(
        &self,
        name: &str,
        record: Option<PackageRecord>,
        actions: Vec<ActionRecord>,
        generation: u64,
    ) -> Arc<PackageEntry> {
        let entry = Arc::new(PackageEntry {
            record,
            actions,
            rendered: Default::default(),
            at: Instant::now(),
            refreshing: AtomicBool::new(false),
        });
        if let Ok(mut packages) = self.packages.write()
            && self.generation() == generation
        {
            if packages.len() > 10_000 {
                packages.clear();
            }
            packages.insert(name.to_string(), entry.clone());
        }
        entry
    }

    /// Forgets `name`.
    pub fn invalidate(&self, name: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut packages) = self.packages.write() {
            packages.remove(name);
        }
    }

    /// Forgets every package (the store's change feed was interrupted).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut packages) = self.packages.write() {
            packages.clear();
        }
    }

    /// The blob with `digest`, if kept.
    pub fn blob(&self, digest: &str) -> Option<Bytes> {
        self.blobs.lock().ok()?.map.get(digest).cloned()
    }

    /// Keeps a blob (unless it is too large), evicting the oldest.
    pub fn put_blob(&self, digest: &str, bytes: Bytes) {
        if bytes.len() > BLOB_MAX {
            return;
        }
        let Ok(mut lru) = self.blobs.lock() else {
            return;
        };
        if lru.map.contains_key(digest) {
            return;
        }
        lru.bytes += bytes.len();
        lru.map.insert(digest.to_string(), bytes);
        lru.order.push_back(digest.to_string());
        while lru.bytes > BLOB_BUDGET {
            let Some(old) = lru.order.pop_front() else {
                break;
            };
            if let Some(b) = lru.map.remove(&old) {
                lru.bytes -= b.len();
            }
        }
    }
}

/// The package whose record a store key is (`registry/packages/<name>`).
pub fn package_of_key(key: &str) -> Option<&str> {
    key.strip_prefix("registry/packages/")
}
