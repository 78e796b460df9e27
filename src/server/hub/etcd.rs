//! The hub of an etcd server. The hub's rows live in etcd ([`super::rows`]);
//! each replica answers from its own SQLite cache of them, so the hub's own
//! code runs unchanged.
//!
//! Publishing is what makes an apply atomic for every reader, however many
//! etcd transactions it takes and even if the writer dies halfway:
//!
//! - The commit key `hub/commit` names the committed state: its
//!   `mod_revision` R. Readers refresh their cache from etcd *at revision R*
//!   (etcd keeps every revision until compacted), so rows a writer has put
//!   but not yet committed are invisible to them.
//! - A writer holds the etcd lock `hub/lock` (on a lease that dies with it),
//!   cleans up what a dead writer left (every row modified after R is put
//!   back to its value at R), runs the change on its cache, puts the
//!   changed rows in batches of at most 128 operations, and then moves the
//!   commit key with a compare-and-swap on R. Every batch and the commit
//!   compare that the lock key still exists, so a writer whose lease expired
//!   writes nothing more.

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, GetOptions, LockOptions, SortOrder, SortTarget, Txn, TxnOp,
};
use tokio::sync::Mutex;

use super::super::blobs::Blobs;
use super::super::error::ApiError;
use super::super::store::etcd::{MAX_TXN_BYTES, MAX_TXN_OPS};
use super::errors::api_error;
use super::rows::{self, ROWS};
use crate::hub::Hub;
use crate::hub_access::AccessError;
use crate::hub_access::local::LocalHub;

const ROOT: &str = "/pkg/";
/// Seconds the writer's lease lives without a keep-alive.
pub const LEASE_TTL: i64 = 5;
/// The largest answer read from etcd.
const MAX_DECODE: usize = 1 << 30;

fn commit_key() -> String {
    format!("{ROOT}hub/commit")
}

fn lock_name() -> String {
    format!("{ROOT}hub/lock")
}

fn rows_prefix() -> String {
    format!("{ROOT}{ROWS}")
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(format!("etcd hub: {e}"))
}

/// A replica's cache: a private SQLite hub at a committed revision.
struct Cache {
    _dir: tempfile::TempDir,
    hub: LocalHub,
    /// The commit revision the cache shows; 0 before the first load.
    revision: i64,
}

/// The etcd-backed hub.
pub struct EtcdHub {
    client: Client,
    blobs: Blobs,
    cache: Arc<Mutex<Option<Cache>>>,
}

impl EtcdHub {
    /// A hub on the cluster `client` talks to; large rows go to `blobs`.
    pub fn new(client: Client, blobs: Blobs) -> EtcdHub {
        EtcdHub {
            client,
            blobs,
            cache: Arc::new(Mutex::new(None)),
        }
    }

    fn new_cache(&self) -> Result<Cache, ApiError> {
        let dir = tempfile::tempdir()
            .map_err(|e| ApiError::internal(format!("cannot create the hub cache: {e}")))?;
        let hub =
            Hub::open(&dir.path().join("cache.db")).map_err(|e| api_error(AccessError::Hub(e)))?;
        let conn = hub.conn();
        let setup = || -> rusqlite::Result<()> {
            conn.pragma_update(None, "synchronous", "OFF")?;
            rows::install_capture(conn)
        };
        setup().map_err(|e| ApiError::internal(format!("cannot set up the hub cache: {e}")))?;
        Ok(Cache {
            _dir: dir,
            hub: LocalHub::new(hub),
            revision: 0,
        })
    }

    /// The committed revision (0 when nothing was ever committed).
    async fn committed(&self) -> Result<i64, ApiError> {
        let mut kv = self.client.kv_client();
        let response = kv.get(commit_key(), None).await.map_err(unavailable)?;
        Ok(response
            .kvs()
            .first()
            .map(|k| k.mod_revision())
            .unwrap_or(0))
    }

    /// Brings `cache` to the committed revision `target`.
    async fn refresh(&self, cache: &mut Option<Cache>, target: i64) -> Result<(), ApiError> {
        if cache
            .as_ref()
            .is_some_and(|c| c.revision == target && target != 0)
        {
            return Ok(());
        }
        if cache.is_none() || target == 0 {
            *cache = Some(self.new_cache()?);
        }
        let Some(current) = cache.as_mut() else {
            return Err(ApiError::internal("the hub cache is missing"));
        };
        if target == 0 {
            return Ok(());
        }
        let from = current.revision;
        let values = match self.changed_rows(from, target).await {
            Ok(v) => v,
            Err(_) if from > 0 => {
                // Compacted past the cache: load everything again.
                *current = self.new_cache()?;
                self.changed_rows(0, target).await?
            }
            Err(e) => return Err(e),
        };
        let mut taken = cache
            .take()
            .ok_or_else(|| ApiError::internal("the hub cache is missing"))?;
        let blobs = self.blobs.clone();
        let (back, result) = tokio::task::spawn_blocking(move || {
            let result = apply_rows(&mut taken, &blobs, &values, target);
            (taken, result)
        })
        .await
        .map_err(|e| ApiError::internal(format!("a hub task failed: {e}")))?;
        *cache = Some(back);
        if let Err(e) = result {
            *cache = None;
            return Err(ApiError::internal(format!(
                "cannot refresh the hub cache: {e}"
            )));
        }
        Ok(())
    }

