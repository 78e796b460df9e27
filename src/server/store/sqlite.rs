//! The SQLite store: one table `server_kv` in the server's SQLite file
//! (the same file holds the server's hub). Connections come from a small
//! pool and run on tokio's blocking threads; a compare-and-swap is one
//! `BEGIN IMMEDIATE` transaction.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::{Expect, Kv, StoreError, Versioned, prefix_end};

/// How long a write waits for another connection's write.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The SQLite key-value store.
#[derive(Clone)]
pub struct SqliteKv {
    path: Arc<PathBuf>,
    pool: Arc<Mutex<Vec<Connection>>>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("SQLite store: {e}"))
}

impl SqliteKv {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteKv, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| backend(format!("cannot create {}: {e}", parent.display())))?;
        }
        let kv = SqliteKv {
            path: Arc::new(path.to_path_buf()),
            pool: Arc::new(Mutex::new(Vec::new())),
        };
        let conn = kv.connect()?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS server_kv (
                key TEXT PRIMARY KEY NOT NULL,
                value BLOB NOT NULL,
                revision INTEGER NOT NULL
            ) WITHOUT ROWID;",
        )
        .map_err(|e| backend(format!("{}: {e}", path.display())))?;
        kv.give_back(conn);
        Ok(kv)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(self.path.as_path(), flags)
            .map_err(|e| backend(format!("cannot open {}: {e}", self.path.display())))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        let _: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        Ok(conn)
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let pooled = self.pool.lock().ok().and_then(|mut pool| pool.pop());
        match pooled {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.pool.lock()
            && pool.len() < 16
        {
            pool.push(conn);
        }
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = this.take()?;
            let result = f(&mut conn).map_err(backend);
            this.give_back(conn);
            result
        })
        .await
        .map_err(|e| backend(format!("a store task failed: {e}")))?
    }
}

fn current(conn: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT revision FROM server_kv WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()
}

fn matches(expect: Expect, revision: Option<i64>) -> bool {
    match expect {
        Expect::Any => true,
        Expect::Absent => revision.is_none(),
        Expect::Revision(want) => revision == Some(want),
    }
}

impl Kv for SqliteKv {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }

    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let key = key.to_string();
        self.with(move |conn| {
            conn.prepare_cached("SELECT value, revision FROM server_kv WHERE key = ?1")?
                .query_row([&key], |r| {
                    Ok(Versioned {
                        value: r.get(0)?,
                        revision: r.get(1)?,
                    })
                })
                .optional()
        })
        .await
    }

    async fn put(&self, key: &str, value: Vec<u8>, expect: Expect) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let revision = current(&tx, &key)?;
            if !matches(expect, revision) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO server_kv (key, value, revision) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision",
                params![key, value, revision.unwrap_or(0) + 1],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn put_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        if pairs.is_empty() {
            return Ok(());
        }
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO server_kv (key, value, revision) VALUES (?1, ?2, 1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = revision + 1",
                )?;
                for (key, value) in &pairs {
                    insert.execute(params![key, value])?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn delete(&self, key: &str, expect: Expect) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let revision = current(&tx, &key)?;
            if revision.is_none() || !matches(expect, revision) {
                return Ok(false);
            }
            tx.execute("DELETE FROM server_kv WHERE key = ?1", [&key])?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn watch(
        &self,
        _prefix: &str,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
        Ok(None)
    }

    async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        // Keys are ASCII, so TEXT order (BINARY collation) is byte order.
        let start = prefix.to_string();
        let end = String::from_utf8_lossy(&prefix_end(prefix)).into_owned();
        let after = after.map(str::to_string);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(move |conn| {
            let sql = if reverse {
                "SELECT key, value, revision FROM server_kv
                 WHERE key >= ?1 AND key < ?2
                   AND (?3 IS NULL OR key < ?3)
                 ORDER BY key DESC LIMIT ?4"
            } else {
                "SELECT key, value, revision FROM server_kv
                 WHERE key >= ?1 AND key < ?2
                   AND (?3 IS NULL OR key > ?3)
                 ORDER BY key LIMIT ?4"
            };
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![start, end, after, limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Versioned {
                        value: r.get(1)?,
                        revision: r.get(2)?,
                    },
                ))
            })?;
            rows.collect()
        })
        .await
    }
}
