//! The hub: the live store of resources. The local hub is one SQLite file
//! (WAL, `synchronous=FULL`); every multi-resource change runs in one
//! transaction, and loads and rollbacks are recorded in its history.
//!
//! This module owns the schema, resource storage ([`store`]), the where
//! subject of a stored resource ([`subject`]), history ([`history`]) and
//! rollback ([`rollback`]).

pub mod crud;
pub mod db_loads;
pub mod error;
pub mod history;
pub mod rollback;
pub mod schema;
pub mod store;
pub mod subject;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use error::HubError;
pub use store::{HubResource, NewResource};

/// How long a command waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// An open local hub.
pub struct Hub {
    conn: Connection,
    path: PathBuf,
}

impl Hub {
    /// Opens the hub at `path`, creating the file and its directory on first use.
    pub fn open(path: &Path) -> Result<Hub, HubError> {
        let open_error = |source: Box<dyn std::error::Error + Send + Sync>| HubError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| open_error(Box::new(e)))?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn =
            Connection::open_with_flags(path, flags).map_err(|e| open_error(Box::new(e)))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let configure = |conn: &Connection| -> rusqlite::Result<()> {
            let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.pragma_update(None, "cache_size", -4_000)?;
            Ok(())
        };
        configure(&conn).map_err(|e| open_error(Box::new(e)))?;
        schema::migrate(&mut conn).map_err(|e| match e {
            HubError::Sqlite(inner) => open_error(Box::new(inner)),
            other => other,
        })?;
        Ok(Hub {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The default hub path: `$XDG_DATA_HOME/pkg/hub.db` (`~/.local/share/pkg/hub.db` on Linux).
    pub fn default_path() -> Option<PathBuf> {
        dirs::data_dir().map(|d| d.join("pkg").join("hub.db"))
    }

    /// The file this hub lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A read-only view of the hub's connection for queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts a write transaction that holds the write lock from the start,
    /// so that what it reads cannot change before it commits.
    pub fn write(&mut self) -> Result<Transaction<'_>, HubError> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Starts a read transaction: a consistent snapshot for a plan or a listing.
    pub fn read(&mut self) -> Result<Transaction<'_>, HubError> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?)
    }
}