    /// The row values modified after `from`, as they were at `target`.
    async fn changed_rows(&self, from: i64, target: i64) -> Result<Vec<Vec<u8>>, ApiError> {
        let mut kv = self
            .client
            .kv_client()
            .max_decoding_message_size(MAX_DECODE);
        let prefix = rows_prefix();
        let end = super::super::store::prefix_end(&prefix);
        let mut options = GetOptions::new()
            .with_range(end)
            .with_revision(target)
            .with_sort(SortTarget::Key, SortOrder::Ascend);
        if from > 0 {
            options = options.with_min_mod_revision(from + 1);
        }
        let response = kv.get(prefix, Some(options)).await.map_err(unavailable)?;
        Ok(response.kvs().iter().map(|k| k.value().to_vec()).collect())
    }

    /// Runs `f` on the cache at the committed state, read-only.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let target = self.committed().await?;
        let mut guard = self.cache.lock().await;
        self.refresh(&mut guard, target).await?;
        let mut cache = guard
            .take()
            .ok_or_else(|| ApiError::internal("the hub cache is missing"))?;
        let (back, out) = tokio::task::spawn_blocking(move || {
            let out = f(&mut cache.hub);
            let _ = rows::clear_capture(cache.hub.hub_mut().conn());
            (cache, out)
        })
        .await
        .map_err(|e| ApiError::internal(format!("a hub task failed: {e}")))?;
        *guard = Some(back);
        out.map_err(api_error)
    }

    /// Runs `f` under the cluster-wide write lock and publishes what it
    /// changed atomically.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let mut lease = self.client.lease_client();
        let lease_id = lease
            .grant(LEASE_TTL, None)
            .await
            .map_err(unavailable)?
            .id();
        let (mut keeper, _stream) = lease.keep_alive(lease_id).await.map_err(unavailable)?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let keep_alive = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(Duration::from_millis(1000)) => {
                        if keeper.keep_alive().await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let result = self.write_locked(lease_id, f).await;
        let _ = stop.send(());
        let _ = keep_alive.await;
        let _ = self.client.lease_client().revoke(lease_id).await;
        result
    }

    async fn write_locked<T: Send + 'static>(
        &self,
        lease_id: i64,
        f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let mut lock = self.client.lock_client();
        let lock_key = lock
            .lock(lock_name(), Some(LockOptions::new().with_lease(lease_id)))
            .await
            .map_err(unavailable)?
            .key()
            .to_vec();
        let result = self.write_holding(&lock_key, f).await;
        let _ = lock.unlock(lock_key).await;
        result
    }

    async fn write_holding<T: Send + 'static>(
        &self,
        lock_key: &[u8],
        f: impl FnOnce(&mut LocalHub) -> Result<T, AccessError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let committed = self.committed().await?;
        self.clean_up(lock_key, committed).await?;
        let mut guard = self.cache.lock().await;
        self.refresh(&mut guard, committed).await?;
        let mut cache = guard
            .take()
            .ok_or_else(|| ApiError::internal("the hub cache is missing"))?;
        let blobs = self.blobs.clone();
        let (back, out, changed) = tokio::task::spawn_blocking(move || {
            let conn_clear = |c: &mut Cache| rows::clear_capture(c.hub.hub_mut().conn());
            let _ = conn_clear(&mut cache);
            let out = f(&mut cache.hub);
            let changed = rows::captured(cache.hub.hub_mut().conn(), &blobs);
            let _ = conn_clear(&mut cache);
            (cache, out, changed)
        })
        .await
        .map_err(|e| ApiError::internal(format!("a hub task failed: {e}")))?;
        let changed = match changed {
            Ok(c) => c,
            Err(e) => {
                *guard = None;
                return Err(ApiError::internal(format!("cannot read the change: {e}")));
            }
        };
        if changed.is_empty() {
            *guard = Some(back);
            return out.map_err(api_error);
        }
        // The cache is now ahead of etcd: keep it only if the commit lands.
        match self.publish(lock_key, committed, changed).await {
            Ok(revision) => {
                let mut back = back;
                back.revision = revision;
                *guard = Some(back);
                out.map_err(api_error)
            }
            Err(e) => {
                *guard = None;
                Err(e)
            }
        }
    }

    /// Puts every row left by a writer that died after revision
    /// `committed` back to its committed value.
    async fn clean_up(&self, lock_key: &[u8], committed: i64) -> Result<(), ApiError> {
        let mut kv = self
            .client
            .kv_client()
            .max_decoding_message_size(MAX_DECODE);
        let prefix = rows_prefix();
        let end = super::super::store::prefix_end(&prefix);
        let options = GetOptions::new()
            .with_range(end.clone())
            .with_keys_only()
            .with_min_mod_revision(committed + 1);
        let leftovers: Vec<Vec<u8>> = kv
            .get(prefix.clone(), Some(options))
            .await
            .map_err(unavailable)?
            .kvs()
            .iter()
            .map(|k| k.key().to_vec())
            .collect();
        if leftovers.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            rows = leftovers.len(),
            "cleaning up an apply a dead writer left uncommitted"
        );
        let mut ops = Vec::new();
        for key in leftovers {
            let before = if committed > 0 {
                let at = GetOptions::new().with_revision(committed);
                kv.get(key.clone(), Some(at))
                    .await
                    .map_err(unavailable)?
                    .kvs()
                    .first()
                    .map(|k| k.value().to_vec())
            } else {
                None
            };
            ops.push((key, before));
        }
        self.put_batches(lock_key, ops).await
    }

    /// Writes `ops` (a value to put, or `None` to delete) in transactions
    /// of at most 127 operations and 1 MiB, each requiring the lock key.
    async fn put_batches(
        &self,
        lock_key: &[u8],
        ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), ApiError> {
        let guard = Compare::create_revision(lock_key.to_vec(), CompareOp::Greater, 0);
        let mut batch = Vec::new();
        let mut bytes = 0;
        for (key, value) in ops {
            let size = key.len() + value.as_ref().map_or(0, Vec::len);
            if !batch.is_empty() && (batch.len() >= MAX_TXN_OPS - 1 || bytes + size > MAX_TXN_BYTES)
            {
                self.guarded(&guard, std::mem::take(&mut batch)).await?;
                bytes = 0;
            }
            bytes += size;
            batch.push(match value {
                Some(v) => TxnOp::put(key, v, None),
                None => TxnOp::delete(key, None),
            });
        }
        if !batch.is_empty() {
            self.guarded(&guard, batch).await?;
        }
        Ok(())
    }

    async fn guarded(&self, guard: &Compare, ops: Vec<TxnOp>) -> Result<i64, ApiError> {
        let mut kv = self.client.kv_client();
        let response = kv
            .txn(Txn::new().when([guard.clone()]).and_then(ops))
            .await
            .map_err(unavailable)?;
        if !response.succeeded() {
            return Err(ApiError::unavailable(
                "etcd hub: the write lock was lost (lease expired); nothing was committed, try again",
            ));
        }
        Ok(response.header().map(|h| h.revision()).unwrap_or(0))
    }

    /// Puts `changed` in batches, then moves the commit key from
    /// `committed`; returns the new committed revision.
    async fn publish(
        &self,
        lock_key: &[u8],
        committed: i64,
        changed: Vec<(String, Vec<u8>)>,
    ) -> Result<i64, ApiError> {
        let ops = changed
            .into_iter()
            .map(|(key, value)| (format!("{ROOT}{key}").into_bytes(), Some(value)))
            .collect();
        self.put_batches(lock_key, ops).await?;
        let guard = Compare::create_revision(lock_key.to_vec(), CompareOp::Greater, 0);
        let on_commit = if committed > 0 {
            Compare::mod_revision(commit_key(), CompareOp::Equal, committed)
        } else {
            Compare::create_revision(commit_key(), CompareOp::Equal, 0)
        };
        let stamp = serde_json::json!({ "at": crate::time::now_rfc3339() }).to_string();
        let mut kv = self.client.kv_client();
        let response = kv
            .txn(Txn::new().when([guard, on_commit]).and_then([TxnOp::put(
                commit_key(),
                stamp,
                None,
            )]))
            .await
            .map_err(unavailable)?;
        if !response.succeeded() {
            return Err(ApiError::unavailable(
                "etcd hub: the commit moved or the write lock was lost; nothing was committed, try again",
            ));
        }
        response.header().map(|h| h.revision()).ok_or_else(|| {
            ApiError::unavailable("etcd hub: the commit answered without a revision")
        })
    }
}

/// Applies `values` to the cache and records `target` as its revision.
fn apply_rows(
    cache: &mut Cache,
    blobs: &Blobs,
    values: &[Vec<u8>],
    target: i64,
) -> Result<(), String> {
    let conn = cache.hub.hub_mut().conn();
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| e.to_string())?;
    for value in values {
        if let Err(e) = rows::apply(conn, blobs, value) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    conn.execute_batch("COMMIT").map_err(|e| e.to_string())?;
    rows::clear_capture(conn).map_err(|e| e.to_string())?;
    cache.revision = target;
    Ok(())
}
